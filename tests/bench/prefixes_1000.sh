#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# tests/bench/prefixes_1000.sh: one service with PFX_N (1000) prefixes goes
# down at once (its process probe's server is killed): how long until the
# last prefix is withdrawn at the GoBGP neighbour, for the address method
# (netlink requests batched, 64 per sendmsg) and the network method (one
# vtysh call for all statements); for the address method also when the
# addresses left lo (ip monitor), the daemon's own share. A benchmark
# (tests/bench/run.sh runs it); as root, after a build, ~1 minute:
#   AHD_BUILD=$PWD/_build bash tests/bench/prefixes_1000.sh
# Prints markdown rows "| 1000 prefixes, METHOD: ... |" and the details.
set -euo pipefail

if [[ -z ${BENCH_UNDER_TIMEOUT:-} ]]; then
	export BENCH_UNDER_TIMEOUT=1
	exec timeout -k 20 "${PFX_TIMEOUT:-300}" bash "$0" "$@"
fi

cd "$(dirname "$0")"
# shellcheck source=../integration/lib.sh
. ../integration/lib.sh
AHD_BUILD=${AHD_BUILD:-$AHD_SRCDIR/_build}
AHD_DAEMON=${AHD_DAEMON:-$AHD_BUILD/anycast-healthd}
N=${PFX_N:-1000}

ahd_init
ahd_require_root_tools

# 10.200.0.1/32 ... (address method), 10.201.0.1/32 ... (network method).
pfx() { echo "10.$1.$(((${2} + 1) >> 8)).$(((${2} + 1) & 255))/32"; }
ADDR=() NET=()
for ((i = 0; i < N; i++)); do ADDR+=("$(pfx 200 "$i")") NET+=("$(pfx 201 "$i")"); done
# The template lists ADDR's network statements; the network method's
# statements are the daemon's, with a kernel blackhole route for each as
# the non-BGP route import-check asks for.
ahd_start_all "${ADDR[@]}"
args=(-c 'configure terminal')
for p in "${NET[@]}"; do args+=(-c "ip prefix-list ANYCAST-PREFIXES permit $p"); done
ahd_vtysh "${args[@]}" >/dev/null
printf 'route add blackhole %s\n' "${NET[@]}" | ahd_node ip -batch -

# count_at_peer OCTET: how many of 10.OCTET.x.y GoBGP holds.
count_at_peer() {
	ahd_gobgp global rib -a ipv4 2>/dev/null | grep -c " 10\.$1\." || true
}

# gone_ms first|last OCTET T0_MS: when the first or last 10.OCTET.x.y left lo,
# stamped by `ip -ts monitor address` (local time, microseconds).
gone_ms() {
	local line ts
	line=$(grep "Deleted.* 10\.$2\." "$AHD_TMP/ipmon-address.log" | { [[ $1 == first ]] && head -1 || tail -1; })
	[[ -n $line ]] || { echo "-"; return 0; }
	ts=${line%%]*}
	ts=$(date -d "${ts#[}" +%s%6N)
	echo $(((ts - $3 * 1000) / 1000))
}

run_method() { # METHOD OCTET PFX...
	local method=$1 octet=$2 dir=$AHD_TMP/$1 list t0 t_kernel last n i kern
	shift 2
	mkdir -p "$dir/services.d"
	printf '{ "interface": "lo", "control_socket": "%s/ctl.sock", "state_file": "%s/state.json", "log": { "level": "info" }, "frr": { "pathspace": "%s" } }\n' \
		"$dir" "$dir" "$AHD_NODE" >"$dir/main.json"
	list=$(printf '"%s", ' "$@")
	ahd_start_bg "srv-$method" sleep 100000
	sleep 0.2
	cat "$AHD_TMP/srv-$method.pid" >"$dir/srv.pid"
	printf '{ "prefixes": [ %s ], "method": "%s", "interval": "1s", "timeout": "500ms", "rise": 1, "probes": [ { "type": "process", "pidfile": "%s/srv.pid" } ] }\n' \
		"${list%, }" "$method" "$dir" >"$dir/services.d/many.json"
	chmod 644 "$dir/main.json" "$dir/services.d/many.json"
	ahd_start_bg "daemon-$method" "$AHD_DAEMON" -c "$dir/main.json"
	for ((i = 0; i < 600; i++)); do
		n=$(count_at_peer "$octet")
		((n >= $#)) && break
		sleep 0.1
	done
	if ((n < $#)); then
		echo "| $N prefixes, $method: only $n announced at the neighbour | | | |"
		ahd_stop_bg "daemon-$method"
		return 0
	fi
	sleep 2
	: >"$AHD_TMP/monitor.log"
	# The kernel's side (address method): when the daemon's removals happened.
	[[ $method == address ]] && ahd_start_bg "ipmon-$method" ip -ts monitor address
	sleep 0.2
	t0=$(ahd_now_ms)
	kill -KILL "$(cat "$AHD_TMP/srv-$method.pid")"
	for ((i = 0; i < 600; i++)); do
		(($(count_at_peer "$octet") == 0)) && break
		sleep 0.05
	done
	sleep 0.5
	# The last withdrawal line about these prefixes in the monitor stream.
	last=$(awk -v re="\"prefix\":\"10\\\\.$octet\\\\." '$0 ~ re && /"withdrawal":true/ { t = $1 } END { print t }' \
		"$AHD_TMP/monitor.log")
	first=$(awk -v re="\"prefix\":\"10\\\\.$octet\\\\." '$0 ~ re && /"withdrawal":true/ { print $1; exit }' \
		"$AHD_TMP/monitor.log")
	t_kernel=$(grep -c "withdrew 10\.$octet\." "$AHD_TMP/daemon-$method.log" || true)
	kern=""
	if [[ $method == address ]]; then
		ahd_stop_bg "ipmon-$method"
		kern="; on lo: first address gone $(gone_ms first "$octet" "$t0") ms, last $(gone_ms last "$octet" "$t0") ms"
	fi
	echo "$method: kill -> first withdrawal at GoBGP $((first - t0)) ms, last $((last - t0)) ms (daemon log: $t_kernel addresses withdrawn)$kern"
	echo "| $N prefixes on one service, method $method: kill -9 → last withdrawal at the neighbour | $((last - t0)) ms (first $((first - t0)) ms$kern) | | |"
	ahd_stop_bg "daemon-$method"
}

run_method address 200 "${ADDR[@]}"
run_method network 201 "${NET[@]}"
ahd_pass "measured"
ahd_summary
