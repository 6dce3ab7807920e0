/*
 * fuzz_proto.c — libFuzzer harness for the control-protocol codec
 * (common/proto.c), from both ends of the socket.
 *
 * Input: byte 0 chooses how the daemon's reads are cut (1..256 bytes per
 * recv, as a slow or fragmenting client would send them); the rest is what
 * a hostile client writes to the control socket, or a hostile peer
 * answers to sgctl.
 *
 * Daemon side, as control.c drives it: the incremental decoder with the
 * request cap, then proto_req_decode on the first whole frame.  Client
 * side: proto_frame_parse + proto_resp_decode over every frame.
 * Properties besides "no crash, no leak, no UB": the decoder and the
 * one-shot parser agree; a decoded request or reply re-encodes and
 * decodes to the same values; proto_strerror always gives a sentence.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fz_str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static void fz_check_strerror(int err, unsigned version)
{
	char buf[200];
	const char *s = proto_strerror(err, version, buf, sizeof(buf));

	if (!s || !*s)
		fz_fail("proto_strerror gave no sentence", NULL, 0);
}

/* A decoded request is what the encoder would produce from it. */
static void fz_req_round_trip(const struct proto_req *in)
{
	struct proto_buf b = { 0 };
	struct proto_frame f;
	struct proto_req out;
	size_t used = 0;
	int r;

	if (!in->cmd)
		fz_fail("a decoded request has no command", NULL, 0);
	r = proto_encode_req(in, &b);
	if (r == -EMSGSIZE)
		return;	/* decoded within the cap; the re-encoding may not be
			 * byte-identical (unknown attributes dropped) */
	if (r < 0)
		fz_fail("a decoded request does not encode", NULL, 0);
	if (proto_frame_parse(b.data, b.len, PROTO_MAX_REQUEST, &f, &used) != 1 ||
	    used != b.len)
		fz_fail("an encoded request does not parse as one frame", NULL, 0);
	if (proto_req_decode(&f, &out) != 0)
		fz_fail("an encoded request does not decode", NULL, 0);
	if (!fz_str_eq(in->cmd, out.cmd) || in->argc != out.argc ||
	    in->flags != out.flags || in->confirm_secs != out.confirm_secs ||
	    !fz_str_eq(in->ssh_connection, out.ssh_connection))
		fz_fail("request round trip changed a field", NULL, 0);
	for (size_t i = 0; i < in->argc; i++)
		if (!fz_str_eq(in->argv[i], out.argv[i]))
			fz_fail("request round trip changed an argument", NULL, 0);
	proto_req_free(&out);
	proto_buf_free(&b);
}

static void fz_resp_round_trip(uint16_t type, const struct proto_resp *in)
{
	struct proto_buf b = { 0 };
	struct proto_frame f;
	struct proto_resp out;
	size_t used = 0;

	if ((in->out && in->out[in->out_len] != '\0') ||
	    (in->err && in->err[in->err_len] != '\0'))
		fz_fail("a decoded reply text is not NUL-terminated", NULL, 0);
	if (proto_encode_resp((enum proto_msg)type, in, &b) < 0)
		fz_fail("a decoded reply does not encode", NULL, 0);
	if (proto_frame_parse(b.data, b.len, PROTO_MAX_REPLY, &f, &used) != 1 ||
	    used != b.len || f.type != type)
		fz_fail("an encoded reply does not parse as one frame", NULL, 0);
	if (proto_resp_decode(&f, &out) != 0)
		fz_fail("an encoded reply does not decode", NULL, 0);
	/* DATA frames carry no exit code (proto.h): only text survives */
	if ((type != PROTO_MSG_DATA && in->exit_code != out.exit_code) ||
	    in->out_len != out.out_len ||
	    in->err_len != out.err_len ||
	    (in->out_len && memcmp(in->out, out.out, in->out_len) != 0) ||
	    (in->err_len && memcmp(in->err, out.err, in->err_len) != 0))
		fz_fail("reply round trip changed a field", NULL, 0);
	proto_resp_free(&out);
	proto_buf_free(&b);
}

/* What sgd does with one connection's bytes (daemon/control.c). */
static void fz_daemon_side(const uint8_t *data, size_t size, size_t chunk)
{
	struct proto_decoder dec;
	struct proto_frame f, g;
	size_t off = 0;
	int r = 0;

	proto_decoder_init(&dec, PROTO_MAX_REQUEST);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		r = proto_decoder_feed(&dec, data + off, n);
		off += n;
		if (r == 0)
			r = proto_decoder_next(&dec, &f);
		if (r != 0)
			break;
	}
	if (r < 0) {
		unsigned version = 0;

		if (r == -EPROTONOSUPPORT && dec.len - dec.off >= 6)
			version = (unsigned)(dec.buf[dec.off + 4] << 8 | dec.buf[dec.off + 5]);
		fz_check_strerror(r, version);
	}
	if (r == 1) {
		size_t used = 0;
		struct proto_req req;

		/* the one-shot parser sees the same frame in the same bytes */
		if (proto_frame_parse(data, size, PROTO_MAX_REQUEST, &g, &used) != 1 ||
		    g.len != f.len || g.type != f.type || g.version != f.version ||
		    memcmp(g.payload, f.payload, f.len) != 0)
			fz_fail("the incremental decoder and proto_frame_parse disagree",
				NULL, 0);
		if (f.type == PROTO_MSG_REQUEST) {
			r = proto_req_decode(&f, &req);
			if (r == 0) {
				fz_req_round_trip(&req);
				proto_req_free(&req);
			} else {
				fz_check_strerror(r, 0);
			}
		}
	}
	proto_decoder_free(&dec);
}

/* What sgctl does with the daemon's answer: frames until END or REPLY. */
static void fz_client_side(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct proto_frame f = { 0 };
		struct proto_resp resp;
		size_t used = 0;
		int r = proto_frame_parse(data + off, size - off, PROTO_MAX_REPLY, &f, &used);

		if (r <= 0) {
			if (r < 0)
				fz_check_strerror(r, f.version);
			return;
		}
		if (used < PROTO_HDR_LEN || used > size - off)
			fz_fail("proto_frame_parse consumed a wrong length", NULL, 0);
		off += used;
		r = proto_resp_decode(&f, &resp);
		if (r < 0) {
			fz_check_strerror(r, 0);
			return;
		}
		fz_resp_round_trip(f.type, &resp);
		proto_resp_free(&resp);
		if (f.type != PROTO_MSG_DATA)
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	fz_daemon_side(data + 1, size - 1, chunk);
	fz_client_side(data + 1, size - 1);
	return 0;
}
