/*
 * cmd_offline.c — commands that never talk to the daemon: check, import.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confcheck.h"
#include "command.h"
#include "config.h"
#include "import_aws.h"
#include "render.h"
#include "out.h"
#include "sgctl.h"

/* --json: {"ok":..,"errors":[..]} from the same loader check_run uses. */
static int check_json(struct sgctl *c, const char *confdir)
{
	struct sg_config *cfg = NULL;
	struct sg_diags d;
	char *text = NULL;
	int r, rr;

	diags_init(&d);
	r = config_load(confdir, &cfg, &d);
	if (r < 0 && d.n == 0)
		diags_add_file(&d, confdir, "%s", strerror(-r));
	diags_sort(&d);
	rr = render_diags(&d, true, &text);
	diags_free(&d);
	config_free(cfg);
	if (rr < 0)
		return sgctl_fail(NULL, SGCTL_EXIT_FAILED, "out of memory");
	(void)out_write_text(stdout, text, strlen(text));
	free(text);
	return r < 0 ? SGCTL_EXIT_FAILED : SGCTL_EXIT_OK;
}

int cmd_check(struct sgctl *c, int argc, char **argv)
{
	const struct sg_command *cmd = command_find("check");
	const char *confdir = NULL;
	bool verbose = false;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			verbose = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return sgctl_usage(c, cmd, "check: unknown option '%s'", argv[i]);
		else if (confdir)
			return sgctl_usage(c, cmd, "check takes one CONFDIR (got '%s' and '%s')",
					   confdir, argv[i]);
		else
			confdir = argv[i];
	}
	if (!confdir)
		confdir = SGD_DEFAULT_CONFDIR;
	if (c->json)
		return check_json(c, confdir);
	r = check_run(confdir, verbose, stdout, stderr);
	/* say so when valid: silence is ambiguous for a human */
	if (r == 0 && !verbose)
		printf("%s: configuration is valid\n", confdir);
	fflush(stdout);
	return r == 0 ? SGCTL_EXIT_OK : SGCTL_EXIT_FAILED;
}

int cmd_import(struct sgctl *c, int argc, char **argv)
{
	const struct sg_command *cmd = command_find("import");

	if (argc < 2)
		return sgctl_usage(c, cmd, "import needs a source: import aws FILE [-o DIR]");
	if (strcmp(argv[1], "aws"))
		return sgctl_usage(c, cmd, "import: unknown source '%s' (only aws)", argv[1]);
	/* import_aws_main takes argv[0] = "aws" and owns its options */
	return import_aws_main(argc - 1, argv + 1, c->json);
}
