/*
 * load_fleet.c — the fleet: section of sgd.yaml (SPEC section 2):
 *
 *   fleet:
 *     etcd: [https://10.0.0.5:2379, https://10.0.0.6:2379]
 *     prefix: /sgd/
 *     host_id: i-0abc
 *     addresses: [10.0.1.7]
 *     lease_ttl: 15
 *     tls: {ca: ..., cert: ..., key: ...}
 *
 * Only the shape is checked here; what depends on the host (machine-id,
 * its addresses, whether the TLS files can be read) is the daemon's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loader.h"

#define FLEET_MAX_PREFIX	128
#define FLEET_MAX_HOST_ID	64
#define FLEET_MAX_URL		256
#define FLEET_TTL_MIN		2	/* etcd refuses shorter leases */
#define FLEET_TTL_MAX		3600

/* http(s)://HOST[:PORT][/]: HOST a name, an IPv4 address or [IPv6]; no
 * user info, path or query (the client appends /v3/...).  A name passes
 * here and is refused by the caller with its own message. */
static bool load_fleet_url_valid(const char *s)
{
	const char *h, *end;
	size_t n = strlen(s);

	if (n > FLEET_MAX_URL)
		return false;
	if (strncasecmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		h = s + 8;
	else
		return false;
	end = s + n;
	if (end > h && end[-1] == '/')
		end--;
	if (end == h)
		return false;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb || rb == h + 1)
			return false;
		for (const char *p = h + 1; p < rb; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		h = rb + 1;
		if (h == end)
			return true;
		if (*h != ':')
			return false;
	}
	for (const char *p = h; p < end; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == ':') {
			long port;
			char buf[8];
			size_t pl = (size_t)(end - p - 1);

			if (pl == 0 || pl >= sizeof(buf))
				return false;
			memcpy(buf, p + 1, pl);
			buf[pl] = '\0';
			for (size_t i = 0; i < pl; i++)
				if (!isdigit((unsigned char)buf[i]))
					return false;
			return load_parse_int(buf, &port) == 0 && port > 0 && port < 65536;
		}
		if (!(isascii(ch) && (isalnum(ch) || ch == '.' || ch == '-')))
			return false;
	}
	return true;
}

static void load_fleet_endpoints(struct ld_ctx *c, const struct yt_node *v,
				 struct sg_fleet *f)
{
	const struct yt_node *l = load_list(c, "fleet: etcd", v, "etcd endpoint URLs");

	if (!l)
		return;
	if (l->n_items == 0 || l->n_items > SG_FLEET_MAX_ENDPOINTS) {
		diags_add(c->d, &l->pos, "fleet: etcd: expected 1 to %d endpoint URLs, got %zu",
			  SG_FLEET_MAX_ENDPOINTS, l->n_items);
		return;
	}
	f->endpoints = calloc(l->n_items, sizeof(*f->endpoints));
	if (!f->endpoints) {
		diags_add(c->d, &l->pos, "out of memory");
		return;
	}
	for (size_t i = 0; i < l->n_items; i++) {
		const struct yt_node *it = l->items[i];
		const char *s = load_scalar(c, "fleet: etcd", it, "an http:// or https:// URL");
		struct sg_cidr addr;
		int port;

		if (!s)
			continue;
		if (!load_fleet_url_valid(s)) {
			diags_add(c->d, &it->pos, "fleet: etcd: '%s' is not an endpoint URL "
				  "(http://HOST:PORT or https://HOST:PORT, no path)", s);
			continue;
		}
		if (load_fleet_endpoint_addr(s, &addr, &port) == -ENOENT) {
			/* The contract is that TCP to every endpoint is always
			 * admitted; a name's addresses are not known when the
			 * rules are compiled and may change after, so only an
			 * address keeps it. */
			diags_add(c->d, &it->pos, "fleet: etcd: '%s': the host must be an IP "
				  "address (IPv4, or IPv6 in brackets), not a name: sgd always "
				  "admits TCP to each endpoint, which it cannot do for a name "
				  "(with tls, etcd's certificate needs the address as an IP "
				  "subjectAltName)", s);
			continue;
		}
		if (!(f->endpoints[f->n_endpoints++] = strdup(s)))
			diags_add(c->d, &it->pos, "out of memory");
	}
}

