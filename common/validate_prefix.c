/*
 * validate_prefix.c — managed prefix lists across files: names and ids are
 * unique, and a rule's reference to a list becomes the list's entries as
 * CIDR peers of the rule (plist_idx set).  The compiler then sees only
 * CIDRs, so a list is compiled like the CIDRs of a rule (the same set
 * elements and counters), and a reload after a list changed is the same
 * element delta as a reload after the rule's CIDRs changed.  Clashes with
 * group names and ids are checked in validate.c, which has their index.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

static int validate_plist_cmp(const void *a, const void *b)
{
	const struct sg_plist *x = a, *y = b;
	int r = strcmp(x->name ? x->name : "", y->name ? y->name : "");

	if (r)
		return r;
	return strcmp(x->file ? x->file : "", y->file ? y->file : "");
}

void validate_plists(struct ld_ctx *c)
{
	struct sg_config *cfg = c->cfg;

	if (cfg->n_plists)
		qsort(cfg->plists, cfg->n_plists, sizeof(*cfg->plists), validate_plist_cmp);
	for (size_t i = 1; i < cfg->n_plists; i++) {
		const struct sg_plist *a = &cfg->plists[i - 1], *b = &cfg->plists[i];

		if (strcmp(a->name, b->name) == 0)
			diags_add(c->d, &b->name_pos, "duplicate prefix list name '%s' (also "
				  "defined at %s:%d:%d)", b->name, a->name_pos.file,
				  a->name_pos.line, a->name_pos.col);
	}
	/* ids and names against each other: few lists, a plain scan */
	for (size_t i = 0; i < cfg->n_plists; i++) {
		const struct sg_plist *b = &cfg->plists[i];

		for (size_t k = 0; k < cfg->n_plists; k++) {
			const struct sg_plist *a = &cfg->plists[k];

			if (k < i && b->id && a->id && strcmp(a->id, b->id) == 0)
				diags_add(c->d, &b->id_pos, "duplicate prefix list id '%s' (also "
					  "the id of prefix list '%s' at %s:%d:%d)", b->id,
					  a->name, a->id_pos.file, a->id_pos.line, a->id_pos.col);
			if (k != i && a->id && strcmp(a->id, b->name) == 0)
				diags_add(c->d, &b->name_pos, "name '%s' is the id of prefix "
					  "list '%s' (%s); a name and an id must not be equal",
					  b->name, a->name, a->file);
		}
	}
}

int validate_plist_ref(const struct ld_ctx *c, const char *ref)
{
	return config_find_plist(c->cfg, ref);
}

int validate_expand_rule(struct ld_ctx *c, struct sg_rule *r)
{
	const struct sg_config *cfg = c->cfg;
	struct sg_peer *v;
	size_t n = 0, k = 0;
	bool any = false;

	for (size_t j = 0; j < r->n_peers; j++) {
		const struct sg_peer *p = &r->peers[j];
		int li;
		size_t u;

		if (p->kind != SG_PEER_GROUP || p->group_idx >= 0 ||
		    (li = validate_plist_ref(c, p->group_ref)) < 0) {
			n++;
			continue;
		}
		any = true;
		u = plist_usable(&cfg->plists[li], r->proto);
		if (u == 0 && cfg->plists[li].n_entries == 0)
			return -EINVAL;	/* its entries were reported as wrong */
		if (u == 0) {
			/* as for a CIDR of the wrong family written in the rule */
			diags_add(c->d, &p->pos, "%s: prefix list '%s' has no %s entry, and an %s "
				  "rule takes only %s peers", r->dir == SG_DIR_IN ? "from" : "to",
				  p->group_ref, r->proto == SG_PROTO_ICMP ? "IPv4" : "IPv6",
				  r->proto == SG_PROTO_ICMP ? "icmp" : "icmpv6",
				  r->proto == SG_PROTO_ICMP ? "IPv4" : "IPv6");
			return -EINVAL;
		}
		n += u;
	}
	if (!any)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t j = 0; j < r->n_peers; j++) {
		struct sg_peer *p = &r->peers[j];
		int li;

		if (p->kind != SG_PEER_GROUP || p->group_idx >= 0 ||
		    (li = validate_plist_ref(c, p->group_ref)) < 0) {
			v[k++] = *p;
			continue;
		}
		for (size_t e = 0; e < cfg->plists[li].n_entries; e++) {
			const struct sg_plist_entry *en = &cfg->plists[li].entries[e];

			if (!plist_entry_usable(en, r->proto))
				continue;
			v[k] = (struct sg_peer){ .kind = SG_PEER_CIDR, .plist_idx = li,
						 .cidr = en->cidr, .pos = p->pos };
			k++;
		}
		free(p->group_ref);
		p->group_ref = NULL;
	}
	if (!r->peers_pooled)
		free(r->peers);
	r->peers = v;
	r->n_peers = n;
	r->peers_pooled = false;
	return 0;
}
