#!/usr/bin/env bash
# bench/images.sh - how fast is `berth images` with many images in the store?
# Target: `berth images` with 500 images in under 20 ms (median).
#
# usage: bench/images.sh [--count N] [--runs N] [--warmup N] [--no-docker]
#                        [--podman] [--work DIR] [--store-dir DIR]
#
#   --count N    number of distinct images (default 500)
#   --runs N     timed runs per command (default 30)
#   --warmup N   untimed runs first (default 3)
#   --no-docker  do not compare with `docker images`
#   --podman     also compare with `podman images` (slow to populate)
# env: BERTH=path/to/berth (default build/berth)
#
# It makes N tiny rootfs tars that differ in content (cached in
# WORK/images/tars), imports each with `berth --root R import FILE
# berth-bench-img:I` into a fresh store, then times `berth --root R images`
# and `... images -q` with hyperfine (no shell in between). With docker, the
# same N tars are imported into a dockerd the bench starts for itself and
# `docker images` is timed the same way. Stores are on a fresh loop-mounted
# ext4 filesystem (see bench/lib.sh); everything is removed afterwards.
# Results go to WORK/results/images-DATE/.
set -euo pipefail
PROG=images.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

COUNT=500 RUNS=30 WARMUP=3 DO_DOCKER=1 DO_PODMAN=0 TARGET_MS=20
while [ $# -gt 0 ]; do
    case "$1" in
        --count) COUNT=${2:?--count needs a number}; shift 2 ;;
        --count=*) COUNT=${1#*=}; shift ;;
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --warmup) WARMUP=${2:?--warmup needs a number}; shift 2 ;;
        --warmup=*) WARMUP=${1#*=}; shift ;;
        --no-docker) DO_DOCKER=0; shift ;;
        --podman) DO_PODMAN=1; shift ;;
        --work) WORK=${2:?--work needs a directory}; shift 2 ;;
        --work=*) WORK=${1#*=}; shift ;;
        --store-dir) STORE_DIR=${2:?--store-dir needs a directory}; shift 2 ;;
        --store-dir=*) STORE_DIR=${1#*=}; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
done
for v in COUNT RUNS; do
    case "${!v}" in ''|*[!0-9]*|0) die "--${v,,} must be a positive integer" ;; esac
done
case "$WARMUP" in ''|*[!0-9]*) die "--warmup must be a non-negative integer" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root (the fresh store filesystem and dockerd need it)"

TARS=$WORK/images/tars
REPO=berth-bench-img
RES=$WORK/results/images-$(date +%Y%m%d-%H%M%S)

make_tars() {
    if [ -f "$TARS/count" ] && [ "$(cat "$TARS/count")" -ge "$COUNT" ]; then return 0; fi
    log "making $COUNT tiny distinct rootfs tars in $TARS"
    rm -rf "$TARS"; mkdir -p "$TARS"
    python3 - "$TARS" "$COUNT" <<'PY'
import hashlib, io, sys, tarfile
out, n = sys.argv[1], int(sys.argv[2])
T = 1704067200
for i in range(1, n + 1):
    with tarfile.open(f"{out}/{i}.tar", "w", format=tarfile.PAX_FORMAT) as tf:
        for d in ("etc", "bin"):
            ti = tarfile.TarInfo(d + "/"); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; ti.mtime = T
            tf.addfile(ti)
        for name, data in (
            ("etc/berth-bench-image", f"image {i}\n".encode()),
            ("bin/payload", hashlib.sha256(str(i).encode()).hexdigest().encode() * 16),
        ):
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644; ti.mtime = T
            tf.addfile(ti, io.BytesIO(data))
PY
    echo "$COUNT" >"$TARS/count"
}

