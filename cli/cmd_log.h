/*
 * cmd_log.h — `sgctl log`: the packets sgd dropped and logged (sgd.yaml
 * `log_denied: true`), one line each.
 *
 *   sgctl [--json] log [--since TIME] [-f|--follow] [-n COUNT]
 *                      [--timeout SECONDS] [-c CONFDIR]
 *
 * It asks sgd, which reads NFLOG group NFLOG_SGD_GROUP and keeps the last
 * entries (daemon/droplog.c): what sgd keeps (since TIME), then, with
 * --follow, every new one, over the control socket, so any number of
 * readers can follow at once.  When sgd cannot be reached, --follow reads
 * the group directly from the kernel (root, one reader at a time).
 * See docs/logging.md for the line format, the JSON fields, the rate
 * limits and how the "closest group" is chosen.
 */
#ifndef SGD_CMD_LOG_H
#define SGD_CMD_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* argv[0] is the command word ("log"); options follow.  sock is sgd's
 * control socket; confdir the configuration directory for the direct
 * reading (NULL: /etc/sgd; `-c DIR` overrides it); json is sgctl's
 * --json (`log --json` works too).  Returns the process exit code: 0
 * when COUNT lines were printed, the timeout passed, the kept entries
 * were printed or the output was closed; 1 when the log cannot be read;
 * 2 on bad usage; 3 when sgd cannot be reached without --follow. */
int log_main(int argc, char **argv, const char *sock, const char *confdir,
	     bool json);

/* --since TIME to Unix microseconds, relative to now_us: "@EPOCH[.FRAC]",
 * "YYYY-MM-DD[ T]HH:MM[:SS]" and "HH:MM[:SS]" (today) in local time, or
 * "-N" + s/m/h/d ("-10m": ten minutes ago).  0 or -EINVAL. */
int log_parse_since(const char *s, int64_t now_us, int64_t *out);

#endif
