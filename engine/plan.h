/*
 * plan.h — the compiled form of a configuration (private to the engine).
 *
 * compile*.c turn a validated model into a plan: an ordered list of
 * libnftnl objects, each with the origin it came from so that a kernel
 * refusal can be reported at the user's rule.  commit.c turns a plan into
 * one batch.  The plan never touches the kernel.
 *
 * Order: table, the base chains (kept across reloads), then the sets
 * and their elements, the regular chains, the regular chains' rules and
 * last the base chains' rules (whose jumps need the regular chains).
 */
#ifndef SGD_PLAN_H
#define SGD_PLAN_H

#include <stdio.h>
#include <netinet/in.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/rule.h>
#include "model.h"
#include "diag.h"

enum plan_kind {
	PLAN_TABLE,
	PLAN_BASECHAIN,
	PLAN_SET,
	PLAN_ELEMS,	/* NEWSETELEM (or DELSETELEM in a delta) */
	PLAN_CHAIN,
	PLAN_RULE,
	PLAN_FLATELEMS,	/* NEWSETELEM of flat elements (flat.h), no libnftnl object */
	PLAN_CIDRELEMS,	/* NEWSETELEM (DELSETELEM) of peer-set blocks, no libnftnl object */
};

/* The blocks of one PLAN_CIDRELEMS message, serialized straight from this
 * array: a libnftnl element object per member (two for an interval) costs
 * several times the bytes the element takes in the batch. */
struct plan_cidrs {
	char set[300];
	int af;
	bool interval;		/* start and exclusive end elements */
	size_t n;
	struct sg_cidr v[];
};

/* Where a message came from; what names the object for the user. */
struct plan_origin {
	struct sg_pos pos;	/* file NULL = built in */
	char what[96];		/* "ingress rule 3", "set peer_web_v4" */
};

struct flat;
struct flat_set;
struct sg_plan;
struct plan_msg;

/* Serialize the element message m of plan as the kernel gets it into
 * buf: the message length or -errno.  Element messages carry the
 * function of the file that made them (compile_flatemit.c,
 * compile_sets.c), so that plan_msg_build (compile_plan.c) calls its
 * producers without naming them. */
typedef int plan_msg_build_fn(const struct sg_plan *plan, const struct plan_msg *m,
			      char *buf, size_t len, uint32_t seq);

struct plan_msg {
	enum plan_kind kind;
	bool del;		/* PLAN_ELEMS, PLAN_FLATELEMS, PLAN_CIDRELEMS:
				 * delete these elements */
	bool post;		/* a deletion from a kept set (engine_reuse.c):
				 * committed after the plan's other messages,
				 * in a transaction of its own, when the rules
				 * change (commit.c) */
	union {
		struct nftnl_table *table;
		struct nftnl_chain *chain;
		struct nftnl_set *set;
		struct nftnl_rule *rule;
		const struct flat_set *fset;	/* PLAN_FLATELEMS: in plan->flat */
		struct plan_cidrs *cidrs;	/* PLAN_CIDRELEMS: owned */
	} o;
	size_t first, count;	/* PLAN_FLATELEMS: elements of o.fset */
	/* PLAN_FLATELEMS, PLAN_CIDRELEMS: serializes it */
	plan_msg_build_fn *build;
	struct plan_origin origin;
};

struct sg_plan {
	char *table;
	struct flat *flat;	/* owned: the flat sets and their element map */
	/* a reload that keeps interval sets (engine_flat_reuse): the element
	 * deltas' arrays, and the sets the commit must not delete */
	struct flat *flat_delta;
	char **keep_sets;
	size_t n_keep;
	/* set while compiling the forward judgement of ingress rules
	 * (compile_forward.c): a destination port is the one the client
	 * used, `ct original proto-dst`, not the packet's `th dport` */
	bool port_ct;
	struct plan_msg *v;
	size_t n, cap;
};

/* The base chains sgd may create, in plan order (compile_plan.c).  input and
 * output always exist; forward_in and forward_out only with `forward:`
 * other than off (compile_forward.c).  The engine keeps those it finds
 * again across reloads and deletes the others (commit.c). */
