#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_NAME.c) with clang (ASan +
# UBSan) and runs each for AHD_FUZZ_SECONDS (default 30) from its seed corpus
# (corpus/NAME/) with its dictionary (NAME.dict) if there is one. Prints
# "N passed, N failed" (a target passes when the fuzzer found nothing: no
# crash, leak, UB, or broken invariant, which the targets abort() on).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${AHD_FUZZ_SECONDS:-30}
out=$top/_build-fuzz
mkdir -p "$out"
passed=0 failed=0
flags=(-std=gnu11 -D_GNU_SOURCE -DPACKAGE_NAME='"anycast-healthd"' -DPACKAGE_VERSION='"fuzz"' -g -O1 -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -I"$top/agent/lib" -I"$top/agent/cfg"
	-I"$top/probes" -I"$top/agent/svc" -I"$top/agent/route" -I"$top/agent/daemon")
# libcurl: headers only, as in Makefile.am (probes/http_curl.c dlopen()s it),
# so a direct curl call fails to link here too.
libs="$(pkg-config --cflags --libs json-c libsystemd libmnl) $(pkg-config --cflags libcurl)"
# What libahd.a holds: every layer below the programs, and the control
# socket and status modules of agent/daemon/ (see Makefile.am).
core=("$top"/agent/{lib,cfg,svc,route}/*.c "$top"/probes/*.c
	"$top"/agent/daemon/ctl.c "$top"/agent/daemon/status.c)
for src in "$top"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	corpus=$top/tests/fuzz/corpus/${name#fuzz_}
	# shellcheck disable=SC2086
	if ! clang "${flags[@]}" "$src" "${core[@]}" $libs -lresolv -o "$out/$name" 2>"$out/$name.build.log"; then
		echo "FAIL: $name does not build (see $out/$name.build.log)"
		failed=$((failed + 1))
		continue
	fi
	work=$(mktemp -d)
	cp -r "$corpus"/. "$work"/ 2>/dev/null || true
	dict=(); [[ -f $top/tests/fuzz/${name#fuzz_}.dict ]] && dict=(-dict="$top/tests/fuzz/${name#fuzz_}.dict")
	if "$out/$name" "${dict[@]}" -max_total_time="$secs" -max_len=8192 -timeout=5 \
		-artifact_prefix="$out/$name-" "$work" >"$out/$name.log" 2>&1; then
		done_line=$(grep -E '^Done [0-9]+ runs' "$out/$name.log" | head -1)
		read -r runs took < <(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) .*/\1 \2/' <<<"$done_line")
		echo "PASS: $name: $done_line ($((runs / (took > 0 ? took : 1))) exec/s), no crash, leak, UB or broken invariant"
		passed=$((passed + 1))
	else
		echo "FAIL: $name found a problem:"
		grep -E 'ERROR|SUMMARY|runtime error' "$out/$name.log" | head -5
		failed=$((failed + 1))
	fi
	rm -rf "$work"
done
rm -rf /tmp/ahd-fuzz-*
echo "$passed passed, $failed failed"
((failed == 0))
