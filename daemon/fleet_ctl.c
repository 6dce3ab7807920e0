/*
 * fleet_ctl.c — what sgctl sees of the fleet: the fleet part of
 * `status`, the fleet members of `members list GROUP` with their host
 * ids, and `fleet status` / `fleet leave`.  Everything is built as one
 * json-c object; the text form is printed from it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "config.h"
#include "fleet.h"
#include "fleet_etcd.h"
#include "sgd.h"

static void fleet_jstr(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* Fleet members per group of the running config (by name). */
static struct json_object *fleet_group_counts(struct sgd *d)
{
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; o && d->cfg && i < d->cfg->n_groups; i++) {
		const struct sg_group *g = &d->cfg->groups[i];
		const char *names[2] = { g->name, g->id };
		uintptr_t n = 0;

		for (size_t k = 0; k < 2; k++) {
			struct lh_entry *le = names[k] ?
				lh_table_lookup_entry(d->fleet->members->groups, names[k]) : NULL;

			if (le)
				n += (uintptr_t)lh_entry_v(le);
		}
		if (n)
			json_object_object_add(o, g->name, json_object_new_int64((int64_t)n));
	}
	return o;
}

struct json_object *fleet_status_json(struct sgd *d)
{
	struct sgd_fleet *fl = d->fleet;
	struct json_object *o = json_object_new_object();
	char buf[64];

