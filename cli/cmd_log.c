/* cmd_log.c — `sgctl log`: stream dropped packets from NFLOG; see cmd_log.h. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "cmd_log.h"
#include "config.h"
#include "diag.h"
#include "nflog.h"
#include "out.h"
#include "paths.h"

/* A bound on --timeout so the deadline arithmetic cannot overflow. */
#define LOG_MAX_TIMEOUT		(365.0 * 24 * 3600)

struct log_opts {
	const char *confdir;
	bool json;
	long count;		/* 0 = unlimited */
	double timeout;		/* seconds; 0 = none */
};

/* State of one `sgctl log` run, passed to the packet callback. */
struct log_ctx {
	const struct log_opts *o;
	const struct sg_config *cfg;	/* NULL: no closest-group column */
	long printed;
	int write_err;		/* 0 or -errno from writing stdout */
};

/* Stop value returned by the packet callback once COUNT lines are out. */
#define LOG_STOP	(-ECANCELED)

static void log_usage(FILE *f)
{
	fputs("usage: sgctl [--json] log [-c CONFDIR] [-n COUNT] "
	      "[--timeout SECONDS]\n", f);
}

/* A fatal error: "sgctl log: MSG" on stderr and, with --json, the same
 * error document the other sgctl commands print on stdout.  Returns code. */
static int log_fail(bool json, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int log_fail(bool json, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sgctl log: %s\n", msg);
	if (json)
		out_print_json_error(stdout, code, msg);
	return code;
}

static int log_parse_count(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static int log_parse_timeout(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 ||
	    v > LOG_MAX_TIMEOUT)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Options after "log".  Returns 0, 2 on bad usage (the problem printed),
 * or 1 when --help was asked (usage printed). */
static int log_parse_args(int argc, char **argv, struct log_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		bool has_val = i + 1 < argc;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			log_usage(stdout);
			return 1;
		}
		if (!strcmp(a, "--json")) {
			o->json = true;
			continue;
		}
		if (!strcmp(a, "-n") || !strcmp(a, "--count")) {
			if (!has_val || log_parse_count(argv[++i], &o->count) < 0)
				return log_fail(o->json, 2, "%s needs a positive "
						"number of lines", a);
			continue;
		}
		if (!strncmp(a, "--timeout=", 10))
			val = a + 10;
		else if (!strcmp(a, "--timeout") || !strcmp(a, "-t")) {
			if (!has_val)
				return log_fail(o->json, 2, "%s needs a number "
						"of seconds", a);
			val = argv[++i];
		}
		if (val) {
			if (log_parse_timeout(val, &o->timeout) < 0)
				return log_fail(o->json, 2, "--timeout: '%s' is "
						"not a positive number of seconds "
						"(at most %.0f)", val, LOG_MAX_TIMEOUT);
			continue;
		}
		if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
			if (!has_val)
				return log_fail(o->json, 2, "%s needs a "
						"directory", a);
			o->confdir = argv[++i];
			continue;
		}
		log_usage(stderr);
		return log_fail(o->json, 2, "unexpected argument '%s'", a);
	}
	return 0;
}

/* Copy a kernel-supplied string (prefix, interface name) keeping only
 * printable ASCII, so neither a terminal nor a JSON parser sees raw bytes
 * that some other root process chose. */
static void log_sanitize(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	for (; *src && n + 1 < len; src++)
		dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[n] = '\0';
}

/* The direction sgd wrote into the prefix ("sgd-in ", "sgd-out "); for a
 * prefix we do not know, the netfilter hook decides.  -1 when neither
 * tells. */
static int log_direction(const struct nflog_msg *m)
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

static bool log_peer_allows(const struct sg_config *cfg, const struct sg_peer *peer,
			    int family, const uint8_t *addr)
{
	const struct sg_group *g;

	if (peer->kind == SG_PEER_CIDR)
		return cidr_match_addr(&peer->cidr, family, addr);
	if (peer->group_idx < 0 || (size_t)peer->group_idx >= cfg->n_groups)
		return false;
	g = &cfg->groups[peer->group_idx];
	for (size_t i = 0; i < g->n_members; i++)
		if (g->members[i].kind == SG_PEER_CIDR &&
		    cidr_match_addr(&g->members[i].cidr, family, addr))
			return true;
	return false;
}

