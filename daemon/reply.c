/*
 * reply.c — an operation's answer to a client as the control protocol
 * carries it (struct proto_resp: exit code, stdout, stderr), in text or
 * with --json in JSON; the texts themselves come from common/'s
 * renderers.  Below every operation: anything that answers a client may
 * use it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "render.h"
#include "sgd.h"

static char *vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

/* Text, with the trailing newline sgctl prints. */
static void resp_set_text(char **dst, size_t *len, char *msg)
{
	size_t n;

	free(*dst);
	*dst = NULL;
	*len = 0;
	if (!msg)
		return;
	n = strlen(msg);
	if (n == 0 || msg[n - 1] != '\n') {
		char *m = realloc(msg, n + 2);

		if (!m) {
			free(msg);
			return;
		}
		msg = m;
		msg[n++] = '\n';
		msg[n] = 0;
	}
	*dst = msg;
	*len = n;
}

static char *json_msg(bool ok, const char *key, const char *msg)
{
	struct out_buf b;
	struct json_w j;
	char *s = NULL;

	out_init(&b);
	json_init(&j, &b);
	json_obj_begin(&j);
	json_kbool(&j, "ok", ok);
	json_kstr(&j, key, msg);
	json_obj_end(&j);
	out_putc(&b, '\n');
	if (out_finish(&b, &s) < 0)
		return NULL;
	return s;
}

void reply_fail(struct proto_resp *r, bool json, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vfmt(fmt, ap);
	va_end(ap);
	r->exit_code = code;
	if (json && msg)
		resp_set_text(&r->out, &r->out_len, json_msg(false, "error", msg));
	resp_set_text(&r->err, &r->err_len, msg);
}

void reply_ok(struct proto_resp *r, bool json, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vfmt(fmt, ap);
	va_end(ap);
	r->exit_code = 0;
	if (json && msg) {
		resp_set_text(&r->out, &r->out_len, json_msg(true, "message", msg));
		free(msg);
	} else {
		resp_set_text(&r->out, &r->out_len, msg);
	}
}

void reply_diags(struct proto_resp *r, bool json, int code,
		    const struct sg_diags *dg)
{
	char *text = NULL;
	int rc = render_diags(dg, json, &text);

	if (rc < 0) {
		reply_fail(r, json, code, "cannot render the errors: %s",
			      strerror(-rc));
		return;
	}
	r->exit_code = code;
	if (json)
		resp_set_text(&r->out, &r->out_len, text);
	else
		resp_set_text(&r->err, &r->err_len, text);
}

void reply_render(struct proto_resp *r, bool json, int rc, char *text,
		  const char *what)
{
	if (rc < 0) {
		free(text);
		reply_fail(r, json, 1, "%s: %s", what, strerror(-rc));
		return;
	}
	r->exit_code = 0;
	resp_set_text(&r->out, &r->out_len, text);
}
