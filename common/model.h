/*
 * model.h — the configuration model shared by sgd and sgctl.
 *
 * The pipeline is load (YAML -> model, every element with its source
 * position) -> validate (all errors, not the first) -> compile (daemon only)
 * -> commit (daemon only).  Nothing in this header touches the kernel.
 *
 * Ownership: a struct sg_config owns every string and array reachable from
 * it; config_free() releases all of it.  File names in sg_pos point into
 * cfg->files (interned), so positions stay valid for the config's lifetime.
 */
#ifndef SGD_MODEL_H
#define SGD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* Where something was written: file is relative to the config dir as the
 * user would name it ("groups.d/db.yaml", "sgd.yaml"); line and column are
 * 1-based.  file == NULL means "no position" (built-in defaults). */
struct sg_pos {
	const char *file;
	int line;
	int col;
};

enum sg_dir { SG_DIR_IN = 0, SG_DIR_OUT = 1 };

/* IP protocol numbers used throughout; SG_PROTO_ALL is AWS's -1. */
enum {
	SG_PROTO_ALL = -1,
	SG_PROTO_ICMP = 1,
	SG_PROTO_TCP = 6,
	SG_PROTO_UDP = 17,
	SG_PROTO_ICMPV6 = 58,
};

/* An address block.  family is AF_INET or AF_INET6; addr holds the network
 * address (host bits are always zero after validation); prefix 0..32/128. */
struct sg_cidr {
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} addr;
	uint8_t prefix;
};

enum sg_peer_kind {
	SG_PEER_CIDR = 0,	/* cidr is valid */
	SG_PEER_GROUP = 1,	/* group_ref names a group; group_idx after validation */
};

/* Field order keeps this at 56 bytes (not 64): one per peer of every
 * rule, 100,000 of them and more in a big policy. */
struct sg_peer {
	enum sg_peer_kind kind;
	union {
		int group_idx;	/* SG_PEER_GROUP: index into sg_config.groups;
				 * -1 until resolved */
		int plist_idx;	/* SG_PEER_CIDR: the prefix list (index into
				 * sg_config.plists) whose entry this is, or -1
				 * for a CIDR written in the rule */
	};
	struct sg_cidr cidr;
	char *group_ref;	/* as written (name or id); NULL for CIDR peers */
	struct sg_pos pos;
};

/* Ordered and sized for 96 bytes (not 104): a big policy has 100,000
 * rules, and a reload holds two configurations.  The 16-bit fields read
 * as int everywhere; only their address is not an int *. */
struct sg_rule {
	struct sg_peer *peers;	/* from: (ingress) / to: (egress); n_peers >= 1 */
	size_t n_peers;
	char *description;	/* may be NULL */
	struct sg_pos pos;	/* the rule's mapping */
	struct sg_pos proto_pos;
	struct sg_pos ports_pos;	/* or icmp_type's position */
	enum sg_dir dir;
	int port_lo;		/* tcp/udp: 0..65535 ("all" = 0..65535); else -1 */
	int port_hi;
	int index;		/* 1-based position in its group's list */
	int16_t proto;		/* SG_PROTO_ALL or 0..255 */
	int16_t icmp_type;	/* icmp/icmpv6: -1 (any) or 0..255; else -1 */
	int16_t icmp_code;	/* -1 (any) or 0..255 */
	bool implicit_default;	/* the AWS default egress rule (egress omitted) */
	bool peers_pooled;	/* peers lie in the group's peer_pool: freed
				 * with it, not on their own */
};

struct sg_group {
	char *name;
	char *id;		/* may be NULL */
	char *description;	/* may be NULL */
	struct sg_rule *ingress;
	size_t n_ingress;
	struct sg_rule *egress;	/* when egress was omitted: one rule, the
				 * AWS default, with implicit_default set */
	size_t n_egress;
	bool egress_omitted;
	struct sg_peer *members;	/* CIDR peers only (YAML "members:") */
	size_t n_members;
	/* The loader's blocks holding the peers of rules with peers_pooled
	 * (one malloc per rule would cost 100,000 of them); config_free
	 * releases them.  NULL when no rule's peers are pooled. */
	void *peer_pool;
	const char *file;	/* interned, e.g. "groups.d/web.yaml" */
	struct sg_pos pos;	/* the document's top mapping */
	struct sg_pos name_pos;
	struct sg_pos id_pos;	/* the id's value; file == NULL without id */
};

/* One entry of a managed prefix list. */
struct sg_plist_entry {
	struct sg_cidr cidr;
	char *description;	/* may be NULL */
	struct sg_pos pos;	/* the entry (its cidr's value) */
};

/* A managed prefix list (prefix_lists.d/NAME.yaml, AWS "pl-..."): a
 * static, named set of CIDRs that a rule's from/to names like a peer
 * group.  Validation expands every reference into CIDR peers of the rule
 * (plist_idx set), one per entry in entry order, so the compiler sees
 * plain CIDRs; an icmp rule takes only the IPv4 entries and an icmpv6
 * rule only the IPv6 ones (plist_usable).  Entries are unique. */
struct sg_plist {
	char *name;
	char *id;		/* "pl-..." or NULL */
	struct sg_plist_entry *entries;	/* n_entries >= 1 */
	size_t n_entries;
	const char *file;	/* interned, e.g. "prefix_lists.d/office.yaml" */
	struct sg_pos pos;	/* the document's top mapping */
	struct sg_pos name_pos;
	struct sg_pos id_pos;	/* file == NULL without id */
};

