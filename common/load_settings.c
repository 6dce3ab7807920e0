/*
 * load_settings.c — the host settings of sgd.yaml: table, attach,
 * interfaces, implicit, log_denied, on_drift, forward, failsafe,
 * control_group.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

static int load_ref_cmp(const void *a, const void *b)
{
	const struct sg_ref *x = *(const struct sg_ref *const *)a;
	const struct sg_ref *y = *(const struct sg_ref *const *)b;
	int r = strcmp(x->name, y->name);

	return r ? r : (x < y ? -1 : x > y);
}

/* Report and drop every repeated name, keeping the first; sorting keeps
 * this O(n log n) for hostile lists.  -EINVAL when one was found. */
static int load_refs_dedupe(struct ld_ctx *c, const char *key, struct sg_ref *v, size_t *n)
{
	struct sg_ref **idx;
	size_t k = 0;
	int r = 0;

	if (*n < 2)
		return 0;
	idx = malloc(*n * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++)
		idx[i] = &v[i];
	qsort(idx, *n, sizeof(*idx), load_ref_cmp);
	for (size_t i = 1; i < *n; i++) {
		size_t first = i - 1;

		while (i < *n && strcmp(idx[i]->name, idx[first]->name) == 0) {
			diags_add(c->d, &idx[i]->pos, "%s: group '%s' is listed twice (first at "
				  "line %d, column %d)", key, idx[i]->name, idx[first]->pos.line,
				  idx[first]->pos.col);
			free(idx[i]->name);
			idx[i]->name = NULL;
			r = -EINVAL;
			i++;
		}
	}
	free(idx);
	for (size_t i = 0; i < *n; i++)
		if (v[i].name)
			v[k++] = v[i];
	*n = k;
	return r;
}

static int load_refs(struct ld_ctx *c, const char *key, const struct yt_node *v,
		     struct sg_ref **out, size_t *n)
{
	const struct yt_node *l = load_list(c, key, v, "group names");
	int r = 0;

	if (!l)
		return -EINVAL;
	*out = calloc(l->n_items ? l->n_items : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < l->n_items; i++) {
		const struct yt_node *it = l->items[i];
		const char *s = load_scalar(c, key, it, "a group name or id");
		struct sg_ref *ref;

		if (!s) {
			r = -EINVAL;
			continue;
		}
		if (!load_group_name_valid(s) && !load_group_id_valid(s)) {
			diags_add(c->d, &it->pos, "%s: '%s' is not a valid group name or id", key, s);
			r = -EINVAL;
			continue;
		}
		ref = &(*out)[(*n)++];
		ref->group_idx = -1;
		ref->pos = it->pos;
		if (!(ref->name = strdup(s)))
			return -ENOMEM;
	}
	return load_refs_dedupe(c, key, *out, n) < 0 ? -EINVAL : r;
}

/* Linux dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or
 * white space. */
static bool load_ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 16 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			return false;
	return true;
}

static int load_ifaces(struct ld_ctx *c, const struct yt_node *v)
{
	struct sg_config *cfg = c->cfg;
	int r = 0;

	if (v->kind != YT_MAP) {
		diags_add(c->d, &v->pos, "interfaces: expected a mapping of interface name "
			  "to list of groups, got %s", yt_describe(v));
		return -EINVAL;
	}
	cfg->ifaces = calloc(v->n_pairs ? v->n_pairs : 1, sizeof(*cfg->ifaces));
	if (!cfg->ifaces)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_pairs; i++) {
		const struct yt_node *k = v->pairs[i].key;
		struct sg_iface *ifc;
		char *key;

		if (!load_ifname_valid(k->str)) {
			diags_add(c->d, &k->pos, "interfaces: '%s' is not a valid interface name "
				  "(1 to 15 bytes, no '/', ':' or spaces)", k->str);
			r = -EINVAL;
			continue;
		}
		ifc = &cfg->ifaces[cfg->n_ifaces++];
		ifc->pos = k->pos;
		if (!(ifc->ifname = strdup(k->str)))
			return -ENOMEM;
		if (asprintf(&key, "interfaces: %s", k->str) < 0)
			return -ENOMEM;
		if (load_refs(c, key, v->pairs[i].val, &ifc->groups, &ifc->n_groups) < 0)
			r = -EINVAL;
		free(key);
	}
	return r;
}

