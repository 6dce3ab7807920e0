/*
 * import_render.c — write one imported group in sgd's YAML schema.
 *
 * Text from AWS (names, descriptions) can hold anything; it is written as
 * a double-quoted YAML scalar with every character that YAML would not
 * read back verbatim escaped, and in comments such characters become '?'.
 * The output is deterministic (no time stamps) so that re-imports diff
 * cleanly and tests can compare with golden files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "import_map.h"
#include "out.h"

/* Decode one UTF-8 sequence at s; returns its length (>= 1) and the code
 * point in *cp, or length 1 and cp = -1 for a malformed byte. */
static size_t imp_utf8_next(const unsigned char *s, long *cp)
{
	size_t len, i;
	long v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2;
		v = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3;
		v = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4;
		v = s[0] & 0x07;
	} else {
		*cp = -1;
		return 1;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	*cp = v;
	return len;
}

/* YAML's printable set, minus the characters YAML treats as line breaks
 * (NEL, LS, PS), which would not survive a quoted scalar unescaped. */
static bool imp_yaml_printable(long cp)
{
	return (cp >= 0x20 && cp <= 0x7E) || (cp >= 0xA0 && cp <= 0xD7FF && cp != 0x2028 &&
	       cp != 0x2029) || (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF) ||
	       (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* sgd refuses a description over 255 bytes (load_group.c, sgd.yaml(5));
 * AWS allows 255 characters, and a renamed group's description also
 * carries its AWS name, so a longer one is cut (and ends in "..."). */
#define IMP_MAX_DESCRIPTION 255

/* Bytes the loader gets back for code point cp (U+FFFD for cp < 0). */
static size_t imp_utf8_size(long cp)
{
	return cp < 0 ? 3 : cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Quoted, and at most max bytes once read back (0: no limit). */
static void imp_put_quoted_max(struct out_buf *b, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len, loaded = 0;
	long cp;

	/* the whole text's size as read back decides whether it is cut */
	if (max) {
		for (const unsigned char *p = s; *p; p += len) {
			len = imp_utf8_next(p, &cp);
			loaded += imp_utf8_size(cp);
		}
		if (loaded <= max)
			max = 0;
		loaded = 0;
	}
	out_putc(b, '"');
	while (*s) {
		len = imp_utf8_next(s, &cp);
		if (max && loaded + imp_utf8_size(cp) > max - 3) {
			out_puts(b, "...");
			break;
		}
		loaded += imp_utf8_size(cp);
		if (cp == '"' || cp == '\\') {
			out_putc(b, '\\');
			out_putc(b, (char)cp);
		} else if (cp == '\n') {
			out_puts(b, "\\n");
		} else if (cp == '\t') {
			out_puts(b, "\\t");
		} else if (cp < 0) {
			out_puts(b, "\\uFFFD");
		} else if (imp_yaml_printable(cp)) {
			out_printf(b, "%.*s", (int)len, (const char *)s);
		} else if (cp <= 0xFF) {
			out_printf(b, "\\x%02X", (unsigned)cp);
		} else if (cp <= 0xFFFF) {
			out_printf(b, "\\u%04lX", cp);
		} else {
			out_printf(b, "\\U%08lX", cp);
		}
		s += len;
	}
	out_putc(b, '"');
}

static void imp_put_quoted(struct out_buf *b, const char *str)
{
	imp_put_quoted_max(b, str, 0);
}

static void imp_put_comment_text(struct out_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len;
	long cp;

	while (*s) {
		len = imp_utf8_next(s, &cp);
		if (cp >= 0 && imp_yaml_printable(cp))
			out_printf(b, "%.*s", (int)len, (const char *)s);
		else
			out_putc(b, '?');
		s += len;
	}
}

bool imp_yaml_plain_ok(const char *s)
{
	static const char *const reserved[] = {
		"y", "n", "yes", "no", "true", "false", "on", "off", "null",
	};
	bool v4 = true, slash = false;
	size_t i;

	if (!s[0])
		return false;
	for (i = 0; s[i]; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-' ||
		      ch == '/'))
			return false;
		if (ch == '/')
			slash = true;
		else if (!((ch >= '0' && ch <= '9') || ch == '.'))
			v4 = false;
	}
	/* An IPv4 CIDR reads as a string; anything else that starts with a
	 * digit could be taken for a number, so it is quoted. */
	if (v4 && slash)
		return true;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcasecmp(s, reserved[i]) == 0)
			return false;
	return true;
}

static void imp_put_scalar(struct out_buf *b, const char *s)
{
	if (imp_yaml_plain_ok(s))
		out_puts(b, s);
	else
		imp_put_quoted(b, s);
}

static const char *imp_proto_word(int proto)
{
	switch (proto) {
	case SG_PROTO_ALL:
		return "all";
	case SG_PROTO_TCP:
		return "tcp";
	case SG_PROTO_UDP:
		return "udp";
	case SG_PROTO_ICMP:
		return "icmp";
	case SG_PROTO_ICMPV6:
		return "icmpv6";
	default:
		return NULL;
	}
}

