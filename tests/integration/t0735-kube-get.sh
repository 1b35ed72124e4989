#!/usr/bin/env bash
# berth kube get / ps / logs / exec: kubectl's table shapes for every kind
# (-o wide), -o json|yaml|name, label selectors, --show-labels,
# --no-headers, -A, kubectl's errors and exit codes; kube ps; logs with the
# default container, -c, init containers, --all-containers --prefix, -f,
# --tail, --since, --timestamps and --previous after a restart; exec exit
# codes, -c, stdin, a completed pod, bad input. The first part reads pods
# made by the pod runtime's driver (berth debug pod) and a namespace store
# written by hand, so every cell is known; the second plays manifests with
# kube play and reads what its supervisor made.
. "$(dirname "$0")/../lib.sh"
need_fixtures
command -v python3 >/dev/null || skip_all "python3 is not installed"

NET=kv$$
NS=views
kube_cleanup() {
	local l ns name d p
	if [ -d "$ROOT/kube" ]; then
		for d in "$ROOT"/kube/*/; do
			[ -d "$d" ] && [ "$(basename "$d")" != "$NS" ] &&
				b kube down --namespace "$(basename "$d")" --all --volumes 2>&1 | sed 's/^/# cleanup: /'
		done
	fi
	for p in "$RUNROOT"/kube/*/supervisor.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	if [ -d "$ROOT/pods" ]; then
		for l in $(b debug pod ls 2>&1 | grep -o '"namespace": "[^"]*", *"name": "[^"]*"' | sed -E 's/.*"namespace": "([^"]*)".*"name": "([^"]*)"/\1\/\2/'); do
			ns=${l%%/*} name=${l#*/}
			b debug pod rm "$ns" "$name" --grace 0 2>&1 | sed 's/^/# cleanup: /'
		done
	fi
	[ -f "$ROOT/networks/$NET.json" ] && b network rm "$NET" 2>&1 | grep -v "^$NET$" | sed 's/^/# cleanup: /'
	t_cleanup
}
trap kube_cleanup EXIT

b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:1.36 >/dev/null || { notok "import busybox"; t_done; }
check "a network for the pods" b network create "$NET"
HOST=$(hostname)

# kg ARGS: stdout and stderr apart, exit code in $RC
kg() {
	b kube get "$@" >"$T_DIR/out" 2>"$T_DIR/err"
	RC=$?
	GOT=$(cat "$T_DIR/out")
	ERR=$(cat "$T_DIR/err")
}
# pod NAME JSON-SPEC-FIELDS JSON-META-FIELDS: record a pod through the driver
pod() {
	cat >"$T_DIR/$1.json" <<EOF
{"spec": {"namespace": "$NS", "name": "$1", "uid": "$(cat /proc/sys/kernel/random/uuid)", "hostname": "$1",
  "network": "$NET", "terminationGracePeriodSeconds": 1, $2},
 "meta": {"metadata": {"name": "$1", "namespace": "$NS", "creationTimestamp": "$CREATED", $3}, $4}}
EOF
	b debug pod create "$T_DIR/$1.json"
}
# sync NAME WANT-STATUS: step the pod until kube get shows that STATUS
sync() {
	local i got
	for i in $(seq 1 100); do
		b debug pod sync "$NS" "$1" >/dev/null 2>&1
		got=$(b kube get pods -n "$NS" "$1" --no-headers 2>&1 | awk '{print $3}')
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	echo "# $1: $got (want $2)"
	return 1
}
ago() { date -u -d "@$(($(date +%s) - $1))" +%Y-%m-%dT%H:%M:%SZ; }
# 2d3h30m ago: AGE "2d3h" for half an hour
CREATED=$(ago $((2 * 86400 + 3 * 3600 + 1800)))

# ---- pods of the pod runtime ----
check "a pod with an init container and two containers" pod web-abc12-xyz9q \
	'"restartPolicy": "Always", "labels": {"app": "web"},
	 "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["sh", "-c", "echo init-ran"]}],
	 "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", "echo hello-main; echo err-main >&2; exec sleep 1000"]},
	                {"name": "side", "image": "busybox:1.36", "command": ["sh", "-c", "echo line1; echo line2; echo line3; touch /side-marker; exec sleep 1000"]}]' \
	'"uid": "u-web", "labels": {"app": "web", "pod-template-hash": "abc12"},
	 "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "u-dep", "controller": true, "blockOwnerDeletion": true}]' \
	'"owner": "Deployment/web", "templateHash": "abc12",
	 "spec": {"initContainers": [{"name": "init", "image": "busybox:1.36"}], "containers": [{"name": "main", "image": "busybox:1.36"}, {"name": "side", "image": "busybox:1.36"}]}'
