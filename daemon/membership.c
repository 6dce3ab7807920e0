/*
 * membership.c — who is in a peer group, and `members add/del/list`.
 *
 * The effective members of a group are the union of
 *   1. its YAML `members:` list (groups.d/NAME.yaml),
 *   2. CONFDIR/members.d/NAME (or .../ID): one address or CIDR per line,
 *      '#' starts a comment; fed by fleet tools, watched with inotify,
 *   3. run-time additions (`sgctl members add`), kept in the state dir.
 * `members del` removes run-time additions only: an address that comes
 * from the YAML or from members.d is refused with its file:line, because
 * the next reload would bring it back; edit that file instead.
 * Changes reach the kernel as set-element deltas: no rule changes, no
 * reload.  A members add/del costs O(1) per address (membatch.c keeps
 * an index per group and a journal; the changes of one loop iteration
 * are one transaction), so the effective lists are unique but not
 * sorted after run-time changes; `members list` sorts what it shows.
 * members.d files are read and watched in membersd.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "membatch.h"
#include "memindex.h"
#include "out.h"
#include "render.h"
#include "fleet.h"
#include "sgd.h"

struct sgd_rt_group *membership_rt_find(struct sgd_runtime *rt, const char *name)
{
	size_t i;

	for (i = 0; i < rt->n; i++)
		if (strcmp(rt->v[i].name, name) == 0)
			return &rt->v[i];
	return NULL;
}

void membership_rt_free(struct sgd_runtime *rt)
{
	size_t i;

	for (i = 0; i < rt->n; i++) {
		free(rt->v[i].name);
		cidr_list_free(&rt->v[i].addrs);
	}
	free(rt->v);
	rt->v = NULL;
	rt->n = 0;
}

void membership_free(struct sg_members *m)
{
	size_t i;

	for (i = 0; m->by_group && i < m->n_groups; i++)
		cidr_list_free(&m->by_group[i]);
	free(m->by_group);
	m->by_group = NULL;
	m->n_groups = 0;
}

static int cmp_cidr(const void *a, const void *b)
{
	return cidr_cmp(a, b);
}

static void list_sort_unique(struct sg_cidr_list *l)
{
	size_t i, o = 0;

	if (l->n < 2)
		return;
	qsort(l->v, l->n, sizeof(*l->v), cmp_cidr);
	for (i = 1; i < l->n; i++)
		if (cidr_cmp(&l->v[o], &l->v[i]) != 0)
			l->v[++o] = l->v[i];
	l->n = o + 1;
}

/* The effective list of group gi of cfg, sorted and unique (without the
 * fleet's registrations unless with_fleet: members list tells the other
 * sources apart that way).  A members.d file with bad lines counts with
 * its last valid version and adds its errors to dg; 0 or -ENOMEM. */
static int group_sources(struct sgd *d, const struct sg_config *cfg, int gi,
			 bool with_fleet, struct sg_cidr_list *out, struct sg_diags *dg)
{
	const struct sg_group *g = &cfg->groups[gi];
	struct sgd_rt_group *rg;
	size_t i;
	int r = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < g->n_members && r == 0; i++)
		if (g->members[i].kind == SG_PEER_CIDR)
			r = cidr_list_add(out, &g->members[i].cidr);
	if (r == 0)
		r = membersd_load(d, g->name, out, dg);
	if (r >= 0 && g->id)
		r = membersd_load(d, g->id, out, dg);
	if (r > 0)
		r = 0;
	if (r == 0 && with_fleet)
		r = fleet_members_collect(d, g, out);
	rg = membership_rt_find(&d->rt, g->name);
	for (i = 0; rg && i < rg->addrs.n && r == 0; i++)
		r = cidr_list_add(out, &rg->addrs.v[i]);
	if (r < 0) {
		cidr_list_free(out);
		return r;
	}
	list_sort_unique(out);
	return 0;
}

static int compute_all(struct sgd *d, const struct sg_config *cfg,
		       struct sg_members *out)
{
	struct sg_diags dg;
	size_t i;
	int r = 0, r2;

	memset(out, 0, sizeof(*out));
	out->by_group = calloc(cfg->n_groups ? cfg->n_groups : 1,
			       sizeof(*out->by_group));
	if (!out->by_group)
		return -ENOMEM;
	out->n_groups = cfg->n_groups;
	diags_init(&dg);
	for (i = 0; i < cfg->n_groups; i++) {
		r2 = group_sources(d, cfg, (int)i, true, &out->by_group[i], &dg);
		if (r2 < 0 && r == 0)
			r = r2;
	}
	/* members.d errors are the fleet tool's, not the configuration's:
	 * they never fail a load (see membersd.c), they are reported. */
	if (r == 0)
		membersd_report(d, &dg);
	diags_free(&dg);
	if (r < 0)
		membership_free(out);
	return r;
}

