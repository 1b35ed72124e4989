#!/usr/bin/env bash
# berth kube apply | delete | diff | rollout status against a real control
# plane (upstream kube-apiserver & co through `berth kube cluster up`, berth
# as its node): server-side apply of any kind (a CRD and its objects in one
# file), kubectl's output lines, --dry-run=server, --wait with kubectl's
# rollout lines (Deployment, StatefulSet, DaemonSet, Job), --prune, diff
# with kubectl's exit codes, delete in its forms, and bad input: a bad
# kubeconfig (file and entry named), an unreachable server, a wrong CA, a
# wrong and an expired token, an expired client certificate, a 403 from
# RBAC, an invalid object (its field named), an unknown field or kind, a
# conflict without --force-conflicts, an exec credential plugin that fails;
# none of them changes anything. kube deploy of a compose project through a
# local registry (docker-registry). The seeds' manifest, when its image can
# be built here.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-registry.sh"
need_fixtures
KBIN=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
for x in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	[ -x "$KBIN/$x" ] || skip_all "no $KBIN/$x (scripts/k8s-binaries.sh builds them, or set BERTH_K8S_BIN)"
done
command -v iptables-save >/dev/null || skip_all "iptables is not installed (the node's Services need it)"
command -v openssl >/dev/null || skip_all "openssl is not installed (the test makes certificates)"
export KUBECONFIG=$T_DIR/kubeconfig
kc() { "$KBIN/kubectl" --request-timeout=20s "$@"; }
CL=t0752
apply_cleanup() {
	b kube cluster down --name "$CL" >/dev/null 2>&1
	reg_cleanup
	t_cleanup
}
trap apply_cleanup EXIT
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:1.36 >/dev/null || { notok "import busybox"; t_done; }
W=$T_DIR/w
mkdir -p "$W"

# ---- bad input that needs no cluster ----
cat >"$W/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: cm1}
data: {a: "1"}
EOF
fails "no -f" "must specify one of -f" b kube apply
fails "an argument instead of -f" 'unexpected argument "x.yaml"' b kube apply x.yaml
fails "--prune without -l or --all" "all resources selected for prune without explicitly passing --all" \
	b kube apply -f "$W/cm.yaml" --prune
fails "-l without --prune" "go with --prune" b kube apply -f "$W/cm.yaml" -l app=x
fails "a malformed -l" '-l "a in \(": ' b kube apply -f "$W/cm.yaml" --prune -l 'a in ('
fails "--dry-run=client" "--dry-run=client is not supported" b kube apply -f "$W/cm.yaml" --dry-run=client
fails "a bad --dry-run" 'invalid --dry-run "sometimes"' b kube apply -f "$W/cm.yaml" --dry-run=sometimes
fails "a bad --timeout" 'invalid --timeout "soon"' b kube apply -f "$W/cm.yaml" --timeout soon
fails "a missing file" "nope.yaml: No such file or directory" b kube apply -f "$W/nope.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n' >"$W/broken.yaml"
fails "a YAML error: file and line" "broken.yaml:4: yaml: " b kube apply -f "$W/broken.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: ConfigMap\nmetadata: {name: b}\n' >"$W/nokind.yaml"
fails "no apiVersion: file and line" "nokind.yaml:5: apiVersion not set" b kube apply -f "$W/nokind.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n' >"$W/noname.yaml"
fails "no name" "noname.yaml:1: ConfigMap: metadata.name is required" b kube apply -f "$W/noname.yaml"
fails "rollout without a subcommand's object" "expected TYPE/NAME or TYPE NAME" b kube rollout status
fails "rollout history" 'unknown command "history"' b kube rollout history deploy/web
fails "delete without anything" "You must provide one or more resources" b kube delete
fails "delete TYPE without a name" "resource\(s\) were provided, but no name was specified" \
	b kube delete --server https://127.0.0.1:1 --insecure-skip-tls-verify deploy
fails "diff without -f" "must specify -f" b kube diff

