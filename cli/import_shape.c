/*
 * import_shape.c — the shapes of input `sgctl import aws` accepts, brought
 * to one: an array of group objects as `describe-security-groups` prints
 * them under "SecurityGroups".
 *
 *   {"SecurityGroups": [...]}          describe-security-groups
 *   [...]                              ... --query SecurityGroups
 *   {"GroupId": ..., ...}              one group (--query SecurityGroups[0])
 *   {"SecurityGroupRules": [...]}      describe-security-group-rules
 *
 * The rules API has one object per rule (sgr-...) and no group names or
 * descriptions: its rules are gathered per GroupId, in document order,
 * into groups named by their id, each rule becoming one permission, with
 * the positions of the rule's own values, so errors point into the input.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_map.h"

static int shape_err(char *err, size_t errlen, const struct jt_node *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int shape_err(char *err, size_t errlen, const struct jt_node *n, const char *fmt, ...)
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

/* A new last child of parent (an array, or an object with key), zeroed,
 * of kind and at the position of at; NULL when out of memory.  Earlier
 * children may move. */
static struct jt_node *shape_add(struct jt_node *parent, const char *key, enum jt_kind kind,
				 const struct jt_node *at)
{
	struct jt_node *n;

	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		struct jt_node *kids = realloc(parent->kids, cap * sizeof(*kids));

		if (!kids)
			return NULL;
		parent->kids = kids;
		if (parent->kind == JT_OBJECT) {
			char **keys = realloc(parent->keys, cap * sizeof(*keys));

			if (!keys)
				return NULL;
			parent->keys = keys;
		}
		parent->cap = cap;
	}
	if (parent->kind == JT_OBJECT && !(parent->keys[parent->n] = strdup(key)))
		return NULL;
	n = &parent->kids[parent->n++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = at->line;
	n->col = at->col;
	return n;
}

