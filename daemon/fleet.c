/*
 * fleet.c — the fleet as a membership source: its life with the running
 * configuration, its members handed to the membership union, its
 * changes pushed to the kernel as set-element deltas, and what status,
 * members list and `sgctl fleet` show of it.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "engine.h"
#include "fleet.h"
#include "fleet_etcd.h"
#include "membatch.h"
#include "sgd.h"

#define FLEET_MACHINE_ID	"/etc/machine-id"

static struct sgd_fleet *fleet_new(struct sgd *d)
{
	struct sgd_fleet *fl = calloc(1, sizeof(*fl));

	if (!fl)
		return NULL;
	fl->d = d;
	/* the watch and the registration call back into the lifecycle
	 * through these, so that calls go one way (tests/tools/layers.py) */
	fl->apply = fleet_apply;
	fl->restart_watch = fleet_watch_restart;
	fl->ka_timer.fd = fl->retry_timer.fd = fl->save_timer.fd = -1;
	fl->members = fleet_map_new();
	fl->prefix = strdup("/sgd/");
	if (!fl->members || !fl->prefix) {
		fleet_map_free(fl->members);
		free(fl->prefix);
		free(fl);
		return NULL;
	}
	return fl;
}

int fleet_init(struct sgd *d)
{
	struct sgd_fleet *fl = fleet_new(d);
	int r;

	if (!fl)
		return -ENOMEM;
	d->fleet = fl;
	r = fleet_store_load(d, fl);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		sgd_log(d, LOG_WARNING, "fleet: ignoring %s: %s", FLEET_STATE_FILE, strerror(-r));
		fleet_map_free(fl->members);
		if (!(fl->members = fleet_map_new()))
			return -ENOMEM;
		fl->revision = fl->lease = 0;
	} else if (lh_table_length(fl->members->keys) > 0) {
		sgd_log(d, LOG_INFO, "fleet: %d keys at revision %lld kept from the last run",
			lh_table_length(fl->members->keys), fl->revision);
	}
	return 0;
}

static void fleet_free_groups(struct sgd_fleet *fl)
{
	for (size_t i = 0; i < fl->n_groups; i++)
		free(fl->groups[i]);
	free(fl->groups);
	fl->groups = NULL;
	fl->n_groups = 0;
}

static void fleet_close_timer(struct sgd *d, struct sgd_watch *w)
{
	if (w->fd >= 0) {
		watch_del(d, w);
		close(w->fd);
	}
	w->fd = -1;
}

/* Stop talking to etcd (the lease is left alone). */
static void fleet_disconnect(struct sgd_fleet *fl)
{
	if (fl->etcd) {
		fleet_watch_stop(fl);
		fleet_reg_stop(fl);
		etcd_client_free(fl->etcd);
	}
	fl->etcd = NULL;
	fl->connected = false;
	fleet_close_timer(fl->d, &fl->ka_timer);
	fleet_close_timer(fl->d, &fl->retry_timer);
	fleet_store_flush(fl);
	fleet_close_timer(fl->d, &fl->save_timer);
	free(fl->client_sig);
	fl->client_sig = NULL;
}

void fleet_fini(struct sgd *d)
{
	struct sgd_fleet *fl = d->fleet;

	if (!fl)
		return;
	fleet_disconnect(fl);
	fleet_map_free(fl->members);
	fleet_free_groups(fl);
	free(fl->prefix);
	free(fl->host_id);
	free(fl->addrs);
	free(fl);
	d->fleet = NULL;
}

static int fleet_cidr_cmp(const void *a, const void *b)
{
	return cidr_cmp(a, b);
}

static bool fleet_list_equal(const struct sg_cidr_list *a, const struct sg_cidr_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (cidr_cmp(&a->v[i], &b->v[i]) != 0)
			return false;
	return true;
}

