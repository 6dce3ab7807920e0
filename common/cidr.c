/* cidr.c — parse, format and compare IPv4/IPv6 address blocks; see config.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static size_t cidr_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Clear every bit past `prefix`; returns true when one was set. */
static bool cidr_mask_host_bits(uint8_t *b, size_t len, unsigned prefix)
{
	bool had = false;

	for (size_t i = 0; i < len; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8 :
				prefix <= i * 8 ? 0 : prefix - i * 8;
		uint8_t mask = keep ? (uint8_t)(0xff << (8 - keep)) : 0;

		if (b[i] & ~mask)
			had = true;
		b[i] &= mask;
	}
	return had;
}

int cidr_parse(const char *s, struct sg_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	unsigned prefix, max;

	memset(out, 0, sizeof(*out));
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	out->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(out->family, buf, out->addr.bytes) != 1)
		return -EINVAL;
	max = out->family == AF_INET ? 32 : 128;
	if (slash) {
		const char *p = slash + 1;

		/* digits only: no sign, no spaces, at most 3 of them */
		if (*p == '\0' || strlen(p) > 3)
			return -EINVAL;
		prefix = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > max)
			return -EINVAL;
	} else {
		prefix = max;
	}
	out->prefix = (uint8_t)prefix;
	if (cidr_mask_host_bits(out->addr.bytes, cidr_addr_len(out->family), prefix))
		return -ERANGE;
	return 0;
}

char *cidr_format(const struct sg_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr.bytes, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, c->prefix);
	return buf;
}

bool cidr_match_addr(const struct sg_cidr *c, int af, const void *addr)
{
	uint8_t b[16];
	size_t len = cidr_addr_len(af);

	if (af != c->family)
		return false;
	memcpy(b, addr, len);
	cidr_mask_host_bits(b, len, c->prefix);
	return memcmp(b, c->addr.bytes, len) == 0;
}

bool cidr_contains(const struct sg_cidr *outer, const struct sg_cidr *inner)
{
	if (outer->family != inner->family || outer->prefix > inner->prefix)
		return false;
	return cidr_match_addr(outer, inner->family, inner->addr.bytes);
}

int cidr_cmp(const struct sg_cidr *a, const struct sg_cidr *b)
{
	int r;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	r = memcmp(a->addr.bytes, b->addr.bytes, cidr_addr_len(a->family));
	if (r)
		return r < 0 ? -1 : 1;
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return 0;
}

int cidr_list_add(struct sg_cidr_list *l, const struct sg_cidr *c)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct sg_cidr *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return 0;
}

void cidr_list_free(struct sg_cidr_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
