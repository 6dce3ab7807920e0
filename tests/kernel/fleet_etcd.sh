#!/usr/bin/env bash
# fleet_etcd.sh — fleet membership through a real etcd (sgd.yaml fleet:,
# docs/fleet.md), proved with real TCP connections.
#
# Topology: a "switch" namespace holding a bridge; three etcd members
# (10.88.0.11-13, short election timeout, progress notifications every
# second) and four sgd hosts (10.88.0.1-4), each in its own namespace on
# a veth to the bridge.  Nothing runs or is created in the root
# namespace: etcd only ever runs under `ip netns exec`.
# Groups (the same on every host):
#   web  no inbound; its members come from the fleet
#   db   tcp/5432 from web
#   base no inbound, default outbound
# host1 and host2 attach web, host3 db, host4 only base (later web too).
#
# What it proves:
#   * hosts that attach web become members of web on every host, with
#     their host ids; web -> db:5432 admits them; host4 is refused;
#     set elements only, no rule changed;
#   * a malformed key is skipped, logged and counted;
#   * a restart of a host's sgd reuses its lease: no DELETE in etcd and
#     no element deleted on host3;
#   * kill -9 of host2's sgd: its new connections are refused after the
#     lease expires (not before 2/3 TTL; within TTL + max(1 s, a multiple
#     of the revoke propagation measured here + etcd's expiry check)),
#     while its established connection keeps working;
#   * killing the etcd leader loses no change (host4 attaching web by a
#     reload, a put by hand);
#   * all etcd members killed: nothing changes on any host for longer
#     than a lease; an sgd restart during the outage keeps the
#     membership (host3 still admits host1); everything converges when
#     etcd returns;
#   * a watch that resumes at a compacted revision leads to a new list
#     that applies the difference;
#   * `sgctl fleet leave` removes the host everywhere.
set -u

BUILDDIR=${BUILDDIR:?BUILDDIR must be set}
SRCDIR=${SRCDIR:?SRCDIR must be set}
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$SGD" ] || { echo "FAIL: $SGD not built"; exit 1; }
[ -x "$SGCTL" ] || { echo "FAIL: $SGCTL not built"; exit 1; }
for t in python3 etcd etcdctl nft; do
	command -v "$t" >/dev/null || { echo "FAIL: $t needed (scripts/deps.sh test)"; exit 1; }
done

SW=sgE-sw-$$
HOSTS="1 2 3 4"
ETCDS="1 2 3"
TTL=4
TMP=$(mktemp -d /tmp/sgE-fleet.XXXXXX)
chmod 755 "$TMP"
PIDS=
FAILS=0
PASSES=0
declare -A SGD_PID ETCD_PID

hns() { echo "sgE-h$1-$$"; }
ens() { echo "sgE-e$1-$$"; }
hip() { echo "10.88.0.$1"; }
eip() { echo "10.88.0.1$1"; }
conf() { echo "$TMP/h$1/conf"; }
ENDPOINTS="http://$(eip 1):2379,http://$(eip 2):2379,http://$(eip 3):2379"

. "$(dirname "$0")/ns_lib.sh"

