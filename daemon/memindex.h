/*
 * memindex.h — the members of one peer group as a hash of CIDRs, so that a
 * membership change costs O(1) instead of O(members).
 *
 * Each member records where it comes from (the configuration — YAML or
 * members.d, counted — and/or a run-time addition) and where it sits in
 * a bound sg_cidr_list (the group's effective list, kept unsorted: a
 * member is appended, a removal moves the last one into its place).
 * Counts per family and prefix length make "is this inside a wider
 * member" at most 33 (IPv4) / 129 (IPv6) hash probes.
 *
 * Only top-level members (not inside another member) are kernel set
 * elements (see compile_sets.c).  memidx_add / memidx_del append to an
 * ordered list of element operations exactly what the kernel set must do:
 * a host address costs O(1); a wider prefix also walks the list once, to
 * find the members it now hides (or re-exposes).
 */
#ifndef SGD_MEMINDEX_H
#define SGD_MEMINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "engine.h"
#include "model.h"
#include "siphash.h"

enum memidx_origin {
	MEMIDX_STATIC = 1,	/* YAML members: or members.d (counted) */
	MEMIDX_RT = 2,		/* sgctl members add */
};

struct memidx_slot {
	struct sg_cidr c;	/* normalized: IPv4 bytes 4..15 are zero */
	uint32_t pos;		/* index in the bound list */
	uint32_t n_static;	/* how many configuration sources name it */
	uint32_t aux;		/* for the caller (membership: run-time list pos) */
	bool rt;
	bool used;
};

struct memidx {
	struct memidx_slot *slot;
	size_t cap;		/* power of two, or 0 */
	size_t n;
	uint32_t plen[2][129];	/* members per family (v4, v6) and prefix */
	struct sg_cidr_list *list;
	struct sip_key key;	/* random per index (memidx_init) */
};

/* Kernel set-element operations (engine.h), in order. */
struct memidx_ops {
	struct sg_member_op *v;
	size_t n, cap;
};

/* Index list (made unique: duplicates are dropped from it), every entry
 * with one configuration source and no run-time flag.  list stays bound:
 * it mirrors the members from now on.  0 or -ENOMEM. */
int memidx_init(struct memidx *x, struct sg_cidr_list *list);
void memidx_free(struct memidx *x);

/* Add source origin to c.  Returns 1 when c became a member (ops, when
 * not NULL, get the element changes, deletes first), 0 when it already
 * was one (only the source is recorded; for MEMIDX_RT already set,
 * nothing), -EINVAL for a bad family, -ENOMEM. */
int memidx_add(struct memidx *x, const struct sg_cidr *c,
	       enum memidx_origin origin, struct memidx_ops *ops);
/* Remove source origin from c.  Returns 1 when c stopped being a member
 * (ops as above), 0 when another source keeps it, -ENOENT when c has no
 * such source. */
int memidx_del(struct memidx *x, const struct sg_cidr *c,
	       enum memidx_origin origin, struct memidx_ops *ops);
/* The slot of c, or NULL; valid until the next change. */
struct memidx_slot *memidx_find(const struct memidx *x, const struct sg_cidr *c);
/* true when a member wider than c contains it. */
bool memidx_covered(const struct memidx *x, const struct sg_cidr *c);

void memidx_ops_free(struct memidx_ops *o);
int memidx_ops_push(struct memidx_ops *o, const struct sg_cidr *c, bool del);

#endif
