/*
 * droplog.c — dropped packets that are kept (log_denied: true).
 *
 * sgd binds NFLOG group 100 (the group its log rules write to) and turns
 * every message into a struct drop_entry (common/drop.c: decoded, closest
 * group of the running configuration, only printable ASCII kept), which
 *  - goes to the journal as one structured entry (SGD_EVENT=drop, ...)
 *    through sd_journal_send, or, when stderr is not the journal, to
 *    stderr as one line, like every other log line of sgd;
 *  - is kept in a ring of the last DROPLOG_KEEP entries (fixed-size
 *    entries: bounded memory whatever the traffic), which `sgctl log`
 *    reads, from --since on;
 *  - is sent to every `sgctl log --follow` attached to the stream.
 *
 * Limits, all fixed: the kernel logs at most 10 packets/s per direction
 * (burst 20); sgd itself takes at most DROPLOG_RATE messages/s (burst
 * DROPLOG_BURST) and counts the rest as suppressed, so a foreign rule
 * logging a flood to group 100 costs a bounded amount of work; at most
 * DROPLOG_MAX_READERS followers, each with at most DROPLOG_READER_BUF
 * unsent bytes (a reader that does not read loses entries, and is told
 * how many, instead of growing sgd's memory).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <systemd/sd-journal.h>

#include "drop.h"
#include "out.h"
#include "render.h"
#include "clock.h"
#include "sgd.h"

#define DROPLOG_KEEP		1000	/* entries in the ring */
#define DROPLOG_RATE		25	/* messages/s sgd takes ... */
#define DROPLOG_BURST		50	/* ... after a burst of this many */
#define DROPLOG_MAX_READERS	64
#define DROPLOG_READER_BUF	(256u << 10)
#define DROPLOG_BATCH		64	/* datagrams per wake-up, then others */

struct droplog_reader {
	struct sgd_watch w;
	struct droplog_reader *next;
	bool json;
	struct proto_buf out;
	size_t off;		/* sent bytes of out */
	unsigned long lost;	/* entries not queued: too slow */
};

struct sgd_droplog {
	struct nflog_sock *s;
	struct sgd_watch w;
	struct drop_entry *ring;	/* DROPLOG_KEEP entries */
	size_t head;			/* next slot */
	size_t n;
	uint64_t seq;
	/* token bucket, in messages scaled by 1000 */
	long long tokens;
	long long last_ms;
	unsigned long long logged, suppressed, suppressed_told;
	unsigned int bad;
	bool journal;			/* stderr is the journal's stream */
	bool open_failed_logged;
	struct droplog_reader *readers;
	size_t n_readers;
};

/* Is stderr connected to journald?  JOURNAL_STREAM is "DEV:INODE" of
 * the stream systemd gave us; it must still be our stderr (a child of
 * a service inherits the variable, not necessarily the stream). */
