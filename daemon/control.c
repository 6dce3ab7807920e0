/*
 * control.c — the control socket server.
 *
 * Every client is non-blocking and has one deadline for the whole
 * exchange (accept to last reply byte), so a client that connects and
 * sends nothing, or never reads its answer, is dropped after
 * SGD_CLIENT_DEADLINE_MS without delaying anyone else.  Requests larger
 * than PROTO_MAX_REQUEST are refused from the frame header, before their
 * bytes are buffered.  Who may change things is decided by SO_PEERCRED.
 *
 * Slots: at most SGD_MAX_CLIENTS at once.  An unprivileged uid (neither
 * root nor control_group) holds at most SGD_MAX_CLIENTS_PER_UID of them
 * (its next connection is closed at once), all unprivileged clients
 * together leave SGD_PRIV_RESERVED free, and when sgd is full the oldest
 * unprivileged client is evicted first: a privileged one is evicted only
 * for another privileged one.  So a connection flood by a read-only user
 * (a 0666 socket) costs root neither its connection nor its request.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "membatch.h"
#include "clock.h"
#include "sgd.h"

#define SGD_ACCEPT_BATCH 64

static int mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Is another process answering on path?  1 yes (*pid set), 0 no (stale
 * or absent), -errno when the path is something else. */
static int control_probe(const char *path, pid_t *pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r == 0) {
		*pid = 0;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0)
			*pid = cr.pid;
		close(fd);
		return 1;
	}
	r = errno;
	close(fd);
	if (r == ECONNREFUSED)
		return 0;
	/* EAGAIN: a full backlog still means someone is listening. */
	if (r == EAGAIN) {
		*pid = 0;
		return 1;
	}
	return -r;
}

static void control_on_accept(struct sgd *d, struct sgd_watch *w, uint32_t ev);
static void control_on_timer(struct sgd *d, struct sgd_watch *w, uint32_t ev);

/* Remove the private directory of control_bind_private (and the
 * socket's second name in it). */
static void control_private_done(struct sgd *d)
{
	char p[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];

	if (!d->sock_private)
		return;
	snprintf(p, sizeof(p), "%s/sock", d->sock_private);
	(void)unlink(p);
	(void)rmdir(d->sock_private);
	free(d->sock_private);
	d->sock_private = NULL;
}

/* Bind fd in a fresh 0700 directory next to the socket path, set the
 * mode there (nobody else can reach that name), listen, then link it to
 * the real path: link(2) never follows a link and fails if the name was
 * taken meanwhile (another sgd starting at the same time).  The private
 * name stays until control_apply_group sets the group the same way, at
 * start.  0 or -errno (logged); st gets the socket's inode. */
static int control_bind_private(struct sgd *d, int fd, struct stat *st)
{
	const char *path = d->opt.sock_path;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int r;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/.sgd.XXXXXX/sock",
		     slash ? (slash == dir ? "" : dir) : ".") >=
	    (int)sizeof(sa.sun_path)) {
		sgd_log(d, LOG_ERR, "%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	*strrchr(sa.sun_path, '/') = 0;
	if (!mkdtemp(sa.sun_path)) {
		r = -errno;
		sgd_log(d, LOG_ERR, "%s: cannot create a private directory next to it: %s",
			path, strerror(-r));
		return r;
	}
	d->sock_private = strdup(sa.sun_path);
	if (!d->sock_private) {
		(void)rmdir(sa.sun_path);
		return -ENOMEM;
	}
	strcat(sa.sun_path, "/sock");
	/* Created 0660 from the start: no window with a wider mode. */
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r == 0 && (chmod(sa.sun_path, 0660) < 0 || listen(fd, 512) < 0 ||
		       lstat(sa.sun_path, st) < 0))
		r = -1;
	if (r < 0) {
		r = -errno;
		sgd_log(d, LOG_ERR, "bind %s: %s", path, strerror(-r));
		control_private_done(d);
		return r;
	}
	if (link(sa.sun_path, path) < 0) {
		r = -errno;
		if (r == -EEXIST)
			sgd_log(d, LOG_ERR, "%s: another sgd started at the same time; "
				"refusing to start", path);
		else
			sgd_log(d, LOG_ERR, "link %s: %s", path, strerror(-r));
		control_private_done(d);
		return r;
	}
	return 0;
}

