#!/usr/bin/env bash
# sgd benchmark: one command.
#   sudo bench/run.sh            full run: N = 100, 1k, 10k, 100k (~15-20 min)
#   sudo bench/run.sh --quick    N = 100, 1k, 10k, short rounds (~2 min)
#   sudo bench/run.sh --smoke    tiny N, one round; fails unless every
#                                measurement produced a number (meson test)
# Options: --builddir DIR (default: build-bench, configured and built here),
#          --no-build, --no-deps, --results DIR (default bench/results).
# It creates its own network namespaces (sgF-<pid>-*) and never touches the
# root namespace's firewall, addresses or links. See bench/README.md.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
mode=full
builddir=${BUILDDIR:-}
build=1
deps=1
results=
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) mode=quick ;;
	--smoke) mode=smoke ;;
	--full) mode=full ;;
	--builddir) builddir=$2; shift ;;
	--no-build) build=0 ;;
	--no-deps) deps=0 ;;
	--results) results=$2; shift ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$(id -u)" != 0 ]; then
	echo "run.sh: needs root (network namespaces, nftables); try: sudo $0" >&2
	exit 2
fi

if [ "$deps" = 1 ]; then
	"$SRC/scripts/deps.sh" bench
fi
for t in nft ip gnuplot python3 cc; do
	command -v "$t" >/dev/null || { echo "run.sh: $t not found (scripts/deps.sh bench)" >&2; exit 2; }
done

if [ -z "$builddir" ]; then
	builddir=$SRC/build-bench
fi
if [ "$build" = 1 ]; then
	if [ ! -f "$builddir/build.ninja" ]; then
		meson setup "$builddir" "$SRC" -Dwerror=true >/dev/null
	fi
	# only what the bench runs: a broken unit test elsewhere must not stop it
	ninja -C "$builddir" daemon/sgd cli/sgctl >/dev/null
	ninja -C "$builddir" tests/sgd-apply >/dev/null 2>&1 ||
		echo "run.sh: tests/sgd-apply not built; sgd commits only through the daemon" >&2
fi

work=$(mktemp -d /tmp/sgF-bench.XXXXXX)
pfx="sgF-$$"
nss=()
cleanup() {
	local ns pid
	for ns in "${nss[@]}"; do
		# anything still running inside (a daemon left by an aborted run)
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	done
	for ns in "${nss[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Bench tools (the sender, the timer): not part of the product build.
for t in udpflood timeexec; do
	cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$work/$t" "$SRC/bench/$t.c"
done

# One sender/receiver pair per role: each per-packet variant keeps its
# ruleset loaded while the floods alternate, and each variant's commit
# replaces only its own previous table (nft -f caches the whole ruleset).
# Sender 198.18.0.1, receiver 198.18.0.2, on-link 198.18.0.0/15.
pairs=
i=0
for role in pps-sgd pps-linear pps-set pps-floor pps-noct sgd-apply sgd-reload nft-linear nft-set nft-set-ctr; do
	tx=$pfx-t$i rx=$pfx-r$i
	ip netns add "$tx"; nss+=("$tx")
	ip netns add "$rx"; nss+=("$rx")
	ip link add "sgF$$a$i" netns "$tx" type veth peer name "sgF$$b$i" netns "$rx"
	ip -n "$tx" addr add 198.18.0.1/15 dev "sgF$$a$i"
	ip -n "$rx" addr add 198.18.0.2/15 dev "sgF$$b$i"
	for ns in "$tx" "$rx"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$tx" link set "sgF$$a$i" up
	ip -n "$rx" link set "sgF$$b$i" up
	pairs+="${pairs:+,}$role:$tx:$rx"
	i=$((i + 1))
done
# addresses must leave "tentative" state before probes use them
sleep 1

cpu=$(( $(nproc) > 1 ? 1 : 0 ))
case "$mode" in
full)
	args=(--sizes 100,1000,10000,100000 --members 1000,10000,100000
	      --commit-rounds 6 --pps-rounds 10 --flood-secs 1.5 --member-rounds 20 --idle-secs 10)
	;;
quick)
	args=(--sizes 100,1000,10000 --members 1000,10000
	      --commit-rounds 4 --pps-rounds 5 --flood-secs 0.5 --member-rounds 10 --idle-secs 5)
	;;
smoke)
	args=(--sizes 100 --members 100 --commit-rounds 2 --pps-rounds 1 --flood-secs 0.5
	      --member-rounds 2 --idle-secs 1 --require-all)
	;;
esac
if [ -z "$results" ]; then
	if [ "$mode" = smoke ]; then
		results=$builddir/bench-smoke
	else
		results=$SRC/bench/results
	fi
fi
mkdir -p "$results"

set +e
python3 -B "$SRC/bench/bench.py" --builddir "$builddir" --work "$work" --results "$results" \
	--pairs "$pairs" --tx-dev "sgF$$a0" --flood-cpu "$cpu" "${args[@]}" \
	| tee "$results/latest.txt"
rc=${PIPESTATUS[0]}
set -e
exit "$rc"
