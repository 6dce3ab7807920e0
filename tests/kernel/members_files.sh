#!/usr/bin/env bash
# members_files.sh — a members.d file is applied whole or not at all, and
# a malformed one never blocks sgd: wherever members.d is read (start,
# change, reload, apply --confirm rollback) a file with a bad line is not
# used, the last valid version of that file stays in force (none at a
# start), the error is logged and shown by `sgctl status` with
# members.d/FILE:LINE until the file is valid again.  Also: a file moved
# in under no group's name is warned about, a temp file is not; run-time
# members and members.d changes combine (one kernel update per change);
# a FIFO under a group's name is refused, it does not block sgd.
# One namespace (sgK-mf-PID); nothing touches the root namespace.
set -u

BUILDDIR=${BUILDDIR:?BUILDDIR must be set}
SRCDIR=${SRCDIR:?SRCDIR must be set}
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$SGD" ] || { echo "FAIL: $SGD not built"; exit 1; }
[ -x "$SGCTL" ] || { echo "FAIL: $SGCTL not built"; exit 1; }

NS=sgK-mf-$$
TMP=$(mktemp -d /tmp/sgK-mf.XXXXXX)
CONF=$TMP/conf
MD=$CONF/members.d
LOG=$TMP/sgd.log
SOCK=$TMP/sgd.sock
SGD_PID=
FAILS=0
PASSES=0

