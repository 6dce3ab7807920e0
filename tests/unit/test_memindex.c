/*
 * test_memindex.c — the per-group member index (daemon/memindex.c): its
 * element operations must leave the kernel set equal to the top-level
 * members, whatever the order of adds and deletes.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "memindex.h"

static struct sg_cidr C(const char *s)
{
	struct sg_cidr c;

	ck_assert_msg(cidr_parse(s, &c) == 0, "bad test cidr %s", s);
	return c;
}

static bool same(const struct sg_cidr *a, const struct sg_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr.bytes, b->addr.bytes,
		      a->family == AF_INET ? 4 : 16) == 0;
}

/* A model of the kernel set: ops applied in order, each must make sense. */
struct kset {
	struct sg_cidr v[4096];
	size_t n;
};

static void kset_apply(struct kset *k, const struct memidx_ops *o)
{
	size_t i, j;

	for (i = 0; i < o->n; i++) {
		for (j = 0; j < k->n && !same(&k->v[j], &o->v[i].c); j++)
			;
		if (o->v[i].del) {
			ck_assert_msg(j < k->n, "delete of an element not in the set");
			k->v[j] = k->v[--k->n];
		} else {
			ck_assert_msg(j == k->n, "add of an element already in the set");
			/* the kernel refuses overlapping intervals */
			for (j = 0; j < k->n; j++)
				ck_assert_msg(!cidr_contains(&k->v[j], &o->v[i].c) &&
					      !cidr_contains(&o->v[i].c, &k->v[j]),
					      "add overlaps an element in the set");
			ck_assert_uint_lt(k->n, 4096);
			k->v[k->n++] = o->v[i].c;
		}
	}
}

/* The set must hold exactly the members not inside another member. */
static void kset_check(const struct kset *k, const struct sg_cidr_list *l)
{
	size_t i, j, top = 0;

	for (i = 0; i < l->n; i++) {
		bool inside = false, found = false;

		for (j = 0; j < l->n && !inside; j++)
			inside = j != i && l->v[j].family == l->v[i].family &&
				 l->v[j].prefix < l->v[i].prefix &&
				 cidr_contains(&l->v[j], &l->v[i]);
		for (j = 0; j < k->n && !found; j++)
			found = same(&k->v[j], &l->v[i]);
		ck_assert_msg(found == !inside, "member %zu: in set %d, top %d",
			      i, found, !inside);
		top += !inside;
	}
	ck_assert_uint_eq(top, k->n);
}

START_TEST(nested_prefixes)
{
	struct sg_cidr_list l = { 0 };
	struct memidx x;
	struct memidx_ops o = { 0 };
	struct sg_cidr a = C("10.0.0.0/8"), b = C("10.1.0.0/16"), h = C("10.1.2.3");

	ck_assert_int_eq(memidx_init(&x, &l), 0);
	ck_assert_int_eq(memidx_add(&x, &a, MEMIDX_RT, &o), 1);
	ck_assert_uint_eq(o.n, 1);
	ck_assert(!o.v[0].del && same(&o.v[0].c, &a));
	o.n = 0;
	ck_assert_int_eq(memidx_add(&x, &b, MEMIDX_RT, &o), 1);
	ck_assert_int_eq(memidx_add(&x, &h, MEMIDX_RT, &o), 1);
	ck_assert_uint_eq(o.n, 0);	/* both inside the /8: no element */
	ck_assert(memidx_covered(&x, &h));
	ck_assert(memidx_covered(&x, &b));
	ck_assert(!memidx_covered(&x, &a));
	ck_assert_uint_eq(l.n, 3);
	/* adding it again only records the source */
	ck_assert_int_eq(memidx_add(&x, &h, MEMIDX_STATIC, &o), 0);
	ck_assert_uint_eq(o.n, 0);
	ck_assert_uint_eq(l.n, 3);
	memidx_ops_free(&o);
	memidx_free(&x);
	cidr_list_free(&l);
}
END_TEST

