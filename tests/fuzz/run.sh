#!/usr/bin/env bash
# tests/fuzz/run.sh — build the libFuzzer harnesses with clang under
# ASan/UBSan, replay the regression corpus (every input that ever crashed
# one of them) and the seed corpus, then fuzz each harness for a bounded
# number of inputs (not a time: a slower machine runs the same count, it
# just takes longer).  Exits non-zero on any crash, leak, UB report or
# broken property.
#
#   tests/fuzz/run.sh                 # 20,000 inputs per harness (what CI runs)
#   FUZZ_RUNS=1000000 tests/fuzz/run.sh
#   FUZZ_BUILDDIR=build-x tests/fuzz/run.sh fuzz_proto   # some harnesses
#
# New inputs found while fuzzing go to a scratch directory, never into the
# source tree; a crash leaves its input in BUILDDIR/fuzz-artifacts/ and is
# printed with the command that replays it.  After fixing the bug, copy the
# input to tests/fuzz/regressions/<harness>/.  No root needed.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
builddir=${FUZZ_BUILDDIR:-$top/build-fuzz}
case $builddir in /*) ;; *) builddir=$top/$builddir ;; esac
runs_wanted=${FUZZ_RUNS:-20000}
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_config fuzz_proto fuzz_import)

command -v clang >/dev/null || { echo "fuzz: clang is not installed (scripts/deps.sh test)" >&2; exit 1; }

# -fsanitize=fuzzer-no-link on every library gives libFuzzer coverage of the
# code under test, not only of the harness.  clang's -Wformat-nonliteral
# (part of -Wformat=2) also flags va_list wrappers that gcc accepts.
cargs="-fsanitize=fuzzer-no-link -Wno-format-nonliteral"
opts=(-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false "-Dc_args=$cargs")
if [ -f "$builddir/build.ninja" ]; then
	meson configure "$builddir" "${opts[@]}" >/dev/null || exit 1
else
	CC=clang meson setup "$builddir" "${opts[@]}" >/dev/null || exit 1
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("tests/fuzz/$h"); done
ninja -C "$builddir" "${targets[@]}" >/dev/null || { echo "fuzz: build failed" >&2; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
artifacts=$builddir/fuzz-artifacts
mkdir -p "$artifacts"
# The harnesses write every input to files: on tmpfs when there is one.
# Their scratch files live under $scratch too, so a crash leaves nothing.
shm=/dev/shm; [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$shm/sgd-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
export FUZZ_TMPDIR=$scratch/tmp
mkdir -p "$FUZZ_TMPDIR"

failed=0
for h in "${harnesses[@]}"; do
	exe=$builddir/tests/fuzz/$h
	seeds=tests/fuzz/corpus/$h
	regress=tests/fuzz/regressions/$h
	dict=()
	[ -f "tests/fuzz/$h.dict" ] && dict=("-dict=tests/fuzz/$h.dict")

	# 1. every input that ever broke this harness, one by one
	mapfile -t old < <(find "$regress" -type f ! -name '.*' 2>/dev/null | sort)
	if [ ${#old[@]} -gt 0 ]; then
		if "$exe" "${old[@]}" >"$scratch/$h.replay" 2>&1; then
			echo "fuzz: $h: ${#old[@]} regression inputs replayed, all pass"
		else
			echo "FAIL fuzz: $h: a regression input fails again:"
			tail -n 40 "$scratch/$h.replay"
			failed=$((failed + 1))
			continue
		fi
	fi
	# 2. the seed corpus, then 3. fuzz from it for $runs_wanted inputs.
	# -timeout is libFuzzer's hang detector for one input: 120 s, far above
	# what any input takes under ASan on a loaded machine (milliseconds),
	# so only a real hang trips it.
	mkdir -p "$scratch/$h"
	if ! "$exe" -runs=0 "$seeds" >"$scratch/$h.seeds" 2>&1; then
		echo "FAIL fuzz: $h: a seed input fails:"
		tail -n 40 "$scratch/$h.seeds"
		failed=$((failed + 1))
		continue
	fi
	t0=$(date +%s)
	"$exe" -runs="$runs_wanted" -timeout=120 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$artifacts/$h-" "${dict[@]}" \
		"$scratch/$h" "$seeds" >"$scratch/$h.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$h.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$scratch/$h.log")
	if [ $rc -ne 0 ]; then
		echo "FAIL fuzz: $h (exit $rc) after ${runs:-?} runs:"
		grep -v '^#[0-9]' "$scratch/$h.log" | tail -n 60
		unit=$(sed -n 's/.*Test unit written to //p' "$scratch/$h.log" | tail -n 1)
		[ -n "$unit" ] && echo "replay: $exe $unit"
		failed=$((failed + 1))
	else
		echo "fuzz: $h: ${runs:-?} runs in $(( $(date +%s) - t0 ))s (${rate:-?}/s), no crash"
	fi
done
[ $failed -eq 0 ]
