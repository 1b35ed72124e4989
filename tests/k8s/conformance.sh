#!/usr/bin/env bash
# conformance.sh - upstream Kubernetes' own node tests (e2e.test of the
# pinned release) against a berth cluster: a cluster of its own (berth kube
# cluster up with its own --root, name and API port; this machine as its
# berth node), the test images from tests/k8s/e2e-images.sh pushed to a
# private registry (Debian's docker-registry on 127.0.0.1) that the node
# pulls them from, and e2e.test run by ginkgo in parallel under a hard cap.
# It prints N of M passing by group and by test, writes the per-test results
# to a file and passes when N is at least the floor recorded in the repo.
#
# Usage: tests/k8s/conformance.sh [OPTIONS]
#
#   --berth PATH      the berth binary (default $BERTH, else build/berth)
#   --k8s-bin DIR     e2e.test, ginkgo and the control plane's programs
#                     (default $BERTH_K8S_BIN, else /var/cache/berth/k8s/v1.36.3)
#   --work DIR        where the cluster's store, the registry, the logs and
#                     the reports go (default: a new /tmp/berth-conformance.*)
#   --name N          the cluster's name (default conformance)
#   --api-port P      the apiserver's port (default 16760)
#   --procs N         parallel ginkgo processes (default 8: most specs wait)
#   --timeout D       hard cap on the e2e.test run, ginkgo's duration (default 300s)
#   --focus RE        the specs to run (default: the issue's target groups,
#                     see FOCUS below)
#   --skip RE         the specs to leave out (default: see SKIP below)
#   --results FILE    the per-test results, one line each: PASS, FAIL, SKIP
#                     (the test skipped itself) or NOTRUN (the cap came
#                     first), the test's name, and for FAIL the first line
#                     of its failure (default WORK/results.txt)
#   --count-file F    the floor of passing tests (default tests/k8s/conformance-count)
#   --record          write the count seen to --count-file (do not compare)
#   --keep            leave the cluster and the registry running at the end
#
# The run's own pieces: WORK/e2e.log (ginkgo's output), WORK/junit.xml,
# WORK/report.json, WORK/root (the cluster's berth store; its logs under
# kube-clusters/NAME/logs). Exit 0 when the count is reached, 1 when it is
# not (or the run broke), 2 on usage errors, 3 when something it needs cannot
# be had (no e2e.test/ginkgo, no docker-registry, no test images): callers
# may skip then. Needs root.
set -euo pipefail

PROG=${0##*/}
top=$(cd "$(dirname "$0")/../.." && pwd)

# The groups of issue 15's target ([NodeConformance] of Pods, Container
# Lifecycle Hook, Probing, ConfigMap, Secrets, Downward API, EmptyDir,
# Projected, Variable Expansion, Init Container, Container Runtime).
# Probing's restartable init container twins and the rest of NodeConformance
# (Security Context, Sysctls, ...) and sig-network's Service/DNS tests do not
# fit the time the suite has on 2 cores; --focus runs them. The Probing
# specs "should *not* be restarted ..." are left out too: each watches its
# pod for 4 minutes, and 7 of them would take the cap's whole time.
FOCUS_GROUPS='Pods|Container Lifecycle Hook|Probing container|ConfigMap|Secrets|Downward API|EmptyDir|Projected|Variable Expansion|InitContainer|Container Runtime'
FOCUS="\\[sig-(node|storage)\\] ($FOCUS_GROUPS).*\\[NodeConformance\\]"
SKIP='\[Serial\]|\[Slow\]|\[Disruptive\]|\[Flaky\]|Probing container should \*not\* be restarted'

BERTH=${BERTH:-$top/build/berth}
KBIN=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
WORK="" NAME=conformance API_PORT=16760 PROCS=8 TIMEOUT=300s
RESULTS="" COUNT_FILE=$top/tests/k8s/conformance-count RECORD=0 KEEP=0

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
unavailable() { printf '%s: cannot run: %s\n' "$PROG" "$*" >&2; exit 3; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
bad_usage() { printf '%s: %s (see --help)\n' "$PROG" "$*" >&2; exit 2; }

need_val() { [ $# -ge 2 ] || bad_usage "$1 needs a value"; }
while [ $# -gt 0 ]; do
	case $1 in
	--berth) need_val "$@"; BERTH=$2; shift 2 ;;
	--k8s-bin) need_val "$@"; KBIN=$2; shift 2 ;;
	--work) need_val "$@"; WORK=$2; shift 2 ;;
	--name) need_val "$@"; NAME=$2; shift 2 ;;
	--api-port) need_val "$@"; API_PORT=$2; shift 2 ;;
	--procs) need_val "$@"; PROCS=$2; shift 2 ;;
	--timeout) need_val "$@"; TIMEOUT=$2; shift 2 ;;
	--focus) need_val "$@"; FOCUS=$2; shift 2 ;;
	--skip) need_val "$@"; SKIP=$2; shift 2 ;;
	--results) need_val "$@"; RESULTS=$2; shift 2 ;;
	--count-file) need_val "$@"; COUNT_FILE=$2; shift 2 ;;
	--record) RECORD=1; shift ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) bad_usage "unknown argument: $1" ;;
	esac
