#!/usr/bin/env bash
# boot-test.sh — prove systemd/sgd.service under a real systemd.
#
# Builds sgd's Debian package (tests/boot/deb-build.sh: dpkg-buildpackage
# in a copy of SRCDIR, cached per source state), installs it with
# `apt install ./sgd_*.deb` into a minimal Debian 12 root, boots that
# (systemd-nspawn, its own network namespace), then, from outside
# (nsenter into the container), checks that:
#   - every installed file is where docs/install.md says, and the
#     package enabled the unit;
#   - the boot has sgd active, ordered before network-pre.target, with no
#     ordering cycle (with cloud-init-like units present), and its socket
#     is mode 0660;
#   - the watchdog pings keep it alive past WatchdogSec (4 s, or on a
#     slower machine 50 times what `sgd -t` of the test configuration
#     takes there);
#   - `systemctl reload` applies a new configuration;
#   - a reload with a bad configuration fails, and the unit stays active
#     with the old rules;
#   - `systemctl stop` leaves the rules in the kernel;
#   - a start with a bad configuration fails and leaves the rules in place;
#   - `systemctl start` returns (unit active) only once the rules are in
#     the kernel;
#   - a missed watchdog (SIGSTOP) restarts the daemon with a new MainPID;
#   - `systemd-analyze verify` is silent and `systemd-analyze security`
#     rates the unit 1.5 or lower;
#   - control_group works with the drop-in docs/install.md gives;
#   - the journal has the failed reload at priority warning with
#     SGD_EVENT=reload, "serving" at priority info, and the errors of a
#     failed start at priority err; with log_denied, a dropped datagram
#     is a journal entry at priority notice with SGD_EVENT=drop and its
#     fields;
#   - an upgrade (apt install of a newer version) restarts sgd with the
#     rules in the kernel all along (same table handle, no sample of the
#     table missing);
#   - purge removes /var/lib/sgd and leaves /etc/sgd and the rules;
#   - a fresh install without /etc/sgd/sgd.yaml enables sgd but starts
#     nothing, and it starts once the file exists.
# Not covered: on-demand loading of nf_tables modules (kernels with
# nf_tables built in, like the test machines', cannot show it).
#
# Environment: BUILDDIR, SRCDIR (set by meson test); optional
# SGD_TEST_CACHE (default /var/cache/sgd-test: the debootstrapped root is
# made once there, outside the clone), SGD_TEST_PREFIX (machine name
# prefix), SGD_TEST_MIRROR (Debian mirror; default: the one apt uses).
# Needs root, debootstrap and systemd-container.  Exits 0 on pass.
# No check depends on the machine's speed: every wait is for an event,
# and its time limit is a hang guard only.
set -euo pipefail

: "${BUILDDIR:?BUILDDIR must name the meson build directory}"
: "${SRCDIR:?SRCDIR must name the source directory}"
BUILDDIR=$(cd "$BUILDDIR" && pwd)
CACHE=${SGD_TEST_CACHE:-/var/cache/sgd-test}
ROOTFS=$CACHE/bookworm-rootfs
# libyaml (sgd, sgctl), json-c (sgctl import, sgd's fleet) and libcurl
# (sgd's fleet client) are the runtime libraries
# that minbase + nftables may lack.
PACKAGES=systemd,systemd-sysv,dbus,iproute2,nftables,libyaml-0-2,libjson-c5,libcurl4
MACHINE=${SGD_TEST_PREFIX:-sgdtest}-boot-$$
T0=$(date +%s)
. "$SRCDIR/tests/kernel/pace.sh"

COPY=""
NSPAWN_PID=""
LEADER=""
PASSED=0
FAILED=0

log() { printf '%s\n' "$*"; }
# meson shows only the last 100 lines of a failed test: what failed is
# said again after the diagnostics, so it is always among them.
NOT_OK=""
die() {
	printf 'boot-test: FATAL: %s\n' "$*" >&2
	dump_diagnostics
	printf 'boot-test: FATAL: %s\n' "$*" >&2
	[ -z "$NOT_OK" ] || printf 'boot-test: failed before it:%s\n' "$NOT_OK" >&2
	exit 1
}
ok() {
	PASSED=$((PASSED + 1))
	log "ok - $*"
}
not_ok() {
	FAILED=$((FAILED + 1))
	NOT_OK="$NOT_OK
  not ok - $*"
	log "not ok - $*"
}
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

for tool in debootstrap systemd-nspawn nsenter flock dpkg-buildpackage dpkg-deb; do
	command -v "$tool" >/dev/null || {
		echo "boot-test: $tool is missing (scripts/deps.sh test installs it)" >&2
		exit 1
	}
