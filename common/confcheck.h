/*
 * confcheck.h — the offline configuration check behind `sgd -t` and
 * `sgctl check`: one function so both print exactly the same.
 */
#ifndef SGD_CONFCHECK_H
#define SGD_CONFCHECK_H

#include <stdbool.h>
#include <stdio.h>

/* Load and validate confdir.  Every error goes to err, one
 * "file:line:column: message" per line, sorted; with verbose and a valid
 * configuration, the normalized configuration goes to out.  Returns the
 * process exit code: 0 valid, 1 invalid (or unreadable). */
int check_run(const char *confdir, bool verbose, FILE *out, FILE *err);

#endif
