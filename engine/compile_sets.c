/*
 * compile_sets.c — peer groups as named sets, two per address family.
 *
 * Every group that a compiled rule names as a peer gets, per family, a
 * hash set of its single-address members, peer_<group>_v4_hosts
 * (ipv4_addr), and an interval set of its wider prefixes, peer_<group>_v4
 * (ipv4_addr, flag interval); the same for v6.  Why two: a peer group of
 * instances is mostly /32 and /128 members, and the kernel's interval set
 * (rbtree) walks the whole tree on a commit that changes it — measured
 * 13–21 ms for one member added to a 100,000-member group — while a hash
 * set adds or removes an element in constant time.  Rules look up both
 * (compile_rules.c, compile_flatemit.c).
 *
 * The kernel refuses overlapping intervals; prefixes are nested or
 * disjoint, so only the top-level members (not inside another member) go
 * in, and a host inside a wider member is not sent at all: the two sets
 * never hold the same address.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include "plan.h"
#include "nlbuild.h"
#include "nft_abi.h"

/* Distinct groups never share a name: the suffix (_v4, _v6, _v4_hosts,
 * _v6_hosts: none is a suffix of another) and the prefix peer_ are fixed,
 * so the group is what lies between; the same for in_<group> and
 * out_<group>, which no flat chain (in.tcp) or base chain (input) can
 * equal.  The flat port sets: flat_pg_set_name. */
int compile_set_name(const struct sg_config *cfg, int gi, int af, bool hosts,
		     char *buf, size_t len)
{
	int n = snprintf(buf, len, "peer_%s_%s%s", cfg->groups[gi].name,
			 af == AF_INET ? "v4" : "v6", hosts ? "_hosts" : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int compile_chain_name(const struct sg_config *cfg, int gi, enum sg_dir dir,
		       char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s_%s", dir == SG_DIR_IN ? "in" : "out",
			 cfg->groups[gi].name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool compile_group_attached(const struct sg_config *cfg, int gi)
{
	size_t i, k;

	for (i = 0; i < cfg->n_attach; i++)
		if (cfg->attach[i].group_idx == gi)
			return true;
	for (i = 0; i < cfg->n_ifaces; i++)
		for (k = 0; k < cfg->ifaces[i].n_groups; k++)
			if (cfg->ifaces[i].groups[k].group_idx == gi)
				return true;
	return false;
}

static bool compile_rules_reference(const struct sg_rule *v, size_t n, int gi)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < v[i].n_peers; k++)
			if (v[i].peers[k].kind == SG_PEER_GROUP &&
			    v[i].peers[k].group_idx == gi)
				return true;
	return false;
}

bool compile_group_referenced(const struct sg_config *cfg, int gi)
{
	size_t i;

	if (compile_rules_reference(cfg->failsafe, cfg->n_failsafe, gi))
		return true;
	for (i = 0; i < cfg->n_groups; i++) {
		const struct sg_group *g = &cfg->groups[i];

		if (!compile_group_attached(cfg, (int)i))
			continue;
		if (compile_rules_reference(g->ingress, g->n_ingress, gi) ||
		    compile_rules_reference(g->egress, g->n_egress, gi))
			return true;
	}
	return false;
}

static int compile_cidr_cmp(const void *pa, const void *pb)
{
	const struct sg_cidr *a = pa, *b = pb;
	int c = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));

	if (c)
		return c;
	return (int)a->prefix - (int)b->prefix;	/* the container first */
}

static bool compile_cidr_inside(const struct sg_cidr *outer,
				const struct sg_cidr *inner)
{
	unsigned bits = outer->prefix, i;

	if (inner->prefix < outer->prefix)
		return false;
	for (i = 0; i < bits / 8; i++)
		if (outer->addr.bytes[i] != inner->addr.bytes[i])
			return false;
	if (bits % 8) {
		uint8_t mask = (uint8_t)(0xff00 >> (bits % 8));

		if ((outer->addr.bytes[i] & mask) != (inner->addr.bytes[i] & mask))
			return false;
	}
	return true;
}

