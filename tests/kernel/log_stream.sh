#!/usr/bin/env bash
# log_stream.sh — drop logs kept by sgd (log_denied: true), with real
# packets from a client namespace:
#   - two `sgctl log --follow` readers at once (text and JSON) see the same
#     drops, in the same order, with the same fields;
#   - sgd writes one line per drop to its log (stderr when not under
#     journald), with the closest group of its running configuration;
#   - `sgctl log` prints what sgd keeps, `--since` selects, `-n` stops;
#     a reload keeps the kept entries; the metrics count them;
#   - log_denied: false releases NFLOG group 100 and readers are told;
#   - stopping sgd ends a follower with status 0 and a message;
#   - under journald (JOURNAL_STREAM names sgd's stderr), each drop is one
#     native journal entry with its fields (SGD_EVENT=drop, SGD_SRC=,
#     SGD_DPORT=, ..., PRIORITY=5): a listener of our own stands in for
#     journald at /run/systemd/journal/socket in a private mount namespace.
TAG=lst
source "$(dirname "$0")/daemon_lib.sh"
PY=/usr/bin/python3

ns_setup veth
mkdir -p "$CONF/groups.d"
cat >"$CONF/sgd.yaml" <<'EOF2'
attach: [db]
log_denied: true
EOF2
cat >"$CONF/groups.d/db.yaml" <<'EOF2'
name: db
ingress:
  - protocol: tcp
    ports: 22
    from: [192.0.2.0/24]
  - protocol: udp
    ports: 53
    from: [192.0.2.0/24]
EOF2
# IPv4 only on the link: no IPv6 chatter takes log tokens
for ns in "$NS" "$CNS"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
start_sgd || { bad "sgd did not start"; finish; }
IF=sgC1v$$

bound() {
	nsx awk '$1 == 100 { f = 1 } END { exit !f }' /proc/net/netfilter/nfnetlink_log 2>/dev/null
}
check "sgd holds NFLOG group 100" bound

