/*
 * import_plist.c — managed prefix lists for `sgctl import aws
 * --prefix-lists FILE`: their ids and names from
 * `aws ec2 describe-managed-prefix-lists`, their entries from
 * `aws ec2 get-managed-prefix-list-entries --prefix-list-id pl-...`
 * (whose output does not name the list: it is given as
 * --prefix-lists pl-...=FILE).  A list whose entries are known is written
 * to prefix_lists.d and referenced by name; any other is referenced by
 * its id and reported (import_map.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "import_map.h"

static int plist_err(char *err, size_t errlen, const struct jt_node *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int plist_err(char *err, size_t errlen, const struct jt_node *n, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(err, errlen, "%d:%d: ", n->line, n->col);

	if (k < 0 || (size_t)k >= errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool plist_null(const struct jt_node *v)
{
	return !v || (v->kind == JT_SCALAR && !v->quoted && strcmp(v->str, "null") == 0);
}

/* A string member, NULL when absent or null; -EINVAL for another type. */
static int plist_str(const struct jt_node *obj, const char *key, const char **out,
		     char *err, size_t errlen)
{
	const struct jt_node *v = jt_get(obj, key);

	*out = NULL;
	if (plist_null(v))
		return 0;
	if (v->kind != JT_SCALAR || !v->quoted)
		return plist_err(err, errlen, v, "\"%s\" must be a string", key);
	*out = v->str;
	return 0;
}

struct imp_plist *imp_plist_find(const struct imp_result *res, const char *id)
{
	for (size_t i = 0; i < res->n_plists; i++)
		if (strcmp(res->plists[i].aws_id, id) == 0)
			return &res->plists[i];
	return NULL;
}

/* The list with this id, added when new; NULL when out of memory. */
static struct imp_plist *plist_get(struct imp_result *res, const char *id)
{
	struct imp_plist *pl = imp_plist_find(res, id), *v;

	if (pl)
		return pl;
	v = realloc(res->plists, (res->n_plists + 1) * sizeof(*v));
	if (!v)
		return NULL;
	res->plists = v;
	pl = &v[res->n_plists];
	memset(pl, 0, sizeof(*pl));
	if (!(pl->aws_id = strdup(id)))
		return NULL;
	res->n_plists++;
	return pl;
}

/* Entries: [{"Cidr": ..., "Description": ...}] into pl (null: none). */
static int plist_entries(struct imp_plist *pl, const struct jt_node *list, char *err,
			 size_t errlen)
{
	size_t i, k;
	int r;

	if (pl->have_entries)
		return plist_err(err, errlen, list, "the entries of %s are given twice", pl->aws_id);
	pl->have_entries = true;
	if (plist_null(list))
		return 0;
	if (list->kind != JT_ARRAY)
		return plist_err(err, errlen, list, "\"Entries\" must be an array");
	pl->entries = calloc(list->n ? list->n : 1, sizeof(*pl->entries));
	if (!pl->entries)
		return -ENOMEM;
	for (i = 0; i < list->n; i++) {
		const struct jt_node *e = &list->kids[i];
		const char *cidr, *desc;
		struct sg_cidr c;
		char buf[64];

		if (e->kind != JT_OBJECT)
			return plist_err(err, errlen, e, "prefix list entries must be objects");
		if ((r = plist_str(e, "Cidr", &cidr, err, errlen)) < 0 ||
		    (r = plist_str(e, "Description", &desc, err, errlen)) < 0)
			return r;
		if (!cidr)
			return plist_err(err, errlen, e, "\"Cidr\" is missing");
		/* AWS stores networks; a host-bits CIDR is the network it means */
		r = cidr_parse(cidr, &c);
		if (r == -EINVAL)
			return plist_err(err, errlen, jt_get(e, "Cidr"), "Cidr \"%s\" is not a CIDR",
					 cidr);
		cidr_format(&c, buf, sizeof(buf));
		for (k = 0; k < pl->n_entries && strcmp(pl->entries[k].cidr, buf) != 0; k++)
			;
		if (k < pl->n_entries)
			continue;	/* AWS keeps one entry per CIDR; so does sgd */
		pl->entries[k].cidr = strdup(buf);
		pl->entries[k].description = desc && desc[0] ? strdup(desc) : NULL;
		pl->n_entries++;
		if (!pl->entries[k].cidr || (desc && desc[0] && !pl->entries[k].description))
			return -ENOMEM;
	}
	return 0;
}

