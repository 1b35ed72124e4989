#!/usr/bin/env bash
# peers.sh - start / set up the peer container engines (docker, podman) that
# berth's interop tests and benchmarks compare against.
#
# Every subcommand is idempotent. Progress and errors go to stderr; the only
# thing written to stdout is the machine-readable result (e.g. the DOCKER_HOST
# of docker-start), so callers can do:
#
#     DOCKER_HOST=$(scripts/peers.sh docker-start) || skip "no docker"
#
# Subcommands:
#   docker-start [--check]
#                    install docker.io if dockerd is missing, start a private
#                    dockerd (own data root, exec root, pidfile and socket; no
#                    iptables, no bridge) unless it already answers, wait up
#                    to 60 s, print its DOCKER_HOST. --check: also run
#                    docker-selftest, once per dockerd process.
#   docker-stop      stop that dockerd (and the containerd it started), remove
#                    its pidfile and socket. The data root is kept.
#   docker-purge     docker-stop, then delete its data root and exec root.
#   docker-host      print the DOCKER_HOST (does not check that it answers).
#   docker-selftest  import a busybox rootfs with `docker import` and run
#                    `docker run --rm --network none IMG true`; removes it.
#   podman-setup     install podman if missing, make sure
#                    /etc/containers/containers.conf has the settings podman
#                    needs on this kind of machine, and check that `podman load`
#                    and `podman run --network none` work with a private
#                    --root/--runroot.
#                    The check is skipped when it already passed since the
#                    last change of podman or the conf (marker file
#                    /run/berth-peer-podman.ok); --force runs it anyway.
#   podman-selftest  only the check part of podman-setup.
#   busybox-rootfs DIR
#                    write a minimal busybox rootfs into DIR (used by the
#                    self tests; handy for interop tests too).
#
# Exit status: 0 on success; 1 when the peer cannot be started / used (the
# message on stderr says why), so tests can turn that into a skip; 2 on usage
# errors.
#
# Paths can be overridden with the environment (defaults shown):
#   BERTH_PEER_DOCKER_ROOT=/var/lib/berth-peer-docker
#   BERTH_PEER_DOCKER_EXEC=/run/berth-peer-docker
#   BERTH_PEER_DOCKER_PID=/run/berth-peer-docker.pid
#   BERTH_PEER_DOCKER_SOCK=/run/berth-peer-docker.sock
#   BERTH_PEER_DOCKER_LOG=/var/log/berth-peer-docker.log
#   BERTH_PEER_DOCKER_TIMEOUT=60
#   BERTH_PEER_LOCK=/run/berth-peer.lock   (serialises concurrent callers,
#                    e.g. integration tests running in parallel)
set -euo pipefail

PROG=${0##*/}
DOCKER_ROOT=${BERTH_PEER_DOCKER_ROOT:-/var/lib/berth-peer-docker}
DOCKER_EXEC=${BERTH_PEER_DOCKER_EXEC:-/run/berth-peer-docker}
DOCKER_PID=${BERTH_PEER_DOCKER_PID:-/run/berth-peer-docker.pid}
DOCKER_SOCK=${BERTH_PEER_DOCKER_SOCK:-/run/berth-peer-docker.sock}
DOCKER_LOG=${BERTH_PEER_DOCKER_LOG:-/var/log/berth-peer-docker.log}
DOCKER_TIMEOUT=${BERTH_PEER_DOCKER_TIMEOUT:-60}
DOCKER_HOST_URL="unix://$DOCKER_SOCK"
CONTAINERS_CONF=${BERTH_PEER_CONTAINERS_CONF:-/etc/containers/containers.conf}
LOCK=${BERTH_PEER_LOCK:-/run/berth-peer.lock}
PODMAN_OK=${BERTH_PEER_PODMAN_OK:-/run/berth-peer-podman.ok}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

# take_lock: hold LOCK (fd 9) until this script exits
take_lock() {
    [ -n "${BERTH_PEER_LOCKED:-}" ] && return 0
    exec 9>>"$LOCK" || die "cannot open lock file $LOCK"
    flock -w 300 9 || die "timed out waiting for $LOCK"
    BERTH_PEER_LOCKED=1
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 needs root (run as root or via sudo)"
}

# apt_install PKG... : install Debian packages, refreshing the lists once if
# the first attempt fails (a fresh machine may have no or stale lists).
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* by hand"
    need_root "installing $*"
    log "installing $* with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "$@" >&2; then
        apt-get update >&2 || true
        apt-get install -y --no-install-recommends "$@" >&2 \
            || die "apt-get install $* failed"
    fi
}

