#!/bin/bash
# berth kube generate: manifests from real containers and from a compose
# project started with berth compose up. Checks the objects (kinds, image,
# command, env minus the image's, ports, volumes, labels, restart), the
# flags (-s, --type, --replicas, --namespace, --format json, -f), the
# OpenAPI validation of everything written, the round trip (kube generate
# of a project started from a compose file == kube convert of that file,
# modulo the differences documented at the top of src/kube/generate.c),
# podman 4.3's `generate kube` of the same container where podman works
# here, and bad input (unknown names, bad flags, -f under a missing dir,
# nothing written on failure).
. "$(dirname "$0")/../lib.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }
# an image with its own config, to see only the container's differences written
b import -c 'ENV IMGVAR=1 PATH=/bin' -c 'CMD ["sleep", "300"]' -c 'WORKDIR /srv' -c 'LABEL from.image=yes' \
	-c 'EXPOSE 7000' "$(busybox_tar)" genimg >/dev/null || { notok "import genimg"; t_done; }

P=t0723p$$
PORT=$((20000 + $$ % 20000))
D=$T_DIR/proj
mkdir -p "$D" "$T_DIR/bind"
cleanup_host() {
	b compose -p "$P" -f "$D/compose.yaml" down -v -t 0 >/dev/null 2>&1
	b rm -f gen1 gen2 gen3 >/dev/null 2>&1
}
trap 'cleanup_host; t_cleanup' EXIT
py() { python3 -c "$@"; }
# mounts YAML: "PATH=KIND[,ro] ..." for the first Pod's container: what each
# mount path is backed by (kube convert decides how binds map; this test
# only needs each mount to be there with the right flags)
mounts() {
	grep -v '^WARN' | py '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
pod = [d for d in docs if d["kind"] == "Pod"][0]["spec"]
vols = {v["name"]: v for v in pod.get("volumes", [])}
out = []
for m in pod["containers"][0].get("volumeMounts", []):
    v = vols[m["name"]]
    kind = [k for k in v if k != "name"][0]
    if kind == "emptyDir" and v[kind].get("medium"):
        kind += ":" + v[kind]["medium"]
    if kind == "persistentVolumeClaim":
        kind += ":" + v[kind]["claimName"]
    out.append("%s=%s%s" % (m["mountPath"], kind, ",ro" if m.get("readOnly") else ""))
print(" ".join(out))'
}
# contains DESC TEXT STRING: TEXT holds STRING (literal, may span lines;
# like's grep would take each line of a pattern as a pattern of its own)
contains() {
	if [[ "$2" == *"$3"* ]]; then ok "$1"; else notok "$1"; printf '#   not in the output: %s\n' "$3" | head -5; fi
}

# ---- one container ----
check "run a container with many settings" b run -d --name gen1 -e FOO=bar -p "$PORT:80" -v genvol:/data \
	-v "$T_DIR/bind:/bind:ro" --tmpfs /scratch --label app=x --user 1000:1000 -w /tmp --cap-add NET_ADMIN \
	--cap-drop MKNOD --hostname hh --restart always --health-cmd true --health-interval 5s \
	--add-host foo:1.2.3.4 -m 128m --cpus 0.5 busybox sleep 300
check "kube generate CONTAINER" b kube generate gen1
y=$OUT
like "kinds: claims, then the Pod (no Service without -s)" \
	"$(grep '^kind:' <<<"$y" | tr '\n' ' ')" "^(kind: PersistentVolumeClaim )+kind: Pod $"
contains "the Pod is named after the container" "$y" $'kind: Pod\nmetadata:\n  name: gen1'
like "image" "$y" '      image: busybox'
contains "command as args (the image has no entrypoint)" "$y" $'      args:\n        - sleep\n        - "300"'
contains "env" "$y" $'- name: FOO\n          value: bar'
like "container port" "$y" 'containerPort: 80'
m=$(mounts <<<"$y")
like "named volume -> its claim" "$m" '(^| )/data=persistentVolumeClaim:genvol( |$)'
like "bind mount, read-only" "$m" '(^| )/bind=[a-zA-Z]+(:[a-z0-9-]+)?,ro( |$)'
like "tmpfs -> emptyDir Memory" "$m" '(^| )/scratch=emptyDir:Memory( |$)'
contains "labels -> annotations" "$y" $'annotations:\n    app: x'
like "user -> runAsUser/runAsGroup" "$y" 'runAsGroup: 1000'
contains "cap_add" "$y" $'add:\n            - NET_ADMIN'
like "healthcheck -> readiness probe" "$y" 'readinessProbe:'
like "extra_hosts -> hostAliases" "$y" '- ip: 1.2.3.4'
contains "memory and cpu limits" "$y" $'memory: 128Mi\n          cpu: 500m'
like "hostname" "$y" '  hostname: hh'
like "restart always -> restartPolicy Always" "$y" 'restartPolicy: Always'
unlike "no compose labels, no creation time" "$y" 'com.docker.compose|creationTimestamp'
like "a warning for the bind mount" "$y" "WARN service gen1: volume $T_DIR/bind:/bind"

