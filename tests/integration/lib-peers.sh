# tests/integration/lib-peers.sh - interop with docker and podman for the
# integration tests. Source it after tests/lib.sh:
#
#     . "$(dirname "$0")/../lib.sh"
#     . "$(dirname "$0")/lib-peers.sh"
#     need_fixtures
#     peer_docker                      # or skip_all with the reason
#     img=$(peer_ref docker bb)        # a tag unique to this test process
#     docker import "$(busybox_tar)" "$img" >/dev/null
#     check "docker save" docker save -o "$T_DIR/d.tar" "$img"
#     check "berth loads it" b load -i "$T_DIR/d.tar"
#     ...
#     peer_podman                      # defines pm: podman with a private store
#     check "podman loads berth's save" pm load -i "$T_DIR/b.tar"
#
# The peers are started / set up by scripts/peers.sh (one dockerd shared by
# all tests, started on first use and left running; podman with its own
# --root/--runroot under $T_DIR per test). BERTH_NO_PEERS=1 skips them all.
#
# Things worth knowing about the peers on the dev/CI machines (Debian 12):
#  - dockerd is docker.io 20.10 (the docker CLI may be newer; it negotiates
#    API 1.41). Its `docker save` writes the legacy docker-archive: per-layer
#    <id>/layer.tar, <id>/json, <id>/VERSION, <config>.json, then
#    manifest.json and repositories at the END of the tar (lexical order),
#    so a loader reading a pipe meets the layers before the manifest. No
#    oci-layout/index.json in it (docker >= 25 adds those).
#  - `podman save` (4.3, docker-archive) stores each layer once as
#    <diff_id hex>.tar at the top and makes <id>/layer.tar a SYMLINK to
#    ../<hex>.tar; manifest.json names the <id>/layer.tar paths. Entries are
#    mode 0444 with mtime 0.
#  - podman tags an image loaded without a registry as localhost/NAME:TAG
#    and `podman images` shows it so; short names still resolve in run.
#  - `docker run` needs --network none here (dockerd runs with
#    --bridge=none); podman run needs the nofile/nproc ulimits that
#    `scripts/peers.sh podman-setup` puts in /etc/containers/containers.conf
#    (the default nofile of 1048576 is above this VM's hard limit of 20000:
#    "error setting rlimit type 7: operation not permitted").
# shellcheck shell=bash

PEERS_SH=${PEERS_SH:-$TOP/scripts/peers.sh}
PEER_DOCKER_IMAGES=()

# peer_ref PEER NAME: an image reference unique to this test process
peer_ref() { echo "berth-it-$T_NAME-$$-$2:$1" | tr 'A-Z_' 'a-z-'; }

# peer_docker: make sure the shared peer dockerd runs (and can run
# containers), export DOCKER_HOST, or skip_all saying why.
peer_docker() {
	local host err=$T_DIR/peer-docker.err
	[ -z "${BERTH_NO_PEERS:-}" ] || skip_all "peers disabled (BERTH_NO_PEERS)"
	command -v docker >/dev/null 2>&1 || command -v dockerd >/dev/null 2>&1 \
		|| skip_all "docker is not installed (scripts/peers.sh docker-start installs it)"
	if ! host=$("$PEERS_SH" docker-start --check 2>"$err"); then
		skip_all "docker peer unavailable: $(grep -m1 'error:' "$err" || tail -n1 "$err")"
	fi
	export DOCKER_HOST=$host
}

# docker_track REF...: remove these docker images when the test exits
docker_track() { PEER_DOCKER_IMAGES+=("$@"); }

# dk_run IMAGE CMD...: docker run --rm --network none
dk_run() { docker run --rm --network none "$@"; }

# peer_podman: make sure podman works here, define pm (podman with a store
# under $T_DIR), or skip_all saying why.
PEER_PODMAN_DIR=
peer_podman() {
	local err=$T_DIR/peer-podman.err
	[ -z "${BERTH_NO_PEERS:-}" ] || skip_all "peers disabled (BERTH_NO_PEERS)"
	if ! "$PEERS_SH" podman-setup >/dev/null 2>"$err"; then
		skip_all "podman peer unavailable: $(grep -m1 'error:' "$err" || tail -n1 "$err")"
	fi
	PEER_PODMAN_DIR=$T_DIR/podman
	mkdir -p "$PEER_PODMAN_DIR"
}
pm() {
	[ -n "$PEER_PODMAN_DIR" ] || { echo "pm: call peer_podman first" >&2; return 2; }
	podman --root "$PEER_PODMAN_DIR/root" --runroot "$PEER_PODMAN_DIR/run" \
		--storage-driver overlay "$@"
}
# pm_run IMAGE CMD...: podman run --rm --network none
pm_run() { pm run --rm --network none "$@"; }

peer_cleanup() {
	if [ "${#PEER_DOCKER_IMAGES[@]}" -gt 0 ] && [ -n "${DOCKER_HOST:-}" ]; then
		docker rmi -f "${PEER_DOCKER_IMAGES[@]}" >/dev/null 2>&1 || true
	fi
	# podman's store is under $T_DIR: tests/lib.sh's t_cleanup unmounts and
	# removes it; reset it first so no container state is left mounted.
	if [ -n "$PEER_PODMAN_DIR" ] && [ -d "$PEER_PODMAN_DIR/root" ]; then
		pm rm -af >/dev/null 2>&1 || true
	fi
}
trap 'peer_cleanup; t_cleanup' EXIT
