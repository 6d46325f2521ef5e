#!/bin/bash
# Packaging: builds the .deb (packaging/build-deb.sh) and checks its contents,
# conffiles and dependencies; runs lintian when installed (errors fail,
# warnings are reported); installs it for real with dpkg, checks the system
# user (and its frrvty membership), the shipped configuration, the example
# service, the man pages and the templates, runs the installed daemon as
# that user with the unit's capabilities (as the unit does) in a scratch network
# namespace, upgrades to a repacked 0.1.0-1+test2 to see a modified conffile
# kept, then purges and checks that nothing is left. Then builds the .rpm
# (packaging/build-rpm.sh) and checks its files, config flags and scripts.
#
# Needs no FRR/GoBGP namespaces (not lib.sh), but root and a machine where
# installing and purging the package is acceptable (the CI VM). It refuses
# to run if anycast-healthd is installed, its user exists already, or
# /etc/anycast-healthd or /run/anycast-healthd exist (someone else's), and
# purges what it installed on any exit.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
no() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # MSG CMD...: PASS if CMD succeeds
	local msg=$1
	shift
	if "$@"; then ok "$msg"; else no "$msg"; fi
}
summary() { echo "$pass passed, $fail failed"; ((fail == 0)); }

tmp=$(mktemp -d)
installed=0 daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	((installed)) && dpkg --purge anycast-healthd >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	no "must run as root (installs the package)"
	summary
	exit 1
fi
for t in dpkg-buildpackage dh rpmbuild; do
	command -v $t >/dev/null || no "$t missing (bash tests/deps.sh installs it)"
done
if dpkg-query -W -f '${db:Status-Status}' anycast-healthd 2>/dev/null | grep -qv '^not-installed$\|^$' ||
    getent passwd anycast-healthd >/dev/null || [ -e /etc/anycast-healthd ] ||
    [ -e /run/anycast-healthd ] || [ -e /var/lib/anycast-healthd ]; then
	# /run/anycast-healthd: a daemon run by hand as root with the default
	# paths uses it, and purging the package removes it.
	no "anycast-healthd is installed, or its user, /etc/anycast-healthd or /run/anycast-healthd exists: not touching this machine"
fi
((fail)) && { summary; exit 1; }

