/*
 * commit.c — one plan, one batch, one sendmsg.
 *
 * The batch is built in libnftnl's multi-page buffer and sent with a single
 * sendmsg over an iovec of its pages: sending pages separately would split
 * the transaction.  Every message asks for an ack; all acks are queued by
 * the time sendmsg returns (the kernel runs the batch in the sender's
 * context), so they are read without blocking.  seq - first_seq indexes
 * the origin table that turns a refusal into a diag at the user's rule.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include "plan.h"
#include "flat.h"

/* 1 MiB pages: sendmsg takes at most UIO_MAXIOV (1024) of them */
#define COMMIT_PAGE (1024 * 1024)
#define COMMIT_OVERRUN (128 * 1024)	/* > any single message */
#define COMMIT_ACK_COST 1024		/* kernel memory per queued ack */

struct commit_ctx {
	struct nftnl_batch *b;
	uint32_t first_seq;
	uint32_t seq;
	/* origin of message seq - first_seq; NULL = batch BEGIN */
	const struct plan_origin **orig;
	size_t n_orig, cap_orig;
	struct plan_origin *internal;	/* origins of deletes/flushes */
	size_t n_internal;
	uint64_t digest;		/* of the plan's skeleton (commit_build) */
	uint64_t skeleton;		/* the last full commit's (e->skeleton) */
	bool skeleton_valid;
	bool deferred;			/* post messages left out */
	bool deletes;			/* the batch deletes elements */
	const bool *excl;		/* by plan message: NLM_F_EXCL (commit_excl) */
};

static int commit_note(struct commit_ctx *c, const struct plan_origin *o)
{
	if (c->n_orig == c->cap_orig) {
		size_t cap = c->cap_orig ? c->cap_orig * 2 : 256;
		const struct plan_origin **v = realloc(c->orig, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->orig = v;
		c->cap_orig = cap;
	}
	c->orig[c->n_orig++] = o;
	c->seq++;
	return nftnl_batch_update(c->b) < 0 ? -ENOMEM : 0;
}

/* libmnl leaves attribute padding uninitialised; zero the room a message
 * will take first so no stale heap bytes go to the kernel (and valgrind
 * stays quiet).  Element lists are the only messages over 4 KiB. */
static void commit_zero(struct commit_ctx *c, enum plan_kind kind)
{
	memset(nftnl_batch_buffer(c->b), 0, kind == PLAN_ELEMS ||
	       kind == PLAN_CIDRELEMS ? COMMIT_OVERRUN : 4096);
}

/* BEGIN, with NFNL_BATCH_GENID when genid is known: compare-and-swap. */
static int commit_begin(struct commit_ctx *c, const uint32_t *genid)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	commit_zero(c, PLAN_TABLE);
	nlh = mnl_nlmsg_put_header(nftnl_batch_buffer(c->b));

	nlh->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = c->seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	if (genid)
		mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(*genid));
	return commit_note(c, NULL);
}

/* Origin of a message the batch adds around the plan: "<verb> <name>". */
static struct plan_origin *commit_internal(struct commit_ctx *c, const char *verb,
					   const char *name)
{
	struct plan_origin *o = &c->internal[c->n_internal++];

	memset(o, 0, sizeof(*o));
	snprintf(o->what, sizeof(o->what), "%s %.80s", verb, name);
	return o;
}

/* flush chain inet <table> <chain> */
static int commit_flush(struct commit_ctx *c, const char *table, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	commit_zero(c, PLAN_RULE);
	nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(c->b), NFT_MSG_DELRULE,
				    NFPROTO_INET, NLM_F_ACK, c->seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return commit_note(c, commit_internal(c, "flush chain", chain));
}

/* delete chain inet <table> <chain>  (its rules go with it) */
static int commit_delchain(struct commit_ctx *c, const char *table, const char *name)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!ch)
		return -ENOMEM;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	commit_zero(c, PLAN_CHAIN);
	nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(c->b), NFT_MSG_DELCHAIN,
				    NFPROTO_INET, NLM_F_ACK, c->seq);
	nftnl_chain_nlmsg_build_payload(nlh, ch);
	nftnl_chain_free(ch);
	return commit_note(c, commit_internal(c, "delete chain", name));
}

