/*
 * compile_forward.c — forwarded traffic: what the host forwards to and
 * from its local containers and VMs is judged by the same groups as the
 * host itself (sgd.yaml `forward:`, docs/daemon.md "Forwarded traffic").
 *
 * A local container interface is one of kind bridge or veth (`meta
 * iifkind`/`oifkind`, the driver of the link: docker0, br-*, virbr0,
 * cni0, lxcbr0, a routed veth); a physical NIC, a VLAN, a bond, a
 * macvlan, a tunnel is not.  Two base chains at priority -200 (plan.h),
 * each judging one side, because a packet the host routes between two
 * outside networks (forward: all) must pass both the ingress and the
 * egress rules, as through an AWS interface, and an accept in one base
 * chain does not end the other (a drop in any is final):
 *
 *   chain forward_in   (the ingress side)
 *     ct state established,related counter accept
 *     ct status dnat jump fwd.in         a published port: judged on the
 *                                        port the client used
 *     meta iifkind "bridge" accept       from a local container:
 *     meta iifkind "veth" accept           forward_out's business
 *     meta oifkind "bridge" jump fwd.in  to a local container
 *     meta oifkind "veth" jump fwd.in
 *     [jump fwd.in]                      forward: all
 *   chain forward_out  (the egress side)
 *     ct state established,related counter accept
 *     meta oifkind "bridge" accept       to a local container (or a
 *     meta oifkind "veth" accept           published port): not leaving
 *     meta iifkind "bridge" jump fwd.out from a local container
 *     meta iifkind "veth" jump fwd.out
 *     [jump fwd.out]                     forward: all
 *   chain fwd.in
 *     ct state invalid drop
 *     ip saddr @in4.all accept ...       (compile_flat_judge)
 *     meta l4proto vmap @fwd.in.proto    tcp, udp -> fwd.in.tcp, fwd.in.udp;
 *                                        icmp ... -> in.icmp ... (no ports)
 *     iifname "<if>" jump fwd.in_<group>
 *     [limit rate 10/second burst 20 packets log group 100 prefix "sgd-fwd-in "]
 *     counter drop
 *   chain fwd.out: the same with the egress sets, out.proto, out_<group>
 *
 * fwd.in.tcp, fwd.in.udp and fwd.in_<group> are in.tcp, in.udp and
 * in_<group> with `ct original proto-dst` for `th dport`: after DNAT the
 * packet carries the container's port (80), the client used the
 * published one (8080).  The sets are the same objects, so a forwarded
 * packet counts on the same elements and rules as a local one.  The
 * implicit allowances and the failsafe rules are the host's own and are
 * not here.  Traffic between two local containers (both interfaces
 * local, no DNAT) is left to the container engine, as an AWS security
 * group does not see traffic inside one instance.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include "plan.h"
#include "flat.h"
#include "nlbuild.h"
#include "nft_abi.h"

/* the link kinds of a local container's interface */
static const char *const fwd_kinds[] = { "bridge", "veth" };
#define FWD_N_KINDS (sizeof(fwd_kinds) / sizeof(fwd_kinds[0]))

#define FWD_MAP "fwd.in.proto"
/* batch id of the map: below the flat maps' (compile_flatemit.c) */
#define FWD_MAP_ID (0x40000000u - 8)

/* tcp and udp carry ports: their forward chains are copies */
static bool fwd_copied(int proto)
{
	return proto == SG_PROTO_TCP || proto == SG_PROTO_UDP;
}

