#!/usr/bin/env bash
# network connect / disconnect (running and stopped containers), container
# inspect's NetworkSettings, the default network of run without --network,
# two stores on one host (own default bridges, no shared subnet), bad input.
# Only local addresses; explicit subnets derived from the pid within 10.203.0.0/16.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
command -v iptables >/dev/null || skip_all "iptables missing"
[ "$(id -u)" = 0 ] || skip_all "needs root"
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

ROOT2=$T_DIR/root2
b2() { "$BERTH" --root "$ROOT2" --runroot "$T_DIR/run2" "$@"; }
net_cleanup() {
	local n ids
	for n in $(b network ls --format '{{.Name}}' 2>/dev/null); do
		[ "$n" = bridge ] || b network rm "$n" >/dev/null 2>&1
	done
	ids=$(b2 ps -aq 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || b2 rm -f $ids >/dev/null 2>&1
	[ -d "$ROOT2" ] && b2 network prune -f >/dev/null 2>&1
	return 0
}
trap 'ctr_cleanup; net_cleanup; t_cleanup' EXIT

k=$(( ($$ % 120) * 2 ))
SC=10.203.$k.0/24 GC=10.203.$k.1
NC=tcc$$ ND=tcd$$
host_state() {
	{ ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
	  ip -o addr show | awk '{print $2, $4}' | sort
	  iptables -t nat -S; iptables -S; } 2>/dev/null
}
BRS='^$'
ours() { host_state | grep -E "10\.203\.($k|$((k + 1)))\.|$BRS" || true; }
dflt_br() { "$@" network inspect -f '{{json .Options}}' bridge | grep -oE 'berth[0-9a-f]*'; }

check "create $NC" b network create --subnet "$SC" "$NC"
check "create $ND (pool subnet)" b network create "$ND"
for n in "$NC" "$ND"; do
	nid=$(b network inspect -f '{{.Id}}' "$n" 2>/dev/null)
	[ -n "$nid" ] && BRS="$BRS|br-${nid:0:12}"
done
like "pool subnet is berth's (10.84.0.0/14)" "$(b network inspect -f '{{json .IPAM.Config}}' "$ND")" '"Subnet":"10\.8[4-7]\.[0-9]+\.0/24"'
sub_d=$(b network inspect -f '{{json .IPAM.Config}}' "$ND" | grep -oE '10\.[0-9.]+/24')

# ---- run without --network: the default bridge ----
a=$(run_d --name a$$ busybox sleep 300) || notok "run -d a"
is "HostConfig.NetworkMode" "$(b inspect -f '{{.HostConfig.NetworkMode}}' a$$)" default
ipa=$(b inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' a$$)
like "Networks.bridge.IPAddress" "$ipa" '^10\.8[0-3]\.[0-9]+\.[0-9]+$'
is "top-level IPAddress" "$(b inspect -f '{{.NetworkSettings.IPAddress}}' a$$)" "$ipa"
like "MacAddress from the address" "$(b inspect -f '{{.NetworkSettings.Networks.bridge.MacAddress}}' a$$)" '^02:42:0a:5[0-3]:'
like "SandboxKey" "$(b inspect -f '{{.NetworkSettings.SandboxKey}}' a$$)" '^/proc/[0-9]+/ns/net$'
is "eth0 has it" "$(b exec a$$ sh -c "ip -o -4 addr show eth0 | awk '{print \$4}' | cut -d/ -f1")" "$ipa"
brD=$(dflt_br b)
BRS="$BRS|$brD"

# ---- two stores: each its own default bridge and subnet ----
b2 import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null
check "second store: run on its default network" b2 run -d --name z$$ busybox sleep 300
brD2=$(dflt_br b2)
[ -n "$brD2" ] && [ "$brD2" != "$brD" ] && ok "stores have distinct default bridges" || notok "distinct default bridges ($brD $brD2)"
s1=$(b network inspect -f '{{json .IPAM.Config}}' bridge | grep -oE '10\.[0-9.]+/20')
s2=$(b2 network inspect -f '{{json .IPAM.Config}}' bridge | grep -oE '10\.[0-9.]+/20')
[ -n "$s1" ] && [ "$s1" != "$s2" ] && ok "stores have distinct default subnets ($s1, $s2)" || notok "distinct default subnets ($s1 $s2)"
b2 rm -f z$$ >/dev/null
check "second store's bridge stays after its container (as docker0)" ip -o link show "$brD2"
check "network prune of the second store" b2 network prune -f
is "  gave its idle default bridge back" "$(ip -o link show "$brD2" 2>/dev/null)" ""

# ---- connect / disconnect a running container ----
c=$(run_d --name c$$ --network "$NC" busybox sleep 300) || notok "run -d c"
check "connect --alias --ip" b network connect --alias al$$ --ip 10.203.$k.77 "$NC" a$$
is "eth1 in a" "$(b exec a$$ sh -c "ip -o -4 addr show eth1 | awk '{print \$4}'")" "10.203.$k.77/24"
is "Networks.$NC.IPAddress" "$(b inspect -f "{{.NetworkSettings.Networks.$NC.IPAddress}}" a$$)" 10.203.$k.77
is "Networks.$NC.Gateway" "$(b inspect -f "{{.NetworkSettings.Networks.$NC.Gateway}}" a$$)" "$GC"
like "Networks.$NC.Aliases" "$(b inspect -f "{{json .NetworkSettings.Networks.$NC.Aliases}}" a$$)" "\"al$$\""
check "c reaches a by its alias" b exec c$$ ping -c1 -W2 al$$
check "c reaches a by name" b exec c$$ ping -c1 -W2 a$$
like "network inspect lists a" "$(b network inspect -f '{{json .Containers}}' "$NC")" "\"Name\":\"a$$\""
fails "connect twice" "endpoint with name a$$ already exists in network $NC" b network connect "$NC" a$$
fails "connect: unknown network" "network nosuch$$ not found" b network connect nosuch$$ a$$
fails "connect: missing container" "No such container: nosuch$$" b network connect "$NC" nosuch$$
# Docker looks up the container first
fails "connect: missing container and network" "No such container: nosuch$$" b network connect nosuch$$ nosuch$$
fails "disconnect: missing container and network" "No such container: nosuch$$" b network disconnect nosuch$$ nosuch$$
fails "connect: usage" '^"berth network connect" requires exactly 2 arguments\.$' b network connect "$NC"
fails "connect: address outside the subnet" "not in the subnet" b network connect --ip 10.9.9.9 "$ND" a$$
run_d --name x$$ --network none busybox sleep 300 >/dev/null
fails "connect: --network none container" "cannot be connected" b network connect "$NC" x$$
run_d --name y$$ busybox sleep 300 >/dev/null
fails "connect: address in use" "Address already in use" b network connect --ip 10.203.$k.77 "$NC" y$$
is "... y unchanged" "$(b exec y$$ ip -o link show eth1 2>/dev/null)" ""
fails "disconnect: not a member" "container a$$ is not connected to network $ND" b network disconnect "$ND" a$$
check "disconnect -f: not a member is fine" b network disconnect -f "$ND" a$$
check "disconnect" b network disconnect "$NC" a$$
is "eth1 gone" "$(b exec a$$ ip -o link show eth1 2>/dev/null)" ""
check "a's name no longer resolves on $NC" b exec c$$ sh -c "! nslookup a$$ $GC >/dev/null 2>&1"
is "Networks after disconnect" "$(b inspect -f '{{json .NetworkSettings.Networks}}' a$$ | grep -oE '"(bridge|'"$NC"')"' | tr '\n' ' ')" '"bridge" '
is "no address of $NC left on the host side" "$(b network inspect -f '{{json .Containers}}' "$NC" | grep -c "a$$")" 0

# ---- stopped containers: the change applies at the next start ----
check "create s (stopped)" b create --name s$$ --network none busybox sleep 300
fails "connect a --network none container" 'cannot be connected' b network connect "$NC" s$$
check "create t (stopped)" b create --name t$$ --network "$NC" busybox sleep 300
echo "$(b inspect -f '{{.Id}}' t$$)" >>"$T_DIR/ids"
check "connect a stopped container" b network connect "$ND" t$$
check "disconnect a stopped container from its first network" b network disconnect "$NC" t$$
check "start" b start t$$
is "t has only $ND, as eth0" "$(b exec t$$ sh -c "ip -o -4 addr | awk '\$2 != \"lo\" {print \$2}'")" eth0
like "t's address is of $ND" "$(b inspect -f "{{.NetworkSettings.Networks.$ND.IPAddress}}" t$$)" "^${sub_d%.0/24}\."
is "t's resolv.conf: $ND's DNS" "$(b exec t$$ grep nameserver /etc/resolv.conf)" "nameserver ${sub_d%.0/24}.1"

# ---- subnets: overlapping, and one already routed on the host ----
fails "overlapping subnet" 'overlaps' b network create --subnet "10.203.$k.128/25" ovl$$
hostsub=$(ip -o -4 route | awk '$1 ~ /\// && $1 !~ /^10\.(8[0-7]|203)\./ {print $1; exit}')
if [ -n "$hostsub" ]; then
	fails "subnet routed on the host" "overlaps the route" b network create --subnet "$hostsub" hst$$
else
	skip "no host route to collide with"
fi

# ---- cleanup: nothing left ----
# shellcheck disable=SC2046
b rm -f $(b ps -aq) >/dev/null
check "default bridge stays after the last container" ip -o link show "$brD"
check "network rm" b network rm "$NC" "$ND"
check "network prune gives the idle default bridge back" b network prune -f
is "no veth, bridge, address or rule left" "$(ours | grep -v -E '^-N BERTH|^-A [A-Z]+ (-m addrtype --dst-type LOCAL )?-j BERTH-')" ""
t_done