static bool droplog_under_journald(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static struct drop_entry *droplog_at(struct sgd_droplog *dl, size_t i)
{
	/* i = 0 is the oldest kept entry */
	return &dl->ring[(dl->head + DROPLOG_KEEP - dl->n + i) % DROPLOG_KEEP];
}

static bool droplog_take_token(struct sgd_droplog *dl)
{
	long long now = clock_now_ms();

	dl->tokens += (now - dl->last_ms) * DROPLOG_RATE;
	dl->last_ms = now;
	if (dl->tokens > DROPLOG_BURST * 1000LL)
		dl->tokens = DROPLOG_BURST * 1000LL;
	if (dl->tokens < 1000)
		return false;
	dl->tokens -= 1000;
	return true;
}

/* The journal entry of e, or a line on stderr. */
static void droplog_write(struct sgd *d, struct sgd_droplog *dl,
			  const struct drop_entry *e, const char *msg)
{
	char proto[16], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], why[96];
	char sport[16] = "", dport[16] = "", itype[16] = "", icode[16] = "";
	char rule[32] = "", ptime[32];
	int r;

	if (!dl->journal) {
		sgd_log(d, LOG_NOTICE, "%s", msg);
		return;
	}
	render_drop_proto(e, proto, sizeof(proto));
	render_drop_addrs(e, src, dst, sizeof(src));
	render_drop_reason(e, why, sizeof(why));
	if (e->decoded && e->pkt.has_ports) {
		snprintf(sport, sizeof(sport), "%u", e->pkt.sport);
		snprintf(dport, sizeof(dport), "%u", e->pkt.dport);
	}
	if (e->decoded && e->pkt.has_icmp) {
		snprintf(itype, sizeof(itype), "%u", e->pkt.icmp_type);
		snprintf(icode, sizeof(icode), "%u", e->pkt.icmp_code);
	}
	if (e->closest_found)
		snprintf(rule, sizeof(rule), "%s %d", e->closest_dir == SG_DIR_IN ?
			 "ingress" : "egress", e->rule_index);
	snprintf(ptime, sizeof(ptime), "%" PRId64, e->time_us);
	/* empty fields are sent empty: a filter on SGD_DPORT= sees which
	 * entries have none */
	r = sd_journal_send("MESSAGE=%s", msg,
			    "PRIORITY=%d", LOG_NOTICE,
			    "SYSLOG_IDENTIFIER=sgd",
			    "SGD_EVENT=drop",
			    "SGD_DIR=%s", e->dir == SG_DIR_IN ? "in" :
			    e->dir == SG_DIR_OUT ? "out" : "?",
			    "SGD_PROTO=%s", proto,
			    "SGD_SRC=%s", src,
			    "SGD_DST=%s", dst,
			    "SGD_SPORT=%s", sport,
			    "SGD_DPORT=%s", dport,
			    "SGD_ICMP_TYPE=%s", itype,
			    "SGD_ICMP_CODE=%s", icode,
			    "SGD_IFACE=%s", e->iface,
			    "SGD_GROUP=%s", e->closest_found ? e->group : "",
			    "SGD_RULE=%s", rule,
			    "SGD_REASON=%s", why,
			    "SGD_PACKET_TIME_USEC=%s", ptime,
			    NULL);
	if (r < 0)	/* the journal is gone: the line still goes out */
		sgd_log(d, LOG_NOTICE, "%s", msg);
}

