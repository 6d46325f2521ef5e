#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Trust boundaries, each tried as an attacker would, against real FRR and a
# GoBGP neighbour. The daemon runs as the unit runs it: a non-root user in
# frrvty with CAP_NET_ADMIN, CAP_SETUID, CAP_SETGID and CAP_SETPCAP as its
# ambient capabilities (setpriv emulates User= + AmbientCapabilities=).
#  1. An exec plugin (as anycast-healthd-probe) reports no capability, no
#     group of the daemon, and fails to drain, to write the state file, to
#     run `vtysh -c 'conf t'` and to read the daemon's /proc (ptrace check).
#  2. Neither a plugin nor vtysh inherits a descriptor while HTTP probes
#     are in flight (libcurl's sockets are not close-on-exec).
#  3. Control socket: a user outside anycast-healthd-admin gets status but
#     not drain, nor does the daemon's own user; an admin may drain; 100
#     connections held by one user lock out neither root nor others, and
#     the refusals are logged a few times, not 100.
#  4. Configuration trust: a group-writable service file and a plugin
#     writable by a non-root user are refused.
#  Also: a daemon without the capabilities to switch users refuses exec
#  probes (`anycast-healthd -n` exits 2) instead of ignoring "user".
#  5. withdraw-all after kill -9, with a tampered state file (a vtysh of the
#     attacker's, a host address, a malformed entry) and a main file with a
#     syntax error: the attacker's program never runs, the host address
#     stays, the real prefixes are withdrawn through the configured vtysh.
# Creates (and removes) test users; creates anycast-healthd-probe and
# group anycast-healthd-admin only if missing, and removes them after.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

V4=192.0.2.53/32	# method address: probed by the attack plugin
NET4=203.0.113.0/24	# method network (blackhole route for import-check)
HOSTADDR=10.99.0.1/32	# an address of the host's, not the daemon's: never touched
WEB_PORT=8080 HUNG_PORT=8099

ahd_init
ahd_require_root_tools
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
: "${AHD_HEALTHCTL:?AHD_HEALTHCTL must point at the built anycast-healthctl}"
for t in setpriv runuser useradd userdel groupadd groupdel jq; do
	command -v "$t" >/dev/null || { ahd_fail "missing tool $t"; ahd_summary; exit 1; }
done

# --- users: the daemon's, a monitoring user, an admin -------------------
DUSER=ahdd$$ MUSER=ahdm$$ AUSER=ahda$$
created_users=() created_groups=()
useradd_retry() { # useradd may find /etc/passwd locked by a parallel test
	local i
	for ((i = 0; i < 20; i++)); do
		useradd "$@" 2>/dev/null && return 0
		sleep 0.2
	done
	useradd "$@"
}
trust_cleanup() {
	local u g
	for u in "${created_users[@]}"; do userdel "$u" 2>/dev/null || true; done
	for g in "${created_groups[@]}"; do groupdel "$g" 2>/dev/null || true; done
}
# The users go after everything that runs as them has been stopped.
trust_on_exit() {
	local r=$?
	ahd_cleanup
	trust_cleanup
	(exit "$r")
	ahd_on_exit
}
trap trust_on_exit EXIT
if ! getent group anycast-healthd-admin >/dev/null; then
	groupadd --system anycast-healthd-admin
	created_groups+=(anycast-healthd-admin)
fi
if ! getent passwd anycast-healthd-probe >/dev/null; then
	useradd_retry --system --user-group --no-create-home --shell /usr/sbin/nologin anycast-healthd-probe
	created_users+=(anycast-healthd-probe)
fi
useradd_retry --system --user-group --no-create-home --shell /usr/sbin/nologin -G frrvty "$DUSER"
created_users+=("$DUSER")
useradd_retry --system --user-group --no-create-home --shell /usr/sbin/nologin "$MUSER"
created_users+=("$MUSER")
useradd_retry --system --user-group --no-create-home --shell /usr/sbin/nologin -G anycast-healthd-admin "$AUSER"
created_users+=("$AUSER")
PUID=$(id -u anycast-healthd-probe) PGID=$(id -g anycast-healthd-probe)

