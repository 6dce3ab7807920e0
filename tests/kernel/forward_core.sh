#!/usr/bin/env bash
# forward_core.sh — forwarded traffic without a container engine: a bridge,
# a veth and the test's own DNAT table stand for Docker (forward_lib.sh).
# Real packets between namespaces prove that
#   - a published port (DNAT 8080 -> 80) is judged by the ingress rules on
#     the port the client used, and only from the allowed source; a rule
#     for the container's own port does not open the published one;
#   - a connection to the container's own address is judged on its port;
#   - the failsafe rules do not open the forward path;
#   - `egress: []` stops a container's new outbound connection;
#   - established connections (in and out) survive a reload that removes
#     the rule that admitted them;
#   - traffic routed between two outside networks is left alone with
#     `forward: containers` and judged by ingress and egress with `all`;
#   - `forward: off` restores the bypass and removes the chains, and
#     switching back adds them again; the test's own table is untouched.
set -u
. "$(dirname "$0")/forward_lib.sh"

fwd_setup
fwd_container
fwd_remote
serve "$K" 80
serve "$C" 9000
serve "$R" 7000
for p in "$K 80" "$C 9000" "$R 7000"; do
	wait_port $p || { bad "server $p did not start"; finish; }
done
nat_before=$(hx nft list table ip sgftest | md5sum)

check "without sgd: the published port answers" tcp_try "$C" 10.88.0.2 10.88.0.1 8080
check "without sgd: the container reaches the outside" tcp_try "$K" 172.31.0.2 10.88.0.2 9000

# group web allows ssh only; a failsafe rule names 8080
write_sgd containers 'failsafe:
  - {protocol: tcp, ports: 8080, from: [10.88.0.0/24]}
'
write_web 'ingress:' '  - {protocol: tcp, ports: 22, from: [0.0.0.0/0]}'
start_sgd || { bad "sgd starts"; finish; }
check "forward_in and forward_out are hooked at priority -200" \
	sh -c "ip netns exec $H nft list chain inet sgd forward_in | grep -q 'hook forward priority -200; policy accept' &&
	       ip netns exec $H nft list chain inet sgd forward_out | grep -q 'hook forward priority -200; policy accept'"
check "a published port no rule allows is dropped (the failsafe rule does not open it)" \
	tcp_blocked "$C" 10.88.0.2 10.88.0.1 8080
check "the container's own address and port, no rule: dropped" \
	tcp_blocked "$C" 10.88.0.2 172.31.0.2 80
check "the container still reaches the outside (default egress)" \
	tcp_try "$K" 172.31.0.2 10.88.0.2 9000

write_sgd containers
write_web 'ingress:' '  - {protocol: tcp, ports: 8080, from: [10.88.0.2/32]}'
check "reload: a rule for the published port 8080" reload
check "8080 from the allowed source reaches the container" tcp_try "$C" 10.88.0.2 10.88.0.1 8080
check "8080 from another source is dropped" tcp_blocked "$C" 10.88.0.3 10.88.0.1 8080
check "port 80 at the container's address is not 8080: dropped" \
	tcp_blocked "$C" 10.88.0.2 172.31.0.2 80
# stats: the forward path's drops, and the rule that admitted 8080
stat_of() {
	sgctl --json stats | python3 -c '
import json, sys
kind, fwd, direction, group = sys.argv[1:5]
n = 0
for c in json.load(sys.stdin)["counters"]:
    if c["kind"] == kind and str(c.get("forward")).lower() == fwd and \
       c["direction"] == direction and (group == "-" or c["group"] == group):
        n += c["packets"]
print(n)' "$@"
}
check "sgctl stats counts the forwarded drops (fwd-in)" test "$(stat_of drop true in -)" -gt 0
check "sgctl stats counts the forwarded connection on web's rule" \
	test "$(stat_of rule false in web)" -gt 0
check "sgctl stats counts forwarded replies (fwd-out stateful)" \
	test "$(stat_of stateful true out -)" -gt 0
