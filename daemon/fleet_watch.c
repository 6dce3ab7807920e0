/*
 * fleet_watch.c — everyone's registrations: a list of PREFIX in pages,
 * every page pinned to the first page's revision (one consistent
 * snapshot), then a watch from that revision + 1.  A watch that breaks
 * resumes from the last revision applied + 1; one cancelled because that
 * revision was compacted away means a new list, whose difference is
 * applied.  While etcd cannot be reached nothing is removed: the cache
 * (and the kernel) keep the last membership applied.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <json-c/json.h>

#include "clock.h"
#include "fleet.h"
#include "fleet_etcd.h"
#include "sgd.h"

static void fleet_watch_open(struct sgd_fleet *fl);
static void fleet_list_page(struct sgd_fleet *fl, const char *from, size_t from_len);

/* base64 of the first key after every key under the prefix. */
static char *fleet_range_end(const struct sgd_fleet *fl)
{
	size_t n = strlen(fl->prefix);
	char *end = strdup(fl->prefix), *b;

	if (!end)
		return NULL;
	end[n - 1]++;
	b = etcd_b64_encode(end, n);
	free(end);
	return b;
}

static int fleet_add_str(struct json_object *o, const char *key, char *val)
{
	struct json_object *s = val ? json_object_new_string(val) : NULL;

	free(val);
	if (!s)
		return -ENOMEM;
	return json_object_object_add(o, key, s) < 0 ? -ENOMEM : 0;
}

static int fleet_add_int(struct json_object *o, const char *key, long long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", v);
	return fleet_add_str(o, key, strdup(num));
}

/* The key of kv without the prefix (a new string), or NULL when it is
 * not under the prefix or not a C string. */
static char *fleet_kv_key(const struct sgd_fleet *fl, struct json_object *kv)
{
	struct json_object *k;
	size_t n, pl = strlen(fl->prefix);
	char *raw, *rel;

	if (!json_object_object_get_ex(kv, "key", &k) ||
	    !(raw = etcd_b64_decode(json_object_get_string(k), &n)))
		return NULL;
	if (n != strlen(raw) || n <= pl || strncmp(raw, fl->prefix, pl) != 0) {
		free(raw);
		return NULL;
	}
	rel = strdup(raw + pl);
	free(raw);
	return rel;
}

/* Record key (put) in m; malformed keys and keys past the cap are
 * skipped with a log line and counted. */
static int fleet_note_put(struct sgd_fleet *fl, struct fleet_map *m, const char *rel)
{
	int r = fleet_map_put(m, rel);

	if (r == -EINVAL) {
		fl->malformed++;
		sgd_log(fl->d, LOG_WARNING, "fleet: skipped malformed key %s%s", fl->prefix, rel);
		return 0;
	}
	if (r == -E2BIG) {
		fl->over_cap++;
		sgd_log(fl->d, LOG_WARNING, "fleet: skipped %s%s: its group has %d fleet members "
			"already (the cap)", fl->prefix, rel, FLEET_MAX_PER_GROUP);
		return 0;
	}
	return r < 0 ? r : 0;
}

static void fleet_retry(struct sgd_fleet *fl)
{
	long ms = fl->backoff_ms ? fl->backoff_ms : FLEET_BACKOFF_MIN_MS;

	fl->backoff_ms = ms * 2 > FLEET_BACKOFF_MAX_MS ? FLEET_BACKOFF_MAX_MS : ms * 2;
	if (watch_timer_set_ms(fl->retry_timer.fd, ms, false) < 0)
		sgd_log(fl->d, LOG_WARNING, "fleet: cannot arm the retry timer: %s",
			strerror(errno));
}

static void fleet_list_failed(struct sgd_fleet *fl, int err, const char *why)
{
	fleet_set_error(fl, "list via %s: %s", etcd_client_endpoint(fl->etcd),
			why ? why : etcd_strerror(fl->etcd, err));
	fleet_map_free(fl->snap);
	fl->snap = NULL;
	etcd_client_next(fl->etcd);
	fleet_retry(fl);
}

/* The snapshot is complete: it replaces the cache, the kernel gets the
 * difference, the watch starts after its revision. */