cleanup() {
    local rc=$?
    set +e
    docker_down
    store_down
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_hyperfine
make_tars
mkdir -p "$RES"
docker_down                      # a bench dockerd left over from a killed run
store_up
HF=(hyperfine -N --runs "$RUNS" --warmup "$WARMUP" --style basic)
NAMES=()

# populate CMD...: run "CMD FILE REF" for every image, in parallel (-P jobs),
# print the elapsed seconds.
populate() {
    local jobs=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    seq 1 "$COUNT" | xargs -P "$jobs" -I{} "$@" "$TARS/{}.tar" "$REPO:{}" >/dev/null
    t1=$(date +%s.%N)
    python3 -c "print('%.1f' % ($t1 - $t0))"
}

# berth
if berth_available; then
    R=$STORE/berth-root
    log "berth: importing $COUNT images into $R (one at a time)"
    if ! secs=$(populate 1 "$BERTH" --root "$R" import 2>"$RES/berth-import.log"); then
        skip "berth: 'berth import' failed; not timing it:"; tail -n 5 "$RES/berth-import.log" >&2
    else
        n=$("$BERTH" --root "$R" images -q | wc -l)
        log "berth: $COUNT imports took ${secs}s; 'berth images -q' lists $n images"
        [ "$n" -eq "$COUNT" ] || log "WARNING: expected $COUNT images, berth lists $n"
        "${HF[@]}" --export-json "$RES/berth.json" \
            --command-name "berth images" "$(q "$BERTH" --root "$R" images)" \
            --command-name "berth images -q" "$(q "$BERTH" --root "$R" images -q)"
        NAMES+=(berth)
    fi
fi

# docker
if [ "$DO_DOCKER" = 1 ] && docker_up; then
    log "docker: importing $COUNT images (4 in parallel)"
    if ! secs=$(populate 4 docker import 2>"$RES/docker-import.log"); then
        skip "docker: docker import failed:"; tail -n 5 "$RES/docker-import.log" >&2
    else
        n=$(docker images -q "$REPO" | wc -l)
        log "docker: $COUNT imports took ${secs}s; docker lists $n images"
        "${HF[@]}" --export-json "$RES/docker.json" \
            --command-name "docker images" "docker images" \
            --command-name "docker images -q" "docker images -q"
        NAMES+=(docker)
    fi
fi
docker_down

# podman
if [ "$DO_PODMAN" = 1 ] && podman_available; then
    P=(podman --root "$STORE/podman-root" --runroot "$STORE/podman-run" --storage-driver overlay)
    log "podman: importing $COUNT images (2 in parallel)"
    if ! secs=$(populate 2 "${P[@]}" import -q 2>"$RES/podman-import.log"); then
        skip "podman: podman import failed:"; tail -n 5 "$RES/podman-import.log" >&2
    else
        log "podman: $COUNT imports took ${secs}s"
        "${HF[@]}" --export-json "$RES/podman.json" \
            --command-name "podman images" "$(q "${P[@]}" images)" \
            --command-name "podman images -q" "$(q "${P[@]}" images -q)"
        NAMES+=(podman)
    fi
fi

[ "${#NAMES[@]}" -gt 0 ] || die "nothing could be timed"

python3 - "$RES" "$COUNT" "$RUNS" "$TARGET_MS" "${NAMES[@]}" <<'PY' | tee "$RES/summary.txt"
import json, os, sys
res, count, runs, target, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5:]
rows = []
for n in names:
    rows += json.load(open(os.path.join(res, n + ".json")))["results"]
med = {r["command"]: r["median"] * 1000 for r in rows}
print()
print("images with %d images in the store, %s runs each" % (count, runs))
print("%-18s %10s %10s %10s %10s" % ("command", "median ms", "mean ms", "min ms", "max ms"))
for r in rows:
    print("%-18s %10.2f %10.2f %10.2f %10.2f" % (
        r["command"], r["median"] * 1000, r["mean"] * 1000, r["min"] * 1000, r["max"] * 1000))
b = med.get("berth images")
if b is not None:
    for peer in ("docker images", "podman images"):
        if peer in med:
            print("%s / berth images = %.2f" % (peer, med[peer] / b))
    print("target: berth images with %d images < %.0f ms: %s (median %.2f ms)" % (
        count, target, "MET" if b < target else "MISSED", b))
print("results: %s" % res)
PY
