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
 * request cap, then proto_req_decode on the first whole frame, then
 * sgd's own dispatch_request (daemon/dispatch.c) for a client that is not
 * root, against a running configuration loaded at start-up (so argument
 * parsing of explain, members, diff... is reached; mutations are refused
 * for want of privilege before they would need the kernel; `stats`, the
 * one read-only command that asks the kernel, is left out).
 * Client side: proto_frame_parse + proto_resp_decode over every frame.
 * Properties besides "no crash, no leak, no UB": the decoder and the
 * one-shot parser agree; a decoded request or reply re-encodes and
 * decodes to the same values; proto_strerror always gives a sentence;
 * every answer has an exit code 0..2, and with --json its stdout is
 * strict JSON; every answer encodes as a REPLY frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_util.h"
#include "proto.h"
#include "render.h"
#include "sgd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer gives the harness no context argument: the daemon state made
 * at start-up (a loaded configuration, its members) is the one piece of
 * process state.  Requests only read it. */
static struct {
	char dir[256];
	char confdir[300];
	char statedir[300];
	struct sgd d;
} fz;

static void fz_cleanup(void)
{
	char cmd[300];

	config_free(fz.d.cfg);
	membership_free(&fz.d.members);
	if (fz.dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fz.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz_proto: could not remove %s\n", fz.dir);
	}
}

static void fz_put(const char *rel, const char *text)
{
	char path[512];
	size_t n = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fz.dir, rel);
	if (text[n ? n - 1 : 0] == '/') {
		if (mkdir(path, 0700) < 0) {
			perror(path);
			abort();
		}
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n) {
		perror(path);
		abort();
	}
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = fz_tmp_base();
	struct sg_diags dg;

	snprintf(fz.dir, sizeof(fz.dir), "%s/sgd-fuzz-proto.XXXXXX", base);
	if (!mkdtemp(fz.dir)) {
		perror(fz.dir);
		abort();
	}
	atexit(fz_cleanup);
	fz_put("conf", "/");
	fz_put("conf/groups.d", "/");
	fz_put("conf/members.d", "/");
	fz_put("state", "/");
	fz_put("conf/sgd.yaml", "attach: [web]\ninterfaces:\n  eth0: [db]\n"
	       "failsafe:\n  - {protocol: tcp, ports: 22, from: [192.0.2.0/24]}\n");
	fz_put("conf/groups.d/web.yaml", "name: web\nid: sg-0123abcd\n"
	       "description: \"quotes \\\" and \\t tabs\"\ningress:\n"
	       "  - {protocol: tcp, ports: 443, from: [\"0.0.0.0/0\", \"::/0\"]}\n"
	       "  - {protocol: icmp, icmp_type: 8, from: [app]}\n"
	       "egress:\n  - {protocol: udp, ports: 53-54, to: [10.0.0.0/8]}\n");
	fz_put("conf/groups.d/db.yaml", "name: db\ningress:\n"
	       "  - {protocol: tcp, ports: 5432, from: [app, web]}\n"
	       "  - {protocol: all, from: [\"2001:db8::/32\"]}\n");
	fz_put("conf/groups.d/app.yaml", "name: app\nmembers: [10.1.0.0/16, \"2001:db8::7\"]\n");
	fz_put("conf/members.d/app", "10.2.0.1\n# a comment\n10.3.0.0/24\n");
	snprintf(fz.confdir, sizeof(fz.confdir), "%s/conf", fz.dir);
	snprintf(fz.statedir, sizeof(fz.statedir), "%s/state", fz.dir);
	fz.d.opt.confdir = fz.confdir;
	fz.d.opt.state_dir = fz.statedir;
	fz.d.opt.sock_path = "/nonexistent/sgd.sock";
	fz.d.epfd = -1;
	fz.d.members_wd = -1;
	fz.d.started = 1700000000;
	fz.d.last_reload = 1700000100;
	fz.d.last_reload_ok = true;
	diags_init(&dg);
	if (config_load(fz.confdir, &fz.d.cfg, &dg) < 0 ||
	    membership_compute(&fz.d, fz.d.cfg, &fz.d.members, &dg) < 0) {
		diags_print(stderr, &dg);
		abort();
	}
	diags_free(&dg);
	return 0;
}

