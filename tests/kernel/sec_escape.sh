#!/usr/bin/env bash
# sec_escape.sh — control characters never reach a terminal or the log
# raw (issue 18, finding 8).
#  * a client's command with a newline and ESC, sgd under -v: the log has
#    it as \x0a / \x1b on one line, no forged "sgd: ..." line;
#  * a process whose name holds ESC, BEL and a newline changes sgd's
#    table: `status` text shows the name escaped, `status --json` is
#    valid JSON holding the real name, and the log has no raw control
#    character;
#  * `import aws` of a group whose GroupName and Description hold ESC and
#    BEL: sgctl's output, and `show` of the result, have none raw.
# Needs root.
set -u
TAG=se
. "$(dirname "$0")/daemon_lib.sh"

ns_setup
write_conf
check "sgd starts (-v)" start_sgd
raw_ctrl() { LC_ALL=C grep -q "[[:cntrl:]]" <(tr -d '\n\t' <"$1"); }

# --- a client's command --------------------------------------------------
ip netns exec "$NS" python3 - "$SOCK" <<'EOF'
import socket, struct, sys
cmd = b"status\nsgd: FORGED reload by root\x1b[2J"
payload = struct.pack("!HHI", 1, 0, len(cmd)) + cmd
msg = struct.pack("!IHHI", 0x53474450, 1, 1, len(payload)) + payload
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(msg)
try:
    s.recv(65536)
except OSError:
    pass
EOF
sgctl status >/dev/null 2>&1	# the request above was handled before this
check "no forged line in the log" eval '! grep -q "^sgd: FORGED" "$LOG"'
check "the command is logged escaped on one line" grep -q 'status\\x0asgd: FORGED reload by root\\x1b\[2J' "$LOG"

# --- a process name -------------------------------------------------------
NAME=$'\e]0;t\a\nsgd: x'
mkdir -p "$TMP/bin"
cp "$(command -v nft)" "$TMP/bin/$NAME"
ip netns exec "$NS" "$TMP/bin/$NAME" add rule inet sgd input accept
for i in $(seq 100); do
	sgctl status 2>/dev/null | grep -q "by pid" && break
	sleep 0.05
done
sgctl status >"$TMP/st.txt" 2>&1
sgctl --json status >"$TMP/st.json" 2>&1
check "status shows the drift by the process" grep -q "by pid" "$TMP/st.txt"
check "status text has no raw control character" eval '! raw_ctrl "$TMP/st.txt"'
check "the name is shown escaped" grep -q '(\\x1b\]0;t\\x07\\x0asgd: x)' "$TMP/st.txt"
check "status --json is valid and holds the real name" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["drift"]["last"]["process"] == "\x1b]0;t\x07\nsgd: x", d["drift"]' "$TMP/st.json"
check "the log has no raw control character" eval '! raw_ctrl "$LOG"'
check "and no forged line" eval '! grep -q "^sgd: x" "$LOG"'
stop_sgd

# --- import and show --------------------------------------------------------
python3 - "$TMP/aws.json" <<'EOF'
import json, sys
g = {"GroupName": "evil\x1b[2J\x07", "GroupId": "sg-0123456789abcdef0",
     "Description": "desc\x1b]0;owned\x07\nsgd: forged",
     "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "x\x1b[31m"}],
                        "Ipv6Ranges": [], "UserIdGroupPairs": [], "PrefixListIds": []}],
     "IpPermissionsEgress": []}
g2 = dict(g, GroupName="web", GroupId="sg-0123456789abcdef1")
json.dump({"SecurityGroups": [g, g2]}, open(sys.argv[1], "w"))
EOF
mkdir "$TMP/imp"
"$SGCTL" import aws "$TMP/aws.json" -o "$TMP/imp" >"$TMP/imp.out" 2>&1; rc=$?
check "import aws runs (rc $rc: $(head -c 100 "$TMP/imp.out" | tr -d '\033\a'))" [ $rc -le 1 ]
check "import's output has no raw control character" eval '! raw_ctrl "$TMP/imp.out"'
"$SGCTL" import aws "$TMP/aws.json" -o "$TMP/imp" >>"$TMP/imp.out" 2>&1
python3 - "$TMP/aws.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["SecurityGroups"] = d["SecurityGroups"][1:]
json.dump(d, open(sys.argv[1], "w"))
EOF
"$SGCTL" import aws "$TMP/aws.json" -o "$TMP/imp" >>"$TMP/imp.out" 2>&1
check "the group with a valid name is imported" test -f "$TMP/imp/web.yaml"
check "import's output still has no raw control character" eval '! raw_ctrl "$TMP/imp.out"'
cp "$TMP/imp/web.yaml" "$CONF/groups.d/web.yaml"
printf 'table: sgd\nattach: [db, web]\n' >"$CONF/sgd.yaml"
check "sgd starts with the imported group" start_sgd
sgctl show >"$TMP/show.out" 2>&1
sgctl explain in tcp 443 10.1.2.3 >>"$TMP/show.out" 2>&1
check "show and explain print the rule's description escaped" grep -q 'x\\x1b\[31m' "$TMP/show.out"
check "show/explain text has no raw control character" eval '! raw_ctrl "$TMP/show.out"'
sgctl --json show >"$TMP/show.json" 2>&1
check "show --json is valid JSON with the real description" python3 -c '
import json, sys
t = open(sys.argv[1]).read()
assert "\x1b" not in t
assert "desc\x1b]0;owned\x07\nsgd: forged" in json.dumps(json.loads(t), ensure_ascii=False) or "\\u001b" in t' "$TMP/show.json"
finish
