#!/usr/bin/env bash
# bench/kube-play.sh - `berth kube play` of the seeds' manifest against
# `podman kube play` (issue 13). Targets: `kube play --wait` to all pods
# Ready under 1 s for examples/kube/nginx/nginx.yaml, at least 10x faster
# than podman; an unchanged re-play under 50 ms.
#
# usage: bench/kube-play.sh [--runs N] [--peer-runs N] [--no-podman]
#                           [--no-berth] [--rebuild-image] [--work DIR]
#                           [--store-dir DIR]
# env: BERTH=path/to/berth (default build/berth)
#
# The manifest is examples/kube/nginx/nginx.yaml: a ConfigMap, an
# nginx:1.14.2 Deployment with 3 replicas and a LoadBalancer Service on
# port 80. Both engines get the same image: examples/kube/nginx/image built
# once with berth (on the debian:bookworm of scripts/debian-base.sh, which
# needs the Debian mirror the first time) and kept as a docker-archive in
# WORK/kube-play/nginx-1.14.2.tar (made again when the Dockerfile's folder
# or the Debian base tarball changes, or with --rebuild-image); each run
# loads it into fresh stores (`berth load`, `podman load`).
#
# One run, from a clean state (no pod, the image loaded), each engine in
# its own store on a fresh loop-mounted ext4 filesystem
# (WORK/kube-play-store.img, or --store-dir), one engine after the other:
#  berth  (--runs N rounds, default 10): time `kube play --wait FILE`, then
#         the unchanged `kube play --wait FILE` again, then `kube down FILE`.
#         Round 1 also checks, untimed: 3 nginx pods are running, the
#         re-play left every container as it was, http://127.0.0.1:80/
#         answers and its answers come from how many pods (30 requests to
#         /hostname), and after each down no container is left.
#         A berth without `kube play` (its `kube play --help` fails) is
#         reported as such and the script exits 1 after the podman part.
#  podman (--peer-runs N rounds, default 10): a first, untimed play at
#         --log-level=info (podman builds its pause image then; its
#         messages about the manifest are printed), then per round `podman
#         kube play FILE` and `podman kube down FILE`, and the ConfigMap
#         volume podman leaves behind is removed (untimed) so that each
#         round starts clean. Podman makes at most 1 running pod of the 3
#         (4.3.1: 3 pods, of which 2 cannot bind host port 80, exit 125;
#         4.4 and later: "Limiting replica count to 1"); the script counts
#         what it made and says so. The same rounds with a copy of the file
#         that has `replicas: 1` give podman's time for a play that
#         succeeds.
# Medians in ms (bash's clock around each command, output to files); ratio
# = podman median / berth median. podman's play returns when its containers
# are started; berth's --wait returns when every pod is Ready. Results
# (rounds.tsv, summary.txt, the commands' output) go to
# WORK/results/kube-play-DATE/ (WORK: BERTH_BENCH_WORK, default
# /var/tmp/berth-bench). Exit status: 0 when every figure was made, 1 when
# a part failed or berth has no `kube play`, 2 on usage errors.
set -u
PROG=kube-play
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2034  # FS_IMG, FS_MNT, STORE_DIR: read by lib.sh's store_up

RUNS=10
PEER_RUNS=10
DO_BERTH=1
DO_PODMAN=1
REBUILD_IMAGE=0
usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=${2:-}; shift 2 || usage ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --peer-runs) PEER_RUNS=${2:-}; shift 2 || usage ;;
    --peer-runs=*) PEER_RUNS=${1#*=}; shift ;;
    --no-berth) DO_BERTH=0; shift ;;
    --no-podman) DO_PODMAN=0; shift ;;
    --rebuild-image) REBUILD_IMAGE=1; shift ;;
    --work) WORK=${2:-}; shift 2 || usage ;;
    --work=*) WORK=${1#*=}; shift ;;
    --store-dir) STORE_DIR=${2:-}; shift 2 || usage ;;
    --store-dir=*) STORE_DIR=${1#*=}; shift ;;
    -h | --help) usage 0 ;;
    *) printf '%s: unknown argument: %s (try --help)\n' "$PROG" "$1" >&2; exit 2 ;;
    esac
done
for v in RUNS PEER_RUNS; do
    case "${!v}" in '' | *[!0-9]* | 0) printf '%s: --%s must be a positive integer, not "%s"\n' \
        "$PROG" "$(tr '[:upper:]_' '[:lower:]-' <<<"$v")" "${!v}" >&2; exit 2 ;; esac
