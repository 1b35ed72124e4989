#!/usr/bin/env bash
# berth kube play: real replicas behind a balanced Service, Service DNS in
# all four forms, restarts, readiness taking a pod out of its Service, a
# rolling update that never drops below the Ready count it promises,
# ConfigMap/Secret content and live ConfigMap updates, a StatefulSet with
# a claim per pod, a Job, play twice changing nothing, kube down leaving
# nothing, and bad input refused before anything is made.
. "$(dirname "$0")/../lib.sh"
need_fixtures
command -v iptables-save >/dev/null || skip_all "iptables is not installed"
K=$TOP/tests/kube/play
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:1.36 >/dev/null || { notok "import busybox"; t_done; }

kube_cleanup() {
	for d in "$ROOT"/kube/*/; do
		[ -d "$d" ] && b kube down --namespace "$(basename "$d")" --all --volumes >/dev/null 2>&1
	done
	for p in "$RUNROOT"/kube/*/supervisor.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	t_cleanup
}
trap kube_cleanup EXIT

W=$T_DIR/web.yaml
cp "$K/web.yaml" "$W"
# the container of a pod: "k8s_<container>_<pod>_<ns>"
ctr() { b ps -q --filter "label=io.kubernetes.pod.name=$1" --filter "label=io.kubernetes.container.name=$2"; }
pods_of() { b ps --filter "label=io.kubernetes.container.name=$1" --format '{{.Labels}}' | tr ',' '\n' | sed -n 's/^io.kubernetes.pod.name=//p' | sort; }
in_client() { b exec "$(ctr client sh)" "$@"; }

t0=$(date +%s%N)
check "play --wait" b kube play --wait --timeout 60s "$W"
t1=$(date +%s%N)
echo "# play --wait: $(((t1 - t0) / 1000000)) ms"
like "kubectl's apply lines" "$OUT" 'deployment.apps/web created'
like "every object is named" "$OUT" 'service/web created'
is "3 replicas" "$(pods_of httpd | wc -l)" 3
like "pod names NAME-HASH-SUFFIX" "$(pods_of httpd | head -1)" '^web-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$'

# the Service balances over the three
seen=$(for i in $(seq 1 40); do in_client timeout 3 wget -qO- http://web:18089/ 2>&1; done | sort -u)
is "the Service reaches all 3 pods" "$(grep -c '^web-' <<<"$seen")" 3
cip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["objects"]["Service/web"]["spec"]["clusterIP"])' "$ROOT/kube/default/status.json")
like "the Service has a ClusterIP" "$cip" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'
for n in web web.default web.default.svc web.default.svc.cluster.local; do
	# busybox nslookup also prints the search list's misses: look for the answer
	like "DNS name $n" "$(in_client nslookup "$n" 2>&1)" "Address:? *$cip\$"
done
fails "an unknown name in cluster.local does not resolve" "NXDOMAIN|can't find|not found" in_client nslookup nosuch.default.svc.cluster.local
check "the LoadBalancer port answers on the host" wget -qO- -T 3 http://127.0.0.1:18089/
like "... from a pod" "$OUT" '^web-'

is "init containers ran in order before the app" "$(in_client cat /work/order | tr '\n' ' ')" "first second "

# env, ConfigMap and Secret content
p1=$(pods_of httpd | head -1)
is "env from a configMapKeyRef" "$(b exec "$(ctr "$p1" httpd)" sh -c 'echo $GREETING')" "hello from the configmap"
is "env from a secretKeyRef" "$(b exec "$(ctr "$p1" httpd)" sh -c 'echo $PASSWORD')" "s3cret"
is "a configMap volume" "$(b exec "$(ctr "$p1" httpd)" cat /etc/cfg/greeting)" "hello from the configmap"
is "a secret volume" "$(b exec "$(ctr "$p1" httpd)" cat /etc/secret/password)" "s3cret"
is "the secret's defaultMode" "$(b exec "$(ctr "$p1" httpd)" stat -L -c %a /etc/secret/password)" "400"

# play twice: nothing changes
ids=$(b ps -aq --no-trunc | sort)
check "play again" b kube play "$W"
unlike "... nothing created or configured" "$OUT" 'created|configured'
like "... all unchanged" "$OUT" 'deployment.apps/web unchanged'
sleep 1
is "... the same containers" "$(b ps -aq --no-trunc | sort)" "$ids"
t0=$(date +%s%N); b kube play -q "$W"; t1=$(date +%s%N)
echo "# unchanged re-play: $(((t1 - t0) / 1000000)) ms"

