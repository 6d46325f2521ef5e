#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Monitoring with the real clients: Icinga 2 (its own configuration in
# AHD_TMP, in the foreground as root, a PerfdataWriter writing files and a
# GraphiteWriter sending to a local socat sink) runs
# `anycast-healthctl check` and `status` against services that are OK,
# WARNING, CRITICAL and UNKNOWN, with long plugin perfdata, '|' in
# messages and names, bytes that are not UTF-8, and hung plugins killed by
# Icinga's timeout or by -t; the state, the first line and every perfdata
# item Icinga recorded are checked, and that no plugin is left running.
# promtool checks `metrics` and metrics_file, before and after a clean stop.
# The daemon runs in a namespace of its own (addresses on its lo); FRR is
# not needed.
# shellcheck disable=SC2013 # the pid files hold whitespace-separated pids
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

ahd_init
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
: "${AHD_HEALTHCTL:?AHD_HEALTHCTL must point at the built anycast-healthctl}"
for t in icinga2 promtool setpriv python3 cc; do
	command -v "$t" >/dev/null || { ahd_log "missing $t (tests/deps.sh)"; exit 1; }
done
[[ $EUID -eq 0 ]] || { ahd_log "must run as root"; exit 1; }
ahd_setup_netns
CTL=$AHD_HEALTHCTL
HTTP_PORT=18080
# /healthz answers 200 "ok": a body that expect_body "^(healthy|fine)" does not match.
ahd_nginx_setup $HTTP_PORT
ahd_start_nginx