static void fleet_list_done(struct sgd_fleet *fl)
{
	size_t before = lh_table_length(fl->members->keys);

	fleet_map_free(fl->members);
	fl->members = fl->snap;
	fl->snap = NULL;
	fl->revision = fl->snap_rev;
	sgd_log(fl->d, fl->listed ? LOG_INFO : LOG_NOTICE, "fleet: listed %d keys at revision "
		"%lld from %s (%zu before)", lh_table_length(fl->members->keys), fl->revision,
		etcd_client_endpoint(fl->etcd), before);
	fl->listed = true;
	if (before != (size_t)lh_table_length(fl->members->keys))
		fl->last_change = time(NULL);
	fl->apply(fl->d);
	if (fleet_store_save(fl->d, fl) < 0)
		sgd_log(fl->d, LOG_WARNING, "fleet: cannot save %s", FLEET_STATE_FILE);
	fleet_reg_kick(fl);
	fleet_watch_open(fl);
}

static void fleet_on_list(struct sgd *d, void *arg, int err, struct json_object *res)
{
	struct sgd_fleet *fl = arg;
	struct json_object *hdr, *kvs = NULL, *more;
	char *last = NULL;
	size_t n = 0, last_len = 0;

	(void)d;
	fl->list_req = NULL;
	if (err < 0 || !json_object_object_get_ex(res, "header", &hdr)) {
		fleet_list_failed(fl, err < 0 ? err : -EPROTO, NULL);
		return;
	}
	if (fl->snap_rev == 0)
		fl->snap_rev = etcd_json_int(hdr, "revision", 0);
	if (json_object_object_get_ex(res, "kvs", &kvs))
		n = json_object_array_length(kvs);
	for (size_t i = 0; i < n; i++) {
		struct json_object *kv = json_object_array_get_idx(kvs, i), *k;
		char *rel = fleet_kv_key(fl, kv);

		if (!rel) {
			fl->malformed++;
			continue;
		}
		err = fleet_note_put(fl, fl->snap, rel);
		free(rel);
		if (err < 0) {
			fleet_list_failed(fl, err, NULL);
			return;
		}
		if (i + 1 == n && json_object_object_get_ex(kv, "key", &k)) {
			free(last);
			last = etcd_b64_decode(json_object_get_string(k), &last_len);
		}
	}
	if (json_object_object_get_ex(res, "more", &more) && json_object_get_boolean(more) &&
	    last)
		fleet_list_page(fl, last, last_len);
	else
		fleet_list_done(fl);
	free(last);
}

/* One page from key from (the last key of the previous page + "\0"), or
 * from the prefix. */
static void fleet_list_page(struct sgd_fleet *fl, const char *from, size_t from_len)
{
	struct json_object *b = json_object_new_object();
	char *start = NULL;
	int r = b ? 0 : -ENOMEM;

	if (r == 0 && from) {
		start = malloc(from_len + 1);
		if (start) {
			memcpy(start, from, from_len);
			start[from_len] = '\0';
		}
		r = fleet_add_str(b, "key", start ? etcd_b64_encode(start, from_len + 1) : NULL);
		free(start);
	} else if (r == 0) {
		r = fleet_add_str(b, "key", etcd_b64_encode(fl->prefix, strlen(fl->prefix)));
	}
	if (r == 0)
		r = fleet_add_str(b, "range_end", fleet_range_end(fl));
	if (r == 0)
		r = fleet_add_int(b, "limit", FLEET_LIST_PAGE);
	if (r == 0 && fl->snap_rev)
		r = fleet_add_int(b, "revision", fl->snap_rev);
	if (r == 0)
		r = etcd_post(fl->etcd, "/v3/kv/range", b, FLEET_REQ_TIMEOUT_MS, fleet_on_list, fl,
			      &fl->list_req);
	json_object_put(b);
	if (r < 0)
		fleet_list_failed(fl, r, NULL);
}

void fleet_watch_restart(struct sgd_fleet *fl)
{
	if (!fl->watch_req)
		return;
	etcd_cancel(fl->etcd, fl->watch_req);
	fl->watch_req = NULL;
	fl->connected = false;
	fleet_retry(fl);
}

void fleet_watch_stop(struct sgd_fleet *fl)
{
	etcd_cancel(fl->etcd, fl->list_req);
	etcd_cancel(fl->etcd, fl->watch_req);
	fl->list_req = fl->watch_req = NULL;
	fleet_map_free(fl->snap);
	fl->snap = NULL;
	fl->connected = false;
	if (fl->retry_timer.fd >= 0)
		(void)watch_timer_set_ms(fl->retry_timer.fd, 0, false);
}

