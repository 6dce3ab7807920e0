#!/usr/bin/env bash
# engine_roles.sh — every row of roles-reference.md with real packets.
#
# sgd's table is committed (tests/sgd-apply -> engine_apply) in a server
# namespace; a client namespace sends from an allowed address and from
# another one, over IPv4 and IPv6 where the row applies.  Then: ICMP types,
# a protocol other than tcp/udp/icmp (47), stateful replies both ways,
# egress default vs restricted, peer-group membership deltas, counters.
#
# Client addresses: .2 admin / local CIDR, .3 other (allowed by nothing
# but "anywhere" rules), .4 member of app, .5 of cluster, .6 of classic,
# .7 of efs, .8 of lb, .9 the DNS network CIDR, .10 of inst.
set -u
. "$(dirname "$0")/engine_lib.sh"

A=10.200.0
S4=$A.1
S6=fd00:200::1

# write_config DIR MODE: MODE=roles (every role attached, default egress)
# or egress (only groups with explicit egress attached)
write_config() {
	local d=$1 mode=$2
	mkdir -p "$d/groups.d"
	cat > "$d/groups.d/web.yaml" <<Y
name: web-server
id: sg-0000000000000a0b0
description: Web servers
ingress:
  - {protocol: tcp, ports: 80, from: [0.0.0.0/0], description: HTTP from any IPv4}
  - {protocol: tcp, ports: 443, from: [0.0.0.0/0], description: HTTPS from any IPv4}
  - {protocol: tcp, ports: 80, from: ["::/0"], description: HTTP from any IPv6}
  - {protocol: tcp, ports: 443, from: ["::/0"], description: HTTPS from any IPv6}
Y
	cat > "$d/groups.d/app.yaml" <<Y
name: app
id: sg-00000000000000a99
members: [$A.4, "fd00:200::4"]
Y
	local dbegress=""
	[ "$mode" = egress ] && dbegress='egress:
  - {protocol: tcp, ports: 80, to: [0.0.0.0/0, "::/0"]}
  - {protocol: tcp, ports: 443, to: [0.0.0.0/0, "::/0"]}'
	cat > "$d/groups.d/db.yaml" <<Y
name: database
ingress:
  - {protocol: tcp, ports: 1433, from: [$A.2/32, "fd00:200::2/128"], description: MS SQL}
  - {protocol: tcp, ports: 3306, from: [$A.2/32, "fd00:200::2/128"], description: MySQL}
  - {protocol: tcp, ports: 5439, from: [$A.2/32, "fd00:200::2/128"], description: Redshift}
  - {protocol: tcp, ports: 5432, from: [$A.2/32, "fd00:200::2/128", sg-00000000000000a99], description: PostgreSQL}
  - {protocol: tcp, ports: 1521, from: [$A.2/32, "fd00:200::2/128"], description: Oracle}
$dbegress
Y
	cat > "$d/groups.d/cluster.yaml" <<Y
name: cluster
members: [$A.5, "fd00:200::5"]
ingress:
  - {protocol: -1, from: [cluster], description: same group (VPC)}
Y
	cat > "$d/groups.d/classic.yaml" <<Y
name: classic
members: [$A.6, "fd00:200::6"]
ingress:
  - {protocol: icmp, from: [classic]}
  - {protocol: tcp, ports: 0-65535, from: [classic]}
  - {protocol: udp, ports: 0-65535, from: [classic]}
Y
	cat > "$d/groups.d/admin.yaml" <<Y
name: admin
ingress:
  - {protocol: tcp, ports: 22, from: [$A.2, "fd00:200::2"], description: SSH}
  - {protocol: tcp, ports: 3389, from: [$A.2, "fd00:200::2"], description: RDP}
  - {protocol: icmp, icmp_type: 3, icmp_code: 4, from: [0.0.0.0/0], description: path MTU}
  - {protocol: icmp, icmp_type: 8, from: [$A.2], description: ping}
  - {protocol: icmpv6, icmp_type: 128, icmp_code: 0, from: ["fd00:200::2"], description: ping6}
  - {protocol: 47, from: [$A.2], description: GRE}
egress: []
Y
	cat > "$d/groups.d/dns.yaml" <<Y
name: dns
ingress:
  - {protocol: tcp, ports: 53, from: [app, $A.9/32, "fd00:200::9/128"]}
  - {protocol: udp, ports: 53, from: [app, $A.9/32, "fd00:200::9/128"]}
Y
	cat > "$d/groups.d/efs.yaml" <<Y
name: efs
members: [$A.7, "fd00:200::7"]
ingress:
  - {protocol: tcp, ports: 2049, from: [efs], description: NFS}
Y
	cat > "$d/groups.d/lb.yaml" <<Y
name: lb
members: [$A.8, "fd00:200::8"]
ingress:
  - {protocol: tcp, ports: 8443, from: [0.0.0.0/0, "::/0"], description: listener}
egress:
  - {protocol: tcp, ports: 8080, to: [inst], description: instance listener}
  - {protocol: tcp, ports: 8081, to: [inst], description: health check}
Y
	cat > "$d/groups.d/inst.yaml" <<Y
name: inst
members: [$A.10, "fd00:200::10"]
ingress:
  - {protocol: tcp, ports: 8080, from: [lb], description: listener from LB}
  - {protocol: tcp, ports: 8081, from: [lb], description: health check from LB}
Y
	if [ "$mode" = roles ]; then
		echo "attach: [web-server, database, cluster, classic, admin, dns, efs, inst, lb]" > "$d/sgd.yaml"
	else
		echo "attach: [database, lb, admin]" > "$d/sgd.yaml"
	fi
}

