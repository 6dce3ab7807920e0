/*
 * test_fleet_conf.c — the fleet: section of sgd.yaml (common/load_fleet.c):
 * defaults, every value given, the normalized print loading back the same,
 * and each mistake reported at its file:line:column.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char tdir[64];

static void t_write(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* A config dir with group web and this sgd.yaml; loads it.  *text gets
 * the sorted diagnostics (may be ""). */
static int t_load(const char *sgd, struct sg_config **cfg, char **text)
{
	char path[512];
	struct sg_diags d;
	size_t len = 0;
	FILE *f;
	int r;

	snprintf(tdir, sizeof(tdir), "/tmp/sgd-test-fleet-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	snprintf(path, sizeof(path), "%s/groups.d", tdir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	t_write("groups.d/web.yaml", "name: web\ningress: []\n");
	t_write("sgd.yaml", sgd);
	diags_init(&d);
	r = config_load(tdir, cfg, &d);
	*text = NULL;
	f = open_memstream(text, &len);
	ck_assert_ptr_nonnull(f);
	diags_sort(&d);
	diags_print(f, &d);
	fclose(f);
	diags_free(&d);
	snprintf(path, sizeof(path), "rm -rf '%s'", tdir);
	ck_assert_int_eq(system(path), 0);
	return r;
}

static void t_expect_error(const char *sgd, const char *want)
{
	struct sg_config *cfg = NULL;
	char *text;

	ck_assert_int_ne(t_load(sgd, &cfg, &text), 0);
	ck_assert_ptr_null(cfg);
	if (!strstr(text, want))
		ck_abort_msg("expected '%s' in:\n%s", want, text);
	free(text);
}

START_TEST(test_no_fleet)
{
	struct sg_config *cfg;
	char *text;

	ck_assert_int_eq(t_load("attach: [web]\n", &cfg, &text), 0);
	ck_assert_ptr_null(cfg->fleet);
	free(text);
	config_free(cfg);
}
END_TEST

START_TEST(test_defaults)
{
	struct sg_config *cfg;
	char *text;

	ck_assert_int_eq(t_load("attach: [web]\nfleet:\n  etcd: [http://10.0.0.5:2379]\n",
				&cfg, &text), 0);
	ck_assert_ptr_nonnull(cfg->fleet);
	ck_assert_uint_eq(cfg->fleet->n_endpoints, 1);
	ck_assert_str_eq(cfg->fleet->endpoints[0], "http://10.0.0.5:2379");
	ck_assert_str_eq(cfg->fleet->prefix, "/sgd/");
	ck_assert_ptr_null(cfg->fleet->host_id);
	ck_assert_uint_eq(cfg->fleet->n_addrs, 0);
	ck_assert_uint_eq(cfg->fleet->lease_ttl, 15);
	ck_assert_ptr_null(cfg->fleet->tls_ca);
	ck_assert_int_eq(cfg->fleet->pos.line, 2);
	free(text);
	config_free(cfg);
}
END_TEST

/* Every key given; the normalized print loads back to the same print. */
START_TEST(test_full_round_trip)
{
	static const char sgd[] =
		"attach: [web]\n"
		"fleet:\n"
		"  etcd: [https://10.0.0.5:2379, \"https://[2001:db8::5]:2379\"]\n"
		"  prefix: /prod/sgd/\n"
		"  host_id: i-0abc.def_1\n"
		"  addresses: [10.0.1.7, \"2001:db8::7\"]\n"
		"  lease_ttl: 30\n"
		"  tls: {ca: /etc/sgd/ca.pem, cert: /etc/sgd/c.pem, key: /etc/sgd/k.pem}\n";
	struct sg_config *cfg, *again;
	struct sg_diags d;
	char *text, *one = NULL, *two = NULL, path[] = "/tmp/sgd-test-fleet-print-XXXXXX";
	size_t len = 0;
	FILE *f;
	int fd;

	ck_assert_int_eq(t_load(sgd, &cfg, &text), 0);
	ck_assert_str_eq(cfg->fleet->host_id, "i-0abc.def_1");
	ck_assert_uint_eq(cfg->fleet->n_addrs, 2);
	ck_assert_uint_eq(cfg->fleet->lease_ttl, 30);
	ck_assert_str_eq(cfg->fleet->tls_key, "/etc/sgd/k.pem");
	f = open_memstream(&one, &len);
	ck_assert_int_eq(config_print(f, cfg), 0);
	fclose(f);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, one, strlen(one)), (ssize_t)strlen(one));
	close(fd);
	diags_init(&d);
	ck_assert_int_eq(config_load_stream(path, &again, &d), 0);
	unlink(path);
	f = open_memstream(&two, &len);
	ck_assert_int_eq(config_print(f, again), 0);
	fclose(f);
	ck_assert_str_eq(one, two);
	ck_assert_ptr_nonnull(strstr(one, "lease_ttl: 30"));
	diags_free(&d);
	free(one);
	free(two);
	free(text);
	config_free(cfg);
	config_free(again);
}
END_TEST

