#!/usr/bin/env bash
# bench/peers-install.sh - install the peer tools the compose and build
# benchmarks compare berth with, and check that each one really works here.
#
#   bench/peers-install.sh [--no-check]
#
# Installs from Debian, when missing: docker.io and podman (through
# scripts/peers.sh, which also starts the private dockerd and writes the
# containers.conf podman needs), docker-compose (1.29), podman-compose,
# buildah and catatonit (podman's --init, which compose's `init: true` uses;
# Debian's podman does not pull it in). Then, unless --no-check, each tool runs a tiny job in a private
# store: docker-compose and podman-compose bring a one-service project up,
# list it and take it down; buildah builds a two-step Dockerfile (COPY, RUN).
# Prints one line per tool on stdout: "TOOL VERSION ok" or "TOOL VERSION
# FAILED: why". Exit status 0 when every tool works, 1 otherwise.
# Needs root. The dockerd is left running (scripts/peers.sh docker-stop).
set -uo pipefail
PROG=peers-install # used by lib.sh
. "$(dirname "$0")/lib.sh"

CHECK=1
case "${1:-}" in
--no-check) CHECK=0 ;;
"") ;;
*) die "usage: bench/peers-install.sh [--no-check]" ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root"

apt_missing() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	log "installing ${missing[*]} with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
}

DOCKER_HOST=$("$PEERS" docker-start) || DOCKER_HOST=
export DOCKER_HOST
"$PEERS" podman-setup >&2 || log "podman-setup failed; podman-compose and buildah may not work"
# buildah: the storage and containers.conf that podman-setup checked
apt_missing docker-compose podman-compose buildah catatonit || log "apt-get install failed"

status=0
report() { # TOOL VERSION RESULT
	printf '%-15s %-10s %s\n' "$1" "${2:-?}" "$3"
	case "$3" in ok) ;; *) status=1 ;; esac
}

dc_ver=$(docker-compose version --short 2>/dev/null)
pc_ver=$(podman-compose version 2>/dev/null | awk '/^podman-compose(r)? version/ { print $NF; exit }')
bh_ver=$(buildah version 2>/dev/null | awk '/^Version:/ { print $2 }')

if [ "$CHECK" = 0 ]; then
	for t in docker-compose:"$dc_ver" podman-compose:"$pc_ver" buildah:"$bh_ver"; do
		if command -v "${t%%:*}" >/dev/null; then report "${t%%:*}" "${t#*:}" ok
		else report "${t%%:*}" "" "FAILED: not installed"; fi
	done
	exit "$status"
fi

D=$(mktemp -d /var/tmp/berth-peers-install.XXXXXX)
IMG=berth-peers-check:latest
cleanup() {
	[ -n "$DOCKER_HOST" ] && (cd "$D/proj" 2>/dev/null && docker-compose -p bpic down -t 0 >/dev/null 2>&1)
	[ -n "$DOCKER_HOST" ] && docker rmi -f "$IMG" >/dev/null 2>&1
	buildah --root "$D/broot" --runroot "$D/brun" rm --all >/dev/null 2>&1
	podman --root "$D/proot" --runroot "$D/prun" rm -fa >/dev/null 2>&1
	# podman keeps network configs outside --root, and podman-compose 1.0.3's
	# down leaves the project network behind
	podman network rm -f bpic_default >/dev/null 2>&1
	safe_rm "$D"
}
trap cleanup EXIT

"$PEERS" busybox-rootfs "$D/rootfs" || die "cannot make a busybox rootfs"
tar -C "$D/rootfs" -cf "$D/rootfs.tar" .
mkdir -p "$D/proj"
# init: busybox sleep as pid 1 ignores SIGTERM
cat >"$D/proj/compose.yaml" <<EOF
services:
  one:
    image: $IMG
    command: ["sleep", "300"]
    init: true
EOF

# compose_check COMPOSE...: up -d, ps shows the container running, down
compose_check() {
	local out
	out=$(cd "$D/proj" && "$@" -p bpic up -d 2>&1) || { echo "up -d failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"; return 1; }
	out=$(cd "$D/proj" && "$@" -p bpic ps 2>&1)
	grep -E 'bpic[-_]one[-_]1' <<<"$out" | grep -q 'Up' || { echo "ps does not show bpic_one_1 up: $(tr '\n' ' ' <<<"$out")"; return 1; }
	out=$(cd "$D/proj" && "$@" -p bpic down -t 1 2>&1) || { echo "down failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"; return 1; }
	echo ok
}

if ! command -v docker-compose >/dev/null; then
	report docker-compose "" "FAILED: not installed"
elif [ -z "$DOCKER_HOST" ]; then
	report docker-compose "$dc_ver" "FAILED: dockerd did not start (scripts/peers.sh docker-start)"
elif ! docker import "$D/rootfs.tar" "$IMG" >/dev/null 2>&1; then
	report docker-compose "$dc_ver" "FAILED: docker import failed"
else
	report docker-compose "$dc_ver" "$(compose_check docker-compose)"
fi

if ! command -v podman-compose >/dev/null; then
	report podman-compose "" "FAILED: not installed"
elif ! podman --root "$D/proot" --runroot "$D/prun" import -q "$D/rootfs.tar" "$IMG" >/dev/null 2>&1; then
	report podman-compose "$pc_ver" "FAILED: podman import failed"
else
	report podman-compose "$pc_ver" \
		"$(compose_check podman-compose --podman-args "--root $D/proot --runroot $D/prun")"
fi

if ! command -v buildah >/dev/null; then
	report buildah "" "FAILED: not installed"
else
	mkdir -p "$D/ctx"
	cp -a "$D/rootfs" "$D/ctx/rootfs"
	printf 'FROM scratch\nCOPY rootfs/ /\nRUN echo built >/built\nCMD ["cat", "/built"]\n' >"$D/ctx/Dockerfile"
	if out=$(buildah --root "$D/broot" --runroot "$D/brun" bud -q --network none -t bpic-built "$D/ctx" 2>&1) &&
		out=$(buildah --root "$D/broot" --runroot "$D/brun" from --name bpic-c bpic-built 2>&1) &&
		out=$(buildah --root "$D/broot" --runroot "$D/brun" run bpic-c cat /built 2>&1) &&
		[ "$out" = built ]; then
		report buildah "$bh_ver" ok
	else
		report buildah "$bh_ver" "FAILED: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	fi
fi
exit "$status"
