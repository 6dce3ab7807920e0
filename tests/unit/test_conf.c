/*
 * test_conf.c — the shipped example configuration (conf/) loads without
 * error and holds every row of the EC2 "security group rules reference"
 * (shared/docs/roles-reference.md), each in the group conf/README.md says.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "model.h"

/* A peer that a row requires: a CIDR ("0.0.0.0/0") or a group, named by
 * the group the reference must resolve to (whether written by name or id). */
struct want_peer {
	enum sg_peer_kind kind;
	const char *value;
};

/* One row of the roles table.  port_lo/hi and icmp_type/code as in
 * struct sg_rule (-1 where not applicable or "any").  note is the row's
 * note that must be the rule's description, or NULL where the reference
 * has none (then any description is accepted). */
struct want_row {
	const char *group;
	enum sg_dir dir;
	int proto;
	int port_lo, port_hi;
	int icmp_type, icmp_code;
	struct want_peer peers[2];
	const char *note;
};

#define CIDR(s) { SG_PEER_CIDR, s }
#define GROUP(s) { SG_PEER_GROUP, s }
#define NOPEER { SG_PEER_CIDR, NULL }

static const struct want_row rows[] = {
	{ "web-server", SG_DIR_IN, SG_PROTO_TCP, 80, 80, -1, -1,
	  { CIDR("0.0.0.0/0"), NOPEER }, "HTTP from any IPv4" },
	{ "web-server", SG_DIR_IN, SG_PROTO_TCP, 443, 443, -1, -1,
	  { CIDR("0.0.0.0/0"), NOPEER }, "HTTPS from any IPv4" },
	{ "web-server", SG_DIR_IN, SG_PROTO_TCP, 80, 80, -1, -1,
	  { CIDR("::/0"), NOPEER }, "HTTP from any IPv6" },
	{ "web-server", SG_DIR_IN, SG_PROTO_TCP, 443, 443, -1, -1,
	  { CIDR("::/0"), NOPEER }, "HTTPS from any IPv6" },
	{ "database-server", SG_DIR_IN, SG_PROTO_TCP, 1433, 1433, -1, -1,
	  { CIDR("10.0.0.0/16"), GROUP("web-server") }, "MS SQL Server" },
	{ "database-server", SG_DIR_IN, SG_PROTO_TCP, 3306, 3306, -1, -1,
	  { CIDR("10.0.0.0/16"), GROUP("web-server") }, "MySQL / Aurora" },
	{ "database-server", SG_DIR_IN, SG_PROTO_TCP, 5439, 5439, -1, -1,
	  { CIDR("10.0.0.0/16"), GROUP("web-server") }, "Redshift" },
	{ "database-server", SG_DIR_IN, SG_PROTO_TCP, 5432, 5432, -1, -1,
	  { CIDR("10.0.0.0/16"), GROUP("web-server") }, "PostgreSQL" },
	{ "database-server", SG_DIR_IN, SG_PROTO_TCP, 1521, 1521, -1, -1,
	  { CIDR("10.0.0.0/16"), GROUP("web-server") }, "Oracle" },
	{ "database-server-restricted", SG_DIR_OUT, SG_PROTO_TCP, 80, 80, -1, -1,
	  { CIDR("0.0.0.0/0"), CIDR("::/0") },
	  "after removing the default allow-all egress rule" },
	{ "database-server-restricted", SG_DIR_OUT, SG_PROTO_TCP, 443, 443, -1, -1,
	  { CIDR("0.0.0.0/0"), CIDR("::/0") },
	  "after removing the default allow-all egress rule" },
	{ "same-group-vpc", SG_DIR_IN, SG_PROTO_ALL, -1, -1, -1, -1,
	  { GROUP("same-group-vpc"), NOPEER },
	  "instances of one group talk to each other" },
	{ "same-group-classic", SG_DIR_IN, SG_PROTO_ICMP, -1, -1, -1, -1,
	  { GROUP("same-group-classic"), NOPEER }, NULL },
	{ "same-group-classic", SG_DIR_IN, SG_PROTO_TCP, 0, 65535, -1, -1,
	  { GROUP("same-group-classic"), NOPEER }, NULL },
	{ "same-group-classic", SG_DIR_IN, SG_PROTO_UDP, 0, 65535, -1, -1,
	  { GROUP("same-group-classic"), NOPEER }, NULL },
	{ "admin-ssh", SG_DIR_IN, SG_PROTO_TCP, 22, 22, -1, -1,
	  { CIDR("203.0.113.7/32"), CIDR("2001:db8:ad::/48") }, "Linux" },
	{ "admin-rdp", SG_DIR_IN, SG_PROTO_TCP, 3389, 3389, -1, -1,
	  { CIDR("198.51.100.0/24"), CIDR("2001:db8:ad::/48") }, "Windows" },
	{ "path-mtu", SG_DIR_IN, SG_PROTO_ICMP, -1, -1, 3, 4,
	  { CIDR("0.0.0.0/0"), NOPEER }, "fragmentation needed and DF set" },
	{ "ping", SG_DIR_IN, SG_PROTO_ICMP, -1, -1, 8, -1,
	  { CIDR("203.0.113.0/24"), NOPEER }, NULL },
	{ "ping", SG_DIR_IN, SG_PROTO_ICMPV6, -1, -1, 128, 0,
	  { CIDR("2001:db8:ad::/48"), NOPEER }, NULL },
	{ "dns-server", SG_DIR_IN, SG_PROTO_TCP, 53, 53, -1, -1,
	  { CIDR("10.0.0.0/16"), GROUP("web-server") }, NULL },
	{ "dns-server", SG_DIR_IN, SG_PROTO_UDP, 53, 53, -1, -1,
	  { CIDR("10.0.0.0/16"), GROUP("web-server") }, NULL },
	{ "efs-mount-target", SG_DIR_IN, SG_PROTO_TCP, 2049, 2049, -1, -1,
	  { GROUP("efs-mount-target"), NOPEER },
	  "NFS from resources of that group" },
	{ "efs-client", SG_DIR_IN, SG_PROTO_TCP, 22, 22, -1, -1,
	  { CIDR("198.51.100.0/24"), NOPEER }, "to mount the file system" },
	{ "load-balancer", SG_DIR_IN, SG_PROTO_TCP, 80, 80, -1, -1,
	  { CIDR("0.0.0.0/0"), NOPEER }, NULL },
	{ "load-balancer", SG_DIR_OUT, SG_PROTO_TCP, 8080, 8080, -1, -1,
	  { GROUP("lb-instance"), NOPEER }, NULL },
	{ "load-balancer", SG_DIR_OUT, SG_PROTO_TCP, 8081, 8081, -1, -1,
	  { GROUP("lb-instance"), NOPEER }, NULL },
	{ "lb-instance", SG_DIR_IN, SG_PROTO_TCP, 8080, 8080, -1, -1,
	  { GROUP("load-balancer"), NOPEER }, NULL },
	{ "lb-instance", SG_DIR_IN, SG_PROTO_TCP, 8081, 8081, -1, -1,
	  { GROUP("load-balancer"), NOPEER }, NULL },
};

