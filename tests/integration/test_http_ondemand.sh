#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# libcurl on demand (probes/http_curl.c): a daemon with only a tcp probe
# maps neither libcurl nor the TLS libraries it brings, and runs where
# libcurl.so.4 cannot be loaded (hidden by an empty file bind-mounted over
# it in a mount namespace of the daemon's own). There, a reload that adds an
# http probe is refused with an error naming the library, and the old
# configuration keeps running; `validate` and a start with that
# configuration fail with the same error. Where libcurl loads, the same
# reload maps it and the http probe, against nginx, announces its prefix
# (so step 2's "not announced" is the load failing, not the server). The daemon runs in a namespace of its own (addresses on
# its lo); FRR is not needed.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

TCP=192.0.2.91/32 WEB=192.0.2.92/32 PORT=9191 HPORT=9192
# What linking libcurl used to map into every daemon.
HEAVY='libcurl|libcrypto|libssl|libgnutls|libnettle|libhogweed|libgmp|libp11-kit|libssh|libldap|libkrb5|librtmp|libnghttp2|libpsl|libidn2|libbrotli'

ahd_init
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
: "${AHD_HEALTHCTL:?AHD_HEALTHCTL must point at the built anycast-healthctl}"
[[ $EUID -eq 0 ]] || { ahd_log "must run as root"; exit 1; }
command -v nginx >/dev/null || { ahd_fail "nginx is not installed (tests/deps.sh)"; ahd_summary; exit 1; }
# awk reads all of ldconfig's output: an awk that exits at the first match
# leaves ldconfig writing into a closed pipe, and under pipefail its SIGPIPE
# (141) ends this script (seen in CI, where the cache is larger).
so_list=$(ldconfig -p)
curl_so=$(awk '$1 == "libcurl.so.4" && /x86-64|64bit/ && !f { f = $NF } END { print f }' <<<"$so_list")
[[ -n $curl_so ]] || curl_so=$(awk '$1 == "libcurl.so.4" && !f { f = $NF } END { print f }' <<<"$so_list")
[[ -e $curl_so ]] || { ahd_log "libcurl.so.4 is not installed"; exit 1; }
ahd_setup_netns
ahd_start_tcp_service tcpsrv "$PORT"
ahd_nginx_setup "$HPORT"
ahd_start_nginx

etc=$AHD_TMP/etc sock=$AHD_TMP/ctl.sock
mkdir -p "$etc/services.d"
: >"$AHD_TMP/empty.so"
cat >"$etc/main.json" <<JSON
{ "interface": "lo", "frr": { "pathspace": "ahd-none-$$" },
  "on_exit": "withdraw", "control_socket": "$sock",
  "state_file": "$AHD_TMP/state.json", "log": { "level": "info", "format": "text" } }
JSON
cat >"$etc/services.d/tcp.json" <<JSON
{ "prefixes": ["$TCP"], "interval": "200ms", "timeout": "150ms", "rise": 1, "fall": 1,
  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": $PORT } ] }
JSON
web_json() {
	cat >"$etc/services.d/web.json" <<JSON
{ "prefixes": ["$WEB"], "interval": "200ms", "timeout": "150ms", "rise": 1, "fall": 1,
  "probes": [ { "type": "http", "url": "http://127.0.0.1:$HPORT/healthz",
    "headers": { "Host": "www.example.com" }, "expect_status": ["2xx"] } ] }
JSON
	chmod 644 "$etc/services.d/web.json"
}
chmod 644 "$etc/main.json" "$etc/services.d/tcp.json"

# "${NOLIB[@]}" CMD...: CMD where libcurl.so.4 is an empty file (dlopen: "file too short").
# shellcheck disable=SC2016 # expanded by the inner sh
NOLIB=(unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
	nolib "$AHD_TMP/empty.so" "$curl_so")
ctl() { "$AHD_HEALTHCTL" -s "$sock" "$@"; }
heavy_maps() { grep -oE "/[^ ]*($HEAVY)[^ /]*\$" "/proc/$1/maps" | sort -u | tr '\n' ' ' || true; }
wait_up() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -S $sock ]] && ahd_on_lo "$1" && return 0
		sleep 0.05
	done
	return 1
}

