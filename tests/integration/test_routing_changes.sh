#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Routing state through every change, seen at a GoBGP neighbour (issue 9):
#   1. degraded is debounced: a plugin flipping OK/WARNING every round for
#      10 s changes the route at most twice (on_warning degrade, method both);
#      a steady WARNING still degrades, and OK again restores the plain route;
#   2. a reload of a drained service (changed probe) keeps its 5 s grace: the
#      route keeps 65535:0 (GRACEFUL_SHUTDOWN) until the grace ends;
#   3. a reload of a degraded service keeps its degraded route-map: not one
#      route change at the neighbour;
#   4. a reload of a service held down keeps its hold: not announced again
#      before hold_down has passed since the fall;
#   5. a prefix removed by a reload (method both) loses its statement before
#      its address, and the state file lists it until both are gone;
#   6. an unwritable state file (a directory in its place) holds a new
#      announcement back, and one that was recorded before, withdrawn and
#      healthy again, and says so (status CRITICAL, metrics); once it can
#      be written again the prefixes go out;
#   7. a degraded service (method both) reloaded as method address loses
#      its route-map: plain `network P` stays (the operator's line);
#   8. a restart with on_exit "keep" adopts a degraded service through its
#      route-map: no route change.
# Each service is driven by an exec plugin reading a mode file (ok, warn,
# crit, flip); flip alternates OK and WARNING on each call.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

P_FLIP=192.0.2.61/32 P_DRAIN=192.0.2.62/32 P_DEGR=192.0.2.63/32 P_HOLD=192.0.2.64/32
P_REC=192.0.2.65/32 P_BACK=192.0.2.66/32 P_MOVE=192.0.2.67/32
GSHUT=4294901760	# 65535:0 as GoBGP prints it

ahd_init
ahd_require_root_tools
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
: "${AHD_HEALTHCTL:?AHD_HEALTHCTL must point at the built anycast-healthctl}"

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
# The plugin runs unprivileged: its flip counters live in a sticky,
# world-writable directory; the mode files are written by the test.
plug=$AHD_TMP/plug
mkdir -p "$plug/run"
chmod 1777 "$plug/run"
cat >"$plug/check.sh" <<'SH'
#!/bin/sh
dir=$(dirname "$0")
name=$1
case $(cat "$dir/$name.mode") in
ok) echo "OK - fine"; exit 0 ;;
warn) echo "WARNING - slow"; exit 1 ;;
crit) echo "CRITICAL - broken"; exit 2 ;;
flip)
	n=$(cat "$dir/run/$name.n" 2>/dev/null || echo 0)
	n=$((n + 1))
	echo "$n" >"$dir/run/$name.n"
	if [ $((n % 2)) -eq 0 ]; then echo "WARNING - flip $n"; exit 1; fi
	echo "OK - flip $n"; exit 0 ;;
esac
echo "UNKNOWN - no mode"; exit 3
SH
chmod 755 "$plug/check.sh"
mode() { printf '%s\n' "$2" >"$plug/$1.mode"; chmod 644 "$plug/$1.mode"; }

cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state/state.json",
  "log": { "level": "info", "format": "json" }, "defaults": { "jitter": "0%" },
  "frr": { "pathspace": "ahd-$$-node", "timeout": "2s" } }
JSON
svc() { # NAME PREFIX EXTRA [TIMEOUT]
	cat >"$etc/services.d/$1.json" <<JSON
{ "prefixes": ["$2"], "method": "both", "interval": "500ms", "timeout": "${4:-450ms}",
  "rise": 2, "fall": 2, "on_warning": "degrade" $3,
  "probes": [ { "type": "exec", "user": "nobody", "command": ["$plug/check.sh", "$1"] } ] }
JSON
	chmod 644 "$etc/services.d/$1.json"
}
mkdir -p "$AHD_TMP/state"
mode flip ok; mode drain ok; mode degr warn; mode hold ok; mode rec crit; mode back ok; mode move warn
svc flip "$P_FLIP" ''
svc drain "$P_DRAIN" ''
svc degr "$P_DEGR" ''
svc hold "$P_HOLD" ', "hold_down": "4s"'
svc rec "$P_REC" ''
svc back "$P_BACK" ''
svc move "$P_MOVE" ''
chmod 644 "$etc/anycast-healthd.json"

