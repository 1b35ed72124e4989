#!/usr/bin/env bash
# bench/kube-density.sh - berth's node agent against the upstream kubelet
# with containerd, on the same control plane, in one run (issue 15,
# "Density and speed"). Targets: pod start at least 5x faster than
# kubelet + containerd; at most 1/5 of their memory at 100 pods.
#
# usage: bench/kube-density.sh [--runs N] [--big-runs N] [--sizes "30 100"]
#                              [--settle S] [--api-port P] [--work DIR]
# env: BERTH=path/to/berth (default build/berth), BERTH_K8S_BIN (default
#      /var/cache/berth/k8s/v1.36.3: scripts/k8s-binaries.sh --with kubelet)
#
# The set-up (untimed):
#  - `berth kube cluster up --name density` in a fresh store under WORK
#    (its node agent is the berth node, named after the host);
#  - the peer, a second Node named density-kubelet on the same control
#    plane: Debian's containerd, runc and CNI plugins (installed with
#    apt-get when missing) and upstream's kubelet, each with private paths:
#    containerd's root, state and sockets, runc's root, the CNI config and
#    IPAM dir, the kubelet's --root-dir and podLogsDir under WORK or
#    /run/berth-density; cgroupDriver cgroupfs (containerd's SystemdCgroup
#    = false; no systemd here) under the cgroup /berth-density. Both run in
#    one private mount namespace (a holder process made by unshare) so that
#    their mounts never reach the host; there, private directories are bound
#    over the paths the kubelet and containerd hard-code (/var/log/containers,
#    /var/lib/kubelet/device-plugins via /var/lib/kubelet, /var/lib/cni,
#    /run/containerd/s; those missing on the host are made empty and removed
#    afterwards). The kubelet's client certificate (CN system:node:NAME, O
#    system:nodes) and serving certificate are signed with openssl by the
#    cluster's CA (its state dir's pki/ca.key); the kubelet API, healthz and
#    CNI bridge (cni-dens0 on the Node's podCIDR, which the cluster's
#    controller-manager allocates: the CNI config is written once the Node
#    has it; a free 10.244.N.0/24 set as the podCIDR when none comes; no
#    masquerade, so no iptables rules) do not clash with berth's node. No registry is reachable: the pods' image (busybox:1.36, the
#    tests' static busybox rootfs) and the sandbox image (berth.local/
#    pause:3.10, bench/kube-density/pause.c built with gcc -static) are
#    imported with `berth import`, written with `berth save` and given to
#    containerd with `ctr -n k8s.io images import`.
#  - This machine's root lacks CAP_SYS_RESOURCE, so containerd runs with
#    restrict_oom_score_adj (a sandbox's -998 fails otherwise). The kubelet
#    sets vm.overcommit_memory, vm.panic_on_oom, kernel.panic,
#    kernel.panic_on_oops and kernel.keys.root_max* as it does on any node;
#    their old values are written back at the end.
#
# The measures, each for the berth node and then the kubelet node (the order
# swaps every round), pods pinned with a nodeSelector on
# kubernetes.io/hostname, the container `sh -c 'trap "exit 0" TERM; sleep
# 1000000 & wait'`:
#   start   (--runs N, default 7) `kubectl apply` of a 1-replica Deployment
#           until `kubectl wait` sees .status.readyReplicas=1; then the
#           Deployment is deleted and the pod waited for until it is gone;
#   SIZES   (--big-runs N rounds each, default 3) the same with N replicas
#           (default 30 and 100; the kubelet's maxPods is 110);
#   memory  at the largest size, --settle S seconds (default 10) after all
#           pods are Ready: VmRSS and Pss summed over berth's node agent,
#           its children, the pods' monitors and infra (pause) processes and
#           berth-dns, against kubelet + containerd + containerd-shim-runc-v2
#           (+ the pause processes, shown apart); also with no pod, before
#           the first round.
# A `kubectl get pods -w` (go-template output) during each apply, its lines timestamped, gives
# the node's own share: from the pod's binding to its Ready (median and
# max over the pods) and from the first binding to the last Ready.
# Medians in ms; ratio = kubelet / berth. Results in WORK/results/
# kube-density-DATE/ (WORK: BERTH_BENCH_WORK, default /var/tmp/berth-bench).
# Everything the run starts is stopped and removed at the end, also on
# failure or ^C: the Deployments, kubelet, containerd, shims and pods, the
# holder (and with it every mount), the cgroups, the CNI bridge, the
# cluster, the directories it made.
set -u
PROG=kube-density
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=7
BIG_RUNS=3
SIZES="30 100"
SETTLE=10
API_PORT=
usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=${2:-}; shift 2 || usage ;;
	--big-runs) BIG_RUNS=${2:-}; shift 2 || usage ;;
	--sizes) SIZES=${2:-}; shift 2 || usage ;;
	--settle) SETTLE=${2:-}; shift 2 || usage ;;
	--api-port) API_PORT=${2:-}; shift 2 || usage ;;
	--work) BENCH_WORK=${2:-}; shift 2 || usage ;;
	-h | --help) usage 0 ;;
	*) echo "$PROG: unknown argument: $1 (try --help)" >&2; exit 2 ;;
	esac
