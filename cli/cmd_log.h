/*
 * cmd_log.h — `sgctl log`: stream the packets sgd dropped and logged
 * (sgd.yaml `log_denied: true`), one line each, by reading NFLOG group
 * NFLOG_SGD_GROUP directly over netlink (no daemon involved).
 *
 *   sgctl [--json] log [-c CONFDIR] [-n COUNT] [--timeout SECONDS]
 *
 * See docs/logging.md for the line format, the JSON fields, the rate limit
 * and how the "closest group" is chosen.
 */
#ifndef SGD_CMD_LOG_H
#define SGD_CMD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"

/* argv[0] is the command word ("log"); options follow.  confdir is the
 * configuration directory given to sgctl (NULL: /etc/sgd; `-c DIR` after
 * "log" overrides it); json is sgctl's --json (`log --json` works too).
 * Returns the process exit code: 0 when COUNT lines were printed, the
 * timeout passed or the stream ended normally; 1 when logging cannot be
 * read (not root, group held by another listener, netlink error); 2 on bad
 * usage. */
int log_main(int argc, char **argv, const char *confdir, bool json);

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

/* Fill *out for probe p against cfg (YAML members stand for peer-group
 * membership).  Returns 0, or -EINVAL for a probe without a family. */
int log_find_closest(const struct sg_config *cfg, const struct log_probe *p,
		     struct log_closest *out);

#endif
