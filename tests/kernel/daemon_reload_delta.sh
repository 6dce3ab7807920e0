#!/usr/bin/env bash
# daemon_reload_delta.sh — a reload that edits one rule sends only the
# elements that changed (engine/engine_reuse.c), with real connections:
#  * the edited rule's new port passes and its old port is dropped;
#  * the untouched rules still pass, and the counter of an untouched
#    element keeps its count across the reload (its set was kept and the
#    element never left the kernel: a flush and refill would zero it);
#  * `sgctl stats` still attributes that count to its rule;
#  * the same holds for a concat interval (range) set and a hash set.
TAG=rd
. "$(dirname "$0")/daemon_lib.sh"

ns_setup veth
# 60 s: a hang guard only (the link answers within milliseconds)
pace_wait 60 ip netns exec "$CNS" ping -c1 -W1 10.77.0.1 ||
	{ bad "no connectivity between the namespaces"; finish; }
mkdir -p "$CONF/groups.d"
echo "attach: [db]" >"$CONF/sgd.yaml"
cat >"$CONF/groups.d/db.yaml" <<'EOF'
name: db
ingress:
  - {protocol: tcp, ports: 5432, from: [10.77.0.2/32], description: edited}
  - {protocol: tcp, ports: 7000, from: [10.77.0.2/32], description: exact kept}
  - {protocol: tcp, ports: 6000-6010, from: [10.77.0.0/24], description: range kept}
EOF
for p in 5432 5433 7000 6005; do listen_tcp $p; done
start_sgd || { bad "sgd did not start"; finish; }

# elem_packets SET KEY: the packet count of one element of one of our sets
elem_packets() {
	nsx nft list set inet sgd "$1" | tr -d '\n\t' | python3 -c '
import re, sys
text, key = sys.stdin.read(), sys.argv[1]
m = re.search(re.escape(key) + r" counter packets (\d+)", text)
print(m.group(1) if m else "none")' "$2"
}

check "before: tcp/5432 passes" tcp_ok 5432
check "before: tcp/5433 is dropped" tcp_blocked 5433
for i in 1 2 3; do tcp_ok 7000; tcp_ok 6005; done
exact_before=$(elem_packets in4.tcp.exact "10.77.0.2 . 7000")
range_before=$(elem_packets in4.tcp.range "10.77.0.0/24 . 6000-6010")
check "the exact element counted the connections ($exact_before packets)" \
	[ "$exact_before" != none -a "${exact_before:-0}" -ge 3 ]
check "the range element counted the connections ($range_before packets)" \
	[ "$range_before" != none -a "${range_before:-0}" -ge 3 ]

# the edit: rule 1's port 5432 -> 5433, and one range rule more
cat >"$CONF/groups.d/db.yaml" <<'EOF'
name: db
ingress:
  - {protocol: tcp, ports: 5433, from: [10.77.0.2/32], description: edited}
  - {protocol: tcp, ports: 7000, from: [10.77.0.2/32], description: exact kept}
  - {protocol: tcp, ports: 6000-6010, from: [10.77.0.0/24], description: range kept}
  - {protocol: tcp, ports: 6100-6110, from: [10.77.0.0/25], description: range added}
EOF
check "reload of the one-rule edit exits 0" sgctl reload
check "after: tcp/5433 (the edited rule's new port) passes" tcp_ok 5433
check "after: tcp/5432 (its old port) is dropped" tcp_blocked 5432
check "after: tcp/7000 (untouched exact rule) passes" tcp_ok 7000
check "after: tcp/6005 (untouched range rule) passes" tcp_ok 6005
exact_after=$(elem_packets in4.tcp.exact "10.77.0.2 . 7000")
range_after=$(elem_packets in4.tcp.range "10.77.0.0/24 . 6000-6010")
check "the exact element kept its counter ($exact_before -> $exact_after: not refilled)" \
	[ "$exact_after" != none -a "${exact_after:-0}" -gt "${exact_before:-0}" ]
check "the range element kept its counter ($range_before -> $range_after: not refilled)" \
	[ "$range_after" != none -a "${range_after:-0}" -gt "${range_before:-0}" ]
check "the added range element is in the kernel" \
	[ "$(elem_packets in4.tcp.range "10.77.0.0/25 . 6100-6110")" = 0 ]
check "the old element of the edited rule is gone" \
	[ "$(elem_packets in4.tcp.exact "10.77.0.2 . 5432")" = none ]
check "sgctl stats attributes the kept count to rule 2" bash -c "
	ip netns exec $NS $SGCTL -s $SOCK --json stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = [r for r in d[\"counters\"] if r.get(\"kind\") == \"rule\" and r.get(\"group\") == \"db\" and r.get(\"direction\") == \"in\" and r.get(\"rule\") == 2]
assert rows and rows[0][\"packets\"] >= $exact_after, rows'"
finish
