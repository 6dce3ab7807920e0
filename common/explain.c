/*
 * explain.c — evaluate a probe packet against a configuration.
 *
 * The order mirrors the ruleset sgd installs: implicit allowances, the
 * failsafe rules (ingress only), then the rules of the groups that apply
 * on the packet's interface.  Security groups only allow, so the order
 * decides which allowance is reported first, never the verdict.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "explain.h"

static const struct sg_implicit_rule implicit_rules[] = {
	{ "loopback", SG_DIR_IN, 0, SG_PROTO_ALL, -1, -1, "lo",
	  "loopback interface" },
	{ "loopback", SG_DIR_OUT, 0, SG_PROTO_ALL, -1, -1, "lo",
	  "loopback interface" },
	{ "dhcp", SG_DIR_IN, AF_INET, SG_PROTO_UDP, 68, -1, "any",
	  "DHCPv4 client (server replies)" },
	{ "dhcp", SG_DIR_OUT, AF_INET, SG_PROTO_UDP, 67, -1, "any",
	  "DHCPv4 client (requests)" },
	{ "dhcp", SG_DIR_IN, AF_INET6, SG_PROTO_UDP, 546, -1, "any",
	  "DHCPv6 client (server replies)" },
	{ "dhcp", SG_DIR_OUT, AF_INET6, SG_PROTO_UDP, 547, -1, "any",
	  "DHCPv6 client (requests)" },
	/* RFC 4861: a neighbour discovery message is only valid with hop
	 * limit 255 (it never crossed a router); the kernel rule checks it,
	 * a real one always has it, so explain needs no hop limit */
	{ "ipv6_nd", SG_DIR_IN, AF_INET6, SG_PROTO_ICMPV6, -1, 133, "any",
	  "router solicitation/advertisement, neighbour solicitation/advertisement "
	  "(hop limit 255)", 136 },
	{ "ipv6_nd", SG_DIR_OUT, AF_INET6, SG_PROTO_ICMPV6, -1, 133, "any",
	  "router solicitation/advertisement, neighbour solicitation/advertisement "
	  "(hop limit 255)", 136 },
	{ "ipv6_redirects", SG_DIR_IN, AF_INET6, SG_PROTO_ICMPV6, -1, 137, "any",
	  "redirect (hop limit 255)" },
	{ "ipv6_redirects", SG_DIR_OUT, AF_INET6, SG_PROTO_ICMPV6, -1, 137, "any",
	  "redirect (hop limit 255)" },
	/* the AWS link-local services, each with its own switch; the replies
	 * come back as established, so egress only */
	{ "metadata", SG_DIR_OUT, AF_INET, SG_PROTO_TCP, 80, -1,
	  "169.254.169.254/32", "instance metadata service" },
	{ "metadata", SG_DIR_OUT, AF_INET6, SG_PROTO_TCP, 80, -1,
	  "fd00:ec2::254/128", "instance metadata service" },
	{ "aws_dns", SG_DIR_OUT, AF_INET, SG_PROTO_UDP, 53, -1,
	  "169.254.169.253/32", "Amazon DNS server" },
	{ "aws_dns", SG_DIR_OUT, AF_INET, SG_PROTO_TCP, 53, -1,
	  "169.254.169.253/32", "Amazon DNS server" },
	{ "aws_dns", SG_DIR_OUT, AF_INET6, SG_PROTO_UDP, 53, -1,
	  "fd00:ec2::253/128", "Amazon DNS server" },
	{ "aws_dns", SG_DIR_OUT, AF_INET6, SG_PROTO_TCP, 53, -1,
	  "fd00:ec2::253/128", "Amazon DNS server" },
	{ "aws_ntp", SG_DIR_OUT, AF_INET, SG_PROTO_UDP, 123, -1,
	  "169.254.169.123/32", "Amazon Time Sync Service" },
	{ "aws_ntp", SG_DIR_OUT, AF_INET6, SG_PROTO_UDP, 123, -1,
	  "fd00:ec2::123/128", "Amazon Time Sync Service" },
};

const struct sg_implicit_rule *explain_implicit_rules(size_t *n)
{
	*n = sizeof(implicit_rules) / sizeof(implicit_rules[0]);
	return implicit_rules;
}