/* A deep copy of src into dst (zeroed by the caller). */
static int shape_copy(struct jt_node *dst, const struct jt_node *src)
{
	size_t i;

	dst->kind = src->kind;
	dst->quoted = src->quoted;
	dst->line = src->line;
	dst->col = src->col;
	if (src->kind == JT_SCALAR)
		return (dst->str = strdup(src->str)) ? 0 : -ENOMEM;
	for (i = 0; i < src->n; i++) {
		struct jt_node *k = shape_add(dst, src->keys ? src->keys[i] : NULL,
					      src->kids[i].kind, &src->kids[i]);

		if (!k || shape_copy(k, &src->kids[i]) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* obj[key] = a copy of from[fkey], when from has it. */
static int shape_copy_key(struct jt_node *obj, const char *key, const struct jt_node *from,
			  const char *fkey)
{
	const struct jt_node *v = jt_get(from, fkey);
	struct jt_node *n;

	if (!v)
		return 0;
	n = shape_add(obj, key, v->kind, v);
	return n ? shape_copy(n, v) : -ENOMEM;
}

/* perm[list] = [{key: rule[rkey], Description: rule.Description}] */
static int shape_peer(struct jt_node *perm, const char *list, const char *key,
		      const struct jt_node *rule, const char *rkey)
{
	const struct jt_node *v = jt_get(rule, rkey);
	struct jt_node *l, *e;

	if (!v || (v->kind == JT_SCALAR && !v->quoted && strcmp(v->str, "null") == 0))
		return 0;
	if (!(l = shape_add(perm, list, JT_ARRAY, v)) || !(e = shape_add(l, NULL, JT_OBJECT, v)))
		return -ENOMEM;
	if (shape_copy_key(e, key, rule, rkey) < 0 ||
	    shape_copy_key(e, "Description", rule, "Description") < 0)
		return -ENOMEM;
	return 0;
}

/* One rule of describe-security-group-rules as a permission of group g. */
static int shape_rule(struct jt_node *g, const struct jt_node *rule, char *err, size_t errlen)
{
	const struct jt_node *eg = jt_get(rule, "IsEgress"), *ref = jt_get(rule, "ReferencedGroupInfo");
	const struct jt_node *rid = jt_get(rule, "SecurityGroupRuleId");
	struct jt_node *list, *perm, *pairs, *e;
	bool egress;
	size_t i;

	if (!eg || eg->kind != JT_SCALAR || eg->quoted ||
	    (strcmp(eg->str, "true") != 0 && strcmp(eg->str, "false") != 0))
		return shape_err(err, errlen, eg ? eg : rule, "\"IsEgress\" must be true or false");
	if (rid && (rid->kind != JT_SCALAR || strncmp(rid->str, "sgr-", 4) != 0))
		return shape_err(err, errlen, rid, "\"SecurityGroupRuleId\" is not a rule id (sgr-...)");
	egress = strcmp(eg->str, "true") == 0;
	for (i = 0; i < g->n && strcmp(g->keys[i], egress ? "IpPermissionsEgress" :
					 "IpPermissions") != 0; i++)
		;
	list = &g->kids[i];
	if (!(perm = shape_add(list, NULL, JT_OBJECT, rule)))
		return -ENOMEM;
	if (shape_copy_key(perm, "IpProtocol", rule, "IpProtocol") < 0 ||
	    shape_copy_key(perm, "FromPort", rule, "FromPort") < 0 ||
	    shape_copy_key(perm, "ToPort", rule, "ToPort") < 0 ||
	    shape_peer(perm, "IpRanges", "CidrIp", rule, "CidrIpv4") < 0 ||
	    shape_peer(perm, "Ipv6Ranges", "CidrIpv6", rule, "CidrIpv6") < 0 ||
	    shape_peer(perm, "PrefixListIds", "PrefixListId", rule, "PrefixListId") < 0)
		return -ENOMEM;
	if (ref && ref->kind == JT_OBJECT) {
		if (!(pairs = shape_add(perm, "UserIdGroupPairs", JT_ARRAY, ref)) ||
		    !(e = shape_add(pairs, NULL, JT_OBJECT, ref)))
			return -ENOMEM;
		if (shape_copy_key(e, "GroupId", ref, "GroupId") < 0 ||
		    shape_copy_key(e, "UserId", ref, "UserId") < 0 ||
		    shape_copy_key(e, "VpcPeeringConnectionId", ref, "VpcPeeringConnectionId") < 0 ||
		    shape_copy_key(e, "Description", rule, "Description") < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The group object for id in out (created: GroupId, GroupName = the id,
 * OwnerId, empty IpPermissions and IpPermissionsEgress). */
static struct jt_node *shape_group(struct jt_node *out, const struct jt_node *rule,
				   const struct jt_node *id)
{
	struct jt_node *g, *k;
	size_t i;

	for (i = 0; i < out->n; i++)
		if (strcmp(jt_get(&out->kids[i], "GroupId")->str, id->str) == 0)
			return &out->kids[i];
	if (!(g = shape_add(out, NULL, JT_OBJECT, rule)))
		return NULL;
	if (shape_copy_key(g, "GroupId", rule, "GroupId") < 0 ||
	    shape_copy_key(g, "GroupName", rule, "GroupId") < 0 ||
	    shape_copy_key(g, "OwnerId", rule, "GroupOwnerId") < 0)
		return NULL;
	if (!(k = shape_add(g, "IpPermissions", JT_ARRAY, rule)) ||
	    !(k = shape_add(g, "IpPermissionsEgress", JT_ARRAY, rule)))
		return NULL;
	return g;
}

static int shape_rules(const struct jt_node *rules, struct jt_node *out, char *err,
		       size_t errlen)
{
	size_t i;
	int r;

	if (rules->kind != JT_ARRAY)
		return shape_err(err, errlen, rules, "\"SecurityGroupRules\" must be an array");
	out->kind = JT_ARRAY;
	out->line = rules->line;
	out->col = rules->col;
	for (i = 0; i < rules->n; i++) {
		const struct jt_node *rule = &rules->kids[i], *id;
		struct jt_node *g;

		if (rule->kind != JT_OBJECT)
			return shape_err(err, errlen, rule, "a security group rule must be an object");
		id = jt_get(rule, "GroupId");
		if (!id || id->kind != JT_SCALAR || !id->quoted)
			return shape_err(err, errlen, id ? id : rule, "\"GroupId\" %s",
					 id ? "must be a string" : "is missing");
		if (!(g = shape_group(out, rule, id)))
			return -ENOMEM;
		r = shape_rule(g, rule, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int imp_shape_groups(const struct jt_node *root, const struct jt_node **list,
		     struct jt_node *owned, char *err, size_t errlen)
{
	const struct jt_node *v;
	int r;

	memset(owned, 0, sizeof(*owned));
	*list = root;
	if (root->kind == JT_ARRAY)
		return 0;
	if (root->kind != JT_OBJECT)
		return shape_err(err, errlen, root, "expected an object with \"SecurityGroups\"");
	if ((v = jt_get(root, "SecurityGroups"))) {
		*list = v;
		if (v->kind == JT_SCALAR && !v->quoted && strcmp(v->str, "null") == 0) {
			owned->kind = JT_ARRAY;	/* null: no groups */
			*list = owned;
		} else if (v->kind != JT_ARRAY) {
			return shape_err(err, errlen, v, "\"SecurityGroups\" must be an array");
		}
		return 0;
	}
	if ((v = jt_get(root, "SecurityGroupRules"))) {
		*list = owned;
		r = shape_rules(v, owned, err, errlen);
		return r;
	}
	if (jt_get(root, "GroupId")) {
		struct jt_node *g;

		owned->kind = JT_ARRAY;
		*list = owned;
		g = shape_add(owned, NULL, JT_OBJECT, root);
		return g && shape_copy(g, root) == 0 ? 0 : -ENOMEM;
	}
	return shape_err(err, errlen, root, "\"SecurityGroups\" is missing (expected the output "
			 "of describe-security-groups or describe-security-group-rules, or one "
			 "group)");
}
