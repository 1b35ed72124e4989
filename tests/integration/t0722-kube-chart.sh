#!/usr/bin/env bash
# berth kube convert --chart DIR, checked with the real helm: the compose
# examples under examples/, a few awesome-compose samples
# ($SHARED/conformance/awesome-compose) and a project made here for the
# corners (registry with a port, a digest, literal "{{" in env and command,
# an alias Service, resources, a StatefulSet, --namespace) become charts;
# `helm lint --strict` passes on each, and `helm template` renders the same
# objects as `berth kube convert -o` wrote (tests/tools/chart-compare.py:
# by meaning, key order ignored). `helm template --set` overrides show up
# where they belong and nowhere else; values.schema.json refuses a bad one.
# Bad input: --chart onto a non-empty dir, under a regular file, onto a
# file, an invalid compose file, an image the chart cannot hold: a clear
# error naming the flag and DIR, and no chart dir, no temp dir, no -o file.
# helm is built by scripts/helm.sh (v4.3.2 from the Go module proxy, cached
# in /var/cache/berth/helm); when it cannot be built, the helm checks skip
# saying why (the bad-input checks still run).
. "$(dirname "$0")/../lib.sh"

PY=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || skip_all "python3 with PyYAML is missing (Debian: apt-get install python3-yaml)"
CMP=$TOP/tests/tools/chart-compare.py

# the comparison itself, on small inputs
out=$("$PY" "$CMP" --self-test 2>&1)
rc=$?
printf '%s\n' "$out"
n=$(grep -c '^not ok' <<<"$out")
T_FAILS=$((T_FAILS + n))
[ $rc -eq 0 ] || [ "$n" -gt 0 ] || notok "chart-compare.py --self-test exited $rc"
exits "chart-compare.py: a missing file is exit 2" 2 "$PY" "$CMP" "$T_DIR/none.yaml" "$T_DIR/none.yaml"
like "chart-compare.py: the message names the file" "$OUT" "none.yaml: No such file"

W=$T_DIR/work
mkdir -p "$W"
cd "$W" || exit 1

# no dot-entries (temp dirs of a chart) left in a dir
no_temp() {
	local left
	left=$(ls -A "$1" | grep '^\.' || true)
	if [ -z "$left" ]; then ok "$2: no temp dir left"; else notok "$2: left $left"; fi
}

# ---- bad input ----
VISITS=$TOP/examples/visits/compose.yaml
mkdir full
echo keep >full/mine
fails "--chart onto a non-empty dir" "Error: --chart $W/full: exists and is not empty" \
	b kube convert -f "$VISITS" --chart "$W/full"
is "the non-empty dir is untouched" "$(ls -A full)" "mine"
echo x >afile
fails "--chart under a regular file" "Error: --chart $W/afile/chart: a part of its path is not a directory" \
	b kube convert -f "$VISITS" --chart "$W/afile/chart"
fails "--chart onto a regular file" "Error: --chart $W/afile: exists and is not a directory" \
	b kube convert -f "$VISITS" --chart "$W/afile"
is "the file is untouched" "$(cat afile)" "x"
fails "--chart with a missing parent" "Error: --chart $W/no/chart: parent directory $W/no: No such file" \
	b kube convert -f "$VISITS" --chart "$W/no/chart"
printf 'services:\n  web:\n    image: nginx\n    ports: ["80:abc"]\n' >bad.yaml
fails "an invalid compose file: compose config's error" 'bad.yaml:4: services.web.ports\[0\]' \
	b kube convert -f bad.yaml --chart "$W/badchart" -o "$W/bad-out.yaml"
[ ! -e badchart ] && [ ! -e bad-out.yaml ] && ok "invalid compose file: no chart dir, no -o file" ||
	notok "invalid compose file: something was written: $(ls -A)"
printf 'services:\n  web:\n    image: "bad image"\n' >badimg.yaml
fails "an image the chart cannot hold names the object" \
	"Error: --chart $W/imgchart: Deployment web: container web: image \"bad image\": not an image reference" \
	b kube convert -f badimg.yaml --chart "$W/imgchart" -o "$W/img-out.yaml"
