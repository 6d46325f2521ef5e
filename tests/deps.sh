#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need (Debian 12, as root).
# The one list of dependencies: .ci/run, tests/run-all.sh and tests/demo.sh use it.
# prometheus (promtool) and icinga2: test_monitoring.sh runs the real clients.
# debhelper, dpkg-dev, fakeroot, rpm: packaging/build-deb.sh and build-rpm.sh
# (test_packaging.sh), which also checks them with lintian and rpmlint
# (lintian pulls in ~130 packages, once per machine). debootstrap and
# systemd-container (systemd-nspawn): test_systemd.sh boots the .deb in a
# Debian 12 container.
set -euo pipefail
PKGS=(
	build-essential autoconf automake libtool pkg-config
	libcurl4-openssl-dev libmnl-dev libjson-c-dev libsystemd-dev libcriterion-dev
	frr gobgpd iproute2 socat procps nginx-light openssl nsd exabgp
	unbound gnuplot-nox
	dbus-daemon	# test_process.c: a fake systemd on a private bus
	clang libclang-rt-14-dev
	debhelper dpkg-dev fakeroot rpm lintian rpmlint
	debootstrap systemd-container
	prometheus icinga2
	strace python3	# tests/bench/run.sh: system calls per check; gen_mrt.py, probe-stats
	jq	# test_trust.sh: tampers with the main file and state file
	curl	# tests/bench/bench_vs_exabgp.sh: ExaBGP's healthcheck in http mode
)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
echo "deps: installed ${#PKGS[@]} packages"
