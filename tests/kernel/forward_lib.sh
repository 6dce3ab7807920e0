# forward_lib.sh — shared by tests/kernel/forward_*.sh (sourced, not a test).
#
# A host namespace H that runs sgd and forwards, with:
#   - an outside network 10.88.0.0/24 to the client namespace C (10.88.0.2
#     and 10.88.0.3; H is 10.88.0.1), and with fwd_remote a second outside
#     network 10.99.0.0/24 to namespace R (10.99.0.2; H is 10.99.0.1).
#     H's end of each is a macvlan over a veth in C (R), so that H's
#     uplinks are of kind macvlan like a NIC's, not bridge or veth;
#   - with fwd_container, a local "container" namespace K behind a bridge
#     in H, 172.31.0.2 (the bridge is 172.31.0.1), and the test's own nat
#     table in H publishing 10.88.0.1:8080 as 172.31.0.2:80 (DNAT) and
#     masquerading the container's traffic to the outside.
# Everything lives in namespaces named sgF<role>-<pid>; the cleanup trap
# kills what the test started and deletes them.  Nothing here touches the
# root namespace's network.

BUILDDIR=${BUILDDIR:?BUILDDIR must be set}
SRCDIR=${SRCDIR:?SRCDIR must be set}
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$SGD" ] || { echo "FAIL: $SGD not built"; exit 1; }
. "$(dirname "$0")/ns_lib.sh"

H=sgFh-$$
C=sgFc-$$
K=sgFk-$$
R=sgFr-$$
UP=sgFu$$		# H's uplink to C
RUP=sgFq$$		# H's uplink to R
BR=sgFb$$		# the container bridge in H
TMP=$(mktemp -d /tmp/sgF.XXXXXX)
chmod 755 "$TMP"
CONF=$TMP/conf
SOCK=$TMP/sgd.sock
LOG=$TMP/sgd.log
SGD_PID=
BG_PIDS=
FAILS=0
PASSES=0
CLEANUP_HOOK=

fwd_cleanup() {
	[ -n "$CLEANUP_HOOK" ] && $CLEANUP_HOOK
	ns_stop_jobs $SGD_PID $BG_PIDS
	ns_del "$H" "$C" "$K" "$R"
	if [ "$FAILS" != 0 ] && [ -f "$LOG" ]; then
		echo "---- sgd log (last 30 lines)"
		tail -30 "$LOG"
	fi
	rm -rf "$TMP"
}
trap fwd_cleanup EXIT

ok() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
finish() {
	echo "# $PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ]
	exit $?
}
hx() { ip netns exec "$H" "$@"; }
sgctl() { ip netns exec "$H" "$SGCTL" -s "$SOCK" "$@"; }

# An outside network: namespace $1 holds a veth pair; its second end is
# the parent of a macvlan that moves to H as $2.  $1 gets $3.2/24 (and
# $3.3/24), H gets $3.1/24 on $2.
fwd_outside() {
	local ns=$1 up=$2 net=$3
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	ip -n "$ns" link add sgFa type veth peer name sgFp || return 1
	ip -n "$ns" link add link sgFp name "$up" type macvlan mode passthru || return 1
	ip -n "$ns" link set "$up" netns "$H" || return 1
	ip -n "$ns" addr add "$net.2/24" dev sgFa
	ip -n "$ns" addr add "$net.3/24" dev sgFa
	ip -n "$ns" link set sgFa up
	ip -n "$ns" link set sgFp up
	ip -n "$H" addr add "$net.1/24" dev "$up"
	ip -n "$H" link set "$up" up
	ip -n "$ns" route add default via "$net.1"
}

fwd_setup() {
	ip netns add "$H" || exit 1
	ip -n "$H" link set lo up
	hx sysctl -qw net.ipv4.ip_forward=1 || exit 1
	fwd_outside "$C" "$UP" 10.88.0 || { echo "FAIL: cannot build the outside network"; exit 1; }
}

fwd_remote() {
	fwd_outside "$R" "$RUP" 10.99.0 || { echo "FAIL: cannot build the remote network"; exit 1; }
}

fwd_container() {
	ip netns add "$K" || exit 1
	ip -n "$K" link set lo up
	ip -n "$H" link add "$BR" type bridge || exit 1
	ip -n "$H" addr add 172.31.0.1/24 dev "$BR"
	ip -n "$H" link set "$BR" up
	ip link add sgFk$$ netns "$K" type veth peer name sgFv$$ netns "$H" || exit 1
	ip -n "$H" link set sgFv$$ master "$BR"
	ip -n "$H" link set sgFv$$ up
	ip -n "$K" addr add 172.31.0.2/24 dev sgFk$$
	ip -n "$K" link set sgFk$$ up
	ip -n "$K" route add default via 172.31.0.1
	# the test's own table, as a container engine would make it
	hx nft -f - <<EOF || exit 1
table ip sgftest {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "$UP" tcp dport 8080 dnat to 172.31.0.2:80
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 172.31.0.0/24 oifname "$UP" masquerade
	}
}
EOF
}

