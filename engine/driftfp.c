/*
 * driftfp.c — a fingerprint of our table, to notice changes whose events
 * were lost (ENOBUFS on the event socket, see drift.c).
 *
 * The fingerprint is the sorted list of what identifies the table's
 * structure: the table and its flags, every chain (with hook, priority
 * and policy for base chains), every named set, and every rule by chain
 * and handle.  A rule handle is never reused within a table, so a rule
 * that was deleted, added or replaced shows as a difference even when the
 * rule text is the same.  Set elements are not part of it: they change
 * with every membership update.
 *
 * It is read on drift.c's own netlink socket (never the engine's, whose
 * acks must not mix with our dumps) with the engine's dump (nldump.c):
 * GETGEN, the dumps, GETGEN again (nldump_consistent); only when both
 * generations agree is the fingerprint one consistent state, tagged with
 * that generation.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

#include "engine.h"
#include "plan.h"

#define DRIFTFP_MAX_ATTR 32	/* > every NFTA_*_MAX we parse */

struct driftfp_ctx {
	const char *table;
	struct drift_fp *fp;
	int err;		/* why a callback gave up */
};

static int driftfp_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type < DRIFTFP_MAX_ATTR)
		tb[type] = a;
	return MNL_CB_OK;
}

int driftfp_attrs(const struct nlmsghdr *nlh, const struct nlattr **tb, int max)
{
	const struct nlattr *all[DRIFTFP_MAX_ATTR] = { 0 };
	int i;

	if (max > DRIFTFP_MAX_ATTR)
		return -EINVAL;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
		return -EINVAL;
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), driftfp_attr_cb, all) < 0)
		return -EINVAL;
	for (i = 0; i < max; i++)
		tb[i] = all[i];
	return 0;
}

const char *driftfp_str(const struct nlattr *a)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return NULL;
	return mnl_attr_get_str(a);
}

static uint32_t driftfp_u32(const struct nlattr *a)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return 0;
	return ntohl(mnl_attr_get_u32(a));
}

static int driftfp_push(struct drift_fp *fp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int driftfp_push(struct drift_fp *fp, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (fp->n == fp->cap) {
		size_t cap = fp->cap ? fp->cap * 2 : 64;
		char **v = realloc(fp->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		fp->v = v;
		fp->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	fp->v[fp->n++] = s;
	return 0;
}

void driftfp_free(struct drift_fp *fp)
{
	size_t i;

	for (i = 0; i < fp->n; i++)
		free(fp->v[i]);
	free(fp->v);
	memset(fp, 0, sizeof(*fp));
}

/* Is this message about our table (family inet, table attribute 1)? */
static bool driftfp_ours(const struct nlmsghdr *nlh, const struct nlattr *tab,
			 const char *table)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const char *name = driftfp_str(tab);

	return nfg->nfgen_family == NFPROTO_INET && name && strcmp(name, table) == 0;
}

/* table (flags: dormant would switch our firewall off) */
static int driftfp_table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct driftfp_ctx *c = data;
	const struct nlattr *tb[NFTA_TABLE_MAX + 1];

	if (driftfp_attrs(nlh, tb, NFTA_TABLE_MAX + 1) < 0)
		return MNL_CB_ERROR;
	if (!driftfp_ours(nlh, tb[NFTA_TABLE_NAME], c->table))
		return MNL_CB_OK;
	c->err = driftfp_push(c->fp, "table flags %" PRIu32,
			      driftfp_u32(tb[NFTA_TABLE_FLAGS]));
	return c->err ? MNL_CB_ERROR : MNL_CB_OK;
}

static int driftfp_chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct driftfp_ctx *c = data;
	const struct nlattr *tb[NFTA_CHAIN_MAX + 1];
	const struct nlattr *hk[NFTA_HOOK_MAX + 1] = { 0 };
	const char *name;

	if (driftfp_attrs(nlh, tb, NFTA_CHAIN_MAX + 1) < 0)
		return MNL_CB_ERROR;
	name = driftfp_str(tb[NFTA_CHAIN_NAME]);
	if (!name || !driftfp_ours(nlh, tb[NFTA_CHAIN_TABLE], c->table))
		return MNL_CB_OK;
	if (!tb[NFTA_CHAIN_HOOK]) {
		c->err = driftfp_push(c->fp, "chain %s", name);
		return c->err ? MNL_CB_ERROR : MNL_CB_OK;
	}
	if (mnl_attr_parse_nested(tb[NFTA_CHAIN_HOOK], driftfp_attr_cb, hk) < 0)
		return MNL_CB_ERROR;
	c->err = driftfp_push(c->fp, "chain %s (hook %" PRIu32 " priority %" PRId32
			      " policy %s)", name, driftfp_u32(hk[NFTA_HOOK_HOOKNUM]),
			      (int32_t)driftfp_u32(hk[NFTA_HOOK_PRIORITY]),
			      driftfp_u32(tb[NFTA_CHAIN_POLICY]) == NF_DROP ?
			      "drop" : "accept");
	return c->err ? MNL_CB_ERROR : MNL_CB_OK;
}

