/*
 * json_tree.c — JSON into a positioned tree through libyaml's event API.
 * The event API (not yaml_parser_load) lets us stop at the depth cap
 * before libyaml builds anything deep.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "json_tree.h"

struct jt_frame {
	struct jt_node *node;
	char *pending_key;	/* objects: key read, value not yet */
};

struct jt_ctx {
	struct jt_frame stack[JT_MAX_DEPTH + 1];
	int depth;		/* frames in use */
	size_t nodes;
	bool have_root;
	struct jt_node *root;
	char *err;
	size_t errlen;
};

static int jt_fail(struct jt_ctx *c, const yaml_mark_t *m, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int jt_fail(struct jt_ctx *c, const yaml_mark_t *m, int r, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(c->err, c->errlen, "%zu:%zu: ", m->line + 1, m->column + 1);
	if (k < 0 || (size_t)k >= c->errlen)
		return r;
	va_start(ap, fmt);
	vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return r;
}

void jt_free(struct jt_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++) {
		jt_free(&n->kids[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	free(n->kids);
	free(n->keys);
	free(n->str);
	memset(n, 0, sizeof(*n));
}

/* Reserve the next child slot of the innermost container (or the root)
 * and return it zeroed with its position set. */
static int jt_new_node(struct jt_ctx *c, const yaml_event_t *ev, enum jt_kind kind,
		       struct jt_node **out)
{
	struct jt_frame *f;
	struct jt_node *p, *n;

	if (++c->nodes > JT_MAX_NODES)
		return jt_fail(c, &ev->start_mark, -E2BIG, "more than %u values", JT_MAX_NODES);
	if (c->depth == 0) {
		if (c->have_root)
			return jt_fail(c, &ev->start_mark, -EINVAL, "more than one JSON value");
		c->have_root = true;
		n = c->root;
	} else {
		f = &c->stack[c->depth - 1];
		p = f->node;
		if (p->kind == JT_OBJECT && !f->pending_key)
			return jt_fail(c, &ev->start_mark, -EINVAL,
				       "an object key must be a string");
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 4;
			struct jt_node *kids = realloc(p->kids, cap * sizeof(*kids));
			char **keys;

			if (!kids)
				return -ENOMEM;
			p->kids = kids;
			if (p->kind == JT_OBJECT) {
				keys = realloc(p->keys, cap * sizeof(*keys));
				if (!keys)
					return -ENOMEM;
				p->keys = keys;
			}
			p->cap = cap;
		}
		n = &p->kids[p->n];
		if (p->kind == JT_OBJECT) {
			p->keys[p->n] = f->pending_key;
			f->pending_key = NULL;
		}
		p->n++;
	}
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	*out = n;
	return 0;
}

/* An unquoted JSON value: a number (RFC 8259 grammar) or a literal. */
static bool jt_is_literal(const char *v)
{
	const char *p = v;

	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0 || strcmp(v, "null") == 0)
		return true;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static int jt_on_scalar(struct jt_ctx *c, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	struct jt_frame *f = c->depth ? &c->stack[c->depth - 1] : NULL;
	struct jt_node *n;
	size_t i;
	int r;

	if (ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
	    ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
	    ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE)
		return jt_fail(c, &ev->start_mark, -EINVAL, "not JSON: YAML-only string style");
	if (f && f->node->kind == JT_OBJECT && !f->pending_key) {
		if (ev->data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE)
			return jt_fail(c, &ev->start_mark, -EINVAL,
				       "an object key must be a string, not %s", v);
		for (i = 0; i < f->node->n; i++)
			if (strcmp(f->node->keys[i], v) == 0)
				return jt_fail(c, &ev->start_mark, -EINVAL,
					       "duplicate key \"%s\"", v);
		f->pending_key = strdup(v);
		return f->pending_key ? 0 : -ENOMEM;
	}
	if (ev->data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE && !jt_is_literal(v))
		return jt_fail(c, &ev->start_mark, -EINVAL,
			       "not JSON: %s is neither a number, true, false, null "
			       "nor a quoted string", v);
	r = jt_new_node(c, ev, JT_SCALAR, &n);
	if (r < 0)
		return r;
	n->quoted = ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	n->str = strdup(v);
	return n->str ? 0 : -ENOMEM;
}

static int jt_on_open(struct jt_ctx *c, const yaml_event_t *ev, enum jt_kind kind)
{
	struct jt_node *n;
	int r;

	if (c->depth >= JT_MAX_DEPTH)
		return jt_fail(c, &ev->start_mark, -E2BIG,
			       "nested deeper than %d levels", JT_MAX_DEPTH);
	r = jt_new_node(c, ev, kind, &n);
	if (r < 0)
		return r;
	c->stack[c->depth].node = n;
	c->stack[c->depth].pending_key = NULL;
	c->depth++;
	return 0;
}

static int jt_on_event(struct jt_ctx *c, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	case YAML_ALIAS_EVENT:
		return jt_fail(c, &ev->start_mark, -EINVAL, "not JSON: YAML alias");
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor || ev->data.scalar.tag)
			return jt_fail(c, &ev->start_mark, -EINVAL, "not JSON: YAML anchor or tag");
		return jt_on_scalar(c, ev);
	case YAML_SEQUENCE_START_EVENT:
		if (ev->data.sequence_start.anchor || ev->data.sequence_start.tag)
			return jt_fail(c, &ev->start_mark, -EINVAL, "not JSON: YAML anchor or tag");
		return jt_on_open(c, ev, JT_ARRAY);
	case YAML_MAPPING_START_EVENT:
		if (ev->data.mapping_start.anchor || ev->data.mapping_start.tag)
			return jt_fail(c, &ev->start_mark, -EINVAL, "not JSON: YAML anchor or tag");
		return jt_on_open(c, ev, JT_OBJECT);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (c->depth == 0)
			return jt_fail(c, &ev->start_mark, -EINVAL, "unbalanced brackets");
		c->depth--;
		free(c->stack[c->depth].pending_key);
		c->stack[c->depth].pending_key = NULL;
		return 0;
	default:
		return jt_fail(c, &ev->start_mark, -EINVAL, "unexpected YAML event");
	}
}

