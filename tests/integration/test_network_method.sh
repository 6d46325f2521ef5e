#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The network and both methods against real FRR and a GoBGP neighbour:
# statements added and removed through vtysh and seen at the neighbour,
# the degraded route-map (prepended AS path) and back, recovery after
# kill -9 of bgpd, and a hand-made statement that must never be touched.
# FRR's configuration is rendered by `anycast-healthctl frr-config`.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

NET4=203.0.113.0/24	# method network, backed by a blackhole route (import-check)
NET6=2001:db8:1::/48
BOTH=192.0.2.53/32	# method both: address on lo, then the statement
ADDR=192.0.2.123/32	# method address: its network line comes from frr-config
HAND=192.0.2.99/32	# added by hand at run time: never touched
CONF=198.51.100.128/25	# in FRR's own configuration, not managed: never touched
WEB_PORT=8080 DNS_PORT=8053

ahd_init
ahd_require_root_tools
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
: "${AHD_HEALTHCTL:?AHD_HEALTHCTL must point at the built anycast-healthctl}"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state.json", "on_exit": "withdraw",
  "log": { "level": "info", "format": "json" },
  "frr": { "pathspace": "ahd-$$-node", "timeout": "2s" } }
JSON
cat >"$etc/services.d/web.json" <<JSON
{ "prefixes": ["$NET4", "$NET6"], "method": "network",
  "interval": "200ms", "timeout": "150ms", "rise": 2, "fall": 2,
  "on_warning": "degrade",
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": $WEB_PORT,
                "expect": "ok", "warning": "60ms" } ] }
JSON
cat >"$etc/services.d/dns.json" <<JSON
{ "prefixes": ["$BOTH"], "method": "both",
  "interval": "200ms", "timeout": "100ms", "rise": 2, "fall": 2,
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": $DNS_PORT } ] }
JSON
cat >"$etc/services.d/ntp.json" <<JSON
{ "prefixes": ["$ADDR"], "method": "address",
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": 8123 } ] }
JSON
chmod 644 "$etc/anycast-healthd.json" "$etc/services.d/"*.json

# 1. frr-config renders a configuration that real FRR loads without error.
rendered=$AHD_TMP/rendered.conf
if "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" frr-config --asn "$AHD_NODE_ASN" \
	--router-id "$AHD_NODE_V4" --neighbor "$AHD_PEER_V4" --neighbor-asn "$AHD_PEER_ASN" \
	--template "$AHD_SRCDIR/frr-templates/anycast-healthd.conf" >"$rendered" &&
	grep -q "^  network $ADDR\$" "$rendered" && ! grep -q "network $NET4" "$rendered" &&
	grep -q "permit $NET4\$" "$rendered" && grep -q "permit $NET6\$" "$rendered"; then
	ahd_pass "frr-config: address-method network line, every prefix in the prefix-lists"
else
	ahd_fail "frr-config output: $(head -c 400 "$rendered")"
fi
# FRR's own configuration: the rendered file plus a statement the daemon must leave alone.
cp "$rendered" "$AHD_TMP/bgpd-template.conf"
printf 'router bgp %s\n address-family ipv4 unicast\n  network %s\n exit-address-family\nexit\n' \
	"$AHD_NODE_ASN" "$CONF" >>"$AHD_TMP/bgpd-template.conf"
AHD_TEMPLATE=$AHD_TMP/bgpd-template.conf
ahd_setup_netns
ahd_start_gobgp
ahd_start_frr
if grep -qiE 'error|unknown command' "$AHD_TMP/frr/bgpd.log" "$AHD_TMP/frr/bgpd.stderr" 2>/dev/null; then
	ahd_fail "bgpd reported errors loading the rendered configuration: $(grep -iE 'error|unknown' "$AHD_TMP/frr/bgpd.log" | head -3)"
elif grep -q '^route-map ANYCAST-DEGRADED permit 10' <<<"$(ahd_vtysh -c 'show running-config')"; then
	ahd_pass "the rendered configuration loads into FRR 8.4 without error"
else
	ahd_fail "the rendered configuration is not in FRR's running configuration"
fi
ahd_wait_established 30
ahd_start_monitor
sleep 1.2
# import-check needs a non-BGP route for exactly the prefix.
ahd_node ip route add blackhole "$NET4"
ahd_node ip -6 route add blackhole "$NET6"
ahd_node ip route add blackhole "$HAND"
ahd_vtysh -c 'configure terminal' -c "router bgp $AHD_NODE_ASN" \
	-c 'address-family ipv4 unicast' -c "network $HAND"

running() { ahd_vtysh -c 'show running-config'; }
# Matched on captured output: `cmd | grep -q` under pipefail fails when grep
# exits first and cmd gets SIGPIPE, which would read as "absent".
has_stmt() { grep -qx "  network $1${2:+ route-map $2}" <<<"$(running)"; }
start_web() { # fast|slow
	local cmd='echo ok'
	[[ $1 == slow ]] && cmd='sleep 0.1; echo ok'
	ahd_start_bg web socat "TCP-LISTEN:$WEB_PORT,bind=127.0.0.1,fork,reuseaddr" "SYSTEM:$cmd"
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -n $(ahd_node ss -Hltn "sport = :$WEB_PORT") ]] && return 0
		sleep 0.05
	done
	return 1
}
# The AS path GoBGP holds for PFX, e.g. "65001 65001 65001 65001".
as_path() {
	ahd_gobgp global rib -a "$(ahd_af_of "$1")" -j "$1" 2>/dev/null |
		grep -o '"asns":\[[0-9,]*\]' | sed -n 1p | tr -dc '0-9,' | tr , ' '
}
# The communities GoBGP holds for PFX, as numbers (65535:0 is 4294901760).
communities() {
	ahd_gobgp global rib -a "$(ahd_af_of "$1")" -j "$1" 2>/dev/null |
		grep -o '"communities":\[[0-9,]*\]' | sed -n 1p | tr -dc '0-9,' | tr , ' '
}
wait_community() { # PFX WANT SECS
	local end=$(($(ahd_now_ms) + $3 * 1000))
	while (($(ahd_now_ms) < end)); do
		[[ " $(communities "$1") " == *" $2 "* ]] && return 0
		sleep 0.05
	done
	return 1
}
wait_as_path() { # PFX WANT SECS
	local end=$(($(ahd_now_ms) + $3 * 1000))
	while (($(ahd_now_ms) < end)); do
		[[ $(as_path "$1") == "$2" ]] && return 0
		sleep 0.1
	done
	return 1
}