static int driftfp_set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct driftfp_ctx *c = data;
	const struct nlattr *tb[NFTA_SET_MAX + 1];
	const char *name;

	if (driftfp_attrs(nlh, tb, NFTA_SET_MAX + 1) < 0)
		return MNL_CB_ERROR;
	name = driftfp_str(tb[NFTA_SET_NAME]);
	/* anonymous sets belong to their rule, whose handle covers them */
	if (!name || !driftfp_ours(nlh, tb[NFTA_SET_TABLE], c->table) ||
	    (driftfp_u32(tb[NFTA_SET_FLAGS]) & NFT_SET_ANONYMOUS))
		return MNL_CB_OK;
	c->err = driftfp_push(c->fp, "set %s", name);
	return c->err ? MNL_CB_ERROR : MNL_CB_OK;
}

static int driftfp_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct driftfp_ctx *c = data;
	const struct nlattr *tb[NFTA_RULE_MAX + 1];
	const char *chain;
	uint64_t handle;

	if (driftfp_attrs(nlh, tb, NFTA_RULE_MAX + 1) < 0)
		return MNL_CB_ERROR;
	chain = driftfp_str(tb[NFTA_RULE_CHAIN]);
	if (!chain || !tb[NFTA_RULE_HANDLE] ||
	    mnl_attr_validate(tb[NFTA_RULE_HANDLE], MNL_TYPE_U64) < 0 ||
	    !driftfp_ours(nlh, tb[NFTA_RULE_TABLE], c->table))
		return MNL_CB_OK;
	handle = be64toh(mnl_attr_get_u64(tb[NFTA_RULE_HANDLE]));
	/* chain first, so that the rules of a chain sort together */
	c->err = driftfp_push(c->fp, "rule in chain %s\t%" PRIu64, chain, handle);
	return c->err ? MNL_CB_ERROR : MNL_CB_OK;
}

