/* safeopen.c — open configuration files safely; see safeopen.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "safeopen.h"

int safeopen_dir(int dirfd, const char *name, char *why, size_t len)
{
	struct stat st;
	int fd, r;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		/* O_NOFOLLOW | O_DIRECTORY on a symlink: ENOTDIR or ELOOP */
		if ((r == -ELOOP || r == -ENOTDIR) &&
		    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode)) {
			snprintf(why, len, "is a symbolic link; refused");
			return -ELOOP;
		}
		snprintf(why, len, "cannot open: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		snprintf(why, len, "cannot stat: %s", strerror(-r));
		return r;
	}
	if (st.st_mode & S_IWOTH) {
		close(fd);
		snprintf(why, len, "directory is writable by others (mode %04o); "
			 "refused", (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return fd;
}

/* The checks on an open fd; dir is the fstat of its directory (NULL: a
 * file the user named, no owner rule). */
static int safeopen_check(int fd, const struct stat *dir, off_t max,
			  struct stat *st, char *why, size_t len)
{
	int flags;

	if (fstat(fd, st) < 0) {
		snprintf(why, len, "cannot stat: %s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, len, "not a regular file");
		return -EINVAL;
	}
	if (dir && st->st_uid != 0 && st->st_uid != dir->st_uid) {
		snprintf(why, len, "owned by uid %u, which is neither root nor "
			 "the owner of its directory; refused",
			 (unsigned)st->st_uid);
		return -EPERM;
	}
	if (st->st_size > max) {
		snprintf(why, len, "file is %lld bytes, over the limit of %lld "
			 "bytes", (long long)st->st_size, (long long)max);
		return -EFBIG;
	}
	/* A regular file never blocks; readers see plain blocking reads. */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return 0;
}

int safeopen_file(int dirfd, const char *name, off_t max, struct stat *st,
		  char *why, size_t len)
{
	struct stat dir, own;
	int fd, r;

	if (!st)
		st = &own;
	if (fstat(dirfd, &dir) < 0) {
		r = -errno;
		snprintf(why, len, "cannot stat its directory: %s", strerror(-r));
		return r;
	}
	if (dir.st_mode & S_IWOTH) {
		snprintf(why, len, "its directory is writable by others (mode "
			 "%04o); refused", (unsigned)(dir.st_mode & 07777));
		return -EPERM;
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
		    O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			snprintf(why, len, "is a symbolic link; refused");
		else
			snprintf(why, len, "cannot open: %s", strerror(-r));
		return r;
	}
	r = safeopen_check(fd, &dir, max, st, why, len);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int safeopen_path(int dirfd, const char *path, off_t max, struct stat *st,
		  char *why, size_t len)
{
	char part[PATH_MAX];
	struct stat own;
	const char *p = path, *slash;
	int cur = dirfd, fd, r;

	if (!st)
		st = &own;
	if (dirfd == AT_FDCWD) {
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			r = -errno;
			snprintf(why, len, "cannot open: %s", strerror(-r));
			return r;
		}
		r = safeopen_check(fd, NULL, max, st, why, len);
		if (r < 0) {
			close(fd);
			return r;
		}
		return fd;
	}
	while ((slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);
		int next;

		if (n >= sizeof(part)) {
			r = -ENAMETOOLONG;
			snprintf(why, len, "cannot open: %s", strerror(-r));
			goto out;
		}
		memcpy(part, p, n);
		part[n] = 0;
		p = slash + 1;
		if (n == 0)
			continue;
		next = safeopen_dir(cur, part, why, len);
		if (next < 0) {
			r = next;
			goto out;
		}
		if (cur != dirfd)
			close(cur);
		cur = next;
	}
	r = safeopen_file(cur, p, max, st, why, len);
out:
	if (cur != dirfd)
		close(cur);
	return r;
}