static void imp_put_rule(struct out_buf *b, const struct imp_rule *r)
{
	const char *word = imp_proto_word(r->proto);
	size_t i;

	if (word)
		out_printf(b, "  - protocol: %s\n", word);
	else
		out_printf(b, "  - protocol: %d\n", r->proto);
	if (r->port_lo >= 0 && r->port_lo == r->port_hi)
		out_printf(b, "    ports: %d\n", r->port_lo);
	else if (r->port_lo >= 0)
		out_printf(b, "    ports: \"%d-%d\"\n", r->port_lo, r->port_hi);
	if (r->icmp_type >= 0)
		out_printf(b, "    icmp_type: %d\n", r->icmp_type);
	if (r->icmp_code >= 0)
		out_printf(b, "    icmp_code: %d\n", r->icmp_code);
	out_printf(b, "    %s: [", r->dir == SG_DIR_IN ? "from" : "to");
	for (i = 0; i < r->n_peers; i++) {
		if (i)
			out_puts(b, ", ");
		imp_put_scalar(b, r->peers[i]);
	}
	out_puts(b, "]\n");
	if (r->description) {
		out_puts(b, "    description: ");
		imp_put_quoted_max(b, r->description, IMP_MAX_DESCRIPTION);
		out_putc(b, '\n');
	}
}

static void imp_put_rules(struct out_buf *b, const struct imp_group *g, enum sg_dir dir,
			  size_t count)
{
	size_t i;

	out_printf(b, "%s:%s\n", dir == SG_DIR_IN ? "ingress" : "egress", count ? "" : " []");
	for (i = 0; i < g->n_rules; i++)
		if (g->rules[i].dir == dir)
			imp_put_rule(b, &g->rules[i]);
}

static void imp_put_problems(struct out_buf *b, const struct imp_group *g,
			     const struct imp_result *res)
{
	const struct imp_problem *p;
	bool first = true;
	size_t i;

	for (i = 0; i < res->n_problems; i++) {
		p = &res->problems[i];
		if (strcmp(p->group_id, g->aws_id) != 0)
			continue;
		if (first)
			out_puts(b, "#\n# Import notes:\n");
		first = false;
		out_puts(b, "# - ");
		if (p->dir >= 0)
			out_printf(b, "%s permission %d: ", p->dir == SG_DIR_IN ?
				   "IpPermissions" : "IpPermissionsEgress", p->permission);
		out_printf(b, "%s: ", imp_problem_action(p->kind));
		imp_put_comment_text(b, p->message);
		out_putc(b, '\n');
	}
}

int imp_render_group(const struct imp_group *g, const struct imp_result *res, char **text)
{
	struct out_buf b;
	char *desc = NULL;

	out_init(&b);
	out_puts(&b, "# Imported by `sgctl import aws` from AWS security group ");
	imp_put_comment_text(&b, g->aws_id);
	out_puts(&b, " (");
	imp_put_comment_text(&b, g->aws_name);
	out_puts(&b, ").\n# Members are not part of the AWS description: list them "
		 "under members: or\n# in members.d/");
	out_puts(&b, g->name);
	out_puts(&b, ".\n");
	imp_put_problems(&b, g, res);
	out_puts(&b, "name: ");
	imp_put_scalar(&b, g->name);
	out_putc(&b, '\n');
	out_puts(&b, "id: ");
	imp_put_scalar(&b, g->aws_id);
	out_putc(&b, '\n');
	/* A renamed group keeps its AWS name in the description. */
	if (strcmp(g->name, g->aws_name) != 0) {
		bool has = g->aws_description && g->aws_description[0];
		const char *was = g->aws_name[0] ? "AWS name: " : "no AWS name";

		if (asprintf(&desc, "%s%s%s%s%s", has ? g->aws_description : "", has ? " (" : "",
			     was, g->aws_name, has ? ")" : "") < 0) {
			out_free(&b);
			return -ENOMEM;
		}
	}
	if (desc || (g->aws_description && g->aws_description[0])) {
		out_puts(&b, "description: ");
		imp_put_quoted_max(&b, desc ? desc : g->aws_description,
				   IMP_MAX_DESCRIPTION);
		out_putc(&b, '\n');
	}
	free(desc);
	imp_put_rules(&b, g, SG_DIR_IN, g->n_in);
	/* A missing IpPermissionsEgress (EC2-Classic) means no egress
	 * filtering: sgd's omitted egress, "all traffic out". */
	if (g->egress_present)
		imp_put_rules(&b, g, SG_DIR_OUT, g->n_out);
	return out_finish(&b, text);
}

int imp_render_plist(const struct imp_plist *pl, char **text)
{
	struct out_buf b;
	size_t i;

	out_init(&b);
	out_puts(&b, "# Imported by `sgctl import aws` from AWS managed prefix list ");
	imp_put_comment_text(&b, pl->aws_id);
	if (pl->aws_name) {
		out_puts(&b, " (");
		imp_put_comment_text(&b, pl->aws_name);
		out_putc(&b, ')');
	}
	out_puts(&b, ".\nname: ");
	imp_put_scalar(&b, pl->name);
	out_puts(&b, "\nid: ");
	imp_put_scalar(&b, pl->aws_id);
	out_puts(&b, "\nentries:\n");
	for (i = 0; i < pl->n_entries; i++) {
		out_puts(&b, "  - {cidr: ");
		if (strchr(pl->entries[i].cidr, ':'))
			imp_put_quoted(&b, pl->entries[i].cidr);
		else
			out_puts(&b, pl->entries[i].cidr);
		if (pl->entries[i].description) {
			out_puts(&b, ", description: ");
			imp_put_quoted_max(&b, pl->entries[i].description, IMP_MAX_DESCRIPTION);
		}
		out_puts(&b, "}\n");
	}
	return out_finish(&b, text);
}
