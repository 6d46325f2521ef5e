# shellcheck shell=bash
# tests/integration/lib.sh: network-namespace harness for anycast-healthd.
#
# Source it from a test (bash 5, root). It builds two namespaces joined by a
# veth pair, runs FRR (zebra + bgpd) in the "node" namespace and GoBGP in the
# "peer" namespace, and watches what the peer receives. Nothing leaves the
# namespaces; everything started here is stopped by ahd_cleanup, which
# ahd_init installs as the EXIT/INT/TERM trap.
#
# Addresses (documentation ranges, inside the namespaces only):
#   link   198.51.100.1/30 (node)  198.51.100.2/30 (peer)
#          2001:db8:ff::1/64       2001:db8:ff::2/64       (nodad)
#   service prefixes used by the tests: 192.0.2.53/32, 2001:db8::53/128
#   node AS 65001 (FRR), peer AS 65002 (GoBGP), one IPv4 session carrying
#   both ipv4-unicast and ipv6-unicast.
#
# Time: ahd_now_ms is bash 5's $EPOCHREALTIME in integer milliseconds. It is
# wall-clock time, not monotonic, but no fork is needed to read it and it has
# microsecond resolution; only differences within one run are used, so it is
# good enough unless the clock is stepped during a test (/proc/uptime is
# monotonic but has 10 ms resolution; python is not assumed).
#
# Variables set by ahd_init (read them, do not change them):
#   AHD_NODE AHD_PEER     namespace names (ahd-<pid>-node / ahd-<pid>-peer)
#   AHD_TMP               this run's scratch directory (configs, logs, pids)
#   AHD_NODE_IF AHD_PEER_IF  veth names inside the namespaces
#   AHD_SRCDIR            the repository's top directory
# Optional inputs: AHD_KEEP_TMP=1 keeps AHD_TMP after the run (for logs);
#   AHD_TEMPLATE (set after sourcing) renders another bgpd template.
#   AHD_GOBGP_EXTRA (set after sourcing): TOML appended to gobgpd.toml, e.g.
#   a second [[neighbors]] table for another BGP speaker in the node ns.
# FRR runs with pathspace $AHD_NODE: sockets in /var/run/frr/$AHD_NODE, an
# empty /etc/frr/$AHD_NODE/vtysh.conf (so vtysh -N does not complain), logs
# in $AHD_TMP/frr/. A daemon under test uses frr.pathspace = $AHD_NODE.
#
# Functions:
#   ahd_init                    names, scratch dir, cleanup trap; call first
#   ahd_require_root_tools      fail early unless root and the tools exist
#   ahd_setup_netns             node+peer namespaces, veth, addresses, lo up
#   ahd_render_template TPL [PREFIX...]   print TPL with {{ASN}} ... filled in
#                               for this harness (lines with {{PREFIX_V4}} /
#                               {{PREFIX_V6}} repeated per prefix given;
#                               default: 192.0.2.53/32 2001:db8::53/128)
#   ahd_start_frr [PREFIX...]   zebra + bgpd in the node ns (vtysh -N $AHD_NODE)
#   ahd_start_gobgp             gobgpd in the peer ns
#   ahd_wait_established [SECS] wait for the BGP session (default 30 s)
#   ahd_start_monitor           stream `gobgp monitor global rib -j` (both
#                               families) into $AHD_TMP/monitor.log, each
#                               line "<ms> <json>" stamped on arrival
#   ahd_start_all [PREFIX...]   all of the above, in order, then 1.2 s more
#                               so that bgpd announces at full speed
#   ahd_vtysh ARGS...           vtysh -N $AHD_NODE ARGS
#   ahd_node CMD... / ahd_peer CMD...   run a command in a namespace
#   ahd_gobgp ARGS...           gobgp CLI against the peer's gobgpd
#   ahd_now_ms                  print the current time in ms
#   ahd_prefix_present PFX      status 0 if the peer's RIB holds PFX now
#   ahd_wait_prefix_present PFX [SECS]  poll (~50 ms) until PFX is in the
#                               peer's RIB; status 1 on timeout (default 10 s)
#   ahd_wait_prefix_absent PFX [SECS]   same, until it is gone
#   ahd_announce_time_after T0 PFX [SECS]  wait for the first announcement of
#                               PFX in the monitor log stamped at or after T0
#                               (ms) and print its latency in ms; status 1 if
#                               none arrives within SECS (default 10)
#   ahd_withdraw_time_after T0 PFX [SECS]  same for the first withdrawal
#   ahd_start_bg NAME CMD...    run CMD in the node ns in the background;
#                               pid in $AHD_TMP/NAME.pid, output in NAME.log
#   ahd_stop_bg NAME            kill it (TERM, then KILL after 2 s)
#   ahd_start_tcp_service NAME PORT   socat on 127.0.0.1:PORT in the node ns
#                               answering "ok"; waits until it listens
#   ahd_stop_tcp_service NAME   stop it (same as ahd_stop_bg)
#   ahd_nginx_setup PORT        an nginx configuration in $AHD_NGINX
#                               ($AHD_TMP/nginx): on 127.0.0.1:PORT, Host
#                               www.example.com, /healthz answers 200 "ok",
#                               or 503 while $AHD_NGINX/maintenance exists;
#                               any other host: 404
#   ahd_start_nginx / ahd_stop_nginx   run it in the node ns (waits until
#                               it listens)
#   ahd_nsd_setup PORT          an nsd configuration in $AHD_NSD
#                               ($AHD_TMP/nsd) serving zone example.test on
#                               127.0.0.1:PORT (www A 192.0.2.10)
#   ahd_nsd_zone SERIAL ADDR    rewrite the zone with www A ADDR (reload
#                               with SIGHUP to $AHD_TMP/nsd.pid)
#   ahd_start_nsd / ahd_stop_nsd   run it in the node ns (waits until it
#                               says it started)
#   ahd_on_lo ADDR/LEN          status 0 if the node's lo holds that address
#   ahd_start_daemon CONF       anycast-healthd -c CONF in the node ns (pid
#                               in $AHD_TMP/daemon.pid, log in daemon.log)
#   ahd_daemon_pid              print its pid
#   ahd_stop_daemon             SIGTERM and wait; its exit status in $rc
#   ahd_pass MSG / ahd_fail MSG print "PASS: MSG" / "FAIL: MSG" and count
#   ahd_summary                 print "N passed, N failed"; status 1 if any
#                               failed (use: ahd_summary; exit $?)
#   ahd_stats N...              print "min=.. median=.. max=.." of integers
#   ahd_log MSG                 a "# MSG" note on stderr
#   ahd_cleanup                 stop everything, delete namespaces and dirs
#                               (the EXIT trap does this; a test that exits
#                               non-zero before ahd_summary gets a FAIL line
#                               and a summary from the trap)

