/*
 * cmd_fleet.c — `sgctl fleet status | leave`: the fleet's state as sgd
 * sees it (etcd connection, revision, lease, members per group), and
 * leaving the fleet (sgd revokes its lease: every key of this host goes,
 * on every host).
 */
#include <string.h>

#include "command.h"
#include "sgctl.h"

int cmd_fleet(struct sgctl *c, int argc, char **argv)
{
	const struct sg_command *cmd = command_find("fleet");

	if (argc != 2)
		return sgctl_usage(c, cmd, "fleet needs exactly one of status or leave");
	if (strcmp(argv[1], "status") && strcmp(argv[1], "leave"))
		return sgctl_usage(c, cmd, "fleet: unknown action '%s' (status or leave)", argv[1]);
	return sgctl_call(c, "fleet", 1, argv + 1, 0, 0, false);
}
