/*
 * load.c — read a configuration directory (sgd.yaml, groups.d/NAME.yaml,
 * prefix_lists.d/NAME.yaml) or a normalized stream into the model, and the
 * small helpers every part of the loader uses.  See config.h.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "loader.h"
#include "safeopen.h"

/* ---- helpers ---------------------------------------------------------- */

static size_t load_hash(const char *s)
{
	size_t h = 14695981039346656037ull;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Rebuild the intern hash (slots hold file index + 1) at twice the size. */
static int load_intern_grow(struct ld_ctx *c)
{
	size_t cap = c->intern_cap ? c->intern_cap * 2 : 64;
	size_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < c->cfg->n_files; i++) {
		size_t h = load_hash(c->cfg->files[i]) & (cap - 1);

		while (slots[h])
			h = (h + 1) & (cap - 1);
		slots[h] = i + 1;
	}
	free(c->intern);
	c->intern = slots;
	c->intern_cap = cap;
	return 0;
}

/* A hash keeps this O(1): 10,000 group files intern 20,000 times. */
const char *load_intern(struct ld_ctx *c, const char *file)
{
	struct sg_config *cfg = c->cfg;
	size_t h;
	char *s;

	if (cfg->n_files * 2 >= c->intern_cap && load_intern_grow(c) < 0)
		return NULL;
	h = load_hash(file) & (c->intern_cap - 1);
	for (; c->intern[h]; h = (h + 1) & (c->intern_cap - 1))
		if (strcmp(cfg->files[c->intern[h] - 1], file) == 0)
			return cfg->files[c->intern[h] - 1];
	if (cfg->n_files == c->files_cap) {
		size_t cap = c->files_cap ? c->files_cap * 2 : 16;
		char **v = realloc(cfg->files, cap * sizeof(*v));

		if (!v)
			return NULL;
		cfg->files = v;
		c->files_cap = cap;
	}
	s = strdup(file);
	if (!s)
		return NULL;
	c->intern[h] = cfg->n_files + 1;
	cfg->files[cfg->n_files++] = s;
	return s;
}

static int load_lc(char ch)
{
	return tolower((unsigned char)ch);
}

/* Optimal string alignment distance (a swap of two neighbours counts as
 * one edit, so "form" is one edit from "from"), case-insensitive, capped
 * at 9 for long words. */
static int load_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[33][33];

	if (la > 32 || lb > 32)
		return 9;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int cost = load_lc(a[i - 1]) != load_lc(b[j - 1]);
			int v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && load_lc(a[i - 1]) == load_lc(b[j - 2]) &&
			    load_lc(a[i - 2]) == load_lc(b[j - 1]) && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

const char *load_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	int best_d = 3;
	size_t wl = strlen(word);

	for (size_t i = 0; i < n; i++) {
		int dist = load_distance(word, cands[i]);

		/* a short word is "close" to everything short: demand that
		 * at least half of it survives */
		if (dist < best_d && (size_t)dist * 2 <= wl) {
			best = cands[i];
			best_d = dist;
		}
	}
	return best;
}

void load_check_keys(struct ld_ctx *c, const struct yt_node *map,
		     const char *const *keys, size_t n, const char *ignore)
{
	for (size_t i = 0; i < map->n_pairs; i++) {
		const struct yt_node *k = map->pairs[i].key;
		const char *s;
		size_t j;

		for (j = 0; j < n && strcmp(k->str, keys[j]) != 0; j++)
			;
		if (j < n || (ignore && strcmp(k->str, ignore) == 0))
			continue;
		s = load_suggest(k->str, keys, n);
		if (s) {
			diags_add(c->d, &k->pos, "unknown key '%s'; did you mean '%s'?", k->str, s);
		} else {
			char list[256] = "";
			size_t off = 0;

			for (j = 0; j < n && off < sizeof(list); j++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
							j ? ", " : "", keys[j]);
			diags_add(c->d, &k->pos, "unknown key '%s' (expected one of: %s)", k->str, list);
		}
	}
}