"$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" frr-config --asn "$AHD_NODE_ASN" \
	--router-id "$AHD_NODE_V4" --neighbor "$AHD_PEER_V4" --neighbor-asn "$AHD_PEER_ASN" \
	--template "$AHD_SRCDIR/frr-templates/anycast-healthd.conf" >"$AHD_TMP/bgpd-template.conf"
AHD_TEMPLATE=$AHD_TMP/bgpd-template.conf
ahd_start_all

ctl() { "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" "$@"; }
running() { ahd_vtysh -c 'show running-config'; }
has_stmt() { grep -q "^  network $1" <<<"$(running)"; }
rib() { ahd_gobgp global rib -a ipv4 -j "$1" 2>/dev/null || true; }
as_path() { rib "$1" | grep -o '"asns":\[[0-9,]*\]' | sed -n 1p | tr -dc '0-9,' | tr , ' '; }
communities() { rib "$1" | grep -o '"communities":\[[0-9,]*\]' | sed -n 1p | tr -dc '0-9,' | tr , ' '; }
PREP="$AHD_NODE_ASN $AHD_NODE_ASN $AHD_NODE_ASN $AHD_NODE_ASN"
wait_as_path() { # PFX WANT SECS
	local end=$(($(ahd_now_ms) + $3 * 1000))
	while (($(ahd_now_ms) < end)); do
		[[ $(as_path "$1") == "$2" ]] && return 0
		sleep 0.1
	done
	return 1
}
# Route changes (announcements and withdrawals) of PFX at the neighbour
# stamped in [FROM, TO) ms.
changes() { # PFX FROM TO
	awk -v from="$2" -v to="$3" -v pat="\"prefix\":\"$1\"" \
		'$1 >= from && $1 < to && index($0, pat) { n++ } END { print n + 0 }' "$AHD_TMP/monitor.log"
}
log_line_after() { # FROM PATTERN
	awk -v from="$1" -v pat="$2" 'NR > from && index($0, pat) { print NR; exit }' "$AHD_TMP/daemon.log"
}
# A changed probe (its timeout), so that a reload restarts the service.
touch_svc() { sed -i 's/"timeout": "450ms"/"timeout": "460ms"/' "$etc/services.d/$1.json"; }

ahd_start_daemon "$etc/anycast-healthd.json"
for p in "$P_FLIP" "$P_DRAIN" "$P_HOLD" "$P_DEGR" "$P_BACK" "$P_MOVE"; do
	ahd_wait_prefix_present "$p" 10 || ahd_fail "$p not announced at start"
done
if wait_as_path "$P_DEGR" "$PREP" 5 && wait_as_path "$P_FLIP" "$AHD_NODE_ASN" 5; then
	ahd_pass "start: a steady WARNING comes up degraded (AS path '$PREP'), OK comes up plain"
else
	ahd_fail "start: degr AS path '$(as_path "$P_DEGR")', flip '$(as_path "$P_FLIP")'"
fi

# 1. Flip OK/WARNING every round for 10 s. Meanwhile (2) drain + reload and
# (4) hold + reload run on their own services.
t_flip=$(ahd_now_ms)
mode flip flip

# 2. Drain with a 5 s grace, then a reload that changes the service's probe.
t_drain=$(ahd_now_ms)
ctl drain drain --grace 5s >/dev/null
# 4. The hold service falls; its probe is fine again at once.
mode hold crit
ahd_wait_prefix_absent "$P_HOLD" 5 || ahd_fail "hold: never withdrawn"
t_fall=$(ahd_now_ms)
mode hold ok
sleep 0.5
touch_svc drain
touch_svc hold
t_reload=$(ahd_now_ms)
if ctl reload >/dev/null; then
	ahd_pass "reload with the changed probes of drain and hold accepted"
