/*
 * test_loadstream.c — the streaming loader (yt_parse_hooked, and the
 * group files' ingress/egress lists converted while parsed): the hook
 * sees exactly the items of the first document's top-level lists it
 * asked for, and a streamed group file gives the same model and the same
 * diagnostics, in the same cases, as a tree would: a repeated key, a
 * second document or a syntax error further down must not let the
 * streamed rules or their errors through.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "flat.h"
#include "yaml_tree.h"

/* ---- the hook ----------------------------------------------------------- */

struct seen {
	char log[1024];
	int fail_at;		/* item index whose hook fails; -1: none */
};

static bool t_want(void *ctx, const char *key)
{
	(void)ctx;
	return strcmp(key, "big") == 0 || strcmp(key, "other") == 0;
}

static int t_item(void *ctx, const char *key, size_t index, const struct yt_node *item)
{
	struct seen *s = ctx;
	size_t off = strlen(s->log);

	if (s->fail_at >= 0 && (size_t)s->fail_at == index)
		return -EINVAL;
	snprintf(s->log + off, sizeof(s->log) - off, "%s[%zu]=%s@%d:%d;", key, index,
		 item->kind == YT_SCALAR ? item->str : item->kind == YT_MAP ? "map" : "seq",
		 item->pos.line, item->pos.col);
	return 0;
}

static int t_parse(const char *text, struct seen *s, struct yt_stream *st, struct sg_diags *d)
{
	struct yt_hook h = { .want = t_want, .item = t_item, .ctx = s };

	return yt_parse_hooked(text, strlen(text), "t.yaml", &h, st, d);
}

