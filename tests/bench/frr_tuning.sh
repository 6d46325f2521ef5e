#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# tests/bench/frr_tuning.sh: what `zebra work-queue` (zebra's RIB work-queue
# hold, ms; FRR's default 10) does to the anycast prefix's convergence, and
# what it costs on a node that also carries a large table from upstream.
# A benchmark, not a test (tests/bench/run.sh runs it). As root, ~3 minutes:
#   bash tests/bench/frr_tuning.sh
# Knobs: FRRT_VALUES ("10 0"), FRRT_TRIALS (10 per value, alternated),
# FRRT_ROUTES (100000 /24 routes injected at GoBGP from an MRT file).
#
# In the namespaces of tests/integration/lib.sh (FRR 8.4 node, GoBGP peer):
#  1. per value, alternating values trial by trial: address delete on lo ->
#     withdrawal at GoBGP, address add -> announcement (ms);
#  2. per value: FRRT_ROUTES routes injected at GoBGP (gobgp mrt inject):
#     wall time until zebra has installed them all in the kernel, and
#     zebra's and bgpd's CPU time (schedstat) for the load; then the same
#     anycast trials with the table present; then the routes withdrawn
#     again (wall time until gone from the kernel, CPU).
set -euo pipefail

if [[ -z ${BENCH_UNDER_TIMEOUT:-} ]]; then
	export BENCH_UNDER_TIMEOUT=1
	exec timeout -k 20 "${FRRT_TIMEOUT:-600}" bash "$0" "$@"
fi

cd "$(dirname "$0")"
# shellcheck source=../integration/lib.sh
. ../integration/lib.sh

read -ra VALUES <<<"${FRRT_VALUES:-10 0}"
TRIALS=${FRRT_TRIALS:-10}
ROUTES=${FRRT_ROUTES:-100000}
PFX=192.0.2.53/32

ahd_init
trap ahd_on_exit EXIT
ahd_require_root_tools
ahd_start_all "$PFX"

