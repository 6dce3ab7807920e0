/*
 * disable.c — `sgctl disable --confirm` and `sgctl enable`: take sgd's
 * rules off the host, and put them back.
 *
 * disable removes our table in one transaction, then writes the marker
 * STATE/disabled, so that a restart (or a reboot) does not commit the
 * rules again; the daemon keeps running and answers, refusing what would
 * touch the kernel until `enable` commits the configuration of CONFDIR
 * (with the reload's guards) and removes the marker.  The table goes
 * first: a crash between the two leaves no marker, and the next start
 * puts the rules back; a firewall errs on the side of enforcing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "render_fmt.h"
#include "sgd.h"

bool disable_marked(struct sgd *d, time_t *since)
{
	char path[4096];
	struct stat st;

	state_path(d, SGD_STATE_DISABLED, path, sizeof(path));
	if (lstat(path, &st) < 0)
		return false;
	if (since)
		*since = st.st_mtime;
	return true;
}

int disable_startup(struct sgd *d)
{
	char tb[64];

	if (!disable_marked(d, &d->disabled_since))
		return 0;
	d->disabled = true;
	sgd_log(d, LOG_NOTICE, "disabled by `sgctl disable` at %s (%s/%s): no rules are "
		"committed; `sgctl enable` commits the configuration again",
		fmt_time(d->disabled_since, tb, sizeof(tb)), d->opt.state_dir,
		SGD_STATE_DISABLED);
	return 1;
}

static bool req_has(const struct proto_req *req, const char *word)
{
	for (size_t i = 0; i < req->argc; i++)
		if (strcmp(req->argv[i], word) == 0)
			return true;
	return false;
}

void disable_run(struct sgd *d, const struct sgd_client *c,
		 const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	char msg[256], tb[64];
	int rc;

	if (!req_has(req, "--confirm")) {
		reply_fail(r, json, 2, "disable removes every rule of sgd from "
			      "this host; run `sgctl disable --confirm`");
		return;
	}
	if (d->disabled) {
		reply_ok(r, json, "sgd is already disabled (since %s)",
			    fmt_time(d->disabled_since, tb, sizeof(tb)));
		return;
	}
	if (req->ssh_connection && !(req->flags & PROTO_F_FORCE)) {
		reply_fail(r, json, 1, "refusing over SSH (%s): disable removes "
			      "every rule of sgd, and nothing would protect this "
			      "host; add --force if that is what you want",
			      req->ssh_connection);
		return;
	}
	if (d->confirm_deadline) {
		reply_fail(r, json, 1, "an 'apply --confirm' is pending: run "
			      "'sgctl confirm' or wait for the rollback first");
		return;
	}
	if (!d->eng) {
		rc = engine_open(&d->eng, d->cfg ? d->cfg->table : NULL);
		if (rc < 0) {
			reply_fail(r, json, 1, "cannot open netlink: %s",
				      strerror(-rc));
			return;
		}
	}
	/* our own deletion must not be repaired */
	drift_close(d);
	rc = engine_remove(d->eng);
	if (rc < 0 && rc != -ENOENT) {
		(void)drift_open(d);
		reply_fail(r, json, 1, "the kernel refused to delete table inet "
			      "%s: %s; the rules stay in force",
			      d->cfg ? d->cfg->table : "sgd", strerror(-rc));
		return;
	}
	engine_close(d->eng);
	d->eng = NULL;
	d->disabled = true;
	d->disabled_since = time(NULL);
	snprintf(msg, sizeof(msg), "disabled at %s by uid %ld\n",
		 fmt_time(d->disabled_since, tb, sizeof(tb)), (long)c->uid);
	rc = state_write_file(d->opt.state_dir, SGD_STATE_DISABLED, msg,
			      strlen(msg));
	sgd_log(d, LOG_NOTICE, "disabled by uid %ld: table inet %s removed", (long)c->uid,
		d->cfg ? d->cfg->table : "sgd");
	notify_send(d, "STATUS=disabled: no rules in force (sgctl enable)");
	if (rc < 0) {
		sgd_log(d, LOG_WARNING, "cannot write %s/%s: %s; a restart will commit the "
			"rules again", d->opt.state_dir, SGD_STATE_DISABLED,
			strerror(-rc));
		reply_fail(r, json, 1, "table inet %s removed, but the marker "
			      "%s/%s could not be written (%s): a restart of sgd "
			      "will commit the rules again",
			      d->cfg ? d->cfg->table : "sgd", d->opt.state_dir,
			      SGD_STATE_DISABLED, strerror(-rc));
		return;
	}
	reply_ok(r, json, "sgd disabled: table inet %s removed; no rules of "
		    "sgd are in force, also after a restart, until `sgctl enable`",
		    d->cfg ? d->cfg->table : "sgd");
}

void enable_run(struct sgd *d, const struct sgd_client *c,
		const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	char path[4096];
	struct sg_diags dg;
	int rc;

	if (!d->disabled) {
		reply_ok(r, json, "sgd is enabled already; `sgctl reload` "
			    "re-reads the configuration");
		return;
	}
	diags_init(&dg);
	/* the reload's guards apply: the SSH lockout check (against a host
	 * that admits everything now), the rejected configuration of a
	 * rollback */
	d->enabling = true;
	rc = reload_run(d, req->flags & PROTO_F_FORCE, req->ssh_connection, &dg);
	d->enabling = false;
	if (rc < 0) {
		if (dg.n)
			reply_diags(r, json, 1, &dg);
		else
			reply_fail(r, json, 1, "enable failed: %s; sgd stays "
				      "disabled", strerror(-rc));
		diags_free(&dg);
		return;
	}
	diags_free(&dg);
	d->disabled = false;
	rc = 0;
	if (unlink(state_path(d, SGD_STATE_DISABLED, path, sizeof(path))) < 0 &&
	    errno != ENOENT)
		rc = -errno;
	if (rc == 0)
		rc = state_fsync_dir(d->opt.state_dir);
	if (!d->drift)
		(void)drift_open(d);	/* it logs why when it cannot */
	sgd_log(d, LOG_NOTICE, "enabled: configuration %s committed", d->opt.confdir);
	if (rc < 0) {
		reply_fail(r, json, 1, "the rules are committed, but the marker "
			      "%s could not be removed (%s): a restart would not "
			      "commit them", path, strerror(-rc));
		return;
	}
	reply_ok(r, json, "sgd enabled: configuration reloaded from %s: %zu "
		    "groups", d->opt.confdir, d->cfg->n_groups);
}
