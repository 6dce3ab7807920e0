/*
 * engine_adopt.c — a new process learns what its sets hold in the kernel.
 *
 * A process's first commit has no e->flat (the sets of its last commit):
 * without this it would replace the whole table, and a replaced
 * concatenated interval set is empty for an instant after the switch
 * (engine_reuse.c).  Every restart of sgd with an unchanged configuration
 * dropped packets of the flows such a set admits (measured: 404
 * datagrams of a 20,000/s flow over 1,500 restarts).  So the first commit
 * reads back the elements of every set the new plan declares and the
 * kernel already holds, and engine_reuse.c turns them into element deltas
 * as for any reload: a restart with the same configuration changes no
 * element at all, and the counters keep counting.
 *
 * The sets read back are those of the plan's flat sets (same name) that
 * the kernel holds; their elements are decoded the way compile_flatemit.c
 * encodes them.  A set the reload would replace anyway (most of its
 * elements change) is left out as soon as that shows, without a copy.  A
 * set whose elements do not decode (another key length: written by
 * another version) is left out, and the commit replaces it.
 * If the kernel refuses the kept sets anyway (another type under the same
 * name), engine_apply falls back to replacing the whole table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include "plan.h"
#include "flat.h"

struct adopt_ctx {
	struct flat_set *s;
	const struct flat_set *plan;	/* the new plan's set of that name */
	size_t kept, gone;		/* elements in it, and not */
	bool replaced;			/* most of the set changes: not read */
	/* rbtree sets (ADDR, PORT): the interval ends arrive as elements
	 * of their own, in no promised order: paired after the dump */
	struct flat_elem *ends;
	size_t n_ends, cap_ends;
	bool bad;		/* an element that does not decode */
};

static int adopt_push(struct flat_elem **v, size_t *n, size_t *cap,
		      const struct flat_elem *el)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct flat_elem *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = *el;
	return 0;
}

/* The NFTA_DATA_VALUE inside a key attribute: its bytes, or NULL. */
static const void *adopt_value(const struct nlattr *a, size_t *len)
{
	const struct nlattr *v;

	mnl_attr_for_each_nested(v, a)
		if (mnl_attr_get_type(v) == NFTA_DATA_VALUE) {
			*len = mnl_attr_get_payload_len(v);
			return mnl_attr_get_payload(v);
		}
	return NULL;
}

static int adopt_elem(const struct nlattr *el, void *data)
{
	struct adopt_ctx *x = data;
	const struct flat_set *s = x->s;
	const struct nlattr *a;
	const void *key = NULL, *end = NULL;
	size_t klen = 0, elen = 0;
	uint32_t flags = 0;
	struct flat_elem fe;

	mnl_attr_for_each_nested(a, el) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_KEY:
			key = adopt_value(a, &klen);
			break;
		case NFTA_SET_ELEM_KEY_END:
			end = adopt_value(a, &elen);
			break;
		case NFTA_SET_ELEM_FLAGS:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				flags = ntohl(mnl_attr_get_u32(a));
			break;
		default:
			break;
		}
	}
	if (!key || klen != s->klen || (s->kind == FLAT_RANGE && (!end || elen != klen))) {
		x->bad = true;
		return 0;
	}
	memset(&fe, 0, sizeof(fe));
	memcpy(fe.key, key, klen);
	if (s->kind == FLAT_RANGE) {
		memcpy(fe.end, end, elen);
		fe.has_end = true;
	}
	if ((s->kind == FLAT_ADDR || s->kind == FLAT_PORT) &&
	    (flags & NFT_SET_ELEM_INTERVAL_END))
		return adopt_push(&x->ends, &x->n_ends, &x->cap_ends, &fe);
	if (s->kind == FLAT_EXACT || s->kind == FLAT_RANGE) {
		const struct flat_elem *p = flat_find(x->plan, fe.key, klen);

		if (p && memcmp(p->end, fe.end, sizeof(fe.end)) == 0)
			x->kept++;
		else
			x->gone++;
		/* a set the reload replaces anyway (engine_reuse.c: a range
		 * set losing more than REUSE_MAX_DROPS elements, an exact
		 * one changing most of them) is not worth a copy: at
		 * 100,000 elements that copy is 5 MB */
		if (x->replaced || (s->kind == FLAT_RANGE && x->gone > REUSE_MAX_DROPS) ||
		    (s->kind == FLAT_EXACT && x->gone > 1024 && x->gone > x->kept)) {
			x->replaced = true;
			return 0;
		}
	}
	return adopt_push(&x->s->v, &x->s->n, &x->s->cap, &fe);
}

