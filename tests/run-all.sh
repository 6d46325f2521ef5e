#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit tests (also under
# ASan/UBSan) and the integration tests against real FRR and GoBGP.
# Run as root on Debian 12. AHD_SKIP_DEPS=1 skips the apt-get step.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "${AHD_SKIP_DEPS:-0}" = 1 ] || bash tests/deps.sh || exit 1

fail=0
step() { echo; echo "=== $* (at ${SECONDS}s)"; }

step "build (warnings are errors)"
bash tests/build.sh "$top/_build" --enable-werror || exit 1

step "layers: include direction, file and function lengths"
bash tests/check-layers.sh || fail=1

step "unit tests"
"$top/_build/tests/unit/unit_tests" --jobs 2 || fail=1

step "unit tests under ASan/UBSan"
bash tests/build.sh "$top/_build-asan" --enable-werror --enable-sanitizers || exit 1
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	"$top/_build-asan/tests/unit/unit_tests" --jobs 2 || fail=1

step "fuzzing the parsers (libFuzzer, ${AHD_FUZZ_SECONDS:-30} s per target)"
bash tests/fuzz/run.sh || fail=1

step "integration tests (FRR + GoBGP in network namespaces)"
AHD_BUILD="$top/_build" bash tests/integration/run.sh || fail=1

echo
[ $fail = 0 ] && echo "ALL TESTS PASSED" || echo "SOME TESTS FAILED"
exit $fail
