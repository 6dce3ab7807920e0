/*
 * test_load.c — the loader: every valid shape of docs/configuration.md ("Rules") gives the
 * expected model and survives the round trip (print -> load -> print gives
 * the same text); hostile input is refused with a clear message; the
 * check_run contract.  cidr.c and protocol.c: test_cidr.c.  Error messages of ordinary mistakes
 * are covered by the corpus (test_corpus.c).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confcheck.h"
#include "config.h"

/* ---- fixtures ---------------------------------------------------------- */

struct tfile {
	const char *name;	/* relative to the config dir */
	const char *text;
};

static char tdir[64];

static void t_rm_rf(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void t_write(const char *name, const char *text, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* A fresh config dir holding sgd.yaml (unless NULL) and files. */
static void t_setup(const char *sgd, const struct tfile *files)
{
	char path[512];

	snprintf(tdir, sizeof(tdir), "/tmp/sgd-test-load-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	snprintf(path, sizeof(path), "%s/groups.d", tdir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/prefix_lists.d", tdir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	if (sgd)
		t_write("sgd.yaml", sgd, strlen(sgd));
	for (; files && files->name; files++)
		t_write(files->name, files->text, strlen(files->text));
}

/* Print cfg into a malloc'd string. */
static char *t_print(const struct sg_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(config_print(f, cfg), 0);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

static char *t_diags_text(struct sg_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	diags_sort(d);
	diags_print(f, d);
	fclose(f);
	return buf;
}

/* print -> load_stream -> print must give the same text. */
static void t_round_trip(const struct sg_config *cfg)
{
	char path[512];
	struct sg_diags d;
	struct sg_config *again = NULL;
	char *one = t_print(cfg), *two;
	int r;

	snprintf(path, sizeof(path), "%s/normalized.yaml", tdir);
	{
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs(one, f);
		fclose(f);
	}
	diags_init(&d);
	r = config_load_stream(path, &again, &d);
	if (r != 0) {
		char *t = t_diags_text(&d);

		ck_abort_msg("normalized print does not load again:\n%s\n---\n%s", t, one);
	}
	two = t_print(again);
	ck_assert_str_eq(one, two);
	ck_assert_uint_eq(again->n_groups, cfg->n_groups);
	free(one);
	free(two);
	config_free(again);
	diags_free(&d);
}

/* Load the fixture dir, which must be valid, and round-trip it. */
static struct sg_config *t_load_ok(void)
{
	struct sg_diags d;
	struct sg_config *cfg = NULL;
	int r;

	diags_init(&d);
	r = config_load(tdir, &cfg, &d);
	if (r != 0) {
		char *t = t_diags_text(&d);

		ck_abort_msg("unexpected errors:\n%s", t);
	}
	ck_assert_uint_eq(d.n, 0);
	diags_free(&d);
	t_round_trip(cfg);
	return cfg;
}

/* Load the fixture dir, which must be invalid; returns the sorted errors. */
static char *t_load_err(void)
{
	struct sg_diags d;
	struct sg_config *cfg = (struct sg_config *)1;
	char *t;

	diags_init(&d);
	ck_assert_int_ne(config_load(tdir, &cfg, &d), 0);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_gt(d.n, 0);
	t = t_diags_text(&d);
	diags_free(&d);
	return t;
}

static void t_teardown(void)
{
	t_rm_rf(tdir);
}

static const struct sg_group *t_group(const struct sg_config *cfg, const char *name)
{
	int i = config_find_group(cfg, name);

	ck_assert_msg(i >= 0, "group %s not found", name);
	return &cfg->groups[i];
}

static void t_cidr_is(const struct sg_cidr *c, const char *want)
{
	char buf[64];

	ck_assert_str_eq(cidr_format(c, buf, sizeof(buf)), want);
}

/* ---- the example of docs/configuration.md ------------------------------ */

static const char spec_sgd[] =
	"table: sgd                      # name of the inet table sgd owns\n"
	"attach: [web-server, ssh-admin] # groups applied to every interface\n"
	"interfaces:\n"
	"  eth1: [database]\n"
	"implicit:                       # defaults shown\n"
	"  loopback: true\n"
	"  dhcp: true\n"
	"  ipv6_nd: true\n"
	"  metadata: true\n"
	"log_denied: false\n"
	"on_drift: repair\n"
	"forward: containers\n"
	"failsafe:\n"
	"  - {protocol: tcp, ports: 22, from: [192.0.2.0/24]}\n";

static const struct tfile spec_groups[] = {
	{ "groups.d/web-server.yaml",
	  "name: web-server\n"
	  "id: sg-0123456789abcdef0\n"
	  "description: Web servers\n"
	  "ingress:\n"
	  "  - protocol: tcp\n"
	  "    ports: 80\n"
	  "    from: [0.0.0.0/0, \"::/0\"]\n"
	  "    description: HTTP from anywhere\n"
	  "  - protocol: tcp\n"
	  "    ports: 443\n"
	  "    from: [0.0.0.0/0, \"::/0\"]\n"
	  "  - protocol: icmp\n"
	  "    icmp_type: 3\n"
	  "    icmp_code: 4\n"
	  "    from: [0.0.0.0/0]\n"
	  "  - protocol: tcp\n"
	  "    ports: 5432\n"
	  "    from: [app-servers]\n"
	  "members: [10.0.1.10, 10.0.1.11, \"2001:db8::10\"]\n" },
	{ "groups.d/app-servers.yaml", "ingress: []\n" },
	{ "groups.d/ssh-admin.yaml",
	  "ingress:\n  - {protocol: tcp, ports: 22, from: [198.51.100.0/24, \"2001:db8:1::/48\"]}\n" },
	{ "groups.d/database.yaml",
	  "name: database\negress: []\n"
	  "ingress:\n  - {protocol: tcp, ports: 5432, from: [sg-0123456789abcdef0]}\n" },
	{ NULL, NULL },
};

START_TEST(spec_example)
{
	struct sg_config *cfg;
	const struct sg_group *g;
	const struct sg_rule *r;

	t_setup(spec_sgd, spec_groups);
	cfg = t_load_ok();
	ck_assert_str_eq(cfg->table, "sgd");
	ck_assert_str_eq(cfg->table_pos.file, "sgd.yaml");
	ck_assert_int_eq(cfg->table_pos.line, 1);
	ck_assert_int_eq(cfg->table_pos.col, 8);
	ck_assert_uint_eq(cfg->n_attach, 2);
	ck_assert_str_eq(cfg->attach[0].name, "web-server");
	ck_assert_int_eq(cfg->attach[0].group_idx, config_find_group(cfg, "web-server"));
	ck_assert_int_eq(cfg->attach[1].pos.col, 22);
	ck_assert_uint_eq(cfg->n_ifaces, 1);
	ck_assert_str_eq(cfg->ifaces[0].ifname, "eth1");
	ck_assert_int_eq(cfg->ifaces[0].groups[0].group_idx, config_find_group(cfg, "database"));
	ck_assert(cfg->implicit.loopback && cfg->implicit.dhcp && cfg->implicit.ipv6_nd &&
		  cfg->implicit.metadata);
	ck_assert(!cfg->log_denied);
	ck_assert_int_eq(cfg->on_drift, SG_DRIFT_REPAIR);
	ck_assert_int_eq(cfg->forward, SG_FWD_CONTAINERS);
	ck_assert_int_eq(cfg->forward_pos.line, 12);
	ck_assert_ptr_null(cfg->control_group);
	ck_assert_uint_eq(cfg->n_failsafe, 1);
	ck_assert_int_eq(cfg->failsafe[0].proto, SG_PROTO_TCP);
	ck_assert_int_eq(cfg->failsafe[0].port_lo, 22);
	t_cidr_is(&cfg->failsafe[0].peers[0].cidr, "192.0.2.0/24");

	/* sorted by name */
	ck_assert_uint_eq(cfg->n_groups, 4);
	ck_assert_str_eq(cfg->groups[0].name, "app-servers");
	ck_assert_str_eq(cfg->groups[1].name, "database");
	ck_assert_str_eq(cfg->groups[2].name, "ssh-admin");
	ck_assert_str_eq(cfg->groups[3].name, "web-server");

	g = t_group(cfg, "sg-0123456789abcdef0");
	ck_assert_str_eq(g->name, "web-server");
	ck_assert_str_eq(g->file, "groups.d/web-server.yaml");
	ck_assert_str_eq(g->description, "Web servers");
	ck_assert_int_eq(g->name_pos.line, 1);
	ck_assert_int_eq(g->name_pos.col, 7);
	ck_assert_uint_eq(g->n_ingress, 4);
	r = &g->ingress[0];
	ck_assert_int_eq(r->index, 1);
	ck_assert_int_eq(r->dir, SG_DIR_IN);
	ck_assert_int_eq(r->proto, SG_PROTO_TCP);
	ck_assert_int_eq(r->port_lo, 80);
	ck_assert_int_eq(r->port_hi, 80);
	ck_assert_int_eq(r->icmp_type, -1);
	ck_assert_str_eq(r->description, "HTTP from anywhere");
	ck_assert_uint_eq(r->n_peers, 2);
	t_cidr_is(&r->peers[0].cidr, "0.0.0.0/0");
	t_cidr_is(&r->peers[1].cidr, "::/0");
	ck_assert_str_eq(r->pos.file, "groups.d/web-server.yaml");
	ck_assert_int_eq(r->pos.line, 5);
	ck_assert_int_eq(r->pos.col, 5);
	ck_assert_int_eq(r->proto_pos.line, 5);
	ck_assert_int_eq(r->proto_pos.col, 15);
	ck_assert_int_eq(r->ports_pos.line, 6);
	ck_assert_int_eq(r->ports_pos.col, 12);
	ck_assert_int_eq(r->peers[1].pos.line, 7);
	ck_assert_int_eq(r->peers[1].pos.col, 23);
	ck_assert_ptr_null(g->ingress[1].description);
	r = &g->ingress[2];
	ck_assert_int_eq(r->index, 3);
	ck_assert_int_eq(r->proto, SG_PROTO_ICMP);
	ck_assert_int_eq(r->port_lo, -1);
	ck_assert_int_eq(r->icmp_type, 3);
	ck_assert_int_eq(r->icmp_code, 4);
	ck_assert_int_eq(r->ports_pos.line, 13);
	r = &g->ingress[3];
	ck_assert_int_eq(r->peers[0].kind, SG_PEER_GROUP);
	ck_assert_str_eq(r->peers[0].group_ref, "app-servers");
	ck_assert_int_eq(r->peers[0].group_idx, 0);
	/* egress omitted: the AWS default */
	ck_assert(g->egress_omitted);
	ck_assert_uint_eq(g->n_egress, 1);
	ck_assert(g->egress[0].implicit_default);
	ck_assert_int_eq(g->egress[0].proto, SG_PROTO_ALL);
	ck_assert_int_eq(g->egress[0].dir, SG_DIR_OUT);
	ck_assert_int_eq(g->egress[0].index, 1);
	ck_assert_uint_eq(g->egress[0].n_peers, 2);
	t_cidr_is(&g->egress[0].peers[0].cidr, "0.0.0.0/0");
	t_cidr_is(&g->egress[0].peers[1].cidr, "::/0");
	ck_assert_uint_eq(g->n_members, 3);
	t_cidr_is(&g->members[0].cidr, "10.0.1.10/32");
	t_cidr_is(&g->members[2].cidr, "2001:db8::10/128");

	/* name defaults to the file's stem; egress: [] means none */
	g = t_group(cfg, "ssh-admin");
	ck_assert_str_eq(g->file, "groups.d/ssh-admin.yaml");
	ck_assert_ptr_null(g->id);
	g = t_group(cfg, "database");
	ck_assert(!g->egress_omitted);
	ck_assert_uint_eq(g->n_egress, 0);
	ck_assert_int_eq(g->ingress[0].peers[0].group_idx, config_find_group(cfg, "web-server"));
	ck_assert_int_eq(config_find_group(cfg, "nosuch"), -1);
	config_free(cfg);
	t_teardown();
}
END_TEST

/* ---- every protocol, port and ICMP shape ------------------------------- */

static const struct {
	const char *rule;	/* one ingress rule, flow style */
	int proto, lo, hi, type, code;
} shapes[] = {
	{ "{protocol: tcp, ports: 80, from: [10.0.0.0/8]}", 6, 80, 80, -1, -1 },
	{ "{protocol: tcp, ports: \"80\", from: [10.0.0.0/8]}", 6, 80, 80, -1, -1 },
	{ "{protocol: TCP, ports: 0, from: [10.0.0.0/8]}", 6, 0, 0, -1, -1 },
	{ "{protocol: udp, ports: \"1000-2000\", from: [10.0.0.0/8]}", 17, 1000, 2000, -1, -1 },
	{ "{protocol: udp, ports: 1000-2000, from: [10.0.0.0/8]}", 17, 1000, 2000, -1, -1 },
	{ "{protocol: udp, ports: 53-53, from: [10.0.0.0/8]}", 17, 53, 53, -1, -1 },
	{ "{protocol: tcp, ports: all, from: [10.0.0.0/8]}", 6, 0, 65535, -1, -1 },
	{ "{protocol: tcp, ports: \"0-65535\", from: [10.0.0.0/8]}", 6, 0, 65535, -1, -1 },
	{ "{protocol: tcp, ports: 65535, from: [10.0.0.0/8]}", 6, 65535, 65535, -1, -1 },
	{ "{protocol: 6, ports: 22, from: [10.0.0.0/8]}", 6, 22, 22, -1, -1 },
	{ "{protocol: \"17\", ports: 53, from: [10.0.0.0/8]}", 17, 53, 53, -1, -1 },
	{ "{protocol: icmp, from: [10.0.0.0/8]}", 1, -1, -1, -1, -1 },
	{ "{protocol: 1, icmp_type: 8, from: [10.0.0.0/8]}", 1, -1, -1, 8, -1 },
	{ "{protocol: icmp, icmp_type: 3, icmp_code: 4, from: [10.0.0.0/8]}", 1, -1, -1, 3, 4 },
	{ "{protocol: icmp, icmp_type: -1, icmp_code: -1, from: [10.0.0.0/8]}", 1, -1, -1, -1, -1 },
	{ "{protocol: icmp, icmp_type: \"255\", icmp_code: 0, from: [10.0.0.0/8]}", 1, -1, -1, 255, 0 },
	{ "{protocol: icmpv6, icmp_type: 128, icmp_code: 0, from: [\"2001:db8::/32\"]}", 58, -1, -1, 128, 0 },
	{ "{protocol: 58, from: [\"::/0\"]}", 58, -1, -1, -1, -1 },
	{ "{protocol: all, from: [10.0.0.0/8, \"::/0\"]}", -1, -1, -1, -1, -1 },
	{ "{protocol: -1, from: [10.0.0.0/8]}", -1, -1, -1, -1, -1 },
	{ "{protocol: \"-1\", from: [10.0.0.0/8]}", -1, -1, -1, -1, -1 },
	{ "{protocol: 47, from: [10.0.0.0/8]}", 47, -1, -1, -1, -1 },
	{ "{protocol: 50, from: [10.0.0.0/8]}", 50, -1, -1, -1, -1 },
	{ "{protocol: 0, from: [10.0.0.0/8]}", 0, -1, -1, -1, -1 },
	{ "{protocol: 255, from: [10.0.0.0/8]}", 255, -1, -1, -1, -1 },
	{ "{protocol: icmp, from: [peer], description: \"\"}", 1, -1, -1, -1, -1 },
};

START_TEST(rule_shapes)
{
	char text[512];
	struct tfile files[] = {
		{ "groups.d/g.yaml", text },
		{ "groups.d/peer.yaml", "ingress: []\n" },
		{ NULL, NULL },
	};
	struct sg_config *cfg;
	const struct sg_rule *r;

	snprintf(text, sizeof(text), "ingress:\n  - %s\negress:\n  - %s\n", shapes[_i].rule,
		 shapes[_i].rule);
	/* the egress copy uses to: instead of from: */
	{
		char *p = strstr(text, "egress:");

		p = strstr(p, "from:");
		memcpy(p, "to:  ", 5);
	}
	t_setup("attach: [g]\n", files);
	cfg = t_load_ok();
	for (int dir = 0; dir < 2; dir++) {
		r = dir ? &t_group(cfg, "g")->egress[0] : &t_group(cfg, "g")->ingress[0];
		ck_assert_int_eq(r->dir, dir);
		ck_assert_int_eq(r->proto, shapes[_i].proto);
		ck_assert_int_eq(r->port_lo, shapes[_i].lo);
		ck_assert_int_eq(r->port_hi, shapes[_i].hi);
		ck_assert_int_eq(r->icmp_type, shapes[_i].type);
		ck_assert_int_eq(r->icmp_code, shapes[_i].code);
		ck_assert(!r->implicit_default);
	}
	config_free(cfg);
	t_teardown();
}
END_TEST

/* ---- peers and members ------------------------------------------------ */

START_TEST(peer_shapes)
{
	static const struct tfile files[] = {
		{ "groups.d/g.yaml",
		  "id: sg-0123abcd\n"
		  "ingress:\n"
		  "  - protocol: all\n"
		  "    from:\n"
		  "      - 10.1.2.3\n"
		  "      - \"2001:db8::1\"\n"
		  "      - 10.0.0.0/8\n"
		  "      - 2001:db8::/32\n"
		  "      - ::/0\n"
		  "      - 0.0.0.0/0\n"
		  "      - g\n"
		  "      - sg-0123abcd\n"
		  "      - h.v1_x\n"
		  "      - 1abc\n"
		  "members: [192.0.2.1, 192.0.2.0/28, \"fd00::/8\", \"::1\"]\n" },
		{ "groups.d/h.v1_x.yaml", "egress: []\n" },
		{ "groups.d/1abc.yaml", "{}\n" },
		{ NULL, NULL },
	};
	static const char *const want[] = { "10.1.2.3/32", "2001:db8::1/128", "10.0.0.0/8",
		"2001:db8::/32", "::/0", "0.0.0.0/0" };
	struct sg_config *cfg;
	const struct sg_rule *r;
	int g;

	t_setup("attach: [sg-0123abcd, h.v1_x]\n", files);
	cfg = t_load_ok();
	g = config_find_group(cfg, "g");
	ck_assert_int_eq(config_find_group(cfg, "sg-0123abcd"), g);
	ck_assert_int_eq(cfg->attach[0].group_idx, g);
	r = &cfg->groups[g].ingress[0];
	ck_assert_uint_eq(r->n_peers, 10);
	for (size_t i = 0; i < 6; i++) {
		ck_assert_int_eq(r->peers[i].kind, SG_PEER_CIDR);
		t_cidr_is(&r->peers[i].cidr, want[i]);
	}
	ck_assert_int_eq(r->peers[6].group_idx, g);
	ck_assert_int_eq(r->peers[7].group_idx, g);
	ck_assert_str_eq(r->peers[7].group_ref, "sg-0123abcd");
	ck_assert_int_eq(r->peers[8].group_idx, config_find_group(cfg, "h.v1_x"));
	ck_assert_int_eq(r->peers[9].group_idx, config_find_group(cfg, "1abc"));
	ck_assert_uint_eq(cfg->groups[g].n_members, 4);
	t_cidr_is(&cfg->groups[g].members[1].cidr, "192.0.2.0/28");
	t_cidr_is(&cfg->groups[g].members[3].cidr, "::1/128");
	/* an empty mapping is a group with no ingress and the default egress */
	ck_assert_uint_eq(cfg->groups[config_find_group(cfg, "1abc")].n_ingress, 0);
	ck_assert(cfg->groups[config_find_group(cfg, "1abc")].egress_omitted);
	config_free(cfg);
	t_teardown();
}
END_TEST

/* A reference to a prefix list becomes the list's entries, in entry
 * order, where the reference was; an edit of the list changes the
 * entries of every rule that names it. */
START_TEST(prefix_list_refs)
{
	static const struct tfile files[] = {
		{ "prefix_lists.d/pl-0a1b2c3d.yaml",
		  "name: office\nid: pl-0a1b2c3d\n"
		  "entries:\n"
		  "  - {cidr: 192.0.2.0/24, description: HQ}\n"
		  "  - {cidr: \"2001:db8:1::/48\", description: HQ v6}\n"
		  "  - 198.51.100.7\n" },
		{ "groups.d/g.yaml",
		  "ingress:\n"
		  "  - {protocol: tcp, ports: 22, from: [10.0.0.0/8, office, h]}\n"
		  "  - {protocol: icmp, from: [pl-0a1b2c3d, office]}\n"
		  "egress:\n"
		  "  - {protocol: all, to: [pl-0a1b2c3d]}\n" },
		{ "groups.d/h.yaml", "{}\n" },
		{ NULL, NULL },
	};
	struct sg_config *cfg;
	const struct sg_rule *r;
	const struct sg_plist *pl;
	const struct sg_plist_entry *e;
	int g;

	t_setup("attach: [g]\n", files);
	cfg = t_load_ok();
	ck_assert_uint_eq(cfg->n_plists, 1);
	ck_assert_int_eq(config_find_plist(cfg, "office"), 0);
	ck_assert_int_eq(config_find_plist(cfg, "pl-0a1b2c3d"), 0);
	ck_assert_int_eq(config_find_plist(cfg, "g"), -1);
	ck_assert_str_eq(cfg->plists[0].file, "prefix_lists.d/pl-0a1b2c3d.yaml");
	g = config_find_group(cfg, "g");
	r = &cfg->groups[g].ingress[0];
	ck_assert_uint_eq(r->n_peers, 5);
	t_cidr_is(&r->peers[0].cidr, "10.0.0.0/8");
	ck_assert_int_eq(r->peers[0].plist_idx, -1);
	ck_assert_ptr_null(config_peer_entry(cfg, &r->peers[0], NULL));
	t_cidr_is(&r->peers[1].cidr, "192.0.2.0/24");
	t_cidr_is(&r->peers[2].cidr, "2001:db8:1::/48");
	t_cidr_is(&r->peers[3].cidr, "198.51.100.7/32");
	for (int i = 1; i <= 3; i++) {
		ck_assert_int_eq(r->peers[i].kind, SG_PEER_CIDR);
		ck_assert_int_eq(r->peers[i].plist_idx, 0);
		ck_assert_ptr_null(r->peers[i].group_ref);
		/* errors about the peer point at the reference */
		ck_assert_int_eq(r->peers[i].pos.line, 2);
		ck_assert_int_eq(r->peers[i].pos.col, 51);
	}
	e = config_peer_entry(cfg, &r->peers[2], &pl);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(pl->name, "office");
	ck_assert_str_eq(e->description, "HQ v6");
	ck_assert_int_eq(r->peers[4].kind, SG_PEER_GROUP);
	ck_assert_int_eq(r->peers[4].group_idx, config_find_group(cfg, "h"));
	/* icmp: the IPv4 entries only, once per reference */
	r = &cfg->groups[g].ingress[1];
	ck_assert_uint_eq(r->n_peers, 4);
	t_cidr_is(&r->peers[2].cidr, "192.0.2.0/24");
	r = &cfg->groups[g].egress[0];
	ck_assert_uint_eq(r->n_peers, 3);
	config_free(cfg);

	/* the list edited: one entry gone, one new */
	t_write("prefix_lists.d/pl-0a1b2c3d.yaml",
		"name: office\nid: pl-0a1b2c3d\nentries: [192.0.2.0/24, 203.0.113.0/24]\n", 69);
	cfg = t_load_ok();
	r = &cfg->groups[config_find_group(cfg, "g")].ingress[0];
	ck_assert_uint_eq(r->n_peers, 4);
	t_cidr_is(&r->peers[2].cidr, "203.0.113.0/24");
	ck_assert_ptr_null(config_peer_entry(cfg, &r->peers[2], &pl)->description);
	config_free(cfg);
	t_teardown();
}
END_TEST

/* ---- host settings ---------------------------------------------------- */

START_TEST(settings_non_default)
{
	static const struct tfile files[] = {
		{ "groups.d/a.yaml", "name: a\n" },
		{ "groups.d/b.yaml", "name: b\n" },
		{ NULL, NULL },
	};
	struct sg_config *cfg;

	t_setup("table: my_fw-1\n"
		"attach: []\n"
		"interfaces:\n"
		"  eth0: [a, b]\n"
		"  \"wlan0.100\": [b]\n"
		"  br-lan: []\n"
		"implicit: {loopback: false, dhcp: False, ipv6_nd: FALSE, metadata: true}\n"
		"log_denied: true\n"
		"on_drift: warn\n"
		"forward: off\n"
		"failsafe: []\n"
		"control_group: sgadmin\n", files);
	cfg = t_load_ok();
	ck_assert_str_eq(cfg->table, "my_fw-1");
	ck_assert_uint_eq(cfg->n_attach, 0);
	ck_assert_uint_eq(cfg->n_ifaces, 3);
	ck_assert_str_eq(cfg->ifaces[1].ifname, "wlan0.100");
	ck_assert_uint_eq(cfg->ifaces[0].n_groups, 2);
	ck_assert_int_eq(cfg->ifaces[0].groups[1].group_idx, 1);
	ck_assert_uint_eq(cfg->ifaces[2].n_groups, 0);
	ck_assert(!cfg->implicit.loopback && !cfg->implicit.dhcp && !cfg->implicit.ipv6_nd);
	ck_assert(cfg->implicit.metadata);
	ck_assert(cfg->log_denied);
	ck_assert_int_eq(cfg->on_drift, SG_DRIFT_WARN);
	ck_assert_int_eq(cfg->forward, SG_FWD_OFF);
	ck_assert_str_eq(cfg->control_group, "sgadmin");
	config_free(cfg);
	t_teardown();
}
END_TEST

/* forward: every word, and the print loads back to the same value */
START_TEST(settings_forward)
{
	static const char *const words[] = { "containers", "off", "all", "false" };
	static const enum sg_forward want[] = { SG_FWD_CONTAINERS, SG_FWD_OFF,
						SG_FWD_ALL, SG_FWD_OFF };
	static const char *const printed[] = { "forward: containers\n",
		"forward: off\n", "forward: all\n", "forward: off\n" };
	size_t i;

	for (i = 0; i < 4; i++) {
		struct sg_config *cfg;
		char yaml[64], *text;

		snprintf(yaml, sizeof(yaml), "log_denied: false\nforward: %s\n", words[i]);
		t_setup(yaml, NULL);
		cfg = t_load_ok();
		ck_assert_int_eq(cfg->forward, want[i]);
		ck_assert_int_eq(cfg->forward_pos.line, 2);
		ck_assert_int_eq(cfg->forward_pos.col, 10);
		text = t_print(cfg);
		ck_assert_msg(strstr(text, printed[i]) != NULL, "%s", text);
		free(text);
		config_free(cfg);
		t_teardown();
	}
}
END_TEST

START_TEST(settings_defaults)
{
	struct sg_config *cfg;
	char *text;

	/* an sgd.yaml with only a comment is empty: an error; "{}" is fine */
	t_setup("{}\n", NULL);
	{
		char path[512];

		/* a missing groups.d is a host without groups */
		snprintf(path, sizeof(path), "%s/groups.d", tdir);
		ck_assert_int_eq(rmdir(path), 0);
	}
	cfg = t_load_ok();
	ck_assert_str_eq(cfg->table, "sgd");
	ck_assert_ptr_null(cfg->table_pos.file);
	ck_assert(cfg->implicit.loopback && cfg->implicit.dhcp && cfg->implicit.ipv6_nd &&
		  cfg->implicit.metadata);
	ck_assert(!cfg->log_denied);
	ck_assert_int_eq(cfg->on_drift, SG_DRIFT_REPAIR);
	ck_assert_uint_eq(cfg->n_groups + cfg->n_attach + cfg->n_ifaces + cfg->n_failsafe, 0);
	text = t_print(cfg);
	ck_assert_str_eq(text,
		"--- # sgd.yaml\n"
		"table: sgd\n"
		"attach: []\n"
		"interfaces: {}\n"
		"implicit: {loopback: true, dhcp: true, ipv6_nd: true, metadata: true, "
		"ipv6_redirects: false, aws_dns: true, aws_ntp: true}\n"
		"log_denied: false\n"
		"on_drift: repair\n"
		"forward: containers\n"
		"failsafe: []\n");
	free(text);
	config_free(cfg);
	t_teardown();
}
END_TEST

/* ---- the normalized print --------------------------------------------- */

START_TEST(print_exact)
{
	static const struct tfile files[] = {
		{ "groups.d/null.yaml",
		  "description: \"say \\\"hi\\\"\\n\\ttab \\\\ caf\\u00e9 \\u0001\"\n"
		  "ingress:\n"
		  "  - {protocol: 47, from: [\"null\", 10.0.0.0/8], description: 'it''s'}\n"
		  "egress:\n"
		  "  - {protocol: udp, ports: 1-2, to: [\"2001:DB8::/32\"]}\n" },
		{ NULL, NULL },
	};
	struct sg_config *cfg;
	char *text;

	t_setup("attach: [\"null\"]\ninterfaces: {\"eth@1\": []}\n", files);
	cfg = t_load_ok();
	ck_assert_str_eq(cfg->groups[0].description, "say \"hi\"\n\ttab \\ caf\xc3\xa9 \x01");
	text = t_print(cfg);
	ck_assert_str_eq(text,
		"--- # sgd.yaml\n"
		"table: sgd\n"
		"attach: [\"null\"]\n"
		"interfaces:\n"
		"  \"eth@1\": []\n"
		"implicit: {loopback: true, dhcp: true, ipv6_nd: true, metadata: true, "
		"ipv6_redirects: false, aws_dns: true, aws_ntp: true}\n"
		"log_denied: false\n"
		"on_drift: repair\n"
		"forward: containers\n"
		"failsafe: []\n"
		"--- # groups.d/null.yaml\n"
		"name: \"null\"\n"
		"description: \"say \\\"hi\\\"\\n\\ttab \\\\ caf\xc3\xa9 \\u0001\"\n"
		"ingress:\n"
		"  - {protocol: 47, from: [\"null\", \"10.0.0.0/8\"], description: \"it's\"}\n"
		"egress:\n"
		"  - {protocol: udp, ports: \"1-2\", to: [\"2001:db8::/32\"]}\n"
		"members: []\n");
	free(text);
	config_free(cfg);
	t_teardown();
}
END_TEST

/* ---- hostile input ---------------------------------------------------- */

static void t_big_sgd(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *buf = malloc(hl + ul * n + tl + 1);
	char *p = buf;

	ck_assert_ptr_nonnull(buf);
	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, tail, tl);
	p += tl;
	t_write("sgd.yaml", buf, (size_t)(p - buf));
	free(buf);
}

/* The implicit allowances of issue 18: ipv6_redirects (default false),
 * aws_dns and aws_ntp (default true); bad values and unknown keys are
 * reported at file:line:column. */
START_TEST(implicit_aws_keys)
{
	struct sg_config *cfg;
	char *t;

	t_setup("implicit:\n"
		"  ipv6_redirects: true\n"
		"  aws_dns: false\n"
		"  aws_ntp: FALSE\n", NULL);
	cfg = t_load_ok();
	ck_assert(cfg->implicit.ipv6_redirects);
	ck_assert(!cfg->implicit.aws_dns && !cfg->implicit.aws_ntp);
	ck_assert(cfg->implicit.loopback && cfg->implicit.dhcp && cfg->implicit.ipv6_nd &&
		  cfg->implicit.metadata);
	config_free(cfg);
	t_teardown();

	t_setup("attach: []\n", NULL);
	cfg = t_load_ok();
	ck_assert(!cfg->implicit.ipv6_redirects);
	ck_assert(cfg->implicit.aws_dns && cfg->implicit.aws_ntp);
	config_free(cfg);
	t_teardown();

	t_setup("implicit:\n"
		"  aws_dns: maybe\n"
		"  ipv6_redirect: true\n", NULL);
	t = t_load_err();
	ck_assert_msg(strstr(t, "sgd.yaml:2:12: ") != NULL, "%s", t);
	ck_assert_msg(strstr(t, "sgd.yaml:3:3: ") != NULL, "%s", t);
	ck_assert_msg(strstr(t, "ipv6_redirects") != NULL, "%s", t);	/* the suggestion */
	free(t);
	t_teardown();
}
END_TEST

START_TEST(hostile_deep_flow)
{
	char *t;

	t_setup(NULL, NULL);
	t_big_sgd("attach: ", "[", 1000000, "");
	t = t_load_err();
	ck_assert_str_eq(t, "sgd.yaml:1:72: nesting is deeper than 64 levels\n");
	free(t);
	t_teardown();
}
END_TEST

START_TEST(hostile_deep_block)
{
	char *t;

	t_setup(NULL, NULL);
	t_big_sgd("failsafe:\n", "- ", 1000000, "x\n");
	t = t_load_err();
	ck_assert_str_eq(t, "sgd.yaml:2:127: nesting is deeper than 64 levels\n");
	free(t);
	t_teardown();
}
END_TEST

START_TEST(depth_limit_exact)
{
	char tail[80], *t;

	/* 64 levels (the root mapping and 63 lists) pass the depth check and
	 * meet the type check of attach's first item; 65 levels do not */
	memset(tail, ']', 64);
	tail[63] = '\0';
	t_setup(NULL, NULL);
	t_big_sgd("attach: ", "[", 63, tail);
	t = t_load_err();
	ck_assert_str_eq(t, "sgd.yaml:1:10: attach: expected a group name or id, got a list\n");
	free(t);
	tail[63] = ']';
	tail[64] = '\0';
	t_big_sgd("attach: ", "[", 64, tail);
	t = t_load_err();
	ck_assert_str_eq(t, "sgd.yaml:1:72: nesting is deeper than 64 levels\n");
	free(t);
	t_teardown();
}
END_TEST

START_TEST(hostile_node_count)
{
	char *t;

	/* 2 MB of tiny values: refused at value SG_MAX_NODES + 1 (the root
	 * mapping, the key and the list count too) */
	t_setup(NULL, NULL);
	t_big_sgd("x: [", "a,", 1000000, "a]\n");
	t = t_load_err();
	ck_assert_str_eq(t, "sgd.yaml:1:1999999: more than 1000000 values in one file\n");
	free(t);
	t_teardown();
}
END_TEST

START_TEST(hostile_alias)
{
	char *t;

	t_setup("attach: &a [*a]\n", NULL);
	t = t_load_err();
	ck_assert_str_eq(t, "sgd.yaml:1:9: anchors (&a) are not allowed in sgd configuration; "
			 "write the value out\n");
	free(t);
	t_teardown();

	t_setup("attach: [*a]\n", NULL);
	t = t_load_err();
	ck_assert_str_eq(t, "sgd.yaml:1:10: aliases (*a) are not allowed in sgd configuration; "
			 "write the value out\n");
	free(t);
	t_teardown();
}
END_TEST

START_TEST(hostile_size)
{
	char path[512], *t, want[256];
	int fd;

	t_setup(NULL, NULL);
	snprintf(path, sizeof(path), "%s/sgd.yaml", tdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)SG_MAX_FILE_SIZE + 1), 0);
	close(fd);
	t = t_load_err();
	snprintf(want, sizeof(want), "sgd.yaml: file is %u bytes, over the limit of %u bytes\n",
		 SG_MAX_FILE_SIZE + 1, SG_MAX_FILE_SIZE);
	ck_assert_str_eq(t, want);
	free(t);
	t_teardown();
}
END_TEST

START_TEST(hostile_many_keys)
{
	char *t;

	/* every repeat of a key is reported at its own place; 200,000
	 * repeats in one mapping (sorted, not compared pairwise) too */
	t_setup(NULL, NULL);
	t_big_sgd("implicit: {", "loopback: true, ", 3, "dhcp: true}\n");
	t = t_load_err();
	ck_assert_str_eq(t,
		"sgd.yaml:1:28: duplicate key 'loopback' (first at line 1, column 12)\n"
		"sgd.yaml:1:44: duplicate key 'loopback' (first at line 1, column 12)\n");
	free(t);
	t_big_sgd("implicit: {", "loopback: true, ", 200000, "dhcp: true}\n");
	t = t_load_err();
	{
		size_t lines = 0;

		for (const char *p = t; *p; p++)
			lines += *p == '\n';
		ck_assert_uint_eq(lines, 199999);
	}
	ck_assert_ptr_nonnull(strstr(t, "sgd.yaml:1:3199996: duplicate key 'loopback' "
				     "(first at line 1, column 12)\n"));
	free(t);
	t_teardown();
}
END_TEST

/* ---- check_run -------------------------------------------------------- */

static int t_check(bool verbose, char **out, char **err)
{
	size_t lo, le;
	FILE *fo = open_memstream(out, &lo), *fe = open_memstream(err, &le);
	int code = check_run(tdir, verbose, fo, fe);

	fclose(fo);
	fclose(fe);
	return code;
}

START_TEST(check_run_contract)
{
	static const struct tfile files[] = {
		{ "groups.d/web.yaml", "ingress: [{protocol: tcp, ports: 80, from: [0.0.0.0/0]}]\n" },
		{ NULL, NULL },
	};
	char *out, *err;

	t_setup("attach: [web]\n", files);
	ck_assert_int_eq(t_check(false, &out, &err), 0);
	ck_assert_str_eq(out, "");
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
	ck_assert_int_eq(t_check(true, &out, &err), 0);
	ck_assert_ptr_nonnull(strstr(out, "--- # groups.d/web.yaml\nname: web\n"));
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
	t_write("sgd.yaml", "attach: [webb, dbb]\n", 20);
	ck_assert_int_eq(t_check(true, &out, &err), 1);
	ck_assert_str_eq(out, "");
	ck_assert_str_eq(err, "sgd.yaml:1:10: attach: unknown group 'webb'; did you mean 'web'?\n"
			 "sgd.yaml:1:16: attach: unknown group 'dbb' (no groups.d/*.yaml defines it)\n");
	free(out);
	free(err);
	t_teardown();
	snprintf(tdir, sizeof(tdir), "/nonexistent/sgd");
	ck_assert_int_eq(t_check(false, &out, &err), 1);
	ck_assert_str_eq(err, "/nonexistent/sgd: cannot open configuration directory: "
			 "No such file or directory\n");
	free(out);
	free(err);
}
END_TEST

/* ---- many groups ------------------------------------------------------ */

START_TEST(many_groups)
{
	struct sg_config *cfg;
	char name[64], text[256];

	/* 2,000 groups, each naming another by id and another by name */
	t_setup("attach: [g0000, sg-000007cf]\n", NULL);
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "groups.d/g%04d.yaml", i);
		snprintf(text, sizeof(text), "id: sg-%08x\ningress:\n"
			 "  - {protocol: tcp, ports: 443, from: [sg-%08x, g%04d]}\n",
			 i, (i * 7) % 2000, (i * 13) % 2000);
		t_write(name, text, strlen(text));
	}
	cfg = t_load_ok();
	ck_assert_uint_eq(cfg->n_groups, 2000);
	ck_assert_uint_eq(cfg->n_files, 2001);
	ck_assert_int_eq(cfg->attach[1].group_idx, 1999);
	for (int i = 0; i < 2000; i++) {
		const struct sg_rule *r = &cfg->groups[i].ingress[0];

		snprintf(name, sizeof(name), "groups.d/g%04d.yaml", i);
		ck_assert_str_eq(cfg->groups[i].file, name);
		snprintf(name, sizeof(name), "g%04d", i);
		ck_assert_str_eq(cfg->groups[i].name, name);
		ck_assert_int_eq(r->peers[0].group_idx, (i * 7) % 2000);
		ck_assert_int_eq(r->peers[1].group_idx, (i * 13) % 2000);
	}
	config_free(cfg);
	t_teardown();
}
END_TEST

