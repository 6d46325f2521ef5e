#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# One service with an HTTP probe (nginx) and a DNS probe (nsd), require
# "all", real FRR and a GoBGP neighbour: the prefix is announced only while
# both answer correctly; either one failing withdraws it, and the daemon's
# log names the probe that did.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

V4=192.0.2.53/32 V6=2001:db8::53/128
HTTP_PORT=8080 DNS_PORT=5353
INTERVAL_MS=200 TIMEOUT_MS=100 FALL=2 RISE=3
BOUND_MS=$((FALL * INTERVAL_MS + TIMEOUT_MS + 150))

ahd_init
ahd_require_root_tools
command -v nginx >/dev/null && command -v nsd >/dev/null ||
	{ ahd_log "nginx or nsd is missing (tests/deps.sh)"; exit 1; }
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
ahd_start_all "$V4" "$V6"
ahd_nginx_setup "$HTTP_PORT"
ahd_nsd_setup "$DNS_PORT"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
# Each fall is measured on its own: flap damping (on by default) would
# suppress the service from the third fall within a minute.
cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "frr": { "pathspace": "ahd-none-$$" },
  "defaults": { "damping": false }, "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state.json",
  "log": { "level": "info", "format": "text" } }
JSON
cat >"$etc/services.d/edge.json" <<JSON
{ "prefixes": ["$V4", "$V6"], "require": "all",
  "interval": "${INTERVAL_MS}ms", "timeout": "${TIMEOUT_MS}ms", "rise": $RISE, "fall": $FALL,
  "probes": [
    { "type": "http", "name": "web", "url": "http://127.0.0.1:$HTTP_PORT/healthz",
      "headers": { "Host": "www.example.com" }, "expect_body": "^ok" },
    { "type": "dns", "name": "dns", "server": "127.0.0.1", "port": $DNS_PORT,
      "query": "www.example.test", "qtype": "A", "expect_answer": ["192.0.2.10"],
      "expect_aa": true, "recursion_desired": false } ] }
JSON
chmod 644 "$etc/anycast-healthd.json" "$etc/services.d/edge.json"

both_present() { ahd_prefix_present "$V4" && ahd_prefix_present "$V6"; }
# withdrawn_after T0 WHAT PROBE: withdrawn within the bound, and the log names PROBE.
withdrawn_after() {
	local lat
	if lat=$(ahd_withdraw_time_after "$1" "$V4" 5) && ahd_wait_prefix_absent "$V6" 3 &&
		((lat <= BOUND_MS)) && grep -q "up -> down: .*$3 CRITICAL" "$AHD_TMP/daemon.log"; then
		ahd_pass "$2: withdrawn ${lat} ms later (bound ${BOUND_MS} ms), the log names $3"
	else
		ahd_fail "$2: ${lat:-not withdrawn} ms; log: $(grep -- '->' "$AHD_TMP/daemon.log" | tail -2)"
	fi
}

# 1. Only nginx: DNS is missing, nothing is announced.
ahd_start_nginx
ahd_start_bg daemon "$AHD_DAEMON" -c "$etc/anycast-healthd.json"
sleep 1.2
if ahd_prefix_present "$V4" || ahd_prefix_present "$V6"; then
	ahd_fail "announced with the DNS probe failing (require all)"
else
	ahd_pass "HTTP OK, DNS down: not announced (require all)"
fi

# 2. nsd too: announced after rise rounds of both.
t0=$(ahd_now_ms)
ahd_start_nsd
if lat=$(ahd_announce_time_after "$t0" "$V4" 5) && ahd_wait_prefix_present "$V6" 3; then
	ahd_pass "HTTP and DNS OK: v4 and v6 announced ${lat} ms after nsd started"
else
	ahd_fail "not announced with both probes OK"
fi

# 3. The HTTP side fails (503): withdrawn; back when it answers 200.
t0=$(ahd_now_ms)
touch "$AHD_NGINX/maintenance"
withdrawn_after "$t0" "HTTP 503 with DNS still OK" web
rm -f "$AHD_NGINX/maintenance"
ahd_wait_prefix_present "$V4" 5 || ahd_fail "not back after HTTP 200"

# 4. The DNS side fails (nsd stopped): withdrawn; back when it answers.
t0=$(ahd_now_ms)
ahd_stop_nsd
withdrawn_after "$t0" "nsd stopped with HTTP still OK" dns
ahd_start_nsd
if ahd_wait_prefix_present "$V4" 5 && ahd_wait_prefix_present "$V6" 3 && both_present; then
	ahd_pass "both OK again: re-announced"
else
	ahd_fail "not re-announced after nsd came back"
fi

ahd_stop_bg daemon
ahd_stop_nsd
ahd_stop_nginx
ahd_summary
