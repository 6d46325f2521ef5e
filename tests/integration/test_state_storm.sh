#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A storm: AHD_STORM services (default 2000, method address, one tcp probe
# each to the same port) all fail at once, then all recover at once. They
# fail against a listener that never accepts (its queue full, SYNs are
# dropped): every attempt holds its socket until the probe's timeout, so
# about 1600 sockets are open at once, beyond the usual soft limit of 1024
# the daemon is started with (the hard limit is higher). Counts the writes
# of the state file and of the metrics file during each storm (the daemon's
# counters anycast_healthd_state_file_writes_total and
# anycast_healthd_metrics_file_writes_total, incremented once per rename
# into place), times `status` while the storm runs, and checks the
# open-files limit the daemon runs with and that no probe ran out of
# descriptors. No FRR: the kernel side (addresses on lo in a namespace) is
# enough here.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

N=${AHD_STORM:-2000}
PORT=8071
# Writes are coalesced to at most one per 100 ms: a storm of ~2 s (fall 2 x
# 1 s plus the jitter) is about twenty; before, one per transition (N).
MAX_WRITES=40
STATUS_MS=1000

ahd_init
if [[ $EUID -ne 0 ]] || ! command -v perl >/dev/null; then
	ahd_log "must run as root with perl"
	exit 1
fi
# The daemon starts with the usual soft limit and must raise it itself.
if (($(ulimit -Hn) < 4096)) && [[ $(ulimit -Hn) != unlimited ]]; then
	ahd_log "the hard open files limit $(ulimit -Hn) is too low for this test"
	exit 1
fi
ulimit -Sn 1024
: "${AHD_DAEMON:?AHD_DAEMON must point at the built anycast-healthd}"
: "${AHD_HEALTHCTL:?AHD_HEALTHCTL must point at the built anycast-healthctl}"
ahd_setup_netns

etc=$AHD_TMP/etc
mkdir -p "$etc/services.d"
# Each fall is measured on its own: flap damping (on by default) would
# suppress the service from the third fall within a minute.
cat >"$etc/anycast-healthd.json" <<JSON
{ "interface": "lo", "frr": { "pathspace": "ahd-none-$$" },
  "defaults": { "damping": false }, "control_socket": "$AHD_TMP/ctl.sock", "state_file": "$AHD_TMP/state.json",
  "metrics_file": "$AHD_TMP/metrics.prom", "log": { "level": "warning", "format": "json" } }
JSON
for ((i = 0; i < N; i++)); do
	name=$(printf 's%04d' "$i")
	printf '{ "prefixes": ["198.18.%d.%d/32"], "interval": "1s", "timeout": "800ms", "rise": 2, "fall": 2,\n  "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": %d } ] }\n' \
		$((i / 250)) $((i % 250 + 1)) "$PORT" >"$etc/services.d/$name.json"
