#!/usr/bin/env bash
# sgctl_cli.sh — every sgctl command against a live sgd in a throwaway
# network namespace: human and --json output (each JSON document must
# parse), and every exit code (0 ok, 1 failed, 2 bad usage, 3 unreachable).
# A client namespace beside it checks that what sgctl changes reaches the
# kernel: a member added at run time opens a port, explain agrees.
# Needs root.  Never touches the root namespace's network.
set -u
BUILDDIR=${BUILDDIR:?BUILDDIR must be set}
SRCDIR=${SRCDIR:?SRCDIR must be set}
SGD=$BUILDDIR/daemon/sgd
SGCTL=$BUILDDIR/cli/sgctl
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$SGD" ] && [ -x "$SGCTL" ] || { echo "FAIL: build sgd and sgctl first"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 needed to parse JSON"; exit 1; }

SRV=sgC2-srv-$$
CLI=sgC2-cli-$$
TMP=$(mktemp -d /tmp/sgC2-cli.XXXXXX)
SOCK=$TMP/sgd.sock
CONF=$TMP/conf
SGD_PID=
FAILS=0
PASSES=0
. "$(dirname "$0")/pace.sh"
. "$(dirname "$0")/ns_lib.sh"

cleanup() {
	[ -n "$SGD_PID" ] && kill "$SGD_PID" 2>/dev/null && wait "$SGD_PID" 2>/dev/null
	ns_del "$SRV" "$CLI"
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
# after a failed check of a command run by hand: what it printed
show_out() { sed 's/^/     | /' "$TMP/out" "$TMP/err" | head -20; }

# sgctl inside the server namespace, with our socket.
sgctl() { ip netns exec "$SRV" "$SGCTL" -s "$SOCK" "$@"; }

# expect CODE DESCRIPTION -- sgctl ARGS: run, compare the exit code; when
# --json is among ARGS, stdout must be exactly one valid JSON document.
expect() {
	local want=$1 what=$2 out err rc json=0 a
	shift 3
	for a in "$@"; do [ "$a" = --json ] && json=1; done
	out=$TMP/out err=$TMP/err
	sgctl "$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		bad "$what: sgctl $* exited $rc, expected $want"
		sed 's/^/     | /' "$out" "$err" | head -20
		return 1
	fi
	if [ $json = 1 ] && ! python3 -m json.tool "$out" >/dev/null 2>&1; then
		bad "$what: sgctl $* printed invalid JSON:"
		sed 's/^/     | /' "$out" | head -20
		return 1
	fi
	if [ $json = 1 ]; then ok "$what (sgctl $*: exit $rc, valid JSON)"
	else ok "$what (sgctl $*: exit $rc)"; fi
}

# grep the last output
has() {
	if grep -q -- "$1" "$TMP/out" "$TMP/err"; then ok "  output has '$1'"; else
		bad "  output lacks '$1'"; sed 's/^/     | /' "$TMP/out" "$TMP/err" | head -30; fi
}

echo "== setup: namespaces $SRV (server, 10.77.0.1) and $CLI (client, 10.77.0.2)"
ip netns add "$SRV" && ip netns add "$CLI" || exit 1
# created inside the server namespace, so the root namespace never sees it
ip -n "$SRV" link add sgC2a type veth peer name sgC2b netns "$CLI" || exit 1
SIF=sgC2a
CIF=sgC2b
ip -n "$SRV" addr add 10.77.0.1/24 dev "$SIF"
ip -n "$CLI" addr add 10.77.0.2/24 dev "$CIF"
ip -n "$SRV" link set "$SIF" up; ip -n "$SRV" link set lo up
ip -n "$CLI" link set "$CIF" up; ip -n "$CLI" link set lo up

mkdir -p "$CONF/groups.d" "$TMP/state"
cat >"$CONF/sgd.yaml" <<YAML
attach: [web, db]
failsafe:
  - {protocol: tcp, ports: 22, from: [192.0.2.0/24]}
YAML
cat >"$CONF/groups.d/web.yaml" <<YAML
name: web
description: "Web servers"
ingress:
  - {protocol: tcp, ports: 80, from: [0.0.0.0/0, "::/0"], description: HTTP}
  - {protocol: icmp, icmp_type: 8, from: [10.77.0.0/24], description: ping}
YAML
cat >"$CONF/groups.d/db.yaml" <<YAML
name: db
ingress:
  - {protocol: tcp, ports: 5432, from: [app], description: "PostgreSQL from app servers"}
egress: []
YAML
cat >"$CONF/groups.d/app.yaml" <<YAML
name: app
ingress: []
members: [10.77.9.9]
YAML

echo "== offline commands (no daemon yet)"
expect 3 "status without a daemon is 'unreachable'" -- status
expect 3 "unreachable with --json still prints JSON" -- --json status
has '"exit_code": *3\|"exit_code":3'
expect 3 "show on a socket nobody listens on" -- -s "$TMP/nothing.sock" show
expect 0 "version works without a daemon" -- version
has "not reachable"
expect 0 "check a valid config" -- check "$CONF"
expect 0 "check --json" -- --json check "$CONF"
has '"ok":true'
mkdir -p "$TMP/bad/groups.d"
printf 'attach: [web]\n' >"$TMP/bad/sgd.yaml"
printf 'name: web\ningress:\n  - {protocol: tcp, ports: 70000, from: [0.0.0.0/0]}\n' >"$TMP/bad/groups.d/web.yaml"
expect 1 "check an invalid config" -- check "$TMP/bad"
has "groups.d/web.yaml:3"
expect 1 "check --json an invalid config" -- --json check "$TMP/bad"
has '"line":3'
expect 1 "check a missing dir" -- check "$TMP/nope"
cat >"$TMP/aws.json" <<'JSON'
{"SecurityGroups": [{"GroupName": "imported-web", "GroupId": "sg-0123456789abcdef0",
  "Description": "web", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
  "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "UserIdGroupPairs": [], "PrefixListIds": []}],
  "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
  "Ipv6Ranges": [], "UserIdGroupPairs": [], "PrefixListIds": []}]}]}
