#!/usr/bin/env bash
# bench/fleet_etcd.sh — fleet membership through etcd, measured (issue 14):
#   * from an etcd put (and delete) to the element being in the kernel set
#     on all 4 hosts: p50, p99 and max over N changes (default 1,000);
#   * a 20,000-member group absorbed by an sgd that starts;
#   * a 20,000-key lease revoke absorbed by all 4 hosts;
#   * sgd's RSS with 100,000 fleet members.
# Topology as tests/kernel/fleet_etcd.sh: 3 etcd members and 4 sgd hosts
# in network namespaces on one bridge; nothing in the root namespace.
# Usage (root): bench/fleet_etcd.sh [--builddir DIR] [--changes N] [--smoke]
# Prints a table and writes bench/results/fleet.txt.  --smoke (the
# bench-fleet-smoke test): 20 changes, 200 and 1,000 members instead of
# 20,000 and 100,000, no results file; fails unless every figure is a
# number, so the benchmark cannot rot.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILDDIR=$HERE/../build
CHANGES=1000
GROUP_N=20000
BIG_N=100000
SMOKE=false
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) BUILDDIR=$2; shift 2 ;;
	--changes) CHANGES=$2; shift 2 ;;
	--smoke) SMOKE=true CHANGES=20 GROUP_N=200 BIG_N=1000; shift ;;
	*) echo "usage: $0 [--builddir DIR] [--changes N] [--smoke]" >&2; exit 2 ;;
	esac
done
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
for t in "$SGD" "$SGCTL"; do [ -x "$t" ] || { echo "$t not built" >&2; exit 1; }; done
for t in etcd python3 nft; do command -v $t >/dev/null || { echo "$t needed (scripts/deps.sh bench)" >&2; exit 1; }; done

