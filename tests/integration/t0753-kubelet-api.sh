#!/usr/bin/env bash
# The kubelet API (kube/kubelet-api.h) on a store's pods, first through
# `berth debug kubelet-api` driven with curl and a small SPDY client
# (kubelet-spdy.py, speaking as the apiserver does), then, on a real
# cluster, with upstream kubectl through the apiserver: TLS and client
# certificates (401 without one or with another CA's), /healthz, /pods,
# /containerLogs with every option and the kubelet's errors, exec (exit
# codes, stdin, a tty and its size, output bigger than the windows with and
# without a flow-controlling peer, the protocol versions), attach,
# portForward (a TCP answer, a refused port, several pairs), a follow while
# an exec runs, the self-signed certificate, SIGTERM with sessions open,
# nothing left behind.
. "$(dirname "$0")/../lib.sh"
need_fixtures
command -v openssl >/dev/null || skip_all "openssl is not installed"
command -v curl >/dev/null || skip_all "curl is not installed"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip_all "python3 is not installed"
SPDY="$PY $TESTS_DIR/integration/kubelet-spdy.py"
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:1.36 >/dev/null || { notok "import busybox"; t_done; }

C=$T_DIR/certs
mkdir -p "$C"
mkcert() { # NAME SUBJECT CA EXT
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/$1.key" -out "$C/$1.csr" -subj "$2" 2>/dev/null &&
		printf '%s\n' "$4" > "$C/$1.ext" &&
		openssl x509 -req -in "$C/$1.csr" -CA "$C/$3.crt" -CAkey "$C/$3.key" -CAcreateserial -out "$C/$1.crt" -days 1 \
			-extfile "$C/$1.ext" 2>/dev/null
}
for ca in ca other-ca; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/$ca.key" -out "$C/$ca.crt" -days 1 \
		-subj "/CN=$ca" 2>/dev/null || { notok "make $ca"; t_done; }
done
mkcert client "/O=system:masters/CN=kube-apiserver-kubelet-client" ca "extendedKeyUsage=clientAuth" &&
	mkcert stranger "/O=system:masters/CN=stranger" other-ca "extendedKeyUsage=clientAuth" &&
	mkcert server-only "/CN=not-a-client" ca "extendedKeyUsage=serverAuth" &&
	mkcert nocn "/O=system:masters" ca "extendedKeyUsage=clientAuth" || { notok "client certificates"; t_done; }
K="--cert $C/client.crt --key $C/client.key"

# pods from kube play (no "node" meta: --all-pods serves them)
cat > "$T_DIR/pods.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: talker
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo out $i; echo err $i >&2; sleep 0.2; done"]
  - name: web
    image: busybox:1.36
    command: ["sh", "-c", "echo web up; echo hello-from-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
---
apiVersion: v1
kind: Pod
metadata:
  name: twice
spec:
  containers:
  - name: c
    image: busybox:1.36
    command: ["sh", "-c", "if [ -e /ran ]; then echo second run; exec sleep 600; fi; touch /ran; echo first run; exit 1"]
---
apiVersion: v1
kind: Pod
metadata:
  name: brief
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:1.36
    command: ["sh", "-c", "sleep 2; echo brief done"]
EOF
check "kube play the pods" b kube play --wait --timeout 60s "$T_DIR/pods.yaml"

SRV_PID=
start_server() { # OUTFILE ARGS...
	local out=$1
	shift
	"$BERTH" --root "$ROOT" --runroot "$RUNROOT" debug kubelet-api --listen 127.0.0.1:0 --client-ca-file "$C/ca.crt" "$@" \
		> "$out" 2> "$out.err" &
	SRV_PID=$!
	local n=50
	while [ $n -gt 0 ] && ! grep -q "^listening on" "$out"; do sleep 0.1; n=$((n - 1)); done
	PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
	U=https://127.0.0.1:$PORT
}
srv_cleanup() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	[ -n "${SRV2_PID:-}" ] && kill "$SRV2_PID" 2>/dev/null
	wait 2>/dev/null
	t_cleanup
}
trap srv_cleanup EXIT
start_server "$T_DIR/srv" --node n1 --all-pods --address 127.0.0.1
like "the server says where it listens" "$(cat "$T_DIR/srv")" '^listening on 127\.0\.0\.1:[0-9]+$'
cu() { curl -sS -k $K "$@"; }

