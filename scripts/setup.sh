#!/usr/bin/env bash
# Installs what berth needs on Debian 12 (as root) and builds it into build/.
#   scripts/setup.sh          build dependencies + build
#   scripts/setup.sh --test   also what the tests use (busybox-static, zstd, ...)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

pkgs=(gcc make meson ninja-build pkg-config libjansson-dev libarchive-dev libssl-dev
	libzstd-dev liblz4-dev libbz2-dev liblzma-dev zlib1g-dev libacl1-dev nettle-dev libxml2-dev libcurl4-openssl-dev libyaml-dev curl iptables)
if [ "${1:-}" = --test ]; then
	pkgs+=(busybox-static zstd bzip2 gzip python3 file attr e2fsprogs docker-registry apache2-utils iproute2 openssl)
fi
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
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

werror=false
[ "${CI:-}" = true ] && werror=true
if [ ! -f build/build.ninja ]; then
	meson setup build -Dwerror=$werror >/dev/null
fi
ninja -C build >/dev/null
echo "setup: built $top/build/berth"
