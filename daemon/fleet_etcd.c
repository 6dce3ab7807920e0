/*
 * fleet_etcd.c — etcd's v3 JSON gateway over libcurl's multi-socket
 * interface: curl tells us (etcd_on_socket, etcd_on_timer) which sockets
 * to watch and when it wants a timeout; sgd's epoll loop calls
 * curl_multi_socket_action on those events.  No thread, no blocking call:
 * a slow or dead etcd only delays the fleet's own callbacks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <curl/curl.h>

#include "fleet_etcd.h"
#include "sgd.h"

#define ETCD_MAX_REPLY		(64u << 20)	/* bytes of one unary reply */
#define ETCD_CONNECT_MS		2000

/* A socket curl asked us to watch.  Never freed before the client: a
 * stale epoll event of this batch may still point at it (and a reused
 * one only gets a spurious event, which curl tolerates). */
struct etcd_sock {
	struct sgd_watch w;		/* first: the loop hands us &w */
	struct etcd_client *c;
	struct etcd_sock *next;		/* all of the client's */
	bool active;
};

struct etcd_req {
	struct etcd_client *c;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	char *buf;			/* unary: the reply so far */
	size_t len, cap;
	json_tokener *tok;		/* stream: the message being parsed */
	size_t msg_bytes, max_msg;
	etcd_msg_fn on_msg;
	etcd_done_fn on_done;
	void *arg;
	int abort_err;			/* why the write callback stopped it */
	char errbuf[CURL_ERROR_SIZE];	/* curl's own words on a failure */
	struct etcd_req *next, *prev;
};

struct etcd_client {
	struct sgd *d;
	CURLM *multi;
	struct sgd_watch timer;		/* curl's timeout, a timerfd */
	struct etcd_sock *socks;
	struct etcd_req *reqs;
	char **endpoints;
	size_t n_endpoints, cur;
	char *ca, *cert, *key;
	/* curl's words on the failure of the transfer last finished (what a
	 * done callback reports), and etcd_strerror's answer */
	char detail[CURL_ERROR_SIZE];
	char msg[CURL_ERROR_SIZE + 64];
};

static void etcd_multi_done(struct etcd_client *c);

static void etcd_action(struct etcd_client *c, curl_socket_t fd, int flags)
{
	int running;

	(void)curl_multi_socket_action(c->multi, fd, flags, &running);
	etcd_multi_done(c);
}