# a bad kubeconfig: the file and the entry in the message
cat >"$W/bad.kubeconfig" <<'EOF'
apiVersion: v1
kind: Config
current-context: x
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {client-certificate-data: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==", client-key-data: "not*base64"}
contexts:
- name: x
  context: {cluster: c, user: u}
- name: y
  context: {cluster: missing, user: u}
EOF
fails "a bad kubeconfig user" "kubeconfig $W/bad.kubeconfig: user \"u\": client-key-data: not base64" \
	b kube apply -f "$W/cm.yaml" --kubeconfig "$W/bad.kubeconfig"
fails "a context naming a missing cluster" 'context "y": cluster "missing" not found' \
	b kube apply -f "$W/cm.yaml" --kubeconfig "$W/bad.kubeconfig" --context y
fails "an unknown --context" "kubeconfig $W/bad.kubeconfig: context \"nope\" not found" \
	b kube apply -f "$W/cm.yaml" --kubeconfig "$W/bad.kubeconfig" --context nope
fails "a --kubeconfig that does not exist" "kubeconfig $W/none: No such file or directory" \
	b kube apply -f "$W/cm.yaml" --kubeconfig "$W/none"
fails "no kubeconfig at all" 'no kubeconfig' env -u KUBERNETES_SERVICE_HOST HOME="$W" KUBECONFIG= \
	"$BERTH" --root "$ROOT" --runroot "$RUNROOT" kube apply -f "$W/cm.yaml"
fails "an unreachable server" "https://127.0.0.1:1: connection refused" \
	b kube apply -f "$W/cm.yaml" --server https://127.0.0.1:1 --insecure-skip-tls-verify

# ---- a cluster ----
check "cluster up" b kube cluster up --name "$CL"
PKI=$ROOT/kube-clusters/$CL/pki
SERVER=$(kc config view --minify -o jsonpath='{.clusters[0].cluster.server}')
like "the cluster's server" "$SERVER" '^https://127\.0\.0\.1:[0-9]+$'
NODE=$(kc get nodes -o jsonpath='{.items[0].metadata.name}')

cat >"$W/app.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: page, labels: {app: web}}
data: {index.html: "hello from a configmap\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, labels: {app: web}}
stringData: {user: admin, password: one}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox:1.36
        command: ["sh", "-c", "cp /page/index.html /tmp/; exec httpd -f -p 8080 -h /tmp"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
        volumeMounts: [{name: page, mountPath: /page}]
      volumes: [{name: page, configMap: {name: page}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, labels: {app: web}}
spec:
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: busybox:1.36, command: ["sh", "-c", "echo once"]}]
EOF
t0=$(date +%s%N)
check "apply --wait" b kube apply -f "$W/app.yaml" --wait --timeout 90s
echo "# apply --wait: $((($(date +%s%N) - t0) / 1000000)) ms"
is "kubectl's lines for server-side apply" "$(grep -v '^Waiting' <<<"$OUT")" "configmap/page serverside-applied
secret/creds serverside-applied
deployment.apps/web serverside-applied
service/web serverside-applied
job.batch/once serverside-applied
deployment \"web\" successfully rolled out
job \"once\" completed (1 succeeded)"
like "rollout progress lines as kubectl prints them" "$OUT" 'Waiting for deployment "web" rollout to finish: [0-9] (out of|of) 2 (new|updated) replicas'
is "2 pods Ready after --wait" "$(kc get deploy web -o jsonpath='{.status.readyReplicas}')" 2
is "the pods run on the berth node" "$(kc get pods -l app=web -o jsonpath='{.items[*].spec.nodeName}')" "$NODE $NODE"
is "the Job completed" "$(kc get job once -o jsonpath='{.status.succeeded}')" 1
like "field manager berth, operation Apply" "$(kc get cm page -o jsonpath='{.metadata.managedFields[*].manager}/{.metadata.managedFields[*].operation}')" '^berth/Apply$'
check "apply again" b kube apply -f "$W/app.yaml"
like "... the same lines" "$OUT" '^configmap/page serverside-applied'

# stdin, a List, a namespace from the same input, -n
cat >"$W/list.yaml" <<'EOF'
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: t0752-ns}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: in-ns}
  data: {x: "1"}
EOF
check "apply -f - of a List with -n (a namespace made by the same input)" b kube apply -f - -n t0752-ns <"$W/list.yaml"
is "... its lines" "$OUT" "namespace/t0752-ns serverside-applied
configmap/in-ns serverside-applied"
is "... the ConfigMap is in -n's namespace" "$(kc -n t0752-ns get cm in-ns -o jsonpath='{.data.x}')" 1
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elsewhere, namespace: other}\n' >"$W/other.yaml"
fails "an object of another namespace than -n" 'the namespace from the provided object "other" does not match the namespace "t0752-ns"' \
	b kube apply -f "$W/other.yaml" -n t0752-ns

