/*
 * compile_flatemit.c — the flat sets (flat.h) as plan messages: set
 * declarations with a set-level counter, their elements (serialized
 * straight from the compact arrays: libnftnl element objects for 100k
 * rules would cost far more memory than the elements themselves), the
 * per-protocol chains, the protocol verdict maps and the rules that look
 * the sets up.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include "plan.h"
#include "flat.h"
#include "nlbuild.h"
#include "nft_abi.h"

/* batch ids of new sets: above any peer set's (compile_sets.c) */
#define FLAT_SET_ID_BASE 0x40000000u

static int flatemit_add(struct sg_plan *plan, enum plan_kind kind, void *obj,
			const char *what)
{
	struct plan_origin origin = { .pos = { 0 } };

	snprintf(origin.what, sizeof(origin.what), "%.90s", what);
	return plan_add(plan, kind, obj, &origin);
}

static const char *flatemit_dir(enum sg_dir dir)
{
	return dir == SG_DIR_IN ? "in" : "out";
}

static int flatemit_decl(struct sg_plan *plan, const struct flat_set *s, uint32_t id)
{
	struct nftnl_set *ns = nftnl_set_alloc();
	struct nftnl_expr *ctr;
	uint32_t atype = s->af == AF_INET ? ABI_TYPE_IPADDR : ABI_TYPE_IP6ADDR;
	uint32_t flags = NFT_SET_EXPR;
	char what[400];

	if (!ns)
		return -ENOMEM;
	ctr = nftnl_expr_alloc("counter");
	if (!ctr) {
		nftnl_set_free(ns);
		return -ENOMEM;
	}
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, plan->table);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name);
	nftnl_set_set_u32(ns, NFTNL_SET_ID, id);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, s->klen);
	if (s->kind == FLAT_ADDR) {
		/* set in4.all { type ipv4_addr; flags interval; counter; } */
		nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, atype);
		flags |= NFT_SET_INTERVAL;
	} else if (s->kind == FLAT_PORT) {
		/* set in.tcp.pg.<group> { type inet_service; flags interval; counter; } */
		nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, ABI_TYPE_INET_SERVICE);
		flags |= NFT_SET_INTERVAL;
	} else {
		uint8_t fields[NFT_REG32_COUNT] = { 0 };

		/* set in4.tcp.exact { type ipv4_addr . inet_service; counter; }
		 * set in4.tcp.range { type ipv4_addr . inet_service;
		 *                     flags interval; counter; } */
		nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE,
				  atype << ABI_TYPE_CONCAT_SHIFT | ABI_TYPE_INET_SERVICE);
		fields[0] = s->af == AF_INET ? ABI_IP4_ADDR_LEN : ABI_IP6_ADDR_LEN;
		fields[1] = 2;
		/* the field lengths select pipapo; a hash set takes none */
		if (s->kind == FLAT_RANGE) {
			nftnl_set_set_data(ns, NFTNL_SET_DESC_CONCAT, fields,
					   sizeof(fields));
			flags |= NFT_SET_INTERVAL | NFT_SET_CONCAT;
		}
	}
	nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, flags);
	/* every element gets its own counter */
	nftnl_set_add_expr(ns, ctr);
	snprintf(what, sizeof(what), "set %s", s->name);
	return flatemit_add(plan, PLAN_SET, ns, what);
}

static int flatemit_vmap_decl(struct sg_plan *plan, enum sg_dir dir)
{
	struct nftnl_set *ns = nftnl_set_alloc();
	char name[32], what[96];

	if (!ns)
		return -ENOMEM;
	snprintf(name, sizeof(name), "%s.proto", flatemit_dir(dir));
	/* map in.proto { type inet_proto : verdict; } */
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, plan->table);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(ns, NFTNL_SET_ID, FLAT_SET_ID_BASE - 1 - (uint32_t)dir);
	nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, ABI_TYPE_INET_PROTOCOL);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, 1);
	nftnl_set_set_u32(ns, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	snprintf(what, sizeof(what), "map %s", name);
	return flatemit_add(plan, PLAN_SET, ns, what);
}

static bool flatemit_any_proto(const struct flat *f, enum sg_dir dir)
{
	int p;

	for (p = 0; p < 256; p++)
		if (flat_has_proto(f, dir, p))
			return true;
	return false;
}