done
[ "$(id -u)" -eq 0 ] || { echo "boot-test: must run as root" >&2; exit 1; }

# ---------------------------------------------------------------------------
# The Debian root, made once.

# The mirror apt on this machine is configured with, so that debootstrap
# goes where the network allows.
debian_mirror() {
	local m=""
	if [ -n "${SGD_TEST_MIRROR:-}" ]; then
		echo "$SGD_TEST_MIRROR"
		return
	fi
	if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
		m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /debian/ && $i !~ /security/) { print $i; exit } }' \
			/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
	fi
	if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/ && $i ~ /debian/) { print $i; exit } }' \
			/etc/apt/sources.list | head -n1)
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

ensure_rootfs() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	# Hang guards only.  A debootstrap took more than 600 s on the loaded
	# 2-core test machine (7 Dec 2026, downloading and unpacking while
	# other suites ran), so allow 1800 s for it, and for waiting while
	# another run makes the root.
	timeout 2400 flock 9 || die "could not lock $CACHE/.lock"
	if [ -f "$ROOTFS/.sgd-test-packages" ] &&
		[ "$(cat "$ROOTFS/.sgd-test-packages")" = "$PACKAGES" ]; then
		exec 9>&-
		return
	fi
	local mirror tmp
	mirror=$(debian_mirror)
	tmp=$ROOTFS.tmp.$$
	rm -rf "$tmp"
	log "# debootstrap bookworm from $mirror into $ROOTFS (first run only)"
	if ! timeout 1800 debootstrap --variant=minbase --include="$PACKAGES" \
		bookworm "$tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
		tail -n 20 "$CACHE/debootstrap.log" >&2
		rm -rf "$tmp"
		die "debootstrap failed (log: $CACHE/debootstrap.log)"
	fi
	echo "$PACKAGES" >"$tmp/.sgd-test-packages"
	rm -rf "$ROOTFS"
	mv "$tmp" "$ROOTFS"
	exec 9>&-
}

# ---------------------------------------------------------------------------
# The container.

cx() { nsenter -t "$LEADER" -m -u -i -n -p -- "$@"; }
# Bounded command in the container: SECS is what it may need on an idle
# machine; the hang guard is 10 times that, for a loaded one.
cxt() {
	local secs=$1
	shift
	nsenter -t "$LEADER" -m -u -i -n -p -- timeout "$((secs * 10))" "$@"
}

dump_diagnostics() {
	[ -n "$LEADER" ] && [ -d "/proc/$LEADER" ] || return 0
	echo "---- journal of sgd.service (last 60 lines) ----" >&2
	cxt 10 journalctl -b -u sgd.service --no-pager -n 60 >&2 2>/dev/null || true
	echo "---- nft list table inet sgd ----" >&2
	cxt 10 nft list table inet sgd >&2 2>/dev/null || echo "(no table inet sgd)" >&2
	echo "---- systemctl status sgd ----" >&2
	cxt 10 systemctl status sgd.service --no-pager -l >&2 2>/dev/null || true
}

cleanup() {
	local rc=$?
	set +e
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		[ -n "$LEADER" ] && kill -RTMIN+4 "$LEADER" 2>/dev/null # poweroff
		pace_wait 120 eval '! kill -0 "$NSPAWN_PID"' || true
		if kill -0 "$NSPAWN_PID" 2>/dev/null; then
			echo "boot-test: container did not power off in 120 s, killing it" >&2
			kill -KILL "$NSPAWN_PID" 2>/dev/null
			sleep 1
		fi
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	[ -n "$COPY" ] && rm -rf "$COPY" "$COPY.console" "$COPY.apt" "$COPY.poll"
	rm -rf "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The container's PID 1 as seen from here: a child of systemd-nspawn whose
# innermost PID is 1.
find_leader() {
	local p c
	for p in $(cat /proc/"$NSPAWN_PID"/task/*/children 2>/dev/null); do
		for c in "$p" $(cat /proc/"$p"/task/*/children 2>/dev/null); do
			if grep -qE '^NSpid:.*[[:space:]]1$' "/proc/$c/status" 2>/dev/null &&
				[ "$(awk '/^NSpid:/ { print NF }' "/proc/$c/status")" -gt 2 ]; then
				echo "$c"
				return 0
			fi
		done
	done
	return 1
}

boot_container() {
	systemd-nspawn --register=no --keep-unit -b --private-network \
		--console=read-only -D "$COPY" --machine "$MACHINE" \
		>"$COPY.console" 2>&1 </dev/null &
	NSPAWN_PID=$!
	local state="" end
	# 120 s and 600 s: hang guards only
	end=$(($(date +%s) + 120))
	while [ "$(date +%s)" -lt "$end" ]; do
		LEADER=$(find_leader) && break
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		sleep 0.2
	done
	[ -n "$LEADER" ] || { tail -n 30 "$COPY.console" >&2; die "container did not start"; }
	# Wait for the boot to finish (bounded): running, or degraded if some
	# unrelated unit failed in the container.
	end=$(($(date +%s) + 600))
	while [ "$(date +%s)" -lt "$end" ]; do
		state=$(cxt 5 systemctl is-system-running 2>/dev/null) || true
		case "$state" in running | degraded) break ;; esac
		sleep 0.5
	done
	case "$state" in
	running | degraded) log "# container booted ($state), leader pid $LEADER" ;;
	*) tail -n 30 "$COPY.console" >&2; die "container did not finish booting (state '$state')" ;;
	esac
}