# 2. Start with a leftover statement of a service that is not up: removed.
ahd_vtysh -c 'configure terminal' -c "router bgp $AHD_NODE_ASN" \
	-c 'address-family ipv4 unicast' -c "network $NET4"
ahd_wait_prefix_present "$NET4" 5 || true
ahd_start_daemon "$etc/anycast-healthd.json"
if ahd_wait_prefix_absent "$NET4" 5 && ! has_stmt "$NET4"; then
	ahd_pass "leftover network $NET4 of a service that is not up removed at start"
else
	ahd_fail "leftover network statement still there after start"
fi

# 3. network method: announce (v4 and v6) when the service comes up.
t0=$(ahd_now_ms)
start_web fast
if lat=$(ahd_announce_time_after "$t0" "$NET4" 5) && ahd_wait_prefix_present "$NET6" 3 &&
	has_stmt "$NET4" && has_stmt "$NET6"; then
	ahd_pass "network method: $NET4 and $NET6 announced ${lat} ms after the service started (rise 2 x 200 ms)"
else
	ahd_fail "network method: not announced"
fi
if [[ $(as_path "$NET4") == "$AHD_NODE_ASN" ]]; then
	ahd_pass "plain statement: AS path '$AHD_NODE_ASN'"
else
	ahd_fail "plain statement: AS path '$(as_path "$NET4")'"
fi

# The reads (at start, every read-back) went to bgpd's vty socket, not vtysh.
if grep -q '"msg":"reading FRR through the vty sockets' "$AHD_TMP/daemon.log" &&
	! grep -q 'vty socket read failed' "$AHD_TMP/daemon.log"; then
	ahd_pass "reads through bgpd's vty socket, no fallback to vtysh"
else
	ahd_fail "reads not through the vty socket: $(grep -m1 'vty' "$AHD_TMP/daemon.log")"
fi