done
posint() { case $2 in '' | *[!0-9]* | 0*) echo "$PROG: $1 must be a positive integer, not \"$2\"" >&2; exit 2 ;; esac; }
posint --runs "$RUNS"
posint --big-runs "$BIG_RUNS"
case $SETTLE in '' | *[!0-9]*) echo "$PROG: --settle must be a number of seconds, not \"$SETTLE\"" >&2; exit 2 ;; esac
[ -n "$API_PORT" ] && posint --api-port "$API_PORT"
for n in $SIZES; do
	posint --sizes "$n"
	[ "$n" -le 110 ] || { echo "$PROG: --sizes: $n pods is more than the kubelet's maxPods (110)" >&2; exit 2; }
done
[ -n "$SIZES" ] || { echo "$PROG: --sizes is empty" >&2; exit 2; }

TOP=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$TOP/build/berth}
KBIN=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
WORK=${BENCH_WORK:-${BERTH_BENCH_WORK:-/var/tmp/berth-bench}}
HELPER=$TOP/bench/kube-density/density.py
[ "$(id -u)" = 0 ] || die "run as root (the kubelet and containerd need it)"
for b in kubectl kubelet; do
	[ -x "$KBIN/$b" ] || die "no $b in $KBIN (scripts/k8s-binaries.sh --with kubelet builds it)"
done
[ -x "$BERTH" ] || die "no berth at $BERTH (build it, or set BERTH=)"
"$BERTH" kube cluster --help >/dev/null 2>&1 || die "$BERTH has no 'kube cluster'"
BERTH=$(readlink -f "$BERTH")
KC=$KBIN/kubectl

