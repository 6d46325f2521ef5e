#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A foreign change is repaired at once: the daemon mirrors the kernel's
# address notifications (RTNLGRP_IPV4_IFADDR / RTNLGRP_IPV6_IFADDR), so a
# service address deleted by hand comes back in milliseconds, not at the
# next 5 s reconcile, and an address added by hand for a service that is
# down goes at once. Addresses outside the configured prefixes are left
# alone. Times: the kernel's own notifications (`ip monitor address` in the
# node namespace, stamped on arrival) and the GoBGP neighbour's stream.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

TRIALS=${AHD_TRIALS:-7}
V4=192.0.2.53/32
V6=2001:db8::53/128
OTHER=192.0.2.99/32
PORT=8053
RESTORE_MS=100		# the daemon's part: removal seen -> address back
FRR_PATH_MS=150		# FRR's path (63-66 ms measured), as the other tests allow

ahd_init
ahd_require_root_tools
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
ahd_start_all "$V4" "$V6"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state.json",
  "on_exit": "withdraw", "log": { "level": "info", "format": "json" },
  "frr": { "pathspace": "$AHD_NODE" } }
JSON
cat >"$etc/services.d/dns.json" <<JSON
{ "prefixes": ["$V4", "$V6"], "interval": "200ms", "timeout": "100ms", "rise": 2, "fall": 2,
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": $PORT } ] }
JSON
chmod 644 "$etc/anycast-healthd.json" "$etc/services.d/dns.json"

# The kernel's address events in the node namespace, stamped on arrival.
: >"$AHD_TMP/addr.log"
ahd_node ip monitor address 2>/dev/null | ahd_stamp_lines >>"$AHD_TMP/addr.log" &
echo $! >"$AHD_TMP/addrmon.pid"
sleep 0.3

# Time (ms) of the first kernel event after T0 matching KIND (add|del) and ADDR.
addr_event_after() {
	local kind=$1 t0=$2 addr=$3 t line
	while read -r t line; do
		((t >= t0)) || continue
		[[ $line == *" ${addr%/*}/"* ]] || continue
		if [[ $line == Deleted* ]]; then [[ $kind == del ]] || continue
		else [[ $kind == add ]] || continue; fi
		echo "$t"
		return 0
	done <"$AHD_TMP/addr.log"
	return 1
}

wait_addr_event() { # KIND T0 ADDR SECS
	local end=$(($(ahd_now_ms) + $4 * 1000)) t
	while :; do
		t=$(addr_event_after "$1" "$2" "$3") && { echo "$t"; return 0; }
		(($(ahd_now_ms) < end)) || return 1
		sleep 0.02
	done
}

ahd_start_tcp_service svc "$PORT"
ahd_start_daemon "$etc/anycast-healthd.json"
if ahd_wait_prefix_present "$V4" 5 && ahd_wait_prefix_present "$V6" 5; then
	ahd_pass "service up: announced"
else
	ahd_fail "not announced at start"
fi
sleep 1

# 1. Deleted by hand: back on lo at once, and at the neighbour after FRR's path.
restore=() back=() never_left=0 slow=0 broken=0
for ((i = 1; i <= TRIALS; i++)); do
	for pfx in "$V4" "$V6"; do
		[[ $pfx == "$V6" ]] && ((i != 1)) && continue	# v6 once, v4 every trial
		t0=$(ahd_now_ms)
		ahd_node ip addr del "$pfx" dev lo || true	# absent if not restored last time
		if ! td=$(wait_addr_event del "$t0" "$pfx" 2) || ! ta=$(wait_addr_event add "$td" "$pfx" 2); then
			broken=$((broken + 1))
			continue
		fi
		r=$((ta - td))
		restore+=("$r")
		# Did the neighbour see it go? Then when did it come back?
		sleep 0.5
		if w=$(ahd_monitor_find withdraw "$td" "$pfx"); then
			if a=$(ahd_monitor_find announce "$w" "$pfx"); then
				b=$((a - td))
			else
				broken=$((broken + 1))
				continue
			fi
		else
			b=0
			never_left=$((never_left + 1))
		fi
		back+=("$b")
		((r <= RESTORE_MS && b <= RESTORE_MS + FRR_PATH_MS)) || slow=$((slow + 1))
		ahd_log "$pfx deleted by hand: back on lo in $r ms, at the neighbour after $b ms"
	done
	sleep 0.3
done
echo "deleted by hand -> back on lo (ms): $(ahd_stats "${restore[@]}")"
echo "deleted by hand -> back at the neighbour (ms; 0: the neighbour never saw it go, $never_left times): $(ahd_stats "${back[@]}")"
if ((broken == 0 && slow == 0 && ${#restore[@]} == TRIALS + 1)); then
	ahd_pass "$((TRIALS + 1)) deletions by hand: back on lo within $RESTORE_MS ms, at the neighbour within $((RESTORE_MS + FRR_PATH_MS)) ms"
else
	ahd_fail "deletions by hand: $broken not restored, $slow too slow"
fi
if ahd_prefix_present "$V4" && ahd_prefix_present "$V6" && ahd_on_lo "$V4" && ahd_on_lo "$V6"; then
	ahd_pass "still announced after the deletions"
else
	ahd_fail "not announced after the deletions"
fi

# 2. Added by hand while the service is down: removed at once.
ahd_stop_tcp_service svc
ahd_wait_prefix_absent "$V4" 5 || true
sleep 0.5
gone=() leaked=0
for ((i = 1; i <= 5; i++)); do
	t0=$(ahd_now_ms)
	ahd_node ip addr add "$V4" dev lo
	if ta=$(wait_addr_event add "$t0" "$V4" 2) && td=$(wait_addr_event del "$ta" "$V4" 2); then
		gone+=($((td - ta)))
	else
		gone+=(99999)
	fi
	sleep 0.4
	if ahd_monitor_find announce "$t0" "$V4" >/dev/null; then leaked=$((leaked + 1)); fi
done
echo "added by hand for a down service -> removed (ms): $(ahd_stats "${gone[@]}")"
max=$(printf '%s\n' "${gone[@]}" | sort -n | tail -1)
if ((max <= RESTORE_MS)) && ! ahd_on_lo "$V4"; then
	ahd_pass "added by hand while down: removed within $RESTORE_MS ms (max $max ms); announced at the neighbour $leaked of 5 times"
else
	ahd_fail "added by hand while down: removal max $max ms"
fi
if ((leaked == 0)); then
	ahd_pass "the neighbour never saw the hand-added address"
else
	ahd_log "the neighbour saw the hand-added address $leaked times (FRR was faster than the removal)"
fi

# 3. Not ours: an unconfigured address is neither restored nor removed.
ahd_node ip addr add "$OTHER" dev lo
sleep 0.3
ahd_node ip addr del "$OTHER" dev lo
sleep 0.3
if ! ahd_on_lo "$OTHER" && ! grep -q "${OTHER%/*}" "$AHD_TMP/daemon.log"; then
	ahd_pass "unconfigured address: left alone"
else
	ahd_fail "unconfigured address was touched or logged"
fi
n=$(grep -c 'by someone else' "$AHD_TMP/daemon.log" || true)
if ((n == TRIALS + 1 + 5)); then
	ahd_pass "one warning per foreign change ($n), none for the daemon's own changes"
else
	ahd_fail "$n foreign-change warnings for $((TRIALS + 1 + 5)) foreign changes"
fi

ahd_stop_daemon
# addrmon runs in the node namespace: ahd_cleanup stops it.
ahd_summary
