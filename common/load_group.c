/*
 * load_group.c — one security group document and its rules: protocol,
 * ports, ICMP type/code, peers.  Every value is checked where it is
 * written, so each error points at its own line and column.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loader.h"

/* Peers per block of a pool: small at first (a group of a few rules
 * wastes little), doubling up to this. */
#define LD_POOL_MAX 2048

/* A block of peers; blocks are chained, newest first. */
struct ld_pool {
	struct ld_pool *next;
	size_t used, cap;
	struct sg_peer v[];
};

/* n zeroed peers from *head, or NULL. */
static struct sg_peer *load_pool_alloc(struct ld_pool **head, size_t n)
{
	struct ld_pool *p = *head;

	if (!p || p->cap - p->used < n) {
		size_t cap = p ? p->cap * 2 : 16;

		if (cap > LD_POOL_MAX)
			cap = LD_POOL_MAX;
		if (cap < n)
			cap = n;
		p = malloc(sizeof(*p) + cap * sizeof(p->v[0]));
		if (!p)
			return NULL;
		p->next = *head;
		p->used = 0;
		p->cap = cap;
		*head = p;
	}
	memset(&p->v[p->used], 0, n * sizeof(p->v[0]));
	p->used += n;
	return &p->v[p->used - n];
}

static void load_pool_free(struct ld_pool *p)
{
	while (p) {
		struct ld_pool *next = p->next;

		free(p);
		p = next;
	}
}

void load_rule_free(struct sg_rule *r)
{
	for (size_t i = 0; i < r->n_peers; i++)
		free(r->peers[i].group_ref);
	if (!r->peers_pooled)
		free(r->peers);
	free(r->description);
}

void load_group_free(struct sg_group *g)
{
	free(g->name);
	free(g->id);
	free(g->description);
	for (size_t i = 0; i < g->n_ingress; i++)
		load_rule_free(&g->ingress[i]);
	free(g->ingress);
	for (size_t i = 0; i < g->n_egress; i++)
		load_rule_free(&g->egress[i]);
	free(g->egress);
	free(g->members);
	load_pool_free(g->peer_pool);
}

/* Text that should be read as an address rather than a group name: it has
 * a '/' or ':' or is only digits and dots.  Group names can never look
 * like this (load_group_name_valid), so the two cannot be confused. */
static bool load_looks_like_address(const char *s)
{
	if (strchr(s, '/') || strchr(s, ':'))
		return true;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == '.'))
			return false;
	return true;
}

/* When s is a valid address with a too-long numeric prefix, say so in
 * msg ("prefix length 33 is out of range 0..32") and return true. */
static bool load_bad_prefix(const char *s, char *msg, size_t len)
{
	const char *slash = strrchr(s, '/');
	struct sg_cidr addr;
	char head[64];
	long n;

	if (!slash || (size_t)(slash - s) >= sizeof(head))
		return false;
	snprintf(head, sizeof(head), "%.*s", (int)(slash - s), s);
	if (cidr_parse(head, &addr) < 0 || load_parse_int(slash + 1, &n) == -EINVAL ||
	    slash[1] == '-' || slash[1] == '\0')
		return false;
	snprintf(msg, len, "prefix length %s is out of range 0..%d", slash + 1,
		 addr.family == AF_INET ? 32 : 128);
	return true;
}

int load_cidr(struct ld_ctx *c, const char *key, const struct yt_node *v,
	      const char *s, struct sg_cidr *out)
{
	char buf[64];
	int r = cidr_parse(s, out);

	if (r == -ERANGE)
		diags_add(c->d, &v->pos, "%s: %s has host bits set; did you mean %s?", key, s,
			  cidr_format(out, buf, sizeof(buf)));
	else if (r < 0 && load_bad_prefix(s, buf, sizeof(buf)))
		diags_add(c->d, &v->pos, "%s: %s: %s", key, s, buf);
	else if (r < 0)
		diags_add(c->d, &v->pos, "%s: '%s' is not a valid IPv4 or IPv6 address or CIDR",
			  key, s);
	return r < 0 ? -EINVAL : 0;
}