else
	ahd_fail "reload refused"
fi
# Still announced with GRACEFUL_SHUTDOWN until the grace ends.
sleep 2.5
if ahd_prefix_present "$P_DRAIN" && [[ " $(communities "$P_DRAIN") " == *" $GSHUT "* ]]; then
	ahd_pass "drain + reload: still announced with 65535:0 $(($(ahd_now_ms) - t_drain)) ms after the drain (grace 5 s)"
else
	ahd_fail "drain + reload: grace lost (present: $(ahd_prefix_present "$P_DRAIN" && echo yes || echo no), communities '$(communities "$P_DRAIN")')"
fi
if lat=$(ahd_withdraw_time_after "$t_drain" "$P_DRAIN" 8) && ((lat >= 4800 && lat <= 6500)); then
	ahd_pass "drain + reload: withdrawn ${lat} ms after the drain (grace 5 s)"
else
	ahd_fail "drain + reload: withdrawn at ${lat:-never} ms, expected when the 5 s grace ends"
fi
# The hold survived the reload: not back before 4 s after the fall.
if lat=$(ahd_announce_time_after "$t_fall" "$P_HOLD" 8) && ((lat >= 3500)); then
	ahd_pass "hold_down + reload: announced again ${lat} ms after the fall (hold_down 4 s; reload at $((t_reload - t_fall)) ms)"
else
	ahd_fail "hold_down + reload: announced again ${lat:-never} ms after the fall, within its 4 s hold"
fi

# 1, result: flipping went on for 10 s.
now=$(ahd_now_ms)
((now - t_flip >= 10000)) || sleep "$(((10000 - (now - t_flip)) / 1000)).$(((10000 - (now - t_flip)) % 1000 / 100))"
n_flip=$(changes "$P_FLIP" "$t_flip" "$(ahd_now_ms)")
calls=$(cat "$plug/run/flip.n" 2>/dev/null || echo 0)
if ((calls >= 15 && n_flip <= 2)); then
	ahd_pass "degraded debounced: the plugin flipped OK/WARNING $calls times in 10 s, $n_flip route change(s) at the neighbour (at most 2)"
else
	ahd_fail "degraded not debounced: $calls plugin calls, $n_flip route changes at the neighbour"
fi
# A steady WARNING still degrades, and OK again restores the plain route.
mode flip warn
if wait_as_path "$P_FLIP" "$PREP" 5; then ahd_pass "steady WARNING: degraded (AS path '$PREP')"; else
	ahd_fail "steady WARNING: AS path '$(as_path "$P_FLIP")'"; fi
mode flip ok
if wait_as_path "$P_FLIP" "$AHD_NODE_ASN" 5; then ahd_pass "OK again: plain route"; else
	ahd_fail "OK again: AS path '$(as_path "$P_FLIP")'"; fi

# 3. Reload of a degraded service: the route-map stays, no route change.
touch_svc degr
t0=$(ahd_now_ms)
ctl reload >/dev/null
sleep 3
n=$(changes "$P_DEGR" "$t0" "$(ahd_now_ms)")
if ((n == 0)) && [[ $(as_path "$P_DEGR") == "$PREP" ]] && has_stmt "$P_DEGR route-map ANYCAST-DEGRADED"; then
	ahd_pass "degraded + reload: still announced through ANYCAST-DEGRADED, no route change in 3 s"
else
	ahd_fail "degraded + reload: $n route change(s), AS path '$(as_path "$P_DEGR")'"
fi

