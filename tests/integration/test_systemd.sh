#!/bin/bash
# ahd-timeout: 900
# The package under a real systemd: builds the .deb (and a second version
# for the upgrade), boots a Debian 12 container with systemd as PID 1 and FRR
# (systemd-nspawn -b --private-network; commands run in it with nsenter),
# installs the package with apt as an operator would and checks, one by one:
# active and READY; a tcp service going down and up with its socat unit
# (address on lo, route in bgpd); a process probe on a unit withdrawing within
# milliseconds of `systemctl kill -s KILL`; node_exporter's textfile collector
# reading metrics_file; reload, valid and invalid; stop withdrawing the
# address and network methods with no error in the journal; kill -9 (ExecStopPost
# withdraws, Restart= brings it back); the watchdog (kill -STOP); no error
# in the whole container's journal over install / configure / reload / stop;
# an upgrade that keeps the running daemon and an edited conffile; purge
# leaving nothing, and a reinstall after purge announcing nothing. A second
# container without FRR: the unit starts and runs an address-method service.
# A last, separately named check covers a process probe on a template
# instance (socat@.service), which needs the routewatch workstream.
#
# The pristine root is built once per machine and package list
# (tests/integration/sdroot.sh, /var/cache/anycast-healthd-tests): a few
# minutes on a clean machine, then each container boots an overlay of it.
# Needs root, debootstrap, systemd-nspawn (systemd-container) and the
# Debian mirror for the first build (tests/deps.sh installs the tools).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/integration/sdroot.sh
. "$here/sdroot.sh"
ahd_init
top=$AHD_SRCDIR
t_start=$SECONDS

