/*
 * explain.h — would a packet be allowed, and by what?
 *
 * Evaluates one probe packet against a configuration with exact
 * security-group semantics: the implicit allowances of sgd.yaml, the
 * failsafe rules, then every rule of every group that applies on the
 * packet's interface (the `attach` groups on every interface, plus the
 * `interfaces:` groups of that interface).  Used by `sgctl explain` and
 * by the daemon's SSH lockout guard.  Touches neither kernel nor files.
 */
#ifndef SGD_EXPLAIN_H
#define SGD_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "diag.h"

/* A new packet (not a reply: replies pass by conntrack whatever the rules). */
struct sg_probe {
	enum sg_dir dir;
	int proto;		/* 0..255 */
	int port;		/* tcp/udp destination port; else -1 */
	int icmp_type;		/* icmp/icmpv6: 0..255; else -1 */
	int icmp_code;		/* icmp/icmpv6: 0..255; else -1 */
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* the remote host: source for in, destination
				 * for out (4 bytes used for AF_INET) */
	const char *ifname;	/* interface, or NULL: unknown */
	/* forwarded by the host: to a local container or a published port
	 * (in; port is the one the client used, before DNAT) or from a local
	 * container (out).  The implicit allowances and the failsafe rules
	 * are the host's own and do not apply (`explain --forwarded`). */
	bool forwarded;
};

enum sg_match_kind {
	SG_MATCH_NONE = 0,	/* nothing allows it: dropped */
	SG_MATCH_IMPLICIT,	/* implicit allowance (name) */
	SG_MATCH_FAILSAFE,	/* failsafe rule (rule_index) */
	SG_MATCH_RULE,		/* group_idx, dir, rule_index, peer_idx */
};

struct sg_match {
	enum sg_match_kind kind;
	const char *implicit;	/* an implicit: key ("loopback", "aws_dns" ...) */
	int group_idx;		/* SG_MATCH_RULE; else -1 */
	enum sg_dir dir;
	int rule_index;		/* 1-based within the group's ingress/egress
				 * list or the failsafe list; else 0 */
	int peer_idx;		/* which from:/to: entry matched; else -1 */
	const char *via;	/* SG_MATCH_RULE: NULL = attach (every
				 * interface), else the interface name */
	const struct sg_rule *rule;	/* the rule (RULE/FAILSAFE), else NULL */
	/* Set on every result: the config has interfaces: entries but the
	 * probe named no interface, so only attach groups were considered. */
	bool ifaces_skipped;
};

/* Parse the words after "explain":
 *   in|out PROTO [PORT|TYPE[/CODE]] ADDR [-i IFACE] [--forwarded]
 * PROTO is tcp|udp|icmp|icmpv6|all|-1|0..255; a port is required for tcp
 * and udp, a type for icmp and icmpv6 (code defaults to any → evaluated
 * as 0); ADDR is a host address.  argv is only read; p->ifname points
 * into it.  Returns 0,
 * or -EINVAL with a message in diags. */
int explain_parse(int argc, char **argv, struct sg_probe *p, struct sg_diags *diags);

/* Evaluate; *out describes the first allowance found (implicit, then
 * failsafe, then groups in attach order then interface order) or
 * SG_MATCH_NONE.  m may be NULL: then the YAML members of each group are
 * its membership.  Returns 0, or -EINVAL for a malformed probe. */
int explain_eval(const struct sg_config *cfg, const struct sg_members *m,
		 const struct sg_probe *p, struct sg_match *out);

/* true when the probe is an ICMP or ICMPv6 error message (icmp 3, 4, 5,
 * 11, 12; icmpv6 0..127).  Conntrack never sees such a packet as new: it
 * is `related` when it quotes a tracked connection (then the stateful rule
 * passes it before any other) and `invalid` otherwise (then it is dropped
 * before any other), so the rules do not decide its fate. */
bool explain_is_icmp_error(const struct sg_probe *p);

/* Every allowance, in the same order; *n is how many were found (may be
 * more than cap; only cap are stored).  Returns 0 or -EINVAL. */
int explain_eval_all(const struct sg_config *cfg, const struct sg_members *m,
		     const struct sg_probe *p, struct sg_match *v, size_t cap,
		     size_t *n);

/* The implicit allowances that security groups never filter, as sgd
 * installs them when the matching implicit: switch is on. */
struct sg_implicit_rule {
	const char *name;	/* implicit: key */
	enum sg_dir dir;
	int family;		/* AF_INET, AF_INET6, or 0 for both */
	int proto;		/* SG_PROTO_ALL or a protocol */
	int port;		/* tcp/udp destination port, or -1 */
	int icmp_type;		/* icmpv6 type, or -1 */
	const char *peer;	/* address text ("169.254.169.254/32"), "lo"
				 * for the loopback interface, or "any" */
	const char *description;
	int icmp_type_hi;	/* > icmp_type: a range of types; else 0 */
};

const struct sg_implicit_rule *explain_implicit_rules(size_t *n);
bool explain_implicit_enabled(const struct sg_config *cfg, const char *name);

/* The membership of group gi: from m when given, else the YAML members.
 * Returns the count; *v gets an array of peers or CIDRs (one of the two
 * is set, the other NULL). */
size_t explain_group_members(const struct sg_config *cfg,
			     const struct sg_members *m, int gi,
			     const struct sg_cidr **cidrs,
			     const struct sg_peer **peers);

#endif
