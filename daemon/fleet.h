/*
 * fleet.h — fleet membership through etcd (SPEC section 4, docs/fleet.md).
 *
 * The fleet is one more membership source, beside YAML, members.d and
 * run-time additions: the registrations of every host under
 * PREFIX/members/<group>/<host_id>/<cidr>.  sgd registers its own under
 * one lease (fleet_reg.c), lists and watches everyone's (fleet_watch.c),
 * keeps what it last applied in a cache that survives restarts
 * (fleet_store.c), and turns changes into set-element deltas (fleet.c).
 * The etcd client is fleet_etcd.c.
 */
#ifndef SGD_FLEET_H
#define SGD_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "model.h"
#include "proto.h"
#include "sgd.h"

struct sgd;
struct sgd_client;
struct etcd_client;
struct etcd_req;
struct json_object;
struct lh_table;

/* Bounds (docs/fleet.md): one watch message, members of one group. */
#define FLEET_MAX_MSG		(16u << 20)
#define FLEET_MAX_PER_GROUP	100000
#define FLEET_LIST_PAGE		1000
#define FLEET_BACKOFF_MIN_MS	200
#define FLEET_BACKOFF_MAX_MS	5000
#define FLEET_REQ_TIMEOUT_MS	5000
#define FLEET_STATE_FILE	"fleet.json"
#define FLEET_SAVE_MS		1000

/* One registration seen in etcd. */
struct fleet_entry {
	char *group;		/* as in the key: a group name or id */
	char *host;
	struct sg_cidr c;
};

/* Registrations by key (without the prefix), with a count per group for
 * the cap. */
struct fleet_map {
	struct lh_table *keys;		/* key -> struct fleet_entry */
	struct lh_table *groups;	/* group -> count (uintptr_t) */
	size_t n_hosts;			/* hosts/ keys */
};

struct sgd_fleet {
	struct sgd *d;
	struct etcd_client *etcd;
	char *client_sig;		/* endpoints and TLS the client was made for */
	/* what this host registers (from the running config) */
	char *prefix;
	char *host_id;
	unsigned ttl;
	char **groups;			/* group id, else name, of each attached group */
	size_t n_groups;
	struct sg_cidr *addrs;
	size_t n_addrs;
	/* the registrations of every host, by key (without the prefix) */
	struct fleet_map *members;
	long long revision;		/* of the last list or event applied */
	bool listed;			/* a complete list was applied since start */
	bool configured;		/* fleet: in the running config */
	bool connected;			/* the watch stream is up */
	bool ka_failed;			/* the last keepalive got no answer */
	/* list in progress */
	struct fleet_map *snap;
	long long snap_rev;
	struct etcd_req *list_req;
	struct etcd_req *watch_req;
	bool watch_created;
	int watch_msg_err;		/* what a message ended the watch with */
	/* registration */
	long long lease;		/* 0: none */
	bool lease_ok;			/* checked alive since start */
	bool reg_full;			/* put every key (new lease) */
	bool reg_dirty;			/* the keys may differ from what we want */
	bool left;			/* sgctl fleet leave */
	struct etcd_req *lease_req;
	struct etcd_req *txn_req;
	struct sgd_client *leave_client;	/* waiting for the revoke */
	/* timers (timerfds in the loop) */
	struct sgd_watch ka_timer;	/* keepalive, TTL/3 */
	struct sgd_watch retry_timer;	/* list/watch backoff */
	struct sgd_watch save_timer;	/* fleet.json, at most once a second */
	bool save_pending;
	long backoff_ms;
	/* for status */
	unsigned long long malformed;	/* keys skipped */
	unsigned long long over_cap;	/* registrations past a cap */
	unsigned long long changes;	/* applied events */
	time_t last_change;
	char last_error[256];
	/* set by fleet.c: apply the members (fleet_apply) and restart the
	 * watch (fleet_watch_restart), for the watch and the registration */
	void (*apply)(struct sgd *d);
	void (*restart_watch)(struct sgd_fleet *fl);
};

/* fleet.c */
/* At start, before the first commit: the fleet membership kept in the
 * state dir, so the first ruleset already has it.  0 or -ENOMEM (a
 * missing or bad state file is no error: logged). */
int fleet_init(struct sgd *d);
/* After every commit of a configuration (start, reload, rollback):
 * start, change or stop the fleet to match d->cfg->fleet. */