check "it runs" sync web-abc12-xyz9q Running
check "a pod that restarts once" pod crash-1 \
	'"restartPolicy": "Always", "labels": {"app": "crash"},
	 "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "if [ -f /ran ]; then echo second; exec sleep 1000; fi; touch /ran; echo first; exit 1"]}]' \
	'"uid": "u-crash", "labels": {"app": "crash"}' \
	'"owner": "Pod/crash-1", "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}'
check "a pod that completes" pod done-1 \
	'"restartPolicy": "Never", "containers": [{"name": "d", "image": "busybox:1.36", "command": ["sh", "-c", "echo done"]}]' \
	'"uid": "u-done", "labels": {"app": "done"}' '"owner": "Pod/done-1", "spec": {"containers": [{"name": "d", "image": "busybox:1.36"}]}'
check "a pod that keeps printing" pod ticker \
	'"restartPolicy": "Always", "containers": [{"name": "t", "image": "busybox:1.36", "command": ["sh", "-c", "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done"]}]' \
	'"uid": "u-tick", "labels": {"app": "ticker"}' '"owner": "Pod/ticker", "spec": {"containers": [{"name": "t", "image": "busybox:1.36"}]}'
check "... completed" sync done-1 Completed
check "... ticking" sync ticker Running
restarted=0
for i in $(seq 1 100); do
	b debug pod sync "$NS" crash-1 >/dev/null 2>&1
	b kube get pods -n "$NS" crash-1 --no-headers 2>&1 | grep -q 'Running *1 (' && { restarted=1; break; }
	sleep 0.1
done
is "the crashing pod restarted once and runs" "$restarted" 1

