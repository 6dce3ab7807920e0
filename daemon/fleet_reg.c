/*
 * fleet_reg.c — this host's registrations: under one lease,
 * PREFIX/members/<group>/<host_id>/<cidr> for every attached group and
 * address, and PREFIX/hosts/<host_id>.  The lease is kept alive every
 * TTL/3; a lease found gone is granted again and every key put back.
 * The lease id is kept in the state dir and reused by a restart while it
 * is alive, so a restart deletes and re-adds nothing.  A changed attach
 * list or address set is one transaction (puts and deletes).  SIGTERM
 * leaves the lease alone; only `sgctl fleet leave` revokes it.
 */
#include <errno.h>
#include <stdio.h>
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

#define FLEET_TXN_MAX_OPS	128	/* etcd's default --max-txn-ops */

char *fleet_key_b64(const struct sgd_fleet *fl, const char *rel)
{
	char *abs, *b;

	if (asprintf(&abs, "%s%s", fl->prefix, rel) < 0)
		return NULL;
	b = etcd_b64_encode(abs, strlen(abs));
	free(abs);
	return b;
}

static int fleet_str_add(struct json_object *o, const char *key, const char *val)
{
	struct json_object *s = val ? json_object_new_string(val) : NULL;

	if (!s)
		return -ENOMEM;
	return json_object_object_add(o, key, s) < 0 ? -ENOMEM : 0;
}

/* The value of hosts/<host_id>: {"groups": [...], "addrs": [...]}. */
static const char *fleet_host_value(const struct sgd_fleet *fl, struct json_object *v)
{
	struct json_object *g = json_object_new_array(), *a = json_object_new_array();
	char cb[64];

	for (size_t i = 0; g && i < fl->n_groups; i++)
		json_object_array_add(g, json_object_new_string(fl->groups[i]));
	for (size_t i = 0; a && i < fl->n_addrs; i++)
		json_object_array_add(a, json_object_new_string(cidr_format(&fl->addrs[i], cb,
									    sizeof(cb))));
	json_object_object_add(v, "groups", g);
	json_object_object_add(v, "addrs", a);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

struct json_object *fleet_reg_wanted(const struct sgd_fleet *fl)
{
	struct json_object *w = json_object_new_object(), *hv = json_object_new_object();
	char cb[64], *key;
	int r = w && hv ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < fl->n_groups; i++)
		for (size_t k = 0; r == 0 && k < fl->n_addrs; k++) {
			char val[96];

			cidr_format(&fl->addrs[k], cb, sizeof(cb));
			if (asprintf(&key, "members/%s/%s/%s", fl->groups[i], fl->host_id, cb) < 0) {
				r = -ENOMEM;
				break;
			}
			snprintf(val, sizeof(val), "{\"addr\":\"%s\"}", cb);
			r = fleet_str_add(w, key, val);
			free(key);
		}
	if (r == 0 && asprintf(&key, "hosts/%s", fl->host_id) >= 0) {
		r = fleet_str_add(w, key, fleet_host_value(fl, hv));
		free(key);
	} else if (r == 0) {
		r = -ENOMEM;
	}
	json_object_put(hv);
	if (r < 0) {
		json_object_put(w);
		return NULL;
	}
	return w;
}

/* {"request_put": {key, value, lease}} or {"request_delete_range": {key}}
 * appended to ops. */
static int fleet_op_add(const struct sgd_fleet *fl, struct json_object *ops, const char *rel,
			const char *val)
{
	struct json_object *op = json_object_new_object(), *in = json_object_new_object();
	char lease[32];
	char *k = fleet_key_b64(fl, rel), *v = val ? etcd_b64_encode(val, strlen(val)) : NULL;
	int r = op && in && k && (!val || v) ? 0 : -ENOMEM;

	snprintf(lease, sizeof(lease), "%lld", fl->lease);
	if (r == 0)
		r = fleet_str_add(in, "key", k);
	if (r == 0 && val)
		r = fleet_str_add(in, "value", v);
	if (r == 0 && val)
		r = fleet_str_add(in, "lease", lease);
	free(k);
	free(v);
	if (r == 0) {
		json_object_object_add(op, val ? "request_put" : "request_delete_range", in);
		in = NULL;
		r = json_object_array_add(ops, op) < 0 ? -ENOMEM : 0;
		if (r == 0)
			op = NULL;
	}
	json_object_put(in);
	json_object_put(op);
	return r;
}

/* The operations that bring etcd to what this host wants: every put
 * after a new lease, else the missing ones, and the deletes of this
 * host's keys that it no longer wants (known once a list was applied). */
static struct json_object *fleet_reg_ops(struct sgd_fleet *fl)
{
	struct json_object *want = fleet_reg_wanted(fl), *ops = json_object_new_array();
	struct lh_entry *le;
	int r = want && ops ? 0 : -ENOMEM;

