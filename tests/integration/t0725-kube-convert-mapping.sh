#!/usr/bin/env bash
# berth kube convert: what becomes a ConfigMap, a Secret, a claim (env_file,
# configs, secrets, bind mounts, --volumes), the kompose.* labels (cronjob,
# hpa, expose -> Ingress, nodeport, external-traffic-policy, probes,
# init containers, pod settings), --network-policies, and a Job wait for
# service_completed_successfully. Bad labels and flags fail naming the
# service and the label, and leave -o untouched. Every manifest is checked
# against the Kubernetes OpenAPI spec when the shared data is here.
. "$(dirname "$0")/../lib.sh"

K() { b kube convert "$@"; }
# Q FILE EXPR: evaluate a python expression over the documents (docs, by(kind, name))
Q() {
	python3 - "$1" "$2" <<'PYEOF'
import sys, yaml, json
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
def by(kind, name):
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    return None
def ctr(kind, name):
    d = by(kind, name)
    spec = d["spec"]
    pod = spec if kind == "Pod" else spec["jobTemplate"]["spec"]["template"]["spec"] if kind == "CronJob" else spec["template"]["spec"]
    return pod, pod["containers"][0]
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
PYEOF
}

P=$T_DIR/p
mkdir -p "$P/conf" "$P/conf/sub"
printf 'A=1\nB=from-file\n' >"$P/app.env"
printf 'server { listen 80; }\n' >"$P/nginx.conf"
printf 'one\n' >"$P/conf/one.txt"
printf 'two\n' >"$P/conf/two.txt"
printf 'deep\n' >"$P/conf/sub/deep.txt"
printf 's3cret' >"$P/db_pass.txt"
cat >"$P/compose.yaml" <<'EOF'
services:
  web:
    image: nginx:1.27
    ports: ["8080:80"]
    env_file: [app.env]
    environment:
      B: from-env
      C: only-env
    volumes:
      - ./nginx.conf:/etc/nginx/conf.d/default.conf:ro
      - ./conf:/etc/app
      - ./missing-data:/data
      - /var/run/docker.sock:/var/run/docker.sock
      - cache:/cache
    configs:
      - source: site
        target: /etc/site.json
      - inline
    secrets:
      - db_pass
      - source: token
        target: /opt/token
    labels:
      kompose.service.expose: "shop.example.com/app,true"
      kompose.service.expose.tls-secret: shop-tls
      kompose.service.expose.ingress-class-name: nginx
      kompose.image-pull-secret: regcred
      kompose.serviceaccount-name: webapp
      kompose.security-context.fsgroup: "2000"
      kompose.ephemeral-storage.limit: 1Gi
      kompose.hpa.cpu: "60"
      kompose.hpa.replicas.min: "2"
      kompose.hpa.replicas.max: "5"
      kompose.init.containers.name: prepare
      kompose.init.containers.image: busybox:1.36
      kompose.init.containers.command: '["sh", "-c", "echo ready"]'
      kompose.service.healthcheck.readiness.http_get_path: /healthz
      kompose.service.healthcheck.readiness.http_get_port: "80"
      kompose.service.healthcheck.liveness.tcp_port: "80"
    healthcheck:
      test: ["CMD", "true"]
      interval: 5s
      retries: 4
    depends_on:
      migrate:
        condition: service_completed_successfully
  migrate:
    image: busybox:1.36
    command: ["true"]
    restart: "no"
  tick:
    image: busybox:1.36
    command: ["date"]
    restart: "no"
    labels:
      kompose.cronjob.schedule: "*/5 * * * *"
      kompose.cronjob.concurrency_policy: Forbid
      kompose.cronjob.backoff_limit: "2"
  edge:
    image: nginx:1.27
    ports: ["30080:80"]
    labels:
      kompose.service.type: nodeport
      kompose.service.nodeport.port: "30080"
      kompose.service.external-traffic-policy: local
volumes:
  cache:
    labels:
      kompose.volume.size: 2Gi
configs:
  site:
    file: ./conf/one.txt
  inline:
    content: "hello inline"
secrets:
  db_pass:
    file: ./db_pass.txt
  token:
    environment: T0725_TOKEN