struct plan_base {
	const char *name;
	uint32_t hook;		/* NF_INET_* */
	int32_t prio;
	uint32_t policy;	/* NF_DROP or NF_ACCEPT */
};
enum { PLAN_BASE_IN, PLAN_BASE_OUT, PLAN_BASE_FWD_IN, PLAN_BASE_FWD_OUT,
       PLAN_N_BASES };
extern const struct plan_base plan_bases[PLAN_N_BASES];
/* The index of base chain `name` in plan_bases, or -1. */
int plan_base_find(const char *name);

/* Sizes that keep every message far below the 64 KiB nest limit. */
#define PLAN_ELEMS_PER_MSG 256

/* compile.c: the whole table.  0 or -errno (then *plan is empty). */
int compile_config(const struct sg_config *cfg, const struct sg_members *m,
		   struct sg_plan *plan);
/* compile_rules.c: the rules of one group direction into chain. */
int compile_group_rules(struct sg_plan *plan, const struct sg_config *cfg,
			int gi, enum sg_dir dir);
/* compile_rules.c: one sg_rule (one nft rule per peer and family) into
 * chain; tag is the rule's udata tag, comment its readable comment. */
int compile_rule(struct sg_plan *plan, const struct sg_config *cfg,
		 const char *chain, const struct sg_rule *rule,
		 const char *tag, const char *comment, const char *what);
/* compile_fleet.c: with fleet:, TCP out to each etcd endpoint given by
 * address (output chain, dir SG_DIR_OUT; nothing for SG_DIR_IN). */
int compile_fleet(struct sg_plan *plan, const struct sg_config *cfg, enum sg_dir dir);
/* compile_rules.c: peer number `peer` of rule (one nft rule per family
 * for a group peer). */
int compile_rule_peer(struct sg_plan *plan, const struct sg_config *cfg,
		      const char *chain, const struct sg_rule *rule, size_t peer,
		      const char *tag, const char *comment, const char *what);
/* compile_rules.c: the udata tag, comment and diag name of rule of group
 * gi, as every nft object compiled from it carries them. */
void compile_rule_labels(const struct sg_config *cfg, int gi,
			 const struct sg_rule *r, char *tag, size_t tag_len,
			 char *comment, size_t comment_len, char *what,
			 size_t what_len);
/* compile_flatemit.c: the flat sets (flat.h) into plan, which takes
 * ownership of f.  Sets and their elements; chains and the vmaps'
 * elements; the dispatched chains' rules; the base chain's part. */
int compile_flat_sets(struct sg_plan *plan, struct flat *f);
int compile_flat_chains(struct sg_plan *plan);
int compile_flat_rules(struct sg_plan *plan, const struct sg_config *cfg);
int compile_flat_base(struct sg_plan *plan, const struct sg_config *cfg,
		      enum sg_dir dir);
/* compile_flatemit.c: the part of compile_flat_base every new packet of
 * direction dir needs, into chain (fwd.in, fwd.out): the address-only
 * sets and the protocol-all rules, then `meta l4proto vmap @map`. */
int compile_flat_judge(struct sg_plan *plan, const struct sg_config *cfg,
		       enum sg_dir dir, const char *chain, const char *map);
/* compile_flatemit.c: the rules of dispatched chain in.<proto> (dir,
 * proto) into chain; with plan->port_ct they match the port the client
 * used (compile_forward.c). */
int compile_flat_proto_rules(struct sg_plan *plan, const struct sg_config *cfg,
			     enum sg_dir dir, int proto, const char *chain);

/* compile_forward.c: the forward_in/forward_out base chains' regular
 * chains (fwd.in, fwd.out, fwd.in.tcp ..., fwd.in_<group>), their
 * verdict map and rules; then the base chains' rules.  Nothing when
 * cfg->forward is off. */
int compile_forward_chains(struct sg_plan *plan, const struct sg_config *cfg);
int compile_forward_base(struct sg_plan *plan, const struct sg_config *cfg);
/* compile_chain.c: `chain <name>`, a regular chain of plan (a group's
 * in_<group>, the forward path's fwd.*); pos names where it comes from. */
int compile_chain_decl(struct sg_plan *plan, const char *name,
		       const struct sg_pos *pos);
/* compile_chain.c: true when group gi is attached to an interface (it
 * keeps its own chains). */
