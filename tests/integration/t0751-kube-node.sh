#!/usr/bin/env bash
# berth kube node against a real control plane (upstream kube-apiserver,
# controller-manager, scheduler and etcd through `berth kube cluster up`),
# driven with upstream kubectl: the node registers and stays Ready with its
# Lease, runs the pods the scheduler binds to it (a Deployment with a
# ConfigMap volume, a Secret env, an init container, a readiness probe and
# the projected service-account token), posts their status as the kubelet
# does, serves the Service on its LoadBalancer port, follows scale, a
# rolling update and deletion, brings a killed container back, survives a
# kill -9 mid-rollout, and shows pods it cannot run with the kubelet's
# reasons. Bad input to the node agent leaves nothing behind.
. "$(dirname "$0")/../lib.sh"
need_fixtures
command -v iptables-save >/dev/null || skip_all "iptables is not installed"
KBIN=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
for x in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	[ -x "$KBIN/$x" ] || skip_all "no $KBIN/$x (scripts/k8s-binaries.sh builds them)"
done
export KUBECONFIG=$T_DIR/kubeconfig
kc() { "$KBIN/kubectl" --request-timeout=20s "$@"; }
CL=t0751
node_cleanup() {
	b kube cluster down --name "$CL" >/dev/null 2>&1
	t_cleanup
}
trap node_cleanup EXIT
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:1.36 >/dev/null || { notok "import busybox"; t_done; }
b tag busybox:1.36 busybox:1.36-b >/dev/null

ready_count() { kc get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c ' True$'; }

t0=$(date +%s%N)
check "cluster up" b kube cluster up --name "$CL"
echo "# cluster up: $((($(date +%s%N) - t0) / 1000000)) ms"
NODE=$(kc get nodes -o jsonpath='{.items[0].metadata.name}')
[ -n "$NODE" ] || { notok "a node is registered"; t_done; }
ok "node $NODE is registered"
is "the node is Ready" "$(kc get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" True
like "containerRuntimeVersion berth://" "$(kc get node "$NODE" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}')" '^berth://'
CIDR=$(kc get node "$NODE" -o jsonpath='{.spec.podCIDR}')
like "a podCIDR" "$CIDR" '^[0-9.]+/[0-9]+$'
like "an InternalIP address" "$(kc get node "$NODE" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')" '^[0-9.]+$'
like "capacity: cpu, memory, pods" "$(kc get node "$NODE" -o jsonpath='{.status.capacity}')" '"pods":"110"'
is "its Lease in kube-node-lease" "$(kc -n kube-node-lease get lease "$NODE" -o jsonpath='{.spec.holderIdentity}')" "$NODE"
like "kubectl get nodes: Ready" "$(kc get nodes)" "^$NODE +Ready "

# ---- a Deployment behind a LoadBalancer ----
cat >"$T_DIR/web.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: web-page}
data: {index.html: "page from the configmap\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret}
stringData: {token: s3cret}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      initContainers:
      - name: init
        image: busybox:1.36
        command: ["sh", "-c", "echo init ran > /work/init"]
        volumeMounts: [{name: work, mountPath: /work}]
      containers:
      - name: web
        image: busybox:1.36
        command: ["sh", "-c", "cp /page/index.html /work/; hostname > /work/host; echo \"token=$TOKEN\"; exec httpd -f -p 8080 -h /work"]
        env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: web-secret, key: token}}}]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /host, port: http}, periodSeconds: 1}
        volumeMounts: [{name: page, mountPath: /page}, {name: work, mountPath: /work}]
      volumes:
      - {name: page, configMap: {name: web-page}}
      - {name: work, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 18751, targetPort: http}]
EOF
t0=$(date +%s%N)
check "kubectl apply" kc apply -f "$T_DIR/web.yaml"
if wait_for 60 curl -sf -m 2 http://127.0.0.1:18751/host; then
	ok "the Service answers on its LoadBalancer port"
	echo "# apply to serving: $((($(date +%s%N) - t0) / 1000000)) ms"
else
	notok "the Service answers on its LoadBalancer port"
