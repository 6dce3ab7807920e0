#!/usr/bin/env bash
# engine_flat.sh — the flat compiler (engine/flat.h) with real packets.
#
# Two globally attached groups whose rules overlap every way the compiler
# resolves: a range contained in another (dropped from the set, counter 0),
# partial overlaps (a second "layer" set), an exact match inside a range,
# the same element from two rules, 0.0.0.0/0, protocol all from a /32,
# IPv4 and IPv6.  Every probe must pass or drop as the model says, and
# `sgd-apply --counters` must attribute each accepted connection to the
# rule whose element matched first (exact set, then layer 0, then 1).
set -u
. "$(dirname "$0")/engine_lib.sh"
# our own namespace names (engine_lib.sh defaults to sgB)
LAB_ID="sgP$$"
SRV="$LAB_ID-srv"
CL="$LAB_ID-cl"

A=10.200.0
S4=$A.1
S6=fd00:200::1
C=$WORK/flat
mkdir -p "$C/groups.d"
cat > "$C/groups.d/f1.yaml" <<Y
name: f1
ingress:
  - {protocol: tcp, ports: 1000-2000, from: [$A.0/24, "fd00:200::/64"], description: wide range}
  - {protocol: tcp, ports: 1500-2500, from: [$A.2/31, "fd00:200::2/127"], description: partial overlap}
  - {protocol: tcp, ports: 1200, from: [$A.4, "fd00:200::4"], description: exact inside the range}
  - {protocol: tcp, ports: 1100-1150, from: [$A.8/29], description: contained}
  - {protocol: udp, ports: 53, from: [$A.5], description: exact udp}
  - {protocol: udp, ports: 6000-6010, from: [$A.6], description: udp range from a /32}
  - {protocol: tcp, ports: 2600, from: [$A.2], description: first of two identical}
  - {protocol: tcp, ports: 4000-4100, from: [grp], description: peer group ports}
Y
cat > "$C/groups.d/grp.yaml" <<Y
name: grp
members: [$A.4, "fd00:200::4"]
Y
cat > "$C/groups.d/f2.yaml" <<Y
name: f2
ingress:
  - {protocol: all, from: [$A.9, "fd00:200::9"], description: everything from .9}
  - {protocol: tcp, ports: 3000, from: [0.0.0.0/0], description: anywhere v4}
  - {protocol: tcp, ports: 3000, from: [$A.7], description: exact under anywhere}
  - {protocol: tcp, ports: 2600, from: [$A.2], description: second of two identical}
  - {protocol: tcp, ports: 4050-4200, from: [grp], description: peer group partial overlap}
  - {protocol: tcp, ports: 4010, from: [grp], description: peer group contained}
Y
echo "attach: [f1, f2]" > "$C/sgd.yaml"

lab_setup
bg_ready "$SRV" serve 1100,1200,1600,2200,2600,3000,3500,4050,4150,4300 53,6005,6011
apply "$C" || { echo "FAIL - commit refused"; exit 1; }
ok "flat configuration committed"

echo "# sets and layers"
srv nft list table inet sgd > "$WORK/list.txt"
grep -q 'set in4.tcp.range.1 ' "$WORK/list.txt" &&
	grep -A4 'set in4.tcp.range.1 ' "$WORK/list.txt" | grep -q '10.200.0.2/31 . 1500-2500' &&
	ok "the partial overlap went into layer set in4.tcp.range.1" ||
	bad "no layer set: $(grep -n 'set in' "$WORK/list.txt")"
grep -q '10.200.0.8/29 . 1100-1150' "$WORK/list.txt" &&
	bad "the contained element is in a set" ||
	ok "the contained element (f1 rule 4) is in no set"
n=$(grep -c '10.200.0.2 . 2600' "$WORK/list.txt")
[ "$n" = 1 ] && ok "two identical elements from two rules: one element" ||
	bad "10.200.0.2 . 2600 appears $n times"
grep -A4 'set in.tcp.pg.grp/1 ' "$WORK/list.txt" | grep -q '4050-4200' &&
	ok "peer-group port ranges: the partial overlap in layer set in.tcp.pg.grp/1" ||
	bad "no peer-group layer set: $(grep -n 'pg' "$WORK/list.txt")"
grep -q 'meta l4proto vmap @in.proto' "$WORK/list.txt" &&
	ok "protocol dispatch by verdict map" || bad "no vmap rule"
