/*
 * render_diff.c — `sgctl diff`: what a reload would add and remove.
 */
#include <errno.h>

#include "diff.h"
#include "render.h"
#include "render_fmt.h"

static void diff_json_list(struct json_w *j, const char *key,
			   const struct sg_diff_entry *v, size_t n)
{
	size_t i;

	json_key(j, key);
	json_arr_begin(j);
	for (i = 0; i < n; i++) {
		json_obj_begin(j);
		json_kstr(j, "kind", diff_kind_name(v[i].kind));
		json_kstr(j, "group", v[i].group);
		json_kstr(j, "interface", v[i].iface);
		json_kstr(j, "direction", v[i].dir < 0 ? NULL : fmt_dir((enum sg_dir)v[i].dir));
		json_kstr(j, "text", v[i].text);
		json_obj_end(j);
	}
	json_arr_end(j);
}

int render_diff(const struct sg_config *old, const struct sg_config *new_,
		const struct sg_members *m, bool json, char **out, bool *changed)
{
	struct sg_diff d;
	struct out_buf b;
	size_t i;
	int r;

	*out = NULL;
	*changed = false;
	r = diff_configs(old, new_, &d);
	if (r < 0) {
		diff_free(&d);
		return r;
	}
	*changed = d.n_added + d.n_removed > 0;
	out_init(&b);
	if (json) {
		struct json_w j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kbool(&j, "changed", *changed);
		diff_json_list(&j, "added", d.added, d.n_added);
		diff_json_list(&j, "removed", d.removed, d.n_removed);
		json_obj_end(&j);
		out_putc(&b, '\n');
	} else if (!*changed) {
		out_puts(&b, "no changes: a reload would leave the rules as they are\n");
	} else {
		for (i = 0; i < d.n_removed; i++)
			out_printf(&b, "- %-8s %s\n", diff_kind_name(d.removed[i].kind),
				   d.removed[i].text);
		for (i = 0; i < d.n_added; i++)
			out_printf(&b, "+ %-8s %s\n", diff_kind_name(d.added[i].kind),
				   d.added[i].text);
		out_printf(&b, "%zu added, %zu removed\n", d.n_added, d.n_removed);
	}
	diff_free(&d);
	return out_finish(&b, out);
}
