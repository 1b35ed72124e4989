#!/usr/bin/env bash
# The pod runtime (src/runtime/pod.c) through its hidden driver `berth debug
# pod`: a sandbox holding the pod's network namespace, containers that
# reach each other on localhost, init containers in order, Kubernetes'
# command/args semantics, env and the pod IP, hostname and /etc/hosts,
# resources as cgroup values, the security context, a killed sandbox or
# container, pods that end, removal that leaves nothing, and bad input.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures

NET=kp$$
pods_cleanup() {
	local l ns name
	[ -d "$ROOT/pods" ] || return 0
	for l in $(b debug pod ls 2>&1 | grep -o '"namespace": "[^"]*", *"name": "[^"]*"' | sed -E 's/.*"namespace": "([^"]*)".*"name": "([^"]*)"/\1\/\2/'); do
		ns=${l%%/*} name=${l#*/}
		b debug pod rm "$ns" "$name" --grace 0 2>&1 | sed 's/^/# cleanup: /'
	done
}
trap 'pods_cleanup; ctr_cleanup; b network rm "$NET" 2>&1 | grep -v "^$NET$" | sed "s/^/# cleanup: /"; t_cleanup' EXIT

b import -c 'CMD ["sh"]' "$(busybox_tar)" bb >/dev/null || { notok "import busybox"; t_done; }
b import -c 'ENTRYPOINT ["echo", "ep"]' -c 'CMD ["c1"]' "$(busybox_tar)" epimg >/dev/null || { notok "import epimg"; t_done; }
b import -c 'USER 1000' "$(busybox_tar)" nonroot >/dev/null || { notok "import nonroot"; t_done; }
check "a network for the pods" b network create "$NET"
BR=$(grep -o '"Bridge": *"[^"]*"' "$ROOT/networks/$NET.json" | cut -d'"' -f4)

# pstat NS NAME EXPR: a field of the pod's status through python's json
# (the system's python: a pyenv shim costs 0.4 s a call)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pstat() {
	b debug pod status "$1" "$2" | "$PY" -c 'import json,sys; s=json.load(sys.stdin); print(eval(sys.argv[1]))' "$3"
}
# sync_until SECONDS NS NAME EXPR WANT: sync the pod until pstat EXPR is WANT
sync_until() {
	local end=$(( $(date +%s) + $1 )) ns=$2 name=$3 expr=$4 want=$5 got
	while :; do
		b debug pod sync "$ns" "$name" >"$T_DIR/sync.out" 2>&1
		got=$(pstat "$ns" "$name" "$expr" 2>&1)
		[ "$got" = "$want" ] && return 0
		[ "$(date +%s)" -lt "$end" ] || break
		sleep 0.1
	done
	sed 's/^/# last sync: /' "$T_DIR/sync.out"
	echo "# $expr: $got (want $want)"
	return 1
}
cstate() { # NS NAME CTR: the state key of a container's status
	pstat "$1" "$2" "[list(c['state'])[0] + ':' + str(list(c['state'].values())[0].get('reason', '')) for c in s.get('initContainerStatuses', []) + s['containerStatuses'] if c['name'] == '$3'][0]"
}
cid() { b debug pod id "$@"; }
before_links=$(ip -o link show master "$BR" 2>&1 | wc -l)
before_mounts=$(grep -c " $ROOT" /proc/mounts)

