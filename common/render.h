/*
 * render.h — what sgctl prints, produced in one place for both formats.
 *
 * The daemon answers every query by calling one of these with the
 * client's --json flag and sending back the resulting text; sgctl prints
 * it unchanged.  Offline commands (check, import) call them directly.
 * So each command's human and JSON output are written once, here.
 *
 * Every function returns 0 or -errno and on success sets *out to a
 * malloc'd NUL-terminated string (one JSON document when json is true;
 * human text ending in a newline otherwise).
 */
#ifndef SGD_RENDER_H
#define SGD_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "model.h"
#include "diag.h"

struct sg_status {
	const char *version;
	long pid;
	const char *confdir;
	const char *table;
	const struct sg_config *cfg;	/* running config (may be NULL) */
	const struct sg_members *members;
	time_t started;
	time_t last_reload;		/* 0 = never */
	bool last_reload_ok;
	const char *last_reload_error;	/* NULL when ok */
	time_t confirm_deadline;	/* 0 = no apply --confirm pending */
	bool disabled;			/* `sgctl disable`: no table */
	time_t disabled_since;

	/* Dropped packets sgd keeps (daemon/droplog.c). */
	bool droplog_reading;		/* holds NFLOG group 100 */
	unsigned long long droplog_kept;
	unsigned long long droplog_logged;
	unsigned long long droplog_suppressed;

	/* Changes of our table by others (daemon/drift.c); zero when none. */
	bool drift_watching;		/* the event socket is open */
	unsigned long drift_detected;	/* foreign changes seen */
	unsigned long drift_repaired;	/* ... and undone */
	unsigned long drift_resyncs;	/* event losses resynchronised */
	time_t last_resync;		/* 0 = never */
	time_t last_drift;		/* 0 = never; then the fields below */
	long last_drift_pid;		/* 0 = unknown (found by a resync) */
	const char *last_drift_process;	/* its name, "?" when unknown */
	const char *last_drift_summary;	/* "added 1 rule to chain input" */
	bool last_drift_repaired;
	const char *last_drift_result;	/* "repaired 52 ms after ...", ... */
};

int render_status(const struct sg_status *st, bool json, char **out);
/* The effective rules of this host, as a table like the seed's. */
int render_show(const struct sg_config *cfg, const struct sg_members *m,
		bool json, char **out);
/* What replacing old by new_ would add and remove; *changed says whether
 * anything would. */
int render_diff(const struct sg_config *old, const struct sg_config *new_,
		const struct sg_members *m, bool json, char **out, bool *changed);
/* "explain in|out PROTO [PORT|TYPE[/CODE]] ADDR": args are the words
 * after "explain".  Returns -EINVAL with diags filled on bad usage.
 * *allowed says whether the packet would be allowed. */
int render_explain(const struct sg_config *cfg, const struct sg_members *m,
		   int argc, char **argv, bool json, char **out, bool *allowed,
		   struct sg_diags *diags);
int render_stats(const struct sg_config *cfg, const struct sg_counter *c,
		 size_t n, bool json, char **out);
/* `stats --format openmetrics|prometheus`: everything render_metrics
 * prints.  counters as engine_read_counters returns them. */
enum sg_metrics_format {
	SG_METRICS_OPENMETRICS,	/* OpenMetrics 1.0 text, ends with # EOF */
	SG_METRICS_PROMETHEUS,	/* Prometheus text format 0.0.4 */
};

struct sg_metrics {
	const char *version;
	const char *table;
	const struct sg_config *cfg;	/* running config (may be NULL) */
	const struct sg_members *members;
	const struct sg_counter *counters;
	size_t n_counters;
	bool enabled;			/* false after `sgctl disable` */
	time_t started;
	time_t last_reload;		/* 0 = never */
	bool last_reload_ok;
	unsigned long long reloads;	/* reload_run calls, failed ones too */
	unsigned long long reload_failures;
	unsigned long long drift_detected;
	unsigned long long drift_repaired;
	unsigned long long drift_resyncs;
	unsigned long long drop_entries;	/* drop log entries written */
	unsigned long long drop_suppressed;	/* ... and held back */
};

/* The metrics exposition; -EINVAL for an unknown format. */
int render_metrics(const struct sg_metrics *m, enum sg_metrics_format fmt,
		   char **out);
/* Where a member that is not in the YAML comes from: the fleet (the host
 * id that registered it, else NULL) and/or members.d or `members add`. */
struct render_member_origin {
	const char *fleet_host;
	bool other;
};
/* Members of one group: from the YAML, added at run time (members.d,
 * `members add`) or registered in the fleet.  origin, when not NULL, has
 * one entry per runtime entry; without it they are all "runtime". */
int render_members(const struct sg_config *cfg, int group_idx,
		   const struct sg_cidr_list *runtime,
		   const struct render_member_origin *origin, bool json, char **out);
/* The answer of members add|del (verb "added" or "deleted"): what
 * changed, what did not, and how many members group has now.  0 or
 * -ENOMEM. */
int render_members_change(const char *group, const char *verb,
			  const struct sg_cidr_list *changed,
			  const struct sg_cidr_list *same, size_t members,
			  bool json, char **out);
/* A list of errors (config or kernel) as text lines or a JSON object
 * {"ok": false, "errors": [{"file":..,"line":..,"column":..,"message":..}]}. */
int render_diags(const struct sg_diags *d, bool json, char **out);

#endif
