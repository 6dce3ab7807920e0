/*
 * loadtime — how long config_load takes to refuse hostile YAML.
 *
 * Builds, in a temporary directory, one configuration per case (a
 * 1,000,000-deep flow document, 1,000,000 nested block sequences, a
 * self-referencing alias, a billion-laughs alias chain, a file one byte
 * over SG_MAX_FILE_SIZE), loads each many times and prints the median and
 * the worst time.  Each case must be refused (and with the expected
 * message); the exit status is 1 when one is not, or when a median is over
 * the budget (-b MS, default 10).
 *
 * usage: loadtime [-n RUNS] [-b MS]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

struct lt_case {
	const char *name;
	const char *expect;	/* a substring of the first error */
	int (*make)(FILE *f);
	bool sparse_over_cap;
};

static int lt_make_deep_flow(FILE *f)
{
	fputs("attach: ", f);
	for (int i = 0; i < 1000000; i++)
		fputc('[', f);
	return 0;
}

static int lt_make_deep_block(FILE *f)
{
	fputs("failsafe:\n", f);
	for (int i = 0; i < 1000000; i++)
		fputs("- ", f);
	fputs("x\n", f);
	return 0;
}

static int lt_make_alias_self(FILE *f)
{
	fputs("attach: &a [*a]\n", f);
	return 0;
}

static int lt_make_laughs(FILE *f)
{
	fputs("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n", f);
	for (int i = 1; i < 10; i++)
		fprintf(f, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
			i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	return 0;
}

static const struct lt_case lt_cases[] = {
	{ "1,000,000-deep flow document", "nesting is deeper than", lt_make_deep_flow, false },
	{ "1,000,000 nested block sequences", "nesting is deeper than", lt_make_deep_block, false },
	{ "self-referencing alias", "anchors (&a) are not allowed", lt_make_alias_self, false },
	{ "billion laughs", "anchors (&a0) are not allowed", lt_make_laughs, false },
	{ "file over the size cap", "over the limit", NULL, true },
};

static double lt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int lt_dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int lt_write_case(const char *dir, const struct lt_case *c)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sgd.yaml", dir);
	if (c->sparse_over_cap) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || ftruncate(fd, (off_t)SG_MAX_FILE_SIZE + 1) < 0)
			return -errno;
		close(fd);
		return 0;
	}
	f = fopen(path, "w");
	if (!f)
		return -errno;
	c->make(f);
	return fclose(f) == 0 ? 0 : -EIO;
}

/* Load n times; 0 when every load was refused with the expected error. */
static int lt_run_case(const char *dir, const struct lt_case *c, int n, double *med, double *max)
{
	double *t = calloc((size_t)n, sizeof(*t));
	int bad = 0;

	if (!t)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct sg_diags d;
		struct sg_config *cfg = NULL;
		double t0;
		int r;

		diags_init(&d);
		t0 = lt_now_ms();
		r = config_load(dir, &cfg, &d);
		t[i] = lt_now_ms() - t0;
		if (r == 0 || d.n == 0 || !strstr(d.v[0].msg, c->expect)) {
			if (!bad)
				fprintf(stderr, "%s: not refused as expected (%s)\n", c->name,
					d.n ? d.v[0].msg : "no error");
			bad = 1;
		}
		config_free(cfg);
		diags_free(&d);
	}
	qsort(t, (size_t)n, sizeof(*t), lt_dbl_cmp);
	*med = t[n / 2];
	*max = t[n - 1];
	free(t);
	return bad ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/sgd-loadtime-XXXXXX";
	char path[4096];
	int runs = 51, opt, fail = 0;
	double budget = 10.0;

	while ((opt = getopt(argc, argv, "n:b:")) != -1) {
		if (opt == 'n' && atoi(optarg) > 0)
			runs = atoi(optarg);
		else if (opt == 'b' && atof(optarg) > 0)
			budget = atof(optarg);
		else {
			fprintf(stderr, "usage: %s [-n RUNS] [-b MS]\n", argv[0]);
			return 2;
		}
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	printf("%-34s %10s %10s  (%d runs each)\n", "case", "median ms", "max ms", runs);
	for (size_t i = 0; i < sizeof(lt_cases) / sizeof(lt_cases[0]); i++) {
		const struct lt_case *c = &lt_cases[i];
		double med = 0, max = 0;
		int r = lt_write_case(dir, c);

		if (r == 0)
			r = lt_run_case(dir, c, runs, &med, &max);
		if (r < 0 || med > budget)
			fail = 1;
		printf("%-34s %10.3f %10.3f  %s\n", c->name, med, max,
		       r < 0 ? "NOT REFUSED" : med > budget ? "OVER BUDGET" : "ok");
	}
	snprintf(path, sizeof(path), "%s/sgd.yaml", dir);
	unlink(path);
	rmdir(dir);
	return fail;
}
