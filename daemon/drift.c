/*
 * drift.c — notice when someone else changes our table, and put it back.
 *
 * A second netlink socket, bound to the NFNLGRP_NFTABLES multicast group,
 * receives every nftables change of this network namespace.  The kernel
 * sends the events of one transaction together, the object events first
 * and then a NEWGEN event carrying the committer's socket port id (in the
 * netlink header), process id and name.  We add up the events that touch
 * our table (family inet, table cfg->table) until that NEWGEN and then
 * judge the whole transaction:
 *
 *   - sent through our engine's socket (its port id), or by this process:
 *     ours (reload, membership delta, rollback, repair): never drift;
 *   - anything else that touched our table: drift.  It is logged as one
 *     line saying who changed what; with `on_drift: repair` the intended
 *     ruleset (running config + effective members, engine_apply as in a
 *     reload) is committed again after a short debounce, so a burst of
 *     foreign commits costs one repair; with `on_drift: warn` it is left.
 *
 * The port id is what identifies us: the process id in NEWGEN is the one
 * of the kernel's initial pid namespace, which is not getpid() when sgd
 * runs in a container; port ids are per network namespace and unique.
 *
 * ENOBUFS on the socket means events were lost: we cannot know what
 * happened, so we resynchronise — repair re-applies the intended ruleset,
 * warn compares a dump of the table with the fingerprint (driftfp.c) of
 * the last state we knew of and logs the differences.
 *
 * A repair that keeps being undone (another tool fighting us) backs off:
 * after DRIFT_FIGHT_REPAIRS repairs within DRIFT_FIGHT_WINDOW_MS, the next
 * one waits 1 s, then 2, 4 ... up to 60 s, logged at each step.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

#include "engine.h"
#include "render.h"
#include "sgd.h"

#define DRIFT_RCVBUF_DEFAULT	(16u << 20)
#define DRIFT_RCVBUF_MAX	(256u << 20)	/* growth cap after losses */
#define DRIFT_RECV_LEN		(1 << 17)
#define DRIFT_RECV_PER_WAKE	256	/* then back to epoll: others get a turn */
#define DRIFT_DEBOUNCE_MS	50
#define DRIFT_FIGHT_REPAIRS	10
#define DRIFT_FIGHT_WINDOW_MS	10000
#define DRIFT_BACKOFF_MIN_MS	1000
#define DRIFT_BACKOFF_MAX_MS	60000
#define DRIFT_MAX_ITEMS		32
#define DRIFT_SUMMARY_LEN	512

/* Newer kernels (6.3+) also have "destroy" (delete if present); older
 * uapi headers do not name them.  ABI values. */
enum {
	DRIFT_MSG_DESTROYTABLE = 26,
	DRIFT_MSG_DESTROYCHAIN,
	DRIFT_MSG_DESTROYRULE,
	DRIFT_MSG_DESTROYSET,
	DRIFT_MSG_DESTROYSETELEM,
	DRIFT_MSG_DESTROYOBJ,
	DRIFT_MSG_DESTROYFLOWTABLE,
};

enum drift_op { DRIFT_ADD, DRIFT_DEL, DRIFT_REPLACE };
enum drift_kind { DK_TABLE, DK_CHAIN, DK_RULE, DK_SET, DK_ELEM, DK_OBJ, DK_FLOWTABLE };

/* "added 3 rules to chain input": one line of a summary. */
struct drift_item {
	enum drift_op op;
	enum drift_kind kind;
	char name[64];		/* chain of a rule, set of an element, ... */
	unsigned long count;
	uint32_t flags;		/* table flags (dormant) */
};

/* The events of the transaction being received. */
struct drift_txn {
	bool open;		/* some event arrived since the last NEWGEN */
	bool ours_touched;	/* some of them concern our table */
	bool structural;	/* ... and not only set elements */
	bool table_deleted;
	struct drift_item v[DRIFT_MAX_ITEMS];
	size_t n;
	unsigned long more;	/* items that did not fit */
	long long first_ms;	/* when its first event arrived */
};

struct sgd_drift {
	struct sgd_watch ev;		/* the event socket */
	struct sgd_watch timer;		/* debounce / back-off */
	struct mnl_socket *nl;
	struct mnl_socket *dump;	/* driftfp dumps */
	uint32_t dump_seq;
	char *buf;
	size_t rcvbuf;
	bool rcvbuf_fixed;		/* --event-buffer given: never grown */
	char comm[16];			/* our process name, as NEWGEN has it */