int imp_map_plists(const struct jt_node *root, const char *id_hint, struct imp_result *res,
		   char *err, size_t errlen)
{
	const struct jt_node *v;
	struct imp_plist *pl;
	size_t i;
	int r;

	if (errlen)
		err[0] = '\0';
	if (root->kind == JT_OBJECT && (v = jt_get(root, "Entries"))) {
		if (!id_hint)
			return plist_err(err, errlen, root, "get-managed-prefix-list-entries output "
					 "does not say which list it is: give it as "
					 "--prefix-lists pl-ID=FILE");
		if (!imp_aws_id_ok(id_hint, "pl-"))
			return plist_err(err, errlen, root, "\"%s\" is not a prefix list id "
					 "(pl- and 8 or 17 hex digits)", id_hint);
		if (!(pl = plist_get(res, id_hint)))
			return -ENOMEM;
		return plist_entries(pl, v, err, errlen);
	}
	if (root->kind != JT_OBJECT || !(v = jt_get(root, "PrefixLists")))
		return plist_err(err, errlen, root, "expected the output of "
				 "describe-managed-prefix-lists (\"PrefixLists\") or of "
				 "get-managed-prefix-list-entries (\"Entries\")");
	if (plist_null(v))
		return 0;
	if (v->kind != JT_ARRAY)
		return plist_err(err, errlen, v, "\"PrefixLists\" must be an array");
	for (i = 0; i < v->n; i++) {
		const struct jt_node *e = &v->kids[i];
		const char *id, *name;

		if (e->kind != JT_OBJECT)
			return plist_err(err, errlen, e, "a prefix list must be an object");
		if ((r = plist_str(e, "PrefixListId", &id, err, errlen)) < 0 ||
		    (r = plist_str(e, "PrefixListName", &name, err, errlen)) < 0)
			return r;
		if (!id)
			return plist_err(err, errlen, e, "\"PrefixListId\" is missing");
		if (!imp_aws_id_ok(id, "pl-"))
			return plist_err(err, errlen, jt_get(e, "PrefixListId"), "PrefixListId "
					 "\"%s\" is not a prefix list id", id);
		if (id_hint && strcmp(id_hint, id) != 0)
			continue;	/* pl-ID=FILE: only that list */
		if (!(pl = plist_get(res, id)))
			return -ENOMEM;
		if (name && !pl->aws_name && !(pl->aws_name = strdup(name)))
			return -ENOMEM;
		/* entries alongside (a document assembled with jq) */
		if (jt_get(e, "Entries") && (r = plist_entries(pl, jt_get(e, "Entries"), err,
							       errlen)) < 0)
			return r;
	}
	return 0;
}

/* true when name is taken by a group (name or id) or another list. */
static bool plist_taken(const struct imp_result *res, const struct imp_plist *self,
			const char *name)
{
	size_t i;

	for (i = 0; i < res->n_groups; i++)
		if (strcmp(res->groups[i].name, name) == 0 ||
		    strcmp(res->groups[i].aws_id, name) == 0)
			return true;
	for (i = 0; i < res->n_plists; i++) {
		const struct imp_plist *o = &res->plists[i];

		if (o == self)
			continue;
		if (strcmp(o->aws_id, name) == 0 || (o->name && strcmp(o->name, name) == 0))
			return true;
	}
	return false;
}

int imp_plists_name(struct imp_result *res)
{
	for (size_t i = 0; i < res->n_plists; i++) {
		struct imp_plist *pl = &res->plists[i];
		char *s;

		free(pl->name);
		pl->name = pl->aws_name ? imp_name_map(pl->aws_name, "list-", pl->aws_id) :
			   strdup(pl->aws_id);
		if (!pl->name)
			return -ENOMEM;
		if (plist_taken(res, pl, pl->name) && strcmp(pl->name, pl->aws_id) != 0) {
			if (!(s = imp_name_with_id(pl->name, pl->aws_id)))
				return -ENOMEM;
			free(pl->name);
			pl->name = s;
		}
		if (asprintf(&pl->file, "%s.yaml", pl->name) < 0) {
			pl->file = NULL;
			return -ENOMEM;
		}
		if (!pl->have_entries &&
		    asprintf(&pl->note, "prefix list %s%s%s%s: no entries given, not written; "
			     "add them with `aws ec2 get-managed-prefix-list-entries "
			     "--prefix-list-id %s > F` and --prefix-lists %s=F", pl->aws_id,
			     pl->aws_name ? " (" : "", pl->aws_name ? pl->aws_name : "",
			     pl->aws_name ? ")" : "", pl->aws_id, pl->aws_id) < 0) {
			pl->note = NULL;
			return -ENOMEM;
		}
		if (pl->have_entries && pl->n_entries == 0 &&
		    asprintf(&pl->note, "prefix list %s has no entries, not written (sgd "
			     "refuses an empty list); references to it allow nothing and are "
			     "left out", pl->aws_id) < 0) {
			pl->note = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}