# ---- TLS and authentication ----
is "healthz" "$(cu "$U/healthz")" "ok"
like "healthz?verbose lists the checks" "$(cu "$U/healthz?verbose")" 'syncloop ok'
is "no client certificate: 401 Unauthorized" "$(curl -sSk "$U/healthz" -w ' %{http_code}')" "Unauthorized 401"
is "another CA's certificate: 401" "$(curl -sSk --cert "$C/stranger.crt" --key "$C/stranger.key" "$U/pods" -w ' %{http_code}')" "Unauthorized 401"
is "a certificate not for clients: 401" "$(curl -sSk --cert "$C/server-only.crt" --key "$C/server-only.key" "$U/pods" -w ' %{http_code}')" "Unauthorized 401"
is "a certificate without a CN: 401" "$(curl -sSk --cert "$C/nocn.crt" --key "$C/nocn.key" "$U/pods" -w ' %{http_code}')" "Unauthorized 401"
fails "TLS 1.1 is refused" "." curl -sSk $K --tls-max 1.1 "$U/healthz"
is "TLS 1.3 works" "$(curl -sSk $K --tlsv1.3 "$U/healthz")" "ok"
is "unknown paths: 404" "$(cu "$U/nothing" -w '%{http_code}')" "404 page not found
404"
is "a wrong method: 405" "$(cu -X DELETE "$U/pods" -w ' %{http_code}')" "405: Method Not Allowed 405"
like "self-signed serving certificate for the node, with its address" \
	"$(openssl x509 -in "$RUNROOT/kube-node/n1/kubelet.crt" -noout -text)" 'DNS:n1, IP Address:127\.0\.0\.1'
fp1=$(openssl x509 -in "$RUNROOT/kube-node/n1/kubelet.crt" -noout -fingerprint)
like "... what the server shows" "$(openssl s_client -connect "127.0.0.1:$PORT" -cert "$C/client.crt" -key "$C/client.key" </dev/null 2>/dev/null | openssl x509 -noout -subject)" 'CN = n1@'

# ---- /pods ----
pods=$(cu "$U/pods")
is "/pods: a v1 PodList of the store's pods" "$($PY -c 'import json,sys; d=json.load(sys.stdin); print(d["kind"], d["apiVersion"], " ".join(sorted(p["metadata"]["name"] for p in d["items"])))' <<<"$pods")" "PodList v1 brief talker twice"
is "... with the runtime's status" "$($PY -c 'import json,sys; d=json.load(sys.stdin); p=[p for p in d["items"] if p["metadata"]["name"]=="talker"][0]; print(p["status"]["phase"], len(p["status"]["containerStatuses"]), "berth" in p["status"])' <<<"$pods")" "Running 2 False"
m=$(cu "$U/metrics" -w '%{content_type}')
like "/metrics: the kubelet's gauges, Prometheus text" "$m" 'kubelet_running_pods [1-9]'
like "/metrics: running containers by state" "$m" 'kubelet_running_containers\{container_state="running"\} [1-9]'
like "/metrics: the node's name" "$m" '^kubelet_node_name\{node="n1"\} 1$'
like "/metrics: the content type" "$m" 'text/plain; version=0\.0\.4; charset=utf-8$'
is "/metrics: POST is not allowed" "$(cu -X POST "$U/metrics" -w ' %{http_code}')" '405: Method Not Allowed 405'
like "/runningpods/: the runtime's view" "$(cu "$U/runningpods/")" '"name":"talker".*"containers":\[\{"name":"main","image":"busybox:1.36","resources":\{\}\}'

