/*
 * config.h — load, validate and print a configuration directory.
 * Implemented in load_*.c, validate.c, printconf.c, cidr.c (common/).
 */
#ifndef SGD_CONFIG_H
#define SGD_CONFIG_H

#include <stdio.h>
#include "model.h"
#include "diag.h"

/* Hostile-input caps (documented in README and sgd.yaml(5)). */
#define SG_MAX_FILE_SIZE   (4u << 20)	/* bytes per YAML file */
#define SG_MAX_DEPTH       64		/* YAML nesting depth */
#define SG_MAX_GROUP_FILES 10000
#define SG_MAX_PLIST_FILES 10000	/* files in prefix_lists.d */
#define SG_MAX_NODES       1000000	/* YAML values (scalars, lists, maps) per file */

/* Load CONFDIR/sgd.yaml, CONFDIR/groups.d/NAME.yaml and
 * CONFDIR/prefix_lists.d/NAME.yaml, then validate.
 * Returns 0 and sets *out when the configuration is valid.  Otherwise
 * returns -EINVAL (config errors) or another -errno (I/O), appends every
 * error found to diags, and sets *out to NULL: a config with any error is
 * never returned. */
int config_load(const char *confdir, struct sg_config **out, struct sg_diags *diags);
void config_free(struct sg_config *cfg);

/* Load the normalized print (config_print's output: one YAML stream, a
 * "--- # sgd.yaml" document then one "--- # groups.d/NAME.yaml" document
 * per group) from one file, then validate.  Same contract as config_load;
 * positions name `path`.  Used to prove the print loads back unchanged. */
int config_load_stream(const char *path, struct sg_config **out, struct sg_diags *diags);

/* Find a group by name or id; -1 if none. */
int config_find_group(const struct sg_config *cfg, const char *name_or_id);
/* The index in v (n elements of size bytes, sorted by the char * name at
 * name_off) of the one named, or whose char * id at id_off is,
 * name_or_id; -1 if none.  What config_find_group and _plist share. */
int config_find_named(const void *v, size_t n, size_t size, size_t name_off,
		      size_t id_off, const char *name_or_id);

/* plist.c: managed prefix lists.  The list named or with id name_or_id;
 * -1 if none. */
int config_find_plist(const struct sg_config *cfg, const char *name_or_id);
/* Whether an entry takes part in a rule of protocol proto: an icmp rule
 * takes only IPv4 entries, an icmpv6 rule only IPv6 ones (as for CIDRs
 * written in such a rule). */
bool plist_entry_usable(const struct sg_plist_entry *e, int proto);
/* How many entries of pl a reference in a rule of protocol proto
 * expands to. */
size_t plist_usable(const struct sg_plist *pl, int proto);
/* For a CIDR peer that came from a prefix list: the list (into *pl, may
 * be NULL) and the entry; NULL for any other peer. */
const struct sg_plist_entry *config_peer_entry(const struct sg_config *cfg,
					       const struct sg_peer *p,
					       const struct sg_plist **pl);

/* Print the normalized configuration: canonical YAML that loads again to
 * the same model.  Returns 0 or -errno. */
int config_print(FILE *f, const struct sg_config *cfg);

/* cidr.c: parse "10.0.0.0/8", "2001:db8::/32", bare addresses (/32, /128).
 * Returns 0, -EINVAL if malformed, -ERANGE if host bits are set (then *out
 * holds the masked network, which is "probably meant"). */
int cidr_parse(const char *s, struct sg_cidr *out);
/* Format into buf (at least 50 bytes); returns buf.  Bare /32 and /128 are
 * printed with their prefix ("10.0.0.1/32"). */
char *cidr_format(const struct sg_cidr *c, char *buf, size_t len);
/* true when inner lies within outer (same family). */
bool cidr_contains(const struct sg_cidr *outer, const struct sg_cidr *inner);
/* true when addr (a host address, family af, 4 or 16 bytes) is in c. */
bool cidr_match_addr(const struct sg_cidr *c, int af, const void *addr);
int cidr_cmp(const struct sg_cidr *a, const struct sg_cidr *b);
/* Append to a list; 0 or -ENOMEM. */
int cidr_list_add(struct sg_cidr_list *l, const struct sg_cidr *c);
void cidr_list_free(struct sg_cidr_list *l);

/* load_fleet.c: a fleet host id: 1 to 64 letters, digits, '.', '_', '-'
 * (it is one component of an etcd key). */
bool load_fleet_host_id_valid(const char *s);
/* The address and TCP port of an endpoint URL that load_fleet accepted
 * (the port defaults to 80 for http, 443 for https).  0, -ENOENT when the
 * host is a name (not an IP literal), -EINVAL. */
int load_fleet_endpoint_addr(const char *url, struct sg_cidr *addr, int *port);

/* Protocol names: "tcp" for 6 etc., NULL when it has no name. */
const char *proto_name(int proto);
/* protocol.c: parse "tcp", "udp", "icmp", "icmpv6", "all" (any case) or a
 * number 0..255 or -1 into *proto (SG_PROTO_ALL for all/-1).  Returns 0,
 * -EINVAL when it is neither a name nor a number, -ERANGE when the number
 * is outside 0..255 and not -1. */
int proto_parse(const char *s, int *proto);

#endif
