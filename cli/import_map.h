/*
 * import_map.h — the AWS describe-security-groups document mapped to sgd
 * groups (import_map.c) and written as group files (import_render.c).
 * The front end is import_aws.c; the rules of the mapping are in
 * docs/import-aws.md.
 */
#ifndef SGD_IMPORT_MAP_H
#define SGD_IMPORT_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "json_tree.h"
#include "model.h"

/* What an import could not carry over exactly.  WARNING: the names
 * (imp_problem_kind_name) are part of the --json output. */
enum imp_problem_kind {
	IMP_PROB_RENAMED,	  /* name sanitized or made unique: exact */
	IMP_PROB_HOST_BITS,	  /* CIDR with host bits: masked, as AWS means it */
	IMP_PROB_NO_PEERS,	  /* permission with no source/destination: allows nothing */
	IMP_PROB_UNRESOLVED_GROUP, /* GroupId not in the document: id kept */
	IMP_PROB_PREFIX_LIST,	  /* prefix list: peer skipped */
	IMP_PROB_UNKNOWN_GROUP_NAME, /* pair by GroupName only, not in document: skipped */
	IMP_PROB_UNKNOWN_PROTOCOL, /* IpProtocol sgd cannot name: permission skipped */
	IMP_PROB_WRONG_FAMILY,	  /* icmp from IPv6 / icmpv6 from IPv4: matches
				   * nothing in AWS either; peer left out, exact */
};

struct imp_problem {
	enum imp_problem_kind kind;
	char *group_id;		/* AWS GroupId */
	char *group_name;	/* AWS GroupName */
	int dir;		/* enum sg_dir, or -1 for the group itself */
	int permission;		/* 1-based index in IpPermissions[Egress] */
	char *what;		/* the thing, by name: "pl-0a1b", "sg-0123", "gre" */
	char *message;		/* one line for people */
};

/* One sgd rule.  Fields as in struct sg_rule; peers are the texts to
 * write (a CIDR, or an sgd group name, or a kept AWS group id). */
struct imp_rule {
	enum sg_dir dir;
	int proto;
	int port_lo, port_hi;
	int icmp_type, icmp_code;
	char **peers;
	size_t n_peers;
	char *description;	/* may be NULL */
};

struct imp_group {
	char *aws_id;
	char *aws_name;
	char *aws_description;	/* may be NULL */
	char *name;		/* sgd name */
	char *file;		/* "<name>.yaml" */
	bool egress_present;	/* IpPermissionsEgress key present */
	struct imp_rule *rules;	/* ingress first, then egress */
	size_t n_rules;
	size_t n_in, n_out;
	const struct jt_node *node;	/* during mapping only */
};

struct imp_result {
	struct imp_group *groups;	/* document order */
	size_t n_groups;
	struct imp_problem *problems;
	size_t n_problems;
};

void imp_result_init(struct imp_result *res);
void imp_result_free(struct imp_result *res);

/* Map a parsed document.  Returns 0 (problems recorded in res), -EINVAL
 * when the document does not have the documented shape (err holds
 * "LINE:COL: what"), or -ENOMEM. */
int imp_map_document(const struct jt_node *root, struct imp_result *res,
		     char *err, size_t errlen);

/* true when nothing was skipped or left unresolved (renames, masked host
 * bits, empty permissions and wrong-family ICMP peers keep the meaning
 * exact). */
bool imp_result_exact(const struct imp_result *res);

const char *imp_problem_kind_name(enum imp_problem_kind k);
/* "renamed", "normalized", "ignored", "kept", "skipped" */
const char *imp_problem_action(enum imp_problem_kind k);

/* import_render.c: the group file's text (malloc'd) in sgd's YAML schema,
 * with the group's problems as comments.  Returns 0 or -ENOMEM. */
int imp_render_group(const struct imp_group *g, const struct imp_result *res, char **text);

/* import_render.c: true when s can be written as a plain YAML scalar and
 * read back as the same string. */
bool imp_yaml_plain_ok(const char *s);

#endif