done
[[ $API_PORT =~ ^[0-9]+$ ]] && [ "$API_PORT" -ge 1 ] && [ "$API_PORT" -le 65535 ] ||
	bad_usage "--api-port wants a port number (1-65535): $API_PORT"
[[ $PROCS =~ ^[0-9]+$ ]] && [ "$PROCS" -ge 1 ] && [ "$PROCS" -le 16 ] ||
	bad_usage "--procs wants 1-16: $PROCS"
[[ $TIMEOUT =~ ^[0-9]+(s|m)$ ]] || bad_usage "--timeout wants a duration such as 330s or 6m: $TIMEOUT"
[[ $NAME =~ ^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$ ]] || bad_usage "--name wants a DNS label: $NAME"
if [ "$RECORD" = 0 ]; then
	[ -r "$COUNT_FILE" ] || bad_usage "no count file $COUNT_FILE (--record writes one)"
	FLOOR=$(grep -v '^#' "$COUNT_FILE" | head -n 1)
	[[ $FLOOR =~ ^[0-9]+$ ]] || die "$COUNT_FILE: its first line that is not a comment is not a number: '$FLOOR'"
fi

[ "$(id -u)" -eq 0 ] || die "needs root (berth runs the cluster's node)"
[ -x "$BERTH" ] || die "berth binary $BERTH not found (build it, or give --berth)"
for x in e2e.test ginkgo kubectl etcd kube-apiserver kube-controller-manager kube-scheduler; do
	[ -x "$KBIN/$x" ] || unavailable "no $KBIN/$x (scripts/k8s-binaries.sh --with e2e.test,agnhost,ginkgo builds it)"
done
command -v docker-registry >/dev/null || unavailable "docker-registry is not installed (apt-get install docker-registry)"
command -v python3 >/dev/null || unavailable "python3 is not installed (the report is read with it)"

if [ -z "$WORK" ]; then
	WORK=$(mktemp -d /tmp/berth-conformance.XXXXXX)
else
	mkdir -p "$WORK" || die "cannot make --work $WORK"
	WORK=$(cd "$WORK" && pwd)
fi
RESULTS=${RESULTS:-$WORK/results.txt}
ROOT=$WORK/root RUNROOT=$WORK/run
export KUBECONFIG=$WORK/kubeconfig
b() { "$BERTH" --root "$ROOT" --runroot "$RUNROOT" "$@"; }

