#!/usr/bin/env bash
# metrics.sh — `sgctl stats --format openmetrics|prometheus` against a
# running sgd with real packets, read by real parsers:
#   - the Prometheus text format passes `promtool check metrics` (the
#     parser and linter of Debian's prometheus package);
#   - the OpenMetrics text passes the strict OpenMetrics parser of
#     python3-prometheus-client and ends with "# EOF";
#   - a rule's counter equals the packets sent to it, and equals the
#     `stats --json` figure; member counts follow `members add`;
#   - reloads and failed reloads are counted, the last reload time moves;
#   - the command of systemd/sgd-metrics.service writes a file that
#     promtool accepts, replacing the old one by rename;
#   - bad --format values exit 2.
TAG=met
source "$(dirname "$0")/daemon_lib.sh"
command -v promtool >/dev/null || { echo "FAIL: promtool (package prometheus) needed"; exit 1; }
PY=/usr/bin/python3
$PY -c 'import prometheus_client.openmetrics.parser' 2>/dev/null ||
	{ echo "FAIL: python3-prometheus-client needed"; exit 1; }

ns_setup veth
write_conf
# the client is a member of app: tcp/5432 is allowed from it
sed -i 's/members: \[10.77.0.50\]/members: [10.77.0.50, 10.77.0.2]/' "$CONF/groups.d/app.yaml"
start_sgd || { bad "sgd did not start"; finish; }
listen_tcp 5432

om_check() {
	$PY - "$1" <<'PYEOF'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
for name in ("sgd_rule_packets", "sgd_rule_bytes", "sgd_group_members", "sgd_reloads",
             "sgd_reload_failures", "sgd_last_reload_timestamp_seconds", "sgd_drift_repairs"):
    assert name in fams, name
assert fams["sgd_rule_packets"].type == "counter"
PYEOF
}

# value NAME LABELS-REGEX FILE: the sample's value
value() {
	grep -E "^$1(\{[^}]*$2[^}]*\})? " "$3" | awk '{print $NF}' | head -1
}

# the listener and the neighbour entries are ready once one connection
# went through; count from there
for _ in $(seq 50); do tcp_ok 5432 && break; sleep 0.1; done
sgctl stats --format prometheus >"$TMP/p0.txt"
pk0=$(value sgd_rule_packets_total 'group="db",direction="in",rule="1",protocol="tcp",ports="5432"' "$TMP/p0.txt")
for i in 1 2 3 4 5; do tcp_ok 5432 || bad "connection $i to the allowed port failed"; done
sgctl stats --format prometheus >"$TMP/p.txt" || bad "stats --format prometheus failed"
if promtool check metrics <"$TMP/p.txt" >"$TMP/lint.txt" 2>&1; then
	ok "promtool check metrics accepts the Prometheus format"
else
	bad "promtool: $(cat "$TMP/lint.txt")"
fi
sgctl stats --format openmetrics >"$TMP/om.txt" || bad "stats --format openmetrics failed"
check "the OpenMetrics parser accepts --format openmetrics" om_check "$TMP/om.txt"
check "OpenMetrics ends with # EOF" test "$(tail -n 1 "$TMP/om.txt")" = "# EOF"

