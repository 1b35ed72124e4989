#!/usr/bin/env bash
# Self-test of tests/tools/k8s-validate.py (the Kubernetes manifest checker):
#   1. kompose's expected Kubernetes output (MANIFEST.tsv rows with check
#      match or match+warn and provider kubernetes): 136 objects, and no
#      error but the one known bad name in kompose's own expectation;
#   2. hand-made bad manifests: each gives exactly its one error, on the
#      right path;
#   3. a good manifest (IntOrString name, numeric Quantity, null
#      creationTimestamp, List, JSON, stdin) passes; usage and unreadable
#      input exit 2; hundreds of objects take well under a second or two.
# Prints TAP-style "ok - k8s-validate: ..." lines; skips when the shared
# conformance folder ($BERTH_SHARED or <repo>/../shared) or PyYAML is
# missing. Exits 1 when something failed.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SHARED=${BERTH_SHARED:-$TOP/../shared}
CONF=$SHARED/conformance
TOOL=$HERE/k8s-validate.py
N=k8s-validate
FAILS=0
ok() { echo "ok - $N: $*"; }
notok() { echo "not ok - $N: $*"; FAILS=$((FAILS + 1)); }
skip() { echo "skip - $N: $*"; }

if [ ! -f "$CONF/kubernetes/swagger.json" ] || [ ! -f "$CONF/kompose/MANIFEST.tsv" ]; then
	skip "no shared conformance folder at $CONF (set BERTH_SHARED to the shared dir)"
	exit 0
fi
PY=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
	skip "python3 with PyYAML is missing (Debian: apt-get install python3-yaml)"
	exit 0
fi
export BERTH_SHARED=$SHARED
WORK=$(mktemp -d "${TMPDIR:-/tmp}/k8s-validate-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

kv() { "$PY" "$TOOL" "$@"; }

# ---- 1. kompose's expectations
# kompose's own expectation names a Service front_end, which the API
# server refuses (Service names are DNS-1035 labels): the one error allowed.
KNOWN='single-file-output/output-k8s.yaml:DOC#1: Service/front_end: metadata.name: invalid name "front_end"'
mapfile -t files < <(awk -F'\t' '!/^#/ && ($1 == "match" || $1 == "match+warn") && $2 == "kubernetes" { print $5 }' \
	"$CONF/kompose/MANIFEST.tsv")
if [ "${#files[@]}" -eq 44 ]; then ok "MANIFEST.tsv has 44 kubernetes match/match+warn rows"; else notok "MANIFEST.tsv kubernetes match rows: ${#files[@]}, want 44"; fi
out=$(cd "$CONF/kompose/fixtures" && kv "${files[@]}" 2>&1)
rc=$?
last=$(tail -n 1 <<<"$out")
objects=${last%% objects*}
others=$(head -n -1 <<<"$out" | grep -vF -- "$KNOWN")
if [ "$objects" = 136 ]; then ok "kompose expectations: 136 objects"; else notok "kompose expectations: $last (want 136 objects)"; fi
if [ -z "$others" ]; then
	ok "kompose expectations: no errors besides the known Service name front_end"
else
	notok "kompose expectations: unexpected errors"
	printf '#   %s\n' "$others" | head -20
fi
if grep -qF -- "$KNOWN" <<<"$out" && [ "$last" = "136 objects, 1 errors" ] && [ $rc = 1 ]; then
	ok "kompose expectations: Service front_end is refused (DNS-1035), exit 1"
else
	notok "kompose expectations: want exactly the front_end error and exit 1, got exit $rc, $last"
fi

# ---- 2. bad manifests
# bad DESC EXPECTED-LINE-PART [OBJECTS] < manifest: exactly OBJECTS (1)
# objects and one error, exit 1, and the error line contains
# EXPECTED-LINE-PART (a fixed string).
bad() {
	local desc=$1 want=$2 objs=${3:-1} f=$WORK/bad.yaml out rc
	cat >"$f"
	out=$(kv "$f" 2>&1)
	rc=$?
	if [ $rc = 1 ] && grep -qF -- "$f:DOC#1: $want" <<<"$out" && [ "$(tail -n 1 <<<"$out")" = "$objs objects, 1 errors" ]; then
		ok "$desc"
	else
		notok "$desc (exit $rc)"
		printf '#   want: %s\n' "$want"
		printf '#   got:  %s\n' "$out" | head -10
	fi
}

bad "Deployment without selector" \
	'Deployment/web: spec.selector: required field is missing' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
EOF

bad "container without name" \
	'Deployment/web: spec.template.spec.containers[0].name: required field is missing' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - image: nginx
EOF

bad 'replicas: "2" is not an integer' \
	'Deployment/web: spec.replicas: expected integer, got string "2"' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: "2"
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
EOF

bad 'containerPort: "80" is not an integer' \
	'Deployment/web: spec.template.spec.containers[0].ports[0].containerPort: expected integer, got string "80"' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
          ports:
            - containerPort: "80"
EOF

bad "unknown container field imagee" \
	'Deployment/web: spec.template.spec.containers[0].imagee: unknown field "imagee"' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          imagee: nginx
EOF

bad "extensions/v1beta1 Ingress is not served" \
	'Ingress/web: apiVersion: apiVersion extensions/v1beta1 kind Ingress is not served by Kubernetes 1.36' <<'EOF'
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
spec:
  rules:
    - host: example.com
      http:
        paths:
          - path: /
            backend:
              serviceName: web
              servicePort: 80
EOF

bad "extensions/v1beta1 Deployment is not served" \
	'Deployment/web: apiVersion: apiVersion extensions/v1beta1 kind Deployment is not served by Kubernetes 1.36' <<'EOF'
apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
EOF

bad "Service port 70000" \
	'Service/web: spec.ports[0].port: port 70000 is not in 1-65535' <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 70000
EOF

bad "bad Service type" \
	'Service/web: spec.type: unsupported value "Cluster"' <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: Cluster
  selector: {app: web}
  ports:
    - port: 80
EOF

bad "selector not matching the template labels" \
	'Deployment/web: spec.template.metadata.labels: selector does not match template labels' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web, tier: front}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
