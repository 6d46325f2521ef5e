#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Operating the daemon with real FRR and a GoBGP neighbour: the control
# socket (status and its Nagios exit codes 0/1/2/3, drain/undrain), live
# reload (an unchanged service causes zero route changes at the neighbour;
# an invalid configuration keeps the old one), sd_notify and the watchdog
# through a stubbed NOTIFY_SOCKET, and withdraw-all after kill -9.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

V4=192.0.2.53/32
V6=2001:db8::53/128
WEB=192.0.2.80/32
NEW=192.0.2.90/32
DNS_PORT=8053 WEB_PORT=8080

ahd_init
ahd_require_root_tools
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
: "${AHD_HEALTHCTL:?AHD_HEALTHCTL must point at the built anycast-healthctl}"
ahd_start_all "$V4" "$V6" "$WEB" "$NEW"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
sock=$AHD_TMP/run/control.sock
state=$AHD_TMP/run/state.json
cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "frr": { "pathspace": "ahd-none-$$" },
  "on_exit": "withdraw",
  "control_socket": "$sock", "state_file": "$state",
  "metrics_file": "$AHD_TMP/run/metrics.prom",
  "log": { "level": "info", "format": "json" } }
JSON
service() { # NAME PREFIXES_JSON PORT [EXTRA]
	cat >"$etc/services.d/$1.json" <<JSON
{ "prefixes": $2, "interval": "200ms", "timeout": "100ms", "rise": 2, "fall": 2,
  "drain_grace": "500ms" ${4:-},
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": $3 } ] }
JSON
	chmod 644 "$etc/services.d/$1.json"
}
chmod 644 "$etc/anycast-healthd.json"
service dns "[\"$V4\", \"$V6\"]" $DNS_PORT
service web "[\"$WEB\"]" $WEB_PORT

ctl() { ahd_node "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" "$@"; }
status_rc() { local rc=0; ctl status --verbose >"$AHD_TMP/status.out" 2>&1 || rc=$?; echo $rc; }
# Waits until status exits with RC (at most SECS seconds).
wait_status() {
	local want=$1 secs=$2 end
	end=$(($(ahd_now_ms) + secs * 1000))
	while (($(ahd_now_ms) < end)); do
		(($(status_rc) == want)) && return 0
		sleep 0.1
	done
	return 1
}
route_lines_after() { # T0 PREFIX: monitor lines about PREFIX stamped at or after T0
	local t json n=0
	while read -r t json; do
		((t >= $1)) && [[ $json == *"\"prefix\":\"$2\""* ]] && n=$((n + 1))
	done <"$AHD_TMP/monitor.log"
	echo $n
}

# A stub NOTIFY_SOCKET: every datagram the daemon sends, appended to notify.log.
notify=$AHD_TMP/notify.sock
ahd_start_bg notify socat -u "UNIX-RECV:$notify" "OPEN:$AHD_TMP/notify.log,creat,append"
for ((i = 0; i < 40; i++)); do [[ -S $notify ]] && break; sleep 0.05; done
notify_has() { [[ -f $AHD_TMP/notify.log ]] && grep -q "$1" "$AHD_TMP/notify.log"; }

ahd_start_tcp_service dns $DNS_PORT
ahd_start_tcp_service web $WEB_PORT
mkdir -p "$AHD_TMP/run"
ahd_start_bg daemon env NOTIFY_SOCKET="$notify" WATCHDOG_USEC=400000 \
	"$AHD_DAEMON" -c "$etc/anycast-healthd.json"

# 1. Up: status 0, JSON says announced, READY=1 and the watchdog are fed.
if ahd_wait_prefix_present "$V4" 5 && ahd_wait_prefix_present "$WEB" 5 && wait_status 0 3; then
	ahd_pass "all services up: status exits 0"
else
	ahd_fail "status not 0 with every service up: $(cat "$AHD_TMP/status.out")"
fi
json=$(ctl status --json) || true	# exits 1-3 unless all is up: checked below
if [[ $json == *'"name": "dns"'* && $json == *'"prefix": "192.0.2.53/32"'* &&
	$json == *'"announced": true'* && $json == *'"state": "up"'* ]] &&
	grep -q '^dns  *up ' "$AHD_TMP/status.out" && grep -q 'prefix 192.0.2.53/32 .*announced' "$AHD_TMP/status.out"; then
	ahd_pass "status --json and the table show states, prefixes announced, probes"
else
	ahd_fail "status output: $json"
fi
sleep 1
# No WATCHDOG=1 at all (or no file) is this check's failure, not set -e's.
watchdogs=$(grep -o 'WATCHDOG=1' "$AHD_TMP/notify.log" | wc -l) || true
if notify_has 'READY=1' && ((watchdogs >= 3)); then
	ahd_pass "sd_notify: READY=1, and WATCHDOG=1 fed from the loop ($watchdogs in ~1.5 s at WatchdogSec=0.4s)"
else
	ahd_fail "sd_notify: $(tr '\n' ' ' <"$AHD_TMP/notify.log" 2>/dev/null | head -c 300)"
fi
if grep -q '^anycast_healthd_service_state{service="dns",state="up"} 1$' "$AHD_TMP/run/metrics.prom" &&
	grep -q '^anycast_healthd_prefix_announced{prefix="192.0.2.53/32",interface="lo"} 1$' <<<"$(ctl metrics)"; then
	ahd_pass "metrics_file and 'metrics' report the service state and the announcement"
else
	ahd_fail "metrics: $(head -c 300 "$AHD_TMP/run/metrics.prom")"
fi

# 2. Drain: still announced during drain_grace, then withdrawn; status 1; survives a restart.
t0=$(ahd_now_ms)
ctl drain web >/dev/null
if (($(status_rc) == 1)) && ahd_prefix_present "$WEB" && lat=$(ahd_withdraw_time_after "$t0" "$WEB" 5) &&
	((lat >= 450)) && grep -q '"drained": \[ "web" \]\|"web"' "$state"; then
	ahd_pass "drain: status exits 1, withdrawn ${lat} ms later (drain_grace 500ms), recorded in the state file"
else
	ahd_fail "drain: status $(status_rc), latency ${lat:-none}"
fi

# 3. Reload with dns unchanged (web drained, a new service added): zero route changes for dns.
service new "[\"$NEW\"]" $DNS_PORT
t0=$(ahd_now_ms)
out=$(ctl reload 2>&1) || true
ahd_node kill -HUP "$(cat "$AHD_TMP/daemon.pid")"
sleep 2
if [[ $out == 'reloaded: 3 service(s)' ]] && (($(route_lines_after "$t0" "$V4") == 0)) &&
	(($(route_lines_after "$t0" "$V6") == 0)) && ahd_prefix_present "$V4" && ahd_wait_prefix_present "$NEW" 5 &&
	! ahd_prefix_present "$WEB" && notify_has 'RELOADING=1'; then
	ahd_pass "reload (control socket and SIGHUP): unchanged dns caused 0 route changes, new service announced, drain kept, RELOADING=1 sent"
else
	ahd_fail "reload: '$out', dns lines $(route_lines_after "$t0" "$V4")/$(route_lines_after "$t0" "$V6")"
fi

# 4. An invalid configuration is refused with every error; the old one keeps running.
echo '{ "prefixes": ["192.0.2.99/32"], "intervall": "1s", "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": 70000 } ] }' \
	>"$etc/services.d/broken.json"
chmod 644 "$etc/services.d/broken.json"
t0=$(ahd_now_ms)
rc=0
ctl reload >"$AHD_TMP/reload.out" 2>&1 || rc=$?
sleep 1
if ((rc == 2)) && grep -q 'broken.json: probes\[0\].port: 70000' "$AHD_TMP/reload.out" &&
	grep -q "broken.json: unknown key 'intervall'" "$AHD_TMP/reload.out" &&
	(($(route_lines_after "$t0" "$V4") == 0)) && (($(status_rc) == 1)); then
	ahd_pass "invalid reload: exit 2 with every error, old configuration still running, no route change"
else
	ahd_fail "invalid reload: rc=$rc $(head -c 300 "$AHD_TMP/reload.out")"
fi
rm -f "$etc/services.d/broken.json"

# 5. Restart: the drain survives; undrain brings web back.
ahd_stop_bg daemon
ahd_wait_prefix_absent "$V4" 3 || true
if notify_has 'STOPPING=1'; then ahd_pass "sd_notify: STOPPING=1 on SIGTERM"; else ahd_fail "no STOPPING=1"; fi
ahd_start_bg daemon "$AHD_DAEMON" -c "$etc/anycast-healthd.json"
ahd_wait_prefix_present "$V4" 5 || true
sleep 0.5
if ! ahd_prefix_present "$WEB" && (($(status_rc) == 1)) && grep -q '^web  *drained' "$AHD_TMP/status.out"; then
	ahd_pass "drained state survives a daemon restart"
else
	ahd_fail "drain lost over a restart: $(cat "$AHD_TMP/status.out")"
fi
t0=$(ahd_now_ms)
ctl undrain web >/dev/null
if lat=$(ahd_announce_time_after "$t0" "$WEB" 5) && wait_status 0 3; then
	ahd_pass "undrain: announced again ${lat} ms later, status 0"
else
	ahd_fail "undrain: not announced, status $(status_rc)"
fi

# 6. A service down: status 2.
ahd_stop_tcp_service web
if wait_status 2 5; then
	ahd_pass "a service down: status exits 2"
else
	ahd_fail "status $(status_rc) with web down"
fi

# 7. kill -9: the announcements stay (nobody withdrew them); status 3; withdraw-all removes them.
ahd_node kill -KILL "$(cat "$AHD_TMP/daemon.pid")"
sleep 0.5
rc=$(status_rc)
if ((rc == 3)) && ahd_prefix_present "$V4" && ahd_prefix_present "$NEW"; then
	ahd_pass "after kill -9: status exits 3, prefixes left announced"
else
	ahd_fail "after kill -9: status $rc"
fi
t0=$(ahd_now_ms)
out=$(ctl withdraw-all 2>&1) || true
if ahd_wait_prefix_absent "$V4" 3 && ahd_wait_prefix_absent "$V6" 3 && ahd_wait_prefix_absent "$NEW" 3 &&
	! grep -q '192.0.2.\(53\|90\)/32\|2001:db8::53/128' <<<"$(ahd_node ip -o addr show dev lo)" &&
	grep -q '"announced": \[ \]\|"announced": \[$' "$state"; then
	ahd_pass "withdraw-all after kill -9: the neighbour lost every prefix ($(echo "$out" | wc -l) withdrawn)"
else
	ahd_fail "withdraw-all: $out"
fi
ahd_summary
