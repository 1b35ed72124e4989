#!/usr/bin/env bash
# bench/pull.sh - pull and push of a ~300 MB multi-layer image through a
# local registry (Debian's docker-registry on 127.0.0.1), berth against
# `docker pull/push` (a private dockerd) and `podman pull/push`, each pull
# starting from an empty store. Target (issue 6): berth pull at least 2x
# faster than the fastest peer.
#
# usage: bench/pull.sh [--runs N] [--warmup N] [--no-docker] [--no-podman]
#                      [--no-push] [--work DIR] [--store-dir DIR]
#
#   --runs N     timed runs per tool (default 5)
#   --warmup N   untimed runs per tool first (default 1)
#   --no-push    time pulls only
#   --work DIR   cache/work directory (default /var/tmp/berth-bench-pull)
#   --store-dir DIR  stores in DIR instead of a fresh loop-mounted ext4
# env: BERTH=path/to/berth (default build/berth), BERTH_BENCH_LOAD=dir of
#      bench/load.sh's cache (default /var/tmp/berth-bench/load)
#
# The image: the layers bench/load.sh builds (Debian minbase rootfs, a copy
# of /usr/share, 40 MB of random blobs, a small layer with whiteouts and
# links; run bench/load.sh once to build them) plus a 100 MB layer of
# random files, ~300 MB uncompressed in 5 layers. berth loads it and pushes
# it to the registry (gzip), so every tool pulls the very same blobs.
# Pull: each run starts from an empty store (berth: fresh --root; docker:
# image removed, so its layers go; podman: fresh --root). Push: each run
# pushes the image (already in the tool's store) to a new repository of a
# registry restarted with empty storage, so every blob is uploaded (no HEAD
# hits, no cross-repository mounts). Registry storage and every store are
# on the same fresh ext4 filesystem. Results go to WORK/results/pull-DATE/.
set -euo pipefail
PROG=pull.sh
# its own work dir (and so its own loop-mounted store): the other benches
# remount theirs when they start, which must not take the registry's
# storage away in the middle of a run
LOAD_DIR=${BERTH_BENCH_LOAD:-${BERTH_BENCH_WORK:-/var/tmp/berth-bench}/load}
export BERTH_BENCH_WORK=${BERTH_BENCH_WORK:-/var/tmp/berth-bench-pull}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=5 WARMUP=1 DO_DOCKER=1 DO_PODMAN=1 DO_PUSH=1
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=${2:?}; shift 2 ;;
        --warmup) WARMUP=${2:?}; shift 2 ;;
        --no-docker) DO_DOCKER=0; shift ;;
        --no-podman) DO_PODMAN=0; shift ;;
        --no-push) DO_PUSH=0; shift ;;
        --work) WORK=${2:?}; shift 2 ;;
        --store-dir) STORE_DIR=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
done
FS_IMG=$WORK/store.img FS_MNT=$WORK/store
case "$RUNS" in ''|*[!0-9]*|0) die "--runs must be a positive integer" ;; esac
case "$WARMUP" in ''|*[!0-9]*) die "--warmup must be a non-negative integer" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root"
command -v docker-registry >/dev/null 2>&1 || die "docker-registry is needed (apt-get install docker-registry)"
berth_available || die "no berth to benchmark"

L=$LOAD_DIR/layers
D=$WORK/pull
ARCHIVE=$D/image.tar
RES=$WORK/results/pull-$(date +%Y%m%d-%H%M%S)
[ -f "$L/1.tar" ] && [ -f "$L/4.tar" ] || die "layers missing in $L: run bench/load.sh once (it builds them), or set BERTH_BENCH_LOAD"
mkdir -p "$D" "$RES"
if [ ! -f "$D/archive.ok" ]; then
    log "building $ARCHIVE (layers of bench/load.sh + 100 MB of random files)"
    python3 "$BENCH_DIR/mkarchive.py" randlayer "$D/5.tar" --size $((100 * 1024 * 1024)) --files 4 --seed 7 --dir opt/data
    python3 "$BENCH_DIR/mkarchive.py" archive "$ARCHIVE" --tag berth-bench/pull:v1 \
        "$L/1.tar" "$L/2.tar" "$L/3.tar" "$L/4.tar" "$D/5.tar"
    touch "$D/archive.ok"
fi

REG_PID=
reg_stop() {
    if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
    REG_PID=
}
# reg_start: a registry with empty storage on $PORT
reg_start() {
    reg_stop
    rm -rf "$STORE/registry"
    mkdir -p "$STORE/registry"
    cat >"$D/registry.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $STORE/registry}
http:
  addr: 127.0.0.1:$PORT
EOF
    docker-registry serve "$D/registry.yml" >"$RES/registry.log" 2>&1 &
    REG_PID=$!
    local i
    for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0; sleep 0.1; done
    die "registry did not start (log: $RES/registry.log)"
}

