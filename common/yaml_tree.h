/*
 * yaml_tree.h — libyaml events -> a small node tree that keeps positions.
 *
 * The loader never sees libyaml: it walks these nodes.  Hostile input is
 * refused here, before any tree is built from it: files over
 * SG_MAX_FILE_SIZE (checked with fstat before reading), bytes that are
 * not UTF-8, nesting deeper than SG_MAX_DEPTH, anchors and aliases.
 */
#ifndef SGD_YAML_TREE_H
#define SGD_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include "diag.h"

enum yt_kind { YT_SCALAR, YT_SEQ, YT_MAP };

struct yt_pair;

struct yt_node {
	enum yt_kind kind;
	struct sg_pos pos;	/* 1-based; file is the caller's string */
	/* YT_SCALAR */
	char *str;		/* NUL-terminated (embedded NULs are refused) */
	bool plain;		/* unquoted and not a block scalar */
	/* YT_SEQ */
	struct yt_node **items;
	size_t n_items;
	bool streamed;		/* items went to a yt_hook one by one, so
				 * items is empty (see yt_parse_hooked) */
	/* YT_MAP: keys are scalars, unique (duplicates are reported and
	 * dropped) */
	struct yt_pair *pairs;
	size_t n_pairs;
};

struct yt_pair {
	struct yt_node *key;
	struct yt_node *val;
};

struct yt_doc {
	struct yt_node *root;	/* NULL for an empty document */
	struct sg_pos pos;	/* where the document starts */
};

struct yt_stream {
	struct yt_doc *docs;
	size_t n_docs;
};

/* Read `path` (relative to dirfd, or absolute) into a malloc'd buffer.
 * `file` is the name used in diagnostics.  Refuses non-regular files and
 * files over SG_MAX_FILE_SIZE (before reading).  Returns 0, or -errno
 * after adding a diagnostic. */
int yt_read_file(int dirfd, const char *path, const char *file,
		 char **buf, size_t *len, struct sg_diags *d);

/* Parse buf into documents.  Returns 0 (duplicate keys are reported but
 * not fatal), -EINVAL after reporting a fatal problem (syntax, encoding,
 * depth, anchor/alias), or -ENOMEM.  On error *out is empty. */
int yt_parse(const char *buf, size_t len, const char *file,
	     struct yt_stream *out, struct sg_diags *d);
void yt_stream_free(struct yt_stream *s);

/* Streaming for big lists: a 25,000-rule file is about 225,000 nodes,
 * tens of megabytes as a tree, while the model needs a fraction of that.
 * For each key of the first document's top mapping that want() accepts
 * (the first time the key appears in that mapping), a list value is not
 * kept: every item is built, passed to item() and freed at once, and the
 * list node is left empty with streamed set.  A value that is not a list,
 * and a repeated key, are built as usual. */
struct yt_hook {
	bool (*want)(void *ctx, const char *key);
	/* index is 0-based; 0, or -errno to stop the parse (returned by
	 * yt_parse_hooked: -ENOMEM, or -EINVAL after a diagnostic) */
	int (*item)(void *ctx, const char *key, size_t index, const struct yt_node *item);
	void *ctx;
};

/* yt_parse with a hook (NULL: same as yt_parse). */
int yt_parse_hooked(const char *buf, size_t len, const char *file,
		    const struct yt_hook *hook, struct yt_stream *out, struct sg_diags *d);

/* Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF) and
 * no NUL bytes.  Returns the offset of the first bad byte, or len. */
size_t yt_utf8_check(const unsigned char *s, size_t len);

/* A plain empty scalar, "~" or "null": a key written without a value. */
bool yt_is_null(const struct yt_node *n);
/* "a string", "a list", "a mapping" or "nothing", for type errors. */
const char *yt_describe(const struct yt_node *n);

#endif
