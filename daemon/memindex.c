/*
 * memindex.c — a peer group's members as a hash (see memindex.h).
 *
 * Open addressing with linear probing, at most half full; a removal
 * shifts the following run back instead of leaving tombstones, so
 * lookups never slow down after many adds and dels.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "memindex.h"
#include "siphash.h"

static int memidx_fam(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

static unsigned memidx_maxlen(int fam)
{
	return fam == 0 ? 32 : 128;
}

/* c with its host bits and the unused IPv4 bytes cleared, padding zeroed
 * so that whole-struct copies compare equal. */
static void memidx_norm(struct sg_cidr *out, const struct sg_cidr *c,
			unsigned prefix)
{
	unsigned len = c->family == AF_INET ? 4 : 16, i;

	memset(out, 0, sizeof(*out));
	out->family = c->family;
	out->prefix = (uint8_t)prefix;
	for (i = 0; i < len; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8 :
				prefix <= i * 8 ? 0 : prefix - i * 8;

		out->addr.bytes[i] = (uint8_t)(c->addr.bytes[i] &
					       (uint8_t)(0xff00u >> keep));
	}
}

static bool memidx_same(const struct sg_cidr *a, const struct sg_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr.bytes, b->addr.bytes, 16) == 0;
}

/* Keyed (siphash.h): members come from members.d files and clients, so
 * an unkeyed hash would let them choose colliding addresses. */
static size_t memidx_hash(const struct memidx *x, const struct sg_cidr *c)
{
	uint8_t k[18];

	k[0] = (uint8_t)c->family;
	k[1] = c->prefix;
	memcpy(k + 2, c->addr.bytes, 16);
	return (size_t)sip_hash24(&x->key, k, sizeof(k));
}

static size_t memidx_lookup(const struct memidx *x, const struct sg_cidr *n)
{
	size_t m = x->cap - 1, i = memidx_hash(x, n) & m;

	while (x->slot[i].used && !memidx_same(&x->slot[i].c, n))
		i = (i + 1) & m;
	return i;
}

struct memidx_slot *memidx_find(const struct memidx *x, const struct sg_cidr *c)
{
	struct sg_cidr n;
	size_t i;

	if (!x->cap || memidx_fam(c->family) < 0)
		return NULL;
	memidx_norm(&n, c, c->prefix);
	i = memidx_lookup(x, &n);
	return x->slot[i].used ? &x->slot[i] : NULL;
}

