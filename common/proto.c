/*
 * proto.c — the control protocol codec (see proto.h for the wire format)
 * and the blocking client used by sgctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "proto.h"

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

void proto_buf_free(struct proto_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int buf_reserve(struct proto_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *n;

	if (extra > SIZE_MAX - b->len)
		return -ENOMEM;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	n = realloc(b->data, cap);
	if (!n)
		return -ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

/* Attributes are appended after a placeholder header whose length is
 * filled in by frame_finish(); frame_start() remembers where it began so
 * a failed encode can be undone. */
static int frame_start(struct proto_buf *b, enum proto_msg type)
{
	int r = buf_reserve(b, PROTO_HDR_LEN);

	if (r < 0)
		return r;
	put_u32(b->data + b->len, PROTO_MAGIC);
	put_u16(b->data + b->len + 4, PROTO_VERSION);
	put_u16(b->data + b->len + 6, (uint16_t)type);
	put_u32(b->data + b->len + 8, 0);
	b->len += PROTO_HDR_LEN;
	return 0;
}

static int frame_finish(struct proto_buf *b, size_t start, size_t cap)
{
	size_t payload = b->len - start - PROTO_HDR_LEN;

	if (payload > cap)
		return -EMSGSIZE;
	put_u32(b->data + start + 8, (uint32_t)payload);
	return 0;
}

static int attr_put(struct proto_buf *b, uint16_t type, const void *v, size_t n)
{
	int r;

	if (n > UINT32_MAX - PROTO_ATTR_HDR_LEN)
		return -EMSGSIZE;
	r = buf_reserve(b, PROTO_ATTR_HDR_LEN + n);
	if (r < 0)
		return r;
	put_u16(b->data + b->len, type);
	put_u16(b->data + b->len + 2, 0);
	put_u32(b->data + b->len + 4, (uint32_t)n);
	if (n)
		memcpy(b->data + b->len + PROTO_ATTR_HDR_LEN, v, n);
	b->len += PROTO_ATTR_HDR_LEN + n;
	return 0;
}

static int attr_put_u32(struct proto_buf *b, uint16_t type, uint32_t v)
{
	uint8_t raw[4];

	put_u32(raw, v);
	return attr_put(b, type, raw, sizeof(raw));
}

static int attr_put_str(struct proto_buf *b, uint16_t type, const char *s)
{
	return attr_put(b, type, s, strlen(s));
}

int proto_encode_req(const struct proto_req *r, struct proto_buf *out)
{
	size_t start = out->len, i;
	int rc;

	if (!r->cmd || !*r->cmd || r->argc > PROTO_MAX_ARGS)
		return -EINVAL;
	rc = frame_start(out, PROTO_MSG_REQUEST);
	if (rc < 0)
		goto fail;
	rc = attr_put_str(out, PROTO_A_CMD, r->cmd);
	for (i = 0; rc == 0 && i < r->argc; i++)
		rc = attr_put_str(out, PROTO_A_ARG, r->argv[i] ? r->argv[i] : "");
	if (rc == 0 && r->flags)
		rc = attr_put_u32(out, PROTO_A_FLAGS, r->flags);
	if (rc == 0 && r->confirm_secs)
		rc = attr_put_u32(out, PROTO_A_CONFIRM, r->confirm_secs);
	if (rc == 0 && r->ssh_connection)
		rc = attr_put_str(out, PROTO_A_SSH, r->ssh_connection);
	if (rc == 0)
		rc = frame_finish(out, start, PROTO_MAX_REQUEST);
	if (rc == 0)
		return 0;
fail:
	out->len = start;
	return rc;
}

int proto_encode_resp(enum proto_msg type, const struct proto_resp *r,
		      struct proto_buf *out)
{
	size_t start = out->len;
	int rc;