check "sgctl show describes the forward path" \
	sh -c "ip netns exec $H $SGCTL -s $SOCK show | grep -q 'Forwarded traffic (forward: containers)'"
check "sgctl explain: the published port is reachable from 10.88.0.2" \
	sh -c "ip netns exec $H $SGCTL -s $SOCK explain in tcp 8080 10.88.0.2 --forwarded | grep -q '^ALLOWED by group web'"
check "sgctl explain: and not from 10.88.0.3" \
	sh -c "ip netns exec $H $SGCTL -s $SOCK explain in tcp 8080 10.88.0.3 | grep -q '^forwarded to a local container.*DROPPED'"

# no window: reloads that change the rules (and containers <-> all)
# while the client opens connections the rules allow from 10.88.0.2 and
# ones they never allow from 10.88.0.3.  A SYN the host drops would be
# retransmitted (after 1 s): the client's TcpExtTCPSynRetrans stays 0.
synretrans() {
	ip netns exec "$C" nstat -asz TcpExtTCPSynRetrans | awk '/TcpExtTCPSynRetrans/ {print $2}'
}
retrans0=$(synretrans)
rm -f "$TMP/flow.stop" "$TMP/flow.out"
ip netns exec "$C" python3 - "$TMP" <<'EOF' &
import os, socket, sys
tmp = sys.argv[1]
ok = bad = leak = 0
def conn(src, timeout):
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        s.connect(("10.88.0.1", 8080))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(5000):
    if os.path.exists(tmp + "/flow.stop"):
        break
    if conn("10.88.0.2", 3.0):
        ok += 1
    else:
        bad += 1
    if conn("10.88.0.3", 0.2):
        leak += 1
open(tmp + "/flow.out", "w").write("%d %d %d\n" % (ok, bad, leak))
EOF
FLOW_PID=$!
BG_PIDS="$BG_PIDS $FLOW_PID"
pass=0
for i in $(seq 30); do
	if [ $((i % 2)) = 0 ]; then
		write_sgd all
		write_web 'ingress:' '  - {protocol: tcp, ports: 8080, from: [10.88.0.2/32]}' \
			'  - {protocol: tcp, ports: 9999, from: [10.88.0.0/24]}' 'egress: []'
	else
		write_sgd containers
		write_web 'ingress:' '  - {protocol: tcp, ports: 8080, from: [10.88.0.2/32]}'
	fi
	reload && pass=$((pass + 1))
done
touch "$TMP/flow.stop"
timeout 20 tail --pid="$FLOW_PID" -f /dev/null
read -r f_ok f_bad f_leak <"$TMP/flow.out"
retrans=$(( $(synretrans) - retrans0 ))
echo "# 30 reloads: ${f_ok:-?} allowed connections, ${f_bad:-?} failed, ${f_leak:-?} denied ones through, ${retrans:-?} SYNs retransmitted"
check "30 reloads during the flow succeeded" test "$pass" = 30
check "every allowed connection during the reloads succeeded" test "${f_bad:-1}" = 0 -a "${f_ok:-0}" -gt 0
check "no SYN of the allowed flow was dropped (0 retransmitted)" test "${retrans:-1}" = 0
check "no denied connection got through during the reloads" test "${f_leak:-1}" = 0
write_sgd containers

write_web 'ingress:' '  - {protocol: tcp, ports: 80, from: [10.88.0.2/32]}'
check "reload: a rule for the container's port 80 instead" reload
check "the published 8080 is not opened by a rule for 80" tcp_blocked "$C" 10.88.0.2 10.88.0.1 8080
check "the container's own address and port 80 is" tcp_try "$C" 10.88.0.2 172.31.0.2 80

write_web 'ingress: []' 'egress: []'
check "reload: egress: []" reload
check "egress: [] stops the container's new outbound connection" \
	tcp_blocked "$K" 172.31.0.2 10.88.0.2 9000