	struct drift_txn txn;
	uint32_t last_gen;		/* generation of the last NEWGEN seen */
	bool have_gen;

	bool repair_pending;
	bool resync_pending;
	long long pending_since_ms;	/* first unrepaired change seen */
	long long not_before_ms;	/* back-off: no repair before */
	long long backoff_ms;
	long long repairs[DRIFT_FIGHT_REPAIRS];	/* ring of repair times */
	size_t n_repairs;

	struct drift_fp base;		/* last state we knew of */
	bool base_valid;
	bool base_dirty;		/* a known change since base was taken */

	/* for sgctl status */
	unsigned long detected, repaired, resyncs;
	time_t last, last_resync;
	long last_pid;
	char last_comm[16];
	char last_summary[DRIFT_SUMMARY_LEN];
	bool last_repaired;
	char last_result[160];
};

static const char *drift_kind_word(enum drift_kind k)
{
	static const char *const w[] = { "table", "chain", "rule", "set",
					 "element", "object", "flowtable" };

	return w[k];
}

static void drift_txn_reset(struct drift_txn *t)
{
	memset(t, 0, sizeof(*t));
}

static void drift_txn_add(struct drift_txn *t, enum drift_op op, enum drift_kind kind,
			  const char *name, unsigned long count, uint32_t flags)
{
	size_t i;

	if (!t->ours_touched)
		t->first_ms = loop_now_ms();
	t->ours_touched = true;
	if (kind != DK_ELEM)
		t->structural = true;
	if (kind == DK_TABLE && op == DRIFT_DEL)
		t->table_deleted = true;
	for (i = 0; i < t->n; i++)
		if (t->v[i].op == op && t->v[i].kind == kind &&
		    strcmp(t->v[i].name, name) == 0) {
			t->v[i].count += count;
			t->v[i].flags = flags;
			return;
		}
	if (t->n == DRIFT_MAX_ITEMS) {
		t->more++;
		return;
	}
	t->v[t->n] = (struct drift_item){ .op = op, .kind = kind, .count = count,
					  .flags = flags };
	snprintf(t->v[t->n].name, sizeof(t->v[t->n].name), "%s", name);
	t->n++;
}

/* Number of elements in a NEWSETELEM/DELSETELEM message. */
static unsigned long drift_count_elems(const struct nlattr *list)
{
	const struct nlattr *a;
	unsigned long n = 0;

	if (!list)
		return 0;
	mnl_attr_for_each_nested(a, list)
		n++;
	return n;
}