# Debian's containerd, runc and CNI plugins, installed when missing
need_pkgs() {
	local miss=() p
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || miss+=("$p"); done
	[ ${#miss[@]} -eq 0 ] && return 0
	log "installing ${miss[*]} with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${miss[@]}" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${miss[@]}" >&2; } ||
		die "apt-get install ${miss[*]} failed"
}
need_pkgs containerd runc containernetworking-plugins
for b in containerd ctr containerd-shim-runc-v2 runc gcc openssl unshare nsenter python3; do
	command -v "$b" >/dev/null 2>&1 || die "$b is not installed"
done
CNI_BIN=/usr/lib/cni
[ -x "$CNI_BIN/bridge" ] && [ -x "$CNI_BIN/host-local" ] && [ -x "$CNI_BIN/loopback" ] ||
	die "no bridge, host-local and loopback CNI plugins in $CNI_BIN (containernetworking-plugins)"

# One run at a time: the peer's socket paths and cgroup are fixed names.
RUNDIR=/run/berth-density
exec 9>/run/berth-density.lock || die "cannot open /run/berth-density.lock"
flock -n 9 || die "another kube-density run holds /run/berth-density.lock"

STAMP=$(date +%Y%m%d-%H%M%S)
OUTDIR=$WORK/results/kube-density-$STAMP
D=$WORK/kube-density/run
CL=density
KNODE=density-kubelet
CGROOT=berth-density
BRIDGE=cni-dens0
SOCK=$RUNDIR/containerd/containerd.sock
mkdir -p "$OUTDIR" || die "cannot make $OUTDIR"
[ -e "$D" ] && { log "removing the last run's $D"; safe_rm "$D"; }
[ -e "$RUNDIR" ] && rm -rf "$RUNDIR"
mkdir -p "$D" "$RUNDIR" || die "cannot make $D"
export KUBECONFIG=$D/kubeconfig
BROOT=$D/root
BRUN=$RUNDIR/berth
B() { "$BERTH" --root "$BROOT" --runroot "$BRUN" "$@"; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---------------------------------------------------------------- cleanup
HOLDER= CTD= KUBELET= CLUSTER_UP=0 SYSCTL_SAVED=0
SYSCTLS="vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes"
# paths the kubelet or containerd hard-code, bound to private dirs in the holder
HOSTPATHS="/var/log/containers /var/lib/kubelet /var/lib/cni /run/containerd/s"
CREATED=()
stop_pid() { # PID WHAT SECS: TERM, wait, KILL
	local p=$1 i
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
	kill "$p" 2>/dev/null
	for ((i = 0; i < $3 * 10; i++)); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	log "cleanup: $2 (pid $p) did not stop on SIGTERM in $3 s; SIGKILL"
	kill -9 "$p" 2>/dev/null
	sleep 0.2
}
cg_dirs() { # every cgroup dir of ours, deepest first
	local h
	for h in /sys/fs/cgroup/*/"$CGROOT" /sys/fs/cgroup/"$CGROOT"; do
		[ -d "$h" ] && find "$h" -depth -type d
	done
}
cleanup() {
	local rc=$? p d i
	trap '' INT TERM
	set +e
	log "cleaning up"
	if [ -n "$KUBELET" ] && kill -0 "$KUBELET" 2>/dev/null; then
		# let the kubelet take its pods down through the CRI
		"$KC" delete deploy -l bench=kube-density --wait=false >/dev/null 2>&1
		"$KC" delete pods -l bench=kube-density --field-selector "spec.nodeName=$KNODE" --timeout=90s >/dev/null 2>&1 ||
			log "cleanup: the kubelet's pods were not all gone within 90 s"
	fi
	stop_pid "$KUBELET" kubelet 15
	# whatever still runs in our cgroups (containers, pause), then the shims
	for i in 1 2 3; do
		for d in $(cg_dirs); do
			[ -f "$d/cgroup.procs" ] && for p in $(cat "$d/cgroup.procs"); do kill -9 "$p" 2>/dev/null; done
		done
		sleep 0.2
	done
	for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK"); do kill "$p" 2>/dev/null; done
	stop_pid "$CTD" containerd 10
	for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK"); do kill -9 "$p" 2>/dev/null; done
	stop_pid "$HOLDER" "the mount-namespace holder" 5
	for d in $(cg_dirs); do rmdir "$d" 2>/dev/null || log "cleanup: cannot remove cgroup $d"; done
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link del "$BRIDGE" || log "cleanup: cannot delete the bridge $BRIDGE"
	fi
	if [ "$SYSCTL_SAVED" = 1 ]; then
		while read -r k v; do
			[ "$(cat "/proc/sys/$k")" = "$v" ] || echo "$v" >"/proc/sys/$k" || log "cleanup: cannot restore $k to $v"
		done <"$D/sysctl.saved"
	fi
	for d in "${CREATED[@]}"; do # each path's chain deepest first
		rmdir "$d" 2>/dev/null || log "cleanup: $d (made by this run) is not empty; left as it is"
	done
	[ -d "$BROOT/kube-clusters/$CL/logs" ] && cp -r "$BROOT/kube-clusters/$CL/logs" "$OUTDIR/cluster-logs" 2>/dev/null
	if [ "$CLUSTER_UP" = 1 ]; then
		B kube cluster down --name "$CL" >"$OUTDIR/down.log" 2>&1 ||
			log "cleanup: cluster down failed: $(tail -3 "$OUTDIR/down.log")"
	fi
	[ -f "$D/containerd.log" ] && cp "$D/containerd.log" "$D/kubelet.log" "$OUTDIR/" 2>/dev/null
	rm -rf "$RUNDIR"
	safe_rm "$D"
	[ -e "$D" ] && log "cleanup: $D could not be removed"
	log "results in $OUTDIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- images
log "images: busybox:1.36 and the sandbox image berth.local/pause:3.10"
FIX=$WORK/kube-density/fixtures
BB=$(bash "$TOP/tests/fixtures/make.sh" "$FIX" 2>"$OUTDIR/fixtures.log") || die "tests/fixtures/make.sh failed: $(tail -3 "$OUTDIR/fixtures.log")"
mkdir -p "$D/pause-rootfs"
gcc -O2 -static -Wall -Wextra -Werror -o "$D/pause-rootfs/pause" "$TOP/bench/kube-density/pause.c" 2>"$OUTDIR/pause-cc.log" ||
	die "building bench/kube-density/pause.c failed (gcc -static; is libc6-dev installed?): $(tail -3 "$OUTDIR/pause-cc.log")"
strip "$D/pause-rootfs/pause"
tar --sort=name --mtime=2024-01-01 --owner=0 --group=0 --numeric-owner -C "$D/pause-rootfs" -cf "$D/pause.tar" . ||
	die "tar of the pause rootfs failed"
IMGROOT=$D/imgroot
"$BERTH" --root "$IMGROOT" --runroot "$RUNDIR/img" import -c 'ENTRYPOINT ["/pause"]' "$D/pause.tar" berth.local/pause:3.10 >/dev/null &&
	"$BERTH" --root "$IMGROOT" --runroot "$RUNDIR/img" import -c 'CMD ["sh"]' "$BB" busybox:1.36 >/dev/null &&
	"$BERTH" --root "$IMGROOT" --runroot "$RUNDIR/img" save -o "$D/images.tar" berth.local/pause:3.10 busybox:1.36 ||
	die "berth import/save of the images failed"
safe_rm "$IMGROOT"

# ---------------------------------------------------------------- berth cluster
log "berth kube cluster up --name $CL"
B load -q -i "$D/images.tar" >/dev/null || die "berth load of $D/images.tar failed"
CLUSTER_UP=1
B kube cluster up --name "$CL" ${API_PORT:+--api-port "$API_PORT"} >"$OUTDIR/up.log" 2>&1 ||
	die "cluster up failed: $(tail -5 "$OUTDIR/up.log")"
CDIR=$BROOT/kube-clusters/$CL
BNODE=$("$KC" get nodes -o jsonpath='{.items[0].metadata.name}') || die "kubectl get nodes failed"
SERVER=$(sed -n 's/^ *server: *//p' "$CDIR/admin.kubeconfig" | head -1)
[ -n "$SERVER" ] || die "no server in $CDIR/admin.kubeconfig"
NODEIP=$("$KC" get node "$BNODE" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
[ -n "$NODEIP" ] || die "node $BNODE has no InternalIP"
BNODE_PID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["components"]["node"]["pid"])' "$BRUN/kube-clusters/$CL/state.json") ||
	die "no node pid in $BRUN/kube-clusters/$CL/state.json"
log "berth node $BNODE (pid $BNODE_PID) at $NODEIP, API $SERVER"

# ---------------------------------------------------------------- the peer
port_free() { [ -z "$(ss -Htln "sport = :$1")" ]; }
free_port() { local p=$1; while ! port_free "$p"; do p=$((p + 1)); done; echo "$p"; }
KPORT=$(free_port 10350)
HPORT=$(free_port $((KPORT + 1)))
ip link show "$BRIDGE" >/dev/null 2>&1 && die "a bridge $BRIDGE is there already (another run's? remove it first)"
log "peer $KNODE: kubelet API :$KPORT, healthz 127.0.0.1:$HPORT, pods on $BRIDGE"

# credentials: signed by the cluster's CA
P=$D/pki
mkdir -p "$P"
(
	set -e
	cd "$P"
	openssl ecparam -name prime256v1 -genkey -noout -out kubelet.key
	openssl req -new -key kubelet.key -subj "/O=system:nodes/CN=system:node:$KNODE" -out kubelet.csr
	printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >client.ext
	printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s,IP:%s\n' "$KNODE" "$NODEIP" >serving.ext
	for w in client serving; do
		openssl x509 -req -in kubelet.csr -CA "$CDIR/pki/ca.crt" -CAkey "$CDIR/pki/ca.key" \
			-set_serial "0x$(openssl rand -hex 16)" -days 2 -extfile $w.ext -out $w.crt
	done
) >"$OUTDIR/pki.log" 2>&1 || die "making the kubelet's certificates failed: $(tail -3 "$OUTDIR/pki.log")"
cat >"$D/kubelet.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $CL
  cluster: {server: "$SERVER", certificate-authority: "$CDIR/pki/ca.crt"}
users:
- name: $KNODE
  user: {client-certificate: "$P/client.crt", client-key: "$P/kubelet.key"}
contexts:
- name: $KNODE
  context: {cluster: $CL, user: $KNODE}
current-context: $KNODE
EOF
cat >"$D/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 0.0.0.0
port: $KPORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $HPORT
tlsCertFile: $P/serving.crt
tlsPrivateKeyFile: $P/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CDIR/pki/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: /$CGROOT
failCgroupV1: false
containerRuntimeEndpoint: unix://$SOCK
podLogsDir: $D/pod-logs
makeIPTablesUtilChains: false
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
maxPods: 110
EOF
mkdir -p "$D/cni/net.d" "$D/containerd"
cat >"$D/containerd/config.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$RUNDIR/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "berth.local/pause:3.10"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
        Root = "$RUNDIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$D/cni/net.d"
    max_conf_num = 1
EOF

# the kubelet's sysctls, to be written back
for k in $SYSCTLS; do echo "$k $(cat "/proc/sys/$k")"; done >"$D/sysctl.saved" || die "cannot read the sysctls"
SYSCTL_SAVED=1

# the cgroup root the kubelet's cgroupRoot names (it must exist)
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	mkdir -p "/sys/fs/cgroup/$CGROOT" || die "cannot make the cgroup /sys/fs/cgroup/$CGROOT"
	for c in $(cat /sys/fs/cgroup/cgroup.subtree_control); do
		echo "+$c" >"/sys/fs/cgroup/$CGROOT/cgroup.subtree_control" || log "cannot enable $c in /$CGROOT"
	done
else
	for h in /sys/fs/cgroup/*/; do
		[ "$(stat -fc %T "$h")" = cgroup2fs ] && continue # hybrid: the empty unified tree
		mkdir -p "$h$CGROOT" || die "cannot make the cgroup $h$CGROOT"
	done
	if [ -d "/sys/fs/cgroup/cpuset/$CGROOT" ]; then
		cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$CGROOT/cpuset.cpus" &&
			cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$CGROOT/cpuset.mems" ||
			die "cannot set up the cpuset cgroup /$CGROOT"
	fi
fi

# the private mount namespace
BINDS=
for h in $HOSTPATHS; do
	if [ ! -e "$h" ]; then
		# remember the top-most directory this run makes
		t=$h
		while [ ! -e "$(dirname "$t")" ]; do t=$(dirname "$t"); done
		mkdir -p "$h" || die "cannot make $h"
		d=$h
		while :; do
			CREATED+=("$d")
			[ "$d" = "$t" ] && break
			d=$(dirname "$d")
		done
	fi
	priv=$D/host$h
	mkdir -p "$priv"
	BINDS+="mount --bind '$priv' '$h' && "
done
unshare -m --propagation private -- sh -c "${BINDS}touch '$D/holder.ready' && exec sleep 2147483647" >"$OUTDIR/holder.log" 2>&1 &
HOLDER=$!
for i in $(seq 1 50); do [ -e "$D/holder.ready" ] && break; kill -0 "$HOLDER" 2>/dev/null || break; sleep 0.1; done
[ -e "$D/holder.ready" ] || die "the mount namespace holder did not start: $(cat "$OUTDIR/holder.log")"

log "starting containerd"
nsenter -t "$HOLDER" -m -- containerd --config "$D/containerd/config.toml" >"$D/containerd.log" 2>&1 &
CTD=$!
for i in $(seq 1 100); do ctr -a "$SOCK" version >/dev/null 2>&1 && break; kill -0 "$CTD" 2>/dev/null || break; sleep 0.1; done
ctr -a "$SOCK" version >/dev/null 2>&1 || die "containerd did not start: $(tail -5 "$D/containerd.log")"
ctr -a "$SOCK" -n k8s.io images import "$D/images.tar" >"$OUTDIR/ctr-import.log" 2>&1 ||
	die "ctr images import failed: $(tail -3 "$OUTDIR/ctr-import.log")"

log "starting the kubelet as node $KNODE"
nsenter -t "$HOLDER" -m -- "$KBIN/kubelet" --config="$D/kubelet-config.yaml" --kubeconfig="$D/kubelet.kubeconfig" \
	--root-dir="$D/kubelet" --hostname-override="$KNODE" --node-ip="$NODEIP" >"$D/kubelet.log" 2>&1 &
KUBELET=$!
# The Node's podCIDR: the cluster's controller-manager allocates one (a /24
# of its --cluster-cidr) once the Node is registered; the CNI bridge gets it.
# containerd watches its conf_dir, so the config is written only then (the
# node is NotReady, "cni plugin not initialized", until it is there). A
# cluster whose controller-manager allocates none: a free 10.244.N.0/24,
# set as the Node's podCIDR.
SUBNET=
for i in $(seq 1 120); do
	kill -0 "$KUBELET" 2>/dev/null || die "the kubelet exited: $(grep -E '^E|Fatal|failed' "$D/kubelet.log" | tail -5)"
	SUBNET=$("$KC" get node "$KNODE" -o jsonpath='{.spec.podCIDR}' 2>/dev/null)
	[ -n "$SUBNET" ] && break
	# registered for 10 s and still no podCIDR: no allocator
	[ "$i" -gt 20 ] && "$KC" get node "$KNODE" >/dev/null 2>&1 && break
	sleep 0.5
done
if [ -z "$SUBNET" ]; then
	"$KC" get node "$KNODE" >/dev/null || die "node $KNODE not registered within 60 s: $(grep -E '^E|Fatal|failed' "$D/kubelet.log" | tail -5)"
	for n in $(seq 0 255); do
		ip route | grep -q "^10\.244\.$n\." && continue
		ip -4 addr | grep -q "inet 10\.244\.$n\." && continue
		SUBNET=10.244.$n.0/24
		break
	done
	[ -n "$SUBNET" ] || die "no free 10.244.N.0/24 for the kubelet's pods"
	"$KC" patch node "$KNODE" -p "{\"spec\":{\"podCIDR\":\"$SUBNET\",\"podCIDRs\":[\"$SUBNET\"]}}" >/dev/null ||
		die "setting node $KNODE's podCIDR failed"
	log "node $KNODE: no podCIDR from the controller-manager; set to $SUBNET"
fi
ip route | grep "^$SUBNET " | grep -qv " dev $BRIDGE " &&
	die "$SUBNET (node $KNODE's podCIDR) is routed on this host already: $(ip route | grep "^$SUBNET ")"
log "node $KNODE: pods in $SUBNET on $BRIDGE"
cat >"$D/cni/net.d/density.tmp" <<EOF
{"cniVersion": "0.4.0", "name": "berth-density",
 "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$SUBNET"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$D/cni/ipam"}},
  {"type": "loopback"}
 ]}
EOF
mv "$D/cni/net.d/density.tmp" "$D/cni/net.d/10-density.conflist" || die "cannot write the CNI config"
ready=
for i in $(seq 1 120); do
	kill -0 "$KUBELET" 2>/dev/null || break
	[ "$("$KC" get node "$KNODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] && { ready=1; break; }
	sleep 0.5
done
[ -n "$ready" ] || die "node $KNODE not Ready within 60 s: $(grep -E '^E|Fatal|failed' "$D/kubelet.log" | tail -5)"
CTD_V=$(containerd --version | awk '{print $3}')
RUNC_V=$(runc --version | awk 'NR==1{print $3}')
KUBELET_V=$("$KBIN/kubelet" --version | awk '{print $2}')
log "peer Ready: kubelet $KUBELET_V, containerd $CTD_V, runc $RUNC_V"

# ---------------------------------------------------------------- measures
deploy_yaml() { # NAME REPLICAS NODE
	cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1, labels: {bench: kube-density}}
spec:
  replicas: $2
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1, bench: kube-density}}
    spec:
      nodeSelector: {kubernetes.io/hostname: $3}
      containers:
      - name: c
        image: busybox:1.36
        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"]
EOF
}
node_name() { case $1 in berth) echo "$BNODE" ;; kubelet) echo "$KNODE" ;; esac; }
mem_of() { # berth|kubelet -> JSON
	case $1 in
	berth) python3 "$HELPER" mem berth "$BROOT" "$BERTH" "$BNODE_PID" ;;
	kubelet) python3 "$HELPER" mem kubelet "$KUBELET" "$CTD" "$SOCK" ;;
	esac
}
# a go-template: kubectl's jsonpath printer fails from the second watch event
# on ("not in range, nothing to end") when the template has a range
WATCH_FMT='{{.metadata.name}}|{{with .spec.nodeName}}{{.}}{{end}}|{{.status.phase}}|{{range .status.conditions}}{{.type}}={{.status}},{{end}}{{"\n"}}'
# one_round WHO N TAG: apply, wait Ready, [memory], delete, wait gone; one line to rounds.tsv
one_round() {
	local who=$1 n=$2 tag=$3 name node t up down wpid pt memj=
	node=$(node_name "$who")
	name=d-$who-$n
	deploy_yaml "$name" "$n" "$node" >"$D/$name.yaml"
	( "$KC" get pods -l "app=$name" -w -o go-template="$WATCH_FMT" 2>"$OUTDIR/watch-$tag.err" |
		while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$OUTDIR/watch-$tag.log" ) &
	wpid=$!
	sleep 0.3 # the watch is established before the apply
	t=$(date +%s%N)
	"$KC" apply -f "$D/$name.yaml" >"$OUTDIR/apply-$tag.log" 2>&1 || die "kubectl apply failed ($tag): $(cat "$OUTDIR/apply-$tag.log")"
	"$KC" wait --for=jsonpath='{.status.readyReplicas}'="$n" "deploy/$name" --timeout=300s >>"$OUTDIR/apply-$tag.log" 2>&1 ||
		die "$n pods on $node not Ready within 300 s ($tag): $("$KC" get pods -l "app=$name" --no-headers 2>&1 | awk '{print $3}' | sort | uniq -c | tr '\n' ' ')"
	up=$(ms "$t")
	sleep 0.5 # the last Ready reaches the watch
	pkill -P "$wpid" 2>/dev/null
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	pt=$(python3 "$HELPER" podtimes "$OUTDIR/watch-$tag.log") || die "reading $OUTDIR/watch-$tag.log failed"
	if [ "$n" = "$MEM_N" ]; then
		sleep "$SETTLE"
		memj=$(mem_of "$who") || die "measuring $who's memory failed"
		echo "$memj" >"$OUTDIR/mem-$tag.json"
	fi
	t=$(date +%s%N)
	"$KC" delete deploy "$name" --cascade=foreground --wait=true --timeout=300s >"$OUTDIR/delete-$tag.log" 2>&1 ||
		die "deleting $name failed ($tag): $(tail -3 "$OUTDIR/delete-$tag.log")"
	"$KC" wait --for=delete pod -l "app=$name" --timeout=300s >>"$OUTDIR/delete-$tag.log" 2>&1
	[ -z "$("$KC" get pods -l "app=$name" -o name 2>&1)" ] || die "pods of $name still there after its deletion ($tag)"
	down=$(ms "$t")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$who" "$n" "$tag" "$up" "$down" "$pt" >>"$OUTDIR/rounds.tsv"
	log "$who $n pod(s): Ready after $up ms (node: first bound to last Ready $(cut -f2 <<<"$pt") ms, per pod median $(cut -f3 <<<"$pt") ms), deleted in $down ms"
}
MEM_N=$(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -1)
printf 'who\tpods\ttag\tready_ms\tdelete_ms\tpods_seen\tbound_first_to_ready_last_ms\tbound_to_ready_median_ms\tbound_to_ready_max_ms\tseen_to_bound_median_ms\n' >"$OUTDIR/rounds.tsv"
{
	echo "date $(date -u +%FT%TZ)"
	echo "berth $("$BERTH" --version 2>&1 | head -1) $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)"
	echo "kubelet $KUBELET_V containerd $CTD_V runc $RUNC_V"
	echo "loadavg_start $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUTDIR/env.txt"

sleep 5 # both nodes settle (kubelet's first syncs, lease)
mem_of berth >"$OUTDIR/mem-idle-berth.json" && mem_of kubelet >"$OUTDIR/mem-idle-kubelet.json" || die "measuring idle memory failed"
for r in $(seq 1 "$RUNS"); do
	if [ $((r % 2)) = 1 ]; then order="berth kubelet"; else order="kubelet berth"; fi
	for who in $order; do one_round "$who" 1 "start-$who-$r"; done
done
for n in $SIZES; do
	for r in $(seq 1 "$BIG_RUNS"); do
		if [ $((r % 2)) = 1 ]; then order="berth kubelet"; else order="kubelet berth"; fi
		for who in $order; do one_round "$who" "$n" "pods$n-$who-$r"; done
	done
done
echo "loadavg_end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUTDIR/env.txt"

# ---------------------------------------------------------------- summary
python3 - "$OUTDIR" "$MEM_N" "$RUNS" "$BIG_RUNS" >"$OUTDIR/summary.txt" <<'EOF'
import glob, json, os, statistics, sys
out, mem_n, runs, big = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "rounds.tsv"))][1:]
env = dict(l.rstrip("\n").split(" ", 1) for l in open(os.path.join(out, "env.txt")))
def med(who, n, col):
    v = [float(r[col]) for r in rows if r[0] == who and r[1] == n and r[col] != "-"]
    return statistics.median(v) if v else None
def line(label, b, k, unit="ms"):
    f = lambda x: "-" if x is None else "%.0f %s" % (x, unit)
    ratio = "-" if not b or k is None else "%.1fx" % (k / b)
    print("| %s | %s | %s | %s |" % (label, f(b), f(k), ratio))
sizes = sorted({r[1] for r in rows}, key=int)
print("berth %s; kubelet %s; %s" % (env["berth"], env["kubelet"], env["date"]))
print("load average %s at the start, %s at the end; %s 1-pod rounds, %s per size" %
      (env["loadavg_start"], env["loadavg_end"], runs, big))
print()
print("| measure (median) | berth node | kubelet + containerd | kubelet / berth |")
print("| --- | --- | --- | --- |")
for n in sizes:
    what = "1-pod Deployment" if n == "1" else "%s-pod Deployment" % n
    line("%s: apply to Ready" % what, med("berth", n, 3), med("kubelet", n, 3))
    if n == "1":
        line("  the node: bound to Ready", med("berth", n, 7), med("kubelet", n, 7))
    else:
        line("  the node: first bound to last Ready", med("berth", n, 6), med("kubelet", n, 6))
        line("  the node: bound to Ready, per pod (median)", med("berth", n, 7), med("kubelet", n, 7))
    line("%s: delete to pods gone" % what, med("berth", n, 4), med("kubelet", n, 4))
def mem(pattern):
    ms = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, pattern)))]
    return ms
def tot(m, key, skip=()):
    return sum(g[key] for k, g in m.items() if k not in skip) / 1024.0
for label, bpat, kpat in (("no pod", "mem-idle-berth.json", "mem-idle-kubelet.json"),
                          ("%s pods" % mem_n, "mem-pods%s-berth-*.json" % mem_n, "mem-pods%s-kubelet-*.json" % mem_n)):
    bm, km = mem(bpat), mem(kpat)
    if not bm or not km:
        continue
    for key, kname in (("pss_kb", "Pss"), ("rss_kb", "VmRSS")):
        b = statistics.median(tot(m, key) for m in bm)
        k = statistics.median(tot(m, key) for m in km)
        k_nopause = statistics.median(tot(m, key, ("pause",)) for m in km)
        b_nopause = statistics.median(tot(m, key, ("pause",)) for m in bm)
        line("memory at %s, %s summed, all groups" % (label, kname), b, k, "MB")
        line("memory at %s, %s summed, without pause" % (label, kname), b_nopause, k_nopause, "MB")
    print()
    for who, ms in (("berth", bm), ("kubelet", km)):
        m = ms[-1]
        print("  %s at %s (last round): %s" % (who, label, ", ".join(
            "%s %d procs %.1f MB Pss %.1f MB RSS" % (k, g["n"], g["pss_kb"] / 1024.0, g["rss_kb"] / 1024.0)
            for k, g in m.items())))
    print()
EOF
cat "$OUTDIR/summary.txt"
