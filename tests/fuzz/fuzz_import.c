/*
 * fuzz_import.c — libFuzzer harness for `sgctl import aws`: the JSON reader
 * (cli/json_tree.c), the mapping (cli/import_map.c) and the group files it
 * writes (cli/import_render.c).
 *
 * Properties besides "no crash, no leak, no UB":
 *   - a refused document comes with a "LINE:COL: what" message;
 *   - every group of a mapped document renders;
 *   - when the import reports itself exact (imp_result_exact), the group
 *     files it wrote load with sgd's own loader without a single error;
 *     otherwise they are still loaded, for the loader's sake.
 */
#include <dirent.h>
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
#include "import_map.h"
#include "json_tree.h"

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
			fprintf(stderr, "fuzz_import: could not remove %s\n", fz_dir);
	}
}

static void fz_write(const char *rel, const char *text)
{
	char path[800];
	size_t n = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fz_dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (n && write(fd, text, n) != (ssize_t)n)) {
		perror(path);
		abort();
	}
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = fz_tmp_base();
	char path[512];

	snprintf(fz_dir, sizeof(fz_dir), "%s/sgd-fuzz-import.XXXXXX", base);
	if (!mkdtemp(fz_dir)) {
		perror(fz_dir);
		abort();
	}
	atexit(fz_cleanup);
	snprintf(path, sizeof(path), "%s/groups.d", fz_dir);
	if (mkdir(path, 0700) < 0) {
		perror(path);
		abort();
	}
	fz_write("sgd.yaml", "attach: []\n");
	return 0;
}

/* Empty groups.d from the previous input. */
static void fz_clear_groups(void)
{
	char path[512];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/groups.d", fz_dir);
	dir = opendir(path);
	if (!dir)
		abort();
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.' && unlinkat(dirfd(dir), de->d_name, 0) < 0)
			abort();
	closedir(dir);
}

/* Write every group file, then load the directory as sgd would. */
static void fz_check_groups(const struct imp_result *res)
{
	struct sg_config *cfg = NULL;
	struct sg_diags d;
	bool exact = imp_result_exact(res);
	char rel[512];
	int r;

	fz_clear_groups();
	for (size_t i = 0; i < res->n_groups; i++) {
		char *text = NULL;

		if (imp_render_group(&res->groups[i], res, &text) < 0)
			fz_fail("a mapped group does not render", NULL, 0);
		if (!res->groups[i].file || strchr(res->groups[i].file, '/') ||
		    res->groups[i].file[0] == '.')
			fz_fail("an imported group's file name is not a plain name",
				res->groups[i].file, res->groups[i].file ?
				strlen(res->groups[i].file) : 0);
		snprintf(rel, sizeof(rel), "groups.d/%s", res->groups[i].file);
		fz_write(rel, text);
		free(text);
	}
	diags_init(&d);
	r = config_load(fz_dir, &cfg, &d);
	if (r < 0 && exact) {
		for (size_t i = 0; i < d.n; i++) {
			char *line = diag_format(&d.v[i]);

			fprintf(stderr, "load: %s\n", line ? line : d.v[i].msg);
			free(line);
		}
		fz_fail("an exact import wrote groups that sgd refuses", NULL, 0);
	}
	config_free(cfg);
	diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imp_result res;
	struct jt_node root;
	char err[512];
	int r;

	if (size > FZ_MAX_INPUT)
		return -1;
	r = jt_parse((const char *)data, size, &root, err, sizeof(err));
	if (r < 0) {
		if (r == -EINVAL && !err[0])
			fz_fail("jt_parse refused without a message", NULL, 0);
		return 0;
	}
	imp_result_init(&res);
	r = imp_map_document(&root, &res, err, sizeof(err));
	jt_free(&root);
	if (r < 0) {
		if (r == -EINVAL && !err[0])
			fz_fail("imp_map_document refused without a message", NULL, 0);
		imp_result_free(&res);
		return 0;
	}
	fz_check_groups(&res);
	imp_result_free(&res);
	return 0;
}