EOF

bad "a name with _" \
	'ConfigMap/web_config: metadata.name: invalid name "web_config": a lowercase RFC 1123 subdomain' <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: web_config
data:
  key: value
EOF

bad "a Service name with _ (DNS-1035)" \
	'Service/web_svc: metadata.name: invalid name "web_svc": a DNS-1035 label' <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: web_svc
spec:
  ports:
    - port: 80
EOF

bad "a container name with _" \
	'Pod/web: spec.containers[0].name: invalid container name "web_1"' <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web_1
      image: nginx
EOF

bad "a container port name over 15 characters" \
	'Pod/web: spec.containers[0].ports[0].name: invalid port name "http-alternative": must be no more than 15 characters' <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx
      ports:
        - containerPort: 8080
          name: http-alternative
EOF

bad "restartPolicy Sometimes" \
	'Pod/web: spec.restartPolicy: unsupported value "Sometimes"' <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  restartPolicy: Sometimes
  containers:
    - name: web
      image: nginx
EOF

bad "imagePullPolicy always (lower case)" \
	'Pod/web: spec.containers[0].imagePullPolicy: unsupported value "always"' <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx
      imagePullPolicy: always
EOF

bad "protocol tcp (lower case)" \
	'Service/web: spec.ports[0].protocol: unsupported value "tcp"' <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
    - port: 80
      protocol: tcp
EOF

bad "Ingress pathType Regex" \
	'Ingress/web: spec.rules[0].http.paths[0].pathType: unsupported value "Regex"' <<'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  rules:
    - http:
        paths:
          - path: /
            pathType: Regex
            backend:
              service:
                name: web
                port:
                  number: 80
EOF

bad "Ingress path without pathType" \
	'Ingress/web: spec.rules[0].http.paths[0].pathType: required field is missing' <<'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  rules:
    - http:
        paths:
          - path: /
            backend:
              service:
                name: web
                port:
                  number: 80
EOF

bad "a missing metadata.name" \
	'ConfigMap/?: metadata.name: required field is missing' <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  labels: {app: web}
EOF

bad "a boolean is not an integer" \
	'Deployment/web: spec.replicas: expected integer, got boolean true' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: true
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
EOF

bad "a number in a ConfigMap's data" \
	'ConfigMap/web: data[PORT]: expected string, got integer 80' <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  PORT: 80
EOF

bad "a Job whose pods would restart Always" \
	'Job/once: spec.template.spec.restartPolicy: required' <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  template:
    spec:
      containers:
        - name: once
          image: busybox
EOF

bad "a volumeMount without its volume" \
	'Pod/web: spec.containers[0].volumeMounts[0].name: no volume named "data" in the pod' <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx
      volumeMounts:
        - name: data
          mountPath: /data
EOF

bad "a duplicate key" \
	'Pod/web: spec.containers[0].image: duplicate key "image"' <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx
      image: httpd
EOF

# a List counts its items: 2 objects
bad "a bad item inside a kind: List" \
	'Service/web: items[1].spec.ports[0].port: expected integer, got string "80"' 2 <<'EOF'
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata:
      name: web
  - apiVersion: v1
    kind: Service
    metadata:
      name: web
    spec:
      ports:
        - port: "80"
