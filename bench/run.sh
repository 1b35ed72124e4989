#!/usr/bin/env bash
# bench/run.sh - container start latency, and starting/stopping many
# containers, for berth against docker, podman, crun (and runc).
# Targets (issue "Container runtime"): `berth run --rm busybox true` median
# under 10 ms, at least 30x faster than docker and podman, within 2x of
# `crun run`; the per-container berth monitor under 1 MB RSS.
#
# usage: bench/run.sh [--runs N] [--peer-runs N] [--warmup N] [--count N]
#                     [--cap SECS] [--idle SECS] [--no-docker] [--no-podman]
#                     [--no-start] [--no-scale] [--work DIR] [--store-dir DIR]
#
#   --runs N       timed runs of the berth, crun and runc start commands
#                  (default 30)
#   --peer-runs N  timed runs of docker run / podman run (default 10, or N
#                  of --runs if smaller)
#   --warmup N     untimed runs of each start command first (default 3)
#   --count N      containers in the start/stop part (default 100)
#   --cap SECS     give up on an engine in the start/stop part when starting
#                  its containers (or the stop call) takes longer (default
#                  180); reported as "skipped (too slow)"
#   --idle SECS    part 1: sleep SECS before each timed start (hyperfine
#                  --prepare) instead of starting back to back (default 0).
#                  On cgroup v1 back-to-back starts can find the RCU sync of
#                  the cgroup rwsem still active from the previous start and
#                  skip a grace period an isolated start pays; try 0.2.
#   --no-start / --no-scale   leave out part 1 / part 2
#   --work DIR     work directory (default /var/tmp/berth-bench, or
#                  $BERTH_BENCH_WORK)
#   --store-dir DIR  stores in DIR instead of a fresh loop-mounted ext4
# env: BERTH=path/to/berth (default build/berth; copied into the store at
#      the start so a rebuild during the run cannot mix two binaries)
#
# Part 1 times one container start + exit + removal with hyperfine (-N, no
# shell): `berth run --rm busybox true` (the default bridge network), the
# same with --network none (like the docker and podman runs) and with
# --network host (no network namespace), `crun run` of an OCI bundle made by `crun spec` with
# the same busybox rootfs (args ["true"], terminal false, crun's default
# namespaces: pid, net, ipc, uts, mount) in three cgroup variants (crun's
# default for a spec without cgroupsPath, which still makes a cgroup /ID;
# an explicit cgroupsPath; --cgroup-manager=disabled, no cgroup at all),
# `runc run` of that bundle, `docker run --rm --network none IMG true` and
# `podman run --rm --network none IMG true`. The image is the busybox test
# fixture (tests/fixtures/make.sh), imported into each engine. crun 1.8 refuses
# the hybrid cgroup layout of some hosts (a controller left on the v2
# hierarchy: "cgroups in hybrid mode not supported"); then the berth, crun
# and runc commands all run in a private mount namespace in which
# /sys/fs/cgroup/unified is unmounted, so crun uses the v1 hierarchies as
# berth does. Nothing outside that namespace changes.
# Part 2 starts COUNT detached containers, one `run -d` after another, that
# run `sh -c 'trap "exit 0" TERM; sleep 1000 & wait'` (a plain `sleep` as
# pid 1 of a pid namespace ignores SIGTERM and every engine would just wait
# out the timeout), with default settings otherwise (no --init), then stops
# them all with one `stop -t 10` call and removes them with one `rm` call;
# for berth, docker and podman. It also reads VmRSS (and RssAnon, RssFile,
# Pss) of the per-container helper: berth's monitor (MonitorPid of
# state.json), docker's containerd-shim, podman's conmon.
# Stores (berth --root/--runroot, crun/runc state, podman's root, the data
# root of a dockerd the bench starts for itself) are on a fresh loop-mounted
# ext4 filesystem (WORK/run-store.img), separate from the one load.sh and
# images.sh use; all containers, the dockerd, mounts and the filesystem are
# removed at the end. Results (hyperfine JSON + summary) go to
# WORK/results/run-DATE/.
set -euo pipefail
PROG=run.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=30 PEER_RUNS='' WARMUP=3 COUNT=100 CAP=180 IDLE=0
DO_DOCKER=1 DO_PODMAN=1 DO_START=1 DO_SCALE=1
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --peer-runs) PEER_RUNS=${2:?--peer-runs needs a number}; shift 2 ;;
        --peer-runs=*) PEER_RUNS=${1#*=}; shift ;;
        --warmup) WARMUP=${2:?--warmup needs a number}; shift 2 ;;
        --warmup=*) WARMUP=${1#*=}; shift ;;
        --count) COUNT=${2:?--count needs a number}; shift 2 ;;
        --count=*) COUNT=${1#*=}; shift ;;
        --cap) CAP=${2:?--cap needs seconds}; shift 2 ;;
        --cap=*) CAP=${1#*=}; shift ;;
        --idle) IDLE=${2:?--idle needs seconds}; shift 2 ;;
        --idle=*) IDLE=${1#*=}; shift ;;
        --no-docker) DO_DOCKER=0; shift ;;
        --no-podman) DO_PODMAN=0; shift ;;
        --no-start) DO_START=0; shift ;;
        --no-scale) DO_SCALE=0; shift ;;
        --work) WORK=${2:?--work needs a directory}; shift 2 ;;
        --work=*) WORK=${1#*=}; shift ;;
        --store-dir) STORE_DIR=${2:?--store-dir needs a directory}; shift 2 ;;
        --store-dir=*) STORE_DIR=${1#*=}; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
done
[ -n "$PEER_RUNS" ] || PEER_RUNS=$(( RUNS < 10 ? RUNS : 10 ))
for v in RUNS PEER_RUNS COUNT CAP; do
    case "${!v}" in ''|*[!0-9]*|0) die "${v} must be a positive integer" ;; esac