nrules=$(grep -c 'accept\|drop\|vmap' "$WORK/list.txt")
echo "# the table holds $nrules rules for 14 policy rules and the implicit ones"

echo "# packets"
expect pass "tcp/1600 from .3 (wide range + partial overlap)" probe tcp $A.3 $S4 1600
expect pass "tcp/2200 from .3 (partial overlap only, layer 1)" probe tcp $A.3 $S4 2200
expect drop "tcp/2200 from .5" probe tcp $A.5 $S4 2200
expect pass "tcp/2200 from ::3 (layer 1, IPv6)" probe tcp fd00:200::3 $S6 2200
expect drop "tcp/2200 from ::5" probe tcp fd00:200::5 $S6 2200
expect pass "tcp/1200 from .4 (exact)" probe tcp $A.4 $S4 1200
expect pass "tcp/1100 from .8 (wide range; the contained rule would match too)" probe tcp $A.8 $S4 1100
expect pass "tcp/1100 from ::8 (wide range, IPv6)" probe tcp fd00:200::8 $S6 1100
expect pass "udp/53 from .5 (exact udp)" probe udp $A.5 $S4 53
expect drop "udp/53 from .6" probe udp $A.6 $S4 53
expect pass "udp/6005 from .6 (udp range from a /32)" probe udp $A.6 $S4 6005
expect drop "udp/6011 from .6 (outside the range)" probe udp $A.6 $S4 6011
expect pass "tcp/3500 from .9 (protocol all)" probe tcp $A.9 $S4 3500
expect pass "tcp/3500 from ::9 (protocol all, IPv6)" probe tcp fd00:200::9 $S6 3500
expect drop "tcp/3500 from .8" probe tcp $A.8 $S4 3500
expect pass "tcp/3000 from .10 (0.0.0.0/0)" probe tcp $A.10 $S4 3000
expect drop "tcp/3000 from ::10 (the rule is IPv4 only)" probe tcp fd00:200::10 $S6 3000
expect pass "tcp/3000 from .7 (exact under 0.0.0.0/0)" probe tcp $A.7 $S4 3000
expect pass "tcp/2600 from .2 (identical elements)" probe tcp $A.2 $S4 2600
expect pass "tcp/4050 from group member .4" probe tcp $A.4 $S4 4050
expect pass "tcp/4150 from group member ::4 (layer 1)" probe tcp fd00:200::4 $S6 4150
expect drop "tcp/4150 from .5 (not a member)" probe tcp $A.5 $S4 4150
expect drop "tcp/4300 from .4 (no rule has the port)" probe tcp $A.4 $S4 4300

echo "# counters: one new connection counts one packet, in the first matching element"
apply --counters "$C" > "$WORK/cnt.txt" 2>&1 || bad "reading counters failed: $(cat "$WORK/cnt.txt")"
want() {
	local g=$1 idx=$2 n=$3 what=$4 got
	got=$(awk -v g="$g" -v i="$idx" '$1 == "rule" && $2 == g && $3 == "in" && $4 == i {print $6}' "$WORK/cnt.txt")
	[ "$got" = "$n" ] && ok "$g rule $idx ($what) counted $n" ||
		bad "$g rule $idx ($what) counted '${got:-missing}', want $n"
}
want f1 1 3 "wide range: .3/1600, .8/1100, ::8/1100"
want f1 2 2 "layer 1: .3 and ::3 on 2200"
want f1 3 1 "exact inside the range"
want f1 4 0 "contained: never the first match, still reported"
want f1 5 1 "exact udp"
want f1 6 1 "udp range"
want f1 7 1 "first of two identical"
want f2 1 2 "protocol all, v4 and v6"
want f2 2 1 "0.0.0.0/0"
want f2 3 1 "exact under 0.0.0.0/0"
want f2 4 0 "second of two identical"
want f1 8 1 "peer group ports"
want f2 5 1 "peer group, partial overlap"
want f2 6 0 "peer group, contained"

echo "# a refused set element is reported at its rule, and changes nothing"
srv nft -s list ruleset > "$WORK/before.txt"
if apply --tamper f1:in:2 "$C" 2> "$WORK/tamper.err"; then
	bad "a malformed element was accepted"
