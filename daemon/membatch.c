/*
 * membatch.c — run-time membership changes in constant time, coalesced.
 *
 * `members add/del` no longer copies, sorts or diffs member lists and no
 * longer rewrites the state file:
 *   - every group has a memindex (memindex.h) over its effective list,
 *     built on first use after a (re)load and kept up to date by each
 *     change; it yields the exact kernel element operations;
 *   - the run-time additions are persisted in a journal (journal.h) on
 *     top of the state file, which becomes its snapshot;
 *   - the changes made by all requests handled in one event-loop
 *     iteration form one batch: one kernel transaction
 *     (engine_members_delta) and one journal fdatasync, after which each
 *     client is answered (membatch_defer / membatch_flush).  If the
 *     kernel or the disk refuses, every change of the batch is undone and
 *     every client of it is told nothing changed.
 * Anything else that may read or replace memberships (other requests,
 * signals, timers, members.d events) first flushes the batch
 * (membatch_barrier*), and what may replace them drops the indexes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "engine.h"
#include "journal.h"
#include "membatch.h"
#include "memindex.h"
#include "clock.h"
#include "fleet.h"
#include "sgd.h"

#define MEMBATCH_JOURNAL	"members.journal"
#define MEMBATCH_HIST		63	/* changes the median is taken over */

struct membatch_group {
	struct memidx idx;
	bool built;
	const struct sg_cidr *list_v;	/* the list as the index left it */
	size_t list_n;
	struct memidx_ops ops;		/* pending kernel operations */
};

struct membatch_undo {
	int gi;
	struct sg_cidr c;
	bool add;
};

struct membatch_client {
	struct sgd_client *c;
	struct proto_resp r;
};

struct membatch {
	const struct sg_config *cfg;	/* what the indexes were built for */
	const struct sg_cidr_list *by_group;
	size_t n_groups;
	struct membatch_group *g;
	struct journal j;
	struct membatch_undo *undo;
	size_t n_undo, cap_undo;
	struct membatch_client *cl;
	size_t n_cl, cap_cl;
	bool want_defer;		/* the request just handled queued */
	/* how the loop calls client watches: events of other watches
	 * flush the batch first */
	void (*client_fn)(struct sgd *d, struct sgd_watch *w, uint32_t ev);
	long long t_start_us;		/* first change of the batch, 0 = none */
	long long hist[MEMBATCH_HIST];	/* last batches' times, µs */
	size_t n_hist;
	long long last_us;
};

static struct membatch *membatch_get(struct sgd *d)
{
	if (!d->mb) {
		d->mb = calloc(1, sizeof(*d->mb));
		if (d->mb)
			d->mb->j.fd = -1;
	}
	return d->mb;
}

static void membatch_drop_indexes(struct membatch *mb)
{
	size_t i;

	for (i = 0; mb->g && i < mb->n_groups; i++) {
		memidx_free(&mb->g[i].idx);
		memidx_ops_free(&mb->g[i].ops);
	}
	free(mb->g);
	mb->g = NULL;
	mb->n_groups = 0;
	mb->cfg = NULL;
	mb->by_group = NULL;
}

void membatch_fini(struct sgd *d)
{
	struct membatch *mb = d->mb;
	size_t i;

	if (!mb)
		return;
	membatch_drop_indexes(mb);
	journal_close(&mb->j);
	for (i = 0; i < mb->n_cl; i++)
		proto_resp_free(&mb->cl[i].r);
	free(mb->cl);
	free(mb->undo);
	free(mb);
	d->mb = NULL;
}

/* ---- the run-time lists (d->rt), with set semantics through an index */

/* Journal replay: the indexes of d->rt's lists, parallel to d->rt.v. */
struct membatch_replay {
	struct sgd *d;
	struct memidx *x;
	size_t n;
};