# follow_attached N: sgd has taken N `log --follow` requests (it logs each
# request before attaching the reader, in the same event)
follow_attached() {
	for _ in $(seq 100); do
		[ "$(grep -c "request 'log' (1 args)" "$LOG")" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# send N FIRST: N denied UDP packets to ports FIRST.., 0.15 s apart (in
# the kernel's burst of 20, so every one is logged)
send() {
	for i in $(seq "$1"); do
		ip netns exec "$CNS" bash -c "echo x >/dev/udp/10.77.0.1/$(($2 + i - 1))"
		sleep 0.15
	done
}

sgctl log --follow -n 5 --timeout 30 >"$TMP/r1.out" 2>"$TMP/r1.err" &
r1=$!
sgctl --json log --follow -n 5 --timeout 30 >"$TMP/r2.out" 2>"$TMP/r2.err" &
r2=$!
EXTRA_PIDS="$EXTRA_PIDS $r1 $r2"
follow_attached 2 || bad "the two readers did not attach"
send 5 7001
rc1=0; rc2=0
wait "$r1" || rc1=$?
wait "$r2" || rc2=$?
check "reader 1 (text) exited 0 after 5 lines ($rc1)" test "$rc1" = 0
check "reader 2 (JSON) exited 0 after 5 lines ($rc2)" test "$rc2" = 0
check "reader 1 has 5 lines" test "$(wc -l <"$TMP/r1.out")" = 5
check "reader 2 has 5 lines" test "$(wc -l <"$TMP/r2.out")" = 5
# the same drops, in the same order, field by field
if $PY - "$TMP/r1.out" "$TMP/r2.out" "$IF" <<'PYEOF'
import json, re, sys
text = open(sys.argv[1]).read().splitlines()
js = [json.loads(l) for l in open(sys.argv[2])]
iface = sys.argv[3]
want = [7001, 7002, 7003, 7004, 7005]
assert [j["dport"] for j in js] == want, [j["dport"] for j in js]
pat = re.compile(r"^\S+ \S+ in  udp    10\.77\.0\.2 -> 10\.77\.0\.1:(\d+)  on (\S+)  closest: db \(ingress rule 2: port and source not allowed\)$")
for t, j in zip(text, js):
    m = pat.match(t)
    assert m, t
    assert int(m.group(1)) == j["dport"] and m.group(2) == iface == j["interface"], (t, j)
    assert j["src"] == "10.77.0.2" and j["dst"] == "10.77.0.1" and j["protocol"] == "udp"
    assert j["direction"] == "in" and j["prefix"] == "sgd-in "
    c = j["closest"]
    assert c["group"] == "db" and c["rule"] == 2 and not c["port_allowed"] and not c["peer_allowed"]
PYEOF
then ok "both readers saw the same 5 drops, with the same fields"
else bad "the readers disagree: $(cat "$TMP/r1.out" "$TMP/r2.out")"; fi

check "sgd logged one line per drop (5)" test "$(grep -c '^\(<5>\)\?sgd: drop in  udp    10.77.0.2 -> 10.77.0.1:700[1-5]  on .*closest: db (ingress rule 2' "$LOG")" = 5

sgctl log >"$TMP/kept.out" 2>"$TMP/kept.err"; rc=$?
check "sgctl log prints the 5 kept entries and exits 0" sh -c "[ $rc = 0 ] && [ \$(wc -l <$TMP/kept.out) = 5 ]"
check "the same lines the follower printed" cmp -s "$TMP/kept.out" "$TMP/r1.out"
check "--since -1m: 5" test "$(sgctl log --since -1m | wc -l)" = 5
later=$(($(date +%s) + 5))
check "--since @(now + 5 s): 0" test "$(sgctl log --since "@$later" | wc -l)" = 0
check "-n 2: 2 lines" test "$(sgctl --json log -n 2 | wc -l)" = 2
check "status: reading, 5 kept, 5 logged" sh -c "ip netns exec $NS $SGCTL -s $SOCK status | grep -q '^drop log: *reading NFLOG group 100; 5 kept, 5 logged, 0 held back'"
check "status --json: drop_log" sh -c "ip netns exec $NS $SGCTL -s $SOCK --json status | $PY -c 'import json,sys; d=json.load(sys.stdin)[\"drop_log\"]; sys.exit(d != {\"reading\": True, \"kept\": 5, \"logged\": 5, \"suppressed\": 0})'"
check "metrics: sgd_droplog_entries_total 5" sh -c "ip netns exec $NS $SGCTL -s $SOCK stats --format openmetrics | grep -qx 'sgd_droplog_entries_total 5'"

sgctl reload >/dev/null || bad "reload failed"
check "a reload keeps the kept entries" test "$(sgctl log | wc -l)" = 5
check "and sgd still holds group 100" bound

# a follower without --since sees only new drops
sgctl log --follow -n 1 --timeout 30 >"$TMP/r3.out" 2>"$TMP/r3.err" &
r3=$!
EXTRA_PIDS="$EXTRA_PIDS $r3"
follow_attached 3 || bad "reader 3 did not attach"
send 1 7100
rc=0; wait "$r3" || rc=$?
check "a new follower gets only the new drop ($rc)" sh -c "[ $rc = 0 ] && grep -q ':7100  on' $TMP/r3.out && [ \$(wc -l <$TMP/r3.out) = 1 ]"

# stopping sgd ends a follower: status 0, a message
sgctl log --follow --timeout 60 >"$TMP/r4.out" 2>"$TMP/r4.err" &
r4=$!
EXTRA_PIDS="$EXTRA_PIDS $r4"
follow_attached 4 || bad "reader 4 did not attach"
stop_sgd
rc=0
timeout 10 tail --pid="$r4" -f /dev/null || bad "the follower outlived sgd"
wait "$r4" || rc=$?
check "the follower ended with status 0 when sgd stopped ($rc)" test "$rc" = 0
check "saying the stream ends" grep -q "the log stream ends" "$TMP/r4.err"
if bound; then bad "group 100 still held after sgd stopped"; else ok "group 100 released when sgd stopped"; fi

# --- under journald -----------------------------------------------------
mkdir -p "$TMP/jdir"
$PY - "$TMP/jdir/socket" "$TMP/journal.jsonl" <<'PYEOF' &
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a")
for _ in range(1000):
    data = s.recv(1 << 20)
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:	# binary field: name, 64-bit length, data, newline
            k = line
            n = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        fields[k.decode()] = v.decode("utf-8", "replace")
    out.write(json.dumps(fields) + "\n")
    out.flush()
PYEOF
EXTRA_PIDS="$EXTRA_PIDS $!"
for _ in $(seq 50); do [ -S "$TMP/jdir/socket" ] && break; sleep 0.1; done
: >>"$LOG"
stream=$(stat -c '%d:%i' "$LOG")
unshare -m --propagation private sh -c '
	mount -t tmpfs none /run/systemd && mkdir /run/systemd/journal &&
	mount --bind "$1/jdir" /run/systemd/journal &&
	exec ip netns exec "$2" env JOURNAL_STREAM="$3" "$4" -c "$1/conf" -s "$1/sgd.sock" \
		--state-dir "$1/state" -v' sh "$TMP" "$NS" "$stream" "$SGD" >>"$LOG" 2>&1 &
SGD_PID=$!
for _ in $(seq 50); do sgctl status >/dev/null 2>&1 && break; sleep 0.1; done
check "sgd (under the stand-in journald) answers" sgctl status
check "it says it writes drops to the journal" grep -q "drop log: reading NFLOG group 100 (last 1000 kept, to the journal)" "$LOG"
nlines=$(grep -c '^sgd: drop ' "$LOG")
send 2 7201
for _ in $(seq 50); do
	[ "$(grep -c '"SGD_EVENT": "drop"' "$TMP/journal.jsonl" 2>/dev/null)" -ge 2 ] && break
	sleep 0.1
done
if $PY - "$TMP/journal.jsonl" "$IF" <<'PYEOF'
import json, sys
es = [json.loads(l) for l in open(sys.argv[1])]
es = [e for e in es if e.get("SGD_EVENT") == "drop"]
assert len(es) == 2, es
for e, port in zip(es, ("7201", "7202")):
    want = {"PRIORITY": "5", "SYSLOG_IDENTIFIER": "sgd", "SGD_DIR": "in", "SGD_PROTO": "udp",
            "SGD_SRC": "10.77.0.2", "SGD_DST": "10.77.0.1", "SGD_DPORT": port,
            "SGD_ICMP_TYPE": "", "SGD_IFACE": sys.argv[2], "SGD_GROUP": "db",
            "SGD_RULE": "ingress 2", "SGD_REASON": "port and source not allowed"}
    for k, v in want.items():
        assert e.get(k) == v, (k, e.get(k), v)
    assert e["MESSAGE"].startswith("drop in  udp    10.77.0.2 -> 10.77.0.1:" + port + "  on "), e["MESSAGE"]
    assert int(e["SGD_SPORT"]) > 0 and int(e["SGD_PACKET_TIME_USEC"]) > 0
PYEOF
then ok "each drop is one journal entry with its fields"
else bad "journal entries: $(cat "$TMP/journal.jsonl" 2>/dev/null)"; fi
check "and no line on stderr" test "$(grep -c '^sgd: drop ' "$LOG")" = "$nlines"
check "the ring keeps them too" sh -c "ip netns exec $NS $SGCTL -s $SOCK log | grep -c ':720[12]  on' | grep -qx 2"
stop_sgd

# log_denied: false: nothing to read, group released, readers told
start_sgd || bad "sgd did not restart"
check "after a restart sgd holds group 100 again" bound
sed -i 's/log_denied: true/log_denied: false/' "$CONF/sgd.yaml"
sgctl reload >/dev/null || bad "reload to log_denied: false failed"
if bound; then bad "group 100 still held with log_denied: false"; else ok "log_denied: false releases group 100"; fi
sgctl log >/dev/null 2>"$TMP/off.err"
check "sgctl log warns that log_denied is off" grep -q "log_denied is not true" "$TMP/off.err"
check "status: drop log off" sh -c "ip netns exec $NS $SGCTL -s $SOCK status | grep -q '^drop log: *off'"
finish
