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
#include "render_fmt.h"
#include "safeopen.h"
#include "sgd.h"

/* The subdirectories of a configuration that a copy holds. */
static const char *const snapshot_subdirs[] = { "groups.d", "prefix_lists.d" };
#define SNAPSHOT_NSUB (sizeof(snapshot_subdirs) / sizeof(snapshot_subdirs[0]))

/* Read name in the directory dfd by the config-file rules (safeopen.h):
 * never through a link, never blocking, never more than the loader's
 * cap.  0, or -errno with the reason in why. */
static int read_conf(int dfd, const char *name, char **data, size_t *len,
		     char *why, size_t wl)
{
	int fd = safeopen_file(dfd, name, (off_t)SG_MAX_FILE_SIZE, NULL, why, wl);
	int r;

	if (fd < 0)
		return fd;
	r = state_read_fd(fd, SG_MAX_FILE_SIZE, data, len);
	close(fd);
	if (r < 0)
		snprintf(why, wl, "cannot read: %s", strerror(-r));
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

/* The sorted non-hidden names in the directory dfd that are not
 * directories (only the *.yaml ones with yaml_only, as the loader reads
 * them).  Links and special files are listed: whoever opens them judges
 * them (a copy refuses them, a removal unlinks them). */
static int list_files(int dfd, bool yaml_only, char ***out, size_t *n)
{
	struct dirent *e;
	char **v = NULL, **nv;
	size_t cap = 0;
	DIR *dp;
	int fd;

	*out = NULL;
	*n = 0;
	fd = dup(dfd);
	if (fd < 0)
		return -errno;
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return -errno;
	}
	rewinddir(dp);
	while ((e = readdir(dp))) {
		struct stat st;
		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		if (yaml_only && (l <= 5 || strcmp(e->d_name + l - 5, ".yaml") != 0))
			continue;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode))
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

/* Unlink every non-directory entry of dfd (links themselves, never what
 * they point to), then rmdir name in parent. */
