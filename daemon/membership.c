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
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "membatch.h"
#include "memindex.h"
#include "render.h"
#include "fleet.h"
#include "sgd.h"

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
	rg = runtime_find(&d->rt, g->name);
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
static int membership_fail(struct membership_change *out, int rc,
			   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Record why the change was not made; returns rc. */
static int membership_fail(struct membership_change *out, int rc,
			   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	return rc;
}

void membership_change_free(struct membership_change *ch)
{
	cidr_list_free(&ch->changed);
	cidr_list_free(&ch->same);
}

int membership_add(struct sgd *d, int gi, struct sg_cidr_list *req,
		   struct membership_change *out)
{
	const char *name = d->cfg->groups[gi].name;
	size_t i, mark;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	list_sort_unique(req);
	/* O(1) each: the group's index, not its list */
	for (i = 0; i < req->n; i++) {
		bool member = membatch_find(d, gi, &req->v[i], &rc) != NULL;

		if (rc < 0 || cidr_list_add(member ? &out->same : &out->changed,
					    &req->v[i]) < 0)
			return membership_fail(out, -ENOMEM, "out of memory");
	}
	mark = membatch_mark(d);
	for (i = 0; i < out->changed.n && rc >= 0; i++)
		rc = membatch_change(d, gi, &out->changed.v[i], true);
	if (rc < 0) {
		membatch_rollback(d, mark);
		return membership_fail(out, rc, "cannot add to %s: %s; nothing "
				       "changed", name, strerror(-rc));
	}
	if (out->changed.n)
		sgd_log_event(d, LOG_INFO, SGD_EV_MEMBERS, name, "members add "
			      "%s: %zu address(es)", name, out->changed.n);
	out->members = d->members.by_group[gi].n;
	return 0;
}

/* Why an address of gi that is not a run-time addition cannot be
 * deleted: its file:line, in out->why.  True when it is from the
 * configuration. */
static bool del_refuse(struct sgd *d, int gi, const struct sg_cidr *c,
		       struct membership_change *out)
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
			membership_fail(out, -EPERM, "%s:%d: %s is a member of "
					"%s in the configuration; 'members del' "
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
			membership_fail(out, -EPERM, "members.d/%s:%d: %s is a "
					"member of %s from that file; 'members "
					"del' only removes run-time additions "
					"(edit the file)", names[i], line, cb,
					g->name);
			return true;
		}
	}
	return false;
}

int membership_del(struct sgd *d, int gi, struct sg_cidr_list *req,
		   struct membership_change *out)
{
	const char *name = d->cfg->groups[gi].name;
	const struct memidx_slot *s;
	size_t i, mark;
	int rc = 0;
	char cb[64];

	memset(out, 0, sizeof(*out));
	list_sort_unique(req);
	/* All or nothing: every address is checked before anything changes. */
	for (i = 0; i < req->n; i++) {
		s = membatch_find(d, gi, &req->v[i], &rc);
		if (rc < 0)
			return membership_fail(out, rc, "out of memory");
		if (!s || !s->rt) {
			if (del_refuse(d, gi, &req->v[i], out))
				return -EPERM;
			return membership_fail(out, -ENOENT, "%s is not a member "
					       "of %s", cidr_format(&req->v[i], cb,
								    sizeof(cb)), name);
		}
	}
	mark = membatch_mark(d);
	for (i = 0; i < req->n; i++) {
		rc = membatch_change(d, gi, &req->v[i], false);
		/* 0: still a member from the configuration */
		if (rc < 0 || cidr_list_add(rc ? &out->changed : &out->same,
					    &req->v[i]) < 0) {
			membatch_rollback(d, mark);
			return membership_fail(out, rc < 0 ? rc : -ENOMEM,
					       "cannot delete from %s: %s; nothing "
					       "changed", name,
					       strerror(rc < 0 ? -rc : ENOMEM));
		}
	}
	sgd_log_event(d, LOG_INFO, SGD_EV_MEMBERS, name, "members del %s: %zu "
		      "address(es)", name, req->n);
	out->members = d->members.by_group[gi].n;
	return 0;
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

int membership_list(struct sgd *d, int gi, struct sg_cidr_list *extra,
		    struct render_member_origin **origin)
{
	const struct sg_group *g = &d->cfg->groups[gi];
	const struct sg_cidr_list *eff = &d->members.by_group[gi];
	struct sg_cidr_list yl = { 0 };
	struct memidx yx = { 0 };
	size_t i, k;
	int rc = 0;

