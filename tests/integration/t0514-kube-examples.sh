#!/usr/bin/env bash
# The inputs of examples/kube (issue 13), checked without `kube play`:
#  - the manifests are valid Kubernetes 1.36 objects (tests/tools/
#    k8s-validate.py against the shared swagger.json), except the
#    apps/v1beta1 Deployment of v1beta1/nginx.yaml, which differs from
#    nginx.yaml only in that version and the missing selector;
#  - visits.yaml carries examples/visits' templates/ and static/ byte for
#    byte and names the images `berth compose build` makes;
#  - examples/kube/nginx/image builds nginx:1.14.2 on the Debian base, which
#    serves its own page, and, with the ConfigMap's keys mounted where the
#    Deployment mounts them (items honoured), the pod's name at /, /hostname
#    and in X-Pod-Name, /healthz; access log on stdout, errors on stderr,
#    SIGQUIT stops it at once, and a broken server block makes nginx exit
#    with the file and line.
# The build needs the cached debootstrap tarball and the apt mirror (skipped
# with the reason otherwise); the manifest checks need the shared
# conformance folder and python3-yaml.
. "$(dirname "$0")/../lib.sh"

EX=$TOP/examples/kube
SWAGGER=$SHARED/conformance/kubernetes/swagger.json
export BERTH BERTH_RUNROOT=$RUNROOT
CTRS=()
cleanup_t0514() {
	local c have
	if [ "${#CTRS[@]}" -gt 0 ] && [ -d "$ROOT" ]; then
		have=$(b ps -a --format '{{.Names}}')
		for c in "${CTRS[@]}"; do grep -qx -- "$c" <<<"$have" && b rm -f "$c" >/dev/null; done
	fi
	t_cleanup
}
trap cleanup_t0514 EXIT

# ---- the manifests ----
HAVE_YAML=0
yaml_err=$(python3 -c 'import yaml' 2>&1) && HAVE_YAML=1
if [ "$HAVE_YAML" = 0 ]; then
	skip "manifest checks: python3-yaml is not installed ($yaml_err)"
elif [ ! -f "$SWAGGER" ]; then
	skip "manifest checks: no Kubernetes API spec at $SWAGGER (set BERTH_SHARED to the shared dir)"
else
	V() { python3 "$TOP/tests/tools/k8s-validate.py" --swagger "$SWAGGER" "$@"; }
	check "nginx.yaml is valid Kubernetes" V "$EX/nginx/nginx.yaml"
	like "nginx.yaml: ConfigMap, Deployment, Service" "$OUT" '^3 objects, 0 errors$'
	check "visits.yaml is valid Kubernetes" V "$EX/visits/visits.yaml"
	like "visits.yaml: 11 objects" "$OUT" '^11 objects, 0 errors$'
	exits "v1beta1/nginx.yaml: refused by a current API" 1 V "$EX/nginx/v1beta1/nginx.yaml"
	like "only for its apps/v1beta1 Deployment" "$OUT" \
		'DOC#2: Deployment/nginx-deployment: apiVersion: apiVersion apps/v1beta1 kind Deployment is not served'
	like "and nothing else" "$OUT" '^3 objects, 1 errors$'
	# shellcheck disable=SC2016  # python, not shell
	check "v1beta1/nginx.yaml is nginx.yaml with apps/v1beta1 and no selector" python3 -c '
import sys, yaml
new = list(yaml.safe_load_all(open(sys.argv[1])))
old = list(yaml.safe_load_all(open(sys.argv[2])))
assert new[1]["apiVersion"] == "apps/v1beta1", new[1]["apiVersion"]
assert "selector" not in new[1]["spec"]
new[1]["apiVersion"] = "apps/v1"
new[1]["spec"]["selector"] = old[1]["spec"]["selector"]
new[1]["spec"] = {k: new[1]["spec"][k] for k in old[1]["spec"]}
assert new == old, "the files differ in more than the version and the selector"
' "$EX/nginx/v1beta1/nginx.yaml" "$EX/nginx/nginx.yaml"
	# shellcheck disable=SC2016
	check "visits.yaml: templates/ and static/ as in examples/visits" python3 -c '
