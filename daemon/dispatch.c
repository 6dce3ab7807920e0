/*
 * dispatch.c — one control request to one action, and the answer.
 *
 * Read-only commands (status, show, diff, explain, members list, stats,
 * version) are open to whoever can connect to the socket; the others
 * change the firewall and need uid 0 or the configured control_group.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "out.h"
#include "render.h"
#include "render_fmt.h"
#include "membatch.h"
#include "fleet.h"
#include "sgd.h"

static char *vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

/* Text, with the trailing newline sgctl prints. */
static void resp_set_text(char **dst, size_t *len, char *msg)
{
	size_t n;

	free(*dst);
	*dst = NULL;
	*len = 0;
	if (!msg)
		return;
	n = strlen(msg);
	if (n == 0 || msg[n - 1] != '\n') {
		char *m = realloc(msg, n + 2);

		if (!m) {
			free(msg);
			return;
		}
		msg = m;
		msg[n++] = '\n';
		msg[n] = 0;
	}
	*dst = msg;
	*len = n;
}

static char *json_msg(bool ok, const char *key, const char *msg)
{
	struct out_buf b;
	struct json_w j;
	char *s = NULL;

	out_init(&b);
	json_init(&j, &b);
	json_obj_begin(&j);
	json_kbool(&j, "ok", ok);
	json_kstr(&j, key, msg);
	json_obj_end(&j);
	out_putc(&b, '\n');
	if (out_finish(&b, &s) < 0)
		return NULL;
	return s;
}

void dispatch_fail(struct proto_resp *r, bool json, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vfmt(fmt, ap);
	va_end(ap);
	r->exit_code = code;
	if (json && msg)
		resp_set_text(&r->out, &r->out_len, json_msg(false, "error", msg));
	resp_set_text(&r->err, &r->err_len, msg);
}

void dispatch_ok(struct proto_resp *r, bool json, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vfmt(fmt, ap);
	va_end(ap);
	r->exit_code = 0;
	if (json && msg) {
		resp_set_text(&r->out, &r->out_len, json_msg(true, "message", msg));
		free(msg);
	} else {
		resp_set_text(&r->out, &r->out_len, msg);
	}
}

void dispatch_diags(struct proto_resp *r, bool json, int code,
		    const struct sg_diags *dg)
{
	char *text = NULL;
	int rc = render_diags(dg, json, &text);

	if (rc < 0) {
		dispatch_fail(r, json, code, "cannot render the errors: %s",
			      strerror(-rc));
		return;
	}
	r->exit_code = code;
	if (json)
		resp_set_text(&r->out, &r->out_len, text);
	else
		resp_set_text(&r->err, &r->err_len, text);
}

/* A renderer's result as the answer. */
static void answer_render(struct proto_resp *r, bool json, int rc, char *text,
			  const char *what)
{
	if (rc < 0) {
		free(text);
		dispatch_fail(r, json, 1, "%s: %s", what, strerror(-rc));
		return;
	}
	r->exit_code = 0;
	resp_set_text(&r->out, &r->out_len, text);
}

/* The notice (rollback, rejected config) and the members.d error are not
 * part of sg_status, so they are added here: a last line "label: ...",
 * or a key in the JSON object. */
static char *status_add_notice(char *text, bool json, const char *key,
			       const char *label, const char *notice)
{
	struct out_buf b;
	char *res = NULL;
	size_t n;

	if (!notice || !text)
		return text;
	out_init(&b);
	n = strlen(text);
	if (json) {
		while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
			n--;
		if (n == 0 || text[n - 1] != '}')
			return text;
		text[n - 1] = 0;
		out_puts(&b, text);
		out_printf(&b, ",\"%s\":", key);
		json_escape(&b, notice);
		out_puts(&b, "}\n");
	} else {
		out_puts(&b, text);
		out_printf(&b, "%s: %s\n", label, notice);
	}
	free(text);
	if (out_finish(&b, &res) < 0)
		return NULL;
	return res;
}

static void cmd_status(struct sgd *d, bool json, struct proto_resp *r)
{
	struct sg_status st = {
		.version = SGD_VERSION,
		.pid = (long)getpid(),
		.confdir = d->opt.confdir,
		.table = d->cfg ? d->cfg->table : NULL,
		.cfg = d->cfg,
		.members = d->cfg ? &d->members : NULL,
		.started = d->started,
		.last_reload = d->last_reload,
		.last_reload_ok = d->last_reload_ok,
		.last_reload_error = d->last_reload_error,
		.confirm_deadline = d->confirm_deadline,
		.disabled = d->disabled,
		.disabled_since = d->disabled_since,
	};
	char *text = NULL;
	int rc;

	drift_status(d, &st);
	droplog_status(d, &st);
	rc = render_status(&st, json, &text);

	if (rc == 0 && d->notice) {
		text = status_add_notice(text, json, "notice", "notice",
					 d->notice);
		if (!text)
			rc = -ENOMEM;
	}
	if (rc == 0 && d->members_error) {
		text = status_add_notice(text, json, "members_error", "members.d",
					 d->members_error);
		if (!text)
			rc = -ENOMEM;
	}
	if (rc == 0 && json)
		text = membatch_status_json(d, text);
	if (rc == 0 && !(text = fleet_status_append(d, json, text)))
		rc = -ENOMEM;
	answer_render(r, json, rc, text, "status");
}