/* "fwd.in.tcp" / "in.icmp": where the map sends protocol proto */
static int fwd_proto_chain(int proto, char *buf, size_t len)
{
	char name[32];
	int rc = flat_chain_name(SG_DIR_IN, proto, name, sizeof(name));
	int n;

	if (rc)
		return rc;
	n = snprintf(buf, len, "%s%s", fwd_copied(proto) ? "fwd." : "", name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* "fwd.in_<group>": no group chain starts with "fwd." */
static int fwd_group_chain(const struct sg_config *cfg, int gi, char *buf,
			   size_t len)
{
	char name[300];
	int rc = compile_chain_name(cfg, gi, SG_DIR_IN, name, sizeof(name));
	int n;

	if (rc)
		return rc;
	n = snprintf(buf, len, "fwd.%s", name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool fwd_any_proto(const struct flat *f)
{
	int p;

	for (p = 0; p < 256; p++)
		if (flat_has_proto(f, SG_DIR_IN, p))
			return true;
	return false;
}

/* map fwd.in.proto { type inet_proto : verdict; } and its elements */
static int fwd_map(struct sg_plan *plan)
{
	const struct flat *f = plan->flat;
	struct plan_origin origin = { .pos = { 0 } };
	struct nftnl_set *ns = nftnl_set_alloc(), *elems;
	char chain[64];
	int p, rc;

	if (!ns)
		return -ENOMEM;
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, plan->table);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, FWD_MAP);
	nftnl_set_set_u32(ns, NFTNL_SET_ID, FWD_MAP_ID);
	nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, ABI_TYPE_INET_PROTOCOL);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, 1);
	nftnl_set_set_u32(ns, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	snprintf(origin.what, sizeof(origin.what), "map %s", FWD_MAP);
	rc = plan_add(plan, PLAN_SET, ns, &origin);
	if (rc)
		return rc;
	elems = nftnl_set_alloc();
	if (!elems)
		return -ENOMEM;
	nftnl_set_set_u32(elems, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(elems, NFTNL_SET_TABLE, plan->table);
	nftnl_set_set_str(elems, NFTNL_SET_NAME, FWD_MAP);
	for (p = 0; p < 256; p++) {
		struct nftnl_set_elem *e;
		uint8_t key = (uint8_t)p;

		if (!flat_has_proto(f, SG_DIR_IN, p))
			continue;
		rc = fwd_proto_chain(p, chain, sizeof(chain));
		if (rc || !(e = nftnl_set_elem_alloc())) {
			nftnl_set_free(elems);
			return rc ? rc : -ENOMEM;
		}
		/* element tcp : jump fwd.in.tcp, icmp : jump in.icmp */
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, 1);
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_JUMP);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
		nftnl_set_elem_add(elems, e);
	}
	snprintf(origin.what, sizeof(origin.what), "elements of %s", FWD_MAP);
	return plan_add(plan, PLAN_ELEMS, elems, &origin);
}

/* The ingress rules of interface group gi into fwd.in_<group>. */
static int fwd_group_rules(struct sg_plan *plan, const struct sg_config *cfg,
			   int gi, const char *chain)
{
	const struct sg_group *g = &cfg->groups[gi];
	char tag[320], comment[1024], what[96];
	size_t i;
	int rc;

	for (i = 0; i < g->n_ingress; i++) {
		compile_rule_labels(cfg, gi, &g->ingress[i], tag, sizeof(tag), comment,
				    sizeof(comment), what, sizeof(what));
		rc = compile_rule(plan, cfg, chain, &g->ingress[i], tag, comment, what);
		if (rc)
			return rc;
	}
	return 0;
}

/* ct state invalid drop */
static int fwd_invalid(struct sg_plan *plan, const char *chain)
{
	struct nftnl_rule *r = plan_rule_new(plan, chain, NULL, "stateful: invalid");
	int rc;

	if (!r)
		return -ENOMEM;
	rc = nlb_match_ct_state(r, ABI_CT_INVALID);
	if (!rc)
		rc = nlb_verdict(r, NF_DROP, NULL);
	return compile_add_rule(plan, r, rc, "ct state invalid");
}

/* [iifname|oifname "<if>"] jump <chain> for every interface group */
static int fwd_iface_jumps(struct sg_plan *plan, const struct sg_config *cfg,
			   enum sg_dir dir, const char *chain)
{
	char target[320], comment[400];
	size_t i, k;
	int rc;