EOF
export T0725_TOKEN=tok-123
check "convert the mapping project" K -f "$P/compose.yaml" -p shop -o "$T_DIR/m.yaml"
W=$OUT
M=$T_DIR/m.yaml

# env_file
is "env_file: a ConfigMap of the file" "$(Q "$M" 'by("ConfigMap","app-env")["data"]')" '{"A": "1", "B": "from-file"}'
is "used through envFrom" "$(Q "$M" 'ctr("Deployment","web")[1]["envFrom"]')" '[{"configMapRef": {"name": "app-env"}}]'
is "env keeps what the file does not say, and what overrides it" "$(Q "$M" 'ctr("Deployment","web")[1]["env"]')" \
	'[{"name": "B", "value": "from-env"}, {"name": "C", "value": "only-env"}]'
# bind mounts
is "a bind-mounted file: a ConfigMap" "$(Q "$M" 'by("ConfigMap","web-cm0")["data"]')" '{"nginx.conf": "server { listen 80; }\n"}'
is "mounted through subPath" "$(Q "$M" '[m for m in ctr("Deployment","web")[1]["volumeMounts"] if m["name"]=="web-cm0"]')" \
	'[{"mountPath": "/etc/nginx/conf.d/default.conf", "name": "web-cm0", "readOnly": true, "subPath": "default.conf"}]'
is "a directory: its files" "$(Q "$M" 'sorted(by("ConfigMap","web-cm1")["data"])')" '["one.txt", "two.txt"]'
like "its subdirectory is not carried, with a warning" "$W" 'subdirectory sub is not carried into ConfigMap web-cm1'
like "a writable ConfigMap mount warns" "$W" 'volume .*/conf:/etc/app becomes ConfigMap web-cm1, which the pod sees read-only'
is "a missing host path: a claim" "$(Q "$M" 'by("PersistentVolumeClaim","web-claim2")["spec"]["resources"]')" '{"requests": {"storage": "100Mi"}}'
like "which warns that it starts empty" "$W" 'missing-data:/data: the host path is not carried; claim web-claim2 starts empty'
like "a host socket is left out, with a warning" "$W" 'docker.sock:/var/run/docker.sock is a host socket: not mapped'
is "a named volume: its claim, with kompose.volume.size" "$(Q "$M" 'by("PersistentVolumeClaim","cache")["spec"]["resources"]["requests"]["storage"]')" 2Gi
is "the Deployment recreates (claims are ReadWriteOnce)" "$(Q "$M" 'by("Deployment","web")["spec"]["strategy"]')" '{"type": "Recreate"}'
# configs and secrets
is "a file config: a ConfigMap keyed by the file name" "$(Q "$M" 'by("ConfigMap","site")["data"]')" '{"one.txt": "one\n"}'
is "mounted at its target" "$(Q "$M" '[m for m in ctr("Deployment","web")[1]["volumeMounts"] if m["name"]=="site"]')" \
	'[{"mountPath": "/etc/site.json", "name": "site", "readOnly": true, "subPath": "site.json"}]'
is "an inline config" "$(Q "$M" 'by("ConfigMap","inline")["data"]')" '{"inline": "hello inline"}'
is "a short-syntax config is mounted at /NAME" "$(Q "$M" '[m["mountPath"] for m in ctr("Deployment","web")[1]["volumeMounts"] if m["name"]=="inline"]')" '["/inline"]'
is "a file secret: a Secret (base64)" "$(Q "$M" 'by("Secret","db-pass")["data"]')" '{"db-pass": "czNjcmV0"}'
is "at /run/secrets/NAME, as compose puts it" "$(Q "$M" '[m["mountPath"] for m in ctr("Deployment","web")[1]["volumeMounts"] if m["name"]=="db-pass"]')" '["/run/secrets/db_pass"]'
is "an environment secret takes the variable's value" "$(Q "$M" 'by("Secret","token")["data"]')" '{"token": "dG9rLTEyMw=="}'
is "an absolute target is kept" "$(Q "$M" '[m["mountPath"] for m in ctr("Deployment","web")[1]["volumeMounts"] if m["name"]=="token"]')" '["/opt/token"]'
# labels on the pod
is "kompose.image-pull-secret" "$(Q "$M" 'ctr("Deployment","web")[0]["imagePullSecrets"]')" '[{"name": "regcred"}]'
is "kompose.serviceaccount-name" "$(Q "$M" 'ctr("Deployment","web")[0]["serviceAccountName"]')" webapp
is "kompose.security-context.fsgroup" "$(Q "$M" 'ctr("Deployment","web")[0]["securityContext"]')" '{"fsGroup": 2000}'
is "kompose.ephemeral-storage.limit" "$(Q "$M" 'ctr("Deployment","web")[1]["resources"]')" '{"limits": {"ephemeral-storage": "1Gi"}}'
is "init containers: the Job wait, then kompose.init.containers" "$(Q "$M" '[(c["name"], c["image"], c["command"]) for c in ctr("Deployment","web")[0]["initContainers"]]')" \
	'[["wait-for-migrate", "registry.k8s.io/kubectl:v1.36.0", ["kubectl", "wait", "--for=condition=complete", "--timeout=-1s", "job/migrate"]], ["prepare", "busybox:1.36", ["sh", "-c", "echo ready"]]]'
