#!/usr/bin/env bash
# rel_tracked_flow.sh — AWS semantics on change: tracked flows survive a reload.
#
# A live TCP connection (and a live UDP exchange) admitted by a rule keeps
# working after a reload that removes that rule: tracked flows continue, as
# in EC2 security groups.  A NEW connection to that port, opened after the
# reload, is dropped.  Putting the rule back admits new connections again
# (so the drop is the rule's doing, not a broken setup).  Needs root.
set -u
TAG=tf
. "$(dirname "$0")/rel_lib.sh"
. "$(dirname "$0")/pace.sh"

ns_setup
mkdir -p "$CONF/groups.d"
printf 'table: sgd\nattach: [srv]\n' >"$CONF/sgd.yaml"
with_rule() {
	cat >"$CONF/groups.d/srv.yaml" <<EOF
name: srv
ingress:
  - {protocol: tcp, ports: 5000, from: [$CIP], description: the rule under test}
  - {protocol: udp, ports: 6000, from: [$CIP], description: udp rule under test}
  - {protocol: tcp, ports: 22, from: [192.0.2.0/24], description: unrelated}
EOF
}
without_rule() {
	cat >"$CONF/groups.d/srv.yaml" <<EOF
name: srv
ingress:
  - {protocol: tcp, ports: 22, from: [192.0.2.0/24], description: unrelated}
EOF
}
with_rule

# Echo servers in the server namespace: TCP (one thread per connection)
# and UDP.
cat >"$TMP/echo.py" <<'EOF'
import socket, threading
def tcp():
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", 5000)); l.listen(16)
    def serve(c):
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()
    while True:
        c, _ = l.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", 6000))
    while True:
        d, a = u.recvfrom(2048)
        u.sendto(d, a)
threading.Thread(target=udp, daemon=True).start()
tcp()
EOF
# The long-lived client: one TCP connection and one UDP socket; phase 1
# before the reload, phase 2 (after $TMP/go exists) for 30 rounds after
# it.  Writes "phaseN tcp OK/ERR udp OK/ERR rounds" lines to $TMP/live.
# An echo that must come gets 30 s (a hang guard: it comes in
# milliseconds, and a dropped one never comes).
cat >"$TMP/live.py" <<'EOF'
import socket, sys, time, os
srv, gofile, out = sys.argv[1], sys.argv[2], sys.argv[3]
t = socket.create_connection((srv, 5000), timeout=30)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(30)
u.connect((srv, 6000))
def rounds(n, tag):
    tcp_ok = udp_ok = 0; err = ""
    for i in range(n):
        msg = b"%s-%d" % (tag.encode(), i)
        try:
            t.sendall(msg)
            if t.recv(4096) == msg:
                tcp_ok += 1
        except OSError as e:
            err += " tcp:" + repr(e)
        try:
            u.send(msg)
            if u.recv(4096) == msg:
                udp_ok += 1
        except OSError as e:
            err += " udp:" + repr(e)
        time.sleep(0.1)
    with open(out, "a") as f:
        f.write("%s tcp %d udp %d of %d%s\n" % (tag, tcp_ok, udp_ok, n, err))
        f.flush()
rounds(5, "phase1")
t0 = time.monotonic()
while not os.path.exists(gofile) and time.monotonic() - t0 < 600:
    time.sleep(0.05)
rounds(30, "phase2")
EOF
# new_conn [SECS]: can the client open a NEW TCP connection and get an
# echo within SECS (10: one that must pass; 2 for one that must be
# dropped, a negative check: an admitted SYN is answered at once, a
# dropped one never)?  60 s guard python's start-up.
new_conn() {
	ip netns exec "$CNS" timeout 60 python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], 5000), timeout=float(sys.argv[2]))
    s.sendall(b"hi")
    sys.exit(0 if s.recv(10) == b"hi" else 1)
except OSError:
    sys.exit(1)' $SIP "${1:-10}"
}
# new_udp [SECS]: a NEW UDP exchange from a fresh source port (the same
# timeouts: 10 s, or 1.5 s for one that must be dropped).
new_udp() {
	ip netns exec "$CNS" timeout 60 python3 -c '
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(float(sys.argv[2]))
u.connect((sys.argv[1], 6000))
try:
    u.send(b"ping"); sys.exit(0 if u.recv(10) == b"ping" else 1)
except OSError:
    sys.exit(1)' $SIP "${1:-10}"
}

not() { ! "$@"; }

start_sgd || { bad "sgd did not start"; finish; }
ok "sgd started with tcp/5000 and udp/6000 allowed from $CIP"
ip netns exec "$NS" python3 "$TMP/echo.py" & bg $!
# both echo servers are up (60 s: a hang guard only)
pace_wait 60 eval "[ \$(ip netns exec $NS ss -Hltun '( sport = :5000 or sport = :6000 )' | wc -l) = 2 ]"

check "before: a new TCP connection to 5000 is admitted" new_conn
check "before: a new UDP exchange with 6000 is admitted" new_udp

ip netns exec "$CNS" python3 "$TMP/live.py" $SIP "$TMP/go" "$TMP/live" & LIVE=$!; bg $LIVE
pace_wait 60 grep -q phase1 "$TMP/live"
check "live flows work before the change ($(grep phase1 "$TMP/live"))" grep -q 'phase1 tcp 5 udp 5 of 5$' "$TMP/live"

echo "== reload without the rules for tcp/5000 and udp/6000"
without_rule
check "sgctl reload succeeds" sgctl reload
check "the kernel no longer has a rule for dport 5000" \
	bash -c "! ip netns exec $NS nft list table inet sgd | grep -q 'dport 5000'"
check "... nor for dport 6000" \
	bash -c "! ip netns exec $NS nft list table inet sgd | grep -q 'dport 6000'"
touch "$TMP/go"
# While the live flows run phase 2, new connections are tried.
check "after: a NEW TCP connection to 5000 is dropped" not new_conn 2
check "after: a NEW UDP exchange with 6000 is dropped" not new_udp 1.5
timeout 600 tail --pid=$LIVE -f /dev/null
line=$(grep phase2 "$TMP/live")
echo "   live flows after the reload: ${line:-nothing}"
check "the live TCP connection kept working: 30 of 30 echoes" grep -q 'phase2 tcp 30 ' <<<"$line"
check "the live UDP flow kept working: 30 of 30 echoes" grep -q 'udp 30 of 30$' <<<"$line"

echo "== reload with the rules again"
with_rule
check "sgctl reload succeeds" sgctl reload
check "a new TCP connection is admitted again" new_conn
check "a new UDP exchange is admitted again" new_udp
stop_sgd
finish
