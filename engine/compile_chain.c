/*
 * compile_chain.c — what every chain of the plan is built of: a chain's
 * declaration, a rule added with its origin, the log-and-drop end of a
 * base chain, and whether a group keeps a chain of its own.  Below
 * compile.c and compile_forward.c, which both build chains with them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include "plan.h"
#include "nlbuild.h"
#include "nft_abi.h"

int compile_add_rule(struct sg_plan *plan, struct nftnl_rule *r, int rc,
		     const char *what)
{
	struct plan_origin origin = { .pos = { 0 } };

	if (rc) {
		nftnl_rule_free(r);
		return rc;
	}
	snprintf(origin.what, sizeof(origin.what), "%s", what);
	return plan_add(plan, PLAN_RULE, r, &origin);
}

int compile_chain_decl(struct sg_plan *plan, const char *name,
			const struct sg_pos *pos)
{
	struct plan_origin origin = { .pos = *pos };
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return -ENOMEM;
	/* chain <name> */
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, plan->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	snprintf(origin.what, sizeof(origin.what), "chain %.80s", name);
	return plan_add(plan, PLAN_CHAIN, c, &origin);
}

int compile_ct_replies(struct sg_plan *plan, const char *chain, const char *tag)
{
	struct nftnl_rule *r;
	int rc;

	r = plan_rule_new(plan, chain, tag, "stateful: replies to allowed traffic");
	if (!r)
		return -ENOMEM;
	/* ct state established,related counter accept */
	rc = nlb_match_ct_state(r, ABI_CT_ESTABLISHED | ABI_CT_RELATED);
	if (!rc)
		rc = nlb_counter(r);
	if (!rc)
		rc = nlb_verdict(r, NF_ACCEPT, NULL);
	return compile_add_rule(plan, r, rc, "ct state established,related");
}

int compile_drop_tail(struct sg_plan *plan, const struct sg_config *cfg,
		      const char *chain, const char *prefix, const char *log_comment,
		      const char *tag, const char *comment, const char *what)
{
	struct nftnl_rule *r;
	int rc;

	if (cfg->log_denied) {
		r = plan_rule_new(plan, chain, NULL, log_comment);
		if (!r)
			return -ENOMEM;
		/* limit rate 10/second burst 20 packets log group 100 prefix "sgd-in "
		 * (`sgctl log` reads the direction from the prefix's end) */
		rc = nlb_limit(r, 10, 1, 20);
		if (!rc)
			rc = nlb_log(r, ABI_LOG_GROUP, prefix);
		rc = compile_add_rule(plan, r, rc, "log denied");
		if (rc)
			return rc;
	}
	r = plan_rule_new(plan, chain, tag, comment);
	if (!r)
		return -ENOMEM;
	/* counter drop */
	rc = nlb_counter(r);
	if (!rc)
		rc = nlb_verdict(r, NF_DROP, NULL);
	return compile_add_rule(plan, r, rc, what);
}

/* A group attached to an interface keeps its own chain (a global
 * attachment alone goes into the flat sets). */
bool compile_group_on_iface(const struct sg_config *cfg, int gi)
{
	size_t i, k;

	for (i = 0; i < cfg->n_ifaces; i++)
		for (k = 0; k < cfg->ifaces[i].n_groups; k++)
			if (cfg->ifaces[i].groups[k].group_idx == gi)
				return true;
	return false;
}
