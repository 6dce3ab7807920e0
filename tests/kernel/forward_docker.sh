#!/usr/bin/env bash
# forward_docker.sh — sgd and the real Docker engine (Debian's docker.io).
#
# dockerd runs in the host namespace H of forward_lib.sh, in a private
# mount namespace of its own with cgroup2 mounted there, with its own
# data root, exec root, pid file and API socket under the test's
# temporary directory, and its iptables rules (iptables-nft) in H.  The
# image is busybox-static's binary, imported with `docker import` (no
# registry is needed).  Real packets from the client namespace C prove:
#   - a published port (-p 8080:80) that no rule allows is dropped;
#   - a rule for the published port admits it, only from the allowed
#     source;
#   - `egress: []` stops a container's new outbound connection;
#   - replies and established connections (in and out) keep working
#     across a reload;
#   - `forward: off` restores the bypass;
#   - Docker's own tables and chains are left untouched, and still work
#     (an existing and a new published port) after 100 of sgd's reloads.
# dockerd that cannot start is a failure, with its own error, never a
# skip.
set -u
. "$(dirname "$0")/forward_lib.sh"

DOCKER=/usr/bin/docker
DK=$TMP/docker
DOCKERD_PID=
[ -x /usr/sbin/dockerd ] && [ -x "$DOCKER" ] ||
	{ echo "FAIL: docker.io is not installed (scripts/deps.sh test installs it)"; exit 1; }
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" ||
	{ echo "FAIL: busybox-static is not installed (scripts/deps.sh test installs it)"; exit 1; }

