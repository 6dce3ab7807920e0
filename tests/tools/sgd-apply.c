/*
 * sgd-apply — test tool: load a configuration directory and commit it with
 * the engine, the way sgd does, without the daemon around it.
 *
 *   sgd-apply [options] CONFDIR
 *     --plan              print the compiled plan instead of committing
 *     --tamper GROUP:DIR:N  corrupt (invalid verdict) the first nft rule of
 *                         GROUP's DIR (in|out) rule N before committing,
 *                         or its first set element when the rule is flat
 *                         (a data attribute the set does not take), so the
 *                         kernel refuses the batch
 *     --dup-set SET       declare set SET twice, as two groups whose names
 *                         encoded to one set name once did: the second
 *                         declaration must fail the batch (NLM_F_EXCL)
 *     --alternate DIR2    with --repeat: commit CONFDIR and DIR2 in turn
 *     --repeat N          commit N times (default 1)
 *     --pause MS          with --repeat: sleep MS milliseconds between commits
 *     --members GROUP OLD NEW  instead of a full commit, send the member
 *                         delta OLD -> NEW (comma-separated CIDRs, "-" = none)
 *     --counters          print every counter (read only, no commit)
 *     --time              print the time each commit took (ms) on stderr
 * Exit 0 on success, 1 on any error (diagnostics on stderr), 2 on usage.
 */
#include <errno.h>
#include <netinet/in.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>
#include "config.h"
#include "engine.h"
#include "plan.h"
#include "flat.h"
#include "nlbuild.h"

struct tool {
	const char *confdir, *alternate, *tamper, *dup_set;
	const char *mgroup, *mold, *mnew;
	int repeat, pause_ms;
	bool plan, counters, timing;
};

static int tool_members(const struct sg_config *cfg, struct sg_members *m)
{
	size_t i, k;

	m->n_groups = cfg->n_groups;
	m->by_group = calloc(cfg->n_groups ? cfg->n_groups : 1, sizeof(*m->by_group));
	if (!m->by_group)
		return -ENOMEM;
	for (i = 0; i < cfg->n_groups; i++)
		for (k = 0; k < cfg->groups[i].n_members; k++)
			if (cidr_list_add(&m->by_group[i], &cfg->groups[i].members[k].cidr))
				return -ENOMEM;
	return 0;
}

static void tool_members_free(struct sg_members *m)
{
	size_t i;

	for (i = 0; i < m->n_groups; i++)
		cidr_list_free(&m->by_group[i]);
	free(m->by_group);
}

static int tool_parse_list(const char *s, struct sg_cidr_list *l)
{
	char *copy, *tok, *save = NULL;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	if (strcmp(s, "-") == 0)
		return 0;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		struct sg_cidr c;

		rc = cidr_parse(tok, &c);
		if (rc)
			fprintf(stderr, "sgd-apply: bad CIDR %s\n", tok);
		else
			rc = cidr_list_add(l, &c);
	}
	free(copy);
	return rc;
}

/* Find GROUP:DIR:N's first nft rule in the plan and make it invalid. */
static int tool_tamper(struct sg_plan *plan, const char *spec)
{
	char group[256], dir[8], chain[300], what[64], tag[300];
	int n;
	size_t i;

	if (sscanf(spec, "%255[^:]:%7[^:]:%d", group, dir, &n) != 3)
		return -EINVAL;
	snprintf(chain, sizeof(chain), "%s_%s", dir, group);
	snprintf(what, sizeof(what), "%s rule %d",
		 strcmp(dir, "in") == 0 ? "ingress" : "egress", n);
	snprintf(tag, sizeof(tag), "sgd1 R %s %d %s", dir, n, group);
	for (i = 0; i < plan->n; i++) {
		struct plan_msg *m = &plan->v[i];
		const void *ud;
		uint32_t udlen = 0;

		if (m->kind != PLAN_RULE || strcmp(m->origin.what, what) != 0)
			continue;
		/* the group's own chain, or (a globally attached group's rule
		 * that stays a rule) a per-protocol chain: found by its tag */
		ud = nftnl_rule_get_data(m->o.rule, NFTNL_RULE_USERDATA, &udlen);
		if (strcmp(nftnl_rule_get_str(m->o.rule, NFTNL_RULE_CHAIN), chain) != 0 &&
		    (!ud || !memmem(ud, udlen, tag, strlen(tag) + 1)))
			continue;
		/* a verdict code the kernel does not know: -EINVAL */
		return nlb_verdict(m->o.rule, 12345, NULL);
	}
	/* a rule of a globally attached group: its first set element */
	for (i = 0; plan->flat && i < plan->flat->n_sets; i++) {
		struct flat_set *s = &plan->flat->sets[i];
		size_t k;

		for (k = 0; k < s->n; k++) {
			const struct flat_ref *ref = &plan->flat->refs[s->v[k].ref];

			if (ref->index != n || (ref->dir == SG_DIR_IN) != (strcmp(dir, "in") == 0) ||
			    !plan->flat->gnames[ref->gi] ||
			    strcmp(plan->flat->gnames[ref->gi], group) != 0)
				continue;
			s->v[k].malformed = true;
			return 0;
		}
	}
	fprintf(stderr, "sgd-apply: no rule %s in the plan\n", spec);
	return -ENOENT;
}