/* The peer list from: / to: of rule r. */
static int load_peers(struct ld_ctx *c, const char *key, const struct yt_node *v,
		      bool failsafe, struct sg_rule *rule)
{
	const struct yt_node *l = load_list(c, key, v, failsafe ? "CIDRs" : "CIDRs or group names");
	int r = 0;

	if (!l)
		return -EINVAL;
	if (l->n_items == 0) {
		diags_add(c->d, &l->pos, "%s: empty list; a rule needs at least one %s", key,
			  rule->dir == SG_DIR_IN ? "source" : "destination");
		return -EINVAL;
	}
	if (c->peer_pool) {
		rule->peers = load_pool_alloc(c->peer_pool, l->n_items);
		rule->peers_pooled = rule->peers != NULL;
	} else {
		rule->peers = calloc(l->n_items, sizeof(*rule->peers));
	}
	if (!rule->peers)
		return -ENOMEM;
	for (size_t i = 0; i < l->n_items; i++) {
		const struct yt_node *it = l->items[i];
		const char *s = load_scalar(c, key, it, failsafe ? "a CIDR" : "a CIDR or group name");
		struct sg_peer p = { .group_idx = -1, .pos = it->pos };

		if (!s) {
			r = -EINVAL;
			continue;
		}
		if (load_looks_like_address(s)) {
			if (load_cidr(c, key, it, s, &p.cidr) < 0) {
				r = -EINVAL;
				continue;
			}
			if (rule->proto == SG_PROTO_ICMP && p.cidr.family == AF_INET6) {
				diags_add(c->d, &it->pos, "%s: IPv6 peer '%s' in an icmp rule; "
					  "use protocol icmpv6 for IPv6", key, s);
				r = -EINVAL;
			} else if (rule->proto == SG_PROTO_ICMPV6 && p.cidr.family == AF_INET) {
				diags_add(c->d, &it->pos, "%s: IPv4 peer '%s' in an icmpv6 rule; "
					  "use protocol icmp for IPv4", key, s);
				r = -EINVAL;
			}
		} else if (failsafe) {
			diags_add(c->d, &it->pos, "%s: failsafe rules take addresses or CIDRs, "
				  "not group '%s'", key, s);
			r = -EINVAL;
			continue;
		} else if (!load_group_name_valid(s) && !load_group_id_valid(s)) {
			diags_add(c->d, &it->pos, "%s: '%s' is neither an address, a CIDR nor "
				  "a valid group name", key, s);
			r = -EINVAL;
			continue;
		} else {
			p.kind = SG_PEER_GROUP;
			if (!(p.group_ref = strdup(s)))
				return -ENOMEM;
		}
		rule->peers[rule->n_peers++] = p;
	}
	return r;
}

static int load_proto(struct ld_ctx *c, const struct yt_node *v, struct sg_rule *rule)
{
	static const char *const names[] = { "tcp", "udp", "icmp", "icmpv6", "all" };
	const char *s = load_scalar(c, "protocol", v, "a protocol name or number");
	const char *hint;
	int r, proto = SG_PROTO_ALL;

	if (!s)
		return -EINVAL;
	r = proto_parse(s, &proto);
	if (r == 0)
		rule->proto = (int16_t)proto;
	if (r == -ERANGE) {
		diags_add(c->d, &v->pos, "protocol: %s is out of range 0..255 (or -1 for all)", s);
	} else if (r < 0 && (hint = load_suggest(s, names, 5))) {
		diags_add(c->d, &v->pos, "protocol: unknown protocol '%s'; did you mean '%s'?", s, hint);
	} else if (r < 0) {
		diags_add(c->d, &v->pos, "protocol: unknown protocol '%s' (expected tcp, udp, "
			  "icmp, icmpv6, all, -1 or a number 0..255)", s);
	}
	return r < 0 ? -EINVAL : 0;
}