static void etcd_on_sock_event(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	struct etcd_sock *s = (struct etcd_sock *)w;
	int flags = 0;

	(void)d;
	if (!s->active)
		return;
	if (ev & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (ev & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (ev & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	etcd_action(s->c, w->fd, flags);
}

static void etcd_on_timer_event(struct sgd *d, struct sgd_watch *w, uint32_t ev)
{
	struct etcd_client *c = (struct etcd_client *)((char *)w -
						      offsetof(struct etcd_client, timer));
	uint64_t n;

	(void)d;
	(void)ev;
	/* The count is of no use; reading clears the readiness. */
	if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		sgd_log(c->d, LOG_WARNING, "fleet: timerfd: %s", strerror(errno));
	etcd_action(c, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what, or stop watching it. */
static int etcd_on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct etcd_client *c = userp;
	struct etcd_sock *s = sockp;
	uint32_t ev = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			watch_del(c->d, &s->w);
			s->active = false;
			s->w.fd = -1;
			(void)curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (s)
		return watch_mod(c->d, &s->w, ev) < 0 ? -1 : 0;
	for (s = c->socks; s && s->active; s = s->next)
		;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->c = c;
		s->next = c->socks;
		c->socks = s;
	}
	s->w.fd = fd;
	s->w.fn = etcd_on_sock_event;
	s->active = true;
	if (watch_add(c->d, &s->w, ev) < 0) {
		s->active = false;
		s->w.fd = -1;
		return -1;
	}
	(void)curl_multi_assign(c->multi, fd, s);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 means "now", which must
 * not be done from inside curl: the timerfd fires after 1 ms instead. */
static int etcd_on_timer(CURLM *m, long ms, void *userp)
{
	struct etcd_client *c = userp;

	(void)m;
	return watch_timer_set_ms(c->timer.fd, ms < 0 ? 0 : ms == 0 ? 1 : ms, false) < 0 ? -1 : 0;
}

int etcd_client_new(struct sgd *d, const struct sg_fleet *f, struct etcd_client **out)
{
	struct etcd_client *c = calloc(1, sizeof(*c));
	size_t i;
	int r = -ENOMEM;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->d = d;
	c->timer.fd = -1;
	c->endpoints = calloc(f->n_endpoints ? f->n_endpoints : 1, sizeof(*c->endpoints));
	if (!c->endpoints)
		goto fail;
	for (i = 0; i < f->n_endpoints; i++) {
		size_t n = strlen(f->endpoints[i]);

		/* without its trailing '/': the path is appended */
		if (!(c->endpoints[i] = strndup(f->endpoints[i], n && f->endpoints[i][n - 1] == '/' ?
						n - 1 : n)))
			goto fail;
		c->n_endpoints++;
	}
	if ((f->tls_ca && !(c->ca = strdup(f->tls_ca))) ||
	    (f->tls_cert && !(c->cert = strdup(f->tls_cert))) ||
	    (f->tls_key && !(c->key = strdup(f->tls_key))))
		goto fail;
	c->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer.fd < 0) {
		r = -errno;
		goto fail;
	}
	c->timer.fn = etcd_on_timer_event;
	if ((r = watch_add(d, &c->timer, EPOLLIN)) < 0)
		goto fail;
	r = -ENOMEM;
	if (!(c->multi = curl_multi_init()))
		goto fail;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, etcd_on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, etcd_on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*out = c;
	return 0;
fail:
	etcd_client_free(c);
	return r;
}

static void etcd_req_free(struct etcd_req *q)
{
	if (q->easy)
		curl_easy_cleanup(q->easy);
	curl_slist_free_all(q->hdrs);
	if (q->tok)
		json_tokener_free(q->tok);
	free(q->body);
	free(q->buf);
	free(q);
}

static void etcd_req_unlink(struct etcd_client *c, struct etcd_req *q)
{
	curl_multi_remove_handle(c->multi, q->easy);
	if (q->prev)
		q->prev->next = q->next;
	else
		c->reqs = q->next;
	if (q->next)
		q->next->prev = q->prev;
}

void etcd_cancel(struct etcd_client *c, struct etcd_req *q)
{
	if (!q)
		return;
	etcd_req_unlink(c, q);
	etcd_req_free(q);
}

void etcd_client_free(struct etcd_client *c)
{
	struct etcd_sock *s;

	if (!c)
		return;
	while (c->reqs)
		etcd_cancel(c, c->reqs);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	while ((s = c->socks)) {
		c->socks = s->next;
		free(s);
	}
	if (c->timer.fd >= 0) {
		watch_del(c->d, &c->timer);
		close(c->timer.fd);
	}
	for (size_t i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c);
}

const char *etcd_client_endpoint(const struct etcd_client *c)
{
	return c->n_endpoints ? c->endpoints[c->cur] : "";
}

const char *etcd_strerror(struct etcd_client *c, int err)
{
	const char *what = err == -EKEYREJECTED ? "TLS handshake failed" : strerror(-err);

	if (!c || !c->detail[0])
		return what;
	snprintf(c->msg, sizeof(c->msg), "%s (%s)", what, c->detail);
	return c->msg;
}

void etcd_client_next(struct etcd_client *c)
{
	if (c->n_endpoints)
		c->cur = (c->cur + 1) % c->n_endpoints;
}

/* CURLOPT_WRITEFUNCTION of a unary request: keep the reply, bounded. */
static size_t etcd_on_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct etcd_req *q = arg;
	size_t n = sz * nm;

	if (q->len + n + 1 > ETCD_MAX_REPLY) {
		q->abort_err = -EMSGSIZE;
		return 0;
	}
	if (q->len + n + 1 > q->cap) {
		size_t cap = q->cap ? q->cap : 4096;
		char *b;

		while (cap < q->len + n + 1)
			cap *= 2;
		if (!(b = realloc(q->buf, cap))) {
			q->abort_err = -ENOMEM;
			return 0;
		}
		q->buf = b;
		q->cap = cap;
	}
	memcpy(q->buf + q->len, p, n);
	q->len += n;
	q->buf[q->len] = '\0';
	return n;
}

/* CURLOPT_WRITEFUNCTION of a stream: the gateway writes one JSON object
 * per message; each complete one goes to on_msg.  A message that grows
 * past max_msg ends the stream (-EMSGSIZE). */
static size_t etcd_on_stream(char *p, size_t sz, size_t nm, void *arg)
{
	struct etcd_req *q = arg;
	size_t n = sz * nm, off = 0;

	while (off < n) {
		size_t chunk = n - off > 65536 ? 65536 : n - off;
		struct json_object *o = json_tokener_parse_ex(q->tok, p + off, (int)chunk);
		enum json_tokener_error e = json_tokener_get_error(q->tok);
		size_t used = o ? json_tokener_get_parse_end(q->tok) : chunk;

		off += used ? used : chunk;
		q->msg_bytes += used ? used : chunk;
		if (o) {
			int r = q->on_msg(q->c->d, q->arg, o);

			json_object_put(o);
			q->msg_bytes = 0;
			json_tokener_reset(q->tok);
			if (r < 0) {
				q->abort_err = r;
				return 0;
			}
		} else if (e != json_tokener_continue) {
			q->abort_err = -EPROTO;
			return 0;
		} else if (q->msg_bytes > q->max_msg) {
			q->abort_err = -EMSGSIZE;
			return 0;
		}
	}
	return n;
}

static int etcd_curl_err(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return -ECONNREFUSED;
	/* a certificate or handshake problem is not a network one: the
	 * operator must see it as such (it will not go away by itself) */
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return -EKEYREJECTED;
	default:
		return -ECONNRESET;
	}
}

/* One finished transfer: its callback with the parsed reply. */
static void etcd_finish(struct etcd_client *c, struct etcd_req *q, CURLcode cc)
{
	struct json_object *res = NULL;
	long code = 0;
	int err = q->abort_err ? q->abort_err : etcd_curl_err(cc);

	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &code);
	etcd_req_unlink(c, q);
	/* set before every callback, not cleared after: the callback may
	 * free the client */
	c->detail[0] = '\0';
	if (cc != CURLE_OK && q->errbuf[0])
		snprintf(c->detail, sizeof(c->detail), "%s", q->errbuf);
	if (err == 0 && !q->tok) {
		res = q->buf ? json_tokener_parse(q->buf) : NULL;
		if (!res || !json_object_is_type(res, json_type_object) || code != 200)
			err = -EPROTO;
	} else if (err == 0 && code != 200) {
		err = -EPROTO;
	}
	q->on_done(c->d, q->arg, err, res);
	json_object_put(res);
	etcd_req_free(q);
}

