/*
 * render_status.c — `sgctl status`: what the daemon is running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "render.h"
#include "render_fmt.h"

struct status_att {
	int gi;
	const char *iface;	/* NULL = every interface */
};

static bool status_seen(const struct status_att *v, size_t n, int gi, const char *iface)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].gi == gi && (!v[i].iface || v[i].iface == iface))
			return true;
	return false;
}

/* The (group, interface) pairs in force, each once.  *out is malloc'd. */
static int status_attached(const struct sg_config *cfg, struct status_att **out, size_t *n)
{
	size_t cap = cfg->n_attach, i, k;
	struct status_att *v;

	for (i = 0; i < cfg->n_ifaces; i++)
		cap += cfg->ifaces[i].n_groups;
	v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*n = 0;
	for (i = 0; i < cfg->n_attach; i++)
		if (!status_seen(v, *n, cfg->attach[i].group_idx, NULL))
			v[(*n)++] = (struct status_att){ cfg->attach[i].group_idx, NULL };
	for (i = 0; i < cfg->n_ifaces; i++)
		for (k = 0; k < cfg->ifaces[i].n_groups; k++) {
			int gi = cfg->ifaces[i].groups[k].group_idx;

			if (!status_seen(v, *n, gi, cfg->ifaces[i].ifname))
				v[(*n)++] = (struct status_att){ gi, cfg->ifaces[i].ifname };
		}
	*out = v;
	return 0;
}

static size_t status_rules(const struct sg_group *g)
{
	return g->n_ingress + g->n_egress;
}

static void status_json_time(struct json_w *j, const char *key, time_t t)
{
	char b[64];

	if (t)
		json_kstr(j, key, fmt_time(t, b, sizeof(b)));
	else
		json_knull(j, key);
}

static const char *status_on_drift(const struct sg_config *cfg)
{
	if (!cfg)
		return NULL;
	return cfg->on_drift == SG_DRIFT_WARN ? "warn" : "repair";
}

/* "drift": what others did to our table (daemon/drift.c). */
static void status_json_drift(struct json_w *j, const struct sg_status *st)
{
	json_key(j, "drift");
	json_obj_begin(j);
	json_kbool(j, "watching", st->drift_watching);
	json_kstr(j, "on_drift", status_on_drift(st->cfg));
	json_kuint(j, "detected", st->drift_detected);
	json_kuint(j, "repaired", st->drift_repaired);
	json_kuint(j, "resyncs", st->drift_resyncs);
	status_json_time(j, "last_resync", st->last_resync);
	if (!st->last_drift) {
		json_knull(j, "last");
	} else {
		json_key(j, "last");
		json_obj_begin(j);
		status_json_time(j, "time", st->last_drift);
		if (st->last_drift_pid)
			json_kint(j, "pid", st->last_drift_pid);
		else
			json_knull(j, "pid");
		json_kstr(j, "process", st->last_drift_process);
		json_kstr(j, "summary", st->last_drift_summary);
		json_kbool(j, "repaired", st->last_drift_repaired);
		json_kstr(j, "result", st->last_drift_result);
		json_obj_end(j);
	}
	json_obj_end(j);
}

static void status_text_drift(struct out_buf *b, const struct sg_status *st)
{
	const char *mode = status_on_drift(st->cfg);
	char tb[64];

	if (!st->drift_watching) {
		out_puts(b, "drift:        not watched (see the log)\n");
		return;
	}
	if (!st->drift_detected)
		out_printf(b, "drift:        no change by others seen (on_drift: %s)\n",
			   mode ? mode : "-");
	else
		out_printf(b, "drift:        %lu change%s by others, %lu repaired "
			   "(on_drift: %s)\n", st->drift_detected,
			   st->drift_detected == 1 ? "" : "s", st->drift_repaired,
			   mode ? mode : "-");
	if (st->last_drift) {
		if (st->last_drift_pid) {
			/* the process name is anyone's choice (prctl, exec) */
			out_printf(b, "              last at %s by pid %ld (",
				   fmt_time(st->last_drift, tb, sizeof(tb)),
				   st->last_drift_pid);
			out_puts_esc(b, st->last_drift_process ?
				     st->last_drift_process : "?");
			out_printf(b, "): %s\n", st->last_drift_summary ?
				   st->last_drift_summary : "?");
		} else
			out_printf(b, "              last at %s (unknown process): %s\n",
				   fmt_time(st->last_drift, tb, sizeof(tb)),
				   st->last_drift_summary ? st->last_drift_summary : "?");
		out_printf(b, "              %s\n", st->last_drift_result ?
			   st->last_drift_result : (st->last_drift_repaired ?
						    "repaired" : "not repaired"));
	}
	if (st->drift_resyncs)
		out_printf(b, "              %lu resync%s after lost events, last at %s\n",
			   st->drift_resyncs, st->drift_resyncs == 1 ? "" : "s",
			   fmt_time(st->last_resync, tb, sizeof(tb)));
}