/* Set i's declaration and element messages. */
static int flatemit_set(struct sg_plan *plan, const struct flat *f, size_t i)
{
	const struct flat_set *s = &f->sets[i];
	size_t k;
	int rc = flatemit_decl(plan, s, FLAT_SET_ID_BASE + (uint32_t)i);

	for (k = 0; !rc && k < s->n; k += FLAT_ELEMS_PER_MSG) {
		struct plan_origin origin = { .pos = { 0 } };

		snprintf(origin.what, sizeof(origin.what), "elements of %.80s", s->name);
		rc = plan_add(plan, PLAN_FLATELEMS, (void *)s, &origin);
		if (!rc) {
			plan->v[plan->n - 1].build = compile_flat_msg;
			plan->v[plan->n - 1].first = k;
			plan->v[plan->n - 1].count = s->n - k < FLAT_ELEMS_PER_MSG ?
						     s->n - k : FLAT_ELEMS_PER_MSG;
		}
	}
	return rc;
}

int compile_flat_sets(struct sg_plan *plan, struct flat *f)
{
	size_t i;
	int d, rc;

	plan->flat = f;
	for (i = 0; i < f->n_sets; i++)
		if (f->sets[i].kind != FLAT_RANGE) {
			rc = flatemit_set(plan, f, i);
			if (rc)
				return rc;
		}
	for (d = 0; d < 2; d++)
		if (flatemit_any_proto(f, d)) {
			rc = flatemit_vmap_decl(plan, d);
			if (rc)
				return rc;
		}
	/* the interval concat sets last: a full replace deletes and creates
	 * them again (commit.c) while it keeps the others, so the kernel's
	 * order of sets is the same as after a first commit */
	for (i = 0; i < f->n_sets; i++)
		if (f->sets[i].kind == FLAT_RANGE) {
			rc = flatemit_set(plan, f, i);
			if (rc)
				return rc;
		}
	return 0;
}