static void etcd_multi_done(struct etcd_client *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct etcd_req *q = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		if (q)
			etcd_finish(c, q, m->data.result);
	}
}

/* The easy handle of a POST of body to path. */
static int etcd_req_setup(struct etcd_client *c, struct etcd_req *q, const char *path,
			  struct json_object *body, bool stream)
{
	char url[512];

	q->body = strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	q->easy = curl_easy_init();
	q->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" wait for bodies over 1 KiB. */
	if (q->hdrs)
		q->hdrs = curl_slist_append(q->hdrs, "Expect:");
	/* The gateway passes Grpc-Metadata-* on as gRPC metadata: this is
	 * clientv3's WithRequireLeader. */
	if (q->hdrs && stream)
		q->hdrs = curl_slist_append(q->hdrs, "Grpc-Metadata-hasleader: true");
	if (!q->body || !q->easy || !q->hdrs)
		return -ENOMEM;
	snprintf(url, sizeof(url), "%s%s", etcd_client_endpoint(c), path);
	curl_easy_setopt(q->easy, CURLOPT_URL, url);
	curl_easy_setopt(q->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, q->body);
	curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->hdrs);
	curl_easy_setopt(q->easy, CURLOPT_PRIVATE, q);
	curl_easy_setopt(q->easy, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)ETCD_CONNECT_MS);
	curl_easy_setopt(q->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(q->easy, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(q->easy, CURLOPT_TCP_KEEPINTVL, 2L);
	curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, stream ? etcd_on_stream : etcd_on_write);
	if (c->ca)
		curl_easy_setopt(q->easy, CURLOPT_CAINFO, c->ca);
	if (c->cert)
		curl_easy_setopt(q->easy, CURLOPT_SSLCERT, c->cert);
	if (c->key)
		curl_easy_setopt(q->easy, CURLOPT_SSLKEY, c->key);
	return 0;
}

static int etcd_start(struct etcd_client *c, const char *path, struct json_object *body,
		      long timeout_ms, struct etcd_req *q, struct etcd_req **out)
{
	int r = etcd_req_setup(c, q, path, body, q->tok != NULL);

	if (r == 0 && timeout_ms > 0)
		curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (r == 0 && curl_multi_add_handle(c->multi, q->easy) != CURLM_OK)
		r = -ENOMEM;
	if (r < 0) {
		etcd_req_free(q);
		return r;
	}
	q->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = q;
	c->reqs = q;
	if (out)
		*out = q;
	return 0;
}

int etcd_post(struct etcd_client *c, const char *path, struct json_object *body,
	      long timeout_ms, etcd_done_fn done, void *arg, struct etcd_req **out)
{
	struct etcd_req *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->c = c;
	q->on_done = done;
	q->arg = arg;
	return etcd_start(c, path, body, timeout_ms, q, out);
}

int etcd_stream(struct etcd_client *c, const char *path, struct json_object *body,
		size_t max_msg, etcd_msg_fn msg, etcd_done_fn done, void *arg,
		struct etcd_req **out)
{
	struct etcd_req *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->c = c;
	q->on_done = done;
	q->on_msg = msg;
	q->arg = arg;
	q->max_msg = max_msg;
	if (!(q->tok = json_tokener_new_ex(64))) {
		free(q);
		return -ENOMEM;
	}
	return etcd_start(c, path, body, 0, q, out);
}

long long etcd_json_int(struct json_object *o, const char *key, long long def)
{
	struct json_object *v;
	char *end;
	long long x;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return def;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_string))
		return def;
	errno = 0;
	x = strtoll(json_object_get_string(v), &end, 10);
	return errno || *end || end == json_object_get_string(v) ? def : x;
}