SW=sgG-sw-$$
HOSTS="1 2 3 4"
ETCDS="1 2 3"
TMP=$(mktemp -d /tmp/sgG-fleet.XXXXXX)
declare -A SGD_PID ETCD_PID
hns() { echo "sgG-h$1-$$"; }
ens() { echo "sgG-e$1-$$"; }
hip() { echo "10.87.0.$1"; }
eip() { echo "10.87.0.1$1"; }
EP="http://$(eip 1):2379"
cleanup() {
	local p n
	for p in ${SGD_PID[@]} ${ETCD_PID[@]}; do kill "$p" 2>/dev/null; done
	for p in ${SGD_PID[@]} ${ETCD_PID[@]}; do timeout 10 tail --pid="$p" -f /dev/null; kill -9 "$p" 2>/dev/null; done
	for n in $HOSTS; do ip netns del "$(hns "$n")" 2>/dev/null; done
	for n in $ETCDS; do ip netns del "$(ens "$n")" 2>/dev/null; done
	ip netns del "$SW" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_until SECS CMD...: poll every 10 ms (SECS: a hang guard)
wait_until() {
	local end=$(( $(date +%s) + $1 )); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.01
	done
}

ip netns add "$SW" && ip -n "$SW" link set lo up && ip -n "$SW" link add br0 type bridge &&
	ip -n "$SW" link set br0 up || exit 1
attach_ns() {
	ip netns add "$1" && ip -n "$1" link set lo up &&
	ip link add "sgG$$$2" netns "$1" type veth peer name "$2" netns "$SW" &&
	ip -n "$1" link set "sgG$$$2" name eth0 && ip -n "$1" addr add "$3/16" dev eth0 &&
	ip -n "$1" link set eth0 up && ip -n "$SW" link set "$2" master br0 &&
	ip -n "$SW" link set "$2" up || exit 1
}
for h in $HOSTS; do attach_ns "$(hns "$h")" "ph$h" "$(hip "$h")"; done
for e in $ETCDS; do attach_ns "$(ens "$e")" "pe$e" "$(eip "$e")"; done
CLUSTER="e1=http://$(eip 1):2380,e2=http://$(eip 2):2380,e3=http://$(eip 3):2380"
for e in $ETCDS; do
	ip netns exec "$(ens "$e")" etcd --name "e$e" --data-dir "$TMP/e$e" \
		--listen-client-urls "http://$(eip "$e"):2379" --advertise-client-urls "http://$(eip "$e"):2379" \
		--listen-peer-urls "http://$(eip "$e"):2380" --initial-advertise-peer-urls "http://$(eip "$e"):2380" \
		--initial-cluster "$CLUSTER" --initial-cluster-state new --initial-cluster-token "sgG-$$" \
		--quota-backend-bytes 4294967296 --logger zap --log-outputs stderr >"$TMP/e$e.log" 2>&1 &
	ETCD_PID[$e]=$!
done
wait_until 120 ip netns exec "$(ens 1)" etcdctl --endpoints "$EP" endpoint health || { echo "etcd did not start" >&2; exit 1; }

sgctl_h() { local h=$1; shift; ip netns exec "$(hns "$h")" "$SGCTL" -s "$TMP/h$h/sgd.sock" "$@"; }
start_host() {
	ip netns exec "$(hns "$1")" "$SGD" -c "$TMP/h$1/conf" -s "$TMP/h$1/sgd.sock" \
		--state-dir "$TMP/h$1/state" -v >>"$TMP/h$1/sgd.log" 2>&1 &
	SGD_PID[$1]=$!
}
web_count() { sgctl_h "$1" --json fleet status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["groups"].get("web", 0))'; }
web_is() { [ "$(web_count "$1")" = "$2" ]; }
all_web_is() { local h; for h in $HOSTS; do web_is "$h" "$1" || return 1; done; }
for h in $HOSTS; do
	c=$TMP/h$h/conf
	mkdir -p "$c/groups.d" "$TMP/h$h/state"
	printf 'name: web\ningress: []\n' >"$c/groups.d/web.yaml"
	printf 'name: db\ningress:\n  - {protocol: tcp, ports: 5432, from: [web]}\n' >"$c/groups.d/db.yaml"
	cat >"$c/sgd.yaml" <<EOC
attach: [web, db]
fleet:
  etcd: [http://$(eip 1):2379, http://$(eip 2):2379, http://$(eip 3):2379]
  host_id: host$h
EOC
	start_host "$h"
done
wait_until 120 all_web_is 4 || { echo "the hosts did not register" >&2; exit 1; }
driver() { ip netns exec "$(ens 1)" python3 "$HERE/fleet_driver.py" "$@"; }
OUT=$TMP/out.txt
# --- latency ------------------------------------------------------------
driver latency "$CHANGES" "$EP" $(for h in $HOSTS; do hns "$h"; done) >"$TMP/lat.txt"
{
read -r _ p50 p99 max < <(grep '^put' "$TMP/lat.txt")
read -r _ d50 d99 dmax < <(grep '^delete' "$TMP/lat.txt")
echo "fleet through etcd, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPU, kernel $(uname -r), etcd $(etcd --version | awk 'NR==1 {print $3}')"
echo "put    -> element in the kernel on all 4 hosts ($CHANGES changes): p50 $p50 ms, p99 $p99 ms, max $max ms"
echo "delete -> element gone from the kernel on all 4 hosts ($CHANGES changes): p50 $d50 ms, p99 $d99 ms, max $dmax ms"
} >"$OUT"

# --- GROUP_N (20,000) members absorbed on start, a GROUP_N-key revoke -------
kill "${SGD_PID[4]}"; timeout 60 tail --pid="${SGD_PID[4]}" -f /dev/null
rm -f "$TMP/h4/state/fleet.json"	# a real first list, not the kept state
lease=$(driver put $GROUP_N "$EP" 120)
wait_until 600 eval 'web_is 1 $((GROUP_N + 4)) && web_is 2 $((GROUP_N + 4)) && web_is 3 $((GROUP_N + 4))'
T0=$(now_ms)
start_host 4
wait_until 600 web_is 4 $((GROUP_N + 4))
T_START=$(( $(now_ms) - T0 ))
# The revoke is timed by nft monitor timestamps in each host's namespace
# (polling sgctl on 4 hosts would add its own rounds to the figure), and
# sgd's own share by its -v lines "fleet: N events ... applied in M ms"
# written after the revoke (summed per host).
declare -A LOGLINES
for h in $HOSTS; do LOGLINES[$h]=$(wc -l <"$TMP/h$h/sgd.log"); done
driver revoke_timed "$EP" "$lease" 120 $GROUP_N $(for h in $HOSTS; do hns "$h"; done) >"$TMP/revoke.txt" ||
	{ echo "the revoke was not absorbed" >&2; exit 1; }
wait_until 600 all_web_is 4
T_CALL=$(awk '$1 == "call" { print $2 }' "$TMP/revoke.txt")
T_FIRST=$(awk '$1 != "call" { if (m == "" || $2 < m) m = $2 } END { print m }' "$TMP/revoke.txt")
T_LAST=$(awk '$1 != "call" { if ($3 > m) m = $3 } END { print m }' "$TMP/revoke.txt")
T_ABS=$(awk '$1 != "call" { d = $3 - $2; if (d > m) m = d } END { printf "%.1f", m }' "$TMP/revoke.txt")
SGD_APPLY=
for h in $HOSTS; do
	a=$(tail -n +$((LOGLINES[$h] + 1)) "$TMP/h$h/sgd.log" |
		sed -n 's/.*fleet: \([0-9]*\) events .* applied in \([0-9]*\) ms.*/\1 \2/p' |
		awk '{ e += $1; t += $2; n++ } END { printf "%d ms (%d events in %d messages)", t, e, n }')
	SGD_APPLY="$SGD_APPLY${SGD_APPLY:+, }host$h $a"
done
{
echo "sgd start -> $GROUP_N-member group absorbed (first list, set elements in): $T_START ms (includes sgd's start and the polling)"
echo "$GROUP_N-key lease revoke, by nft monitor timestamps on the 4 hosts: etcd's revoke call $T_CALL ms; first deletion in a kernel at $T_FIRST ms, last deletion on the last host at $T_LAST ms (end to end); per host, first to last deletion at most $T_ABS ms"
echo "  sgd applying the revoke's events (its -v log): $SGD_APPLY"
} >>"$OUT"

# --- RSS with BIG_N (100,000) fleet members ---------------------------------
rss() { awk '/^VmRSS/ { print $2 }' "/proc/${SGD_PID[1]}/status"; }
RSS0=$(rss)
T0=$(now_ms)
lease=$(driver put $((BIG_N - 4)) "$EP" 130)
wait_until 1200 all_web_is $BIG_N
T_100K=$(( $(now_ms) - T0 ))
RSS1=$(rss)
echo "$BIG_N fleet members: sgd RSS $RSS1 kB (was $RSS0 kB with 4); put in $T_100K ms (etcd puts included)" >>"$OUT"
driver revoke "$EP" "$lease"
cat "$OUT"
if $SMOKE; then
	# every figure a number: no empty field, no "ms ms"
	for v in "$p50" "$p99" "$max" "$d50" "$d99" "$dmax" "$T_START" "$T_CALL" "$T_FIRST" "$T_LAST" "$T_ABS" "$RSS1" "$T_100K"; do
		[[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "FAIL - a figure is not a number: '$v'" >&2; exit 1; }
	done
	echo "bench-fleet-smoke: every figure measured"
	exit 0
fi
mkdir -p "$HERE/results"
cp "$OUT" "$HERE/results/fleet.txt"
