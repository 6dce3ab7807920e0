/*
 * journal.c — the run-time membership journal (see journal.h).
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
#include "journal.h"

/* A record line is short: op, group name, CIDR, checksum. */
#define JOURNAL_LINE_MAX 512
/* Below this many records compaction is not worth a snapshot write. */
#define JOURNAL_COMPACT_MIN 64

uint32_t journal_crc32(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* Parse one line (without its '\n'); 0 or a reason. */
static const char *journal_parse(char *line, size_t len, bool *add,
				 char **group, struct sg_cidr *c)
{
	char *sp_group, *sp_cidr, *sp_crc, *end;
	unsigned long crc;

	if (len < 8 || len >= JOURNAL_LINE_MAX || memchr(line, 0, len))
		return "not a record";
	line[len] = 0;
	sp_crc = strrchr(line, ' ');
	if (!sp_crc || strlen(sp_crc + 1) != 8)
		return "no checksum";
	errno = 0;
	crc = strtoul(sp_crc + 1, &end, 16);
	if (errno || *end)
		return "no checksum";
	if ((uint32_t)crc != journal_crc32(line, (size_t)(sp_crc - line)))
		return "checksum mismatch";
	*sp_crc = 0;
	if ((line[0] != '+' && line[0] != '-') || line[1] != ' ')
		return "unknown operation";
	sp_group = line + 2;
	sp_cidr = strchr(sp_group, ' ');
	if (!sp_cidr || sp_cidr == sp_group)
		return "no group";
	*sp_cidr++ = 0;
	if (cidr_parse(sp_cidr, c) < 0)
		return "not an address or CIDR";
	*add = line[0] == '+';
	*group = sp_group;
	return NULL;
}

/* Read the whole file; 0 (empty buffer when absent) or -errno. */
static int journal_slurp(int fd, char **out, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nv = realloc(buf, cap * 2 + 1);

			if (!nv) {
				free(buf);
				return -ENOMEM;
			}
			buf = nv;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(buf);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

static int journal_replay(struct journal *j, char *buf, size_t len,
			  journal_fn fn, void *arg, size_t *n_bad, char *msg,
			  size_t msg_len)
{
	size_t off = 0, good_end = 0;
	int lineno = 0, rc = 0;

	while (off < len && rc == 0) {
		char *nl = memchr(buf + off, '\n', len - off), *group = NULL;
		size_t ll = nl ? (size_t)(nl - (buf + off)) : len - off;
		const char *why;
		struct sg_cidr c;
		bool add = false;

		lineno++;
		why = nl ? journal_parse(buf + off, ll, &add, &group, &c) :
			   "torn (no end of line)";
		if (why) {
			if (msg && *n_bad == 0)
				snprintf(msg, msg_len, "%s:%d: %s", j->path,
					 lineno, why);
			(*n_bad)++;
		} else {
			rc = fn(arg, add, group, &c);
			j->n_records++;
			good_end = off + ll + 1;
		}
		off += ll + (nl ? 1 : 0);
	}
	if (rc)
		return rc;
	/* bad bytes at the end: cut them so the next record starts clean */
	if (good_end < len) {
		if (ftruncate(j->fd, (off_t)good_end) < 0 || fdatasync(j->fd) < 0)
			return -errno;
	}
	j->size = (off_t)good_end;
	return 0;
}

int journal_open(struct journal *j, const char *dir, const char *name,
		 journal_fn fn, void *arg, size_t *n_bad, char *msg,
		 size_t msg_len)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(j, 0, sizeof(*j));
	*n_bad = 0;
	if (msg && msg_len)
		msg[0] = 0;
	if ((size_t)snprintf(j->path, sizeof(j->path), "%s/%s", dir, name) >=
	    sizeof(j->path)) {
		j->fd = -1;
		return -ENAMETOOLONG;
	}
	/* relative to the directory, O_NOFOLLOW: never through a link planted
	 * in the state dir */
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (dfd < 0) {
			j->fd = -1;
			return -errno;
		}
		j->fd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			       0600);
		rc = j->fd < 0 ? -errno : 0;
		close(dfd);
		if (rc < 0)
			return rc;
	}
	rc = journal_slurp(j->fd, &buf, &len);
	if (rc == 0)
		rc = journal_replay(j, buf, len, fn, arg, n_bad, msg, msg_len);
	free(buf);
	if (rc == 0 && lseek(j->fd, j->size, SEEK_SET) < 0)
		rc = -errno;
	if (rc)
		journal_close(j);
	return rc;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	free(j->buf);
	j->buf = NULL;
	j->len = j->cap = j->n_buf = 0;
}

int journal_append(struct journal *j, bool add, const char *group,
		   const struct sg_cidr *c)
{
	char line[JOURNAL_LINE_MAX], cb[64];
	int n;

	if (!*group || strpbrk(group, " \t\r\n"))
		return -EINVAL;
	n = snprintf(line, sizeof(line), "%c %s %s", add ? '+' : '-', group,
		     cidr_format(c, cb, sizeof(cb)));
	if (n < 0 || (size_t)n + 10 >= sizeof(line))
		return -EINVAL;
	n += snprintf(line + n, sizeof(line) - (size_t)n, " %08x\n",
		      journal_crc32(line, (size_t)n));
	if (j->len + (size_t)n > j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 4096;
		char *nv;

		while (cap < j->len + (size_t)n)
			cap *= 2;
		nv = realloc(j->buf, cap);
		if (!nv)
			return -ENOMEM;
		j->buf = nv;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, line, (size_t)n);
	j->len += (size_t)n;
	j->n_buf++;
	return 0;
}

void journal_drop(struct journal *j)
{
	j->len = 0;
	j->n_buf = 0;
}

int journal_sync(struct journal *j)
{
	size_t done = 0;
	int rc = 0;

	if (j->fd < 0)
		return -EBADF;
	if (!j->len)
		return 0;
	while (done < j->len) {
		ssize_t n = pwrite(j->fd, j->buf + done, j->len - done,
				   j->size + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		done += (size_t)n;
	}
	if (rc == 0 && fdatasync(j->fd) < 0)
		rc = -errno;
	if (rc) {
		/* what was written of this batch must not replay later */
		if (ftruncate(j->fd, j->size) == 0)
			(void)fdatasync(j->fd);
		journal_drop(j);
		return rc;
	}
	j->size += (off_t)j->len;
	j->n_records += j->n_buf;
	journal_drop(j);
	return 0;
}

int journal_reset(struct journal *j)
{
	if (j->fd < 0)
		return -EBADF;
	if (ftruncate(j->fd, 0) < 0 || fdatasync(j->fd) < 0)
		return -errno;
	j->size = 0;
	j->n_records = 0;
	return 0;
}

bool journal_wants_compaction(const struct journal *j, size_t live)
{
	return j->n_records >= JOURNAL_COMPACT_MIN && j->n_records > 2 * live;
}
