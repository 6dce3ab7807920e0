/*
 * import_aws.c — `sgctl import aws`: describe-security-groups JSON in,
 * one sgd group file per security group out.
 *
 * Two passes over the document: the first gives every group its sgd name
 * (sanitized, made unique), so that the second can turn group references
 * by GroupId into names whatever order the groups come in.  Nothing is
 * written until the whole document has been read and mapped: a document
 * of the wrong shape writes no file at all.  What AWS allows but sgd
 * cannot say is skipped, reported by name (stderr, --json, and a comment
 * in the file) and makes the exit code 1; see docs/import-aws.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "import_aws.h"
#include "import_map.h"
#include "json_tree.h"
#include "out.h"

static void imp_usage(FILE *f)
{
	fprintf(f, "usage: sgctl import aws FILE [-o DIR]\n"
		"  FILE    output of `aws ec2 describe-security-groups` (- for stdin)\n"
		"  -o DIR  where to write one <group>.yaml per group (default: .)\n"
		"See docs/import-aws.md for the mapping and the exit codes.\n");
}

/* Read all of path ("-" = stdin), refusing more than JT_MAX_SIZE bytes. */
static int imp_read_input(const char *path, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 65536, n = 0, k;
	char *b, *nb;
	int r = 0;

	if (!f)
		return -errno;
	b = malloc(cap);
	if (!b) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (n == cap) {
			if (cap > JT_MAX_SIZE) {
				r = -E2BIG;
				break;
			}
			nb = realloc(b, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			b = nb;
			cap *= 2;
		}
		k = fread(b + n, 1, cap - n, f);
		n += k;
		if (k == 0) {
			if (ferror(f))
				r = -EIO;
			break;
		}
	}
	if (r == 0 && n > JT_MAX_SIZE)
		r = -E2BIG;
out:
	if (f != stdin)
		fclose(f);
	if (r < 0) {
		free(b);
		return r;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Write text to dir/name atomically: a temporary file in the same
 * directory renamed over the target, so a reader never sees half a file. */
static int imp_write_file(const char *dir, const char *name, const char *text)
{
	char tmp[4096], dst[4096];
	size_t len = strlen(text), off = 0;
	ssize_t k;
	int fd, r = 0;

	if ((size_t)snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= sizeof(dst) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	while (off < len) {
		k = write(fd, text + off, len - off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)k;
	}
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int imp_ensure_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (errno != ENOENT)
		return -errno;
	return mkdir(dir, 0755) < 0 ? -errno : 0;
}

static const char *imp_dir_name(enum sg_dir d)
{
	return d == SG_DIR_IN ? "ingress" : "egress";
}

/* printf to f for a terminal: AWS names, descriptions and messages may
 * hold control characters, written as \xNN (out_write_text). */
static void imp_say(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void imp_say(FILE *f, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	(void)out_write_text(f, s, (size_t)n);
	free(s);
}

/* One line per problem on stderr, naming the group and the thing. */
static void imp_print_problems(const char *file, const struct imp_result *res)
{
	const struct imp_problem *p;
	size_t i;

	for (i = 0; i < res->n_problems; i++) {
		p = &res->problems[i];
		if (p->dir < 0)
			imp_say(stderr, "sgctl: import aws: %s: %s (%s): %s\n", file,
				p->group_id, p->group_name, p->message);
		else
			imp_say(stderr, "sgctl: import aws: %s: %s (%s): %s permission %d: %s\n",
				file, p->group_id, p->group_name,
				imp_dir_name((enum sg_dir)p->dir), p->permission, p->message);
	}
}

static void imp_json_problems(struct json_w *j, const struct imp_result *res)
{
	const struct imp_problem *p;
	size_t i;

	json_key(j, "problems");
	json_arr_begin(j);
	for (i = 0; i < res->n_problems; i++) {
		p = &res->problems[i];
		json_obj_begin(j);
		json_kstr(j, "group_id", p->group_id);
		json_kstr(j, "group", p->group_name);
		json_kstr(j, "direction", p->dir < 0 ? NULL : imp_dir_name((enum sg_dir)p->dir));
		if (p->dir < 0)
			json_knull(j, "permission");
		else
			json_kint(j, "permission", p->permission);
		json_kstr(j, "kind", imp_problem_kind_name(p->kind));
		json_kstr(j, "what", p->what);
		json_kstr(j, "action", imp_problem_action(p->kind));
		json_kstr(j, "message", p->message);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* The --json document: always printed, also on failure. */
static int imp_print_json(const char *file, const char *dir, const struct imp_result *res,
			  size_t n_written, const char *error, int code)
{
	struct out_buf b;
	struct json_w j;
	char *text;
	size_t i;
	int r;

	out_init(&b);
	json_init(&j, &b);
	json_obj_begin(&j);
	json_kbool(&j, "ok", code == 0);
	json_kint(&j, "exit_code", code);
	json_kstr(&j, "file", file);
	json_kstr(&j, "dir", dir);
	json_kstr(&j, "error", error);
	json_key(&j, "groups");
	json_arr_begin(&j);
	for (i = 0; res && i < res->n_groups; i++) {
		const struct imp_group *g = &res->groups[i];

		json_obj_begin(&j);
		json_kstr(&j, "aws_id", g->aws_id);
		json_kstr(&j, "aws_name", g->aws_name);
		json_kstr(&j, "name", g->name);
		json_kstr(&j, "file", g->file);
		json_kbool(&j, "written", i < n_written);
		json_kuint(&j, "ingress_rules", g->n_in);
		if (g->egress_present)
			json_kuint(&j, "egress_rules", g->n_out);
		else
			json_kstr(&j, "egress_rules", "default");
		json_obj_end(&j);
	}
	json_arr_end(&j);
	if (res) {
		imp_json_problems(&j, res);
	} else {
		json_key(&j, "problems");
		json_arr_begin(&j);
		json_arr_end(&j);
	}
	json_obj_end(&j);
	out_putc(&b, '\n');
	r = out_finish(&b, &text);
	if (r < 0)
		return r;
	(void)out_write_text(stdout, text, strlen(text));
	free(text);
	return 0;
}

struct imp_args {
	const char *file;
	const char *dir;
};

/* 0; 2 for bad usage (reported); -1 when --help was printed. */
static int imp_parse_args(int argc, char **argv, struct imp_args *a)
{
	int i;
	bool opts = true;

	a->file = NULL;
	a->dir = ".";
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (opts && (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)) {
			imp_usage(stdout);
			return -1;
		} else if (opts && (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0)) {
			if (i + 1 >= argc) {
				imp_say(stderr, "sgctl: import aws: %s needs a directory\n", s);
				return 2;
			}
			a->dir = argv[++i];
		} else if (opts && strncmp(s, "--output=", 9) == 0) {
			a->dir = s + 9;
		} else if (opts && strcmp(s, "--") == 0) {
			opts = false;
		} else if (opts && s[0] == '-' && s[1] != '\0') {
			imp_say(stderr, "sgctl: import aws: unknown option %s\n", s);
			return 2;
		} else if (!a->file) {
			a->file = s;
		} else {
			imp_say(stderr, "sgctl: import aws: unexpected argument %s\n", s);
			return 2;
		}
	}
	if (!a->file) {
		fprintf(stderr, "sgctl: import aws: FILE is missing\n");
		return 2;
	}
	if (a->dir[0] == '\0') {
		fprintf(stderr, "sgctl: import aws: -o needs a directory\n");
		return 2;
	}
	return 0;
}

int import_aws_main(int argc, char **argv, bool json)
{
	struct imp_result res;
	struct imp_args a;
	struct jt_node root;
	char err[512], msg[768];
	char *buf = NULL, *text;
	size_t len = 0, i, written = 0;
	int r, code;

	r = imp_parse_args(argc, argv, &a);
	if (r < 0)
		return 0;	/* --help */
	if (r > 0) {
		imp_usage(stderr);
		if (json)
			imp_print_json(a.file, a.dir, NULL, 0, "bad usage", r);
		return r;
	}
	imp_result_init(&res);
	r = imp_read_input(a.file, &buf, &len);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", a.file,
			 r == -E2BIG ? "larger than the 64 MiB cap" : strerror(-r));
		goto fail;
	}
	r = jt_parse(buf, len, &root, err, sizeof(err));
	free(buf);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s:%s", a.file, err[0] ? err : strerror(-r));
		goto fail;
	}
	r = imp_map_document(&root, &res, err, sizeof(err));
	jt_free(&root);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s:%s", a.file, err[0] ? err : strerror(-r));
		goto fail;
	}
	r = imp_ensure_dir(a.dir);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", a.dir, strerror(-r));
		goto fail;
	}
	imp_print_problems(a.file, &res);
	code = imp_result_exact(&res) ? 0 : 1;
	for (i = 0; i < res.n_groups; i++) {
		r = imp_render_group(&res.groups[i], &res, &text);
		if (r == 0) {
			r = imp_write_file(a.dir, res.groups[i].file, text);
			free(text);
		}
		if (r < 0) {
			snprintf(msg, sizeof(msg), "%s/%s: %s", a.dir, res.groups[i].file,
				 strerror(-r));
			imp_say(stderr, "sgctl: import aws: %s\n", msg);
			if (json)
				imp_print_json(a.file, a.dir, &res, written, msg, 1);
			imp_result_free(&res);
			return 1;
		}
		written++;
		if (!json)
			imp_say(stdout, "wrote %s/%s from %s (%s)\n", a.dir, res.groups[i].file,
			       res.groups[i].aws_id, res.groups[i].aws_name);
	}
	if (json && imp_print_json(a.file, a.dir, &res, written, NULL, code) < 0)
		code = 1;
	imp_result_free(&res);
	return code;
fail:
	imp_say(stderr, "sgctl: import aws: %s\n", msg);
	if (json)
		imp_print_json(a.file, a.dir, NULL, 0, msg, 1);
	imp_result_free(&res);
	return 1;
}
