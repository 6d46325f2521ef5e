#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# anycast-healthd with an HTTP probe against nginx in the node namespace, the
# address method, real FRR and a GoBGP neighbour: the prefix is announced
# while nginx serves 200 with the expected body for the virtual host, and
# withdrawn when the health endpoint answers 503 (a file switches it, as an
# operator's maintenance flag would) and when nginx stops.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

V4=192.0.2.80/32
PORT=8080
INTERVAL_MS=200 TIMEOUT_MS=100 FALL=2 RISE=3
BOUND_MS=$((FALL * INTERVAL_MS + TIMEOUT_MS + 150))

ahd_init
ahd_require_root_tools
command -v nginx >/dev/null || { ahd_fail "nginx is not installed (tests/deps.sh)"; ahd_summary; exit 1; }
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
ahd_start_all "$V4"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
ahd_nginx_setup "$PORT"
# Each fall is measured on its own: flap damping (on by default) would
# suppress the service from the third fall within a minute.
cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "defaults": { "damping": false }, "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state.json", "log": { "level": "info", "format": "text" },
  "frr": { "pathspace": "$AHD_NODE" } }
JSON
cat >"$etc/services.d/web.json" <<JSON
{ "prefixes": ["$V4"],
  "interval": "${INTERVAL_MS}ms", "timeout": "${TIMEOUT_MS}ms",
  "rise": $RISE, "fall": $FALL,
  "probes": [ { "type": "http", "url": "http://127.0.0.1:$PORT/healthz",
    "headers": { "Host": "www.example.com" }, "expect_status": ["2xx"],
    "expect_body": "^ok", "warning": "50ms", "critical": "90ms" } ] }
JSON
chmod 644 "$etc/anycast-healthd.json" "$etc/services.d/web.json"

# withdrawn_after T0 WHAT: a withdrawal of V4 within BOUND_MS of T0.
withdrawn_after() {
	local lat
	if lat=$(ahd_withdraw_time_after "$1" "$V4" 5); then
		if ((lat <= BOUND_MS)); then
			ahd_pass "$2: withdrawn ${lat} ms later (bound ${BOUND_MS} ms)"
		else
			ahd_fail "$2: withdrawn only ${lat} ms later (bound ${BOUND_MS} ms)"
		fi
	else
		ahd_fail "$2: not withdrawn"
	fi
}
announced_after() {
	local lat
	if lat=$(ahd_announce_time_after "$1" "$V4" 5); then
		ahd_pass "$2: announced ${lat} ms later (rise $RISE x ${INTERVAL_MS} ms)"
	else
		ahd_fail "$2: not announced"
	fi
}

# 1. nginx not running: nothing announced.
ahd_start_bg daemon "$AHD_DAEMON" -c "$etc/anycast-healthd.json"
sleep 1.2
if ahd_prefix_present "$V4"; then
	ahd_fail "announced while nginx was not running"
else
	ahd_pass "nothing announced while nginx is not running"
fi

# 2. nginx serves 200 "ok" for the virtual host: announced.
t0=$(ahd_now_ms)
ahd_start_nginx
announced_after "$t0" "nginx started"

# 3. The health endpoint answers 503: withdrawn; back to 200: announced.
t0=$(ahd_now_ms)
touch "$AHD_NGINX/maintenance"
withdrawn_after "$t0" "health endpoint answers 503"
if grep -q "HTTP 503 from http://127.0.0.1:$PORT/healthz" "$AHD_TMP/daemon.log"; then
	ahd_pass "the daemon logs why: $(grep -o "HTTP 503 from [^)]*" "$AHD_TMP/daemon.log" | head -1)"
else
	ahd_fail "no 'HTTP 503 from ...' in the daemon log"
fi
t0=$(ahd_now_ms)
rm -f "$AHD_NGINX/maintenance"
announced_after "$t0" "health endpoint answers 200 again"

# 4. nginx stops: withdrawn.
t0=$(ahd_now_ms)
ahd_stop_nginx
withdrawn_after "$t0" "nginx stopped"
if grep -q "connection to 127.0.0.1:$PORT refused" "$AHD_TMP/daemon.log"; then
	ahd_pass "the daemon logs the refused connection"
else
	ahd_fail "no 'connection to 127.0.0.1:$PORT refused' in the daemon log"
fi

ahd_stop_bg daemon
ahd_summary
