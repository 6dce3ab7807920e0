/*
 * engine_delta.c — explicit membership element changes (engine.h,
 * engine_members_delta): the caller knows exactly which top-level blocks
 * come and go (memindex.c), so nothing is diffed, dumped or re-sent.
 *
 * Operations keep their order: consecutive operations of the same kind
 * (add or delete) on the same set share messages, and a delete that must
 * precede an add (a wider block replacing narrower ones) stays before it
 * in the one transaction, so no packet sees a gap.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "plan.h"

/* Messages for ops[first..end) (same family and kind) of group gi. */
static int engine_delta_run(struct sg_plan *plan, const struct sg_config *cfg,
			    int gi, const struct sg_member_op *ops, size_t n,
			    struct sg_cidr *tmp)
{
	struct plan_origin origin = { .pos = cfg->groups[gi].pos };
	int af = ops[0].c.family;
	size_t i;

	snprintf(origin.what, sizeof(origin.what), "members of %.80s",
		 cfg->groups[gi].name);
	for (i = 0; i < n; i++) {
		tmp[i] = ops[i].c;
		/* the element key is the first 4 bytes for IPv4 */
		if (af == AF_INET)
			memset(tmp[i].addr.bytes + 4, 0, 12);
	}
	/* {add|delete} element inet <table> peer_<group>_<af>_hosts { <addrs> }
	 * {add|delete} element inet <table> peer_<group>_<af> { <blocks> } */
	return compile_peer_elems(plan, cfg, gi, af, tmp, n, ops[0].del, &origin);
}

static int engine_delta_group(struct sg_plan *plan, const struct sg_config *cfg,
			      const struct sg_member_delta *dl)
{
	struct sg_cidr *tmp;
	size_t i = 0, k;
	int rc = 0;

	if (dl->group_idx < 0 || (size_t)dl->group_idx >= cfg->n_groups)
		return -EINVAL;
	/* a group no compiled rule names has no set in the kernel */
	if (!dl->n || !compile_group_referenced(cfg, dl->group_idx))
		return 0;
	tmp = malloc(dl->n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	while (i < dl->n && !rc) {
		const struct sg_member_op *o = &dl->ops[i];

		if (o->c.family != AF_INET && o->c.family != AF_INET6) {
			rc = -EINVAL;
			break;
		}
		for (k = i + 1; k < dl->n && dl->ops[k].del == o->del &&
		     dl->ops[k].c.family == o->c.family; k++)
			;
		rc = engine_delta_run(plan, cfg, dl->group_idx, o, k - i, tmp);
		i = k;
	}
	free(tmp);
	return rc;
}

int engine_members_delta(struct sg_engine *e, const struct sg_config *cfg,
			 const struct sg_member_delta *v, size_t n,
			 struct sg_diags *diags)
{
	struct sg_plan plan;
	size_t i;
	int rc = 0;

	plan_init(&plan);
	plan.table = strdup(e->table);
	if (!plan.table)
		return -ENOMEM;
	for (i = 0; i < n && !rc; i++)
		rc = engine_delta_group(&plan, cfg, &v[i]);
	if (rc)
		diags_add(diags, NULL, "building the member delta: %s",
			  strerror(-rc));
	else if (plan.n > 0)
		rc = commit_plan(e, &plan, NULL, diags);
	plan_free(&plan);
	return rc;
}
