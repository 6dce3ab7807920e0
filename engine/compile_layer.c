/*
 * compile_layer.c — overlap resolution for the flat sets (flat.h).
 *
 * An element is an address block (a CIDR) times a port range.  Two CIDRs
 * are nested or disjoint, so two elements overlap only when one's block
 * is an ancestor of (or equal to) the other's and their port ranges meet.
 * Candidates are processed shortest prefix first; each one looks only at
 * the kept elements of its ancestor blocks, found by a hash of (masked
 * address, prefix) for each prefix length that occurs: at most 33 or 129
 * lookups, never a scan of the whole set.
 *
 * Inside one block the kept elements have strictly increasing low AND
 * high ports (an element whose low port equals or follows another's and
 * whose high port does not pass it is contained and dropped), so
 * containment and overlap are binary searches.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "flat.h"

struct layer_node {
	const uint8_t *addr;	/* the block's (masked) address */
	uint8_t prefix;
	size_t kept_first, kept_n;	/* range of layer_ctx.kept */
};

struct layer_ctx {
	struct flat_cand *v;
	size_t alen;
	struct layer_node *nodes;
	size_t n_nodes;
	uint32_t *table;	/* open addressing: node index + 1, 0 = empty */
	size_t mask;
	uint32_t *kept;		/* candidate indices, grouped by node */
	size_t n_kept;
};

static size_t layer_alen(int af)
{
	return af == AF_INET ? 4 : 16;
}

/* qsort has no context argument: the address length goes in the sort
 * key instead (ipv4 candidates have zero bytes past the fourth). */
static int layer_order(const void *pa, const void *pb)
{
	const struct flat_cand *a = pa, *b = pb;
	int c;

	if (a->prefix != b->prefix)
		return (int)a->prefix - (int)b->prefix;
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c;
	if (a->lo != b->lo)
		return (int)a->lo - (int)b->lo;
	if (a->hi != b->hi)
		return (int)b->hi - (int)a->hi;	/* the wider first */
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void layer_masked(const uint8_t *addr, unsigned prefix, size_t alen,
			 uint8_t *out)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;

		out[i] = bits >= 8 ? addr[i] : addr[i] & (uint8_t)(0xff00 >> bits);
	}
}

