/*
 * compile_flat.c — the rules of the globally attached groups as sets
 * (see flat.h for the layout): classify every (rule, peer), resolve the
 * overlaps of each set (compile_layer.c) and lay the elements out sorted
 * by key, which is also the element -> rule map counters.c reads.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "flat.h"

/* candidate buckets: dir x family x slot */
enum { SLOT_TCP_EXACT, SLOT_TCP_RANGE, SLOT_UDP_EXACT, SLOT_UDP_RANGE,
       SLOT_ALL, SLOT_N };
#define FLAT_BUCKETS (2 * 2 * SLOT_N)

struct cand_list {
	struct flat_cand *v;
	size_t n, cap;
};

struct build_ctx {
	const struct sg_config *cfg;
	struct flat *f;
	struct cand_list b[FLAT_BUCKETS];
	/* peer-group port candidates: dir x (tcp, udp) x peer group */
	struct cand_list *pg;
	size_t cap_sets;
	uint32_t seq;
};

static size_t flat_bucket(enum sg_dir dir, int af, int slot)
{
	return ((size_t)dir * 2 + (af == AF_INET6)) * SLOT_N + (size_t)slot;
}

int flat_chain_name(enum sg_dir dir, int proto, char *buf, size_t len)
{
	const char *d = dir == SG_DIR_IN ? "in" : "out";
	int n;

	switch (proto) {
	case SG_PROTO_TCP: n = snprintf(buf, len, "%s.tcp", d); break;
	case SG_PROTO_UDP: n = snprintf(buf, len, "%s.udp", d); break;
	case SG_PROTO_ICMP: n = snprintf(buf, len, "%s.icmp", d); break;
	case SG_PROTO_ICMPV6: n = snprintf(buf, len, "%s.icmpv6", d); break;
	default: n = snprintf(buf, len, "%s.p%d", d, proto); break;
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A group name holds letters, digits, '_', '.' and '-', never '/'
 * (load_group_name_valid): everything between the prefix and the first
 * '/' is the group, so two groups, or two layers of one group, can never
 * share a name.  A '.' before the layer would not do: layer 1 of group
 * "a" and group "a.1" were both in.tcp.pg.a.1, and the kernel merged
 * their ports into one set.  nft prints '/' in a name unquoted. */
int flat_pg_set_name(enum sg_dir dir, int proto, const char *group, int layer,
		     char *buf, size_t len)
{
	const char *d = dir == SG_DIR_IN ? "in" : "out";
	const char *pn = proto == SG_PROTO_TCP ? "tcp" : "udp";
	int n;

	if (strchr(group, '/'))
		return -EINVAL;
	n = layer == 0 ? snprintf(buf, len, "%s.%s.pg.%s", d, pn, group) :
			 snprintf(buf, len, "%s.%s.pg.%s/%d", d, pn, group, layer);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool flat_has_proto(const struct flat *f, enum sg_dir dir, int proto)
{
	if (proto < 0 || proto > 255)
		return false;
	return f->protos[dir][proto / 8] & (1u << (proto % 8));
}

static void flat_mark_proto(struct flat *f, enum sg_dir dir, int proto)
{
	f->protos[dir][proto / 8] |= (uint8_t)(1u << (proto % 8));
}

static int flat_grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *nv;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	nv = realloc(*v, c * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

static int flat_add_rest(struct flat *f, const struct sg_rule *r, size_t peer, int gi)
{
	int rc = flat_grow((void **)&f->rest, &f->cap_rest, f->n_rest, sizeof(*f->rest));

	if (rc)
		return rc;
	f->rest[f->n_rest].rule = r;
	f->rest[f->n_rest].peer = peer;
	f->rest[f->n_rest].gi = gi;
	f->n_rest++;
	if (r->proto != SG_PROTO_ALL)
		flat_mark_proto(f, r->dir, r->proto);
	return 0;
}

static size_t flat_pg_bucket(const struct build_ctx *c, enum sg_dir dir, int proto,
			     int pgi)
{
	return ((size_t)dir * 2 + (proto == SG_PROTO_UDP)) * c->cfg->n_groups + (size_t)pgi;
}

/* The rule's single reference, created with its first element. */
static int flat_ref(struct build_ctx *c, int gi, const struct sg_rule *r, uint32_t *ref)
{
	struct flat *f = c->f;
	int rc;

	if (*ref != UINT32_MAX)
		return 0;
	rc = flat_grow((void **)&f->refs, &f->cap_refs, f->n_refs, sizeof(*f->refs));
	if (rc)
		return rc;
	*ref = (uint32_t)f->n_refs++;
	f->refs[*ref].gi = gi;
	f->refs[*ref].index = r->index;
	f->refs[*ref].dir = r->dir;
	f->refs[*ref].rule = r;
	return 0;
}

static int flat_add_cand(struct build_ctx *c, struct cand_list *l, const struct sg_cidr *cidr,
			 int lo, int hi, uint32_t ref, size_t peer)
{
	struct flat_cand *e;
	int rc = flat_grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v));

	if (rc)
		return rc;
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	if (cidr) {
		memcpy(e->addr, cidr->addr.bytes, cidr->family == AF_INET ? 4 : 16);
		e->prefix = cidr->prefix;
	}
	e->lo = (uint16_t)lo;
	e->hi = (uint16_t)hi;
	e->ref = ref;
	e->peer = (uint32_t)peer;
	e->seq = c->seq++;
	return 0;
}

/* One rule of a globally attached group: its CIDR peers become
 * candidates, the rest stays rules. */
static int flat_rule(struct build_ctx *c, int gi, const struct sg_rule *r)
{
	struct flat *f = c->f;
	bool ported = r->proto == SG_PROTO_TCP || r->proto == SG_PROTO_UDP;
	uint32_t ref = UINT32_MAX;
	size_t i;
	int rc;

	if (ported && (r->port_lo < 0 || r->port_hi > 65535 || r->port_lo > r->port_hi))
		return -EINVAL;
	if (r->proto != SG_PROTO_ALL && (r->proto < 0 || r->proto > 255))
		return -EINVAL;
	for (i = 0; i < r->n_peers; i++) {
		const struct sg_peer *p = &r->peers[i];
		const struct sg_cidr *a = &p->cidr;
		int slot, full;

		if (p->kind == SG_PEER_GROUP &&
		    (p->group_idx < 0 || (size_t)p->group_idx >= c->cfg->n_groups))
			return -EINVAL;
		if (p->kind == SG_PEER_GROUP && ported) {
			/* the rule's ports join the group's port set */
			rc = flat_ref(c, gi, r, &ref);
			if (!rc)
				rc = flat_add_cand(c, &c->pg[flat_pg_bucket(c, r->dir, r->proto,
									     p->group_idx)],
						   NULL, r->port_lo, r->port_hi, ref, i);
			if (rc)
				return rc;
			continue;
		}
		if (p->kind != SG_PEER_CIDR || !(ported || r->proto == SG_PROTO_ALL)) {
			rc = flat_add_rest(f, r, i, gi);
			if (rc)
				return rc;
			continue;
		}
		if (a->family != AF_INET && a->family != AF_INET6)
			return -EINVAL;
		full = a->family == AF_INET ? 32 : 128;
		if (a->prefix > full)
			return -EINVAL;
		rc = flat_ref(c, gi, r, &ref);
		if (rc)
			return rc;
		if (r->proto == SG_PROTO_ALL)
			slot = SLOT_ALL;
		else if (a->prefix == full && r->port_lo == r->port_hi)
			slot = r->proto == SG_PROTO_TCP ? SLOT_TCP_EXACT : SLOT_UDP_EXACT;
		else
			slot = r->proto == SG_PROTO_TCP ? SLOT_TCP_RANGE : SLOT_UDP_RANGE;
		rc = flat_add_cand(c, &c->b[flat_bucket(r->dir, a->family, slot)], a,
				   ported ? r->port_lo : 0, ported ? r->port_hi : 65535,
				   ref, i);
		if (rc)
			return rc;
	}
	return 0;
}

int flat_elem_cmp(const void *pa, const void *pb)
{
	const struct flat_elem *a = pa, *b = pb;

	return memcmp(a->key, b->key, sizeof(a->key));
}

const struct flat_elem *flat_find(const struct flat_set *s, const uint8_t *key,
				  size_t klen)
{
	struct flat_elem probe;

	if (klen != s->klen)
		return NULL;
	memset(probe.key, 0, sizeof(probe.key));
	memcpy(probe.key, key, klen);
	return bsearch(&probe, s->v, s->n, sizeof(*s->v), flat_elem_cmp);
}

/* The last address of a block (inclusive), or the first after it
 * (exclusive; false when the block reaches the top of the space). */
static void flat_block_last(const struct flat_cand *e, size_t alen, uint8_t *out)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned bits = e->prefix > i * 8 ? e->prefix - i * 8 : 0;

		out[i] = bits >= 8 ? e->addr[i] : e->addr[i] | (uint8_t)(0xff >> bits);
	}
}

