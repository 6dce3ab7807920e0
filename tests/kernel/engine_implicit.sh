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
ip netns exec "$SRV" "$SGD" -c "$CONF" -s "$WORK/sgd.sock" --state-dir "$WORK/state" >> "$WORK/sgd.log" 2>&1 &
SGD_PID=$!
PIDS+=($SGD_PID)
sgctl() { "$SGCTL" -s "$WORK/sgd.sock" "$@"; }
for i in $(seq 100); do
	sgctl status >/dev/null 2>&1 && break
	kill -0 "$SGD_PID" 2>/dev/null || break
	sleep 0.1
done
sgctl status >/dev/null 2>&1 || { bad "sgd did not start"; tail "$WORK/sgd.log"; lab_summary; exit 1; }

# One counter rule per packet the test sends, after sgd's input and
# output chains: counted = sgd let it through.
ICMP_IN="133 134 135 136 137"
ICMP_OUT="135 136 137"
SERVICES="169.254.169.254 169.254.169.253 169.254.169.123 fd00:ec2::254 fd00:ec2::253 fd00:ec2::123"
{
	echo "table inet sgM_probe {"
	echo " chain in { type filter hook input priority 10; policy accept;"
	for t in $ICMP_IN; do
		for hl in 255 64; do
			echo "  icmpv6 type $t ip6 hoplimit $hl counter comment \"in $t $hl\""
		done
	done
	echo " }"
	echo " chain out { type filter hook output priority 10; policy accept;"
	for t in $ICMP_OUT; do
		for hl in 255 64; do
			echo "  icmpv6 type $t ip6 hoplimit $hl counter comment \"out $t $hl\""
		done
	done
	for a in $SERVICES; do
		f=ip; case "$a" in *:*) f=ip6 ;; esac
		for p in tcp udp; do
			for port in 53 80 123 443; do
				echo "  $f daddr $a $p dport $port counter comment \"out $a $p $port\""
			done
		done
	done
	echo " }"
	echo "}"
} > "$WORK/probe.nft"
srv nft -f "$WORK/probe.nft" || { bad "cannot create the probe table"; lab_summary; exit 1; }
# snapshot FILE: "COMMENT packets" lines of every probe counter
snapshot() {
	srv nft list table inet sgM_probe | awk '/comment/ {
		c = $0; sub(/.*comment "/, "", c); sub(/".*/, "", c)
		for (i = 1; i < NF; i++) if ($i == "packets") print c "|" $(i + 1) }' > "$1"
}
counted() { awk -F'|' -v c="$1" '$1 == c { print $2 }' "$2"; }

cat > "$WORK/send.py" <<'PY'
import socket, struct, sys
# send.py SPEC...: icmp6,SRC,DST,TYPE,HOPLIMIT or l4,SRC,DST,tcp|udp,PORT
for spec in sys.argv[1:]:
    kind, src, dst, a, b = spec.split(",")
    if kind == "icmp6":
        typ, hl = int(a), int(b)
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        s.bind((src, 0))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hl)
        # type, code 0, checksum (the kernel fills it in), reserved or
        # flags, then a target address (a second one for a redirect)
        body = struct.pack("!BBHI", typ, 0, 0, 0) + socket.inet_pton(socket.AF_INET6, dst)
        if typ == 137:
            body += socket.inet_pton(socket.AF_INET6, dst)
        try:
            s.sendto(body, (dst, 0))
        except OSError:
            pass  # dropped by the output hook: EPERM
        continue
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if a == "tcp" else socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setblocking(False)
    try:
        if a == "tcp":
            s.connect_ex((dst, int(b)))
        else:
            s.sendto(b"x", (dst, int(b)))
    except OSError:
        pass  # dropped by the output hook: EPERM
PY