# --------------------------------------------------------------------------
# busybox rootfs
# --------------------------------------------------------------------------
busybox_bin() {
    local b
    for b in /bin/busybox /usr/bin/busybox; do
        # the rootfs needs a static binary (it has no libc)
        if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
            echo "$b"; return 0
        fi
    done
    return 1
}

cmd_busybox_rootfs() {
    local dir=${1:-}
    [ -n "$dir" ] || die "usage: $PROG busybox-rootfs DIR"
    local bb
    if ! bb=$(busybox_bin); then
        apt_install busybox-static
        bb=$(busybox_bin) || die "no static busybox found after installing busybox-static"
    fi
    mkdir -p "$dir"/bin "$dir"/etc "$dir"/proc "$dir"/sys "$dir"/dev "$dir"/tmp "$dir"/root
    chmod 1777 "$dir"/tmp
    cp "$bb" "$dir"/bin/busybox
    local a
    for a in $("$dir"/bin/busybox --list); do
        [ "$a" = busybox ] && continue
        [ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir"/etc/passwd
    printf 'root:x:0:\nnobody:x:65534:\n' >"$dir"/etc/group
}

# --------------------------------------------------------------------------
# docker
# --------------------------------------------------------------------------
dk() { DOCKER_HOST=$DOCKER_HOST_URL docker "$@"; }

docker_answers() {
    command -v docker >/dev/null 2>&1 || return 1
    [ -S "$DOCKER_SOCK" ] || return 1
    dk info >/dev/null 2>&1
}

# pid of our dockerd if it is alive, else nothing (and status 1)
docker_pid() {
    local pid
    [ -f "$DOCKER_PID" ] || return 1
    pid=$(cat "$DOCKER_PID" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    # make sure the pid was not recycled by something else
    case "$(cat /proc/"$pid"/comm 2>/dev/null)" in
        dockerd) echo "$pid" ;;
        *) return 1 ;;
    esac
}

cmd_docker_host() { echo "$DOCKER_HOST_URL"; }

# spread_dirs DIR...: mark directories ext4 "top of hierarchy" (chattr +T),
# so the kernel places each new subdirectory (one per image layer) in a
# roomy block group. On this kind of machine the block groups the root
# filesystem's existing directories (/var, /var/lib, ...) sit in are so
# crowded that every file created near them costs ~1 ms of kernel time
# (tar -x of a Debian rootfs: 5-7 s instead of 0.4 s). Harmless elsewhere;
# silently skipped where chattr or the flag is not supported.
spread_dirs() {
    command -v chattr >/dev/null 2>&1 || return 0
    chattr +T "$@" 2>/dev/null || true
}

