/*
 * drop.c — one NFLOG message to a struct drop_entry (drop.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "drop.h"
#include <linux/netfilter.h>

void drop_sanitize(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	if (!len)
		return;
	for (; src && *src && n + 1 < len; src++)
		dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[n] = '\0';
}

/* The direction sgd wrote into the prefix ("sgd-in ", "sgd-out "); for a
 * prefix we do not know, the netfilter hook decides.  -1 when neither
 * tells. */
static int drop_direction(const struct nflog_msg *m)
{
	if (m->has_prefix) {
		size_t n = strlen(m->prefix);

		while (n && m->prefix[n - 1] == ' ')
			n--;
		if (n >= 3 && !strncmp(m->prefix + n - 3, "-in", 3))
			return SG_DIR_IN;
		if (n >= 4 && !strncmp(m->prefix + n - 4, "-out", 4))
			return SG_DIR_OUT;
	}
	if (m->has_hdr && m->hook == NF_INET_LOCAL_IN)
		return SG_DIR_IN;
	if (m->has_hdr && m->hook == NF_INET_LOCAL_OUT)
		return SG_DIR_OUT;
	return -1;
}

static void drop_closest(struct drop_entry *e, const struct sg_config *cfg,
			 const struct sg_members *members)
{
	const struct nflog_pkt *p = &e->pkt;
	struct log_closest c;
	struct log_probe probe = {
		.dir = (enum sg_dir)e->dir,
		.family = p->family,
		.proto = p->proto,
		.has_port = p->has_ports,
		.port = p->dport,
		.has_icmp = p->has_icmp,
		.icmp_type = p->icmp_type,
		.icmp_code = p->icmp_code,
		.ifname = e->iface[0] ? e->iface : NULL,
	};

	e->have_config = true;
	if (!e->decoded || e->dir < 0)
		return;
	memcpy(probe.remote, e->dir == SG_DIR_IN ? p->src : p->dst, 16);
	if (log_find_closest(cfg, members, &probe, &c) < 0 || !c.found)
		return;
	e->closest_found = true;
	drop_sanitize(e->group, sizeof(e->group), cfg->groups[c.group_idx].name);
	e->closest_dir = c.dir;
	e->rule_index = c.rule_index;
	e->port_ok = c.port_ok;
	e->peer_ok = c.peer_ok;
}

void drop_entry_from_nflog(const struct nflog_msg *m, const struct sg_config *cfg,
			   const struct sg_members *members, struct drop_entry *e)
{
	char ifname[IF_NAMESIZE];
	uint32_t ifindex;

	memset(e, 0, sizeof(*e));
	e->dir = drop_direction(m);
	if (m->has_time && m->sec > 0) {
		e->time_us = m->sec * 1000000 + m->usec;
	} else {
		/* output-hook packets carry no timestamp: use arrival */
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		e->time_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	}
	e->decoded = m->payload &&
		nflog_decode_packet(m->payload, m->payload_len, m->family, &e->pkt) == 0;
	if (!e->decoded) {
		memset(&e->pkt, 0, sizeof(e->pkt));
		e->pkt.proto = -1;
	}
	e->payload_len = (uint32_t)m->payload_len;
	ifindex = e->dir == SG_DIR_OUT ? m->outdev : m->indev;
	if (!ifindex)
		ifindex = m->indev ? m->indev : m->outdev;
	if (ifindex && if_indextoname(ifindex, ifname))
		drop_sanitize(e->iface, sizeof(e->iface), ifname);
	else if (ifindex)	/* gone since, or in another namespace */
		snprintf(e->iface, sizeof(e->iface), "if#%" PRIu32, ifindex);
	drop_sanitize(e->prefix, sizeof(e->prefix), m->prefix);
	if (cfg)
		drop_closest(e, cfg, members);
}
