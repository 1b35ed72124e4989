#!/usr/bin/env bash
# Bridge networks: network create/ls/inspect/rm/prune, run --network,
# embedded DNS (names, aliases, round-robin), isolation, the default
# bridge, NAT rules, concurrent IPAM, DNS process recovery, cleanup.
# Only local addresses; subnets derived from the pid within 10.201.0.0/16.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
command -v iptables >/dev/null || skip_all "iptables missing"
[ "$(id -u)" = 0 ] || skip_all "needs root"
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

net_cleanup() {
	local n
	for n in $(b network ls --format '{{.Name}}' 2>/dev/null); do
		[ "$n" = bridge ] || b network rm "$n" >/dev/null 2>&1
	done
}
trap 'ctr_cleanup; net_cleanup; t_cleanup' EXIT

k=$(( ($$ % 60) * 4 ))
SA=10.201.$k.0/24 GA=10.201.$k.1
SB=10.201.$((k + 1)).0/24
SI=10.201.$((k + 2)).0/24
NA=tna$$ NB=tnb$$ NI=tni$$

host_state() {
	{ ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
	  ip -o addr show | awk '{print $2, $4}' | sort
	  iptables -t nat -S; iptables -S; } 2>/dev/null
}
before=$(host_state)
# Other tests (and anything else on the machine) change the host's links and
# rules at the same time: judge only what belongs to this test, i.e. lines
# that mention its subnets or its bridges.
BRS='^$'
ours() { host_state | grep -E "10\.201\.($k|$((k + 1))|$((k + 2)))\.|$BRS" || true; }

# ---- bad input: nothing half-configured ----
fails "invalid CIDR" 'invalid CIDR' b network create --subnet 10.201.0.0/33 bad$$
fails "subnet with host bits" 'invalid subnet' b network create --subnet 10.201.$k.5/24 bad$$
fails "gateway outside the subnet" 'not a usable address' b network create --subnet "$SA" --gateway 10.9.9.9 bad$$
fails "invalid name" 'invalid network name' b network create 'bad/name'
fails "reserved name" 'already exists' b network create bridge
fails "unknown network: inspect" 'network nosuch'"$$"' not found' b network inspect nosuch$$
fails "unknown network: rm" 'network nosuch'"$$"' not found' b network rm nosuch$$
fails "unknown network: run" 'network nosuch'"$$"' not found' b run --rm --network nosuch$$ busybox true
fails "rm of the default bridge" 'pre-defined network' b network rm bridge
is "failed creates left nothing on the host" "$(ours)" ""

# ---- create / ls / inspect ----
check "create $NA" b network create --subnet "$SA" --label team=x "$NA"
idA=$OUT
like "create prints the ID" "$idA" '^[0-9a-f]{64}$'
fails "duplicate name" "network with name $NA already exists" b network create --subnet "$SB" "$NA"
fails "overlapping subnet" 'overlaps' b network create --subnet "10.201.$k.128/25" ovl$$
check "create $NB (auto gateway)" b network create --subnet "$SB" "$NB"
check "create $NI --internal" b network create --internal --subnet "$SI" "$NI"
for n in "$NA" "$NB" "$NI"; do
	nid=$(b network inspect -f '{{.Id}}' "$n" 2>/dev/null)
	[ -n "$nid" ] && BRS="$BRS|br-${nid:0:12}"
done
check "ls" b network ls
like "ls lists the default bridge" "$OUT" '^[0-9a-f]{12} +bridge +bridge +local$'
like "ls lists $NA" "$OUT" "^${idA:0:12} +$NA +bridge +local$"
is "ls --filter label" "$(b network ls --filter label=team=x --format '{{.Name}}')" "$NA"
is "ls -f name (a regexp) and type=custom" "$(b network ls -f "name=^$NA\$" -f type=custom -q)" "${idA:0:12}"
is "ls -f type=builtin" "$(b network ls -f type=builtin --format '{{.Name}}')" bridge
is "ls: filters of different keys all apply" "$(b network ls -f name="$NA" -f id=nomatch -q)" ""
fails "ls: unknown filter" "^Error: Invalid filter 'bogus'$" b network ls -f bogus=1
fails "ls: filter without a value" 'bad format of filter' b network ls -f name
is "inspect subnet/gateway" "$(b network inspect -f '{{json .IPAM.Config}}' "$NA")" "[{\"Gateway\":\"$GA\",\"Subnet\":\"$SA\"}]"
is "inspect label" "$(b network inspect -f '{{json .Labels}}' "$NA")" '{"team":"x"}'
is "inspect internal" "$(b network inspect -f '{{.Internal}}' "$NI")" true
brA=br-${idA:0:12}
check "bridge $brA has the gateway" ip -o addr show dev "$brA"
like "gateway address" "$OUT" "inet $GA/24"
like "MASQUERADE for $NA" "$(iptables -t nat -S)" "-A BERTH-POSTROUTING -s $SA ! -o $brA .*-j MASQUERADE"
idI=$(b network inspect -f '{{.Id}}' "$NI")
if iptables -t nat -S | grep -q -- "-s $SI "; then notok "internal network has no MASQUERADE"; else ok "internal network has no MASQUERADE"; fi

