/*
 * test_compile.c — the compiler without a kernel.
 *
 * Each case builds a model by hand, compiles it, serializes every message
 * of the plan as the kernel would receive it, parses it back with libnftnl
 * and prints it; the text must equal tests/golden/compile/<case>.txt.
 * SGD_REGEN_GOLDEN=1 rewrites the golden files instead (review the diff).
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <linux/netfilter.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include "plan.h"
#include "flat.h"
#include "loader.h"

/* ---- building models by hand ---- */

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

static struct sg_pos pos(const char *file, int line)
{
	struct sg_pos p = { file, line, 5 };

	return p;
}

/* peers: "10.0.0.0/8", or "@N" for group N */
static struct sg_rule rule(enum sg_dir dir, int proto, int a, int b,
			   const char *desc, int index, int line,
			   const char *p1, const char *p2)
{
	struct sg_rule r;
	const char *ps[2] = { p1, p2 };
	int i;

	memset(&r, 0, sizeof(r));
	r.dir = dir;
	r.proto = proto;
	r.port_lo = r.port_hi = r.icmp_type = r.icmp_code = -1;
	if (proto == SG_PROTO_TCP || proto == SG_PROTO_UDP) {
		r.port_lo = a;
		r.port_hi = b;
	} else if (proto == SG_PROTO_ICMP || proto == SG_PROTO_ICMPV6) {
		r.icmp_type = a;
		r.icmp_code = b;
	}
	r.description = (char *)desc;
	r.index = index;
	r.pos = pos("groups.d/test.yaml", line);
	r.peers = calloc(2, sizeof(*r.peers));
	for (i = 0; i < 2 && ps[i]; i++) {
		struct sg_peer *p = &r.peers[r.n_peers++];

		if (ps[i][0] == '@') {
			p->kind = SG_PEER_GROUP;
			p->group_idx = atoi(ps[i] + 1);
		} else {
			p->kind = SG_PEER_CIDR;
			p->cidr = cidr(ps[i]);
			p->group_idx = -1;
		}
	}
	return r;
}

struct model {
	struct sg_config cfg;
	struct sg_group groups[3];
	struct sg_rule in[16], out[4], fs[2];
	struct sg_ref attach[2];
	struct sg_iface iface;
	struct sg_ref iface_ref;
	struct sg_cidr_list lists[3];
	struct sg_members members;
};

static void model_free(struct model *m)
{
	size_t i;

	for (i = 0; i < 16; i++)
		free(m->in[i].peers);
	for (i = 0; i < 4; i++)
		free(m->out[i].peers);
	for (i = 0; i < 2; i++)
		free(m->fs[i].peers);
	for (i = 0; i < 3; i++)
		free(m->lists[i].v);
	free(m);
}

static void model_member(struct model *m, int g, const char *s)
{
	struct sg_cidr_list *l = &m->lists[g];

	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = cidr(s);
}

/* groups: 0 "web" (attached, every rule shape), 1 "app" (peer only),
 * 2 "db" (attached on eth1, restricted egress) */
static struct model *model_new(void)
{
	struct model *m = calloc(1, sizeof(*m));
	struct sg_config *c = &m->cfg;
	struct sg_group *g;
	int n = 0;

	c->table = "sgd";
	c->implicit.loopback = c->implicit.dhcp = true;
	c->implicit.ipv6_nd = c->implicit.metadata = true;
	/* every implicit allowance, ipv6_redirects (off by default) too */
	c->implicit.ipv6_redirects = c->implicit.aws_dns = c->implicit.aws_ntp = true;
	c->groups = m->groups;
	c->n_groups = 3;
	m->groups[0].name = "web";
	m->groups[1].name = "app";
	m->groups[2].name = "db";
	m->groups[0].pos = pos("groups.d/web.yaml", 1);
	m->groups[1].pos = pos("groups.d/app.yaml", 1);
	m->groups[2].pos = pos("groups.d/db.yaml", 1);

	m->in[n++] = rule(SG_DIR_IN, SG_PROTO_TCP, 80, 80, "HTTP from anywhere", 1, 10,
			  "0.0.0.0/0", "::/0");
	m->in[n++] = rule(SG_DIR_IN, SG_PROTO_TCP, 1000, 2000, NULL, 2, 14,
			  "10.0.0.0/8", "2001:db8::/32");
	m->in[n++] = rule(SG_DIR_IN, SG_PROTO_UDP, 0, 65535, "all udp", 3, 18,
			  "192.0.2.7", NULL);
	m->in[n++] = rule(SG_DIR_IN, SG_PROTO_ICMP, 8, -1, "ping", 4, 22,
			  "198.51.100.0/24", NULL);
	m->in[n++] = rule(SG_DIR_IN, SG_PROTO_ICMP, 3, 4, "pmtu", 5, 26,
			  "0.0.0.0/0", NULL);
	m->in[n++] = rule(SG_DIR_IN, SG_PROTO_ICMP, -1, -1, "any icmp", 6, 30,
			  "@1", NULL);
	m->in[n++] = rule(SG_DIR_IN, SG_PROTO_ICMPV6, 128, 0, "ping6", 7, 34,
			  "2001:db8:1::/48", NULL);
	m->in[n++] = rule(SG_DIR_IN, SG_PROTO_ALL, 0, 0, "same group", 8, 38,
			  "@0", NULL);
	m->in[n++] = rule(SG_DIR_IN, 47, 0, 0, "gre", 9, 42, "203.0.113.0/25", NULL);
	m->in[n++] = rule(SG_DIR_IN, 0, 0, 0, "protocol 0", 10, 46, "::/0", NULL);
	m->in[n++] = rule(SG_DIR_IN, SG_PROTO_TCP, 5432, 5432, NULL, 11, 50, "@1", NULL);
	g = &m->groups[0];
	g->ingress = m->in;
	g->n_ingress = (size_t)n;
	m->out[0] = rule(SG_DIR_OUT, SG_PROTO_ALL, 0, 0, NULL, 1, 1, "0.0.0.0/0", "::/0");
	m->out[0].implicit_default = true;
	m->out[0].pos.file = NULL;
	g->egress = &m->out[0];
	g->n_egress = 1;
	g->egress_omitted = true;

