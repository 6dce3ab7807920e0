/* yaml_tree.c — libyaml events -> position-keeping node tree; see yaml_tree.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "safeopen.h"
#include "yaml_tree.h"

struct yt_ctx {
	yaml_parser_t parser;
	const char *file;
	const char *buf;
	size_t len;
	size_t n_nodes;
	struct sg_diags *d;
	const struct yt_hook *hook;	/* may be NULL */
	size_t doc_index;		/* of the document being built */
	/* Set between a wanted key and its value: the key whose list the
	 * next node streams (yt_build takes it, whatever the node is). */
	const char *stream_key;
};

/* Top-level keys whose lists a map may stream: few are wanted (ingress,
 * egress), so a small bound keeps "first time only" cheap to check. */
#define YT_MAX_STREAMED_KEYS 8

int yt_read_file(int dirfd, const char *path, const char *file,
		 char **buf, size_t *len, struct sg_diags *d)
{
	struct stat st;
	char *b = NULL, why[160];
	size_t n = 0;
	int fd, r;

	*buf = NULL;
	*len = 0;
	/* O_NOFOLLOW, O_NONBLOCK, owner and mode rules: safeopen.h */
	fd = safeopen_path(dirfd, path, (off_t)SG_MAX_FILE_SIZE, &st, why, sizeof(why));
	if (fd < 0) {
		r = fd;
		diags_add_file(d, file, "%s", why);
		return r;
	}
	/* sized from fstat; grows (up to one byte past the cap, to notice a
	 * file that grew past it meanwhile) if the file grows while read */
	size_t cap = (size_t)st.st_size + 1;

	b = malloc(cap + 1);
	if (!b) {
		r = -ENOMEM;
		diags_add_file(d, file, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t k;

		if (n == cap) {
			size_t ncap = cap * 2 > SG_MAX_FILE_SIZE + 1 ? SG_MAX_FILE_SIZE + 1 : cap * 2;
			char *nb = ncap > cap ? realloc(b, ncap + 1) : NULL;

			if (ncap == cap) {
				r = -EFBIG;
				diags_add_file(d, file, "file is over the limit of %u bytes",
					       SG_MAX_FILE_SIZE);
				goto out;
			}
			if (!nb) {
				r = -ENOMEM;
				diags_add_file(d, file, "out of memory");
				goto out;
			}
			b = nb;
			cap = ncap;
		}
		k = read(fd, b + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			diags_add_file(d, file, "cannot read: %s", strerror(-r));
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > SG_MAX_FILE_SIZE) {
			r = -EFBIG;
			diags_add_file(d, file, "file is over the limit of %u bytes",
				       SG_MAX_FILE_SIZE);
			goto out;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	r = 0;
out:
	free(b);
	close(fd);
	return r;
}

/* Line and column (1-based, in characters) of byte offset off. */
static void yt_offset_pos(const char *buf, size_t off, const char *file, struct sg_pos *pos)
{
	pos->file = file;
	pos->line = 1;
	pos->col = 1;
	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n') {
			pos->line++;
			pos->col = 1;
		} else if ((c & 0xc0) != 0x80) {
			pos->col++;
		}
	}
}

size_t yt_utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c;
		size_t need;
		uint32_t cp;
		uint64_t w;

		/* fast path: 8 ASCII bytes, none of them NUL */
		if (len - i >= 8) {
			memcpy(&w, s + i, 8);
			if (!(w & 0x8080808080808080ull) &&
			    !((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)) {
				i += 8;
				continue;
			}
		}
		c = s[i];
		if (c == 0)
			return i;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (len - i <= need)
			return i;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return i;
		i += need + 1;
	}
	return len;
}

static void yt_mark_pos(const struct yt_ctx *c, const yaml_mark_t *m, struct sg_pos *pos)
{
	pos->file = c->file;
	pos->line = (int)m->line + 1;
	pos->col = (int)m->column + 1;
}

