/*
 * test_proto.c — the control protocol codec: round trips, truncated,
 * oversized and garbage frames, version mismatch, the incremental
 * decoder fed byte by byte, and the blocking client against a socketpair
 * peer that misbehaves.
 */
#include <stdio.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

static struct proto_buf encode_req(const struct proto_req *r)
{
	struct proto_buf b = { 0 };

	ck_assert_int_eq(proto_encode_req(r, &b), 0);
	return b;
}

static int parse_one(const struct proto_buf *b, size_t cap, struct proto_frame *f)
{
	size_t used = 0;
	int r = proto_frame_parse(b->data, b->len, cap, f, &used);

	if (r == 1)
		ck_assert_uint_eq(used, b->len);
	return r;
}

START_TEST(req_round_trip)
{
	const char *argv[] = { "add", "web", "10.0.0.1", "", "2001:db8::1/128" };
	struct proto_req in = {
		.cmd = "members", .argv = argv, .argc = 5,
		.flags = PROTO_F_JSON | PROTO_F_FORCE, .confirm_secs = 42,
		.ssh_connection = "192.0.2.1 50000 192.0.2.2 22",
	};
	struct proto_buf b = encode_req(&in);
	struct proto_frame f;
	struct proto_req out;
	size_t i;

	ck_assert_int_eq(parse_one(&b, PROTO_MAX_REQUEST, &f), 1);
	ck_assert_int_eq(f.type, PROTO_MSG_REQUEST);
	ck_assert_int_eq(f.version, PROTO_VERSION);
	ck_assert_int_eq(proto_req_decode(&f, &out), 0);
	ck_assert_str_eq(out.cmd, "members");
	ck_assert_uint_eq(out.argc, 5);
	for (i = 0; i < 5; i++)
		ck_assert_str_eq(out.argv[i], argv[i]);
	ck_assert_uint_eq(out.flags, PROTO_F_JSON | PROTO_F_FORCE);
	ck_assert_uint_eq(out.confirm_secs, 42);
	ck_assert_str_eq(out.ssh_connection, in.ssh_connection);
	proto_req_free(&out);
	proto_buf_free(&b);
}
END_TEST

START_TEST(req_minimal)
{
	struct proto_req in = { .cmd = "status" };
	struct proto_buf b = encode_req(&in);
	struct proto_frame f;
	struct proto_req out;

	ck_assert_int_eq(parse_one(&b, PROTO_MAX_REQUEST, &f), 1);
	ck_assert_int_eq(proto_req_decode(&f, &out), 0);
	ck_assert_str_eq(out.cmd, "status");
	ck_assert_uint_eq(out.argc, 0);
	ck_assert_uint_eq(out.flags, 0);
	ck_assert_uint_eq(out.confirm_secs, 0);
	ck_assert_ptr_null(out.ssh_connection);
	proto_req_free(&out);
	proto_buf_free(&b);
}
END_TEST

START_TEST(resp_round_trip)
{
	struct proto_resp in = { .exit_code = 1, .out = "{\"ok\":false}\n",
				 .out_len = 13, .err = "x.yaml:3:1: bad\n",
				 .err_len = 16 };
	struct proto_buf b = { 0 };
	struct proto_frame f;
	struct proto_resp out;

	ck_assert_int_eq(proto_encode_resp(PROTO_MSG_REPLY, &in, &b), 0);
	ck_assert_int_eq(parse_one(&b, PROTO_MAX_REPLY, &f), 1);
	ck_assert_int_eq(proto_resp_decode(&f, &out), 0);
	ck_assert_int_eq(out.exit_code, 1);
	ck_assert_uint_eq(out.out_len, 13);
	ck_assert_str_eq(out.out, in.out);
	ck_assert_str_eq(out.err, in.err);
	proto_resp_free(&out);
	proto_buf_free(&b);
}
END_TEST

START_TEST(resp_binary_and_empty)
{
	char bin[300];
	struct proto_resp in = { .exit_code = 0, .out = bin, .out_len = sizeof(bin) };
	struct proto_buf b = { 0 };
	struct proto_frame f;
	struct proto_resp out;
	size_t i;

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (char)(i * 7);
	ck_assert_int_eq(proto_encode_resp(PROTO_MSG_REPLY, &in, &b), 0);
	ck_assert_int_eq(parse_one(&b, PROTO_MAX_REPLY, &f), 1);
	ck_assert_int_eq(proto_resp_decode(&f, &out), 0);
	ck_assert_uint_eq(out.out_len, sizeof(bin));
	ck_assert_mem_eq(out.out, bin, sizeof(bin));
	ck_assert_ptr_null(out.err);
	proto_resp_free(&out);
	proto_buf_free(&b);
}
END_TEST

