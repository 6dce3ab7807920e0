#!/usr/bin/env bash
# sec_files.sh — hostile files (issue 18, findings 3 to 6).
#
# 3. A members.d file is never read through a symlink (a link to a
#    root-only file is refused), and a bad line is reported by file and
#    line only: its content is in neither `status` (text, JSON, as a
#    read-only user) nor the log.
# 4. A 200 GB sparse members.d file blocks nothing: a reload succeeds,
#    an unconfirmed `apply --confirm` is rolled back on time, a restart
#    starts; the group keeps the file's last valid members (none after a
#    start), and status says the file is over the limit.
# 5. No FIFO can hang sgd: a FIFO and a regular file are renamed over
#    members.d/app alternately SWAPS times while sgd re-reads it; sgd still
#    answers.  A FIFO, a symlink, or a file owned by another user in
#    groups.d, and a symlinked sgd.yaml, are refused by `reload` with the
#    file's name, never read.
# 6. The state dir: one pre-created by another user (with links planted
#    in it), or under a parent writable by others, makes sgd refuse to
#    start with a clear error, and nothing the links point to is touched.
# Needs root.
set -u
TAG=sf
. "$(dirname "$0")/daemon_lib.sh"
command -v setpriv >/dev/null || { echo "FAIL: setpriv (util-linux) needed"; exit 1; }

