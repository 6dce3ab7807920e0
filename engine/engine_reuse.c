/*
 * engine_reuse.c — a reload keeps its sets and sends element deltas.
 *
 * When the kernel holds the sets of our last commit (e->flat, the same
 * names), every flat set the new plan declares again is kept: the plan
 * sends only the elements that left (DELSETELEM) and came (NEWSETELEM),
 * and commit.c neither flushes nor deletes it.  A reload that edits one
 * rule of 100,000 sends one or two elements instead of all of them, and
 * elements present before and after stay active throughout (their
 * counters keep counting; the map that attributes them to rules is the
 * new plan's).  A first commit by a new process has no e->flat and
 * replaces.
 *
 * Why the interval sets need more: the kernel switches a transaction's
 * new rules in before it lets a pipapo set (flags interval + concat) or
 * an rbtree set see the elements added in that transaction
 * (nf_tables_commit: the generation moves, then the sets' commit
 * callbacks run).  A re-created interval set would, for that instant,
 * have rules looking up an empty set, and even a kept one's new elements
 * miss for that instant: an allowance that moves into an interval set (a
 * rule whose source widened from a /32 to a /30, say) would be dropped.
 * With `pre`, an interval set's additions go in a transaction of their
 * own, committed before the plan (engine.c): for a moment the kernel
 * allows the old ruleset plus those elements, never less than the old
 * ruleset.  The first layer's concat interval sets always exist
 * (compile_flat.c) so that this covers a set that was empty.  A hash
 * set's elements switch with the generation: its additions stay in the
 * plan's transaction.
 *
 * Deletions are the mirror image: a packet can run the old rules against
 * the new elements (commit.c), so when a reload changes the rules, a kept
 * set's deletions (marked `post`) go in a transaction right after the
 * plan's.  An element that moves from one set to another is thus briefly
 * in both, never in neither.
 *
 * Both element arrays are sorted by key: the delta is one merge walk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "plan.h"
#include "flat.h"

/* How many removals a kept range set may take: REUSE_MAX_DROPS, plan.h
 * (engine_adopt.c uses it too). */

static const struct flat_set *reuse_find(const struct flat *f,
					 const struct flat_set *s)
{
	size_t i;

	for (i = 0; f && i < f->n_sets; i++)
		if (f->sets[i].kind == s->kind && strcmp(f->sets[i].name, s->name) == 0)
			return &f->sets[i];
	return NULL;
}

static int reuse_elem_cmp(const struct flat_elem *a, const struct flat_elem *b)
{
	int c = memcmp(a->key, b->key, sizeof(a->key));

	return c ? c : memcmp(a->end, b->end, sizeof(a->end));
}

static int reuse_push(struct flat_set *s, const struct flat_elem *el)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct flat_elem *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *el;
	return 0;
}

/* del: old minus new; add: new minus old (both sorted by key, end).
 * Stops early (*over) once the set is not worth keeping (see above): a
 * replaced set of 100,000 elements would otherwise cost two copies of it
 * only to be thrown away. */
static int reuse_delta(const struct flat_set *old, const struct flat_set *new_,
		       struct flat_set *del, struct flat_set *add, bool *over)
{
	size_t i = 0, k = 0;
	int rc = 0;

	*over = false;
	while (!rc && (i < old->n || k < new_->n)) {
		if ((new_->kind == FLAT_RANGE && del->n > REUSE_MAX_DROPS) ||
		    (new_->kind == FLAT_EXACT && del->n + add->n > new_->n)) {
			*over = true;
			break;
		}
		int c = i == old->n ? 1 : k == new_->n ? -1 :
			reuse_elem_cmp(&old->v[i], &new_->v[k]);

		if (c < 0)
			rc = reuse_push(del, &old->v[i++]);
		else if (c > 0)
			rc = reuse_push(add, &new_->v[k++]);
		else
			i++, k++;
	}
	return rc;
}

/* An rbtree interval set (ADDR, PORT) holds points, not blocks: each
 * block is a start element and, unless it reaches the top of the space,
 * an interval-end element, and two blocks can share a point ([a, b) and
 * [c, b) end at the same b).  A delta of blocks would then add b (already
 * there: a no-op) before the deletions remove it, and the set would hold
 * [c, top of the space): `diff_explain.sh` found fd00:200::/125 so
 * widened to fd00:200::/16 and beyond after a reload from
 * fd00:200::4/126.  So the delta of these sets is taken between their
 * points, and a point both sides have is never touched. */
