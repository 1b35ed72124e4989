#!/usr/bin/env bash
# Several berth nodes in one cluster (issue 15): `berth kube cluster up` on
# this machine plus two berth nodes, each a separate "host": its own network
# namespace with its own address on a test bridge (veth pairs), its own
# --root/--runroot and cgroup parent, joined with the command `kube cluster
# token create --print-join-command` prints (bootstrap token, CA pin, CSR).
# A Deployment of 6 spreads over the three nodes; pods reach pods of every
# node by their own addresses (host-gw routes, no masquerade), a ClusterIP
# and its name reach pods of all three, and the kubernetes Service the
# apiserver; cordon + drain empties a node; a node cut off (its veth down)
# goes NotReady, its pods are evicted after their toleration and start on the
# others while the Service answers from those only; back up it is Ready again
# and stops what was evicted; an agent restarted with the same join command
# reuses its credentials and keeps its pods. Bad join input fails clearly and
# leaves nothing.
#
# Each node runs as `ip netns exec NS berth ... kube node join ...`. What a
# node needs per "host" besides its netns: its own store and run root (the
# node's lock, its network's leases), BERTH_CGROUP_PARENT (its pods' cgroups
# apart from the other nodes'), and BERTH_CGROUP_MOUNT: `ip netns exec`
# mounts a fresh /sys for the namespace, which hides /sys/fs/cgroup, so the
# host's cgroup tree is bind-mounted under the test dir first. The kubelet
# API keeps its port 10250 (a port space per netns); the host-wide locks
# under /run (iptables, network subnets) are shared, which only serializes.
. "$(dirname "$0")/../lib.sh"
need_fixtures
[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces)"
for t in ip ss iptables-save; do command -v $t >/dev/null || skip_all "no $t"; done
KBIN=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
for x in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	[ -x "$KBIN/$x" ] || skip_all "no $KBIN/$x (scripts/k8s-binaries.sh builds them)"
done
export KUBECONFIG=$T_DIR/kubeconfig
kc() { "$KBIN/kubectl" --request-timeout=20s "$@"; }
CL=t0756
ID=$(($$ % 100000))
BR=b756-$ID          # the test's "switch" (not br-*: berth's isolation rules match those)
NODES="a b"
SUBNET=
for i in $(seq 200 250); do
	ip route | grep -q "^10\.$i\." || { SUBNET=10.$i.0; break; }
done
[ -n "$SUBNET" ] || skip_all "no free 10.N.0.0/24 for the test bridge"
CG=$T_DIR/cgroup
PIDS=()
UNKNOWN=
# the apiserver's port: the first free one of 16756-16799
API_PORT=
for p in $(seq 16756 16799); do
	ss -Htln "sport = :$p" | grep -q . || { API_PORT=$p; break; }
done
[ -n "$API_PORT" ] || skip_all "no free port in 16756-16799 for the apiserver"

ns() { echo "t756$1-$ID"; }
nname() { echo "t756$1"; }
nroot() { echo "$T_DIR/node-$1"; }
# berth as node $1's host: its netns, store, run root and cgroups
nb() {
	local n=$1
	shift
	ip netns exec "$(ns "$n")" env BERTH_CGROUP_MOUNT="$CG" BERTH_CGROUP_PARENT="berth-t756$n-$ID" \
		"$BERTH" --root "$(nroot "$n")/root" --runroot "$(nroot "$n")/run" "$@"
}