	g = &m->groups[2];
	m->in[n] = rule(SG_DIR_IN, SG_PROTO_TCP, 3306, 3306, "MySQL", 1, 9, "@1", NULL);
	g->ingress = &m->in[n++];
	g->n_ingress = 1;
	m->out[1] = rule(SG_DIR_OUT, SG_PROTO_TCP, 443, 443, "https out", 1, 20,
			 "0.0.0.0/0", NULL);
	m->out[2] = rule(SG_DIR_OUT, SG_PROTO_TCP, 5432, 5432, "to app", 2, 24, "@1", NULL);
	g->egress = &m->out[1];
	g->n_egress = 2;

	m->attach[0].name = "web";
	m->attach[0].group_idx = 0;
	c->attach = m->attach;
	c->n_attach = 1;
	m->iface.ifname = "eth1";
	m->iface_ref.name = "db";
	m->iface_ref.group_idx = 2;
	m->iface.groups = &m->iface_ref;
	m->iface.n_groups = 1;
	c->ifaces = &m->iface;
	c->n_ifaces = 1;
	m->fs[0] = rule(SG_DIR_IN, SG_PROTO_TCP, 22, 22, "ssh rescue", 1, 12,
			"192.0.2.0/24", NULL);
	m->fs[0].pos.file = "sgd.yaml";
	c->failsafe = m->fs;
	c->n_failsafe = 1;

	model_member(m, 0, "10.0.1.10");
	model_member(m, 0, "2001:db8::10");
	model_member(m, 1, "10.1.0.0/16");
	model_member(m, 1, "10.1.2.0/24");	/* inside 10.1.0.0/16: not sent */
	model_member(m, 1, "10.2.0.0/31");
	model_member(m, 1, "2001:db8:ffff::/48");
	model_member(m, 1, "fd00::1");
	m->members.by_group = m->lists;
	m->members.n_groups = 3;
	return m;
}

/* ---- golden comparison ---- */

/* libnftnl 1.2.4 fails to parse an element list of more than one element
 * back (nftnl_set_elems_nlmsg_parse returns -1), so each element makes
 * its own round trip. */
static void elems_roundtrip(struct nftnl_set *set, char *txt, size_t len)
{
	struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(set);
	struct nftnl_set_elem *e;
	char *msg = malloc(1 << 16), line[512];
	size_t off = 0;

	ck_assert_ptr_nonnull(it);
	txt[0] = '\0';
	off += (size_t)snprintf(txt, len, "set %s %s:", nftnl_set_get_str(set, NFTNL_SET_TABLE),
				nftnl_set_get_str(set, NFTNL_SET_NAME));
	while ((e = nftnl_set_elems_iter_next(it))) {
		struct nftnl_set *one = nftnl_set_alloc(), *back = nftnl_set_alloc();
		struct nlmsghdr *nlh;
		struct nftnl_set_elems_iter *bi;
		struct nftnl_set_elem *be;
		const uint8_t *key;
		uint32_t klen = 0, i, flags = 0;

		nftnl_set_set_str(one, NFTNL_SET_TABLE, nftnl_set_get_str(set, NFTNL_SET_TABLE));
		nftnl_set_set_str(one, NFTNL_SET_NAME, nftnl_set_get_str(set, NFTNL_SET_NAME));
		struct nftnl_set_elem *copy = nftnl_set_elem_alloc();
		const void *k0 = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);

		nftnl_set_elem_set(copy, NFTNL_SET_ELEM_KEY, k0, klen);
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
			nftnl_set_elem_set_u32(copy, NFTNL_SET_ELEM_FLAGS,
					       nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS));
		nftnl_set_elem_add(one, copy);
		nlh = nftnl_nlmsg_build_hdr(msg, NFT_MSG_NEWSETELEM, NFPROTO_INET, 0, 1);
		nftnl_set_elems_nlmsg_build_payload(nlh, one);
		ck_assert_int_eq(nftnl_set_elems_nlmsg_parse(nlh, back), 0);
		bi = nftnl_set_elems_iter_create(back);
		be = nftnl_set_elems_iter_next(bi);
		ck_assert_ptr_nonnull(be);
		key = nftnl_set_elem_get(be, NFTNL_SET_ELEM_KEY, &klen);
		if (nftnl_set_elem_is_set(be, NFTNL_SET_ELEM_FLAGS))
			flags = nftnl_set_elem_get_u32(be, NFTNL_SET_ELEM_FLAGS);
		off += (size_t)snprintf(txt + off, len - off, "\n  key");
		for (i = 0; i < klen; i++) {
			snprintf(line, sizeof(line), "%s%02x", i % 4 ? "" : " ", key[i]);
			off += (size_t)snprintf(txt + off, len - off, "%s", line);
		}
		off += (size_t)snprintf(txt + off, len - off, " flags %u%s", flags,
					flags & NFT_SET_ELEM_INTERVAL_END ? " (interval end)" : "");
		nftnl_set_elems_iter_destroy(bi);
		nftnl_set_free(one);
		nftnl_set_free(back);
	}
	nftnl_set_elems_iter_destroy(it);
	free(msg);
}

/* A PLAN_FLATELEMS message as the kernel gets it: every element's
 * attributes, parsed back from the wire. */
