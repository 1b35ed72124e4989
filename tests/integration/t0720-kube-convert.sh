#!/usr/bin/env bash
# berth kube convert: compose projects to Kubernetes manifests. The visits
# example (Services for every service, LoadBalancer for published ports,
# probes from healthchecks, init containers from depends_on), output forms
# (-o FILE, -o DIR/, --format json), bad input (nothing written), and every
# awesome-compose sample converting (validated against the Kubernetes
# OpenAPI spec when tests/tools/k8s-validate.py and the shared data are here).
. "$(dirname "$0")/../lib.sh"

EX=$TOP/examples/visits
K() { b kube convert "$@"; }
kinds() { grep -E '^kind: ' | sort | uniq -c | awk '{ printf "%s:%s ", $3, $1 }'; }

check "convert examples/visits" K -f "$EX/compose.yaml"
y=$OUT
is "one Service and one Deployment per service, ConfigMaps for the mounted directories, a claim for the data" "$(grep -v '^WARN' <<<"$y" | kinds)" "ConfigMap:2 Deployment:4 PersistentVolumeClaim:1 Service:4 "
like "the published port makes a LoadBalancer" "$(awk '/^kind: Service/,/^---/' <<<"$y" | grep -A12 'name: web$')" 'type: LoadBalancer'
like "port-less services get a headless Service (they resolve by name)" "$(awk '/^kind: Service/,/^---/' <<<"$y" | grep -A8 'name: redis$')" 'clusterIP: None'
like "the healthcheck is a readiness probe" "$y" 'readinessProbe:'
like "and a liveness probe" "$y" 'livenessProbe:'
like "depends_on waits in an init container" "$y" 'name: wait-for-db'
like "a bind-mounted data directory becomes a claim, with a warning" "$y" 'WARN service db: volume .*/data/db:/var/lib/postgresql/data: the host path is not carried; claim db-claim0 starts empty'
unlike "a read-only bind mount of a directory becomes a ConfigMap without a warning" "$y" 'WARN service web'
like "the template directory's files are in its ConfigMap" "$(awk '/^kind: ConfigMap/,/^---/' <<<"$y")" 'index.html: '
like "the pod mounts it" "$(grep -A3 'mountPath: /app/templates' <<<"$y")" 'name: web-cm0'
like "build: services get PROJECT-SERVICE images" "$y" 'image: visits-web'

check "--image-registry prefixes built images" K -f "$EX/compose.yaml" --image-registry reg.example:5000/team
like "prefixed image" "$OUT" 'image: reg.example:5000/team/visits-web'
check "--namespace and --replicas" K -f "$EX/compose.yaml" --namespace shop --replicas 3
is "every object in the namespace" "$(grep -c '^  namespace: shop$' <<<"$OUT")" 11
is "replicas everywhere" "$(grep -c '^  replicas: 3$' <<<"$OUT")" 4
check "--controller statefulset" K -f "$EX/compose.yaml" --controller statefulset
is "StatefulSets" "$(grep -c '^kind: StatefulSet$' <<<"$OUT")" 4
check "--format json is a List" K -f "$EX/compose.yaml" --format json
like "json List" "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["kind"], len(d["items"]))' <<<"$(grep -v '^WARN' <<<"$OUT")")" '^List 11$'
check "-o DIR/ writes one file per object" K -f "$EX/compose.yaml" -o "$T_DIR/out/"
is "the files" "$(ls "$T_DIR/out" | tr '\n' ' ')" "db-claim0-persistentvolumeclaim.yaml db-deployment.yaml db-service.yaml redis-deployment.yaml redis-service.yaml web-cm0-configmap.yaml web-cm1-configmap.yaml web-deployment.yaml web-service.yaml worker-deployment.yaml worker-service.yaml "
check "-o FILE" K -f "$EX/compose.yaml" -o "$T_DIR/all.yaml"
is "-o FILE has all documents" "$(grep -c '^kind:' "$T_DIR/all.yaml")" 11

