/*
 * snapshot.c — copies of configuration directories under the state dir.
 *
 * sgd loads a configuration from a private copy of its files (staging/)
 * and keeps the copy of what it committed (running/).  So the exact
 * files of the running configuration survive an operator editing
 * CONFDIR, which is what apply --confirm needs to roll back to, also
 * after a restart.  A copy holds sgd.yaml and the regular files of
 * groups.d/ and prefix_lists.d/ (members.d is membership, read live from
 * CONFDIR).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "sgd.h"

const char *snapshot_path(const struct sgd *d, const char *name, char *buf,
			  size_t len)
{
	snprintf(buf, len, "%s/%s", d->opt.state_dir, name);
	return buf;
}

static int copy_file(const char *src, const char *dst)
{
	char *data = NULL;
	size_t len = 0;
	int r = state_read_path(src, &data, &len);

	if (r == 0)
		r = state_write_durable(dst, data, len);
	free(data);
	return r;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The sorted names of the regular, non-hidden files in dir (only the
 * *.yaml ones with yaml_only, as the loader reads them).  A missing dir
 * is an empty list. */
static int list_files(const char *dir, bool yaml_only, char ***out, size_t *n)
{
	struct dirent *e;
	char **v = NULL, **nv;
	size_t cap = 0;
	DIR *dp;

	*out = NULL;
	*n = 0;
	dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(dp))) {
		char path[4096];
		struct stat st;

		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		if (yaml_only && (l <= 5 || strcmp(e->d_name + l - 5, ".yaml") != 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto nomem;
			v = nv;
		}
		v[*n] = strdup(e->d_name);
		if (!v[*n])
			goto nomem;
		(*n)++;
	}
	closedir(dp);
	if (*n)
		qsort(v, *n, sizeof(*v), name_cmp);
	*out = v;
	return 0;
nomem:
	closedir(dp);
	names_free(v, *n);
	*n = 0;
	return -ENOMEM;
}

/* The subdirectories of a configuration that a copy holds. */
static const char *const snapshot_subdirs[] = { "groups.d", "prefix_lists.d" };
#define SNAPSHOT_NSUB (sizeof(snapshot_subdirs) / sizeof(snapshot_subdirs[0]))

int snapshot_remove(const char *dir)
{
	char sub[4096], path[4096];
	char **names;
	size_t n, i;
	int r;

	for (size_t k = 0; k < SNAPSHOT_NSUB; k++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, snapshot_subdirs[k]);
		r = list_files(sub, false, &names, &n);
		if (r < 0)
			return r;
		for (i = 0; i < n; i++)
			if (snprintf(path, sizeof(path), "%s/%s", sub, names[i]) <
			    (int)sizeof(path))
				unlink(path);
		names_free(names, n);
		if (rmdir(sub) < 0 && errno != ENOENT)
			return -errno;
	}
	r = list_files(dir, false, &names, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) <
		    (int)sizeof(path))
			unlink(path);
	names_free(names, n);
	if (rmdir(dir) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Copy the *.yaml files of src/name into dst/name (created). */
static int copy_subdir(const char *src, const char *dst, const char *name,
		       struct sg_diags *diags)
{
	char from[4096], to[4096], sub[4096];
	char **names = NULL;
	size_t n = 0, i;
	int r;

	snprintf(sub, sizeof(sub), "%s/%s", dst, name);
	if (mkdir(sub, 0700) < 0)
		return -errno;
	snprintf(sub, sizeof(sub), "%s/%s", src, name);
	r = list_files(sub, true, &names, &n);
	if (r < 0) {
		diags_add_file(diags, name, "cannot list %s: %s", sub, strerror(-r));
		return r;
	}
	for (i = 0; i < n && r == 0; i++) {
		snprintf(from, sizeof(from), "%s/%s/%s", src, name, names[i]);
		snprintf(to, sizeof(to), "%s/%s/%s", dst, name, names[i]);
		r = copy_file(from, to);
		if (r < 0)
			diags_add_file(diags, from, "cannot copy: %s",
				       strerror(-r));
	}
	names_free(names, n);
	if (r == 0) {
		snprintf(sub, sizeof(sub), "%s/%s", dst, name);
		r = state_fsync_dir(sub);
	}
	return r;
}

int snapshot_copy(const char *src, const char *dst, struct sg_diags *diags)
{
	char from[4096], to[4096];
	int r;

	r = snapshot_remove(dst);
	if (r == 0 && mkdir(dst, 0700) < 0)
		r = -errno;
	if (r < 0) {
		diags_add_file(diags, dst, "cannot prepare a copy of the "
			       "configuration: %s", strerror(-r));
		return r;
	}
	snprintf(from, sizeof(from), "%s/sgd.yaml", src);
	snprintf(to, sizeof(to), "%s/sgd.yaml", dst);
	r = copy_file(from, to);
	if (r < 0) {
		diags_add_file(diags, "sgd.yaml", "cannot read %s: %s", from,
			       strerror(-r));
		return r;
	}
	for (size_t k = 0; k < SNAPSHOT_NSUB && r == 0; k++)
		r = copy_subdir(src, dst, snapshot_subdirs[k], diags);
	if (r == 0)
		r = state_fsync_dir(dst);
	return r;
}

static void fnv_add(uint64_t *h, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		*h ^= p[i];
		*h *= 0x100000001b3ull;
	}
}

static int hash_file(uint64_t *h, const char *dir, const char *rel)
{
	char path[4096];
	char *data = NULL;
	size_t len = 0;
	uint64_t l;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	r = state_read_path(path, &data, &len);
	if (r < 0)
		return r;
	l = len;
	/* Name, length and content, so files cannot run into each other. */
	fnv_add(h, rel, strlen(rel) + 1);
	fnv_add(h, &l, sizeof(l));
	fnv_add(h, data, len);
	free(data);
	return 0;
}

int snapshot_hash(const char *dir, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ull;
	char sub[4096], rel[4096];
	char **names;
	size_t n, i;
	int r;

	r = hash_file(&h, dir, "sgd.yaml");
	if (r < 0)
		return r;
	for (size_t k = 0; k < SNAPSHOT_NSUB && r == 0; k++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, snapshot_subdirs[k]);
		r = list_files(sub, true, &names, &n);
		if (r < 0)
			return r;
		for (i = 0; i < n && r == 0; i++) {
			snprintf(rel, sizeof(rel), "%s/%s", snapshot_subdirs[k], names[i]);
			r = hash_file(&h, dir, rel);
		}
		names_free(names, n);
	}
	if (r == 0)
		snprintf(out, 17, "%016llx", (unsigned long long)h);
	return r;
}

int snapshot_replace(const char *src, const char *dst)
{
	char parent[4096], *slash;
	int r = 0;

	if (rename(src, dst) < 0) {
		if (errno != ENOTEMPTY && errno != EEXIST)
			return -errno;
		/* One atomic step: dst is never missing. */
		if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_EXCHANGE) < 0)
			return -errno;
		r = snapshot_remove(src);
	}
	snprintf(parent, sizeof(parent), "%s", dst);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		int f = state_fsync_dir(parent);

		if (r == 0)
			r = f;
	}
	return r;
}
