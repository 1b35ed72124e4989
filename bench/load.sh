#!/usr/bin/env bash
# bench/load.sh - benchmark `berth load` of a ~200 MB multi-layer
# docker-archive against `docker load`, `podman load` and a floor (plain
# `tar -x` of every layer plus `sha256sum` of the layer tars).
#
# usage: bench/load.sh [--runs N] [--warmup N] [--rebuild] [--no-docker]
#                      [--no-podman] [--no-floor] [--work DIR] [--store-dir DIR]
#
#   --runs N     timed runs per tool (default 5)
#   --warmup N   untimed runs per tool before timing (default 1)
#   --rebuild    rebuild the image archive even if it is cached
#   --work DIR   cache/work directory (default /var/tmp/berth-bench,
#                or $BERTH_BENCH_WORK)
#   --store-dir DIR  put the stores in DIR instead of on a fresh loop-mounted
#                ext4 filesystem (see bench/lib.sh, store_up)
# env: BERTH=path/to/berth (default build/berth), BENCH_MIRROR=debian mirror
#      URL (default: the one apt uses), BENCH_SIZE_MB=target size (200).
#
# The archive (and the debootstrapped rootfs it is built from) is cached in
# WORK/load and rebuilt only if missing. Each timed run starts from an empty
# store (fresh --root dirs, the image removed from docker) with dirty pages
# synced; all stores, including the data root of a dockerd the bench starts
# for itself, are on one fresh ext4 filesystem (loop-mounted image file,
# WORK/store.img, removed afterwards). Results (hyperfine JSON + summary) go to WORK/results/load-DATE/.
set -euo pipefail
PROG=load.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=5 WARMUP=1 REBUILD=0 DO_DOCKER=1 DO_PODMAN=1 DO_FLOOR=1
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --warmup) WARMUP=${2:?--warmup needs a number}; shift 2 ;;
        --warmup=*) WARMUP=${1#*=}; shift ;;
        --rebuild) REBUILD=1; shift ;;
        --no-docker) DO_DOCKER=0; shift ;;
        --no-podman) DO_PODMAN=0; shift ;;
        --no-floor) DO_FLOOR=0; shift ;;
        --work) WORK=${2:?--work needs a directory}; shift 2 ;;
        --work=*) WORK=${1#*=}; shift ;;
        --store-dir) STORE_DIR=${2:?--store-dir needs a directory}; shift 2 ;;
        --store-dir=*) STORE_DIR=${1#*=}; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
done
case "$RUNS" in ''|*[!0-9]*|0) die "--runs must be a positive integer" ;; esac
case "$WARMUP" in ''|*[!0-9]*) die "--warmup must be a non-negative integer" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, dockerd and the stores need it)"

D=$WORK/load
ARCHIVE=$D/image.tar
LAYERS_DIR=$D/layers
TAG=berth-bench/load:v1
SUITE=${BENCH_SUITE:-bookworm}
SIZE_MB=${BENCH_SIZE_MB:-200}
RES=$WORK/results/load-$(date +%Y%m%d-%H%M%S)

# ---------------------------------------------------------------- mirror
apt_mirror() {
    if [ -n "${BENCH_MIRROR:-}" ]; then echo "$BENCH_MIRROR"; return; fi
    python3 - "$SUITE" <<'PY'
import glob, re, sys
suite = sys.argv[1]
def emit(uri):
    print(uri.rstrip("/")); sys.exit(0)
for f in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(f).read()):
        kv = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            k, v = line.split(":", 1)
            kv[k.strip().lower()] = v.strip()
        if "deb" in kv.get("types", "").split() and suite in kv.get("suites", "").split() \
                and kv.get("enabled", "yes").lower() != "no":
            for uri in kv.get("uris", "").split():
                if "security" not in uri:
                    emit(uri)
for f in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(f).read().splitlines()
    except OSError:
        continue
    for line in lines:
        w = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(w) >= 3 and w[0] == "deb" and w[2] == suite and "security" not in w[1]:
            emit(w[1])
