/*
 * drop.h — a packet sgd's firewall dropped and logged (log_denied: true),
 * as sgd keeps it and as `sgctl log` and the journal show it.
 *
 *  - drop_closest.c: the attached rule that came closest to allowing it;
 *  - drop.c: one NFLOG message (nflog.h) to a struct drop_entry: decoded,
 *    every string reduced to printable ASCII, fixed size (no pointers), so
 *    a ring of them is bounded memory and holds no byte of the packet;
 *  - render_drop.c: the entry as a text line, a JSON line, and the
 *    fields of a journal entry.
 */
#ifndef SGD_DROP_H
#define SGD_DROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include "model.h"
#include "nflog.h"
#include "out.h"

/* The attached rule that came closest to allowing a dropped packet.
 * Conditions: protocol, port (tcp/udp) or ICMP type/code, and the remote
 * address (source for in, destination for out).  Only rules whose protocol
 * matches are candidates; among them the most conditions met wins, the
 * port/type condition outweighing the address; ties go to the first rule
 * in attach order, then interface groups, then rule order. */
struct log_closest {
	bool found;
	int group_idx;
	enum sg_dir dir;
	int rule_index;		/* 1-based within ingress/egress */
	bool port_ok;		/* port or ICMP type/code allowed */
	bool peer_ok;		/* remote address allowed */
};

/* A decoded dropped packet as log_find_closest() needs it. */
struct log_probe {
	enum sg_dir dir;
	int family;		/* AF_INET / AF_INET6 */
	int proto;		/* -1 unknown */
	bool has_port;
	int port;		/* destination port */
	bool has_icmp;
	int icmp_type;
	int icmp_code;
	uint8_t remote[16];	/* source for in, destination for out */
	const char *ifname;	/* NULL: only attach groups apply */
};

/* Fill *out for probe p against cfg.  m is the effective membership of
 * cfg's groups (sgd's); NULL means their YAML members.  Returns 0, or
 * -EINVAL for a probe without a family. */
int log_find_closest(const struct sg_config *cfg, const struct sg_members *m,
		     const struct log_probe *p, struct log_closest *out);

#define DROP_GROUP_MAX	65	/* group names are at most 64 characters */

/* One dropped packet. */
struct drop_entry {
	uint64_t seq;		/* sgd's running number, from 1 */
	int64_t time_us;	/* Unix time in microseconds: the kernel's
				 * timestamp, or arrival for the output hook */
	int dir;		/* SG_DIR_IN, SG_DIR_OUT, or -1 unknown */
	bool decoded;		/* pkt is valid */
	struct nflog_pkt pkt;
	uint32_t payload_len;
	char iface[IF_NAMESIZE + 16];	/* "" unknown, "if#N" when gone */
	char prefix[NFLOG_PREFIX_MAX];
	bool have_config;	/* the closest group was looked for */
	bool closest_found;
	char group[DROP_GROUP_MAX];
	int closest_dir;
	int rule_index;
	bool port_ok;
	bool peer_ok;
};

/* Build e from m (decoding its payload; nothing of it is kept raw).
 * cfg may be NULL (no closest group); m_members as for
 * log_find_closest.  The interface name is looked up in this process's
 * network namespace. */
void drop_entry_from_nflog(const struct nflog_msg *m, const struct sg_config *cfg,
			   const struct sg_members *members, struct drop_entry *e);

/* Copy src into dst (len bytes with the NUL) keeping printable ASCII and
 * turning every other byte into '?'. */
void drop_sanitize(char *dst, size_t len, const char *src);

/* render_drop.c */
/* The text line `sgctl log` prints (local time, with a newline). */
void render_drop_text(const struct drop_entry *e, struct out_buf *b);
/* One JSON object and a newline (UTC time). */
void render_drop_json(const struct drop_entry *e, struct out_buf *b);
/* The line without its time: the journal's MESSAGE. */
void render_drop_message(const struct drop_entry *e, struct out_buf *b);
/* "source not allowed", ... (empty when no closest rule). */
const char *render_drop_reason(const struct drop_entry *e, char *buf, size_t len);
/* "tcp", "udp", a name, the number, or "?" */
const char *render_drop_proto(const struct drop_entry *e, char *buf, size_t len);
/* Addresses as text ("" when not decoded). */
void render_drop_addrs(const struct drop_entry *e, char *src, char *dst, size_t len);

#endif