int compile_flat_chains(struct sg_plan *plan)
{
	const struct flat *f = plan->flat;
	char name[32], map[32], what[96];
	int d, p, rc;

	for (d = 0; d < 2; d++) {
		struct nftnl_set *elems = NULL;

		for (p = 0; p < 256; p++) {
			struct nftnl_chain *c;
			struct nftnl_set_elem *e;
			uint8_t key = (uint8_t)p;

			if (!flat_has_proto(f, d, p))
				continue;
			rc = flat_chain_name(d, p, name, sizeof(name));
			if (rc)
				return rc;
			/* chain in.tcp */
			c = nftnl_chain_alloc();
			if (!c)
				return -ENOMEM;
			nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
			nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, plan->table);
			nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
			snprintf(what, sizeof(what), "chain %s", name);
			rc = flatemit_add(plan, PLAN_CHAIN, c, what);
			if (rc)
				return rc;
			if (!elems) {
				elems = nftnl_set_alloc();
				if (!elems)
					return -ENOMEM;
				snprintf(map, sizeof(map), "%s.proto", flatemit_dir(d));
				nftnl_set_set_u32(elems, NFTNL_SET_FAMILY, NFPROTO_INET);
				nftnl_set_set_str(elems, NFTNL_SET_TABLE, plan->table);
				nftnl_set_set_str(elems, NFTNL_SET_NAME, map);
			}
			e = nftnl_set_elem_alloc();
			if (!e) {
				nftnl_set_free(elems);
				return -ENOMEM;
			}
			/* element <proto> : jump in.<proto> */
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, 1);
			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_JUMP);
			nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, name);
			nftnl_set_elem_add(elems, e);
		}
		/* the map's elements need their chains: after them */
		if (elems) {
			snprintf(what, sizeof(what), "elements of %s", map);
			rc = flatemit_add(plan, PLAN_ELEMS, elems, what);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* meta nfproto ipv4 ip saddr @peer_<group>_v4[_hosts] th dport @in.tcp.pg.<group> accept */
static int flatemit_port_rule(struct sg_plan *plan, const struct sg_config *cfg,
			      const char *chain, const struct flat_set *s, int af,
			      bool hosts)
{
	bool v4 = af == AF_INET;
	uint32_t alen = v4 ? ABI_IP4_ADDR_LEN : ABI_IP6_ADDR_LEN, off;
	char comment[400], peer[300];
	struct nftnl_rule *r;
	int rc = compile_set_name(cfg, s->peer_gi, af, hosts, peer, sizeof(peer));

	if (rc)
		return rc;
	if (s->dir == SG_DIR_IN)
		off = v4 ? ABI_IP4_SADDR_OFF : ABI_IP6_SADDR_OFF;
	else
		off = v4 ? ABI_IP4_DADDR_OFF : ABI_IP6_DADDR_OFF;
	snprintf(comment, sizeof(comment), "attached groups: %zu port ranges for %s%s in %s",
		 s->n, cfg->groups[s->peer_gi].name, hosts ? " (hosts)" : "",
		 s->name);
	r = plan_rule_new(plan, chain, NULL, comment);
	if (!r)
		return -ENOMEM;
	rc = nlb_match_nfproto(r, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	if (!rc)
		rc = nlb_match_addr_set(r, off, alen, peer);
	/* th dport @in.tcp.pg.<group>, or in the forward judgement
	 * ct original proto-dst @in.tcp.pg.<group> */
	if (!rc && plan->port_ct)
		rc = nlb_ct_original_reg(r, NFT_CT_PROTO_DST, NFT_REG_1);
	else if (!rc)
		rc = nlb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, ABI_TH_DPORT_OFF, 2);
	if (!rc)
		rc = nlb_lookup(r, s->name);
	if (!rc)
		rc = nlb_verdict(r, NF_ACCEPT, NULL);
	if (rc) {
		nftnl_rule_free(r);
		return rc;
	}
	return flatemit_add(plan, PLAN_RULE, r, comment);
}

/* meta nfproto ipv4 ip saddr . th dport @in4.tcp.exact accept
 * meta nfproto ipv6 ip6 daddr @out6.all accept  (and the like) */
static int flatemit_lookup_rule(struct sg_plan *plan, const char *chain,
				const struct flat_set *s)
{
	bool v4 = s->af == AF_INET;
	uint32_t alen = v4 ? ABI_IP4_ADDR_LEN : ABI_IP6_ADDR_LEN, off;
	char comment[400];
	struct nftnl_rule *r;
	int rc;

	if (s->dir == SG_DIR_IN)
		off = v4 ? ABI_IP4_SADDR_OFF : ABI_IP6_SADDR_OFF;
	else
		off = v4 ? ABI_IP4_DADDR_OFF : ABI_IP6_DADDR_OFF;
	snprintf(comment, sizeof(comment), "attached groups: %zu rule peers in %s",
		 s->n, s->name);
	r = plan_rule_new(plan, chain, NULL, comment);
	if (!r)
		return -ENOMEM;
	rc = nlb_match_nfproto(r, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	if (!rc)
		rc = nlb_payload_reg(r, NFT_PAYLOAD_NETWORK_HEADER, off, alen, NFT_REG_1);
	/* the port goes in the 32-bit register right after the address;
	 * in the forward judgement it is the port the client used:
	 * ip saddr . ct original proto-dst @in4.tcp.exact */
	if (!rc && s->kind != FLAT_ADDR && plan->port_ct)
		rc = nlb_ct_original_reg(r, NFT_CT_PROTO_DST,
					 v4 ? NFT_REG32_01 : NFT_REG32_04);
	else if (!rc && s->kind != FLAT_ADDR)
		rc = nlb_payload_reg(r, NFT_PAYLOAD_TRANSPORT_HEADER, ABI_TH_DPORT_OFF,
				     2, v4 ? NFT_REG32_01 : NFT_REG32_04);
	if (!rc)
		rc = nlb_lookup(r, s->name);
	if (!rc)
		rc = nlb_verdict(r, NF_ACCEPT, NULL);
	if (rc) {
		nftnl_rule_free(r);
		return rc;
	}
	return flatemit_add(plan, PLAN_RULE, r, comment);
}

static int flatemit_rest(struct sg_plan *plan, const struct sg_config *cfg,
			 const struct flat_rest *x, const char *chain)
{
	char tag[320], comment[1024], what[96];

	compile_rule_labels(cfg, x->gi, x->rule, tag, sizeof(tag), comment,
			    sizeof(comment), what, sizeof(what));
	return compile_rule_peer(plan, cfg, chain, x->rule, x->peer, tag, comment,
				 what);
}

int compile_flat_proto_rules(struct sg_plan *plan, const struct sg_config *cfg,
			     enum sg_dir d, int p, const char *chain)
{
	const struct flat *f = plan->flat;
	size_t i;
	int af, k, rc;

	/* cheapest first: hash, then the interval layers */
	for (af = 0; af < 2; af++)
		for (i = 0; i < f->n_sets; i++) {
			const struct flat_set *s = &f->sets[i];

			if (s->dir != d || s->proto != p ||
			    s->af != (af ? AF_INET6 : AF_INET) ||
			    s->kind == FLAT_PORT || s->n == 0)
				continue;
			rc = flatemit_lookup_rule(plan, chain, s);
			if (rc)
				return rc;
		}
	/* peer groups: address set and port set, per family */
	for (i = 0; i < f->n_sets; i++) {
		const struct flat_set *s = &f->sets[i];

		if (s->dir != d || s->proto != p || s->kind != FLAT_PORT)
			continue;
		/* per family: the hosts, then the wider blocks */
		for (k = 0; k < 4; k++) {
			rc = flatemit_port_rule(plan, cfg, chain, s,
						k < 2 ? AF_INET : AF_INET6,
						k % 2 == 0);
			if (rc)
				return rc;
		}
	}
	for (i = 0; i < f->n_rest; i++) {
		const struct flat_rest *x = &f->rest[i];

		if (x->rule->dir != d || x->rule->proto != p)
			continue;
		rc = flatemit_rest(plan, cfg, x, chain);
		if (rc)
			return rc;
	}
	return 0;
}

int compile_flat_rules(struct sg_plan *plan, const struct sg_config *cfg)
{
	const struct flat *f = plan->flat;
	char chain[32];
	int d, p, rc;

	for (d = 0; d < 2; d++)
		for (p = 0; p < 256; p++) {
			if (!flat_has_proto(f, d, p))
				continue;
			rc = flat_chain_name(d, p, chain, sizeof(chain));
			if (!rc)
				rc = compile_flat_proto_rules(plan, cfg, d, p, chain);
			if (rc)
				return rc;
		}
	return 0;
}

int compile_flat_judge(struct sg_plan *plan, const struct sg_config *cfg,
		       enum sg_dir dir, const char *chain, const char *map)
{
	const struct flat *f = plan->flat;
	struct nftnl_rule *r;
	size_t i;
	int rc;

	for (i = 0; i < f->n_sets; i++)
		if (f->sets[i].dir == dir && f->sets[i].kind == FLAT_ADDR) {
			rc = flatemit_lookup_rule(plan, chain, &f->sets[i]);
			if (rc)
				return rc;
		}
	/* protocol "all" from a peer group: few, individual rules */
	for (i = 0; i < f->n_rest; i++)
		if (f->rest[i].rule->dir == dir && f->rest[i].rule->proto == SG_PROTO_ALL) {
			rc = flatemit_rest(plan, cfg, &f->rest[i], chain);
			if (rc)
				return rc;
		}
	if (!flatemit_any_proto(f, dir))
		return 0;
	r = plan_rule_new(plan, chain, NULL, "attached groups: by protocol");
	if (!r)
		return -ENOMEM;
	/* meta l4proto vmap @in.proto */
	rc = nlb_meta(r, NFT_META_L4PROTO);
	if (!rc)
		rc = nlb_lookup_verdict(r, map);
	if (rc) {
		nftnl_rule_free(r);
		return rc;
	}
	return flatemit_add(plan, PLAN_RULE, r, "protocol dispatch");
}

int compile_flat_base(struct sg_plan *plan, const struct sg_config *cfg,
		      enum sg_dir dir)
{
	char map[32];

	snprintf(map, sizeof(map), "%s.proto", flatemit_dir(dir));
	return compile_flat_judge(plan, cfg, dir, dir == SG_DIR_IN ? "input" : "output",
				  map);
}

/* ---- serializing a PLAN_FLATELEMS message ---- */

/* element comment: "web in #3", the rule it stands for, cut short.
 * Without the rule's file:line (the regular rules carry it; `sgctl show`
 * and `explain` give it): at 100,000 elements that half of the comment
 * was 3 MB of the batch and of the kernel's memory. */
static void flatemit_comment(struct nlmsghdr *nlh, const struct flat *f,
			     const struct flat_elem *el)
{
	const struct flat_ref *ref = &f->refs[el->ref];
	char text[FLAT_COMMENT_MAX + 3];
	int n;

	if (!ref->rule || !f->gnames[ref->gi])
		return;
	n = snprintf(text + 2, FLAT_COMMENT_MAX, "%s %s #%d",
		     f->gnames[ref->gi], flatemit_dir(ref->dir), ref->index);
	if (n < 0)
		return;
	if (n >= FLAT_COMMENT_MAX)
		n = FLAT_COMMENT_MAX - 1;
	/* one udata TLV: type, length (with the NUL), string */
	text[0] = NFTNL_UDATA_SET_ELEM_COMMENT;
	text[1] = (char)(n + 1);
	mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, (size_t)n + 3, text);
}

int compile_flat_msg(const struct sg_plan *plan, const struct plan_msg *m,
		     char *buf, size_t len, uint32_t seq)
{
	const struct flat_set *s = m->o.fset;
	size_t alen = s->af == AF_INET ? ABI_IP4_ADDR_LEN : ABI_IP6_ADDR_LEN, i;
	struct nlmsghdr *nlh;
	struct nlattr *list;

	if (s->kind == FLAT_PORT)
		alen = 2;
	/* FLAT_ELEMS_PER_MSG x (2 keys of 24, end element, comment) < 32 KiB */
	if (len < 32768 || !plan->flat)
		return -ENOSPC;
	/* {add|delete} element inet <table> <set> { ... } */
	nlh = nlb_setelems_begin(buf, m->del, seq, plan->table, s->name);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	for (i = m->first; i < m->first + m->count && i < s->n; i++) {
		const struct flat_elem *el = &s->v[i];
		struct nlattr *e;

		if (el->end_only)
			goto end;
		e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		/* { addr . port }, { addr . port - addr . port } or { cidr } */
		nlb_put_data(nlh, NFTA_SET_ELEM_KEY, el->key, s->klen);
		if (s->kind == FLAT_RANGE)
			nlb_put_data(nlh, NFTA_SET_ELEM_KEY_END, el->end, s->klen);
		if (!m->del)
			flatemit_comment(nlh, plan->flat, el);
		if (el->malformed) {
			uint32_t junk = 0;

			nlb_put_data(nlh, NFTA_SET_ELEM_DATA, &junk, sizeof(junk));
		}
		mnl_attr_nest_end(nlh, e);
end:
		if ((s->kind == FLAT_ADDR || s->kind == FLAT_PORT) && el->has_end) {
			/* the exclusive end of the block or port range */
			e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
			nlb_put_data(nlh, NFTA_SET_ELEM_KEY, el->end, alen);
			mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS,
					 htonl(NFT_SET_ELEM_INTERVAL_END));
			mnl_attr_nest_end(nlh, e);
		}
	}
	mnl_attr_nest_end(nlh, list);
	return (int)nlh->nlmsg_len;
}