static int membatch_replay_one(void *arg, bool add, const char *group,
			       const struct sg_cidr *c)
{
	struct membatch_replay *rp = arg;
	struct sgd_runtime *rt = &rp->d->rt;
	struct sgd_rt_group *g = runtime_get(rt, group);
	struct memidx_slot *s;
	size_t i, gi;
	int rc;

	if (!g)
		return -ENOMEM;
	gi = (size_t)(g - rt->v);
	if (rt->n > rp->n) {
		struct memidx *nv = realloc(rp->x, rt->n * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		rp->x = nv;
		for (i = rp->n; i < rt->n; i++) {
			rc = memidx_init(&rp->x[i], &rt->v[i].addrs);
			if (rc)
				return rc;
			rp->n = i + 1;
		}
	}
	/* d->rt.v may have moved: rebind every list */
	for (i = 0; i < rp->n; i++)
		rp->x[i].list = &rt->v[i].addrs;
	s = memidx_find(&rp->x[gi], c);
	if (add)
		return s ? 0 : memidx_add(&rp->x[gi], c, MEMIDX_STATIC, NULL) < 0 ?
			-ENOMEM : 0;
	if (!s)
		return 0;
	s->n_static = 1;
	s->rt = false;
	return memidx_del(&rp->x[gi], c, MEMIDX_STATIC, NULL) < 0 ? -EIO : 0;
}

int membatch_journal_load(struct sgd *d)
{
	struct membatch *mb = membatch_get(d);
	struct membatch_replay rp = { .d = d };
	char msg[4300];
	size_t n_bad = 0, i;
	int rc;

	if (!mb)
		return -ENOMEM;
	journal_close(&mb->j);
	rc = journal_open(&mb->j, d->opt.state_dir, MEMBATCH_JOURNAL,
			  membatch_replay_one, &rp, &n_bad, msg, sizeof(msg));
	for (i = 0; i < rp.n; i++)
		memidx_free(&rp.x[i]);
	free(rp.x);
	if (rc < 0) {
		sgd_log(d, LOG_WARNING, "%s/%s: cannot replay the run-time "
			"members journal: %s", d->opt.state_dir,
			MEMBATCH_JOURNAL, strerror(-rc));
		return rc;
	}
	if (n_bad)
		sgd_log(d, LOG_WARNING, "%s; %zu damaged journal record(s) "
			"ignored (a write cut short by a crash is expected to "
			"leave one)", msg, n_bad);
	if (mb->j.n_records)
		sgd_debug(d, "%s/%s: %zu record(s) replayed", d->opt.state_dir,
			  MEMBATCH_JOURNAL, mb->j.n_records);
	return 0;
}

/* ---- the per-group indexes ---- */

static int membatch_static_set(struct sgd *d, int gi, struct sg_cidr_list *l)
{
	const struct sg_group *g = &d->cfg->groups[gi];
	const char *names[2] = { g->name, g->id };
	size_t i, k;
	int rc = 0;

	for (i = 0; i < g->n_members && rc == 0; i++)
		if (g->members[i].kind == SG_PEER_CIDR)
			rc = cidr_list_add(l, &g->members[i].cidr);
	for (k = 0; k < 2 && rc == 0; k++) {
		struct sgd_rt_group *f = names[k] ?
			runtime_find(&d->membersd_good, names[k]) : NULL;

		for (i = 0; f && i < f->addrs.n && rc == 0; i++)
			rc = cidr_list_add(l, &f->addrs.v[i]);
	}
	/* the fleet's registrations hold a member like the configuration */
	if (rc == 0)
		rc = fleet_members_collect(d, g, l);
	return rc;
}

/* Index group gi's effective list, with the sources of each member. */
static int membatch_build(struct sgd *d, int gi)
{
	struct membatch_group *mg = &d->mb->g[gi];
	struct sg_cidr_list st = { 0 };
	struct sgd_rt_group *rg;
	struct memidx sx, rx;
	size_t k;
	int rc;

	rc = memidx_init(&mg->idx, &d->members.by_group[gi]);
	if (rc)
		return rc;
	rc = membatch_static_set(d, gi, &st);
	if (rc == 0)
		rc = memidx_init(&sx, &st);
	if (rc) {
		cidr_list_free(&st);
		memidx_free(&mg->idx);
		return rc;
	}
	rg = runtime_find(&d->rt, d->cfg->groups[gi].name);
	/* a duplicated run-time entry would survive its deletion */
	if (rg && memidx_init(&rx, &rg->addrs) == 0)
		memidx_free(&rx);
	for (k = 0; rg && k < rg->addrs.n; k++) {
		struct memidx_slot *s = memidx_find(&mg->idx, &rg->addrs.v[k]);

		if (!s)
			continue;
		s->rt = true;
		s->aux = (uint32_t)k;
		s->n_static = memidx_find(&sx, &rg->addrs.v[k]) ? 1 : 0;
	}
	memidx_free(&sx);
	cidr_list_free(&st);
	mg->built = true;
	mg->list_v = d->members.by_group[gi].v;
	mg->list_n = d->members.by_group[gi].n;
	return 0;
}

/* The index of gi, (re)built when the configuration or the list changed
 * behind it.  NULL on -ENOMEM. */
static struct memidx *membatch_index(struct sgd *d, int gi)
{
	struct membatch *mb = membatch_get(d);
	struct membatch_group *mg;

	if (!mb)
		return NULL;
	if (mb->cfg != d->cfg || mb->by_group != d->members.by_group ||
	    mb->n_groups != d->cfg->n_groups) {
		membatch_drop_indexes(mb);
		mb->g = calloc(d->cfg->n_groups ? d->cfg->n_groups : 1,
			       sizeof(*mb->g));
		if (!mb->g)
			return NULL;
		mb->cfg = d->cfg;
		mb->by_group = d->members.by_group;
		mb->n_groups = d->cfg->n_groups;
	}
	mg = &mb->g[gi];
	if (mg->built && (mg->list_v != d->members.by_group[gi].v ||
			  mg->list_n != d->members.by_group[gi].n)) {
		memidx_free(&mg->idx);
		mg->built = false;
	}
	if (!mg->built && membatch_build(d, gi) < 0)
		return NULL;
	return &mg->idx;
}

struct memidx_slot *membatch_find(struct sgd *d, int gi, const struct sg_cidr *c,
				  int *err)
{
	struct memidx *x = membatch_index(d, gi);

	*err = x ? 0 : -ENOMEM;
	return x ? memidx_find(x, c) : NULL;
}

/* One run-time change of gi: the index, d->rt, and (with_ops) the
 * pending kernel operations.  1 when membership changed, 0 when not,
 * -errno. */
static int membatch_apply(struct sgd *d, int gi, const struct sg_cidr *c,
			  bool add, bool with_ops)
{
	struct membatch *mb = d->mb;
	struct membatch_group *mg = &mb->g[gi];
	const char *name = d->cfg->groups[gi].name;
	struct memidx_ops *ops = with_ops ? &mg->ops : NULL;
	struct sgd_rt_group *rg;
	struct memidx_slot *s;
	uint32_t pos = 0;
	int rc;

	rg = runtime_get(&d->rt, name);
	if (!rg)
		return -ENOMEM;
	if (add) {
		rc = cidr_list_add(&rg->addrs, c);
		if (rc)
			return rc;
		rc = memidx_add(&mg->idx, c, MEMIDX_RT, ops);
		if (rc < 0) {
			rg->addrs.n--;
			return rc;
		}
		s = memidx_find(&mg->idx, c);
		s->aux = (uint32_t)(rg->addrs.n - 1);
	} else {
		s = memidx_find(&mg->idx, c);
		if (!s || !s->rt)
			return -ENOENT;
		pos = s->aux;
		rc = memidx_del(&mg->idx, c, MEMIDX_RT, ops);
		if (rc < 0)
			return rc;
		/* the last run-time entry takes the hole */
		if (pos + 1 < rg->addrs.n) {
			rg->addrs.v[pos] = rg->addrs.v[rg->addrs.n - 1];
			s = memidx_find(&mg->idx, &rg->addrs.v[pos]);
			if (s)
				s->aux = pos;
		}
		rg->addrs.n--;
	}
	mg->list_v = d->members.by_group[gi].v;
	mg->list_n = d->members.by_group[gi].n;
	return rc;
}

int membatch_change(struct sgd *d, int gi, const struct sg_cidr *c, bool add)
{
	struct membatch *mb = d->mb;
	int rc, r2;

	if (!mb || !mb->g || !mb->g[gi].built)
		return -EINVAL;
	if (mb->n_undo == mb->cap_undo) {
		size_t cap = mb->cap_undo ? mb->cap_undo * 2 : 16;
		struct membatch_undo *nv = realloc(mb->undo, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		mb->undo = nv;
		mb->cap_undo = cap;
	}
	rc = membatch_apply(d, gi, c, add, true);
	if (rc < 0)
		return rc;
	r2 = journal_append(&mb->j, add, d->cfg->groups[gi].name, c);
	if (r2 < 0) {
		/* the inverse operations cancel those just queued */
		(void)membatch_apply(d, gi, c, !add, true);
		return r2;
	}
	mb->undo[mb->n_undo].gi = gi;
	mb->undo[mb->n_undo].c = *c;
	mb->undo[mb->n_undo].add = add;
	mb->n_undo++;
	if (!mb->t_start_us)
		mb->t_start_us = clock_now_us();
	return rc;
}

void membatch_begin(struct sgd *d)
{
	struct membatch *mb = membatch_get(d);

	if (mb && !mb->t_start_us)
		mb->t_start_us = clock_now_us();
}

/* The changes of the batch from undo record `from` on, undone without a
 * trace (the kernel and the journal never saw the batch) or, with
 * record, as new changes (inverse operations and journal records join
 * the batch and cancel the first ones). */
static void membatch_undo_from(struct sgd *d, size_t from, bool record)
{
	struct membatch *mb = d->mb;
	size_t i = mb->n_undo;

	while (i-- > from) {
		const struct membatch_undo *u = &mb->undo[i];
		int rc = membatch_apply(d, u->gi, &u->c, !u->add, record);

		if (rc >= 0 && record)
			rc = journal_append(&mb->j, !u->add,
					    d->cfg->groups[u->gi].name, &u->c);
		if (rc < 0)
			sgd_log_event(d, LOG_WARNING, SGD_EV_MEMBERS,
				d->cfg->groups[u->gi].name, "could not undo a "
				"membership change of %s",
				d->cfg->groups[u->gi].name);
	}
	if (record)
		return;	/* the records stay: they are in the batch */
	mb->n_undo = from;
}

size_t membatch_mark(struct sgd *d)
{
	return d->mb ? d->mb->n_undo : 0;
}

void membatch_rollback(struct sgd *d, size_t mark)
{
	struct membatch *mb = d->mb;

	if (!mb || mb->n_undo <= mark)
		return;
	membatch_undo_from(d, mark, true);
	/* forget the pairs: what was done and undone leaves the batch's undo
	 * list, while its (cancelling) operations and records stay queued
	 * and go out, harmlessly, with the next batch */
	mb->n_undo = mark;
}

void membatch_queue_answer(struct sgd *d)
{
	if (d->mb)
		d->mb->want_defer = true;
}

bool membatch_defer(struct sgd *d, struct sgd_client *c, struct proto_resp *r)
{
	struct membatch *mb = d->mb;

	if (!mb || !mb->want_defer)
		return false;
	mb->want_defer = false;
	if (!mb->n_undo && !mb->n_cl)
		return false;	/* nothing pending: answer now */
	mb->client_fn = c->w.fn;
	if (mb->n_cl == mb->cap_cl) {
		size_t cap = mb->cap_cl ? mb->cap_cl * 2 : 8;
		struct membatch_client *nv = realloc(mb->cl, cap * sizeof(*nv));

		if (!nv) {
			/* answer now: only the timing of the answer changes */
			membatch_flush(d);
			return false;
		}
		mb->cl = nv;
		mb->cap_cl = cap;
	}
	mb->cl[mb->n_cl].c = c;
	mb->cl[mb->n_cl].r = *r;
	memset(r, 0, sizeof(*r));
	mb->n_cl++;
	/* no second request is read from it meanwhile */
	c->replying = true;
	return true;
}

/* ---- the flush ---- */

static void membatch_commit(struct sgd *d);

static void membatch_fail_clients(struct sgd *d, const struct sg_diags *dg,
				  const char *what, int err)
{
	struct membatch *mb = d->mb;
	size_t i;

	for (i = 0; i < mb->n_cl; i++) {
		struct proto_resp *r = &mb->cl[i].r;
		bool json = r->out && r->out[0] == '{';

		proto_resp_free(r);
		memset(r, 0, sizeof(*r));
		if (dg && dg->n)
			reply_diags(r, json, 1, dg);
		else
			reply_fail(r, json, 1, "%s: %s; nothing changed",
				      what, strerror(-err));
	}
}

static void membatch_answer(struct sgd *d)
{
	struct membatch *mb = d->mb;
	size_t i;

	for (i = 0; i < mb->n_cl; i++) {
		if (d->hooks.reply)
			d->hooks.reply(d, mb->cl[i].c, &mb->cl[i].r);
		proto_resp_free(&mb->cl[i].r);
	}
	mb->n_cl = 0;
}

static void membatch_compact(struct sgd *d)
{
	struct membatch *mb = d->mb;
	size_t live = 0, i;
	int rc;

	for (i = 0; i < d->rt.n; i++)
		live += d->rt.v[i].addrs.n;
	if (!journal_wants_compaction(&mb->j, live))
		return;
	/* the snapshot holds everything: the journal starts over */
	rc = runtime_save(d);
	if (rc == 0)
		rc = journal_reset(&mb->j);
	if (rc < 0)
		sgd_log(d, LOG_WARNING, "compacting the run-time members "
			"journal: %s (it keeps growing until this works)",
			strerror(-rc));
	else
		sgd_debug(d, "run-time members journal compacted (%zu live)",
			  live);
}

static void membatch_record_time(struct membatch *mb, long long us)
{
	mb->last_us = us;
	mb->hist[mb->n_hist % MEMBATCH_HIST] = us;
	mb->n_hist++;
}

static int membatch_cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int membatch_stats(const struct sgd *d, long long *last_us, long long *median_us)
{
	long long v[MEMBATCH_HIST];
	size_t n;

	if (!d->mb || !d->mb->n_hist)
		return -ENOENT;
	n = d->mb->n_hist < MEMBATCH_HIST ? d->mb->n_hist : MEMBATCH_HIST;
	memcpy(v, d->mb->hist, n * sizeof(*v));
	qsort(v, n, sizeof(*v), membatch_cmp_ll);
	*last_us = d->mb->last_us;
	*median_us = v[n / 2];
	return 0;
}

/* Send the pending operations: one transaction.  Fills names. */
static int membatch_send(struct sgd *d, struct sg_diags *dg, char *names,
			 size_t len, int *first_gi)
{
	struct membatch *mb = d->mb;
	struct sg_member_delta *v;
	size_t i, n = 0, off = 0;
	int rc;

	v = calloc(mb->n_groups ? mb->n_groups : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	names[0] = 0;
	*first_gi = -1;
	for (i = 0; i < mb->n_groups; i++) {
		if (!mb->g[i].ops.n)
			continue;
		v[n].group_idx = (int)i;
		v[n].ops = mb->g[i].ops.v;
		v[n].n = mb->g[i].ops.n;
		n++;
	}
	for (i = 0; i < mb->n_undo; i++) {
		int gi = mb->undo[i].gi;
		const char *nm = d->cfg->groups[gi].name;

		if (*first_gi < 0)
			*first_gi = gi;
		/* the group names of the batch, once each, for the log */
		if (off < len && !strstr(names, nm))
			off += (size_t)snprintf(names + off, len - off, "%s%s",
						off ? "," : "", nm);
	}
	rc = n ? engine_members_delta(d->eng, d->cfg, v, n, dg) : 0;
	free(v);
	return rc;
}

/* The inverse of the pending operations, to take a committed batch back
 * out of the kernel when the journal could not keep it. */
static void membatch_unsend(struct sgd *d)
{
	struct membatch *mb = d->mb;
	size_t i, k;
	struct sg_diags dg;

	for (i = 0; i < mb->n_groups; i++) {
		struct memidx_ops *o = &mb->g[i].ops;

		for (k = 0; k < o->n / 2; k++) {
			struct sg_member_op t = o->v[k];

			o->v[k] = o->v[o->n - 1 - k];
			o->v[o->n - 1 - k] = t;
		}
		for (k = 0; k < o->n; k++)
			o->v[k].del = !o->v[k].del;
	}
	diags_init(&dg);
	{
		char names[256];
		int gi;

		if (membatch_send(d, &dg, names, sizeof(names), &gi) < 0)
			sgd_log_event(d, LOG_WARNING, SGD_EV_MEMBERS, NULL,
				"could not take membership changes of %s back "
				"out of the kernel: it now differs from what a "
				"restart restores", names);
	}
	diags_free(&dg);
}

/* Index every group with members now, so that the first change after a
 * (re)load does not pay for it: O(members), after events that may have
 * replaced them (a no-op otherwise). */
static void membatch_prepare(struct sgd *d)
{
	size_t gi;

	if (d->quit || !d->cfg || !d->members.by_group ||
	    d->members.n_groups != d->cfg->n_groups)
		return;
	for (gi = 0; gi < d->cfg->n_groups; gi++)
		if (d->members.by_group[gi].n &&
		    !membatch_index(d, (int)gi))
			return;	/* out of memory: built on first use */
}

void membatch_flush(struct sgd *d)
{
	struct membatch *mb = d->mb;

	if (mb && (mb->n_undo || mb->n_cl))
		membatch_commit(d);
	else if (mb)
		mb->t_start_us = 0;
	membatch_prepare(d);
}

static void membatch_commit(struct sgd *d)
{
	struct membatch *mb = d->mb;
	long long t0, t1, t2;
	struct sg_diags dg;
	char names[256];
	size_t i;
	int rc, gi;

	t0 = clock_now_us();
	diags_init(&dg);
	rc = membatch_send(d, &dg, names, sizeof(names), &gi);
	t1 = clock_now_us();
	if (rc < 0) {
		membatch_fail_clients(d, &dg, "the kernel refused the change",
				      rc);
		journal_drop(&mb->j);
		membatch_undo_from(d, 0, false);
	} else {
		rc = journal_sync(&mb->j);
		if (rc < 0) {
			sgd_log_event(d, LOG_WARNING, SGD_EV_MEMBERS, NULL,
				"%s/%s: cannot save the run-time members: %s",
				d->opt.state_dir, MEMBATCH_JOURNAL,
				strerror(-rc));
			membatch_unsend(d);
			membatch_fail_clients(d, NULL, "cannot save the run-time "
					      "members", rc);
			membatch_undo_from(d, 0, false);
		}
	}
	t2 = clock_now_us();
	if (rc == 0 && mb->n_undo) {
		membatch_record_time(mb, t2 - mb->t_start_us);
		sgd_debug(d, "members of %s updated: index %lld us, kernel %lld "
			  "us, journal %lld us (%zu members, %zu change%s)",
			  names[0] ? names : "-", t0 - mb->t_start_us, t1 - t0,
			  t2 - t1, gi >= 0 ? d->members.by_group[gi].n : 0,
			  mb->n_undo, mb->n_undo == 1 ? "" : "s");
		membatch_compact(d);
	}
	diags_free(&dg);
	for (i = 0; i < mb->n_groups; i++)
		mb->g[i].ops.n = 0;
	mb->n_undo = 0;
	mb->t_start_us = 0;
	membatch_answer(d);
}

void membatch_invalidate(struct sgd *d)
{
	if (d->mb)
		membatch_drop_indexes(d->mb);
}

void membatch_barrier(struct sgd *d, const struct sgd_watch *w)
{
	if (!d->mb || (d->mb->client_fn && w->fn == d->mb->client_fn))
		return;
	membatch_flush(d);
	/* these may replace the configuration or the members.d lists */
	if (d->mb && (w == &d->sig || w == &d->confirm_timer ||
		      w == &d->inotify))
		membatch_drop_indexes(d->mb);
}

void membatch_before_request(struct sgd *d, const char *cmd, const char *sub)
{
	if (strcmp(cmd, "members") == 0 && sub &&
	    (strcmp(sub, "add") == 0 || strcmp(sub, "del") == 0))
		return;
	membatch_flush(d);
	if (d->mb && (strcmp(cmd, "reload") == 0 || strcmp(cmd, "apply") == 0 ||
		      strcmp(cmd, "confirm") == 0))
		membatch_drop_indexes(d->mb);
}

char *membatch_status_json(const struct sgd *d, char *text)
{
	long long last, median;
	size_t n;
	char *res;

	if (!text || membatch_stats(d, &last, &median) < 0)
		return text;
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	if (n == 0 || text[n - 1] != '}')
		return text;
	if (asprintf(&res, "%.*s,\"members_change_us\":{\"last\":%lld,"
		     "\"median\":%lld,\"changes\":%zu}}\n", (int)(n - 1), text,
		     last, median, d->mb->n_hist) < 0)
		return text;
	free(text);
	return res;
}
