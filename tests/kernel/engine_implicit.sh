#!/usr/bin/env bash
# engine_implicit.sh — the implicit allowances are no wider than AWS's
# (issue 18, finding 9), with real packets, and `sgctl explain` agrees.
#
#   ipv6_nd         ICMPv6 133-136 in and out, only with hop limit 255
#   ipv6_redirects  ICMPv6 137, only when switched on, hop limit 255
#   metadata        tcp/80 to 169.254.169.254 and fd00:ec2::254, nothing else
#   aws_dns         udp+tcp/53 to 169.254.169.253 and fd00:ec2::253
#   aws_ntp         udp/123 to 169.254.169.123 and fd00:ec2::123
#
# The server's only group admits nothing in and has `egress: []`: every
# packet that passes does so by an implicit allowance.  A probe table of
# the test's own counts each kind of packet just after sgd's chains
# (priority 10): counted there = sgd let it through.  ICMPv6 messages
# are sent from raw sockets with the hop limit chosen; the packets to the
# AWS addresses leave through a route the test adds in its namespace.
# Needs root; everything runs in the test's own namespaces.
set -u
. "$(dirname "$0")/engine_lib.sh"
LAB_ID="sgM$$"
SRV="$LAB_ID-srv"
CL="$LAB_ID-cl"
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ -x "$SGD" ] && [ -x "$SGCTL" ] || { echo "missing sgd or sgctl (build first)"; exit 1; }
A=10.200.0

lab_setup
# the AWS link-local services are "on the link" of the veth here
srv ip route add 169.254.169.0/24 dev sgBv0
srv ip -6 route add fd00:ec2::/64 dev sgBv0

CONF=$WORK/conf
mkdir -p "$CONF/groups.d" "$WORK/state"
printf 'name: locked\ningress: []\negress: []\n' > "$CONF/groups.d/locked.yaml"
printf 'table: sgd\nattach: [locked]\n' > "$CONF/sgd.yaml"
srv "$SGD" -c "$CONF" -s "$WORK/sgd.sock" --state-dir "$WORK/state" >> "$WORK/sgd.log" 2>&1 &
SGD_PID=$!
PIDS+=($SGD_PID)
sgctl() { "$SGCTL" -s "$WORK/sgd.sock" "$@"; }
for i in $(seq 100); do
	sgctl status >/dev/null 2>&1 && break
	kill -0 "$SGD_PID" 2>/dev/null || break
	sleep 0.1
done
sgctl status >/dev/null 2>&1 || { bad "sgd did not start"; tail "$WORK/sgd.log"; lab_summary; exit 1; }

# One counter rule per kind of packet, after sgd's input and output.
{
	echo "table inet sgM_probe {"
	echo " chain in { type filter hook input priority 10; policy accept;"
	for t in 133 134 135 136 137; do
		for hl in 255 64; do
			echo "  icmpv6 type $t ip6 hoplimit $hl counter comment \"in $t $hl\""
		done
	done
	echo " }"
	echo " chain out { type filter hook output priority 10; policy accept;"
	for t in 135 136 137; do
		for hl in 255 64; do
			echo "  icmpv6 type $t ip6 hoplimit $hl counter comment \"out $t $hl\""
		done
	done
	for a in 169.254.169.254 169.254.169.253 169.254.169.123; do
		for p in tcp udp; do
			echo "  ip daddr $a $p dport { 53, 80, 123, 443 } counter comment \"out $a $p\""
		done
	done
	for a in fd00:ec2::254 fd00:ec2::253 fd00:ec2::123; do
		for p in tcp udp; do
			echo "  ip6 daddr $a $p dport { 53, 80, 123, 443 } counter comment \"out $a $p\""
		done
	done
	echo " }"
	echo "}"
} > "$WORK/probe.nft"
srv nft -f "$WORK/probe.nft" || { bad "cannot create the probe table"; lab_summary; exit 1; }
# counted "COMMENT": packets counted by the probe rule with that comment
counted() {
	srv nft list table inet sgM_probe |
		awk -v c="comment \"$1\"" 'index($0, c) { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

cat > "$WORK/send.py" <<'PY'
import socket, struct, sys
# send.py icmp6 SRC DST TYPE HOPLIMIT | l4 SRC DST tcp|udp PORT
if sys.argv[1] == "icmp6":
    src, dst, typ, hl = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.bind((src, 0))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hl)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hl)
    # type, code 0, checksum (the kernel fills it in), reserved/flags,
    # then a target address (NS, NA, redirect) or padding (RS, RA)
    body = struct.pack("!BBHI", typ, 0, 0, 0) + socket.inet_pton(socket.AF_INET6, dst)
    if typ == 137:
        body += socket.inet_pton(socket.AF_INET6, dst)
    s.sendto(body, (dst, 0))
