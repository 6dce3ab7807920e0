/*
 * confirm.c — `apply --confirm SECONDS` and `confirm`: commit a new
 * configuration on probation and roll back to the previous one when the
 * deadline passes unconfirmed.
 *
 * Everything needed to roll back is on disk before the new rules reach
 * the kernel: STATE/previous/ (the files of the configuration that was
 * running) and STATE/confirm (the wall-clock deadline and the new
 * configuration's hash).  So the rollback also happens when the sgctl
 * that asked is gone (it is a timer of the daemon, not of the client),
 * and across a daemon restart or crash: at start an expired deadline
 * rolls back at once, a running one is re-armed.
 *
 * After a rollback STATE/rejected holds the rejected configuration's
 * hash: while CONFDIR still holds exactly those files, a restart runs
 * the previous configuration (STATE/running/) and a reload refuses
 * (unless --force), and status says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "out.h"
#include "render_fmt.h"
#include "sgd.h"

#define SGD_CONFIRM_MAX	86400
#define SGD_ROLLBACK_RETRY_MS	10000

static long long realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Arm for the absolute wall-clock time when_ms (0 disarms). */
static int confirm_arm(struct sgd *d, long long when_ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = when_ms / 1000;
	its.it_value.tv_nsec = (when_ms % 1000) * 1000000;
	if (timerfd_settime(d->confirm_timer.fd, when_ms ? TFD_TIMER_ABSTIME : 0,
			    &its, NULL) < 0)
		return -errno;
	return 0;
}

static void confirm_set_deadline(struct sgd *d, long long when_ms)
{
	d->confirm_deadline_ms = when_ms;
	d->confirm_deadline = (time_t)((when_ms + 999) / 1000);
}

static void set_notice(struct sgd *d, char *msg)
{
	free(d->notice);
	d->notice = msg;
	if (msg)
		sgd_log_event(d, LOG_WARNING, SGD_EV_ROLLBACK, NULL, "%s", msg);
}

static void confirm_clear(struct sgd *d)
{
	char path[4096];

	unlink(state_path(d, SGD_STATE_CONFIRM, path, sizeof(path)));
	(void)snapshot_remove(state_path(d, SGD_STATE_PREVIOUS, path,
					    sizeof(path)));
	(void)state_fsync_dir(d->opt.state_dir);
	confirm_set_deadline(d, 0);
	(void)confirm_arm(d, 0);
}

/* Commit the files in STATE/<name>/ (a snapshot) as the running config. */
static int commit_snapshot(struct sgd *d, const char *name)
{
	struct sgd_loaded l = { 0 };
	struct sg_diags dg;
	char path[4096];
	int r;

	state_path(d, name, path, sizeof(path));
	diags_init(&dg);
	r = reload_load(d, path, &l, &dg);
	if (r == 0)
		r = reload_commit(d, &l, &dg);
	if (r < 0) {
		sgd_log_diags(d, LOG_WARNING, SGD_EV_ROLLBACK, path, &dg);
		sgd_log_event(d, LOG_WARNING, SGD_EV_ROLLBACK, NULL, "cannot "
			"commit the configuration kept in %s: %s", path,
			strerror(-r));
	}
	reload_loaded_free(&l);
	diags_free(&dg);
	return r;
}

/* rejected_hash: the configuration being rolled back. */
static int rollback_to_previous(struct sgd *d, const char *rejected_hash)
{
	char when[64], *msg = NULL;
	int r;

	r = commit_snapshot(d, SGD_STATE_PREVIOUS);
	if (r < 0)
		return r;
	r = snapshot_mark_write(d, SGD_STATE_REJECTED, realtime_ms(), rejected_hash);
	if (r < 0)
		sgd_log(d, LOG_WARNING, "could not write the rejected-config "
			"marker: %s", strerror(-r));
	confirm_clear(d);
	fmt_time(time(NULL), when, sizeof(when));
	if (asprintf(&msg, "apply --confirm was not confirmed in time: rolled "
		     "back to the previous configuration at %s; %s still holds "
		     "the rejected configuration, which sgd will not apply "
		     "again until it changes (or 'reload --force')", when,
		     d->opt.confdir) < 0)
		msg = NULL;
	set_notice(d, msg);
	notify_send(d, "STATUS=rolled back: apply --confirm not confirmed");
	return 0;
}

int confirm_rollback(struct sgd *d)
{
	struct snapshot_mark cf;
	int r;

	r = snapshot_mark_read(d, SGD_STATE_CONFIRM, &cf);
	if (r < 0)
		memcpy(cf.hash, d->cfg_hash, sizeof(cf.hash));
	r = rollback_to_previous(d, cf.hash);
	if (r < 0) {
		/* Keep the deadline pending and try again: the rules under
		 * probation are still the ones in force. */
		sgd_log_event(d, LOG_WARNING, SGD_EV_ROLLBACK, NULL, "rollback "
			"failed, retrying in %d s",
			SGD_ROLLBACK_RETRY_MS / 1000);
		(void)confirm_arm(d, realtime_ms() + SGD_ROLLBACK_RETRY_MS);
	}
	return r;
}