lab_setup
write_config "$WORK/roles" roles
write_config "$WORK/egress" egress
TCP=22,53,80,443,1433,1521,2049,3306,3389,5432,5439,7001,8080,8081,8443,9999
bg_ready "$SRV" serve $TCP 53,6666,7000
bg_ready "$CL" serve 80,443,8080,8081,9999 53,6666 \
	"$(echo $A.{2..10} | tr ' ' ,),$(echo fd00:200::{2..10} | tr ' ' ,)"

echo "# roles: every role attached, default egress"
apply "$WORK/roles" || { echo "commit failed"; exit 1; }

for p in 80 443; do
	expect pass "web tcp/$p from any IPv4 ($A.3)" probe tcp $A.3 $S4 $p
	expect pass "web tcp/$p from any IPv6 (::3)" probe tcp fd00:200::3 $S6 $p
done
expect drop "tcp/9999 (no rule) from $A.3" probe tcp $A.3 $S4 9999
expect drop "tcp/9999 (no rule) from ::3" probe tcp fd00:200::3 $S6 9999
for p in 1433 3306 5439 5432 1521; do
	expect pass "database tcp/$p from local CIDR $A.2" probe tcp $A.2 $S4 $p
	expect pass "database tcp/$p from local CIDR ::2" probe tcp fd00:200::2 $S6 $p
	expect drop "database tcp/$p from other $A.3" probe tcp $A.3 $S4 $p
	expect drop "database tcp/$p from other ::3" probe tcp fd00:200::3 $S6 $p
done
expect pass "database tcp/5432 from group app ($A.4)" probe tcp $A.4 $S4 5432
expect pass "database tcp/5432 from group app (::4)" probe tcp fd00:200::4 $S6 5432
expect drop "database tcp/3306 from group app (not in that rule)" probe tcp $A.4 $S4 3306

expect pass "cluster all/udp 7000 from own group $A.5" probe udp $A.5 $S4 7000
expect pass "cluster all/tcp 7001 from own group ::5" probe tcp fd00:200::5 $S6 7001
expect drop "cluster udp 7000 from other $A.3" probe udp $A.3 $S4 7000
expect drop "cluster tcp 7001 from other ::3" probe tcp fd00:200::3 $S6 7001

expect pass "classic icmp echo from own group $A.6" cl ping -c1 -W1 -I $A.6 $S4
expect drop "classic-style icmp echo from other $A.3" cl ping -c1 -W1 -I $A.3 $S4
expect pass "classic tcp 0-65535 (7001) from own group $A.6" probe tcp $A.6 $S4 7001
expect pass "classic udp 0-65535 (7000) from own group ::6" probe udp fd00:200::6 $S6 7000
expect drop "classic tcp 7001 from other $A.3" probe tcp $A.3 $S4 7001

for p in 22 3389; do
	expect pass "admin tcp/$p from admin $A.2" probe tcp $A.2 $S4 $p
	expect pass "admin tcp/$p from admin ::2" probe tcp fd00:200::2 $S6 $p
	expect drop "admin tcp/$p from other $A.3" probe tcp $A.3 $S4 $p
	expect drop "admin tcp/$p from other ::3" probe tcp fd00:200::3 $S6 $p
