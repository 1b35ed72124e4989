#!/usr/bin/env bash
# Upstream Kubernetes' own node tests against berth's node (issue 15):
# tests/k8s/conformance.sh runs e2e.test v1.36.3's [NodeConformance] specs of
# the issue's target groups on a berth cluster of its own, with the test
# images of tests/k8s/e2e-images.sh from a local registry, under a hard cap
# of 300 s, and passes when at least tests/k8s/conformance-count of them
# pass. Skips (with the reason) when e2e.test, ginkgo or the images cannot
# be had. Bad input to both scripts gives a clear error first.
# run: alone
. "$(dirname "$0")/../lib.sh"
CONF=$TOP/tests/k8s/conformance.sh
IMGS=$TOP/tests/k8s/e2e-images.sh
KBIN=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
W=$T_DIR/work
conf_cleanup() {
	# conformance.sh takes its cluster down itself; this is for a run cut off
	[ -d "$W/root/kube-clusters/t0760" ] &&
		"$BERTH" --root "$W/root" --runroot "$W/run" kube cluster down --name t0760 >/dev/null
	t_cleanup
}
trap conf_cleanup EXIT

# bad input: the scripts' own flags, a missing binary
fails "conformance.sh: an unknown flag" 'unknown argument: --bogus' bash "$CONF" --bogus
fails "conformance.sh: a flag without its value" '--procs needs a value' bash "$CONF" --procs
fails "conformance.sh: a bad --api-port" 'port number.*70000' bash "$CONF" --api-port 70000
fails "conformance.sh: a bad --timeout" 'duration.*soon' bash "$CONF" --timeout soon
fails "conformance.sh: a count file that is not there" "no count file $T_DIR/nothing" bash "$CONF" --count-file "$T_DIR/nothing"
fails "conformance.sh: a berth that is not there" "berth binary $T_DIR/no-berth not found" bash "$CONF" --berth "$T_DIR/no-berth"
fails "conformance.sh: a --k8s-bin without e2e.test" "no $T_DIR/e2e.test" bash "$CONF" --berth "$BERTH" --k8s-bin "$T_DIR" --work "$W"
fails "e2e-images.sh: an unknown flag" 'unknown argument: --bogus' bash "$IMGS" --bogus
fails "e2e-images.sh: a --registry with a scheme" 'HOST:PORT.*http://x:1' bash "$IMGS" --registry http://x:1
fails "e2e-images.sh: --repo-list without --registry" '--repo-list needs --registry' bash "$IMGS" --repo-list "$T_DIR/l"
like "e2e-images.sh --list: the images" "$(bash "$IMGS" --list 2>&1)" 'registry.k8s.io/e2e-test-images/agnhost:2.63.0'

for x in e2e.test ginkgo; do
	[ -x "$KBIN/$x" ] || { skip "no $KBIN/$x (scripts/k8s-binaries.sh --with e2e.test,agnhost,ginkgo builds it)"; t_done; }
done
command -v docker-registry >/dev/null || { skip "docker-registry is not installed"; t_done; }

t0=$(date +%s)
rc=0
OUT=$(bash "$CONF" --berth "$BERTH" --k8s-bin "$KBIN" --work "$W" --name t0760 --api-port 16760 2>&1) || rc=$?
echo "# conformance.sh: exit $rc in $(($(date +%s) - t0)) s"
case $rc in
0)
	ok "upstream e2e.test: $(tail -n 1 <<<"$OUT")"
	grep '^# ' <<<"$OUT" | grep -v '^#   PASS' | head -n 80
	;;
3)
	printf '%s\n' "$OUT" | tail -n 5 | sed 's/^/# /'
	skip "upstream e2e.test: $(grep -m1 'cannot run\|cannot make' <<<"$OUT")"
	;;
*)
	notok "upstream e2e.test (exit $rc): $(tail -n 1 <<<"$OUT")"
	printf '%s\n' "$OUT" | grep -v '^#   PASS' | tail -n 120 | sed 's/^/#   /'
	[ -f "$W/e2e.log" ] && grep -a -A3 '\[FAILED\]' "$W/e2e.log" | head -n 60 | sed 's/^/#   /'
	;;
esac
t_done
