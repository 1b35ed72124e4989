#!/usr/bin/env bash
# bench/net.sh - networking: start on a user network, embedded DNS, and
# published-port throughput, for berth against docker and podman.
# Targets (issue "Networking"): `berth run --rm --network NET busybox true`
# at least 20x faster than docker and podman and under 15 ms median; the
# embedded DNS at 20k qps with p99 under 1 ms; published-port throughput at
# least that of the best peer.
#
# usage: bench/net.sh [--runs N] [--peer-runs N] [--warmup N] [--dns-secs S]
#                     [--wrk-secs S] [--names N] [--no-docker] [--no-podman]
#                     [--docker-no-iptables] [--work DIR] [--store-dir DIR]
#
#   --runs N       timed runs of `berth run --rm --network NET` (default 20)
#   --peer-runs N  timed runs of docker/podman run (default 10)
#   --warmup N     untimed runs of each start command first (default 3)
#   --dns-secs S   length of each dnsperf run (default 5)
#   --wrk-secs S   length of each wrk run (default 5)
#   --names N      containers started for "name visible after start" (5)
#   --docker-no-iptables  start the bench dockerd with --iptables=false
#                  (default: iptables on, falling back to off if it fails)
#   --no-docker / --no-podman   leave a peer out
#   --work DIR     work directory (default /var/tmp/berth-bench)
#   --store-dir DIR  stores in DIR instead of a fresh loop-mounted ext4
# env: BERTH=path/to/berth (default build/berth; copied into the store)
#
# Part 1 times one start + exit + removal on a user-defined bridge network
# with hyperfine -N: `berth run --rm --network NET busybox true`, `docker run
# --rm --network NET` (a `docker network create` network) and `podman run
# --rm --network NET` (a `podman network create` network, netavark).
# Part 2 starts 3 detached containers (dns1..dns3) on the berth network and
# runs the host's dnsperf inside the network namespace of one of them
# (nsenter -t PID -n) against the network's gateway, querying their A
# records: once unthrottled (qps) and once at -Q 20000 with -v, from whose
# per-query lines the latency percentiles are computed. The same is done,
# for comparison, against docker's embedded DNS (127.0.0.11) and podman's
# aardvark-dns (the network's gateway). "Name visible after start": a probe
# (python3, in the netns of another container) queries the gateway for a
# name in a tight loop (UDP, 1 ms timeout) while `berth run -d --name NAME`
# starts it; the figure is the time from `run -d` returning until the first
# NOERROR answer with an A record (negative or 0: visible before run -d
# returned).
# Part 3 runs busybox `httpd -f -p 80 -h /www` (one small index.html) in a
# container on the user network of each engine with `-p PORT:80` and runs
# `wrk -t2 -c32 -dSECS` against http://127.0.0.1:PORT/ and against the
# host's first non-loopback IPv4 address (not a bridge's).
# The bench dockerd is started by this script (not scripts/peers.sh, which
# disables iptables and the bridge driver's NAT): own data root on the store
# filesystem, own exec root, socket and pid file, --bridge=none (user
# networks still work), iptables on; the DOCKER* iptables chains and rules
# it leaves behind are removed and the FORWARD policy restored afterwards
# (unless DOCKER chains existed before the run). Everything (containers,
# networks, the podman network file in /etc/containers/networks, dockerd,
# the store fs) is removed at the end. Results go to WORK/results/net-DATE/.
set -euo pipefail
PROG=net.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=20 PEER_RUNS=10 WARMUP=3 DNS_SECS=5 WRK_SECS=5 NNAMES=5
DO_DOCKER=1 DO_PODMAN=1 DOCKER_IPT=1
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=${2:?}; shift 2 ;;
        --peer-runs) PEER_RUNS=${2:?}; shift 2 ;;
        --warmup) WARMUP=${2:?}; shift 2 ;;
        --dns-secs) DNS_SECS=${2:?}; shift 2 ;;
        --wrk-secs) WRK_SECS=${2:?}; shift 2 ;;
        --names) NNAMES=${2:?}; shift 2 ;;
        --no-docker) DO_DOCKER=0; shift ;;
        --no-podman) DO_PODMAN=0; shift ;;
        --docker-no-iptables) DOCKER_IPT=0; shift ;;
        --work) WORK=${2:?}; shift 2 ;;
        --store-dir) STORE_DIR=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