/* delete set inet <table> <set> */
static int commit_delset(struct commit_ctx *c, const char *table, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	commit_zero(c, PLAN_SET);
	nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(c->b), NFT_MSG_DELSET,
				    NFPROTO_INET, NLM_F_ACK, c->seq);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return commit_note(c, commit_internal(c, "delete set", name));
}

/* flush set inet <table> <set>: DELSETELEM without an element list.
 * Built by hand: some libnftnl versions send an empty element nest,
 * which the kernel reads as "delete nothing". */
static int commit_flushset(struct commit_ctx *c, const char *table, const char *name)
{
	struct nlmsghdr *nlh;

	commit_zero(c, PLAN_SET);
	nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(c->b), NFT_MSG_DELSETELEM,
				    NFPROTO_INET, NLM_F_ACK, c->seq);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name);
	return commit_note(c, commit_internal(c, "flush set", name));
}

/* Does the plan declare set `name` again, as anything but a concatenated
 * interval set or a flat exact-match set (those are re-created:
 * commit_clear)? */
static bool commit_plan_flushes(const struct sg_plan *plan, const char *name)
{
	size_t i;

	for (i = 0; plan->flat && i < plan->flat->n_sets; i++)
		if (plan->flat->sets[i].kind == FLAT_EXACT &&
		    strcmp(plan->flat->sets[i].name, name) == 0)
			return false;
	for (i = 0; i < plan->n; i++)
		if (plan->v[i].kind == PLAN_SET &&
		    strcmp(nftnl_set_get_str(plan->v[i].o.set, NFTNL_SET_NAME),
			   name) == 0)
			return !(nftnl_set_get_u32(plan->v[i].o.set, NFTNL_SET_FLAGS) &
				 NFT_SET_CONCAT);
	return false;
}

