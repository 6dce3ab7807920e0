/*
 * loop.c — the one event loop: epoll over the signalfd, the control
 * socket, its clients and the timerfds.  epoll_wait() blocks without a
 * timeout: every wake-up is an event, so an idle sgd uses no CPU.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "membatch.h"
#include "sgd.h"

int loop_timer_set_ms(int tfd, long long ms, bool periodic)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (ms > 0) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000;
		if (periodic)
			its.it_interval = its.it_value;
	}
	if (timerfd_settime(tfd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

int loop_add(struct sgd *d, struct sgd_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_mod(struct sgd *d, struct sgd_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

void loop_del(struct sgd *d, struct sgd_watch *w)
{
	/* Failure only means it was not registered. */
	(void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

static void loop_on_signal(struct sgd *d, struct sgd_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;
	struct sg_diags dg;

	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			sgd_log_event(d, LOG_INFO, SGD_EV_RELOAD, NULL,
				"SIGHUP: reloading %s", d->opt.confdir);
			diags_init(&dg);
			/* reload_run logs and records the result itself. */
			(void)reload_run(d, false, NULL, &dg);
			diags_free(&dg);
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
	return loop_add(d, &d->sig, EPOLLIN);
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

			/* membership changes of clients coalesce; anything
			 * else sees them committed first */
			membership_barrier(d, w);
			w->fn(d, w, ev[i].events);
		}
		/* one transaction and one journal sync for this iteration's
		 * membership changes, then their clients are answered */
		membership_flush(d);
		control_reap(d);
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