[ ! -e imgchart ] && [ ! -e img-out.yaml ] && ok "bad image: no chart dir, no -o file" ||
	notok "bad image: something was written: $(ls -A)"
no_temp "$W" "bad input"

# --chart alone writes nothing to stdout; onto an empty dir it is fine
mkdir empty
check "--chart onto an empty dir" b kube convert -f "$VISITS" --chart "$W/empty"
b kube convert -f "$VISITS" --chart "$W/stdout-chart" >"$W/stdout.txt" 2>"$W/stderr.txt"
is "--chart alone: nothing on stdout" "$(wc -c <"$W/stdout.txt")" "0"
like "--chart alone: the warnings still go to stderr" "$(cat "$W/stderr.txt")" '^WARN service db'
rm -f "$W/stdout.txt" "$W/stderr.txt"
[ -f empty/Chart.yaml ] && [ -f empty/values.yaml ] && [ -f empty/values.schema.json ] && [ -f empty/.helmignore ] &&
	[ -f empty/templates/web-deployment.yaml ] && ok "the chart's files are there" || notok "chart files: $(find empty | sort)"
like "Chart.yaml: apiVersion v2, the project's name, version 0.1.0" "$(cat empty/Chart.yaml)" \
	'^apiVersion: v2$'
like "Chart.yaml names the project" "$(cat empty/Chart.yaml)" '^name: visits$'
like "values.yaml: the web image split" "$(cat empty/values.yaml)" 'repository: visits-web'
unlike "a template holds no placeholder" "$(cat empty/templates/*.yaml)" 'BerthChartSlot'
no_temp "$W" "good charts"

# ---- helm ----
if ! HELM=$("$TOP/scripts/helm.sh" --print-path); then
	skip "scripts/helm.sh could not build helm (its error is above): no helm checks"
	t_done
fi
ok "helm: $("$HELM" version --template '{{.Version}}')"
export HELM_CACHE_HOME=$T_DIR/helm/cache HELM_CONFIG_HOME=$T_DIR/helm/config HELM_DATA_HOME=$T_DIR/helm/data

# the corners
mkdir edge-src
cat >edge-src/compose.yaml <<'EOF'
name: chart-edge
services:
  my-app:
    image: registry.local:5000/team/app:1.2
    deploy:
      replicas: 2
      resources:
        limits: {cpus: "0.5", memory: 256M}
        reservations: {memory: 128M}
    ports: ["8080:80"]
    environment:
      TEMPLATE: "{{ .Values.evil }} and {{{x}}}"
    networks:
      default:
        aliases: [app-alias]
  pinned:
    image: busybox@sha256:6d9ac9237a84afe1516540f40a0fafdc86859b2141954b4d643af7066d598b74
    command: ["sh", "-c", "echo '{{.State}}'"]
    restart: "no"
  cache:
    image: localhost:5000/redis
    expose: ["6379"]
    labels:
      kompose.controller.type: statefulset
EOF

# chart NAME COMPOSE [convert flags]: convert to NAME.yaml and chart NAME/,
# lint, render, compare
chart() {
	local name=$1 file=$2
	shift 2
	if ! OUT=$(b kube convert -f "$file" "$@" -o "$W/$name.yaml" --chart "$W/$name" 2>&1); then
		notok "$name: kube convert --chart"
		printf '#   %s\n' "$OUT" | head -10
		return
	fi
	check "$name: helm lint --strict" "$HELM" lint --strict "$W/$name"
	if ! "$HELM" template "$name" "$W/$name" >"$W/$name.out" 2>"$W/$name.err"; then
		notok "$name: helm template"
		sed 's/^/#   /' "$W/$name.err" | head -10
		return
	fi
	check "$name: helm template renders what kube convert writes" "$PY" "$CMP" "$W/$name.yaml" "$W/$name.out"
}