struct reuse_point {
	uint8_t key[FLAT_KEY_MAX];
	bool end;		/* an interval end; else a block's start */
	uint32_t ref;
};

static int reuse_point_cmp(const void *pa, const void *pb)
{
	const struct reuse_point *a = pa, *b = pb;
	int c = memcmp(a->key, b->key, sizeof(a->key));

	return c ? c : (int)a->end - (int)b->end;
}

/* s's points, sorted; *out is malloc'd.  0 or -ENOMEM. */
static int reuse_points(const struct flat_set *s, struct reuse_point **out, size_t *n)
{
	struct reuse_point *v = malloc((2 * s->n + 1) * sizeof(*v));
	size_t i, k = 0;

	*out = v;
	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		memcpy(v[k].key, s->v[i].key, sizeof(v[k].key));
		v[k].end = false;
		v[k++].ref = s->v[i].ref;
		if (!s->v[i].has_end)
			continue;
		memcpy(v[k].key, s->v[i].end, sizeof(v[k].key));
		v[k].end = true;
		v[k++].ref = s->v[i].ref;
	}
	qsort(v, k, sizeof(*v), reuse_point_cmp);
	*n = k;
	return 0;
}

/* A point as a flat element of a delta (compile_flat_msg sends it). */
static int reuse_push_point(struct flat_set *s, const struct reuse_point *p)
{
	struct flat_elem el;

	memset(&el, 0, sizeof(el));
	el.ref = p->ref;
	if (p->end) {
		memcpy(el.end, p->key, sizeof(el.end));
		el.has_end = el.end_only = true;
	} else {
		memcpy(el.key, p->key, sizeof(el.key));
	}
	return reuse_push(s, &el);
}

/* del: old's points minus new's; add: new's minus old's. */
static int reuse_delta_points(const struct flat_set *old, const struct flat_set *new_,
			      struct flat_set *del, struct flat_set *add)
{
	struct reuse_point *po = NULL, *pn = NULL;
	size_t no = 0, nn = 0, i = 0, k = 0;
	int rc = reuse_points(old, &po, &no);

	if (!rc)
		rc = reuse_points(new_, &pn, &nn);
	while (!rc && (i < no || k < nn)) {
		int c = i == no ? 1 : k == nn ? -1 : reuse_point_cmp(&po[i], &pn[k]);

		if (c < 0)
			rc = reuse_push_point(del, &po[i++]);
		else if (c > 0)
			rc = reuse_push_point(add, &pn[k++]);
		else
			i++, k++;
	}
	free(po);
	free(pn);
	return rc;
}

static int reuse_add_msgs(struct sg_plan *plan, struct plan_msg **v, size_t *n,
			  size_t *cap, const struct flat_set *s, bool del)
{
	size_t k;

	for (k = 0; k < s->n; k += FLAT_ELEMS_PER_MSG) {
		struct plan_msg m = { .kind = PLAN_FLATELEMS, .del = del, .post = del,
				      .build = compile_flat_msg };

		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 64;
			struct plan_msg *nv = realloc(*v, c * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			*v = nv;
			*cap = c;
		}
		m.o.fset = s;
		m.first = k;
		m.count = s->n - k < FLAT_ELEMS_PER_MSG ? s->n - k : FLAT_ELEMS_PER_MSG;
		snprintf(m.origin.what, sizeof(m.origin.what), "%s elements of %.70s",
			 del ? "deleting" : "adding", s->name);
		(*v)[(*n)++] = m;
	}
	(void)plan;
	return 0;
}

/* The element deltas (gone, new) of every plan set the kernel holds as
 * old_flat's, into d (room for two per kept set), and the names of the
 * sets kept in plan->keep_sets; a set whose delta costs more than a new
 * one is left out (created again).  0 or -ENOMEM. */
