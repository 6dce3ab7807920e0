#!/usr/bin/env bash
# drift_pause.sh — sgd stops listening to nftables events while it commits
# a reload (drift.c, drift_pause/drift_resume), and still notices anyone
# else who committed in that window:
#  * reloads with nobody else committing: no resync, nothing detected
#    (every generation in the window was ours);
#  * reloads while another process commits in a loop (its own table):
#    the generation moved by more than our commits, so sgd logs it and
#    resynchronises (repair re-applies the running configuration), and the
#    table still holds the configuration sgd committed last.
TAG=dp
. "$(dirname "$0")/daemon_lib.sh"

ns_setup
mkdir -p "$CONF/groups.d"
echo "attach: [big]" >"$CONF/sgd.yaml"
# 20,000 rules: a commit long enough (tens of ms) for the other process
# to land in it
python3 - "$CONF/groups.d/big.yaml" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("name: big\ningress:\n")
    for i in range(20000):
        f.write("  - {protocol: tcp, ports: %d, from: [10.%d.%d.%d/32]}\n"
                % (1 + i % 60000, 1 + i // 65536, i // 256 % 256, i % 256))
EOF
start_sgd || { bad "sgd did not start"; finish; }

status_field() {
	sgctl --json status | python3 -c 'import json, sys; print(json.load(sys.stdin)["drift"][sys.argv[1]])' "$1"
}

for i in 1 2 3; do
	sgctl reload >/dev/null || bad "reload $i failed"
done
sleep 0.3	# a negative check: a resync would follow within its 50 ms debounce
check "quiet reloads: no resync" [ "$(status_field resyncs)" = 0 ]
check "quiet reloads: nothing detected" [ "$(status_field detected)" = 0 ]
check "quiet reloads: no 'changed nftables while sgd was committing' line" \
	bash -c "! grep -q 'while sgd was committing' '$LOG'"

# another process commits to its own table as fast as it can, until the
# reloads are done (bounded by count: 100000 commits)
touch "$TMP/loop"
(
	i=0
	while [ -e "$TMP/loop" ] && [ $i -lt 50000 ]; do
		nsx nft add table inet other 2>/dev/null
		nsx nft delete table inet other 2>/dev/null
		i=$((i + 1))
	done
) &
LOOP=$!
EXTRA_PIDS="$EXTRA_PIDS $LOOP"
# the foreign commits have begun (60 s: a hang guard only)
pace_wait 60 nsx nft list table inet other
# Whether one of the other process's commits lands inside one of ours is
# a matter of timing: reload until one has (at most 25 reloads)
n=0
while [ $n -lt 25 ]; do
	n=$((n + 1))
	sgctl reload >/dev/null || bad "reload $n under foreign commits failed"
	sleep 0.1	# the resync is debounced (50 ms)
	[ "$(status_field resyncs)" != 0 ] && break
done
echo "# $n reloads under foreign commits"
rm -f "$TMP/loop"
timeout 600 tail --pid=$LOOP -f /dev/null
wait "$LOOP"
# the resync of the last reload may still be on its way (60 s: a hang
# guard only), and its repair must be done before the table is looked at
check "foreign commits during our commits: a resync" \
	pace_wait 60 eval '[ "$(status_field resyncs)" -ge 1 ]'
check "it is logged as such" grep -q 'another process changed nftables while sgd was committing' "$LOG"
check "the resync re-applied the ruleset" \
	pace_wait 60 grep -q 'drift: resync: the intended ruleset' "$LOG"
check "our table still holds the 20000 rules (repair re-applied, nothing lost)" \
	bash -c "[ \$(ip netns exec $NS nft list table inet sgd | grep -o 'comment \"big in #[0-9]*\"' | sort -u | wc -l) = 20000 ]"
check "sgd still answers" sgctl status
finish
