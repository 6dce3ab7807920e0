/* cmd_log.c — `sgctl log`: dropped packets from sgd, or from NFLOG; see
 * cmd_log.h. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "cmd_log.h"
#include "config.h"
#include "diag.h"
#include "drop.h"
#include "nflog.h"
#include "out.h"
#include "proto.h"
#include "paths.h"

/* A bound on --timeout so the deadline arithmetic cannot overflow. */
#define LOG_MAX_TIMEOUT		(365.0 * 24 * 3600)

struct log_opts {
	const char *sock;
	const char *confdir;
	bool json;
	bool follow;
	const char *since_arg;	/* as given */
	int64_t since_us;	/* 0 = everything kept */
	long count;		/* 0 = unlimited */
	double timeout;		/* seconds; 0 = none */
};

/* State of one `sgctl log` run, passed to the callbacks. */
struct log_ctx {
	const struct log_opts *o;
	const struct sg_config *cfg;	/* direct: NULL = no closest group */
	long printed;
	int write_err;		/* 0 or -errno from writing stdout */
};

/* Stop value returned by the callbacks once COUNT lines are out. */
#define LOG_STOP	(-ECANCELED)

static void log_usage(FILE *f)
{
	fputs("usage: sgctl [--json] log [--since TIME] [-f|--follow] [-n COUNT] "
	      "[--timeout SECONDS] [-c CONFDIR]\n", f);
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

int log_parse_since(const char *s, int64_t now_us, int64_t *out)
{
	static const char *const fmts[] = {
		"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
		"%Y-%m-%dT%H:%M", "%H:%M:%S", "%H:%M",
	};
	char *end;

	if (s[0] == '@') {
		double v;

		errno = 0;
		v = strtod(s + 1, &end);
		if (errno || end == s + 1 || *end || !isfinite(v) || v < 0 ||
		    v > 1e11)
			return -EINVAL;
		*out = (int64_t)(v * 1e6);
		return 0;
	}
	if (s[0] == '-') {
		long long n;
		int64_t unit;

		errno = 0;
		n = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || n < 0 || n > 100000000)
			return -EINVAL;
		if (!strcmp(end, "s") || !strcmp(end, ""))
			unit = 1;
		else if (!strcmp(end, "m") || !strcmp(end, "min"))
			unit = 60;
		else if (!strcmp(end, "h"))
			unit = 3600;
		else if (!strcmp(end, "d"))
			unit = 86400;
		else
			return -EINVAL;
		*out = now_us - (int64_t)n * unit * 1000000;
		return 0;
	}
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		time_t now = (time_t)(now_us / 1000000), t;
		struct tm tm;

		if (!localtime_r(&now, &tm))
			return -EINVAL;
		tm.tm_sec = 0;
		end = strptime(s, fmts[i], &tm);
		if (!end || *end)
			continue;
		tm.tm_isdst = -1;
		t = mktime(&tm);
		if (t == (time_t)-1)
			return -EINVAL;
		*out = (int64_t)t * 1000000;
		return 0;
	}
	return -EINVAL;
}

static int64_t log_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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
		if (!strcmp(a, "-f") || !strcmp(a, "--follow")) {
			o->follow = true;
			continue;
		}
		if (!strcmp(a, "-n") || !strcmp(a, "--count")) {
			if (!has_val || log_parse_count(argv[++i], &o->count) < 0)
				return log_fail(o->json, 2, "%s needs a positive "
						"number of lines", a);
			continue;
		}
		if (!strncmp(a, "--since=", 8) || !strcmp(a, "--since") ||
		    !strcmp(a, "-S")) {
			if (!strncmp(a, "--since=", 8))
				val = a + 8;
			else if (has_val)
				val = argv[++i];
			if (!val || log_parse_since(val, log_now_us(), &o->since_us) < 0)
				return log_fail(o->json, 2, "--since: '%s' is not a "
						"time (@EPOCH, YYYY-MM-DD HH:MM[:SS], "
						"HH:MM[:SS] or -N[s|m|h|d])",
						val ? val : "");
			o->since_arg = val;
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

/* Print text, at most COUNT lines in all.  Returns 0, LOG_STOP once
 * COUNT lines are out, or -errno when stdout fails. */
static int log_print(struct log_ctx *c, const char *text, size_t len)
{
	while (len) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) + 1 : len;

		if (c->o->count && c->printed >= c->o->count)
			return LOG_STOP;
		/* control characters escaped: the text may carry packet data */
		if (out_write_text(stdout, text, n) < 0) {
			c->write_err = errno ? -errno : -EIO;
			return c->write_err;
		}
		if (nl)
			c->printed++;
		text += n;
		len -= n;
	}
	/* each batch flushed at once: readers of a pipe see it immediately */
	if (fflush(stdout) == EOF) {
		c->write_err = errno ? -errno : -EIO;
		return c->write_err;
	}
	if (c->o->count && c->printed >= c->o->count)
		return LOG_STOP;
	return 0;
}

/* ---- from sgd ---------------------------------------------------------- */