# named volumes, restart no -> Job, ports, users, resources
mkdir -p "$T_DIR/p"
cat >"$T_DIR/p/compose.yaml" <<'EOF'
services:
  app_server:
    image: busybox
    command: ["httpd", "-f"]
    entrypoint: ["/bin/sh", "-c"]
    user: "1000:1000"
    ports: ["8080:80", "53:53/udp"]
    volumes: ["data:/data", "/scratch"]
    deploy:
      replicas: 2
      resources: {limits: {cpus: "0.5", memory: 256M}}
    cap_add: [NET_ADMIN]
    read_only: true
  migrate:
    image: busybox
    restart: "no"
    depends_on:
      app_server: {condition: service_healthy}
volumes:
  data:
    labels: {kompose.volume.size: 1Gi}
EOF
check "convert a project with volumes, a job, resources" K -f "$T_DIR/p/compose.yaml"
y=$OUT
like "'_' in a name is rewritten with a warning" "$y" 'WARN service "app_server" is written "app-server"'
like "named volume -> PVC with the label's size" "$(awk '/^kind: PersistentVolumeClaim/,/^---/' <<<"$y")" 'storage: 1Gi'
like "anonymous volume -> emptyDir" "$y" 'emptyDir: \{\}'
like "restart no -> Job" "$y" 'kind: Job'
like "the Job never restarts" "$y" 'restartPolicy: Never'
like "entrypoint -> command" "$(grep -A3 '  command:' <<<"$y" | head -4)" '/bin/sh'
like "command -> args" "$y" 'args:'
like "user -> runAsUser" "$y" 'runAsUser: 1000'
like "cpus -> 500m" "$y" 'cpu: 500m'
like "memory 256M -> 256Mi" "$y" 'memory: 256Mi'
like "udp port" "$y" 'name: 53-udp'
like "replicas from deploy" "$y" 'replicas: 2'
like "waits on the dependency's port" "$y" 'nc -z -w 2 app-server 8080'

# names given out once: a shared volume's rename, an alias two services share
mkdir -p "$T_DIR/q"
cat >"$T_DIR/q/compose.yaml" <<'EOF'
services:
  a:
    image: busybox
    volumes: ["my_data:/d"]
    networks: {default: {aliases: [api, b]}}
  b:
    image: busybox
    volumes: ["my_data:/d"]
    networks: {default: {aliases: [api]}}
volumes:
  my_data: {}
EOF
check "convert shared volumes and aliases" K -f "$T_DIR/q/compose.yaml"
is "the shared volume's rename warns once" "$(grep -c 'volume "my_data" is written "my-data"' <<<"$OUT")" 1
is "one claim for it" "$(grep -c '^kind: PersistentVolumeClaim' <<<"$OUT")" 1
is "the alias becomes one Service" "$(grep -c '^  name: api$' <<<"$OUT")" 1
like "the second service's alias api warns" "$OUT" 'service b: network alias api: the name is already a Service'
like "an alias that is another service's name warns" "$OUT" 'service a: network alias b: the name is already a Service'
is "Services: a, b, api" "$(grep -c '^kind: Service$' <<<"$OUT")" 3

if [ -x "$TOP/tests/tools/k8s-validate.py" ] && python3 -c 'import yaml' 2>/dev/null && [ -f "$SHARED/conformance/kubernetes/swagger.json" ]; then
	V() { python3 "$TOP/tests/tools/k8s-validate.py" "$@"; }
	grep -v '^WARN' <<<"$y" >"$T_DIR/p.yaml"
	check "the project's manifests validate against the Kubernetes API" V "$T_DIR/p.yaml"
	check "the visits manifests validate" V "$T_DIR/all.yaml"
else
	skip "OpenAPI validation: needs tests/tools/k8s-validate.py, python3-yaml and $SHARED/conformance/kubernetes"
fi

