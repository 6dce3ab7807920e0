/*
 * import_map.h — the AWS describe-security-groups document mapped to sgd
 * groups (import_map.c, with the other input shapes in import_shape.c,
 * names in import_name.c, prefix lists in import_plist.c) and written as
 * group and prefix list files (import_render.c).  The front end is
 * import_aws.c with its input checks in import_input.c; the rules of the
 * mapping are in docs/import-aws.md.
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
	IMP_PROB_PREFIX_LIST,	  /* prefix list not in --prefix-lists: id kept */
	IMP_PROB_UNKNOWN_GROUP_NAME, /* pair by GroupName only, not in document: skipped */
	IMP_PROB_UNKNOWN_PROTOCOL, /* IpProtocol sgd cannot name: permission skipped */
	IMP_PROB_WRONG_FAMILY,	  /* icmp from IPv6 / icmpv6 from IPv4: matches
				   * nothing in AWS either; peer left out, exact */
	IMP_PROB_BAD_GROUP_ID,	  /* GroupId not sg-...: the group is skipped */
	IMP_PROB_EMPTY_LIST,	  /* prefix list without entries: allows nothing;
				   * peer left out, exact */
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

/* A managed prefix list from the --prefix-lists files. */
struct imp_plist_entry {
	char *cidr;		/* normalized */
	char *description;	/* may be NULL */
};

struct imp_plist {
	char *aws_id;
	char *aws_name;		/* PrefixListName; may be NULL */
	char *name;		/* sgd name (set once the groups are named) */
	char *file;		/* "<name>.yaml" in the lists directory */
	bool have_entries;	/* entries were given (get-managed-prefix-list-entries) */
	struct imp_plist_entry *entries;
	size_t n_entries;
	char *note;		/* why it is not written or was renamed; may be NULL */
};

struct imp_result {
	struct imp_group *groups;	/* document order */
	size_t n_groups;
	struct imp_plist *plists;	/* --prefix-lists, in the order read */
	size_t n_plists;
	struct imp_problem *problems;
	size_t n_problems;
};

void imp_result_init(struct imp_result *res);
void imp_result_free(struct imp_result *res);

/* Map a parsed document: describe-security-groups output, its bare
 * SecurityGroups list (--query SecurityGroups), one group, or
 * describe-security-group-rules output.  Prefix lists read before
 * (imp_map_plists) resolve PrefixListIds.  Returns 0 (problems recorded
 * in res), -EINVAL when the document does not have a documented shape
 * (err holds "LINE:COL: what"), or -ENOMEM. */
int imp_map_document(const struct jt_node *root, struct imp_result *res,
		     char *err, size_t errlen);

/* import_plist.c: read one --prefix-lists document into res->plists:
 * describe-managed-prefix-lists output (ids and names), or
 * get-managed-prefix-list-entries output (entries of the list id_hint,
 * which must then be given).  Same returns as imp_map_document. */
int imp_map_plists(const struct jt_node *root, const char *id_hint, struct imp_result *res,
		   char *err, size_t errlen);
/* The list with this id, or NULL. */
struct imp_plist *imp_plist_find(const struct imp_result *res, const char *id);
/* Give every list its sgd name and file (after the groups are named:
 * a list must not take a group's name).  0 or -ENOMEM. */
int imp_plists_name(struct imp_result *res);
/* import_render.c: a list's file text (malloc'd).  0 or -ENOMEM. */
int imp_render_plist(const struct imp_plist *pl, char **text);

/* import_shape.c: the groups of root as an array of describe-security-
 * groups group objects: *list points into root, or into *owned when the
 * shape had to be converted (describe-security-group-rules, a single
 * group); *owned is zeroed otherwise and always jt_free'd by the caller. */
int imp_shape_groups(const struct jt_node *root, const struct jt_node **list,
		     struct jt_node *owned, char *err, size_t errlen);

/* import_name.c: a readable sgd name for an AWS name: the name itself
 * when it is valid, else a lowercase slug (Latin letters with accents
 * lose them, every run of other characters becomes one '-'), cut to 64;
 * prefix + name when only digits and dots remain, fallback when nothing
 * does.  NULL when out of memory. */
char *imp_name_map(const char *aws_name, const char *prefix, const char *fallback);
/* name + "-" + id, the name part cut so the whole fits 64. */
char *imp_name_with_id(const char *name, const char *id);
/* "sg-" or "pl-" (prefix) and 8 or 17 hex digits. */
bool imp_aws_id_ok(const char *id, const char *prefix);

/* import_input.c: 0 when buf may be read as JSON, 1 when it holds
 * nothing but white space (0 groups), -EINVAL with "LINE:COL: what, and
 * the fix" in err (UTF-16, YAML, a trailing comma, a comment, ...). */
int imp_input_check(const char *buf, size_t len, char *err, size_t errlen);

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
