/*
 * sgd.h — the daemon: its one context struct and every daemon-side
 * prototype, grouped by the file that implements it.
 *
 * There is no global mutable state: everything lives in struct sgd,
 * created by main() and passed to every function.
 */
#ifndef SGD_SGD_H
#define SGD_SGD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>

#include "model.h"
#include "diag.h"
#include "paths.h"
#include "proto.h"

struct sg_engine;
struct membatch;

#define SGD_CLIENT_DEADLINE_MS	5000	/* whole request, accept to reply */
#define SGD_MAX_CLIENTS		1024
/* Slots only root and control_group members may use, and the most
 * connections one unprivileged uid may hold (control.c): a flood by a
 * read-only user never evicts or locks out root. */
#define SGD_PRIV_RESERVED	64
#define SGD_MAX_CLIENTS_PER_UID	32
#define SGD_MAX_BUFFERED	(64u << 20)	/* request bytes of all clients */
/* `diff` re-reads and validates the whole configuration: for callers who
 * may not change the firewall, at most once per this many ms (dispatch.c);
 * meanwhile they get the last answer. */
#define SGD_DIFF_CACHE_MS	1000
/* members.d files (membersd.c, docs/fleet.md): a bigger file is not
 * applied (its last valid version stays); a longer line is a bad line. */
#define SGD_MEMBERSD_MAX_BYTES	(16u << 20)
#define SGD_MEMBERSD_MAX_LINE	1024
/* Largest file sgd reads whole from its state dir (the run-time members
 * snapshot of a million entries is ~40 MB). */
#define SGD_STATE_MAX_FILE	(256u << 20)

/* Files and directories under the state dir (see runtime.c, snapshot.c,
 * confirm.c). */
#define SGD_STATE_MEMBERS	"members"	/* run-time members */
#define SGD_STATE_CONFIRM	"confirm"	/* pending apply --confirm */
#define SGD_STATE_REJECTED	"rejected"	/* marker after a rollback */
#define SGD_STATE_RUNNING	"running"	/* copy of the committed config */
#define SGD_STATE_STAGING	"staging"	/* copy being loaded */
#define SGD_STATE_PREVIOUS	"previous"	/* rollback target */
#define SGD_STATE_DISABLED	"disabled"	/* marker of sgctl disable */

struct sgd_opts {
	const char *confdir;
	const char *sock_path;
	const char *state_dir;
	bool check_only;
	bool verbose;
	size_t event_buffer;	/* --event-buffer: drift.c, 0 = default */
};

/* Something registered in the epoll set: the loop calls fn on events. */
struct sgd;
struct sgd_watch {
	int fd;
	void (*fn)(struct sgd *d, struct sgd_watch *w, uint32_t events);
};

struct sgd_client {
	struct sgd_watch w;
	struct sgd_client *next;	/* FIFO = deadline order */
	struct sgd_client *prev;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	gid_t *groups;		/* SO_PEERGROUPS; may be NULL */
	size_t n_groups;
	long long deadline_ms;	/* CLOCK_MONOTONIC */
	bool priv;		/* root or control_group when accepted */
	struct proto_decoder dec;
	struct proto_buf out;	/* reply being sent */
	size_t out_off;
	bool replying;		/* request taken; only sending remains */
};

/* dispatch.c: the last `diff` answered to a caller who may not change
 * the firewall, per variant (--json, --exit-code). */
struct sgd_diff_cache {
	bool valid;
	long long at_ms;		/* CLOCK_MONOTONIC */
	char cfg_hash[17];		/* running config it was made against */
	time_t last_reload;
	struct proto_resp r;
};

/* Run-time members of one group, by name (indices change on reload). */
struct sgd_rt_group {
	char *name;
	struct sg_cidr_list addrs;
};

struct sgd_runtime {
	struct sgd_rt_group *v;
	size_t n;
};

/* A configuration loaded from a copy of its files, ready to commit. */
struct sgd_loaded {
	struct sg_config *cfg;
	struct sg_members members;
	char hash[17];		/* of the config files (hex FNV-1a 64) */
};

