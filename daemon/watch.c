/*
 * watch.c — what the event loop watches: file descriptors in the epoll
 * set (struct sgd_watch: an fd and its handler) and timerfds.  Below
 * every module that registers a handler, so that registering one never
 * names the loop that runs it (loop.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include "sgd.h"

int watch_timer_set_ms(int tfd, long long ms, bool periodic)
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

int watch_add(struct sgd *d, struct sgd_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

int watch_mod(struct sgd *d, struct sgd_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

void watch_del(struct sgd *d, struct sgd_watch *w)
{
	/* Failure only means it was not registered. */
	(void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}
