/*
 * counters.c — engine_read_counters: every counter of our table, summed
 * per sgd rule.
 *
 * A rule finds its way back through the tag it carries in its udata
 * (ABI_UDATA_RULE_SGD_TAG), not through its comment or position:
 *   "sgd1 R <in|out> <rule index> <group>"   a group's rule
 *   "sgd1 F <index>"                         a failsafe rule
 *   "sgd1 I <in|out> <name>"                 an implicit allowance
 *   "sgd1 S <in|out|fwd_in|fwd_out>"         established,related
 *   "sgd1 D <in|out|fwd_in|fwd_out>"         the final drop
 * One sgd rule may be several nft rules (one per peer): they are summed.
 *
 * The rules of globally attached groups are set elements (flat.h): each
 * element has its own counter, and the element -> rule map of the last
 * commit (or, in a process that did not commit, the same map built again
 * from cfg) attributes it; a GETSETELEM dump per set reads them.  Every
 * flattened rule is reported, with 0 when no element of it counted (an
 * element contained in another one never does).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libnftnl/expr.h>
#include <endian.h>
#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/udata.h>
#include "engine.h"
#include "plan.h"
#include "flat.h"
#include "nft_abi.h"

struct counters_ctx {
	const struct sg_config *cfg;
	struct sg_counter *v;
	size_t n, cap;
	int last_group;		/* cache: rules of a group come together */
};