/* What runs besides the watches' own handlers, registered by main.c:
 * the lower layers reach the higher ones only through these (the loop
 * names no module; reload.c and membatch.c name no control.c function).
 * A NULL hook is not called. */
struct sgd_hooks {
	/* loop.c: before the handler of each event's watch w */
	void (*before_event)(struct sgd *d, const struct sgd_watch *w);
	/* loop.c: after each batch of events */
	void (*after_events)(struct sgd *d);
	/* loop.c: SIGHUP */
	void (*hangup)(struct sgd *d);
	/* reload.c: a configuration became the running one */
	void (*adopted)(struct sgd *d);
	/* membatch.c: send client c its answer r, which waited for the
	 * batch to be committed */
	void (*reply)(struct sgd *d, struct sgd_client *c, struct proto_resp *r);
};

struct sgd {
	struct sgd_opts opt;
	struct sgd_hooks hooks;
	int epfd;
	struct sgd_watch sig;		/* signalfd */
	struct sgd_watch listen;	/* control socket */
	struct sgd_watch client_timer;	/* earliest client deadline */
	struct sgd_watch wd_timer;	/* WATCHDOG=1 */
	struct sgd_watch confirm_timer;	/* apply --confirm deadline */
	struct sgd_watch inotify;	/* members.d */
	int members_wd;			/* inotify watch, -1 if none */
	/* membersd.c: the last valid version of each members.d file, by file
	 * name (what stays in force while the file has a bad line), and the
	 * first members.d error for status (NULL when every file is valid). */
	struct sgd_runtime membersd_good;
	char *members_error;
	bool quit;
	dev_t sock_dev;			/* to unlink only our own socket */
	ino_t sock_ino;
	/* control.c: the private directory the socket was bound in, until
	 * its group is set at start (then NULL); the group it got. */
	char *sock_private;
	gid_t sock_gid;

	struct sgd_client *clients;	/* head = oldest */
	struct sgd_client *clients_tail;
	size_t n_clients;
	size_t n_unpriv;		/* clients that are not priv */
	struct sgd_client *dead;	/* closed, freed after the event batch */
	bool accept_paused;		/* out of file descriptors */
	size_t buffered;		/* decoder memory of all clients */

	struct sg_engine *eng;
	struct sg_config *cfg;		/* running configuration */
	struct sg_members members;	/* effective, indexed like cfg->groups */
	char cfg_hash[17];
	struct sgd_runtime rt;
	gid_t control_gid;
	bool have_control_gid;

	time_t started;
	time_t last_reload;
	bool last_reload_ok;
	char *last_reload_error;	/* malloc'd, NULL when ok */
	bool disabled;			/* sgctl disable: no table (disable.c) */
	time_t disabled_since;
	bool enabling;			/* enable_run's reload: guards pass */
	unsigned long long reloads;	/* reload_run calls (metrics) */
	unsigned long long reload_failures;
	char *notice;			/* rollback / rejected-config notice */

	time_t confirm_deadline;	/* 0 = none pending (rounded up) */
	long long confirm_deadline_ms;	/* CLOCK_REALTIME ms, 0 = none */

	char *state_dir_real;		/* opt.state_dir after state_init */

	/* sd_notify (notify.c): the watchdog interval, 0 when off */
	uint64_t watchdog_usec;

	struct sgd_drift *drift;	/* drift.c; NULL when not watching */
	struct sgd_diff_cache diff_cache[4];	/* dispatch.c */
	struct sgd_droplog *droplog;	/* droplog.c; NULL until log_denied */
	/* membatch.c: member indexes, journal, pending batch; NULL until
	 * first used */
	struct membatch *mb;
	/* fleet.c: membership through etcd; NULL before fleet_init */
	struct sgd_fleet *fleet;
};

/* log.c — every line has a syslog priority (LOG_ERR: sgd cannot go on;
 * LOG_WARNING: something failed or was refused and sgd kept the old
 * state; LOG_NOTICE: a change an operator should see; LOG_INFO: normal
 * operation; LOG_DEBUG: -v only).  An "event" is the SGD_EVENT= journal
 * field (SGD_EV_*); NULL group or field values are left out. */
