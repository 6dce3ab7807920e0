#!/usr/bin/env bash
# fleet.sh — four hosts, each running its own sgd with the same groups,
# peer-group membership distributed the way a fleet tool does it: by
# writing CONFDIR/members.d/<group> on every host.
#
# Topology: a "switch" namespace holding a bridge, and four host
# namespaces (10.89.0.1-4/24), each on a veth to the bridge.  Nothing is
# created in the root namespace.  Groups (identical on every host):
#   web  no inbound; members fed by members.d/web
#   ops  no inbound; members fed by members.d/ops
#   db   tcp/5432 from web, tcp/5433 from ops
#   base no inbound, default outbound (so host4 can send at all)
# host1 and host2 attach web, host3 attaches db, host4 only base.
#
# What it proves, with real TCP connections to host3:
#   * every way fleet tools write a file reaches the kernel as set
#     elements (consul-template: numbered temp file + rename; Ansible:
#     hidden temp + rename; an editor: truncate and write in place; a
#     members.d directory that did not exist when sgd started);
#   * web -> db:5432 is allowed from web members only: host4 is dropped;
#   * removing host2 from web on every host refuses its NEW connections
#     within 1 s of the rename (measured and printed; on a slower machine
#     within 20 times an `sgctl status` round trip there), without
#     touching a rule (same handles), while its established connection
#     keeps working;
#   * a malformed line pushed to one host is reported with
#     members.d/web:LINE in the log and `sgctl status`; that file is not
#     applied (host3 keeps the old web members), and other files (ops)
#     are still applied meanwhile; fixing the file clears the report;
#   * deleting a file removes its members; a members.d directory renamed
#     into place, removed, or created again is followed.
set -u

BUILDDIR=${BUILDDIR:?BUILDDIR must be set}
SRCDIR=${SRCDIR:?SRCDIR must be set}
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$SGD" ] || { echo "FAIL: $SGD not built"; exit 1; }
[ -x "$SGCTL" ] || { echo "FAIL: $SGCTL not built"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 needed"; exit 1; }

SW=sgK-sw-$$
HOSTS="1 2 3 4"
TMP=$(mktemp -d /tmp/sgK-fleet.XXXXXX)
chmod 755 "$TMP"
PIDS=
FAILS=0
PASSES=0

hns() { echo "sgK-h$1-$$"; }
hip() { echo "10.89.0.$1"; }
conf() { echo "$TMP/h$1/conf"; }

. "$(dirname "$0")/ns_lib.sh"

cleanup() {
	local h
	ns_stop_jobs $PIDS
	for h in $HOSTS; do ns_del "$(hns "$h")"; done
	ns_del "$SW"
	if [ "$FAILS" != 0 ]; then
		for h in $HOSTS; do
			[ -f "$TMP/h$h/sgd.log" ] || continue
			echo "---- host$h sgd log (last 15 lines)"
			tail -15 "$TMP/h$h/sgd.log"
		done
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
# A signal (a reader of our output that went away, ^C, a timeout) still
# runs the cleanup.
trap 'exit 1' INT TERM HUP PIPE
. "$(dirname "$0")/check_lib.sh"
test_guard 1700 fleet.sh

. "$(dirname "$0")/pace.sh"

# --- network: a bridge in the switch namespace, one veth per host ------
ns_switch_add "$SW" || exit 1
for h in $HOSTS; do
	ns_switch_attach "$SW" "$(hns "$h")" "p$h" "$(hip "$h")/24" || exit 1
done

# --- the same groups on every host; attach differs ---------------------
for h in $HOSTS; do
	c=$(conf "$h")
	mkdir -p "$c/groups.d" "$TMP/h$h/state"
	cat >"$c/groups.d/web.yaml" <<'EOF'
name: web
description: web servers; members come from members.d/web
ingress: []
EOF
	cat >"$c/groups.d/ops.yaml" <<'EOF'
name: ops
description: operators; members come from members.d/ops
ingress: []
EOF
	cat >"$c/groups.d/db.yaml" <<'EOF'
name: db
description: database
ingress:
  - protocol: tcp
    ports: 5432
    from: [web]
  - protocol: tcp
    ports: 5433
    from: [ops]
EOF
	cat >"$c/groups.d/base.yaml" <<'EOF'
name: base
description: every host; default outbound rule, nothing in
ingress: []
EOF
	case $h in
	1|2) att="[base, web]" ;;
	3) att="[base, db]" ;;
	4) att="[base]" ;;
	esac
	printf 'table: sgd\nattach: %s\n' "$att" >"$c/sgd.yaml"
done
# host1 and host2 start with an empty members.d; host3 and host4 have
# none: it appears later, as a fleet tool's first run would create it.
mkdir "$(conf 1)/members.d" "$(conf 2)/members.d"