done
expect pass "ping (icmp 8) from admin $A.2" cl ping -c1 -W1 -I $A.2 $S4
expect drop "ping (icmp 8) from other $A.9" cl ping -c1 -W1 -I $A.9 $S4
expect pass "ping6 (icmpv6 128/0) from admin ::2" cl ping -6 -c1 -W1 -I fd00:200::2 $S6
expect drop "ping6 from other ::3" cl ping -6 -c1 -W1 -I fd00:200::3 $S6

for proto in tcp udp; do
	expect pass "dns $proto/53 from group app $A.4" probe $proto $A.4 $S4 53
	expect pass "dns $proto/53 from network CIDR $A.9" probe $proto $A.9 $S4 53
	expect pass "dns $proto/53 from group app ::4" probe $proto fd00:200::4 $S6 53
	expect drop "dns $proto/53 from other $A.3" probe $proto $A.3 $S4 53
	expect drop "dns $proto/53 from other ::3" probe $proto fd00:200::3 $S6 53
done
expect pass "efs tcp/2049 from own group $A.7" probe tcp $A.7 $S4 2049
expect pass "efs tcp/2049 from own group ::7" probe tcp fd00:200::7 $S6 2049
expect drop "efs tcp/2049 from other $A.3" probe tcp $A.3 $S4 2049
expect pass "load balancer listener tcp/8443 from anywhere $A.3" probe tcp $A.3 $S4 8443
expect pass "load balancer listener tcp/8443 from anywhere ::3" probe tcp fd00:200::3 $S6 8443
for p in 8080 8081; do
	expect pass "instance tcp/$p from lb group $A.8" probe tcp $A.8 $S4 $p
	expect pass "instance tcp/$p from lb group ::8" probe tcp fd00:200::8 $S6 $p
	expect drop "instance tcp/$p from other $A.3" probe tcp $A.3 $S4 $p
	expect drop "instance tcp/$p from other ::3" probe tcp fd00:200::3 $S6 $p
done

echo "# icmp types and a protocol other than tcp/udp/icmp"
bg_ready "$SRV" rawlisten 1 "$WORK/icmp.txt" 600 "$WORK/icmp.stop"; ICMPL=${PIDS[-1]}
cl ping -c2 -W1 -I $A.2 $S4 >/dev/null 2>&1
PK_CL() { cl python3 "$WORK/pk.py" "$@"; }
PK_CL rawsend 1 $A.2 $S4 3 13 0		# timestamp request from the admin
PK_CL rawsend 1 $A.2 $S4 3 0 0		# echo reply nobody asked for
# fragmentation needed, quoting a UDP flow the server started (related)
srv python3 "$WORK/pk.py" udpsend $S4 5555 $A.3 6666
PK_CL rawsend 1 $A.3 $S4 2 3 4 $S4 5555 $A.3 6666
# the same for a flow that never existed: conntrack calls it invalid
PK_CL rawsend 1 $A.3 $S4 2 3 4 $S4 5556 $A.3 6667
PK_CL rawsend 1 $A.3 $S4 2 3 3 $S4 5557 $A.3 6668
# The listener ends once it has read what is queued (600 s: hang guard).
sleep 1; touch "$WORK/icmp.stop"; timeout 600 tail --pid=$ICMPL -f /dev/null
n8=$(grep -c "^$A.2 8 0$" "$WORK/icmp.txt")
n13=$(grep -c " 13 0$" "$WORK/icmp.txt")
n0=$(grep -c "^$A.2 0 0$" "$WORK/icmp.txt")
n34=$(grep -c "^$A.3 3 4$" "$WORK/icmp.txt")
n33=$(grep -c "^$A.3 3 3$" "$WORK/icmp.txt")
[ "$n8" -ge 2 ] && ok "icmp echo request from admin delivered ($n8)" || bad "echo requests delivered: $n8"
[ "$n13" = 0 ] && ok "icmp timestamp request from admin dropped" || bad "timestamp requests delivered: $n13"
[ "$n0" = 0 ] && ok "unsolicited icmp echo reply dropped" || bad "echo replies delivered: $n0"
[ "$n34" = 2 ] && ok "icmp 3/4 (frag needed) for a tracked flow delivered" || bad "3/4 related delivered: $n34 of 2"
[ "$n33" = 0 ] && ok "icmp 3/3 for an unknown flow dropped (ct invalid)" || bad "3/3 unrelated delivered: $n33"