	memset(extra, 0, sizeof(*extra));
	*origin = NULL;
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
			rc = cidr_list_add(extra, &eff->v[i]);
	if (rc == 0) {
		if (extra->n > 1)
			qsort(extra->v, extra->n, sizeof(*extra->v), cmp_cidr);
		rc = list_origins(d, gi, extra, origin);
	}
	memidx_free(&yx);
	cidr_list_free(&yl);
	if (rc < 0) {
		cidr_list_free(extra);
		free(*origin);
		*origin = NULL;
	}
	return rc;
}

/* ---- members.d changes (inotify): effective members again, pushed as
 * differences */

/* a and b sorted. */
static bool list_equal(const struct sg_cidr_list *a, const struct sg_cidr_list *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (cidr_cmp(&a->v[i], &b->v[i]) != 0)
			return false;
	return true;
}

void membership_refresh(struct sgd *d)
{
	struct sg_members m;
	struct sg_diags dg;
	size_t i;
	int r;

	/* disabled: enable computes the members again */
	if (!d->cfg || d->disabled)
		return;
	diags_init(&dg);
	/* A rejected file counts with its last valid version, so only the
	 * groups whose valid files changed differ below. */
	r = membership_compute_live(d, d->cfg, &m);
	if (r < 0) {
		sgd_log_event(d, LOG_WARNING, SGD_EV_MEMBERS, NULL, "members.d "
			"change not applied: %s", strerror(-r));
		diags_free(&dg);
		return;
	}
	for (i = 0; i < m.n_groups; i++) {
		struct sg_cidr_list tmp, *cur = &d->members.by_group[i];

		/* Run-time changes leave the running lists unsorted
		 * (membatch.c; its indexes are dropped before this event):
		 * the comparison and the engine's delta walk sorted lists. */
		if (cur->n > 1)
			qsort(cur->v, cur->n, sizeof(*cur->v), cmp_cidr);
		if (list_equal(&m.by_group[i], cur))
			continue;
		r = engine_members_update(d->eng, d->cfg, (int)i,
					  &d->members.by_group[i],
					  &m.by_group[i], &dg);
		if (r < 0) {
			sgd_log_diags(d, LOG_WARNING, SGD_EV_MEMBERS, "members.d",
				      &dg);
			diags_free(&dg);
			diags_init(&dg);
			sgd_log_event(d, LOG_WARNING, SGD_EV_MEMBERS,
				d->cfg->groups[i].name, "members of %s not "
				"updated: %s", d->cfg->groups[i].name,
				strerror(-r));
			continue;
		}
		sgd_log_event(d, LOG_INFO, SGD_EV_MEMBERS,
			d->cfg->groups[i].name, "members of %s updated from "
			"members.d (%zu)", d->cfg->groups[i].name,
			m.by_group[i].n);
		tmp = d->members.by_group[i];
		d->members.by_group[i] = m.by_group[i];
		m.by_group[i] = tmp;
	}
	membership_free(&m);
	diags_free(&dg);
}

/* (Re)watch CONFDIR/members.d from scratch: it was created, replaced or
 * moved away, and the old watch (if any) follows an inode that is no
 * longer members.d. */
static void membership_rewatch(struct sgd *d)
{
	int r;

	if (d->members_wd >= 0)
		(void)inotify_rm_watch(d->inotify.fd, d->members_wd);
	d->members_wd = -1;
	r = membership_watch(d);
	if (r < 0)
		sgd_log(d, LOG_WARNING, "not watching %s/members.d: %s",
			d->opt.confdir, strerror(-r));
}

static void membership_on_inotify(struct sgd *d, struct sgd_watch *w,
				  uint32_t ev)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false, rewatch = false;
	ssize_t n;

	(void)ev;
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *e = (struct inotify_event *)p;

			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				/* Events were lost: read everything again. */
				rewatch = changed = true;
				continue;
			}
			if (e->wd != d->members_wd) {
				/* CONFDIR: members.d appeared, was replaced or
				 * went away. */
				if (e->len && strcmp(e->name, "members.d") == 0)
					rewatch = changed = true;
				continue;
			}
			changed = true;
			if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
				rewatch = true;
			/* A fleet tool's final step is a rename to the target
			 * name; a temp file is only created and written, so
			 * this is where a misnamed target is worth a word. */
			if ((e->mask & IN_MOVED_TO) && e->len && d->cfg &&
			    !membersd_ignored_name(e->name) &&
			    config_find_group(d->cfg, e->name) < 0)
				sgd_log_event(d, LOG_WARNING, SGD_EV_MEMBERS,
					NULL, "members.d/%s: ignored: no group "
					"is named '%s' (the file name must be "
					"a group's name or id)", e->name,
					e->name);
		}
	}
	if (rewatch)
		membership_rewatch(d);
	if (changed)
		membership_refresh(d);
}

int membership_watch(struct sgd *d)
{
	char dir[4096];
	bool first = false;
	int wd;

	if (d->inotify.fd < 0) {
		first = true;
		d->inotify.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (d->inotify.fd < 0)
			return -errno;
		d->inotify.fn = membership_on_inotify;
		if (watch_add(d, &d->inotify, EPOLLIN) < 0)
			return -errno;
		/* To notice members.d being created, replaced or removed. */
		if (inotify_add_watch(d->inotify.fd, d->opt.confdir,
				      IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
				      IN_DELETE | IN_ONLYDIR) < 0)
			return -errno;
	}
	if (d->members_wd >= 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s/members.d", d->opt.confdir);
	/* Not IN_MODIFY: a file is read when its writer closes it or renames
	 * it into place, not after every write(2) of an in-place writer. */
	wd = inotify_add_watch(d->inotify.fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO |
			       IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF |
			       IN_MOVE_SELF | IN_ONLYDIR);
	if (wd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	d->members_wd = wd;
	/* What was written between the load and now is read now (after an
	 * event, the caller reads members.d again anyway). */
	if (first)
		membership_refresh(d);
	return 0;
}