	if (type != PROTO_MSG_REPLY && type != PROTO_MSG_DATA &&
	    type != PROTO_MSG_END)
		return -EINVAL;
	if (r->exit_code < 0)
		return -EINVAL;
	rc = frame_start(out, type);
	if (rc < 0)
		goto fail;
	if (type != PROTO_MSG_DATA)
		rc = attr_put_u32(out, PROTO_A_EXIT, (uint32_t)r->exit_code);
	if (rc == 0 && r->out && r->out_len)
		rc = attr_put(out, PROTO_A_STDOUT, r->out, r->out_len);
	if (rc == 0 && r->err && r->err_len)
		rc = attr_put(out, PROTO_A_STDERR, r->err, r->err_len);
	if (rc == 0)
		rc = frame_finish(out, start, PROTO_MAX_REPLY);
	if (rc == 0)
		return 0;
fail:
	out->len = start;
	return rc;
}

int proto_frame_parse(const uint8_t *buf, size_t len, size_t max_payload,
		      struct proto_frame *f, size_t *consumed)
{
	uint32_t plen;

	if (len < PROTO_HDR_LEN) {
		/* Refuse garbage early: a partial magic that cannot match. */
		uint8_t magic[4];

		put_u32(magic, PROTO_MAGIC);
		if (memcmp(buf, magic, len < 4 ? len : 4) != 0)
			return -EBADMSG;
		return 0;
	}
	if (get_u32(buf) != PROTO_MAGIC)
		return -EBADMSG;
	f->version = get_u16(buf + 4);
	f->type = get_u16(buf + 6);
	if (f->version != PROTO_VERSION)
		return -EPROTONOSUPPORT;
	plen = get_u32(buf + 8);
	if (plen > max_payload)
		return -EMSGSIZE;
	if (len - PROTO_HDR_LEN < plen)
		return 0;
	f->payload = buf + PROTO_HDR_LEN;
	f->len = plen;
	*consumed = PROTO_HDR_LEN + (size_t)plen;
	return 1;
}

/* Walk attributes: returns 1 and the next attribute, 0 at the end,
 * -EBADMSG when an attribute is truncated. */
static int attr_next(const struct proto_frame *f, size_t *off, uint16_t *type,
		     const uint8_t **val, uint32_t *vlen)
{
	size_t rest;

	if (*off == f->len)
		return 0;
	rest = f->len - *off;
	if (rest < PROTO_ATTR_HDR_LEN)
		return -EBADMSG;
	*type = get_u16(f->payload + *off);
	*vlen = get_u32(f->payload + *off + 4);
	if (rest - PROTO_ATTR_HDR_LEN < *vlen)
		return -EBADMSG;
	*val = f->payload + *off + PROTO_ATTR_HDR_LEN;
	*off += PROTO_ATTR_HDR_LEN + *vlen;
	return 1;
}

static int attr_get_u32(const uint8_t *val, uint32_t vlen, uint32_t *out)
{
	if (vlen != 4)
		return -EBADMSG;
	*out = get_u32(val);
	return 0;
}

void proto_req_free(struct proto_req *r)
{
	if (r->owned_) {
		free(r->owned_);
		free(r->argv);
	}
	memset(r, 0, sizeof(*r));
}

/* The decoded strings live in one block: a copy of the payload where each
 * string value is followed by a NUL (so at most payload + n_attrs bytes). */