REG_PID=""
cleanup() {
	local rc=$?
	if [ "$KEEP" = 1 ]; then
		log "kept: the cluster $NAME (berth --root $ROOT --runroot $RUNROOT kube cluster down --name $NAME) and the registry (pid ${REG_PID:-none})"
		exit "$rc"
	fi
	if [ -d "$ROOT/kube-clusters/$NAME" ]; then
		b kube cluster down --name "$NAME" >"$WORK/down.log" 2>&1 ||
			{ log "warning: kube cluster down failed:"; cat "$WORK/down.log" >&2; }
	fi
	if [ -f "$ROOT/networks/bridge.json" ]; then
		b network prune -f >/dev/null || log "warning: berth network prune in $ROOT failed"
	fi
	if [ -n "$REG_PID" ]; then
		kill "$REG_PID" 2>/dev/null || true
		wait "$REG_PID" 2>/dev/null || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

t_start=$(date +%s)

# ---- the registry ----
REG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$REG_PORT
mkdir -p "$WORK/registry/data"
cat >"$WORK/registry/config.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $WORK/registry/data}
http:
  addr: $REG
  secret: berth-conformance
EOF
docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
REG_PID=$!
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$REG_PORT") 2>/dev/null && break
	sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$REG_PORT") 2>/dev/null ||
	{ cat "$WORK/registry/log" >&2; die "docker-registry did not start on $REG (its log above)"; }

# ---- the images ----
rc=0
BERTH=$BERTH "$top/tests/k8s/e2e-images.sh" --registry "$REG" --repo-list "$WORK/repo-list.yaml" || rc=$?
case $rc in
0) ;;
3) unavailable "tests/k8s/e2e-images.sh cannot make the test images (above)" ;;
*) die "tests/k8s/e2e-images.sh failed (exit $rc, above)" ;;
esac
t_images=$(date +%s)

# ---- the cluster ----
log "berth kube cluster up --name $NAME --api-port $API_PORT (store $ROOT)"
b kube cluster up --name "$NAME" --api-port "$API_PORT" --k8s-bin "$KBIN" >"$WORK/up.log" 2>&1 ||
	{ cat "$WORK/up.log" >&2; die "berth kube cluster up failed (above)"; }
t_up=$(date +%s)

# ---- e2e.test ----
# the specs the focus selects (a dry run, under a second): the ones the cap
# leaves unrun count as not passing
rm -f "$WORK/junit.xml" "$WORK/report.json" "$WORK/plan.json"
# e2e.test makes a test-kuberc* directory in TMPDIR at each start and leaves
# it: in the run's own directory, not /tmp
mkdir -p "$WORK/tmp"
export TMPDIR=$WORK/tmp
"$KBIN/e2e.test" --ginkgo.dry-run --ginkgo.no-color --ginkgo.focus="$FOCUS" --ginkgo.skip="$SKIP" \
	--ginkgo.json-report="$WORK/plan.json" --kubeconfig="$KUBECONFIG" --provider=skeleton >"$WORK/plan.log" 2>&1 ||
	{ tail -n 20 "$WORK/plan.log" >&2; die "e2e.test --ginkgo.dry-run failed (above): a bad --focus or --skip?"; }
log "e2e.test: $PROCS procs, cap $TIMEOUT, focus '$FOCUS', skip '$SKIP'"
set +e
# ginkgo's --timeout ends the suite (its specs in flight fail, the rest are
# not run); the outer timeout is the cap should ginkgo itself hang.
secs=${TIMEOUT%?}
[ "${TIMEOUT: -1}" = m ] && secs=$((secs * 60))
KUBE_TEST_REPO_LIST=$WORK/repo-list.yaml timeout -k 10 $((secs + 60)) \
	"$KBIN/ginkgo" run --procs="$PROCS" --timeout="$TIMEOUT" --no-color \
	--focus="$FOCUS" --skip="$SKIP" \
	--output-dir="$WORK" --junit-report=junit.xml --json-report=report.json \
	"$KBIN/e2e.test" -- \
	--kubeconfig="$KUBECONFIG" --provider=skeleton \
	--report-dir="$WORK/artifacts" \
	--e2e-verify-service-account=false \
	>"$WORK/e2e.log" 2>&1
e2e_rc=$?
set -e
t_e2e=$(date +%s)
[ -s "$WORK/report.json" ] ||
	{ tail -n 40 "$WORK/e2e.log" >&2; die "e2e.test wrote no report (exit $e2e_rc; the end of $WORK/e2e.log above)"; }

