/*
 * test_render.c — every renderer in both formats: the JSON documents are
 * valid JSON (checked by a strict parser below), string escaping is
 * right, and the human text says what it should.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "diff.h"
#include "out.h"
#include "render.h"

/* ---- a strict JSON validator (RFC 8259), one document + whitespace ---- */

struct jp {
	const char *s;
	int depth;
};

static void jp_ws(struct jp *p)
{
	while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
		p->s++;
}

static bool jp_value(struct jp *p);

static bool jp_string(struct jp *p)
{
	if (*p->s++ != '"')
		return false;
	for (;;) {
		unsigned char c = (unsigned char)*p->s++;

		if (c == '"')
			return true;
		if (c < 0x20)
			return false;	/* raw control characters are invalid */
		if (c == '\\') {
			c = (unsigned char)*p->s++;
			if (c == 'u') {
				int i;

				for (i = 0; i < 4; i++, p->s++)
					if (!strchr("0123456789abcdefABCDEF", *p->s) || !*p->s)
						return false;
			} else if (!c || !strchr("\"\\/bfnrt", c)) {
				return false;
			}
		}
	}
}

static bool jp_number(struct jp *p)
{
	const char *s = p->s;

	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	p->s = s;
	return true;
}

static bool jp_container(struct jp *p, char close)
{
	p->s++;
	if (++p->depth > 64)
		return false;
	jp_ws(p);
	if (*p->s == close) {
		p->s++;
		p->depth--;
		return true;
	}
	for (;;) {
		jp_ws(p);
		if (close == '}') {
			if (!jp_string(p))
				return false;
			jp_ws(p);
			if (*p->s++ != ':')
				return false;
		}
		if (!jp_value(p))
			return false;
		jp_ws(p);
		if (*p->s == ',') {
			p->s++;
			continue;
		}
		if (*p->s++ != close)
			return false;
		p->depth--;
		return true;
	}
}

static bool jp_value(struct jp *p)
{
	jp_ws(p);
	switch (*p->s) {
	case '{': return jp_container(p, '}');
	case '[': return jp_container(p, ']');
	case '"': return jp_string(p);
	case 't': if (strncmp(p->s, "true", 4)) return false; p->s += 4; return true;
	case 'f': if (strncmp(p->s, "false", 5)) return false; p->s += 5; return true;
	case 'n': if (strncmp(p->s, "null", 4)) return false; p->s += 4; return true;
	default: return jp_number(p);
	}
}

static bool json_valid(const char *s)
{
	struct jp p = { .s = s };

	if (!jp_value(&p))
		return false;
	jp_ws(&p);
	return *p.s == '\0';
}

static void assert_json(const char *doc)
{
	ck_assert_ptr_nonnull(doc);
	ck_assert_msg(json_valid(doc), "invalid JSON: %s", doc);
	ck_assert_msg(doc[0] == '{', "not an object: %s", doc);
	ck_assert_msg(doc[strlen(doc) - 1] == '\n', "no final newline");
}

/* ---- fixtures ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static struct sg_config *load_cfg(const char *sgd_yaml, ...)
{
	struct sg_config *cfg = NULL;
	struct sg_diags d;
	char dir[64], gdir[128], cmd[160];
	va_list ap;
	const char *name;
	int r;

	snprintf(dir, sizeof(dir), "/tmp/sgC2-render-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(gdir, sizeof(gdir), "%s/groups.d", dir);
	ck_assert_int_eq(mkdir(gdir, 0755), 0);
	write_file(dir, "sgd.yaml", sgd_yaml);
	va_start(ap, sgd_yaml);
	while ((name = va_arg(ap, const char *))) {
		const char *text = va_arg(ap, const char *);

		write_file(gdir, name, text);
	}
	va_end(ap);
	diags_init(&d);
	r = config_load(dir, &cfg, &d);
	/* remove the files before any assertion can end the test */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	if (r < 0)
		diags_print(stderr, &d);
	diags_free(&d);
	ck_assert_int_eq(r, 0);
	return cfg;
}

