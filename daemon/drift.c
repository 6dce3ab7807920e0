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
 * A socket filter on that port id keeps our own events out of the
 * buffer altogether.
 *
 * ENOBUFS on the socket means events were lost: we cannot know what
 * happened, so we resynchronise — repair re-applies the intended ruleset,
 * warn compares a dump of the table with the fingerprint (driftfp.c)
 * taken after our last commit (or the last change reported) and logs the
 * differences.
 *
 * A repair that keeps being undone (another tool fighting us) backs off:
 * after DRIFT_FIGHT_REPAIRS repairs within DRIFT_FIGHT_WINDOW_MS, the next
 * one waits 1 s, then 2, 4 ... up to 60 s, logged at each step.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

#include "engine.h"
#include "render.h"
#include "clock.h"
#include "sgd.h"

#define DRIFT_RCVBUF_DEFAULT	(16u << 20)
#define DRIFT_RCVBUF_MAX	(256u << 20)	/* growth cap after losses */
#define DRIFT_RECV_LEN		(1 << 17)
#define DRIFT_RECV_PER_WAKE	256	/* then back to epoll: others get a turn */
#define DRIFT_DEBOUNCE_MS	50
#define DRIFT_FIGHT_REPAIRS	10
#define DRIFT_FIGHT_WINDOW_MS	5000
#define DRIFT_BACKOFF_MIN_MS	1000
#define DRIFT_BACKOFF_MAX_MS	60000
#define DRIFT_SUMMARY_LEN	512

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
	bool lossy;			/* events lost; until the queue is empty
					 * we cannot tell which belong together */
	uint32_t filter_portid;		/* our events are dropped by the kernel */
	bool filtered;

	bool repair_pending;
	bool resync_pending;
	long long pending_since_ms;	/* first unrepaired change seen */
	long long not_before_ms;	/* back-off: no repair before */
	long long backoff_ms;
	long long repairs[DRIFT_FIGHT_REPAIRS];	/* ring of repair times */
	size_t n_repairs;
	unsigned long quiet;		/* changes not logged during a back-off */

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

	/* drift_pause: out of the event group since generation pause_gen,
	 * when pause_eng had made pause_commits transactions */
	bool paused;
	const struct sg_engine *pause_eng;
	uint32_t pause_gen;
	unsigned long pause_commits;
};

static void drift_arm(struct sgd *d, long long ms)
{
	int r = watch_timer_set_ms(d->drift->timer.fd, ms < 1 ? 1 : ms, false);

	if (r < 0)
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: "
			"cannot arm the repair timer: %s", strerror(-r));
}

/* A repair or resync is wanted: once, after the debounce (or the back-off
 * of a fight), however many changes arrive meanwhile. */
static void drift_schedule(struct sgd *d, long long seen_ms)
{
	struct sgd_drift *dr = d->drift;
	long long now = clock_now_ms(), at = seen_ms + DRIFT_DEBOUNCE_MS;

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

	drifttxn_summary(&dr->txn, table, dr->last_summary, sizeof(dr->last_summary));
	/* the engine must not send deltas against its last commit: that is
	 * not what the kernel holds now */
	if (d->eng)
		engine_invalidate(d->eng);
	dr->detected++;
	dr->last = time(NULL);
	dr->last_pid = pid;
	snprintf(dr->last_comm, sizeof(dr->last_comm), "%s", comm);
	dr->last_repaired = false;
	if (!drift_repairing(d)) {
		snprintf(dr->last_result, sizeof(dr->last_result),
			 "left in place (on_drift: warn)");
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: pid "
			"%ld (%s) %s; left in place (on_drift: warn)", pid,
			comm, dr->last_summary);
		dr->base_dirty = true;	/* reported: the new state is known */
		return;
	}
	snprintf(dr->last_result, sizeof(dr->last_result), "repair pending");
	/* a tool fighting us must not flood the log: during a back-off,
	 * changes are counted and summed up at the next repair */
	if (dr->backoff_ms && dr->repair_pending)
		dr->quiet++;
	else
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: pid "
			"%ld (%s) %s; restoring the intended ruleset", pid,
			comm, dr->last_summary);
	drift_schedule(d, dr->txn.first_ms);
	dr->repair_pending = true;
}