START_TEST(truncated_frames)
{
	struct proto_req in = { .cmd = "reload", .flags = PROTO_F_FORCE };
	struct proto_buf b = encode_req(&in);
	struct proto_frame f;
	size_t used, n;

	/* Every proper prefix of a valid frame is "need more", never a frame. */
	for (n = 0; n < b.len; n++)
		ck_assert_int_eq(proto_frame_parse(b.data, n, PROTO_MAX_REQUEST,
						   &f, &used), 0);
	proto_buf_free(&b);
}
END_TEST

/* A frame whose header announces the right length but whose attributes
 * are cut: the attribute walk must refuse it. */
START_TEST(truncated_attribute)
{
	struct proto_req in = { .cmd = "status" };
	struct proto_buf b = encode_req(&in);
	struct proto_frame f;
	struct proto_req out;

	ck_assert_int_eq(parse_one(&b, PROTO_MAX_REQUEST, &f), 1);
	f.len -= 2;	/* value shorter than its attribute says */
	ck_assert_int_eq(proto_req_decode(&f, &out), -EBADMSG);
	f.len = 5;	/* attribute header itself cut */
	ck_assert_int_eq(proto_req_decode(&f, &out), -EBADMSG);
	proto_buf_free(&b);
}
END_TEST

START_TEST(oversized_refused_from_header)
{
	uint8_t hdr[PROTO_HDR_LEN] = { 'S', 'G', 'D', 'P', 0, PROTO_VERSION, 0, 1,
				       0x7f, 0xff, 0xff, 0xff };
	struct proto_decoder d;
	struct proto_frame f;
	size_t used;

	ck_assert_int_eq(proto_frame_parse(hdr, sizeof(hdr), PROTO_MAX_REQUEST,
					   &f, &used), -EMSGSIZE);
	/* The decoder says so after the 12 header bytes, before any payload. */
	proto_decoder_init(&d, PROTO_MAX_REQUEST);
	ck_assert_int_eq(proto_decoder_feed(&d, hdr, sizeof(hdr)), 0);
	ck_assert_int_eq(proto_decoder_next(&d, &f), -EMSGSIZE);
	proto_decoder_free(&d);
}
END_TEST

START_TEST(oversized_encode)
{
	size_t big = PROTO_MAX_REQUEST + 10;
	char *s = malloc(big + 1);
	const char *argv[1] = { s };
	struct proto_req in = { .cmd = "members", .argv = argv, .argc = 1 };
	struct proto_buf b = { 0 };

	ck_assert_ptr_nonnull(s);
	memset(s, 'a', big);
	s[big] = 0;
	ck_assert_int_eq(proto_encode_req(&in, &b), -EMSGSIZE);
	ck_assert_uint_eq(b.len, 0);	/* nothing half-written */
	proto_buf_free(&b);
	free(s);
}
END_TEST

START_TEST(too_many_args)
{
	static const char *argv[PROTO_MAX_ARGS + 1];
	struct proto_req in = { .cmd = "members", .argv = argv,
				.argc = PROTO_MAX_ARGS + 1 };
	struct proto_buf b = { 0 };
	size_t i;

	for (i = 0; i < PROTO_MAX_ARGS + 1; i++)
		argv[i] = "x";
	ck_assert_int_eq(proto_encode_req(&in, &b), -EINVAL);
	proto_buf_free(&b);
}
END_TEST

START_TEST(garbage)
{
	static const uint8_t http[] = "GET / HTTP/1.0\r\n\r\n";
	static const uint8_t zeros[32];
	struct proto_frame f;
	size_t used;

	ck_assert_int_eq(proto_frame_parse(http, sizeof(http) - 1,
					   PROTO_MAX_REQUEST, &f, &used), -EBADMSG);
	/* Garbage is refused from its first wrong byte, not after 12. */
	ck_assert_int_eq(proto_frame_parse(http, 1, PROTO_MAX_REQUEST, &f, &used),
			 -EBADMSG);
	ck_assert_int_eq(proto_frame_parse(zeros, sizeof(zeros),
					   PROTO_MAX_REQUEST, &f, &used), -EBADMSG);
}
END_TEST

