/*
 * compile_rules.c — one security-group rule into nftables rules.
 *
 * A rule with n peers becomes one nft rule per peer (and, for a group
 * peer, one per address family, each looking up that family's set).  Every
 * nft rule is: family, peer address, protocol, ports or icmp type/code,
 * counter, accept.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include "plan.h"
#include "nlbuild.h"
#include "nft_abi.h"

/* The protocol half of a rule (everything after the peer match); with
 * port_ct the port is the one the client used (plan.h). */
static int compile_proto(struct nftnl_rule *r, const struct sg_rule *rule,
			 bool port_ct)
{
	int rc;

	if (rule->proto == SG_PROTO_ALL)
		return 0;		/* the family/peer match is all */
	if (rule->proto < 0 || rule->proto > 255)
		return -EINVAL;
	/* meta l4proto <proto> */
	rc = nlb_match_l4proto(r, (uint8_t)rule->proto);
	if (rc)
		return rc;
	switch (rule->proto) {
	case SG_PROTO_TCP:
	case SG_PROTO_UDP:
		if (rule->port_lo < 0 || rule->port_hi > 65535 ||
		    rule->port_lo > rule->port_hi)
			return -EINVAL;
		if (rule->port_lo == 0 && rule->port_hi == 65535)
			return 0;	/* ports: all */
		if (port_ct)
			/* ct original proto-dst <lo>[-<hi>] */
			return nlb_match_ct_dport(r, rule->port_lo, rule->port_hi);
		/* th dport <lo>[-<hi>] */
		return nlb_match_port(r, ABI_TH_DPORT_OFF, rule->port_lo,
				      rule->port_hi);
	case SG_PROTO_ICMP:
	case SG_PROTO_ICMPV6:
		if (rule->icmp_type > 255 || rule->icmp_code > 255 ||
		    (rule->icmp_type < 0 && rule->icmp_code >= 0))
			return -EINVAL;
		if (rule->icmp_type >= 0) {
			/* icmp|icmpv6 type <type> */
			rc = nlb_match_byte(r, ABI_ICMP_TYPE_OFF, rule->icmp_type,
					    rule->icmp_type);
			if (rc)
				return rc;
		}
		if (rule->icmp_code >= 0)
			/* icmp|icmpv6 code <code> */
			return nlb_match_byte(r, ABI_ICMP_CODE_OFF, rule->icmp_code,
					      rule->icmp_code);
		return 0;
	default:
		return 0;
	}
}

/* An icmp rule only ever matches IPv4 and icmpv6 only IPv6. */
static bool compile_family_fits(const struct sg_rule *rule, int af)
{
	if (rule->proto == SG_PROTO_ICMP)
		return af == AF_INET;
	if (rule->proto == SG_PROTO_ICMPV6)
		return af == AF_INET6;
	return true;
}