int membership_compute(struct sgd *d, const struct sg_config *cfg,
		       struct sg_members *out, struct sg_diags *diags)
{
	int r;

	r = compute_all(d, cfg, out);
	if (r < 0)
		diags_add_file(diags, "members.d", "cannot compute the members: %s",
			       strerror(-r));
	membersd_warn_unknown(d, cfg);
	return r;
}

int membership_compute_live(struct sgd *d, const struct sg_config *cfg,
			    struct sg_members *out)
{
	return compute_all(d, cfg, out);
}

/* Common checks of members add/del/list: the group exists.  Returns gi
 * or -1 with r filled. */
static int members_group(struct sgd *d, int argc, const char **argv, bool json,
			 int min_args, const char *usage, struct proto_resp *r)
{
	int gi;

	if (argc < min_args) {
		dispatch_fail(r, json, 2, "usage: %s", usage);
		return -1;
	}
	gi = config_find_group(d->cfg, argv[0]);
	if (gi < 0)
		dispatch_fail(r, json, 1, "unknown group '%s'", argv[0]);
	return gi;
}

/* Parse ADDR... into l; on error r is filled (exit 2). */
static int members_parse(int argc, const char **argv, bool json,
			 struct sg_cidr_list *l, struct proto_resp *r)
{
	struct sg_cidr c;
	char cb[64];
	int i, rc;

	for (i = 1; i < argc; i++) {
		rc = cidr_parse(argv[i], &c);
		if (rc == -ERANGE) {
			dispatch_fail(r, json, 2, "'%s' has host bits set; did "
				      "you mean %s?", argv[i],
				      cidr_format(&c, cb, sizeof(cb)));
			return rc;
		}
		if (rc < 0) {
			dispatch_fail(r, json, 2, "'%s' is not an IPv4/IPv6 "
				      "address or CIDR", argv[i]);
			return rc;
		}
		rc = cidr_list_add(l, &c);
		if (rc < 0) {
			dispatch_fail(r, json, 1, "out of memory");
			return rc;
		}
	}
	return 0;
}

static void members_answer(struct sgd *d, int gi, const char *verb,
			   const struct sg_cidr_list *changed,
			   const struct sg_cidr_list *same, bool json,
			   struct proto_resp *r)
{
	const char *name = d->cfg->groups[gi].name;
	struct out_buf b;
	char cb[64], *text = NULL;
	size_t i;

	out_init(&b);
	if (json) {
		struct json_w j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kbool(&j, "ok", true);
		json_kstr(&j, "group", name);
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
		json_kuint(&j, "members", d->members.by_group[gi].n);
		json_obj_end(&j);
		out_putc(&b, '\n');
	} else {
		for (i = 0; i < changed->n; i++)
			out_printf(&b, "%s %s: %s\n", name, verb,
				   cidr_format(&changed->v[i], cb, sizeof(cb)));
		for (i = 0; i < same->n; i++)
			out_printf(&b, "%s: %s unchanged (%s)\n", name,
				   cidr_format(&same->v[i], cb, sizeof(cb)),
				   verb[0] == 'a' ? "already a member" :
				   "still a member from the configuration");
		out_printf(&b, "%s: %zu member%s\n", name,
			   d->members.by_group[gi].n,
			   d->members.by_group[gi].n == 1 ? "" : "s");
	}
	if (out_finish(&b, &text) < 0) {
		dispatch_fail(r, json, 1, "out of memory");
		return;
	}
	r->exit_code = 0;
	r->out = text;
	r->out_len = strlen(text);
}

void membership_add(struct sgd *d, int argc, const char **argv, bool json,
		    struct proto_resp *r)
{
	struct sg_cidr_list req = { 0 }, added = { 0 }, same = { 0 };
	size_t i, mark;
	int gi, rc = 0;