static int commit_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of the regular chains the plan declares, sorted (they point
 * into the plan's objects); *out is malloc'd.  0 or -ENOMEM. */
static int commit_plan_chains(const struct sg_plan *plan, const char ***out,
			      size_t *n_out)
{
	const char **v = NULL;
	size_t i, n = 0;

	for (i = 0; i < plan->n; i++)
		n += plan->v[i].kind == PLAN_CHAIN;
	if (n && !(v = malloc(n * sizeof(*v))))
		return -ENOMEM;
	for (i = 0, n = 0; i < plan->n; i++)
		if (plan->v[i].kind == PLAN_CHAIN)
			v[n++] = nftnl_chain_get_str(plan->v[i].o.chain, NFTNL_CHAIN_NAME);
	if (n)
		qsort(v, n, sizeof(*v), commit_strcmp);
	*out = v;
	*n_out = n;
	return 0;
}

/* A set the plan keeps and updates by element deltas (engine_reuse.c). */
static bool commit_kept(const struct sg_plan *plan, const char *name)
{
	size_t i;

	for (i = 0; i < plan->n_keep; i++)
		if (strcmp(plan->keep_sets[i], name) == 0)
			return true;
	return false;
}


/* Does the plan create base chain plan_bases[k]? */
static bool commit_plan_base(const struct sg_plan *plan, int k)
{
	size_t i;

	for (i = 0; i < plan->n && plan->v[i].kind <= PLAN_BASECHAIN; i++)
		if (plan->v[i].kind == PLAN_BASECHAIN &&
		    strcmp(nftnl_chain_get_str(plan->v[i].o.chain, NFTNL_CHAIN_NAME),
			   plan_bases[k].name) == 0)
			return true;
	return false;
}

/* The old content goes, in the plan's transaction: every rule first (they
 * hold the sets), then the sets (a verdict map holds its chains), then the
 * chains.  A base chain the plan no longer has (forward_in and forward_out
 * after `forward: off`) is flushed with the others and deleted last. */
static int commit_clear(struct commit_ctx *c, const struct sg_plan *plan,
			const struct nl_state *st)
{
	const char **chains = NULL;
	size_t j, n_chains = 0;
	int k, rc = 0;

	for (k = 0; !rc && k < PLAN_N_BASES; k++)
		if (commit_plan_base(plan, k) || st->base_present[k])
			rc = commit_flush(c, plan->table, plan_bases[k].name);
	for (j = 0; !rc && j < st->n_chains; j++)
		rc = commit_flush(c, plan->table, st->chains[j]);
	/* The sets.  A packet that enters a base chain just before the
	 * switch runs the old rules, but looks sets up in the new
	 * generation (commit_build).  So:
	 * - a set updated by element deltas (engine_reuse.c) is neither
	 *   flushed nor deleted: its elements that stay are never
	 *   deactivated at all;
	 * - a flat exact-match set that is not kept (most of its elements
	 *   change) is deleted and re-created under the same name: the old
	 *   rules keep the old set, whole, and the new set's elements are
	 *   there with the new generation.  Flushed instead, it would be
	 *   empty for the old rules (measured: 11 drops in 4,000 commits,
	 *   tests/kernel/engine_switch.sh);
	 * - a concatenated interval (pipapo) set is deleted: the kernel
	 *   removes pipapo elements one by one, each in time linear in the
	 *   set, so a flush would be quadratic;
	 * - a verdict map, a peer group's sets and an rbtree interval set
	 *   are flushed and refilled, and keep their place in `nft list`.
	 *   A re-created verdict map dropped packets (13 in 4,000 commits),
	 *   a flushed one none: its elements jump to the kept chains, the
	 *   same for the old and the new rules.  An rbtree publishes its
	 *   additions only after the new rules (engine_reuse.c), so a
	 *   re-created one would be empty for an instant.  A peer group's
	 *   elements are the same before and after unless the reload
	 *   changes its members (README, "Known limits"). */
	for (j = 0; !rc && j < st->n_sets; j++)
		rc = commit_kept(plan, st->sets[j]) ? 0 :
		     commit_plan_flushes(plan, st->sets[j]) ?
		     commit_flushset(c, plan->table, st->sets[j]) :
		     commit_delset(c, plan->table, st->sets[j]);
	/* A chain the plan declares again is kept (only flushed above; its
	 * NEWCHAIN is then a no-op): a packet that runs the old rules of
	 * `input` but jumps through the verdict map's new element reaches
	 * the kept chain, which still has its old rules in the old
	 * generation.  A re-created chain has none there: the packet fell
	 * through to the final drop (6 drops in 3,000 reloads). */
	if (!rc)
		rc = commit_plan_chains(plan, &chains, &n_chains);
	for (j = 0; !rc && j < st->n_chains; j++)
		if (!n_chains || !bsearch(&st->chains[j], chains, n_chains,
					  sizeof(*chains), commit_strcmp))
			rc = commit_delchain(c, plan->table, st->chains[j]);
	free(chains);
	for (k = 0; !rc && k < PLAN_N_BASES; k++)
		if (st->base_present[k] && !commit_plan_base(plan, k))
			rc = commit_delchain(c, plan->table, plan_bases[k].name);
	return rc;
}

/* One set or chain the plan declares (commit_excl). */
struct commit_decl {
	bool chain;
	const char *name;
	size_t i;		/* plan message */
};

static int commit_decl_cmp(const void *pa, const void *pb)
{
	const struct commit_decl *a = pa, *b = pb;
	int c = (int)a->chain - (int)b->chain;

	if (!c)
		c = strcmp(a->name, b->name);
	return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* Is name in v (n names, sorted by commit_sorted)? */
static bool commit_in(char *const *v, size_t n, const char *name)
{
	return n && bsearch(&name, v, n, sizeof(*v), commit_strcmp);
}

/* A sorted copy of the n names v (*out NULL when n is 0).  0 or -ENOMEM. */
static int commit_sorted(char *const *v, size_t n, char ***out)
{
	*out = NULL;
	if (!n)
		return 0;
	*out = malloc(n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, v, n * sizeof(**out));
	qsort(*out, n, sizeof(**out), commit_strcmp);
	return 0;
}

/* Which of the plan's NEWSET and NEWCHAIN messages create an object
 * (NLM_F_EXCL) rather than declare one the batch keeps: with NLM_F_EXCL
 * the kernel refuses to create an object that exists, where without it
 * it silently merges the two.  A name the plan declares twice (two
 * groups encoded to one name: flat_pg_set_name says how that once
 * happened) thus fails the transaction instead of letting one group's
 * rules match the other's ports.  Kept: a chain in st (commit_clear
 * only flushes it), a set in st that commit_clear neither deletes nor
 * re-creates; the first declaration only.  Without st (a delta: it
 * declares nothing) none.  *out is calloc'd, by plan message.  0 or
 * -ENOMEM. */
static int commit_excl(const struct sg_plan *plan, const struct nl_state *st,
		       bool **out)
{
	struct commit_decl *d = NULL;
	bool *excl = calloc(plan->n ? plan->n : 1, sizeof(*excl));
	char **sets = NULL, **chains = NULL;
	size_t i, n = 0;
	int rc;

	*out = excl;
	if (!excl)
		return -ENOMEM;
	if (!st)
		return 0;
	for (i = 0; i < plan->n; i++)
		n += plan->v[i].kind == PLAN_SET || plan->v[i].kind == PLAN_CHAIN;
	rc = commit_sorted(st->sets, st->n_sets, &sets);
	if (!rc)
		rc = commit_sorted(st->chains, st->n_chains, &chains);
	if (!rc && n && !(d = malloc(n * sizeof(*d))))
		rc = -ENOMEM;
	if (rc) {
		free(sets);
		free(chains);
		return rc;
	}
	for (i = 0, n = 0; i < plan->n; i++) {
		if (plan->v[i].kind == PLAN_SET)
			d[n++] = (struct commit_decl) { false,
				nftnl_set_get_str(plan->v[i].o.set, NFTNL_SET_NAME), i };
		else if (plan->v[i].kind == PLAN_CHAIN)
			d[n++] = (struct commit_decl) { true,
				nftnl_chain_get_str(plan->v[i].o.chain, NFTNL_CHAIN_NAME), i };
	}
	if (n)
		qsort(d, n, sizeof(*d), commit_decl_cmp);
	for (i = 0; i < n; i++) {
		bool again = i > 0 && d[i - 1].chain == d[i].chain &&
			     strcmp(d[i - 1].name, d[i].name) == 0;
		bool kept = d[i].chain ?
			commit_in(chains, st->n_chains, d[i].name) :
			commit_in(sets, st->n_sets, d[i].name) &&
			(commit_kept(plan, d[i].name) ||
			 commit_plan_flushes(plan, d[i].name));

		excl[d[i].i] = again || !kept;
	}
	free(d);
	free(sets);
	free(chains);
	return 0;
}

/* FNV-1a over a message's payload (not its header: the sequence number
 * differs from one commit to the next). */
static uint64_t commit_digest(uint64_t h, const struct nlmsghdr *nlh)
{
	const unsigned char *p = (const unsigned char *)nlh + NLMSG_HDRLEN;
	size_t i, n = nlh->nlmsg_len > NLMSG_HDRLEN ? nlh->nlmsg_len - NLMSG_HDRLEN : 0;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Message i of the plan; with digest, its bytes go into c->digest. */
static int commit_plan_msg(struct commit_ctx *c, const struct sg_plan *plan,
			   size_t i, bool digest)
{
	int rc;

	commit_zero(c, plan->v[i].kind);
	rc = plan_msg_build(plan, i, nftnl_batch_buffer(c->b), COMMIT_OVERRUN, c->seq);
	if (rc < 0)
		return rc;
	if (c->excl && c->excl[i])
		((struct nlmsghdr *)nftnl_batch_buffer(c->b))->nlmsg_flags |= NLM_F_EXCL;
	c->deletes |= plan->v[i].del;
	if (digest)
		c->digest = commit_digest(c->digest, nftnl_batch_buffer(c->b));
	return commit_note(c, &plan->v[i].origin);
}

/* Why a kept set's deletions may wait (plan.h, post): a packet reads the
 * generation once, when it enters a base chain, and runs that
 * generation's rules; but each set lookup it makes takes the generation
 * that is current at that moment.  A packet that enters just before the
 * switch can run the OLD rules against the NEW elements.  When the rules
 * do not change, that is the new ruleset.  When they do, an allowance
 * that moves from one set to another (an address widened from /32 to a
 * /30 moves from the exact set to the range set, whose rule is new) is
 * in neither for that packet: the old rule's element is deleted and the
 * new rule is not in the old generation.  So when the rules change, the
 * deletions go in a transaction right after the plan's: for one netlink
 * round trip the kernel holds the new rules and the old elements still
 * in use beside the new ones, never less than both rulesets.  The
 * skeleton digest (everything but flat and peer-set elements) tells
 * whether the rules change. */
static int commit_build(struct commit_ctx *c, const struct sg_plan *plan,
			const struct nl_state *st, bool post_only)
{
	size_t i;
	bool cleared = false, has_post = false;
	int b, rc = commit_begin(c, st ? &st->genid : NULL);
	bool *excl = NULL;

	if (!rc)
		rc = commit_excl(plan, st, &excl);
	c->excl = excl;

	c->digest = 0xcbf29ce484222325ULL;
	for (i = 0; !rc && i < plan->n; i++) {
		enum plan_kind k = plan->v[i].kind;

		if (plan->v[i].post != post_only) {
			has_post |= plan->v[i].post;
			continue;
		}
		if (st && !cleared && k != PLAN_TABLE && k != PLAN_BASECHAIN) {
			rc = commit_clear(c, plan, st);
			cleared = true;
		}
		if (!rc)
			rc = commit_plan_msg(c, plan, i,
					     k != PLAN_FLATELEMS && k != PLAN_CIDRELEMS);
		/* a base chain we cannot update in place goes right after
		 * NEWTABLE, before the plan re-creates it */
		for (b = 0; !rc && st && k == PLAN_TABLE && b < PLAN_N_BASES; b++)
			if (st->base_mismatch[b] && commit_plan_base(plan, b))
				rc = commit_delchain(c, plan->table, plan_bases[b].name);
	}
	/* the rules do not change: the deletions go in this transaction */
	if (!rc && has_post && st && c->skeleton_valid && c->digest == c->skeleton) {
		for (i = 0; !rc && i < plan->n; i++)
			if (plan->v[i].post)
				rc = commit_plan_msg(c, plan, i, false);
	} else if (has_post) {
		c->deferred = true;
	}
	free(excl);
	c->excl = NULL;
	if (rc)
		return rc;
	commit_zero(c, PLAN_TABLE);
	nftnl_batch_end(nftnl_batch_buffer(c->b), c->seq);
	return commit_note(c, NULL);
}

/* Wait until no packet still runs rules older than the kernel's current
 * ones.  A packet reads the generation once, when it enters a base chain,
 * and keeps that generation's rules through every jump, but each set
 * lookup sees the elements of the moment.  Deleting elements is safe for
 * packets under the current rules (the deletions that follow a switch
 * were chosen against them, commit_build), not for one still running the
 * rules from before that switch: an allowance that moved from an element
 * the deletion removes to a rule that packet does not have is in
 * neither.  Such a packet is normally gone within microseconds, but a
 * CPU stalled under it (an interrupt storm, a virtual CPU the host
 * descheduled) can hold it across the switch and the deletion that
 * follows: `engine_switch.sh`, case "kept", lost 1 allowed datagram in
 * 3,000 reloads under one busy loop per CPU.  The packet path holds
 * rcu_read_lock, and MEMBARRIER_CMD_GLOBAL is synchronize_rcu(): once it
 * returns, every packet that started before it has left nftables.  Paid
 * once after a commit that changed the rules, before the first deletion
 * (measured 0.02-19 ms: the more, the busier the machine). */
static void commit_quiesce(struct sg_engine *e)
{
	/* Tolerated failure (EINVAL with nohz_full, EPERM under a seccomp
	 * filter without membarrier): the deletion goes ahead, with the
	 * window as narrow as the kernel's scheduling makes it. */
	(void)syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	e->rules_moved = false;
}

static int commit_bufsize(struct sg_engine *e, int opt, size_t want)
{
	int fd = mnl_socket_get_fd(e->nl), cur = 0;
	socklen_t len = sizeof(cur);
	int v;

	if (want > (1u << 30))
		return -EMSGSIZE;
	if (getsockopt(fd, SOL_SOCKET, opt == SO_SNDBUFFORCE ? SO_SNDBUF : SO_RCVBUF,
		       &cur, &len) == 0 && (size_t)cur >= want)
		return 0;
	v = (int)want;
	/* FORCE ignores rmem_max/wmem_max; we run with CAP_NET_ADMIN */
	if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) < 0)
		return -errno;
	return 0;
}

/* The plan message an origin belongs to, or NULL (BEGIN, a delete). */
static const struct plan_msg *commit_plan_msg_of(const struct sg_plan *plan,
						 const struct plan_origin *o)
{
	size_t i;

	for (i = 0; plan && o && i < plan->n; i++)
		if (&plan->v[i].origin == o)
			return &plan->v[i];
	return NULL;
}

static void commit_report(const struct commit_ctx *c, const struct sg_plan *plan,
			  uint32_t seq, int err, const char *ext, long offset,
			  struct sg_diags *diags)
{
	const struct plan_origin *o = NULL;
	const struct plan_msg *m;
	struct plan_origin rule;
	size_t idx = seq - c->first_seq;

	if (idx < c->n_orig)
		o = c->orig[idx];
	if (!o) {
		if (err == ERESTART)
			return;	/* the generation moved: the caller retries */
		diags_add(diags, NULL, "kernel refused the transaction: %s%s%s",
			  strerror(err), ext ? ": " : "", ext ? ext : "");
		return;
	}
	/* a refused element of a flat set: name the rule it came from */
	m = offset >= 0 ? commit_plan_msg_of(plan, o) : NULL;
	if (m && m->kind == PLAN_FLATELEMS &&
	    compile_flat_locate(plan, m, (uint32_t)offset, &rule) == 0)
		o = &rule;
	diags_add(diags, o->pos.file ? &o->pos : NULL, "%s: kernel refused: %s%s%s",
		  o->what, strerror(err), ext ? ": " : "", ext ? ext : "");
}

/* The extended ack's message and the offset of the refused attribute in
 * the refused message (-1 when the kernel gave none). */
static const char *commit_extack(const struct nlmsghdr *nlh, long *offset)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	const char *msg = NULL;
	size_t off = sizeof(*err);

	*offset = -1;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	mnl_attr_for_each_payload((const struct nlattr *)((const char *)err + off),
				  mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			msg = mnl_attr_get_str(attr);
		else if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_OFFS &&
			 mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			*offset = mnl_attr_get_u32(attr);
	}
	return msg;
}

