/*
 * cmd_remote.c — one request to sgd, its reply printed unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "out.h"
#include "sgctl.h"

/* Map a failed exchange to an exit code: unreachable (3) when it never
 * got an answer, failed (1) when the answer could not be read. */
static int remote_fail_code(enum proto_stage stage)
{
	return stage == PROTO_STAGE_DECODE ? SGCTL_EXIT_FAILED : SGCTL_EXIT_UNREACHABLE;
}

static int remote_exchange(struct sgctl *c, const char *cmd, int argc, char **argv,
			   uint32_t flags, uint32_t confirm_secs, bool send_ssh,
			   struct proto_resp *resp, enum proto_stage *stage,
			   char *errmsg, size_t errlen)
{
	struct proto_req req = {
		.cmd = cmd,
		.argv = (const char **)argv,
		.argc = argc > 0 ? (size_t)argc : 0,
		.flags = flags | (c->json ? PROTO_F_JSON : 0),
		.confirm_secs = confirm_secs,
	};
	const char *ssh = getenv("SSH_CONNECTION");

	/* the daemon's lockout guard needs to know who would be cut off */
	if (send_ssh && ssh && *ssh)
		req.ssh_connection = ssh;
	memset(resp, 0, sizeof(*resp));
	*stage = PROTO_STAGE_NONE;
	errmsg[0] = '\0';
	return proto_client_call_ex(c->sock, &req, resp, SGCTL_TIMEOUT_MS, NULL, NULL,
				    stage, errmsg, errlen);
}

int sgctl_call(struct sgctl *c, const char *cmd, int argc, char **argv,
	       uint32_t flags, uint32_t confirm_secs, bool send_ssh)
{
	struct proto_resp resp;
	enum proto_stage stage;
	char errmsg[512];
	int r, code;

	r = remote_exchange(c, cmd, argc, argv, flags, confirm_secs, send_ssh,
			    &resp, &stage, errmsg, sizeof(errmsg));
	if (r < 0)
		return sgctl_fail(c, remote_fail_code(stage), "%s",
				  errmsg[0] ? errmsg : strerror(-r));
	if (resp.out && resp.out_len)
		(void)out_write_text(stdout, resp.out, resp.out_len);
	if (resp.err && resp.err_len)
		(void)out_write_text(stderr, resp.err, resp.err_len);
	fflush(stdout);
	code = resp.exit_code;
	if (code < 0 || code > 3)
		code = SGCTL_EXIT_FAILED;
	proto_resp_free(&resp);
	return code;
}

int sgctl_call_reach(struct sgctl *c, const char *cmd, char *errmsg, size_t errlen)
{
	struct proto_resp resp;
	enum proto_stage stage;
	int r, code;

	r = remote_exchange(c, cmd, 0, NULL, 0, 0, false, &resp, &stage,
			    errmsg, errlen);
	if (r < 0 && remote_fail_code(stage) == SGCTL_EXIT_UNREACHABLE) {
		if (!errmsg[0])
			snprintf(errmsg, errlen, "%s", strerror(-r));
		return SGCTL_EXIT_UNREACHABLE;
	}
	if (r < 0)
		return sgctl_fail(c, SGCTL_EXIT_FAILED, "%s",
				  errmsg[0] ? errmsg : strerror(-r));
	if (resp.out && resp.out_len)
		fwrite(resp.out, 1, resp.out_len, stdout);
	if (resp.err && resp.err_len)
		fwrite(resp.err, 1, resp.err_len, stderr);
	fflush(stdout);
	code = resp.exit_code;
	if (code < 0 || code > 3)
		code = SGCTL_EXIT_FAILED;
	proto_resp_free(&resp);
	return code;
}

int sgctl_call_capture(struct sgctl *c, const char *cmd, uint32_t flags,
		       char **out, char *errmsg, size_t errlen)
{
	struct proto_resp resp;
	enum proto_stage stage;
	bool json = c->json;
	int r;

	*out = NULL;
	c->json = false;
	r = remote_exchange(c, cmd, 0, NULL, flags, 0, false, &resp, &stage,
			    errmsg, errlen);
	c->json = json;
	if (r < 0) {
		if (!errmsg[0])
			snprintf(errmsg, errlen, "%s", strerror(-r));
		return remote_fail_code(stage);
	}
	if (resp.exit_code != 0) {
		snprintf(errmsg, errlen, "%s", resp.err ? resp.err : "failed");
		proto_resp_free(&resp);
		return SGCTL_EXIT_FAILED;
	}
	*out = resp.out;
	resp.out = NULL;
	proto_resp_free(&resp);
	return 0;
}
