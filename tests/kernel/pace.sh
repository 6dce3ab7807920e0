# pace.sh — time limits from this machine's own pace (sourced, not a test).
#
# No kernel test may depend on how fast the machine is.  A check that
# needs a time limit (a hang guard, "within the deadline", "faster than a
# reload") takes it from a measurement made here, now, by the test
# itself: the best of a few runs of a comparable operation, times a
# generous factor, never below the documented figure.

# pace_ms CMD...: the best of 5 runs of CMD, in ms (at least 1).  CMD's
# output is discarded; its exit status is not looked at.
pace_ms() {
	local t0 t1 i d best=
	for i in 1 2 3 4 5; do
		t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
		d=$(( (t1 - t0) / 1000000 ))
		[ -z "$best" ] || [ "$d" -lt "$best" ] && best=$d
	done
	echo $(( best < 1 ? 1 : best ))
}

# pace_bound BASE_MS FACTOR FLOOR_MS: FACTOR x BASE_MS, at least FLOOR_MS.
pace_bound() {
	local b=$(( $1 * $2 ))
	echo $(( b < $3 ? $3 : b ))
}

# pace_wait SECS CMD...: run CMD every 50 ms until it succeeds (0) or SECS
# seconds have passed (1).  SECS is a hang guard only: callers pass a
# figure hundreds of times what the awaited event takes, so the outcome
# never depends on the machine's speed.
pace_wait() {
	local end=$(( $(date +%s) + $1 )); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.05
	done
	return 0
}