# 5. A reload removes the degr service (method both): statement first, then
# the address; listed in the state file until both are gone.
from=$(wc -l <"$AHD_TMP/daemon.log")
rm "$etc/services.d/degr.json"
ctl reload >/dev/null
listed=no
grep -q "\"$P_DEGR\"" "$AHD_TMP/state/state.json" && listed=yes
if ahd_wait_prefix_absent "$P_DEGR" 5 && sleep 0.5 && ! ahd_on_lo "$P_DEGR" && ! has_stmt "$P_DEGR" &&
	l1=$(log_line_after "$from" "\"msg\":\"no network $P_DEGR") && [[ -n $l1 ]] &&
	l2=$(log_line_after "$from" "\"msg\":\"withdrew $P_DEGR on lo") && [[ -n $l2 ]] && ((l1 < l2)); then
	ahd_pass "removed by a reload (both): the statement went before the address; withdrawn at the neighbour"
else
	ahd_fail "removed by a reload: order or removal wrong (statement line ${l1:-none}, address line ${l2:-none})"
fi
if [[ $listed == yes ]] && ! grep -q "\"$P_DEGR\"" "$AHD_TMP/state/state.json"; then
	ahd_pass "removed by a reload: listed in the state file right after the reload, gone once removed"
else
	ahd_fail "removed by a reload: state file listing wrong (right after: $listed; now: $(grep -c "\"$P_DEGR\"" "$AHD_TMP/state/state.json"))"
fi

# 6. An unwritable state file: a directory in its place.
rm -f "$AHD_TMP/state/state.json"
mkdir "$AHD_TMP/state/state.json"
# Noticed without any change too: the 5 s reconcile checks the file.
t0=$(ahd_now_ms) seen=no
while (($(ahd_now_ms) - t0 < 7000)); do
	st=$(ctl status 2>&1) || true
	[[ $st == *'state file not written'* ]] && { seen=yes; break; }
	sleep 0.2
done
if [[ $seen == yes ]]; then
	ahd_pass "a directory in place of the state file is noticed without any change ($(($(ahd_now_ms) - t0)) ms)"
else
	ahd_fail "a directory in place of the state file went unnoticed for 7 s"
fi
# back was recorded and announced; it falls while the file cannot be
# written: healthy again, it must wait for a record like a new one.
mode back crit
ahd_wait_prefix_absent "$P_BACK" 5 || ahd_fail "back: never withdrawn"
mode rec ok
mode back ok
sleep 2.5
st_rc=0
st=$(ctl status 2>&1) || st_rc=$?
m=$(ctl metrics 2>/dev/null || true)
if ! ahd_prefix_present "$P_REC" && ! ahd_on_lo "$P_REC" && ! has_stmt "$P_REC"; then
	ahd_pass "unwritable state file: the new announcement of $P_REC is held back"
else
	ahd_fail "unwritable state file: $P_REC went out without a record"
fi
if ! ahd_prefix_present "$P_BACK" && ! ahd_on_lo "$P_BACK" && ! has_stmt "$P_BACK"; then
	ahd_pass "unwritable state file: $P_BACK, recorded before and withdrawn since, is held back too"
else
	ahd_fail "unwritable state file: $P_BACK was announced again with no record"
fi
if ((st_rc == 2)) && [[ $st == *'state file not written'* ]] &&
	grep -q '^anycast_healthd_state_file_ok 0$' <<<"$m" &&
	grep -q '^anycast_healthd_prefixes_held_back 2$' <<<"$m"; then
	ahd_pass "unwritable state file: status exits 2 and says so, metrics state_file_ok 0, 2 prefixes held back"
else
	ahd_fail "unwritable state file not visible: status rc=$st_rc '$(head -3 <<<"$st" | tr '\n' ' ')', metrics: $(grep -E 'state_file_ok|held_back' <<<"$m" | tr '\n' ' ')"
fi
if ahd_prefix_present "$P_FLIP"; then
	ahd_pass "unwritable state file: what was announced (and recorded) stays announced"
else
	ahd_fail "unwritable state file: an announced service was withdrawn"