static void load_implicit(struct ld_ctx *c, const struct yt_node *v)
{
	static const char *const keys[] = { "loopback", "dhcp", "ipv6_nd", "metadata",
					    "ipv6_redirects", "aws_dns", "aws_ntp" };
	struct sg_implicit *im = &c->cfg->implicit;
	bool *dst[] = { &im->loopback, &im->dhcp, &im->ipv6_nd, &im->metadata,
			&im->ipv6_redirects, &im->aws_dns, &im->aws_ntp };
	const size_t n = sizeof(keys) / sizeof(keys[0]);

	if (v->kind != YT_MAP) {
		diags_add(c->d, &v->pos, "implicit: expected a mapping (loopback, dhcp, "
			  "ipv6_nd, metadata, ipv6_redirects, aws_dns, aws_ntp), got %s",
			  yt_describe(v));
		return;
	}
	load_check_keys(c, v, keys, n, NULL);
	for (size_t i = 0; i < n; i++) {
		const struct yt_node *x = load_get(v, keys[i], NULL);

		if (x)
			load_bool(c, keys[i], x, dst[i]);
	}
}

static bool load_table_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return false;
	for (const char *p = s; *p; p++)
		if (!(isascii((unsigned char)*p) && isalnum((unsigned char)*p)) && *p != '_' && *p != '-')
			return false;
	return true;
}

/* Unix group names as useradd accepts them: [A-Za-z_][A-Za-z0-9_.-]*,
 * optionally ending in '$', at most 32 bytes. */
static bool load_unix_group_valid(const char *s)
{
	size_t n = strlen(s);
	unsigned char first = (unsigned char)s[0];

	if (n == 0 || n > 32 || !((isascii(first) && isalpha(first)) || first == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '$' && i == n - 1)
			continue;
		if (!(isascii(ch) && isalnum(ch)) && !strchr("_.-", ch))
			return false;
	}
	return true;
}

/* forward: containers | off | all.  YAML 1.1 reads a plain `off` as a
 * boolean; the tree keeps scalars as written, so `off` and `false` are the
 * same word here only when written so: both mean off. */
static void load_forward(struct ld_ctx *c, const struct yt_node *v)
{
	const char *s = load_scalar(c, "forward", v, "containers, off or all");

	if (!s)
		return;
	if (strcmp(s, "containers") == 0)
		c->cfg->forward = SG_FWD_CONTAINERS;
	else if (strcmp(s, "off") == 0 || strcmp(s, "false") == 0)
		c->cfg->forward = SG_FWD_OFF;
	else if (strcmp(s, "all") == 0)
		c->cfg->forward = SG_FWD_ALL;
	else {
		diags_add(c->d, &v->pos, "forward: expected containers, off or all, got '%s'", s);
		return;
	}
	c->cfg->forward_pos = v->pos;
}

void load_settings(struct ld_ctx *c, const struct yt_node *root)
{
	static const char *const keys[] = { "table", "attach", "interfaces", "implicit",
		"log_denied", "on_drift", "forward", "failsafe", "control_group", "fleet" };
	struct sg_config *cfg = c->cfg;
	const struct yt_node *v, *k;
	const char *s;

	load_check_keys(c, root, keys, sizeof(keys) / sizeof(keys[0]), NULL);
	if ((v = load_get(root, "table", &k)) && (s = load_scalar(c, "table", v, "a table name"))) {
		if (!load_table_valid(s)) {
			diags_add(c->d, &v->pos, "table: '%s' is not a valid table name "
				  "(1 to 32 letters, digits, '_' or '-')", s);
		} else {
			char *t = strdup(s);

			if (t) {
				free(cfg->table);
				cfg->table = t;
				cfg->table_pos = v->pos;
			}
		}
	}
	if ((v = load_get(root, "attach", NULL)))
		load_refs(c, "attach", v, &cfg->attach, &cfg->n_attach);
	if ((v = load_get(root, "interfaces", NULL)))
		load_ifaces(c, v);
	if ((v = load_get(root, "implicit", NULL)))
		load_implicit(c, v);
	if ((v = load_get(root, "log_denied", NULL)))
		load_bool(c, "log_denied", v, &cfg->log_denied);
	if ((v = load_get(root, "on_drift", NULL)) &&
	    (s = load_scalar(c, "on_drift", v, "repair or warn"))) {
		if (strcmp(s, "repair") == 0)
			cfg->on_drift = SG_DRIFT_REPAIR;
		else if (strcmp(s, "warn") == 0)
			cfg->on_drift = SG_DRIFT_WARN;
		else
			diags_add(c->d, &v->pos, "on_drift: expected repair or warn, got '%s'", s);
	}
	if ((v = load_get(root, "forward", NULL)))
		load_forward(c, v);
	if ((v = load_get(root, "failsafe", NULL)))
		load_rules(c, "failsafe", v, SG_DIR_IN, true, &cfg->failsafe, &cfg->n_failsafe);
	if ((v = load_get(root, "control_group", NULL)) &&
	    (s = load_scalar(c, "control_group", v, "a unix group name"))) {
		if (!load_unix_group_valid(s))
			diags_add(c->d, &v->pos, "control_group: '%s' is not a valid unix group name", s);
		else if (!(cfg->control_group = strdup(s)))
			diags_add(c->d, &v->pos, "out of memory");
	}
	if ((v = load_get(root, "fleet", &k)))
		load_fleet(c, k, v);
}

