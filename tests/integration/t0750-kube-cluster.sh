#!/usr/bin/env bash
# berth kube cluster: up to a Ready node on upstream's binaries, kubectl
# with the merged kubeconfig (other entries kept), status, the admin
# kubeconfig, up twice, a crashed component restarted, a second cluster
# beside the first, a restart from the kept state after the supervisor was
# killed, down leaving nothing (no process, kubeconfig entry, directory,
# bridge, rule or mount), and bad input: subcommands, names, binaries, a
# port in use, a component that fails to start, a wait too short.
. "$(dirname "$0")/../lib.sh"
K8S=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
for x in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	[ -x "$K8S/$x" ] || skip_all "no $x in $K8S (build them with scripts/k8s-binaries.sh, or set BERTH_K8S_BIN)"
done
KUBECTL=$K8S/kubectl
export KUBECONFIG=$T_DIR/kubeconfig
unset BERTH_K8S_BIN
N=t0750
CL=$ROOT/kube-clusters

# processes whose command line names this test's store (the clusters' components)
cluster_pids() {
	python3 - "$ROOT/kube-clusters/" <<'EOF'
import os, sys
for p in os.listdir("/proc"):
    if not p.isdigit() or int(p) == os.getpid():
        continue
    try:
        cmd = open("/proc/%s/cmdline" % p, "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        continue  # gone meanwhile
    if sys.argv[1] in cmd:
        print(p)
EOF
}
kc_cleanup() {
	local n out p
	for n in $N ${N}b ${N}c ${N}d ${N}e; do
		[ -d "$CL/$n" ] && out=$(b kube cluster down --name "$n" 2>&1)
	done
	for p in $(cluster_pids); do kill -9 "$p" 2>/dev/null; done
	t_cleanup
}
trap kc_cleanup EXIT

cat >"$KUBECONFIG" <<'EOF'
apiVersion: v1
kind: Config
clusters:
- name: other
  cluster:
    server: https://other.example:443
users:
- name: other
  user:
    token: abc
contexts:
- name: other
  context:
    cluster: other
    user: other
current-context: other
EOF

# ---- bad input, before anything runs ----
fails "no subcommand" "requires a subcommand" b kube cluster
fails "an unknown subcommand" 'unknown subcommand "frob"' b kube cluster frob
fails "an argument too many" "takes no argument" b kube cluster up extra
fails "a name that is no DNS label" 'invalid cluster name "Bad_Name"' b kube cluster up --name Bad_Name
fails "a name starting with -" 'invalid cluster name "-x"' b kube cluster status --name -x
fails "a name of 64 characters" "invalid cluster name" b kube cluster up --name "$(printf 'a%.0s' $(seq 1 64))"
mkdir -p "$T_DIR/empty"
fails "--k8s-bin without the binaries" "no etcd, kube-apiserver, kube-controller-manager, kube-scheduler there" \
	b kube cluster up --k8s-bin "$T_DIR/empty"
fails "--k8s-bin that does not exist" "--k8s-bin $T_DIR/nosuch" b kube cluster up --k8s-bin "$T_DIR/nosuch"
fails "BERTH_K8S_BIN without the binaries" "BERTH_K8S_BIN $T_DIR/empty: no etcd" env BERTH_K8S_BIN="$T_DIR/empty" "$BERTH" --root "$ROOT" --runroot "$RUNROOT" kube cluster up
fails "a bad --wait" 'invalid --wait "soon"' b kube cluster up --wait soon
fails "a bad --api-port" 'invalid --api-port "70000"' b kube cluster up --api-port 70000
fails "--wait on down" "--wait is an option of up only" b kube cluster down --wait 1s
exits "status of no cluster" 1 b kube cluster status --name nosuch
like "... says so" "$OUT" 'no cluster "nosuch"'
fails "down of no cluster" 'no cluster "nosuch"' b kube cluster down --name nosuch
fails "kubeconfig of no cluster" 'no cluster "nosuch"' b kube cluster kubeconfig --name nosuch
printf 'clusters: [\n' >"$T_DIR/broken.yaml"
fails "a broken kubeconfig is refused before anything runs" "$T_DIR/broken.yaml" env KUBECONFIG="$T_DIR/broken.yaml" \
	"$BERTH" --root "$ROOT" --runroot "$RUNROOT" kube cluster up --name ${N}x
is "bad input made no cluster dir" "$(ls -A "$CL" 2>/dev/null)" ""

# ---- up ----
t0=$(date +%s%N)
check "cluster up" b kube cluster up --name $N --k8s-bin "$K8S"
t1=$(date +%s%N)
echo "# cluster up: $(((t1 - t0) / 1000000)) ms"
printf '#   %s\n' "$OUT"
UP=$OUT
like "... etcd healthy" "$UP" '^etcd healthy on 127\.0\.0\.1:[0-9]+ \([0-9.]+ s\)'
like "... the apiserver ready" "$UP" '^kube-apiserver ready at https://127\.0\.0\.1:[0-9]+'
like "... the total time" "$UP" "^Cluster \"$N\" is up in [0-9.]+ s \(Kubernetes v1\.36\.3, etcd 3\.6\.8\)"
like "... the kubeconfig merged" "$UP" "^kubeconfig: context berth-$N in $KUBECONFIG \(current\)"
NODE=$(sed -n 's/^node \(.*\) Ready (.*/\1/p' <<<"$UP")
if grep -q "no node agent" <<<"$UP"; then
	skip "this berth has no node agent: node checks"
else
	like "... the node Ready" "$UP" '^node [a-z0-9.-]+ Ready'
fi

check "kubectl get nodes" "$KUBECTL" get nodes --no-headers
[ -n "$NODE" ] && like "... the node is Ready" "$OUT" "^$NODE +Ready "
check "kubectl get namespaces" "$KUBECTL" get namespaces -o name
for ns in default kube-system kube-public kube-node-lease; do like "... namespace $ns" "$OUT" "^namespace/$ns\$"; done
is "the current context is the cluster's" "$("$KUBECTL" config current-context 2>&1)" "berth-$N"
like "the other context is kept" "$("$KUBECTL" config get-contexts -o name 2>&1)" '^other$'
like "the other user is kept" "$("$KUBECTL" config view -o jsonpath='{.users[*].name}' 2>&1)" 'other'
is "the admin may do anything" "$("$KUBECTL" auth can-i '*' '*' 2>&1)" "yes"
is "/readyz" "$("$KUBECTL" get --raw /readyz 2>&1)" "ok"
if [ -n "$NODE" ] && ! grep -q "kubelet API.*not available" "$CL/$N/logs/node.log"; then
	# apiserver -> kubelet API: its client cert, the node's serving cert checked against the CA
	# (the node agent may start serving it a moment after its Node is Ready)
	for i in $(seq 1 50); do
		h=$("$KUBECTL" get --raw "/api/v1/nodes/$NODE/proxy/healthz" 2>&1) && break
		sleep 0.1
	done
	is "the node's kubelet API through the apiserver" "$h" "ok"
else
	skip "the node has no kubelet API yet: apiserver -> kubelet"
fi
check "the default ServiceAccount is there" "$KUBECTL" get serviceaccount default -o name
check "api-resources" "$KUBECTL" api-resources -o name
for r in pods services deployments.apps statefulsets.apps jobs.batch cronjobs.batch ingresses.networking.k8s.io \
	configmaps secrets persistentvolumeclaims roles.rbac.authorization.k8s.io customresourcedefinitions.apiextensions.k8s.io \
	horizontalpodautoscalers.autoscaling leases.coordination.k8s.io endpointslices.discovery.k8s.io; do
	like "... $r" "$OUT" "^$r\$"
done
JSON=$CL/$N/cluster.json
PORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ports"]["apiserver"])' "$JSON")
NODEIP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodeIP"])' "$JSON")
check "the serving cert is for localhost" "$KUBECTL" --server "https://localhost:$PORT" get ns default -o name
check "... and the node's address $NODEIP" "$KUBECTL" --server "https://$NODEIP:$PORT" get ns default -o name
check "... and kubernetes.default.svc (tls-server-name)" "$KUBECTL" --tls-server-name kubernetes.default.svc get ns default -o name
is "private keys are 0600" "$(stat -c %a "$CL/$N"/pki/*.key | sort -u)" "600"
like "the host's registry has its ports" "$(cat /run/berth-kube-clusters/*.json 2>&1)" "\"root\":\"$ROOT\",\"name\":\"$N\""
like "cluster.json records ports, versions and pids" "$(cat "$JSON")" '"etcdClient": [0-9]+'
like "... versions" "$(cat "$JSON")" '"kubernetes": "v1.36.3"'
like "... pids" "$(cat "$JSON")" '"kube-apiserver": [0-9]+'
for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
	[ -s "$CL/$N/logs/$c.log" ] && ok "logs/$c.log" || notok "logs/$c.log is missing"
done

# ---- status ----
exits "status of a healthy cluster" 0 b kube cluster status --name $N
ST=$OUT
printf '#   %s\n' "$ST"
like "... the server" "$ST" "^cluster $N at https://127\.0\.0\.1:$PORT"
for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
	like "... $c healthy with its pid" "$ST" "^$c +[0-9]+ +healthy"
done
like "... the supervisor" "$ST" '^supervisor +[0-9]+ +running'
[ -n "$NODE" ] && like "... the node" "$ST" "^node $NODE +[0-9]+ +Ready"
APID=$(awk '$1 == "kube-apiserver" {print $2}' <<<"$ST")

# ---- kubeconfig ----
check "kubeconfig prints the admin kubeconfig" b kube cluster kubeconfig --name $N
like "... current-context" "$OUT" "^current-context: berth-$N\$"
like "... the server" "$OUT" "server: https://127\.0\.0\.1:$PORT\$"
like "... certificates inline" "$OUT" 'client-key-data: '
printf '%s\n' "$OUT" >"$T_DIR/admin.yaml"
check "... kubectl works with it alone" env KUBECONFIG="$T_DIR/admin.yaml" "$KUBECTL" get ns kube-system -o name

# ---- up again ----
check "up on a running cluster" b kube cluster up --name $N
like "... says it is running" "$OUT" "Cluster \"$N\" is running already"
is "... the same apiserver" "$(b kube cluster status --name $N | awk '$1 == "kube-apiserver" {print $2}')" "$APID"

# ---- a crashed component is started again ----
SPID=$(awk '$1 == "kube-scheduler" {print $2}' <<<"$ST")
kill -9 "$SPID"
back=0
for i in $(seq 1 100); do
	s=$(b kube cluster status --name $N 2>&1) && ! grep -q "^kube-scheduler *$SPID " <<<"$s" && { back=1; break; }
	sleep 0.1
done
[ $back = 1 ] && ok "a killed kube-scheduler is started again" || { notok "kube-scheduler not back"; printf '#   %s\n' "$s"; }

# ---- a port in use, a component that fails, a wait too short ----
fails "--api-port of a port in use" "--api-port $PORT: the port is in use" b kube cluster up --name ${N}b --api-port "$PORT"
is "... nothing made" "$(ls "$CL")" "$N"
mkdir -p "$T_DIR/badbin"
for x in etcd kube-apiserver kube-controller-manager; do ln -s "$K8S/$x" "$T_DIR/badbin/$x"; done
printf '#!/bin/sh\necho "E1207 run.go:72] \\"command failed\\" err=\\"unknown flag: --frob\\"" >&2\nexit 1\n' >"$T_DIR/badbin/kube-scheduler"
chmod +x "$T_DIR/badbin/kube-scheduler"
fails "a component that fails to start is named" "kube-scheduler failed to start: it exited \(exit status 1\)" \
	b kube cluster up --name ${N}c --k8s-bin "$T_DIR/badbin"
like "... with its log's last lines" "$OUT" 'unknown flag: --frob'
is "... no cluster dir left" "$(ls "$CL")" "$N"
is "... no process left" "$(cluster_pids | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" | grep -c -- "/${N}c/"; done | grep -vc '^0$')" "0"
unlike "... no kubeconfig entry" "$(cat "$KUBECONFIG")" "berth-${N}c"
fails "a wait too short" "timed out after 0\.3 s waiting for (etcd|kube-apiserver)" b kube cluster up --name ${N}d --wait 300ms
is "... no cluster dir left" "$(ls "$CL")" "$N"
# (berth itself in the background, so that $! is its pid, as ^C reaches it)
"$BERTH" --root "$ROOT" --runroot "$RUNROOT" kube cluster up --name ${N}d >"$T_DIR/int.out" 2>&1 &
UPPID=$!
for i in $(seq 1 100); do grep -q "^etcd healthy" "$T_DIR/int.out" && break; sleep 0.05; done
kill -INT $UPPID
wait $UPPID
is "an interrupted up fails" "$?" "1"
like "... says so" "$(cat "$T_DIR/int.out")" "interrupted: stopping what was started"
is "... no cluster dir left" "$(ls "$CL")" "$N"
is "... no process left" "$(cluster_pids | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" | grep -c -- "/${N}d/"; done | grep -vc '^0$')" "0"
is "... and the first still runs" "$(b kube cluster status --name $N >/dev/null 2>&1; echo $?)" "0"