/* ---- odd files in groups.d -------------------------------------------- */

START_TEST(odd_group_files)
{
	char path[512], *t;

	t_setup("attach: []\n", NULL);
	snprintf(path, sizeof(path), "%s/groups.d/dir.yaml", tdir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/groups.d/fifo.yaml", tdir);
	ck_assert_int_eq(mkfifo(path, 0644), 0);	/* must not block the loader */
	t_write("groups.d/a\nattach: [x]\n.yaml", "{}\n", 3);
	t_write("groups.d/.hidden.yaml", "not: [valid\n", 12);
	t_write("groups.d/README", "not yaml at all: [\n", 19);
	t = t_load_err();
	ck_assert_str_eq(t,
		"groups.d/a?attach: [x]?.yaml: file name contains control characters or is "
		"not UTF-8; rename the file\n"
		"groups.d/dir.yaml: not a regular file\n"
		"groups.d/fifo.yaml: not a regular file\n");
	free(t);
	t_teardown();
}
END_TEST

static Suite *load_suite(void)
{
	Suite *s = suite_create("load");
	TCase *tc = tcase_create("load");

	tcase_set_timeout(tc, 0);	/* no timer: meson's timeout is the hang guard */
	tcase_add_test(tc, spec_example);
	tcase_add_loop_test(tc, rule_shapes, 0, sizeof(shapes) / sizeof(shapes[0]));
	tcase_add_test(tc, peer_shapes);
	tcase_add_test(tc, prefix_list_refs);
	tcase_add_test(tc, settings_non_default);
	tcase_add_test(tc, settings_defaults);
	tcase_add_test(tc, settings_forward);
	tcase_add_test(tc, print_exact);
	tcase_add_test(tc, implicit_aws_keys);
	tcase_add_test(tc, hostile_deep_flow);
	tcase_add_test(tc, hostile_deep_block);
	tcase_add_test(tc, depth_limit_exact);
	tcase_add_test(tc, hostile_node_count);
	tcase_add_test(tc, hostile_alias);
	tcase_add_test(tc, hostile_size);
	tcase_add_test(tc, hostile_many_keys);
	tcase_add_test(tc, check_run_contract);
	tcase_add_test(tc, odd_group_files);
	tcase_add_test(tc, many_groups);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(load_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
