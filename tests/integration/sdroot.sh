# Debian 12 roots that boot under systemd-nspawn, for test_systemd.sh.
# Sourced, not run (run.sh runs test_*.sh only).
#
# sdroot_cache prints the directory of a pristine root: debootstrap
# --variant=minbase with systemd as init, then (non-booted nspawn, which has
# the host's network) apt-get install of SDROOT_PKGS, whose .debs stay in
# /var/cache/apt/archives (a booted container, which has no network, can
# install them again: FRR installed after the package). It is built once per
# machine and package list and kept under $AHD_SDROOT_CACHE (default
# /var/cache/anycast-healthd-tests); nothing ever writes into it afterwards:
# each run boots an overlay of it (sdroot_overlay), so the cache stays
# pristine. A clean machine builds it (a few minutes, over the network).
#
# Environment: AHD_SDROOT_CACHE, AHD_DEBIAN_MIRROR (default: the first
# deb.debian.org-style URI of the host's apt sources, else deb.debian.org).

SDROOT_SUITE=bookworm
# The daemon's own run-time libraries are here too, so that installing the
# .deb in the booted container (which has no network) needs nothing new;
# test_systemd.sh still resolves the .deb's Depends with apt (non-booted)
# first, in case they grow.
SDROOT_PKGS=(
	frr socat iproute2 procps curl
	prometheus-node-exporter
	libcurl4 libjson-c5 libmnl0 libsystemd0
)
SDROOT_INCLUDE=systemd,systemd-sysv,dbus,ca-certificates
AHD_SDROOT_CACHE=${AHD_SDROOT_CACHE:-/var/cache/anycast-healthd-tests}

sdroot_mirror()
{
	local m=${AHD_DEBIAN_MIRROR:-}
	if [[ -z $m ]]; then
		m=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
		    /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
		    awk '!m { m = $2 } END { print m }')
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

# The HTTP proxy apt uses on this host (Acquire::http::Proxy, or
# $http_proxy), empty if none. debootstrap (wget) does not read apt's
# configuration, nor does apt inside the root: a machine that reaches the
# mirror only through apt's proxy would build no root without it.
sdroot_proxy()
{
	local p=${http_proxy:-}
	[[ -n $p ]] || eval "$(apt-config shell p Acquire::http::Proxy 2>/dev/null)"
	[[ $p == DIRECT || $p == false ]] && p=
	echo "$p"
}

# The key: everything that goes into the root. A change of the list makes a
# new root; old ones are removed by the build.
sdroot_key()
{
	printf '%s\n' "$SDROOT_SUITE" "$SDROOT_INCLUDE" "${SDROOT_PKGS[@]}" v2 |
	    sha256sum | cut -c1-16
}

# Prints the path of the pristine root, building it when missing. Serialised
# by a lock so that two runs on one machine build it once.
sdroot_cache()
{
	local key dir tmp mirror proxy rc=0
	key=$(sdroot_key)
	dir=$AHD_SDROOT_CACHE/root-$key
	mkdir -p "$AHD_SDROOT_CACHE"
	exec {lockfd}>"$AHD_SDROOT_CACHE/lock"
	flock "$lockfd"
	if [[ ! -f $dir/.complete ]]; then
		mirror=$(sdroot_mirror)
		proxy=$(sdroot_proxy)
		tmp=$AHD_SDROOT_CACHE/building-$key
		rm -rf "$tmp"
		echo "sdroot: building a $SDROOT_SUITE root in $dir from $mirror${proxy:+ through $proxy} (once per machine)" >&2
		if ! env ${proxy:+http_proxy="$proxy"} debootstrap --variant=minbase \
		    --include="$SDROOT_INCLUDE" "$SDROOT_SUITE" "$tmp" "$mirror" \
		    >"$AHD_SDROOT_CACHE/build.log" 2>&1; then
			echo "sdroot: debootstrap failed, see $AHD_SDROOT_CACHE/build.log" >&2
			rc=1
		elif ! printf 'deb %s %s main\ndeb %s %s-updates main\n' \
		    "$mirror" "$SDROOT_SUITE" "$mirror" "$SDROOT_SUITE" \
		    >"$tmp/etc/apt/sources.list" ||
		    ! { [[ -z $proxy ]] || printf 'Acquire::http::Proxy "%s";\n' "$proxy" \
		    >"$tmp/etc/apt/apt.conf.d/00sdroot-proxy"; } ||
		    ! systemd-nspawn -q -D "$tmp" --register=no --keep-unit \
		    env DEBIAN_FRONTEND=noninteractive sh -c \
		    'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"' \
		    sh "${SDROOT_PKGS[@]}" >>"$AHD_SDROOT_CACHE/build.log" 2>&1; then
			echo "sdroot: apt-get in the root failed, see $AHD_SDROOT_CACHE/build.log" >&2
			rc=1
		else
			# The host's proxy is not the root's business once built.
			rm -f "$tmp/etc/apt/apt.conf.d/00sdroot-proxy"
			# A fixed machine-id would be shared by every overlay;
			# empty means "generate at boot" (machine-id(5)).
			: >"$tmp/etc/machine-id"
			echo anycast-test >"$tmp/etc/hostname"
			touch "$tmp/.complete"
			rm -rf "$AHD_SDROOT_CACHE"/root-*
			mv "$tmp" "$dir"
		fi
		rm -rf "$tmp"
	fi
	exec {lockfd}>&-
	((rc == 0)) && echo "$dir"
	return "$rc"
}

# sdroot_overlay LOWER WORKDIR: mounts a writable overlay of LOWER at
# WORKDIR/root (upper and work directories beside it) and prints its path.
sdroot_overlay()
{
	local lower=$1 w=$2
	mkdir -p "$w/upper" "$w/work" "$w/root"
	mount -t overlay overlay \
	    -o "lowerdir=$lower,upperdir=$w/upper,workdir=$w/work" "$w/root" &&
	    echo "$w/root"
}
