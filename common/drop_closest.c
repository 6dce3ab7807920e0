/*
 * drop_closest.c — log_find_closest: which attached rule came closest to
 * allowing a dropped packet (see drop.h and docs/logging.md).
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "drop.h"
#include "explain.h"

static bool log_peer_allows(const struct sg_config *cfg, const struct sg_members *m,
			    const struct sg_peer *peer, int family, const uint8_t *addr)
{
	const struct sg_cidr *cidrs;
	const struct sg_peer *peers;
	size_t n;

	if (peer->kind == SG_PEER_CIDR)
		return cidr_match_addr(&peer->cidr, family, addr);
	if (peer->group_idx < 0 || (size_t)peer->group_idx >= cfg->n_groups)
		return false;
	n = explain_group_members(cfg, m, peer->group_idx, &cidrs, &peers);
	for (size_t i = 0; i < n; i++) {
		if (cidrs && cidr_match_addr(&cidrs[i], family, addr))
			return true;
		if (peers && peers[i].kind == SG_PEER_CIDR &&
		    cidr_match_addr(&peers[i].cidr, family, addr))
			return true;
	}
	return false;
}

/* Does the rule's port range or ICMP type/code admit the packet?  Called
 * only when the protocol matches. */
static bool log_port_allows(const struct sg_rule *r, const struct log_probe *p)
{
	if (r->proto == SG_PROTO_TCP || r->proto == SG_PROTO_UDP)
		return p->has_port && p->port >= r->port_lo && p->port <= r->port_hi;
	if (r->proto == SG_PROTO_ICMP || r->proto == SG_PROTO_ICMPV6)
		return p->has_icmp &&
		       (r->icmp_type < 0 || r->icmp_type == p->icmp_type) &&
		       (r->icmp_code < 0 || r->icmp_code == p->icmp_code);
	return true;	/* all, or a protocol without ports */
}

/* Score the rules of group gi for p; keep the best in *best (*best_score
 * is its score, -1 before any candidate). */
static void log_score_group(const struct sg_config *cfg, const struct sg_members *m,
			    int gi,
			    const struct log_probe *p, struct log_closest *best,
			    int *best_score)
{
	const struct sg_group *g;
	const struct sg_rule *rules;
	size_t n;

	if (gi < 0 || (size_t)gi >= cfg->n_groups)
		return;
	g = &cfg->groups[gi];
	rules = p->dir == SG_DIR_IN ? g->ingress : g->egress;
	n = p->dir == SG_DIR_IN ? g->n_ingress : g->n_egress;
	for (size_t i = 0; i < n; i++) {
		const struct sg_rule *r = &rules[i];
		bool port_ok, peer_ok = false;
		int score;

		if (r->proto != SG_PROTO_ALL && r->proto != p->proto)
			continue;
		port_ok = log_port_allows(r, p);
		for (size_t k = 0; k < r->n_peers && !peer_ok; k++)
			peer_ok = log_peer_allows(cfg, m, &r->peers[k], p->family,
						  p->remote);
		score = (port_ok ? 2 : 0) + (peer_ok ? 1 : 0);
		if (score <= *best_score)
			continue;	/* ties keep the earlier rule */
		*best_score = score;
		best->found = true;
		best->group_idx = gi;
		best->dir = p->dir;
		best->rule_index = r->index > 0 ? r->index : (int)i + 1;
		best->port_ok = port_ok;
		best->peer_ok = peer_ok;
	}
}

int log_find_closest(const struct sg_config *cfg, const struct sg_members *m,
		     const struct log_probe *p, struct log_closest *out)
{
	int best = -1;

	memset(out, 0, sizeof(*out));
	out->group_idx = -1;
	if (p->family != AF_INET && p->family != AF_INET6)
		return -EINVAL;
	if (p->proto < 0)
		return 0;	/* protocol unknown: nothing can be close */
	for (size_t i = 0; i < cfg->n_attach; i++)
		log_score_group(cfg, m, cfg->attach[i].group_idx, p, out, &best);
	for (size_t i = 0; p->ifname && i < cfg->n_ifaces; i++) {
		const struct sg_iface *ifc = &cfg->ifaces[i];

		if (strcmp(ifc->ifname, p->ifname))
			continue;
		for (size_t k = 0; k < ifc->n_groups; k++)
			log_score_group(cfg, m, ifc->groups[k].group_idx, p, out, &best);
	}
	return 0;
}