# ---------------------------------------------------------------------------
# Configuration helpers (written into the container's /etc/sgd).

write_config() { # PORT [EXTRA-SGD.YAML-LINE]
	local port=$1 extra=${2:-} etc=$COPY/etc/sgd
	mkdir -p "$etc/groups.d"
	cat >"$etc/sgd.yaml" <<-EOF
		table: sgd
		attach: [boot-test]
		$extra
	EOF
	cat >"$etc/groups.d/boot-test.yaml" <<-EOF
		name: boot-test
		description: boot test group
		ingress:
		  - protocol: tcp
		    ports: $port
		    from: [192.0.2.0/24, "2001:db8::/32"]
		    description: test port $port
	EOF
}

# The table sgd owns, as the kernel of the container's netns has it.
table_dump() { cxt 10 nft list table inet sgd 2>/dev/null; }
# Output is captured before grep: with pipefail, `nft ... | grep -q` fails
# whenever grep exits before nft has written everything (SIGPIPE).
table_has_port() {
	local t
	t=$(table_dump) || return 1
	grep -qw -- "$1" <<<"$t"
}
table_lacks_port() {
	local t
	t=$(table_dump) || return 1
	! grep -qw -- "$1" <<<"$t"
}
main_pid() { cxt 10 systemctl show -p MainPID --value sgd.service; }
unit_state() { cxt 10 systemctl is-active sgd.service 2>/dev/null || true; }
is_active() { [ "$(unit_state)" = active ]; }
nrestarts() { cxt 10 systemctl show -p NRestarts --value sgd.service; }
# The daemon is still process $1 (a real one, not 0 = no main process).
same_pid() { local p; p=$(main_pid); [ -n "$1" ] && [ "$1" != 0 ] && [ "$p" = "$1" ]; }
table_swapped() { table_has_port "$1" && table_lacks_port "$2"; }
journal_has_watchdog() {
	local j
	j=$(cxt 10 journalctl -b -u sgd.service --no-pager) || return 1
	grep -qi 'watchdog timeout' <<<"$j"
}

# ---------------------------------------------------------------------------

ensure_rootfs

COPY=$(mktemp -d "/var/tmp/$MACHINE.XXXXXX")
log "# copying the Debian root to $COPY"
cp -a "$ROOTFS/." "$COPY/"
echo "$MACHINE" >"$COPY/etc/hostname"

# Install exactly as a user would: apt installs the package and its
# dependencies (already in the root), and the package's postinst enables
# the unit.  It runs in a container that is not booted (systemd-nspawn
# gives apt the /proc and /dev/pts it needs, which a chroot lacks), so
# postinst starts nothing.  --private-network: apt cannot download
# anything, the dependencies must be in the root already.
DEB=$("$SRCDIR/tests/boot/deb-build.sh") || die "the Debian package did not build"
log "# package: $DEB ($(grep -h 'dpkg-buildpackage took' "$(dirname "$DEB")/build.log" 2>/dev/null || echo 'built earlier'))"
DEBNAME=$(basename "$DEB")
cp "$DEB" "$COPY/root/$DEBNAME"
if ! systemd-nspawn -q --register=no --keep-unit --private-network -D "$COPY" --machine "$MACHINE" \
	--pipe sh -c "cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y ./$DEBNAME" \
	>"$COPY.apt" 2>&1 </dev/null; then
	cat "$COPY.apt" >&2
	die "apt install ./$DEBNAME failed in the Debian root"
