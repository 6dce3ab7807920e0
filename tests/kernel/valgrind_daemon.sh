#!/usr/bin/env bash
# valgrind_daemon.sh — sgd under valgrind memcheck for a whole life
# (a whole life of the daemon): start, 100 reloads alternating two configurations
# with every 10th one invalid (refused), SIGHUP reloads, run-time member
# add/del/list, members.d rewritten by a "fleet tool" (one bad version),
# every query command with and without --json, apply --confirm + confirm,
# an apply --confirm left to roll back, drift (a chain added, the table
# deleted by someone else), clients that send garbage or hang up
# mid-request, then SIGTERM.
# Fails on any memcheck error, any definite or indirect leak, any file
# descriptor sgd still holds at exit, or any command that does not answer
# as it should.  Runs in its own network namespace (sgH-vg-*).
set -u
BUILDDIR=${BUILDDIR:?BUILDDIR must be set}
SRCDIR=${SRCDIR:?SRCDIR must be set}
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v valgrind >/dev/null || { echo "FAIL: valgrind is not installed"; exit 1; }
[ -x "$SGD" ] || { echo "FAIL: $SGD not built"; exit 1; }
[ -x "$SGCTL" ] || { echo "FAIL: $SGCTL not built"; exit 1; }

NS=sgH-vg-$$
TMP=$(mktemp -d /tmp/sgH-vg.XXXXXX)
CONF=$TMP/conf
STATE=$TMP/state
SOCK=$TMP/sgd.sock
LOG=$TMP/sgd.log
VGLOG=$TMP/valgrind.log
SGD_PID=
FAILS=0
PASSES=0
. "$(dirname "$0")/pace.sh"
. "$(dirname "$0")/ns_lib.sh"
# Every wait below is for an event, with a hang guard of 300 s: sgd under
# memcheck is some 20 times slower than without, and a loaded machine
# slower again.