EOF

# ---- 3. good manifests
cat >"$WORK/good.yaml" <<'EOF'
# a comment, then an empty document
---
apiVersion: v1
kind: Service
metadata:
  creationTimestamp: null
  labels:
    io.kompose.service: web
  name: web
spec:
  ports:
    - name: http
      port: 80
      targetPort: http
    - name: "8443"
      port: 8443
      targetPort: 8443
  selector:
    io.kompose.service: web
status:
  loadBalancer: {}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: null
  labels:
    io.kompose.service: web
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      io.kompose.service: web
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      creationTimestamp: null
      labels:
        io.kompose.service: web
    spec:
      containers:
        - name: web
          image: nginx:1.25
          imagePullPolicy: IfNotPresent
          ports:
            - containerPort: 80
              name: http
              protocol: TCP
          resources:
            limits:
              cpu: 1
              memory: 512Mi
            requests:
              cpu: 250m
              memory: 0.5Gi
          livenessProbe:
            httpGet:
              path: /
              port: http
          volumeMounts:
            - name: data
              mountPath: /data
      restartPolicy: Always
      volumes:
        - name: data
          emptyDir: {}
status: {}
EOF
out=$(kv "$WORK/good.yaml" 2>&1)
rc=$?
if [ $rc = 0 ] && [ "$out" = "2 objects, 0 errors" ]; then
	ok "good manifest (targetPort: http, cpu: 1, creationTimestamp: null) passes"
else
	notok "good manifest passes (exit $rc)"; printf '#   %s\n' "$out" | head -10
fi

printf '%s\n' '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web", "creationTimestamp": null}}' >"$WORK/ns.json"
out=$(kv "$WORK/ns.json" 2>&1)
if [ $? = 0 ] && [ "$out" = "1 objects, 0 errors" ]; then ok "JSON input"; else notok "JSON input"; printf '#   %s\n' "$out"; fi

out=$(kv - <"$WORK/good.yaml" 2>&1)
if [ $? = 0 ] && [ "$out" = "2 objects, 0 errors" ]; then ok "stdin input"; else notok "stdin input"; printf '#   %s\n' "$out" | head -5; fi

mkdir -p "$WORK/dir/sub"
cp "$WORK/good.yaml" "$WORK/dir/a.yml"
cp "$WORK/ns.json" "$WORK/dir/sub/b.json"
echo 'not a manifest' >"$WORK/dir/README.txt"
out=$(kv "$WORK/dir" 2>&1)
if [ $? = 0 ] && [ "$out" = "3 objects, 0 errors" ]; then ok "a directory: *.yml and *.json below it"; else notok "a directory"; printf '#   %s\n' "$out" | head -5; fi

out=$(kv "$WORK/no-such.yaml" 2>&1)
rc=$?
if [ $rc = 2 ] && grep -q "no-such.yaml" <<<"$out"; then ok "a missing file exits 2 naming it"; else notok "a missing file exits 2 (exit $rc)"; printf '#   %s\n' "$out"; fi
printf 'a: [\n' >"$WORK/broken.yaml"
out=$(kv "$WORK/broken.yaml" 2>&1)
rc=$?
if [ $rc = 2 ] && grep -q "broken.yaml: not valid YAML" <<<"$out"; then ok "unparsable YAML exits 2 naming the file"; else notok "unparsable YAML exits 2 (exit $rc)"; printf '#   %s\n' "$out"; fi
out=$(kv 2>&1)
rc=$?
if [ $rc = 2 ] && grep -q "usage" <<<"$out"; then ok "no arguments: usage, exit 2"; else notok "no arguments: exit $rc"; fi
out=$(kv --swagger "$WORK/no-swagger.json" "$WORK/ns.json" 2>&1)
rc=$?
if [ $rc = 2 ] && grep -q "no-swagger.json" <<<"$out"; then ok "a missing --swagger exits 2 naming it"; else notok "a missing --swagger (exit $rc)"; fi

# ---- speed: 600 objects (the good Deployment and Service 300 times)
for i in $(seq 300); do cat "$WORK/good.yaml"; done >"$WORK/many.yaml"
start=$(date +%s%N)
out=$(kv "$WORK/many.yaml" 2>&1)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$out" = "600 objects, 0 errors" ] && [ "$ms" -lt 2000 ]; then
	ok "600 objects in ${ms} ms"
else
	notok "600 objects: $out in ${ms} ms (want under 2000)"
fi

[ "$FAILS" -eq 0 ]