fi
check "apt install ./$DEBNAME: the package is installed" \
	sh -c "chroot '$COPY' dpkg-query -W -f='\${Status}' sgd | grep -qx 'install ok installed'"

# Where everything goes (docs/install.md, "Where everything goes").
SBIN=/usr/sbin
BIN=/usr/bin
DATA=/usr/share
MAN=/usr/share/man
UNIT=/lib/systemd/system/sgd.service
BASHCOMP=/usr/share/bash-completion/completions
for f in "$SBIN/sgd" "$BIN/sgctl"; do
	[ -x "$COPY$f" ] || die "the package did not install $f"
done
[ -f "$COPY$UNIT" ] || die "the package did not install $UNIT"
for f in "$SBIN/sgd" "$BIN/sgctl" "$UNIT" "$MAN/man8/sgd.8.gz" "$MAN/man8/sgctl.8.gz" \
	"$MAN/man5/sgd.yaml.5.gz" "$DATA/doc/sgd/examples/sgd.yaml"; do
	check "installed: $f" test -f "$COPY$f"
done
check "installed: $BASHCOMP/sgctl (bash completion)" \
	test -f "$COPY$BASHCOMP/sgctl"
check "installed: example groups in $DATA/doc/sgd/examples/groups.d" \
	sh -c "ls '$COPY$DATA/doc/sgd/examples/groups.d/'*.yaml >/dev/null 2>&1"
check "the package did not create /etc/sgd/sgd.yaml" test ! -e "$COPY/etc/sgd/sgd.yaml"
check "the package enabled the unit (sysinit.target.wants)" \
	test -L "$COPY/etc/systemd/system/sysinit.target.wants/sgd.service"
# man -l renders every installed page, and groff has nothing to warn about.
man_renders() {
	local warn
	command -v man >/dev/null || { echo "man is missing (apt-get install man-db)" >&2; return 1; }
	warn=$(MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null) || return 1
	[ -z "$warn" ] || { printf '%s\n' "$warn" >&2; return 1; }
}
for f in "$MAN/man8/sgd.8.gz" "$MAN/man8/sgctl.8.gz" "$MAN/man5/sgd.yaml.5.gz"; do
	check "man -l renders $(basename "$f") without warnings" man_renders "$COPY$f"
done
check "the unit runs the installed binaries ($SBIN/sgd, $BIN/sgctl)" \
	sh -c "grep -q '^ExecStart=$SBIN/sgd ' '$COPY$UNIT' && grep -q '^ExecReload=$BIN/sgctl reload' '$COPY$UNIT'"
libs=$(chroot "$COPY" ldd "$SBIN/sgd" "$BIN/sgctl" 2>&1) || true
if grep -q 'not found' <<<"$libs"; then
	chroot "$COPY" ldd "$SBIN/sgd" "$BIN/sgctl" >&2
	die "a library of sgd or sgctl is missing in the Debian 12 root"
fi

write_config 4242
# A short watchdog, so that the missed-watchdog check stays quick: 4 s, or
# on a slower machine 50 times what loading the configuration takes here
# (sgd -t, best of 5), so that the pings of a working daemon never miss it.
T_MS=$(pace_ms "$BUILDDIR/daemon/sgd" -t -c "$COPY/etc/sgd")
WATCHDOG_SEC=$(( ($(pace_bound "$T_MS" 50 4000) + 999) / 1000 ))
log "# sgd -t takes $T_MS ms here: WatchdogSec=${WATCHDOG_SEC}s"
mkdir -p "$COPY/etc/systemd/system/sgd.service.d"
cat >"$COPY/etc/systemd/system/sgd.service.d/50-boot-test.conf" <<EOF
[Service]
WatchdogSec=${WATCHDOG_SEC}s
TimeoutAbortSec=3s
EOF
# Stand-ins for cloud-init and ifupdown with their real ordering lines
# (cloud-init 23, Debian 12 ifupdown): firewalls ordered after
# basic.target form cycles with these; sgd must not.
stand_in() { # NAME UNIT-SECTION-LINES WANTEDBY
	printf '[Unit]\nDescription=stand-in for %s (boot test)\nDefaultDependencies=no\n%s\nConflicts=shutdown.target\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n[Install]\nWantedBy=%s\n' \
		"$1" "$2" "$3" >"$COPY/etc/systemd/system/$1"
}
stand_in cloud-init-local.service 'Wants=network-pre.target
After=systemd-remount-fs.service
Before=NetworkManager.service network-pre.target shutdown.target sysinit.target' sysinit.target
stand_in cloud-init.service 'Wants=cloud-init-local.service
After=cloud-init-local.service systemd-networkd-wait-online.service networking.service
Before=network-online.target sysinit.target systemd-user-sessions.service shutdown.target' sysinit.target
stand_in networking.service 'Wants=network.target
After=local-fs.target network-pre.target systemd-sysctl.service systemd-modules-load.service
Before=network.target shutdown.target network-online.target' multi-user.target
systemctl --root="$COPY" enable cloud-init-local.service cloud-init.service networking.service \
	>/dev/null 2>&1 || die "systemctl --root enable of the cloud-init stand-ins failed"

