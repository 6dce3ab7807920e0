#!/usr/bin/env bash
# daemon_prefix_list.sh — a managed prefix list (prefix_lists.d/) with real
# packets:
#  * a rule that names the list admits an entry's address and not another
#    address of the same network;
#  * show and explain name the list and the entry;
#  * editing the list and reloading moves the admission to the new entry,
#    as an element delta: the entry that stays keeps its packet counter
#    (its set was not flushed and refilled);
#  * a list that stops loading (a bad entry) keeps the rules in force.
TAG=pl
. "$(dirname "$0")/daemon_lib.sh"

ns_setup veth
# a second client address, in no entry of the list
ip -n "$CNS" addr add 10.77.0.3/24 dev sgC1p$$
timeout 10 bash -c "until ip netns exec $CNS ping -c1 -W1 -I 10.77.0.3 10.77.0.1 >/dev/null 2>&1; do sleep 0.2; done" ||
	{ bad "no connectivity between the namespaces"; finish; }

# The machine is shared and may be loaded: the hang guard of each probe
# is derived from how long python3 takes to start here (ten times that,
# plus the probe's own 2 s connect timeout).
t0=$(date +%s%N)
ip netns exec "$CNS" python3 -c 'import socket'
t1=$(date +%s%N)
GUARD=$(( (t1 - t0) * 10 / 1000000000 + 3 ))
echo "# python3 starts in $(( (t1 - t0) / 1000000 )) ms: probe guard ${GUARD} s"

# tcp_from SRC PORT: a TCP connection from the client's address SRC
tcp_from() {
	ip netns exec "$CNS" timeout "$GUARD" python3 - "$1" "$2" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
s.settimeout(2.0)
s.bind((sys.argv[1], 0))
try:
    s.connect(("10.77.0.1", int(sys.argv[2])))
except OSError:
    sys.exit(1)
EOF
}
tcp_from_blocked() { ! tcp_from "$@"; }

mkdir -p "$CONF/groups.d" "$CONF/prefix_lists.d"
echo "attach: [db]" >"$CONF/sgd.yaml"
cat >"$CONF/groups.d/db.yaml" <<'EOF'
name: db
ingress:
  - {protocol: tcp, ports: 5432, from: [office], description: from the office}
  - {protocol: tcp, ports: 7000, from: [10.77.0.0/24], description: all clients}
EOF
cat >"$CONF/prefix_lists.d/pl-0a1b2c3d.yaml" <<'EOF'
name: office
id: pl-0a1b2c3d
entries:
  - {cidr: 10.77.0.2/32, description: client A}
  - {cidr: "2001:db8:77::/48", description: v6 office}
EOF
listen_tcp 5432
listen_tcp 7000
start_sgd || { bad "sgd did not start"; finish; }

check "an entry's address (10.77.0.2) reaches tcp/5432" tcp_from 10.77.0.2 5432
check "another address (10.77.0.3) is dropped on tcp/5432" tcp_from_blocked 10.77.0.3 5432
check "10.77.0.3 still reaches tcp/7000 (the rule's own CIDR)" tcp_from 10.77.0.3 7000
check "show names the list and the entry" bash -c \
	"ip netns exec $NS $SGCTL -s $SOCK show | grep -F '10.77.0.2/32 (prefix list office: client A)'"
check "explain names the list and the entry that matched" bash -c \
	"ip netns exec $NS $SGCTL -s $SOCK explain in tcp 5432 10.77.0.2 |
	 grep -F 'ALLOWED by group db, ingress rule 1' | grep -F '(prefix list office: client A)'"
check "explain: 10.77.0.3 on tcp/5432 is dropped" bash -c \
	"ip netns exec $NS $SGCTL -s $SOCK explain in tcp 5432 10.77.0.3 | grep -F DROPPED"
