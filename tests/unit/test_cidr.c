/* test_cidr.c — the contracts of cidr.c and protocol.c (config.h). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "config.h"

static void t_cidr_is(const struct sg_cidr *c, const char *want)
{
	char buf[64];

	ck_assert_str_eq(cidr_format(c, buf, sizeof(buf)), want);
}

START_TEST(cidr_contract)
{
	struct sg_cidr a, b;
	uint8_t addr[16];

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_int_eq(a.prefix, 8);
	ck_assert_int_eq(cidr_parse("10.0.0.1/8", &b), -ERANGE);
	t_cidr_is(&b, "10.0.0.0/8");
	ck_assert_int_eq(cidr_parse("2001:db8::1/32", &b), -ERANGE);
	t_cidr_is(&b, "2001:db8::/32");
	ck_assert_int_eq(cidr_parse("10.0.0.1", &b), 0);
	ck_assert_int_eq(b.prefix, 32);
	ck_assert(cidr_contains(&a, &b));
	ck_assert(!cidr_contains(&b, &a));
	ck_assert_int_lt(cidr_cmp(&a, &b), 0);
	ck_assert_int_eq(cidr_cmp(&a, &a), 0);
	ck_assert_int_eq(cidr_parse("::", &b), 0);
	ck_assert_int_eq(b.prefix, 128);
	ck_assert_int_gt(cidr_cmp(&b, &a), 0);
	ck_assert(!cidr_contains(&a, &b));
	inet_pton(AF_INET, "10.200.3.4", addr);
	ck_assert(cidr_match_addr(&a, AF_INET, addr));
	inet_pton(AF_INET, "11.0.0.0", addr);
	ck_assert(!cidr_match_addr(&a, AF_INET, addr));
	ck_assert_int_eq(cidr_parse("0.0.0.0/0", &a), 0);
	inet_pton(AF_INET6, "::1", addr);
	ck_assert(!cidr_match_addr(&a, AF_INET6, addr));
	ck_assert_int_eq(cidr_parse("2001:db8::/33", &a), 0);
	t_cidr_is(&a, "2001:db8::/33");
	static const char *const bad[] = { "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/ 8", "10.0.0.256", "10.0.0", "::/129", "1::2::3",
		"10.0.0.0/8/8", "10.0.0.0/0008", " 10.0.0.0", "fe80::1%eth0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cidr_parse(bad[i], &a) == -EINVAL, "%s accepted", bad[i]);
	{
		struct sg_cidr_list l = { 0 };

		for (int i = 0; i < 20; i++)
			ck_assert_int_eq(cidr_list_add(&l, &a), 0);
		ck_assert_uint_eq(l.n, 20);
		cidr_list_free(&l);
		ck_assert_uint_eq(l.n, 0);
	}
}
END_TEST

START_TEST(proto_contract)
{
	int p;

	ck_assert_str_eq(proto_name(6), "tcp");
	ck_assert_str_eq(proto_name(17), "udp");
	ck_assert_str_eq(proto_name(1), "icmp");
	ck_assert_str_eq(proto_name(58), "icmpv6");
	ck_assert_str_eq(proto_name(-1), "all");
	ck_assert_ptr_null(proto_name(47));
	ck_assert_int_eq(proto_parse("tcp", &p), 0);
	ck_assert_int_eq(p, 6);
	ck_assert_int_eq(proto_parse("ICMPv6", &p), 0);
	ck_assert_int_eq(p, 58);
	ck_assert_int_eq(proto_parse("-1", &p), 0);
	ck_assert_int_eq(p, SG_PROTO_ALL);
	ck_assert_int_eq(proto_parse("all", &p), 0);
	ck_assert_int_eq(p, SG_PROTO_ALL);
	ck_assert_int_eq(proto_parse("255", &p), 0);
	ck_assert_int_eq(p, 255);
	ck_assert_int_eq(proto_parse("256", &p), -ERANGE);
	ck_assert_int_eq(proto_parse("-2", &p), -ERANGE);
	ck_assert_int_eq(proto_parse("99999999999999999999", &p), -ERANGE);
	ck_assert_int_eq(proto_parse("gre", &p), -EINVAL);
	ck_assert_int_eq(proto_parse("", &p), -EINVAL);
	ck_assert_int_eq(proto_parse("-", &p), -EINVAL);
	ck_assert_int_eq(proto_parse("6 ", &p), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("cidr");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, cidr_contract);
	tcase_add_test(tc, proto_contract);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
