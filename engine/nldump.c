/*
 * nldump.c — read back what the kernel holds: the ruleset generation, the
 * chains and sets of our table, its rules, a set's elements.  Dumps are
 * filtered to our table by the kernel (and checked again here); nothing
 * else is read.  Every read takes a connection (struct nl_conn), not the
 * engine: the engine reads on its own socket, drift's fingerprint
 * (driftfp.c) on drift's, whose replies must not mix with the engine's
 * acks.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include "plan.h"

#define NLDUMP_BUF (1 << 16)

/* Read and discard what is left of a dump (up to its NLMSG_DONE or error
 * for seq) so the socket is clean for the next request.  Never blocks: the
 * kernel queues the next part of a dump while the previous one is read,
 * so an empty queue means the dump is over. */
static void nldump_drain(struct mnl_socket *nl, char *buf, size_t len, uint32_t seq)
{
	for (int pages = 0; pages < 1 << 20; pages++) {
		ssize_t n = recv(mnl_socket_get_fd(nl), buf, len, MSG_DONTWAIT);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n <= 0)
			return;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			if (nlh->nlmsg_seq == seq && (nlh->nlmsg_type == NLMSG_DONE ||
						       nlh->nlmsg_type == NLMSG_ERROR))
				return;
	}
}

struct nl_conn nldump_conn(struct sg_engine *e)
{
	return (struct nl_conn){ .nl = e->nl, .seq = &e->seq, .table = e->table };
}

int nldump_run(const struct nl_conn *c, struct nlmsghdr *nlh, mnl_cb_t cb,
	       void *data)
{
	uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(c->nl);
	char *buf;
	int rc;

	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	buf = malloc(NLDUMP_BUF);
	if (!buf)
		return -ENOMEM;
	do {
		ssize_t n = mnl_socket_recvfrom(c->nl, buf, NLDUMP_BUF);

		if (n < 0) {
			rc = -errno;
			break;
		}
		errno = 0;
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (rc < 0)
			rc = errno ? -errno : -EIO;
	} while (rc > MNL_CB_STOP);
	/* a callback that gave up, or an interrupted dump, leaves the rest
	 * of the dump queued: the next request must not read it */
	if (rc < 0)
		nldump_drain(c->nl, buf, NLDUMP_BUF, seq);
	free(buf);
	return rc < 0 ? rc : 0;
}

static int nldump_gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *gen = nftnl_gen_alloc();

	if (!gen)
		return MNL_CB_ERROR;
	if (nftnl_gen_nlmsg_parse(nlh, gen) < 0) {
		nftnl_gen_free(gen);
		return MNL_CB_ERROR;
	}
	*(uint32_t *)data = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
	nftnl_gen_free(gen);
	return MNL_CB_OK;
}

int nldump_request(const struct nl_conn *c, uint16_t type, uint16_t flags,
		   uint8_t family, bool filter, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	/* libmnl 1.0.4 does not write the padding after a string attribute
	 * (the table name): zeroed, so no stack bytes go to the kernel */
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, type, family, flags, (*c->seq)++);
	/* attribute 1 is the table of a chain, set or rule request: the
	 * kernel then dumps only our table (callbacks check it again) */
	if (filter)
		mnl_attr_put_strz(nlh, 1, c->table);
	return nldump_run(c, nlh, cb, data);
}

int nldump_genid(const struct nl_conn *c, uint32_t *genid)
{
	return nldump_request(c, NFT_MSG_GETGEN, NLM_F_ACK, AF_UNSPEC, false,
			      nldump_gen_cb, genid);
}

int nldump_consistent(const struct nl_conn *c,
		      int (*read)(const struct nl_conn *c, void *data), void *data,
		      uint32_t *genid)
{
	uint32_t after;
	int rc = -EINTR;

	for (int i = 0; i < NLDUMP_TRIES && rc == -EINTR; i++) {
		rc = nldump_genid(c, genid);
		if (!rc)
			rc = read(c, data);
		if (!rc)
			rc = nldump_genid(c, &after);
		if (!rc && after != *genid)
			rc = -EINTR;
	}
	return rc;
}

static int nldump_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

struct nldump_names {
	const struct nl_conn *c;
	struct nl_state *st;
};