import sys, yaml
d = {o["metadata"]["name"]: o for o in yaml.safe_load_all(open(sys.argv[1]))}
for cm, path in (("visits-templates", "templates/index.html"), ("visits-static", "static/style.css")):
    key = path.split("/")[1]
    want = open(sys.argv[2] + "/" + path).read()
    assert d[cm]["data"] == {key: want}, cm + " differs from examples/visits/" + path
' "$EX/visits/visits.yaml" "$TOP/examples/visits"
	imgs=$(python3 -c '
import sys, yaml
out = set()
for o in yaml.safe_load_all(open(sys.argv[1])):
    spec = o.get("spec", {}).get("template", {}).get("spec", {})
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        out.add(c["image"])
print("\n".join(sorted(out)))' "$EX/visits/visits.yaml" 2>&1)
	check "compose config --images of examples/visits" b compose -f "$TOP/examples/visits/compose.yaml" config --images
	unknown=$(comm -23 <(printf '%s\n' "$imgs") <(printf '%s\n' "$OUT" | sort))
	is "visits.yaml uses only the images compose builds ($(paste -sd' ' <<<"$imgs"))" "$unknown" ""
fi

# ---- the nginx:1.14.2 image ----
CACHE=${BERTH_DEBIAN_CACHE:-/var/cache/berth/debian-bookworm.tar}
[ -s "$CACHE" ] || { skip "nginx image: no cached Debian rootfs at $CACHE (make it: scripts/debian-base.sh)"; t_done; }
mirror=$(awk '/^URIs:/ { print $2; exit }' <(tar -xOf "$CACHE" ./etc/apt/sources.list.d/debian.sources))
host=${mirror#*://}
host=${host%%/*}
[ -n "$host" ] || { skip "nginx image: no apt mirror named in $CACHE"; t_done; }
timeout 5 bash -c "exec 3<>/dev/tcp/$host/80" ||
	{ skip "nginx image: the apt mirror $host is unreachable (the RUN step installs nginx)"; t_done; }
[ "$HAVE_YAML" = 1 ] || { skip "nginx image: python3-yaml is needed to read the ConfigMap"; t_done; }

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		[ -n "$(ss -Htln "sport = :$p")" ] || { echo "$p"; return; }
	done
	echo $((20000 + RANDOM % 30000))
}

check "import the Debian base" bash "$TOP/scripts/debian-base.sh" --cached --root "$ROOT"
check "build -t nginx:1.14.2 examples/kube/nginx/image" b build -t nginx:1.14.2 "$EX/nginx/image"
like "Debian's nginx package went in" "$OUT" 'Setting up nginx '
is "stop signal SIGQUIT" "$(b image inspect --format '{{.Config.StopSignal}}' nginx:1.14.2 2>&1)" SIGQUIT
is "CMD keeps nginx in the foreground" "$(b image inspect --format '{{json .Config.Cmd}}' nginx:1.14.2 2>&1)" \
	'["nginx","-g","daemon off;"]'

# the image alone: its own page
port=$(free_port)
name=t0514-plain-$$
CTRS+=("$name")
check "run the image alone" b run -d --name "$name" -p "127.0.0.1:$port:80" nginx:1.14.2
if wait_for 20 curl -fsS "http://127.0.0.1:$port/"; then
	like "its own page" "$OUT" 'Welcome to nginx!'
	like "says no ConfigMap is mounted" "$OUT" '^ConfigMap is mounted over'
else
	notok "the image alone does not answer on $port: $OUT"
fi
check "rm the plain one" b rm -f "$name"

# the ConfigMap's keys where the Deployment mounts them, per its items
CM=$T_DIR/cm
# shellcheck disable=SC2016
check "lay out the ConfigMap volumes of nginx.yaml" python3 -c '
import os, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
cm = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
pod = [d for d in docs if d["kind"] == "Deployment"][0]["spec"]["template"]["spec"]
vols = {v["name"]: v for v in pod["volumes"]}
for m in pod["containers"][0]["volumeMounts"]:
    v = vols[m["name"]]["configMap"]
    d = os.path.join(sys.argv[2], m["name"])
    os.makedirs(d)
    for it in v["items"]:
        open(os.path.join(d, it["path"]), "w").write(cm[v["name"]]["data"][it["key"]])
    print("%s:%s:ro" % (d, m["mountPath"]))
' "$EX/nginx/nginx.yaml" "$CM"
mounts=()
for m in $OUT; do mounts+=(-v "$m"); done
is "two configMap volumes" "${#mounts[@]}" 4
port=$(free_port)
name=t0514-pod-$$
pod=nginx-deployment-5d59d67564-t0514
CTRS+=("$name")
check "run it as the Deployment's pod would" b run -d --name "$name" --hostname "$pod" -p "127.0.0.1:$port:80" "${mounts[@]}" nginx:1.14.2
if wait_for 20 curl -fsSi "http://127.0.0.1:$port/"; then
	like "the ConfigMap's page" "$OUT" 'Hello from Kubernetes YAML'
	like "names the pod (server-side include)" "$OUT" "served by pod <b>$pod</b>"
	like "X-Pod-Name header" "$OUT" "X-Pod-Name: $pod"
	check "/hostname" curl -fsS "http://127.0.0.1:$port/hostname"
	is "/hostname is the pod's name" "$OUT" "$pod"
	check "/healthz" curl -fsS "http://127.0.0.1:$port/healthz"
	is "/healthz says ok" "$OUT" ok
	exits "a missing page is a 404" 22 curl -fsS -o /dev/null "http://127.0.0.1:$port/nope"
	# the container's stdout and stderr, apart
	logs_apart() { b logs "$name" >"$T_DIR/log.out" 2>"$T_DIR/log.err" && grep -q 'GET /nope' "$T_DIR/log.out"; }
	wait_for 5 logs_apart
	like "access log on stdout" "$(cat "$T_DIR/log.out")" '"GET /hostname HTTP/1.1" 200'
	unlike "healthz is not logged" "$(cat "$T_DIR/log.out")" 'GET /healthz'
	like "error log on stderr" "$(cat "$T_DIR/log.err")" 'open\(\) "/usr/share/nginx/html/nope" failed'
	unlike "no error on stdout" "$(cat "$T_DIR/log.out")" '\[error\]'
else
	notok "the pod does not answer on $port: $OUT"
	b logs "$name" 2>&1 | tail -5 | sed 's/^/#   /'
fi
t0=$(date +%s%N)
check "stop (SIGQUIT)" b stop -t 10 "$name"
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 3000 ]; then ok "nginx stops at once on SIGQUIT (${ms} ms)"; else notok "stop took ${ms} ms (the grace period?)"; fi
is "exit code 0" "$(b inspect --format '{{.State.ExitCode}}' "$name" 2>&1)" 0
check "rm the pod" b rm -f "$name"

# bad input: a broken server block in the ConfigMap
printf 'server {\n    listen 80;\n    bogus_directive on;\n}\n' >"$CM/conf/default.conf"
name=t0514-bad-$$
CTRS+=("$name")
exits "a broken server block: nginx exits 1" 1 b run --name "$name" --network none "${mounts[@]}" nginx:1.14.2
like "naming the file and line" "$OUT" 'unknown directive "bogus_directive" in /etc/nginx/conf.d/default.conf:3'
check "rm the broken one" b rm -f "$name"

is "no containers left" "$(b ps -a -q 2>&1)" ""
t_done
