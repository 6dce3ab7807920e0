/*
 * sgctl.c — command-line client of sgd: global options and dispatch.
 *
 *   sgctl [-s SOCKET] [--json] COMMAND [ARGS]
 *
 * Every command that needs the daemon sends one request over the control
 * socket and prints the reply unchanged (the daemon renders it with
 * common/render_*.c); `check` and `import` work offline.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "sgctl.h"
#include "cmd_log.h"

/* `log` streams from sgd, or reads NFLOG itself (cmd_log.c). */
static int cmd_log(struct sgctl *c, int argc, char **argv)
{
	return log_main(argc, argv, c->sock, NULL, c->json);
}

static const struct sgctl_cmd sgctl_cmds[] = {
	{ "status", cmd_status, "status",
	  "Show the running configuration: config dir, table, state (enabled\n"
	  "or disabled), attached groups (everywhere and per interface), rule\n"
	  "and member counts, last reload time and result, and a pending\n"
	  "`apply --confirm` deadline.  When sgd cannot be reached, it reads the\n"
	  "kernel instead (root) and says whether sgd's table is still in force,\n"
	  "and exits 3.\n" },
	{ "reload", cmd_reload, "reload [--force]",
	  "Re-read the configuration and commit it in one atomic transaction.\n"
	  "On any error the rules in force stay and the error is printed\n"
	  "(file:line:column).  Over SSH ($SSH_CONNECTION) sgd refuses a\n"
	  "configuration that would not admit this SSH client, unless --force.\n"
	  "\n  --force   commit even if it would cut off this SSH session\n" },
	{ "check", cmd_check, "check [-v] [CONFDIR]",
	  "Validate a configuration directory offline, without the daemon\n"
	  "(default " SGD_DEFAULT_CONFDIR ").  Prints every error with its file, line\n"
	  "and column.  Exit 0 when valid, 1 when not.\n"
	  "\n  -v, --verbose   also print the normalized configuration (YAML that\n"
	  "                  loads again to the same model)\n" },
	{ "show", cmd_show, "show",
	  "Print the effective rules of this host, one row per rule and peer:\n"
	  "direction, group, interface, protocol, number, ports or ICMP\n"
	  "type/code, source/destination (peer groups with their member count)\n"
	  "and description, including implicit allowances and failsafe rules.\n" },
	{ "diff", cmd_diff, "diff [--exit-code]",
	  "Show what a reload would add (+) and remove (-): rules of attached\n"
	  "groups, failsafe rules, attachments, settings and YAML members.\n"
	  "\n  --exit-code   exit 1 when something would change, 0 when not\n" },
	{ "explain", cmd_explain, "explain in|out PROTO [PORT|TYPE[/CODE]] ADDR [-i IFACE] [--forwarded]",
	  "Tell which rule of which group allows a new packet, or that none does\n"
	  "and it is dropped.  PROTO is tcp, udp, icmp, icmpv6 or a number; tcp\n"
	  "and udp need the destination PORT, icmp/icmpv6 a TYPE (CODE defaults\n"
	  "to 0).  ADDR is the remote host (source for in, destination for out).\n"
	  "Without -i only the groups in `attach` are considered, not the\n"
	  "`interfaces:` ones; the output says so.  The answer also says what\n"
	  "becomes of the same packet forwarded to a local container (a\n"
	  "published port, PORT being the one the client uses) or, for out,\n"
	  "from one (sgd.yaml `forward:`).\n"
	  "\n  -i, --interface IFACE   the interface the packet uses\n"
	  "  -f, --forwarded         ask about the forwarded packet only\n"
	  "\nExit 0 whether allowed or not; 1 on failure.  Examples:\n"
	  "  sgctl explain in tcp 22 203.0.113.5\n"
	  "  sgctl explain in icmp 3/4 198.51.100.7\n"
	  "  sgctl explain out udp 53 2001:db8::53 -i eth0\n" },
	{ "members", cmd_members, "members list GROUP | add GROUP ADDR... | del GROUP ADDR...",
	  "List or change the members of a peer group at run time, without a\n"
	  "reload: only the group's address sets change.  Run-time members are\n"
	  "kept under sgd's state directory and survive restarts; they add to\n"
	  "the group's YAML `members:` and members.d/GROUP.  ADDR is an IPv4 or\n"
	  "IPv6 address or CIDR.\n" },
	{ "stats", cmd_stats, "stats [--format table|openmetrics|prometheus]",
	  "Packets and bytes matched per rule (and per implicit allowance,\n"
	  "failsafe rule, stateful accept and final drop).\n"
	  "\n  --format openmetrics   every counter, member counts, reload and drift\n"
	  "                         totals as OpenMetrics 1.0 text (docs/metrics.md)\n"
	  "  --format prometheus    the same in the Prometheus text format, as\n"
	  "                         node_exporter's textfile collector reads it\n" },
	{ "apply", cmd_apply, "apply --confirm SECONDS [--force]",
	  "Commit the configuration now and roll back automatically to the\n"
	  "previous one after SECONDS (1..86400) unless `sgctl confirm` is run\n"
	  "in time; the rollback happens even if this client is gone or sgd\n"
	  "restarted in between.\n"
	  "\n  --confirm SECONDS   the time to confirm (required)\n"
	  "  --force             accepted for symmetry with reload; apply never runs\n"
	  "                      the SSH lockout guard, the rollback is its safety net\n" },
	{ "confirm", cmd_confirm, "confirm",
	  "Keep the configuration committed by `apply --confirm`.\n" },
	{ "fleet", cmd_fleet, "fleet status | leave",
	  "Fleet membership through etcd (sgd.yaml `fleet:`).\n"
	  "\n  status   etcd connection, endpoint, revision, lease, last change,\n"
	  "           fleet members per group\n"
	  "  leave    revoke this host's lease: its registrations go on every\n"
	  "           host (a reload or a restart joins again)\n" },
	{ "disable", cmd_disable, "disable --confirm [--force]",
	  "Take sgd off this host: remove its table (every rule) in one\n"
	  "transaction and leave a marker in sgd's state directory, so that a\n"
	  "restart or a reboot does not commit the rules again until\n"
	  "`sgctl enable`.  sgd keeps running; status shows the state.  Over SSH\n"
	  "($SSH_CONNECTION) it refuses unless --force.\n"
	  "\n  --confirm   required: says you mean it\n"
	  "  --force     also over SSH\n" },
	{ "enable", cmd_enable, "enable [--force]",
	  "Undo `disable`: commit the configuration again (as `reload` does,\n"
	  "with its SSH lockout guard) and remove the marker.\n"
	  "\n  --force   commit even if it would cut off this SSH session\n" },
	{ "import", cmd_import, "import aws FILE [-o DIR]",
	  "Turn `aws ec2 describe-security-groups` JSON (FILE, or - for stdin)\n"
	  "into group files in DIR (default: the current directory), and report\n"
	  "what cannot be expressed.  Works offline.\n" },
	{ "log", cmd_log, "log [--since TIME] [-f|--follow] [-n COUNT] [--timeout SECONDS] [-c CONFDIR]",
	  "The packets the firewall dropped (sgd.yaml `log_denied: true`), one\n"
	  "line each: time, direction, protocol, source -> destination:port or\n"
	  "ICMP type/code, interface, and the attached group whose rule came\n"
	  "closest to allowing it.  sgd reads them (NFLOG group 100), keeps the\n"
	  "last 1,000 and writes each to the journal; any number of `sgctl log`\n"
	  "can follow at once.  Without --follow it prints what sgd keeps and\n"
	  "exits.  Logging is limited to 10 packets/s, burst 20, per direction,\n"
	  "in the kernel (docs/logging.md).  When sgd is not running, --follow\n"
	  "reads NFLOG group 100 directly (root, one reader at a time).\n"
	  "\n  --since TIME        kept entries from TIME on: @EPOCH, YYYY-MM-DD HH:MM[:SS],\n"
	  "                      HH:MM[:SS] (today) or -N[s|m|h|d] (ago)\n"
	  "  -f, --follow        then print new drops as they come\n"
	  "  -n COUNT            exit after COUNT lines\n"
	  "  --timeout SECONDS   exit after SECONDS\n"
	  "  -c DIR              configuration for the closest group when reading\n"
	  "                      directly (/etc/sgd)\n"
	  "\nExit 0 after the kept entries, COUNT lines or the timeout; 1 when the\n"
	  "log cannot be read; 3 when sgd cannot be reached without --follow.\n" },
	{ "version", cmd_version, "version",
	  "Print sgctl's version and, when the daemon can be reached, sgd's.\n" },
};