void fleet_watch_start(struct sgd_fleet *fl)
{
	fleet_watch_stop(fl);
	fl->snap = fleet_map_new();
	fl->snap_rev = 0;
	if (!fl->snap) {
		fleet_list_failed(fl, -ENOMEM, NULL);
		return;
	}
	fleet_list_page(fl, NULL, 0);
}

/* One event of a watch message into the cache; *mine is set when a key
 * of this host went away (it is put back). */
static int fleet_watch_event(struct sgd_fleet *fl, struct json_object *ev, bool *mine)
{
	struct json_object *kv, *t;
	bool del = json_object_object_get_ex(ev, "type", &t) &&
		   strcmp(json_object_get_string(t), "DELETE") == 0;
	long long rev;
	char *rel;
	int r = 0;

	if (!json_object_object_get_ex(ev, "kv", &kv))
		return 0;
	rev = etcd_json_int(kv, "mod_revision", 0);
	if (rev > fl->revision)
		fl->revision = rev;
	if (!(rel = fleet_kv_key(fl, kv))) {
		fl->malformed++;
		return 0;
	}
	if (del) {
		struct fleet_entry *e = NULL;

		if (fleet_key_parse(rel, &e) >= 0 && fl->host_id &&
		    (e ? strcmp(e->host, fl->host_id) == 0 : strcmp(rel + 6, fl->host_id) == 0))
			*mine = true;
		if (e) {
			free(e->group);
			free(e->host);
			free(e);
		}
		fleet_map_del(fl->members, rel);
	} else {
		r = fleet_note_put(fl, fl->members, rel);
	}
	free(rel);
	return r;
}

static int fleet_watch_events(struct sgd_fleet *fl, struct json_object *res)
{
	struct json_object *evs, *hdr;
	long long t0 = clock_now_ms();
	size_t n = 0;
	bool mine = false;
	int r = 0;

	if (json_object_object_get_ex(res, "events", &evs))
		n = json_object_array_length(evs);
	for (size_t i = 0; i < n && r == 0; i++)
		r = fleet_watch_event(fl, json_object_array_get_idx(evs, i), &mine);
	if (r < 0)
		return r;
	if (n == 0) {
		/* a progress notification: nothing up to this revision is
		 * missing */
		long long rev = json_object_object_get_ex(res, "header", &hdr) ?
				etcd_json_int(hdr, "revision", 0) : 0;

		if (rev > fl->revision)
			fl->revision = rev;
		return 0;
	}
	fl->changes += n;
	fl->last_change = time(NULL);
	fl->apply(fl->d);
	fleet_store_later(fl);
	sgd_debug(fl->d, "fleet: %zu events up to revision %lld applied in %lld ms", n,
		  fl->revision, clock_now_ms() - t0);
	if (mine && !fl->left)
		fl->reg_dirty = true;	/* put back at the next keepalive tick */
	return 0;
}

static int fleet_on_watch_msg2(struct sgd_fleet *fl, struct json_object *msg);

/* (the reason of an error it returns is in last_error) */
static int fleet_on_watch_msg(struct sgd *d, void *arg, struct json_object *msg)
{
	struct sgd_fleet *fl = arg;
	int r = fleet_on_watch_msg2(fl, msg);

	(void)d;
	if (r < 0)
		fl->watch_msg_err = r;
	return r;
}

static int fleet_on_watch_msg2(struct sgd_fleet *fl, struct json_object *msg)
{
	struct json_object *res, *x;

	if (json_object_object_get_ex(msg, "error", &x)) {
		struct json_object *m;

		fleet_set_error(fl, "watch via %s: %s", etcd_client_endpoint(fl->etcd),
				json_object_object_get_ex(x, "message", &m) ?
				json_object_get_string(m) : "error");
		return -EPROTO;
	}
	if (!json_object_object_get_ex(msg, "result", &res))
		return 0;
	if (json_object_object_get_ex(res, "canceled", &x) && json_object_get_boolean(x)) {
		long long comp = etcd_json_int(res, "compact_revision", 0);

		if (comp > 0) {
			fleet_set_error(fl, "watch from revision %lld: compacted up to %lld; "
					"listing again", fl->revision + 1, comp);
			return -ESTALE;
		}
		fleet_set_error(fl, "watch cancelled by %s: %s", etcd_client_endpoint(fl->etcd),
				json_object_object_get_ex(res, "cancel_reason", &x) ?
				json_object_get_string(x) : "no reason");
		return -ECONNRESET;
	}
	if (json_object_object_get_ex(res, "created", &x) && json_object_get_boolean(x)) {
		fl->connected = true;
		fl->watch_created = true;
		fl->backoff_ms = 0;
		fl->last_error[0] = '\0';
		sgd_log(fl->d, LOG_INFO, "fleet: watching %s from revision %lld via %s",
			fl->prefix, fl->revision + 1, etcd_client_endpoint(fl->etcd));
	}
	return fleet_watch_events(fl, res);
}