# bad input: clear errors, nothing written
printf 'services:\n  web:\n    image: x\n    ports: ["eighty"]\n' >"$T_DIR/bad.yaml"
want=$(b compose -f "$T_DIR/bad.yaml" config 2>&1)
fails "an invalid compose file" 'eighty' K -f "$T_DIR/bad.yaml" -o "$T_DIR/badout/"
is "the same error as compose config" "$OUT" "$want"
is "nothing written to -o" "$(ls "$T_DIR/badout" 2>&1 | grep -c .)" 1
fails "unknown --controller" 'unknown controller "replicaset"' K -f "$EX/compose.yaml" --controller replicaset
fails "bad --pvc-request-size" 'pvc-request-size 10XB: not a Kubernetes quantity' K -f "$EX/compose.yaml" --pvc-request-size 10XB
fails "bad --replicas" 'replicas -1' K -f "$EX/compose.yaml" --replicas -1
fails "bad --format" 'format xml' K -f "$EX/compose.yaml" --format xml
long=$(printf 'x%.0s' {1..70})
printf 'services:\n  %s:\n    image: x\n' "$long" >"$T_DIR/long.yaml"
fails "a service name that is no DNS-1123 label" "service \"$long\": not a valid Kubernetes name" K -f "$T_DIR/long.yaml" -o "$T_DIR/longout.yaml"
is "nothing written for it" "$(ls "$T_DIR/longout.yaml" 2>/dev/null)" ""
printf 'services:\n  Web_1:\n    image: x\n' >"$T_DIR/upper.yaml"
check "a name that needs rewriting" K -f "$T_DIR/upper.yaml"
like "is rewritten, with a warning" "$OUT" 'WARN service "Web_1" is written "web-1"'
like "and used" "$OUT" '  name: web-1$'
printf 'services:\n  w:\n    image: x\n    labels: {kompose.service.type: bogus}\n' >"$T_DIR/lab.yaml"
fails "a bad kompose.service.type label" 'kompose.service.type "bogus"' K -f "$T_DIR/lab.yaml"
# --chart itself is t0722's (with helm); here: it is there, and stdout stays empty
check "--chart writes a chart" K -f "$EX/compose.yaml" --chart "$T_DIR/chart" -o "$T_DIR/chart.yaml"
K -f "$EX/compose.yaml" --chart "$T_DIR/chart2" >"$T_DIR/chart2.stdout"
[ -f "$T_DIR/chart/Chart.yaml" ] && [ -f "$T_DIR/chart2/Chart.yaml" ] && [ ! -s "$T_DIR/chart2.stdout" ] &&
	ok "Chart.yaml there; without -o nothing on stdout" || notok "--chart: $(ls -A "$T_DIR/chart2"), printed: $(head -c 200 "$T_DIR/chart2.stdout")"
fails "kube apply (issue 14) of a file that is not there names it" 'nope\.yaml: No such file' b kube apply -f "$T_DIR/nope.yaml"

# the awesome-compose corpus: every sample converts
AC=$SHARED/conformance/awesome-compose
if [ -d "$AC" ]; then
	n=0 bad=0
	for f in "$AC"/*/compose.y*ml; do
		n=$((n + 1))
		d=$(dirname "$f")
		if ! (cd "$d" && "$BERTH" --root "$ROOT" kube convert -f "$f" >"$T_DIR/ac-$n.yaml" 2>"$T_DIR/ac-$n.err"); then
			bad=$((bad + 1))
			printf '#   %s: %s\n' "$(basename "$d")" "$(tail -1 "$T_DIR/ac-$n.err")"
		fi
	done
	is "all $n awesome-compose samples convert" "$bad" 0
	if [ -n "$(type -t V)" ]; then
		check "their manifests validate against the Kubernetes API" V "$T_DIR"/ac-*.yaml
	fi
else
	skip "awesome-compose corpus not found at $AC"
fi
t_done
