#!/usr/bin/env bash
# system prune and crash recovery of the network: the default bridge
# outliving its containers, what kill -9 of berth processes leaves
# (endpoint, lease, published-port rules, DNS records), the bridge of a
# store deleted with rm -rf, system df's volume row, bad input.
# Only local addresses; subnet 10.205.K.0/24 and a port in 40000-59999 from the pid.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
command -v iptables >/dev/null || skip_all "iptables missing"
[ "$(id -u)" = 0 ] || skip_all "needs root"
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

ROOT2=$T_DIR/root2 RUN2=$T_DIR/run2
b2() { "$BERTH" --root "$ROOT2" --runroot "$RUN2" "$@"; }
cleanup2() {
	[ -d "$ROOT2" ] && b2 network prune -f >/dev/null 2>&1
	[ -n "${BR2:-}" ] && ip link del "$BR2" 2>/dev/null
	return 0
}
trap 'ctr_cleanup; cleanup2; t_cleanup' EXIT

k=$(( $$ % 250 ))
S=10.205.$k.0/24 N=tpn$$ P=$(( 40000 + $$ % 20000 ))

# ---- bad input ----
fails "unknown flag" 'unknown flag' b system prune --bogus
fails "no arguments" 'accepts no arguments' b system prune -f extra
fails "filters are not there yet" 'not supported' b system prune -f --filter until=1h
check "without -f and a no: nothing happens" sh -c "echo n | '$BERTH' --root '$ROOT' --runroot '$RUNROOT' system prune"
like "  Docker's warning" "$OUT" 'all stopped containers'

# ---- the default bridge outlives its containers ----
check "run on the default bridge" b run --rm busybox true
BR=$(b network inspect -f '{{json .Options}}' bridge | grep -oE 'berth[0-9a-f]{8}')
check "the default bridge $BR stays" ip -o link show "$BR"
like "  and its masquerade rule" "$(iptables -t nat -S)" "! -o $BR .*MASQUERADE"
check "registered host-wide" test -f "/run/berth-bridges/$BR"

# ---- kill -9: what a dead monitor and container leave ----
check "create $N" b network create --subnet "$S" "$N"
id=$(run_d --network "$N" --name victim$$ -p "127.0.0.1:$P:80" busybox sleep 300)
nid=$(b network inspect -f '{{.Id}}' "$N")
like "DNAT rule for $P" "$(iptables -t nat -S)" "--dport $P .*DNAT"
mp=$(monitor_pid victim$$)
for p in $mp $(procs_in "$id"); do kill -9 "$p" 2>/dev/null; done
wait_until 3 sh -c "! grep -q . /sys/fs/cgroup/pids/berth/$id/cgroup.procs 2>/dev/null"
check "the endpoint is left behind" test -f "$RUNROOT/networks/$nid/ep/$id"
like "  and its lease" "$(cat "$RUNROOT/networks/$nid/ipam-$nid.json")" "$id"
# a store deleted without cleanup leaves its default bridge
b2 import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null
check "second store runs on its default bridge" b2 run --rm busybox true
BR2=$(b2 network inspect -f '{{json .Options}}' bridge | grep -oE 'berth[0-9a-f]{8}')
check "second store's bridge $BR2 is there" ip -o link show "$BR2"
rm -rf "$ROOT2"

check "system prune -f" b system prune -f
like "  removed the stopped container" "$OUT" "Deleted Containers:"
like "  removed the unused network" "$OUT" "Deleted Networks:.*$N|$N"
like "  reports the space" "$OUT" "^Total reclaimed space: [0-9.]+[kMG]?B$"
is "no DNAT rule for $P left" "$(iptables -t nat -S | grep -c -- "--dport $P ")" 0
is "no rule of $N's bridge left" "$(iptables-save | grep -c "berth:br-${nid:0:12}")" 0
is "no lease or endpoint left" "$(ls "$RUNROOT/networks/$nid" 2>/dev/null)" ""
is "the idle default bridge went" "$(ip -o link show "$BR" 2>/dev/null)" ""
is "  with its rules" "$(iptables-save | grep -c "berth:$BR")" 0
is "the deleted store's bridge went" "$(ip -o link show "$BR2" 2>/dev/null)" ""
is "  with its rules and registration" "$(iptables-save | grep -c "berth:$BR2"; ls /run/berth-bridges | grep -c "$BR2")" "0
0"
check "a run after prune sets the default bridge up again" b run --rm busybox sh -c 'ip -o -4 addr show eth0'
like "  with an address" "$OUT" 'inet 10\.8[0-3]\.'

# ---- volumes: system df, system prune --volumes ----
check "anonymous volume" b create -v /data --name withvol$$ busybox true
check "named volume" b volume create keep$$
check "system df" b system df
like "  counts 2 local volumes, 1 active" "$OUT" "Local Volumes +2 +1 "
check "system df --format json" b system df --format '{{json .}}'
like "  every field a string, keys in Docker's order" "$OUT" '^\{"Active":"1","Reclaimable":"[^"]+","Size":"[^"]+","TotalCount":"2","Type":"Local Volumes"\}$'
like "  a build cache row (counted, not fixed)" "$OUT" '^\{"Active":"0","Reclaimable":"[^"]+","Size":"[^"]+","TotalCount":"[0-9]+","Type":"Build Cache"\}$'
b rm withvol$$ >/dev/null
check "system prune --volumes" b system prune -f --volumes
like "  removed the anonymous volume" "$OUT" "Deleted Volumes:"
is "the named volume stays" "$(b volume ls -q)" "keep$$"
b volume rm keep$$ >/dev/null
check "system prune -a" b system prune -af
is "no image left" "$(b images -q)" ""
b network prune -f >/dev/null
is "nothing of this test on the host" "$(ip -o link show | grep -cE "$BR|$BR2|br-${nid:0:12}"; iptables-save | grep -cE "berth:($BR|$BR2|br-${nid:0:12})")" "0
0"
t_done
