/*
 * loader.h — internals shared by load.c, load_group.c and validate.c.
 * Not for callers outside common/: they use config.h.
 */
#ifndef SGD_LOADER_H
#define SGD_LOADER_H

#include "config.h"
#include "yaml_tree.h"

/* The rules of one streamed ingress or egress list (see yt_hook): built
 * while the file is parsed, handed to the group by load_rules.  Their
 * diagnostics wait here too, so that they are reported in the same order,
 * and only when, the tree loader would report them. */
struct ld_pool;

struct ld_pending {
	struct ld_pool *pool;	/* the peers of v's rules */
	struct sg_rule *v;
	size_t n, cap;
	struct sg_diags diags;
	int r;			/* -EINVAL when a rule was bad */
};

#define SG_MAX_DESCRIPTION 255	/* bytes, as AWS */

struct ld_ctx {
	struct sg_config *cfg;
	struct sg_diags *d;
	/* Groups whose file could not be parsed, by the name they would
	 * probably have had (the file's stem): references to them are not
	 * reported again as unknown groups. */
	char **broken;
	size_t n_broken;
	size_t cap_groups;
	size_t files_cap;	/* allocated entries of cfg->files */
	size_t *intern;		/* hash of cfg->files: index + 1, 0 = empty */
	size_t intern_cap;	/* power of two */
	struct ld_pending pending[2];	/* by enum sg_dir */
	/* While a streamed rule is loaded: where its peers go. */
	struct ld_pool **peer_pool;
};

/* load.c: helpers */
const char *load_intern(struct ld_ctx *c, const char *file);
/* The candidate closest to word (case-insensitive edit distance <= 2),
 * or NULL when none is close. */
const char *load_suggest(const char *word, const char *const *cands, size_t n);
/* Report every key of map that is not in keys[] (with a suggestion);
 * ignore (may be NULL) is a key the caller reports itself. */
void load_check_keys(struct ld_ctx *c, const struct yt_node *map,
		     const char *const *keys, size_t n, const char *ignore);
/* The value of key in map, or NULL; *key_node (may be NULL) gets the key. */
const struct yt_node *load_get(const struct yt_node *map, const char *key,
			       const struct yt_node **key_node);
/* A scalar's text, or NULL after reporting "KEY: expected what, got ...". */
const char *load_scalar(struct ld_ctx *c, const char *key, const struct yt_node *v,
			const char *what);
int load_string(struct ld_ctx *c, const char *key, const struct yt_node *v, char **out);
int load_bool(struct ld_ctx *c, const char *key, const struct yt_node *v, bool *out);
/* A list node, or NULL after reporting. */
const struct yt_node *load_list(struct ld_ctx *c, const char *key,
				const struct yt_node *v, const char *what);
/* Decimal integer with optional '-': 0, -EINVAL, or -ERANGE (|v| huge). */
int load_parse_int(const char *s, long *v);
bool load_group_name_valid(const char *s);
bool load_aws_id_valid(const char *s, const char *prefix);
bool load_group_id_valid(const char *s);

/* load_settings.c: the top mapping of sgd.yaml */
void load_settings(struct ld_ctx *c, const struct yt_node *root);

/* load_fleet.c: the fleet: mapping (key is its key node) into
 * c->cfg->fleet; errors go to c->d. */
void load_fleet(struct ld_ctx *c, const struct yt_node *key, const struct yt_node *v);
void load_fleet_free(struct sg_fleet *f);

/* load_group.c */
/* True when map has an unknown key that load_check_keys reports as "did
 * you mean 'want'" (then "missing 'want'" would only repeat it). */
bool load_misspelt(const struct yt_node *map, const char *want,
		   const char *const *keys, size_t n);
/* An address or CIDR into *out; reports "KEY: ..." at v and returns
 * -EINVAL otherwise (host bits set: with the network meant). */
int load_cidr(struct ld_ctx *c, const char *key, const struct yt_node *v,
	      const char *s, struct sg_cidr *out);
/* A rule list (ingress, egress or failsafe). */
int load_rules(struct ld_ctx *c, const char *key, const struct yt_node *list,
	       enum sg_dir dir, bool failsafe, struct sg_rule **out, size_t *n);
/* One group document; stem is the default name. */
int load_group(struct ld_ctx *c, const struct yt_node *root, const char *file,
	       const char *stem);
void load_rule_free(struct sg_rule *r);
void load_group_free(struct sg_group *g);
void load_mark_broken(struct ld_ctx *c, const char *stem);
/* The yt_hook of a group file: streams its ingress and egress lists into
 * c->pending.  load_pending_free drops what no group took. */
void load_group_hook(struct ld_ctx *c, struct yt_hook *h);
void load_pending_free(struct ld_ctx *c);

/* load_prefix.c: one prefix list document; stem is the default name. */
int load_plist(struct ld_ctx *c, const struct yt_node *root, const char *file,
	       const char *stem);
void load_plist_free(struct sg_plist *pl);
bool load_plist_id_valid(const char *s);

/* validate_prefix.c: prefix list names and ids are unique among lists
 * (clashes with groups: validate.c).  Sorts cfg->plists by name. */
void validate_plists(struct ld_ctx *c);
/* The list a rule's reference names, or -1.  Groups are looked up first:
 * a name that is both is reported by validate.c. */
int validate_plist_ref(const struct ld_ctx *c, const char *ref);
/* Replace every reference of r to a prefix list (a group peer that no
 * group resolved) by the list's usable entries as CIDR peers; 0, -EINVAL
 * after reporting a list with no entry of the rule's family, -ENOMEM. */
int validate_expand_rule(struct ld_ctx *c, struct sg_rule *r);

/* validate.c: cross-file checks after every file is loaded: duplicate
 * names and ids, references to groups.  Sorts cfg->groups by name. */
void validate_config(struct ld_ctx *c);

#endif
