/*
 * test_corpus.c — golden files for the loader.
 *
 * tests/corpus/invalid/NNN-name/ is a configuration directory with an
 * `expected` file: the exact error lines config_load must report, sorted.
 * tests/corpus/valid/NAME/ must load without error; its `expected` file,
 * when present, is the exact normalized print, and the print must load
 * again (config_load_stream) and print the same text.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

struct corpus {
	char **dirs;
	size_t n;
};

/* Filled once in main() before any test runs; read-only afterwards. */
static struct corpus corpus_invalid, corpus_valid;

static int corpus_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void corpus_scan(const char *kind, struct corpus *c)
{
	const char *src = getenv("SRCDIR");
	char root[4096];
	DIR *d;
	struct dirent *de;

	snprintf(root, sizeof(root), "%s/tests/corpus/%s", src ? src : ".", kind);
	d = opendir(root);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char **v;

		if (de->d_name[0] == '.')
			continue;
		v = realloc(c->dirs, (c->n + 1) * sizeof(*v));
		if (!v)
			abort();
		c->dirs = v;
		if (asprintf(&c->dirs[c->n++], "%s/%s", root, de->d_name) < 0)
			abort();
	}
	closedir(d);
	if (c->n)
		qsort(c->dirs, c->n, sizeof(*c->dirs), corpus_cmp);
}

static char *corpus_read(const char *dir, const char *name)
{
	char path[4200];
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[4096];
	FILE *f, *m;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

static char *corpus_diags(struct sg_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	diags_sort(d);
	diags_print(f, d);
	fclose(f);
	return buf;
}

START_TEST(invalid_dir)
{
	const char *dir = corpus_invalid.dirs[_i];
	char *want = corpus_read(dir, "expected"), *got;
	struct sg_diags d;
	struct sg_config *cfg = NULL;
	int r;

	ck_assert_msg(want != NULL, "%s: no expected file", dir);
	diags_init(&d);
	r = config_load(dir, &cfg, &d);
	ck_assert_msg(r < 0, "%s: accepted", dir);
	ck_assert_ptr_null(cfg);
	got = corpus_diags(&d);
	ck_assert_msg(strcmp(want, got) == 0, "%s:\n--- expected\n%s--- got\n%s", dir, want, got);
	free(want);
	free(got);
	diags_free(&d);
}
END_TEST

static char *corpus_print(const struct sg_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_int_eq(config_print(f, cfg), 0);
	fclose(f);
	return buf;
}

START_TEST(valid_dir)
{
	const char *dir = corpus_valid.dirs[_i];
	char *want = corpus_read(dir, "expected"), *got, *again_text;
	char tmp[] = "/tmp/sgd-corpus-XXXXXX";
	struct sg_diags d;
	struct sg_config *cfg = NULL, *again = NULL;
	int fd, r;

	diags_init(&d);
	r = config_load(dir, &cfg, &d);
	if (r < 0) {
		char *t = corpus_diags(&d);

		ck_abort_msg("%s: rejected:\n%s", dir, t);
	}
	got = corpus_print(cfg);
	if (want)
		ck_assert_msg(strcmp(want, got) == 0, "%s:\n--- expected\n%s--- got\n%s", dir,
			      want, got);
	fd = mkstemp(tmp);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, got, strlen(got)), (ssize_t)strlen(got));
	close(fd);
	r = config_load_stream(tmp, &again, &d);
	unlink(tmp);
	if (r < 0) {
		char *t = corpus_diags(&d);

		ck_abort_msg("%s: print does not load again:\n%s", dir, t);
	}
	again_text = corpus_print(again);
	ck_assert_str_eq(got, again_text);
	free(again_text);
	free(got);
	free(want);
	config_free(cfg);
	config_free(again);
	diags_free(&d);
}
END_TEST

START_TEST(corpus_size)
{
	/* the issue asks for at least 40 invalid configurations */
	ck_assert_uint_ge(corpus_invalid.n, 45);
	ck_assert_uint_ge(corpus_valid.n, 1);
}
END_TEST

static void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->dirs[i]);
	free(c->dirs);
}

int main(void)
{
	Suite *s = suite_create("corpus");
	TCase *tc = tcase_create("corpus");
	SRunner *sr;
	int failed;

	corpus_scan("invalid", &corpus_invalid);
	corpus_scan("valid", &corpus_valid);
	tcase_set_timeout(tc, 0);	/* no timer: meson's timeout is the hang guard */
	tcase_add_test(tc, corpus_size);
	tcase_add_loop_test(tc, invalid_dir, 0, (int)corpus_invalid.n);
	tcase_add_loop_test(tc, valid_dir, 0, (int)corpus_valid.n);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	corpus_free(&corpus_invalid);
	corpus_free(&corpus_valid);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