check "-s adds the Service" b kube generate -s gen1
contains "published port -> LoadBalancer Service" "$OUT" $'kind: Service\nmetadata:\n  name: gen1'
like "its port" "$OUT" "port: $PORT"
check "--type deployment --replicas 3 --namespace ns" b kube generate --type deployment --replicas 3 --namespace ns gen1
like "a Deployment" "$OUT" 'kind: Deployment'
like "3 replicas" "$OUT" 'replicas: 3'
like "namespace" "$OUT" 'namespace: ns'
check "--format json" b kube generate --format json gen1
like "json: a List of claims and the Pod" \
	"$(grep -v '^WARN' <<<"$OUT" | py 'import json,sys; d=json.load(sys.stdin); print(d["kind"], *[o["kind"] for o in d["items"]])')" \
	"^List (PersistentVolumeClaim )+Pod$"

# only what differs from the image
check "a container of an image with ENV, CMD, WORKDIR, LABEL, EXPOSE" b create --name gen2 -e MINE=2 -l own=1 genimg
check "kube generate it" b kube generate gen2
y=$OUT
contains "its own env" "$y" $'- name: MINE\n          value: "2"'
unlike "not the image's env, command, workdir, label, port" "$y" 'IMGVAR|PATH|args:|command:|workingDir|from.image|7000'
like "its own label" "$y" 'own: "1"'
like "created, not run: restart no -> Never" "$y" 'restartPolicy: Never'
check "an entrypoint override" b create --name gen3 --entrypoint /bin/sh genimg -c 'exit 0'
contains "entrypoint -> command, cmd -> args" "$(b kube generate gen3 2>&1)" $'command:\n        - /bin/sh\n      args:\n        - "-c"\n        - exit 0'

# -f
F=$T_DIR/out.yaml
check "-f FILE" b kube generate -f "$F" gen1 gen2
is "nothing on stdout with -f" "$(grep -v '^WARN' <<<"$OUT")" ""
is "the file holds both Pods" "$(grep -c '^kind: Pod' "$F")" 2
echo old >"$T_DIR/keep.yaml"
exits "-f with an unknown container: exit 125" 125 b kube generate -f "$T_DIR/keep.yaml" gen1 nosuch
like "names it" "$OUT" '^Error: no such container or compose project: nosuch$'
is "the old file is untouched" "$(cat "$T_DIR/keep.yaml")" old
check "-f replaces an existing file" b kube generate -f "$T_DIR/keep.yaml" gen2
like "with the manifests" "$(cat "$T_DIR/keep.yaml")" 'name: gen2'

# ---- a compose project ----
cat >"$D/compose.yaml" <<EOT
name: $P
services:
  web:
    image: busybox
    entrypoint: ["/bin/sh"]
    command: ["-c", "sleep 300"]
    environment: {MODE: prod, GREETING: two words}
    ports: ["$((PORT + 1)):80", "9000"]
    volumes: [data:/data, "$T_DIR/bind:/host:ro", /anon]
    labels: {tier: front}
    user: "1000:1000"
    working_dir: /tmp
    cap_add: [NET_ADMIN]
    read_only: true
    restart: always
    healthcheck: {test: ["CMD", "true"], interval: 5s, timeout: 2s, retries: 3, start_period: 1s}
    extra_hosts: ["foo:1.2.3.4"]
    mem_limit: 64m
    cpus: 0.25
    tmpfs: [/run]
    stop_grace_period: 5s
    depends_on:
      db: {condition: service_healthy}
    networks:
      default:
        aliases: [frontend]
  db:
    image: busybox
    command: ["sleep", "300"]
    healthcheck: {test: ["CMD-SHELL", "true"], interval: 1s}
    restart: unless-stopped
    scale: 2
  once:
    image: busybox
    command: ["true"]
    restart: "no"