# --dry-run=server changes nothing
sed 's/replicas: 2/replicas: 4/' "$W/app.yaml" >"$W/app4.yaml"
check "apply --dry-run=server" b kube apply -f "$W/app4.yaml" --dry-run=server
like "... (server dry run)" "$OUT" '^deployment.apps/web serverside-applied \(server dry run\)$'
is "... the live object keeps its replicas" "$(kc get deploy web -o jsonpath='{.spec.replicas}')" 2

# ---- diff ----
exits "diff of what is applied: exit 0" 0 b kube diff -f "$W/app.yaml"
is "... no output" "$OUT" ""
exits "diff of a change: exit 1" 1 b kube diff -f "$W/app4.yaml"
like "... diff -u of LIVE and MERGED" "$OUT" '^diff -u -N .*/LIVE-[^ ]+/apps\.v1\.Deployment\.default\.web .*/MERGED-[^ ]+/apps\.v1\.Deployment\.default\.web'
like "... the field's old value" "$OUT" '^-  replicas: 2$'
like "... and its new one" "$OUT" '^\+  replicas: 4$'
unlike "... no managedFields or resourceVersion" "$OUT" 'managedFields|resourceVersion|generation'
sed 's/password: one/password: two/' "$W/app.yaml" >"$W/app-pw.yaml"
exits "diff of a Secret" 1 b kube diff -f "$W/app-pw.yaml"
like "... values masked (before)" "$OUT" '^-  password: "\*\*\* \(before\)"$'
like "... values masked (after)" "$OUT" '^\+  password: "\*\*\* \(after\)"$'
like "... values alike masked alike" "$OUT" '^   user: "\*\*\*"$'
unlike "... no secret in the output" "$OUT" 'b25l|dHdv'
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: brand-new}\ndata: {k: v}\n' >"$W/new.yaml"
exits "diff of a new object" 1 b kube diff -f "$W/new.yaml"
like "... all added" "$OUT" '^\+kind: ConfigMap$'
exits "diff with KUBECTL_EXTERNAL_DIFF" 1 env KUBECTL_EXTERNAL_DIFF="diff -q" "$BERTH" --root "$ROOT" kube diff -f "$W/new.yaml"
like "... its output" "$OUT" '^Only in .*MERGED-'
exits "diff of an unknown kind: exit 2" 2 b kube diff -f <(printf 'apiVersion: v1\nkind: Nope\nmetadata: {name: x}\n')
like "... the error" "$OUT" 'no matches for kind "Nope" in version "v1"'
is "diff leaves no temporary directory" "$(find "${TMPDIR:-/tmp}" -maxdepth 1 \( -name 'LIVE-*' -o -name 'MERGED-*' \) -newer "$W/new.yaml" 2>/dev/null)" ""

# ---- errors the server gives; nothing is applied ----
cat >"$W/invalid.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: not-made}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: -1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: busybox:1.36}]}
EOF
fails "an invalid object: the object, the field and the server's message" \
	'Deployment default/web: spec.replicas: Invalid value: -1: must be greater than or equal to 0' \
	b kube apply -f "$W/invalid.yaml"
like "... nothing was applied" "$OUT" 'nothing was applied \(1 object refused\)'
exits "... not even the valid object before it" 1 kc get cm not-made
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo}\ndata: {a: "1"}\ndtaa: {}\n' >"$W/typo.yaml"
fails "an unknown field (fieldValidation=Strict)" 'ConfigMap default/typo: .dtaa: field not declared in schema' \
	b kube apply -f "$W/typo.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k1}\n---\napiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n' >"$W/unknown.yaml"
fails "an unknown kind: file, line, kubectl's words" \
	'unknown.yaml:5: Gadget g: no matches for kind "Gadget" in version "example.com/v1" \(ensure CRDs are installed first\)' \
	b kube apply -f "$W/unknown.yaml"
exits "... nothing applied" 1 kc get cm k1

# a conflict: kubectl scale owns .spec.replicas now
check "kubectl scale" kc scale deploy/web --replicas=3
sed 's/replicas: 2/replicas: 1/' "$W/app.yaml" >"$W/app1.yaml"
fails "a conflict without --force-conflicts" 'Deployment default/web: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas' \
	b kube apply -f "$W/app1.yaml"