# container $1 restarted at least once and runs again
restarted_running() {
	local st
	st=$(b inspect -f '{{.RestartCount}} {{.State.Running}}' "$1") || return 1
	[ "${st% *}" -ge 1 ] && [ "${st#* }" = true ]
}
# a killed container restarts
c1=$(ctr "$p1" httpd)
# the process dies (as a crash would), not a stop by the user
kill -9 "$(b inspect -f '{{.State.Pid}}' "$c1")"
ok_restart=0
wait_for 10 restarted_running "$c1" && ok_restart=1
is "a killed container is restarted in its pod" "$ok_restart" 1

# a failing readiness probe takes the pod out of the Service
p2=$(pods_of httpd | sed -n 2p)
b exec "$(ctr "$p2" httpd)" rm /www/index.html
for i in $(seq 1 50); do
	python3 -c 'import json,sys; sys.exit(0 if not json.load(open(sys.argv[1]))["pods"][sys.argv[2]]["ready"] else 1)' "$ROOT/kube/default/status.json" "$p2" && break
	sleep 0.2
done
sleep 0.5
seen=$(for i in $(seq 1 30); do in_client timeout 3 wget -qO- http://web:18089/ 2>&1; done | sort -u)
unlike "a pod that is not Ready gets no traffic" "$seen" "^$p2\$"
is "the other two still do" "$(grep -c '^web-' <<<"$seen")" 2
b exec "$(ctr "$p2" httpd)" sh -c "echo $p2 > /www/index.html"

# a ConfigMap change reaches the mounted volume (atomic swap)
sed -i 's/mode: "one"/mode: "two"/' "$W"
check "play a changed ConfigMap" b kube play "$W"
like "... configured" "$OUT" 'configmap/web-cfg configured'
got=""
for i in $(seq 1 50); do
	got=$(b exec "$(ctr "$p1" httpd)" cat /etc/cfg/mode 2>&1)
	[ "$got" = two ] && break
	sleep 0.2
done
is "the running pod sees the new value" "$got" two
like "through ..data" "$(b exec "$(ctr "$p1" httpd)" readlink /etc/cfg/mode)" '^\.\.data/mode$'

# rolling update: maxUnavailable 0, so 3 stay Ready throughout (once all 3
# are Ready again after the readiness check above)
ready3=0
for i in $(seq 1 100); do
	[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["objects"]["Deployment/web"]["status"]["readyReplicas"])' "$ROOT/kube/default/status.json")" = 3 ] && { ready3=1; break; }
	sleep 0.1
done
is "3 Ready before the rollout" "$ready3" 1
sed -i 's/value: "1"/value: "2"/' "$W"
check "play a changed template" b kube play "$W"
like "... configured" "$OUT" 'deployment.apps/web configured'
min=3 done_roll=0 trace=
for i in $(seq 1 150); do
	r=$(python3 - "$ROOT/kube/default/status.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["objects"]["Deployment/web"]
st = s["status"]
print(st.get("readyReplicas", 0), st.get("updatedReplicas", 0), st.get("replicas", 0), int(s.get("complete", False)))
PY
)
	set -- $r
	trace="$trace $1/$2/$3"
	[ "$1" -lt "$min" ] && min=$1
	[ "$4" = 1 ] && [ "$2" = 3 ] && { done_roll=1; break; }
	sleep 0.1
done
is "the rollout finished" "$done_roll" 1
is "Ready pods never fell below 3" "$min" 3
[ "$min" = 3 ] || echo "# ready/updated/replicas: $trace"
for i in $(seq 1 50); do [ "$(pods_of httpd | wc -l)" = 3 ] && break; sleep 0.2; done
is "3 pods once the old ones stopped" "$(pods_of httpd | wc -l)" 3
is "all run the new template" "$(for p in $(pods_of httpd); do b exec "$(ctr "$p" httpd)" sh -c 'echo $VERSION'; done | sort -u)" 2

# scale
check "kube scale" b kube scale deployment/web --replicas 1
for i in $(seq 1 50); do [ "$(pods_of httpd | wc -l)" = 1 ] && break; sleep 0.2; done
is "... to 1" "$(pods_of httpd | wc -l)" 1

# --prune: what left the file goes; --replace: made again
cp "$W" "$T_DIR/keep.yaml"
python3 - "$W" <<'PY'
import sys
p = sys.argv[1]
docs = open(p).read().split("\n---\n")
open(p, "w").write("\n---\n".join(d for d in docs if "name: client" not in d))
PY
check "play without the client, no --prune" b kube play "$W"
is "... the client stays" "$(pods_of sh | wc -l)" 1
check "play --prune" b kube play --prune "$W"
like "... says pruned" "$OUT" 'pod/client pruned'
for i in $(seq 1 30); do [ "$(pods_of sh | wc -l)" = 0 ] && break; sleep 0.2; done
is "... the client pod is gone" "$(pods_of sh | wc -l)" 0
cp "$T_DIR/keep.yaml" "$W"
check "play the client again" b kube play --wait --timeout 60s "$W"
old=$(ctr client sh)
check "play --replace" b kube play --replace --wait --timeout 60s "$W"
like "... says replaced" "$OUT" 'pod/client replaced'
new=$(ctr client sh)
[ -n "$new" ] && [ "$new" != "$old" ] && ok "... the client was made again" || notok "... the client was made again ($old -> $new)"

# a StatefulSet with claims, a Job, a DaemonSet of an old API version
D=$T_DIR/db.yaml
cp "$K/db.yaml" "$D"
check "play a StatefulSet, a Job and a DaemonSet" b kube play --wait --timeout 60s "$D"
like "an old API version is run as apps/v1, with a warning" "$OUT" 'apiVersion extensions/v1beta1 was removed in Kubernetes 1.16; running it as apps/v1'
is "the DaemonSet runs one pod" "$(pods_of agent | wc -l)" 1
is "pods db-0 and db-1" "$(pods_of db | tr '\n' ' ')" "db-0 db-1 "
is "db-0 wrote its claim" "$(b exec "$(ctr db-0 db)" cat /data/who)" db-0
check "a claim per pod" b volume inspect kube_default_data-db-0 kube_default_data-db-1
like "... with its storage class" "$OUT" 'io.berth.kube.storage-class": "local"'
OUT=$(in_client nslookup db-1.db.default.svc.cluster.local 2>&1)
ip1=$(b inspect "$(ctr db-1 POD)" | python3 -c 'import json,sys; print(*[n["IPAddress"] for n in json.load(sys.stdin)[0]["NetworkSettings"]["Networks"].values()])')
like "the pod's own name under its headless Service answers its address" "$OUT" "Address:? *$ip1\$"
is "the Job ran 3 times" "$(b ps -a --filter label=io.kubernetes.container.name=count -q | wc -l)" 3
is "... and is complete" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["objects"]["Job/count"]["status"]["succeeded"])' "$ROOT/kube/default/status.json")" 3