cleanup() {
	local p n
	# a stopped etcd or sgd must run again to end on SIGTERM
	for p in $(ns_live_jobs $PIDS ${SGD_PID[@]} ${ETCD_PID[@]}); do
		kill -CONT "$p" 2>/dev/null
	done
	ns_stop_jobs $PIDS ${SGD_PID[@]} ${ETCD_PID[@]}
	for n in $HOSTS; do ns_del "$(hns "$n")"; done
	for n in $ETCDS; do ns_del "$(ens "$n")"; done
	ns_del "$SW"
	if [ "$FAILS" != 0 ]; then
		for n in $HOSTS; do
			[ -f "$TMP/h$n/sgd.log" ] || continue
			echo "---- host$n sgd log (last 25 lines)"
			tail -25 "$TMP/h$n/sgd.log"
		done
	fi
	# SGE_KEEP=DIR keeps the logs and state of a run (debugging)
	[ -n "${SGE_KEEP:-}" ] && cp -r "$TMP" "$SGE_KEEP"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
. "$(dirname "$0")/check_lib.sh"
test_guard 1700 fleet_etcd.sh

. "$(dirname "$0")/pace.sh"
# wait_for CMD...: poll until CMD succeeds; 120 s is a hang guard only
# (the awaited events take milliseconds to a few seconds).
wait_for() { pace_wait 120 "$@"; }

# --- network ------------------------------------------------------------
ns_switch_add "$SW" || exit 1
attach_ns() { ns_switch_attach "$SW" "$1" "$2" "$3/24" || exit 1; }	# NS PORT ADDR
for h in $HOSTS; do attach_ns "$(hns "$h")" "ph$h" "$(hip "$h")"; done
for e in $ETCDS; do attach_ns "$(ens "$e")" "pe$e" "$(eip "$e")"; done

# --- etcd: three members ------------------------------------------------
CLUSTER="e1=http://$(eip 1):2380,e2=http://$(eip 2):2380,e3=http://$(eip 3):2380"
start_etcd() {
	local e=$1
	ip netns exec "$(ens "$e")" etcd --name "e$e" --data-dir "$TMP/e$e" \
		--listen-client-urls "http://$(eip "$e"):2379" \
		--advertise-client-urls "http://$(eip "$e"):2379" \
		--listen-peer-urls "http://$(eip "$e"):2380" \
		--initial-advertise-peer-urls "http://$(eip "$e"):2380" \
		--initial-cluster "$CLUSTER" --initial-cluster-state new \
		--initial-cluster-token "sgE-$$" \
		--heartbeat-interval 50 --election-timeout 500 \
		--experimental-watch-progress-notify-interval 1s \
		--logger zap --log-outputs stderr >>"$TMP/e$e.log" 2>&1 &
	ETCD_PID[$e]=$!
}
# etcdctl from the namespace of a member that runs (any will do).
ectl() {
	local e
	for e in $ETCDS; do
		if kill -0 "${ETCD_PID[$e]:-0}" 2>/dev/null; then
			ip netns exec "$(ens "$e")" timeout 30 etcdctl --endpoints "$ENDPOINTS" \
				--command-timeout 10s "$@"
			return
		fi
	done
	return 1
}
healthy() { ectl endpoint health 2>&1 | grep -c 'is healthy' | grep -qx "${1:-3}"; }
for e in $ETCDS; do start_etcd "$e"; done
check "etcd: three healthy members" wait_for healthy 3

# --- the same groups on every host; attach differs -----------------------
write_conf() {	# HOST ATTACH
	cat >"$(conf "$1")/sgd.yaml" <<EOF
table: sgd
attach: $2
fleet:
  etcd: [http://$(eip 1):2379, http://$(eip 2):2379, http://$(eip 3):2379]
  host_id: host$1
  lease_ttl: $TTL
EOF
}
for h in $HOSTS; do
	c=$(conf "$h")
	mkdir -p "$c/groups.d" "$TMP/h$h/state"
	printf 'name: web\ndescription: members from the fleet\ningress: []\n' >"$c/groups.d/web.yaml"
	printf 'name: base\ningress: []\n' >"$c/groups.d/base.yaml"
	cat >"$c/groups.d/db.yaml" <<'EOF'
name: db
ingress:
  - protocol: tcp
    ports: 5432
    from: [web]
EOF
	case $h in
	1|2) write_conf "$h" "[base, web]" ;;
	3) write_conf "$h" "[base, db]" ;;
	4) write_conf "$h" "[base]" ;;
	esac
done

