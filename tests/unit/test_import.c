/*
 * test_import.c — `sgctl import aws` against sample documents written
 * from the describe-security-groups API shape (tests/import/):
 *
 *   CASE.json + CASE.expected/ + CASE.stderr   import, compare every
 *       generated file and the report with the golden ones, then load
 *       the files (with CASE.local/ when the import asks for a local
 *       definition) through config_load and check the mapped model;
 *   bad-*.json + bad-*.stderr   documents of the wrong shape: exit 1,
 *       the exact error, and not one file written.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "model.h"
#include "../../cli/import_aws.h"
#include "../../cli/json_tree.h"

struct import_case {
	const char *name;
	int exit_code;
	size_t n_files;
};

static const struct import_case ok_cases[] = {
	{ "basic", 0, 4 },
	{ "odd", 1, 4 },
	{ "names", 0, 8 },
};

static const char *const bad_cases[] = {
	"bad-notjson", "bad-missing-id", "bad-port", "bad-cidr", "bad-icmp-code",
	"bad-rules-api",
};

/* ---- helpers ----------------------------------------------------------- */

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void write_all(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot create %s", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The test data directory; tests run with it as the working directory so
 * that the reported file names are the relative ones of the goldens. */
static void enter_import_dir(void)
{
	const char *src = getenv("SRCDIR");
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/tests/import", src ? src : ".");
	ck_assert_msg(chdir(dir) == 0, "chdir %s: %s", dir, strerror(errno));
}

static void make_tmp(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/sgd-test-import-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* Remove dir and everything under it (files and directories only). */
static void rm_tree(const char *dir)
{
	char path[4096];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static size_t count_files(const char *dir)
{
	struct dirent *e;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Run import_aws_main with stdout and stderr sent to files; restores the
 * descriptors so Check's own output is unaffected. */
static int run_import(int argc, char **argv, bool json, const char *out, const char *err)
{
	int so, se, fo, fe, rc;

	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert(so >= 0 && se >= 0 && fo >= 0 && fe >= 0);
	dup2(fo, 1);
	dup2(fe, 2);
	rc = import_aws_main(argc, argv, json);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fo);
	close(fe);
	return rc;
}

/* Import CASE.json into tmp/groups.d; returns the exit code. */
static int import_case(const char *name, const char *tmp, bool json)
{
	char in[256], gd[4096], out[4096], err[4096];
	char *argv[5];

	snprintf(in, sizeof(in), "%s.json", name);
	snprintf(gd, sizeof(gd), "%s/groups.d", tmp);
	snprintf(out, sizeof(out), "%s/stdout", tmp);
	snprintf(err, sizeof(err), "%s/stderr", tmp);
	argv[0] = (char *)"aws";
	argv[1] = in;
	argv[2] = (char *)"-o";
	argv[3] = gd;
	argv[4] = NULL;
	return run_import(4, argv, json, out, err);
}

static void copy_dir_files(const char *from, const char *to)
{
	char src[4096], dst[4096];
	struct dirent *e;
	DIR *d = opendir(from);
	char *text;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(src, sizeof(src), "%s/%s", from, e->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, e->d_name);
		text = read_all(src);
		write_all(dst, text);
		free(text);
	}
	closedir(d);
}

static struct sg_config *load_tmp(const char *tmp)
{
	struct sg_config *cfg = NULL;
	struct sg_diags d;
	int r;

	diags_init(&d);
	r = config_load(tmp, &cfg, &d);
	if (r != 0)
		diags_print(stderr, &d);
	diags_free(&d);
	ck_assert_msg(r == 0, "config_load of the imported files failed: %d", r);
	return cfg;
}

static const struct sg_group *group(const struct sg_config *cfg, const char *name)
{
	int i = config_find_group(cfg, name);

	ck_assert_msg(i >= 0, "group %s missing", name);
	return &cfg->groups[i];
}

/* ---- golden comparison ------------------------------------------------- */

START_TEST(test_import_golden)
{
	const struct import_case *c = &ok_cases[_i];
	char tmp[256], exp_dir[256], path[4096], golden[512];
	struct sg_config *cfg;
	struct dirent *e;
	char *want, *got;
	DIR *d;
	size_t n = 0;
	int rc;

	enter_import_dir();
	make_tmp(tmp, sizeof(tmp));
	rc = import_case(c->name, tmp, false);
	ck_assert_int_eq(rc, c->exit_code);

	/* every golden file is generated, byte for byte ... */
	snprintf(exp_dir, sizeof(exp_dir), "%s.expected", c->name);
	d = opendir(exp_dir);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(golden, sizeof(golden), "%s/%s", exp_dir, e->d_name);
		snprintf(path, sizeof(path), "%s/groups.d/%s", tmp, e->d_name);
		want = read_all(golden);
		got = read_all(path);
		ck_assert_msg(strcmp(want, got) == 0, "%s differs from %s:\n%s", path, golden, got);
		free(want);
		free(got);
		n++;
	}
	closedir(d);
	/* ... and nothing else */
	ck_assert_uint_eq(n, c->n_files);
	snprintf(path, sizeof(path), "%s/groups.d", tmp);
	ck_assert_uint_eq(count_files(path), c->n_files);

	/* the report names everything, exactly as the golden says */
	snprintf(golden, sizeof(golden), "%s.stderr", c->name);
	snprintf(path, sizeof(path), "%s/stderr", tmp);
	want = read_all(golden);
	got = read_all(path);
	ck_assert_str_eq(got, want);
	free(want);
	free(got);

	/* and they load, with CASE.local/ where the report asks for it */
	snprintf(path, sizeof(path), "%s/sgd.yaml", tmp);
	write_all(path, "attach: []\n");
	snprintf(golden, sizeof(golden), "%s.local", c->name);
	snprintf(path, sizeof(path), "%s/groups.d", tmp);
	copy_dir_files(golden, path);
	cfg = load_tmp(tmp);
	ck_assert_uint_ge(cfg->n_groups, c->n_files);
	config_free(cfg);
	rm_tree(tmp);
}
END_TEST

/* ---- the files load, and mean what AWS meant --------------------------- */

static struct sg_config *import_and_load(const char *name, char *tmp, size_t len)
{
	char path[4096], local[256];
	int rc;

	enter_import_dir();
	make_tmp(tmp, len);
	rc = import_case(name, tmp, false);
	ck_assert_int_le(rc, 1);
	snprintf(path, sizeof(path), "%s/sgd.yaml", tmp);
	write_all(path, "attach: []\n");
	snprintf(local, sizeof(local), "%s.local", name);
	snprintf(path, sizeof(path), "%s/groups.d", tmp);
	copy_dir_files(local, path);
	return load_tmp(tmp);
}

START_TEST(test_import_basic_loads)
{
	char tmp[256];
	struct sg_config *cfg = import_and_load("basic", tmp, sizeof(tmp));
	const struct sg_group *web, *db, *def3, *def4;

	ck_assert_uint_eq(cfg->n_groups, 4);
	web = group(cfg, "web");
	db = group(cfg, "db");
	def3 = group(cfg, "default-sg-0a1b2c3d4e5f60003");
	def4 = group(cfg, "sg-0a1b2c3d4e5f60004");	/* by id */

	ck_assert_str_eq(web->id, "sg-0a1b2c3d4e5f60001");
	/* IpRanges and Ipv6Ranges with one description: one rule, two peers */
	ck_assert_uint_eq(web->n_ingress, 4);
	ck_assert_int_eq(web->ingress[0].proto, SG_PROTO_TCP);
	ck_assert_int_eq(web->ingress[0].port_lo, 80);
	ck_assert_int_eq(web->ingress[0].port_hi, 80);
	ck_assert_uint_eq(web->ingress[0].n_peers, 2);
	ck_assert_int_eq(web->ingress[0].peers[1].cidr.family, AF_INET6);
	ck_assert_str_eq(web->ingress[0].description, "HTTP from anywhere");
	ck_assert_ptr_null(web->ingress[1].description);
	/* peers grouped by description: admins (2) and bastion (1) */
	ck_assert_uint_eq(web->ingress[2].n_peers, 2);
	ck_assert_str_eq(web->ingress[3].description, "bastion");
	/* AWS's explicit default egress stays explicit: IPv4 only */
	ck_assert(!web->egress_omitted);
	ck_assert_uint_eq(web->n_egress, 1);
	ck_assert_int_eq(web->egress[0].proto, SG_PROTO_ALL);
	ck_assert_uint_eq(web->egress[0].n_peers, 1);
	ck_assert_int_eq(web->egress[0].peers[0].cidr.family, AF_INET);

	/* a group reference by GroupId becomes the group's name */
	ck_assert_int_eq(db->ingress[0].peers[0].kind, SG_PEER_GROUP);
	ck_assert_str_eq(db->ingress[0].peers[0].group_ref, "web");
	ck_assert_int_eq(db->ingress[0].peers[0].group_idx, config_find_group(cfg, "web"));
	/* IpPermissionsEgress: [] is egress: [], no default */
	ck_assert(!db->egress_omitted);
	ck_assert_uint_eq(db->n_egress, 0);

	/* self-reference, all traffic */
	ck_assert_int_eq(def3->ingress[0].proto, SG_PROTO_ALL);
	ck_assert_int_eq(def3->ingress[0].peers[0].group_idx, (int)(def3 - cfg->groups));
	ck_assert_str_eq(def3->description, "default VPC security group (AWS name: default)");
	ck_assert_uint_eq(def4->n_ingress, 0);
	config_free(cfg);
	rm_tree(tmp);
}
END_TEST

START_TEST(test_import_odd_loads)
{
	char tmp[256];
	struct sg_config *cfg = import_and_load("odd", tmp, sizeof(tmp));
	const struct sg_group *cl, *lb, *app, *legacy;
	const struct sg_rule *r;

	ck_assert_uint_eq(cfg->n_groups, 5);	/* 4 imported + the local bastion */
	cl = group(cfg, "cluster");
	lb = group(cfg, "Front-LB-prod");
	app = group(cfg, "app");
	legacy = group(cfg, "legacy");

	ck_assert_uint_eq(cl->n_ingress, 9);
	/* ICMP 3/4: FromPort is the type, ToPort the code */
	r = &cl->ingress[1];
	ck_assert_int_eq(r->proto, SG_PROTO_ICMP);
	ck_assert_int_eq(r->icmp_type, 3);
	ck_assert_int_eq(r->icmp_code, 4);
	/* ICMP 8/-1: any code; the IPv6 peer of the icmp rule is left out */
	r = &cl->ingress[2];
	ck_assert_int_eq(r->icmp_type, 8);
	ck_assert_int_eq(r->icmp_code, -1);
	ck_assert_uint_eq(r->n_peers, 1);
	/* ICMP -1/-1 from the group itself */
	r = &cl->ingress[3];
	ck_assert_int_eq(r->proto, SG_PROTO_ICMP);
	ck_assert_int_eq(r->icmp_type, -1);
	ck_assert_int_eq(r->icmp_code, -1);
	ck_assert_int_eq(r->peers[0].group_idx, (int)(cl - cfg->groups));
	/* ICMPv6 128/0 */
	r = &cl->ingress[4];
	ck_assert_int_eq(r->proto, SG_PROTO_ICMPV6);
	ck_assert_int_eq(r->icmp_type, 128);
	ck_assert_int_eq(r->icmp_code, 0);
	/* "58" is icmpv6 */
	ck_assert_int_eq(cl->ingress[5].proto, SG_PROTO_ICMPV6);
	/* 0-65535 stays the full range */
	r = &cl->ingress[6];
	ck_assert_int_eq(r->port_lo, 0);
	ck_assert_int_eq(r->port_hi, 65535);
	ck_assert_int_eq(cl->ingress[7].port_lo, 1024);
	ck_assert_int_eq(cl->ingress[8].proto, 50);
	ck_assert_int_eq(cl->ingress[8].port_lo, -1);
	/* egress: the 443 rule kept, the prefix-list-only one left out */
	ck_assert_uint_eq(cl->n_egress, 1);

	/* groups referencing each other */
	ck_assert_uint_eq(lb->n_egress, 2);
	ck_assert_int_eq(lb->egress[0].peers[0].group_idx, (int)(app - cfg->groups));
	ck_assert_int_eq(app->ingress[0].peers[0].group_idx, (int)(lb - cfg->groups));
	ck_assert_int_eq(app->ingress[0].port_lo, 8080);
	ck_assert_int_eq(app->ingress[0].port_hi, 8081);
	/* the unresolved cross-account id resolves to the local definition */
	ck_assert_int_eq(app->ingress[2].peers[0].group_idx,
			 config_find_group(cfg, "shared-bastion"));
	/* EC2-Classic: no IpPermissionsEgress key = egress omitted */
	ck_assert(legacy->egress_omitted);
	ck_assert(lb->description && strstr(lb->description, "AWS name: Front LB (prod)"));
	config_free(cfg);
	rm_tree(tmp);
}
END_TEST

/* Names and descriptions come back from the files exactly as AWS had them. */
START_TEST(test_import_names_roundtrip)
{
	char tmp[256];
	struct sg_config *cfg = import_and_load("names", tmp, sizeof(tmp));
	const struct sg_group *u = group(cfg, "n-c-d-gr-ppe");

	ck_assert_str_eq(u->description,
			 "Beschreibung mit Umlauten, \xE2\x80\x9Cquotes\xE2\x80\x9D, a line\nbreak "
			 "and a \xC2\x85 NEL (AWS name: \xC3\x9Cn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9 "
			 "\xE2\x80\x93 gr\xC3\xBCppe)");
	ck_assert_str_eq(u->ingress[0].description,
			 "\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x80\xA8 LS");
	ck_assert_str_eq(u->id, "sg-0e000000000000007");
	ck_assert_int_ge(config_find_group(cfg, "group-123"), 0);
	ck_assert_int_ge(config_find_group(cfg, "sg-12345678"), 0);
	ck_assert_str_eq(group(cfg, "web-server-sg-0e000000000000002")->ingress[0].peers[0].group_ref,
			 "web-server-sg-0e000000000000001");
	config_free(cfg);
	rm_tree(tmp);
}
END_TEST

/* ---- --json ------------------------------------------------------------ */

static bool json_has_problem(const struct jt_node *probs, const char *kind,
			     const char *what, const char *action)
{
	size_t i;

	for (i = 0; i < probs->n; i++) {
		const struct jt_node *p = &probs->kids[i];
		const struct jt_node *k = jt_get(p, "kind"), *w = jt_get(p, "what");
		const struct jt_node *a = jt_get(p, "action");

		if (k && w && a && strcmp(k->str, kind) == 0 && strcmp(w->str, what) == 0 &&
		    strcmp(a->str, action) == 0)
			return true;
	}
	return false;
}

START_TEST(test_import_json)
{
	char tmp[256], path[4096], err[256];
	struct jt_node root;
	const struct jt_node *probs, *groups;
	char *text;
	int rc;

	enter_import_dir();
	make_tmp(tmp, sizeof(tmp));
	rc = import_case("odd", tmp, true);
	ck_assert_int_eq(rc, 1);
	snprintf(path, sizeof(path), "%s/stdout", tmp);
	text = read_all(path);
	ck_assert_msg(jt_parse(text, strlen(text), &root, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(jt_get(&root, "ok")->str, "false");
	ck_assert_str_eq(jt_get(&root, "exit_code")->str, "1");
	groups = jt_get(&root, "groups");
	ck_assert_uint_eq(groups->n, 4);
	ck_assert_str_eq(jt_get(&groups->kids[1], "name")->str, "Front-LB-prod");
	ck_assert_str_eq(jt_get(&groups->kids[2], "egress_rules")->str, "default");
	probs = jt_get(&root, "problems");
	ck_assert_ptr_nonnull(probs);
	ck_assert_uint_eq(probs->n, 11);
	ck_assert(json_has_problem(probs, "prefix_list", "pl-0123456789abcdef0", "skipped"));
	ck_assert(json_has_problem(probs, "prefix_list", "pl-00000000000000001", "skipped"));
	ck_assert(json_has_problem(probs, "unresolved_group", "sg-0c0000000000000ff", "kept"));
	ck_assert(json_has_problem(probs, "unknown_protocol", "gre", "skipped"));
	ck_assert(json_has_problem(probs, "unknown_group_name", "monitoring", "skipped"));
	ck_assert(json_has_problem(probs, "renamed", "_legacy", "renamed"));
	ck_assert(json_has_problem(probs, "host_bits", "10.1.2.3/16", "normalized"));
	ck_assert(json_has_problem(probs, "no_peers", "tcp", "ignored"));
	ck_assert(json_has_problem(probs, "wrong_family", "2001:db8::/32", "ignored"));
	jt_free(&root);
	free(text);
	rm_tree(tmp);
}
END_TEST

/* ---- documents of the wrong shape -------------------------------------- */

START_TEST(test_import_bad)
{
	const char *name = bad_cases[_i];
	char tmp[256], path[4096], golden[256];
	char *want, *got;
	int rc;

	enter_import_dir();
	make_tmp(tmp, sizeof(tmp));
	rc = import_case(name, tmp, false);
	ck_assert_int_eq(rc, 1);
	snprintf(path, sizeof(path), "%s/groups.d", tmp);
	ck_assert_uint_eq(count_files(path), 0);
	snprintf(golden, sizeof(golden), "%s.stderr", name);
	snprintf(path, sizeof(path), "%s/stderr", tmp);
	want = read_all(golden);
	got = read_all(path);
	ck_assert_str_eq(got, want);
	free(want);
	free(got);
	rm_tree(tmp);
}
END_TEST

START_TEST(test_import_usage)
{
	char tmp[256], out[4096], err[4096];
	char *none[] = { (char *)"aws", NULL };
	char *extra[] = { (char *)"aws", (char *)"a.json", (char *)"b.json", NULL };
	char *opt[] = { (char *)"aws", (char *)"--frobnicate", (char *)"a.json", NULL };
	char *noarg[] = { (char *)"aws", (char *)"a.json", (char *)"-o", NULL };
	char *help[] = { (char *)"aws", (char *)"--help", NULL };
	char *missing[] = { (char *)"aws", (char *)"/nonexistent/sg.json", NULL };

	make_tmp(tmp, sizeof(tmp));
	snprintf(out, sizeof(out), "%s/stdout", tmp);
	snprintf(err, sizeof(err), "%s/stderr", tmp);
	ck_assert_int_eq(run_import(1, none, false, out, err), 2);
	ck_assert_int_eq(run_import(3, extra, false, out, err), 2);
	ck_assert_int_eq(run_import(3, opt, false, out, err), 2);
	ck_assert_int_eq(run_import(3, noarg, false, out, err), 2);
	ck_assert_int_eq(run_import(2, help, false, out, err), 0);
	ck_assert_int_eq(run_import(2, missing, false, out, err), 1);
	rm_tree(tmp);
}
END_TEST

/* ---- the JSON reader's caps -------------------------------------------- */

START_TEST(test_json_hostile)
{
	size_t depth = 100000, i;
	char *deep = malloc(depth * 2 + 1);
	struct jt_node root;
	char err[256];

	ck_assert_ptr_nonnull(deep);
	for (i = 0; i < depth; i++) {
		deep[i] = '[';
		deep[depth + i] = ']';
	}
	deep[depth * 2] = '\0';
	ck_assert_int_eq(jt_parse(deep, depth * 2, &root, err, sizeof(err)), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "nested deeper than"));
	free(deep);
	ck_assert_int_eq(jt_parse("{\"a\": &x [1], \"b\": *x}", 22, &root, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(jt_parse("{\"a\": 1, \"a\": 2}", 16, &root, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "duplicate key"));
	ck_assert_int_eq(jt_parse("{\"a\": yes}", 10, &root, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(jt_parse("", 0, &root, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(jt_parse("{\"a\":[1,-2.5e3,\"x\\/y\"]}", 23, &root, err, sizeof(err)), 0);
	ck_assert_str_eq(jt_get(&root, "a")->kids[2].str, "x/y");
	ck_assert(jt_get(&root, "a")->kids[2].quoted);
	ck_assert(!jt_get(&root, "a")->kids[1].quoted);
	jt_free(&root);
	/* raw NEL, LS, DEL and BOM inside a string are kept as they are, not
	 * read as YAML line breaks or refused as YAML control characters */
	ck_assert_int_eq(jt_parse("[\"a \xC2\x85 b \xE2\x80\xA8 c\x7F\xEF\xBB\xBF\"]", 20,
				  &root, err, sizeof(err)), 0);
	ck_assert_str_eq(root.kids[0].str, "a \xC2\x85 b \xE2\x80\xA8 c\x7F\xEF\xBB\xBF");
	jt_free(&root);
}
END_TEST

static Suite *import_suite(void)
{
	Suite *s = suite_create("import");
	TCase *tc = tcase_create("aws");

	tcase_set_timeout(tc, 0);	/* no timer: meson's timeout is the hang guard */
	tcase_add_loop_test(tc, test_import_golden, 0,
			    (int)(sizeof(ok_cases) / sizeof(ok_cases[0])));
	tcase_add_test(tc, test_import_basic_loads);
	tcase_add_test(tc, test_import_odd_loads);
	tcase_add_test(tc, test_import_names_roundtrip);
	tcase_add_test(tc, test_import_json);
	tcase_add_loop_test(tc, test_import_bad, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_import_usage);
	tcase_add_test(tc, test_json_hostile);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(import_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
