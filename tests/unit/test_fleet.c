/*
 * test_fleet.c — the fleet's pieces that need no etcd: base64 as etcd's
 * JSON gateway uses it (daemon/fleet_b64.c), the key layout and the
 * registration map with its per-group cap (daemon/fleet_map.c).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "fleet.h"
#include "fleet_etcd.h"

START_TEST(test_b64)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
					   "Zm9vYmFy" };
	char *e, *d;
	size_t n;

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		e = etcd_b64_encode(plain[i], strlen(plain[i]));
		ck_assert_str_eq(e, enc[i]);
		d = etcd_b64_decode(e, &n);
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_eq(n, strlen(plain[i]));
		ck_assert_str_eq(d, plain[i]);
		free(e);
		free(d);
	}
	/* a key with a NUL (the next page starts at last key + "\0") */
	e = etcd_b64_encode("/sgd/a\0", 7);
	ck_assert_str_eq(e, "L3NnZC9hAA==");
	d = etcd_b64_decode(e, &n);
	ck_assert_uint_eq(n, 7);
	free(e);
	free(d);
	ck_assert_ptr_null(etcd_b64_decode("Zm9", NULL));
	ck_assert_ptr_null(etcd_b64_decode("Zm9v!A==", NULL));
	ck_assert_ptr_null(etcd_b64_decode("Zg=a", NULL));
	ck_assert_ptr_null(etcd_b64_decode("=Zg=", NULL));
}
END_TEST

START_TEST(test_key_parse)
{
	static const char *const bad[] = {
		"members/web/h1", "members/web/h1/", "members/web/h1/10.0.0.1",
		"members/web/h1/10.0.0.1/33", "members/web/h1/10.0.0.1/8",
		"members//h1/10.0.0.1/32", "members/web/h 1/10.0.0.1/32",
		"members/web/h1/not-an-address/32", "other/web/h1/10.0.0.1/32",
		"hosts/", "hosts/a/b", "members/w eb/h1/10.0.0.1/32",
	};
	struct fleet_entry *e;

	ck_assert_int_eq(fleet_key_parse("members/web/h1/10.0.0.1/32", &e), 0);
	ck_assert_str_eq(e->group, "web");
	ck_assert_str_eq(e->host, "h1");
	ck_assert_int_eq(e->c.family, AF_INET);
	ck_assert_uint_eq(e->c.prefix, 32);
	free(e->group);
	free(e->host);
	free(e);
	ck_assert_int_eq(fleet_key_parse("members/sg-0123456789abcdef0/i-0abc/2001:db8::/64", &e), 0);
	ck_assert_str_eq(e->group, "sg-0123456789abcdef0");
	ck_assert_int_eq(e->c.family, AF_INET6);
	ck_assert_uint_eq(e->c.prefix, 64);
	free(e->group);
	free(e->host);
	free(e);
	ck_assert_int_eq(fleet_key_parse("hosts/h1", &e), 1);
	ck_assert_ptr_null(e);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(fleet_key_parse(bad[i], &e) == -EINVAL && !e, "%s accepted", bad[i]);
}
END_TEST

static uintptr_t t_count(struct fleet_map *m, const char *group)
{
	struct lh_entry *le = lh_table_lookup_entry(m->groups, group);

	return le ? (uintptr_t)lh_entry_v(le) : 0;
}

START_TEST(test_map)
{
	struct fleet_map *m = fleet_map_new();

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(fleet_map_put(m, "members/web/h1/10.0.0.1/32"), 0);
	ck_assert_int_eq(fleet_map_put(m, "members/web/h1/10.0.0.1/32"), 0);
	ck_assert_int_eq(fleet_map_put(m, "members/web/h2/10.0.0.2/32"), 0);
	ck_assert_int_eq(fleet_map_put(m, "members/db/h2/10.0.0.2/32"), 0);
	ck_assert_int_eq(fleet_map_put(m, "hosts/h1"), 1);
	ck_assert_int_eq(fleet_map_put(m, "hosts/h1"), 1);
	ck_assert_int_eq(fleet_map_put(m, "members/web/h1/bad"), -EINVAL);
	ck_assert_int_eq(lh_table_length(m->keys), 4);
	ck_assert_uint_eq(t_count(m, "web"), 2);
	ck_assert_uint_eq(t_count(m, "db"), 1);
	ck_assert_uint_eq(m->n_hosts, 1);
	fleet_map_del(m, "members/web/h1/10.0.0.1/32");
	fleet_map_del(m, "members/web/h1/10.0.0.1/32");
	fleet_map_del(m, "members/db/h2/10.0.0.2/32");
	fleet_map_del(m, "hosts/h1");
	fleet_map_del(m, "hosts/never");
	ck_assert_uint_eq(t_count(m, "web"), 1);
	ck_assert_uint_eq(t_count(m, "db"), 0);
	ck_assert_uint_eq(m->n_hosts, 0);
	ck_assert_int_eq(lh_table_length(m->keys), 1);
	fleet_map_free(m);
}
END_TEST

/* Past FLEET_MAX_PER_GROUP a group takes no more keys; others still do. */
START_TEST(test_map_cap)
{
	struct fleet_map *m = fleet_map_new();
	char key[96];

	for (unsigned i = 0; i < FLEET_MAX_PER_GROUP; i++) {
		snprintf(key, sizeof(key), "members/web/h%u/10.%u.%u.%u/32", i, i >> 16,
			 (i >> 8) & 255, i & 255);
		ck_assert_int_eq(fleet_map_put(m, key), 0);
	}
	ck_assert_int_eq(fleet_map_put(m, "members/web/late/192.0.2.1/32"), -E2BIG);
	ck_assert_int_eq(fleet_map_put(m, "members/db/late/192.0.2.1/32"), 0);
	fleet_map_del(m, "members/web/h0/10.0.0.0/32");
	ck_assert_int_eq(fleet_map_put(m, "members/web/late/192.0.2.1/32"), 0);
	fleet_map_free(m);
}
END_TEST

static Suite *fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 0);
	tcase_add_test(tc, test_b64);
	tcase_add_test(tc, test_key_parse);
	tcase_add_test(tc, test_map);
	tcase_add_test(tc, test_map_cap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fleet_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