/* Characters JSON allows raw inside a string but YAML reads differently:
 * NEL, LS and PS are YAML line breaks (folded away in a quoted scalar),
 * DEL, C1 controls and the non-characters are refused by libyaml.  Outside
 * a string they are invalid JSON either way, so rewriting every one as its
 * \uXXXX escape changes nothing a JSON parser would accept.  Returns the
 * length of the sequence at s when it must be rewritten (cp set), else 0. */
static size_t jt_raw_special(const unsigned char *s, size_t left, unsigned *cp)
{
	if (s[0] == 0x7F) {
		*cp = 0x7F;
		return 1;
	}
	if (left >= 2 && s[0] == 0xC2 && s[1] >= 0x80 && s[1] <= 0x9F) {
		*cp = s[1];
		return 2;
	}
	if (left >= 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9)) {
		*cp = 0x2000u | (s[2] - 0x80u);
		return 3;
	}
	if (left >= 3 && s[0] == 0xEF && ((s[1] == 0xBB && s[2] == 0xBF) ||
					  (s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF)))) {
		*cp = 0xF000u | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
		return 3;
	}
	return 0;
}

/* A copy of buf with those characters escaped, or NULL in *out when there
 * are none (a BOM at the very start stays: it marks the encoding). */
static int jt_escape_raw(const char *buf, size_t len, char **out, size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0, n = 0, k, extra = 0;
	unsigned cp;
	char *d;

	*out = NULL;
	if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
		i = 3;
	for (k = i; k < len; k++)
		if (jt_raw_special(s + k, len - k, &cp))
			extra += 6;
	if (!extra)
		return 0;
	d = malloc(len + extra + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d, buf, i);
	n = i;
	while (i < len) {
		k = jt_raw_special(s + i, len - i, &cp);
		if (k) {
			n += (size_t)sprintf(d + n, "\\u%04X", cp);
			i += k;
		} else {
			d[n++] = buf[i++];
		}
	}
	d[n] = '\0';
	*out = d;
	*out_len = n;
	return 0;
}

int jt_parse(const char *buf, size_t len, struct jt_node *root, char *err, size_t errlen)
{
	struct jt_ctx c = { .root = root, .err = err, .errlen = errlen };
	yaml_parser_t p;
	yaml_event_t ev;
	bool done = false;
	char *copy = NULL;
	size_t copy_len = 0;
	int r = 0;

	memset(root, 0, sizeof(*root));
	if (errlen)
		err[0] = '\0';
	if (len > JT_MAX_SIZE) {
		snprintf(err, errlen, "larger than %u bytes", JT_MAX_SIZE);
		return -E2BIG;
	}
	r = jt_escape_raw(buf, len, &copy, &copy_len);
	if (r < 0)
		return r;
	if (copy) {
		buf = copy;
		len = copy_len;
	}
	if (!yaml_parser_initialize(&p)) {
		free(copy);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	/* JSON is UTF-8 (RFC 8259); libyaml would also guess UTF-16 from a BOM */
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (!done && r == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			r = jt_fail(&c, &p.problem_mark, -EINVAL, "not valid JSON: %s",
				    p.problem ? p.problem : "parse error");
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		r = jt_on_event(&c, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	free(copy);
	while (c.depth > 0) {
		c.depth--;
		free(c.stack[c.depth].pending_key);
	}
	if (r == 0 && !c.have_root) {
		snprintf(err, errlen, "1:1: empty document");
		r = -EINVAL;
	}
	if (r < 0)
		jt_free(root);
	return r;
}

const struct jt_node *jt_get(const struct jt_node *n, const char *key)
{
	size_t i;

	if (!n || n->kind != JT_OBJECT)
		return NULL;
	for (i = 0; i < n->n; i++)
		if (strcmp(n->keys[i], key) == 0)
			return &n->kids[i];
	return NULL;
}

int jt_int(const struct jt_node *n, long min, long max, long *out)
{
	char *end;
	long v;

	if (!n || n->kind != JT_SCALAR || n->str[0] == '\0')
		return -EINVAL;
	errno = 0;
	v = strtol(n->str, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
