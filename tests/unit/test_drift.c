/*
 * test_drift.c — drift detection without a kernel: nftables event
 * messages built by hand are summed up per transaction (drifttxn.c), and
 * two table fingerprints are compared (driftfp.c).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

#include "engine.h"

static char msgbuf[8192];

/* An event header: type msg of family fam, flags. */
static struct nlmsghdr *ev_begin(uint16_t msg, uint8_t fam, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msgbuf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | msg;
	nlh->nlmsg_flags = flags;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = fam;
	nfg->version = NFNETLINK_V0;
	return nlh;
}

/* A rule, chain, set or table event: table name (attribute 1) and, for
 * all but tables, the name attribute of that kind. */
static void feed(struct drift_txn *t, uint16_t msg, uint8_t fam, const char *table,
		 uint16_t name_attr, const char *name, uint16_t flags)
{
	struct nlmsghdr *nlh = ev_begin(msg, fam, flags);

	mnl_attr_put_strz(nlh, 1, table);
	if (name)
		mnl_attr_put_strz(nlh, name_attr, name);
	drifttxn_on_object(t, "sgd", nlh, msg);
}

static void feed_elems(struct drift_txn *t, uint16_t msg, const char *set, int n)
{
	struct nlmsghdr *nlh = ev_begin(msg, NFPROTO_INET, 0);
	struct nlattr *list, *el;
	uint32_t key = 0;

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, "sgd");
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	for (int i = 0; i < n; i++) {
		el = mnl_attr_nest_start(nlh, 1);	/* NFTA_LIST_ELEM */
		mnl_attr_put(nlh, NFTA_SET_ELEM_KEY, sizeof(key), &key);
		mnl_attr_nest_end(nlh, el);
	}
	mnl_attr_nest_end(nlh, list);
	drifttxn_on_object(t, "sgd", nlh, msg);
}

static const char *summary(const struct drift_txn *t)
{
	static char buf[512];

	drifttxn_summary(t, "sgd", buf, sizeof(buf));
	return buf;
}

START_TEST(test_txn_rule_added)
{
	struct drift_txn t;

	drifttxn_reset(&t);
	feed(&t, NFT_MSG_NEWRULE, NFPROTO_INET, "sgd", NFTA_RULE_CHAIN, "input", 0);
	ck_assert(t.open);
	ck_assert(t.touches_table);
	ck_assert_str_eq(summary(&t), "added 1 rule to chain input");
	feed(&t, NFT_MSG_NEWRULE, NFPROTO_INET, "sgd", NFTA_RULE_CHAIN, "input", 0);
	feed(&t, NFT_MSG_DELSET, NFPROTO_INET, "sgd", NFTA_SET_NAME, "peer_web_v4", 0);
	ck_assert_str_eq(summary(&t), "added 2 rules to chain input, deleted set peer_web_v4");
}
END_TEST

START_TEST(test_txn_other_tables)
{
	struct drift_txn t;

	drifttxn_reset(&t);
	/* another inet table; a table named sgd in family ip; a prefix */
	feed(&t, NFT_MSG_NEWRULE, NFPROTO_INET, "docker", NFTA_RULE_CHAIN, "input", 0);
	feed(&t, NFT_MSG_DELTABLE, NFPROTO_IPV4, "sgd", 0, NULL, 0);
	feed(&t, NFT_MSG_NEWCHAIN, NFPROTO_INET, "sgd2", NFTA_CHAIN_NAME, "c", 0);
	feed(&t, NFT_MSG_NEWCHAIN, NFPROTO_INET, "sg", NFTA_CHAIN_NAME, "c", 0);
	ck_assert(t.open);
	ck_assert(!t.touches_table);
	ck_assert_str_eq(summary(&t), "");
}
END_TEST

START_TEST(test_txn_table_deleted)
{
	struct drift_txn t;
	int i;

	drifttxn_reset(&t);
	for (i = 0; i < 5; i++)
		feed(&t, NFT_MSG_DELRULE, NFPROTO_INET, "sgd", NFTA_RULE_CHAIN, "in_db", 0);
	feed(&t, NFT_MSG_DELRULE, NFPROTO_INET, "sgd", NFTA_RULE_CHAIN, "input", 0);
	feed(&t, NFT_MSG_DELCHAIN, NFPROTO_INET, "sgd", NFTA_CHAIN_NAME, "in_db", 0);
	feed(&t, NFT_MSG_DELCHAIN, NFPROTO_INET, "sgd", NFTA_CHAIN_NAME, "input", 0);
	feed(&t, NFT_MSG_DELSET, NFPROTO_INET, "sgd", NFTA_SET_NAME, "peer_app_v4", 0);
	feed(&t, NFT_MSG_DELTABLE, NFPROTO_INET, "sgd", 0, NULL, 0);
	ck_assert(t.table_deleted);
	ck_assert_str_eq(summary(&t),
			 "deleted table inet sgd (with 2 chains, 6 rules, 1 set)");
	/* delete and re-create in one transaction: both are said */
	feed(&t, NFT_MSG_NEWTABLE, NFPROTO_INET, "sgd", 0, NULL, 0);
	ck_assert_str_eq(summary(&t), "deleted table inet sgd (with 2 chains, "
			 "6 rules, 1 set), created or updated table inet sgd");
}
END_TEST