static void drift_on_newgen(struct sgd *d, const struct nlmsghdr *nlh)
{
	struct sgd_drift *dr = d->drift;
	const char *comm;
	long pid;
	bool ours;

	if (dr->lossy) {
		/* its first events may have been the ones lost */
		drifttxn_reset(&dr->txn);
		return;
	}
	drifttxn_newgen(nlh, &pid, &comm);
	/* our engine's socket (when the kernel filter is not in place);
	 * or this process on another socket of ours (the pid alone is not
	 * proof: see the top of the file) */
	ours = (d->eng && nlh->nlmsg_pid == engine_portid(d->eng)) ||
	       (pid == (long)getpid() && strcmp(comm, dr->comm) == 0);
	if (dr->txn.touches_table && !ours && d->cfg)
		drift_report(d, pid, comm);
	drifttxn_reset(&dr->txn);
}

/* What is in the kernel may differ from what the events told us:
 * resynchronise (repair re-applies, warn compares a fingerprint). */
static void drift_resync(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;

	if (d->eng)
		engine_invalidate(d->eng);
	dr->resyncs++;
	dr->last_resync = time(NULL);
	if (!dr->resync_pending)
		drift_schedule(d, clock_now_ms());
	dr->resync_pending = true;
}

/* Events were lost.  The kernel says so before handing out what was
 * queued before the loss, so what follows up to the empty queue may
 * straddle the gap: it is ignored, the resync covers it. */
static void drift_on_overrun(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;
	size_t want = dr->rcvbuf * 2;

	drifttxn_reset(&dr->txn);
	dr->lossy = true;
	sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: nftables "
		"events were lost (the %zu-byte event buffer overflowed); "
		"resynchronising table inet %s", dr->rcvbuf,
		d->cfg ? d->cfg->table : "?");
	/* a burst of others' events (a big ruleset loaded by another
	 * tool) filled it: a default-sized buffer grows for the next one */
	if (!dr->rcvbuf_fixed && want <= DRIFT_RCVBUF_MAX) {
		int v = (int)want;

		if (setsockopt(dr->ev.fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) == 0) {
			dr->rcvbuf = want;
			sgd_log_event(d, LOG_NOTICE, SGD_EV_DRIFT, NULL,
				"drift: event buffer raised to %zu bytes",
				want);
		}
	}
	drift_resync(d);
}

/* Take the fingerprint of the table as it is now: after one of our
 * commits, or after a change in warn mode was reported. */
static void drift_refresh_base(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;
	struct drift_fp fp;
	int r;

	r = driftfp_take(dr->dump, &dr->dump_seq, d->cfg->table, &fp);
	if (r < 0) {
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: "
			"reading table inet %s: %s", d->cfg->table,
			strerror(-r));
		dr->base_dirty = true;	/* try again when the events settle */
		return;
	}
	driftfp_free(&dr->base);
	dr->base = fp;
	dr->base_valid = true;
	dr->base_dirty = false;
}

/* Attach to fd a socket filter that drops every message buffer whose
 * netlink header carries portid.  0 or -errno. */
static int drift_attach_filter(int fd, uint32_t portid)
{
	/* ld nlmsg_pid; jeq portid ? drop : keep.  Classic BPF loads are
	 * big-endian and the header is in host order, hence ntohl. */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_pid)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(portid), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
	};
	struct sock_fprog prog = {
		.len = sizeof(code) / sizeof(code[0]),
		.filter = code,
	};

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

/* Have the kernel drop our own events before they reach the event
 * socket: they are never drift, and a big commit of ours (whose events
 * pile up while we are busy sending it) must not fill the buffer and
 * pass for lost events.  The events of one commit come in message
 * buffers of their own, all with the committing socket's port id.
 * Without the filter, drift_on_newgen still knows our port id; only the
 * buffer is not spared. */
