#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit tests (also under
# ASan/UBSan) and the integration tests against real FRR and GoBGP.
# Run as root on Debian 12. AHD_SKIP_DEPS=1 skips the apt-get step.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "${AHD_SKIP_DEPS:-0}" = 1 ] || bash tests/deps.sh || exit 1

fail=0
step() { echo; echo "=== $* (at ${SECONDS}s)"; }

# What this run makes (the build, certificates, test files) must be readable
# by the unprivileged users the tests run things as, whatever the caller's
# umask (027 on hardened machines).
umask 022

# The tests run plugins from the checkout (tests/unit/data/exec) as root,
# under the daemon's trust rules (the file and every directory above it
# root's and writable by no one else, a sticky directory excepted), and as
# nobody and test users, who must reach it. A checkout that breaks either
# (cloned by another user, under a 0700 home, with umask 027) fails dozens of
# tests with messages about plugins: say it once, first.
tree_ok() { # FILE
	local p=$1 uid mode bad=''
	while :; do
		# As the daemon: a link on the way must be root's, and what it names.
		[[ -L $p && $(stat -c %u "$p") != 0 ]] && bad+=" the link $p is not root's;"
		read -r uid mode < <(stat -L -c '%u %a' "$p")
		mode=$((8#$mode))
		((uid == 0)) || bad+=" $p is owned by uid $uid;"
		if ((mode & 8#022)) && ! [[ -d $p && $((mode & 8#1000)) != 0 ]]; then
			bad+=" $p is writable by group or others;"
		fi
		if [[ -d $p ]]; then
			((mode & 8#001)) || bad+=" others may not enter $p;"
		elif (((mode & 8#005) != 8#005)); then
			bad+=" others may not run $p;"
		fi
		[[ $p == / ]] && break
		p=$(dirname "$p")
	done
	[[ -z $bad ]] && return 0
	echo "the checkout cannot run the tests' plugins:$bad clone it as root, umask 022, where others may enter" >&2
	return 1
}

# A warning, not a stop: the tests themselves are the judge, and a check
# stricter than the daemon's own rules must not cost a whole run.
step "the checkout: root's, writable by no one else, open to other users"
tree_ok "$top/tests/unit/data/exec/exit.sh" || echo "WARNING: expect the plugin tests to fail" >&2
# Plugins, fake vtysh programs and a preloaded library are written to /tmp
# and run from there: a noexec /tmp (hardened machines) fails them all.
if [[ ,$(findmnt -no OPTIONS -T /tmp), == *,noexec,* ]]; then
	echo "WARNING: /tmp is mounted noexec: the tests run programs they write there; expect them to fail" >&2
fi

step "build (warnings are errors)"
bash tests/build.sh "$top/_build" --enable-werror || exit 1

step "layers: include direction, file and function lengths"
bash tests/check-layers.sh || fail=1

step "unit tests"
"$top/_build/tests/unit/unit_tests" --jobs 2 || fail=1

step "unit tests under ASan/UBSan"
bash tests/build.sh "$top/_build-asan" --enable-werror --enable-sanitizers || exit 1
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	"$top/_build-asan/tests/unit/unit_tests" --jobs 2 || fail=1

step "fuzzing the parsers (libFuzzer, ${AHD_FUZZ_SECONDS:-30} s per target)"
bash tests/fuzz/run.sh || fail=1

step "integration tests (FRR + GoBGP in network namespaces)"
AHD_BUILD="$top/_build" bash tests/integration/run.sh || fail=1

echo
[ $fail = 0 ] && echo "ALL TESTS PASSED" || echo "SOME TESTS FAILED"
exit $fail
