/*
 * reload.c — load a configuration from a private copy of its files and
 * make it the running one.
 *
 * The order is what keeps a failed reload harmless: copy, load, validate,
 * compute members, guards, then the commit (engine_apply: the ruleset
 * switches in one kernel transaction, with up to two around it that
 * engine.h describes); only after the kernel accepted it does anything
 * in sgd change.  Any earlier failure leaves the
 * running configuration and the kernel as they were.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "fleet.h"
#include "sgd.h"

void reload_loaded_free(struct sgd_loaded *l)
{
	membership_free(&l->members);
	config_free(l->cfg);
	memset(l, 0, sizeof(*l));
}

int reload_load(struct sgd *d, const char *srcdir, struct sgd_loaded *out,
		struct sg_diags *diags)
{
	char staging[4096];
	int r;

	memset(out, 0, sizeof(*out));
	state_path(d, SGD_STATE_STAGING, staging, sizeof(staging));
	r = snapshot_copy(srcdir, staging, diags);
	if (r == 0)
		r = config_load(staging, &out->cfg, diags);
	if (r == 0)
		r = membership_compute(d, out->cfg, &out->members, diags);
	if (r == 0)
		r = snapshot_hash(staging, out->hash);
	if (r < 0)
		reload_loaded_free(out);
	diags_sort(diags);
	return r;
}

/* The one place that records a reload's result for status (and the
 * metrics): reload_commit on success, whoever committed (start-up,
 * reload, apply --confirm, a rollback); reload_run on failure. */
static void reload_record(struct sgd *d, int r, const struct sg_diags *dg)
{
	char *msg = NULL;

	d->last_reload = time(NULL);
	d->last_reload_ok = r == 0;
	free(d->last_reload_error);
	d->last_reload_error = NULL;
	if (r == 0)
		return;
	if (dg->n) {
		char *first = diag_format(&dg->v[0]);

		if (first && dg->n > 1) {
			if (asprintf(&msg, "%s (and %zu more)", first, dg->n - 1) < 0)
				msg = NULL;
			free(first);
		} else {
			msg = first;
		}
	} else {
		msg = strdup(strerror(-r));
	}
	d->last_reload_error = msg;
}

void reload_adopt(struct sgd *d, struct sgd_loaded *l)
{
	membership_free(&d->members);
	config_free(d->cfg);
	d->cfg = l->cfg;
	d->members = l->members;
	memcpy(d->cfg_hash, l->hash, sizeof(d->cfg_hash));
	memset(l, 0, sizeof(*l));
	/* control.c: the socket's group (main.c registers the hook) */
	if (d->hooks.adopted)
		d->hooks.adopted(d);
	/* log_denied may have changed */
	droplog_update(d);
	/* fleet: may have changed (attach list, endpoints) */
	fleet_configure(d);
}

int reload_commit(struct sgd *d, struct sgd_loaded *l, struct sg_diags *diags)
{
	struct sg_engine *eng = d->eng, *old = NULL;
	char staging[4096], running[4096];
	int r;

	if (!eng || strcmp(d->cfg->table, l->cfg->table) != 0) {
		r = engine_open(&eng, l->cfg->table);
		if (r < 0) {
			diags_add(diags, &l->cfg->table_pos, "cannot open "
				  "netlink for table inet %s: %s",
				  l->cfg->table, strerror(-r));
			return r;
		}
		old = d->eng;
	}
	/* our own events are not watched during the commit (drift.c) */
	if (eng == d->eng)
		drift_pause(d);
	r = engine_apply(eng, l->cfg, &l->members, diags);
	drift_resume(d);
	if (r < 0) {
		if (eng != d->eng)
			engine_close(eng);
		diags_sort(diags);
		return r;
	}
	if (old) {
		sgd_log_event(d, LOG_NOTICE, SGD_EV_RELOAD, NULL, "table inet "
			"%s replaced by inet %s; the old table is left as it "
			"was (delete it with nft if it is no longer wanted)",
			d->cfg->table, l->cfg->table);
		engine_close(old);
	}
	d->eng = eng;
	state_path(d, SGD_STATE_STAGING, staging, sizeof(staging));
	state_path(d, SGD_STATE_RUNNING, running, sizeof(running));
	r = snapshot_replace(staging, running);
	if (r < 0)
		sgd_log(d, LOG_WARNING, "committed, but could not keep a copy "
			"of the configuration in %s: %s", running,
			strerror(-r));
	reload_adopt(d, l);
	reload_record(d, 0, diags);
	/* what is in the kernel now is ours (drift.c's reference) */
	drift_committed(d);
	return 0;
}

int reload_run(struct sgd *d, bool force, const char *ssh, struct sg_diags *diags)
{
	struct sgd_loaded l = { 0 };
	struct timespec ts;
	char msg[1024], path[4096];
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_send(d, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
		    (unsigned long long)ts.tv_sec * 1000000ull +
		    (unsigned long long)ts.tv_nsec / 1000, d->opt.confdir);
	if (d->disabled && !d->enabling) {
		diags_add_file(diags, NULL, "sgd is disabled (`sgctl disable`): "
			       "`sgctl enable` commits the configuration again");
		r = -EPERM;
		goto out;
	}
	if (d->confirm_deadline) {
		diags_add_file(diags, NULL, "an 'apply --confirm' is pending "
			       "(%lld s left): run 'sgctl confirm' first, or "
			       "wait for the rollback",
			       (long long)(d->confirm_deadline - time(NULL)));
		r = -EBUSY;
		goto out;
	}
	if (!force && snapshot_rejected(d, msg, sizeof(msg))) {
		diags_add_file(diags, NULL, "%s", msg);
		r = -EPERM;
		goto out;
	}
	r = reload_load(d, d->opt.confdir, &l, diags);
	if (r < 0)
		goto out;
	if (ssh && !force) {
		r = lockout_check(d, l.cfg, &l.members, ssh, diags);
		if (r == 1)
			r = -EPERM;
		if (r < 0)
			goto out;
	}
	r = reload_commit(d, &l, diags);
	if (r == 0) {
		/* A new commit ends the story of an earlier rollback. */
		if (d->notice) {
			free(d->notice);
			d->notice = NULL;
		}
		unlink(state_path(d, SGD_STATE_REJECTED, path, sizeof(path)));
	}
out:
	reload_loaded_free(&l);
	/* A reload frees a whole configuration, a compile and a batch, in
	 * holes between what lives on: hand those pages back, or the idle
	 * daemon keeps them resident (at 100,000 rules, more than twice
	 * what it uses). */
	malloc_trim(0);
	d->reloads++;
	if (r < 0) {
		d->reload_failures++;
		reload_record(d, r, diags);
	}
	if (r == 0) {
		sgd_log_event(d, LOG_INFO, SGD_EV_RELOAD, NULL, "reloaded %s: "
			"%zu groups", d->opt.confdir, d->cfg->n_groups);
		notify_send(d, "READY=1\nSTATUS=reloaded; %zu groups",
			    d->cfg->n_groups);
	} else {
		sgd_log_diags(d, LOG_WARNING, SGD_EV_RELOAD, "reload failed, "
			"the previous rules stay", diags);
		if (!diags->n)
			sgd_log_event(d, LOG_WARNING, SGD_EV_RELOAD, NULL,
				"reload failed, the previous rules stay: %s",
				strerror(-r));
		notify_send(d, "READY=1\nSTATUS=last reload failed: %s",
			    d->last_reload_error ? d->last_reload_error : "?");
	}
	return r;
}
