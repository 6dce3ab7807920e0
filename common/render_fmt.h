/*
 * render_fmt.h — the words every renderer uses for rules, so `show`,
 * `diff`, `explain` and `stats` describe a rule the same way.
 */
#ifndef SGD_RENDER_FMT_H
#define SGD_RENDER_FMT_H

#include <stddef.h>
#include <time.h>
#include "model.h"
#include "out.h"

#define FMT_LEN 128

const char *fmt_dir(enum sg_dir d);
/* A counter's direction: "in", "out"; "fwd-in", "fwd-out" for the
 * forward path's own counters (stats and metrics label them alike, so
 * two series never share a label set). */
const char *fmt_counter_dir(const struct sg_counter *c);
/* The rule (group rule or failsafe rule) a counter belongs to, or NULL. */
const struct sg_rule *fmt_counter_rule(const struct sg_config *cfg,
				       const struct sg_counter *c);
/* "all", "tcp", "udp", "icmp", "icmpv6", a known name, or the number. */
const char *fmt_proto(int proto, char *buf, size_t len);
/* The protocol number column: -1 for all, else the number. */
int fmt_proto_number(int proto);
/* "80", "8000-8080", "all" (tcp/udp); "all", "type 8", "type 3 code 4"
 * (icmp); "all" for every protocol; "-" otherwise. */
const char *fmt_ports(const struct sg_rule *r, char *buf, size_t len);
/* "10.0.0.0/8"; for a group: "app-servers (3 members)". */
const char *fmt_peer(const struct sg_config *cfg, const struct sg_members *m,
		     const struct sg_peer *p, char *buf, size_t len);
/* A CIDR as text, "10.0.0.1/32" (does not need the loader's cidr.c). */
const char *fmt_cidr(const struct sg_cidr *c, char *buf, size_t len);
/* ISO 8601 UTC, "2026-01-02T03:04:05Z"; "never" for 0. */
const char *fmt_time(time_t t, char *buf, size_t len);
/* A group's display name; "?" when out of range. */
const char *fmt_group(const struct sg_config *cfg, int gi);
size_t fmt_member_count(const struct sg_config *cfg, const struct sg_members *m, int gi);

/* The JSON fields of a rule, shared by show, diff and explain:
 * "protocol","number","port_from","port_to","icmp_type","icmp_code". */
void fmt_json_rule_l4(struct json_w *j, const struct sg_rule *r);
/* "peer": CIDR text or group name, "peer_group": bool,
 * "peer_members": count or null. */
void fmt_json_peer(struct json_w *j, const struct sg_config *cfg,
		   const struct sg_members *m, const struct sg_peer *p);
/* "file","line": the rule's position, or nulls. */
void fmt_json_pos(struct json_w *j, const struct sg_pos *pos);

#endif