# --- configuration (root-owned) and the runtime directory (the daemon's) -
etc=$AHD_TMP/etc run=$AHD_TMP/run plug=$AHD_TMP/plugins report=$AHD_TMP/report
mkdir -p "$etc/services.d" "$run" "$plug" "$report"
chown "$DUSER:$DUSER" "$run"
chmod 755 "$run"	# RuntimeDirectoryMode=0755
chmod 1777 "$report"	# written by the plugin and by the vtysh wrapper (the daemon's user)
sock=$run/ctl.sock state=$run/state.json
ctl() { "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" "$@"; }

# vtysh through a wrapper that records its descriptors, then runs the real one.
cat >"$plug/vtysh" <<EOF
#!/bin/sh
ls -l /proc/\$\$/fd/ 2>/dev/null | grep -c 'socket:' >"$report/vtysh-sockets.\$\$" || true
echo "\$(cat /proc/\$PPID/comm) \$(awk '/^Cap(Prm|Amb)/ { printf "%s ", \$2 }' /proc/\$PPID/status /proc/\$\$/status)" >"$report/vtysh-caps.\$\$"
exec /usr/bin/vtysh "\$@"
EOF
# The attacker's plugin: what it is, and what it tries.
cat >"$plug/attack.sh" <<EOF
#!/bin/sh
caps=\$(awk '/^(CapEff|CapPrm|CapInh|CapAmb|CapBnd|NoNewPrivs):/ { printf "%s%s ", \$1, \$2 }' /proc/self/status)
# Each refusal's own words are kept: "refused" must mean refused, not broken.
if "$AHD_HEALTHCTL" -s "$sock" drain web >"$report/drain-out.tmp" 2>&1; then drain=DONE; else drain=refused; fi
mv "$report/drain-out.tmp" "$report/drain-out.txt"
if "$AHD_HEALTHCTL" -s "$sock" status >/dev/null 2>&1 || [ \$? -lt 3 ]; then status=ok; else status=failed; fi
if (echo '{}' >"$state") 2>/dev/null || (echo '{}' >"$state.tmp") 2>/dev/null ||
	(: >"$run/planted") 2>/dev/null; then st=WRITTEN; else st=refused; fi
if vtysh -N "$AHD_NODE" -c 'configure terminal' -c 'router bgp $AHD_NODE_ASN' \
	-c 'address-family ipv4 unicast' -c 'network 198.51.100.200/32' >"$report/vtysh-out.tmp" 2>&1; then vt=DONE; else vt=refused; fi
mv "$report/vtysh-out.tmp" "$report/vtysh-out.txt"
if cat /proc/\$PPID/environ >/dev/null 2>&1; then pt=READ; else pt=refused; fi
sockets=\$(ls -l /proc/\$\$/fd/ 2>/dev/null | grep -c 'socket:')
echo "\${caps}uid=\$(id -u) gid=\$(id -g) groups=\$(id -G) status=\$status drain=\$drain state=\$st vtysh=\$vt ptrace=\$pt sockets=\$sockets" >"$report/attack.txt.tmp"
mv "$report/attack.txt.tmp" "$report/attack.txt"
echo "attack done"
EOF
# A hung plugin with a child of its own: killed with it at every timeout.
cat >"$plug/hang.sh" <<EOF
#!/bin/sh
sleep 61 &
exec sleep 60
EOF
chmod 755 "$plug/vtysh" "$plug/attack.sh" "$plug/hang.sh"

cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "control_socket": "$sock", "state_file": "$state", "on_exit": "withdraw",
  "log": { "level": "info", "format": "text" },
  "frr": { "vtysh": "$plug/vtysh", "pathspace": "$AHD_NODE", "timeout": "2s" } }