	if (r == 0) {
		json_object_object_foreach(want, k, v) {
			if (r == 0 && (fl->reg_full || !lh_table_lookup_entry(fl->members->keys, k)))
				r = fleet_op_add(fl, ops, k, json_object_get_string(v));
		}
	}
	lh_foreach(fl->members->keys, le) {
		const char *k = lh_entry_k(le);
		const struct fleet_entry *e = lh_entry_v(le);
		bool ours = e ? strcmp(e->host, fl->host_id) == 0 :
				strcmp(k + 6, fl->host_id) == 0;

		if (r == 0 && fl->listed && ours && !json_object_object_get_ex(want, k, NULL))
			r = fleet_op_add(fl, ops, k, NULL);
	}
	json_object_put(want);
	if (r < 0) {
		json_object_put(ops);
		return NULL;
	}
	return ops;
}

static void fleet_reg_failed(struct sgd_fleet *fl, const char *what, int err,
			     struct json_object *res)
{
	struct json_object *e, *m;
	const char *msg = res && json_object_object_get_ex(res, "error", &e) &&
			  json_object_object_get_ex(e, "message", &m) ?
			  json_object_get_string(m) : NULL;

	if (!msg && res && json_object_object_get_ex(res, "message", &m))
		msg = json_object_get_string(m);
	fleet_set_error(fl, "%s via %s: %s", what, etcd_client_endpoint(fl->etcd),
			msg ? msg : etcd_strerror(fl->etcd, err));
	sgd_log(fl->d, LOG_WARNING, "fleet: %s; retrying at the next keepalive tick",
		fl->last_error);
	if (msg && strstr(msg, "lease not found")) {
		fl->lease = 0;
		fl->lease_ok = false;
	}
	fl->reg_dirty = true;
	if (err != -EPROTO)
		etcd_client_next(fl->etcd);
}

static void fleet_on_txn(struct sgd *d, void *arg, int err, struct json_object *res)
{
	struct sgd_fleet *fl = arg;

	(void)d;
	fl->txn_req = NULL;
	if (err < 0) {
		fleet_reg_failed(fl, "register", err, res);
		return;
	}
	sgd_log(fl->d, LOG_INFO, "fleet: registered %s (%zu groups, %zu addresses) under "
		"lease %llx", fl->host_id, fl->n_groups, fl->n_addrs,
		(unsigned long long)fl->lease);
	fl->reg_full = false;
	if (fl->reg_dirty)
		fleet_reg_kick(fl);
}

static void fleet_reg_txn(struct sgd_fleet *fl)
{
	struct json_object *ops = fleet_reg_ops(fl), *b, *chunk;
	size_t n = ops ? json_object_array_length(ops) : 0;
	int r;

	fl->reg_dirty = false;
	if (!ops || n == 0) {
		json_object_put(ops);
		if (!ops)
			fl->reg_dirty = true;
		return;
	}
	/* Past etcd's limit the rest follows in the next transaction (this
	 * one's keys are then no longer missing). */
	if (n > FLEET_TXN_MAX_OPS) {
		chunk = json_object_new_array();
		for (size_t i = 0; chunk && i < FLEET_TXN_MAX_OPS; i++)
			json_object_array_add(chunk, json_object_get(json_object_array_get_idx(ops, i)));
		json_object_put(ops);
		ops = chunk;
		fl->reg_dirty = true;
	}
	b = json_object_new_object();
	r = b && ops ? json_object_object_add(b, "success", ops) : -ENOMEM;
	if (r == 0)
		r = etcd_post(fl->etcd, "/v3/kv/txn", b, FLEET_REQ_TIMEOUT_MS, fleet_on_txn, fl,
			      &fl->txn_req);
	else
		json_object_put(ops);
	json_object_put(b);
	if (r < 0)
		fleet_reg_failed(fl, "register", r, NULL);
}

static void fleet_on_grant(struct sgd *d, void *arg, int err, struct json_object *res)
{
	struct sgd_fleet *fl = arg;
	long long id = etcd_json_int(res, "ID", 0);

	(void)d;
	fl->lease_req = NULL;
	if (err < 0 || id == 0) {
		fleet_reg_failed(fl, "lease grant", err < 0 ? err : -EPROTO, res);
		return;
	}
	fl->lease = id;
	fl->lease_ok = true;
	fl->reg_full = true;
	sgd_log(fl->d, LOG_NOTICE, "fleet: lease %llx granted (ttl %lld s)",
		(unsigned long long)id, etcd_json_int(res, "TTL", 0));
	if (fleet_store_save(fl->d, fl) < 0)
		sgd_log(fl->d, LOG_WARNING, "fleet: cannot save %s", FLEET_STATE_FILE);
	fleet_reg_kick(fl);
}