cleanup() {
    local rc=$?
    set +e
    reg_stop
    docker_down
    store_down
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_hyperfine
docker_down
store_up
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
IMG=$REG/bench/pull:v1
reg_start

# seed: berth loads the archive and pushes it (gzip) to the registry
SEED=$STORE/seed
"$BERTH" --root "$SEED" load -i "$ARCHIVE" >/dev/null
"$BERTH" --root "$SEED" tag berth-bench/pull:v1 "$IMG"
"$BERTH" --root "$SEED" push -q "$IMG" >/dev/null
sizes=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REG/v2/bench/pull/manifests/v1" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(len(m["layers"]), sum(l["size"] for l in m["layers"]))')
log "image $IMG: $(du -m "$ARCHIVE" | cut -f1) MB uncompressed, ${sizes% *} layers, $(( ${sizes#* } / 1048576 )) MB compressed in the registry"

HF=(hyperfine --runs "$RUNS" --warmup "$WARMUP" --style basic)
TOOLS=()

# ---- pulls
B=$STORE/berth-root
"${HF[@]}" --command-name berth --export-json "$RES/pull-berth.json" \
    --prepare "$(q rm -rf "$B"); sync" \
    "$(q "$BERTH" --root "$B" pull -q "$IMG")"
TOOLS+=(berth)
"$BERTH" --root "$B" run --rm --network none "$IMG" sh -c 'test -x /opt/app/bin/run.sh' \
    || die "berth's pulled image does not run"

if [ "$DO_DOCKER" = 1 ] && docker_up; then
    "${HF[@]}" --command-name docker --export-json "$RES/pull-docker.json" \
        --prepare "docker rmi -f $(q "$IMG") >/dev/null 2>&1; sync" \
        "$(q docker pull -q "$IMG")"
    TOOLS+=(docker)
fi

if [ "$DO_PODMAN" = 1 ] && podman_available; then
    P=$STORE/podman-root PR=$STORE/podman-run
    PM=(podman --root "$P" --runroot "$PR" --storage-driver overlay)
    "${HF[@]}" --command-name podman --export-json "$RES/pull-podman.json" \
        --prepare "$(q rm -rf "$P" "$PR"); sync" \
        "$(q "${PM[@]}" pull -q --tls-verify=false "$IMG")"
    TOOLS+=(podman)
fi

# ---- pushes: each run to an emptied registry (restarted in --prepare)
PUSHED=()
if [ "$DO_PUSH" = 1 ]; then
    cat >"$D/reg-reset.sh" <<EOF
#!/bin/bash
# restart the registry with empty storage (bench --prepare step)
pid=\$(cat $(q "$D/reg.pid") 2>/dev/null)
if [ -n "\$pid" ] && [ "\$pid" -gt 1 ]; then
    kill "\$pid" 2>/dev/null
    while kill -0 "\$pid" 2>/dev/null; do sleep 0.05; done
fi
rm -rf $(q "$STORE/registry"); mkdir -p $(q "$STORE/registry")
setsid docker-registry serve $(q "$D/registry.yml") >>$(q "$RES/registry.log") 2>&1 &
echo \$! >$(q "$D/reg.pid")
i=0; while ! (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; do i=\$((i+1)); [ \$i -gt 100 ] && exit 1; sleep 0.05; done
sync
EOF
    reg_stop
    : >"$D/reg.pid"
    bash "$D/reg-reset.sh"
    "${HF[@]}" --command-name berth --export-json "$RES/push-berth.json" \
        --prepare "bash $(q "$D/reg-reset.sh")" \
        "$(q "$BERTH" --root "$B" push -q "$IMG")"
    PUSHED+=(berth)
    if [[ " ${TOOLS[*]} " == *" docker "* ]]; then
        "${HF[@]}" --command-name docker --export-json "$RES/push-docker.json" \
            --prepare "bash $(q "$D/reg-reset.sh")" \
            "$(q docker push -q "$IMG")"
        PUSHED+=(docker)
    fi
    if [[ " ${TOOLS[*]} " == *" podman "* ]]; then
        "${HF[@]}" --command-name podman --export-json "$RES/push-podman.json" \
            --prepare "bash $(q "$D/reg-reset.sh")" \
            "$(q "${PM[@]}" push -q --tls-verify=false "$IMG")"
        PUSHED+=(podman)
    fi
    pid=$(cat "$D/reg.pid" 2>/dev/null)
    if [ -n "$pid" ] && [ "$pid" -gt 1 ]; then kill "$pid" 2>/dev/null || true; fi
fi
[ -n "${P:-}" ] && { safe_rm "$P"; safe_rm "$PR"; }

python3 - "$RES" "$RUNS" "${TOOLS[*]}" "${PUSHED[*]:-}" <<'PY' | tee "$RES/summary.txt"
import json, os, sys
res, runs, pulls, pushes = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
def table(kind, tools):
    r = {t: json.load(open(os.path.join(res, "%s-%s.json" % (kind, t))))["results"][0] for t in tools}
    print("%s (%s runs each)" % (kind, runs))
    print("%-8s %10s %10s %10s %12s" % ("tool", "median s", "min s", "max s", "vs berth"))
    for t in tools:
        x = r[t]
        print("%-8s %10.3f %10.3f %10.3f %12.2f" % (t, x["median"], x["min"], x["max"], x["median"] / r["berth"]["median"]))
    peers = [t for t in tools if t != "berth"]
    if peers:
        best = min(peers, key=lambda t: r[t]["median"])
        print("fastest peer: %s, %.2fx berth's time" % (best, r[best]["median"] / r["berth"]["median"]))
    print()
print()
table("pull", pulls)
if pushes:
    table("push", pushes)
print("vs berth = tool median / berth median (>1: berth is faster)")
print("results: %s" % res)
PY