# Plugins: root-owned, as the configuration requires.
plug=$AHD_TMP/plugins
pids=$AHD_TMP/pids
mkdir -p "$plug" "$pids"
chmod 1777 "$pids"
cat >"$plug/state.sh" <<'EOF'
#!/bin/sh
# state.sh TEXT CODE [PERFDATA]
if [ -n "${3:-}" ]; then printf '%s | %s\n' "$1" "$3"; else printf '%s\n' "$1"; fi
exit "$2"
EOF
cat >"$plug/long.sh" <<'EOF'
#!/bin/sh
# 300 perfdata items, about 10 KiB: more than a first line may hold.
printf 'LONG OK - 300 metrics |'
i=0
while [ $i -lt 300 ]; do printf " 'metric_number_%03d'=%d.123456B" $i $i; i=$((i + 1)); done
printf '\n'
EOF
cat >"$plug/bytes.sh" <<'EOF'
#!/bin/sh
# Latin-1 and stray bytes: not UTF-8.
printf 'caf\351 \377\376 ok | v=1\n'
EOF
cat >"$plug/hang.sh" <<EOF
#!/bin/sh
# Hangs with a child, both in the plugin's process group; pids noted.
sleep 60 &
echo "\$\$ \$!" >$pids/hang.\$\$
wait
EOF
chmod 755 "$plug" "$plug"/*.sh

# --- Configuration A: for check (no daemon).
A=$AHD_TMP/a
mkdir -p "$A/services.d"
echo '{}' >"$A/main.json"
svc() { # NAME PROBES [EXTRA]
	cat >"$A/services.d/$1.json" <<JSON
{ "prefixes": ["192.0.2.10/32"], "interval": "5s", "timeout": "2s" ${3:-}, "probes": [ $2 ] }
JSON
}
st() { # NAME TEXT CODE [PERF] [EXTRA]
	printf '{ "type": "exec", "user": "nobody", "name": "%s", "command": ["%s/state.sh", "%s", "%s", "%s"] %s }' \
		"$1" "$plug" "$2" "$3" "${4:-}" "${5:-}"
}
svc ok "$(st app 'APP OK - all fine' 0 "'conn'=5;10;20;0;100 'ratio'=0.5 'open conns'=4")"
svc warn "$(st app 'APP WARNING - slow' 1 "'conn'=15;10;20;0;100")"
svc crit "$(st app 'APP OK' 0), $(st db 'DB CRITICAL - replica 3 lags 600 s' 2 "'lag'=600s;60;300")"
svc unknown "$(st app 'APP OK' 0), $(st db 'DB UNKNOWN - cannot tell' 3)" ', "require": "any"'
svc long "{ \"type\": \"exec\", \"user\": \"nobody\", \"name\": \"m\", \"command\": [\"$plug/long.sh\"] }"
# '|' in a message (an expect_body quoted), in a probe name, and broken plugin perfdata.
svc pipe "{ \"type\": \"http\", \"name\": \"p|q\", \"url\": \"http://www.example.com:$HTTP_PORT/healthz\", \"connect_to\": \"127.0.0.1\", \"expect_body\": \"^(healthy|fine)\" }, \
$(st perf 'PERF OK' 0 "'t'=1s 'app:bad'=abc 'u'=5xs six=1;2;3;4;5;6")" ', "require": 1'

svc bytes "{ \"type\": \"exec\", \"user\": \"nobody\", \"name\": \"b\", \"command\": [\"$plug/bytes.sh\"] }"
svc hang "{ \"type\": \"exec\", \"user\": \"nobody\", \"name\": \"h\", \"command\": [\"$plug/hang.sh\"], \"timeout\": \"5s\", \"interval\": \"60s\" }" \
	', "interval": "60s"'
chmod 644 "$A/main.json" "$A/services.d"/*.json
cp -r "$A/services.d" "$A/all.d"

# --- Configuration B: the daemon, its services on the namespace's lo.
B=$AHD_TMP/b
sock=$AHD_TMP/run/control.sock
prom=$AHD_TMP/run/metrics.prom
mkdir -p "$B/services.d" "$AHD_TMP/run"
mkdir -m 0700 "$AHD_TMP/private"	# status-denied: a socket nobody may reach
cat >"$B/main.json" <<JSON
{ "interface": "lo", "frr": { "pathspace": "ahd-none-$$" },
  "on_exit": "withdraw", "control_socket": "$sock",
  "state_file": "$AHD_TMP/run/state.json", "metrics_file": "$prom",
  "log": { "level": "info" } }
JSON
bsvc() { # NAME PREFIX PROBES
	cat >"$B/services.d/$1.json" <<JSON
{ "prefixes": ["$2"], "interval": "300ms", "timeout": "250ms", "rise": 1, "fall": 1,
  "probes": [ $3 ] }
JSON
}
bsvc up1 192.0.2.1/32 "$(st app 'APP OK - fine' 0 "'conn'=3" ', "warning": "2s", "critical": "4s"'), \
{ \"type\": \"exec\", \"user\": \"nobody\", \"name\": \"raw\", \"command\": [\"$plug/bytes.sh\"] }"
bsvc drained1 192.0.2.2/32 "$(st app 'APP OK' 0)"
bsvc down1 192.0.2.3/32 "$(st app 'APP CRITICAL - broken' 2)"
chmod 644 "$B/main.json" "$B/services.d"/*.json
ahd_start_daemon "$B/main.json"
trap 'cat "$AHD_TMP/daemon.log" >&2' ERR
for ((i = 0; i < 100; i++)); do
	[[ -S $sock ]] && ahd_on_lo 192.0.2.1/32 && break
	sleep 0.05
done
"$CTL" -s "$sock" drain drained1 --grace 0s >/dev/null
sleep 0.5

# --- promtool on the running daemon's metrics, and the file.
if out=$("$CTL" -s "$sock" metrics | promtool check metrics 2>&1) &&
	out2=$(promtool check metrics <"$prom" 2>&1); then
	ahd_pass "promtool check metrics: 'metrics' and metrics_file pass"
else
	ahd_fail "promtool: $out ${out2:-}"
fi
m=$("$CTL" -s "$sock" metrics)
if [[ $m == *'anycast_healthd_service_state_since_timestamp_seconds{service="up1"} '* &&
	$m == *'anycast_healthd_probe_duration_seconds_bucket{service="up1",probe="app",le="+Inf"} '* &&
	$m == *'# TYPE anycast_healthd_probe_duration_seconds histogram'* &&
	$m == *'anycast_healthd_running 1'* && $m != *e-0* ]]; then
	ahd_pass "metrics: _timestamp_seconds, a latency histogram, no exponent notation"
else
	ahd_fail "metrics: $(head -c 600 <<<"$m")"
fi

# --- status --json: valid JSON (UTF-8) although a plugin printed Latin-1.
"$CTL" -s "$sock" status --json >"$AHD_TMP/status.json" || true
if python3 -c 'import json, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
m = [p["message"] for s in d["services"] for p in s["probes"] if p["name"] == "raw"][0]
assert "\ufffd" in m, m' "$AHD_TMP/status.json" 2>"$AHD_TMP/json.err"; then
	ahd_pass "status --json is valid UTF-8 JSON; invalid plugin bytes became U+FFFD"
else
	ahd_fail "status --json: $(cat "$AHD_TMP/json.err")"
fi

# --- Icinga 2.
I=$AHD_TMP/icinga
mkdir -p "$I"/{data,log,cache,spool,run/icinga2,pd}
# A Graphite sink for Icinga's GraphiteWriter (on the host's loopback, where
# Icinga runs): the writers are what parse perfdata, and warn if invalid.
gport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
socat -u "TCP-LISTEN:$gport,bind=127.0.0.1,reuseaddr" "OPEN:$I/graphite.txt,creat,append" \
	>"$AHD_TMP/graphite.log" 2>&1 &
echo $! >"$AHD_TMP/graphite.pid"
for ((i = 0; i < 40; i++)); do [[ -n $(ss -Hltn "sport = :$gport") ]] && break; sleep 0.05; done
cat >"$I/icinga2.conf" <<EOF
object CheckerComponent "checker" { }
object PerfdataWriter "pd" {
  service_perfdata_path = "$I/pd/service.pd"
  host_perfdata_path = "$I/pd/host.pd"
  service_temp_path = "$I/pd/service.tmp"
  host_temp_path = "$I/pd/host.tmp"
  service_format_template = "SVC::\$service.name\$\tSTATE::\$service.state\$\tPERF::\$service.perfdata\$\tOUT::\$service.output\$"
  host_format_template = "H"
  rotation_interval = 3s
}
object GraphiteWriter "graphite" { host = "127.0.0.1"; port = $gport }
object CheckCommand "true" { command = [ "/bin/true" ] }
object CheckCommand "bad-perf" { command = [ "/bin/echo", "BAD OK | bad=abc" ] }
object CheckCommand "ahd-check" {
  command = [ "ip", "netns", "exec", "$AHD_NODE", "$CTL", "check", "\$ahd_service\$", "-c", "$A/main.json" ]
  arguments = { "-t" = { value = "\$ahd_timeout\$"; set_if = {{ macro("\$ahd_timeout\$") != "" }} } }
  timeout = 10s
}
object CheckCommand "ahd-status" {
  command = [ "$CTL", "status", "-s", "\$ahd_socket\$" ]
  arguments = { "service" = { value = "\$ahd_service\$"; skip_key = true; set_if = {{ macro("\$ahd_service\$") != "" }} } }
  vars.ahd_socket = "$sock"
}
object CheckCommand "ahd-status-nobody" {
  command = [ "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "$CTL", "status", "-s", "$sock" ]
}
object CheckCommand "ahd-status-denied" {
  command = [ "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "$CTL", "status", "-s", "$AHD_TMP/private/control.sock" ]
}
object Host "node" { check_command = "true"; check_interval = 60s }
template Service "fast" { host_name = "node"; check_interval = 2s; retry_interval = 2s; max_check_attempts = 1 }
EOF
for s in ok warn crit unknown long pipe bytes; do
	echo "object Service \"check-$s\" { import \"fast\"; check_command = \"ahd-check\"; vars.ahd_service = \"$s\" }"
done >>"$I/icinga2.conf"
cat >>"$I/icinga2.conf" <<EOF
object Service "check-hang" { import "fast"; check_command = "ahd-check"; vars.ahd_service = "hang"; check_timeout = 2s; check_interval = 4s }
object Service "check-hang-t" { import "fast"; check_command = "ahd-check"; vars.ahd_service = "hang"; vars.ahd_timeout = "1"; check_interval = 4s }
object Service "status-all" { import "fast"; check_command = "ahd-status" }
object Service "status-up" { import "fast"; check_command = "ahd-status"; vars.ahd_service = "up1" }
object Service "status-drained" { import "fast"; check_command = "ahd-status"; vars.ahd_service = "drained1" }
object Service "status-down" { import "fast"; check_command = "ahd-status"; vars.ahd_service = "down1" }
object Service "status-nodaemon" { import "fast"; check_command = "ahd-status"; vars.ahd_socket = "$AHD_TMP/run/nothing.sock" }
object Service "status-nobody" { import "fast"; check_command = "ahd-status-nobody" }
object Service "status-denied" { import "fast"; check_command = "ahd-status-denied" }
object Service "control-bad" { import "fast"; check_command = "bad-perf" }
EOF
icinga_defs=(-DDataDir="$I/data" -DLogDir="$I/log" -DCacheDir="$I/cache" -DSpoolDir="$I/spool"
	-DInitRunDir="$I/run" -DPidPath="$I/run/icinga2/icinga2.pid" -DStatePath="$I/data/icinga2.state"
	-DObjectsPath="$I/cache/icinga2.debug" -DVarsPath="$I/cache/icinga2.vars"
	-DRunAsUser=root -DRunAsGroup=root)
if ! icinga2 daemon -C -c "$I/icinga2.conf" "${icinga_defs[@]}" -x critical >"$I/validate.log" 2>&1; then
	ahd_fail "icinga2 rejects the configuration: $(tail -5 "$I/validate.log")"
	ahd_summary
	exit 1
fi
# Its own session: every process of it is stopped through the group at the end.
setsid icinga2 daemon -c "$I/icinga2.conf" "${icinga_defs[@]}" -x warning >"$I/icinga.log" 2>&1 &
icinga_pid=$!
echo $icinga_pid >"$AHD_TMP/icinga.pid"
sleep 14
# The main process stops the rest and rotates the last perfdata file.
kill -TERM "$icinga_pid" 2>/dev/null || true
for ((i = 0; i < 100; i++)); do
	kill -0 "$icinga_pid" 2>/dev/null || break
	sleep 0.1
done
kill -KILL -- -"$icinga_pid" 2>/dev/null || true
wait "$icinga_pid" 2>/dev/null || true
rm -f "$AHD_TMP/icinga.pid"
# Icinga leaves the checks it started running when it stops: let them end
# (a hung plugin's own timeout is 5 s), then nothing may be left.
for ((i = 0; i < 70; i++)); do
	pgrep -f -- "$A/main.json" >/dev/null || break
	sleep 0.1
done

# The last record of each service: "STATE\tPERF\tOUTPUT LINES..." (output may span lines).
records=$AHD_TMP/records
mkdir -p "$records"
if ! compgen -G "$I/pd/service.pd.*" >/dev/null; then
	ahd_fail "Icinga wrote no perfdata file: $(tail -5 "$I/icinga.log")"
	ahd_summary
	exit 1
fi
# Rotated files in time order (their suffix is the rotation time).
for f in "$I"/pd/service.pd.*; do echo "${f##*.} $f"; done | sort -n | cut -d' ' -f2- |
	xargs cat | awk -v dir="$records" '
	/^SVC::/ { split($0, f, "\t"); name = substr(f[1], 6); file = dir "/" name; printf "" >file
		   sub(/^SVC::[^\t]*\t/, ""); print >file; next }
	file != "" { print >>file }'
rec() { cat "$records/$1" 2>/dev/null || true; }
rstate() { rec "$1" | sed -n 1p | cut -f1 | sed 's/^STATE:://'; }
rperf() { rec "$1" | sed -n 1p | cut -f2 | sed 's/^PERF:://'; }
rout() { rec "$1" | sed -n 1p | cut -f3- | sed 's/^OUT:://'; }
rlong() { rec "$1" | tail -n +2; }
T='[0-9]+(\.[0-9]+)?s'	# a latency
expect() { # SERVICE STATE OUTPUT-REGEX PERF-REGEX [LONG-REGEX]
	local s=$1 st out perf want
	# Icinga keeps the blank before '|', and re-writes each item: the label
	# without its enclosing quotes, quoted again only if it has a space.
	st=$(rstate "$s") out=$(rout "$s") perf=$(rperf "$s")
	out=${out% }
	want=$(sed -E "s/'([^ ']+)'=/\1=/g" <<<"$4")
	if [[ $st == "$2" && $out =~ ^$3$ && $perf =~ ^$want$ ]] &&
		{ [[ -z ${5:-} ]] || grep -Eq -- "$5" <<<"$(rlong "$s")"; }; then
		ahd_pass "icinga $s: $st, '$out'"
	else
		ahd_fail "icinga $s: state '$st' (want $2), output '$out', perfdata '${perf:0:300}', long: $(rlong "$s" | head -5)"
	fi
}
expect check-ok OK "ANYCAST-HEALTH OK - ok: 1/1 probes OK" \
	"'app_time'=${T};;;0 'app:conn'=5;10;20;0;100 'app:ratio'=0.5 'app:open conns'=4"
expect check-warn WARNING "ANYCAST-HEALTH WARNING - warn: app APP WARNING - slow \(0/1 probes OK\)" \
	"'app_time'=${T};;;0 'app:conn'=15;10;20;0;100"
expect check-crit CRITICAL "ANYCAST-HEALTH CRITICAL - crit: db DB CRITICAL - replica 3 lags 600 s \(1/2 probes OK\)" \
	"'app_time'=${T};;;0 'db_time'=${T};;;0 'db:lag'=600s;60;300"
expect check-unknown UNKNOWN "ANYCAST-HEALTH UNKNOWN - unknown: db DB UNKNOWN - cannot tell \(1/2 probes OK\)" \
	"'app_time'=${T};;;0 'db_time'=${T};;;0"
expect check-pipe WARNING "ANYCAST-HEALTH WARNING - pipe: p¦q body did not match '\^\(healthy¦fine\)' \(HTTP 200 from http://www.example.com:$HTTP_PORT/healthz, [0-9]+ bytes\) \(1/2 probes OK\)" \
	"'p¦q_time'=${T};;;0 'perf_time'=${T};;;0 'perf:t'=1s" \
	"^pipe/p¦q: CRITICAL - body did not match '\^\(healthy¦fine\)' \(HTTP 200"
expect check-bytes OK "ANYCAST-HEALTH OK - bytes: 1/1 probes OK" "'b_time'=${T};;;0 'b:v'=1" \
	"^bytes/b: OK - caf� �� ok \("
# The '|' in messages and the broken items: only in the long output, said.
if grep -q "^pipe/perf: 3 invalid perfdata items dropped (first: 'app:bad'=abc: value not a number)$" <<<"$(rlong check-pipe)"; then
	ahd_pass "invalid plugin perfdata ('app:bad'=abc, 'u'=5xs, 6 fields) dropped and said"
else
	ahd_fail "no note of the invalid perfdata: $(rlong check-pipe)"
fi
# 300 items: whole ones only, in order, values exact, the drop said.
perf=$(rperf check-long)
n=0 bad=''
read -ra items <<<"$perf"
# (Icinga writes these labels without quotes: they need none.)
[[ ${items[0]:-} =~ ^m_time=${T}\;\;\;0$ ]] || bad="first item ${items[0]:-}"
for item in "${items[@]:1}"; do
	want=$(printf "m:metric_number_%03d=%d.123456B" $n $n)
	[[ $item == "$want" ]] || { bad="item $n is '$item', not '$want'"; break; }
	n=$((n + 1))
done
if [[ -z $bad ]] && ((n >= 150 && n < 300)) && [[ $(rstate check-long) == OK ]] &&
	grep -Eq "^long/m: [0-9]+ perfdata items dropped \(more than 8191 bytes\)$" <<<"$(rlong check-long)" &&
	grep -Eq "^perfdata: [0-9]+ of [0-9]+ items dropped to keep the first line within 8 KiB$" <<<"$(rlong check-long)"; then
	ahd_pass "300 plugin perfdata items: Icinga recorded the first $n whole and exact (${#perf} bytes), the drop is said"
else
	ahd_fail "long perfdata: $bad; $n items, ${#perf} bytes; long: $(rlong check-long | head -3)"
fi
# The whole first line as printed (Icinga re-writes the perfdata): newline
# included, within 8 KiB (a long summary too: unit test check_first_line_fits_in_8_kib).
n=$(ip netns exec "$AHD_NODE" "$CTL" check long -c "$A/main.json" 2>&1 | head -1 | wc -c) || true
if ((n > 7000 && n <= 8192)); then
	ahd_pass "check long: the first line is $n bytes, newline included (at most 8192)"
else
	ahd_fail "check long: the first line is $n bytes"
fi
# Icinga 2.13 sends SIGTERM at the timeout, SIGKILL to the group 0.2 s
# later: check prints its own line if it is done by then (usually), else the
# guardian kills the plugin's group; either way no plugin is left (below).
hang_out=$(rout check-hang)
if [[ $(rstate check-hang) == UNKNOWN && $hang_out == "<Timeout exceeded.>"* &&
	( $hang_out != *ANYCAST-HEALTH* ||
	$hang_out == "<Timeout exceeded.>ANYCAST-HEALTH UNKNOWN - terminated by SIGTERM; still running: hang/h" ) ]]; then
	ahd_pass "hung plugin: Icinga's timeout gives UNKNOWN: $hang_out"
else
	ahd_fail "check-hang: $(rstate check-hang) $(rout check-hang)"
fi
expect check-hang-t UNKNOWN "ANYCAST-HEALTH UNKNOWN - timed out after 1s; still running: hang/h" ""
expect status-up OK "ANYCAST-HEALTH OK - up1 up: 2/2 probes OK" \
	"'state'=0;0;1;0;2 'announced'=1;;;0;1 'app_time'=${T};2;4;0 'raw_time'=${T};;;0" \
	"^up1/app: OK - APP OK - fine \("
expect status-drained WARNING "ANYCAST-HEALTH WARNING - drained1 drained: 1/1 probes OK" \
	"'state'=1;0;1;0;2 'announced'=0;;;0;1 'app_time'=${T};;;0"
expect status-down CRITICAL "ANYCAST-HEALTH CRITICAL - down1 down: app APP CRITICAL - broken \(0/1 probes OK\)" \
	"'state'=2;0;1;0;2 'announced'=0;;;0;1 'app_time'=${T};;;0"
expect status-all CRITICAL "ANYCAST-HEALTH CRITICAL - down1 down: app APP CRITICAL - broken \(0/1 probes OK\), drained1 drained: 1/1 probes OK, up1 up: 2/2 probes OK" \
	"'down1/state'=2;0;1;0;2 'down1/announced'=0;;;0;1 'down1/app_time'=${T};;;0 'drained1/state'=1;0;1;0;2 'drained1/announced'=0;;;0;1 'drained1/app_time'=${T};;;0 'up1/state'=0;0;1;0;2 'up1/announced'=1;;;0;1 'up1/app_time'=${T};2;4;0 'up1/raw_time'=${T};;;0"
expect status-nodaemon UNKNOWN "ANYCAST-HEALTH UNKNOWN - daemon not running: cannot reach the daemon at $AHD_TMP/run/nothing.sock: No such file or directory" ""
# Any local user may read the status (a monitoring agent needs no group)...
expect status-nobody CRITICAL "ANYCAST-HEALTH CRITICAL - down1 down: app APP CRITICAL - broken \(0/1 probes OK\), drained1 drained: 1/1 probes OK, up1 up: 2/2 probes OK" \
	"'down1/state'=2;0;1;0;2 'down1/announced'=0;;;0;1 'down1/app_time'=${T};;;0 'drained1/state'=1;0;1;0;2 'drained1/announced'=0;;;0;1 'drained1/app_time'=${T};;;0 'up1/state'=0;0;1;0;2 'up1/announced'=1;;;0;1 'up1/app_time'=${T};2;4;0 'up1/raw_time'=${T};;;0"
# ...and a socket it cannot reach is UNKNOWN with the reason, on stdout.
expect status-denied UNKNOWN "ANYCAST-HEALTH UNKNOWN - permission denied on the control socket $AHD_TMP/private/control.sock for uid [0-9]+: .*" ""
# The GraphiteWriter parsed every item: it warns of the control's bad=abc
# (a plain echo, not ours), of nothing of ours, and sent our values.
kill "$(cat "$AHD_TMP/graphite.pid")" 2>/dev/null || true
rm -f "$AHD_TMP/graphite.pid"
g=$(cat "$I/graphite.txt" 2>/dev/null || true)
gsvc() { grep -m1 -E "^icinga2\.node\.services\.$1\.[a-z-]+\.perfdata\.$2\.value $3 [0-9]+$" <<<"$g"; }
# shellcheck disable=SC2143 # grep -q would exit first; the grep feeding it would get SIGPIPE
if grep -q "Ignoring invalid perfdata.*'node!control-bad'" "$I/icinga.log" &&
	[[ -z $(grep "invalid perfdata" "$I/icinga.log" | grep -v "'node!control-bad'") ]] &&
	[[ -n $(gsvc check-ok app:conn 5) && -n $(gsvc check-ok app:ratio "0\\.50*") &&
	-n $(gsvc check-crit db:lag 600) && -n $(gsvc check-long m:metric_number_022 22.123456) &&
	-n $(gsvc status-up state 0) && -n $(gsvc status-down state 2) &&
	-n $(gsvc status-all "up1[^.]announced" 1) ]]; then
	ahd_pass "Icinga's GraphiteWriter: no invalid perfdata of ours (the control's bad=abc was caught), values received"
else
	ahd_fail "GraphiteWriter: $(grep -m3 'invalid perfdata' "$I/icinga.log" | cut -c1-300) graphite: $(grep -c . <<<"$g") lines: $(grep -E 'check-ok|check-crit|status-up|status-all' <<<"$g" | grep -v _time | sort -u -t' ' -k1,1 | head -12)"
fi

# Running: exists and is not a zombie (init reaps those in its own time).
alive() { [[ -r /proc/$1/stat ]] && [[ $(cut -d' ' -f3 /proc/"$1"/stat 2>/dev/null) != Z ]]; }

# --- No plugin left behind: every hang.sh and its child are gone.
left=''
sleep 0.3
nhang=0
for f in "$pids"/hang.*; do
	[[ -e $f ]] || continue
	nhang=$((nhang + 1))
	for p in $(cat "$f"); do
		alive "$p" && left+=" $p($(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null))"
	done
done
if ((nhang >= 3)) && [[ -z $left ]]; then
	ahd_pass "hung plugins ($nhang runs, under Icinga's timeout and -t): none left running"
else
	ahd_fail "hung plugins: $nhang runs, left running:$left"
fi

# --- A SIGKILL to check's process group (what a monitoring system may do): the guardian kills the plugin's group.
rm -f "$pids"/hang.*
setsid "$CTL" check hang -c "$A/main.json" >/dev/null 2>&1 &
cpid=$!
for ((i = 0; i < 100; i++)); do compgen -G "$pids/hang.*" >/dev/null && break; sleep 0.05; done
kill -KILL -- -"$cpid" || true
wait "$cpid" 2>/dev/null || true
sleep 0.5
left=''
for p in $(cat "$pids"/hang.* 2>/dev/null); do
	alive "$p" && left+=" $p($(cut -d' ' -f3 /proc/"$p"/stat 2>/dev/null))"
done
if compgen -G "$pids/hang.*" >/dev/null && [[ -z $left ]]; then
	ahd_pass "check's process group SIGKILLed: the plugin's own group was killed too"
else
	ahd_fail "after SIGKILL of check: left running:$left"
	for p in $(cat "$pids"/hang.* 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
fi

# --- check SIGKILLed right after it forked a plugin, before it could tell the
# guardian (an LD_PRELOAD fork() that kills its caller): the plugin's child
# announced its group itself, so the guardian still kills it.
cat >"$AHD_TMP/killfork.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The KILLFORK_Nth fork() writes the child's pid to KILLFORK_PIDFILE and kills its caller. */
pid_t
fork(void)
{
	static pid_t	(*real)(void);
	static int	n;
	const char	*want = getenv("KILLFORK_N"), *file = getenv("KILLFORK_PIDFILE");
	FILE		*f;
	pid_t		pid;

	if (real == NULL)
		real = (pid_t (*)(void))dlsym(RTLD_NEXT, "fork");
	pid = real();
	if (pid > 0 && want != NULL && file != NULL && ++n == atoi(want)) {
		if ((f = fopen(file, "w")) != NULL) {
			fprintf(f, "%d\n", (int)pid);
			fclose(f);
		}
		kill(getpid(), SIGKILL);
	}
	return pid;
}
EOF
cc -shared -fPIC -o "$AHD_TMP/killfork.so" "$AHD_TMP/killfork.c" -ldl
rm -f "$pids"/hang.* "$AHD_TMP/forked.pid"
# Fork 1 is the guardian, fork 2 the plugin.
rc=0
setsid -w env LD_PRELOAD="$AHD_TMP/killfork.so" KILLFORK_N=2 KILLFORK_PIDFILE="$AHD_TMP/forked.pid" \
	"$CTL" check hang -c "$A/main.json" >/dev/null 2>&1 || rc=$?