done
for v in RUNS PEER_RUNS DNS_SECS WRK_SECS NNAMES; do
    case "${!v}" in ''|*[!0-9]*|0) die "${v} must be a positive integer" ;; esac
done
[ "$(id -u)" -eq 0 ] || die "run as root"
need_hyperfine
for t in dnsperf wrk jq curl python3 nsenter; do
    command -v "$t" >/dev/null 2>&1 && continue
    log "$t not found; installing"
    case $t in nsenter) p=util-linux ;; *) p=$t ;; esac
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$p" >&2 || die "$t is needed"
done
berth_available || die "no berth to benchmark"

# own paths, so that run.sh/load.sh/images.sh can run at the same time
FS_IMG=$WORK/net-store.img
FS_MNT=$WORK/net-store
FS_MB=${BERTH_BENCH_FS_MB:-1024}
DK_EXEC=/run/berth-bench-net-docker
DK_PID=/run/berth-bench-net-docker.pid
DK_SOCK=/run/berth-bench-net-docker.sock
mkdir -p "$WORK"
exec 8>>"$WORK/net.lock"
flock -n 8 || die "another bench/net.sh is running (lock $WORK/net.lock)"

RES=$WORK/results/net-$(date +%Y%m%d-%H%M%S)
TAG=berth-bench-net/busybox:latest
NET=berthbench-net-$$
PORT_B=18180 PORT_P=18181 PORT_D=18182
HOSTIP=$(ip -4 -o addr show scope global 2>/dev/null \
    | awk '$2 !~ /^(berth|br-|docker|podman|cni|veth|virbr)/ { sub("/.*", "", $4); print $4; exit }')
BR='' BRR='' POD=() B=() DOCKER_UP=0 DOCKER_CHAINS_BEFORE=0 FWD_POLICY=
PODNET_MADE=0

kv() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES/results.tsv"; }
get() { awk -F'\t' -v a="$1" -v b="$2" '$1 == a && $2 == b { v = $3 } END { print v }' "$RES/results.tsv"; }

