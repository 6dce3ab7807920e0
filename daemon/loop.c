/*
 * loop.c — the one event loop: epoll over the signalfd, the control
 * socket, its clients and the timerfds.  epoll_wait() blocks without a
 * timeout: every wake-up is an event, so an idle sgd uses no CPU.
 *
 * It calls no module by name: each watch carries its handler (watch.c),
 * and what runs around them (membership batching, reaping clients, a
 * reload on SIGHUP) are the hooks main.c registers in d->hooks.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "sgd.h"

static void loop_on_signal(struct sgd *d, struct sgd_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			if (d->hooks.hangup)
				d->hooks.hangup(d);
			break;
		case SIGTERM:
		case SIGINT:
			sgd_log(d, LOG_INFO, "%s received",
				strsignal((int)si.ssi_signo));
			d->quit = true;
			break;
		default:
			break;
		}
	}
}

int loop_init(struct sgd *d)
{
	sigset_t ss;
	int r;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0) {
		r = -errno;
		sgd_log(d, LOG_ERR, "epoll_create1: %s", strerror(-r));
		return r;
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
		return -errno;
	d->sig.fd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sig.fd < 0) {
		r = -errno;
		sgd_log(d, LOG_ERR, "signalfd: %s", strerror(-r));
		return r;
	}
	d->sig.fn = loop_on_signal;
	return watch_add(d, &d->sig, EPOLLIN);
}

int loop_run(struct sgd *d)
{
	struct epoll_event ev[64];
	int n, i;

	while (!d->quit) {
		n = epoll_wait(d->epfd, ev, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sgd_log(d, LOG_ERR, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n; i++) {
			struct sgd_watch *w = ev[i].data.ptr;

			if (d->hooks.before_event)
				d->hooks.before_event(d, w);
			w->fn(d, w, ev[i].events);
		}
		if (d->hooks.after_events)
			d->hooks.after_events(d);
	}
	return 0;
}

void loop_fini(struct sgd *d)
{
	struct sgd_watch *ws[] = { &d->sig, &d->client_timer, &d->wd_timer,
				   &d->confirm_timer, &d->inotify };
	size_t i;

	for (i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
		if (ws[i]->fd >= 0)
			close(ws[i]->fd);
		ws[i]->fd = -1;
	}
	if (d->epfd >= 0)
		close(d->epfd);
	d->epfd = -1;
}