static void drift_filter_self(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;
	uint32_t portid;
	int r;

	if (!d->eng)
		return;
	portid = engine_portid(d->eng);
	if (dr->filtered && dr->filter_portid == portid)
		return;
	r = drift_attach_filter(dr->ev.fd, portid);
	dr->filtered = r == 0;
	dr->filter_portid = portid;
	if (r < 0)
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: "
			"cannot filter out our own events: %s", strerror(-r));
}

static int drift_membership(struct sgd_drift *dr, int opt)
{
	int v = NFNLGRP_NFTABLES;

	return setsockopt(dr->ev.fd, SOL_NETLINK, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

void drift_pause(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;
	uint32_t gen;

	if (!dr || dr->paused || !d->eng || engine_genid(d->eng, &gen) < 0)
		return;		/* then the events are simply filtered */
	if (drift_membership(dr, NETLINK_DROP_MEMBERSHIP) < 0)
		return;
	dr->paused = true;
	dr->pause_eng = d->eng;
	dr->pause_gen = gen;
	dr->pause_commits = engine_commits(d->eng);
}

void drift_resume(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;
	unsigned long ours;
	uint32_t gen;
	int r;

	if (!dr || !dr->paused)
		return;
	dr->paused = false;
	r = drift_membership(dr, NETLINK_ADD_MEMBERSHIP);
	if (r < 0) {
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: "
			"cannot watch nftables events again: %s", strerror(-r));
		return;
	}
	/* joined first, then the generation: a commit by someone else
	 * after the join is both seen and counted (a resync too many, never
	 * one too few) */
	if (d->eng == dr->pause_eng && engine_genid(d->eng, &gen) == 0) {
		ours = engine_commits(d->eng) - dr->pause_commits;
		if (gen == dr->pause_gen + (uint32_t)ours)
			return;		/* every generation in between is ours */
	}
	sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: another "
		"process changed nftables while sgd was committing; "
		"resynchronising table inet %s", d->cfg ? d->cfg->table : "?");
	drift_resync(d);
}

void drift_committed(struct sgd *d)
{
	if (!d->drift || !d->cfg)
		return;
	drift_filter_self(d);
	drift_refresh_base(d);
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
				sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT,
					NULL, "drift: reading nftables events: "
					"%s", strerror(errno));
			else if (dr->lossy) {
				/* from here on, events are whole again */
				dr->lossy = false;
				drifttxn_reset(&dr->txn);
			}
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
			else if (d->cfg && !dr->lossy)
				drifttxn_on_object(&dr->txn, d->cfg->table, nlh, msg);
		}
	}
	/* Quiet now: the change reported in warn mode is complete. */
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
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: "
			"table inet %s was changed again and again (%d repairs "
			"within %d s, last by pid %ld (%s)); the next repair "
			"waits %lld s", d->cfg->table, DRIFT_FIGHT_REPAIRS + 1,
			DRIFT_FIGHT_WINDOW_MS / 1000, dr->last_pid,
			dr->last_comm, dr->backoff_ms / 1000);
	} else if (dr->backoff_ms) {
		dr->backoff_ms = 0;
		dr->not_before_ms = 0;
		sgd_log_event(d, LOG_NOTICE, SGD_EV_DRIFT, NULL, "drift: "
			"repairs hold again; back-off ended");
	}
}