void fleet_configure(struct sgd *d);
/* At exit: the lease is not revoked (a restart reuses it). */
void fleet_fini(struct sgd *d);
/* fleet_store.c, besides fleet.json: what the fleet registered, read by
 * membership (which is above the fleet's lifecycle, so these live here) */
/* Add the fleet members of group g (by name or id) to out.  0 or
 * -ENOMEM. */
int fleet_members_collect(const struct sgd *d, const struct sg_group *g,
			  struct sg_cidr_list *out);
/* One fleet registration of a group: its address and the host id that
 * registered it (owned by the fleet's map: valid until it changes). */
struct fleet_host_ref {
	struct sg_cidr c;
	const char *host;
};
/* The fleet registrations of group g (by name or id) in *v, sorted by
 * address, then host id; *v NULL when none.  0 or -ENOMEM. */
int fleet_members_hosts(const struct sgd *d, const struct sg_group *g,
			struct fleet_host_ref **v, size_t *n);
/* The fleet's membership changed: push the differences to the kernel
 * as set-element deltas (no reload). */
void fleet_apply(struct sgd *d);
/* fleet_ctl.c */
/* sgctl fleet status|leave; may_mutate: whether the client may leave
 * (dispatch.c decides it, as for every command). */
void fleet_request(struct sgd *d, bool may_mutate, const struct proto_req *req,
		   struct proto_resp *r);
/* status: the fleet lines (text) or "fleet" object (json) added to text;
 * text unchanged without fleet:.  NULL on -ENOMEM. */
char *fleet_status_append(struct sgd *d, bool json, char *text);
/* members list: the fleet members of gi with their host ids added. */
char *fleet_members_append(struct sgd *d, int gi, bool json, char *text);
/* The fleet's status object (json-c), for status and fleet status. */
struct json_object *fleet_status_json(struct sgd *d);
void fleet_set_error(struct sgd_fleet *fl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* fleet_store.c */
struct fleet_map *fleet_map_new(void);
void fleet_map_free(struct fleet_map *m);
/* Parse key (without the prefix) into a new entry: 0, 1 for a hosts/
 * key (*out NULL), -EINVAL for a malformed key, -ENOMEM. */
int fleet_key_parse(const char *key, struct fleet_entry **out);
/* key was put: record it.  0 (recorded or already there), 1 (a hosts/
 * key), -EINVAL (malformed: skipped), -E2BIG (its group is at
 * FLEET_MAX_PER_GROUP: skipped), -ENOMEM. */
int fleet_map_put(struct fleet_map *m, const char *key);
/* key was deleted: forget it (absent: nothing). */
void fleet_map_del(struct fleet_map *m, const char *key);
/* Load / save the cache and revision (and lease) in the state dir. */
int fleet_store_load(struct sgd *d, struct sgd_fleet *fl);
int fleet_store_save(struct sgd *d, struct sgd_fleet *fl);
/* Save within FLEET_SAVE_MS: a burst of watch events is one write (a
 * restart within that time lists again anyway when etcd answers). */
void fleet_store_later(struct sgd_fleet *fl);
int fleet_store_timer_init(struct sgd_fleet *fl);
/* Write what is pending now (at exit). */
void fleet_store_flush(struct sgd_fleet *fl);

/* fleet_watch.c */
/* List from scratch (pages pinned to one revision), apply the
 * difference, then watch from the next revision. */
void fleet_watch_start(struct sgd_fleet *fl);
void fleet_watch_stop(struct sgd_fleet *fl);
/* The endpoint stopped answering (a keepalive timed out): a stream that
 * looks alive may be stuck; end it and resume after the backoff. */
void fleet_watch_restart(struct sgd_fleet *fl);
int fleet_watch_timer_init(struct sgd_fleet *fl);

/* fleet_reg.c */
/* Bring etcd's keys of this host in line with what it should register
 * (grant a lease first when needed); a no-op after `fleet leave`. */
void fleet_reg_kick(struct sgd_fleet *fl);
int fleet_reg_timer_init(struct sgd_fleet *fl);
void fleet_reg_stop(struct sgd_fleet *fl);
/* sgctl fleet leave: revoke the lease (every key of this host goes). */
int fleet_reg_leave(struct sgd_fleet *fl);
/* The keys this host should have, as a table key -> 1 (json object). */
struct json_object *fleet_reg_wanted(const struct sgd_fleet *fl);
/* etcd key for a prefix-relative key: prefix + rel, base64. */
char *fleet_key_b64(const struct sgd_fleet *fl, const char *rel);

#endif