JSON
mkdir -p "$TMP/imported"
expect 0 "import aws" -- import aws "$TMP/aws.json" -o "$TMP/imported"
expect 0 "import aws --json" -- --json import aws "$TMP/aws.json" -o "$TMP/imported2"
expect 2 "import from an unknown source" -- import gcp x
expect 2 "no command" --
expect 2 "unknown command" -- frobnicate
expect 2 "unknown global option" -- --frob status
expect 2 "unknown command, --json" -- --json frobnicate
expect 0 "sgctl --help" -- --help
for c in status reload check show diff explain members stats apply confirm import version; do
	expect 0 "$c --help" -- "$c" --help
	has "usage: sgctl"
done
expect 0 "help explain" -- help explain
expect 2 "explain without a port is bad usage, even offline" -- explain in tcp 10.0.0.1
expect 2 "explain a network" -- --json explain in tcp 80 10.0.0.0/8
expect 2 "apply without --confirm" -- apply
expect 2 "apply --confirm 0" -- apply --confirm 0
expect 2 "members with no action" -- members
expect 2 "members add without an address" -- members add app
expect 2 "members add a bad address" -- members add app 10.0.0.300
expect 2 "status with an argument" -- status extra
expect 2 "diff with a bad option" -- diff --frob
expect 2 "reload with a bad option" -- reload --frob

echo "== a socket that answers garbage: exit 1 (reached, but unreadable)"
python3 - "$TMP/garbage.sock" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(4); s.settimeout(600)	# a hang guard only
for _ in range(2):
    try:
        c, _ = s.accept()
    except OSError:
        break
    c.settimeout(60)
    try:
        c.recv(65536)
    except OSError:
        pass
    c.sendall(b"HTTP/1.0 200 OK\r\n\r\nthis is not sgd\n" * 4)
    c.close()
PY
GARBAGE_PID=$!
# 60 s: a hang guard only (python may take seconds to start on a loaded
# machine)
pace_wait 60 test -S "$TMP/garbage.sock"
expect 1 "garbage reply" -- -s "$TMP/garbage.sock" status
expect 1 "garbage reply, --json" -- -s "$TMP/garbage.sock" --json status
kill "$GARBAGE_PID" 2>/dev/null; wait "$GARBAGE_PID" 2>/dev/null