bg_ready "$SRV" rawlisten 47 "$WORK/gre.txt" 600 "$WORK/gre.stop"; GREL=${PIDS[-1]}
PK_CL rawsend 47 $A.2 $S4 5
PK_CL rawsend 47 $A.3 $S4 5
sleep 1; touch "$WORK/gre.stop"; timeout 600 tail --pid=$GREL -f /dev/null
g2=$(grep -c "^$A.2$" "$WORK/gre.txt"); g3=$(grep -c "^$A.3$" "$WORK/gre.txt")
[ "$g2" = 5 ] && ok "protocol 47 from admin delivered (5 of 5)" || bad "protocol 47 from admin: $g2 of 5"
[ "$g3" = 0 ] && ok "protocol 47 from other dropped (0 of 5)" || bad "protocol 47 from other: $g3 delivered"

echo "# stateful: replies pass in the other direction"
expect pass "server -> client tcp/9999 (default egress), reply inbound" probe_out tcp $S4 $A.3 9999
expect pass "server -> client udp/53 over IPv6, reply inbound" probe_out udp $S6 fd00:200::3 53

echo "# egress restricted (database egress 80/443, lb egress to group inst)"
apply "$WORK/egress" || { echo "commit failed"; exit 1; }
expect pass "egress tcp/80 to 0.0.0.0/0" probe_out tcp $S4 $A.3 80
expect pass "egress tcp/443 to ::/0" probe_out tcp $S6 fd00:200::3 443
expect drop "egress tcp/9999 (default egress gone)" probe_out tcp $S4 $A.3 9999
expect drop "egress udp/53 over IPv6" probe_out udp $S6 fd00:200::3 53
expect pass "lb egress tcp/8080 to group inst ($A.10)" probe_out tcp $S4 $A.10 8080
expect pass "lb egress tcp/8081 to group inst (::10)" probe_out tcp $S6 fd00:200::10 8081
expect drop "lb egress tcp/8080 to non-member $A.3" probe_out tcp $S4 $A.3 8080
expect pass "ssh from admin: reply leaves despite restricted egress" probe tcp $A.2 $S4 22
expect pass "ssh from admin over IPv6: reply leaves" probe tcp fd00:200::2 $S6 22

echo "# peer-group membership deltas (group inst)"
OLD="$A.10/32,fd00:200::10/128"
apply --members inst "$OLD" "$OLD,$A.0/29,fd00:200::3/128" "$WORK/egress" ||
	bad "member update refused"
expect pass "after adding $A.0/29: egress 8080 to $A.3" probe_out tcp $S4 $A.3 8080
expect pass "after adding ::3: egress 8080 to ::3" probe_out tcp $S6 fd00:200::3 8080
expect pass "old member $A.10 still reached" probe_out tcp $S4 $A.10 8080
expect drop "$A.9 (outside /29) still dropped" probe_out tcp $S4 $A.9 8080
apply --members inst "$OLD,$A.0/29,fd00:200::3/128" "$A.10/32" "$WORK/egress" ||
	bad "member update refused"
expect drop "after removing $A.0/29: egress 8080 to $A.3" probe_out tcp $S4 $A.3 8080
expect drop "after removing fd00:200::10: egress 8080 to ::10" probe_out tcp $S6 fd00:200::10 8080
expect pass "$A.10 kept" probe_out tcp $S4 $A.10 8080
# a single address goes to the group's hash set, wider blocks to its
# interval set: after the update only 10.200.0.10 is left, in the first
elems=$(srv nft list set inet sgd peer_inst_v4_hosts | tr -d '\n\t ' )
case "$elems" in
*"elements={10.200.0.10}"*) ok "set peer_inst_v4_hosts holds exactly 10.200.0.10" ;;
*) bad "set peer_inst_v4_hosts: $elems" ;;
esac
elems=$(srv nft list set inet sgd peer_inst_v4 | tr -d '\n\t ' )
case "$elems" in
*elements*) bad "set peer_inst_v4 still holds blocks: $elems" ;;
*"typeipv4_addrflagsinterval"*) ok "set peer_inst_v4 (wider blocks) is empty" ;;
*) bad "set peer_inst_v4: $elems" ;;
esac

echo "# counters"
cnt=$(apply --counters "$WORK/egress")
echo "$cnt" | grep -q "^rule database out 1 packets [1-9]" &&
	ok "counter of database egress rule 1 counted packets" || bad "counters: $cnt"
echo "$cnt" | grep -q "^drop out packets [1-9]" &&
	ok "final drop counter counted" || bad "drop counter: $cnt"
# a fresh commit resets nothing it should keep: the table is replaced
srv nft list table inet sgd > "$WORK/list.txt" 2>&1 &&
	grep -q 'comment "database out #1' "$WORK/list.txt" &&
	ok "nft list shows the rule comments" || bad "nft list: $(head -5 "$WORK/list.txt")"

lab_summary