check "stats count the list's rule" bash -c "
	ip netns exec $NS $SGCTL -s $SOCK --json stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = [r for r in d[\"counters\"] if r.get(\"kind\") == \"rule\" and r.get(\"group\") == \"db\" and r.get(\"rule\") == 1]
assert rows and rows[0][\"packets\"] >= 1, rows'"

# elem_packets SET KEY: the packet count of one element of one of our sets
elem_packets() {
	nsx nft list set inet sgd "$1" | tr -d '\n\t' | python3 -c '
import re, sys
text, key = sys.stdin.read(), sys.argv[1]
m = re.search(re.escape(key) + r" counter packets (\d+)", text)
print(m.group(1) if m else "none")' "$2"
}
write_list() {
	{ echo "name: office"; echo "id: pl-0a1b2c3d"; echo "entries:"
	  for e in "$@"; do echo "  - $e"; done; } >"$CONF/prefix_lists.d/pl-0a1b2c3d.yaml"
}

# edit 1: client B (10.77.0.3) joins the list
a_before=$(elem_packets in4.tcp.exact "10.77.0.2 . 5432")
check "client A's entry counted its connection ($a_before packets)" \
	[ "$a_before" != none -a "${a_before:-0}" -ge 1 ]
write_list "{cidr: 10.77.0.2/32, description: client A}" \
	"{cidr: 10.77.0.3/32, description: client B}" "{cidr: \"2001:db8:77::/48\"}"
check "reload after adding an entry exits 0" sgctl reload
check "the new entry's address (10.77.0.3) reaches tcp/5432" tcp_from 10.77.0.3 5432
check "the kept entry's address (10.77.0.2) still does" tcp_from 10.77.0.2 5432
a_after=$(elem_packets in4.tcp.exact "10.77.0.2 . 5432")
check "the kept entry kept its counter ($a_before -> $a_after: an element delta, not a refill)" \
	[ "$a_after" != none -a "${a_after:-0}" -gt "${a_before:-0}" ]

# edit 2: client A leaves the list
b_before=$(elem_packets in4.tcp.exact "10.77.0.3 . 5432")
write_list "{cidr: 10.77.0.3/32, description: client B}" "{cidr: \"2001:db8:77::/48\"}"
check "reload after removing an entry exits 0" sgctl reload
check "the removed entry's address (10.77.0.2) is dropped" tcp_from_blocked 10.77.0.2 5432
check "the remaining entry's address (10.77.0.3) passes" tcp_from 10.77.0.3 5432
check "tcp/7000 still passes" tcp_from 10.77.0.2 7000
b_after=$(elem_packets in4.tcp.exact "10.77.0.3 . 5432")
check "the remaining entry kept its counter ($b_before -> $b_after)" \
	[ "$b_after" != none -a "${b_after:-0}" -gt "${b_before:-0}" ]
check "the removed entry's element is gone" \
	[ "$(elem_packets in4.tcp.exact "10.77.0.2 . 5432")" = none ]
check "explain names the entry" bash -c \
	"ip netns exec $NS $SGCTL -s $SOCK explain in tcp 5432 10.77.0.3 | grep -F '(prefix list office: client B)'"

# a bad entry: the reload is refused with file:line:column, rules stay
cat >"$CONF/prefix_lists.d/pl-0a1b2c3d.yaml" <<'EOF'
name: office
id: pl-0a1b2c3d
entries:
  - {cidr: 10.77.0.3/24, description: host bits}
EOF
out=$(sgctl reload 2>&1)
check "a bad list makes the reload fail" [ $? -ne 0 ]
check "the error names the file, line and column" \
	grep -qF 'prefix_lists.d/pl-0a1b2c3d.yaml:4:12: cidr: 10.77.0.3/24 has host bits set' <<<"$out"
check "the rules in force still admit 10.77.0.3" tcp_from 10.77.0.3 5432
check "and still drop 10.77.0.2" tcp_from_blocked 10.77.0.2 5432
finish