# serve NS PORT: a TCP server that answers "ok" and echoes every line.
serve() {
	ip netns exec "$1" python3 -c '
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(64)
def talk(c):
    try:
        c.sendall(b"ok\n")
        f = c.makefile("rb")
        for line in f:
            c.sendall(line)
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=talk, args=(c,), daemon=True).start()
' "$2" &
	BG_PIDS="$BG_PIDS $!"
}

# wait_port NS PORT: until a listener is up (bounded: 50 x 0.1 s).
wait_port() {
	local i
	for i in $(seq 50); do
		ip netns exec "$1" ss -ltn "sport = :$2" | grep -q LISTEN && return 0
		sleep 0.1
	done
	return 1
}

# tcp_try NS SRC DST PORT: open a connection from SRC and read "ok"
# (1 s to connect, 2 s to answer).
tcp_try() {
	ip netns exec "$1" timeout 5 python3 - "$2" "$3" "$4" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
s.settimeout(1.0)
try:
    s.bind((sys.argv[1], 0))
    s.connect((sys.argv[2], int(sys.argv[3])))
    s.settimeout(2.0)
    sys.exit(0 if s.recv(3) == b"ok\n" else 1)
except OSError:
    sys.exit(1)
EOF
}
tcp_blocked() { ! tcp_try "$@"; }

# A long-lived connection: hold_open NS SRC DST PORT starts it; each
# hold_ping N sends a line and waits for its echo (2 s), 0 when it came.
HOLD_PID=
hold_open() {
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	rm -f "$TMP"/hold.*
	ip netns exec "$1" python3 - "$2" "$3" "$4" "$TMP" <<'EOF' &
import os, socket, sys, time
s = socket.socket()
s.settimeout(2.0)
tmp = sys.argv[4]
try:
    s.bind((sys.argv[1], 0))
    s.connect((sys.argv[2], int(sys.argv[3])))
    ok = s.recv(3) == b"ok\n"
except OSError:
    ok = False
open(tmp + "/hold.0", "w").write("ok" if ok else "no")
f = s.makefile("rb")
n = 1
for _ in range(6000):            # 10 minutes at most
    if os.path.exists("%s/hold.go%d" % (tmp, n)):
        try:
            s.sendall(b"ping%d\n" % n)
            ok = f.readline() == b"ping%d\n" % n
        except OSError:
            ok = False
        open("%s/hold.%d" % (tmp, n), "w").write("ok" if ok else "no")
        n += 1
    time.sleep(0.1)
EOF
	HOLD_PID=$!
	BG_PIDS="$BG_PIDS $!"
	hold_result 0
}
# hold_result N: the answer of step N ("ok"), waiting up to 5 s for it.
hold_result() {
	local i
	for i in $(seq 50); do
		[ -f "$TMP/hold.$1" ] && { [ "$(cat "$TMP/hold.$1")" = ok ]; return; }
		sleep 0.1
	done
	return 1
}
hold_ping() { touch "$TMP/hold.go$1"; hold_result "$1"; }

# write_sgd FORWARD [EXTRA]: sgd.yaml attaching group web.
write_sgd() {
	mkdir -p "$CONF/groups.d"
	printf 'table: sgd\nattach: [web]\nforward: %s\n%s' "$1" "${2:-}" >"$CONF/sgd.yaml"
}
# write_web LINE...: group web, its YAML lines after the name (egress
# omitted = the AWS default).
write_web() {
	mkdir -p "$CONF/groups.d"
	{
		echo "name: web"
		printf '%s\n' "$@"
	} >"$CONF/groups.d/web.yaml"
}

start_sgd() {
	local i
	ip netns exec "$H" "$SGD" -c "$CONF" -s "$SOCK" --state-dir "$TMP/state" -v \
		>>"$LOG" 2>&1 &
	SGD_PID=$!
	for i in $(seq 100); do
		sgctl status >/dev/null 2>&1 && return 0
		kill -0 "$SGD_PID" 2>/dev/null || { SGD_PID=; return 1; }
		sleep 0.1
	done
	return 1
}

reload() { sgctl reload >/dev/null; }