/* One object event: note it when it concerns our table. */
static void drift_on_object(struct sgd_drift *dr, const char *table,
			    const struct nlmsghdr *nlh, uint16_t msg)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[8];
	enum drift_op op = DRIFT_ADD;
	enum drift_kind kind;
	const char *tname, *name = NULL;
	unsigned long count = 1;
	uint32_t flags = 0;

	switch (msg) {
	case NFT_MSG_DELTABLE: case DRIFT_MSG_DESTROYTABLE:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWTABLE:
		kind = DK_TABLE;
		break;
	case NFT_MSG_DELCHAIN: case DRIFT_MSG_DESTROYCHAIN:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWCHAIN:
		kind = DK_CHAIN;
		break;
	case NFT_MSG_DELRULE: case DRIFT_MSG_DESTROYRULE:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWRULE:
		kind = DK_RULE;
		break;
	case NFT_MSG_DELSET: case DRIFT_MSG_DESTROYSET:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWSET:
		kind = DK_SET;
		break;
	case NFT_MSG_DELSETELEM: case DRIFT_MSG_DESTROYSETELEM:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWSETELEM:
		kind = DK_ELEM;
		break;
	case NFT_MSG_DELOBJ: case DRIFT_MSG_DESTROYOBJ:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWOBJ:
		kind = DK_OBJ;
		break;
	case NFT_MSG_DELFLOWTABLE: case DRIFT_MSG_DESTROYFLOWTABLE:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWFLOWTABLE:
		kind = DK_FLOWTABLE;
		break;
	default:
		return;		/* trace events and the like */
	}
	dr->txn.open = true;
	/* attribute 1 is the table name in every one of these objects */
	if (nfg->nfgen_family != NFPROTO_INET || driftfp_attrs(nlh, tb, 8) < 0)
		return;
	tname = driftfp_str(tb[1]);
	if (!tname || strcmp(tname, table) != 0)
		return;
	switch (kind) {
	case DK_TABLE:
		name = tname;
		if (tb[NFTA_TABLE_FLAGS] &&
		    mnl_attr_validate(tb[NFTA_TABLE_FLAGS], MNL_TYPE_U32) == 0)
			flags = ntohl(mnl_attr_get_u32(tb[NFTA_TABLE_FLAGS]));
		break;
	case DK_CHAIN:
		name = driftfp_str(tb[NFTA_CHAIN_NAME]);
		break;
	case DK_RULE:
		name = driftfp_str(tb[NFTA_RULE_CHAIN]);
		if (op == DRIFT_ADD && (nlh->nlmsg_flags & NLM_F_REPLACE))
			op = DRIFT_REPLACE;
		break;
	case DK_SET:
		name = driftfp_str(tb[NFTA_SET_NAME]);
		break;
	case DK_ELEM:
		name = driftfp_str(tb[NFTA_SET_ELEM_LIST_SET]);
		count = drift_count_elems(tb[NFTA_SET_ELEM_LIST_ELEMENTS]);
		break;
	case DK_OBJ:
		name = driftfp_str(tb[NFTA_OBJ_NAME]);
		break;
	case DK_FLOWTABLE:
		name = driftfp_str(tb[NFTA_FLOWTABLE_NAME]);
		break;
	}
	drift_txn_add(&dr->txn, op, kind, name ? name : "?", count, flags);
}