log "# booting $MACHINE"
boot_container

# --- the boot ---------------------------------------------------------------
check "after boot, sgd.service is active" is_active
check "after boot, the cloud-init and networking stand-ins ran" \
	cxt 10 systemctl is-active --quiet cloud-init-local.service cloud-init.service networking.service
check "after boot, table inet sgd has the configured rule (port 4242)" table_has_port 4242
# PID 1 logs the first transaction before journald runs: in a container
# that goes to the console only, so look at both.
if { cat "$COPY.console"; cxt 20 journalctl -b --no-pager; } | grep -i 'ordering cycle' >&2; then
	not_ok "the boot (console and journal) has no ordering cycle"
else
	ok "the boot (console and journal) has no ordering cycle"
fi
sgd_ts=$(cxt 10 systemctl show -p ActiveEnterTimestampMonotonic --value sgd.service)
pre_ts=$(cxt 10 systemctl show -p ActiveEnterTimestampMonotonic --value network-pre.target)
check "sgd was active ($sgd_ts us) before network-pre.target was reached ($pre_ts us)" \
	test "${sgd_ts:-0}" -gt 0 -a "${pre_ts:-0}" -ge "${sgd_ts:-0}"
sock_mode=$(cxt 10 stat -c '%a %F' /run/sgd/sgd.sock 2>/dev/null || true)
check "the control socket is a 0660 socket despite UMask=0077 (got '$sock_mode')" \
	test "$sock_mode" = "660 socket"
check "sgctl status talks to the daemon in the container" cxt 10 "$BIN/sgctl" status
# The sandbox is really applied: CAP_NET_ADMIN (bit 12) is the only
# capability, a seccomp filter is on, no new privileges.
pstatus=$(cxt 10 cat "/proc/$(main_pid)/status" 2>/dev/null || true)
caps=$(awk '/^Cap(Eff|Bnd|Prm):/ { printf "%s%s", sep, $2; sep = " " }' <<<"$pstatus")
check "the daemon holds CAP_NET_ADMIN only (CapPrm CapEff CapBnd: $caps)" \
	test "$caps" = "0000000000001000 0000000000001000 0000000000001000"
check "the daemon runs under seccomp with NoNewPrivs" \
	eval 'grep -q "^Seccomp:[[:space:]]*2" <<<"$pstatus" && grep -q "^NoNewPrivs:[[:space:]]*1" <<<"$pstatus"'
verify=$(cxt 30 systemd-analyze verify --man=no sgd.service 2>&1) || verify="failed: $verify"
[ -z "$verify" ] || printf '%s\n' "$verify" >&2
check "systemd-analyze verify sgd.service finds nothing to say" test -z "$verify"
exposure=$(cxt 30 systemd-analyze security --offline=true "$UNIT" 2>/dev/null |
	sed -n 's/.*Overall exposure level for sgd.service: \([0-9.]*\).*/\1/p')
log "# systemd-analyze security: exposure ${exposure:-unknown}"
check "the unit's exposure (${exposure:-unknown}) is at most 1.5" \
	awk -v e="${exposure:-99}" 'BEGIN { exit !(e + 0 <= 1.5) }'

# --- watchdog pings ---------------------------------------------------------
pid0=$(main_pid)
sleep $((WATCHDOG_SEC + 2))
check "the daemon's pings keep it alive past WatchdogSec=${WATCHDOG_SEC}s (same MainPID, NRestarts=0)" \
	eval 'same_pid "$pid0" && [ "$(nrestarts)" = 0 ]' 

# --- reload -----------------------------------------------------------------
write_config 4343
if cxt 30 systemctl reload sgd.service; then ok "systemctl reload with a new config succeeds"; else not_ok "systemctl reload with a new config succeeds"; fi
check "right after the reload, the kernel has the new rule (4343) and not the old (4242)" \
	table_swapped 4343 4242
check "the reload kept the same process" same_pid "$pid0"

# --- bad reload -------------------------------------------------------------
write_config 70000
if cxt 30 systemctl reload sgd.service 2>/dev/null; then
	not_ok "systemctl reload with a bad config fails"