JSON
cat >"$etc/services.d/dns.json" <<JSON
{ "prefixes": ["$V4"], "method": "address",
  "interval": "500ms", "timeout": "400ms", "rise": 1, "fall": 2,
  "probes": [ { "type": "exec", "command": ["$plug/attack.sh"], "interval": "1s", "timeout": "900ms" } ] }
JSON
cat >"$etc/services.d/hang.json" <<JSON
{ "prefixes": ["192.0.2.54/32"], "method": "address",
  "interval": "500ms", "timeout": "400ms", "rise": 1, "fall": 2,
  "probes": [ { "type": "exec", "command": ["$plug/hang.sh"], "interval": "1500ms", "timeout": "1s" } ] }
JSON
# HTTP probes to a server that accepts and never answers: curl's sockets stay open.
hung_probes=""
for i in 1 2 3 4; do
	hung_probes+="{ \"type\": \"http\", \"name\": \"hung$i\", \"url\": \"http://127.0.0.1:$HUNG_PORT/\", \"interval\": \"300ms\", \"timeout\": \"290ms\" }, "
done
cat >"$etc/services.d/web.json" <<JSON
{ "prefixes": ["$NET4"], "method": "network",
  "interval": "200ms", "timeout": "150ms", "rise": 1, "fall": 2, "require": 1,
  "probes": [ $hung_probes { "type": "tcp", "host": "127.0.0.1", "port": $WEB_PORT } ] }
JSON
chmod 644 "$etc/anycast-healthd.json" "$etc/services.d/"*.json

# 4. Configuration trust, before anything runs.
chmod 664 "$etc/services.d/web.json"
out=$(ctl validate 2>&1) && rc=0 || rc=$?
if ((rc == 2)) && [[ $out == *"services.d/web.json"*"writable by"* ]]; then
	ahd_pass "a group-writable service file is refused (${out%%$'\n'*})"
else
	ahd_fail "group-writable service file: rc $rc: $out"
fi
chmod 644 "$etc/services.d/web.json"
chown "$MUSER" "$plug/attack.sh"
out=$(ctl validate 2>&1) && rc=0 || rc=$?
if ((rc == 2)) && [[ $out == *"attack.sh"*"owned by"* ]]; then
	ahd_pass "a plugin owned by a non-root user is refused (${out%%$'\n'*})"
else
	ahd_fail "plugin owned by a non-root user: rc $rc: $out"
fi
chown root "$plug/attack.sh"
chmod 775 "$plug"
out=$(ctl validate 2>&1) && rc=0 || rc=$?
if ((rc == 2)) && [[ $out == *"$plug"*"writable by"* ]]; then
	ahd_pass "a plugin in a group-writable directory is refused"
else
	ahd_fail "plugin in a group-writable directory: rc $rc: $out"
fi
chmod 755 "$plug"
# A duration that would wrap the timers (a service that never probes, stuck
# in init for ever) is refused, and so is the daemon's start with it.
cp "$etc/services.d/web.json" "$AHD_TMP/web.json.orig"
sed -i 's/"interval": "200ms"/"interval": "18446744073709s"/' "$etc/services.d/web.json"
out=$(ctl validate 2>&1) && rc=0 || rc=$?
out2=$("$AHD_DAEMON" -n -c "$etc/anycast-healthd.json" 2>&1) && rc2=0 || rc2=$?
if ((rc == 2 && rc2 == 2)) && [[ $out == *"services.d/web.json: interval"*"too long"* ]]; then
	ahd_pass "a duration of 18446744073709s is refused by validate and -n (${out%%$'\n'*})"
else
	ahd_fail "huge duration: validate rc $rc, -n rc $rc2: $out"
fi
cp "$AHD_TMP/web.json.orig" "$etc/services.d/web.json"
chmod 644 "$etc/services.d/web.json"
out=$(ctl validate 2>&1) || { ahd_fail "the configuration should be valid now: $out"; ahd_summary; exit 1; }

# A daemon that may not switch users refuses exec probes instead of running them as itself.
out=$(setpriv --reuid="$DUSER" --regid="$DUSER" --init-groups --inh-caps=-all \
	--ambient-caps=-all --bounding-set=-all "$AHD_DAEMON" -n -c "$etc/anycast-healthd.json" 2>&1) &&
	rc=0 || rc=$?