static void droplog_reader_close(struct sgd *d, struct droplog_reader *r)
{
	struct sgd_droplog *dl = d->droplog;
	struct droplog_reader **pp;

	for (pp = &dl->readers; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	dl->n_readers--;
	watch_del(d, &r->w);
	close(r->w.fd);
	proto_buf_free(&r->out);
	free(r);
}

/* Send what is queued; 0, or -1 when the reader was closed. */
static int droplog_reader_flush(struct sgd *d, struct droplog_reader *r)
{
	while (r->off < r->out.len) {
		ssize_t n = send(r->w.fd, r->out.data + r->off, r->out.len - r->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			r->off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (watch_mod(d, &r->w, EPOLLIN | EPOLLOUT) < 0) {
				droplog_reader_close(d, r);
				return -1;
			}
			return 0;
		}
		droplog_reader_close(d, r);	/* gone */
		return -1;
	}
	r->out.len = r->off = 0;
	(void)watch_mod(d, &r->w, EPOLLIN);	/* fails only if gone */
	return 0;
}

/* Queue one frame for r, unless that would pass its cap. */
static bool droplog_reader_queue(struct droplog_reader *r, const char *out,
				 const char *err, bool force)
{
	struct proto_resp resp = {
		.out = (char *)out, .out_len = out ? strlen(out) : 0,
		.err = (char *)err, .err_len = err ? strlen(err) : 0,
	};
	size_t before = r->out.len;

	/* force: the kept entries, bounded by the ring's size */
	if (!force && r->out.len - r->off + resp.out_len + resp.err_len + 64 >
	    DROPLOG_READER_BUF)
		return false;
	if (proto_encode_resp(PROTO_MSG_DATA, &resp, &r->out) < 0) {
		r->out.len = before;
		return false;
	}
	return true;
}

static void droplog_reader_send(struct sgd *d, struct droplog_reader *r,
				const char *line)
{
	if (r->lost) {
		char msg[160];

		snprintf(msg, sizeof(msg), "sgd: %lu log entr%s not sent to this "
			 "reader: it read too slowly\n", r->lost,
			 r->lost == 1 ? "y" : "ies");
		if (!droplog_reader_queue(r, NULL, msg, false)) {
			r->lost++;
			return;
		}
		r->lost = 0;
	}
	if (!droplog_reader_queue(r, line, NULL, false))
		r->lost++;
	(void)droplog_reader_flush(d, r);
}

static void droplog_on_reader(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	struct droplog_reader *r = (struct droplog_reader *)w;
	char buf[256];

	if (ev & EPOLLOUT) {
		if (droplog_reader_flush(d, r) < 0)
			return;
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n = recv(r->w.fd, buf, sizeof(buf), MSG_DONTWAIT);

		/* a follower sends nothing after its request: EOF or an
		 * error means it went away; bytes are ignored */
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			droplog_reader_close(d, r);
	}
}

static int droplog_on_packet(const struct nflog_msg *m, void *data)
{
	struct sgd *d = data;
	struct sgd_droplog *dl = d->droplog;
	struct drop_entry *e;
	struct out_buf b;
	char *msg = NULL, *text = NULL, *json = NULL;

	if (!droplog_take_token(dl)) {
		dl->suppressed++;
		return 0;
	}
	if (dl->suppressed != dl->suppressed_told) {
		sgd_log(d, LOG_WARNING, "drop log: %llu message(s) not logged (sgd's limit "
			"of %d/s, burst %d)", dl->suppressed - dl->suppressed_told,
			DROPLOG_RATE, DROPLOG_BURST);
		dl->suppressed_told = dl->suppressed;
	}
	e = &dl->ring[dl->head];
	drop_entry_from_nflog(m, d->cfg, d->cfg ? &d->members : NULL, e);
	e->seq = ++dl->seq;
	dl->head = (dl->head + 1) % DROPLOG_KEEP;
	if (dl->n < DROPLOG_KEEP)
		dl->n++;
	dl->logged++;

	out_init(&b);
	render_drop_message(e, &b);
	if (out_finish(&b, &msg) == 0) {
		droplog_write(d, dl, e, msg);
		free(msg);
	}
	if (!dl->readers)
		return 0;
	/* rendered once per format, sent to every reader */
	out_init(&b);
	render_drop_text(e, &b);
	(void)out_finish(&b, &text);
	out_init(&b);
	render_drop_json(e, &b);
	(void)out_finish(&b, &json);
	for (struct droplog_reader *r = dl->readers, *next; r; r = next) {
		const char *line = r->json ? json : text;

		next = r->next;	/* r may be closed below */
		if (line)
			droplog_reader_send(d, r, line);
	}
	free(text);
	free(json);
	return 0;
}

static bool droplog_pending(struct sgd_droplog *dl)
{
	struct pollfd pfd = { .fd = dl->w.fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

static void droplog_on_nflog(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	struct sgd_droplog *dl = d->droplog;

	for (int i = 0; i < DROPLOG_BATCH && d->droplog; i++) {
		unsigned int bad = dl->bad;
		int r = nflog_receive(dl->s, 0, droplog_on_packet, d, &dl->bad);

		if (dl->bad != bad)
			sgd_log(d, LOG_WARNING, "drop log: %u malformed NFLOG message(s) "
				"skipped", dl->bad - bad);
		if (r == -ENOBUFS) {
			sgd_log(d, LOG_WARNING, "drop log: the kernel dropped NFLOG messages "
				"(sgd too slow)");
			continue;
		}
		if (r == -EINTR || r == -EBADMSG)
			continue;
		if (r < 0) {
			sgd_log(d, LOG_WARNING, "drop log: reading NFLOG: %s", strerror(-r));
			return;
		}
		/* nflog_receive returns 0 for a datagram and for nothing
		 * left; past the batch, the level-triggered fd calls again */
		if (!droplog_pending(dl))
			return;
	}
}

static int droplog_bind(struct sgd *d, struct sgd_droplog *dl)
{
	uint32_t holder;
	int r = nflog_open(&dl->s, NFLOG_SGD_GROUP, NFLOG_COPY_RANGE);

	if (r < 0) {
		if (!dl->open_failed_logged) {
			if (r == -EBUSY && nflog_group_holder(NFLOG_SGD_GROUP,
							       &holder) == 0)
				sgd_log(d, LOG_WARNING, "drop log: NFLOG group %d is held by "
					"netlink port %" PRIu32 " (another reader, "
					"e.g. ulogd or `sgctl log` reading the kernel "
					"directly); dropped packets are not kept; "
					"tried again at the next reload",
					NFLOG_SGD_GROUP, holder);
			else
				sgd_log(d, LOG_WARNING, "drop log: cannot read NFLOG group %d: "
					"%s; dropped packets are not kept; tried "
					"again at the next reload", NFLOG_SGD_GROUP,
					strerror(-r));
		}
		dl->open_failed_logged = true;
		return r;
	}
	dl->open_failed_logged = false;
	dl->w.fd = nflog_fd(dl->s);
	dl->w.fn = droplog_on_nflog;
	r = watch_add(d, &dl->w, EPOLLIN);
	if (r < 0) {
		nflog_close(dl->s);
		dl->s = NULL;
		return r;
	}
	sgd_log(d, LOG_INFO, "drop log: reading NFLOG group %d (last %d kept, %s)",
		NFLOG_SGD_GROUP, DROPLOG_KEEP, dl->journal ? "to the journal" :
		"to stderr");
	return 0;
}

/* The ring and the rest, once: 0 or -ENOMEM. */
static int droplog_alloc(struct sgd *d)
{
	struct sgd_droplog *dl;

	if (d->droplog)
		return 0;
	dl = calloc(1, sizeof(*dl));
	if (dl)
		dl->ring = calloc(DROPLOG_KEEP, sizeof(*dl->ring));
	if (!dl || !dl->ring) {
		free(dl);
		sgd_log(d, LOG_WARNING, "drop log: out of memory");
		return -ENOMEM;
	}
	dl->w.fd = -1;
	dl->journal = droplog_under_journald();
	dl->tokens = DROPLOG_BURST * 1000LL;
	dl->last_ms = clock_now_ms();
	d->droplog = dl;
	return 0;
}

void droplog_update(struct sgd *d)
{
	struct sgd_droplog *dl;
	bool want = d->cfg && d->cfg->log_denied && !d->disabled;

	if (!d->droplog && (!want || droplog_alloc(d) < 0))
		return;
	dl = d->droplog;
	if (want && !dl->s)
		(void)droplog_bind(d, dl);	/* logged inside */
	if (!want && dl->s) {
		/* the kept entries and the followers stay: there is just
		 * nothing new */
		watch_del(d, &dl->w);
		nflog_close(dl->s);
		dl->s = NULL;
		dl->w.fd = -1;
		sgd_log(d, LOG_INFO, "drop log: log_denied is off, NFLOG group %d released",
			NFLOG_SGD_GROUP);
	}
}

void droplog_close(struct sgd *d)
{
	struct sgd_droplog *dl = d->droplog;

	if (!dl)
		return;
	while (dl->readers) {
		struct droplog_reader *r = dl->readers;
		struct proto_resp end = { .exit_code = 0,
			.err = (char *)"sgd: stopping; the log stream ends\n" };

		end.err_len = strlen(end.err);
		/* best effort: a full socket just misses the goodbye */
		if (proto_encode_resp(PROTO_MSG_END, &end, &r->out) == 0)
			(void)droplog_reader_flush(d, r);
		if (d->droplog->readers == r)
			droplog_reader_close(d, r);
	}
	if (dl->s) {
		watch_del(d, &dl->w);
		nflog_close(dl->s);
	}
	if (dl->suppressed != dl->suppressed_told)
		sgd_log(d, LOG_WARNING, "drop log: %llu message(s) not logged (sgd's limit)",
			dl->suppressed - dl->suppressed_told);
	free(dl->ring);
	free(dl);
	d->droplog = NULL;
}

void droplog_status(const struct sgd *d, struct sg_status *st)
{
	const struct sgd_droplog *dl = d->droplog;

	st->droplog_reading = dl && dl->s;
	st->droplog_kept = dl ? dl->n : 0;
	st->droplog_logged = dl ? dl->logged : 0;
	st->droplog_suppressed = dl ? dl->suppressed : 0;
}

void droplog_counts(const struct sgd *d, unsigned long long *logged,
		    unsigned long long *suppressed)
{
	*logged = d->droplog ? d->droplog->logged : 0;
	*suppressed = d->droplog ? d->droplog->suppressed : 0;
}

/* "log" arguments: --since US, --follow.  *has_since (may be NULL) says
 * whether --since was given. */
static int droplog_parse(const struct proto_req *req, int64_t *since, bool *follow,
			 bool *has_since)
{
	*since = 0;
	*follow = false;
	if (has_since)
		*has_since = false;
	for (size_t i = 0; i < req->argc; i++) {
		char *end;

		if (!strcmp(req->argv[i], "--follow")) {
			*follow = true;
		} else if (!strcmp(req->argv[i], "--since") && i + 1 < req->argc) {
			errno = 0;
			*since = strtoll(req->argv[++i], &end, 10);
			if (errno || *end)
				return -EINVAL;
			if (has_since)
				*has_since = true;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

bool droplog_wants_stream(const struct proto_req *req)
{
	int64_t since;
	bool follow;

	return strcmp(req->cmd, "log") == 0 &&
	       droplog_parse(req, &since, &follow, NULL) == 0 && follow;
}

/* The kept entries from since on, in one format. */
static int droplog_backlog(struct sgd *d, int64_t since, bool json, char **out)
{
	struct sgd_droplog *dl = d->droplog;
	struct out_buf b;

	out_init(&b);
	for (size_t i = 0; dl && i < dl->n; i++) {
		const struct drop_entry *e = droplog_at(dl, i);

		if (e->time_us < since)
			continue;
		if (json)
			render_drop_json(e, &b);
		else
			render_drop_text(e, &b);
	}
	return out_finish(&b, out);
}

/* A warning for the reader when nothing will come. */
static const char *droplog_warning(struct sgd *d)
{
	if (d->disabled)
		return "sgctl log: warning: sgd is disabled: no rules, no drops "
		       "to log\n";
	if (!d->cfg || !d->cfg->log_denied)
		return "sgctl log: warning: log_denied is not true in sgd.yaml: "
		       "sgd logs no dropped packets\n";
	if (!d->droplog || !d->droplog->s)
		return "sgctl log: warning: sgd cannot read NFLOG group 100 "
		       "(see its log): new drops are not kept\n";
	return NULL;
}

void droplog_request(struct sgd *d, const struct sgd_client *c,
		     const struct proto_req *req, struct proto_resp *r)
{
	bool json = req->flags & PROTO_F_JSON;
	const char *warn = droplog_warning(d);
	int64_t since;
	bool follow;
	char *text = NULL;
	int rc;

	if (droplog_parse(req, &since, &follow, NULL) < 0) {
		reply_fail(r, json, 2, "usage: log [--since UNIX_USEC] [--follow]");
		return;
	}
	rc = droplog_backlog(d, since, json, &text);
	if (rc < 0) {
		reply_fail(r, json, 1, "log: %s", strerror(-rc));
		return;
	}
	r->exit_code = 0;
	r->out = text;
	r->out_len = strlen(text);
	if (warn) {
		r->err = strdup(warn);
		r->err_len = r->err ? strlen(r->err) : 0;
	}
}

void droplog_follow(struct sgd *d, int fd, uid_t uid, const struct proto_req *req)
{
	struct sgd_droplog *dl = d->droplog;
	bool json = req->flags & PROTO_F_JSON;
	struct proto_resp first = { 0 };
	struct droplog_reader *r;
	int64_t since;
	bool follow, has_since;

	if (!dl) {
		/* no drop log yet (log_denied off): the ring is empty, but
		 * followers wait for a reload that turns it on */
		if (droplog_alloc(d) < 0) {
			close(fd);
			return;
		}
		dl = d->droplog;
	}
	r = calloc(1, sizeof(*r));
	if (!r || dl->n_readers >= DROPLOG_MAX_READERS) {
		struct proto_resp busy = { .exit_code = 1 };
		struct proto_buf b = { 0 };

		busy.err = (char *)"sgd: too many `sgctl log --follow` readers "
			"(at most 64)\n";
		busy.err_len = strlen(busy.err);
		if (proto_encode_resp(PROTO_MSG_REPLY, &busy, &b) == 0)
			(void)send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		proto_buf_free(&b);
		free(r);
		close(fd);
		return;
	}
	r->w.fd = fd;
	r->w.fn = droplog_on_reader;
	r->json = json;
	if (watch_add(d, &r->w, EPOLLIN) < 0) {
		free(r);
		close(fd);
		return;
	}
	r->next = dl->readers;
	dl->readers = r;
	dl->n_readers++;
	sgd_debug(d, "drop log: follower attached (uid %ld), %zu now", (long)uid,
		  dl->n_readers);
	/* with --since, the kept entries from then first, in one frame;
	 * without, only new ones (and a warning when none will come) */
	(void)droplog_parse(req, &since, &follow, &has_since);
	if (has_since) {
		droplog_request(d, NULL, req, &first);
	} else if (droplog_warning(d)) {
		first.err = strdup(droplog_warning(d));
		first.err_len = first.err ? strlen(first.err) : 0;
	}
	if (first.out_len || first.err_len) {
		if (!droplog_reader_queue(r, first.out_len ? first.out : NULL,
					  first.err_len ? first.err : NULL, true))
			r->lost++;
	}
	proto_resp_free(&first);
	(void)droplog_reader_flush(d, r);
}