static int load_port_num(struct ld_ctx *c, const struct yt_node *v, const char *s, long *out)
{
	int r = load_parse_int(s, out);

	if (r == -EINVAL) {
		diags_add(c->d, &v->pos, "ports: '%s' is not a port (expected N, \"N-M\" or all)",
			  v->str);
		return -EINVAL;
	}
	if (r < 0 || *out < 0 || *out > 65535) {
		diags_add(c->d, &v->pos, "ports: %s is out of range 0..65535", s);
		return -EINVAL;
	}
	return 0;
}

static int load_ports(struct ld_ctx *c, const struct yt_node *v, struct sg_rule *rule)
{
	const char *s = load_scalar(c, "ports", v, "N, \"N-M\" or all");
	char lo_s[32];
	const char *dash;
	long lo, hi;

	if (!s)
		return -EINVAL;
	if (strcasecmp(s, "all") == 0) {
		rule->port_lo = 0;
		rule->port_hi = 65535;
		return 0;
	}
	dash = strchr(s, '-');
	if (!dash || dash == s) {
		if (load_port_num(c, v, s, &lo) < 0)
			return -EINVAL;
		rule->port_lo = rule->port_hi = (int)lo;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof(lo_s)) {
		diags_add(c->d, &v->pos, "ports: '%s' is not a port (expected N, \"N-M\" or all)", s);
		return -EINVAL;
	}
	snprintf(lo_s, sizeof(lo_s), "%.*s", (int)(dash - s), s);
	if (load_port_num(c, v, lo_s, &lo) < 0 || load_port_num(c, v, dash + 1, &hi) < 0)
		return -EINVAL;
	if (lo > hi) {
		diags_add(c->d, &v->pos, "ports: range %ld-%ld starts after it ends "
			  "(N must not be greater than M)", lo, hi);
		return -EINVAL;
	}
	rule->port_lo = (int)lo;
	rule->port_hi = (int)hi;
	return 0;
}

static int load_icmp_field(struct ld_ctx *c, const char *key, const struct yt_node *v,
			   int16_t *out)
{
	const char *s = load_scalar(c, key, v, "a number 0..255 or -1");
	long x;
	int r;

	if (!s)
		return -EINVAL;
	r = load_parse_int(s, &x);
	if (r == -EINVAL) {
		diags_add(c->d, &v->pos, "%s: '%s' is not a number (expected 0..255 or -1)", key, s);
		return -EINVAL;
	}
	if (r < 0 || x < -1 || x > 255) {
		diags_add(c->d, &v->pos, "%s: %s is out of range 0..255 (or -1 for every %s)",
			  key, s, strcmp(key, "icmp_type") == 0 ? "type" : "code");
		return -EINVAL;
	}
	*out = (int16_t)x;
	return 0;
}

static const char *load_proto_label(int proto, char *buf, size_t len)
{
	const char *n = proto_name(proto);

	if (n)
		return n;
	snprintf(buf, len, "%d", proto);
	return buf;
}

/* True when map has an unknown key that the unknown-key check will
 * already have reported as "did you mean 'want'": then "missing 'want'"
 * would only repeat that. */
bool load_misspelt(const struct yt_node *map, const char *want,
		   const char *const *keys, size_t n)
{
	for (size_t i = 0; i < map->n_pairs; i++) {
		const char *k = map->pairs[i].key->str;
		size_t j;

		for (j = 0; j < n && strcmp(k, keys[j]) != 0; j++)
			;
		if (j == n) {
			const char *hint = load_suggest(k, keys, n);

			if (hint && strcmp(hint, want) == 0)
				return true;
		}
	}
	return false;
}

static const char *const load_in_keys[] = { "protocol", "ports", "icmp_type", "icmp_code",
	"from", "description" };
static const char *const load_out_keys[] = { "protocol", "ports", "icmp_type", "icmp_code",
	"to", "description" };
#define LOAD_RULE_KEYS 6

