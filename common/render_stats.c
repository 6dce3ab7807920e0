/*
 * render_stats.c — `sgctl stats`: packets and bytes per rule.
 */
#include <errno.h>
#include <stdio.h>

#include "render.h"
#include "render_fmt.h"

static const char *stats_kind(enum sg_counter_kind k)
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

/* Every kind is counted per direction (the failsafe rules are inbound). */
static bool stats_has_dir(enum sg_counter_kind k)
{
	return k == SG_CNT_RULE || k == SG_CNT_DROP || k == SG_CNT_FAILSAFE ||
	       k == SG_CNT_IMPLICIT || k == SG_CNT_STATEFUL;
}

int render_stats(const struct sg_config *cfg, const struct sg_counter *c,
		 size_t n, bool json, char **out)
{
	static const char *const hdr[] = {
		"KIND", "GROUP", "DIR", "RULE", "PROTOCOL", "PORTS/ICMP",
		"PACKETS", "BYTES", "DESCRIPTION",
	};
	struct out_buf b;
	struct out_table t;
	size_t i;
	int r;

	*out = NULL;
	out_init(&b);
	if (json) {
		struct json_w j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_key(&j, "counters");
		json_arr_begin(&j);
		for (i = 0; i < n; i++) {
			const struct sg_rule *rule = fmt_counter_rule(cfg, &c[i]);
			bool dir = stats_has_dir(c[i].kind);

			json_obj_begin(&j);
			json_kstr(&j, "kind", stats_kind(c[i].kind));
			json_kstr(&j, "name", c[i].kind == SG_CNT_IMPLICIT ? c[i].name : NULL);
			json_kstr(&j, "group", c[i].kind == SG_CNT_RULE ?
				  fmt_group(cfg, c[i].group_idx) : NULL);
			json_kstr(&j, "direction", dir ? fmt_dir(c[i].dir) : NULL);
			json_kbool(&j, "forward", c[i].forward);
			if (c[i].kind == SG_CNT_RULE || c[i].kind == SG_CNT_FAILSAFE)
				json_kint(&j, "rule", c[i].rule_index);
			else
				json_knull(&j, "rule");
			json_kstr(&j, "description", rule ? rule->description : NULL);
			json_kuint(&j, "packets", c[i].packets);
			json_kuint(&j, "bytes", c[i].bytes);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		out_putc(&b, '\n');
		return out_finish(&b, out);
	}
	r = table_init(&t, sizeof(hdr) / sizeof(hdr[0]), hdr);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		const struct sg_rule *rule = fmt_counter_rule(cfg, &c[i]);
		char rb[16], pk[32], by[32], pb[FMT_LEN], portb[FMT_LEN];
		const char *row[9];

		snprintf(rb, sizeof(rb), "%d", c[i].rule_index);
		snprintf(pk, sizeof(pk), "%llu", (unsigned long long)c[i].packets);
		snprintf(by, sizeof(by), "%llu", (unsigned long long)c[i].bytes);
		row[0] = stats_kind(c[i].kind);
		row[1] = c[i].kind == SG_CNT_RULE ? fmt_group(cfg, c[i].group_idx) :
			c[i].kind == SG_CNT_IMPLICIT && c[i].name ? c[i].name : "-";
		row[2] = stats_has_dir(c[i].kind) ? fmt_counter_dir(&c[i]) : "-";
		row[3] = c[i].kind == SG_CNT_RULE || c[i].kind == SG_CNT_FAILSAFE ? rb : "-";
		row[4] = rule ? fmt_proto(rule->proto, pb, sizeof(pb)) : "-";
		row[5] = rule ? fmt_ports(rule, portb, sizeof(portb)) : "-";
		row[6] = pk;
		row[7] = by;
		row[8] = rule && rule->description ? rule->description :
			rule && rule->implicit_default ? "(default egress)" : "";
		table_add(&t, row);
	}
	table_render(&t, &b);
	table_free(&t);
	if (n == 0)
		out_puts(&b, "(no counters)\n");
	return out_finish(&b, out);
}