# ---------------------------------------------------------------- docker
dk() { DOCKER_HOST=unix://$DK_SOCK docker "$@"; }
docker_start() {
    local ipt=$1 pid n
    mkdir -p "$STORE/docker" "$DK_EXEC"
    local args=(--data-root "$STORE/docker" --exec-root "$DK_EXEC" --pidfile "$DK_PID"
                -H "unix://$DK_SOCK" --bridge=none --ip6tables=false)
    [ "$ipt" = 1 ] || args+=(--iptables=false --ip-masq=false)
    log "starting dockerd (iptables=$([ "$ipt" = 1 ] && echo on || echo off), log $RES/dockerd.log)"
    setsid dockerd "${args[@]}" >>"$RES/dockerd.log" 2>&1 </dev/null 8>&- &
    pid=$!
    for ((n = 0; n < 300; n++)); do
        dk info >/dev/null 2>&1 && { DOCKER_UP=1; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    log "dockerd did not come up; last lines of its log:"; tail -n 5 "$RES/dockerd.log" >&2
    docker_stop
    return 1
}
docker_stop() {
    local pid cpid
    cpid=$(cat "$DK_EXEC/containerd/containerd.pid" 2>/dev/null || true)
    pid=$(cat "$DK_PID" 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = dockerd ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    if [ -n "$cpid" ] && [ "$(cat /proc/"$cpid"/comm 2>/dev/null)" = containerd ]; then
        kill -TERM "$cpid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$cpid" 2>/dev/null || true
    fi
    rm -f "$DK_PID" "$DK_SOCK"
    unmount_under "$DK_EXEC"
    [ -n "$STORE" ] && unmount_under "$STORE/docker"
    rm -rf "$DK_EXEC"
    DOCKER_UP=0
}
# iptables state docker leaves behind (only when no DOCKER chain was there)
docker_chains() { iptables-save 2>/dev/null | grep -c '^:DOCKER' || true; }
iptables_undocker() {
    [ "$DOCKER_CHAINS_BEFORE" = 0 ] || return 0
    local t r c
    for t in filter nat raw mangle; do
        iptables -t "$t" -S 2>/dev/null | grep -E '^-A ' | grep -E -- '-j DOCKER|^-A DOCKER' \
            | grep -vE '^-A DOCKER' | sed 's/^-A /-D /' | while read -r r; do
                # shellcheck disable=SC2086
                eval iptables -t "$t" $r 2>/dev/null || true
            done
        for c in $(iptables -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ { print $2 }'); do
            iptables -t "$t" -F "$c" 2>/dev/null || true
        done
        for c in $(iptables -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ { print $2 }'); do
            iptables -t "$t" -X "$c" 2>/dev/null || true
        done
    done
    [ -z "$FWD_POLICY" ] || iptables -P FORWARD "$FWD_POLICY" 2>/dev/null || true
    [ "$(docker_chains)" = 0 ] || log "WARNING: DOCKER iptables chains left"
}

# ---------------------------------------------------------------- cleanup
cleanup() {
    local rc=$?
    set +e
    if [ "${#B[@]}" -gt 0 ] && [ -d "$BR" ]; then
        ids=$("${B[@]}" ps -aq --no-trunc 2>/dev/null)
        # shellcheck disable=SC2086
        [ -z "$ids" ] || "${B[@]}" rm -f $ids >/dev/null 2>&1
        "${B[@]}" network rm "$NET" >/dev/null 2>&1
        "${B[@]}" network prune -f >/dev/null 2>&1 # the idle default bridge too
    fi
    if [ "${#POD[@]}" -gt 0 ]; then
        "${POD[@]}" rm -af -t 0 >/dev/null 2>&1
        [ "$PODNET_MADE" = 0 ] || "${POD[@]}" network rm -f "$NET" >/dev/null 2>&1
        rm -f "/etc/containers/networks/$NET.json"
        "${POD[@]}" rmi -af >/dev/null 2>&1
        "${POD[@]}" system reset -f >/dev/null 2>&1 || true
    fi
    if [ "$DOCKER_UP" = 1 ]; then
        ids=$(dk ps -aq 2>/dev/null)
        # shellcheck disable=SC2086
        [ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1
        dk network rm "$NET" >/dev/null 2>&1
        dk rmi -f "$TAG" >/dev/null 2>&1
    fi
    docker_stop
    iptables_undocker
    # stray processes using the store (ours), by pid
    if [ -n "$STORE" ]; then
        for p in /proc/[0-9]*; do
            p=${p#/proc/}; [ "$p" = $$ ] && continue
            if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "$STORE/"; then
                log "WARNING: killing leftover pid $p"; kill -KILL "$p" 2>/dev/null
            fi
        done
    fi
    store_down
    grep -qF " $FS_MNT" /proc/self/mountinfo && log "WARNING: mounts left under $FS_MNT"
    ip -o link 2>/dev/null | grep -qE "br-|podman" && ip -o link | awk -F': ' '{print $2}' \
        | grep -E '^(br-|podman)' | sed 's/^/net.sh: note: bridge present after cleanup: /' >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- setup
FIXTURE=$("$REPO_DIR/tests/fixtures/make.sh") || die "could not build the busybox fixture"
mkdir -p "$RES"
: >"$RES/results.tsv"
DOCKER_CHAINS_BEFORE=$(docker_chains)
FWD_POLICY=$(iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" { print $3; exit }')
store_up
mkdir -p "$STORE/bin"
cp "$BERTH" "$STORE/bin/berth"
{
    echo "berth: $BERTH sha256 $(sha256sum <"$BERTH" | cut -c1-16)"
    echo "kernel: $(uname -r), $(nproc) cpus"
    echo "docker: $(docker --version 2>/dev/null)"
    echo "podman: $(podman --version 2>/dev/null)"
    echo "dnsperf: $(dnsperf -h 2>&1 | awk '/^Version/ { print $2; exit }'), wrk: $(wrk -v 2>&1 | head -1)"
    echo "host address for part 3: ${HOSTIP:-none}"
} >"$RES/env.txt"
BERTH=$STORE/bin/berth
BR=$STORE/berth-root BRR=$STORE/berth-run
B=("$BERTH" --root "$BR" --runroot "$BRR")
"${B[@]}" import -c 'CMD ["sh"]' "$FIXTURE" busybox >/dev/null || die "berth import failed"
"${B[@]}" network create "$NET" >/dev/null || die "berth network create failed"
GW=$("${B[@]}" network inspect "$NET" | jq -r '.[0].IPAM.Config[0].Gateway')
log "berth network $NET, gateway $GW"
out=$("${B[@]}" run --rm --network "$NET" busybox sh -c 'echo ok') || die "berth run --network failed"
[ "$out" = ok ] || die "berth run printed '$out'"

HF=(hyperfine -N --warmup "$WARMUP" --style basic)
HTTPD='mkdir -p /www && echo "hello from the bench" >/www/index.html && exec httpd -f -p 80 -h /www'
WRK_TARGETS=(127.0.0.1)
[ -z "$HOSTIP" ] || WRK_TARGETS+=("$HOSTIP")

cpid() {   # cpid ENGINE-ARRAY NAME: pid of the container's pid 1
    local -n e=$1
    "${e[@]}" container inspect -f '{{.State.Pid}}' "$2" 2>/dev/null | head -1
}

# dns ENGINE SERVER PID: dnsperf in PID's netns; qps run + -Q 20000 -v run
dns() {
    local name=$1 server=$2 pid=$3 f=$RES/dns-$1
    log "part 2: $name: dnsperf against $server (${DNS_SECS}s unthrottled, ${DNS_SECS}s at 20k qps)"
    if ! nsenter -t "$pid" -n dnsperf -s "$server" -d "$RES/queries.txt" -l "$DNS_SECS" >"$f-max.txt" 2>&1; then
        skip "$name: dnsperf failed ($f-max.txt)"; return 0
    fi
    kv "$name" dns_qps "$(awk '/Queries per second/ { print $4 }' "$f-max.txt")"
    kv "$name" dns_lost "$(awk '/Queries lost/ { print $3 " " $4 }' "$f-max.txt")"
    kv "$name" dns_noerror "$(grep -o 'NOERROR [0-9]* ([0-9.]*%)' "$f-max.txt" | head -1)"
    kv "$name" dns_avg_ms_max "$(awk '/Average Latency/ { printf "%.3f", $4 * 1000 }' "$f-max.txt")"
    nsenter -t "$pid" -n dnsperf -s "$server" -d "$RES/queries.txt" -l "$DNS_SECS" -Q 20000 -v >"$f-20k.txt" 2>&1 || true
    kv "$name" dns_qps_20k "$(awk '/Queries per second/ { print $4 }' "$f-20k.txt")"
    kv "$name" dns_lost_20k "$(awk '/Queries lost/ { print $3 " " $4 }' "$f-20k.txt")"
    # -v lines: "> NOERROR dns1 A 0.000123"
    awk '$1 == ">" && $NF ~ /^[0-9.]+$/ { print $NF * 1000 }' "$f-20k.txt" | sort -g >"$f-20k.lat"
    kv "$name" dns_p50_ms "$(awk '{ a[NR] = $1 } END { if (NR) printf "%.3f", a[int(NR * 0.50) + 1] }' "$f-20k.lat")"
    kv "$name" dns_p99_ms "$(awk '{ a[NR] = $1 } END { if (NR) printf "%.3f", a[int(NR * 0.99) + 1] }' "$f-20k.lat")"
    kv "$name" dns_avg_ms "$(awk '{ s += $1 } END { if (NR) printf "%.3f", s / NR }' "$f-20k.lat")"
    rm -f "$f-20k.lat"
    gzip -f "$f-20k.txt"
}

# web ENGINE-ARRAY NAME PORT NET-ARGS...: httpd container, wrk at it
web() {
    local arr=$1 name=$2 port=$3 t n
    local -n e=$1
    shift 3
    if ! "${e[@]}" run -d --name web "$@" -p "$port:80" "$( [ "$name" = berth ] && echo busybox || echo "$TAG")" \
        sh -c "$HTTPD" >"$RES/web-$name.log" 2>&1; then
        skip "$name: httpd container failed ($RES/web-$name.log)"; return 0
    fi
    for ((n = 0; n < 100; n++)); do
        curl -fsS -m 1 "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
        sleep 0.1
    done
    for t in "${WRK_TARGETS[@]}"; do
        log "part 3: $name: wrk -t2 -c32 -d${WRK_SECS}s http://$t:$port/"
        if ! curl -fsS -m 2 "http://$t:$port/" >/dev/null 2>&1; then
            kv "$name" "wrk_$t" "unreachable"; continue
        fi
        wrk -t2 -c32 -d"${WRK_SECS}s" "http://$t:$port/" >"$RES/wrk-$name-$t.txt" 2>&1 || true
        kv "$name" "wrk_$t" "$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$RES/wrk-$name-$t.txt")"
        kv "$name" "wrkerr_$t" "$(awk '/Socket errors|Non-2xx/ { $1 = $1; printf "%s; ", $0 }' "$RES/wrk-$name-$t.txt")"
    done
    "${e[@]}" rm -f web >/dev/null 2>&1 || true
    : "$arr"
}

printf 'dns1. A\ndns2. A\ndns3. A\n' >"$RES/queries.txt"
cat >"$RES/visible.py" <<'PY'
# visible.py SERVER NAME...: for each NAME in turn, query SERVER for its A
# record in a tight loop until a NOERROR answer with an A record comes back;
# print "NAME epoch-seconds" of that answer.
import os, socket, struct, sys, time
server, names = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.001)
def q(name, qid):
    h = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    body = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p) + b"\0"
    return h + body + struct.pack(">HH", 1, 1)
qid = 0
for n in names:
    deadline = time.time() + 30
    while time.time() < deadline:
        qid = (qid + 1) & 0xffff
        s.sendto(q(n, qid), (server, 53))
        ok = False
        while True:   # skip late answers to earlier queries (other ids)
            try:
                d = s.recv(1500)
            except socket.timeout:
                break
            if len(d) < 12:
                continue
            rid, fl, _, an = struct.unpack(">HHHH", d[:8])
            if rid == qid:
                ok = fl & 0xf == 0 and an > 0
                break
        if ok:
            print(n, "%.6f" % time.time(), flush=True)
            break
    else:
        print(n, "timeout", flush=True)
PY

# ================================================================= berth
log "part 1: berth: $RUNS runs, warmup $WARMUP"
"${HF[@]}" --runs "$RUNS" --export-json "$RES/start-berth.json" \
    -n "berth" "$(q "${B[@]}" run --rm --network "$NET" busybox true)" || skip "berth start timing failed"

KEEP='trap "exit 0" TERM; sleep 1000 & wait'
for n in dns1 dns2 dns3 probe; do
    "${B[@]}" run -d --name "$n" --network "$NET" busybox sh -c "$KEEP" >/dev/null || die "berth run -d $n failed"
done
ans=$("${B[@]}" exec probe nslookup dns2 2>&1 || true)
kv berth nslookup_in_container "$(echo "$ans" | awk '/^Address/ && !/:53/ { print $2 }' | tail -1)"
PPID_B=$(cpid B probe)
dns berth "$GW" "$PPID_B"

log "part 2: berth: name visible after run -d ($NNAMES names)"
names=(); for ((i = 1; i <= NNAMES; i++)); do names+=("vis$i"); done
nsenter -t "$PPID_B" -n python3 "$RES/visible.py" "$GW" "${names[@]}" >"$RES/visible.out" 2>&1 &
VPID=$!
sleep 0.5
: >"$RES/visible.ret"
for n in "${names[@]}"; do
    "${B[@]}" run -d --name "$n" --network "$NET" busybox sh -c "$KEEP" >/dev/null || skip "run -d $n failed"
    printf '%s %s\n' "$n" "$EPOCHREALTIME" >>"$RES/visible.ret"
    sleep 0.3
done
for ((i = 0; i < 100; i++)); do kill -0 "$VPID" 2>/dev/null || break; sleep 0.1; done
kill "$VPID" 2>/dev/null || true; wait "$VPID" 2>/dev/null || true
awk 'NR == FNR { r[$1] = $2; next } ($1 in r) { if ($2 == "timeout") print $1, "timeout"; else printf "%s %.3f\n", $1, ($2 - r[$1]) * 1000 }' \
    "$RES/visible.ret" "$RES/visible.out" >"$RES/visible-ms.txt"
kv berth visible_ms "$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 }' "$RES/visible-ms.txt")"
kv berth visible_max_ms "$(awk '$2 != "timeout" { if ($2 > m || NR == 1) m = $2 } END { printf "%.3f", m }' "$RES/visible-ms.txt")"
for n in "${names[@]}"; do "${B[@]}" rm -f "$n" >/dev/null 2>&1 || true; done

web B berth "$PORT_B" --network "$NET"
ids=$("${B[@]}" ps -aq --no-trunc); [ -z "$ids" ] || "${B[@]}" rm -f $ids >/dev/null 2>&1 || true

# ================================================================= podman
PODMAN_OK=0
if [ "$DO_PODMAN" = 1 ] && podman_available; then
    if "$PEERS" podman-setup >"$RES/podman-setup.log" 2>&1; then
        POD=(podman --root "$STORE/podman-root" --runroot "$STORE/podman-run"
             --tmpdir "$STORE/podman-tmp" --storage-driver overlay)
        # explicit subnet: podman's defaults (10.88/16, 10.89.x/24) are berth's too
        if "${POD[@]}" import -q -c 'CMD ["sh"]' "$FIXTURE" "$TAG" >/dev/null \
            && "${POD[@]}" network create --subnet 10.231.7.0/24 "$NET" >/dev/null && PODNET_MADE=1 \
            && "${POD[@]}" run --rm --network "$NET" "$TAG" true; then
            PODMAN_OK=1
        else
            skip "podman: import, network create or run failed"
        fi
    else
        skip "podman: scripts/peers.sh podman-setup failed"
    fi
fi
if [ "$PODMAN_OK" = 1 ]; then
    log "part 1: podman: $PEER_RUNS runs"
    "${HF[@]}" --runs "$PEER_RUNS" --export-json "$RES/start-podman.json" \
        -n "podman" "$(q "${POD[@]}" run --rm --network "$NET" "$TAG" true)" || skip "podman start timing failed"
    for n in dns1 dns2 dns3 probe; do
        "${POD[@]}" run -d --name "$n" --network "$NET" "$TAG" sh -c "$KEEP" >/dev/null || skip "podman run -d $n failed"
    done
    dns podman 10.231.7.1 "$(cpid POD probe)"
    "${POD[@]}" rm -f -t 0 dns1 dns2 dns3 probe >/dev/null 2>&1 || true
    web POD podman "$PORT_P" --network "$NET"
fi

# ================================================================= docker
DOCKER_OK=0 DOCKER_NOTE=
if [ "$DO_DOCKER" = 1 ] && command -v dockerd >/dev/null 2>&1; then
    if [ "$DOCKER_IPT" = 1 ] && docker_start 1; then
        DOCKER_NOTE="dockerd with iptables on (--bridge=none, user network)"
    elif docker_start 0; then
        DOCKER_NOTE="dockerd with --iptables=false (iptables on $([ "$DOCKER_IPT" = 1 ] && echo failed || echo not tried)): -p via docker-proxy only"
    fi
    if [ "$DOCKER_UP" = 1 ] && dk import -c 'CMD ["sh"]' "$FIXTURE" "$TAG" >/dev/null \
        && dk network create --subnet 10.231.8.0/24 "$NET" >/dev/null \
        && dk run --rm --network "$NET" "$TAG" true; then
        DOCKER_OK=1
        log "$DOCKER_NOTE"
        echo "docker: $DOCKER_NOTE" >>"$RES/env.txt"
    else
        skip "docker: dockerd, import, network create or run failed"
    fi
fi
if [ "$DOCKER_OK" = 1 ]; then
    D=(docker -H "unix://$DK_SOCK")
    log "part 1: docker: $PEER_RUNS runs"
    "${HF[@]}" --runs "$PEER_RUNS" --export-json "$RES/start-docker.json" \
        -n "docker" "$(q "${D[@]}" run --rm --network "$NET" "$TAG" true)" || skip "docker start timing failed"
    for n in dns1 dns2 dns3 probe; do
        "${D[@]}" run -d --name "$n" --network "$NET" "$TAG" sh -c "$KEEP" >/dev/null || skip "docker run -d $n failed"
    done
    dns docker 127.0.0.11 "$(cpid D probe)"
    "${D[@]}" rm -f dns1 dns2 dns3 probe >/dev/null 2>&1 || true
    web D docker "$PORT_D" --network "$NET"
fi

# ================================================================= summary
med() { [ -f "$RES/start-$1.json" ] && jq -r '.results[0].median * 1000' "$RES/start-$1.json" || true; }
{
    echo "berth networking bench, $(date -u +%FT%TZ); $(cat "$RES/env.txt" | tr '\n' ';' | sed 's/;$//')"
    echo
    echo "Part 1: run --rm --network NET busybox true (user-defined bridge network), median"
    mb=$(med berth)
    printf '  %-8s %10s %12s\n' engine median_ms engine/berth
    for e in berth podman docker; do
        m=$(med "$e"); [ -n "$m" ] || { printf '  %-8s %10s\n' "$e" skipped; continue; }
        printf '  %-8s %10.2f %11.1fx\n' "$e" "$m" "$(awk -v a="$m" -v b="$mb" 'BEGIN { print a / b }')"
    done
    echo "  target: berth < 15 ms median and >= 20x faster than docker and podman"
    echo
    echo "Part 2: embedded DNS, dnsperf in a container's netns, A records of 3 containers"
    printf '  %-8s %10s %10s %10s %10s %10s %s\n' engine max_qps avg_ms@max p50@20k p99@20k avg@20k "lost@20k / answers@max"
    for e in berth podman docker; do
        [ -n "$(get "$e" dns_qps)" ] || { printf '  %-8s %10s\n' "$e" skipped; continue; }
        printf '  %-8s %10s %10s %10s %10s %10s %s / %s\n' "$e" "$(get "$e" dns_qps)" "$(get "$e" dns_avg_ms_max)" \
            "$(get "$e" dns_p50_ms)" "$(get "$e" dns_p99_ms)" "$(get "$e" dns_avg_ms)" "$(get "$e" dns_lost_20k)" "$(get "$e" dns_noerror)"
    done
    echo "  target (berth): >= 20000 qps, p99 < 1 ms"
    echo "  berth: nslookup dns2 from inside a container -> $(get berth nslookup_in_container)"
    echo "  berth: name visible after run -d returned (ms, per name): $(get berth visible_ms)"
    echo
    echo "Part 3: published port, busybox httpd, wrk -t2 -c32 -d${WRK_SECS}s, requests/s"
    printf '  %-8s' engine; for t in "${WRK_TARGETS[@]}"; do printf ' %16s' "$t"; done; echo
    for e in berth podman docker; do
        printf '  %-8s' "$e"
        for t in "${WRK_TARGETS[@]}"; do printf ' %16s' "$(get "$e" "wrk_$t" | sed 's/^$/skipped/')"; done; echo
    done
    for e in berth podman docker; do for t in "${WRK_TARGETS[@]}"; do
        x=$(get "$e" "wrkerr_$t"); [ -z "$x" ] || echo "  $e $t: $x"
    done; done
    echo "  target: berth >= best peer"
} | tee "$RES/summary.txt"
log "results in $RES"