static const char *counters_implicit_name(const char *s)
{
	static const char *const names[] = { "loopback", "dhcp", "ipv6_nd",
					     "metadata", "ipv6_redirects",
					     "aws_dns", "aws_ntp" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return names[i];
	return NULL;
}

static int counters_group(struct counters_ctx *c, const char *name)
{
	size_t i;

	if (c->last_group >= 0 && strcmp(c->cfg->groups[c->last_group].name, name) == 0)
		return c->last_group;
	for (i = 0; i < c->cfg->n_groups; i++)
		if (strcmp(c->cfg->groups[i].name, name) == 0)
			return c->last_group = (int)i;
	return -1;
}

/* Parse a tag into key; false when it is not one of ours or is stale
 * (names a group that is no longer in cfg). */
static bool counters_parse(struct counters_ctx *c, const char *tag,
			   struct sg_counter *key)
{
	char kind, dir[8] = "", name[300] = "";
	int idx = 0;

	memset(key, 0, sizeof(*key));
	key->group_idx = -1;
	if (sscanf(tag, "sgd1 %c", &kind) != 1)
		return false;
	switch (kind) {
	case 'R':
		if (sscanf(tag, "sgd1 R %7s %d %299s", dir, &idx, name) != 3)
			return false;
		key->kind = SG_CNT_RULE;
		key->group_idx = counters_group(c, name);
		if (key->group_idx < 0)
			return false;
		break;
	case 'F':
		if (sscanf(tag, "sgd1 F %d", &idx) != 1)
			return false;
		key->kind = SG_CNT_FAILSAFE;
		strcpy(dir, "in");
		break;
	case 'I':
		if (sscanf(tag, "sgd1 I %7s %299s", dir, name) != 2)
			return false;
		key->kind = SG_CNT_IMPLICIT;
		key->name = counters_implicit_name(name);
		if (!key->name)
			return false;
		break;
	case 'S':
	case 'D':
		if (sscanf(tag + 6, "%7s", dir) != 1)
			return false;
		key->kind = kind == 'S' ? SG_CNT_STATEFUL : SG_CNT_DROP;
		/* forward_in / forward_out (compile_forward.c) */
		if (strncmp(dir, "fwd_", 4) == 0) {
			key->forward = true;
			memmove(dir, dir + 4, strlen(dir + 4) + 1);
		}
		break;
	default:
		return false;
	}
	key->dir = strcmp(dir, "out") == 0 ? SG_DIR_OUT : SG_DIR_IN;
	key->rule_index = idx;
	return true;
}

static bool counters_same(const struct sg_counter *a, const struct sg_counter *b)
{
	return a->kind == b->kind && a->group_idx == b->group_idx &&
	       a->dir == b->dir && a->rule_index == b->rule_index &&
	       a->name == b->name && a->forward == b->forward;
}

static int counters_add(struct counters_ctx *c, const struct sg_counter *key)
{
	/* the nft rules of one sgd rule are usually adjacent; the rest is
	 * merged after sorting (counters_merge) */
	if (c->n > 0 && counters_same(&c->v[c->n - 1], key)) {
		c->v[c->n - 1].packets += key->packets;
		c->v[c->n - 1].bytes += key->bytes;
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct sg_counter *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = *key;
	return 0;
}

static int counters_order(const void *pa, const void *pb)
{
	const struct sg_counter *a = pa, *b = pb;

	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	if (a->group_idx != b->group_idx)
		return a->group_idx - b->group_idx;
	if (a->forward != b->forward)
		return (int)a->forward - (int)b->forward;
	if (a->dir != b->dir)
		return (int)a->dir - (int)b->dir;
	if (a->rule_index != b->rule_index)
		return a->rule_index - b->rule_index;
	return strcmp(a->name ? a->name : "", b->name ? b->name : "");
}

/* Sort and sum entries with the same key. */
static void counters_merge(struct counters_ctx *c)
{
	size_t i, k = 0;

	if (c->n == 0)
		return;
	qsort(c->v, c->n, sizeof(*c->v), counters_order);
	for (i = 1; i < c->n; i++) {
		if (counters_same(&c->v[k], &c->v[i])) {
			c->v[k].packets += c->v[i].packets;
			c->v[k].bytes += c->v[i].bytes;
		} else {
			c->v[++k] = c->v[i];
		}
	}
	c->n = k + 1;
}

static int counters_rule_cb(const struct nftnl_rule *r, void *data)
{
	struct counters_ctx *c = data;
	const struct nftnl_udata *attr;
	struct nftnl_udata_buf *ud = NULL;
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	struct sg_counter key;
	const char *tag = NULL;
	const void *udata;
	uint32_t len = 0;
	bool found = false;
	int rc;

	udata = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	if (!udata || len == 0)
		return 0;
	ud = nftnl_udata_buf_alloc(len);
	if (!ud)
		return -ENOMEM;
	nftnl_udata_buf_put(ud, udata, len);
	nftnl_udata_for_each(ud, attr) {
		const char *v = nftnl_udata_get(attr);
		uint8_t l = nftnl_udata_len(attr);

		if (nftnl_udata_type(attr) == ABI_UDATA_RULE_SGD_TAG && l > 0 &&
		    v[l - 1] == '\0')
			tag = v;
	}
	if (!tag || !counters_parse(c, tag, &key)) {
		nftnl_udata_buf_free(ud);
		return 0;
	}
	nftnl_udata_buf_free(ud);
	it = nftnl_expr_iter_create(r);
	if (!it)
		return -ENOMEM;
	while ((e = nftnl_expr_iter_next(it))) {
		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") != 0)
			continue;
		key.packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		key.bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
		found = true;
		break;
	}
	nftnl_expr_iter_destroy(it);
	if (!found)
		return 0;
	rc = counters_add(c, &key);
	return rc;
}

struct counters_elems {
	struct counters_ctx *c;
	const struct flat *f;
	const struct flat_set *s;
};

/* The group a map entry names in cfg, or -1 when cfg no longer has it. */
static int counters_ref_group(struct counters_ctx *c, const struct flat *f,
			      const struct flat_ref *ref)
{
	const char *name = (size_t)ref->gi < f->n_groups ? f->gnames[ref->gi] : NULL;

	if (!name)
		return -1;
	if ((size_t)ref->gi < c->cfg->n_groups &&
	    strcmp(c->cfg->groups[ref->gi].name, name) == 0)
		return ref->gi;
	return counters_group(c, name);
}

static int counters_ref_add(struct counters_ctx *c, const struct flat *f,
			    const struct flat_ref *ref, uint64_t packets,
			    uint64_t bytes)
{
	struct sg_counter key = { .kind = SG_CNT_RULE };

	key.group_idx = counters_ref_group(c, f, ref);
	if (key.group_idx < 0)
		return 0;	/* stale */
	key.dir = ref->dir;
	key.rule_index = ref->index;
	key.packets = packets;
	key.bytes = bytes;
	return counters_add(c, &key);
}

/* A counter expression (NFTA_EXPR_NAME "counter", NFTA_EXPR_DATA). */
static bool counters_expr(const struct nlattr *expr, uint64_t *packets,
			  uint64_t *bytes)
{
	const struct nlattr *a, *d;
	bool is_counter = false, got = false;

	mnl_attr_for_each_nested(a, expr) {
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			is_counter = strcmp(mnl_attr_get_str(a), "counter") == 0;
		else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA)
			mnl_attr_for_each_nested(d, a) {
				if (mnl_attr_validate(d, MNL_TYPE_U64) < 0)
					continue;
				if (mnl_attr_get_type(d) == NFTA_COUNTER_PACKETS)
					*packets = be64toh(mnl_attr_get_u64(d));
				else if (mnl_attr_get_type(d) == NFTA_COUNTER_BYTES)
					*bytes = be64toh(mnl_attr_get_u64(d));
				got = true;
			}
	}
	return is_counter && got;
}

static int counters_elem(const struct nlattr *el, void *data)
{
	struct counters_elems *x = data;
	const struct nlattr *a, *v, *l;
	const uint8_t *key = NULL;
	const struct flat_elem *fe;
	uint64_t packets = 0, bytes = 0;
	uint32_t flags = 0;
	size_t klen = 0;
	bool found = false;

	mnl_attr_for_each_nested(a, el) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_KEY:
			mnl_attr_for_each_nested(v, a)
				if (mnl_attr_get_type(v) == NFTA_DATA_VALUE) {
					key = mnl_attr_get_payload(v);
					klen = mnl_attr_get_payload_len(v);
				}
			break;
		case NFTA_SET_ELEM_FLAGS:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				flags = ntohl(mnl_attr_get_u32(a));
			break;
		case NFTA_SET_ELEM_EXPR:
			found = found || counters_expr(a, &packets, &bytes);
			break;
		case NFTA_SET_ELEM_EXPRESSIONS:
			mnl_attr_for_each_nested(l, a)
				found = found || counters_expr(l, &packets, &bytes);
			break;
		default:
			break;
		}
	}
	if (!key || !found || (flags & NFT_SET_ELEM_INTERVAL_END))
		return 0;
	fe = flat_find(x->s, key, klen);
	if (!fe || fe->ref >= x->f->n_refs)
		return 0;
	return counters_ref_add(x->c, x->f, &x->f->refs[fe->ref], packets, bytes);
}

