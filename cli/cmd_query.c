/*
 * cmd_query.c — read-only commands answered by the daemon: status, show,
 * diff, explain, stats, version.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "engine.h"
#include "explain.h"
#include "out.h"
#include "paths.h"
#include "command.h"
#include "proto.h"
#include "sgctl.h"

/* Commands that take no arguments. */
static int query_plain(struct sgctl *c, int argc, char **argv)
{
	if (argc > 1)
		return sgctl_usage(c, command_find(argv[0]),
				   "%s takes no arguments (got '%s')", argv[0], argv[1]);
	return sgctl_call(c, argv[0], 0, NULL, 0, 0, false);
}

/* sgd cannot be reached: what does the kernel hold of its table?  The
 * table is named in the configuration (table:, default "sgd"); a
 * configuration that cannot be read means the default. */
static void status_table_name(char *buf, size_t len)
{
	struct sg_config *cfg = NULL;
	struct sg_diags d;

	diags_init(&d);
	if (config_load(SGD_DEFAULT_CONFDIR, &cfg, &d) == 0 && cfg && cfg->table)
		snprintf(buf, len, "%s", cfg->table);
	else
		snprintf(buf, len, "sgd");
	config_free(cfg);
	diags_free(&d);
}

static int status_offline(struct sgctl *c, const char *errmsg)
{
	struct sg_table_info ti = { 0 };
	struct sg_engine *e = NULL;
	char table[256];
	int r;

	status_table_name(table, sizeof(table));
	r = engine_open(&e, table);
	if (r == 0)
		r = engine_inspect(e, &ti);
	engine_close(e);
	fprintf(stderr, "sgctl: %s\n", errmsg);
	if (c->json) {
		struct out_buf b;
		struct json_w j;
		char *s;

		out_init(&b);
		json_init(&j, &b);
		json_obj_begin(&j);
		json_kbool(&j, "ok", false);
		json_kint(&j, "exit_code", SGCTL_EXIT_UNREACHABLE);
		json_kstr(&j, "error", errmsg);
		json_key(&j, "kernel");
		json_obj_begin(&j);
		json_kstr(&j, "table", table);
		if (r < 0) {
			json_knull(&j, "present");
			json_kstr(&j, "error", strerror(-r));
		} else {
			json_kbool(&j, "present", ti.present);
			json_kuint(&j, "chains", ti.chains);
			json_kuint(&j, "sets", ti.sets);
			json_kuint(&j, "rules", ti.rules);
		}
		json_obj_end(&j);
		json_obj_end(&j);
		out_putc(&b, '\n');
		if (out_finish(&b, &s) == 0) {
			fputs(s, stdout);
			free(s);
		}
	} else if (r < 0) {
		printf("sgd is not running; what the kernel holds of table inet %s "
		       "cannot be read: %s%s\n", table, strerror(-r),
		       r == -EPERM ? " (needs root)" : "");
	} else if (ti.present) {
		printf("sgd is not running, but its table inet %s is in the kernel "
		       "and in force: %zu rules, %zu chains besides input and "
		       "output, %zu sets.\nThe rules stay until sgd starts again "
		       "(`sgctl disable` removes them while sgd runs).\n", table,
		       ti.rules, ti.chains, ti.sets);
	} else {
		printf("sgd is not running, and table inet %s is not in the kernel: "
		       "no rules of sgd are in force.\n", table);
	}
	return SGCTL_EXIT_UNREACHABLE;
}

int cmd_status(struct sgctl *c, int argc, char **argv)
{
	char errmsg[512];
	int r;

	if (argc > 1)
		return sgctl_usage(c, command_find("status"),
				   "status takes no arguments (got '%s')", argv[1]);
	errmsg[0] = '\0';
	r = sgctl_call_reach(c, "status", errmsg, sizeof(errmsg));
	if (r != SGCTL_EXIT_UNREACHABLE)
		return r;
	return status_offline(c, errmsg);
}


int cmd_show(struct sgctl *c, int argc, char **argv)
{
	return query_plain(c, argc, argv);
}

