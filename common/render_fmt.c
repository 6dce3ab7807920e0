/*
 * render_fmt.c — shared wording of rules for all renderers.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "explain.h"
#include "render_fmt.h"

const char *fmt_dir(enum sg_dir d)
{
	return d == SG_DIR_IN ? "in" : "out";
}

const struct sg_rule *fmt_counter_rule(const struct sg_config *cfg,
				       const struct sg_counter *c)
{
	const struct sg_group *g;
	const struct sg_rule *v;
	size_t n;

	if (!cfg)
		return NULL;
	if (c->kind == SG_CNT_FAILSAFE) {
		if (c->rule_index < 1 || (size_t)c->rule_index > cfg->n_failsafe)
			return NULL;
		return &cfg->failsafe[c->rule_index - 1];
	}
	if (c->kind != SG_CNT_RULE || c->group_idx < 0 || (size_t)c->group_idx >= cfg->n_groups)
		return NULL;
	g = &cfg->groups[c->group_idx];
	v = c->dir == SG_DIR_IN ? g->ingress : g->egress;
	n = c->dir == SG_DIR_IN ? g->n_ingress : g->n_egress;
	if (c->rule_index < 1 || (size_t)c->rule_index > n)
		return NULL;
	return &v[c->rule_index - 1];
}

const char *fmt_counter_dir(const struct sg_counter *c)
{
	if (c->forward)
		return c->dir == SG_DIR_IN ? "fwd-in" : "fwd-out";
	return fmt_dir(c->dir);
}

const char *fmt_proto(int proto, char *buf, size_t len)
{
	const char *name;

	switch (proto) {
	case SG_PROTO_ALL: return "all";
	case SG_PROTO_TCP: return "tcp";
	case SG_PROTO_UDP: return "udp";
	case SG_PROTO_ICMP: return "icmp";
	case SG_PROTO_ICMPV6: return "icmpv6";
	}
	name = proto_name(proto);
	if (name)
		return name;
	snprintf(buf, len, "%d", proto);
	return buf;
}

int fmt_proto_number(int proto)
{
	return proto < 0 ? -1 : proto;
}

const char *fmt_ports(const struct sg_rule *r, char *buf, size_t len)
{
	if (r->proto == SG_PROTO_TCP || r->proto == SG_PROTO_UDP) {
		if (r->port_lo <= 0 && r->port_hi >= 65535)
			return "all";
		if (r->port_lo == r->port_hi)
			snprintf(buf, len, "%d", r->port_lo);
		else
			snprintf(buf, len, "%d-%d", r->port_lo, r->port_hi);
		return buf;
	}
	if (r->proto == SG_PROTO_ICMP || r->proto == SG_PROTO_ICMPV6) {
		if (r->icmp_type < 0)
			return "all";
		if (r->icmp_code < 0)
			snprintf(buf, len, "type %d", r->icmp_type);
		else
			snprintf(buf, len, "type %d code %d", r->icmp_type, r->icmp_code);
		return buf;
	}
	if (r->proto == SG_PROTO_ALL)
		return "all";
	return "-";
}

const char *fmt_cidr(const struct sg_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family == AF_INET6 ? AF_INET6 : AF_INET,
		       c->addr.bytes, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, c->prefix);
	return buf;
}

const char *fmt_group(const struct sg_config *cfg, int gi)
{
	if (!cfg || gi < 0 || (size_t)gi >= cfg->n_groups)
		return "?";
	return cfg->groups[gi].name;
}

size_t fmt_member_count(const struct sg_config *cfg, const struct sg_members *m, int gi)
{
	const struct sg_cidr *c;
	const struct sg_peer *p;

	return explain_group_members(cfg, m, gi, &c, &p);
}

const char *fmt_peer(const struct sg_config *cfg, const struct sg_members *m,
		     const struct sg_peer *p, char *buf, size_t len)
{
	const struct sg_plist_entry *e;
	const struct sg_plist *pl;
	char cb[FMT_LEN];
	size_t n;

	if ((e = config_peer_entry(cfg, p, &pl))) {
		/* the list and the entry, as show and explain name them */
		snprintf(buf, len, "%s (prefix list %s%s%s)", fmt_cidr(&p->cidr, cb, sizeof(cb)),
			 pl->name, e->description ? ": " : "",
			 e->description ? e->description : "");
		return buf;
	}
	if (p->kind == SG_PEER_CIDR)
		return fmt_cidr(&p->cidr, buf, len);
	n = fmt_member_count(cfg, m, p->group_idx);
	snprintf(buf, len, "%s (%zu member%s)",
		 p->group_idx >= 0 ? fmt_group(cfg, p->group_idx) : p->group_ref,
		 n, n == 1 ? "" : "s");
	return buf;
}

const char *fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || !gmtime_r(&t, &tm))
		return "never";
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

void fmt_json_rule_l4(struct json_w *j, const struct sg_rule *r)
{
	char b[FMT_LEN];
	bool ports = r->proto == SG_PROTO_TCP || r->proto == SG_PROTO_UDP;
	bool icmp = r->proto == SG_PROTO_ICMP || r->proto == SG_PROTO_ICMPV6;

	json_kstr(j, "protocol", fmt_proto(r->proto, b, sizeof(b)));
	json_kint(j, "number", fmt_proto_number(r->proto));
	if (ports) {
		json_kint(j, "port_from", r->port_lo);
		json_kint(j, "port_to", r->port_hi);
	} else {
		json_knull(j, "port_from");
		json_knull(j, "port_to");
	}
	if (icmp) {
		json_kint(j, "icmp_type", r->icmp_type);
		json_kint(j, "icmp_code", r->icmp_code);
	} else {
		json_knull(j, "icmp_type");
		json_knull(j, "icmp_code");
	}
}

void fmt_json_peer(struct json_w *j, const struct sg_config *cfg,
		   const struct sg_members *m, const struct sg_peer *p)
{
	char b[FMT_LEN];
	const struct sg_plist *pl;
	const struct sg_plist_entry *e = config_peer_entry(cfg, p, &pl);

	if (p->kind == SG_PEER_CIDR) {
		json_kstr(j, "peer", fmt_cidr(&p->cidr, b, sizeof(b)));
		json_kbool(j, "peer_group", false);
		json_knull(j, "peer_members");
	} else {
		json_kstr(j, "peer", p->group_idx >= 0 ?
			  fmt_group(cfg, p->group_idx) : p->group_ref);
		json_kbool(j, "peer_group", true);
		json_kuint(j, "peer_members", fmt_member_count(cfg, m, p->group_idx));
	}
	/* a CIDR that came from a managed prefix list: which list, which entry */
	json_kstr(j, "prefix_list", e ? pl->name : NULL);
	json_kstr(j, "prefix_list_id", e ? pl->id : NULL);
	json_kstr(j, "prefix_list_entry", e ? e->description : NULL);
}

void fmt_json_pos(struct json_w *j, const struct sg_pos *pos)
{
	if (pos && pos->file) {
		json_kstr(j, "file", pos->file);
		json_kint(j, "line", pos->line);
	} else {
		json_knull(j, "file");
		json_knull(j, "line");
	}
}