/* An rbtree set's intervals never overlap: sorted, the k-th end closes
 * the k-th start, and only the last start may have none (an interval
 * that reaches the top of the space, has_end false). */
static bool adopt_pair_ends(struct adopt_ctx *x)
{
	struct flat_set *s = x->s;
	size_t i;

	if (x->n_ends > s->n || x->n_ends + 1 < s->n)
		return false;
	qsort(x->ends, x->n_ends, sizeof(*x->ends), flat_elem_cmp);
	for (i = 0; i < x->n_ends; i++) {
		if (memcmp(x->ends[i].key, s->v[i].key, sizeof(s->v[i].key)) <= 0)
			return false;
		memcpy(s->v[i].end, x->ends[i].key, sizeof(s->v[i].end));
		s->v[i].has_end = true;
	}
	return true;
}

/* Set `name` as the kernel holds it, decoded into s (whose name, kind and
 * key length are the plan's); false when it does not decode. */
static int adopt_set(struct sg_engine *e, struct flat_set *s,
		     const struct flat_set *plan, bool *ok)
{
	struct adopt_ctx x = { .s = s, .plan = plan };
	struct nl_conn c = nldump_conn(e);
	int rc = -EINTR, tries;

	/* a dump that another commit interrupted is taken again */
	for (tries = 0; tries < NLDUMP_TRIES && rc == -EINTR; tries++) {
		s->n = 0;
		x.n_ends = x.kept = x.gone = 0;
		x.bad = x.replaced = false;
		rc = nldump_setelems(&c, s->name, adopt_elem, &x);
	}
	*ok = false;
	if (!rc && !x.bad && !x.replaced) {
		qsort(s->v, s->n, sizeof(*s->v), flat_elem_cmp);
		*ok = (s->kind != FLAT_ADDR && s->kind != FLAT_PORT) || adopt_pair_ends(&x);
	}
	free(x.ends);
	return rc;
}

int engine_adopt_flat(struct sg_engine *e, const struct flat *plan_flat,
		      struct flat **out)
{
	struct nl_conn c = nldump_conn(e);
	struct nl_state st;
	struct flat *f;
	size_t i, j;
	int rc;

	*out = NULL;
	if (!plan_flat || plan_flat->n_sets == 0)
		return 0;
	rc = nldump_state(&c, &st);
	if (rc)
		return rc;
	f = calloc(1, sizeof(*f));
	if (f)
		f->sets = calloc(plan_flat->n_sets, sizeof(*f->sets));
	if (!f || !f->sets) {
		free(f);
		nldump_state_free(&st);
		return -ENOMEM;
	}
	for (i = 0; !rc && i < plan_flat->n_sets; i++) {
		const struct flat_set *ps = &plan_flat->sets[i];
		struct flat_set *s = &f->sets[f->n_sets];
		bool held = false, ok = false;

		for (j = 0; j < st.n_sets && !held; j++)
			held = strcmp(st.sets[j], ps->name) == 0;
		if (!held)
			continue;
		*s = *ps;
		s->n = 0;
		/* sized for the new plan's set (usually about the old one's):
		 * doubling from 64 would hold two copies while it grows */
		s->cap = ps->n ? ps->n : 1;
		s->v = malloc(s->cap * sizeof(*s->v));
		rc = s->v ? adopt_set(e, s, ps, &ok) : -ENOMEM;
		if (!rc && ok) {
			f->n_sets++;
		} else {
			free(s->v);
			s->v = NULL;
		}
	}
	nldump_state_free(&st);
	if (rc || f->n_sets == 0) {
		flat_free(f);
		return rc;
	}
	*out = f;
	return 0;
}