sgctl_h() { local h=$1; shift; ip netns exec "$(hns "$h")" "$SGCTL" -s "$TMP/h$h/sgd.sock" "$@"; }
start_host() {
	local h=$1 i
	ip netns exec "$(hns "$h")" "$SGD" -c "$(conf "$h")" -s "$TMP/h$h/sgd.sock" \
		--state-dir "$TMP/h$h/state" -v >>"$TMP/h$h/sgd.log" 2>&1 &
	PIDS="$PIDS $!"
	# 60 s: a hang guard only
	for i in $(seq 600); do
		sgctl_h "$h" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
for h in $HOSTS; do
	check "host$h: sgd started" start_host "$h"
done

# --- servers on host3: 5432 and 5433, echoing, many connections ---------
cat >"$TMP/server.py" <<'EOF'
import socket, sys, threading
def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()
def echo(c):
    try:
        while True:
            b = c.recv(4096)
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    c.close()
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
threading.Event().wait()
EOF
ip netns exec "$(hns 3)" python3 "$TMP/server.py" 5432 5433 &
PIDS="$PIDS $!"

# tcp_try SECS H PORT: can host H open a connection to host3:PORT and get
# an echo back within SECS?  A connection that must pass gets 10 s
# (tcp_from); one that must be dropped 0.8 s (tcp_dropped: on one bridge
# an admitted SYN is answered at once, a dropped one never).  60 s guard
# python's start-up.
tcp_try() {
	ip netns exec "$(hns "$2")" timeout 60 python3 -c '
import socket, sys
s = socket.create_connection(("10.89.0.3", int(sys.argv[1])), timeout=float(sys.argv[2]))
s.sendall(b"x")
sys.exit(0 if s.recv(1) == b"x" else 1)
' "$3" "$1"
}
tcp_from() { tcp_try 10 "$@"; }
tcp_dropped() { ! tcp_try 0.8 "$@"; }
check "host3's servers listen on 5432 and 5433" pace_wait 60 eval \
	"[ \$(ip netns exec $(hns 3) ss -Hltn '( sport = :5432 or sport = :5433 )' | wc -l) = 2 ]"

# In-kernel members of group web/ops on host H (elements of its sets).
set_has() { ip netns exec "$(hns "$1")" nft list table inet sgd 2>/dev/null | tr -d ' \t\n' | grep -q "$2"; }
set_lacks() { ! set_has "$@"; }
members_has() { sgctl_h "$1" members list web 2>/dev/null | grep -q "$2/32"; }
# wait_for CMD...: poll CMD every 50 ms until it succeeds (60 s: a hang
# guard only, the awaited changes take milliseconds).
wait_for() { pace_wait 60 "$@"; }
rules_fp() {
	ip netns exec "$(hns "$1")" nft -a list table inet sgd | grep '# handle' |
		grep -v 'elements' | sed 's/counter packets [0-9]* bytes [0-9]*//' | md5sum
}

# --- the ways fleet tools write files ----------------------------------
# consul-template: a temp file named by a number in the same directory,
# then rename over the target.
push_consul() {
	local d=$(conf "$1")/members.d tmp
	mkdir -p "$d"
	tmp=$d/$RANDOM$RANDOM
	printf '%b' "$3" >"$tmp" && mv -f "$tmp" "$d/$2"
}
# Ansible (copy/template): a hidden temp file next to the target, rename.
push_ansible() {
	local d=$(conf "$1")/members.d tmp
	mkdir -p "$d"
	tmp=$(mktemp "$d/.ansible_tmpXXXXXX$2")
	printf '%b' "$3" >"$tmp" && mv -f "$tmp" "$d/$2"
}
# An editor or `cat >`: truncate and write in place.
push_inplace() {
	local d=$(conf "$1")/members.d
	mkdir -p "$d"
	printf '%b' "$3" >"$d/$2"
}

WEB12='# managed by the fleet tool\n10.89.0.1\n10.89.0.2\n'
before3=$(rules_fp 3)
check "before: host1 cannot reach db:5432 (web has no members yet)" tcp_dropped 1 5432
push_consul 1 web "$WEB12"
push_ansible 2 web "$WEB12"
push_consul 3 web "$WEB12"	# creates members.d on host3
push_inplace 4 web "$WEB12"	# creates members.d on host4
# Only host3 has a rule naming web, so only there is web a kernel set;
# every sgd knows the members (what `members list` answers).
for h in $HOSTS; do
	check "host$h: sgd has the web members (10.89.0.1 and .2)" \
		wait_for eval "members_has $h 10.89.0.1 && members_has $h 10.89.0.2"
done
check "host3: they are elements of its kernel set (members.d created after start)" \
	wait_for eval "set_has 3 10.89.0.1 && set_has 3 10.89.0.2"
check "host3: only set elements changed, the rules kept their handles" \
	[ "$(rules_fp 3)" = "$before3" ]
check "host3: no reload happened" bash -c "! grep -q reloaded $TMP/h3/sgd.log"
check "host3: consul-template's temp file is not warned about" \
	bash -c "! grep -q 'ignored: no group' $TMP/h3/sgd.log"
check "web member host1 -> db:5432 allowed" tcp_from 1 5432
check "web member host2 -> db:5432 allowed" tcp_from 2 5432
check "non-member host4 -> db:5432 dropped" tcp_dropped 4 5432
check "host1 (not in ops) -> db:5433 dropped" tcp_dropped 1 5433

# --- host2 leaves web: established stays, new refused within 1 s -------
# The bound on the removal latency: 1 s, or on a slower machine 20 times
# an `sgctl status` round trip to host3's sgd (best of 5).
STATUS_MS=$(pace_ms sgctl_h 3 status)
REMOVE_MAX=$(pace_bound "$STATUS_MS" 20 1000)
echo "# sgctl status takes $STATUS_MS ms here: host2's new connections must be refused within $REMOVE_MAX ms"
# An established connection from host2, pinging every 50 ms until the
# stop file exists (at most 100000 times; 30 s per echo is a hang guard).
cat >"$TMP/hold.py" <<'EOF'
import os, socket, sys, time
s = socket.create_connection(("10.89.0.3", 5432), timeout=30)
out = open(sys.argv[1], "w", buffering=1)
for i in range(100000):
    if os.path.exists(sys.argv[2]):
        break
    try:
        s.sendall(b"p")
        ok = s.recv(1) == b"p"
    except OSError:
        ok = False
    out.write("%d %s\n" % (time.time_ns() // 1000000, "ok" if ok else "fail"))
    time.sleep(0.05)
EOF
# New connections from host2, one attempt every 10 ms until the first one
# fails (a dropped SYN: 1 s timeout) or the stop file exists (at most
# 100000 attempts); each line: start_ms end_ms result.  A refused
# attempt's SYN left no earlier than its start and no later than its end
# minus the timeout.
cat >"$TMP/probe.py" <<'EOF'
import os, socket, sys, time
out = open(sys.argv[1], "w", buffering=1)
ms = lambda: time.time_ns() // 1000000
for i in range(100000):
    if os.path.exists(sys.argv[2]):
        break
    t = ms()
    try:
        s = socket.create_connection(("10.89.0.3", 5432), timeout=1.0)
        s.close()
        out.write("%d %d ok\n" % (t, ms()))
    except OSError:
        out.write("%d %d fail\n" % (t, ms()))
        break
    time.sleep(0.01)
EOF
ip netns exec "$(hns 2)" python3 "$TMP/hold.py" "$TMP/hold.log" "$TMP/hold.stop" &
HOLD=$!
PIDS="$PIDS $HOLD"
ip netns exec "$(hns 2)" python3 "$TMP/probe.py" "$TMP/probe.log" "$TMP/probe.stop" &
PROBE=$!
PIDS="$PIDS $PROBE"
# Both are running (a loaded machine may take a while to start python).
check "host2's established connection and new-connection probe run" \
	wait_for eval 'grep -q ok "$TMP/hold.log" && grep -q ok "$TMP/probe.log"'
sleep 0.3
WEB1='# managed by the fleet tool\n10.89.0.1\n'
for h in 1 2 4; do push_ansible "$h" web "$WEB1"; done
# host3 enforces: the clock starts at its rename.
d3=$(conf 3)/members.d
tmp=$d3/$RANDOM$RANDOM
printf '%b' "$WEB1" >"$tmp"
T_RENAME=$(now_ms)
mv -f "$tmp" "$d3/web"
# the probe ends at its first refused connection (600 s: a hang guard)
timeout 600 tail --pid=$PROBE -f /dev/null
touch "$TMP/probe.stop"
first_fail=$(awk '$3 == "fail" { print $1; exit }' "$TMP/probe.log")
fail_syn=$(awk '$3 == "fail" { printf "%.0f\n", $2 - 1000; exit }' "$TMP/probe.log")
oks_before=$(awk -v t="$T_RENAME" '$3 == "ok" && $1 < t' "$TMP/probe.log" | wc -l)
check "host2 made new connections until the rename ($oks_before before it)" [ "$oks_before" -gt 0 ]
if [ -n "$first_fail" ]; then
	LAT=$((first_fail - T_RENAME))
	echo "# removal latency: first refused new connection started $LAT ms after the rename"
	check "the first refused connection's SYN left after the rename ($((fail_syn - T_RENAME)) ms)" \
		[ "$fail_syn" -ge $((T_RENAME - 20)) ]
	check "host2 loses new connections within $REMOVE_MAX ms of the rename ($LAT ms)" \
		[ "$LAT" -lt "$REMOVE_MAX" ]
else
	bad "host2 never lost new connections"
	fail_syn=$T_RENAME
fi
check "and then stays dropped" tcp_dropped 2 5432
# The established connection: more than 5 echoes later than 1 s after the
# rename and after the removal was in force, and no failure (awaited:
# 600 s is a hang guard only).
after=$(( fail_syn > T_RENAME + 1000 ? fail_syn : T_RENAME + 1000 ))
holds_after() { awk -v t="$after" '$1 > t && $2 == "ok"' "$TMP/hold.log" | wc -l; }
pace_wait 600 eval '[ "$(holds_after)" -gt 5 ] || grep -q fail "$TMP/hold.log" || ! kill -0 $HOLD'
touch "$TMP/hold.stop"
timeout 600 tail --pid=$HOLD -f /dev/null
holds_fail=$(grep -c fail "$TMP/hold.log")
check "host2's established connection kept working ($(holds_after) echoes > 1 s after the rename and after the removal, $holds_fail failures)" \
	[ "$(holds_after)" -gt 5 -a "$holds_fail" = 0 ]
check "host1 (still in web) -> db:5432 allowed" tcp_from 1 5432
for h in $HOSTS; do
	check "host$h: 10.89.0.2 left web" wait_for eval "! members_has $h 10.89.0.2"
done
check "host3: and its kernel set" set_lacks 3 10.89.0.2
check "host3: rules still the same handles" [ "$(rules_fp 3)" = "$before3" ]

# --- a malformed line on host3 -----------------------------------------
push_ansible 3 web '10.89.0.1\nnot-an-address\n10.89.0.4\n'
check "the malformed line is logged as members.d/web:2" \
	wait_for grep -q 'members.d/web:2' "$TMP/h3/sgd.log"
sgctl_h 3 status >"$TMP/status" 2>&1
check "sgctl status shows members.d/web:2 ($(grep -m1 'members.d' "$TMP/status"))" \
	grep -q 'members.d/web:2' "$TMP/status"
sgctl_h 3 --json status >"$TMP/status.json" 2>&1
check "sgctl --json status carries it" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert "members.d/web:2" in json.dumps(d), d' "$TMP/status.json"
check "the file is not applied: host4 (line 3) still dropped" tcp_dropped 4 5432
check "host3 keeps the old web members (host1 allowed)" tcp_from 1 5432
push_consul 3 ops '10.89.0.4\n'
check "meanwhile another file (ops) is still applied: host4 -> db:5433" \
	wait_for tcp_from 4 5433
push_consul 3 web '10.89.0.1\n10.89.0.4\n'
check "the corrected file is applied: host4 -> db:5432" wait_for tcp_from 4 5432
sgctl_h 3 status >"$TMP/status" 2>&1
check "and status no longer reports members.d" bash -c "! grep -q 'members.d/web' $TMP/status"

# --- a deleted file removes its members --------------------------------
rm -f "$(conf 3)/members.d/ops"
check "deleting members.d/ops removes host4 from ops: db:5433 dropped" \
	wait_for tcp_dropped 4 5433

# --- the directory itself: replaced by a rename, removed ---------------
# host1: a complete new members.d renamed over the old one (the old one
# moved aside first, as `mv` cannot replace a non-empty directory).
c1=$(conf 1)
mkdir "$c1/members.d.new"
printf '10.89.0.1\n10.89.0.4\n' >"$c1/members.d.new/web"
mv "$c1/members.d" "$c1/members.d.old"
mv "$c1/members.d.new" "$c1/members.d"
check "host1: a members.d directory renamed into place is read" \
	wait_for members_has 1 10.89.0.4
printf '10.89.0.1\n10.89.0.3\n' >"$c1/members.d/.web.new" && mv "$c1/members.d/.web.new" "$c1/members.d/web"
check "host1: then its files are watched" \
	wait_for eval "members_has 1 10.89.0.3 && ! members_has 1 10.89.0.4"
printf '10.89.0.1\n' >"$c1/members.d.old/web"
# inotify events come in order: once a later change in the new
# directory is applied, a change in the old one would have been too
printf '10.89.0.1\n' >"$c1/members.d/.ops.new" && mv "$c1/members.d/.ops.new" "$c1/members.d/ops"
check "host1: a later change in the new directory is applied" \
	wait_for eval "sgctl_h 1 members list ops | grep -q 10.89.0.1/32"
check "host1: and the old directory's are not" members_has 1 10.89.0.3
rm -rf "$(conf 2)/members.d"
check "host2: removing members.d removes its members" \
	wait_for eval "! members_has 2 10.89.0.1"
push_ansible 2 web '10.89.0.2\n'
check "host2: and a members.d created again is watched" \
	wait_for members_has 2 10.89.0.2

for h in $HOSTS; do
	check "host$h: sgd still running" sgctl_h "$h" status
done
finish