# a server for node n2 has none of kube play's pods
SRV_SAVE=$SRV_PID U_SAVE=$U PORT_SAVE=$PORT
start_server "$T_DIR/srv2" --node n2 --tls-cert-file "$RUNROOT/kube-node/n1/kubelet.crt" --tls-private-key-file "$RUNROOT/kube-node/n1/kubelet.key"
SRV2_PID=$SRV_PID
is "a node's /pods without pods: items null, as the kubelet's" "$(cu "$U/pods")" '{"kind":"PodList","apiVersion":"v1","metadata":{},"items":null}'
is "... and another node's pod does not exist there" "$(cu "$U/containerLogs/default/talker/main" -w ' %{http_code}')" 'pod "talker" does not exist 404'
kill "$SRV2_PID"
wait "$SRV2_PID" 2>/dev/null
SRV2_PID=
SRV_PID=$SRV_SAVE U=$U_SAVE PORT=$PORT_SAVE
is "the self-signed certificate is kept across starts" "$(openssl x509 -in "$RUNROOT/kube-node/n1/kubelet.crt" -noout -fingerprint)" "$fp1"

# ---- /containerLogs ----
L="$U/containerLogs/default/talker"
sleep 1
like "logs: both streams, plain text" "$(cu "$L/main")" '^out 1
err 1
out 2'
is "tailLines=3" "$(cu "$L/main?tailLines=3" | wc -l)" 3
like "timestamps: nine digits, Z" "$(cu "$L/main?tailLines=1&timestamps=true")" '^20[0-9-]+T[0-9:]+\.[0-9]{9}Z (out|err) [0-9]+$'
is "limitBytes=10: exactly 10 bytes" "$(cu "$L/main?limitBytes=10" | wc -c)" 10
is "stream=Stdout" "$(cu "$L/main?stream=Stdout" | grep -c '^err')" 0
is "stream=Stderr" "$(cu "$L/main?stream=Stderr" | grep -c '^out')" 0
# sinceTime has whole seconds, and "-1 sec" may reach 2 s back: the checks
# need a log longer than that (10 lines a second; a loaded machine may have
# started the pod only just now)
long_log() { [ "$(cu "$L/main" | wc -l)" -ge 40 ]; }
wait_for 30 long_log || notok "the talker's log reaches 40 lines"
n_all=$(cu "$L/main" | wc -l)
n_since=$(cu "$L/main?sinceSeconds=1" | wc -l)
[ "$n_since" -gt 0 ] && [ "$n_since" -lt "$n_all" ] && ok "sinceSeconds=1: only the last second ($n_since of $n_all)" || notok "sinceSeconds=1 ($n_since of $n_all)"
since=$(date -u -d '-1 sec' +%Y-%m-%dT%H:%M:%SZ)
n_st=$(cu "$L/main?sinceTime=$since" | wc -l)
[ "$n_st" -gt 0 ] && [ "$n_st" -lt "$n_all" ] && ok "sinceTime: only what came after it" || notok "sinceTime ($n_st of $n_all)"
is "the other container's log" "$(cu "$L/web")" "web up"
is "previous with no restart: 400, the kubelet's words" "$(cu "$L/main?previous=true" -w ' %{http_code}')" 'previous terminated container "main" in pod "talker" not found 400'
is "a missing pod: 404" "$(cu "$U/containerLogs/default/nope/main" -w ' %{http_code}')" 'pod "nope" does not exist 404'
is "a missing container: 404" "$(cu "$L/nope" -w ' %{http_code}')" 'container "nope" not found in pod "talker" 404'
is "a bad number: 400" "$(cu "$L/main?tailLines=ten" -w ' %{http_code}')" '{"message": "Unable to decode query."} 400'
is "a bad time: 400" "$(cu "$L/main?sinceTime=yesterday" -w ' %{http_code}')" '{"message": "Unable to decode query."} 400'
for q in tailLines=-1 limitBytes=0 sinceSeconds=0 "sinceSeconds=1&sinceTime=$since" stream=Both "stream=Stdout&tailLines=1"; do
	is "invalid options ($q): 422" "$(cu "$L/main?$q" -w ' %{http_code}')" '{"message": "Invalid request."} 422'