static void drift_put(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void drift_put(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}

static void drift_describe(const struct drift_item *it, const char *table,
			   char *buf, size_t len, size_t *used)
{
	const char *w = drift_kind_word(it->kind);
	const char *s = it->count == 1 ? "" : "s";

	switch (it->kind) {
	case DK_TABLE:
		if (it->op == DRIFT_DEL)
			drift_put(buf, len, used, "deleted table inet %s", table);
		else
			drift_put(buf, len, used, "created or updated table inet %s%s",
				  table, it->flags & NFT_TABLE_F_DORMANT ?
				  " (dormant: switched off)" : "");
		return;
	case DK_RULE:
	case DK_ELEM:
		drift_put(buf, len, used, "%s %lu %s%s %s %s %s",
			  it->op == DRIFT_DEL ? "deleted" :
			  it->op == DRIFT_REPLACE ? "replaced" : "added",
			  it->count, w, s,
			  it->op == DRIFT_DEL ? "from" : it->op == DRIFT_REPLACE ?
			  "in" : "to", it->kind == DK_RULE ? "chain" : "set", it->name);
		return;
	case DK_CHAIN:
		drift_put(buf, len, used, "%s chain %s", it->op == DRIFT_DEL ?
			  "deleted" : "added or changed", it->name);
		return;
	default:
		drift_put(buf, len, used, "%s %s %s", it->op == DRIFT_DEL ?
			  "deleted" : "added", w, it->name);
		return;
	}
}

/* What the transaction did to our table, in one line.  A deleted table
 * is said once, with what went with it, instead of object by object. */
static void drift_txn_summary(const struct drift_txn *t, const char *table,
			      char *buf, size_t len)
{
	unsigned long gone[DK_FLOWTABLE + 1] = { 0 };
	size_t used = 0, i;
	bool first = true;

	buf[0] = 0;
	if (t->table_deleted) {
		for (i = 0; i < t->n; i++)
			if (t->v[i].op == DRIFT_DEL)
				gone[t->v[i].kind] += t->v[i].kind == DK_SET ||
					t->v[i].kind == DK_CHAIN ? 1 : t->v[i].count;
		drift_put(buf, len, &used, "deleted table inet %s (with %lu chains, "
			  "%lu rules, %lu sets)", table, gone[DK_CHAIN],
			  gone[DK_RULE], gone[DK_SET]);
		first = false;
	}
	for (i = 0; i < t->n; i++) {
		if (t->table_deleted && t->v[i].op == DRIFT_DEL)
			continue;
		if (!first)
			drift_put(buf, len, &used, ", ");
		first = false;
		drift_describe(&t->v[i], table, buf, len, &used);
	}
	if (t->more)
		drift_put(buf, len, &used, ", and %lu more changes", t->more);
}

static void drift_arm(struct sgd *d, long long ms)
{
	int r = loop_timer_set_ms(d->drift->timer.fd, ms < 1 ? 1 : ms, false);

	if (r < 0)
		sgd_log(d, "drift: cannot arm the repair timer: %s", strerror(-r));
}

/* A repair or resync is wanted: once, after the debounce (or the back-off
 * of a fight), however many changes arrive meanwhile. */
static void drift_schedule(struct sgd *d, long long seen_ms)
{
	struct sgd_drift *dr = d->drift;
	long long now = loop_now_ms(), at = seen_ms + DRIFT_DEBOUNCE_MS;

	if (dr->repair_pending || dr->resync_pending)
		return;		/* already armed for the first change */
	dr->pending_since_ms = seen_ms;
	if (at < dr->not_before_ms)
		at = dr->not_before_ms;
	drift_arm(d, at - now);
}

static bool drift_repairing(const struct sgd *d)
{
	return d->cfg && d->cfg->on_drift == SG_DRIFT_REPAIR;
}

/* A foreign transaction changed our table. */
static void drift_report(struct sgd *d, long pid, const char *comm)
{
	struct sgd_drift *dr = d->drift;
	const char *table = d->cfg->table;

	drift_txn_summary(&dr->txn, table, dr->last_summary, sizeof(dr->last_summary));
	dr->detected++;
	dr->last = time(NULL);
	dr->last_pid = pid;
	snprintf(dr->last_comm, sizeof(dr->last_comm), "%s", comm);
	dr->last_repaired = false;
	if (!drift_repairing(d)) {
		snprintf(dr->last_result, sizeof(dr->last_result),
			 "left in place (on_drift: warn)");
		sgd_log(d, "drift: pid %ld (%s) %s; left in place (on_drift: warn)",
			pid, comm, dr->last_summary);
		dr->base_dirty = true;	/* reported: the new state is known */
		return;
	}
	snprintf(dr->last_result, sizeof(dr->last_result), "repair pending");
	sgd_log(d, "drift: pid %ld (%s) %s; restoring the intended ruleset",
		pid, comm, dr->last_summary);
	drift_schedule(d, dr->txn.first_ms);
	dr->repair_pending = true;
}

static void drift_on_newgen(struct sgd *d, const struct nlmsghdr *nlh)
{
	struct sgd_drift *dr = d->drift;
	const struct nlattr *tb[NFTA_GEN_MAX + 1];
	const char *comm = "?";
	long pid = 0;
	bool ours;

	if (driftfp_attrs(nlh, tb, NFTA_GEN_MAX + 1) == 0) {
		if (tb[NFTA_GEN_ID] && mnl_attr_validate(tb[NFTA_GEN_ID], MNL_TYPE_U32) == 0) {
			dr->last_gen = ntohl(mnl_attr_get_u32(tb[NFTA_GEN_ID]));
			dr->have_gen = true;
		}
		if (tb[NFTA_GEN_PROC_PID] &&
		    mnl_attr_validate(tb[NFTA_GEN_PROC_PID], MNL_TYPE_U32) == 0)
			pid = (long)ntohl(mnl_attr_get_u32(tb[NFTA_GEN_PROC_PID]));
		if (driftfp_str(tb[NFTA_GEN_PROC_NAME]))
			comm = driftfp_str(tb[NFTA_GEN_PROC_NAME]);
	}
	/* our engine's socket; or this process on another socket of ours
	 * (the pid alone is not proof: see the top of the file) */
	ours = (d->eng && nlh->nlmsg_pid == engine_portid(d->eng)) ||
	       (pid == (long)getpid() && strcmp(comm, dr->comm) == 0);
	if (dr->txn.ours_touched) {
		if (ours) {
			if (dr->txn.structural)
				dr->base_dirty = true;
		} else if (d->cfg) {
			drift_report(d, pid, comm);
		}
	}
	drift_txn_reset(&dr->txn);
}

/* Events were lost.  Whatever was half received is meaningless now. */
static void drift_on_overrun(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;
	size_t want = dr->rcvbuf * 2;

	drift_txn_reset(&dr->txn);
	dr->resyncs++;
	dr->last_resync = time(NULL);
	sgd_log(d, "drift: nftables events were lost (the %zu-byte event buffer "
		"overflowed); resynchronising table inet %s", dr->rcvbuf,
		d->cfg ? d->cfg->table : "?");
	/* our own big commits fill the buffer while we are busy sending
	 * them; a default-sized buffer grows so that does not recur */
	if (!dr->rcvbuf_fixed && want <= DRIFT_RCVBUF_MAX) {
		int v = (int)want;

		if (setsockopt(dr->ev.fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) == 0) {
			dr->rcvbuf = want;
			sgd_log(d, "drift: event buffer raised to %zu bytes", want);
		}
	}
	if (!dr->resync_pending)
		drift_schedule(d, loop_now_ms());
	dr->resync_pending = true;
}

/* Take the fingerprint of the state every event so far led to. */
static void drift_refresh_base(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;
	struct drift_fp fp;
	int r;

	r = driftfp_take(dr->dump, &dr->dump_seq, d->cfg->table, &fp);
	if (r < 0) {
		sgd_debug(d, "drift: reading table inet %s: %s", d->cfg->table,
			  strerror(-r));
		return;
	}
	/* a later commit already happened: its events are still to come,
	 * and the fingerprint is taken again after them */
	if (dr->have_gen && fp.genid != dr->last_gen) {
		driftfp_free(&fp);
		return;
	}
	driftfp_free(&dr->base);
	dr->base = fp;
	dr->base_valid = true;
	dr->base_dirty = false;
}

static void drift_on_event(struct sgd *d, struct sgd_watch *w, uint32_t events)
{
	struct sgd_drift *dr = d->drift;
	int i;

	(void)events;
	for (i = 0; i < DRIFT_RECV_PER_WAKE; i++) {
		ssize_t n = recv(w->fd, dr->buf, DRIFT_RECV_LEN, MSG_DONTWAIT | MSG_TRUNC);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)dr->buf;
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				drift_on_overrun(d);
				continue;
			}
			if (errno != EAGAIN)
				sgd_log(d, "drift: reading nftables events: %s",
					strerror(errno));
			break;
		}
		if (n > DRIFT_RECV_LEN) {
			/* an event larger than our buffer: it is lost */
			drift_on_overrun(d);
			continue;
		}
		for (len = (int)n; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			uint16_t msg = NFNL_MSG_TYPE(nlh->nlmsg_type);

			if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
				continue;
			if (msg == NFT_MSG_NEWGEN)
				drift_on_newgen(d, nlh);
			else if (d->cfg)
				drift_on_object(dr, d->cfg->table, nlh, msg);
		}
	}
	/* Quiet now: every transaction seen is complete. */
	if (i < DRIFT_RECV_PER_WAKE && dr->base_dirty && !dr->txn.open &&
	    !dr->repair_pending && !dr->resync_pending && d->cfg)
		drift_refresh_base(d);
}