/* The prefix is the first part of every key: '/'-delimited so that
 * "/sgd/" and "/sgd2/" never see each other's keys. */
static void load_fleet_prefix(struct ld_ctx *c, const struct yt_node *v, struct sg_fleet *f)
{
	const char *s = load_scalar(c, "fleet: prefix", v, "a key prefix like /sgd/");
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	if (n < 2 || n > FLEET_MAX_PREFIX || s[0] != '/' || s[n - 1] != '/') {
		diags_add(c->d, &v->pos, "fleet: prefix: '%s' must start and end with '/' "
			  "and have 2 to %d bytes", s, FLEET_MAX_PREFIX);
		return;
	}
	for (const char *p = s; *p; p++)
		if (!isascii((unsigned char)*p) || !isgraph((unsigned char)*p)) {
			diags_add(c->d, &v->pos, "fleet: prefix: '%s' has a space or a "
				  "non-printable byte", s);
			return;
		}
	free(f->prefix);
	if (!(f->prefix = strdup(s)))
		diags_add(c->d, &v->pos, "out of memory");
}

bool load_fleet_host_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > FLEET_MAX_HOST_ID || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (!(isascii((unsigned char)*p) && isalnum((unsigned char)*p)) &&
		    !strchr("._-", *p))
			return false;
	return true;
}

static void load_fleet_host_id(struct ld_ctx *c, const struct yt_node *v, struct sg_fleet *f)
{
	const char *s = load_scalar(c, "fleet: host_id", v, "a host id");

	if (!s)
		return;
	if (!load_fleet_host_id_valid(s)) {
		diags_add(c->d, &v->pos, "fleet: host_id: '%s' is not valid (1 to %d letters, "
			  "digits, '.', '_' or '-')", s, FLEET_MAX_HOST_ID);
		return;
	}
	if (!(f->host_id = strdup(s)))
		diags_add(c->d, &v->pos, "out of memory");
}

static void load_fleet_addrs(struct ld_ctx *c, const struct yt_node *v, struct sg_fleet *f)
{
	const struct yt_node *l = load_list(c, "fleet: addresses", v, "addresses");

	if (!l)
		return;
	if (l->n_items == 0 || l->n_items > SG_FLEET_MAX_ADDRS) {
		diags_add(c->d, &l->pos, "fleet: addresses: expected 1 to %d addresses, got %zu "
			  "(leave it out for the host's global addresses)",
			  SG_FLEET_MAX_ADDRS, l->n_items);
		return;
	}
	f->addrs = calloc(l->n_items, sizeof(*f->addrs));
	if (!f->addrs) {
		diags_add(c->d, &l->pos, "out of memory");
		return;
	}
	for (size_t i = 0; i < l->n_items; i++) {
		const struct yt_node *it = l->items[i];
		const char *s = load_scalar(c, "fleet: addresses", it, "an address or CIDR");
		struct sg_cidr a;
		bool dup = false;

		if (!s || load_cidr(c, "fleet: addresses", it, s, &a) < 0)
			continue;
		for (size_t k = 0; k < f->n_addrs && !dup; k++)
			dup = cidr_cmp(&f->addrs[k], &a) == 0;
		if (dup) {
			diags_add(c->d, &it->pos, "fleet: addresses: %s is listed twice", s);
			continue;
		}
		f->addrs[f->n_addrs++] = a;
	}
}

static void load_fleet_ttl(struct ld_ctx *c, const struct yt_node *v, struct sg_fleet *f)
{
	const char *s = load_scalar(c, "fleet: lease_ttl", v, "a number of seconds");
	long ttl;

	if (!s)
		return;
	if (load_parse_int(s, &ttl) < 0 || ttl < FLEET_TTL_MIN || ttl > FLEET_TTL_MAX) {
		diags_add(c->d, &v->pos, "fleet: lease_ttl: expected seconds in %d..%d, got '%s'",
			  FLEET_TTL_MIN, FLEET_TTL_MAX, s);
		return;
	}
	f->lease_ttl = (unsigned)ttl;
}