if ((rc == 2)) && [[ $out == *"cannot run plugins as 'anycast-healthd-probe'"*"lacks CAP_SETUID"* ]]; then
	ahd_pass "without CAP_SETUID/CAP_SETGID/CAP_SETPCAP, 'user' is a configuration error, not ignored"
else
	ahd_fail "daemon -n without capabilities: rc $rc: $out"
fi

# check by a monitoring user cannot run plugins as their users: UNKNOWN, not CRITICAL.
out=$(runuser -u "$MUSER" -- "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" check dns 2>&1) && rc=0 || rc=$?
if ((rc == 3)) && [[ $out == "ANYCAST-HEALTH UNKNOWN - cannot run the exec probes of dns as their users:"*"run check as root"* ]]; then
	ahd_pass "check as an unprivileged user: UNKNOWN with the reason (${out%%;*})"
else
	ahd_fail "check as $MUSER: rc $rc: $out"
fi

ahd_setup_netns
ahd_start_gobgp
ahd_start_frr
ahd_wait_established 30
ahd_start_monitor
ahd_node ip route add blackhole "$NET4"
ahd_node ip addr add "$HOSTADDR" dev lo
ahd_start_tcp_service web "$WEB_PORT"
ahd_start_bg hung socat "TCP-LISTEN:$HUNG_PORT,bind=127.0.0.1,fork,reuseaddr" "SYSTEM:sleep 600"

# The unit's way: User=, SupplementaryGroups (initgroups), AmbientCapabilities=.
caps=+net_admin,+setuid,+setgid,+setpcap,+kill
ahd_start_bg daemon setpriv --reuid="$DUSER" --regid="$DUSER" --init-groups \
	--inh-caps=-all,$caps --ambient-caps=-all,$caps --bounding-set=-all,$caps \
	--no-new-privs "$AHD_DAEMON" -c "$etc/anycast-healthd.json"
dpid=$(ahd_daemon_pid)
ahd_wait_file "$sock" 10 || true
if ahd_wait_prefix_present "$V4" 15 && ahd_wait_file "$report/attack.txt" 10; then
	ahd_pass "the daemon runs as $DUSER (uid $(stat -c %u /proc/"$dpid")) and announces $V4"
else
	ahd_fail "daemon did not come up: $(tail -5 "$AHD_TMP/daemon.log")"
fi
ahd_log "daemon: $(grep -E '^Cap(Eff|Prm|Amb)' /proc/"$dpid"/status | tr '\n' ' ')"

# 1. The plugin's own view.
rep=$(cat "$report/attack.txt" 2>/dev/null || echo none)
zero=0000000000000000
want="CapInh:$zero CapPrm:$zero CapEff:$zero CapBnd:$zero CapAmb:$zero NoNewPrivs:1 uid=$PUID gid=$PGID groups=$PGID "
if [[ $rep == "$want"* ]]; then
	ahd_pass "plugin: no capability in any set, no_new_privs, uid/gid/groups of anycast-healthd-probe only"
else
	ahd_fail "plugin privileges: '$rep', want '$want...'"
fi
dout=$(cat "$report/drain-out.txt" 2>/dev/null || true)
if [[ $rep == *" status=ok drain=refused "* && $dout == *"permission denied"* ]]; then
	ahd_pass "plugin gets status but cannot drain ($dout)"
else
	ahd_fail "plugin status/drain: $rep: $dout"
fi
[[ $rep == *" state=refused "* ]] && ahd_pass "plugin cannot write the state file or its directory" ||
	ahd_fail "plugin state file: $rep"
# The control: the same commands work for the daemon's user (in frrvty).
vout=$(cat "$report/vtysh-out.txt" 2>/dev/null || true)
if ahd_node runuser -u "$DUSER" -- vtysh -N "$AHD_NODE" -c 'configure terminal' -c "router bgp $AHD_NODE_ASN" \
	-c 'address-family ipv4 unicast' -c 'network 198.51.100.201/32' >/dev/null 2>&1 &&
	grep -q 198.51.100.201 <<<"$(ahd_vtysh -c 'show running-config')"; then
	ctl_vt=works