/* The SSH lockout guard reads $SSH_CONNECTION as the client sent it
 * (reload/apply by root): evaluated here against the running config,
 * since the unprivileged dispatch below never reaches it. */
static void fz_lockout(const char *ssh)
{
	struct sg_diags dg;
	char *out = NULL;
	int r;

	diags_init(&dg);
	r = lockout_check(&fz.d, fz.d.cfg, &fz.d.members, ssh, &dg);
	if (r != 0 && r != 1 && r != -EINVAL)
		fz_fail("lockout_check returned something undocumented", ssh, strlen(ssh));
	if (r != 0 && dg.n == 0)
		fz_fail("lockout_check refused without saying why", ssh, strlen(ssh));
	if (dg.n) {
		if (render_diags(&dg, true, &out) < 0)
			fz_fail("render_diags failed", NULL, 0);
		if (!fz_json_valid(out, strlen(out)))
			fz_fail("lockout diagnostics are not strict JSON", out, strlen(out));
		free(out);
	}
	diags_free(&dg);
}

/* sgd's answer to one decoded request from an unprivileged client. */
static void fz_dispatch(const struct proto_req *req)
{
	struct sgd_client c = { .uid = 1000, .gid = 1000, .pid = 4242 };
	struct proto_resp r = { 0 };
	struct proto_buf b = { 0 };

	if (strcmp(req->cmd, "stats") == 0)
		return;	/* reads the kernel's counters */
	dispatch_request(&fz.d, &c, req, &r);
	if (r.exit_code < 0 || r.exit_code > 2)
		fz_fail("an answer's exit code is not 0, 1 or 2", r.err, r.err_len);
	if ((req->flags & PROTO_F_JSON) && r.out_len && !fz_json_valid(r.out, r.out_len))
		fz_fail("a --json answer is not strict JSON", r.out, r.out_len);
	if (!r.out_len && !r.err_len)
		fz_fail("an answer says nothing", NULL, 0);
	if (proto_encode_resp(PROTO_MSG_REPLY, &r, &b) < 0)
		fz_fail("an answer does not encode", NULL, 0);
	proto_buf_free(&b);
	proto_resp_free(&r);
}

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
				if (req.ssh_connection)
					fz_lockout(req.ssh_connection);
				fz_dispatch(&req);
				proto_req_free(&req);
			} else {
				fz_check_strerror(r, 0);
			}
		}
	}
	proto_decoder_free(&dec);
}

/* What sgctl does with the daemon's answer (proto_client_call_ex): the
 * incremental decoder with the reply cap, frames until REPLY or END. */
static void fz_client_side(const uint8_t *data, size_t size, size_t chunk)
{
	struct proto_decoder dec;
	size_t off = 0;
	bool done = false;

	proto_decoder_init(&dec, PROTO_MAX_REPLY);
	while (!done) {
		struct proto_frame f = { 0 };
		struct proto_resp resp;
		int r = proto_decoder_next(&dec, &f);

		if (r < 0) {
			fz_check_strerror(r, r == -EPROTONOSUPPORT ? f.version : 0);
			break;
		}
		if (r == 0) {
			size_t n = size - off < chunk ? size - off : chunk;

			if (n == 0 || proto_decoder_feed(&dec, data + off, n) < 0)
				break;
			off += n;
			continue;
		}
		r = proto_resp_decode(&f, &resp);
		if (r < 0) {
			fz_check_strerror(r, 0);
			break;
		}
		fz_resp_round_trip(f.type, &resp);
		proto_resp_free(&resp);
		done = f.type != PROTO_MSG_DATA;
	}
	proto_decoder_free(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	fz_daemon_side(data + 1, size - 1, chunk);
	fz_client_side(data + 1, size - 1, chunk);
	return 0;
}
