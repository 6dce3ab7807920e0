/*
 * render_explain.c — `sgctl explain`: which rule allows a packet, or that
 * none does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "explain.h"
#include "render.h"
#include "render_fmt.h"

#define EXPLAIN_MAX_MATCHES 256

static const char *explain_kind(enum sg_match_kind k)
{
	switch (k) {
	case SG_MATCH_IMPLICIT: return "implicit";
	case SG_MATCH_FAILSAFE: return "failsafe";
	case SG_MATCH_RULE: return "rule";
	case SG_MATCH_NONE: break;
	}
	return "none";
}

/* "in tcp 22 from 10.0.0.5" */
static void explain_probe_text(struct out_buf *b, const struct sg_probe *p)
{
	char ab[INET6_ADDRSTRLEN], pb[FMT_LEN];

	inet_ntop(p->family, p->addr, ab, sizeof(ab));
	out_printf(b, "%s %s", fmt_dir(p->dir), fmt_proto(p->proto, pb, sizeof(pb)));
	if (p->port >= 0)
		out_printf(b, " port %d", p->port);
	if (p->icmp_type >= 0)
		out_printf(b, " type %d code %d", p->icmp_type, p->icmp_code);
	out_printf(b, " %s %s", p->dir == SG_DIR_IN ? "from" : "to", ab);
	out_printf(b, " on %s", p->ifname ? p->ifname : "any interface");
	if (p->forwarded)
		out_puts(b, p->dir == SG_DIR_IN ? ", forwarded to a local container" :
			 ", forwarded from a local container");
}

static void explain_match_text(struct out_buf *b, const struct sg_config *cfg,
			       const struct sg_members *m, const struct sg_match *mt)
{
	char pb[FMT_LEN], portb[FMT_LEN], peerb[FMT_LEN + 384];
	const struct sg_rule *r = mt->rule;

	if (mt->kind == SG_MATCH_IMPLICIT) {
		out_printf(b, "implicit allowance '%s' (sgd.yaml implicit: %s: true)",
			   mt->implicit, mt->implicit);
		return;
	}
	if (mt->kind == SG_MATCH_FAILSAFE)
		out_printf(b, "failsafe rule %d", mt->rule_index);
	else
		out_printf(b, "group %s, %s rule %d%s%s", fmt_group(cfg, mt->group_idx),
			   mt->dir == SG_DIR_IN ? "ingress" : "egress", mt->rule_index,
			   mt->via ? " on " : "", mt->via ? mt->via : "");
	if (r->pos.file)
		out_printf(b, " (%s:%d)", r->pos.file, r->pos.line);
	out_printf(b, ": %s %s %s %s", fmt_proto(r->proto, pb, sizeof(pb)),
		   fmt_ports(r, portb, sizeof(portb)),
		   mt->dir == SG_DIR_IN ? "from" : "to",
		   fmt_peer(cfg, m, &r->peers[mt->peer_idx], peerb, sizeof(peerb)));
	if (r->description) {
		/* one line: a newline in a description starts none */
		out_puts(b, " \"");
		out_puts_esc(b, r->description);
		out_putc(b, '"');
	} else if (r->implicit_default) {
		out_puts(b, " (default egress)");
	}
}

static void explain_json_probe(struct json_w *j, const struct sg_probe *p)
{
	char ab[INET6_ADDRSTRLEN], pb[FMT_LEN];

	inet_ntop(p->family, p->addr, ab, sizeof(ab));
	json_key(j, "probe");
	json_obj_begin(j);
	json_kstr(j, "direction", fmt_dir(p->dir));
	json_kstr(j, "protocol", fmt_proto(p->proto, pb, sizeof(pb)));
	json_kint(j, "number", p->proto);
	if (p->port >= 0)
		json_kint(j, "port", p->port);
	else
		json_knull(j, "port");
	if (p->icmp_type >= 0) {
		json_kint(j, "icmp_type", p->icmp_type);
		json_kint(j, "icmp_code", p->icmp_code);
	} else {
		json_knull(j, "icmp_type");
		json_knull(j, "icmp_code");
	}
	json_kstr(j, "address", ab);
	json_kstr(j, "interface", p->ifname);
	json_obj_end(j);
}