int proto_req_decode(const struct proto_frame *f, struct proto_req *out)
{
	size_t off = 0, nattr = 0, nargs = 0, pos = 0;
	const uint8_t *val;
	uint32_t vlen;
	uint16_t type;
	char *store;
	int r;

	memset(out, 0, sizeof(*out));
	if (f->type != PROTO_MSG_REQUEST)
		return -EBADMSG;
	while ((r = attr_next(f, &off, &type, &val, &vlen)) > 0) {
		nattr++;
		if (type == PROTO_A_ARG)
			nargs++;
	}
	if (r < 0)
		return r;
	if (nargs > PROTO_MAX_ARGS)
		return -E2BIG;
	store = malloc((size_t)f->len + nattr + 1);
	if (!store)
		return -ENOMEM;
	out->argv = calloc(nargs + 1, sizeof(*out->argv));
	if (!out->argv) {
		free(store);
		return -ENOMEM;
	}
	out->owned_ = store;
	off = 0;
	while ((r = attr_next(f, &off, &type, &val, &vlen)) > 0) {
		const char **slot = NULL;

		switch (type) {
		case PROTO_A_CMD:
			slot = &out->cmd;
			break;
		case PROTO_A_ARG:
			slot = &out->argv[out->argc++];
			break;
		case PROTO_A_SSH:
			slot = &out->ssh_connection;
			break;
		case PROTO_A_FLAGS:
			r = attr_get_u32(val, vlen, &out->flags);
			break;
		case PROTO_A_CONFIRM:
			r = attr_get_u32(val, vlen, &out->confirm_secs);
			break;
		default:
			/* Unknown attributes are skipped: newer clients may
			 * add optional ones without a version bump. */
			break;
		}
		if (r < 0)
			break;
		if (slot) {
			if (memchr(val, 0, vlen)) {
				r = -EBADMSG;
				break;
			}
			memcpy(store + pos, val, vlen);
			store[pos + vlen] = 0;
			*slot = store + pos;
			pos += (size_t)vlen + 1;
		}
	}
	if (r == 0 && (!out->cmd || !*out->cmd))
		r = -EBADMSG;
	if (r < 0) {
		proto_req_free(out);
		return r;
	}
	return 0;
}

