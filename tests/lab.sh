#!/usr/bin/env bash
# The anycast lab (the README's first command): installs dependencies,
# builds, and runs tests/lab/lab.sh. Run as root on Debian 12.
# AHD_SKIP_DEPS=1 skips the apt-get step; arguments go to lab.sh (--long: 10 min of flapping).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ "${AHD_SKIP_DEPS:-0}" = 1 ] || bash "$top/tests/deps.sh"
bash "$top/tests/build.sh" "$top/_build" >/dev/null
AHD_BUILD="$top/_build" exec bash "$top/tests/lab/lab.sh" "$@"