/* Does the rule's port range or ICMP type/code admit the packet?  Called
 * only when the protocol matches. */
static bool log_port_allows(const struct sg_rule *r, const struct log_probe *p)
{
	if (r->proto == SG_PROTO_TCP || r->proto == SG_PROTO_UDP)
		return p->has_port && p->port >= r->port_lo && p->port <= r->port_hi;
	if (r->proto == SG_PROTO_ICMP || r->proto == SG_PROTO_ICMPV6)
		return p->has_icmp &&
		       (r->icmp_type < 0 || r->icmp_type == p->icmp_type) &&
		       (r->icmp_code < 0 || r->icmp_code == p->icmp_code);
	return true;	/* all, or a protocol without ports */
}

/* Score the rules of group gi for p; keep the best in *best (*best_score
 * is its score, -1 before any candidate). */
static void log_score_group(const struct sg_config *cfg, int gi,
			    const struct log_probe *p, struct log_closest *best,
			    int *best_score)
{
	const struct sg_group *g;
	const struct sg_rule *rules;
	size_t n;

	if (gi < 0 || (size_t)gi >= cfg->n_groups)
		return;
	g = &cfg->groups[gi];
	rules = p->dir == SG_DIR_IN ? g->ingress : g->egress;
	n = p->dir == SG_DIR_IN ? g->n_ingress : g->n_egress;
	for (size_t i = 0; i < n; i++) {
		const struct sg_rule *r = &rules[i];
		bool port_ok, peer_ok = false;
		int score;

		if (r->proto != SG_PROTO_ALL && r->proto != p->proto)
			continue;
		port_ok = log_port_allows(r, p);
		for (size_t k = 0; k < r->n_peers && !peer_ok; k++)
			peer_ok = log_peer_allows(cfg, &r->peers[k], p->family,
						  p->remote);
		score = (port_ok ? 2 : 0) + (peer_ok ? 1 : 0);
		if (score <= *best_score)
			continue;	/* ties keep the earlier rule */
		*best_score = score;
		best->found = true;
		best->group_idx = gi;
		best->dir = p->dir;
		best->rule_index = r->index > 0 ? r->index : (int)i + 1;
		best->port_ok = port_ok;
		best->peer_ok = peer_ok;
	}
}

int log_find_closest(const struct sg_config *cfg, const struct log_probe *p,
		     struct log_closest *out)
{
	int best = -1;

	memset(out, 0, sizeof(*out));
	out->group_idx = -1;
	if (p->family != AF_INET && p->family != AF_INET6)
		return -EINVAL;
	if (p->proto < 0)
		return 0;	/* protocol unknown: nothing can be close */
	for (size_t i = 0; i < cfg->n_attach; i++)
		log_score_group(cfg, cfg->attach[i].group_idx, p, out, &best);
	for (size_t i = 0; p->ifname && i < cfg->n_ifaces; i++) {
		const struct sg_iface *ifc = &cfg->ifaces[i];

		if (strcmp(ifc->ifname, p->ifname))
			continue;
		for (size_t k = 0; k < ifc->n_groups; k++)
			log_score_group(cfg, ifc->groups[k].group_idx, p, out, &best);
	}
	return 0;
}

/* "source not allowed", "port and destination not allowed", ... */
static void log_closest_reason(const struct log_closest *c, const struct log_probe *p,
			       char *buf, size_t len)
{
	const char *what = p->has_icmp ? "type/code" : "port";
	const char *peer = c->dir == SG_DIR_IN ? "source" : "destination";

	if (!c->port_ok && !c->peer_ok)
		snprintf(buf, len, "%s and %s not allowed", what, peer);
	else if (!c->port_ok)
		snprintf(buf, len, "%s not allowed", what);
	else if (!c->peer_ok)
		snprintf(buf, len, "%s not allowed", peer);
	else
		snprintf(buf, len, "allows it; the running rules differ from "
			 "the configuration read");
}