static void fleet_on_keepalive(struct sgd *d, void *arg, int err, struct json_object *res)
{
	struct sgd_fleet *fl = arg;
	struct json_object *r;
	long long ttl;

	(void)d;
	fl->lease_req = NULL;
	if (err < 0 || !json_object_object_get_ex(res, "result", &r)) {
		fleet_reg_failed(fl, "keepalive", err < 0 ? err : -EPROTO, res);
		fl->reg_dirty = false;	/* nothing to put: the lease is retried */
		fl->ka_failed = true;
		if (err != -EPROTO)
			fl->restart_watch(fl);
		return;
	}
	fl->ka_failed = false;
	ttl = etcd_json_int(r, "TTL", 0);
	if (ttl <= 0) {
		sgd_log(fl->d, fl->lease_ok ? LOG_WARNING : LOG_INFO, "fleet: lease %llx is "
			"gone; granting a new one and registering again",
			(unsigned long long)fl->lease);
		fl->lease = 0;
		fl->lease_ok = false;
	} else if (!fl->lease_ok) {
		sgd_log(fl->d, LOG_INFO, "fleet: reusing lease %llx (%lld s left)",
			(unsigned long long)fl->lease, ttl);
		fl->lease_ok = true;
	}
	fleet_reg_kick(fl);
}

static void fleet_lease_post(struct sgd_fleet *fl, const char *path, etcd_done_fn fn,
			     const char *key, long long val)
{
	struct json_object *b = json_object_new_object();
	char num[32];
	int r;

	snprintf(num, sizeof(num), "%lld", val);
	r = b ? fleet_str_add(b, key, num) : -ENOMEM;
	if (r == 0)
		r = etcd_post(fl->etcd, path, b, FLEET_REQ_TIMEOUT_MS, fn, fl, &fl->lease_req);
	json_object_put(b);
	if (r < 0)
		fleet_reg_failed(fl, path, r, NULL);
}

void fleet_reg_kick(struct sgd_fleet *fl)
{
	if (fl->left || !fl->etcd || !fl->configured || !fl->host_id)
		return;
	if (fl->lease_req || fl->txn_req) {
		fl->reg_dirty = true;
		return;
	}
	if (fl->lease == 0) {
		fleet_lease_post(fl, "/v3/lease/grant", fleet_on_grant, "TTL", fl->ttl);
		return;
	}
	if (!fl->lease_ok) {
		/* a lease from before the restart: alive? */
		fleet_lease_post(fl, "/v3/lease/keepalive", fleet_on_keepalive, "ID", fl->lease);
		return;
	}
	/* Deleting what we no longer want needs the list; a new lease
	 * puts everything at once. */
	if (!fl->listed && !fl->reg_full) {
		fl->reg_dirty = true;
		return;
	}
	fleet_reg_txn(fl);
}

static void fleet_on_tick(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	struct sgd_fleet *fl = (struct sgd_fleet *)((char *)w -
						    offsetof(struct sgd_fleet, ka_timer));
	uint64_t n;

	(void)d;
	(void)ev;
	if (read(w->fd, &n, sizeof(n)) < 0 || fl->left || !fl->etcd)
		return;
	if (fl->lease && fl->lease_ok && !fl->lease_req)
		fleet_lease_post(fl, "/v3/lease/keepalive", fleet_on_keepalive, "ID", fl->lease);
	else if (fl->reg_dirty || fl->lease == 0)
		fleet_reg_kick(fl);
}

int fleet_reg_timer_init(struct sgd_fleet *fl)
{
	int r;

	fl->ka_timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fl->ka_timer.fd < 0)
		return -errno;
	fl->ka_timer.fn = fleet_on_tick;
	r = watch_add(fl->d, &fl->ka_timer, EPOLLIN);
	if (r == 0)
		r = watch_timer_set_ms(fl->ka_timer.fd, (long long)fl->ttl * 1000 / 3, true);
	return r;
}

void fleet_reg_stop(struct sgd_fleet *fl)
{
	if (fl->etcd) {
		etcd_cancel(fl->etcd, fl->lease_req);
		etcd_cancel(fl->etcd, fl->txn_req);
	}
	fl->lease_req = fl->txn_req = NULL;
}

static void fleet_on_revoke(struct sgd *d, void *arg, int err, struct json_object *res)
{
	struct sgd_fleet *fl = arg;

	(void)d;
	fl->lease_req = NULL;
	if (err < 0) {
		fleet_set_error(fl, "leave: revoke via %s: %s", etcd_client_endpoint(fl->etcd),
				strerror(-err));
		sgd_log(fl->d, LOG_WARNING, "fleet: %s", fl->last_error);
		(void)res;
		return;
	}
	sgd_log(fl->d, LOG_NOTICE, "fleet: left: lease %llx revoked, every key of %s removed",
		(unsigned long long)fl->lease, fl->host_id);
	fl->lease = 0;
	fl->lease_ok = false;
	if (fleet_store_save(fl->d, fl) < 0)
		sgd_log(fl->d, LOG_WARNING, "fleet: cannot save %s", FLEET_STATE_FILE);
}

int fleet_reg_leave(struct sgd_fleet *fl)
{
	if (!fl->etcd)
		return -ENOTCONN;
	fl->left = true;
	fleet_reg_stop(fl);
	if (fl->lease == 0)
		return 0;
	fleet_lease_post(fl, "/v3/lease/revoke", fleet_on_revoke, "ID", fl->lease);
	return 0;
}
