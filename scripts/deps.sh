#!/usr/bin/env bash
# Install what building and testing sgd needs on Debian 12 (idempotent).
# Usage: scripts/deps.sh [build|test|bench]   (default: test)
set -euo pipefail
what=${1:-test}
build_pkgs=(gcc libc6-dev meson ninja-build pkg-config libnftnl-dev libmnl-dev libyaml-dev check
            libsystemd-dev)
test_pkgs=(nftables iproute2 iputils-ping netcat-openbsd socat python3 valgrind clang
           libclang-rt-14-dev debootstrap systemd-container man-db groff-base procps psmisc
           prometheus python3-prometheus-client)
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
	# No service of a test package may start in the root namespace (the
	# prometheus package starts a server on :9090): without a policy-rc.d
	# of the host's own, one that forbids starting is in place during the
	# install.
	policy=/usr/sbin/policy-rc.d
	own_policy=false
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		own_policy=true
		trap 'rm -f "$policy"' EXIT
	fi
	rc=0
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	if $own_policy; then rm -f "$policy"; fi
	[ "$rc" = 0 ] || exit "$rc"
fi
# We need promtool from the prometheus package, not its server: keep the
# server stopped and masked (idempotent; also fixes an earlier install).
if [ "$what" != build ] && [ -e /lib/systemd/system/prometheus.service ]; then
	if [ -d /run/systemd/system ]; then
		systemctl stop prometheus.service >/dev/null 2>&1 || true
	fi
	systemctl disable prometheus.service >/dev/null 2>&1 || true
	systemctl mask prometheus.service >/dev/null 2>&1 ||
		ln -sf /dev/null /etc/systemd/system/prometheus.service
fi