static int driftfp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One try of driftfp_take (nldump_consistent's read): what an earlier
 * try read is discarded first. */
static int driftfp_read(const struct nl_conn *conn, void *data)
{
	static const struct {
		uint16_t type;
		mnl_cb_t cb;
	} dumps[] = {
		{ NFT_MSG_GETTABLE, driftfp_table_cb },
		{ NFT_MSG_GETCHAIN, driftfp_chain_cb },
		{ NFT_MSG_GETSET, driftfp_set_cb },
		{ NFT_MSG_GETRULE, driftfp_rule_cb },
	};
	struct driftfp_ctx *c = data;
	size_t i;
	int rc;

	driftfp_free(c->fp);
	for (i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		c->err = 0;
		/* GETTABLE takes no table filter: it dumps every inet
		 * table and the callback picks ours */
		rc = nldump_request(conn, dumps[i].type, NLM_F_DUMP, NFPROTO_INET,
				    dumps[i].type != NFT_MSG_GETTABLE, dumps[i].cb, c);
		if (rc && c->err)
			rc = c->err;
		if (rc == -ENOENT)
			rc = 0;		/* the table is gone: nothing in it */
		if (rc)
			return rc;
	}
	return 0;
}

int driftfp_take(struct mnl_socket *nl, uint32_t *seq, const char *table,
		 struct drift_fp *out)
{
	struct nl_conn conn = { .nl = nl, .seq = seq, .table = table };
	struct driftfp_ctx c = { .table = table, .fp = out };
	uint32_t genid;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = nldump_consistent(&conn, driftfp_read, &c, &genid);
	if (rc) {
		driftfp_free(out);
		return rc;
	}
	out->genid = genid;
	qsort(out->v, out->n, sizeof(*out->v), driftfp_cmp);
	return 0;
}

/* A run of differences of one kind: "missing" rules of one chain, or a
 * single other entry. */
struct driftfp_run {
	const char *sign;
	const char *first;	/* its first entry */
	size_t n;
};

/* The length of a rule entry's "rule in chain NAME" part; 0 for others. */
static size_t driftfp_rule_prefix(const char *e)
{
	const char *tab = strrchr(e, '\t');

	return strncmp(e, "rule ", 5) == 0 && tab ? (size_t)(tab - e) : 0;
}

/* Append one run to the description ("missing rule 44 in chain input",
 * "extra 3 rules in chain input", "missing set peer_app_v4"), or count
 * it when there is no room left. */
static void driftfp_say(char *buf, size_t len, size_t *used, size_t *left_out,
			const struct driftfp_run *run)
{
	char what[400];
	size_t plen;
	int n;

	if (!run->n)
		return;
	plen = driftfp_rule_prefix(run->first);
	if (plen && run->n > 1)
		snprintf(what, sizeof(what), "%s %zu rules%.*s", run->sign, run->n,
			 (int)(plen - 4), run->first + 4);
	else if (plen)
		snprintf(what, sizeof(what), "%s rule %s%.*s", run->sign,
			 run->first + plen + 1, (int)(plen - 4), run->first + 4);
	else
		snprintf(what, sizeof(what), "%s %s", run->sign, run->first);
	if (*left_out || *used + strlen(what) + 32 > len) {
		(*left_out)++;
		return;
	}
	n = snprintf(buf + *used, len - *used, "%s%s", *used ? "; " : "", what);
	if (n > 0)
		*used += (size_t)n;
}

size_t driftfp_compare(const struct drift_fp *old, const struct drift_fp *cur,
		       char *buf, size_t len)
{
	struct driftfp_run run = { 0 };
	size_t i = 0, k = 0, diffs = 0, used = 0, left_out = 0;

	if (len)
		buf[0] = 0;
	while (i < old->n || k < cur->n) {
		int c = i == old->n ? 1 : k == cur->n ? -1 :
			strcmp(old->v[i], cur->v[k]);
		const char *e, *sign;
		size_t plen;

		if (c == 0) {
			i++;
			k++;
			continue;
		}
		diffs++;
		e = c < 0 ? old->v[i++] : cur->v[k++];
		sign = c < 0 ? "missing" : "extra";
		plen = driftfp_rule_prefix(e);
		/* rules of the same chain, same sign: one run */
		if (run.n && plen && run.sign == sign &&
		    driftfp_rule_prefix(run.first) == plen &&
		    strncmp(run.first, e, plen) == 0) {
			run.n++;
			continue;
		}
		driftfp_say(buf, len, &used, &left_out, &run);
		run = (struct driftfp_run){ .sign = sign, .first = e, .n = 1 };
	}
	driftfp_say(buf, len, &used, &left_out, &run);
	if (left_out && used + 32 < len)
		snprintf(buf + used, len - used, "%s%zu more", used ? "; and " : "",
			 left_out);
	return diffs;
}
