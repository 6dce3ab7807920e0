/*
 * out.c — growable strings, JSON writer and text tables for renderers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

void out_init(struct out_buf *b)
{
	b->s = NULL;
	b->n = 0;
	b->cap = 0;
	b->err = 0;
}

void out_free(struct out_buf *b)
{
	free(b->s);
	out_init(b);
}

static int out_reserve(struct out_buf *b, size_t more)
{
	size_t want, cap;
	char *s;

	if (b->err)
		return b->err;
	want = b->n + more + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	s = realloc(b->s, cap);
	if (!s) {
		b->err = -ENOMEM;
		return b->err;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

static void out_write(struct out_buf *b, const char *s, size_t len)
{
	if (out_reserve(b, len) < 0)
		return;
	memcpy(b->s + b->n, s, len);
	b->n += len;
	b->s[b->n] = '\0';
}

void out_putc(struct out_buf *b, char c)
{
	out_write(b, &c, 1);
}

void out_puts(struct out_buf *b, const char *s)
{
	out_write(b, s, strlen(s));
}

void out_printf(struct out_buf *b, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (b->err)
		return;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0) {
		b->err = -EINVAL;
		return;
	}
	if (out_reserve(b, (size_t)len) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->n, (size_t)len + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)len;
}

int out_finish(struct out_buf *b, char **res)
{
	int err;

	*res = NULL;
	/* an empty document is still a string */
	if (!b->err && out_reserve(b, 0) == 0 && b->s)
		b->s[b->n] = '\0';
	err = b->err;
	if (err) {
		out_free(b);
		return err;
	}
	*res = b->s;
	out_init(b);
	return 0;
}

/* ---- JSON ---- */

void json_init(struct json_w *j, struct out_buf *b)
{
	j->b = b;
	j->depth = 0;
	j->first[0] = true;
	j->after_key = false;
}

/* Called before every value and key: a comma unless first in its
 * container, nothing right after a key. */
