#!/usr/bin/env bash
# rel_crash.sh — kill -9 at random points, restart, converge.
#
# KILLS (100) times: start a `sgctl reload` (switching the configuration
# between A and B) or a `sgctl members add/del` of several addresses, and
# kill -9 sgd.  Odd kills wait a random 0..N ms (N from the operation's
# measured duration), so they land before, inside or after the operation.
# Even kills are aimed: strace holds sgd for 500 ms at the entry or the
# exit of its K-th (K = 1..2) netlink commit (sendmsg), fsync, fdatasync or
# rename of the operation, and sgd is killed while it is held there, so a
# kill lands inside a commit or a state write on purpose, at any machine
# speed; the figures count how many did.  After each kill:
#  * the kernel holds the complete old or the complete new ruleset: the
#    table's shape (everything but set elements, normalized from
#    `nft -j list table inet sgd`) equals one of the two reference dumps
#    taken after each configuration had settled, and the peer set holds
#    exactly the old or exactly the new membership — never empty or half;
#  * every state file parses: the members file line by line (and its
#    members are the old or the new ones), the running/ snapshot is
#    byte-identical to configuration A or B;
#  * sgd restarts and converges to the configuration directory plus the
#    persisted membership.
# During the whole loop a client floods a denied port: 0 datagrams may
# arrive (no window, even across kill and restart).  Needs root.
set -u
TAG=cr
. "$(dirname "$0")/rel_lib.sh"

KILLS=${KILLS:-100}
STOP=$TMP/stop
command -v strace >/dev/null || { echo "FAIL: strace needed (scripts/deps.sh test)"; exit 1; }
# The syscalls a kill is aimed at (x86_64 numbers for /proc/PID/syscall):
# the netlink commit, and the writes that make state durable.
AIM_CALLS=sendmsg,fsync,fdatasync,rename,renameat,renameat2
AIM_NRS=" 46 74 75 82 264 316 "
AIM_US=500000

ns_setup
write_tools

mkdir -p "$CONF/groups.d" "$TMP/a" "$TMP/b"
printf 'table: sgd\nattach: [srv]\n' >"$CONF/sgd.yaml"
# 300 YAML members and (in B) 150 more rules: commits big enough that
# a random kill often lands inside one.
YAML_MEMBERS=(10.78.0.50)
for a in $(seq 0 298); do YAML_MEMBERS+=("10.80.$((a / 100)).$((a % 100 * 2 + 1))"); done
{
	echo "name: app"
	echo "description: peers, changed at run time"
	echo "members: [$(IFS=,; echo "${YAML_MEMBERS[*]}" | sed 's/,/, /g')]"
} >"$CONF/groups.d/app.yaml"
cat >"$TMP/a/srv.yaml" <<'EOF'
name: srv
description: configuration A
ingress:
  - {protocol: tcp, ports: 5432, from: [app], description: db from app}
  - {protocol: tcp, ports: 80, from: [0.0.0.0/0], description: web A}
EOF
cat >"$TMP/b/srv.yaml" <<'EOF'
name: srv
description: configuration B
ingress:
  - {protocol: tcp, ports: 5432, from: [app], description: db from app}
  - {protocol: udp, ports: 53, from: [10.0.0.0/8], description: dns B}
  - {protocol: tcp, ports: 443, from: [10.78.0.0/24, 192.0.2.0/24], description: tls B}
EOF
for p in $(seq 10000 10149); do
	echo "  - {protocol: tcp, ports: $p, from: [app, 10.0.0.0/8], description: bulk B}"
done >>"$TMP/b/srv.yaml"
use_conf() {
	cp "$TMP/${1,,}/srv.yaml" "$CONF/groups.d/.srv.new" &&
		mv -f "$CONF/groups.d/.srv.new" "$CONF/groups.d/srv.yaml"
}

# norm.py: `nft -j list table` on stdin -> "SHAPE V4 V6": the md5 of
# everything but set elements (handles and counter values dropped), and
# the sorted elements of the peer group's sets, hosts and wider blocks
# together (",," when empty).
cat >"$TMP/norm.py" <<'EOF'
import json, sys, hashlib
try:
    doc = json.load(sys.stdin)
except ValueError:
    print("nojson - -"); sys.exit(0)
