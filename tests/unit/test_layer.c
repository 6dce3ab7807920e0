/*
 * test_layer.c — overlap resolution of the flat sets (compile_layer.c):
 * contained elements dropped, partial overlaps in layers, identical
 * elements from two rules, 0.0.0.0/0, ports 0-65535, IPv6, the layer cap,
 * and no quadratic blow-up.
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "flat.h"

static struct sg_cidr cidr(const char *s)
{
	struct sg_cidr c;
	char buf[64], *slash;

	memset(&c, 0, sizeof(c));
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	c.family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(c.family, buf, c.addr.bytes), 1);
	c.prefix = (uint8_t)(slash ? atoi(slash + 1) : c.family == AF_INET ? 32 : 128);
	return c;
}

/* ---- overlap resolution (compile_layer.c) ---- */

static struct flat_cand cand(const char *c, int lo, int hi, uint32_t seq)
{
	struct flat_cand e;
	struct sg_cidr x = cidr(c);

	memset(&e, 0, sizeof(e));
	memcpy(e.addr, x.addr.bytes, x.family == AF_INET ? 4 : 16);
	e.prefix = x.prefix;
	e.lo = (uint16_t)lo;
	e.hi = (uint16_t)hi;
	e.ref = seq;
	e.seq = seq;
	return e;
}

/* the layer given to the candidate that was number seq */
static int layer_of(const struct flat_cand *v, size_t n, uint32_t seq)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].seq == seq)
			return v[i].layer;
	ck_abort_msg("no candidate %u", seq);
	return -100;
}

START_TEST(layer_contained)
{
	struct flat_cand v[] = { cand("10.1.0.0/16", 80, 80, 0),
				 cand("10.0.0.0/8", 0, 65535, 1),
				 cand("10.1.2.3/32", 443, 443, 2),
				 cand("10.0.0.0/8", 100, 200, 3) };

	ck_assert_int_eq(flat_layer(v, 4, AF_INET), 0);
	ck_assert_int_eq(layer_of(v, 4, 1), 0);
	ck_assert_int_eq(layer_of(v, 4, 0), FLAT_DROPPED);
	ck_assert_int_eq(layer_of(v, 4, 2), FLAT_DROPPED);
	ck_assert_int_eq(layer_of(v, 4, 3), FLAT_DROPPED);
}
END_TEST

START_TEST(layer_partial)
{
	/* 10/8 1000-2000 and 10.1/16 1500-2500 meet at 10.1/16 1500-2000;
	 * 10.1.2/24 1400-2100 meets both; 10.2/16 1500-2500 only the first;
	 * 11/8 is disjoint from everything */
	struct flat_cand v[] = { cand("10.0.0.0/8", 1000, 2000, 0),
				 cand("10.1.0.0/16", 1500, 2500, 1),
				 cand("10.1.2.0/24", 1400, 2100, 2),
				 cand("10.2.0.0/16", 1500, 2500, 3),
				 cand("11.0.0.0/8", 1000, 2000, 4),
				 cand("10.1.0.0/16", 100, 200, 5) };

	ck_assert_int_eq(flat_layer(v, 6, AF_INET), 0);
	ck_assert_int_eq(layer_of(v, 6, 0), 0);
	ck_assert_int_eq(layer_of(v, 6, 1), 1);
	ck_assert_int_eq(layer_of(v, 6, 2), 2);
	ck_assert_int_eq(layer_of(v, 6, 3), 1);
	ck_assert_int_eq(layer_of(v, 6, 4), 0);
	ck_assert_int_eq(layer_of(v, 6, 5), 0);
}
END_TEST

START_TEST(layer_identical)
{
	/* the same element from two rules: the first rule keeps it */
	struct flat_cand v[] = { cand("192.0.2.0/24", 80, 90, 0),
				 cand("192.0.2.0/24", 80, 90, 1) };
	struct flat_cand x[] = { cand("192.0.2.7", 22, 22, 0),
				 cand("192.0.2.7", 22, 22, 1),
				 cand("192.0.2.7", 23, 23, 2) };

	ck_assert_int_eq(flat_layer(v, 2, AF_INET), 0);
	ck_assert_int_eq(layer_of(v, 2, 0), 0);
	ck_assert_int_eq(layer_of(v, 2, 1), FLAT_DROPPED);
	flat_dedupe(x, 3, AF_INET);
	ck_assert_int_eq(layer_of(x, 3, 0), 0);
	ck_assert_int_eq(layer_of(x, 3, 1), FLAT_DROPPED);
	ck_assert_int_eq(layer_of(x, 3, 2), 0);
}
END_TEST

