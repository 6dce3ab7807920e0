/*
 * log.c — sgd's log: every line carries a syslog priority, and the lines
 * an operator filters on carry journal fields (SGD_EVENT=, SGD_GROUP=,
 * SGD_RULE=; docs/logging.md, "sgd's own log").
 *
 * A line is one stderr line "<N>sgd: message": journald and syslog
 * daemons read the "<N>" as the priority, and the text stays readable
 * (under journald, whose stream already names sgd, "<N>message").
 * Under journald (stderr is the stream $JOURNAL_STREAM names, as systemd
 * sets it up for the unit) a line with an event is instead one native
 * journal entry with its fields, sent with libsystemd's
 * sd_journal_sendv().  Not at priority err: sgd exits right after those,
 * and journald attributes a datagram whose sender is gone to no unit
 * (`journalctl -u sgd` would miss it), while the stream is the unit's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* The journal's CODE_FILE= would always name this file: leave it out. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "out.h"
#include "sgd.h"

/* Fields of one entry: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, SGD_EVENT
 * and what the caller adds. */
#define LOG_MAX_FIELDS 16
#define LOG_LINE_MAX 4096
#define LOG_FIELD_MAX 512	/* any field but MESSAGE, with its name */

/* Is stderr connected to journald?  $JOURNAL_STREAM is "DEV:INODE" of
 * the stream systemd gave us; it is inherited by children whose stderr
 * may be elsewhere, hence the comparison with fstat(2).  Decided once. */
bool sgd_log_to_journal(void)
{
	static int cached = -1;
	const char *e;
	unsigned long long dev, ino;
	struct stat st;

	if (cached >= 0)
		return cached;
	cached = 0;
	e = getenv("JOURNAL_STREAM");
	if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino)
		cached = 1;
	return cached;
}

static void log_field_set(struct iovec *iov, char *buf, size_t len,
			  const char *name, const char *value)
{
	int n = snprintf(buf, len, "%s=%s", name, value);

	iov->iov_base = buf;
	iov->iov_len = n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

static void log_stderr(int prio, const char *msg)
{
	if (sgd_log_to_journal())
		fprintf(stderr, "<%d>%s\n", prio, msg);
	else
		fprintf(stderr, "<%d>sgd: %s\n", prio, msg);
}

/* One entry: prio, an optional SGD_EVENT, n extra fields, the message. */
static void log_send(int prio, const char *event, const struct sgd_log_field *f,
		     size_t n, const char *msg)
{
	struct iovec iov[LOG_MAX_FIELDS];
	char mbuf[LOG_LINE_MAX + 16];
	char bufs[LOG_MAX_FIELDS][LOG_FIELD_MAX];
	char pr[4];
	size_t i, k = 0;

	if (!event || prio <= LOG_ERR || !sgd_log_to_journal()) {
		log_stderr(prio, msg);
		return;
	}
	snprintf(pr, sizeof(pr), "%d", prio & 7);
	log_field_set(&iov[k], mbuf, sizeof(mbuf), "MESSAGE", msg);
	k++;
	log_field_set(&iov[k], bufs[k], sizeof(bufs[k]), "PRIORITY", pr);
	k++;
	log_field_set(&iov[k], bufs[k], sizeof(bufs[k]), "SYSLOG_IDENTIFIER", "sgd");
	k++;
	if (event) {
		log_field_set(&iov[k], bufs[k], sizeof(bufs[k]), "SGD_EVENT", event);
		k++;
	}
	for (i = 0; i < n && k < LOG_MAX_FIELDS; i++) {
		if (!f[i].value)
			continue;
		log_field_set(&iov[k], bufs[k], sizeof(bufs[k]), f[i].name,
			      f[i].value);
		k++;
	}
	/* The journal is gone (stopped, restarting): the line still goes
	 * to the stream, which journald reads again once it is back. */
	if (sd_journal_sendv(iov, (int)k) < 0)
		log_stderr(prio, msg);
}

static void log_v(int prio, const char *event, const struct sgd_log_field *f,
		  size_t n, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static void log_v(int prio, const char *event, const struct sgd_log_field *f,
		  size_t n, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	char *safe;

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One message is one line: a control character from a client's
	 * request, a file or a process name is written as \xNN, never raw
	 * (no forged "sgd: ..." line, no terminal escape in the journal). */
	safe = out_esc_dup(line);
	log_send(prio, event, f, n, safe ? safe : line);
	free(safe);
}

void sgd_log(struct sgd *d, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, NULL, NULL, 0, fmt, ap);
	va_end(ap);
}

void sgd_debug(struct sgd *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->opt.verbose)
		return;
	va_start(ap, fmt);
	log_v(LOG_DEBUG, NULL, NULL, 0, fmt, ap);
	va_end(ap);
}

void sgd_log_event(struct sgd *d, int prio, const char *event,
		   const char *group, const char *fmt, ...)
{
	struct sgd_log_field f = { "SGD_GROUP", group };
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, event, &f, 1, fmt, ap);
	va_end(ap);
}

void sgd_log_fields(struct sgd *d, int prio, const char *event,
		    const struct sgd_log_field *f, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, event, f, n, fmt, ap);
	va_end(ap);
}

void sgd_log_diags(struct sgd *d, int prio, const char *event, const char *what,
		   const struct sg_diags *dg)
{
	size_t i;

	for (i = 0; i < dg->n; i++) {
		char *s = diag_format(&dg->v[i]);

		sgd_log_event(d, prio, event, NULL, "%s: %s", what,
			      s ? s : dg->v[i].msg);
		free(s);
	}
}
