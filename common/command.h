/*
 * command.h — sgctl's commands, the one list of them: names, what each
 * does (sgctl's help and the shell completion, `sgctl --commands`), and
 * what sgd needs to know to dispatch it (whether sgd runs it, whether it
 * changes the firewall, whether a disabled sgd answers it).  sgd's
 * handlers (daemon/dispatch.c) and sgctl's (cli/sgctl.c) are arrays
 * indexed by enum sg_cmd_id, so no command name is written twice.
 */
#ifndef SGD_COMMAND_H
#define SGD_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "paths.h"

enum sg_cmd_id {
	SG_CMD_STATUS,
	SG_CMD_RELOAD,
	SG_CMD_CHECK,
	SG_CMD_SHOW,
	SG_CMD_DIFF,
	SG_CMD_EXPLAIN,
	SG_CMD_MEMBERS,
	SG_CMD_STATS,
	SG_CMD_APPLY,
	SG_CMD_CONFIRM,
	SG_CMD_FLEET,
	SG_CMD_DISABLE,
	SG_CMD_ENABLE,
	SG_CMD_IMPORT,
	SG_CMD_LOG,
	SG_CMD_VERSION,
	SG_N_CMDS
};

enum {
	SG_CMD_DAEMON = 1 << 0,		/* sgctl sends it to sgd */
	SG_CMD_MUTATES = 1 << 1,	/* needs root or control_group */
	SG_CMD_WHILE_DISABLED = 1 << 2,	/* a disabled sgd answers it */
};

struct sg_command {
	const char *name;
	unsigned flags;		/* SG_CMD_* */
	/* the form of it anyone who can open the socket may run ("members
	 * list"); NULL when it only changes the firewall */
	const char *read_only;
	const char *synopsis;	/* "members list GROUP | add GROUP ADDR..." */
	const char *help;	/* what it does, options, exit codes */
};

/* Every command, indexed by enum sg_cmd_id, in the order of sgctl --help. */
extern const struct sg_command sg_commands[SG_N_CMDS];

/* The command called name, or NULL. */
const struct sg_command *command_find(const char *name);
/* Its index in sg_commands. */
enum sg_cmd_id command_id(const struct sg_command *cmd);
/* The names of the commands with every flag of `with`, separated by sep,
 * with the read_only form when read_only is true (then only commands
 * that have one), into buf (truncated at len).  Returns buf. */
char *command_names(char *buf, size_t len, unsigned with, bool read_only,
		    const char *sep);

#endif