# --- containers ---------------------------------------------------------------
NSPAWN_PIDS=()
INIT_PIDS=()
OVERLAYS=()
PID1=
# nspawn shuts its container down on SIGTERM; if that takes too long, the
# container's init is killed (which ends its PID namespace) and then nspawn:
# killing nspawn alone would leave the container running.
sd_cleanup() {
	local p m i
	for p in "${NSPAWN_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || continue
		for ((i = 0; i < 80; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
	done
	for i in "${!NSPAWN_PIDS[@]}"; do
		p=${NSPAWN_PIDS[i]}
		kill -0 "$p" 2>/dev/null || continue
		# Still nspawn's child: the pid cannot have been reused.
		[[ $(ps -o ppid= -p "${INIT_PIDS[i]:-0}" 2>/dev/null) -eq $p ]] &&
		    kill -KILL "${INIT_PIDS[i]}" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${NSPAWN_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	NSPAWN_PIDS=()
	INIT_PIDS=()
	for m in "${OVERLAYS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	OVERLAYS=()
}
trap 'rc=$?; sd_cleanup; (exit $rc); ahd_on_exit' EXIT

# Runs a command in the booted container: all its namespaces, a clean
# environment.
C() {
	nsenter -t "$PID1" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	    SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}
# Runs a command in a root that is not booted (it has the host's network).
offline() { # ROOT CMD...
	local root=$1
	shift
	systemd-nspawn -q -D "$root" --register=no --keep-unit \
	    env DEBIAN_FRONTEND=noninteractive "$@"
}

# boot NAME ROOT: boots ROOT and sets PID1 (the container's init, seen from
# here); waits until systemd says the system is up.
boot() {
	local name=$1 root=$2 np i state
	systemd-nspawn -q -b -D "$root" -M "$name" --private-network --register=no \
	    --keep-unit --console=read-only >"$AHD_TMP/$name.console" 2>&1 &
	np=$!
	NSPAWN_PIDS+=("$np")
	PID1=
	# nspawn's first child may be a short-lived intermediate process, and
	# until the container's init has exec'd systemd its namespaces may not
	# be the final ones: ask again each time until a child is systemd.
	for ((i = 0; i < 200; i++)); do
		PID1=$(pgrep -P "$np" | sed -n 1p)
		[[ -n $PID1 && $(cat "/proc/$PID1/comm" 2>/dev/null) == systemd ]] && break
		sleep 0.1
	done
	INIT_PIDS+=("${PID1:-0}")	# same index as its nspawn
	if [[ -z $PID1 || $(cat "/proc/$PID1/comm" 2>/dev/null) != systemd ]]; then
		ahd_log "container $name did not start:"
		sed 's/^/# /' "$AHD_TMP/$name.console" >&2
		return 1
	fi
	# is-system-running --wait fails at once while the bus is not up yet.
	for ((i = 0; i < 300; i++)); do
		state=$(timeout 90 nsenter -t "$PID1" -a systemctl is-system-running --wait 2>/dev/null)
		[[ -n $state ]] && break
		sleep 0.2
	done
	ahd_log "container $name booted (PID 1 is $PID1 here, state $state)"
	[[ $state == running ]] || C systemctl --failed --no-legend | sed 's/^/# failed: /' >&2
	[[ $state == running || $state == degraded ]]
}

# halt: shuts the last booted container down and unmounts its overlay.
halt() {
	sd_cleanup
	PID1=
}

# overlay NAME: sets root to a writable copy of the pristine root for one
# container (not in a subshell: the cleanup must know the mount).
overlay() {
	root=$(sdroot_overlay "$ROOT_CACHE" "$AHD_TMP/ov-$1") || return 1
	OVERLAYS+=("$root")
}

# --- helpers --------------------------------------------------------------------
check() { # MSG CMD...: PASS if CMD succeeds
	local msg=$1
	shift
	if "$@"; then ahd_pass "$msg"; else ahd_fail "$msg"; fi
}
# wait_for SECONDS CMD...: polls CMD every 50 ms.
wait_for() {
	local end=$(($(ahd_now_ms) + $1 * 1000))
	shift
	until "$@"; do
		(($(ahd_now_ms) > end)) && return 1
		sleep 0.05
	done
}
on_lo() { [[ $(C ip -o addr show dev lo) == *" $1 "* ]]; }
not_on_lo() { ! on_lo "$1"; }
# A valid path: with import-check the static path stays, invalid, when the
# address goes.
in_bgp() { [[ $(C vtysh -c "show bgp ipv4 unicast $1 json" 2>/dev/null | tr -d ' \n') == *'"valid":true'* ]]; }
not_in_bgp() { ! in_bgp "$1"; }
network_stmt() { grep -q "^  network $1\$" <<<"$(C vtysh -c 'show running-config' 2>/dev/null)"; }
no_network_stmt() { ! network_stmt "$1"; }
prop() { C systemctl show -P "$1" anycast-healthd; }
cursor() { C journalctl --show-cursor -n 0 2>/dev/null | sed -n 's/^-- cursor: //p'; }
# journal_err CURSOR [ARGS...]: priority err and worse since CURSOR.
journal_err() {
	local c=$1
	shift
	C journalctl --sync 2>/dev/null
	C journalctl --no-pager -q -p err --after-cursor="$c" "$@"
}
# first LINES: the first line of a multi-line text and how many there are.
first() { [[ -z $1 ]] || printf '%s (%d lines)' "${1%%$'\n'*}" "$(wc -l <<<"$1")"; }
journal_since() {
	local c=$1
	shift
	C journalctl --sync 2>/dev/null
	C journalctl --no-pager -q -o cat --after-cursor="$c" "$@"
}
ready() {
	[[ $(prop ActiveState) == active && $(prop SubState) == running && -n $(prop StatusText) ]]
}
not() { ! "$@"; }
has_text() { grep -qi -- "$2" <<<"$1"; }	# TEXT PATTERN
file_has() { grep -q -- "$2" "$1"; }	# FILE PATTERN
below() { [[ $1 =~ ^[0-9]+$ ]] && (($1 < $2)); }
bgpd_up() { grep -q '^router bgp 65001' <<<"$(C vtysh -c 'show running-config' 2>/dev/null)"; }
in_frrvty() { [[ " $(C id -nG anycast-healthd) " == *" frrvty "* ]]; }
no_frrvty() { ! C getent group frrvty >/dev/null; }
confined() { # PID: runs as anycast-healthd with CAP_NET_ADMIN (bit 12) alone
	[[ $(C ps -o user= -p "$1") == anycast-healthd &&
	    $(C grep CapEff "/proc/$1/status") == *0000000000001000 ]]
}
none_on_lo() { ! [[ $(C ip -o addr show dev lo) =~ \ 192\.0\.2\.(70|80)/32\  ]]; }
none_valid_in_bgp() { ! grep -qE '^ *\*>? *192\.0\.2\.(70|80|90)/32' <<<"$(C vtysh -c 'show bgp ipv4 unicast')"; }
keeps_running() { [[ $(C systemctl is-active anycast-healthd) == active ]] && on_lo 192.0.2.80/32; }
announces_nothing() {
	[[ $(prop StatusText) == "0 service(s)"* ]] &&
	    ! [[ $(C ip -o addr show dev lo) =~ \ 192\.0\.2\. ]] && no_network_stmt 192.0.2.90/32
}

if [[ $EUID -ne 0 ]]; then
	ahd_fail "must run as root (debootstrap, systemd-nspawn)"
	exit 1
fi
for t in debootstrap systemd-nspawn nsenter dpkg-buildpackage; do
	command -v "$t" >/dev/null || { ahd_fail "$t missing (bash tests/deps.sh installs it)"; exit 1; }
done

# --- the packages -----------------------------------------------------------------
# The root (a minute or more on a clean machine, mostly downloads) is made
# while the packages build.
t0=$SECONDS
(sdroot_cache >"$AHD_TMP/root-path") 2>"$AHD_TMP/root.log" &
root_job=$!
if ! bash "$top/packaging/build-deb.sh" "$AHD_TMP/out" >"$AHD_TMP/build.log" 2>&1; then
	sed 's/^/# /' "$AHD_TMP/build.log"
	ahd_fail "build-deb.sh failed"
	wait
	exit 1
fi
deb=$(ls "$AHD_TMP"/out/anycast-healthd_*.deb)
v1=$(dpkg-deb -f "$deb" Version)
# The second version: the same tree with a changelog entry on top, as a
# maintainer's next upload would be.
v2=$v1+upgrade1
mkdir "$AHD_TMP/tree"
tar -C "$top" --exclude='./_build*' --exclude=./_packages --exclude=./.git -cf - . |
    tar -C "$AHD_TMP/tree" -xf -
{
	printf 'anycast-healthd (%s) unstable; urgency=medium\n\n' "$v2"
	printf '  * Rebuild to test upgrades (test_systemd.sh).\n\n'
	printf ' -- anycast-healthd developers <dev@anycast-healthd.invalid>  %s\n\n' "$(date -R)"
	cat "$top/packaging/debian/changelog"
} >"$AHD_TMP/tree/packaging/debian/changelog"
if ! bash "$AHD_TMP/tree/packaging/build-deb.sh" "$AHD_TMP/out2" >"$AHD_TMP/build2.log" 2>&1; then
	sed 's/^/# /' "$AHD_TMP/build2.log"
	ahd_fail "build-deb.sh of $v2 failed"
	wait
	exit 1
fi
deb2=$(ls "$AHD_TMP"/out2/anycast-healthd_*.deb)
ahd_log "built $v1 and $v2 in $((SECONDS - t0)) s"

wait "$root_job"
rc=$?
sed 's/^/# /' "$AHD_TMP/root.log" >&2
ROOT_CACHE=$(cat "$AHD_TMP/root-path")
((rc == 0)) && [[ -d $ROOT_CACHE ]] || { ahd_fail "no Debian 12 root (see the messages above)"; exit 1; }
ahd_log "pristine root $ROOT_CACHE ready after $((SECONDS - t0)) s"

# deps DEB: the package names of its Depends.
deps() { dpkg-deb -f "$1" Depends | sed 's/([^)]*)//g; s/|[^,]*//g; s/,/ /g'; }

# =============================================================================
# 1. A Debian 12 machine with FRR.
# =============================================================================
overlay frr || { ahd_fail "overlay of the root"; exit 1; }
cp "$deb" "$deb2" "$root/root/"
# What is not the package's business, set up before the boot: the .deb's
# dependencies (the booted container has no network), FRR with bgpd and
# "network" statements for the address-method prefixes (frr-config's
# template, in short), and the services that the probes watch.
# shellcheck disable=SC2046
offline "$root" apt-get install -y -qq --no-install-recommends $(deps "$deb") >"$AHD_TMP/deps.log" 2>&1 ||
    { sed 's/^/# /' "$AHD_TMP/deps.log"; ahd_fail "apt-get install of the .deb's dependencies"; exit 1; }
sed -i 's/^bgpd=no/bgpd=yes/' "$root/etc/frr/daemons"
cat >>"$root/etc/frr/frr.conf" <<'EOF'
router bgp 65001
 bgp router-id 192.0.2.254
 no bgp ebgp-requires-policy
 address-family ipv4 unicast
  network 192.0.2.70/32
  network 192.0.2.80/32
  network 192.0.2.85/32
 exit-address-family
exit
EOF
for u in web:8080 net:8081 proc:8082; do
	cat >"$root/etc/systemd/system/socat-${u%:*}.service" <<EOF
[Unit]
Description=a TCP service for test_systemd.sh (${u%:*})
[Service]
ExecStart=/usr/bin/socat TCP-LISTEN:${u#*:},bind=127.0.0.1,reuseaddr,fork 'SYSTEM:echo ok'
[Install]
WantedBy=multi-user.target
EOF
	ln -s "/etc/systemd/system/socat-${u%:*}.service" "$root/etc/systemd/system/multi-user.target.wants/"
done
cat >"$root/etc/systemd/system/socat@.service" <<'EOF'
[Unit]
Description=a TCP service on port %i for test_systemd.sh
[Service]
ExecStart=/usr/bin/socat TCP-LISTEN:%i,bind=127.0.0.1,reuseaddr,fork 'SYSTEM:echo ok'
EOF

boot "ahd-$$-frr" "$root" || { ahd_fail "the container with FRR did not boot"; exit 1; }
wait_for 30 bgpd_up ||
    ahd_log "bgpd does not answer yet"

# --- install ------------------------------------------------------------------------
c_cycle=$(cursor)
if C apt-get install -y -q --no-install-recommends "/root/${deb##*/}" </dev/null >"$AHD_TMP/install.log" 2>&1; then
	ahd_pass "apt-get install ./${deb##*/} in the booted container"
else
	sed 's/^/# /' "$AHD_TMP/install.log"
	ahd_fail "apt-get install of the .deb"
fi
check "the unit is enabled" test "$(C systemctl is-enabled anycast-healthd)" = enabled
wait_for 10 ready
check "the unit is active and READY ($(prop ActiveState)/$(prop SubState), status \"$(prop StatusText)\")" ready
check "the user is in frrvty (the package added it; no SupplementaryGroups= needed)" in_frrvty
check "the daemon runs as anycast-healthd with CAP_NET_ADMIN only" confined "$(prop MainPID)"

# --- configure as the operator does -----------------------------------------------
C sed -i 's|"interface": "lo",|"interface": "lo",\n  "metrics_file": "/var/lib/anycast-healthd/anycast-healthd.prom",|' \
    /etc/anycast-healthd/anycast-healthd.json
C ln -s /var/lib/anycast-healthd/anycast-healthd.prom /var/lib/prometheus/node-exporter/anycast-healthd.prom
svc() { # NAME JSON
	printf '%s\n' "$2" | C tee "/etc/anycast-healthd/services.d/$1.json" >/dev/null
}
fast='"interval": "200ms", "timeout": "150ms", "rise": 2, "fall": 1'
svc web '{ "prefixes": ["192.0.2.80/32"], "method": "address", '"$fast"',
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": 8080 } ] }'
svc net '{ "prefixes": ["192.0.2.90/32"], "method": "network", '"$fast"',
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": 8081 } ] }'
svc proc '{ "prefixes": ["192.0.2.70/32"], "method": "address", '"$fast"',
  "probes": [ { "type": "process", "unit": "socat-proc.service" } ] }'
if out=$(C systemctl reload anycast-healthd 2>&1); then
	ahd_pass "systemctl reload with three new services"
else
	ahd_fail "systemctl reload with three new services: $out"
fi
check "web (tcp, address method) comes up: 192.0.2.80/32 on lo" wait_for 10 on_lo 192.0.2.80/32
check "... and bgpd has the route (network + import-check)" wait_for 10 in_bgp 192.0.2.80/32
check "net (network method) comes up: bgpd has the network statement" wait_for 10 network_stmt 192.0.2.90/32
check "proc (process probe on socat-proc.service) comes up" wait_for 10 on_lo 192.0.2.70/32

# --- a tcp service down and up with its unit ----------------------------------------
C systemctl stop socat-web
check "systemctl stop socat-web: the address leaves lo" wait_for 5 not_on_lo 192.0.2.80/32
check "... and bgpd withdraws the route" wait_for 5 not_in_bgp 192.0.2.80/32
C systemctl start socat-web
check "systemctl start socat-web: the address is back" wait_for 10 on_lo 192.0.2.80/32
check "... and so is the route" wait_for 10 in_bgp 192.0.2.80/32

# --- metrics through Debian's prometheus-node-exporter -----------------------------
metrics_ok() {
	local m
	m=$(C curl -sf http://127.0.0.1:9100/metrics) || return 1
	[[ $m == *$'\nnode_textfile_scrape_error 0'* && $m == *'anycast_healthd_service_state{service="web",state="up"} 1'* ]]
}
check "node_exporter serves metrics_file (scrape error 0, web up)" wait_for 15 metrics_ok
check "metrics_file is 0644 (UMask=) in StateDirectory=" \
    test "$(C stat -c '%a %U' /var/lib/anycast-healthd/anycast-healthd.prom 2>&1)" = "644 anycast-healthd"

# --- valid reload, then stop and start: no error anywhere ---------------------------
svc web '{ "prefixes": ["192.0.2.80/32"], "method": "address", '"$fast"',
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": 8080, "name": "web-tcp" } ] }'
if out=$(C systemctl reload anycast-healthd 2>&1); then
	ahd_pass "systemctl reload with a changed service"
else
	ahd_fail "systemctl reload with a changed service: $out"
fi
check "web is up again after the change" wait_for 10 on_lo 192.0.2.80/32
c_stop=$(cursor)
C systemctl stop anycast-healthd
check "systemctl stop: address-method prefixes leave lo" none_on_lo
check "systemctl stop: the network statement is gone from bgpd" no_network_stmt 192.0.2.90/32
check "systemctl stop: bgpd has a valid path for none of them" none_valid_in_bgp
err=$(journal_err "$c_stop")
check "systemctl stop: no error in the journal${err:+: $(first "$err")}" test -z "$err"
out=$(journal_since "$c_stop" -u anycast-healthd | grep -E 'exit 143|failed|Failed' | head -n 3)
check "systemctl stop: vtysh is not killed with the daemon (KillMode=mixed)${out:+: $out}" test -z "$out"
check "systemctl stop: the unit is inactive, not failed" test "$(prop ActiveState)" = inactive
C systemctl start anycast-healthd
check "systemctl start: active again" wait_for 10 ready
check "... and the services are back" wait_for 10 on_lo 192.0.2.80/32
wait_for 10 network_stmt 192.0.2.90/32
err=$(journal_err "$c_cycle")
check "no error in the container's journal over install / configure / reload / stop / start${err:+: $(first "$err")}" test -z "$err"
check "no unix_chkpwd complaint from vtysh under NoNewPrivileges=" \
    not has_text "$(journal_since "$c_cycle")" unix_chkpwd

# --- a process probe on a unit: withdrawn within milliseconds ------------------------
check "proc is up before the kill" wait_for 10 on_lo 192.0.2.70/32
# Timed inside the container: from the return of systemctl kill to the
# address gone from lo (polling with ip, ~2 ms a round).
ms=$(C sh -c 'systemctl kill -s KILL socat-proc.service; s=$(date +%s%N)
	while ip -o addr show dev lo | grep -q " 192.0.2.70/32 "; do
		[ $(( $(date +%s%N) - s )) -gt 5000000000 ] && { echo timeout; exit 1; }
	done
	echo $(( ($(date +%s%N) - s) / 1000000 ))')
check "systemctl kill -s KILL socat-proc: 192.0.2.70/32 withdrawn in $ms ms (< 100)" below "$ms" 100
C systemctl start socat-proc
check "socat-proc started again: the service rises" wait_for 10 on_lo 192.0.2.70/32

# --- reload with an invalid configuration ----------------------------------------------
svc bad '{ "prefixes": ["192.0.2.300/32"], "probes": [] }'
out=$(C systemctl reload anycast-healthd 2>&1)
rc=$?
check "systemctl reload with an invalid service fails (exit $rc)" test "$rc" != 0
check "... the daemon keeps running its configuration" \
    keeps_running
msg=$(C journalctl --no-pager -q -o cat -u anycast-healthd -n 30 | grep -m1 -i '192.0.2.300')
check "... and the journal says why (${msg:-nothing})" test -n "$msg"
C rm -f /etc/anycast-healthd/services.d/bad.json
C systemctl reload anycast-healthd >/dev/null 2>&1

# --- kill -9: ExecStopPost withdraws, Restart= brings it back --------------------------
pid=$(prop MainPID)
restarts=$(prop NRestarts)
c_kill=$(cursor)
# Watched inside the container: the address must be gone before Restart=
# (RestartSec=2s) starts the daemon again.
gone=$(C sh -c 'kill -9 "$1"; i=0
	while ip -o addr show dev lo | grep -q " 192.0.2.80/32 "; do
		i=$((i + 1)); [ $i -gt 1500 ] && { echo no; exit 0; }; sleep 0.001
	done; echo yes' _ "$pid")
check "kill -9 of the daemon: ExecStopPost withdraws 192.0.2.80/32 before the restart" test "$gone" = yes
check "... and the network statement" wait_for 3 no_network_stmt 192.0.2.90/32
back() { [[ $(prop NRestarts) -gt $restarts && $(prop MainPID) != "$pid" ]] && ready; }
check "Restart= starts it again (after RestartSec=2s)" wait_for 15 back
check "... and the services rise again" wait_for 10 on_lo 192.0.2.80/32
check "... network method too" wait_for 10 network_stmt 192.0.2.90/32
out=$(journal_since "$c_kill" | grep -m1 'withdraw-all\|withdrew\|withdrawn')
check "the journal shows ExecStopPost's withdrawal (${out:-nothing})" test -n "$out"

# --- the watchdog: a hung loop is killed and restarted ----------------------------------
pid=$(prop MainPID)
restarts=$(prop NRestarts)
c_wd=$(cursor)
C kill -STOP "$pid"
t0=$SECONDS
check "kill -STOP: the watchdog kills it and Restart= starts it again" wait_for 25 back
ahd_log "watchdog restart after $((SECONDS - t0)) s (WatchdogSec=10s)"
check "... the journal says watchdog timeout" has_text "$(journal_since "$c_wd")" "watchdog timeout"
check "... and the services rise again" wait_for 10 on_lo 192.0.2.80/32
c_quiet=$(cursor)
sleep 3
err=$(journal_err "$c_quiet" -u anycast-healthd)
check "journalctl -u anycast-healthd -p err is empty in normal operation${err:+: $(first "$err")}" test -z "$err"

# --- upgrade: the running daemon and an edited conffile stay ---------------------------
pid=$(prop MainPID)
if C apt-get install -y -q --no-install-recommends "/root/${deb2##*/}" </dev/null >"$AHD_TMP/upgrade.log" 2>&1; then
	ahd_pass "upgrade to $v2 with apt-get, no prompt"
else
	sed 's/^/# /' "$AHD_TMP/upgrade.log"
	ahd_fail "upgrade to $v2"
fi
check "$v2 is installed" test "$(C dpkg-query -W -f '${Version}' anycast-healthd)" = "$v2"
check "the upgrade did not restart the daemon (MainPID $pid)" test "$(prop MainPID)" = "$pid"
check "... it still announces" on_lo 192.0.2.80/32
check "the edited conffile (metrics_file) is kept" C grep -q metrics_file /etc/anycast-healthd/anycast-healthd.json

# --- purge, then reinstall: nothing is announced -------------------------------------------
if C apt-get purge -y -q anycast-healthd </dev/null >"$AHD_TMP/purge.log" 2>&1; then
	ahd_pass "apt-get purge"
else
	sed 's/^/# /' "$AHD_TMP/purge.log"
	ahd_fail "apt-get purge"
fi
check "purge: dpkg left no directory behind (no \"not empty\")" not file_has "$AHD_TMP/purge.log" "not empty"
withdrawn_all() { none_on_lo && no_network_stmt 192.0.2.90/32; }
check "purge withdrew everything (lo, network statement)" withdrawn_all
left=
for p in /etc/anycast-healthd /var/lib/anycast-healthd /run/anycast-healthd /usr/sbin/anycast-healthd \
    /lib/systemd/system/anycast-healthd.service /usr/share/anycast-healthd \
    /etc/systemd/system/multi-user.target.wants/anycast-healthd.service; do
	C test -e "$p" && left+=" $p"
done
# Every user and group of the package (the daemon's, and any other its
# sysusers file adds), and memberships.
left+=$(C getent passwd | sed -n 's/^\(anycast-healthd[^:]*\):.*/ user:\1/p' | tr -d '\n')
left+=$(C getent group | sed -n 's/^\(anycast-healthd[^:]*\):.*/ group:\1/p' | tr -d '\n')
grep -q '[:,]anycast-healthd' <<<"$(C getent group)" && left+=" group-member"
[[ $(C systemctl list-units --all --no-legend 'anycast-healthd*') == *anycast-healthd* ]] && left+=" unit-loaded"
check "purge leaves nothing${left:+ (left:$left)}" test -z "$left"
C rm -f /var/lib/prometheus/node-exporter/anycast-healthd.prom
C apt-get install -y -q --no-install-recommends "/root/${deb##*/}" </dev/null >"$AHD_TMP/reinstall.log" 2>&1
check "reinstall after purge: active" wait_for 10 ready
sleep 2
check "reinstall after purge: no service, nothing announced" announces_nothing

# --- a process probe on a template instance (needs the routewatch workstream) -------------
C systemctl start socat@8090.service
svc tpl '{ "prefixes": ["192.0.2.85/32"], "method": "address", '"$fast"',
  "probes": [ { "type": "process", "unit": "socat@8090.service" } ] }'
C systemctl reload anycast-healthd >/dev/null 2>&1
if wait_for 10 on_lo 192.0.2.85/32; then
	C systemctl kill -s KILL socat@8090.service
	check "[template unit, routewatch] process probe on socat@8090.service: up, then withdrawn on kill" \
	    wait_for 2 not_on_lo 192.0.2.85/32
else
	ahd_fail "[template unit, routewatch] process probe on socat@8090.service: never up ($(C anycast-healthctl status 2>&1 | grep -A2 '^tpl' | tr -s ' \n' ' '))"
fi
halt

# =============================================================================
# 2. A machine without FRR: the unit starts and runs address-method services.
# =============================================================================
overlay nofrr || { ahd_fail "overlay of the root"; exit 1; }
cp "$deb" "$root/root/"
# As if FRR had never been installed: FRR's purge leaves its user and groups.
offline "$root" sh -c 'apt-get purge -y -qq frr && userdel frr && groupdel frrvty &&
    { ! getent group frr >/dev/null || groupdel frr; }' >"$AHD_TMP/nofrr.log" 2>&1 ||
    { sed 's/^/# /' "$AHD_TMP/nofrr.log"; ahd_fail "removing FRR from the second container"; }
cat >"$root/etc/systemd/system/socat-web.service" <<'EOF'
[Service]
ExecStart=/usr/bin/socat TCP-LISTEN:8080,bind=127.0.0.1,reuseaddr,fork 'SYSTEM:echo ok'
[Install]
WantedBy=multi-user.target
EOF
ln -s /etc/systemd/system/socat-web.service "$root/etc/systemd/system/multi-user.target.wants/"
boot "ahd-$$-nofrr" "$root" || { ahd_fail "the container without FRR did not boot"; exit 1; }
check "no FRR here: no frrvty group" no_frrvty
c_nofrr=$(cursor)
C apt-get install -y -q --no-install-recommends "/root/${deb##*/}" </dev/null >"$AHD_TMP/install-nofrr.log" 2>&1 ||
    sed 's/^/# /' "$AHD_TMP/install-nofrr.log"
check "without FRR the unit starts (no 216/GROUP) and is READY" wait_for 10 ready
svc web '{ "prefixes": ["192.0.2.80/32"], "method": "address", '"$fast"',
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": 8080 } ] }'
C systemctl reload anycast-healthd >/dev/null 2>&1
check "without FRR an address-method service comes up" wait_for 10 on_lo 192.0.2.80/32
check "... and has not been restarted (NRestarts $(prop NRestarts))" test "$(prop NRestarts)" = 0
C systemctl stop anycast-healthd
check "... and stop withdraws it" not_on_lo 192.0.2.80/32
err=$(journal_err "$c_nofrr")
check "no error in the journal without FRR${err:+: $(first "$err")}" test -z "$err"

# --- FRR installed later: dpkg-reconfigure, as the README says ------------------------
C systemctl start anycast-healthd
if C env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends frr \
    </dev/null >"$AHD_TMP/frr-later.log" 2>&1; then
	ahd_pass "FRR installed later (from the root's apt cache)"
else
	sed 's/^/# /' "$AHD_TMP/frr-later.log"
	ahd_fail "installing FRR later"
fi
check "... the user is not in frrvty yet" not in_frrvty
C env DEBIAN_FRONTEND=noninteractive dpkg-reconfigure anycast-healthd </dev/null >"$AHD_TMP/reconfigure.log" 2>&1
check "dpkg-reconfigure anycast-healthd puts it in frrvty" in_frrvty
C sed -i 's/^bgpd=no/bgpd=yes/' /etc/frr/daemons
C sh -c 'printf "router bgp 65001\n bgp router-id 192.0.2.254\nexit\n" >>/etc/frr/frr.conf && systemctl restart frr'
wait_for 30 bgpd_up ||
    ahd_log "bgpd does not answer yet"
C systemctl restart anycast-healthd
svc net '{ "prefixes": ["192.0.2.90/32"], "method": "network", '"$fast"',
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": 8080 } ] }'
C systemctl reload anycast-healthd >/dev/null 2>&1
check "... and after a restart the network method reaches bgpd" wait_for 10 network_stmt 192.0.2.90/32
halt

ahd_log "test_systemd.sh took $((SECONDS - t_start)) s"
ahd_summary
