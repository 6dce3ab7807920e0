#!/usr/bin/env bash
# daemon_confirm.sh — `apply --confirm SECONDS` and `confirm`:
#  * the new rules are committed, then rolled back on time when nobody
#    confirms (the sgctl that asked has long exited);
#  * after a rollback, neither a reload nor a restart re-applies the
#    rejected configuration while CONFDIR still holds exactly it; a
#    changed configuration is accepted again;
#  * a confirmed apply stays;
#  * the deadline survives the daemon: expired while sgd was stopped ->
#    rolled back at start; pending across a kill -9 -> still rolled back
#    on time by the new sgd;
#  * a bad configuration is refused without arming anything; a reload
#    while a confirm is pending is refused.
set -u
TAG=cf
. "$(dirname "$0")/daemon_lib.sh"

ns_setup
write_conf
start_sgd || { bad "sgd did not start"; finish; }

# The confirm window W (seconds) comes from this machine's pace: at least
# 10 times the slowest of a reload and a restart here (at least 2 s), so
# each step below that must happen inside the window (a confirm, a stop,
# a restart) does, however slow the machine.  A rollback must come no
# earlier than W and no later than W + max(1.5 s, 10 reloads).
. "$(dirname "$0")/pace.sh"
RELOAD_MS=$(pace_ms sgctl reload)
t0=$(date +%s%N); stop_sgd; start_sgd || { bad "sgd did not restart"; finish; }
RESTART_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
slow=$(( RELOAD_MS > RESTART_MS ? RELOAD_MS : RESTART_MS ))
W=$(( ($(pace_bound "$slow" 10 2000) + 999) / 1000 ))
LATE_MS=$(pace_bound "$RELOAD_MS" 10 1500)
echo "# a reload takes ${RELOAD_MS} ms, a restart ${RESTART_MS} ms: confirm window ${W} s, rollback within ${LATE_MS} ms of it"