/* The peer half: family and address (CIDR) or set lookup (group). */
static int compile_peer(struct nftnl_rule *r, const struct sg_config *cfg,
			const struct sg_rule *rule, const struct sg_peer *peer,
			int af, bool hosts)
{
	bool v4 = af == AF_INET;
	size_t len = v4 ? ABI_IP4_ADDR_LEN : ABI_IP6_ADDR_LEN;
	uint32_t off;
	char set[300];
	int rc;

	if (rule->dir == SG_DIR_IN)
		off = v4 ? ABI_IP4_SADDR_OFF : ABI_IP6_SADDR_OFF;
	else
		off = v4 ? ABI_IP4_DADDR_OFF : ABI_IP6_DADDR_OFF;
	/* meta nfproto ipv4|ipv6 */
	rc = nlb_match_nfproto(r, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	if (rc)
		return rc;
	if (peer->kind == SG_PEER_GROUP) {
		rc = compile_set_name(cfg, peer->group_idx, af, hosts, set,
				      sizeof(set));
		if (rc)
			return rc;
		/* ip|ip6 saddr|daddr @peer_<group>_v4|v6[_hosts] */
		return nlb_match_addr_set(r, off, len, set);
	}
	if (peer->cidr.prefix == 0)
		return 0;	/* 0.0.0.0/0 or ::/0: the family is all */
	/* ip|ip6 saddr|daddr <addr>/<prefix> */
	return nlb_match_addr(r, off, peer->cidr.addr.bytes, len, peer->cidr.prefix);
}

static int compile_one(struct sg_plan *plan, const struct sg_config *cfg,
		       const char *chain, const struct sg_rule *rule,
		       const struct sg_peer *peer, int af, bool hosts,
		       const char *tag, const char *comment, const char *what)
{
	struct plan_origin origin = { .pos = rule->pos };
	struct nftnl_rule *r = plan_rule_new(plan, chain, tag, comment);
	int rc;

	if (!r)
		return -ENOMEM;
	snprintf(origin.what, sizeof(origin.what), "%s", what);
	rc = compile_peer(r, cfg, rule, peer, af, hosts);
	if (!rc)
		rc = compile_proto(r, rule, plan->port_ct);
	/* counter accept */
	if (!rc)
		rc = nlb_counter(r);
	if (!rc)
		rc = nlb_verdict(r, NF_ACCEPT, NULL);
	if (rc) {
		nftnl_rule_free(r);
		return rc;
	}
	return plan_add(plan, PLAN_RULE, r, &origin);
}

int compile_rule_peer(struct sg_plan *plan, const struct sg_config *cfg,
		      const char *chain, const struct sg_rule *rule, size_t peer,
		      const char *tag, const char *comment, const char *what)
{
	static const int families[] = { AF_INET, AF_INET6 };
	const struct sg_peer *p = &rule->peers[peer];
	size_t k;
	int rc;

	if (p->kind == SG_PEER_CIDR) {
		if (p->cidr.family != AF_INET && p->cidr.family != AF_INET6)
			return -EINVAL;
		if (!compile_family_fits(rule, p->cidr.family))
			return -EINVAL;	/* validation rejects this */
		return compile_one(plan, cfg, chain, rule, p, p->cidr.family,
				   false, tag, comment, what);
	}
	if (p->group_idx < 0 || (size_t)p->group_idx >= cfg->n_groups)
		return -EINVAL;
	/* a group peer: per family, its hosts' hash set, then its wider
	 * blocks' interval set (compile_sets.c) */
	for (k = 0; k < 4; k++) {
		if (!compile_family_fits(rule, families[k / 2]))
			continue;
		rc = compile_one(plan, cfg, chain, rule, p, families[k / 2],
				 k % 2 == 0, tag, comment, what);
		if (rc)
			return rc;
	}
	return 0;
}

int compile_rule(struct sg_plan *plan, const struct sg_config *cfg,
		 const char *chain, const struct sg_rule *rule,
		 const char *tag, const char *comment, const char *what)
{
	size_t i;
	int rc;

	for (i = 0; i < rule->n_peers; i++) {
		rc = compile_rule_peer(plan, cfg, chain, rule, i, tag, comment, what);
		if (rc)
			return rc;
	}
	return 0;
}

void compile_rule_labels(const struct sg_config *cfg, int gi,
			 const struct sg_rule *r, char *tag, size_t tag_len,
			 char *comment, size_t comment_len, char *what,
			 size_t what_len)
{
	const struct sg_group *g = &cfg->groups[gi];
	const char *d = r->dir == SG_DIR_IN ? "in" : "out";
	const char *desc = r->description;

	if (!desc && r->implicit_default)
		desc = "AWS default egress";
	snprintf(tag, tag_len, "sgd1 R %s %d %s", d, r->index, g->name);
	if (r->pos.file)
		snprintf(comment, comment_len, "%s %s #%d%s%s (%s:%d)",
			 g->name, d, r->index, desc ? ": " : "",
			 desc ? desc : "", r->pos.file, r->pos.line);
	else
		snprintf(comment, comment_len, "%s %s #%d%s%s", g->name,
			 d, r->index, desc ? ": " : "", desc ? desc : "");
	snprintf(what, what_len, "%s rule %d",
		 r->dir == SG_DIR_IN ? "ingress" : "egress", r->index);
}

int compile_group_rules(struct sg_plan *plan, const struct sg_config *cfg,
			int gi, enum sg_dir dir)
{
	const struct sg_group *g = &cfg->groups[gi];
	const struct sg_rule *rules = dir == SG_DIR_IN ? g->ingress : g->egress;
	size_t n = dir == SG_DIR_IN ? g->n_ingress : g->n_egress, i;
	char chain[300], tag[320], comment[1024], what[96];
	int rc = compile_chain_name(cfg, gi, dir, chain, sizeof(chain));

	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		compile_rule_labels(cfg, gi, &rules[i], tag, sizeof(tag), comment,
				    sizeof(comment), what, sizeof(what));
		rc = compile_rule(plan, cfg, chain, &rules[i], tag, comment, what);
		if (rc)
			return rc;
	}
	return 0;
}