/* Declare set `name` a second time, right after its declaration. */
static int tool_dup_set(struct sg_plan *plan, const char *name)
{
	struct plan_origin origin = { .pos = { 0 } };
	char buf[8192];
	struct nlmsghdr *nlh;
	size_t i;
	int rc;

	for (i = 0; i < plan->n; i++) {
		struct nftnl_set *copy;
		struct plan_msg m;

		if (plan->v[i].kind != PLAN_SET ||
		    strcmp(nftnl_set_get_str(plan->v[i].o.set, NFTNL_SET_NAME), name) != 0)
			continue;
		/* a copy through its own netlink form (libnftnl exports no
		 * clone) */
		copy = nftnl_set_alloc();
		if (!copy)
			return -ENOMEM;
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, NFPROTO_INET, 0, 0);
		nftnl_set_nlmsg_build_payload(nlh, plan->v[i].o.set);
		if (nftnl_set_nlmsg_parse(nlh, copy) < 0) {
			nftnl_set_free(copy);
			return -EINVAL;
		}
		snprintf(origin.what, sizeof(origin.what), "set %.80s (again)", name);
		rc = plan_add(plan, PLAN_SET, copy, &origin);
		if (rc)
			return rc;
		m = plan->v[plan->n - 1];
		memmove(&plan->v[i + 2], &plan->v[i + 1],
			(plan->n - 2 - i) * sizeof(*plan->v));
		plan->v[i + 1] = m;
		return 0;
	}
	fprintf(stderr, "sgd-apply: no set %s in the plan\n", name);
	return -ENOENT;
}

static double tool_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static int tool_load(const char *dir, struct sg_config **cfg, struct sg_members *m)
{
	struct sg_diags d;
	int rc;

	diags_init(&d);
	rc = config_load(dir, cfg, &d);
	diags_print(stderr, &d);
	diags_free(&d);
	if (rc)
		return rc;
	return tool_members(*cfg, m);
}

static int tool_print_counters(struct sg_engine *e, const struct sg_config *cfg)
{
	struct sg_counter *v;
	size_t n, i;
	int rc = engine_read_counters(e, cfg, &v, &n);

	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		const struct sg_counter *c = &v[i];
		/* the forward path's own counters: "fwd-in", "fwd-out" */
		const char *d = c->forward ? (c->dir == SG_DIR_IN ? "fwd-in" : "fwd-out")
					   : (c->dir == SG_DIR_IN ? "in" : "out");

		switch (c->kind) {
		case SG_CNT_RULE:
			printf("rule %s %s %d", cfg->groups[c->group_idx].name, d,
			       c->rule_index);
			break;
		case SG_CNT_FAILSAFE:
			printf("failsafe %d", c->rule_index);
			break;
		case SG_CNT_IMPLICIT:
			printf("implicit %s %s", d, c->name);
			break;
		case SG_CNT_STATEFUL:
			printf("stateful %s", d);
			break;
		case SG_CNT_DROP:
			printf("drop %s", d);
			break;
		}
		printf(" packets %llu bytes %llu\n", (unsigned long long)c->packets,
		       (unsigned long long)c->bytes);
	}
	free(v);
	return 0;
}

