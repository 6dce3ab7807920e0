/*
 * main.c — sgd's entry point: arguments, the hooks of the layers below
 * (struct sgd_hooks), start-up order.
 *
 * Start-up (main()) is: sd_notify and the event loop; the control socket,
 * bound (not yet served) before anything else so that a second sgd
 * refuses before it touches the kernel or the state dir; the state dir
 * and the run-time members (snapshot, then journal); the confirm timer;
 * then, unless `sgctl disable` left its marker, commit the configuration
 * (or what a pending apply --confirm left); then watch members.d and
 * nftables events (drift), READY=1, and serve.  A start that cannot
 * commit exits 1 and leaves the kernel as it was (engine_apply), so
 * whatever rules were in force stay.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confcheck.h"
#include "config.h"
#include "engine.h"
#include "membatch.h"
#include "out.h"
#include "fleet.h"
#include "sgd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sgd [-c CONFDIR] [-s SOCKET] [--state-dir DIR] [-t|--check] [-v]\n"
		"           [--event-buffer BYTES]\n"
		"  -c, --config DIR     configuration directory (default %s)\n"
		"  -s, --socket PATH    control socket (default %s)\n"
		"      --state-dir DIR  run-time state (default %s)\n"
		"      --event-buffer BYTES  receive buffer for nftables events, to\n"
		"                       notice changes by others (default 16M; K/M/G suffixes)\n"
		"  -t, --check          validate the configuration and exit (0 valid, 1 not)\n"
		"  -v, --verbose        log more\n"
		"  -h, --help           this text\n"
		"  -V, --version        print the version\n",
		SGD_DEFAULT_CONFDIR, SGD_DEFAULT_SOCKET, SGD_DEFAULT_STATEDIR);
}

/* "65536", "64K", "16M": 4 KiB .. 1 GiB.  0 or -EINVAL. */
static int parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || v > (1ull << 30))
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	default:
		break;
	}
	if (shift) {
		v <<= shift;
		end++;
	}
	if (*end || v < 4096 || v > (1ull << 30))
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct sgd_opts *o)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "check", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "event-buffer", required_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->confdir = SGD_DEFAULT_CONFDIR;
	o->sock_path = SGD_DEFAULT_SOCKET;
	o->state_dir = SGD_DEFAULT_STATEDIR;
	while ((c = getopt_long(argc, argv, "c:s:tvhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->confdir = optarg;
			break;
		case 's':
			o->sock_path = optarg;
			break;
		case 'S':
			o->state_dir = optarg;
			break;
		case 't':
			o->check_only = true;
			break;
		case 'E':
			if (parse_size(optarg, &o->event_buffer) < 0) {
				fprintf(stderr, "sgd: --event-buffer: expected a "
					"size of 4096 bytes to 1G (K, M, G suffixes "
					"allowed), got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sgd %s (control protocol %d)\n", SGD_VERSION,
			       PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sgd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* -t: touches neither the kernel nor the socket nor the state dir.
 * Under journald (the unit's ExecStartPre=) each error is logged at
 * priority err; elsewhere the errors go to stderr as they are, for a
 * terminal. */
static int run_check(struct sgd *d)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *err;
	int code;

	if (!sgd_log_to_journal())
		return check_run(d->opt.confdir, d->opt.verbose, stdout, stderr);
	err = open_memstream(&buf, &len);
	if (!err)
		return check_run(d->opt.confdir, d->opt.verbose, stdout, stderr);
	code = check_run(d->opt.confdir, d->opt.verbose, stdout, err);
	fclose(err);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		sgd_log(d, LOG_ERR, "configuration refused: %s", line);
	free(buf);
	return code;
}

/* The first commit: whatever a pending apply --confirm requires, else
 * CONFDIR. */
static int start_commit(struct sgd *d)
{
	struct sgd_loaded l = { 0 };
	struct sg_diags dg;
	bool handled = false;
	int r;

	r = confirm_startup(d, &handled);
	if (r < 0)
		return r;
	if (handled)
		return 0;
	diags_init(&dg);
	r = reload_load(d, d->opt.confdir, &l, &dg);
	if (r == 0)
		r = reload_commit(d, &l, &dg);
	if (r < 0) {
		diags_sort(&dg);
		sgd_log_diags(d, LOG_ERR, SGD_EV_RELOAD, "cannot start", &dg);
		if (dg.n == 0)
			sgd_log_event(d, LOG_ERR, SGD_EV_RELOAD, NULL, "cannot "
				"start: %s", strerror(-r));
	}
	reload_loaded_free(&l);
	diags_free(&dg);
	return r;
}

/* The hooks (sgd.h, struct sgd_hooks): what the loop, reload.c and
 * membatch.c run without naming the modules above them. */
static void main_after_events(struct sgd *d)
{
	/* one transaction and one journal sync for this iteration's
	 * membership changes, then their clients are answered */
	membatch_flush(d);
	control_reap(d);
}

static void main_hangup(struct sgd *d)
{
	struct sg_diags dg;

	sgd_log_event(d, LOG_INFO, SGD_EV_RELOAD, NULL, "SIGHUP: reloading %s",
		      d->opt.confdir);
	diags_init(&dg);
	/* reload_run logs and records the result itself. */
	(void)reload_run(d, false, NULL, &dg);
	diags_free(&dg);
}

static void main_adopted(struct sgd *d)
{
	/* A missing group only narrows who may mutate; logged inside. */
	(void)control_apply_group(d);
}

static const struct sgd_hooks main_hooks = {
	/* membership changes of clients coalesce; anything else sees them
	 * committed first */
	.before_event = membatch_barrier,
	.after_events = main_after_events,
	.hangup = main_hangup,
	.adopted = main_adopted,
	.reply = control_reply,
};

static void sgd_fini(struct sgd *d)
{
	fleet_fini(d);
	droplog_close(d);
	drift_close(d);
	control_close(d);
	loop_fini(d);
	if (d->eng)
		engine_close(d->eng);
	membership_free(&d->members);
	config_free(d->cfg);
	runtime_free(&d->rt);
	membersd_fini(d);
	membatch_fini(d);
	free(d->last_reload_error);
	free(d->notice);
	free(d->state_dir_real);
	dispatch_fini(d);
}

int main(int argc, char **argv)
{
	struct sgd d;
	int r;

	memset(&d, 0, sizeof(d));
	d.hooks = main_hooks;
	d.epfd = -1;
	d.sig.fd = d.listen.fd = d.client_timer.fd = -1;
	d.wd_timer.fd = d.confirm_timer.fd = d.inotify.fd = -1;
	d.members_wd = -1;
	r = parse_args(argc, argv, &d.opt);
	if (r >= 0)
		return r;
	if (d.opt.check_only)
		return run_check(&d);

	d.started = time(NULL);
	/* Writes to a client that went away must fail with EPIPE, not kill
	 * the firewall daemon. */
	signal(SIGPIPE, SIG_IGN);
	r = notify_init(&d);
	if (r == 0)
		r = loop_init(&d);
	if (r == 0)
		r = notify_loop_add(&d);
	/* A second sgd must refuse before it touches the kernel or the
	 * state dir of the one that runs. */
	if (r == 0)
		r = control_open(&d);
	if (r == 0)
		r = state_init(&d);
	if (r == 0)
		r = snapshot_init(&d);
	if (r == 0)
		r = runtime_load(&d);
	/* the snapshot, then the changes journaled since */
	if (r == 0)
		r = membatch_journal_load(&d);
	/* before the first commit: it has the fleet members kept */
	if (r == 0)
		r = fleet_init(&d);
	if (r == 0)
		r = confirm_timer_init(&d);
	if (r == 0 && disable_startup(&d) == 0)
		r = start_commit(&d);
	if (r == 0) {
		r = membership_watch(&d);
		if (r < 0)
			sgd_log(&d, LOG_WARNING, "not watching members.d: %s", strerror(-r));
		/* Without it sgd still enforces; drift_open logged why.  A
		 * disabled sgd has no table to watch. */
		if (!d.disabled)
			(void)drift_open(&d);
		r = 0;
	}
	if (r == 0) {
		sgd_log(&d, LOG_INFO, "serving %s (config %s, %zu groups)",
			d.opt.sock_path, d.opt.confdir,
			d.cfg ? d.cfg->n_groups : 0);
		if (d.disabled)
			notify_send(&d, "READY=1\nSTATUS=disabled: no rules in "
				    "force (sgctl enable), serving %s",
				    d.opt.sock_path);
		else
			notify_send(&d, "READY=1\nSTATUS=rules committed, "
				    "serving %s", d.opt.sock_path);
		r = loop_run(&d);
	}
	if (r == 0) {
		notify_send(&d, "STOPPING=1\nSTATUS=stopped, rules left in place");
		sgd_log(&d, LOG_INFO, "exiting; the rules stay in the kernel");
	} else {
		notify_send(&d, "STATUS=cannot start (%s), see the log\nERRNO=%d",
			    strerror(-r), -r);
	}
	sgd_fini(&d);
	return r == 0 ? 0 : 1;
}
