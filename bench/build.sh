#!/usr/bin/env bash
# bench/build.sh - `berth build` against `DOCKER_BUILDKIT=1 docker build`
# (a private dockerd started through scripts/peers.sh) and `buildah bud
# --layers`, same Dockerfile, same context, same run:
#   1. cold build: COPY of 10,000 small files plus 3 RUN steps, from an
#      empty build cache (the base image stays);
#   2. no-op rebuild: nothing changed;
#   3. rebuild after touching one of the 10,000 files.
# Targets (issue 5): no-op rebuild under 100 ms and at least 5x faster than
# the fastest peer; cold build at least 2x faster.
#
# usage: bench/build.sh [--runs N] [--files N] [--no-docker] [--no-buildah]
#                       [--store-dir DIR]
#   --runs N     hyperfine runs per case (default 5; the no-op case does 2N)
#   --files N    files in the context (default 10000)
# RUN steps use --network none in every engine (no bridge setup in the
# timings). Stores sit on a fresh loop-mounted ext4 filesystem (see
# bench/lib.sh); results go to $WORK/results/build-*.json and a summary.
set -euo pipefail
PROG=build.sh
. "$(dirname "$0")/lib.sh"

RUNS=5 NFILES=10000 DO_DOCKER=1 DO_BUILDAH=1
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --files) NFILES=$2; shift 2 ;;
        --no-docker) DO_DOCKER=0; shift ;;
        --no-buildah) DO_BUILDAH=0; shift ;;
        --store-dir) STORE_DIR=$2; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) die "unknown option $1" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "run as root"
# 10,000-file layers in three engines' stores: room for the inodes
FS_MB=${BERTH_BENCH_FS_MB:-12288}
need_hyperfine
berth_available || exit 1
FIXTURE=$REPO_DIR/build/fixtures/busybox.tar
[ -f "$FIXTURE" ] || bash "$REPO_DIR/tests/fixtures/make.sh" >&2
mkdir -p "$WORK/results"

cleanup() {
    [ "$DO_DOCKER" = 1 ] && docker_down || true
    store_down
}
trap cleanup EXIT
store_up
B="$STORE/berth-bin"
cp "$BERTH" "$B"
CTX=$STORE/ctx
mkdir -p "$CTX/files"
python3 - "$CTX/files" "$NFILES" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, "f%05d" % i), "w") as f:
        f.write("file %d\n" % i * 8)
EOF
cat >"$CTX/Dockerfile" <<'EOF'
FROM busybox
COPY files/ /files/
RUN cat /files/f00001 > /one
RUN ls /files | wc -l > /count
RUN echo done > /done
EOF
TOUCH=$CTX/files/f00042

bb() { "$B" --root "$STORE/berth" --runroot "$STORE/berth-run" "$@"; }
bb import -c 'CMD ["sh"]' "$FIXTURE" busybox >/dev/null
bb save -o "$STORE/busybox.tar" busybox
BERTH_BUILD=$(q "$B" --root "$STORE/berth" --runroot "$STORE/berth-run" build --network none -q -t bench:1 "$CTX")
BERTH_COLD="$(q "$B" --root "$STORE/berth" --runroot "$STORE/berth-run" rmi bench:1) >/dev/null 2>&1; $(q "$B" --root "$STORE/berth" --runroot "$STORE/berth-run" builder prune -a -f)"

cmds_cold=() cmds_noop=() cmds_touch=() names=()
names+=(berth)
cmds_cold+=("$BERTH_BUILD") prep_cold=("$BERTH_COLD >/dev/null")

