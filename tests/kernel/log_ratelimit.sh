#!/usr/bin/env bash
# log_ratelimit.sh — drop logging end to end, with sgd's own commit
# (tests/sgd-apply) in a server namespace and real packets from a client
# namespace:
#   1. allowed packets (500 UDP to an allowed port, TCP connections to an
#      allowed port) are never logged, while a denied marker right after
#      them is;
#   2. 500 denied packets sent in E seconds give 20..25+10E lines of
#      `sgctl log` (limit rate 10/second burst 20 per direction: at most
#      the burst, the refill over E and 5 lines of slack; 20..35 when E is
#      under 1 s, as on an idle machine), each with the right time,
#      direction, protocol, addresses, port, interface and closest group;
#      floods in both directions at once give as many lines each;
#   3. `sgctl --json log`: one valid JSON object per line, for IPv6 UDP,
#      ICMP, ICMPv6 and an outbound TCP drop, each with the right fields.
# The listeners are ended by a marker packet seen in their output (or -n),
# never by a timer: their --timeout of 600 s is a hang guard only, and so
# is every other wait.
# Needs root; touches only the namespaces it creates.
set -euo pipefail

BUILDDIR=${BUILDDIR:?BUILDDIR not set}
SGCTL=$BUILDDIR/cli/sgctl
APPLY=$BUILDDIR/tests/sgd-apply
for f in "$SGCTL" "$APPLY"; do
	[ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v python3 >/dev/null || { echo "FAIL: python3 needed"; exit 1; }

CNS=sgGlr-c$$
SNS=sgGlr-s$$
CIF=sgGlrc$$
SIF=sgGlrs$$
NET=10.77.$(($$ % 200 + 20))
NET6=fd77:$(printf %x $(($$ % 60000 + 1)))
TMP=$(mktemp -d /tmp/sgG-log.XXXXXX)
# no sgd here: `sgctl log --follow` reads NFLOG itself
export SGD_SOCKET=$TMP/no-sgd.sock
pids=()
. "$(dirname "$0")/pace.sh"
. "$(dirname "$0")/ns_lib.sh"

cleanup() {
	ns_stop_jobs "${pids[@]}"
	wait 2>/dev/null || true
	ns_del "$CNS" "$SNS"
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for f in "$TMP"/*.log "$TMP"/*.err; do
		[ -f "$f" ] && { echo "--- $f (last 40 lines)"; tail -n 40 "$f"; }
	done
	echo "--- counters in $SNS"
	ip netns exec "$SNS" nft list chain inet sgd input 2>&1 | grep -E 'counter|log' || true
	exit 1
}

# --- namespaces: client $NET.1 / $NET6::1, server $NET.2 / $NET6::2 -------
ip netns add "$CNS"
ip netns add "$SNS"
# Quiet IPv6 links: without duplicate address detection and with a short
# unsolicited-report interval, the multicast listener reports that follow
# link-up are over within milliseconds instead of trickling out for a few
# seconds (they would take log tokens and -n slots).
for ns in "$CNS" "$SNS"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.default.mldv2_unsolicited_report_interval=1 \
		net.ipv6.conf.default.mldv1_unsolicited_report_interval=1
done
ip link add "$CIF" netns "$CNS" type veth peer name "$SIF" netns "$SNS"
ip -n "$CNS" addr add "$NET.1/24" dev "$CIF"
ip -n "$SNS" addr add "$NET.2/24" dev "$SIF"
ip -n "$CNS" addr add "$NET6::1/64" dev "$CIF" nodad
ip -n "$SNS" addr add "$NET6::2/64" dev "$SIF" nodad
for ns in "$CNS" "$SNS"; do ip -n "$ns" link set lo up; done
ip -n "$CNS" link set "$CIF" up
ip -n "$SNS" link set "$SIF" up
sleep 1

# --- configuration, committed by sgd's engine -----------------------------
CONF=$TMP/conf
mkdir -p "$CONF/groups.d"
cat >"$CONF/sgd.yaml" <<EOF
attach: [web, db]
log_denied: true
EOF
cat >"$CONF/groups.d/web.yaml" <<EOF
name: web
ingress:
  - protocol: tcp
    ports: 80
    from: [0.0.0.0/0, "::/0"]
  - protocol: udp
    ports: 5353
    from: [0.0.0.0/0, "::/0"]
egress: []
EOF
cat >"$CONF/groups.d/db.yaml" <<EOF
name: db
ingress:
  - protocol: tcp
    ports: 5432
    from: [192.0.2.0/24]
  - protocol: icmp
    icmp_type: 8
    from: [app]
egress:
  - protocol: tcp
    ports: 443
    to: [0.0.0.0/0]
EOF
cat >"$CONF/groups.d/app.yaml" <<EOF
name: app
members: [192.0.2.10]
EOF
ip netns exec "$SNS" "$APPLY" "$CONF" >"$TMP/apply.log" 2>&1 || fail "sgd-apply refused the configuration"
ip netns exec "$SNS" nft list table inet sgd >"$TMP/ruleset.log"
grep -q 'log prefix "sgd-in " group 100' "$TMP/ruleset.log" || fail "no input log rule committed"
grep -q 'log prefix "sgd-out " group 100' "$TMP/ruleset.log" || fail "no output log rule committed"
grep -q 'limit rate 10/second burst 20 packets' "$TMP/ruleset.log" || fail "no rate limit committed"
echo "ok: sgd committed the table with the log rules"

# --- helpers ----------------------------------------------------------------
cat >"$TMP/send.py" <<'PY'
# send.py MODE ...: traffic for this test; every loop is bounded.
import socket, sys, time

def udp_spread(dst, port, count, seconds, family):
    s = socket.socket(family, socket.SOCK_DGRAM)
    start = time.monotonic()
    for i in range(count):
        try:
            s.sendto(b"x", (dst, port))
        except PermissionError:
            pass    # dropped in our own output hook: the kernel says EPERM
        # spread over `seconds` so the limiter's refill shows too
        target = start + seconds * (i + 1) / count
        while time.monotonic() < target:
            time.sleep(max(0, min(0.001, target - time.monotonic())))
    return time.monotonic() - start

def syn(dst, port, n):
    # non-blocking connects: one SYN each, closed before any retransmit
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((dst, port))
        socks.append(s)
    time.sleep(0.01)
    for s in socks:
        s.close()

mode = sys.argv[1]
if mode == "denied":          # denied DST NSYN NUDP: within 1 s
    dst, nsyn, nudp = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    t0 = time.monotonic()
    syn(dst, 5432, nsyn)
    udp_spread(dst, 9999, nudp, 0.5, socket.AF_INET)
    print("%.3f" % (time.monotonic() - t0))
elif mode == "flood":         # flood DST N: N UDP to port 9999 within 1 s
    print("%.3f" % udp_spread(sys.argv[2], 9999, int(sys.argv[3]), 0.5, socket.AF_INET))
elif mode == "allowed":       # allowed DST4 DST6 N: UDP to 5353, TCP to 80
    dst4, dst6, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
    udp_spread(dst4, 5353, n, 0.5, socket.AF_INET)
    udp_spread(dst6, 5353, 50, 0.1, socket.AF_INET6)
    for _ in range(10):
        c = socket.create_connection((dst4, 80), timeout=30)
        c.sendall(b"hello")
        c.close()
elif mode == "listen":        # listen PORT SECONDS
    port, secs = int(sys.argv[2]), float(sys.argv[3])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(64)
    srv.settimeout(0.2)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            c, _ = srv.accept()
            c.close()
        except socket.timeout:
            pass
elif mode == "udp":           # udp DST PORT (one packet, v4 or v6)
    fam = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
    socket.socket(fam, socket.SOCK_DGRAM).sendto(b"x", (sys.argv[2], int(sys.argv[3])))
elif mode == "syn":           # syn DST PORT (one SYN)
    syn(sys.argv[2], int(sys.argv[3]), 1)
PY

# start_log NAME ARGS...: run sgctl log in the server namespace in the
# background; return once it holds NFLOG group 100 (bounded wait).
start_log() {
	local name=$1
	shift
	ip netns exec "$SNS" "$SGCTL" "$@" >"$TMP/$name.log" 2>"$TMP/$name.err" &
	logpid=$!
	pids+=("$logpid")
	for _ in $(seq 600); do
		if ip netns exec "$SNS" awk '$1 == 100 { f = 1 } END { exit !f }' \
			/proc/net/netfilter/nfnetlink_log 2>/dev/null; then
			return 0
		fi
		kill -0 "$logpid" 2>/dev/null || fail "sgctl $* exited early: $(cat "$TMP/$name.err")"
		sleep 0.1
	done
	fail "sgctl log did not bind NFLOG group 100 within 60 s"
}

# wait_log: wait for the last start_log to end by itself (-n)
wait_log() {
	local rc=0
	timeout 600 tail --pid="$logpid" -f /dev/null || fail "sgctl log outlived its --timeout"
	wait "$logpid" || rc=$?
	[ "$rc" = 0 ] || fail "sgctl log exited $rc: $(cat "$TMP/$1.err")"
}

# mark_log NAME DIR...: for each DIR (in: client to server, out: server to
# client), a denied datagram to port 9998 every 0.2 s until its line is in
# NAME's output (at most 300).  Lines of one direction come in order: once
# the marker is there, every earlier packet's line is too.
mark_log() {
	local name=$1 dir i
	shift
	for dir in "$@"; do
		for i in $(seq 300); do
			if [ "$dir" = in ]; then
				ip netns exec "$CNS" bash -c "echo x >/dev/udp/$NET.2/9998" 2>/dev/null || true
			else
				ip netns exec "$SNS" bash -c "echo x >/dev/udp/$NET.1/9998" 2>/dev/null || true
			fi
			grep -Eq " $dir +udp +[0-9.]+ -> [0-9.]+:9998 " "$TMP/$name.log" && continue 2
			sleep 0.2
		done
		fail "the $dir marker never reached the output of sgctl log ($name)"
	done
}

# stop_log NAME: end the last start_log (it is still running: no error)
stop_log() {
	kill -0 "$logpid" 2>/dev/null || fail "sgctl log ($1) ended early: $(cat "$TMP/$1.err")"
	kill "$logpid"
	wait "$logpid" 2>/dev/null || true
}

# max_lines SECONDS: what the limiter may let through in that time, plus 5
# lines of slack: the burst of 20 and 10 a second.
max_lines() { python3 -c "import math, sys; print(20 + math.ceil(10 * float(sys.argv[1])) + 5)" "$1"; }

# Lines that are not about our test traffic: multicast listener reports
# and other link-local IPv6 chatter the kernel sends on its own.
noise='ff02::|fe80::'

# --- 1. allowed packets are never logged ----------------------------------
ip netns exec "$SNS" python3 "$TMP/send.py" listen 80 3600 &
pids+=($!)
pace_wait 60 eval "ip netns exec $SNS ss -Hltn 'sport = :80' | grep -q ." || fail "the listener on 80 did not start"
# -n 3: the first lines must be the 3 denied markers sent after the
# allowed traffic; an allowed packet, had it been logged, would come first
start_log allowed log --follow -c "$CONF" -n 3 --timeout 600
ip netns exec "$CNS" python3 "$TMP/send.py" allowed "$NET.2" "$NET6::2" 500 ||
	fail "allowed traffic did not get through"
sleep 0.3
# the markers: denied, so they must show up (the listener is live)
for _ in 1 2 3; do
	ip netns exec "$CNS" python3 "$TMP/send.py" udp "$NET.2" 9999
done
wait_log allowed
grep -Ev "$noise" "$TMP/allowed.log" >"$TMP/allowed-real.log" || true
if grep -Eq ':5353|:80 |:80$' "$TMP/allowed-real.log"; then
	fail "allowed packets were logged"
fi
nmark=$(grep -c " -> $NET.2:9999 " "$TMP/allowed-real.log" || true)
[ "$nmark" -ge 2 ] || fail "the denied markers were not logged"
[ "$(wc -l <"$TMP/allowed-real.log")" = "$nmark" ] || fail "lines other than the markers were logged"
echo "ok: 550 allowed UDP packets and 10 allowed TCP connections logged nothing; the denied markers after them were"

# --- 2. the rate limit: 500 denied packets in under 1 s -----------------------
sleep 2.5	# let the token bucket refill completely
start_log denied log --follow -c "$CONF" --timeout 600
elapsed=$(ip netns exec "$CNS" python3 "$TMP/send.py" denied "$NET.2" 5 495)
mark_log denied in
stop_log denied
# the lines before the marker
awk '/ in +udp .*:9998 / { exit } { print }' "$TMP/denied.log" >"$TMP/denied-flood.log"
grep -Ev "$noise" "$TMP/denied-flood.log" >"$TMP/denied-real.log" || true
total=$(wc -l <"$TMP/denied-flood.log")
n=$(wc -l <"$TMP/denied-real.log")
most=$(max_lines "$elapsed")
echo "500 denied packets sent in ${elapsed}s -> $n lines logged ($total with link-local noise; allowed 20..$most)"
[ "$total" -ge 20 ] && [ "$total" -le "$most" ] || fail "expected 20..$most lines, got $total"
[ "$n" -ge 18 ] || fail "only $n lines about the flood"
ts='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}'
tcp_re="^$ts in  tcp    $NET\.1 -> $NET\.2:5432  on $SIF  closest: db \(ingress rule 1: source not allowed\)\$"
udp_re="^$ts in  udp    $NET\.1 -> $NET\.2:9999  on $SIF  closest: web \(ingress rule 2: port not allowed\)\$"
bad=$(grep -Evc "$tcp_re|$udp_re" "$TMP/denied-real.log" || true)
[ "$bad" = 0 ] || fail "$bad lines do not have the expected fields"
ntcp=$(grep -Ec "$tcp_re" "$TMP/denied-real.log" || true)
[ "$ntcp" = 5 ] || fail "expected the 5 SYNs to port 5432 first in the burst, got $ntcp"
echo "ok: every line has time, direction, protocol, addresses, port, interface and closest group"

# --- 2b. the limit is per direction: both floods at once -----------------------
sleep 2.5
start_log both log --follow -c "$CONF" --timeout 600
ip netns exec "$CNS" python3 "$TMP/send.py" flood "$NET.2" 500 >"$TMP/in.elapsed" &
inflood=$!
ip netns exec "$SNS" python3 "$TMP/send.py" flood "$NET.1" 500 >"$TMP/out.elapsed" ||
	fail "outbound flood failed"
wait "$inflood" || fail "inbound flood failed"
mark_log both in out
stop_log both
nin=$(grep -Ev "$noise" "$TMP/both.log" | grep -Ec " in  udp    $NET\.1 -> $NET\.2:9999 " || true)
nout=$(grep -Ev "$noise" "$TMP/both.log" | grep -Ec " out udp    $NET\.2 -> $NET\.1:9999  on $SIF  closest: - *\$" || true)
most_in=$(max_lines "$(cat "$TMP/in.elapsed")")
most_out=$(max_lines "$(cat "$TMP/out.elapsed")")
echo "500 denied packets each way at once (in $(cat "$TMP/in.elapsed")s, out $(cat "$TMP/out.elapsed")s) -> $nin lines in (allowed 20..$most_in), $nout lines out (allowed 20..$most_out)"
[ "$nin" -ge 20 ] && [ "$nin" -le "$most_in" ] || fail "inbound: expected 20..$most_in lines, got $nin"
[ "$nout" -ge 20 ] && [ "$nout" -le "$most_out" ] || fail "outbound: expected 20..$most_out lines, got $nout"
echo "ok: each direction has its own limit"

# --- 3. JSON: IPv6 UDP, ICMP, ICMPv6, an outbound drop -------------------------
sleep 2.5
start_log json --json log --follow -c "$CONF" -n 4 --timeout 600
ip netns exec "$CNS" python3 "$TMP/send.py" udp "$NET6::2" 9999
ip netns exec "$CNS" ping -c 1 -W 1 "$NET.2" >/dev/null 2>&1 &
pids+=($!)
ip netns exec "$CNS" ping -6 -c 1 -W 1 "$NET6::2" >/dev/null 2>&1 &
pids+=($!)
ip netns exec "$SNS" python3 "$TMP/send.py" syn "$NET.1" 8443
wait_log json
python3 - "$TMP/json.log" "$NET" "$NET6" "$SIF" <<'PY' || fail "JSON lines are wrong"
import json, re, sys
path, net, net6, sif = sys.argv[1:]
lines = open(path).read().splitlines()
assert lines, "no JSON lines"
events = []
for l in lines:
    e = json.loads(l)              # every line is one JSON document
    assert isinstance(e, dict), l
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", e["time"]), e["time"]
    if e["dst"] and (e["dst"].startswith("ff02:") or e["src"].startswith("fe80:")):
        continue                   # link-local chatter
    events.append(e)

def one(pred, what):
    m = [e for e in events if pred(e)]
    assert len(m) == 1, "%s: %d matching lines in %r" % (what, len(m), events)
    return m[0]

u = one(lambda e: e["protocol"] == "udp", "IPv6 UDP")
assert (u["direction"], u["src"], u["dst"], u["dport"]) == ("in", net6 + "::1", net6 + "::2", 9999), u
assert u["protocol_number"] == 17 and u["interface"] == sif and u["prefix"] == "sgd-in ", u
assert u["closest"] == {"group": "web", "direction": "in", "rule": 2, "port_allowed": False,
                        "peer_allowed": True, "reason": "port not allowed"}, u
i = one(lambda e: e["protocol"] == "icmp", "ICMP")
assert (i["direction"], i["src"], i["dst"], i["icmp_type"], i["icmp_code"]) == ("in", net + ".1", net + ".2", 8, 0), i
assert "dport" not in i and i["closest"]["group"] == "db" and i["closest"]["rule"] == 2, i
assert i["closest"]["reason"] == "source not allowed", i
i6 = one(lambda e: e["protocol"] == "icmpv6", "ICMPv6")
assert (i6["icmp_type"], i6["src"], i6["dst"]) == (128, net6 + "::1", net6 + "::2"), i6
assert i6["closest"] is None, i6
o = one(lambda e: e["direction"] == "out", "outbound TCP")
assert (o["protocol"], o["src"], o["dst"], o["dport"], o["interface"]) == ("tcp", net + ".2", net + ".1", 8443, sif), o
assert o["prefix"] == "sgd-out " and o["closest"]["group"] == "db" and o["closest"]["direction"] == "out", o
assert o["closest"]["reason"] == "port not allowed", o
assert len(events) == 4, events
print("ok: %d JSON lines parse; IPv6 UDP, ICMP, ICMPv6 and outbound TCP have the right fields" % len(lines))
PY
echo "PASS: log_ratelimit"