# ---- a pod of two containers ----
mkdir -p "$T_DIR/shared" "$T_DIR/www"
: >"$T_DIR/shared/order"
chmod 777 "$T_DIR/shared"; chmod 666 "$T_DIR/shared/order" # cli runs as 1234
echo hello-from-srv >"$T_DIR/www/index.html"
cat >"$T_DIR/web.json" <<EOF
{"spec": {"namespace": "default", "name": "web", "uid": "11111111-2222-4333-8444-555555555555",
  "hostname": "web-0", "subdomain": "nginx", "network": "$NET", "terminationGracePeriodSeconds": 1,
  "labels": {"app": "web"},
  "hostAliases": [{"ip": "10.9.8.7", "hostnames": ["foo.local", "bar.local"]}],
  "hostPorts": [{"containerPort": 8080, "hostPort": 38730, "protocol": "TCP"}],
  "initContainers": [
    {"name": "init-a", "image": "bb", "command": ["sh", "-c", "echo a >>/shared/order"],
     "mounts": [{"source": "$T_DIR/shared", "target": "/shared"}]},
    {"name": "init-b", "image": "bb", "command": ["sh", "-c", "test -f /shared/order && echo b >>/shared/order"],
     "mounts": [{"source": "$T_DIR/shared", "target": "/shared"}]}],
  "containers": [
    {"name": "srv", "image": "bb", "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
     "mounts": [{"source": "$T_DIR/www", "target": "/www", "readOnly": true}, {"source": "$T_DIR/shared", "target": "/shared"}],
     "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "echo bye >/shared/prestop"]}}},
     "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}},
     "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]},
    {"name": "cli", "image": "bb", "command": ["sh", "-c"], "args": ["echo app >>/shared/order; exec sleep 1000"],
     "env": [{"name": "GREETING", "value": "hi there"}], "envPodIP": ["MY_POD_IP"],
     "workingDir": "/tmp/wd",
     "securityContext": {"runAsUser": 1234, "runAsGroup": 2345, "readOnlyRootFilesystem": true},
     "mounts": [{"source": "$T_DIR/shared", "target": "/shared"}]}]},
 "meta": {"ownerKind": "ReplicaSet", "ownerName": "web-abc"}}
EOF
check "create the pod" b debug pod create "$T_DIR/web.json"
fails "a second create of it" 'pod default/web already exists' b debug pod create "$T_DIR/web.json"
is "nothing runs before a sync" "$(b ps -a -q | wc -l)" "0"
like "pending at first" "$(pstat default web 's["phase"]')" '^Pending$'
if sync_until 20 default web 's["phase"] + str([c["ready"] for c in s["containerStatuses"]])' 'Running[True, True]'; then
	ok "the pod runs with both containers ready"
else
	notok "the pod runs with both containers ready"
	b debug pod status default web | head -60 | sed 's/^/#   /'
fi
# Running means started, not that its first line ran yet (a loaded machine)
for i in $(seq 1 50); do grep -q app "$T_DIR/shared/order" && break; sleep 0.1; done
is "init containers ran in order, before the app" "$(cat "$T_DIR/shared/order")" "a
b
app"
is "init containers terminated Completed" "$(cstate default web init-a) $(cstate default web init-b)" \
	"terminated:Completed terminated:Completed"
names=$(b ps -a --format '{{.Names}}' | sort | tr '\n' ' ')
is "berth containers named as the kubelet's" "$names" \
	"k8s_POD_web_default k8s_cli_web_default k8s_init-a_web_default k8s_init-b_web_default k8s_srv_web_default "
srv=$(cid default web srv) cli=$(cid default web cli)
is "debug pod id: the first app container by default" "$(cid default web)" "$srv"
fails "debug pod id: an unknown container" 'container nope is not valid for pod web' cid default web nope
ip=$(pstat default web 's["podIP"]')
like "a pod IP" "$ip" '^10\.|^172\.|^192\.'
is "localhost between the pod's containers" "$(b exec "$cli" wget -qO- http://127.0.0.1:8080/ 2>&1)" "hello-from-srv"
is "the pod IP from the host" "$(wget -qO- "http://$ip:8080/" 2>&1)" "hello-from-srv"
is "the hostPort on the sandbox" "$(wget -qO- http://127.0.0.1:38730/ 2>&1)" "hello-from-srv"
is "the same network namespace" "$(b exec "$srv" cat /sys/class/net/eth0/address)" \
	"$(b exec "$cli" cat /sys/class/net/eth0/address)"
is "env and envPodIP" "$(b exec "$cli" sh -c 'echo "$GREETING|$MY_POD_IP"')" "hi there|$ip"
is "hostname" "$(b exec "$cli" hostname)" "web-0"
hosts=$(b exec "$cli" cat /etc/hosts)
like "hosts: the kubelet's managed file" "$hosts" '^# Kubernetes-managed hosts file.'
like "hosts: IP, FQDN under the subdomain, hostname" "$hosts" "^$ip	web-0\.nginx\.default\.svc\.cluster\.local	web-0$"
like "hosts: hostAliases" "$hosts" '^10\.9\.8\.7	foo\.local	bar\.local$'
is "the same hosts file in every container" "$(b exec "$srv" cat /etc/hosts)" "$hosts"
resolv=$(b exec "$cli" cat /etc/resolv.conf)
like "resolv.conf: the network's DNS server" "$resolv" '^nameserver [0-9.]+$'
like "resolv.conf: the cluster search path" "$resolv" '^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local$'
like "resolv.conf: ndots" "$resolv" '^options ndots:5$'
is "runAsUser/runAsGroup" "$(b exec "$cli" id -u):$(b exec "$cli" id -g)" "1234:2345"
is "workingDir" "$(b exec "$cli" pwd)" "/tmp/wd"
like "readOnlyRootFilesystem" "$(b exec "$cli" touch /x 2>&1)" 'Read-only file system'
check "a writable mount in a read-only root" b exec "$cli" touch /shared/w
like "a readOnly mount" "$(b exec "$srv" touch /www/x 2>&1)" 'Read-only file system'
labels=$(b inspect -f '{{json .Config.Labels}}' "$cli")
like "labels: pod, namespace, uid, container" "$labels" '"io.kubernetes.pod.name":"web".*"io.kubernetes.pod.namespace":"default".*"io.kubernetes.pod.uid":"11111111-2222-4333-8444-555555555555".*"io.kubernetes.container.name":"cli"'
like "labels: io.berth.kube.pod and spec.labels" "$labels" '"app":"web".*"io.berth.kube.pod":"default_web"'
like "the sandbox is labelled POD" "$(b inspect -f '{{json .Config.Labels}}' k8s_POD_web_default)" '"io.kubernetes.container.name":"POD"'
is "restartPolicy Always -> always" "$(b inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$cli")" "always"
is "init containers restart on failure" "$(b inspect -f '{{.HostConfig.RestartPolicy.Name}}' k8s_init-a_web_default)" "on-failure"
# resources -> cgroup values (v1 or v2)
cg_val() { # ID FILE...: the first of the files that exists in the container's cgroups
	local d f
	for f in "${@:2}"; do
		for d in $(cgroup_dirs "$1"); do
			[ -f "$d/$f" ] && { cat "$d/$f"; return; }
		done
	done
	echo missing
}
is "limits.memory -> memory limit" "$(cg_val "$srv" memory.limit_in_bytes memory.max)" "67108864"
like "limits.cpu -> CFS quota 50000/100000" "$(cg_val "$srv" cpu.cfs_quota_us cpu.max)" '^50000( 100000)?$'
is "requests.cpu 250m -> 256 shares" "$(cg_val "$srv" cpu.shares)" "256"
is "no requests -> 2 shares, as the kubelet" "$(cg_val "$cli" cpu.shares)" "2"
q=$(pstat default web 's["qosClass"]')
is "qosClass" "$q" "Burstable"
conds=$(pstat default web '" ".join(c["type"] + "=" + c["status"] for c in s["conditions"])')
is "conditions" "$conds" "PodScheduled=True Initialized=True ContainersReady=True Ready=True"
ps_out=$(ps -o args= -p "$(b inspect -f '{{.State.Pid}}' k8s_POD_web_default)")
like "the sandbox's pid 1 is the pause" "$ps_out" '^/pause'
is "the sandbox runs as 65535" "$(ps -o uid= -p "$(b inspect -f '{{.State.Pid}}' k8s_POD_web_default)" | tr -d ' ')" "65535"
is "meta kept" "$(b debug pod ls default | grep -c '"ownerName": "web-abc"')" "1"