START_TEST(add_wider_hides_narrower)
{
	struct sg_cidr_list l = { 0 };
	struct memidx x;
	struct memidx_ops o = { 0 };
	struct sg_cidr h1 = C("192.168.1.1"), h2 = C("192.168.1.2"),
		       out = C("192.169.0.1"), w = C("192.168.0.0/16");

	ck_assert_int_eq(memidx_init(&x, &l), 0);
	ck_assert_int_eq(memidx_add(&x, &h1, MEMIDX_RT, &o), 1);
	ck_assert_int_eq(memidx_add(&x, &h2, MEMIDX_RT, &o), 1);
	ck_assert_int_eq(memidx_add(&x, &out, MEMIDX_RT, &o), 1);
	o.n = 0;
	ck_assert_int_eq(memidx_add(&x, &w, MEMIDX_RT, &o), 1);
	/* delete both hosts first, then add the /16 */
	ck_assert_uint_eq(o.n, 3);
	ck_assert(o.v[0].del && o.v[1].del && !o.v[2].del);
	ck_assert(same(&o.v[2].c, &w));
	ck_assert((same(&o.v[0].c, &h1) && same(&o.v[1].c, &h2)) ||
		  (same(&o.v[0].c, &h2) && same(&o.v[1].c, &h1)));
	memidx_ops_free(&o);
	memidx_free(&x);
	cidr_list_free(&l);
}
END_TEST

START_TEST(del_wider_reexposes)
{
	struct sg_cidr_list l = { 0 };
	struct memidx x;
	struct memidx_ops o = { 0 };
	struct kset *k = calloc(1, sizeof(*k));
	const char *m[] = { "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "10.9.9.9",
			    "10.1.3.0/24", "11.0.0.1" };
	struct sg_cidr w = C("10.0.0.0/8");
	size_t i;

	ck_assert_int_eq(memidx_init(&x, &l), 0);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct sg_cidr c = C(m[i]);

		o.n = 0;
		ck_assert_int_eq(memidx_add(&x, &c, MEMIDX_RT, &o), 1);
		kset_apply(k, &o);
	}
	kset_check(k, &l);
	ck_assert_uint_eq(k->n, 2);	/* the /8 and 11.0.0.1 */
	o.n = 0;
	ck_assert_int_eq(memidx_del(&x, &w, MEMIDX_RT, &o), 1);
	/* the /8 goes first; the /16 and 10.9.9.9 come back, not what the
	 * /16 still holds */
	ck_assert_uint_eq(o.n, 3);
	ck_assert(o.v[0].del && same(&o.v[0].c, &w));
	kset_apply(k, &o);
	kset_check(k, &l);
	ck_assert_uint_eq(k->n, 3);
	ck_assert_uint_eq(l.n, 5);
	ck_assert_int_eq(memidx_del(&x, &w, MEMIDX_RT, &o), -ENOENT);
	memidx_ops_free(&o);
	memidx_free(&x);
	cidr_list_free(&l);
	free(k);
}
END_TEST

START_TEST(v4_and_v6)
{
	struct sg_cidr_list l = { 0 };
	struct memidx x;
	struct memidx_ops o = { 0 };
	struct kset *k = calloc(1, sizeof(*k));
	const char *m[] = { "2001:db8::1", "2001:db8::/32", "10.0.0.1", "::/0",
			    "2001:db8:1::/48", "0.0.0.0/0", "fe80::1" };
	size_t i;

	ck_assert_int_eq(memidx_init(&x, &l), 0);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct sg_cidr c = C(m[i]);

		o.n = 0;
		ck_assert_int_eq(memidx_add(&x, &c, MEMIDX_RT, &o), 1);
		kset_apply(k, &o);
		kset_check(k, &l);
	}
	/* ::/0 and 0.0.0.0/0 hold everything of their family only */
	ck_assert_uint_eq(k->n, 2);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct sg_cidr c = C(m[i]);

		o.n = 0;
		ck_assert_int_eq(memidx_del(&x, &c, MEMIDX_RT, &o), 1);
		kset_apply(k, &o);
		kset_check(k, &l);
	}
	ck_assert_uint_eq(k->n, 0);
	ck_assert_uint_eq(l.n, 0);
	memidx_ops_free(&o);
	memidx_free(&x);
	cidr_list_free(&l);
	free(k);
}
END_TEST