void fleet_apply(struct sgd *d)
{
	struct sg_members m;
	struct sg_diags dg;
	int r;

	/* disabled: enable computes the members again */
	if (!d->cfg || d->disabled || !d->eng)
		return;
	/* which source holds a member changed: membatch's indexes count
	 * the sources (a run-time member also in the fleet is kept by
	 * `members del`) */
	membatch_invalidate(d);
	r = membership_compute_live(d, d->cfg, &m);
	if (r < 0) {
		sgd_log_event(d, LOG_WARNING, SGD_EV_MEMBERS, NULL, "fleet change not applied: %s",
			      strerror(-r));
		return;
	}
	diags_init(&dg);
	for (size_t i = 0; i < m.n_groups; i++) {
		struct sg_cidr_list tmp, *cur = &d->members.by_group[i];

		/* run-time changes leave the running lists unsorted */
		if (cur->n > 1)
			qsort(cur->v, cur->n, sizeof(*cur->v), fleet_cidr_cmp);
		if (fleet_list_equal(&m.by_group[i], cur))
			continue;
		r = engine_members_update(d->eng, d->cfg, (int)i, cur, &m.by_group[i], &dg);
		if (r < 0) {
			sgd_log_diags(d, LOG_WARNING, SGD_EV_MEMBERS, "fleet", &dg);
			sgd_log_event(d, LOG_WARNING, SGD_EV_MEMBERS, d->cfg->groups[i].name,
				      "fleet: members of %s not updated: %s",
				      d->cfg->groups[i].name, strerror(-r));
			continue;
		}
		sgd_log_event(d, LOG_INFO, SGD_EV_MEMBERS, d->cfg->groups[i].name,
			      "members of %s updated from the fleet (%zu -> %zu)",
			      d->cfg->groups[i].name, cur->n, m.by_group[i].n);
		tmp = *cur;
		*cur = m.by_group[i];
		m.by_group[i] = tmp;
	}
	diags_free(&dg);
	membership_free(&m);
}

/* The id of the machine (/etc/machine-id), when fleet: names none. */
static char *fleet_machine_id(struct sgd *d)
{
	char buf[128] = "";
	FILE *f = fopen(FLEET_MACHINE_ID, "re");
	size_t n;

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	n = strcspn(buf, "\n");
	buf[n] = '\0';
	if (!load_fleet_host_id_valid(buf)) {
		sgd_log(d, LOG_WARNING, "fleet: no usable host id in %s; set fleet: host_id",
			FLEET_MACHINE_ID);
		return NULL;
	}
	return strdup(buf);
}

/* The host's global addresses: not loopback, not link-local. */
static int fleet_host_addrs(struct sg_cidr **out, size_t *n)
{
	struct ifaddrs *ifa, *i;
	struct sg_cidr *v;
	size_t k = 0, cap = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next)
		cap++;
	v = calloc(cap ? cap : 1, sizeof(*v));
	for (i = ifa; v && i; i = i->ifa_next) {
		struct sg_cidr c = { 0 };

		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || k >= SG_FLEET_MAX_ADDRS)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct in_addr *a = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			uint8_t b0 = ((const uint8_t *)a)[0], b1 = ((const uint8_t *)a)[1];

			if (b0 == 127 || (b0 == 169 && b1 == 254))
				continue;
			c.family = AF_INET;
			c.addr.v4 = *a;
			c.prefix = 32;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_LOOPBACK(a) ||
			    IN6_IS_ADDR_MULTICAST(a))
				continue;
			c.family = AF_INET6;
			c.addr.v6 = *a;
			c.prefix = 128;
		} else {
			continue;
		}
		v[k++] = c;
	}
	freeifaddrs(ifa);
	if (!v)
		return -ENOMEM;
	*out = v;
	*n = k;
	return 0;
}

/* The attached groups (globally or on an interface), each by id when it
 * has one (ids are what AWS rules name), else by name; no repeats. */
static int fleet_attached(struct sgd_fleet *fl, const struct sg_config *cfg)
{
	size_t cap = cfg->n_attach;

	for (size_t i = 0; i < cfg->n_ifaces; i++)
		cap += cfg->ifaces[i].n_groups;
	fleet_free_groups(fl);
	fl->groups = calloc(cap ? cap : 1, sizeof(*fl->groups));
	if (!fl->groups)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++) {
		const struct sg_ref *ref = i < cfg->n_attach ? &cfg->attach[i] : NULL;
		size_t j = i - cfg->n_attach, f = 0;
		const struct sg_group *g;
		const char *name;
		bool dup = false;

		while (!ref && j >= cfg->ifaces[f].n_groups)
			j -= cfg->ifaces[f++].n_groups;
		if (!ref)
			ref = &cfg->ifaces[f].groups[j];
		if (ref->group_idx < 0)
			continue;
		g = &cfg->groups[ref->group_idx];
		name = g->id ? g->id : g->name;
		for (size_t k = 0; k < fl->n_groups && !dup; k++)
			dup = strcmp(fl->groups[k], name) == 0;
		if (!dup && !(fl->groups[fl->n_groups++] = strdup(name)))
			return -ENOMEM;
	}
	return 0;
}

