#!/usr/bin/env bash
# engine_names.sh — two groups never share a kernel object (issue 18,
# finding 1).
#
# Group names may hold dots.  The port set of a peer group was named
# in.tcp.pg.<group>, and its further overlap layers in.tcp.pg.<group>.<N>:
# layer 1 of group "a" and group "a.1" were the same set, and the kernel
# merged the two declarations.  This is the issue's reproduction, run by
# the real daemon: web admits tcp 1000-2000 and 1500-2500 (a partial
# overlap: a second layer) from group a, and tcp 7777 from group a.1.
# With the shared set, a reached 7777 and a.1 reached 1800 and 2222,
# while `sgctl explain` said DROPPED.  Every probe is a real TCP
# connection between namespaces, and `sgctl explain` must agree with it.
#
# Then the second line of defence: a set declared twice in one batch (as
# a name collision would) must fail the transaction with "File exists"
# and leave the ruleset as it was, both when the set is new and when it
# already exists (NLM_F_EXCL on every NEWSET and NEWCHAIN that creates).
# Needs root; everything runs in the test's own namespaces.
set -u
. "$(dirname "$0")/engine_lib.sh"
LAB_ID="sgN$$"
SRV="$LAB_ID-srv"
CL="$LAB_ID-cl"
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ -x "$SGD" ] && [ -x "$SGCTL" ] || { echo "missing sgd or sgctl (build first)"; exit 1; }
A=10.200.0
B=fd00:200:

lab_setup

CONF=$WORK/conf
mkdir -p "$CONF/groups.d" "$WORK/state"
printf 'table: sgd\nattach: [web]\n' > "$CONF/sgd.yaml"
cat > "$CONF/groups.d/web.yaml" <<'EOF'
name: web
ingress:
  - {protocol: tcp, ports: "1000-2000", from: [a]}
  - {protocol: tcp, ports: "1500-2500", from: [a]}
  - {protocol: tcp, ports: 7777, from: [a.1]}
EOF
printf 'name: a\nmembers: [%s, %s]\n' $A.3 ${B}:3 > "$CONF/groups.d/a.yaml"
printf 'name: a.1\nmembers: [%s, %s]\n' $A.5 ${B}:5 > "$CONF/groups.d/a.1.yaml"

ip netns exec "$SRV" "$SGD" -c "$CONF" -s "$WORK/sgd.sock" --state-dir "$WORK/state" -v \
	>> "$WORK/sgd.log" 2>&1 &
SGD_PID=$!
PIDS+=($SGD_PID)
# (the socket is a file: no need to enter the namespace)
sgctl() { "$SGCTL" -s "$WORK/sgd.sock" "$@"; }
for i in $(seq 100); do
	sgctl status >/dev/null 2>&1 && break
	kill -0 "$SGD_PID" 2>/dev/null || break
	sleep 0.1
done
if ! sgctl status >/dev/null 2>&1; then
	bad "sgd did not start"
	tail -20 "$WORK/sgd.log"
	lab_summary
	exit 1
fi
ok "sgd committed the issue's configuration"

srv nft list table inet sgd > "$WORK/table.nft"
for set in in.tcp.pg.a in.tcp.pg.a/1 in.tcp.pg.a.1; do
	grep -q "set $set {" "$WORK/table.nft" && ok "set $set exists" ||
		bad "set $set is missing"
done
# a.1's port set holds 7777 and nothing of a's
elems=$(srv nft list set inet sgd in.tcp.pg.a.1 | tr -d '\n\t' |
	sed -n 's/.*elements = {\([^}]*\)}.*/\1/p')
case "$elems" in
*7777*) ok "in.tcp.pg.a.1 holds 7777" ;;
*) bad "in.tcp.pg.a.1 lacks 7777: $elems" ;;
esac
case "$elems" in
*1000*|*1500*|*2000*|*2500*) bad "in.tcp.pg.a.1 holds a's ports: $elems" ;;
*) ok "in.tcp.pg.a.1 holds none of a's ports" ;;
esac

