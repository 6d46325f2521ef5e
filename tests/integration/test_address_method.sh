#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# anycast-healthd with a TCP service, the address method, real FRR and a
# GoBGP neighbour: the neighbour must see the prefixes (v4 and v6) exactly
# while the service answers. Measures stop-of-service -> withdrawal at the
# neighbour over AHD_TRIALS trials (default 10).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

TRIALS=${AHD_TRIALS:-10}
V4=192.0.2.53/32
V6=2001:db8::53/128
OTHER=192.0.2.99/32	# on lo, but not configured: must never be touched
PORT=8053
INTERVAL_MS=200 TIMEOUT_MS=100 FALL=2 RISE=3
BOUND_MS=$((FALL * INTERVAL_MS + TIMEOUT_MS + 150))

ahd_init
ahd_require_root_tools
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
ahd_start_all "$V4" "$V6"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
write_config() { # ON_EXIT
	# Each fall is measured on its own: flap damping (on by default) would
	# suppress the service from the third fall within a minute.
	cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "defaults": { "damping": false }, "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state.json", "on_exit": "$1",
  "log": { "level": "info", "format": "json" },
  "frr": { "pathspace": "$AHD_NODE" } }
JSON
	cat >"$etc/services.d/dns.json" <<JSON
{ "prefixes": ["$V4", "$V6"],
  "interval": "${INTERVAL_MS}ms", "timeout": "${TIMEOUT_MS}ms",
  "rise": $RISE, "fall": $FALL,
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": $PORT } ] }
JSON
	chmod 644 "$etc/anycast-healthd.json" "$etc/services.d/dns.json"
}

both_present() { ahd_prefix_present "$V4" && ahd_prefix_present "$V6"; }
withdraw_lines() { grep -c '"withdrawal":true' "$AHD_TMP/monitor.log" || true; }

ahd_node ip addr add "$OTHER" dev lo

# 1. A bad configuration changes nothing, not even a leftover address.
write_config withdraw
ahd_node ip addr add "$V4" dev lo
echo '{ "prefixes": ["192.0.2.53/32"], "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": 70000 } ] }' \
	>"$etc/services.d/broken.json"
chmod 644 "$etc/services.d/broken.json"
rc=0
ahd_node "$AHD_DAEMON" -c "$etc/anycast-healthd.json" 2>"$AHD_TMP/bad.log" || rc=$?
if ((rc == 2)) && ahd_on_lo "$V4" && grep -q 'broken.json: probes\[0\].port: 70000' "$AHD_TMP/bad.log"; then
	ahd_pass "invalid configuration: exit 2, error names file and path, addresses untouched"
else
	ahd_fail "invalid configuration: rc=$rc, $(head -c 300 "$AHD_TMP/bad.log")"
fi
rm -f "$etc/services.d/broken.json"

# 2. Start with the service down and a stale address left behind: it goes.
ahd_start_daemon "$etc/anycast-healthd.json"
if ahd_wait_prefix_absent "$V4" 3 && ! ahd_on_lo "$V4"; then
	ahd_pass "stale address of a service that is not up is removed at start"
else
	ahd_fail "stale address still present after start"
fi
sleep 1
if ahd_prefix_present "$V4" || ahd_prefix_present "$V6"; then
	ahd_fail "prefix announced while the service was never up"
else
	ahd_pass "nothing announced while the service is down"
fi

# 3. The service starts: announced after rise rounds.
t0=$(ahd_now_ms)
ahd_start_tcp_service svc "$PORT"
if lat=$(ahd_announce_time_after "$t0" "$V4" 5) && ahd_wait_prefix_present "$V6" 3; then
	ahd_pass "v4 and v6 announced ${lat} ms after the service started (rise $RISE x ${INTERVAL_MS} ms)"
else
	ahd_fail "not announced after the service started"
fi

# 4. Trials: stop -> withdrawn at the neighbour; start -> back.
lat_v4=() lat_v6=() slow=0 broken=0
for ((i = 1; i <= TRIALS; i++)); do
	t0=$(ahd_now_ms)
	ahd_stop_tcp_service svc
	if a=$(ahd_withdraw_time_after "$t0" "$V4" 5) && b=$(ahd_withdraw_time_after "$t0" "$V6" 5); then
		lat_v4+=("$a") lat_v6+=("$b")
		((a <= BOUND_MS && b <= BOUND_MS)) || slow=$((slow + 1))
	else
		broken=$((broken + 1))
	fi
	t0=$(ahd_now_ms)
	ahd_start_tcp_service svc "$PORT"
	ahd_announce_time_after "$t0" "$V4" 5 >/dev/null && ahd_wait_prefix_present "$V6" 3 ||
		broken=$((broken + 1))
done
echo "service stop -> withdrawal at the neighbour, v4: $(ahd_stats "${lat_v4[@]}")"
echo "service stop -> withdrawal at the neighbour, v6: $(ahd_stats "${lat_v6[@]}")"
if ((broken == 0 && slow == 0)); then
	ahd_pass "$TRIALS trials: withdrawn within ${BOUND_MS} ms (fall x interval + timeout + 150 ms) and re-announced"
else
	ahd_fail "$TRIALS trials: $broken without withdrawal/re-announcement, $slow slower than ${BOUND_MS} ms"
fi

# 5. SIGTERM with on_exit withdraw: everything it announced is gone.
t0=$(ahd_now_ms)
ahd_stop_daemon
if ((rc == 0)) && lat=$(ahd_withdraw_time_after "$t0" "$V4" 5) && ahd_wait_prefix_absent "$V6" 3 &&
	! ahd_on_lo "$V4" && ! ahd_on_lo "$V6"; then
	ahd_pass "SIGTERM (on_exit withdraw): exit 0, withdrawn at the neighbour in ${lat} ms"
else
	ahd_fail "SIGTERM (on_exit withdraw): rc=$rc, still announced or on lo"
fi

# 6. on_exit keep: a restart neither withdraws nor re-announces a healthy service.
write_config keep
ahd_start_daemon "$etc/anycast-healthd.json"
ahd_wait_prefix_present "$V4" 5 || true
ahd_stop_daemon
w0=$(withdraw_lines)
ahd_start_daemon "$etc/anycast-healthd.json"
sleep 2
if ((rc == 0)) && both_present && (($(withdraw_lines) == w0)) &&
	grep -q 'adopting' "$AHD_TMP/daemon.log"; then
	ahd_pass "on_exit keep: restart adopted the announcement with no withdrawal at the neighbour"
else
	ahd_fail "on_exit keep: rc=$rc withdrawals before=$w0 after=$(withdraw_lines)"
fi
# ... and an adopted service that is down is withdrawn on its first result.
ahd_stop_daemon
ahd_stop_tcp_service svc
t0=$(ahd_now_ms)
ahd_start_daemon "$etc/anycast-healthd.json"
if lat=$(ahd_withdraw_time_after "$t0" "$V4" 5); then
	ahd_pass "on_exit keep: a service found down at start is withdrawn after ${lat} ms"
else
	ahd_fail "on_exit keep: a service found down at start stayed announced"
fi
ahd_stop_daemon

# 7. Nothing outside the configured prefixes was touched.
if ahd_on_lo "$OTHER"; then
	ahd_pass "unconfigured address $OTHER on lo untouched"
else
	ahd_fail "unconfigured address $OTHER was removed"
fi

ahd_summary