/* Host id, addresses and groups from the running config.  0 or -errno. */
static int fleet_identity(struct sgd_fleet *fl, const struct sg_fleet *f,
			  const struct sg_config *cfg)
{
	int r;

	free(fl->host_id);
	fl->host_id = f->host_id ? strdup(f->host_id) : fleet_machine_id(fl->d);
	free(fl->addrs);
	fl->addrs = NULL;
	fl->n_addrs = 0;
	if (f->n_addrs) {
		fl->addrs = calloc(f->n_addrs, sizeof(*fl->addrs));
		if (!fl->addrs)
			return -ENOMEM;
		memcpy(fl->addrs, f->addrs, f->n_addrs * sizeof(*fl->addrs));
		fl->n_addrs = f->n_addrs;
	} else if ((r = fleet_host_addrs(&fl->addrs, &fl->n_addrs)) < 0) {
		return r;
	}
	fl->ttl = f->lease_ttl;
	return fleet_attached(fl, cfg);
}

/* What the etcd client depends on, to know when a reload changes it. */
static char *fleet_client_sig(const struct sg_fleet *f)
{
	char *s = NULL, *t;

	if (asprintf(&s, "%s|%s|%s|%s", f->prefix, f->tls_ca ? f->tls_ca : "",
		     f->tls_cert ? f->tls_cert : "", f->tls_key ? f->tls_key : "") < 0)
		return NULL;
	for (size_t i = 0; i < f->n_endpoints; i++) {
		if (asprintf(&t, "%s|%s", s, f->endpoints[i]) < 0) {
			free(s);
			return NULL;
		}
		free(s);
		s = t;
	}
	return s;
}

/* Connect to f's endpoints: client, timers, list + watch, registration. */
static int fleet_connect(struct sgd_fleet *fl, const struct sg_fleet *f, char *sig)
{
	int r = etcd_client_new(fl->d, f, &fl->etcd);

	fl->client_sig = sig;
	if (r == 0)
		r = fleet_watch_timer_init(fl);
	if (r == 0)
		r = fleet_reg_timer_init(fl);
	if (r == 0)
		r = fleet_store_timer_init(fl);
	if (r < 0)
		return r;
	fleet_watch_start(fl);
	fleet_reg_kick(fl);
	return 0;
}

/* No fleet: any more: its members leave the kernel, its state file goes. */
static void fleet_unconfigure(struct sgd *d, struct sgd_fleet *fl)
{
	char path[4096];

	fleet_disconnect(fl);
	if (lh_table_length(fl->members->keys) == 0 && !fl->configured)
		return;
	fl->configured = false;
	fleet_map_free(fl->members);
	fl->members = fleet_map_new();
	fl->revision = fl->lease = 0;
	fl->listed = fl->lease_ok = false;
	fleet_apply(d);
	snprintf(path, sizeof(path), "%s/%s", d->state_dir_real ? d->state_dir_real :
		 d->opt.state_dir, FLEET_STATE_FILE);
	(void)unlink(path);	/* absent is fine */
}

void fleet_configure(struct sgd *d)
{
	struct sgd_fleet *fl = d->fleet;
	const struct sg_fleet *f = d->cfg ? d->cfg->fleet : NULL;
	char *sig;
	int r;

	if (!fl || !fl->members)
		return;
	if (!f) {
		fleet_unconfigure(d, fl);
		return;
	}
	if (strcmp(fl->prefix, f->prefix) != 0) {
		/* another fleet: what was kept is not its membership */
		fleet_disconnect(fl);
		fleet_map_free(fl->members);
		fl->members = fleet_map_new();
		free(fl->prefix);
		fl->prefix = strdup(f->prefix);
		fl->revision = fl->lease = 0;
		fl->listed = fl->lease_ok = false;
		if (!fl->members || !fl->prefix) {
			sgd_log(d, LOG_ERR, "fleet: out of memory");
			return;
		}
		fleet_apply(d);
	}
	fl->configured = true;
	fl->left = false;	/* a reload after `fleet leave` joins again */
	r = fleet_identity(fl, f, d->cfg);
	if (r < 0 || !fl->host_id)
		sgd_log(d, LOG_WARNING, "fleet: not registering this host: %s",
			r < 0 ? strerror(-r) : "no host id");
	sig = fleet_client_sig(f);
	if (fl->etcd && sig && fl->client_sig && strcmp(sig, fl->client_sig) == 0) {
		free(sig);
		if (fl->ka_timer.fd >= 0)
			(void)watch_timer_set_ms(fl->ka_timer.fd, (long long)fl->ttl * 1000 / 3, true);
		fleet_reg_kick(fl);
		return;
	}
	fleet_disconnect(fl);
	r = sig ? fleet_connect(fl, f, sig) : -ENOMEM;
	if (r < 0) {
		sgd_log(d, LOG_WARNING, "fleet: cannot start: %s; keeping the last membership",
			strerror(-r));
		fleet_disconnect(fl);
	}
}