version=$(sed -n 's/^AC_INIT(\[anycast-healthd\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")

# --- build ------------------------------------------------------------------
t0=$(date +%s)
if bash "$top/packaging/build-deb.sh" "$tmp/out" >"$tmp/build-deb.log" 2>&1; then
	ok "build-deb.sh built the .deb in $(($(date +%s) - t0)) s"
else
	cat "$tmp/build-deb.log"
	no "build-deb.sh failed"
	summary
	exit 1
fi
deb=$tmp/out/anycast-healthd_${version}-1_$(dpkg --print-architecture).deb
check "the .deb is named after configure.ac's version $version" test -f "$deb"

# --- contents ---------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' | sed 's,\./,/,' >"$tmp/contents"
has() { # MODE OWNER PATH
	grep -qxF -- "$1 $2 $3" "$tmp/contents" || { echo "# missing: $*"; return 1; }
}
all_there=1
for f in /usr/sbin/anycast-healthd /usr/sbin/anycast-healthctl; do
	has -rwxr-xr-x root/root "$f" || all_there=0
done
for f in /lib/systemd/system/anycast-healthd.service \
    /usr/lib/sysusers.d/anycast-healthd.conf \
    /usr/share/man/man8/anycast-healthd.8.gz \
    /usr/share/man/man8/anycast-healthctl.8.gz \
    /usr/share/man/man5/anycast-healthd.json.5.gz \
    /usr/share/anycast-healthd/frr-templates/bgpd-address-method.conf \
    /usr/share/anycast-healthd/frr-templates/anycast-healthd.conf \
    /usr/share/anycast-healthd/pam.d/frr /usr/share/anycast-healthd/pam.d/other \
    /etc/anycast-healthd/anycast-healthd.json \
    /etc/anycast-healthd/services.d/example.json.disabled \
    /usr/share/doc/anycast-healthd/copyright; do
	has -rw-r--r-- root/root "$f" || all_there=0
done
check "the .deb holds binaries, unit, sysusers file, man pages, templates, /etc files" test $all_there = 1
files=$(grep -v '^d' "$tmp/contents" | cut -d' ' -f3 | sort)
expected=$(sort <<'EOF'
/etc/anycast-healthd/anycast-healthd.json
/etc/anycast-healthd/services.d/example.json.disabled
/lib/systemd/system/anycast-healthd.service
/usr/lib/sysusers.d/anycast-healthd.conf
/usr/sbin/anycast-healthctl
/usr/sbin/anycast-healthd
/usr/share/anycast-healthd/frr-templates/anycast-healthd.conf
/usr/share/anycast-healthd/frr-templates/bgpd-address-method.conf
/usr/share/anycast-healthd/pam.d/frr
/usr/share/anycast-healthd/pam.d/other
/usr/share/doc/anycast-healthd/README.md.gz
/usr/share/doc/anycast-healthd/changelog.Debian.gz
/usr/share/doc/anycast-healthd/copyright
/usr/share/lintian/overrides/anycast-healthd
/usr/share/man/man5/anycast-healthd.json.5.gz
/usr/share/man/man8/anycast-healthctl.8.gz
/usr/share/man/man8/anycast-healthd.8.gz
EOF
)
stray=$(comm -23 <(echo "$files") <(echo "$expected") | tr '\n' ' ')
check "the .deb holds nothing else${stray:+ (stray: $stray)}" test -z "$stray"

dpkg-deb -e "$deb" "$tmp/control"
check "conffiles are exactly the main file and the example service" \
    test "$(sort "$tmp/control/conffiles")" = "/etc/anycast-healthd/anycast-healthd.json
/etc/anycast-healthd/services.d/example.json.disabled"
depends=$(dpkg-deb -f "$deb" Depends)
missing=
for lib in libcurl4 libmnl0 libjson-c5 libsystemd0; do
	[[ $depends == *"$lib "* ]] || missing+=" $lib"
done
check "Depends (shlibs; libcurl4 by hand, it is dlopen()ed) names libcurl4 libmnl0 libjson-c5 libsystemd0${missing:+; missing:$missing}" test -z "$missing"
mkdir "$tmp/x"
dpkg-deb -x "$deb" "$tmp/x"
check "the packaged programs do not link libcurl (the http probe loads it)" \
    bash -c '! readelf -d "$1" "$2" | grep -q "NEEDED.*libcurl"' _ \
    "$tmp/x/usr/sbin/anycast-healthd" "$tmp/x/usr/sbin/anycast-healthctl"
check "the packaged unit is packaging/anycast-healthd.service" \
    cmp -s "$tmp/x/lib/systemd/system/anycast-healthd.service" "$top/packaging/anycast-healthd.service"
check "anycast-healthd -V of the packaged binary says $version" \
    test "$("$tmp/x/usr/sbin/anycast-healthd" -V 2>&1)" = "anycast-healthd $version"

check "the copyright file says License: ISC" grep -qx 'License: ISC' "$tmp/x/usr/share/doc/anycast-healthd/copyright"
changes=$tmp/out/anycast-healthd_${version}-1_$(dpkg --print-architecture).changes
check "build-deb.sh also leaves the .changes" test -f "$changes"
# tests/deps.sh installs lintian: every tag, info and pedantic ones too, but
# the one a first upload without an ITP bug always gets.
if command -v lintian >/dev/null; then
	lintian -I --pedantic "$changes" 2>&1 | grep -v 'running with root privileges' >"$tmp/lintian"
	sed 's/^/# lintian: /' "$tmp/lintian"
	bad=$(grep -E '^[EWIPX]: ' "$tmp/lintian" | grep -v ' initial-upload-closes-no-bugs ' | wc -l)
	check "lintian -I --pedantic: no tag but initial-upload-closes-no-bugs ($bad others)" test "$bad" = 0
else
	no "lintian not installed (bash tests/deps.sh installs it)"
fi

# --- install ----------------------------------------------------------------
installed=1
if dpkg -i "$deb" >"$tmp/dpkg-i.log" 2>&1; then
	ok "dpkg -i installs it"
else
	cat "$tmp/dpkg-i.log"
	no "dpkg -i failed"
fi
# Where systemd runs (a usual Debian machine; not every CI VM), dpkg -i has
# also started the unit, which the package enables and starts: it holds
# /run/anycast-healthd/control.sock, and the daemon run below as the unit
# runs it would stop at once ("another daemon is listening there") while
# status answered from the unit's. test_systemd.sh covers the unit itself.
if [ -d /run/systemd/system ]; then
	echo "# systemd runs here: the unit after dpkg -i is $(systemctl is-active anycast-healthd 2>&1); stopping it"
	systemctl stop anycast-healthd >/dev/null 2>&1 || true
fi
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd anycast-healthd)
check "system user anycast-healthd (uid $uid < 1000, /nonexistent, nologin)" \
    test -n "$uid" -a "${uid:-1000}" -lt 1000 -a "$home" = /nonexistent -a "$shell" = /usr/sbin/nologin