static void flatelems_text(const struct nlmsghdr *nlh, char *txt, size_t len)
{
	const struct nlattr *attr, *el, *a, *v;
	size_t off = 0, i;

	txt[0] = '\0';
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		switch (mnl_attr_get_type(attr)) {
		case NFTA_SET_ELEM_LIST_TABLE:
		case NFTA_SET_ELEM_LIST_SET:
			off += (size_t)snprintf(txt + off, len - off, "%s%s",
						off ? " " : "set ", mnl_attr_get_str(attr));
			break;
		case NFTA_SET_ELEM_LIST_ELEMENTS:
			mnl_attr_for_each_nested(el, attr) {
				off += (size_t)snprintf(txt + off, len - off, "\n ");
				mnl_attr_for_each_nested(a, el) {
					uint16_t t = mnl_attr_get_type(a);

					if (t == NFTA_SET_ELEM_KEY || t == NFTA_SET_ELEM_KEY_END) {
						off += (size_t)snprintf(txt + off, len - off, " %s",
									t == NFTA_SET_ELEM_KEY ? "key" : "end");
						mnl_attr_for_each_nested(v, a) {
							const uint8_t *b = mnl_attr_get_payload(v);

							for (i = 0; i < mnl_attr_get_payload_len(v); i++)
								off += (size_t)snprintf(txt + off, len - off,
											"%s%02x", i % 4 ? "" : " ", b[i]);
						}
					} else if (t == NFTA_SET_ELEM_FLAGS) {
						off += (size_t)snprintf(txt + off, len - off, " flags %u",
									ntohl(mnl_attr_get_u32(a)));
					} else if (t == NFTA_SET_ELEM_USERDATA) {
						const char *u = mnl_attr_get_payload(a);

						off += (size_t)snprintf(txt + off, len - off,
									" udata type %d comment \"%s\"",
									u[0], u + 2);
					}
				}
			}
			break;
		default:
			break;
		}
	}
}

static char *plan_roundtrip(const struct sg_plan *plan)
{
	char *out = NULL, *msg = malloc(1 << 16), *txt = malloc(1 << 16);
	size_t len = 0, i;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < plan->n; i++) {
		const struct plan_msg *m = &plan->v[i];
		int n = plan_msg_build(plan, i, msg, 1 << 16, (uint32_t)i + 1);
		struct nlmsghdr *nlh = (struct nlmsghdr *)msg;

		ck_assert_int_gt(n, 0);
		ck_assert_uint_eq(nlh->nlmsg_seq, i + 1);
		switch (m->kind) {
		case PLAN_TABLE: {
			struct nftnl_table *t = nftnl_table_alloc();

			ck_assert_int_eq(nftnl_table_nlmsg_parse(nlh, t), 0);
			nftnl_table_snprintf(txt, 1 << 16, t, NFTNL_OUTPUT_DEFAULT, 0);
			nftnl_table_free(t);
			break;
		}
		case PLAN_BASECHAIN:
		case PLAN_CHAIN: {
			struct nftnl_chain *c = nftnl_chain_alloc();

			ck_assert_int_eq(nftnl_chain_nlmsg_parse(nlh, c), 0);
			nftnl_chain_snprintf(txt, 1 << 16, c, NFTNL_OUTPUT_DEFAULT, 0);
			nftnl_chain_free(c);
			break;
		}
		case PLAN_SET: {
			struct nftnl_set *s = nftnl_set_alloc();

			ck_assert_int_eq(nftnl_set_nlmsg_parse(nlh, s), 0);
			nftnl_set_snprintf(txt, 1 << 16, s, NFTNL_OUTPUT_DEFAULT, 0);
			nftnl_set_free(s);
			break;
		}
		case PLAN_ELEMS:
			elems_roundtrip(m->o.set, txt, 1 << 16);
			break;
		case PLAN_FLATELEMS:
			flatelems_text(nlh, txt, 1 << 16);
			break;
		case PLAN_CIDRELEMS: {
			/* built without libnftnl: parsed back by it, then printed
			 * as PLAN_ELEMS are */
			struct nftnl_set *s = nftnl_set_alloc();

			ck_assert_int_eq(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
			elems_roundtrip(s, txt, 1 << 16);
			nftnl_set_free(s);
			break;
		}
		case PLAN_RULE: {
			struct nftnl_rule *r = nftnl_rule_alloc();

			ck_assert_int_eq(nftnl_rule_nlmsg_parse(nlh, r), 0);
			nftnl_rule_snprintf(txt, 1 << 16, r, NFTNL_OUTPUT_DEFAULT, 0);
			nftnl_rule_free(r);
			break;
		}
		}
		fprintf(f, "# msg %zu type %u flags 0x%x: %s\n%s\n", i,
			nlh->nlmsg_type & 0xff, nlh->nlmsg_flags, m->origin.what, txt);
	}
	fclose(f);
	free(msg);
	free(txt);
	return out;
}