# ---- a killed container restarts, a killed sandbox remakes the pod ----
check "kill the cli container" b kill "$cli"
if sync_until 15 default web '[c["restartCount"] for c in s["containerStatuses"] if c["name"] == "cli"][0]' 1; then
	ok "the killed container restarted (restartCount 1)"
else
	notok "the killed container restarted"
fi
sync_until 10 default web 's["containerStatuses"][1]["ready"]' True >/dev/null
is "it is the same container" "$(cid default web cli)" "$cli"
old_sandbox=$(pstat default web 's["berth"]["sandbox"]')
kill -9 "$(b inspect -f '{{.State.Pid}}' k8s_POD_web_default)"
wait_until 5 sh -c "[ \"\$($BERTH --root $ROOT --runroot $RUNROOT inspect -f '{{.State.Status}}' $old_sandbox)\" = exited ]"
: >"$T_DIR/shared/order"
if sync_until 20 default web 's["phase"] + str([c["ready"] for c in s["containerStatuses"]])' 'Running[True, True]'; then
	ok "after the sandbox was killed the pod runs again"
else
	notok "after the sandbox was killed the pod runs again"
fi
new_sandbox=$(pstat default web 's["berth"]["sandbox"]')
[ "$new_sandbox" != "$old_sandbox" ] && ok "a new sandbox" || notok "a new sandbox"
is "init containers ran again" "$(cat "$T_DIR/shared/order")" "a
b
app"
is "the old containers are gone" "$(b ps -a -q | wc -l)" "5"
cli2=$(cid default web cli)
is "localhost again" "$(b exec "$cli2" wget -qO- http://127.0.0.1:8080/ 2>&1)" "hello-from-srv"
is "restart counts carried over" "$(pstat default web '[c["restartCount"] for c in s["containerStatuses"]]')" "[1, 2]"