check "its primary group is anycast-healthd" test "$(getent group "${gid:-x}" | cut -d: -f1)" = anycast-healthd
if getent group frrvty >/dev/null; then
	check "it is in frrvty (FRR is installed)" bash -c 'id -nG anycast-healthd | tr " " "\n" | grep -qx frrvty'
else
	check "it is in no group but its own (no frrvty here)" test "$(id -nG anycast-healthd)" = anycast-healthd
fi
out=$(/usr/sbin/anycast-healthd -n 2>&1)
check "anycast-healthd -n accepts the shipped configuration ($out)" test "$out" = "configuration OK: 0 service(s)"
out=$(runuser -u anycast-healthd -- /usr/sbin/anycast-healthctl validate 2>&1)
check "the user can read it: validate as anycast-healthd ($out)" test "$out" = "configuration OK: 0 service(s)"

# The example, enabled in a copy of /etc/anycast-healthd: valid as shipped.
cp -a /etc/anycast-healthd "$tmp/etc"
mv "$tmp/etc/services.d/example.json.disabled" "$tmp/etc/services.d/example.json"
out=$(/usr/sbin/anycast-healthctl validate -c "$tmp/etc/anycast-healthd.json" 2>&1)
check "the example service, enabled, is valid ($out)" test "$out" = "configuration OK: 1 service(s): example"
out=$(/usr/sbin/anycast-healthctl frr-config -c "$tmp/etc/anycast-healthd.json" --asn 65001 2>&1)
check "frr-config finds the installed templates (network 192.0.2.53/32)" \
    grep -q 'network 192.0.2.53/32' <<<"$out"
if command -v man >/dev/null; then
	check "man finds anycast-healthd.json(5)" \
	    test "$(man -w 5 anycast-healthd.json 2>/dev/null)" = /usr/share/man/man5/anycast-healthd.json.5.gz
else
	check "anycast-healthd.json(5) is installed" test -f /usr/share/man/man5/anycast-healthd.json.5.gz
fi
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /lib/systemd/system/anycast-healthd.service >"$tmp/verify" 2>&1
	check "systemd-analyze verify accepts the installed unit" test ! -s "$tmp/verify"
	sed 's/^/# verify: /' "$tmp/verify"
fi

# The daemon as the unit runs it: user anycast-healthd, the unit's ambient
# capabilities, /run/anycast-healthd made for it (RuntimeDirectory=, mode 0755); in a
# scratch network namespace so that nothing here is touched.
install -d -m 0755 -o anycast-healthd -g anycast-healthd /run/anycast-healthd
# The unit's own list (CAP_NET_ADMIN CAP_SETUID ... -> +net_admin,+setuid,...).
ucaps=$(sed -n 's/^AmbientCapabilities=//p' "$top/packaging/anycast-healthd.service" |
    tr 'A-Z ' 'a-z,' | sed 's/cap_/+/g')
unshare --net setpriv --reuid=anycast-healthd --regid=anycast-healthd --init-groups \
    --inh-caps=-all,"$ucaps" --ambient-caps=-all,"$ucaps" --bounding-set=-all,"$ucaps" \
    /usr/sbin/anycast-healthd >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 50); do
	[ -S /run/anycast-healthd/control.sock ] && break
	sleep 0.1
