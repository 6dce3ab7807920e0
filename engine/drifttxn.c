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
/* What an object event is (its operation and kind); false for other
 * events (trace events and the like). */
static bool drift_classify(uint16_t msg, enum drift_op *op, enum drift_kind *kind)
{
	static const struct {
		uint16_t add, del, destroy;
		enum drift_kind kind;
	} m[] = {
		{ NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, DRIFT_MSG_DESTROYTABLE, DK_TABLE },
		{ NFT_MSG_NEWCHAIN, NFT_MSG_DELCHAIN, DRIFT_MSG_DESTROYCHAIN, DK_CHAIN },
		{ NFT_MSG_NEWRULE, NFT_MSG_DELRULE, DRIFT_MSG_DESTROYRULE, DK_RULE },
		{ NFT_MSG_NEWSET, NFT_MSG_DELSET, DRIFT_MSG_DESTROYSET, DK_SET },
		{ NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM, DRIFT_MSG_DESTROYSETELEM, DK_ELEM },
		{ NFT_MSG_NEWOBJ, NFT_MSG_DELOBJ, DRIFT_MSG_DESTROYOBJ, DK_OBJ },
		{ NFT_MSG_NEWFLOWTABLE, NFT_MSG_DELFLOWTABLE, DRIFT_MSG_DESTROYFLOWTABLE,
		  DK_FLOWTABLE },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (msg != m[i].add && msg != m[i].del && msg != m[i].destroy)
			continue;
		*op = msg == m[i].add ? DRIFT_ADD : DRIFT_DEL;
		*kind = m[i].kind;
		return true;
	}
	return false;
}

/* One object event of our table, as the summary counts it. */
struct drift_obj {
	enum drift_op op;
	enum drift_kind kind;
	const char *name;	/* NULL when the event does not say */
	unsigned long count;
	uint32_t flags;
	bool anonymous;		/* an anonymous set or its elements */
};

/* Fill o from the event's attributes tb (tname: our table's name). */
static void drift_decode(const struct nlmsghdr *nlh, const struct nlattr **tb,
			 const char *tname, struct drift_obj *o)
{
	switch (o->kind) {
	case DK_TABLE:
		o->name = tname;
		if (tb[NFTA_TABLE_FLAGS] &&
		    mnl_attr_validate(tb[NFTA_TABLE_FLAGS], MNL_TYPE_U32) == 0)
			o->flags = ntohl(mnl_attr_get_u32(tb[NFTA_TABLE_FLAGS]));
		break;
	case DK_CHAIN:
		o->name = driftfp_str(tb[NFTA_CHAIN_NAME]);
		break;
	case DK_RULE:
		o->name = driftfp_str(tb[NFTA_RULE_CHAIN]);
		if (o->op == DRIFT_ADD && (nlh->nlmsg_flags & NLM_F_REPLACE))
			o->op = DRIFT_REPLACE;
		break;
	case DK_SET:
		o->name = driftfp_str(tb[NFTA_SET_NAME]);
		if (tb[NFTA_SET_FLAGS] &&
		    mnl_attr_validate(tb[NFTA_SET_FLAGS], MNL_TYPE_U32) == 0 &&
		    (ntohl(mnl_attr_get_u32(tb[NFTA_SET_FLAGS])) & NFT_SET_ANONYMOUS))
			o->anonymous = true;
		break;
	case DK_ELEM:
		o->name = driftfp_str(tb[NFTA_SET_ELEM_LIST_SET]);
		o->count = drift_count_elems(tb[NFTA_SET_ELEM_LIST_ELEMENTS]);
		/* "__set0", "__map1": nft's names for anonymous sets */
		o->anonymous = o->name && strncmp(o->name, "__", 2) == 0;
		break;
	case DK_OBJ:
		o->name = driftfp_str(tb[NFTA_OBJ_NAME]);
		break;
	case DK_FLOWTABLE:
		o->name = driftfp_str(tb[NFTA_FLOWTABLE_NAME]);
		break;
	}
}

void drifttxn_on_object(struct drift_txn *t, const char *table,
			const struct nlmsghdr *nlh, uint16_t msg)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[8];
	struct drift_obj o = { .count = 1 };
	const char *tname;

	if (!drift_classify(msg, &o.op, &o.kind))
		return;
	t->open = true;
	/* attribute 1 is the table name in every one of these objects */
	if (nfg->nfgen_family != NFPROTO_INET || driftfp_attrs(nlh, tb, 8) < 0)
		return;
	tname = driftfp_str(tb[1]);
	if (!tname || strcmp(tname, table) != 0)
		return;
	drift_decode(nlh, tb, tname, &o);
	/* an anonymous set is part of its rule ("ip saddr { ... }"): the
	 * rule is what the summary names */
	if (o.anonymous) {
		if (!t->touches_table)
			t->first_ms = clock_now_ms();
		t->touches_table = true;
		return;
	}
	drift_txn_add(t, o.op, o.kind, o.name ? o.name : "?", o.count, o.flags);
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