done
chmod 644 "$etc"/*.json "$etc"/services.d/*.json

ctl() { "$AHD_HEALTHCTL" -c "$etc/anycast-healthd.json" "$@"; }
on_lo() { ahd_node ip -4 -o addr show dev lo | grep -c ' 198\.18\.' || true; }
wait_on_lo() { # COUNT SECS
	local end=$(($(ahd_now_ms) + $2 * 1000))
	while (($(ahd_now_ms) < end)); do
		(($(on_lo) == $1)) && return 0
		sleep 0.1
	done
	return 1
}
writes() { ctl metrics | awk '/^anycast_healthd_state_file_writes_total\{result="ok"\}/ { print $2 }'; }
metrics_writes() { awk '/^anycast_healthd_metrics_file_writes_total / { print $2 }' "$AHD_TMP/metrics.prom"; }
# Times `status` while the storm runs, and counts the daemon's open
# descriptors; prints the slowest status in ms and the most descriptors.
status_times() { # SECS
	local end=$(($(ahd_now_ms) + $1 * 1000)) t0 worst=0 d fds most=0
	while (($(ahd_now_ms) < end)); do
		t0=$(ahd_now_ms)
		ctl status >/dev/null 2>&1 || true
		d=$(($(ahd_now_ms) - t0))
		((d > worst)) && worst=$d
		fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		((fds > most)) && most=$fds
		sleep 0.1
	done
	echo "$worst $most"
}

# accept: takes every connection and closes it; stall: a queue of one,
# never accepted, so that further SYNs are dropped.
listener() { # accept|stall
	ahd_start_bg lsn perl -MSocket -e '
		socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
		setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
		bind($s, sockaddr_in($ARGV[0], inet_aton("127.0.0.1"))) or die "bind: $!";
		listen($s, $ARGV[1] eq "accept" ? 4096 : 0) or die "listen: $!";
		if ($ARGV[1] eq "accept") { while (accept(my $c, $s)) { close $c } }
		sleep 1000000;' "$PORT" "$1"
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -n $(ahd_node ss -Hltn "sport = :$PORT") ]] && return 0
		sleep 0.05
	done
	ahd_log "the $1 listener did not listen on 127.0.0.1:$PORT"
	return 1
}

listener accept
t0=$(ahd_now_ms)
ahd_start_daemon "$etc/anycast-healthd.json"
if wait_on_lo "$N" 30; then
	ahd_pass "$N services up, their addresses on lo after $(($(ahd_now_ms) - t0)) ms"
else
	ahd_fail "only $(on_lo) of $N addresses on lo"
fi
pid=$(ahd_daemon_pid)
read -r soft hard < <(awk '/^Max open files/ { print $4, $5 }' "/proc/$pid/limits")
if [[ $soft == "$hard" ]]; then
	ahd_pass "open files limit raised to the hard limit ($soft)"
else
	ahd_fail "open files limit: soft $soft, hard $hard"
fi

for storm in down up; do
	w0=$(writes) m0=$(metrics_writes)
	t0=$(ahd_now_ms)
	ahd_stop_bg lsn
	if [[ $storm == down ]]; then
		listener stall
		want=0
	else
		listener accept
		want=$N
	fi
	read -r worst most < <(status_times 3)
	if wait_on_lo "$want" 20; then
		took=$(($(ahd_now_ms) - t0))
		sleep 0.5	# the last coalesced write
		w1=$(writes) m1=$(metrics_writes)
		echo "storm $storm: $N services in $took ms: $((w1 - w0)) state file writes, $((m1 - m0)) metrics file writes; slowest status ${worst} ms; at most $most descriptors open"
		if ((w1 - w0 >= 1 && w1 - w0 <= MAX_WRITES && m1 - m0 <= MAX_WRITES)); then
			ahd_pass "storm $storm: $((w1 - w0)) state and $((m1 - m0)) metrics writes for $N transitions (at most $MAX_WRITES)"
		else
			ahd_fail "storm $storm: $((w1 - w0)) state and $((m1 - m0)) metrics writes for $N transitions"
		fi
		# The failing storm must go beyond the soft limit it started with.
		if [[ $storm == down ]]; then
			if ((most > 1024)); then
				ahd_pass "storm down: $most descriptors open at once (started with a soft limit of 1024)"
			else
				ahd_fail "storm down: only $most descriptors open at once, more than 1024 expected"
			fi
		fi
		if ((worst <= STATUS_MS)); then
			ahd_pass "storm $storm: status answered within ${worst} ms"
		else
			ahd_fail "storm $storm: status took ${worst} ms"
		fi
	else
		ahd_fail "storm $storm: $(on_lo) addresses on lo, expected $want"
	fi
done
n=$(grep -c '"prefix": "198.18' "$AHD_TMP/state.json" || true)
if ((n == N)); then
	ahd_pass "the state file lists the $N announced prefixes"
else
	ahd_fail "the state file lists $n prefixes, $N announced"
fi
if grep -q 'Too many open files' "$AHD_TMP/daemon.log"; then
	ahd_fail "probes ran out of descriptors: $(grep -m 1 'Too many open files' "$AHD_TMP/daemon.log")"
else
	ahd_pass "no 'Too many open files' with up to $N sockets in flight"
fi
ahd_stop_daemon
ahd_stop_bg lsn
# A hard limit too low for the configuration is reported at start.
ahd_node bash -c "ulimit -n 256 && exec timeout 1 \"\$0\" -c \"\$1\"" "$AHD_DAEMON" \
	"$etc/anycast-healthd.json" >"$AHD_TMP/low.log" 2>&1 || true
if grep -q 'open files limit 256 is too low' "$AHD_TMP/low.log"; then
	ahd_pass "a hard limit of 256 for $N services is reported at start"
else
	ahd_fail "no warning about a low open files limit: $(head -c 300 "$AHD_TMP/low.log")"
fi
ahd_summary