int compile_flat_locate(const struct sg_plan *plan, const struct plan_msg *m,
			uint32_t offset, struct plan_origin *out)
{
	const struct flat_set *s = m->o.fset;
	const struct nlattr *attr, *el;
	const struct flat_ref *ref = NULL;
	char *buf = malloc(32768);
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	size_t i = m->first, sub = 0;
	int n;

	if (!buf)
		return -ENOMEM;
	if (m->del) {
		/* deleted elements are the previous commit's: no rule here */
		free(buf);
		return -ENOENT;
	}
	/* the same bytes as sent: walk the element nests to the offset */
	n = compile_flat_msg(plan, m, buf, 32768, 0);
	if (n < 0) {
		free(buf);
		return n;
	}
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, attr) {
			size_t start = (size_t)((const char *)el - buf);
			/* the nests flat element i was sent as: its start
			 * (unless end_only), then the end of an ADDR or PORT
			 * block */
			size_t nests;

			if (i >= s->n)
				break;
			nests = !s->v[i].end_only + ((s->kind == FLAT_ADDR ||
				 s->kind == FLAT_PORT) && s->v[i].has_end);
			if (offset >= start && offset < start + el->nla_len) {
				if (s->v[i].ref < plan->flat->n_refs)
					ref = &plan->flat->refs[s->v[i].ref];
				break;
			}
			if (++sub >= nests) {
				sub = 0;
				i++;
			}
		}
	}
	free(buf);
	if (!ref || !ref->rule)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->pos = ref->rule->pos;
	snprintf(out->what, sizeof(out->what), "%s rule %d",
		 ref->dir == SG_DIR_IN ? "ingress" : "egress", ref->index);
	return 0;
}