# a port is in force as a rule ("tcp dport N") or, for the globally
# attached groups' flat sets, as an element ("ADDR . N", or "N" in a peer
# group's port set)
has_port() { nsx nft list table inet sgd | grep -Eq "(dport |\. |\{ |^[[:space:]]+)$1( |,|\$)"; }
# The first rule's port only.
setport() { python3 - "$CONF/groups.d/db.yaml" "$1" <<'EOF'
import re, sys
p, port = sys.argv[1], sys.argv[2]
s = open(p).read()
s = re.sub(r"ports: \d+", "ports: " + port, s, count=1)
open(p, "w").write(s)
EOF
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_port PORT SECONDS: until the rule is in the kernel; prints the ms.
wait_port() {
	local end=$(( $(now_ms) + $2 * 1000 ))
	while [ "$(now_ms)" -lt "$end" ]; do
		has_port "$1" && { now_ms; return 0; }
		sleep 0.05
	done
	return 1
}

check "start: tcp 5432 in force" has_port 5432

# --- unconfirmed: rolled back on time ---------------------------------
setport 6000
t0=$(now_ms)
sgctl apply --confirm $W >"$TMP/out" 2>&1; rc=$?
check "apply --confirm $W exits 0" [ $rc = 0 ]
check "the new rule (6000) is in force" has_port 6000
check "the pending deadline is on disk" [ -f "$STATE/confirm" ]
sgctl --json status >"$TMP/out"
check "status shows the pending deadline" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["confirm_deadline"] and 0 <= d["confirm_seconds_left"] <= int(sys.argv[2]) + 1, d' "$TMP/out" $W
t1=$(wait_port 5432 $((W * 3))) || t1=
check "rolled back to 5432 without confirm" [ -n "$t1" ]
[ -n "$t1" ] && check "rollback at $((t1 - t0)) ms after apply (deadline $((W * 1000)) ms, allowed up to $((W * 1000 + LATE_MS)))" \
	[ $((t1 - t0)) -ge $((W * 1000)) -a $((t1 - t0)) -le $((W * 1000 + LATE_MS)) ]
check "6000 is gone" bash -c "! ip netns exec $NS nft list table inet sgd | grep -Eq '(dport |\. |\{ |^[[:space:]]+)6000( |,|\$)'"
# The file goes right after the commit; allow for a slow (sanitizer) build.
for i in $(seq $((LATE_MS / 100 + 20))); do [ -f "$STATE/confirm" ] || break; sleep 0.1; done
check "the pending file is removed" [ ! -f "$STATE/confirm" ]
check "status says it was rolled back" bash -c "ip netns exec $NS $SGCTL -s $SOCK status | grep -q 'rolled back'"

# --- the rejected config is not re-applied ----------------------------
sgctl reload >"$TMP/out" 2>"$TMP/err"; rc=$?
check "reload of the rejected config is refused (rc $rc)" [ $rc = 1 ]
check "saying why ($(head -c 100 "$TMP/err"))" grep -q 'rolled back' "$TMP/err"
check "5432 still in force" has_port 5432
stop_sgd
start_sgd || bad "restart failed"
check "after restart: still the previous config (5432), not the rejected one" has_port 5432
check "after restart: the log says why" grep -q 'still holds the configuration that was rolled back' "$LOG"
check "after restart: status says so" bash -c "ip netns exec $NS $SGCTL -s $SOCK status | grep -q 'rolled back'"
setport 6001
sgctl reload >/dev/null 2>&1; rc=$?
check "a changed config reloads again" [ $rc = 0 ]
check "6001 in force" has_port 6001
check "the marker is gone" [ ! -f "$STATE/rejected" ]

# --- confirmed: stays --------------------------------------------------
setport 6002
sgctl apply --confirm $W >/dev/null 2>&1; rc=$?
check "apply --confirm $W (6002) exits 0" [ $rc = 0 ]
sgctl confirm >"$TMP/out" 2>&1; rc=$?
check "confirm exits 0" [ $rc = 0 ]
sleep $((W + 1))
check "after the deadline: 6002 stays" has_port 6002
sgctl confirm >/dev/null 2>&1; rc=$?
check "confirm with nothing pending exits 1" [ $rc = 1 ]

# --- deadline passed while sgd was stopped -----------------------------
setport 6003
sgctl apply --confirm $W >/dev/null 2>&1
check "6003 on probation" has_port 6003
stop_sgd
sleep $W.5
check "sgd stopped: the rules stay (6003)" has_port 6003
start_sgd || bad "start after an expired deadline failed"
check "start after the deadline: rolled back to 6002" has_port 6002
check "the log says why" grep -q 'deadline passed while sgd was not running' "$LOG"

# --- pending across a kill -9 ------------------------------------------
setport 6004
t0=$(now_ms)
sgctl apply --confirm $W >/dev/null 2>&1
kill9_sgd
start_sgd || bad "start with a pending confirm failed"
check "restarted within the deadline: 6004 still on probation" has_port 6004
sgctl --json status >"$TMP/out"
check "status of the new sgd shows the pending deadline" python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["confirm_deadline"]' "$TMP/out"
t1=$(wait_port 6002 $((W * 3))) || t1=
check "the new sgd rolled back to 6002 on time ($((${t1:-0} - t0)) ms, deadline $((W * 1000)))" \
	[ -n "$t1" -a $((${t1:-0} - t0)) -ge $((W * 1000)) -a $((${t1:-0} - t0)) -le $((W * 1000 + LATE_MS)) ]

# --- refusals ----------------------------------------------------------
setport 70000
sgctl apply --confirm 5 >/dev/null 2>"$TMP/err"; rc=$?
check "apply --confirm of a bad config exits 1 with file:line" \
	bash -c "[ $rc = 1 ] && grep -q 'groups.d/db.yaml:5' $TMP/err"
check "nothing pending after a refused apply" [ ! -f "$STATE/confirm" ]
setport 6005
sgctl apply --confirm 30 >/dev/null 2>&1
sgctl reload >/dev/null 2>"$TMP/err"; rc=$?
check "reload while a confirm is pending is refused" bash -c "[ $rc = 1 ] && grep -q pending $TMP/err"
sgctl apply --confirm 30 >/dev/null 2>&1; rc=$?
check "a second apply --confirm while one is pending is refused" [ $rc = 1 ]
sgctl confirm >/dev/null 2>&1
check "confirmed: 6005 stays" has_port 6005
finish