# 5 connections, each one new packet (the SYN) matched by db's rule 1
pk=$(value sgd_rule_packets_total 'group="db",direction="in",rule="1",protocol="tcp",ports="5432"' "$TMP/p.txt")
check "db ingress rule 1 counted the 5 SYNs ($pk0 -> $pk)" test "$((pk - pk0))" = 5
jpk=$(sgctl --json stats | $PY -c 'import json,sys
for c in json.load(sys.stdin)["counters"]:
    if c["kind"] == "rule" and c["group"] == "db" and c["direction"] == "in" and c["rule"] == 1:
        print(c["packets"])')
check "the same figure as stats --json ($jpk)" test "$pk" = "$jpk"
check "members of app: 2" test "$(value sgd_group_members 'group="app"' "$TMP/p.txt")" = 2
check "no reload yet" test "$(value sgd_reloads_total '' "$TMP/p.txt")" = 0

sgctl members add app 10.77.0.60 >/dev/null || bad "members add failed"
sgctl stats --format prometheus >"$TMP/p2.txt"
check "members add counts (3)" test "$(value sgd_group_members 'group="app"' "$TMP/p2.txt")" = 3

t0=$(value sgd_last_reload_timestamp_seconds '' "$TMP/p.txt")
sleep 1.1
sgctl reload >/dev/null || bad "reload failed"
echo 'attach: [nosuch]' >"$CONF/sgd.yaml.bad"
cp "$CONF/sgd.yaml" "$CONF/sgd.yaml.good"
mv "$CONF/sgd.yaml.bad" "$CONF/sgd.yaml"
sgctl reload >/dev/null 2>&1 && bad "a bad reload succeeded"
mv "$CONF/sgd.yaml.good" "$CONF/sgd.yaml"
sgctl stats --format openmetrics >"$TMP/om3.txt"
check "2 reloads counted" test "$(value sgd_reloads_total '' "$TMP/om3.txt")" = 2
check "1 failed reload counted" test "$(value sgd_reload_failures_total '' "$TMP/om3.txt")" = 1
check "last reload failed: success 0" test "$(value sgd_last_reload_success '' "$TMP/om3.txt")" = 0
t1=$(value sgd_last_reload_timestamp_seconds '' "$TMP/om3.txt")
check "the last reload time moved ($t0 -> $t1)" test "$t1" -gt "$t0"
check "OpenMetrics still parses" om_check "$TMP/om3.txt"

# The unit's command, with its directory and socket pointed here.
unit=$BUILDDIR/systemd/sgd-metrics.service
[ -f "$unit" ] || bad "$unit not built"
cmd=$(sed -n 's/^ExecStart=\/bin\/sh -c //p' "$unit" | sed "s/^'//; s/'\$//; s/\\\$\\\$/\$/g" |
	sed "s#/var/lib/prometheus/node-exporter#$TMP/textfile#g; s#[^ ]*/sgctl #$SGCTL #")
mkdir -p "$TMP/textfile"
echo stale >"$TMP/textfile/sgd.prom"
ino0=$(stat -c %i "$TMP/textfile/sgd.prom")
if ip netns exec "$NS" env SGD_SOCKET="$SOCK" sh -c "$cmd"; then
	ok "the sgd-metrics.service command ran"
else
	bad "the sgd-metrics.service command failed: $cmd"
fi
check "it wrote a file promtool accepts" sh -c "promtool check metrics <'$TMP/textfile/sgd.prom'"
check "by rename (a new inode)" test "$(stat -c %i "$TMP/textfile/sgd.prom")" != "$ino0"
check "and left no temporary file" test "$(ls "$TMP/textfile" | wc -l)" = 1
# sgd gone: the command fails and the old file stays
stop_sgd
cp "$TMP/textfile/sgd.prom" "$TMP/before.prom"
if ip netns exec "$NS" env SGD_SOCKET="$SOCK" sh -c "$cmd" 2>/dev/null; then
	bad "the unit's command succeeded without sgd"
else
	ok "without sgd the unit's command fails"
fi
check "and the last file stays as it was" cmp -s "$TMP/before.prom" "$TMP/textfile/sgd.prom"
check "and no temporary file is left" test "$(ls "$TMP/textfile" | wc -l)" = 1
start_sgd || bad "sgd did not restart"

for f in bogus "" json; do
	rc=0
	sgctl stats --format "$f" >/dev/null 2>&1 || rc=$?
	check "--format '$f' exits 2" test "$rc" = 2
done
rc=0
sgctl --json stats --format openmetrics >/dev/null 2>&1 || rc=$?
check "--json with --format openmetrics exits 2" test "$rc" = 2
finish