bool explain_implicit_enabled(const struct sg_config *cfg, const char *name)
{
	if (!strcmp(name, "loopback"))
		return cfg->implicit.loopback;
	if (!strcmp(name, "dhcp"))
		return cfg->implicit.dhcp;
	if (!strcmp(name, "ipv6_nd"))
		return cfg->implicit.ipv6_nd;
	if (!strcmp(name, "metadata"))
		return cfg->implicit.metadata;
	if (!strcmp(name, "ipv6_redirects"))
		return cfg->implicit.ipv6_redirects;
	if (!strcmp(name, "aws_dns"))
		return cfg->implicit.aws_dns;
	if (!strcmp(name, "aws_ntp"))
		return cfg->implicit.aws_ntp;
	return false;
}

size_t explain_group_members(const struct sg_config *cfg,
			     const struct sg_members *m, int gi,
			     const struct sg_cidr **cidrs,
			     const struct sg_peer **peers)
{
	*cidrs = NULL;
	*peers = NULL;
	if (gi < 0 || (size_t)gi >= cfg->n_groups)
		return 0;
	if (m && m->by_group && (size_t)gi < m->n_groups) {
		*cidrs = m->by_group[gi].v;
		return m->by_group[gi].n;
	}
	*peers = cfg->groups[gi].members;
	return cfg->groups[gi].n_members;
}

/* ---- parsing ---- */

static int parse_uint(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_proto(const char *s, int *proto)
{
	static const struct { const char *name; int proto; } names[] = {
		{ "tcp", SG_PROTO_TCP }, { "udp", SG_PROTO_UDP },
		{ "icmp", SG_PROTO_ICMP }, { "icmpv6", SG_PROTO_ICMPV6 },
	};
	long v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name)) {
			*proto = names[i].proto;
			return 0;
		}
	if (!strcasecmp(s, "all") || !strcmp(s, "-1"))
		return -EDOM;	/* a packet has one protocol */
	if (parse_uint(s, 255, &v) < 0)
		return -EINVAL;
	*proto = (int)v;
	return 0;
}

static int parse_addr(const char *s, struct sg_probe *p)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(p->addr, 0, sizeof(p->addr));
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->family = AF_INET6;
	else
		return -EINVAL;
	/* a probe is one host: allow an explicit /32 or /128 only */
	if (slash && strcmp(slash + 1, p->family == AF_INET ? "32" : "128"))
		return -ERANGE;
	return 0;
}