static void cmd_show(struct sgd *d, bool json, struct proto_resp *r)
{
	char *text = NULL;
	int rc = render_show(d->cfg, &d->members, json, &text);

	answer_render(r, json, rc, text, "show");
}

static void cmd_reload(struct sgd *d, const struct proto_req *req, bool json,
		       struct proto_resp *r)
{
	struct sg_diags dg;
	int rc;

	diags_init(&dg);
	rc = reload_run(d, req->flags & PROTO_F_FORCE, req->ssh_connection, &dg);
	if (rc == 0)
		dispatch_ok(r, json, "configuration reloaded from %s: %zu groups",
			    d->opt.confdir, d->cfg->n_groups);
	else if (dg.n)
		dispatch_diags(r, json, 1, &dg);
	else
		dispatch_fail(r, json, 1, "reload failed: %s", strerror(-rc));
	diags_free(&dg);
}

/* A copy of src into dst (emptied first).  0 or -ENOMEM. */
static int resp_copy(struct proto_resp *dst, const struct proto_resp *src)
{
	proto_resp_free(dst);
	memset(dst, 0, sizeof(*dst));
	dst->exit_code = src->exit_code;
	if (src->out && !(dst->out = malloc(src->out_len + 1)))
		return -ENOMEM;
	if (src->out) {
		memcpy(dst->out, src->out, src->out_len + 1);
		dst->out_len = src->out_len;
	}
	if (src->err && !(dst->err = malloc(src->err_len + 1))) {
		proto_resp_free(dst);
		return -ENOMEM;
	}
	if (src->err) {
		memcpy(dst->err, src->err, src->err_len + 1);
		dst->err_len = src->err_len;
	}
	return 0;
}

void dispatch_fini(struct sgd *d)
{
	for (size_t i = 0; i < sizeof(d->diff_cache) / sizeof(d->diff_cache[0]); i++) {
		proto_resp_free(&d->diff_cache[i].r);
		d->diff_cache[i].valid = false;
	}
}

static void cmd_diff_compute(struct sgd *d, const struct proto_req *req, bool json,
			     struct proto_resp *r);

/* diff re-reads and validates all of CONFDIR: a read-only user (socket
 * opened wider) asking in a loop would keep sgd busy.  Such callers share
 * one answer per SGD_DIFF_CACHE_MS and per variant; it is made again
 * sooner when the running configuration changed.  Root and control_group
 * members always get a fresh one. */
static void cmd_diff(struct sgd *d, const struct sgd_client *c,
		     const struct proto_req *req, bool json, struct proto_resp *r)
{
	bool exit_code = req->flags & PROTO_F_EXIT_CODE;
	struct sgd_diff_cache *dc = &d->diff_cache[(json ? 1 : 0) + (exit_code ? 2 : 0)];
	long long now = loop_now_ms();

	if (control_client_may_mutate(d, c)) {
		cmd_diff_compute(d, req, json, r);
		return;
	}
	if (dc->valid && now - dc->at_ms < SGD_DIFF_CACHE_MS &&
	    dc->last_reload == d->last_reload &&
	    strcmp(dc->cfg_hash, d->cfg_hash) == 0 && resp_copy(r, &dc->r) == 0) {
		sgd_debug(d, "diff for uid %ld: the answer of %lld ms ago (at most "
			  "one per %d ms for read-only callers)", (long)c->uid,
			  now - dc->at_ms, SGD_DIFF_CACHE_MS);
		return;
	}
	cmd_diff_compute(d, req, json, r);
	dc->valid = resp_copy(&dc->r, r) == 0;
	dc->at_ms = now;
	dc->last_reload = d->last_reload;
	memcpy(dc->cfg_hash, d->cfg_hash, sizeof(dc->cfg_hash));
}

static void cmd_diff_compute(struct sgd *d, const struct proto_req *req, bool json,
			     struct proto_resp *r)
{
	struct sg_config *cfg = NULL;
	struct sg_members m = { 0 };
	struct sg_diags dg;
	char *text = NULL;
	bool changed = false;
	int rc;