# kube down the StatefulSet file: claims stay, play again finds the data
check "down the StatefulSet" b kube down "$D"
like "kubectl's delete lines" "$OUT" 'statefulset.apps "db" deleted'
check "claims stay without --volumes" b volume inspect kube_default_data-db-0
check "play it again" b kube play --wait --timeout 60s "$D"
is "the claim kept its data" "$(b exec "$(ctr db-0 db)" sh -c 'wc -l < /data/log')" 2

# flags and their bad values
exits "scale: --replicas is required" 1 b kube scale deployment/web
like "... says so" "$OUT" 'required flag\(s\) "replicas" not set'
exits "scale: a bad count" 1 b kube scale deployment/web --replicas -1
like "... names it" "$OUT" 'invalid --replicas "-1"'
exits "scale: an unknown type" 1 b kube scale frob/web --replicas 1
like "... kubectl's words" "$OUT" "doesn't have a resource type \"frob\""
exits "scale: nothing of that name" 1 b kube scale deployment/nope --replicas 1
like "... NotFound" "$OUT" 'deployments.apps "nope" not found'
exits "play: a bad --timeout" 1 b kube play --timeout soon "$W"
like "... names it" "$OUT" 'invalid --timeout "soon"'
printf 'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: never}\nspec:\n  serviceName: never\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: x, image: busybox:1.36}]}\n' > "$T_DIR/never.yaml"
exits "down: an object that is not there" 1 b kube down "$T_DIR/never.yaml"
like "... NotFound" "$OUT" 'statefulsets "never" not found'
exits "down --all needs a namespace" 1 b kube down --all
S=$T_DIR/stuck.yaml
cat >"$S" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: stuck}
spec:
  securityContext: {runAsNonRoot: true}
  containers: [{name: x, image: busybox:1.36, command: [sleep, "100"]}]
