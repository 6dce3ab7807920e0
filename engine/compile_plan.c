/*
 * compile_plan.c — the plan container: append, free, print, serialize.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <libnftnl/common.h>
#include <libnftnl/udata.h>
#include "plan.h"
#include "flat.h"
#include "nft_abi.h"

/* input and output: policy drop, but the final drop rule is what we rely
 * on (a base chain's policy is not switched atomically with its rules).
 * forward_in and forward_out: policy accept, since traffic that is not a
 * local container's is not theirs to judge (compile_forward.c); their
 * priority -200 puts them before every chain at the usual forward
 * priorities (mangle -150, filter 0, security 50): Docker's chains, a
 * flowtable's `flow add`, a queue, see only what sgd let through. */
const struct plan_base plan_bases[PLAN_N_BASES] = {
	[PLAN_BASE_IN] = { "input", NF_INET_LOCAL_IN, 0, NF_DROP },
	[PLAN_BASE_OUT] = { "output", NF_INET_LOCAL_OUT, 0, NF_DROP },
	[PLAN_BASE_FWD_IN] = { "forward_in", NF_INET_FORWARD, -200, NF_ACCEPT },
	[PLAN_BASE_FWD_OUT] = { "forward_out", NF_INET_FORWARD, -200, NF_ACCEPT },
};

int plan_base_find(const char *name)
{
	int i;

	for (i = 0; i < PLAN_N_BASES; i++)
		if (strcmp(plan_bases[i].name, name) == 0)
			return i;
	return -1;
}

void plan_init(struct sg_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
}

static void plan_msg_free(struct plan_msg *m)
{
	switch (m->kind) {
	case PLAN_TABLE:
		nftnl_table_free(m->o.table);
		break;
	case PLAN_BASECHAIN:
	case PLAN_CHAIN:
		nftnl_chain_free(m->o.chain);
		break;
	case PLAN_SET:
	case PLAN_ELEMS:
		nftnl_set_free(m->o.set);
		break;
	case PLAN_RULE:
		nftnl_rule_free(m->o.rule);
		break;
	case PLAN_FLATELEMS:
		break;		/* points into plan->flat */
	case PLAN_CIDRELEMS:
		free(m->o.cidrs);
		break;
	}
}

void plan_free(struct sg_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n; i++)
		plan_msg_free(&plan->v[i]);
	free(plan->v);
	free(plan->table);
	flat_free(plan->flat);
	flat_free(plan->flat_delta);
	for (i = 0; i < plan->n_keep; i++)
		free(plan->keep_sets[i]);
	free(plan->keep_sets);
	plan_init(plan);
}

int plan_add(struct sg_plan *plan, enum plan_kind kind, void *obj,
	     const struct plan_origin *origin)
{
	struct plan_msg m = { .kind = kind };

	if (kind == PLAN_FLATELEMS)
		m.o.fset = obj;
	else if (kind == PLAN_CIDRELEMS)
		m.o.cidrs = obj;
	else
		m.o.table = obj;	/* every member is a pointer */
	if (plan->n == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 64;
		struct plan_msg *v = realloc(plan->v, cap * sizeof(*v));

		if (!v) {
			plan_msg_free(&m);
			return -ENOMEM;
		}
		plan->v = v;
		plan->cap = cap;
	}
	if (origin)
		m.origin = *origin;
	plan->v[plan->n++] = m;
	return 0;
}

/* Cut s to at most max bytes without splitting a UTF-8 sequence. */
static size_t plan_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

struct nftnl_rule *plan_rule_new(const struct sg_plan *plan, const char *chain,
				 const char *tag, const char *comment)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ud;
	char text[ABI_USERDATA_MAXLEN];
	size_t room, n;

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, plan->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (!tag && !comment)
		return r;
	ud = nftnl_udata_buf_alloc(ABI_USERDATA_MAXLEN);
	if (!ud) {
		nftnl_rule_free(r);
		return NULL;
	}
	/* the kernel caps udata at 256 bytes: the tag always fits (it is
	 * short), the comment is shortened to what is left */
	room = ABI_USERDATA_MAXLEN - 2 - 1 - (tag ? strlen(tag) + 3 : 0);
	if (comment && room > 1) {
		n = plan_utf8_cut(comment, room - 1);
		memcpy(text, comment, n);
		text[n] = '\0';
		nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, text);
	}
	if (tag)
		nftnl_udata_put_strz(ud, ABI_UDATA_RULE_SGD_TAG, tag);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
			    nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
	return r;
}

static const char *plan_kind_name(const struct plan_msg *m)
{
	static const char *const names[] = {
		[PLAN_TABLE] = "table", [PLAN_BASECHAIN] = "chain",
		[PLAN_SET] = "set", [PLAN_ELEMS] = "elements",
		[PLAN_CHAIN] = "chain", [PLAN_RULE] = "rule",
		[PLAN_FLATELEMS] = "elements", [PLAN_CIDRELEMS] = "elements",
	};

	if ((m->kind == PLAN_ELEMS || m->kind == PLAN_CIDRELEMS) && m->del)
		return "delete elements";
	return names[m->kind];
}

/* "set in4.tcp.exact 0a000001000000160000 ..." : one key (and end) per
 * element, hex */