const struct yt_node *load_get(const struct yt_node *map, const char *key,
			       const struct yt_node **key_node)
{
	for (size_t i = 0; i < map->n_pairs; i++) {
		if (strcmp(map->pairs[i].key->str, key) == 0) {
			if (key_node)
				*key_node = map->pairs[i].key;
			return map->pairs[i].val;
		}
	}
	return NULL;
}

const char *load_scalar(struct ld_ctx *c, const char *key, const struct yt_node *v,
			const char *what)
{
	if (v->kind == YT_SCALAR && !yt_is_null(v))
		return v->str;
	diags_add(c->d, &v->pos, "%s: expected %s, got %s", key, what, yt_describe(v));
	return NULL;
}

int load_string(struct ld_ctx *c, const char *key, const struct yt_node *v, char **out)
{
	const char *s = load_scalar(c, key, v, "a string");

	if (!s)
		return -EINVAL;
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int load_bool(struct ld_ctx *c, const char *key, const struct yt_node *v, bool *out)
{
	const char *s = load_scalar(c, key, v, "true or false");

	if (!s)
		return -EINVAL;
	if (strcasecmp(s, "true") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0)
		*out = false;
	else {
		diags_add(c->d, &v->pos, "%s: expected true or false, got '%s'", key, s);
		return -EINVAL;
	}
	return 0;
}

const struct yt_node *load_list(struct ld_ctx *c, const char *key,
				const struct yt_node *v, const char *what)
{
	if (v->kind == YT_SEQ)
		return v;
	diags_add(c->d, &v->pos, "%s: expected a list of %s, got %s", key, what, yt_describe(v));
	return NULL;
}

int load_parse_int(const char *s, long *v)
{
	const char *p = s;
	long x = 0;

	if (*p == '-')
		p++;
	if (*p == '\0')
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (x < 100000000)	/* saturate; callers only need "too big" */
			x = x * 10 + (*p - '0');
	}
	*v = *s == '-' ? -x : x;
	return x >= 100000000 ? -ERANGE : 0;
}

static bool load_name_chars(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !isascii((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isascii((unsigned char)s[i]) && isalnum((unsigned char)s[i])) &&
		    !strchr(extra, s[i]))
			return false;
	return true;
}

bool load_group_name_valid(const char *s)
{
	bool addr_like = true;

	if (!load_name_chars(s, 64, "_.-"))
		return false;
	/* a name made of digits and dots would read as an IPv4 address in a
	 * rule's from/to, so it is not a name */
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			addr_like = false;
	return !addr_like;
}

