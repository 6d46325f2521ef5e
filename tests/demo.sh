#!/usr/bin/env bash
# Installs dependencies, builds, and runs the live demo against real FRR.
# Run as root on Debian 12. AHD_SKIP_DEPS=1 skips the apt-get step.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ "${AHD_SKIP_DEPS:-0}" = 1 ] || bash "$top/tests/deps.sh"
bash "$top/tests/build.sh" "$top/_build" >/dev/null
AHD_DAEMON="$top/_build/anycast-healthd" bash "$top/tests/integration/demo.sh"