# 4. Degraded: a WARNING probe (answer slower than 60 ms) prepends; OK again restores.
ahd_stop_bg web
start_web slow
prep="$AHD_NODE_ASN $AHD_NODE_ASN $AHD_NODE_ASN $AHD_NODE_ASN"
if wait_as_path "$NET4" "$prep" 5 && has_stmt "$NET4" ANYCAST-DEGRADED &&
	grep -q '"msg":"up -> degraded' "$AHD_TMP/daemon.log"; then
	ahd_pass "degraded: announced through ANYCAST-DEGRADED, AS path '$prep' at the neighbour"
else
	ahd_fail "degraded: AS path '$(as_path "$NET4")', running: $(running | grep "network $NET4")"
fi
ahd_stop_bg web
start_web fast
if wait_as_path "$NET4" "$AHD_NODE_ASN" 5 && has_stmt "$NET4"; then
	ahd_pass "back to OK: plain statement, AS path '$AHD_NODE_ASN' again"
else
	ahd_fail "not back to the plain statement: '$(as_path "$NET4")'"
fi

# 5. Withdraw: the service stops.
t0=$(ahd_now_ms)
ahd_stop_bg web
if lat=$(ahd_withdraw_time_after "$t0" "$NET4" 5) && ahd_wait_prefix_absent "$NET6" 3 &&
	! has_stmt "$NET4"; then
	ahd_pass "network method: withdrawn ${lat} ms after the service stopped (fall 2 x 200 ms)"
else
	ahd_fail "network method: not withdrawn"
fi

# 6. both: address first, then the statement; withdrawal in reverse.
t0=$(ahd_now_ms)
ahd_start_tcp_service dns "$DNS_PORT"
if lat=$(ahd_announce_time_after "$t0" "$BOTH" 5) && ahd_on_lo "$BOTH" && has_stmt "$BOTH"; then
	ahd_pass "both: $BOTH on lo and network statement, announced after ${lat} ms"
else
	ahd_fail "both: not announced (on lo: $(ahd_on_lo "$BOTH" && echo yes || echo no))"
fi
t0=$(ahd_now_ms)
ahd_stop_tcp_service dns
if lat=$(ahd_withdraw_time_after "$t0" "$BOTH" 5) && ahd_wait_prefix_absent "$BOTH" 2 &&
	sleep 0.3 && ! ahd_on_lo "$BOTH" && ! has_stmt "$BOTH"; then
	ahd_pass "both: withdrawn after ${lat} ms; statement and address gone"
else
	ahd_fail "both: not withdrawn cleanly"
fi
# The line number of the first daemon.log line after line $1 matching $2.
log_line_after() {
	awk -v from="$1" -v pat="$2" 'NR > from && index($0, pat) { print NR; exit }' "$AHD_TMP/daemon.log"
}
if l1=$(log_line_after 0 '"msg":"withdrew 192.0.2.53/32 on lo') && [[ -n $l1 ]] &&
	l2=$(log_line_after 0 '"event":"frr","msg":"no network 192.0.2.53/32') && [[ -n $l2 ]] &&
	((l1 < l2)); then
	ahd_pass "both, the service fell: the address was removed first (FRR's fastest path), then the statement"
else
	ahd_fail "both, unplanned: withdrawal order wrong or not logged (address line ${l1:-none}, statement line ${l2:-none})"
fi

# 7. kill -9 bgpd: runtime statements are gone; the daemon puts them back.
start_web fast
ahd_start_tcp_service dns "$DNS_PORT"
ahd_wait_prefix_present "$NET4" 5 && ahd_wait_prefix_present "$BOTH" 5 || true
run=/var/run/frr/$AHD_NODE conf=$AHD_TMP/frr
kill -KILL "$(cat "$run/bgpd.pid")"
ahd_wait_prefix_absent "$NET4" 10 || true
sleep 1
ahd_node /usr/lib/frr/bgpd -N "$AHD_NODE" -d -A 127.0.0.1 \
	-f "$conf/bgpd.conf" -i "$run/bgpd.pid" 2>>"$conf/bgpd.stderr"
