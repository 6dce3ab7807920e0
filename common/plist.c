/*
 * plist.c — looking up managed prefix lists and their entries in a loaded
 * configuration (see struct sg_plist in model.h).
 */
#include <string.h>
#include <sys/socket.h>

#include "config.h"

int config_find_plist(const struct sg_config *cfg, const char *name_or_id)
{
	size_t lo = 0, hi = cfg->n_plists;

	/* sorted by name: binary search, then ids (few lists, short scan) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name_or_id, cfg->plists[mid].name ? cfg->plists[mid].name : "");

		if (r == 0)
			return (int)mid;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	for (size_t i = 0; i < cfg->n_plists; i++)
		if (cfg->plists[i].id && strcmp(cfg->plists[i].id, name_or_id) == 0)
			return (int)i;
	return -1;
}

bool plist_entry_usable(const struct sg_plist_entry *e, int proto)
{
	if (proto == SG_PROTO_ICMP)
		return e->cidr.family == AF_INET;
	if (proto == SG_PROTO_ICMPV6)
		return e->cidr.family == AF_INET6;
	return true;
}

size_t plist_usable(const struct sg_plist *pl, int proto)
{
	size_t n = 0;

	for (size_t i = 0; i < pl->n_entries; i++)
		n += plist_entry_usable(&pl->entries[i], proto);
	return n;
}

const struct sg_plist_entry *config_peer_entry(const struct sg_config *cfg,
					       const struct sg_peer *p,
					       const struct sg_plist **pl)
{
	const struct sg_plist *l;

	if (pl)
		*pl = NULL;
	if (!cfg || p->kind != SG_PEER_CIDR || p->plist_idx < 0 ||
	    (size_t)p->plist_idx >= cfg->n_plists)
		return NULL;
	l = &cfg->plists[p->plist_idx];
	/* entries are unique, so the CIDR names the entry */
	for (size_t i = 0; i < l->n_entries; i++) {
		if (cidr_cmp(&l->entries[i].cidr, &p->cidr) == 0) {
			if (pl)
				*pl = l;
			return &l->entries[i];
		}
	}
	return NULL;
}
