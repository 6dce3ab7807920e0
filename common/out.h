/*
 * out.h — text building for every renderer: a growable string, a JSON
 * writer with correct string escaping, and a plain-text table.
 *
 * Errors are sticky: after an allocation failure every further call is a
 * no-op and out_finish() returns -ENOMEM, so renderers can write straight
 * through and check once at the end.
 */
#ifndef SGD_OUT_H
#define SGD_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct out_buf {
	char *s;
	size_t n;
	size_t cap;
	int err;		/* 0 or -ENOMEM, sticky */
};

void out_init(struct out_buf *b);
void out_free(struct out_buf *b);
void out_putc(struct out_buf *b, char c);
void out_puts(struct out_buf *b, const char *s);
void out_printf(struct out_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hand the text over: 0 and *res = the malloc'd string (never NULL), or
 * -ENOMEM (then *res = NULL).  The buffer is empty afterwards either way. */
int out_finish(struct out_buf *b, char **res);

/* Text for a terminal or a log: control characters (C0, DEL, C1) are
 * written as \xNN, so a name, a description or a process name can
 * neither move the cursor, ring, retitle a terminal nor start a forged
 * line.  out_puts_esc escapes them all (one field of a line);
 * out_esc_dup the same into a malloc'd string (NULL: no memory);
 * out_write_text keeps newline and tab (a whole rendered text, at the
 * edge where sgctl writes it).  JSON needs none of this: json_escape
 * writes them as JSON requires. */
void out_puts_esc(struct out_buf *b, const char *s);
char *out_esc_dup(const char *s);
/* 0, -ENOMEM or -EIO. */
int out_write_text(FILE *f, const char *s, size_t n);

/* JSON writer.  Commas and key/value separators are placed automatically;
 * nesting deeper than JSON_MAX_DEPTH sets b->err to -EOVERFLOW. */
#define JSON_MAX_DEPTH 32
struct json_w {
	struct out_buf *b;
	int depth;
	bool first[JSON_MAX_DEPTH];
	bool after_key;
};

void json_init(struct json_w *j, struct out_buf *b);
void json_obj_begin(struct json_w *j);
void json_obj_end(struct json_w *j);
void json_arr_begin(struct json_w *j);
void json_arr_end(struct json_w *j);
void json_key(struct json_w *j, const char *key);
/* s == NULL writes null. */
void json_str(struct json_w *j, const char *s);
void json_int(struct json_w *j, long long v);
void json_uint(struct json_w *j, uint64_t v);
void json_bool(struct json_w *j, bool v);
void json_null(struct json_w *j);
/* key + value shorthands */
void json_kstr(struct json_w *j, const char *key, const char *s);
void json_kint(struct json_w *j, const char *key, long long v);
void json_kuint(struct json_w *j, const char *key, uint64_t v);
void json_kbool(struct json_w *j, const char *key, bool v);
void json_knull(struct json_w *j, const char *key);
/* Append s as a quoted, escaped JSON string (no separators). */
void json_escape(struct out_buf *b, const char *s);
/* Print the error document every sgctl command gives with --json,
 * {"ok":false,"exit_code":code,"error":msg}, as one line on f. */
void out_print_json_error(FILE *f, int code, const char *msg);

/* Plain-text table: columns padded to the widest cell (by UTF-8 code
 * points, so descriptions in any language line up), two spaces apart,
 * the last column unpadded. */
struct out_table {
	size_t ncols;
	char **cells;		/* row-major, header row first */
	size_t nrows;
	size_t cap;
	int err;
};

int table_init(struct out_table *t, size_t ncols, const char *const *headers);
/* Copies the ncols strings; NULL cells print as "-". */
int table_add(struct out_table *t, const char *const *row);
void table_render(const struct out_table *t, struct out_buf *b);
void table_free(struct out_table *t);

#endif