static int tool_run(const struct tool *t)
{
	struct sg_config *cfg[2] = { NULL, NULL };
	struct sg_members mem[2] = { { 0 }, { 0 } };
	struct sg_engine *e = NULL;
	struct sg_diags d;
	int rc, i;

	diags_init(&d);
	rc = tool_load(t->confdir, &cfg[0], &mem[0]);
	if (!rc && t->alternate)
		rc = tool_load(t->alternate, &cfg[1], &mem[1]);
	if (rc)
		goto out;
	if (t->plan || t->tamper || t->dup_set) {
		struct sg_plan plan;

		rc = compile_config(cfg[0], &mem[0], &plan);
		if (!rc && t->tamper)
			rc = tool_tamper(&plan, t->tamper);
		if (!rc && t->dup_set)
			rc = tool_dup_set(&plan, t->dup_set);
		if (!rc && t->plan)
			rc = plan_print(stdout, &plan);
		if (!rc && !t->plan) {
			rc = engine_open(&e, cfg[0]->table);
			if (!rc)
				rc = engine_apply_plan(e, &plan, &d);
		}
		plan_free(&plan);
		goto out;
	}
	rc = engine_open(&e, cfg[0]->table);
	if (rc) {
		fprintf(stderr, "sgd-apply: netlink: %s\n", strerror(-rc));
		goto out;
	}
	if (t->mgroup) {
		struct sg_cidr_list lo, ln;
		int gi = config_find_group(cfg[0], t->mgroup);

		if (gi < 0) {
			fprintf(stderr, "sgd-apply: no group %s\n", t->mgroup);
			rc = -ENOENT;
			goto out;
		}
		rc = tool_parse_list(t->mold, &lo);
		if (!rc)
			rc = tool_parse_list(t->mnew, &ln);
		if (!rc)
			rc = engine_members_update(e, cfg[0], gi, &lo, &ln, &d);
		cidr_list_free(&lo);
		cidr_list_free(&ln);
		goto out;
	}
	if (t->counters) {
		rc = tool_print_counters(e, cfg[0]);
		goto out;
	}
	for (i = 0; i < t->repeat && !rc; i++) {
		int k = t->alternate ? i % 2 : 0;
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = engine_apply(e, cfg[k], &mem[k], &d);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (t->timing)
			fprintf(stderr, "commit %d: %.1f ms\n", i + 1, tool_ms(&a, &b));
		if (t->pause_ms > 0 && i + 1 < t->repeat) {
			struct timespec p = { t->pause_ms / 1000,
					      (t->pause_ms % 1000) * 1000000L };

			nanosleep(&p, NULL);
		}
	}
out:
	diags_print(stderr, &d);
	if (rc && d.n == 0)
		fprintf(stderr, "sgd-apply: %s\n", strerror(-rc));
	diags_free(&d);
	engine_close(e);
	for (i = 0; i < 2; i++) {
		if (cfg[i]) {
			tool_members_free(&mem[i]);
			config_free(cfg[i]);
		}
	}
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "plan", no_argument, NULL, 'p' },
		{ "tamper", required_argument, NULL, 't' },
		{ "dup-set", required_argument, NULL, 'd' },
		{ "alternate", required_argument, NULL, 'a' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "members", required_argument, NULL, 'm' },
		{ "counters", no_argument, NULL, 'c' },
		{ "time", no_argument, NULL, 'T' },
		{ "pause", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct tool t = { .repeat = 1 };
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': t.plan = true; break;
		case 't': t.tamper = optarg; break;
		case 'd': t.dup_set = optarg; break;
		case 'a': t.alternate = optarg; break;
		case 'r': t.repeat = atoi(optarg); break;
		case 'c': t.counters = true; break;
		case 'T': t.timing = true; break;
		case 'P': t.pause_ms = atoi(optarg); break;
		case 'm':
			if (optind + 1 >= argc)
				goto usage;
			t.mgroup = optarg;
			t.mold = argv[optind++];
			t.mnew = argv[optind++];
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || t.repeat < 1)
		goto usage;
	t.confdir = argv[optind];
	return tool_run(&t);
usage:
	fprintf(stderr, "usage: sgd-apply [--plan] [--tamper GROUP:in|out:N] [--dup-set SET] "
		"[--alternate DIR2 --repeat N [--pause MS]] [--members GROUP OLD NEW] "
		"[--counters] [--time] CONFDIR\n");
	return 2;
}