/* Remember a repair; enter or leave the back-off of a fight. */
static void drift_note_repair(struct sgd *d, long long now)
{
	struct sgd_drift *dr = d->drift;
	size_t slot = dr->n_repairs % DRIFT_FIGHT_REPAIRS;
	long long oldest = dr->repairs[slot];	/* N repairs ago */

	dr->repairs[slot] = now;
	dr->n_repairs++;
	if (dr->n_repairs > DRIFT_FIGHT_REPAIRS && now - oldest < DRIFT_FIGHT_WINDOW_MS) {
		dr->backoff_ms = dr->backoff_ms ? dr->backoff_ms * 2 : DRIFT_BACKOFF_MIN_MS;
		if (dr->backoff_ms > DRIFT_BACKOFF_MAX_MS)
			dr->backoff_ms = DRIFT_BACKOFF_MAX_MS;
		dr->not_before_ms = now + dr->backoff_ms;
		sgd_log(d, "drift: table inet %s was changed again and again "
			"(%d repairs within %d s, last by pid %ld (%s)); the next "
			"repair waits %lld s", d->cfg->table, DRIFT_FIGHT_REPAIRS + 1,
			DRIFT_FIGHT_WINDOW_MS / 1000, dr->last_pid, dr->last_comm,
			dr->backoff_ms / 1000);
	} else if (dr->backoff_ms) {
		dr->backoff_ms = 0;
		dr->not_before_ms = 0;
		sgd_log(d, "drift: repairs hold again; back-off ended");
	}
}

