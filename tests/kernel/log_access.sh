#!/usr/bin/env bash
# log_access.sh — how `sgctl log --follow` without sgd (reading NFLOG
# itself) fails and ends, in namespaces of its own
# with sgd's table committed by tests/sgd-apply:
#   - without CAP_NET_ADMIN it exits 1 saying it needs root;
#   - a second listener on NFLOG group 100 exits 1 naming the holder;
#   - bad usage exits 2;
#   - an unreadable configuration gives one warning and lines without the
#     closest-group column;
#   - -n COUNT exits 0 after COUNT lines, a closed output pipe ends it
#     with status 0, --timeout ends it with status 0, on time: no earlier,
#     and no later than its start-up and exit allow (2.5 s, or on a slower
#     machine 10 times a run with --timeout 0.001 there).
# Every wait is for an event, with a hang guard of 60 s or more; the
# listeners that are ended on purpose get a --timeout of 600 s (a guard).
set -euo pipefail

BUILDDIR=${BUILDDIR:?BUILDDIR not set}
SGCTL=$BUILDDIR/cli/sgctl
APPLY=$BUILDDIR/tests/sgd-apply
for f in "$SGCTL" "$APPLY"; do
	[ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v setpriv >/dev/null || { echo "FAIL: setpriv (util-linux) needed"; exit 1; }

CNS=sgGla-c$$
SNS=sgGla-s$$
CIF=sgGlac$$
SIF=sgGlas$$
NET=10.78.$(($$ % 200 + 20))
TMP=$(mktemp -d /tmp/sgG-logacc.XXXXXX)
# no sgd here: `sgctl log --follow` reads NFLOG itself
export SGD_SOCKET=$TMP/no-sgd.sock
pids=()
. "$(dirname "$0")/pace.sh"
. "$(dirname "$0")/ns_lib.sh"

cleanup() {
	ns_stop_jobs "${pids[@]}"
	wait 2>/dev/null || true
	ns_del "$CNS" "$SNS"
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for f in "$TMP"/*.out "$TMP"/*.err; do
		[ -f "$f" ] && { echo "--- $f"; cat "$f"; }
	done
	exit 1
}

ip netns add "$CNS"
ip netns add "$SNS"
ip link add "$CIF" netns "$CNS" type veth peer name "$SIF" netns "$SNS"
ip -n "$CNS" addr add "$NET.1/24" dev "$CIF"
ip -n "$SNS" addr add "$NET.2/24" dev "$SIF"
for ns in "$CNS" "$SNS"; do ip -n "$ns" link set lo up; done
ip -n "$CNS" link set "$CIF" up
ip -n "$SNS" link set "$SIF" up
# IPv4 only on this link: no IPv6 chatter to take log tokens
ip netns exec "$CNS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec "$SNS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1

CONF=$TMP/conf
mkdir -p "$CONF/groups.d"
printf 'attach: [ssh]\nlog_denied: true\n' >"$CONF/sgd.yaml"
cat >"$CONF/groups.d/ssh.yaml" <<EOF
name: ssh
ingress:
  - protocol: tcp
    ports: 22
    from: [192.0.2.0/24]
  - protocol: udp
    ports: 53
    from: [192.0.2.0/24]
EOF
ip netns exec "$SNS" "$APPLY" "$CONF" >"$TMP/apply.err" 2>&1 || fail "sgd-apply refused the configuration"

# send N: N denied UDP packets to the server, 0.15 s apart (within the
# limiter's burst, so every one is logged)
send() {
	for i in $(seq "$1"); do
		ip netns exec "$CNS" bash -c "echo x >/dev/udp/$NET.2/$((7000 + i))"
		sleep 0.15
	done
}

bound() {
	ip netns exec "$SNS" awk '$1 == 100 { f = 1 } END { exit !f }' \
		/proc/net/netfilter/nfnetlink_log 2>/dev/null
}

wait_bound() {
	pace_wait 60 bound || fail "sgctl log did not bind NFLOG group 100 within 60 s"
}

wait_unbound() {
	pace_wait 60 eval '! bound' || fail "NFLOG group 100 still bound 60 s after sgctl log ended"
}

# --- not root ------------------------------------------------------------------
rc=0
ip netns exec "$SNS" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$SGCTL" log --follow --timeout 1 >"$TMP/nonroot.out" 2>"$TMP/nonroot.err" || rc=$?
[ "$rc" = 1 ] || fail "unprivileged sgctl log exited $rc, not 1"
grep -q "needs root (CAP_NET_ADMIN)" "$TMP/nonroot.err" || fail "unprivileged: no clear message"
echo "ok: without CAP_NET_ADMIN: exit 1, '$(cat "$TMP/nonroot.err")'"

# --- usage -----------------------------------------------------------------------
for args in "-n 0" "-n x" "--timeout -1" "--timeout abc" "--bogus" "-n" "--since" "--since yesterday" "--since -5y"; do
	rc=0
	# shellcheck disable=SC2086
	ip netns exec "$SNS" "$SGCTL" log $args >/dev/null 2>"$TMP/usage.err" || rc=$?
	[ "$rc" = 2 ] || fail "sgctl log $args exited $rc, not 2"
	[ -s "$TMP/usage.err" ] || fail "sgctl log $args printed no reason"
done
echo "ok: bad options exit 2 with a message"

# --- no sgd and no --follow: nothing is kept, exit 3 ------------------------------
rc=0
ip netns exec "$SNS" "$SGCTL" log >"$TMP/nosgd.out" 2>"$TMP/nosgd.err" || rc=$?
[ "$rc" = 3 ] || fail "sgctl log without sgd and without --follow exited $rc, not 3"
grep -q "nothing is kept without sgd" "$TMP/nosgd.err" || fail "no sgd: no clear message"
echo "ok: without sgd and --follow: exit 3, '$(cat "$TMP/nosgd.err")'"

# --- another listener holds the group ------------------------------------------------
ip netns exec "$SNS" "$SGCTL" log --follow -c "$CONF" --timeout 600 >"$TMP/first.out" 2>"$TMP/first.err" &
first=$!
pids+=("$first")
wait_bound
rc=0
ip netns exec "$SNS" "$SGCTL" log --follow -c "$CONF" --timeout 1 >"$TMP/second.out" 2>"$TMP/second.err" || rc=$?
[ "$rc" = 1 ] || fail "second listener exited $rc, not 1"
grep -q "already held by another listener" "$TMP/second.err" || fail "second listener: no clear message"
echo "ok: a second listener: exit 1, '$(cat "$TMP/second.err")'"
kill "$first" 2>/dev/null || true
wait "$first" 2>/dev/null || true
wait_unbound

# --- unreadable configuration: one warning, no closest column; -n ---------------------
ip netns exec "$SNS" "$SGCTL" log --follow -c "$TMP/nonexistent" -n 3 --timeout 600 \
	>"$TMP/noconf.out" 2>"$TMP/noconf.err" &
pid=$!
pids+=("$pid")
wait_bound
send 4
rc=0
timeout 600 tail --pid="$pid" -f /dev/null || fail "sgctl log -n 3 did not exit"
wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "sgctl log -n 3 exited $rc"
[ "$(wc -l <"$TMP/noconf.out")" = 3 ] || fail "-n 3 printed $(wc -l <"$TMP/noconf.out") lines"
[ "$(grep -c warning "$TMP/noconf.err")" = 1 ] || fail "expected exactly one warning"
grep -q "cannot load the configuration" "$TMP/noconf.err" || fail "the warning does not say why"
if grep -q closest "$TMP/noconf.out"; then fail "closest column without a configuration"; fi
grep -Eq "^[0-9-]+ [0-9:.]+ in  udp    $NET\.1 -> $NET\.2:700[0-9]  on $SIF\$" "$TMP/noconf.out" ||
	fail "lines without configuration are malformed"
echo "ok: no configuration: one warning, lines without closest; -n 3 exits after 3 lines"
wait_unbound

# --- with the configuration: closest column; a closed pipe ends it with 0 ----------------
sleep 1
rc=0
( ip netns exec "$SNS" "$SGCTL" log --follow -c "$CONF" --timeout 600 2>"$TMP/pipe.err"; echo "$?" >"$TMP/pipe.rc" ) |
	head -n 1 >"$TMP/pipe.out" &
pids+=($!)
wait_bound
send 3
pace_wait 60 test -s "$TMP/pipe.rc" || true
[ -s "$TMP/pipe.rc" ] || fail "sgctl log did not end when its pipe closed"
[ "$(cat "$TMP/pipe.rc")" = 0 ] || fail "closed pipe: exit $(cat "$TMP/pipe.rc"), not 0"
grep -q "closest: ssh (ingress rule 2: port and source not allowed)" "$TMP/pipe.out" ||
	fail "closest group missing or wrong: $(cat "$TMP/pipe.out")"
echo "ok: closest group shown; a closed output pipe ends sgctl log with status 0"
wait_unbound

# --- --timeout with nothing to show -------------------------------------------------------
# What start-up and exit cost here: a run that ends after 1 ms (best of 5).
over=$(pace_ms ip netns exec "$SNS" "$SGCTL" log --follow -c "$CONF" --timeout 0.001)
late=$(pace_bound "$over" 10 2500)
wait_unbound
start=$(date +%s%N)
rc=0
ip netns exec "$SNS" "$SGCTL" log --follow -c "$CONF" --timeout 0.5 >"$TMP/quiet.out" 2>"$TMP/quiet.err" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" = 0 ] || fail "--timeout exit $rc"
[ "$ms" -ge 450 ] && [ "$ms" -lt $((500 + late)) ] ||
	fail "--timeout 0.5 took ${ms} ms (allowed 450..$((500 + late)); --timeout 0.001 takes ${over} ms)"
[ ! -s "$TMP/quiet.out" ] || fail "lines without traffic"
echo "ok: --timeout 0.5 ends after ${ms} ms with status 0 (allowed 450..$((500 + late)); --timeout 0.001 takes ${over} ms)"
echo "PASS: log_access"
