/*
 * render_metrics.c — `sgctl stats --format openmetrics|prometheus`: the
 * rule counters and the daemon's own figures as a metrics exposition.
 *
 * Two formats from one list of families:
 *  - OpenMetrics 1.0: "# TYPE sgd_rule_packets counter", samples named
 *    sgd_rule_packets_total, and a final "# EOF";
 *  - the Prometheus text format 0.0.4 (what node_exporter's textfile
 *    collector and `promtool check metrics` parse): the TYPE line names
 *    the sample, "# TYPE sgd_rule_packets_total counter", and no EOF.
 * Label values are escaped as both formats require (\\, \", \n); every
 * other byte of a group name is passed as is (names are validated by the
 * loader; labels are UTF-8 in both formats).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "render_fmt.h"

struct metrics_w {
	struct out_buf *b;
	enum sg_metrics_format fmt;
};

/* Start a family: base is the name without the _total of a counter. */
static void metrics_family(struct metrics_w *w, const char *base,
			   const char *type, const char *help)
{
	bool counter = strcmp(type, "counter") == 0;

	if (w->fmt == SG_METRICS_OPENMETRICS) {
		out_printf(w->b, "# TYPE %s %s\n", base, type);
		out_printf(w->b, "# HELP %s %s\n", base, help);
	} else {
		out_printf(w->b, "# HELP %s%s %s\n", base, counter ? "_total" : "", help);
		out_printf(w->b, "# TYPE %s%s %s\n", base, counter ? "_total" : "", type);
	}
}

static void metrics_label_value(struct out_buf *b, const char *s)
{
	out_putc(b, '"');
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			out_putc(b, '\\');
		if (*s == '\n') {
			out_puts(b, "\\n");
			continue;
		}
		out_putc(b, *s);
	}
	out_putc(b, '"');
}

/* One sample: labels is a NULL-terminated list of name, value pairs. */
static void metrics_sample(struct metrics_w *w, const char *name,
			   const char *const *labels, const char *value)
{
	out_puts(w->b, name);
	if (labels && labels[0]) {
		out_putc(w->b, '{');
		for (size_t i = 0; labels[i]; i += 2) {
			if (i)
				out_putc(w->b, ',');
			out_printf(w->b, "%s=", labels[i]);
			metrics_label_value(w->b, labels[i + 1]);
		}
		out_putc(w->b, '}');
	}
	out_printf(w->b, " %s\n", value);
}

static void metrics_u64(struct metrics_w *w, const char *name,
			const char *const *labels, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	metrics_sample(w, name, labels, buf);
}

static const char *metrics_kind(enum sg_counter_kind k)
{
	switch (k) {
	case SG_CNT_RULE: return "rule";
	case SG_CNT_FAILSAFE: return "failsafe";
	case SG_CNT_IMPLICIT: return "implicit";
	case SG_CNT_STATEFUL: return "stateful";
	case SG_CNT_DROP: return "drop";
	}
	return "?";
}

/* The rule counters, packets then bytes: one family each. */
static void metrics_counters(struct metrics_w *w, const struct sg_metrics *m,
			     bool bytes)
{
	const char *name = bytes ? "sgd_rule_bytes_total" : "sgd_rule_packets_total";

	metrics_family(w, bytes ? "sgd_rule_bytes" : "sgd_rule_packets", "counter",
		       bytes ? "Bytes matched per sgd rule (kind: rule, failsafe, "
		       "implicit, stateful, drop)." :
		       "Packets matched per sgd rule (kind: rule, failsafe, "
		       "implicit, stateful, drop).");
	for (size_t i = 0; i < m->n_counters; i++) {
		const struct sg_counter *c = &m->counters[i];
		const struct sg_rule *r = fmt_counter_rule(m->cfg, c);
		char rb[16], pb[FMT_LEN], portb[FMT_LEN];
		const char *group = "", *rule = "";
		const char *labels[13];

		if (c->kind == SG_CNT_RULE)
			group = fmt_group(m->cfg, c->group_idx);
		if (c->kind == SG_CNT_RULE || c->kind == SG_CNT_FAILSAFE) {
			snprintf(rb, sizeof(rb), "%d", c->rule_index);
			rule = rb;
		} else if (c->kind == SG_CNT_IMPLICIT && c->name) {
			rule = c->name;
		}
		labels[0] = "kind";
		labels[1] = metrics_kind(c->kind);
		labels[2] = "group";
		labels[3] = group;
		labels[4] = "direction";
		labels[5] = fmt_counter_dir(c);
		labels[6] = "rule";
		labels[7] = rule;
		labels[8] = "protocol";
		labels[9] = r ? fmt_proto(r->proto, pb, sizeof(pb)) : "";
		labels[10] = "ports";
		labels[11] = r ? fmt_ports(r, portb, sizeof(portb)) : "";
		labels[12] = NULL;
		metrics_u64(w, name, labels, bytes ? c->bytes : c->packets);
	}
}

