/*
 * fuzz_config.c — libFuzzer harness for the configuration loader.
 *
 * Each input is loaded three ways, through the loader's public entry
 * points (config.h) exactly as sgd and sgctl use them:
 *   1. as a normalized stream (config_load_stream: sgd.yaml + groups);
 *   2. as CONFDIR/sgd.yaml next to a fixed group file (config_load);
 *   3. as CONFDIR/groups.d/fz.yaml next to a fixed sgd.yaml.
 * The files live in a private directory on tmpfs, made once per process.
 *
 * Besides "no crash, no leak, no UB", these properties must hold:
 *   - a refused config comes with at least one diagnostic and no config;
 *   - the diagnostics rendered as JSON are strict JSON;
 *   - an accepted config prints (config_print) to YAML that loads back
 *     and prints identically;
 *   - `show` renders as strict JSON, `explain` answers, and the config
 *     compiles to a plan whose every message serializes within 64 KiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_util.h"
#include "plan.h"
#include "render.h"

/* Big enough for every seed; larger inputs only slow the search down
 * (the size caps have their own test, tests/tools/loadtime.c). */
#define FZ_MAX_INPUT (256u << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer gives the harness no context argument: the scratch directory
 * made at start-up is the one piece of process state. */
static char fz_dir[256];

static void fz_cleanup(void)
{
	char cmd[300];

	if (fz_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fz_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz_config: could not remove %s\n", fz_dir);
	}
}

static void fz_write(const char *rel, const void *data, size_t size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fz_dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
		perror(path);
		abort();
	}
	close(fd);
}

static void fz_mkdir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", fz_dir, rel);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		perror(path);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = fz_tmp_base();
	static const char group[] =
		"name: fz\ningress:\n  - protocol: tcp\n    ports: 443\n"
		"    from: [0.0.0.0/0, fz]\nmembers: [10.9.0.0/16]\n";
	static const char settings[] = "attach: [fz]\n";

	snprintf(fz_dir, sizeof(fz_dir), "%s/sgd-fuzz-config.XXXXXX", base);
	if (!mkdtemp(fz_dir)) {
		perror(fz_dir);
		abort();
	}
	atexit(fz_cleanup);
	fz_mkdir("a");
	fz_mkdir("a/groups.d");
	fz_mkdir("b");
	fz_mkdir("b/groups.d");
	fz_write("a/groups.d/fz.yaml", group, sizeof(group) - 1);
	fz_write("b/sgd.yaml", settings, sizeof(settings) - 1);
	return 0;
}

static char *fz_print(const struct sg_config *cfg, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		abort();
	if (config_print(f, cfg) < 0)
		fz_fail("config_print failed on a valid config", NULL, 0);
	if (fclose(f) != 0)
		abort();
	return text;
}

/* The normalized print loads back to a config that prints the same. */
static void fz_check_print(const struct sg_config *cfg)
{
	struct sg_config *again = NULL;
	struct sg_diags d;
	char path[512], *p1, *p2;
	size_t l1, l2;

	diags_init(&d);
	p1 = fz_print(cfg, &l1);
	fz_write("print.yaml", p1, l1);
	snprintf(path, sizeof(path), "%s/print.yaml", fz_dir);
	if (config_load_stream(path, &again, &d) != 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "reload: %s\n", d.v[i].msg);
		fz_fail("the normalized print does not load back", p1, l1);
	}
	p2 = fz_print(again, &l2);
	if (l1 != l2 || memcmp(p1, p2, l1) != 0) {
		fprintf(stderr, "second print:\n%.*s\n", (int)(l2 > 4096 ? 4096 : l2), p2);
		fz_fail("the normalized print is not stable", p1, l1);
	}
	free(p1);
	free(p2);
	config_free(again);
	diags_free(&d);
}

static void fz_check_json(const char *what, int r, char *out)
{
	if (r < 0)
		fz_fail(what, NULL, 0);
	if (!fz_json_valid(out, strlen(out)))
		fz_fail(what, out, strlen(out));
	free(out);
}

/* Membership as the daemon would compute it with nothing added at run
 * time: the YAML members of each group. */