START_TEST(sources)
{
	struct sg_cidr_list l = { 0 };
	struct memidx x;
	struct memidx_ops o = { 0 };
	struct sg_cidr a = C("10.0.0.1"), b = C("10.0.0.2");
	struct memidx_slot *s;

	/* init: list members are configuration members; duplicates go */
	cidr_list_add(&l, &a);
	cidr_list_add(&l, &a);
	cidr_list_add(&l, &b);
	ck_assert_int_eq(memidx_init(&x, &l), 0);
	ck_assert_uint_eq(l.n, 2);
	s = memidx_find(&x, &a);
	ck_assert_ptr_nonnull(s);
	ck_assert(!s->rt && s->n_static == 1);
	ck_assert_int_eq(memidx_add(&x, &a, MEMIDX_RT, &o), 0);
	ck_assert_uint_eq(o.n, 0);
	/* the run-time source goes, the configuration keeps it */
	ck_assert_int_eq(memidx_del(&x, &a, MEMIDX_RT, &o), 0);
	ck_assert_int_eq(memidx_del(&x, &a, MEMIDX_RT, &o), -ENOENT);
	ck_assert_uint_eq(o.n, 0);
	ck_assert_int_eq(memidx_del(&x, &a, MEMIDX_STATIC, &o), 1);
	ck_assert_uint_eq(o.n, 1);
	ck_assert(o.v[0].del && same(&o.v[0].c, &a));
	ck_assert_uint_eq(l.n, 1);
	ck_assert(same(&l.v[0], &b));
	ck_assert_uint_eq(memidx_find(&x, &b)->pos, 0);
	memidx_ops_free(&o);
	memidx_free(&x);
	cidr_list_free(&l);
}
END_TEST

/* Random adds and deletes against the brute-force top-level set. */
START_TEST(random_against_model)
{
	struct sg_cidr_list l = { 0 };
	struct memidx x;
	struct memidx_ops o = { 0 };
	struct kset *k = calloc(1, sizeof(*k));
	unsigned seed = 12345;
	int step;

	ck_assert_int_eq(memidx_init(&x, &l), 0);
	for (step = 0; step < 3000; step++) {
		struct sg_cidr c = { 0 }, n;
		unsigned r;

		seed = seed * 1103515245u + 12345u;
		r = seed >> 8;
		if (r & 1) {
			c.family = AF_INET;
			c.addr.bytes[0] = 10;
			c.addr.bytes[1] = (uint8_t)(r >> 1 & 3);
			c.addr.bytes[2] = (uint8_t)(r >> 3 & 3);
			c.addr.bytes[3] = (uint8_t)(r >> 5 & 7);
			c.prefix = (uint8_t)(8 + (r >> 8) % 25);
		} else {
			c.family = AF_INET6;
			c.addr.bytes[0] = 0x20;
			c.addr.bytes[1] = 0x01;
			c.addr.bytes[15] = (uint8_t)(r >> 1 & 7);
			c.addr.bytes[8] = (uint8_t)(r >> 4 & 3);
			c.prefix = (uint8_t)(16 + (r >> 8) % 113);
		}
		/* mask host bits the way cidr_parse would */
		{
			char buf[64];

			cidr_format(&c, buf, sizeof(buf));
			ck_assert_int_ne(cidr_parse(buf, &n), -EINVAL);
		}
		o.n = 0;
		if (memidx_find(&x, &n))
			ck_assert_int_eq(memidx_del(&x, &n, MEMIDX_RT, &o), 1);
		else
			ck_assert_int_eq(memidx_add(&x, &n, MEMIDX_RT, &o), 1);
		kset_apply(k, &o);
		if (step % 50 == 0 || step > 2950)
			kset_check(k, &l);
	}
	memidx_ops_free(&o);
	memidx_free(&x);
	cidr_list_free(&l);
	free(k);
}
END_TEST

