# engine_lib.sh — shared by the engine_*.sh kernel tests (sourced, not run).
#
# Builds a two-namespace lab: SRV (where sgd's table is committed) and CL
# (the clients), joined by one veth.  CL carries several addresses so that
# a test can send from an "allowed" and from an "other" source:
#   SRV 10.200.0.1   fd00:200::1
#   CL  10.200.0.2..10  fd00:200::2..10
# Everything runs inside these namespaces; nothing touches the root one.

set -u
: "${BUILDDIR:?BUILDDIR must point at the build directory}"
: "${SRCDIR:?SRCDIR must point at the source directory}"
APPLY="$BUILDDIR/tests/sgd-apply"
[ -x "$APPLY" ] || { echo "missing $APPLY (build first)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: kernel tests need root"; exit 77; }
. "$(dirname "$0")/ns_lib.sh"
for t in ip nft python3 ping timeout; do
	command -v "$t" >/dev/null || { echo "missing tool $t (scripts/deps.sh)"; exit 1; }
done

LAB_ID="sgB$$"
SRV="$LAB_ID-srv"
CL="$LAB_ID-cl"
WORK=$(mktemp -d /tmp/sgB-engine.XXXXXX)
PIDS=()
PASS=0
FAIL=0

lab_cleanup() {
	ns_stop_jobs "${PIDS[@]}"
	wait 2>/dev/null
	ns_del "$SRV" "$CL"
	rm -rf "$WORK"
}
trap lab_cleanup EXIT

srv() { ip netns exec "$SRV" "$@"; }
cl() { ip netns exec "$CL" "$@"; }

lab_setup() {
	local i
	ip netns add "$SRV"
	ip netns add "$CL"
	ip link add sgBv0 netns "$SRV" type veth peer name sgBv1 netns "$CL"
	srv ip link set lo up
	cl ip link set lo up
	srv ip addr add 10.200.0.1/24 dev sgBv0
	srv ip addr add fd00:200::1/64 dev sgBv0 nodad
	for i in 2 3 4 5 6 7 8 9 10; do
		cl ip addr add 10.200.0.$i/24 dev sgBv1
		cl ip addr add fd00:200::$i/64 dev sgBv1 nodad
	done
	srv ip link set sgBv0 up
	cl ip link set sgBv1 up
	# replies from the server must reach every client address
	srv sysctl -qw net.ipv4.icmp_ratelimit=0
	cl sysctl -qw net.ipv4.icmp_ratelimit=0
	srv sysctl -qw net.ipv6.icmp.ratelimit=0 2>/dev/null || true
	lab_helper
	# Wait for the link-local addresses to finish duplicate address
	# detection (~1 s after link-up): until then the first neighbour
	# solicitation for a client address can go unanswered, and the first
	# IPv6 probe from that address loses its SYN-ACK for a second (seen:
	# 2 runs in 6 without this wait, 0 in 8 with it).
	timeout 120 bash -c "while [ -n \"\$(ip netns exec $SRV ip -6 addr show tentative)\$(ip netns exec $CL ip -6 addr show tentative)\" ]; do sleep 0.1; done" ||
		{ echo "lab: IPv6 addresses still tentative after 120 s"; exit 1; }
	timeout 120 bash -c "until ip netns exec $CL ping -c1 -W1 10.200.0.1 >/dev/null 2>&1; do sleep 0.2; done" ||
		{ echo "lab: no connectivity"; exit 1; }
	timeout 120 bash -c "until ip netns exec $CL ping -c1 -W1 fd00:200::1 >/dev/null 2>&1; do sleep 0.2; done" ||
		{ echo "lab: no IPv6 connectivity"; exit 1; }
}

