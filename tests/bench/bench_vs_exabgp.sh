#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# tests/bench/bench_vs_exabgp.sh: anycast-healthd against ExaBGP's
# healthcheck (exabgp-healthcheck, Debian package exabgp 4.2), in the same
# namespaces, against the same GoBGP neighbour, with a socat TCP service.
#
# A benchmark, not a test: tests/run-all.sh does not run it. Run it as root
# after a build (about 2 minutes, bounded at 175 s):
#   AHD_BUILD=$PWD/_build bash tests/bench/bench_vs_exabgp.sh
# BENCH_CHECK=http compares HTTP checks instead (the http probe; ExaBGP runs
# `curl -sf` per check) against nginx, cost only (no reaction trials), and
# adds memory (PSS and RSS of each tool's processes).
# It prints a table (markdown) and writes it to $BENCH_RESULTS (default
# _build/bench-results.txt), then "N passed, N failed" where N counts the
# measurements that completed (8 when all did).
#
# Sides (tests/integration/lib.sh: node and peer namespaces, GoBGP in peer):
#   anycast-healthd  in the node namespace, address method, FRR bgpd (AS
#                    65001, 198.51.100.1) announces to GoBGP.
#   ExaBGP           in the node namespace too, its own BGP session (AS
#                    65003, from 198.51.100.5) to the same GoBGP; one
#                    exabgp-healthcheck process per service, forking
#                    `socat -u OPEN:/dev/null TCP:127.0.0.1:PORT` per check.
# Measurements (each one is a PASS when it completed):
#   1-4. reaction, per tool, BENCH_TRIALS trials (default 10): the service's
#        listener stopped -> withdrawal in GoBGP's monitor stream, and
#        started -> announcement. Interval BENCH_INTERVAL_MS (default 200)
#        for both (ExaBGP: --interval and --fast-interval), rise 3, fall 2.
#   5-8. cost, per tool, with 1 and BENCH_COST_N (default 20) services, all
#        probing one listener every second (timeout 1 s): CPU time of the
#        tool's whole process tree over BENCH_COST_SECS (default 20) seconds
#        of steady state, from a cgroup made for the tool (cpuacct.usage on
#        cgroup v1, cpu.stat on v2; /proc utime+stime+cutime+cstime of the
#        process tree when no cgroup can be made). Checks are counted at
#        the service (socat logs every accepted connection), so "per check"
#        divides by what really happened, not by what was configured.
set -euo pipefail

if [[ -z ${BENCH_UNDER_TIMEOUT:-} ]]; then
	# Bound the whole run; timeout signals the process group, the EXIT
	# trap cleans up.
	export BENCH_UNDER_TIMEOUT=1
	exec timeout -k 20 "${BENCH_TIMEOUT:-175}" bash "$0" "$@"
fi

cd "$(dirname "$0")"
# shellcheck source=../integration/lib.sh
. ../integration/lib.sh

CHECK=${BENCH_CHECK:-tcp}
TRIALS=${BENCH_TRIALS:-10}
R_INTERVAL_MS=${BENCH_INTERVAL_MS:-200}
RISE=3 FALL=2
COST_N=${BENCH_COST_N:-20}
COST_SECS=${BENCH_COST_SECS:-20}
SLICE_SECS=5
RESULTS=${BENCH_RESULTS:-$AHD_SRCDIR/_build/bench-results.txt}
AHD_BUILD=${AHD_BUILD:-$AHD_SRCDIR/_build}
AHD_DAEMON=${AHD_DAEMON:-$AHD_BUILD/anycast-healthd}

R_PORT=8053 C_PORT=8054
AHD_R_PFX=192.0.2.53/32 EXA_R_PFX=192.0.2.153/32
EXA_ASN=65003 EXA_V4=198.51.100.5
EXA_HC=/usr/bin/exabgp-healthcheck

# ExaBGP's neighbour entry at GoBGP: passive (ExaBGP connects), IPv4 only.
AHD_GOBGP_EXTRA="
[[neighbors]]
  [neighbors.config]
    neighbor-address = \"$EXA_V4\"
    peer-as = $EXA_ASN
  [neighbors.transport.config]
    passive-mode = true
  [neighbors.timers.config]
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = \"ipv4-unicast\""