int control_open(struct sgd *d)
{
	const char *path = d->opt.sock_path;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	pid_t pid = 0;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		sgd_log(d, LOG_ERR, "%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	r = mkdir_parent(path);
	if (r < 0) {
		sgd_log(d, LOG_ERR, "%s: cannot create its directory: %s", path,
			strerror(-r));
		return r;
	}
	r = control_probe(path, &pid);
	if (r == 1) {
		if (pid)
			sgd_log(d, LOG_ERR, "another sgd (pid %ld) is already "
				"serving %s; refusing to start", (long)pid,
				path);
		else
			sgd_log(d, LOG_ERR, "another sgd is already serving "
				"%s; refusing to start", path);
		return -EADDRINUSE;
	}
	if (r == -EEXIST) {
		sgd_log(d, LOG_ERR, "%s exists and is not a socket; refusing "
			"to replace it", path);
		return r;
	}
	if (r < 0) {
		sgd_log(d, LOG_ERR, "%s: %s", path, strerror(-r));
		return r;
	}
	/* Nobody answers: a stale socket from a previous run (or anything
	 * else of that name: unlink removes a link, never its target). */
	if (unlink(path) < 0 && errno != ENOENT) {
		r = -errno;
		sgd_log(d, LOG_ERR, "cannot remove stale socket %s: %s", path,
			strerror(-r));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = control_bind_private(d, fd, &st);
	if (r < 0) {
		close(fd);
		return r;
	}
	d->sock_dev = st.st_dev;
	d->sock_ino = st.st_ino;
	d->listen.fd = fd;
	d->listen.fn = control_on_accept;
	r = watch_add(d, &d->listen, EPOLLIN);
	if (r < 0)
		return r;
	d->client_timer.fd = timerfd_create(CLOCK_MONOTONIC,
					    TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->client_timer.fd < 0)
		return -errno;
	d->client_timer.fn = control_on_timer;
	return watch_add(d, &d->client_timer, EPOLLIN);
}

int control_apply_group(struct sgd *d)
{
	const char *name = d->cfg ? d->cfg->control_group : NULL;
	char p[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	struct group *g;
	int r = 0;

	d->have_control_gid = false;
	if (name) {
		g = getgrnam(name);
		if (!g) {
			sgd_log(d, LOG_WARNING, "control_group %s: no such group; only root "
				"may change the firewall", name);
			r = -ENOENT;
		} else {
			d->control_gid = g->gr_gid;
			d->have_control_gid = true;
		}
	}
	if (!d->sock_private) {
		/* Set once, at start: never again through a path someone in
		 * the socket's directory could have swapped for a link. */
		if (d->listen.fd >= 0 && d->have_control_gid &&
		    d->control_gid != d->sock_gid)
			sgd_log(d, LOG_WARNING, "control_group %s: the socket %s keeps group %ld "
				"until sgd restarts (members of %s are allowed "
				"changes as soon as they can connect)", name,
				d->opt.sock_path, (long)d->sock_gid, name);
		return r;
	}
	d->sock_gid = 0;
	if (d->have_control_gid && d->listen.fd >= 0) {
		/* The private name: in a 0700 directory only root reaches. */
		snprintf(p, sizeof(p), "%s/sock", d->sock_private);
		if (chown(p, (uid_t)-1, d->control_gid) < 0) {
			r = -errno;
			sgd_log(d, LOG_WARNING, "chown %s to group %s: %s", d->opt.sock_path,
				name, strerror(-r));
		} else {
			d->sock_gid = d->control_gid;
		}
	}
	control_private_done(d);
	return r;
}

static void timer_rearm(struct sgd *d)
{
	long long left;

	if (!d->clients) {
		(void)watch_timer_set_ms(d->client_timer.fd, 0, false);
		return;
	}
	left = d->clients->deadline_ms - clock_now_ms();
	/* Cannot fail on a valid timerfd with a valid value. */
	(void)watch_timer_set_ms(d->client_timer.fd, left > 0 ? left : 1, false);
}

static void client_close(struct sgd *d, struct sgd_client *c)
{
	bool was_head = d->clients == c;

	if (c->w.fd < 0)
		return;
	watch_del(d, &c->w);
	close(c->w.fd);
	c->w.fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		d->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		d->clients_tail = c->prev;
	d->n_clients--;
	if (!c->priv)
		d->n_unpriv--;
	if (d->accept_paused && watch_mod(d, &d->listen, EPOLLIN) == 0)
		d->accept_paused = false;
	c->prev = NULL;
	c->next = d->dead;
	d->dead = c;
	if (was_head)
		timer_rearm(d);
}

/* Hand the client's socket to someone else: the client is closed
 * without closing its fd, which is returned (-1 if already closed). */
static int client_detach(struct sgd *d, struct sgd_client *c)
{
	int fd = c->w.fd;

	if (fd < 0)
		return -1;
	/* client_close unregisters and closes c->w.fd: give it a copy to
	 * close, after taking the original out of the epoll set */
	c->w.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (c->w.fd < 0) {
		c->w.fd = fd;
		client_close(d, c);
		return -1;
	}
	watch_del(d, &(struct sgd_watch){ .fd = fd });
	client_close(d, c);
	return fd;
}

void control_reap(struct sgd *d)
{
	while (d->dead) {
		struct sgd_client *c = d->dead;

		d->dead = c->next;
		d->buffered -= c->dec.cap;
		proto_decoder_free(&c->dec);
		proto_buf_free(&c->out);
		free(c->groups);
		free(c);
	}
}

static void client_flush(struct sgd *d, struct sgd_client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->w.fd, c->out.data + c->out_off,
				 c->out.len - c->out_off, MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (watch_mod(d, &c->w, EPOLLOUT) < 0)
				client_close(d, c);
			return;
		}
		/* The client went away; nothing left to tell it. */
		client_close(d, c);
		return;
	}
	client_close(d, c);
}

void control_reply(struct sgd *d, struct sgd_client *c, struct proto_resp *r)
{
	int rc;

	c->replying = true;
	rc = proto_encode_resp(PROTO_MSG_REPLY, r, &c->out);
	if (rc < 0) {
		struct proto_resp e = { 0 };

		reply_fail(&e, false, 1, "sgd: cannot send the answer: %s",
			      strerror(-rc));
		rc = proto_encode_resp(PROTO_MSG_REPLY, &e, &c->out);
		proto_resp_free(&e);
		if (rc < 0) {
			client_close(d, c);
			return;
		}
	}
	client_flush(d, c);
}

static void client_fail(struct sgd *d, struct sgd_client *c, int code, int err,
			unsigned version)
{
	struct proto_resp r = { 0 };
	char why[200];

	proto_strerror(err, version, why, sizeof(why));
	if (err == -EMSGSIZE)
		reply_fail(&r, false, code, "sgd: request refused: larger than %u "
			      "bytes", PROTO_MAX_REQUEST);
	else
		reply_fail(&r, false, code, "sgd: request refused: %s", why);
	sgd_debug(d, "client pid %ld uid %ld: %s", (long)c->pid, (long)c->uid,
		  why);
	control_reply(d, c, &r);
	proto_resp_free(&r);
}

static void client_on_request(struct sgd *d, struct sgd_client *c,
			      const struct proto_frame *f)
{
	struct proto_req req;
	struct proto_resp r = { 0 };
	int rc;

	if (f->type != PROTO_MSG_REQUEST) {
		client_fail(d, c, 2, -EBADMSG, 0);
		return;
	}
	rc = proto_req_decode(f, &req);
	if (rc < 0) {
		client_fail(d, c, 2, rc, 0);
		return;
	}
	sgd_debug(d, "request '%s' (%zu args) from pid %ld uid %ld", req.cmd,
		  req.argc, (long)c->pid, (long)c->uid);
	if (droplog_wants_stream(&req)) {
		/* `log --follow` outlives the request deadline: droplog.c
		 * takes the socket over */
		int fd = client_detach(d, c);

		if (fd >= 0)
			droplog_follow(d, fd, c->uid, &req);
		proto_req_free(&req);
		return;
	}
	dispatch_request(d, c, &req, &r);
	proto_req_free(&req);
	/* a membership change is answered once its batch is committed */
	if (!membatch_defer(d, c, &r))
		control_reply(d, c, &r);
	proto_resp_free(&r);
}

static void client_on_event(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	struct sgd_client *c = (struct sgd_client *)w;
	uint8_t buf[65536];
	struct proto_frame f;
	int r;

	if (c->w.fd < 0)
		return;
	if (c->replying) {
		if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			client_flush(d, c);
		return;
	}
	for (;;) {
		ssize_t n = recv(c->w.fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* Closed (or failed) before a whole request. */
			client_close(d, c);
			return;
		}
		if (d->buffered + (size_t)n > SGD_MAX_BUFFERED) {
			/* Many large half-sent requests at once: memory stays
			 * bounded, the newest byte's sender is turned away. */
			struct proto_resp busy = { 0 };

			reply_fail(&busy, false, 1, "sgd: busy: too many large "
				      "requests in flight, try again");
			control_reply(d, c, &busy);
			proto_resp_free(&busy);
			return;
		}
		size_t cap0 = c->dec.cap;

		r = proto_decoder_feed(&c->dec, buf, (size_t)n);
		d->buffered += c->dec.cap - cap0;
		if (r == 0) {
			r = proto_decoder_next(&c->dec, &f);
			if (r == 1) {
				client_on_request(d, c, &f);
				return;
			}
		}
		if (r < 0) {
			unsigned version = 0;

			if (r == -EPROTONOSUPPORT && c->dec.len - c->dec.off >= 6)
				version = (unsigned)(c->dec.buf[c->dec.off + 4] << 8 |
						     c->dec.buf[c->dec.off + 5]);
			client_fail(d, c, r == -EPROTONOSUPPORT ? 1 : 2, r,
				    version);
			return;
		}
	}
}

static void client_creds(struct sgd_client *c)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	gid_t small[64];

	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	if (getsockopt(c->w.fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
		c->uid = cr.uid;
		c->gid = cr.gid;
		c->pid = cr.pid;
	}
	len = sizeof(small);
	if (getsockopt(c->w.fd, SOL_SOCKET, SO_PEERGROUPS, small, &len) == 0) {
		c->groups = malloc(len ? len : 1);
		if (c->groups) {
			memcpy(c->groups, small, len);
			c->n_groups = len / sizeof(gid_t);
		}
	} else if (errno == ERANGE) {
		c->groups = malloc(len);
		if (c->groups && getsockopt(c->w.fd, SOL_SOCKET, SO_PEERGROUPS,
					    c->groups, &len) == 0)
			c->n_groups = len / sizeof(gid_t);
	}
	/* Without supplementary groups only uid 0 and the primary gid
	 * count: a refusal, never a wrong grant. */
}

/* The oldest unprivileged client, or NULL; *same gets how many clients
 * uid holds (uid (uid_t)-1: not counted). */
static struct sgd_client *client_oldest_unpriv(struct sgd *d, uid_t uid,
					       size_t *same)
{
	struct sgd_client *c, *oldest = NULL;

	*same = 0;
	for (c = d->clients; c; c = c->next) {
		if (c->priv)
			continue;
		if (!oldest)
			oldest = c;
		if (c->uid == uid)
			(*same)++;
	}
	return oldest;
}

/* May the new client c (not yet listed) have a slot?  Evicts whom it
 * must (see the top of this file); false: c is turned away. */
static bool client_admit(struct sgd *d, struct sgd_client *c)
{
	struct sgd_client *victim;
	size_t same;

	victim = client_oldest_unpriv(d, c->priv ? (uid_t)-1 : c->uid, &same);
	if (!c->priv && same >= SGD_MAX_CLIENTS_PER_UID) {
		sgd_debug(d, "uid %ld already has %d connections: pid %ld "
			  "turned away", (long)c->uid, SGD_MAX_CLIENTS_PER_UID,
			  (long)c->pid);
		return false;
	}
	if (!c->priv && d->n_unpriv >= SGD_MAX_CLIENTS - SGD_PRIV_RESERVED) {
		/* the unprivileged share is full: its oldest makes room */
		sgd_debug(d, "unprivileged clients at their limit (%d), dropping "
			  "the oldest (pid %ld uid %ld)",
			  SGD_MAX_CLIENTS - SGD_PRIV_RESERVED, (long)victim->pid,
			  (long)victim->uid);
		client_close(d, victim);
		return true;
	}
	if (d->n_clients < SGD_MAX_CLIENTS)
		return true;
	/* Full.  Evict the oldest unprivileged client, not the newcomer:
	 * otherwise 1024 silent connections would lock everyone out until
	 * their deadline, again and again.  A privileged client only ever
	 * makes room for another privileged one. */
	if (!victim && c->priv)
		victim = d->clients;
	if (!victim) {
		sgd_debug(d, "too many clients (%d), all privileged: pid %ld uid "
			  "%ld turned away", SGD_MAX_CLIENTS, (long)c->pid,
			  (long)c->uid);
		return false;
	}
	sgd_debug(d, "too many clients (%d), dropping the oldest%s (pid %ld)",
		  SGD_MAX_CLIENTS, victim->priv ? "" : " unprivileged",
		  (long)victim->pid);
	client_close(d, victim);
	return true;
}

static void control_on_accept(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	/* A bounded batch: under a connection flood, the clients already
	 * accepted (root's request among them) are served between batches;
	 * the level-triggered listen fd brings the rest. */
	for (int batch = 0; batch < SGD_ACCEPT_BATCH; batch++) {
		struct sgd_client *c;
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				/* The pending connection stays queued and the
				 * level-triggered fd would spin: stop listening
				 * until a client goes away. */
				sgd_log(d, LOG_WARNING, "accept: %s; pausing "
					"until a client closes",
					strerror(errno));
				if (watch_mod(d, &d->listen, 0) == 0)
					d->accept_paused = true;
				return;
			}
			if (errno != EAGAIN)
				sgd_log(d, LOG_WARNING, "accept: %s",
					strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->w.fd = fd;
		c->w.fn = client_on_event;
		client_creds(c);
		c->priv = dispatch_client_may_mutate(d, c);
		if (!client_admit(d, c)) {
			close(fd);
			free(c->groups);
			free(c);
			continue;
		}
		proto_decoder_init(&c->dec, PROTO_MAX_REQUEST);
		c->deadline_ms = clock_now_ms() + SGD_CLIENT_DEADLINE_MS;
		if (watch_add(d, &c->w, EPOLLIN) < 0) {
			close(fd);
			free(c->groups);
			free(c);
			continue;
		}
		c->prev = d->clients_tail;
		if (d->clients_tail)
			d->clients_tail->next = c;
		else
			d->clients = c;
		d->clients_tail = c;
		d->n_clients++;
		if (!c->priv)
			d->n_unpriv++;
		if (d->clients == c)
			timer_rearm(d);
	}
}

static void control_on_timer(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	long long now = clock_now_ms();
	uint64_t ticks;

	/* Drained so the level-triggered fd goes quiet; EAGAIN is fine. */
	ssize_t n = read(w->fd, &ticks, sizeof(ticks));

	(void)n;
	while (d->clients && d->clients->deadline_ms <= now) {
		struct sgd_client *c = d->clients;

		sgd_debug(d, "client pid %ld uid %ld: no complete exchange in "
			  "%d ms, dropped", (long)c->pid, (long)c->uid,
			  SGD_CLIENT_DEADLINE_MS);
		client_close(d, c);
	}
	timer_rearm(d);
}

void control_close(struct sgd *d)
{
	struct stat st;

	control_private_done(d);
	while (d->clients)
		client_close(d, d->clients);
	control_reap(d);
	if (d->listen.fd >= 0) {
		close(d->listen.fd);
		d->listen.fd = -1;
		/* Only our own socket: a successor may already own the path. */
		if (lstat(d->opt.sock_path, &st) == 0 && st.st_dev == d->sock_dev &&
		    st.st_ino == d->sock_ino)
			unlink(d->opt.sock_path);
	}
	if (d->client_timer.fd >= 0) {
		close(d->client_timer.fd);
		d->client_timer.fd = -1;
	}
}