sgctl_h() { local h=$1; shift; ip netns exec "$(hns "$h")" "$SGCTL" -s "$TMP/h$h/sgd.sock" "$@"; }
start_host() {
	local h=$1
	ip netns exec "$(hns "$h")" "$SGD" -c "$(conf "$h")" -s "$TMP/h$h/sgd.sock" \
		--state-dir "$TMP/h$h/state" -v >>"$TMP/h$h/sgd.log" 2>&1 &
	SGD_PID[$h]=$!
	pace_wait 60 sgctl_h "$h" status
}
stop_host() {	# SIGTERM, awaited (60 s: a hang guard)
	kill "${SGD_PID[$1]}" 2>/dev/null
	timeout 60 tail --pid="${SGD_PID[$1]}" -f /dev/null
}
# fleet_is HOST PYTHON-EXPR: the expression holds for `fleet status --json`
# (as f).
fleet_is() {
	sgctl_h "$1" --json fleet status 2>/dev/null | python3 -c '
import json, sys
f = json.load(sys.stdin)
sys.exit(0 if eval(sys.argv[1]) else 1)' "$2"
}
synced() { fleet_is "$1" 'f["connected"] and f["listed"] and f["lease_alive"]'; }
for h in $HOSTS; do
	check "host$h: sgd started" start_host "$h"
done
for h in $HOSTS; do
	check "host$h: fleet connected, listed, lease alive" wait_for synced "$h"
done

# --- servers on host3: 5432, echoing -------------------------------------
cat >"$TMP/server.py" <<'EOF'
import socket, threading
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
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5432))
s.listen(128)
while True:
    c, _ = s.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
EOF
ip netns exec "$(hns 3)" python3 "$TMP/server.py" &
PIDS="$PIDS $!"
check "host3 listens on 5432" wait_for eval \
	"[ \$(ip netns exec $(hns 3) ss -Hltn 'sport = :5432' | wc -l) = 1 ]"
# tcp_try SECS H: host H opens a connection to host3:5432 and gets an
# echo within SECS.  One that must pass gets 10 s; one that must be
# dropped 0.8 s (on one bridge an admitted SYN is answered at once).
tcp_try() {
	ip netns exec "$(hns "$2")" timeout 60 python3 -c '
import socket, sys
s = socket.create_connection(("10.88.0.3", 5432), timeout=float(sys.argv[1]))
s.sendall(b"x")
sys.exit(0 if s.recv(1) == b"x" else 1)
' "$1"
}
tcp_from() { tcp_try 10 "$@"; }
tcp_dropped() { ! tcp_try 0.8 "$@"; }
# Members of web as host H's sgd has them; in host3's kernel set.
members_has() { sgctl_h "$1" members list web 2>/dev/null | grep -q "^fleet: $2/32 host $3\$"; }
members_fp() { sgctl_h "$1" members list web 2>/dev/null | sort | md5sum; }
set_has() { ip netns exec "$(hns 3)" nft list set inet sgd peer_web_v4_hosts 2>/dev/null |
	tr -d ' \t\n' | grep -q "[{,]$1[,}]"; }
rules_fp() {
	ip netns exec "$(hns 3)" nft -a list table inet sgd | grep '# handle' |
		grep -v 'elements' | sed 's/counter packets [0-9]* bytes [0-9]*//' | md5sum
}

# --- membership through attachment --------------------------------------
for h in $HOSTS; do
	check "host$h: web has host1 and host2 from the fleet, with their host ids" \
		wait_for eval "members_has $h 10.88.0.1 host1 && members_has $h 10.88.0.2 host2"
done
check "host3: they are elements of its kernel set" wait_for eval "set_has 10.88.0.1 && set_has 10.88.0.2"
# The member lines name their source: the fleet, with the host id.
check "members list: host1's address is labelled fleet (host host1), not runtime" eval \
	"sgctl_h 3 members list web | grep -Eq '^  10\.88\.0\.1/32 +fleet \(host host1\)\$' &&
	 ! sgctl_h 3 members list web | grep -q 'runtime'"