done
# follow: lines keep coming; a client that leaves ends the server's side
t0=$(date +%s%N)
fl=$(timeout 2 curl -sSk $K -N "$L/main?follow=true&tailLines=0")
[ "$(wc -l <<<"$fl")" -ge 10 ] && ok "follow: new lines as they come ($(wc -l <<<"$fl") in 2 s)" || notok "follow ($(wc -l <<<"$fl") lines)"
# a follow ends with the run: brief exits after 2 s
t0=$(date +%s)
out=$(timeout 20 curl -sSk $K -N "$U/containerLogs/default/brief/c?follow=true")
t1=$(date +%s)
is "follow of a container that exits ends with it" "$out" "brief done"
[ $((t1 - t0)) -lt 15 ] && ok "... on its own ($((t1 - t0)) s)" || notok "follow did not end with the container ($((t1 - t0)) s)"
# previous after a restart (twice runs again in place)
n=200
while [ $n -gt 0 ] && [ "$(cu "$U/containerLogs/default/twice/c" 2>/dev/null)" != "second run" ]; do sleep 0.1; n=$((n - 1)); done
is "a restarted container: its current run" "$(cu "$U/containerLogs/default/twice/c")" "second run"
is "previous=true: the run before" "$(cu "$U/containerLogs/default/twice/c?previous=true")" "first run"
is "previous with tailLines" "$(cu "$U/containerLogs/default/twice/c?previous=true&tailLines=1&timestamps=1" | sed 's/^[^ ]* //')" "first run"

# ---- exec ----
E="$U/exec/default/talker/main"
out=$($SPDY exec "$E" $K -- sh -c 'echo to-out; echo to-err >&2; exit 3' 3>"$T_DIR/status" 2>"$T_DIR/stderr")
code=$?
is "exec: stdout" "$out" "to-out"
is "... stderr on its own stream" "$(cat "$T_DIR/stderr")" "to-err"
is "... the exit code" "$code" 3
like "... as a v4 Status: NonZeroExitCode, cause ExitCode" "$(cat "$T_DIR/status")" '"reason":"NonZeroExitCode","details":\{"causes":\[\{"reason":"ExitCode","message":"3"\}\]\}'
like "exec success: Status Success" "$($SPDY exec "$E" $K -- true 3>&1)" '^\{"metadata":\{\},"status":"Success"\}$'
is "exec with stdin" "$($SPDY exec "$E" $K --stdin --input 'a\nb\nc\n' -- wc -l 3>/dev/null)" 3
head -c 3000000 /dev/urandom > "$T_DIR/big.bin"
is "3 MB through stdin" "$($SPDY exec "$E" $K --stdin --input-file "$T_DIR/big.bin" -- md5sum 3>/dev/null)" "$(md5sum < "$T_DIR/big.bin")"
is "5 MB of output to a peer without flow control" "$($SPDY exec "$E" $K -- head -c 5000000 /dev/zero 3>/dev/null | wc -c)" 5000000
is "... and to one keeping windows (WINDOW_UPDATE)" "$($SPDY exec "$E" $K --window-updates -- head -c 5000000 /dev/zero 3>/dev/null | wc -c)" 5000000
out=$($SPDY exec "$E" $K --stdin --tty --size 123x45 --input 'stty size; exit 7\n' -- sh 3>/dev/null)
code=$?
like "a tty gets the resize stream's size" "$out" '45 123'
is "... and the shell's exit code" "$code" 7
like "a missing command: InternalError" "$($SPDY exec "$E" $K -- nosuchcmd 3>&1)" '"message":"Internal error occurred: error executing command in container: exec: \\"nosuchcmd\\": executable file not found in \$PATH","reason":"InternalError"'
for pr in v5.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io; do
	st=$($SPDY exec "$E" $K --proto $pr -- sh -c 'exit 2' 3>&1)
	case $pr in
	v5*) like "protocol $pr: a Status" "$st" '"message":"2"' ;;
	*) like "protocol $pr: the failure's text" "$st" '^command terminated with non-zero exit code: error executing command \[sh -c exit 2\], exit code 2$' ;;
	esac
