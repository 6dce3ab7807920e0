/*
 * plist.c — looking up managed prefix lists and their entries in a loaded
 * configuration (see struct sg_plist in model.h).
 */
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"

int config_find_plist(const struct sg_config *cfg, const char *name_or_id)
{
	return config_find_named(cfg->plists, cfg->n_plists, sizeof(*cfg->plists),
				 offsetof(struct sg_plist, name),
				 offsetof(struct sg_plist, id), name_or_id);
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
