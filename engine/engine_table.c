/*
 * engine_table.c — our table as a whole: what the kernel holds of it
 * (engine_inspect, also used by sgctl when sgd is not running) and its
 * removal in one transaction (engine_remove, `sgctl disable`).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include "engine.h"
#include "plan.h"

/* Wait for the kernel's ack of message seq: 0 or its -errno. */
static int engine_table_ack(struct sg_engine *e, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int rc;

	do {
		ssize_t n = mnl_socket_recvfrom(e->nl, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		errno = 0;
		rc = mnl_cb_run(buf, (size_t)n, seq, e->portid, NULL, NULL);
		if (rc < 0)
			return errno ? -errno : -EIO;
	} while (rc > MNL_CB_STOP);
	return 0;
}

/* Is table inet <e->table> there?  1 yes, 0 no, -errno. */
static int engine_table_exists(struct sg_engine *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	uint32_t seq = e->seq++;
	int rc;

	if (!t)
		return -ENOMEM;
	memset(buf, 0, sizeof(buf));
	/* nft list table inet <table> (the reply is only counted) */
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, e->table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET,
				    NLM_F_ACK, seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	if (mnl_socket_sendto(e->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	rc = engine_table_ack(e, seq);
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : 1;
}

static int engine_count_rule(const struct nftnl_rule *r, void *data)
{
	(*(size_t *)data)++;
	return 0;
}

int engine_inspect(struct sg_engine *e, struct sg_table_info *out)
{
	struct nl_conn c = nldump_conn(e);
	struct nl_state st;
	int rc = -EINTR;

	memset(out, 0, sizeof(*out));
	rc = engine_table_exists(e);
	if (rc <= 0)
		return rc;
	out->present = true;
	rc = nldump_state(&c, &st);
	if (rc < 0)
		return rc;
	out->chains = st.n_chains;
	out->sets = st.n_sets;
	nldump_state_free(&st);
	/* a rule dump cut by a concurrent commit is taken again */
	rc = -EINTR;
	for (int i = 0; i < NLDUMP_TRIES && rc == -EINTR; i++) {
		out->rules = 0;
		rc = nldump_rules(&c, engine_count_rule, &out->rules);
	}
	return rc;
}

int engine_remove(struct sg_engine *e)
{
	char buf[3 * MNL_SOCKET_BUFFER_SIZE];
	struct mnl_nlmsg_batch *b;
	struct nftnl_table *t;
	struct nlmsghdr *nlh;
	uint32_t seq;
	int rc;

	t = nftnl_table_alloc();
	if (!t)
		return -ENOMEM;
	/* padding libmnl does not write must not carry stack bytes */
	memset(buf, 0, sizeof(buf));
	b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), e->seq++);
	mnl_nlmsg_batch_next(b);
	/* delete table inet <table>: chains, rules and sets go with it */
	seq = e->seq++;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, e->table);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_DELTABLE,
				    NFPROTO_INET, NLM_F_ACK, seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	mnl_nlmsg_batch_next(b);
	nftnl_batch_end(mnl_nlmsg_batch_current(b), e->seq++);
	mnl_nlmsg_batch_next(b);
	if (mnl_socket_sendto(e->nl, mnl_nlmsg_batch_head(b),
			      mnl_nlmsg_batch_size(b)) < 0) {
		rc = -errno;
		mnl_nlmsg_batch_stop(b);
		return rc;
	}
	mnl_nlmsg_batch_stop(b);
	rc = engine_table_ack(e, seq);
	if (rc == 0) {
		e->commits++;	/* one more generation (drift.c) */
		/* nothing of the last commit is left to build deltas on */
		e->stale = true;
		e->skeleton_valid = false;
	}
	return rc;
}