is "readiness from the http_get labels" "$(Q "$M" 'ctr("Deployment","web")[1]["readinessProbe"]')" \
	'{"failureThreshold": 4, "httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 5}'
is "liveness from the tcp_port label, timing from the healthcheck" "$(Q "$M" 'ctr("Deployment","web")[1]["livenessProbe"]')" \
	'{"failureThreshold": 4, "periodSeconds": 5, "tcpSocket": {"port": 80}}'
# service_completed_successfully: a waiter that may read Jobs only
is "the waiter's Role reads Jobs and nothing else" "$(Q "$M" 'by("Role","shop-job-waiter")["rules"]')" \
	'[{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]}]'
is "bound to its ServiceAccount" "$(Q "$M" 'by("RoleBinding","shop-job-waiter")["subjects"]')" '[{"kind": "ServiceAccount", "name": "shop-job-waiter"}]'
is "an explicit serviceaccount-name label wins" "$(Q "$M" 'ctr("Deployment","web")[0]["serviceAccountName"]')" webapp
is "migrate is a Job" "$(Q "$M" 'by("Job","migrate")["spec"]["backoffLimit"]')" 0
check "--kubectl-image" K -f "$P/compose.yaml" -p shop --kubectl-image mirror.example/kubectl:v1.36.0
like "names the image of the Job wait" "$OUT" 'image: mirror.example/kubectl:v1.36.0'
# Ingress, HPA, CronJob, NodePort
is "expose: an Ingress per host, paths, TLS, class" "$(Q "$M" '[(r.get("host"), r["http"]["paths"][0]["path"], r["http"]["paths"][0]["backend"]["service"]) for r in by("Ingress","web")["spec"]["rules"]] + [by("Ingress","web")["spec"]["tls"], by("Ingress","web")["spec"]["ingressClassName"]]')" \
	'[["shop.example.com", "/app", {"name": "web", "port": {"number": 8080}}], [null, "/", {"name": "web", "port": {"number": 8080}}], [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}], "nginx"]'
is "behind an Ingress, the Service is ClusterIP" "$(Q "$M" 'by("Service","web")["spec"]["type"]')" ClusterIP
is "hpa: an autoscaler for the Deployment" "$(Q "$M" '[by("HorizontalPodAutoscaler","web")["spec"][k] for k in ("minReplicas","maxReplicas","scaleTargetRef")]')" \
	'[2, 5, {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]'
is "with the CPU target, memory at Kompose's default" "$(Q "$M" '[(m["resource"]["name"], m["resource"]["target"]["averageUtilization"]) for m in by("HorizontalPodAutoscaler","web")["spec"]["metrics"]]')" '[["cpu", 60], ["memory", 70]]'
like "an autoscaler without requests warns" "$W" 'service web: kompose.hpa.\*: utilization targets need resource requests'
is "cronjob: a CronJob" "$(Q "$M" '[by("CronJob","tick")["spec"][k] for k in ("schedule","concurrencyPolicy")] + [by("CronJob","tick")["spec"]["jobTemplate"]["spec"]["backoffLimit"], ctr("CronJob","tick")[0]["restartPolicy"]]')" \
	'["*/5 * * * *", "Forbid", 2, "Never"]'
