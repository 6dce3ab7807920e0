/*
 * diff.h — what replacing one configuration by another changes, rule by
 * rule: rules of attached groups, failsafe rules, attachments, settings
 * and YAML members.  Implemented in diff.c; rendered by render_diff.c.
 */
#ifndef SGD_DIFF_H
#define SGD_DIFF_H

#include <stddef.h>
#include "model.h"

enum sg_diff_kind {
	SG_DIFF_SETTING = 0,	/* table, implicit.*, log_denied, ... */
	SG_DIFF_ATTACH,		/* a group attached (everywhere or on an iface) */
	SG_DIFF_FAILSAFE,
	SG_DIFF_RULE,		/* a rule of an attached group, one per peer */
	SG_DIFF_MEMBER,		/* a YAML member of a group */
};

struct sg_diff_entry {
	enum sg_diff_kind kind;
	char *group;		/* NULL for settings and failsafe rules */
	char *iface;		/* NULL = every interface */
	int dir;		/* SG_DIR_IN/OUT for rules, -1 otherwise */
	char *text;		/* one line, comparable: equal text = same */
};

struct sg_diff {
	struct sg_diff_entry *added;
	size_t n_added;
	struct sg_diff_entry *removed;
	size_t n_removed;
};

/* old may be NULL (nothing running): then everything is added.  Returns 0
 * or -ENOMEM; diff_free() releases *out either way. */
int diff_configs(const struct sg_config *old, const struct sg_config *new_,
		 struct sg_diff *out);
void diff_free(struct sg_diff *d);
const char *diff_kind_name(enum sg_diff_kind k);

#endif
