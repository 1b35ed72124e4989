#!/usr/bin/env bash
# bench/compose.sh - compose: `up -d` and `down` of a 10- and a 50-service
# project (sleep services on one network), the unchanged `up -d` and `ps`,
# for berth, docker-compose (Debian's 1.29, against a private dockerd from
# scripts/peers.sh) and podman-compose (Debian's package).
# Targets (issue 7): berth >= 20x faster than docker-compose on up -d and
# down; the unchanged up -d and ps under 30 ms for 50 services.
#
# usage: bench/compose.sh [--runs N] [--peer-runs N] [--sizes "10 50"]
#                         [--no-docker] [--no-podman]
# env: BERTH=path/to/berth (default build/berth)
#
# Each timed round starts from a clean state (the project is down): `up -d`
# is timed, then the unchanged `up -d` and `ps` (berth: --runs times each),
# then `down`. Every service is `busybox sleep 3600` with `init: true`
# (so SIGTERM stops it at once in every engine) on the project's default
# network. Medians in ms; ratios are peer / berth.
set -u
PROG=compose
. "$(dirname "$0")/lib.sh"

RUNS=5
PEER_RUNS=3
SIZES="10 50"
DO_DOCKER=1
DO_PODMAN=1
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --peer-runs) PEER_RUNS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --no-docker) DO_DOCKER=0; shift ;;
    --no-podman) DO_PODMAN=0; shift ;;
    *) die "unknown option $1" ;;
    esac
done

D=$(mktemp -d /var/tmp/berth-bench-compose.XXXXXX)
BROOT=$D/berth-root
BRUN=$D/berth-run
PROOT=$D/podman-root
PRUN=$D/podman-run
FIX=$REPO_DIR/build/fixtures/busybox.tar
[ -f "$FIX" ] || bash "$REPO_DIR/tests/fixtures/make.sh" >&2 || die "no busybox fixture"

cleanup() {
    [ -x "$D/berth" ] && "$D/berth" --root "$BROOT" --runroot "$BRUN" compose -p bcb -f "$D/c.yaml" down -t 0 >/dev/null 2>&1
    [ -n "${DOCKER_HOST:-}" ] && docker-compose -p bcd -f "$D/c.yaml" down -t 0 >/dev/null 2>&1
    safe_rm "$D"
}
trap cleanup EXIT

# gen N: N sleep services (JSON is YAML; docker-compose 1.29 reads it too)
gen() {
    local n=$1 i
    {
        printf '{"services": {'
        for ((i = 1; i <= n; i++)); do
            printf '%s"s%d": {"image": "busybox", "command": ["sleep", "3600"], "init": true}' \
                "$([ "$i" -gt 1 ] && echo ,)" "$i"
        done
        printf '}}\n'
    } >"$D/c.yaml"
}

now_ns() { date +%s%N; }
# timeit CMD...: ms of one run (output discarded; failure is fatal)
timeit() {
    local t0 t1
    t0=$(now_ns)
    "$@" >/dev/null 2>"$D/err" || { cat "$D/err" >&2; die "failed: $*"; }
    t1=$(now_ns)
    echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) {print "-"; exit} m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.1f\n", m / 1000}'; }

declare -A R
# bench_tool NAME ROUNDS UP DOWN PS : UP/DOWN/PS are command prefixes
bench_tool() {
    local name=$1 rounds=$2 n=$3 i up=() down=() ps=()
    shift 3
    eval "up=($1); down=($2); ps=($3)"
    : >"$D/up" ; : >"$D/up2" ; : >"$D/ps" ; : >"$D/down"
    for ((i = 0; i < rounds; i++)); do
        timeit "${up[@]}" >>"$D/up"
        timeit "${up[@]}" >>"$D/up2"
        timeit "${ps[@]}" >>"$D/ps"
        timeit "${down[@]}" >>"$D/down"
    done
    R[$name,$n,up]=$(median <"$D/up")
    R[$name,$n,up2]=$(median <"$D/up2")
    R[$name,$n,ps]=$(median <"$D/ps")
    R[$name,$n,down]=$(median <"$D/down")
    log "$name $n services: up ${R[$name,$n,up]} ms, unchanged up ${R[$name,$n,up2]} ms, ps ${R[$name,$n,ps]} ms, down ${R[$name,$n,down]} ms"
}

