/*
 * test_explain.c — explain_eval against many small configurations: every
 * verdict and the rule it names, implicit allowances, failsafe rules,
 * per-interface groups, peer groups with run-time members, and probe
 * parsing errors.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "explain.h"

/* ---- fixtures: a config dir under /tmp from YAML strings ---- */

static char tmpl_dir[64];

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

static void rm_dir(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* sgd.yaml text, then NULL-terminated pairs of group file name, text. */
static struct sg_config *load_cfg(const char *sgd_yaml, ...)
{
	struct sg_config *cfg = NULL;
	struct sg_diags d;
	char gdir[128];
	va_list ap;
	const char *name;
	int r;

	snprintf(tmpl_dir, sizeof(tmpl_dir), "/tmp/sgC2-explain-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpl_dir));
	snprintf(gdir, sizeof(gdir), "%s/groups.d", tmpl_dir);
	ck_assert_int_eq(mkdir(gdir, 0755), 0);
	write_file(tmpl_dir, "sgd.yaml", sgd_yaml);
	va_start(ap, sgd_yaml);
	while ((name = va_arg(ap, const char *))) {
		const char *text = va_arg(ap, const char *);

		write_file(gdir, name, text);
	}
	va_end(ap);
	diags_init(&d);
	r = config_load(tmpl_dir, &cfg, &d);
	/* remove the files before any assertion can end the test */
	rm_dir(tmpl_dir);
	if (r < 0)
		diags_print(stderr, &d);
	diags_free(&d);
	ck_assert_int_eq(r, 0);
	return cfg;
}

/* Evaluate "explain WORDS..." (split at spaces). */
static int probe(const struct sg_config *cfg, const struct sg_members *m,
		 const char *words, struct sg_match *mt)
{
	char buf[256], *argv[16], *save = NULL, *w;
	struct sg_probe p;
	struct sg_diags d;
	int argc = 0, r;

	snprintf(buf, sizeof(buf), "%s", words);
	for (w = strtok_r(buf, " ", &save); w && argc < 16; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	diags_init(&d);
	r = explain_parse(argc, argv, &p, &d);
	if (r < 0) {
		diags_free(&d);
		return r;
	}
	diags_free(&d);
	/* ifname points into buf: copy before buf goes out of scope */
	if (p.ifname) {
		static char ifn[32];

		snprintf(ifn, sizeof(ifn), "%s", p.ifname);
		p.ifname = ifn;
	}
	ck_assert_int_eq(explain_eval(cfg, m, &p, mt), 0);
	return 0;
}

static void expect_rule(const struct sg_config *cfg, const struct sg_members *m,
			const char *words, const char *group, int rule)
{
	struct sg_match mt;

	ck_assert_int_eq(probe(cfg, m, words, &mt), 0);
	ck_assert_msg(mt.kind == SG_MATCH_RULE, "%s: kind %d, expected a rule", words, mt.kind);
	ck_assert_str_eq(cfg->groups[mt.group_idx].name, group);
	ck_assert_msg(mt.rule_index == rule, "%s: rule %d, expected %d", words, mt.rule_index, rule);
}

static void expect_drop(const struct sg_config *cfg, const struct sg_members *m,
			const char *words)
{
	struct sg_match mt;

	ck_assert_int_eq(probe(cfg, m, words, &mt), 0);
	ck_assert_msg(mt.kind == SG_MATCH_NONE, "%s: allowed (kind %d), expected drop",
		      words, mt.kind);
}

static void expect_implicit(const struct sg_config *cfg, const char *words, const char *name)
{
	struct sg_match mt;

	ck_assert_int_eq(probe(cfg, NULL, words, &mt), 0);
	ck_assert_msg(mt.kind == SG_MATCH_IMPLICIT, "%s: kind %d, expected implicit",
		      words, mt.kind);
	ck_assert_str_eq(mt.implicit, name);
}

static const char web_yaml[] =
	"name: web\n"
	"ingress:\n"
	"  - {protocol: tcp, ports: 80, from: [0.0.0.0/0, \"::/0\"], description: HTTP}\n"
	"  - {protocol: tcp, ports: 443, from: [0.0.0.0/0, \"::/0\"]}\n";

START_TEST(test_web_default_egress)
{
	struct sg_config *cfg = load_cfg("attach: [web]\n", "web.yaml", web_yaml, NULL);
	struct sg_match mt;

	expect_rule(cfg, NULL, "in tcp 80 203.0.113.9", "web", 1);
	expect_rule(cfg, NULL, "in tcp 443 2001:db8::7", "web", 2);
	ck_assert_int_eq(probe(cfg, NULL, "in tcp 443 2001:db8::7", &mt), 0);
	ck_assert_int_eq(mt.peer_idx, 1);	/* ::/0, not 0.0.0.0/0 */
	ck_assert(!mt.ifaces_skipped);
	expect_drop(cfg, NULL, "in tcp 22 203.0.113.9");
	expect_drop(cfg, NULL, "in udp 80 203.0.113.9");
	/* egress omitted: the AWS default allows everything out */
	expect_rule(cfg, NULL, "out udp 53 8.8.8.8", "web", 1);
	expect_rule(cfg, NULL, "out 47 2001:db8::1", "web", 1);
	ck_assert_int_eq(probe(cfg, NULL, "out tcp 25 192.0.2.1", &mt), 0);
	ck_assert(mt.rule->implicit_default);
	config_free(cfg);
}
END_TEST

START_TEST(test_egress_empty_and_restricted)
{
	struct sg_config *cfg = load_cfg("attach: [db, locked]\n",
		"db.yaml",
		"name: db\n"
		"ingress: []\n"
		"egress:\n"
		"  - {protocol: tcp, ports: 443, to: [0.0.0.0/0]}\n",
		"locked.yaml", "name: locked\ningress: []\negress: []\n", NULL);

	expect_rule(cfg, NULL, "out tcp 443 192.0.2.1", "db", 1);
	expect_drop(cfg, NULL, "out tcp 443 2001:db8::1");	/* IPv4 only */
	expect_drop(cfg, NULL, "out tcp 80 192.0.2.1");
	expect_drop(cfg, NULL, "out udp 53 192.0.2.53");
	/* the metadata service is never filtered */
	expect_implicit(cfg, "out tcp 80 169.254.169.254", "metadata");
	expect_implicit(cfg, "out tcp 80 fd00:ec2::254", "metadata");
	config_free(cfg);
}
END_TEST

START_TEST(test_ranges_and_protocols)
{
	struct sg_config *cfg = load_cfg("attach: [r]\n", "r.yaml",
		"name: r\n"
		"ingress:\n"
		"  - {protocol: tcp, ports: \"1000-2000\", from: [10.0.0.0/8]}\n"
		"  - {protocol: udp, ports: all, from: [192.168.0.0/16]}\n"
		"  - {protocol: 47, from: [10.0.0.0/8]}\n"
		"  - {protocol: -1, from: [\"2001:db8:1::/48\"]}\n"
		"egress: []\n", NULL);

	expect_drop(cfg, NULL, "in tcp 999 10.1.2.3");
	expect_rule(cfg, NULL, "in tcp 1000 10.1.2.3", "r", 1);
	expect_rule(cfg, NULL, "in tcp 2000 10.255.255.255", "r", 1);
	expect_drop(cfg, NULL, "in tcp 2001 10.1.2.3");
	expect_drop(cfg, NULL, "in tcp 1500 11.0.0.1");
	expect_rule(cfg, NULL, "in udp 0 192.168.4.4", "r", 2);
	expect_rule(cfg, NULL, "in udp 65535 192.168.4.4", "r", 2);
	expect_drop(cfg, NULL, "in udp 53 192.169.0.1");
	expect_rule(cfg, NULL, "in 47 10.0.0.1", "r", 3);
	expect_drop(cfg, NULL, "in 50 10.0.0.1");
	expect_rule(cfg, NULL, "in 50 2001:db8:1:ffff::1", "r", 4);
	expect_rule(cfg, NULL, "in tcp 22 2001:db8:1::1", "r", 4);
	expect_drop(cfg, NULL, "in tcp 22 2001:db8:2::1");
	config_free(cfg);
}
END_TEST

START_TEST(test_icmp)
{
	struct sg_config *cfg = load_cfg("attach: [i]\n", "i.yaml",
		"name: i\n"
		"ingress:\n"
		"  - {protocol: icmp, icmp_type: 3, icmp_code: 4, from: [0.0.0.0/0]}\n"
		"  - {protocol: icmp, icmp_type: 8, from: [198.51.100.0/24]}\n"
		"  - {protocol: icmpv6, icmp_type: 128, icmp_code: 0, from: [\"2001:db8::/32\"]}\n"
		"  - {protocol: icmp, from: [203.0.113.0/24]}\n", NULL);

	expect_rule(cfg, NULL, "in icmp 3/4 192.0.2.1", "i", 1);
	expect_drop(cfg, NULL, "in icmp 3/3 192.0.2.1");
	expect_drop(cfg, NULL, "in icmp 3 192.0.2.1");	/* code 0 */
	expect_rule(cfg, NULL, "in icmp 8 198.51.100.9", "i", 2);
	expect_rule(cfg, NULL, "in icmp 8/7 198.51.100.9", "i", 2);
	expect_drop(cfg, NULL, "in icmp 0 198.51.100.9");
	expect_rule(cfg, NULL, "in icmpv6 128 2001:db8::5", "i", 3);
	expect_drop(cfg, NULL, "in icmpv6 128/1 2001:db8::5");
	expect_drop(cfg, NULL, "in icmpv6 129 2001:db8::5");
	expect_rule(cfg, NULL, "in icmp 13/0 203.0.113.1", "i", 4);
	/* icmp rules never match tcp */
	expect_drop(cfg, NULL, "in tcp 80 203.0.113.1");
	config_free(cfg);
}
END_TEST

static bool icmp_error(const char *words)
{
	char buf[256], *argv[8], *save = NULL, *w;
	struct sg_probe p;
	struct sg_diags d;
	int argc = 0;
	bool r;

	snprintf(buf, sizeof(buf), "%s", words);
	for (w = strtok_r(buf, " ", &save); w && argc < 8; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	diags_init(&d);
	ck_assert_int_eq(explain_parse(argc, argv, &p, &d), 0);
	diags_free(&d);
	r = explain_is_icmp_error(&p);
	return r;
}

/* The ICMP types conntrack treats as errors: their fate is `related` or
 * `invalid`, never the rules' (engine_roles.sh proves it with packets). */
START_TEST(test_icmp_error_types)
{
	ck_assert(icmp_error("in icmp 3/4 192.0.2.1"));
	ck_assert(icmp_error("in icmp 4 192.0.2.1"));
	ck_assert(icmp_error("in icmp 5/1 192.0.2.1"));
	ck_assert(icmp_error("in icmp 11 192.0.2.1"));
	ck_assert(icmp_error("in icmp 12 192.0.2.1"));
	ck_assert(!icmp_error("in icmp 8 192.0.2.1"));
	ck_assert(!icmp_error("in icmp 0 192.0.2.1"));
	ck_assert(!icmp_error("in icmp 13 192.0.2.1"));
	ck_assert(icmp_error("in icmpv6 1/4 2001:db8::1"));
	ck_assert(icmp_error("in icmpv6 2 2001:db8::1"));
	ck_assert(icmp_error("in icmpv6 127 2001:db8::1"));
	ck_assert(!icmp_error("in icmpv6 128 2001:db8::1"));
	ck_assert(!icmp_error("in icmpv6 135 2001:db8::1"));
	ck_assert(!icmp_error("in tcp 3 192.0.2.1"));
	ck_assert(!icmp_error("in udp 11 192.0.2.1"));
}
END_TEST

START_TEST(test_peer_groups_and_runtime_members)
{
	struct sg_config *cfg = load_cfg("attach: [db]\n",
		"db.yaml",
		"name: db\n"
		"id: sg-0123456789abcdef0\n"
		"ingress:\n"
		"  - {protocol: tcp, ports: 5432, from: [app]}\n"
		"  - {protocol: -1, from: [sg-0123456789abcdef0]}\n"
		"members: [10.0.9.1]\n",
		"app.yaml",
		"name: app\n"
		"ingress: []\n"
		"members: [10.0.1.10, \"2001:db8::10\"]\n", NULL);
	struct sg_members m;
	struct sg_cidr_list lists[2] = { 0 };
	struct sg_cidr c;
	int app = config_find_group(cfg, "app"), db = config_find_group(cfg, "db");
	struct sg_match mt;

	ck_assert_int_ge(app, 0);
	ck_assert_int_ge(db, 0);
	expect_rule(cfg, NULL, "in tcp 5432 10.0.1.10", "db", 1);
	expect_rule(cfg, NULL, "in tcp 5432 2001:db8::10", "db", 1);
	expect_drop(cfg, NULL, "in tcp 5432 10.0.1.11");
	expect_drop(cfg, NULL, "in tcp 5433 10.0.1.10");
	/* the group itself, by id: all traffic among members */
	expect_rule(cfg, NULL, "in udp 9 10.0.9.1", "db", 2);
	ck_assert_int_eq(probe(cfg, NULL, "in tcp 5432 10.0.1.10", &mt), 0);
	ck_assert_int_eq(mt.peer_idx, 0);

	/* effective membership replaces the YAML list when given */
	m.by_group = lists;
	m.n_groups = 2;
	ck_assert_int_eq(cidr_parse("10.0.1.0/28", &c), 0);
	ck_assert_int_eq(cidr_list_add(&lists[app], &c), 0);
	expect_rule(cfg, &m, "in tcp 5432 10.0.1.11", "db", 1);
	expect_drop(cfg, &m, "in tcp 5432 10.0.1.16");
	expect_drop(cfg, &m, "in tcp 5432 2001:db8::10");
	expect_drop(cfg, &m, "in udp 9 10.0.9.1");	/* db's list is empty */
	cidr_list_free(&lists[0]);
	cidr_list_free(&lists[1]);
	config_free(cfg);
}
END_TEST

START_TEST(test_failsafe_and_union)
{
	struct sg_config *cfg = load_cfg(
		"attach: [a, b]\n"
		"failsafe:\n"
		"  - {protocol: tcp, ports: 22, from: [192.0.2.0/24]}\n",
		"a.yaml", "name: a\ningress:\n  - {protocol: tcp, ports: 22, from: [192.0.2.7]}\negress: []\n",
		"b.yaml", "name: b\ningress:\n  - {protocol: tcp, ports: 8080, from: [0.0.0.0/0]}\negress: []\n",
		NULL);
	struct sg_match v[8];
	struct sg_probe p;
	struct sg_diags d;
	char w0[] = "in", w1[] = "tcp", w2[] = "22", w3[] = "192.0.2.7";
	char *argv[] = { w0, w1, w2, w3 };
	size_t n;
	struct sg_match mt;

	ck_assert_int_eq(probe(cfg, NULL, "in tcp 22 192.0.2.99", &mt), 0);
	ck_assert_int_eq(mt.kind, SG_MATCH_FAILSAFE);
	ck_assert_int_eq(mt.rule_index, 1);
	expect_drop(cfg, NULL, "in tcp 22 198.51.100.1");
	expect_rule(cfg, NULL, "in tcp 8080 198.51.100.1", "b", 1);
	/* failsafe is ingress only */
	expect_drop(cfg, NULL, "out tcp 22 192.0.2.99");
	/* all allowances are listed: failsafe first, then group a */
	diags_init(&d);
	ck_assert_int_eq(explain_parse(4, argv, &p, &d), 0);
	diags_free(&d);
	ck_assert_int_eq(explain_eval_all(cfg, NULL, &p, v, 8, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(v[0].kind, SG_MATCH_FAILSAFE);
	ck_assert_int_eq(v[1].kind, SG_MATCH_RULE);
	ck_assert_str_eq(cfg->groups[v[1].group_idx].name, "a");
	/* cap smaller than the count still reports the count */
	ck_assert_int_eq(explain_eval_all(cfg, NULL, &p, v, 1, &n), 0);
	ck_assert_uint_eq(n, 2);
	config_free(cfg);
}
END_TEST

/* --forwarded: the same groups, without the implicit allowances and the
 * failsafe rules (the host's own) */
START_TEST(test_forwarded)
{
	struct sg_config *cfg = load_cfg(
		"attach: [a]\n"
		"failsafe:\n"
		"  - {protocol: tcp, ports: 22, from: [192.0.2.0/24]}\n",
		"a.yaml", "name: a\ningress:\n  - {protocol: tcp, ports: 8080, from: [10.0.0.0/8]}\n"
		"egress:\n  - {protocol: tcp, ports: 443, to: [0.0.0.0/0]}\n",
		NULL);
	struct sg_match mt;

	ck_assert_int_eq(probe(cfg, NULL, "in tcp 22 192.0.2.9", &mt), 0);
	ck_assert_int_eq(mt.kind, SG_MATCH_FAILSAFE);
	expect_drop(cfg, NULL, "in tcp 22 192.0.2.9 --forwarded");
	expect_rule(cfg, NULL, "in tcp 8080 10.1.2.3 --forwarded", "a", 1);
	expect_rule(cfg, NULL, "in tcp 8080 10.1.2.3 -f", "a", 1);
	expect_drop(cfg, NULL, "in tcp 8080 192.0.2.9 -f");
	/* the metadata service is an implicit allowance of the host only */
	ck_assert_int_eq(probe(cfg, NULL, "out tcp 80 169.254.169.254", &mt), 0);
	ck_assert_int_eq(mt.kind, SG_MATCH_IMPLICIT);
	expect_drop(cfg, NULL, "out tcp 80 169.254.169.254 --forwarded");
	expect_rule(cfg, NULL, "out tcp 443 198.51.100.1 --forwarded", "a", 1);
	config_free(cfg);
}
END_TEST

START_TEST(test_interfaces)
{
	struct sg_config *cfg = load_cfg(
		"attach: [web]\n"
		"interfaces:\n"
		"  eth1: [db, web]\n",
		"web.yaml", web_yaml,
		"db.yaml", "name: db\ningress:\n  - {protocol: tcp, ports: 5432, from: [10.0.0.0/8]}\negress: []\n",
		NULL);
	struct sg_match mt;

	/* no interface: only attach groups, and the result says so */
	ck_assert_int_eq(probe(cfg, NULL, "in tcp 5432 10.1.1.1", &mt), 0);
	ck_assert_int_eq(mt.kind, SG_MATCH_NONE);
	ck_assert(mt.ifaces_skipped);
	ck_assert_int_eq(probe(cfg, NULL, "in tcp 80 10.1.1.1", &mt), 0);
	ck_assert_int_eq(mt.kind, SG_MATCH_RULE);
	ck_assert(mt.ifaces_skipped);
	ck_assert_ptr_null(mt.via);
	/* on eth1 the db group applies */
	ck_assert_int_eq(probe(cfg, NULL, "in tcp 5432 10.1.1.1 -i eth1", &mt), 0);
	ck_assert_int_eq(mt.kind, SG_MATCH_RULE);
	ck_assert_str_eq(cfg->groups[mt.group_idx].name, "db");
	ck_assert_str_eq(mt.via, "eth1");
	ck_assert(!mt.ifaces_skipped);
	/* web is attached everywhere: reported as attach, not as eth1 */
	ck_assert_int_eq(probe(cfg, NULL, "in tcp 80 10.1.1.1 -i eth1", &mt), 0);
	ck_assert_ptr_null(mt.via);
	expect_drop(cfg, NULL, "in tcp 5432 10.1.1.1 -i eth0");
	/* db's egress: [] does not remove web's default egress */
	expect_rule(cfg, NULL, "out tcp 5432 10.1.1.1 -i eth1", "web", 1);
	config_free(cfg);
}
END_TEST

START_TEST(test_implicit_switches)
{
	struct sg_config *on = load_cfg("attach: []\n", NULL);
	struct sg_config *off = load_cfg(
		"attach: []\n"
		"implicit: {loopback: false, dhcp: false, ipv6_nd: false, metadata: false}\n", NULL);

	expect_implicit(on, "in udp 68 192.0.2.1", "dhcp");
	expect_implicit(on, "out udp 67 255.255.255.255", "dhcp");
	expect_implicit(on, "in udp 546 fe80::1", "dhcp");
	expect_implicit(on, "out udp 547 ff02::1:2", "dhcp");
	expect_drop(on, NULL, "in udp 67 192.0.2.1");
	expect_implicit(on, "in icmpv6 135 fe80::1", "ipv6_nd");
	expect_implicit(on, "out icmpv6 133 ff02::2", "ipv6_nd");
	expect_implicit(on, "in icmpv6 136 fe80::1", "ipv6_nd");
	expect_drop(on, NULL, "in icmpv6 128 fe80::1");
	/* a redirect only with implicit.ipv6_redirects (default false) */
	expect_drop(on, NULL, "in icmpv6 137 fe80::1");
	expect_drop(on, NULL, "in icmpv6 132 fe80::1");
	expect_drop(on, NULL, "in icmpv6 138 fe80::1");
	expect_implicit(on, "in tcp 5000 127.0.0.1", "loopback");
	expect_implicit(on, "in tcp 5000 ::1", "loopback");
	expect_implicit(on, "in tcp 5000 192.0.2.1 -i lo", "loopback");
	expect_drop(on, NULL, "in tcp 5000 127.0.0.1 -i eth0");
	expect_drop(on, NULL, "in tcp 80 169.254.169.254");	/* metadata: outbound */
	/* the metadata service is tcp/80 and nothing else (issue 18) */
	expect_implicit(on, "out tcp 80 169.254.169.254", "metadata");
	expect_implicit(on, "out tcp 80 fd00:ec2::254", "metadata");
	expect_drop(on, NULL, "out udp 53 169.254.169.254");
	expect_drop(on, NULL, "out tcp 443 169.254.169.254");
	expect_drop(on, NULL, "out udp 80 169.254.169.254");
	expect_drop(on, NULL, "out 47 169.254.169.254");
	expect_drop(on, NULL, "out tcp 80 169.254.169.253");
	/* the Amazon DNS server: udp and tcp 53; the time service: udp 123 */
	expect_implicit(on, "out udp 53 169.254.169.253", "aws_dns");
	expect_implicit(on, "out tcp 53 169.254.169.253", "aws_dns");
	expect_implicit(on, "out udp 53 fd00:ec2::253", "aws_dns");
	expect_implicit(on, "out tcp 53 fd00:ec2::253", "aws_dns");
	expect_drop(on, NULL, "out udp 54 169.254.169.253");
	expect_drop(on, NULL, "out udp 53 169.254.169.123");
	expect_drop(on, NULL, "in udp 53 169.254.169.253");
	expect_implicit(on, "out udp 123 169.254.169.123", "aws_ntp");
	expect_implicit(on, "out udp 123 fd00:ec2::123", "aws_ntp");
	expect_drop(on, NULL, "out tcp 123 169.254.169.123");
	expect_drop(on, NULL, "out udp 123 169.254.169.253");

	expect_drop(off, NULL, "in udp 68 192.0.2.1");
	expect_drop(off, NULL, "in icmpv6 135 fe80::1");
	expect_drop(off, NULL, "in tcp 5000 127.0.0.1");
	expect_drop(off, NULL, "out tcp 80 169.254.169.254");
	/* metadata off leaves the DNS and time services on */
	expect_implicit(off, "out udp 53 169.254.169.253", "aws_dns");
	expect_implicit(off, "out udp 123 169.254.169.123", "aws_ntp");
	config_free(on);
	config_free(off);
}
END_TEST

/* Each new switch alone: ipv6_redirects on, aws_dns and aws_ntp off. */
START_TEST(test_implicit_aws_switches)
{
	struct sg_config *cfg = load_cfg(
		"attach: []\n"
		"implicit: {ipv6_redirects: true, aws_dns: false, aws_ntp: false}\n", NULL);

	expect_implicit(cfg, "in icmpv6 137 fe80::1", "ipv6_redirects");
	expect_implicit(cfg, "out icmpv6 137 fe80::1", "ipv6_redirects");
	expect_implicit(cfg, "in icmpv6 135 fe80::1", "ipv6_nd");
	expect_drop(cfg, NULL, "out udp 53 169.254.169.253");
	expect_drop(cfg, NULL, "out tcp 53 fd00:ec2::253");
	expect_drop(cfg, NULL, "out udp 123 169.254.169.123");
	expect_implicit(cfg, "out tcp 80 169.254.169.254", "metadata");
	config_free(cfg);
}
END_TEST

START_TEST(test_parse_errors)
{
	static const char *const bad[] = {
		"",
		"in",
		"in tcp",
		"in tcp 192.0.2.1",		/* no port */
		"sideways tcp 80 192.0.2.1",
		"in tcp 70000 192.0.2.1",
		"in tcp -1 192.0.2.1",
		"in tcp 80 192.0.2.256",
		"in tcp 80 10.0.0.0/8",		/* a network, not a host */
		"in tcp 80 not-an-address",
		"in all 192.0.2.1",
		"in -1 192.0.2.1",
		"in 256 192.0.2.1",
		"in gre 192.0.2.1",
		"in icmp 192.0.2.1",		/* no type */
		"in icmp 3/256 192.0.2.1",
		"in icmp 3/ 192.0.2.1",
		"in icmp 8 2001:db8::1",	/* family mismatch */
		"in icmpv6 128 192.0.2.1",
		"in 47 5 192.0.2.1",		/* ports on a portless protocol */
		"in tcp 80 192.0.2.1 extra",
		"in tcp 80 192.0.2.1 -i",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sg_match mt;

		ck_assert_msg(probe(NULL, NULL, bad[i], &mt) == -EINVAL,
			      "'%s' was accepted", bad[i]);
	}
}
END_TEST

START_TEST(test_parse_messages)
{
	char w0[] = "in", w1[] = "tcp", w2[] = "99999", w3[] = "192.0.2.1";
	char *argv[] = { w0, w1, w2, w3 };
	struct sg_probe p;
	struct sg_diags d;

	diags_init(&d);
	ck_assert_int_eq(explain_parse(4, argv, &p, &d), -EINVAL);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_ptr_nonnull(strstr(d.v[0].msg, "99999"));
	ck_assert_ptr_nonnull(strstr(d.v[0].msg, "0..65535"));
	diags_free(&d);
}
END_TEST

/* The daemon passes its request's strings: parsing must not write. */
START_TEST(test_parse_readonly_argv)
{
	static const char *const ro[] = { "in", "icmp", "3/4", "192.0.2.1", "-i", "eth0" };
	struct sg_probe p;
	struct sg_diags d;

	diags_init(&d);
	ck_assert_int_eq(explain_parse(6, (char **)ro, &p, &d), 0);
	ck_assert_int_eq(p.icmp_type, 3);
	ck_assert_int_eq(p.icmp_code, 4);
	ck_assert_int_eq(p.family, AF_INET);
	ck_assert_str_eq(p.ifname, "eth0");
	diags_free(&d);
}
END_TEST

START_TEST(test_eval_rejects_bad_probe)
{
	struct sg_config *cfg = load_cfg("attach: []\n", NULL);
	struct sg_probe p = { .dir = SG_DIR_IN, .proto = 6, .port = 80, .family = 0 };
	struct sg_match mt;

	ck_assert_int_eq(explain_eval(cfg, NULL, &p, &mt), -EINVAL);
	p.family = AF_INET;
	p.port = 70000;
	ck_assert_int_eq(explain_eval(cfg, NULL, &p, &mt), -EINVAL);
	config_free(cfg);
}
END_TEST

static Suite *explain_suite(void)
{
	Suite *s = suite_create("explain");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_web_default_egress);
	tcase_add_test(tc, test_egress_empty_and_restricted);
	tcase_add_test(tc, test_ranges_and_protocols);
	tcase_add_test(tc, test_icmp);
	tcase_add_test(tc, test_icmp_error_types);
	tcase_add_test(tc, test_peer_groups_and_runtime_members);
	tcase_add_test(tc, test_failsafe_and_union);
	tcase_add_test(tc, test_interfaces);
	tcase_add_test(tc, test_implicit_switches);
	tcase_add_test(tc, test_implicit_aws_switches);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_parse_messages);
	tcase_add_test(tc, test_parse_readonly_argv);
	tcase_add_test(tc, test_eval_rejects_bad_probe);
	tcase_add_test(tc, test_forwarded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(explain_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