sleep 1
fpid=$(cat "$AHD_TMP/forked.pid" 2>/dev/null || true)
left=''
for p in $(pgrep -g "${fpid:-0}"); do alive "$p" && left+=" $p"; done
if ((rc == 137)) && [[ -n $fpid && -z $left ]]; then
	ahd_pass "check SIGKILLed right after forking a plugin: the plugin's group ($fpid) was killed"
else
	ahd_fail "check killed after fork: exit $rc, plugin $fpid, its group: $(pgrep -a -g "${fpid:-0}" | head -3)"
	if [[ -n $fpid ]]; then kill -KILL -- -"$fpid" 2>/dev/null || true; fi
fi

# --- status -t: a socket that accepts and never answers.
ahd_start_bg mute socat "UNIX-LISTEN:$AHD_TMP/mute.sock,fork" "EXEC:sleep 10"
for ((i = 0; i < 40; i++)); do [[ -S $AHD_TMP/mute.sock ]] && break; sleep 0.05; done
# The timer decides, never the socket's own timeout (same message every time), to the ms.
for t in 1 0.5; do
	rc=0 t0=$(ahd_now_ms)
	out=$("$CTL" status -s "$AHD_TMP/mute.sock" -t $t 2>&1) || rc=$?
	ms=$(($(ahd_now_ms) - t0))
	want=$(awk -v t=$t 'BEGIN { print t * 1000 }')
	if ((rc == 3 && ms >= want && ms < want + 700)) &&
		[[ $out == "ANYCAST-HEALTH UNKNOWN - no answer from the daemon at $AHD_TMP/mute.sock within ${t}s" ]]; then
		ahd_pass "status -t $t against a daemon that does not answer: UNKNOWN after $ms ms"
	else
		ahd_fail "status -t $t: exit $rc after $ms ms: $out"
	fi
