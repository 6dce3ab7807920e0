/*
 * setdelta.c — peer-group membership changes as set-element deltas.
 *
 * Only top-level blocks are in the kernel (see compile_sets.c: hosts in a
 * hash set, wider blocks in an interval set), so the
 * delta is taken between the old and the new top-level lists: blocks that
 * left are deleted, blocks that came are added, the rest is not sent.
 * A block that becomes covered by a new larger one is deleted in the same
 * transaction that adds the larger one, so no packet sees a gap.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "plan.h"

static int setdelta_cmp(const struct sg_cidr *a, const struct sg_cidr *b)
{
	int c = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));

	return c ? c : (int)a->prefix - (int)b->prefix;
}

/* Walk two sorted lists; keep in *out what is in a and not in b. */
static int setdelta_minus(const struct sg_cidr *a, size_t na,
			  const struct sg_cidr *b, size_t nb,
			  struct sg_cidr **out, size_t *n_out)
{
	struct sg_cidr *v = malloc((na ? na : 1) * sizeof(*v));
	size_t i = 0, k = 0, n = 0;

	if (!v)
		return -ENOMEM;
	while (i < na) {
		int c = k < nb ? setdelta_cmp(&a[i], &b[k]) : -1;

		if (c < 0)
			v[n++] = a[i++];
		else if (c == 0)
			i++, k++;
		else
			k++;
	}
	*out = v;
	*n_out = n;
	return 0;
}

int setdelta_plan(struct sg_plan *plan, const struct sg_config *cfg, int gi,
		  int af, const struct sg_cidr_list *old,
		  const struct sg_cidr_list *new_,
		  const struct plan_origin *origin)
{
	struct sg_cidr *to = NULL, *tn = NULL, *del = NULL, *add = NULL;
	size_t no = 0, nn = 0, nd = 0, na = 0;
	int rc;

	rc = compile_toplevel(old ? old->v : NULL, old ? old->n : 0, af, &to, &no);
	if (!rc)
		rc = compile_toplevel(new_ ? new_->v : NULL, new_ ? new_->n : 0, af,
				      &tn, &nn);
	if (!rc)
		rc = setdelta_minus(to, no, tn, nn, &del, &nd);
	if (!rc)
		rc = setdelta_minus(tn, nn, to, no, &add, &na);
	/* delete before add: a block and its replacement may share keys */
	if (!rc)
		rc = compile_peer_elems(plan, cfg, gi, af, del, nd, true, origin);
	if (!rc)
		rc = compile_peer_elems(plan, cfg, gi, af, add, na, false, origin);
	free(to);
	free(tn);
	free(del);
	free(add);
	return rc;
}