/* An AWS resource id: PREFIX ("sg-", "pl-") and 8 or 17 hex digits. */
bool load_aws_id_valid(const char *s, const char *prefix)
{
	size_t n;

	if (strncmp(s, prefix, 3) != 0)
		return false;
	n = strlen(s + 3);
	if (n != 8 && n != 17)
		return false;
	for (const char *p = s + 3; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

bool load_group_id_valid(const char *s)
{
	return load_aws_id_valid(s, "sg-");
}

void load_mark_broken(struct ld_ctx *c, const char *stem)
{
	char **v = realloc(c->broken, (c->n_broken + 1) * sizeof(*v));

	if (!v)
		return;	/* only costs an extra "unknown group" line */
	c->broken = v;
	if ((v[c->n_broken] = strdup(stem)))
		c->n_broken++;
}

/* ---- files ------------------------------------------------------------ */

/* The single document of a file, or NULL after reporting why not. */
static const struct yt_node *load_one_doc(struct ld_ctx *c, const struct yt_stream *st,
					  const char *file, const char *what)
{
	if (st->n_docs == 0 || !st->docs[0].root) {
		diags_add_file(c->d, file, "file is empty; expected a mapping (%s)", what);
		return NULL;
	}
	if (st->n_docs > 1) {
		diags_add(c->d, &st->docs[1].pos, "a second YAML document; one file holds "
			  "exactly one mapping (%s)", what);
		return NULL;
	}
	if (st->docs[0].root->kind != YT_MAP) {
		diags_add(c->d, &st->docs[0].root->pos, "expected a mapping (%s), got %s",
			  what, yt_describe(st->docs[0].root));
		return NULL;
	}
	return st->docs[0].root;
}

static int load_file(struct ld_ctx *c, int dirfd, const char *path, const char *name,
		     const struct yt_hook *hook, struct yt_stream *st)
{
	const char *file = load_intern(c, name);
	char *buf;
	size_t len;
	int r;

	if (!file)
		return -ENOMEM;
	r = yt_read_file(dirfd, path, file, &buf, &len, c->d);
	if (r < 0)
		return r;
	r = yt_parse_hooked(buf, len, file, hook, st, c->d);
	free(buf);
	return r;
}

static const char SETTINGS_WHAT[] = "table, attach, interfaces, implicit, ...";
static const char GROUP_WHAT[] = "name, ingress, egress, ...";

static int load_settings_file(struct ld_ctx *c, int dirfd)
{
	struct yt_stream st;
	const struct yt_node *root;
	int r = load_file(c, dirfd, "sgd.yaml", "sgd.yaml", NULL, &st);

	if (r < 0)
		return r;
	if ((root = load_one_doc(c, &st, "sgd.yaml", SETTINGS_WHAT)))
		load_settings(c, root);
	yt_stream_free(&st);
	return 0;
}

static int load_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* File names end up in messages and in the normalized print's comments:
 * a control character (a newline above all) or bytes that are not UTF-8
 * would break both. */
static bool load_file_name_ok(const char *s)
{
	if (yt_utf8_check((const unsigned char *)s, strlen(s)) != strlen(s))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* The *.yaml names in sub (groups.d, prefix_lists.d), sorted; hidden
 * files are skipped. */
static int load_list_dir(struct ld_ctx *c, int dirfd, const char *sub, size_t max,
			 char ***names, size_t *n)
{
	DIR *dir;
	struct dirent *de;
	char why[160];
	int fd, r = 0;

	*names = NULL;
	*n = 0;
	fd = safeopen_dir(dirfd, sub, why, sizeof(why));
	if (fd < 0) {
		if (fd == -ENOENT)
			return 0;	/* no groups.d: a host with no groups */
		diags_add_file(c->d, sub, "%s", why);
		return fd;
	}
	dir = fdopendir(fd);
	if (!dir) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(dir))) {
		size_t l = strlen(de->d_name);
		char **v;

		if (de->d_name[0] == '.' || l <= 5 || strcmp(de->d_name + l - 5, ".yaml") != 0)
			continue;
		if (!load_file_name_ok(de->d_name)) {
			char shown[NAME_MAX + 16];

			snprintf(shown, sizeof(shown), "%s/%s", sub, de->d_name);
			for (char *p = shown; *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
					*p = '?';
			diags_add_file(c->d, shown, "file name contains control characters "
				       "or is not UTF-8; rename the file");
			continue;
		}
		if (*n >= max) {
			diags_add_file(c->d, sub, "more than %zu %s files", max,
				       strcmp(sub, "groups.d") == 0 ? "group" : "prefix list");
			r = -EINVAL;
			break;
		}
		v = realloc(*names, (*n + 1) * sizeof(*v));
		if (!v || !(v[*n] = strdup(de->d_name))) {
			if (v)
				*names = v;
			r = -ENOMEM;
			break;
		}
		*names = v;
		(*n)++;
	}
	closedir(dir);
	if (*n)
		qsort(*names, *n, sizeof(**names), load_name_cmp);
	return r;
}

static int load_group_file(struct ld_ctx *c, int dirfd, const char *base)
{
	char path[PATH_MAX], stem[256];
	struct yt_stream st;
	struct yt_hook hook;
	const struct yt_node *root;
	size_t l = strlen(base) - 5;
	int r;

	snprintf(path, sizeof(path), "groups.d/%s", base);
	snprintf(stem, sizeof(stem), "%.*s", (int)l, base);
	/* rules are converted while the file is parsed: a tree of a big
	 * group file would cost several times the rules it holds */
	load_group_hook(c, &hook);
	r = load_file(c, dirfd, path, path, &hook, &st);
	if (r < 0)
		load_pending_free(c);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		load_mark_broken(c, stem);
		return 0;
	}
	root = load_one_doc(c, &st, load_intern(c, path), GROUP_WHAT);
	if (root)
		r = load_group(c, root, load_intern(c, path), stem);
	else
		load_mark_broken(c, stem);
	load_pending_free(c);	/* what no group took: a second document, ... */
	yt_stream_free(&st);
	return r == -ENOMEM ? r : 0;
}

static const char PLIST_WHAT[] = "name, id, entries";

static int load_plist_file(struct ld_ctx *c, int dirfd, const char *base)
{
	char path[PATH_MAX], stem[256];
	struct yt_stream st;
	const struct yt_node *root;
	size_t l = strlen(base) - 5;
	int r;

	snprintf(path, sizeof(path), "prefix_lists.d/%s", base);
	snprintf(stem, sizeof(stem), "%.*s", (int)l, base);
	r = load_file(c, dirfd, path, path, NULL, &st);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		load_mark_broken(c, stem);
		return 0;
	}
	root = load_one_doc(c, &st, load_intern(c, path), PLIST_WHAT);
	if (root)
		r = load_plist(c, root, load_intern(c, path), stem);
	else
		load_mark_broken(c, stem);
	yt_stream_free(&st);
	return r == -ENOMEM ? r : 0;
}

