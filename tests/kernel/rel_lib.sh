# rel_lib.sh — shared by tests/kernel/rel_*.sh (sourced, not a test).
# Each test gets a server namespace (sgd runs there, 10.78.0.1) and a
# client namespace (10.78.0.2, plus 10.78.0.3 as a second source) joined
# by a veth pair created inside the namespaces, a temporary directory and
# a cleanup trap that kills every process the test started and deletes
# its namespaces.  Nothing here touches the root namespace's network.
# Namespace names start with sgI-.

BUILDDIR=${BUILDDIR:?BUILDDIR must be set}
. "$(dirname "$0")/ns_lib.sh"
SRCDIR=${SRCDIR:?SRCDIR must be set}
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$SGD" ] || { echo "FAIL: $SGD not built"; exit 1; }
[ -x "$SGCTL" ] || { echo "FAIL: $SGCTL not built"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 needed"; exit 1; }

TAG=${TAG:-t}
NS=sgI-$TAG-s$$
CNS=sgI-$TAG-c$$
SIP=10.78.0.1
CIP=10.78.0.2
CIP2=10.78.0.3
TMP=$(mktemp -d /tmp/sgI-$TAG.XXXXXX)
chmod 755 "$TMP"
CONF=$TMP/conf
STATE=$TMP/state
SOCK=$TMP/sgd.sock
LOG=$TMP/sgd.log
SGD_PID=
BG_PIDS=
FAILS=0
PASSES=0

rel_cleanup() {
	ns_stop_jobs $BG_PIDS $SGD_PID
	ns_del "$NS" "$CNS"
	if [ "$FAILS" != 0 ] && [ -f "$LOG" ]; then
		echo "---- sgd log (last 30 lines)"
		tail -30 "$LOG"
	fi
	rm -rf "$TMP"
}
trap rel_cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
finish() {
	echo "# $PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ]
	exit $?
}
bg() { BG_PIDS="$BG_PIDS $1"; }

ns_setup() {
	ip netns add "$NS" || exit 1
	ip netns add "$CNS" || exit 1
	ip -n "$NS" link set lo up
	ip -n "$CNS" link set lo up
	# Created inside the server namespace: the root namespace never sees it.
	ip -n "$NS" link add sgIs type veth peer name sgIc netns "$CNS" || exit 1
	ip -n "$NS" addr add $SIP/24 dev sgIs
	ip -n "$CNS" addr add $CIP/24 dev sgIc
	ip -n "$CNS" addr add $CIP2/24 dev sgIc
	ip -n "$NS" link set sgIs up
	ip -n "$CNS" link set sgIc up
}

nsx() { ip netns exec "$NS" "$@"; }
cnsx() { ip netns exec "$CNS" "$@"; }
# The socket is a path: sgctl needs no namespace to reach it.
sgctl() { "$SGCTL" -s "$SOCK" "$@"; }

# start_sgd: start sgd in the server namespace, wait until it answers
# (60 s: a hang guard only).
start_sgd() {
	local i
	ip netns exec "$NS" "$SGD" -c "$CONF" -s "$SOCK" --state-dir "$STATE" \
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
	SGD_PID=
}

kill9_sgd() {
	[ -n "$SGD_PID" ] || return 0
	kill -9 "$SGD_PID" 2>/dev/null
	wait "$SGD_PID" 2>/dev/null
	SGD_PID=
}

# Our table, normalized: no counters, no handles, so two dumps of the
# same intended ruleset compare equal.
table_norm() {
	nsx nft list table inet sgd 2>&1 |
		sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/g; s/ *# handle [0-9]+//'
}

# rel_python NS SCRIPT ARGS...: run an inline python program inside NS.
rel_python() { local ns=$1; shift; ip netns exec "$ns" python3 "$@"; }

# The traffic tools, written once per test into $TMP.
write_tools() {
	# UDP receiver: counts datagrams, checks sequence numbers; writes
	# "received N maxseq M gaps G dup D" to $2 on SIGTERM / after idle.
	cat >"$TMP/udp_recv.py" <<'EOF'
import socket, sys, signal, struct
port, out = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("0.0.0.0", port))
s.settimeout(0.5)
seen = set(); maxseq = -1; n = 0; stop = False
def term(*a):
    global stop
    stop = True
signal.signal(signal.SIGTERM, term)
def dump():
    missing = [i for i in range(maxseq + 1) if i not in seen]
    with open(out + ".tmp", "w") as f:
        f.write("received %d maxseq %d gaps %d unique %d %s\n" % (n, maxseq, len(missing), len(seen),
                ",".join(map(str, missing[:20]))))
    import os
    os.rename(out + ".tmp", out)
while not stop:
    try:
        d = s.recv(2048)
    except socket.timeout:
        continue
    except InterruptedError:
        continue
    n += 1
    if len(d) >= 8:
        q = struct.unpack("!Q", d[:8])[0]
        seen.add(q)
        maxseq = max(maxseq, q)
dump()
EOF
	# UDP sender: COUNT datagrams numbered 0.. at RATE/s to HOST:PORT
	# from SRC; writes "sent N" to OUT.
	cat >"$TMP/udp_send.py" <<'EOF'
import socket, sys, time, struct, os
host, port, rate, count, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
src = sys.argv[6] if len(sys.argv) > 6 else ""
stopfile = sys.argv[7] if len(sys.argv) > 7 else ""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if src:
    s.bind((src, 0))
t0 = time.monotonic(); i = 0; errs = 0
while i < count:
    if stopfile and i % 64 == 0 and os.path.exists(stopfile):
        break
    try:
        s.sendto(struct.pack("!Q", i) + b"x" * 56, (host, port))
    except OSError:
        errs += 1
    i += 1
    if rate > 0:
        d = t0 + i / rate - time.monotonic()
        if d > 0:
            time.sleep(d)
with open(out, "w") as f:
    f.write("sent %d errors %d\n" % (i, errs))
EOF
	# TCP sink: accepts connections, counts bytes per connection and
	# checks the pattern; writes "bytes N errors E" to OUT at EOF.
	cat >"$TMP/tcp_sink.py" <<'EOF'
import socket, sys
port, out = int(sys.argv[1]), sys.argv[2]
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", port)); l.listen(8)
c, _ = l.accept()
total = 0; err = "none"
try:
    while True:
        d = c.recv(65536)
        if not d:
            break
        total += len(d)
except OSError as e:
    err = repr(e)
c.sendall(b"%d\n" % total)
c.close()
open(out, "w").write("bytes %d error %s\n" % (total, err))
EOF
	# TCP source: streams CHUNK bytes every INTERVAL s until STOPFILE
	# exists (or MAXSECS), then half-closes and reads the sink's count;
	# writes "sent N acked M error E" to OUT.
	cat >"$TMP/tcp_src.py" <<'EOF'
import socket, sys, time, os
host, port, out, stopfile, maxsecs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
s = socket.create_connection((host, port), timeout=10)
sent = 0; err = "none"; acked = -1
t0 = time.monotonic()
try:
    while not os.path.exists(stopfile) and time.monotonic() - t0 < maxsecs:
        s.sendall(b"y" * 16384)
        sent += 16384
        time.sleep(0.005)
    s.shutdown(socket.SHUT_WR)
    acked = int(s.makefile().readline().strip() or -1)
except OSError as e:
    err = repr(e)
open(out, "w").write("sent %d acked %d error %s\n" % (sent, acked, err))
EOF
}
