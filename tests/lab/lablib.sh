# The anycast lab: three sites, an upstream router, clients, all in network
# namespaces of this host. Sourced by tests/lab/lab.sh (the demo) and
# tests/integration/test_lab.sh (the test); both call lab_init first.
#
#   client c1 (10.1.1.2) ─┐                    ┌─ site s1 AS 65001 (nearest)
#   client c2 (10.1.2.2) ─┼─ upstream AS 65000 ┼─ site s2 AS 65002 (+1 prepend)
#                         ┘   FRR, forwards    └─ site s3 AS 65003 (+2 prepends)
#
# Each site: FRR (zebra, bgpd, bfdd) configured with `anycast-healthctl
# frr-config` output as is, unbound (DNS) and nginx (HTTP) answering on the
# anycast addresses 192.0.2.53 and 192.0.2.80 with the site's number, and
# anycast-healthd. The upstream prefers s1, then s2, then s3 (AS-path length,
# so that a prepend moves traffic as it would on the Internet).
#
# Everything started is a child of a lab namespace or recorded in $LAB_TMP;
# lab_cleanup (the EXIT trap) kills it and deletes the namespaces.

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_BUILD=${AHD_BUILD:-$LAB_SRC/_build}
LAB_DAEMON=${AHD_DAEMON:-$LAB_BUILD/anycast-healthd}
LAB_CTL=${AHD_HEALTHCTL:-$LAB_BUILD/anycast-healthctl}
LAB_CLIENT=${LAB_CLIENT:-$LAB_BUILD/tests/lab/lab-client}
LAB_DNS=192.0.2.53
LAB_WEB=192.0.2.80
LAB_SITES=(1 2 3)
LAB_CLIENTS=(1 2)
LAB_BFD_MS=100
LAB_CLEANED=0