int compile_toplevel(const struct sg_cidr *v, size_t n, int af,
		     struct sg_cidr **out, size_t *n_out)
{
	struct sg_cidr *t = malloc((n ? n : 1) * sizeof(*t));
	size_t i, k = 0, m = 0;

	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (v[i].family == af) {
			t[m] = v[i];
			/* union padding must not disturb the ordering */
			if (af == AF_INET)
				memset(t[m].addr.bytes + 4, 0, 12);
			m++;
		}
	qsort(t, m, sizeof(*t), compile_cidr_cmp);
	/* sorted by address then prefix, so a member's container (if any)
	 * is the last block kept */
	for (i = 0; i < m; i++)
		if (k == 0 || !compile_cidr_inside(&t[k - 1], &t[i]))
			t[k++] = t[i];
	*out = t;
	*n_out = k;
	return 0;
}

/* end = first address after the block; false when the block reaches the
 * top of the address space (then there is no end element). */
static bool compile_block_end(const struct sg_cidr *c, size_t len, uint8_t *end)
{
	int byte;
	unsigned carry;

	memcpy(end, c->addr.bytes, len);
	if (c->prefix == 0)
		return false;
	byte = (c->prefix - 1) / 8;
	carry = 1u << (7 - (c->prefix - 1) % 8);
	for (; byte >= 0 && carry; byte--) {
		unsigned v = end[byte] + carry;

		end[byte] = (uint8_t)v;
		carry = v >> 8;
	}
	return carry == 0;
}

static struct nftnl_set *compile_elems_new(const char *table, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	return s;
}

/* One message's worth of blocks (PLAN_CIDRELEMS), copied. */
static int compile_cidrs_add(struct sg_plan *plan, const char *name, int af,
			     bool interval, const struct sg_cidr *v, size_t n,
			     bool del, const struct plan_origin *origin)
{
	struct plan_cidrs *c = malloc(sizeof(*c) + n * sizeof(c->v[0]));
	int rc;

	if (!c)
		return -ENOMEM;
	if (snprintf(c->set, sizeof(c->set), "%s", name) >= (int)sizeof(c->set)) {
		free(c);
		return -ENAMETOOLONG;
	}
	c->af = af;
	c->interval = interval;
	c->n = n;
	memcpy(c->v, v, n * sizeof(c->v[0]));
	rc = plan_add(plan, PLAN_CIDRELEMS, c, origin);
	if (!rc) {
		plan->v[plan->n - 1].del = del;
		plan->v[plan->n - 1].build = compile_cidr_msg;
	}
	return rc;
}

int compile_set_elems(struct sg_plan *plan, const char *name, int af,
		      bool interval,
		      const struct sg_cidr *v, size_t n, bool del,
		      const struct plan_origin *origin)
{
	/* an interval block is two elements: split so that no message's
	 * element nest nears 64 KiB */
	size_t per = interval ? PLAN_ELEMS_PER_MSG / 2 : PLAN_ELEMS_PER_MSG, i;
	int rc = 0;

	for (i = 0; !rc && i < n; i += per)
		rc = compile_cidrs_add(plan, name, af, interval, v + i,
				       n - i < per ? n - i : per, del, origin);
	return rc;
}

int compile_cidr_msg(const struct sg_plan *plan, const struct plan_msg *m,
		     char *buf, size_t len, uint32_t seq)
{
	const struct plan_cidrs *c = m->o.cidrs;
	size_t klen = c->af == AF_INET ? ABI_IP4_ADDR_LEN : ABI_IP6_ADDR_LEN, i;
	struct nlmsghdr *nlh;
	struct nlattr *list, *e;
	uint8_t end[16];

	/* PLAN_ELEMS_PER_MSG elements of at most 40 bytes each */
	if (len < 32768)
		return -ENOSPC;
	/* {add|delete} element inet <table> <set> { ... } */
	nlh = nlb_setelems_begin(buf, m->del, seq, plan->table, c->set);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	for (i = 0; i < c->n; i++) {
		/* { <addr> } in a hash set; { <addr>/<prefix> } in an
		 * interval set: its start, and its exclusive end */
		e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		nlb_put_data(nlh, NFTA_SET_ELEM_KEY, c->v[i].addr.bytes, klen);
		mnl_attr_nest_end(nlh, e);
		if (!c->interval || !compile_block_end(&c->v[i], klen, end))
			continue;
		e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END));
		nlb_put_data(nlh, NFTA_SET_ELEM_KEY, end, klen);
		mnl_attr_nest_end(nlh, e);
	}
	mnl_attr_nest_end(nlh, list);
	return (int)nlh->nlmsg_len;
}

