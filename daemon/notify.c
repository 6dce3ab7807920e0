/*
 * notify.c — telling systemd how sgd is doing (Type=notify), through
 * libsystemd's sd_notify(): READY=1 once the rules are committed,
 * RELOADING=1 / STATUS= / STOPPING=1, and WATCHDOG=1 every half
 * WatchdogSec from a timerfd in the main loop, so a daemon stuck
 * anywhere stops pinging.  Without $NOTIFY_SOCKET every call is a no-op.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "sgd.h"

static void notify_on_watchdog(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	uint64_t ticks;
	ssize_t n = read(w->fd, &ticks, sizeof(ticks));

	(void)n;	/* only the wake-up matters */
	notify_send(d, "WATCHDOG=1");
}

int notify_init(struct sgd *d)
{
	uint64_t usec = 0;
	int r;

	/* > 0 only when $WATCHDOG_USEC is set for this very process
	 * ($WATCHDOG_PID, if set, is our pid). */
	r = sd_watchdog_enabled(0, &usec);
	if (r < 0)
		sgd_log(d, LOG_WARNING, "ignoring the watchdog settings in the "
			"environment: %s", strerror(-r));
	if (r <= 0 || usec == 0)
		return 0;
	d->watchdog_usec = usec;
	d->wd_timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->wd_timer.fd < 0)
		return -errno;
	d->wd_timer.fn = notify_on_watchdog;
	/* Half the interval, in ms, at least 1. */
	return watch_timer_set_ms(d->wd_timer.fd,
				 usec >= 2000 ? (long long)(usec / 2000) : 1, true);
}

int notify_send(struct sgd *d, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = sd_notify(0, msg);
	if (r < 0) {
		sgd_debug(d, "sd_notify: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* The watchdog timer joins the loop once it exists (after loop_init). */
int notify_loop_add(struct sgd *d)
{
	if (d->wd_timer.fd < 0)
		return 0;
	return watch_add(d, &d->wd_timer, EPOLLIN);
}
