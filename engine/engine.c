/*
 * engine.c — the engine's entry points (engine.h): open the netlink
 * socket, compile and commit a configuration, send membership deltas.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include "engine.h"
#include "plan.h"
#include "flat.h"

int engine_open(struct sg_engine **out, const char *table)
{
	struct sg_engine *e = calloc(1, sizeof(*e));
	int one = 1, rc;

	*out = NULL;
	if (!e)
		return -ENOMEM;
	e->table = strdup(table && *table ? table : "sgd");
	e->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!e->table || !e->nl) {
		rc = e->table ? -errno : -ENOMEM;
		goto fail;
	}
	if (mnl_socket_bind(e->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto fail;
	}
	/* extended acks name the refused attribute; capped acks do not
	 * echo whole messages back (a refused 20 MB batch would) */
	if (mnl_socket_setsockopt(e->nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_setsockopt(e->nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0) {
		rc = -errno;
		goto fail;
	}
	e->portid = mnl_socket_get_portid(e->nl);
	e->seq = (uint32_t)time(NULL);
	*out = e;
	return 0;
fail:
	engine_close(e);
	return rc;
}

uint32_t engine_portid(const struct sg_engine *e)
{
	return e->portid;
}

unsigned long engine_commits(const struct sg_engine *e)
{
	return e->commits;
}

int engine_genid(struct sg_engine *e, uint32_t *genid)
{
	struct nl_conn c = nldump_conn(e);

	return nldump_genid(&c, genid);
}

void engine_invalidate(struct sg_engine *e)
{
	e->stale = true;
}

void engine_close(struct sg_engine *e)
{
	if (!e)
		return;
	if (e->nl)
		mnl_socket_close(e->nl);
	free(e->table);
	flat_free(e->flat);
	free(e);
}

int engine_apply_plan(struct sg_engine *e, const struct sg_plan *plan,
		      struct sg_diags *diags)
{
	struct nl_conn c = nldump_conn(e);
	int attempt, rc = -ERESTART;

	if (!plan->table || strcmp(plan->table, e->table) != 0) {
		diags_add(diags, NULL, "the plan is for table %s, the engine for %s",
			  plan->table ? plan->table : "(none)", e->table);
		return -EINVAL;
	}
	/* a concurrent change of the ruleset between our dump and our
	 * commit makes the kernel refuse the batch (-ERESTART): dump again */
	for (attempt = 0; attempt < NLDUMP_TRIES && rc == -ERESTART; attempt++) {
		struct nl_state st;

		rc = nldump_state(&c, &st);
		if (rc) {
			diags_add(diags, NULL, "reading table inet %s: %s", e->table,
				  strerror(-rc));
			return rc;
		}
		rc = commit_plan(e, plan, &st, diags);
		nldump_state_free(&st);
	}
	if (rc == -ERESTART)
		diags_add(diags, NULL, "the ruleset kept changing during %d attempts; "
			  "nothing was committed", NLDUMP_TRIES);
	if (rc == 0 && e->post_pending) {
		/* the rules changed: the kept sets' deletions follow in a
		 * transaction of their own (commit.c says why) */
		rc = commit_plan_post(e, plan, diags);
		if (rc) {
			/* the new rules are in, with old elements beside
			 * theirs: the caller replaces the whole table */
			diags_add(diags, NULL, "removing the elements the new ruleset "
				  "drops: %s", strerror(-rc));
			e->stale = true;
		}
	}
	return rc;
}

/* Compile cfg; with reuse (the kernel holds e->flat), keep the interval
 * concat sets and send element deltas, the additions into *pre when pre
 * is given. */
static int engine_compile(struct sg_engine *e, const struct sg_config *cfg,
			  const struct sg_members *m, bool reuse,
			  struct sg_plan *plan, struct sg_plan *pre,
			  struct sg_diags *diags)
{
	int rc = compile_config(cfg, m, plan);
	struct flat *adopted = NULL;

	if (pre)
		plan_init(pre);
	if (!rc && reuse && !e->flat && !e->adopted) {
		/* a first commit: what the kernel holds is the old side */
		e->adopted = true;
		rc = engine_adopt_flat(e, plan->flat, &adopted);
	}
	if (!rc && reuse) {
		rc = engine_flat_reuse(e->flat ? e->flat : adopted, plan, pre);
		flat_free(adopted);	/* the deltas hold copies */
		if (!rc && pre) {
			/* the additions' comments come from the plan's map */
			pre->table = strdup(plan->table);
			pre->flat = plan->flat;
			rc = pre->table ? 0 : -ENOMEM;
		}
	}
	if (rc) {
		if (pre) {
			pre->flat = NULL;
			plan_free(pre);
		}
		plan_free(plan);
		diags_add(diags, NULL, "compiling the ruleset: %s", strerror(-rc));
	}
	return rc;
}

static void engine_pre_free(struct sg_plan *pre)
{
	pre->flat = NULL;	/* the plan's */
	plan_free(pre);
}

/* Additions first (their own transaction), then the plan; if the plan is
 * refused, the additions are taken back.  0 or -errno. */
static int engine_apply_split(struct sg_engine *e, struct sg_plan *plan,
			      struct sg_plan *pre, struct sg_diags *diags)
{
	size_t i;
	int rc = pre->n ? commit_plan(e, pre, NULL, diags) : 0;

	if (rc)
		return rc;
	rc = engine_apply_plan(e, plan, diags);
	/* (stale: the plan is in, only its deletions failed; the additions
	 * are part of it now) */
	if (rc && pre->n && !e->stale) {
		struct sg_diags undo;

		for (i = 0; i < pre->n; i++)
			pre->v[i].del = true;
		diags_init(&undo);
		if (commit_plan(e, pre, NULL, &undo))
			diags_add(diags, NULL, "could not take back the elements added "
				  "before the refused transaction");
		diags_free(&undo);
	}
	return rc;
}

int engine_apply(struct sg_engine *e, const struct sg_config *cfg,
		 const struct sg_members *m, struct sg_diags *diags)
{
	struct sg_plan plan, pre;
	struct sg_diags first;
	int rc;

	if (cfg->table && strcmp(cfg->table, e->table) != 0) {
		diags_add(diags, &cfg->table_pos, "table %s: sgd is running for table %s;"
			  " restart it to change tables", cfg->table, e->table);
		return -EINVAL;
	}
	/* someone else changed the table: read it back (engine_adopt.c)
	 * rather than trust what we committed last */
	if (e->stale) {
		flat_free(e->flat);
		e->flat = NULL;
		e->adopted = false;
		e->skeleton_valid = false;
		e->stale = false;
	}
	/* 1. the kernel holds our last commit: sets kept, interval sets'
	 *    additions committed first; 2. if the kernel refuses those (an
	 *    addition overlapping an element the plan deletes), additions
	 *    and deletions in the one transaction; 3. else (or without a
	 *    last commit) everything replaced */
	if (e->flat || !e->adopted) {
		diags_init(&first);
		rc = engine_compile(e, cfg, m, true, &plan, &pre, &first);
		if (!rc) {
			if (plan.n_keep > 0) {
				rc = engine_apply_split(e, &plan, &pre, &first);
			} else {
				rc = engine_apply_plan(e, &plan, diags);
				engine_pre_free(&pre);
				diags_free(&first);
				goto done;
			}
			engine_pre_free(&pre);
			if (rc && !e->stale) {
				plan_free(&plan);
				rc = engine_compile(e, cfg, m, true, &plan, NULL, &first);
				if (!rc && plan.n_keep > 0)
					rc = engine_apply_plan(e, &plan, &first);
				else if (!rc)
					rc = -EAGAIN;
				if (rc && !plan.table)
					plan_init(&plan);
			}
		}
		diags_free(&first);
		if (!rc)
			goto done;
		plan_free(&plan);
	}
	rc = engine_compile(e, cfg, m, false, &plan, NULL, diags);
	if (rc)
		return rc;
	rc = engine_apply_plan(e, &plan, diags);
done:
	if (rc == 0) {
		/* the element -> rule map of what is now in the kernel; the
		 * rule pointers die with cfg, the map keeps indices and names */
		size_t i;

		flat_free(e->flat);
		e->flat = plan.flat;
		plan.flat = NULL;
		e->stale = false;
		for (i = 0; i < e->flat->n_refs; i++)
			e->flat->refs[i].rule = NULL;
		free(e->flat->rest);	/* only the compiler needs them */
		e->flat->rest = NULL;
		e->flat->n_rest = e->flat->cap_rest = 0;
	}
	plan_free(&plan);
	return rc;
}

int engine_members_update(struct sg_engine *e, const struct sg_config *cfg,
			  int group_idx, const struct sg_cidr_list *old,
			  const struct sg_cidr_list *new_, struct sg_diags *diags)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct plan_origin origin = { .pos = { 0 } };
	struct sg_plan plan;
	int k, rc = 0;

	if (group_idx < 0 || (size_t)group_idx >= cfg->n_groups)
		return -EINVAL;
	/* a group no compiled rule names has no set in the kernel */
	if (!compile_group_referenced(cfg, group_idx))
		return 0;
	plan_init(&plan);
	plan.table = strdup(e->table);
	if (!plan.table)
		return -ENOMEM;
	origin.pos = cfg->groups[group_idx].pos;
	snprintf(origin.what, sizeof(origin.what), "members of %.80s",
		 cfg->groups[group_idx].name);
	for (k = 0; !rc && k < 2; k++)
		rc = setdelta_plan(&plan, cfg, group_idx, families[k], old, new_,
				   &origin);
	if (rc)
		diags_add(diags, NULL, "computing the member delta: %s", strerror(-rc));
	else if (plan.n > 0)
		rc = commit_plan(e, &plan, NULL, diags);
	plan_free(&plan);
	return rc;
}