# ---- the namespace's objects and the supervisor's status, written by hand ----
mkdir -p "$ROOT/kube/$NS"
cat >"$ROOT/kube/$NS/objects.json" <<EOF
{"generation": 1, "objects": {
 "Deployment/web": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "$NS", "labels": {"app": "web"}, "creationTimestamp": "$CREATED"},
   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}, {"name": "side", "image": "busybox:1.36"}]}}}},
 "Service/web": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "$NS", "creationTimestamp": "$CREATED"},
   "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}},
 "Service/db": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "$NS", "labels": {"app": "db"}, "creationTimestamp": "$CREATED"},
   "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432, "protocol": "TCP"}]}},
 "Service/np": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np", "namespace": "$NS", "creationTimestamp": "$CREATED"},
   "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 81, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}},
 "ConfigMap/cfg": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "$NS", "creationTimestamp": "$CREATED"},
   "data": {"a": "1", "yes": "true", "when": "2026-01-01T00:00:00Z", "nginx.conf": "server {\n  listen 80;\n}\n"}},
 "Secret/pw": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw", "namespace": "$NS", "creationTimestamp": "$CREATED"}, "type": "Opaque", "data": {"password": "czNjcmV0"}},
 "PersistentVolumeClaim/data": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "$NS", "creationTimestamp": "$CREATED"},
   "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "local", "volumeMode": "Filesystem"}},
 "PersistentVolumeClaim/other": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "other", "namespace": "$NS", "creationTimestamp": "$CREATED"},
   "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "2Gi"}}}},
 "Job/pi": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "$NS", "creationTimestamp": "$CREATED"},
   "spec": {"completions": 1, "template": {"spec": {"containers": [{"name": "pi", "image": "busybox:1.36"}]}}}},
 "CronJob/tick": {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": "$NS", "creationTimestamp": "$CREATED"},
   "spec": {"schedule": "*/5 * * * *", "suspend": false, "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "t", "image": "busybox:1.36"}]}}}}}},
 "StatefulSet/db": {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "$NS", "creationTimestamp": "$CREATED"},
   "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": {"spec": {"containers": [{"name": "pg", "image": "busybox:1.36"}]}}}},
 "DaemonSet/agent": {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "$NS", "creationTimestamp": "$CREATED"},
   "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "a", "image": "busybox:1.36"}]}}}}
}}
EOF
cat >"$ROOT/kube/$NS/status.json" <<EOF
{"objects": {"Deployment/web": {"status": {"replicas": 2, "readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}},
 "Service/web": {"spec": {"clusterIP": "10.85.0.17", "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP", "nodePort": 31234}]},
                 "status": {"loadBalancer": {"ingress": [{"hostname": "localhost"}]}}},
 "Service/np": {"spec": {"clusterIP": "10.85.0.18", "ports": [{"port": 81, "protocol": "TCP", "nodePort": 30081}, {"port": 53, "protocol": "UDP", "nodePort": 30053}]}},
 "Job/pi": {"status": {"succeeded": 1, "startTime": "2026-12-07T10:00:00Z", "completionTime": "2026-12-07T10:00:07Z", "conditions": [{"type": "Complete", "status": "True"}]}},
 "StatefulSet/db": {"status": {"replicas": 1, "readyReplicas": 0}},
 "DaemonSet/agent": {"status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1, "updatedNumberScheduled": 1, "numberAvailable": 1}}},
 "replicasets": {"web-abc12": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-abc12", "namespace": "$NS", "labels": {"app": "web", "pod-template-hash": "abc12"}, "ownerKey": "Deployment/web", "creationTimestamp": "$CREATED"},
   "spec": {"replicas": 2}, "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}}},
 "pods": {}}
EOF
b volume create "kube_${NS}_data" >/dev/null

# ---- tables ----
kg pods -n $NS
is "get pods: exit 0, nothing on stderr" "$RC:$ERR" "0:"
like "get pods: kubectl's columns" "$(head -1 <<<"$GOT")" '^NAME              READY   STATUS      RESTARTS +AGE$'
like "... a running pod" "$GOT" '^web-abc12-xyz9q   2/2     Running     0 +2d3h$'
like "... RESTARTS with when the last one was" "$GOT" '^crash-1           1/1     Running     1 \([0-9]+s ago\)   2d3h$'
like "... a pod whose containers ended: Completed" "$GOT" '^done-1            0/1     Completed   0 +2d3h$'
kg po web-abc12-xyz9q -n $NS -o wide
like "-o wide: IP, NODE, NOMINATED NODE, READINESS GATES" "$(head -1 <<<"$GOT")" \
	'^NAME              READY   STATUS    RESTARTS   AGE    IP +NODE +NOMINATED NODE   READINESS GATES$'
like "... the pod's IP and this host" "$(tail -1 <<<"$GOT")" "^web-abc12-xyz9q   2/2     Running   0          2d3h   10\.[0-9.]+ +$HOST +<none> +<none>$"

kg deploy -n $NS -o wide
is "get deploy -o wide" "$GOT" "NAME   READY   UP-TO-DATE   AVAILABLE   AGE    CONTAINERS   IMAGES                      SELECTOR
web    1/2     2            1           2d3h   main,side    busybox:1.36,busybox:1.36   app=web"
kg rs -n $NS -o wide
is "get rs -o wide: the Deployment's ReplicaSet, its selector with pod-template-hash" "$GOT" "NAME        DESIRED   CURRENT   READY   AGE    CONTAINERS   IMAGES                      SELECTOR
web-abc12   2         1         1       2d3h   main,side    busybox:1.36,busybox:1.36   app=web,pod-template-hash=abc12"
kg svc -n $NS -o wide
is "get svc -o wide: LoadBalancer at localhost, headless None, NodePort ports" "$GOT" "NAME   TYPE           CLUSTER-IP   EXTERNAL-IP   PORT(S)                     AGE    SELECTOR
db     ClusterIP      None         <none>        5432/TCP                    2d3h   app=db
np     NodePort       10.85.0.18   <none>        81:30081/TCP,53:30053/UDP   2d3h   app=web
web    LoadBalancer   10.85.0.17   localhost     80:31234/TCP                2d3h   app=web"
kg pvc -n $NS -o wide
is "get pvc -o wide: kubectl 1.36's columns, a claim Bound to its berth volume" "$GOT" "NAME    STATUS    VOLUME            CAPACITY   ACCESS MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE    VOLUMEMODE
data    Bound     kube_views_data   1Gi        RWO            local          <unset>                 2d3h   Filesystem
other   Pending                                                              <unset>                 2d3h   <unset>"
kg cm,secret -n $NS
is "get cm,secret: one table per type, kind prefixes, a blank line between" "$GOT" "NAME            DATA   AGE
configmap/cfg   4      2d3h

NAME        TYPE     DATA   AGE
secret/pw   Opaque   1      2d3h"
kg jobs,cj -n $NS
is "get jobs,cj: the Job STATUS column, CronJob TIMEZONE" "$GOT" "NAME           STATUS     COMPLETIONS   DURATION   AGE
job.batch/pi   Complete   1/1           7s         2d3h

NAME                 SCHEDULE      TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE   AGE
cronjob.batch/tick   */5 * * * *   <none>     False     0        <none>          2d3h"
kg sts,ds -n $NS
is "get sts,ds" "$GOT" "NAME                  READY   AGE
statefulset.apps/db   0/1     2d3h

NAME                   DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE
daemonset.apps/agent   1         1         1       1            1           disk=ssd        2d3h"
kg all -n $NS
is "get all: kubectl's groups in its order" "$(grep -o '^[a-z.]*/' <<<"$GOT" | uniq | tr -d '\n')" \
	"pod/service/daemonset.apps/deployment.apps/replicaset.apps/statefulset.apps/cronjob.batch/job.batch/"
is "... one table each, blank lines between" "$(grep -c '^$' <<<"$GOT"):$(grep -c '^NAME ' <<<"$GOT")" "7:8"
like "... the pods as pod/NAME" "$GOT" '^pod/web-abc12-xyz9q +2/2 +Running'
kg namespaces
like "get ns: default and the store's namespaces, Active" "$GOT" "^$NS +Active +[0-9]+[smhd]"
like "... default always" "$GOT" '^default +Active'
kg deployments.apps web -n $NS --no-headers
is "a group-qualified type and a name, --no-headers" "$GOT" "web   1/2   2     1     2d3h"
kg pod/web-abc12-xyz9q service/web -n $NS
like "TYPE/NAME arguments" "$GOT" '^pod/web-abc12-xyz9q .*Running'
like "... of several types" "$GOT" '^service/web +LoadBalancer'

# ---- -o json | yaml | name ----
kg pod web-abc12-xyz9q -n $NS -o json
is "-o json of one object: the object" "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["kind"], d["metadata"]["name"], d["spec"]["nodeName"], d["status"]["phase"], d["metadata"]["ownerReferences"][0]["kind"], d["metadata"]["ownerReferences"][0]["name"])' <<<"$GOT" 2>&1)" \
	"Pod web-abc12-xyz9q $HOST Running ReplicaSet web-abc12"
like "... 4-space indentation as kubectl's" "$GOT" '^    "apiVersion": "v1",$'
kg svc -n $NS -o json
is "-o json of several: a List" "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["kind"], d["apiVersion"], len(d["items"]), repr(d["metadata"]["resourceVersion"]), d["items"][2]["spec"]["clusterIP"], d["items"][2]["spec"]["ports"][0]["nodePort"], d["items"][2]["status"]["loadBalancer"]["ingress"][0]["hostname"])' <<<"$GOT" 2>&1)" \
	"List v1 3 '' 10.85.0.17 31234 localhost"
kg all -n $NS -o yaml
yj=$(b kube get all -n $NS -o json 2>&1)
is "-o yaml reads back as the same objects as -o json (quoting as kubectl's)" "$(python3 -c '
import json, sys, yaml
y = yaml.safe_load(open(sys.argv[1]))
j = json.loads(sys.argv[2])
def strip(o):  # the pods status moves on between the two calls
    for i in o["items"]:
        if i["kind"] == "Pod":
            i.pop("status", None)
    return o
print(strip(y) == strip(j))' "$T_DIR/out" "$yj" 2>&1)" True
like "... kubectl's YAML: sequences at their key's indentation" "$GOT" '^    containers:
    - image: busybox:1.36'
like "... timestamps quoted" "$GOT" "creationTimestamp: \"$CREATED\""
kg cm cfg -n $NS -o yaml
like "... a multi-line value as a literal block" "$GOT" '  nginx.conf: \|
    server \{
      listen 80;
    \}'
like "... strings that read as booleans quoted" "$GOT" '  "yes": "true"'
kg all -n $NS -o name
like "-o name: TYPE/NAME lines" "$GOT" '^deployment.apps/web$'
like "... pods too" "$GOT" '^pod/crash-1$'
is "... one per object" "$(wc -l <<<"$GOT")" 13

# ---- selectors, labels, namespaces ----
kg pods -n $NS -l app=web
is "-l app=web" "$(awk 'NR > 1 {print $1}' <<<"$GOT")" web-abc12-xyz9q
kg pods -n $NS -l 'app in (crash,done),app!=done'
is "-l with in and != (ANDed)" "$(awk 'NR > 1 {print $1}' <<<"$GOT")" crash-1
kg pods -n $NS -l '!app'
is "-l !app: nothing, kubectl's message on stderr, exit 0" "$RC:$GOT:$ERR" "0::No resources found in $NS namespace."
kg pods -n $NS --show-labels -l app=web
like "--show-labels" "$GOT" 'LABELS$'
like "... sorted k=v" "$GOT" 'app=web,pod-template-hash=abc12$'
kg pods -A
like "-A: a NAMESPACE column first" "$(head -1 <<<"$GOT")" '^NAMESPACE   NAME'
like "... the pods of every namespace" "$GOT" "^$NS +ticker +1/1 +Running"
kg pods
is "an empty namespace" "$RC:$GOT:$ERR" "0::No resources found in default namespace."
kg deploy -A -l app=nope
is "... with -A" "$ERR" "No resources found"
kg deploy -n nosuch
is "... a namespace that does not exist" "$ERR" "No resources found in nosuch namespace."

# ---- errors ----
kg pods nope -n $NS
is "a missing object: exit 1, kubectl's NotFound" "$RC:$GOT:$ERR" '1::Error from server (NotFound): pods "nope" not found'
kg deploy web nope -n $NS
is "... found and missing: the table and the error" "$RC:$(tail -1 <<<"$GOT" | awk '{print $1}'):$ERR" \
	'1:web:Error from server (NotFound): deployments.apps "nope" not found'
kg foo
is "an unknown type" "$RC:$ERR" "1:error: the server doesn't have a resource type \"foo\""
kg pods,foo -n $NS
is "... in a list" "$RC:$GOT:$ERR" "1::error: the server doesn't have a resource type \"foo\""
kg
is "no type" "$RC:$(head -1 <<<"$ERR")" '1:You must specify the type of resource to get. Use "berth kube get --help" for the supported resource types.'
kg pods -o jsonpath='{.items}'
is "an output format berth lacks" "$RC:$ERR" '1:error: unable to match a printer suitable for the output format "jsonpath={.items}", allowed formats are: json,name,wide,yaml'
kg pods x -A
is "a name across all namespaces" "$RC:$ERR" "1:error: a resource cannot be retrieved by name across all namespaces"
kg pods x -l app=web
is "a name and a selector" "$RC:$ERR" "1:error: name cannot be provided when a selector is specified"
kg pods -l 'app in (x'
like "a malformed selector" "$RC:$ERR" '^1:error: unable to parse requirement'
kg pods -n ../etc
like "a namespace that is no DNS label" "$RC:$ERR" '^1:error: invalid namespace "\.\./etc" \(-n\)'
kg pods Bad_Name -n $NS
like "a name that is no DNS subdomain" "$RC:$ERR" '^1:error: invalid resource name "Bad_Name"'
kg pods pod/x
like "a type and TYPE/NAME" "$RC:$ERR" '^1:error: there is no need to specify a resource type as a separate argument'
exits "an unknown flag" 1 b kube get pods --watch

# ---- kube ps ----
check "kube ps" b kube ps -n $NS
like "... berth's columns" "$(head -1 <<<"$OUT")" '^POD               OWNER            READY   STATUS      RESTARTS +IP +AGE    CONTAINERS$'
main_id=$(b debug pod id $NS web-abc12-xyz9q main)
like "... each container with its berth ID and state, init containers first" "$OUT" \
	"^web-abc12-xyz9q   deployment/web   2/2     Running     0 +10\.[0-9.]+ +2d3h   init:init=[0-9a-f]{12}\(exited 0\), main=${main_id:0:12}\(ready\), side=[0-9a-f]{12}\(ready\)$"
like "... a bare pod has no owner" "$OUT" '^done-1 +<none> +0/1 +Completed'
check "... the ID works with berth logs" b logs "${main_id:0:12}"
check "kube ps -A" b kube ps -A
like "... with NAMESPACE" "$(head -1 <<<"$OUT")" '^NAMESPACE   POD'
exits "kube ps takes no arguments" 1 b kube ps foo

# ---- kube logs ----
kl() {
	b kube logs "$@" >"$T_DIR/out" 2>"$T_DIR/err"
	RC=$?
	GOT=$(cat "$T_DIR/out")
	ERR=$(cat "$T_DIR/err")
}
kl -n $NS web-abc12-xyz9q
is "logs: the first container, stdout and stderr both on stdout" "$RC:$GOT" "0:hello-main
err-main"
is "... kubectl 1.36's note on stderr" "$ERR" 'Defaulted container "main" out of: main, side, init (init)'
kl -n $NS web-abc12-xyz9q -c side
is "-c side" "$GOT:$ERR" "line1
line2
line3:"
kl -n $NS web-abc12-xyz9q side --tail 2
is "an inline container, --tail 2" "$GOT" "line2
line3"
kl -n $NS web-abc12-xyz9q -c init
is "an init container" "$GOT" init-ran
kl -n $NS web-abc12-xyz9q --all-containers --prefix
is "--all-containers --prefix: init first" "$GOT" "[pod/web-abc12-xyz9q/init] init-ran
[pod/web-abc12-xyz9q/main] hello-main
[pod/web-abc12-xyz9q/main] err-main
[pod/web-abc12-xyz9q/side] line1
[pod/web-abc12-xyz9q/side] line2
[pod/web-abc12-xyz9q/side] line3"
kl -n $NS web-abc12-xyz9q -c main --timestamps --tail 1
like "--timestamps" "$GOT" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z err-main$'
kl -n $NS web-abc12-xyz9q -c main --since 1h
is "--since 1h" "$GOT" "hello-main
err-main"
kl -n $NS web-abc12-xyz9q -c main --since-time 2999-01-01T00:00:00Z
is "--since-time in the future: nothing" "$RC:$GOT" "0:"
kl -n $NS deploy/web
is "deploy/NAME: one of its pods" "$RC:$GOT" "0:hello-main
err-main"
kl -n $NS svc/web -c side --tail 1
is "svc/NAME" "$GOT" line3
kl -n $NS crash-1
is "after a restart: the current run only" "$GOT" second
kl -n $NS crash-1 --previous
is "--previous: the run before" "$RC:$GOT" "0:first"
kl -n $NS crash-1 -p --tail 1
is "--previous --tail 1" "$GOT" first
kl -n $NS ticker --previous
is "--previous without one: kubectl's error" "$RC:$ERR" '1:Error from server (BadRequest): previous terminated container "t" in pod "ticker" not found'
timeout 2 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" kube logs -n $NS -f ticker >"$T_DIR/follow" 2>&1
is "-f keeps following (until stopped)" "$?" 124
n0=$(b kube logs -n $NS ticker | wc -l)
is "... and printed what came meanwhile" "$([ "$(grep -c '^tick ' "$T_DIR/follow")" -gt 3 ] && [ "$(wc -l <"$T_DIR/follow")" -le "$n0" ] && echo yes)" yes
timeout 2 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" kube logs -n $NS -f --all-containers --prefix web-abc12-xyz9q >"$T_DIR/follow" 2>&1
is "-f --all-containers follows them all at once" "$?:$(sort "$T_DIR/follow" | head -2 | tr '\n' '|')" \
	"124:[pod/web-abc12-xyz9q/init] init-ran|[pod/web-abc12-xyz9q/main] err-main|"
kl -n $NS done-1
is "a completed pod's log" "$RC:$GOT" "0:done"
kl -n $NS web-abc12-xyz9q -c nope
is "an unknown container" "$RC:$ERR" "1:error: container nope is not valid for pod web-abc12-xyz9q"
kl -n $NS nope
is "an unknown pod" "$RC:$ERR" '1:Error from server (NotFound): pods "nope" not found'
kl -n $NS deploy/nope
is "an unknown deployment" "$RC:$ERR" '1:Error from server (NotFound): deployments.apps "nope" not found'
kl -n $NS foo/x
is "an unknown type" "$RC:$ERR" "1:error: the server doesn't have a resource type \"foo\""
kl -n $NS cm/cfg
like "a type without pods" "$RC:$ERR" '^1:error: cannot attach to configmap/cfg'
kl -n $NS web-abc12-xyz9q --tail x
like "a bad --tail" "$RC:$ERR" '^1:error: invalid argument "x" for "--tail" flag'
kl -n $NS web-abc12-xyz9q --since 5parsecs
like "a bad --since" "$RC:$ERR" '^1:error: invalid argument "5parsecs" for "--since" flag'
kl -n $NS web-abc12-xyz9q --since 1h --since-time 2026-01-01T00:00:00Z
is "--since and --since-time" "$RC:$ERR" '1:error: at most one of `sinceTime` or `sinceSeconds` may be specified'
kl -n $NS web-abc12-xyz9q -c main side
is "-c and an inline container" "$RC:$ERR" "1:error: only one of -c or an inline [CONTAINER] arg is allowed"
kl -n $NS
like "no pod" "$RC:$ERR" "^1:error: expected 'logs \[-f\] \[-p\] \(POD \| TYPE/NAME\) \[-c CONTAINER\]'"

# ---- kube exec ----
ke() {
	b kube exec "$@" >"$T_DIR/out" 2>"$T_DIR/err"
	RC=$?
	GOT=$(cat "$T_DIR/out")
	ERR=$(cat "$T_DIR/err")
}
ke -n $NS web-abc12-xyz9q -- sh -c 'echo in-$(hostname); exit 3'
is "exec: the command's output and exit code" "$RC:$GOT" "3:in-web-abc12-xyz9q"
is "... kubectl's lines on stderr" "$ERR" 'Defaulted container "main" out of: main, side, init (init)
command terminated with exit code 3'
ke -n $NS -q web-abc12-xyz9q -- true
is "-q: nothing on stderr, exit 0" "$RC:$ERR" "0:"
ke -n $NS -c side web-abc12-xyz9q -- ls /side-marker
is "-c side runs in that container" "$RC:$GOT" "0:/side-marker"
ke -n $NS -q web-abc12-xyz9q -- ls /side-marker
is "... and not in the default one" "$RC" 1
is "exec stdin with -i" "$(echo piped | b kube exec -i -n $NS -c side web-abc12-xyz9q -- cat 2>&1)" piped
is "... not without" "$(echo piped | b kube exec -n $NS -c side web-abc12-xyz9q -- cat 2>&1)" ""
ke -n $NS deploy/web -- hostname
is "deploy/NAME" "$RC:$GOT" "0:web-abc12-xyz9q"
ke -n $NS -c nope web-abc12-xyz9q -- true
is "an unknown container" "$RC:$ERR" '1:error: unable to upgrade connection: container not found ("nope")'
ke -n $NS -c init web-abc12-xyz9q -- true
is "a container that is not running" "$RC:$ERR" '1:error: unable to upgrade connection: container not found ("init")'
ke -n $NS done-1 -- true
is "a completed pod" "$RC:$ERR" "1:error: cannot exec into a container in a completed pod; current phase is Succeeded"
ke -n $NS -q web-abc12-xyz9q -- /nonexistent
like "a command that is not there" "$RC:$ERR" '^1:error: Internal error occurred: error executing command in container: .*nonexistent'
ke -n $NS web-abc12-xyz9q ls
is "the old form without --" "$RC:$(head -1 <<<"$ERR")" "1:error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead"
ke -n $NS web-abc12-xyz9q --
is "no command" "$RC:$(head -1 <<<"$ERR")" "1:error: you must specify at least one command for the container"
ke -n $NS -- ls
is "no pod" "$RC:$(head -1 <<<"$ERR")" "1:error: pod, type/name or --filename must be specified"
ke -n $NS nope -- true
is "an unknown pod" "$RC:$ERR" '1:Error from server (NotFound): pods "nope" not found'
ke -n 'a b' x -- true
like "a bad namespace" "$RC:$ERR" '^1:error: invalid namespace "a b"'

# ---- what kube play made ----
P=played
cat >"$T_DIR/app.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: "1"
  b: two
---
apiVersion: v1
kind: Secret
metadata:
  name: pw
stringData:
  password: s3cret
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: main
          image: busybox:1.36
          command: ["sh", "-c", "echo hello from \$(hostname); exec sleep 1000"]
        - name: side
          image: busybox:1.36
          command: ["sh", "-c", "echo side; exec sleep 1000"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  selector:
    app: web
  ports:
    - port: 18735
      targetPort: 8080
---
apiVersion: batch/v1
kind: Job
metadata:
  name: compute
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: c
          image: busybox:1.36
          command: ["sh", "-c", "echo computed"]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Pod
metadata:
  name: claimer
  labels:
    app: claimer
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: c
      image: busybox:1.36
      command: ["sh", "-c", "echo data > /data/f; exec sleep 1000"]
      volumeMounts:
        - name: d
          mountPath: /data
  volumes:
    - name: d
      persistentVolumeClaim:
        claimName: data
EOF
check "kube play --wait" b kube play --wait --timeout 60s -n $P "$T_DIR/app.yaml"
done_job=0
for i in $(seq 1 100); do
	b kube get jobs -n $P compute --no-headers 2>&1 | grep -q ' Complete ' && { done_job=1; break; }
	sleep 0.2
done
is "the Job completes" "$done_job" 1
kg deploy web -n $P
like "get deploy: the replicas are ready" "$GOT" '^web    2/2     2            2           [0-9]+s$'
kg pods -n $P -l app=web --no-headers
is "get pods -l app=web: the Deployment's two pods, running" "$(grep -cE '^web-[a-z0-9]+-[a-z0-9]{5} +2/2 +Running +0 +[0-9]+s$' <<<"$GOT")" 2
hash=$(b kube get rs -n $P -o name 2>&1 | sed -n 's|^replicaset.apps/web-||p')
kg rs -n $P
like "get rs: the ReplicaSet of the pods" "$GOT" "^web-$hash   2         2         2       [0-9]+s$"
like "... the pods are named after it" "$(b kube get pods -n $P -l app=web -o name 2>&1)" "^pod/web-$hash-"
kg svc web -n $P
like "get svc: a LoadBalancer at localhost with its nodePort" "$GOT" '^web    LoadBalancer   [0-9.]+ +localhost     18735:3[0-9]{4}/TCP   [0-9]+s$'
kg svc web -n $P -o json
is "... -o json: the desired ports with the allocations" "$(python3 -c 'import json,sys; d=json.load(sys.stdin); p=d["spec"]["ports"][0]; print(p["port"], p["targetPort"], p["nodePort"] > 0, d["spec"]["clusterIP"] == d["spec"]["clusterIPs"][0])' <<<"$GOT" 2>&1)" "18735 8080 True True"
kg jobs -n $P
like "get jobs" "$GOT" '^compute   Complete   1/1           [0-9]+s +[0-9]+s$'
kg pods -n $P -l job-name=compute --no-headers
like "... its pod Completed" "$GOT" '^compute-[a-z0-9]{5} +0/1 +Completed +0 '
kg pvc -n $P
like "get pvc: Bound to its berth volume" "$GOT" "^data   Bound    kube_${P}_data   1Gi        RWO  "
kg cm,secret -n $P
like "get cm,secret" "$GOT" '^configmap/cfg   2      [0-9]+s$'
like "... a Secret's stringData counts" "$GOT" '^secret/pw   Opaque   1      [0-9]+s$'
kg ns
like "get ns: the played namespace" "$GOT" "^$P +Active +[0-9]+[sm]"
kg all -A -o name
like "get all -A: both namespaces' objects" "$GOT" '^deployment.apps/web$'
is "... the pods of both" "$(grep -c '^pod/' <<<"$GOT")" 8
kl -n $P deploy/web
like "logs deploy/web: one of its pods" "$RC:$GOT" '^0:hello from web-'
like "... kubectl's notes" "$ERR" '^Found 2 pods, using pod/web-'
like "... and the default container" "$ERR" 'Defaulted container "main" out of: main, side$'
kl -n $P job/compute
is "logs job/NAME" "$RC:$GOT" "0:computed"
ke -n $P -q deploy/web -- hostname
like "exec deploy/web" "$RC:$GOT" "^0:web-$hash-"
ke -n $P claimer -- cat /data/f
is "exec in the pod using the claim" "$RC:$GOT" "0:data"
check "kube ps" b kube ps -n $P
like "... the Deployment's pods" "$OUT" "^web-$hash-[a-z0-9]{5} +deployment/web +2/2 +Running"
like "... the Job's" "$OUT" '^compute-[a-z0-9]{5} +job/compute +0/1 +Completed .* c=[0-9a-f]{12}\(exited 0\)$'
check "kube down" b kube down -n $P --all --volumes
kg all -n $P
is "nothing left to get" "$RC:$GOT:$ERR" "0::No resources found in $P namespace."

t_done