static void drift_repair(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;
	bool resync = dr->resync_pending;
	long long t0 = loop_now_ms(), now;
	struct sg_diags dg;
	int r;

	diags_init(&dg);
	r = engine_apply(d->eng, d->cfg, &d->members, &dg);
	now = loop_now_ms();
	if (r < 0) {
		sgd_log_diags(d, "drift: repair failed", &dg);
		if (!dg.n)
			sgd_log(d, "drift: repair failed: %s", strerror(-r));
		snprintf(dr->last_result, sizeof(dr->last_result), "repair failed: %s",
			 dg.n ? dg.v[0].msg : strerror(-r));
		diags_free(&dg);
		/* try again, through the back-off so a refusal cannot spin */
		drift_note_repair(d, now);
		if (dr->not_before_ms < now + DRIFT_BACKOFF_MIN_MS)
			dr->not_before_ms = now + DRIFT_BACKOFF_MIN_MS;
		drift_arm(d, dr->not_before_ms - now);
		return;
	}
	diags_free(&dg);
	if (dr->repair_pending) {
		dr->repaired++;
		dr->last_repaired = true;
		snprintf(dr->last_result, sizeof(dr->last_result),
			 "repaired %lld ms after the change was seen",
			 now - dr->pending_since_ms);
	}
	if (resync)
		sgd_log(d, "drift: resync: the intended ruleset of table inet %s "
			"was committed again (%lld ms)", d->cfg->table, now - t0);
	else
		sgd_log(d, "drift: table inet %s restored %lld ms after the change "
			"was seen (commit %lld ms)", d->cfg->table,
			now - dr->pending_since_ms, now - t0);
	dr->repair_pending = dr->resync_pending = false;
	drift_note_repair(d, now);
}

/* warn mode after lost events: say what changed unseen, keep it. */
static void drift_resync_compare(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;
	char diff[DRIFT_SUMMARY_LEN];
	struct drift_fp fp;
	size_t n;
	int r;

	dr->resync_pending = false;
	r = driftfp_take(dr->dump, &dr->dump_seq, d->cfg->table, &fp);
	if (r < 0) {
		sgd_log(d, "drift: resync: cannot read table inet %s: %s",
			d->cfg->table, strerror(-r));
		return;
	}
	if (!dr->base_valid) {
		sgd_log(d, "drift: resync: no earlier state of table inet %s to "
			"compare with; its current state is the reference now",
			d->cfg->table);
	} else if ((n = driftfp_compare(&dr->base, &fp, diff, sizeof(diff))) == 0) {
		sgd_log(d, "drift: resync: table inet %s is as sgd last saw it",
			d->cfg->table);
	} else {
		sgd_log(d, "drift: resync: table inet %s changed while events were "
			"lost (%zu differences): %s; left in place (on_drift: warn)",
			d->cfg->table, n, diff);
		dr->detected++;
		dr->last = time(NULL);
		dr->last_pid = 0;
		snprintf(dr->last_comm, sizeof(dr->last_comm), "?");
		snprintf(dr->last_summary, sizeof(dr->last_summary), "%s", diff);
		dr->last_repaired = false;
		snprintf(dr->last_result, sizeof(dr->last_result),
			 "left in place (on_drift: warn); found by a resync after "
			 "lost events");
	}
	driftfp_free(&dr->base);
	dr->base = fp;
	dr->base_valid = true;
	dr->base_dirty = false;
}

static void drift_on_timer(struct sgd *d, struct sgd_watch *w, uint32_t events)
{
	struct sgd_drift *dr = d->drift;
	uint64_t ticks;
	long long now = loop_now_ms();

	(void)events;
	/* Nothing to read is fine: the timer may have been re-armed. */
	(void)!read(w->fd, &ticks, sizeof(ticks));
	if (!d->cfg || !d->eng || (!dr->repair_pending && !dr->resync_pending))
		return;
	if (!drift_repairing(d)) {
		/* on_drift became warn by a reload meanwhile */
		dr->repair_pending = false;
		if (dr->resync_pending)
			drift_resync_compare(d);
		return;
	}
	if (dr->not_before_ms > now) {
		drift_arm(d, dr->not_before_ms - now);
		return;
	}
	drift_repair(d);
}

