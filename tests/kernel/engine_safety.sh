#!/usr/bin/env bash
# engine_safety.sh — what the engine must never do, with real packets.
#   1. touch a table that is not ours (a foreign table with rules and a
#      set stays byte-identical over our commits);
#   2. change anything when the kernel refuses the batch (a rule tampered
#      in the plan: `nft list ruleset` byte-identical, the error names the
#      rule's file:line);
#   3. split a transaction: 100,000 rules commit in ONE generation (a
#      netlink listener in the namespace counts the events of each; the
#      commit replaces a small ruleset whose sets it keeps, so the small
#      one's elements leave in a second, small transaction after it:
#      engine_reuse.c);
#   4. open a window during reloads: a flood of denied datagrams during 300
#      reloads alternating between two configurations; the receiver counts
#      0 datagrams.
set -u
. "$(dirname "$0")/engine_lib.sh"

A=10.200.0
S4=$A.1
S6=fd00:200::1

# two small configurations that both deny udp/7777
mkconf() {
	local d=$1 port=$2
	mkdir -p "$d/groups.d"
	cat > "$d/groups.d/web.yaml" <<Y
name: web
ingress:
  - {protocol: tcp, ports: $port, from: [0.0.0.0/0, "::/0"], description: web}
  - {protocol: tcp, ports: 5432, from: [app]}
  - {protocol: udp, ports: 53, from: [$A.2/32]}
Y
	cat > "$d/groups.d/app.yaml" <<Y
name: app
members: [$A.4, "fd00:200::4", $A.64/26]
Y
	echo "attach: [web]" > "$d/sgd.yaml"
}

lab_setup
bg_ready "$SRV" serve 80,443 53
mkconf "$WORK/a" 80
mkconf "$WORK/b" 443

echo "# 1. a foreign table is never touched"
srv nft -f - <<'N'
table inet foreign {
	set allowed {
		type ipv4_addr
		flags interval
		elements = { 192.0.2.0/24 }
	}
	chain theirs {
		type filter hook input priority 10; policy accept;
		ip saddr @allowed tcp dport 1234 accept
		udp dport 4789 counter accept comment "someone else's"
	}
	chain aux {
		ip daddr 198.51.100.1 drop
	}
}
table ip other {
	chain c {
		type filter hook output priority -5; policy accept;
	}
}
N
[ -n "$(srv nft list table inet foreign)" ] || { echo "cannot create the foreign table"; exit 1; }
srv nft list table inet foreign > "$WORK/foreign.before"
srv nft list table ip other > "$WORK/other.before"
apply "$WORK/a" && apply "$WORK/b" && apply --repeat 5 --alternate "$WORK/a" "$WORK/b" ||
	bad "commits failed"
srv nft list table inet foreign > "$WORK/foreign.after"
srv nft list table ip other > "$WORK/other.after"
cmp -s "$WORK/foreign.before" "$WORK/foreign.after" && cmp -s "$WORK/other.before" "$WORK/other.after" &&
	ok "foreign tables identical after 7 commits" ||
	bad "foreign tables changed: $(diff "$WORK/foreign.before" "$WORK/foreign.after")"
# another tool committing concurrently: our dump+commit carries the
# generation id, the kernel refuses a stale one (-ERESTART) and the engine
# dumps and commits again; every reload must still succeed
ip netns exec "$SRV" bash -c 'for i in $(seq 300); do nft add table ip churn; nft delete table ip churn; done' &
CHURN=$!
PIDS+=($CHURN)
if apply --repeat 100 --alternate "$WORK/a" "$WORK/b" 2> "$WORK/churn.err"; then
	ok "100 reloads succeed while another process commits 600 times"
else
	bad "a reload failed under concurrent commits: $(head -3 "$WORK/churn.err")"
fi
wait $CHURN
srv nft list table inet foreign > "$WORK/foreign.after"
cmp -s "$WORK/foreign.before" "$WORK/foreign.after" && ok "foreign table still identical" ||
	bad "foreign table changed under concurrency"
# drift inside OUR table is repaired: a stray chain and set go away
srv nft add chain inet sgd stray
srv nft add set inet sgd strayset '{ type ipv4_addr; }'
apply "$WORK/a" || bad "commit over drift failed"
srv nft list table inet sgd | grep -q stray && bad "stray objects survived" ||
	ok "a chain and a set added by hand to our table are removed on commit"