# ---- two processes at once: sync and remove take the pod's lock ----
b debug pod sync default web &
b debug pod sync default web &
wait
is "concurrent syncs change nothing" "$(b ps -a -q | wc -l)" "5"

# ---- remove leaves nothing ----
t0=$(now_ms)
check "remove the pod" b debug pod rm default web
t1=$(now_ms)
[ $((t1 - t0)) -lt 5000 ] && ok "removed within the grace period ($((t1 - t0)) ms)" || notok "remove took $((t1 - t0)) ms"
is "the preStop hook ran" "$(cat "$T_DIR/shared/prestop" 2>&1)" "bye"
is "no container left" "$(b ps -a -q | wc -l)" "0"
is "no veth left on the bridge" "$(ip -o link show master "$BR" 2>&1 | wc -l)" "$before_links"
is "no lease left" "$(cat "$RUNROOT"/networks/*/ipam-*.json | grep -o '"allocated":{[^}]*}')" '"allocated":{}'
is "no endpoint left" "$(ls "$RUNROOT"/networks/*/ep/ | wc -l)" "0"
is "no mount left" "$(grep -c " $ROOT" /proc/mounts)" "$before_mounts"
is "no pod directory left" "$(ls -A "$ROOT/pods")" ""
if out=$(wget -qO- -T 2 http://127.0.0.1:38730/ 2>&1); then notok "the host port is free again (got $out)"; else ok "the host port is free again"; fi
fails "status of a removed pod" 'pod default/web not found' b debug pod status default web
fails "remove it again" 'pod default/web not found' b debug pod rm default web

# ---- capabilities, no-new-privileges, privileged, tmpfs, sysctls, a berth volume ----
check "a berth volume for a claim" b volume create kv
cat >"$T_DIR/sec.json" <<EOF
{"spec": {"namespace": "t", "name": "sec", "network": "$NET", "terminationGracePeriodSeconds": 0,
  "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "99"}],
  "containers": [
    {"name": "caps", "image": "bb", "command": ["sleep", "1000"],
     "securityContext": {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, "allowPrivilegeEscalation": false},
     "tmpfs": [{"target": "/scratch", "sizeBytes": 1048576}],
     "mounts": [{"source": "kv", "target": "/data"}]},
    {"name": "priv", "image": "bb", "command": ["sleep", "1000"], "securityContext": {"privileged": true},
     "mounts": [{"source": "kv", "target": "/data", "readOnly": true}]}]}}
EOF
check "a pod with a security context" b debug pod create "$T_DIR/sec.json"
if sync_until 15 t sec 's["phase"]' Running; then ok "it runs"; else notok "it runs"; fi
caps=$(cid t sec caps) priv=$(cid t sec priv)
is "capabilities: drop ALL, add NET_BIND_SERVICE" "$(b exec "$caps" grep CapEff /proc/self/status | tr -d ' \t')" "CapEff:0000000000000400"
is "allowPrivilegeEscalation false: no_new_privs" "$(b exec "$caps" grep NoNewPrivs /proc/self/status | tr -d ' \t')" "NoNewPrivs:1"
is "privileged: every capability" "$(b exec "$priv" grep CapEff /proc/self/status | tr -d ' \t')" "$(grep CapBnd /proc/self/status | tr -d ' \t' | sed 's/CapBnd/CapEff/')"
like "tmpfs of 1 MiB" "$(b exec "$caps" df -k /scratch | tail -1)" '^tmpfs +1024 '
is "a pod sysctl in the shared network namespace" "$(b exec "$priv" cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" "99"
check "write to the volume" b exec "$caps" sh -c 'echo claim >/data/f'
is "the other container reads it" "$(b exec "$priv" cat /data/f)" "claim"
like "read-only there" "$(b exec "$priv" touch /data/g 2>&1)" 'Read-only file system'
check "remove it" b debug pod rm t sec
is "the volume keeps its data" "$(cat "$ROOT/volumes/kv/_data/f")" "claim"
check "the volume is free" b volume rm kv

# ---- a container of the pod's name that is not the pod's (a crash, a user) ----
check "a stray container with a pod container's name" b create --name k8s_a_stray_t bb sleep 100
stray=$(b inspect -f '{{.Id}}' k8s_a_stray_t)
cat >"$T_DIR/stray.json" <<EOF
{"spec": {"namespace": "t", "name": "stray", "network": "$NET", "terminationGracePeriodSeconds": 0,
  "containers": [{"name": "a", "image": "bb", "command": ["sleep", "100"]}]}}
EOF
check "create the pod" b debug pod create "$T_DIR/stray.json"
if sync_until 10 t stray 's["phase"]' Running; then ok "it runs"; else notok "it runs"; fi
[ "$(cid t stray a)" != "$stray" ] && ok "the stray container was not adopted" || notok "the stray container was adopted"
fails "and it is gone" "No such (container|object)" b inspect "$stray"
check "remove it" b debug pod rm t stray

# ---- command/args semantics over ENTRYPOINT ["echo","ep"] CMD ["c1"]; a pod that ends ----
cat >"$T_DIR/cmd.json" <<EOF
{"spec": {"namespace": "t", "name": "cmds", "network": "$NET", "restartPolicy": "Never",
  "containers": [
    {"name": "neither", "image": "epimg"},
    {"name": "args", "image": "epimg", "args": ["a1"]},
    {"name": "command", "image": "epimg", "command": ["echo", "cm"]},
    {"name": "both", "image": "epimg", "command": ["echo", "cm"], "args": ["a1"]},
    {"name": "empty", "image": "epimg", "command": [], "args": []}]}}
EOF
check "a pod of one-shot containers" b debug pod create "$T_DIR/cmd.json"
if sync_until 20 t cmds 's["phase"]' Succeeded; then ok "restartPolicy Never, all exit 0: Succeeded"; else notok "Succeeded"; fi
out=""
for c in neither args command both empty; do out="$out$c=$(b logs "k8s_${c}_cmds_t" 2>&1);"; done
is "command/args semantics" "$out" "neither=ep c1;args=ep a1;command=cm;both=cm a1;empty=ep c1;"
is "terminated Completed" "$(cstate t cmds both)" "terminated:Completed"
check "a sync after it ended" b debug pod sync t cmds
is "an ended pod gives back its sandbox" "$(b inspect -f '{{.State.Status}}' k8s_POD_cmds_t)" "exited"
is "Ready False with PodCompleted" "$(pstat t cmds '[c["reason"] for c in s["conditions"] if c["type"] == "Ready"][0]')" "PodCompleted"
check "another sync" b debug pod sync t cmds
is "syncing an ended pod starts nothing" "$(b inspect -f '{{.State.Status}}' k8s_POD_cmds_t)" "exited"
check "remove it" b debug pod rm t cmds

# ---- a failing init container with restartPolicy Never fails the pod ----
cat >"$T_DIR/fail.json" <<EOF
{"spec": {"namespace": "t", "name": "initfail", "network": "$NET", "restartPolicy": "Never",
  "initContainers": [{"name": "boom", "image": "bb", "command": ["sh", "-c", "exit 3"]}],
  "containers": [{"name": "app", "image": "bb", "command": ["sleep", "100"]}]}}
EOF
check "a pod whose init container fails" b debug pod create "$T_DIR/fail.json"
if sync_until 15 t initfail 's["phase"]' Failed; then ok "init failure with Never: Failed"; else notok "init failure: Failed"; fi
is "the init container terminated with Error 3" \
	"$(pstat t initfail '[str(c["state"]["terminated"]["exitCode"]) + c["state"]["terminated"]["reason"] for c in s["initContainerStatuses"]][0]')" "3Error"
is "the app container never made" "$(cstate t initfail app)" "waiting:PodInitializing"
is "Initialized False" "$(pstat t initfail '[c["status"] + ":" + c.get("reason", "") for c in s["conditions"] if c["type"] == "Initialized"][0]')" \
	"False:ContainersNotInitialized"
check "remove it" b debug pod rm t initfail

# ---- a command that does not exist: back-off, CrashLoopBackOff ----
cat >"$T_DIR/crash.json" <<EOF
{"spec": {"namespace": "t", "name": "crash", "network": "$NET",
  "containers": [{"name": "nope", "image": "bb", "command": ["/no/such/cmd"]}]}}
EOF
check "a pod whose command is missing" b debug pod create "$T_DIR/crash.json"
for i in 1 2 3; do b debug pod sync t crash; sleep 0.2; done
st=$(cstate t crash nope)
is "CrashLoopBackOff" "$st" "waiting:CrashLoopBackOff"
like "lastState says why" "$(pstat t crash 's["containerStatuses"][0]["lastState"]["terminated"]')" "'exitCode': 127.*no such file"
like "back-off message" "$(pstat t crash 's["containerStatuses"][0]["state"]["waiting"]["message"]')" '^back-off 10s restarting failed container=nope pod=crash_t'
is "restarted once at once, then it waits" "$(pstat t crash 's["containerStatuses"][0]["restartCount"]')" "1"
check "remove it" b debug pod rm t crash --grace 0

# ---- bad input: clear errors, nothing left ----
bad_spec() { # DESC PATTERN JSON
	printf '%s' "$3" >"$T_DIR/bad.json"
	fails "$1" "$2" b debug pod create "$T_DIR/bad.json"
}
bad_spec "unknown image" 'spec.containers\[0\].image: No such image: nope' \
	"{\"spec\": {\"namespace\": \"t\", \"name\": \"b1\", \"network\": \"$NET\", \"containers\": [{\"name\": \"a\", \"image\": \"nope\"}]}}"
bad_spec "args of numbers" 'spec.containers\[0\]: args\[0\] must be a string' \
	"{\"spec\": {\"namespace\": \"t\", \"name\": \"b2\", \"network\": \"$NET\", \"containers\": [{\"name\": \"a\", \"image\": \"bb\", \"args\": [1]}]}}"
bad_spec "a string runAsUser" 'securityContext: runAsUser must be an integer' \
	"{\"spec\": {\"namespace\": \"t\", \"name\": \"b3\", \"network\": \"$NET\", \"containers\": [{\"name\": \"a\", \"image\": \"bb\", \"securityContext\": {\"runAsUser\": \"0\"}}]}}"
bad_spec "env that is an object" 'spec.containers\[0\]: env must be an array' \
	"{\"spec\": {\"namespace\": \"t\", \"name\": \"b4\", \"network\": \"$NET\", \"containers\": [{\"name\": \"a\", \"image\": \"bb\", \"env\": {\"A\": \"1\"}}]}}"
bad_spec "a probe on port 0" 'spec.containers\[0\]: livenessProbe.httpGet.port' \
	"{\"spec\": {\"namespace\": \"t\", \"name\": \"b6\", \"network\": \"$NET\", \"containers\": [{\"name\": \"a\", \"image\": \"bb\", \"livenessProbe\": {\"httpGet\": {\"port\": 0}}}]}}"
bad_spec "broken JSON" 'bad\.json' '{"spec": '
bad_spec "a memory limit that is no quantity" 'resources.limits.memory: invalid quantity "lots"' \
	"{\"spec\": {\"namespace\": \"t\", \"name\": \"b5\", \"network\": \"$NET\", \"containers\": [{\"name\": \"a\", \"image\": \"bb\", \"resources\": {\"limits\": {\"memory\": \"lots\"}}}]}}"
is "bad specs leave no pod" "$(ls -A "$ROOT/pods")" ""
fails "sync of a pod that is not there" 'pod t/none not found' b debug pod sync t none
cat >"$T_DIR/nonet.json" <<EOF
{"spec": {"namespace": "t", "name": "nonet", "network": "no-such-net", "containers": [{"name": "a", "image": "bb"}]}}
EOF
check "a pod on a network that does not exist" b debug pod create "$T_DIR/nonet.json"
fails "its sync names the network" 'pod t/nonet: network no-such-net not found' b debug pod sync t nonet
is "no sandbox made" "$(b ps -a -q | wc -l)" "0"
check "remove it" b debug pod rm t nonet
# runAsNonRoot with an image that runs as root: the kubelet's error in the status
cat >"$T_DIR/nonroot.json" <<EOF
{"spec": {"namespace": "t", "name": "nr", "network": "$NET",
  "containers": [{"name": "root", "image": "bb", "command": ["sleep", "100"], "securityContext": {"runAsNonRoot": true}},
                 {"name": "uid0", "image": "bb", "command": ["sleep", "100"], "securityContext": {"runAsNonRoot": true, "runAsUser": 0}},
                 {"name": "fine", "image": "nonroot", "command": ["sleep", "100"], "securityContext": {"runAsNonRoot": true}}]}}
EOF
check "a pod with runAsNonRoot" b debug pod create "$T_DIR/nonroot.json"
fails "sync says why" 'container has runAsNonRoot and image will run as root \(pod: "nr_t\(' b debug pod sync t nr
is "CreateContainerConfigError for the image's root" "$(cstate t nr root)" "waiting:CreateContainerConfigError"
like "the kubelet's message" "$(pstat t nr '[c["state"]["waiting"]["message"] for c in s["containerStatuses"] if c["name"] == "root"][0]')" \
	"^container has runAsNonRoot and image will run as root \(pod: \"nr_t\([0-9a-f-]+\)\", container: root\)$"
like "runAsUser 0 breaks it too" "$(pstat t nr '[c["state"]["waiting"].get("message") for c in s["containerStatuses"] if c["name"] == "uid0"][0]')" \
	"container's runAsUser breaks non-root policy"
is "no container made for them" "$(b ps -a --format '{{.Names}}' | grep -c -e k8s_root_nr_t -e k8s_uid0_nr_t)" "0"
sync_until 10 t nr '[c["state"].get("running") is not None for c in s["containerStatuses"] if c["name"] == "fine"][0]' True >/dev/null
is "the image with USER 1000 runs" "$(b exec "$(cid t nr fine)" id -u 2>&1)" "1000"
is "the pod stays Pending" "$(pstat t nr 's["phase"]')" "Pending"
check "remove it" b debug pod rm t nr --grace 0
# meta from the caller shows ErrImagePull for a container without a berth container
cat >"$T_DIR/pull.json" <<EOF
{"spec": {"namespace": "t", "name": "pull", "network": "$NET", "containers": [{"name": "a", "image": "bb"}]},
 "meta": {"containerWaiting": {"a": {"reason": "ErrImagePull", "message": "pull access denied"}}}}
EOF
check "a pod the caller could not pull for" b debug pod create "$T_DIR/pull.json"
is "waiting ErrImagePull from meta" "$(cstate t pull a)" "waiting:ErrImagePull"
check "remove it" b debug pod rm t pull
# a host port that is taken: the sandbox is not made
cat >"$T_DIR/port.json" <<EOF
{"spec": {"namespace": "t", "name": "port", "network": "$NET", "hostPorts": [{"containerPort": 80, "hostPort": 38731}],
  "containers": [{"name": "a", "image": "bb", "command": ["sleep", "100"]}]}}
EOF
"$PY" -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 38731)); s.listen(); time.sleep(4)' &
holder=$!
wait_until 3 sh -c "ss -Htln 'sport = :38731' | grep -q LISTEN"
check "a pod on a taken host port" b debug pod create "$T_DIR/port.json"
fails "its sync names the port" 'hostPort: Bind for 0.0.0.0:38731 failed: port is already allocated' b debug pod sync t port
is "no sandbox left behind" "$(b ps -a -q | wc -l)" "0"
kill "$holder"
check "remove it" b debug pod rm t port
is "nothing left at the end" "$(b ps -a -q | wc -l) $(ls -A "$ROOT/pods")" "0 "
is "no veth left at the end" "$(ip -o link show master "$BR" 2>&1 | wc -l)" "$before_links"
t_done