else
	ok "systemctl reload with a bad config fails"
fi
check "after the failed reload the unit is still active" is_active
check "after the failed reload the old rules (4343) are in force" table_has_port 4343
check "after the failed reload the same process runs" same_pid "$pid0"

# --- the journal: priorities and fields (docs/logging.md) ------------------
# The failed reload is at priority warning with SGD_EVENT=reload and the
# error; "serving" is at info, so `journalctl -u sgd -p warning` leaves it
# out.
jr=$(cxt 20 journalctl -b -u sgd.service -p warning SGD_EVENT=reload -o export --no-pager 2>/dev/null) || jr=""
check "journalctl -u sgd -p warning SGD_EVENT=reload: the failed reload, PRIORITY=4, with its error" \
	eval 'grep -qx "PRIORITY=4" <<<"$jr" && grep -qx "SGD_EVENT=reload" <<<"$jr" &&
		grep -qx "SYSLOG_IDENTIFIER=sgd" <<<"$jr" &&
		grep -q "^MESSAGE=reload failed, the previous rules stay: [^ ]*groups.d/boot-test.yaml:[0-9]*:[0-9]*: ports: 70000 is out of range" <<<"$jr"'
ji=$(cxt 20 journalctl -b -u sgd.service -p 6..6 -o cat --no-pager 2>/dev/null) || ji=""
jw=$(cxt 20 journalctl -b -u sgd.service -p warning -o cat --no-pager 2>/dev/null) || jw=""
check "the journal has 'serving' at priority info (6) and not in -p warning" \
	eval 'grep -q "^serving /run/sgd/sgd.sock" <<<"$ji" && ! grep -q "^serving" <<<"$jw"'
check "the journal has 'reloaded' at info with SGD_EVENT=reload" \
	eval 'cxt 20 journalctl -b -u sgd.service -p 6..6 SGD_EVENT=reload -o cat --no-pager | grep -q "^reloaded /etc/sgd"'

# --- a dropped packet is a journal entry (log_denied; docs/logging.md) ------
# egress: [] and log_denied: true, then one datagram out of the
# container's own (private) network namespace, routed to a veth pair
# created there: sgd's output chain drops and logs it, and sgd
# writes it to the journal at priority notice with its fields.
write_config 4343 "log_denied: true"
echo "egress: []" >>"$COPY/etc/sgd/groups.d/boot-test.yaml"
cxt 30 systemctl reload sgd.service || not_ok "systemctl reload with log_denied: true"
cxt 10 ip link add sgdrop0 type veth peer name sgdrop1 2>/dev/null || true
cxt 10 ip addr add 10.9.9.1/24 dev sgdrop0 2>/dev/null || true
cxt 10 ip link set sgdrop1 up || true
cxt 10 ip link set sgdrop0 up || true
jd=""
for i in $(seq 100); do	# awaited, not slept for: 100 tries is a hang guard
	cxt 10 bash -c 'echo drop >/dev/udp/10.9.9.2/9' 2>/dev/null || true
	jd=$(cxt 20 journalctl -b -u sgd.service SGD_EVENT=drop -o export --no-pager 2>/dev/null) || jd=""
	grep -qx "SGD_EVENT=drop" <<<"$jd" && break
	sleep 0.2
done
check "journalctl -u sgd SGD_EVENT=drop: the dropped datagram, PRIORITY=5, with its fields" \
	eval 'grep -qx "PRIORITY=5" <<<"$jd" && grep -qx "SGD_DIR=out" <<<"$jd" &&
		grep -qx "SGD_PROTO=udp" <<<"$jd" && grep -qx "SGD_DST=10.9.9.2" <<<"$jd" &&
		grep -qx "SGD_DPORT=9" <<<"$jd"'
cxt 10 ip link del sgdrop0 2>/dev/null || true

# --- stop leaves the rules --------------------------------------------------
write_config 4343
cxt 30 systemctl stop sgd.service || not_ok "systemctl stop sgd.service"
check "systemctl stop: the unit is inactive" test "$(unit_state)" = inactive
check "systemctl stop leaves the rules in the kernel (4343)" table_has_port 4343

# --- a start with a bad config fails and opens nothing ----------------------
write_config 70000
if cxt 30 systemctl start sgd.service 2>/dev/null; then
	not_ok "systemctl start with a bad config fails (ExecStartPre=sgd -t)"
else
	ok "systemctl start with a bad config fails (ExecStartPre=sgd -t)"