static void confirm_on_timer(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	uint64_t ticks;
	ssize_t n = read(w->fd, &ticks, sizeof(ticks));

	(void)n;	/* EAGAIN after a re-arm is harmless */
	if (!d->confirm_deadline_ms || realtime_ms() < d->confirm_deadline_ms)
		return;
	sgd_log_event(d, LOG_WARNING, SGD_EV_ROLLBACK, NULL, "apply --confirm "
		"deadline passed without confirm: rolling back");
	(void)confirm_rollback(d);
}

int confirm_timer_init(struct sgd *d)
{
	d->confirm_timer.fd = timerfd_create(CLOCK_REALTIME,
					     TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->confirm_timer.fd < 0)
		return -errno;
	d->confirm_timer.fn = confirm_on_timer;
	return watch_add(d, &d->confirm_timer, EPOLLIN);
}

int confirm_startup(struct sgd *d, bool *handled)
{
	struct snapshot_mark cf;
	char path[4096], msg[1024], *notice = NULL;
	struct stat st;
	int r;

	*handled = false;
	r = snapshot_mark_read(d, SGD_STATE_CONFIRM, &cf);
	if (r == 0) {
		if (stat(state_path(d, SGD_STATE_PREVIOUS, path, sizeof(path)),
			 &st) < 0) {
			sgd_log(d, LOG_WARNING, "a pending apply --confirm has "
				"no copy of the previous configuration in %s; "
				"it cannot be rolled back, loading %s", path,
				d->opt.confdir);
			confirm_clear(d);
			return 0;
		}
		if (cf.when_ms <= realtime_ms()) {
			sgd_log_event(d, LOG_WARNING, SGD_EV_ROLLBACK, NULL,
				"the apply --confirm deadline passed while sgd "
				"was not running: rolling back");
			r = rollback_to_previous(d, cf.hash);
			*handled = r == 0;
			return r;
		}
		/* Still on probation: run the configuration under trial
		 * again and keep the deadline. */
		r = commit_snapshot(d, SGD_STATE_RUNNING);
		if (r < 0) {
			sgd_log_event(d, LOG_WARNING, SGD_EV_ROLLBACK, NULL,
				"cannot restore the configuration under "
				"probation: rolling back now");
			r = rollback_to_previous(d, cf.hash);
			*handled = r == 0;
			return r;
		}
		confirm_set_deadline(d, cf.when_ms);
		r = confirm_arm(d, cf.when_ms);
		sgd_log(d, LOG_NOTICE, "apply --confirm pending: rolls back in "
			"%lld ms unless confirmed", cf.when_ms - realtime_ms());
		*handled = true;
		return r;
	}
	if (r != -ENOENT) {
		sgd_log(d, LOG_WARNING, "ignoring the unreadable "
			"pending-confirm file (kept as %s/%s.bad)",
			d->opt.state_dir, SGD_STATE_CONFIRM);
		snprintf(msg, sizeof(msg), "%s/%s.bad", d->opt.state_dir,
			 SGD_STATE_CONFIRM);
		rename(state_path(d, SGD_STATE_CONFIRM, path, sizeof(path)), msg);
	}
	if (!snapshot_rejected(d, msg, sizeof(msg))) {
		/* CONFDIR changed since the rollback: the marker is done. */
		unlink(state_path(d, SGD_STATE_REJECTED, path, sizeof(path)));
		return 0;
	}
	r = commit_snapshot(d, SGD_STATE_RUNNING);
	if (r < 0) {
		sgd_log(d, LOG_ERR, "%s; and the previous configuration cannot "
			"be restored: not starting", msg);
		return r;
	}
	if (asprintf(&notice, "%s; running the previous configuration (kept "
		     "in %s/%s)", msg, d->opt.state_dir, SGD_STATE_RUNNING) < 0)
		notice = NULL;
	set_notice(d, notice);
	*handled = true;
	return 0;
}

/* What apply --confirm did: 0 and the deadline, or why not: the
 * diagnostics that come with it, or msg when there are none (or when
 * plain: the failure was not the configuration's). */
struct confirm_outcome {
	int err;		/* 0, -EBUSY (one is pending) or -errno */
	long long deadline_ms;	/* when it rolls back (err 0) */
	bool plain;
	char msg[512];
};

/* Keep the way back on disk (STATE/previous, STATE/confirm), then commit
 * CONFDIR; on failure put everything back.  0 or -errno. */
static int confirm_keep_and_commit(struct sgd *d, struct sgd_loaded *l,
				   long long deadline, struct confirm_outcome *o,
				   struct sg_diags *dg)
{
	char running[4096], previous[4096], path[4096];
	int rc;