	for (i = 0; i < cfg->n_ifaces; i++)
		for (k = 0; k < cfg->ifaces[i].n_groups; k++) {
			int gi = cfg->ifaces[i].groups[k].group_idx;
			struct nftnl_rule *r;

			rc = dir == SG_DIR_IN ?
			     fwd_group_chain(cfg, gi, target, sizeof(target)) :
			     compile_chain_name(cfg, gi, SG_DIR_OUT, target, sizeof(target));
			if (rc)
				return rc;
			snprintf(comment, sizeof(comment), "group %s on %s",
				 cfg->groups[gi].name, cfg->ifaces[i].ifname);
			r = plan_rule_new(plan, chain, NULL, comment);
			if (!r)
				return -ENOMEM;
			/* iifname "<if>" jump fwd.in_<group>
			 * oifname "<if>" jump out_<group> */
			rc = nlb_match_ifname(r, dir == SG_DIR_IN ? NFT_META_IIFNAME :
					      NFT_META_OIFNAME, cfg->ifaces[i].ifname);
			if (!rc)
				rc = nlb_verdict(r, NFT_JUMP, target);
			rc = compile_add_rule(plan, r, rc, "jump");
			if (rc)
				return rc;
		}
	return 0;
}

/* [log] counter drop, counted as "sgd1 D fwd_in" / "fwd_out" */
static int fwd_drop(struct sg_plan *plan, const struct sg_config *cfg,
		    enum sg_dir dir, const char *chain)
{
	bool in = dir == SG_DIR_IN;

	return compile_drop_tail(plan, cfg, chain,
				 in ? "sgd-fwd-in " : "sgd-fwd-out ",
				 "log denied (forwarded)",
				 in ? "sgd1 D fwd_in" : "sgd1 D fwd_out",
				 in ? "forwarded: no ingress rule allows it" :
				      "forwarded: no egress rule allows it",
				 "forward drop");
}

int compile_forward_chains(struct sg_plan *plan, const struct sg_config *cfg)
{
	static const struct sg_pos none = { 0 };
	const struct flat *f = plan->flat;
	char chain[320];
	size_t gi;
	int p, rc;

	if (cfg->forward == SG_FWD_OFF)
		return 0;
	/* chain fwd.in, chain fwd.out, chain fwd.in.tcp ..., chain fwd.in_<group> */
	rc = compile_chain_decl(plan, "fwd.in", &none);
	if (!rc)
		rc = compile_chain_decl(plan, "fwd.out", &none);
	for (p = 0; !rc && p < 256; p++)
		if (fwd_copied(p) && flat_has_proto(f, SG_DIR_IN, p)) {
			rc = fwd_proto_chain(p, chain, sizeof(chain));
			if (!rc)
				rc = compile_chain_decl(plan, chain, &none);
		}
	for (gi = 0; !rc && gi < cfg->n_groups; gi++)
		if (compile_group_on_iface(cfg, (int)gi)) {
			rc = fwd_group_chain(cfg, (int)gi, chain, sizeof(chain));
			if (!rc)
				rc = compile_chain_decl(plan, chain, &cfg->groups[gi].pos);
		}
	if (!rc && fwd_any_proto(f))
		rc = fwd_map(plan);
	if (rc)
		return rc;

	/* the ingress copies: the port the client used */
	plan->port_ct = true;
	for (p = 0; !rc && p < 256; p++)
		if (fwd_copied(p) && flat_has_proto(f, SG_DIR_IN, p)) {
			rc = fwd_proto_chain(p, chain, sizeof(chain));
			if (!rc)
				rc = compile_flat_proto_rules(plan, cfg, SG_DIR_IN, p, chain);
		}
	for (gi = 0; !rc && gi < cfg->n_groups; gi++)
		if (compile_group_on_iface(cfg, (int)gi)) {
			rc = fwd_group_chain(cfg, (int)gi, chain, sizeof(chain));
			if (!rc)
				rc = fwd_group_rules(plan, cfg, (int)gi, chain);
		}
	if (!rc)
		rc = fwd_invalid(plan, "fwd.in");
	if (!rc)
		rc = compile_flat_judge(plan, cfg, SG_DIR_IN, "fwd.in", FWD_MAP);
	plan->port_ct = false;
	if (!rc)
		rc = fwd_iface_jumps(plan, cfg, SG_DIR_IN, "fwd.in");
	if (!rc)
		rc = fwd_drop(plan, cfg, SG_DIR_IN, "fwd.in");

	/* the egress judgement: the packet is as it leaves (SNAT, a
	 * masquerade, comes after the forward hook) */
	if (!rc)
		rc = fwd_invalid(plan, "fwd.out");
	if (!rc)
		rc = compile_flat_judge(plan, cfg, SG_DIR_OUT, "fwd.out", "out.proto");
	if (!rc)
		rc = fwd_iface_jumps(plan, cfg, SG_DIR_OUT, "fwd.out");
	if (!rc)
		rc = fwd_drop(plan, cfg, SG_DIR_OUT, "fwd.out");
	return rc;
}