cleanup() {
	if [ -n "$SGD_PID" ]; then
		kill "$SGD_PID" 2>/dev/null
		timeout 60 tail --pid="$SGD_PID" -f /dev/null 2>/dev/null
		kill -9 "$SGD_PID" 2>/dev/null
	fi
	ns_del "$NS"
	if [ "$FAILS" != 0 ] && [ -f "$LOG" ]; then
		echo "---- sgd log (last 30 lines)"
		tail -30 "$LOG"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
sgctl() { ip netns exec "$NS" "$SGCTL" -s "$SOCK" "$@"; }
set_has() { ip netns exec "$NS" nft list table inet sgd 2>/dev/null | tr -d ' \t\n' | grep -q "$1"; }
set_lacks() { ! set_has "$1"; }
# wait_for CMD...: poll CMD every 50 ms until it succeeds (60 s: a hang
# guard only, the awaited changes take milliseconds).
. "$(dirname "$0")/pace.sh"
. "$(dirname "$0")/ns_lib.sh"
wait_for() { pace_wait 60 "$@"; }
status_says() { sgctl status 2>&1 | grep -q "$1"; }
# push FILE CONTENT: write a temp file and rename it over members.d/FILE.
push() { printf '%b' "$2" >"$MD/.$1.tmp" && mv -f "$MD/.$1.tmp" "$MD/$1"; }
start_sgd() {
	local i
	ip netns exec "$NS" "$SGD" -c "$CONF" -s "$SOCK" --state-dir "$TMP/state" -v \
		>>"$LOG" 2>&1 &
	SGD_PID=$!
	for i in $(seq 600); do	# 60 s: a hang guard only
		sgctl status >/dev/null 2>&1 && return 0
		kill -0 "$SGD_PID" 2>/dev/null || { SGD_PID=; return 1; }
		sleep 0.1
	done
	return 1
}

ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
mkdir -p "$CONF/groups.d" "$MD"
printf 'table: sgd\nattach: [db]\n' >"$CONF/sgd.yaml"
cat >"$CONF/groups.d/db.yaml" <<'EOF'
name: db
ingress:
  - protocol: tcp
    ports: 5432
    from: [app]
  - protocol: tcp
    ports: 5433
    from: [ops]
EOF
printf 'name: app\ningress: []\n' >"$CONF/groups.d/app.yaml"
printf 'name: ops\ningress: []\n' >"$CONF/groups.d/ops.yaml"

# --- start with a malformed file ---------------------------------------
printf '10.70.0.1\n10.70.0.300\n' >"$MD/app"
printf '10.71.0.1\n' >"$MD/ops"
check "sgd starts although members.d/app has a bad line" start_sgd
check "the start logs members.d/app:2" grep -q "members.d/app:2" "$LOG"
check "status shows members.d/app:2" status_says "members.d/app:2"
check "app's file is not applied (no valid version seen: none of it)" set_lacks 10.70.0.1
check "ops' file is applied" set_has 10.71.0.1

# --- fixed, then broken again: the last valid version stays ------------
push app '10.70.0.1\n10.70.0.2\n'
check "the fixed file is applied" wait_for set_has 10.70.0.2
check "status no longer reports members.d" wait_for eval '! status_says members.d/'
check "the log says every file is valid again" grep -q "every file is valid again" "$LOG"
push app '10.70.0.1\n# a comment\nweb-1.example\n'
check "a bad line is reported as members.d/app:3" wait_for status_says "members.d/app:3"
check "the last valid version stays (10.70.0.2 kept)" set_has 10.70.0.2
printf '10.70.0.1\n10.70.0.5/16\n' >"$MD/app"	# in place, not renamed
check "an in-place write is read too; host bits are refused by file and line" \
	wait_for grep -q "members.d/app:2:1: host bits set past the prefix length" "$LOG"
check "the bad line's content is never echoed (log)" eval '! grep -q "10.70.0.5/16" "$LOG"'
check "still the last valid version" eval 'set_has 10.70.0.2 && set_lacks 10.70.0.0/16'

# --- reload while the file is bad --------------------------------------
sgctl reload >"$TMP/out" 2>&1; rc=$?
check "sgctl reload succeeds (exit $rc): members.d is not the configuration" [ $rc = 0 ]
check "after the reload the last valid version is still in force" set_has 10.70.0.2
check "and status still reports the file" status_says "members.d/app:2"

# --- apply --confirm rolled back while the file is bad ------------------
printf 'table: sgd\nattach: [db]\nimplicit: {dhcp: false}\n' >"$CONF/sgd.yaml"
sgctl apply --confirm 2 >"$TMP/out" 2>&1; rc=$?
check "apply --confirm 2 exits 0" [ $rc = 0 ]
check "the deadline passes" wait_for grep -q "apply --confirm deadline passed" "$LOG"
check "the rollback succeeds (nothing pending any more)" \
	wait_for eval '[ ! -f "$TMP/state/confirm" ]'
check "no rollback failure is logged" bash -c "! grep -q 'rollback failed\|cannot commit the configuration kept' $LOG"
check "the members after the rollback: the last valid version" \
	eval 'set_has 10.70.0.2 && set_has 10.71.0.1'

# --- with run-time members ----------------------------------------------
sgctl members add app 10.74.0.90 10.74.0.5 >/dev/null
sgctl members add app 10.74.0.1 >/dev/null
n0=$(grep -c "members of app updated from members.d" "$LOG")
push ops '10.71.0.1\n10.71.0.9\n'
check "a change of ops' file is applied" wait_for set_has 10.71.0.9
n1=$(grep -c "members of app updated from members.d" "$LOG")
check "and does not touch app's set (app updates: $((n1 - n0)))" [ "$n1" = "$n0" ]
push app '10.70.0.1\n10.70.0.2\n10.74.0.7\n'
check "a members.d change with run-time members present is applied" \
	wait_for eval 'set_has 10.74.0.7 && set_lacks 10.70.0.0/16'
check "the run-time members stay" eval 'set_has 10.74.0.90 && set_has 10.74.0.5 && set_has 10.74.0.1'
push app '10.70.0.1\n10.74.0.7\n'
check "a removed line leaves, the rest stays" \
	wait_for eval 'set_lacks 10.70.0.2 && set_has 10.70.0.1 && set_has 10.74.0.5'
n1=$(grep -c "members of app updated from members.d" "$LOG")
check "one kernel update per change of the file ($((n1 - n0)))" [ $((n1 - n0)) = 2 ]

# --- not a regular file -------------------------------------------------
mkfifo "$MD/.fifo" && mv -f "$MD/.fifo" "$MD/ops"
push app '10.70.0.1\n10.74.0.7\n10.74.0.8\n'
check "a FIFO named after a group does not block sgd" wait_for set_has 10.74.0.8
check "it is reported: members.d/ops: not a regular file" \
	wait_for status_says "members.d/ops: not a regular file"
check "and ops keeps its last valid version" set_has 10.71.0.9
rm -f "$MD/ops"

# --- file names ---------------------------------------------------------
printf '10.72.0.1\n' >"$MD/4913"; rm -f "$MD/4913"	# vim's probe file
printf '10.72.0.1\n' >"$MD/12345" && mv "$MD/12345" "$MD/ops"	# consul-template
check "consul-template's numbered temp file is not warned about" \
	wait_for set_has 10.72.0.1
check "(no 'no group is named' warning)" bash -c "! grep -q 'no group is named' $LOG"
printf '10.73.0.1\n' >"$MD/.x" && mv "$MD/.x" "$MD/appp"
check "a file renamed to a name of no group is warned about" \
	wait_for grep -q "members.d/appp: ignored: no group is named 'appp'" "$LOG"
check "and not applied" set_lacks 10.73.0.1
rm -f "$MD/ops"
check "deleting a file removes its members" wait_for set_lacks 10.72.0.1

echo "# $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