static void load_fleet_tls(struct ld_ctx *c, const struct yt_node *v, struct sg_fleet *f)
{
	static const char *const keys[] = { "ca", "cert", "key" };
	char **dst[] = { &f->tls_ca, &f->tls_cert, &f->tls_key };
	const struct yt_node *x;

	if (v->kind != YT_MAP) {
		diags_add(c->d, &v->pos, "fleet: tls: expected a mapping (ca, cert, key), got %s",
			  yt_describe(v));
		return;
	}
	load_check_keys(c, v, keys, 3, NULL);
	for (size_t i = 0; i < 3; i++) {
		char key[32];

		if (!(x = load_get(v, keys[i], NULL)))
			continue;
		snprintf(key, sizeof(key), "fleet: tls: %s", keys[i]);
		if (load_string(c, key, x, dst[i]) == 0 && (*dst[i])[0] != '/') {
			diags_add(c->d, &x->pos, "%s: '%s' is not an absolute path", key, *dst[i]);
		}
	}
	if (!f->tls_cert != !f->tls_key)
		diags_add(c->d, &v->pos, "fleet: tls: cert and key go together (a client "
			  "certificate needs its key)");
}

void load_fleet(struct ld_ctx *c, const struct yt_node *key, const struct yt_node *v)
{
	static const char *const keys[] = { "etcd", "prefix", "host_id", "addresses",
					    "lease_ttl", "tls" };
	struct sg_fleet *f;
	const struct yt_node *x;

	if (v->kind != YT_MAP) {
		diags_add(c->d, &v->pos, "fleet: expected a mapping (etcd, prefix, host_id, "
			  "addresses, lease_ttl, tls), got %s", yt_describe(v));
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->prefix = strdup("/sgd/"))) {
		free(f);
		diags_add(c->d, &v->pos, "out of memory");
		return;
	}
	f->pos = key->pos;
	f->lease_ttl = 15;
	c->cfg->fleet = f;
	load_check_keys(c, v, keys, sizeof(keys) / sizeof(keys[0]), NULL);
	if ((x = load_get(v, "etcd", NULL)))
		load_fleet_endpoints(c, x, f);
	else if (!load_misspelt(v, "etcd", keys, sizeof(keys) / sizeof(keys[0])))
		diags_add(c->d, &v->pos, "fleet: missing 'etcd' (the list of etcd endpoint URLs)");
	if ((x = load_get(v, "prefix", NULL)))
		load_fleet_prefix(c, x, f);
	if ((x = load_get(v, "host_id", NULL)))
		load_fleet_host_id(c, x, f);
	if ((x = load_get(v, "addresses", NULL)))
		load_fleet_addrs(c, x, f);
	if ((x = load_get(v, "lease_ttl", NULL)))
		load_fleet_ttl(c, x, f);
	if ((x = load_get(v, "tls", NULL)))
		load_fleet_tls(c, x, f);
}

void load_fleet_free(struct sg_fleet *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_endpoints; i++)
		free(f->endpoints[i]);
	free(f->endpoints);
	free(f->prefix);
	free(f->host_id);
	free(f->addrs);
	free(f->tls_ca);
	free(f->tls_cert);
	free(f->tls_key);
	free(f);
}

int load_fleet_endpoint_addr(const char *url, struct sg_cidr *addr, int *port)
{
	const char *h = strstr(url, "://"), *end, *colon = NULL;
	char host[FLEET_MAX_URL + 1];
	long p;
	size_t n;

	if (!h)
		return -EINVAL;
	*port = strncasecmp(url, "https", 5) == 0 ? 443 : 80;
	h += 3;
	end = h + strlen(h);
	if (end > h && end[-1] == '/')
		end--;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb)
			return -EINVAL;
		n = (size_t)(rb - h - 1);
		memcpy(host, h + 1, n);
		if (rb + 1 < end && rb[1] == ':')
			colon = rb + 1;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		n = (size_t)((colon ? colon : end) - h);
		memcpy(host, h, n);
	}
	host[n] = '\0';
	if (colon) {
		char buf[8];
		size_t pl = (size_t)(end - colon - 1);

		if (pl == 0 || pl >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, colon + 1, pl);
		buf[pl] = '\0';
		if (load_parse_int(buf, &p) < 0 || p <= 0 || p > 65535)
			return -EINVAL;
		*port = (int)p;
	}
	/* a name: its addresses are not known before it is resolved */
	if (strchr(host, '/') || cidr_parse(host, addr) < 0)
		return -ENOENT;
	return 0;
}