cmd_docker_start() {
    local check=0
    case "${1:-}" in
        --check) check=1 ;;
        "") ;;
        *) die "docker-start: unknown option $1" ;;
    esac
    take_lock
    if docker_answers; then
        [ -d "$DOCKER_ROOT/overlay2" ] && spread_dirs "$DOCKER_ROOT" "$DOCKER_ROOT/overlay2"
        log "dockerd already answering on $DOCKER_HOST_URL"
        [ "$check" = 0 ] || docker_check_once
        echo "$DOCKER_HOST_URL"
        return 0
    fi
    need_root "starting dockerd"
    if ! command -v dockerd >/dev/null 2>&1; then
        apt_install docker.io
    fi
    command -v dockerd >/dev/null 2>&1 || die "dockerd not found (is docker.io installed?)"
    command -v docker >/dev/null 2>&1 || die "docker CLI not found (is docker.io installed?)"

    local pid
    if pid=$(docker_pid); then
        # alive but not answering yet: maybe still starting; wait for it below
        log "dockerd (pid $pid) is running but not answering yet; waiting"
    else
        # stale state from an earlier run that died
        rm -f "$DOCKER_PID"
        [ -S "$DOCKER_SOCK" ] && rm -f "$DOCKER_SOCK"
        mkdir -p "$DOCKER_ROOT" "$DOCKER_EXEC" "$(dirname "$DOCKER_LOG")"
        chmod 0710 "$DOCKER_ROOT"
        [ -d "$DOCKER_ROOT/overlay2" ] || mkdir -m 0710 "$DOCKER_ROOT/overlay2"
        spread_dirs "$DOCKER_ROOT" "$DOCKER_ROOT/overlay2"
        log "starting dockerd (data root $DOCKER_ROOT, log $DOCKER_LOG)"
        # setsid: detach from our session so the caller's job control or a
        # test runner killing its process group does not take dockerd along.
        setsid dockerd \
            --data-root "$DOCKER_ROOT" \
            --exec-root "$DOCKER_EXEC" \
            --pidfile "$DOCKER_PID" \
            -H "$DOCKER_HOST_URL" \
            --iptables=false --ip6tables=false --ip-masq=false \
            --bridge=none \
            >>"$DOCKER_LOG" 2>&1 </dev/null 9>&- &
        pid=$!
    fi

    local waited=0
    while ! docker_answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "dockerd exited during startup; last lines of $DOCKER_LOG:"
            tail -n 20 "$DOCKER_LOG" >&2 || true
            # it may have bind-mounted its data root before failing
            rm -f "$DOCKER_PID"
            unmount_under "$DOCKER_ROOT"
            unmount_under "$DOCKER_EXEC"
            die "could not start dockerd"
        fi
        if [ "$waited" -ge $((DOCKER_TIMEOUT * 5)) ]; then
            log "dockerd did not answer within ${DOCKER_TIMEOUT}s; last lines of $DOCKER_LOG:"
            tail -n 20 "$DOCKER_LOG" >&2 || true
            stop_docker_quietly
            die "dockerd did not come up"
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
    log "dockerd is up: export DOCKER_HOST=$DOCKER_HOST_URL"
    [ "$check" = 0 ] || docker_check_once
    echo "$DOCKER_HOST_URL"
}

# docker_check_once: run the self test unless it passed for this dockerd pid
docker_check_once() {
    local pid
    pid=$(docker_pid) || pid=unknown
    if [ "$pid" != unknown ] && [ "$(cat "$DOCKER_PID.selftest" 2>/dev/null)" = "$pid" ]; then
        return 0
    fi
    ( cmd_docker_selftest ) || die "dockerd answers but cannot run containers (see above)"
    [ "$pid" = unknown ] || echo "$pid" >"$DOCKER_PID.selftest"
}

# stop_docker_quietly: stop our dockerd and anything it left running.
stop_docker_quietly() {
    local pid cpid
    cpid=$(cat "$DOCKER_EXEC/containerd/containerd.pid" 2>/dev/null || true)
    if pid=$(docker_pid); then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 150); do          # up to 30 s
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "dockerd (pid $pid) did not stop on SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
    fi
    # the containerd that dockerd started normally goes down with it
    if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null \
        && [ "$(cat /proc/"$cpid"/comm 2>/dev/null)" = containerd ] \
        && grep -qa -- "$DOCKER_EXEC" /proc/"$cpid"/cmdline 2>/dev/null; then
        kill -TERM "$cpid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$cpid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$cpid" 2>/dev/null && kill -KILL "$cpid" 2>/dev/null || true
    fi
    rm -f "$DOCKER_PID" "$DOCKER_PID.selftest" "$DOCKER_SOCK"
    # dockerd bind-mounts its data root and exec-root/netns onto themselves;
    # a clean shutdown undoes that, a killed one may not.
    unmount_under "$DOCKER_ROOT"
    unmount_under "$DOCKER_EXEC"
}

