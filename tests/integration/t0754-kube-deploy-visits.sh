#!/usr/bin/env bash
# berth kube deploy of examples/visits (issue 14): the compose project is
# converted, its four images are built and pushed to a local registry
# (docker-registry), applied to a `berth kube cluster` and waited for; the
# node pulls them from the registry, the claim of PostgreSQL's data is
# bound by the cluster's provisioner, the depends_on init containers find
# db and redis by name, and the page answers through the web Service's
# LoadBalancer port with the counts of Redis and PostgreSQL.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-registry.sh"
need_fixtures
command -v iptables-save >/dev/null || skip_all "iptables is not installed"
command -v docker-registry >/dev/null || skip_all "docker-registry is not installed"
KBIN=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
for x in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	[ -x "$KBIN/$x" ] || skip_all "no $KBIN/$x (scripts/k8s-binaries.sh builds them)"
done
CACHE=${BERTH_DEBIAN_CACHE:-/var/cache/berth/debian-bookworm.tar}
[ -s "$CACHE" ] || skip_all "no cached Debian rootfs at $CACHE (make it: scripts/debian-base.sh)"
mirror=$(awk '/^URIs:/ { print $2; exit }' <(tar -xOf "$CACHE" ./etc/apt/sources.list.d/debian.sources))
host=${mirror#*://}
host=${host%%/*}
[ -n "$host" ] || skip_all "no apt mirror named in $CACHE"
timeout 5 bash -c "exec 3<>/dev/tcp/$host/80" || skip_all "the apt mirror $host is unreachable (the images install packages)"

export KUBECONFIG=$T_DIR/kubeconfig DOCKER_CONFIG=$T_DIR/docker-config
kc() { "$KBIN/kubectl" --request-timeout=20s "$@"; }
CL=t0754
deploy_cleanup() {
	b kube cluster down --name "$CL" >/dev/null 2>&1
	reg_cleanup
	t_cleanup
}
trap deploy_cleanup EXIT
reg_start visits

# the project, with the web port moved off 8080 (the demo's) and the
# depends_on wait image from the fixture (no registry on the internet here)
P=$T_DIR/visits
cp -r "$TOP/examples/visits" "$P"
rm -rf "$P/data"
sed -i 's/"8080:80"/"18756:80"/' "$P/compose.yaml"
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:1.36 >/dev/null || { notok "import busybox"; t_done; }
check "import the Debian base" bash "$TOP/scripts/debian-base.sh" --cached --root "$ROOT"

check "cluster up" b kube cluster up --name "$CL"
t0=$(date +%s)
check "kube deploy --registry" b kube deploy -f "$P/compose.yaml" --registry "$REG" --timeout 300s
echo "# kube deploy of visits (build, push, apply, wait): $(($(date +%s) - t0)) s"
like "its apply lines" "$OUT" 'deployment.apps/web serverside-applied'
like "its rollout lines" "$OUT" 'deployment "db" successfully rolled out'
for s in web db redis; do
	is "the $s image is in the registry" "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/visits-$s/manifests/latest" 2>&1)" 200
done
like "the node pulled it from the registry" "$(kc get pod -l io.kompose.service=web -o jsonpath='{.items[0].status.containerStatuses[0].image}')" "^$REG/visits-web"
is "db's claim is Bound" "$(kc get pvc -o jsonpath='{.items[0].status.phase}')" Bound
is "4 deployments available" "$(kc get deploy -o jsonpath='{range .items[*]}{.status.availableReplicas}{"\n"}{end}' | grep -c '^1$')" 4
page() { curl -sf -m 3 http://127.0.0.1:18756/; }
wait_page() { OUT=$(page) && grep -q 'seen <strong>' <<<"$OUT"; }
n=0
until wait_page || [ $n -ge 100 ]; do sleep 0.2; n=$((n + 1)); done
like "the page answers through the LoadBalancer, with Redis' count" "$OUT" 'This page has been seen <strong>[0-9]+</strong> times'
page >/dev/null
stored() { OUT=$(page) && grep -Eq 'stored <strong>[1-9]' <<<"$OUT"; }
n=0
until stored || [ $n -ge 50 ]; do sleep 0.2; n=$((n + 1)); done
like "the worker stored the visits in PostgreSQL" "$OUT" 'The worker has stored <strong>[1-9][0-9]*</strong> visits'
like "kubectl logs of web" "$(kc logs deploy/web -c web 2>&1)" 'GET / HTTP/1.1" 200'

# bad input: a registry that is not there; nothing is applied then
fails "deploy to a registry nobody serves" '127\.0\.0\.1:1' b kube deploy -f "$P/compose.yaml" -p other --registry 127.0.0.1:1 --timeout 30s
is "... and no object of it is applied" "$(kc get deploy -l app.kubernetes.io/part-of=other -o name | wc -l)" 0

check "cluster down" b kube cluster down --name "$CL"
is "no pod containers left" "$(b ps -aq --filter label=io.kubernetes.pod.namespace | wc -l)" 0
t_done