is "no Job for it" "$(Q "$M" 'by("Job","tick")')" null
is "nodeport: the port and the traffic policy" "$(Q "$M" '[by("Service","edge")["spec"][k] for k in ("type","externalTrafficPolicy")] + [by("Service","edge")["spec"]["ports"][0]["nodePort"]]')" \
	'["NodePort", "Local", 30080]'

# --volumes
check "--volumes hostpath" K -f "$P/compose.yaml" --volumes hostpath
is "bind mounts become hostPath" "$(grep -c 'hostPath:' <<<"$OUT")" 3
check "--volumes emptyDir (Kompose's spelling too)" K -f "$P/compose.yaml" --volumes emptyDir
is "no claims at all" "$(grep -c '^kind: PersistentVolumeClaim' <<<"$OUT")" 0
check "--volumes pvc" K -f "$P/compose.yaml" --volumes pvc
is "files and directories become claims too" "$(grep -c '^kind: PersistentVolumeClaim' <<<"$OUT")" 4

# --network-policies
printf 'services:\n  api:\n    image: x\n    ports: ["80:80"]\n    networks: [front, back]\n  db:\n    image: y\n    networks: [back]\nnetworks:\n  front: {}\n  back: {}\n' >"$T_DIR/np.yaml"
check "--network-policies" K -f "$T_DIR/np.yaml" -p np --network-policies -o "$T_DIR/np-out.yaml"
is "one policy per network, one for the published ports" "$(Q "$T_DIR/np-out.yaml" 'sorted(d["metadata"]["name"] for d in docs if d["kind"]=="NetworkPolicy")')" \
	'["api-published", "np-back", "np-front"]'
is "pods carry their networks' labels" "$(Q "$T_DIR/np-out.yaml" 'sorted(by("Deployment","api")["spec"]["template"]["metadata"]["labels"])')" \
	'["io.kompose.network/np-back", "io.kompose.network/np-front", "io.kompose.service"]'
is "a network lets in its own pods only" "$(Q "$T_DIR/np-out.yaml" 'by("NetworkPolicy","np-back")["spec"]["ingress"]')" \
	'[{"from": [{"podSelector": {"matchLabels": {"io.kompose.network/np-back": "true"}}}]}]'
is "published ports are let in from anywhere" "$(Q "$T_DIR/np-out.yaml" 'by("NetworkPolicy","api-published")["spec"]["ingress"]')" '[{"ports": [{"port": 80, "protocol": "TCP"}]}]'
check "without the flag, no policies" K -f "$T_DIR/np.yaml"
unlike "no NetworkPolicy" "$OUT" 'NetworkPolicy'

if python3 -c 'import yaml' 2>/dev/null && [ -f "$SHARED/conformance/kubernetes/swagger.json" ]; then
	check "the manifests validate against the Kubernetes API" python3 "$TOP/tests/tools/k8s-validate.py" "$M" "$T_DIR/np-out.yaml"
else
	skip "OpenAPI validation: needs python3-yaml and $SHARED/conformance/kubernetes"
fi

# bad input: the service and the label named, nothing written
bad() { # NAME EXPECTED LABELS-YAML
	printf 'services:\n  svc:\n    image: x\n    ports: ["80"]\n    labels:\n%s\n' "$3" >"$T_DIR/bad.yaml"
	fails "$1" "$2" K -f "$T_DIR/bad.yaml" -o "$T_DIR/bad-out.yaml"
	is "$1: nothing written" "$(ls "$T_DIR/bad-out.yaml" 2>/dev/null)" ""
}
bad "hpa cpu above 100" 'service svc: label kompose.hpa.cpu "200": not a number from 1 to 100' '      kompose.hpa.cpu: "200"'
bad "hpa max below min" 'kompose.hpa.replicas.max 2 is below kompose.hpa.replicas.min 4' '      kompose.hpa.replicas.min: "4"
      kompose.hpa.replicas.max: "2"'
bad "a schedule that is no cron schedule" 'label kompose.cronjob.schedule "every day": not a cron schedule' '      kompose.cronjob.schedule: "every day"'
bad "a bad concurrency policy" 'kompose.cronjob.concurrency_policy "Sometimes": use Allow, Forbid or Replace' '      kompose.cronjob.schedule: "@daily"
      kompose.cronjob.concurrency_policy: Sometimes'