static bool flat_block_next(const struct flat_cand *e, size_t alen, uint8_t *out)
{
	int i;

	flat_block_last(e, alen, out);
	for (i = (int)alen - 1; i >= 0; i--)
		if (++out[i] != 0)
			return true;
	return false;
}

static void flat_elem_fill(struct flat_elem *el, const struct flat_set *s,
			   const struct flat_cand *e, size_t alen)
{
	uint16_t lo = htons(e->lo), hi = htons(e->hi);

	memset(el, 0, sizeof(*el));
	el->ref = e->ref;
	if (s->kind == FLAT_PORT) {
		/* { lo-hi }: start, and the exclusive end unless hi is 65535 */
		uint16_t next = htons((uint16_t)(e->hi + 1));

		memcpy(el->key, &lo, 2);
		memcpy(el->end, &next, 2);
		el->has_end = e->hi < 65535;
		return;
	}
	memcpy(el->key, e->addr, alen);
	if (s->kind == FLAT_ADDR) {
		el->has_end = flat_block_next(e, alen, el->end);
		return;
	}
	/* addr . port: every field padded to 4 bytes */
	memcpy(el->key + alen, &lo, 2);
	if (s->kind == FLAT_RANGE) {
		flat_block_last(e, alen, el->end);
		memcpy(el->end + alen, &hi, 2);
		el->has_end = true;
	}
}