else:
    src, dst, proto, port = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setblocking(False)
    try:
        if proto == "tcp":
            s.connect_ex((dst, port))
        else:
            s.sendto(b"x", (dst, port))
    except OSError:
        pass  # dropped by the output hook: EPERM
PY
# icmp6 NS TYPE HOPLIMIT want: one ICMPv6 message (in: client -> server,
# out: server -> client), counted after sgd's chain or not
icmp6() {
	local dir=$1 t=$2 hl=$3 want=$4 before after got
	before=$(counted "$dir $t $hl")
	if [ "$dir" = in ]; then
		cl python3 "$WORK/send.py" icmp6 fd00:200::2 fd00:200::1 "$t" "$hl"
	else
		srv python3 "$WORK/send.py" icmp6 fd00:200::1 fd00:200::2 "$t" "$hl"
	fi
	sleep 0.1
	after=$(counted "$dir $t $hl")
	[ "$after" -gt "$before" ] && got=pass || got=drop
	[ "$got" = "$want" ] && ok "$dir icmpv6 type $t hop limit $hl: $want" ||
		bad "$dir icmpv6 type $t hop limit $hl: want $want, got $got"
}
# l4 ADDR PROTO PORT want: a packet from the server to ADDR
l4() {
	local a=$1 p=$2 port=$3 want=$4 src=$A.1 before after got said
	case "$a" in *:*) src=fd00:200::1 ;; esac
	before=$(counted "out $a $p")
	srv python3 "$WORK/send.py" l4 "$src" "$a" "$p" "$port"
	sleep 0.1
	after=$(counted "out $a $p")
	[ "$after" -gt "$before" ] && got=pass || got=drop
	said=$(sgctl --json explain out "$p" "$port" "$a")
	case "$said" in
	*'"allowed":true'*) said=pass ;;
	*'"allowed":false'*) said=drop ;;
	*) said="?($said)" ;;
	esac
	[ "$got" = "$want" ] && [ "$said" = "$want" ] &&
		ok "out $p/$port to $a: $want (kernel and explain)" ||
		bad "out $p/$port to $a: want $want, kernel $got, explain $said"
}
# explained DIR TYPE want: what sgctl explain says of an icmpv6 type
explained() {
	local said
	said=$(sgctl --json explain "$1" icmpv6 "$2" fd00:200::2)
	case "$said" in
	*'"allowed":true'*) said=pass ;;
	*'"allowed":false'*) said=drop ;;
	esac
	[ "$said" = "$3" ] && ok "explain $1 icmpv6 $2: $3" || bad "explain $1 icmpv6 $2: want $3, said $said"
}

echo "# defaults: ipv6_nd on (hop limit 255 only), redirects off"
for t in 133 134 135 136; do
	icmp6 in $t 255 pass
	icmp6 in $t 64 drop
	explained in $t pass
done
icmp6 out 135 255 pass
icmp6 out 136 64 drop
icmp6 in 137 255 drop
icmp6 out 137 255 drop
explained in 137 drop

echo "# defaults: metadata tcp/80 only; Amazon DNS and time services"
l4 169.254.169.254 tcp 80 pass
l4 169.254.169.254 tcp 443 drop
l4 169.254.169.254 udp 53 drop
l4 169.254.169.254 udp 80 drop
l4 fd00:ec2::254 tcp 80 pass
l4 fd00:ec2::254 tcp 443 drop
l4 169.254.169.253 udp 53 pass
l4 169.254.169.253 tcp 53 pass
l4 169.254.169.253 tcp 80 drop
l4 169.254.169.253 udp 123 drop
l4 fd00:ec2::253 udp 53 pass
l4 169.254.169.123 udp 123 pass
l4 169.254.169.123 tcp 123 drop
l4 169.254.169.123 udp 53 drop
l4 fd00:ec2::123 udp 123 pass

echo "# switched: redirects on, metadata, aws_dns and aws_ntp off"
printf 'table: sgd\nattach: [locked]\nimplicit: {ipv6_redirects: true, metadata: false, aws_dns: false, aws_ntp: false}\n' \
	> "$CONF/sgd.yaml"
sgctl reload >/dev/null && ok "reloaded" || bad "reload failed"
icmp6 in 137 255 pass
icmp6 in 137 64 drop
icmp6 out 137 255 pass
explained in 137 pass
icmp6 in 135 255 pass
l4 169.254.169.254 tcp 80 drop
l4 169.254.169.253 udp 53 drop
l4 169.254.169.123 udp 123 drop
l4 fd00:ec2::253 tcp 53 drop

echo "# ipv6_nd off"
printf 'table: sgd\nattach: [locked]\nimplicit: {ipv6_nd: false}\n' > "$CONF/sgd.yaml"
sgctl reload >/dev/null && ok "reloaded" || bad "reload failed"
icmp6 in 135 255 drop
explained in 135 drop
lab_summary