# A phase: every packet of CHECKS at once, then one look at the counters.
# CHECKS are "icmp6 in|out TYPE HOPLIMIT pass|drop", "l4 ADDR PROTO PORT
# pass|drop" (server to ADDR; sgctl explain must agree) and "explain
# in|out TYPE pass|drop" (an icmpv6 type, explain only).
phase() {
	local c in=() out=() got said sfx checks=("$@")
	for c in "${checks[@]}"; do
		set -- $c
		case "$1" in
		icmp6)
			if [ "$2" = in ]; then
				in+=("icmp6,fd00:200::2,fd00:200::1,$3,$4")
			else
				out+=("icmp6,fd00:200::1,fd00:200::2,$3,$4")
			fi ;;
		l4)
			case "$2" in *:*) src=fd00:200::1 ;; *) src=$A.1 ;; esac
			out+=("l4,$src,$2,$3,$4") ;;
		esac
	done
	snapshot "$WORK/before"
	[ ${#in[@]} = 0 ] || cl python3 "$WORK/send.py" "${in[@]}"
	[ ${#out[@]} = 0 ] || srv python3 "$WORK/send.py" "${out[@]}"
	sleep 0.2
	snapshot "$WORK/after"
	for c in "${checks[@]}"; do
		set -- $c
		case "$1" in
		icmp6)
			key="$2 $3 $4" want=$5 what="$2 icmpv6 type $3 hop limit $4" ;;
		l4)
			key="out $2 $3 $4" want=$5 what="out $3/$4 to $2" ;;
		explain)
			said=$(sgctl --json explain "$2" icmpv6 "$3" fd00:200::2)
			case "$said" in
			*'"allowed":true'*) said=pass ;;
			*'"allowed":false'*) said=drop ;;
			esac
			[ "$said" = "$4" ] && ok "explain $2 icmpv6 $3: $4" ||
				bad "explain $2 icmpv6 $3: want $4, said $said"
			continue ;;
		esac
		if [ "$(counted "$key" "$WORK/after")" -gt "$(counted "$key" "$WORK/before")" ]; then
			got=pass
		else
			got=drop
		fi
		said=$want sfx=
		if [ "$1" = l4 ]; then
			sfx=" (kernel and explain)"
			said=$(sgctl --json explain out "$3" "$4" "$2")
			case "$said" in
			*'"allowed":true'*) said=pass ;;
			*'"allowed":false'*) said=drop ;;
			*) said="?($said)" ;;
			esac
		fi
		[ "$got" = "$want" ] && [ "$said" = "$want" ] &&
			ok "$what: $want$sfx" ||
			bad "$what: want $want, kernel $got, explain $said"
	done
}

echo "# defaults: ipv6_nd on (hop limit 255 only), redirects off;"
echo "# metadata tcp/80 only; the Amazon DNS and time services"
phase "icmp6 in 133 255 pass" "icmp6 in 133 64 drop" "explain in 133 pass" \
	"icmp6 in 134 255 pass" "icmp6 in 134 64 drop" "explain in 134 pass" \
	"icmp6 in 135 255 pass" "icmp6 in 135 64 drop" "explain in 135 pass" \
	"icmp6 in 136 255 pass" "icmp6 in 136 64 drop" "explain in 136 pass" \
	"icmp6 out 135 255 pass" "icmp6 out 136 64 drop" \
	"icmp6 in 137 255 drop" "icmp6 out 137 255 drop" "explain in 137 drop" \
	"l4 169.254.169.254 tcp 80 pass" "l4 169.254.169.254 tcp 443 drop" \
	"l4 169.254.169.254 udp 53 drop" "l4 169.254.169.254 udp 80 drop" \
	"l4 fd00:ec2::254 tcp 80 pass" "l4 fd00:ec2::254 tcp 443 drop" \
	"l4 169.254.169.253 udp 53 pass" "l4 169.254.169.253 tcp 53 pass" \
	"l4 169.254.169.253 tcp 80 drop" "l4 169.254.169.253 udp 123 drop" \
	"l4 fd00:ec2::253 udp 53 pass" "l4 fd00:ec2::253 tcp 53 pass" \
	"l4 169.254.169.123 udp 123 pass" "l4 169.254.169.123 tcp 123 drop" \
	"l4 169.254.169.123 udp 53 drop" "l4 fd00:ec2::123 udp 123 pass"

echo "# switched: redirects on; metadata, aws_dns and aws_ntp off"
printf 'table: sgd\nattach: [locked]\nimplicit: {ipv6_redirects: true, metadata: false, aws_dns: false, aws_ntp: false}\n' \
	> "$CONF/sgd.yaml"
sgctl reload >/dev/null && ok "reloaded" || bad "reload failed"
phase "icmp6 in 137 255 pass" "icmp6 in 137 64 drop" "icmp6 out 137 255 pass" \
	"explain in 137 pass" "icmp6 in 135 255 pass" \
	"l4 169.254.169.254 tcp 80 drop" "l4 169.254.169.253 udp 53 drop" \
	"l4 169.254.169.123 udp 123 drop" "l4 fd00:ec2::253 tcp 53 drop"

echo "# ipv6_nd off"
printf 'table: sgd\nattach: [locked]\nimplicit: {ipv6_nd: false}\n' > "$CONF/sgd.yaml"
sgctl reload >/dev/null && ok "reloaded" || bad "reload failed"
phase "icmp6 in 135 255 drop" "icmp6 in 133 255 drop" "explain in 135 drop"
lab_summary