static void golden_check(const char *name, const char *got)
{
	const char *src = getenv("SRCDIR");
	char path[4096];
	FILE *f;
	char *want;
	long len;

	snprintf(path, sizeof(path), "%s/tests/golden/compile/%s.txt",
		 src ? src : ".", name);
	if (getenv("SGD_REGEN_GOLDEN")) {
		f = fopen(path, "w");
		ck_assert_msg(f != NULL, "cannot write %s", path);
		fputs(got, f);
		fclose(f);
		return;
	}
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "missing golden file %s (SGD_REGEN_GOLDEN=1)", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	want = calloc(1, (size_t)len + 1);
	ck_assert_uint_eq(fread(want, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	if (strcmp(want, got) != 0) {
		char out[4200];

		snprintf(out, sizeof(out), "%s.out", path);
		f = fopen(out, "w");
		if (f) {
			fputs(got, f);
			fclose(f);
		}
		ck_abort_msg("%s differs from the compiler's output (see %s)", path, out);
	}
	free(want);
}

static void golden_plan(const char *name, const struct sg_plan *plan)
{
	char *got = plan_roundtrip(plan);

	golden_check(name, got);
	free(got);
}

/* ---- cases ---- */

START_TEST(full_config)
{
	struct model *m = model_new();
	struct sg_plan plan;

	m->cfg.log_denied = true;
	ck_assert_int_eq(compile_config(&m->cfg, &m->members, &plan), 0);
	golden_plan("full", &plan);
	plan_free(&plan);
	model_free(m);
}
END_TEST

START_TEST(implicit_off)
{
	struct model *m = model_new();
	struct sg_plan plan;

	memset(&m->cfg.implicit, 0, sizeof(m->cfg.implicit));
	m->cfg.n_ifaces = 0;
	m->cfg.n_failsafe = 0;
	m->groups[0].n_ingress = 1;
	ck_assert_int_eq(compile_config(&m->cfg, &m->members, &plan), 0);
	golden_plan("implicit_off", &plan);
	plan_free(&plan);
	model_free(m);
}
END_TEST

/* forward: containers on the full model: the forward_in/forward_out base
 * chains, fwd.in with the ct original copies of in.tcp, in.udp and
 * in_db, fwd.out reusing out.proto and out_db, their logged drops. */
START_TEST(forward_containers)
{
	struct model *m = model_new();
	struct sg_plan plan;

	m->cfg.forward = SG_FWD_CONTAINERS;
	m->cfg.log_denied = true;
	ck_assert_int_eq(compile_config(&m->cfg, &m->members, &plan), 0);
	golden_plan("forward_containers", &plan);
	plan_free(&plan);
	model_free(m);
}
END_TEST

/* forward: all adds the routed-traffic jumps; no interface groups. */
START_TEST(forward_all)
{
	struct model *m = model_new();
	struct sg_plan plan;

	m->cfg.forward = SG_FWD_ALL;
	m->cfg.n_ifaces = 0;
	m->cfg.n_failsafe = 0;
	m->groups[0].n_ingress = 3;
	ck_assert_int_eq(compile_config(&m->cfg, &m->members, &plan), 0);
	golden_plan("forward_all", &plan);
	plan_free(&plan);
	model_free(m);
}
END_TEST

/* One golden per rule shape, compiled alone into chain in_web. */
static void shape(const char *name, struct sg_rule r)
{
	struct model *m = model_new();
	struct sg_plan plan;

	plan_init(&plan);
	plan.table = strdup("sgd");
	ck_assert_int_eq(compile_rule(&plan, &m->cfg, r.dir == SG_DIR_IN ? "in_web" :
				      "out_web", &r, "sgd1 R in 1 web",
				      "web in #1 (groups.d/test.yaml:1)", "ingress rule 1"), 0);
	golden_plan(name, &plan);
	plan_free(&plan);
	free(r.peers);
	model_free(m);
}

START_TEST(shapes)
{
	shape("tcp_port_v4_any", rule(SG_DIR_IN, SG_PROTO_TCP, 443, 443, NULL, 1, 1,
				      "0.0.0.0/0", NULL));
	shape("tcp_port_v6_any", rule(SG_DIR_IN, SG_PROTO_TCP, 80, 80, NULL, 1, 1,
				      "::/0", NULL));
	shape("tcp_range_cidr", rule(SG_DIR_IN, SG_PROTO_TCP, 1024, 65535, NULL, 1, 1,
				     "10.0.0.0/8", "2001:db8::/32"));
	shape("udp_all_host", rule(SG_DIR_IN, SG_PROTO_UDP, 0, 65535, NULL, 1, 1,
				   "192.0.2.7", "2001:db8::7"));
	shape("icmp_echo", rule(SG_DIR_IN, SG_PROTO_ICMP, 8, -1, NULL, 1, 1,
				"198.51.100.0/24", NULL));
	shape("icmp_3_4", rule(SG_DIR_IN, SG_PROTO_ICMP, 3, 4, NULL, 1, 1,
			       "0.0.0.0/0", NULL));
	shape("icmp_any_group", rule(SG_DIR_IN, SG_PROTO_ICMP, -1, -1, NULL, 1, 1,
				     "@1", NULL));
	shape("icmpv6_echo", rule(SG_DIR_IN, SG_PROTO_ICMPV6, 128, 0, NULL, 1, 1,
				  "::/0", NULL));
	shape("all_group", rule(SG_DIR_IN, SG_PROTO_ALL, 0, 0, NULL, 1, 1, "@0", NULL));
	shape("proto_47", rule(SG_DIR_IN, 47, 0, 0, NULL, 1, 1, "203.0.113.0/25", NULL));
	shape("egress_tcp_daddr", rule(SG_DIR_OUT, SG_PROTO_TCP, 443, 443, NULL, 1, 1,
				       "0.0.0.0/0", "2001:db8::/127"));
	shape("egress_group", rule(SG_DIR_OUT, SG_PROTO_UDP, 53, 53, NULL, 1, 1,
				   "@2", NULL));
}
END_TEST

START_TEST(family_mismatch_refused)
{
	struct model *m = model_new();
	struct sg_rule r = rule(SG_DIR_IN, SG_PROTO_ICMP, 8, -1, NULL, 1, 1, "::/0", NULL);
	struct sg_plan plan;

	plan_init(&plan);
	plan.table = strdup("sgd");
	ck_assert_int_eq(compile_rule(&plan, &m->cfg, "in_web", &r, NULL, NULL, "x"),
			 -EINVAL);
	plan_free(&plan);
	free(r.peers);
	model_free(m);
}
END_TEST

START_TEST(toplevel_members)
{
	struct sg_cidr v[] = { cidr("10.1.2.0/24"), cidr("10.0.0.0/8"),
			       cidr("10.0.0.1"), cidr("192.0.2.0/24"),
			       cidr("192.0.2.0/24"), cidr("::/0"),
			       cidr("172.16.0.0/12"), cidr("172.32.0.0/12") };
	struct sg_cidr *t;
	size_t n;

	ck_assert_int_eq(compile_toplevel(v, 8, AF_INET, &t, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(t[0].prefix, 8);
	ck_assert_int_eq(t[1].addr.bytes[0], 172);
	ck_assert_int_eq(t[2].addr.bytes[1], 32);
	ck_assert_int_eq(t[3].addr.bytes[0], 192);
	free(t);
	ck_assert_int_eq(compile_toplevel(v, 8, AF_INET6, &t, &n), 0);
	ck_assert_uint_eq(n, 1);
	free(t);
}
END_TEST

START_TEST(member_delta)
{
	struct sg_cidr o[] = { cidr("10.1.0.0/16"), cidr("10.9.0.1"), cidr("10.1.5.0/24"),
			       cidr("2001:db8::1") };
	struct sg_cidr n[] = { cidr("10.0.0.0/8"), cidr("10.1.0.0/16"),
			       cidr("192.0.2.0/24"), cidr("2001:db8::1"),
			       cidr("255.255.255.0/24") };
	struct sg_cidr_list lo = { o, 4, 4 }, ln = { n, 5, 5 };
	struct plan_origin origin = { .what = "members of app" };
	struct model *m = model_new();
	struct sg_plan plan;

	plan_init(&plan);
	plan.table = strdup("sgd");
	ck_assert_int_eq(setdelta_plan(&plan, &m->cfg, 1, AF_INET, &lo, &ln,
				       &origin), 0);
	ck_assert_int_eq(setdelta_plan(&plan, &m->cfg, 1, AF_INET6, &lo, &ln,
				       &origin), 0);
	/* v4: delete 10.9.0.1 (peer_app_v4_hosts) and 10.1/16 (peer_app_v4),
	 * add 10/8, 192.0.2/24, 255.255.255/24 (peer_app_v4);
	 * v6: unchanged, nothing sent */
	ck_assert_uint_eq(plan.n, 3);
	golden_plan("member_delta", &plan);
	plan_free(&plan);
	model_free(m);
}
END_TEST

START_TEST(large_set_split)
{
	struct sg_cidr *v = calloc(2000, sizeof(*v));
	struct sg_plan plan;
	size_t i;

	for (i = 0; i < 2000; i++) {
		v[i].family = AF_INET6;
		v[i].addr.bytes[0] = 0x20;
		v[i].addr.bytes[14] = (uint8_t)(i >> 8);
		v[i].addr.bytes[15] = (uint8_t)i;
		v[i].prefix = 128;
	}
	plan_init(&plan);
	plan.table = strdup("sgd");
	ck_assert_int_eq(compile_set_elems(&plan, "peer_x_v6", AF_INET6, true,
					   v, 2000, false, NULL), 0);
	/* 4000 elements (start + end) in messages of at most PLAN_ELEMS_PER_MSG */
	ck_assert_uint_eq(plan.n, (4000 + PLAN_ELEMS_PER_MSG - 1) / PLAN_ELEMS_PER_MSG);
	for (i = 0; i < plan.n; i++) {
		char *buf = malloc(1 << 16);

		ck_assert_int_lt(plan_msg_build(&plan, i, buf, 1 << 16, 1), 65535);
		free(buf);
	}
	plan_free(&plan);
	free(v);
}
END_TEST

START_TEST(long_comment_fits_udata)
{
	struct sg_plan plan;
	struct nftnl_rule *r;
	char comment[600];
	uint32_t len = 0;

	memset(comment, 'x', sizeof(comment) - 1);
	comment[sizeof(comment) - 1] = '\0';
	plan_init(&plan);
	plan.table = strdup("sgd");
	r = plan_rule_new(&plan, "in_web", "sgd1 R in 1 web", comment);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len));
	ck_assert_uint_le(len, 256);
	ck_assert_uint_gt(len, 200);
	nftnl_rule_free(r);
	plan_free(&plan);
}
END_TEST

/* The flat layout of one attached group with every kind of element:
 * exact (v4, v6, a duplicate), ranges with a contained and a partially
 * overlapping one (layer 1), protocol all with a nested block, udp. */
START_TEST(flat_layers)
{
	struct model *m = model_new();
	struct sg_rule v[9];
	struct sg_plan plan;
	size_t i;

	v[0] = rule(SG_DIR_IN, SG_PROTO_TCP, 22, 22, "ssh", 1, 3, "192.0.2.10", "2001:db8::10");
	v[1] = rule(SG_DIR_IN, SG_PROTO_TCP, 22, 22, "ssh again", 2, 4, "192.0.2.10", NULL);
	v[2] = rule(SG_DIR_IN, SG_PROTO_TCP, 1000, 2000, NULL, 3, 5, "10.0.0.0/8", NULL);
	v[3] = rule(SG_DIR_IN, SG_PROTO_TCP, 1500, 2500, "partial", 4, 6, "10.1.0.0/16", NULL);
	v[4] = rule(SG_DIR_IN, SG_PROTO_TCP, 1100, 1200, "contained", 5, 7, "10.2.0.0/16", NULL);
	v[5] = rule(SG_DIR_IN, SG_PROTO_ALL, 0, 0, NULL, 6, 8, "172.16.0.0/12", "2001:db8:1::/48");
	v[6] = rule(SG_DIR_IN, SG_PROTO_ALL, 0, 0, "nested", 7, 9, "172.16.5.0/24", NULL);
	v[7] = rule(SG_DIR_IN, SG_PROTO_UDP, 53, 53, "dns", 8, 10, "2001:db8::53", "0.0.0.0/0");
	v[8] = rule(SG_DIR_IN, SG_PROTO_ICMPV6, 128, -1, "ping6", 9, 11, "::/0", NULL);
	m->groups[0].ingress = v;
	m->groups[0].n_ingress = 9;
	m->cfg.n_ifaces = 0;
	m->cfg.n_failsafe = 0;
	memset(&m->cfg.implicit, 0, sizeof(m->cfg.implicit));
	ck_assert_int_eq(compile_config(&m->cfg, &m->members, &plan), 0);
	golden_plan("flat_layers", &plan);
	plan_free(&plan);
	for (i = 0; i < 9; i++)
		free(v[i].peers);
	model_free(m);
}
END_TEST

/* Element messages stay far below the 64 KiB nest limit (and the 32 KiB
 * plan_msg_build promises) with the longest keys and comments. */
START_TEST(flat_msg_size)
{
	struct model *m = model_new();
	struct sg_rule *v = calloc(1000, sizeof(*v));
	char desc[300];
	struct sg_plan plan;
	char *buf = malloc(1 << 17);
	size_t i, elems = 0;

	memset(desc, 'd', sizeof(desc) - 1);
	desc[sizeof(desc) - 1] = '\0';
	for (i = 0; i < 1000; i++) {
		char a[64];

		snprintf(a, sizeof(a), "2001:db8:%zx::/48", i);
		v[i] = rule(SG_DIR_IN, i % 2 ? SG_PROTO_ALL : SG_PROTO_TCP, 1, 65000, desc,
			    (int)i + 1, (int)i + 1, a, NULL);
		m->in[0].pos.file = "groups.d/a-rather-long-file-name-for-the-web-group.yaml";
		v[i].pos.file = m->in[0].pos.file;
	}
	m->groups[0].ingress = v;
	m->groups[0].n_ingress = 1000;
	ck_assert_int_eq(compile_config(&m->cfg, &m->members, &plan), 0);
	for (i = 0; i < plan.n; i++) {
		int n;

		if (plan.v[i].kind != PLAN_FLATELEMS)
			continue;
		memset(buf, 0, 1 << 17);
		n = plan_msg_build(&plan, i, buf, 1 << 17, 1);
		ck_assert_int_gt(n, 0);
		ck_assert_int_lt(n, 32768);
		/* nothing written past the message */
		ck_assert_int_eq(buf[n + 64], 0);
		elems += plan.v[i].count;
	}
	/* and the AWS default egress: 0.0.0.0/0 and ::/0 */
	ck_assert_uint_eq(elems, 1002);
	plan_free(&plan);
	for (i = 0; i < 1000; i++)
		free(v[i].peers);
	free(v);
	free(buf);
	model_free(m);
}
END_TEST

/* The expression names of rule r, space separated. */
static void rule_exprs(const struct nftnl_rule *r, char *buf, size_t len)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	size_t n = 0;

	buf[0] = '\0';
	while (it && (e = nftnl_expr_iter_next(it)) && n + 20 < len)
		n += (size_t)snprintf(buf + n, len - n, "%s ",
				      nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	nftnl_expr_iter_destroy(it);
}

/* The forward path, by structure: no rule of a fwd.in* chain reads the
 * packet's destination port (a transport header payload at offset 2);
 * the forward chains carry no implicit or failsafe rule; forward: off
 * compiles to input and output alone. */
START_TEST(forward_structure)
{
	struct model *m = model_new();
	struct sg_plan plan;
	size_t i, fwd_rules = 0, ct_loads = 0;
	int bases = 0;

	m->cfg.forward = SG_FWD_CONTAINERS;
	ck_assert_int_eq(compile_config(&m->cfg, &m->members, &plan), 0);
	for (i = 0; i < plan.n; i++) {
		const struct plan_msg *pm = &plan.v[i];
		const char *chain, *tag;
		struct nftnl_expr_iter *it;
		struct nftnl_expr *e;
		uint32_t tlen;

		if (pm->kind == PLAN_BASECHAIN)
			bases++;
		if (pm->kind != PLAN_RULE)
			continue;
		chain = nftnl_rule_get_str(pm->o.rule, NFTNL_RULE_CHAIN);
		if (strncmp(chain, "fwd.", 4) != 0 && strncmp(chain, "forward_", 8) != 0)
			continue;
		fwd_rules++;
		tag = nftnl_rule_get_data(pm->o.rule, NFTNL_RULE_USERDATA, &tlen);
		ck_assert_msg(!tag || (!memmem(tag, tlen, "sgd1 I ", 7) &&
				       !memmem(tag, tlen, "sgd1 F ", 7)),
			      "implicit or failsafe rule in %s", chain);
		if (strncmp(chain, "fwd.in", 6) != 0)
			continue;
		it = nftnl_expr_iter_create(pm->o.rule);
		while ((e = nftnl_expr_iter_next(it))) {
			const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

			if (strcmp(name, "payload") == 0 &&
			    nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE) ==
			    NFT_PAYLOAD_TRANSPORT_HEADER) {
				char exprs[512];

				rule_exprs(pm->o.rule, exprs, sizeof(exprs));
				ck_assert_msg(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET) != 2,
					      "%s reads th dport: %s", chain, exprs);
			}
			if (strcmp(name, "ct") == 0 &&
			    nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY) == NFT_CT_PROTO_DST) {
				ck_assert_int_eq(nftnl_expr_get_u8(e, NFTNL_EXPR_CT_DIR), 0);
				ct_loads++;
			}
		}
		nftnl_expr_iter_destroy(it);
	}
	ck_assert_int_eq(bases, 4);
	ck_assert_uint_gt(fwd_rules, 20);
	/* in4/in6.tcp.range, 4 peer-group port rules, in4.udp.range and
	 * db's MySQL rule (one per set of its peer group app) */
	ck_assert_uint_ge(ct_loads, 8);
	plan_free(&plan);
	m->cfg.forward = SG_FWD_OFF;
	ck_assert_int_eq(compile_config(&m->cfg, &m->members, &plan), 0);
	for (i = 0, bases = 0; i < plan.n; i++) {
		if (plan.v[i].kind == PLAN_BASECHAIN)
			bases++;
		if (plan.v[i].kind == PLAN_CHAIN)
			ck_assert(strncmp(nftnl_chain_get_str(plan.v[i].o.chain,
							      NFTNL_CHAIN_NAME), "fwd.", 4));
	}
	ck_assert_int_eq(bases, 2);
	plan_free(&plan);
	model_free(m);
}
END_TEST