done
out=$(/usr/sbin/anycast-healthctl status 2>&1)
rc=$?
# Still running: the answer is this daemon's, not another's on the same socket.
alive=no
kill -0 "$daemon_pid" 2>/dev/null && alive=yes
check "the installed daemon runs as anycast-healthd and answers status (rc $rc: $out; running: $alive)" \
    test $rc = 0 -a $alive = yes -a "$(stat -c %U /run/anycast-healthd/control.sock 2>/dev/null)" = anycast-healthd
kill "$daemon_pid" 2>/dev/null
wait "$daemon_pid"
rc=$?
daemon_pid=
check "it stops cleanly on SIGTERM (exit $rc)" test $rc = 0
[ $rc = 0 ] || cat "$tmp/daemon.log"

# --- upgrade: a modified conffile is kept, an untouched one is updated ------
dpkg-deb -R "$deb" "$tmp/repack"
sed -i "s/^Version: .*/Version: ${version}-1+test2/" "$tmp/repack/DEBIAN/control"
sed -i 's/"rise": 3/"rise": 4/' "$tmp/repack/etc/anycast-healthd/services.d/example.json.disabled"
dpkg-deb -b "$tmp/repack" "$tmp/upgrade.deb" >/dev/null 2>&1
sed -i 's/"level": "info"/"level": "debug"/' /etc/anycast-healthd/anycast-healthd.json
if dpkg -i "$tmp/upgrade.deb" </dev/null >"$tmp/dpkg-u.log" 2>&1; then
	ok "upgrade to ${version}-1+test2 without a prompt"
else
	cat "$tmp/dpkg-u.log"
	no "upgrade to ${version}-1+test2 failed"
fi
check "the operator's change to anycast-healthd.json survives the upgrade" \
    grep -q '"level": "debug"' /etc/anycast-healthd/anycast-healthd.json
check "the untouched example is updated by the upgrade" \
    grep -q '"rise": 4' /etc/anycast-healthd/services.d/example.json.disabled

# --- purge ------------------------------------------------------------------
# What an operator and the unit add: a service of their own (not a conffile:
# dpkg alone would leave it, and a reinstall would announce it at once) and
# the state directory (StateDirectory=, metrics_file).
echo '{ "prefixes": ["192.0.2.9/32"], "probes": [ { "type": "tcp", "host": "127.0.0.1", "port": 9 } ] }' \
    >/etc/anycast-healthd/services.d/site.json
install -d -o anycast-healthd -g anycast-healthd /var/lib/anycast-healthd
touch /var/lib/anycast-healthd/anycast-healthd.prom
if dpkg --purge anycast-healthd >"$tmp/dpkg-p.log" 2>&1; then
	installed=0
	ok "dpkg --purge"
else
	cat "$tmp/dpkg-p.log"
	no "dpkg --purge failed"
fi
left=
for p in /etc/anycast-healthd /usr/sbin/anycast-healthd /usr/sbin/anycast-healthctl \
    /lib/systemd/system/anycast-healthd.service /usr/lib/sysusers.d/anycast-healthd.conf \
    /usr/share/anycast-healthd /usr/share/doc/anycast-healthd /run/anycast-healthd \
    /var/lib/anycast-healthd \
    /usr/share/man/man8/anycast-healthd.8.gz \
    /etc/systemd/system/multi-user.target.wants/anycast-healthd.service \
    /var/lib/systemd/deb-systemd-helper-enabled/anycast-healthd.service.dsh-also; do
	[ -e "$p" ] || [ -L "$p" ] && left+=" $p"
done
# Every user and group of the package (the daemon's, and any other its
# sysusers file adds), and memberships.
left+=$(getent passwd | sed -n 's/^\(anycast-healthd[^:]*\):.*/ user:\1/p' | tr -d '\n')
left+=$(getent group | sed -n 's/^\(anycast-healthd[^:]*\):.*/ group:\1/p' | tr -d '\n')
grep -q '[:,]anycast-healthd' <<<"$(getent group)" && left+=" group-member"
dpkg-query -W anycast-healthd >/dev/null 2>&1 && left+=" dpkg-record"
check "purge leaves nothing behind${left:+ (left:$left)}" test -z "$left"
check "dpkg says nothing about directories left (\"not empty so not removed\")" \
    bash -c '! grep -q "not empty" "$1"' _ "$tmp/dpkg-p.log"