/* Read every queued ack.  Returns the first error (negative errno), 0. */
static int commit_read_acks(struct sg_engine *e, const struct commit_ctx *c,
			    const struct sg_plan *plan, size_t expected,
			    struct sg_diags *diags)
{
	static const size_t buflen = 1 << 16;
	char *buf = malloc(buflen);
	size_t acks = 0;
	int first = 0;

	if (!buf)
		return -ENOMEM;
	while (acks < expected) {
		ssize_t n = recv(mnl_socket_get_fd(e->nl), buf, buflen, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && first)
				break;	/* an aborted batch acks no further */
			first = first ? first : -errno;
			diags_add(diags, NULL, "reading the kernel's answer: %s%s",
				  strerror(errno), errno == EAGAIN ?
				  " (acks missing)" : "");
			break;
		}
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *err;
			const char *ext;
			long offset;

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < sizeof(*nlh) + sizeof(*err))
				continue;
			err = mnl_nlmsg_get_payload(nlh);
			acks++;
			if (err->error == 0)
				continue;
			ext = commit_extack(nlh, &offset);
			commit_report(c, plan, err->msg.nlmsg_seq, -err->error, ext,
				      offset, diags);
			if (!first)
				first = err->error;
		}
	}
	free(buf);
	return first;
}