SWAPS=${SWAPS:-2000}
MD=$CONF/members.d
as_nobody() { ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
wait_for() {
	local n=$(( $1 * 20 )) i
	shift
	for i in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}
status_says() { sgctl status 2>&1 | grep -q "$1"; }
# push NAME TEXT: write + rename, as a fleet tool does
push() { printf "$2" >"$MD/.$1.tmp" && mv -f "$MD/.$1.tmp" "$MD/$1"; }

ns_setup
write_conf
mkdir -p "$MD"
push app '10.77.0.60\n'
check "sgd starts" start_sgd
check "members.d/app is applied" wait_for 3 set_has 10.77.0.60
chmod 0666 "$SOCK"

# --- 3. symlinks and echoed content ------------------------------------
printf 'root:$6$s3cr3tHASH:19000:0:99999:7:::\n' >"$TMP/shadow"
chmod 0600 "$TMP/shadow"
ln -s "$TMP/shadow" "$MD/.lnk" && mv -f "$MD/.lnk" "$MD/app"
check "a symlink as members.d/app is refused" wait_for 3 status_says "members.d/app: is a symbolic link"
check "the last valid members stay (10.77.0.60)" set_has 10.77.0.60
push app '10.77.0.60\ns3cr3t-token-in-line-2\n'
check "a bad line is reported as members.d/app:2" wait_for 3 status_says "members.d/app:2:1"
as_nobody "$SGCTL" -s "$SOCK" status >"$TMP/st.txt" 2>&1
as_nobody "$SGCTL" -s "$SOCK" --json status >"$TMP/st.json" 2>&1
check "a read-only user's status names the file and line" grep -q "members.d/app:2:1" "$TMP/st.txt"
check "but never the line's content (text)" eval '! grep -q "s3cr3t" "$TMP/st.txt"'
check "nor in JSON" eval '! grep -q "s3cr3t" "$TMP/st.json"'
check "nor in the log" eval '! grep -q "s3cr3t" "$LOG"'
push app '10.77.0.60\n10.77.0.61\n'
check "a valid file is applied again" wait_for 3 set_has 10.77.0.61

# --- 4. a huge sparse file ---------------------------------------------
truncate -s 200G "$MD/.big" && mv -f "$MD/.big" "$MD/app"
check "the 200 GB file is refused as too big" wait_for 3 status_says "members.d/app: file is .* over the limit"
sgctl reload >"$TMP/out" 2>&1; rc=$?
check "reload succeeds with it (rc $rc: $(head -c 100 "$TMP/out"))" [ $rc = 0 ]
check "the group keeps the last valid members" eval 'set_has 10.77.0.61'
# an unconfirmed apply is rolled back although the big file is there
sed -i 's/ports: 22$/ports: 2222/' "$CONF/groups.d/db.yaml"
sgctl apply --confirm 2 >"$TMP/out" 2>&1; rc=$?
check "apply --confirm 2 exits 0 (rc $rc)" [ $rc = 0 ]
check "the new rule (2222) is in force" wait_for 3 eval 'nsx nft list table inet sgd | grep -q 2222'
check "rolled back without confirm despite the big file" \
	wait_for 10 eval '! nsx nft list table inet sgd | grep -q 2222'
check "status says it was rolled back" status_says "rolled back"
check "no rollback failure was logged" eval '! grep -q "rollback failed" "$LOG"'
sed -i 's/ports: 2222$/ports: 22/' "$CONF/groups.d/db.yaml"
stop_sgd
check "sgd starts with the big file in place" start_sgd
chmod 0666 "$SOCK"
check "status reports it" status_says "members.d/app: file is .* over the limit"
check "after a start none of the file's members count" set_lacks 10.77.0.61
check "sgd's memory stayed small (VmRSS $(awk '/VmRSS/ {print $2}' /proc/$SGD_PID/status) kB < 200 MB)" \
	[ "$(awk '/VmRSS/ {print $2}' /proc/$SGD_PID/status)" -lt 204800 ]
push app '10.77.0.62\n'
check "a valid file is applied" wait_for 3 set_has 10.77.0.62

# --- 5. FIFOs ------------------------------------------------------------
timeout 300 python3 - "$MD" "$SWAPS" <<'EOF'
import os, sys
md, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.mkfifo(md + "/.fifo")
    os.rename(md + "/.fifo", md + "/app")
    with open(md + "/.reg", "w") as f:
        f.write("10.77.0.62\n")
    os.rename(md + "/.reg", md + "/app")
EOF
check "after $SWAPS FIFO/file swaps sgd answers" timeout 10 "$SGCTL" -s "$SOCK" status
check "and is not stuck opening a FIFO ($(cat /proc/$SGD_PID/wchan))" \
	eval '[ "$(cat /proc/$SGD_PID/wchan)" != fifo_open ]'
check "the file's members are in force" wait_for 3 set_has 10.77.0.62
mkfifo "$MD/app.fifo"
mv -f "$MD/app.fifo" "$MD/app"
check "a FIFO as members.d/app is refused, not read" wait_for 3 status_says "members.d/app: not a regular file"
push app '10.77.0.62\n'

# groups.d and sgd.yaml follow the same rules; `reload` names the file
reload_refuses() {	# WHAT NEEDLE: reload fails and says NEEDLE
	sgctl reload >"$TMP/out" 2>&1
	local rc=$?
	check "$1 (rc $rc): $(head -c 120 "$TMP/out")" \
		bash -c "[ $rc != 0 ] && grep -q '$2' '$TMP/out'"
}
mkfifo "$CONF/groups.d/pipe.yaml"
reload_refuses "a FIFO in groups.d is refused" "groups.d/pipe.yaml: not a regular file"
check "sgd answers after it" timeout 10 "$SGCTL" -s "$SOCK" status
rm -f "$CONF/groups.d/pipe.yaml"
cp "$CONF/groups.d/app.yaml" "$TMP/app.yaml"
ln -sf "$TMP/app.yaml" "$CONF/groups.d/app.yaml"
reload_refuses "a symlink in groups.d is refused" "groups.d/app.yaml: is a symbolic link"
rm -f "$CONF/groups.d/app.yaml"
cp "$TMP/app.yaml" "$CONF/groups.d/app.yaml"
chown nobody "$CONF/groups.d/app.yaml"
reload_refuses "a group file owned by another user is refused" "groups.d/app.yaml: owned by uid 65534"
chown root "$CONF/groups.d/app.yaml"
chmod 0777 "$CONF/groups.d"
reload_refuses "groups.d writable by others is refused" "writable by others"
chmod 0755 "$CONF/groups.d"
mv "$CONF/sgd.yaml" "$TMP/sgd.yaml"
ln -s "$TMP/sgd.yaml" "$CONF/sgd.yaml"
reload_refuses "a symlinked sgd.yaml is refused" "sgd.yaml: is a symbolic link"
rm -f "$CONF/sgd.yaml"
mv "$TMP/sgd.yaml" "$CONF/sgd.yaml"
sgctl reload >"$TMP/out" 2>&1; rc=$?
check "with the files fixed reload succeeds (rc $rc)" [ $rc = 0 ]
"$SGD" -t -c "$CONF" >/dev/null 2>&1; rc=$?
ln -sf /dev/null "$CONF/groups.d/null.yaml"
"$SGD" -t -c "$CONF" >"$TMP/out" 2>&1; rc2=$?
check "sgd -t follows the same rules ($rc then $rc2: $(head -c 80 "$TMP/out"))" \
	bash -c "[ $rc = 0 ] && [ $rc2 = 1 ] && grep -q 'null.yaml: is a symbolic link' '$TMP/out'"
rm -f "$CONF/groups.d/null.yaml"
stop_sgd

# --- 6. the state dir ---------------------------------------------------
mkdir -p "$TMP/victim/groups.d"
echo keep >"$TMP/victim/groups.d/a.yaml"
echo keep >"$TMP/victim/sgd.yaml"
echo keep >"$TMP/victimfile"
BAD=$TMP/badstate
mkdir -m 0755 "$BAD"
chown nobody "$BAD"
as_nobody ln -s "$TMP/victim" "$BAD/staging"
as_nobody ln -s "$TMP/victimfile" "$BAD/members.journal"
ip netns exec "$NS" timeout 20 "$SGD" -c "$CONF" -s "$SOCK" --state-dir "$BAD" >"$TMP/out" 2>&1; rc=$?
check "a state dir owned by another user: sgd refuses to start (rc $rc)" [ $rc = 1 ]
check "with a clear error ($(grep -m1 'state dir' "$TMP/out" | head -c 160))" \
	grep -q "state dir $BAD: refusing it: $BAD is owned by uid 65534" "$TMP/out"
check "the files the links point to are untouched" \
	bash -c "[ \"\$(cat '$TMP/victim/groups.d/a.yaml' '$TMP/victim/sgd.yaml' '$TMP/victimfile')\" = \"\$(printf 'keep\nkeep\nkeep')\" ]"
mkdir -m 0777 "$TMP/open"
ip netns exec "$NS" timeout 20 "$SGD" -c "$CONF" -s "$SOCK" --state-dir "$TMP/open/state" >"$TMP/out" 2>&1; rc=$?
check "a state dir under a parent writable by others: refused (rc $rc)" \
	bash -c "[ $rc = 1 ] && grep -q 'refusing it: $TMP/open is owned by uid 0 with mode 0777' '$TMP/out'"
chmod 1777 "$TMP/open"
check "under a sticky parent (like /tmp) it starts" start_sgd --state-dir "$TMP/open/state"
finish