zebra_pid() { cat "/var/run/frr/$AHD_NODE/zebra.pid"; }
bgpd_pid() { cat "/var/run/frr/$AHD_NODE/bgpd.pid"; }
# CPU time (us) of a process: its threads' schedstat (ns on the CPU).
cpu_of() { awk '{ s += $1 } END { printf "%d\n", s / 1000 }' /proc/"$1"/task/*/schedstat; }
set_wq() { ahd_vtysh -c 'configure terminal' -c "zebra work-queue $1" >/dev/null; }
kernel_routes() { ahd_node ip -4 route show proto bgp | wc -l; }

# Let the upstream's routes in (ebgp-requires-policy), never out.
ahd_vtysh -c 'configure terminal' -c 'route-map UPSTREAM-IN permit 10' -c 'exit' \
	-c "router bgp $AHD_NODE_ASN" -c 'address-family ipv4 unicast' \
	-c "neighbor $AHD_PEER_V4 route-map UPSTREAM-IN in" >/dev/null

declare -A DEL ADD
# trials LABEL: TRIALS rounds, each value once per round, in turn.
trials() {
	local label=$1 i v t0 a
	for ((i = 1; i <= TRIALS; i++)); do
		for v in "${VALUES[@]}"; do
			set_wq "$v"
			sleep 0.2
			t0=$(ahd_now_ms)
			ahd_node ip addr add "$PFX" dev lo
			if a=$(ahd_announce_time_after "$t0" "$PFX" 10); then
				ADD[$label:$v]+="$a "
			fi
			sleep 0.3
			t0=$(ahd_now_ms)
			ahd_node ip addr del "$PFX" dev lo
			if a=$(ahd_withdraw_time_after "$t0" "$PFX" 10); then
				DEL[$label:$v]+="$a "
			fi
			sleep 0.2
		done
	done
	for v in "${VALUES[@]}"; do
		# shellcheck disable=SC2086
		echo "$label, zebra work-queue $v: delete -> withdrawal $(ahd_stats ${DEL[$label:$v]:-})"
		# shellcheck disable=SC2086
		echo "$label, zebra work-queue $v: add -> announcement $(ahd_stats ${ADD[$label:$v]:-})"
	done
}

# wait_routes OP N SECS: until the kernel holds >= N (OP ge) or <= N (le) BGP routes.
wait_routes() {
	local op=$1 n=$2 secs=$3 end c
	end=$(($(ahd_now_ms) + secs * 1000))
	while (($(ahd_now_ms) < end)); do
		c=$(kernel_routes)
		if [[ $op == ge ]] && ((c >= n)); then return 0; fi
		if [[ $op == le ]] && ((c <= n)); then return 0; fi
		sleep 0.2
	done
	return 1
}

trials "no upstream table"

mrt=$AHD_TMP/upstream.mrt
python3 ./gen_mrt.py "$ROUTES" "$mrt"
declare -A LOAD_MS LOAD_Z LOAD_B UNLOAD_MS UNLOAD_Z UNLOAD_B
for v in "${VALUES[@]}"; do
	set_wq "$v"
	sleep 0.5
	z0=$(cpu_of "$(zebra_pid)") b0=$(cpu_of "$(bgpd_pid)") t0=$(ahd_now_ms)
	ahd_gobgp mrt inject global --no-ipv6 --nexthop "$AHD_PEER_V4" "$mrt" >/dev/null
	# gobgp 3.10's inject drops its last partial batch (a dozen routes):
	# the target is what GoBGP holds.
	target=$(ahd_gobgp global rib summary -a ipv4 | awk '/Destination:/ { sub(/,/, "", $2); print $2 }')
	if wait_routes ge "$target" 180; then
		LOAD_MS[$v]=$(($(ahd_now_ms) - t0))
	else
		LOAD_MS[$v]="> 180000 ($(kernel_routes) routes)"
	fi
	LOAD_Z[$v]=$(($(cpu_of "$(zebra_pid)") - z0)) LOAD_B[$v]=$(($(cpu_of "$(bgpd_pid)") - b0))
	echo "zebra work-queue $v: $target routes installed in ${LOAD_MS[$v]} ms; CPU zebra ${LOAD_Z[$v]} us, bgpd ${LOAD_B[$v]} us"
	# The monitor stream saw every injected route: start its log afresh.
	: >"$AHD_TMP/monitor.log"
	sleep 2
	TRIALS_SAVED=$TRIALS
	TRIALS=$((TRIALS / 2 > 0 ? TRIALS / 2 : 1))
	VALUES_SAVED=("${VALUES[@]}")
	VALUES=("$v")
	trials "$ROUTES-route table"
	VALUES=("${VALUES_SAVED[@]}")
	TRIALS=$TRIALS_SAVED
	z0=$(cpu_of "$(zebra_pid)") b0=$(cpu_of "$(bgpd_pid)") t0=$(ahd_now_ms)
	ahd_gobgp global rib -a ipv4 del all >/dev/null
	if wait_routes le 0 180; then
		UNLOAD_MS[$v]=$(($(ahd_now_ms) - t0))
	else
		UNLOAD_MS[$v]="> 180000"
	fi
	UNLOAD_Z[$v]=$(($(cpu_of "$(zebra_pid)") - z0)) UNLOAD_B[$v]=$(($(cpu_of "$(bgpd_pid)") - b0))
	echo "zebra work-queue $v: $ROUTES routes withdrawn in ${UNLOAD_MS[$v]} ms; CPU zebra ${UNLOAD_Z[$v]} us, bgpd ${UNLOAD_B[$v]} us"
	: >"$AHD_TMP/monitor.log"
	sleep 2
done

echo
echo "| zebra work-queue | delete → withdrawal (min/median/max ms) | add → announcement | same with $ROUTES routes: delete → withdrawal | load $ROUTES routes: wall ms / zebra CPU ms / bgpd CPU ms | withdraw them: wall ms / zebra / bgpd |"
echo "| --- | --- | --- | --- | --- | --- |"
mmm() { # shellcheck disable=SC2048,SC2086
	printf '%s\n' $* | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%s / %s / %s", v[1], v[int(NR / 2) + 1], v[NR]; else printf "-" }'
}
for v in "${VALUES[@]}"; do
	printf '| %s | %s | %s | %s | %s / %d / %d | %s / %d / %d |\n' "$v" \
		"$(mmm "${DEL["no upstream table:$v"]:-}")" "$(mmm "${ADD["no upstream table:$v"]:-}")" \
		"$(mmm "${DEL["$ROUTES-route table:$v"]:-}")" \
		"${LOAD_MS[$v]}" $((LOAD_Z[$v] / 1000)) $((LOAD_B[$v] / 1000)) \
		"${UNLOAD_MS[$v]}" $((UNLOAD_Z[$v] / 1000)) $((UNLOAD_B[$v] / 1000))
done
ahd_pass "measured"
ahd_summary
