/*
 * engine.h — the kernel-facing half of sgd: compile (model -> libnftnl
 * objects, no kernel access) and commit (one netlink transaction).
 *
 * compile_*.c build a struct sg_plan; commit.c / nl.c send it.  The
 * daemon (main.c, control.c) only calls the functions below.
 */
#ifndef SGD_ENGINE_H
#define SGD_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include "model.h"
#include "diag.h"

struct sg_engine;

/* Open the netlink socket(s) for table `table` (family inet).  0 or -errno. */
int engine_open(struct sg_engine **out, const char *table);
void engine_close(struct sg_engine *e);

/* Replace the whole content of our table with cfg + members, in ONE kernel
 * transaction.  On any error (including a kernel refusal) the kernel is
 * unchanged; diags say which group/rule/file:line was refused and why.
 * Returns 0 or -errno. */
int engine_apply(struct sg_engine *e, const struct sg_config *cfg,
		 const struct sg_members *m, struct sg_diags *diags);

/* Change the members of one group as a set-element delta (one transaction,
 * no rule change).  old and new are the group's effective member lists
 * before and after; the engine sends only the difference.  0 or -errno. */
int engine_members_update(struct sg_engine *e, const struct sg_config *cfg,
			  int group_idx, const struct sg_cidr_list *old,
			  const struct sg_cidr_list *new_, struct sg_diags *diags);

/* One kernel set-element operation: add or delete the block c in the set
 * of its family (c must be a top-level member, see compile_sets.c). */
struct sg_member_op {
	struct sg_cidr c;
	bool del;
};

/* The element operations of one group, in the order they must happen. */
struct sg_member_delta {
	int group_idx;
	const struct sg_member_op *ops;
	size_t n;
};

/* Send explicit element adds/deletes for one or more groups as ONE
 * transaction (engine_delta.c): nothing is read back, nothing else is
 * re-sent.  On any error the kernel is unchanged.  0 or -errno. */
int engine_members_delta(struct sg_engine *e, const struct sg_config *cfg,
			 const struct sg_member_delta *v, size_t n,
			 struct sg_diags *diags);

/* Read every counter of our table.  *out is malloc'd (free()); 0 or -errno. */
int engine_read_counters(struct sg_engine *e, const struct sg_config *cfg,
			 struct sg_counter **out, size_t *n);

/* The netlink port id of the engine's socket: nftables events (NEWGEN)
 * carry it for every transaction the engine commits, which is how
 * drift.c tells our commits from others'. */
uint32_t engine_portid(const struct sg_engine *e);

/* How many transactions the kernel accepted from this engine: each moved
 * the generation by one. */
unsigned long engine_commits(const struct sg_engine *e);

/* The kernel's nftables generation now.  0 or -errno. */
int engine_genid(struct sg_engine *e, uint32_t *genid);

/* Someone else changed our table (drift.c), or may have (lost events):
 * the kernel may no longer hold what the engine last committed, so the
 * next engine_apply replaces everything instead of sending deltas
 * against that commit. */
void engine_invalidate(struct sg_engine *e);

/* What the kernel holds of our table (engine_table.c). */
struct sg_table_info {
	bool present;
	size_t chains;		/* regular chains (not input/output) */
	size_t sets;		/* named sets */
	size_t rules;		/* in every chain */
};

/* Read it: 0 (out->present false when there is no such table) or -errno
 * (-EPERM without CAP_NET_ADMIN). */
int engine_inspect(struct sg_engine *e, struct sg_table_info *out);

/* Delete our whole table in one transaction (`sgctl disable`): 0,
 * -ENOENT when it is not there, or -errno.  The next engine_apply builds
 * everything again. */
int engine_remove(struct sg_engine *e);

#endif
