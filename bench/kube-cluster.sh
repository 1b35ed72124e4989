#!/usr/bin/env bash
# bench/kube-cluster.sh - `berth kube cluster up` on upstream Kubernetes
# binaries (issue 14). Targets, with the binaries cached: `cluster up` to
# a Ready node under 5 s; the seeds' nginx example answering on its
# LoadBalancer port within 8 s from nothing.
#
# usage: bench/kube-cluster.sh [--runs N] [--port P] [--work DIR]
# env: BERTH=path/to/berth (default build/berth), BERTH_K8S_BIN (default
#      /var/cache/berth/k8s/v1.36.3, built by scripts/k8s-binaries.sh)
#
# Peers: kind, k3d and minikube need a Docker engine, which this machine
# does not run (docs/benchmarks.md), so the comparison is with minikube's
# time-to-k8s figures (published, other hardware): `kind create cluster`
# 14.2 s, `k3d cluster create` 12.6 s, `minikube start` 21.1 s; to an app
# running with DNS answering 33.0 / 19.9 / 50.8 s.
#
# Each round, in a fresh store (--root under WORK) with its own $KUBECONFIG:
#   up      `berth kube cluster up` until it returns (it returns once the
#           Node is Ready and the default ServiceAccount exists)
#   app     `kubectl apply -f` of examples/kube/nginx/nginx.yaml with the
#           Service's port made P (default 18080), then curl every 20 ms
#           until the page names the pod that served it; "from nothing" =
#           up + app
#   down    `berth kube cluster down`
# The nginx:1.14.2 image is built once with berth from
# examples/kube/nginx/image on the Debian base (scripts/debian-base.sh)
# and loaded into each round's store as a docker-archive (untimed).
# Medians in ms; results in WORK/results/kube-cluster-DATE/ (WORK:
# BERTH_BENCH_WORK, default /var/tmp/berth-bench).
set -u
PROG=kube-cluster
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=5
PORT=18080
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--work) BENCH_WORK=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "$PROG: unknown argument: $1" >&2; exit 2 ;;
	esac
done
TOP=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$TOP/build/berth}
KBIN=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
WORK=${BENCH_WORK:-${BERTH_BENCH_WORK:-/var/tmp/berth-bench}}
[ -x "$KBIN/kubectl" ] || die "no Kubernetes binaries in $KBIN (run scripts/k8s-binaries.sh)"
"$BERTH" kube cluster --help >/dev/null 2>&1 || die "$BERTH has no 'kube cluster'"
OUTDIR=$WORK/results/kube-cluster-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUTDIR" "$WORK/kube-cluster"

# the nginx image, once
IMG=$WORK/kube-cluster/nginx-1.14.2.tar
if [ ! -s "$IMG" ]; then
	log "building nginx:1.14.2 (once)"
	R=$WORK/kube-cluster/imgroot
	rm -rf "$R"
	BERTH=$BERTH bash "$TOP/scripts/debian-base.sh" --cached --root "$R" >"$OUTDIR/debian-base.log" 2>&1 ||
		die "scripts/debian-base.sh failed (see $OUTDIR/debian-base.log)"
	"$BERTH" --root "$R" build -q -t nginx:1.14.2 "$TOP/examples/kube/nginx/image" >"$OUTDIR/build.log" 2>&1 ||
		die "building the nginx image failed (see $OUTDIR/build.log)"
	"$BERTH" --root "$R" save -o "$IMG" nginx:1.14.2 || die "berth save failed"
	rm -rf "$R"
fi
sed "s/port: 80\$/port: $PORT/" "$TOP/examples/kube/nginx/nginx.yaml" >"$OUTDIR/nginx.yaml"

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
printf 'round\tup_ms\tapp_ms\tfrom_nothing_ms\tdown_ms\n' >"$OUTDIR/rounds.tsv"
for r in $(seq 1 "$RUNS"); do
	R=$WORK/kube-cluster/r$r
	rm -rf "$R"
	mkdir -p "$R"
	export KUBECONFIG=$R/kubeconfig
	"$BERTH" --root "$R/root" --runroot "$R/run" load -q -i "$IMG" >/dev/null || die "load failed"
	t=$(date +%s%N)
	"$BERTH" --root "$R/root" --runroot "$R/run" kube cluster up --name bench >"$OUTDIR/up-$r.log" 2>&1 ||
		die "cluster up failed (round $r): $(tail -5 "$OUTDIR/up-$r.log")"
	up=$(ms "$t")
	t=$(date +%s%N)
	"$KBIN/kubectl" apply -f "$OUTDIR/nginx.yaml" >"$OUTDIR/apply-$r.log" 2>&1 || die "kubectl apply failed (round $r)"
	n=0
	until curl -s -m 1 "http://127.0.0.1:$PORT/" 2>/dev/null | grep -q 'served by pod'; do
		n=$((n + 1))
		[ $n -gt 3000 ] && die "nginx did not answer within 60 s (round $r)"
		sleep 0.02
	done
	app=$(ms "$t")
	t=$(date +%s%N)
	"$BERTH" --root "$R/root" --runroot "$R/run" kube cluster down --name bench >"$OUTDIR/down-$r.log" 2>&1 ||
		die "cluster down failed (round $r)"
	down=$(ms "$t")
	printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$up" "$app" $((up + app)) "$down" >>"$OUTDIR/rounds.tsv"
	log "round $r: up $up ms, app $app ms, from nothing $((up + app)) ms, down $down ms"
	rm -rf "$R"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
col() { tail -n +2 "$OUTDIR/rounds.tsv" | cut -f"$1" | median; }
{
	echo "berth kube cluster ($RUNS rounds, $(nproc) cores, Kubernetes $("$KBIN/kubectl" version --client | sed -n 's/^Client Version: //p'))"
	printf '%-34s %8s %10s\n' "" "berth" "anchors(kind/k3d/minikube)"
	printf '%-34s %6s ms %10s\n' "cluster up to a Ready node" "$(col 2)" "14.2/12.6/21.1 s"
	printf '%-34s %6s ms\n' "nginx answering after apply" "$(col 3)"
	printf '%-34s %6s ms %10s\n' "nginx answering from nothing" "$(col 4)" "33.0/19.9/50.8 s (app+DNS)"
	printf '%-34s %6s ms\n' "cluster down" "$(col 5)"
} | tee "$OUTDIR/summary.txt"
