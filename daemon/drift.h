/*
 * drift.h — private to drift.c, drifttxn.c and driftfp.c: what one
 * nftables transaction did to our table, and the fingerprint of the
 * table.  The daemon sees only drift_open/close/status (sgd.h).
 */
#ifndef SGD_DRIFT_H
#define SGD_DRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* The attributes (types below max) of an nftables message. 0 or -EINVAL. */
int driftfp_attrs(const struct nlmsghdr *nlh, const struct nlattr **tb, int max);
/* A NUL-terminated string attribute, or NULL. */
const char *driftfp_str(const struct nlattr *a);

#endif