static const char web_yaml[] =
	"name: web\n"
	"id: sg-0123abcd\n"
	"description: Web servers\n"
	"ingress:\n"
	"  - {protocol: tcp, ports: 80, from: [0.0.0.0/0, \"::/0\"], description: \"HTTP \\\"quoted\\\" \\\\ tab\\there\"}\n"
	"  - {protocol: tcp, ports: \"8000-8080\", from: [app], description: \"웹 서버 \\u0001\"}\n"
	"  - {protocol: icmp, icmp_type: 3, icmp_code: 4, from: [0.0.0.0/0]}\n";

static const char app_yaml[] =
	"name: app\n"
	"ingress: []\n"
	"egress: []\n"
	"members: [10.0.1.10, \"2001:db8::10\"]\n";

static const char db_yaml[] =
	"name: db\n"
	"ingress:\n"
	"  - {protocol: tcp, ports: 5432, from: [app]}\n"
	"egress:\n"
	"  - {protocol: tcp, ports: 443, to: [0.0.0.0/0]}\n";

static struct sg_config *cfg_a(void)
{
	return load_cfg("attach: [web]\n"
			"interfaces:\n  eth1: [db]\n"
			"failsafe:\n  - {protocol: tcp, ports: 22, from: [192.0.2.0/24]}\n",
			"web.yaml", web_yaml, "app.yaml", app_yaml, "db.yaml", db_yaml, NULL);
}

/* ---- tests ---- */

START_TEST(test_json_escape)
{
	struct out_buf b;
	struct json_w j;
	char *s;

	out_init(&b);
	json_init(&j, &b);
	json_obj_begin(&j);
	json_kstr(&j, "q", "a\"b\\c\nd\te\x01\x1f\x7f é 웹");
	json_kstr(&j, "null", NULL);
	json_key(&j, "arr");
	json_arr_begin(&j);
	json_int(&j, -1);
	json_uint(&j, UINT64_MAX);
	json_bool(&j, true);
	json_obj_begin(&j);
	json_obj_end(&j);
	json_arr_begin(&j);
	json_arr_end(&j);
	json_arr_end(&j);
	json_obj_end(&j);
	ck_assert_int_eq(out_finish(&b, &s), 0);
	ck_assert_str_eq(s, "{\"q\":\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f\\u007f é 웹\","
			 "\"null\":null,\"arr\":[-1,18446744073709551615,true,{},[]]}");
	ck_assert(json_valid(s));
	free(s);
}
END_TEST

START_TEST(test_json_validator_rejects)
{
	/* the checker itself must be able to fail */
	ck_assert(!json_valid("{\"a\":1,}"));
	ck_assert(!json_valid("{\"a\":\"x\ny\"}"));
	ck_assert(!json_valid("{\"a\":01}"));
	ck_assert(!json_valid("{\"a\":1}{"));
	ck_assert(!json_valid("[\"\\q\"]"));
	ck_assert(json_valid("{\"a\":[1,-2.5e3,\"\\u00e9\",null]}\n"));
}
END_TEST