print("http://deb.debian.org/debian")
PY
}

# ---------------------------------------------------------------- archive
build_rootfs() {
    if [ -f "$D/rootfs.ok" ] && [ -d "$D/rootfs/usr" ]; then return 0; fi
    command -v debootstrap >/dev/null 2>&1 || {
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >&2 \
            || die "debootstrap is needed (apt-get install debootstrap)"
    }
    local mirror
    mirror=$(apt_mirror)
    log "debootstrap --variant=minbase $SUITE from $mirror (once; cached in $D/rootfs)"
    safe_rm "$D/rootfs.tmp"
    mkdir -p "$D"
    if ! debootstrap --variant=minbase "$SUITE" "$D/rootfs.tmp" "$mirror" >"$D/debootstrap.log" 2>&1; then
        tail -n 20 "$D/debootstrap.log" >&2
        safe_rm "$D/rootfs.tmp"
        die "debootstrap failed (log: $D/debootstrap.log)"
    fi
    safe_rm "$D/rootfs"
    mv "$D/rootfs.tmp" "$D/rootfs"
    touch "$D/rootfs.ok"
}

build_archive() {
    if [ "$REBUILD" = 0 ] && [ -f "$D/archive.ok" ] && [ -f "$ARCHIVE" ]; then
        log "using cached archive $ARCHIVE ($(du -m "$ARCHIVE" | cut -f1) MB)"
        return 0
    fi
    build_rootfs
    local mk="$BENCH_DIR/mkarchive.py" r="$D/rootfs" L="$LAYERS_DIR"
    rm -f "$D/archive.ok" "$D/docker-verified"
    rm -rf "$L"; mkdir -p "$L"
    log "building layers in $L"
    # 1: the Debian rootfs, cleaned like the official images are
    python3 "$mk" layer "$L/1.tar" "$r" \
        --exclude 'dev/*' --exclude 'proc/*' --exclude 'sys/*' --exclude 'run/*' \
        --exclude 'tmp/*' --exclude 'var/cache/apt/*.bin' \
        --exclude 'var/cache/apt/archives/*.deb' --exclude 'var/lib/apt/lists/*' \
        --exclude 'var/log/*.log' --exclude 'var/cache/ldconfig/*'
    # 2: lots of small files: a copy of /usr/share under /opt/share
    python3 "$mk" layer "$L/2.tar" "$r/usr/share" --prefix opt/share
    # 4: small layer with the awkward cases: whiteout, opaque dir, symlink,
    #    hard link, long and non-ASCII names, odd modes
    local s="$D/layer4.src"
    rm -rf "$s"; mkdir -p "$s/etc" "$s/opt/share/doc" "$s/opt/app/bin" "$s/usr/local/bin"
    printf 'bench=1\n' >"$s/etc/berth-bench.conf"
    : >"$s/etc/.wh.motd"                       # delete /etc/motd from layer 1
    : >"$s/opt/share/doc/.wh..wh..opq"         # hide layer 2's doc tree
    printf 'only this file is left in /opt/share/doc\n' >"$s/opt/share/doc/README"
    printf '#!/bin/sh\necho berth-bench\n' >"$s/opt/app/bin/run.sh"
    chmod 0755 "$s/opt/app/bin/run.sh"
    ln "$s/opt/app/bin/run.sh" "$s/opt/app/bin/run-hardlink.sh"
    ln -s /opt/app/bin/run.sh "$s/usr/local/bin/run"
    local long
    long="$s/opt/app/$(printf 'd%.0s' $(seq 1 60))/$(printf 'f%.0s' $(seq 1 80)).txt"
    mkdir -p "$(dirname "$long")"; printf 'long name\n' >"$long"
    printf 'utf-8 name\n' >"$s/opt/app/naïve-café.txt"
    printf 'secret\n' >"$s/opt/app/private"; chmod 0600 "$s/opt/app/private"
    mkdir -p "$s/opt/app/sticky"; chmod 1777 "$s/opt/app/sticky"
    python3 "$mk" layer "$L/4.tar" "$s" --mtime 1704067200
    rm -rf "$s"
    # 3: incompressible blobs, sized so the whole image is about SIZE_MB
    local have want
    have=$(( $(stat -c %s "$L/1.tar") + $(stat -c %s "$L/2.tar") + $(stat -c %s "$L/4.tar") ))
    want=$(( SIZE_MB * 1024 * 1024 - have ))
    [ "$want" -ge $((8 * 1024 * 1024)) ] || want=$((8 * 1024 * 1024))
    python3 "$mk" randlayer "$L/3.tar" --size "$want" --files 6 --seed 42 --dir opt/blobs
    log "assembling $ARCHIVE"
    python3 "$mk" archive "$ARCHIVE" --tag "$TAG" \
        --created-by "debootstrap --variant=minbase $SUITE" \
        --created-by "COPY /usr/share /opt/share" \
        --created-by "COPY blobs /opt/blobs" \
        --created-by "COPY app / (whiteouts, links)" \
        "$L/1.tar" "$L/2.tar" "$L/3.tar" "$L/4.tar"
    python3 "$mk" check "$ARCHIVE" >&2
    touch "$D/archive.ok"
}