int explain_parse(int argc, char **argv, struct sg_probe *p, struct sg_diags *diags)
{
	char *words[4];
	int nw = 0, i, r;
	long v;

	memset(p, 0, sizeof(*p));
	p->port = p->icmp_type = p->icmp_code = -1;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-i") || !strcmp(argv[i], "--interface")) {
			if (i + 1 >= argc || !*argv[i + 1]) {
				diags_add(diags, NULL, "explain: %s needs an interface name", argv[i]);
				return -EINVAL;
			}
			p->ifname = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "--forwarded") || !strcmp(argv[i], "-f")) {
			p->forwarded = true;
			continue;
		}
		if (nw == 4) {
			diags_add(diags, NULL, "explain: too many arguments (at '%s'); usage: explain in|out PROTO [PORT|TYPE[/CODE]] ADDR [-i IFACE] [--forwarded]", argv[i]);
			return -EINVAL;
		}
		words[nw++] = argv[i];
	}
	if (nw < 3) {
		diags_add(diags, NULL, "explain: usage: explain in|out PROTO [PORT|TYPE[/CODE]] ADDR [-i IFACE] [--forwarded]");
		return -EINVAL;
	}
	if (!strcmp(words[0], "in") || !strcmp(words[0], "ingress"))
		p->dir = SG_DIR_IN;
	else if (!strcmp(words[0], "out") || !strcmp(words[0], "egress"))
		p->dir = SG_DIR_OUT;
	else {
		diags_add(diags, NULL, "explain: direction '%s': expected in or out", words[0]);
		return -EINVAL;
	}
	r = parse_proto(words[1], &p->proto);
	if (r == -EDOM) {
		diags_add(diags, NULL, "explain: protocol '%s': a packet has one protocol; name it (tcp, udp, icmp, icmpv6 or 0..255)", words[1]);
		return -EINVAL;
	}
	if (r < 0) {
		diags_add(diags, NULL, "explain: protocol '%s': expected tcp, udp, icmp, icmpv6 or a number 0..255", words[1]);
		return -EINVAL;
	}
	if (p->proto == SG_PROTO_TCP || p->proto == SG_PROTO_UDP) {
		if (nw != 4) {
			diags_add(diags, NULL, "explain: %s needs a destination port: explain %s %s PORT ADDR",
				  words[1], words[0], words[1]);
			return -EINVAL;
		}
		if (parse_uint(words[2], 65535, &v) < 0) {
			diags_add(diags, NULL, "explain: port '%s': expected a number 0..65535", words[2]);
			return -EINVAL;
		}
		p->port = (int)v;
	} else if (p->proto == SG_PROTO_ICMP || p->proto == SG_PROTO_ICMPV6) {
		char tw[16], *slash;

		/* parse a copy: argv may be read-only (the daemon's request) */
		if (strlen(words[2]) >= sizeof(tw)) {
			diags_add(diags, NULL, "explain: icmp '%s': expected TYPE or TYPE/CODE, each 0..255", words[2]);
			return -EINVAL;
		}
		strcpy(tw, words[2]);
		slash = strchr(tw, '/');
		if (slash)
			*slash = '\0';
		r = parse_uint(tw, 255, &v);
		if (r == 0)
			p->icmp_type = (int)v;
		if (r == 0 && slash)
			r = parse_uint(slash + 1, 255, &v);
		if (r < 0) {
			diags_add(diags, NULL, "explain: icmp '%s': expected TYPE or TYPE/CODE, each 0..255", words[2]);
			return -EINVAL;
		}
		/* most ICMP types only have code 0, and a packet always has one */
		p->icmp_code = slash ? (int)v : 0;
	} else if (nw != 3) {
		diags_add(diags, NULL, "explain: protocol %s has no ports or types; usage: explain %s %s ADDR",
			  words[1], words[0], words[1]);
		return -EINVAL;
	}
	r = parse_addr(words[nw - 1], p);
	if (r == -ERANGE) {
		diags_add(diags, NULL, "explain: address '%s': a probe is one host, not a network", words[nw - 1]);
		return -EINVAL;
	}
	if (r < 0) {
		diags_add(diags, NULL, "explain: address '%s': expected an IPv4 or IPv6 address", words[nw - 1]);
		return -EINVAL;
	}
	if (p->proto == SG_PROTO_ICMP && p->family != AF_INET) {
		diags_add(diags, NULL, "explain: icmp is IPv4 only; use icmpv6 with %s", words[nw - 1]);
		return -EINVAL;
	}
	if (p->proto == SG_PROTO_ICMPV6 && p->family != AF_INET6) {
		diags_add(diags, NULL, "explain: icmpv6 is IPv6 only; use icmp with %s", words[nw - 1]);
		return -EINVAL;
	}
	return 0;
}

/* ---- evaluation ---- */

static bool prefix_match(const struct sg_cidr *c, int af, const uint8_t *addr)
{
	unsigned bits = c->prefix, i;

	if (c->family != af)
		return false;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (c->addr.bytes[i] != addr[i])
			return false;
	if (bits) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits));

		if ((c->addr.bytes[i] & mask) != (addr[i] & mask))
			return false;
	}
	return true;
}

static bool group_has(const struct sg_config *cfg, const struct sg_members *m,
		      int gi, const struct sg_probe *p)
{
	const struct sg_cidr *cidrs;
	const struct sg_peer *peers;
	size_t n = explain_group_members(cfg, m, gi, &cidrs, &peers), i;

	for (i = 0; i < n; i++) {
		const struct sg_cidr *c = cidrs ? &cidrs[i] : &peers[i].cidr;

		if (peers && peers[i].kind != SG_PEER_CIDR)
			continue;
		if (prefix_match(c, p->family, p->addr))
			return true;
	}
	return false;
}

/* Does the rule's protocol/port/type part match?  Peers are separate. */
static bool rule_match_l4(const struct sg_rule *r, const struct sg_probe *p)
{
	if (r->proto == SG_PROTO_ALL)
		return true;
	if (r->proto != p->proto)
		return false;
	if (p->proto == SG_PROTO_TCP || p->proto == SG_PROTO_UDP)
		return r->port_lo <= p->port && p->port <= r->port_hi;
	if (p->proto == SG_PROTO_ICMP || p->proto == SG_PROTO_ICMPV6) {
		if (r->icmp_type >= 0 && r->icmp_type != p->icmp_type)
			return false;
		if (r->icmp_code >= 0 && r->icmp_code != p->icmp_code)
			return false;
	}
	return true;
}