done
case "$WARMUP" in ''|*[!0-9]*) die "--warmup must be a non-negative integer" ;; esac
case "$IDLE" in ''|*[!0-9.]*|*.*.*) die "--idle must be a number of seconds" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root (namespaces, cgroups, mounts and dockerd need it)"

# Paths of our own, so that a load.sh or images.sh running at the same time
# (which use WORK/store.img and /run/berth-bench-docker*) is left alone; a
# lock keeps two run.sh from sharing them.
FS_IMG=$WORK/run-store.img
FS_MNT=$WORK/run-store
BENCH_DOCKER_SOCK=/run/berth-bench-run-docker.sock
bench_docker_env() {
    env BERTH_PEER_DOCKER_ROOT="${STORE:-$WORK/run}/docker" \
        BERTH_PEER_DOCKER_EXEC=/run/berth-bench-run-docker \
        BERTH_PEER_DOCKER_PID=/run/berth-bench-run-docker.pid \
        BERTH_PEER_DOCKER_SOCK=$BENCH_DOCKER_SOCK \
        BERTH_PEER_DOCKER_LOG="$WORK/run-dockerd.log" \
        "$@"
}
docker_down() {
    if [ -e /run/berth-bench-run-docker.pid ] || [ -S "$BENCH_DOCKER_SOCK" ] || [ -d /run/berth-bench-run-docker ]; then
        bench_docker_env "$PEERS" docker-purge 2>&1 | sed 's/^/  /' >&2 || true
    fi
    unset DOCKER_HOST
}
mkdir -p "$WORK"
exec 8>>"$WORK/run.lock"
flock -n 8 || die "another bench/run.sh is running (lock $WORK/run.lock)"

RES=$WORK/results/run-$(date +%Y%m%d-%H%M%S)
TAG=berth-bench-run/busybox:latest
CMD_TRAP='trap "exit 0" TERM; sleep 1000 & wait'
CRUN_CG_PARENT=berth-bench-run-crun      # cgroupsPath /PARENT/c of the crun bundle
CID=bench-$$                             # crun/runc container id prefix
BR='' BRR='' CR='' RR='' POD=()