int render_status(const struct sg_status *st, bool json, char **out)
{
	const struct sg_config *cfg = st->cfg;
	struct status_att *att = NULL;
	size_t n_att = 0, i, n_rules = 0, n_members = 0;
	struct out_buf b;
	char tb[64];
	time_t now = time(NULL);
	long left = st->confirm_deadline ? (long)(st->confirm_deadline - now) : 0;
	int r;

	*out = NULL;
	if (cfg) {
		r = status_attached(cfg, &att, &n_att);
		if (r < 0)
			return r;
		for (i = 0; i < n_att; i++) {
			if (att[i].gi < 0 || (size_t)att[i].gi >= cfg->n_groups)
				continue;
			n_rules += status_rules(&cfg->groups[att[i].gi]);
		}
		for (i = 0; i < cfg->n_groups; i++)
			n_members += fmt_member_count(cfg, st->members, (int)i);
	}
	if (left < 0)
		left = 0;
	out_init(&b);
	if (json) {
		struct json_w j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kstr(&j, "version", st->version);
		json_kint(&j, "pid", st->pid);
		json_kstr(&j, "confdir", st->confdir);
		json_kstr(&j, "table", st->table);
		json_kstr(&j, "state", st->disabled ? "disabled" : "enabled");
		if (st->disabled)
			status_json_time(&j, "disabled_since", st->disabled_since);
		else
			json_knull(&j, "disabled_since");
		status_json_time(&j, "started", st->started);
		status_json_time(&j, "last_reload", st->last_reload);
		json_kbool(&j, "last_reload_ok", st->last_reload_ok);
		json_kstr(&j, "last_reload_error", st->last_reload_error);
		status_json_time(&j, "confirm_deadline", st->confirm_deadline);
		if (st->confirm_deadline)
			json_kint(&j, "confirm_seconds_left", left);
		else
			json_knull(&j, "confirm_seconds_left");
		status_json_drift(&j, st);
		json_key(&j, "drop_log");
		json_obj_begin(&j);
		json_kbool(&j, "reading", st->droplog_reading);
		json_kuint(&j, "kept", st->droplog_kept);
		json_kuint(&j, "logged", st->droplog_logged);
		json_kuint(&j, "suppressed", st->droplog_suppressed);
		json_obj_end(&j);
		json_kbool(&j, "config_loaded", cfg != NULL);
		json_kuint(&j, "groups", cfg ? cfg->n_groups : 0);
		json_kuint(&j, "rules", n_rules);
		json_kuint(&j, "failsafe_rules", cfg ? cfg->n_failsafe : 0);
		json_kuint(&j, "members", n_members);
		json_key(&j, "attached");
		json_arr_begin(&j);
		for (i = 0; i < n_att; i++) {
			const struct sg_group *g = att[i].gi >= 0 &&
				(size_t)att[i].gi < cfg->n_groups ? &cfg->groups[att[i].gi] : NULL;

			json_obj_begin(&j);
			json_kstr(&j, "group", fmt_group(cfg, att[i].gi));
			json_kstr(&j, "interface", att[i].iface);
			json_kuint(&j, "ingress_rules", g ? g->n_ingress : 0);
			json_kuint(&j, "egress_rules", g ? g->n_egress : 0);
			json_kuint(&j, "members", fmt_member_count(cfg, st->members, att[i].gi));
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		out_putc(&b, '\n');
	} else {
		out_printf(&b, "sgd %s (pid %ld), running since %s\n",
			   st->version ? st->version : "?", st->pid,
			   fmt_time(st->started, tb, sizeof(tb)));
		out_printf(&b, "config dir:   %s\n", st->confdir ? st->confdir : "-");
		out_printf(&b, "table:        inet %s\n", st->table ? st->table : "-");
		if (st->disabled)
			out_printf(&b, "state:        DISABLED since %s: no rules of sgd "
				   "in force (`sgctl enable` commits them again)\n",
				   fmt_time(st->disabled_since, tb, sizeof(tb)));
		else
			out_puts(&b, "state:        enabled\n");
		out_printf(&b, "last reload:  %s, %s\n", fmt_time(st->last_reload, tb, sizeof(tb)),
			   st->last_reload == 0 ? "-" : st->last_reload_ok ? "ok" : "FAILED");
		if (st->last_reload_error)
			out_printf(&b, "              %s\n", st->last_reload_error);
		if (st->confirm_deadline)
			out_printf(&b, "pending:      apply rolls back at %s (%ld s left) unless `sgctl confirm`\n",
				   fmt_time(st->confirm_deadline, tb, sizeof(tb)), left);
		else
			out_puts(&b, "pending:      none\n");
		status_text_drift(&b, st);
		if (st->droplog_reading)
			out_printf(&b, "drop log:     reading NFLOG group 100; %llu kept, "
				   "%llu logged, %llu held back (`sgctl log`)\n",
				   st->droplog_kept, st->droplog_logged,
				   st->droplog_suppressed);
		else if (cfg && cfg->log_denied && !st->disabled)
			out_puts(&b, "drop log:     NOT reading NFLOG group 100 (see "
				 "the log)\n");
		else
			out_puts(&b, "drop log:     off (log_denied: false)\n");
		if (!cfg) {
			out_puts(&b, "no configuration loaded\n");
		} else {
			out_printf(&b, "groups:       %zu defined, %zu attached; %zu rules in force, "
				   "%zu failsafe, %zu members\n", cfg->n_groups, n_att, n_rules,
				   cfg->n_failsafe, n_members);
			out_puts(&b, "attached:\n");
			if (n_att == 0)
				out_puts(&b, "  (none: every new packet is dropped)\n");
			for (i = 0; i < n_att; i++) {
				const struct sg_group *g = att[i].gi >= 0 &&
					(size_t)att[i].gi < cfg->n_groups ? &cfg->groups[att[i].gi] : NULL;

				out_printf(&b, "  %-24s on %-12s %zu in, %zu out, %zu members\n",
					   fmt_group(cfg, att[i].gi),
					   att[i].iface ? att[i].iface : "every iface",
					   g ? g->n_ingress : 0, g ? g->n_egress : 0,
					   fmt_member_count(cfg, st->members, att[i].gi));
			}
		}
	}
	free(att);
	return out_finish(&b, out);
}
