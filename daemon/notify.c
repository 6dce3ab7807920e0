/*
 * notify.c — the systemd notification protocol, spoken directly: one
 * datagram of "KEY=VALUE\n" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or an abstract address written "@name").
 * WATCHDOG=1 is sent every WATCHDOG_USEC/2 from a timerfd, when
 * $WATCHDOG_USEC is set for this process ($WATCHDOG_PID, if set, must be
 * our pid).  Without $NOTIFY_SOCKET every call is a no-op.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "sgd.h"

static void notify_on_watchdog(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	uint64_t ticks;
	ssize_t n = read(w->fd, &ticks, sizeof(ticks));

	(void)n;	/* only the wake-up matters */
	notify_send(d, "WATCHDOG=1");
}

static int notify_watchdog_init(struct sgd *d)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *wpid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;
	int r;

	if (!usec)
		return 0;
	if (wpid && strtol(wpid, NULL, 10) != (long)getpid())
		return 0;	/* meant for another process */
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || v == 0) {
		sgd_log(d, "ignoring WATCHDOG_USEC='%s': not a positive number",
			usec);
		return 0;
	}
	d->watchdog_usec = v;
	d->wd_timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->wd_timer.fd < 0)
		return -errno;
	d->wd_timer.fn = notify_on_watchdog;
	/* Half the interval, in ms, at least 1. */
	r = loop_timer_set_ms(d->wd_timer.fd, v >= 2000 ? (long long)(v / 2000) : 1,
			      true);
	return r;
}

int notify_init(struct sgd *d)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    len >= sizeof(d->notify_addr.sun_path)) {
		sgd_log(d, "ignoring NOTIFY_SOCKET='%s': not a socket path or "
			"@abstract name", path);
		return 0;
	}
	memset(&d->notify_addr, 0, sizeof(d->notify_addr));
	d->notify_addr.sun_family = AF_UNIX;
	memcpy(d->notify_addr.sun_path, path, len);
	if (path[0] == '@')
		d->notify_addr.sun_path[0] = 0;	/* abstract namespace */
	d->notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
				    (path[0] == '@' ? 0 : 1));
	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d->notify_fd < 0)
		return -errno;
	return notify_watchdog_init(d);
}

int notify_send(struct sgd *d, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int n;

	if (d->notify_fd < 0)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (sendto(d->notify_fd, msg, (size_t)n, MSG_NOSIGNAL,
		   (struct sockaddr *)&d->notify_addr, d->notify_len) < 0) {
		int r = -errno;

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
	return loop_add(d, &d->wd_timer, EPOLLIN);
}

void notify_fini(struct sgd *d)
{
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	d->notify_fd = -1;
}