	membatch_begin(d);
	gi = members_group(d, argc, argv, json, 2, "members add GROUP ADDR...", r);
	if (gi < 0 || members_parse(argc, argv, json, &req, r) < 0)
		goto out;
	list_sort_unique(&req);
	/* O(1) each: the group's index, not its list */
	for (i = 0; i < req.n; i++) {
		bool member = membatch_find(d, gi, &req.v[i], &rc) != NULL;

		if (rc < 0 || cidr_list_add(member ? &same : &added,
					    &req.v[i]) < 0)
			goto nomem;
	}
	mark = membatch_mark(d);
	for (i = 0; i < added.n && rc >= 0; i++)
		rc = membatch_change(d, gi, &added.v[i], true);
	if (rc < 0) {
		membatch_rollback(d, mark);
		dispatch_fail(r, json, 1, "cannot add to %s: %s; nothing changed",
			      d->cfg->groups[gi].name, strerror(-rc));
		goto out;
	}
	if (added.n)
		sgd_log_event(d, LOG_INFO, SGD_EV_MEMBERS,
			d->cfg->groups[gi].name, "members add %s: %zu "
			"address(es)", d->cfg->groups[gi].name, added.n);
	members_answer(d, gi, "added", &added, &same, json, r);
	goto out;
nomem:
	dispatch_fail(r, json, 1, "out of memory");
out:
	/* answered once the batch is in the kernel and the journal */
	membatch_queue_answer(d);
	cidr_list_free(&req);
	cidr_list_free(&added);
	cidr_list_free(&same);
}

/* Why an address of gi that is not a run-time addition cannot be
 * deleted: its file:line.  Fills r and returns true when it is from the
 * configuration. */
static bool del_refuse(struct sgd *d, int gi, const struct sg_cidr *c,
		       bool json, struct proto_resp *r)
{
	const struct sg_group *g = &d->cfg->groups[gi];
	const char *names[2] = { g->name, g->id };
	struct sg_diags dg;
	char cb[64];
	size_t i;
	int line = 0;

	cidr_format(c, cb, sizeof(cb));
	for (i = 0; i < g->n_members; i++)
		if (g->members[i].kind == SG_PEER_CIDR &&
		    cidr_cmp(&g->members[i].cidr, c) == 0) {
			dispatch_fail(r, json, 1, "%s:%d: %s is a member of %s "
				      "in the configuration; 'members del' "
				      "only removes run-time additions (edit "
				      "that file and reload)",
				      g->members[i].pos.file ?
				      g->members[i].pos.file : g->file,
				      g->members[i].pos.line, cb, g->name);
			return true;
		}
	for (i = 0; i < 2; i++) {
		if (!names[i])
			continue;
		diags_init(&dg);
		(void)membersd_read(d, names[i], NULL, c, &line, &dg);
		diags_free(&dg);
		if (line) {
			dispatch_fail(r, json, 1, "members.d/%s:%d: %s is a "
				      "member of %s from that file; 'members "
				      "del' only removes run-time additions "
				      "(edit the file)", names[i], line, cb,
				      g->name);
			return true;
		}
	}
	return false;
}

void membership_del(struct sgd *d, int argc, const char **argv, bool json,
		    struct proto_resp *r)
{
	struct sg_cidr_list req = { 0 }, gone = { 0 }, same = { 0 };
	const struct memidx_slot *s;
	size_t i, mark;
	int gi, rc = 0;
	char cb[64];

	membatch_begin(d);
	gi = members_group(d, argc, argv, json, 2, "members del GROUP ADDR...", r);
	if (gi < 0 || members_parse(argc, argv, json, &req, r) < 0)
		goto out;
	list_sort_unique(&req);
	/* All or nothing: every address is checked before anything changes. */
	for (i = 0; i < req.n; i++) {
		s = membatch_find(d, gi, &req.v[i], &rc);
		if (rc < 0) {
			dispatch_fail(r, json, 1, "out of memory");
			goto out;
		}
		if (!s || !s->rt) {
			if (!del_refuse(d, gi, &req.v[i], json, r))
				dispatch_fail(r, json, 1, "%s is not a member of "
					      "%s", cidr_format(&req.v[i], cb,
								sizeof(cb)),
					      d->cfg->groups[gi].name);
			goto out;
		}
	}
	mark = membatch_mark(d);
	for (i = 0; i < req.n; i++) {
		rc = membatch_change(d, gi, &req.v[i], false);
		/* 0: still a member from the configuration */
		if (rc < 0 || cidr_list_add(rc ? &gone : &same, &req.v[i]) < 0) {
			membatch_rollback(d, mark);
			dispatch_fail(r, json, 1, "cannot delete from %s: %s; "
				      "nothing changed", d->cfg->groups[gi].name,
				      strerror(rc < 0 ? -rc : ENOMEM));
			goto out;
		}
	}
	sgd_log_event(d, LOG_INFO, SGD_EV_MEMBERS, d->cfg->groups[gi].name,
		"members del %s: %zu address(es)", d->cfg->groups[gi].name,
		req.n);
	members_answer(d, gi, "deleted", &gone, &same, json, r);
out:
	/* answered once the batch is in the kernel and the journal */
	membatch_queue_answer(d);
	cidr_list_free(&req);
	cidr_list_free(&gone);
	cidr_list_free(&same);
}

