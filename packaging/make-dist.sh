#!/usr/bin/env bash
# Builds the release tarball (make dist) of this tree in a scratch build
# directory: packaging/make-dist.sh OUTDIR. Prints the tarball's path.
# Uncommitted changes are included: it packs the working tree.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1)
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
(cd "$build" && "$top/configure" -q --disable-tests && make -s dist-gzip >/dev/null)
tarball=$(cd "$build" && ls anycast-healthd-*.tar.gz)
mv "$build/$tarball" "$out/"
echo "$out/$tarball"