/* 100k hosts: one element operation each, every one findable. */
START_TEST(hundred_thousand)
{
	struct sg_cidr_list l = { 0 };
	struct memidx x;
	struct memidx_ops o = { 0 };
	size_t i;

	ck_assert_int_eq(memidx_init(&x, &l), 0);
	for (i = 0; i < 100000; i++) {
		struct sg_cidr c = { .family = AF_INET, .prefix = 32 };

		c.addr.bytes[0] = 100;
		c.addr.bytes[1] = (uint8_t)(64 + (i >> 16));
		c.addr.bytes[2] = (uint8_t)(i >> 8);
		c.addr.bytes[3] = (uint8_t)i;
		o.n = 0;
		ck_assert_int_eq(memidx_add(&x, &c, MEMIDX_RT, &o), 1);
		ck_assert_uint_eq(o.n, 1);
	}
	ck_assert_uint_eq(l.n, 100000);
	ck_assert_uint_eq(x.n, 100000);
	for (i = 0; i < 100000; i += 2) {
		struct sg_cidr c = { .family = AF_INET, .prefix = 32 };

		c.addr.bytes[0] = 100;
		c.addr.bytes[1] = (uint8_t)(64 + (i >> 16));
		c.addr.bytes[2] = (uint8_t)(i >> 8);
		c.addr.bytes[3] = (uint8_t)i;
		o.n = 0;
		ck_assert_int_eq(memidx_del(&x, &c, MEMIDX_RT, &o), 1);
		ck_assert_uint_eq(o.n, 1);
		ck_assert(o.v[0].del);
	}
	ck_assert_uint_eq(l.n, 50000);
	/* every list entry is where its slot says */
	for (i = 0; i < l.n; i++)
		ck_assert_uint_eq(memidx_find(&x, &l.v[i])->pos, i);
	memidx_ops_free(&o);
	memidx_free(&x);
	cidr_list_free(&l);
}
END_TEST

/* SipHash-2-4 against the paper's vectors (key 00..0f, message 00..n-1),
 * and two indexes never share a key: nobody can precompute collisions. */
START_TEST(siphash_keyed)
{
	static const struct { size_t n; uint64_t h; } want[] = {
		{ 0, 0x726fdb47dd0e0e31ULL }, { 1, 0x74f839c593dc67fdULL },
		{ 8, 0x93f5f5799a932462ULL }, { 15, 0xa129ca6149be45e5ULL },
		{ 16, 0x3f2acc7f57c29bdbULL },
	};
	struct sip_key k = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	struct sg_cidr_list l = { 0 }, l2 = { 0 };
	struct memidx x, y;
	uint8_t m[16];
	size_t i;

	for (i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)i;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_uint_eq(sip_hash24(&k, m, want[i].n), want[i].h);
	ck_assert_int_eq(memidx_init(&x, &l), 0);
	ck_assert_int_eq(memidx_init(&y, &l2), 0);
	ck_assert(x.key.k0 != y.key.k0 || x.key.k1 != y.key.k1);
	memidx_free(&x);
	memidx_free(&y);
}
END_TEST

static Suite *memindex_suite(void)
{
	Suite *s = suite_create("memindex");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 0);	/* no timer: meson's timeout is the hang guard */
	tcase_add_test(tc, nested_prefixes);
	tcase_add_test(tc, add_wider_hides_narrower);
	tcase_add_test(tc, del_wider_reexposes);
	tcase_add_test(tc, v4_and_v6);
	tcase_add_test(tc, sources);
	tcase_add_test(tc, random_against_model);
	tcase_add_test(tc, hundred_thousand);
	tcase_add_test(tc, siphash_keyed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(memindex_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