/* meta iifkind|oifkind "<kind>" <verdict> [<chain>] */
static int fwd_kind_rule(struct sg_plan *plan, const char *base, uint32_t key,
			 const char *kind, int verdict, const char *target,
			 const char *comment)
{
	struct nftnl_rule *r = plan_rule_new(plan, base, NULL, comment);
	int rc;

	if (!r)
		return -ENOMEM;
	rc = nlb_match_ifname(r, key, kind);
	if (!rc)
		rc = nlb_verdict(r, verdict, target);
	return compile_add_rule(plan, r, rc, "forward: interface kind");
}

/* One base chain: side SG_DIR_IN is forward_in, SG_DIR_OUT forward_out. */
static int fwd_base(struct sg_plan *plan, const struct sg_config *cfg,
		    enum sg_dir side)
{
	bool in = side == SG_DIR_IN;
	const char *base = plan_bases[in ? PLAN_BASE_FWD_IN : PLAN_BASE_FWD_OUT].name;
	const char *judge = in ? "fwd.in" : "fwd.out";
	/* forward_in skips what comes from a container and judges what goes
	 * to one; forward_out the reverse */
	uint32_t skip = in ? NFT_META_IIFKIND : NFT_META_OIFKIND;
	uint32_t take = in ? NFT_META_OIFKIND : NFT_META_IIFKIND;
	struct nftnl_rule *r;
	size_t k;
	int rc;

	rc = compile_ct_replies(plan, base, in ? "sgd1 S fwd_in" : "sgd1 S fwd_out");
	if (!rc && in) {
		r = plan_rule_new(plan, base, NULL,
				  "published port (DNAT): the port the client used");
		if (!r)
			return -ENOMEM;
		/* ct status dnat jump fwd.in */
		rc = nlb_match_ct_status(r, ABI_CT_STATUS_DNAT);
		if (!rc)
			rc = nlb_verdict(r, NFT_JUMP, judge);
		rc = compile_add_rule(plan, r, rc, "forward: dnat");
	}
	/* meta iifkind "bridge" accept ... (forward_in)
	 * meta oifkind "bridge" accept ... (forward_out) */
	for (k = 0; !rc && k < FWD_N_KINDS; k++)
		rc = fwd_kind_rule(plan, base, skip, fwd_kinds[k], NF_ACCEPT, NULL,
				   in ? "from a local container: forward_out judges it" :
				   "to a local container: forward_in judges it");
	/* meta oifkind "bridge" jump fwd.in ... (forward_in)
	 * meta iifkind "bridge" jump fwd.out ... (forward_out) */
	for (k = 0; !rc && k < FWD_N_KINDS; k++)
		rc = fwd_kind_rule(plan, base, take, fwd_kinds[k], NFT_JUMP, judge,
				   in ? "to a local container: ingress rules" :
				   "from a local container: egress rules");
	if (!rc && cfg->forward == SG_FWD_ALL) {
		r = plan_rule_new(plan, base, NULL, in ?
				  "forward: all: routed traffic, ingress rules" :
				  "forward: all: routed traffic, egress rules");
		if (!r)
			return -ENOMEM;
		/* jump fwd.in / jump fwd.out */
		rc = compile_add_rule(plan, r, nlb_verdict(r, NFT_JUMP, judge),
				  "forward: all");
	}
	return rc;
}

int compile_forward_base(struct sg_plan *plan, const struct sg_config *cfg)
{
	int rc;

	if (cfg->forward == SG_FWD_OFF)
		return 0;
	rc = fwd_base(plan, cfg, SG_DIR_IN);
	return rc ? rc : fwd_base(plan, cfg, SG_DIR_OUT);
}