/* flat_build: the full model's attached group web, and the map that
 * attributes element counters back to rules. */
START_TEST(flat_map)
{
	struct model *m = model_new();
	const struct flat_set *s = NULL;
	const struct flat_elem *e;
	struct flat *f;
	uint8_t key[8] = { 0, 0, 0, 0, 0, 80, 0, 0 };
	size_t i;

	ck_assert_int_eq(flat_build(&m->cfg, &f), 0);
	for (i = 0; i < f->n_sets; i++)
		if (strcmp(f->sets[i].name, "in4.tcp.range") == 0)
			s = &f->sets[i];
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->klen, 8);
	/* 0.0.0.0/0 . 80 is web's ingress rule 1 */
	e = flat_find(s, key, 8);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(f->refs[e->ref].index, 1);
	ck_assert_int_eq(f->refs[e->ref].dir, SG_DIR_IN);
	ck_assert_str_eq(f->gnames[f->refs[e->ref].gi], "web");
	ck_assert(flat_has_proto(f, SG_DIR_IN, SG_PROTO_TCP));
	ck_assert(flat_has_proto(f, SG_DIR_IN, 47));
	ck_assert(!flat_has_proto(f, SG_DIR_OUT, SG_PROTO_TCP));
	/* db is attached to an interface only: not flattened */
	ck_assert_ptr_null(f->gnames[2]);
	flat_free(f);
	model_free(m);
}
END_TEST

