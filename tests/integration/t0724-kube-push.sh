#!/usr/bin/env bash
# berth kube convert --push against real registries (Debian's
# docker-registry on 127.0.0.1): the build: services are built as compose
# build builds them, tagged with the name the manifests give them
# (--image-registry/PROJECT-SERVICE, or the service's own image:) and
# pushed there; a fresh store pulls them back. A build failure, a push
# failure (nothing listening, no credentials), --push without
# --image-registry and a registry value that is no host: an error naming
# the service or the flag, nothing on stdout, -o left as it was and
# nothing pushed. Credentials come from `berth login`.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-registry.sh"
need_fixtures
need_registry
command -v curl >/dev/null || skip_all "curl is not installed"
export DOCKER_CONFIG=$T_DIR/docker-config
reg_start plain

ROOT2=$T_DIR/root2
b2() { "$BERTH" --root "$ROOT2" --runroot "$RUNROOT" "$@"; }
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

# status of GET /v2/REPO/manifests/REF on registry $1
manifest_status() {
	curl -sS -o /dev/null -w '%{http_code}' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
		"http://$1/v2/$2/manifests/$3"
}

# conv OUTFILE ERRFILE ARGS...: kube convert, stdout to OUTFILE, stderr to
# ERRFILE; the exit code in RC
conv() {
	local o=$1 e=$2
	shift 2
	b kube convert "$@" >"$o" 2>"$e"
	RC=$?
}

P=t0724p$$
D=$T_DIR/proj
mkdir -p "$D/app" "$D/bad"
printf 'FROM busybox\nRUN echo built-by-t0724 > /built\nCMD ["sleep", "300"]\n' >"$D/app/Dockerfile"
printf 'FROM busybox\nRUN echo going wrong; exit 3\n' >"$D/bad/Dockerfile"
cat >"$D/compose.yaml" <<EOT
services:
  web:
    build: app
    ports: ["8080:80"]
  named:
    build: app
    image: $REG/other/named:2
  db:
    image: busybox
    command: ["sleep", "300"]
EOT
cat >"$D/broken.yaml" <<EOT
services:
  app:
    build: app
  zbroken:
    build: bad
EOT
cat >"$D/plain.yaml" <<EOT
services:
  only:
    build: app
EOT
cv() { conv "$T_DIR/out" "$T_DIR/err" -p "$P" -f "$D/compose.yaml" "$@"; }

# ---- a successful --push ----
cv --image-registry "$REG/team" --push -o "$T_DIR/k8s.yaml"
is "convert --push exits 0" "$RC" 0
[ "$RC" = 0 ] || sed 's/^/#   /' "$T_DIR/err" | head -20
is "-o: nothing on stdout" "$(cat "$T_DIR/out")" ""
ERR=$(cat "$T_DIR/err")
like "web built" "$ERR" "Service web  Built"
like "web pushed to the registry under PROJECT-SERVICE" "$ERR" "Service web  Pushed $REG/team/$P-web:latest@sha256:[0-9a-f]{64}"
like "named pushed to its own image: name" "$ERR" "Service named  Pushed $REG/other/named:2@sha256:"
like "named: says why it goes to its image: name" "$ERR" "Service named: its image: $REG/other/named:2 is what the manifests name"
unlike "db (no build:) is not built" "$ERR" "Service db "
K8S=$(cat "$T_DIR/k8s.yaml")
like "the manifests name the pushed web image" "$K8S" "image: $REG/team/$P-web\$"
like "the manifests name the named image" "$K8S" "image: $REG/other/named:2\$"
like "db keeps its image" "$K8S" "image: busybox\$"
is "registry has the web manifest" "$(manifest_status "$REG" "team/$P-web" latest)" 200
is "registry has the named manifest" "$(manifest_status "$REG" other/named 2)" 200
ID1=$(b image inspect -f '{{.Id}}' "$REG/team/$P-web")
is "the pushed tag is the compose-built image" "$ID1" "$(b image inspect -f '{{.Id}}' "$P-web")"
check "pull the pushed image into a fresh store" b2 pull "$REG/team/$P-web"
is "pulled image is the one built" "$(b2 image inspect -f '{{.Id}}' "$REG/team/$P-web")" "$ID1"
like "pulled image has the build's CMD" "$(b2 image inspect -f '{{json .Config.Cmd}}' "$REG/team/$P-web")" '"sleep","300"'

# stdout carries only the manifests: build and push progress go to stderr
cv --image-registry "$REG/team" --push
is "stdout --push exits 0" "$RC" 0
OUTY=$(cat "$T_DIR/out")
is "stdout is the same manifests as -o" "$OUTY" "$K8S"
unlike "no progress on stdout" "$OUTY" "Service |Pushing|Pushed|Step|digest"
like "second push: layers already there" "$(cat "$T_DIR/err")" "Layer already exists|Pushed"

# --format json and -o DIR/ go through the same path
mkdir -p "$T_DIR/dir"
cv --image-registry "$REG/team" --push --format json -o "$T_DIR/dir/"
is "-o DIR/ --push exits 0" "$RC" 0
like "DIR/ has the web Deployment naming the image" "$(cat "$T_DIR/dir/web-deployment.json" 2>&1)" "\"image\": \"$REG/team/$P-web\""