like "... the way out" "$OUT" 're-run with --force-conflicts'
is "... replicas unchanged" "$(kc get deploy web -o jsonpath='{.spec.replicas}')" 3
check "--force-conflicts" b kube apply -f "$W/app1.yaml" --force-conflicts
is "... berth's replicas" "$(kc get deploy web -o jsonpath='{.spec.replicas}')" 1

# ---- rollout status ----
check "rollout status" b kube rollout status deploy/web --timeout 60s
like "... kubectl's last line" "$OUT" 'deployment "web" successfully rolled out$'
check "rollout status TYPE NAME -w=false" b kube rollout status deployment web -w=false
fails "rollout status of a ConfigMap" "no status viewer has been implemented for ConfigMap" b kube rollout status cm/page
fails "rollout status of an unknown type" 'the server doesn.t have a resource type "frobs"' b kube rollout status frobs/x
fails "rollout status of a missing object" 'deployments.apps "nope" not found' b kube rollout status deploy/nope
cat >"$W/stuck.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  replicas: 1
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: "127.0.0.1:1/none:1", imagePullPolicy: Always}]
EOF
t0=$(date +%s%N)
fails "apply --wait of a rollout that cannot finish: its timeout" "deployment.apps/stuck: timed out waiting for the condition" \
	b kube apply -f "$W/stuck.yaml" --wait --timeout 4s
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 9000 ] && ok "... within the timeout ($ms ms)" || notok "... within the timeout ($ms ms)"
like "... the progress lines" "$OUT" 'Waiting for deployment "stuck" rollout to finish'
fails "rollout status --timeout" "timed out waiting for the condition" b kube rollout status deploy/stuck --timeout 2s

# StatefulSet and DaemonSet
cat >"$W/sets.yaml" <<'EOF'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: busybox:1.36, command: ["sleep", "3600"]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: busybox:1.36, command: ["sleep", "3600"]}]
EOF
check "apply --wait of a StatefulSet and a DaemonSet" b kube apply -f "$W/sets.yaml" --wait --timeout 90s
like "... the statefulset's line" "$OUT" 'partitioned roll out complete: 2 new pods have been updated...'
like "... the daemon set's line" "$OUT" 'daemon set "agent" successfully rolled out'
is "... 2 db pods Ready" "$(kc get sts db -o jsonpath='{.status.readyReplicas}')" 2

# ---- a CRD and its objects in one file ----
cat >"$W/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wg]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, labels: {app: wid}}
spec: {size: 3}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w2, labels: {app: wid}}
spec: {size: 4}
EOF
check "a CRD and its objects in one apply" b kube apply -f "$W/crd.yaml"
is "... the lines" "$OUT" "customresourcedefinition.apiextensions.k8s.io/widgets.example.com serverside-applied
widget.example.com/w1 serverside-applied
widget.example.com/w2 serverside-applied"
is "... kubectl sees them" "$(kc get widgets -o jsonpath='{.items[*].spec.size}')" "3 4"
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w0}\nspec: {size: 0}\n' >"$W/w0.yaml"
fails "a custom object the CRD's schema refuses" 'Widget default/w0: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1' \
	b kube apply -f "$W/w0.yaml"
check "delete by a short name of the CRD" b kube delete wg w2
is "... kubectl's line" "$OUT" 'widget.example.com "w2" deleted from default namespace'

# ---- prune ----
python3 -c 'import sys; print("\n---\n".join(open(sys.argv[1]).read().split("\n---\n")[:2]))' "$W/crd.yaml" >"$W/crd1.yaml"
check "apply the same objects again with w2 back" b kube apply -f "$W/crd.yaml"
check "apply --prune -l without one of them" b kube apply -f "$W/crd1.yaml" --prune -l app=wid
like "... pruned" "$OUT" '^widget.example.com/w2 pruned$'
is "... only w1 left" "$(kc get widgets -o jsonpath='{.items[*].metadata.name}')" w1
sed '/^---$/,$d' "$W/app.yaml" >"$W/app-cm.yaml"
check "apply --prune -l app=web --dry-run=server with only the ConfigMap left" b kube apply -f "$W/app-cm.yaml" --prune -l app=web --dry-run=server
like "... what would go" "$OUT" 'deployment.apps/web pruned \(server dry run\)'
like "... the Secret too" "$OUT" 'secret/creds pruned \(server dry run\)'
unlike "... never the pods or ReplicaSets the Deployment made" "$OUT" '^(pod|replicaset)'
is "... dry run: the Deployment is still there" "$(kc get deploy web -o jsonpath='{.metadata.name}')" web

