/*
 * proto.h — the control protocol between sgctl and sgd (one codec, linked
 * by both).  Implemented in proto.c.
 *
 * Wire format (all integers big-endian).  WARNING: this is ABI between
 * sgctl and sgd binaries of possibly different builds; never renumber.
 *
 *   frame  = header payload
 *   header = magic u32 ("SGDP" = 0x53474450)
 *            version u16 (PROTO_VERSION)
 *            type u16    (enum proto_msg)
 *            length u32  (payload bytes, <= the receiver's cap)
 *   payload = attr*
 *   attr   = type u16 (enum proto_attr), reserved u16 (0), length u32, value
 *            (no padding).  Strings are sent without their NUL.
 *
 * A conversation is one request frame from the client, then either one
 * REPLY frame, or (streaming commands such as `log`) any number of DATA
 * frames followed by one END frame.  The daemon closes the connection
 * after the REPLY/END.  Unknown attribute types are ignored (so attributes
 * can be added without a version bump); an unknown version or message type
 * is an error, answered with a clear message.
 */
#ifndef SGD_PROTO_H
#define SGD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC		0x53474450u	/* "SGDP" */
#define PROTO_VERSION		1
#define PROTO_HDR_LEN		12
#define PROTO_ATTR_HDR_LEN	8

/* Caps: a request larger than this is refused by sgd (hostile clients);
 * replies may be large (show/members of 100k-member groups). */
#define PROTO_MAX_REQUEST	(1u << 20)	/* 1 MiB */
#define PROTO_MAX_REPLY		(256u << 20)	/* 256 MiB */
#define PROTO_MAX_ARGS		65536

enum proto_msg {
	PROTO_MSG_REQUEST = 1,	/* client -> sgd */
	PROTO_MSG_REPLY = 2,	/* sgd -> client: complete answer */
	PROTO_MSG_DATA = 3,	/* sgd -> client: one chunk of a stream */
	PROTO_MSG_END = 4,	/* sgd -> client: end of a stream + exit code */
};

enum proto_attr {
	/* request */
	PROTO_A_CMD = 1,	/* string: "status", "members", ... */
	PROTO_A_ARG = 2,	/* string, repeated in order */
	PROTO_A_FLAGS = 3,	/* u32: PROTO_F_* */
	PROTO_A_CONFIRM = 4,	/* u32: apply --confirm SECONDS */
	PROTO_A_SSH = 5,	/* string: the client's $SSH_CONNECTION */
	/* reply / data / end */
	PROTO_A_EXIT = 16,	/* u32: exit code 0/1/2 for sgctl */
	PROTO_A_STDOUT = 17,	/* bytes for sgctl's stdout */
	PROTO_A_STDERR = 18,	/* bytes for sgctl's stderr */
};

/* Request flags. */
#define PROTO_F_JSON		(1u << 0)	/* --json */
#define PROTO_F_FORCE		(1u << 1)	/* reload/apply --force */
#define PROTO_F_EXIT_CODE	(1u << 2)	/* diff --exit-code */

/* A request.  The client fills it with pointers to its own strings (it
 * never calls proto_req_free on it); proto_req_decode() fills it with
 * storage it owns, released by proto_req_free(). */
struct proto_req {
	const char *cmd;
	const char **argv;	/* argc entries, no NULL terminator needed */
	size_t argc;
	uint32_t flags;		/* PROTO_F_* */
	uint32_t confirm_secs;	/* 0 = none */
	const char *ssh_connection;	/* NULL when not run over SSH */
	void *owned_;		/* decoder storage; NULL for client-built */
};

/* A reply (or the accumulated DATA + END of a stream).  out and err are
 * malloc'd, NUL-terminated (the NUL is not counted in *_len), may be NULL
 * when empty; proto_resp_free() frees them.  The daemon fills them with
 * malloc'd render_* output and frees with proto_resp_free() too. */
struct proto_resp {
	int exit_code;
	char *out;
	size_t out_len;
	char *err;
	size_t err_len;
};

void proto_req_free(struct proto_req *r);
void proto_resp_free(struct proto_resp *r);

/* A growable output buffer. */
struct proto_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};
void proto_buf_free(struct proto_buf *b);

/* Append one whole frame to out.  0, -ENOMEM, or -EMSGSIZE when the frame
 * would exceed PROTO_MAX_REQUEST / PROTO_MAX_REPLY or a string is longer
 * than the u32 length field allows.  out is unchanged on error. */
