/*
 * journal.h — run-time membership changes as an append-only journal.
 *
 * One record a line, "+ GROUP CIDR CRC" (added) or "- GROUP CIDR CRC"
 * (deleted), CRC being the CRC-32 of the text before it in 8 hex digits.
 * A change (or a coalesced batch of changes) is one write and one
 * fdatasync, not a rewrite of everything.  The state file written by
 * runtime.c is the snapshot the journal applies to; when the journal has
 * grown past twice the live size, the caller writes a new snapshot and
 * empties the journal (journal_reset).  Replaying a record is idempotent
 * (a set operation), so a crash between the two is harmless.
 *
 * A record whose checksum or syntax is wrong — a write torn by a crash —
 * is skipped and counted; when such bytes end the file, it is cut after
 * the last good record so that new records start on a clean line.
 */
#ifndef SGD_JOURNAL_H
#define SGD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "model.h"

struct journal {
	int fd;			/* -1 when closed */
	char path[4096];
	size_t n_records;	/* good records in the file */
	off_t size;		/* bytes of the file that hold them */
	char *buf;		/* records not written yet */
	size_t len, cap, n_buf;
};

/* Called for every good record in file order; non-zero stops the replay
 * and is returned by journal_open. */
typedef int (*journal_fn)(void *arg, bool add, const char *group,
			  const struct sg_cidr *c);

/* Open (create) dir/name for appending after replaying it into fn.
 * *n_bad gets the number of skipped records, msg (when not NULL) a
 * description of the first one ("FILE:LINE: why").  0 or -errno. */
int journal_open(struct journal *j, const char *dir, const char *name,
		 journal_fn fn, void *arg, size_t *n_bad, char *msg,
		 size_t msg_len);
void journal_close(struct journal *j);

/* Queue one record (nothing is written yet).  -EINVAL for a group name
 * that cannot be written on one line, -ENOMEM. */
int journal_append(struct journal *j, bool add, const char *group,
		   const struct sg_cidr *c);
/* Write the queued records and fdatasync.  On failure the file is cut
 * back to what it held before and the queue is dropped.  0 or -errno. */
int journal_sync(struct journal *j);
/* Forget the queued records. */
void journal_drop(struct journal *j);
/* Empty the journal (the snapshot now holds everything).  0 or -errno. */
int journal_reset(struct journal *j);
/* Is the journal long enough, against live members, to be compacted? */
bool journal_wants_compaction(const struct journal *j, size_t live);

/* CRC-32 (IEEE 802.3) of len bytes. */
uint32_t journal_crc32(const void *data, size_t len);

#endif
