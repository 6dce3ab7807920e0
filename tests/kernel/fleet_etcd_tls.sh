#!/usr/bin/env bash
# fleet_etcd_tls.sh — the fleet over https with client-certificate auth
# (sgd.yaml fleet: tls:, docs/fleet.md).
#
# Topology: a "switch" namespace holding a bridge; a one-member etcd
# (10.86.0.11) serving its clients over https only, with
# --client-cert-auth; sgd hosts 10.86.0.1 and 10.86.0.2, each in its own
# namespace.  Certificates are made here with openssl: a CA, etcd's server
# certificate (its IP in subjectAltName), a client certificate, and a
# second CA that signed nothing etcd presents.  Nothing runs or is created
# in the root namespace.
#
# What it proves:
#   * host1 (ca, cert, key right) registers and lists over TLS: its keys
#     are in etcd, it has its own address in web;
#   * it watches over TLS: a key put by hand reaches its kernel set, its
#     delete removes it;
#   * host2, whose `ca` is the other CA, is refused: `sgctl fleet status`
#     and its log say the TLS handshake failed, naming the certificate
#     problem; etcd has no key of it and host1's membership does not
#     change for longer than a lease.
set -u

BUILDDIR=${BUILDDIR:?BUILDDIR must be set}
SRCDIR=${SRCDIR:?SRCDIR must be set}
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$SGD" ] || { echo "FAIL: $SGD not built"; exit 1; }
[ -x "$SGCTL" ] || { echo "FAIL: $SGCTL not built"; exit 1; }
for t in python3 etcd etcdctl nft openssl; do
	command -v "$t" >/dev/null || { echo "FAIL: $t needed (scripts/deps.sh test)"; exit 1; }
done

SW=sgT-sw-$$
HOSTS="1 2"
TTL=4
EIP=10.86.0.11
EP=https://$EIP:2379
TMP=$(mktemp -d /tmp/sgT-fleet.XXXXXX)
chmod 755 "$TMP"
PIDS=
FAILS=0
PASSES=0
declare -A SGD_PID
ETCD_PID=

hns() { echo "sgT-h$1-$$"; }
ENS=sgT-e-$$
hip() { echo "10.86.0.$1"; }

. "$(dirname "$0")/ns_lib.sh"

