#!/usr/bin/env bash
# daemon_members.sh — run-time membership with real packets:
#  * `members add` opens tcp/5432 to a client namespace within 100 ms,
#    changing only set elements (the rules and their handles stay), with
#    no reload; `members del` closes it again;
#  * run-time members survive a clean restart and a kill -9;
#  * `members del` of a YAML member is refused with its file:line;
#  * CONFDIR/members.d/GROUP is watched: a new line reaches the kernel
#    without a reload; a bad line is reported and changes nothing;
#  * a corrupt state file is reported at start, kept aside, not dropped.
set -u
TAG=mb
. "$(dirname "$0")/daemon_lib.sh"

ns_setup veth
write_conf
start_sgd || { bad "sgd did not start"; finish; }
listen_tcp 5432

ms() { echo $(( $(date +%s%N) / 1000000 )); }
# A membership change is a request plus one set-element transaction: it
# must cost about what a trivial request costs here, not a reload.  The
# bound is 20 times this machine's `sgctl status` (at least 100 ms).
. "$(dirname "$0")/pace.sh"
STATUS_MS=$(pace_ms sgctl status)
MEM_MAX=$(pace_bound "$STATUS_MS" 20 100)
echo "# sgctl status takes ${STATUS_MS} ms here: a membership change must take < ${MEM_MAX} ms"

check "before: client 10.77.0.2 cannot connect to 5432" tcp_blocked 5432
before=$(rules_fingerprint)
t0=$(ms); sgctl members add app 10.77.0.2 >"$TMP/out" 2>&1; rc=$?; t1=$(ms)
check "members add exits 0" [ $rc = 0 ]
check "members add took $((t1 - t0)) ms end to end (< $MEM_MAX ms)" [ $((t1 - t0)) -lt "$MEM_MAX" ]
check "the address is a set element in the kernel" set_has 10.77.0.2
check "rules unchanged (same handles): only set elements changed" [ "$(rules_fingerprint)" = "$before" ]
check "client can now connect to 5432" tcp_ok 5432
check "no reload happened" bash -c "! grep -q reloaded $LOG"
sgctl --json members list app >"$TMP/out"
check "members list shows it as run-time" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert {"cidr": "10.77.0.2/32", "source": "runtime"} in d["members"], d
' "$TMP/out"

t0=$(ms); sgctl members del app 10.77.0.2 >"$TMP/out" 2>&1; rc=$?; t1=$(ms)
check "members del exits 0 in $((t1 - t0)) ms (< $MEM_MAX ms)" [ $rc = 0 -a $((t1 - t0)) -lt "$MEM_MAX" ]
check "the element is gone from the kernel" set_lacks 10.77.0.2/
check "rules still unchanged" [ "$(rules_fingerprint)" = "$before" ]
check "client cannot connect any more" tcp_blocked 5432

sgctl members del app 10.77.0.50 >"$TMP/out" 2>"$TMP/err"; rc=$?
check "del of a YAML member is refused (rc $rc)" [ $rc = 1 ]
check "with its file:line ($(head -c 100 "$TMP/err"))" grep -q 'groups.d/app.yaml:4' "$TMP/err"
sgctl members del app 10.77.0.99 >/dev/null 2>"$TMP/err"; rc=$?
check "del of a non-member exits 1" [ $rc = 1 ]
sgctl members add app 10.77.0.2/16 >/dev/null 2>"$TMP/err"; rc=$?
check "add with host bits set is bad usage (2) and suggests the network" \
	bash -c "[ $rc = 2 ] && grep -q '10.77.0.0/16' $TMP/err"
sgctl members add nosuch 10.0.0.1 >/dev/null 2>&1; rc=$?
check "add to an unknown group exits 1" [ $rc = 1 ]

# --- persistence -------------------------------------------------------
sgctl members add app 10.77.0.2 2001:db8::7 >/dev/null
# persisted in the snapshot (members) or in the journal appended to since
# (members.journal: "+ GROUP CIDR CRC32"), see daemon/journal.h
state_has() {
	grep -qs "^app $1\$" "$STATE/members" ||
		grep -Eqs "^\+ app $1 [0-9a-f]{8}\$" "$STATE/members.journal"
}
check "state holds both entries (snapshot or journal)" bash -c "$(declare -f state_has); STATE=$STATE; state_has 10.77.0.2/32 && state_has 2001:db8::7/128"
check "no temporary file left behind" bash -c "! ls -A $STATE | grep -q tmp"
stop_sgd
start_sgd || bad "restart failed"
check "after a clean restart: element restored" set_has 10.77.0.2
check "after a clean restart: client connects" tcp_ok 5432
kill9_sgd
check "after kill -9: the rules stay" set_has 10.77.0.2
start_sgd || bad "start after kill -9 failed"
check "after kill -9 and start: element restored" set_has 10.77.0.2
check "after kill -9 and start: IPv6 element restored" set_has 2001:db8::7
check "after kill -9 and start: client connects" tcp_ok 5432

# --- members.d ---------------------------------------------------------
mkdir -p "$CONF/members.d"
sleep 0.2
printf '# fed by the fleet tool\n10.77.0.3\n' >"$CONF/members.d/app"
for i in $(seq 20); do set_has 10.77.0.3 && break; sleep 0.1; done
check "a members.d line reaches the kernel without a reload" set_has 10.77.0.3
check "no reload happened" bash -c "! grep -q reloaded $LOG"
sgctl members del app 10.77.0.3 >/dev/null 2>"$TMP/err"; rc=$?
check "del of a members.d member is refused with members.d/app:2" \
	bash -c "[ $rc = 1 ] && grep -q 'members.d/app:2' $TMP/err"
printf '10.77.0.3\nnot-an-address\n10.77.0.4\n' >"$CONF/members.d/app"
sleep 0.5
check "a bad members.d line is reported with file:line" grep -q 'members.d/app:2' "$LOG"
check "and changes nothing (10.77.0.4 not added)" set_lacks 10.77.0.4
rm -f "$CONF/members.d/app"
for i in $(seq 20); do set_has 10.77.0.3 || break; sleep 0.1; done
check "removing the members.d file removes its members" set_lacks 10.77.0.3
check "run-time members stay" set_has 10.77.0.2

# --- a corrupt state file ---------------------------------------------
stop_sgd
echo 'app this-is-not-an-address' >>"$STATE/members"
start_sgd || bad "start with a corrupt state file failed"
check "the bad line is reported with file:line" grep -q "$STATE/members:[0-9]*: 'this-is-not-an-address'" "$LOG"
check "the file as it was is kept aside" bash -c "ls $STATE | grep -q 'members.corrupt-'"
check "the good entries are still restored" set_has 10.77.0.2
check "status mentions it" bash -c "ip netns exec $NS $SGCTL -s $SOCK status | grep -q unreadable"
sgctl --json status >"$TMP/out"
check "status --json carries it as \"notice\" (valid JSON)" python3 -c '
import json, sys
assert "unreadable" in json.load(open(sys.argv[1]))["notice"]' "$TMP/out"
finish