/* Issue 18, finding 1: group "a" with two partially overlapping port
 * ranges (a second layer) and group "a.1" got one kernel set between
 * them, in.tcp.pg.a.1.  Every set and chain the plan declares has a name
 * of its own, and each port set holds only its group's ports. */
START_TEST(pg_layer_names_distinct)
{
	struct model *m = model_new();
	struct sg_rule v[3];
	struct sg_plan plan;
	const char *want[3] = { "in.tcp.pg.a", "in.tcp.pg.a/1", "in.tcp.pg.a.1" };
	size_t i, k, found = 0;

	m->groups[1].name = "a";
	m->groups[2].name = "a.1";
	v[0] = rule(SG_DIR_IN, SG_PROTO_TCP, 1000, 2000, NULL, 1, 3, "@1", NULL);
	v[1] = rule(SG_DIR_IN, SG_PROTO_TCP, 1500, 2500, NULL, 2, 4, "@1", NULL);
	v[2] = rule(SG_DIR_IN, SG_PROTO_TCP, 7777, 7777, NULL, 3, 5, "@2", NULL);
	m->groups[0].ingress = v;
	m->groups[0].n_ingress = 3;
	m->cfg.n_ifaces = 0;
	model_member(m, 2, "10.0.0.5");
	ck_assert_int_eq(compile_config(&m->cfg, &m->members, &plan), 0);
	for (i = 0; i < plan.n; i++) {
		const char *a, *b;

		if (plan.v[i].kind != PLAN_SET && plan.v[i].kind != PLAN_CHAIN)
			continue;
		a = plan.v[i].kind == PLAN_SET ?
		    nftnl_set_get_str(plan.v[i].o.set, NFTNL_SET_NAME) :
		    nftnl_chain_get_str(plan.v[i].o.chain, NFTNL_CHAIN_NAME);
		for (k = 0; k < 3; k++)
			found += plan.v[i].kind == PLAN_SET && strcmp(a, want[k]) == 0;
		for (k = i + 1; k < plan.n; k++) {
			if (plan.v[k].kind != plan.v[i].kind)
				continue;
			b = plan.v[k].kind == PLAN_SET ?
			    nftnl_set_get_str(plan.v[k].o.set, NFTNL_SET_NAME) :
			    nftnl_chain_get_str(plan.v[k].o.chain, NFTNL_CHAIN_NAME);
			ck_assert_msg(strcmp(a, b) != 0, "two declarations of %s", a);
		}
	}
	ck_assert_uint_eq(found, 3);
	/* a.1's port set holds 7777 alone, a's two layers 1000-2000 and
	 * 1500-2500 (port keys are big endian) */
	for (i = 0; i < plan.flat->n_sets; i++) {
		const struct flat_set *fs = &plan.flat->sets[i];
		unsigned lo;

		if (fs->kind != FLAT_PORT)
			continue;
		ck_assert_uint_eq(fs->n, 1);
		lo = (unsigned)fs->v[0].key[0] << 8 | fs->v[0].key[1];
		if (strcmp(fs->name, "in.tcp.pg.a.1") == 0)
			ck_assert_uint_eq(lo, 7777);
		else if (strcmp(fs->name, "in.tcp.pg.a") == 0)
			ck_assert_uint_eq(lo, 1000);
		else if (strcmp(fs->name, "in.tcp.pg.a/1") == 0)
			ck_assert_uint_eq(lo, 1500);
		else
			ck_abort_msg("unexpected port set %s", fs->name);
	}
	plan_free(&plan);
	for (i = 0; i < 3; i++)
		free(v[i].peers);
	model_free(m);
}
END_TEST

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name a group can give a kernel object (port sets of every
 * layer, peer sets, chains), for every valid group name of up to four
 * characters over an alphabet chosen to build the suffixes and
 * separators ("a.1", "a_v4", "h-v6_hosts" ...), plus longer awkward
 * ones: no two (group, object) pairs share a name. */
