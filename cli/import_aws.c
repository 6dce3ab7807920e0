/*
 * import_aws.c — `sgctl import aws`: describe-security-groups JSON (or
 * another shape the aws CLI prints, import_shape.c) in, one sgd group file
 * per security group out, and with --prefix-lists one prefix_lists.d file
 * per managed prefix list whose entries were given (import_plist.c).
 *
 * The bytes are checked first (import_input.c: empty, UTF-16, YAML, not
 * strict JSON).  The --prefix-lists files are read before the groups, so
 * that a PrefixListIds source can name its list.  Two passes over the document: the first gives every group its sgd name
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
	fprintf(f, "usage: sgctl import aws FILE [-o DIR] [--prefix-lists [pl-ID=]FILE]... "
		"[--lists-dir DIR]\n"
		"  FILE    output of `aws ec2 describe-security-groups` (- for stdin), its\n"
		"          SecurityGroups list, one group, or describe-security-group-rules\n"
		"  -o DIR  where to write one <group>.yaml per group (default: .; created)\n"
		"  --prefix-lists [pl-ID=]FILE\n"
		"          output of `aws ec2 describe-managed-prefix-lists`, or of\n"
		"          `aws ec2 get-managed-prefix-list-entries --prefix-list-id pl-ID`\n"
		"          (then as pl-ID=FILE); repeatable\n"
		"  --lists-dir DIR  where the lists go (default: prefix_lists.d next to -o DIR)\n"
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

/* dir, and its missing parents (mkdir -p). */
static int imp_ensure_dir(const char *dir)
{
	char path[4096];
	struct stat st;
	size_t i, len = strlen(dir);

	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (errno != ENOENT)
		return -errno;
	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (stat(path, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if (i < len)
			path[i] = '/';
	}
	return 0;
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
	json_key(&j, "prefix_lists");
	json_arr_begin(&j);
	for (i = 0; res && i < res->n_plists; i++) {
		const struct imp_plist *pl = &res->plists[i];

		json_obj_begin(&j);
		json_kstr(&j, "aws_id", pl->aws_id);
		json_kstr(&j, "aws_name", pl->aws_name);
		json_kstr(&j, "name", pl->name);
		json_kstr(&j, "file", pl->file);
		json_kbool(&j, "written", pl->have_entries && pl->n_entries > 0 && error == NULL);
		json_kuint(&j, "entries", pl->n_entries);
		json_kstr(&j, "note", pl->note);
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

#define IMP_MAX_LIST_FILES 64

struct imp_args {
	const char *file;
	const char *dir;
	const char *lists[IMP_MAX_LIST_FILES];	/* --prefix-lists, as given */
	size_t n_lists;
	const char *lists_dir;	/* NULL: prefix_lists.d next to dir */
};

/* 0; 2 for bad usage (reported); -1 when --help was printed. */
static int imp_parse_args(int argc, char **argv, struct imp_args *a)
{
	int i;
	bool opts = true;

	memset(a, 0, sizeof(*a));
	a->dir = ".";
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (opts && (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)) {
			imp_usage(stdout);
			return -1;
		} else if (opts && (strcmp(s, "--prefix-lists") == 0 ||
				    strcmp(s, "--lists-dir") == 0)) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				fprintf(stderr, "sgctl: import aws: %s needs %s\n", s,
					s[2] == 'p' ? "a file" : "a directory");
				return 2;
			}
			if (s[2] == 'l') {
				a->lists_dir = argv[++i];
			} else if (a->n_lists == IMP_MAX_LIST_FILES) {
				fprintf(stderr, "sgctl: import aws: more than %d --prefix-lists\n",
					IMP_MAX_LIST_FILES);
				return 2;
			} else {
				a->lists[a->n_lists++] = argv[++i];
			}
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

/* Read and parse one input file (the groups, or a --prefix-lists one).
 * Returns 0 with *root, 1 when the file is empty, or -errno with the
 * message (naming the file) in msg. */
static int imp_load_json(const char *file, struct jt_node *root, char *msg, size_t msglen)
{
	char err[512], *buf = NULL;
	size_t len = 0, skip;
	int r;

	r = imp_read_input(file, &buf, &len);
	if (r < 0) {
		snprintf(msg, msglen, "%s: %s", file,
			 r == -E2BIG ? "larger than the 64 MiB cap" : strerror(-r));
		return r;
	}
	err[0] = '\0';
	/* a UTF-8 byte-order mark (PowerShell's Out-File -Encoding utf8 writes
	 * one) is not part of the text; RFC 8259 lets a reader ignore it */
	skip = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	r = imp_input_check(buf + skip, len - skip, err, sizeof(err));
	if (r == 0)
		r = jt_parse(buf + skip, len - skip, root, err, sizeof(err));
	free(buf);
	if (r < 0)
		snprintf(msg, msglen, "%s:%s", file, err[0] ? err : strerror(-r));
	return r;
}

/* Each --prefix-lists [pl-ID=]FILE into res. */
static int imp_read_lists(const struct imp_args *a, struct imp_result *res, char *msg,
			  size_t msglen)
{
	char err[512], hint[64];
	struct jt_node root;
	size_t i;
	int r;

	for (i = 0; i < a->n_lists; i++) {
		const char *file = a->lists[i], *eq = strchr(file, '=');
		const char *id = NULL;

		if (eq && strncmp(file, "pl-", 3) == 0 && (size_t)(eq - file) < sizeof(hint)) {
			snprintf(hint, sizeof(hint), "%.*s", (int)(eq - file), file);
			id = hint;
			file = eq + 1;
		}
		r = imp_load_json(file, &root, msg, msglen);
		if (r == 1) {
			snprintf(msg, msglen, "%s: empty file (--prefix-lists)", file);
			return -EINVAL;
		}
		if (r < 0)
			return r;
		r = imp_map_plists(&root, id, res, err, sizeof(err));
		jt_free(&root);
		if (r < 0) {
			snprintf(msg, msglen, "%s:%s", file, err[0] ? err : strerror(-r));
			return r;
		}
	}
	return 0;
}

/* The directory the lists go to: --lists-dir, or prefix_lists.d next to
 * the groups' directory (which is normally CONFDIR/groups.d). */
static void imp_lists_dir(const struct imp_args *a, char *buf, size_t len)
{
	const char *slash;
	size_t n = strlen(a->dir);

	if (a->lists_dir) {
		snprintf(buf, len, "%s", a->lists_dir);
		return;
	}
	while (n > 1 && a->dir[n - 1] == '/')
		n--;
	for (slash = a->dir + n; slash > a->dir && slash[-1] != '/'; slash--)
		;
	if (slash == a->dir)
		snprintf(buf, len, "%s/../prefix_lists.d", n == 1 && a->dir[0] == '.' ? "." :
			 a->dir);
	else
		snprintf(buf, len, "%.*sprefix_lists.d", (int)(slash - a->dir), a->dir);
}

static bool imp_plist_written(const struct imp_plist *pl)
{
	return pl->have_entries && pl->n_entries > 0;
}

/* Write every list with entries; reports the others. */
static int imp_write_lists(const struct imp_args *a, const struct imp_result *res, bool json,
			   char *msg, size_t msglen)
{
	char dir[4096];
	char *text;
	size_t i;
	int r;

	imp_lists_dir(a, dir, sizeof(dir));
	for (i = 0; i < res->n_plists; i++) {
		const struct imp_plist *pl = &res->plists[i];

		if (pl->note)
			fprintf(stderr, "sgctl: import aws: %s\n", pl->note);
		if (!imp_plist_written(pl))
			continue;
		r = imp_ensure_dir(dir);
		if (r == 0)
			r = imp_render_plist(pl, &text);
		if (r == 0) {
			r = imp_write_file(dir, pl->file, text);
			free(text);
		}
		if (r < 0) {
			snprintf(msg, msglen, "%.500s/%.80s: %s", dir, pl->file, strerror(-r));
			return r;
		}
		if (!json)
			printf("wrote %s/%s from %s%s%s%s\n", dir, pl->file, pl->aws_id,
			       pl->aws_name ? " (" : "", pl->aws_name ? pl->aws_name : "",
			       pl->aws_name ? ")" : "");
	}
	return 0;
}

int import_aws_main(int argc, char **argv, bool json)
{
	struct imp_result res;
	struct imp_args a;
	struct jt_node root;
	char err[512], msg[768];
	char *text;
	size_t i, written = 0;
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
	r = imp_read_lists(&a, &res, msg, sizeof(msg));
	if (r < 0)
		goto fail;
	r = imp_load_json(a.file, &root, msg, sizeof(msg));
	if (r < 0)
		goto fail;
	if (r == 1) {
		/* an empty document (an account with no groups, a filter that
		 * matched nothing) is not an error */
		if (json)
			imp_print_json(a.file, a.dir, &res, 0, NULL, 0);
		else
			printf("%s: empty document: 0 groups, nothing written\n", a.file);
		imp_result_free(&res);
		return 0;
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
	if (imp_write_lists(&a, &res, json, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "sgctl: import aws: %s\n", msg);
		if (json)
			imp_print_json(a.file, a.dir, &res, written, msg, 1);
		imp_result_free(&res);
		return 1;
	}
	if (!json && res.n_groups == 0)
		printf("%s: 0 groups, nothing written\n", a.file);
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
