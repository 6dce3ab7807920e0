/*
 * cmd_mutate.c — commands that change the firewall: reload, apply,
 * confirm, members.  sgd checks who may run them (SO_PEERCRED).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "proto.h"
#include "sgctl.h"

int cmd_reload(struct sgctl *c, int argc, char **argv)
{
	uint32_t flags = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
			flags |= PROTO_F_FORCE;
		else
			return sgctl_usage(c, command_find("reload"),
					   "reload: unexpected argument '%s'", argv[i]);
	}
	return sgctl_call(c, "reload", 0, NULL, flags, 0, true);
}

int cmd_disable(struct sgctl *c, int argc, char **argv)
{
	const struct sg_command *cmd = command_find("disable");
	uint32_t flags = 0;
	bool confirm = false;
	char *args[1] = { (char *)"--confirm" };
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
			flags |= PROTO_F_FORCE;
		else if (!strcmp(argv[i], "--confirm"))
			confirm = true;
		else
			return sgctl_usage(c, cmd, "disable: unexpected argument '%s'",
					   argv[i]);
	}
	if (!confirm)
		return sgctl_usage(c, cmd, "disable removes every rule of sgd from "
				   "this host; run it with --confirm");
	return sgctl_call(c, "disable", 1, args, flags, 0, true);
}

int cmd_enable(struct sgctl *c, int argc, char **argv)
{
	uint32_t flags = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
			flags |= PROTO_F_FORCE;
		else
			return sgctl_usage(c, command_find("enable"),
					   "enable: unexpected argument '%s'", argv[i]);
	}
	return sgctl_call(c, "enable", 0, NULL, flags, 0, true);
}

static int parse_seconds(const char *s, uint32_t *out)
{
	char *end;
	long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 86400)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int cmd_apply(struct sgctl *c, int argc, char **argv)
{
	const struct sg_command *cmd = command_find("apply");
	uint32_t flags = 0, secs = 0;
	int i;

	for (i = 1; i < argc; i++) {
		const char *val = NULL;

		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")) {
			flags |= PROTO_F_FORCE;
			continue;
		}
		if (!strcmp(argv[i], "--confirm")) {
			if (i + 1 >= argc)
				return sgctl_usage(c, cmd, "apply: --confirm needs SECONDS");
			val = argv[++i];
		} else if (!strncmp(argv[i], "--confirm=", 10)) {
			val = argv[i] + 10;
		} else {
			return sgctl_usage(c, cmd, "apply: unexpected argument '%s'", argv[i]);
		}
		if (parse_seconds(val, &secs) < 0)
			return sgctl_usage(c, cmd, "apply: --confirm '%s': expected seconds 1..86400", val);
	}
	if (secs == 0)
		return sgctl_usage(c, cmd, "apply needs --confirm SECONDS (use `reload` to commit without a rollback timer)");
	return sgctl_call(c, "apply", 0, NULL, flags, secs, true);
}

int cmd_confirm(struct sgctl *c, int argc, char **argv)
{
	if (argc > 1)
		return sgctl_usage(c, command_find("confirm"),
				   "confirm takes no arguments (got '%s')", argv[1]);
	return sgctl_call(c, "confirm", 0, NULL, 0, 0, false);
}

/* An address or CIDR, checked here so that bad usage exits 2 even when
 * sgd is down; sgd checks again (host bits, duplicates). */
static bool members_addr_ok(const char *s)
{
	char buf[64];
	unsigned char a[16];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	int af, max;
	char *end;
	long p;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		af = AF_INET6;
	else
		return false;
	if (!slash)
		return true;
	max = af == AF_INET ? 32 : 128;
	if (!slash[1] || slash[1] == '-' || slash[1] == '+')
		return false;
	errno = 0;
	p = strtol(slash + 1, &end, 10);
	return !errno && !*end && p >= 0 && p <= max;
}

int cmd_members(struct sgctl *c, int argc, char **argv)
{
	const struct sg_command *cmd = command_find("members");
	int i;

	if (argc < 2)
		return sgctl_usage(c, cmd, "members needs list, add or del");
	if (!strcmp(argv[1], "list") || !strcmp(argv[1], "ls")) {
		if (argc != 3)
			return sgctl_usage(c, cmd, "members list needs exactly one GROUP");
		argv[1] = (char *)"list";
		return sgctl_call(c, "members", argc - 1, argv + 1, 0, 0, false);
	}
	if (strcmp(argv[1], "add") && strcmp(argv[1], "del") && strcmp(argv[1], "delete") &&
	    strcmp(argv[1], "rm"))
		return sgctl_usage(c, cmd, "members: unknown action '%s' (list, add or del)", argv[1]);
	if (strcmp(argv[1], "add"))
		argv[1] = (char *)"del";
	if (argc < 4)
		return sgctl_usage(c, cmd, "members %s needs GROUP and at least one ADDR", argv[1]);
	for (i = 3; i < argc; i++)
		if (!members_addr_ok(argv[i]))
			return sgctl_usage(c, cmd, "members %s: '%s' is not an IPv4/IPv6 address or CIDR",
					   argv[1], argv[i]);
	return sgctl_call(c, "members", argc - 1, argv + 1, 0, 0, false);
}
