#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A reload that keeps a prefix configured but no longer wants it withdraws
# it at once, not at the FRR driver's next periodic check (10 s):
# a prefix shared ("any") by web (up) and spare (down); web is removed by a
# reload, so the prefix is still managed (spare lists it) but unwanted. The
# reload adds and removes no statement of its own, so only the handover of
# the desired state to the new announcement table can tell the driver.
# The reload is timed right after a periodic read, so that a driver
# waiting for the next one would take about 10 s.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

NET4=203.0.113.0/24	# method network, backed by a blackhole route (import-check)
WEB_PORT=8080 SPARE_PORT=8081	# nothing listens on SPARE_PORT

ahd_init
ahd_require_root_tools
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
: "${AHD_HEALTHCTL:?AHD_HEALTHCTL must point at the built anycast-healthctl}"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state.json",
  "on_exit": "withdraw", "shared_prefixes": "any",
  "log": { "level": "debug", "format": "json" },
  "frr": { "pathspace": "ahd-$$-node", "timeout": "2s" } }
JSON
svc() { # NAME PORT
	cat >"$etc/services.d/$1.json" <<JSON
{ "prefixes": ["$NET4"], "method": "network",
  "interval": "200ms", "timeout": "150ms", "rise": 2, "fall": 2,
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": $2 } ] }
JSON
	chmod 644 "$etc/services.d/$1.json"
}
svc web "$WEB_PORT"
svc spare "$SPARE_PORT"
chmod 644 "$etc/anycast-healthd.json"

"$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" frr-config --asn "$AHD_NODE_ASN" \
	--router-id "$AHD_NODE_V4" --neighbor "$AHD_PEER_V4" --neighbor-asn "$AHD_PEER_ASN" \
	--template "$AHD_SRCDIR/frr-templates/anycast-healthd.conf" >"$AHD_TMP/bgpd-template.conf"
AHD_TEMPLATE=$AHD_TMP/bgpd-template.conf
ahd_start_all
ahd_node ip route add blackhole "$NET4"

ctl() { "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" "$@"; }
running() { ahd_vtysh -c 'show running-config'; }
has_stmt() { grep -q "^  network $1\$" <<<"$(running)"; }
reads() { grep -c '"msg":"vtysh show running-config: exit 0' "$AHD_TMP/daemon.log" || true; }

ahd_start_tcp_service web "$WEB_PORT"
ahd_start_daemon "$etc/anycast-healthd.json"
if ahd_wait_prefix_present "$NET4" 10 && has_stmt "$NET4"; then
	ahd_pass "$NET4 announced while web is up (spare is down, shared_prefixes any)"
else
	ahd_fail "$NET4 not announced at start"
fi

# Settle (the apply's read-back), then wait for a periodic read.
sleep 1
n=$(reads)
end=$(($(ahd_now_ms) + 12000))
while (($(reads) == n && $(ahd_now_ms) < end)); do
	sleep 0.02
done
rm "$etc/services.d/web.json"
t0=$(ahd_now_ms)
if ctl reload >/dev/null; then
	ahd_pass "reload without web accepted"
else
	ahd_fail "reload refused"
fi
if lat=$(ahd_withdraw_time_after "$t0" "$NET4" 15) && ! has_stmt "$NET4"; then
	if ((lat < 3000)); then
		ahd_pass "prefix kept but no longer wanted: withdrawn ${lat} ms after the reload"
	else
		ahd_fail "prefix kept but no longer wanted: withdrawn only ${lat} ms after the reload (the periodic check)"
	fi
else
	ahd_fail "prefix kept but no longer wanted: not withdrawn after the reload"
fi

ahd_stop_daemon
if ((rc == 0)); then ahd_pass "daemon stopped cleanly"; else ahd_fail "daemon exit status $rc"; fi
ahd_stop_tcp_service web
ahd_summary
