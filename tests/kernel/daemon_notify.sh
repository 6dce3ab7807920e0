#!/usr/bin/env bash
# daemon_notify.sh — the sd_notify protocol as systemd would see it, with
# a datagram listener standing in for systemd:
#  * READY=1 comes only once the rules are in the kernel;
#  * a reload (SIGHUP) is framed by RELOADING=1 + MONOTONIC_USEC and
#    READY=1, with STATUS= lines, also when it fails;
#  * WATCHDOG=1 arrives every WATCHDOG_USEC/2;
#  * both a path socket and an abstract ('@') address work;
#  * an idle sgd does not wake up (no polling): its CPU time stays flat.
set -u
TAG=nt
. "$(dirname "$0")/daemon_lib.sh"

ns_setup
write_conf

# listen ADDR OUTFILE: print every datagram, one per line (\n -> |).
listen_notify() {
	ip netns exec "$NS" python3 -u -c '
import socket, subprocess, sys, time
addr, out = sys.argv[1], open(sys.argv[2], "w", buffering=1)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
print("listening", file=out)
t0 = time.monotonic()
while True:
    d = s.recv(4096).decode()
    print("%.3f %s" % (time.monotonic() - t0, d.replace("\n", "|")), file=out)
    if d.startswith("READY=1") and "table_at_ready" not in globals():
        table_at_ready = subprocess.run(["nft", "list", "table", "inet", "sgd"],
                                        capture_output=True).returncode == 0
        print("table-at-ready %s" % table_at_ready, file=out)
' "$1" "$2" &
	EXTRA_PIDS="$EXTRA_PIDS $!"
	for i in $(seq 600); do grep -q listening "$2" 2>/dev/null && break; sleep 0.1; done
}

. "$(dirname "$0")/pace.sh"
# wdogs FILE: the number of WATCHDOG=1 messages so far
wdogs() { grep -c 'WATCHDOG=1' "$1" 2>/dev/null || true; }
ADDR=@sgC1-notify-$$
listen_notify "$ADDR" "$TMP/notify"
NOTIFY_SOCKET=$ADDR WATCHDOG_USEC=400000 start_sgd || { bad "sgd did not start"; finish; }
# Events are awaited, not slept for: 60 s is only a hang guard.
t0=$(date +%s%N)
pace_wait 60 grep -q 'READY=1' "$TMP/notify"
# The listener writes table-at-ready after its nft run, which follows the
# READY=1 line: await it (60 s: a hang guard only).
pace_wait 60 grep -q 'table-at-ready' "$TMP/notify"
check "READY=1 sent (abstract socket)" grep -q 'READY=1' "$TMP/notify"
check "READY=1 carries a STATUS= line" grep -q 'READY=1|STATUS=' "$TMP/notify"
check "the rules were in the kernel when READY=1 arrived" grep -q 'table-at-ready True' "$TMP/notify"
pace_wait 60 bash -c "[ \$(grep -c WATCHDOG=1 $TMP/notify) -ge 4 ]"
n=$(wdogs "$TMP/notify") ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "WATCHDOG=1 keeps coming (WATCHDOG_USEC/2 = 200 ms): $n after $ms ms (expect >= 4)" [ "$n" -ge 4 ]

kill -HUP "$SGD_PID"
pace_wait 60 bash -c "grep -A100 RELOADING=1 $TMP/notify | grep -q 'READY=1|STATUS=reloaded'"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" grep -q 'RELOADING=1|MONOTONIC_USEC=[0-9]*|STATUS=' "$TMP/notify"
check "SIGHUP: READY=1 after the reload" bash -c "grep -A100 RELOADING=1 $TMP/notify | grep -q 'READY=1|STATUS=reloaded'"
sed -i 's/ports: 5432/ports: 99999/' "$CONF/groups.d/db.yaml"
kill -HUP "$SGD_PID"
pace_wait 60 grep -q 'STATUS=last reload failed' "$TMP/notify"
check "failed reload: READY=1 with the error in STATUS=" grep -q 'READY=1|STATUS=last reload failed: groups.d/db.yaml:5' "$TMP/notify"
stop_sgd
check "stop: STOPPING=1" grep -q 'STOPPING=1' "$TMP/notify"

# A path socket, and WATCHDOG_PID naming another process: no watchdog.
sed -i 's/ports: 99999/ports: 5432/' "$CONF/groups.d/db.yaml"
listen_notify "$TMP/notify.sock" "$TMP/notify2"
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=200000 WATCHDOG_PID=1 start_sgd || bad "restart failed"
pace_wait 60 grep -q 'READY=1' "$TMP/notify2"
sleep 0.6	# six ping periods (WATCHDOG_USEC/2 = 100 ms): none may come
check "READY=1 sent (path socket)" grep -q 'READY=1' "$TMP/notify2"
check "WATCHDOG_PID of another process: no WATCHDOG=1" bash -c "! grep -q WATCHDOG=1 $TMP/notify2"

# Idle: no wake-ups, so no CPU time over 3 s (utime+stime in ticks).
cpu() { awk '{print $14 + $15}' /proc/"$SGD_PID"/stat; }
c0=$(cpu); sleep 3; c1=$(cpu)
check "idle for 3 s: $((c1 - c0)) CPU ticks (expect 0)" [ $((c1 - c0)) -le 1 ]
finish