static int remove_dir_at(int parent, const char *name)
{
	char **names;
	size_t n, i;
	int fd, r;

	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		/* Not a directory (a link or a file in its place): remove the
		 * name only. */
		if (errno == ENOTDIR || errno == ELOOP)
			return unlinkat(parent, name, 0) < 0 ? -errno : 0;
		return -errno;
	}
	r = list_files(fd, false, &names, &n);
	for (i = 0; r == 0 && i < n; i++)
		(void)unlinkat(fd, names[i], 0);
	if (r == 0)
		names_free(names, n);
	for (size_t k = 0; r == 0 && k < SNAPSHOT_NSUB; k++)
		r = remove_dir_at(fd, snapshot_subdirs[k]);
	close(fd);
	if (r == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

int snapshot_remove(const char *dir)
{
	char parent[4096], *slash;
	int pfd, r;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash)
		return remove_dir_at(AT_FDCWD, dir);
	*slash = 0;
	pfd = open(slash == parent ? "/" : parent,
		   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	r = remove_dir_at(pfd, slash + 1);
	close(pfd);
	return r;
}

/* Copy the file name of the directory sfd into dst/rel. */
static int copy_one(int sfd, const char *name, const char *dst, const char *rel,
		    struct sg_diags *diags)
{
	char to[4096], why[200];
	char *data = NULL;
	size_t len = 0;
	int r;

	r = read_conf(sfd, name, &data, &len, why, sizeof(why));
	if (r < 0) {
		if (r == -ENOENT && strcmp(rel, "sgd.yaml") == 0)
			diags_add_file(diags, rel, "missing: every configuration "
				       "directory needs an sgd.yaml (it may be "
				       "just \"attach: []\")");
		else
			diags_add_file(diags, rel, "%s", why);
		return r;
	}
	snprintf(to, sizeof(to), "%s/%s", dst, rel);
	r = state_write_durable(to, data, len);
	free(data);
	if (r < 0)
		diags_add_file(diags, to, "cannot write: %s", strerror(-r));
	return r;
}

/* Copy the *.yaml files of the directory name in sfd into dst/name,
 * created; a directory the source lacks is left out of the copy too. */
static int copy_subdir(int sfd, const char *dst, const char *name,
		       struct sg_diags *diags)
{
	char sub[4096], rel[4096], why[200];
	char **names = NULL;
	size_t n = 0, i;
	int r, gfd;

	gfd = safeopen_dir(sfd, name, why, sizeof(why));
	if (gfd == -ENOENT)
		return 0;	/* none, and none in the copy: no prefix lists */
	if (gfd < 0) {
		diags_add_file(diags, name, "%s", why);
		return gfd;
	}
	snprintf(sub, sizeof(sub), "%s/%s", dst, name);
	if (mkdir(sub, 0700) < 0) {
		r = -errno;
		close(gfd);
		return r;
	}
	r = list_files(gfd, true, &names, &n);
	if (r < 0)
		diags_add_file(diags, name, "cannot list: %s", strerror(-r));
	for (i = 0; i < n && r == 0; i++) {
		snprintf(rel, sizeof(rel), "%s/%s", name, names[i]);
		r = copy_one(gfd, names[i], dst, rel, diags);
	}
	names_free(names, n);
	close(gfd);
	if (r == 0)
		r = state_fsync_dir(sub);
	return r;
}

int snapshot_copy(const char *src, const char *dst, struct sg_diags *diags)
{
	int r, sfd;

	r = snapshot_remove(dst);
	if (r == 0 && mkdir(dst, 0700) < 0)
		r = -errno;
	if (r < 0) {
		diags_add_file(diags, dst, "cannot prepare a copy of the "
			       "configuration: %s", strerror(-r));
		return r;
	}
	sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		r = -errno;
		diags_add_file(diags, src, "cannot open configuration directory: "
			       "%s", strerror(-r));
		return r;
	}
	r = copy_one(sfd, "sgd.yaml", dst, "sgd.yaml", diags);
	for (size_t k = 0; r == 0 && k < SNAPSHOT_NSUB; k++)
		r = copy_subdir(sfd, dst, snapshot_subdirs[k], diags);
	if (r == 0)
		r = state_fsync_dir(dst);
	close(sfd);
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

static int hash_file(uint64_t *h, int dfd, const char *name, const char *rel)
{
	char *data = NULL, why[200];
	size_t len = 0;
	uint64_t l;
	int r;

	r = read_conf(dfd, name, &data, &len, why, sizeof(why));
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

/* Hash the *.yaml files of the directory name in dfd (absent: none). */
static int hash_subdir(uint64_t *h, int dfd, const char *name)
{
	char rel[4096], why[200];
	char **names = NULL;
	size_t n = 0, i;
	int r, gfd;

	gfd = safeopen_dir(dfd, name, why, sizeof(why));
	if (gfd == -ENOENT)
		return 0;
	if (gfd < 0)
		return gfd;
	r = list_files(gfd, true, &names, &n);
	for (i = 0; i < n && r == 0; i++) {
		snprintf(rel, sizeof(rel), "%s/%s", name, names[i]);
		r = hash_file(h, gfd, names[i], rel);
	}
	names_free(names, n);
	close(gfd);
	return r;
}

int snapshot_hash(const char *dir, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ull;
	int r, dfd;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = hash_file(&h, dfd, "sgd.yaml", "sgd.yaml");
	for (size_t k = 0; r == 0 && k < SNAPSHOT_NSUB; k++)
		r = hash_subdir(&h, dfd, snapshot_subdirs[k]);
	close(dfd);
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

int snapshot_init(struct sgd *d)
{
	char path[4096];

	/* A staging copy left by a crash is never used again. */
	(void)snapshot_remove(state_path(d, SGD_STATE_STAGING, path, sizeof(path)));
	return 0;
}

/* ---- markers: STATE/confirm (a pending apply --confirm) and
 * STATE/rejected (the configuration a rollback rejected) */

int snapshot_mark_read(struct sgd *d, const char *name, struct snapshot_mark *cf)
{
	char *text = NULL;
	int r;

	r = state_read_file(d->opt.state_dir, name, &text, NULL);
	if (r < 0)
		return r;
	memset(cf, 0, sizeof(*cf));
	if (sscanf(text, "time_ms %lld hash %16s", &cf->when_ms, cf->hash) != 2 ||
	    strlen(cf->hash) != 16) {
		sgd_log(d, LOG_WARNING, "%s/%s: unreadable ('%.60s'); expected "
			"'time_ms UNIXTIME_MS hash HEX16'", d->opt.state_dir,
			name, text);
		free(text);
		return -EBADMSG;
	}
	free(text);
	return 0;
}

int snapshot_mark_write(struct sgd *d, const char *name, long long when,
			 const char *hash)
{
	char text[128];

	snprintf(text, sizeof(text), "time_ms %lld\nhash %s\n", when, hash);
	return state_write_file(d->opt.state_dir, name, text, strlen(text));
}

bool snapshot_rejected(struct sgd *d, char *msg, size_t len)
{
	struct snapshot_mark cf;
	char hash[17], when[64];

	if (snapshot_mark_read(d, SGD_STATE_REJECTED, &cf) < 0)
		return false;
	if (snapshot_hash(d->opt.confdir, hash) < 0 || strcmp(hash, cf.hash) != 0)
		return false;
	snprintf(msg, len, "%s still holds the configuration that was rolled "
		 "back at %s (apply --confirm was not confirmed); change it, "
		 "try it again with 'apply --confirm', or use --force",
		 d->opt.confdir, fmt_time((time_t)(cf.when_ms / 1000), when, sizeof(when)));
	return true;
}
