/*
 * drifttxn.c — what one nftables transaction did to our table.
 *
 * drift.c feeds every object event of a transaction here until its
 * NEWGEN; the events that concern our table (family inet, table name)
 * are added up per (operation, object kind, chain or set name), so that
 * a transaction of 3,000 rule deletions is said in one line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

#include "clock.h"
#include "engine.h"
#include "plan.h"

/* Newer kernels (6.3+) also have "destroy" (delete if present); older
 * uapi headers do not name them.  ABI values. */
enum {
	DRIFT_MSG_DESTROYTABLE = 26,
	DRIFT_MSG_DESTROYCHAIN,
	DRIFT_MSG_DESTROYRULE,
	DRIFT_MSG_DESTROYSET,
	DRIFT_MSG_DESTROYSETELEM,
	DRIFT_MSG_DESTROYOBJ,
	DRIFT_MSG_DESTROYFLOWTABLE,
};

static const char *drift_kind_word(enum drift_kind k)
{
	static const char *const w[] = { "table", "chain", "rule", "set",
					 "element", "object", "flowtable" };

	return w[k];
}

void drifttxn_reset(struct drift_txn *t)
{
	memset(t, 0, sizeof(*t));
}

static void drift_txn_add(struct drift_txn *t, enum drift_op op, enum drift_kind kind,
			  const char *name, unsigned long count, uint32_t flags)
{
	size_t i;

	if (!t->touches_table)
		t->first_ms = clock_now_ms();
	t->touches_table = true;
	if (kind == DK_TABLE && op == DRIFT_DEL)
		t->table_deleted = true;
	for (i = 0; i < t->n; i++)
		if (t->v[i].op == op && t->v[i].kind == kind &&
		    strcmp(t->v[i].name, name) == 0) {
			t->v[i].count += count;
			t->v[i].flags = flags;
			return;
		}
	if (t->n == DRIFT_MAX_ITEMS) {
		t->more++;
		return;
	}
	t->v[t->n] = (struct drift_item){ .op = op, .kind = kind, .count = count,
					  .flags = flags };
	snprintf(t->v[t->n].name, sizeof(t->v[t->n].name), "%s", name);
	t->n++;
}

/* Number of elements in a NEWSETELEM/DELSETELEM message. */
static unsigned long drift_count_elems(const struct nlattr *list)
{
	const struct nlattr *a;
	unsigned long n = 0;

	if (!list)
		return 0;
	mnl_attr_for_each_nested(a, list)
		n++;
	return n;
}

/* One object event: note it when it concerns our table. */
void drifttxn_on_object(struct drift_txn *t, const char *table,
			const struct nlmsghdr *nlh, uint16_t msg)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[8];
	enum drift_op op = DRIFT_ADD;
	enum drift_kind kind;
	const char *tname, *name = NULL;
	unsigned long count = 1;
	uint32_t flags = 0;
	bool anonymous = false;

	switch (msg) {
	case NFT_MSG_DELTABLE: case DRIFT_MSG_DESTROYTABLE:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWTABLE:
		kind = DK_TABLE;
		break;
	case NFT_MSG_DELCHAIN: case DRIFT_MSG_DESTROYCHAIN:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWCHAIN:
		kind = DK_CHAIN;
		break;
	case NFT_MSG_DELRULE: case DRIFT_MSG_DESTROYRULE:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWRULE:
		kind = DK_RULE;
		break;
	case NFT_MSG_DELSET: case DRIFT_MSG_DESTROYSET:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWSET:
		kind = DK_SET;
		break;
	case NFT_MSG_DELSETELEM: case DRIFT_MSG_DESTROYSETELEM:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWSETELEM:
		kind = DK_ELEM;
		break;
	case NFT_MSG_DELOBJ: case DRIFT_MSG_DESTROYOBJ:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWOBJ:
		kind = DK_OBJ;
		break;
	case NFT_MSG_DELFLOWTABLE: case DRIFT_MSG_DESTROYFLOWTABLE:
		op = DRIFT_DEL;
		/* fall through */
	case NFT_MSG_NEWFLOWTABLE:
		kind = DK_FLOWTABLE;
		break;
	default:
		return;		/* trace events and the like */
	}
	t->open = true;
	/* attribute 1 is the table name in every one of these objects */
	if (nfg->nfgen_family != NFPROTO_INET || driftfp_attrs(nlh, tb, 8) < 0)
		return;
	tname = driftfp_str(tb[1]);
	if (!tname || strcmp(tname, table) != 0)
		return;
	switch (kind) {
	case DK_TABLE:
		name = tname;
		if (tb[NFTA_TABLE_FLAGS] &&
		    mnl_attr_validate(tb[NFTA_TABLE_FLAGS], MNL_TYPE_U32) == 0)
			flags = ntohl(mnl_attr_get_u32(tb[NFTA_TABLE_FLAGS]));
		break;
	case DK_CHAIN:
		name = driftfp_str(tb[NFTA_CHAIN_NAME]);
		break;
	case DK_RULE:
		name = driftfp_str(tb[NFTA_RULE_CHAIN]);
		if (op == DRIFT_ADD && (nlh->nlmsg_flags & NLM_F_REPLACE))
			op = DRIFT_REPLACE;
		break;
	case DK_SET:
		name = driftfp_str(tb[NFTA_SET_NAME]);
		if (tb[NFTA_SET_FLAGS] &&
		    mnl_attr_validate(tb[NFTA_SET_FLAGS], MNL_TYPE_U32) == 0 &&
		    (ntohl(mnl_attr_get_u32(tb[NFTA_SET_FLAGS])) & NFT_SET_ANONYMOUS))
			anonymous = true;
		break;
	case DK_ELEM:
		name = driftfp_str(tb[NFTA_SET_ELEM_LIST_SET]);
		count = drift_count_elems(tb[NFTA_SET_ELEM_LIST_ELEMENTS]);
		/* "__set0", "__map1": nft's names for anonymous sets */
		anonymous = name && strncmp(name, "__", 2) == 0;
		break;
	case DK_OBJ:
		name = driftfp_str(tb[NFTA_OBJ_NAME]);
		break;
	case DK_FLOWTABLE:
		name = driftfp_str(tb[NFTA_FLOWTABLE_NAME]);
		break;
	}
	/* an anonymous set is part of its rule ("ip saddr { ... }"): the
	 * rule is what the summary names */
	if (anonymous) {
		if (!t->touches_table)
			t->first_ms = clock_now_ms();
		t->touches_table = true;
		return;
	}
	drift_txn_add(t, op, kind, name ? name : "?", count, flags);
}