done
[ -n "$WORK" ] || { printf '%s: --work needs a directory\n' "$PROG" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "run as root (containers, networks, iptables and mounts need it)"

MANIFEST=$REPO_DIR/examples/kube/nginx/nginx.yaml
IMAGE_DIR=$REPO_DIR/examples/kube/nginx/image
IMAGE=nginx:1.14.2
PORT=80
[ -f "$MANIFEST" ] || die "no manifest at $MANIFEST"
[ -f "$IMAGE_DIR/Dockerfile" ] || die "no Dockerfile in $IMAGE_DIR"

# Paths of our own (like run.sh), so load.sh / images.sh / run.sh running at
# the same time keep theirs; a lock keeps two kube-play.sh apart.
FS_IMG=$WORK/kube-play-store.img
FS_MNT=$WORK/kube-play-store
CACHE=$WORK/kube-play
mkdir -p "$WORK" "$CACHE" || die "cannot make $WORK"
exec 8>>"$WORK/kube-play.lock"
flock -n 8 || die "another bench/kube-play.sh is running (lock $WORK/kube-play.lock)"
RES=$WORK/results/kube-play-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RES" || die "cannot make $RES"
: >"$RES/rounds.tsv"

B=() P=()
FAILED=0
BERTH_MISSING=
FAILURES=()
fail() { log "FAILED: $*"; FAILED=1; FAILURES+=("$*"); }

cleanup() {
    if [ "${#B[@]}" -gt 0 ] && [ -d "$STORE/berth-root" ]; then
        "${B[@]}" kube down "$MANIFEST" >>"$RES/cleanup.log" 2>&1
        local ids
        ids=$("${B[@]}" ps -aq 2>>"$RES/cleanup.log")
        # shellcheck disable=SC2086
        [ -z "$ids" ] || "${B[@]}" rm -f $ids >>"$RES/cleanup.log" 2>&1
        "${B[@]}" network prune -f >>"$RES/cleanup.log" 2>&1
    fi
    if [ "${#P[@]}" -gt 0 ] && [ -d "$STORE/podman-root" ]; then
        {
            "${P[@]}" kube down "$MANIFEST"
            "${P[@]}" pod rm -af -t 0
            "${P[@]}" rm -af -t 0
        } >>"$RES/cleanup.log" 2>&1
        # podman-default-kube-network stays: its config is the host's
        # (/etc/cni/net.d or /etc/containers/networks), shared by every store
    fi
    store_down
    [ -n "${TMPB:-}" ] && rm -rf "$TMPB"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- timing
# ms ARGS...: run ARGS, stdout+stderr to $RES/last.out, set MS (1 decimal)
# and RC; never fatal (callers decide)
ms() {
    local t0 t1
    t0=${EPOCHREALTIME//[.,]/}
    "$@" >"$RES/last.out" 2>&1
    RC=$?
    t1=${EPOCHREALTIME//[.,]/}
    MS=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
}
# row ENGINE CASE ROUND WHAT MS RC: one line of rounds.tsv
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RES/rounds.tsv"; }
# med ENGINE CASE WHAT: median ms over the rounds (any exit status)
med() {
    awk -F'\t' -v e="$1" -v c="$2" -v w="$3" '$1 == e && $2 == c && $4 == w { print $5 }' "$RES/rounds.tsv" |
        sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f\n", m }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.1fx\n", a / b }'; }
# save NAME: keep the last command's output as $RES/NAME.out
save() { cp "$RES/last.out" "$RES/$1.out"; }

# port_free: nothing listens on the host's PORT (both engines publish it),
# and no berth store publishes it through iptables (published ports and
# Services are DNAT rules, not sockets)
port_free() {
    local who rules
    who=$(ss -Htlnp "sport = :$PORT" 2>&1)
    rules=$(iptables-save -t nat 2>&1 | grep -E -- "--dport $PORT( |$)" | grep -E 'comment "?berth:' |
        grep -oE 'berth:[^" ]+|service [^"]+' | sort -u | paste -sd' ' -)
    [ -z "$who" ] && [ -z "$rules" ] && return 0
    [ -z "$who" ] || log "host port $PORT is in use: $who"
    [ -z "$rules" ] || log "host port $PORT is published by berth rules of another store: $rules"
    return 1
}

# hits N: GET /hostname N times; prints "answers distinct-pods" (the
# ConfigMap's server block answers with the pod's hostname)
hits() {
    local i n=0 out
    : >"$RES/hits.tmp"
    for ((i = 0; i < $1; i++)); do
        out=$(curl -sf -m 2 "http://127.0.0.1:$PORT/hostname") && [ -n "$out" ] &&
            { n=$((n + 1)); printf '%s\n' "${out%%$'\n'*}" >>"$RES/hits.tmp"; }
    done
    printf '%d %d\n' "$n" "$(sort -u "$RES/hits.tmp" | grep -c .)"
}

# ---------------------------------------------------------------- the image
# One docker-archive of nginx:1.14.2 for both engines, built with berth.
ARCHIVE=$CACHE/nginx-1.14.2.tar
DEBIAN_TAR=${BERTH_DEBIAN_CACHE:-/var/cache/berth/debian-bookworm.tar}
image_stamp() {
    {
        (cd "$IMAGE_DIR" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        if [ -f "$DEBIAN_TAR.sha256" ]; then cat "$DEBIAN_TAR.sha256"; else echo no-debian-tarball; fi
    } | sha256sum | cut -c1-32
}
build_archive() {
    local root=$CACHE/build-root run=$CACHE/build-run rc=0
    local bb=("$BERTH" --root "$root" --runroot "$run")
    log "building $IMAGE from $IMAGE_DIR (once; log $RES/image-build.log)"
    safe_rm "$root"; safe_rm "$run"
    {
        BERTH=$BERTH bash "$REPO_DIR/scripts/debian-base.sh" --root "$root" &&
            "${bb[@]}" build -t "$IMAGE" "$IMAGE_DIR" &&
            "${bb[@]}" save "$IMAGE" >"$ARCHIVE.tmp" &&
            mv -f "$ARCHIVE.tmp" "$ARCHIVE"
    } >"$RES/image-build.log" 2>&1 || rc=1
    if [ -d "$root" ]; then
        local ids
        ids=$("${bb[@]}" ps -aq 2>>"$RES/image-build.log")
        # shellcheck disable=SC2086
        [ -z "$ids" ] || "${bb[@]}" rm -f $ids >>"$RES/image-build.log" 2>&1
    fi
    safe_rm "$root"; safe_rm "$run"; rm -f "$ARCHIVE.tmp"
    if [ $rc -ne 0 ]; then
        tail -n 15 "$RES/image-build.log" >&2
        die "could not build $IMAGE (see $RES/image-build.log)"
    fi
    image_stamp >"$ARCHIVE.stamp"
}
[ -x "$BERTH" ] || die "no berth binary at $BERTH (build it: ninja -C build, or set BERTH=path); it builds the image for both engines"
# a private copy: a rebuild during the run must not change (or break) it
BERTH_ORIG=$BERTH
TMPB=$(mktemp -d /var/tmp/berth-bench-kube-play.XXXXXX) || die "mktemp failed"
cp "$BERTH" "$TMPB/berth" || die "cannot copy $BERTH"
BERTH=$TMPB/berth
if [ "$REBUILD_IMAGE" = 1 ] || [ ! -s "$ARCHIVE" ] || [ ! -f "$ARCHIVE.stamp" ] || [ "$(cat "$ARCHIVE.stamp")" != "$(image_stamp)" ]; then
    build_archive
else
    log "image: $ARCHIVE (cached; --rebuild-image makes it again)"
fi

port_free || die "free host port $PORT first: both engines publish the Service / containerPort there"
store_up
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm), $(nproc) cpus"
    echo "berth: $BERTH (copy of $BERTH_ORIG), $(cd "$REPO_DIR" && git describe --always --dirty 2>&1)"
    echo "podman: $(if command -v podman >/dev/null; then podman --version 2>&1; else echo none; fi)"
    echo "manifest: $MANIFEST"
    echo "stores: $STORE"
} >"$RES/env.txt"

# ---------------------------------------------------------------- berth
BERTH_PODS=- BERTH_HITS=- BERTH_DONE=0
bench_berth() {
    local i ids1 ids2 n
    B=("$BERTH" --root "$STORE/berth-root" --runroot "$STORE/berth-run")
    if ! "${B[@]}" kube play --help >"$RES/berth-help.out" 2>&1; then
        BERTH_MISSING=$(head -n 1 "$RES/berth-help.out")
        log "berth: this berth has no 'kube play' ($BERTH: \`kube play --help\` says: $BERTH_MISSING)"
        fail "berth part: no 'kube play' in this berth"
        B=()
        return 1
    fi
    "${B[@]}" load -q -i "$ARCHIVE" >"$RES/berth-load.out" 2>&1 || { cat "$RES/berth-load.out" >&2; fail "berth load $ARCHIVE"; return 1; }
    log "berth: $RUNS rounds of play --wait, unchanged play --wait, down"
    for ((i = 1; i <= RUNS; i++)); do
        ms "${B[@]}" kube play --wait "$MANIFEST"
        row berth seeds "$i" play "$MS" "$RC"
        [ "$i" = 1 ] && save berth-play
        [ "$RC" = 0 ] || { cat "$RES/last.out" >&2; fail "berth kube play --wait (round $i) exited $RC: $(tail -n 1 "$RES/last.out")"; return 1; }
        if [ "$i" = 1 ]; then
            "${B[@]}" kube get pods >"$RES/berth-get-pods.out" 2>&1
            "${B[@]}" kube get services >"$RES/berth-get-services.out" 2>&1
            BERTH_PODS=$("${B[@]}" ps -q --filter label=io.kubernetes.container.name=nginx | grep -c .)
            [ "$BERTH_PODS" = 3 ] || fail "berth: $BERTH_PODS nginx containers running after play --wait, not 3"
            BERTH_HITS=$(hits 30)
            log "berth: $BERTH_PODS nginx pods; http://127.0.0.1:$PORT/hostname: ${BERTH_HITS% *} of 30 answered, from ${BERTH_HITS#* } pods"
            [ "${BERTH_HITS% *}" != 0 ] || fail "berth: the Service did not answer on http://127.0.0.1:$PORT/ after play --wait"
            ids1=$("${B[@]}" ps -aq --no-trunc | sort)
        fi
        ms "${B[@]}" kube play --wait "$MANIFEST"
        row berth seeds "$i" replay "$MS" "$RC"
        [ "$i" = 1 ] && save berth-replay
        [ "$RC" = 0 ] || { cat "$RES/last.out" >&2; fail "berth: the unchanged kube play --wait (round $i) exited $RC"; return 1; }
        if [ "$i" = 1 ]; then
            ids2=$("${B[@]}" ps -aq --no-trunc | sort)
            [ "$ids1" = "$ids2" ] || fail "berth: the unchanged re-play changed the containers"
        fi
        ms "${B[@]}" kube down "$MANIFEST"
        row berth seeds "$i" down "$MS" "$RC"
        [ "$i" = 1 ] && save berth-down
        [ "$RC" = 0 ] || { cat "$RES/last.out" >&2; fail "berth kube down (round $i) exited $RC"; return 1; }
        n=$("${B[@]}" ps -aq | grep -c .)
        [ "$n" = 0 ] || { fail "berth: $n containers left after kube down (round $i)"; return 1; }
    done
    BERTH_DONE=1
}

# ---------------------------------------------------------------- podman
# podman_round CASE FILE ROUND
podman_round() {
    local case=$1 file=$2 i=$3 made running
    ms "${P[@]}" kube play "$file"
    row podman "$case" "$i" play "$MS" "$RC"
    made=$("${P[@]}" pod ps -q | grep -c .)
    running=$("${P[@]}" pod ps -q --filter status=running | grep -c .)
    printf '%s\t%s\t%s\tpods\t%s/%s\t%s\n' podman "$case" "$i" "$running" "$made" "$RC" >>"$RES/pods.tsv"
    [ "$i" = 1 ] && { save "podman-$case-play"; log "podman, $case: $made pods made, $running running, exit $RC"; }
    ms "${P[@]}" kube down "$file"
    row podman "$case" "$i" down "$MS" "$RC"
    [ "$RC" = 0 ] || { cat "$RES/last.out" >&2; fail "podman kube down $file (round $i) exited $RC"; return 1; }
    # the ConfigMap's volume outlives `kube down`: not part of a clean state
    "${P[@]}" volume rm -f nginx-config >>"$RES/podman-volume-rm.log" 2>&1
    [ -z "$("${P[@]}" pod ps -q)" ] || { fail "podman: pods left after kube down (round $i)"; return 1; }
    port_free || { fail "podman: port $PORT still held after kube down (round $i)"; return 1; }
}
bench_podman() {
    local i
    podman_available || { fail "podman part: podman is not installed"; return 1; }
    if ! "$PEERS" podman-setup >"$RES/podman-setup.log" 2>&1; then
        cat "$RES/podman-setup.log" >&2
        fail "podman part: scripts/peers.sh podman-setup failed (see $RES/podman-setup.log)"
        return 1
    fi
    # podman kube play needs catatonit for the pause image it builds
    command -v catatonit >/dev/null || [ -x /usr/libexec/podman/catatonit ] ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends catatonit >>"$RES/podman-setup.log" 2>&1 ||
        { fail "podman part: catatonit is missing and apt-get could not install it"; return 1; }
    P=(podman --root "$STORE/podman-root" --runroot "$STORE/podman-run" --tmpdir "$STORE/podman-tmp" --storage-driver overlay)
    "${P[@]}" load -q -i "$ARCHIVE" >"$RES/podman-load.out" 2>&1 || { cat "$RES/podman-load.out" >&2; fail "podman load $ARCHIVE"; return 1; }
    sed 's/^\(  replicas:\) 3$/\1 1/' "$MANIFEST" >"$TMPB/nginx-replicas-1.yaml"
    grep -q '^  replicas: 1$' "$TMPB/nginx-replicas-1.yaml" || { fail "could not make a replicas: 1 copy of $MANIFEST"; return 1; }

    # first play, at info level: podman builds its pause image now; what it
    # says about the manifest is in its messages
    ms "${P[@]}" --log-level=info kube play "$MANIFEST"
    save podman-first-play
    PODMAN_FIRST="$MS ms, exit $RC"
    log "podman: first play (builds the pause image) $PODMAN_FIRST; its messages about the manifest:"
    # its messages, less the routine ones and the lists of ids; the same
    # message for several containers once, the ids shown as <id>
    grep -v -e 'level=debug' -e 'Got Conmon PID' -e 'Sysctl net.ipv4.ping_group_range' \
        -e 'filtering at log level' -e 'graphdriver' -e 'parallel job count' \
        -e '^Pod:$' -e '^Container:$' -e '^[0-9a-f]\{64\}$' -e '^$' "$RES/podman-first-play.out" |
        sed -e 's/[0-9a-f]\{64\}/<id>/g' -e 's/^time="[^"]*" //' -e 's/^\[\(.*\)\]$/\1/' |
        awk '!seen[$0]++' | sed 's/^/    /' | tee "$RES/podman-messages.txt" >&2
    "${P[@]}" pod ps --format '{{.Name}} {{.Status}}' >"$RES/podman-first-pods.out" 2>&1
    sed 's/^/    pod /' "$RES/podman-first-pods.out" >&2
    ms "${P[@]}" kube down "$MANIFEST"
    "${P[@]}" volume rm -f nginx-config >>"$RES/podman-volume-rm.log" 2>&1

    log "podman: $PEER_RUNS rounds of play, down (the seeds' file), then the same with replicas: 1"
    : >"$RES/pods.tsv"
    for ((i = 1; i <= PEER_RUNS; i++)); do
        podman_round seeds "$MANIFEST" "$i" || return 1
    done
    for ((i = 1; i <= PEER_RUNS; i++)); do
        podman_round replicas1 "$TMPB/nginx-replicas-1.yaml" "$i" || return 1
    done
}

[ "$DO_BERTH" = 1 ] && { bench_berth || true; }
if [ "$DO_BERTH" = 1 ] && [ "${#B[@]}" -gt 0 ]; then
    "${B[@]}" kube down "$MANIFEST" >>"$RES/cleanup.log" 2>&1
fi
port_free || die "host port $PORT is still held after the berth part"
[ "$DO_PODMAN" = 1 ] && { bench_podman || true; }

# ---------------------------------------------------------------- summary
# pods ENGINE CASE: "running/made" of round 1, and the exit statuses seen
pods() {
    awk -F'\t' -v e="$1" -v c="$2" '$1 == e && $2 == c && $3 == 1 && $4 == "pods" { print $5 }' "$RES/pods.tsv"
}
exits() {
    awk -F'\t' -v e="$1" -v c="$2" -v w="$3" '$1 == e && $2 == c && $4 == w { print $6 }' "$RES/rounds.tsv" | sort -u | paste -sd, -
}
{
    printf 'kube play of examples/kube/nginx/nginx.yaml (ConfigMap + Deployment replicas: 3 + LoadBalancer Service :%s)\n' "$PORT"
    printf 'medians in ms of%s%s\n\n' "$([ "$DO_BERTH" = 1 ] && echo " berth: $RUNS rounds")" \
        "$([ "$DO_PODMAN" = 1 ] && echo " podman: $PEER_RUNS rounds")"
    printf '%-22s %10s %14s %10s   %s\n' engine play "unchanged play" down pods
    if [ "$DO_BERTH" = 1 ]; then
        if [ -n "$BERTH_MISSING" ]; then
            printf '%-22s %s\n' berth "no 'kube play' in this berth: $BERTH_MISSING"
        elif [ "$BERTH_DONE" = 0 ]; then
            printf '%-22s %s\n' berth "FAILED (see below)"
        else
            printf '%-22s %10s %14s %10s   %s nginx pods running after play --wait; port %s: %s answers of 30 from %s pods\n' \
                "berth (--wait)" "$(med berth seeds play)" "$(med berth seeds replay)" "$(med berth seeds down)" \
                "$BERTH_PODS" "$PORT" "${BERTH_HITS% *}" "${BERTH_HITS#* }"
        fi
    fi
    if [ "$DO_PODMAN" = 1 ] && [ -s "$RES/pods.tsv" ]; then
        printf '%-22s %10s %14s %10s   %s running of %s made (exit %s)\n' "podman, seeds' file" \
            "$(med podman seeds play)" - "$(med podman seeds down)" \
            "$(pods podman seeds | cut -d/ -f1)" "$(pods podman seeds | cut -d/ -f2)" "$(exits podman seeds play)"
        printf '%-22s %10s %14s %10s   %s running of %s made (exit %s)\n' "podman, replicas: 1" \
            "$(med podman replicas1 play)" - "$(med podman replicas1 down)" \
            "$(pods podman replicas1 | cut -d/ -f1)" "$(pods podman replicas1 | cut -d/ -f2)" "$(exits podman replicas1 play)"
        printf '%-22s %s\n' "podman, first play" "$PODMAN_FIRST (builds the pause image; not in the medians)"
        if [ "$BERTH_DONE" = 1 ]; then
            printf '%-22s %10s %14s %10s\n' "podman (seeds)/berth" "$(ratio "$(med podman seeds play)" "$(med berth seeds play)")" - \
                "$(ratio "$(med podman seeds down)" "$(med berth seeds down)")"
            printf '%-22s %10s %14s %10s\n' "podman (1)/berth" "$(ratio "$(med podman replicas1 play)" "$(med berth seeds play)")" - \
                "$(ratio "$(med podman replicas1 down)" "$(med berth seeds down)")"
        fi
        printf '\npodman makes 1 running pod where berth makes 3 (podman %s).\n' "$(podman --version 2>&1 | awk '{ print $3 }')"
        printf 'podman said about the manifest (first play, --log-level=info):\n'
        sed 's/^/  /' "$RES/podman-messages.txt"
    fi
    if [ "$BERTH_DONE" = 1 ]; then
        # tenx A B: is B at least 10 times A?
        tenx() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else print (b / a >= 10) ? "yes" : "no" }'; }
        printf "\ntargets: play --wait under 1000 ms: %s; 10x podman: %s (the seeds' file), %s (replicas: 1); unchanged play under 50 ms: %s\n" \
            "$(awk -v a="$(med berth seeds play)" 'BEGIN { print (a < 1000) ? "yes" : "no" }')" \
            "$(tenx "$(med berth seeds play)" "$(med podman seeds play)")" \
            "$(tenx "$(med berth seeds play)" "$(med podman replicas1 play)")" \
            "$(awk -v a="$(med berth seeds replay)" 'BEGIN { print (a < 50) ? "yes" : "no" }')"
    fi
    if [ "${#FAILURES[@]}" -gt 0 ]; then
        printf '\nFAILED (the figures above stop where a part failed):\n'
        printf '  %s\n' "${FAILURES[@]}"
    fi
    printf '\nresults: %s\n' "$RES"
} | tee "$RES/summary.txt"
exit "$FAILED"