int cmd_stats(struct sgctl *c, int argc, char **argv)
{
	const struct sg_command *cmd = command_find("stats");
	const char *fmt = NULL;
	char *args[2];
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc)
			fmt = argv[++i];
		else if (!strncmp(argv[i], "--format=", 9))
			fmt = argv[i] + 9;
		else
			return sgctl_usage(c, cmd, "stats: unexpected argument '%s'",
					   argv[i]);
	}
	if (!fmt)
		return sgctl_call(c, "stats", 0, NULL, 0, 0, false);
	if (strcmp(fmt, "table") && strcmp(fmt, "openmetrics") &&
	    strcmp(fmt, "prometheus"))
		return sgctl_usage(c, cmd, "stats: --format '%s': expected table, "
				   "openmetrics or prometheus", fmt);
	if (c->json && strcmp(fmt, "table"))
		return sgctl_usage(c, cmd, "stats: --json and --format %s exclude "
				   "each other", fmt);
	args[0] = (char *)"--format";
	args[1] = (char *)fmt;
	return sgctl_call(c, "stats", 2, args, 0, 0, false);
}

int cmd_diff(struct sgctl *c, int argc, char **argv)
{
	uint32_t flags = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--exit-code"))
			flags |= PROTO_F_EXIT_CODE;
		else
			return sgctl_usage(c, command_find("diff"),
					   "diff: unexpected argument '%s'", argv[i]);
	}
	return sgctl_call(c, "diff", 0, NULL, flags, 0, false);
}

int cmd_explain(struct sgctl *c, int argc, char **argv)
{
	struct sg_diags d;
	struct sg_probe p;
	int r;

	/* bad usage is found here, before the daemon is asked, so that it
	 * exits 2 even when sgd is down */
	diags_init(&d);
	r = explain_parse(argc - 1, argv + 1, &p, &d);
	if (r < 0) {
		r = sgctl_usage(c, command_find("explain"), "%s",
				d.n ? d.v[0].msg : "bad arguments");
		diags_free(&d);
		return r;
	}
	diags_free(&d);
	return sgctl_call(c, "explain", argc - 1, argv + 1, 0, 0, false);
}

/* The daemon's version from its `version` reply ("sgd 0.1.0 (control
 * protocol 1)"): the first word that starts with a digit. */
static void version_extract(const char *text, char *buf, size_t len)
{
	const char *p = text;

	buf[0] = '\0';
	while (*p && *p != '\n') {
		size_t n = strcspn(p, " \n");

		if (*p >= '0' && *p <= '9') {
			snprintf(buf, len, "%.*s", (int)n, p);
			return;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
}

int cmd_version(struct sgctl *c, int argc, char **argv)
{
	char errmsg[512], dv[128] = "";
	char *text = NULL;
	int r;

	if (argc > 1)
		return sgctl_usage(c, command_find("version"),
				   "version takes no arguments (got '%s')", argv[1]);
	r = sgctl_call_capture(c, "version", 0, &text, errmsg, sizeof(errmsg));
	if (r == 0 && text)
		version_extract(text, dv, sizeof(dv));
	free(text);
	if (c->json) {
		struct out_buf b;
		struct json_w j;
		char *s;

		out_init(&b);
		json_init(&j, &b);
		json_obj_begin(&j);
		json_kstr(&j, "client", SGD_VERSION);
		json_kstr(&j, "daemon", r == 0 && dv[0] ? dv : NULL);
		json_kstr(&j, "daemon_error", r == 0 ? NULL : errmsg);
		json_obj_end(&j);
		out_putc(&b, '\n');
		if (out_finish(&b, &s) < 0)
			return sgctl_fail(NULL, SGCTL_EXIT_FAILED, "out of memory");
		(void)out_write_text(stdout, s, strlen(s));
		free(s);
	} else {
		printf("sgctl %s\n", SGD_VERSION);
		if (r == 0)
			printf("sgd %s\n", dv[0] ? dv : "(unknown)");
		else
			printf("sgd: not reachable (%s)\n", errmsg);
	}
	/* the client's own version is always known: success */
	return SGCTL_EXIT_OK;
}
