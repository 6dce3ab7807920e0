/*
 * diff.c — rule-level difference of two configurations.
 *
 * Each configuration is flattened into lines that say one thing each
 * ("web-server in tcp 80 from 0.0.0.0/0"); the diff is the set difference
 * of the two sorted lists.  Group peers are named, not counted, so a
 * membership change shows as member lines, not as changed rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "render_fmt.h"

struct diff_list {
	struct sg_diff_entry *v;
	size_t n;
	size_t cap;
	int err;
};

const char *diff_kind_name(enum sg_diff_kind k)
{
	switch (k) {
	case SG_DIFF_SETTING: return "setting";
	case SG_DIFF_ATTACH: return "attach";
	case SG_DIFF_FAILSAFE: return "failsafe";
	case SG_DIFF_RULE: return "rule";
	case SG_DIFF_MEMBER: return "member";
	}
	return "?";
}

static void entry_free(struct sg_diff_entry *e)
{
	free(e->group);
	free(e->iface);
	free(e->text);
}

static char *dup_or_null(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

static void list_add(struct diff_list *l, enum sg_diff_kind kind, const char *group,
		     const char *iface, int dir, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void list_add(struct diff_list *l, enum sg_diff_kind kind, const char *group,
		     const char *iface, int dir, const char *fmt, ...)
{
	struct sg_diff_entry e = { .kind = kind, .dir = dir };
	va_list ap;
	int r;

	if (l->err)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct sg_diff_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	va_start(ap, fmt);
	r = vasprintf(&e.text, fmt, ap);
	va_end(ap);
	if (r < 0) {
		l->err = -ENOMEM;
		return;
	}
	e.group = dup_or_null(group, &l->err);
	e.iface = dup_or_null(iface, &l->err);
	if (l->err) {
		entry_free(&e);
		return;
	}
	l->v[l->n++] = e;
}

/* "tcp 80 from 0.0.0.0/0" / "all from app-servers" */
static void rule_text(const struct sg_rule *r, const struct sg_peer *p,
		      char *buf, size_t len)
{
	char pb[FMT_LEN], portb[FMT_LEN], cb[FMT_LEN];

	snprintf(buf, len, "%s %s %s %s%s%s%s", fmt_proto(r->proto, pb, sizeof(pb)),
		 fmt_ports(r, portb, sizeof(portb)),
		 r->dir == SG_DIR_IN ? "from" : "to",
		 p->kind == SG_PEER_CIDR ? fmt_cidr(&p->cidr, cb, sizeof(cb)) :
		 p->group_ref ? p->group_ref : "?",
		 r->description ? " \"" : "", r->description ? r->description : "",
		 r->description ? "\"" : "");
}

static void flat_rules(struct diff_list *l, const struct sg_config *cfg,
		       const struct sg_group *g, const char *iface,
		       const struct sg_rule *rules, size_t n)
{
	char buf[1024];
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < rules[i].n_peers; k++) {
			const struct sg_peer *p = &rules[i].peers[k];
			struct sg_peer named = *p;

			/* name peers by group name, whatever the rule wrote */
			if (p->kind == SG_PEER_GROUP && p->group_idx >= 0)
				named.group_ref = (char *)fmt_group(cfg, p->group_idx);
			rule_text(&rules[i], &named, buf, sizeof(buf));
			list_add(l, SG_DIFF_RULE, g->name, iface, rules[i].dir,
				 "%s %s %s%s%s", g->name, fmt_dir(rules[i].dir), buf,
				 iface ? " on " : "", iface ? iface : "");
		}
}

static bool attach_has(const struct sg_config *cfg, int gi)
{
	size_t i;

	for (i = 0; i < cfg->n_attach; i++)
		if (cfg->attach[i].group_idx == gi)
			return true;
	return false;
}

static void flat_group(struct diff_list *l, const struct sg_config *cfg, int gi,
		       const char *iface)
{
	const struct sg_group *g;

	if (gi < 0 || (size_t)gi >= cfg->n_groups)
		return;
	g = &cfg->groups[gi];
	list_add(l, SG_DIFF_ATTACH, g->name, iface, -1, "attach %s on %s", g->name,
		 iface ? iface : "every interface");
	flat_rules(l, cfg, g, iface, g->ingress, g->n_ingress);
	flat_rules(l, cfg, g, iface, g->egress, g->n_egress);
}