done
is "exec without streams: 400" "$(cu -X POST "$E?command=true" -w ' %{http_code}')" "you must specify at least 1 of stdin, stdout, stderr 400"
is "exec in a missing pod: 404" "$(cu -X POST "$U/exec/default/nope/main?command=true&output=1" -w ' %{http_code}')" "pod does not exist 404"
is "exec in a missing container: 500" "$(cu -X POST "$U/exec/default/talker/nope?command=true&output=1" -w ' %{http_code}')" 'container not found ("nope") 500'
is "exec in an exited container: 500" "$(cu -X POST "$U/exec/default/brief/c?command=true&output=1" -w ' %{http_code}')" 'container not found ("c") 500'
like "no protocol header: 400" "$(cu -X POST "$E?command=true&output=1" -w ' %{http_code}')" '^unable to upgrade: header X-Stream-Protocol-Version does not exist in request with [0-9]+ headers
 400$'
pr=$(cu -X POST -H 'X-Stream-Protocol-Version: v9.channel.k8s.io' "$E?command=true&output=1" -D - )
like "an unknown protocol: 403" "$pr" 'HTTP/1.1 403 Forbidden'
like "... with the accepted ones" "$pr" 'X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io'
like "... in the kubelet's words" "$pr" 'client supports \[v9.channel.k8s.io\], server accepts \[v5.channel.k8s.io v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io\]'
like "no upgrade headers: 400" "$(cu -X POST -H 'X-Stream-Protocol-Version: v4.channel.k8s.io' "$E?command=true&output=1" -w ' %{http_code}')" '^unable to upgrade: missing upgrade headers in request: http.Header\{.*\}
 400$'

# a follow and an exec at once, on two connections
(timeout 4 curl -sSk $K -N "$L/main?follow=true&tailLines=0" > "$T_DIR/follow") &
fpid=$!
sleep 0.3
is "an exec while a follow runs" "$($SPDY exec "$E" $K -- sh -c 'for i in 1 2 3; do echo step $i; sleep 0.5; done' 3>/dev/null | tr '\n' ' ')" "step 1 step 2 step 3 "
wait $fpid
[ "$(wc -l < "$T_DIR/follow")" -ge 10 ] && ok "... the follow went on meanwhile" || notok "the follow stalled during the exec"

# ---- attach ----
at=$(timeout 2 $SPDY attach "$U/attach/default/talker/main" $K 3>/dev/null 2>"$T_DIR/att.err")
like "attach: the container's output" "$at" '^out [0-9]+'
like "... and its stderr" "$(cat "$T_DIR/att.err")" '^err [0-9]+'
check "attach: a client that leaves" $SPDY attach "$U/attach/default/talker/main" $K --close-early
is "attach to a missing container: 500" "$(cu -X POST "$U/attach/default/talker/nope?output=1" -w ' %{http_code}')" "container nope not found in pod talker_default 500"

# ---- portForward ----
F="$U/portForward/default/talker"
like "portForward: an HTTP answer from the pod's localhost:8080" "$($SPDY portforward "$F" $K --port 8080 --send 'GET /index.html HTTP/1.0\r\n\r\n' | tr -d '\r' | tr '\n' ' ')" '^HTTP/1.1 200 OK .* hello-from-web $'
is "three pairs at once" "$($SPDY portforward "$F" $K --port 8080 --pairs 3 --send 'GET /index.html HTTP/1.0\r\n\r\n' | grep -c hello-from-web)" 3
is "pairs of an old client without requestID" "$($SPDY portforward "$F" $K --port 8080 --pairs 2 --no-request-id --send 'GET /index.html HTTP/1.0\r\n\r\n' | grep -c hello-from-web)" 2
like "a closed port: the error stream says so" "$($SPDY portforward "$F" $K --port 9 --send x)" '^error: error forwarding port 9 to pod [0-9a-f]{64}, uid : failed to connect to localhost:9 inside namespace "[0-9a-f]{64}", IPv4: dial tcp4 127.0.0.1:9: connect: connection refused'
is "portForward of a missing pod: 404" "$(cu -X POST "$U/portForward/default/nope" -w ' %{http_code}')" "pod does not exist 404"
is "... of a wrong uid: 404" "$(cu -X POST "$F/00000000-0000-0000-0000-000000000000" -w ' %{http_code}')" "pod not found 404"