static size_t layer_hash(const uint8_t *addr, size_t alen, unsigned prefix)
{
	uint64_t h = 1469598103934665603ull ^ prefix;
	size_t i;

	for (i = 0; i < alen; i++)
		h = (h ^ addr[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static struct layer_node *layer_lookup(struct layer_ctx *c, const uint8_t *addr,
				       unsigned prefix)
{
	size_t i = layer_hash(addr, c->alen, prefix) & c->mask;

	for (; c->table[i]; i = (i + 1) & c->mask) {
		struct layer_node *nd = &c->nodes[c->table[i] - 1];

		if (nd->prefix == prefix && memcmp(nd->addr, addr, c->alen) == 0)
			return nd;
	}
	return NULL;
}

static void layer_insert(struct layer_ctx *c, size_t node)
{
	struct layer_node *nd = &c->nodes[node];
	size_t i = layer_hash(nd->addr, c->alen, nd->prefix) & c->mask;

	while (c->table[i])
		i = (i + 1) & c->mask;
	c->table[i] = (uint32_t)node + 1;
}

/* Look at node's kept elements against e: sets *contained, or adds the
 * layers of the elements e overlaps to *used. */
static void layer_check(const struct layer_ctx *c, const struct layer_node *nd,
			const struct flat_cand *e, uint32_t *used, bool *contained)
{
	const uint32_t *k = c->kept + nd->kept_first;
	size_t lo = 0, hi = nd->kept_n, first, i;

	if (nd->kept_n == 0)
		return;
	/* the last kept element starting at or before e */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->v[k[mid]].lo <= e->lo)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && c->v[k[lo - 1]].hi >= e->hi) {
		*contained = true;
		return;
	}
	/* overlapping: from the first ending at or after e's start up to the
	 * last starting at or before e's end */
	first = 0;
	hi = nd->kept_n;
	while (first < hi) {
		size_t mid = first + (hi - first) / 2;

		if (c->v[k[mid]].hi < e->lo)
			first = mid + 1;
		else
			hi = mid;
	}
	for (i = first; i < nd->kept_n && c->v[k[i]].lo <= e->hi; i++)
		*used |= 1u << c->v[k[i]].layer;
}

static int layer_setup(struct layer_ctx *c, size_t n)
{
	size_t i, cap = 16;

	for (i = 0; i < n; i++)
		if (i == 0 || c->v[i].prefix != c->v[i - 1].prefix ||
		    memcmp(c->v[i].addr, c->v[i - 1].addr, c->alen) != 0)
			c->n_nodes++;
	while (cap < c->n_nodes * 2)
		cap *= 2;
	c->mask = cap - 1;
	c->nodes = calloc(c->n_nodes ? c->n_nodes : 1, sizeof(*c->nodes));
	c->table = calloc(cap, sizeof(*c->table));
	c->kept = malloc((n ? n : 1) * sizeof(*c->kept));
	return c->nodes && c->table && c->kept ? 0 : -ENOMEM;
}

int flat_layer(struct flat_cand *v, size_t n, int af)
{
	struct layer_ctx c = { .v = v, .alen = layer_alen(af) };
	bool lens[129] = { false };
	uint8_t masked[16];
	size_t i, node = 0;
	unsigned l;
	int rc;

	qsort(v, n, sizeof(*v), layer_order);
	rc = layer_setup(&c, n);
	for (i = 0; !rc && i < n; i++) {
		struct flat_cand *e = &v[i];
		struct layer_node *cur;
		bool contained = false;
		uint32_t used = 0;

		if (i == 0 || e->prefix != v[i - 1].prefix ||
		    memcmp(e->addr, v[i - 1].addr, c.alen) != 0) {
			/* a new block: every shorter block is complete */
			if (i > 0)
				layer_insert(&c, node++);
			c.nodes[node].addr = e->addr;
			c.nodes[node].prefix = e->prefix;
			c.nodes[node].kept_first = c.n_kept;
			lens[e->prefix] = true;
		}
		cur = &c.nodes[node];
		for (l = 0; l < e->prefix && !contained; l++) {
			const struct layer_node *anc;

			if (!lens[l])
				continue;
			layer_masked(e->addr, l, c.alen, masked);
			anc = layer_lookup(&c, masked, l);
			if (anc)
				layer_check(&c, anc, e, &used, &contained);
		}
		if (!contained)
			layer_check(&c, cur, e, &used, &contained);
		if (contained) {
			e->layer = FLAT_DROPPED;
			continue;
		}
		e->layer = FLAT_OVERFLOW;
		for (l = 0; l < FLAT_MAX_LAYERS; l++)
			if (!(used & (1u << l))) {
				e->layer = (int)l;
				break;
			}
		if (e->layer == FLAT_OVERFLOW)
			continue;
		c.kept[c.n_kept++] = (uint32_t)i;
		cur->kept_n++;
	}
	free(c.nodes);
	free(c.table);
	free(c.kept);
	return rc;
}

static int dedupe_order(const void *pa, const void *pb)
{
	const struct flat_cand *a = pa, *b = pb;
	int c = memcmp(a->addr, b->addr, sizeof(a->addr));

	if (c)
		return c;
	if (a->lo != b->lo)
		return (int)a->lo - (int)b->lo;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void flat_dedupe(struct flat_cand *v, size_t n, int af)
{
	size_t i;

	(void)af;	/* ipv4 candidates carry zeros past their address */
	qsort(v, n, sizeof(*v), dedupe_order);
	for (i = 0; i < n; i++)
		v[i].layer = i > 0 && v[i].lo == v[i - 1].lo &&
			     memcmp(v[i].addr, v[i - 1].addr, sizeof(v[i].addr)) == 0 ?
			     FLAT_DROPPED : 0;
}
