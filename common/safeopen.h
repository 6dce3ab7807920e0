/*
 * safeopen.h — how every configuration file is opened (sgd.yaml,
 * groups.d/, members.d/, prefix_lists.d/), by sgd (as root) and by
 * sgctl check alike.
 *
 * A file is opened O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC and judged by
 * fstat of what was opened, never by a stat of the name before: so a
 * symlink to a root-only file, a FIFO swapped in at the last moment or a
 * file planted by another user is refused, and a read never blocks.
 * The rules:
 *   - the file is a regular file, not a symbolic link;
 *   - it is owned by root or by the owner of its directory;
 *   - its directory is not writable by others (S_IWOTH);
 *   - it is at most max bytes.
 */
#ifndef SGD_SAFEOPEN_H
#define SGD_SAFEOPEN_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Open the directory name relative to dirfd (O_DIRECTORY | O_NOFOLLOW)
 * and check that it is not writable by others.  Returns the fd, or
 * -errno with a reason in why: -ELOOP (a symbolic link), -ENOTDIR,
 * -EPERM (writable by others), -ENOENT, ... */
int safeopen_dir(int dirfd, const char *name, char *why, size_t len);

/* Open the plain file name (no '/') in the directory dirfd by the rules
 * above; st (may be NULL) gets its fstat.  Returns the fd (read-only,
 * O_NONBLOCK cleared), or -errno with a reason in why that never quotes
 * the file's content: -ENOENT, -ELOOP (symlink), -EINVAL (not a regular
 * file), -EPERM (owner, or directory writable by others), -EFBIG. */
int safeopen_file(int dirfd, const char *name, off_t max, struct stat *st,
		  char *why, size_t len);

/* path relative to dirfd, with any number of directory components, each
 * opened with safeopen_dir, then the last one with safeopen_file.  With
 * dirfd AT_FDCWD, path is a file the user named (sgctl check FILE): its
 * directories are followed as given, the file itself must still be
 * regular and within max, and it is still opened O_NONBLOCK. */
int safeopen_path(int dirfd, const char *path, off_t max, struct stat *st,
		  char *why, size_t len);

#endif