bool compile_group_on_iface(const struct sg_config *cfg, int gi);
/* compile_chain.c: add the rule r to the plan with a generic origin
 * ("what"); when rc is not 0 (its building failed) free r and return rc. */
int compile_add_rule(struct sg_plan *plan, struct nftnl_rule *r, int rc,
		     const char *what);
/* compile_chain.c: `ct state established,related counter accept` at the
 * end of chain so far (udata tag): the replies of the input, output and
 * forward paths. */
int compile_ct_replies(struct sg_plan *plan, const char *chain, const char *tag);
/* compile_chain.c: the end of a base chain: when log_denied, a
 * rate-limited NFLOG rule (prefix, comment log_comment), then a counted
 * drop (udata tag and comment; origin what). */
int compile_drop_tail(struct sg_plan *plan, const struct sg_config *cfg,
		      const char *chain, const char *prefix, const char *log_comment,
		      const char *tag, const char *comment, const char *what);
/* compile_flatemit.c: serialize a PLAN_FLATELEMS message into buf (at
 * least 32 KiB); the message length or -errno. */
int compile_flat_msg(const struct sg_plan *plan, const struct plan_msg *m,
		     char *buf, size_t len, uint32_t seq);
/* compile_flatemit.c: the origin (rule position, "ingress rule N") of the
 * element of PLAN_FLATELEMS message m whose attribute starts at byte
 * offset of the message as sent.  0 or -ENOENT. */
int compile_flat_locate(const struct sg_plan *plan, const struct plan_msg *m,
			uint32_t offset, struct plan_origin *out);
/* compile_sets.c: peer_<group>_v4/v6 (wider blocks, interval sets) and
 * peer_<group>_v4/v6_hosts (single addresses, hash sets), their elements. */
int compile_sets(struct sg_plan *plan, const struct sg_config *cfg,
		 const struct sg_members *m);
/* true when a compiled rule references group gi as a peer. */
bool compile_group_referenced(const struct sg_config *cfg, int gi);
/* true when group gi is attached (globally or to an interface). */
bool compile_group_attached(const struct sg_config *cfg, int gi);
/* Name of group gi's set for family af (its hosts' hash set when hosts)
 * into buf; 0 or -ENAMETOOLONG. */
int compile_set_name(const struct sg_config *cfg, int gi, int af, bool hosts,
		     char *buf, size_t len);
/* Chain name "in_<group>" / "out_<group>". */
int compile_chain_name(const struct sg_config *cfg, int gi, enum sg_dir dir,
		       char *buf, size_t len);
/* Element messages for set `name` holding the blocks v (which must hold
 * only family af; start and end elements when interval, keys alone
 * otherwise), deleting instead when del. */
int compile_set_elems(struct sg_plan *plan, const char *name, int af,
		      bool interval,
		      const struct sg_cidr *v, size_t n, bool del,
		      const struct plan_origin *origin);
/* The same for top-level blocks v of group gi, each to the set it belongs
 * in: single addresses to the hosts' hash set, the rest to the interval
 * set.  Keeps the order of v within each set.  0 or -errno. */
int compile_peer_elems(struct sg_plan *plan, const struct sg_config *cfg,
		       int gi, int af, const struct sg_cidr *v, size_t n,
		       bool del, const struct plan_origin *origin);
/* compile_sets.c: serialize a PLAN_CIDRELEMS message into buf (at least
 * 32 KiB); the message length or -errno. */
int compile_cidr_msg(const struct sg_plan *plan, const struct plan_msg *m,
		     char *buf, size_t len, uint32_t seq);
/* The members of list not contained in another member, sorted; *out is
 * malloc'd.  0 or -ENOMEM. */
int compile_toplevel(const struct sg_cidr *v, size_t n, int af,
		     struct sg_cidr **out, size_t *n_out);

/* plan.c */
void plan_init(struct sg_plan *plan);
void plan_free(struct sg_plan *plan);
/* Append; the plan owns obj from now on (also on error).  0 or -ENOMEM. */
int plan_add(struct sg_plan *plan, enum plan_kind kind, void *obj,
	     const struct plan_origin *origin);
/* A rule for chain with udata tag and comment, not yet added. */
struct nftnl_rule *plan_rule_new(const struct sg_plan *plan, const char *chain,
				 const char *tag, const char *comment);