image_id() {
    python3 - "$ARCHIVE" <<'PY'
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as tf:
    m = json.load(tf.extractfile("manifest.json"))
print(m[0]["Config"].removesuffix(".json"))
PY
}

# docker must accept the archive: load it, compare the layer digests and run
# something from it. Done once per archive.
verify_with_docker() {
    [ -f "$D/docker-verified" ] && return 0
    log "verifying that docker load accepts the archive"
    local id out
    id=$(image_id)
    docker rmi -f "sha256:$id" >/dev/null 2>&1 || true
    docker load -q -i "$ARCHIVE" >&2 || die "docker load rejected $ARCHIVE"
    out=$(docker image inspect -f '{{json .RootFS.Layers}}' "$TAG") \
        || die "docker load did not create $TAG"
    python3 - "$ARCHIVE" "$out" <<'PY' || die "docker's layer digests differ from the archive's diff_ids"
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as tf:
    m = json.load(tf.extractfile("manifest.json"))
    cfg = json.load(tf.extractfile(m[0]["Config"]))
sys.exit(0 if cfg["rootfs"]["diff_ids"] == json.loads(sys.argv[2]) else 1)
PY
    out=$(docker run --rm --network none "$TAG" sh -c \
        'test ! -e /etc/motd && ls /opt/share/doc && /usr/local/bin/run && cat /etc/debian_version') \
        || die "docker run of the loaded image failed: $out"
    printf '%s\n' "$out" | grep -qx 'README' || die "whiteouts not applied as expected by docker: $out"
    docker rmi -f "sha256:$id" >/dev/null
    log "docker load accepted it (layers match, whiteouts applied, runs)"
    touch "$D/docker-verified"
}

# ---------------------------------------------------------------- timing
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
build_archive
ID=$(image_id)
mkdir -p "$RES"
docker_down                      # a bench dockerd left over from a killed run
store_up
RUN=$STORE
HF=(hyperfine --runs "$RUNS" --warmup "$WARMUP" --style basic)