static void metrics_members(struct metrics_w *w, const struct sg_metrics *m)
{
	metrics_family(w, "sgd_group_members", "gauge",
		       "Effective members of a peer group (YAML, members.d and "
		       "run-time).");
	for (size_t i = 0; m->cfg && i < m->cfg->n_groups; i++) {
		const char *labels[] = { "group", m->cfg->groups[i].name, NULL };

		metrics_u64(w, "sgd_group_members", labels,
			    fmt_member_count(m->cfg, m->members, (int)i));
	}
}

static void metrics_one(struct metrics_w *w, const char *base, const char *type,
			const char *help, unsigned long long v)
{
	char name[128];

	metrics_family(w, base, type, help);
	snprintf(name, sizeof(name), "%s%s", base,
		 strcmp(type, "counter") == 0 ? "_total" : "");
	metrics_u64(w, name, NULL, v);
}

int render_metrics(const struct sg_metrics *m, enum sg_metrics_format fmt,
		   char **out)
{
	struct out_buf b;
	struct metrics_w w = { .b = &b, .fmt = fmt };
	const char *info[] = { "version", m->version ? m->version : "",
			       "table", m->table ? m->table : "", NULL };

	*out = NULL;
	if (fmt != SG_METRICS_OPENMETRICS && fmt != SG_METRICS_PROMETHEUS)
		return -EINVAL;
	out_init(&b);
	/* OpenMetrics has an info type; the text format calls it a gauge */
	if (fmt == SG_METRICS_OPENMETRICS)
		metrics_family(&w, "sgd", "info", "sgd's version and table.");
	else
		metrics_family(&w, "sgd_info", "gauge", "sgd's version and table "
			       "(always 1).");
	metrics_sample(&w, "sgd_info", info, "1");
	metrics_one(&w, "sgd_enabled", "gauge", "1 while sgd enforces its rules, "
		    "0 after `sgctl disable`.", m->enabled ? 1 : 0);
	metrics_one(&w, "sgd_start_time_seconds", "gauge",
		    "When the running sgd started (Unix time).",
		    (unsigned long long)m->started);
	metrics_counters(&w, m, false);
	metrics_counters(&w, m, true);
	metrics_members(&w, m);
	metrics_one(&w, "sgd_reloads", "counter", "Reloads (sgctl reload, SIGHUP) "
		    "since sgd started, failed ones included.", m->reloads);
	metrics_one(&w, "sgd_reload_failures", "counter", "Reloads that failed "
		    "(the previous rules stayed) since sgd started.",
		    m->reload_failures);
	metrics_one(&w, "sgd_last_reload_timestamp_seconds", "gauge",
		    "When the configuration was last committed or a reload last "
		    "failed (Unix time; 0 = never).",
		    (unsigned long long)m->last_reload);
	metrics_one(&w, "sgd_last_reload_success", "gauge",
		    "1 when the last reload succeeded, else 0.",
		    m->last_reload_ok ? 1 : 0);
	metrics_one(&w, "sgd_drift_detected", "counter", "Changes of sgd's table "
		    "by other processes since sgd started.", m->drift_detected);
	metrics_one(&w, "sgd_drift_repairs", "counter", "Such changes that sgd "
		    "undid (on_drift: repair).", m->drift_repaired);
	metrics_one(&w, "sgd_drift_resyncs", "counter", "Resynchronisations after "
		    "lost nftables events.", m->drift_resyncs);
	metrics_one(&w, "sgd_droplog_entries", "counter", "Dropped packets sgd "
		    "logged (log_denied: true).", m->drop_entries);
	metrics_one(&w, "sgd_droplog_suppressed", "counter", "Dropped-packet "
		    "messages sgd did not log because of its own rate limit.",
		    m->drop_suppressed);
	if (fmt == SG_METRICS_OPENMETRICS)
		out_puts(&b, "# EOF\n");
	return out_finish(&b, out);
}