static void plan_flat_text(char *buf, size_t cap, const struct plan_msg *m)
{
	const struct flat_set *s = m->o.fset;
	size_t off, i, k;

	off = (size_t)snprintf(buf, cap, "set %s: %zu elements", s->name, m->count);
	for (i = m->first; i < m->first + m->count && off + 100 < cap; i++) {
		off += (size_t)snprintf(buf + off, cap - off, "\n  ");
		if (s->v[i].end_only) {
			off += (size_t)snprintf(buf + off, cap - off, "end ");
			for (k = 0; k < s->klen; k++)
				off += (size_t)snprintf(buf + off, cap - off, "%02x",
							s->v[i].end[k]);
			continue;
		}
		for (k = 0; k < s->klen; k++)
			off += (size_t)snprintf(buf + off, cap - off, "%02x", s->v[i].key[k]);
		if ((s->kind == FLAT_ADDR || s->kind == FLAT_PORT) && !s->v[i].has_end)
			continue;
		off += (size_t)snprintf(buf + off, cap - off, " - ");
		for (k = 0; k < s->klen; k++)
			off += (size_t)snprintf(buf + off, cap - off, "%02x", s->v[i].end[k]);
		if (s->kind == FLAT_ADDR || s->kind == FLAT_PORT)
			off += (size_t)snprintf(buf + off, cap - off, " (exclusive)");
	}
}

/* "set peer_app_v4: 2 blocks\n  10.0.0.0/8\n  192.0.2.1/32" */
static void plan_cidr_text(char *buf, size_t cap, const struct plan_msg *m)
{
	const struct plan_cidrs *c = m->o.cidrs;
	char a[INET6_ADDRSTRLEN];
	size_t off, i;

	off = (size_t)snprintf(buf, cap, "set %s: %zu blocks", c->set, c->n);
	for (i = 0; i < c->n && off + 100 < cap; i++) {
		inet_ntop(c->af, c->v[i].addr.bytes, a, sizeof(a));
		off += (size_t)snprintf(buf + off, cap - off, "\n  %s/%u", a,
					(unsigned)c->v[i].prefix);
	}
}

int plan_print(FILE *f, const struct sg_plan *plan)
{
	size_t cap = 1 << 16, i;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < plan->n; i++) {
		const struct plan_msg *m = &plan->v[i];

		switch (m->kind) {
		case PLAN_TABLE:
			nftnl_table_snprintf(buf, cap, m->o.table, NFTNL_OUTPUT_DEFAULT, 0);
			break;
		case PLAN_BASECHAIN:
		case PLAN_CHAIN:
			nftnl_chain_snprintf(buf, cap, m->o.chain, NFTNL_OUTPUT_DEFAULT, 0);
			break;
		case PLAN_SET:
		case PLAN_ELEMS:
			nftnl_set_snprintf(buf, cap, m->o.set, NFTNL_OUTPUT_DEFAULT, 0);
			break;
		case PLAN_RULE:
			nftnl_rule_snprintf(buf, cap, m->o.rule, NFTNL_OUTPUT_DEFAULT, 0);
			break;
		case PLAN_FLATELEMS:
			plan_flat_text(buf, cap, m);
			break;
		case PLAN_CIDRELEMS:
			plan_cidr_text(buf, cap, m);
			break;
		}
		fprintf(f, "# %s: %s\n%s\n", plan_kind_name(m), m->origin.what, buf);
	}
	free(buf);
	return ferror(f) ? -EIO : 0;
}

int plan_msg_build(const struct sg_plan *plan, size_t i, char *buf, size_t len,
		   uint32_t seq)
{
	const struct plan_msg *m = &plan->v[i];
	struct nlmsghdr *nlh;
	uint16_t flags = NLM_F_ACK;

	/* the largest message (PLAN_ELEMS_PER_MSG ipv6 elements, or a rule)
	 * stays under 32 KiB; callers give at least that */
	if (len < 32768)
		return -ENOSPC;
	switch (m->kind) {
	case PLAN_TABLE:
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWTABLE, NFPROTO_INET,
					    flags | NLM_F_CREATE, seq);
		nftnl_table_nlmsg_build_payload(nlh, m->o.table);
		break;
	case PLAN_BASECHAIN:
	case PLAN_CHAIN:
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, NFPROTO_INET,
					    flags | NLM_F_CREATE, seq);
		nftnl_chain_nlmsg_build_payload(nlh, m->o.chain);
		break;
	case PLAN_SET:
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, NFPROTO_INET,
					    flags | NLM_F_CREATE, seq);
		nftnl_set_nlmsg_build_payload(nlh, m->o.set);
		break;
	case PLAN_ELEMS:
		nlh = nftnl_nlmsg_build_hdr(buf, m->del ? NFT_MSG_DELSETELEM :
					    NFT_MSG_NEWSETELEM, NFPROTO_INET,
					    m->del ? flags : flags | NLM_F_CREATE, seq);
		nftnl_set_elems_nlmsg_build_payload(nlh, m->o.set);
		break;
	case PLAN_RULE:
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET,
					    flags | NLM_F_CREATE | NLM_F_APPEND, seq);
		nftnl_rule_nlmsg_build_payload(nlh, m->o.rule);
		break;
	case PLAN_FLATELEMS:
	case PLAN_CIDRELEMS:
		return m->build ? m->build(plan, m, buf, len, seq) : -EINVAL;
	default:
		return -EINVAL;
	}
	return (int)nlh->nlmsg_len;
}