static void yt_report_parser_error(struct yt_ctx *c)
{
	const yaml_parser_t *p = &c->parser;
	const char *problem = p->problem ? p->problem : "malformed YAML";
	struct sg_pos pos;

	if (p->error == YAML_MEMORY_ERROR) {
		diags_add_file(c->d, c->file, "out of memory while parsing");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		yt_offset_pos(c->buf, p->problem_offset < c->len ? p->problem_offset : c->len,
			      c->file, &pos);
		diags_add(c->d, &pos, "YAML syntax error: %s", problem);
		return;
	}
	yt_mark_pos(c, &p->problem_mark, &pos);
	if (p->problem_mark.index < c->len && c->buf[p->problem_mark.index] == '\t')
		diags_add(c->d, &pos, "YAML syntax error: a tab character; YAML indents "
			  "with spaces only");
	else if (p->context)
		diags_add(c->d, &pos, "YAML syntax error: %s (%s at line %zu, column %zu)",
			  problem, p->context, p->context_mark.line + 1,
			  p->context_mark.column + 1);
	else
		diags_add(c->d, &pos, "YAML syntax error: %s", problem);
}

static int yt_next(struct yt_ctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev)) {
		yt_report_parser_error(c);
		return c->parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	}
	return 0;
}

static void yt_node_free(struct yt_node *n)
{
	if (!n)
		return;
	free(n->str);
	for (size_t i = 0; i < n->n_items; i++)
		yt_node_free(n->items[i]);
	free(n->items);
	for (size_t i = 0; i < n->n_pairs; i++) {
		yt_node_free(n->pairs[i].key);
		yt_node_free(n->pairs[i].val);
	}
	free(n->pairs);
	free(n);
}

static int yt_refuse_anchor(struct yt_ctx *c, const yaml_char_t *anchor, const struct sg_pos *pos)
{
	if (!anchor)
		return 0;
	diags_add(c->d, pos, "anchors (&%s) are not allowed in sgd configuration; "
		  "write the value out", (const char *)anchor);
	return -EINVAL;
}

static int yt_grow(void **v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 4;
	void *nv = realloc(*v, ncap * size);

	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int yt_key_cmp(const void *a, const void *b)
{
	const struct yt_pair *const *x = a, *const *y = b;
	int r = strcmp((*x)->key->str, (*y)->key->str);

	if (r)
		return r;
	return *x < *y ? -1 : *x > *y;
}

/* Report every repeated key at its own position and keep the first one.
 * Sorting a pointer array keeps this O(n log n) even for huge maps. */
static int yt_map_dedupe(struct yt_ctx *c, struct yt_node *m)
{
	struct yt_pair **idx;
	size_t k = 0;

	if (m->n_pairs < 2)
		return 0;
	idx = malloc(m->n_pairs * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_pairs; i++)
		idx[i] = &m->pairs[i];
	qsort(idx, m->n_pairs, sizeof(*idx), yt_key_cmp);
	for (size_t i = 1; i < m->n_pairs; i++) {
		size_t first = i - 1;

		while (i < m->n_pairs && strcmp(idx[i]->key->str, idx[first]->key->str) == 0) {
			struct yt_node *key = idx[i]->key;

			diags_add(c->d, &key->pos, "duplicate key '%s' (first at line %d, column %d)",
				  key->str, idx[first]->key->pos.line, idx[first]->key->pos.col);
			yt_node_free(idx[i]->val);
			yt_node_free(key);
			idx[i]->key = NULL;
			idx[i]->val = NULL;
			i++;
		}
	}
	free(idx);
	for (size_t i = 0; i < m->n_pairs; i++)
		if (m->pairs[i].key)
			m->pairs[k++] = m->pairs[i];
	m->n_pairs = k;
	return 0;
}

static int yt_build(struct yt_ctx *c, yaml_event_t *ev, int depth, struct yt_node **out);

/* Whether the value of key (in the first document's top mapping) is to be
 * streamed: the hook wants it and it was not already seen in this map. */
static bool yt_want_stream(struct yt_ctx *c, const char *key, const char **seen,
			   size_t *n_seen)
{
	if (!c->hook || c->doc_index != 0 || !c->hook->want(c->hook->ctx, key))
		return false;
	for (size_t i = 0; i < *n_seen; i++)
		if (strcmp(seen[i], key) == 0)
			return false;	/* a duplicate: built, reported, dropped */
	if (*n_seen == YT_MAX_STREAMED_KEYS)
		return false;
	seen[(*n_seen)++] = key;
	return true;
}

/* stream_key: for a list, hand each item to the hook instead of keeping it. */
static int yt_build_children(struct yt_ctx *c, struct yt_node *n, int depth,
			     const char *stream_key)
{
	yaml_event_type_t end = n->kind == YT_SEQ ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;
	size_t cap = 0, n_streamed = 0, n_seen = 0;
	/* key strings stay valid: their nodes live in n->pairs until dedupe */
	const char *seen[YT_MAX_STREAMED_KEYS];
	struct yt_node *key = NULL;
	int r;

	if (n->kind == YT_SEQ && stream_key)
		n->streamed = true;

	for (;;) {
		yaml_event_t ev;
		struct yt_node *child;

		r = yt_next(c, &ev);
		if (r < 0)
			goto fail;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			break;
		}
		r = yt_build(c, &ev, depth + 1, &child);
		if (r < 0)
			goto fail;
		if (n->kind == YT_SEQ && stream_key) {
			r = c->hook->item(c->hook->ctx, stream_key, n_streamed++, child);
			yt_node_free(child);
			if (r < 0)
				goto fail;
		} else if (n->kind == YT_SEQ) {
			r = yt_grow((void **)&n->items, n->n_items, &cap, sizeof(*n->items));
			if (r < 0) {
				yt_node_free(child);
				goto fail;
			}
			n->items[n->n_items++] = child;
		} else if (!key) {
			if (child->kind != YT_SCALAR) {
				diags_add(c->d, &child->pos, "a mapping key must be a plain "
					  "string, not %s", yt_describe(child));
				yt_node_free(child);
				r = -EINVAL;
				goto fail;
			}
			key = child;
			if (depth == 1 && yt_want_stream(c, key->str, seen, &n_seen))
				c->stream_key = key->str;
		} else {
			r = yt_grow((void **)&n->pairs, n->n_pairs, &cap, sizeof(*n->pairs));
			if (r < 0) {
				yt_node_free(child);
				goto fail;
			}
			n->pairs[n->n_pairs].key = key;
			n->pairs[n->n_pairs++].val = child;
			key = NULL;
		}
	}
	if (n->kind == YT_MAP)
		return yt_map_dedupe(c, n);
	return 0;
fail:
	yt_node_free(key);
	return r;
}