echo "== start sgd in $SRV"
ip netns exec "$SRV" "$SGD" -c "$CONF" -s "$SOCK" --state-dir "$TMP/state" 2>"$TMP/sgd.log" &
SGD_PID=$!
pace_wait 60 test -S "$SOCK"
[ -S "$SOCK" ] || { echo "FAIL: sgd did not create $SOCK"; cat "$TMP/sgd.log"; exit 1; }
pace_wait 60 sgctl status

echo "== read-only commands"
expect 0 "status" -- status
has "web"; has "db"
expect 0 "status --json" -- --json status
has '"attached"'
expect 0 "status --json after the command" -- status --json
expect 0 "show" -- show
has "PostgreSQL from app servers"; has "app (1 member)"; has "(failsafe)"; has "(implicit)"
expect 0 "show --json" -- --json show
expect 0 "diff (no change)" -- diff
has "no changes"
expect 0 "diff --exit-code (no change)" -- diff --exit-code
expect 0 "diff --json" -- --json diff
has '"changed":false'
expect 0 "stats" -- stats
expect 0 "stats --json" -- --json stats
has '"counters"'
expect 0 "version" -- version
has "sgd 0"
expect 0 "version --json" -- --json version
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["daemon"] and d["client"]' "$TMP/out" &&
	ok "  version --json names both versions" || bad "  version --json lacks a version"
expect 0 "explain allowed" -- explain in tcp 80 10.77.0.2
has "ALLOWED by group web, ingress rule 1"
expect 0 "explain denied" -- explain in tcp 5432 10.77.0.2
has "DROPPED"
expect 0 "explain --json" -- --json explain in tcp 5432 10.77.0.2
has '"allowed":false'
expect 0 "explain failsafe" -- explain in tcp 22 192.0.2.4
has "failsafe rule 1"
expect 0 "explain icmp" -- --json explain in icmp 8 10.77.0.2
has '"allowed":true'
expect 0 "members list" -- members list app
has "10.77.9.9/32"
expect 0 "members list --json" -- --json members list app
expect 1 "members list of an unknown group" -- members list nosuch
expect 1 "members list of an unknown group, --json" -- --json members list nosuch

echo "== live traffic: web allowed, db denied until the client is a member of app"
# the listeners are stopped below; 600 s is a hang guard only
ip netns exec "$SRV" timeout 600 socat -u TCP-LISTEN:80,reuseaddr,fork OPEN:/dev/null 2>/dev/null &
L1=$!
ip netns exec "$SRV" timeout 600 socat -u TCP-LISTEN:5432,reuseaddr,fork OPEN:/dev/null 2>/dev/null &
L2=$!
pace_wait 60 eval "[ \$(ip netns exec $SRV ss -Hltn '( sport = :80 or sport = :5432 )' | wc -l) = 2 ]" ||
	bad "the listeners on 80 and 5432 did not start"
# connect PORT: a connection that must pass gets 10 s; dropped PORT: one
# that must be dropped gets 1 s (between two namespaces an admitted SYN is
# answered at once, a dropped one never).  60 s guard nc's start-up.
connect_try() { ip netns exec "$CLI" timeout 60 nc -z -w "$1" 10.77.0.1 "$2" 2>/dev/null; }
connect() { connect_try 10 "$1"; }
dropped() { ! connect_try 1 "$1"; }
connect 80 && ok "tcp 80 passes" || bad "tcp 80 should pass"
dropped 5432 && ok "tcp 5432 is dropped" || bad "tcp 5432 should be dropped"
expect 0 "members add" -- members add app 10.77.0.2
expect 0 "members add --json" -- --json members add app 2001:db8::2
expect 0 "members list shows the run-time member" -- members list app
has "10.77.0.2/32"
connect 5432 && ok "tcp 5432 passes after members add" || bad "tcp 5432 should pass after members add"
expect 0 "explain agrees" -- explain in tcp 5432 10.77.0.2
has "ALLOWED by group db"
expect 0 "members del" -- members del app 10.77.0.2
expect 0 "members del --json" -- --json members del app 2001:db8::2
dropped 5432 && ok "tcp 5432 is dropped after members del" || bad "tcp 5432 should be dropped again"
expect 1 "members add to an unknown group" -- members add nosuch 10.0.0.1
expect 1 "members add to an unknown group, --json" -- --json members add nosuch 10.0.0.1
kill "$L1" "$L2" 2>/dev/null; wait "$L1" "$L2" 2>/dev/null