volumes:
  data: {}
EOT
if ! b compose -p "$P" -f "$D/compose.yaml" config -q >/dev/null 2>"$T_DIR/cfg.err"; then
	notok "the compose file loads"; sed 's/^/#   /' "$T_DIR/cfg.err"
fi
check "compose up -d" b compose -p "$P" -f "$D/compose.yaml" up -d
check "kube generate PROJECT" b kube generate "$P"
y=$OUT
like "claims, then one Pod per service" "$(grep '^kind:' <<<"$y" | tr '\n' ' ')" \
	"^(kind: PersistentVolumeClaim )+kind: Pod kind: Pod kind: Pod $"
contains "named by service" "$y" $'kind: Pod\nmetadata:\n  name: web'
like "the project's volume under its compose name" "$y" 'claimName: data'
like "depends_on -> an init container" "$y" 'wait-for-db'
like "two containers as one Pod warns" "$y" 'WARN service db: 2 containers, written as one Pod'
unlike "no compose labels" "$y" 'com.docker.compose'
check "--type deployment -s" b kube generate --type deployment -s "$P"
is "replicas 2 for db" "$(grep -v '^WARN' <<<"$OUT" | py 'import sys,yaml; print(*[d["spec"]["replicas"] for d in yaml.safe_load_all(sys.stdin) if d["kind"]=="Deployment" and d["metadata"]["name"]=="db"])' 2>&1)" 2
check "--type job" b kube generate --type job "$P"
is "every service a Job" "$(grep -c '^kind: Job' <<<"$OUT")" 3

