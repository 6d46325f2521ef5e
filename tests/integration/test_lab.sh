#!/bin/bash
# ahd-timeout: 420
# The anycast lab as a test (tests/lab/lablib.sh: three sites with FRR,
# unbound, nginx and the daemon, an FRR upstream, two clients querying every
# 10 ms), asserting what the clients see:
#   (b) kill -9 of the nearest DNS server: the outage (median over the trials
#       and clients) is at most the floor measured in this run without the
#       daemon (address deleted by hand at the instant of the kill) + 20 ms,
#       for the method address and for the method both;
#   (d), (e) drain --grace with an upstream that honours GRACEFUL_SHUTDOWN and
#       with one that ignores it: zero failed queries, and the clients moved
#       before the withdrawal;
#   (f) unbound killed and restarted every second for 20 s: at most 6 route
#       changes at the upstream (flap damping with the shipped defaults), and
#       the service reports itself suppressed.
# About 3 minutes; the header above gives run.sh a longer timeout.
set -uo pipefail
cd "$(dirname "$0")"
. ./lib.sh
. ../lab/lablib.sh

TRIALS=${LAB_TRIALS:-3}
FLAP=${LAB_FLAP:-20}

test_lab_exit() {
	local rc=$?
	if ((!AHD_SUMMARY_DONE)); then
		ahd_fail "test_lab.sh stopped early with status $rc"
		ahd_summary
	fi
	lab_cleanup
}

median() { # SCENARIO KIND: the median outage in results, or "-"
	awk -v s="$1" -v k="$2" '$1 == s && $3 == k && $4 != "-" { print $4 }' "$LAB_TMP/results" |
		lab_stats | cut -d' ' -f2
}

if [[ $EUID -ne 0 ]] || ! command -v unbound >/dev/null || ! command -v nginx >/dev/null ||
	[[ ! -x /usr/lib/frr/bfdd || ! -x $LAB_CLIENT ]]; then
	ahd_fail "needs root, unbound, nginx, FRR's bfdd and $LAB_CLIENT (tests/deps.sh, tests/build.sh)"
	ahd_summary
	exit 1
fi
lab_init
trap test_lab_exit EXIT
LAB_VIEW=0
if ! lab_up address; then
	ahd_fail "the lab did not come up"
	exit 1
fi
ahd_pass "lab up: the upstream prefers s1; $(grep -c . "$LAB_TMP/c1.log") answers so far"

for ((i = 1; i <= TRIALS; i++)); do lab_trial_kill floor b-floor; done
for ((i = 1; i <= TRIALS; i++)); do lab_trial_kill agent b-address; done
lab_restart_daemon 1 both
for ((i = 1; i <= TRIALS; i++)); do lab_trial_kill agent b-both; done

floor=$(median b-floor D)
for m in address both; do
	got=$(median "b-$m" D)
	all=$(awk -v s="b-$m" '$1 == s && $3 == "D" { printf "%s ", $4 }' "$LAB_TMP/results")
	if [[ $floor == - || $got == - ]]; then
		ahd_fail "(b) $m: no failover seen (floor $floor, outages: $all)"
	elif ((got <= floor + 20)); then
		ahd_pass "(b) kill -9, method $m: median outage $got ms <= floor $floor ms + 20 (outages: $all)"
	else
		ahd_fail "(b) kill -9, method $m: median outage $got ms > floor $floor ms + 20 (outages: $all)"
	fi
done

for s in d-honour:honour e-ignore:ignore; do
	tag=${s%%:*}
	for ((i = 1; i <= TRIALS - 1; i++)); do lab_trial_drain "${s#*:}" "$tag"; done
	failed=$(awk -v s="$tag" '$1 == s && $3 == "D-failed" { f += $5 } END { print f + 0 }' "$LAB_TMP/results")
	moved=$(awk -v s="$tag" '$1 == s && $3 == "D" && $4 != "-" { n++ } END { print n + 0 }' "$LAB_TMP/results")
	if ((failed == 0 && moved == 2 * (TRIALS - 1))); then
		ahd_pass "($tag) drain --grace 2s, upstream ${s#*:}s GSHUT: 0 failed queries, clients moved before the withdrawal"
	else
		ahd_fail "($tag) drain: $failed failed queries, $moved of $((2 * (TRIALS - 1))) client moves seen"
	fi
done

lab_restart_daemon 1
lab_trial_flap f-damped "$FLAP"
changes=$(awk '$1 == "f-damped" && $2 == "routes" { print $4 }' "$LAB_TMP/results")
kills=$(awk '$1 == "f-damped" && $3 == "D-failed" { print $5 }' "$LAB_TMP/results")
st=$(lab_in s1 "$LAB_CTL" -c "$LAB_TMP/s1/etc/anycast-healthd.json" status --json)
if ((changes <= 6)) && [[ $st == *'"suppressed": true'* ]]; then
	ahd_pass "(f) ${FLAP}s of flapping every second: $changes route changes at the upstream (<= 6), s1's dns suppressed ($kills failed queries)"
else
	ahd_fail "(f) ${FLAP}s of flapping: $changes route changes at the upstream, status: $(grep -A8 '"damping"' <<<"$st" | tr -s ' \n' ' ')"
fi
ahd_summary
