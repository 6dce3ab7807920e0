/*
 * membersd.c — CONFDIR/members.d/GROUP: members fed by fleet tools, one
 * address or CIDR per line ('#' starts a comment), read at every load
 * and watched with inotify, so that a change reaches the kernel as a
 * set-element delta without a reload.  See membership.c for how these
 * members combine with the YAML and run-time ones.
 *
 * A file is applied whole or not at all: one with a bad line is not
 * used, the last valid version of that file read by this sgd stays in
 * force (none if it never read one), and the error is logged and shown
 * by `sgctl status` until the file is valid again.  This holds wherever
 * members.d is read (change, start, reload, apply, rollback), so that a
 * fleet tool's mistake never blocks a reload or a rollback and never
 * shrinks a group.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "safeopen.h"
#include "sgd.h"

/* Open CONFDIR/members.d/fname by the config-file rules (safeopen.h).
 * The fd, -ENOENT (no directory or no file: empty), or -errno with why. */
static int membersd_open(struct sgd *d, const char *fname, char *why, size_t wl)
{
	int cfd, mfd, fd;

	cfd = open(d->opt.confdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		snprintf(why, wl, "cannot open %s: %s", d->opt.confdir,
			 strerror(errno));
		return -errno;
	}
	mfd = safeopen_dir(cfd, "members.d", why, wl);
	close(cfd);
	if (mfd < 0)
		return mfd;
	fd = safeopen_file(mfd, fname, (off_t)SGD_MEMBERSD_MAX_BYTES, NULL, why, wl);
	close(mfd);
	return fd;
}

/* One line of a members.d file (comment stripped here); the diag names
 * the file and the line, never the content: the file may hold anything,
 * and status is shown to read-only users. */
static int membersd_line(char *p, struct sg_pos *pos, struct sg_cidr_list *out,
			 const struct sg_cidr *find, int *line, struct sg_diags *dg)
{
	struct sg_cidr c;
	char *hash, *end;
	int r;

	hash = strchr(p, '#');
	if (hash)
		*hash = 0;
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = 0;
	if (!*p)
		return 0;
	r = cidr_parse(p, &c);
	if (r == -ERANGE) {
		diags_add(dg, pos, "host bits set past the prefix length (use the "
			  "network address)");
		return -EINVAL;
	}
	if (r < 0) {
		diags_add(dg, pos, "not an IPv4/IPv6 address or CIDR");
		return -EINVAL;
	}
	if (find && line && !*line && cidr_cmp(&c, find) == 0)
		*line = pos->line;
	if (out && cidr_list_add(out, &c) < 0)
		return -ENOMEM;
	return 0;
}

/* Read CONFDIR/members.d/fname into out.  With find, *line gets the
 * line where find is (0 if absent).  A missing file is empty.  Errors
 * are diags with members.d/FNAME[:LINE].  Memory: one buffer of
 * SGD_MEMBERSD_MAX_LINE bytes, plus out (the file is at most
 * SGD_MEMBERSD_MAX_BYTES, checked before and while reading). */
/* A members.d file being read: a buffer of at most one line, where the
 * reader is, and what it found. */
struct membersd_scan {
	char buf[SGD_MEMBERSD_MAX_LINE + 1];
	size_t have;
	struct sg_pos pos;
	bool skipping;		/* the rest of a line longer than buf */
	int bad;		/* bad lines so far */
	struct sg_cidr_list *out;
	const struct sg_cidr *find;
	int *line;
	struct sg_diags *dg;
};

/* Take every whole line in sc->buf (at eof, the last one without its
 * newline too) and keep what follows the last for the next read.  0 or
 * -ENOMEM. */
static int membersd_scan(struct membersd_scan *sc, bool eof)
{
	char *p = sc->buf, *end = sc->buf + sc->have, *nl;
	int r;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) || (eof && p < end)) {
		if (nl)
			*nl = 0;
		sc->pos.line++;
		if (!sc->skipping) {
			if (strlen(p) != (size_t)((nl ? nl : end) - p)) {
				diags_add(sc->dg, &sc->pos, "contains a NUL byte");
				sc->bad++;
			} else {
				r = membersd_line(p, &sc->pos, sc->out, sc->find,
						  sc->line, sc->dg);
				if (r == -ENOMEM)
					return r;
				sc->bad += r < 0;
			}
		}
		sc->skipping = false;
		p = nl ? nl + 1 : end;
	}
	sc->have -= (size_t)(p - sc->buf);
	memmove(sc->buf, p, sc->have);
	return 0;
}

int membersd_read(struct sgd *d, const char *fname, struct sg_cidr_list *out,
		  const struct sg_cidr *find, int *line, struct sg_diags *dg)
{
	struct membersd_scan sc = { .out = out, .find = find, .line = line, .dg = dg };
	char rel[512], why[200];
	unsigned long long total = 0;
	int fd, r = 0;

	snprintf(rel, sizeof(rel), "members.d/%s", fname);
	if (line)
		*line = 0;
	fd = membersd_open(d, fname, why, sizeof(why));
	if (fd == -ENOENT)
		return 0;
	if (fd < 0) {
		diags_add_file(dg, rel, "%s", why);
		return fd;
	}
	sc.pos.file = rel;
	sc.pos.col = 1;
	for (;;) {
		ssize_t n = read(fd, sc.buf + sc.have, sizeof(sc.buf) - 1 - sc.have);
		bool eof;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			diags_add_file(dg, rel, "cannot read: %s", strerror(-r));
			break;
		}
		total += (unsigned long long)n;
		if (total > SGD_MEMBERSD_MAX_BYTES) {
			/* it grew past the limit while read */
			r = -EFBIG;
			diags_add_file(dg, rel, "file is over the limit of %u bytes",
				       SGD_MEMBERSD_MAX_BYTES);
			break;
		}
		eof = n == 0;
		sc.have += (size_t)n;
		sc.buf[sc.have] = 0;
		r = membersd_scan(&sc, eof);
		if (r < 0 || eof)
			break;
		if (sc.have == sizeof(sc.buf) - 1) {
			/* a line longer than any address: bad, and the rest
			 * of it is skipped unread into nothing */
			if (!sc.skipping) {
				struct sg_pos lp = sc.pos;

				lp.line++;
				diags_add(dg, &lp, "line longer than %d bytes",
					  SGD_MEMBERSD_MAX_LINE);
				sc.bad++;
				/* counted when its newline comes */
				sc.skipping = true;
			}
			sc.have = 0;
		}
	}
	close(fd);
	if (r < 0)
		return r;
	return sc.bad ? -EINVAL : 0;
}

