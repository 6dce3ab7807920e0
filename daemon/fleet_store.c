/*
 * fleet_store.c — the registrations sgd knows of, by key, and their copy
 * in the state dir (STATE/fleet.json: prefix, revision, lease, keys), so
 * that a restart while etcd is away starts from the last membership that
 * was applied instead of from nothing.
 *
 * Keys are relative to the prefix:
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
#include "fleet_etcd.h"
#include "sgd.h"

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

static const char *fleet_state_dir(const struct sgd *d)
{
	return d->state_dir_real ? d->state_dir_real : d->opt.state_dir;
}

int fleet_store_load(struct sgd *d, struct sgd_fleet *fl)
{
	struct json_object *o, *keys, *v;
	char *text = NULL;
	size_t len, n;
	int r = state_read_file(fleet_state_dir(d), FLEET_STATE_FILE, &text, &len);

	if (r < 0)
		return r == -ENOENT ? 0 : r;
	o = json_tokener_parse(text);
	free(text);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array) ||
	    !json_object_object_get_ex(o, "prefix", &v)) {
		json_object_put(o);
		return -EINVAL;
	}
	free(fl->prefix);
	if (!(fl->prefix = strdup(json_object_get_string(v)))) {
		json_object_put(o);
		return -ENOMEM;
	}
	fl->revision = etcd_json_int(o, "revision", 0);
	fl->lease = etcd_json_int(o, "lease", 0);
	n = json_object_array_length(keys);
	for (size_t i = 0; i < n && r >= 0; i++) {
		const char *k = json_object_get_string(json_object_array_get_idx(keys, i));

		r = k ? fleet_map_put(fl->members, k) : -EINVAL;
		if (r == -EINVAL || r == -E2BIG)
			r = 0;	/* a cap lowered since: skipped, as when watched */
	}
	json_object_put(o);
	return r < 0 ? r : 0;
}

int fleet_store_save(struct sgd *d, struct sgd_fleet *fl)
{
	struct json_object *o = json_object_new_object(), *keys = json_object_new_array();
	struct lh_entry *le;
	char num[32];
	const char *text;
	int r = 0;

	if (!o || !keys) {
		json_object_put(o);
		json_object_put(keys);
		return -ENOMEM;
	}
	lh_foreach(fl->members->keys, le)
		if (json_object_array_add(keys, json_object_new_string(lh_entry_k(le))) < 0)
			r = -ENOMEM;
	json_object_object_add(o, "prefix", json_object_new_string(fl->prefix));
	snprintf(num, sizeof(num), "%lld", fl->revision);
	json_object_object_add(o, "revision", json_object_new_string(num));
	snprintf(num, sizeof(num), "%lld", fl->lease);
	json_object_object_add(o, "lease", json_object_new_string(num));
	json_object_object_add(o, "keys", keys);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (r == 0 && !text)
		r = -ENOMEM;
	if (r == 0)
		r = state_write_file(fleet_state_dir(d), FLEET_STATE_FILE, text, strlen(text));
	json_object_put(o);
	return r;
}
