#!/usr/bin/env bash
# deb-build.sh — build sgd's Debian package from SRCDIR, once per source
# state, for the boot and package tests; prints the path of the .deb.
#
# dpkg-buildpackage -us -uc -b runs in a copy of the source (the files
# git tracks or would track, with their working-tree contents) under
# /var/tmp, so the clone stays clean.  The result goes to
# BUILDDIR/deb/HASH/, HASH being the hash of those files: the second test
# that asks reuses it, a changed file builds again.  The unit tests are
# not run here (DEB_BUILD_OPTIONS=nocheck): the unit suite runs them.
#
# Environment: BUILDDIR, SRCDIR.  Output: the .deb's path on stdout, the
# build log in BUILDDIR/deb/HASH/build.log.  Exits non-zero on failure.
set -euo pipefail
: "${BUILDDIR:?BUILDDIR must name the meson build directory}"
: "${SRCDIR:?SRCDIR must name the source directory}"
BUILDDIR=$(cd "$BUILDDIR" && pwd)
SRCDIR=$(cd "$SRCDIR" && pwd)
for tool in dpkg-buildpackage dpkg-checkbuilddeps flock sha256sum tar; do
	command -v "$tool" >/dev/null || {
		echo "deb-build: $tool is missing (scripts/deps.sh test installs it)" >&2
		exit 1
	}
done

# The source files, NUL-separated: git's view when SRCDIR is a clone,
# else everything but build directories.
list_sources() {
	if git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$SRCDIR" ls-files -z -c -o --exclude-standard |
			while IFS= read -r -d '' f; do
				[ -e "$SRCDIR/$f" ] && printf '%s\0' "$f"
			done
	else
		(cd "$SRCDIR" && find . -path ./build\* -prune -o -path ./obj-\* -prune -o \
			-path ./.git -prune -o -path ./debian/sgd -prune -o -type f -printf '%P\0')
	fi
}

mkdir -p "$BUILDDIR/deb"
exec 8>"$BUILDDIR/deb/.lock"
timeout 1800 flock 8 || { echo "deb-build: could not lock $BUILDDIR/deb/.lock" >&2; exit 1; }

files=$(mktemp)
trap 'rm -f "$files"' EXIT
list_sources | sort -z >"$files"
hash=$( (cd "$SRCDIR" && xargs -0 sha256sum -- <"$files") | sha256sum | cut -c1-16)
out=$BUILDDIR/deb/$hash
deb=$(ls "$out"/sgd_*.deb 2>/dev/null | head -n1 || true)
if [ -n "$deb" ] && [ -f "$out/.done" ]; then
	echo "$deb"
	exit 0
fi

# Only one cached build is kept.
find "$BUILDDIR/deb" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
work=$(mktemp -d /var/tmp/sgd-deb.XXXXXX)
trap 'rm -f "$files"; rm -rf "$work"' EXIT
mkdir -p "$work/sgd" "$out"
(cd "$SRCDIR" && tar --null -T "$files" -cf -) | tar -xf - -C "$work/sgd"
t0=$(date +%s)
if ! (cd "$work/sgd" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" >&2
	echo "deb-build: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
fi
echo "# dpkg-buildpackage took $(($(date +%s) - t0)) s" >>"$out/build.log"
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out/"
touch "$out/.done"
ls "$out"/sgd_*.deb | grep -v dbgsym | head -n1
