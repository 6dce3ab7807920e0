/*
 * engine.h — the kernel-facing half of sgd, and the one header of engine/
 * that other folders include: compile (model -> libnftnl objects, no
 * kernel access), commit (netlink transactions), read back (counters,
 * the table's state) and the kernel half of drift (event decoding, the
 * table's fingerprint).
 *
 * compile*.c build a struct sg_plan (plan.h, private to engine/);
 * commit.c sends it, nldump.c reads the kernel back; engine*.c,
 * setdelta.c and counters.c implement the functions below.  Callers:
 * the daemon (reload.c, drift.c, membatch.c, membersd.c, disable.c,
 * dispatch.c, main.c), sgctl (cmd_query.c: status without the daemon)
 * and the test tool tests/tools/sgd-apply.c.
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

/* Replace the whole content of our table with cfg + members.  The
 * ruleset switches in ONE kernel transaction (the rules and every set a
 * rule sees change at once), but up to three transactions are sent
 * (engine.c, engine_apply_split): when the kernel holds our last commit,
 * the additions to kept interval (pipapo) sets go first, in their own
 * transaction (engine_reuse.c says why), then the ruleset, then, when
 * the rules changed, the deletions from kept sets (commit.c,
 * commit_plan_post).  If the ruleset is refused, the additions are taken
 * back and the kernel holds what it held before; if only the deletions
 * fail, the new ruleset is in with old elements beside it and the next
 * call replaces the whole table.  diags say which group/rule/file:line
 * was refused and why.  Returns 0 or -errno. */
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

/* ---- Watching our table for changes by others (the kernel half of
 * drift; the daemon's drift.c holds the sockets and the policy) ---- */
struct mnl_socket;
struct nlmsghdr;
struct nlattr;

#define DRIFT_MAX_ITEMS		32

enum drift_op { DRIFT_ADD, DRIFT_DEL, DRIFT_REPLACE };
enum drift_kind { DK_TABLE, DK_CHAIN, DK_RULE, DK_SET, DK_ELEM, DK_OBJ, DK_FLOWTABLE };

/* "added 3 rules to chain input": one line of a summary. */
struct drift_item {
	enum drift_op op;
	enum drift_kind kind;
	char name[64];		/* chain of a rule, set of an element, ... */
	unsigned long count;
	uint32_t flags;		/* table flags (dormant) */
};

/* The events of the transaction being received. */
struct drift_txn {
	bool open;		/* some event arrived since the last NEWGEN */
	bool touches_table;	/* some of them concern our table */
	bool table_deleted;
	struct drift_item v[DRIFT_MAX_ITEMS];
	size_t n;
	unsigned long more;	/* items that did not fit */
	long long first_ms;	/* when its first event arrived */
};

/* drifttxn.c */
void drifttxn_reset(struct drift_txn *t);
/* Add one object event (msg = NFT_MSG_*) to t when it concerns table
 * (family inet); every object event marks t open. */
void drifttxn_on_object(struct drift_txn *t, const char *table,
			const struct nlmsghdr *nlh, uint16_t msg);
/* The process that committed the transaction a NEWGEN event ends:
 * *pid (0 when the event does not say) and *comm ("?"; points into
 * nlh). */
void drifttxn_newgen(const struct nlmsghdr *nlh, long *pid, const char **comm);
/* What t did to our table, in one line ("added 1 rule to chain input,
 * deleted set peer_web_v4"). */
void drifttxn_summary(const struct drift_txn *t, const char *table,
		      char *buf, size_t len);

/* driftfp.c */
/* The structure of our table: sorted "table flags N", "chain NAME ...",
 * "set NAME", "rule in chain NAME\tHANDLE", read at generation genid. */
struct drift_fp {
	char **v;
	size_t n, cap;
	uint32_t genid;
};
/* Read it consistently (one generation) on nl.  0 or -errno. */
int driftfp_take(struct mnl_socket *nl, uint32_t *seq, const char *table,
		 struct drift_fp *out);
void driftfp_free(struct drift_fp *fp);
/* Differences of cur against old ("missing X; extra Y; ..."), at most len
 * bytes into buf; returns how many there are. */
size_t driftfp_compare(const struct drift_fp *old, const struct drift_fp *cur,
		       char *buf, size_t len);

#endif
