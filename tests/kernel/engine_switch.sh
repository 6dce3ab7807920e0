#!/usr/bin/env bash
# engine_switch.sh — a flow that both configurations allow is never
# dropped while the engine switches between them.
#
# A client sends a numbered UDP flow (20,000 datagrams a second) to
# udp/6000 while sgd-apply commits configuration A, then B, then A ...
# (3,000 commits per case, 1 ms apart).  A probe table of the test's own
# counts udp/6000 just before sgd's input chain (priority -10) and just
# after it (+10): every datagram counted before must be counted after.
#
# Why this needs a test of its own: a packet reads the ruleset's
# generation once, when it enters a base chain, but each set lookup it
# makes uses the generation current at that moment.  A packet that enters
# just before a commit can therefore run the OLD rules against the NEW
# set contents (commit.c).  Each case is one way that went wrong:
#   stable   the flow stays in the same set; every commit used to delete
#            and re-create the regular chains, and the verdict map's new
#            element jumped into a new chain that has no rules in the old
#            generation (measured before the fix: 6 drops in 3,000
#            reloads at 4,000 datagrams/s);
#   replaced the flow moves from an exact-match set, which the commit
#            replaces (most of its elements change), to a range set: a
#            flushed set is empty for the old rules (11 drops in 4,000
#            commits);
#   kept     the flow moves from an exact-match set that is kept (one
#            element of four leaves) to a range set: the element's
#            deletion must wait for the rules to switch (18 drops in
#            4,000 commits when it does not), and for every packet still
#            running the old rules to leave (an RCU grace period,
#            commit.c: 1 drop in 3,000 commits under one busy loop per
#            CPU before it; 0 in 6 x 3,000 after, with a load average
#            near 30);
#   peers    the flow is allowed through a peer group (its address in
#            the group's hash set of hosts, beside an interval set of
#            wider blocks), sets the commit rebuilds every time while
#            other rules change;
#   restart  as "kept", but every commit is made by a new process (as
#            when sgd restarts): its first commit reads the sets back
#            from the kernel (engine_adopt.c) instead of replacing the
#            table, which re-created the range sets (measured: 404 drops
#            in 1,500 restarts with an unchanged configuration).
# Last, a commit of the same configuration by a new process must keep
# every element (its counter survives): engine_adopt.c decodes each kind
# of set it reads back.
# Needs root; everything runs in the test's own namespaces.
set -u
. "$(dirname "$0")/engine_lib.sh"
LAB_ID="sgW$$"
SRV="$LAB_ID-srv"
CL="$LAB_ID-cl"

COMMITS=${COMMITS:-3000}
RESTARTS=${RESTARTS:-300}	# case "restart": processes, one commit each
CASES=${CASES:-stable replaced kept peers restart}
RATE=${RATE:-20000}
A=10.200.0

lab_setup

# mkconf DIR RULE...: a configuration with one attached group "srv".
mkconf() {
	local d=$WORK/$1 r
	shift
	mkdir -p "$d/groups.d"
	printf 'table: sgd\nattach: [srv]\n' > "$d/sgd.yaml"
	{
		printf 'name: srv\ningress:\n'
		for r in "$@"; do printf '  - %s\n' "$r"; done
	} > "$d/groups.d/srv.yaml"
}
FLOW_EXACT="{protocol: udp, ports: 6000, from: [$A.2], description: the flow}"
FLOW_RANGE="{protocol: udp, ports: 6000, from: [$A.0/30], description: the flow}"
mkconf stable-a "$FLOW_EXACT" "{protocol: tcp, ports: 8080, from: [192.0.2.0/24]}"
mkconf stable-b "$FLOW_EXACT" "{protocol: tcp, ports: 4000-5001, from: [$A.2]}" \
	"{protocol: udp, ports: 9000, from: [198.51.100.7]}"
mkconf replaced-a "{protocol: tcp, ports: 5000, from: [$A.2]}" "$FLOW_EXACT" \
	"{protocol: tcp, ports: 8080, from: [192.0.2.0/24]}"
mkconf replaced-b "$FLOW_RANGE" "{protocol: tcp, ports: 4000-5001, from: [$A.2]}" \
	"{protocol: udp, ports: 9000, from: [198.51.100.7]}"
