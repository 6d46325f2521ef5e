#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Millisecond crash detection: kill -9 of a probed server -> withdrawal at
# the GoBGP neighbour, AHD_TRIALS times (default 20) for each of
#   process (pidfile)  192.0.2.53/32  a `sleep` whose pid ahd_start_bg writes
#   process (cgroup)   192.0.2.54/32  a `sleep` in a transient cgroup v2 group
#   listen (tcp, 20ms) 192.0.2.55/32  socat listening on 127.0.0.1:8055
# and, for comparison, FRR alone (ip addr del) on 192.0.2.56/32. Prints
# min/median/max of kill -> withdrawal at the neighbour and of the agent's
# share: kill -> the address gone from the kernel (`ip -ts monitor address`
# in the node namespace) and, from the daemon's debug log, the deciding
# event -> netlink ACK.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

TRIALS=${AHD_TRIALS:-20}
P_PID=192.0.2.53/32 P_CG=192.0.2.54/32 P_LSN=192.0.2.55/32 P_FRR=192.0.2.56/32
PORT=8055
LISTEN_MS=20
# Acceptance: FRR's own ~65 ms plus <= 5 ms. The assertion allows 30 ms more
# for this shared 2-core machine; the printout shows the real numbers.
BOUND_PROCESS_MS=100
BOUND_LISTEN_MS=$((BOUND_PROCESS_MS + LISTEN_MS + LISTEN_MS / 10))
# The agent's share (kill -> address gone in the kernel), every trial.
SHARE_PROCESS_US=10000
SHARE_LISTEN_US=$(((LISTEN_MS + LISTEN_MS / 10 + 2 + 8) * 1000))
# The daemon's own part (deciding event -> netlink ACK): target < 2 ms.
DAEMON_US=5000

ahd_init
ahd_require_root_tools
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"

# A cgroup v2 mount of our own: `ip netns exec` remounts /sys, which hides
# /sys/fs/cgroup from the daemon, so the hierarchy is mounted again below
# AHD_TMP and the probe gets the group's absolute path (the `cgroup` key).
CG_MNT=$AHD_TMP/cgroup2
CG=
cg_cleanup() {
	local rc=$? i
	if [[ -n $CG && -d $CG ]]; then
		echo 1 >"$CG/cgroup.kill" 2>/dev/null || true
		for ((i = 0; i < 40; i++)); do
			rmdir "$CG" 2>/dev/null && break
			sleep 0.05
		done
	fi
	mountpoint -q "$CG_MNT" 2>/dev/null && umount "$CG_MNT"
	(exit "$rc")
	ahd_on_exit
}
trap cg_cleanup EXIT
mkdir -p "$CG_MNT"
if ! mount -t cgroup2 none "$CG_MNT" 2>/dev/null; then
	ahd_log "cannot mount cgroup v2 here: the cgroup mode is not measured"
else
	CG=$CG_MNT/ahd-$$-svc.scope
	mkdir "$CG"
fi

ahd_start_all "$P_PID" "$P_CG" "$P_LSN" "$P_FRR"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
# Each fall is measured on its own: flap damping (on by default) would
# suppress the service from the third fall within a minute.
cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "frr": { "pathspace": "ahd-none-$$" },
  "defaults": { "damping": false }, "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state.json",
  "log": { "level": "debug", "format": "json" } }
JSON
svc() { # NAME PREFIX TIMING PROBE
	cat >"$etc/services.d/$1.json" <<JSON
{ "prefixes": ["$2"], $3, "probes": [ $4 ] }
JSON
}
# fall 3 everywhere: a crash must not wait for it.
svc pidf "$P_PID" '"interval": "200ms", "timeout": "100ms", "rise": 2, "fall": 3' \
	"{ \"type\": \"process\", \"pidfile\": \"$AHD_TMP/pidsvc.pid\" }"
[[ -z $CG ]] || svc cgrp "$P_CG" '"interval": "200ms", "timeout": "100ms", "rise": 2, "fall": 3' \
	"{ \"type\": \"process\", \"cgroup\": \"$CG\" }"
# listen: the socket's absence is a probe result like any other, so fall 1
# here makes the withdrawal follow within one interval.
svc lsn "$P_LSN" "\"interval\": \"${LISTEN_MS}ms\", \"timeout\": \"10ms\", \"rise\": 3, \"fall\": 1" \
	"{ \"type\": \"listen\", \"protocol\": \"tcp\", \"address\": \"127.0.0.1\", \"port\": $PORT }"
