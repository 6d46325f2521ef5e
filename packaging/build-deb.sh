#!/usr/bin/env bash
# Builds the .deb from this tree: packaging/build-deb.sh [OUTDIR]
# (default OUTDIR: _packages in the repository). Needs the Build-Depends of
# packaging/debian/control (tests/deps.sh installs them) and dpkg-dev.
#
# debian/ lives in packaging/debian so that the tree's top stays the
# upstream project: the release tarball (make dist) is unpacked in a scratch
# directory, packaging/debian is copied to debian/ there, and
# dpkg-buildpackage builds binary packages only (no source package, no
# signature). The unit tests do not run here (CI runs them on every change).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/_packages}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tarball=$(bash "$top/packaging/make-dist.sh" "$work")
version=$(basename "$tarball" .tar.gz)
version=${version#anycast-healthd-}
deb_version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
if [ "${deb_version%-*}" != "$version" ]; then
	echo "build-deb: the tarball is $version but packaging/debian/changelog says $deb_version:" \
	    "add a changelog entry (dch -v $version-1)" >&2
	exit 1
fi
tar -xzf "$tarball" -C "$work"
src=$work/anycast-healthd-$version
cp -a "$src/packaging/debian" "$src/debian"
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
	tail -n 40 "$work/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (last 40 lines above)" >&2
	exit 1
}
# The .changes (and .buildinfo) too: lintian checks the upload as a whole.
for f in "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo; do
	[ -e "$f" ] || continue
	mv "$f" "$out/"
	echo "$out/$(basename "$f")"
done