bad "nodeport.port without type nodeport" 'kompose.service.nodeport.port "30001" needs kompose.service.type nodeport' '      kompose.service.nodeport.port: "30001"'
bad "tls-secret without expose" 'kompose.service.expose.tls-secret needs kompose.service.expose' '      kompose.service.expose.tls-secret: x'
bad "an expose host that is no host" 'kompose.service.expose: "Bad_Host" is not a host name' '      kompose.service.expose: Bad_Host'
bad "an init container without an image" 'kompose.init.containers.name and .image are both needed' '      kompose.init.containers.name: x'
bad "a bad volume type" 'label kompose.volume.type: unknown volume type "nfs"' '      kompose.volume.type: nfs'
bad "a bad fsgroup" 'kompose.security-context.fsgroup "root": not a number' '      kompose.security-context.fsgroup: root'
bad "a bad probe port" 'kompose.service.healthcheck.liveness.tcp_port "http": not a number from 1 to 65535' '      kompose.service.healthcheck.liveness.tcp_port: http'
bad "a bad probe interval" 'kompose.service.healthcheck.readiness.interval "often": not a duration' '      kompose.service.healthcheck.readiness.interval: often'
bad "a bad ephemeral-storage" 'kompose.ephemeral-storage.request "lots": not a Kubernetes quantity' '      kompose.ephemeral-storage.request: lots'
# -o: an existing directory gets a file per object; a file's directories are made
mkdir -p "$T_DIR/odir"
check "-o an existing directory" K -f "$T_DIR/np.yaml" -p np -o "$T_DIR/odir"
is "a file per object in it" "$(ls "$T_DIR/odir" | tr '\n' ' ')" "api-deployment.yaml api-service.yaml db-deployment.yaml db-service.yaml "
check "-o under directories that are not there" K -f "$T_DIR/np.yaml" -p np -o "$T_DIR/new/sub/all.yaml"
is "they are made" "$(grep -c '^kind:' "$T_DIR/new/sub/all.yaml")" 4
printf 'services:\n  w:\n    image: "reg/${NAME}:${TAG:-1}"\n' >"$T_DIR/ni.yaml"
check "--no-interpolate" K -f "$T_DIR/ni.yaml" --no-interpolate
like "keeps \${...} as written" "$OUT" 'image: reg/\$\{NAME\}:\$\{TAG:-1\}'
: >"$T_DIR/afile"
fails "-o under a regular file" "-o $T_DIR/afile/x.yaml" K -f "$T_DIR/np.yaml" -o "$T_DIR/afile/x.yaml"
printf 'services:\n  w:\n    image: x\n    dns: [1.1.1.1]\n    dns_search: example.com\n    dns_opt: ["ndots:2", rotate]\n' >"$T_DIR/dns.yaml"
check "dns, dns_search, dns_opt" K -f "$T_DIR/dns.yaml" -o "$T_DIR/dns-out.yaml"
is "become the pod's dnsConfig (the cluster's DNS stays first)" "$(Q "$T_DIR/dns-out.yaml" '[ctr("Deployment","w")[0]["dnsConfig"], ctr("Deployment","w")[0].get("dnsPolicy")]')" \
	'[{"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}, {"name": "rotate"}], "searches": ["example.com"]}, null]'
if python3 -c 'import yaml' 2>/dev/null && [ -f "$SHARED/conformance/kubernetes/swagger.json" ]; then
	check "and validate" python3 "$TOP/tests/tools/k8s-validate.py" "$T_DIR/dns-out.yaml"
fi
printf 'services:\n  1st:\n    image: x\n    ports: ["80"]\n' >"$T_DIR/digit.yaml"
check "a service named with a leading digit" K -f "$T_DIR/digit.yaml"
like "gets no Service, with a warning (Service names start with a letter)" "$OUT" 'service 1st: no Service: a Service name must start with a letter'
unlike "and none is written" "$OUT" '^kind: Service'
fails "a bad --volumes" 'volumes: unknown volume type "nfs": use pvc, emptydir, hostpath or configmap' K -f "$P/compose.yaml" --volumes nfs
t_done