else
	grep -q "^groups.d/f1.yaml:4:[0-9]*: ingress rule 2: kernel refused" "$WORK/tamper.err" &&
		ok "the refusal names f1 rule 2 at groups.d/f1.yaml:4" ||
		bad "refusal not attributed: $(cat "$WORK/tamper.err")"
fi
srv nft -s list ruleset | cmp -s - "$WORK/before.txt" && ok "ruleset unchanged after the refusal" ||
	bad "the refused batch changed the ruleset"

echo "# a reload to a per-rule configuration and back"
mkdir -p "$WORK/small/groups.d"
printf 'name: s\ningress:\n  - {protocol: tcp, ports: 2200, from: [%s.5]}\n' $A > "$WORK/small/groups.d/s.yaml"
echo "attach: [s]" > "$WORK/small/sgd.yaml"
apply "$WORK/small" && ok "replaced by another configuration" || bad "reload failed"
expect pass "tcp/2200 from .5 after the reload" probe tcp $A.5 $S4 2200
expect drop "tcp/1600 from .3 after the reload" probe tcp $A.3 $S4 1600
srv nft list table inet sgd | grep -q 'range.1' && bad "old layer set survived" ||
	ok "the old sets are gone"
apply "$C" && ok "back to the flat configuration" || bad "reload back failed"
expect pass "tcp/2200 from .3 again" probe tcp $A.3 $S4 2200

# A kept interval (rbtree) set holds points: a block's start and its
# interval end.  A new block that shares its end with an old one (here
# .4/30 -> .0/29, and ports 4054-4057 -> 4050-4057) must keep that end:
# deleted with the old block after the new one was added (a no-op), it
# left the new block open to the top of the space (found by
# diff_explain.sh: fd00:200::/125 admitted everything from fd00:200::).
# Once by one process (its own last commit is the old side), once by a
# new process (it reads the old side back from the kernel).
echo "# kept interval sets: a new block sharing its end with an old one"
for d in e1 e2; do
	mkdir -p "$WORK/$d/groups.d"
	echo "attach: [e]" > "$WORK/$d/sgd.yaml"
	printf 'name: grp\nmembers: [%s.9]\n' $A > "$WORK/$d/groups.d/grp.yaml"
done
cat > "$WORK/e1/groups.d/e.yaml" <<Y
name: e
ingress:
  - {protocol: all, from: [$A.4/30, "fd00:200::4/126"]}
  - {protocol: tcp, ports: 4154-4157, from: [grp]}
Y
cat > "$WORK/e2/groups.d/e.yaml" <<Y
name: e
ingress:
  - {protocol: all, from: [$A.0/29, "fd00:200::/125"]}
  - {protocol: tcp, ports: 4150-4157, from: [grp]}
Y
shared_end_ok() {
	local how=$1
	srv nft list table inet sgd > "$WORK/e.txt"
	grep -A4 'set in4.all ' "$WORK/e.txt" | grep -q 'elements = { 10.200.0.0/29 ' &&
		grep -A4 'set in6.all ' "$WORK/e.txt" | grep -q 'elements = { fd00:200::/125 ' &&
		grep -A4 'set in.tcp.pg.grp ' "$WORK/e.txt" | grep -q 'elements = { 4150-4157 ' &&
		ok "$how: the sets hold exactly the new blocks" ||
		bad "$how: the sets are not the new blocks: $(grep 'elements' "$WORK/e.txt" | tr -s '\t ' ' ')"
	expect pass "$how: tcp/4150 from .9 (grp)" probe tcp $A.9 $S4 4150
	expect drop "$how: tcp/4300 from .9 (grp, past the shared end)" probe tcp $A.9 $S4 4300
	expect pass "$how: tcp/4300 from .7 (in .0/29)" probe tcp $A.7 $S4 4300
	expect drop "$how: tcp/4300 from .8 (past the shared end)" probe tcp $A.8 $S4 4300
	expect drop "$how: tcp/4300 from fd00:200::9 (past the shared end)" probe tcp fd00:200::9 $S6 4300
}
apply --alternate "$WORK/e1" --repeat 3 "$WORK/e2" && apply --alternate "$WORK/e2" --repeat 2 "$WORK/e1" &&
	ok "e2, e1, e2 by one process, then e1 and e2 by another" || bad "the commits failed"
shared_end_ok "the same process"
apply "$WORK/e1" && apply "$WORK/e2" && ok "e1, then e2 by a new process" || bad "the commits failed"
shared_end_ok "a new process"

lab_summary