fi
check "the failed start left the rules in place (4343)" table_has_port 4343
je=$(cxt 20 journalctl -b -u sgd.service -p err -o cat --no-pager 2>/dev/null) || je=""
check "journalctl -u sgd -p err: why the start failed (sgd -t)" \
	grep -q "^configuration refused: [^ ]*groups.d/boot-test.yaml:[0-9]*:[0-9]*: ports: 70000 is out of range" <<<"$je"
# Cancel the automatic restart (Restart=on-failure) of the failed start.
cxt 30 systemctl stop sgd.service 2>/dev/null || true
cxt 10 systemctl reset-failed sgd.service 2>/dev/null || true

# --- active only once the rules are in the kernel ---------------------------
# Remove the table, then start: `systemctl start` returns when the unit is
# active (READY=1 for Type=notify), so the rules must be there at once.
cxt 10 nft delete table inet sgd || die "could not delete table inet sgd in the container"
write_config 4545
if cxt 30 systemctl start sgd.service; then
	if table_has_port 4545; then
		ok "when systemctl start returns (unit active) the rules are already in the kernel"
	else
		not_ok "when systemctl start returns (unit active) the rules are already in the kernel"
	fi
else
	not_ok "systemctl start sgd.service"
fi
check "the unit is active after start" is_active

