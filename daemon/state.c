/*
 * state.c — what sgd keeps under its state dir across restarts, written
 * so that a crash at any moment leaves either the old or the new file,
 * never half of one: write a temporary file, fsync it, rename it over
 * the old one, fsync the directory.  What the files hold is their
 * owners' (runtime.c, snapshot.c, membatch.c's journal): this file knows
 * only files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "sgd.h"

int state_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Write data to name in the directory dfd (created 0600, truncated),
 * fsync it.  O_NOFOLLOW: a link planted there is refused, never followed
 * to truncate its target. */
static int state_write_at(int dfd, const char *name, const void *data, size_t len)
{
	const char *p = data;
	int fd, r = 0;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int state_write_durable(const char *path, const void *data, size_t len)
{
	return state_write_at(AT_FDCWD, path, data, len);
}

/* The directory dir itself, never through a link. */
static int state_open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int state_write_file(const char *dir, const char *name, const void *data,
		     size_t len)
{
	char tmp[NAME_MAX + 1];
	int dfd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	dfd = state_open_dir(dir);
	if (dfd < 0)
		return dfd;
	/* everything relative to the directory opened once */
	r = state_write_at(dfd, tmp, data, len);
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(dfd, tmp, 0);
	else if (fsync(dfd) < 0)
		r = -errno;
	close(dfd);
	return r;
}

int state_read_fd(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0, cap;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	if ((unsigned long long)st.st_size > max)
		return -EFBIG;
	/* sized from fstat, one byte more to notice a file that grew past
	 * max while read: memory stays bounded whatever the file does */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (got == cap) {
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb;

			if (ncap <= cap) {
				free(buf);
				return -EFBIG;
			}
			nb = realloc(buf, ncap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			free(buf);
			return r;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		free(buf);
		return -EFBIG;
	}
	buf[got] = 0;
	*out = buf;
	if (len)
		*len = got;
	return 0;
}

int state_read_path(const char *path, char **out, size_t *len)
{
	int fd, r;

	/* Never through a link, never blocking on a FIFO (state.h). */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = state_read_fd(fd, SGD_STATE_MAX_FILE, out, len);
	close(fd);
	return r;
}

int state_read_file(const char *dir, const char *name, char **out, size_t *len)
{
	int dfd, fd, r;

	dfd = state_open_dir(dir);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	r = fd < 0 ? -errno : state_read_fd(fd, SGD_STATE_MAX_FILE, out, len);
	if (fd >= 0)
		close(fd);
	close(dfd);
	return r;
}

/* Is path (absolute, no links: a realpath) safe to keep root's state
 * in?  The directory itself must be owned by sgd's user and writable by
 * nobody else; each parent owned by root (or sgd's user) and writable by
 * nobody else, unless it has the sticky bit (like /tmp: others cannot
 * rename or remove what is not theirs).  Otherwise another user could
 * plant links that sgd would follow as root.  0, or -EPERM logged. */
static int state_check_dir(struct sgd *d, const char *path)
{
	char p[PATH_MAX], *slash;
	uid_t me = geteuid();
	struct stat st;
	bool self = true;

	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		if (lstat(p[0] ? p : "/", &st) < 0) {
			int r = -errno;

			sgd_log(d, LOG_ERR, "state dir %s: %s: %s", path, p[0] ? p : "/",
				strerror(-r));
			return r;
		}
		if (!S_ISDIR(st.st_mode) || (st.st_uid != 0 && st.st_uid != me) ||
		    ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
		     (self || !(st.st_mode & S_ISVTX)))) {
			sgd_log(d, LOG_ERR, "state dir %s: refusing it: %s is owned by uid %u "
				"with mode %04o; the state dir and each of its "
				"parents must be owned by root and not writable by "
				"group or others (a parent may be if it is sticky, "
				"like /tmp)", path, p[0] ? p : "/",
				(unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
			return -EPERM;
		}
		if (!p[0] || strcmp(p, "/") == 0)
			return 0;
		slash = strrchr(p, '/');
		*slash = 0;
		self = false;
	}
}

int state_init(struct sgd *d)
{
	int r;

	if (mkdir(d->opt.state_dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		sgd_log(d, LOG_ERR, "cannot create the state dir %s: %s",
			d->opt.state_dir, strerror(-r));
		return r;
	}
	/* Links resolved once, here, where every component is checked;
	 * afterwards every file under it is opened O_NOFOLLOW. */
	d->state_dir_real = realpath(d->opt.state_dir, NULL);
	if (!d->state_dir_real) {
		r = -errno;
		sgd_log(d, LOG_ERR, "state dir %s: %s", d->opt.state_dir, strerror(-r));
		return r;
	}
	r = state_check_dir(d, d->state_dir_real);
	if (r < 0)
		return r;
	d->opt.state_dir = d->state_dir_real;
	return 0;
}

const char *state_path(const struct sgd *d, const char *name, char *buf,
			  size_t len)
{
	snprintf(buf, len, "%s/%s", d->opt.state_dir, name);
	return buf;
}
