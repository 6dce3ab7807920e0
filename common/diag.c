/* diag.c — collect positioned diagnostics; see diag.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void diags_init(struct sg_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void diags_free(struct sg_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* Messages quote user text (names, keys, values): a control character in
 * it must not forge a second line in an error list or a log, so it is
 * written as \xNN.  Returns a new string or NULL. */
static char *diag_escape(const char *s)
{
	size_t n = 0;
	const unsigned char *p;
	char *r, *o;

	for (p = (const unsigned char *)s; *p; p++)
		n += (*p < 0x20 || *p == 0x7f) ? 4 : 1;
	r = malloc(n + 1);
	if (!r)
		return NULL;
	for (p = (const unsigned char *)s, o = r; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += sprintf(o, "\\x%02x", *p);
		else
			*o++ = (char)*p;
	}
	*o = 0;
	return r;
}

__attribute__((format(printf, 5, 0)))
static void diags_vadd(struct sg_diags *d, const char *file, int line, int col,
		       const char *fmt, va_list ap)
{
	struct sg_diag e = { .line = line, .col = col };
	char *raw;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct sg_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return;	/* the earlier entries still reach the user */
		d->v = v;
		d->cap = cap;
	}
	if (vasprintf(&raw, fmt, ap) < 0)
		return;
	e.msg = diag_escape(raw);
	free(raw);
	if (!e.msg)
		return;
	if (file && !(e.file = strdup(file))) {
		free(e.msg);
		return;
	}
	d->v[d->n++] = e;
}

void diags_add(struct sg_diags *d, const struct sg_pos *pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (pos)
		diags_vadd(d, pos->file, pos->line, pos->col, fmt, ap);
	else
		diags_vadd(d, NULL, 0, 0, fmt, ap);
	va_end(ap);
}

void diags_add_file(struct sg_diags *d, const char *file, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(d, file, 0, 0, fmt, ap);
	va_end(ap);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct sg_diag *x = a, *y = b;
	int r;

	if (!x->file != !y->file)
		return x->file ? 1 : -1;
	if (x->file && (r = strcmp(x->file, y->file)))
		return r;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return 0;
}

void diags_sort(struct sg_diags *d)
{
	/* insertion sort: stable, and lists are short */
	for (size_t i = 1; i < d->n; i++) {
		struct sg_diag t = d->v[i];
		size_t j = i;

		while (j > 0 && diag_cmp(&d->v[j - 1], &t) > 0) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = t;
	}
}

char *diag_format(const struct sg_diag *e)
{
	char *s = NULL;
	int r;

	if (e->file && e->line > 0 && e->col > 0)
		r = asprintf(&s, "%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
	else if (e->file && e->line > 0)
		r = asprintf(&s, "%s:%d: %s", e->file, e->line, e->msg);
	else if (e->file)
		r = asprintf(&s, "%s: %s", e->file, e->msg);
	else
		r = asprintf(&s, "%s", e->msg);
	return r < 0 ? NULL : s;
}

void diags_print(FILE *f, const struct sg_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		if (s) {
			fprintf(f, "%s\n", s);
			free(s);
		}
	}
}