#define N_CMDS (sizeof(sgctl_cmds) / sizeof(sgctl_cmds[0]))

const struct sgctl_cmd *sgctl_find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < N_CMDS; i++)
		if (!strcmp(sgctl_cmds[i].name, name))
			return &sgctl_cmds[i];
	return NULL;
}

static void sgctl_print_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sgctl [-s SOCKET] [--json] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < N_CMDS; i++)
		fprintf(f, "  %s\n", sgctl_cmds[i].synopsis);
	fprintf(f, "\noptions:\n"
		"  -s, --socket SOCKET   control socket (default " SGD_DEFAULT_SOCKET ")\n"
		"  --json                print one JSON document on stdout\n"
		"  -h, --help            this help; `sgctl COMMAND --help` for a command\n"
		"\nexit codes: 0 success, 1 failed, 2 bad usage, 3 sgd unreachable\n");
}

int sgctl_help_cmd(const struct sgctl_cmd *cmd)
{
	printf("usage: sgctl [-s SOCKET] [--json] %s\n\n%s", cmd->synopsis, cmd->help);
	printf("\nexit codes: 0 success, 1 failed, 2 bad usage, 3 sgd unreachable\n");
	return SGCTL_EXIT_OK;
}

bool sgctl_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

__attribute__((format(printf, 3, 0)))
static int sgctl_vfail(struct sgctl *c, int code, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fputs("sgctl: ", stderr);
	(void)out_write_text(stderr, msg, strlen(msg));
	fputc('\n', stderr);
	if (c && c->json)
		out_print_json_error(stdout, code, msg);
	return code;
}