done
ahd_stop_bg mute

# --- A bad configuration: an UNKNOWN plugin line first, stderr merged as Icinga 2 does.
echo '{ "interval": 5 ' >"$AHD_TMP/bad.json"
chmod 644 "$AHD_TMP/bad.json"
rc=0
out=$("$CTL" check --all -c "$AHD_TMP/bad.json" 2>&1) || rc=$?
if ((rc == 3)) && [[ $out == "ANYCAST-HEALTH UNKNOWN - configuration $AHD_TMP/bad.json invalid: "* ]] &&
	(($(wc -l <<<"$out") == 2)); then
	ahd_pass "bad configuration: exit 3, '${out%%$'\n'*}'"
else
	ahd_fail "bad configuration: exit $rc, '$out'"
fi

# --- A clean stop: metrics_file no longer claims a state, and still passes promtool.
ahd_stop_daemon
if out=$(promtool check metrics <"$prom" 2>&1) && grep -q '^anycast_healthd_running 0$' "$prom" &&
	! grep -q 'state="up"' "$prom" && grep -q '^anycast_healthd_prefix_announced{prefix="192.0.2.1/32",interface="lo"} 0$' "$prom"; then
	ahd_pass "after a clean stop metrics_file says running 0, no service state, prefixes withdrawn (promtool OK)"