int proto_encode_req(const struct proto_req *r, struct proto_buf *out);
/* type is PROTO_MSG_REPLY, PROTO_MSG_DATA or PROTO_MSG_END. */
int proto_encode_resp(enum proto_msg type, const struct proto_resp *r,
		      struct proto_buf *out);

/* One frame located in a buffer; payload points into that buffer. */
struct proto_frame {
	uint16_t version;
	uint16_t type;
	const uint8_t *payload;
	uint32_t len;
};

/* Parse a frame header at buf[0..len).  Returns 1 and sets *f and
 * *consumed (header + payload) when a whole frame is there; 0 when more
 * bytes are needed; -EBADMSG on a bad magic, -EPROTONOSUPPORT on another
 * version (f->version says which), -EMSGSIZE when the announced payload
 * exceeds max_payload.  The header is checked as soon as its 12 bytes are
 * in, so an oversized or garbage frame is refused before it is read. */
int proto_frame_parse(const uint8_t *buf, size_t len, size_t max_payload,
		      struct proto_frame *f, size_t *consumed);

/* Decode a frame's attributes.  Return 0, -EBADMSG (truncated or
 * malformed attribute, wrong message type, missing command, bad u32
 * length, NUL inside a string), -E2BIG (more than PROTO_MAX_ARGS
 * arguments) or -ENOMEM.  On error the output holds nothing to free. */
int proto_req_decode(const struct proto_frame *f, struct proto_req *out);
int proto_resp_decode(const struct proto_frame *f, struct proto_resp *out);

/* The incremental decoder used by sgd for non-blocking clients: feed the
 * bytes read, then take frames out.  max_payload is the cap. */
struct proto_decoder {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t off;		/* start of the first unconsumed byte */
	size_t max_payload;
};
void proto_decoder_init(struct proto_decoder *d, size_t max_payload);
void proto_decoder_free(struct proto_decoder *d);
/* Append bytes.  0, -ENOMEM, or -EMSGSIZE when the buffered bytes could
 * never form a frame within the cap. */
int proto_decoder_feed(struct proto_decoder *d, const void *data, size_t n);
/* Like proto_frame_parse on the buffered bytes; the frame stays valid
 * until the next feed/next call. */
int proto_decoder_next(struct proto_decoder *d, struct proto_frame *f);

/* A human sentence for a codec error (-EBADMSG, -EPROTONOSUPPORT, ...),
 * e.g. "protocol version 2 is not supported (this side speaks 1)".
 * version is the peer's (from the frame) or 0 when unknown. */
const char *proto_strerror(int err, unsigned version, char *buf, size_t len);

/*
 * The blocking client used by sgctl.
 *
 * Connects to sock, sends req, reads the REPLY (or DATA... END, appending
 * every DATA chunk to resp, unless on_data is set) within timeout_ms for
 * the whole exchange (timeout_ms <= 0: no deadline, for `log`).
 * Returns 0 with *resp filled (exit_code is the daemon's verdict), or a
 * -errno with *resp empty and *stage saying where it failed:
 *   PROTO_STAGE_CONNECT  the daemon cannot be reached (socket missing,
 *                        refused, permission denied): sgctl exits 3;
 *   PROTO_STAGE_EXCHANGE it was reached but the exchange failed (timeout,
 *                        connection closed early): also exit 3;
 *   PROTO_STAGE_DECODE   it answered something we cannot read (garbage,
 *                        other protocol version): exit 1.
 * errmsg (if not NULL) receives one human sentence naming the socket,
 * e.g. "cannot connect to /run/sgd/sgd.sock: No such file or directory
 * (is sgd running?)".
 */
enum proto_stage {
	PROTO_STAGE_NONE = 0,
	PROTO_STAGE_CONNECT,
	PROTO_STAGE_EXCHANGE,
	PROTO_STAGE_DECODE,
};

/* Streaming callback: one DATA frame; return 0 to go on, -errno to stop. */
typedef int (*proto_data_cb)(const struct proto_resp *chunk, void *ctx);

/* proto_client_call_ex without callback, stage or message: for tests and
 * simple callers (sgctl uses _ex to tell the failure stages apart). */
int proto_client_call(const char *sock, const struct proto_req *req,
		      struct proto_resp *resp, int timeout_ms);
int proto_client_call_ex(const char *sock, const struct proto_req *req,
			 struct proto_resp *resp, int timeout_ms,
			 proto_data_cb on_data, void *ctx,
			 enum proto_stage *stage, char *errmsg, size_t errlen);

#endif