	state_path(d, SGD_STATE_RUNNING, running, sizeof(running));
	state_path(d, SGD_STATE_PREVIOUS, previous, sizeof(previous));
	/* The way back is on disk before the new rules are in the kernel. */
	(void)snapshot_remove(previous);
	rc = snapshot_replace(running, previous);
	if (rc == 0)
		rc = snapshot_mark_write(d, SGD_STATE_CONFIRM, deadline, l->hash);
	if (rc < 0) {
		o->plain = true;
		snprintf(o->msg, sizeof(o->msg), "cannot keep the previous "
			 "configuration under %s: %s; nothing changed",
			 d->opt.state_dir, strerror(-rc));
		(void)snapshot_replace(previous, running);
		return rc;
	}
	rc = reload_commit(d, l, dg);
	if (rc < 0) {
		unlink(state_path(d, SGD_STATE_CONFIRM, path, sizeof(path)));
		(void)snapshot_replace(previous, running);
		snprintf(o->msg, sizeof(o->msg), "commit failed: %s", strerror(-rc));
	}
	return rc;
}

/* The operation: commit CONFDIR on probation for secs seconds (the
 * timer, the status notice, the log and sd_notify included). */
static int confirm_apply_op(struct sgd *d, unsigned secs,
			    struct confirm_outcome *o, struct sg_diags *dg)
{
	struct sgd_loaded l = { 0 };
	char when[64];
	int rc;

	memset(o, 0, sizeof(*o));
	if (d->confirm_deadline) {
		snprintf(o->msg, sizeof(o->msg), "an apply --confirm is already "
			 "pending (%lld s left): run 'sgctl confirm' or wait for "
			 "the rollback", (long long)(d->confirm_deadline - time(NULL)));
		return o->err = -EBUSY;
	}
	o->err = reload_load(d, d->opt.confdir, &l, dg);
	if (o->err < 0) {
		snprintf(o->msg, sizeof(o->msg), "%s: %s", d->opt.confdir,
			 strerror(-o->err));
		return o->err;
	}
	o->deadline_ms = realtime_ms() + (long long)secs * 1000;
	o->err = confirm_keep_and_commit(d, &l, o->deadline_ms, o, dg);
	reload_loaded_free(&l);
	if (o->err < 0)
		return o->err;
	confirm_set_deadline(d, o->deadline_ms);
	rc = confirm_arm(d, o->deadline_ms);
	if (rc < 0)
		sgd_log(d, LOG_WARNING, "cannot arm the confirm timer: %s",
			strerror(-rc));
	set_notice(d, NULL);
	fmt_time((time_t)(o->deadline_ms / 1000), when, sizeof(when));
	sgd_log_event(d, LOG_NOTICE, SGD_EV_RELOAD, NULL, "apply --confirm: "
		"new configuration committed; rolls back at %s unless confirmed",
		when);
	notify_send(d, "STATUS=apply --confirm pending until %s", when);
	return 0;
}

/* The answer (the edge): text, or with json {"ok", "rollback_at",
 * "seconds"}. */
static void confirm_apply_render(const struct confirm_outcome *o,
				 const struct sg_diags *dg, unsigned secs,
				 bool json, struct proto_resp *r)
{
	struct out_buf b;
	struct json_w j;
	char when[64], *text = NULL;

	if (o->err < 0) {
		if (dg->n && !o->plain)
			reply_diags(r, json, 1, dg);
		else
			reply_fail(r, json, 1, "%s", o->msg);
		return;
	}
	fmt_time((time_t)(o->deadline_ms / 1000), when, sizeof(when));
	if (!json) {
		reply_ok(r, false, "applied; rolls back to the previous "
			 "configuration at %s (in %u s) unless you run "
			 "'sgctl confirm'", when, secs);
		return;
	}
	out_init(&b);
	json_init(&j, &b);
	json_obj_begin(&j);
	json_kbool(&j, "ok", true);
	json_kstr(&j, "rollback_at", when);
	json_kint(&j, "seconds", (long long)secs);
	json_obj_end(&j);
	out_putc(&b, '\n');
	if (out_finish(&b, &text) == 0) {
		r->out = text;
		r->out_len = strlen(text);
	}
	r->exit_code = 0;
}

void confirm_apply(struct sgd *d, const struct sgd_client *c,
		   const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	struct confirm_outcome o;
	struct sg_diags dg;

	if (req->argc || req->confirm_secs == 0 ||
	    req->confirm_secs > SGD_CONFIRM_MAX) {
		reply_fail(r, json, 2, "usage: apply --confirm SECONDS "
			   "(1..%d)", SGD_CONFIRM_MAX);
		return;
	}
	diags_init(&dg);
	(void)confirm_apply_op(d, req->confirm_secs, &o, &dg);
	confirm_apply_render(&o, &dg, req->confirm_secs, json, r);
	diags_free(&dg);
}

void confirm_confirm(struct sgd *d, const struct sgd_client *c,
		     const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	char path[4096];

	if (!d->confirm_deadline) {
		reply_fail(r, json, 1, "nothing to confirm: no apply --confirm "
			      "is pending");
		return;
	}
	confirm_clear(d);
	unlink(state_path(d, SGD_STATE_REJECTED, path, sizeof(path)));
	sgd_log_event(d, LOG_NOTICE, SGD_EV_RELOAD, NULL, "apply --confirm "
		"confirmed");
	notify_send(d, "STATUS=configuration confirmed");
	reply_ok(r, json, "confirmed: the new configuration stays");
}
