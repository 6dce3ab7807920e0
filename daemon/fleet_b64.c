/*
 * fleet_b64.c — base64 (RFC 4648, padded) for etcd's JSON gateway, which
 * carries keys and values as protobuf bytes, i.e. base64 strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_etcd.h"

static const char b64_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64_encode(const void *src, size_t n)
{
	const uint8_t *s = src;
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

		*o++ = b64_alpha[v >> 18];
		*o++ = b64_alpha[(v >> 12) & 63];
		*o++ = b64_alpha[(v >> 6) & 63];
		*o++ = b64_alpha[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);

		*o++ = b64_alpha[v >> 18];
		*o++ = b64_alpha[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64_alpha[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char ch)
{
	const char *p = ch ? strchr(b64_alpha, ch) : NULL;

	return p ? (int)(p - b64_alpha) : -1;
}

char *etcd_b64_decode(const char *s, size_t *n)
{
	size_t len = strlen(s), k = 0;
	uint32_t acc = 0;
	int bits = 0;
	char *out;

	if (len % 4)
		return NULL;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int v;

		if (s[i] == '=') {
			/* padding only at the end, at most two */
			if (i + 2 < len || (i + 1 < len && s[i + 1] != '='))
				goto bad;
			break;
		}
		if ((v = b64_val(s[i])) < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[k] = '\0';
	if (n)
		*n = k;
	return out;
bad:
	free(out);
	return NULL;
}