/* Protocol-dependent keys: ports for tcp/udp, icmp_type/code for icmp. */
static int load_rule_l4(struct ld_ctx *c, const struct yt_node *n, struct sg_rule *rule)
{
	const struct yt_node *k_ports, *k_type, *k_code;
	const struct yt_node *ports = load_get(n, "ports", &k_ports);
	const struct yt_node *type = load_get(n, "icmp_type", &k_type);
	const struct yt_node *code = load_get(n, "icmp_code", &k_code);
	bool has_ports = rule->proto == SG_PROTO_TCP || rule->proto == SG_PROTO_UDP;
	bool is_icmp = rule->proto == SG_PROTO_ICMP || rule->proto == SG_PROTO_ICMPV6;
	char pb[16];
	const char *pn = load_proto_label(rule->proto, pb, sizeof(pb));
	int r = 0;

	if (ports && !has_ports) {
		diags_add(c->d, &k_ports->pos, "ports: not allowed for protocol %s "
			  "(only tcp and udp have ports)", pn);
		r = -EINVAL;
	} else if (ports) {
		rule->ports_pos = ports->pos;
		r = load_ports(c, ports, rule);
	} else if (has_ports && !load_misspelt(n, "ports", load_in_keys, LOAD_RULE_KEYS)) {
		diags_add(c->d, &rule->pos, "rule is missing 'ports' (tcp and udp rules need "
			  "ports: N, \"N-M\" or all)");
		r = -EINVAL;
	} else if (has_ports) {
		r = -EINVAL;
	}
	if (!is_icmp) {
		if (type) {
			diags_add(c->d, &k_type->pos, "icmp_type: only allowed for icmp and "
				  "icmpv6, not protocol %s", pn);
			r = -EINVAL;
		}
		if (code) {
			diags_add(c->d, &k_code->pos, "icmp_code: only allowed for icmp and "
				  "icmpv6, not protocol %s", pn);
			r = -EINVAL;
		}
		return r;
	}
	if (type) {
		rule->ports_pos = type->pos;
		if (load_icmp_field(c, "icmp_type", type, &rule->icmp_type) < 0)
			return -EINVAL;
	}
	if (code && load_icmp_field(c, "icmp_code", code, &rule->icmp_code) < 0)
		return -EINVAL;
	if (rule->icmp_code != -1 && rule->icmp_type == -1) {
		diags_add(c->d, &code->pos, "icmp_code: %d needs an icmp_type (a code without "
			  "a type, or with type -1, is not allowed)", rule->icmp_code);
		return -EINVAL;
	}
	return r;
}

static int load_rule(struct ld_ctx *c, const char *list_key, const struct yt_node *n,
		     enum sg_dir dir, bool failsafe, struct sg_rule *rule)
{
	const char *const *keys = dir == SG_DIR_IN ? load_in_keys : load_out_keys;
	const char *peer_key = dir == SG_DIR_IN ? "from" : "to";
	const char *wrong_key = dir == SG_DIR_IN ? "to" : "from";
	const struct yt_node *v, *k;
	int r = 0;

