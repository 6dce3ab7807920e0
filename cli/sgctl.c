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

#include "command.h"
#include "out.h"
#include "sgctl.h"
#include "cmd_log.h"

/* `log` streams from sgd, or reads NFLOG itself (cmd_log.c). */
static int cmd_log(struct sgctl *c, int argc, char **argv)
{
	return log_main(argc, argv, c->sock, NULL, c->json);
}

/* sgctl's handler of each command (common/command.c has their names,
 * synopses and help). */
static int (*const sgctl_run[SG_N_CMDS])(struct sgctl *c, int argc, char **argv) = {
	[SG_CMD_STATUS] = cmd_status,
	[SG_CMD_RELOAD] = cmd_reload,
	[SG_CMD_CHECK] = cmd_check,
	[SG_CMD_SHOW] = cmd_show,
	[SG_CMD_DIFF] = cmd_diff,
	[SG_CMD_EXPLAIN] = cmd_explain,
	[SG_CMD_MEMBERS] = cmd_members,
	[SG_CMD_STATS] = cmd_stats,
	[SG_CMD_APPLY] = cmd_apply,
	[SG_CMD_CONFIRM] = cmd_confirm,
	[SG_CMD_FLEET] = cmd_fleet,
	[SG_CMD_DISABLE] = cmd_disable,
	[SG_CMD_ENABLE] = cmd_enable,
	[SG_CMD_IMPORT] = cmd_import,
	[SG_CMD_LOG] = cmd_log,
	[SG_CMD_VERSION] = cmd_version,
};

static void sgctl_print_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sgctl [-s SOCKET] [--json] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < SG_N_CMDS; i++)
		fprintf(f, "  %s\n", sg_commands[i].synopsis);
	fprintf(f, "\noptions:\n"
		"  -s, --socket SOCKET   control socket (default " SGD_DEFAULT_SOCKET ")\n"
		"  --json                print one JSON document on stdout\n"
		"  -h, --help            this help; `sgctl COMMAND --help` for a command\n"
		"  --commands            the command names, one a line (shell completion)\n"
		"\nexit codes: 0 success, 1 failed, 2 bad usage, 3 sgd unreachable\n");
}

int sgctl_help_cmd(const struct sg_command *cmd)
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

int sgctl_usage(struct sgctl *c, const struct sg_command *cmd, const char *fmt, ...)
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
	const struct sg_command *cmd;
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
		} else if (!strcmp(a, "--commands")) {
			for (size_t k = 0; k < SG_N_CMDS; k++)
				printf("%s\n", sg_commands[k].name);
			printf("help\n");
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
			cmd = command_find(argv[i + 1]);
			if (!cmd)
				return sgctl_usage(&c, NULL, "unknown command '%s'", argv[i + 1]);
			return sgctl_help_cmd(cmd);
		}
		sgctl_print_usage(stdout);
		return SGCTL_EXIT_OK;
	}
	cmd = command_find(argv[i]);
	if (!cmd)
		return sgctl_usage(&c, NULL, "unknown command '%s'", argv[i]);
	argc -= i;
	argv += i;
	if (sgctl_wants_help(argc, argv))
		return sgctl_help_cmd(cmd);
	argc = sgctl_strip_json(&c, argc, argv);
	return sgctl_run[command_id(cmd)](&c, argc, argv);
}
