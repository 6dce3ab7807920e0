/*
 * render_show.c — `sgctl show`: the effective rules of this host.
 *
 * One row per (rule, peer) like the seed's tables, in the order sgd
 * evaluates them: implicit allowances, failsafe rules, then the groups
 * attached to every interface and the per-interface groups.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "explain.h"
#include "render.h"
#include "render_fmt.h"

enum { COL_DIR, COL_GROUP, COL_IFACE, COL_PROTO, COL_NUM, COL_PORTS,
       COL_PEER, COL_DESC, NCOLS };

static const char *const show_headers[NCOLS] = {
	"DIR", "GROUP", "IFACE", "PROTOCOL", "NUMBER", "PORTS/ICMP",
	"SOURCE/DESTINATION", "DESCRIPTION",
};

struct show_ctx {
	const struct sg_config *cfg;
	const struct sg_members *m;
	bool json;
	struct json_w j;
	struct out_table t;
};

/* One row: origin is "implicit", "failsafe" or "group". */
struct show_row {
	const char *origin;
	const char *implicit;
	const char *group;
	const char *iface;	/* NULL = every interface */
	int rule_index;		/* 0 = none */
	const struct sg_rule *rule;
	const struct sg_peer *peer;	/* NULL: peer_text */
	const char *peer_text;
	const char *description;
	const char *ports_text;	/* overrides the rule's ports/ICMP column */
};

static void show_emit(struct show_ctx *c, const struct show_row *row)
{
	char pb[FMT_LEN], nb[16], portb[FMT_LEN], peerb[FMT_LEN + 384];
	const struct sg_rule *r = row->rule;

	if (c->json) {
		struct json_w *j = &c->j;

		json_obj_begin(j);
		json_kstr(j, "origin", row->origin);
		json_kstr(j, "implicit", row->implicit);
		json_kstr(j, "direction", fmt_dir(r->dir));
		json_kstr(j, "group", row->group);
		json_kstr(j, "interface", row->iface);
		if (row->rule_index > 0)
			json_kint(j, "rule", row->rule_index);
		else
			json_knull(j, "rule");
		fmt_json_rule_l4(j, r);
		if (row->peer) {
			fmt_json_peer(j, c->cfg, c->m, row->peer);
		} else {
			json_kstr(j, "peer", row->peer_text);
			json_kbool(j, "peer_group", false);
			json_knull(j, "peer_members");
			json_knull(j, "prefix_list");
			json_knull(j, "prefix_list_id");
			json_knull(j, "prefix_list_entry");
		}
		json_kstr(j, "description", row->description);
		json_kbool(j, "default_egress", r->implicit_default);
		fmt_json_pos(j, row->rule_index > 0 ? &r->pos : NULL);
		json_obj_end(j);
		return;
	}
	{
		const char *cells[NCOLS];

		snprintf(nb, sizeof(nb), "%d", fmt_proto_number(r->proto));
		cells[COL_DIR] = fmt_dir(r->dir);
		cells[COL_GROUP] = row->group ? row->group : row->origin[0] == 'i' ?
			"(implicit)" : "(failsafe)";
		cells[COL_IFACE] = row->iface ? row->iface : "*";
		cells[COL_PROTO] = fmt_proto(r->proto, pb, sizeof(pb));
		cells[COL_NUM] = nb;
		cells[COL_PORTS] = row->ports_text ? row->ports_text :
			fmt_ports(r, portb, sizeof(portb));
		cells[COL_PEER] = row->peer ?
			fmt_peer(c->cfg, c->m, row->peer, peerb, sizeof(peerb)) :
			row->peer_text;
		cells[COL_DESC] = row->description ? row->description : "";
		table_add(&c->t, cells);
	}
}

static void show_implicit(struct show_ctx *c)
{
	size_t n, i;
	const struct sg_implicit_rule *ir = explain_implicit_rules(&n);

	for (i = 0; i < n; i++) {
		struct sg_rule r = {
			.dir = ir[i].dir, .proto = ir[i].proto,
			.port_lo = ir[i].port, .port_hi = ir[i].port,
			.icmp_type = ir[i].icmp_type, .icmp_code = -1,
		};
		bool lo = !strcmp(ir[i].peer, "lo");
		char tb[FMT_LEN];
		struct show_row row = {
			.origin = "implicit", .implicit = ir[i].name,
			.iface = lo ? "lo" : NULL, .rule = &r,
			.peer_text = lo ? "any" : ir[i].peer,
			.description = ir[i].description,
		};

		if (ir[i].icmp_type >= 0 && ir[i].icmp_type_hi > ir[i].icmp_type) {
			snprintf(tb, sizeof(tb), "types %d-%d", ir[i].icmp_type,
				 ir[i].icmp_type_hi);
			row.ports_text = tb;
		}

		if (explain_implicit_enabled(c->cfg, ir[i].name))
			show_emit(c, &row);
	}
}

static void show_rules(struct show_ctx *c, const char *origin, const char *group,
		       const char *iface, const struct sg_rule *rules, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		const struct sg_rule *r = &rules[i];

		for (k = 0; k < r->n_peers; k++) {
			struct show_row row = {
				.origin = origin, .group = group, .iface = iface,
				.rule_index = r->index > 0 ? r->index : (int)i + 1,
				.rule = r, .peer = &r->peers[k],
				.description = r->description ? r->description :
					r->implicit_default ? "(default egress: all traffic)" : NULL,
			};
			show_emit(c, &row);
		}
	}
}