def strip(o):
    if isinstance(o, dict):
        return {k: ("*" if k == "counter" else strip(v))
                for k, v in o.items() if k != "handle"}
    if isinstance(o, list):
        return [strip(x) for x in o]
    return o
def elem(e):
    if isinstance(e, str):
        return e
    if isinstance(e, dict) and "prefix" in e:
        p = e["prefix"]
        return "%s/%d" % (p["addr"], p["len"])
    if isinstance(e, dict) and "range" in e:
        return "%s-%s" % tuple(e["range"])
    if isinstance(e, dict) and "elem" in e:
        return elem(e["elem"]["val"])
    return json.dumps(e, sort_keys=True)
shape = []; sets = {}
# Objects in a canonical order (the listing follows creation order, which
# depends on history: a set kept across reloads stays where it was);
# rules keep their order within their chain (a stable sort).
KIND = {"table": 0, "set": 1, "map": 2, "chain": 3, "rule": 4}
def key(o):
    k = next(iter(o))
    v = o[k]
    return (KIND.get(k, 9), k, v.get("chain", "") if k == "rule" else v.get("name", ""))
objs = sorted((o for o in doc.get("nftables", []) if "metainfo" not in o), key=key)
for o in objs:
    if "metainfo" in o:
        continue
    if "set" in o:
        s = dict(o["set"])
        sets[s["name"]] = [elem(e) for e in s.pop("elem", [])]
        o = {"set": s}
    shape.append(strip(o))
if not shape:
    print("empty - -"); sys.exit(0)
h = hashlib.md5(json.dumps(shape, sort_keys=True).encode()).hexdigest()
# a peer group is two sets per family: its hosts (hash) and wider blocks
def peers(af):
    if "peer_app_" + af not in sets or "peer_app_%s_hosts" % af not in sets:
        return "?"
    v = sets["peer_app_" + af] + sets["peer_app_%s_hosts" % af]
    return ",".join(sorted(set(v), key=lambda x: x.encode())) or ",,"
print(h, peers("v4"), peers("v6"))
EOF
# statecheck.py STATEDIR CONFDIR ADIR BDIR: parse every state file.
# Prints "ok MEMBERS RUNNING" (members sorted, ",," when none; RUNNING A
# or B) or "bad REASON".
cat >"$TMP/statecheck.py" <<'EOF'
import sys, os, ipaddress, filecmp
st, conf, adir, bdir = sys.argv[1:5]
def bad(why):
    print("bad", why.replace(" ", "_")); sys.exit(0)
members = []
p = os.path.join(st, "members")
if os.path.exists(p):
    raw = open(p, "rb").read()
    if raw and not raw.endswith(b"\n"):
        bad("members file does not end with a newline (truncated)")
    lines = raw.decode().split("\n")[:-1]
    if not lines or not lines[0].startswith("# sgd run-time members"):
        bad("members file lacks its header: %r" % raw[:60])
    for i, l in enumerate(lines, 1):
        if not l.strip() or l.lstrip().startswith("#"):
            continue
        f = l.split()
        if len(f) != 2 or f[0] != "app":
            bad("members:%d: %r" % (i, l))
        try:
            n = ipaddress.ip_network(f[1])
        except ValueError:
            bad("members:%d: bad CIDR %r" % (i, f[1]))
        members.append(str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n))
# members.journal (daemon/journal.h): "+|- GROUP CIDR CRC32" records
# applied to the snapshot above; only the last one may be torn by a kill.
p = os.path.join(st, "members.journal")
if os.path.exists(p):
    import zlib
    recs = open(p, "rb").read().split(b"\n")
    live = set(members)
    for i, r in enumerate(recs, 1):
        last = i == len(recs)
        if not r:
            if last:
                break
            bad("members.journal:%d: empty record" % i)
        body, _, crc = r.rpartition(b" ")
        ok = len(crc) == 8 and format(zlib.crc32(body), "08x").encode() == crc
        f = body.decode(errors="replace").split()
        if not ok or len(f) != 3 or f[0] not in "+-" or f[1] != "app":
            if last:
                break   # torn by the kill: the daemon ignores it
            bad("members.journal:%d: %r" % (i, r[:60]))
        try:
            n = ipaddress.ip_network(f[2])
        except ValueError:
            bad("members.journal:%d: bad CIDR %r" % (i, f[2]))
        a = str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)
        if f[0] == "+":
            live.add(a)
        else:
            live.discard(a)
    members = sorted(live)