# ---- names, aliases, round-robin ----
check "run -d s1 on $NA" run_d --name s1$$ --network "$NA" --network-alias svc$$ busybox sleep 300
check "run -d s2 on $NA" run_d --name s2$$ --network "$NA" --network-alias svc$$ busybox sleep 300
ip1=$(b exec s1$$ sh -c "ip -o -4 addr show eth0 | awk '{print \$4}' | cut -d/ -f1")
ip2=$(b exec s2$$ sh -c "ip -o -4 addr show eth0 | awk '{print \$4}' | cut -d/ -f1")
like "s1 has an address of $SA" "$ip1" "^10\.201\.$k\.[0-9]+$"
[ "$ip1" != "$ip2" ] && ok "distinct addresses" || notok "distinct addresses ($ip1 $ip2)"
is "resolv.conf points at the gateway" "$(b exec s1$$ cat /etc/resolv.conf | grep nameserver)" "nameserver $GA"
like "/etc/hosts has the own name" "$(b exec s1$$ cat /etc/hosts)" "^$ip1	[0-9a-f]{12} s1$$"
check "ping s2 by name from s1" b exec s1$$ ping -c1 -W2 s2$$
check "a new container reaches s1 by name" b run --rm --network "$NA" busybox ping -c1 -W2 s1$$
check "nslookup alias" b run --rm --network "$NA" busybox nslookup svc$$ "$GA"
like "alias has both addresses (1)" "$OUT" "Address: $ip1"
like "alias has both addresses (2)" "$OUT" "Address: $ip2"
# names appear quickly
t0=$(now_ms)
run_d --name s3$$ --network "$NA" busybox sleep 300 >/dev/null
check "s3 resolvable right after run -d" b exec s1$$ nslookup s3$$ "$GA"
t1=$(now_ms)

# ---- isolation ----
check "a container on $NB cannot reach s1" b run --rm --network "$NB" busybox sh -c "! ping -c1 -W1 $ip1"
check "s1's name is unknown on $NB" b run --rm --network "$NB" busybox sh -c "! nslookup s1$$"
check "internal network: no egress route" b run --rm --network "$NI" busybox sh -c "! ip route | grep -q default"

# ---- default bridge (what run uses without --network) ----
check "default bridge gives an address" b run --rm --name d1$$ busybox sh -c \
	"ip -o -4 addr show eth0 && cat /etc/hosts && ! nslookup s1$$ >/dev/null 2>&1"
like "default bridge address (berth's pool 10.80.0.0/14)" "$OUT" 'inet 10\.8[0-3]\.[0-9]+\.[0-9]+/20'
like "default bridge /etc/hosts has the own name (hostname only, as Docker)" "$OUT" "^10\.8[0-3]\.[0-9.]+	[0-9a-f]{12}$"
brD=$(b network inspect -f '{{json .Options}}' bridge | grep -oE 'berth[0-9a-f]*')
like "this store's default bridge has a name of its own" "$brD" '^berth[0-9a-f]{8}$'
check "the default bridge stays after its last container (as docker0)" ip -o link show "$brD"
like "  with its masquerade rule" "$(iptables -t nat -S)" "-A BERTH-POSTROUTING -s 10\.8[0-3]\.[0-9.]+/20 ! -o $brD .*-j MASQUERADE"

# ---- 20 at once: distinct addresses ----
pids=()
for i in $(seq 1 20); do
	b run -d --network "$NB" --name m$i-$$ busybox sleep 300 >"$T_DIR/m$i" 2>&1 &
	pids+=($!)
done
okc=0
for p in "${pids[@]}"; do wait "$p" && okc=$((okc + 1)); done
is "20 concurrent run -d succeeded" "$okc" 20
cat "$T_DIR"/m* | grep -E '^[0-9a-f]{64}$' >>"$T_DIR/ids"
addrs=$(b network inspect -f '{{json .Containers}}' "$NB" | grep -oE '"IPv4Address":"[^"]*"' | sort)
is "20 endpoints" "$(wc -l <<<"$addrs")" 20
is "20 distinct addresses" "$(sort -u <<<"$addrs" | wc -l)" 20
fails "rm of a network in use" 'active endpoints' b network rm "$NB"

# ---- DNS process recovery ----
idA_run="$RUNROOT/networks/$idA"
dpid=$(cut -d' ' -f1 "$idA_run/dns.pid" 2>/dev/null)
[ -n "$dpid" ] && alive "$dpid" && ok "DNS process runs" || notok "DNS process runs"
kill -9 "$dpid" 2>/dev/null
wait_until 2 sh -c "! kill -0 $dpid 2>/dev/null || grep -q ' Z ' /proc/$dpid/stat"
check "the next start restarts DNS" b run --rm --network "$NA" busybox nslookup s1$$ "$GA"
dpid2=$(cut -d' ' -f1 "$idA_run/dns.pid" 2>/dev/null)
[ -n "$dpid2" ] && [ "$dpid2" != "$dpid" ] && alive "$dpid2" && ok "new DNS process" || notok "new DNS process ($dpid -> $dpid2)"

# ---- cleanup ----
# shellcheck disable=SC2046
b rm -f $(b ps -aq) >/dev/null
check "network rm" b network rm "$NA" "$NB"
check "network prune" b network prune -f
like "prune removed $NI" "$OUT" "$NI"
is "network ls: only the default" "$(b network ls --format '{{.Name}}')" bridge
[ -n "$dpid2" ] && ! alive "$dpid2" && ok "DNS process gone" || notok "DNS process gone"
BRS="$BRS|$brD"
# (network prune gave back the idle default bridge and its rules as well)
is "no veth, bridge, address or rule left" "$(ours | grep -v -E '^-N BERTH|^-A [A-Z]+ (-m addrtype --dst-type LOCAL )?-j BERTH-')" ""
idD=$(b network inspect -f '{{.Id}}' bridge)
is "no state left" "$(ls "$RUNROOT/networks" 2>/dev/null | grep -v "$idD"; ls "$ROOT/networks" | grep -v -E "^bridge\.json$|^ipam-$idD")" ""
echo "# timings: names visible after run -d: $((t1 - t0)) ms (incl. exec)"
t_done
