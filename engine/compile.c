/*
 * compile.c — the whole table: base chains and their fixed rules, then the
 * sets, the per-group chains and their rules (compile_sets.c,
 * compile_rules.c).
 *
 * Base chain layout (input; output mirrors it with daddr/oif):
 *   implicit allowances (loopback, dhcp, ipv6 nd and redirects, metadata,
 *   aws dns and ntp), each switchable
 *   ct state established,related counter accept
 *   ct state invalid drop
 *   failsafe rules (input only)
 *   the globally attached groups, flat (flat.h):
 *     meta nfproto ipv4 ip saddr @in4.all accept (and ipv6)
 *     meta l4proto vmap @in.proto  -> in.tcp, in.udp, in.icmp ...
 *   iifname "<if>" jump in_<group>  (groups attached to an interface)
 *   [limit rate 10/second burst 20 packets log group 100 prefix "sgd-in "]
 *   counter drop
 * The chains have policy drop too, but the final drop rule is what we rely
 * on: a base chain's policy is not switched atomically with its rules.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include "plan.h"
#include "flat.h"
#include "explain.h"
#include "nlbuild.h"
#include "nft_abi.h"

static const char *const compile_base[2] = { "input", "output" };

static int compile_head(struct sg_plan *plan, const struct sg_config *cfg)
{
	struct plan_origin origin = { .pos = { 0 } };
	struct nftnl_table *t = nftnl_table_alloc();
	int i, n = cfg->forward == SG_FWD_OFF ? 2 : PLAN_N_BASES, rc;

	if (!t)
		return -ENOMEM;
	/* table inet <table> */
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, plan->table);
	/* flags 0 said explicitly: a table someone made dormant (which
	 * unhooks every chain) is woken up by the next commit; without the
	 * attribute the kernel keeps the old flags */
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	snprintf(origin.what, sizeof(origin.what), "table inet %.60s", plan->table);
	rc = plan_add(plan, PLAN_TABLE, t, &origin);
	for (i = 0; !rc && i < n; i++) {
		const struct plan_base *b = &plan_bases[i];
		struct nftnl_chain *c = nftnl_chain_alloc();

		if (!c)
			return -ENOMEM;
		/* chain input { type filter hook input priority filter; policy drop; }
		 * chain forward_in { type filter hook forward priority -200; policy accept; } */
		nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, plan->table);
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, b->name);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, b->hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, b->prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, b->policy);
		snprintf(origin.what, sizeof(origin.what), "chain %s", b->name);
		rc = plan_add(plan, PLAN_BASECHAIN, c, &origin);
	}
	return rc;
}

/* udp sport/dport pair of one family: the DHCP client exchange. */
static int compile_dhcp_rule(struct sg_plan *plan, enum sg_dir dir, int af,
			     int sport, int dport)
{
	const char *chain = compile_base[dir];
	const char *tag = dir == SG_DIR_IN ? "sgd1 I in dhcp" : "sgd1 I out dhcp";
	struct nftnl_rule *r = plan_rule_new(plan, chain, tag, "implicit: dhcp client");
	int rc;

	if (!r)
		return -ENOMEM;
	/* meta nfproto ipv4|ipv6 meta l4proto udp th sport S th dport D counter accept */
	rc = nlb_match_nfproto(r, af == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
	if (!rc)
		rc = nlb_match_l4proto(r, SG_PROTO_UDP);
	if (!rc)
		rc = nlb_match_port(r, ABI_TH_SPORT_OFF, sport, sport);
	if (!rc)
		rc = nlb_match_port(r, ABI_TH_DPORT_OFF, dport, dport);
	if (!rc)
		rc = nlb_counter(r);
	if (!rc)
		rc = nlb_verdict(r, NF_ACCEPT, NULL);
	return compile_add_rule(plan, r, rc, "implicit dhcp");
}

/* icmpv6 types lo-hi with hop limit 255, both directions. */
static int compile_nd_rule(struct sg_plan *plan, enum sg_dir dir, const char *name,
			   int lo, int hi, const char *comment)
{
	const uint8_t hoplimit = 255;
	char tag[48], what[48];
	struct nftnl_rule *r;
	int rc;

	snprintf(tag, sizeof(tag), "sgd1 I %s %s", dir == SG_DIR_IN ? "in" : "out", name);
	snprintf(what, sizeof(what), "implicit %s", name);
	r = plan_rule_new(plan, compile_base[dir], tag, comment);
	if (!r)
		return -ENOMEM;
	/* meta nfproto ipv6 meta l4proto icmpv6 icmpv6 type 133-136
	 *   ip6 hoplimit 255 counter accept  (type 137: ipv6_redirects) */
	rc = nlb_match_nfproto(r, NFPROTO_IPV6);
	if (!rc)
		rc = nlb_match_l4proto(r, SG_PROTO_ICMPV6);
	if (!rc)
		rc = nlb_match_byte(r, ABI_ICMP_TYPE_OFF, lo, hi);
	if (!rc)
		rc = nlb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, ABI_IP6_HOPLIMIT_OFF, 1);
	if (!rc)
		rc = nlb_cmp(r, NFT_CMP_EQ, &hoplimit, 1);
	if (!rc)
		rc = nlb_counter(r);
	if (!rc)
		rc = nlb_verdict(r, NF_ACCEPT, NULL);
	return compile_add_rule(plan, r, rc, what);
}