# With the live view on, messages go to its event list instead of the terminal.
lab_log() {
	if [[ ${LAB_VIEW_ON:-0} == 1 ]]; then
		printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >>"$LAB_TMP/lab.log"
	else
		printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
	fi
}
lab_now_ms() { local t=${EPOCHREALTIME//[.,]/}; printf '%s\n' $((10#$t / 1000)); }

lab_init() {
	LAB_ID=${LAB_ID:-l$$}
	LAB_TMP=$(mktemp -d "/tmp/anycast-lab-$LAB_ID.XXXXXX")
	chmod 755 "$LAB_TMP"
	: >"$LAB_TMP/events"
	# Debian's unbound comes with an AppArmor profile that keeps
	# /usr/sbin/unbound to /etc/unbound and /var/lib/unbound; where it is
	# enforced (a Debian install with the apparmor package) the sites'
	# unbound could not read its configuration here and the lab would never
	# come up. The profile attaches by path: a copy elsewhere is not
	# confined. The lab measures failover, not unbound's confinement.
	LAB_UNBOUND=unbound
	if grep -qsE '^(/usr/sbin/)?unbound \(enforce\)' /sys/kernel/security/apparmor/profiles; then
		cp /usr/sbin/unbound "$LAB_TMP/unbound"
		LAB_UNBOUND=$LAB_TMP/unbound
	fi
	trap lab_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

lab_ns() { printf '%s%s' "$LAB_ID" "$1"; }	# lab_ns s1 -> l1234s1
lab_in() { local ns; ns=$(lab_ns "$1"); shift; ip netns exec "$ns" "$@"; }
lab_vtysh() { local ns; ns=$(lab_ns "$1"); shift; vtysh -N "$ns" "$@"; }

# A scenario marker: in the events file (for the analysis, the live view and
# the plot) and on stderr.
lab_event() {
	printf '%s %s\n' "$(lab_now_ms)" "$*" >>"$LAB_TMP/events"
	lab_log "$*"
}

lab_bg() { # NAME NS CMD... : start CMD in NS, pid in $LAB_TMP/NAME.pid
	local name=$1 ns=$2
	shift 2
	ip netns exec "$(lab_ns "$ns")" "$@" >"$LAB_TMP/$name.out" 2>&1 &
	echo $! >"$LAB_TMP/$name.pid"
	# No "Killed" notices from the shell: the lab kills servers on purpose.
	disown $!
}

lab_stop() { # NAME [SIGNAL]
	local f=$LAB_TMP/$1.pid pid i
	[[ -f $f ]] || return 0
	pid=$(cat "$f")
	rm -f "$f"
	kill "-${2:-TERM}" "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 60; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

lab_wait() { # SECS CMD...: until CMD succeeds, polling every 50 ms
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

lab_link() { # NS_A IF_A ADDR_A NS_B IF_B ADDR_B
	ip link add "$2" netns "$(lab_ns "$1")" type veth peer name "$5" netns "$(lab_ns "$4")"
	ip -n "$(lab_ns "$1")" addr add "$3" dev "$2"
	ip -n "$(lab_ns "$4")" addr add "$6" dev "$5"
	ip -n "$(lab_ns "$1")" link set "$2" up
	ip -n "$(lab_ns "$4")" link set "$5" up
}

lab_topology() {
	local n
	for n in up "${LAB_SITES[@]/#/s}" "${LAB_CLIENTS[@]/#/c}"; do
		ip netns add "$(lab_ns "$n")"
		ip -n "$(lab_ns "$n")" link set lo up
	done
	lab_in up sysctl -qw net.ipv4.ip_forward=1
	for n in "${LAB_SITES[@]}"; do
		lab_link up "to-s$n" "10.0.$n.1/30" "s$n" uplink "10.0.$n.2/30"
		ip -n "$(lab_ns "s$n")" route add default via "10.0.$n.1"
	done
	for n in "${LAB_CLIENTS[@]}"; do
		lab_link up "to-c$n" "10.1.$n.1/30" "c$n" uplink "10.1.$n.2/30"
		ip -n "$(lab_ns "c$n")" route add default via "10.1.$n.1"
	done
}

# FRR in namespace NS: zebra, bfdd and bgpd, started with only a hostname
# and a log file, then configured from CONF through vtysh, which hands each
# command to the daemon it belongs to (as an integrated frr.conf is loaded).
lab_frr() { # NODE CONF
	local ns run d base
	ns=$(lab_ns "$1")
	run=/var/run/frr/$ns
	base=$(dirname "$2")/base.conf
	mkdir -p "$run" "/etc/frr/$ns"
	: >"/etc/frr/$ns/vtysh.conf"
	printf 'frr defaults traditional\nhostname %s\nlog file %s/frr.log informational\n' \
		"$1" "$(dirname "$2")" >"$base"
	chown -R frr:frr "$run" "$(dirname "$2")"
	for d in zebra bfdd bgpd; do
		ip netns exec "$ns" "/usr/lib/frr/$d" -N "$ns" -d -A 127.0.0.1 -f "$base" \
			-i "$run/$d.pid" >>"$LAB_TMP/$1-$d.stderr" 2>&1
		lab_wait 10 test -S "$run/$d.vty" || { lab_log "$1: $d did not start"; return 1; }
	done
	if ! vtysh -N "$ns" -f "$2" >"$LAB_TMP/$1-vtysh.out" 2>&1; then
		lab_log "$1: FRR refused its configuration: $(tail -n 3 "$LAB_TMP/$1-vtysh.out")"
		return 1
	fi
}

lab_upstream_conf() {
	local n conf=$LAB_TMP/up/frr.conf
	mkdir -p "$LAB_TMP/up"
	{
		printf 'bgp community-list standard GS seq 5 permit 65535:0\n!\n'
		for n in "${LAB_SITES[@]}"; do
			# Path cost: site n is n-1 AS hops further away.
			printf 'route-map FROM-S%s permit 10\n' "$n"
			((n > 1)) && printf ' set as-path prepend%s\n' "$(printf ' 6500%s' $(seq 2 "$n" | sed "s/.*/$n/"))"
			printf 'exit\n'
		done
		printf 'bfd\n profile LAB\n  transmit-interval %s\n  receive-interval %s\n  detect-multiplier 3\n exit\nexit\n' \
			"$LAB_BFD_MS" "$LAB_BFD_MS"
		printf 'router bgp 65000\n bgp router-id 10.0.0.1\n bgp route-map delay-timer 0\n'
		for n in "${LAB_SITES[@]}"; do
			printf ' neighbor 10.0.%s.2 remote-as 6500%s\n' "$n" "$n"
			# Hold 9 s (not 180 s): the no-BFD case of node death ends in the lab's time.
			printf ' neighbor 10.0.%s.2 timers 3 9\n neighbor 10.0.%s.2 timers connect 1\n' "$n" "$n"
			printf ' neighbor 10.0.%s.2 bfd profile LAB\n' "$n"
		done
		printf ' address-family ipv4 unicast\n'
		for n in "${LAB_SITES[@]}"; do
			printf '  neighbor 10.0.%s.2 route-map FROM-S%s in\n' "$n" "$n"
		done
		printf ' exit-address-family\nexit\n'
	} >"$conf"
	echo "$conf"
}

# The upstream honours GRACEFUL_SHUTDOWN (FRR's default) or ignores it
# (deletes the community inbound, as many networks do).
lab_upstream_gshut() { # honour|ignore
	local n args=(-c 'configure terminal')
	for n in "${LAB_SITES[@]}"; do
		args+=(-c "route-map FROM-S$n permit 10")
		if [[ $1 == ignore ]]; then
			args+=(-c 'set comm-list GS delete')
		else
			args+=(-c 'no set comm-list GS delete')
		fi
	done
	args+=(-c end -c 'clear bgp ipv4 unicast * soft in')
	lab_vtysh up "${args[@]}" >/dev/null
}

lab_site_files() { # N METHOD
	local n=$1 method=$2 d=$LAB_TMP/s$1
	mkdir -p "$d/etc/services.d" "$d/unbound" "$d/nginx" "$d/frr"
	cat >"$d/etc/anycast-healthd.json" <<-JSON
		{ "interface": "lo",
		  "frr": { "pathspace": "$(lab_ns "s$n")", "asn": 6500$n },
		  "control_socket": "$d/control.sock", "state_file": "$d/state.json",
		  "on_exit": "keep", "defaults": { "jitter": "0%" } }
	JSON
	cat >"$d/etc/services.d/dns.json" <<-JSON
		{ "prefixes": ["$LAB_DNS/32"], "method": "$method",
		  "interval": "100ms", "timeout": "50ms", "rise": 3, "fall": 2,
		  "probes": [
		    { "type": "process", "pidfile": "$d/unbound/unbound.pid" },
		    { "type": "dns", "server": "127.0.0.1", "query": "site.lab", "qtype": "A",
		      "expect_rcode": "NOERROR" } ] }
	JSON
	cat >"$d/etc/services.d/web.json" <<-JSON
		{ "prefixes": ["$LAB_WEB/32"], "method": "$method",
		  "interval": "100ms", "timeout": "50ms", "rise": 3, "fall": 2,
		  "probes": [
		    { "type": "process", "pidfile": "$d/nginx/nginx.pid" },
		    { "type": "http", "url": "http://127.0.0.1/healthz", "expect_status": ["2xx"] } ] }
	JSON
	chmod 644 "$d/etc/anycast-healthd.json" "$d"/etc/services.d/*.json
	cat >"$d/unbound/unbound.conf" <<-CONF
		server:
		  interface: 0.0.0.0
		  interface-automatic: yes
		  port: 53
		  do-daemonize: no
		  username: ""
		  chroot: ""
		  directory: "$d/unbound"
		  pidfile: "$d/unbound/unbound.pid"
		  logfile: "$d/unbound/unbound.log"
		  use-syslog: no
		  num-threads: 1
		  do-ip6: no
		  access-control: 0.0.0.0/0 allow
		  local-zone: "lab." static
		  local-data: "site.lab. 0 IN A 10.255.0.$n"
		remote-control:
		  control-enable: no
	CONF
	cat >"$d/nginx/nginx.conf" <<-CONF
		daemon off; master_process off; worker_processes 1;
		pid $d/nginx/nginx.pid; error_log $d/nginx/error.log;
		events { worker_connections 1024; }
		http {
		  access_log off; default_type text/plain;
		  client_body_temp_path $d/nginx; proxy_temp_path $d/nginx;
		  fastcgi_temp_path $d/nginx; uwsgi_temp_path $d/nginx; scgi_temp_path $d/nginx;
		  server { listen 80 default_server;
		    if (-f $d/nginx/maintenance) { return 503 "maintenance\\n"; }
		    location = /healthz { return 200 "ok\\n"; }
		    location / { return 200 "$n\\n"; } }
		}
	CONF
}

lab_start_unbound() { # N
	rm -f "$LAB_TMP/s$1/unbound/unbound.pid"
	lab_bg "s$1-unbound" "s$1" "$LAB_UNBOUND" -d -c "$LAB_TMP/s$1/unbound/unbound.conf"
	lab_wait 10 test -s "$LAB_TMP/s$1/unbound/unbound.pid"
}

lab_start_nginx() { # N
	lab_bg "s$1-nginx" "s$1" nginx -p "$LAB_TMP/s$1/nginx" -c "$LAB_TMP/s$1/nginx/nginx.conf"
	lab_wait 10 test -s "$LAB_TMP/s$1/nginx/nginx.pid"
}

lab_start_daemon() { # N
	lab_bg "s$1-daemon" "s$1" "$LAB_DAEMON" -c "$LAB_TMP/s$1/etc/anycast-healthd.json"
}

lab_stop_daemon() { lab_stop "s$1-daemon"; }

# Site N with METHOD: files, FRR from frr-config, servers, the daemon.
lab_site() { # N METHOD
	local n=$1 d=$LAB_TMP/s$1
	lab_site_files "$n" "$2"
	{
		# Used as is: the product's template proves itself here.
		"$LAB_CTL" -c "$d/etc/anycast-healthd.json" frr-config --router-id "10.0.$n.2" \
			--neighbor "10.0.$n.1" --neighbor-asn 65000 --bfd "$LAB_BFD_MS"
	} >"$d/frr/frr.conf"
	lab_frr "s$n" "$d/frr/frr.conf"
	lab_start_unbound "$n"
	lab_start_nginx "$n"
	lab_start_daemon "$n"
}

# The next hop the upstream's kernel uses for ADDR: the site number, or 0.
lab_best() {
	local r
	r=$(lab_in up ip -4 route show "$1/32" 2>/dev/null)
	[[ $r =~ via\ 10\.0\.([0-9])\.2 ]] && { echo "${BASH_REMATCH[1]}"; return; }
	echo 0
}
lab_best_is() { [[ $(lab_best "$1") == "$2" ]]; }

# Route changes at the upstream, one timestamped line each (ms, then ip monitor's text).
lab_start_route_monitor() {
	ip netns exec "$(lab_ns up)" ip -4 monitor route 2>/dev/null |
		while IFS= read -r line; do
			t=${EPOCHREALTIME//[.,]/}
			printf '%s %s\n' $((10#$t / 1000)) "$line"
		done >"$LAB_TMP/routes.log" &
	echo $! >"$LAB_TMP/route-monitor.pid"
}

lab_start_clients() {
	local n
	for n in "${LAB_CLIENTS[@]}"; do
		lab_bg "c$n-client" "c$n" "$LAB_CLIENT" -d "$LAB_DNS" -w "$LAB_WEB" -i 10 -t 300 \
			-o "$LAB_TMP/c$n.log"
	done
}

# Brings the whole lab up with METHOD on every site and waits until the
# upstream sends both addresses to s1.
lab_up() { # METHOD
	local n
	lab_topology
	lab_frr up "$(lab_upstream_conf)"
	for n in "${LAB_SITES[@]}"; do
		lab_site "$n" "$1"
	done
	lab_start_route_monitor
	if ! lab_wait 60 lab_best_is "$LAB_DNS" 1 || ! lab_wait 10 lab_best_is "$LAB_WEB" 1; then
		lab_log "the upstream never preferred s1: $(lab_vtysh up -c 'show bgp ipv4 unicast' 2>&1 | tail -8)"
		return 1
	fi
	lab_start_clients
	# Let FRR and the daemons settle: the first trial must not measure a start-up.
	sleep 3
}

# Waits until every client's last answers (DNS and HTTP) come from site N.
lab_clients_on() { # N [SECS]
	local c secs=${2:-20} i ok
	for ((i = 0; i < secs * 10; i++)); do
		ok=1
		for c in "${LAB_CLIENTS[@]}"; do
			[[ $(tail -n 40 "$LAB_TMP/c$c.log" 2>/dev/null | awk -v s="$1" \
				'$3 == s && $2 == "D" { d = 1 } $3 == s && $2 == "H" { h = 1 }
				 END { print (d && h) ? "y" : "n" }') == y ]] || ok=0
		done
		((ok)) && return 0
		sleep 0.1
	done
	return 1
}

# ---- measurement ----

# Outage for a move away from site OLD after the event at T (ms): from the
# last answer from OLD to the first answer from another site, in ms (send
# times), and the failed queries in between, for one client log and KIND
# (D or H). Prints "OUTAGE FAILED", or "- -" if no move was seen.
lab_outage() { # LOG KIND OLD T [WINDOW_MS]
	awk -v k="$2" -v old="$3" -v t="$4" -v w="${5:-30000}" '
		$2 != k || $1 < t - 2000 || $1 > t + w { next }
		{ n++; ts[n] = $1; site[n] = $3 }
		END {
			first = 0
			for (i = 1; i <= n; i++)
				if (ts[i] >= t && site[i] != 0 && site[i] != old) { first = i; break }
			if (!first) { print "- -"; exit }
			last = 0
			for (i = first - 1; i >= 1; i--)
				if (site[i] == old) { last = i; break }
			if (!last) { print "- -"; exit }
			f = 0
			for (i = last + 1; i < first; i++)
				if (site[i] == 0) f++
			printf "%d %d\n", ts[first] - ts[last], f
		}' <(sort -n "$1")
}

# Failed queries of KIND in [T0, T1] (ms), all clients.
lab_failed_between() { # KIND T0 T1
	local c
	for c in "${LAB_CLIENTS[@]}"; do cat "$LAB_TMP/c$c.log"; done |
		awk -v k="$1" -v a="$2" -v b="$3" '$2 == k && $1 >= a && $1 <= b && $3 == 0 { f++ }
			END { print f + 0 }'
}

# Route changes of ADDR at the upstream in [T0, T1] (ms).
lab_route_changes() { # ADDR T0 T1
	awk -v p="$1" -v a="$2" -v b="$3" '$1 >= a && $1 <= b && index($0, " " p " ") { n++ }
		END { print n + 0 }' "$LAB_TMP/routes.log"
}

# min median max of numbers on stdin, or "-".
lab_stats() {
	sort -n | awk '{ v[NR] = $1 } END { if (!NR) { print "- - -"; exit }
		printf "%s %s %s\n", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

# ---- scenarios ----
# Each trial appends "SCENARIO CLIENT KIND OUTAGE_MS FAILED" lines to
# $LAB_TMP/results (outage "-" when the clients never moved) and route
# changes as "SCENARIO routes - N -".

lab_result() { printf '%s\n' "$*" >>"$LAB_TMP/results"; }

# The outage of each client for a move away from site OLD at T.
lab_record_outage() { # SCENARIO KIND OLD T
	local c r
	for c in "${LAB_CLIENTS[@]}"; do
		r=$(lab_outage "$LAB_TMP/c$c.log" "$2" "$3" "$4")
		lab_result "$1 c$c $2 $r"
	done
}

lab_scenario() { # TAG TEXT: a marker on the plot
	printf '%s %s %s\n' "$(lab_now_ms)" "$1" "$2" >>"$LAB_TMP/markers"
	lab_event "($1) $2"
}

# A fresh daemon on site N with METHOD: a trial's damping penalty must not
# carry over to the next (on_exit keep: the restart does not withdraw).
lab_restart_daemon() { # N [METHOD]
	lab_stop_daemon "$1"
	[[ -n ${2:-} ]] && lab_site_files "$1" "$2"
	lab_start_daemon "$1"
	sleep 0.5
	# A new method adds or drops network statements: let FRR settle first.
	[[ -n ${2:-} ]] && sleep 3
	return 0
}

lab_pid() { cat "$LAB_TMP/s$1/$2/$2.pid"; }

lab_wait_home() { # the clients back on s1 (DNS and HTTP)
	lab_clients_on 1 "${1:-30}" || lab_log "clients did not come back to s1"
	sleep 0.3
}

# (b) kill -9 of s1's DNS server. agent: the daemon withdraws. floor: no
# daemon; the address is deleted by hand at the same instant.
lab_trial_kill() { # agent|floor SCENARIO
	local t
	lab_wait_home
	if [[ $1 == floor ]]; then
		lab_stop_daemon 1
		lab_scenario "$2" "kill -9 unbound at s1, address deleted by hand (no daemon)"
		t=$(lab_now_ms)
		lab_in s1 sh -c "kill -9 $(lab_pid 1 unbound); ip addr del $LAB_DNS/32 dev lo"
	else
		lab_scenario "$2" "kill -9 unbound at s1"
		t=$(lab_now_ms)
		kill -9 "$(lab_pid 1 unbound)"
	fi
	sleep 1.5
	lab_record_outage "$2" D 1 "$t"
	lab_stop s1-unbound
	lab_start_unbound 1
	[[ $1 == floor ]] && lab_in s1 ip addr add "$LAB_DNS/32" dev lo
	lab_restart_daemon 1
	lab_wait_home
}

# (c) nginx answers 503 while running.
lab_trial_503() { # SCENARIO
	local t
	lab_wait_home
	lab_scenario "$1" "nginx at s1 answers 503"
	t=$(lab_now_ms)
	touch "$LAB_TMP/s1/nginx/maintenance"
	sleep 1.5
	lab_record_outage "$1" H 1 "$t"
	rm -f "$LAB_TMP/s1/nginx/maintenance"
	lab_restart_daemon 1
	lab_wait_home
}

# (d)/(e) drain --grace with the upstream honouring or ignoring GRACEFUL_SHUTDOWN.
lab_trial_drain() { # honour|ignore SCENARIO [GRACE]
	local t grace=${3:-2}
	lab_upstream_gshut "$1"
	lab_wait_home
	sleep 0.5
	lab_scenario "$2" "drain dns at s1 --grace ${grace}s (upstream ${1}s GSHUT)"
	t=$(lab_now_ms)
	lab_in s1 "$LAB_CTL" -c "$LAB_TMP/s1/etc/anycast-healthd.json" drain dns \
		--grace "${grace}s" >/dev/null
	sleep $((grace + 1))
	lab_record_outage "$2" D 1 "$t"
	lab_result "$2 all D-failed - $(lab_failed_between D "$t" "$(lab_now_ms)")"
	lab_in s1 "$LAB_CTL" -c "$LAB_TMP/s1/etc/anycast-healthd.json" undrain dns >/dev/null
	lab_upstream_gshut honour
	lab_restart_daemon 1
	lab_wait_home
}

# (f) unbound at s1 killed and restarted every second for SECS seconds;
# counts the route changes at the upstream from the first kill until the
# route has been stable for 3 s after the last.
lab_trial_flap() { # SCENARIO SECS
	local t end i
	lab_wait_home
	lab_scenario "$1" "unbound at s1 killed and restarted every second for ${2}s"
	t=$(lab_now_ms)
	end=$((t + $2 * 1000))
	while (($(lab_now_ms) < end)); do
		kill -9 "$(lab_pid 1 unbound)" 2>/dev/null
		lab_stop s1-unbound
		lab_start_unbound 1
		i=$(lab_now_ms)
		sleep "0.$(printf '%03d' $((1000 - (i - t) % 1000)))"
	done
	sleep 3
	lab_result "$1 routes - $(lab_route_changes "$LAB_DNS" "$t" "$(lab_now_ms)") -"
	lab_result "$1 all D-failed - $(lab_failed_between D "$t" "$(lab_now_ms)")"
}

# (g) the whole site goes silent: its uplink drops every packet, both ways
# (tc netem loss 100% where the kernel has netem; else a pfifo qdisc of
# length 0, which drops every packet as well). Nothing is shut down.
lab_silence() { # on|off
	local q=(netem loss 100%)
	if [[ $1 == on ]]; then
		lab_in s1 tc qdisc replace dev uplink root "${q[@]}" 2>/dev/null ||
			q=(pfifo limit 0)
		lab_in s1 tc qdisc replace dev uplink root "${q[@]}"
		lab_in up tc qdisc replace dev to-s1 root "${q[@]}"
	else
		lab_in s1 tc qdisc del dev uplink root 2>/dev/null
		lab_in up tc qdisc del dev to-s1 root 2>/dev/null
	fi
	return 0
}

lab_bfd() { # on|off: BFD for the s1 session, on both sides
	local up=(-c "neighbor 10.0.1.2 bfd profile LAB") s1=(-c "neighbor 10.0.1.1 bfd profile ANYCAST-BFD")
	if [[ $1 == off ]]; then
		up=(-c "no neighbor 10.0.1.2 bfd")
		s1=(-c "no neighbor 10.0.1.1 bfd")
	fi
	lab_vtysh up -c 'configure terminal' -c 'router bgp 65000' "${up[@]}" >/dev/null
	lab_vtysh s1 -c 'configure terminal' -c 'router bgp 65001' "${s1[@]}" >/dev/null
}

# Until the upstream's route to ADDR has gone to s1 and stayed there for 3 s
# (switching BFD on or off resets the session after a while).
lab_settle() {
	local i last
	for ((i = 0; i < 600; i++)); do
		last=$(awk -v p="$LAB_DNS" 'index($0, " " p " ") { t = $1 } END { printf "%d\n", t }' \
			"$LAB_TMP/routes.log")
		if lab_best_is "$LAB_DNS" 1 && (($(lab_now_ms) - last > 3000)); then
			return 0
		fi
		sleep 0.1
	done
	lab_log "the upstream's route did not settle on s1"
}

# (g) node death and (h) recovery.
lab_trial_death() { # bfd|nobfd SCENARIO RECOVERY_SCENARIO
	local t wait=2
	[[ $1 == nobfd ]] && wait=12
	if [[ $1 == bfd ]]; then lab_bfd on; else lab_bfd off; fi
	sleep 1
	lab_settle
	lab_wait_home
	lab_scenario "$2" "s1 goes silent (uplink drops every packet), $([[ $1 == bfd ]] && echo with || echo without) BFD"
	t=$(lab_now_ms)
	lab_silence on
	sleep "$wait"
	lab_record_outage "$2" D 1 "$t"
	lab_scenario "$3" "s1's uplink works again"
	t=$(lab_now_ms)
	lab_silence off
	lab_wait_home 60
	lab_recovery "$3" "$t"
	lab_bfd on
}

# (h) how long after T each client's DNS answers came from s1 again.
lab_recovery() { # SCENARIO T
	local c r
	for c in "${LAB_CLIENTS[@]}"; do
		r=$(sort -n "$LAB_TMP/c$c.log" | awk -v t="$2" '$2 == "D" && $1 >= t && $3 == 1 {
			printf "%d", $1 - t; exit }')
		lab_result "$1 c$c D-back ${r:--} -"
	done
}

# ---- teardown (the EXIT trap; also after Ctrl-C) ----

lab_cleanup() {
	local rc=$? f n ns i
	((LAB_CLEANED)) && return 0
	LAB_CLEANED=1
	[[ -n ${LAB_TMP:-} ]] || return 0
	[[ -n ${LAB_VIEW_PID:-} ]] && kill "$LAB_VIEW_PID" 2>/dev/null
	for f in "$LAB_TMP"/*.pid; do
		[[ -e $f ]] && kill "$(cat "$f")" 2>/dev/null
	done
	for n in up "${LAB_SITES[@]/#/s}" "${LAB_CLIENTS[@]/#/c}"; do
		ns=$(lab_ns "$n")
		[[ -e /var/run/netns/$ns ]] || continue
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		for ((i = 0; i < 40; i++)); do
			[[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break
			sleep 0.05
		done
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		rm -rf "/var/run/frr/$ns" "/etc/frr/$ns"
	done
	wait 2>/dev/null
	if [[ ${LAB_KEEP:-0} == 1 ]]; then
		lab_log "kept $LAB_TMP"
	else
		rm -rf "$LAB_TMP"
	fi
	return "$rc"
}

# ---- the live view: a table redrawn in place every second ----

lab_view_once() {
	local n c now t0 st
	now=$(lab_now_ms)
	t0=$((now - 1000))
	printf '\033[H\033[2J'
	printf 'anycast lab  %s   (Ctrl-C stops and cleans up)\n\n' "$(date -u +%H:%M:%S)"
	printf '%-5s %-10s %-10s %-22s %s\n' site dns web "announced (dns, web)" "upstream's choice"
	for n in "${LAB_SITES[@]}"; do
		st=$(lab_in "s$n" "$LAB_CTL" -c "$LAB_TMP/s$n/etc/anycast-healthd.json" status 2>/dev/null |
			awk '/^(dns|web) / { s[$1] = $2 } /^  prefix/ { a[++k] = ($NF == "announced" && $(NF-1) != "not") ? "yes" : "no" }
			END { printf "%s %s %s/%s", s["dns"] ? s["dns"] : "-", s["web"] ? s["web"] : "-", a[1] ? a[1] : "-", a[2] ? a[2] : "-" }')
		read -r sd sw sa <<<"$st"
		printf '%-5s %-10s %-10s %-22s %s\n' "s$n" "$sd" "$sw" "$sa" \
			"$( [[ $(lab_best "$LAB_DNS") == "$n" ]] && printf 'dns ')$( [[ $(lab_best "$LAB_WEB") == "$n" ]] && printf 'web')"
	done
	printf '\n%-7s %-12s %-14s %-12s %s\n' client "dns site" "dns ok/failed" "http site" "http ok/failed  (last second)"
	for c in "${LAB_CLIENTS[@]}"; do
		tail -n 400 "$LAB_TMP/c$c.log" 2>/dev/null | awk -v a="$t0" -v c="c$c" '
			$1 >= a - 300 && $1 < a + 700 { if ($3) { ok[$2]++; last[$2] = "s" $3 } else fail[$2]++ }
			END { printf "%-7s %-12s %-14s %-12s %s\n", c, last["D"] ? last["D"] : "-",
				ok["D"] + 0 "/" fail["D"] + 0, last["H"] ? last["H"] : "-", ok["H"] + 0 "/" fail["H"] + 0 }'
	done
	printf '\nroute changes at the upstream so far: %s\n\n' "$(grep -c . "$LAB_TMP/routes.log" 2>/dev/null)"
	tail -n 8 "$LAB_TMP/lab.log" 2>/dev/null
}

lab_view_start() {
	[[ -t 1 && ${LAB_VIEW:-1} == 1 ]] || return 0
	LAB_VIEW_ON=1
	: >"$LAB_TMP/lab.log"
	( while :; do lab_view_once; sleep 1; done ) &
	LAB_VIEW_PID=$!
}

lab_view_stop() {
	[[ -n ${LAB_VIEW_PID:-} ]] || return 0
	kill "$LAB_VIEW_PID" 2>/dev/null
	wait "$LAB_VIEW_PID" 2>/dev/null
	LAB_VIEW_PID=
	LAB_VIEW_ON=0
	printf '\033[H\033[2J'
}

# ---- results ----

# The table of results: one line per scenario.
lab_report() {
	local tag desc kind samples fails
	printf '%-11s %-52s %-22s %-16s %s\n' scenario "what happens" "outage ms min/med/max" \
		"failed/client" "route changes"
	while IFS='|' read -r tag desc kind; do
		grep -q "^$tag " "$LAB_TMP/results" 2>/dev/null || continue
		samples=$(awk -v s="$tag" -v k="$kind" '$1 == s && $3 == k && $4 != "-" { print $4 }' \
			"$LAB_TMP/results" | lab_stats | tr ' ' /)
		fails=$(awk -v s="$tag" -v k="$kind" '$1 == s && $3 == k && $5 != "-" { print $5 }' \
			"$LAB_TMP/results" | lab_stats | tr ' ' /)
		[[ $kind == D-back ]] && fails=-
		local routes
		routes=$(awk -v s="$tag" '$1 == s && $2 == "routes" { print $4 }' "$LAB_TMP/results" | tr '\n' ' ')
		local allf
		allf=$(awk -v s="$tag" '$1 == s && $3 == "D-failed" { print $5 }' "$LAB_TMP/results" | lab_stats | tr ' ' /)
		[[ $kind == none ]] && { samples=-; fails="$allf (all)"; }
		printf '%-11s %-52s %-22s %-16s %s\n' "$tag" "$desc" "$samples" "$fails" "${routes:--}"
	done <<-LIST
		a-steady|steady state: clients on s1|none
		b-floor|kill -9 DNS, address deleted by hand (no daemon)|D
		b-address|kill -9 DNS, daemon with method address|D
		b-both|kill -9 DNS, daemon with method both|D
		c-503|nginx answers 503 (HTTP)|H
		d-honour|drain --grace 2s, upstream honours GSHUT|D
		e-ignore|drain --grace 2s, upstream ignores GSHUT|D
		d-address|drain --grace 2s, method address|D
		f-damped|flapping every second, damping on (default)|none
		f-undamped|flapping every second, damping off|none
		g-bfd|s1 silent, BFD 100ms x3|D
		g-nobfd|s1 silent, no BFD (hold 9 s)|D
		h-bfd|s1 back (after g-bfd): time to first answer|D-back
		h-nobfd|s1 back (after g-nobfd): time to first answer|D-back
	LIST
}

# The timeline plot (PNG and SVG): one row per client and protocol, colour =
# answering site, gaps = failed queries, scenario markers; below, the first
# trial of each scenario zoomed in.
lab_plot() { # OUT TERMINAL
	local out=$1 d=$LAB_TMP/plot t0 c k y=0 zooms='' z tag t
	mkdir -p "$d"
	t0=$(sort -n "$LAB_TMP"/c1.log | sed -n 1p | cut -d' ' -f1 | cut -d. -f1)
	: >"$d/points"
	: >"$d/fails"
	local labels=''
	for c in "${LAB_CLIENTS[@]}"; do
		for k in D H; do
			y=$((y + 1))
			if [[ $k == D ]]; then labels+="\"c$c DNS\" $y, "; else labels+="\"c$c HTTP\" $y, "; fi
			awk -v t0="$t0" -v k="$k" -v y="$y" '$2 == k {
				x = ($1 - t0) / 1000
				if ($3 == 0) printf "%.3f %d\n", x, y >> "'"$d/fails"'"
				else printf "%.3f %d %d\n", x, y, $3 }' "$LAB_TMP/c$c.log" >>"$d/points"
		done
	done
	awk -v t0="$t0" '{ printf "%.3f %s\n", ($1 - t0) / 1000, $2 }' "$LAB_TMP/markers" >"$d/markers"
	{
		printf 'set terminal %s\nset output "%s"\n' "$2" "$out"
		printf 'set multiplot\n'
		printf 'set ytics (%s)\nset yrange [0.3:%d.7]\n' "${labels%, }" "$y"
		printf 'set key off\nset grid xtics lc rgb "#dddddd"\n'
		printf 'site_colour(s) = s == 1 ? 0x1f77b4 : s == 2 ? 0xff7f0e : 0x2ca02c\n'
		printf 'set origin 0,0.45\nset size 1,0.55\n'
		printf 'set tmargin 7\nset title "anycast lab: which site answers the clients (blue s1, orange s2, green s3; red: failed)" offset 0,3\n'
		printf 'set xlabel "seconds"\nset xrange [0:*]\n'
		awk '{ printf "set arrow from %s, graph 0 to %s, graph 1 nohead lc rgb \"#888888\" dt 2\n", $1, $1
			printf "set label \"%s\" at %s, graph 1.02 rotate by 60 font \",8\"\n", $2, $1 }' "$d/markers"
		printf 'plot "%s" using 1:2:(site_colour($3)) with points pt 5 ps 0.2 lc rgb variable, "%s" using 1:2 with points pt 7 ps 0.25 lc rgb "#d62728"\n' \
			"$d/points" "$d/fails"
		printf 'unset arrow\nunset label\nunset title\nset tmargin 2\nset xlabel "ms after the event"\n'
		local n=0 tags=(b-floor b-address b-both c-503 d-honour e-ignore g-bfd)
		for tag in "${tags[@]}"; do
			t=$(awk -v s="$tag" '$2 == s { print $1; exit }' "$d/markers")
			[[ -n $t ]] || continue
			n=$((n + 1))
		done
		local w i=0
		((n)) && w=$(awk -v n="$n" 'BEGIN { printf "%.4f", 1 / n }')
		for tag in "${tags[@]}"; do
			t=$(awk -v s="$tag" '$2 == s { print $1; exit }' "$d/markers")
			[[ -n $t ]] || continue
			printf 'set origin %s,0\nset size %s,0.42\n' "$(awk -v i="$i" -v w="$w" 'BEGIN { printf "%.4f", i * w }')" "$w"
			if [[ $tag == [de]-* ]]; then
				printf 'set title "%s" font ",9"\nset xrange [-300:3500]\nset xtics 1000 font ",7"\n' "$tag"
			else
				printf 'set title "%s" font ",9"\nset xrange [-300:1200]\nset xtics 500 font ",7"\n' "$tag"
			fi
			printf 'plot "%s" using (($1 - %s) * 1000):2:(site_colour($3)) with points pt 5 ps 0.25 lc rgb variable, "%s" using (($1 - %s) * 1000):2 with points pt 7 ps 0.3 lc rgb "#d62728"\n' \
				"$d/points" "$t" "$d/fails" "$t"
			i=$((i + 1))
		done
		printf 'unset multiplot\n'
	} >"$d/plot.gp"
	gnuplot "$d/plot.gp"
}