static void fleet_on_watch_end(struct sgd *d, void *arg, int err, struct json_object *res)
{
	struct sgd_fleet *fl = arg;

	(void)d;
	(void)res;
	fl->watch_req = NULL;
	fl->connected = false;
	if (err == -ESTALE) {
		sgd_log(fl->d, LOG_NOTICE, "fleet: %s", fl->last_error);
		fleet_watch_start(fl);
		return;
	}
	if (err == -EMSGSIZE) {
		/* Resuming would get the same message again: a list (in
		 * pages) gets past it; meanwhile the last state stays. */
		fleet_set_error(fl, "a watch message from %s was over %u bytes; listing again",
				etcd_client_endpoint(fl->etcd), FLEET_MAX_MSG);
		sgd_log(fl->d, LOG_WARNING, "fleet: %s", fl->last_error);
		fleet_watch_start(fl);
		return;
	}
	if (err == 0 || err != fl->watch_msg_err)
		fleet_set_error(fl, "watch via %s ended: %s", etcd_client_endpoint(fl->etcd),
				err ? etcd_strerror(fl->etcd, err) : "closed by the server");
	sgd_log(fl->d, LOG_WARNING, "fleet: %s; keeping the last membership (revision %lld)",
		fl->last_error, fl->revision);
	etcd_client_next(fl->etcd);
	fleet_retry(fl);
}

static void fleet_watch_open(struct sgd_fleet *fl)
{
	struct json_object *b = json_object_new_object(), *cr = json_object_new_object();
	int r = b && cr ? 0 : -ENOMEM;

	if (r == 0)
		r = fleet_add_str(cr, "key", etcd_b64_encode(fl->prefix, strlen(fl->prefix)));
	if (r == 0)
		r = fleet_add_str(cr, "range_end", fleet_range_end(fl));
	if (r == 0)
		r = fleet_add_int(cr, "start_revision", fl->revision + 1);
	if (r == 0)
		r = json_object_object_add(cr, "progress_notify", json_object_new_boolean(1));
	if (r == 0) {
		r = json_object_object_add(b, "create_request", cr);
		cr = NULL;
	}
	fl->watch_created = false;
	fl->watch_msg_err = 0;
	if (r == 0)
		r = etcd_stream(fl->etcd, "/v3/watch", b, FLEET_MAX_MSG, fleet_on_watch_msg,
				fleet_on_watch_end, fl, &fl->watch_req);
	json_object_put(cr);
	json_object_put(b);
	if (r < 0) {
		fleet_set_error(fl, "watch: %s", strerror(-r));
		fleet_retry(fl);
	}
}

/* The backoff has passed: list again if no list was ever complete, else
 * resume the watch (a compacted revision makes etcd say so, and then
 * sgd lists). */
static void fleet_on_retry(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	struct sgd_fleet *fl = (struct sgd_fleet *)((char *)w -
						    offsetof(struct sgd_fleet, retry_timer));
	uint64_t n;

	(void)d;
	(void)ev;
	if (read(w->fd, &n, sizeof(n)) < 0)
		return;
	if (!fl->etcd || fl->list_req || fl->watch_req)
		return;
	if (!fl->listed || fl->snap)
		fleet_watch_start(fl);
	else
		fleet_watch_open(fl);
}

int fleet_watch_timer_init(struct sgd_fleet *fl)
{
	fl->retry_timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fl->retry_timer.fd < 0)
		return -errno;
	fl->retry_timer.fn = fleet_on_retry;
	return watch_add(fl->d, &fl->retry_timer, EPOLLIN);
}