else
	ahd_fail "metrics after stop: $out $(head -c 400 "$prom")"
fi

# --- The FRR driver's failures are exported: a network-method service with a
# vtysh that always fails (/bin/false), no FRR needed (a pathspace where
# no vty socket is: every read falls back to that vtysh, whatever FRR the
# host runs).
C=$AHD_TMP/c
mkdir -p "$C/services.d"
cat >"$C/main.json" <<JSON
{ "interface": "lo", "on_exit": "withdraw", "control_socket": "$AHD_TMP/run/c.sock",
  "state_file": "$AHD_TMP/run/c-state.json", "metrics_file": "$AHD_TMP/run/c.prom",
  "frr": { "vtysh": "/bin/false", "asn": 65001, "timeout": "1s", "pathspace": "ahd-none-$$" } }
JSON
cat >"$C/services.d/net1.json" <<JSON
{ "prefixes": ["192.0.2.4/32"], "method": "network", "interval": "300ms", "timeout": "250ms",
  "probes": [ $(st app 'APP OK' 0) ] }
JSON
chmod 644 "$C/main.json" "$C/services.d/net1.json"
ahd_start_daemon "$C/main.json"
m=''
for ((i = 0; i < 60; i++)); do
	m=$("$CTL" -s "$AHD_TMP/run/c.sock" metrics 2>/dev/null) || true
	[[ $m =~ anycast_healthd_frr_failures_total\ [1-9] ]] && break
	sleep 0.1
done
if [[ $m =~ anycast_healthd_frr_failures_total\ [1-9] && $m == *'anycast_healthd_frr_failing 1'* &&
	$m =~ anycast_healthd_frr_calls_total\ [1-9] && $m == *'anycast_healthd_frr_vty_reads_total '* &&
	$m =~ anycast_healthd_frr_vty_fallbacks_total\ [1-9] ]] && out=$(promtool check metrics <<<"$m" 2>&1); then
	ahd_pass "FRR driver failures exported (vtysh /bin/false): $(grep -o '^anycast_healthd_frr_failures_total [0-9]*' <<<"$m"), promtool OK"
else
	ahd_fail "FRR metrics: ${out:-} $(grep frr_ <<<"$m" | head -12)"
fi
ahd_stop_daemon

ahd_summary