void proto_resp_free(struct proto_resp *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static int text_append(char **s, size_t *len, const uint8_t *v, size_t n)
{
	char *p;

	if (n == 0)
		return 0;
	p = realloc(*s, *len + n + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + *len, v, n);
	*len += n;
	p[*len] = 0;
	*s = p;
	return 0;
}

/* Appends to out (so a stream's chunks accumulate); the caller starts
 * from a zeroed struct. */
static int resp_decode_into(const struct proto_frame *f, struct proto_resp *out)
{
	size_t off = 0;
	const uint8_t *val;
	uint32_t vlen, code;
	uint16_t type;
	bool have_exit = false;
	int r;

	if (f->type != PROTO_MSG_REPLY && f->type != PROTO_MSG_DATA &&
	    f->type != PROTO_MSG_END)
		return -EBADMSG;
	while ((r = attr_next(f, &off, &type, &val, &vlen)) > 0) {
		switch (type) {
		case PROTO_A_EXIT:
			r = attr_get_u32(val, vlen, &code);
			if (r == 0 && code > 255)
				r = -EBADMSG;
			if (r == 0) {
				out->exit_code = (int)code;
				have_exit = true;
			}
			break;
		case PROTO_A_STDOUT:
			r = text_append(&out->out, &out->out_len, val, vlen);
			break;
		case PROTO_A_STDERR:
			r = text_append(&out->err, &out->err_len, val, vlen);
			break;
		default:
			break;
		}
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	if (f->type != PROTO_MSG_DATA && !have_exit)
		return -EBADMSG;
	return 0;
}

int proto_resp_decode(const struct proto_frame *f, struct proto_resp *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	r = resp_decode_into(f, out);
	if (r < 0)
		proto_resp_free(out);
	return r;
}

void proto_decoder_init(struct proto_decoder *d, size_t max_payload)
{
	memset(d, 0, sizeof(*d));
	d->max_payload = max_payload;
}

void proto_decoder_free(struct proto_decoder *d)
{
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

int proto_decoder_feed(struct proto_decoder *d, const void *data, size_t n)
{
	size_t live = d->len - d->off, cap;
	uint8_t *nb;

	if (live + n > d->max_payload + PROTO_HDR_LEN) {
		/* More than one maximal frame buffered: a well-behaved peer
		 * never pipelines, so this can only be abuse. */
		return -EMSGSIZE;
	}
	if (d->off) {
		memmove(d->buf, d->buf + d->off, live);
		d->len = live;
		d->off = 0;
	}
	if (d->len + n > d->cap) {
		cap = d->cap ? d->cap : 4096;
		while (cap < d->len + n)
			cap *= 2;
		nb = realloc(d->buf, cap);
		if (!nb)
			return -ENOMEM;
		d->buf = nb;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, data, n);
	d->len += n;
	return 0;
}

int proto_decoder_next(struct proto_decoder *d, struct proto_frame *f)
{
	size_t used = 0;
	int r;

	if (d->len == d->off)
		return 0;
	r = proto_frame_parse(d->buf + d->off, d->len - d->off, d->max_payload,
			      f, &used);
	if (r == 1)
		d->off += used;
	return r;
}

const char *proto_strerror(int err, unsigned version, char *buf, size_t len)
{
	switch (err) {
	case -EBADMSG:
		snprintf(buf, len, "malformed control message (not the sgd "
			 "protocol, or truncated)");
		break;
	case -EPROTONOSUPPORT:
		if (version)
			snprintf(buf, len, "control protocol version %u is not "
				 "supported (this side speaks version %d); use "
				 "sgctl and sgd from the same release",
				 version, PROTO_VERSION);
		else
			snprintf(buf, len, "unsupported control protocol "
				 "version (this side speaks version %d)",
				 PROTO_VERSION);
		break;
	case -EMSGSIZE:
		snprintf(buf, len, "control message too large");
		break;
	case -E2BIG:
		snprintf(buf, len, "too many arguments (at most %d)",
			 PROTO_MAX_ARGS);
		break;
	default:
		snprintf(buf, len, "%s", strerror(-err));
		break;
	}
	return buf;
}

/* --- blocking client --------------------------------------------------- */

/* Wait for fd to be ready for events before the deadline (-1: none).
 * 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r, t;

	for (;;) {
		if (deadline < 0) {
			t = -1;
		} else {
			long long left = deadline - clock_now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			t = left > 1000000 ? 1000000 : (int)left;
		}
		r = poll(&p, 1, t);
		if (r > 0)
			return 0;
		if (r == 0 && deadline >= 0)
			continue;	/* re-check the deadline */
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* A blocking connect bounded by SO_SNDTIMEO: on AF_UNIX a non-blocking
 * connect to a full listen backlog fails with EAGAIN at once (there is no
 * "in progress" to wait for), while a blocking one waits for room. */
static int client_connect(const char *path, long long deadline, int *fdout)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 0 };
	int fd, r, fl;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (deadline >= 0) {
		long long left = deadline - clock_now_ms();

		if (left <= 0)
			left = 1;
		tv.tv_sec = (time_t)(left / 1000);
		tv.tv_usec = (suseconds_t)((left % 1000) * 1000);
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
			goto fail;
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR && (deadline < 0 || clock_now_ms() < deadline))
			continue;
		if (errno == EAGAIN || errno == EINPROGRESS || errno == EINTR)
			errno = ETIMEDOUT;
		goto fail;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto fail;
	*fdout = fd;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

static int client_send_all(int fd, const uint8_t *p, size_t n, long long deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLOUT, deadline);

			if (r < 0)
				return r;
			continue;
		}
		return w < 0 ? -errno : -EPIPE;
	}
	return 0;
}