chmod 644 "$etc"/*.json "$etc"/services.d/*.json

# Kernel address events in the node namespace, stamped by ip (µs).
ahd_node ip -ts monitor address >"$AHD_TMP/addrmon.log" 2>&1 &
echo $! >"$AHD_TMP/addrmon.pid"

# The servers are disowned: bash would report each one the trials kill
# ("... Killed ip netns exec ..."); it still reaps them.
start_pidsvc() { ahd_start_bg pidsvc sleep 100000 && disown; }
start_cgsvc() {
	ahd_start_bg cgsvc sleep 100000 && disown
	echo "$(cat "$AHD_TMP/cgsvc.pid")" >"$CG/cgroup.procs"
}
start_lsn() {
	ahd_start_tcp_service lsnsvc "$PORT" && disown
}
now_us() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t)); }

# The µs stamp of the first "Deleted ... PREFIX" line of addrmon.log at or
# after T0 (µs); date(1) converts ip's local-time stamp.
deleted_after_us() {
	local t0=$1 pfx=$2 secs=${3:-3} end stamp us line
	end=$(($(ahd_now_ms) + secs * 1000))
	while (($(ahd_now_ms) < end)); do
		while IFS= read -r line; do
			[[ $line =~ ^\[([0-9T:-]+)\.([0-9]{6})\]\ Deleted.*inet\ ${pfx%/32}/32 ]] || continue
			stamp=$(date -d "${BASH_REMATCH[1]/T/ }" +%s)
			us=$((stamp * 1000000 + 10#${BASH_REMATCH[2]}))
			if ((us >= t0)); then
				echo "$us"
				return 0
			fi
		done <"$AHD_TMP/addrmon.log"
		sleep 0.02
	done
	return 1
}

start_pidsvc
[[ -z $CG ]] || start_cgsvc
start_lsn
ahd_start_bg daemon "$AHD_DAEMON" -c "$etc/anycast-healthd.json"
for p in "$P_PID" "$P_LSN" ${CG:+"$P_CG"}; do
	if ahd_wait_prefix_present "$p" 10; then
		ahd_pass "$p announced once its service is up"
	else
		ahd_fail "$p not announced (see $AHD_TMP/daemon.log)"
	fi
done

# One mode: kill -9 the service TRIALS times; record neighbour latency (ms)
# and kernel share (µs); restart and wait for the re-announcement.
run_trials() { # NAME PREFIX STARTFN BOUND_MS SHARE_US
	local name=$1 pfx=$2 start=$3 bound=$4 share_bound=$5 i pid t0 t0us lat del
	local -a lats=() shares=()
	local slow=0 broken=0 wide=0
	for ((i = 1; i <= TRIALS; i++)); do
		pid=$(cat "$AHD_TMP/$name.pid")
		t0us=$(now_us)
		t0=$((t0us / 1000))
		kill -KILL "$pid"
		if lat=$(ahd_withdraw_time_after "$t0" "$pfx" 5) &&
			del=$(deleted_after_us "$t0us" "$pfx" 3); then
			lats+=("$lat")
			shares+=($((del - t0us)))
			((lat <= bound)) || slow=$((slow + 1))
			((del - t0us <= share_bound)) || wide=$((wide + 1))
		else
			broken=$((broken + 1))
		fi
		rm -f "$AHD_TMP/$name.pid"
		t0=$(ahd_now_ms)
		"$start"
		ahd_announce_time_after "$t0" "$pfx" 5 >/dev/null || broken=$((broken + 1))
	done
	echo "$name: kill -9 -> withdrawal at the neighbour: $(ahd_stats "${lats[@]}")"
	echo "$name: kill -9 -> address gone from the kernel (agent's share): $(ahd_stats "${shares[@]}" | sed 's/(ms,/(us,/')"
	if ((broken == 0 && slow == 0 && wide == 0)); then
		ahd_pass "$name: $TRIALS kill -9 trials withdrawn within ${bound} ms at the neighbour, agent's share within ${share_bound} us"
	else
		ahd_fail "$name: $TRIALS trials: $broken lost, $slow slower than ${bound} ms, $wide agent shares over ${share_bound} us"
	fi
}

run_trials pidsvc "$P_PID" start_pidsvc "$BOUND_PROCESS_MS" "$SHARE_PROCESS_US"
[[ -z $CG ]] || run_trials cgsvc "$P_CG" start_cgsvc "$BOUND_PROCESS_MS" "$SHARE_PROCESS_US"
run_trials lsnsvc "$P_LSN" start_lsn "$BOUND_LISTEN_MS" "$SHARE_LISTEN_US"

# FRR alone, for comparison: the address deleted by hand.
frr=()
ahd_node ip addr add "$P_FRR" dev lo
ahd_wait_prefix_present "$P_FRR" 10 || true
for ((i = 1; i <= 5; i++)); do
	t0=$(ahd_now_ms)
	ahd_node ip addr del "$P_FRR" dev lo
	lat=$(ahd_withdraw_time_after "$t0" "$P_FRR" 5) && frr+=("$lat")
	t0=$(ahd_now_ms)
	ahd_node ip addr add "$P_FRR" dev lo
	ahd_announce_time_after "$t0" "$P_FRR" 5 >/dev/null || true
done
echo "FRR alone: address delete -> withdrawal at the neighbour: $(ahd_stats "${frr[@]}")"

# The daemon's own view: deciding event -> netlink ACK, per service.
for s in pidf cgrp lsn; do
	mapfile -t acks < <(grep '"event":"applied"' "$AHD_TMP/daemon.log" |
		grep "\"service\":\"$s\"" | grep -o 'down: announcements applied [0-9.]*' |
		awk '{ printf "%d\n", $4 * 1000 }')
	((${#acks[@]})) || continue
	echo "$s: deciding probe event -> netlink ACK (daemon log): $(ahd_stats "${acks[@]}" | sed 's/(ms,/(us,/')"
	over=0
	for a in "${acks[@]}"; do ((a <= DAEMON_US)) || over=$((over + 1)); done
	if ((${#acks[@]} >= TRIALS && over == 0)); then
		ahd_pass "$s: the daemon's own part (event -> netlink ACK) within ${DAEMON_US} us in all ${#acks[@]} withdrawals"
	else
		ahd_fail "$s: ${#acks[@]} withdrawals logged, $over took the daemon over ${DAEMON_US} us"
	fi
done

# No fall rounds: the process services went down on their first bad result.
if [[ -n $(grep '"event":"state"' "$AHD_TMP/daemon.log" | grep '"service":"pidf"' |
	grep -- '-> down' | grep -v 'process gone\|exited') ]]; then
	ahd_fail "pidf went down for another reason than the exit"
else
	ahd_pass "pidf: every down transition names the exit"
fi

ahd_summary