# ---- the results ----
python3 - "$WORK/plan.json" "$WORK/report.json" "$RESULTS" "$WORK/summary.txt" <<'EOF'
import json, re, sys, collections
plan, rep, out, summ = sys.argv[1:5]

def specs(path):
    with open(path) as f:
        for suite in json.load(f):
            for s in suite.get("SpecReports") or []:
                if s.get("LeafNodeType") == "It":
                    texts = s.get("ContainerHierarchyTexts") or []
                    yield " ".join(texts + [s.get("LeafNodeText", "")]), texts, s

def group_of(texts):
    # "[sig-storage] Downward API volume" -> "sig-storage Downward API volume"
    t = re.sub(r" ?\[(NodeConformance|LinuxOnly|Feature[^]]*|FeatureGate[^]]*|Beta|Alpha)\]", "", texts[0] if texts else "?")
    return re.sub(r"^\[(sig-[a-z-]+)\] ", r"\1 ", t).strip()

ran = {name: s for name, _, s in specs(rep)}
rows = []
for name, texts, p in specs(plan):
    if p.get("State") == "skipped":  # not in the focus
        continue
    s = ran.get(name)
    state = s.get("State", "") if s else "not run"
    if state == "passed":
        res, why = "PASS", ""
    elif state == "skipped" and (s.get("Failure") or {}).get("Message"):
        # the test's own Skip (its reason is the message); one without a
        # message is a spec the suite's end left unrun
        res, why = "SKIP", s["Failure"]["Message"].strip().splitlines()[0][:200]
    else:
        res = "FAIL"
        fl = (s or {}).get("Failure") or {}
        msg = (fl.get("Message") or "").strip().splitlines()
        why = state + (": " + msg[0][:200] if msg else "")
        if state == "failed" and msg:
            why = msg[0][:200]
        if state in ("not run", "skipped"):
            res, why = "NOTRUN", "the cap ended the suite first"
    rows.append((group_of(texts), res, name, why))
rows.sort()
with open(out, "w") as f:
    for g, r, n, why in rows:
        f.write(f"{r}\t{n}" + (f"\t{why}" if why else "") + "\n")
by = collections.OrderedDict()
for g, r, n, why in rows:
    p, t = by.get(g, (0, 0))
    by[g] = (p + (r == "PASS"), t + 1)
npass = sum(1 for x in rows if x[1] == "PASS")
with open(summ, "w") as f:
    for g, (p, t) in sorted(by.items()):
        f.write(f"{p:4d} of {t:<4d} {g}\n")
    f.write(f"{npass:4d} of {len(rows):<4d} in all\n")
print(npass)
EOF
N=$(tail -n 1 "$WORK/summary.txt" | awk '{print $1}')
M=$(tail -n 1 "$WORK/summary.txt" | awk '{print $3}')
echo "# by test ($RESULTS):"
sed 's/^/#   /' "$RESULTS"
echo "# by group:"
sed 's/^/#   /' "$WORK/summary.txt"
echo "# times: images+registry $((t_images - t_start)) s, cluster up $((t_up - t_images)) s, e2e.test $((t_e2e - t_up)) s (ginkgo exit $e2e_rc), in all $((t_e2e - t_start)) s"
if grep -q 'Suite Timeout Elapsed\|timed out\|Interrupted by Timeout' "$WORK/e2e.log"; then
	echo "# the $TIMEOUT cap ended the run: the specs not run count as not passing"
fi
if [ "$RECORD" = 1 ]; then
	{
		echo "# the floor of passing upstream e2e.test specs in tests/k8s/conformance.sh's"
		echo "# default run (its FOCUS/SKIP, $PROCS procs, cap $TIMEOUT): $N of $M seen $(date -u +%F)"
		echo "$N"
	} >"$COUNT_FILE"
	echo "$N of $M passing; recorded in $COUNT_FILE"
	exit 0
fi
if [ "$N" -ge "$FLOOR" ]; then
	echo "$N of $M passing (the floor is $FLOOR)"
	exit 0
fi
echo "$N of $M passing: below the floor of $FLOOR ($COUNT_FILE)"
exit 1
