/*
 * fleet_store.c — the fleet's registrations kept in the state dir
 * (STATE/fleet.json: prefix, revision, lease, keys), so that a restart
 * while etcd is away starts from the last membership that was applied
 * instead of from nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "fleet.h"
#include "fleet_etcd.h"
#include "sgd.h"

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

void fleet_store_flush(struct sgd_fleet *fl)
{
	if (!fl->save_pending)
		return;
	fl->save_pending = false;
	if (fleet_store_save(fl->d, fl) < 0)
		sgd_log(fl->d, LOG_WARNING, "fleet: cannot save %s", FLEET_STATE_FILE);
}

static void fleet_on_save(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	struct sgd_fleet *fl = (struct sgd_fleet *)((char *)w -
						    offsetof(struct sgd_fleet, save_timer));
	uint64_t n;

	(void)d;
	(void)ev;
	if (read(w->fd, &n, sizeof(n)) < 0)
		return;
	fleet_store_flush(fl);
}

void fleet_store_later(struct sgd_fleet *fl)
{
	if (fl->save_pending)
		return;
	if (fl->save_timer.fd < 0 ||
	    watch_timer_set_ms(fl->save_timer.fd, FLEET_SAVE_MS, false) < 0) {
		fl->save_pending = true;
		fleet_store_flush(fl);
		return;
	}
	fl->save_pending = true;
}

int fleet_store_timer_init(struct sgd_fleet *fl)
{
	fl->save_timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fl->save_timer.fd < 0)
		return -errno;
	fl->save_timer.fn = fleet_on_save;
	return watch_add(fl->d, &fl->save_timer, EPOLLIN);
}

void fleet_set_error(struct sgd_fleet *fl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fl->last_error, sizeof(fl->last_error), fmt, ap);
	va_end(ap);
}

int fleet_members_collect(const struct sgd *d, const struct sg_group *g,
			  struct sg_cidr_list *out)
{
	const struct sgd_fleet *fl = d->fleet;
	struct lh_entry *le;
	int r = 0;

	if (!fl || !fl->members)
		return 0;
	lh_foreach(fl->members->keys, le) {
		const struct fleet_entry *e = lh_entry_v(le);

		if (e && (strcmp(e->group, g->name) == 0 || (g->id && strcmp(e->group, g->id) == 0)))
			r = cidr_list_add(out, &e->c);
		if (r < 0)
			return r;
	}
	return 0;
}

static int fleet_ref_cmp(const void *a, const void *b)
{
	const struct fleet_host_ref *x = a, *y = b;
	int c = cidr_cmp(&x->c, &y->c);

	return c ? c : strcmp(x->host, y->host);
}

int fleet_members_hosts(const struct sgd *d, const struct sg_group *g,
			struct fleet_host_ref **v, size_t *n)
{
	const struct sgd_fleet *fl = d->fleet;
	struct fleet_host_ref *a;
	struct lh_entry *le;
	size_t k = 0, cap;

	*v = NULL;
	*n = 0;
	if (!fl || !fl->members || (cap = (size_t)lh_table_length(fl->members->keys)) == 0)
		return 0;
	if (!(a = calloc(cap, sizeof(*a))))
		return -ENOMEM;
	lh_foreach(fl->members->keys, le) {
		const struct fleet_entry *e = lh_entry_v(le);

		if (e && k < cap && (strcmp(e->group, g->name) == 0 ||
				     (g->id && strcmp(e->group, g->id) == 0))) {
			a[k].c = e->c;
			a[k++].host = e->host;
		}
	}
	if (k > 1)
		qsort(a, k, sizeof(*a), fleet_ref_cmp);
	if (k == 0) {
		free(a);
		a = NULL;
	}
	*v = a;
	*n = k;
	return 0;
}