START_TEST(layer_everything)
{
	/* 0.0.0.0/0 with ports 0-65535 contains everything; 0.0.0.0/0 port
	 * 80 only meets what has port 80 */
	struct flat_cand v[] = { cand("10.0.0.0/8", 0, 65535, 0),
				 cand("0.0.0.0/0", 0, 65535, 1),
				 cand("255.255.255.255/32", 65535, 65535, 2) };
	struct flat_cand w[] = { cand("0.0.0.0/0", 80, 80, 0),
				 cand("10.0.0.0/8", 70, 90, 1),
				 cand("10.0.0.0/8", 80, 80, 2),
				 cand("10.0.0.0/8", 81, 90, 3),
				 cand("0.0.0.0/0", 0, 0, 4) };

	ck_assert_int_eq(flat_layer(v, 3, AF_INET), 0);
	ck_assert_int_eq(layer_of(v, 3, 1), 0);
	ck_assert_int_eq(layer_of(v, 3, 0), FLAT_DROPPED);
	ck_assert_int_eq(layer_of(v, 3, 2), FLAT_DROPPED);
	ck_assert_int_eq(flat_layer(w, 5, AF_INET), 0);
	ck_assert_int_eq(layer_of(w, 5, 0), 0);
	ck_assert_int_eq(layer_of(w, 5, 4), 0);
	ck_assert_int_eq(layer_of(w, 5, 1), 1);
	ck_assert_int_eq(layer_of(w, 5, 2), FLAT_DROPPED);
	ck_assert_int_eq(layer_of(w, 5, 3), FLAT_DROPPED);
}
END_TEST

START_TEST(layer_ipv6)
{
	struct flat_cand v[] = { cand("2001:db8::/32", 100, 200, 0),
				 cand("2001:db8:1::/48", 150, 250, 1),
				 cand("2001:db8:1::5", 160, 160, 2),
				 cand("::/0", 0, 65535, 3),
				 cand("2001:db9::/32", 100, 200, 4) };

	ck_assert_int_eq(flat_layer(v, 3, AF_INET6), 0);
	ck_assert_int_eq(layer_of(v, 3, 0), 0);
	ck_assert_int_eq(layer_of(v, 3, 1), 1);
	ck_assert_int_eq(layer_of(v, 3, 2), FLAT_DROPPED);
	ck_assert_int_eq(flat_layer(v, 5, AF_INET6), 0);
	ck_assert_int_eq(layer_of(v, 5, 3), 0);
	ck_assert_int_eq(layer_of(v, 5, 0), FLAT_DROPPED);
	ck_assert_int_eq(layer_of(v, 5, 4), FLAT_DROPPED);
}
END_TEST

START_TEST(layer_overflow)
{
	/* FLAT_MAX_LAYERS + 1 ranges, none inside another, all meeting at
	 * port 1000: the last one (highest low port) has no layer left */
	struct flat_cand v[FLAT_MAX_LAYERS + 1];
	size_t i;

	for (i = 0; i <= FLAT_MAX_LAYERS; i++)
		v[i] = cand("10.0.0.0/8", 1000 - (int)i, 1000 + FLAT_MAX_LAYERS - (int)i,
			    (uint32_t)i);
	ck_assert_int_eq(flat_layer(v, FLAT_MAX_LAYERS + 1, AF_INET), 0);
	for (i = 1; i <= FLAT_MAX_LAYERS; i++)
		ck_assert_int_eq(layer_of(v, FLAT_MAX_LAYERS + 1, (uint32_t)i),
				 FLAT_MAX_LAYERS - (int)i);
	ck_assert_int_eq(layer_of(v, FLAT_MAX_LAYERS + 1, 0), FLAT_OVERFLOW);
}
END_TEST

/* 200k candidates where every /32 sits under the same few wide blocks:
 * every element must still be placed.  How long it takes is the
 * benchmark's business (bench/run.sh reports growth per 10x N), not a
 * timed unit test's; a quadratic resolution would take minutes and run
 * into the test's time limit. */
START_TEST(layer_scales)
{
	size_t n = 200000, i;
	struct flat_cand *v = calloc(n, sizeof(*v));

	for (i = 0; i < n; i++) {
		v[i].addr[0] = 10;
		v[i].addr[1] = (uint8_t)(i >> 16);
		v[i].addr[2] = (uint8_t)(i >> 8);
		v[i].addr[3] = (uint8_t)i;
		v[i].prefix = 32;
		v[i].lo = v[i].hi = (uint16_t)(1 + i % 50000);
		v[i].seq = (uint32_t)i;
	}
	/* wide blocks on other ports: every /32 has them as ancestors */
	for (i = 0; i < 100; i++) {
		v[i].prefix = (uint8_t)(8 + i % 16);
		memset(v[i].addr + 1, 0, 3);
		v[i].lo = (uint16_t)(60000 + i * 5);
		v[i].hi = (uint16_t)(60000 + i * 5 + 3);
	}
	ck_assert_int_eq(flat_layer(v, n, AF_INET), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_ge(v[i].layer, v[i].prefix == 32 ? 0 : FLAT_DROPPED);
	free(v);
}
END_TEST

static Suite *layer_suite(void)
{
	Suite *s = suite_create("layer");
	TCase *tc = tcase_create("layer");

	tcase_add_test(tc, layer_contained);
	tcase_add_test(tc, layer_partial);
	tcase_add_test(tc, layer_identical);
	tcase_add_test(tc, layer_everything);
	tcase_add_test(tc, layer_ipv6);
	tcase_add_test(tc, layer_overflow);
	tcase_add_test(tc, layer_scales);
	tcase_set_timeout(tc, 0);	/* no timer: meson's timeout is the hang guard */
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(layer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
