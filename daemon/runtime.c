/*
 * runtime.c — the run-time members (`sgctl members add/del`): the lists
 * by group name (d->rt) and their snapshot file in the state dir
 * (SGD_STATE_MEMBERS).  The changes since the snapshot are in the
 * journal (journal.c, replayed by membatch_journal_load after
 * runtime_load).
 *
 * The run-time members file (SGD_STATE_MEMBERS) is text, one entry a line:
 *   # sgd run-time members, format 1
 *   GROUP CIDR
 * A line that cannot be read is reported with file:line, and the whole
 * file is kept aside as members.corrupt-UNIXTIME before anything is
 * rewritten, so nothing is silently dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "out.h"
#include "sgd.h"

struct sgd_rt_group *runtime_find(struct sgd_runtime *rt, const char *name)
{
	size_t i;

	for (i = 0; i < rt->n; i++)
		if (strcmp(rt->v[i].name, name) == 0)
			return &rt->v[i];
	return NULL;
}

void runtime_free(struct sgd_runtime *rt)
{
	size_t i;

	for (i = 0; i < rt->n; i++) {
		free(rt->v[i].name);
		cidr_list_free(&rt->v[i].addrs);
	}
	free(rt->v);
	rt->v = NULL;
	rt->n = 0;
}

struct sgd_rt_group *runtime_get(struct sgd_runtime *rt, const char *name)
{
	struct sgd_rt_group *g = runtime_find(rt, name), *nv;

	if (g)
		return g;
	nv = realloc(rt->v, (rt->n + 1) * sizeof(*rt->v));
	if (!nv)
		return NULL;
	rt->v = nv;
	g = &rt->v[rt->n];
	memset(g, 0, sizeof(*g));
	g->name = strdup(name);
	if (!g->name)
		return NULL;
	rt->n++;
	return g;
}

int runtime_save(struct sgd *d)
{
	struct out_buf b;
	char *text = NULL, cb[64];
	size_t i, k;
	int r;

	out_init(&b);
	out_puts(&b, "# sgd run-time members, format 1: GROUP CIDR\n"
		 "# written by sgd (sgctl members add/del); do not edit while "
		 "sgd runs\n");
	for (i = 0; i < d->rt.n; i++)
		for (k = 0; k < d->rt.v[i].addrs.n; k++)
			out_printf(&b, "%s %s\n", d->rt.v[i].name,
				   cidr_format(&d->rt.v[i].addrs.v[k], cb,
					       sizeof(cb)));
	r = out_finish(&b, &text);
	if (r < 0)
		return r;
	r = state_write_file(d->opt.state_dir, SGD_STATE_MEMBERS, text,
			     strlen(text));
	free(text);
	if (r < 0)
		sgd_log(d, LOG_WARNING, "%s/%s: cannot save the run-time "
			"members: %s", d->opt.state_dir, SGD_STATE_MEMBERS,
			strerror(-r));
	return r;
}

int runtime_load(struct sgd *d)
{
	char *text = NULL, *line, *save = NULL, corrupt[4096], path[4096];
	int r, lineno = 0, bad = 0;

	r = state_read_file(d->opt.state_dir, SGD_STATE_MEMBERS, &text, NULL);
	if (r == -ENOENT)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", d->opt.state_dir,
		 SGD_STATE_MEMBERS);
	if (r < 0) {
		sgd_log(d, LOG_WARNING, "%s: cannot read the run-time members: "
			"%s", path, strerror(-r));
		return r;
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char group[256], addr[256], extra[2];
		struct sgd_rt_group *g;
		struct sg_cidr c;
		int n;

		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == 0 || *line == '#')
			continue;
		n = sscanf(line, "%255s %255s %1s", group, addr, extra);
		if (n != 2) {
			sgd_log(d, LOG_WARNING, "%s:%d: expected 'GROUP CIDR', "
				"got '%s'", path, lineno, line);
			bad++;
			continue;
		}
		r = cidr_parse(addr, &c);
		if (r < 0) {
			sgd_log(d, LOG_WARNING, "%s:%d: '%s' is not an address "
				"or CIDR%s", path, lineno, addr,
				r == -ERANGE ? " (host bits set)" : "");
			bad++;
			continue;
		}
		g = runtime_get(&d->rt, group);
		r = g ? cidr_list_add(&g->addrs, &c) : -ENOMEM;
		if (r < 0) {
			free(text);
			return r;
		}
	}
	free(text);
	if (bad) {
		if (snprintf(corrupt, sizeof(corrupt), "%s.corrupt-%lld", path,
			     (long long)time(NULL)) >= (int)sizeof(corrupt))
			corrupt[0] = 0;
		if (corrupt[0] && link(path, corrupt) == 0)
			sgd_log(d, LOG_WARNING, "%s: %d unreadable line(s) "
				"skipped; the file as it was is kept in %s",
				path, bad, corrupt);
		else
			sgd_log(d, LOG_WARNING, "%s: %d unreadable line(s) "
				"skipped; could not keep a copy (%s), so the "
				"file is left as it is until the next change",
				path, bad, strerror(errno));
		free(d->notice);
		if (asprintf(&d->notice, "%s had %d unreadable line(s) at "
			     "start (see the log; original kept as %s)", path,
			     bad, corrupt) < 0)
			d->notice = NULL;
	}
	return 0;
}
