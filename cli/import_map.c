/*
 * import_map.c — map describe-security-groups JSON to sgd groups.
 *
 * Shape errors (a missing GroupId, a port that is not a number, a CIDR
 * that does not parse) fail the whole import: such a document did not
 * come from the documented API, and guessing would import the wrong
 * firewall.  Things AWS allows and sgd cannot say are recorded as
 * problems, and the peer or permission concerned is left out (never a
 * wider rule in its place).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config.h"
#include "import_map.h"

struct imp_ctx {
	struct imp_result *res;
	char *err;
	size_t errlen;
	/* the permission being mapped, for problem reports */
	struct imp_group *g;
	int dir;
	int perm;
};

/* A peer before rules are formed: its text and its description. */
struct imp_peer {
	char *text;
	const char *desc;	/* points into the JSON tree; may be NULL */
};

static int imp_shape(struct imp_ctx *c, const struct jt_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int imp_shape(struct imp_ctx *c, const struct jt_node *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(c->err, c->errlen, "%d:%d: ", n ? n->line : 1, n ? n->col : 1);
	if (k < 0 || (size_t)k >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *const kind_names[] = {
	[IMP_PROB_RENAMED] = "renamed",
	[IMP_PROB_HOST_BITS] = "host_bits",
	[IMP_PROB_NO_PEERS] = "no_peers",
	[IMP_PROB_UNRESOLVED_GROUP] = "unresolved_group",
	[IMP_PROB_PREFIX_LIST] = "prefix_list",
	[IMP_PROB_UNKNOWN_GROUP_NAME] = "unknown_group_name",
	[IMP_PROB_UNKNOWN_PROTOCOL] = "unknown_protocol",
	[IMP_PROB_WRONG_FAMILY] = "wrong_family",
	[IMP_PROB_BAD_GROUP_ID] = "bad_group_id",
	[IMP_PROB_EMPTY_LIST] = "empty_prefix_list",
};

const char *imp_problem_kind_name(enum imp_problem_kind k)
{
	return kind_names[k];
}

const char *imp_problem_action(enum imp_problem_kind k)
{
	switch (k) {
	case IMP_PROB_RENAMED:
		return "renamed";
	case IMP_PROB_HOST_BITS:
		return "normalized";
	case IMP_PROB_NO_PEERS:
	case IMP_PROB_WRONG_FAMILY:
	case IMP_PROB_EMPTY_LIST:
		return "ignored";
	case IMP_PROB_UNRESOLVED_GROUP:
	case IMP_PROB_PREFIX_LIST:
		return "kept";
	default:
		return "skipped";
	}
}

bool imp_result_exact(const struct imp_result *res)
{
	size_t i;

	for (i = 0; i < res->n_problems; i++) {
		enum imp_problem_kind k = res->problems[i].kind;

		if (k == IMP_PROB_UNRESOLVED_GROUP || k == IMP_PROB_PREFIX_LIST ||
		    k == IMP_PROB_UNKNOWN_GROUP_NAME || k == IMP_PROB_UNKNOWN_PROTOCOL ||
		    k == IMP_PROB_BAD_GROUP_ID)
			return false;
	}
	return true;
}

void imp_result_init(struct imp_result *res)
{
	memset(res, 0, sizeof(*res));
}

static void imp_rule_free(struct imp_rule *r)
{
	size_t i;

	for (i = 0; i < r->n_peers; i++)
		free(r->peers[i]);
	free(r->peers);
	free(r->description);
}

void imp_result_free(struct imp_result *res)
{
	size_t i, k;

	for (i = 0; i < res->n_groups; i++) {
		struct imp_group *g = &res->groups[i];

		for (k = 0; k < g->n_rules; k++)
			imp_rule_free(&g->rules[k]);
		free(g->rules);
		free(g->aws_id);
		free(g->aws_name);
		free(g->aws_description);
		free(g->name);
		free(g->file);
	}
	free(res->groups);
	for (i = 0; i < res->n_plists; i++) {
		struct imp_plist *pl = &res->plists[i];

		for (k = 0; k < pl->n_entries; k++) {
			free(pl->entries[k].cidr);
			free(pl->entries[k].description);
		}
		free(pl->entries);
		free(pl->aws_id);
		free(pl->aws_name);
		free(pl->name);
		free(pl->file);
		free(pl->note);
	}
	free(res->plists);
	for (i = 0; i < res->n_problems; i++) {
		free(res->problems[i].group_id);
		free(res->problems[i].group_name);
		free(res->problems[i].what);
		free(res->problems[i].message);
	}
	free(res->problems);
	memset(res, 0, sizeof(*res));
}

static int imp_problem(struct imp_ctx *c, enum imp_problem_kind kind, int dir,
		       const char *what, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int imp_problem(struct imp_ctx *c, enum imp_problem_kind kind, int dir,
		       const char *what, const char *fmt, ...)
{
	struct imp_result *res = c->res;
	struct imp_problem *v, *p;
	va_list ap;
	int k;

	v = realloc(res->problems, (res->n_problems + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	res->problems = v;
	p = &v[res->n_problems];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->dir = dir;
	p->permission = dir < 0 ? 0 : c->perm;
	p->group_id = strdup(c->g->aws_id);
	p->group_name = strdup(c->g->aws_name);
	p->what = strdup(what);
	va_start(ap, fmt);
	k = vasprintf(&p->message, fmt, ap);
	va_end(ap);
	if (k < 0)
		p->message = NULL;
	res->n_problems++;
	if (!p->group_id || !p->group_name || !p->what || !p->message)
		return -ENOMEM;
	return 0;
}

/* JSON null: what the SDKs write for an optional value or list they
 * have not got (the Go SDK writes "IpRanges": null); read as absent. */
static bool imp_is_null(const struct jt_node *v)
{
	return v && v->kind == JT_SCALAR && !v->quoted && strcmp(v->str, "null") == 0;
}

/* A member of obj, NULL when absent or null. */
static const struct jt_node *imp_get(const struct jt_node *obj, const char *key)
{
	const struct jt_node *v = jt_get(obj, key);

	return imp_is_null(v) ? NULL : v;
}

/* A required or optional string member of an object. */
static int imp_get_str(struct imp_ctx *c, const struct jt_node *obj, const char *key,
		       bool required, const char **out)
{
	const struct jt_node *v = imp_get(obj, key);

	*out = NULL;
	if (!v) {
		if (required)
			return imp_shape(c, obj, "\"%s\" is missing", key);
		return 0;
	}
	if (v->kind != JT_SCALAR || !v->quoted)
		return imp_shape(c, v, "\"%s\" must be a string", key);
	*out = v->str;
	return 0;
}

/* An optional array member; *out = NULL when absent. */
static int imp_get_array(struct imp_ctx *c, const struct jt_node *obj, const char *key,
			 const struct jt_node **out)
{
	const struct jt_node *v = imp_get(obj, key);

	*out = v;
	if (v && v->kind != JT_ARRAY)
		return imp_shape(c, v, "\"%s\" must be an array", key);
	return 0;
}

/* ---- pass 1: names ---------------------------------------------------- */

/* A group whose GroupId is not an sg- id is left out, by name, and the
 * rest imported: one bad fixture must not refuse a whole account. */
static int imp_skip_group(struct imp_ctx *c, const char *id, const char *name)
{
	struct imp_group tmp = { .aws_id = (char *)id, .aws_name = (char *)name };
	int r;

	c->g = &tmp;
	r = imp_problem(c, IMP_PROB_BAD_GROUP_ID, -1, id, "GroupId \"%s\" is not a security "
			"group id (sg- and 8 or 17 hex digits); group skipped", id);
	c->g = NULL;
	return r;
}

static int imp_read_groups(struct imp_ctx *c, const struct jt_node *list)
{
	struct imp_result *res = c->res;
	size_t i, k;
	int r;

	res->groups = calloc(list->n ? list->n : 1, sizeof(*res->groups));
	if (!res->groups)
		return -ENOMEM;
	for (i = 0; i < list->n; i++) {
		const struct jt_node *n = &list->kids[i];
		struct imp_group *g = &res->groups[res->n_groups];
		const char *id = NULL, *name = NULL, *desc = NULL;

		if (n->kind != JT_OBJECT)
			return imp_shape(c, n, "a security group must be an object");
		r = imp_get_str(c, n, "GroupId", true, &id);
		if (r == 0)
			r = imp_get_str(c, n, "GroupName", true, &name);
		if (r == 0)
			r = imp_get_str(c, n, "Description", false, &desc);
		if (r < 0)
			return r;
		if (!imp_aws_id_ok(id, "sg-")) {
			r = imp_skip_group(c, id, name);
			if (r < 0)
				return r;
			continue;
		}
		for (k = 0; k < res->n_groups; k++)
			if (strcmp(res->groups[k].aws_id, id) == 0)
				return imp_shape(c, jt_get(n, "GroupId"),
						 "GroupId %s appears twice", id);
		res->n_groups++;
		g->node = n;
		g->aws_id = strdup(id);
		g->aws_name = strdup(name);
		g->aws_description = desc ? strdup(desc) : NULL;
		g->name = imp_name_map(name, "group-", id);
		if (!g->aws_id || !g->aws_name || (desc && !g->aws_description) || !g->name)
			return -ENOMEM;
	}
	return 0;
}

/* Groups that share a sanitized name (e.g. "default" of every VPC) all get
 * their id appended, so no name depends on the order of the document; so
 * does a name that equals another group's id, which sgd refuses. */
static int imp_names_unique(struct imp_ctx *c)
{
	struct imp_result *res = c->res;
	/* per group: 0 unique, 1 name shared, 2 name is another group's id */
	int *dup = calloc(res->n_groups ? res->n_groups : 1, sizeof(*dup));
	size_t i, k;
	int r = 0;

	if (!dup)
		return -ENOMEM;
	for (i = 0; i < res->n_groups; i++)
		for (k = 0; k < res->n_groups; k++) {
			if (k == i)
				continue;
			if (strcmp(res->groups[i].name, res->groups[k].name) == 0)
				dup[i] = dup[k] = 1;
			/* sgd refuses a name that is another group's id */
			if (strcmp(res->groups[i].name, res->groups[k].aws_id) == 0)
				dup[i] = 2;
		}
	for (i = 0; i < res->n_groups && r == 0; i++) {
		struct imp_group *g = &res->groups[i];
		char *s;

		if (dup[i]) {
			s = imp_name_with_id(g->name, g->aws_id);
			if (!s) {
				r = -ENOMEM;
				break;
			}
			free(g->name);
			g->name = s;
		}
		if (asprintf(&g->file, "%s.yaml", g->name) < 0) {
			g->file = NULL;
			r = -ENOMEM;
			break;
		}
		c->g = g;
		if (strcmp(g->name, g->aws_name) != 0)
			r = imp_problem(c, IMP_PROB_RENAMED, -1, g->aws_name,
					"group name \"%s\" is written as %s%s", g->aws_name,
					g->name, dup[i] == 1 ? " (name shared by several groups)" :
					dup[i] == 2 ? " (the name is another group's id)" : "");
	}
	for (i = 0; i < res->n_groups && r == 0; i++)
		for (k = 0; k < res->n_groups && r == 0; k++)
			if (k != i && (strcmp(res->groups[i].name, res->groups[k].name) == 0 ||
				       strcmp(res->groups[i].name, res->groups[k].aws_id) == 0))
				r = imp_shape(c, res->groups[k].node,
					      "cannot give %s and %s distinct names",
					      res->groups[i].aws_id, res->groups[k].aws_id);
	free(dup);
	return r;
}

/* ---- pass 2: permissions ---------------------------------------------- */

/* IpProtocol to a number (SG_PROTO_ALL for "-1"); -1 with *known = false
 * when sgd has no name or number for it. */
static int imp_proto(const char *s, bool *known)
{
	static const struct { const char *name; int num; } names[] = {
		{ "-1", SG_PROTO_ALL }, { "all", SG_PROTO_ALL },
		{ "tcp", SG_PROTO_TCP }, { "udp", SG_PROTO_UDP },
		{ "icmp", SG_PROTO_ICMP }, { "icmpv6", SG_PROTO_ICMPV6 },
	};
	char *end;
	long v;
	size_t i;

	*known = true;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].num;
	if (s[0] >= '0' && s[0] <= '9') {
		v = strtol(s, &end, 10);
		if (*end == '\0' && v >= 0 && v <= 255)
			return (int)v;
	}
	*known = false;
	return -1;
}

/* A value for an error message. */
static const char *imp_text(const struct jt_node *n)
{
	return n->kind == JT_SCALAR ? n->str : n->kind == JT_ARRAY ? "(an array)" : "(an object)";
}

/* FromPort/ToPort of a permission into the rule's ports or ICMP type/code. */
static int imp_ports(struct imp_ctx *c, const struct jt_node *perm, struct imp_rule *t)
{
	const struct jt_node *from = imp_get(perm, "FromPort"), *to = imp_get(perm, "ToPort");
	long lo = -1, hi = -1;

	t->port_lo = t->port_hi = t->icmp_type = t->icmp_code = -1;
	if (t->proto == SG_PROTO_TCP || t->proto == SG_PROTO_UDP) {
		if (!from || !to)
			return imp_shape(c, perm, "a %s permission needs FromPort and ToPort",
					 t->proto == SG_PROTO_TCP ? "tcp" : "udp");
		if (jt_int(from, 0, 65535, &lo) < 0)
			return imp_shape(c, from, "FromPort %s is not a port 0..65535", imp_text(from));
		if (jt_int(to, 0, 65535, &hi) < 0)
			return imp_shape(c, to, "ToPort %s is not a port 0..65535", imp_text(to));
		if (lo > hi)
			return imp_shape(c, from, "FromPort %ld is above ToPort %ld", lo, hi);
		t->port_lo = (int)lo;
		t->port_hi = (int)hi;
	} else if (t->proto == SG_PROTO_ICMP || t->proto == SG_PROTO_ICMPV6) {
		/* AWS: FromPort is the ICMP type, ToPort the code, -1 = any */
		if (from && jt_int(from, -1, 255, &lo) < 0)
			return imp_shape(c, from, "FromPort (ICMP type) %s is not -1..255",
					 imp_text(from));
		if (to && jt_int(to, -1, 255, &hi) < 0)
			return imp_shape(c, to, "ToPort (ICMP code) %s is not -1..255", imp_text(to));
		if (lo == -1 && hi != -1)
			return imp_shape(c, to, "ICMP code %ld without a type", hi);
		t->icmp_type = (int)lo;
		t->icmp_code = (int)hi;
	}
	/* Other protocols: AWS matches every port whatever FromPort/ToPort say. */
	return 0;
}

static int imp_peer_add(struct imp_peer **v, size_t *n, const char *text, const char *desc)
{
	struct imp_peer *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n].text = strdup(text);
	nv[*n].desc = desc;
	if (!nv[*n].text)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* IpRanges (family AF_INET, key CidrIp) or Ipv6Ranges (AF_INET6, CidrIpv6). */
static int imp_ranges(struct imp_ctx *c, const struct jt_node *perm, int proto, int family,
		      struct imp_peer **peers, size_t *n)
{
	const char *key = family == AF_INET ? "IpRanges" : "Ipv6Ranges";
	const char *ckey = family == AF_INET ? "CidrIp" : "CidrIpv6";
	const struct jt_node *list;
	struct sg_cidr cidr;
	char buf[64];
	size_t i;
	int r;

	r = imp_get_array(c, perm, key, &list);
	for (i = 0; r == 0 && list && i < list->n; i++) {
		const struct jt_node *e = &list->kids[i];
		const char *s, *desc;

		if (e->kind != JT_OBJECT)
			return imp_shape(c, e, "%s entries must be objects", key);
		r = imp_get_str(c, e, ckey, true, &s);
		if (r == 0)
			r = imp_get_str(c, e, "Description", false, &desc);
		if (r < 0)
			return r;
		r = cidr_parse(s, &cidr);
		if (r == -EINVAL || (r == 0 && cidr.family != family) ||
		    (r == -ERANGE && cidr.family != family))
			return imp_shape(c, jt_get(e, ckey), "%s \"%s\" is not an IPv%d CIDR",
					 ckey, s, family == AF_INET ? 4 : 6);
		cidr_format(&cidr, buf, sizeof(buf));
		if (r == -ERANGE) {
			r = imp_problem(c, IMP_PROB_HOST_BITS, c->dir, s,
					"%s has host bits set; written as %s, the network AWS applies",
					s, buf);
			if (r < 0)
				return r;
		} else if (r < 0) {
			return r;
		}
		if ((proto == SG_PROTO_ICMP && family == AF_INET6) ||
		    (proto == SG_PROTO_ICMPV6 && family == AF_INET)) {
			r = imp_problem(c, IMP_PROB_WRONG_FAMILY, c->dir, buf,
					"%s cannot be a peer of an %s rule and matches no packet "
					"there; peer left out", buf,
					proto == SG_PROTO_ICMP ? "icmp" : "icmpv6");
			continue;
		}
		r = imp_peer_add(peers, n, buf, desc);
	}
	return r;
}

static const struct imp_group *imp_find(const struct imp_result *res, const char *key,
					bool by_name, size_t *count)
{
	const struct imp_group *found = NULL;
	size_t i;

	*count = 0;
	for (i = 0; i < res->n_groups; i++) {
		const char *v = by_name ? res->groups[i].aws_name : res->groups[i].aws_id;

		if (strcmp(v, key) == 0) {
			found = &res->groups[i];
			(*count)++;
		}
	}
	return found;
}

static int imp_pairs(struct imp_ctx *c, const struct jt_node *perm,
		     struct imp_peer **peers, size_t *n)
{
	const struct jt_node *list;
	const struct imp_group *t;
	const char *owner;
	size_t i, count;
	int r;

	r = imp_get_array(c, perm, "UserIdGroupPairs", &list);
	if (r == 0)
		r = imp_get_str(c, c->g->node, "OwnerId", false, &owner);
	for (i = 0; r == 0 && list && i < list->n; i++) {
		const struct jt_node *e = &list->kids[i];
		const char *id = NULL, *name = NULL, *user = NULL, *desc = NULL, *vpcx = NULL;

		if (e->kind != JT_OBJECT)
			return imp_shape(c, e, "UserIdGroupPairs entries must be objects");
		r = imp_get_str(c, e, "GroupId", false, &id);
		if (r == 0)
			r = imp_get_str(c, e, "GroupName", false, &name);
		if (r == 0)
			r = imp_get_str(c, e, "UserId", false, &user);
		if (r == 0)
			r = imp_get_str(c, e, "Description", false, &desc);
		if (r == 0)
			r = imp_get_str(c, e, "VpcPeeringConnectionId", false, &vpcx);
		if (r < 0)
			return r;
		if (!id && !name)
			return imp_shape(c, e, "a group pair needs GroupId or GroupName");
		t = imp_find(c->res, id ? id : name, !id, &count);
		if (t && count == 1) {
			r = imp_peer_add(peers, n, t->name, desc);
		} else if (id) {
			/* The id stays: a local group with this id makes it load. */
			if (!imp_aws_id_ok(id, "sg-")) {
				r = imp_problem(c, IMP_PROB_BAD_GROUP_ID, c->dir, id,
						"GroupId \"%s\" is not a security group id; "
						"peer skipped", id);
				continue;
			}
			r = imp_problem(c, IMP_PROB_UNRESOLVED_GROUP, c->dir, id,
					"group %s%s%s%s%s is not in this document; the id is kept "
					"and needs a local group with `id: %s` to load", id,
					user && owner && strcmp(user, owner) != 0 ? " of account " : "",
					user && owner && strcmp(user, owner) != 0 ? user : "",
					vpcx ? " through peering " : "", vpcx ? vpcx : "", id);
			if (r == 0)
				r = imp_peer_add(peers, n, id, desc);
		} else {
			r = imp_problem(c, IMP_PROB_UNKNOWN_GROUP_NAME, c->dir, name,
					"group named \"%s\" is %s in this document; peer skipped",
					name, count ? "ambiguous" : "not");
		}
	}
	return r;
}

/* How many entries of pl a rule of protocol proto can use (sgd takes only
 * the IPv4 entries of a list in an icmp rule, only IPv6 ones in icmpv6). */
static size_t imp_plist_usable(const struct imp_plist *pl, int proto)
{
	size_t n = 0, i;

	for (i = 0; i < pl->n_entries; i++) {
		bool v6 = strchr(pl->entries[i].cidr, ':') != NULL;

		n += proto == SG_PROTO_ICMP ? !v6 : proto == SG_PROTO_ICMPV6 ? v6 : 1;
	}
	return n;
}

/* PrefixListIds: a reference to the list by its sgd name when a
 * --prefix-lists file gave its entries (the list is written too), else
 * by its id, kept and reported: a local prefix_lists.d file with that id
 * makes it load. */
static int imp_prefix_lists(struct imp_ctx *c, const struct jt_node *perm, int proto,
			    struct imp_peer **peers, size_t *n, size_t *n_seen)
{
	const struct jt_node *list;
	const struct imp_plist *pl;
	size_t i;
	int r;

	*n_seen = 0;
	r = imp_get_array(c, perm, "PrefixListIds", &list);
	for (i = 0; r == 0 && list && i < list->n; i++) {
		const struct jt_node *e = &list->kids[i];
		const char *id, *desc;

		if (e->kind != JT_OBJECT)
			return imp_shape(c, e, "PrefixListIds entries must be objects");
		r = imp_get_str(c, e, "PrefixListId", true, &id);
		if (r == 0)
			r = imp_get_str(c, e, "Description", false, &desc);
		if (r < 0)
			return r;
		(*n_seen)++;
		if (!imp_aws_id_ok(id, "pl-")) {
			r = imp_problem(c, IMP_PROB_BAD_GROUP_ID, c->dir, id, "PrefixListId \"%s\" "
					"is not a prefix list id (pl- and 8 or 17 hex digits); "
					"peer skipped", id);
			continue;
		}
		pl = imp_plist_find(c->res, id);
		if (pl && pl->have_entries && pl->n_entries == 0) {
			r = imp_problem(c, IMP_PROB_EMPTY_LIST, c->dir, id, "prefix list %s has no "
					"entries and allows nothing; peer left out", id);
		} else if (pl && pl->have_entries && imp_plist_usable(pl, proto) == 0) {
			r = imp_problem(c, IMP_PROB_WRONG_FAMILY, c->dir, id, "prefix list %s has "
					"no %s entry and matches no packet of an %s rule; peer "
					"left out", id, proto == SG_PROTO_ICMP ? "IPv4" : "IPv6",
					proto == SG_PROTO_ICMP ? "icmp" : "icmpv6");
		} else if (pl && pl->have_entries) {
			r = imp_peer_add(peers, n, pl->name, desc);
		} else {
			r = imp_problem(c, IMP_PROB_PREFIX_LIST, c->dir, id,
					"prefix list %s%s%s%s has no entries here (give them with "
					"--prefix-lists); the id is kept and needs a local "
					"prefix_lists.d file with `id: %s` to load", id,
					desc ? " (\"" : "", desc ? desc : "", desc ? "\")" : "", id);
			if (r == 0)
				r = imp_peer_add(peers, n, id, desc);
		}
	}
	return r;
}

static bool imp_same_desc(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Peers that share a description become one rule (the description is a
 * rule's, not a peer's, in sgd); first-seen order is kept. */
static int imp_rules_from_peers(struct imp_group *g, const struct imp_rule *tmpl,
				struct imp_peer *peers, size_t n)
{
	struct imp_rule *v, *t;
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (!peers[i].text)
			continue;	/* already taken by an earlier rule */
		v = realloc(g->rules, (g->n_rules + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		g->rules = v;
		t = &v[g->n_rules++];
		*t = *tmpl;
		t->peers = NULL;
		t->n_peers = 0;
		t->description = peers[i].desc ? strdup(peers[i].desc) : NULL;
		if (peers[i].desc && !t->description)
			return -ENOMEM;
		for (k = i; k < n; k++) {
			char **pv;

			if (!peers[k].text || !imp_same_desc(peers[i].desc, peers[k].desc))
				continue;
			pv = realloc(t->peers, (t->n_peers + 1) * sizeof(*pv));
			if (!pv)
				return -ENOMEM;
			t->peers = pv;
			pv[t->n_peers++] = peers[k].text;
			peers[k].text = NULL;
		}
		if (tmpl->dir == SG_DIR_IN)
			g->n_in++;
		else
			g->n_out++;
	}
	return 0;
}

static int imp_permission(struct imp_ctx *c, const struct jt_node *perm)
{
	struct imp_rule tmpl = { .dir = (enum sg_dir)c->dir };
	struct imp_peer *peers = NULL;
	size_t n = 0, n_pl = 0, before = c->res->n_problems, i;
	const char *ps;
	bool known;
	int r;

	if (perm->kind != JT_OBJECT)
		return imp_shape(c, perm, "a permission must be an object");
	r = imp_get_str(c, perm, "IpProtocol", true, &ps);
	if (r < 0)
		return r;
	tmpl.proto = imp_proto(ps, &known);
	if (!known)
		return imp_problem(c, IMP_PROB_UNKNOWN_PROTOCOL, c->dir, ps,
				   "protocol \"%s\" is not a name or number sgd knows; "
				   "permission skipped", ps);
	r = imp_ports(c, perm, &tmpl);
	if (r == 0)
		r = imp_ranges(c, perm, tmpl.proto, AF_INET, &peers, &n);
	if (r == 0)
		r = imp_ranges(c, perm, tmpl.proto, AF_INET6, &peers, &n);
	if (r == 0)
		r = imp_pairs(c, perm, &peers, &n);
	if (r == 0)
		r = imp_prefix_lists(c, perm, tmpl.proto, &peers, &n, &n_pl);
	if (r == 0 && n == 0 && n_pl == 0 && c->res->n_problems == before)
		r = imp_problem(c, IMP_PROB_NO_PEERS, c->dir, ps,
				"no IpRanges, Ipv6Ranges, UserIdGroupPairs or PrefixListIds: "
				"the permission allows nothing and is left out");
	if (r == 0)
		r = imp_rules_from_peers(c->g, &tmpl, peers, n);
	for (i = 0; i < n; i++)
		free(peers[i].text);
	free(peers);
	return r;
}

static int imp_direction(struct imp_ctx *c, struct imp_group *g, enum sg_dir dir)
{
	const char *key = dir == SG_DIR_IN ? "IpPermissions" : "IpPermissionsEgress";
	const struct jt_node *list;
	size_t i;
	int r;

	r = imp_get_array(c, g->node, key, &list);
	if (r < 0)
		return r;
	/* "IpPermissionsEgress": null (an SDK's empty list) is no rule, as
	 * []; only a missing key is EC2-Classic's "all traffic out" */
	if (dir == SG_DIR_OUT)
		g->egress_present = jt_get(g->node, key) != NULL;
	c->g = g;
	c->dir = dir;
	for (i = 0; list && i < list->n && r == 0; i++) {
		c->perm = (int)i + 1;
		r = imp_permission(c, &list->kids[i]);
	}
	return r;
}

int imp_map_document(const struct jt_node *root, struct imp_result *res,
		     char *err, size_t errlen)
{
	struct imp_ctx c = { .res = res, .err = err, .errlen = errlen };
	const struct jt_node *list;
	struct jt_node owned;
	size_t i;
	int r;

	if (errlen)
		err[0] = '\0';
	r = imp_shape_groups(root, &list, &owned, err, errlen);
	if (r == 0)
		r = imp_read_groups(&c, list);
	if (r == 0)
		r = imp_names_unique(&c);
	if (r == 0)
		r = imp_plists_name(res);
	for (i = 0; r == 0 && i < res->n_groups; i++) {
		r = imp_direction(&c, &res->groups[i], SG_DIR_IN);
		if (r == 0)
			r = imp_direction(&c, &res->groups[i], SG_DIR_OUT);
	}
	for (i = 0; i < res->n_groups; i++)
		res->groups[i].node = NULL;
	jt_free(&owned);
	return r;
}
