#!/usr/bin/env bash
# Installs what berth needs on Debian 12 (as root) and builds it into build/.
#   scripts/setup.sh          build dependencies + build
#   scripts/setup.sh --test   also what the tests use (busybox-static, zstd, ...)
#   scripts/setup.sh --list [--test]   print the package list and stop
#
# Every package the build and the tests need is named here: nothing may come
# from a package that happens to be on the machine (tests/integration/
# t0900-pristine-setup.sh proves it in a bare debootstrap root). apt-get,
# meson and ninja write to log files under build/setup-logs/; when one fails,
# its last 30 lines, the log's path and a hint are printed and setup exits 1.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# The build: the compiler with libc's headers (gcc only recommends
# libc6-dev, and apt here installs no recommends), meson (runs on python3),
# and the -dev package of every library meson.build asks pkg-config for.
build_pkgs=(gcc libc6-dev meson ninja-build pkgconf python3
	libjansson-dev libarchive-dev libssl-dev libseccomp-dev libyaml-dev
	libcurl4-openssl-dev zlib1g-dev
	# libarchive is linked statically: its own dependencies' static libraries
	libzstd-dev liblz4-dev libbz2-dev liblzma-dev libacl1-dev nettle-dev libxml2-dev
	# at run time: NAT (iptables-save/-restore), curl for the demo's check,
	# CA certificates for registries over TLS
	iptables curl ca-certificates)
# The tests: the busybox rootfs fixture (static busybox, a static helper built
# with cc -static, tar, file), compressors for layer formats, a real
# registry (docker-registry, htpasswd), python3 helpers (registry proxy,
# token server, pty driver), openssl for TLS certificates, iproute2 for the
# network checks, e2fsprogs/attr for filesystem attributes, procps (ps,
# pkill), psmisc (fuser), debootstrap for the Debian base image, python3-yaml
# for the Kubernetes manifest checks (tests/tools/k8s-validate.py).
test_pkgs=(busybox-static tar file gzip bzip2 xz-utils zstd python3 attr e2fsprogs
	docker-registry apache2-utils iproute2 openssl procps psmisc kmod debootstrap python3-yaml)

with_test=0 list_only=0
for a in "$@"; do
	case "$a" in
	--test) with_test=1 ;;
	--list) list_only=1 ;;
	-h | --help) sed -n '2,10{s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "setup: unknown argument: $a (use --test, --list)" >&2; exit 2 ;;
	esac
done
pkgs=("${build_pkgs[@]}")
[ "$with_test" = 1 ] && pkgs+=("${test_pkgs[@]}")
if [ "$list_only" = 1 ]; then
	printf '%s\n' "${pkgs[@]}" | sort -u
	exit 0
fi

logdir=$top/build/setup-logs
mkdir -p "$logdir"
# fail STEP LOG HINT: show the end of a failed tool's log and stop
fail() {
	echo "setup: $1 failed; its last 30 lines (full log: $2):" >&2
	tail -n 30 "$2" | sed 's/^/  | /' >&2
	echo "setup: hint: $3" >&2
	exit 1
}

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: missing packages ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >"$logdir/apt-update.log" 2>&1 ||
		fail "apt-get update" "$logdir/apt-update.log" "is a Debian mirror reachable? (see /etc/apt/sources.list*)"
	apt-get install -y --no-install-recommends "${missing[@]}" >"$logdir/apt-install.log" 2>&1 ||
		fail "apt-get install" "$logdir/apt-install.log" "a package name may be wrong for this release, or the mirror may be unreachable"
fi

werror=false
[ "${CI:-}" = true ] && werror=true
if [ ! -f build/build.ninja ]; then
	meson setup build -Dwerror=$werror >"$logdir/meson-setup.log" 2>&1 ||
		fail "meson setup" "$logdir/meson-setup.log" "a dependency meson names above is missing: add its -dev package to scripts/setup.sh"
fi
ninja -C build >"$logdir/ninja.log" 2>&1 ||
	fail "ninja (the build)" "$logdir/ninja.log" "a compiler error; 'ninja -C build' shows it again"
echo "setup: built $top/build/berth"