static void flat_config(struct diff_list *l, const struct sg_config *cfg)
{
	char buf[1024], cb[FMT_LEN];
	size_t i, k;

	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "table: %s", cfg->table ? cfg->table : "sgd");
	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "implicit.loopback: %s",
		 cfg->implicit.loopback ? "true" : "false");
	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "implicit.dhcp: %s",
		 cfg->implicit.dhcp ? "true" : "false");
	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "implicit.ipv6_nd: %s",
		 cfg->implicit.ipv6_nd ? "true" : "false");
	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "implicit.metadata: %s",
		 cfg->implicit.metadata ? "true" : "false");
	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "implicit.ipv6_redirects: %s",
		 cfg->implicit.ipv6_redirects ? "true" : "false");
	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "implicit.aws_dns: %s",
		 cfg->implicit.aws_dns ? "true" : "false");
	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "implicit.aws_ntp: %s",
		 cfg->implicit.aws_ntp ? "true" : "false");
	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "log_denied: %s",
		 cfg->log_denied ? "true" : "false");
	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "on_drift: %s",
		 cfg->on_drift == SG_DRIFT_WARN ? "warn" : "repair");
	list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "forward: %s",
		 sg_forward_name(cfg->forward));
	if (cfg->control_group)
		list_add(l, SG_DIFF_SETTING, NULL, NULL, -1, "control_group: %s",
			 cfg->control_group);
	for (i = 0; i < cfg->n_failsafe; i++)
		for (k = 0; k < cfg->failsafe[i].n_peers; k++) {
			rule_text(&cfg->failsafe[i], &cfg->failsafe[i].peers[k], buf, sizeof(buf));
			list_add(l, SG_DIFF_FAILSAFE, NULL, NULL, SG_DIR_IN, "failsafe in %s", buf);
		}
	for (i = 0; i < cfg->n_attach; i++)
		flat_group(l, cfg, cfg->attach[i].group_idx, NULL);
	for (i = 0; i < cfg->n_ifaces; i++)
		for (k = 0; k < cfg->ifaces[i].n_groups; k++) {
			int gi = cfg->ifaces[i].groups[k].group_idx;

			if (!attach_has(cfg, gi))
				flat_group(l, cfg, gi, cfg->ifaces[i].ifname);
		}
	for (i = 0; i < cfg->n_groups; i++)
		for (k = 0; k < cfg->groups[i].n_members; k++)
			list_add(l, SG_DIFF_MEMBER, cfg->groups[i].name, NULL, -1,
				 "member of %s: %s", cfg->groups[i].name,
				 fmt_cidr(&cfg->groups[i].members[k].cidr, cb, sizeof(cb)));
}

static int entry_cmp(const void *a, const void *b)
{
	const struct sg_diff_entry *x = a, *y = b;

	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	return strcmp(x->text, y->text);
}

/* Sort and drop exact duplicates (a group attached twice). */
static void list_normalize(struct diff_list *l)
{
	size_t i, o = 0;

	if (l->n == 0)
		return;		/* qsort's base must not be NULL, even for 0 */
	qsort(l->v, l->n, sizeof(*l->v), entry_cmp);
	for (i = 0; i < l->n; i++) {
		if (o > 0 && entry_cmp(&l->v[o - 1], &l->v[i]) == 0) {
			entry_free(&l->v[i]);
			continue;
		}
		l->v[o++] = l->v[i];
	}
	l->n = o;
}

static void list_free(struct diff_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		entry_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Move entry e into *v (growing it); e's strings change owner. */
static int take(struct sg_diff_entry **v, size_t *n, struct sg_diff_entry *e)
{
	struct sg_diff_entry *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[(*n)++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

int diff_configs(const struct sg_config *old, const struct sg_config *new_,
		 struct sg_diff *out)
{
	struct diff_list a = { 0 }, b = { 0 };
	size_t i = 0, k = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (old)
		flat_config(&a, old);
	if (new_)
		flat_config(&b, new_);
	r = a.err ? a.err : b.err;
	if (r == 0) {
		list_normalize(&a);
		list_normalize(&b);
	}
	while (r == 0 && (i < a.n || k < b.n)) {
		int c = i >= a.n ? 1 : k >= b.n ? -1 : entry_cmp(&a.v[i], &b.v[k]);

		if (c == 0) {
			i++;
			k++;
		} else if (c < 0) {
			r = take(&out->removed, &out->n_removed, &a.v[i++]);
		} else {
			r = take(&out->added, &out->n_added, &b.v[k++]);
		}
	}
	list_free(&a);
	list_free(&b);
	return r;
}

void diff_free(struct sg_diff *d)
{
	size_t i;

	for (i = 0; i < d->n_added; i++)
		entry_free(&d->added[i]);
	for (i = 0; i < d->n_removed; i++)
		entry_free(&d->removed[i]);
	free(d->added);
	free(d->removed);
	memset(d, 0, sizeof(*d));
}
