#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# anycast-healthd with a DNS probe against a real nsd serving a test zone on
# 127.0.0.1 in the node namespace, the address method, real FRR and a GoBGP
# neighbour: the neighbour must see the prefix exactly while nsd answers
# correctly — withdrawn when nsd stops, and when it serves a wrong answer.
# Measures stop-of-nsd -> withdrawal at the neighbour over AHD_TRIALS
# trials (default 5).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

TRIALS=${AHD_TRIALS:-5}
V4=192.0.2.53/32
V6=2001:db8::53/128
PORT=5353
INTERVAL_MS=200 TIMEOUT_MS=100 FALL=2 RISE=3
BOUND_MS=$((FALL * INTERVAL_MS + TIMEOUT_MS + 150))

ahd_init
ahd_require_root_tools
command -v nsd >/dev/null || { ahd_log "nsd is missing (tests/deps.sh)"; exit 1; }
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
ahd_start_all "$V4" "$V6"

# nsd: our own configuration and zone, never the system service.
ahd_nsd_setup "$PORT"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
# Each fall is measured on its own: flap damping (on by default) would
# suppress the service from the third fall within a minute.
cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "defaults": { "damping": false }, "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state.json", "log": { "level": "info", "format": "json" },
  "frr": { "pathspace": "$AHD_NODE" } }
JSON
cat >"$etc/services.d/dns.json" <<JSON
{ "prefixes": ["$V4", "$V6"],
  "interval": "${INTERVAL_MS}ms", "timeout": "${TIMEOUT_MS}ms",
  "rise": $RISE, "fall": $FALL,
  "probes": [ { "type": "dns", "server": "127.0.0.1", "port": $PORT,
                "query": "www.example.test", "qtype": "A",
                "expect_answer": ["192.0.2.10"], "expect_aa": true,
                "recursion_desired": false } ] }
JSON
chmod 644 "$etc/anycast-healthd.json" "$etc/services.d/dns.json"

# 1. check, here: the same probe as a Nagios plugin line.
ahd_start_nsd
out=$(ahd_node "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" check dns) && rc=0 || rc=$?
if ((rc == 0)) && [[ $out == "ANYCAST-HEALTH OK - dns: 1/1 probes OK | 'dns#0_time'="* ]] &&
	[[ $out == *"answered NOERROR for www.example.test/A (1 record, authoritative)"* ]]; then
	ahd_pass "check: OK against nsd, exit 0"
else
	ahd_fail "check: rc=$rc $out"
fi

# 2. The daemon announces while nsd answers.
t0=$(ahd_now_ms)
ahd_start_bg daemon "$AHD_DAEMON" -c "$etc/anycast-healthd.json"
if lat=$(ahd_announce_time_after "$t0" "$V4" 5) && ahd_wait_prefix_present "$V6" 3; then
	ahd_pass "v4 and v6 announced ${lat} ms after the daemon started (rise $RISE x ${INTERVAL_MS} ms)"
else
	ahd_fail "not announced while nsd answers"
fi

# 3. nsd stops -> withdrawn; starts -> back.
lat_v4=() slow=0 broken=0
for ((i = 1; i <= TRIALS; i++)); do
	t0=$(ahd_now_ms)
	ahd_stop_nsd
	if a=$(ahd_withdraw_time_after "$t0" "$V4" 5) && ahd_wait_prefix_absent "$V6" 3; then
		lat_v4+=("$a")
		((a <= BOUND_MS)) || slow=$((slow + 1))
	else
		broken=$((broken + 1))
	fi
	t0=$(ahd_now_ms)
	ahd_start_nsd
	ahd_announce_time_after "$t0" "$V4" 5 >/dev/null && ahd_wait_prefix_present "$V6" 3 ||
		broken=$((broken + 1))
done
echo "nsd stop -> withdrawal at the neighbour, v4: $(ahd_stats "${lat_v4[@]}")"
if ((broken == 0 && slow == 0)); then
	ahd_pass "$TRIALS trials: withdrawn within ${BOUND_MS} ms of nsd stopping, re-announced when it is back"
else
	ahd_fail "$TRIALS trials: $broken without withdrawal/re-announcement, $slow slower than ${BOUND_MS} ms"
fi

# 4. nsd keeps running but answers wrongly (zone reloaded with SIGHUP).
nsd_pid=$(cat "$AHD_TMP/nsd.pid")
ahd_nsd_zone 2 192.0.2.99
t0=$(ahd_now_ms)
kill -HUP "$nsd_pid"
if lat=$(ahd_withdraw_time_after "$t0" "$V4" 10) && kill -0 "$nsd_pid"; then
	ahd_pass "wrong answer from a running nsd: withdrawn ${lat} ms after the zone reload"
else
	ahd_fail "wrong answer from a running nsd: still announced"
fi
if grep -q 'expected 192.0.2.10' "$AHD_TMP/daemon.log"; then
	ahd_pass "the daemon's log names the wrong answer"
else
	ahd_fail "no 'expected 192.0.2.10' in the daemon's log: $(tail -c 400 "$AHD_TMP/daemon.log")"
fi
ahd_nsd_zone 3 192.0.2.10
t0=$(ahd_now_ms)
kill -HUP "$nsd_pid"
if lat=$(ahd_announce_time_after "$t0" "$V4" 10); then
	ahd_pass "right answer again: re-announced after ${lat} ms"
else
	ahd_fail "right answer again: not re-announced"
fi

# 5. check reports CRITICAL (exit 2) while nsd is down.
ahd_stop_nsd
out=$(ahd_node "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" check dns) && rc=0 || rc=$?
if ((rc == 2)) && [[ $out == "ANYCAST-HEALTH CRITICAL - dns: dns#0 127.0.0.1:5353 refused the query"*"(0/1 probes OK) | "* ]]; then
	ahd_pass "check: CRITICAL with nsd stopped, exit 2"
else
	ahd_fail "check with nsd stopped: rc=$rc $out"
fi
ahd_stop_bg daemon

ahd_summary
