#!/usr/bin/env bash
# The container start/stop hot path (docs/benchmarks.md): what each shortcut
# must still guarantee. The network is configured and the process is in
# its cgroups before the command runs; `run --rm` returns only when the
# container is gone (not listed, name free, no cgroup, mount or state);
# the monitor's hold on the mount namespace never blocks the next start;
# an empty state.json (a crash before writeback) reads as exited.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

NET=t0340net
SUBNET=10.233.47.0/24
check "network create" b network create --subnet "$SUBNET" "$NET"

# no trace of container SHORT (12 hex) once run --rm returned
gone_now() { # DESC SHORT
	is "$1: not listed" "$(b ps -a -q | grep -c "^$2")" 0
	is "$1: no cgroup" "$(find /sys/fs/cgroup -maxdepth 3 -name "$2*" 2>/dev/null | head -3)" ""
	is "$1: no mount" "$(grep -c "$2" /proc/self/mountinfo)" 0
	is "$1: no state" "$(ls -A "$ROOT/containers" "$RUNROOT" 2>/dev/null | grep -c "^$2")" 0
}

# ---- everything is ready before the command runs ----
check "run --rm on a user network" b run --rm --network "$NET" busybox sh -c \
	'cat /etc/hostname; ip -o -4 addr show dev eth0; ip -o link show dev lo; ip route; grep -E ":(memory|pids):" /proc/self/cgroup'
short=$(head -n1 <<<"$OUT")
like "eth0 has its address" "$OUT" 'eth0 +inet 10\.233\.47\.[0-9]+/24 brd 10\.233\.47\.255'
like "lo is up" "$OUT" 'lo: <LOOPBACK,UP'
like "default route via the gateway" "$OUT" 'default via 10\.233\.47\.1 dev eth0'
like "in its cgroups already (their root in its cgroup namespace)" "$(grep -c ':/$' <<<"$OUT")" '^2$'
gone_now "run --rm returned" "$short"
is "no endpoint left on the network" "$(b network inspect -f '{{json .Containers}}' "$NET")" "{}"
check "run --rm on the default bridge" b run --rm busybox sh -c 'ip route; ip -o link show dev eth0'
like "default bridge: route and link up" "$OUT" 'default via .* dev eth0'
like "default bridge: eth0 up" "$OUT" 'eth0@[^:]+: <[^>]*,UP'

# the name is free the moment run --rm returns, again and again
for i in 1 2 3; do
	b run --rm --name t0340-again --network "$NET" busybox true || notok "run --rm --name, round $i"
done
is "the same name three times in a row" "$(b ps -a -q --filter name=t0340-again | wc -l)" 0
exits_rc() { "$@" >/dev/null 2>&1; echo $?; }
is "exit code through run --rm" "$(exits_rc b run --rm --network "$NET" busybox sh -c 'exit 7')" 7

# a refused start (cgroup) leaves nothing: no container, cgroup or lease
fails "run --rm with an impossible cpuset" 'Requested CPUs are not available' \
	b run --rm --network "$NET" --cpuset-cpus 99 busybox true
is "refused: nothing listed" "$(b ps -a -q | wc -l)" 0
is "refused: no endpoint" "$(b network inspect -f '{{json .Containers}}' "$NET")" "{}"

# a bind mount's source can be unmounted the moment run --rm returns
mkdir -p "$T_DIR/src"
if mount -t tmpfs t0340 "$T_DIR/src" 2>/dev/null; then
	ok=1
	for i in 1 2 3; do
		b run --rm -v "$T_DIR/src:/data" busybox touch /data/f || ok=0
		umount "$T_DIR/src" 2>/dev/null || { ok=0; umount -l "$T_DIR/src"; break; }
		[ $i = 3 ] || mount -t tmpfs t0340 "$T_DIR/src"
	done
	[ $ok = 1 ] && ok "bind source unmountable right after run --rm (3 rounds)" || notok "bind source still busy after run --rm"
else
	skip "tmpfs mount for the bind-source check"
fi

# ---- the held mount namespace never blocks the next start ----
b run --name t0340-s busybox sh -c 'echo one >>/f'
echo "$(b inspect -f '{{.Id}}' t0340-s)" >>"$T_DIR/ids"
check "start -a right after the attached run" b start -a t0340-s
check "and once more" b start -a t0340-s
is "the upper dir kept every write" "$(b cp t0340-s:/f - 2>/dev/null | tar -xO 2>/dev/null)" "one
one
one"
check "restart policy: restarts mount the root again" run_d --name t0340-r --restart on-failure:2 busybox sh -c 'echo r >>/f; exit 1'
wait_until 20 state_is t0340-r "exited 2" && ok "on-failure:2 ran three times" || notok "on-failure:2: $(b inspect -f '{{.State.Status}} {{.RestartCount}}' t0340-r)"
is "three runs wrote" "$(b cp t0340-r:/f - 2>/dev/null | tar -xO 2>/dev/null | wc -l)" 3

# ---- an empty state.json (power loss before writeback) ----
sid=$(b inspect -f '{{.Id}}' t0340-s)
: >"$ROOT/containers/$sid/state.json"
like "empty state.json: listed as exited" "$(b ps -a --format '{{.Names}} {{.Status}}' | grep '^t0340-s ')" '^t0340-s Exited \(255\)'
check "empty state.json: starts again" b start -a t0340-s
is "empty state.json: then a normal state" "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}}' t0340-s)" "exited 0"
check "rm" b rm t0340-s t0340-r
gone_now "rm" "${sid:0:12}"
check "network rm" b network rm "$NET"
t_done