static int drift_socket(struct sgd *d, struct sgd_drift *dr)
{
	int fd, v, r;

	dr->nl = mnl_socket_open(NETLINK_NETFILTER);
	dr->dump = mnl_socket_open(NETLINK_NETFILTER);
	if (!dr->nl || !dr->dump)
		return -errno;
	if (mnl_socket_bind(dr->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(dr->dump, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	fd = mnl_socket_get_fd(dr->nl);
	v = NFNLGRP_NFTABLES;
	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &v, sizeof(v)) < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	/* FORCE: past rmem_max; we run with CAP_NET_ADMIN */
	v = (int)dr->rcvbuf;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) < 0) {
		r = -errno;
		sgd_log(d, "drift: cannot size the event buffer to %zu bytes: %s",
			dr->rcvbuf, strerror(-r));
	}
	return 0;
}

int drift_open(struct sgd *d)
{
	struct sgd_drift *dr = calloc(1, sizeof(*dr));
	FILE *f;
	int r;

	if (!dr)
		return -ENOMEM;
	d->drift = dr;
	dr->ev.fd = dr->timer.fd = -1;
	dr->rcvbuf = d->opt.event_buffer ? d->opt.event_buffer : DRIFT_RCVBUF_DEFAULT;
	dr->rcvbuf_fixed = d->opt.event_buffer != 0;
	dr->dump_seq = (uint32_t)time(NULL);
	f = fopen("/proc/self/comm", "re");
	if (!f || !fgets(dr->comm, sizeof(dr->comm), f))
		snprintf(dr->comm, sizeof(dr->comm), "sgd");
	if (f)
		fclose(f);
	dr->comm[strcspn(dr->comm, "\n")] = 0;
	dr->buf = malloc(DRIFT_RECV_LEN);
	r = dr->buf ? drift_socket(d, dr) : -ENOMEM;
	if (r < 0)
		goto fail;
	dr->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (dr->timer.fd < 0) {
		r = -errno;
		goto fail;
	}
	dr->ev.fd = mnl_socket_get_fd(dr->nl);
	dr->ev.fn = drift_on_event;
	dr->timer.fn = drift_on_timer;
	r = loop_add(d, &dr->ev, EPOLLIN);
	if (r == 0)
		r = loop_add(d, &dr->timer, EPOLLIN);
	if (r < 0)
		goto fail;
	/* the state the first commit left is the first reference */
	if (d->cfg)
		drift_refresh_base(d);
	sgd_debug(d, "drift: watching table inet %s (event buffer %zu bytes, "
		  "on_drift: %s)", d->cfg ? d->cfg->table : "?", dr->rcvbuf,
		  drift_repairing(d) ? "repair" : "warn");
	return 0;
fail:
	sgd_log(d, "drift: cannot watch for changes by others: %s", strerror(-r));
	drift_close(d);
	return r;
}

void drift_close(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;

	if (!dr)
		return;
	if (dr->ev.fd >= 0)
		loop_del(d, &dr->ev);
	if (dr->timer.fd >= 0) {
		loop_del(d, &dr->timer);
		close(dr->timer.fd);
	}
	if (dr->nl)
		mnl_socket_close(dr->nl);
	if (dr->dump)
		mnl_socket_close(dr->dump);
	driftfp_free(&dr->base);
	free(dr->buf);
	free(dr);
	d->drift = NULL;
}

void drift_status(const struct sgd *d, struct sg_status *st)
{
	const struct sgd_drift *dr = d->drift;

	st->drift_watching = dr != NULL;
	if (!dr)
		return;
	st->drift_detected = dr->detected;
	st->drift_repaired = dr->repaired;
	st->drift_resyncs = dr->resyncs;
	st->last_resync = dr->last_resync;
	st->last_drift = dr->last;
	if (!dr->last)
		return;
	st->last_drift_pid = dr->last_pid;
	st->last_drift_process = dr->last_comm;
	st->last_drift_summary = dr->last_summary;
	st->last_drift_repaired = dr->last_repaired;
	st->last_drift_result = dr->last_result;
}
