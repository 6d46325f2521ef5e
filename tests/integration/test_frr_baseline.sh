#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Baseline for the address method, without anycast-healthd: adding a service
# address on the node's lo makes FRR announce it to the GoBGP peer, deleting
# it withdraws it; prints the latencies over a few trials per family.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

TRIALS=${AHD_TRIALS:-5}

ahd_init
ahd_require_root_tools
ahd_start_all 192.0.2.53/32 2001:db8::53/128

# run_trials FAMILY PREFIX [ip addr options]
run_trials() {
	local fam=$1 pfx=$2 i t0 lat ok=1
	shift 2
	local -a add=() del=()
	for ((i = 1; i <= TRIALS; i++)); do
		t0=$(ahd_now_ms)
		ahd_node ip addr add "$pfx" dev lo "$@"
		if lat=$(ahd_announce_time_after "$t0" "$pfx" 10) &&
			ahd_wait_prefix_present "$pfx" 5; then
			add+=("$lat")
		else
			ahd_fail "$fam trial $i: $pfx not announced within 10 s of ip addr add"
			ok=0
			ahd_node ip addr del "$pfx" dev lo 2>/dev/null || true
			continue
		fi
		t0=$(ahd_now_ms)
		ahd_node ip addr del "$pfx" dev lo
		if lat=$(ahd_withdraw_time_after "$t0" "$pfx" 10) &&
			ahd_wait_prefix_absent "$pfx" 5; then
			del+=("$lat")
		else
			ahd_fail "$fam trial $i: $pfx not withdrawn within 10 s of ip addr del"
			ok=0
		fi
	done
	if ((ok)); then
		ahd_pass "$fam: $pfx announced on address add and withdrawn on delete ($TRIALS trials)"
	fi
	echo "$fam add->announce: $(ahd_stats "${add[@]}")"
	echo "$fam del->withdraw: $(ahd_stats "${del[@]}")"
}

if ahd_prefix_present 192.0.2.53/32 || ahd_prefix_present 2001:db8::53/128; then
	ahd_fail "a service prefix is announced before its address exists"
else
	ahd_pass "nothing announced while no service address exists"
fi

run_trials ipv4 192.0.2.53/32
run_trials ipv6 2001:db8::53/128 nodad

# import-check: a covering prefix on lo must not announce the /32.
ahd_node ip addr add 192.0.2.1/24 dev lo
sleep 0.5
if ahd_prefix_present 192.0.2.53/32; then
	ahd_fail "covering 192.0.2.0/24 made FRR announce 192.0.2.53/32"
else
	ahd_pass "covering 192.0.2.0/24 does not announce 192.0.2.53/32 (import-check)"
fi
ahd_node ip addr del 192.0.2.1/24 dev lo

ahd_summary
