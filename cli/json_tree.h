/*
 * json_tree.h — a JSON document read with libyaml (JSON is, for these
 * purposes, a subset of YAML flow style) into a small tree whose nodes keep
 * their line and column, so that an unexpected shape is reported where it
 * is.  Used by `sgctl import aws`.
 *
 * Hostile input is refused early: the file size, the nesting depth and the
 * node count are capped, and YAML-only features (anchors, aliases, tags)
 * are errors, since no JSON document has them.
 */
#ifndef SGD_JSON_TREE_H
#define SGD_JSON_TREE_H

#include <stdbool.h>
#include <stddef.h>

#define JT_MAX_SIZE	(64u << 20)	/* bytes: a very large account fits */
#define JT_MAX_DEPTH	32		/* describe-security-groups needs 6 */
#define JT_MAX_NODES	(4u << 20)	/* values; bounds memory to ~300 MiB */

enum jt_kind { JT_SCALAR, JT_ARRAY, JT_OBJECT };

struct jt_node {
	enum jt_kind kind;
	char *str;		/* JT_SCALAR: the text, NUL-terminated */
	bool quoted;		/* JT_SCALAR: a JSON string, not a number/literal */
	char **keys;		/* JT_OBJECT: n keys, parallel to kids */
	struct jt_node *kids;	/* JT_ARRAY / JT_OBJECT: n children */
	size_t n;
	size_t cap;
	int line;		/* 1-based */
	int col;
};

/* Parse len bytes of JSON.  Returns 0 and fills *root, or -EINVAL with a
 * message "LINE:COL: what" in err (errlen bytes), or -ENOMEM / -E2BIG. */
int jt_parse(const char *buf, size_t len, struct jt_node *root, char *err, size_t errlen);
void jt_free(struct jt_node *n);

/* The value of key in an object, or NULL (also when n is not an object). */
const struct jt_node *jt_get(const struct jt_node *n, const char *key);
/* A scalar as a whole number in [min, max]: 0, or -EINVAL. */
int jt_int(const struct jt_node *n, long min, long max, long *out);

#endif