Y
t0=$(date +%s)
exits "play --wait fails at once on a pod that cannot start" 1 b kube play --wait --timeout 60s "$S"
like "... names the pod and the reason" "$OUT" 'pod stuck: container x: CreateContainerConfigError'
[ $(($(date +%s) - t0)) -lt 30 ] && ok "... without waiting for the timeout" || notok "... without waiting for the timeout"
check "down the stuck pod" b kube down "$S"
# --build: a directory named after the image beside the manifest
mkdir -p "$T_DIR/built/t0740-built"
printf 'FROM busybox:1.36\nRUN echo built > /built\n' > "$T_DIR/built/t0740-built/Dockerfile"
cat >"$T_DIR/built/app.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: built}
spec:
  terminationGracePeriodSeconds: 0
  containers:
    - name: x
      image: t0740-built:1
      command: [httpd, -f, -p, "18096", -h, /]
      ports: [{containerPort: 18096}]
Y
check "play --build --publish-all" b kube play --build --publish-all --wait --timeout 60s "$T_DIR/built/app.yaml"
is "... the image was built" "$(b exec "$(ctr built x)" cat /built)" built
# Running is not listening yet (no readiness probe here): ask a few times
for i in $(seq 1 25); do got=$(timeout 5 wget -qO- http://127.0.0.1:18096/built 2>&1) && break; sleep 0.2; done
like "... and the containerPort published on the host" "$got" '^built$'
check "down it" b kube down "$T_DIR/built/app.yaml"

# a sidecar (an init container with restartPolicy Always): started before
# the next init container (once its startupProbe passed), it keeps running
# beside the app and restarts when killed, whatever the pod's restartPolicy
cat >"$T_DIR/side.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: side}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  volumes: [{name: s, emptyDir: {}}]
  initContainers:
    - name: helper
      image: busybox:1.36
      restartPolicy: Always
      command: [sh, -c, 'echo up >> /s/helper; exec sleep 1000']
      volumeMounts: [{name: s, mountPath: /s}]
      startupProbe: {exec: {command: [test, -f, /s/helper]}, periodSeconds: 1}
    - name: setup
      image: busybox:1.36
      command: [sh, -c, 'test -f /s/helper && echo done > /s/setup']
      volumeMounts: [{name: s, mountPath: /s}]
  containers:
    - name: app
      image: busybox:1.36
      command: [sh, -c, 'cat /s/setup; exec sleep 1000']
      volumeMounts: [{name: s, mountPath: /s}]
Y
check "play a pod with a sidecar" b kube play --wait --timeout 60s "$T_DIR/side.yaml"
# "name restartCount state ready" of each init container, then each app container
pst() { b kube get pod "$1" -o json | python3 -c 'import json,sys; s=json.load(sys.stdin)["status"]; print(s["phase"], *[" ".join([c["name"], str(c["restartCount"]), *c["state"], str(c["ready"])]) for c in s.get("initContainerStatuses", []) + s["containerStatuses"]], sep=", ")'; }
is "... its status: the sidecar running and ready among the init containers" "$(pst side)" \
	"Running, helper 0 running True, setup 0 terminated True, app 0 running True"
is "... the init container ran after the sidecar was up" "$(b logs "$(ctr side app)" 2>&1)" done
is "... the sidecar runs beside the app" "$(b inspect -f '{{.State.Running}}' "$(ctr side helper)") $(b inspect -f '{{.State.Running}}' "$(ctr side app)")" "true true"
sc=$(ctr side helper)
kill -9 "$(b inspect -f '{{.State.Pid}}' "$sc")"
ok_restart=0
wait_for 10 restarted_running "$sc" && ok_restart=1
is "a killed sidecar restarts (the pod's restartPolicy is Never)" "$ok_restart" 1
is "... and the app still runs" "$(b inspect -f '{{.State.Running}}' "$(ctr side app)")" true
like "... its restart counted" "$(pst side)" "^Running, helper 1 running True, "
check "down the sidecar pod" b kube down "$T_DIR/side.yaml"
is "... no container of it left" "$(b ps -aq --filter label=io.kubernetes.pod.name=side | wc -l)" 0
# restartPolicy Never: the app container alone ends the pod, the sidecar is stopped
cat >"$T_DIR/sjob.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: sjob}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  initContainers: [{name: helper, image: busybox:1.36, restartPolicy: Always, command: [sleep, "1000"]}]
  containers: [{name: app, image: busybox:1.36, command: [sh, -c, 'sleep 1']}]
Y
check "play a pod whose app ends beside a sidecar" b kube play "$T_DIR/sjob.yaml"
for i in $(seq 1 40); do st=$(pst sjob 2>&1); [[ $st == Succeeded* ]] && break; sleep 0.25; done
is "... Succeeded by its app container, the sidecar stopped" "$st" "Succeeded, helper 0 terminated False, app 0 terminated False"
check "down it" b kube down "$T_DIR/sjob.yaml"

# down leaves nothing
br=br-$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Id"][:12])' "$ROOT/networks/kube-default.json")
check "down everything" b kube down --volumes "$W" "$D"
is "no container left" "$(b ps -aq | wc -l)" 0
is "no pod left" "$(ls "$ROOT/pods" 2>/dev/null | wc -l)" 0
is "no network left" "$(b network ls --format '{{.Name}}' | grep -c kube-)" 0
is "no iptables rule of the namespace's bridge" "$(iptables-save | grep -c "berth:$br")" 0
is "no bridge" "$(ip link show "$br" 2>/dev/null | wc -l)" 0
is "no mount below the store" "$(awk -v d="$ROOT" '$2 ~ "^"d' /proc/mounts | wc -l)" 0
is "no claim volume" "$(b volume ls -q | grep -c kube_)" 0
sleep 1.2
is "no supervisor" "$(ls "$RUNROOT"/kube/*/supervisor.pid 2>/dev/null | wc -l)" 0

# bad input: refused, nothing made
bad() {
	local desc=$1 pat=$2 f=$T_DIR/bad.yaml
	cat >"$f"
	fails "$desc" "$pat" b kube play "$f"
	is "$desc: nothing made" "$(b ps -aq | wc -l)$(ls "$ROOT/kube" 2>/dev/null | wc -l)" "00"
}
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  data: [\n' | bad "broken YAML names its line" 'bad.yaml:[0-9]+'
bad "a missing ConfigMap key" 'has no key "nope"' <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: "1"}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: x
      image: busybox:1.36
      env: [{name: A, valueFrom: {configMapKeyRef: {name: c, key: nope}}}]
Y
bad "a selector that does not match" 'selector.*(does not match|match).*labels' <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: b}}
    spec: {containers: [{name: x, image: busybox:1.36}]}