ahd_cost_pfx() { echo "192.0.2.$1/32"; }	  # 192.0.2.1 ... for anycast-healthd
exa_cost_pfx() { echo "192.0.2.$((100 + $1))/32"; } # 192.0.2.101 ... for ExaBGP

CGROUPS=()
CG_KIND=proc

# Like lib.sh's ahd_on_exit, but the cgroups go once their processes have.
bench_on_exit() {
	local rc=$? cg i
	if ((rc != 0 && !AHD_SUMMARY_DONE)); then
		ahd_fail "${0##*/} stopped early with status $rc (see the messages above)"
		ahd_summary || true
	fi
	ahd_cleanup
	for cg in "${CGROUPS[@]}"; do
		for ((i = 0; i < 40; i++)); do
			[[ -d $cg ]] || break
			rmdir "$cg" 2>/dev/null && break
			sleep 0.05
		done
	done
	exit "$rc"
}

ahd_init
trap bench_on_exit EXIT
ahd_require_root_tools
for t in "$AHD_DAEMON" exabgp "$EXA_HC" awk; do
	if ! command -v "$t" >/dev/null 2>&1; then
		ahd_log "missing $t (build first; bash tests/deps.sh installs exabgp)"
		exit 1
	fi
done
if ((COST_N < 1 || COST_N > 90)); then
	ahd_log "BENCH_COST_N must be 1-90"
	exit 1
fi
if [[ $CHECK != tcp && $CHECK != http ]]; then
	ahd_log "BENCH_CHECK must be tcp or http"
	exit 1
fi


# --- CPU accounting ---------------------------------------------------------

# Decide how CPU time is read: a cgroup per tool when one can be made
# (BENCH_CPU=proc forces the /proc way, to cross-check the two).
cpu_setup() {
	local probe
	[[ ${BENCH_CPU:-auto} != proc ]] || return 0
	if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
		probe=/sys/fs/cgroup/ahd-bench-$$-probe
		mkdir "$probe" 2>/dev/null && rmdir "$probe" && CG_KIND=v2 && return 0
	elif [[ -d /sys/fs/cgroup/cpuacct ]]; then
		probe=/sys/fs/cgroup/cpuacct/ahd-bench-$$-probe
		mkdir "$probe" 2>/dev/null && rmdir "$probe" && CG_KIND=v1 && return 0
	fi
	CG_KIND=proc
}

# Print a new cgroup's path for NAME (empty with CG_KIND=proc).
cg_make() {
	local cg
	case $CG_KIND in
	v2) cg=/sys/fs/cgroup/ahd-bench-$$-$1 ;;
	v1) cg=/sys/fs/cgroup/cpuacct/ahd-bench-$$-$1 ;;
	*) return 0 ;;
	esac
	mkdir "$cg"
	echo "$cg"
}

# CPU time in microseconds of process PID and its descendants, from /proc:
# utime+stime of each live process plus cutime+cstime (children it reaped).
# A check command in flight (sh, socat) is left out: its time is counted
# once its parent has reaped it, so that it is never counted twice (live,
# then in cutime) or dropped between two samples. Resolution: one clock
# tick (10 ms), too coarse for one anycast-healthd service in 20 s.
proc_tree_us() {
	local root=$1 tck
	tck=$(getconf CLK_TCK)
	awk -v root="$root" -v tck="$tck" '
		FNR == 1 {
			s = $0; sub(/^.*\) /, "", s); n = split(s, f, " ")
			pid = FILENAME; sub(/^\/proc\//, "", pid); sub(/\/stat$/, "", pid)
			comm = $0; sub(/^[^(]*\(/, "", comm); sub(/\) [^)]*$/, "", comm)
			if (comm ~ /^(sh|socat|curl)$/) next
			ppid[pid] = f[2]; t[pid] = f[12] + f[13] + f[14] + f[15]
		}
		END {
			keep[root] = 1
			do {
				more = 0
				for (p in ppid)
					if (!(p in keep) && (ppid[p] in keep)) { keep[p] = 1; more = 1 }
			} while (more)
			for (p in keep) sum += t[p]
			printf "%d\n", sum * 1000000 / tck
		}' /proc/[0-9]*/stat 2>/dev/null
}