static int memidx_grow(struct memidx *x)
{
	size_t old_cap = x->cap, cap = old_cap ? old_cap * 2 : 64, i;
	struct memidx_slot *old = x->slot, *nv = calloc(cap, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	x->slot = nv;
	x->cap = cap;
	for (i = 0; i < old_cap; i++)
		if (old[i].used)
			nv[memidx_lookup(x, &old[i].c)] = old[i];
	free(old);
	return 0;
}

/* Remove slot i: shift back the run after it (backward-shift deletion). */
static void memidx_unslot(struct memidx *x, size_t i)
{
	size_t m = x->cap - 1, j = i, k;

	x->slot[i].used = false;
	for (;;) {
		j = (j + 1) & m;
		if (!x->slot[j].used)
			return;
		k = memidx_hash(x, &x->slot[j].c) & m;
		/* move j into the hole unless its home lies in (i, j] */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		x->slot[i] = x->slot[j];
		x->slot[j].used = false;
		i = j;
	}
}

bool memidx_covered(const struct memidx *x, const struct sg_cidr *c)
{
	int fam = memidx_fam(c->family);
	struct sg_cidr n;
	unsigned q;

	if (fam < 0 || !x->n)
		return false;
	for (q = 0; q < c->prefix; q++) {
		if (!x->plen[fam][q])
			continue;
		memidx_norm(&n, c, q);
		if (x->slot[memidx_lookup(x, &n)].used)
			return true;
	}
	return false;
}

static bool memidx_inside(const struct sg_cidr *outer, const struct sg_cidr *inner)
{
	struct sg_cidr n;

	if (inner->family != outer->family || inner->prefix <= outer->prefix)
		return false;
	memidx_norm(&n, inner, outer->prefix);
	return memcmp(n.addr.bytes, outer->addr.bytes, 16) == 0;
}

/* Are there members of fam narrower than prefix? */
static bool memidx_any_narrower(const struct memidx *x, int fam, unsigned prefix)
{
	unsigned q;

	for (q = prefix + 1; q <= memidx_maxlen(fam); q++)
		if (x->plen[fam][q])
			return true;
	return false;
}

/* The top-level members strictly inside c (c itself not counted as a
 * member: it is being added or was just removed) into ops with del. */
static int memidx_walk_inside(const struct memidx *x, const struct sg_cidr *c,
			      bool del, struct memidx_ops *ops)
{
	size_t i;
	int rc;

	if (!memidx_any_narrower(x, memidx_fam(c->family), c->prefix))
		return 0;
	for (i = 0; i < x->list->n; i++) {
		struct sg_cidr n;

		if (!memidx_inside(c, &x->list->v[i]))
			continue;
		memidx_norm(&n, &x->list->v[i], x->list->v[i].prefix);
		if (memidx_covered(x, &n))
			continue;
		rc = memidx_ops_push(ops, &n, del);
		if (rc)
			return rc;
	}
	return 0;
}

/* Insert the normalized n (absent) at the end of the list. */
static int memidx_insert(struct memidx *x, const struct sg_cidr *n,
			 struct memidx_slot **out)
{
	struct memidx_slot *s;
	int rc;

	if ((x->n + 1) * 2 > x->cap) {
		rc = memidx_grow(x);
		if (rc)
			return rc;
	}
	rc = cidr_list_add(x->list, n);
	if (rc)
		return rc;
	s = &x->slot[memidx_lookup(x, n)];
	memset(s, 0, sizeof(*s));
	s->c = *n;
	s->used = true;
	s->pos = (uint32_t)(x->list->n - 1);
	x->n++;
	x->plen[memidx_fam(n->family)][n->prefix]++;
	*out = s;
	return 0;
}

int memidx_init(struct memidx *x, struct sg_cidr_list *list)
{
	size_t i, o = 0;
	int rc = 0;

	memset(x, 0, sizeof(*x));
	x->list = list;
	/* a weaker (clock) key only before the kernel's pool is ready */
	(void)sip_key_random(&x->key);
	/* sized once for the whole list: no rehash while it is indexed */
	x->cap = 32;
	while (x->cap < 2 * (list->n + 1))
		x->cap *= 2;
	x->slot = calloc(x->cap, sizeof(*x->slot));
	if (!x->slot) {
		x->cap = 0;
		rc = -ENOMEM;
	}
	for (i = 0; i < list->n && rc == 0; i++) {
		struct sg_cidr n;
		size_t k;

		if (memidx_fam(list->v[i].family) < 0)
			continue;
		memidx_norm(&n, &list->v[i], list->v[i].prefix);
		if ((x->n + 1) * 2 > x->cap && (rc = memidx_grow(x)) != 0)
			break;
		k = memidx_lookup(x, &n);
		if (x->slot[k].used)
			continue;	/* a duplicate: dropped */
		x->slot[k].c = n;
		x->slot[k].used = true;
		x->slot[k].n_static = 1;
		x->slot[k].pos = (uint32_t)o;
		list->v[o++] = n;
		x->n++;
		x->plen[memidx_fam(n.family)][n.prefix]++;
	}
	if (rc) {
		memidx_free(x);
		return rc;
	}
	list->n = o;
	return 0;
}

void memidx_free(struct memidx *x)
{
	free(x->slot);
	x->slot = NULL;
	x->cap = x->n = 0;
	memset(x->plen, 0, sizeof(x->plen));
}

int memidx_add(struct memidx *x, const struct sg_cidr *c,
	       enum memidx_origin origin, struct memidx_ops *ops)
{
	int fam = memidx_fam(c->family);
	struct memidx_slot *s;
	struct sg_cidr n;
	bool top;
	int rc;

	if (fam < 0 || c->prefix > memidx_maxlen(fam))
		return -EINVAL;
	memidx_norm(&n, c, c->prefix);
	s = memidx_find(x, &n);
	if (s) {
		if (origin == MEMIDX_STATIC)
			s->n_static++;
		else
			s->rt = true;
		return 0;
	}
	top = !memidx_covered(x, &n);
	/* { members inside n that were top-level }: they leave the set in
	 * the same transaction that adds n (the kernel refuses overlaps) */
	if (ops && top) {
		rc = memidx_walk_inside(x, &n, true, ops);
		if (!rc)
			rc = memidx_ops_push(ops, &n, false);
		if (rc)
			return rc;
	}
	rc = memidx_insert(x, &n, &s);
	if (rc)
		return rc;
	if (origin == MEMIDX_STATIC)
		s->n_static = 1;
	else
		s->rt = true;
	return 1;
}

int memidx_del(struct memidx *x, const struct sg_cidr *c,
	       enum memidx_origin origin, struct memidx_ops *ops)
{
	struct memidx_slot *s = memidx_find(x, c), *moved;
	struct sg_cidr n;
	uint32_t pos;
	bool top;
	int fam;

	if (!s || (origin == MEMIDX_RT && !s->rt) ||
	    (origin == MEMIDX_STATIC && !s->n_static))
		return -ENOENT;
	if (origin == MEMIDX_RT)
		s->rt = false;
	else
		s->n_static--;
	if (s->rt || s->n_static)
		return 0;
	n = s->c;
	pos = s->pos;
	fam = memidx_fam(n.family);
	memidx_unslot(x, (size_t)(s - x->slot));
	x->n--;
	x->plen[fam][n.prefix]--;
	/* the last list entry takes the hole */
	if (pos + 1 < x->list->n) {
		x->list->v[pos] = x->list->v[x->list->n - 1];
		moved = memidx_find(x, &x->list->v[pos]);
		if (moved)
			moved->pos = pos;
	}
	x->list->n--;
	top = !memidx_covered(x, &n);
	if (ops && top) {
		/* delete n, then add what it no longer hides */
		int rc = memidx_ops_push(ops, &n, true);

		if (!rc)
			rc = memidx_walk_inside(x, &n, false, ops);
		if (rc)
			return rc;
	}
	return 1;
}

void memidx_ops_free(struct memidx_ops *o)
{
	free(o->v);
	o->v = NULL;
	o->n = o->cap = 0;
}

int memidx_ops_push(struct memidx_ops *o, const struct sg_cidr *c, bool del)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct sg_member_op *nv = realloc(o->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		o->v = nv;
		o->cap = cap;
	}
	o->v[o->n].c = *c;
	o->v[o->n].del = del;
	o->n++;
	return 0;
}