START_TEST(hook_streams_wanted_top_lists)
{
	const char *text =
		"big: [a, b, {x: 1}]\n"
		"small: [c, d]\n"
		"nested: {big: [e]}\n"
		"other:\n"
		"  - f\n"
		"  - [g]\n";
	struct seen s = { .fail_at = -1 };
	struct yt_stream st;
	struct sg_diags d;
	const struct yt_node *root, *v;

	diags_init(&d);
	ck_assert_int_eq(t_parse(text, &s, &st, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_str_eq(s.log, "big[0]=a@1:7;big[1]=b@1:10;big[2]=map@1:13;"
			 "other[0]=f@5:5;other[1]=seq@6:5;");
	root = st.docs[0].root;
	v = root->pairs[0].val;
	ck_assert(v->kind == YT_SEQ && v->streamed && v->n_items == 0);
	/* not wanted, or not at the top: kept as a tree */
	v = root->pairs[1].val;
	ck_assert(!v->streamed && v->n_items == 2);
	v = root->pairs[2].val->pairs[0].val;
	ck_assert(!v->streamed && v->n_items == 1);
	yt_stream_free(&st);
	diags_free(&d);
}
END_TEST

START_TEST(hook_skips_repeats_scalars_and_later_documents)
{
	const char *text =
		"big: x\n"
		"big: [a]\n"
		"other: [b]\n"
		"other: [c]\n"
		"---\n"
		"big: [d]\n";
	struct seen s = { .fail_at = -1 };
	struct yt_stream st;
	struct sg_diags d;

	diags_init(&d);
	ck_assert_int_eq(t_parse(text, &s, &st, &d), 0);
	/* only the first 'other' streams; 'big' was a scalar first */
	ck_assert_str_eq(s.log, "other[0]=b@3:9;");
	ck_assert_uint_eq(d.n, 2);	/* the two repeated keys */
	ck_assert_uint_eq(st.n_docs, 2);
	ck_assert(!st.docs[1].root->pairs[0].val->streamed);
	yt_stream_free(&st);
	diags_free(&d);
}
END_TEST

START_TEST(hook_error_stops_parse)
{
	struct seen s = { .fail_at = 1 };
	struct yt_stream st;
	struct sg_diags d;

	diags_init(&d);
	ck_assert_int_eq(t_parse("big: [a, b, c]\n", &s, &st, &d), -EINVAL);
	ck_assert_str_eq(s.log, "big[0]=a@1:7;");
	ck_assert_uint_eq(st.n_docs, 0);
	diags_free(&d);
}
END_TEST

/* ---- group files -------------------------------------------------------- */

static char tdir[64];

static void t_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void t_dir(void)
{
	char path[512];

	snprintf(tdir, sizeof(tdir), "/tmp/sgd-test-lstream-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	snprintf(path, sizeof(path), "%s/groups.d", tdir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	t_file("sgd.yaml", "attach: [web]\n");
}

static void t_rmdir(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Load tdir; the sorted diagnostics as text (empty when valid). */
static char *t_load(struct sg_config **cfg)
{
	struct sg_diags d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	diags_init(&d);
	config_load(tdir, cfg, &d);
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	diags_sort(&d);
	diags_print(f, &d);
	fclose(f);
	diags_free(&d);
	return buf;
}

START_TEST(group_rules_streamed_into_model)
{
	struct sg_config *cfg = NULL;
	const struct sg_group *g;
	char *err;

	t_dir();
	t_file("groups.d/web.yaml",
	       "name: web\n"
	       "ingress:\n"
	       "  - {protocol: tcp, ports: 443, from: [10.0.0.0/8, 192.0.2.1]}\n"
	       "  - {protocol: udp, ports: \"53-54\", from: [db], description: dns}\n"
	       "egress:\n"
	       "  - {protocol: icmp, icmp_type: 8, to: [0.0.0.0/0]}\n");
	t_file("groups.d/db.yaml", "ingress: []\n");
	err = t_load(&cfg);
	ck_assert_str_eq(err, "");
	ck_assert_ptr_nonnull(cfg);
	g = &cfg->groups[config_find_group(cfg, "web")];
	ck_assert_uint_eq(g->n_ingress, 2);
	ck_assert_int_eq(g->ingress[0].index, 1);
	ck_assert_int_eq(g->ingress[0].port_lo, 443);
	ck_assert_uint_eq(g->ingress[0].n_peers, 2);
	ck_assert_int_eq(g->ingress[0].pos.line, 3);
	ck_assert_int_eq(g->ingress[0].pos.col, 5);
	ck_assert_str_eq(g->ingress[0].pos.file, "groups.d/web.yaml");
	ck_assert_int_eq(g->ingress[1].index, 2);
	ck_assert_int_eq(g->ingress[1].port_hi, 54);
	ck_assert_str_eq(g->ingress[1].description, "dns");
	ck_assert_int_eq(g->ingress[1].peers[0].kind, SG_PEER_GROUP);
	ck_assert_int_eq(g->ingress[1].peers[0].group_idx, config_find_group(cfg, "db"));
	ck_assert_uint_eq(g->n_egress, 1);
	ck_assert_int_eq(g->egress[0].dir, SG_DIR_OUT);
	ck_assert_int_eq(g->egress[0].icmp_type, 8);
	ck_assert(!g->egress_omitted);
	g = &cfg->groups[config_find_group(cfg, "db")];
	ck_assert_uint_eq(g->n_ingress, 0);
	ck_assert(g->egress_omitted && g->n_egress == 1);
	config_free(cfg);
	free(err);
	t_rmdir();
}
END_TEST

START_TEST(group_rule_errors_in_file_order)
{
	struct sg_config *cfg = NULL;
	char *err;

	t_dir();
	t_file("groups.d/web.yaml",
	       "ingress:\n"
	       "  - {protocol: tcp, ports: 99999, from: [10.0.0.0/8]}\n"
	       "bogus: 1\n"
	       "egress:\n"
	       "  - {protocol: tcp, ports: 1, from: [10.0.0.0/8]}\n");
	err = t_load(&cfg);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err,
		"groups.d/web.yaml:2:28: ports: 99999 is out of range 0..65535\n"
		"groups.d/web.yaml:3:1: unknown key 'bogus' (expected one of: name, id, "
		"description, ingress, egress, members)\n"
		"groups.d/web.yaml:5:31: 'from' is for ingress rules; egress rules use 'to'\n");
	free(err);
	t_rmdir();
}
END_TEST

/* A repeated ingress: only the first list counts; the second's bad
 * rules are not looked at, as with a tree. */
START_TEST(group_repeated_list_dropped)
{
	struct sg_config *cfg = NULL;
	char *err;

	t_dir();
	t_file("groups.d/web.yaml",
	       "ingress:\n"
	       "  - {protocol: tcp, ports: 1, from: [10.0.0.0/8]}\n"
	       "ingress:\n"
	       "  - {protocol: tcp, ports: 99999, from: [10.0.0.0/8]}\n");
	err = t_load(&cfg);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "groups.d/web.yaml:3:1: duplicate key 'ingress' "
			 "(first at line 1, column 1)\n");
	free(err);
	t_rmdir();
}
END_TEST

/* Errors in rules already streamed are not reported when the file turns
 * out to be unusable further down. */
START_TEST(group_unusable_file_drops_streamed_rules)
{
	struct sg_config *cfg = NULL;
	char *err;

	t_dir();
	t_file("groups.d/web.yaml",
	       "ingress:\n"
	       "  - {protocol: tcp, ports: 99999, from: [10.0.0.0/8]}\n"
	       "---\n"
	       "name: x\n");
	t_file("groups.d/db.yaml",
	       "egress:\n"
	       "  - {protocol: tcp, ports: 99999, to: [10.0.0.0/8]}\n"
	       "  - [unclosed\n");
	err = t_load(&cfg);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_null(strstr(err, "99999"));
	ck_assert_ptr_nonnull(strstr(err, "groups.d/web.yaml:3:1: a second YAML document"));
	ck_assert_ptr_nonnull(strstr(err, "groups.d/db.yaml:"));
	ck_assert_ptr_nonnull(strstr(err, "YAML syntax error"));
	free(err);
	t_rmdir();
}
END_TEST

/* The compact element -> rule map (struct flat_ref, 16 bytes) keeps the
 * direction and large rule indices of streamed rules. */
START_TEST(flat_refs_of_streamed_rules)
{
	struct sg_config *cfg = NULL;
	struct flat *f = NULL;
	char *err, *text;
	size_t len = 0, i, n_out = 0;
	FILE *mf;
	bool last_seen = false;

	ck_assert_uint_eq(sizeof(struct flat_ref), 16);
	t_dir();
	mf = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(mf);
	fputs("ingress:\n  - {protocol: tcp, ports: 22, from: [10.0.0.1]}\negress:\n", mf);
	for (i = 0; i < 70000; i++)
		fprintf(mf, "  - {protocol: tcp, ports: %zu, to: [10.%zu.%zu.0/24]}\n",
			1 + i % 60000, i / 256 % 256, i % 256);
	ck_assert_int_eq(fclose(mf), 0);
	t_file("groups.d/web.yaml", text);
	free(text);
	err = t_load(&cfg);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(flat_build(cfg, &f), 0);
	for (i = 0; i < f->n_refs; i++) {
		if (f->refs[i].dir == SG_DIR_OUT) {
			n_out++;
			ck_assert_ptr_eq(f->refs[i].rule,
					 &cfg->groups[0].egress[f->refs[i].index - 1]);
			last_seen |= f->refs[i].index == 70000;
		} else {
			ck_assert_int_eq(f->refs[i].index, 1);
		}
	}
	ck_assert_uint_eq(n_out, 70000);
	ck_assert(last_seen);
	flat_free(f);
	config_free(cfg);
	free(err);
	t_rmdir();
}
END_TEST

static Suite *loadstream_suite(void)
{
	Suite *s = suite_create("loadstream");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 0);	/* no timer: meson's timeout is the hang guard */

	tcase_add_test(tc, hook_streams_wanted_top_lists);
	tcase_add_test(tc, hook_skips_repeats_scalars_and_later_documents);
	tcase_add_test(tc, hook_error_stops_parse);
	tcase_add_test(tc, group_rules_streamed_into_model);
	tcase_add_test(tc, group_rule_errors_in_file_order);
	tcase_add_test(tc, group_repeated_list_dropped);
	tcase_add_test(tc, group_unusable_file_drops_streamed_rules);
	tcase_add_test(tc, flat_refs_of_streamed_rules);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(loadstream_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
