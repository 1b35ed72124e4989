#!/usr/bin/env bash
# Services and cluster DNS on berth's node in a real cluster (issue 15):
# pods reach Services at the API's own ClusterIPs (the cluster's service
# range, not addresses of berth's choosing), with endpoints from the
# EndpointSlices (so the apiserver behind the "kubernetes" Service too),
# named target ports, session affinity, NodePort and LoadBalancer ports on
# the node's address, NAME.NS.svc.cluster.local and the short forms
# through the pod's search path, headless Services with StatefulSet pod
# names, and dnsPolicy Default / None with dnsConfig. Bad input to the
# node's --service-cidr leaves nothing behind.
. "$(dirname "$0")/../lib.sh"
need_fixtures
command -v iptables-save >/dev/null || skip_all "iptables is not installed"
KBIN=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
for x in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	[ -x "$KBIN/$x" ] || skip_all "no $KBIN/$x (scripts/k8s-binaries.sh builds them)"
done
export KUBECONFIG=$T_DIR/kubeconfig
kc() { "$KBIN/kubectl" --request-timeout=20s "$@"; }
CL=t0755
svc_cleanup() {
	b kube cluster down --name "$CL" >/dev/null 2>&1
	t_cleanup
}
trap svc_cleanup EXIT
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:1.36 >/dev/null || { notok "import busybox"; t_done; }


# ---- bad input first: nothing is made ----
fails "kube node --service-cidr bogus" 'invalid --service-cidr "bogus"' \
	b kube node --kubeconfig /dev/null --name bad --service-cidr bogus
fails "kube node --service-cidr /30" 'invalid --service-cidr "10.0.0.0/30"' \
	b kube node --kubeconfig /dev/null --name bad --service-cidr 10.0.0.0/30
is "no network for the refused node" "$(b network ls --format '{{.Name}}' | grep -c kube-node-bad)" 0

check "cluster up" b kube cluster up --name "$CL"
SVC_CIDR=$(sed -n 's/.*"serviceCIDR": *"\([^"]*\)".*/\1/p' "$ROOT"/kube-clusters/"$CL"/cluster.json 2>/dev/null)
like "the cluster has a service range" "$SVC_CIDR" '^10\.[0-9]+\.0\.0/16$'
KIP=$(kc get svc kubernetes -o jsonpath='{.spec.clusterIP}')
like "the kubernetes Service's ClusterIP" "$KIP" '^10\.[0-9]+\.0\.1$'

cat >"$T_DIR/apps.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: busybox:1.36
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /w && hostname > /w/index.html && exec httpd -f -p 8080 -h /w"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: h, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{port: 81, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 82, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: hl}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 9000}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: hl
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: busybox:1.36
        imagePullPolicy: Never
        command: ["sleep", "1000"]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - name: c
    image: busybox:1.36
    imagePullPolicy: Never
    command: ["sleep", "1000"]
---
apiVersion: v1
kind: Pod
metadata: {name: dns-default}
spec:
  dnsPolicy: Default
  containers:
  - {name: c, image: busybox:1.36, imagePullPolicy: Never, command: ["sleep", "1000"]}
---
apiVersion: v1
kind: Pod
metadata: {name: dns-merge}
spec:
  dnsConfig:
    searches: ["example.test"]
    options: [{name: ndots, value: "2"}, {name: edns0}]
  containers:
  - {name: c, image: busybox:1.36, imagePullPolicy: Never, command: ["sleep", "1000"]}
---
apiVersion: v1
kind: Pod
metadata: {name: dns-none}
spec:
  dnsPolicy: None
  dnsConfig:
    nameservers: ["192.0.2.53"]
    searches: ["example.test"]
    options: [{name: ndots, value: "2"}]
  containers:
  - {name: c, image: busybox:1.36, imagePullPolicy: Never, command: ["sleep", "1000"]}
EOF
check "apply the apps" kc apply -f "$T_DIR/apps.yaml"
if wait_for 60 kc wait --for=condition=Ready pod --all --timeout=5s; then ok "every pod Ready"; else notok "pods not Ready: $(kc get pods -o wide 2>&1)"; fi
WIP=$(kc get svc web -o jsonpath='{.spec.clusterIP}')
like "web's ClusterIP is in the cluster's range" "$WIP" "^$(echo "$SVC_CIDR" | cut -d. -f1-2 | sed 's/\./\\./g')\\."
ex() { kc exec client -- "$@"; }

