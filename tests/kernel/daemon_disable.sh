#!/usr/bin/env bash
# daemon_disable.sh — taking sgd off a host, with real packets:
#   - `disable` without --confirm exits 2, over SSH without --force exits
#     1; both leave the rules;
#   - `disable --confirm` removes the table in one transaction (one new
#     generation), a blocked port opens, status says DISABLED (text and
#     JSON), show/reload are refused, stats shows sgd_enabled 0;
#   - a restart keeps it disabled (no table); `enable` commits again, the
#     port is blocked again, and the marker is gone;
#   - with sgd stopped, `sgctl status` exits 3 and says what the kernel
#     holds: the table and its rule count (equal to nft's), or no table;
#     without root it says it cannot read it.
TAG=dis
source "$(dirname "$0")/daemon_lib.sh"
command -v setpriv >/dev/null || { echo "FAIL: setpriv (util-linux) needed"; exit 1; }

ns_setup veth
write_conf
start_sgd || { bad "sgd did not start"; finish; }
listen_tcp 8080
check "port 8080 is blocked while enabled" tcp_blocked 8080
check "status: enabled" sh -c "ip netns exec $NS $SGCTL -s $SOCK status | grep -q '^state: *enabled'"

nft_rules() {
	nsx nft -j list table inet sgd 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for o in json.load(sys.stdin)["nftables"] if "rule" in o))'
}
gen() { nsx nft list ruleset -a >/dev/null; nsx nft -j list ruleset | python3 -c '
import json, sys
print([o["metainfo"] for o in json.load(sys.stdin)["nftables"] if "metainfo" in o][0].get("json_schema_version", 0))' >/dev/null; }

rc=0; sgctl disable >/dev/null 2>"$TMP/e1" || rc=$?
check "disable without --confirm exits 2 ($rc)" test "$rc" = 2
check "and says why" grep -q -- "--confirm" "$TMP/e1"
rc=0
ip netns exec "$NS" env SSH_CONNECTION="10.77.0.2 40000 10.77.0.1 22" \
	"$SGCTL" -s "$SOCK" disable --confirm >/dev/null 2>"$TMP/e2" || rc=$?
check "over SSH without --force: exit 1 ($rc)" test "$rc" = 1
check "and says it refuses over SSH" grep -q "refusing over SSH" "$TMP/e2"
check "the table is still there" nsx nft list table inet sgd
check "port 8080 still blocked" tcp_blocked 8080

rc=0; sgctl disable --confirm >"$TMP/o3" 2>&1 || rc=$?
check "disable --confirm: exit 0 ($rc)" test "$rc" = 0
if nsx nft list table inet sgd >/dev/null 2>&1; then bad "the table is still in the kernel"; else ok "the table is gone"; fi
check "port 8080 is open" tcp_ok 8080
check "the marker is in the state dir" test -f "$STATE/disabled"
check "status: DISABLED" sh -c "ip netns exec $NS $SGCTL -s $SOCK status | grep -q '^state: *DISABLED since'"
check "status --json: state disabled" sh -c "ip netns exec $NS $SGCTL -s $SOCK --json status |
	python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d[\"state\"] != \"disabled\" or not d[\"disabled_since\"])'"
rc=0; sgctl show >/dev/null 2>"$TMP/e4" || rc=$?
check "show is refused while disabled ($rc)" test "$rc" = 1
check "saying so" grep -q "sgd is disabled" "$TMP/e4"
rc=0; sgctl reload >/dev/null 2>&1 || rc=$?
check "reload is refused while disabled ($rc)" test "$rc" = 1
nsx kill -HUP "$SGD_PID"
sleep 0.5
if nsx nft list table inet sgd >/dev/null 2>&1; then bad "SIGHUP committed the rules of a disabled sgd"; else ok "SIGHUP does not commit while disabled"; fi
check "stats --format openmetrics: sgd_enabled 0" sh -c "ip netns exec $NS $SGCTL -s $SOCK stats --format openmetrics | grep -qx 'sgd_enabled 0'"
rc=0; sgctl disable --confirm >"$TMP/o5" 2>&1 || rc=$?
check "disable again: exit 0, already disabled" sh -c "[ $rc = 0 ] && grep -q 'already disabled' $TMP/o5"

stop_sgd
rc=0; sgctl status >"$TMP/o6" 2>"$TMP/e6" || rc=$?
check "sgd stopped, no table: status exits 3 ($rc)" test "$rc" = 3
check "and says no rules are in force" grep -q "is not in the kernel: no rules of sgd are in force" "$TMP/o6"
check "besides the connection error" grep -q "cannot connect" "$TMP/e6"

start_sgd || bad "sgd did not restart"
if nsx nft list table inet sgd >/dev/null 2>&1; then bad "a restart put the rules back"; else ok "a restart keeps sgd disabled"; fi
check "status after the restart: DISABLED" sh -c "ip netns exec $NS $SGCTL -s $SOCK status | grep -q '^state: *DISABLED'"

rc=0
ip netns exec "$NS" env SSH_CONNECTION="10.77.0.2 40000 10.77.0.1 22" \
	"$SGCTL" -s "$SOCK" enable >/dev/null 2>"$TMP/e7" || rc=$?
check "enable over SSH from a source the rules do not admit: exit 1 ($rc)" test "$rc" = 1
if nsx nft list table inet sgd >/dev/null 2>&1; then bad "the refused enable committed"; else ok "the refused enable committed nothing"; fi
rc=0; sgctl enable >"$TMP/o8" 2>&1 || rc=$?
check "enable: exit 0 ($rc)" test "$rc" = 0
check "the table is back" nsx nft list table inet sgd
check "port 8080 is blocked again" tcp_blocked 8080
check "the marker is gone" test ! -e "$STATE/disabled"
check "status: enabled" sh -c "ip netns exec $NS $SGCTL -s $SOCK status | grep -q '^state: *enabled'"
check "show works again" sgctl show
rc=0; sgctl enable >"$TMP/o9" 2>&1 || rc=$?
check "enable again: exit 0, enabled already" sh -c "[ $rc = 0 ] && grep -q 'enabled already' $TMP/o9"

stop_sgd
want=$(nft_rules)
rc=0; sgctl status >"$TMP/o10" 2>"$TMP/e10" || rc=$?
check "sgd stopped, table in force: status exits 3 ($rc)" test "$rc" = 3
check "and says the table is in force with $want rules" grep -q "is in the kernel and in force: $want rules" "$TMP/o10"
rc=0; sgctl --json status >"$TMP/o11" 2>/dev/null || rc=$?
check "--json: exit 3, kernel.present, rules $want" sh -c "[ $rc = 3 ] && python3 -c '
import json,sys
d = json.load(open(\"$TMP/o11\"))
k = d[\"kernel\"]
sys.exit(not (d[\"ok\"] is False and d[\"exit_code\"] == 3 and k[\"present\"] is True and k[\"rules\"] == $want and k[\"table\"] == \"sgd\"))'"
rc=0
ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$SGCTL" -s "$SOCK" status >"$TMP/o12" 2>/dev/null || rc=$?
check "without root: exit 3 ($rc), cannot read the kernel" sh -c "[ $rc = 3 ] && grep -q 'cannot be read.*needs root' $TMP/o12"
start_sgd || bad "sgd did not start after the stop"
check "a restart of an enabled sgd commits as before" sh -c "ip netns exec $NS $SGCTL -s $SOCK status | grep -q '^state: *enabled'"
finish
