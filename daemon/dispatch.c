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

#include "command.h"
#include "config.h"
#include "engine.h"
#include "out.h"
#include "render.h"
#include "render_fmt.h"
#include "membatch.h"
#include "clock.h"
#include "fleet.h"
#include "sgd.h"

bool dispatch_client_may_mutate(const struct sgd *d, const struct sgd_client *c)
{
	size_t i;

	if (c->uid == 0)
		return true;
	if (!d->have_control_gid)
		return false;
	if (c->gid == d->control_gid)
		return true;
	for (i = 0; i < c->n_groups; i++)
		if (c->groups[i] == d->control_gid)
			return true;
	return false;
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

static void cmd_status(struct sgd *d, const struct sgd_client *c,
		       const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
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
	reply_render(r, json, rc, text, "status");
}

static void cmd_show(struct sgd *d, const struct sgd_client *c,
		     const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	char *text = NULL;
	int rc = render_show(d->cfg, &d->members, json, &text);

	reply_render(r, json, rc, text, "show");
}

static void cmd_reload(struct sgd *d, const struct sgd_client *c,
		       const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	struct sg_diags dg;
	int rc;

	diags_init(&dg);
	rc = reload_run(d, req->flags & PROTO_F_FORCE, req->ssh_connection, &dg);
	if (rc == 0)
		reply_ok(r, json, "configuration reloaded from %s: %zu groups",
			    d->opt.confdir, d->cfg->n_groups);
	else if (dg.n)
		reply_diags(r, json, 1, &dg);
	else
		reply_fail(r, json, 1, "reload failed: %s", strerror(-rc));
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
		     const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	bool exit_code = req->flags & PROTO_F_EXIT_CODE;
	struct sgd_diff_cache *dc = &d->diff_cache[(json ? 1 : 0) + (exit_code ? 2 : 0)];
	long long now = clock_now_ms();

	if (dispatch_client_may_mutate(d, c)) {
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
			reply_diags(r, json, 1, &dg);
		else
			reply_fail(r, json, 1, "%s: %s", d->opt.confdir,
				      strerror(-rc));
		goto out;
	}
	rc = render_diff(d->cfg, cfg, &m, json, &text, &changed);
	reply_render(r, json, rc, text, "diff");
	if (rc == 0 && changed && (req->flags & PROTO_F_EXIT_CODE))
		r->exit_code = 1;
out:
	membership_free(&m);
	config_free(cfg);
	diags_free(&dg);
}

static void cmd_explain(struct sgd *d, const struct sgd_client *c,
			const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	struct sg_diags dg;
	char *text = NULL;
	bool allowed = false;
	int rc;

	diags_init(&dg);
	rc = render_explain(d->cfg, &d->members, (int)req->argc,
			    (char **)req->argv, json, &text, &allowed, &dg);
	if (rc == -EINVAL && dg.n) {
		free(text);
		reply_diags(r, json, 2, &dg);
	} else {
		reply_render(r, json, rc, text, "explain");
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

static void cmd_stats(struct sgd *d, const struct sgd_client *c,
		      const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	struct sg_counter *ctr = NULL;
	size_t n = 0;
	char *text = NULL;
	int rc, fmt;

	if (stats_parse_format(req, &fmt) < 0) {
		reply_fail(r, json, 2, "usage: stats [--format "
			      "table|openmetrics|prometheus]");
		return;
	}
	if (fmt >= 0 && json) {
		reply_fail(r, json, 2, "stats: --json and --format %s exclude "
			      "each other", fmt == SG_METRICS_OPENMETRICS ?
			      "openmetrics" : "prometheus");
		return;
	}
	/* disabled: no table, no counters */
	rc = d->disabled ? 0 : engine_read_counters(d->eng, d->cfg, &ctr, &n);
	if (rc < 0) {
		reply_fail(r, json, 1, "cannot read the counters from the "
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
			.counters = ctr,
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
		rc = render_stats(d->cfg, ctr, n, json, &text);
	}
	free(ctr);
	reply_render(r, json, rc, text, "stats");
}

static void cmd_version(struct sgd *d, const struct sgd_client *c,
			const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
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
	reply_render(r, json, rc, text, "version");
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

/* members ... GROUP: the group's index, or -1 with r filled (usage:
 * exit 2; unknown group: exit 1). */
static int members_group(struct sgd *d, int argc, const char **argv, bool json,
			 int min_args, const char *usage, struct proto_resp *r)
{
	int gi;

	if (argc < min_args) {
		reply_fail(r, json, 2, "usage: %s", usage);
		return -1;
	}
	gi = config_find_group(d->cfg, argv[0]);
	if (gi < 0)
		reply_fail(r, json, 1, "unknown group '%s'", argv[0]);
	return gi;
}

/* Parse ADDR... (argv[1..]) into l; on error r is filled (exit 2). */
static int members_parse(int argc, const char **argv, bool json,
			 struct sg_cidr_list *l, struct proto_resp *r)
{
	struct sg_cidr c;
	char cb[64];
	int i, rc;

	for (i = 1; i < argc; i++) {
		rc = cidr_parse(argv[i], &c);
		if (rc == -ERANGE) {
			reply_fail(r, json, 2, "'%s' has host bits set; did "
				   "you mean %s?", argv[i],
				   cidr_format(&c, cb, sizeof(cb)));
			return rc;
		}
		if (rc < 0) {
			reply_fail(r, json, 2, "'%s' is not an IPv4/IPv6 "
				   "address or CIDR", argv[i]);
			return rc;
		}
		rc = cidr_list_add(l, &c);
		if (rc < 0) {
			reply_fail(r, json, 1, "out of memory");
			return rc;
		}
	}
	return 0;
}

static void members_list(struct sgd *d, int argc, const char **argv, bool json,
			 struct proto_resp *r)
{
	struct sg_cidr_list extra;
	struct render_member_origin *origin = NULL;
	char *text = NULL;
	int gi, rc;

	gi = members_group(d, argc, argv, json, 1, "members list GROUP", r);
	if (gi < 0)
		return;
	if (argc > 1) {
		reply_fail(r, json, 2, "usage: members list GROUP");
		return;
	}
	rc = membership_list(d, gi, &extra, &origin);
	if (rc == 0) {
		rc = render_members(d->cfg, gi, &extra, origin, json, &text);
		cidr_list_free(&extra);
		free(origin);
	}
	if (rc == 0 && !(text = fleet_members_append(d, gi, json, text)))
		rc = -ENOMEM;
	if (rc < 0) {
		free(text);
		reply_fail(r, json, 1, "members list: %s", strerror(-rc));
		return;
	}
	r->exit_code = 0;
	r->out = text;
	r->out_len = strlen(text);
}

/* members add|del GROUP ADDR...: parsed here, changed by membership.c,
 * rendered by common/render_members.c. */
static void members_change(struct sgd *d, bool add, int argc, const char **argv,
			   bool json, struct proto_resp *r)
{
	struct sg_cidr_list req = { 0 };
	struct membership_change ch;
	char *text = NULL;
	int gi, rc;

	gi = members_group(d, argc, argv, json, 2, add ? "members add GROUP ADDR..." :
			   "members del GROUP ADDR...", r);
	if (gi < 0 || members_parse(argc, argv, json, &req, r) < 0) {
		cidr_list_free(&req);
		return;
	}
	rc = add ? membership_add(d, gi, &req, &ch) : membership_del(d, gi, &req, &ch);
	if (rc < 0)
		reply_fail(r, json, 1, "%s", ch.why);
	else if (render_members_change(d->cfg->groups[gi].name,
				       add ? "added" : "deleted", &ch.changed,
				       &ch.same, ch.members, json, &text) < 0)
		reply_fail(r, json, 1, "out of memory");
	else
		reply_render(r, json, 0, text, "members");
	membership_change_free(&ch);
	cidr_list_free(&req);
}

static void cmd_members(struct sgd *d, const struct sgd_client *c,
			const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	const char *sub = req->argc ? req->argv[0] : "";
	int argc = (int)req->argc - 1;
	const char **argv = req->argv + 1;

	if (strcmp(sub, "list") == 0) {
		members_list(d, argc, argv, json, r);
		return;
	}
	if (strcmp(sub, "add") != 0 && strcmp(sub, "del") != 0) {
		reply_fail(r, json, 2, "usage: members list GROUP | members "
			      "add|del GROUP ADDR...");
		return;
	}
	if (!dispatch_client_may_mutate(d, c)) {
		char who[160];

		reply_fail(r, json, 1, "permission denied: 'members %s' "
			      "changes the firewall and needs %s (you are uid "
			      "%ld)", sub, needs_whom(d, who, sizeof(who)),
			      (long)c->uid);
		return;
	}
	membatch_begin(d);
	members_change(d, sub[0] == 'a', argc, argv, json, r);
	/* answered once the batch is in the kernel and the journal */
	membatch_queue_answer(d);
}

/* fleet status|leave: leaving changes every host's membership, so it
 * needs what any change needs; status is read-only. */
static void cmd_fleet(struct sgd *d, const struct sgd_client *c,
		      const struct proto_req *req, struct proto_resp *r)
{
	fleet_request(d, dispatch_client_may_mutate(d, c), req, r);
}

/* sgd's handler of each command sgctl sends it (SG_CMD_DAEMON in
 * common/command.c, where the names are). */
static sgd_command_fn *const dispatch_cmds[SG_N_CMDS] = {
	[SG_CMD_STATUS] = cmd_status,
	[SG_CMD_RELOAD] = cmd_reload,
	[SG_CMD_SHOW] = cmd_show,
	[SG_CMD_DIFF] = cmd_diff,
	[SG_CMD_EXPLAIN] = cmd_explain,
	[SG_CMD_MEMBERS] = cmd_members,
	[SG_CMD_STATS] = cmd_stats,
	[SG_CMD_APPLY] = confirm_apply,
	[SG_CMD_CONFIRM] = confirm_confirm,
	[SG_CMD_FLEET] = cmd_fleet,
	[SG_CMD_DISABLE] = disable_run,
	[SG_CMD_ENABLE] = enable_run,
	[SG_CMD_LOG] = droplog_request,
	[SG_CMD_VERSION] = cmd_version,
};

void dispatch_request(struct sgd *d, const struct sgd_client *c,
		      const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	const char *name = req->cmd;
	const struct sg_command *cmd = command_find(name);
	sgd_command_fn *fn = cmd ? dispatch_cmds[command_id(cmd)] : NULL;
	unsigned flags = fn ? cmd->flags : 0;
	char words[256];

	membatch_before_request(d, name, req->argc ? req->argv[0] : NULL);
	if ((flags & SG_CMD_MUTATES) && !dispatch_client_may_mutate(d, c)) {
		char who[160];

		reply_fail(r, json, 1, "permission denied: '%s' changes the "
			      "firewall and needs %s (you are uid %ld); "
			      "read-only commands (%s) are allowed", name,
			      needs_whom(d, who, sizeof(who)), (long)c->uid,
			      command_names(words, sizeof(words), SG_CMD_DAEMON,
					    true, ", "));
		return;
	}
	/* what a disabled sgd still answers: the rest shows or changes
	 * rules that are not in the kernel */
	if (d->disabled && !(flags & SG_CMD_WHILE_DISABLED)) {
		char tb[64];

		reply_fail(r, json, 1, "sgd is disabled (`sgctl disable` at "
			      "%s): no rules of sgd are in force; `sgctl enable` "
			      "commits the configuration again",
			      fmt_time(d->disabled_since, tb, sizeof(tb)));
		return;
	}
	if (fn)
		fn(d, c, req, r);
	else
		reply_fail(r, json, 2, "unknown command '%s' (sgd %s knows: %s)",
			   name, SGD_VERSION, command_names(words, sizeof(words),
							    SG_CMD_DAEMON, false, " "));
}