START_TEST(bad_attributes)
{
	/* cmd with an embedded NUL; a u32 flag of 3 bytes; no cmd at all. */
	static const uint8_t nul_cmd[] = { 0, 1, 0, 0, 0, 0, 0, 3, 'a', 0, 'b' };
	static const uint8_t short_u32[] = { 0, 1, 0, 0, 0, 0, 0, 1, 'a',
					     0, 3, 0, 0, 0, 0, 0, 3, 1, 2, 3 };
	static const uint8_t no_cmd[] = { 0, 3, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1 };
	struct proto_frame f = { .version = PROTO_VERSION, .type = PROTO_MSG_REQUEST };
	struct proto_req out;

	f.payload = nul_cmd;
	f.len = sizeof(nul_cmd);
	ck_assert_int_eq(proto_req_decode(&f, &out), -EBADMSG);
	f.payload = short_u32;
	f.len = sizeof(short_u32);
	ck_assert_int_eq(proto_req_decode(&f, &out), -EBADMSG);
	f.payload = no_cmd;
	f.len = sizeof(no_cmd);
	ck_assert_int_eq(proto_req_decode(&f, &out), -EBADMSG);
	/* A reply frame is not a request. */
	f.type = PROTO_MSG_REPLY;
	f.payload = nul_cmd;
	ck_assert_int_eq(proto_req_decode(&f, &out), -EBADMSG);
}
END_TEST

START_TEST(unknown_attribute_ignored)
{
	struct proto_req in = { .cmd = "status" };
	struct proto_buf b = encode_req(&in);
	static const uint8_t extra[] = { 0x7f, 0x00, 0, 0, 0, 0, 0, 2, 'h', 'i' };
	struct proto_frame f;
	struct proto_req out;
	uint32_t len;

	/* Append an attribute of an unknown type and fix the length. */
	b.data = realloc(b.data, b.len + sizeof(extra));
	memcpy(b.data + b.len, extra, sizeof(extra));
	b.len += sizeof(extra);
	len = (uint32_t)(b.len - PROTO_HDR_LEN);
	b.data[8] = (uint8_t)(len >> 24);
	b.data[9] = (uint8_t)(len >> 16);
	b.data[10] = (uint8_t)(len >> 8);
	b.data[11] = (uint8_t)len;
	ck_assert_int_eq(parse_one(&b, PROTO_MAX_REQUEST, &f), 1);
	ck_assert_int_eq(proto_req_decode(&f, &out), 0);
	ck_assert_str_eq(out.cmd, "status");
	proto_req_free(&out);
	proto_buf_free(&b);
}
END_TEST

START_TEST(version_mismatch)
{
	struct proto_req in = { .cmd = "status" };
	struct proto_buf b = encode_req(&in);
	struct proto_frame f;
	char msg[256];
	size_t used;

	b.data[5] = PROTO_VERSION + 1;
	ck_assert_int_eq(proto_frame_parse(b.data, b.len, PROTO_MAX_REQUEST, &f,
					   &used), -EPROTONOSUPPORT);
	ck_assert_int_eq(f.version, PROTO_VERSION + 1);
	proto_strerror(-EPROTONOSUPPORT, f.version, msg, sizeof(msg));
	ck_assert_ptr_nonnull(strstr(msg, "version 2 is not supported"));
	proto_buf_free(&b);
}
END_TEST

START_TEST(decoder_byte_by_byte)
{
	const char *argv[] = { "list", "web" };
	struct proto_req in = { .cmd = "members", .argv = argv, .argc = 2 };
	struct proto_buf b = encode_req(&in);
	struct proto_decoder d;
	struct proto_frame f;
	struct proto_req out;
	size_t i;
	int r = 0;

	proto_decoder_init(&d, PROTO_MAX_REQUEST);
	for (i = 0; i < b.len; i++) {
		ck_assert_int_eq(proto_decoder_feed(&d, b.data + i, 1), 0);
		r = proto_decoder_next(&d, &f);
		if (i + 1 < b.len)
			ck_assert_int_eq(r, 0);
	}
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(proto_req_decode(&f, &out), 0);
	ck_assert_str_eq(out.argv[1], "web");
	proto_req_free(&out);
	ck_assert_int_eq(proto_decoder_next(&d, &f), 0);
	proto_decoder_free(&d);
	proto_buf_free(&b);
}
END_TEST

