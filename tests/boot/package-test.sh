#!/usr/bin/env bash
# package-test.sh — the Debian package as built by dpkg-buildpackage
# (tests/boot/deb-build.sh): lintian reports no error and no warning,
# hardening-check says yes to every item for sgd and sgctl, and the
# package has the layout and maintainer scripts docs/install.md
# describes (no conffile, examples under /usr/share/doc, the unit
# conditioned on /etc/sgd/sgd.yaml, restart after upgrade without a stop
# before it, purge removes /var/lib/sgd).  The boot test installs the
# same .deb into a booted Debian 12.
# Environment: BUILDDIR, SRCDIR.  Needs dpkg-dev, debhelper, lintian,
# devscripts (hardening-check).
set -u
: "${BUILDDIR:?BUILDDIR must be set}"
: "${SRCDIR:?SRCDIR must be set}"
for tool in lintian hardening-check dpkg-deb; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/deps.sh test)"; exit 1; }
done
FAILS=0
PASSES=0
ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
bad() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
TMP=$(mktemp -d /tmp/sgC9-pkg.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

DEB=$("$SRCDIR/tests/boot/deb-build.sh") || { echo "FAIL: the package did not build"; exit 1; }
DIR=$(dirname "$DEB")
echo "# package: $DEB"
CHANGES=$(ls "$DIR"/sgd_*.changes | head -n1)

# lintian over the .changes (the .deb and its dbgsym); -I shows info tags
# too, only E: and W: count.
lintian --pedantic -I --tag-display-limit 0 "$CHANGES" >"$TMP/lintian" 2>&1
lrc=$?
cat "$TMP/lintian"
if [ $lrc -le 2 ] && ! grep -qE '^[EW]: ' "$TMP/lintian"; then
	ok "lintian: no error and no warning (exit $lrc)"
else
	bad "lintian: no error and no warning (exit $lrc)"
fi

dpkg-deb -x "$DEB" "$TMP/root"
dpkg-deb -e "$DEB" "$TMP/ctrl"
for b in usr/sbin/sgd usr/bin/sgctl; do
	hc=$(hardening-check "$TMP/root/$b" 2>&1)
	hrc=$?
	printf '%s\n' "$hc"
	if [ $hrc -eq 0 ] && ! grep -v "^$TMP" <<<"$hc" | grep -v ': yes' | grep -q .; then
		ok "hardening-check /$b: every item yes"
	else
		bad "hardening-check /$b: every item yes"
	fi
done

check "no conffile (/etc/sgd is the administrator's)" test ! -s "$TMP/ctrl/conffiles"
check "nothing under /etc in the package" test ! -e "$TMP/root/etc"
check "the example configuration is under /usr/share/doc/sgd/examples" \
	test -f "$TMP/root/usr/share/doc/sgd/examples/sgd.yaml" -a -d "$TMP/root/usr/share/doc/sgd/examples/groups.d"
UNIT=$TMP/root/lib/systemd/system/sgd.service
check "the unit is in /lib/systemd/system" test -f "$UNIT"
check "the unit starts only with /etc/sgd/sgd.yaml" grep -qx 'ConditionPathExists=/etc/sgd/sgd.yaml' "$UNIT"
check "bash completion in /usr/share/bash-completion/completions/sgctl" \
	test -f "$TMP/root/usr/share/bash-completion/completions/sgctl"
n=$(dpkg-deb -c "$DEB" | grep -c 'completions/sgctl$')
check "the completion is in the package once (got $n)" test "$n" = 1
check "postinst restarts sgd on upgrade and starts it on install" \
	grep -q '_dh_action=restart' "$TMP/ctrl/postinst"
check "prerm stops sgd only on remove, never before an upgrade" \
	sh -c "! grep -q 'deb-systemd-invoke stop' '$TMP/ctrl/prerm' || grep -q '\"\$1\" = remove' '$TMP/ctrl/prerm'"
check "postrm purge removes /var/lib/sgd" \
	sh -c "sed -n '/\"\$1\" = purge/,/^fi/p' '$TMP/ctrl/postrm' | grep -q 'rm -rf /var/lib/sgd'"
mver=$(sed -n "s/^  version : '\([^']*\)'.*/\1/p" "$SRCDIR/meson.build")
check "the package version is meson.build's ($mver)" test "$(dpkg-deb -f "$DEB" Version)" = "$mver"
deps=$(dpkg-deb -f "$DEB" Depends)
echo "# Depends: $deps"
for l in libnftnl11 libmnl0 libyaml-0-2 libsystemd0; do
	check "Depends names $l" grep -q "$l" <<<"$deps"
done

echo "package: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