START_TEST(test_text_escape)
{
	static const char *const hdr[] = { "NAME", "DESCRIPTION" };
	static const char *const row[] = { "web\x1b[2J", "line1\nsgd: forged\a" };
	struct out_table t;
	struct out_buf b;
	char *s, buf[256];
	FILE *f;

	/* one field: every control character, C1 (U+009B = CSI) too */
	out_init(&b);
	out_puts_esc(&b, "a\x1b]0;title\a\nb\tc\x7f\xc2\x9b" "d é");
	ck_assert_int_eq(out_finish(&b, &s), 0);
	ck_assert_str_eq(s, "a\\x1b]0;title\\x07\\x0ab\\x09c\\x7f\\xc2\\x9bd é");
	free(s);
	/* a table cell is one line */
	ck_assert_int_eq(table_init(&t, 2, hdr), 0);
	ck_assert_int_eq(table_add(&t, row), 0);
	out_init(&b);
	table_render(&t, &b);
	table_free(&t);
	ck_assert_int_eq(out_finish(&b, &s), 0);
	ck_assert_ptr_null(strchr(s, '\x1b'));
	ck_assert_ptr_nonnull(strstr(s, "web\\x1b[2J"));
	ck_assert_ptr_nonnull(strstr(s, "line1\\x0asgd: forged\\x07"));
	free(s);
	/* a whole text at the edge: newlines and tabs stay, the rest not */
	f = fmemopen(buf, sizeof(buf), "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(out_write_text(f, "x\ty\n\x1b[31mred\0z", 14), 0);
	fclose(f);
	ck_assert_str_eq(buf, "x\ty\n\\x1b[31mred\\x00z");
}
END_TEST

START_TEST(test_table_alignment)
{
	static const char *const hdr[] = { "A", "B", "C" };
	static const char *const row1[] = { "웹웹", "x", "last" };
	static const char *const row2[] = { "abcd", NULL, "z" };
	struct out_table t;
	struct out_buf b;
	char *s;

	ck_assert_int_eq(table_init(&t, 3, hdr), 0);
	ck_assert_int_eq(table_add(&t, row1), 0);
	ck_assert_int_eq(table_add(&t, row2), 0);
	out_init(&b);
	table_render(&t, &b);
	table_free(&t);
	ck_assert_int_eq(out_finish(&b, &s), 0);
	ck_assert_str_eq(s, "A     B  C\n웹웹  x  last\nabcd  -  z\n");
	free(s);
}
END_TEST

START_TEST(test_show)
{
	struct sg_config *cfg = cfg_a();
	char *s;

	ck_assert_int_eq(render_show(cfg, NULL, true, &s), 0);
	assert_json(s);
	ck_assert_ptr_nonnull(strstr(s, "\"origin\":\"failsafe\""));
	ck_assert_ptr_nonnull(strstr(s, "\"implicit\":\"metadata\""));
	ck_assert_ptr_nonnull(strstr(s, "\"peer\":\"app\",\"peer_group\":true,\"peer_members\":2"));
	ck_assert_ptr_nonnull(strstr(s, "\"group\":\"db\",\"interface\":\"eth1\""));
	ck_assert_ptr_nonnull(strstr(s, "\"default_egress\":true"));
	ck_assert_ptr_nonnull(strstr(s, "\"forward\":\"containers\""));
	free(s);
	ck_assert_int_eq(render_show(cfg, NULL, false, &s), 0);
	ck_assert_ptr_nonnull(strstr(s, "app (2 members)"));
	ck_assert_ptr_nonnull(strstr(s, "8000-8080"));
	ck_assert_ptr_nonnull(strstr(s, "type 3 code 4"));
	ck_assert_ptr_nonnull(strstr(s, "(failsafe)"));
	ck_assert_ptr_nonnull(strstr(s, "(implicit)"));
	ck_assert_ptr_nonnull(strstr(s, "eth1"));
	ck_assert_ptr_nonnull(strstr(s, "DIR"));
	ck_assert_ptr_nonnull(strstr(s, "types 133-136"));
	ck_assert_ptr_null(strstr(s, "137"));	/* ipv6_redirects: off */
	ck_assert_ptr_null(strstr(s, "types -1"));
	ck_assert_ptr_nonnull(strstr(s, "udp       17      68 "));
	ck_assert_ptr_nonnull(strstr(s, "Forwarded traffic (forward: containers)"));
	free(s);
	cfg->forward = SG_FWD_OFF;
	ck_assert_int_eq(render_show(cfg, NULL, false, &s), 0);
	ck_assert_ptr_nonnull(strstr(s, "Forwarded traffic is not filtered (forward: off)"));
	free(s);
	config_free(cfg);
}
END_TEST

START_TEST(test_status)
{
	struct sg_config *cfg = cfg_a();
	struct sg_status st = {
		.version = "0.1.0", .pid = 42, .confdir = "/etc/sgd", .table = "sgd",
		.cfg = cfg, .started = 1700000000, .last_reload = 1700000100,
		.last_reload_ok = false, .last_reload_error = "groups.d/x.yaml:3:7: \"bad\"",
		.confirm_deadline = time(NULL) + 60,
	};
	char *s;

	ck_assert_int_eq(render_status(&st, true, &s), 0);
	assert_json(s);
	ck_assert_ptr_nonnull(strstr(s, "\"last_reload_ok\":false"));
	ck_assert_ptr_nonnull(strstr(s, "\"started\":\"2023-11-14T22:13:20Z\""));
	ck_assert_ptr_nonnull(strstr(s, "\"group\":\"db\",\"interface\":\"eth1\""));
	free(s);
	ck_assert_int_eq(render_status(&st, false, &s), 0);
	ck_assert_ptr_nonnull(strstr(s, "FAILED"));
	ck_assert_ptr_nonnull(strstr(s, "rolls back"));
	ck_assert_ptr_nonnull(strstr(s, "eth1"));
	free(s);
	/* no configuration loaded yet */
	st.cfg = NULL;
	st.confirm_deadline = 0;
	st.last_reload = 0;
	ck_assert_int_eq(render_status(&st, true, &s), 0);
	assert_json(s);
	ck_assert_ptr_nonnull(strstr(s, "\"last_reload\":null"));
	free(s);
	ck_assert_int_eq(render_status(&st, false, &s), 0);
	ck_assert_ptr_nonnull(strstr(s, "no configuration loaded"));
	free(s);
	config_free(cfg);
}
END_TEST

START_TEST(test_diff)
{
	struct sg_config *a = cfg_a();
	struct sg_config *b = load_cfg("attach: [web, db]\n",
			"web.yaml", web_yaml, "app.yaml",
			"name: app\ningress: []\negress: []\nmembers: [10.0.1.10]\n",
			"db.yaml", db_yaml, NULL);
	struct sg_diff d;
	bool changed;
	char *s;
	size_t i;
	bool saw_attach = false;

	ck_assert_int_eq(render_diff(a, a, NULL, true, &s, &changed), 0);
	assert_json(s);
	ck_assert(!changed);
	free(s);
	ck_assert_int_eq(render_diff(a, a, NULL, false, &s, &changed), 0);
	ck_assert_ptr_nonnull(strstr(s, "no changes"));
	free(s);

	ck_assert_int_eq(diff_configs(a, b, &d), 0);
	for (i = 0; i < d.n_added; i++)
		if (d.added[i].kind == SG_DIFF_ATTACH && !d.added[i].iface)
			saw_attach |= !strcmp(d.added[i].group, "db");
	ck_assert(saw_attach);
	diff_free(&d);

	ck_assert_int_eq(render_diff(a, b, NULL, true, &s, &changed), 0);
	assert_json(s);
	ck_assert(changed);
	free(s);
	ck_assert_int_eq(render_diff(a, b, NULL, false, &s, &changed), 0);
	ck_assert_ptr_nonnull(strstr(s, "- failsafe failsafe in tcp 22 from 192.0.2.0/24"));
	ck_assert_ptr_nonnull(strstr(s, "- member   member of app: 2001:db8::10/128"));
	ck_assert_ptr_nonnull(strstr(s, "- rule     db in tcp 5432 from app on eth1"));
	ck_assert_ptr_nonnull(strstr(s, "+ rule     db in tcp 5432 from app\n"));
	free(s);
	/* nothing running yet: everything is added */
	ck_assert_int_eq(render_diff(NULL, b, NULL, true, &s, &changed), 0);
	assert_json(s);
	ck_assert(changed);
	ck_assert_ptr_nonnull(strstr(s, "\"removed\":[]"));
	free(s);
	config_free(a);
	config_free(b);
}
END_TEST

START_TEST(test_explain_render)
{
	struct sg_config *cfg = cfg_a();
	struct sg_diags d;
	char a0[] = "in", a1[] = "tcp", a2[] = "80", a3[] = "192.0.2.10", bad[] = "x";
	char *argv[] = { a0, a1, a2, a3 };
	bool allowed;
	char *s;

	diags_init(&d);
	ck_assert_int_eq(render_explain(cfg, NULL, 4, argv, true, &s, &allowed, &d), 0);
	assert_json(s);
	ck_assert(allowed);
	ck_assert_ptr_nonnull(strstr(s, "\"only_attach_groups\":true"));
	ck_assert_ptr_nonnull(strstr(s, "\"group\":\"web\""));
	free(s);
	ck_assert_int_eq(render_explain(cfg, NULL, 4, argv, false, &s, &allowed, &d), 0);
	ck_assert_ptr_nonnull(strstr(s, "ALLOWED by group web, ingress rule 1"));
	ck_assert_ptr_nonnull(strstr(s, "only the `attach` groups"));
	/* the same packet to a published port (forward: containers) */
	ck_assert_ptr_nonnull(strstr(s, "\nforwarded to a local container (a published port, "
				     "on the port the client used, or the container's own "
				     "address): ALLOWED by group web, ingress rule 1"));
	free(s);
	{
		/* tcp 22 from the failsafe source: the host only */
		char f2[] = "22", ff[] = "--forwarded";
		char *fv[] = { a0, a1, f2, a3, ff };

		ck_assert_int_eq(render_explain(cfg, NULL, 4, fv, false, &s, &allowed, &d), 0);
		ck_assert(allowed);
		ck_assert_ptr_nonnull(strstr(s, "ALLOWED by failsafe rule 1"));
		ck_assert_ptr_nonnull(strstr(s, "\nforwarded to a local container (a published "
					     "port, on the port the client used, or the container's "
					     "own address): DROPPED"));
		free(s);
		ck_assert_int_eq(render_explain(cfg, NULL, 5, fv, false, &s, &allowed, &d), 0);
		ck_assert(!allowed);
		ck_assert_ptr_nonnull(strstr(s, ", forwarded to a local container\nDROPPED"));
		free(s);
		ck_assert_int_eq(render_explain(cfg, NULL, 5, fv, true, &s, &allowed, &d), 0);
		assert_json(s);
		ck_assert_ptr_nonnull(strstr(s, "\"forwarded\":{\"mode\":\"containers\","
					     "\"filtered\":true,\"allowed\":false,\"match\":null}"));
		free(s);
		cfg->forward = SG_FWD_OFF;
		ck_assert_int_eq(render_explain(cfg, NULL, 5, fv, false, &s, &allowed, &d), 0);
		ck_assert(allowed);
		ck_assert_ptr_nonnull(strstr(s, "ALLOWED: forwarded traffic is not filtered"));
		free(s);
		ck_assert_int_eq(render_explain(cfg, NULL, 4, fv, false, &s, &allowed, &d), 0);
		ck_assert_ptr_nonnull(strstr(s, "forwarded: not filtered (sgd.yaml forward: off)"));
		free(s);
		cfg->forward = SG_FWD_CONTAINERS;
	}
	a2[0] = '9';	/* tcp 90: dropped */
	ck_assert_int_eq(render_explain(cfg, NULL, 4, argv, false, &s, &allowed, &d), 0);
	ck_assert(!allowed);
	ck_assert_ptr_nonnull(strstr(s, "DROPPED"));
	free(s);
	ck_assert_int_eq(render_explain(cfg, NULL, 4, argv, true, &s, &allowed, &d), 0);
	assert_json(s);
	ck_assert_ptr_nonnull(strstr(s, "\"allowed\":false"));
	ck_assert_ptr_nonnull(strstr(s, "\"matches\":[]"));
	ck_assert_ptr_nonnull(strstr(s, "\"icmp_error\":false"));
	free(s);
	{
		/* an ICMP error: the note says conntrack, not the rules, decides */
		char i1[] = "icmp", i2[] = "3/4";
		char *iv[] = { a0, i1, i2, a3 };

		ck_assert_int_eq(render_explain(cfg, NULL, 4, iv, false, &s, &allowed, &d), 0);
		ck_assert_ptr_nonnull(strstr(s, "note: this ICMP type is an error message"));
		ck_assert_ptr_null(strstr(s, "replies to connections already allowed"));
		free(s);
		ck_assert_int_eq(render_explain(cfg, NULL, 4, iv, true, &s, &allowed, &d), 0);
		assert_json(s);
		ck_assert_ptr_nonnull(strstr(s, "\"icmp_error\":true"));
		free(s);
	}
	ck_assert_uint_eq(d.n, 0);
	argv[0] = bad;
	ck_assert_int_eq(render_explain(cfg, NULL, 4, argv, true, &s, &allowed, &d), -EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(d.n, 1);
	diags_free(&d);
	config_free(cfg);
}
END_TEST

START_TEST(test_members_stats_diags)
{
	struct sg_config *cfg = cfg_a();
	struct sg_cidr_list rt = { 0 };
	struct sg_cidr c;
	struct sg_counter cnt[] = {
		{ .kind = SG_CNT_RULE, .group_idx = config_find_group(cfg, "web"),
		  .dir = SG_DIR_IN, .rule_index = 1, .packets = 10, .bytes = 600 },
		{ .kind = SG_CNT_FAILSAFE, .rule_index = 1, .packets = 1, .bytes = 60 },
		{ .kind = SG_CNT_IMPLICIT, .name = "loopback", .packets = 5, .bytes = 5 },
		{ .kind = SG_CNT_STATEFUL, .packets = 100, .bytes = 1000 },
		{ .kind = SG_CNT_DROP, .dir = SG_DIR_IN, .packets = 7, .bytes = 420 },
		{ .kind = SG_CNT_RULE, .group_idx = 99, .dir = SG_DIR_IN, .rule_index = 9 },
	};
	struct sg_diags d;
	struct sg_pos pos = { .file = "groups.d/web.yaml", .line = 3, .col = 5 };
	char *s;
	int app = config_find_group(cfg, "app");

	ck_assert_int_eq(cidr_parse("10.0.2.0/24", &c), 0);
	ck_assert_int_eq(cidr_list_add(&rt, &c), 0);
	ck_assert_int_eq(render_members(cfg, app, &rt, NULL, true, &s), 0);
	assert_json(s);
	ck_assert_ptr_nonnull(strstr(s, "\"count\":3"));
	ck_assert_ptr_nonnull(strstr(s, "{\"cidr\":\"10.0.2.0/24\",\"source\":\"runtime\"}"));
	free(s);
	ck_assert_int_eq(render_members(cfg, app, NULL, NULL, false, &s), 0);
	ck_assert_ptr_nonnull(strstr(s, "10.0.1.10/32"));
	free(s);
	ck_assert_int_eq(render_members(cfg, 99, NULL, NULL, false, &s), -EINVAL);
	/* fleet members: "fleet" with their host id; held by the fleet and
	 * at run time: "runtime" naming the fleet host too; run time only:
	 * "runtime" as before */
	{
		static const char *const cs[] = { "10.0.3.1/32", "10.0.3.2/32", "10.0.3.3/32" };
		const struct render_member_origin orig[] = {
			{ .fleet_host = "host1", .other = false },
			{ .fleet_host = "host2", .other = true },
			{ .fleet_host = NULL, .other = true },
		};
		struct sg_cidr_list fl = { 0 };

		for (size_t i = 0; i < 3; i++) {
			ck_assert_int_eq(cidr_parse(cs[i], &c), 0);
			ck_assert_int_eq(cidr_list_add(&fl, &c), 0);
		}
		ck_assert_int_eq(render_members(cfg, app, &fl, orig, true, &s), 0);
		assert_json(s);
		ck_assert_ptr_nonnull(strstr(s, "{\"cidr\":\"10.0.3.1/32\",\"source\":\"fleet\",\"host\":\"host1\"}"));
		ck_assert_ptr_nonnull(strstr(s, "{\"cidr\":\"10.0.3.2/32\",\"source\":\"runtime\",\"fleet_host\":\"host2\"}"));
		ck_assert_ptr_nonnull(strstr(s, "{\"cidr\":\"10.0.3.3/32\",\"source\":\"runtime\"}"));
		ck_assert_ptr_nonnull(strstr(s, "\"count\":5"));
		free(s);
		ck_assert_int_eq(render_members(cfg, app, &fl, orig, false, &s), 0);
		ck_assert_ptr_nonnull(strstr(s, "10.0.3.1/32"));
		ck_assert_ptr_nonnull(strstr(s, " fleet (host host1)\n"));
		ck_assert_ptr_nonnull(strstr(s, " runtime, fleet (host host2)\n"));
		ck_assert_ptr_null(strstr(s, "10.0.3.1/32                                 runtime"));
		ck_assert_ptr_nonnull(strstr(s, "10.0.3.3/32                                 runtime\n"));
		ck_assert_ptr_nonnull(strstr(s, "group app"));
		free(s);
		cidr_list_free(&fl);
	}
	cidr_list_free(&rt);

	ck_assert_int_eq(render_stats(cfg, cnt, 6, true, &s), 0);
	assert_json(s);
	ck_assert_ptr_nonnull(strstr(s, "\"packets\":10"));
	free(s);
	ck_assert_int_eq(render_stats(cfg, cnt, 6, false, &s), 0);
	ck_assert_ptr_nonnull(strstr(s, "stateful"));
	free(s);
	ck_assert_int_eq(render_stats(cfg, NULL, 0, true, &s), 0);
	assert_json(s);
	free(s);

	diags_init(&d);
	ck_assert_int_eq(render_diags(&d, true, &s), 0);
	assert_json(s);
	ck_assert_ptr_nonnull(strstr(s, "\"ok\":true"));
	free(s);
	diags_add(&d, &pos, "ports: \"70000\" is out of range 0..65535");
	diags_add_file(&d, "sgd.yaml", "no such group\n");
	ck_assert_int_eq(render_diags(&d, true, &s), 0);
	assert_json(s);
	ck_assert_ptr_nonnull(strstr(s, "\"line\":3,\"column\":5"));
	ck_assert_ptr_nonnull(strstr(s, "\"line\":null"));
	free(s);
	ck_assert_int_eq(render_diags(&d, false, &s), 0);
	ck_assert_ptr_nonnull(strstr(s, "groups.d/web.yaml:3:5: ports"));
	free(s);
	diags_free(&d);
	config_free(cfg);
}
END_TEST

/* Every renderer's JSON is valid for every shipped example group too. */
START_TEST(test_shipped_conf)
{
	const char *src = getenv("SRCDIR");
	char dir[512];
	struct sg_config *cfg = NULL;
	struct sg_diags d;
	bool changed;
	char *s;

	if (!src)
		src = ".";
	snprintf(dir, sizeof(dir), "%s/conf", src);
	diags_init(&d);
	if (config_load(dir, &cfg, &d) < 0) {
		diags_print(stderr, &d);
		ck_abort_msg("conf/ does not load");
	}
	diags_free(&d);
	ck_assert_int_eq(render_show(cfg, NULL, true, &s), 0);
	assert_json(s);
	free(s);
	ck_assert_int_eq(render_diff(NULL, cfg, NULL, true, &s, &changed), 0);
	assert_json(s);
	free(s);
	config_free(cfg);
}
END_TEST

/* explain with the words of one command line (split at spaces) */
static char *explain_words(const struct sg_config *cfg, const char *words, bool json,
			   bool *allowed)
{
	char buf[256], *argv[8], *s = NULL, *save = NULL;
	int argc = 0;
	struct sg_diags d;

	snprintf(buf, sizeof(buf), "%s", words);
	for (char *w = strtok_r(buf, " ", &save); w && argc < 8; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	diags_init(&d);
	ck_assert_int_eq(render_explain(cfg, NULL, argc, argv, json, &s, allowed, &d), 0);
	diags_free(&d);
	return s;
}

/* show and explain name the prefix list and the entry a CIDR came from */
START_TEST(test_prefix_list_render)
{
	const char *src = getenv("SRCDIR");
	char dir[512];
	struct sg_config *cfg = NULL;
	struct sg_diags d;
	bool allowed;
	char *s;

	snprintf(dir, sizeof(dir), "%s/tests/corpus/valid/prefix-lists", src ? src : ".");
	diags_init(&d);
	if (config_load(dir, &cfg, &d) < 0) {
		diags_print(stderr, &d);
		ck_abort_msg("the prefix-lists corpus case does not load");
	}
	diags_free(&d);
	ck_assert_int_eq(render_show(cfg, NULL, false, &s), 0);
	ck_assert_ptr_nonnull(strstr(s, "192.0.2.0/24 (prefix list office-ranges: HQ)"));
	ck_assert_ptr_nonnull(strstr(s, "198.51.100.7/32 (prefix list office-ranges)"));
	ck_assert_ptr_nonnull(strstr(s, "203.0.113.0/28 (prefix list monitoring: Prometheus"));
	free(s);
	ck_assert_int_eq(render_show(cfg, NULL, true, &s), 0);
	assert_json(s);
	ck_assert_ptr_nonnull(strstr(s, "\"peer\":\"192.0.2.0/24\",\"peer_group\":false,"
				     "\"peer_members\":null,\"prefix_list\":\"office-ranges\","
				     "\"prefix_list_id\":\"pl-0a1b2c3d\",\"prefix_list_entry\":\"HQ\""));
	ck_assert_ptr_nonnull(strstr(s, "\"peer\":\"10.0.0.0/8\",\"peer_group\":false,"
				     "\"peer_members\":null,\"prefix_list\":null"));
	free(s);

	/* the entry that matched, by address */
	s = explain_words(cfg, "in tcp 443 198.51.100.7", false, &allowed);
	ck_assert(allowed);
	ck_assert_ptr_nonnull(strstr(s, "ALLOWED by group web, ingress rule 1"));
	ck_assert_ptr_nonnull(strstr(s, "from 198.51.100.7/32 (prefix list office-ranges)"));
	free(s);
	s = explain_words(cfg, "in tcp 443 2001:db8:1::5", true, &allowed);
	assert_json(s);
	ck_assert(allowed);
	ck_assert_ptr_nonnull(strstr(s, "\"peer\":\"2001:db8:1::/48\""));
	ck_assert_ptr_nonnull(strstr(s, "\"prefix_list\":\"office-ranges\""));
	free(s);
	/* the next address is in no entry; 10.0.0.0/8 is the rule's own CIDR */
	s = explain_words(cfg, "in tcp 443 198.51.100.8", false, &allowed);
	ck_assert(!allowed);
	free(s);
	s = explain_words(cfg, "in tcp 443 10.1.2.3", false, &allowed);
	ck_assert(allowed);
	ck_assert_ptr_null(strstr(s, "prefix list"));
	free(s);
	/* an icmp rule takes the IPv4 entries, an icmpv6 rule the IPv6 ones */
	s = explain_words(cfg, "in icmp 8 192.0.2.9", false, &allowed);
	ck_assert(allowed);
	ck_assert_ptr_nonnull(strstr(s, "ingress rule 3"));
	ck_assert_ptr_nonnull(strstr(s, "(prefix list office-ranges: HQ)"));
	free(s);
	s = explain_words(cfg, "in icmpv6 128 2001:db8:1::1", false, &allowed);
	ck_assert(allowed);
	ck_assert_ptr_nonnull(strstr(s, "ingress rule 4"));
	free(s);
	s = explain_words(cfg, "out udp 53 203.0.113.1", false, &allowed);
	ck_assert(!allowed);
	free(s);
	config_free(cfg);
}
END_TEST

static Suite *render_suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_json_escape);
	tcase_add_test(tc, test_json_validator_rejects);
	tcase_add_test(tc, test_table_alignment);
	tcase_add_test(tc, test_text_escape);
	tcase_add_test(tc, test_show);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_diff);
	tcase_add_test(tc, test_explain_render);
	tcase_add_test(tc, test_members_stats_diags);
	tcase_add_test(tc, test_shipped_conf);
	tcase_add_test(tc, test_prefix_list_render);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(render_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
