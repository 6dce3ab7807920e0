/*
 * membatch.h — run-time membership changes: per-group indexes, the
 * journal, and the coalescing of one loop iteration's changes into one
 * kernel transaction and one journal sync (membatch.c).
 */
#ifndef SGD_MEMBATCH_H
#define SGD_MEMBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"
#include "proto.h"
#include "sgd.h"

struct memidx_slot;

/* At start, after runtime_load: replay the journal into d->rt.
 * 0 or -errno (logged). */
int membatch_journal_load(struct sgd *d);
void membatch_fini(struct sgd *d);

/* A members add/del request starts (its time counts from here). */
void membatch_begin(struct sgd *d);
/* The member c of group gi (index built on demand), or NULL; *err gets
 * 0 or -ENOMEM. */
struct memidx_slot *membatch_find(struct sgd *d, int gi,
				  const struct sg_cidr *c, int *err);
/* Add (or delete) the run-time member c of gi in the pending batch (after
 * membatch_find built gi's index).  1 when the group's membership
 * changed, 0 when another source keeps it, -errno. */
int membatch_change(struct sgd *d, int gi, const struct sg_cidr *c, bool add);
/* Undo the changes queued since mark (a request that failed halfway). */
size_t membatch_mark(struct sgd *d);
void membatch_rollback(struct sgd *d, size_t mark);
/* The answer of the request just handled waits for the batch. */
void membatch_queue_answer(struct sgd *d);
/* Last and median time of a membership change (request to kernel and
 * journal done), µs.  0 or -ENOENT (none yet). */
int membatch_stats(const struct sgd *d, long long *last_us, long long *median_us);

/* status --json: text (a JSON object) with "members_change_us": {"last",
 * "median", "changes"} added when there were changes; text when not (or
 * on -ENOMEM). */
char *membatch_status_json(const struct sgd *d, char *text);

/* control.c, after dispatch: true when the answer r was taken to be sent
 * once the batch is committed (r is emptied). */
bool membatch_defer(struct sgd *d, struct sgd_client *c, struct proto_resp *r);
/* Commit the pending batch and answer its clients. */
void membatch_flush(struct sgd *d);
/* the loop (main.c's hook), before an event of watch w that is not a client's: flush; and
 * forget the indexes when w may replace memberships. */
void membatch_barrier(struct sgd *d, const struct sgd_watch *w);
/* The sources of members changed behind the indexes (a fleet change,
 * after the barrier flushed): forget them; rebuilt on first use. */
void membatch_invalidate(struct sgd *d);
/* dispatch.c, before a request other than members add/del. */
void membatch_before_request(struct sgd *d, const char *cmd, const char *sub);

#endif