# ---- nothing left; SIGTERM with a session open ----
sleep 0.5
fds=$(ls /proc/$SRV_PID/fd | wc -l)
threads=$(ls /proc/$SRV_PID/task | wc -l)
[ "$fds" -lt 20 ] && ok "no descriptors left behind ($fds open)" || notok "descriptors left: $fds"
[ "$threads" -le 2 ] && ok "no session threads left ($threads)" || notok "threads left: $threads"
left=$(ps -eo args | grep -c '^sh -c for i in 1 2 3\|^md5sum$\|^head -c 5000000')
is "no exec'd process left" "$left" 0
(curl -sSk $K -N "$L/main?follow=true" > /dev/null 2>&1 &)
sleep 0.3
t0=$(date +%s%N)
kill "$SRV_PID"
wait "$SRV_PID"
rc=$?
t1=$(date +%s%N)
SRV_PID=
is "SIGTERM ends the server (exit 0)" "$rc" 0
[ $(((t1 - t0) / 1000000)) -lt 2000 ] && ok "... with a follow open, in $(((t1 - t0) / 1000000)) ms" || notok "SIGTERM took $(((t1 - t0) / 1000000)) ms"

# ---- bad configuration ----
fails "no client CA" "a client CA file is needed" b debug kubelet-api --listen 127.0.0.1:0 --node n1
fails "a client CA file that is not there" "--client-ca-file $T_DIR/none.crt" b debug kubelet-api --listen 127.0.0.1:0 --node n1 --client-ca-file "$T_DIR/none.crt"
fails "a cert without its key" "go together" b debug kubelet-api --listen 127.0.0.1:0 --node n1 --client-ca-file "$C/ca.crt" --tls-cert-file "$C/client.crt"
fails "a key that is not the cert's" "does not match" b debug kubelet-api --listen 127.0.0.1:0 --node n1 --client-ca-file "$C/ca.crt" --tls-cert-file "$C/client.crt" --tls-private-key-file "$C/stranger.key"
fails "a bad listen address" 'listen address "nowhere": want HOST:PORT' b debug kubelet-api --listen nowhere --node n1 --client-ca-file "$C/ca.crt"
$PY -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(20)' > "$T_DIR/busy" &
busy=$!
n=50
while [ $n -gt 0 ] && [ ! -s "$T_DIR/busy" ]; do sleep 0.1; n=$((n - 1)); done
fails "a port in use" "listening on 127.0.0.1:$(cat "$T_DIR/busy"): Address already in use" b debug kubelet-api --listen "127.0.0.1:$(cat "$T_DIR/busy")" --node n1 --client-ca-file "$C/ca.crt"
kill $busy
wait $busy 2>/dev/null

# ---- upstream kubectl through a real apiserver ----
KBIN=${BERTH_K8S_BIN:-/var/cache/berth/k8s/v1.36.3}
for x in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	[ -x "$KBIN/$x" ] || { skip "kubectl part: no $KBIN/$x (scripts/k8s-binaries.sh builds them)"; t_done; }
done
command -v iptables-save >/dev/null || { skip "kubectl part: iptables is not installed"; t_done; }
export KUBECONFIG=$T_DIR/kubeconfig
kc() { "$KBIN/kubectl" --request-timeout=20s "$@"; }
CL=t0753
cl_cleanup() {
	b kube cluster down --name "$CL" >/dev/null 2>&1
	srv_cleanup
}
trap cl_cleanup EXIT
b kube down -q --all -n default >/dev/null 2>&1
check "kube cluster up" b kube cluster up --name "$CL"
node=$(kc get nodes -o jsonpath='{.items[0].metadata.name}')
if [ "$(kc get --raw "/api/v1/nodes/$node/proxy/healthz" 2>&1)" != ok ]; then
	skip "kubectl part: the node agent does not serve the kubelet API yet"
	t_done
