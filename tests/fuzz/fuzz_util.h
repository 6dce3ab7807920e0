/*
 * fuzz_util.h — helpers shared by the libFuzzer harnesses (tests/fuzz).
 *
 * The harnesses check properties, not just "did not crash": what sgd
 * prints as JSON must be strict JSON (RFC 8259) whatever bytes the user
 * put in a file or a request, so a strict checker lives here.
 */
#ifndef SGD_FUZZ_UTIL_H
#define SGD_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* true when s[0..len) is exactly one strict JSON value (surrounded by
 * optional whitespace), valid UTF-8, with no raw control character
 * inside a string. */
bool fz_json_valid(const char *s, size_t len);

/* Where a harness makes its scratch directory: $FUZZ_TMPDIR (run.sh
 * sets it, and removes it even after a crash), else /dev/shm (tmpfs:
 * every input is written to a file), else /tmp.  Paths made from it must
 * fit in 200 bytes. */
const char *fz_tmp_base(void);

/* Report a broken property with the offending text and abort(), so that
 * libFuzzer records the input as a crash. */
void fz_fail(const char *what, const char *text, size_t len) __attribute__((noreturn));

#endif