static int nldump_chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nldump_names *d = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	const char *name;
	int rc = MNL_CB_OK, k;

	if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		nftnl_chain_free(c);
		return MNL_CB_ERROR;
	}
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	if (nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY) != NFPROTO_INET ||
	    strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), d->c->table) != 0) {
		nftnl_chain_free(c);
		return MNL_CB_OK;
	}
	/* the base chains are kept (flushed, not deleted) when they are
	 * what we would create */
	k = plan_base_find(name);
	if (k >= 0) {
		const struct plan_base *b = &plan_bases[k];

		d->st->base_present[k] = true;
		d->st->base_mismatch[k] =
			!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) ||
			nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) != b->hook ||
			nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) != b->prio ||
			!nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE) ||
			strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "filter") != 0;
	} else if (nldump_push(&d->st->chains, &d->st->n_chains, name) < 0) {
		rc = MNL_CB_ERROR;
	}
	nftnl_chain_free(c);
	return rc;
}

static int nldump_set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nldump_names *d = data;
	struct nftnl_set *s = nftnl_set_alloc();
	int rc = MNL_CB_OK;

	if (!s || nftnl_set_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return MNL_CB_ERROR;
	}
	/* anonymous sets belong to their rules and go with them */
	if (nftnl_set_get_u32(s, NFTNL_SET_FAMILY) == NFPROTO_INET &&
	    strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE), d->c->table) == 0 &&
	    !(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS) &&
	    nldump_push(&d->st->sets, &d->st->n_sets,
			nftnl_set_get_str(s, NFTNL_SET_NAME)) < 0)
		rc = MNL_CB_ERROR;
	nftnl_set_free(s);
	return rc;
}

void nldump_state_free(struct nl_state *st)
{
	size_t i;

	for (i = 0; i < st->n_chains; i++)
		free(st->chains[i]);
	for (i = 0; i < st->n_sets; i++)
		free(st->sets[i]);
	free(st->chains);
	free(st->sets);
	memset(st, 0, sizeof(*st));
}

/* One try of nldump_state (nldump_consistent's read): what an earlier
 * try read is discarded first. */
static int nldump_state_once(const struct nl_conn *c, void *data)
{
	struct nl_state *st = data;
	struct nldump_names d = { .c = c, .st = st };
	int rc;

	nldump_state_free(st);
	rc = nldump_request(c, NFT_MSG_GETCHAIN, NLM_F_DUMP, NFPROTO_INET, true,
			    nldump_chain_cb, &d);
	if (rc == -ENOENT)
		rc = 0;		/* no table yet */
	if (!rc)
		rc = nldump_request(c, NFT_MSG_GETSET, NLM_F_DUMP, NFPROTO_INET,
				    true, nldump_set_cb, &d);
	return rc == -ENOENT ? 0 : rc;
}

int nldump_state(const struct nl_conn *c, struct nl_state *st)
{
	uint32_t genid;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = nldump_consistent(c, nldump_state_once, st, &genid);
	if (rc) {
		nldump_state_free(st);
		return rc;
	}
	st->genid = genid;
	return 0;
}

struct nldump_rules_ctx {
	const struct nl_conn *c;
	int (*cb)(const struct nftnl_rule *r, void *data);
	void *data;
};

static int nldump_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nldump_rules_ctx *d = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	int rc = MNL_CB_OK;

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return MNL_CB_ERROR;
	}
	if (nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY) == NFPROTO_INET &&
	    strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), d->c->table) == 0 &&
	    d->cb(r, d->data) < 0)
		rc = MNL_CB_ERROR;
	nftnl_rule_free(r);
	return rc;
}

int nldump_rules(const struct nl_conn *c,
		 int (*cb)(const struct nftnl_rule *r, void *data), void *data)
{
	struct nldump_rules_ctx d = { .c = c, .cb = cb, .data = data };
	int rc = nldump_request(c, NFT_MSG_GETRULE, NLM_F_DUMP, NFPROTO_INET, true,
				nldump_rule_cb, &d);

	return rc == -ENOENT ? 0 : rc;
}

struct nldump_elems_ctx {
	int (*cb)(const struct nlattr *el, void *data);
	void *data;
};

/* Every NFTA_LIST_ELEM of a NEWSETELEM message to the caller's cb. */
static int nldump_elems_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nldump_elems_ctx *d = data;
	const struct nlattr *attr, *el;

	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, attr)
			if (d->cb(el, d->data) < 0)
				return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int nldump_setelems(const struct nl_conn *c, const char *set,
		    int (*cb)(const struct nlattr *el, void *data), void *data)
{
	struct nldump_elems_ctx d = { .cb = cb, .data = data };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int rc;

	/* libmnl 1.0.4 does not write the padding after a string attribute
	 * (the set name): zeroed, so no stack bytes go to the kernel */
	memset(buf, 0, sizeof(buf));
	/* GETSETELEM dump of table/set: the kernel filters, we only parse */
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
				    NLM_F_DUMP, (*c->seq)++);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, c->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	rc = nldump_run(c, nlh, nldump_elems_cb, &d);
	return rc == -ENOENT ? 0 : rc;
}