else
	ctl_vt=FAILS
fi
ahd_vtysh -c 'configure terminal' -c "router bgp $AHD_NODE_ASN" -c 'address-family ipv4 unicast' \
	-c 'no network 198.51.100.201/32' >/dev/null 2>&1 || true
if [[ $rep == *" vtysh=refused "* && $ctl_vt == works && $vout == *"ermission denied"* ]] &&
	! grep -q 198.51.100.200 <<<"$(ahd_vtysh -c 'show running-config')"; then
	ahd_pass "plugin cannot run vtysh configure (permission denied), the daemon's user can"
else
	ahd_fail "plugin vtysh: $rep; its output: $vout; as the daemon's user: $ctl_vt"
fi
[[ $rep == *" ptrace=refused "* ]] && ahd_pass "plugin cannot inspect the daemon (ptrace access check)" ||
	ahd_fail "plugin ptrace: $rep"

# 2. Descriptors, with four HTTP probes hung on their sockets all the time.
sleep 1.5
inflight=$(ahd_node ss -Htn state established "dport = :$HUNG_PORT" | wc -l)
rm -f "$report/attack.txt"
ahd_wait_file "$report/attack.txt" 5 || true
rep=$(cat "$report/attack.txt" 2>/dev/null || echo none)
vt=$(cat "$report"/vtysh-sockets.* 2>/dev/null | sort -u | tr '\n' ' ' || true)
nvt=$(find "$report" -name 'vtysh-sockets.*' | wc -l)
if ((inflight > 0)) && [[ $rep == *" sockets=0" ]] && [[ -n $vt && $vt == "0 " ]]; then
	ahd_pass "no socket leaks into plugins or vtysh ($inflight HTTP connections in flight; $nvt vtysh runs)"
else
	ahd_fail "descriptors: $inflight in flight, plugin '${rep##* }', vtysh socket counts '$vt'"
fi

# 2b. A hung plugin is killed at its timeout with its child, although it
# runs as another uid: CAP_KILL is permitted, raised around kill() only.
# The fewest descriptors over two of the plugin's 1.5 s cycles (each holds 3
# for the second it runs, so a shorter window can miss the idle gap), before
# and after 8 s (5 timeouts). Sockets are left out: the four hung HTTP
# probes hold one each but for a 10 ms gap every 300 ms, and since probes
# share wake-ups those gaps fall together, so a window sees all four closed
# or none; what a plugin's kill could leak is its pipes and pidfd.
fdmin() {
	local i n m=100000
	for ((i = 0; i < 25; i++)); do
		n=$(find "/proc/$dpid/fd" -mindepth 1 ! -lname 'socket:*' 2>/dev/null | wc -l)
		((n < m)) && m=$n
		sleep 0.1
	done
	echo "$m"
}
eff=$(awk '/^CapEff:/ { print $2 }' /proc/"$dpid"/status)
if [[ $eff == 0000000000001000 ]]; then
	ahd_pass "the daemon's effective set is CAP_NET_ADMIN only (CAP_KILL and the switching caps: permitted only)"
else
	ahd_fail "daemon CapEff $eff, want 0000000000001000"
fi
fd0=$(fdmin)
sleep 8
fd1=$(fdmin)
old=$(ps -u anycast-healthd-probe -o etimes=,args= | awk '$1 >= 3 && $2 == "sleep"' | wc -l)
if ((old == 0 && fd1 - fd0 <= 2)); then
	ahd_pass "a hung plugin (sleep 60, timeout 1s) is killed with its child each time; daemon descriptors $fd0 -> $fd1"
else
	ahd_fail "hung plugin: $old sleep process(es) of anycast-healthd-probe older than 3 s; daemon descriptors $fd0 -> $fd1"