AHD_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AHD_TEMPLATE=$AHD_SRCDIR/frr-templates/bgpd-address-method.conf
AHD_NODE_ASN=65001
AHD_PEER_ASN=65002
AHD_NODE_V4=198.51.100.1
AHD_PEER_V4=198.51.100.2
AHD_NODE_V6=2001:db8:ff::1
AHD_PEER_V6=2001:db8:ff::2
AHD_DEFAULT_PREFIXES=(192.0.2.53/32 2001:db8::53/128)
AHD_PASSED=0
AHD_FAILED=0
AHD_CLEANED=0
AHD_SUMMARY_DONE=0

ahd_log() {
	printf '# %s\n' "$*" >&2
}

ahd_now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	printf '%s\n' $((10#$t / 1000))
}

ahd_init() {
	AHD_NODE="ahd-$$-node"
	AHD_PEER="ahd-$$-peer"
	AHD_NODE_IF="ahd$$n"
	AHD_PEER_IF="ahd$$p"
	AHD_TMP=$(mktemp -d "/tmp/ahd-$$.XXXXXX")
	# FRR drops to user frr and must reach its config below AHD_TMP.
	chmod 755 "$AHD_TMP"
	trap ahd_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

ahd_require_root_tools() {
	local t missing=()
	if [[ $EUID -ne 0 ]]; then
		ahd_log "must run as root (network namespaces)"
		return 1
	fi
	for t in ip socat gobgp gobgpd vtysh /usr/lib/frr/zebra /usr/lib/frr/bgpd; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	if ((${#missing[@]})); then
		ahd_log "missing tools: ${missing[*]}"
		return 1
	fi
	if ! id frr >/dev/null 2>&1; then
		ahd_log "user frr does not exist (install frr)"
		return 1
	fi
}

ahd_node() {
	ip netns exec "$AHD_NODE" "$@"
}

ahd_peer() {
	ip netns exec "$AHD_PEER" "$@"
}

ahd_vtysh() {
	vtysh -N "$AHD_NODE" "$@"
}

ahd_gobgp() {
	ip netns exec "$AHD_PEER" gobgp -u 127.0.0.1 "$@"
}

ahd_setup_netns() {
	ip netns add "$AHD_NODE"
	ip netns add "$AHD_PEER"
	ip -n "$AHD_NODE" link add "$AHD_NODE_IF" type veth peer name "$AHD_PEER_IF" netns "$AHD_PEER"
	# Keep IPv6 addresses on link down, as a production node should.
	ahd_node sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1
	ip -n "$AHD_NODE" link set lo up
	ip -n "$AHD_PEER" link set lo up
	ip -n "$AHD_NODE" addr add "$AHD_NODE_V4/30" dev "$AHD_NODE_IF"
	ip -n "$AHD_PEER" addr add "$AHD_PEER_V4/30" dev "$AHD_PEER_IF"
	ip -n "$AHD_NODE" addr add "$AHD_NODE_V6/64" dev "$AHD_NODE_IF" nodad
	ip -n "$AHD_PEER" addr add "$AHD_PEER_V6/64" dev "$AHD_PEER_IF" nodad
	ip -n "$AHD_NODE" link set "$AHD_NODE_IF" up
	ip -n "$AHD_PEER" link set "$AHD_PEER_IF" up
}

ahd_render_template() {
	local tpl=$1 p line
	shift
	local -a v4=() v6=()
	(($#)) || set -- "${AHD_DEFAULT_PREFIXES[@]}"
	for p in "$@"; do
		if [[ $p == *:* ]]; then v6+=("$p"); else v4+=("$p"); fi
	done
	# Comment lines (but a bare "!") are the template's own documentation.
	sed -e '/^[[:space:]]*!./d' \
		-e "s|{{ASN}}|$AHD_NODE_ASN|g" \
		-e "s|{{ROUTER_ID}}|$AHD_NODE_V4|g" \
		-e "s|{{NEIGHBOR_ASN}}|$AHD_PEER_ASN|g" \
		-e "s|{{NEIGHBOR}}|$AHD_PEER_V4|g" "$tpl" |
		while IFS= read -r line; do
			if [[ $line == *'{{PREFIX_V4}}'* ]]; then
				for p in "${v4[@]}"; do printf '%s\n' "${line//'{{PREFIX_V4}}'/$p}"; done
			elif [[ $line == *'{{PREFIX_V6}}'* ]]; then
				for p in "${v6[@]}"; do printf '%s\n' "${line//'{{PREFIX_V6}}'/$p}"; done
			else
				printf '%s\n' "$line"
			fi
		done
}

# Wait until FILE exists, polling every 50 ms for at most SECS seconds.
ahd_wait_file() {
	local file=$1 secs=$2 i
	for ((i = 0; i < secs * 20; i++)); do
		[[ -e $file ]] && return 0
		sleep 0.05
	done
	return 1
}

ahd_start_frr() {
	local run=/var/run/frr/$AHD_NODE conf=$AHD_TMP/frr
	mkdir -p "$run" "$conf" "/etc/frr/$AHD_NODE"
	# vtysh -N reads /etc/frr/NS/vtysh.conf and complains if it is missing.
	: >"/etc/frr/$AHD_NODE/vtysh.conf"
	cat >"$conf/zebra.conf" <<-EOF
		hostname $AHD_NODE
		log file $conf/zebra.log informational
	EOF
	# The templates are written for an integrated frr.conf: their zebra
	# commands (zebra work-queue) go to zebra's file, the rest to bgpd's.
	ahd_render_template "$AHD_TEMPLATE" "$@" >"$conf/rendered.conf"
	grep '^zebra ' "$conf/rendered.conf" >>"$conf/zebra.conf" || true
	{
		printf 'frr defaults traditional\nhostname %s\nlog file %s/bgpd.log informational\n!\n' \
			"$AHD_NODE" "$conf"
		grep -v '^zebra ' "$conf/rendered.conf" || true
		# Test-only: retry the connection every second, not every 120 s.
		printf 'router bgp %s\n neighbor %s timers connect 1\nexit\n' \
			"$AHD_NODE_ASN" "$AHD_PEER_V4"
	} >"$conf/bgpd.conf"
	chown -R frr:frr "$run" "$conf"
	ahd_node /usr/lib/frr/zebra -N "$AHD_NODE" -d -A 127.0.0.1 \
		-f "$conf/zebra.conf" -i "$run/zebra.pid" 2>>"$conf/zebra.stderr"
	if ! ahd_wait_file "$run/zserv.api" 10; then
		ahd_log "zebra did not start (see $conf/zebra.log)"
		return 1
	fi
	ahd_node /usr/lib/frr/bgpd -N "$AHD_NODE" -d -A 127.0.0.1 \
		-f "$conf/bgpd.conf" -i "$run/bgpd.pid" 2>>"$conf/bgpd.stderr"
	if ! ahd_wait_file "$run/bgpd.vty" 10; then
		ahd_log "bgpd did not start (see $conf/bgpd.log)"
		return 1
	fi
}

ahd_start_gobgp() {
	local conf=$AHD_TMP/gobgpd.toml
	cat >"$conf" <<-EOF
		[global.config]
		  as = $AHD_PEER_ASN
		  router-id = "$AHD_PEER_V4"
		  local-address-list = ["$AHD_PEER_V4"]

		[[neighbors]]
		  [neighbors.config]
		    neighbor-address = "$AHD_NODE_V4"
		    peer-as = $AHD_NODE_ASN
		  [neighbors.timers.config]
		    connect-retry = 1
		  [[neighbors.afi-safis]]
		    [neighbors.afi-safis.config]
		      afi-safi-name = "ipv4-unicast"
		  [[neighbors.afi-safis]]
		    [neighbors.afi-safis.config]
		      afi-safi-name = "ipv6-unicast"
	EOF
	printf '%s\n' "${AHD_GOBGP_EXTRA:-}" >>"$conf"
	ip netns exec "$AHD_PEER" gobgpd -f "$conf" --api-hosts 127.0.0.1:50051 --pprof-disable \
		-p -l info >"$AHD_TMP/gobgpd.log" 2>&1 &
	echo $! >"$AHD_TMP/gobgpd.pid"
	local i
	for ((i = 0; i < 200; i++)); do
		ahd_gobgp global >/dev/null 2>&1 && return 0
		if ! kill -0 "$(cat "$AHD_TMP/gobgpd.pid")" 2>/dev/null; then
			break
		fi
		sleep 0.05
	done
	ahd_log "gobgpd did not start (see $AHD_TMP/gobgpd.log)"
	return 1
}

ahd_wait_established() {
	local secs=${1:-30} i out
	for ((i = 0; i < secs * 10; i++)); do
		out=$(ahd_gobgp neighbor "$AHD_NODE_V4" 2>/dev/null) || true
		[[ ${out,,} == *'bgp state = established'* ]] && return 0
		sleep 0.1
	done
	ahd_log "BGP session FRR($AHD_NODE_V4) - GoBGP($AHD_PEER_V4) not established after ${secs}s"
	ahd_gobgp neighbor >&2 || true
	ahd_vtysh -c 'show bgp summary' >&2 || true
	return 1
}

# Stamp every line of stdin with its arrival time in ms.
ahd_stamp_lines() {
	local line t
	while IFS= read -r line; do
		t=${EPOCHREALTIME//[.,]/}
		printf '%s %s\n' $((10#$t / 1000)) "$line"
	done
}

# One stream carries both families: gobgp 3.10 ignores -a for
# "monitor global rib" and sends every family anyway.
ahd_start_monitor() {
	: >"$AHD_TMP/monitor.log"
	ahd_gobgp monitor global rib -j 2>>"$AHD_TMP/monitor.err" |
		ahd_stamp_lines >>"$AHD_TMP/monitor.log" &
	echo $! >"$AHD_TMP/monitor.pid"
	# The stream has no "subscribed" marker; give it a moment to attach.
	sleep 0.3
}

ahd_start_all() {
	ahd_setup_netns
	ahd_start_gobgp
	ahd_start_frr "$@"
	ahd_wait_established 30
	ahd_start_monitor
	# bgpd holds a new peer's first updates for its update-group
	# coalesce-time (1 s): an address added earlier is announced late.
	sleep 1.2
}

ahd_af_of() {
	if [[ $1 == *:* ]]; then echo ipv6; else echo ipv4; fi
}

ahd_prefix_present() {
	local pfx=$1 out
	out=$(ahd_gobgp global rib -a "$(ahd_af_of "$pfx")" -j 2>/dev/null) || return 1
	[[ $out == *"\"$pfx\""* ]]
}

ahd_wait_prefix_present() {
	local pfx=$1 secs=${2:-10} end
	end=$(($(ahd_now_ms) + secs * 1000))
	while (($(ahd_now_ms) < end)); do
		ahd_prefix_present "$pfx" && return 0
		sleep 0.05
	done
	return 1
}

ahd_wait_prefix_absent() {
	local pfx=$1 secs=${2:-10} end
	end=$(($(ahd_now_ms) + secs * 1000))
	while (($(ahd_now_ms) < end)); do
		ahd_prefix_present "$pfx" || return 0
		sleep 0.05
	done
	return 1
}

# Print the stamp of the first monitor line at or after T0 (ms) about PFX
# that is a withdrawal (KIND=withdraw) or an announcement (KIND=announce).
# A line is a JSON array of paths; each path starts with {"nlri":.
ahd_monitor_find() {
	local kind=$1 t0=$2 pfx=$3 t json path
	local -a paths
	while read -r t json; do
		((t >= t0)) || continue
		[[ $json == *"\"prefix\":\"$pfx\""* ]] || continue
		IFS=$'\x01' read -ra paths <<<"${json//'{"nlri":'/$'\x01'}"
		for path in "${paths[@]}"; do
			[[ $path == '{"prefix":"'"$pfx"'"'* ]] || continue
			if [[ $path == *'"withdrawal":true'* ]]; then
				[[ $kind == withdraw ]] || continue
			else
				[[ $kind == announce ]] || continue
			fi
			echo "$t"
			return 0
		done
	done <"$AHD_TMP/monitor.log"
	return 1
}

ahd_event_time_after() {
	local kind=$1 t0=$2 pfx=$3 secs=${4:-10} end t
	end=$(($(ahd_now_ms) + secs * 1000))
	while :; do
		if t=$(ahd_monitor_find "$kind" "$t0" "$pfx"); then
			echo $((t - t0))
			return 0
		fi
		(($(ahd_now_ms) < end)) || return 1
		sleep 0.02
	done
}

ahd_announce_time_after() {
	ahd_event_time_after announce "$@"
}

ahd_withdraw_time_after() {
	ahd_event_time_after withdraw "$@"
}

ahd_start_bg() {
	local name=$1
	shift
	# Not through ahd_node: $! must be the command itself, not a subshell.
	ip netns exec "$AHD_NODE" "$@" >"$AHD_TMP/$name.log" 2>&1 &
	echo $! >"$AHD_TMP/$name.pid"
}

ahd_stop_bg() {
	local name=$1 pid i
	[[ -f $AHD_TMP/$name.pid ]] || return 0
	pid=$(cat "$AHD_TMP/$name.pid")
	rm -f "$AHD_TMP/$name.pid"
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

ahd_start_tcp_service() {
	local name=$1 port=$2 i
	ahd_start_bg "$name" socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" \
		"SYSTEM:echo ok"
	for ((i = 0; i < 100; i++)); do
		if [[ -n $(ahd_node ss -Hltn "sport = :$port") ]]; then
			return 0
		fi
		sleep 0.05
	done
	ahd_log "TCP service $name did not listen on 127.0.0.1:$port"
	return 1
}

ahd_stop_tcp_service() {
	ahd_stop_bg "$1"
}

AHD_NGINX_PORT=''
ahd_nginx_setup() {
	AHD_NGINX=$AHD_TMP/nginx AHD_NGINX_PORT=$1
	mkdir -p "$AHD_NGINX"
	cat >"$AHD_NGINX/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
pid $AHD_NGINX/nginx.pid; error_log $AHD_NGINX/error.log;
events { worker_connections 64; }
http {
  access_log off; default_type text/plain;
  client_body_temp_path $AHD_NGINX; proxy_temp_path $AHD_NGINX;
  fastcgi_temp_path $AHD_NGINX; uwsgi_temp_path $AHD_NGINX; scgi_temp_path $AHD_NGINX;
  server { listen 127.0.0.1:$1 default_server; location / { return 404; } }
  server { listen 127.0.0.1:$1; server_name www.example.com;
    location = /healthz {
      if (-f $AHD_NGINX/maintenance) { return 503 "maintenance\n"; }
      return 200 "ok\n";
    }
  }
}
CONF
}

ahd_start_nginx() {
	local i
	ahd_start_bg nginx nginx -p "$AHD_NGINX" -c "$AHD_NGINX/nginx.conf"
	for ((i = 0; i < 100; i++)); do
		[[ -n $(ahd_node ss -Hltn "sport = :$AHD_NGINX_PORT") ]] && return 0
		sleep 0.05
	done
	ahd_log "nginx did not listen: $(cat "$AHD_NGINX/error.log" "$AHD_TMP/nginx.log" 2>/dev/null)"
	return 1
}

ahd_stop_nginx() { ahd_stop_bg nginx; }

ahd_nsd_zone() {
	cat >"$AHD_NSD/example.test.zone" <<-ZONE
		\$ORIGIN example.test.
		\$TTL 300
		@ IN SOA ns1.example.test. hostmaster.example.test. $1 3600 600 86400 300
		@ IN NS ns1.example.test.
		ns1 IN A 192.0.2.1
		www IN A $2
	ZONE
}

ahd_nsd_setup() {
	AHD_NSD=$AHD_TMP/nsd
	mkdir -p "$AHD_NSD"
	ahd_nsd_zone 1 192.0.2.10
	cat >"$AHD_NSD/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$1
  port: $1
  username: ""
  chroot: ""
  zonesdir: "$AHD_NSD"
  database: ""
  zonelistfile: "$AHD_NSD/zone.list"
  xfrdfile: "$AHD_NSD/xfrd.state"
  xfrdir: "$AHD_NSD"
  pidfile: "$AHD_NSD/nsd.pid"
  logfile: "$AHD_NSD/nsd.log"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: example.test
  zonefile: example.test.zone
CONF
}

ahd_start_nsd() {
	local i
	: >"$AHD_NSD/nsd.log"
	ahd_start_bg nsd nsd -d -c "$AHD_NSD/nsd.conf"
	for ((i = 0; i < 100; i++)); do
		grep -q 'nsd started' "$AHD_NSD/nsd.log" 2>/dev/null && return 0
		sleep 0.05
	done
	ahd_log "nsd did not start: $(cat "$AHD_NSD/nsd.log")"
	return 1
}

ahd_stop_nsd() { ahd_stop_bg nsd; }

# Matched on captured output: `cmd | grep -q` under pipefail fails when grep
# exits first and cmd gets SIGPIPE, which would read as "absent".
ahd_on_lo() { [[ $(ahd_node ip -o addr show dev lo) == *" ${1} "* ]]; }
ahd_daemon_pid() { cat "$AHD_TMP/daemon.pid"; }
ahd_start_daemon() { ahd_start_bg daemon "$AHD_DAEMON" -c "$1"; }
# No subshell: wait only works on this shell's own children.
ahd_stop_daemon() {
	local pid
	pid=$(ahd_daemon_pid)
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	rm -f "$AHD_TMP/daemon.pid"
}

ahd_pass() {
	AHD_PASSED=$((AHD_PASSED + 1))
	printf 'PASS: %s\n' "$*"
}

ahd_fail() {
	AHD_FAILED=$((AHD_FAILED + 1))
	printf 'FAIL: %s\n' "$*"
}

ahd_summary() {
	AHD_SUMMARY_DONE=1
	printf '%d passed, %d failed\n' "$AHD_PASSED" "$AHD_FAILED"
	((AHD_FAILED == 0))
}

ahd_stats() {
	local -a s
	(($#)) || { echo "no samples"; return 0; }
	mapfile -t s < <(printf '%s\n' "$@" | sort -n)
	printf 'min=%s median=%s max=%s (ms, n=%d)\n' \
		"${s[0]}" "${s[$(($# / 2))]}" "${s[$(($# - 1))]}" "$#"
}

# Kill the pids in the given namespace, politely first.
ahd_kill_netns_pids() {
	local ns=$1 i
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
	for ((i = 0; i < 40; i++)); do
		[[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && return 0
		sleep 0.05
	done
	ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
}

# EXIT trap: a test that dies early (set -e) still ends with a failure and
# a summary line.
ahd_on_exit() {
	local rc=$?
	if ((rc != 0 && !AHD_SUMMARY_DONE)); then
		ahd_fail "${0##*/} stopped early with status $rc (see the messages above)"
		ahd_summary || true
	fi
	ahd_cleanup
	exit "$rc"
}

ahd_cleanup() {
	local f ns
	((AHD_CLEANED)) && return 0
	AHD_CLEANED=1
	[[ -n ${AHD_TMP:-} ]] || return 0
	for f in "$AHD_TMP"/*.pid; do
		[[ -e $f ]] || continue
		kill "$(cat "$f")" 2>/dev/null || true
	done
	for ns in "$AHD_NODE" "$AHD_PEER"; do
		if [[ -e /var/run/netns/$ns ]]; then
			ahd_kill_netns_pids "$ns"
			ip netns del "$ns" 2>/dev/null || true
		fi
	done
	for f in "$AHD_TMP"/*.pid; do
		[[ -e $f ]] || continue
		kill -KILL "$(cat "$f")" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "/var/run/frr/$AHD_NODE" "/etc/frr/$AHD_NODE"
	if [[ ${AHD_KEEP_TMP:-0} == 1 ]]; then
		ahd_log "kept $AHD_TMP"
	else
		rm -rf "$AHD_TMP"
	fi
}