/* Print every object (libnftnl's default format), one per line. */
int plan_print(FILE *f, const struct sg_plan *plan);
/* Serialize one message as the kernel would get it (test helper); returns
 * the message length or -errno. */
int plan_msg_build(const struct sg_plan *plan, size_t i, char *buf, size_t len,
		   uint32_t seq);



/* ---- engine internals (engine.c, commit.c, nldump.c, counters.c,
 * setdelta.c) ---- */
#include <libmnl/libmnl.h>

struct sg_engine {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;		/* next sequence number */
	char *table;
	struct flat *flat;	/* element -> rule map of the last commit */
	bool stale;		/* someone else changed our table since that
				 * commit (engine_invalidate): the next commit
				 * reads the table back (engine_adopt.c); or
				 * the plan's deletions could not be committed:
				 * this commit replaces the whole table */
	/* digest of the rules, chains and set declarations of the last
	 * full commit (commit.c): equal for the next plan = its rules are
	 * the ones in the kernel, and its deletions go in its transaction */
	uint64_t skeleton;
	bool skeleton_valid;
	bool post_pending;	/* commit_plan left the plan's post messages
				 * out: commit_plan_post must follow */
	bool rules_moved;	/* a commit changed the rules since the last
				 * grace period: packets may still run the
				 * older ones (commit_quiesce) */
	bool adopted;		/* the first commit read the kernel's sets
				 * back (engine_adopt.c), or tried to */
	unsigned long commits;	/* transactions the kernel accepted */
};

/* What is in our table now, from a dump (nldump.c). */
struct nl_state {
	uint32_t genid;		/* generation the dump was taken in */
	char **chains;		/* every chain except the base chains */
	size_t n_chains;
	char **sets;
	size_t n_sets;
	/* a chain named like plan_bases[i] exists */
	bool base_present[PLAN_N_BASES];
	/* it exists but is not what we create (another hook, priority or
	 * type, or a regular chain): the kernel cannot update those in
	 * place, so the batch deletes and re-creates them */
	bool base_mismatch[PLAN_N_BASES];
};

/* nldump.c: reads of our table on a netlink connection (the engine's,
 * nldump_conn; or drift's own, driftfp.c).  Each request takes the next
 * number of *seq. */
struct nl_conn {
	struct mnl_socket *nl;
	uint32_t *seq;
	const char *table;
};
/* The engine's connection. */
struct nl_conn nldump_conn(struct sg_engine *e);

/* A read that a concurrent commit made inconsistent (an interrupted dump,
 * or a generation that moved between the reads, or a commit refused with
 * -ERESTART because of it) is taken again, at most this many times: a
 * tool that rewrites the ruleset in a loop must not starve us forever. */
#define NLDUMP_TRIES 16

/* Send the request nlh and run cb on every answer until the end (what is
 * left of a failed dump is drained).  -EINTR: the kernel flagged the dump
 * as interrupted (NLM_F_DUMP_INTR: the ruleset changed while it was being
 * read); what cb saw is inconsistent and the caller must start over.
 * A callback's MNL_CB_ERROR is -errno, or -EIO when errno is 0. */
int nldump_run(const struct nl_conn *c, struct nlmsghdr *nlh, mnl_cb_t cb,
	       void *data);
/* Request type for family with flags (NLM_F_DUMP, NLM_F_ACK); with filter,
 * our table as attribute 1 (the table of a chain, set or rule request). */
int nldump_request(const struct nl_conn *c, uint16_t type, uint16_t flags,
		   uint8_t family, bool filter, mnl_cb_t cb, void *data);
int nldump_genid(const struct nl_conn *c, uint32_t *genid);
/* GETGEN, read(c, data), GETGEN: only when both generations agree is
 * what read saw one state, that of *genid.  Else read again (read first
 * discards what an earlier try left in data), at most NLDUMP_TRIES
 * times; then -EINTR.  On any error the caller frees what data holds. */
int nldump_consistent(const struct nl_conn *c,
		      int (*read)(const struct nl_conn *c, void *data), void *data,
		      uint32_t *genid);
/* Chains and sets of our table (empty when it does not exist), one
 * consistent state (nldump_consistent). */