static void explain_json_match(struct json_w *j, const struct sg_config *cfg,
			       const struct sg_members *m, const struct sg_match *mt)
{
	const struct sg_rule *r = mt->rule;

	json_obj_begin(j);
	json_kstr(j, "kind", explain_kind(mt->kind));
	json_kstr(j, "implicit", mt->implicit);
	json_kstr(j, "group", mt->kind == SG_MATCH_RULE ? fmt_group(cfg, mt->group_idx) : NULL);
	json_kstr(j, "interface", mt->via);
	json_kstr(j, "direction", fmt_dir(mt->dir));
	if (r) {
		json_kint(j, "rule", mt->rule_index);
		fmt_json_rule_l4(j, r);
		fmt_json_peer(j, cfg, m, &r->peers[mt->peer_idx]);
		json_kstr(j, "description", r->description);
		fmt_json_pos(j, &r->pos);
	} else {
		json_knull(j, "rule");
	}
	json_obj_end(j);
}

/* The verdict of the forward path for the same packet (compile_forward.c):
 * the same groups without the implicit allowances and failsafe rules.
 * *n is the number of matches (first in *first); false when sgd does
 * not filter forwarded traffic (forward: off). */
static bool explain_forward(const struct sg_config *cfg, const struct sg_members *m,
			    const struct sg_probe *p, struct sg_match *first, size_t *n)
{
	struct sg_probe pf = *p;

	*n = 0;
	if (cfg->forward == SG_FWD_OFF)
		return false;
	pf.forwarded = true;
	if (explain_eval_all(cfg, m, &pf, first, 1, n) < 0)
		*n = 0;
	return true;
}

static void explain_forward_text(struct out_buf *b, const struct sg_config *cfg,
				 const struct sg_members *m, const struct sg_probe *p,
				 bool filtered, const struct sg_match *first, size_t n)
{
	bool in = p->dir == SG_DIR_IN;

	if (!filtered) {
		out_puts(b, "forwarded: not filtered (sgd.yaml forward: off): a published "
			 "port or a local container's connection passes whatever the "
			 "rules say.\n");
		return;
	}
	out_puts(b, in ? "forwarded to a local container (a published port, on the port "
		 "the client used, or the container's own address): " :
		 "forwarded from a local container (its new connection out): ");
	if (n > 0) {
		out_puts(b, "ALLOWED by ");
		explain_match_text(b, cfg, m, first);
		out_putc(b, '\n');
	} else {
		out_puts(b, "DROPPED: no rule of an applicable group allows it (implicit "
			 "allowances and failsafe rules are the host's own).\n");
	}
}

static void explain_forward_json(struct json_w *j, const struct sg_config *cfg,
				 const struct sg_members *m, bool filtered,
				 const struct sg_match *first, size_t n)
{
	json_key(j, "forwarded");
	json_obj_begin(j);
	json_kstr(j, "mode", sg_forward_name(cfg->forward));
	json_kbool(j, "filtered", filtered);
	json_kbool(j, "allowed", !filtered || n > 0);
	json_key(j, "match");
	if (filtered && n > 0)
		explain_json_match(j, cfg, m, first);
	else
		json_null(j);
	json_obj_end(j);
}

int render_explain(const struct sg_config *cfg, const struct sg_members *m,
		   int argc, char **argv, bool json, char **out, bool *allowed,
		   struct sg_diags *diags)
{
	struct sg_probe p;
	struct sg_match *v, fwd_first;
	struct out_buf b;
	size_t n, i, shown, fwd_n;
	bool fwd_filtered, unfiltered;
	int r;

