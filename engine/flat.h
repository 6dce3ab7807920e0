/*
 * flat.h — the flat compiler strategy (private to the engine).
 *
 * The rules of the globally attached groups (cfg->attach) are a union of
 * accepts, so their order does not matter: per direction they are merged
 * into sets whose lookup cost does not grow with the number of rules.
 *
 *   tcp/udp from a /32 or /128 to one port  hash set    in4.tcp.exact
 *                                                       (ipv4_addr . inet_service)
 *   tcp/udp with any other address/ports    pipapo set  in4.tcp.range[.N]
 *                                                       (interval, concat)
 *   protocol all from a CIDR                rbtree set  in4.all (ipv4_addr interval)
 *   tcp/udp from a peer group G             rbtree set  in.tcp.pg.G (inet_service
 *                                           interval): the ports of every
 *                                           rule naming G, one rule per family
 *                                           `ip saddr @peer_G_v4 th dport @in.tcp.pg.G`
 *
 * A verdict map (`meta l4proto vmap @in.proto`) dispatches tcp, udp and
 * every protocol that still has individual rules (icmp, icmpv6, other
 * protocol numbers, protocol all or icmp from a peer group: few in
 * practice) to one chain per protocol,
 * in.tcp, in.udp, in.icmp, in.p47 ...  Names hold a '.', which a group
 * name used in in_<group>/peer_<group>_v4 never makes collide.
 *
 * The kernel refuses overlapping interval elements, so compile_layer.c
 * drops elements wholly contained in another element of the same set (the
 * container always matches first; their rule's counter stays 0) and puts
 * partial overlaps into additional layer sets, in4.tcp.range.1 ...
 * (a peer group's: in.tcp.pg.G/1 ...; flat_pg_set_name says why '/').
 *
 * Limitations: groups attached to an interface keep their own chain of
 * one nft rule per (rule x peer), jumped to by `iifname "<if>"`: their
 * per-packet cost still grows with their rules.  Individual rules also
 * remain for icmp/icmpv6/other protocol numbers, for protocol "all" or
 * icmp from a peer group, and for elements past FLAT_MAX_LAYERS layers.
 * Counters: a packet that several rules allow is counted once, for the
 * first element that matches (protocol-all set, exact set, range layer 0,
 * 1, ..., peer-group port sets, remaining rules); a rule whose elements
 * are all contained in other elements always reads 0.
 *
 * Reloads keep the interval concat (pipapo) sets and send element deltas,
 * additions first (engine_reuse.c): the kernel shows a pipapo set's new
 * elements only after the new rules, which would otherwise drop allowed
 * packets for an instant.
 *
 * Every set carries a set-level `counter`, so every element has one; the
 * element -> rule map (struct flat) is what engine_read_counters uses to
 * sum element counters per rule.
 */
#ifndef SGD_FLAT_H
#define SGD_FLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"

enum flat_kind {
	FLAT_EXACT,	/* hash: addr . port */
	FLAT_RANGE,	/* pipapo: addr . port, interval */
	FLAT_ADDR,	/* rbtree: addr, interval */
	FLAT_PORT,	/* rbtree: port, interval (peer-group rules) */
};

/* Partial-overlap depth beyond which elements stay individual rules: a
 * lookup per layer is paid by every packet. */
#define FLAT_MAX_LAYERS 16
#define FLAT_KEY_MAX 20		/* ipv6 address + padded port */
/* elements per NEWSETELEM message: far below the 64 KiB nest limit even
 * with an interval end and a comment each */
#define FLAT_ELEMS_PER_MSG 128
#define FLAT_COMMENT_MAX 80

/* One sgd rule some of whose peers went into sets.  16 bytes, not 24:
 * there is one per rule, and a reload holds two of these maps. */
struct flat_ref {
	const struct sg_rule *rule;	/* only while compiling (comments) */
	int gi;
	int index : 31;			/* the rule's 1-based index */
	enum sg_dir dir : 1;
};