#define SGD_EV_RELOAD "reload"
#define SGD_EV_ROLLBACK "rollback"
#define SGD_EV_DRIFT "drift"
#define SGD_EV_MEMBERS "members"
#define SGD_EV_DROP "drop"
struct sgd_log_field {
	const char *name;	/* journal field name: "SGD_RULE" */
	const char *value;	/* NULL: not sent */
};
void sgd_log(struct sgd *d, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sgd_debug(struct sgd *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* With SGD_EVENT=event and SGD_GROUP=group (when not NULL). */
void sgd_log_event(struct sgd *d, int prio, const char *event,
		   const char *group, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* With SGD_EVENT=event and n more fields (at most 12). */
void sgd_log_fields(struct sgd *d, int prio, const char *event,
		    const struct sgd_log_field *f, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Is stderr journald's stream ($JOURNAL_STREAM)?  Then entries are
 * native journal entries with their fields. */
bool sgd_log_to_journal(void);
/* One line per diagnostic, "what: file:line:col: message". */
void sgd_log_diags(struct sgd *d, int prio, const char *event, const char *what,
		   const struct sg_diags *dg);

/* watch.c */
int watch_add(struct sgd *d, struct sgd_watch *w, uint32_t events);
int watch_mod(struct sgd *d, struct sgd_watch *w, uint32_t events);
void watch_del(struct sgd *d, struct sgd_watch *w);
/* Arm a timerfd: CLOCK_MONOTONIC ms from now (0 disarms). */
int watch_timer_set_ms(int tfd, long long ms, bool periodic);

/* loop.c: epoll over every watch until d->quit; d->hooks say what else
 * runs (main.c registers them). */
int loop_init(struct sgd *d);
int loop_run(struct sgd *d);
void loop_fini(struct sgd *d);

/* control.c */
int control_open(struct sgd *d);
void control_close(struct sgd *d);
/* Queue a reply for c and start sending it. */
void control_reply(struct sgd *d, struct sgd_client *c, struct proto_resp *r);
/* Resolve cfg->control_group; at start, give the socket to it (once:
 * a reload that changes control_group only logs that the socket keeps
 * its group until a restart).  0 or -errno. */
int control_apply_group(struct sgd *d);
/* Free clients closed during the last event batch (their watch pointers
 * may still have been in that batch). */
void control_reap(struct sgd *d);

/* dispatch.c */
/* The handler of one command (the table in dispatch.c, indexed by
 * common/command.h's enum sg_cmd_id): the answer goes in r; the
 * request's flags say --json. */
typedef void sgd_command_fn(struct sgd *d, const struct sgd_client *c,
			    const struct proto_req *req, struct proto_resp *r);
/* Execute one request; fills r (exit code, stdout, stderr). */
void dispatch_request(struct sgd *d, const struct sgd_client *c,
		      const struct proto_req *req, struct proto_resp *r);
/* Free what dispatch.c keeps in d (the diff cache). */
void dispatch_fini(struct sgd *d);
/* May client c change the firewall (uid 0, or a member of the
 * configured control_group)? */
bool dispatch_client_may_mutate(const struct sgd *d, const struct sgd_client *c);

/* reply.c */
/* Set r to exit code + message: the message on stderr, and with json
 * also {"ok": false, "error": message} on stdout. */
void reply_fail(struct proto_resp *r, bool json, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Diagnostics as the answer (render_diags: stdout with json, else
 * stderr). */
void reply_diags(struct proto_resp *r, bool json, int code,
		 const struct sg_diags *dg);
/* Success: text (human) or {"ok": true, "message": text} (json). */
void reply_ok(struct proto_resp *r, bool json, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A renderer's result as the answer: text (taken) on stdout when rc is
 * 0, else "what: strerror(rc)" as a failure. */
void reply_render(struct proto_resp *r, bool json, int rc, char *text,
		  const char *what);

/* reload.c */
/* Copy srcdir's config files to the staging dir, load and validate them
 * and compute the effective members.  0, or -errno with diags filled. */
int reload_load(struct sgd *d, const char *srcdir, struct sgd_loaded *out,
		struct sg_diags *diags);
void reload_loaded_free(struct sgd_loaded *l);
/* Commit l (engine_apply); on success it becomes the running config
 * (staging/ becomes running/) and l is emptied.  0 or -errno. */
int reload_commit(struct sgd *d, struct sgd_loaded *l, struct sg_diags *diags);
/* The whole `reload` operation, with the lockout guard and the rejected-
 * config check; records the result for status; notifies systemd.
 * ssh may be NULL.  Returns 0, -EINVAL/-errno (diags say why) or
 * -EPERM (refused by a guard; diags say why). */
int reload_run(struct sgd *d, bool force, const char *ssh, struct sg_diags *diags);
/* Adopt an already committed configuration as the running one. */
void reload_adopt(struct sgd *d, struct sgd_loaded *l);

/* lockout.c */
/* Would replacing the running config by newcfg cut off the SSH client
 * described by ssh ($SSH_CONNECTION: "caddr cport saddr sport")?
 * Returns 1 (yes; diags explain), 0 (no) or -EINVAL (unparseable ssh,
 * diags say why). */
int lockout_check(struct sgd *d, const struct sg_config *newcfg,
		  const struct sg_members *newm, const char *ssh,
		  struct sg_diags *diags);

/* membership.c */
/* Effective members of cfg's groups: YAML members, CONFDIR/members.d
 * files, run-time additions.  A members.d file with bad lines does not
 * fail it: its last valid version counts, and membersd_report records
 * the errors.  0 or -ENOMEM (diags say so). */
int membership_compute(struct sgd *d, const struct sg_config *cfg,
		       struct sg_members *out, struct sg_diags *diags);
/* The same after a members.d change: no warning about unknown files
 * again.  0 or -ENOMEM. */
int membership_compute_live(struct sgd *d, const struct sg_config *cfg,
			    struct sg_members *out);
void membership_free(struct sg_members *m);
/* Re-read members.d (after an inotify event) and push the differences. */
void membership_refresh(struct sgd *d);
/* (Re)install the inotify watch on CONFDIR/members.d. */
int membership_watch(struct sgd *d);
/* What members add/del did (membership_add, membership_del). */
struct membership_change {
	struct sg_cidr_list changed;	/* added, or deleted */
	struct sg_cidr_list same;	/* already members; or still members
					 * from the configuration */
	size_t members;			/* the group's members after it */
	char why[512];			/* why not, when it failed */
};
/* members add/del: the addresses req (sorted and made unique here) into
 * or out of group gi's run-time members (kernel set elements and the
 * journal, in membatch.c's batch).  0, or -errno with out->why; nothing
 * changed then.  Free out with membership_change_free either way. */
int membership_add(struct sgd *d, int gi, struct sg_cidr_list *req,
		   struct membership_change *out);
int membership_del(struct sgd *d, int gi, struct sg_cidr_list *req,
		   struct membership_change *out);
void membership_change_free(struct membership_change *ch);
/* members list: the members of group gi not in its YAML (members.d,
 * run-time, fleet), sorted, and where each comes from (*origin: extra->n entries, or NULL
 * when there are none; the caller frees both).  0 or -ENOMEM. */
struct render_member_origin;
int membership_list(struct sgd *d, int gi, struct sg_cidr_list *extra,
		    struct render_member_origin **origin);

/* membersd.c */
/* Read CONFDIR/members.d/fname into out (may be NULL).  With find, *line
 * gets the line where find is written (0 if absent).  A missing file is
 * empty.  0, -EINVAL (bad lines, each a diag "members.d/F:LINE:1: ..."),
 * or -errno. */
int membersd_read(struct sgd *d, const char *fname, struct sg_cidr_list *out,
		  const struct sg_cidr *find, int *line, struct sg_diags *dg);
/* members.d/fname as it applies, added to out: its content when it is
 * valid (which becomes its last valid version), else the last valid
 * version (nothing if none) with the errors in dg.  0 (the file is
 * applied), 1 (it was rejected) or -ENOMEM. */
int membersd_load(struct sgd *d, const char *fname, struct sg_cidr_list *out,
		  struct sg_diags *dg);
/* Record the members.d errors of a load for status, logging them when
 * they are news; none clears the record. */
void membersd_report(struct sgd *d, const struct sg_diags *dg);
/* Free what membersd.c keeps in d. */
void membersd_fini(struct sgd *d);
/* Log the members.d files named after no group of cfg (they are unused). */
void membersd_warn_unknown(struct sgd *d, const struct sg_config *cfg);
/* Is name in members.d not a members file (hidden, a temp file)? */
bool membersd_ignored_name(const char *name);

/* runtime.c */
/* The run-time members of group name, or NULL. */
struct sgd_rt_group *runtime_find(struct sgd_runtime *rt, const char *name);
/* The same, created (empty) when absent; NULL when out of memory. */
struct sgd_rt_group *runtime_get(struct sgd_runtime *rt, const char *name);
void runtime_free(struct sgd_runtime *rt);
/* Persist / restore d->rt (the snapshot file; the journal since is
 * membatch_journal_load's).  0 or -errno (logged). */
int runtime_save(struct sgd *d);
int runtime_load(struct sgd *d);

/* state.c */
/* Write data to path (created 0600, truncated) and fsync it; no rename.
 * 0 or -errno. */
int state_write_durable(const char *path, const void *data, size_t len);
/* Write dir/name atomically: temp file, fsync, rename, fsync dir. */
int state_write_file(const char *dir, const char *name, const void *data,
		     size_t len);
/* Read a whole regular file (NUL-terminated; len may be NULL), opened
 * O_NOFOLLOW | O_NONBLOCK, at most SGD_STATE_MAX_FILE bytes.  0, -ENOENT,
 * -ELOOP (a symlink), -EISDIR (not a regular file), -EFBIG, -errno. */
int state_read_path(const char *path, char **out, size_t *len);
/* The same from an open fd, at most max bytes (memory stays bounded by
 * max whatever the file's size or growth).  0, -EISDIR, -EFBIG, -errno. */
int state_read_fd(int fd, size_t max, char **out, size_t *len);
/* The same for dir/name. */
int state_read_file(const char *dir, const char *name, char **out, size_t *len);
int state_fsync_dir(const char *dir);
int state_init(struct sgd *d);
/* state_dir + "/" + name into buf. */
const char *state_path(const struct sgd *d, const char *name, char *buf,
			  size_t len);

/* snapshot.c */
/* Times are wall-clock milliseconds: the deadline must mean the same
 * after a restart, and rolling back early by a fraction of a second would
 * be a broken promise. */
struct snapshot_mark {
	long long when_ms;	/* deadline, or time of the rollback */
	char hash[17];
};

/* Read / write the marker file name (SGD_STATE_CONFIRM, _REJECTED) of
 * the state dir.  0, -ENOENT, -EBADMSG (unreadable; logged) or -errno. */
int snapshot_mark_read(struct sgd *d, const char *name, struct snapshot_mark *m);
int snapshot_mark_write(struct sgd *d, const char *name, long long when,
			const char *hash);
/* Is CONFDIR's content the configuration that was rolled back?  Fills
 * msg with the explanation when it is. */
bool snapshot_rejected(struct sgd *d, char *msg, size_t len);
/* At start, after state_init: remove a staging copy a crash left. */
int snapshot_init(struct sgd *d);
/* Copy the config files of src (sgd.yaml, groups.d/ regular files) into
 * the empty or absent directory dst.  0 or -errno (diags say which file). */
int snapshot_copy(const char *src, const char *dst, struct sg_diags *diags);
/* Hash the config files of dir (names and content), hex into out[17]. */
int snapshot_hash(const char *dir, char out[17]);
/* rm -r of a snapshot directory (two levels). 0 or -errno. */
int snapshot_remove(const char *dir);
/* Replace dst by src: rename, exchanging when dst exists (then the old
 * dst is removed).  0 or -errno. */
int snapshot_replace(const char *src, const char *dst);

/* confirm.c */
/* apply --confirm SECONDS, and confirm (sgd_command_fn, dispatch.c). */
void confirm_apply(struct sgd *d, const struct sgd_client *c,
		   const struct proto_req *req, struct proto_resp *r);
void confirm_confirm(struct sgd *d, const struct sgd_client *c,
		     const struct proto_req *req, struct proto_resp *r);
/* Roll back now (deadline passed). 0 or -errno. */
int confirm_rollback(struct sgd *d);
/* At start: handle a pending confirm / rejected marker.  Sets *handled
 * when it committed a configuration itself (else the caller loads
 * CONFDIR).  0 or -errno. */
int confirm_startup(struct sgd *d, bool *handled);
int confirm_timer_init(struct sgd *d);

/* disable.c */
/* Is the marker of `sgctl disable` in the state dir?  *since (may be
 * NULL) gets its time. */
bool disable_marked(struct sgd *d, time_t *since);
/* At start: with the marker, set d->disabled and return 1 (then nothing
 * is committed); else 0. */
int disable_startup(struct sgd *d);
/* disable --confirm [--force]: remove the table, write the marker. */
void disable_run(struct sgd *d, const struct sgd_client *c,
		 const struct proto_req *req, struct proto_resp *r);
/* enable [--force]: commit CONFDIR (reload_run), remove the marker. */
void enable_run(struct sgd *d, const struct sgd_client *c,
		const struct proto_req *req, struct proto_resp *r);

/* droplog.c */
struct sgd_droplog;
struct sg_status;
/* After a commit: read NFLOG group 100 when log_denied is true (and not
 * disabled), release it when not.  Failures are logged. */
void droplog_update(struct sgd *d);
/* Say goodbye to the followers, release everything. */
void droplog_close(struct sgd *d);
/* log [--since US]: the kept entries as the answer (c may be NULL). */
void droplog_request(struct sgd *d, const struct sgd_client *c,
		     const struct proto_req *req, struct proto_resp *r);
/* Is req `log --follow` (a stream, not one reply)? */
bool droplog_wants_stream(const struct proto_req *req);
/* Take over the client's socket fd for `log --follow`: the kept entries,
 * then every new one. */
void droplog_follow(struct sgd *d, int fd, uid_t uid, const struct proto_req *req);
/* The drop-log fields of sgctl status. */
void droplog_status(const struct sgd *d, struct sg_status *st);
/* For the metrics: entries logged, messages suppressed by sgd's limit. */
void droplog_counts(const struct sgd *d, unsigned long long *logged,
		    unsigned long long *suppressed);

/* notify.c */
int notify_init(struct sgd *d);
/* Send one notification ("READY=1\nSTATUS=...") with libsystemd's
 * sd_notify(); a no-op without $NOTIFY_SOCKET.  0 or -errno. */
int notify_send(struct sgd *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int notify_loop_add(struct sgd *d);

/* drift.c */
struct sgd_drift;
struct sg_status;
/* Watch nftables events for changes of our table by others (after the
 * first commit).  0 or -errno (logged; sgd then runs without it). */
int drift_open(struct sgd *d);
void drift_close(struct sgd *d);
/* sgd committed a whole ruleset (reload, rollback): our new table is the
 * reference for lost events, and the engine's socket is the one whose
 * events are ours.  A no-op before drift_open. */
void drift_committed(struct sgd *d);
/* Around a reload: stop listening to nftables events, and listen again.
 * A big commit makes the kernel build one event per set element for
 * every listener, only for our filter to drop them; on resume, the
 * generation tells whether anyone else committed in between, and then
 * their events are treated as lost (a resync).  No-ops without drift. */
void drift_pause(struct sgd *d);
void drift_resume(struct sgd *d);
/* The drift fields of sgctl status. */
void drift_status(const struct sgd *d, struct sg_status *st);

#endif