dk() { DOCKER_HOST=unix://$DK/sock timeout 60 "$DOCKER" "$@"; }

docker_cleanup() {
	local p
	[ -n "$DOCKERD_PID" ] || return 0
	dk rm -f $(dk ps -aq 2>/dev/null) >/dev/null 2>&1
	kill "$DOCKERD_PID" 2>/dev/null
	timeout 30 tail --pid="$DOCKERD_PID" -f /dev/null 2>/dev/null
	kill -9 "$DOCKERD_PID" 2>/dev/null
	# the managed containerd and the shims, by their pid: every process
	# whose command line names our exec root
	for p in $(pgrep -f "$DK/" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	DOCKERD_PID=
}
CLEANUP_HOOK=docker_cleanup

fwd_setup
serve "$C" 9000
wait_port "$C" 9000 || { bad "the outside server did not start"; finish; }

# dockerd: a private mount namespace (its mounts die with it) inside H
mkdir -p "$DK/data" "$DK/exec" "$TMP/sig"
ip netns exec "$H" unshare -m --propagation private sh -c "
	mount -t cgroup2 none /sys/fs/cgroup || exit 1
	exec dockerd --data-root $DK/data --exec-root $DK/exec --pidfile $DK/pid \
		-H unix://$DK/sock --storage-driver vfs --iptables=true" \
	>"$DK/log" 2>&1 &
DOCKERD_PID=$!
# a hang guard, not a speed requirement: dockerd took 2 s on the
# machine this was written on; allow 120 s
for i in $(seq 1200); do
	dk info >/dev/null 2>&1 && break
	kill -0 "$DOCKERD_PID" 2>/dev/null || break
	sleep 0.1
done
if ! dk info >/dev/null 2>&1; then
	echo "FAIL: dockerd could not start in the test's namespace; its last words:"
	grep -iE 'level=(error|fatal)|failed|error' "$DK/log" | tail -5 | grep . ||
		tail -5 "$DK/log"
	exit 1
fi
ok "dockerd runs in the test's namespace ($(dk version -f '{{.Server.Version}}'))"

# the image: busybox-static and a page
mkdir -p "$DK/root/bin" "$DK/root/www"
cp /bin/busybox "$DK/root/bin/busybox"
for a in sh cat nc httpd sleep echo test; do ln -s busybox "$DK/root/bin/$a"; done
echo hello >"$DK/root/www/index.html"
tar -C "$DK/root" -c . | dk import - sgf-busybox:1 >/dev/null ||
	{ bad "docker import of busybox-static"; finish; }
dk run -d --name web -p 8080:80 -p 8081:81 -v "$TMP/sig:/sig" sgf-busybox:1 sh -c \
	'httpd -p 80 -h /www; exec nc -ll -p 81 -e sh -c "echo ok; exec cat"' >/dev/null ||
	{ bad "docker run -p 8080:80"; finish; }

# http_try SRC: GET / on the published port 8080 from SRC (in C)
http_try() {
	ip netns exec "$C" timeout 5 python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
s.settimeout(1.0)
try:
    s.bind((sys.argv[1], 0))
    s.connect(("10.88.0.1", 8080))
    s.settimeout(2.0)
    s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    sys.exit(0 if data.startswith(b"HTTP/1.") and b"hello" in data else 1)
except OSError:
    sys.exit(1)
EOF
}
http_blocked() { ! http_try "$@"; }
# out_try: the container opens a connection to the outside server
out_try() {
	dk exec web sh -c 'nc -w 2 10.88.0.2 9000 </dev/null' 2>/dev/null | grep -q '^ok'
}
out_blocked() { ! out_try; }
# Docker's tables, without counters: what sgd must never change
docker_tables() {
	hx nft list table ip filter 2>/dev/null | sed 's/counter packets [0-9]* bytes [0-9]*//'
	hx nft list table ip nat 2>/dev/null | sed 's/counter packets [0-9]* bytes [0-9]*//'
}

for i in $(seq 100); do
	http_try 10.88.0.2 && break
	sleep 0.1
done
check "without sgd: the published port 8080 answers" http_try 10.88.0.2
check "without sgd: the container reaches the outside" out_try
docker_before=$(docker_tables | md5sum)

write_sgd containers
write_web 'ingress:' '  - {protocol: tcp, ports: 22, from: [0.0.0.0/0]}'
start_sgd || { bad "sgd starts"; finish; }
check "a published port that no rule allows is dropped" http_blocked 10.88.0.2

write_web 'ingress:' '  - {protocol: tcp, ports: "8080-8081", from: [10.88.0.2/32]}'
check "reload: a rule for the published ports" reload
check "the rule for 8080 admits the allowed source (HTTP reply)" http_try 10.88.0.2
check "and only the allowed source" http_blocked 10.88.0.3
check "sgctl explain says so for a forwarded packet" \
	sh -c "ip netns exec $H $SGCTL -s $SOCK explain in tcp 8080 10.88.0.2 | grep -q '^forwarded.*ALLOWED'"

write_web 'ingress:' '  - {protocol: tcp, ports: "8080-8081", from: [10.88.0.2/32]}' 'egress: []'
check "reload: egress: []" reload
check "egress: [] stops the container's new outbound connection" out_blocked

# established connections across a reload
write_web 'ingress:' '  - {protocol: tcp, ports: "8080-8081", from: [10.88.0.2/32]}'
reload
check "a connection to the published port 8081 is open" hold_open "$C" 10.88.0.2 10.88.0.1 8081
check "it carries data" hold_ping 1
rm -f "$TMP/sig/go"
dk exec web sh -c 'i=0; (echo a; while [ ! -e /sig/go ] && [ $i -lt 600 ]; do
	sleep 1; i=$((i + 1)); done; echo b) | nc -w 5 10.88.0.2 9000' >"$TMP/out.txt" 2>&1 &
BG_PIDS="$BG_PIDS $!"
for i in $(seq 100); do
	grep -q '^a' "$TMP/out.txt" && break
	sleep 0.1
done
check "the container's outbound connection is open" grep -q '^a' "$TMP/out.txt"
write_web 'ingress: []' 'egress: []'
check "reload: neither ingress nor egress rules" reload
check "the inbound established connection still carries data" hold_ping 2
touch "$TMP/sig/go"
for i in $(seq 100); do
	grep -q '^b' "$TMP/out.txt" && break
	sleep 0.1
done
check "the outbound established connection still carries data" grep -q '^b' "$TMP/out.txt"
check "a new inbound connection is dropped" http_blocked 10.88.0.2
check "a new outbound connection is dropped" out_blocked

write_sgd off
check "reload: forward: off" reload
check "off: the published port answers without a rule" http_try 10.88.0.2
check "off: egress: [] does not stop the container" out_try

# 100 reloads, alternating two rule sets, then Docker must still work
write_sgd containers
pass=0
t0=$(date +%s.%N)
for i in $(seq 100); do
	if [ $((i % 2)) = 0 ]; then
		write_web 'ingress:' '  - {protocol: tcp, ports: "8080-8082", from: [10.88.0.2/32]}'
	else
		write_web 'ingress:' '  - {protocol: tcp, ports: "8080-8082", from: [10.88.0.0/24]}' \
			'egress:' '  - {protocol: tcp, ports: 9000, to: [10.88.0.2/32]}'
	fi
	reload && pass=$((pass + 1))
done
echo "# 100 reloads with Docker's tables beside sgd's: $(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 1))" "$(date +%s.%N)" "$t0") s"
check "100 reloads succeeded ($pass)" test "$pass" = 100
check "Docker's tables and chains are untouched" test "$(docker_tables | md5sum)" = "$docker_before"
check "after them the published port answers the allowed source" http_try 10.88.0.2
check "and the container reaches the allowed outside port" out_try
check "Docker still publishes a new port (-p 8082:80)" \
	dk run -d --name web2 -p 8082:80 sgf-busybox:1 httpd -f -p 80 -h /www
check "sgd's table holds nothing of Docker's" \
	sh -c "! ip netns exec $H nft list table inet sgd | grep -qi docker"
new_port() {
	ip netns exec "$C" timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("10.88.0.1", 8082), timeout=1.0)
s.settimeout(2.0)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
sys.exit(0 if s.recv(16).startswith(b"HTTP/1.") else 1)' 2>/dev/null
}
for i in $(seq 100); do
	new_port && break
	sleep 0.1
done
check "the new published port answers through sgd's rule" new_port
finish