struct flat_elem {
	uint8_t key[FLAT_KEY_MAX];
	uint8_t end[FLAT_KEY_MAX];	/* RANGE: inclusive end; ADDR, PORT: exclusive */
	uint32_t ref;			/* index into flat.refs */
	bool has_end;			/* ADDR, PORT: false at the top of the space */
	/* ADDR, PORT, in a delta (engine_reuse.c): the kernel element
	 * `end` (an interval end) alone, not the start `key` */
	bool end_only;
	/* test hook (sgd-apply --tamper): sent with a data attribute the
	 * set does not take, so that the kernel refuses this element */
	bool malformed;
};

struct flat_set {
	char name[320];
	enum flat_kind kind;
	enum sg_dir dir;
	int af;
	int proto;			/* tcp/udp; SG_PROTO_ALL for FLAT_ADDR */
	int layer;
	int peer_gi;			/* FLAT_PORT: the peer group; else -1 */
	uint32_t klen;
	struct flat_elem *v;		/* sorted by key */
	size_t n, cap;
};

/* A peer of a rule of a globally attached group that stays an nft rule. */
struct flat_rest {
	const struct sg_rule *rule;
	size_t peer;
	int gi;
};

/* A candidate element before overlap resolution (compile_layer.c). */
struct flat_cand {
	uint8_t addr[16];
	uint8_t prefix;
	uint16_t lo, hi;		/* port range */
	uint32_t ref;
	uint32_t peer;
	uint32_t seq;			/* order of appearance: ties keep the first */
	int layer;			/* out: FLAT_DROPPED, FLAT_OVERFLOW or 0.. */
};
#define FLAT_DROPPED (-1)
#define FLAT_OVERFLOW (-2)

struct flat {
	struct flat_set *sets;
	size_t n_sets;
	struct flat_ref *refs;
	size_t n_refs, cap_refs;
	struct flat_rest *rest;
	size_t n_rest, cap_rest;
	char **gnames;			/* by group index; NULL = not flattened */
	size_t n_groups;
	bool *global;			/* by group index: in cfg->attach */
	/* protocols with a dispatched chain, per direction */
	uint8_t protos[2][32];
};

/* compile_flat.c */
/* Build the sets of cfg's globally attached groups.  0 or -errno. */
int flat_build(const struct sg_config *cfg, struct flat **out);
void flat_free(struct flat *f);
bool flat_has_proto(const struct flat *f, enum sg_dir dir, int proto);
/* The port set of peer group `group` (FLAT_PORT): "in.tcp.pg.<group>",
 * its further overlap layers "in.tcp.pg.<group>/<layer>" (a group name
 * never holds a '/').  0, -EINVAL (a '/' in group) or -ENAMETOOLONG. */
int flat_pg_set_name(enum sg_dir dir, int proto, const char *group, int layer,
		     char *buf, size_t len);
/* "in.tcp", "out.p47" */
int flat_chain_name(enum sg_dir dir, int proto, char *buf, size_t len);
/* qsort/bsearch order of a set's elements: by key. */
int flat_elem_cmp(const void *a, const void *b);
/* The element of set s with start key `key` (klen bytes), or NULL. */
const struct flat_elem *flat_find(const struct flat_set *s, const uint8_t *key,
				  size_t klen);

/* compile_layer.c: resolve overlaps among n candidates of one set
 * (address block x port range; give 0-65535 for address-only sets).
 * Sets every layer: FLAT_DROPPED when contained in (or identical to) a
 * kept candidate, else the lowest layer none of its overlapping kept
 * candidates has, FLAT_OVERFLOW past FLAT_MAX_LAYERS.  Sorts v.
 * O(n log n) plus the number of overlapping pairs.  0 or -ENOMEM. */
int flat_layer(struct flat_cand *v, size_t n, int af);
/* Exact candidates: identical ones after the first are FLAT_DROPPED, the
 * rest layer 0.  Sorts v.  */
void flat_dedupe(struct flat_cand *v, size_t n, int af);

#endif