	*out = NULL;
	*allowed = false;
	r = explain_parse(argc, argv, &p, diags);
	if (r < 0)
		return r;
	if (!cfg) {
		diags_add(diags, NULL, "explain: no configuration is loaded");
		return -ENOENT;
	}
	v = calloc(EXPLAIN_MAX_MATCHES, sizeof(*v));
	if (!v)
		return -ENOMEM;
	r = explain_eval_all(cfg, m, &p, v, EXPLAIN_MAX_MATCHES, &n);
	if (r < 0) {
		free(v);
		diags_add(diags, NULL, "explain: malformed probe");
		return r;
	}
	shown = n < EXPLAIN_MAX_MATCHES ? n : EXPLAIN_MAX_MATCHES;
	fwd_filtered = explain_forward(cfg, m, &p, &fwd_first, &fwd_n);
	/* asked about the forward path: forward: off lets it through */
	unfiltered = p.forwarded && !fwd_filtered;
	*allowed = n > 0 || unfiltered;
	out_init(&b);
	if (json) {
		struct json_w j;

		json_init(&j, &b);
		json_obj_begin(&j);
		json_kbool(&j, "allowed", *allowed);
		explain_json_probe(&j, &p);
		json_kbool(&j, "forwarded_probe", p.forwarded);
		explain_forward_json(&j, cfg, m, fwd_filtered, &fwd_first, fwd_n);
		json_kbool(&j, "only_attach_groups", !p.ifname && cfg->n_ifaces > 0);
		json_kbool(&j, "icmp_error", explain_is_icmp_error(&p));
		json_kuint(&j, "match_count", n);
		json_key(&j, "matches");
		json_arr_begin(&j);
		for (i = 0; i < shown; i++)
			explain_json_match(&j, cfg, m, &v[i]);
		json_arr_end(&j);
		json_obj_end(&j);
		out_putc(&b, '\n');
	} else {
		out_puts(&b, "packet: ");
		explain_probe_text(&b, &p);
		out_putc(&b, '\n');
		if (unfiltered) {
			out_puts(&b, "ALLOWED: forwarded traffic is not filtered (sgd.yaml "
				 "forward: off).\n");
		} else if (n == 0 && p.forwarded) {
			out_puts(&b, "DROPPED: no rule of an applicable group allows it (implicit "
				 "allowances and failsafe rules are the host's own).\n");
		} else if (n == 0) {
			out_puts(&b, "DROPPED: no implicit allowance, failsafe rule or rule of an "
				 "applicable group allows it.\n");
		} else {
			out_puts(&b, "ALLOWED by ");
			explain_match_text(&b, cfg, m, &v[0]);
			out_putc(&b, '\n');
			for (i = 1; i < shown; i++) {
				out_puts(&b, "  also by ");
				explain_match_text(&b, cfg, m, &v[i]);
				out_putc(&b, '\n');
			}
			if (n > shown)
				out_printf(&b, "  ... and %zu more\n", n - shown);
		}
		/* the same packet through the forward path, unless that was
		 * the question */
		if (!p.forwarded)
			explain_forward_text(&b, cfg, m, &p, fwd_filtered, &fwd_first, fwd_n);
		if (!p.ifname && cfg->n_ifaces > 0)
			out_puts(&b, "note: no interface given, so only the `attach` groups were "
				 "considered, not the `interfaces:` ones (use -i IFACE).\n");
		if (explain_is_icmp_error(&p))
			out_puts(&b, "note: this ICMP type is an error message, never a new "
				 "connection: it passes when it quotes a connection already "
				 "tracked (conntrack related) and is dropped as invalid when "
				 "it quotes none, before any rule, whatever the rules say.\n");
		else if (n == 0)
			out_puts(&b, "note: replies to connections already allowed still pass "
				 "(conntrack established,related).\n");
	}
	free(v);
	return out_finish(&b, out);
}