Y
bad "a port name that does not exist" 'targetPort "nope"' <<'Y'
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  selector: {app: a}
  ports: [{port: 80, targetPort: nope}]
---
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {app: a}}
spec: {containers: [{name: x, image: busybox:1.36, ports: [{name: http, containerPort: 80}]}]}
Y
bad "an image that is not there" 'nosuch-image:1.*(ErrImagePull|not present)' <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: x, image: "nosuch-image:1"}]}
Y
bad "two Services on one host port" '18090' <<'Y'
apiVersion: v1
kind: Service
metadata: {name: s1}
spec: {type: LoadBalancer, selector: {app: a}, ports: [{port: 18090}]}
---
apiVersion: v1
kind: Service
metadata: {name: s2}
spec: {type: LoadBalancer, selector: {app: b}, ports: [{port: 18090}]}
Y
bad "restartPolicy on an app container" 'spec.containers\[0\].restartPolicy: Forbidden: may not be set for non-init containers' <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: x, image: busybox:1.36, restartPolicy: Never}]}
Y
bad "an init container's restartPolicy Never" 'spec.initContainers\[0\].restartPolicy: Unsupported value: "Never"' <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: i, image: busybox:1.36, restartPolicy: Never}]
  containers: [{name: x, image: busybox:1.36}]
Y
bad "an unknown kind lists the supported ones" 'unknown kind "Frobnicator".*Deployment' <<'Y'
apiVersion: v1
kind: Frobnicator
metadata: {name: f}
Y
t_done
