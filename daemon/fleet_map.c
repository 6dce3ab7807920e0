/*
 * fleet_map.c — the registrations sgd knows of, by key (json-c's hash
 * table), with a count per group for the cap.  Keys are relative to the
 * prefix:
 *   members/<group>/<host_id>/<cidr>   cidr as "10.0.1.7/32"
 *   hosts/<host_id>
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "config.h"
#include "fleet.h"

static void fleet_entry_free(struct lh_entry *e)
{
	struct fleet_entry *f = lh_entry_v(e);

	if (f) {
		free(f->group);
		free(f->host);
		free(f);
	}
	free(lh_entry_k(e));
}

static void fleet_count_free(struct lh_entry *e)
{
	free(lh_entry_k(e));
}

struct fleet_map *fleet_map_new(void)
{
	struct fleet_map *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->keys = lh_kchar_table_new(1024, fleet_entry_free);
	m->groups = lh_kchar_table_new(64, fleet_count_free);
	if (!m->keys || !m->groups) {
		fleet_map_free(m);
		return NULL;
	}
	return m;
}

void fleet_map_free(struct fleet_map *m)
{
	if (!m)
		return;
	if (m->keys)
		lh_table_free(m->keys);
	if (m->groups)
		lh_table_free(m->groups);
	free(m);
}

/* A group as it may appear in a key: what a group name or id may be
 * (no '/', printable, at most 255 bytes). */
static bool fleet_group_valid(const char *s, size_t n)
{
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || s[i] == '/')
			return false;
	return true;
}

int fleet_key_parse(const char *key, struct fleet_entry **out)
{
	const char *g, *h, *c;
	struct fleet_entry *e;
	char buf[80];
	struct sg_cidr cidr;

	*out = NULL;
	if (strncmp(key, "hosts/", 6) == 0)
		return load_fleet_host_id_valid(key + 6) ? 1 : -EINVAL;
	if (strncmp(key, "members/", 8) != 0)
		return -EINVAL;
	g = key + 8;
	if (!(h = strchr(g, '/')) || !fleet_group_valid(g, (size_t)(h - g)))
		return -EINVAL;
	h++;
	if (!(c = strchr(h, '/')) || (size_t)(c - h) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, h, (size_t)(c - h));
	buf[c - h] = '\0';
	if (!load_fleet_host_id_valid(buf))
		return -EINVAL;
	c++;
	/* exactly a network with its prefix, as sgd writes it */
	if (!strchr(c, '/') || cidr_parse(c, &cidr) != 0)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->c = cidr;
	e->group = strndup(g, (size_t)(h - 1 - g));
	e->host = strdup(buf);
	if (!e->group || !e->host) {
		free(e->group);
		free(e->host);
		free(e);
		return -ENOMEM;
	}
	*out = e;
	return 0;
}

static size_t fleet_group_count(struct fleet_map *m, const char *group, long delta)
{
	struct lh_entry *le = lh_table_lookup_entry(m->groups, group);
	uintptr_t n = le ? (uintptr_t)lh_entry_v(le) : 0;

	if (delta == 0)
		return n;
	n = (uintptr_t)((long)n + delta);
	if (le && n == 0) {
		lh_table_delete(m->groups, group);
	} else if (le) {
		lh_entry_set_val(le, (void *)n);
	} else {
		char *k = strdup(group);

		if (!k || lh_table_insert(m->groups, k, (void *)n) < 0) {
			free(k);
			return (size_t)-1;
		}
	}
	return n;
}

int fleet_map_put(struct fleet_map *m, const char *key)
{
	struct fleet_entry *e;
	char *k;
	int r;

	if (lh_table_lookup_entry(m->keys, key))
		return strncmp(key, "hosts/", 6) == 0 ? 1 : 0;
	r = fleet_key_parse(key, &e);
	if (r < 0)
		return r;
	if (e && fleet_group_count(m, e->group, 0) >= FLEET_MAX_PER_GROUP) {
		free(e->group);
		free(e->host);
		free(e);
		return -E2BIG;
	}
	if (!(k = strdup(key)) || lh_table_insert(m->keys, k, e) < 0) {
		free(k);
		if (e) {
			free(e->group);
			free(e->host);
			free(e);
		}
		return -ENOMEM;
	}
	if (!e) {
		m->n_hosts++;
		return 1;
	}
	return fleet_group_count(m, e->group, 1) == (size_t)-1 ? -ENOMEM : 0;
}

void fleet_map_del(struct fleet_map *m, const char *key)
{
	struct lh_entry *le = lh_table_lookup_entry(m->keys, key);
	struct fleet_entry *e;

	if (!le)
		return;
	e = lh_entry_v(le);
	if (e)
		(void)fleet_group_count(m, e->group, -1);
	else
		m->n_hosts--;
	lh_table_delete(m->keys, key);
}

