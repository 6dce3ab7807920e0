# check_lib.sh — the checks and the whole-test hang guard of the
# multi-host kernel tests (fleet.sh, fleet_etcd.sh, fleet_etcd_tls.sh;
# sourced, not a test).  The caller keeps PASSES, FAILS and PIDS (the
# background jobs its cleanup stops).

ok() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
finish() {
	echo "# $PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ]
	exit $?
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# test_guard SECS NAME: a hang anywhere ends the test as a failure after
# SECS (a hang guard only, below meson's timeout).  The sleep does not
# hold our stdout (killing it ends nothing but itself); the watcher, put
# first in PIDS, is stopped first by the cleanup.
test_guard() {
	local wd
	sleep "$1" >/dev/null 2>&1 &
	wd=$!
	( while kill -0 "$wd" 2>/dev/null; do sleep 1; done
	  echo "FAIL - $2 took more than $1 s"; kill -TERM $$ ) &
	PIDS="$! $wd $PIDS"
}