/* Index of the first peer that matches, or -1. */
static int rule_match_peer(const struct sg_config *cfg, const struct sg_members *m,
			   const struct sg_rule *r, const struct sg_probe *p)
{
	size_t i;

	for (i = 0; i < r->n_peers; i++) {
		const struct sg_peer *peer = &r->peers[i];

		if (peer->kind == SG_PEER_CIDR) {
			if (prefix_match(&peer->cidr, p->family, p->addr))
				return (int)i;
		} else if (group_has(cfg, m, peer->group_idx, p)) {
			return (int)i;
		}
	}
	return -1;
}

struct eval_ctx {
	struct sg_match *v;
	size_t cap;
	size_t n;
	bool ifaces_skipped;
};

static void eval_push(struct eval_ctx *e, const struct sg_match *mt)
{
	if (e->n < e->cap) {
		e->v[e->n] = *mt;
		e->v[e->n].ifaces_skipped = e->ifaces_skipped;
	}
	e->n++;
}

static bool addr_is_loopback(const struct sg_probe *p)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (p->family == AF_INET)
		return p->addr[0] == 127;
	return !memcmp(p->addr, v6lo, 16);
}

static void eval_implicit(const struct sg_config *cfg, const struct sg_probe *p,
			  struct eval_ctx *e)
{
	size_t n, i;
	const struct sg_implicit_rule *ir = explain_implicit_rules(&n);
	const char *last = NULL;

	for (i = 0; i < n; i++) {
		const struct sg_implicit_rule *r = &ir[i];
		bool hit;

		if (r->dir != p->dir || !explain_implicit_enabled(cfg, r->name))
			continue;
		if (r->family && r->family != p->family)
			continue;
		if (r->proto != SG_PROTO_ALL && r->proto != p->proto)
			continue;
		if (r->port >= 0 && r->port != p->port)
			continue;
		if (r->icmp_type >= 0 && (p->icmp_type < r->icmp_type ||
					  p->icmp_type > (r->icmp_type_hi > r->icmp_type ?
							  r->icmp_type_hi : r->icmp_type)))
			continue;
		if (!strcmp(r->peer, "lo")) {
			hit = p->ifname ? !strcmp(p->ifname, "lo") : addr_is_loopback(p);
		} else if (!strcmp(r->peer, "any")) {
			hit = true;
		} else {
			struct sg_cidr c = { .family = r->family };
			char buf[64];
			const char *slash = strchr(r->peer, '/');

			memcpy(buf, r->peer, (size_t)(slash - r->peer));
			buf[slash - r->peer] = '\0';
			inet_pton(r->family, buf, c.addr.bytes);
			c.prefix = (uint8_t)atoi(slash + 1);
			hit = prefix_match(&c, p->family, p->addr);
		}
		/* one entry per allowance, not per table row */
		if (hit && (!last || strcmp(last, r->name))) {
			struct sg_match mt = {
				.kind = SG_MATCH_IMPLICIT, .implicit = r->name,
				.group_idx = -1, .dir = p->dir, .peer_idx = -1,
			};
			eval_push(e, &mt);
			last = r->name;
		}
	}
}

static void eval_group(const struct sg_config *cfg, const struct sg_members *m,
		       const struct sg_probe *p, int gi, const char *via,
		       struct eval_ctx *e)
{
	const struct sg_group *g;
	const struct sg_rule *rules;
	size_t n, i;

	if (gi < 0 || (size_t)gi >= cfg->n_groups)
		return;
	g = &cfg->groups[gi];
	rules = p->dir == SG_DIR_IN ? g->ingress : g->egress;
	n = p->dir == SG_DIR_IN ? g->n_ingress : g->n_egress;
	for (i = 0; i < n; i++) {
		int pi;

		if (!rule_match_l4(&rules[i], p))
			continue;
		pi = rule_match_peer(cfg, m, &rules[i], p);
		if (pi >= 0) {
			struct sg_match mt = {
				.kind = SG_MATCH_RULE, .group_idx = gi,
				.dir = p->dir,
				.rule_index = rules[i].index > 0 ? rules[i].index : (int)i + 1,
				.peer_idx = pi, .via = via, .rule = &rules[i],
			};
			eval_push(e, &mt);
		}
	}
}