for name in os.listdir(st):
    # staging/ is the copy a reload was loading: removed at start.
    if name not in ("members", "members.journal", "running", "staging") and not name.startswith("."):
        bad("unexpected state entry %s" % name)
run = os.path.join(st, "running")
if not os.path.isdir(run):
    bad("no running snapshot")
got = sorted(os.listdir(os.path.join(run, "groups.d")))
if got != ["app.yaml", "srv.yaml"]:
    bad("running/groups.d holds %s" % got)
if not filecmp.cmp(os.path.join(run, "sgd.yaml"), os.path.join(conf, "sgd.yaml"), shallow=False):
    bad("running/sgd.yaml differs")
if not filecmp.cmp(os.path.join(run, "groups.d/app.yaml"), os.path.join(conf, "groups.d/app.yaml"), shallow=False):
    bad("running/groups.d/app.yaml differs")
which = None
for tag, d in (("A", adir), ("B", bdir)):
    if filecmp.cmp(os.path.join(run, "groups.d/srv.yaml"), os.path.join(d, "srv.yaml"), shallow=False):
        which = tag
if not which:
    bad("running/groups.d/srv.yaml is neither A nor B")
print("ok", ",".join(sorted(members)) or ",,", which)
EOF

kstate() { nsx nft -j list table inet sgd 2>/dev/null | python3 "$TMP/norm.py"; }
sstate() { python3 "$TMP/statecheck.py" "$STATE" "$CONF" "$TMP/a" "$TMP/b"; }
# sorted, comma-joined, ",," when empty
# a member list for a message: its size and a short hash
brief() { [ "$1" = ",," ] && echo "none" || echo "$(tr ',' '\n' <<<"$1" | wc -l) members #$(md5sum <<<"$1" | cut -c1-8)"; }
setof() { local s; s=$(printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort -u | paste -sd,); echo "${s:-,,}"; }
YAML_SET=$(setof "${YAML_MEMBERS[@]}")

echo "== reference dumps: each configuration left to settle"
use_conf A
start_sgd || { bad "sgd did not start"; finish; }
read -r SHAPE_A V4 V6 <<<"$(kstate)"
check "config A in the kernel, peer set = the ${#YAML_MEMBERS[@]} YAML members" [ "$V4" = "$YAML_SET" -a "$V6" = ",," ]
use_conf B
sgctl reload >/dev/null || bad "reload to B failed"
read -r SHAPE_B V4 V6 <<<"$(kstate)"
check "config B in the kernel, peer set = the YAML members" [ "$V4" = "$YAML_SET" -a "$V6" = ",," ]
check "the two reference shapes differ ($SHAPE_A / $SHAPE_B)" [ "$SHAPE_A" != "$SHAPE_B" ]
shape_of() { if [ "$1" = A ]; then echo "$SHAPE_A"; else echo "$SHAPE_B"; fi; }
# How long each operation takes here, so the random kill delays cover
# the operation itself (0 .. 1.2 x its duration), not mostly idle time.
op_ms() {
	local t0 t1 i best=100000
	for i in 1 2 3 4 5; do
		t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
		[ $(( (t1 - t0) / 1000000 )) -lt $best ] && best=$(( (t1 - t0) / 1000000 ))
	done
	echo $((best < 1 ? 1 : best))
}
RELOAD_MS=$(op_ms sgctl reload)
MEMBERS_MS=$(op_ms sgctl members add app 10.78.0.50)
STATUS_MS=$(op_ms sgctl status)
echo "   sgctl reload takes ${RELOAD_MS} ms, sgctl members add ${MEMBERS_MS} ms, sgctl status ${STATUS_MS} ms"
# delay_for OP_MS: from half of a trivial request's time (sgctl starting
# and connecting) to 1.2 x the operation's.
delay_for() {
	local lo=$((STATUS_MS / 2)) hi=$(($1 * 12 / 10 + 1))
	[ $hi -le $lo ] && hi=$((lo + 1))
	echo $((lo + RANDOM % (hi - lo)))
}
CUR=B
RT=()		# run-time members known to be persisted