/* Remember l as the last valid version of members.d/fname. */
static int good_set(struct sgd *d, const char *fname,
		    const struct sg_cidr_list *l)
{
	struct sgd_rt_group *g = runtime_find(&d->membersd_good, fname);
	struct sg_cidr_list copy = { 0 };
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_list_add(&copy, &l->v[i]) < 0) {
			cidr_list_free(&copy);
			return -ENOMEM;
		}
	if (!g) {
		struct sgd_rt_group *nv;
		char *name = strdup(fname);

		nv = name ? realloc(d->membersd_good.v, (d->membersd_good.n + 1) *
				    sizeof(*nv)) : NULL;
		if (!nv) {
			free(name);
			cidr_list_free(&copy);
			return -ENOMEM;
		}
		d->membersd_good.v = nv;
		g = &nv[d->membersd_good.n++];
		g->name = name;
		memset(&g->addrs, 0, sizeof(g->addrs));
	}
	cidr_list_free(&g->addrs);
	g->addrs = copy;
	return 0;
}

int membersd_load(struct sgd *d, const char *fname, struct sg_cidr_list *out,
		  struct sg_diags *dg)
{
	struct sg_cidr_list now = { 0 };
	const struct sg_cidr_list *use = &now;
	struct sgd_rt_group *g;
	size_t i;
	int r, kept = 0;

	r = membersd_read(d, fname, &now, NULL, NULL, dg);
	if (r == 0) {
		r = good_set(d, fname, &now);
	} else {
		/* Bad lines, unreadable, refused, too big, even out of memory
		 * while read: the last valid version stays.  So no members.d
		 * file can fail a start, a reload or a rollback. */
		if (r == -ENOMEM)
			diags_add_file(dg, "members.d", "%s: out of memory while "
				       "reading it", fname);
		g = runtime_find(&d->membersd_good, fname);
		use = g ? &g->addrs : NULL;
		kept = 1;
		r = 0;
	}
	for (i = 0; r == 0 && use && i < use->n; i++)
		r = cidr_list_add(out, &use->v[i]);
	cidr_list_free(&now);
	return r < 0 ? r : kept;
}

void membersd_report(struct sgd *d, const struct sg_diags *dg)
{
	const char *tail = "not applied: the last valid version of the file "
			   "stays in force";
	char *first, *msg = NULL;
	int r;

	if (dg->n == 0) {
		if (d->members_error)
			sgd_log_event(d, LOG_NOTICE, SGD_EV_MEMBERS, NULL,
				"members.d: every file is valid again");
		free(d->members_error);
		d->members_error = NULL;
		return;
	}
	first = diag_format(&dg->v[0]);
	if (dg->n > 1)
		r = asprintf(&msg, "%s (and %zu more bad line%s); %s",
			     first ? first : dg->v[0].msg, dg->n - 1,
			     dg->n > 2 ? "s" : "", tail);
	else
		r = asprintf(&msg, "%s; %s", first ? first : dg->v[0].msg, tail);
	if (r < 0)
		msg = NULL;
	free(first);
	/* Every event re-reads every file: say it again only when it is
	 * news, the status keeps showing it meanwhile. */
	if (msg && d->members_error && strcmp(msg, d->members_error) == 0) {
		free(msg);
		return;
	}
	sgd_log_diags(d, LOG_WARNING, SGD_EV_MEMBERS, "members.d: file not applied",
		      dg);
	free(d->members_error);
	d->members_error = msg;
}

void membersd_fini(struct sgd *d)
{
	runtime_free(&d->membersd_good);
	free(d->members_error);
	d->members_error = NULL;
}

bool membersd_ignored_name(const char *name)
{
	size_t n = strlen(name);

	return n == 0 || name[0] == '.' || name[n - 1] == '~';
}

void membersd_warn_unknown(struct sgd *d, const struct sg_config *cfg)
{
	char dir[4096];
	struct dirent *e;
	DIR *dp;

	/* A file for a group that does not exist is worth saying, but it is
	 * not used, so it is no reason to refuse a configuration (it may be
	 * a backup such as app.bak or a package manager's leftover). */
	snprintf(dir, sizeof(dir), "%s/members.d", d->opt.confdir);
	dp = opendir(dir);
	while (dp && (e = readdir(dp))) {
		if (membersd_ignored_name(e->d_name))
			continue;
		if (config_find_group(cfg, e->d_name) < 0)
			sgd_log_event(d, LOG_WARNING, SGD_EV_MEMBERS, NULL,
				"%s/%s: ignored: no group is named '%s' (the "
				"file name must be a group's name or id)", dir,
				e->d_name, e->d_name);
	}
	if (dp)
		closedir(dp);
}
