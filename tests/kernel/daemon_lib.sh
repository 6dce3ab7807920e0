# daemon_lib.sh — shared by tests/kernel/daemon_*.sh (sourced, not a test).
# Every test gets its own network namespace(s) named sgC1-*, a temporary
# directory, and a cleanup trap that kills the sgd it started and deletes
# its namespaces.  Nothing here touches the root namespace's network.

BUILDDIR=${BUILDDIR:?BUILDDIR must be set}
SRCDIR=${SRCDIR:?SRCDIR must be set}
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$SGD" ] || { echo "FAIL: $SGD not built"; exit 1; }
[ -x "$SGCTL" ] || { echo "FAIL: $SGCTL not built"; exit 1; }

TAG=${TAG:-t}
NS=sgC1-$TAG-$$
CNS=sgC1-${TAG}c-$$
TMP=$(mktemp -d /tmp/sgC1-$TAG.XXXXXX)
chmod 755 "$TMP"
CONF=$TMP/conf
STATE=$TMP/state
SOCK=$TMP/sgd.sock
LOG=$TMP/sgd.log
SGD_PID=
EXTRA_PIDS=
FAILS=0
PASSES=0
. "$(dirname "$0")/pace.sh"
. "$(dirname "$0")/ns_lib.sh"

lib_cleanup() {
	ns_stop_jobs $SGD_PID $EXTRA_PIDS
	ns_del "$NS" "$CNS"
	if [ "$FAILS" != 0 ] && [ -f "$LOG" ]; then
		echo "---- sgd log (last 40 lines)"
		tail -40 "$LOG"
	fi
	rm -rf "$TMP"
}
trap lib_cleanup EXIT

ok() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@" >/dev/null; then ok "$what"; else bad "$what"; fi; }
finish() {
	echo "# $PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ]
	exit $?
}

# Server namespace, plus a client namespace on a veth: server 10.77.0.1,
# client 10.77.0.2.
ns_setup() {
	ip netns add "$NS" || exit 1
	ip -n "$NS" link set lo up
	if [ "${1:-}" = veth ]; then
		ip netns add "$CNS" || exit 1
		ip -n "$CNS" link set lo up
		ip link add sgC1v$$ netns "$NS" type veth peer name sgC1p$$ netns "$CNS" || exit 1
		ip -n "$NS" addr add 10.77.0.1/24 dev sgC1v$$
		ip -n "$CNS" addr add 10.77.0.2/24 dev sgC1p$$
		ip -n "$NS" link set sgC1v$$ up
		ip -n "$CNS" link set sgC1p$$ up
	fi
}

nsx() { ip netns exec "$NS" "$@"; }
sgctl() { ip netns exec "$NS" "$SGCTL" -s "$SOCK" "$@"; }

# The rules of our table without counters and set elements: what must not
# change when only membership does.
rules_fingerprint() {
	nsx nft -a list table inet sgd | grep '# handle' |
		sed 's/counter packets [0-9]* bytes [0-9]*//' | md5sum
}

# The same without handles: equal after the table was rebuilt with the
# same content (a restart).
rules_text() {
	nsx nft -a list table inet sgd | grep '# handle' |
		sed 's/counter packets [0-9]* bytes [0-9]*//; s/# handle [0-9]*//' | md5sum
}

# start_sgd [extra args]: start and wait until it answers (60 s: a hang
# guard only, sgd answers within milliseconds).
start_sgd() {
	local i
	ip netns exec "$NS" "$SGD" -c "$CONF" -s "$SOCK" --state-dir "$STATE" -v "$@" \
		>>"$LOG" 2>&1 &
	SGD_PID=$!
	for i in $(seq 600); do
		sgctl status >/dev/null 2>&1 && return 0
		kill -0 "$SGD_PID" 2>/dev/null || { SGD_PID=; return 1; }
		sleep 0.1
	done
	return 1
}

stop_sgd() {
	[ -n "$SGD_PID" ] || return 0
	kill -TERM "$SGD_PID"
	timeout 60 tail --pid="$SGD_PID" -f /dev/null
	wait "$SGD_PID" 2>/dev/null
	SGD_RC=$?
	SGD_PID=
}

kill9_sgd() {
	[ -n "$SGD_PID" ] || return 0
	kill -9 "$SGD_PID"
	wait "$SGD_PID" 2>/dev/null
	SGD_PID=
}

# tcp_try SECS PORT: can the client namespace open a TCP connection to the
# server's PORT within SECS seconds (a listener must be running there)?
# The python start-up is only hang-guarded (60 s): a loaded machine may
# take seconds to start it.
tcp_try() {
	ip netns exec "$CNS" timeout 60 python3 - "$1" "$2" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[1]))
try:
    s.connect(("10.77.0.1", int(sys.argv[2])))
except OSError:
    sys.exit(1)
EOF
}
# tcp_ok PORT: a connection that must pass gets 10 s (a SYN and two
# retransmissions), so a slow moment is not taken for a drop.
tcp_ok() { tcp_try 10 "$1"; }

# listen PORT: a TCP listener in the server namespace that accepts
# forever; returns once the port is listening (60 s: a hang guard only).
listen_tcp() {
	ip netns exec "$NS" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(64)
while True:
    c, _ = s.accept()
    c.close()
' "$1" &
	EXTRA_PIDS="$EXTRA_PIDS $!"
	pace_wait 60 eval "ip netns exec '$NS' ss -Hltn 'sport = :$1' | grep -q ."
}

# A small configuration: group db (attached) admits tcp/5432 from peer
# group app and tcp/22 from 192.0.2.0/24; app has one YAML member.
write_conf() {
	mkdir -p "$CONF/groups.d"
	cat >"$CONF/sgd.yaml" <<EOF
table: sgd
attach: [db]
${CONTROL_GROUP:+control_group: $CONTROL_GROUP}
EOF
	cat >"$CONF/groups.d/db.yaml" <<'EOF'
name: db
description: database
ingress:
  - protocol: tcp
    ports: 5432
    from: [app]
  - protocol: tcp
    ports: 22
    from: [192.0.2.0/24]
EOF
	cat >"$CONF/groups.d/app.yaml" <<'EOF'
name: app
description: application servers
egress: []
members: [10.77.0.50]
EOF
}

# set_has ADDR: is ADDR in one of our table's sets?
set_has() {
	nsx nft list table inet sgd | tr -d ' \t\n' | grep -q "$1"
}
set_lacks() { ! set_has "$@"; }
# tcp_blocked PORT: a connection that must be dropped: its SYN gets no
# answer within 1 s (a negative check: between two namespaces of one host
# an admitted SYN is answered at once, a dropped one never).
tcp_blocked() { ! tcp_try 1 "$1"; }