START_TEST(decoder_two_frames)
{
	struct proto_resp a = { .exit_code = 0, .out = "one", .out_len = 3 };
	struct proto_resp e = { .exit_code = 2, .err = "two", .err_len = 3 };
	struct proto_buf b = { 0 };
	struct proto_decoder d;
	struct proto_frame f;
	struct proto_resp out;

	ck_assert_int_eq(proto_encode_resp(PROTO_MSG_DATA, &a, &b), 0);
	ck_assert_int_eq(proto_encode_resp(PROTO_MSG_END, &e, &b), 0);
	proto_decoder_init(&d, PROTO_MAX_REPLY);
	ck_assert_int_eq(proto_decoder_feed(&d, b.data, b.len), 0);
	ck_assert_int_eq(proto_decoder_next(&d, &f), 1);
	ck_assert_int_eq(f.type, PROTO_MSG_DATA);
	ck_assert_int_eq(proto_resp_decode(&f, &out), 0);
	ck_assert_str_eq(out.out, "one");
	proto_resp_free(&out);
	ck_assert_int_eq(proto_decoder_next(&d, &f), 1);
	ck_assert_int_eq(f.type, PROTO_MSG_END);
	ck_assert_int_eq(proto_resp_decode(&f, &out), 0);
	ck_assert_int_eq(out.exit_code, 2);
	proto_resp_free(&out);
	ck_assert_int_eq(proto_decoder_next(&d, &f), 0);
	proto_decoder_free(&d);
	proto_buf_free(&b);
}
END_TEST

START_TEST(reply_without_exit_code)
{
	struct proto_frame f = { .version = PROTO_VERSION, .type = PROTO_MSG_REPLY,
				 .payload = (const uint8_t *)"", .len = 0 };
	struct proto_resp out;

	ck_assert_int_eq(proto_resp_decode(&f, &out), -EBADMSG);
}
END_TEST

/* Random payloads behind a valid header, and valid frames with random
 * bytes flipped: decoding must refuse or accept, never crash or leak
 * (run under valgrind by `meson test --setup valgrind`). */
START_TEST(random_payloads)
{
	const char *argv[] = { "add", "web", "10.0.0.1" };
	struct proto_req good = { .cmd = "members", .argv = argv, .argc = 3,
				  .flags = 1, .ssh_connection = "a b c d" };
	struct proto_buf b = encode_req(&good);
	uint8_t buf[256];
	unsigned seed = 12345;
	int i, ok = 0, refused = 0;

	for (i = 0; i < 20000; i++) {
		struct proto_frame f = { .version = PROTO_VERSION,
					 .type = PROTO_MSG_REQUEST };
		struct proto_req out;
		struct proto_resp rout;
		size_t n, k;
		int r;

		if (i % 2) {
			n = (size_t)(rand_r(&seed) % sizeof(buf));
			for (k = 0; k < n; k++)
				buf[k] = (uint8_t)rand_r(&seed);
		} else {
			n = b.len - PROTO_HDR_LEN;
			memcpy(buf, b.data + PROTO_HDR_LEN, n);
			buf[rand_r(&seed) % n] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
		}
		f.payload = buf;
		f.len = (uint32_t)n;
		r = proto_req_decode(&f, &out);
		if (r == 0) {
			ck_assert_ptr_nonnull(out.cmd);
			ok++;
			proto_req_free(&out);
		} else {
			ck_assert(r == -EBADMSG || r == -E2BIG);
			refused++;
		}
		f.type = PROTO_MSG_REPLY;
		if (proto_resp_decode(&f, &rout) == 0)
			proto_resp_free(&rout);
	}
	ck_assert_int_gt(ok, 0);
	ck_assert_int_gt(refused, 0);
	proto_buf_free(&b);
}
END_TEST

/* --- the blocking client against a scripted server -------------------- */

static char sock_path[108];

/* Fork a server that accepts one client, reads its request, then sends
 * `reply` (len bytes) and closes; or with reply NULL closes at once. */
static pid_t serve_once(const void *reply, size_t len, int listen_fd)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uint8_t buf[4096];
		int c = accept(listen_fd, NULL, NULL);

		if (c < 0)
			_exit(1);
		if (reply) {
			ssize_t n = recv(c, buf, sizeof(buf), 0);

			(void)n;
			if (len && send(c, reply, len, MSG_NOSIGNAL) < 0)
				_exit(1);
		}
		close(c);
		_exit(0);
	}
	return pid;
}