static int counters_flat(struct sg_engine *e, struct counters_ctx *c)
{
	struct nl_conn conn = nldump_conn(e);
	struct flat *own = NULL;
	const struct flat *f = e->flat;
	size_t i;
	int rc = 0;

	if (!f) {
		/* this process did not commit: the map is deterministic */
		rc = flat_build(c->cfg, &own);
		if (rc)
			return rc;
		f = own;
	}
	for (i = 0; !rc && i < f->n_refs; i++)
		rc = counters_ref_add(c, f, &f->refs[i], 0, 0);
	for (i = 0; !rc && i < f->n_sets; i++) {
		struct counters_elems x = { .c = c, .f = f, .s = &f->sets[i] };

		rc = nldump_setelems(&conn, f->sets[i].name, counters_elem, &x);
	}
	flat_free(own);
	return rc;
}

int engine_read_counters(struct sg_engine *e, const struct sg_config *cfg,
			 struct sg_counter **out, size_t *n)
{
	struct counters_ctx c = { .cfg = cfg, .last_group = -1 };
	struct nl_conn conn = nldump_conn(e);
	int rc = nldump_rules(&conn, counters_rule_cb, &c);

	if (!rc)
		rc = counters_flat(e, &c);
	if (rc) {
		free(c.v);
		return rc;
	}
	counters_merge(&c);
	*out = c.v;
	*n = c.n;
	return 0;
}
