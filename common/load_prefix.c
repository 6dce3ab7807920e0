/*
 * load_prefix.c — one managed prefix list document
 * (prefix_lists.d/NAME.yaml): its name, its "pl-" id and its entries, each
 * a CIDR with an optional description.  Every value is checked where it is
 * written; checks across files are in validate_prefix.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

void load_plist_free(struct sg_plist *pl)
{
	free(pl->name);
	free(pl->id);
	for (size_t i = 0; i < pl->n_entries; i++)
		free(pl->entries[i].description);
	free(pl->entries);
}

/* AWS managed prefix list ids: "pl-" and 8 or 17 hex digits. */
bool load_plist_id_valid(const char *s)
{
	return load_aws_id_valid(s, "pl-");
}

static int load_plist_name(struct ld_ctx *c, const struct yt_node *root,
			   struct sg_plist *pl, const char *stem)
{
	const struct yt_node *v = load_get(root, "name", NULL);
	const char *s;

	if (!v) {
		pl->name_pos = pl->pos;
		if (!(pl->name = strdup(stem)))
			return -ENOMEM;
		if (!load_group_name_valid(stem)) {
			diags_add(c->d, &pl->pos, "the file name '%s' is not a valid prefix list "
				  "name (letters, digits, '_', '.', '-', at most 64); add a name: key",
				  stem);
			load_mark_broken(c, stem);
			return -EINVAL;
		}
		return 0;
	}
	pl->name_pos = v->pos;
	if (!(s = load_scalar(c, "name", v, "a prefix list name"))) {
		load_mark_broken(c, stem);
		pl->name = strdup(stem);
		return pl->name ? -EINVAL : -ENOMEM;
	}
	if (!(pl->name = strdup(s)))
		return -ENOMEM;
	if (!load_group_name_valid(s)) {
		diags_add(c->d, &v->pos, "name: '%s' is not a valid prefix list name (1 to 64 "
			  "letters, digits, '_', '.', '-', starting with a letter or digit, "
			  "and not an address)", s);
		load_mark_broken(c, s);
		load_mark_broken(c, stem);
		return -EINVAL;
	}
	return 0;
}

/* One entry: {cidr: X, description: Y}, or the bare CIDR. */
static int load_plist_entry(struct ld_ctx *c, const struct yt_node *it,
			    struct sg_plist_entry *e)
{
	static const char *const keys[] = { "cidr", "description" };
	const struct yt_node *v = it, *d;
	const char *s;

	e->pos = it->pos;
	if (it->kind == YT_MAP) {
		load_check_keys(c, it, keys, 2, NULL);
		if (!(v = load_get(it, "cidr", NULL))) {
			if (!load_misspelt(it, "cidr", keys, 2))
				diags_add(c->d, &it->pos, "entry is missing 'cidr'");
			return -EINVAL;
		}
		e->pos = v->pos;
		if ((d = load_get(it, "description", NULL)) && !yt_is_null(d)) {
			if (load_string(c, "description", d, &e->description) < 0)
				return -EINVAL;
			if (strlen(e->description) > SG_MAX_DESCRIPTION) {
				diags_add(c->d, &d->pos, "description: longer than %d bytes",
					  SG_MAX_DESCRIPTION);
				return -EINVAL;
			}
		}
	} else if (it->kind != YT_SCALAR) {
		diags_add(c->d, &it->pos, "entries: expected {cidr: ..., description: ...} "
			  "or a CIDR, got %s", yt_describe(it));
		return -EINVAL;
	}
	if (!(s = load_scalar(c, "cidr", v, "an address or CIDR")))
		return -EINVAL;
	return load_cidr(c, "cidr", v, s, &e->cidr);
}

static int load_plist_entries(struct ld_ctx *c, const struct yt_node *v, struct sg_plist *pl)
{
	const struct yt_node *l = load_list(c, "entries", v, "CIDR entries");
	int r = 0;

	if (!l)
		return -EINVAL;
	if (l->n_items == 0) {
		diags_add(c->d, &l->pos, "entries: empty list; a prefix list needs at least "
			  "one entry");
		return -EINVAL;
	}
	pl->entries = calloc(l->n_items, sizeof(*pl->entries));
	if (!pl->entries)
		return -ENOMEM;
	for (size_t i = 0; i < l->n_items; i++) {
		struct sg_plist_entry *e = &pl->entries[pl->n_entries];
		int er = load_plist_entry(c, l->items[i], e);
		size_t k;

		if (er < 0) {
			free(e->description);
			memset(e, 0, sizeof(*e));
			r = er;
			continue;
		}
		/* AWS refuses a list holding one CIDR twice; so does sgd, as
		 * the entry is what show and explain name */
		for (k = 0; k < pl->n_entries && cidr_cmp(&pl->entries[k].cidr, &e->cidr); k++)
			;
		if (k < pl->n_entries) {
			char buf[64];

			diags_add(c->d, &e->pos, "cidr: duplicate entry %s (also at line %d, "
				  "column %d)", cidr_format(&e->cidr, buf, sizeof(buf)),
				  pl->entries[k].pos.line, pl->entries[k].pos.col);
			free(e->description);
			memset(e, 0, sizeof(*e));
			r = -EINVAL;
			continue;
		}
		pl->n_entries++;
	}
	return r;
}

int load_plist(struct ld_ctx *c, const struct yt_node *root, const char *file,
	       const char *stem)
{
	static const char *const keys[] = { "name", "id", "entries" };
	struct sg_config *cfg = c->cfg;
	struct sg_plist *pl, *v;
	const struct yt_node *n;
	int r;

	if (!file)
		return -ENOMEM;
	v = realloc(cfg->plists, (cfg->n_plists + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	cfg->plists = v;
	pl = &cfg->plists[cfg->n_plists++];
	memset(pl, 0, sizeof(*pl));
	pl->file = file;
	pl->pos = root->pos;
	load_check_keys(c, root, keys, sizeof(keys) / sizeof(keys[0]), NULL);
	if ((r = load_plist_name(c, root, pl, stem)) == -ENOMEM)
		return r;
	if ((n = load_get(root, "id", NULL))) {
		pl->id_pos = n->pos;
		if (load_string(c, "id", n, &pl->id) == 0 && !load_plist_id_valid(pl->id)) {
			diags_add(c->d, &n->pos, "id: '%s' is not a valid prefix list id (pl- "
				  "followed by 8 or 17 hex digits)", pl->id);
			/* references to it were meant for this list */
			load_mark_broken(c, pl->id);
			free(pl->id);
			pl->id = NULL;
		}
	}
	if ((n = load_get(root, "entries", NULL))) {
		if (load_plist_entries(c, n, pl) == -ENOMEM)
			return -ENOMEM;
	} else if (!load_misspelt(root, "entries", keys, 3)) {
		diags_add(c->d, &root->pos, "prefix list is missing 'entries'");
	}
	return 0;
}
