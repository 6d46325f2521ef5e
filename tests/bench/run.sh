#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# tests/bench/run.sh: every benchmark of anycast-healthd in one command, with
# ratios measured in the same run. Not part of the test suite (too long and
# too noisy for pass/fail). As root, after a build (~12 minutes):
#   AHD_BUILD=$PWD/_build bash tests/bench/run.sh
# Prints each part as it goes and a summary at the end (also written to
# $AHD_BUILD/bench-run.txt). RUN_SKIP="exabgp frr prefixes" leaves parts
# out; RUN_SECS (10) is the steady-state window of each CPU measurement.
#
# Parts:
#  checks   floors (tests/bench/floor_{tcp,http,dns}.c: the smallest loop
#           doing one check, paced like the daemon) against the daemon's
#           cost per check: 1000 tcp services at 1 s, 100 http, 100 dns;
#           system calls per check (strace -c); memory (PSS, RSS, anon).
#  scale    10,000 mixed services at 1 s (tcp, http, dns, process, listen
#           against local servers): start-up time, time to `status`, time
#           until all are up, memory, CPU, probe lateness against schedule
#           (p99 and worst, from the daemon's lateness histogram), and the
#           reaction of two services while all others run (a tcp listener
#           stopped; a process killed).
#  prefixes 1000 prefixes on one service going down at once, address and
#           network methods, at a GoBGP neighbour (prefixes_1000.sh).
#  exabgp   10 HTTP services at 1 s against ExaBGP's healthcheck
#           (bench_vs_exabgp.sh with BENCH_CHECK=http): CPU, PSS, RSS.
#  frr      zebra work-queue values: convergence and the cost of a 100k-route
#           upstream table (frr_tuning.sh).
#  frrread  CPU of one FRR read (show running-config and its parse, the
#           periodic check's) through bgpd's vty socket and through vtysh
#           (frr_read.sh).
# Everything runs in network namespaces made here and removed at the end.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${AHD_BUILD:-$SRC/_build}
DAEMON=$BUILD/anycast-healthd
CTL=$BUILD/anycast-healthctl
SECS=${RUN_SECS:-10}
SKIP=" ${RUN_SKIP:-} "
OUT=$BUILD/bench-run.txt
NS=ahd-run-$$
T=$(mktemp -d /tmp/ahd-run.XXXXXX)
chmod 755 "$T"
PIDS=()
SUMMARY=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	[[ ${RUN_KEEP:-0} == 1 ]] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '# %s\n' "$*" >&2; }
sum() { SUMMARY+=("$(printf '| %s | %s | %s | %s |' "$@")"); }
now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t / 1000)); }
now_us() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t)); }
# CPU time (us) of a process: its threads' schedstat, ns on the CPU.
cpu_us() { awk '{ s += $1 } END { printf "%d\n", s / 1000 }' /proc/"$1"/task/*/schedstat; }
# "PSS RSS ANON" in KiB.
mem_of() {
	awk '/^Pss:/ { p = $2 } /^Rss:/ { r = $2 } END { printf "%d %d ", p, r }' "/proc/$1/smaps_rollup"
	awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"
}
fmt() { awk -v x="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f\n", d, x }'; }
div() { awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.*f\n", d, a / b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }
nsx() { ip netns exec "$NS" "$@"; }
bg() { # NAME CMD...: start in the namespace, pid in $T/NAME.pid
	local name=$1
	shift
	ip netns exec "$NS" "$@" >"$T/$name.log" 2>&1 &
	PIDS+=("$!")
	echo $! >"$T/$name.pid"
}
wait_port() { # PROTO PORT
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -n $(nsx ss -Hln"${1:0:1}" "sport = :$2") ]] && return 0
		sleep 0.05
	done
	log "nothing listens on $1 port $2"
	return 1
}

for t in "$DAEMON" "$CTL" cc nginx nsd strace socat; do
	command -v "$t" >/dev/null || { log "missing $t"; exit 1; }
done
[[ $EUID -eq 0 ]] || { log "must run as root"; exit 1; }
t_begin=$(now_ms)

# --- servers -------------------------------------------------------------------

mkdir -p "$T/bin"
for f in floor_tcp floor_http floor_dns; do
	cc -O2 -o "$T/bin/$f" "$SRC/tests/bench/$f.c"
done
ip netns add "$NS"
ip -n "$NS" link set lo up
bg tcpsrv "$T/bin/floor_tcp" serve 127.0.0.1 9000
bg tcpsrv2 "$T/bin/floor_tcp" serve 127.0.0.1 9001
mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
pid $T/nginx/nginx.pid; error_log $T/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off; default_type text/plain;
  client_body_temp_path $T/nginx; proxy_temp_path $T/nginx;
  fastcgi_temp_path $T/nginx; uwsgi_temp_path $T/nginx; scgi_temp_path $T/nginx;
  server { listen 127.0.0.1:9080; location / { return 200 "ok\n"; } }
}
CONF
bg nginx nginx -p "$T/nginx" -c "$T/nginx/nginx.conf"
mkdir -p "$T/nsd"
cat >"$T/nsd/example.test.zone" <<'ZONE'
$ORIGIN example.test.
$TTL 300
@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300
@ IN NS ns1.example.test.
ns1 IN A 192.0.2.1
www IN A 192.0.2.10
ZONE
cat >"$T/nsd/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@9053
  port: 9053
  username: ""
  chroot: ""
  zonesdir: "$T/nsd"
  database: ""
  zonelistfile: "$T/nsd/zone.list"
  xfrdfile: "$T/nsd/xfrd.state"
  xfrdir: "$T/nsd"
  pidfile: "$T/nsd/nsd.pid"
  logfile: "$T/nsd/nsd.log"
  server-count: 1
  # 2000 queries a second from 127.0.0.1: no response rate limiting.
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: example.test
  zonefile: example.test.zone
CONF
bg nsd nsd -d -c "$T/nsd/nsd.conf"
bg sleeper sleep 100000
cp "$T/sleeper.pid" "$T/sleeper.pidfile"
wait_port tcp 9000
wait_port tcp 9001
wait_port tcp 9080
wait_port udp 9053

# --- the daemon under measurement ----------------------------------------------

probe_json() { # TYPE
	case $1 in
	tcp) echo '{ "type": "tcp", "host": "127.0.0.1", "port": 9000 }' ;;
	http) echo '{ "type": "http", "url": "http://127.0.0.1:9080/healthz" }' ;;
	dns) echo '{ "type": "dns", "server": "127.0.0.1", "port": 9053, "query": "www.example.test", "recursion_desired": false, "expect_answer": ["192.0.2.10"] }' ;;
	process) echo "{ \"type\": \"process\", \"pidfile\": \"$T/sleeper.pidfile\" }" ;;
	listen) echo '{ "type": "listen", "protocol": "tcp", "port": 9000, "address": "127.0.0.1" }' ;;
	esac
}

# write_config DIR TYPE:COUNT...: one service per probe, interval 1 s,
# prefixes 10.0.0.1/32 upwards.
write_config() {
	local dir=$1 spec type n i=0 j p
	shift
	rm -rf "$dir"
	mkdir -p "$dir/services.d"
	printf '{ "interface": "lo", "control_socket": "%s/ctl.sock", "state_file": "%s/state.json", "log": { "level": "info" } }\n' \
		"$dir" "$dir" >"$dir/main.json"
	for spec; do
		type=${spec%%:*} n=${spec#*:}
		p=$(probe_json "$type")
		for ((j = 0; j < n; j++, i++)); do
			printf '{ "prefixes": ["10.%d.%d.%d/32"], "interval": "1s", "timeout": "500ms", "rise": 1, "fall": 2, "probes": [ %s ] }\n' \
				$(((i + 1) >> 16 & 255)) $(((i + 1) >> 8 & 255)) $(((i + 1) & 255)) "$p" \
				>"$dir/services.d/$type$j.json"
		done
	done
	chmod 644 "$dir/main.json" "$dir"/services.d/*.json
}

# A control call can time out while a saturated loop falls behind: retried.
metrics() {
	local i
	for i in 1 2 3; do
		"$CTL" -s "$1/ctl.sock" metrics && return 0
		sleep 1
	done
	return 1
}
# The probe engine's counters (probe-stats: runs, lateness histogram), one JSON line.
stats() { echo '{"cmd": "probe-stats"}' | socat -t 10 - "UNIX-CONNECT:$1/ctl.sock"; }
runs_total() { python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["runs"])'; }
# lateness_window BEFORE AFTER: "p99 worst" over the window (histogram bounds in
# ms, ">100" beyond the last), the count of starts, the worst since start and
# the % of starts in the window more than 5 ms late.
lateness_window() {
	python3 - "$1" "$2" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
le = [x / 1000 for x in b["lateness_le_us"]] + [None]
d = [y - x for x, y in zip(a["lateness_count"], b["lateness_count"])]
tot = sum(d)
def bound(i):
    return "> %g" % le[-2] if le[i] is None else "%g" % le[i]
acc, p99, worst = 0, "-", "-"
for i, n in enumerate(d):
    acc += n
    if p99 == "-" and tot and acc >= 0.99 * tot:
        p99 = bound(i)
    if n:
        worst = bound(i)
# The share of starts later than 5 ms (the goal's p99 bound), in %.
over5 = sum(n for n, x in zip(d, le) if x is None or x > 5)
print(p99.replace(" ", ""), worst.replace(" ", ""), tot, "%.1f" % (b["lateness_max_us"] / 1000),
      "%.2f" % (100.0 * over5 / tot if tot else 0))
PY
}
ups() { "$CTL" -s "$1/ctl.sock" status --json 2>/dev/null | grep -o '"state": *"up"' | wc -l; }

# start DIR: the daemon on DIR's config; waits until `status` answers.
start_daemon() {
	local dir=$1 i
	bg daemon "$DAEMON" -c "$dir/main.json"
	for ((i = 0; i < 600; i++)); do
		"$CTL" -s "$dir/ctl.sock" status >/dev/null 2>&1 && return 0
		[[ $? -ne 3 ]] && return 0
		sleep 0.05
	done
	log "the daemon did not answer on $dir/ctl.sock"
	return 1
}
stop_daemon() { kill "$(cat "$T/daemon.pid")"; wait "$(cat "$T/daemon.pid")" 2>/dev/null || true; }
wait_up() { # DIR N SECS
	local i
	for ((i = 0; i < $3 * 4; i++)); do
		(($(ups "$1") >= $2)) && return 0
		sleep 0.25
	done
	return 1
}

# measure LABEL TYPE:COUNT...: prints "us_per_check syscalls_per_check pss rss anon checks"
measure() {
	local label=$1 dir=$T/$1 pid n=0 spec c0 c1 r0 r1 s0 s1 calls
	shift
	for spec; do n=$((n + ${spec#*:})); done
	write_config "$dir" "$@"
	start_daemon "$dir"
	pid=$(cat "$T/daemon.pid")
	wait_up "$dir" "$n" 60 || log "$label: not all $n services up"
	sleep 1
	r0=$(stats "$dir" | runs_total) c0=$(cpu_us "$pid")
	sleep "$SECS"
	r1=$(stats "$dir" | runs_total) c1=$(cpu_us "$pid")
	read -r pss rss anon < <(mem_of "$pid")
	s0=$(stats "$dir" | runs_total)
	timeout 3 strace -c -f -p "$pid" -o "$T/$label.strace" 2>/dev/null || true
	s1=$(stats "$dir" | runs_total)
	calls=$(awk '$NF == "total" { print $(NF - 2) }' "$T/$label.strace")
	stop_daemon
	echo "$(div $((c1 - c0)) $((r1 - r0)) 1) $(awk -v c="$calls" -v n=$((s1 - s0)) 'BEGIN { printf "%.1f", n ? c / n : 0 }') $pss $rss $anon $((r1 - r0))"
}

floor() { # TOOL ARGS...: prints us per check
	nsx "$T/bin/$1" "${@:2}" | awk '{ print $NF }'
}

if [[ $SKIP != *" checks "* ]]; then
	log "checks: floors and the daemon, ${SECS} s windows"
	read -r t_us t_sc t_pss t_rss t_anon t_n < <(measure tcp1000 tcp:1000)
	f_tcp=$(floor floor_tcp check 127.0.0.1 9000 $((SECS * 1000)) 1000)
	read -r _ _ _ _ t10_anon _ < <(SECS=2 measure tcp10 tcp:10)
	read -r h_us h_sc h_pss h_rss h_anon h_n < <(measure http100 http:100)
	f_http=$(floor floor_http 127.0.0.1 9080 /healthz $((SECS * 100)) 100)
	# At 10 checks a second (the ExaBGP comparison's rate) every check
	# pays the wake-ups of an idle process, floor included.
	f_http10=$(floor floor_http 127.0.0.1 9080 /healthz $((SECS * 20)) 10)
	read -r d_us d_sc d_pss d_rss d_anon d_n < <(measure dns100 dns:100)
	f_dns=$(floor floor_dns 127.0.0.1 9053 www.example.test $((SECS * 100)) 100)
	per_svc=$(awk -v a="$t_anon" -v b="$t10_anon" 'BEGIN { printf "%.2f", (a - b) / 990 }')
	cat <<-EOF

		Checks (CPU per check from schedstat over ${SECS} s; floors paced at the same rate, in the same run)
		| | anycast-healthd µs/check | floor µs/check | ratio | system calls/check | PSS / RSS / anon KiB |
		| --- | --- | --- | --- | --- | --- |
		| tcp, 1000 services at 1 s ($t_n checks) | $t_us | $f_tcp | $(ratio "$t_us" "$f_tcp") | $t_sc | $t_pss / $t_rss / $t_anon |
		| http, 100 services at 1 s ($h_n checks) | $h_us | $f_http | $(ratio "$h_us" "$f_http") | $h_sc | $h_pss / $h_rss / $h_anon |
		| dns (udp), 100 services at 1 s ($d_n checks) | $d_us | $f_dns | $(ratio "$d_us" "$f_dns") | $d_sc | $d_pss / $d_rss / $d_anon |
		1000 tcp services at 1 s: $(div "$t_us" 10 2) % of a core; anonymous memory per service beyond 10 services: $per_svc KiB
		HTTP floor at 10 checks a second (the rate of the ExaBGP comparison): $f_http10 µs per check
	EOF
	sum "TCP check, µs CPU (floor)" "$t_us ($f_tcp)" "≤ 30" "$(ratio "$t_us" "$f_tcp") × floor"
	sum "TCP check, system calls" "$t_sc" "≤ 7" ""
	sum "HTTP check, µs CPU (floor)" "$h_us ($f_http)" "≤ 100" "$(ratio "$h_us" "$f_http") × floor"
	sum "HTTP floor at 10 checks/s (ExaBGP comparison's rate)" "$f_http10 µs" "" ""
	sum "DNS check, µs CPU (floor)" "$d_us ($f_dns)" "" "$(ratio "$d_us" "$f_dns") × floor"
	sum "1000 TCP services at 1 s: CPU, PSS" "$(div "$t_us" 10 2) % of a core, $(div "$t_pss" 1024 1) MiB" "≤ 4 %, ≤ 8 MiB" ""
	sum "memory per service (anon, tcp)" "$per_svc KiB" "≤ 2 KiB" ""
fi

# --- scale -------------------------------------------------------------------------

# addr_gone_ms ADDR T0_US: ms from T0 until ADDR left lo, stamped by
# `ip -ts monitor address` (local time, microseconds).
addr_gone_ms() {
	local addr=$1 t0=$2 i line ts
	for ((i = 0; i < 100; i++)); do
		line=$(grep -m1 "Deleted.* $addr/32" "$T/ipmon.log" || true)
		if [[ -n $line ]]; then
			ts=${line%%]*}
			ts=$(date -d "${ts#[}" +%s%6N)
			div $((ts - t0)) 1000 1
			return 0
		fi
		sleep 0.05
	done
	echo "-"
}

if [[ $SKIP != *" scale "* ]]; then
	N_TCP=${RUN_SCALE_TCP:-4000} N_HTTP=${RUN_SCALE_HTTP:-2000} N_DNS=${RUN_SCALE_DNS:-2000}
	N_PROC=${RUN_SCALE_PROCESS:-1000} N_LISTEN=${RUN_SCALE_LISTEN:-1000}
	N=$((N_TCP + N_HTTP + N_DNS + N_PROC + N_LISTEN))
	log "scale: $N services"
	dir=$T/scale
	write_config "$dir" "tcp:$N_TCP" "http:$N_HTTP" "dns:$N_DNS" "process:$N_PROC" "listen:$N_LISTEN"
	# Two more, whose reaction is measured while all others run.
	bg victim sleep 100000
	cp "$T/victim.pid" "$T/victim.pidfile"
	printf '{ "prefixes": ["10.255.0.1/32"], "interval": "1s", "timeout": "500ms", "rise": 1, "fall": 2, "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": 9001 } ] }\n' \
		>"$dir/services.d/zz-react-tcp.json"
	printf '{ "prefixes": ["10.255.0.2/32"], "interval": "1s", "timeout": "500ms", "rise": 1, "fall": 2, "probes": [ { "type": "process", "pidfile": "%s" } ] }\n' \
		"$T/victim.pidfile" >"$dir/services.d/zz-react-proc.json"
	chmod 644 "$dir"/services.d/*.json
	N=$((N + 2))
	: >"$T/ipmon.log"
	nsx ip -ts monitor address >"$T/ipmon.log" 2>&1 &
	PIDS+=("$!")
	sleep 0.2
	t0=$(now_ms)
	bg daemon "$DAEMON" -c "$dir/main.json"
	pid=$(cat "$T/daemon.pid")
	until grep -q "running $N service" "$T/daemon.log" 2>/dev/null; do
		sleep 0.02
		(($(now_ms) - t0 < 120000)) || { log "the daemon did not start"; break; }
	done
	t_run=$(($(now_ms) - t0))
	until "$CTL" -s "$dir/ctl.sock" status >/dev/null 2>&1 || [[ $? -ne 3 ]]; do
		sleep 0.02
		(($(now_ms) - t0 < 120000)) || break
	done
	t_status=$(($(now_ms) - t0))
	t_s0=$(now_ms)
	"$CTL" -s "$dir/ctl.sock" status --json >/dev/null 2>&1 || true
	t_status_call=$(($(now_ms) - t_s0))
	wait_up "$dir" "$N" 120 || log "scale: not all $N services up"
	t_up=$(($(now_ms) - t0))
	sleep 2
	s0=$(stats "$dir") c0=$(cpu_us "$pid")
	sleep "$SECS"
	c1=$(cpu_us "$pid") s1=$(stats "$dir")
	r0=$(runs_total <<<"$s0") r1=$(runs_total <<<"$s1")
	read -r pss rss anon < <(mem_of "$pid")
	# Lateness over the window: bucket counts now minus before.
	read -r p99 wmax tot maxall over5 < <(lateness_window "$s0" "$s1")
	# Reactions while everything else runs.
	t0=$(now_us)
	kill "$(cat "$T/tcpsrv2.pid")"
	react_tcp=$(addr_gone_ms 10.255.0.1 "$t0")
	t0=$(now_us)
	kill -9 "$(cat "$T/victim.pid")"
	react_proc=$(addr_gone_ms 10.255.0.2 "$t0")
	stop_daemon
	cpu_pct=$(awk -v c=$((c1 - c0)) -v s="$SECS" 'BEGIN { printf "%.2f", c / s / 1e4 }')
	cat <<-EOF

		Scale: $N services at 1 s ($N_TCP tcp, $N_HTTP http, $N_DNS dns, $N_PROC process, $N_LISTEN listen, 2 for reactions)
		| start-up (exec → "running") | exec → status answers | one status --json call | exec → all up | PSS / RSS / anon | CPU | checks in ${SECS} s | lateness p99 / worst in the window | starts > 5 ms late | worst since start |
		| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
		| $t_run ms | $t_status ms | $t_status_call ms | $t_up ms | $((pss / 1024)) / $((rss / 1024)) / $((anon / 1024)) MiB | $cpu_pct % of a core | $((r1 - r0)) | ≤ $p99 ms / ≤ $wmax ms ($tot starts) | $over5 % | $maxall ms |
		Reaction while all others run: tcp listener stopped → address gone from lo $react_tcp ms (bound: fall 2 × 1 s + timeout 500 ms + 150 ms = 2650 ms); process killed (-9) → address gone $react_proc ms
	EOF
	sum "$N services: start-up / status / all up" "$t_run / $t_status / $t_up ms" "" ""
	sum "$N services: CPU, PSS" "$cpu_pct % of a core, $((pss / 1024)) MiB" "" ""
	sum "$N services: lateness p99 / worst (window)" "≤ $p99 / ≤ $wmax ms ($over5 % > 5 ms)" "p99 ≤ 5 ms" ""
	sum "$N services: reaction tcp / process" "$react_tcp / $react_proc ms" "≤ 2650 / ≤ 10 ms" ""
fi

# --- prefixes, exabgp, frr: scripts of their own ---------------------------------------

if [[ $SKIP != *" prefixes "* ]]; then
	log "prefixes: 1000 prefixes on one service"
	AHD_BUILD=$BUILD bash "$SRC/tests/bench/prefixes_1000.sh" | tee "$T/prefixes.txt" || true
	while IFS= read -r line; do SUMMARY+=("$line"); done < <(grep '^| 1000 prefixes' "$T/prefixes.txt" || true)
fi
if [[ $SKIP != *" exabgp "* ]]; then
	log "exabgp: 10 HTTP services against ExaBGP's healthcheck"
	AHD_BUILD=$BUILD BENCH_CHECK=http BENCH_COST_N=10 BENCH_COST_SECS=20 BENCH_RESULTS=$T/exabgp.txt \
		bash "$SRC/tests/bench/bench_vs_exabgp.sh" >"$T/exabgp.log" 2>&1 || true
	cat "$T/exabgp.txt" 2>/dev/null || tail -20 "$T/exabgp.log"
	while IFS= read -r line; do
		SUMMARY+=("| ExaBGP, ${line#| }")
	done < <(grep -E '^\| 10 services: (CPU µs per check|memory)' "$T/exabgp.txt" 2>/dev/null || true)
fi
if [[ $SKIP != *" frrread "* ]]; then
	log "frrread: one FRR read through the vty socket and through vtysh"
	AHD_BUILD=$BUILD bash "$SRC/tests/bench/frr_read.sh" | tee "$T/frrread.txt" || true
	while IFS= read -r line; do SUMMARY+=("$line"); done < <(grep '^| one FRR read' "$T/frrread.txt" || true)
fi
if [[ $SKIP != *" frr "* ]]; then
	log "frr: zebra work-queue"
	bash "$SRC/tests/bench/frr_tuning.sh" | tee "$T/frr.txt" | grep -v '^#' || true
fi

{
	echo
	echo "Summary ($(nproc) CPUs, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(($(now_ms) - t_begin)) ms)"
	echo "| | measured | goal | ratio |"
	echo "| --- | --- | --- | --- |"
	printf '%s\n' "${SUMMARY[@]}"
} | tee "$OUT"