# round trip: generate of the running project vs convert of its file
if python3 -c 'import yaml' 2>/dev/null; then
	b kube convert -p "$P" -f "$D/compose.yaml" --format json >"$T_DIR/conv.json" 2>"$T_DIR/conv.err" || notok "kube convert"
	b kube generate --type deployment -s --format json "$P" >"$T_DIR/gen.json" 2>"$T_DIR/gen.err" || notok "kube generate --format json"
	diffs=$(py '
import json, sys
def load(p):
    return {(o["kind"], o["metadata"]["name"]): o for o in json.load(open(p))["items"]}
conv, gen = load(sys.argv[1]), load(sys.argv[2])
# documented: restart "no" is every container'"'"'s default, so convert'"'"'s Job for
# `once` comes back as a Deployment
want_only = {("Job", "once")}, {("Deployment", "once")}
out = []
if set(conv) - set(gen) != want_only[0] or set(gen) - set(conv) != want_only[1]:
    out.append("objects: convert only %s, generate only %s" % (sorted(set(conv) - set(gen)), sorted(set(gen) - set(conv))))
for k in sorted(set(conv) & set(gen)):
    if conv[k] != gen[k]:
        out.append("%s %s:\n  convert  %s\n  generate %s" % (k[0], k[1], json.dumps(conv[k], sort_keys=True), json.dumps(gen[k], sort_keys=True)))
print("\n".join(out))
' "$T_DIR/conv.json" "$T_DIR/gen.json" 2>&1)
	is "round trip: the same objects as kube convert of the file (but once: Deployment, not Job)" "$diffs" ""
	is "the same warnings" "$(cat "$T_DIR/gen.err")" "$(cat "$T_DIR/conv.err")"
else
	skip "round trip: needs python3-yaml"
fi

# ---- OpenAPI validation ----
if [ -x "$TOP/tests/tools/k8s-validate.py" ] && python3 -c 'import yaml' 2>/dev/null && [ -f "$SHARED/conformance/kubernetes/swagger.json" ]; then
	V() { BERTH_SHARED=$SHARED python3 "$TOP/tests/tools/k8s-validate.py" "$@"; }
	for t in pod deployment statefulset daemonset job; do
		b kube generate -s --type "$t" -f "$T_DIR/v-$t.yaml" gen1 gen2 gen3 "$P" 2>"$T_DIR/v.err" || { notok "generate --type $t"; sed 's/^/#   /' "$T_DIR/v.err"; }
	done
	check "every type's manifests validate against the Kubernetes API" V "$T_DIR"/v-*.yaml
else
	skip "OpenAPI validation: needs tests/tools/k8s-validate.py, python3-yaml and $SHARED/conformance/kubernetes"
fi

# ---- bad input ----
exits "unknown container: exit 125" 125 b kube generate nosuch
like "says so" "$OUT" '^Error: no such container or compose project: nosuch$'
exits "bad --type" 125 b kube generate --type replicaset gen1
like "names the flag and the value" "$OUT" '^Error: --type: unknown type "replicaset": use pod, deployment, statefulset, daemonset or job$'
exits "-f under a missing dir" 125 b kube generate -f "$T_DIR/missing/out.yaml" gen1
like "names the file" "$OUT" "Error: -f $T_DIR/missing/out.yaml: .*No such file or directory"
if [ -e "$T_DIR/missing" ]; then notok "nothing made under the missing dir"; else ok "nothing made under the missing dir"; fi
exits "no argument" 125 b kube generate
like "usage" "$OUT" 'requires at least 1 argument'
exits "--replicas with the pod type" 125 b kube generate --replicas 2 gen1
like "says which types take it" "$OUT" '^Error: --replicas is for --type deployment or statefulset'
exits "--replicas not a number" 125 b kube generate --type deployment --replicas x gen1
exits "--format xml" 125 b kube generate --format xml gen1
b run -d --name web busybox sleep 300 >/dev/null 2>&1
exits "a container named like a project's service" 125 b kube generate "$P" web
like "says which" "$OUT" "two services would be named web \\(project $P and container web\\)"
b rm -f web >/dev/null 2>&1

# ---- podman 4.3 on the same container, where podman works here ----
PM_OK=
if [ -z "${BERTH_NO_PEERS:-}" ] && command -v podman >/dev/null 2>&1 && "$TOP/scripts/peers.sh" podman-setup >/dev/null 2>"$T_DIR/pm.err"; then
	PM_OK=1
fi
if [ -n "$PM_OK" ]; then
	pm() { podman --root "$T_DIR/podman/root" --runroot "$T_DIR/podman/run" --storage-driver overlay "$@"; }
	pm import --change 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null 2>&1
	check "podman runs the same container" pm create --network none --name gen1 -e FOO=bar -v genvol:/data \
		-v "$T_DIR/bind:/bind:ro" --label app=x --user 1000:1000 -w /tmp busybox sleep 300
	pm generate kube gen1 >"$T_DIR/pm.yaml" 2>"$T_DIR/pm.err"
	is "podman: exit 0" "$?" 0
	b create --name gen4 -e FOO=bar -v genvol:/data -v "$T_DIR/bind:/bind:ro" --label app=x --user 1000:1000 -w /tmp \
		busybox sleep 300 >/dev/null
	b kube generate gen4 2>/dev/null >"$T_DIR/b.yaml"
	b rm -f gen4 >/dev/null 2>&1
	cmp=$(py '
import sys, yaml
def pod(p):
    return [d for d in yaml.safe_load_all(open(p)) if d and d["kind"] == "Pod"][0]
def shape(d):
    c = d["spec"]["containers"][0]
    argv = (c.get("command") or []) + (c.get("args") or [])
    env = sorted(e["name"] for e in c.get("env", []) if e["name"] != "HOSTNAME")
    # podman adds tmpfs on /tmp, /var/tmp, /run itself
    mounts = sorted(m["mountPath"] for m in c.get("volumeMounts", []) if m["mountPath"] not in ("/tmp", "/var/tmp", "/run"))
    sc = c.get("securityContext", {})
    return [argv, env, mounts, c.get("workingDir"), sc.get("runAsUser"), sc.get("runAsGroup"),
            sorted(v["persistentVolumeClaim"]["claimName"] for v in d["spec"].get("volumes", [])
                   if v.get("persistentVolumeClaim", {}).get("claimName") == "genvol")]
print(shape(pod(sys.argv[1])) == shape(pod(sys.argv[2])) or (shape(pod(sys.argv[1])), shape(pod(sys.argv[2]))))
' "$T_DIR/pm.yaml" "$T_DIR/b.yaml" 2>&1)
	is "the same Pod as podman's: argv, env, mounts, workingDir, user, claims" "$cmp" True
	exits "podman: unknown container exits 125 too" 125 pm generate kube nosuch
	pm rm -f gen1 >/dev/null 2>&1
else
	skip "podman comparison: podman unavailable ($(tail -n1 "$T_DIR/pm.err" 2>/dev/null || echo not installed))"
fi

cleanup_host
is "compose down left no container" "$(b ps -aq | wc -l)" 0
t_done