fi
ok "the apiserver reaches the node's kubelet API (nodes/proxy/healthz)"
kc run talker --image=busybox:1.36 --image-pull-policy=IfNotPresent -- sh -c 'i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done' >/dev/null
kc run web --image=busybox:1.36 --image-pull-policy=IfNotPresent -- sh -c 'echo hello-kubectl > /tmp/index.html; exec httpd -f -p 8080 -h /tmp' >/dev/null
check "the pods run" kc wait --for=condition=Ready pod/talker pod/web --timeout=60s
like "kubectl logs" "$(kc logs talker --tail=2)" '^line [0-9]+
line [0-9]+$'
like "kubectl logs --timestamps" "$(kc logs talker --tail=1 --timestamps)" '^20[0-9-]+T[0-9:.]+Z line [0-9]+$'
fl=$(timeout 2 "$KBIN/kubectl" logs -f talker --tail=0)
[ "$(wc -l <<<"$fl")" -ge 5 ] && ok "kubectl logs -f" || notok "kubectl logs -f ($(wc -l <<<"$fl") lines)"
fails "kubectl logs -p without a restart" 'previous terminated container "talker" in pod "talker" not found' kc logs talker -p
is "kubectl exec" "$(kc exec talker -- sh -c 'echo hi from $(hostname)')" "hi from talker"
exits "kubectl exec: the exit code" 5 kc exec talker -- sh -c 'exit 5'
like "... and kubectl's words for it" "$OUT" 'command terminated with exit code 5'
is "kubectl exec -i" "$(printf 'a\nb\n' | kc exec -i talker -- wc -l)" 2
fails "kubectl exec of a missing command" 'error executing command in container: exec: "nosuch": executable file not found' kc exec talker -- nosuch
# exec -it through a pty, with its size
tty_out=$($PY - "$KBIN/kubectl" <<'EOF'
import os, pty, select, struct, sys, time, fcntl, termios
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "exec", "-it", "talker", "--", "sh"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
out = b""
def rd(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                return
rd(1.5)
os.write(fd, b"stty size; echo marker-$((6*7))\r")
rd(1.5)
os.write(fd, b"exit 4\r")
rd(2)
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", "") + "\nexit %d\n" % os.WEXITSTATUS(st))
EOF
)
like "kubectl exec -it: the terminal's size" "$tty_out" '33 111'
like "... commands typed" "$tty_out" 'marker-42'
like "... its exit code" "$tty_out" 'exit 4$'
like "kubectl attach" "$(timeout 2 "$KBIN/kubectl" attach talker 2>/dev/null)" 'line [0-9]+'
"$KBIN/kubectl" port-forward pod/web 0:8080 > "$T_DIR/pf.out" 2>&1 &
pfpid=$!
n=50
while [ $n -gt 0 ] && ! grep -q 'Forwarding from 127.0.0.1:' "$T_DIR/pf.out"; do sleep 0.1; n=$((n - 1)); done
lport=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$T_DIR/pf.out" | head -1)
is "kubectl port-forward" "$(curl -sS -m 5 "http://127.0.0.1:$lport/index.html")" "hello-kubectl"
is "... again, on a new connection" "$(curl -sS -m 5 "http://127.0.0.1:$lport/index.html")" "hello-kubectl"
kill $pfpid 2>/dev/null
wait $pfpid 2>/dev/null
like "kubectl get --raw nodes/NODE/proxy/pods" "$(kc get --raw "/api/v1/nodes/$node/proxy/pods")" '"kind":"PodList".*"name":"talker"'
t_done