t0=$(ahd_now_ms)
ahd_wait_established 30
if ahd_wait_prefix_present "$NET4" 10 && ahd_wait_prefix_present "$NET6" 5 &&
	ahd_wait_prefix_present "$BOTH" 5; then
	back=$(($(ahd_now_ms) - t0))
	ahd_pass "bgpd kill -9 and restart: statements back at the neighbour ${back} ms after bgpd started (session included)"
else
	ahd_fail "bgpd restart: statements not back ($(running | grep -c '  network'))"
fi
if grep -q 'bgpd (re)started' "$AHD_TMP/daemon.log"; then
	ahd_pass "bgpd restart noticed through the FRR run directory"
else
	ahd_fail "bgpd restart not noticed"
fi
if kill -0 "$(ahd_daemon_pid)" 2>/dev/null; then
	ahd_pass "the daemon kept running while bgpd was down"
else
	ahd_fail "the daemon died while bgpd was down"
fi

# 8. Nothing outside the configured prefixes was touched.
if has_stmt "$CONF"; then
	ahd_pass "statement $CONF from FRR's own configuration untouched"
else
	ahd_fail "statement $CONF was removed"
fi

# 8b. Drain: announced with GRACEFUL_SHUTDOWN (65535:0) for the grace period,
# then withdrawn; undrain returns to the plain statement.
ctl() { "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" "$@"; }
GSHUT=4294901760
t0=$(ahd_now_ms)
ctl drain web --grace 1500ms >/dev/null
# The prepend too: neighbours that ignore the community must move away as well.
if wait_community "$NET4" "$GSHUT" 3 && has_stmt "$NET4" ANYCAST-GSHUT &&
	wait_as_path "$NET4" "$AHD_NODE_ASN $AHD_NODE_ASN $AHD_NODE_ASN $AHD_NODE_ASN" 3; then
	ahd_pass "drain: $NET4 announced with community 65535:0 and AS path prepended x3 after $(($(ahd_now_ms) - t0)) ms (route-map ANYCAST-GSHUT)"
else
	ahd_fail "drain: no 65535:0 and prepend at the neighbour (communities '$(communities "$NET4")', AS path '$(as_path "$NET4")')"
fi
if lat=$(ahd_withdraw_time_after "$t0" "$NET4" 5) && ((lat >= 1400)); then
	ahd_pass "drain: withdrawn ${lat} ms after the drain command (grace 1500 ms)"
else
	ahd_fail "drain: withdrawal at ${lat:-never} ms, expected after the 1500 ms grace"
fi
ctl undrain web >/dev/null
if ahd_wait_prefix_present "$NET4" 5 && wait_as_path "$NET4" "$AHD_NODE_ASN" 3 &&
	[[ -z $(communities "$NET4") ]]; then
	ahd_pass "undrain: plain statement again, no community"
else
	ahd_fail "undrain: '$(communities "$NET4")' / '$(as_path "$NET4")'"
fi
# A planned withdrawal of method both (drain): the statement first, then the address.
from=$(wc -l <"$AHD_TMP/daemon.log")
ctl drain dns >/dev/null
if ahd_wait_prefix_absent "$BOTH" 5 && sleep 0.3 && ! ahd_on_lo "$BOTH" &&
	l1=$(log_line_after "$from" '"event":"frr","msg":"no network 192.0.2.53/32') && [[ -n $l1 ]] &&
	l2=$(log_line_after "$from" '"msg":"withdrew 192.0.2.53/32 on lo') && [[ -n $l2 ]] &&
	((l1 < l2)); then
	ahd_pass "both, drained (planned): the statement was removed before the address"
else
	ahd_fail "both, drained: withdrawal order wrong or not logged (statement line ${l1:-none}, address line ${l2:-none})"
fi
ctl undrain dns >/dev/null
ahd_wait_prefix_present "$BOTH" 5 || true

# 9. SIGTERM (on_exit withdraw): statements and addresses gone, the hand-made one stays.
ahd_vtysh -c 'configure terminal' -c "router bgp $AHD_NODE_ASN" \
	-c 'address-family ipv4 unicast' -c "network $HAND"
t0=$(ahd_now_ms)
ahd_stop_daemon
if ((rc == 0)) && lat=$(ahd_withdraw_time_after "$t0" "$NET4" 5) && ! has_stmt "$NET4" &&
	! has_stmt "$NET6" && ! has_stmt "$BOTH" && ! ahd_on_lo "$BOTH"; then
	ahd_pass "SIGTERM: exit 0, every managed statement removed (withdrawn in ${lat} ms)"
