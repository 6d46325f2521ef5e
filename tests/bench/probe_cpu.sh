#!/bin/bash
# CPU cost of the event-driven probes, measured from /proc/PID/stat
# (utime + stime) over AHD_BENCH_SECS seconds (default 5) of a daemon with
#   1. 100 services, each with a `process` probe (pidfile, default 1 s
#      interval): idle, the kernel wakes the loop only on an exit;
#   2. 100 services, each with a `listen` probe every 20 ms (5000 sock_diag
#      dumps a second) against one UDP socket.
# The daemon runs in a private network namespace (its addresses go to that
# namespace's lo). Usage, as root: AHD_DAEMON=_build/anycast-healthd bash tests/bench/probe_cpu.sh
set -euo pipefail
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
AHD_DAEMON=$(realpath "$AHD_DAEMON")
SECS=${AHD_BENCH_SECS:-5}
N=100
NS=ahd-bench-$$
TMP=$(mktemp -d /tmp/ahd-bench.XXXXXX)
chmod 755 "$TMP"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Writes N services with the probe given, starts the daemon, lets it settle,
# then prints the CPU it used over SECS seconds.
measure() { # LABEL PROBE_JSON TIMING
	local label=$1 probe=$2 timing=$3 i d t0 t1 ticks
	rm -rf "$TMP/etc"
	mkdir -p "$TMP/etc/services.d"
	printf '{ "interface": "lo", "control_socket": "%s/ctl.sock", "state_file": "%s/state.json", "log": { "level": "info" } }\n' "$TMP" "$TMP" >"$TMP/etc/main.json"
	for ((i = 1; i <= N; i++)); do
		printf '{ "prefixes": ["192.0.2.%d/32"], %s, "probes": [ %s ] }\n' \
			"$i" "$timing" "${probe//@I@/$i}" >"$TMP/etc/services.d/s$i.json"
	done
	chmod 644 "$TMP"/etc/*.json "$TMP"/etc/services.d/*.json
	ip netns exec "$NS" "$AHD_DAEMON" -c "$TMP/etc/main.json" 2>"$TMP/$label.log" &
	d=$!
	pids+=("$d")
	sleep 2
	t0=$(cpu_ticks "$d")
	sleep "$SECS"
	t1=$(cpu_ticks "$d")
	ticks=$((t1 - t0))
	up=$(grep -c -- '-> up' "$TMP/$label.log" || true)
	printf '%s: %d services (%d up), CPU %d ticks in %d s = %s %% of one core\n' \
		"$label" "$N" "$up" "$ticks" "$SECS" \
		"$(awk -v t="$ticks" -v s="$SECS" -v hz="$hz" 'BEGIN { printf "%.2f", 100 * t / (s * hz) }')"
	kill "$d"
	wait "$d" 2>/dev/null || true
}

# 1. process probes: one sleeping server, a pidfile per service.
ip netns exec "$NS" sleep 100000 &
srv=$!
pids+=("$srv")
for ((i = 1; i <= N; i++)); do echo "$srv" >"$TMP/s$i.pid"; done
measure process "{ \"type\": \"process\", \"pidfile\": \"$TMP/s@I@.pid\" }" \
	'"interval": "1s", "timeout": "500ms", "rise": 1'

# 2. listen probes every 20 ms against one bound UDP socket.
ip netns exec "$NS" socat -u UDP4-RECV:5353,bind=127.0.0.1 OPEN:/dev/null &
pids+=("$!")
sleep 0.3
listen_probe='{ "type": "listen", "protocol": "udp", "port": 5353 }'
measure listen-20ms "${AHD_BENCH_LISTEN:-$listen_probe}" \
	'"interval": "20ms", "timeout": "10ms", "rise": 1'
