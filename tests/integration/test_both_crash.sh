#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A crash costs the same with method both as with method address: on an
# unplanned down, both removes the address first (FRR's fastest path:
# import-check drops the route with the connected route), then the
# statement. kill -9 of a probed server (process probe, pidfile) ->
# withdrawal at the GoBGP neighbour, AHD_TRIALS times (default 10) for
#   address  192.0.2.57/32
#   both     192.0.2.58/32
# alternately, so both see the same machine load. Prints min/median/max of
# each; passes when the medians differ by at most TOLERANCE_MS, and when the
# daemon removed the address before the statement in every both trial.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

TRIALS=${AHD_TRIALS:-10}
P_ADDR=192.0.2.57/32 P_BOTH=192.0.2.58/32
TOLERANCE_MS=15

ahd_init
ahd_require_root_tools
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
: "${AHD_HEALTHCTL:?AHD_HEALTHCTL must point at the built anycast-healthctl}"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state.json",
  "log": { "level": "info", "format": "json" },
  "frr": { "pathspace": "ahd-$$-node", "timeout": "2s" } }
JSON
svc() { # NAME PREFIX METHOD
	cat >"$etc/services.d/$1.json" <<JSON
{ "prefixes": ["$2"], "method": "$3", "interval": "200ms", "timeout": "100ms",
  "rise": 2, "fall": 3,
  "probes": [ { "type": "process", "pidfile": "$AHD_TMP/$1svc.pid" } ] }
JSON
}
svc addr "$P_ADDR" address
svc both "$P_BOTH" both
chmod 644 "$etc"/*.json "$etc"/services.d/*.json
"$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" frr-config --asn "$AHD_NODE_ASN" \
	--router-id "$AHD_NODE_V4" --neighbor "$AHD_PEER_V4" --neighbor-asn "$AHD_PEER_ASN" \
	--template "$AHD_SRCDIR/frr-templates/anycast-healthd.conf" >"$AHD_TMP/bgpd-template.conf"
AHD_TEMPLATE=$AHD_TMP/bgpd-template.conf
ahd_start_all

start_svc() { ahd_start_bg "$1svc" sleep 100000 && disown; }
start_svc addr
start_svc both
ahd_start_daemon "$etc/anycast-healthd.json"
for p in "$P_ADDR" "$P_BOTH"; do
	if ahd_wait_prefix_present "$p" 10; then
		ahd_pass "$p announced once its service is up"
	else
		ahd_fail "$p not announced (see $AHD_TMP/daemon.log)"
	fi
done

# The line number of the first daemon.log line after line $1 holding $2.
log_line_after() {
	awk -v from="$1" -v pat="$2" 'NR > from && index($0, pat) { print NR; exit }' "$AHD_TMP/daemon.log"
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

lat_addr=() lat_both=()
broken=0 order_bad=0
trial() { # NAME PREFIX
	local name=$1 pfx=$2 t0 lat from l1 l2
	from=$(wc -l <"$AHD_TMP/daemon.log")
	t0=$(ahd_now_ms)
	kill -KILL "$(cat "$AHD_TMP/${name}svc.pid")"
	if lat=$(ahd_withdraw_time_after "$t0" "$pfx" 5); then
		if [[ $name == addr ]]; then lat_addr+=("$lat"); else lat_both+=("$lat"); fi
	else
		broken=$((broken + 1))
	fi
	rm -f "$AHD_TMP/${name}svc.pid"
	if [[ $name == both ]]; then
		# The statement goes right after the address; wait for it.
		for ((i = 0; i < 40; i++)); do
			l2=$(log_line_after "$from" "\"msg\":\"no network $pfx")
			[[ -n $l2 ]] && break
			sleep 0.05
		done
		l1=$(log_line_after "$from" "\"msg\":\"withdrew $pfx on lo")
		[[ -n $l1 && -n $l2 ]] && ((l1 < l2)) || order_bad=$((order_bad + 1))
	fi
	t0=$(ahd_now_ms)
	start_svc "$name"
	ahd_announce_time_after "$t0" "$pfx" 5 >/dev/null || broken=$((broken + 1))
	# bgpd's update-group coalescing: let the announcement settle.
	sleep 0.3
}
for ((n = 1; n <= TRIALS; n++)); do
	trial addr "$P_ADDR"
	trial both "$P_BOTH"
done
echo "address: kill -9 -> withdrawal at the neighbour: $(ahd_stats "${lat_addr[@]}")"
echo "both:    kill -9 -> withdrawal at the neighbour: $(ahd_stats "${lat_both[@]}")"
if ((broken == 0 && order_bad == 0)); then
	ahd_pass "both: $TRIALS crashes, each withdrawn; the address went before the statement every time"
else
	ahd_fail "$broken trials lost, $order_bad both trials with the statement removed first"
fi
if ((${#lat_addr[@]} && ${#lat_both[@]})); then
	ma=$(median "${lat_addr[@]}") mb=$(median "${lat_both[@]}")
	d=$((mb - ma))
	if ((d <= TOLERANCE_MS && d >= -TOLERANCE_MS)); then
		ahd_pass "a crash costs the same: median $mb ms (both) vs $ma ms (address), within ${TOLERANCE_MS} ms"
	else
		ahd_fail "both is $d ms slower than address at the median ($mb vs $ma ms)"
	fi
fi
ahd_stop_daemon
ahd_summary
