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
#include "../../cli/import_map.h"
#include "../../cli/json_tree.h"

/* CASE.json imported with args (NULL-terminated, may be NULL); the
 * group files are compared with CASE.expected/, the prefix lists with
 * CASE.expected-lists/ (n_lists files). */
struct import_case {
	const char *name;
	int exit_code;
	size_t n_files;
	size_t n_lists;
	const char *const *args;
};

static const char *const pl_args[] = {
	"--prefix-lists", "prefix-lists.describe.json",
	"--prefix-lists", "pl-0a1b2c3d=prefix-lists.entries-office.json",
	"--prefix-lists", "pl-00000000000000002=prefix-lists.entries-v6.json",
	"--prefix-lists", "pl-0e0e0e0e=prefix-lists.entries-empty.json",
	NULL,
};

static const struct import_case ok_cases[] = {
	{ "basic", 0, 4, 0, NULL },
	{ "odd", 1, 4, 0, NULL },
	{ "names", 0, 8, 0, NULL },
	{ "prefix-lists", 1, 2, 2, pl_args },
	{ "bare-list", 0, 2, 0, NULL },
	{ "single-group", 0, 1, 0, NULL },
	{ "rules", 0, 2, 0, NULL },
	{ "nulls", 0, 2, 0, NULL },
	{ "bad-ids", 1, 2, 0, NULL },
	{ "unicode", 0, 1, 0, NULL },
};

static const char *const noid_args[] = {
	"--prefix-lists", "prefix-lists.entries-office.json", NULL,
};

