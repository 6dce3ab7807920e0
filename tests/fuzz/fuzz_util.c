/*
 * fuzz_util.c — a strict JSON checker and the failure reporter for the
 * harnesses.  Recursive descent over bytes; no allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "yaml_tree.h"

struct fz_json {
	const unsigned char *p;
	const unsigned char *end;
	int depth;
};

static void fz_json_ws(struct fz_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
				 *j->p == '\r'))
		j->p++;
}

static bool fz_json_lit(struct fz_json *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool fz_json_hex4(struct fz_json *j)
{
	for (int i = 0; i < 4; i++, j->p++) {
		if (j->p >= j->end)
			return false;
		if (!((*j->p >= '0' && *j->p <= '9') || (*j->p >= 'a' && *j->p <= 'f') ||
		      (*j->p >= 'A' && *j->p <= 'F')))
			return false;
	}
	return true;
}

static bool fz_json_string(struct fz_json *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	for (j->p++; j->p < j->end; j->p++) {
		unsigned char c = *j->p;

		if (c == '"') {
			j->p++;
			return true;
		}
		/* RFC 8259 section 7: control characters must be escaped */
		if (c < 0x20)
			return false;
		if (c != '\\')
			continue;
		if (++j->p >= j->end)
			return false;
		if (*j->p == 'u') {
			j->p++;
			if (!fz_json_hex4(j))
				return false;
			j->p--;
		} else if (!strchr("\"\\/bfnrt", *j->p) || *j->p == '\0') {
			return false;
		}
	}
	return false;
}

static bool fz_json_digits(struct fz_json *j)
{
	const unsigned char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool fz_json_number(struct fz_json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!fz_json_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!fz_json_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!fz_json_digits(j))
			return false;
	}
	return true;
}

static bool fz_json_value(struct fz_json *j);

/* An array or object after its opening bracket. */
static bool fz_json_container(struct fz_json *j, bool object)
{
	char close = object ? '}' : ']';

	if (++j->depth > 200)
		return false;
	fz_json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		fz_json_ws(j);
		if (object) {
			if (!fz_json_string(j))
				return false;
			fz_json_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return false;
			j->p++;
		}
		if (!fz_json_value(j))
			return false;
		fz_json_ws(j);
		if (j->p >= j->end)
			return false;
		if (*j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		if (*j->p != ',')
			return false;
		j->p++;
	}
}

static bool fz_json_value(struct fz_json *j)
{
	fz_json_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
		j->p++;
		return fz_json_container(j, true);
	case '[':
		j->p++;
		return fz_json_container(j, false);
	case '"':
		return fz_json_string(j);
	case 't':
		return fz_json_lit(j, "true");
	case 'f':
		return fz_json_lit(j, "false");
	case 'n':
		return fz_json_lit(j, "null");
	default:
		return fz_json_number(j);
	}
}

bool fz_json_valid(const char *s, size_t len)
{
	struct fz_json j = { (const unsigned char *)s, (const unsigned char *)s + len, 0 };

	if (yt_utf8_check((const unsigned char *)s, len) != len)
		return false;
	if (!fz_json_value(&j))
		return false;
	fz_json_ws(&j);
	return j.p == j.end;
}

const char *fz_tmp_base(void)
{
	const char *t = getenv("FUZZ_TMPDIR");

	if (t && *t && strlen(t) < 200)
		return t;
	return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

void fz_fail(const char *what, const char *text, size_t len)
{
	fprintf(stderr, "fuzz property broken: %s\n", what);
	if (text) {
		fprintf(stderr, "---- text (%zu bytes)\n", len);
		fwrite(text, 1, len > 4096 ? 4096 : len, stderr);
		fprintf(stderr, "\n----\n");
	}
	abort();
}