static void drift_put(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void drift_put(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}

static void drift_describe(const struct drift_item *it, const char *table,
			   char *buf, size_t len, size_t *used)
{
	const char *w = drift_kind_word(it->kind);
	const char *s = it->count == 1 ? "" : "s";

	switch (it->kind) {
	case DK_TABLE:
		if (it->op == DRIFT_DEL)
			drift_put(buf, len, used, "deleted table inet %s", table);
		else
			drift_put(buf, len, used, "created or updated table inet %s%s",
				  table, it->flags & NFT_TABLE_F_DORMANT ?
				  " (dormant: switched off)" : "");
		return;
	case DK_RULE:
	case DK_ELEM:
		drift_put(buf, len, used, "%s %lu %s%s %s %s %s",
			  it->op == DRIFT_DEL ? "deleted" :
			  it->op == DRIFT_REPLACE ? "replaced" : "added",
			  it->count, w, s,
			  it->op == DRIFT_DEL ? "from" : it->op == DRIFT_REPLACE ?
			  "in" : "to", it->kind == DK_RULE ? "chain" : "set", it->name);
		return;
	case DK_CHAIN:
		drift_put(buf, len, used, "%s chain %s", it->op == DRIFT_DEL ?
			  "deleted" : "added or changed", it->name);
		return;
	default:
		drift_put(buf, len, used, "%s %s %s", it->op == DRIFT_DEL ?
			  "deleted" : "added", w, it->name);
		return;
	}
}

/* What the transaction did to our table, in one line.  A deleted table
 * is said once, with what went with it, instead of object by object. */
void drifttxn_summary(const struct drift_txn *t, const char *table,
		      char *buf, size_t len)
{
	unsigned long gone[DK_FLOWTABLE + 1] = { 0 };
	unsigned long more = t->more;
	size_t used = 0, i;
	bool full = false;
	char one[200];

	buf[0] = 0;
	if (t->table_deleted) {
		for (i = 0; i < t->n; i++)
			if (t->v[i].op == DRIFT_DEL)
				gone[t->v[i].kind] += t->v[i].count;
		drift_put(buf, len, &used, "deleted table inet %s (with %lu chain%s, "
			  "%lu rule%s, %lu set%s)", table,
			  gone[DK_CHAIN], gone[DK_CHAIN] == 1 ? "" : "s",
			  gone[DK_RULE], gone[DK_RULE] == 1 ? "" : "s",
			  gone[DK_SET], gone[DK_SET] == 1 ? "" : "s");
	}
	for (i = 0; i < t->n; i++) {
		size_t n = 0;

		if (t->table_deleted && t->v[i].op == DRIFT_DEL)
			continue;
		drift_describe(&t->v[i], table, one, sizeof(one), &n);
		/* keep room for the ", and N more changes" */
		if (full || used + n + 2 + 32 >= len) {
			full = true;
			more++;
			continue;
		}
		drift_put(buf, len, &used, "%s%s", used ? ", " : "", one);
	}
	if (more)
		drift_put(buf, len, &used, "%sand %lu more change%s", used ? ", " : "",
			  more, more == 1 ? "" : "s");
}

void drifttxn_newgen(const struct nlmsghdr *nlh, long *pid, const char **comm)
{
	const struct nlattr *tb[NFTA_GEN_MAX + 1];

	*pid = 0;
	*comm = "?";
	if (driftfp_attrs(nlh, tb, NFTA_GEN_MAX + 1) < 0)
		return;
	if (tb[NFTA_GEN_PROC_PID] &&
	    mnl_attr_validate(tb[NFTA_GEN_PROC_PID], MNL_TYPE_U32) == 0)
		*pid = (long)ntohl(mnl_attr_get_u32(tb[NFTA_GEN_PROC_PID]));
	if (driftfp_str(tb[NFTA_GEN_PROC_NAME]))
		*comm = driftfp_str(tb[NFTA_GEN_PROC_NAME]);
}