# ---- a second cluster beside the first ----
t0=$(date +%s%N)
check "a second cluster" b kube cluster up --name ${N}e
t1=$(date +%s%N)
echo "# second cluster up (beside the first): $(((t1 - t0) / 1000000)) ms"
PORT2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ports"]["apiserver"])' "$CL/${N}e/cluster.json")
[ "$PORT2" != "$PORT" ] && ok "... on another port ($PORT2)" || notok "... the same port $PORT"
NODE2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node"])' "$CL/${N}e/cluster.json")
[ -n "$NODE" ] && is "... its node named after it" "$NODE2" "$NODE-${N}e"
is "... its context current" "$("$KUBECTL" config current-context 2>&1)" "berth-${N}e"
check "... kubectl reaches it" "$KUBECTL" get ns default -o name
check "... and the first" "$KUBECTL" --context berth-$N get ns default -o name
check "down of the second" b kube cluster down --name ${N}e
check "... the first is untouched" "$KUBECTL" --context berth-$N get --raw /readyz
"$KUBECTL" config use-context berth-$N >/dev/null

# ---- the supervisor killed: its components go; up starts it again with the kept state ----
UID1=$("$KUBECTL" get ns kube-system -o jsonpath='{.metadata.uid}')
SUP=$(cat "$RUNROOT/kube-clusters/$N/supervisor.pid")
COMP=$(b kube cluster status --name $N | awk '$2 ~ /^[0-9]+$/ {print $2}' | tr '\n' ' ')
kill -9 "$SUP"
gone=0
for i in $(seq 1 100); do
	left=""
	for p in $COMP; do [ -d "/proc/$p" ] && left="$left $p"; done
	[ -z "$left" ] && { gone=1; break; }
	sleep 0.1
