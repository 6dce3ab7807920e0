/*
 * compile_fleet.c — with fleet: configured, TCP to each etcd endpoint is
 * always allowed out (like failsafe, whatever the groups say), so that no
 * group can cut sgd off from its membership source; the replies pass as
 * established traffic.  In the output chain, after conntrack:
 *   ip daddr 10.0.0.5 tcp dport 2379 counter accept
 * An endpoint given by name cannot be compiled (its addresses are known
 * only when it is resolved): the daemon says so when it starts the fleet.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "plan.h"

int compile_fleet(struct sg_plan *plan, const struct sg_config *cfg, enum sg_dir dir)
{
	const struct sg_fleet *f = cfg->fleet;
	char comment[400];
	size_t i;
	int rc;

	if (!f || dir != SG_DIR_OUT)
		return 0;
	for (i = 0; i < f->n_endpoints; i++) {
		struct sg_peer peer = { .kind = SG_PEER_CIDR, .plist_idx = -1 };
		struct sg_rule r = {
			.peers = &peer, .n_peers = 1, .pos = f->pos, .dir = SG_DIR_OUT,
			.proto = SG_PROTO_TCP, .icmp_type = -1, .icmp_code = -1,
			.index = (int)i + 1,
		};
		int port;

		if (load_fleet_endpoint_addr(f->endpoints[i], &peer.cidr, &port) < 0)
			continue;
		r.port_lo = r.port_hi = port;
		snprintf(comment, sizeof(comment), "fleet etcd endpoint %s (%s:%d)",
			 f->endpoints[i], f->pos.file ? f->pos.file : "sgd.yaml", f->pos.line);
		rc = compile_rule(plan, cfg, "output", &r, NULL, comment, "fleet etcd endpoint");
		if (rc)
			return rc;
	}
	return 0;
}