# warm the page cache for the archive and the layer tars: every tool reads
# them from memory, so the comparison is about the work each tool does.
cat "$ARCHIVE" "$LAYERS_DIR"/*.tar >/dev/null
log "archive: $ARCHIVE ($(du -m "$ARCHIVE" | cut -f1) MB, $(ls "$LAYERS_DIR"/*.tar | wc -l) layers); $RUNS runs per tool"

TOOLS=()

# berth
if berth_available; then
    B="$RUN/berth-root"
    safe_rm "$B"
    if ! "$BERTH" --root "$B" load -i "$ARCHIVE" >"$RES/berth-check.log" 2>&1; then
        skip "berth: 'berth load' failed; not timing it:"; tail -n 5 "$RES/berth-check.log" >&2
    elif ! "$BERTH" --root "$B" images 2>/dev/null | grep -q 'berth-bench/load'; then
        skip "berth: loaded, but 'berth images' does not list $TAG; not timing it"
    else
        "${HF[@]}" --command-name berth --export-json "$RES/berth.json" \
            --prepare "$(q rm -rf "$B"); sync" \
            "$(q "$BERTH" --root "$B" load -i "$ARCHIVE")"
        TOOLS+=(berth)
    fi
    safe_rm "$B"
fi

# docker
if [ "$DO_DOCKER" = 1 ] && docker_up; then
    verify_with_docker
    docker rmi -f "sha256:$ID" >/dev/null 2>&1 || true
    "${HF[@]}" --command-name docker --export-json "$RES/docker.json" \
        --prepare "docker rmi -f sha256:$ID >/dev/null 2>&1; sync" \
        "$(q docker load -q -i "$ARCHIVE")"
    TOOLS+=(docker)
fi
docker_down

# podman
if [ "$DO_PODMAN" = 1 ] && podman_available; then
    P="$RUN/podman-root" PR="$RUN/podman-run"
    "${HF[@]}" --command-name podman --export-json "$RES/podman.json" \
        --prepare "$(q rm -rf "$P" "$PR"); sync" \
        "$(q podman --root "$P" --runroot "$PR" --storage-driver overlay load -q -i "$ARCHIVE")"
    safe_rm "$P"; safe_rm "$PR"
    TOOLS+=(podman)
fi

# floor: what any loader has to do at least - unpack each layer, hash it
if [ "$DO_FLOOR" = 1 ]; then
    F="$RUN/floor"
    cat >"$RES/floor.sh" <<EOF
#!/bin/sh
# floor for loading $ARCHIVE: extract every layer tar, sha256 every layer tar
set -e
i=0
for l in $(q "$LAYERS_DIR"/*.tar); do
    i=\$((i + 1))
    mkdir -p $(q "$F")/\$i
    tar -xf "\$l" -C $(q "$F")/\$i
done
sha256sum $(q "$LAYERS_DIR"/*.tar) >/dev/null
EOF
    "${HF[@]}" --command-name floor --export-json "$RES/floor.json" \
        --prepare "$(q rm -rf "$F"); sync" \
        "$(q sh "$RES/floor.sh")"
    safe_rm "$F"
    TOOLS+=(floor)
fi

[ "${#TOOLS[@]}" -gt 0 ] || die "nothing could be timed"

BENCH_STORE_DESC=$STORE python3 - "$RES" "$ARCHIVE" "$RUNS" "${TOOLS[@]}" <<'PY' | tee "$RES/summary.txt"
import json, os, sys
res, archive, runs, tools = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
r = {}
for t in tools:
    x = json.load(open(os.path.join(res, t + ".json")))["results"][0]
    r[t] = x
def ratio(a, b):
    return "%.2f" % (r[a]["median"] / r[b]["median"]) if a in r and b in r else "n/a"
print()
print("berth load: %s (%.0f MB), %s runs each, stores on %s" % (
    archive, os.path.getsize(archive) / 2**20, runs, os.environ.get("BENCH_STORE_DESC", "?")))
print("%-8s %10s %10s %10s %12s %12s" % ("tool", "median s", "min s", "max s", "vs berth", "vs floor"))
for t in tools:
    x = r[t]
    print("%-8s %10.3f %10.3f %10.3f %12s %12s" % (
        t, x["median"], x["min"], x["max"], ratio(t, "berth"), ratio(t, "floor")))
print()
print("vs berth = tool median / berth median (>1: berth is faster)")
print("berth/floor = %s" % ratio("berth", "floor"))
print("results: %s" % res)
PY