else
	ahd_fail "SIGTERM: rc=$rc, statements left: $(running | grep '  network' | tr '\n' ' ')"
fi
if has_stmt "$HAND" && has_stmt "$CONF"; then
	ahd_pass "hand-made statements $HAND and $CONF untouched"
else
	ahd_fail "a hand-made statement was removed"
fi

# 10. kill -9 of the daemon leaves statements in FRR; withdraw-all (systemd's
# ExecStopPost=) removes exactly those listed in the state file.
ahd_start_daemon "$etc/anycast-healthd.json"
ahd_wait_prefix_present "$NET4" 5 && ahd_wait_prefix_present "$BOTH" 5 || true
kill -KILL "$(ahd_daemon_pid)"
wait "$(ahd_daemon_pid)" 2>/dev/null || true
rm -f "$AHD_TMP/daemon.pid"
if has_stmt "$NET4" && has_stmt "$BOTH" && ahd_on_lo "$BOTH"; then
	ahd_pass "after kill -9 of the daemon, its statements and address are still there"
else
	ahd_fail "kill -9: statements or address already gone (test setup)"
fi
t0=$(ahd_now_ms)
wa_rc=0
ahd_node "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" withdraw-all >"$AHD_TMP/wa.out" 2>&1 || wa_rc=$?
if ((wa_rc == 0)) && ! has_stmt "$NET4" && ! has_stmt "$NET6" && ! has_stmt "$BOTH" &&
	! ahd_on_lo "$BOTH" && ahd_wait_prefix_absent "$NET4" 5 && ahd_wait_prefix_absent "$NET6" 5 &&
	ahd_wait_prefix_absent "$BOTH" 5; then
	ahd_pass "withdraw-all after kill -9: statements and address removed, the neighbour lost them ($(($(ahd_now_ms) - t0)) ms)"
else
	ahd_fail "withdraw-all: rc=$wa_rc, $(tr '\n' ' ' <"$AHD_TMP/wa.out"), left: $(running | grep '  network' | tr '\n' ' ')"
fi
if has_stmt "$HAND" && has_stmt "$CONF"; then
	ahd_pass "withdraw-all left the statements it does not manage alone"
else
	ahd_fail "withdraw-all removed a statement it does not manage"
fi
# 11. on_exit keep with FRR: the probes wait for FRR's first read, which
# must not overwrite the state file before the drains in it are restored.
sed -i 's/"on_exit": "withdraw"/"on_exit": "keep"/' "$etc/anycast-healthd.json"
ahd_start_daemon "$etc/anycast-healthd.json"
ahd_wait_prefix_present "$NET4" 5 || true
ctl drain web >/dev/null
ahd_wait_prefix_absent "$NET4" 5 || true
ahd_stop_daemon
ahd_start_daemon "$etc/anycast-healthd.json"
sleep 2
st=$(ctl status --json 2>/dev/null || true)
if [[ $st == *'"name": "web"'*'"state": "drained"'* || $st == *'"name":"web"'*'"state":"drained"'* ]] &&
	! ahd_prefix_present "$NET4" && ! has_stmt "$NET4"; then
	ahd_pass "on_exit keep with FRR: a drain survives the restart (still drained, not announced)"
else
	ahd_fail "on_exit keep with FRR: drain lost over a restart: $(grep -o '"name": *"web"[^}]*"state": *"[a-z]*"' <<<"$st" | head -1)"
fi
ctl undrain web >/dev/null || true
ahd_stop_daemon
sed -i 's/"on_exit": "keep"/"on_exit": "withdraw"/' "$etc/anycast-healthd.json"

if grep -q '"level":"error"' "$AHD_TMP/daemon.log" &&
	[[ -z $(grep '"level":"error"' "$AHD_TMP/daemon.log" | grep -v 'FRR\|vtysh\|router bgp\|bgpd') ]]; then
	ahd_log "FRR errors logged while bgpd was down (expected): $(grep -c '"level":"error"' "$AHD_TMP/daemon.log")"
fi
ahd_summary
