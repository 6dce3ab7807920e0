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
#define SG_MAX_NODES       1000000	/* YAML values (scalars, lists, maps) per file */

/* Load CONFDIR/sgd.yaml and CONFDIR/groups.d/NAME.yaml, then validate.
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

/* Protocol names: "tcp" for 6 etc., NULL when it has no name. */
const char *proto_name(int proto);
/* protocol.c: parse "tcp", "udp", "icmp", "icmpv6", "all" (any case) or a
 * number 0..255 or -1 into *proto (SG_PROTO_ALL for all/-1).  Returns 0,
 * -EINVAL when it is neither a name nor a number, -ERANGE when the number
 * is outside 0..255 and not -1. */
int proto_parse(const char *s, int *proto);

#endif