# times in microseconds from bash's clock, no fork in the timed loops
usec() { local t=${EPOCHREALTIME//[.,]/}; printf '%s' "$t"; }
# secs_since T0: seconds (6 decimals) since T0 (from usec)
secs_since() {
    local d=$(( ${EPOCHREALTIME//[.,]/} - $1 ))
    printf '%d.%06d' $((d / 1000000)) $((d % 1000000))
}
# kv NAME KEY VALUE: one line of part-2 results
kv() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES/scale.tsv"; }

# ---------------------------------------------------------------- cleanup
berth_rm_all() {
    [ -n "$BR" ] && [ -d "$BR" ] || return 0
    local ids
    ids=$("$BERTH" --root "$BR" --runroot "$BRR" ps -aq --no-trunc 2>/dev/null) || return 0
    # shellcheck disable=SC2086
    [ -z "$ids" ] || "$BERTH" --root "$BR" --runroot "$BRR" rm -f $ids >/dev/null 2>&1 || true
    # the default bridge outlives the containers (as docker0 does)
    "$BERTH" --root "$BR" --runroot "$BRR" network prune -f >/dev/null 2>&1 || true
}
podman_rm_all() {
    [ "${#POD[@]}" -gt 0 ] && [ -d "$STORE/podman-root" ] || return 0
    "${POD[@]}" rm -af -t 0 >/dev/null 2>&1 || true
}
docker_rm_all() {
    [ -n "${DOCKER_HOST:-}" ] || return 0
    local ids
    ids=$(docker ps -aq 2>/dev/null) || return 0
    # shellcheck disable=SC2086
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
}
oci_rm_all() {
    local tool=$1 root=$2 id
    [ -n "$root" ] && [ -d "$root" ] && command -v "$tool" >/dev/null 2>&1 || return 0
    for id in $("$tool" --root "$root" list -q 2>/dev/null); do
        "$tool" --root "$root" delete -f "$id" >/dev/null 2>&1 || true
    done
}
# processes still using the store (by command line): ours; end them by pid
kill_store_procs() {
    [ -n "$STORE" ] || return 0
    local p pids=()
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = $$ ] && continue
        if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "$STORE/"; then pids+=("$p"); fi
    done
    [ "${#pids[@]}" -eq 0 ] && return 0
    log "WARNING: processes still using $STORE after cleanup (killing them): ${pids[*]}"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    sleep 0.5
}
leak_check() {
    local l
    if grep -qF " $FS_MNT" /proc/self/mountinfo; then log "WARNING: mounts left under $FS_MNT"; fi
    l=$(losetup -j "$FS_IMG" 2>/dev/null || true)
    [ -z "$l" ] || log "WARNING: loop device left: $l"
    for l in /sys/fs/cgroup/*/"$CRUN_CG_PARENT"; do
        [ -d "$l" ] || continue
        find "$l" -depth -mindepth 1 -type d -exec rmdir {} \; 2>/dev/null
        rmdir "$l" 2>/dev/null || log "WARNING: cgroup left: $l"
    done
    # berth's cgroups of the part-2 containers (berth rm removes them)
    if [ -f "$RES/scale-berth.ids" ]; then
        while read -r l; do
            for l in /sys/fs/cgroup/*/berth/"$l"; do
                [ ! -d "$l" ] || log "WARNING: cgroup left: $l"
            done
        done <"$RES/scale-berth.ids"
    fi
    [ ! -e /run/berth-bench-run-docker.pid ] || log "WARNING: bench dockerd pid file left"
    return 0
}
cleanup() {
    local rc=$?
    set +e
    berth_rm_all
    oci_rm_all crun "$CR"
    oci_rm_all runc "$RR"
    podman_rm_all
    docker_rm_all
    docker_down
    kill_store_procs
    store_down
    leak_check
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- setup
need_hyperfine
berth_available || die "no berth to benchmark"
FIXTURE=$("$REPO_DIR/tests/fixtures/make.sh") || die "could not build the busybox fixture"
mkdir -p "$RES"
: >"$RES/scale.tsv"
docker_down                      # a bench dockerd left over from a killed run
store_up
mkdir -p "$STORE/bin"
BERTH_SRC=$BERTH
cp "$BERTH_SRC" "$STORE/bin/berth"
BERTH=$STORE/bin/berth
{
    echo "berth: $BERTH_SRC sha256 $(sha256sum <"$BERTH_SRC" | cut -c1-16)"
    "$BERTH" version 2>/dev/null | sed 's/^/  /' || true
    echo "kernel: $(uname -r), $(nproc) cpus; cgroup: $(stat -fc %T /sys/fs/cgroup)$( [ -d /sys/fs/cgroup/unified ] && echo ' + v2 at unified (hybrid)')"
    echo "crun: $(crun --version 2>/dev/null | head -1)"
    echo "runc: $(runc --version 2>/dev/null | head -1)"
    echo "docker: $(docker --version 2>/dev/null)"
    echo "podman: $(podman --version 2>/dev/null)"
    echo "fixture: $FIXTURE"
} >"$RES/env.txt"

BR=$STORE/berth-root BRR=$STORE/berth-run
B=("$BERTH" --root "$BR" --runroot "$BRR")
"${B[@]}" import -c 'CMD ["sh"]' "$FIXTURE" busybox >/dev/null || die "berth import failed"
out=$("${B[@]}" run --rm busybox sh -c 'echo ok') || die "berth run failed: $out"
[ "$out" = ok ] || die "berth run printed '$out'"
log "berth: imported $FIXTURE as busybox into $BR"

HF=(hyperfine -N --warmup "$WARMUP" --style basic)
[ "$IDLE" = 0 ] || HF+=(--prepare "sleep $IDLE")
START_FILES=()

# ---------------------------------------------------------------- part 1
# crun/runc bundle: `crun spec`, then rootfs (absolute: runc wants a real
# directory), args and terminal changed; everything else as crun made it.
CRUN_OK=0 RUNC_OK=0 NS_WRAP=() NS_NOTE=
make_bundles() {
    command -v crun >/dev/null 2>&1 || { skip "crun: not installed"; return 1; }
    local d=$STORE/oci
    mkdir -p "$d/rootfs" "$d/default" "$d/cgpath"
    tar -xf "$FIXTURE" -C "$d/rootfs"
    (cd "$d/default" && crun spec) || { skip "crun: crun spec failed"; return 1; }
    python3 - "$d" "/$CRUN_CG_PARENT/c" <<'PY'
import json, sys
d, cgpath = sys.argv[1], sys.argv[2]
c = json.load(open(d + "/default/config.json"))
c["root"]["path"] = d + "/rootfs"
c["process"]["args"] = ["true"]
c["process"]["terminal"] = False
json.dump(c, open(d + "/default/config.json", "w"), indent=1)
c.setdefault("linux", {})["cgroupsPath"] = cgpath
json.dump(c, open(d + "/cgpath/config.json", "w"), indent=1)
PY
    CR=$STORE/crun-state RR=$STORE/runc-state
    mkdir -p "$CR" "$RR"
}
crun_probe() { "$@" crun --root "$CR" run --bundle "$STORE/oci/default" "$CID-probe" >>"$RES/crun-probe.log" 2>&1; }
if [ "$DO_START" = 1 ] && make_bundles; then
    if crun_probe; then
        CRUN_OK=1
    elif grep -q 'hybrid mode' "$RES/crun-probe.log" && [ -d /sys/fs/cgroup/unified ]; then
        NS_WRAP=(unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
        if crun_probe "${NS_WRAP[@]}"; then
            CRUN_OK=1
            NS_NOTE="crun refuses this hybrid cgroup layout; berth, crun and runc were timed in a private mount namespace without /sys/fs/cgroup/unified"
            log "$NS_NOTE"
        fi
    fi
    [ "$CRUN_OK" = 1 ] || { skip "crun: crun run of the bundle failed:"; cat "$RES/crun-probe.log" >&2; NS_WRAP=(); }
    if command -v runc >/dev/null 2>&1 \
        && "${NS_WRAP[@]}" runc --root "$RR" run --bundle "$STORE/oci/default" "$CID-probe" >"$RES/runc-probe.log" 2>&1; then
        RUNC_OK=1
    else
        skip "runc: not installed or runc run of the bundle failed"
    fi
fi

if [ "$DO_START" = 1 ]; then
    cmds=(-n "berth" "$(q "${B[@]}" run --rm busybox true)"
          -n "berth --network none" "$(q "${B[@]}" run --rm --network none busybox true)"
          -n "berth --network host" "$(q "${B[@]}" run --rm --network host busybox true)")
    if [ "$CRUN_OK" = 1 ]; then
        # crun run deletes its state when the container exits: a fixed id per
        # command works (leftovers are deleted at the end)
        cmds+=(-n "crun" "$(q crun --root "$CR" run --bundle "$STORE/oci/default" "$CID-a")"
               -n "crun cgroupsPath" "$(q crun --root "$CR" run --bundle "$STORE/oci/cgpath" "$CID-b")"
               -n "crun no cgroup" "$(q crun --cgroup-manager=disabled --root "$CR" run --bundle "$STORE/oci/default" "$CID-c")")
    fi
    [ "$RUNC_OK" = 0 ] || cmds+=(-n "runc" "$(q runc --root "$RR" run --bundle "$STORE/oci/default" "$CID-r")")
    log "part 1: berth, crun (ok=$CRUN_OK), runc (ok=$RUNC_OK): $RUNS runs, warmup $WARMUP"
    if "${NS_WRAP[@]}" "${HF[@]}" --runs "$RUNS" --export-json "$RES/start-local.json" "${cmds[@]}"; then
        START_FILES+=(start-local)
    else
        skip "berth/crun/runc start timing failed"
    fi
    oci_rm_all crun "$CR"; oci_rm_all runc "$RR"
fi

# docker: a dockerd of our own, image imported from the same fixture
DOCKER_OK=0
if [ "$DO_DOCKER" = 1 ] && docker_up; then
    if docker import -c 'CMD ["sh"]' "$FIXTURE" "$TAG" >/dev/null && docker run --rm --network none "$TAG" true; then
        DOCKER_OK=1
    else
        skip "docker: import or run of the busybox image failed"
    fi
fi
if [ "$DOCKER_OK" = 1 ] && [ "$DO_START" = 1 ]; then
    log "part 1: docker: $PEER_RUNS runs, warmup $WARMUP"
    if "${HF[@]}" --runs "$PEER_RUNS" --export-json "$RES/start-docker.json" \
        -n "docker" "$(q docker run --rm --network none "$TAG" true)"; then
        START_FILES+=(start-docker)
    else
        skip "docker run timing failed"
    fi
fi

# podman: private root, runroot and tmpdir; runtime and cgroup manager from
# /etc/containers/containers.conf (scripts/peers.sh podman-setup: runc, cgroupfs)
PODMAN_OK=0
if [ "$DO_PODMAN" = 1 ] && podman_available; then
    if "$PEERS" podman-setup >"$RES/podman-setup.log" 2>&1; then
        POD=(podman --root "$STORE/podman-root" --runroot "$STORE/podman-run"
             --tmpdir "$STORE/podman-tmp" --storage-driver overlay)
        if "${POD[@]}" import -q -c 'CMD ["sh"]' "$FIXTURE" "$TAG" >/dev/null \
            && "${POD[@]}" run --rm --network none "$TAG" true; then
            PODMAN_OK=1
        else
            skip "podman: import or run of the busybox image failed"
        fi
    else
        skip "podman: scripts/peers.sh podman-setup failed (see $RES/podman-setup.log)"
    fi
fi
if [ "$PODMAN_OK" = 1 ] && [ "$DO_START" = 1 ]; then
    log "part 1: podman: $PEER_RUNS runs, warmup $WARMUP"
    if "${HF[@]}" --runs "$PEER_RUNS" --export-json "$RES/start-podman.json" \
        -n "podman" "$(q "${POD[@]}" run --rm --network none "$TAG" true)"; then
        START_FILES+=(start-podman)
    else
        skip "podman run timing failed"
    fi
fi

# ---------------------------------------------------------------- part 2
# mem_of NAME PID: the helper process's memory, in kB, into scale.tsv
mem_of() {
    local name=$1 pid=$2 s
    s=/proc/$pid/status
    [ -r "$s" ] || { log "$name: helper pid $pid not found"; return 0; }
    kv "$name" helper "$(basename "$(readlink "/proc/$pid/exe")")"
    kv "$name" helper_pid "$pid"
    awk -v n="$name" '$1 ~ /^(VmRSS|RssAnon|RssFile|RssShmem):$/ { sub(":", "", $1); printf "%s\t%s\t%s\n", n, $1, $2 }' "$s" >>"$RES/scale.tsv"
    kv "$name" Pss "$(awk '$1 == "Pss:" { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)"
}
# mem_sum NAME PID...: summed VmRSS and Pss of all the helpers
mem_sum() {
    local name=$1 p rss=0 pss=0 n=0 v
    shift
    for p in "$@"; do
        v=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
        [ -n "$v" ] || continue
        rss=$((rss + v)); n=$((n + 1))
        v=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
        pss=$((pss + ${v:-0}))
    done
    kv "$name" helpers "$n"; kv "$name" sum_VmRSS "$rss"; kv "$name" sum_Pss "$pss"
}
ppid_of() { awk '$1 == "PPid:" { print $2 }' "/proc/$1/status" 2>/dev/null; }

# scale NAME BASE RUN-ARGS...: with BASE the name of an array holding the
# engine's command (with its store options), start COUNT containers, one
# `BASE run -d RUN-ARGS sh -c CMD_TRAP` after another; read the helpers'
# memory (NAME_helpers IDS...), then time one `BASE stop -t 10 IDS...` and
# one `BASE rm IDS...`.
scale() {
    local name=$1 t0 t1 i id n d
    local -n base=$2
    shift 2
    local ids=()
    log "part 2: $name: starting $COUNT containers"
    t0=${EPOCHREALTIME//[.,]/}
    for ((i = 1; i <= COUNT; i++)); do
        if ! id=$("${base[@]}" run -d "$@" sh -c "$CMD_TRAP" 2>>"$RES/scale-$name.log"); then
            skip "$name: run -d failed at container $i (see $RES/scale-$name.log)"
            kv "$name" status "failed (run -d of container $i)"
            return 0
        fi
        ids+=("$id")
        t1=${EPOCHREALTIME//[.,]/}
        if [ $((t1 - t0)) -gt $((CAP * 1000000)) ] && [ "$i" -lt "$COUNT" ]; then
            skip "$name: $i starts took over ${CAP}s; skipped (too slow)"
            kv "$name" status "skipped (too slow: $i starts in ${CAP}s)"
            return 0
        fi
    done
    d=$((t1 - t0))
    kv "$name" start_s "$(printf '%d.%06d' $((d / 1000000)) $((d % 1000000)))"
    printf '%s\n' "${ids[@]}" >"$RES/scale-$name.ids"
    n=$("${base[@]}" ps -q 2>/dev/null | wc -l) || n=0
    kv "$name" running "$n"
    [ "$n" -eq "$COUNT" ] || log "WARNING: $name: $n of $COUNT containers running"
    "${name}_helpers" "${ids[@]}" || log "WARNING: $name: could not read the helpers' memory"
    log "part 2: $name: stop -t 10 of $COUNT containers"
    t0=$(usec)
    if timeout "$CAP" "${base[@]}" stop -t 10 "${ids[@]}" >/dev/null 2>>"$RES/scale-$name.log"; then
        kv "$name" stop_s "$(secs_since "$t0")"
    else
        skip "$name: stop -t 10 of $COUNT failed or took over ${CAP}s"
        kv "$name" stop_s "failed or over ${CAP}s ($(secs_since "$t0") s)"
    fi
    n=$("${base[@]}" ps -q 2>/dev/null | wc -l) || n=-1
    kv "$name" running_after_stop "$n"
    t0=$(usec)
    if "${base[@]}" rm "${ids[@]}" >/dev/null 2>>"$RES/scale-$name.log"; then
        kv "$name" rm_s "$(secs_since "$t0")"
    else
        kv "$name" rm_s "failed"
    fi
    kv "$name" status ok
}
berth_helpers() {
    local pids=()
    mapfile -t pids < <(python3 - "$BR" "$@" <<'PY'
import json, sys
root = sys.argv[1]
for cid in sys.argv[2:]:
    try:
        p = json.load(open("%s/containers/%s/state.json" % (root, cid))).get("MonitorPid")
    except (OSError, ValueError):
        continue
    if p:
        print(p)
PY
    )
    [ "${#pids[@]}" -gt 0 ] || { log "berth: no MonitorPid in $BR/containers/*/state.json"; return 1; }
    mem_of berth "${pids[0]}"
    mem_sum berth "${pids[@]}"
}
docker_helpers() {
    local p pids=()
    # the container's init is a child of its containerd-shim-runc-v2
    for p in $(docker inspect -f '{{.State.Pid}}' "$@"); do pids+=("$(ppid_of "$p")"); done
    [ "${#pids[@]}" -gt 0 ] || return 1
    mem_of docker "${pids[0]}"
    mem_sum docker "${pids[@]}"
}
podman_helpers() {
    local pids=()
    mapfile -t pids < <("${POD[@]}" inspect -f '{{.State.ConmonPid}}' "$@")
    [ "${#pids[@]}" -gt 0 ] || return 1
    mem_of podman "${pids[0]}"
    mem_sum podman "${pids[@]}"
}

if [ "$DO_SCALE" = 1 ]; then
    # shellcheck disable=SC2034  # used through scale's nameref
    DK=(docker)
    scale berth B busybox; berth_rm_all
    [ "$DOCKER_OK" = 0 ] || { scale docker DK --network none "$TAG"; docker_rm_all; }
    [ "$PODMAN_OK" = 0 ] || { scale podman POD --network none "$TAG"; podman_rm_all; }
fi
docker_rm_all
docker_down

# ---------------------------------------------------------------- summary
python3 - "$RES" "$RUNS" "$PEER_RUNS" "$WARMUP" "$COUNT" "$NS_NOTE" "$IDLE" "${START_FILES[@]}" <<'PY' | tee "$RES/summary.txt"
import json, os, sys
res, runs, peer_runs, warmup, count, ns_note, idle = sys.argv[1:8]
files = sys.argv[8:]
print()
print(open(os.path.join(res, "env.txt")).read().rstrip())
rows = []
for f in files:
    rows += json.load(open(os.path.join(res, f + ".json")))["results"]
med = {r["command"]: r["median"] * 1000 for r in rows}
b = med.get("berth")
def ratio(a, c):
    return "%.2f" % (a / c) if a is not None and c else "n/a"
if rows:
    print()
    print("container start: run --rm IMG true (busybox fixture), hyperfine -N, warmup %s, %s" % (
        warmup, "back to back" if float(idle) == 0 else "%s s idle before each run" % idle))
    print("%-22s %5s %10s %10s %10s %10s %9s" % ("command", "runs", "median ms", "mean ms", "min ms", "max ms", "vs berth"))
    for r in rows:
        print("%-22s %5d %10.2f %10.2f %10.2f %10.2f %9s" % (
            r["command"], len(r["times"]), r["median"] * 1000, r["mean"] * 1000,
            r["min"] * 1000, r["max"] * 1000, ratio(r["median"] * 1000, b)))
    print("vs berth = median / berth median (>1: berth is faster)")
    if ns_note:
        print("note: " + ns_note)
    if b is not None:
        def tgt(label, ok, val):
            print("target: %-32s %-7s (%s)" % (label, "MET" if ok else "MISSED", val))
        print()
        tgt("berth median < 10 ms", b < 10, "%.2f ms" % b)
        for peer in ("docker", "podman"):
            if peer in med:
                tgt("%s/berth >= 30x" % peer, med[peer] / b >= 30, "%.1fx" % (med[peer] / b))
            else:
                print("target: %s/berth >= 30x: not measured" % peer)
        if "crun" in med:
            tgt("berth/crun <= 2x", b / med["crun"] <= 2, "%.2fx" % (b / med["crun"]))
        if "crun no cgroup" in med and "crun" in med:
            print("crun with a cgroup - crun without: %.2f ms (median)" % (med["crun"] - med["crun no cgroup"]))
        if "berth --network none" in med:
            print("berth (default bridge) - berth --network none: %.2f ms (median)" % (b - med["berth --network none"]))
        if "berth --network host" in med:
            print("berth - berth --network host: %.2f ms (median)" % (b - med["berth --network host"]))

sc = {}
for line in open(os.path.join(res, "scale.tsv")):
    n, k, v = line.rstrip("\n").split("\t")
    sc.setdefault(n, {})[k] = v
if sc:
    print()
    print("%s detached containers: sh -c 'trap \"exit 0\" TERM; sleep 1000 & wait', default settings" % count)
    print("(one run -d after another; then one stop -t 10 call, one rm call)")
    print("%-7s %9s %9s %8s %7s  %-24s %8s %8s %8s %8s %10s" % (
        "engine", "start s", "ms/start", "stop s", "rm s", "helper (one)", "VmRSS kB", "Anon kB", "File kB", "Pss kB", "sum Pss MB"))
    for n in ("berth", "docker", "podman"):
        if n not in sc:
            continue
        s = sc[n]
        if s.get("status") != "ok" and "start_s" not in s:
            print("%-7s %s" % (n, s.get("status", "?")))
            continue
        def f(k, fmt="%s"):
            v = s.get(k)
            try:
                return fmt % float(v)
            except (TypeError, ValueError):
                return v if v else "-"
        per = "%.1f" % (float(s["start_s"]) * 1000 / int(count)) if "start_s" in s else "-"
        sp = "%.1f" % (int(s["sum_Pss"]) / 1024) if s.get("sum_Pss") else "-"
        print("%-7s %9s %9s %8s %7s  %-24s %8s %8s %8s %8s %10s" % (
            n, f("start_s", "%.2f"), per, f("stop_s", "%.2f"), f("rm_s", "%.2f"),
            s.get("helper", "-"), f("VmRSS", "%.0f"), f("RssAnon", "%.0f"), f("RssFile", "%.0f"),
            f("Pss", "%.0f"), sp))
        extra = []
        if s.get("running") not in (None, count):
            extra.append("only %s of %s were running" % (s["running"], count))
        if s.get("running_after_stop") not in (None, "0"):
            extra.append("%s still running after stop" % s["running_after_stop"])
        if s.get("status") != "ok":
            extra.append(s.get("status"))
        if extra:
            print("        " + "; ".join(extra))
    if "berth" in sc and sc["berth"].get("VmRSS"):
        r = int(sc["berth"]["VmRSS"])
        print("target: berth monitor RSS < 1 MB          %-7s (VmRSS %d kB)" % ("MET" if r < 1024 else "MISSED", r))
print("results: %s" % res)
PY