static const struct {
	const char *name;
	const char *const *args;
} bad_cases[] = {
	{ "bad-notjson", NULL }, { "bad-missing-id", NULL }, { "bad-port", NULL },
	{ "bad-cidr", NULL }, { "bad-icmp-code", NULL }, { "bad-utf16", NULL },
	{ "bad-trailing-comma", NULL }, { "bad-comment", NULL }, { "bad-yaml", NULL },
	{ "bad-lists-noid", noid_args },
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

/* Import CASE.json into tmp/groups.d (lists: tmp/prefix_lists.d) with
 * the extra args; returns the exit code. */
static int import_case_args(const char *name, const char *tmp, bool json,
			    const char *const *args)
{
	char in[256], gd[4096], out[4096], err[4096];
	char *argv[32];
	int argc = 0;

	snprintf(in, sizeof(in), "%s.json", name);
	snprintf(gd, sizeof(gd), "%s/groups.d", tmp);
	snprintf(out, sizeof(out), "%s/stdout", tmp);
	snprintf(err, sizeof(err), "%s/stderr", tmp);
	argv[argc++] = (char *)"aws";
	argv[argc++] = in;
	argv[argc++] = (char *)"-o";
	argv[argc++] = gd;
	for (; args && *args && argc < 31; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	return run_import(argc, argv, json, out, err);
}

static int import_case(const char *name, const char *tmp, bool json)
{
	const char *const *args = NULL;

	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++)
		if (strcmp(ok_cases[i].name, name) == 0)
			args = ok_cases[i].args;
	return import_case_args(name, tmp, json, args);
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

/* CASE.local-lists/ into tmp/prefix_lists.d: the definitions a kept
 * prefix list id needs to load. */
static void copy_local_lists(const char *name, const char *tmp)
{
	char from[512], to[4096];

	snprintf(from, sizeof(from), "%s.local-lists", name);
	snprintf(to, sizeof(to), "%s/prefix_lists.d", tmp);
	mkdir(to, 0755);
	copy_dir_files(from, to);
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

/* Every file of golden dir exp_dir equals the one of the same name in
 * out_dir, and out_dir holds n files, no more. */
static void compare_dir(const char *exp_dir, const char *out_dir, size_t n_want)
{
	char path[4096], golden[512];
	struct dirent *e;
	char *want, *got;
	size_t n = 0;
	DIR *d = opendir(exp_dir);

	if (n_want)
		ck_assert_msg(d != NULL, "%s is missing", exp_dir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(golden, sizeof(golden), "%s/%s", exp_dir, e->d_name);
		snprintf(path, sizeof(path), "%s/%s", out_dir, e->d_name);
		want = read_all(golden);
		got = read_all(path);
		ck_assert_msg(strcmp(want, got) == 0, "%s differs from %s:\n%s", path, golden, got);
		free(want);
		free(got);
		n++;
	}
	if (d)
		closedir(d);
	ck_assert_uint_eq(n, n_want);
	ck_assert_uint_eq(count_files(out_dir), n_want);
}

START_TEST(test_import_golden)
{
	const struct import_case *c = &ok_cases[_i];
	char tmp[256], exp_dir[256], path[4096], golden[512];
	struct sg_config *cfg;
	char *want, *got;
	int rc;

	enter_import_dir();
	make_tmp(tmp, sizeof(tmp));
	rc = import_case(c->name, tmp, false);
	ck_assert_int_eq(rc, c->exit_code);

	/* every golden file is generated, byte for byte, and nothing else */
	snprintf(exp_dir, sizeof(exp_dir), "%s.expected", c->name);
	snprintf(path, sizeof(path), "%s/groups.d", tmp);
	compare_dir(exp_dir, path, c->n_files);
	snprintf(exp_dir, sizeof(exp_dir), "%s.expected-lists", c->name);
	snprintf(path, sizeof(path), "%s/prefix_lists.d", tmp);
	compare_dir(exp_dir, path, c->n_lists);

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
	copy_local_lists(c->name, tmp);
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
	copy_local_lists(name, tmp);
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
	lb = group(cfg, "front-lb-prod");
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
	/* egress: the 443 rule, and the two prefix lists kept by id: they
	 * load with the local definitions (odd.local-lists/) */
	ck_assert_uint_eq(cl->n_egress, 3);
	ck_assert_uint_eq(cl->egress[1].n_peers, 1);
	ck_assert_int_eq(cl->egress[1].peers[0].plist_idx, config_find_plist(cfg, "s3"));
	ck_assert_uint_eq(cl->egress[2].n_peers, 2);
	ck_assert_int_eq(cl->egress[2].peers[1].plist_idx, config_find_plist(cfg, "partners"));

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
	const struct sg_group *u = group(cfg, "unicode-gruppe");

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
	ck_assert_str_eq(jt_get(&groups->kids[1], "name")->str, "front-lb-prod");
	ck_assert_str_eq(jt_get(&groups->kids[2], "egress_rules")->str, "default");
	probs = jt_get(&root, "problems");
	ck_assert_ptr_nonnull(probs);
	ck_assert_uint_eq(probs->n, 11);
	ck_assert(json_has_problem(probs, "prefix_list", "pl-0123456789abcdef0", "kept"));
	ck_assert(json_has_problem(probs, "prefix_list", "pl-00000000000000001", "kept"));
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
	const char *name = bad_cases[_i].name;
	char tmp[256], path[4096], golden[256];
	char *want, *got;
	int rc;

	enter_import_dir();
	make_tmp(tmp, sizeof(tmp));
	rc = import_case_args(name, tmp, false, bad_cases[_i].args);
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

/* ---- prefix lists, shapes, names --------------------------------------- */

/* --prefix-lists: lists with entries are written and referenced by name,
 * and load as the entries of the rules that name them */
START_TEST(test_import_prefix_lists_load)
{
	char tmp[256];
	struct sg_config *cfg = import_and_load("prefix-lists", tmp, sizeof(tmp));
	const struct sg_group *web = group(cfg, "web"), *db = group(cfg, "db");
	const struct sg_plist *pl;
	const struct sg_plist_entry *e;
	int office = config_find_plist(cfg, "office-ranges");

	ck_assert_uint_eq(cfg->n_plists, 3);	/* 2 imported + the local s3 */
	ck_assert_int_ge(office, 0);
	ck_assert_int_eq(config_find_plist(cfg, "pl-0a1b2c3d"), office);
	ck_assert_uint_eq(cfg->plists[office].n_entries, 2);	/* the duplicate went */
	/* web: tcp/443 from 10.0.0.0/8 and the office list, one description */
	ck_assert_uint_eq(web->n_ingress, 1);
	ck_assert_uint_eq(web->ingress[0].n_peers, 3);
	e = config_peer_entry(cfg, &web->ingress[0].peers[1], &pl);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(pl->id, "pl-0a1b2c3d");
	ck_assert_str_eq(e->description, "HQ");
	/* egress: S3 by its kept id (local definition), all to the v6 list */
	ck_assert_uint_eq(web->n_egress, 2);
	ck_assert_int_eq(web->egress[0].peers[0].plist_idx, config_find_plist(cfg, "s3"));
	ck_assert_int_eq(web->egress[1].peers[0].plist_idx,
			 config_find_plist(cfg, "pl-00000000000000002"));
	ck_assert_uint_eq(db->ingress[0].n_peers, 3);	/* web, then 2 entries */
	ck_assert_int_eq(db->ingress[0].peers[0].kind, SG_PEER_GROUP);
	config_free(cfg);
	rm_tree(tmp);
}
END_TEST

/* The other shapes mean what AWS meant */
START_TEST(test_import_shapes_load)
{
	char tmp[256];
	struct sg_config *cfg;
	const struct sg_group *g;

	cfg = import_and_load("rules", tmp, sizeof(tmp));
	ck_assert_uint_eq(cfg->n_groups, 2);
	g = group(cfg, "sg-0d000000000000006");
	ck_assert_uint_eq(g->n_ingress, 2);
	ck_assert_uint_eq(g->n_egress, 1);
	ck_assert_str_eq(g->ingress[0].description, "admins");
	g = group(cfg, "sg-0d000000000000007");
	ck_assert_int_eq(g->ingress[0].peers[0].group_idx,
			 config_find_group(cfg, "sg-0d000000000000006"));
	ck_assert(!g->egress_omitted);
	ck_assert_uint_eq(g->n_egress, 0);
	config_free(cfg);
	rm_tree(tmp);

	cfg = import_and_load("nulls", tmp, sizeof(tmp));
	g = group(cfg, "go-sdk");
	/* "IpPermissionsEgress": null is no outbound rule, never "all" */
	ck_assert(!g->egress_omitted);
	ck_assert_uint_eq(g->n_egress, 0);
	ck_assert_uint_eq(g->n_ingress, 2);
	ck_assert_ptr_null(g->description);
	ck_assert_int_eq(g->ingress[1].proto, SG_PROTO_ALL);
	ck_assert_uint_eq(group(cfg, "empty")->n_ingress, 0);
	config_free(cfg);
	rm_tree(tmp);

	cfg = import_and_load("bad-ids", tmp, sizeof(tmp));
	ck_assert_uint_eq(cfg->n_groups, 2);	/* the fixture with a bad id is skipped */
	ck_assert_int_lt(config_find_group(cfg, "fixture"), 0);
	ck_assert_uint_eq(group(cfg, "web")->ingress[0].n_peers, 1);
	config_free(cfg);
	rm_tree(tmp);

	cfg = import_and_load("unicode", tmp, sizeof(tmp));
	g = group(cfg, "securite-unicode");
	ck_assert_str_eq(g->description, "Groupe de s\xC3\xA9" "curit\xC3\xA9 (AWS name: "
			 "S\xC3\xA9" "curit\xC3\xA9 \xC3\x9Cn\xC3\xAF" "code)");
	config_free(cfg);
	rm_tree(tmp);
}
END_TEST

START_TEST(test_import_name_map)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "web", "web" },
		{ "Front_LB.v2", "Front_LB.v2" },
		{ "S\xC3\xA9" "curit\xC3\xA9 \xC3\x9Cn\xC3\xAF" "code", "securite-unicode" },
		{ "Stra\xC3\x9F" "e \xC5\x92uvre", "strasse-oeuvre" },
		{ "\xC3\x86r\xC3\xB8 \xC3\x97 \xC3\x9Eing", "aero-thing" },
		{ "\xC5\x81\xC3\xB3" "d\xC5\xBA \xE2\x80\x93 Ko\xC5\xA1ice", "lodz-kosice" },
		{ "Front LB (prod)", "front-lb-prod" },
		{ "  -- x --", "x" },
		{ "\xE6\x97\xA5\xE6\x9C\xAC", "sg-0a000000" },
		{ "1.2.3", "group-1.2.3" },
		{ "", "sg-0a000000" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = imp_name_map(cases[i].in, "group-", "sg-0a000000");

		ck_assert_ptr_nonnull(s);
		ck_assert_msg(strcmp(s, cases[i].out) == 0, "%s -> %s, want %s", cases[i].in, s,
			      cases[i].out);
		free(s);
	}
}
END_TEST

/* An empty document is an account with no groups: exit 0, no file. */
START_TEST(test_import_empty)
{
	char tmp[256], path[4096];
	char *text;

	enter_import_dir();
	make_tmp(tmp, sizeof(tmp));
	ck_assert_int_eq(import_case_args("empty", tmp, false, NULL), 0);
	snprintf(path, sizeof(path), "%s/stdout", tmp);
	text = read_all(path);
	ck_assert_ptr_nonnull(strstr(text, "0 groups"));
	free(text);
	snprintf(path, sizeof(path), "%s/groups.d", tmp);
	ck_assert_uint_eq(count_files(path), 0);
	snprintf(path, sizeof(path), "%s/empty.json", tmp);
	write_all(path, "{\"SecurityGroups\": []}\n");
	{
		char out[4096], err[4096], gd[4096];
		char *argv[] = { (char *)"aws", path, (char *)"-o", gd, NULL };

		snprintf(gd, sizeof(gd), "%s/groups.d", tmp);
		snprintf(out, sizeof(out), "%s/stdout", tmp);
		snprintf(err, sizeof(err), "%s/stderr", tmp);
		ck_assert_int_eq(run_import(4, argv, false, out, err), 0);
		text = read_all(out);
		ck_assert_ptr_nonnull(strstr(text, "0 groups"));
		free(text);
	}
	rm_tree(tmp);
}
END_TEST

/* A UTF-8 byte-order mark (PowerShell's Out-File -Encoding utf8) is
 * skipped, as RFC 8259 allows */
START_TEST(test_import_utf8_bom)
{
	char tmp[256], in[1024], gd[1024], out[4096], err[4096], path[4096];
	char *text, *doc;
	struct stat st;

	enter_import_dir();
	make_tmp(tmp, sizeof(tmp));
	text = read_all("single-group.json");
	ck_assert_int_ge(asprintf(&doc, "\xEF\xBB\xBF%s", text), 0);
	snprintf(in, sizeof(in), "%s/bom.json", tmp);
	write_all(in, doc);
	snprintf(gd, sizeof(gd), "%s/groups.d", tmp);
	snprintf(out, sizeof(out), "%s/stdout", tmp);
	snprintf(err, sizeof(err), "%s/stderr", tmp);
	{
		char *argv[] = { (char *)"aws", in, (char *)"-o", gd, NULL };

		ck_assert_int_eq(run_import(4, argv, false, out, err), 0);
	}
	snprintf(path, sizeof(path), "%s/solo.yaml", gd);
	ck_assert_int_eq(stat(path, &st), 0);
	free(text);
	free(doc);
	rm_tree(tmp);
}
END_TEST

/* -o creates missing parents; the lists go next to the groups */
START_TEST(test_import_mkdir_parents)
{
	char tmp[256], gd[1024], path[4096], out[4096], err[4096];
	char in[] = "prefix-lists.json";
	const char *const *a = pl_args;
	char *argv[16];
	int argc = 0;
	struct stat st;

	enter_import_dir();
	make_tmp(tmp, sizeof(tmp));
	snprintf(gd, sizeof(gd), "%s/a/b/c/groups.d", tmp);
	snprintf(out, sizeof(out), "%s/stdout", tmp);
	snprintf(err, sizeof(err), "%s/stderr", tmp);
	argv[argc++] = (char *)"aws";
	argv[argc++] = in;
	argv[argc++] = (char *)"-o";
	argv[argc++] = gd;
	for (; *a; a++)
		argv[argc++] = (char *)*a;
	argv[argc] = NULL;
	ck_assert_int_eq(run_import(argc, argv, false, out, err), 1);
	snprintf(path, sizeof(path), "%s/web.yaml", gd);
	ck_assert_int_eq(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/a/b/c/prefix_lists.d/office-ranges.yaml", tmp);
	ck_assert_int_eq(stat(path, &st), 0);
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
	tcase_add_test(tc, test_import_prefix_lists_load);
	tcase_add_test(tc, test_import_shapes_load);
	tcase_add_test(tc, test_import_name_map);
	tcase_add_test(tc, test_import_empty);
	tcase_add_test(tc, test_import_mkdir_parents);
	tcase_add_test(tc, test_import_utf8_bom);
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