static bool compile_is_host(const struct sg_cidr *c)
{
	return c->prefix == (c->family == AF_INET ? 32 : 128);
}

int compile_peer_elems(struct sg_plan *plan, const struct sg_config *cfg,
		       int gi, int af, const struct sg_cidr *v, size_t n,
		       bool del, const struct plan_origin *origin)
{
	struct sg_cidr *part = malloc((n ? n : 1) * sizeof(*part));
	char name[300];
	size_t i, m;
	int k, rc = 0;

	if (!part)
		return -ENOMEM;
	/* k = 1: the hosts, to the hash set; k = 0: the wider blocks */
	for (k = 1; !rc && k >= 0; k--) {
		for (i = 0, m = 0; i < n; i++)
			if (compile_is_host(&v[i]) == (k == 1))
				part[m++] = v[i];
		if (!m)
			continue;
		rc = compile_set_name(cfg, gi, af, k == 1, name, sizeof(name));
		if (!rc)
			rc = compile_set_elems(plan, name, af, k == 0,
					       part, m, del, origin);
	}
	free(part);
	return rc;
}

/* set peer_<group>_v4_hosts { type ipv4_addr; }
 * set peer_<group>_v4 { type ipv4_addr; flags interval; } (and v6) */
static int compile_set_decl(struct sg_plan *plan, const struct sg_config *cfg,
			    int gi, int af, bool hosts)
{
	struct plan_origin origin = { .pos = cfg->groups[gi].pos };
	char name[300];
	struct nftnl_set *s;
	int rc = compile_set_name(cfg, gi, af, hosts, name, sizeof(name));

	if (rc)
		return rc;
	snprintf(origin.what, sizeof(origin.what), "set %.80s", name);
	s = compile_elems_new(plan->table, name);
	if (!s)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, hosts ? 0 : NFT_SET_INTERVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
			  af == AF_INET ? ABI_TYPE_IPADDR : ABI_TYPE_IP6ADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN,
			  af == AF_INET ? ABI_IP4_ADDR_LEN : ABI_IP6_ADDR_LEN);
	/* the kernel wants an id, unique in the batch, on every new set
	 * (compile_flatemit.c numbers its sets above these) */
	nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)(gi * 4 + (af == AF_INET6) * 2 +
						     hosts + 1));
	return plan_add(plan, PLAN_SET, s, &origin);
}

static int compile_set(struct sg_plan *plan, const struct sg_config *cfg,
		       int gi, int af, const struct sg_cidr_list *members)
{
	struct plan_origin origin = { .pos = cfg->groups[gi].pos };
	struct sg_cidr *top = NULL;
	size_t n_top = 0;
	int rc = compile_set_decl(plan, cfg, gi, af, true);

	if (!rc)
		rc = compile_set_decl(plan, cfg, gi, af, false);
	if (rc || !members)
		return rc;
	snprintf(origin.what, sizeof(origin.what), "members of %.80s",
		 cfg->groups[gi].name);
	rc = compile_toplevel(members->v, members->n, af, &top, &n_top);
	if (rc)
		return rc;
	rc = compile_peer_elems(plan, cfg, gi, af, top, n_top, false, &origin);
	free(top);
	return rc;
}

int compile_sets(struct sg_plan *plan, const struct sg_config *cfg,
		 const struct sg_members *m)
{
	size_t gi;
	int rc;

	for (gi = 0; gi < cfg->n_groups; gi++) {
		const struct sg_cidr_list *l = NULL;

		if (!compile_group_referenced(cfg, (int)gi))
			continue;
		if (m && gi < m->n_groups)
			l = &m->by_group[gi];
		rc = compile_set(plan, cfg, (int)gi, AF_INET, l);
		if (!rc)
			rc = compile_set(plan, cfg, (int)gi, AF_INET6, l);
		if (rc)
			return rc;
	}
	return 0;
}
