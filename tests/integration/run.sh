#!/bin/bash
# Run every tests/integration/test_*.sh in turn and add up their results.
#
# Each test prints "PASS: ..." / "FAIL: ..." lines and ends with
# "N passed, N failed"; a test that exits non-zero without a failure in its
# count (crash, timeout) counts as one more failure.
#
# Environment:
#   AHD_BUILD          build directory (default: the repository's _build), or
#                      the anycast-healthd binary itself
#   AHD_TEST_TIMEOUT   seconds allowed per test (default 170); a test may ask
#                      for more with a line "# ahd-timeout: SECONDS" among its
#                      first 5 lines (test_systemd.sh boots containers)
# Exported to the tests: AHD_BUILD (a directory), AHD_DAEMON and
# AHD_HEALTHCTL (the two programs in it).
# Arguments: test names or paths to run only those (default: all).
set -uo pipefail
# The tests read other programs' messages (dpkg's "not empty", apt's, sort
# and comm orders): the same words and order on every machine, whatever
# locale the caller has (C.UTF-8 is built into Debian 12's libc).
export LC_ALL=C.UTF-8

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

AHD_BUILD=${AHD_BUILD:-$top/_build}
if [[ -f $AHD_BUILD ]]; then
	AHD_DAEMON=$(cd "$(dirname "$AHD_BUILD")" && pwd)/$(basename "$AHD_BUILD")
	AHD_BUILD=$(dirname "$AHD_DAEMON")
else
	AHD_BUILD=$(cd "$AHD_BUILD" 2>/dev/null && pwd || echo "$AHD_BUILD")
	AHD_DAEMON=$AHD_BUILD/anycast-healthd
fi
AHD_HEALTHCTL=${AHD_HEALTHCTL:-$AHD_BUILD/anycast-healthctl}
export AHD_BUILD AHD_DAEMON AHD_HEALTHCTL

timeout_s=${AHD_TEST_TIMEOUT:-170}
total_pass=0
total_fail=0

if (($#)); then
	tests=()
	for t in "$@"; do
		[[ -f $t ]] || t=$here/$(basename "$t")
		tests+=("$t")
	done
else
	tests=("$here"/test_*.sh)
fi

for t in "${tests[@]}"; do
	[[ -f $t ]] || continue
	name=$(basename "$t")
	echo "=== $name"
	start=$SECONDS
	out=$(mktemp)
	t_timeout=$timeout_s
	own=$(head -n 5 "$t" | sed -n 's/^# ahd-timeout: *\([0-9][0-9]*\) *$/\1/p' | head -n 1)
	[[ -n $own ]] && ((own > t_timeout)) && t_timeout=$own
	# TERM first so that the test's trap can clean up; KILL 15 s later.
	timeout -k 15 "$t_timeout" bash "$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
	rm -f "$out"
	if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		p=${BASH_REMATCH[1]}
		f=${BASH_REMATCH[2]}
	else
		p=0
		f=0
	fi
	if ((rc != 0 && f == 0)); then
		if ((rc == 124)); then
			echo "FAIL: $name timed out after ${t_timeout}s"
		else
			echo "FAIL: $name exited with status $rc"
		fi
		f=$((f + 1))
	fi
	echo "=== $name: $p passed, $f failed (exit $rc, $((SECONDS - start)) s)"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
done

echo "$total_pass passed, $total_fail failed"
((total_fail == 0))
