#!/usr/bin/env bash
# Install what building and testing sgd needs on Debian 12 (idempotent).
# Usage: scripts/deps.sh [build|test|bench]   (default: test)
set -euo pipefail
what=${1:-test}
build_pkgs=(gcc libc6-dev meson ninja-build pkg-config libnftnl-dev libmnl-dev libyaml-dev check)
test_pkgs=(nftables iproute2 iputils-ping netcat-openbsd socat python3 valgrind clang
           libclang-rt-14-dev debootstrap systemd-container man-db groff-base procps psmisc
           docker.io busybox-static)
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
# docker.io is for tests/kernel/forward_docker.sh, which runs its own
# dockerd in a network namespace.  The package would start docker.service
# (and containerd.service) in the root namespace, where dockerd rewrites
# the host's firewall: mask them before the install, so they never start.
if [ "$what" != build ]; then
	mkdir -p /etc/systemd/system
	for u in docker.service docker.socket containerd.service; do
		[ -e "/etc/systemd/system/$u" ] || ln -s /dev/null "/etc/systemd/system/$u"
	done
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload
		systemctl disable --now docker.service docker.socket containerd.service \
			>/dev/null 2>&1 || true	# absent before the install: nothing to stop
	fi
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
