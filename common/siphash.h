/*
 * siphash.h — a keyed hash for tables that others can fill (members from
 * members.d or `sgctl members add`): with a random key per table, nobody
 * can choose keys that all land in one slot and turn O(1) into O(n).
 * SipHash-2-4 (Aumasson and Bernstein, 2012), written from the paper.
 */
#ifndef SGD_SIPHASH_H
#define SGD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct sip_key {
	uint64_t k0, k1;
};

/* SipHash-2-4 of len bytes at data under key. */
uint64_t sip_hash24(const struct sip_key *key, const void *data, size_t len);

/* A fresh random key from getrandom(2).  Never blocks: before the kernel's
 * pool is ready (early boot) it takes GRND_INSECURE bytes, and failing
 * that the clock and addresses, still unknown to a client.  Returns 0,
 * or 1 when the key is of that weaker kind. */
int sip_key_random(struct sip_key *key);

#endif