done
[ $gone = 1 ] && ok "a killed supervisor takes its components along" || notok "components left:$left"
exits "status without a supervisor" 1 b kube cluster status --name $N
like "... says not running" "$OUT" 'supervisor +- +not running'
t0=$(date +%s%N)
check "up starts it again" b kube cluster up --name $N
t1=$(date +%s%N)
echo "# restart: $(((t1 - t0) / 1000000)) ms"
like "... from its state" "$OUT" "^Starting cluster \"$N\""
is "... the same data" "$("$KUBECTL" get ns kube-system -o jsonpath='{.metadata.uid}' 2>&1)" "$UID1"

# ---- down ----
BR=$(b network inspect "kube-node-$NODE" 2>&1 | python3 -c 'import json,sys
try: print(json.load(sys.stdin)[0]["Options"]["com.docker.network.bridge.name"])
except Exception: pass')
t0=$(date +%s%N)
check "cluster down" b kube cluster down --name $N
t1=$(date +%s%N)
echo "# cluster down: $(((t1 - t0) / 1000000)) ms"
like "... says so" "$OUT" "Cluster \"$N\" removed"
# the node network's DNS server leaves a few seconds after its network (src/net/dnsproc.h)
for i in $(seq 1 100); do [ -z "$(cluster_pids)" ] && break; sleep 0.1; done
is "... no process of the cluster" "$(cluster_pids)" ""
is "... no cluster dir" "$(ls -A "$ROOT/kube-clusters" 2>&1 | grep -v 'No such')" ""
is "... no run dir" "$(ls -A "$RUNROOT/kube-clusters" 2>&1 | grep -v 'No such')" ""
unlike "... no kubeconfig entry" "$(cat "$KUBECONFIG")" "berth-$N"
is "... the other context kept" "$("$KUBECTL" config get-contexts -o name 2>&1)" "other"
is "... no current context" "$("$KUBECTL" config view -o jsonpath='{.current-context}' 2>&1)" ""
is "... no mount below the store" "$(awk -v r="$ROOT" 'index($2, r) == 1' /proc/mounts)" ""
if [ -n "$BR" ]; then
	fails "... the node's bridge $BR is gone" "does not exist|not found|Cannot find" ip link show "$BR"
	is "... no rule of it" "$(iptables-save 2>&1 | grep -c -- "$BR")" "0"
fi
is "... no entry in the host's registry" "$(grep -l -- "\"root\":\"$ROOT\"" /run/berth-kube-clusters/*.json 2>&1 | grep -v 'No such')" ""
unlike "... the node's network is gone" "$(b network ls 2>&1)" "kube-node-"
exits "status after down" 1 b kube cluster status --name $N
fails "down again" "no cluster \"$N\"" b kube cluster down --name $N
t_done
