#!/usr/bin/env bash
# The anycast lab: three sites, an upstream router and two clients in network
# namespaces; failover as the clients see it. Runs the scenarios, shows a
# live table while it runs, prints the results and writes the timeline plot.
#
# Usage (root, Debian 12): bash tests/lab/lab.sh [--long] [--trials N] [--out DIR]
#   --long      (f) flaps for 10 minutes instead of 60 s
#   --trials N  trials per measured scenario (default 3)
#   --out DIR   where lab.png, lab.svg and results.txt go (default: _build/lab)
# Environment: AHD_BUILD (build directory), LAB_VIEW=0 (no live table).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lablib.sh"

trials=3 flap=60 out=$LAB_BUILD/lab
while (($#)); do
	case $1 in
	--long) flap=600 ;;
	--trials) trials=$2; shift ;;
	--flap) flap=$2; shift ;;
	--out) out=$2; shift ;;
	*) echo "usage: $0 [--long] [--trials N] [--flap SECS] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done
[[ $EUID -eq 0 ]] || { echo "lab: run as root (network namespaces)" >&2; exit 1; }
for t in "$LAB_DAEMON" "$LAB_CTL" "$LAB_CLIENT"; do
	[[ -x $t ]] || { echo "lab: $t is missing; build first (tests/build.sh)" >&2; exit 1; }
done
mkdir -p "$out"

lab_init
lab_log "bringing the lab up in $LAB_TMP (about 20 s)"
lab_up address || exit 1
lab_view_start

lab_scenario a-steady "steady state: every client on its nearest site, s1"
sleep 3
lab_result "a-steady all D-failed - $(lab_failed_between D "$(($(lab_now_ms) - 3000))" "$(lab_now_ms)")"

for ((i = 1; i <= trials; i++)); do lab_trial_kill floor b-floor; done
for ((i = 1; i <= trials; i++)); do lab_trial_kill agent b-address; done
for ((i = 1; i <= trials; i++)); do lab_trial_503 c-503; done
for ((i = 1; i <= trials; i++)); do lab_trial_drain honour d-address; done

lab_log "switching s1 to method both"
lab_restart_daemon 1 both
for ((i = 1; i <= trials; i++)); do lab_trial_kill agent b-both; done
for ((i = 1; i <= trials; i++)); do lab_trial_drain honour d-honour; done
for ((i = 1; i <= trials; i++)); do lab_trial_drain ignore e-ignore; done
for ((i = 1; i <= trials; i++)); do lab_trial_death bfd g-bfd h-bfd; done
lab_trial_death nobfd g-nobfd h-nobfd

lab_restart_daemon 1
lab_trial_flap f-damped "$flap"
# The same without damping, for comparison (30 s are enough to see it).
lab_site_files 1 both
sed -i 's/"rise": 3,/"rise": 3, "damping": false,/' "$LAB_TMP/s1/etc/services.d/dns.json"
lab_stop_daemon 1
lab_start_daemon 1
lab_wait_home 400
lab_trial_flap f-undamped 30
lab_view_stop

{
	echo "anycast lab results ($(date -u +%Y-%m-%dT%H:%MZ), $trials trials, 2 clients querying every 10 ms)"
	echo "outage: last answer from s1 to first answer from another site, per client and trial;"
	echo "failed: failed queries per client and trial (min/median/max); route changes: at the upstream"
	echo
	lab_report
} | tee "$out/results.txt"
lab_plot "$out/lab.png" 'pngcairo size 1600,900 font "sans,10"'
lab_plot "$out/lab.svg" 'svg size 1600,900 dynamic font "sans,10"'
echo
echo "plot: $out/lab.png, $out/lab.svg; raw logs kept in $out/logs"
mkdir -p "$out/logs"
cp "$LAB_TMP"/c*.log "$LAB_TMP"/routes.log "$LAB_TMP"/markers "$LAB_TMP"/results "$out/logs/" 2>/dev/null