cleanup() {
	local n
	ns_stop_jobs $PIDS ${SGD_PID[@]} $ETCD_PID
	for n in $HOSTS; do ns_del "$(hns "$n")"; done
	ns_del "$ENS" "$SW"
	if [ "$FAILS" != 0 ]; then
		for n in $HOSTS; do
			[ -f "$TMP/h$n/sgd.log" ] || continue
			echo "---- host$n sgd log (last 15 lines)"
			tail -15 "$TMP/h$n/sgd.log"
		done
		echo "---- etcd log (last 10 lines)"
		tail -10 "$TMP/etcd.log"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
. "$(dirname "$0")/check_lib.sh"
test_guard 600 fleet_etcd_tls.sh

. "$(dirname "$0")/pace.sh"
# wait_for CMD...: poll until CMD succeeds; 120 s is a hang guard only.
wait_for() { pace_wait 120 "$@"; }

# --- certificates ----------------------------------------------------------
PKI=$TMP/pki
mkdir -p "$PKI"
mkca() {	# NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.pem" -days 2 -subj "/CN=sgd test $1" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
mkcert() {	# NAME CN EXTENSIONS (signed by ca)
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "/CN=$2" &&
	printf '%s\n' "$3" >"$PKI/$1.ext" &&
	openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
		-CAcreateserial -days 2 -out "$PKI/$1.pem" -extfile "$PKI/$1.ext"
}
# etcd's JSON gateway dials etcd's gRPC with the server certificate as its
# client certificate: the server certificate is for both uses.
check "openssl: CA, server and client certificates, another CA" eval \
	"mkca ca && mkca otherca &&
	 mkcert server etcd 'subjectAltName=IP:$EIP
extendedKeyUsage=serverAuth,clientAuth' &&
	 mkcert client sgd 'extendedKeyUsage=clientAuth'" 2>"$TMP/openssl.log"
chmod 644 "$PKI"/*.key

# --- network ------------------------------------------------------------
ns_switch_add "$SW" || exit 1
attach_ns() { ns_switch_attach "$SW" "$1" "$2" "$3/24" || exit 1; }	# NS PORT ADDR
for h in $HOSTS; do attach_ns "$(hns "$h")" "ph$h" "$(hip "$h")"; done
attach_ns "$ENS" pe "$EIP"

# --- etcd over https, client certificates required ---------------------------
ip netns exec "$ENS" etcd --name e1 --data-dir "$TMP/e1" \
	--listen-client-urls "$EP" --advertise-client-urls "$EP" \
	--cert-file "$PKI/server.pem" --key-file "$PKI/server.key" \
	--client-cert-auth --trusted-ca-file "$PKI/ca.pem" \
	--listen-peer-urls "http://$EIP:2380" --initial-advertise-peer-urls "http://$EIP:2380" \
	--initial-cluster "e1=http://$EIP:2380" --initial-cluster-state new \
	--initial-cluster-token "sgT-$$" \
	--logger zap --log-outputs stderr >>"$TMP/etcd.log" 2>&1 &
ETCD_PID=$!
ectl() {
	ip netns exec "$ENS" timeout 30 etcdctl --endpoints "$EP" --command-timeout 10s \
		--cacert "$PKI/ca.pem" --cert "$PKI/client.pem" --key "$PKI/client.key" "$@"
}
check "etcd: healthy over https with a client certificate" wait_for ectl endpoint health
check "etcd: a client without a certificate is refused" eval \
	"! ip netns exec $ENS timeout 30 etcdctl --endpoints $EP --cacert $PKI/ca.pem \
	   --dial-timeout 3s --command-timeout 5s get /x"

# --- sgd hosts: host1 with the right CA, host2 with the other one ------------
for h in $HOSTS; do
	c=$TMP/h$h/conf
	mkdir -p "$c/groups.d" "$TMP/h$h/state"
	printf 'name: web\ningress: []\n' >"$c/groups.d/web.yaml"
	printf 'name: db\ningress:\n  - {protocol: tcp, ports: 5432, from: [web]}\n' >"$c/groups.d/db.yaml"
	ca=ca
	[ "$h" = 2 ] && ca=otherca
	cat >"$c/sgd.yaml" <<EOF
table: sgd
attach: [web, db]
fleet:
  etcd: [$EP]
  host_id: host$h
  lease_ttl: $TTL
  tls: {ca: $PKI/$ca.pem, cert: $PKI/client.pem, key: $PKI/client.key}
EOF
done
sgctl_h() { local h=$1; shift; ip netns exec "$(hns "$h")" "$SGCTL" -s "$TMP/h$h/sgd.sock" "$@"; }
start_host() {
	ip netns exec "$(hns "$1")" "$SGD" -c "$TMP/h$1/conf" -s "$TMP/h$1/sgd.sock" \
		--state-dir "$TMP/h$1/state" -v >>"$TMP/h$1/sgd.log" 2>&1 &
	SGD_PID[$1]=$!
	pace_wait 60 sgctl_h "$1" status
}
fleet_is() {
	sgctl_h "$1" --json fleet status 2>/dev/null | python3 -c '
import json, sys
f = json.load(sys.stdin)
sys.exit(0 if eval(sys.argv[1]) else 1)' "$2"
}
synced() { fleet_is "$1" 'f["connected"] and f["listed"] and f["lease_alive"]'; }
set_has() { ip netns exec "$(hns "$1")" nft list set inet sgd peer_web_v4_hosts 2>/dev/null |
	tr -d ' \t\n' | grep -q "[{,]$2[,}]"; }
members_fp() { sgctl_h "$1" members list web 2>/dev/null | sort | md5sum; }

check "host1: sgd started" start_host 1
check "host1: connected, listed, lease alive over TLS" wait_for synced 1
check "etcd: host1's keys are there" eval \
	"ectl get --prefix /sgd/ --keys-only | grep -qx /sgd/hosts/host1 &&
	 ectl get --prefix /sgd/ --keys-only | grep -qx /sgd/members/web/host1/10.86.0.1/32"
check "host1: its own address is in its kernel set (listed over TLS)" wait_for set_has 1 10.86.0.1
check "host1: the endpoint is https" fleet_is 1 'f["endpoint"] == "https://10.86.0.11:2379"'
ectl put /sgd/members/web/host7/10.86.0.7/32 x >/dev/null
check "host1: a put reaches its kernel through the watch" wait_for set_has 1 10.86.0.7
ectl del /sgd/members/web/host7/10.86.0.7/32 >/dev/null
check "host1: and its delete" wait_for eval "! set_has 1 10.86.0.7"

# --- the wrong CA ------------------------------------------------------------
FP1=$(members_fp 1)
REV1=$(sgctl_h 1 --json fleet status | python3 -c 'import json,sys; print(json.load(sys.stdin)["revision"])')
check "host2 (the other CA): sgd started" start_host 2
check "host2: fleet status names the TLS failure and the certificate problem" wait_for eval \
	"sgctl_h 2 fleet status | grep -i 'TLS handshake failed' | grep -qi 'certificate'"
check "host2: --json last_error says so too" fleet_is 2 \
	'not f["connected"] and not f["lease_alive"] and "TLS handshake failed" in f["last_error"]'
check "host2: the log says so" grep -qi 'TLS handshake failed.*certificate' "$TMP/h2/sgd.log"
sgctl_h 2 fleet status | grep -i tls | head -1 | sed 's/^/# host2: /'
# Longer than a lease: a registration, had one slipped through, would show.
pace_wait $((TTL + 2)) false
check "etcd: no key of host2" eval "! ectl get --prefix /sgd/ --keys-only | grep -q host2"
check "host1: membership unchanged" [ "$(members_fp 1)" = "$FP1" ]
check "host1: no change applied (revision $REV1 kept)" fleet_is 1 "f['revision'] == $REV1"
check "host2: its kernel set has no fleet member" eval "! set_has 2 10.86.0.1 && ! set_has 2 10.86.0.2"
check "host1: still synced" synced 1
for h in $HOSTS; do
	check "host$h: sgd still running" sgctl_h "$h" status
done
finish