START_TEST(group_names_injective)
{
	static const char alpha[] = "a1._-v4h";
	static const char *const extra[] = {
		"a_v4_hosts", "a_v6_hosts", "a_hosts", "v4_hosts", "a.1.1",
		"a.1/1", "in", "in.tcp", "pg.a", "a_v4_v4", "x-1.2_v6",
	};
	size_t na = sizeof(alpha) - 1, cap = 8192, n_names = 0, n = 0, i;
	char **names = calloc(cap, sizeof(*names));
	char **objs;
	struct sg_config cfg;
	struct sg_group *groups;
	size_t len;

	for (len = 1; len <= 4; len++) {
		size_t total = 1, c;

		for (i = 0; i < len; i++)
			total *= na;
		for (c = 0; c < total; c++) {
			char buf[8];
			size_t x = c;

			for (i = 0; i < len; i++, x /= na)
				buf[i] = alpha[x % na];
			buf[len] = '\0';
			if (load_group_name_valid(buf))
				names[n_names++] = strdup(buf);
		}
	}
	for (i = 0; i < sizeof(extra) / sizeof(*extra); i++)
		if (load_group_name_valid(extra[i]))
			names[n_names++] = strdup(extra[i]);
	ck_assert_uint_lt(n_names, cap);
	ck_assert_uint_gt(n_names, 1000);
	memset(&cfg, 0, sizeof(cfg));
	groups = calloc(n_names, sizeof(*groups));
	for (i = 0; i < n_names; i++)
		groups[i].name = names[i];
	cfg.groups = groups;
	cfg.n_groups = n_names;
	objs = calloc(n_names * 22, sizeof(*objs));
	for (i = 0; i < n_names; i++) {
		char buf[320];
		int d, p, layer, af, h;

		for (d = 0; d < 2; d++)
			for (p = 0; p < 2; p++)
				for (layer = 0; layer < 4; layer++) {
					ck_assert_int_eq(flat_pg_set_name(d, p ? SG_PROTO_UDP :
						SG_PROTO_TCP, names[i], layer, buf,
						sizeof(buf)), 0);
					objs[n++] = strdup(buf);
				}
		for (af = 0; af < 2; af++)
			for (h = 0; h < 2; h++) {
				ck_assert_int_eq(compile_set_name(&cfg, (int)i, af ? AF_INET6 :
						 AF_INET, h, buf, sizeof(buf)), 0);
				objs[n++] = strdup(buf);
			}
		for (d = 0; d < 2; d++) {
			ck_assert_int_eq(compile_chain_name(&cfg, (int)i, d, buf,
							    sizeof(buf)), 0);
			objs[n++] = strdup(buf);
		}
	}
	qsort(objs, n, sizeof(*objs), str_ptr_cmp);
	for (i = 1; i < n; i++)
		ck_assert_msg(strcmp(objs[i - 1], objs[i]) != 0, "two objects named %s",
			      objs[i]);
	/* a '/' cannot be encoded: it is the layer separator */
	{
		char buf[64];

		ck_assert_int_eq(flat_pg_set_name(SG_DIR_IN, SG_PROTO_TCP, "a/1", 0, buf,
						  sizeof(buf)), -EINVAL);
	}
	for (i = 0; i < n; i++)
		free(objs[i]);
	for (i = 0; i < n_names; i++)
		free(names[i]);
	free(objs);
	free(names);
	free(groups);
}
END_TEST