TOOLS=()
berth_available || exit 1
# a private copy: a rebuild during the run must not change (or break) it
cp "$BERTH" "$D/berth" && BERTH=$D/berth
B=$(q "$BERTH" --root "$BROOT" --runroot "$BRUN")
"$BERTH" --root "$BROOT" --runroot "$BRUN" import -c 'CMD ["sh"]' "$FIX" busybox >/dev/null || die "berth import"
TOOLS+=(berth)

if [ $DO_DOCKER = 1 ]; then
    if ! command -v docker-compose >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y docker-compose >&2 || true
    fi
    if command -v docker-compose >/dev/null && DOCKER_HOST=$("$PEERS" docker-start); then
        export DOCKER_HOST
        docker import -c 'CMD ["sh"]' "$FIX" busybox >/dev/null && TOOLS+=(docker-compose)
    else
        skip "docker-compose: not available"
    fi
fi
if [ $DO_PODMAN = 1 ]; then
    if ! command -v podman-compose >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y podman-compose >&2 || true
    fi
    if command -v podman-compose >/dev/null && "$PEERS" podman-setup >&2; then
        podman --root "$PROOT" --runroot "$PRUN" import -c 'CMD ["sh"]' "$FIX" docker.io/library/busybox >/dev/null &&
            TOOLS+=(podman-compose)
    else
        skip "podman-compose: not available"
    fi
fi

for n in $SIZES; do
    gen "$n"
    for t in "${TOOLS[@]}"; do
        case $t in
        berth) bench_tool berth "$RUNS" "$n" "$B compose -p bcb -f $D/c.yaml up -d" \
            "$B compose -p bcb -f $D/c.yaml down -t 10" "$B compose -p bcb -f $D/c.yaml ps" ;;
        docker-compose) bench_tool docker-compose "$PEER_RUNS" "$n" "docker-compose -p bcd -f $D/c.yaml up -d" \
            "docker-compose -p bcd -f $D/c.yaml down -t 10" "docker-compose -p bcd -f $D/c.yaml ps" ;;
        podman-compose) bench_tool podman-compose "$PEER_RUNS" "$n" \
            "podman-compose --podman-args '--root $PROOT --runroot $PRUN' -p bcp -f $D/c.yaml up -d" \
            "podman-compose --podman-args '--root $PROOT --runroot $PRUN' -p bcp -f $D/c.yaml down -t 10" \
            "podman-compose --podman-args '--root $PROOT --runroot $PRUN' -p bcp -f $D/c.yaml ps" ;;
        esac
    done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b + 0 == 0) print "-"; else printf "%.0fx\n", a / b }'; }
printf '\n%-10s %-16s %10s %14s %10s %10s\n' services tool "up -d" "unchanged up" ps down
for n in $SIZES; do
    for t in "${TOOLS[@]}"; do
        printf '%-10s %-16s %10s %14s %10s %10s\n' "$n" "$t" "${R[$t,$n,up]}" "${R[$t,$n,up2]}" "${R[$t,$n,ps]}" "${R[$t,$n,down]}"
    done
    for t in "${TOOLS[@]}"; do
        [ "$t" = berth ] && continue
        printf '%-10s %-16s %10s %14s %10s %10s\n' "$n" "$t/berth" "$(ratio "${R[$t,$n,up]}" "${R[berth,$n,up]}")" \
            "$(ratio "${R[$t,$n,up2]}" "${R[berth,$n,up2]}")" "$(ratio "${R[$t,$n,ps]}" "${R[berth,$n,ps]}")" \
            "$(ratio "${R[$t,$n,down]}" "${R[berth,$n,down]}")"
    done
done