static int log_on_data(const struct proto_resp *chunk, void *data)
{
	struct log_ctx *c = data;

	if (chunk->err && chunk->err_len)
		fwrite(chunk->err, 1, chunk->err_len, stderr);
	if (chunk->out && chunk->out_len)
		return log_print(c, chunk->out, chunk->out_len);
	return 0;
}

/* Ask sgd.  Returns the exit code, or -1 when sgd cannot be reached
 * (errmsg says why). */
static int log_from_daemon(struct log_ctx *c, char *errmsg, size_t errlen)
{
	const struct log_opts *o = c->o;
	char since[32];
	const char *argv[3];
	struct proto_req req = { .cmd = "log", .argv = argv,
				 .flags = o->json ? PROTO_F_JSON : 0 };
	struct proto_resp resp;
	enum proto_stage stage;
	int timeout_ms = o->timeout > 0 ? (int)(o->timeout * 1000) + 1 : 0;
	int r, code;

	if (o->since_arg) {
		snprintf(since, sizeof(since), "%" PRId64, o->since_us);
		argv[req.argc++] = "--since";
		argv[req.argc++] = since;
	}
	if (o->follow)
		argv[req.argc++] = "--follow";
	else if (!timeout_ms)
		timeout_ms = 30000;	/* the kept entries come in one reply */
	r = proto_client_call_ex(o->sock, &req, &resp, timeout_ms, log_on_data, c,
				 &stage, errmsg, errlen);
	if (r == LOG_STOP)
		return 0;
	if (c->write_err)
		return c->write_err == -EPIPE ? 0 : 1;
	if (r < 0 && stage == PROTO_STAGE_CONNECT)
		return -1;
	if (r == -ETIMEDOUT && o->timeout > 0)
		return 0;	/* --timeout: the normal end */
	if (r < 0)
		return log_fail(o->json, stage == PROTO_STAGE_DECODE ? 1 : 3, "%s",
				errmsg);
	if (resp.err && resp.err_len)
		fwrite(resp.err, 1, resp.err_len, stderr);
	r = 0;
	if (resp.out && resp.out_len)
		r = log_print(c, resp.out, resp.out_len);
	code = resp.exit_code;
	proto_resp_free(&resp);
	if (c->write_err)
		return c->write_err == -EPIPE ? 0 : 1;
	return code < 0 || code > 3 ? 1 : code;
}

/* ---- directly from the kernel (sgd not running) ------------------------- */

static int log_on_packet(const struct nflog_msg *m, void *data)
{
	struct log_ctx *c = data;
	struct drop_entry e;
	struct out_buf b;
	char *text;
	int r;

	drop_entry_from_nflog(m, c->cfg, NULL, &e);
	out_init(&b);
	if (c->o->json)
		render_drop_json(&e, &b);
	else
		render_drop_text(&e, &b);
	r = out_finish(&b, &text);
	if (r < 0)
		return r;
	r = log_print(c, text, strlen(text));
	free(text);
	return r;
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
					", usually its process id; e.g. sgd, another "
					"sgctl log or ulogd); stop it first",
					NFLOG_SGD_GROUP, holder);
		return log_fail(json, 1, "NFLOG group %d is already held by "
				"another listener (e.g. sgd, another sgctl log "
				"or ulogd); stop it first", NFLOG_SGD_GROUP);
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

static int log_direct(struct log_ctx *c)
{
	struct sg_config *cfg;
	struct nflog_sock *s;
	int r;

	/* Bind first: without privileges there is nothing to show, and the
	 * configuration warning would only distract from that. */
	r = nflog_open(&s, NFLOG_SGD_GROUP, NFLOG_COPY_RANGE);
	if (r < 0)
		return log_open_error(c->o->json, r);
	cfg = log_load_config(c->o->confdir);
	c->cfg = cfg;
	r = log_stream(s, c);
	nflog_close(s);
	if (cfg)
		config_free(cfg);
	return r;
}

int log_main(int argc, char **argv, const char *sock, const char *confdir,
	     bool json)
{
	struct log_opts o = {
		.sock = sock,
		.confdir = confdir ? confdir : SGD_DEFAULT_CONFDIR,
		.json = json,
	};
	struct log_ctx c = { .o = &o };
	char errmsg[512] = "";
	int r;

	r = log_parse_args(argc, argv, &o);
	if (r)
		return r == 1 ? 0 : r;
	/* `sgctl log | head` is normal use: a closed pipe ends the stream
	 * with status 0 (seen as EPIPE on write) instead of killing us. */
	signal(SIGPIPE, SIG_IGN);
	r = log_from_daemon(&c, errmsg, sizeof(errmsg));
	if (r >= 0)
		return r;
	/* sgd is not running, but its rules may be, and they log to NFLOG:
	 * live lines can still be read there; nothing is kept */
	if (!o.follow)
		return log_fail(o.json, 3, "%s; nothing is kept without sgd "
				"(`sgctl log --follow` reads new drops from the "
				"kernel directly, as root)", errmsg);
	if (o.since_arg)
		fprintf(stderr, "sgctl log: warning: sgd cannot be reached, "
			"--since ignored: reading new drops from the kernel\n");
	return log_direct(&c);
}