static void log_format_time(const struct nflog_msg *m, bool json, char *buf, size_t len)
{
	struct timespec now;
	struct tm tm;
	time_t sec;
	unsigned usec;
	size_t n;

	if (m->has_time && m->sec > 0) {
		sec = (time_t)m->sec;
		usec = m->usec;
	} else {
		/* output-hook packets carry no timestamp: use arrival */
		clock_gettime(CLOCK_REALTIME, &now);
		sec = now.tv_sec;
		usec = (unsigned)(now.tv_nsec / 1000);
	}
	if (json ? !gmtime_r(&sec, &tm) : !localtime_r(&sec, &tm)) {
		snprintf(buf, len, "%lld", (long long)sec);
		return;
	}
	n = strftime(buf, len, json ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	if (json)
		snprintf(buf + n, len - n, ".%06uZ", usec);
	else
		snprintf(buf + n, len - n, ".%03u", usec / 1000);
}

/* Everything a line shows, computed once for both formats. */
struct log_line {
	char time[48];
	const char *dir;	/* "in", "out", "?" */
	char proto[16];
	int proto_num;		/* -1 unknown */
	char src[INET6_ADDRSTRLEN];
	char dst[INET6_ADDRSTRLEN];
	bool decoded;
	const struct nflog_pkt *pkt;
	char iface[IF_NAMESIZE + 16];	/* "" when unknown */
	char prefix[NFLOG_PREFIX_MAX];
	size_t payload_len;
	const struct log_closest *closest;	/* NULL: no config loaded */
	char reason[96];
};

static void log_render_human(const struct log_ctx *c, const struct log_line *l,
			     struct out_buf *b)
{
	const struct nflog_pkt *p = l->pkt;

	out_printf(b, "%s %-3s %-6s ", l->time, l->dir, l->proto);
	if (!l->decoded) {
		out_printf(b, "(undecodable packet, %zu bytes)", l->payload_len);
	} else {
		bool v6 = p->family == AF_INET6;

		out_printf(b, "%s -> ", l->src);
		if (p->has_ports)
			out_printf(b, v6 ? "[%s]:%u" : "%s:%u", l->dst, p->dport);
		else
			out_puts(b, l->dst);
		if (p->has_icmp)
			out_printf(b, " type %u code %u", p->icmp_type, p->icmp_code);
		if (p->fragment)
			out_puts(b, " (fragment)");
		if (p->truncated)
			out_puts(b, " (header cut short)");
	}
	out_printf(b, "  on %s", l->iface[0] ? l->iface : "-");
	if (l->closest && l->closest->found)
		out_printf(b, "  closest: %s (%s rule %d: %s)",
			   c->cfg->groups[l->closest->group_idx].name,
			   l->closest->dir == SG_DIR_IN ? "ingress" : "egress",
			   l->closest->rule_index, l->reason);
	else if (l->closest)
		out_puts(b, "  closest: -");
	out_putc(b, '\n');
}

static void log_render_json(const struct log_ctx *c, const struct log_line *l,
			    struct out_buf *b)
{
	const struct nflog_pkt *p = l->pkt;
	struct json_w j;

	json_init(&j, b);
	json_obj_begin(&j);
	json_kstr(&j, "time", l->time);
	json_kstr(&j, "direction", l->dir);
	json_kstr(&j, "protocol", l->proto);
	if (l->proto_num >= 0)
		json_kint(&j, "protocol_number", l->proto_num);
	else
		json_knull(&j, "protocol_number");
	json_kstr(&j, "src", l->decoded ? l->src : NULL);
	json_kstr(&j, "dst", l->decoded ? l->dst : NULL);
	if (l->decoded && p->has_ports) {
		json_kint(&j, "sport", p->sport);
		json_kint(&j, "dport", p->dport);
	}
	if (l->decoded && p->has_icmp) {
		json_kint(&j, "icmp_type", p->icmp_type);
		json_kint(&j, "icmp_code", p->icmp_code);
	}
	if (l->decoded && p->fragment)
		json_kbool(&j, "fragment", true);
	if (l->decoded && p->truncated)
		json_kbool(&j, "truncated", true);
	json_kstr(&j, "interface", l->iface[0] ? l->iface : NULL);
	json_kstr(&j, "prefix", l->prefix);
	json_key(&j, "closest");
	if (l->closest && l->closest->found) {
		json_obj_begin(&j);
		json_kstr(&j, "group", c->cfg->groups[l->closest->group_idx].name);
		json_kstr(&j, "direction", l->closest->dir == SG_DIR_IN ? "in" : "out");
		json_kint(&j, "rule", l->closest->rule_index);
		json_kbool(&j, "port_allowed", l->closest->port_ok);
		json_kbool(&j, "peer_allowed", l->closest->peer_ok);
		json_kstr(&j, "reason", l->reason);
		json_obj_end(&j);
	} else {
		json_null(&j);
	}
	json_obj_end(&j);
	out_putc(b, '\n');
}

static void log_fill_line(const struct log_ctx *c, const struct nflog_msg *m,
			  const struct nflog_pkt *p, bool decoded,
			  struct log_closest *closest, struct log_line *l)
{
	int dir = log_direction(m);
	uint32_t ifindex = dir == SG_DIR_OUT ? m->outdev : m->indev;
	char ifname[IF_NAMESIZE];
	const char *pn;

	memset(l, 0, sizeof(*l));
	log_format_time(m, c->o->json, l->time, sizeof(l->time));
	l->dir = dir == SG_DIR_IN ? "in" : dir == SG_DIR_OUT ? "out" : "?";
	l->pkt = p;
	l->decoded = decoded;
	l->payload_len = m->payload_len;
	l->proto_num = decoded ? p->proto : -1;
	pn = l->proto_num >= 0 ? proto_name(l->proto_num) : NULL;
	if (pn)
		snprintf(l->proto, sizeof(l->proto), "%s", pn);
	else if (l->proto_num >= 0)
		snprintf(l->proto, sizeof(l->proto), "%d", l->proto_num);
	else
		snprintf(l->proto, sizeof(l->proto), "?");
	if (decoded) {
		inet_ntop(p->family, p->src, l->src, sizeof(l->src));
		inet_ntop(p->family, p->dst, l->dst, sizeof(l->dst));
	}
	if (!ifindex)
		ifindex = m->indev ? m->indev : m->outdev;
	if (ifindex && if_indextoname(ifindex, ifname))
		log_sanitize(l->iface, sizeof(l->iface), ifname);
	else if (ifindex)	/* gone since, or in another namespace */
		snprintf(l->iface, sizeof(l->iface), "if#%" PRIu32, ifindex);
	log_sanitize(l->prefix, sizeof(l->prefix), m->prefix);

	if (!c->cfg)
		return;
	l->closest = closest;
	if (decoded && dir >= 0) {
		struct log_probe probe = {
			.dir = (enum sg_dir)dir,
			.family = p->family,
			.proto = p->proto,
			.has_port = p->has_ports,
			.port = p->dport,
			.has_icmp = p->has_icmp,
			.icmp_type = p->icmp_type,
			.icmp_code = p->icmp_code,
			.ifname = l->iface[0] ? l->iface : NULL,
		};

		memcpy(probe.remote, dir == SG_DIR_IN ? p->src : p->dst, 16);
		if (log_find_closest(c->cfg, &probe, closest) == 0 && closest->found)
			log_closest_reason(closest, &probe, l->reason, sizeof(l->reason));
	}
}

static int log_on_packet(const struct nflog_msg *m, void *data)
{
	struct log_ctx *c = data;
	struct log_closest closest = { .group_idx = -1 };
	struct nflog_pkt p;
	struct log_line l;
	struct out_buf b;
	char *text;
	bool decoded;
	int r;

	decoded = m->payload &&
		  nflog_decode_packet(m->payload, m->payload_len, m->family, &p) == 0;
	if (!decoded)
		memset(&p, 0, sizeof(p));
	log_fill_line(c, m, &p, decoded, &closest, &l);
	out_init(&b);
	if (c->o->json)
		log_render_json(c, &l, &b);
	else
		log_render_human(c, &l, &b);
	r = out_finish(&b, &text);
	if (r < 0)
		return r;
	/* one line, flushed at once: readers of a pipe see it immediately */
	if (fputs(text, stdout) == EOF || fflush(stdout) == EOF) {
		c->write_err = errno ? -errno : -EIO;
		free(text);
		return c->write_err;
	}
	free(text);
	c->printed++;
	if (c->o->count && c->printed >= c->o->count)
		return LOG_STOP;
	return 0;
}

/* Load the configuration for the closest-group column.  A failure is not
 * fatal: the log is still worth reading; say so once. */
static struct sg_config *log_load_config(const char *confdir)
{
	struct sg_config *cfg = NULL;
	struct sg_diags d;
	int r;

	diags_init(&d);
	r = config_load(confdir, &cfg, &d);
	if (r < 0 || !cfg) {
		char *first = d.n ? diag_format(&d.v[0]) : NULL;

		fprintf(stderr, "sgctl log: warning: cannot load the configuration "
			"in %s (%s%s); lines will have no closest group\n",
			confdir, first ? first : strerror(r < 0 ? -r : EINVAL),
			d.n > 1 ? ", and more errors" : "");
		free(first);
		diags_free(&d);
		return NULL;
	}
	diags_free(&d);
	if (!cfg->log_denied)
		fprintf(stderr, "sgctl log: warning: log_denied is not true in "
			"%s/sgd.yaml: sgd logs no dropped packets\n", confdir);
	return cfg;
}

static int log_open_error(bool json, int r)
{
	uint32_t holder;

	switch (r) {
	case -EPERM:
		return log_fail(json, 1, "reading the firewall log needs root "
				"(CAP_NET_ADMIN)");
	case -EBUSY:
		if (nflog_group_holder(NFLOG_SGD_GROUP, &holder) == 0)
			return log_fail(json, 1, "NFLOG group %d is already held "
					"by another listener (netlink port %" PRIu32
					", usually its process id; e.g. another "
					"sgctl log or ulogd); stop it first",
					NFLOG_SGD_GROUP, holder);
		return log_fail(json, 1, "NFLOG group %d is already held by "
				"another listener (e.g. another sgctl log or "
				"ulogd); stop it first", NFLOG_SGD_GROUP);
	default:
		return log_fail(json, 1, "cannot listen to NFLOG group %d: %s",
				NFLOG_SGD_GROUP, strerror(-r));
	}
}

static double log_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Receive until COUNT lines, the deadline, or an error.  Returns the exit
 * code. */
static int log_stream(struct nflog_sock *s, struct log_ctx *c)
{
	double deadline = c->o->timeout > 0 ? log_now() + c->o->timeout : 0;
	unsigned int bad = 0, bad_reported = 0;

	for (;;) {
		int timeout_ms = -1, r;

		if (deadline) {
			double left = deadline - log_now();

			if (left <= 0)
				return 0;
			timeout_ms = (int)(left * 1000) + 1;
		}
		r = nflog_receive(s, timeout_ms, log_on_packet, c, &bad);
		if (bad != bad_reported) {
			fprintf(stderr, "sgctl log: warning: %u malformed NFLOG "
				"message(s) skipped\n", bad - bad_reported);
			bad_reported = bad;
		}
		if (r == LOG_STOP)
			return 0;
		if (r == -EINTR || r == 0)
			continue;
		if (r == -ENOBUFS) {
			/* the kernel dropped messages: say so, keep going */
			fprintf(stderr, "sgctl log: warning: some log messages "
				"were lost (reader too slow)\n");
			continue;
		}
		if (r == -EBADMSG) {
			fprintf(stderr, "sgctl log: warning: skipped a malformed "
				"netlink datagram\n");
			continue;
		}
		if (c->write_err) {
			/* stdout went away (e.g. a closed pipe): done */
			return c->write_err == -EPIPE ? 0 : 1;
		}
		return log_fail(c->o->json, 1, "reading NFLOG: %s", strerror(-r));
	}
}

int log_main(int argc, char **argv, const char *confdir, bool json)
{
	struct log_opts o = {
		.confdir = confdir ? confdir : SGD_DEFAULT_CONFDIR,
		.json = json,
	};
	struct log_ctx c = { .o = &o };
	struct sg_config *cfg;
	struct nflog_sock *s;
	int r;

	r = log_parse_args(argc, argv, &o);
	if (r)
		return r == 1 ? 0 : r;
	/* `sgctl log | head` is normal use: a closed pipe ends the stream
	 * with status 0 (seen as EPIPE on write) instead of killing us. */
	signal(SIGPIPE, SIG_IGN);
	/* Bind first: without privileges there is nothing to show, and the
	 * configuration warning would only distract from that. */
	r = nflog_open(&s, NFLOG_SGD_GROUP, NFLOG_COPY_RANGE);
	if (r < 0)
		return log_open_error(o.json, r);
	cfg = log_load_config(o.confdir);
	c.cfg = cfg;
	r = log_stream(s, &c);
	nflog_close(s);
	if (cfg)
		config_free(cfg);
	return r;
}