# ---- --push without --image-registry ----
echo keep >"$T_DIR/keep.yaml"
cv --push -o "$T_DIR/keep.yaml"
is "--push without --image-registry fails" "$RC" 1
like "... naming both flags" "$(cat "$T_DIR/err")" "Error: --push needs --image-registry"
is "... -o untouched" "$(cat "$T_DIR/keep.yaml")" keep
cv --push -o "$T_DIR/none.yaml"
[ -e "$T_DIR/none.yaml" ] && notok "... no -o file made" || ok "... no -o file made"
cv --push
is "... nothing on stdout" "$(cat "$T_DIR/out")" ""
like "... and nothing is built" "$(cat "$T_DIR/err")" "^Error: --push needs"
unlike "... (no build line)" "$(cat "$T_DIR/err")" "Building"
cv --push --image-registry ""
like "an empty --image-registry is the same error" "$(cat "$T_DIR/err")" "Error: --push needs --image-registry"

# ---- a registry value that is no host (Docker would read it as docker.io/team/...) ----
cv --image-registry team --push -o "$T_DIR/keep.yaml"
is "--image-registry team --push fails" "$RC" 1
like "... naming the flag and why" "$(cat "$T_DIR/err")" "Error: --image-registry team: \"team\" is not a registry host.*docker.io/team"
is "... -o untouched" "$(cat "$T_DIR/keep.yaml")" keep
cv --image-registry "$REG/Team" --push -o "$T_DIR/keep.yaml"
is "an upper-case prefix fails" "$RC" 1
like "... naming the service and the flag" "$(cat "$T_DIR/err")" "service \"web\": --image-registry $REG/Team gives the image name"

# ---- a build failure ----
P2=t0724b$$
conv "$T_DIR/out" "$T_DIR/err" -p "$P2" -f "$D/broken.yaml" --image-registry "$REG/team" --push -o "$T_DIR/keep.yaml"
ERR=$(cat "$T_DIR/err")
is "a failing build fails the convert" "$RC" 1
like "... naming the service and the Dockerfile" "$ERR" "Error: service \"zbroken\" failed to build \(.*bad/Dockerfile\)"
like "... and the step" "$ERR" "exit 3|exit code: 3|returned a non-zero code: 3"
is "... -o untouched" "$(cat "$T_DIR/keep.yaml")" keep
is "... nothing on stdout" "$(cat "$T_DIR/out")" ""
is "... the service that built is not pushed either" "$(manifest_status "$REG" "team/$P2-app" latest)" 404
is "... nor tagged for the registry" "$(b images -q "$REG/team/$P2-app" | wc -l)" 0
conv "$T_DIR/out" "$T_DIR/err" -p "$P2" -f "$D/broken.yaml" --image-registry "$REG/team" --push -o "$T_DIR/newdir/"
[ -e "$T_DIR/newdir" ] && notok "... no -o DIR/ made" || ok "... no -o DIR/ made"

# ---- an unreachable registry ----
DEAD=127.0.0.1:$(free_port)
conv "$T_DIR/out" "$T_DIR/err" -p "$P" -f "$D/plain.yaml" --image-registry "$DEAD/team" --push -o "$T_DIR/keep.yaml"
ERR=$(cat "$T_DIR/err")
is "a registry nobody listens on fails the convert" "$RC" 1
like "... naming the service and the image" "$ERR" "Error: service \"only\": pushing $DEAD/team/$P-only:latest: "
like "... and the connection" "$ERR" "[Cc]onnect|refused"
is "... -o untouched" "$(cat "$T_DIR/keep.yaml")" keep
is "... nothing on stdout" "$(cat "$T_DIR/out")" ""

# ---- credentials from berth login ----
if command -v htpasswd >/dev/null; then
	htpasswd -Bbn carol t0724-pw >"$T_DIR/htpasswd"
	reg_start basic "$(reg_htpasswd_yaml "$T_DIR/htpasswd")"
	A=$REG
	conv "$T_DIR/out" "$T_DIR/err" -p "$P" -f "$D/plain.yaml" --image-registry "$A/team" --push -o "$T_DIR/keep.yaml"
	is "push without login fails" "$RC" 1
	like "... naming the service and the registry's answer" "$(cat "$T_DIR/err")" "service \"only\": pushing $A/team/$P-only:latest: .*unauthorized"
	is "... -o untouched" "$(cat "$T_DIR/keep.yaml")" keep
	check "login" b login -u carol -p t0724-pw "$A"
	conv "$T_DIR/out" "$T_DIR/err" -p "$P" -f "$D/plain.yaml" --image-registry "$A/team" --push -o "$T_DIR/auth.yaml"
	is "push with the stored credentials" "$RC" 0
	[ "$RC" = 0 ] || sed 's/^/#   /' "$T_DIR/err" | head -20
	like "... manifests written" "$(cat "$T_DIR/auth.yaml" 2>&1)" "image: $A/team/$P-only\$"
	is "... registry answers with credentials" \
		"$(curl -sS -o /dev/null -w '%{http_code}' -u carol:t0724-pw \
			-H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
			"http://$A/v2/team/$P-only/manifests/latest")" 200
else
	skip "credentials: htpasswd is not installed (apache2-utils)"
fi

# ---- no build: services: nothing to push, manifests written ----
cat >"$D/nobuild.yaml" <<EOT
services:
  db:
    image: busybox
EOT
conv "$T_DIR/out" "$T_DIR/err" -p "$P" -f "$D/nobuild.yaml" --image-registry "$REG/team" --push
is "--push with no build: service exits 0" "$RC" 0
like "... says there was nothing to push" "$(cat "$T_DIR/err")" "WARN --push: no service has build:"
like "... and writes the manifests" "$(cat "$T_DIR/out")" "kind: Deployment"

store_clean "after the pushes"
t_done