n=0
for f in "$TOP"/examples/*/compose.yaml; do
	[ -f "$f" ] || continue
	chart "example-$(basename "$(dirname "$f")")" "$f"
	n=$((n + 1))
done
[ "$n" -gt 0 ] && ok "$n examples charted" || notok "no compose file under examples/"
chart edge "$W/edge-src/compose.yaml" --namespace prod

AC=$SHARED/conformance/awesome-compose
if [ -d "$AC" ]; then
	for s in nginx-flask-mysql wordpress-mysql prometheus-grafana minecraft elasticsearch-logstash-kibana react-java-mysql; do
		if [ -f "$AC/$s/compose.yaml" ]; then
			chart "ac-$s" "$AC/$s/compose.yaml"
		else
			skip "awesome-compose $s: no compose.yaml in $AC/$s"
		fi
	done
else
	skip "no awesome-compose samples at $AC (set BERTH_SHARED to the shared dir)"
fi

# ---- --set ----
V=$W/example-visits
if [ -d "$V" ]; then
	check "--set web.replicas=3 web.image.tag=v2" "$HELM" template visits "$V" --set web.replicas=3 --set web.image.tag=v2
	printf '%s\n' "$OUT" >"$W/set.out"
	check "--set: those two fields change, nothing else" "$PY" "$CMP" \
		--set 'Deployment/web:spec.replicas=3' \
		--set 'Deployment/web:spec.template.spec.containers[name=web].image="visits-web:v2"' \
		"$W/example-visits.yaml" "$W/set.out"
	exits "--set: the render differs from the defaults" 1 "$PY" "$CMP" "$W/example-visits.yaml" "$W/set.out"
	like "--set: the difference is the replicas" "$OUT" 'Deployment/web .*spec.replicas: expected 1, rendered 3'
	check "--set web.ports changes the Service" "$HELM" template visits "$V" --set 'web.ports[0].port=9090' \
		--set 'web.ports[0].name=web' --set 'web.ports[0].targetPort=80' --set 'web.ports[0].protocol=TCP'
	printf '%s\n' "$OUT" >"$W/ports.out"
	check "--set ports: the Service's ports, nothing else" "$PY" "$CMP" \
		--set 'Service/web:spec.ports=[{"name":"web","port":9090,"protocol":"TCP","targetPort":80}]' \
		"$W/example-visits.yaml" "$W/ports.out"
	check "--set resources on a container without them" "$HELM" template visits "$V" --set worker.resources.limits.memory=64Mi
	printf '%s\n' "$OUT" >"$W/res.out"
	check "--set resources: they appear on that container only" "$PY" "$CMP" \
		--set 'Deployment/worker:spec.template.spec.containers[name=worker].resources={"limits":{"memory":"64Mi"}}' \
		"$W/example-visits.yaml" "$W/res.out"
	fails "values.schema.json refuses replicas that are not a number" "replicas.*want integer" \
		"$HELM" template visits "$V" --set web.replicas=abc
fi
E=$W/edge
if [ -d "$E" ]; then
	check "edge: --set namespace=dev" "$HELM" template edge "$E" --set namespace=dev
	ns=$(grep -E '^  (namespace|name): ' <<<"$OUT" | grep -c -E '"?dev"?$')
	total=$(grep -c '^kind: ' <<<"$OUT")
	[ "$total" -ge 8 ] && ok "edge: $total objects rendered" || notok "edge: $total objects rendered, want 8 or more"
	is "edge: every object is in namespace dev (and the Namespace is dev)" "$ns" "$total"
	check "edge: --set a digest image's tag" "$HELM" template edge "$E" --set pinned.image.tag=1.36 \
		--set myApp.image.repository=other.local/app
	printf '%s\n' "$OUT" >"$W/edge-set.out"
	check "edge: tag@digest and the new repository" "$PY" "$CMP" \
		--set 'Job/pinned:spec.template.spec.containers[0].image="busybox:1.36@sha256:6d9ac9237a84afe1516540f40a0fafdc86859b2141954b4d643af7066d598b74"' \
		--set 'Deployment/my-app:spec.template.spec.containers[name=my-app].image="other.local/app:1.2"' \
		"$W/edge.yaml" "$W/edge-set.out"
	like "edge: literal {{ survives the render" "$(cat "$W/edge.out")" "\\{\\{ .Values.evil \\}\\} and \\{\\{\\{x\\}\\}\\}"
fi
no_temp "$W" "after the helm checks"
t_done
