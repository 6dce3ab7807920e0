/*
 * membersd.c — CONFDIR/members.d/GROUP: members fed by fleet tools, one
 * address or CIDR per line ('#' starts a comment), read at every load
 * and watched with inotify, so that a change reaches the kernel as a
 * set-element delta without a reload.  See membership.c for how these
 * members combine with the YAML and run-time ones.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "sgd.h"

static bool list_equal(const struct sg_cidr_list *a, const struct sg_cidr_list *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (cidr_cmp(&a->v[i], &b->v[i]) != 0)
			return false;
	return true;
}

/* Read CONFDIR/members.d/fname into out.  With find, *line gets the
 * line where find is (0 if absent).  A missing file is empty.  Errors
 * are diags with members.d/FNAME:LINE. */
int membersd_read(struct sgd *d, const char *fname, struct sg_cidr_list *out,
		  const struct sg_cidr *find, int *line, struct sg_diags *dg)
{
	char dir[4096], rel[512], *text = NULL, *p, *next;
	struct sg_pos pos = { 0 };
	int r, lineno = 0, bad = 0;

	snprintf(dir, sizeof(dir), "%s/members.d", d->opt.confdir);
	snprintf(rel, sizeof(rel), "members.d/%s", fname);
	if (line)
		*line = 0;
	r = state_read_file(dir, fname, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		diags_add_file(dg, rel, "cannot read: %s", strerror(-r));
		return r;
	}
	pos.file = rel;
	for (p = text; p; p = next) {
		struct sg_cidr c;
		char *hash, *end;

		next = strchr(p, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		hash = strchr(p, '#');
		if (hash)
			*hash = 0;
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
				   end[-1] == '\r'))
			*--end = 0;
		if (!*p)
			continue;
		pos.line = lineno;
		pos.col = 1;
		r = cidr_parse(p, &c);
		if (r < 0) {
			if (r == -ERANGE) {
				char cb[64];

				diags_add(dg, &pos, "'%s' has host bits set; "
					  "did you mean %s?", p,
					  cidr_format(&c, cb, sizeof(cb)));
			} else {
				diags_add(dg, &pos, "'%s' is not an IPv4/IPv6 "
					  "address or CIDR", p);
			}
			bad++;
			continue;
		}
		if (find && line && !*line && cidr_cmp(&c, find) == 0)
			*line = lineno;
		if (out && cidr_list_add(out, &c) < 0) {
			free(text);
			return -ENOMEM;
		}
	}
	free(text);
	return bad ? -EINVAL : 0;
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
		size_t n = strlen(e->d_name);

		if (e->d_name[0] == '.' || e->d_name[n - 1] == '~')
			continue;
		if (config_find_group(cfg, e->d_name) < 0)
			sgd_log(d, "%s/%s: ignored: no group is named '%s' (the "
				"file name must be a group's name or id)", dir,
				e->d_name, e->d_name);
	}
	if (dp)
		closedir(dp);
}

void membership_refresh(struct sgd *d)
{
	struct sg_members m;
	struct sg_diags dg;
	size_t i;
	int r;

	if (!d->cfg)
		return;
	diags_init(&dg);
	r = membership_compute(d, d->cfg, &m, &dg);
	if (r < 0) {
		sgd_log_diags(d, "members.d change ignored", &dg);
		diags_free(&dg);
		return;
	}
	for (i = 0; i < m.n_groups; i++) {
		struct sg_cidr_list tmp;

		if (list_equal(&m.by_group[i], &d->members.by_group[i]))
			continue;
		r = engine_members_update(d->eng, d->cfg, (int)i,
					  &d->members.by_group[i],
					  &m.by_group[i], &dg);
		if (r < 0) {
			sgd_log_diags(d, "members.d", &dg);
			sgd_log(d, "members of %s not updated: %s",
				d->cfg->groups[i].name, strerror(-r));
			continue;
		}
		sgd_log(d, "members of %s updated from members.d (%zu)",
			d->cfg->groups[i].name, m.by_group[i].n);
		tmp = d->members.by_group[i];
		d->members.by_group[i] = m.by_group[i];
		m.by_group[i] = tmp;
	}
	membership_free(&m);
	diags_free(&dg);
}

static void membership_on_inotify(struct sgd *d, struct sgd_watch *w,
				  uint32_t ev)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false, rewatch = false;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *e = (struct inotify_event *)p;

			if (e->wd == d->members_wd)
				changed = true;
			else if (e->len && strcmp(e->name, "members.d") == 0)
				rewatch = changed = true;
			if (e->mask & IN_IGNORED && e->wd == d->members_wd) {
				d->members_wd = -1;
				rewatch = true;
			}
			p += sizeof(*e) + e->len;
		}
	}
	if (rewatch)
		(void)membership_watch(d);
	if (changed)
		membership_refresh(d);
}

int membership_watch(struct sgd *d)
{
	char dir[4096];
	int wd;

	if (d->inotify.fd < 0) {
		d->inotify.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (d->inotify.fd < 0)
			return -errno;
		d->inotify.fn = membership_on_inotify;
		if (loop_add(d, &d->inotify, EPOLLIN) < 0)
			return -errno;
		/* To notice members.d being created or replaced. */
		if (inotify_add_watch(d->inotify.fd, d->opt.confdir,
				      IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0)
			return -errno;
	}
	if (d->members_wd >= 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s/members.d", d->opt.confdir);
	wd = inotify_add_watch(d->inotify.fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO |
			       IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF |
			       IN_ONLYDIR);
	if (wd < 0)
		return errno == ENOENT ? 0 : -errno;
	d->members_wd = wd;
	return 0;
}