# established connections survive a reload that drops their rule
write_web 'ingress:' '  - {protocol: tcp, ports: 8080, from: [10.88.0.2/32]}'
reload
check "a connection to the published port is open" hold_open "$C" 10.88.0.2 10.88.0.1 8080
check "it carries data" hold_ping 1
write_web 'ingress: []'
check "reload: no ingress rule" reload
check "the established connection still carries data after the reload" hold_ping 2
check "a new one is dropped" tcp_blocked "$C" 10.88.0.2 10.88.0.1 8080
write_web 'ingress: []'
reload
check "the container opens a connection to the outside" hold_open "$K" 172.31.0.2 10.88.0.2 9000
check "it carries data" hold_ping 1
write_web 'ingress: []' 'egress: []'
check "reload: egress: []" reload
check "the container's established connection still carries data" hold_ping 2
check "a new one is dropped" tcp_blocked "$K" 172.31.0.2 10.88.0.2 9000

# routed between two outside networks
write_web 'ingress: []' 'egress: []'
reload
check "containers: routed outside-to-outside traffic is left alone" \
	tcp_try "$C" 10.88.0.2 10.99.0.2 7000
write_sgd all
check "reload: forward: all" reload
check "all: routed traffic no ingress rule allows is dropped" \
	tcp_blocked "$C" 10.88.0.2 10.99.0.2 7000
write_web 'ingress:' '  - {protocol: tcp, ports: 7000, from: [10.88.0.2/32]}' 'egress: []'
reload
check "all: an ingress rule is not enough when no egress rule allows it" \
	tcp_blocked "$C" 10.88.0.2 10.99.0.2 7000
write_web 'ingress:' '  - {protocol: tcp, ports: 7000, from: [10.88.0.2/32]}'
reload
check "all: ingress and egress rules admit it" tcp_try "$C" 10.88.0.2 10.99.0.2 7000
check "all: but not from another source" tcp_blocked "$C" 10.88.0.3 10.99.0.2 7000

# forward: off restores the bypass
write_sgd off
write_web 'ingress: []' 'egress: []'
check "reload: forward: off" reload
check "off: the published port answers without a rule" tcp_try "$C" 10.88.0.2 10.88.0.1 8080
check "off: egress: [] does not stop the container" tcp_try "$K" 172.31.0.2 10.88.0.2 9000
check "off: the forward chains are gone" \
	sh -c "! ip netns exec $H nft list table inet sgd | grep -q 'chain forward_\|chain fwd\.'"
check "off: a connection to the published port is open" hold_open "$C" 10.88.0.2 10.88.0.1 8080
write_sgd containers
check "reload: forward: containers again (the chains are added)" reload
check "the connection opened before the chains existed still carries data" hold_ping 1
check "the forward chains are back" \
	sh -c "ip netns exec $H nft list table inet sgd | grep -q 'chain forward_in'"
check "the published port is dropped again" tcp_blocked "$C" 10.88.0.2 10.88.0.1 8080
check "the test's own nat table is untouched" \
	test "$(hx nft list table ip sgftest | md5sum)" = "$nat_before"
# an upgrade: sgd stops (its table stays, without forward chains) and a
# new one starts over that table with forward: containers
write_sgd off
reload
kill -TERM "$SGD_PID"; timeout 10 tail --pid="$SGD_PID" -f /dev/null; SGD_PID=
check "the table stays without forward chains after sgd stops" \
	sh -c "ip netns exec $H nft list table inet sgd | grep -q 'chain input' &&
	       ! ip netns exec $H nft list table inet sgd | grep -q 'chain forward_'"
write_sgd containers
check "sgd starts over the old table with forward: containers" start_sgd
check "the forward chains are added" \
	sh -c "ip netns exec $H nft list table inet sgd | grep -q 'chain forward_out'"
check "the published port is dropped" tcp_blocked "$C" 10.88.0.2 10.88.0.1 8080
check "the nat table's DNAT still works with the rule back" sh -c "
	printf '%s\n' 'name: web' 'ingress:' '  - {protocol: tcp, ports: 8080, from: [10.88.0.2/32]}' \
		>$CONF/groups.d/web.yaml && ip netns exec $H $SGCTL -s $SOCK reload >/dev/null"
check "8080 answers" tcp_try "$C" 10.88.0.2 10.88.0.1 8080
finish