/* Build the node that starts with *ev (consumed). */
static int yt_build(struct yt_ctx *c, yaml_event_t *ev, int depth, struct yt_node **out)
{
	const char *stream_key = c->stream_key;
	struct yt_node *n;
	struct sg_pos pos;
	int r = 0;

	*out = NULL;
	c->stream_key = NULL;	/* only this node may stream */
	yt_mark_pos(c, &ev->start_mark, &pos);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		diags_add(c->d, &pos, "aliases (*%s) are not allowed in sgd configuration; "
			  "write the value out", (const char *)ev->data.alias.anchor);
		r = -EINVAL;
		break;
	case YAML_SCALAR_EVENT:
		r = yt_refuse_anchor(c, ev->data.scalar.anchor, &pos);
		if (r == 0 && strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length) {
			diags_add(c->d, &pos, "a value contains a NUL character");
			r = -EINVAL;
		}
		break;
	case YAML_SEQUENCE_START_EVENT:
		r = yt_refuse_anchor(c, ev->data.sequence_start.anchor, &pos);
		break;
	case YAML_MAPPING_START_EVENT:
		r = yt_refuse_anchor(c, ev->data.mapping_start.anchor, &pos);
		break;
	default:
		diags_add(c->d, &pos, "YAML syntax error: unexpected event");
		r = -EINVAL;
		break;
	}
	if (r == 0 && ev->type != YAML_SCALAR_EVENT && depth > SG_MAX_DEPTH) {
		diags_add(c->d, &pos, "nesting is deeper than %d levels", SG_MAX_DEPTH);
		r = -EINVAL;
	}
	if (r == 0 && ++c->n_nodes > SG_MAX_NODES) {
		diags_add(c->d, &pos, "more than %d values in one file", SG_MAX_NODES);
		r = -EINVAL;
	}
	if (r < 0) {
		yaml_event_delete(ev);
		return r;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		yaml_event_delete(ev);
		return -ENOMEM;
	}
	n->pos = pos;
	if (ev->type == YAML_SCALAR_EVENT) {
		n->kind = YT_SCALAR;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->str = strdup((const char *)ev->data.scalar.value);
		yaml_event_delete(ev);
		if (!n->str) {
			free(n);
			return -ENOMEM;
		}
		*out = n;
		return 0;
	}
	n->kind = ev->type == YAML_SEQUENCE_START_EVENT ? YT_SEQ : YT_MAP;
	yaml_event_delete(ev);
	r = yt_build_children(c, n, depth,
			      n->kind == YT_SEQ ? stream_key : NULL);
	if (r < 0) {
		yt_node_free(n);
		return r;
	}
	*out = n;
	return 0;
}