START_TEST(test_errors)
{
	t_expect_error("fleet: [a]\n", "sgd.yaml:1:8: fleet: expected a mapping");
	t_expect_error("fleet:\n  prefix: /x/\n", "sgd.yaml:2:3: fleet: missing 'etcd'");
	t_expect_error("fleet:\n  etcd: []\n", "sgd.yaml:2:9: fleet: etcd: expected 1 to 16");
	t_expect_error("fleet:\n  etcd: [ftp://h:1]\n",
		       "sgd.yaml:2:10: fleet: etcd: 'ftp://h:1' is not an endpoint URL");
	t_expect_error("fleet:\n  etcd: [http://h:70000]\n",
		       "sgd.yaml:2:10: fleet: etcd: 'http://h:70000' is not");
	t_expect_error("fleet:\n  etcd: [http://h/v3]\n", "sgd.yaml:2:10: fleet: etcd:");
	/* a name: refused where it is written, saying why */
	t_expect_error("fleet:\n  etcd: [http://10.0.0.5:2379, https://etcd-1.example:2379]\n",
		       "sgd.yaml:2:32: fleet: etcd: 'https://etcd-1.example:2379': the host "
		       "must be an IP address (IPv4, or IPv6 in brackets), not a name");
	t_expect_error("fleet:\n  etcd: [http://localhost]\n",
		       "sgd.yaml:2:10: fleet: etcd: 'http://localhost': the host must be an IP");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  prefix: sgd/\n",
		       "sgd.yaml:3:11: fleet: prefix: 'sgd/' must start and end with '/'");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  host_id: a/b\n",
		       "sgd.yaml:3:12: fleet: host_id: 'a/b' is not valid");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  addresses: [10.0.0.1/8]\n",
		       "sgd.yaml:3:15: fleet: addresses: 10.0.0.1/8 has host bits set");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  addresses: [1.2.3.4, 1.2.3.4]\n",
		       "sgd.yaml:3:24: fleet: addresses: 1.2.3.4 is listed twice");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  addresses: [nope]\n",
		       "sgd.yaml:3:15: fleet: addresses: 'nope' is not a valid");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  lease_ttl: 1\n",
		       "sgd.yaml:3:14: fleet: lease_ttl: expected seconds in 2..3600, got '1'");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  lease_ttl: ten\n",
		       "sgd.yaml:3:14: fleet: lease_ttl:");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  tls: {cert: /c}\n",
		       "sgd.yaml:3:8: fleet: tls: cert and key go together");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  tls: {ca: ca.pem}\n",
		       "sgd.yaml:3:13: fleet: tls: ca: 'ca.pem' is not an absolute path");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  tls: /x\n",
		       "sgd.yaml:3:8: fleet: tls: expected a mapping");
	t_expect_error("fleet:\n  etcd: [http://10.0.0.1:1]\n  leasettl: 3\n",
		       "sgd.yaml:3:3: unknown key 'leasettl'");
}
END_TEST

START_TEST(test_host_id_valid)
{
	ck_assert(load_fleet_host_id_valid("0123456789abcdef0123456789abcdef"));
	ck_assert(load_fleet_host_id_valid("i-0abc"));
	ck_assert(!load_fleet_host_id_valid(""));
	ck_assert(!load_fleet_host_id_valid(".."));
	ck_assert(!load_fleet_host_id_valid("a b"));
	ck_assert(!load_fleet_host_id_valid("a/b"));
}
END_TEST

static Suite *fleet_conf_suite(void)
{
	Suite *s = suite_create("fleet_conf");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 0);
	tcase_add_test(tc, test_no_fleet);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full_round_trip);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_host_id_valid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fleet_conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