# ---- credentials ----
# a user of the cluster's CA with no rights: 403 from RBAC
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$W/nobody.key" -out "$W/nobody.csr" -subj "/CN=nobody" 2>"$W/openssl.err" &&
	openssl x509 -req -in "$W/nobody.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 1 -out "$W/nobody.crt" 2>>"$W/openssl.err" &&
	openssl x509 -req -in "$W/nobody.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days -1 -out "$W/expired.crt" 2>>"$W/openssl.err" ||
	{ notok "openssl certificates"; cat "$W/openssl.err"; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$W/other-ca.key" -out "$W/other-ca.crt" -subj /CN=other-ca -days 1 2>>"$W/openssl.err"
kcfg() { # FILE USER-YAML [CA]
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
current-context: x
clusters:
- name: c
  cluster: {server: "$SERVER", certificate-authority: "${3:-$PKI/ca.crt}"}
users:
- name: u
  user: $2
contexts:
- name: x
  context: {cluster: c, user: u}
EOF
}
kcfg "$W/nobody.kc" "{client-certificate: $W/nobody.crt, client-key: $W/nobody.key}"
fails "a 403 from RBAC" 'ConfigMap default/cm1: configmaps "cm1" is forbidden: User "nobody" cannot patch resource "configmaps" in API group "" in the namespace "default"' \
	b kube apply -f "$W/cm.yaml" --kubeconfig "$W/nobody.kc"
kcfg "$W/expired-cert.kc" "{client-certificate: $W/expired.crt, client-key: $W/nobody.key}"
fails "an expired client certificate" 'Unauthorized \(the credentials were refused\)' b kube apply -f "$W/cm.yaml" --kubeconfig "$W/expired-cert.kc"
kcfg "$W/wrongca.kc" "{client-certificate: $W/nobody.crt, client-key: $W/nobody.key}" "$W/other-ca.crt"
fails "a wrong CA" "$SERVER: certificate verify failed \(wrong CA\?\)" b kube apply -f "$W/cm.yaml" --kubeconfig "$W/wrongca.kc"
kcfg "$W/badtoken.kc" "{token: not-a-token}"
fails "a wrong token" 'Unauthorized \(the credentials were refused\)' b kube apply -f "$W/cm.yaml" --kubeconfig "$W/badtoken.kc"
if python3 -c 'import cryptography' 2>/dev/null; then
	# a service-account token signed by the cluster's key, expired an hour ago
	SA_UID=$(kc get sa default -o jsonpath='{.metadata.uid}')
	ISS=$(tr '\0' '\n' </proc/"$(python3 -c "import json;print(json.load(open('$ROOT/kube-clusters/$CL/cluster.json'))['pids']['kube-apiserver'])")"/cmdline | sed -n 's/^--service-account-issuer=//p')
	EXPIRED=$(python3 - "$PKI/sa.key" "$ISS" "$SA_UID" <<'EOF'
import base64, json, sys, time
from cryptography.hazmat.primitives import serialization, hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
key = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b'=').decode()
ecdsa = isinstance(key, ec.EllipticCurvePrivateKey)
now = int(time.time())
claims = {"iss": sys.argv[2], "aud": [sys.argv[2]], "sub": "system:serviceaccount:default:default",
          "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600,
          "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "default", "uid": sys.argv[3]}}}
si = (b64(json.dumps({"alg": "ES256" if ecdsa else "RS256", "typ": "JWT"}).encode()) + "." +
      b64(json.dumps(claims).encode())).encode()
if ecdsa:
    r, s = utils.decode_dss_signature(key.sign(si, ec.ECDSA(hashes.SHA256())))
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
else:
    sig = key.sign(si, padding.PKCS1v15(), hashes.SHA256())
print(si.decode() + "." + b64(sig))
EOF
)
	kcfg "$W/expired.kc" "{token: \"$EXPIRED\"}"
	fails "an expired token" "API discovery: GET $SERVER/api: Unauthorized \(the credentials were refused\)" \
		b kube apply -f "$W/cm.yaml" --kubeconfig "$W/expired.kc"
	# the same key, a token that is still valid: the server takes it (so the expiry is what was refused)
	VALID=$(kc create token default --duration=10m)
	kcfg "$W/valid.kc" "{token: \"$VALID\"}"
	fails "... a valid service-account token gets RBAC's answer instead" 'User "system:serviceaccount:default:default" cannot patch' \
		b kube apply -f "$W/cm.yaml" --kubeconfig "$W/valid.kc"
else
	skip "an expired token (python3's cryptography module is not installed)"
fi
# an exec credential plugin: a token of a service account bound to cluster-admin
check "a service account with cluster-admin" kc create serviceaccount deployer
check "... bound" kc create clusterrolebinding t0752-deployer --clusterrole=cluster-admin --serviceaccount=default:deployer
DTOK=$(kc create token deployer --duration=10m)
cat >"$W/plugin.sh" <<EOF
#!/bin/sh
echo "\$KUBERNETES_EXEC_INFO" >"$W/exec-info.json"
[ -n "\$FAIL" ] && { echo "plugin: no credentials for you" >&2; exit 3; }
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\n' "$DTOK"
EOF
chmod +x "$W/plugin.sh"
kcfg "$W/exec.kc" "{exec: {apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh, interactiveMode: Never, provideClusterInfo: true}}"
check "an exec credential plugin (command relative to the kubeconfig)" b kube apply -f "$W/cm.yaml" --kubeconfig "$W/exec.kc"
is "... applied" "$OUT" "configmap/cm1 serverside-applied"
like "... the plugin got the ExecCredential with the cluster" "$(cat "$W/exec-info.json" 2>&1)" "\"kind\":\"ExecCredential\".*\"server\":\"$SERVER\""
kcfg "$W/exec-fail.kc" "{exec: {apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh, interactiveMode: Never, env: [{name: FAIL, value: '1'}]}}"
fails "an exec plugin that fails" "exec plugin '$W/./plugin.sh' failed \(exit status 3\): plugin: no credentials for you" \
	b kube apply -f "$W/cm.yaml" --kubeconfig "$W/exec-fail.kc"
kcfg "$W/exec-none.kc" "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: t0752-no-such-plugin, installHint: 'install it with apt'}}"
fails "an exec plugin that is not installed" "exec plugin 't0752-no-such-plugin' failed: executable not found in \\\$PATH" \
	b kube apply -f "$W/cm.yaml" --kubeconfig "$W/exec-none.kc"
like "... with its installHint" "$OUT" "install it with apt"

# ---- delete ----
check "delete -f" b kube delete -f "$W/sets.yaml"
is "... kubectl's lines" "$OUT" 'statefulset.apps "db" deleted from default namespace
daemonset.apps "agent" deleted from default namespace'
exits "... gone when delete returns" 1 kc get sts db
fails "delete of what is not there" 'StatefulSet default/db: statefulsets.apps "db" not found' b kube delete -f "$W/sets.yaml"
check "delete --ignore-not-found" b kube delete -f "$W/sets.yaml" --ignore-not-found
is "... says nothing" "$OUT" ""
check "delete --dry-run=server" b kube delete deploy/stuck --dry-run=server
is "... its line" "$OUT" 'deployment.apps "stuck" deleted from default namespace (server dry run)'
check "... still there" kc get deploy stuck
check "delete TYPE NAME" b kube delete deployment stuck
check "delete -l" b kube delete cm -l app=wid --ignore-not-found
check "delete a namespace (cluster-scoped)" b kube delete ns t0752-ns --timeout 60s
is "... kubectl's line" "$OUT" 'namespace "t0752-ns" deleted'
check "delete -f of the app (with its Job and Service)" b kube delete -f "$W/app.yaml"
exits "... the Deployment is gone" 1 kc get deploy web

# ---- kube deploy: a compose project, its image through a registry ----
if command -v docker-registry >/dev/null 2>&1; then
	export DOCKER_CONFIG=$T_DIR/docker-config
	reg_start deploy
	P=$T_DIR/t0752proj
	mkdir -p "$P/app"
	printf 'FROM busybox:1.36\nRUN echo built-by-t0752-deploy > /index.html\nCMD ["sh", "-c", "mkdir -p /www && cp /index.html /www/ && exec httpd -f -p 80 -h /www"]\n' >"$P/app/Dockerfile"
	cat >"$P/compose.yaml" <<'EOF'
services:
  site:
    build: app
    ports: ["18754:80"]
  helper:
    image: busybox:1.36
    command: ["sleep", "3600"]
EOF
	fails "deploy of a build: service without --registry" 'service "site" is built here \(build:\), and the cluster.s nodes pull its image from a registry: pass --registry' \
		b kube deploy -f "$P/compose.yaml"
	fails "deploy to a cluster that does not answer: before building" "https://127.0.0.1:1: connection refused" \
		b kube deploy -f "$P/compose.yaml" --registry "$REG" --server https://127.0.0.1:1 --insecure-skip-tls-verify
	unlike "... nothing built" "$OUT" "Building"
	check "deploy --dry-run=server" b kube deploy -f "$P/compose.yaml" --registry "$REG" --dry-run=server
	like "... nothing built or pushed" "$OUT" "the 1 build: service is not built or pushed"
	like "... its lines" "$OUT" 'deployment.apps/site serverside-applied \(server dry run\)'
	t0=$(date +%s%N)
	check "deploy --registry" b kube deploy -f "$P/compose.yaml" --registry "$REG" --timeout 90s
	echo "# kube deploy: $((($(date +%s%N) - t0) / 1000000)) ms"
	like "... built and pushed" "$OUT" "Service site  Pushed $REG/t0752proj-site:latest@sha256:"
	like "... applied" "$OUT" '^deployment.apps/site serverside-applied$'
	like "... rolled out" "$OUT" 'deployment "site" successfully rolled out'
	is "... the image is in the registry" "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/t0752proj-site/manifests/latest")" 200
	is "... the pod runs the pushed image" "$(kc get pods -l io.kompose.service=site -o jsonpath='{.items[0].spec.containers[0].image}')" "$REG/t0752proj-site"
	page=""
	for _ in $(seq 1 100); do page=$(curl -sf -m 2 http://127.0.0.1:18754/index.html 2>/dev/null) && break; sleep 0.1; done
	is "... the page through the LoadBalancer Service" "$page" built-by-t0752-deploy
	is "... objects labelled with the project" "$(kc get deploy site -o jsonpath='{.metadata.labels.app\.kubernetes\.io/part-of}')" t0752proj
	sed '/^  helper:/,$d' "$P/compose.yaml" >"$P/compose2.yaml"
	check "deploy --prune after a service left the file" b kube deploy -f "$P/compose2.yaml" -p t0752proj --registry "$REG" --prune --timeout 90s
	like "... its Deployment pruned" "$OUT" '^deployment.apps/helper pruned$'
	like "... its Service pruned" "$OUT" '^service/helper pruned$'
	exits "... gone" 1 kc get deploy helper
	check "... site stays" kc get deploy site
	check "delete what deploy made" b kube delete deploy,svc -l app.kubernetes.io/part-of=t0752proj
else
	skip "kube deploy (docker-registry is not installed)"
fi

# ---- the seeds' manifest, when its image can be built here ----
if [ -f /var/cache/berth/debian-bookworm.tar ]; then
	b import /var/cache/berth/debian-bookworm.tar debian:bookworm >/dev/null
	if b build -q -t nginx:1.14.2 "$TOP/examples/kube/nginx/image" >"$W/build.log" 2>&1; then
		# the Service on a port of its own (the manifest's 80 may be another test's)
		sed 's/port: 80$/port: 18752/' "$TOP/examples/kube/nginx/nginx.yaml" >"$W/nginx.yaml"
		check "the seeds' manifest with apply --wait" b kube apply -f "$W/nginx.yaml" --wait --timeout 120s
		like "... rolled out" "$OUT" 'deployment "nginx-deployment" successfully rolled out'
		is "... 3 pods Running and Ready" "$(kc get pods -l app=nginx -o jsonpath='{range .items[*]}{.status.phase}/{.status.conditions[?(@.type=="Ready")].status} {end}')" "Running/True Running/True Running/True "
		ok=0
		for _ in $(seq 1 100); do curl -sf -m 2 http://127.0.0.1:18752/ >"$W/page" 2>/dev/null && { ok=1; break; }; sleep 0.1; done
		[ $ok = 1 ] && like "... the page through the LoadBalancer Service" "$(cat "$W/page")" 'served by pod <b>nginx-deployment-' ||
			notok "... the page through the LoadBalancer Service"
		check "... deleted" b kube delete -f "$W/nginx.yaml"
	else
		skip "the seeds' manifest (its image does not build here: $(tail -1 "$W/build.log"))"
	fi
else
	skip "the seeds' manifest (no /var/cache/berth/debian-bookworm.tar: scripts/debian-base.sh makes it)"
fi

check "cluster down" b kube cluster down --name "$CL"
t_done