int sgctl_fail(struct sgctl *c, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = sgctl_vfail(c, code, fmt, ap);
	va_end(ap);
	return r;
}

int sgctl_usage(struct sgctl *c, const struct sgctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sgctl_vfail(c, SGCTL_EXIT_USAGE, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "usage: sgctl %s   (sgctl %s --help)\n", cmd->synopsis, cmd->name);
	else
		sgctl_print_usage(stderr);
	return SGCTL_EXIT_USAGE;
}

/* --json may also follow the command ("sgctl status --json"); remove it
 * from argv so commands see only their own arguments. */
static int sgctl_strip_json(struct sgctl *c, int argc, char **argv)
{
	int i, o = 1;
	bool rest = false;

	for (i = 1; i < argc; i++) {
		if (!rest && !strcmp(argv[i], "--"))
			rest = true;
		else if (!rest && !strcmp(argv[i], "--json")) {
			c->json = true;
			continue;
		}
		argv[o++] = argv[i];
	}
	argv[o] = NULL;
	return o;
}

int main(int argc, char **argv)
{
	struct sgctl c = { .sock = SGD_DEFAULT_SOCKET };
	const struct sgctl_cmd *cmd;
	const char *env = getenv("SGD_SOCKET");
	int i;

	if (env && *env)
		c.sock = env;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			c.json = true;
		} else if (!strcmp(a, "-s") || !strcmp(a, "--socket")) {
			if (i + 1 >= argc || !*argv[i + 1])
				return sgctl_usage(&c, NULL, "%s needs a socket path", a);
			c.sock = argv[++i];
		} else if (!strncmp(a, "--socket=", 9) && a[9]) {
			c.sock = a + 9;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			sgctl_print_usage(stdout);
			return SGCTL_EXIT_OK;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			argv[i] = (char *)"version";
			break;
		} else if (a[0] == '-') {
			return sgctl_usage(&c, NULL, "unknown option '%s'", a);
		} else {
			break;
		}
	}
	if (i >= argc)
		return sgctl_usage(&c, NULL, "no command given");
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc) {
			cmd = sgctl_find_cmd(argv[i + 1]);
			if (!cmd)
				return sgctl_usage(&c, NULL, "unknown command '%s'", argv[i + 1]);
			return sgctl_help_cmd(cmd);
		}
		sgctl_print_usage(stdout);
		return SGCTL_EXIT_OK;
	}
	cmd = sgctl_find_cmd(argv[i]);
	if (!cmd)
		return sgctl_usage(&c, NULL, "unknown command '%s'", argv[i]);
	argc -= i;
	argv += i;
	if (sgctl_wants_help(argc, argv))
		return sgctl_help_cmd(cmd);
	argc = sgctl_strip_json(&c, argc, argv);
	return cmd->run(&c, argc, argv);
}