OTHERS=("{protocol: udp, ports: 9001, from: [198.51.100.1]}"
	"{protocol: udp, ports: 9002, from: [198.51.100.2]}"
	"{protocol: udp, ports: 9003, from: [198.51.100.3]}")
mkconf kept-a "$FLOW_EXACT" "${OTHERS[@]}"
mkconf kept-b "$FLOW_RANGE" "${OTHERS[@]}"
mkconf restart-a "$FLOW_EXACT" "${OTHERS[@]}"
mkconf restart-b "$FLOW_RANGE" "${OTHERS[@]}"
FLOW_PEER="{protocol: udp, ports: 6000, from: [clients], description: the flow}"
mkconf peers-a "$FLOW_PEER" "{protocol: tcp, ports: 8080, from: [192.0.2.0/24]}"
mkconf peers-b "$FLOW_PEER" "{protocol: tcp, ports: 4000-5001, from: [$A.2]}"
for d in peers-a peers-b; do
	printf 'name: clients\nmembers: [%s, %s, %s]\n' $A.2 $A.9 $A.64/28 \
		> "$WORK/$d/groups.d/clients.yaml"
done

srv nft -f - <<'NFT' || { bad "cannot create the probe table"; lab_summary; exit 1; }
table inet sgW_probe {
	counter pre {}
	counter post {}
	chain pre {
		type filter hook input priority -10; policy accept;
		udp dport 6000 counter name pre
	}
	chain post {
		type filter hook input priority 10; policy accept;
		udp dport 6000 counter name post
	}
}
NFT
count() { srv nft list counter inet sgW_probe "$1" | awk '/packets/ { print $2 }'; }

cat > "$WORK/flow.py" <<'PY'
import socket, sys, time
# flow.py send DST RATE STOPFILE MAXSECS | sink PORT
if sys.argv[1] == "sink":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sys.argv[2])))
    while True:
        s.recv(64)
dst, rate, stop, maxs = sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[6], 0))
import os
t0 = time.monotonic(); n = 0; checked = 0.0
while True:
    now = time.monotonic() - t0
    # the stop file is looked at every 50 ms of the clock, not every N
    # datagrams: a sender that fell behind under load catches up in
    # bursts, and a count-based check could miss the file until maxs
    if now > maxs:
        break
    if now - checked >= 0.05:
        checked = now
        if os.path.exists(stop):
            break
    # at most 256 datagrams between two looks at the clock
    want = min(int(now * rate), n + 256)
    while n < want:
        n += 1
        s.sendto(b"%d" % n, (dst, 6000))
    if n >= int(now * rate):
        time.sleep(0.0002)
print(n)
PY
ip netns exec "$SRV" python3 "$WORK/flow.py" sink 6000 & PIDS+=($!)