START_TEST(test_txn_elements_replace_dormant)
{
	struct drift_txn t;
	struct nlmsghdr *nlh;

	drifttxn_reset(&t);
	feed_elems(&t, NFT_MSG_NEWSETELEM, "peer_app_v4", 3);
	ck_assert(t.touches_table);
	ck_assert_str_eq(summary(&t), "added 3 elements to set peer_app_v4");
	feed_elems(&t, NFT_MSG_DELSETELEM, "peer_app_v4", 1);
	feed(&t, NFT_MSG_NEWRULE, NFPROTO_INET, "sgd", NFTA_RULE_CHAIN, "input",
	     NLM_F_REPLACE);
	ck_assert_str_eq(summary(&t), "added 3 elements to set peer_app_v4, deleted "
			 "1 element from set peer_app_v4, replaced 1 rule in chain input");
	drifttxn_reset(&t);
	nlh = ev_begin(NFT_MSG_NEWTABLE, NFPROTO_INET, 0);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, "sgd");
	mnl_attr_put_u32(nlh, NFTA_TABLE_FLAGS, htonl(NFT_TABLE_F_DORMANT));
	drifttxn_on_object(&t, "sgd", nlh, NFT_MSG_NEWTABLE);
	ck_assert_str_eq(summary(&t), "created or updated table inet sgd (dormant: "
			 "switched off)");
}
END_TEST

START_TEST(test_txn_anonymous_set)
{
	struct drift_txn t;
	struct nlmsghdr *nlh;

	/* nft add rule inet sgd input ip saddr { 10.0.0.1 } accept */
	drifttxn_reset(&t);
	nlh = ev_begin(NFT_MSG_NEWSET, NFPROTO_INET, 0);
	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, "sgd");
	mnl_attr_put_strz(nlh, NFTA_SET_NAME, "__set0");
	mnl_attr_put_u32(nlh, NFTA_SET_FLAGS, htonl(NFT_SET_ANONYMOUS | NFT_SET_CONSTANT));
	drifttxn_on_object(&t, "sgd", nlh, NFT_MSG_NEWSET);
	feed_elems(&t, NFT_MSG_NEWSETELEM, "__set0", 1);
	ck_assert(t.touches_table);
	feed(&t, NFT_MSG_NEWRULE, NFPROTO_INET, "sgd", NFTA_RULE_CHAIN, "input", 0);
	ck_assert_str_eq(summary(&t), "added 1 rule to chain input");
}
END_TEST

START_TEST(test_txn_many)
{
	struct drift_txn t;
	char name[32];
	int i;

	drifttxn_reset(&t);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		feed(&t, NFT_MSG_NEWCHAIN, NFPROTO_INET, "sgd", NFTA_CHAIN_NAME, name, 0);
	}
	ck_assert_uint_eq(t.n, DRIFT_MAX_ITEMS);
	ck_assert_uint_eq(t.more, 40 - DRIFT_MAX_ITEMS);
	{
		/* every change is either said or counted in "and N more" */
		const char *s = summary(&t), *p = s, *and = strstr(s, ", and ");
		unsigned long said = 0, more = 0;

		ck_assert_ptr_nonnull(and);
		ck_assert_int_eq(sscanf(and, ", and %lu more changes", &more), 1);
		while ((p = strstr(p, "added or changed chain c")) != NULL) {
			said++;
			p++;
		}
		ck_assert_uint_ge(more, 40 - DRIFT_MAX_ITEMS);
		ck_assert_uint_eq(said + more, 40);
		ck_assert_uint_lt(strlen(s), 512);
	}
	/* a summary never overruns a small buffer */
	{
		char small[40];

		drifttxn_summary(&t, "sgd", small, sizeof(small));
		ck_assert_uint_lt(strlen(small), sizeof(small));
	}
}
END_TEST

static void fp_set(struct drift_fp *fp, char **v, size_t n)
{
	memset(fp, 0, sizeof(*fp));
	fp->v = v;
	fp->n = n;
}

START_TEST(test_fp_compare)
{
	char *a[] = { "chain in_db", "rule in chain input\t10", "rule in chain input\t11",
		      "rule in chain input\t12", "rule in chain output\t20",
		      "set peer_app_v4", "table flags 0" };
	char *b[] = { "chain in_db", "rule in chain input\t13", "rule in chain output\t20",
		      "table flags 1" };
	struct drift_fp fa, fb;
	char buf[512];

	fp_set(&fa, a, 7);
	fp_set(&fb, b, 4);
	ck_assert_uint_eq(driftfp_compare(&fa, &fa, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_uint_eq(driftfp_compare(&fa, &fb, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "missing 3 rules in chain input; extra rule 13 in chain "
			 "input; missing set peer_app_v4; missing table flags 0; "
			 "extra table flags 1");
	/* no room: counted, never overrun */
	ck_assert_uint_eq(driftfp_compare(&fa, &fb, buf, 70), 7);
	ck_assert_uint_lt(strlen(buf), 70);
	ck_assert_ptr_nonnull(strstr(buf, "more"));
}
END_TEST

static Suite *drift_suite(void)
{
	Suite *s = suite_create("drift");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_txn_rule_added);
	tcase_add_test(tc, test_txn_other_tables);
	tcase_add_test(tc, test_txn_table_deleted);
	tcase_add_test(tc, test_txn_elements_replace_dormant);
	tcase_add_test(tc, test_txn_anonymous_set);
	tcase_add_test(tc, test_txn_many);
	tcase_add_test(tc, test_fp_compare);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(drift_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
