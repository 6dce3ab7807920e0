/*
 * lockout.c — the SSH lockout guard of reload and apply.
 *
 * sgctl sends its $SSH_CONNECTION ("client_addr client_port server_addr
 * server_port").  A new configuration is refused (unless --force) when
 * the running one admits a new TCP connection from that client to that
 * port and the new one would not: the operator would lose the way back
 * in.  A configuration that never admitted the client (no SSH rule, the
 * session came in some other way) is not refused by this guard.
 * Evaluation is explain_eval(), the same code as `sgctl explain`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "sgd.h"

/* "::ffff:192.0.2.1" is an IPv4 client on a dual-stack socket. */
static int parse_host(const char *s, int *family, uint8_t addr[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char host[64], *pct;

	/* A link-local "fe80::1%eth0" carries its scope; the address is
	 * what the rules see. */
	snprintf(host, sizeof(host), "%s", s);
	pct = strchr(host, '%');
	if (pct)
		*pct = 0;
	s = host;
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) != 1)
		return -EINVAL;
	*family = AF_INET6;
	if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		*family = AF_INET;
	}
	return 0;
}

/* The interface holding the server address, so interfaces: groups count;
 * NULL when not found (then only attach groups are evaluated). */
static char *iface_of(int family, const uint8_t *addr)
{
	struct ifaddrs *ifa, *i;
	char *name = NULL;

	if (getifaddrs(&ifa) < 0)
		return NULL;
	for (i = ifa; i && !name; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET &&
		    memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr, 4) == 0)
			name = strdup(i->ifa_name);
		else if (family == AF_INET6 &&
			 memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				addr, 16) == 0)
			name = strdup(i->ifa_name);
	}
	freeifaddrs(ifa);
	return name;
}

static void describe(const struct sg_config *cfg, const struct sg_match *m,
		     char *buf, size_t len)
{
	const struct sg_rule *r = m->rule;

	switch (m->kind) {
	case SG_MATCH_IMPLICIT:
		snprintf(buf, len, "the implicit '%s' allowance", m->implicit);
		break;
	case SG_MATCH_FAILSAFE:
		snprintf(buf, len, "failsafe rule %d (%s:%d)", m->rule_index,
			 r && r->pos.file ? r->pos.file : "sgd.yaml",
			 r ? r->pos.line : 0);
		break;
	case SG_MATCH_RULE:
		snprintf(buf, len, "group %s %s rule %d (%s:%d)",
			 cfg->groups[m->group_idx].name,
			 m->dir == SG_DIR_IN ? "ingress" : "egress",
			 m->rule_index, r && r->pos.file ? r->pos.file : "?",
			 r ? r->pos.line : 0);
		break;
	default:
		snprintf(buf, len, "nothing");
		break;
	}
}

int lockout_check(struct sgd *d, const struct sg_config *newcfg,
		  const struct sg_members *newm, const char *ssh,
		  struct sg_diags *diags)
{
	char caddr[64], saddr[64], extra[2], why[256];
	struct sg_probe p = { 0 };
	struct sg_match before, after;
	uint8_t server[16];
	int sfamily, r;
	unsigned cport, sport;
	char *ifname;

	/* disabled: no rule of sgd is in force, every connection is
	 * admitted now (enable_run) */
	if (!d->cfg && !d->disabled)
		return 0;
	if (sscanf(ssh, "%63s %u %63s %u %1s", caddr, &cport, saddr, &sport,
		   extra) != 4 || sport > 65535 ||
	    parse_host(caddr, &p.family, p.addr) < 0 ||
	    parse_host(saddr, &sfamily, server) < 0) {
		diags_add_file(diags, NULL, "cannot read SSH_CONNECTION '%s' "
			       "(expected 'client_addr client_port server_addr "
			       "server_port'); use --force to skip the SSH "
			       "lockout check", ssh);
		return -EINVAL;
	}
	p.dir = SG_DIR_IN;
	p.proto = SG_PROTO_TCP;
	p.port = (int)sport;
	p.icmp_type = p.icmp_code = -1;
	ifname = iface_of(sfamily, server);
	p.ifname = ifname;
	if (d->disabled) {
		memset(&before, 0, sizeof(before));
		before.kind = SG_MATCH_IMPLICIT;
		r = 0;
	} else {
		r = explain_eval(d->cfg, &d->members, &p, &before);
	}
	if (r == 0)
		r = explain_eval(newcfg, newm, &p, &after);
	free(ifname);
	if (r < 0) {
		diags_add_file(diags, NULL, "SSH lockout check failed: %s",
			       strerror(-r));
		return r;
	}
	if (before.kind == SG_MATCH_NONE || after.kind != SG_MATCH_NONE)
		return 0;
	if (d->disabled)
		snprintf(why, sizeof(why), "nothing: sgd is disabled");
	else
		describe(d->cfg, &before, why, sizeof(why));
	diags_add_file(diags, NULL, "refusing: the new configuration would "
		       "not admit your SSH connection (tcp from %s to port %u, "
		       "allowed now by %s); fix the configuration, use 'apply "
		       "--confirm SECONDS' to try it with an automatic "
		       "rollback, or --force", caddr, sport, why);
	return 1;
}
