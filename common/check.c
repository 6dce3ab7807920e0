/* check.c — `sgd -t` / `sgctl check`; see check.h. */
#include <string.h>

#include "confcheck.h"
#include "config.h"

int check_run(const char *confdir, bool verbose, FILE *out, FILE *err)
{
	struct sg_diags d;
	struct sg_config *cfg = NULL;
	int r, code = 0;

	diags_init(&d);
	r = config_load(confdir, &cfg, &d);
	if (r < 0) {
		diags_sort(&d);
		diags_print(err, &d);
		if (d.n == 0)
			fprintf(err, "%s: %s\n", confdir, strerror(-r));
		code = 1;
	} else if (verbose && config_print(out, cfg) < 0) {
		fprintf(err, "%s: cannot print the configuration\n", confdir);
		code = 1;
	}
	config_free(cfg);
	diags_free(&d);
	return code;
}