# ---- ClusterIPs from inside a pod ----
if wait_for 20 ex timeout 2 wget -q -O- "http://$WIP/"; then ok "a pod reaches web at its API ClusterIP"; else notok "wget $WIP: $OUT"; fi
like "the answer is one of web's pods" "$OUT" '^web-'
if wait_for 10 ex timeout 2 wget -q -O- http://web/; then ok "the short name web"; else notok "wget web: $OUT"; fi
check "web.default" ex timeout 2 wget -q -O- http://web.default/
check "web.default.svc" ex timeout 2 wget -q -O- http://web.default.svc/
check "web.default.svc.cluster.local" ex timeout 2 wget -q -O- http://web.default.svc.cluster.local/
like "the name resolves to the API's ClusterIP" "$(ex nslookup web.default.svc.cluster.local 2>&1)" "Address: $WIP"
seen=""
for i in $(seq 1 30); do seen="$seen $(ex timeout 2 wget -q -O- http://web/ 2>/dev/null)"; done
is "both endpoints answer" "$(tr ' ' '\n' <<<"$seen" | grep -c . | tr -d ' ')/$(tr ' ' '\n' <<<"$seen" | sort -u | grep -c .)" "30/2"
sticky=""
for i in $(seq 1 10); do sticky="$sticky $(ex timeout 2 wget -q -O- http://sticky:81/ 2>/dev/null)"; done
is "sessionAffinity ClientIP: one endpoint" "$(tr ' ' '\n' <<<"$sticky" | sort -u | grep -c .)" 1

# the apiserver behind the kubernetes Service (its EndpointSlice is the
# apiserver's own address, not a pod's)
like "KUBERNETES_SERVICE_HOST is the API's ClusterIP" "$(ex env)" "KUBERNETES_SERVICE_HOST=$KIP"
if wait_for 10 ex sh -c "echo | nc -w 3 $KIP 443 >/dev/null 2>&1; test \$? -ne 1 || exit 1"; then
	ok "a pod connects to the apiserver at $KIP:443"
else
	notok "no connection to $KIP:443: $OUT"
fi
like "kubernetes.default.svc resolves" "$(ex nslookup kubernetes.default.svc.cluster.local 2>&1)" "Address: $KIP"

# ---- NodePort on the node's address ----
NPORT=$(kc get svc np -o jsonpath='{.spec.ports[0].nodePort}')
NIP=$(kc get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')
like "a nodePort" "$NPORT" '^3[0-9]{4}$'
if wait_for 10 curl -s -m 2 "http://$NIP:$NPORT/"; then ok "NodePort answers on $NIP:$NPORT"; else notok "NodePort: $OUT"; fi

# ---- headless Service and StatefulSet pod names ----
DB0=$(kc get pod db-0 -o jsonpath='{.status.podIP}')
like "db-0.hl resolves to db-0's address" "$(ex nslookup db-0.hl.default.svc.cluster.local 2>&1)" "Address: $DB0"
like "hl (headless) resolves to the pods" "$(ex nslookup hl.default.svc.cluster.local 2>&1)" "Address: $DB0"
like "an unknown name under cluster.local: NXDOMAIN" "$(ex nslookup nope.default.svc.cluster.local 2>&1)" "NXDOMAIN|can't find"

# ---- the pods' resolv.conf ----
RC=$(ex cat /etc/resolv.conf)
like "ClusterFirst: search NS.svc.cluster.local svc.cluster.local cluster.local" "$RC" '^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local'
like "ClusterFirst: options ndots:5" "$RC" 'ndots:5'
RM=$(kc exec dns-merge -- cat /etc/resolv.conf)
like "ClusterFirst + dnsConfig: the searches appended" "$RM" '^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local example\.test$'
like "ClusterFirst + dnsConfig: ndots overridden, edns0 added" "$RM" '^options .*ndots:2'
like "ClusterFirst + dnsConfig: edns0" "$RM" 'edns0'
if grep -q 'ndots:5' <<<"$RM"; then notok "ClusterFirst + dnsConfig: ndots:5 still there: $RM"; else ok "ClusterFirst + dnsConfig: one ndots"; fi
RN=$(kc exec dns-none -- cat /etc/resolv.conf)
like "None: the dnsConfig nameserver" "$RN" '^nameserver 192\.0\.2\.53$'
like "None: the dnsConfig search" "$RN" '^search example\.test$'
like "None: the dnsConfig options" "$RN" 'ndots:2'
RD=$(kc exec dns-default -- cat /etc/resolv.conf)
if grep -q 'svc.cluster.local' <<<"$RD"; then notok "Default: the cluster's search path leaked in: $RD"; else ok "Default: the node's resolv.conf, no cluster search path"; fi

# ---- endpoints follow the API: scale to 0, then back ----
check "scale web to 0" kc scale deploy web --replicas=0
# the pod answers the exec; only its wget fails
if wait_for 30 ex sh -c "if timeout 1 wget -q -O- http://$WIP/; then exit 1; fi"; then ok "no endpoint: web refuses"; else notok "web still answers after scale 0"; fi
check "scale web to 1" kc scale deploy web --replicas=1
if wait_for 40 ex timeout 2 wget -q -O- "http://$WIP/"; then ok "web answers again after scale 1"; else notok "after scale 1: $OUT"; fi

NODE=$(kc get nodes -o jsonpath='{.items[0].metadata.name}')
BR=$(b network inspect "kube-node-$NODE" | sed -n 's/.*"com.docker.network.bridge.name": *"\([^"]*\)".*/\1/p')
like "the node's bridge" "$BR" '^br-'
check "delete the apps" kc delete -f "$T_DIR/apps.yaml" --wait=true --timeout=60s
check "cluster down" b kube cluster down --name "$CL"
is "no Service rule of the node's network left" "$(iptables-save | grep -c "berth:$BR:svc")" 0
t_done
