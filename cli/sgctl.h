/*
 * sgctl.h — the command-line client: shared context and one handler per
 * command (cmd_*.c).  Handlers return the process exit code.
 */
#ifndef SGD_SGCTL_H
#define SGD_SGCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "paths.h"

#define SGCTL_TIMEOUT_MS	30000	/* whole exchange with the daemon */

/* Exit codes (docs/sgctl.md, "Exit codes"). */
enum {
	SGCTL_EXIT_OK = 0,
	SGCTL_EXIT_FAILED = 1,
	SGCTL_EXIT_USAGE = 2,
	SGCTL_EXIT_UNREACHABLE = 3,
};

struct sgctl {
	const char *sock;
	bool json;
};

/* A command (common/command.h) runs as cmd_NAME(c, argc, argv): argv[0]
 * is the command word; options follow. */
struct sg_command;

/* sgctl.c */
/* Print "usage: ..." for cmd to stderr (and a JSON error on stdout with
 * --json); returns SGCTL_EXIT_USAGE. */
int sgctl_usage(struct sgctl *c, const struct sg_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* true when argv holds -h/--help (before "--"). */
bool sgctl_wants_help(int argc, char **argv);
/* Print the help of cmd on stdout; returns 0. */
int sgctl_help_cmd(const struct sg_command *cmd);

/* cmd_remote.c: send one request to sgd, print its stdout/stderr, and
 * return its exit code, or 3 when it cannot be reached. */
int sgctl_call(struct sgctl *c, const char *cmd, int argc, char **argv,
	       uint32_t flags, uint32_t confirm_secs, bool send_ssh);
/* Like sgctl_call without arguments, but when sgd cannot be reached it
 * prints nothing and returns 3 with the reason in errmsg. */
int sgctl_call_reach(struct sgctl *c, const char *cmd, char *errmsg, size_t errlen);
/* Same, with the reply's stdout captured instead of printed (malloc'd,
 * may be NULL).  Errors are printed only when quiet is false. */
int sgctl_call_capture(struct sgctl *c, const char *cmd, uint32_t flags,
		       char **out, char *errmsg, size_t errlen);
/* A client-side failure: message on stderr, and with --json a document
 * {"ok":false,"exit_code":N,"error":"..."} on stdout.  Returns code. */
int sgctl_fail(struct sgctl *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* cmd_query.c */
int cmd_status(struct sgctl *c, int argc, char **argv);
int cmd_show(struct sgctl *c, int argc, char **argv);
int cmd_diff(struct sgctl *c, int argc, char **argv);
int cmd_explain(struct sgctl *c, int argc, char **argv);
int cmd_stats(struct sgctl *c, int argc, char **argv);
int cmd_version(struct sgctl *c, int argc, char **argv);

/* cmd_mutate.c */
int cmd_reload(struct sgctl *c, int argc, char **argv);
int cmd_disable(struct sgctl *c, int argc, char **argv);
int cmd_enable(struct sgctl *c, int argc, char **argv);
int cmd_apply(struct sgctl *c, int argc, char **argv);
int cmd_confirm(struct sgctl *c, int argc, char **argv);
int cmd_members(struct sgctl *c, int argc, char **argv);

/* cmd_offline.c */
int cmd_check(struct sgctl *c, int argc, char **argv);
int cmd_import(struct sgctl *c, int argc, char **argv);
/* cmd_fleet.c */
int cmd_fleet(struct sgctl *c, int argc, char **argv);

#endif