/* The origin of each entry of extra (the members of group gi not in its
 * YAML, sorted): the fleet host that registered it, and whether members.d
 * or `members add` holds it too.  *out has extra->n entries (NULL when
 * there are none); 0 or -ENOMEM. */
static int list_origins(struct sgd *d, int gi, const struct sg_cidr_list *extra,
			struct render_member_origin **out)
{
	struct sg_cidr_list other = { 0 };
	struct fleet_host_ref *fh = NULL;
	struct sg_diags dg;
	size_t i, n_fh = 0, k = 0;
	int rc;

	*out = NULL;
	if (extra->n == 0)
		return 0;
	diags_init(&dg);
	/* members.d errors are reported when membership is computed, not
	 * by a listing */
	rc = group_sources(d, d->cfg, gi, false, &other, &dg);
	diags_free(&dg);
	if (rc == 0)
		rc = fleet_members_hosts(d, &d->cfg->groups[gi], &fh, &n_fh);
	if (rc == 0 && !(*out = calloc(extra->n, sizeof(**out))))
		rc = -ENOMEM;
	/* extra and fh are both sorted by address: one merge */
	for (i = 0; rc == 0 && i < extra->n; i++) {
		while (k < n_fh && cidr_cmp(&fh[k].c, &extra->v[i]) < 0)
			k++;
		if (k < n_fh && cidr_cmp(&fh[k].c, &extra->v[i]) == 0)
			(*out)[i].fleet_host = fh[k].host;
		(*out)[i].other = bsearch(&extra->v[i], other.v, other.n,
					  sizeof(*other.v), cmp_cidr) != NULL;
	}
	free(fh);
	cidr_list_free(&other);
	return rc;
}

void membership_list(struct sgd *d, int argc, const char **argv, bool json,
		     struct proto_resp *r)
{
	const struct sg_group *g;
	struct sg_cidr_list extra = { 0 }, yl = { 0 };
	struct render_member_origin *origin = NULL;
	struct memidx yx = { 0 };
	const struct sg_cidr_list *eff;
	char *text = NULL;
	size_t i, k;
	int gi, rc = 0;

	gi = members_group(d, argc, argv, json, 1, "members list GROUP", r);
	if (gi < 0)
		return;
	if (argc > 1) {
		dispatch_fail(r, json, 2, "usage: members list GROUP");
		return;
	}
	g = &d->cfg->groups[gi];
	eff = &d->members.by_group[gi];
	/* render_members lists the YAML members itself; the rest (members.d,
	 * run-time and fleet) is passed sorted, with where each comes from.
	 * The YAML members are hashed so that this stays linear. */
	for (k = 0; k < g->n_members && rc == 0; k++)
		if (g->members[k].kind == SG_PEER_CIDR)
			rc = cidr_list_add(&yl, &g->members[k].cidr);
	if (rc == 0)
		rc = memidx_init(&yx, &yl);
	for (i = 0; i < eff->n && rc == 0; i++)
		if (!memidx_find(&yx, &eff->v[i]))
			rc = cidr_list_add(&extra, &eff->v[i]);
	if (rc == 0) {
		if (extra.n > 1)
			qsort(extra.v, extra.n, sizeof(*extra.v), cmp_cidr);
		rc = list_origins(d, gi, &extra, &origin);
	}
	if (rc == 0)
		rc = render_members(d->cfg, gi, &extra, origin, json, &text);
	if (rc == 0 && !(text = fleet_members_append(d, gi, json, text)))
		rc = -ENOMEM;
	free(origin);
	memidx_free(&yx);
	cidr_list_free(&yl);
	cidr_list_free(&extra);
	if (rc < 0) {
		free(text);
		dispatch_fail(r, json, 1, "members list: %s", strerror(-rc));
		return;
	}
	r->exit_code = 0;
	r->out = text;
	r->out_len = strlen(text);
}