fi
check "rollout status" kc rollout status deploy/web --timeout=60s
is "3 pods Ready" "$(ready_count)" 3
P=$(kc get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
is "the pod runs on the berth node" "$(kc get pod "$P" -o jsonpath='{.spec.nodeName}')" "$NODE"
is "phase Running" "$(kc get pod "$P" -o jsonpath='{.status.phase}')" Running
like "podIP in the podCIDR" "$(kc get pod "$P" -o jsonpath='{.status.podIP}')" "^${CIDR%.*/*}\."
like "containerID berth://" "$(kc get pod "$P" -o jsonpath='{.status.containerStatuses[0].containerID}')" '^berth://[0-9a-f]{64}$'
like "imageID" "$(kc get pod "$P" -o jsonpath='{.status.containerStatuses[0].imageID}')" 'sha256:'
like "conditions as the kubelet's" "$(kc get pod "$P" -o jsonpath='{.status.conditions[*].type}')" 'Initialized.*Ready|Ready.*Initialized'
is "the init container terminated with 0" "$(kc get pod "$P" -o jsonpath='{.status.initContainerStatuses[0].state.terminated.exitCode}')" 0
like "kubectl get pods: 1/1 Running" "$(kc get pods)" "$P +1/1 +Running"
like "kubectl get services" "$(kc get svc web)" 'web +LoadBalancer +[0-9.]+ +.* 18751:3[0-9]+/TCP'
NODEIP=$(kc get node "$NODE" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
lb_ip() { [ "$(kc get svc web -o jsonpath='{.status.loadBalancer.ingress[0].ip}')" = "$NODEIP" ]; }
wait_for 20 lb_ip && ok "the LoadBalancer's ingress is the node's address ($NODEIP)" || notok "the LoadBalancer's ingress: $(kc get svc web -o jsonpath='{.status}')"
like "kubectl get services: EXTERNAL-IP" "$(kc get svc web)" "web +LoadBalancer +[0-9.]+ +$NODEIP +18751"
PAGE=$(curl -s -m 2 http://127.0.0.1:18751/index.html)
is "the ConfigMap's page" "$PAGE" "page from the configmap"
CID=$(kc get pod "$P" -o jsonpath='{.status.containerStatuses[0].containerID}')
CID=${CID#berth://}
is "the init container's file" "$(b exec "$CID" cat /work/init 2>&1)" "init ran"
is "the service-account namespace file" "$(b exec "$CID" cat /var/run/secrets/kubernetes.io/serviceaccount/namespace 2>&1)" default
like "the service-account token is a JWT" "$(b exec "$CID" cat /var/run/secrets/kubernetes.io/serviceaccount/token 2>&1)" '^eyJ'
like "the cluster's CA" "$(b exec "$CID" cat /var/run/secrets/kubernetes.io/serviceaccount/ca.crt 2>&1)" 'BEGIN CERTIFICATE'
like "KUBERNETES_SERVICE_HOST" "$(b exec "$CID" env 2>&1)" 'KUBERNETES_SERVICE_HOST=[0-9.]+'
like "the Secret as env (container log)" "$(b logs "$CID" 2>&1)" 'token=s3cret'
seen=$(for i in $(seq 1 30); do curl -s -m 2 http://127.0.0.1:18751/host; done | sort -u | wc -l)
[ "$seen" -ge 2 ] && ok "the LoadBalancer balances ($seen pods answered)" || notok "the LoadBalancer balances (only $seen pod answered)"

# ---- kubectl logs and exec through the kubelet API ----
like "kubectl logs" "$(kc logs "$P" 2>&1)" 'token=s3cret'
is "kubectl exec" "$(kc exec "$P" -c web -- cat /work/init 2>&1)" "init ran"
exits "kubectl exec: the command's exit code" 3 kc exec "$P" -c web -- sh -c 'exit 3'

# ---- scale ----
check "kubectl scale --replicas=5" kc scale deploy/web --replicas=5
ready_is() { [ "$(ready_count)" = "$1" ]; }
if wait_for 60 ready_is 5; then
	ok "5 pods Ready"
else
	notok "5 pods Ready"; kc get pods -o wide | sed 's/^/#   /'
fi
is "5 pods on the node" "$(b ps -q --filter label=io.kubernetes.container.name=web | wc -l)" 5

# ---- a killed container comes back ----
restarts0=$(kc get pod "$P" -o jsonpath='{.status.containerStatuses[0].restartCount}')
check "kill the container on the node" b kill "$CID"
restarted() { [ "$(kc get pod "$P" -o jsonpath='{.status.containerStatuses[0].restartCount}')" -gt "${restarts0:-0}" ]; }
if wait_for 30 restarted; then
	ok "the pod's restartCount went up"
else
	notok "the pod's restartCount went up"
fi
ctr_ready() { [ "$(kc get pod "$P" -o jsonpath='{.status.containerStatuses[0].ready}')" = true ]; }
wait_for 30 ctr_ready &&
	ok "the container is Ready again" || notok "the container is Ready again"
like "lastState: terminated" "$(kc get pod "$P" -o jsonpath='{.status.containerStatuses[0].lastState}')" 'terminated'

# ---- a rolling update, with the node agent killed in the middle ----
check "set image" kc set image deploy/web web=busybox:1.36-b
# the node agent's pid, from the cluster supervisor's state
NPID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["components"]["node"]["pid"])' "$RUNROOT/kube-clusters/$CL/state.json" 2>&1)
if [ -n "$NPID" ]; then
	sleep 0.5
	kill -9 "$NPID" && ok "kill -9 of the node agent mid-rollout" || notok "kill -9 of the node agent"
else
	notok "the node agent runs"
fi
check "the rollout finishes" kc rollout status deploy/web --timeout=90s
imgs=$(kc get pods -l app=web -o jsonpath='{range .items[*]}{.spec.containers[0].image} {.status.phase}{"\n"}{end}' | sort | uniq -c)
like "5 pods of the new image, Running" "$imgs" '^ *5 busybox:1.36-b Running$'
on_node() { [ "$(b ps -q --filter label=io.kubernetes.container.name=web | wc -l)" = "$1" ]; }
if wait_for 30 on_node 5; then
	ok "the old pods are gone from the node"
else
	notok "the old pods are gone from the node ($(b ps -q --filter label=io.kubernetes.container.name=web | wc -l) left)"
fi
is "the node is Ready after its restart" "$(kc get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" True

# ---- deletion ----
P2=$(kc get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
check "kubectl delete pod" kc delete pod "$P2" --wait=true --timeout=60s
is "its containers are gone from the node" "$(b ps -aq --filter "label=io.kubernetes.pod.name=$P2" | wc -l)" 0
running_is() { [ "$(kc get pods -l app=web --field-selector=status.phase=Running -o name | wc -l)" = "$1" ]; }
wait_for 60 running_is 5 &&
	ok "a replacement runs" || notok "a replacement runs"

# ---- a Job ----
cat >"$T_DIR/job.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: count}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1.36, command: ["sh", "-c", "echo counted"]}]
EOF
check "apply a Job" kc apply -f "$T_DIR/job.yaml"
check "the Job completes" kc wait --for=condition=Complete job/count --timeout=60s
is "its pods Succeeded" "$(kc get pods -l job-name=count -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | sort -u)" Succeeded

# ---- the kubelet's readiness gates, fsGroup and resourceFieldRef ----
# (upstream e2e.test's "Pods should support pod readiness gates", "Secrets
# ... as non-root with defaultMode and fsGroup set", the Downward API's
# cpu limit: tests/k8s/conformance.sh)
check "create a secret" kc create secret generic gs --from-literal=k=v
cat >"$T_DIR/gated.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: gated}
spec:
  readinessGates: [{conditionType: example.com/ready}]
  securityContext: {fsGroup: 1234, runAsUser: 1000}
  containers:
  - name: c
    image: busybox:1.36
    command: ["sh", "-c", "echo $(stat -L -c %g:%a /s/k) $(cat /s/k) $(stat -c %g /e) cpu=$CPU; exec sleep 3600"]
    resources: {limits: {cpu: 1250m}}
    env: [{name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}]
    volumeMounts: [{name: s, mountPath: /s}, {name: e, mountPath: /e}]
  volumes:
  - {name: s, secret: {secretName: gs, defaultMode: 0400}}
  - {name: e, emptyDir: {}}
EOF
check "apply a pod with a readiness gate and an fsGroup" kc apply -f "$T_DIR/gated.yaml"
gate_reason() { [ "$(kc get pod gated -o jsonpath='{.status.conditions[?(@.type=="ContainersReady")].status} {.status.conditions[?(@.type=="Ready")].reason}')" = "True ReadinessGatesNotReady" ]; }
wait_for 60 gate_reason && ok "its containers are ready, the pod is not: ReadinessGatesNotReady" ||
	notok "ReadinessGatesNotReady: $(kc get pod gated -o jsonpath='{.status.conditions}')"
is "the secret's file: the fsGroup's, 0440, readable by user 1000; the emptyDir's group; limits.cpu 1250m is 2" \
	"$(kc logs gated 2>&1)" "1234:440 v 1234 cpu=2"
check "set the gate's condition" kc patch pod gated --subresource=status --type=strategic \
	-p '{"status":{"conditions":[{"type":"example.com/ready","status":"True"}]}}'
gate_open() { [ "$(kc get pod gated -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
wait_for 30 gate_open && ok "the pod is Ready once its gate is True" ||
	notok "Ready after the gate: $(kc get pod gated -o jsonpath='{.status.conditions}')"
sleep 1.5
is "the node's status posts keep the gate's condition" \
	"$(kc get pod gated -o jsonpath='{.status.conditions[?(@.type=="example.com/ready")].status}')" True
check "delete it" kc delete pod/gated secret/gs --wait=true --timeout=60s
# activeDeadlineSeconds, and a pod name longer than a hostname may be
DL=dl-$(printf 'x%.0s' $(seq 67))
cat >"$T_DIR/dl.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $DL}
spec:
  restartPolicy: Never
  activeDeadlineSeconds: 3
  containers: [{name: c, image: busybox:1.36, command: [sleep, "3600"]}]
EOF
check "apply a pod with a 70-character name and a 3 s deadline" kc apply -f "$T_DIR/dl.yaml"
dl_failed() { [ "$(kc get pod "$DL" -o jsonpath='{.status.phase} {.status.reason}')" = "Failed DeadlineExceeded" ]; }
wait_for 60 dl_failed && ok "past its deadline the pod is Failed: DeadlineExceeded" ||
	notok "DeadlineExceeded: $(kc get pod "$DL" -o jsonpath='{.status}')"
dl_gone() { [ "$(b ps -aq --filter "label=io.kubernetes.pod.name=$DL" | wc -l)" = 0 ]; }
wait_for 30 dl_gone && ok "... and its containers are stopped and removed" || notok "the deadline pod's containers: $OUT"
check "delete it" kc delete pod "$DL" --wait=true --timeout=60s
# the termination message: the file at terminationMessagePath, or the log's
# end with FallbackToLogsOnError when the container failed
check "run pods that leave a termination message" kc run term --image=busybox:1.36 --restart=Never --command -- \
	sh -c 'printf bye >/dev/termination-log'
cat >"$T_DIR/term2.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: term2}
spec:
  restartPolicy: Never
  securityContext: {runAsUser: 1000}
  containers:
  - {name: c, image: busybox:1.36, command: ["sh", "-c", "echo from the log; exit 3"], terminationMessagePolicy: FallbackToLogsOnError, terminationMessagePath: /dev/custom-log}
EOF
check "apply a failing pod with FallbackToLogsOnError" kc apply -f "$T_DIR/term2.yaml"
ended() { [ "$(kc get pod "$1" -o jsonpath='{.status.phase}')" = "$2" ]; }
wait_for 60 ended term Succeeded && wait_for 60 ended term2 Failed || notok "the pods did not end: $OUT"
is "the message from the file" "$(kc get pod term -o jsonpath='{.status.containerStatuses[0].state.terminated.message}')" bye
is "the message from the log" "$(kc get pod term2 -o jsonpath='{.status.containerStatuses[0].state.terminated.message}')" "from the log"
check "delete them" kc delete pod/term pod/term2 --wait=true --timeout=60s

# ---- a claim: the cluster's provisioner and the node's berth volume ----
cat >"$T_DIR/pvc.yaml" <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    command: ["sh", "-c", "echo kept > /data/f; exec sleep 1000"]
    volumeMounts: [{name: d, mountPath: /data}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
EOF
check "apply a claim and a pod that uses it" kc apply -f "$T_DIR/pvc.yaml"
check "the pod runs" kc wait --for=condition=Ready pod/writer --timeout=60s
is "the claim is Bound, class standard" "$(kc get pvc data -o jsonpath='{.status.phase} {.spec.storageClassName}')" "Bound standard"
like "a local PersistentVolume on the node" "$(kc get pv -o jsonpath='{.items[0].spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} {.items[0].spec.local.path}')" "^$NODE .*/volumes/kube_default_data/_data\$"
is "the data is in the berth volume" "$(cat "$ROOT/volumes/kube_default_data/_data/f" 2>&1)" kept
check "delete the pod and the claim" kc delete -f "$T_DIR/pvc.yaml" --wait=true --timeout=60s
pv_gone() { [ -z "$(kc get pv -o name)" ] && [ ! -d "$ROOT/volumes/kube_default_data" ]; }
wait_for 30 pv_gone && ok "the volume is reclaimed (PersistentVolume and berth volume)" || notok "the volume is reclaimed: $(kc get pv -o name) $(ls "$ROOT/volumes")"

# ---- pods the node cannot run ----
cat >"$T_DIR/bad.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: needs-cm}
spec:
  containers: [{name: c, image: busybox:1.36, command: ["sleep", "60"], envFrom: [{configMapRef: {name: later}}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: no-image}
spec:
  containers: [{name: c, image: "example.invalid/none:1", imagePullPolicy: Never}]
EOF
check "apply pods the node cannot run yet" kc apply -f "$T_DIR/bad.yaml"
pod_shows() { kc get pod "$1" | grep -q "$2"; }
wait_for 30 pod_shows needs-cm CreateContainerConfigError &&
	ok "a missing ConfigMap: CreateContainerConfigError" || { notok "a missing ConfigMap: CreateContainerConfigError"; kc get pod needs-cm | sed 's/^/#   /'; }
like "the message names it" "$(kc get pod needs-cm -o jsonpath='{.status.containerStatuses[0].state.waiting.message}')" 'configmap "later" not found'
wait_for 30 pod_shows no-image ErrImageNeverPull &&
	ok "pull policy Never and no image: ErrImageNeverPull" || notok "ErrImageNeverPull"
check "create the ConfigMap" kc create configmap later --from-literal=A=1
wait_for 40 pod_shows needs-cm Running && ok "then the pod runs" || notok "then the pod runs"
check "delete them" kc delete -f "$T_DIR/bad.yaml" --grace-period=0 --force

# ---- bad input to the node agent ----
fails "a kubeconfig that is not there" 'nope.kubeconfig' b kube node --kubeconfig "$T_DIR/nope.kubeconfig" --name other
fails "an invalid node name" 'invalid node name "Bad_Name"' b kube node --kubeconfig "$KUBECONFIG" --name Bad_Name
fails "a bad --kubelet-port" 'kubelet-port' b kube node --kubeconfig "$KUBECONFIG" --kubelet-port 70000
sed 's#server: https://[^ ]*#server: https://127.0.0.1:1#' "$ROOT/kube-clusters/$CL/node.kubeconfig" >"$T_DIR/dead.kubeconfig"
fails "an unreachable server" '127.0.0.1:1' timeout 20 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" kube node --kubeconfig "$T_DIR/dead.kubeconfig" --name other --kubelet-port 0
is "it made no network" "$(b network ls --format '{{.Name}}' | grep -c '^kube-node-other$')" 0
is "and no state" "$(ls -d "$ROOT/kube-node/other" "$RUNROOT/kube-node/other" 2>/dev/null | wc -l)" 0
fails "a second agent for the running node" 'already runs' b kube node --kubeconfig "$ROOT/kube-clusters/$CL/node.kubeconfig" --name "$NODE" --kubelet-port 0
fails "cleanup of the running node" 'already runs' b kube node --cleanup --name "$NODE"

# the cluster's provisioner and the binaries' build script refuse bad input
fails "provisioner: a kubeconfig that is not there" 'nope\.kubeconfig' b kube provisioner --kubeconfig "$T_DIR/nope.kubeconfig" --once
fails "provisioner: an unknown flag" 'unknown flag' b kube provisioner --bogus
exits "k8s-binaries.sh: not a release version (exit 2)" 2 bash "$TOP/scripts/k8s-binaries.sh" --version 1.x
like "... names it" "$OUT" 'not a Kubernetes release version: v1.x'
exits "k8s-binaries.sh: an unknown --with program (exit 2)" 2 bash "$TOP/scripts/k8s-binaries.sh" --with kubelet,nope
like "... names it" "$OUT" "unknown program 'nope'"
is "k8s-binaries.sh --list: what it builds" "$(bash "$TOP/scripts/k8s-binaries.sh" --list | tr '\n' ' ')" "kube-apiserver kube-controller-manager kube-scheduler kubectl etcd "

# ---- down leaves nothing ----
check "cluster down" b kube cluster down --name "$CL"
is "no pod containers left" "$(b ps -aq --filter label=io.kubernetes.pod.namespace | wc -l)" 0
is "no node network left" "$(b network ls --format '{{.Name}}' | grep -c '^kube-node-')" 0
is "no node state left" "$(ls "$ROOT/kube-node" 2>/dev/null | wc -l)" 0
is "no rule for the LoadBalancer port" "$(iptables-save -t nat | grep -c 'dport 18751')" 0
t_done
