/* siphash.c — SipHash-2-4 and random keys; see siphash.h. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "siphash.h"

#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif

static inline uint64_t sip_rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t sip_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIP_ROUND(v0, v1, v2, v3) do {					\
		v0 += v1; v1 = sip_rotl(v1, 13); v1 ^= v0;		\
		v0 = sip_rotl(v0, 32);					\
		v2 += v3; v3 = sip_rotl(v3, 16); v3 ^= v2;		\
		v0 += v3; v3 = sip_rotl(v3, 21); v3 ^= v0;		\
		v2 += v1; v1 = sip_rotl(v1, 17); v1 ^= v2;		\
		v2 = sip_rotl(v2, 32);					\
	} while (0)

uint64_t sip_hash24(const struct sip_key *key, const void *data, size_t len)
{
	const uint8_t *p = data, *end = p + (len & ~(size_t)7);
	uint64_t v0 = key->k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = key->k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = key->k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = key->k1 ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)len << 56;

	for (; p < end; p += 8) {
		uint64_t m = sip_le64(p);

		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	/* the last 0..7 bytes, little-endian, under the length byte */
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static int sip_fill(void *buf, size_t len, unsigned flags)
{
	ssize_t n;

	do
		n = getrandom(buf, len, flags);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

int sip_key_random(struct sip_key *key)
{
	struct timespec ts;
	uint64_t k[2];

	if (sip_fill(k, sizeof(k), GRND_NONBLOCK) == 0 ||
	    sip_fill(k, sizeof(k), GRND_INSECURE) == 0) {
		key->k0 = k[0];
		key->k1 = k[1];
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	key->k0 = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)key;
	clock_gettime(CLOCK_REALTIME, &ts);
	key->k1 = (uint64_t)ts.tv_nsec * 0xc2b2ae3d27d4eb4fULL ^ (uint64_t)ts.tv_sec;
	return 1;
}