echo "== control: without a ruleset the denied flood arrives"
# sgd stopped first: it would repair the deleted table (drift).
stop_sgd
ip netns exec "$NS" python3 "$TMP/udp_recv.py" 7000 "$TMP/ctl.recv" & CTLR=$!; bg $CTLR
sleep 0.3
nsx nft delete table inet sgd >/dev/null 2>&1 || true
ip netns exec "$CNS" python3 "$TMP/udp_send.py" $SIP 7000 1000 100 "$TMP/ctl.sent"
sleep 0.3
kill -TERM $CTLR; timeout 5 tail --pid=$CTLR -f /dev/null
check "control: $(cat "$TMP/ctl.recv" 2>/dev/null)" grep -q '^received 100 ' "$TMP/ctl.recv"
start_sgd || { bad "sgd did not start again after the control"; finish; }
check "the table is back" [ "$(kstate | cut -d' ' -f1)" = "$SHAPE_B" ]

# The denied flood runs for the whole loop.
ip netns exec "$NS" python3 "$TMP/udp_recv.py" 7000 "$TMP/deny.recv" & DR=$!; bg $DR
sleep 0.3
ip netns exec "$CNS" python3 "$TMP/udp_send.py" $SIP 7000 1000 100000000 "$TMP/deny.sent" "" "$STOP" & DS=$!; bg $DS

declare -A AT
n_reload=0 n_add=0 n_del=0 k_old=0 k_new=0 k_done=0 k_inflight=0
s_old=0 s_new=0 errs=0 k=0 if_old=0 if_new=0 split=0
# aim_attach: strace holds sgd at the entry or exit (AIM_AT) of its
# AIM_K-th aimed syscall from now on; returns once attached (TracerPid).
aim_attach() {
	local j
	strace -qq -o /dev/null -p "$SGD_PID" -e trace=$AIM_CALLS \
		-e inject=$AIM_CALLS:delay_$AIM_AT=$AIM_US:when=$AIM_K+ 2>>"$TMP/strace.err" & STRACE_PID=$!
	for j in $(seq 500); do
		[ "$(awk '/^TracerPid:/ { print $2 }' /proc/$SGD_PID/status 2>/dev/null)" = "$STRACE_PID" ] && return 0
		kill -0 $STRACE_PID 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}