static void fz_members(const struct sg_config *cfg, struct sg_members *m)
{
	m->n_groups = cfg->n_groups;
	m->by_group = calloc(cfg->n_groups ? cfg->n_groups : 1, sizeof(*m->by_group));
	if (!m->by_group)
		abort();
	for (size_t g = 0; g < cfg->n_groups; g++)
		for (size_t i = 0; i < cfg->groups[g].n_members; i++)
			if (cidr_list_add(&m->by_group[g], &cfg->groups[g].members[i].cidr) < 0)
				abort();
}

static void fz_members_free(struct sg_members *m)
{
	for (size_t g = 0; g < m->n_groups; g++)
		cidr_list_free(&m->by_group[g]);
	free(m->by_group);
}

static void fz_check_valid(const struct sg_config *cfg)
{
	static const char *const probes[][5] = {
		{ "in", "tcp", "443", "10.1.2.3" },
		{ "out", "udp", "53", "2001:db8::1" },
		{ "in", "icmp", "8/0", "192.0.2.1" },
	};
	struct sg_members m;
	struct sg_plan plan;
	char *out = NULL, *msg;
	int r;

	fz_check_print(cfg);
	fz_members(cfg, &m);
	fz_check_json("render_show --json", render_show(cfg, &m, true, &out), out);
	if (render_show(cfg, &m, false, &out) < 0)
		fz_fail("render_show failed on a valid config", NULL, 0);
	free(out);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct sg_diags d;
		bool allowed;

		diags_init(&d);
		r = render_explain(cfg, &m, 4, (char **)probes[i], true, &out, &allowed, &d);
		if (r < 0)
			fz_fail("render_explain refused a well-formed probe", NULL, 0);
		fz_check_json("render_explain --json", r, out);
		diags_free(&d);
	}
	plan_init(&plan);
	r = compile_config(cfg, &m, &plan);
	if (r < 0) {
		fprintf(stderr, "compile_config: %s\n", strerror(-r));
		fz_fail("a valid config does not compile", NULL, 0);
	}
	msg = malloc(1 << 16);
	if (!msg)
		abort();
	for (size_t i = 0; i < plan.n; i++)
		if (plan_msg_build(&plan, i, msg, 1 << 16, (uint32_t)i + 1) < 0)
			fz_fail("a plan message does not serialize in 64 KiB", NULL, 0);
	free(msg);
	plan_free(&plan);
	fz_members_free(&m);
}

/* The loader's contract (config.h), then the properties above. */
static void fz_check(int r, struct sg_config *cfg, struct sg_diags *d)
{
	char *out = NULL;

	if (r == 0 && (!cfg || d->n))
		fz_fail("success without a config, or with diagnostics", NULL, 0);
	if (r < 0 && (cfg || d->n == 0))
		fz_fail("refused without a diagnostic, or with a config", NULL, 0);
	if (r < 0) {
		fz_check_json("render_diags --json", render_diags(d, true, &out), out);
		if (render_diags(d, false, &out) < 0)
			fz_fail("render_diags failed", NULL, 0);
		free(out);
	} else {
		fz_check_valid(cfg);
	}
	config_free(cfg);
	diags_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_config *cfg = NULL;
	struct sg_diags d;
	char path[512];
	int r;

	if (size > FZ_MAX_INPUT)
		return -1;	/* not added to the corpus */

	fz_write("stream.yaml", data, size);
	snprintf(path, sizeof(path), "%s/stream.yaml", fz_dir);
	diags_init(&d);
	r = config_load_stream(path, &cfg, &d);
	fz_check(r, cfg, &d);

	fz_write("a/sgd.yaml", data, size);
	snprintf(path, sizeof(path), "%s/a", fz_dir);
	diags_init(&d);
	cfg = NULL;
	r = config_load(path, &cfg, &d);
	fz_check(r, cfg, &d);

	fz_write("b/groups.d/fz.yaml", data, size);
	snprintf(path, sizeof(path), "%s/b", fz_dir);
	diags_init(&d);
	cfg = NULL;
	r = config_load(path, &cfg, &d);
	fz_check(r, cfg, &d);
	return 0;
}