# --- rpm --------------------------------------------------------------------
t0=$(date +%s)
if bash "$top/packaging/build-rpm.sh" "$tmp/out" >"$tmp/build-rpm.log" 2>&1; then
	ok "build-rpm.sh built the .rpm in $(($(date +%s) - t0)) s"
else
	cat "$tmp/build-rpm.log"
	no "build-rpm.sh failed"
fi
rpm=$(ls "$tmp"/out/anycast-healthd-"$version"-1*.rpm 2>/dev/null | head -n 1)
if [ -n "$rpm" ]; then
	rpm -qlp "$rpm" 2>/dev/null >"$tmp/rpm-files"
	all_there=1
	for f in /usr/sbin/anycast-healthd /usr/sbin/anycast-healthctl \
	    /usr/lib/systemd/system/anycast-healthd.service /usr/lib/sysusers.d/anycast-healthd.conf \
	    /usr/share/anycast-healthd/frr-templates/bgpd-address-method.conf \
	    /usr/share/anycast-healthd/frr-templates/anycast-healthd.conf \
	    /etc/anycast-healthd/anycast-healthd.json \
	    /etc/anycast-healthd/services.d/example.json.disabled; do
		grep -qx "$f" "$tmp/rpm-files" || { echo "# rpm lacks $f"; all_there=0; }
	done
	grep -q '^/usr/share/man/man8/anycast-healthd\.8' "$tmp/rpm-files" || { echo "# rpm lacks the man page"; all_there=0; }
	check "the .rpm holds binaries, unit, sysusers file, man pages, templates, /etc files" test $all_there = 1
	flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" 2>/dev/null | grep '^cn ' | sort)
	check "the .rpm's /etc files are %config(noreplace)" test "$flags" = "cn /etc/anycast-healthd/anycast-healthd.json
cn /etc/anycast-healthd/services.d/example.json.disabled"
	scripts=$(rpm -qp --scripts "$rpm" 2>/dev/null)
	check "the .rpm's %pre creates the user and %post adds frrvty" \
	    bash -c '[[ $1 == *"useradd"*anycast-healthd* && $1 == *"usermod -a -G frrvty anycast-healthd"* ]]' _ "$scripts"
	# libcurl by hand (the http probe dlopen()s it), the others from the ELF.
	check "the .rpm requires libcurl, libmnl, libjson-c and libsystemd" \
	    test "$(rpm -qp --requires "$rpm" 2>/dev/null | grep -c -E '^(libmnl|libjson-c|libsystemd)\.so\.[0-9]+\(\)|^libcurl(\([^)]*\))? >= ')" = 4
	check "the .rpm says License: ISC, URL: and ships LICENSE" \
	    bash -c '[[ $(rpm -qp --qf "%{LICENSE} %{URL}" "$1" 2>/dev/null) == "ISC https://"* ]] &&
	        grep -q "^/usr/share/licenses/anycast-healthd[^/]*/LICENSE$" "$2"' _ "$rpm" "$tmp/rpm-files"
	# rpmlint with Debian's configuration (openSUSE's defaults): the tags
	# below are artefacts of building the RPM on Debian (README, Packaging);
	# any other tag fails.
	artefacts='unstripped-binary-or-object|no-signature|no-packager-tag|no-group-tag|no-buildroot-tag'
	artefacts+='|no-manual-page-for-binary|manpage-not-compressed|invalid-license ISC'
	artefacts+='|bad-manual-page-folder /usr/share/man/man5/anycast-healthd.json.5 expected folder: manjson'
	if command -v rpmlint >/dev/null; then
		rpmlint "$top/packaging/rpm/anycast-healthd.spec" "$rpm" >"$tmp/rpmlint" 2>&1
		grep -E '^[^ ]+: [EW]:' "$tmp/rpmlint" | sed 's/^/# rpmlint: /'
		real=$(grep -E '^[^ ]+: [EW]:' "$tmp/rpmlint" | grep -vE ": [EW]: ($artefacts)( |$)" | wc -l)
		check "rpmlint: nothing but the tags of a build on Debian ($real others)" test "$real" = 0
	else
		no "rpmlint not installed (bash tests/deps.sh installs it)"
	fi
fi

summary