static bool attached_everywhere(const struct sg_config *cfg, int gi)
{
	size_t i;

	for (i = 0; i < cfg->n_attach; i++)
		if (cfg->attach[i].group_idx == gi)
			return true;
	return false;
}

int explain_eval_all(const struct sg_config *cfg, const struct sg_members *m,
		     const struct sg_probe *p, struct sg_match *v, size_t cap,
		     size_t *n)
{
	struct eval_ctx e = { .v = v, .cap = cap };
	size_t i, k;

	*n = 0;
	if (!cfg || (p->family != AF_INET && p->family != AF_INET6) ||
	    p->proto < 0 || p->proto > 255 ||
	    (p->dir != SG_DIR_IN && p->dir != SG_DIR_OUT))
		return -EINVAL;
	if ((p->proto == SG_PROTO_TCP || p->proto == SG_PROTO_UDP) &&
	    (p->port < 0 || p->port > 65535))
		return -EINVAL;
	e.ifaces_skipped = !p->ifname && cfg->n_ifaces > 0;

	/* the implicit allowances and the failsafe rules never open the
	 * forward path (compile_forward.c) */
	if (!p->forwarded)
		eval_implicit(cfg, p, &e);
	if (p->dir == SG_DIR_IN && !p->forwarded) {
		for (i = 0; i < cfg->n_failsafe; i++) {
			const struct sg_rule *r = &cfg->failsafe[i];
			int pi;

			if (!rule_match_l4(r, p))
				continue;
			pi = rule_match_peer(cfg, m, r, p);
			if (pi >= 0) {
				struct sg_match mt = {
					.kind = SG_MATCH_FAILSAFE, .group_idx = -1,
					.dir = SG_DIR_IN, .rule_index = (int)i + 1,
					.peer_idx = pi, .rule = r,
				};
				eval_push(&e, &mt);
			}
		}
	}
	for (i = 0; i < cfg->n_attach; i++) {
		bool dup = false;

		/* the same group attached twice allows nothing more */
		for (k = 0; k < i; k++)
			dup |= cfg->attach[k].group_idx == cfg->attach[i].group_idx;
		if (!dup)
			eval_group(cfg, m, p, cfg->attach[i].group_idx, NULL, &e);
	}
	if (p->ifname) {
		for (i = 0; i < cfg->n_ifaces; i++) {
			const struct sg_iface *f = &cfg->ifaces[i];

			if (strcmp(f->ifname, p->ifname))
				continue;
			for (k = 0; k < f->n_groups; k++) {
				int gi = f->groups[k].group_idx;
				bool dup = attached_everywhere(cfg, gi);
				size_t j;

				for (j = 0; j < k; j++)
					dup |= f->groups[j].group_idx == gi;
				if (!dup)
					eval_group(cfg, m, p, gi, f->ifname, &e);
			}
		}
	}
	*n = e.n;
	return 0;
}

bool explain_is_icmp_error(const struct sg_probe *p)
{
	/* the types the kernel's conntrack treats as errors
	 * (nf_conntrack_proto_icmp.c, nf_conntrack_proto_icmpv6.c) */
	if (p->proto == SG_PROTO_ICMP)
		return p->icmp_type == 3 || p->icmp_type == 4 || p->icmp_type == 5 ||
		       p->icmp_type == 11 || p->icmp_type == 12;
	if (p->proto == SG_PROTO_ICMPV6)
		return p->icmp_type >= 0 && p->icmp_type < 128;
	return false;
}

int explain_eval(const struct sg_config *cfg, const struct sg_members *m,
		 const struct sg_probe *p, struct sg_match *out)
{
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	out->kind = SG_MATCH_NONE;
	out->group_idx = -1;
	out->peer_idx = -1;
	out->dir = p->dir;
	r = explain_eval_all(cfg, m, p, out, 1, &n);
	if (r < 0)
		return r;
	if (n == 0) {
		out->kind = SG_MATCH_NONE;
		out->group_idx = -1;
		out->peer_idx = -1;
		out->dir = p->dir;
		out->ifaces_skipped = !p->ifname && cfg->n_ifaces > 0;
	}
	return 0;
}
