/*
 * validate.c — checks that need every file loaded: group names and ids are
 * unique across files, clash with no prefix list, and every group named in
 * attach, interfaces or a rule exists (a rule may name a prefix list
 * instead: validate_prefix.c).  Per-value checks happen in the loader,
 * where the value is.
 */
#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
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

int config_find_named(const void *v, size_t n, size_t size, size_t name_off,
		      size_t id_off, const char *name_or_id)
{
	const char *base = v;
	size_t lo = 0, hi = n;

#define NAMED_STR(i, off) (*(const char *const *)(base + (i) * size + (off)))
	/* sorted by name: binary search, then ids (a short scan) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *name = NAMED_STR(mid, name_off);
		int r = strcmp(name_or_id, name ? name : "");

		if (r == 0)
			return (int)mid;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	for (size_t i = 0; i < n; i++)
		if (NAMED_STR(i, id_off) && strcmp(NAMED_STR(i, id_off), name_or_id) == 0)
			return (int)i;
#undef NAMED_STR
	return -1;
}

int config_find_group(const struct sg_config *cfg, const char *name_or_id)
{
	return config_find_named(cfg->groups, cfg->n_groups, sizeof(*cfg->groups),
				 offsetof(struct sg_group, name),
				 offsetof(struct sg_group, id), name_or_id);
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

/* What resolving a reference needs: group names for suggestions and the
 * ids sorted, so 10,000 groups referring to each other stay fast. */
struct validate_index {
	const char **names;	/* names and ids, for "did you mean" */
	size_t n_names;
	struct validate_id *ids;	/* sorted by id */
	size_t n_ids;
};

static int validate_id_cmp(const void *a, const void *b)
{
	const struct validate_id *x = a, *y = b;
	int r = strcmp(x->id, y->id);

	return r ? r : strcmp(x->g->file, y->g->file);
}

/* The group whose id is `id` in the sorted index, or NULL. */
static const struct validate_id *validate_find_id(const struct validate_index *ix,
						  const char *id)
{
	size_t lo = 0, hi = ix->n_ids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(id, ix->ids[mid].id);

		if (r == 0)
			return &ix->ids[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Ids are unique, and no group's name is another group's id (a reference
 * could then mean either). */
static void validate_unique_ids(struct ld_ctx *c, const struct validate_index *ix)
{
	struct sg_config *cfg = c->cfg;
	const struct validate_id *ids = ix->ids;

	for (size_t i = 1; i < ix->n_ids; i++) {
		if (strcmp(ids[i - 1].id, ids[i].id) == 0)
			diags_add(c->d, &ids[i].g->id_pos, "duplicate group id '%s' (also the id "
				  "of group '%s' at %s:%d:%d)", ids[i].id, ids[i - 1].g->name,
				  ids[i - 1].g->id_pos.file, ids[i - 1].g->id_pos.line,
				  ids[i - 1].g->id_pos.col);
	}
	for (size_t i = 0; i < cfg->n_groups; i++) {
		const struct sg_group *g = &cfg->groups[i];
		const struct validate_id *hit = validate_find_id(ix, g->name);

		if (hit && hit->g != g)
			diags_add(c->d, &g->name_pos, "name '%s' is the id of group '%s' (%s); "
				  "a name and an id must not be equal", g->name, hit->g->name,
				  hit->g->file);
	}
}

static int validate_index_build(const struct sg_config *cfg, struct validate_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	ix->names = calloc((cfg->n_groups + cfg->n_plists) * 2 + 1, sizeof(*ix->names));
	ix->ids = calloc(cfg->n_groups + 1, sizeof(*ix->ids));
	if (!ix->names || !ix->ids)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_groups; i++) {
		const struct sg_group *g = &cfg->groups[i];

		ix->names[ix->n_names++] = g->name;
		if (g->id) {
			ix->names[ix->n_names++] = g->id;
			ix->ids[ix->n_ids++] = (struct validate_id){ g->id, g };
		}
	}
	for (size_t i = 0; i < cfg->n_plists; i++) {
		ix->names[ix->n_names++] = cfg->plists[i].name;
		if (cfg->plists[i].id)
			ix->names[ix->n_names++] = cfg->plists[i].id;
	}
	qsort(ix->ids, ix->n_ids, sizeof(*ix->ids), validate_id_cmp);
	return 0;
}

/* The group named exactly name (names only; groups are sorted), or NULL. */
static const struct sg_group *validate_find_name(const struct sg_config *cfg,
						 const char *name)
{
	size_t lo = 0, hi = cfg->n_groups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, cfg->groups[mid].name ? cfg->groups[mid].name : "");

		if (r == 0)
			return &cfg->groups[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* A prefix list and a group must not share a name, and neither's name may
 * be the other's id: a rule's reference could then mean either. */
static void validate_plist_clashes(struct ld_ctx *c, const struct validate_index *ix)
{
	const struct sg_config *cfg = c->cfg;

	for (size_t i = 0; i < cfg->n_plists; i++) {
		const struct sg_plist *pl = &cfg->plists[i];
		const struct sg_group *g = validate_find_name(cfg, pl->name);
		const struct validate_id *hit = validate_find_id(ix, pl->name);

		if (g)
			diags_add(c->d, &pl->name_pos, "prefix list name '%s' is also the name of "
				  "group '%s' (%s:%d:%d); a reference could mean either",
				  pl->name, g->name, g->name_pos.file, g->name_pos.line,
				  g->name_pos.col);
		else if (hit)
			diags_add(c->d, &pl->name_pos, "prefix list name '%s' is the id of group "
				  "'%s' (%s); a name and an id must not be equal", pl->name,
				  hit->g->name, hit->g->file);
		if (pl->id && (g = validate_find_name(cfg, pl->id)))
			diags_add(c->d, &g->name_pos, "name '%s' is the id of prefix list '%s' "
				  "(%s); a name and an id must not be equal", g->name, pl->name,
				  pl->file);
	}
}

static bool validate_is_broken(const struct ld_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n_broken; i++)
		if (strcmp(c->broken[i], name) == 0)
			return true;
	return false;
}

/* Set *idx to the group named name, or report it as unknown.  A prefix
 * list's name leaves *idx at -1: in a rule (plist_ok) the caller expands
 * it, anywhere else it is reported. */
static void validate_resolve(struct ld_ctx *c, const struct validate_index *ix,
			     const char *key, const char *name, const struct sg_pos *pos,
			     int *idx, bool plist_ok)
{
	const struct validate_id *hit;
	const char *hint;

	/* ids first, from the sorted index: config_find_group would scan
	 * every group for an id */
	if ((hit = validate_find_id(ix, name))) {
		*idx = (int)(hit->g - c->cfg->groups);
		return;
	}
	*idx = config_find_group(c->cfg, name);
	if (*idx >= 0 || validate_is_broken(c, name))
		return;
	if (validate_plist_ref(c, name) >= 0) {
		if (!plist_ok)
			diags_add(c->d, pos, "%s: '%s' is a prefix list, not a group (prefix "
				  "lists are used in a rule's from/to)", key, name);
		return;
	}
	/* prefix lists are only mentioned to those who have some */
	plist_ok = plist_ok && c->cfg->n_plists;
	hint = load_suggest(name, ix->names, ix->n_names);
	if (hint && plist_ok)
		diags_add(c->d, pos, "%s: unknown group or prefix list '%s'; did you mean "
			  "'%s'?", key, name, hint);
	else if (hint)
		diags_add(c->d, pos, "%s: unknown group '%s'; did you mean '%s'?", key, name, hint);
	else if (plist_ok)
		diags_add(c->d, pos, "%s: unknown group or prefix list '%s' (no groups.d/*.yaml "
			  "or prefix_lists.d/*.yaml defines it)", key, name);
	else
		diags_add(c->d, pos, "%s: unknown group '%s' (no groups.d/*.yaml defines it)",
			  key, name);
}

static int validate_rules(struct ld_ctx *c, const struct validate_index *ix,
			  struct sg_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sg_rule *r = &rules[i];
		const char *key = r->dir == SG_DIR_IN ? "from" : "to";

		for (size_t j = 0; j < r->n_peers; j++)
			if (r->peers[j].kind == SG_PEER_GROUP)
				validate_resolve(c, ix, key, r->peers[j].group_ref,
						 &r->peers[j].pos, &r->peers[j].group_idx, true);
		if (c->cfg->n_plists && validate_expand_rule(c, r) == -ENOMEM)
			return -ENOMEM;
	}
	return 0;
}

void validate_config(struct ld_ctx *c)
{
	struct sg_config *cfg = c->cfg;
	struct validate_index ix;

	if (cfg->n_groups)
		qsort(cfg->groups, cfg->n_groups, sizeof(*cfg->groups), validate_group_cmp);
	if (validate_index_build(cfg, &ix) < 0) {
		diags_add(c->d, NULL, "out of memory");
		goto out;
	}
	validate_unique_names(c);
	validate_unique_ids(c, &ix);
	validate_plists(c);
	validate_plist_clashes(c, &ix);
	for (size_t i = 0; i < cfg->n_attach; i++)
		validate_resolve(c, &ix, "attach", cfg->attach[i].name, &cfg->attach[i].pos,
				 &cfg->attach[i].group_idx, false);
	for (size_t i = 0; i < cfg->n_ifaces; i++) {
		struct sg_iface *ifc = &cfg->ifaces[i];
		char *key;

		if (asprintf(&key, "interfaces: %s", ifc->ifname) < 0) {
			diags_add(c->d, NULL, "out of memory");
			break;
		}
		for (size_t j = 0; j < ifc->n_groups; j++)
			validate_resolve(c, &ix, key, ifc->groups[j].name,
					 &ifc->groups[j].pos, &ifc->groups[j].group_idx, false);
		free(key);
	}
	for (size_t i = 0; i < cfg->n_groups; i++) {
		if (validate_rules(c, &ix, cfg->groups[i].ingress, cfg->groups[i].n_ingress) < 0 ||
		    validate_rules(c, &ix, cfg->groups[i].egress, cfg->groups[i].n_egress) < 0) {
			diags_add(c->d, NULL, "out of memory");
			break;
		}
	}
out:
	free(ix.names);
	free(ix.ids);
}