fi

# 3. Who may do what on the control socket.
as() { local u=$1; shift; runuser -u "$u" -- "$AHD_HEALTHCTL" -s "$sock" "$@"; }
out=$(as "$MUSER" status 2>&1) && rc=0 || rc=$?
if ((rc < 3)) && [[ $out == *dns* ]]; then
	ahd_pass "a user outside the admin group gets status"
else
	ahd_fail "status as $MUSER: rc $rc: $out"
fi
out=$(as "$MUSER" drain web 2>&1) && rc=0 || rc=$?
if ((rc != 0)) && [[ $out == *"permission denied"* ]]; then
	ahd_pass "... but not drain ($out)"
else
	ahd_fail "drain as $MUSER: rc $rc: $out"
fi
out=$(as "$DUSER" drain web 2>&1) && rc=0 || rc=$?
((rc != 0)) && [[ $out == *"permission denied"* ]] && ahd_pass "the daemon's own user may not drain" ||
	ahd_fail "drain as the daemon's user: rc $rc: $out"
out=$(as "$AUSER" drain web 2>&1) && rc=0 || rc=$?
out2=$(as "$AUSER" undrain web 2>&1) && rc2=0 || rc2=$?
((rc == 0 && rc2 == 0)) && ahd_pass "a member of anycast-healthd-admin may drain and undrain" ||
	ahd_fail "admin drain: rc $rc: $out / rc $rc2: $out2"