static int commit_send(struct sg_engine *e, const struct sg_plan *plan,
		       const struct nl_state *st, bool post_only,
		       struct sg_diags *diags)
{
	struct commit_ctx c = { .first_seq = e->seq, .seq = e->seq,
				.skeleton = e->skeleton,
				.skeleton_valid = e->skeleton_valid };
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct msghdr msg = { .msg_name = &snl, .msg_namelen = sizeof(snl) };
	struct iovec *iov = NULL;
	/* flushes and deletes of the base chains; of the other chains and
	 * sets */
	size_t total, n_int = 3 * PLAN_N_BASES +
			      (st ? 2 * st->n_chains + st->n_sets : 0);
	ssize_t sent;
	int rc, n_iov;

	c.b = nftnl_batch_alloc(COMMIT_PAGE, COMMIT_OVERRUN);
	c.internal = calloc(n_int, sizeof(*c.internal));
	if (!c.b || !c.internal) {
		rc = -ENOMEM;
		goto out;
	}
	rc = commit_build(&c, plan, st, post_only);
	e->seq = c.seq;
	if (rc) {
		diags_add(diags, NULL, "building the transaction: %s", strerror(-rc));
		goto out;
	}
	n_iov = nftnl_batch_iovec_len(c.b);
	iov = calloc((size_t)n_iov, sizeof(*iov));
	if (!iov) {
		rc = -ENOMEM;
		goto out;
	}
	nftnl_batch_iovec(c.b, iov, (uint32_t)n_iov);
	for (total = 0, rc = 0; rc < n_iov; rc++)
		total += iov[rc].iov_len;
	rc = commit_bufsize(e, SO_SNDBUFFORCE, total + 65536);
	if (!rc)
		rc = commit_bufsize(e, SO_RCVBUFFORCE,
				    (1u << 20) + c.n_orig * COMMIT_ACK_COST);
	if (rc) {
		diags_add(diags, NULL, "sizing the netlink socket for %zu bytes: %s",
			  total, strerror(-rc));
		goto out;
	}
	if (c.deletes && e->rules_moved)
		commit_quiesce(e);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)n_iov;
	/* the whole transaction in ONE sendmsg */
	sent = sendmsg(mnl_socket_get_fd(e->nl), &msg, 0);
	if (sent < 0 || (size_t)sent != total) {
		rc = sent < 0 ? -errno : -EIO;
		diags_add(diags, NULL, "sending the transaction (%zu bytes): %s",
			  total, strerror(-rc));
		goto out;
	}
	/* every message but BEGIN and END is acked */
	rc = commit_read_acks(e, &c, plan, c.n_orig - 2, diags);
	if (rc == 0) {
		e->commits++;	/* one more generation (drift_resume) */
		if (st) {
			/* what the kernel's rules are now */
			if (!e->skeleton_valid || e->skeleton != c.digest)
				e->rules_moved = true;
			e->skeleton = c.digest;
			e->skeleton_valid = true;
		}
		e->post_pending = c.deferred;
	}
out:
	free(iov);
	free(c.orig);
	free(c.internal);
	if (c.b)
		nftnl_batch_free(c.b);
	return rc;
}

int commit_plan(struct sg_engine *e, const struct sg_plan *plan,
		const struct nl_state *st, struct sg_diags *diags)
{
	return commit_send(e, plan, st, false, diags);
}

int commit_plan_post(struct sg_engine *e, const struct sg_plan *plan,
		     struct sg_diags *diags)
{
	e->post_pending = false;
	return commit_send(e, plan, NULL, true, diags);
}