	rule->pos = n->pos;
	if (n->kind != YT_MAP) {
		diags_add(c->d, &n->pos, "%s: expected a rule mapping (protocol, ports, %s), "
			  "got %s", list_key, peer_key, yt_describe(n));
		return -EINVAL;
	}
	if ((v = load_get(n, wrong_key, &k))) {
		diags_add(c->d, &k->pos, "'%s' is for %s rules; %s rules use '%s'", wrong_key,
			  dir == SG_DIR_IN ? "egress" : "ingress", list_key, peer_key);
		r = -EINVAL;
	}
	load_check_keys(c, n, keys, LOAD_RULE_KEYS, wrong_key);
	if ((v = load_get(n, "protocol", &k))) {
		rule->proto_pos = v->pos;
		if (load_proto(c, v, rule) < 0)
			r = -EINVAL;
		else if (load_rule_l4(c, n, rule) < 0)
			r = -EINVAL;
	} else {
		if (!load_misspelt(n, "protocol", keys, LOAD_RULE_KEYS))
			diags_add(c->d, &n->pos, "rule is missing 'protocol'");
		r = -EINVAL;
	}
	if ((v = load_get(n, peer_key, NULL))) {
		int pr = load_peers(c, peer_key, v, failsafe, rule);

		if (pr == -ENOMEM)
			return pr;
		if (pr < 0)
			r = pr;
	} else {
		if (!load_get(n, wrong_key, NULL) &&
		    !load_misspelt(n, peer_key, keys, LOAD_RULE_KEYS))
			diags_add(c->d, &n->pos, "rule is missing '%s'", peer_key);
		r = -EINVAL;
	}
	if ((v = load_get(n, "description", NULL)) && !yt_is_null(v)) {
		if (load_string(c, "description", v, &rule->description) < 0)
			r = -EINVAL;
		else if (strlen(rule->description) > SG_MAX_DESCRIPTION) {
			diags_add(c->d, &v->pos, "description: longer than %d bytes",
				  SG_MAX_DESCRIPTION);
			r = -EINVAL;
		}
	}
	return r;
}

static void load_rule_init(struct sg_rule *rule, enum sg_dir dir, size_t i)
{
	memset(rule, 0, sizeof(*rule));
	rule->dir = dir;
	rule->proto = SG_PROTO_ALL;
	rule->port_lo = rule->port_hi = -1;
	rule->icmp_type = rule->icmp_code = -1;
	rule->index = (int)i + 1;
}