check "members list --json: source fleet with its host" eval "sgctl_h 3 --json members list web | python3 -c '
import json, sys
d = json.load(sys.stdin)
m = {x[\"cidr\"]: x for x in d[\"members\"]}
assert m[\"10.88.0.1/32\"] == {\"cidr\": \"10.88.0.1/32\", \"source\": \"fleet\", \"host\": \"host1\"}, m
assert m[\"10.88.0.2/32\"][\"source\"] == \"fleet\" and m[\"10.88.0.2/32\"][\"host\"] == \"host2\", m
assert d[\"count\"] == len(d[\"members\"]) == 2, d'"
check "host4 (base only) is not a member" eval "! sgctl_h 3 members list web | grep -q 10.88.0.4"
check "web host1 -> db:5432 allowed" tcp_from 1 5432
check "web host2 -> db:5432 allowed" tcp_from 2 5432
check "non-web host4 -> db:5432 refused" tcp_dropped 4
check "etcd has hosts/ and members/ keys of host1" eval \
	"ectl get --prefix /sgd/ --keys-only | grep -qx /sgd/hosts/host1 &&
	 ectl get --prefix /sgd/ --keys-only | grep -qx /sgd/members/web/host1/10.88.0.1/32"
sgctl_h 3 status >"$TMP/status" 2>&1
check "sgctl status shows the fleet ($(grep -m1 '^fleet:' "$TMP/status"))" \
	grep -q '^fleet: connected to http://10.88.0.1' "$TMP/status"
check "sgctl status: fleet members per group" grep -q '^fleet members:.* web 2$' "$TMP/status"
check "sgctl --json status carries the fleet object" eval "sgctl_h 3 --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = d[\"fleet\"]
assert f[\"connected\"] and f[\"revision\"] > 0 and f[\"groups\"][\"web\"] == 2, f'"
RULES3=$(rules_fp)

# --- a malformed key -----------------------------------------------------
ectl put /sgd/members/web/host9/not-an-address x >/dev/null
ectl put /sgd/members/web/host9 x >/dev/null
check "malformed keys are skipped with a log line" \
	wait_for grep -q 'skipped malformed key /sgd/members/web/host9/not-an-address' "$TMP/h3/sgd.log"
check "and counted" wait_for fleet_is 3 'f["malformed_keys"] >= 2'
check "and change nothing (host1 still allowed, host4 still refused)" \
	eval "tcp_from 1 && tcp_dropped 4"
ectl del --prefix /sgd/members/web/host9 >/dev/null

# --- a restart reuses the lease: no delete anywhere ----------------------
ectl watch --prefix /sgd/ >"$TMP/watch.log" 2>&1 &
WATCH=$!
PIDS="$PIDS $WATCH"
ip netns exec "$(hns 3)" nft monitor >"$TMP/monitor3.log" 2>&1 &
MON=$!
PIDS="$PIDS $MON"
sleep 0.5
lease1=$(sgctl_h 1 --json fleet status | python3 -c 'import json,sys; print(json.load(sys.stdin)["lease"])')
stop_host 1
check "host1: sgd restarted" start_host 1
check "host1: synced again" wait_for synced 1
check "host1: the same lease reused ($lease1)" fleet_is 1 "f['lease'] == '$lease1'"
check "host1: the log says so" grep -q "reusing lease $lease1" "$TMP/h1/sgd.log"
sleep 1	# let anything that would follow arrive (none should)
kill "$WATCH" "$MON" 2>/dev/null
check "etcd saw no DELETE during the restart" bash -c "! grep -q DELETE $TMP/watch.log"
check "host3 deleted no set element during the restart" bash -c "! grep -q 'delete element' $TMP/monitor3.log"
check "host1 -> db:5432 still allowed" tcp_from 1

# --- kill -9 of host2's sgd -------------------------------------------------
# The contract is "refused within TTL + 1 s".  What is not the TTL is
# etcd's expiry check (every 500 ms in etcd 3.4) and the propagation of
# the lease's revoke to host3's kernel; the propagation is measured here,
# now: the worst of 3 explicit revokes of a lease holding one key, from
# etcdctl's start to the element gone from host3's set.  The bound is TTL
# + max(1 s, 5 x that + 500 ms), so a slow or loaded machine widens it by
# what it measurably costs here, never by a fixed guess.
EXPIRY_CHECK_MS=500
PROBE_KEY=/sgd/members/web/probe/10.88.0.66/32
prop_once() {	# prints the ms from the revoke's start to the element gone
	local lease t0 i
	lease=$(ectl lease grant 600 | awk '/granted/ { print $2 }')
	[ -n "$lease" ] && ectl put --lease="$lease" "$PROBE_KEY" x >/dev/null || return 1
	wait_for set_has 10.88.0.66 || return 1
	t0=$(date +%s%N)
	ectl lease revoke "$lease" >/dev/null || return 1
	for i in $(seq 1 20000); do
		set_has 10.88.0.66 || break
		[ $(( ($(date +%s%N) - t0) / 1000000000 )) -ge 60 ] && return 1
	done
	echo $(( ($(date +%s%N) - t0) / 1000000 ))
}
PROP_MS=0
for i in 1 2 3; do
	p=$(prop_once) || { bad "revoke propagation measurement $i"; p=0; }
	echo "# revoke of a one-key lease -> gone from host3's kernel set: $p ms"
	[ "$p" -gt "$PROP_MS" ] && PROP_MS=$p
done
MARGIN=$(pace_bound "$PROP_MS" 5 1000)
[ $((PROP_MS * 5 + EXPIRY_CHECK_MS)) -gt "$MARGIN" ] && MARGIN=$((PROP_MS * 5 + EXPIRY_CHECK_MS))
LOSS_MAX=$((TTL * 1000 + MARGIN))
# Not too early: sgd renews the lease every TTL/3, so it cannot expire
# before 2/3 TTL after the kill; sgd's event loop may send a keepalive
# late by about what it takes to answer a request (an `sgctl status`
# round trip, best of 5), 5 times that is allowed.
STATUS_MS=$(pace_ms sgctl_h 2 status)
LOSS_MIN=$((TTL * 2000 / 3 - 5 * STATUS_MS))
echo "# worst revoke propagation $PROP_MS ms, etcd expiry check $EXPIRY_CHECK_MS ms, sgctl status $STATUS_MS ms: host2 must be refused between $LOSS_MIN and $LOSS_MAX ms after its sgd's death"
cat >"$TMP/hold.py" <<'EOF'
import os, socket, sys, time
s = socket.create_connection(("10.88.0.3", 5432), timeout=30)
out = open(sys.argv[1], "w", buffering=1)
for i in range(1000000):
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
cat >"$TMP/probe.py" <<'EOF'
import os, socket, sys, time
out = open(sys.argv[1], "w", buffering=1)
ms = lambda: time.time_ns() // 1000000
for i in range(1000000):
    if os.path.exists(sys.argv[2]):
        break
    t = ms()
    try:
        s = socket.create_connection(("10.88.0.3", 5432), timeout=1.0)
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
check "host2's established connection and probe run" \
	wait_for eval 'grep -q ok "$TMP/hold.log" && grep -q ok "$TMP/probe.log"'
T_KILL=$(now_ms)
kill -9 "${SGD_PID[2]}"
timeout 600 tail --pid="$PROBE" -f /dev/null
touch "$TMP/probe.stop"
first_fail=$(awk '$3 == "fail" { print $1; exit }' "$TMP/probe.log")
if [ -n "$first_fail" ]; then
	LAT=$((first_fail - T_KILL))
	echo "# host loss: first refused new connection started $LAT ms after kill -9 (TTL $TTL s)"
	check "host2 refused within TTL + margin ($LAT ms < $LOSS_MAX ms)" [ "$LAT" -lt "$LOSS_MAX" ]
	check "and not before its lease could expire ($LAT ms > $LOSS_MIN ms)" [ "$LAT" -gt "$LOSS_MIN" ]
else
	bad "host2 never lost new connections"
fi
check "and then stays refused" tcp_dropped 2
T_AFTER=$(( $(now_ms) ))
holds_after() { awk -v t="$T_AFTER" '$1 > t && $2 == "ok"' "$TMP/hold.log" | wc -l; }
pace_wait 600 eval '[ "$(holds_after)" -gt 5 ] || grep -q fail "$TMP/hold.log" || ! kill -0 $HOLD'
touch "$TMP/hold.stop"
timeout 600 tail --pid=$HOLD -f /dev/null
check "host2's established connection kept working ($(holds_after) echoes after the removal, $(grep -c fail "$TMP/hold.log") failures)" \
	[ "$(holds_after)" -gt 5 -a "$(grep -c fail "$TMP/hold.log")" = 0 ]
for h in 1 3 4; do
	check "host$h: host2 left web" wait_for eval "! members_has $h 10.88.0.2 host2"
done
check "host3: the rules kept their handles (set elements only)" [ "$(rules_fp)" = "$RULES3" ]
check "host3: no reload happened" bash -c "! grep -q reloaded $TMP/h3/sgd.log"
check "host2: sgd restarted" start_host 2
check "host2: registered again under a new lease" wait_for synced 2
check "host2 -> db:5432 allowed again" wait_for tcp_from 2

# --- kill the etcd leader: no change lost --------------------------------
leader=$(ectl endpoint status -w json | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["Status"]["header"]["member_id"] == s["Status"]["leader"]:
        print(s["Endpoint"].split(":")[1][-1])')
[ -n "$leader" ] || leader=1
echo "# etcd leader: e$leader ($(eip "$leader")), killed"
kill -9 "${ETCD_PID[$leader]}"
timeout 60 tail --pid="${ETCD_PID[$leader]}" -f /dev/null
write_conf 4 "[base, web]"
check "host4: reload attaching web" sgctl_h 4 reload
# A client retries a put that finds no leader yet (the election after the
# kill takes a few election timeouts); once etcd took it, no host may miss it.
check "etcd: a put accepted by the two members left" \
	wait_for ectl put /sgd/members/web/host8/10.88.0.8/32 '{"addr":"10.88.0.8/32"}'
for h in $HOSTS; do
	check "host$h: has host4 (its reload's registration) with two etcd members" \
		wait_for members_has "$h" 10.88.0.4 host4
	check "host$h: has host8 (the put)" wait_for members_has "$h" 10.88.0.8 host8
done
check "host4 -> db:5432 now allowed" wait_for tcp_from 4
start_etcd "$leader"
check "etcd: the killed member is back" wait_for healthy 3

# --- every etcd member stopped: nothing changes ----------------------------
declare -a FP
for h in $HOSTS; do FP[$h]=$(members_fp "$h"); done
for e in $ETCDS; do kill -9 "${ETCD_PID[$e]}"; done
for e in $ETCDS; do timeout 60 tail --pid="${ETCD_PID[$e]}" -f /dev/null; done
T_STOP=$(now_ms)
for h in $HOSTS; do
	check "host$h: notices etcd is gone" wait_for fleet_is "$h" 'not f["connected"]'
done
# Longer than a lease and the margin: an expiry would have shown by now.
pace_wait $((TTL * 2 + MARGIN / 1000 + 1)) false
for h in $HOSTS; do
	check "host$h: membership unchanged $(( $(now_ms) - T_STOP )) ms into the outage" \
		[ "$(members_fp "$h")" = "${FP[$h]}" ]
done
check "host1 -> db:5432 still allowed during the outage" tcp_from 1
stop_host 3
check "host3: sgd restarted during the outage" start_host 3
check "host3: it starts from the kept membership (host1 allowed, host4 allowed)" \
	eval "tcp_from 1 && tcp_from 4"
check "host3: the same members as before" [ "$(members_fp 3)" = "${FP[3]}" ]
check "host3: status says not connected" fleet_is 3 'not f["connected"] and f["revision"] > 0'
for e in $ETCDS; do start_etcd "$e"; done
check "etcd: back" wait_for healthy 3
for h in $HOSTS; do
	check "host$h: connected again" wait_for synced "$h"
done
ectl del /sgd/members/web/host8/10.88.0.8/32 >/dev/null
for h in $HOSTS; do
	check "host$h: converges (host8 gone, host1/2/4 kept)" wait_for eval \
		"! members_has $h 10.88.0.8 host8 && members_has $h 10.88.0.1 host1 &&
		 members_has $h 10.88.0.2 host2 && members_has $h 10.88.0.4 host4"
done
# The union on host3: an address stays while any source holds it.
check "host3: run-time member 10.88.0.5 added" sgctl_h 3 members add web 10.88.0.5
ectl put /sgd/members/web/host5/10.88.0.5/32 x >/dev/null
check "host3: the fleet registers it too" wait_for members_has 3 10.88.0.5 host5
check "members list: 10.88.0.5 held by both is runtime, naming the fleet host" eval \
	"sgctl_h 3 members list web | grep -Eq '^  10\.88\.0\.5/32 +runtime, fleet \(host host5\)\$' &&
	 sgctl_h 3 --json members list web | python3 -c '
import json, sys
m = {x[\"cidr\"]: x for x in json.load(sys.stdin)[\"members\"]}
assert m[\"10.88.0.5/32\"] == {\"cidr\": \"10.88.0.5/32\", \"source\": \"runtime\", \"fleet_host\": \"host5\"}, m'"
ectl del /sgd/members/web/host5/10.88.0.5/32 >/dev/null
check "host3: the fleet drops it" wait_for eval "! members_has 3 10.88.0.5 host5"
check "members list: 10.88.0.5 is plain runtime again" eval \
	"sgctl_h 3 members list web | grep -Eq '^  10\.88\.0\.5/32 +runtime\$'"
check "host3: it stays in the kernel, held by the run-time source" set_has 10.88.0.5
check "host3: members del then removes it" eval \
	"sgctl_h 3 members del web 10.88.0.5 && ! set_has 10.88.0.5"
check "host3: run-time member 10.88.0.9 added" sgctl_h 3 members add web 10.88.0.9
ectl put /sgd/members/web/host9/10.88.0.9/32 x >/dev/null
check "host3: the fleet registers it too" wait_for members_has 3 10.88.0.9 host9
check "host3: members del keeps it in the kernel, held by the fleet" eval \
	"sgctl_h 3 members del web 10.88.0.9 && set_has 10.88.0.9"
ectl del /sgd/members/web/host9/10.88.0.9/32 >/dev/null
check "host3: the fleet drops it, and it leaves the kernel" wait_for eval "! set_has 10.88.0.9"

# --- compaction: a watch resumed at a compacted revision lists again ----------
# host1 loses etcd (a table of the test's own in host1's namespace drops
# TCP to 2379), changes happen and are compacted, etcd comes back.
ip netns exec "$(hns 1)" nft -f - <<'EOF'
table inet sgE_block {
	chain out { type filter hook output priority -10; policy accept; tcp dport 2379 drop; }
}
EOF
check "host1: cut off from etcd" wait_for fleet_is 1 'not f["connected"]'
ectl put /sgd/members/web/host7/10.88.0.7/32 x >/dev/null
ectl put /sgd/members/web/host6/10.88.0.6/32 x >/dev/null
ectl del /sgd/members/web/host7/10.88.0.7/32 >/dev/null
rev=$(ectl get /sgd/ -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
check "etcd: compacted at revision $rev" ectl compaction "$rev" --physical
ip netns exec "$(hns 1)" nft delete table inet sgE_block
check "host1: the resumed watch hit the compaction and listed again" \
	wait_for grep -q 'compacted up to' "$TMP/h1/sgd.log"
check "host1: after the new list it has host6 and not host7" wait_for eval \
	"members_has 1 10.88.0.6 host6 && ! members_has 1 10.88.0.7 host7"
check "host1: synced" wait_for synced 1
ectl del /sgd/members/web/host6/10.88.0.6/32 >/dev/null

# --- 20,000 keys under one lease, revoked: absorbed with bounded memory ---------
cat >"$TMP/bulk.py" <<'EOF'
import base64, json, sys, urllib.request
ep, what = sys.argv[1], sys.argv[2]
def post(path, body):
    req = urllib.request.Request(ep + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=60))
b64 = lambda s: base64.b64encode(s.encode()).decode()
if what == "revoke":
    post("/v3/lease/revoke", {"ID": sys.argv[3]})
    sys.exit(0)
n = int(sys.argv[3])
lease = post("/v3/lease/grant", {"TTL": "3600"})["ID"]
ops = []
for i in range(n):
    k = "/sgd/members/web/bulk%d/10.90.%d.%d/32" % (i, i // 256, i % 256)
    ops.append({"request_put": {"key": b64(k), "value": b64("x"), "lease": lease}})
    if len(ops) == 128 or i == n - 1:
        post("/v3/kv/txn", {"success": ops})
        ops = []
print(lease)
EOF
BULK=20000
web_count() { sgctl_h "$1" --json fleet status | python3 -c 'import json,sys; print(json.load(sys.stdin)["groups"].get("web", 0))'; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/${SGD_PID[3]}/status"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/${SGD_PID[3]}/status"; }
declare -a WEB0
for h in $HOSTS; do WEB0[$h]=$(web_count "$h"); done
bulk_lease=$(ip netns exec "$(ens 2)" timeout 600 python3 "$TMP/bulk.py" "http://$(eip 2):2379" put $BULK)
check "etcd: $BULK keys put under one lease" [ -n "$bulk_lease" ]
for h in $HOSTS; do
	check "host$h: absorbed the $BULK members" pace_wait 600 eval "[ \$(web_count $h) = $((WEB0[$h] + BULK)) ]"
done
check "host3: they are in its kernel set" set_has 10.90.78.31
RSS_BEFORE=$(rss_kb)
HWM_BEFORE=$(hwm_kb)
T0=$(now_ms)
ip netns exec "$(ens 2)" timeout 600 python3 "$TMP/bulk.py" "http://$(eip 2):2379" revoke "$bulk_lease"
for h in $HOSTS; do
	check "host$h: the revoke of $BULK keys is absorbed" pace_wait 600 eval "[ \$(web_count $h) = ${WEB0[$h]} ]"
done
T_REVOKE=$(( $(now_ms) - T0 ))
HWM_AFTER=$(hwm_kb)
echo "# $BULK-key revoke absorbed on all 4 hosts in $T_REVOKE ms; host3 sgd: RSS $RSS_BEFORE kB before, peak $HWM_BEFORE -> $HWM_AFTER kB"
check "host3: the revoke raised sgd's peak memory by less than 64 MiB ($((HWM_AFTER - HWM_BEFORE)) kB)" \
	[ $((HWM_AFTER - HWM_BEFORE)) -lt 65536 ]
check "host3: and left the kernel set" eval "! set_has 10.90.78.31 && set_has 10.88.0.2"
check "host3: host2 -> db:5432 still allowed" tcp_from 2

# --- fleet leave ---------------------------------------------------------------
check "host1: sgctl fleet leave" sgctl_h 1 fleet leave
check "host3: host1 left web" wait_for eval "! members_has 3 10.88.0.1 host1"
check "host1 -> db:5432 refused" wait_for tcp_dropped 1
check "etcd: no key of host1 left" eval "! ectl get --prefix /sgd/ --keys-only | grep -q /host1"

# --- no group can cut sgd off from etcd --------------------------------------
# host4 attaches only a group with no egress at all: its other outbound
# connections are dropped, but its own to the etcd endpoints pass.
printf 'name: closed\ningress: []\negress: []\n' >"$(conf 4)/groups.d/closed.yaml"
write_conf 4 "[closed]"
lease4=$(sgctl_h 4 --json fleet status | python3 -c 'import json,sys; print(json.load(sys.stdin)["lease"])')
check "host4: reload to a group with no egress" sgctl_h 4 reload
tcp_to() {	# SECS HOST ADDR PORT: a connection opens within SECS
	ip netns exec "$(hns "$2")" timeout 60 python3 -c '
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
' "$3" "$4" "$1"
}
check "host4: TCP to etcd's peer port 2380 is dropped" eval "! tcp_to 0.8 4 $(eip 1) 2380"
check "host4: TCP to the etcd endpoints (2379) passes" eval \
	"tcp_to 10 4 $(eip 1) 2379 && tcp_to 10 4 $(eip 2) 2379 && tcp_to 10 4 $(eip 3) 2379"
check "host3: host4 re-registered under closed, out of web" wait_for eval \
	"! members_has 3 10.88.0.4 host4 && sgctl_h 3 --json fleet status | grep -q '\"hosts\"'"
# Longer than a lease: the keepalives got through.
pace_wait $((TTL + MARGIN / 1000 + 1)) false
check "host4: still connected with the same lease ($lease4) a lease later" \
	fleet_is 4 "f['connected'] and f['lease_alive'] and f['lease'] == '$lease4'"

for h in $HOSTS; do
	check "host$h: sgd still running" sgctl_h "$h" status
done
finish