void yt_stream_free(struct yt_stream *s)
{
	for (size_t i = 0; i < s->n_docs; i++)
		yt_node_free(s->docs[i].root);
	free(s->docs);
	memset(s, 0, sizeof(*s));
}

static int yt_parse_docs(struct yt_ctx *c, struct yt_stream *out)
{
	size_t cap = 0;
	yaml_event_t ev;
	int r;

	r = yt_next(c, &ev);	/* STREAM-START */
	if (r < 0)
		return r;
	yaml_event_delete(&ev);
	for (;;) {
		struct yt_doc doc = { 0 };

		r = yt_next(c, &ev);
		if (r < 0)
			return r;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		yt_mark_pos(c, &ev.start_mark, &doc.pos);
		yaml_event_delete(&ev);	/* DOCUMENT-START */
		r = yt_next(c, &ev);
		if (r < 0)
			return r;
		c->doc_index = out->n_docs;
		r = yt_build(c, &ev, 1, &doc.root);
		if (r < 0)
			return r;
		if (doc.root->kind == YT_SCALAR && yt_is_null(doc.root)) {
			yt_node_free(doc.root);
			doc.root = NULL;
		}
		r = yt_grow((void **)&out->docs, out->n_docs, &cap, sizeof(*out->docs));
		if (r < 0) {
			yt_node_free(doc.root);
			return r;
		}
		out->docs[out->n_docs++] = doc;
		r = yt_next(c, &ev);	/* DOCUMENT-END */
		if (r < 0)
			return r;
		yaml_event_delete(&ev);
	}
}

int yt_parse(const char *buf, size_t len, const char *file,
	     struct yt_stream *out, struct sg_diags *d)
{
	return yt_parse_hooked(buf, len, file, NULL, out, d);
}

int yt_parse_hooked(const char *buf, size_t len, const char *file,
		    const struct yt_hook *hook, struct yt_stream *out, struct sg_diags *d)
{
	struct yt_ctx c = { .file = file, .buf = buf, .len = len, .d = d, .hook = hook };
	size_t bad;
	int r;

	memset(out, 0, sizeof(*out));
	bad = yt_utf8_check((const unsigned char *)buf, len);
	if (bad < len) {
		struct sg_pos pos;

		yt_offset_pos(buf, bad, file, &pos);
		if (buf[bad] == '\0')
			diags_add(d, &pos, "file contains a NUL byte; sgd configuration is UTF-8 text");
		else
			diags_add(d, &pos, "invalid UTF-8 byte 0x%02x; sgd configuration must be UTF-8",
				  (unsigned char)buf[bad]);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&c.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING);
	r = yt_parse_docs(&c, out);
	yaml_parser_delete(&c.parser);
	if (r < 0)
		yt_stream_free(out);
	return r;
}

bool yt_is_null(const struct yt_node *n)
{
	return n->kind == YT_SCALAR && n->plain &&
	       (n->str[0] == '\0' || strcmp(n->str, "~") == 0 ||
		strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
		strcmp(n->str, "NULL") == 0);
}

const char *yt_describe(const struct yt_node *n)
{
	if (yt_is_null(n))
		return "nothing";
	switch (n->kind) {
	case YT_SCALAR:
		return "a scalar";
	case YT_SEQ:
		return "a list";
	case YT_MAP:
		return "a mapping";
	}
	return "?";
}
