#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A live demo: FRR 8.4 (zebra + bgpd) in one network namespace, GoBGP as its
# eBGP neighbour in another, a TCP service and anycast-healthd on the FRR
# node. Shows the neighbour's table while the service is stopped and started.
# Everything runs in throw-away namespaces and is removed at the end.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"

V4=192.0.2.53/32 V6=2001:db8::53/128 PORT=8053
say() { printf '\n\033[1m>>> %s\033[0m\n' "$*"; }
table() {
	echo "    GoBGP neighbour's table ($(date +%T.%3N)):"
	{ ahd_gobgp global rib -a ipv4; ahd_gobgp global rib -a ipv6; } 2>&1 |
		grep -E '^ *\*|Network|No entry' | sed 's/^/      /' || true
}

ahd_init
ahd_require_root_tools
say "Starting FRR (AS 65001) and its GoBGP neighbour (AS 65002) in namespaces $AHD_NODE / $AHD_PEER"
ahd_start_all "$V4" "$V6"
table

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
echo "{ \"interface\": \"lo\", \"on_exit\": \"withdraw\", \"control_socket\": \"$AHD_TMP/ctl.sock\", \"state_file\": \"$AHD_TMP/state.json\" }" >"$etc/anycast-healthd.json"
cat >"$etc/services.d/dns.json" <<JSON
{ "prefixes": ["$V4", "$V6"], "interval": "200ms", "timeout": "100ms", "rise": 3, "fall": 2,
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": $PORT } ] }
JSON
chmod 644 "$etc/anycast-healthd.json" "$etc/services.d/dns.json"
say "Service configuration ($etc/services.d/dns.json):"
sed 's/^/    /' "$etc/services.d/dns.json"
"$AHD_DAEMON" -n -c "$etc/anycast-healthd.json"

say "Starting anycast-healthd on the FRR node (the service is not running yet)"
ahd_start_bg daemon "$AHD_DAEMON" -c "$etc/anycast-healthd.json"
sleep 1
table

say "Starting the service (socat on 127.0.0.1:$PORT): announced after rise=3 healthy rounds"
t0=$(ahd_now_ms)
ahd_start_tcp_service svc "$PORT"
lat=$(ahd_announce_time_after "$t0" "$V4" 10) && echo "    announced at the neighbour ${lat} ms after the service started"
ahd_wait_prefix_present "$V6" 5 || true
table

say "Stopping the service: withdrawn after fall=2 failed rounds"
t0=$(ahd_now_ms)
ahd_stop_tcp_service svc
lat=$(ahd_withdraw_time_after "$t0" "$V4" 10) && echo "    withdrawn at the neighbour ${lat} ms after the service stopped"
ahd_wait_prefix_absent "$V6" 5 || true
table

say "Starting the service again"
ahd_start_tcp_service svc "$PORT"
ahd_wait_prefix_present "$V4" 10 && ahd_wait_prefix_present "$V6" 5 || true
table

say "Stopping anycast-healthd (SIGTERM, on_exit: withdraw)"
ahd_stop_bg daemon
ahd_wait_prefix_absent "$V4" 5 || true
table

say "What the daemon logged:"
sed 's/^/    /' "$AHD_TMP/daemon.log"
say "Cleaning up namespaces and processes"