# aim_wait OPPID: until sgd is held in an aimed syscall (0), or the
# operation ended first (1).  Bounded: 3000 polls.
aim_wait() {
	local j nr
	for j in $(seq 3000); do
		nr=$(cut -d' ' -f1 /proc/$SGD_PID/syscall 2>/dev/null)
		case "$AIM_NRS" in *" $nr "*) return 0 ;; esac
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.005
	done
	return 1
}
declare -A AIMED
n_aimed=0 n_aim_in=0 n_aim_missed=0
# The hang guard: the first 10 kills are timed; the loop may then take
# 10 times its projected duration (at least 300 s).
T0=$(date +%s)
DEADLINE=$((T0 + 3600))
echo "== $KILLS kill -9, half at random points, half aimed inside a commit or a state write"
for i in $(seq "$KILLS"); do
	if [ "$i" = 11 ]; then
		budget=$(( ($(date +%s) - T0) * KILLS ))
		[ $budget -lt 300 ] && budget=300
		DEADLINE=$((T0 + budget))
		echo "   10 kills took $(( $(date +%s) - T0 ))s: hang guard at ${budget}s"
	fi
	if [ "$(date +%s)" -gt "$DEADLINE" ]; then
		bad "loop exceeded its hang guard ($((DEADLINE - T0))s) at kill $i"; break
	fi
	r=$((RANDOM % 10))
	old_members=$(setof "${YAML_MEMBERS[@]}" "${RT[@]}")
	old_rt=$(setof "${RT[@]}")
	if [ $r -lt 5 ]; then
		op=reload; n_reload=$((n_reload + 1))
		NEW=A; [ "$CUR" = A ] && NEW=B
		use_conf $NEW
		args=(reload); delay=$(delay_for $RELOAD_MS)
		new_rt=$old_rt new_members=$old_members
	elif [ $r -lt 8 ] || [ ${#RT[@]} -lt 2 ]; then
		op=add; n_add=$((n_add + 1)); NEW=$CUR
		add=()
		for j in 1 2 3; do
			k=$((k + 1)); add+=("10.79.$((k / 100)).$((k % 100 * 2 + 1))")
		done
		args=(members add app "${add[@]}"); delay=$(delay_for $MEMBERS_MS)
		new_rt=$(setof "${RT[@]}" "${add[@]}")
		new_members=$(setof "${YAML_MEMBERS[@]}" "${RT[@]}" "${add[@]}")
	else
		op=del; n_del=$((n_del + 1)); NEW=$CUR
		del=("${RT[0]}" "${RT[1]}")
		args=(members del app "${del[@]}"); delay=$(delay_for $MEMBERS_MS)
		keep=(); for a in "${RT[@]}"; do
			[ "$a" = "${del[0]}" ] || [ "$a" = "${del[1]}" ] || keep+=("$a"); done
		new_rt=$(setof "${keep[@]}")
		new_members=$(setof "${YAML_MEMBERS[@]}" "${keep[@]}")
	fi
	aimed=0 STRACE_PID=
	if [ $((i % 2)) = 0 ]; then
		aimed=1 n_aimed=$((n_aimed + 1))
		AIM_AT=enter; [ $((RANDOM % 2)) = 0 ] && AIM_AT=exit
		AIM_K=$((1 + RANDOM % 2))
		aim_attach || { bad "kill $i: strace could not attach to sgd: $(tail -1 "$TMP/strace.err")"; errs=$((errs + 1)); }
	fi
	timeout 60 "$SGCTL" -s "$SOCK" "${args[@]}" >/dev/null 2>&1 & OPP=$!
	if [ $aimed = 1 ]; then
		if aim_wait $OPP; then
			n_aim_in=$((n_aim_in + 1))
			AIMED["$op@$AIM_AT"]=$(( ${AIMED["$op@$AIM_AT"]:-0} + 1 ))
		else
			n_aim_missed=$((n_aim_missed + 1))
		fi
	else
		sleep "$(printf '0.%03d' $delay)"
	fi
	# What sgd is doing at the kill (x86_64 syscall numbers): the
	# figures below say how many kills landed inside a netlink commit or
	# a state file write.
	sc=$(cut -d' ' -f1 /proc/$SGD_PID/syscall 2>/dev/null)
	case $sc in
	46) at=sendmsg ;; 47) at=recvmsg ;; 232|281) at=epoll_wait ;;
	74|75) at=fsync ;; 82|316) at=rename ;; 1|18) at=write ;;
	257|2|83|87|263|84) at=open/mkdir/unlink ;; running) at=running ;;
	*) at="syscall-$sc" ;;
	esac
	AT[$at]=$(( ${AT[$at]:-0} + 1 ))
	kill9_sgd
	wait $OPP; oprc=$?
	[ -n "$STRACE_PID" ] && { timeout 10 tail --pid=$STRACE_PID -f /dev/null; wait $STRACE_PID 2>/dev/null; }
	[ $oprc = 0 ] && k_done=$((k_done + 1)) || k_inflight=$((k_inflight + 1))

	# The kernel: complete old or complete new.
	read -r shape v4 v6 <<<"$(kstate)"
	want_old=$(shape_of $CUR) want_new=$(shape_of $NEW)
	if [ "$shape" = "$want_old" ] && [ "$v4" = "$old_members" ]; then
		k_old=$((k_old + 1)); kwhich=old
	elif [ "$shape" = "$want_new" ] && [ "$v4" = "$new_members" ]; then
		k_new=$((k_new + 1)); kwhich=new
	else
		bad "kill $i ($op, ${delay} ms, sgctl rc $oprc): kernel holds neither the old nor the new ruleset: shape $shape (old $want_old, new $want_new), peers $(brief "$v4") (old $(brief "$old_members"), new $(brief "$new_members"))"
		errs=$((errs + 1)); kwhich=neither
	fi
	[ "$v6" = ",," ] || { bad "kill $i: peer_app_v6 holds $v6"; errs=$((errs + 1)); }
	if [ $oprc = 0 ] && [ $kwhich != new ] && [ "$old_members$want_old" != "$new_members$want_new" ]; then
		bad "kill $i: sgctl $op reported success but the kernel holds the old state"
		errs=$((errs + 1))
	fi

	if [ $oprc != 0 ]; then
		[ $kwhich = old ] && if_old=$((if_old + 1))
		[ $kwhich = new ] && if_new=$((if_new + 1))
	fi

	# The state files: all parse; members old or new.
	read -r sok smembers srun <<<"$(sstate)"
	if [ "$sok" != ok ]; then
		bad "kill $i ($op, ${delay} ms): state dir: $smembers"; errs=$((errs + 1))
		smembers=$old_rt
	elif [ "$smembers" = "$old_rt" ]; then s_old=$((s_old + 1))
		# kernel changed, file not yet: killed inside the membership write
		[ $op != reload ] && [ $kwhich = new ] && split=$((split + 1))
	elif [ "$smembers" = "$new_rt" ]; then s_new=$((s_new + 1))
	else
		bad "kill $i ($op): persisted members $(brief "$smembers") are neither old $(brief "$old_rt") nor new $(brief "$new_rt")"
		errs=$((errs + 1))
	fi

	# Restart: converge to CONFDIR + persisted members.
	if ! start_sgd; then
		bad "kill $i: sgd did not restart"; tail -5 "$LOG"; break
	fi
	CUR=$NEW
	if [ -e "$STATE/staging" ]; then
		bad "kill $i: the restarted sgd left the crashed reload's staging copy"; errs=$((errs + 1))
	fi
	RT=(); [ "$smembers" != ",," ] && IFS=, read -r -a RT <<<"$smembers"
	want_members=$(setof "${YAML_MEMBERS[@]}" "${RT[@]}")
	read -r shape v4 v6 <<<"$(kstate)"
	if [ "$shape" != "$(shape_of $CUR)" ] || [ "$v4" != "$want_members" ]; then
		bad "kill $i: after restart the kernel is not config $CUR + persisted members: shape $shape, peers $(brief "$v4") (want $(brief "$want_members"))"
		errs=$((errs + 1))
	fi
	[ $((i % 20)) = 0 ] && echo "   ... $i kills ($(( $(date +%s) - T0 ))s), $errs errors"
	[ $errs -gt 10 ] && { bad "too many errors, stopping"; break; }
