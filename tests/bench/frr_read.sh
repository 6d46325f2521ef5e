#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# tests/bench/frr_read.sh: CPU of one FRR read (`show running-config` and
# its parse, what the periodic check does every 10 s) by the driver itself,
# through bgpd's vty socket and through vtysh, against a real FRR (zebra +
# bgpd in the harness's namespace). A benchmark, not a test; as root, after
# a build, ~30 s:
#   AHD_BUILD=$PWD/_build bash tests/bench/frr_read.sh
# FRR_READ_N (default 500) socket reads, a fifth as many vtysh reads; prints
# a markdown row "| one FRR read ... | socket µs | vtysh µs | ratio |".
set -euo pipefail

cd "$(dirname "$0")"
# shellcheck source=../integration/lib.sh
. ../integration/lib.sh
AHD_BUILD=${AHD_BUILD:-$AHD_SRCDIR/_build}
N=${FRR_READ_N:-500}

ahd_init
ahd_require_root_tools
inc=()
for d in agent/lib agent/cfg probes agent/svc agent/route; do
	inc+=("-I$AHD_SRCDIR/$d")
done
# shellcheck disable=SC2046
cc -O2 -std=gnu11 "${inc[@]}" -I"$AHD_BUILD" -o "$AHD_TMP/frr_read" frr_read.c \
	"$AHD_BUILD/libahd.a" $(pkg-config --libs libsystemd json-c libmnl) -lresolv -lm
ahd_setup_netns
ahd_start_frr
ahd_log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# Per read: own CPU + children's CPU, in µs.
per_read() { [[ $1 =~ per\ read\ ([0-9]+)\ us\ own\ CPU\ \+\ ([0-9]+)\ us ]] &&
	echo $((BASH_REMATCH[1] + BASH_REMATCH[2])); }
sock='' vt=''
if out=$("$AHD_TMP/frr_read" /usr/bin/vtysh "$AHD_NODE" "$N" vty) &&
    [[ $out == *"fallbacks 0, vtysh calls 0"* ]] && sock=$(per_read "$out"); then
	ahd_pass "$out"
else
	ahd_fail "socket reads: ${out:-}"
fi
if out=$("$AHD_TMP/frr_read" /usr/bin/vtysh "$AHD_NODE" $((N / 5)) vtysh) &&
    [[ $out == *"socket reads 0,"* ]] && vt=$(per_read "$out"); then
	ahd_pass "$out"
else
	ahd_fail "vtysh reads: ${out:-}"
fi
if [[ -n $sock && -n $vt ]]; then
	printf '| one FRR read (show running-config + parse), CPU µs: vty socket vs vtysh | %s | %s | %s |\n' \
		"$sock" "$vt" "$(awk -v a="$sock" -v b="$vt" 'BEGIN { printf "%.0f", b / (a > 0 ? a : 1) }')"
fi
ahd_log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
ahd_summary