static void show_group(struct show_ctx *c, int gi, const char *iface)
{
	const struct sg_group *g;

	if (gi < 0 || (size_t)gi >= c->cfg->n_groups)
		return;
	g = &c->cfg->groups[gi];
	show_rules(c, "group", g->name, iface, g->ingress, g->n_ingress);
	show_rules(c, "group", g->name, iface, g->egress, g->n_egress);
}

static bool in_attach(const struct sg_config *cfg, size_t upto, int gi)
{
	size_t i;

	for (i = 0; i < upto && i < cfg->n_attach; i++)
		if (cfg->attach[i].group_idx == gi)
			return true;
	return false;
}

/* Calls fn for every (group, interface) pair that applies, once each. */
static void show_each_attached(const struct sg_config *cfg,
			       void (*fn)(void *, int, const char *), void *arg)
{
	size_t i, k, j;

	for (i = 0; i < cfg->n_attach; i++)
		if (!in_attach(cfg, i, cfg->attach[i].group_idx))
			fn(arg, cfg->attach[i].group_idx, NULL);
	for (i = 0; i < cfg->n_ifaces; i++) {
		const struct sg_iface *f = &cfg->ifaces[i];

		for (k = 0; k < f->n_groups; k++) {
			int gi = f->groups[k].group_idx;
			bool dup = in_attach(cfg, cfg->n_attach, gi);

			for (j = 0; j < k; j++)
				dup |= f->groups[j].group_idx == gi;
			if (!dup)
				fn(arg, gi, f->ifname);
		}
	}
}

static void show_group_cb(void *arg, int gi, const char *iface)
{
	show_group(arg, gi, iface);
}

static void show_attached_cb(void *arg, int gi, const char *iface)
{
	struct show_ctx *c = arg;

	json_obj_begin(&c->j);
	json_kstr(&c->j, "group", fmt_group(c->cfg, gi));
	json_kstr(&c->j, "interface", iface);
	json_obj_end(&c->j);
}

/* What the rules above mean for forwarded traffic (compile_forward.c). */
static void show_forward(struct out_buf *b, const struct sg_config *cfg)
{
	if (cfg->forward == SG_FWD_OFF) {
		out_puts(b, "\nForwarded traffic is not filtered (forward: off): containers' "
			 "published ports\nand their connections out bypass these rules.\n");
		return;
	}
	out_printf(b, "\nForwarded traffic (forward: %s): the group rules above, without the "
		   "implicit\nand failsafe ones, also judge new connections forwarded to a local "
		   "container\n(ingress, on the port the client used: `-p 8080:80` needs a rule "
		   "for 8080)\nand from one (egress).%s\n", sg_forward_name(cfg->forward),
		   cfg->forward == SG_FWD_ALL ? "  Traffic routed between two outside networks "
		   "must pass\nboth the ingress and the egress rules." : "");
}

int render_show(const struct sg_config *cfg, const struct sg_members *m,
		bool json, char **out)
{
	struct out_buf b;
	struct show_ctx c = { .cfg = cfg, .m = m, .json = json };
	int r;

	*out = NULL;
	if (!cfg)
		return -EINVAL;
	out_init(&b);
	if (json) {
		json_init(&c.j, &b);
		json_obj_begin(&c.j);
		json_kstr(&c.j, "table", cfg->table ? cfg->table : "sgd");
		json_kbool(&c.j, "stateful", true);
		json_kstr(&c.j, "forward", sg_forward_name(cfg->forward));
		json_key(&c.j, "attached");
		json_arr_begin(&c.j);
		show_each_attached(cfg, show_attached_cb, &c);
		json_arr_end(&c.j);
		json_key(&c.j, "rules");
		json_arr_begin(&c.j);
		show_implicit(&c);
		show_rules(&c, "failsafe", NULL, NULL, cfg->failsafe, cfg->n_failsafe);
		show_each_attached(cfg, show_group_cb, &c);
		json_arr_end(&c.j);
		json_obj_end(&c.j);
		out_putc(&b, '\n');
		return out_finish(&b, out);
	}
	r = table_init(&c.t, NCOLS, show_headers);
	if (r < 0)
		return r;
	show_implicit(&c);
	show_rules(&c, "failsafe", NULL, NULL, cfg->failsafe, cfg->n_failsafe);
	show_each_attached(cfg, show_group_cb, &c);
	out_printf(&b, "table inet %s\n", cfg->table ? cfg->table : "sgd");
	if (cfg->n_attach == 0 && cfg->n_ifaces == 0)
		out_puts(&b, "no groups attached: every new inbound and outbound packet not allowed above is dropped\n");
	out_putc(&b, '\n');
	table_render(&c.t, &b);
	table_free(&c.t);
	out_puts(&b, "\nReplies to allowed traffic pass both ways (conntrack established,related);\n"
		 "any other new packet is dropped.\n");
	show_forward(&b, cfg);
	return out_finish(&b, out);
}