done
touch "$STOP"
timeout 10 tail --pid=$DS -f /dev/null
sleep 0.5
kill -TERM $DR; timeout 10 tail --pid=$DR -f /dev/null
read -r _ dsent _ _ <"$TMP/deny.sent"
read -r _ drecv _ <"$TMP/deny.recv"
T1=$(date +%s)

echo "== figures"
echo "   kills:                 $i ($n_reload during reload, $n_add during members add, $n_del during members del) in $((T1 - T0))s"
echo "   sgctl finished first:  $k_done; killed in flight: $k_inflight"
echo "   kernel after the kill: old $k_old, new $k_new, neither $((i - k_old - k_new))"
echo "   killed in flight:      kernel kept the old state $if_old, kernel already new (killed after the commit, before the reply) $if_new"
echo "   persisted members:     old $s_old, new $s_new; kernel new but file old (killed between set commit and state write) $split"
echo -n "   sgd was in:           "; for a in "${!AT[@]}"; do echo -n " $a ${AT[$a]},"; done; echo
echo "   aimed kills:           $n_aimed; held inside a commit or state write when killed $n_aim_in, operation ended first $n_aim_missed"
echo -n "   aimed kills landed:   "; for a in "${!AIMED[@]}"; do echo -n " $a ${AIMED[$a]},"; done; echo
echo "   denied flood:          sent $dsent, received $drecv"
check "all $KILLS kills done" [ "$i" = "$KILLS" ]
check "after every kill: complete old or complete new ruleset, state files intact, convergence after restart ($errs errors)" [ $errs = 0 ]
check "some kills interrupted an operation in flight ($k_inflight)" [ $k_inflight -gt 0 ]
# Every operation makes at least one aimed call, so K = 1 always lands
# and K = 2 lands whenever the operation makes two: at least half.
check "aimed kills landed inside a commit or a state write: $n_aim_in of $n_aimed (at least half)" \
	[ $((n_aim_in * 2)) -ge "$n_aimed" ]
check "aimed kills landed both at the entry and at the exit of a call" \
	bash -c "echo '${!AIMED[*]}' | grep -q @enter && echo '${!AIMED[*]}' | grep -q @exit"
check "denied flood was sent ($dsent)" [ "$dsent" -gt 1000 ]
check "denied flood: not one datagram through, across every kill and restart ($drecv)" [ "$drecv" = 0 ]
stop_sgd
finish