# CPU time (us) used so far by the tool in cgroup CG, or by PID's tree.
cpu_us() {
	local cg=$1 pid=$2
	case $CG_KIND in
	v2) awk '$1 == "usage_usec" { print $2 }' "$cg/cpu.stat" ;;
	v1) echo $(($(cat "$cg/cpuacct.usage") / 1000)) ;;
	*) proc_tree_us "$pid" ;;
	esac
}

# CPU time (us) of the processes PID... themselves (not their children):
# the sum over their threads of /proc/PID/task/TID/schedstat's first field
# (ns on the CPU), or utime+stime (10 ms ticks) without schedstats.
own_us() {
	local pid sum=0 tck t
	tck=$(getconf CLK_TCK)
	for pid; do
		if [[ -r /proc/$pid/schedstat ]]; then
			t=$(awk '{ s += $1 } END { printf "%d\n", s / 1000 }' /proc/"$pid"/task/*/schedstat)
		else
			t=$(awk -v tck="$tck" '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
				printf "%d\n", (f[12] + f[13]) * 1000000 / tck }' "/proc/$pid/stat")
		fi
		sum=$((sum + t))
	done
	echo "$sum"
}

# CPU time (us) of FRR's zebra and bgpd in the node namespace.
frr_us() {
	own_us "$(cat "/var/run/frr/$AHD_NODE/zebra.pid")" "$(cat "/var/run/frr/$AHD_NODE/bgpd.pid")"
}

# Start CMD in the node namespace inside cgroup CG (may be empty), like
# ahd_start_bg: pid in $AHD_TMP/NAME.pid, output in NAME.log. The subshell
# joins the cgroup and then becomes the command, so every process the tool
# ever forks is accounted there.
start_in_cg() {
	local name=$1 cg=$2
	shift 2
	(
		[[ -z $cg ]] || echo "$BASHPID" >"$cg/cgroup.procs"
		exec ip netns exec "$AHD_NODE" "$@"
	) >"$AHD_TMP/$name.log" 2>&1 &
	echo $! >"$AHD_TMP/$name.pid"
}

# --- helpers ----------------------------------------------------------------

# Status 0 once GoBGP's IPv4 table holds every PFX given (one dump per poll).
rib_has_all() {
	local out p
	out=$(ahd_gobgp global rib -a ipv4 -j 2>/dev/null) || return 1
	for p; do
		[[ $out == *"\"$p\""* ]] || return 1
	done
}

rib_has_none() {
	local out p
	out=$(ahd_gobgp global rib -a ipv4 -j 2>/dev/null) || return 1
	for p; do
		[[ $out != *"\"$p\""* ]] || return 1
	done
}

# wait_for SECS FUNC ARGS...: poll FUNC every 100 ms.
wait_for() {
	local secs=$1 end
	shift
	end=$(($(ahd_now_ms) + secs * 1000))
	until "$@"; do
		(($(ahd_now_ms) < end)) || return 1
		sleep 0.1
	done
}

# Number of long-lived processes in PID's tree (not the sh/socat of a
# check that happens to be running).
long_lived() {
	ps -e -o pid=,ppid=,comm= | awk -v r="$1" '
		{ pp[$1] = $2; c[$1] = $3 }
		END {
			k[r] = 1
			do {
				m = 0
				for (p in pp)
					if (!(p in k) && (pp[p] in k)) { k[p] = 1; m = 1 }
			} while (m)
			for (p in k)
				if (c[p] !~ /^(sh|socat|curl)$/) n++
			print n
		}'
}

# Number of connections (tcp) or requests (http) the cost service has served so far.
accepted() {
	if [[ $CHECK == http ]]; then
		wc -l <"$AHD_TMP/access.log"
	else
		grep -c 'accepting connection' "$AHD_TMP/costsvc.log" || true
	fi
}

# PSS and RSS (KiB) of the long-lived processes in PID's tree: "PSS RSS".
tree_mem() {
	local p sum_p=0 sum_r=0 pss rss
	for p in $(ps -e -o pid=,ppid=,comm= | awk -v r="$1" '
		{ pp[$1] = $2; c[$1] = $3 }
		END {
			k[r] = 1
			do {
				m = 0
				for (p in pp)
					if (!(p in k) && (pp[p] in k)) { k[p] = 1; m = 1 }
			} while (m)
			for (p in k)
				if (c[p] !~ /^(sh|socat|curl|ip)$/) print p
		}'); do
		read -r pss rss < <(awk '/^Pss:/ { p = $2 } /^Rss:/ { r = $2 } END { print p + 0, r + 0 }' \
			"/proc/$p/smaps_rollup" 2>/dev/null) || continue
		sum_p=$((sum_p + pss)) sum_r=$((sum_r + rss))
	done
	echo "$sum_p $sum_r"
}

start_cost_service() {
	local i
	if [[ $CHECK == http ]]; then
		ahd_nginx_setup "$C_PORT"
		# Every request is logged (the checks are counted there) and answered 200.
		sed -i -e "s|access_log off;|access_log $AHD_TMP/access.log;|" \
			-e 's|location / { return 404; }|location / { return 200 "ok\\n"; }|' \
			-e 's|worker_connections 64;|worker_connections 1024;|' "$AHD_NGINX/nginx.conf"
		: >"$AHD_TMP/access.log"
		ahd_start_nginx
		return
	fi
	ahd_start_bg costsvc socat -d -d "TCP-LISTEN:$C_PORT,bind=127.0.0.1,fork,reuseaddr" \
		"SYSTEM:echo ok"
	for ((i = 0; i < 100; i++)); do
		[[ -n $(ahd_node ss -Hltn "sport = :$C_PORT") ]] && return 0
		sleep 0.05
	done
	ahd_log "cost service did not listen on 127.0.0.1:$C_PORT"
	return 1
}

# x / y with 3 significant-ish decimals; "-" when y is 0 or missing.
div() {
	awk -v x="${1:-}" -v y="${2:-}" 'BEGIN {
		if (x == "" || y == "" || x == "-" || y == "-" || y + 0 == 0) { print "-"; exit }
		v = x / y
		if (v >= 100) printf "%.0f\n", v; else if (v >= 10) printf "%.1f\n", v
		else printf "%.2f\n", v }'
}

# "min / median / max" of integers or decimals.
mmm() {
	local -a s
	(($#)) || { echo "-"; return 0; }
	mapfile -t s < <(printf '%s\n' "$@" | sort -g)
	printf '%s / %s / %s\n' "${s[0]}" "${s[$(($# / 2))]}" "${s[$(($# - 1))]}"
}

median() {
	local -a s
	(($#)) || { echo ""; return 0; }
	mapfile -t s < <(printf '%s\n' "$@" | sort -g)
	echo "${s[$(($# / 2))]}"
}

# --- the two tools ----------------------------------------------------------

# ahd_write_config DIR INTERVAL TIMEOUT PORT PFX...: one service per prefix.
ahd_write_config() {
	local dir=$1 interval=$2 timeout=$3 port=$4 i=0 p probe
	shift 4
	rm -rf "$dir"
	mkdir -p "$dir/services.d"
	cat >"$dir/anycast-healthd.json" <<-JSON
		{ "interface": "lo", "control_socket": "$dir/ctl.sock", "state_file": "$dir/state.json",
		  "on_exit": "withdraw", "log": { "level": "info" }, "frr": { "pathspace": "$AHD_NODE" } }
	JSON
	for p; do
		i=$((i + 1))
		if [[ $CHECK == http ]]; then
			probe="{ \"type\": \"http\", \"url\": \"http://127.0.0.1:$port/healthz\" }"
		else
			probe="{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": $port }"
		fi
		cat >"$dir/services.d/s$i.json" <<-JSON
			{ "prefixes": ["$p"], "interval": "$interval", "timeout": "$timeout",
			  "rise": $RISE, "fall": $FALL, "probes": [ $probe ] }
		JSON
	done
	chmod 644 "$dir/anycast-healthd.json" "$dir"/services.d/*.json
}

# exa_write_config DIR INTERVAL_S TIMEOUT_S PORT PFX...: one
# exabgp-healthcheck process per prefix, all on one ExaBGP session.
exa_write_config() {
	local dir=$1 interval=$2 timeout=$3 port=$4 i=0 p procs="" cmd
	shift 4
	if [[ $CHECK == http ]]; then
		cmd="curl -sf -o /dev/null --max-time $timeout http://127.0.0.1:$port/healthz"
	else
		cmd="socat -u OPEN:/dev/null TCP:127.0.0.1:$port"
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	for p; do
		i=$((i + 1))
		cat >"$dir/hc$i.conf" <<-EOF
			no-syslog
			name = s$i
			ip = $p
			no-ip-setup
			withdraw-on-down
			interval = $interval
			fast-interval = $interval
			timeout = $timeout
			rise = $RISE
			fall = $FALL
			cmd = $cmd
		EOF
		printf 'process hc%d {\n\trun %s --config %s;\n\tencoder text;\n}\n' \
			"$i" "$EXA_HC" "$dir/hc$i.conf" >>"$dir/exabgp.conf"
		procs+="${procs:+, }hc$i"
	done
	cat >>"$dir/exabgp.conf" <<-EOF
		neighbor $AHD_PEER_V4 {
			router-id $EXA_V4;
			local-address $EXA_V4;
			local-as $EXA_ASN;
			peer-as $AHD_PEER_ASN;
			family { ipv4 unicast; }
			api services { processes [ $procs ]; }
		}
	EOF
	chmod 644 "$dir"/*
}

# tool_start TOOL DIR CG: start anycast-healthd or ExaBGP on DIR's config.
tool_start() {
	local tool=$1 dir=$2 cg=$3
	if [[ $tool == ahd ]]; then
		start_in_cg ahd "$cg" "$AHD_DAEMON" -c "$dir/anycast-healthd.json"
	else
		# As root in the namespace, no privilege drop, no CLI pipes.
		start_in_cg exa "$cg" env exabgp_daemon_user=root exabgp_daemon_drop=false \
			exabgp_api_cli=false exabgp_log_destination=stdout \
			exabgp "$dir/exabgp.conf"
	fi
}

# tool_stop TOOL: SIGTERM (anycast-healthd withdraws, ExaBGP closes its
# session); the prefixes leave GoBGP's table either way.
tool_stop() {
	ahd_stop_bg "$1"
}

tool_name() {
	if [[ $1 == ahd ]]; then echo anycast-healthd; else echo "ExaBGP healthcheck"; fi
}

# --- 1-4: reaction ------------------------------------------------------------

declare -A W_SAMPLES A_SAMPLES

reaction() {
	local tool=$1 pfx dir i t0 a broken=0 ws=() as=() interval
	dir=$AHD_TMP/$tool-reaction
	if [[ $tool == ahd ]]; then
		pfx=$AHD_R_PFX
		# timeout <= interval is anycast-healthd's rule; ExaBGP's minimum is 1 s.
		ahd_write_config "$dir" "${R_INTERVAL_MS}ms" "${R_INTERVAL_MS}ms" "$R_PORT" "$pfx"
	else
		pfx=$EXA_R_PFX
		interval=$(awk -v m="$R_INTERVAL_MS" 'BEGIN { printf "%g", m / 1000 }')
		exa_write_config "$dir" "$interval" 1 "$R_PORT" "$pfx"
	fi
	ahd_start_tcp_service rsvc "$R_PORT"
	tool_start "$tool" "$dir" ""
	if ! ahd_wait_prefix_present "$pfx" 20; then
		ahd_fail "$(tool_name "$tool"): $pfx never announced (see $tool.log)"
		ahd_fail "$(tool_name "$tool"): reaction trials not run"
		tool_stop "$tool"
		ahd_stop_tcp_service rsvc
		return 0
	fi
	sleep 0.5
	for ((i = 1; i <= TRIALS; i++)); do
		t0=$(ahd_now_ms)
		ahd_stop_tcp_service rsvc
		if a=$(ahd_withdraw_time_after "$t0" "$pfx" 8); then
			ws+=("$a")
		else
			broken=$((broken + 1))
		fi
		t0=$(ahd_now_ms)
		ahd_start_tcp_service rsvc "$R_PORT"
		if a=$(ahd_announce_time_after "$t0" "$pfx" 8); then
			as+=("$a")
		else
			broken=$((broken + 1))
		fi
		# Let the next trial start from a settled state.
		sleep 0.$((RANDOM % 3))
	done
	tool_stop "$tool"
	ahd_stop_tcp_service rsvc
	wait_for 10 rib_has_none "$pfx" || true
	W_SAMPLES[$tool]="${ws[*]}"
	A_SAMPLES[$tool]="${as[*]}"
	echo "$(tool_name "$tool"): stop -> withdrawal: $(ahd_stats "${ws[@]}")"
	echo "$(tool_name "$tool"): start -> announcement: $(ahd_stats "${as[@]}")"
	if ((${#ws[@]} == TRIALS)); then
		ahd_pass "$(tool_name "$tool"): $TRIALS withdrawals measured"
	else
		ahd_fail "$(tool_name "$tool"): $((TRIALS - ${#ws[@]})) of $TRIALS withdrawals missing"
	fi
	if ((${#as[@]} == TRIALS)); then
		ahd_pass "$(tool_name "$tool"): $TRIALS announcements measured"
	else
		ahd_fail "$(tool_name "$tool"): $((TRIALS - ${#as[@]})) of $TRIALS announcements missing"
	fi
}

# --- 5-8: cost ------------------------------------------------------------------

# Results per "tool:n": CPU us and checks over the window, per-slice us/check,
# and (anycast-healthd only) FRR's zebra+bgpd CPU us over the same window.
# C_OWN: the tool's main process alone (for ExaBGP: the BGP speaker without
# its healthcheck processes).
declare -A C_US C_CHECKS C_SLICES C_FRR C_PROCS C_OWN C_PSS C_RSS

cost() {
	local tool=$1 n=$2 key=$1:$2 dir cg i pfxs=() u0 c0 f0 o0 u1 c1 f1 o1 ut ct s=() pid
	dir=$AHD_TMP/$tool-cost-$n
	for ((i = 1; i <= n; i++)); do
		if [[ $tool == ahd ]]; then pfxs+=("$(ahd_cost_pfx "$i")"); else pfxs+=("$(exa_cost_pfx "$i")"); fi
	done
	if [[ $tool == ahd ]]; then
		ahd_write_config "$dir" 1s 1s "$C_PORT" "${pfxs[@]}"
	else
		exa_write_config "$dir" 1 1 "$C_PORT" "${pfxs[@]}"
	fi
	cg=$(cg_make "$tool-$n")
	[[ -z $cg ]] || CGROUPS+=("$cg")
	tool_start "$tool" "$dir" "$cg"
	if ! wait_for 30 rib_has_all "${pfxs[@]}"; then
		ahd_fail "$(tool_name "$tool"), $n services: not all announced within 30 s"
		tool_stop "$tool"
		return 0
	fi
	# Steady state: every service up, one check per service per second.
	sleep 1
	pid=$(cat "$AHD_TMP/$tool.pid")
	C_PROCS[$key]=$(long_lived "$pid")
	u0=$(cpu_us "$cg" "$pid") c0=$(accepted) f0=$(frr_us) o0=$(own_us "$pid")
	ut=$u0 ct=$c0
	for ((i = 0; i < COST_SECS / SLICE_SECS; i++)); do
		sleep "$SLICE_SECS"
		u1=$(cpu_us "$cg" "$pid") c1=$(accepted)
		s+=("$(div $((u1 - ut)) $((c1 - ct)))")
		ut=$u1 ct=$c1
	done
	f1=$(frr_us) o1=$(own_us "$pid")
	read -r "C_PSS[$key]" "C_RSS[$key]" < <(tree_mem "$pid")
	C_OWN[$key]=$((o1 - o0))
	C_US[$key]=$((u1 - u0))
	C_CHECKS[$key]=$((c1 - c0))
	C_SLICES[$key]="${s[*]}"
	C_FRR[$key]=$((f1 - f0))
	if ! rib_has_all "${pfxs[@]}"; then
		ahd_fail "$(tool_name "$tool"), $n services: a prefix was lost during the window"
		tool_stop "$tool"
		return 0
	fi
	tool_stop "$tool"
	wait_for 15 rib_has_none "${pfxs[@]}" || ahd_log "$tool: prefixes still at GoBGP after stop"
	echo "$(tool_name "$tool"), $n services: ${C_US[$key]} us CPU, ${C_CHECKS[$key]} checks in ${COST_SECS} s," \
		"$(div "${C_US[$key]}" "${C_CHECKS[$key]}") us/check, ${C_PROCS[$key]} processes;" \
		"main process alone ${C_OWN[$key]} us, FRR zebra+bgpd ${C_FRR[$key]} us"
	if ((C_CHECKS[$key] > 0)) && [[ ${C_US[$key]} -gt 0 || $CG_KIND == proc ]]; then
		ahd_pass "$(tool_name "$tool"), $n services: CPU cost measured"
	else
		ahd_fail "$(tool_name "$tool"), $n services: no checks or no CPU time seen"
	fi
}

# --- run --------------------------------------------------------------------

t_start=$(ahd_now_ms)
cpu_setup
all_ahd=("$AHD_R_PFX")
for ((i = 1; i <= COST_N; i++)); do all_ahd+=("$(ahd_cost_pfx "$i")"); done
ahd_start_all "${all_ahd[@]}"
# ExaBGP's source address on the node's side of the link.
ip -n "$AHD_NODE" addr add "$EXA_V4/32" dev "$AHD_NODE_IF"
ip -n "$AHD_PEER" route add "$EXA_V4/32" dev "$AHD_PEER_IF"
ahd_log "CPU accounting: $CG_KIND"

if [[ $CHECK == tcp && ${BENCH_REACTION:-1} == 1 ]]; then
	reaction ahd
	reaction exa
fi
start_cost_service
cost_ns=(1)
((COST_N > 1)) && cost_ns+=("$COST_N")
for n in "${cost_ns[@]}"; do
	cost ahd "$n"
	cost exa "$n"
done
ahd_stop_bg costsvc
[[ $CHECK != http ]] || ahd_stop_nginx

# --- table ------------------------------------------------------------------

ahd_version=$(git -C "$AHD_SRCDIR" describe --always --dirty 2>/dev/null || echo unknown)
exa_version=$(dpkg-query -W -f '${Version}' exabgp 2>/dev/null || echo unknown)
case $CG_KIND in
v1) how="cgroup v1 cpuacct.usage" ;;
v2) how="cgroup v2 cpu.stat usage_usec" ;;
*) how="/proc utime+stime+cutime+cstime of the process tree" ;;
esac

# row LABEL AHD EXA RATIO
row() { printf '| %s | %s | %s | %s |\n' "$@"; }

# CPU seconds per service per hour from US microseconds over the window.
per_hour() {
	awk -v u="${1:-}" -v n="$2" -v s="$COST_SECS" \
		'BEGIN { if (u == "") print "-"; else printf "%.2f\n", u / 1e6 / n / s * 3600 }'
}

# Ratio of two medians of sample lists (space-separated strings).
ratio_med() {
	local a b
	# shellcheck disable=SC2086
	a=$(median ${1:-}) b=$(median ${2:-})
	div "$b" "$a"
}

{
	echo "anycast-healthd $ahd_version vs ExaBGP $exa_version healthcheck; $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	if [[ -n ${W_SAMPLES[ahd]:-} ]]; then
	echo "Reaction: interval ${R_INTERVAL_MS} ms, rise $RISE, fall $FALL, $TRIALS trials, ms at the GoBGP neighbour (min / median / max)"
	echo
	row "" "anycast-healthd" "ExaBGP healthcheck" "ExaBGP / anycast-healthd (median)"
	row "---" "---" "---" "---"
	# shellcheck disable=SC2086
	row "service stop → withdrawal" "$(mmm ${W_SAMPLES[ahd]:-})" "$(mmm ${W_SAMPLES[exa]:-})" \
		"$(ratio_med "${W_SAMPLES[ahd]:-}" "${W_SAMPLES[exa]:-}")"
	# shellcheck disable=SC2086
	row "service start → announcement" "$(mmm ${A_SAMPLES[ahd]:-})" "$(mmm ${A_SAMPLES[exa]:-})" \
		"$(ratio_med "${A_SAMPLES[ahd]:-}" "${A_SAMPLES[exa]:-}")"
	echo
	fi
	echo "Cost of $CHECK checks: interval 1 s, timeout 1 s, ${COST_SECS} s of steady state, CPU from $how;"
	echo "checks counted at the service; per check: min / median / max over ${SLICE_SECS} s slices;"
	echo "ratios from the whole window"
	echo
	row "" "anycast-healthd" "ExaBGP healthcheck" "ExaBGP / anycast-healthd"
	row "---" "---" "---" "---"
	for n in "${cost_ns[@]}"; do
		a=ahd:$n e=exa:$n l="$n services"
		((n > 1)) || l="1 service"
		row "$l: processes" "${C_PROCS[$a]:--}" "${C_PROCS[$e]:--}" "$(div "${C_PROCS[$e]:-}" "${C_PROCS[$a]:-}")"
		row "$l: checks in ${COST_SECS} s" "${C_CHECKS[$a]:--}" "${C_CHECKS[$e]:--}" ""
		# shellcheck disable=SC2086
		row "$l: CPU µs per check" "$(mmm ${C_SLICES[$a]:-})" "$(mmm ${C_SLICES[$e]:-})" \
			"$(div "$(div "${C_US[$e]:-}" "${C_CHECKS[$e]:-}")" "$(div "${C_US[$a]:-}" "${C_CHECKS[$a]:-}")")"
		ha=$(per_hour "${C_US[$a]:-}" "$n")
		he=$(per_hour "${C_US[$e]:-}" "$n")
		row "$l: CPU s per service per hour" "$ha" "$he" "$(div "$he" "$ha")"
		hf=$(per_hour "${C_US[$a]:+$((C_US[$a] + C_FRR[$a]))}" "$n")
		row "$l: same, anycast-healthd + FRR zebra/bgpd" "$hf" "$he" "$(div "$he" "$hf")"
		ho=$(per_hour "${C_OWN[$e]:-}" "$n")
		row "$l: of which the ExaBGP daemon itself" "" "$ho" ""
		# The rest of anycast-healthd's column is its children: vtysh runs
		# (FRR checks every 10 s), whatever the probes cost.
		row "$l: of which anycast-healthd's own process (its vtysh runs left out), µs per check" \
			"$(div "${C_OWN[$a]:-}" "${C_CHECKS[$a]:-}")" "" \
			"$(div "$(div "${C_US[$e]:-}" "${C_CHECKS[$e]:-}")" "$(div "${C_OWN[$a]:-}" "${C_CHECKS[$a]:-}")")"
		row "$l: memory PSS, MiB" "$(div "${C_PSS[$a]:-}" 1024)" "$(div "${C_PSS[$e]:-}" 1024)" \
			"$(div "${C_PSS[$e]:-}" "${C_PSS[$a]:-}")"
		row "$l: memory RSS, MiB (shared pages counted in every process)" "$(div "${C_RSS[$a]:-}" 1024)" \
			"$(div "${C_RSS[$e]:-}" 1024)" "$(div "${C_RSS[$e]:-}" "${C_RSS[$a]:-}")"
	done
	echo
	echo "Wall time of the benchmark: $((($(ahd_now_ms) - t_start) / 1000)) s"
} >"$AHD_TMP/table.txt"
echo
cat "$AHD_TMP/table.txt"
mkdir -p "$(dirname "$RESULTS")"
cp "$AHD_TMP/table.txt" "$RESULTS"
ahd_log "results written to $RESULTS"
ahd_summary
