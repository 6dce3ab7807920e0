/*
 * import_input.c — what `sgctl import aws` checks on the bytes before it
 * reads them as a document: an empty input (0 groups), UTF-16 (what
 * PowerShell's `>` writes), YAML (`aws --output yaml`), and JSON that is
 * not JSON (a trailing comma, a comment), each refused with the fix.
 *
 * Strictness comes from json-c in strict mode: libyaml, which reads the
 * document afterwards to keep line and column of every value, accepts
 * trailing commas and '#' comments, since they are YAML.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "import_map.h"

/* 1-based line and column of byte off (columns count characters). */
static void imp_line_col(const char *buf, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

/* UTF-16 has a byte-order mark, or a NUL byte next to every ASCII one. */
static bool imp_is_utf16(const unsigned char *s, size_t len)
{
	if (len < 2)
		return false;
	if ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))
		return true;
	/* "{\0" (little-endian) or "\0{" (big-endian) */
	return (s[0] != 0) != (s[1] != 0);
}

/* The output of `aws ... --output yaml`: a first line that is a YAML
 * key ("SecurityGroups:") or list item ("- Description: ..."). */
static bool imp_looks_yaml(const char *buf, size_t len)
{
	size_t i = 0, k;

	while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
		i++;
	if (i + 1 < len && buf[i] == '-' && buf[i + 1] == ' ')
		return true;
	for (k = i; k < len && ((buf[k] >= 'A' && buf[k] <= 'Z') ||
				(buf[k] >= 'a' && buf[k] <= 'z')); k++)
		;
	return k > i && k < len && buf[k] == ':';
}

int imp_input_check(const char *buf, size_t len, char *err, size_t errlen)
{
	struct json_tokener *t;
	struct json_object *o;
	enum json_tokener_error e;
	size_t i, off;
	int line, col;

	if (imp_is_utf16((const unsigned char *)buf, len)) {
		snprintf(err, errlen, "1:1: the input is UTF-16 (PowerShell's > writes it); JSON "
			 "is read as UTF-8: convert it with `iconv -f UTF-16 -t UTF-8 FILE > "
			 "FILE.utf8`, or write it with `| Out-File -Encoding utf8`");
		return -EINVAL;
	}
	for (i = 0; i < len && strchr(" \t\r\n", buf[i]); i++)
		;
	if (i == len)
		return 1;	/* empty: 0 groups */
	if (imp_looks_yaml(buf + i, len - i)) {
		imp_line_col(buf, i, &line, &col);
		snprintf(err, errlen, "%d:%d: this is YAML (`aws --output yaml`); import reads "
			 "JSON: run the aws command again with `--output json`", line, col);
		return -EINVAL;
	}
	/* deeper than json_tree's cap: json_tree reports that one */
	t = json_tokener_new_ex(JT_MAX_DEPTH * 2);
	if (!t)
		return -ENOMEM;
	json_tokener_set_flags(t, JSON_TOKENER_STRICT);
	/* the NUL after the text ends the last value (a bare number) */
	o = json_tokener_parse_ex(t, buf, (int)len);
	e = json_tokener_get_error(t);
	if (e == json_tokener_continue) {
		o = json_tokener_parse_ex(t, "", 1);
		e = json_tokener_get_error(t);
	}
	off = json_tokener_get_parse_end(t);
	json_object_put(o);
	json_tokener_free(t);
	if (e == json_tokener_success)
		return 0;
	if (off > len)
		off = len;
	imp_line_col(buf, off, &line, &col);
	if (off < len && buf[off] == '\'') {
		snprintf(err, errlen, "%d:%d: not JSON: a single-quoted string; JSON strings "
			 "use double quotes", line, col);
	} else if (off < len && (buf[off] == '/' || buf[off] == '#')) {
		snprintf(err, errlen, "%d:%d: not JSON: a comment (JSON has none); remove it",
			 line, col);
	} else if (off < len && (buf[off] == ']' || buf[off] == '}')) {
		for (i = off; i > 0 && strchr(" \t\r\n", buf[i - 1]); i--)
			;
		if (i > 0 && buf[i - 1] == ',')
			snprintf(err, errlen, "%d:%d: not JSON: a trailing comma before '%c'; "
				 "remove the comma", line, col, buf[off]);
		else
			snprintf(err, errlen, "%d:%d: not JSON: unexpected '%c'", line, col,
				 buf[off]);
	} else if (e == json_tokener_error_depth) {
		return 0;	/* jt_parse refuses it with its own message */
	} else {
		snprintf(err, errlen, "%d:%d: not JSON: %s", line, col, json_tokener_error_desc(e));
	}
	return -EINVAL;
}