fi
errs=$(grep -c '"msg":"state file .*held back' "$AHD_TMP/daemon.log" || true)
if ((errs >= 1 && errs <= 2)); then
	ahd_pass "unwritable state file: logged once ($errs line(s)), not at every attempt"
else
	ahd_fail "unwritable state file: $errs log lines"
fi
# Writable again: written at the next attempt (reconcile, <= 5 s), then announced.
rmdir "$AHD_TMP/state/state.json"
t0=$(ahd_now_ms) st_rc=0 present=no listed=no
ahd_wait_prefix_present "$P_REC" 8 && ahd_wait_prefix_present "$P_BACK" 3 && present=yes
grep -q "\"$P_REC\"" "$AHD_TMP/state/state.json" 2>/dev/null &&
	grep -q "\"$P_BACK\"" "$AHD_TMP/state/state.json" && listed=yes
st=$(ctl status 2>&1) || st_rc=$?
if [[ $present == yes && $listed == yes ]] && ((st_rc <= 1)); then
	ahd_pass "state file writable again: $P_REC and $P_BACK recorded and announced after $(($(ahd_now_ms) - t0)) ms, status not critical"
else
	ahd_fail "state file writable again: announced $present, listed $listed, status $st_rc: $(tr '\n' ' ' <<<"$st" | head -c 600)"
fi

# 7. A degraded both service reloaded as method address: the route-map is
# ours and comes off; the plain line stays for the address method.
if has_stmt "$P_MOVE route-map ANYCAST-DEGRADED"; then
	sed -i 's/"method": "both"/"method": "address"/; s/"on_warning": "degrade"/"on_warning": "announce"/' \
		"$etc/services.d/move.json"
	ctl reload >/dev/null
	t0=$(ahd_now_ms) plain=no
	while (($(ahd_now_ms) - t0 < 5000)); do
		grep -Eq "^  network $P_MOVE\s*$" <<<"$(running)" && { plain=yes; break; }
		sleep 0.2
	done
	if [[ $plain == yes ]] && ahd_on_lo "$P_MOVE" && ahd_prefix_present "$P_MOVE"; then
		ahd_pass "degraded both reloaded as address: route-map taken off after $(($(ahd_now_ms) - t0)) ms, plain line and address stay"
	else
		ahd_fail "degraded both reloaded as address: FRR holds '$(grep "network $P_MOVE" <<<"$(running)" | xargs)'"
	fi
else
	ahd_fail "move: not degraded before the reload: '$(grep "network $P_MOVE" <<<"$(running)" | xargs)'"
fi

# 8. A restart with on_exit "keep" adopts a degraded service as it is: no
# route change at the neighbour.
mode flip warn
wait_as_path "$P_FLIP" "$PREP" 5 || ahd_fail "flip: not degraded before the restart"
sed -i 's/"interface": "lo",/"interface": "lo", "on_exit": "keep",/' "$etc/anycast-healthd.json"
ctl reload >/dev/null
t0=$(ahd_now_ms)
ahd_stop_daemon
mv "$AHD_TMP/daemon.log" "$AHD_TMP/daemon-1.log"
ahd_start_daemon "$etc/anycast-healthd.json"
sleep 4
n=$(changes "$P_FLIP" "$t0" "$(ahd_now_ms)")
if ((n == 0)) && [[ $(as_path "$P_FLIP") == "$PREP" ]] &&
	grep -q '"msg":"flip: prefixes found announced through the degraded route-map' "$AHD_TMP/daemon.log"; then
	ahd_pass "restart with on_exit keep: the degraded service adopted through its route-map, no route change"
else
	ahd_fail "restart with on_exit keep: $n route change(s), AS path '$(as_path "$P_FLIP")'"
fi
sed -i 's/"on_exit": "keep", //' "$etc/anycast-healthd.json"
ctl reload >/dev/null
ahd_stop_daemon
if ((rc == 0)); then ahd_pass "daemon stopped cleanly"; else ahd_fail "daemon exit status $rc"; fi
ahd_summary