	diags_init(&dg);
	rc = config_load(d->opt.confdir, &cfg, &dg);
	if (rc == 0)
		rc = membership_compute(d, cfg, &m, &dg);
	if (rc < 0) {
		diags_sort(&dg);
		if (dg.n)
			dispatch_diags(r, json, 1, &dg);
		else
			dispatch_fail(r, json, 1, "%s: %s", d->opt.confdir,
				      strerror(-rc));
		goto out;
	}
	rc = render_diff(d->cfg, cfg, &m, json, &text, &changed);
	answer_render(r, json, rc, text, "diff");
	if (rc == 0 && changed && (req->flags & PROTO_F_EXIT_CODE))
		r->exit_code = 1;
out:
	membership_free(&m);
	config_free(cfg);
	diags_free(&dg);
}

static void cmd_explain(struct sgd *d, const struct proto_req *req, bool json,
			struct proto_resp *r)
{
	struct sg_diags dg;
	char *text = NULL;
	bool allowed = false;
	int rc;

	diags_init(&dg);
	rc = render_explain(d->cfg, &d->members, (int)req->argc,
			    (char **)req->argv, json, &text, &allowed, &dg);
	if (rc == -EINVAL && dg.n) {
		free(text);
		dispatch_diags(r, json, 2, &dg);
	} else {
		answer_render(r, json, rc, text, "explain");
	}
	diags_free(&dg);
}

/* stats [--format table|openmetrics|prometheus] (sgctl sends the words
 * after "stats"; --json is the flag). */
static int stats_parse_format(const struct proto_req *req, int *fmt)
{
	const char *v = NULL;

	*fmt = -1;	/* the table (or JSON) */
	if (req->argc == 0)
		return 0;
	if (req->argc == 2 && strcmp(req->argv[0], "--format") == 0)
		v = req->argv[1];
	else if (req->argc == 1 && strncmp(req->argv[0], "--format=", 9) == 0)
		v = req->argv[0] + 9;
	if (!v)
		return -EINVAL;
	if (strcmp(v, "openmetrics") == 0)
		*fmt = SG_METRICS_OPENMETRICS;
	else if (strcmp(v, "prometheus") == 0)
		*fmt = SG_METRICS_PROMETHEUS;
	else if (strcmp(v, "table") != 0)
		return -EINVAL;
	return 0;
}

static void cmd_stats(struct sgd *d, const struct proto_req *req, bool json,
		      struct proto_resp *r)
{
	struct sg_counter *c = NULL;
	size_t n = 0;
	char *text = NULL;
	int rc, fmt;

	if (stats_parse_format(req, &fmt) < 0) {
		dispatch_fail(r, json, 2, "usage: stats [--format "
			      "table|openmetrics|prometheus]");
		return;
	}
	if (fmt >= 0 && json) {
		dispatch_fail(r, json, 2, "stats: --json and --format %s exclude "
			      "each other", fmt == SG_METRICS_OPENMETRICS ?
			      "openmetrics" : "prometheus");
		return;
	}
	/* disabled: no table, no counters */
	rc = d->disabled ? 0 : engine_read_counters(d->eng, d->cfg, &c, &n);
	if (rc < 0) {
		dispatch_fail(r, json, 1, "cannot read the counters from the "
			      "kernel: %s", strerror(-rc));
		return;
	}
	if (fmt >= 0) {
		struct sg_status st = { 0 };
		struct sg_metrics m = {
			.version = SGD_VERSION,
			.table = d->cfg ? d->cfg->table : NULL,
			.cfg = d->cfg,
			.members = d->cfg ? &d->members : NULL,
			.counters = c,
			.n_counters = n,
			.enabled = !d->disabled,
			.started = d->started,
			.last_reload = d->last_reload,
			.last_reload_ok = d->last_reload_ok,
			.reloads = d->reloads,
			.reload_failures = d->reload_failures,
		};

		drift_status(d, &st);
		m.drift_detected = st.drift_detected;
		m.drift_repaired = st.drift_repaired;
		m.drift_resyncs = st.drift_resyncs;
		droplog_counts(d, &m.drop_entries, &m.drop_suppressed);
		rc = render_metrics(&m, (enum sg_metrics_format)fmt, &text);
	} else {
		rc = render_stats(d->cfg, c, n, json, &text);
	}
	free(c);
	answer_render(r, json, rc, text, "stats");
}

static void cmd_version(bool json, struct proto_resp *r)
{
	struct out_buf b;
	char *text = NULL;
	int rc;

	out_init(&b);
	if (json) {
		struct json_w j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kstr(&j, "daemon", SGD_VERSION);
		json_kint(&j, "protocol", PROTO_VERSION);
		json_obj_end(&j);
		out_putc(&b, '\n');
	} else {
		out_printf(&b, "sgd %s (control protocol %d)\n", SGD_VERSION,
			   PROTO_VERSION);
	}
	rc = out_finish(&b, &text);
	answer_render(r, json, rc, text, "version");
}