/* An AWS link-local service an instance may always reach: one protocol
 * and port at one address.  common/explain.c lists the same allowances
 * (and says whether each is switched on). */
struct compile_service {
	const char *name, *comment;	/* name: its implicit: key */
	int af, proto, port;
	uint8_t addr[16];
};

static const struct compile_service compile_services[] = {
	{ "metadata",
	  "implicit: instance metadata service", AF_INET, SG_PROTO_TCP, 80,
	  { 169, 254, 169, 254 } },
	{ "metadata",
	  "implicit: instance metadata service", AF_INET6, SG_PROTO_TCP, 80,
	  { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 } },
	{ "aws_dns",
	  "implicit: Amazon DNS server", AF_INET, SG_PROTO_UDP, 53,
	  { 169, 254, 169, 253 } },
	{ "aws_dns",
	  "implicit: Amazon DNS server", AF_INET, SG_PROTO_TCP, 53,
	  { 169, 254, 169, 253 } },
	{ "aws_dns",
	  "implicit: Amazon DNS server", AF_INET6, SG_PROTO_UDP, 53,
	  { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x53 } },
	{ "aws_dns",
	  "implicit: Amazon DNS server", AF_INET6, SG_PROTO_TCP, 53,
	  { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x53 } },
	{ "aws_ntp",
	  "implicit: Amazon Time Sync Service", AF_INET, SG_PROTO_UDP, 123,
	  { 169, 254, 169, 123 } },
	{ "aws_ntp",
	  "implicit: Amazon Time Sync Service", AF_INET6, SG_PROTO_UDP, 123,
	  { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x01, [15] = 0x23 } },
};

