/*
 * render_members.c — `sgctl members list GROUP`, and the answer of
 * `members add|del GROUP ADDR...`.
 *
 * Shows where each member comes from: the group's YAML `members:`, a
 * run-time `sgctl members add` or a members.d file ("runtime"), or the
 * fleet ("fleet", with the host id that registered it).  A member held
 * both at run time and by the fleet keeps its "runtime" label and names
 * the fleet host too, so that `members del` refusing to drop it is
 * explained by the listing.
 */
#include <errno.h>

#include "config.h"
#include "render.h"
#include "render_fmt.h"

/* The JSON object of one non-YAML member. */
static void members_json_one(struct json_w *j, const char *cidr,
			     const struct render_member_origin *o)
{
	bool fleet_only = o && o->fleet_host && !o->other;

	json_obj_begin(j);
	json_kstr(j, "cidr", cidr);
	json_kstr(j, "source", fleet_only ? "fleet" : "runtime");
	if (fleet_only)
		json_kstr(j, "host", o->fleet_host);
	else if (o && o->fleet_host)
		json_kstr(j, "fleet_host", o->fleet_host);
	json_obj_end(j);
}

/* The text line of one non-YAML member. */
static void members_text_one(struct out_buf *b, const char *cidr,
			     const struct render_member_origin *o)
{
	if (!o || !o->fleet_host)
		out_printf(b, "  %-43s runtime\n", cidr);
	else if (!o->other)
		out_printf(b, "  %-43s fleet (host %s)\n", cidr, o->fleet_host);
	else
		out_printf(b, "  %-43s runtime, fleet (host %s)\n", cidr, o->fleet_host);
}

int render_members(const struct sg_config *cfg, int group_idx,
		   const struct sg_cidr_list *runtime,
		   const struct render_member_origin *origin, bool json, char **out)
{
	const struct sg_group *g;
	struct out_buf b;
	char cb[FMT_LEN];
	size_t i, n_rt = runtime ? runtime->n : 0;

	*out = NULL;
	if (!cfg || group_idx < 0 || (size_t)group_idx >= cfg->n_groups)
		return -EINVAL;
	g = &cfg->groups[group_idx];
	out_init(&b);
	if (json) {
		struct json_w j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kstr(&j, "group", g->name);
		json_kstr(&j, "id", g->id);
		json_kuint(&j, "count", g->n_members + n_rt);
		json_key(&j, "members");
		json_arr_begin(&j);
		for (i = 0; i < g->n_members; i++) {
			json_obj_begin(&j);
			json_kstr(&j, "cidr", fmt_cidr(&g->members[i].cidr, cb, sizeof(cb)));
			json_kstr(&j, "source", "yaml");
			json_obj_end(&j);
		}
		for (i = 0; i < n_rt; i++)
			members_json_one(&j, fmt_cidr(&runtime->v[i], cb, sizeof(cb)),
					 origin ? &origin[i] : NULL);
		json_arr_end(&j);
		json_obj_end(&j);
		out_putc(&b, '\n');
		return out_finish(&b, out);
	}
	out_printf(&b, "group %s%s%s: %zu member%s\n", g->name,
		   g->id ? " " : "", g->id ? g->id : "", g->n_members + n_rt,
		   g->n_members + n_rt == 1 ? "" : "s");
	for (i = 0; i < g->n_members; i++)
		out_printf(&b, "  %-43s yaml (%s)\n",
			   fmt_cidr(&g->members[i].cidr, cb, sizeof(cb)),
			   g->file ? g->file : "?");
	for (i = 0; i < n_rt; i++)
		members_text_one(&b, fmt_cidr(&runtime->v[i], cb, sizeof(cb)),
				 origin ? &origin[i] : NULL);
	return out_finish(&b, out);
}

int render_members_change(const char *group, const char *verb,
			  const struct sg_cidr_list *changed,
			  const struct sg_cidr_list *same, size_t members,
			  bool json, char **out)
{
	struct out_buf b;
	char cb[FMT_LEN];
	size_t i;

	*out = NULL;
	out_init(&b);
	if (json) {
		struct json_w j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kbool(&j, "ok", true);
		json_kstr(&j, "group", group);
		json_key(&j, verb);
		json_arr_begin(&j);
		for (i = 0; i < changed->n; i++)
			json_str(&j, cidr_format(&changed->v[i], cb, sizeof(cb)));
		json_arr_end(&j);
		json_key(&j, "unchanged");
		json_arr_begin(&j);
		for (i = 0; i < same->n; i++)
			json_str(&j, cidr_format(&same->v[i], cb, sizeof(cb)));
		json_arr_end(&j);
		json_kuint(&j, "members", members);
		json_obj_end(&j);
		out_putc(&b, '\n');
		return out_finish(&b, out);
	}
	for (i = 0; i < changed->n; i++)
		out_printf(&b, "%s %s: %s\n", group, verb,
			   cidr_format(&changed->v[i], cb, sizeof(cb)));
	for (i = 0; i < same->n; i++)
		out_printf(&b, "%s: %s unchanged (%s)\n", group,
			   cidr_format(&same->v[i], cb, sizeof(cb)),
			   verb[0] == 'a' ? "already a member" :
			   "still a member from the configuration");
	out_printf(&b, "%s: %zu member%s\n", group, members, members == 1 ? "" : "s");
	return out_finish(&b, out);
}