if [ "$DO_DOCKER" = 1 ] && docker_up; then
    docker load -i "$STORE/busybox.tar" >/dev/null
    names+=(docker)
    # BuildKit needs the buildx plugin, which Debian 12 does not package:
    # then docker's classic builder is what there is to measure
    mkdir -p "$STORE/probe" && echo x >"$STORE/probe/x" && printf 'FROM scratch\nCOPY x /x\n' >"$STORE/probe/Dockerfile"
    if DOCKER_BUILDKIT=1 docker build -q "$STORE/probe" >/dev/null 2>&1; then
        DK_BUILDKIT=1
    else
        DK_BUILDKIT=0
        log "docker: BuildKit unavailable (no buildx plugin); measuring the classic builder (DOCKER_BUILDKIT=0)"
    fi
    cmds_cold+=("DOCKER_BUILDKIT=$DK_BUILDKIT docker build --network none -q -t bench:1 $(q "$CTX")")
    prep_cold+=("docker rmi -f bench:1 >/dev/null 2>&1; docker builder prune -af >/dev/null 2>&1; docker image prune -f >/dev/null 2>&1; true")
else
    DO_DOCKER=0
fi
if [ "$DO_BUILDAH" = 1 ] && command -v buildah >/dev/null 2>&1; then
    BH=$(q buildah --root "$STORE/buildah" --runroot "$STORE/buildah-run" --storage-driver overlay)
    eval "$BH pull -q docker-archive:$(q "$STORE/busybox.tar")" >/dev/null
    names+=(buildah)
    cmds_cold+=("$BH bud --layers --pull=never --network none -q -t bench:1 $(q "$CTX")")
    prep_cold+=("$BH rmi -f bench:1 >/dev/null 2>&1; $BH rmi --prune >/dev/null 2>&1; true")
else
    [ "$DO_BUILDAH" = 1 ] && skip "buildah: not installed (apt-get install buildah)"
    DO_BUILDAH=0
fi

RES=$WORK/results
summary=$RES/build-summary.txt
: >"$summary"
# one case: hyperfine, or a logged failure (the engine's own message) and no figure
bench_case() {
    local n=$1 key=$2; shift 2
    if ! hyperfine "$@" --export-json "$RES/build-$key-$n.json" >&2; then
        rm -f "$RES/build-$key-$n.json"
        log "$n: $key failed; the engine says:"
        sh -c "${cmds_cold[$i]}" 2>&1 | tail -5 | sed 's/^/    /' >&2 || true
    fi
}
for i in "${!names[@]}"; do
    n=${names[$i]}
    log "$n: cold build ($RUNS runs)"
    bench_case "$n" cold -r "$RUNS" --prepare "${prep_cold[$i]}" "${cmds_cold[$i]}"
    log "$n: no-op rebuild ($((RUNS * 2)) runs)"
    bench_case "$n" noop -w 2 -r $((RUNS * 2)) "${cmds_cold[$i]}"
    log "$n: rebuild after touching one file ($RUNS runs)"
    bench_case "$n" touch -r "$RUNS" --prepare "date +%s%N >$(q "$TOUCH")" "${cmds_cold[$i]}"
    # free this engine's copies of the files before the next engine runs
    sh -c "${prep_cold[$i]}" >/dev/null 2>&1 || true
done

python3 - "$RES" "${names[@]}" <<'EOF' | tee "$summary"
import json, sys, statistics
res, names = sys.argv[1], sys.argv[2:]
cases = [("cold", "cold build: COPY 10,000 files + 3 RUN"), ("noop", "no-op rebuild"), ("touch", "rebuild after touching one file")]
for key, title in cases:
    med = {}
    for n in names:
        try:
            with open(f"{res}/build-{key}-{n}.json") as f:
                med[n] = statistics.median(json.load(f)["results"][0]["times"])
        except OSError:
            pass
    line = f"{title:40s}" + "".join(f"  {n} {med[n]*1000:8.1f} ms" if n in med else f"  {n}   failed" for n in names)
    peers = [n for n in names if n != "berth" and n in med]
    if peers and "berth" in med:
        line += "   " + " ".join(f"{n}/berth {med[n]/med['berth']:.1f}x" for n in peers)
    print(line)
EOF
log "summary in $summary"