# Every connection at once (diff_explain.py's prober: a SYN answered by
# a SYN-ACK or an RST passed, one answered by nothing was dropped), then
# sgctl explain for each.
CHECKS="$A.3 1800 pass|$A.3 2222 pass|$A.3 7777 drop|$A.3 2600 drop
${B}:3 1800 pass|${B}:3 2222 pass|${B}:3 7777 drop|${B}:3 2600 drop
$A.5 7777 pass|$A.5 1800 drop|$A.5 2222 drop
${B}:5 7777 pass|${B}:5 1800 drop|${B}:5 2222 drop
$A.4 7777 drop|$A.4 1800 drop"
req=$(echo "$CHECKS" | tr '|' '\n' | awk -v a=$A.1 -v b=${B}:1 '
	{ printf "%s[\"%d\", \"tcp\", \"%s\", \"%s\", %d]", (NR > 1 ? ", " : ""), NR, $1,
	  (index($1, ":") ? b : a), $2 }')
echo "{\"wait\": 2.0, \"probes\": [$req]}" |
	cl python3 "$SRCDIR/tests/kernel/diff_explain.py" prober |
	tr -d '{}" ' | tr ',' '\n' | grep -v slowest | sort -t: -k1,1n | cut -d: -f2 > "$WORK/got"
echo "$CHECKS" | tr '|' '\n' | paste -d' ' - "$WORK/got" > "$WORK/checks"
while read -r src port want got; do
	said=$(sgctl --json explain in tcp "$port" "$src" 2>&1)
	case "$said" in
	*'"allowed":true'*) said=pass ;;
	*'"allowed":false'*) said=drop ;;
	*) said="?($said)" ;;
	esac
	if [ "$got" = "$want" ] && [ "$said" = "$want" ]; then
		ok "tcp/$port from $src: $want (kernel and explain)"
	else
		bad "tcp/$port from $src: want $want, kernel $got, explain $said"
	fi
done < "$WORK/checks"

# The kernel refuses a second declaration of one name.  In a table of
# its own (the daemon keeps table sgd), first new, then existing.
mkdir -p "$WORK/dup/groups.d"
sed 's/^table: sgd/table: sgdup/' "$CONF/sgd.yaml" > "$WORK/dup/sgd.yaml"
cp "$CONF"/groups.d/*.yaml "$WORK/dup/groups.d/"
srv nft list ruleset > "$WORK/before.nft"
if apply --dup-set in.tcp.pg.a.1 "$WORK/dup" 2> "$WORK/dup.err"; then
	bad "a set declared twice in a new table was merged"
else
	grep -q "File exists" "$WORK/dup.err" && grep -q "in.tcp.pg.a.1" "$WORK/dup.err" &&
		ok "a set declared twice in a new table fails: $(grep -m1 'File exists' "$WORK/dup.err")" ||
		bad "the double declaration failed for another reason: $(head -2 "$WORK/dup.err")"
fi
srv nft list ruleset > "$WORK/after.nft"
cmp -s "$WORK/before.nft" "$WORK/after.nft" && ok "the refused batch left the ruleset as it was" ||
	bad "the refused batch changed the ruleset"
apply "$WORK/dup" && ok "the same configuration commits without the double declaration" ||
	bad "table sgdup not committed"
srv nft list ruleset > "$WORK/before.nft"
if apply --dup-set in.tcp.pg.a.1 "$WORK/dup" 2> "$WORK/dup.err"; then
	bad "a set declared twice, existing already, was merged"
else
	grep -q "File exists" "$WORK/dup.err" &&
		ok "a set declared twice fails when it exists already" ||
		bad "the double declaration failed for another reason: $(head -2 "$WORK/dup.err")"
fi
srv nft list ruleset > "$WORK/after.nft"
cmp -s "$WORK/before.nft" "$WORK/after.nft" && ok "the refused batch left the ruleset as it was" ||
	bad "the refused batch changed the ruleset"
# a set that exists and is declared once is kept: a plain commit again
apply "$WORK/dup" && ok "a commit over the existing table still succeeds" ||
	bad "a commit over the existing table failed: NLM_F_EXCL on a kept set?"
grep -q "kernel refused" "$WORK/sgd.log" && bad "sgd logged a refusal: $(grep -m1 'kernel refused' "$WORK/sgd.log")"
lab_summary