# 100 connections held by one user.
before=$(grep -c 'control: refused' "$AHD_TMP/daemon.log" || true)
dsocks() { find "/proc/$dpid/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
socks0=$(dsocks)
runuser -u "$MUSER" -- bash -c 'for i in $(seq 100); do sleep 4 | socat -u - "UNIX-CONNECT:$1" >/dev/null 2>&1 & done; wait' _ "$sock" &
holder=$!
sleep 1.5
held=$(($(dsocks) - socks0))
t0=$(ahd_now_ms)
"$AHD_HEALTHCTL" -s "$sock" status >/dev/null 2>&1 && rroot=0 || rroot=$?
t_root=$(($(ahd_now_ms) - t0))
as "$AUSER" status >/dev/null 2>&1 && radm=0 || radm=$?
as "$DUSER" status >/dev/null 2>&1 && rother=0 || rother=$?
wait "$holder" || true
refusals=$(($(grep -c 'control: refused' "$AHD_TMP/daemon.log" || true) - before))
if ((rroot < 3 && radm < 3 && rother < 3 && refusals >= 1 && refusals <= 2)); then
	ahd_pass "100 connections held by one user ($held kept open by the daemon): root ($t_root ms), an admin and another user still get status; $refusals warning(s) logged"
else
	ahd_fail "held connections: root $rroot admin $radm other $rother, $held accepted, $refusals warnings"
fi

# 5. kill -9, then the attacker (the daemon's user) tampers with the state file.
if has_net=$(ahd_vtysh -c 'show running-config') && [[ $has_net == *"network $NET4"* ]]; then
	ahd_pass "network $NET4 is in FRR (added through the configured vtysh)"
else
	ahd_fail "network $NET4 not in FRR"
fi
ahd_node kill -KILL "$dpid"
sleep 0.3
cat >"$AHD_TMP/evil.sh" <<EOF
#!/bin/sh
: >"$AHD_TMP/pwned"
EOF
chmod 755 "$AHD_TMP/evil.sh"
jq --arg evil "$AHD_TMP/evil.sh" '.frr = {vtysh: $evil, pathspace: "", vrf: "", asn: 65001, timeout_us: 1000000}
	| .announced += [{prefix: "10.99.0.1/32", interface: "lo", method: "address"},
	                 {prefix: "192.0.2.5/24", interface: "lo", method: "both"}]' "$state" >"$AHD_TMP/tampered.json"
chmod 644 "$AHD_TMP/tampered.json"
runuser -u "$DUSER" -- cp "$AHD_TMP/tampered.json" "$state"
# ... and the operator's last edit broke the main file (a missing comma).
sed -i 's/"state_file": "\([^"]*\)", /"state_file": "\1" /' "$etc/anycast-healthd.json"
jq -e . "$etc/anycast-healthd.json" >/dev/null 2>&1 && ahd_fail "the main file should be broken now"
out=$(ahd_node "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" status 2>&1) && rc=0 || rc=$?
if ((rc == 3)) && [[ $out == *"$sock"* ]]; then
	ahd_pass "status with a broken main file still uses its control_socket (rc 3, daemon gone)"
else
	ahd_fail "status with a broken main file: rc $rc: $out"
fi
# A main file that others may write is refused, broken or not: withdraw-all
# (root) must not fall back to reading it tolerantly and run its vtysh.
sed "s|\"vtysh\": \"[^\"]*\"|\"vtysh\": \"$AHD_TMP/evil.sh\"|" "$etc/anycast-healthd.json" >"$etc/writable.json"
chmod 664 "$etc/writable.json"
out=$(ahd_node "$AHD_HEALTHCTL" -c "$etc/writable.json" withdraw-all 2>&1) && rc=0 || rc=$?
if ((rc != 0)) && [[ ! -e $AHD_TMP/pwned && $out == *"refusing a configuration file writable by group"* ]] &&
	ahd_on_lo "$V4"; then
	ahd_pass "withdraw-all refuses a group-writable main file (rc $rc), runs nothing, withdraws nothing"
else
	ahd_fail "withdraw-all with a group-writable main file: rc $rc, pwned: $([[ -e $AHD_TMP/pwned ]] && echo yes || echo no): $out"
fi
rm -f "$etc/writable.json"
# As ExecStopPost= runs it: the daemon's user with the unit's ambient capabilities.
rm -f "$report"/vtysh-caps.*
out=$(ahd_node setpriv --reuid="$DUSER" --regid="$DUSER" --init-groups \
	--inh-caps=-all,$caps --ambient-caps=-all,$caps --bounding-set=-all,$caps \
	--no-new-privs "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" withdraw-all 2>&1) && rc=0 || rc=$?
ahd_log "withdraw-all (rc $rc): $(tr '\n' '|' <<<"$out")"
# healthctl's CapPrm CapAmb, then vtysh's: CAP_NET_ADMIN only, then nothing at all.
vcaps=$(cat "$report"/vtysh-caps.* 2>/dev/null | sort -u | tr '\n' ';' || true)
if [[ $vcaps == "anycast-healthc 0000000000001000 0000000000000000 0000000000000000 0000000000000000 ;" ]]; then
	ahd_pass "withdraw-all under the unit's capabilities keeps CAP_NET_ADMIN only, and its vtysh gets none"
else
	ahd_fail "withdraw-all capabilities (comm, its CapPrm CapAmb, vtysh's CapPrm CapAmb): '$vcaps'"
fi
if [[ ! -e $AHD_TMP/pwned ]]; then
	ahd_pass "the vtysh named in the state file was not executed"
else
	ahd_fail "withdraw-all ran the state file's program"
fi
if ahd_on_lo "$HOSTADDR" && [[ $out == *"10.99.0.1/32 on lo: not a prefix of the configuration"* ]]; then
	ahd_pass "a host address listed in the state file is left alone, with an error"
else
	ahd_fail "host address: $(ahd_node ip -o addr show dev lo | grep -c 10.99.0.1) on lo; $out"
fi
if ((rc == 1)) && [[ $out == *"malformed entr"* ]] && ahd_wait_prefix_absent "$V4" 5 && ! ahd_on_lo "$V4" &&
	[[ $(ahd_vtysh -c 'show running-config') != *"network $NET4"* ]]; then
	ahd_pass "broken main file + tampered state file: the real prefixes are withdrawn (address and statement), exit 1"
else
	ahd_fail "withdraw-all: rc $rc, $V4 on lo: $(ahd_on_lo "$V4" && echo yes || echo no): $out"
fi
ahd_summary