static void set_msg(char *errmsg, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_msg(char *errmsg, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errmsg || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(errmsg, errlen, fmt, ap);
	va_end(ap);
}

int proto_client_call_ex(const char *sock, const struct proto_req *req,
			 struct proto_resp *resp, int timeout_ms,
			 proto_data_cb on_data, void *ctx,
			 enum proto_stage *stage, char *errmsg, size_t errlen)
{
	long long deadline = timeout_ms > 0 ? clock_now_ms() + timeout_ms : -1;
	struct proto_buf out = { 0 };
	struct proto_decoder dec;
	struct proto_frame f;
	enum proto_stage st = PROTO_STAGE_CONNECT;
	char why[160];
	uint8_t chunk[65536];
	int fd = -1, r;

	memset(resp, 0, sizeof(*resp));
	proto_decoder_init(&dec, PROTO_MAX_REPLY);
	r = proto_encode_req(req, &out);
	if (r < 0) {
		st = PROTO_STAGE_NONE;
		set_msg(errmsg, errlen, "cannot encode the request for %s: %s%s",
			sock, proto_strerror(r, 0, why, sizeof(why)), "");
		goto done;
	}
	r = client_connect(sock, deadline, &fd);
	if (r < 0) {
		const char *hint = "";

		if (r == -ENOENT || r == -ECONNREFUSED)
			hint = " (is sgd running?)";
		else if (r == -EACCES || r == -EPERM)
			hint = " (not allowed to open the control socket)";
		set_msg(errmsg, errlen, "cannot connect to %s: %s%s", sock,
			strerror(-r), hint);
		goto done;
	}
	st = PROTO_STAGE_EXCHANGE;
	r = client_send_all(fd, out.data, out.len, deadline);
	if (r < 0) {
		set_msg(errmsg, errlen, "sending to %s: %s%s", sock,
			strerror(-r), "");
		goto done;
	}
	for (;;) {
		ssize_t n;

		r = proto_decoder_next(&dec, &f);
		if (r < 0) {
			st = PROTO_STAGE_DECODE;
			set_msg(errmsg, errlen, "reply from %s: %s%s", sock,
				proto_strerror(r, r == -EPROTONOSUPPORT ?
					       get_u16(dec.buf + dec.off + 4) : 0,
					       why, sizeof(why)), "");
			goto done;
		}
		if (r == 1) {
			struct proto_resp part = { 0 };

			if (f.type == PROTO_MSG_DATA && on_data) {
				r = resp_decode_into(&f, &part);
				if (r == 0)
					r = on_data(&part, ctx);
				proto_resp_free(&part);
			} else {
				r = resp_decode_into(&f, resp);
			}
			if (r < 0) {
				st = PROTO_STAGE_DECODE;
				set_msg(errmsg, errlen, "reply from %s: %s%s",
					sock, proto_strerror(r, 0, why,
							     sizeof(why)), "");
				goto done;
			}
			if (f.type == PROTO_MSG_REPLY || f.type == PROTO_MSG_END) {
				r = 0;
				st = PROTO_STAGE_NONE;
				goto done;
			}
			continue;
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0) {
			set_msg(errmsg, errlen, "waiting for %s: %s%s", sock,
				r == -ETIMEDOUT ? "no answer in time" :
				strerror(-r), "");
			goto done;
		}
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -ECONNRESET;
			set_msg(errmsg, errlen, "reading from %s: %s%s", sock,
				n < 0 ? strerror(errno) :
				"connection closed before the answer", "");
			goto done;
		}
		r = proto_decoder_feed(&dec, chunk, (size_t)n);
		if (r < 0) {
			st = PROTO_STAGE_DECODE;
			set_msg(errmsg, errlen, "reply from %s: %s%s", sock,
				proto_strerror(r, 0, why, sizeof(why)), "");
			goto done;
		}
	}
done:
	if (r < 0)
		proto_resp_free(resp);
	if (stage)
		*stage = r < 0 ? st : PROTO_STAGE_NONE;
	if (fd >= 0)
		close(fd);
	proto_buf_free(&out);
	proto_decoder_free(&dec);
	return r;
}

int proto_client_call(const char *sock, const struct proto_req *req,
		      struct proto_resp *resp, int timeout_ms)
{
	return proto_client_call_ex(sock, req, resp, timeout_ms, NULL, NULL,
				    NULL, NULL, 0);
}