static void json_sep(struct json_w *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		out_putc(j->b, ',');
	j->first[j->depth] = false;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0 when there is none. */
static size_t json_utf8_len(const unsigned char *p)
{
	size_t n, i;
	unsigned cp;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	cp = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void json_escape(struct out_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	out_putc(b, '"');
	for (; *p; p++) {
		if (*p >= 0x80) {
			/* JSON is UTF-8 (RFC 8259): a byte that does not start
			 * a well-formed sequence (a request or file name from
			 * a hostile client) becomes U+FFFD, not invalid JSON */
			size_t n = json_utf8_len(p);

			if (n == 0) {
				out_puts(b, "\\ufffd");
				continue;
			}
			out_printf(b, "%.*s", (int)n, (const char *)p);
			p += n - 1;
			continue;
		}
		switch (*p) {
		case '"': out_puts(b, "\\\""); break;
		case '\\': out_puts(b, "\\\\"); break;
		case '\b': out_puts(b, "\\b"); break;
		case '\f': out_puts(b, "\\f"); break;
		case '\n': out_puts(b, "\\n"); break;
		case '\r': out_puts(b, "\\r"); break;
		case '\t': out_puts(b, "\\t"); break;
		default:
			/* control characters and DEL must not appear raw */
			if (*p < 0x20 || *p == 0x7f)
				out_printf(b, "\\u%04x", *p);
			else
				out_putc(b, (char)*p);
		}
	}
	out_putc(b, '"');
}

static void json_open(struct json_w *j, char c)
{
	json_sep(j);
	out_putc(j->b, c);
	if (j->depth + 1 >= JSON_MAX_DEPTH) {
		if (!j->b->err)
			j->b->err = -EOVERFLOW;
		return;
	}
	j->depth++;
	j->first[j->depth] = true;
}

static void json_close(struct json_w *j, char c)
{
	out_putc(j->b, c);
	if (j->depth > 0)
		j->depth--;
	j->after_key = false;
}

void json_obj_begin(struct json_w *j) { json_open(j, '{'); }
void json_obj_end(struct json_w *j) { json_close(j, '}'); }
void json_arr_begin(struct json_w *j) { json_open(j, '['); }
void json_arr_end(struct json_w *j) { json_close(j, ']'); }

void json_key(struct json_w *j, const char *key)
{
	json_sep(j);
	json_escape(j->b, key);
	out_putc(j->b, ':');
	j->after_key = true;
}

void json_str(struct json_w *j, const char *s)
{
	json_sep(j);
	if (s)
		json_escape(j->b, s);
	else
		out_puts(j->b, "null");
}

void json_int(struct json_w *j, long long v)
{
	json_sep(j);
	out_printf(j->b, "%lld", v);
}

void json_uint(struct json_w *j, uint64_t v)
{
	json_sep(j);
	out_printf(j->b, "%llu", (unsigned long long)v);
}

void json_bool(struct json_w *j, bool v)
{
	json_sep(j);
	out_puts(j->b, v ? "true" : "false");
}

void json_null(struct json_w *j)
{
	json_sep(j);
	out_puts(j->b, "null");
}

void json_kstr(struct json_w *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_kint(struct json_w *j, const char *key, long long v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kuint(struct json_w *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_kbool(struct json_w *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_knull(struct json_w *j, const char *key)
{
	json_key(j, key);
	json_null(j);
}

/* ---- tables ---- */

int table_init(struct out_table *t, size_t ncols, const char *const *headers)
{
	t->ncols = ncols;
	t->cells = NULL;
	t->nrows = 0;
	t->cap = 0;
	t->err = 0;
	return table_add(t, headers);
}

/* Is p (n bytes left) a control character: C0 (other than keep), DEL,
 * or a C1 control encoded in UTF-8 (U+0080..U+009F, C2 80..C2 9F)?
 * Returns its length (1 or 2), 0 when it is not one. */
static size_t out_ctrl_len(const unsigned char *p, size_t n, const char *keep)
{
	if ((*p < 0x20 && !(keep && *p && strchr(keep, *p))) || *p == 0x7f)
		return 1;
	if (*p == 0xc2 && n > 1 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	return 0;
}

/* s with every control character but those in keep as \xNN (a C1
 * control's two bytes each), into b. */
static void out_esc(struct out_buf *b, const char *s, size_t n, const char *keep)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const unsigned char *run = p;

	while (p < end) {
		size_t k = out_ctrl_len(p, (size_t)(end - p), keep);

		if (!k) {
			p++;
			continue;
		}
		if (p > run)
			out_printf(b, "%.*s", (int)(p - run), (const char *)run);
		for (size_t i = 0; i < k; i++)
			out_printf(b, "\\x%02x", p[i]);
		p += k;
		run = p;
	}
	if (p > run)
		out_printf(b, "%.*s", (int)(p - run), (const char *)run);
}

void out_puts_esc(struct out_buf *b, const char *s)
{
	out_esc(b, s, strlen(s), NULL);
}

char *out_esc_dup(const char *s)
{
	struct out_buf b;
	char *r;

	out_init(&b);
	out_esc(&b, s, strlen(s), NULL);
	return out_finish(&b, &r) < 0 ? NULL : r;
}

int out_write_text(FILE *f, const char *s, size_t n)
{
	struct out_buf b;
	char *r;
	size_t len;
	int rc;

	out_init(&b);
	out_esc(&b, s, n, "\n\t");
	rc = out_finish(&b, &r);
	if (rc < 0)
		return rc;
	len = strlen(r);
	rc = fwrite(r, 1, len, f) == len ? 0 : -EIO;
	free(r);
	return rc;
}

int table_add(struct out_table *t, const char *const *row)
{
	size_t i;

	if (t->err)
		return t->err;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));

		if (!c)
			return t->err = -ENOMEM;
		t->cells = c;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++) {
		/* a cell is one line: no control character is written raw */
		char *s = out_esc_dup(row[i] ? row[i] : "-");

		if (!s) {
			while (i-- > 0)
				free(t->cells[t->nrows * t->ncols + i]);
			return t->err = -ENOMEM;
		}
		t->cells[t->nrows * t->ncols + i] = s;
	}
	t->nrows++;
	return 0;
}

/* Columns a code point takes in a terminal: 2 for East Asian wide and
 * full-width ranges (Hangul, CJK, full-width forms), else 1. */
static size_t cp_width(uint32_t cp)
{
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

/* Display width of UTF-8 text; bytes that are not valid UTF-8 count 1. */
static size_t utf8_width(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t w = 0;

	while (*s) {
		uint32_t cp = *s;
		int more = 0, i;

		if (cp >= 0xf0 && cp < 0xf8) {
			more = 3;
			cp &= 0x07;
		} else if (cp >= 0xe0) {
			more = 2;
			cp &= 0x0f;
		} else if (cp >= 0xc0) {
			more = 1;
			cp &= 0x1f;
		}
		for (i = 1; i <= more; i++) {
			if ((s[i] & 0xc0) != 0x80)
				break;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if (i <= more) {	/* truncated sequence: one byte, one column */
			w++;
			s++;
			continue;
		}
		w += more ? cp_width(cp) : 1;
		s += more + 1;
	}
	return w;
}

void table_render(const struct out_table *t, struct out_buf *b)
{
	size_t *width, r, c;

	if (t->err) {
		if (!b->err)
			b->err = t->err;
		return;
	}
	width = calloc(t->ncols ? t->ncols : 1, sizeof(*width));
	if (!width) {
		b->err = -ENOMEM;
		return;
	}
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t w = utf8_width(t->cells[r * t->ncols + c]);

			if (w > width[c])
				width[c] = w;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];

			out_puts(b, cell);
			if (c + 1 < t->ncols)
				out_printf(b, "%*s", (int)(width[c] - utf8_width(cell) + 2), "");
		}
		out_putc(b, '\n');
	}
	free(width);
}

void table_free(struct out_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

void out_print_json_error(FILE *f, int code, const char *msg)
{
	struct out_buf b;
	struct json_w j;
	char *s;

	out_init(&b);
	json_init(&j, &b);
	json_obj_begin(&j);
	json_kbool(&j, "ok", false);
	json_kint(&j, "exit_code", code);
	json_kstr(&j, "error", msg);
	json_obj_end(&j);
	out_putc(&b, '\n');
	if (out_finish(&b, &s) == 0) {
		fputs(s, f);
		free(s);
	}
	fflush(f);
}
