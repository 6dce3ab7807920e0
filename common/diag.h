/*
 * diag.h — diagnostics that carry a source position to the user.
 *
 * Every stage appends here instead of printing, so that all errors of a
 * configuration are collected and reported together, each as
 * "file:line:column: message" (or "file: message" without a line).
 */
#ifndef SGD_DIAG_H
#define SGD_DIAG_H

#include <stdio.h>
#include "model.h"

struct sg_diag {
	char *file;	/* copied; NULL for errors with no file */
	int line;	/* 0 = none */
	int col;	/* 0 = none */
	char *msg;
};

struct sg_diags {
	struct sg_diag *v;
	size_t n;
	size_t cap;
};

void diags_init(struct sg_diags *d);
void diags_free(struct sg_diags *d);
/* Append one diagnostic.  pos may be NULL.  Allocation failure is reported
 * by a final "out of memory" entry if possible; never aborts. */
void diags_add(struct sg_diags *d, const struct sg_pos *pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same with an explicit file (no line/column). */
void diags_add_file(struct sg_diags *d, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Order by file, line, column (stable), so output is deterministic. */
void diags_sort(struct sg_diags *d);
/* Format one entry as "file:line:col: msg" into a malloc'd string. */
char *diag_format(const struct sg_diag *e);
/* Print every entry, one per line. */
void diags_print(FILE *f, const struct sg_diags *d);

#endif
