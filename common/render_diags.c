/*
 * render_diags.c — a list of errors for the user or a script.
 */
#include <errno.h>
#include <stdlib.h>

#include "render.h"
#include "out.h"

int render_diags(const struct sg_diags *d, bool json, char **out)
{
	struct out_buf b;
	size_t i;

	*out = NULL;
	out_init(&b);
	if (json) {
		struct json_w j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kbool(&j, "ok", d->n == 0);
		json_key(&j, "errors");
		json_arr_begin(&j);
		for (i = 0; i < d->n; i++) {
			const struct sg_diag *e = &d->v[i];

			json_obj_begin(&j);
			json_kstr(&j, "file", e->file);
			if (e->line > 0)
				json_kint(&j, "line", e->line);
			else
				json_knull(&j, "line");
			if (e->col > 0)
				json_kint(&j, "column", e->col);
			else
				json_knull(&j, "column");
			json_kstr(&j, "message", e->msg ? e->msg : "");
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		out_putc(&b, '\n');
		return out_finish(&b, out);
	}
	for (i = 0; i < d->n; i++) {
		char *line = diag_format(&d->v[i]);

		if (!line) {
			out_free(&b);
			return -ENOMEM;
		}
		out_printf(&b, "%s\n", line);
		free(line);
	}
	return out_finish(&b, out);
}