cleanup() {
	if [ -n "$SGD_PID" ]; then
		kill "$SGD_PID" 2>/dev/null
		timeout 60 tail --pid="$SGD_PID" -f /dev/null 2>/dev/null
		kill -9 "$SGD_PID" 2>/dev/null
	fi
	ns_del "$NS"
	if [ "$FAILS" != 0 ]; then
		[ -f "$LOG" ] && { echo "---- sgd log (last 30 lines)"; tail -n 30 "$LOG"; }
		[ -f "$VGLOG" ] && { echo "---- valgrind log (first 150 lines)"; head -n 150 "$VGLOG"; }
	fi
	[ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
finish() { echo "# $PASSES passed, $FAILS failed"; [ "$FAILS" = 0 ]; exit $?; }
sgctl() { ip netns exec "$NS" timeout 600 "$SGCTL" -s "$SOCK" "$@"; }
nsx() { ip netns exec "$NS" "$@"; }
# Is tcp/udp port P in our table, whatever form the compiler chose (a
# rule, or an element of a port set)?  Counters are left out.
has_port() {
	ip netns exec "$NS" nft list table inet sgd 2>/dev/null |
		sed 's/counter packets [0-9]* bytes [0-9]*//g' | grep -qw "$1"
}

ip netns add "$NS" || { bad "cannot create namespace $NS"; finish; }
nsx ip link set lo up

# Two valid configurations (A: db admits tcp/5432 from app; B: tcp/6432
# and a failsafe rule) and an invalid one (a port out of range).
mkdir -p "$CONF/groups.d" "$CONF/members.d" "$STATE" "$TMP/A" "$TMP/B" "$TMP/bad"
cat >"$TMP/A/sgd.yaml" <<'EOF'
attach: [db]
EOF
cat >"$TMP/A/db.yaml" <<'EOF'
name: db
description: database
ingress:
  - protocol: tcp
    ports: 5432
    from: [app]
  - protocol: tcp
    ports: 22
    from: [192.0.2.0/24, "2001:db8::/32"]
EOF
cat >"$TMP/B/sgd.yaml" <<'EOF'
attach: [db, app]
failsafe:
  - {protocol: tcp, ports: 22, from: [198.51.100.0/24]}
EOF
cat >"$TMP/B/db.yaml" <<'EOF'
name: db
ingress:
  - protocol: tcp
    ports: 6432
    from: [app, 10.0.0.0/8]
  - protocol: icmp
    icmp_type: 8
    from: [0.0.0.0/0]
egress:
  - {protocol: udp, ports: 53, to: ["::/0"]}
EOF
cat >"$TMP/app.yaml" <<'EOF'
name: app
description: application servers
members: [10.77.0.50, "2001:db8::50"]
EOF
cp "$TMP/A/db.yaml" "$TMP/bad/db.yaml"
sed -i 's/ports: 5432/ports: 70000/' "$TMP/bad/db.yaml"

use_conf() {	# A | B | bad
	cp "$TMP/app.yaml" "$CONF/groups.d/app.yaml"
	[ "$1" = bad ] || cp "$TMP/$1/sgd.yaml" "$CONF/sgd.yaml"
	cp "$TMP/$1/db.yaml" "$CONF/groups.d/db.yaml"
}
use_conf A

# Started directly (not through a shell function) so that $! is the
# daemon itself: ip netns exec execs valgrind, which runs sgd in-process.
ip netns exec "$NS" valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--error-exitcode=99 --track-fds=yes --num-callers=30 --log-file="$VGLOG" \
	"$SGD" -c "$CONF" -s "$SOCK" --state-dir "$STATE" -v >"$LOG" 2>&1 &
SGD_PID=$!
up=
for _ in $(seq 6000); do
	sgctl status >/dev/null 2>&1 && { up=1; break; }
	kill -0 "$SGD_PID" 2>/dev/null || break
	sleep 0.1
done
[ -n "$up" ] || { bad "sgd did not start under valgrind within 600 s"; finish; }
ok "sgd started under valgrind"
fds_start=$(ls /proc/"$SGD_PID"/fd | wc -l)
check "config A in force (tcp 5432)" has_port 5432

# --- 100 reloads: A, B alternating; every 10th invalid -----------------
bad_rc=0 good_rc=0 refused=0
for i in $(seq 100); do
	if [ $((i % 10)) = 0 ]; then
		use_conf bad
		sgctl reload >/dev/null 2>"$TMP/err"; rc=$?
		if [ $rc = 1 ] && grep -q '70000' "$TMP/err"; then
			refused=$((refused + 1))
		else
			bad_rc=$((bad_rc + 1))
		fi
	else
		use_conf $([ $((i % 2)) = 0 ] && echo B || echo A)
		sgctl reload >/dev/null 2>"$TMP/err" || { good_rc=$((good_rc + 1)); cat "$TMP/err"; }
	fi
done
check "90 valid reloads succeeded ($good_rc failed)" [ "$good_rc" = 0 ]
check "10 invalid reloads refused with the error ($refused refused, $bad_rc wrong)" \
	[ "$refused" = 10 ] && [ "$bad_rc" = 0 ]
use_conf B
sgctl reload >/dev/null 2>&1
check "config B in force (tcp 6432)" has_port 6432
use_conf A
kill -HUP "$SGD_PID"
pace_wait 300 has_port 5432
check "SIGHUP reloaded config A" bash -c "$(declare -f has_port); NS=$NS; has_port 5432 && ! has_port 6432"

# --- run-time membership ------------------------------------------------
for i in $(seq 10); do
	sgctl members add app "10.78.$i.0/24" "2001:db8:$i::1" >/dev/null 2>&1 || bad "members add $i"
done
check "members list shows an added member" bash -c "ip netns exec $NS $SGCTL -s $SOCK members list app | grep -q 10.78.5.0/24"
check "members --json list" sgctl --json members list app
for i in $(seq 2 2 10); do
	sgctl members del app "10.78.$i.0/24" >/dev/null 2>&1 || bad "members del $i"
done
check "a deleted member is gone" bash -c "! ip netns exec $NS $SGCTL -s $SOCK members list app | grep -q 10.78.4.0/24"
sgctl members add nosuchgroup 10.0.0.1 >/dev/null 2>&1
check "members add to an unknown group is refused" [ $? = 1 ]
sgctl members add app not-an-address >/dev/null 2>&1
check "members add of a bad address is refused" [ $? -ne 0 ]

# --- members.d: a fleet tool rewrites the file (one bad version) -------
in_set() { ip netns exec "$NS" nft list table inet sgd | tr -d ' \t\n' | grep -q "$1"; }
wait_set() { pace_wait 300 in_set "$1"; }
for i in $(seq 10); do
	printf '# written by a fleet tool\n10.6.%d.0/24\n2001:db8:6::%d\n' "$i" "$i" \
		>"$CONF/members.d/app.tmp"
	mv "$CONF/members.d/app.tmp" "$CONF/members.d/app"
	sleep 0.2
done
check "members.d: the last version reached the kernel" wait_set 10.6.10.0/24
nerr=$(grep -c 'members.d/app:2' "$LOG")
printf '10.6.11.0/24\nnot-an-address\n' >"$CONF/members.d/app"
check "members.d: the bad version is reported (members.d/app:2)" \
	pace_wait 300 eval "[ \$(grep -c 'members.d/app:2' '$LOG') -gt $nerr ]"
check "members.d: a bad version is not applied" bash -c "! ip netns exec $NS nft list table inet sgd | tr -d ' \t\n' | grep -q 10.6.11.0/24"
printf '10.6.12.0/24\n' >"$CONF/members.d/app"
check "members.d: a good version after it is applied" wait_set 10.6.12.0/24

# --- every query, both formats -------------------------------------------
for json in "" --json; do
	check "status $json" sgctl $json status
	check "show $json" sgctl $json show
	check "stats $json" sgctl $json stats
	check "explain $json" sgctl $json explain in tcp 5432 10.77.0.50
	check "explain (dropped) $json" sgctl $json explain in udp 9 203.0.113.1
	check "version $json" sgctl $json version
	sgctl $json diff >/dev/null 2>&1; check "diff $json" [ $? -le 1 ]
done
use_conf B
sgctl diff --exit-code >/dev/null 2>&1
check "diff --exit-code sees the change to B" [ $? = 1 ]
sgctl explain sideways tcp 1 10.0.0.1 >/dev/null 2>&1
check "explain with bad usage is refused" [ $? -ne 0 ]

# --- apply --confirm + confirm, and one left to roll back ---------------
sgctl apply --confirm 60 >/dev/null 2>&1
check "apply --confirm 60 (config B)" [ $? = 0 ]
check "confirm" sgctl confirm
use_conf A
sgctl apply --confirm 1 >/dev/null 2>&1
check "apply --confirm 1 (config A)" [ $? = 0 ]
pace_wait 300 has_port 6432
check "unconfirmed apply rolled back to B" bash -c "$(declare -f has_port); NS=$NS; has_port 6432 && ! has_port 5432"
use_conf B
sgctl reload >/dev/null 2>&1

# --- drift: someone else changes or deletes our table --------------------
nsx nft add chain inet sgd sgH_intruder
pace_wait 300 eval "! ip netns exec $NS nft list table inet sgd 2>/dev/null | grep -q sgH_intruder"
check "drift: a chain someone added was repaired away" bash -c "! ip netns exec $NS nft list table inet sgd | grep -q sgH_intruder"
nsx nft delete table inet sgd
pace_wait 300 has_port 6432
check "drift: the deleted table was restored" has_port 6432

# --- clients that misbehave ------------------------------------------------
nsx timeout 600 python3 - "$SOCK" <<'EOF' || bad "misbehaving clients script failed"
import socket, struct, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(300)	# a hang guard only
    s.connect(path)
    return s
def drain(s):
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
# garbage instead of a frame
s = conn(); s.sendall(b"GET / HTTP/1.0\r\n\r\n"); drain(s)
# a header announcing 1 KiB, half of it, then hang up
s = conn(); s.sendall(struct.pack(">IHHI", 0x53474450, 1, 1, 1024) + b"x" * 500); s.close()
# another protocol version
s = conn(); s.sendall(struct.pack(">IHHI", 0x53474450, 9, 1, 0)); drain(s)
# a request whose attribute overruns the frame
s = conn(); s.sendall(struct.pack(">IHHI", 0x53474450, 1, 1, 8) + struct.pack(">HHI", 1, 0, 99)); drain(s)
# over the request cap
s = conn(); s.sendall(struct.pack(">IHHI", 0x53474450, 1, 1, (1 << 20) + 1)); drain(s)
# connect and leave at once
conn().close()
time.sleep(0.5)
EOF
check "sgd still answers after the misbehaving clients" sgctl status
# the last connections are closed as sgd gets to them
pace_wait 300 eval '[ "$(ls /proc/$SGD_PID/fd | wc -l)" = "$fds_start" ]'
fds_end=$(ls /proc/"$SGD_PID"/fd | wc -l)
check "open descriptors after everything: $fds_end, at start: $fds_start" [ "$fds_end" = "$fds_start" ]

# --- stop -------------------------------------------------------------------
kill -TERM "$SGD_PID"
timeout 600 tail --pid="$SGD_PID" -f /dev/null
wait "$SGD_PID"; rc=$?
SGD_PID=
check "sgd exited 0 on SIGTERM under valgrind (exit $rc; 99 = memcheck errors)" [ "$rc" = 0 ]
summary=$(grep -m1 'ERROR SUMMARY' "$VGLOG")
check "memcheck: ${summary#*== }" grep -q 'ERROR SUMMARY: 0 errors' "$VGLOG"
for kind in "definitely lost" "indirectly lost"; do
	line=$(grep "$kind:" "$VGLOG" | head -n 1)
	if [ -z "$line" ] || echo "$line" | grep -q "$kind: 0 bytes"; then
		ok "leaks: ${kind}: 0 bytes"
	else
		bad "leaks: ${line#*== }"
	fi
done
grep -q "All heap blocks were freed" "$VGLOG" && ok "all heap blocks were freed" ||
	echo "info - $(grep -E 'still reachable|possibly lost' "$VGLOG" | sed 's/^==[0-9]*== *//' | tr '\n' ' ')"
# At exit valgrind lists every open descriptor; the three standard ones
# and those inherited from the parent are not sgd's doing.
fds=$(grep 'FILE DESCRIPTORS:' "$VGLOG" | tail -n 1)
leaked=$(awk '/FILE DESCRIPTORS:/ { on = 1; next }
	on && /== Open / { fd = $0; inh = 0; next }
	on && /<inherited from parent>/ { inh = 1 }
	on && /^==[0-9]+== *$/ { if (fd != "" && !inh) print fd; fd = "" }
	END { if (fd != "" && !inh) print fd }' "$VGLOG" |
	grep -vE 'file descriptor [012]:' | sed 's/^==[0-9]*== *//')
if [ -z "$fds" ]; then
	bad "valgrind printed no file descriptor report"
elif [ -n "$leaked" ]; then
	bad "sgd left descriptors open at exit: $leaked"
else
	ok "no file descriptor left open at exit (${fds#*== })"
fi
finish