/* The flat plan of web with the single ingress rule r, everything
 * else of the model switched off. */
static void reuse_plan(struct model *m, struct sg_rule *r, struct sg_plan *plan)
{
	m->groups[0].ingress = r;
	m->groups[0].n_ingress = 1;
	m->groups[0].n_egress = 0;
	m->cfg.n_ifaces = 0;
	m->cfg.n_failsafe = 0;
	memset(&m->cfg.implicit, 0, sizeof(m->cfg.implicit));
	ck_assert_int_eq(compile_config(&m->cfg, &m->members, plan), 0);
}

/* A kept interval (rbtree) set's delta is taken between its points:
 * fd00:200::4/126 -> fd00:200::/125 shares the end fd00:200::8, which
 * must be neither deleted nor added (deleting it after the no-op
 * addition left fd00:200:: open to the top of the space). */
START_TEST(reuse_shared_end)
{
	struct model *m = model_new();
	struct sg_rule a = rule(SG_DIR_IN, SG_PROTO_ALL, 0, 0, NULL, 1, 3, "fd00:200::4/126", NULL);
	struct sg_rule b = rule(SG_DIR_IN, SG_PROTO_ALL, 0, 0, NULL, 1, 3, "fd00:200::/125", NULL);
	struct sg_plan old, plan, pre;
	size_t i, k, dels = 0, adds = 0;

	reuse_plan(m, &a, &old);
	reuse_plan(m, &b, &plan);
	plan_init(&pre);
	ck_assert_int_eq(engine_flat_reuse(old.flat, &plan, &pre), 0);
	for (k = 0; k < 2; k++) {
		const struct sg_plan *p = k ? &pre : &plan;

		for (i = 0; i < p->n; i++) {
			const struct plan_msg *msg = &p->v[i];
			const struct flat_elem *el;

			if (msg->kind != PLAN_FLATELEMS || strcmp(msg->o.fset->name, "in6.all"))
				continue;
			ck_assert_uint_eq(msg->count, 1);
			el = &msg->o.fset->v[msg->first];
			/* a start alone, no end: ::4 goes, ::0 comes */
			ck_assert(!el->has_end && !el->end_only);
			ck_assert_uint_eq(el->key[15], msg->del ? 4 : 0);
			dels += msg->del;
			adds += !msg->del;
		}
	}
	ck_assert_uint_eq(dels, 1);
	ck_assert_uint_eq(adds, 1);
	plan_free(&old);
	plan_free(&plan);
	pre.flat = NULL;	/* (the sets are plan's) */
	plan_free(&pre);
	free(a.peers);
	free(b.peers);
	model_free(m);
}
END_TEST

static Suite *compile_suite(void)
{
	Suite *s = suite_create("compile");
	TCase *tc = tcase_create("golden");

	tcase_add_test(tc, full_config);
	tcase_add_test(tc, implicit_off);
	tcase_add_test(tc, shapes);
	tcase_add_test(tc, member_delta);
	tcase_add_test(tc, flat_layers);
	tcase_add_test(tc, forward_containers);
	tcase_add_test(tc, forward_all);
	suite_add_tcase(s, tc);
	tc = tcase_create("logic");
	tcase_add_test(tc, family_mismatch_refused);
	tcase_add_test(tc, toplevel_members);
	tcase_add_test(tc, large_set_split);
	tcase_add_test(tc, long_comment_fits_udata);
	tcase_add_test(tc, flat_map);
	tcase_add_test(tc, forward_structure);
	tcase_add_test(tc, flat_msg_size);
	tcase_add_test(tc, pg_layer_names_distinct);
	tcase_add_test(tc, group_names_injective);
	tcase_add_test(tc, reuse_shared_end);
	tcase_set_timeout(tc, 0);	/* no timer: meson's timeout is the hang guard */
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(compile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
