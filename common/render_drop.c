/*
 * render_drop.c — a dropped packet (drop.h) as `sgctl log` prints it and
 * as the journal keeps it.  Every string of the entry is printable ASCII
 * already (drop.c); addresses and numbers are formatted here.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "drop.h"
#include "config.h"

const char *render_drop_proto(const struct drop_entry *e, char *buf, size_t len)
{
	int n = e->decoded ? e->pkt.proto : -1;
	const char *pn = n >= 0 ? proto_name(n) : NULL;

	if (pn)
		snprintf(buf, len, "%s", pn);
	else if (n >= 0)
		snprintf(buf, len, "%d", n);
	else
		snprintf(buf, len, "?");
	return buf;
}

void render_drop_addrs(const struct drop_entry *e, char *src, char *dst, size_t len)
{
	src[0] = dst[0] = '\0';
	if (!e->decoded)
		return;
	inet_ntop(e->pkt.family, e->pkt.src, src, (socklen_t)len);
	inet_ntop(e->pkt.family, e->pkt.dst, dst, (socklen_t)len);
}

const char *render_drop_reason(const struct drop_entry *e, char *buf, size_t len)
{
	const char *what = e->pkt.has_icmp ? "type/code" : "port";
	const char *peer = e->closest_dir == SG_DIR_IN ? "source" : "destination";

	buf[0] = '\0';
	if (!e->closest_found)
		return buf;
	if (!e->port_ok && !e->peer_ok)
		snprintf(buf, len, "%s and %s not allowed", what, peer);
	else if (!e->port_ok)
		snprintf(buf, len, "%s not allowed", what);
	else if (!e->peer_ok)
		snprintf(buf, len, "%s not allowed", peer);
	else
		snprintf(buf, len, "allows it; the running rules differ from "
			 "the configuration read");
	return buf;
}

static const char *drop_dir(int dir)
{
	return dir == SG_DIR_IN ? "in" : dir == SG_DIR_OUT ? "out" : "?";
}

/* Everything after the time: "in  udp    a -> b:53  on eth0  closest: ..." */
static void render_drop_rest(const struct drop_entry *e, struct out_buf *b)
{
	const struct nflog_pkt *p = &e->pkt;
	char proto[16], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], why[96];

	render_drop_proto(e, proto, sizeof(proto));
	out_printf(b, "%-3s %-6s ", drop_dir(e->dir), proto);
	if (!e->decoded) {
		out_printf(b, "(undecodable packet, %u bytes)", e->payload_len);
	} else {
		render_drop_addrs(e, src, dst, sizeof(src));
		out_printf(b, "%s -> ", src);
		if (p->has_ports)
			out_printf(b, p->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
				   dst, p->dport);
		else
			out_puts(b, dst);
		if (p->has_icmp)
			out_printf(b, " type %u code %u", p->icmp_type, p->icmp_code);
		if (p->fragment)
			out_puts(b, " (fragment)");
		if (p->truncated)
			out_puts(b, " (header cut short)");
	}
	out_printf(b, "  on %s", e->iface[0] ? e->iface : "-");
	if (e->closest_found)
		out_printf(b, "  closest: %s (%s rule %d: %s)", e->group,
			   e->closest_dir == SG_DIR_IN ? "ingress" : "egress",
			   e->rule_index, render_drop_reason(e, why, sizeof(why)));
	else if (e->have_config)
		out_puts(b, "  closest: -");
}

void render_drop_message(const struct drop_entry *e, struct out_buf *b)
{
	out_puts(b, "drop ");
	render_drop_rest(e, b);
}

static void render_drop_time(const struct drop_entry *e, bool utc, char *buf,
			     size_t len)
{
	time_t sec = (time_t)(e->time_us / 1000000);
	unsigned usec = (unsigned)(e->time_us % 1000000);
	struct tm tm;
	size_t n;

	if (utc ? !gmtime_r(&sec, &tm) : !localtime_r(&sec, &tm)) {
		snprintf(buf, len, "%lld", (long long)sec);
		return;
	}
	n = strftime(buf, len, utc ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	if (utc)
		snprintf(buf + n, len - n, ".%06uZ", usec);
	else
		snprintf(buf + n, len - n, ".%03u", usec / 1000);
}

void render_drop_text(const struct drop_entry *e, struct out_buf *b)
{
	char t[48];

	render_drop_time(e, false, t, sizeof(t));
	out_printf(b, "%s ", t);
	render_drop_rest(e, b);
	out_putc(b, '\n');
}

void render_drop_json(const struct drop_entry *e, struct out_buf *b)
{
	const struct nflog_pkt *p = &e->pkt;
	char t[48], proto[16], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char why[96];
	struct json_w j;

	render_drop_time(e, true, t, sizeof(t));
	render_drop_proto(e, proto, sizeof(proto));
	render_drop_addrs(e, src, dst, sizeof(src));
	json_init(&j, b);
	json_obj_begin(&j);
	json_kstr(&j, "time", t);
	json_kstr(&j, "direction", drop_dir(e->dir));
	json_kstr(&j, "protocol", proto);
	if (e->decoded && p->proto >= 0)
		json_kint(&j, "protocol_number", p->proto);
	else
		json_knull(&j, "protocol_number");
	json_kstr(&j, "src", e->decoded ? src : NULL);
	json_kstr(&j, "dst", e->decoded ? dst : NULL);
	if (e->decoded && p->has_ports) {
		json_kint(&j, "sport", p->sport);
		json_kint(&j, "dport", p->dport);
	}
	if (e->decoded && p->has_icmp) {
		json_kint(&j, "icmp_type", p->icmp_type);
		json_kint(&j, "icmp_code", p->icmp_code);
	}
	if (e->decoded && p->fragment)
		json_kbool(&j, "fragment", true);
	if (e->decoded && p->truncated)
		json_kbool(&j, "truncated", true);
	json_kstr(&j, "interface", e->iface[0] ? e->iface : NULL);
	json_kstr(&j, "prefix", e->prefix);
	json_key(&j, "closest");
	if (e->closest_found) {
		json_obj_begin(&j);
		json_kstr(&j, "group", e->group);
		json_kstr(&j, "direction", e->closest_dir == SG_DIR_IN ? "in" : "out");
		json_kint(&j, "rule", e->rule_index);
		json_kbool(&j, "port_allowed", e->port_ok);
		json_kbool(&j, "peer_allowed", e->peer_ok);
		json_kstr(&j, "reason", render_drop_reason(e, why, sizeof(why)));
		json_obj_end(&j);
	} else {
		json_null(&j);
	}
	json_obj_end(&j);
	out_putc(b, '\n');
}