# --- missed watchdog --------------------------------------------------------
pid1=$(main_pid)
r0=$(nrestarts)
cxt 10 sh -c "kill -STOP $pid1" || die "could not SIGSTOP sgd ($pid1)"
newpid=""
# the watchdog fires after WatchdogSec; 300 s more is a hang guard only
end=$(($(date +%s) + WATCHDOG_SEC + 300))
while [ "$(date +%s)" -lt "$end" ]; do
	p=$(main_pid)
	if [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$pid1" ] && is_active; then
		newpid=$p
		break
	fi
	sleep 0.5
done
check "a missed watchdog restarts sgd (MainPID $pid1 -> ${newpid:-none})" test -n "$newpid"
check "NRestarts went up after the watchdog" test "$(nrestarts)" -gt "$r0"
check "the journal records the watchdog timeout" journal_has_watchdog
check "after the watchdog restart the rules are in the kernel (4545)" table_has_port 4545

# --- control_group with the documented drop-in -----------------------------
# docs/install.md: the shipped unit withholds CAP_CHOWN, so control_group
# needs a drop-in; with it, members of the group may reload.
cxt 10 groupadd sgtestadm && cxt 10 useradd -M -G sgtestadm sgtestop &&
	cxt 10 useradd -M sgtestother || die "could not create the test users"
write_config 4646 "control_group: sgtestadm"
cat >"$COPY/etc/systemd/system/sgd.service.d/60-control-group.conf" <<EOF
[Service]
CapabilityBoundingSet=CAP_NET_ADMIN CAP_CHOWN
SystemCallFilter=@chown
EOF
cxt 30 systemctl daemon-reload || die "daemon-reload failed"
cxt 30 systemctl restart sgd.service || not_ok "systemctl restart with control_group"
sock_group=$(cxt 10 stat -c '%G %a' /run/sgd/sgd.sock 2>/dev/null || true)
check "with the drop-in, the socket belongs to control_group (got '$sock_group')" \
	test "$sock_group" = "sgtestadm 660"
check "a member of control_group may reload" \
	cxt 30 runuser -u sgtestop -- "$BIN/sgctl" reload
check "the rules of that reload are in force (4646)" table_has_port 4646
if cxt 30 runuser -u sgtestother -- "$BIN/sgctl" reload >/dev/null 2>&1; then
	not_ok "a user outside control_group may not reload"
else
	ok "a user outside control_group may not reload"
fi

# --- upgrade: a restart with no window --------------------------------------
# The same package with a higher version, installed over the running one:
# postinst restarts sgd (dh_installsystemd --restart-after-upgrade, no
# stop before the unpack), and the table never leaves the kernel.  A
# sampler in the container lists the table back to back all the while.
UPDIR=$(mktemp -d "/var/tmp/$MACHINE.up.XXXXXX")
dpkg-deb -R "$DEB" "$UPDIR/pkg" || die "dpkg-deb -R $DEB failed"
sed -i 's/^Version: .*/&+boottest1/' "$UPDIR/pkg/DEBIAN/control"
dpkg-deb -b "$UPDIR/pkg" "$COPY/root/sgd_upgrade.deb" >/dev/null || die "dpkg-deb -b failed"
rm -rf "$UPDIR"
pid_up=$(main_pid)
handle0=$(cxt 10 nft -a list table inet sgd 2>/dev/null | sed -n '1s/.*# handle \([0-9]*\).*/\1/p')
cxt 10 rm -f /run/sgd-boot-poll-stop
nsenter -t "$LEADER" -m -u -i -n -p -- timeout 300 sh -c \
	'while [ ! -e /run/sgd-boot-poll-stop ]; do
		if nft list table inet sgd >/dev/null 2>&1; then echo ok; else echo gap; fi
	done' >"$COPY.poll" 2>&1 &
POLL_PID=$!
if cxt 300 sh -c "cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y ./sgd_upgrade.deb" >"$COPY.apt" 2>&1; then
	ok "apt install of a newer version over the running sgd"
else
	cat "$COPY.apt" >&2
	not_ok "apt install of a newer version over the running sgd"
fi
# A few more samples after the restart, then stop the sampler.
n0=$(grep -c . "$COPY.poll" || true)
for _ in $(seq 1 100); do
	[ "$(grep -c . "$COPY.poll" || true)" -ge $((n0 + 10)) ] && break
	sleep 0.1
done
cxt 10 touch /run/sgd-boot-poll-stop
wait "$POLL_PID" 2>/dev/null || true
handle1=$(cxt 10 nft -a list table inet sgd 2>/dev/null | sed -n '1s/.*# handle \([0-9]*\).*/\1/p')
samples=$(grep -c '^ok$' "$COPY.poll" || true)
gaps=$(grep -c '^gap$' "$COPY.poll" || true)
log "# upgrade: $samples samples of the table, $gaps without it; table handle $handle0 -> $handle1"
v_up=$(cxt 10 dpkg-query -W -f='${Version}' sgd 2>/dev/null) || v_up=""
check "the upgrade installed the new version ($v_up)" \
	test "$v_up" = "$(dpkg-deb -f "$DEB" Version)+boottest1"
check "the upgrade restarted sgd (MainPID $pid_up -> $(main_pid)) and it is active" \
	eval 'is_active && ! same_pid "$pid_up"'
check "the table was in the kernel at every one of the $samples samples during the upgrade" \
	test "$gaps" = 0 -a "$samples" -gt 0
check "after the upgrade the rules are in force (4646)" table_has_port 4646

# --- purge ------------------------------------------------------------------
check "before purge, sgd has its state in /var/lib/sgd" test -d "$COPY/var/lib/sgd"
if cxt 300 sh -c "DEBIAN_FRONTEND=noninteractive apt-get purge -y sgd" >"$COPY.apt" 2>&1; then
	ok "apt-get purge sgd"
else
	cat "$COPY.apt" >&2
	not_ok "apt-get purge sgd"
fi
check "purge removed /var/lib/sgd" test ! -e "$COPY/var/lib/sgd"
check "purge left the administrator's /etc/sgd/sgd.yaml" test -f "$COPY/etc/sgd/sgd.yaml"
check "purge stopped sgd and left its rules in the kernel (4646)" \
	eval '[ "$(unit_state)" != active ] && table_has_port 4646'

# --- a fresh install without configuration starts nothing ------------------
mv "$COPY/etc/sgd/sgd.yaml" "$COPY/etc/sgd/sgd.yaml.off"
cxt 10 nft delete table inet sgd || die "could not delete table inet sgd in the container"
if cxt 300 sh -c "cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y ./$DEBNAME" >"$COPY.apt" 2>&1; then
	ok "apt install ./$DEBNAME again, without /etc/sgd/sgd.yaml"
else
	cat "$COPY.apt" >&2
	not_ok "apt install ./$DEBNAME again, without /etc/sgd/sgd.yaml"
fi
check "without sgd.yaml the unit is enabled but not started (ConditionPathExists)" \
	eval '[ "$(cxt 10 systemctl is-enabled sgd.service)" = enabled ] &&
		[ "$(unit_state)" = inactive ] &&
		[ "$(cxt 10 systemctl show -p ConditionResult --value sgd.service)" = no ]'
check "without sgd.yaml there is no table inet sgd" eval '! table_dump >/dev/null'
mv "$COPY/etc/sgd/sgd.yaml.off" "$COPY/etc/sgd/sgd.yaml"
cxt 30 systemctl start sgd.service || not_ok "systemctl start sgd.service once sgd.yaml exists"
check "once sgd.yaml exists, systemctl start runs sgd with its rules (4646)" \
	eval 'is_active && table_has_port 4646'

log "# boot test took $(($(date +%s) - T0)) s"
[ "$FAILED" -eq 0 ] || { dump_diagnostics; log "boot: what failed:$NOT_OK"; }
log "boot: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
