/*
 * command.c — the commands of sgctl and sgd (command.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "command.h"

const struct sg_command sg_commands[SG_N_CMDS] = {
	[SG_CMD_STATUS] = { "status", SG_CMD_DAEMON | SG_CMD_WHILE_DISABLED, "status",
	  "status",
	  "Show the running configuration: config dir, table, state (enabled\n"
	  "or disabled), attached groups (everywhere and per interface), rule\n"
	  "and member counts, last reload time and result, and a pending\n"
	  "`apply --confirm` deadline.  When sgd cannot be reached, it reads the\n"
	  "kernel instead (root) and says whether sgd's table is still in force,\n"
	  "and exits 3.\n" },
	[SG_CMD_RELOAD] = { "reload", SG_CMD_DAEMON | SG_CMD_MUTATES, NULL,
	  "reload [--force]",
	  "Re-read the configuration and commit it in one atomic transaction.\n"
	  "On any error the rules in force stay and the error is printed\n"
	  "(file:line:column).  Over SSH ($SSH_CONNECTION) sgd refuses a\n"
	  "configuration that would not admit this SSH client, unless --force.\n"
	  "\n  --force   commit even if it would cut off this SSH session\n" },
	[SG_CMD_CHECK] = { "check", 0, NULL,
	  "check [-v] [CONFDIR]",
	  "Validate a configuration directory offline, without the daemon\n"
	  "(default " SGD_DEFAULT_CONFDIR ").  Prints every error with its file, line\n"
	  "and column.  Exit 0 when valid, 1 when not.\n"
	  "\n  -v, --verbose   also print the normalized configuration (YAML that\n"
	  "                  loads again to the same model)\n" },
	[SG_CMD_SHOW] = { "show", SG_CMD_DAEMON, "show",
	  "show",
	  "Print the effective rules of this host, one row per rule and peer:\n"
	  "direction, group, interface, protocol, number, ports or ICMP\n"
	  "type/code, source/destination (peer groups with their member count)\n"
	  "and description, including implicit allowances and failsafe rules.\n" },
	[SG_CMD_DIFF] = { "diff", SG_CMD_DAEMON, "diff",
	  "diff [--exit-code]",
	  "Show what a reload would add (+) and remove (-): rules of attached\n"
	  "groups, failsafe rules, attachments, settings and YAML members.\n"
	  "\n  --exit-code   exit 1 when something would change, 0 when not\n" },
	[SG_CMD_EXPLAIN] = { "explain", SG_CMD_DAEMON, "explain",
	  "explain in|out PROTO [PORT|TYPE[/CODE]] ADDR [-i IFACE] [--forwarded]",
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
	[SG_CMD_MEMBERS] = { "members", SG_CMD_DAEMON, "members list",
	  "members list GROUP | add GROUP ADDR... | del GROUP ADDR...",
	  "List or change the members of a peer group at run time, without a\n"
	  "reload: only the group's address sets change.  Run-time members are\n"
	  "kept under sgd's state directory and survive restarts; they add to\n"
	  "the group's YAML `members:` and members.d/GROUP.  ADDR is an IPv4 or\n"
	  "IPv6 address or CIDR.\n" },
	[SG_CMD_STATS] = { "stats", SG_CMD_DAEMON | SG_CMD_WHILE_DISABLED, "stats",
	  "stats [--format table|openmetrics|prometheus]",
	  "Packets and bytes matched per rule (and per implicit allowance,\n"
	  "failsafe rule, stateful accept and final drop).\n"
	  "\n  --format openmetrics   every counter, member counts, reload and drift\n"
	  "                         totals as OpenMetrics 1.0 text (docs/metrics.md)\n"
	  "  --format prometheus    the same in the Prometheus text format, as\n"
	  "                         node_exporter's textfile collector reads it\n" },
	[SG_CMD_APPLY] = { "apply", SG_CMD_DAEMON | SG_CMD_MUTATES, NULL,
	  "apply --confirm SECONDS [--force]",
	  "Commit the configuration now and roll back automatically to the\n"
	  "previous one after SECONDS (1..86400) unless `sgctl confirm` is run\n"
	  "in time; the rollback happens even if this client is gone or sgd\n"
	  "restarted in between.\n"
	  "\n  --confirm SECONDS   the time to confirm (required)\n"
	  "  --force             accepted for symmetry with reload; apply never runs\n"
	  "                      the SSH lockout guard, the rollback is its safety net\n" },
	[SG_CMD_CONFIRM] = { "confirm", SG_CMD_DAEMON | SG_CMD_MUTATES, NULL,
	  "confirm",
	  "Keep the configuration committed by `apply --confirm`.\n" },
	[SG_CMD_FLEET] = { "fleet", SG_CMD_DAEMON | SG_CMD_WHILE_DISABLED, "fleet status",
	  "fleet status | leave",
	  "Fleet membership through etcd (sgd.yaml `fleet:`).\n"
	  "\n  status   etcd connection, endpoint, revision, lease, last change,\n"
	  "           fleet members per group\n"
	  "  leave    revoke this host's lease: its registrations go on every\n"
	  "           host (a reload or a restart joins again)\n" },
	[SG_CMD_DISABLE] = { "disable", SG_CMD_DAEMON | SG_CMD_MUTATES | SG_CMD_WHILE_DISABLED, NULL,
	  "disable --confirm [--force]",
	  "Take sgd off this host: remove its table (every rule) in one\n"
	  "transaction and leave a marker in sgd's state directory, so that a\n"
	  "restart or a reboot does not commit the rules again until\n"
	  "`sgctl enable`.  sgd keeps running; status shows the state.  Over SSH\n"
	  "($SSH_CONNECTION) it refuses unless --force.\n"
	  "\n  --confirm   required: says you mean it\n"
	  "  --force     also over SSH\n" },
	[SG_CMD_ENABLE] = { "enable", SG_CMD_DAEMON | SG_CMD_MUTATES | SG_CMD_WHILE_DISABLED, NULL,
	  "enable [--force]",
	  "Undo `disable`: commit the configuration again (as `reload` does,\n"
	  "with its SSH lockout guard) and remove the marker.\n"
	  "\n  --force   commit even if it would cut off this SSH session\n" },
	[SG_CMD_IMPORT] = { "import", 0, NULL,
	  "import aws FILE [-o DIR]",
	  "Turn `aws ec2 describe-security-groups` JSON (FILE, or - for stdin)\n"
	  "into group files in DIR (default: the current directory), and report\n"
	  "what cannot be expressed.  Works offline.\n" },
	[SG_CMD_LOG] = { "log", SG_CMD_DAEMON | SG_CMD_WHILE_DISABLED, "log",
	  "log [--since TIME] [-f|--follow] [-n COUNT] [--timeout SECONDS] [-c CONFDIR]",
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
	[SG_CMD_VERSION] = { "version", SG_CMD_DAEMON | SG_CMD_WHILE_DISABLED, "version",
	  "version",
	  "Print sgctl's version and, when the daemon can be reached, sgd's.\n" },
};

const struct sg_command *command_find(const char *name)
{
	size_t i;

	for (i = 0; i < SG_N_CMDS; i++)
		if (strcmp(sg_commands[i].name, name) == 0)
			return &sg_commands[i];
	return NULL;
}

enum sg_cmd_id command_id(const struct sg_command *cmd)
{
	return (enum sg_cmd_id)(cmd - sg_commands);
}

char *command_names(char *buf, size_t len, unsigned with, bool read_only,
		    const char *sep)
{
	size_t i, used = 0;

	if (len)
		buf[0] = 0;
	for (i = 0; i < SG_N_CMDS && used < len; i++) {
		const struct sg_command *c = &sg_commands[i];
		const char *word = read_only ? c->read_only : c->name;
		int n;

		if ((c->flags & with) != with || !word)
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? sep : "", word);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}