static int reuse_deltas(const struct flat *old_flat, struct sg_plan *plan,
			struct flat *d)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < plan->flat->n_sets; i++) {
		const struct flat_set *s = &plan->flat->sets[i];
		const struct flat_set *old = reuse_find(old_flat, s);
		struct flat_set *del, *add;
		bool over;

		if (!old)
			continue;
		del = &d->sets[d->n_sets++];
		add = &d->sets[d->n_sets++];
		*del = *s;
		*add = *s;
		del->v = add->v = NULL;
		del->n = add->n = del->cap = add->cap = 0;
		over = false;
		rc = s->kind == FLAT_ADDR || s->kind == FLAT_PORT ?
		     reuse_delta_points(old, s, del, add) :
		     reuse_delta(old, s, del, add, &over);
		if (!rc && (over || (s->kind == FLAT_RANGE && del->n > REUSE_MAX_DROPS) ||
				  (s->kind == FLAT_EXACT && del->n + add->n > s->n))) {
			/* cheaper to create the set again (see above): a
			 * reload that replaces most of a hash set sends each
			 * element once, not twice */
			free(del->v);
			free(add->v);
			d->n_sets -= 2;
			continue;
		}
		if (!rc) {
			plan->keep_sets[plan->n_keep] = strdup(s->name);
			rc = plan->keep_sets[plan->n_keep] ? 0 : -ENOMEM;
			if (!rc)
				plan->n_keep++;
		}
	}
	return rc;
}

/* Plan message m into (*v, *n, *cap), where a kept set's full element
 * list becomes its delta d (its additions into pre when pre is given).
 * 0 or -ENOMEM. */
static int reuse_rewrite_msg(struct sg_plan *plan, struct sg_plan *pre,
			     const struct flat *d, const struct plan_msg *m,
			     struct plan_msg **v, size_t *n, size_t *cap)
{
	size_t k;
	int rc = 0;

	if (m->kind == PLAN_FLATELEMS) {
		for (k = 0; k < d->n_sets; k += 2)
			if (strcmp(d->sets[k].name, m->o.fset->name) == 0)
				break;
		if (k < d->n_sets) {
			/* the set's first message stands for all of them */
			if (m->first != 0)
				return 0;
			rc = reuse_add_msgs(plan, v, n, cap, &d->sets[k], true);
			/* (a hash set's additions: see above) */
			if (!rc && pre && d->sets[k].kind != FLAT_EXACT)
				rc = reuse_add_msgs(pre, &pre->v, &pre->n, &pre->cap,
						    &d->sets[k + 1], false);
			else if (!rc)
				rc = reuse_add_msgs(plan, v, n, cap, &d->sets[k + 1],
						    false);
			return rc;
		}
	}
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct plan_msg *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = *m;
	return 0;
}

int engine_flat_reuse(const struct flat *old_flat, struct sg_plan *plan,
		      struct sg_plan *pre)
{
	struct flat *d;
	struct plan_msg *v = NULL;
	size_t n = 0, cap = 0, i, kept = 0;
	int rc;

	if (!old_flat || !plan->flat)
		return 0;
	for (i = 0; i < plan->flat->n_sets; i++)
		if (reuse_find(old_flat, &plan->flat->sets[i]))
			kept++;
	if (kept == 0)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	/* two arrays (gone, new) per kept set; never reallocated after */
	d->sets = calloc(2 * kept, sizeof(*d->sets));
	plan->keep_sets = calloc(kept, sizeof(*plan->keep_sets));
	plan->flat_delta = d;
	if (!d->sets || !plan->keep_sets)
		return -ENOMEM;
	rc = reuse_deltas(old_flat, plan, d);
	/* the messages: a kept set's full element list becomes its delta */
	for (i = 0; !rc && i < plan->n; i++)
		rc = reuse_rewrite_msg(plan, pre, d, &plan->v[i], &v, &n, &cap);
	/* a kept set that is empty now has no message above: its deletions
	 * go at the end (its rules are gone with the new plan anyway) */
	for (i = 0; !rc && i < d->n_sets; i += 2) {
		size_t k;
		bool seen = false;

		for (k = 0; k < n && !seen; k++)
			seen = v[k].kind == PLAN_FLATELEMS && v[k].o.fset == &d->sets[i];
		if (!seen && d->sets[i].n > 0)
			rc = reuse_add_msgs(plan, &v, &n, &cap, &d->sets[i], true);
	}
	if (rc) {
		free(v);
		return rc;
	}
	/* the old messages' objects moved to v (flat ones own nothing) */
	free(plan->v);
	plan->v = v;
	plan->n = n;
	plan->cap = cap;
	return 0;
}