echo "== reload, diff, apply, confirm"
expect 0 "reload" -- reload
expect 0 "reload --json" -- --json reload
expect 0 "reload --force" -- reload --force
printf '  - {protocol: tcp, ports: 8443, from: [10.0.0.0/8]}\n' >>"$CONF/groups.d/web.yaml"
expect 0 "diff shows the new rule" -- diff
has "+ rule     web in tcp 8443 from 10.0.0.0/8"
expect 1 "diff --exit-code with a change" -- diff --exit-code
expect 1 "diff --exit-code --json with a change" -- --json diff --exit-code
has '"changed":true'
cp "$CONF/groups.d/web.yaml" "$TMP/web.good"
printf '  - {protocol: tcp, ports: 99999, from: [10.0.0.0/8]}\n' >>"$CONF/groups.d/web.yaml"
expect 1 "reload a bad config" -- reload
has "groups.d/web.yaml:"
expect 1 "reload a bad config, --json" -- --json reload
expect 0 "explain: previous rules still in force" -- explain in tcp 80 10.77.0.2
has "ALLOWED"
expect 1 "diff of a bad config" -- diff
cp "$TMP/web.good" "$CONF/groups.d/web.yaml"
expect 1 "confirm with nothing pending" -- confirm
# The confirm window is a hang guard here (the rollback is
# daemon_confirm's test): 600 s, which no step before the confirm can
# outlast however slow the machine (30 s did, under load).
expect 0 "apply --confirm 600" -- apply --confirm 600
expect 0 "status shows the pending confirm" -- status
has "rolls back"
expect 0 "status --json shows the deadline" -- --json status
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["confirm_deadline"]' "$TMP/out" &&
	ok "  confirm_deadline set" || bad "  confirm_deadline missing"
expect 0 "confirm" -- confirm
expect 0 "apply --confirm=600 --json" -- --json apply --confirm=600
expect 0 "confirm --json" -- --json confirm
expect 0 "explain sees the applied rule" -- explain in tcp 8443 10.1.2.3
has "ALLOWED by group web"

echo "== over SSH: sgctl sends SSH_CONNECTION and the guard refuses a lockout"
ssh_reload() {	# SSH_CONNECTION-client, then sgctl args
	local from=$1
	shift
	ip netns exec "$SRV" env SSH_CONNECTION="$from 50000 10.77.0.1 22" \
		"$SGCTL" -s "$SOCK" "$@" >"$TMP/out" 2>"$TMP/err"
}
cp "$CONF/sgd.yaml" "$TMP/sgd.good"
printf 'attach: [web, db]\n' >"$CONF/sgd.yaml"	# drops the failsafe SSH rule
ssh_reload 192.0.2.9 reload
rc=$?
[ $rc = 1 ] && ok "reload that would cut off this SSH client is refused (exit 1)" ||
	{ bad "reload cutting off the SSH client exited $rc, expected 1"; show_out; }
expect 0 "explain: the failsafe rule is still in force" -- explain in tcp 22 192.0.2.9
has "failsafe rule 1"
ssh_reload 192.0.2.9 reload --force
rc=$?
[ $rc = 0 ] && ok "reload --force over SSH (exit 0)" || { bad "reload --force over SSH exited $rc"; show_out; }
expect 0 "explain: the failsafe rule is gone" -- explain in tcp 22 192.0.2.9
has "DROPPED"
cp "$TMP/sgd.good" "$CONF/sgd.yaml"
ssh_reload 203.0.113.50 reload
rc=$?
[ $rc = 0 ] && ok "reload over SSH by a client no config admits is not refused (exit 0)" ||
	{ bad "reload over SSH from an unadmitted source exited $rc"; show_out; }

echo "== daemon gone"
kill "$SGD_PID"; wait "$SGD_PID" 2>/dev/null; SGD_PID=
expect 3 "status after sgd stopped" -- status
expect 3 "members add after sgd stopped" -- --json members add app 10.0.0.1

echo "== $PASSES passed, $FAILS failed"
[ $FAILS = 0 ]
