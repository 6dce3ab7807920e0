/*
 * validate.c — checks that need every file loaded: group names and ids are
 * unique across files, and every group named in attach, interfaces or a
 * rule exists.  Per-value checks happen in the loader, where the value is.
 */
#include <stdlib.h>
#include <string.h>

#include "loader.h"

static int validate_group_cmp(const void *a, const void *b)
{
	const struct sg_group *x = a, *y = b;
	int r = strcmp(x->name ? x->name : "", y->name ? y->name : "");

	if (r)
		return r;
	return strcmp(x->file ? x->file : "", y->file ? y->file : "");
}

int config_find_group(const struct sg_config *cfg, const char *name_or_id)
{
	size_t lo = 0, hi = cfg->n_groups;

	/* groups are sorted by name: binary search, then ids */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name_or_id, cfg->groups[mid].name ? cfg->groups[mid].name : "");

		if (r == 0)
			return (int)mid;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	for (size_t i = 0; i < cfg->n_groups; i++)
		if (cfg->groups[i].id && strcmp(cfg->groups[i].id, name_or_id) == 0)
			return (int)i;
	return -1;
}

static void validate_unique_names(struct ld_ctx *c)
{
	struct sg_config *cfg = c->cfg;

	for (size_t i = 1; i < cfg->n_groups; i++) {
		const struct sg_group *a = &cfg->groups[i - 1], *b = &cfg->groups[i];

		if (strcmp(a->name, b->name) != 0)
			continue;
		/* point at the later file and name the earlier one */
		diags_add(c->d, &b->name_pos, "duplicate group name '%s' (also defined at "
			  "%s:%d:%d)", b->name, a->name_pos.file, a->name_pos.line,
			  a->name_pos.col);
	}
}

struct validate_id {
	const char *id;
	const struct sg_group *g;
};

static int validate_id_cmp(const void *a, const void *b)
{
	const struct validate_id *x = a, *y = b;
	int r = strcmp(x->id, y->id);

	return r ? r : strcmp(x->g->file, y->g->file);
}

/* Ids are unique, and no group's name is another group's id (a reference
 * could then mean either). */
static void validate_unique_ids(struct ld_ctx *c)
{
	struct sg_config *cfg = c->cfg;
	struct validate_id *ids = calloc(cfg->n_groups ? cfg->n_groups : 1, sizeof(*ids));
	size_t n = 0;

	if (!ids) {
		diags_add(c->d, NULL, "out of memory");
		return;
	}
	for (size_t i = 0; i < cfg->n_groups; i++)
		if (cfg->groups[i].id)
			ids[n++] = (struct validate_id){ cfg->groups[i].id, &cfg->groups[i] };
	qsort(ids, n, sizeof(*ids), validate_id_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(ids[i - 1].id, ids[i].id) == 0)
			diags_add(c->d, &ids[i].g->id_pos, "duplicate group id '%s' (also the id "
				  "of group '%s' at %s:%d:%d)", ids[i].id, ids[i - 1].g->name,
				  ids[i - 1].g->id_pos.file, ids[i - 1].g->id_pos.line,
				  ids[i - 1].g->id_pos.col);
	}
	for (size_t i = 0; i < cfg->n_groups; i++) {
		const struct sg_group *g = &cfg->groups[i];
		struct validate_id key = { g->name, g };
		size_t lo = 0, hi = n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int r = strcmp(key.id, ids[mid].id);

			if (r == 0) {
				if (ids[mid].g != g)
					diags_add(c->d, &g->name_pos, "name '%s' is the id of "
						  "group '%s' (%s); a name and an id must not "
						  "be equal", g->name, ids[mid].g->name,
						  ids[mid].g->file);
				break;
			}
			if (r < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
	}
	free(ids);
}

struct validate_names {
	const char **v;
	size_t n;
};

static bool validate_is_broken(const struct ld_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n_broken; i++)
		if (strcmp(c->broken[i], name) == 0)
			return true;
	return false;
}

/* Set *idx to the group named name, or report it as unknown. */
static void validate_resolve(struct ld_ctx *c, const struct validate_names *names,
			     const char *key, const char *name, const struct sg_pos *pos,
			     int *idx)
{
	const char *hint;

	*idx = config_find_group(c->cfg, name);
	if (*idx >= 0 || validate_is_broken(c, name))
		return;
	hint = load_suggest(name, names->v, names->n);
	if (hint)
		diags_add(c->d, pos, "%s: unknown group '%s'; did you mean '%s'?", key, name, hint);
	else
		diags_add(c->d, pos, "%s: unknown group '%s' (no groups.d/*.yaml defines it)",
			  key, name);
}

static void validate_rules(struct ld_ctx *c, const struct validate_names *names,
			   struct sg_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sg_rule *r = &rules[i];
		const char *key = r->dir == SG_DIR_IN ? "from" : "to";

		for (size_t j = 0; j < r->n_peers; j++)
			if (r->peers[j].kind == SG_PEER_GROUP)
				validate_resolve(c, names, key, r->peers[j].group_ref,
						 &r->peers[j].pos, &r->peers[j].group_idx);
	}
}

void validate_config(struct ld_ctx *c)
{
	struct sg_config *cfg = c->cfg;
	struct validate_names names = { 0 };

	if (cfg->n_groups)
		qsort(cfg->groups, cfg->n_groups, sizeof(*cfg->groups), validate_group_cmp);
	validate_unique_names(c);
	validate_unique_ids(c);
	names.v = calloc(cfg->n_groups * 2 + 1, sizeof(*names.v));
	if (!names.v) {
		diags_add(c->d, NULL, "out of memory");
		return;
	}
	for (size_t i = 0; i < cfg->n_groups; i++) {
		names.v[names.n++] = cfg->groups[i].name;
		if (cfg->groups[i].id)
			names.v[names.n++] = cfg->groups[i].id;
	}
	for (size_t i = 0; i < cfg->n_attach; i++)
		validate_resolve(c, &names, "attach", cfg->attach[i].name, &cfg->attach[i].pos,
				 &cfg->attach[i].group_idx);
	for (size_t i = 0; i < cfg->n_ifaces; i++) {
		struct sg_iface *ifc = &cfg->ifaces[i];

		char *key;

		if (asprintf(&key, "interfaces: %s", ifc->ifname) < 0) {
			diags_add(c->d, NULL, "out of memory");
			break;
		}
		for (size_t j = 0; j < ifc->n_groups; j++)
			validate_resolve(c, &names, key, ifc->groups[j].name,
					 &ifc->groups[j].pos, &ifc->groups[j].group_idx);
		free(key);
	}
	for (size_t i = 0; i < cfg->n_groups; i++) {
		validate_rules(c, &names, cfg->groups[i].ingress, cfg->groups[i].n_ingress);
		validate_rules(c, &names, cfg->groups[i].egress, cfg->groups[i].n_egress);
	}
	free(names.v);
}