# unmount_under DIR: unmount every mount point at or below DIR, deepest first.
unmount_under() {
    local dir=$1 m
    [ -d "$dir" ] || return 0
    dir=$(readlink -f "$dir")
    awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo \
        | sort -r | while read -r m; do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done
}

cmd_docker_stop() {
    if ! docker_pid >/dev/null && ! [ -e "$DOCKER_PID" ] && ! [ -e "$DOCKER_SOCK" ]; then
        log "dockerd is not running"
        unmount_under "$DOCKER_ROOT"
        unmount_under "$DOCKER_EXEC"
        return 0
    fi
    need_root "stopping dockerd"
    take_lock
    stop_docker_quietly
    log "dockerd stopped"
}

cmd_docker_purge() {
    need_root "purging dockerd state"
    take_lock
    cmd_docker_stop
    rm -rf "$DOCKER_ROOT" "$DOCKER_EXEC"
    log "removed $DOCKER_ROOT and $DOCKER_EXEC"
}

cmd_docker_selftest() {
    docker_answers || die "dockerd is not answering on $DOCKER_HOST_URL (run: $PROG docker-start)"
    take_lock
    local tmp img=berth-peer-selftest:docker
    tmp=$(mktemp -d /tmp/berth-peer-selftest.XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'; DOCKER_HOST='$DOCKER_HOST_URL' docker rmi -f '$img' >/dev/null 2>&1 || true" EXIT
    cmd_busybox_rootfs "$tmp/rootfs"
    tar -C "$tmp/rootfs" -c . | dk import - "$img" >/dev/null \
        || die "docker import of a busybox rootfs failed"
    local out
    # shellcheck disable=SC2016  # expanded by the container's shell
    out=$(dk run --rm --network none "$img" sh -c 'echo ok-$((6*7))' 2>&1) \
        || die "docker run --network none failed: $out"
    [ "$out" = ok-42 ] || die "docker run gave unexpected output: $out"
    dk run --rm --network none "$img" true || die "docker run --network none $img true failed"
    # save / load round trip
    dk save -o "$tmp/img.tar" "$img" || die "docker save failed"
    dk rmi -f "$img" >/dev/null
    dk load -q -i "$tmp/img.tar" >/dev/null || die "docker load of its own save failed"
    dk run --rm --network none "$img" true || die "docker run after load failed"
    log "docker self test passed (import, run --network none, save, load)"
}

# --------------------------------------------------------------------------
# podman
# --------------------------------------------------------------------------

# ensure_containers_conf: make sure CONTAINERS_CONF has, under the right
# tables, the keys below; keys already present (with any value) are left
# alone, missing tables are appended, and nothing is rewritten when all keys
# are there.
ensure_containers_conf() {
    mkdir -p "$(dirname "$CONTAINERS_CONF")"
    python3 - "$CONTAINERS_CONF" <<'PY'
import os, re, sys
path = sys.argv[1]
want = {
    "containers": [("default_ulimits", '["nofile=1024:1024","nproc=1024:1024"]')],
    "engine": [("runtime", '"runc"'),
               ("cgroup_manager", '"cgroupfs"'),
               ("events_logger", '"file"')],
}
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    lines = ["# written by berth scripts/peers.sh podman-setup"]

# where each [table] starts and which keys it has
table_re = re.compile(r'^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$')
key_re = re.compile(r'^\s*([A-Za-z0-9_-]+)\s*=')
tables, cur = {}, None
for i, l in enumerate(lines):
    m = table_re.match(l)
    if m:
        cur = m.group(1)
        tables.setdefault(cur, {"start": i, "end": i + 1, "keys": set()})
        continue
    if cur is not None:
        tables[cur]["end"] = i + 1
        k = key_re.match(l)
        if k:
            tables[cur]["keys"].add(k.group(1))

inserts, appends, changed = [], [], []
for t, kvs in want.items():
    if t in tables:
        missing = [(k, v) for k, v in kvs if k not in tables[t]["keys"]]
        if missing:
            inserts.append((tables[t]["start"] + 1, ["%s = %s" % kv for kv in missing]))
            changed += ["%s.%s" % (t, k) for k, _ in missing]
    else:
        appends += ["", "[%s]" % t] + ["%s = %s" % kv for kv in kvs]
        changed += ["%s.%s" % (t, k) for k, _ in kvs]

if not changed:
    sys.exit(0)
for at, new in sorted(inserts, reverse=True):
    lines[at:at] = new
lines += appends
tmp = path + ".tmp"
with open(tmp, "w") as f:
    f.write("\n".join(lines) + "\n")
os.replace(tmp, path)
print("peers.sh: set in %s: %s" % (path, ", ".join(changed)), file=sys.stderr)
PY
}

cmd_podman_selftest() {
    command -v podman >/dev/null 2>&1 || die "podman is not installed (run: $PROG podman-setup)"
    local tmp img=localhost/berth-peer-selftest:podman out
    tmp=$(mktemp -d /tmp/berth-peer-selftest.XXXXXX)
    local -a p1=(podman --root "$tmp/root1" --runroot "$tmp/run1")
    local -a p2=(podman --root "$tmp/root2" --runroot "$tmp/run2")
    # shellcheck disable=SC2064
    trap "unmount_under '$tmp'; rm -rf '$tmp'" EXIT
    cmd_busybox_rootfs "$tmp/rootfs"
    tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .
    "${p1[@]}" import -q "$tmp/rootfs.tar" "$img" >/dev/null 2>"$tmp/err" \
        || die "podman import failed: $(cat "$tmp/err")"
    "${p1[@]}" save -q -o "$tmp/img.tar" "$img" 2>"$tmp/err" \
        || die "podman save failed: $(cat "$tmp/err")"
    "${p2[@]}" load -q -i "$tmp/img.tar" >/dev/null 2>"$tmp/err" \
        || die "podman load with a private --root failed: $(cat "$tmp/err")"
    # shellcheck disable=SC2016  # expanded by the container's shell
    out=$("${p2[@]}" run --rm --network none "$img" sh -c 'echo ok-$((6*7))' 2>&1) \
        || die "podman run --network none failed: $out"
    [ "$out" = ok-42 ] || die "podman run gave unexpected output: $out"
    "${p2[@]}" run --rm --network none "$img" true 2>"$tmp/err" \
        || die "podman run --network none $img true failed: $(cat "$tmp/err")"
    log "podman self test passed (import, save, load into a private root, run --network none)"
    touch "$PODMAN_OK" 2>/dev/null || true
}

cmd_podman_setup() {
    local force=0
    case "${1:-}" in
        --force) force=1 ;;
        "") ;;
        *) die "podman-setup: unknown option $1" ;;
    esac
    take_lock
    if ! command -v podman >/dev/null 2>&1; then
        apt_install podman
    fi
    command -v podman >/dev/null 2>&1 || die "podman not found after installing it"
    # runc is what the conf selects (crun is not in Debian 12's podman deps)
    command -v runc >/dev/null 2>&1 || apt_install runc
    need_root "writing $CONTAINERS_CONF"
    ensure_containers_conf || die "could not update $CONTAINERS_CONF"
    if [ "$force" = 0 ] && [ -f "$PODMAN_OK" ] && [ "$PODMAN_OK" -nt "$CONTAINERS_CONF" ] \
        && [ "$PODMAN_OK" -nt "$(command -v podman)" ]; then
        log "podman is set up (self test passed before; --force to run it again)"
        return 0
    fi
    rm -f "$PODMAN_OK"
    cmd_podman_selftest
}

# --------------------------------------------------------------------------
case "${1:-}" in
    docker-start) shift; cmd_docker_start "$@" ;;
    docker-stop) cmd_docker_stop ;;
    docker-purge) cmd_docker_purge ;;
    docker-host) cmd_docker_host ;;
    docker-selftest) cmd_docker_selftest ;;
    podman-setup) shift; cmd_podman_setup "$@" ;;
    podman-selftest) cmd_podman_selftest ;;
    busybox-rootfs) shift; cmd_busybox_rootfs "$@" ;;
    -h|--help|help) usage ;;
    *) log "unknown or missing subcommand: ${1:-}"; usage ;;
esac
