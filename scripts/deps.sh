#!/usr/bin/env bash
# Install what building and testing sgd needs on Debian 12 (idempotent).
# Usage: scripts/deps.sh [build|test|bench]   (default: test)
set -euo pipefail
what=${1:-test}
build_pkgs=(gcc libc6-dev meson ninja-build pkg-config libnftnl-dev libmnl-dev libyaml-dev libsystemd-dev check)
test_pkgs=(nftables iproute2 iputils-ping netcat-openbsd socat python3 valgrind clang
           libclang-rt-14-dev debootstrap systemd-container man-db groff-base procps psmisc
           dpkg-dev debhelper lintian devscripts)
bench_pkgs=(gnuplot-nox hyperfine)
pkgs=("${build_pkgs[@]}")
case "$what" in
build) ;;
test) pkgs+=("${test_pkgs[@]}") ;;
bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
*) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