	if (!o || !fl)
		return o;
	json_object_object_add(o, "configured", json_object_new_boolean(fl->configured));
	json_object_object_add(o, "connected", json_object_new_boolean(fl->connected &&
								       !fl->ka_failed));
	fleet_jstr(o, "endpoint", fl->etcd ? etcd_client_endpoint(fl->etcd) : NULL);
	fleet_jstr(o, "prefix", fl->prefix);
	fleet_jstr(o, "host_id", fl->host_id);
	json_object_object_add(o, "revision", json_object_new_int64(fl->revision));
	json_object_object_add(o, "listed", json_object_new_boolean(fl->listed));
	snprintf(buf, sizeof(buf), "%llx", (unsigned long long)fl->lease);
	fleet_jstr(o, "lease", fl->lease ? buf : NULL);
	json_object_object_add(o, "lease_alive", json_object_new_boolean(fl->lease && fl->lease_ok));
	json_object_object_add(o, "lease_ttl", json_object_new_int64(fl->ttl));
	json_object_object_add(o, "left", json_object_new_boolean(fl->left));
	json_object_object_add(o, "keys", json_object_new_int64(lh_table_length(fl->members->keys)));
	json_object_object_add(o, "hosts", json_object_new_int64((int64_t)fl->members->n_hosts));
	json_object_object_add(o, "changes", json_object_new_int64((int64_t)fl->changes));
	if (fl->last_change) {
		struct tm tm;

		gmtime_r(&fl->last_change, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	fleet_jstr(o, "last_change", fl->last_change ? buf : NULL);
	json_object_object_add(o, "malformed_keys", json_object_new_int64((int64_t)fl->malformed));
	json_object_object_add(o, "over_cap", json_object_new_int64((int64_t)fl->over_cap));
	fleet_jstr(o, "last_error", fl->last_error[0] ? fl->last_error : NULL);
	json_object_object_add(o, "groups", fleet_group_counts(d));
	return o;
}

/* The text form: "fleet: ..." lines. */
static void fleet_status_text(struct sgd *d, FILE *b)
{
	struct sgd_fleet *fl = d->fleet;
	struct json_object *o = fleet_status_json(d), *g;
	char tb[64] = "never";
	bool first = true;

	if (fl->last_change) {
		struct tm tm;

		gmtime_r(&fl->last_change, &tm);
		strftime(tb, sizeof(tb), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	fprintf(b, "fleet: %s %s, revision %lld%s\n",
		   fl->connected && !fl->ka_failed ? "connected to" :
		   "not connected, last endpoint",
		   fl->etcd ? etcd_client_endpoint(fl->etcd) : "-", fl->revision,
		   fl->listed ? "" : " (not listed yet: nothing removed)");
	if (fl->left)
		fprintf(b, "fleet lease: none (left the fleet)\n");
	else if (fl->lease)
		fprintf(b, "fleet lease: %llx (%s, ttl %u s), host %s\n",
			   (unsigned long long)fl->lease, fl->lease_ok ? "alive" : "unchecked",
			   fl->ttl, fl->host_id ? fl->host_id : "-");
	else
		fprintf(b, "fleet lease: none yet, host %s\n", fl->host_id ? fl->host_id : "-");
	fprintf(b, "fleet last change: %s (%llu changes, %d keys, %zu hosts, %llu malformed "
		   "keys skipped)\n", tb, fl->changes, lh_table_length(fl->members->keys),
		   fl->members->n_hosts, fl->malformed);
	fputs("fleet members:", b);
	if (json_object_object_get_ex(o, "groups", &g)) {
		json_object_object_foreach(g, k, v) {
			fprintf(b, "%s %s %lld", first ? "" : ",", k,
				   (long long)json_object_get_int64(v));
			first = false;
		}
	}
	fputs(first ? " none\n" : "\n", b);
	if (fl->last_error[0])
		fprintf(b, "fleet last error: %s\n", fl->last_error);
	json_object_put(o);
}

/* Add key: val to the JSON object text (its closing brace moved). */
static char *fleet_json_merge(char *text, const char *key, struct json_object *val)
{
	size_t n = strlen(text);
	char *res;

	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	if (n == 0 || text[n - 1] != '}')
		return text;
	if (asprintf(&res, "%.*s,\"%s\":%s}\n", (int)(n - 1), text, key,
		     json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		return NULL;
	free(text);
	return res;
}

/* A FILE that writes into a new string (*buf after fleet_mem_close). */
static FILE *fleet_mem_open(char **buf, size_t *len)
{
	*buf = NULL;
	return open_memstream(buf, len);
}

/* Close f: 0 and *buf the text, or -ENOMEM (*buf freed). */
static int fleet_mem_close(FILE *f, char **buf)
{
	bool bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

char *fleet_status_append(struct sgd *d, bool json, char *text)
{
	char *res = NULL;
	size_t len;
	FILE *f;

	if (!text || !d->fleet || !d->fleet->configured)
		return text;
	if (json) {
		struct json_object *o = fleet_status_json(d);

		res = o ? fleet_json_merge(text, "fleet", o) : NULL;
		json_object_put(o);
		return res;
	}
	if (!(f = fleet_mem_open(&res, &len)))
		return NULL;
	fputs(text, f);
	fleet_status_text(d, f);
	free(text);
	return fleet_mem_close(f, &res) < 0 ? NULL : res;
}

char *fleet_members_append(struct sgd *d, int gi, bool json, char *text)
{
	const struct sg_group *g = &d->cfg->groups[gi];
	struct json_object *arr;
	struct lh_entry *le;
	char cb[64], *res = NULL;
	size_t len;
	FILE *f;

	if (!text || !d->fleet || !d->fleet->configured)
		return text;
	if (!(arr = json_object_new_array()) || !(f = fleet_mem_open(&res, &len))) {
		json_object_put(arr);
		return NULL;
	}
	fputs(text, f);
	lh_foreach(d->fleet->members->keys, le) {
		const struct fleet_entry *e = lh_entry_v(le);
		struct json_object *m;

		if (!e || (strcmp(e->group, g->name) != 0 && (!g->id || strcmp(e->group, g->id))))
			continue;
		cidr_format(&e->c, cb, sizeof(cb));
		fprintf(f, "fleet: %s host %s\n", cb, e->host);
		if ((m = json_object_new_object())) {
			fleet_jstr(m, "addr", cb);
			fleet_jstr(m, "host", e->host);
			json_object_array_add(arr, m);
		}
	}
	if (fleet_mem_close(f, &res) < 0) {
		json_object_put(arr);
		return NULL;
	}
	if (json) {
		free(res);
		res = fleet_json_merge(text, "fleet", arr);
	} else {
		free(text);
	}
	json_object_put(arr);
	return res;
}

static void fleet_answer_status(struct sgd *d, bool json, struct proto_resp *r)
{
	char *text = NULL;
	size_t len;
	FILE *f = fleet_mem_open(&text, &len);

	if (f && json) {
		struct json_object *o = fleet_status_json(d);

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else if (f) {
		fleet_status_text(d, f);
	}
	if (!f || fleet_mem_close(f, &text) < 0) {
		reply_fail(r, json, 1, "out of memory");
		return;
	}
	r->exit_code = 0;
	r->out = text;
	r->out_len = strlen(text);
}
void fleet_request(struct sgd *d, bool may_mutate, const struct proto_req *req,
		   struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	const char *sub = req->argc ? req->argv[0] : NULL;

	if (!sub || req->argc > 1 || (strcmp(sub, "status") && strcmp(sub, "leave"))) {
		reply_fail(r, json, 2, "usage: fleet status | fleet leave");
		return;
	}
	if (!d->fleet || !d->fleet->configured) {
		reply_fail(r, json, 1, "no fleet: section in %s/sgd.yaml", d->opt.confdir);
		return;
	}
	if (strcmp(sub, "status") == 0) {
		fleet_answer_status(d, json, r);
		return;
	}
	if (!may_mutate) {
		reply_fail(r, json, 1, "permission denied: 'fleet leave' needs root or the "
			      "control group");
		return;
	}
	if (d->fleet->left) {
		reply_ok(r, json, "already left the fleet");
		return;
	}
	if (fleet_reg_leave(d->fleet) < 0) {
		reply_fail(r, json, 1, "fleet leave: not connected to etcd");
		return;
	}
	reply_ok(r, json, "leaving the fleet: lease revoked, every key of %s goes; "
		    "`sgctl reload` or a restart joins again", d->fleet->host_id ?
		    d->fleet->host_id : "this host");
}
