/*
 * fleet_etcd.h — a client of etcd's v3 JSON gateway (fleet_etcd.c):
 * POST /v3/... with a JSON body, through libcurl's multi-socket interface
 * driven by sgd's epoll loop (no thread).  A unary request ends with one
 * JSON reply; a stream (/v3/watch) hands over every JSON message as it
 * arrives.  Keys and values travel base64-encoded (etcd_b64_*).
 */
#ifndef SGD_FLEET_ETCD_H
#define SGD_FLEET_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "model.h"

struct sgd;
struct etcd_client;
struct etcd_req;

/* The reply of a unary request (res: the parsed JSON object, NULL on
 * error), or the end of a stream (res NULL).  err: 0, -ETIMEDOUT,
 * -ECONNREFUSED (transport), -EPROTO (HTTP status or body not JSON;
 * res may hold the body's JSON error), -EMSGSIZE (over the cap), or
 * what a stream's message callback returned.  res belongs to the
 * client: take a reference (json_object_get) to keep it.  The request
 * is freed after this returns. */
typedef void (*etcd_done_fn)(struct sgd *d, void *arg, int err, struct json_object *res);
/* One message of a stream.  0 to go on, or -errno to end the stream
 * (then done gets that error). */
typedef int (*etcd_msg_fn)(struct sgd *d, void *arg, struct json_object *msg);

/* A client for f's endpoints (TLS files from f).  0 or -errno. */
int etcd_client_new(struct sgd *d, const struct sg_fleet *f, struct etcd_client **out);
/* Cancel every request (no callbacks) and free everything. */
void etcd_client_free(struct etcd_client *c);
/* The endpoint requests go to; etcd_client_next moves to the next one
 * (after a transport error). */
const char *etcd_client_endpoint(const struct etcd_client *c);
void etcd_client_next(struct etcd_client *c);
/* The words for a request's error err in its done callback: strerror,
 * or "TLS handshake failed" (-EKEYREJECTED: a certificate or handshake
 * problem), with curl's own description when it gave one ("SSL
 * certificate problem: unable to get local issuer certificate"). */
const char *etcd_strerror(struct etcd_client *c, int err);

/* POST body (serialized here; the caller keeps its reference) to path
 * ("/v3/kv/range") of the current endpoint; done is called once.
 * timeout_ms bounds the whole request.  *out (may be NULL) gets a handle
 * for etcd_cancel.  0 or -errno (then done is never called). */
int etcd_post(struct etcd_client *c, const char *path, struct json_object *body,
	      long timeout_ms, etcd_done_fn done, void *arg, struct etcd_req **out);
/* The same for a stream: msg for every message (at most max_msg bytes
 * each), done once at its end.  The request carries etcd's require-leader
 * metadata, so a member cut off from its leader ends the stream instead
 * of feeding a stale one. */
int etcd_stream(struct etcd_client *c, const char *path, struct json_object *body,
		size_t max_msg, etcd_msg_fn msg, etcd_done_fn done, void *arg,
		struct etcd_req **out);
/* End a request now; its done callback is not called. */
void etcd_cancel(struct etcd_client *c, struct etcd_req *req);

/* base64 (RFC 4648, padded).  Encode n bytes of s into a new string;
 * decode s into a new NUL-terminated buffer (*n its length, may be NULL).
 * NULL on -ENOMEM or (decode) bad input. */
char *etcd_b64_encode(const void *s, size_t n);
char *etcd_b64_decode(const char *s, size_t *n);
/* An int64 that the gateway sends as a string (or a number); def when
 * absent or malformed. */
long long etcd_json_int(struct json_object *o, const char *key, long long def);

#endif