static int listen_on(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sock_path, sizeof(sock_path), "/tmp/sgC1-test-proto-%d.sock",
		 (int)getpid());
	unlink(sock_path);
	strcpy(sa.sun_path, sock_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

START_TEST(client_unreachable)
{
	struct proto_req in = { .cmd = "status" };
	struct proto_resp out;
	enum proto_stage st;
	char msg[256];
	int r;

	r = proto_client_call_ex("/tmp/sgC1-no-such-socket", &in, &out, 1000,
				 NULL, NULL, &st, msg, sizeof(msg));
	ck_assert_int_eq(r, -ENOENT);
	ck_assert_int_eq(st, PROTO_STAGE_CONNECT);
	ck_assert_ptr_nonnull(strstr(msg, "is sgd running?"));
}
END_TEST

START_TEST(client_good_reply)
{
	struct proto_resp rep = { .exit_code = 0, .out = "hello\n", .out_len = 6 };
	struct proto_req in = { .cmd = "status" };
	struct proto_buf b = { 0 };
	struct proto_resp out;
	enum proto_stage st;
	int fd = listen_on();
	pid_t pid;

	ck_assert_int_eq(proto_encode_resp(PROTO_MSG_REPLY, &rep, &b), 0);
	pid = serve_once(b.data, b.len, fd);
	ck_assert_int_eq(proto_client_call_ex(sock_path, &in, &out, 5000, NULL,
					      NULL, &st, NULL, 0), 0);
	ck_assert_int_eq(st, PROTO_STAGE_NONE);
	ck_assert_str_eq(out.out, "hello\n");
	proto_resp_free(&out);
	proto_buf_free(&b);
	close(fd);
	unlink(sock_path);
	(void)pid;
}
END_TEST

START_TEST(client_closed_early)
{
	struct proto_req in = { .cmd = "status" };
	struct proto_resp out;
	enum proto_stage st;
	int fd = listen_on();

	serve_once("", 0, fd);
	ck_assert_int_lt(proto_client_call_ex(sock_path, &in, &out, 5000, NULL,
					      NULL, &st, NULL, 0), 0);
	ck_assert_int_eq(st, PROTO_STAGE_EXCHANGE);
	close(fd);
	unlink(sock_path);
}
END_TEST

START_TEST(client_garbage_reply)
{
	static const char junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	struct proto_req in = { .cmd = "status" };
	struct proto_resp out;
	enum proto_stage st;
	char msg[256];
	int fd = listen_on();

	serve_once(junk, sizeof(junk) - 1, fd);
	ck_assert_int_eq(proto_client_call_ex(sock_path, &in, &out, 5000, NULL,
					      NULL, &st, msg, sizeof(msg)),
			 -EBADMSG);
	ck_assert_int_eq(st, PROTO_STAGE_DECODE);
	close(fd);
	unlink(sock_path);
}
END_TEST

START_TEST(client_timeout)
{
	struct proto_req in = { .cmd = "status" };
	struct proto_resp out;
	enum proto_stage st;
	int fd = listen_on();

	/* Nobody accepts: connect succeeds (backlog), no answer comes. */
	ck_assert_int_eq(proto_client_call_ex(sock_path, &in, &out, 200, NULL,
					      NULL, &st, NULL, 0), -ETIMEDOUT);
	ck_assert_int_eq(st, PROTO_STAGE_EXCHANGE);
	close(fd);
	unlink(sock_path);
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *c = tcase_create("codec");
	TCase *k = tcase_create("client");

	tcase_add_test(c, req_round_trip);
	tcase_add_test(c, req_minimal);
	tcase_add_test(c, resp_round_trip);
	tcase_add_test(c, resp_binary_and_empty);
	tcase_add_test(c, truncated_frames);
	tcase_add_test(c, truncated_attribute);
	tcase_add_test(c, oversized_refused_from_header);
	tcase_add_test(c, oversized_encode);
	tcase_add_test(c, too_many_args);
	tcase_add_test(c, garbage);
	tcase_add_test(c, bad_attributes);
	tcase_add_test(c, unknown_attribute_ignored);
	tcase_add_test(c, version_mismatch);
	tcase_add_test(c, decoder_byte_by_byte);
	tcase_add_test(c, decoder_two_frames);
	tcase_add_test(c, reply_without_exit_code);
	tcase_add_test(c, random_payloads);
	suite_add_tcase(s, c);
	tcase_add_test(k, client_unreachable);
	tcase_add_test(k, client_good_reply);
	tcase_add_test(k, client_closed_early);
	tcase_add_test(k, client_garbage_reply);
	tcase_add_test(k, client_timeout);
	suite_add_tcase(s, k);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