# The packet helper: servers, probes, raw senders and listeners.
lab_helper() {
	cat > "$WORK/pk.py" <<'EOF'
import os, select, signal, socket, struct, sys, time

def serve(tcp_ports, udp_ports, udp_addrs=None):
    """Echo on every port, TCP and UDP, IPv4 and IPv6 (dual-stack).  UDP
    sockets are bound to each of udp_addrs when given, so that a reply
    leaves from the address the request went to (conntrack must see it)."""
    socks = {}
    for p in udp_ports if udp_addrs else []:
        for addr in udp_addrs:
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((addr, p)); socks[s] = "u"
    if udp_addrs:
        udp_ports = []
    for p in tcp_ports:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", p)); s.listen(64); socks[s] = "tl"
    for p in udp_ports:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", p)); socks[s] = "u"
    print("ready", flush=True)
    while True:
        r, _, _ = select.select(list(socks), [], [], 1.0)
        for s in r:
            kind = socks[s]
            if kind == "tl":
                c, _ = s.accept(); socks[c] = "tc"
            elif kind == "tc":
                try:
                    d = s.recv(4096)
                except OSError:
                    d = b""
                if d:
                    try: s.sendall(d)
                    except OSError: pass
                else:
                    del socks[s]; s.close()
            else:
                d, a = s.recvfrom(4096); s.sendto(d, a)

def probe(proto, src, dst, port, tmo=None):
    """Exit 0 when the server's echo comes back (within PROBE_TMO s)."""
    if tmo is None:
        tmo = float(os.environ.get("PROBE_TMO", "1"))
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    typ = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, typ); s.settimeout(tmo)
    s.bind((src, 0))
    try:
        if proto == "tcp":
            s.connect((dst, port)); s.sendall(b"hello"); d = s.recv(100)
        else:
            s.sendto(b"hello", (dst, port)); d, _ = s.recvfrom(100)
        return 0 if d == b"hello" else 1
    except OSError:
        return 1

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff

def udpquote(src, sport, dst, dport):
    """The IP + first 8 bytes of a UDP datagram, as an ICMP error quotes it."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + 5, 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + struct.pack("!HHHH", sport, dport, 13, 0)

def rawsend(proto, src, dst, count, icmp_type=None, icmp_code=None, quote=None):
    """Send count raw packets of IP protocol proto from src to dst."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    s.bind((src, 0))
    for i in range(count):
        if proto == 1:
            body = quote if quote else struct.pack("!HH", 0x1234, i)
            hdr = struct.pack("!BBHI", icmp_type, icmp_code, 0, 0)
            if icmp_type == 3 and icmp_code == 4:
                hdr = struct.pack("!BBHHH", 3, 4, 0, 0, 1280)
            pkt = hdr + body
            pkt = pkt[:2] + struct.pack("!H", csum(pkt)) + pkt[4:]
        elif proto == 47:
            pkt = struct.pack("!HH", 0, 0x0800) + b"sgd-gre-test"
        else:
            pkt = b"sgd-test"
        s.sendto(pkt, (dst, 0))
        time.sleep(0.01)

def stopped(stop, end):
    """True past the hang guard `end`, or once the file `stop` exists
    (then the caller drains what is already queued and ends)."""
    return time.time() >= end or (stop is not None and os.path.exists(stop))

def rawlisten(proto, out, secs, stop=None):
    """Count packets of IP protocol proto delivered locally; for ICMP,
    write one 'type code' line per packet.  Ends after secs, or when the
    file stop appears, after reading what is queued."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    s.settimeout(0.2)
    end = time.time() + secs
    with open(out, "w") as f:
        print("ready", flush=True)
        draining = False
        while True:
            if not draining and stopped(stop, end):
                draining = True
                s.settimeout(0)
            try:
                d, a = s.recvfrom(65535)
            except (socket.timeout, BlockingIOError):
                if draining:
                    break
                continue
            ihl = (d[0] & 15) * 4
            if proto == 1:
                f.write("%s %d %d\n" % (a[0], d[ihl], d[ihl + 1]))
            else:
                f.write("%s\n" % a[0])
            f.flush()

def udpcount(port, out, secs, stop=None):
    """Count datagrams received on port (any family) for secs seconds, or
    until the file stop appears (then what is queued is counted too)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind(("::", port)); s.settimeout(0.2)
    n = 0; end = time.time() + secs
    print("ready", flush=True)
    while not stopped(stop, end):
        try:
            s.recv(2048); n += 1
        except socket.timeout:
            pass
    s.settimeout(0)
    while True:
        try:
            s.recv(2048); n += 1
        except BlockingIOError:
            break
    open(out, "w").write("%d\n" % n)

def flood(src, dst, port, secs, out, stop=None):
    """Send UDP datagrams as fast as possible for secs seconds, or until
    the file stop appears; write how many were sent."""
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((src, 0))
    n = 0; end = time.time() + secs
    while not stopped(stop, end):
        for _ in range(200):
            try:
                s.sendto(b"x" * 32, (dst, port)); n += 1
            except OSError:
                pass
    open(out, "w").write("%d\n" % n)

