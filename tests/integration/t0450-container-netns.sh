#!/usr/bin/env bash
# --network container:NAME: a container joins another's network namespace
# (same interfaces and address, the other's hostname and /etc/hosts); bad
# input is refused before anything is created.
. "$(dirname "$0")/../lib.sh"
need_fixtures
t0450_cleanup() {
	local c
	for c in $(b ps -a -q --no-trunc 2>/dev/null); do b rm -f "$c" >/dev/null 2>&1; done
	b network prune -f >/dev/null 2>&1
	t_cleanup
}
trap t0450_cleanup EXIT
check "import busybox" b import "$(busybox_tar)" bb
check "a container to share" b run -d --name owner bb sleep 300
own=$(b exec owner sh -c "ip -4 -o addr show eth0 | awk '{print \$4}'; hostname")
got=$(b run --rm --network container:owner bb sh -c "ip -4 -o addr show eth0 | awk '{print \$4}'; hostname")
is "same address and hostname" "$got" "$own"
like "the owner has an address" "$own" '^[0-9.]+/[0-9]+'
is "same /etc/hosts" "$(b run --rm --network container:owner bb cat /etc/hosts)" "$(b exec owner cat /etc/hosts)"
check "detached sharer" b run -d --name sharer --network container:owner bb sleep 300
id=$(b inspect -f '{{.Id}}' owner)
is "NetworkMode names the owner's ID" "$(b inspect -f '{{.HostConfig.NetworkMode}}' sharer)" "container:$id"
check "loopback is shared" sh -c "$BERTH --root $ROOT --runroot $RUNROOT exec -d owner nc -l -p 7777 -e echo shared-lo; sleep 0.3; $BERTH --root $ROOT --runroot $RUNROOT exec sharer nc 127.0.0.1 7777 </dev/null | grep -q shared-lo"
before=$(b ps -a -q | wc -l)
fails "unknown container" 'No such container: nope' b run --rm --network container:nope bb true
fails "hostname conflicts" 'conflicting options: hostname and the network mode' b run --rm --network container:owner -h x bb true
fails "ports need a bridge" 'port publishing needs a bridge network' b run --rm --network container:owner -p 80 bb true
check "a stopped container" b create --name stopped bb true
fails "the owner must run" 'cannot join network of a non running container' b run --rm --network container:stopped bb true
is "nothing left by the failures" "$(b ps -a -q | wc -l)" "$((before + 1))"
# compose: network_mode "service:NAME" shares that service's first container
mkdir -p "$T_DIR/proj"
cat >"$T_DIR/proj/compose.yaml" <<'YAML'
services:
  side:
    image: bb
    network_mode: "service:app"
    command: sleep 300
  app:
    image: bb
    command: sleep 300
YAML
check "compose up with network_mode service:" b compose --project-directory "$T_DIR/proj" -p nm up -d
is "side shares app's address" "$(b exec nm-side-1 hostname -i 2>&1)" "$(b exec nm-app-1 hostname -i 2>&1)"
like "config adds the implied dependency" "$(b compose --project-directory "$T_DIR/proj" -p nm config --format json | tr -d " \n")" '"depends_on":\{"app":\{"condition":"service_started"'
check "compose down" b compose --project-directory "$T_DIR/proj" -p nm down
t_done