static struct flat_set *flat_new_set(struct build_ctx *c, enum flat_kind kind,
				     enum sg_dir dir, int af, int proto, int layer,
				     int peer_gi)
{
	struct flat *f = c->f;
	struct flat_set *s;
	const char *d = dir == SG_DIR_IN ? "in" : "out";
	const char *pn = proto == SG_PROTO_TCP ? "tcp" : "udp";
	int fam = af == AF_INET ? 4 : 6;

	if (flat_grow((void **)&f->sets, &c->cap_sets, f->n_sets, sizeof(*f->sets)))
		return NULL;
	s = &f->sets[f->n_sets++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->dir = dir;
	s->af = af;
	s->proto = proto;
	s->layer = layer;
	s->peer_gi = peer_gi;
	s->klen = af == AF_INET ? 4 : 16;
	if (kind == FLAT_PORT) {
		s->klen = 2;
		if (flat_pg_set_name(dir, proto, c->cfg->groups[peer_gi].name, layer,
				     s->name, sizeof(s->name))) {
			f->n_sets--;
			return NULL;
		}
		return s;
	}
	if (kind == FLAT_ADDR)
		snprintf(s->name, sizeof(s->name), "%s%d.all", d, fam);
	else if (kind == FLAT_EXACT)
		snprintf(s->name, sizeof(s->name), "%s%d.%s.exact", d, fam, pn);
	else if (layer == 0)
		snprintf(s->name, sizeof(s->name), "%s%d.%s.range", d, fam, pn);
	else
		snprintf(s->name, sizeof(s->name), "%s%d.%s.range.%d", d, fam, pn, layer);
	if (kind != FLAT_ADDR)
		s->klen += 4;
	return s;
}

/* Resolve one candidate list into its set(s); overflowing candidates
 * stay rules. */
static int flat_list_sets(struct build_ctx *c, struct cand_list *l, enum flat_kind kind,
			  enum sg_dir dir, int af, int proto, int peer_gi)
{
	size_t alen = af == AF_INET ? 4 : 16, counts[FLAT_MAX_LAYERS] = { 0 }, i;
	size_t first_set = c->f->n_sets;
	int layer, rc = 0;

	if (l->n == 0) {
		/* the first interval concat set exists even when empty, so
		 * that a reload that fills it finds it (engine_reuse.c) */
		if (kind == FLAT_RANGE && !flat_new_set(c, kind, dir, af, proto, 0, peer_gi))
			return -ENOMEM;
		return 0;
	}
	if (kind == FLAT_EXACT)
		flat_dedupe(l->v, l->n, af);
	else
		rc = flat_layer(l->v, l->n, af);
	if (rc)
		return rc;
	for (i = 0; i < l->n; i++) {
		if (l->v[i].layer >= 0)
			counts[l->v[i].layer]++;
		else if (l->v[i].layer == FLAT_OVERFLOW) {
			const struct flat_ref *ref = &c->f->refs[l->v[i].ref];

			rc = flat_add_rest(c->f, ref->rule, l->v[i].peer, ref->gi);
			if (rc)
				return rc;
		}
	}
	for (layer = 0; layer < FLAT_MAX_LAYERS && counts[layer]; layer++) {
		struct flat_set *s = flat_new_set(c, kind, dir, af, proto, layer, peer_gi);

		if (!s)
			return kind == FLAT_PORT ? -ENAMETOOLONG : -ENOMEM;
		s->v = malloc(counts[layer] * sizeof(*s->v));
		if (!s->v)
			return -ENOMEM;
		s->cap = counts[layer];
	}
	for (i = 0; i < l->n; i++) {
		struct flat_set *s;

		if (l->v[i].layer < 0)
			continue;
		s = &c->f->sets[first_set + (size_t)l->v[i].layer];
		flat_elem_fill(&s->v[s->n++], s, &l->v[i], alen);
	}
	for (i = first_set; i < c->f->n_sets; i++)
		qsort(c->f->sets[i].v, c->f->sets[i].n, sizeof(*c->f->sets[i].v),
		      flat_elem_cmp);
	if (proto != SG_PROTO_ALL && c->f->n_sets > first_set)
		flat_mark_proto(c->f, dir, proto);
	free(l->v);
	memset(l, 0, sizeof(*l));
	return 0;
}

static int flat_bucket_sets(struct build_ctx *c, enum sg_dir dir, int af, int slot)
{
	enum flat_kind kind = slot == SLOT_ALL ? FLAT_ADDR :
		(slot == SLOT_TCP_EXACT || slot == SLOT_UDP_EXACT) ? FLAT_EXACT : FLAT_RANGE;
	int proto = slot == SLOT_ALL ? SG_PROTO_ALL :
		(slot == SLOT_TCP_EXACT || slot == SLOT_TCP_RANGE) ? SG_PROTO_TCP : SG_PROTO_UDP;

	return flat_list_sets(c, &c->b[flat_bucket(dir, af, slot)], kind, dir, af, proto, -1);
}

void flat_free(struct flat *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n_sets; i++)
		free(f->sets[i].v);
	for (i = 0; i < f->n_groups; i++)
		free(f->gnames[i]);
	free(f->sets);
	free(f->refs);
	free(f->rest);
	free(f->gnames);
	free(f->global);
	free(f);
}