# a base chain re-created by hand with another priority and policy accept
srv nft flush chain inet sgd input
srv nft delete chain inet sgd input
srv nft add chain inet sgd input '{ type filter hook input priority 5; policy accept; }'
apply "$WORK/a" || bad "commit over a changed base chain failed"
srv nft list chain inet sgd input | grep -q 'hook input priority filter; policy drop;' &&
	ok "a base chain changed by hand is restored (priority 0, policy drop)" ||
	bad "base chain not restored: $(srv nft list chain inet sgd input | head -4)"
expect drop "tcp/9999 dropped again after the repair" probe tcp $A.3 $S4 9999

echo "# 2. a refused batch changes nothing"
# -s: counters move with background IPv6 traffic; -a: handles prove that
# nothing was deleted and re-created
srv nft -a -s list ruleset > "$WORK/ruleset.before"
line=$(grep -n "ports: 5432" "$WORK/a/groups.d/web.yaml" | cut -d: -f1)
if apply --tamper web:in:2 "$WORK/b" 2> "$WORK/tamper.err"; then
	bad "a tampered rule was accepted"
else
	ok "the kernel refused the tampered batch"
fi
srv nft -a -s list ruleset > "$WORK/ruleset.after"
cmp -s "$WORK/ruleset.before" "$WORK/ruleset.after" &&
	ok "nft -a -s list ruleset byte-identical after the refusal ($(wc -l < "$WORK/ruleset.after") lines)" ||
	bad "ruleset changed: $(diff "$WORK/ruleset.before" "$WORK/ruleset.after" | head)"
grep -q "^groups.d/web.yaml:$line:[0-9]*: ingress rule 2: kernel refused: Invalid argument" "$WORK/tamper.err" &&
	ok "the error names the rule: $(head -1 "$WORK/tamper.err")" ||
	bad "error does not name groups.d/web.yaml:$line: $(cat "$WORK/tamper.err")"
expect pass "rules still in force after the refusal (tcp/80)" probe tcp $A.3 $S4 80

