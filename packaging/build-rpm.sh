#!/usr/bin/env bash
# Builds the binary RPM from this tree: packaging/build-rpm.sh [OUTDIR]
# (default OUTDIR: _packages in the repository), in a scratch rpmbuild
# top directory, from the release tarball (make dist) and
# packaging/rpm/anycast-healthd.spec. The unit tests do not run here.
#
# On EL9/Fedora (systemd-rpm-macros installed) this is a normal build. On
# Debian, whose rpm lacks those macros and whose packages do not satisfy
# RPM BuildRequires, it loads packaging/rpm/debian-build.macros and passes
# --nodeps: good for checking the spec and the package contents.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/_packages}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{BUILD,BUILDROOT,RPMS,SOURCES,SPECS,SRPMS}

tarball=$(bash "$top/packaging/make-dist.sh" "$work/SOURCES")
version=$(basename "$tarball" .tar.gz)
version=${version#anycast-healthd-}
spec=$top/packaging/rpm/anycast-healthd.spec
spec_version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
if [ "$spec_version" != "$version" ]; then
	echo "build-rpm: the tarball is $version but the spec says $spec_version" >&2
	exit 1
fi
cp "$top/packaging/anycast-healthd.sysusers" "$work/SOURCES/"
cp "$spec" "$work/SPECS/"

args=(--define "_topdir $work" -bb)
if [ -z "$(rpm --eval '%{?systemd_post}')" ]; then
	args+=(--load "$top/packaging/rpm/debian-build.macros" --nodeps)
fi
rpmbuild "${args[@]}" "$work/SPECS/anycast-healthd.spec" >"$work/build.log" 2>&1 || {
	tail -n 40 "$work/build.log" >&2
	echo "build-rpm: rpmbuild failed (last 40 lines above)" >&2
	exit 1
}
find "$work/RPMS" -name '*.rpm' | while read -r f; do
	mv "$f" "$out/"
	echo "$out/$(basename "$f")"
done