/* Move every entry of src to the end of dst (src ends empty). */
static int load_diags_move(struct sg_diags *dst, struct sg_diags *src)
{
	if (dst->n + src->n > dst->cap) {
		size_t cap = dst->n + src->n;
		struct sg_diag *v = realloc(dst->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		dst->v = v;
		dst->cap = cap;
	}
	if (src->n)
		memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	free(src->v);
	memset(src, 0, sizeof(*src));
	return 0;
}

/* Hand the streamed rules of list (see load_group_hook) to *out. */
static int load_rules_take(struct ld_ctx *c, enum sg_dir dir, struct sg_rule **out, size_t *n)
{
	struct ld_pending *p = &c->pending[dir];
	struct sg_group *g;
	struct ld_pool **tail;

	/* streamed lists only come from group files: the group being
	 * loaded is the last one, and it takes the pool of their peers */
	if (c->cfg->n_groups == 0)
		return -EINVAL;
	g = &c->cfg->groups[c->cfg->n_groups - 1];
	for (tail = &p->pool; *tail; tail = &(*tail)->next)
		;
	*tail = g->peer_pool;
	g->peer_pool = p->pool;
	p->pool = NULL;
	if (load_diags_move(c->d, &p->diags) < 0)
		return -ENOMEM;
	if (p->n == 0) {
		*out = calloc(1, sizeof(**out));
		if (!*out)
			return -ENOMEM;
	} else {
		/* give back the growth slack: it would last as long as the config */
		struct sg_rule *v = p->n < p->cap ? realloc(p->v, p->n * sizeof(*v)) : p->v;

		*out = v ? v : p->v;
		*n = p->n;
	}
	p->v = NULL;
	p->n = p->cap = 0;
	return p->r;
}

static bool load_hook_want(void *ctx, const char *key)
{
	(void)ctx;
	return strcmp(key, "ingress") == 0 || strcmp(key, "egress") == 0;
}

static int load_hook_item(void *ctx, const char *key, size_t index, const struct yt_node *item)
{
	struct ld_ctx *c = ctx;
	enum sg_dir dir = strcmp(key, "ingress") == 0 ? SG_DIR_IN : SG_DIR_OUT;
	struct ld_pending *p = &c->pending[dir];
	struct sg_diags *d = c->d;
	int r;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct sg_rule *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	load_rule_init(&p->v[p->n], dir, index);
	c->d = &p->diags;
	c->peer_pool = &p->pool;
	r = load_rule(c, dir == SG_DIR_IN ? "ingress" : "egress", item, dir, false, &p->v[p->n]);
	c->peer_pool = NULL;
	c->d = d;
	p->n++;		/* a failed rule holds allocations too: freed with the rest */
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		p->r = r;
	return 0;
}

void load_group_hook(struct ld_ctx *c, struct yt_hook *h)
{
	h->want = load_hook_want;
	h->item = load_hook_item;
	h->ctx = c;
}

void load_pending_free(struct ld_ctx *c)
{
	for (int k = 0; k < 2; k++) {
		struct ld_pending *p = &c->pending[k];

		for (size_t i = 0; i < p->n; i++)
			load_rule_free(&p->v[i]);
		free(p->v);
		load_pool_free(p->pool);
		diags_free(&p->diags);
		memset(p, 0, sizeof(*p));
	}
}

int load_rules(struct ld_ctx *c, const char *key, const struct yt_node *list,
	       enum sg_dir dir, bool failsafe, struct sg_rule **out, size_t *n)
{
	const struct yt_node *l = load_list(c, key, list, "rules");
	int r = 0;

	*out = NULL;
	*n = 0;
	if (!l)
		return -EINVAL;
	if (l->streamed && !failsafe)
		return load_rules_take(c, dir, out, n);
	*out = calloc(l->n_items ? l->n_items : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < l->n_items; i++) {
		struct sg_rule *rule = &(*out)[(*n)++];
		int rr;

		load_rule_init(rule, dir, i);
		rr = load_rule(c, key, l->items[i], dir, failsafe, rule);
		if (rr == -ENOMEM)
			return rr;
		if (rr < 0)
			r = rr;
	}
	return r;
}

static int load_members(struct ld_ctx *c, const struct yt_node *v, struct sg_group *g)
{
	const struct yt_node *l = load_list(c, "members", v, "addresses or CIDRs");
	int r = 0;

	if (!l)
		return -EINVAL;
	g->members = calloc(l->n_items ? l->n_items : 1, sizeof(*g->members));
	if (!g->members)
		return -ENOMEM;
	for (size_t i = 0; i < l->n_items; i++) {
		const struct yt_node *it = l->items[i];
		const char *s = load_scalar(c, "members", it, "an address or CIDR");
		struct sg_peer p = { .group_idx = -1, .pos = it->pos };

		if (!s) {
			r = -EINVAL;
			continue;
		}
		if (!load_looks_like_address(s)) {
			diags_add(c->d, &it->pos, "members: '%s' is not an address or CIDR "
				  "(members are addresses, not groups)", s);
			r = -EINVAL;
			continue;
		}
		if (load_cidr(c, "members", it, s, &p.cidr) < 0) {
			r = -EINVAL;
			continue;
		}
		g->members[g->n_members++] = p;
	}
	return r;
}

/* The AWS default outbound rule of a group that does not mention egress. */
static int load_default_egress(struct sg_group *g)
{
	struct sg_rule *rule = calloc(1, sizeof(*rule));

	if (!rule)
		return -ENOMEM;
	g->egress = rule;
	g->n_egress = 1;
	rule->dir = SG_DIR_OUT;
	rule->proto = SG_PROTO_ALL;
	rule->port_lo = rule->port_hi = -1;
	rule->icmp_type = rule->icmp_code = -1;
	rule->index = 1;
	rule->implicit_default = true;
	rule->pos = rule->proto_pos = g->pos;
	rule->peers = calloc(2, sizeof(*rule->peers));
	if (!rule->peers)
		return -ENOMEM;
	rule->n_peers = 2;
	for (int i = 0; i < 2; i++) {
		rule->peers[i].group_idx = -1;
		rule->peers[i].pos = g->pos;
		cidr_parse(i == 0 ? "0.0.0.0/0" : "::/0", &rule->peers[i].cidr);
	}
	return 0;
}

static int load_group_name(struct ld_ctx *c, const struct yt_node *root, struct sg_group *g,
			   const char *stem)
{
	const struct yt_node *v = load_get(root, "name", NULL);
	const char *s;

	if (!v) {
		g->name_pos = g->pos;
		if (!(g->name = strdup(stem)))
			return -ENOMEM;
		if (!load_group_name_valid(stem)) {
			diags_add(c->d, &g->pos, "the file name '%s' is not a valid group name "
				  "(letters, digits, '_', '.', '-', at most 64); add a name: key",
				  stem);
			return -EINVAL;
		}
		return 0;
	}
	g->name_pos = v->pos;
	if (!(s = load_scalar(c, "name", v, "a group name"))) {
		load_mark_broken(c, stem);
		g->name = strdup(stem);
		return g->name ? -EINVAL : -ENOMEM;
	}
	if (!(g->name = strdup(s)))
		return -ENOMEM;
	if (!load_group_name_valid(s)) {
		diags_add(c->d, &v->pos, "name: '%s' is not a valid group name (1 to 64 letters, "
			  "digits, '_', '.', '-', starting with a letter or digit, "
			  "and not an address)", s);
		/* references to it were meant for this group: not "unknown" */
		load_mark_broken(c, s);
		load_mark_broken(c, stem);
		return -EINVAL;
	}
	return 0;
}

int load_group(struct ld_ctx *c, const struct yt_node *root, const char *file,
	       const char *stem)
{
	static const char *const keys[] = { "name", "id", "description", "ingress", "egress",
		"members" };
	struct sg_config *cfg = c->cfg;
	struct sg_group *g;
	const struct yt_node *v;
	int r;

	if (!file)
		return -ENOMEM;
	if (cfg->n_groups == c->cap_groups) {
		size_t cap = c->cap_groups ? c->cap_groups * 2 : 8;
		struct sg_group *gv = realloc(cfg->groups, cap * sizeof(*gv));

		if (!gv)
			return -ENOMEM;
		cfg->groups = gv;
		c->cap_groups = cap;
	}
	g = &cfg->groups[cfg->n_groups++];
	memset(g, 0, sizeof(*g));
	g->file = file;
	g->pos = root->pos;
	load_check_keys(c, root, keys, sizeof(keys) / sizeof(keys[0]), NULL);
	if ((r = load_group_name(c, root, g, stem)) == -ENOMEM)
		return r;
	if ((v = load_get(root, "id", NULL))) {
		g->id_pos = v->pos;
		if (load_string(c, "id", v, &g->id) == 0 && !load_group_id_valid(g->id)) {
			diags_add(c->d, &v->pos, "id: '%s' is not a valid group id (sg- followed "
				  "by 8 or 17 hex digits)", g->id);
			free(g->id);	/* an invalid id must not be matched later */
			g->id = NULL;
		}
	}
	if ((v = load_get(root, "description", NULL)) && !yt_is_null(v) &&
	    load_string(c, "description", v, &g->description) == 0 &&
	    strlen(g->description) > SG_MAX_DESCRIPTION)
		diags_add(c->d, &v->pos, "description: longer than %d bytes", SG_MAX_DESCRIPTION);
	if ((v = load_get(root, "ingress", NULL)) &&
	    load_rules(c, "ingress", v, SG_DIR_IN, false, &g->ingress, &g->n_ingress) == -ENOMEM)
		return -ENOMEM;
	if ((v = load_get(root, "egress", NULL))) {
		if (load_rules(c, "egress", v, SG_DIR_OUT, false, &g->egress, &g->n_egress) == -ENOMEM)
			return -ENOMEM;
	} else {
		g->egress_omitted = true;
		if (load_default_egress(g) < 0)
			return -ENOMEM;
	}
	if ((v = load_get(root, "members", NULL)) && load_members(c, v, g) == -ENOMEM)
		return -ENOMEM;
	return 0;
}