def nlmon(out, idle):
    """Count nf_tables events, and NEWGEN (one per committed transaction,
    after its events), until idle seconds pass without one; "biggest" is
    the number of events of the largest transaction.  A 1 GiB buffer: a
    100k-rule commit emits 100k events at once, more than nft monitor's
    16 MiB."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
    s.setsockopt(socket.SOL_SOCKET, 33, 1 << 30)  # SO_RCVBUFFORCE
    s.bind((0, 0))
    s.setsockopt(270, 1, 7)  # SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES
    s.settimeout(idle)
    events = gens = lost = cur = biggest = 0
    print("ready", flush=True)
    while True:
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            if events:
                break
            continue
        except OSError:
            lost += 1
            continue
        off = 0
        while off + 16 <= len(d):
            ln, typ = struct.unpack_from("=IH", d, off)
            if ln < 16:
                break
            events += 1
            cur += 1
            if typ == (10 << 8) | 15:  # NFNL_SUBSYS_NFTABLES, NFT_MSG_NEWGEN
                gens += 1
                biggest = max(biggest, cur)
                cur = 0
            off += (ln + 3) & ~3
    open(out, "w").write("events %d generations %d lost %d biggest %d\n"
                         % (events, gens, lost, biggest))

if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "serve":
        serve([int(x) for x in a[1].split(",") if x], [int(x) for x in a[2].split(",") if x],
              a[3].split(",") if len(a) > 3 else None)
    elif a[0] == "probe":
        sys.exit(probe(a[1], a[2], a[3], int(a[4])))
    elif a[0] == "rawsend":
        extra = [int(x) for x in a[5:7]] if len(a) > 5 else [None, None]
        q = None
        if len(a) > 7:  # quote a UDP flow: QSRC QSPORT QDST QDPORT
            q = udpquote(a[7], int(a[8]), a[9], int(a[10]))
        rawsend(int(a[1]), a[2], a[3], int(a[4]), extra[0], extra[1], q)
    elif a[0] == "udpsend":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a[1], int(a[2]))); s.sendto(b"probe", (a[3], int(a[4])))
    elif a[0] == "rawlisten":
        rawlisten(int(a[1]), a[2], float(a[3]), a[4] if len(a) > 4 else None)
    elif a[0] == "udpcount":
        udpcount(int(a[1]), a[2], float(a[3]), a[4] if len(a) > 4 else None)
    elif a[0] == "nlmon":
        nlmon(a[1], float(a[2]))
    elif a[0] == "flood":
        flood(a[1], a[2], int(a[3]), float(a[4]), a[5], a[6] if len(a) > 6 else None)
EOF
}

PK() { python3 "$WORK/pk.py" "$@"; }

# Start a helper in a namespace in the background and wait for "ready".
bg_ready() {
	local ns=$1; shift
	local log="$WORK/bg.$RANDOM"
	ip netns exec "$ns" python3 "$WORK/pk.py" "$@" > "$log" 2>&1 &
	PIDS+=($!)
	# 120 s: a hang guard only (python starts in seconds on a loaded machine)
	timeout 120 bash -c "until grep -q ready '$log'; do sleep 0.05; done" ||
		{ echo "helper $* did not start"; cat "$log"; exit 1; }
}

ok() { echo "ok   - $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL - $*"; FAIL=$((FAIL + 1)); }

# expect pass|drop DESCRIPTION COMMAND...
# A probe that should pass waits up to 5 s for its echo (a loaded machine
# may be slow to answer); one that should be dropped waits 1 s, since no
# answer ever comes.
expect() {
	local want=$1 what=$2; shift 2
	local tmo=1; [ "$want" = pass ] && tmo=5
	if PROBE_TMO=$tmo "$@" >/dev/null 2>&1; then
		[ "$want" = pass ] && ok "$what passes" || bad "$what should be dropped but passed"
	else
		[ "$want" = drop ] && ok "$what is dropped" || bad "$what should pass but was dropped"
	fi
}

# tcp|udp SRC DST PORT, run in the client namespace
probe() { ip netns exec "$CL" python3 "$WORK/pk.py" probe "$@"; }
# the same, from the server namespace to the client
probe_out() { ip netns exec "$SRV" python3 "$WORK/pk.py" probe "$@"; }

apply() { srv "$APPLY" "$@"; }

lab_summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
}