echo "# 3. 100,000 rules in one transaction"
big="$WORK/big"
mkdir -p "$big/groups.d"
# the loader caps a file at 4 MiB: four groups of 25,000 rules
python3 - "$big" <<'P'
import sys
for g in range(4):
    with open("%s/groups.d/big%d.yaml" % (sys.argv[1], g), "w") as f:
        f.write("name: big%d\ningress:\n" % g)
        for i in range(25000):
            n = g * 25000 + i
            f.write("  - {protocol: tcp, ports: %d, from: [10.%d.%d.%d]}\n"
                    % (1024 + n % 60000, 64 + n // 65536, (n // 256) % 256, n % 256))
P
echo "attach: [big0, big1, big2, big3]" > "$big/sgd.yaml"
# nft monitor (line-buffered, or its lines die in stdio's buffer when it is
# killed) and our own listener with a buffer big enough for 100k events
ip netns exec "$SRV" stdbuf -oL nft monitor > "$WORK/monitor.txt" 2>&1 &
MON=$!
PIDS+=($MON)
bg_ready "$SRV" nlmon "$WORK/nlmon.txt" 5
sleep 0.5
t0=$(date +%s.%N)
apply --time "$big" 2> "$WORK/big.err" || bad "100k commit failed: $(cat "$WORK/big.err")"
t1=$(date +%s.%N)
commit_ms=$(grep -o '[0-9.]* ms' "$WORK/big.err" | head -1)
timeout 120 bash -c "until [ -s '$WORK/nlmon.txt' ]; do sleep 0.5; done"
kill $MON 2>/dev/null
nrules=$(srv nft list table inet sgd | grep -o 'comment "big[0-3] in #[0-9]*"' | sort -u | wc -l)
[ "$nrules" = 100000 ] && ok "100000 rules listed (100000 distinct set-element comments naming their rule)" || bad "the table lists $nrules of the 100000 rules"
read -r _ events _ gens _ lost _ biggest < "$WORK/nlmon.txt"
# the 100,000 elements (and every rule) in one generation; besides it at
# most the interval additions before and the deletions after, each small
[ "$biggest" -ge 100000 ] && [ "$gens" -le 3 ] && [ $((events - biggest)) -lt 100 ] && [ "$lost" = 0 ] &&
	ok "the 100k commit is one generation of $biggest events ($gens generations, $events nf_tables events in all, none lost)" ||
	bad "listener saw $gens generations, the largest of $biggest events, $events events, $lost overruns"
ngen=$(grep -c '^# new generation' "$WORK/monitor.txt")
nlines=$(grep -c '^add rule' "$WORK/monitor.txt")
[ "$ngen" -le "$gens" ] && ok "nft monitor saw no more generations than the listener ($ngen '# new generation' lines, $nlines rule events printed)" ||
	bad "nft monitor saw $ngen generations"
[ "$ngen" = "$gens" ] || echo "note: nft monitor's 16 MiB buffer overflowed ($nlines of 100008 events printed); the listener above is the exact count"
echo "FIGURE: 100k-rule commit: engine_apply $commit_ms; tool wall time $(python3 -c "print(round($t1 - $t0, 2))") s (load + compile + commit)"
t0=$(date +%s%N)
apply "$WORK/a" || bad "replacing the 100k ruleset failed"
t1=$(date +%s%N)
echo "FIGURE: replacing the 100k ruleset by a small one: $(( (t1 - t0) / 1000000 )) ms (tool wall time)"

echo "# 4. no window during reloads"
# The floods run until the reloads are done (the stop file); 3600 s is
# only a hang guard.
FSTOP=$WORK/flood.stop
bg_ready "$SRV" udpcount 7777 "$WORK/recv.txt" 3600 "$WORK/recv.stop"
RECVP=${PIDS[-1]}
# two floods of denied datagrams, IPv4 and IPv6, from a source no rule allows
cl python3 "$WORK/pk.py" flood $A.3 $S4 7777 3600 "$WORK/sent4.txt" "$FSTOP" &
PIDS+=($!); FL4=$!
cl python3 "$WORK/pk.py" flood fd00:200::3 $S6 7777 3600 "$WORK/sent6.txt" "$FSTOP" &
PIDS+=($!); FL6=$!
sleep 0.5
t0=$(date +%s%N)
# spread the reloads over most of the flood: ~15 ms apart
apply --repeat 300 --pause 15 --alternate "$WORK/b" "$WORK/a" || bad "a reload failed"
t1=$(date +%s%N)
reload_ms=$(( (t1 - t0) / 1000000 ))
flood_alive=0
kill -0 $FL4 2>/dev/null && kill -0 $FL6 2>/dev/null && flood_alive=1
# The flood goes on until the final ruleset's drop rule has counted some
# of it (the flood reached the host), then stops: 600 polls, a guard.
for i in $(seq 600); do
	d=$(apply --counters "$WORK/a" | awk '/^drop in/ {print $4}')
	[ "${d:-0}" -gt 0 ] && break
	sleep 0.1
done
touch "$FSTOP"
for p in $FL4 $FL6; do timeout 600 tail --pid=$p -f /dev/null; done
sleep 0.5; touch "$WORK/recv.stop"; timeout 600 tail --pid=$RECVP -f /dev/null
sent=$(( $(cat "$WORK/sent4.txt") + $(cat "$WORK/sent6.txt") ))
recv=$(cat "$WORK/recv.txt")
dropped=$(apply --counters "$WORK/a" | awk '/^drop in/ {print $4}')
echo "FIGURE: 300 reloads in $reload_ms ms during the flood: $sent datagrams sent, $recv received, final drop rule counted $dropped since the last reload"
[ "$flood_alive" = 1 ] && ok "the 300 reloads ran inside the flood (both floods still sending at the last reload)" ||
	bad "a flood had stopped before the last reload"
[ "$sent" -gt 10000 ] && ok "the flood sent $sent datagrams" || bad "flood too small: $sent"
[ "${dropped:-0}" -gt 0 ] && ok "the flood reached the host (dropped by the final rule)" ||
	bad "drop counter did not move: the flood did not reach the host"
[ "$recv" = 0 ] && ok "0 denied datagrams got through 300 reloads" || bad "$recv denied datagrams got through"
# the last of the 300 reloads committed configuration b (tcp/443)
expect pass "allowed traffic passes after the reloads (tcp/443)" probe tcp $A.3 $S4 443
expect drop "tcp/80 (only in configuration a) is dropped" probe tcp $A.3 $S4 80

lab_summary