static int compile_service_rule(struct sg_plan *plan, const struct compile_service *sv)
{
	bool v4 = sv->af == AF_INET;
	char tag[48], what[48];
	struct nftnl_rule *r;
	int rc;

	snprintf(tag, sizeof(tag), "sgd1 I out %s", sv->name);
	snprintf(what, sizeof(what), "implicit %s", sv->name);
	r = plan_rule_new(plan, compile_base[SG_DIR_OUT], tag, sv->comment);
	if (!r)
		return -ENOMEM;
	/* meta nfproto ipv4 ip daddr 169.254.169.254 meta l4proto tcp
	 *   th dport 80 counter accept  (and the like) */
	rc = nlb_match_nfproto(r, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	if (!rc)
		rc = v4 ? nlb_match_addr(r, ABI_IP4_DADDR_OFF, sv->addr, 4, 32) :
			  nlb_match_addr(r, ABI_IP6_DADDR_OFF, sv->addr, 16, 128);
	if (!rc)
		rc = nlb_match_l4proto(r, (uint8_t)sv->proto);
	if (!rc)
		rc = nlb_match_port(r, ABI_TH_DPORT_OFF, sv->port, sv->port);
	if (!rc)
		rc = nlb_counter(r);
	if (!rc)
		rc = nlb_verdict(r, NF_ACCEPT, NULL);
	return compile_add_rule(plan, r, rc, what);
}

static int compile_implicit(struct sg_plan *plan, const struct sg_config *cfg,
			    enum sg_dir dir)
{
	const char *chain = compile_base[dir];
	bool in = dir == SG_DIR_IN;
	struct nftnl_rule *r;
	size_t k;
	int rc;

	if (cfg->implicit.loopback) {
		r = plan_rule_new(plan, chain, in ? "sgd1 I in loopback" :
				  "sgd1 I out loopback", "implicit: loopback");
		if (!r)
			return -ENOMEM;
		/* iif lo counter accept / oif lo counter accept */
		rc = nlb_match_ifindex(r, in ? NFT_META_IIF : NFT_META_OIF,
				       ABI_LO_IFINDEX);
		if (!rc)
			rc = nlb_counter(r);
		if (!rc)
			rc = nlb_verdict(r, NF_ACCEPT, NULL);
		rc = compile_add_rule(plan, r, rc, "implicit loopback");
		if (rc)
			return rc;
	}
	if (cfg->implicit.dhcp) {
		/* the client receives on 68 from 67 and sends the reverse;
		 * DHCPv6: client 546, server 547 */
		rc = compile_dhcp_rule(plan, dir, AF_INET, in ? 67 : 68, in ? 68 : 67);
		if (!rc)
			rc = compile_dhcp_rule(plan, dir, AF_INET6, in ? 547 : 546,
					       in ? 546 : 547);
		if (rc)
			return rc;
	}
	/* RFC 4861: neighbour discovery is valid only with hop limit 255 */
	if (cfg->implicit.ipv6_nd) {
		rc = compile_nd_rule(plan, dir, "ipv6_nd", 133, 136,
				     "implicit: ipv6 neighbour/router discovery");
		if (rc)
			return rc;
	}
	if (cfg->implicit.ipv6_redirects) {
		rc = compile_nd_rule(plan, dir, "ipv6_redirects", 137, 137,
				     "implicit: ipv6 redirect");
		if (rc)
			return rc;
	}
	/* the AWS link-local services: the replies come back as
	 * established, so only output needs them */
	if (in)
		return 0;
	for (k = 0; k < sizeof(compile_services) / sizeof(*compile_services); k++) {
		const struct compile_service *sv = &compile_services[k];

		if (!explain_implicit_enabled(cfg, sv->name))
			continue;
		rc = compile_service_rule(plan, sv);
		if (rc)
			return rc;
	}
	return 0;
}

static int compile_conntrack(struct sg_plan *plan, enum sg_dir dir)
{
	const char *chain = compile_base[dir];
	struct nftnl_rule *r;
	int rc;

	rc = compile_ct_replies(plan, chain, dir == SG_DIR_IN ? "sgd1 S in" : "sgd1 S out");
	if (rc)
		return rc;
	r = plan_rule_new(plan, chain, NULL, "stateful: invalid");
	if (!r)
		return -ENOMEM;
	/* ct state invalid drop */
	rc = nlb_match_ct_state(r, ABI_CT_INVALID);
	if (!rc)
		rc = nlb_verdict(r, NF_DROP, NULL);
	return compile_add_rule(plan, r, rc, "ct state invalid");
}

static int compile_failsafe(struct sg_plan *plan, const struct sg_config *cfg)
{
	char tag[64], comment[512], what[64];
	size_t i;
	int rc;

	for (i = 0; i < cfg->n_failsafe; i++) {
		const struct sg_rule *r = &cfg->failsafe[i];
		const char *desc = r->description;
		int idx = r->index > 0 ? r->index : (int)i + 1;

		snprintf(tag, sizeof(tag), "sgd1 F %d", idx);
		snprintf(comment, sizeof(comment), "failsafe #%d%s%s (%s:%d)", idx,
			 desc ? ": " : "", desc ? desc : "",
			 r->pos.file ? r->pos.file : "sgd.yaml", r->pos.line);
		snprintf(what, sizeof(what), "failsafe rule %d", idx);
		rc = compile_rule(plan, cfg, "input", r, tag, comment, what);
		if (rc)
			return rc;
	}
	return 0;
}

static int compile_jump(struct sg_plan *plan, const struct sg_config *cfg,
			enum sg_dir dir, int gi, const char *ifname)
{
	char target[300], comment[400];
	struct nftnl_rule *r;
	int rc = compile_chain_name(cfg, gi, dir, target, sizeof(target));

	if (rc)
		return rc;
	snprintf(comment, sizeof(comment), "group %s%s%s", cfg->groups[gi].name,
		 ifname ? " on " : "", ifname ? ifname : "");
	r = plan_rule_new(plan, compile_base[dir], NULL, comment);
	if (!r)
		return -ENOMEM;
	/* [iifname|oifname "<if>"] jump in_<group>|out_<group> */
	rc = 0;
	if (ifname)
		rc = nlb_match_ifname(r, dir == SG_DIR_IN ? NFT_META_IIFNAME :
				      NFT_META_OIFNAME, ifname);
	if (!rc)
		rc = nlb_verdict(r, NFT_JUMP, target);
	return compile_add_rule(plan, r, rc, "jump");
}

static int compile_tail(struct sg_plan *plan, const struct sg_config *cfg,
			enum sg_dir dir)
{
	bool in = dir == SG_DIR_IN;

	return compile_drop_tail(plan, cfg, compile_base[dir], in ? "sgd-in " : "sgd-out ",
				 "log denied", in ? "sgd1 D in" : "sgd1 D out",
				 "default drop", "default drop");
}

static int compile_base_rules(struct sg_plan *plan, const struct sg_config *cfg,
			      enum sg_dir dir)
{
	size_t i, k;
	int rc = compile_implicit(plan, cfg, dir);

	if (!rc)
		rc = compile_conntrack(plan, dir);
	if (!rc && dir == SG_DIR_IN)
		rc = compile_failsafe(plan, cfg);
	if (!rc)
		rc = compile_fleet(plan, cfg, dir);
	if (!rc)
		rc = compile_flat_base(plan, cfg, dir);
	for (i = 0; !rc && i < cfg->n_ifaces; i++)
		for (k = 0; !rc && k < cfg->ifaces[i].n_groups; k++)
			rc = compile_jump(plan, cfg, dir,
					  cfg->ifaces[i].groups[k].group_idx,
					  cfg->ifaces[i].ifname);
	return rc ? rc : compile_tail(plan, cfg, dir);
}

static int compile_check_refs(const struct sg_config *cfg)
{
	size_t i, k;

	for (i = 0; i < cfg->n_attach; i++)
		if (cfg->attach[i].group_idx < 0 ||
		    (size_t)cfg->attach[i].group_idx >= cfg->n_groups)
			return -EINVAL;
	for (i = 0; i < cfg->n_ifaces; i++)
		for (k = 0; k < cfg->ifaces[i].n_groups; k++)
			if (cfg->ifaces[i].groups[k].group_idx < 0 ||
			    (size_t)cfg->ifaces[i].groups[k].group_idx >= cfg->n_groups)
				return -EINVAL;
	return 0;
}

int compile_config(const struct sg_config *cfg, const struct sg_members *m,
		   struct sg_plan *plan)
{
	struct plan_origin origin = { .pos = { 0 } };
	struct flat *flat = NULL;
	char name[300];
	size_t gi;
	int d, rc;

	plan_init(plan);
	rc = compile_check_refs(cfg);
	if (rc)
		return rc;
	plan->table = strdup(cfg->table ? cfg->table : "sgd");
	if (!plan->table)
		return -ENOMEM;
	rc = flat_build(cfg, &flat);
	if (rc) {
		plan_free(plan);
		return rc;
	}
	rc = compile_head(plan, cfg);
	if (!rc)
		rc = compile_sets(plan, cfg, m);
	if (rc)
		flat_free(flat);
	else
		rc = compile_flat_sets(plan, flat);	/* the plan owns flat */
	/* chain in_<group> / chain out_<group> for interface groups */
	for (gi = 0; !rc && gi < cfg->n_groups; gi++) {
		if (!compile_group_on_iface(cfg, (int)gi))
			continue;
		for (d = 0; !rc && d < 2; d++) {
			struct nftnl_chain *c = nftnl_chain_alloc();

			if (!c) {
				rc = -ENOMEM;
				break;
			}
			rc = compile_chain_name(cfg, (int)gi, d, name, sizeof(name));
			nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
			nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, plan->table);
			nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
			origin.pos = cfg->groups[gi].pos;
			snprintf(origin.what, sizeof(origin.what), "chain %.80s", name);
			if (rc)
				nftnl_chain_free(c);
			else
				rc = plan_add(plan, PLAN_CHAIN, c, &origin);
		}
	}
	if (!rc)
		rc = compile_flat_chains(plan);
	if (!rc)
		rc = compile_forward_chains(plan, cfg);
	for (gi = 0; !rc && gi < cfg->n_groups; gi++) {
		if (!compile_group_on_iface(cfg, (int)gi))
			continue;
		rc = compile_group_rules(plan, cfg, (int)gi, SG_DIR_IN);
		if (!rc)
			rc = compile_group_rules(plan, cfg, (int)gi, SG_DIR_OUT);
	}
	if (!rc)
		rc = compile_flat_rules(plan, cfg);
	if (!rc)
		rc = compile_base_rules(plan, cfg, SG_DIR_IN);
	if (!rc)
		rc = compile_base_rules(plan, cfg, SG_DIR_OUT);
	if (!rc)
		rc = compile_forward_base(plan, cfg);
	if (rc)
		plan_free(plan);
	return rc;
}