mn_cleanup() {
	# a node cut off when the test stopped: reconnected, so that it stops promptly
	for n in $NODES; do ip link set "v756$n$ID" up 2>/dev/null; done
	for p in "${PIDS[@]}" $UNKNOWN; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}" $UNKNOWN; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	for n in $NODES; do
		if ip netns list | grep -q "^$(ns "$n")\b"; then
			[ -d "$(nroot "$n")/root/kube-node" ] && nb "$n" kube node --cleanup --name "$(nname "$n")" >/dev/null
			# whatever is still in the "host" (nothing when --cleanup did its work)
			for p in $(ip netns pids "$(ns "$n")"); do
				echo "# left in $(ns "$n"): $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-100)"
				kill -9 "$p"
			done
			ip netns del "$(ns "$n")"
		fi
	done
	b kube cluster down --name "$CL" >/dev/null 2>&1
	iptables -D FORWARD -i "$BR" -o "$BR" -j ACCEPT 2>/dev/null
	ip link del "$BR" 2>/dev/null
	mountpoint -q "$CG" && umount -R "$CG"
	local cgs="" left=""
	for n in $NODES; do
		for d in /sys/fs/cgroup/*/"berth-t756$n-$ID" /sys/fs/cgroup/unified/"berth-t756$n-$ID"; do
			[ -d "$d" ] && cgs="$cgs $d"
		done
	done
	# (pods' processes that --cleanup did not stop)
	[ -n "$cgs" ] && left=$(find $cgs -name cgroup.procs -exec cat {} + | sort -u)
	for p in $left; do
		echo "# left in the nodes' cgroups: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-100)"
		kill -9 "$p"
	done
	[ -n "$left" ] && sleep 1
	for d in $cgs; do find "$d" -depth -type d -exec rmdir {} \; ; done
	t_cleanup
}
trap mn_cleanup EXIT

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---- the "hosts": a bridge in this netns, a netns per node behind a veth ----
ip link add "$BR" type bridge && ip addr add "$SUBNET.1/24" dev "$BR" && ip link set "$BR" up ||
	{ notok "test bridge $BR"; t_done; }
# (bridged frames pass the host's FORWARD chain with br_netfilter)
iptables -I FORWARD -i "$BR" -o "$BR" -j ACCEPT
k=2
for n in $NODES; do
	N=$(ns "$n")
	ip netns add "$N" && ip link add "v756$n$ID" type veth peer name eth0 netns "$N" &&
		ip link set "v756$n$ID" master "$BR" up && ip -n "$N" addr add "$SUBNET.$k/24" dev eth0 &&
		ip -n "$N" link set eth0 up && ip -n "$N" link set lo up && ip -n "$N" route add default via "$SUBNET.1" ||
		{ notok "netns $N"; t_done; }
	mkdir -p "$(nroot "$n")"
	k=$((k + 1))
done
mkdir -p "$CG" && mount --rbind /sys/fs/cgroup "$CG" && mount --make-rslave "$CG" || { notok "cgroup bind mount"; t_done; }
ok "two hosts: netns $(ns a) ($SUBNET.2) and $(ns b) ($SUBNET.3) on bridge $BR"

fails "a --node-monitor-grace-period below the Lease's 10 s" 'invalid --node-monitor-grace-period "5s": a duration from 15s' \
	b kube cluster up --name "$CL" --node-monitor-grace-period 5s
fails "--node-monitor-grace-period on down" '--node-monitor-grace-period is an option of up only' \
	b kube cluster down --name "$CL" --node-monitor-grace-period 20s
t0=$(date +%s%N)
check "cluster up (node-monitor-grace-period 20s)" b kube cluster up --name "$CL" --api-port "$API_PORT" --node-monitor-grace-period 20s
echo "# cluster up: $(ms "$t0") ms"
HOSTNODE=$(kc get nodes -o jsonpath='{.items[0].metadata.name}')
CCIDR=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clusterCIDR"])' "$ROOT/kube-clusters/$CL/cluster.json")
like "the cluster's pod range is a /16 of 10.112.0.0/12" "$CCIDR" '^10\.(11[2-9]|12[0-7])\.0\.0/16$'
like "the host's node got a podCIDR from it" "$(kc get node "$HOSTNODE" -o jsonpath='{.spec.podCIDR}')" "^${CCIDR%.0.0/16}\.[0-9]+\.0/24$"
for r in "$ROOT" "$(nroot a)/root" "$(nroot b)/root"; do
	"$BERTH" --root "$r" --runroot "${r%/root}/run" import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:1.36 >/dev/null ||
		notok "import busybox into $r"
done

# ---- bad input to join: clear errors, nothing left ----
JOIN=$(b kube cluster token create --name "$CL" --print-join-command)
like "token create --print-join-command" "$JOIN" '^berth kube node join --server https://[0-9.]+:[0-9]+ --token [a-z0-9]{6}\.[a-z0-9]{16} --ca-cert-hash sha256:[0-9a-f]{64}$'
read -r _ _ _ _ _ SERVER _ TOKEN _ HASH <<<"$JOIN"
like "token list shows it" "$(b kube cluster token list --name "$CL")" "^${TOKEN} +23h +.* +authentication,signing"
left_nothing() {
	local what=$1 n=$2
	local left
	left=$(ls -d "$(nroot "$n")/root/kube-node" "$(nroot "$n")/run/kube-node" 2>/dev/null)
	if [ -z "$left" ] && ! kc get node "$(nname "$n")" >/dev/null 2>&1; then ok "$what: nothing left"; else notok "$what: left $left"; fi
}
fails "join: a wrong token secret" 'signature for token ID [a-z0-9]{6} \(a wrong token secret\?\): the signature does not verify' \
	nb a kube node join --server "$SERVER" --token "${TOKEN%.*}.0000000000000000" --ca-cert-hash "$HASH" --name "$(nname a)"
left_nothing "a wrong token secret" a
fails "join: a wrong --ca-cert-hash" 'the cluster.s CA has public key hash sha256:[0-9a-f]{64}, not the --ca-cert-hash sha256:0{64}' \
	nb a kube node join --server "$SERVER" --token "$TOKEN" --ca-cert-hash "sha256:$(printf '0%.0s' $(seq 64))" --name "$(nname a)"
left_nothing "a wrong --ca-cert-hash" a
fails "join: an unreachable server" "https://$SUBNET.1:1: (connection refused|cannot connect)" \
	nb a kube node join --server "https://$SUBNET.1:1" --token "$TOKEN" --ca-cert-hash "$HASH" --name "$(nname a)"
left_nothing "an unreachable server" a
fails "join: a malformed token" 'invalid --token "nope"' nb a kube node join --server "$SERVER" --token nope --ca-cert-hash "$HASH"
fails "join: a malformed pin" 'invalid --ca-cert-hash "abc"' nb a kube node join --server "$SERVER" --token "$TOKEN" --ca-cert-hash abc
fails "join: incomplete flags" 'join needs --server URL, --token' nb a kube node join --server "$SERVER"
fails "join: a Ready node's name" "a Node named \"$HOSTNODE\" is Ready in the cluster already" \
	nb a kube node join --server "$SERVER" --token "$TOKEN" --ca-cert-hash "$HASH" --name "$HOSTNODE"
left_nothing "a name in use" a
# a token the cluster does not know: discovery waits 10 s for its signature (in the background meanwhile)
nb b kube node join --server "$SERVER" --token "zzzzzz.0123456789abcdef" --ca-cert-hash "$HASH" --name "$(nname b)" \
	>"$T_DIR/unknown-token.out" 2>&1 &
UNKNOWN=$!

# ---- join two nodes ----
t0=$(date +%s%N)
for n in $NODES; do
	# (ip netns exec and env exec: the pid is the node agent's)
	ip netns exec "$(ns "$n")" env BERTH_CGROUP_MOUNT="$CG" BERTH_CGROUP_PARENT="berth-t756$n-$ID" \
		"$BERTH" --root "$(nroot "$n")/root" --runroot "$(nroot "$n")/run" ${JOIN#berth } --name "$(nname "$n")" \
		>"$T_DIR/node-$n.log" 2>&1 &
	PIDS+=($!)
done
ready_nodes() { [ "$(kc get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = 3 ]; }
if wait_for 60 ready_nodes; then
	ok "both nodes joined and are Ready ($(ms "$t0") ms)"
else
	notok "both nodes joined and are Ready"; kc get nodes -o wide | sed 's/^/#   /'; tail -5 "$T_DIR"/node-*.log | sed 's/^/#   /'
fi
wait "$UNKNOWN"
UNKNOWN=
like "join: an unknown token ID (after 10 s)" "$(cat "$T_DIR/unknown-token.out")" 'the cluster does not know token ID "zzzzzz"'
like "join: the bootstrap's steps" "$(cat "$T_DIR/node-a.log")" 'CertificateSigningRequest node-csr-[a-z0-9]+ approved and signed'
is "the CSR was approved for the bootstrap user" \
	"$(kc get csr -o jsonpath="{range .items[?(@.spec.username==\"system:bootstrap:${TOKEN%.*}\")]}{.status.conditions[0].type}{\"\n\"}{end}" | sort -u)" Approved
like "the node's credentials are system:node:$(nname a)" "$(grep -c client-certificate-data "$(nroot a)/root/kube-node/$(nname a)/kubeconfig")" '^1$'
is "its kubeconfig is 0600" "$(stat -c %a "$(nroot a)/root/kube-node/$(nname a)/kubeconfig")" 600
for n in $NODES; do
	like "node $(nname "$n"): InternalIP on the test bridge" \
		"$(kc get node "$(nname "$n")" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')" "^$SUBNET\.[23]$"
	like "node $(nname "$n"): a podCIDR of the cluster's range" "$(kc get node "$(nname "$n")" -o jsonpath='{.spec.podCIDR}')" \
		"^${CCIDR%.0.0/16}\.[0-9]+\.0/24$"
done
routes_of() { ip -n "$(ns "$1")" route show proto 98; }
rt_ok() { [ "$(routes_of a | wc -l)" = 2 ] && [ "$(routes_of b | wc -l)" = 2 ] && [ "$(ip route show proto 98 | grep -c "via $SUBNET")" = 2 ]; }
if wait_for 20 rt_ok; then
	ok "every node routes the other two nodes' podCIDRs"
else
	notok "routes: $(routes_of a; routes_of b; ip route show proto 98)"
fi
CIDR_B=$(kc get node "$(nname b)" -o jsonpath='{.spec.podCIDR}')
like "node a: node b's podCIDR via b's address" "$(routes_of a)" "^$CIDR_B via $SUBNET.3 dev eth0"
like "the host: node b's podCIDR via b's address" "$(ip route show proto 98)" "$CIDR_B via $SUBNET.3 dev $BR"

# ---- a Deployment of 6 over the three nodes ----
cat >"$T_DIR/web.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      # evicted 2 s after its node is unreachable (the default is 300 s)
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers:
      - name: web
        image: busybox:1.36
        imagePullPolicy: Never
        # /host: the pod's name; /cgi-bin/ip: the address the client came from
        command: ["sh", "-c", "mkdir -p /w/cgi-bin; hostname > /w/host; printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n' > /w/cgi-bin/ip; chmod +x /w/cgi-bin/ip; exec httpd -f -p 8080 -h /w"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
EOF
t0=$(date +%s%N)
check "kubectl apply: a Deployment of 6 and its Service" kc apply -f "$T_DIR/web.yaml"
check "rollout status" kc rollout status deploy/web --timeout=90s
echo "# 6 pods Ready on 3 nodes: $(ms "$t0") ms"
placement() { kc get pods -l app=web --field-selector=status.phase=Running -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | uniq -c; }
PL=$(placement)
echo "# placement: $(echo $PL)"
for nd in "$HOSTNODE" "$(nname a)" "$(nname b)"; do
	like "the scheduler put pods on $nd" "$PL" " $nd$"
done
# pod name, IP and container of one Running pod on a node
pod_on() { kc get pods -l app=web --field-selector=status.phase=Running -o jsonpath="{range .items[?(@.spec.nodeName==\"$1\")]}{.metadata.name} {.status.podIP} {.status.containerStatuses[0].containerID}{\"\n\"}{end}" | head -1; }
# pexec NODE(host|a|b) CONTAINER CMD...: a command in a pod's container on its node
pexec() {
	local n=$1 c=${2#berth://}
	shift 2
	if [ "$n" = host ]; then b exec "$c" "$@"; else nb "$n" exec "$c" "$@"; fi
}
declare -A PN PIP PC
for key in host a b; do
	nd=$HOSTNODE
	[ "$key" = host ] || nd=$(nname "$key")
	read -r PN[$key] PIP[$key] PC[$key] <<<"$(pod_on "$nd")"
done
for from in host a b; do
	for to in host a b; do
		[ "$from" = "$to" ] && continue
		got=$(pexec "$from" "${PC[$from]}" sh -c "printf 'GET /host HTTP/1.0\r\n\r\n' | nc -w 3 ${PIP[$to]} 8080 | tail -1" 2>&1)
		is "a pod on $from reaches ${PN[$to]} on $to at ${PIP[$to]}" "$got" "${PN[$to]}"
	done
done
got=$(pexec a "${PC[a]}" sh -c "printf 'GET /cgi-bin/ip HTTP/1.0\r\n\r\n' | nc -w 3 ${PIP[b]} 8080 | tail -1" 2>&1)
like "the pod on b sees the client pod's own address (no masquerade)" "$got" "(^|:)${PIP[a]}\]?$"
got=$(pexec host "${PC[host]}" sh -c "printf 'GET /cgi-bin/ip HTTP/1.0\r\n\r\n' | nc -w 3 ${PIP[a]} 8080 | tail -1" 2>&1)
like "and so does the pod on a, from the host's node" "$got" "(^|:)${PIP[host]}\]?$"

# ---- the Service: by ClusterIP and by name, endpoints on every node ----
CIP=$(kc get svc web -o jsonpath='{.spec.clusterIP}')
# svc_nodes NODE TARGET SECONDS: how many nodes the pods that answer at
# TARGET:80 from a pod on NODE run on, asking until all 3 answered (the node's
# rules follow the EndpointSlices) or SECONDS passed; the pods in $SEEN
svc_nodes() {
	local from=$1 to=$2 end=$(($(date +%s) + $3)) got nn=0 where
	where=$(kc get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName}{"\n"}{end}')
	SEEN=
	while [ "$(date +%s)" -lt "$end" ]; do
		got=$(pexec "$from" "${PC[$from]}" sh -c "printf 'GET /host HTTP/1.0\r\n\r\n' | nc -w 2 $to 80 | tail -1" 2>&1)
		case " $SEEN " in *" $got "*) ;; *) [ -n "$got" ] && SEEN="$SEEN $got" ;; esac
		nn=$(for p in $SEEN; do awk -v p="$p" '$1 == p {print $2}' <<<"$where"; done | sort -u | grep -c .)
		[ "$nn" = 3 ] && break
	done
	echo "$nn"
}
is "the ClusterIP $CIP from a pod on a reaches pods of all 3 nodes" "$(svc_nodes a "$CIP" 30)" 3
is "web.default.svc.cluster.local from a pod on b reaches pods of all 3 nodes" "$(svc_nodes b web.default.svc.cluster.local 30)" 3
# the kubernetes Service: the apiserver on the host, from a joined node's pod
# (plain HTTP to its TLS port: Go's server answers 400 and says so)
KIP=$(kc get svc kubernetes -o jsonpath='{.spec.clusterIP}')
got=$(pexec a "${PC[a]}" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 $KIP 443" 2>&1)
like "the kubernetes Service ($KIP:443) from a pod on a: the apiserver" "$got" 'Client sent an HTTP request to an HTTPS server'

# ---- cordon + drain ----
check "kubectl cordon $(nname b)" kc cordon "$(nname b)"
like "it is SchedulingDisabled" "$(kc get node "$(nname b)")" 'Ready,SchedulingDisabled'
t0=$(date +%s%N)
check "kubectl drain $(nname b)" kc drain "$(nname b)" --ignore-daemonsets --delete-emptydir-data --timeout=90s
echo "# drain: $(ms "$t0") ms"
on_b() { kc get pods -l app=web -o jsonpath="{range .items[?(@.spec.nodeName==\"$(nname b)\")]}{.metadata.name}{\"\n\"}{end}" | grep -c .; }
is "no pod of web is bound to $(nname b)" "$(on_b)" 0
empty_b() { [ "$(nb b ps -q --filter label=io.kubernetes.container.name=web | wc -l)" = 0 ]; }
wait_for 20 empty_b && ok "and its containers are gone from that host" || notok "containers left on b: $(nb b ps 2>&1)"
running() { [ "$(kc get pods -l app=web --field-selector=status.phase=Running -o name | wc -l)" = 6 ] &&
	[ "$(kc get deploy web -o jsonpath='{.status.readyReplicas}')" = 6 ]; }
wait_for 60 running && ok "6 pods run on the other nodes" || notok "after drain: $(placement)"
check "kubectl uncordon $(nname b)" kc uncordon "$(nname b)"

# ---- a node cut off, evicted, back ----
# (node a kept the pods it had and got some of b's)
echo "# placement: $(echo $(placement))"
ON_A=$(kc get pods -l app=web -o jsonpath="{range .items[?(@.spec.nodeName==\"$(nname a)\")]}{.metadata.name}{\"\n\"}{end}")
if [ -z "$ON_A" ]; then
	skip "node a has no pod of web after the restart: nothing to evict"
fi
t0=$(date +%s%N)
check "cut $(nname a) off (its veth down)" ip link set "v756a$ID" down
notready() { [ "$(kc get node "$(nname a)" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = Unknown ]; }
if wait_for 60 notready; then
	ok "$(nname a) is NotReady (Unknown) after $(ms "$t0") ms"
else
	notok "$(nname a) is NotReady: $(kc get nodes 2>&1)"
fi
like "kubectl get nodes: NotReady" "$(kc get node "$(nname a)")" "$(nname a) +NotReady"
# (the controller-manager's taint pass follows the condition)
tainted() { kc get node "$(nname a)" -o jsonpath='{.spec.taints[*].key}' | grep -q 'node.kubernetes.io/unreachable'; }
wait_for 20 tainted && ok "tainted node.kubernetes.io/unreachable" || notok "tainted: $(kc get node "$(nname a)" -o jsonpath='{.spec.taints}')"
rt_gone() { ! routes_of b | grep -q "via $SUBNET.2"; }
wait_for 20 rt_gone && ok "node b removed its route to the NotReady node" || notok "b's routes: $(routes_of b)"
moved() {
	local p
	for p in $ON_A; do
		[ -n "$(kc get pod "$p" -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null)" ] || return 1
	done
	[ "$(kc get pods -l app=web --field-selector=status.phase=Running -o jsonpath="{range .items[?(@.spec.nodeName!=\"$(nname a)\")]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\n\"}{end}" | grep -c True)" -ge 6 ]
}
if [ -n "$ON_A" ] && wait_for 60 moved; then
	ok "its pods were evicted and 6 run on the other nodes ($(ms "$t0") ms after the cut)"
else
	[ -n "$ON_A" ] && { notok "evicted and moved: $(kc get pods -o wide 2>&1)"; }
fi
# the Service meanwhile: 12 answers in a row, all from pods of the nodes
# still there (the cut node's pods left the EndpointSlice as not ready)
svc_without_a() {
	local i got where
	where=$(kc get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName}{"\n"}{end}')
	for i in $(seq 12); do
		got=$(pexec host "${PC[host]}" sh -c "printf 'GET /host HTTP/1.0\r\n\r\n' | nc -w 2 $CIP 80 | tail -1" 2>&1)
		awk -v p="$got" -v a="$(nname a)" '$1 == p && $2 != a {f = 1} END {exit !f}' <<<"$where" ||
			{ echo "answer $i: \"$got\""; return 1; }
	done
}
if wait_for 20 svc_without_a; then
	ok "meanwhile the ClusterIP answers only from pods of the other nodes"
else
	notok "the ClusterIP while $(nname a) is cut off: $OUT"
fi
t0=$(date +%s%N)
check "$(nname a) back (veth up)" ip link set "v756a$ID" up
ready_a() { [ "$(kc get node "$(nname a)" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
if wait_for 60 ready_a; then
	ok "$(nname a) is Ready again after $(ms "$t0") ms"
else
	notok "$(nname a) Ready again: $(kc get node "$(nname a)" 2>&1)"
fi
gone_a() {
	local p
	for p in $ON_A; do kc get pod "$p" >/dev/null 2>&1 && return 1; done
	[ "$(nb a ps -q --filter label=io.kubernetes.container.name=web | wc -l)" = "$(kc get pods -l app=web -o jsonpath="{range .items[?(@.spec.nodeName==\"$(nname a)\")]}{.metadata.name}{\"\n\"}{end}" | grep -c .)" ]
}
if wait_for 60 gone_a; then
	ok "back, it stopped the evicted pods and their API objects are gone"
else
	notok "evicted pods after the return: $(kc get pods -o wide 2>&1; nb a ps 2>&1)"
fi
wait_for 20 rt_ok && ok "the routes to it are back" || notok "routes after the return: $(routes_of a; routes_of b)"

# ---- a node agent restarted with the same join command ----
webs_b() { nb b ps -q --no-trunc --filter label=io.kubernetes.container.name=web | sort; }
BEFORE=$(webs_b)
# stopped while cut off: its requests in flight end at once, not after their 30 s
ip link set "v756b$ID" down
sleep 2
t0=$(date +%s%N)
kill "${PIDS[1]}"
wait "${PIDS[1]}"
is "node b's agent, cut off, stops at SIGTERM (exit 0)" "$?" 0
STOP_MS=$(ms "$t0")
ip link set "v756b$ID" up
if [ "$STOP_MS" -lt 5000 ]; then ok "and within 5 s ($STOP_MS ms)"; else notok "it took $STOP_MS ms to stop"; fi
ip netns exec "$(ns b)" env BERTH_CGROUP_MOUNT="$CG" BERTH_CGROUP_PARENT="berth-t756b-$ID" \
	"$BERTH" --root "$(nroot b)/root" --runroot "$(nroot b)/run" ${JOIN#berth } --name "$(nname b)" \
	>"$T_DIR/node-b2.log" 2>&1 &
PIDS[1]=$!
b_up() { grep -q 'Ready in' "$T_DIR/node-b2.log"; }
if wait_for 30 b_up; then
	ok "node b's agent is back"
else
	notok "node b's agent is back: $(cat "$T_DIR/node-b2.log")"
fi
like "it used the credentials of its first join" "$(cat "$T_DIR/node-b2.log")" 'joined before: using .*/kube-node/t756b/kubeconfig'
is "no second CertificateSigningRequest for it" \
	"$(kc get csr -o jsonpath="{range .items[?(@.spec.username==\"system:bootstrap:${TOKEN%.*}\")]}{.metadata.name}{\"\n\"}{end}" | grep -c .)" 2
is "its pods' containers ran on through the restart ($(echo "$BEFORE" | grep -c .))" "$(webs_b)" "$BEFORE"
wait_for 30 running && ok "6 pods Ready" || notok "after node b's restart: $(kc get pods -o wide 2>&1)"

# ---- leave: everything of the nodes goes ----
for p in "${PIDS[@]}"; do kill "$p"; done
for p in "${PIDS[@]}"; do
	wait "$p"
	is "a node agent stops at SIGTERM (exit 0)" "$?" 0
done
PIDS=()
for n in $NODES; do
	check "kube node --cleanup on $(ns "$n")" nb "$n" kube node --cleanup --name "$(nname "$n")"
	is "$(ns "$n"): no route of berth's left" "$(routes_of "$n")" ""
	is "$(ns "$n"): no container left" "$(nb "$n" ps -aq | wc -l)" 0
	is "$(ns "$n"): no hostgw rule left" "$(ip netns exec "$(ns "$n")" iptables-save | grep -c hostgw)" 0
done
check "cluster down" b kube cluster down --name "$CL"
# (only this cluster's: others may run at the same time)
is "the host: no route of berth's to this cluster's podCIDRs left" \
	"$(ip route show proto 98 | awk -v p="${CCIDR%.0.0/16}." 'index($1, p) == 1')" ""
t_done