static struct sg_config *cfg;

static void conf_setup(void)
{
	const char *src = getenv("SRCDIR");
	char dir[4096];
	struct sg_diags d;
	int r;

	snprintf(dir, sizeof(dir), "%s/conf", src ? src : ".");
	diags_init(&d);
	r = config_load(dir, &cfg, &d);
	if (r != 0)
		diags_print(stderr, &d);
	diags_free(&d);
	ck_assert_msg(r == 0, "config_load(%s) = %d", dir, r);
	ck_assert_ptr_nonnull(cfg);
}

static void conf_teardown(void)
{
	config_free(cfg);
	cfg = NULL;
}

static bool peer_matches(const struct sg_peer *p, const struct want_peer *w)
{
	struct sg_cidr c;
	int gi;

	if (p->kind != w->kind)
		return false;
	if (w->kind == SG_PEER_CIDR) {
		if (cidr_parse(w->value, &c) != 0)
			return false;
		return cidr_cmp(&p->cidr, &c) == 0;
	}
	gi = config_find_group(cfg, w->value);
	return gi >= 0 && p->group_idx == gi;
}

/* Every wanted peer is among the rule's peers, and the rule has no other. */
static bool peers_match(const struct sg_rule *r, const struct want_peer *w)
{
	size_t want = 0, i, k;

	for (k = 0; k < 2 && w[k].value; k++) {
		want++;
		for (i = 0; i < r->n_peers; i++)
			if (peer_matches(&r->peers[i], &w[k]))
				break;
		if (i == r->n_peers)
			return false;
	}
	return r->n_peers == want;
}

static bool rule_matches(const struct sg_rule *r, const struct want_row *w)
{
	if (r->dir != w->dir || r->proto != w->proto || r->implicit_default)
		return false;
	if (r->port_lo != w->port_lo || r->port_hi != w->port_hi)
		return false;
	if (r->icmp_type != w->icmp_type || r->icmp_code != w->icmp_code)
		return false;
	if (!peers_match(r, w->peers))
		return false;
	if (w->note && (!r->description || strcmp(r->description, w->note) != 0))
		return false;
	return true;
}

START_TEST(test_conf_row_present)
{
	const struct want_row *w = &rows[_i];
	const struct sg_group *g;
	const struct sg_rule *list;
	size_t n, k;
	int gi;

	gi = config_find_group(cfg, w->group);
	ck_assert_msg(gi >= 0, "group %s is missing", w->group);
	g = &cfg->groups[gi];
	list = w->dir == SG_DIR_IN ? g->ingress : g->egress;
	n = w->dir == SG_DIR_IN ? g->n_ingress : g->n_egress;
	for (k = 0; k < n; k++)
		if (rule_matches(&list[k], w))
			break;
	ck_assert_msg(k < n, "row %d (%s %s proto %d port %d-%d icmp %d/%d) not found",
		      _i + 1, w->group, w->dir == SG_DIR_IN ? "in" : "out",
		      w->proto, w->port_lo, w->port_hi, w->icmp_type, w->icmp_code);
}
END_TEST

/* The restricted variant must not fall back to the default egress, and the
 * plain database server must keep it. */
START_TEST(test_conf_egress_defaults)
{
	int r = config_find_group(cfg, "database-server-restricted");
	int p = config_find_group(cfg, "database-server");

	ck_assert_int_ge(r, 0);
	ck_assert_int_ge(p, 0);
	ck_assert(!cfg->groups[r].egress_omitted);
	ck_assert_uint_eq(cfg->groups[r].n_egress, 2);
	ck_assert(cfg->groups[p].egress_omitted);
	ck_assert_uint_eq(cfg->groups[p].n_egress, 1);
	ck_assert(cfg->groups[p].egress[0].implicit_default);
}
END_TEST

START_TEST(test_conf_attach)
{
	static const char *const want[] = { "web-server", "admin-ssh", "ping", "path-mtu" };
	size_t i;

	ck_assert_uint_eq(cfg->n_attach, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_str_eq(cfg->attach[i].name, want[i]);
		ck_assert_int_eq(cfg->attach[i].group_idx, config_find_group(cfg, want[i]));
	}
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("roles");

	tcase_add_checked_fixture(tc, conf_setup, conf_teardown);
	tcase_add_loop_test(tc, test_conf_row_present, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_conf_egress_defaults);
	tcase_add_test(tc, test_conf_attach);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