/* Who may change the firewall, for the refusal message. */
static const char *needs_whom(const struct sgd *d, char *buf, size_t len)
{
	if (d->have_control_gid)
		snprintf(buf, len, "root or membership in group '%s' "
			 "(control_group)", d->cfg->control_group);
	else
		snprintf(buf, len, "root (sgd.yaml sets no control_group)");
	return buf;
}

static void cmd_members(struct sgd *d, const struct sgd_client *c,
			const struct proto_req *req, bool json,
			struct proto_resp *r)
{
	const char *sub = req->argc ? req->argv[0] : "";
	int argc = (int)req->argc - 1;
	const char **argv = req->argv + 1;

	if (strcmp(sub, "list") == 0) {
		membership_list(d, argc, argv, json, r);
		return;
	}
	if (strcmp(sub, "add") != 0 && strcmp(sub, "del") != 0) {
		dispatch_fail(r, json, 2, "usage: members list GROUP | members "
			      "add|del GROUP ADDR...");
		return;
	}
	if (!control_client_may_mutate(d, c)) {
		char who[160];

		dispatch_fail(r, json, 1, "permission denied: 'members %s' "
			      "changes the firewall and needs %s (you are uid "
			      "%ld)", sub, needs_whom(d, who, sizeof(who)),
			      (long)c->uid);
		return;
	}
	if (sub[0] == 'a')
		membership_add(d, argc, argv, json, r);
	else
		membership_del(d, argc, argv, json, r);
}

static bool cmd_mutates(const char *cmd)
{
	return strcmp(cmd, "reload") == 0 || strcmp(cmd, "apply") == 0 ||
	       strcmp(cmd, "confirm") == 0 || strcmp(cmd, "disable") == 0 ||
	       strcmp(cmd, "enable") == 0;
}

/* What a disabled sgd still answers: the rest shows or changes rules
 * that are not in the kernel. */
static bool cmd_works_disabled(const char *cmd)
{
	return strcmp(cmd, "status") == 0 || strcmp(cmd, "stats") == 0 ||
	       strcmp(cmd, "version") == 0 || strcmp(cmd, "enable") == 0 ||
	       strcmp(cmd, "disable") == 0 || strcmp(cmd, "log") == 0 ||
	       strcmp(cmd, "fleet") == 0;
}

void dispatch_request(struct sgd *d, const struct sgd_client *c,
		      const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	const char *cmd = req->cmd;

	membership_before_request(d, cmd, req->argc ? req->argv[0] : NULL);
	if (cmd_mutates(cmd) && !control_client_may_mutate(d, c)) {
		char who[160];

		dispatch_fail(r, json, 1, "permission denied: '%s' changes the "
			      "firewall and needs %s (you are uid %ld); "
			      "read-only commands (status, show, diff, explain, "
			      "members list, stats, log, version) are allowed", cmd,
			      needs_whom(d, who, sizeof(who)), (long)c->uid);
		return;
	}
	if (d->disabled && !cmd_works_disabled(cmd)) {
		char tb[64];

		dispatch_fail(r, json, 1, "sgd is disabled (`sgctl disable` at "
			      "%s): no rules of sgd are in force; `sgctl enable` "
			      "commits the configuration again",
			      fmt_time(d->disabled_since, tb, sizeof(tb)));
		return;
	}
	if (strcmp(cmd, "status") == 0)
		cmd_status(d, json, r);
	else if (strcmp(cmd, "reload") == 0)
		cmd_reload(d, req, json, r);
	else if (strcmp(cmd, "apply") == 0)
		confirm_apply(d, req, r);
	else if (strcmp(cmd, "confirm") == 0)
		confirm_confirm(d, json, r);
	else if (strcmp(cmd, "show") == 0)
		cmd_show(d, json, r);
	else if (strcmp(cmd, "diff") == 0)
		cmd_diff(d, c, req, json, r);
	else if (strcmp(cmd, "explain") == 0)
		cmd_explain(d, req, json, r);
	else if (strcmp(cmd, "members") == 0)
		cmd_members(d, c, req, json, r);
	else if (strcmp(cmd, "stats") == 0)
		cmd_stats(d, req, json, r);
	else if (strcmp(cmd, "version") == 0)
		cmd_version(json, r);
	else if (strcmp(cmd, "log") == 0)
		droplog_request(d, req, r);
	else if (strcmp(cmd, "disable") == 0)
		disable_run(d, c, req, r);
	else if (strcmp(cmd, "enable") == 0)
		enable_run(d, req, r);
	else if (strcmp(cmd, "fleet") == 0)
		fleet_request(d, c, req, r);
	else
		dispatch_fail(r, json, 2, "unknown command '%s' (sgd %s knows: "
			      "status reload show diff explain members stats "
			      "apply confirm disable enable log fleet version)", cmd, SGD_VERSION);
}
