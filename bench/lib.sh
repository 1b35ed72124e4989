# bench/lib.sh - helpers shared by the bench/*.sh scripts (sourced, not run).
# shellcheck shell=bash

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
PEERS="$REPO_DIR/scripts/peers.sh"
BERTH=${BERTH:-$REPO_DIR/build/berth}
WORK=${BERTH_BENCH_WORK:-/var/tmp/berth-bench}
STORE_DIR=${BERTH_BENCH_STORE:-}      # --store-dir: use this dir, no loop fs
FS_MB=${BERTH_BENCH_FS_MB:-4096}

log() { printf '%s: %s\n' "${PROG:-bench}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${PROG:-bench}" "$*" >&2; exit 1; }
skip() { printf '%s: SKIP %s\n' "${PROG:-bench}" "$*" >&2; }

# q ARGS... : shell-quote a command line for hyperfine's sh -c
q() {
    local out="" a
    for a in "$@"; do out+="$(printf '%q' "$a") "; done
    printf '%s' "${out% }"
}

need_hyperfine() {
    if ! command -v hyperfine >/dev/null 2>&1; then
        log "hyperfine not found; installing it with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get install -y hyperfine >&2 \
            || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y hyperfine >&2; } \
            || die "hyperfine is needed (apt-get install hyperfine)"
    fi
}

# berth_available: is there a berth binary to benchmark?
berth_available() {
    if [ ! -x "$BERTH" ]; then
        skip "berth: no executable at $BERTH (build it, or set BERTH=path)"
        return 1
    fi
    return 0
}

podman_available() {
    command -v podman >/dev/null 2>&1 || { skip "podman: not installed (scripts/peers.sh podman-setup)"; return 1; }
}

# unmount_under DIR: unmount every mount point at or below DIR, deepest first
unmount_under() {
    local d=$1 m
    [ -e "$d" ] || return 0
    d=$(readlink -f "$d")
    awk -v d="$d" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo \
        | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}

# safe_rm DIR: unmount anything below DIR, then remove it
safe_rm() {
    [ -e "$1" ] || return 0
    unmount_under "$1"
    rm -rf "$1"
}

# spread_dirs DIR...: chattr +T (ext4 "top of directory hierarchy") so each
# new subdirectory lands in a roomy block group. Only used with --store-dir.
spread_dirs() {
    command -v chattr >/dev/null 2>&1 || return 0
    chattr +T "$@" 2>/dev/null || true
}

# ---------------------------------------------------------------- store fs
# All stores of a run (berth --root, podman --root, the bench dockerd's data
# root, the floor's output) live on one fresh ext4 filesystem in a loop-
# mounted image file, made anew for each bench run. Why: on the dev/CI VMs
# the root filesystem's block groups near /var are so crowded that every file
# created there costs ~1 ms of kernel time, varying 10x with where a new
# directory happens to land; `tar -x` of the Debian rootfs layer took 0.4 s
# to 7 s depending on the directory. A fresh filesystem gives every tool the
# same, repeatable conditions. --store-dir DIR (or BERTH_BENCH_STORE) skips
# the loop fs and uses DIR as is.
FS_IMG=$WORK/store.img
FS_MNT=$WORK/store
STORE=
store_up() {
    store_down
    if [ -n "$STORE_DIR" ]; then
        STORE=$STORE_DIR/berth-bench.$$
        mkdir -p "$STORE"
        spread_dirs "$STORE"
        log "stores under $STORE (--store-dir; no fresh filesystem)"
        return 0
    fi
    mkdir -p "$FS_MNT"
    rm -f "$FS_IMG"
    if fallocate -l "${FS_MB}M" "$FS_IMG" 2>/dev/null || truncate -s "${FS_MB}M" "$FS_IMG"; then
        if mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$FS_IMG" >&2 \
            && mount -o loop "$FS_IMG" "$FS_MNT"; then
            STORE=$FS_MNT
            log "stores on a fresh ${FS_MB} MB ext4 filesystem at $STORE"
            return 0
        fi
    fi
    rm -f "$FS_IMG"
    STORE=$WORK/run
    mkdir -p "$STORE"
    spread_dirs "$STORE"
    log "WARNING: could not loop-mount a fresh filesystem; stores under $STORE (timings may be noisy)"
}
store_down() {
    if [ -n "$STORE_DIR" ] && [ -n "$STORE" ]; then safe_rm "$STORE"; fi
    if mountpoint -q "$FS_MNT" 2>/dev/null; then
        unmount_under "$FS_MNT"
    fi
    [ -d "$FS_MNT" ] && rmdir "$FS_MNT" 2>/dev/null || true
    rm -f "$FS_IMG"
    safe_rm "$WORK/run"
    STORE=
}

# ---------------------------------------------------------------- docker
# The bench runs its own dockerd (started by scripts/peers.sh with other
# paths), its data root on the store filesystem, so it does not touch the
# dockerd the interop tests use and is removed, data and all, afterwards.
BENCH_DOCKER_SOCK=/run/berth-bench-docker.sock
bench_docker_env() {
    env BERTH_PEER_DOCKER_ROOT="${STORE:-$WORK/run}/docker" \
        BERTH_PEER_DOCKER_EXEC=/run/berth-bench-docker \
        BERTH_PEER_DOCKER_PID=/run/berth-bench-docker.pid \
        BERTH_PEER_DOCKER_SOCK=$BENCH_DOCKER_SOCK \
        BERTH_PEER_DOCKER_LOG="$WORK/dockerd.log" \
        "$@"
}
docker_up() {
    local host
    command -v dockerd >/dev/null 2>&1 || { skip "docker: dockerd not installed (scripts/peers.sh docker-start installs it)"; return 1; }
    if ! host=$(bench_docker_env "$PEERS" docker-start); then
        skip "docker: could not start dockerd (see messages above, log $WORK/dockerd.log)"
        return 1
    fi
    export DOCKER_HOST=$host
}
docker_down() {
    # stop + delete data; quiet when nothing is running
    if [ -e /run/berth-bench-docker.pid ] || [ -S "$BENCH_DOCKER_SOCK" ] || [ -d /run/berth-bench-docker ]; then
        bench_docker_env "$PEERS" docker-purge 2>&1 | sed 's/^/  /' >&2 || true
    fi
    unset DOCKER_HOST
}