int nldump_state(const struct nl_conn *c, struct nl_state *st);
void nldump_state_free(struct nl_state *st);
/* Call cb for every rule of our table (the rule is freed after).  -EINTR:
 * a concurrent commit interrupted the dump; what cb saw must be discarded
 * and the dump taken again. */
int nldump_rules(const struct nl_conn *c,
		 int (*cb)(const struct nftnl_rule *r, void *data), void *data);

/* nldump.c: every element of set `set` of our table (an NFTA_LIST_ELEM
 * nest of a NEWSETELEM message) to cb; a set that does not exist has
 * none.  -EINTR: the set changed during the dump; start over. */
int nldump_setelems(const struct nl_conn *c, const char *set,
		    int (*cb)(const struct nlattr *el, void *data), void *data);

/* driftfp.c, for drifttxn.c: the attributes (types below max) of an
 * nftables message.  0 or -EINVAL. */
int driftfp_attrs(const struct nlmsghdr *nlh, const struct nlattr **tb, int max);
/* A NUL-terminated string attribute, or NULL. */
const char *driftfp_str(const struct nlattr *a);

/* commit.c: send plan as one batch.  With st (a full reload), the batch
 * first creates the table and base chains (plan's head), flushes every
 * chain, deletes the chains the plan does not declare again, flushes,
 * deletes or keeps every set in st (commit_clear), and carries st->genid
 * so a concurrent change fails with -ERESTART.  The plan's post messages
 * go in the same batch when its rules are the kernel's (e->skeleton);
 * else they are left out and e->post_pending is set.  Kernel refusals
 * become diags at the origin of the refused message.  0 or -errno. */
int commit_plan(struct sg_engine *e, const struct sg_plan *plan,
		const struct nl_state *st, struct sg_diags *diags);

/* commit.c: the plan's post messages (deletions from kept sets that
 * commit_plan left out, e->post_pending) as one transaction.  0 or
 * -errno. */
int commit_plan_post(struct sg_engine *e, const struct sg_plan *plan,
		     struct sg_diags *diags);

/* engine_reuse.c: when the kernel holds the flat sets `old` (those of the
 * last commit, e->flat, or read back by engine_adopt_flat), turn the plan's concatenated interval (pipapo) sets that
 * exist there under the same name into element deltas and keep the sets:
 * the kernel makes a new pipapo set's elements visible only after the
 * new rules, so re-creating one would drop matching packets for an
 * instant.  With pre (plan_init'd), the element additions go there, to
 * be committed first (see engine_reuse.c); without, into plan.  0 or
 * -ENOMEM. */
int engine_flat_reuse(const struct flat *old, struct sg_plan *plan,
		      struct sg_plan *pre);
/* The kernel removes a pipapo element in time linear in the set (it cuts
 * the element's bit out of every lookup bitmap): past this many removals
 * a kept concat interval set would cost more than a new one.  A reload
 * that changes that much re-creates the set, and packets its new elements
 * match may be dropped for the instant engine_reuse.c describes.  (Hash
 * and rbtree sets remove an element in constant or logarithmic time.  A
 * hash set is kept unless the delta names more elements than the new
 * set holds, and then re-created in the plan's transaction, which is safe
 * for a hash set (commit.c); an rbtree set is always kept: re-created, it
 * would be empty for an instant, and flushed, empty for the old rules.) */
#define REUSE_MAX_DROPS 128

/* engine_adopt.c: the plan's flat sets (plan_flat) that the kernel holds,
 * with the elements it holds, as the old side of engine_flat_reuse; *out
 * is NULL when there are none (no table yet).  0 or -errno. */
int engine_adopt_flat(struct sg_engine *e, const struct flat *plan_flat,
		      struct flat **out);

/* engine.c: dump + commit with bounded retries on -ERESTART. */
int engine_apply_plan(struct sg_engine *e, const struct sg_plan *plan,
		      struct sg_diags *diags);

/* setdelta.c: elements to delete (in old, not new) and add (in new, not
 * old) for the top-level blocks of two member lists of family af, as
 * PLAN_ELEMS messages of group gi's sets in plan.  0 or -errno. */
int setdelta_plan(struct sg_plan *plan, const struct sg_config *cfg, int gi,
		  int af, const struct sg_cidr_list *old,
		  const struct sg_cidr_list *new_,
		  const struct plan_origin *origin);
#endif