/* Load every file of sub with fn; only ENOMEM stops. */
static int load_dir_files(struct ld_ctx *c, int dirfd, const char *sub, size_t max,
			  int (*fn)(struct ld_ctx *, int, const char *))
{
	char **names = NULL;
	size_t n_names = 0;
	int r = load_list_dir(c, dirfd, sub, max, &names, &n_names);

	if (r != -ENOMEM)
		r = 0;
	for (size_t i = 0; i < n_names && r != -ENOMEM; i++)
		r = fn(c, dirfd, names[i]);
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	return r;
}

static struct sg_config *load_cfg_new(const char *dir)
{
	struct sg_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->dir = strdup(dir);
	cfg->table = strdup("sgd");
	cfg->implicit = (struct sg_implicit){
		.loopback = true, .dhcp = true, .ipv6_nd = true, .metadata = true,
		.ipv6_redirects = false, .aws_dns = true, .aws_ntp = true,
	};
	cfg->on_drift = SG_DRIFT_REPAIR;
	cfg->forward = SG_FWD_CONTAINERS;
	if (!cfg->dir || !cfg->table) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Validate and hand out the config, or free it when anything was wrong. */
static int load_finish(struct ld_ctx *c, size_t n_before, int r, struct sg_config **out)
{
	if (r == 0)
		validate_config(c);
	for (size_t i = 0; i < c->n_broken; i++)
		free(c->broken[i]);
	free(c->broken);
	free(c->intern);
	if (r == 0 && c->d->n > n_before)
		r = -EINVAL;
	if (r < 0) {
		if (c->d->n == n_before)
			diags_add_file(c->d, c->cfg->dir, "cannot load: %s", strerror(-r));
		config_free(c->cfg);
		return r;
	}
	*out = c->cfg;
	return 0;
}

int config_load(const char *confdir, struct sg_config **out, struct sg_diags *diags)
{
	struct ld_ctx c = { .d = diags };
	size_t n_before = diags->n;
	int dirfd, r = 0;

	*out = NULL;
	c.cfg = load_cfg_new(confdir);
	if (!c.cfg)
		return -ENOMEM;
	dirfd = open(confdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		r = -errno;
		diags_add_file(diags, confdir, "cannot open configuration directory: %s",
			       strerror(-r));
		return load_finish(&c, n_before, r, out);
	}
	if (faccessat(dirfd, "sgd.yaml", F_OK, 0) < 0 && errno == ENOENT)
		diags_add_file(diags, "sgd.yaml", "missing: every configuration directory needs "
			       "an sgd.yaml (it may be just \"attach: []\")");
	else
		r = load_settings_file(&c, dirfd);
	if (r != -ENOMEM)
		r = load_dir_files(&c, dirfd, "groups.d", SG_MAX_GROUP_FILES, load_group_file);
	if (r != -ENOMEM)
		r = load_dir_files(&c, dirfd, "prefix_lists.d", SG_MAX_PLIST_FILES,
				   load_plist_file);
	close(dirfd);
	/* I/O and YAML problems were reported; only ENOMEM stops validation */
	return load_finish(&c, n_before, r == -ENOMEM ? r : 0, out);
}

/* The file name that config_print wrote after "---  # ", on the line where
 * the document starts; "document N" when there is none. */
static void load_stream_docname(const char *buf, const struct yt_doc *doc, size_t idx,
				char *name, size_t len)
{
	const char *p = buf;
	const char *tag = "--- # ";

	for (int line = 1; line < doc->pos.line && p; line++)
		if ((p = strchr(p, '\n')))
			p++;
	if (p && strncmp(p, tag, strlen(tag)) == 0) {
		size_t n = strcspn(p + strlen(tag), "\r\n");

		snprintf(name, len, "%.*s", (int)n, p + strlen(tag));
		return;
	}
	snprintf(name, len, "document %zu", idx + 1);
}

int config_load_stream(const char *path, struct sg_config **out, struct sg_diags *diags)
{
	struct ld_ctx c = { .d = diags };
	size_t n_before = diags->n;
	struct yt_stream st;
	const char *file;
	char *buf;
	size_t len;
	int r;

	*out = NULL;
	c.cfg = load_cfg_new(path);
	if (!c.cfg)
		return -ENOMEM;
	if (!(file = load_intern(&c, path)))
		return load_finish(&c, n_before, -ENOMEM, out);
	r = yt_read_file(AT_FDCWD, path, file, &buf, &len, diags);
	if (r < 0)
		return load_finish(&c, n_before, r == -ENOMEM ? r : 0, out);
	r = yt_parse(buf, len, file, &st, diags);
	if (r < 0) {
		free(buf);
		return load_finish(&c, n_before, r == -ENOMEM ? r : 0, out);
	}
	for (size_t i = 0; i < st.n_docs && r == 0; i++) {
		const struct yt_node *root = st.docs[i].root;
		char name[300], stem[256];
		const char *base, *dot;

		if (!root || root->kind != YT_MAP) {
			diags_add(diags, &st.docs[i].pos, "expected a mapping (%s), got %s",
				  i ? GROUP_WHAT : SETTINGS_WHAT,
				  root ? yt_describe(root) : "nothing");
			continue;
		}
		if (i == 0) {
			load_settings(&c, root);
			continue;
		}
		load_stream_docname(buf, &st.docs[i], i, name, sizeof(name));
		base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
		dot = strrchr(base, '.');
		snprintf(stem, sizeof(stem), "%.*s", (int)(dot ? dot - base : (long)strlen(base)), base);
		if (strncmp(name, "prefix_lists.d/", 15) == 0)
			r = load_plist(&c, root, load_intern(&c, name), stem);
		else
			r = load_group(&c, root, load_intern(&c, name), stem);
	}
	if (st.n_docs == 0)
		diags_add_file(diags, file, "file is empty; expected the sgd.yaml document");
	yt_stream_free(&st);
	free(buf);
	return load_finish(&c, n_before, r == -ENOMEM ? r : 0, out);
}

/* ---- free ------------------------------------------------------------- */

static void load_refs_free(struct sg_ref *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

void config_free(struct sg_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->dir);
	free(cfg->table);
	load_refs_free(cfg->attach, cfg->n_attach);
	for (size_t i = 0; i < cfg->n_ifaces; i++) {
		free(cfg->ifaces[i].ifname);
		load_refs_free(cfg->ifaces[i].groups, cfg->ifaces[i].n_groups);
	}
	free(cfg->ifaces);
	for (size_t i = 0; i < cfg->n_failsafe; i++)
		load_rule_free(&cfg->failsafe[i]);
	free(cfg->failsafe);
	free(cfg->control_group);
	load_fleet_free(cfg->fleet);
	for (size_t i = 0; i < cfg->n_groups; i++)
		load_group_free(&cfg->groups[i]);
	free(cfg->groups);
	for (size_t i = 0; i < cfg->n_plists; i++)
		load_plist_free(&cfg->plists[i]);
	free(cfg->plists);
	for (size_t i = 0; i < cfg->n_files; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg);
}