# 1. tcp only, libcurl hidden: runs, announces, maps none of libcurl's libraries.
ahd_start_bg daemon "${NOLIB[@]}" "$AHD_DAEMON" -c "$etc/main.json"
pid=$(ahd_daemon_pid)
if wait_up "$TCP" && [[ $(cat "/proc/$pid/comm") == anycast-health* ]] &&
	heavy=$(heavy_maps "$pid") && [[ -z $heavy ]]; then
	ahd_pass "tcp only, libcurl.so.4 unloadable: running, $TCP announced, none of libcurl's libraries mapped ($(wc -l <"/proc/$pid/maps") mappings)"
else
	ahd_fail "tcp only without libcurl: heavy mappings '${heavy:-?}' $(tail -5 "$AHD_TMP/daemon.log")"
fi

# 2. A reload adding an http probe: refused, named, the old configuration kept.
web_json
rc=0
out=$(ctl reload 2>&1) || rc=$?
sleep 0.5
if ((rc == 2)) && [[ $out == *"web.json"*"http probe: cannot load libcurl.so.4: "*"file too short"* ]] &&
	kill -0 "$pid" && ahd_on_lo "$TCP" && ! ahd_on_lo "$WEB" &&
	st=$(ctl status 2>&1) && [[ $st == *tcp* && $st != *web* ]] && [[ -z $(heavy_maps "$pid") ]]; then
	ahd_pass "reload with an http probe, libcurl unloadable: exit 2 '$(head -1 <<<"$out" | cut -c1-160)', old configuration kept"
else
	ahd_fail "reload without libcurl: rc=$rc out='$(head -c 300 <<<"$out")' status='$(head -c 200 <<<"${st:-}")'"
fi

# 3. validate, and a start, with that configuration fail with the same error.
rc=0
out=$("${NOLIB[@]}" "$AHD_HEALTHCTL" -c "$etc/main.json" validate 2>&1) || rc=$?
if ((rc == 2)) && [[ $out == *"http probe: cannot load libcurl.so.4: "* ]]; then
	ahd_pass "validate without libcurl: exit 2, the library named"
else
	ahd_fail "validate without libcurl: rc=$rc $(head -c 300 <<<"$out")"
fi
ahd_stop_daemon || true
rc=0
ahd_node "${NOLIB[@]}" timeout 10 "$AHD_DAEMON" -c "$etc/main.json" >"$AHD_TMP/start.log" 2>&1 ||
	rc=$?
if ((rc != 0 && rc != 124)) && grep -q 'http probe: cannot load libcurl.so.4: ' "$AHD_TMP/start.log"; then
	ahd_pass "start without libcurl and an http probe: exit $rc, the library named in the log"
else
	ahd_fail "start without libcurl: rc=$rc $(tail -3 "$AHD_TMP/start.log")"
fi

# 4. libcurl loadable: the same reload is accepted and maps it.
rm -f "$etc/services.d/web.json"
ahd_start_daemon "$etc/main.json"
pid=$(ahd_daemon_pid)
wait_up "$TCP" || true
before=$(heavy_maps "$pid")
web_json
rc=0
out=$(ctl reload 2>&1) || rc=$?
after=$(heavy_maps "$pid")
if [[ -z $before ]] && ((rc == 0)) && [[ $after == *libcurl.so.4* ]]; then
	ahd_pass "with libcurl: tcp only maps none, the reload adding http loads it: $out; now mapped: $(wc -w <<<"$after") of libcurl's libraries"
else
	ahd_fail "reload with libcurl: rc=$rc '$out' before='$before' after='$after'"
fi
# The table loaded at reload time drives real transfers: nginx's 200 announces WEB.
if wait_up "$WEB"; then
	ahd_pass "the http probe loaded at reload time checks nginx: $WEB announced"
else
	ahd_fail "http probe after the reload-time load: $WEB not announced: $(ctl status 2>&1 | grep -i web | head -3)"
fi
ahd_stop_daemon || true
ahd_summary
