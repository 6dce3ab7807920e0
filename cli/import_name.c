/*
 * import_name.c — sgd names for AWS names, and AWS id checks.
 *
 * sgd names match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.  An AWS name that does
 * is kept as it is.  Any other is written as a readable lowercase slug:
 * "Sécurité Ünïcode" becomes "securite-unicode" (not "S-curit-n-code"):
 * Latin letters with accents lose them (U+00C0..U+017F), a few become two
 * letters (ß ss, æ ae, œ oe, þ th, ĳ ij), and every run of other
 * characters becomes one '-'.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_map.h"

#define IMP_NAME_MAX 64

/* U+00C0..U+017F, one character each: the base letter, '-' for none
 * (× and ÷), or a digit for a pair: 1 ae, 2 th, 3 ss, 4 ij, 5 oe. */
static const char imp_latin[] =
	/* C0 */ "aaaaaa1ceeeeiiii" /* D0 */ "dnooooo-ouuuuy23"
	/* E0 */ "aaaaaa1ceeeeiiii" /* F0 */ "dnooooo-ouuuuy2y"
	/* 100 */ "aaaaaaccccccccdd" /* 110 */ "ddeeeeeeeeeegggg"
	/* 120 */ "gggghhhhiiiiiiii" /* 130 */ "ii44jjkkklllllll"
	/* 140 */ "lllnnnnnnnnnoooo" /* 150 */ "oo55rrrrrrssssss"
	/* 160 */ "ssttttttuuuuuuuu" /* 170 */ "uuuuwwyyyzzzzzzs";

static const char *const imp_pairs[] = { "", "ae", "th", "ss", "ij", "oe" };

/* Decode one UTF-8 sequence at s (valid or not); returns its length. */
static size_t name_utf8_next(const unsigned char *s, unsigned *cp)
{
	size_t n = 1, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0)
		n = 2, *cp = s[0] & 0x1F;
	else if ((s[0] & 0xF0) == 0xE0)
		n = 3, *cp = s[0] & 0x0F;
	else if ((s[0] & 0xF8) == 0xF0)
		n = 4, *cp = s[0] & 0x07;
	else {
		*cp = 0xFFFD;
		return 1;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return i;
		}
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	return n;
}

static bool imp_alnum(unsigned ch)
{
	return ch < 0x80 && isalnum((int)ch);
}

static bool imp_name_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > IMP_NAME_MAX || !imp_alnum((unsigned char)s[0]))
		return false;
	for (i = 0; i < n; i++)
		if (!imp_alnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	/* digits and dots alone would read as an IPv4 address in a rule */
	return strspn(s, "0123456789.") != n;
}

char *imp_name_map(const char *aws_name, const char *prefix, const char *fallback)
{
	const unsigned char *p = (const unsigned char *)aws_name;
	char buf[IMP_NAME_MAX + 1], *s;
	size_t n = 0;
	bool sep = false;

	if (imp_name_valid(aws_name))
		return strdup(aws_name);
	while (*p && n < IMP_NAME_MAX) {
		unsigned cp;
		const char *add = NULL;
		char one[2] = { 0, 0 };

		p += name_utf8_next(p, &cp);
		if (imp_alnum(cp) || (n > 0 && (cp == '_' || cp == '.'))) {
			one[0] = (char)tolower((int)cp);
			add = one;
		} else if (cp >= 0xC0 && cp <= 0x17F && imp_latin[cp - 0xC0] != '-') {
			char t = imp_latin[cp - 0xC0];

			if (t >= '1' && t <= '5') {
				add = imp_pairs[t - '0'];
			} else {
				one[0] = t;
				add = one;
			}
		}
		if (!add) {
			sep = n > 0;	/* leading separators are dropped */
			continue;
		}
		if (sep && n < IMP_NAME_MAX)
			buf[n++] = '-';
		sep = false;
		for (; *add && n < IMP_NAME_MAX; add++)
			buf[n++] = *add;
	}
	while (n > 0 && strchr("-_.", buf[n - 1]))
		n--;
	buf[n] = '\0';
	if (n == 0)
		return strdup(fallback);
	if (strspn(buf, "0123456789.") == n) {
		if (asprintf(&s, "%s%.*s", prefix, (int)(IMP_NAME_MAX - strlen(prefix)), buf) < 0)
			return NULL;
		return s;
	}
	return strdup(buf);
}

char *imp_name_with_id(const char *name, const char *id)
{
	size_t idl = strlen(id), keep = strlen(name);
	char *s;

	if (idl + 1 >= IMP_NAME_MAX)
		return strdup(id);
	if (keep + 1 + idl > IMP_NAME_MAX)
		keep = IMP_NAME_MAX - 1 - idl;
	if (asprintf(&s, "%.*s-%s", (int)keep, name, id) < 0)
		return NULL;
	return s;
}

bool imp_aws_id_ok(const char *id, const char *prefix)
{
	size_t i, n, pl = strlen(prefix);

	if (strncmp(id, prefix, pl) != 0)
		return false;
	n = strlen(id + pl);
	if (n != 8 && n != 17)
		return false;
	for (i = pl; id[i]; i++)
		if (!isxdigit((unsigned char)id[i]))
			return false;
	return true;
}