/* A reference to a group by name or id, as written in attach/interfaces. */
struct sg_ref {
	char *name;
	int group_idx;		/* -1 until resolved */
	struct sg_pos pos;
};

struct sg_iface {
	char *ifname;
	struct sg_ref *groups;
	size_t n_groups;
	struct sg_pos pos;
};

enum sg_drift { SG_DRIFT_REPAIR = 0, SG_DRIFT_WARN = 1 };

/* What forwarded traffic the groups judge (sgd.yaml `forward:`).  The
 * loader's default is SG_FWD_CONTAINERS; 0 is "off" so that a model
 * built by hand (tests) compiles to input and output alone. */
enum sg_forward {
	SG_FWD_OFF = 0,		/* forwarded traffic is not filtered */
	SG_FWD_CONTAINERS = 1,	/* to/from local containers, DNATed flows */
	SG_FWD_ALL = 2,		/* and traffic routed between outside networks */
};

/* The sgd.yaml word for f. */
static inline const char *sg_forward_name(enum sg_forward f)
{
	return f == SG_FWD_OFF ? "off" : f == SG_FWD_ALL ? "all" : "containers";
}

/* The allowances AWS gives every instance whatever its security groups
 * (docs/configuration.md, "implicit"), each switchable. */
struct sg_implicit {
	bool loopback;
	bool dhcp;
	bool ipv6_nd;		/* icmpv6 133-136, hop limit 255 */
	bool metadata;		/* tcp/80 to 169.254.169.254, fd00:ec2::254 */
	bool ipv6_redirects;	/* icmpv6 137, hop limit 255; default false */
	bool aws_dns;		/* udp+tcp/53 to 169.254.169.253, fd00:ec2::253 */
	bool aws_ntp;		/* udp/123 to 169.254.169.123, fd00:ec2::123 */
};

/* fleet: in sgd.yaml (SPEC section 2, docs/fleet.md): membership shared
 * through etcd.  Defaults not known to the loader (host_id, addresses)
 * are left empty and resolved by the daemon (daemon/fleet.c). */
#define SG_FLEET_MAX_ENDPOINTS	16
#define SG_FLEET_MAX_ADDRS	64
struct sg_fleet {
	struct sg_pos pos;	/* the fleet: key */
	char **endpoints;	/* "http(s)://host:port", at least one */
	size_t n_endpoints;
	char *prefix;		/* default "/sgd/"; starts and ends with '/' */
	char *host_id;		/* NULL: /etc/machine-id */
	struct sg_cidr *addrs;	/* none: the host's global addresses */
	size_t n_addrs;
	unsigned lease_ttl;	/* seconds, default 15 */
	char *tls_ca;		/* optional PEM files */
	char *tls_cert;
	char *tls_key;
};

struct sg_config {
	char *dir;		/* the config directory as given */
	char *table;		/* default "sgd" */
	struct sg_pos table_pos;
	struct sg_ref *attach;
	size_t n_attach;
	struct sg_iface *ifaces;
	size_t n_ifaces;
	struct sg_implicit implicit;	/* true by default but ipv6_redirects */
	bool log_denied;
	enum sg_drift on_drift;
	enum sg_forward forward;
	struct sg_pos forward_pos;	/* file NULL: the default */
	struct sg_rule *failsafe;	/* ingress rules, always allowed */
	size_t n_failsafe;
	char *control_group;	/* optional: unix group allowed to mutate */
	struct sg_fleet *fleet;	/* NULL: no fleet: section */
	struct sg_group *groups;	/* sorted by name */
	size_t n_groups;
	struct sg_plist *plists;	/* sorted by name */
	size_t n_plists;
	char **files;		/* interned file names; see sg_pos.file */
	size_t n_files;
};

/* A growable list of CIDRs (membership, deltas). */
struct sg_cidr_list {
	struct sg_cidr *v;
	size_t n;
	size_t cap;
};

/* Effective membership of every group, indexed like cfg->groups: the
 * union of YAML members, members.d files and run-time additions.  The
 * engine never reads files; the daemon computes this. */
struct sg_members {
	struct sg_cidr_list *by_group;	/* cfg->n_groups entries */
	size_t n_groups;
};

/* Per-rule counters, as read back from the kernel. */
enum sg_counter_kind {
	SG_CNT_RULE,		/* group_idx, dir, rule_index valid */
	SG_CNT_FAILSAFE,	/* rule_index valid (1-based) */
	SG_CNT_IMPLICIT,	/* name valid: "loopback", "dhcp", ... */
	SG_CNT_STATEFUL,	/* established,related */
	SG_CNT_DROP,		/* dir valid: final drop */
};
/* STATEFUL and DROP have one counter per base chain: input, output, and
 * with `forward:` forward_in (dir in, forward set) and forward_out. */

struct sg_counter {
	enum sg_counter_kind kind;
	int group_idx;
	enum sg_dir dir;
	int rule_index;
	const char *name;	/* static string for SG_CNT_IMPLICIT */
	bool forward;		/* STATEFUL, DROP: of the forward path */
	uint64_t packets;
	uint64_t bytes;
};

#endif