for case in $CASES; do
	n=$COMMITS; [ "$case" = restart ] && n=$RESTARTS
	echo "== $case: $n commits alternating $case-b / $case-a under a $RATE/s flow"
	[ $((n % 2)) = 0 ] || { bad "COMMITS and RESTARTS must be even"; break; }
	ta=$(date +%s%N)
	apply "$WORK/$case-a" || { bad "$case: configuration A not committed"; continue; }
	# the hang guard, from this machine's speed now: 20 times what n
	# commits take at the pace of this one (a process and a commit), and
	# at least 180 s; the flow runs until the commits end, or that long
	guard=$(( ($(date +%s%N) - ta) * n * 20 / 1000000000 ))
	[ "$guard" -ge 180 ] || guard=180
	pre0=$(count pre) post0=$(count post)
	rm -f "$WORK/stop" "$WORK/apply.err"
	ip netns exec "$CL" python3 "$WORK/flow.py" send $A.1 "$RATE" "$WORK/stop" "$guard" $A.2 > "$WORK/sent" & SP=$!
	PIDS+=($SP)
	sleep 0.3
	t0=$(date +%s.%N)
	if [ "$case" = restart ]; then
		# B, A, B ... A, each by a process of its own
		rc=0
		for i in $(seq "$RESTARTS"); do
			c=a; [ $((i % 2)) = 1 ] && c=b
			timeout "$guard" ip netns exec "$SRV" "$APPLY" "$WORK/$case-$c" \
				2>> "$WORK/apply.err" || { rc=$?; break; }
		done
	else
		# the first commit of a process reads the sets back (it
		# commits A again, the one in the kernel), the others are
		# deltas from the process's own last commit
		timeout "$guard" ip netns exec "$SRV" "$APPLY" --alternate "$WORK/$case-b" \
			--repeat $((COMMITS + 1)) --pause 1 "$WORK/$case-a" 2> "$WORK/apply.err"
		rc=$?
	fi
	t1=$(date +%s.%N)
	sleep 0.3
	touch "$WORK/stop"
	timeout 600 tail --pid=$SP -f /dev/null
	kill -0 $SP 2>/dev/null && bad "$case: the flow did not stop"
	# under load the last datagrams can still be queued on the veth: wait
	# until both counters stand still (bounded), else a datagram counted
	# by "post" but read after "pre" would hide a drop
	last=
	for i in $(seq 50); do
		sleep 0.2
		cur="$(count pre) $(count post)"
		[ "$cur" = "$last" ] && break
		last=$cur
	done
	pre=$(( ${cur% *} - pre0 )) post=$(( ${cur#* } - post0 ))
	echo "   commits took $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s; the flow: $(cat "$WORK/sent") sent," \
		"$pre before sgd's chain, $post after it"
	[ "$rc" = 0 ] && ok "$case: every commit succeeded" ||
		bad "$case: sgd-apply failed (rc $rc): $(head -3 "$WORK/apply.err")"
	[ "$pre" -ge $((RATE / 2)) ] && ok "$case: the flow ran ($pre datagrams)" ||
		bad "$case: the flow did not run ($pre datagrams)"
	[ "$pre" = "$post" ] && ok "$case: sgd's chain dropped none of the allowed flow" ||
		bad "$case: sgd's chain dropped $((pre - post)) of $pre allowed datagrams"
	# COMMITS is even: the commits run A, B, A ... A: the table must hold exactly A's
	# allowance for the flow, B's range element deleted (for "kept", by
	# the deletion transaction that follows the switch)
	srv nft list table inet sgd > "$WORK/final.nft"
	if [ "$case" = peers ]; then
		final_ok() { grep -q '192.0.2.0/24 . 8080' "$WORK/final.nft" && ! grep -q '4000-5001' "$WORK/final.nft"; }
	else
		final_ok() { grep -q "$A.2 . 6000 " "$WORK/final.nft" && ! grep -q "$A.0/30 . 6000" "$WORK/final.nft"; }
	fi
	if final_ok; then
		ok "$case: the table holds configuration A at the end"
	else
		bad "$case: the table does not hold configuration A at the end"
	fi
done
echo "== a new process keeps every set element the kernel holds (counters survive)"
# exact, range, peer-group port (rbtree with an end) and egress-all
# (rbtree without one) elements, each counted once, then the same
# configuration committed by a new process: every counter must survive
mkconf keep "{protocol: udp, ports: 6000, from: [$A.2]}" \
	"{protocol: udp, ports: 6001, from: [$A.0/30]}" \
	"{protocol: udp, ports: 6002, from: [clients]}"
printf 'name: clients\nmembers: [%s]\n' $A.2 > "$WORK/keep/groups.d/clients.yaml"
apply "$WORK/keep" || bad "keep: configuration not committed"
for port in 6000 6001 6002; do
	ip netns exec "$CL" python3 -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$A.2', 0)); s.sendto(b'x', ('$A.1', $port))"
done
srv ping -c1 -W1 $A.2 >/dev/null 2>&1
sleep 0.2
# element_packets SET: the packet counter of SET's one element
element_packets() {
	srv nft list set inet sgd "$1" | tr '\n' ' ' |
		sed -n 's/.*elements = {[^}]*counter packets \([0-9]*\).*/\1/p'
}
declare -A before
for set in in4.udp.exact in4.udp.range in.udp.pg.clients out4.all; do
	before[$set]=$(element_packets $set)
done
apply "$WORK/keep" || bad "keep: the second commit failed"
for set in in4.udp.exact in4.udp.range in.udp.pg.clients out4.all; do
	after=$(element_packets $set)
	if [ -n "${before[$set]}" ] && [ "${before[$set]}" -ge 1 ] && [ "$after" = "${before[$set]}" ]; then
		ok "keep: $set kept its element (counter $after)"
	else
		bad "keep: $set counter ${before[$set]:-none} before, ${after:-none} after the new process's commit"
	fi
done
lab_summary