/* Give back the doubling slack of the reference list: the daemon keeps
 * this flat until the next reload, next to the new one. */
static void flat_shrink(struct flat *f)
{
	struct flat_ref *v;

	if (f->n_refs == 0 || f->n_refs == f->cap_refs)
		return;
	v = realloc(f->refs, f->n_refs * sizeof(*v));
	if (!v)
		return;	/* the larger block stays valid */
	f->refs = v;
	f->cap_refs = f->n_refs;
}

static int flat_rules(struct build_ctx *c, int gi)
{
	const struct sg_group *g = &c->cfg->groups[gi];
	size_t i;
	int rc;

	for (i = 0; i < g->n_ingress; i++) {
		rc = flat_rule(c, gi, &g->ingress[i]);
		if (rc)
			return rc;
	}
	for (i = 0; i < g->n_egress; i++) {
		rc = flat_rule(c, gi, &g->egress[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int flat_build(const struct sg_config *cfg, struct flat **out)
{
	struct build_ctx c = { .cfg = cfg };
	struct flat *f = calloc(1, sizeof(*f));
	size_t i;
	int rc = 0, d, af, slot;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	c.f = f;
	f->n_groups = cfg->n_groups;
	f->gnames = calloc(cfg->n_groups ? cfg->n_groups : 1, sizeof(*f->gnames));
	f->global = calloc(cfg->n_groups ? cfg->n_groups : 1, sizeof(*f->global));
	c.pg = calloc(4 * (cfg->n_groups ? cfg->n_groups : 1), sizeof(*c.pg));
	if (!f->gnames || !f->global || !c.pg)
		rc = -ENOMEM;
	for (i = 0; !rc && i < cfg->n_attach; i++) {
		int gi = cfg->attach[i].group_idx;

		if (gi < 0 || (size_t)gi >= cfg->n_groups) {
			rc = -EINVAL;
			break;
		}
		if (f->global[gi])
			continue;	/* attached twice: a union, once is enough */
		f->global[gi] = true;
		f->gnames[gi] = strdup(cfg->groups[gi].name);
		rc = f->gnames[gi] ? flat_rules(&c, gi) : -ENOMEM;
	}
	for (d = 0; !rc && d < 2; d++)
		for (af = 0; !rc && af < 2; af++)
			for (slot = 0; !rc && slot < SLOT_N; slot++)
				rc = flat_bucket_sets(&c, (enum sg_dir)d,
						      af ? AF_INET6 : AF_INET, slot);
	/* port sets of the peer groups, in group order */
	for (d = 0; !rc && d < 2; d++)
		for (slot = 0; !rc && slot < 2; slot++)
			for (i = 0; !rc && i < cfg->n_groups; i++)
				rc = flat_list_sets(&c, &c.pg[flat_pg_bucket(&c, d,
						slot ? SG_PROTO_UDP : SG_PROTO_TCP, (int)i)],
						    FLAT_PORT, (enum sg_dir)d, AF_INET,
						    slot ? SG_PROTO_UDP : SG_PROTO_TCP, (int)i);
	for (i = 0; i < FLAT_BUCKETS; i++)
		free(c.b[i].v);
	for (i = 0; c.pg && i < 4 * cfg->n_groups; i++)
		free(c.pg[i].v);
	free(c.pg);
	if (rc) {
		flat_free(f);
		return rc;
	}
	flat_shrink(f);
	*out = f;
	return 0;
}
