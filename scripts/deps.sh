#!/usr/bin/env bash
# Install what building and testing sgd needs on Debian 12 (idempotent).
# Usage: scripts/deps.sh [build|test|bench]   (default: test)
set -euo pipefail
what=${1:-test}
build_pkgs=(gcc libc6-dev meson ninja-build pkg-config libnftnl-dev libmnl-dev libyaml-dev libjson-c-dev check
            libsystemd-dev libcurl4-openssl-dev)
# The test command runs every suite, the benchmark's smoke run included,
# so "test" installs what the benchmark uses too (a fresh machine has
# none of it); "bench" is kept as a name for bench/run.sh.  strace aims
# rel_crash's kills (syscall fault injection); dpkg-dev gives
# dpkg-buildflags for the packager's build in scripts/test.
test_pkgs=(nftables iproute2 iputils-ping netcat-openbsd socat python3 valgrind clang
           libclang-rt-14-dev debootstrap systemd-container man-db groff-base procps psmisc
           strace dpkg-dev gnuplot-nox hyperfine docker.io busybox-static prometheus python3-prometheus-client
           debhelper lintian devscripts etcd-server etcd-client openssl)
pkgs=("${build_pkgs[@]}")
case "$what" in
build) ;;
test|bench) pkgs+=("${test_pkgs[@]}") ;;
*) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# docker.io is for tests/kernel/forward_docker.sh, which runs its own
# dockerd in a network namespace.  The package would start docker.service
# (and containerd.service) in the root namespace, where dockerd rewrites
# the host's firewall: mask them before the install, so they never start.
# etcd-server (tests/kernel/fleet_etcd.sh runs its own cluster in network
# namespaces) would start etcd.service in the root namespace: masked too.
if [ "$what" != build ]; then
	mkdir -p /etc/systemd/system
	for u in docker.service docker.socket containerd.service etcd.service; do
		[ -e "/etc/systemd/system/$u" ] || ln -s /dev/null "/etc/systemd/system/$u"
	done
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload
		systemctl disable --now docker.service docker.socket containerd.service etcd.service \
			>/dev/null 2>&1 || true	# absent before the install: nothing to stop
	fi
fi
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