static void drift_repair(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;
	bool resync = dr->resync_pending;
	long long t0 = clock_now_ms(), now;
	struct sg_diags dg;
	int r;

	diags_init(&dg);
	r = engine_apply(d->eng, d->cfg, &d->members, &dg);
	now = clock_now_ms();
	if (r < 0) {
		sgd_log_diags(d, LOG_WARNING, SGD_EV_DRIFT, "drift: repair failed",
			      &dg);
		if (!dg.n)
			sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL,
				"drift: repair failed: %s", strerror(-r));
		snprintf(dr->last_result, sizeof(dr->last_result), "repair failed: %s",
			 dg.n ? dg.v[0].msg : strerror(-r));
		diags_free(&dg);
		/* try again later, waiting longer each time, so that a
		 * kernel that keeps refusing cannot make us spin */
		dr->backoff_ms = dr->backoff_ms ? dr->backoff_ms * 2 : DRIFT_BACKOFF_MIN_MS;
		if (dr->backoff_ms > DRIFT_BACKOFF_MAX_MS)
			dr->backoff_ms = DRIFT_BACKOFF_MAX_MS;
		dr->not_before_ms = now + dr->backoff_ms;
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: next "
			"repair attempt in %lld s", dr->backoff_ms / 1000);
		drift_arm(d, dr->backoff_ms);
		return;
	}
	diags_free(&dg);
	if (dr->quiet) {
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: %lu "
			"more changes by others during the back-off, the last "
			"by pid %ld (%s): %s", dr->quiet, dr->last_pid,
			dr->last_comm, dr->last_summary);
		dr->quiet = 0;
	}
	if (dr->repair_pending) {
		dr->repaired++;
		dr->last_repaired = true;
		snprintf(dr->last_result, sizeof(dr->last_result),
			 "repaired %lld ms after the change was seen",
			 now - dr->pending_since_ms);
	}
	if (resync)
		sgd_log_event(d, LOG_NOTICE, SGD_EV_DRIFT, NULL, "drift: "
			"resync: the intended ruleset of table inet %s was "
			"committed again (%lld ms)", d->cfg->table, now - t0);
	else
		sgd_log_event(d, LOG_NOTICE, SGD_EV_DRIFT, NULL, "drift: table "
			"inet %s restored %lld ms after the change was seen "
			"(commit %lld ms)", d->cfg->table,
			now - dr->pending_since_ms, now - t0);
	dr->repair_pending = dr->resync_pending = false;
	drift_note_repair(d, now);
	drift_committed(d);
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
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: "
			"resync: cannot read table inet %s: %s", d->cfg->table,
			strerror(-r));
		return;
	}
	if (!dr->base_valid) {
		sgd_log_event(d, LOG_NOTICE, SGD_EV_DRIFT, NULL, "drift: "
			"resync: no earlier state of table inet %s to compare "
			"with; its current state is the reference now",
			d->cfg->table);
	} else if ((n = driftfp_compare(&dr->base, &fp, diff, sizeof(diff))) == 0) {
		sgd_log_event(d, LOG_INFO, SGD_EV_DRIFT, NULL, "drift: resync: "
			"table inet %s is as sgd last saw it", d->cfg->table);
	} else {
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: "
			"resync: table inet %s changed while events were lost "
			"(%zu difference%s): %s; left in place (on_drift: warn)",
			d->cfg->table, n, n == 1 ? "" : "s", diff);
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
	long long now = clock_now_ms();

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
		sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: "
			"cannot size the event buffer to %zu bytes: %s",
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
	r = watch_add(d, &dr->ev, EPOLLIN);
	if (r == 0)
		r = watch_add(d, &dr->timer, EPOLLIN);
	if (r < 0)
		goto fail;
	/* the state the first commit left is the first reference */
	drift_committed(d);
	sgd_debug(d, "drift: watching table inet %s (event buffer %zu bytes, "
		  "on_drift: %s)", d->cfg ? d->cfg->table : "?", dr->rcvbuf,
		  drift_repairing(d) ? "repair" : "warn");
	return 0;
fail:
	sgd_log_event(d, LOG_WARNING, SGD_EV_DRIFT, NULL, "drift: cannot watch "
		"for changes by others: %s", strerror(-r));
	drift_close(d);
	return r;
}

void drift_close(struct sgd *d)
{
	struct sgd_drift *dr = d->drift;

	if (!dr)
		return;
	if (dr->ev.fd >= 0)
		watch_del(d, &dr->ev);
	if (dr->timer.fd >= 0) {
		watch_del(d, &dr->timer);
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
