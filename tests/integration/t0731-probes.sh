#!/usr/bin/env bash
# Kubernetes probes, lifecycle hooks and back-off in the container monitor
# (src/runtime/probe.c), driven through the pod runtime's hidden `berth
# debug pod`: a liveness httpGet that starts to 404 restarts the container,
# a readiness exec probe flips Ready both ways, tcpSocket, a startup probe
# gates liveness (and kills when it fails), postStart runs before Started
# (and kills when it fails), restartPolicy Never keeps a killed container
# exited, the kubelet's back-off (at once, then 10 s), the HTTP client
# against a recording server (headers, redirects, status codes, timeouts,
# HTTPS), preStop through pod removal, State.Kube in inspect, and bad
# probes refused when the pod is made.
. "$(dirname "$0")/../lib.sh"
need_fixtures
command -v python3 >/dev/null || skip_all "python3 is needed for the recording HTTP server"

NET=kq$$
SRV_PID=
pods_cleanup() {
	local l ns name
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	[ -d "$ROOT/pods" ] || return 0
	for l in $(b debug pod ls | python3 -c 'import json,sys; [print(p["namespace"] + "/" + p["name"]) for p in json.load(sys.stdin)]'); do
		ns=${l%%/*} name=${l#*/}
		b debug pod rm "$ns" "$name" --grace 0 2>&1 | sed 's/^/# cleanup: /'
	done
}
trap 'pods_cleanup; [ -f "$ROOT/networks/$NET.json" ] && b network rm "$NET" 2>&1 | grep -v "^$NET$" | sed "s/^/# cleanup: /"; t_cleanup' EXIT

b import -c 'CMD ["sh"]' "$(busybox_tar)" bb >/dev/null || { notok "import busybox"; t_done; }
check "a network for the pods" b network create "$NET"

# mkpod NAME RESTARTPOLICY CONTAINERS-JSON: create the pod and start it
mkpod() {
	cat >"$T_DIR/$1.json" <<EOF
{"spec": {"namespace": "default", "name": "$1", "uid": "uid-$1", "network": "$NET",
  "restartPolicy": "$2", "terminationGracePeriodSeconds": 1, "containers": $3}, "meta": {}}
EOF
	b debug pod create "$T_DIR/$1.json" && b debug pod sync default "$1"
}
cid() { b debug pod id default "$@"; }
# kube ID EXPR: EXPR over the container's inspect (i: the object, k: State.Kube)
kube() {
	b inspect "$1" | python3 -c '
import json, sys
i = json.load(sys.stdin)[0]
k = i["State"].get("Kube") or {}
print(eval(sys.argv[1]))' "$2"
}
# until_kube SECONDS ID EXPR WANT
until_kube() {
	local n=$(($1 * 10)) got
	while [ "$n" -gt 0 ]; do
		got=$(kube "$2" "$3" 2>&1)
		[ "$got" = "$4" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "# $3: $got (want $4)"
	return 1
}
pstat() {
	b debug pod status default "$1" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}

# ---- liveness httpGet, readiness exec, postStart exec ----
SRV_CMD='mkdir -p /www && echo ok >/www/healthz && exec httpd -f -p 80 -h /www'
check "a pod with liveness, readiness and postStart" mkpod web Always '[
  {"name": "srv", "image": "bb", "command": ["sh", "-c", "'"$SRV_CMD"'"],
   "livenessProbe": {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 1, "failureThreshold": 2},
   "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1},
   "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "echo hook-ran >/tmp/poststart"]}}}}]'
W=$(cid web srv)
check "postStart ran and the container counts as started" until_kube 5 "$W" 'k["Started"], k["PostStart"]["Result"]' "(True, 'success')"
is "the hook wrote its file in the container" "$(b exec "$W" cat /tmp/poststart 2>&1)" hook-ran
check "not Ready without /tmp/ready" until_kube 5 "$W" 'k["Ready"], k["Readiness"]["Result"]' "(False, 'failure')"
like "inspect shows State.Kube" "$(b inspect -f '{{json .State.Kube}}' "$W")" '"Readiness":\{"Result":"failure","Output":"","Time":"[0-9T:.-]+Z","ConsecutiveFailures":[0-9]+\}'
is "the pod's container is not ready" "$(pstat web 's["containerStatuses"][0]["ready"]')" False
b exec "$W" touch /tmp/ready
check "Ready once the file is there" until_kube 5 "$W" 'k["Ready"]' True
is "... and so is the pod's container" "$(pstat web 's["containerStatuses"][0]["ready"], s["containerStatuses"][0]["started"]')" "(True, True)"
# a probe that keeps failing past its threshold rewrites nothing
b exec "$W" rm /tmp/ready
check "not Ready again once it is gone" until_kube 5 "$W" 'k["Ready"], k["Readiness"]["ConsecutiveFailures"]' "(False, 3)"
st1=$(stat -c %y "$ROOT/containers/$W/state.json")
sleep 2.2
is "failures past failureThreshold leave state.json alone" "$(stat -c %y "$ROOT/containers/$W/state.json")" "$st1"
is "the liveness probe succeeds meanwhile" "$(kube "$W" 'k["Liveness"]["Result"], i["RestartCount"]')" "('success', 0)"
b exec "$W" touch /tmp/ready
check "Ready again" until_kube 5 "$W" 'k["Ready"]' True
# liveness: /healthz starts to 404
b exec "$W" rm /www/healthz
check "a liveness failure restarts the container" until_kube 10 "$W" 'i["RestartCount"] >= 1 and i["State"]["Status"] == "running"' True
like "... saying why" "$(kube "$W" 'k["LastKill"]["Reason"] + ": " + k["LastKill"]["Message"]')" '^LivenessProbe: Liveness probe failed: HTTP probe failed with statuscode: 404$'
is "the pod counts the restart" "$(pstat web 's["containerStatuses"][0]["restartCount"] >= 1')" True
check "postStart ran again after the restart" until_kube 5 "$W" 'k["Started"], k["PostStart"]["Result"]' "(True, 'success')"
# (the restarted container keeps its files, /tmp/ready among them, as a
# restarted Docker container does; the new httpd serves /healthz again)
check "the restarted container is Ready again" until_kube 5 "$W" 'k["Ready"], k["Liveness"]["Result"]' "(True, 'success')"

# ---- tcpSocket: not Ready until something listens ----
check "a pod with tcpSocket probes" mkpod tcp Always '[
  {"name": "late", "image": "bb", "command": ["sh", "-c", "sleep 2; exec httpd -f -p 8080"],
   "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
   "livenessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 5, "periodSeconds": 1, "failureThreshold": 5}},
  {"name": "closed", "image": "bb", "command": ["sleep", "1000"],
   "readinessProbe": {"tcpSocket": {"port": 9}, "periodSeconds": 1},
   "livenessProbe": {"exec": {"command": ["sleep", "5"]}, "periodSeconds": 1, "timeoutSeconds": 1, "failureThreshold": 100}}]'
T=$(cid tcp late)
check "not Ready before the port listens" until_kube 3 "$T" 'k["Ready"], k["Readiness"]["Result"]' "(False, 'failure')"
is "liveness waits its initialDelaySeconds" "$(kube "$T" '"Liveness" in k')" False
check "Ready once it listens" until_kube 6 "$T" 'k["Ready"]' True
check "an exec probe past its timeoutSeconds fails" until_kube 5 "$(cid tcp closed)" 'k["Liveness"]["Result"], k["Liveness"]["Output"]' "('failure', 'command \"sleep 5\" timed out')"
sleep 2
is "... and its commands are killed (at most the current one runs)" "$(b top "$(cid tcp closed)" 2>&1 | grep -c 'sleep 5' | awk '{print ($1 <= 1)}')" 1
like "a closed port: connection refused" "$(kube "$(cid tcp closed)" 'k["Readiness"]["Output"]')" '^dial tcp 10\.[0-9.]+:9: connect: connection refused$'
check "then runs and succeeds" until_kube 8 "$T" 'k["Liveness"]["Result"], i["RestartCount"]' "('success', 0)"

# ---- a startup probe gates liveness ----
check "a pod with a startup probe and a liveness probe that always fails" mkpod slow Always '[
  {"name": "app", "image": "bb", "command": ["sleep", "1000"],
   "startupProbe": {"exec": {"command": ["test", "-f", "/tmp/up"]}, "periodSeconds": 1, "failureThreshold": 60},
   "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}}]'
S=$(cid slow app)
check "not started while the startup probe fails" until_kube 5 "$S" 'k["Started"], k["Startup"]["Result"], k["Startup"]["ConsecutiveFailures"] >= 2' "(False, 'failure', True)"
is "liveness has not run" "$(kube "$S" '"Liveness" in k, i["RestartCount"], k["Ready"]')" "(False, 0, False)"
b exec "$S" touch /tmp/up
check "started once the startup probe succeeds; then liveness kills it" until_kube 10 "$S" 'i["RestartCount"] >= 1, k.get("LastKill", {}).get("Reason")' "(True, 'LivenessProbe')"

check "a startup probe that fails" mkpod nostart Never '[
  {"name": "app", "image": "bb", "command": ["sleep", "1000"],
   "startupProbe": {"exec": {"command": ["sh", "-c", "echo not yet; exit 1"]}, "periodSeconds": 1, "failureThreshold": 2}}]'
N=$(cid nostart app)
check "kills the container; Never leaves it exited" until_kube 10 "$N" 'i["State"]["Status"], i["RestartCount"], k["LastKill"]["Reason"]' "('exited', 0, 'StartupProbe')"
like "... with the probe's output" "$(kube "$N" 'k["LastKill"]["Message"]')" '^Startup probe failed: not yet'
is "not started, not ready" "$(kube "$N" 'k["Started"], k["Ready"]')" "(False, False)"

# ---- restartPolicy Never: a liveness kill stays exited ----
check "a pod with restartPolicy Never and a failing liveness probe" mkpod never Never '[
  {"name": "app", "image": "bb", "command": ["sleep", "1000"],
   "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 2}}]'
V=$(cid never app)
check "killed and left exited" until_kube 10 "$V" 'i["State"]["Status"], i["RestartCount"], k["LastKill"]["Reason"]' "('exited', 0, 'LivenessProbe')"
is "the stop signal, then SIGKILL after the grace period (sleep ignores TERM as pid 1)" "$(kube "$V" 'i["State"]["ExitCode"]')" 137

# ---- postStart that fails ----
check "a pod whose postStart fails" mkpod badhook Never '[
  {"name": "app", "image": "bb", "command": ["sleep", "1000"],
   "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "echo hook broke; exit 3"]}}}}]'
H=$(cid badhook app)
check "the container is killed (FailedPostStartHook)" until_kube 10 "$H" 'i["State"]["Status"], k["LastKill"]["Reason"]' "('exited', 'FailedPostStartHook')"
like "... with the hook's exit status and output" "$(kube "$H" 'k["PostStart"]["Output"]')" "command 'sh -c echo hook broke; exit 3' exited with 3: hook broke"
is "it never counted as started" "$(kube "$H" 'k["Started"]')" False

# ---- the kubelet's back-off: at once, then 10 s ----
# (each start of the container appends the time to a file on the host)
mkdir -p "$T_DIR/out" && chmod 777 "$T_DIR/out"
check "a pod whose container crashes" mkpod crash Always '[{"name": "app", "image": "bb",
  "command": ["sh", "-c", "read u _ </proc/uptime; echo $u >>/out/starts; exit 3"], "mounts": [{"source": "'"$T_DIR/out"'", "target": "/out"}]}]'
C=$(cid crash app)
starts() { wc -l <"$T_DIR/out/starts" 2>/dev/null || echo 0; }
until_starts() { local n=$(($1 * 10)); while [ "$n" -gt 0 ] && [ "$(starts)" -lt "$2" ]; do sleep 0.1; n=$((n - 1)); done; [ "$(starts)" -ge "$2" ]; }
check "the first restart comes at once" until_starts 3 2
check "the next one waits: restarting with a 10 s back-off" until_kube 3 "$C" 'i["State"]["Status"], k.get("BackOff", {}).get("Seconds"), k.get("BackOff", {}).get("Reason")' "('restarting', 10, 'CrashLoopBackOff')"
like "... until a time" "$(kube "$C" 'k["BackOff"]["Until"]')" '^20[0-9-]+T[0-9:.]+Z$'
is "not Started, not Ready meanwhile" "$(kube "$C" 'k["Started"], k["Ready"]')" "(False, False)"
check "the third start after the back-off" until_starts 14 3
gaps=$(awk 'NR > 1 {printf "%d ", ($1 - p) * 1000} {p = $1}' "$T_DIR/out/starts")
echo "# gaps between the starts: $gaps ms"
read -r g1 g2 _ <<<"$gaps"
if [ "$g1" -lt 2000 ]; then ok "start 1 -> 2: at once ($g1 ms)"; else notok "start 1 -> 2 took $g1 ms"; fi
if [ "$g2" -ge 9800 ] && [ "$g2" -lt 12000 ]; then ok "start 2 -> 3: the 10 s back-off ($g2 ms)"; else notok "start 2 -> 3 took $g2 ms"; fi
check "then 20 s" until_kube 3 "$C" 'k.get("BackOff", {}).get("Seconds")' 20
b debug pod rm default crash --grace 0
exits "Docker's back-off stays for other containers" 0 b run -d --name docker-crash --restart always bb sh -c 'exit 1'
sleep 1.5
is "... restarting within 100-800 ms" "$(b inspect -f '{{.RestartCount}}' docker-crash | awk '{print ($1 >= 3)}')" 1
unlike "... and no Kube state" "$(b inspect -f '{{json .State}}' docker-crash)" '"Kube"'
b rm -f docker-crash >/dev/null

# ---- the HTTP client against a recording server on the host ----
# (the monitor runs in the host's network namespace: host 127.0.0.1 is this one)
PORT=$((20000 + $$ % 10000))
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=probe -days 1 -keyout "$T_DIR/key.pem" -out "$T_DIR/cert.pem" 2>"$T_DIR/openssl.err" ||
	notok "a certificate for the HTTPS server: $(cat "$T_DIR/openssl.err")"
cat >"$T_DIR/srv.py" <<'EOF'
import http.server, socketserver, ssl, sys, threading, time
log = open(sys.argv[3], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        log.write("%s %s UA=%s HOST=%s ACCEPT=%s X=%s\n" % (self.server.name, self.path, self.headers.get("User-Agent"),
                  self.headers.get("Host"), self.headers.get("Accept"), self.headers.get("X-Probe")))
        code, loc = 200, None
        if self.path == "/404": code = 404
        elif self.path == "/500": code = 500
        elif self.path == "/redirect": code, loc = 302, "/ok?from=redirect"
        elif self.path == "/away": code, loc = 302, "http://elsewhere.invalid/"
        elif self.path == "/loop": code, loc = 302, "/loop"
        elif self.path == "/slow": time.sleep(3)
        body = b"hello\n"
        self.send_response(code)
        if loc: self.send_header("Location", loc)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
plain = S(("127.0.0.1", int(sys.argv[1])), H); plain.name = "http"
tls = S(("127.0.0.1", int(sys.argv[2])), H); tls.name = "https"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[4], sys.argv[5])
tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
threading.Thread(target=tls.serve_forever, daemon=True).start()
print("ready", flush=True)
plain.serve_forever()
EOF
python3 "$T_DIR/srv.py" "$PORT" $((PORT + 1)) "$T_DIR/requests.log" "$T_DIR/cert.pem" "$T_DIR/key.pem" >"$T_DIR/srv.out" 2>&1 &
SRV_PID=$!
for _ in $(seq 50); do grep -q ready "$T_DIR/srv.out" 2>/dev/null && break; sleep 0.1; done
is "the recording server runs" "$(cat "$T_DIR/srv.out")" ready
hg() { # PATH [SCHEME] [EXTRA-JSON]: an httpGet probe on the recording server
	local port=$PORT
	[ "${2:-HTTP}" = HTTPS ] && port=$((PORT + 1))
	echo '{"httpGet": {"host": "127.0.0.1", "port": '"$port"', "path": "'"$1"'", "scheme": "'"${2:-HTTP}"'"'"${3:-}"'}, "periodSeconds": 1, "timeoutSeconds": 1, "failureThreshold": 100}'
}
check "a pod probing the recording server" mkpod http Always '[
  {"name": "a", "image": "bb", "command": ["sleep", "1000"],
   "readinessProbe": '"$(hg /redirect HTTP ', "httpHeaders": [{"name": "X-Probe", "value": "yes"}, {"name": "Host", "value": "probe.example"}]')"',
   "livenessProbe": '"$(hg /away)"',
   "startupProbe": '"$(hg /ok HTTPS)"'},
  {"name": "b", "image": "bb", "command": ["sleep", "1000"],
   "readinessProbe": '"$(hg /404)"',
   "livenessProbe": '"$(hg /slow)"'},
  {"name": "c", "image": "bb", "command": ["sleep", "1000"],
   "readinessProbe": '"$(hg /loop)"',
   "livenessProbe": '"$(hg /500 HTTPS ', "httpHeaders": [{"name": "Accept", "value": ""}]')"'}]'
A=$(cid http a) B=$(cid http b) Cc=$(cid http c)
check "HTTPS (no verification) passes the startup probe; a same-host redirect to 200 is Ready" until_kube 6 "$A" 'k["Started"], k["Ready"]' "(True, True)"
check "a redirect to another host: success, not followed" until_kube 5 "$A" 'k["Liveness"]["Result"], k["Liveness"]["Output"]' "('success', 'Probe terminated redirects, Response body: ')"
check "a 404 fails" until_kube 5 "$B" 'k["Readiness"]["Output"]' "HTTP probe failed with statuscode: 404"
check "a response later than timeoutSeconds fails" until_kube 6 "$B" 'k["Liveness"]["Result"], k["Liveness"]["Output"]' "('failure', 'Get \"http://127.0.0.1:$PORT/slow\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)')"
check "redirects stop after 10" until_kube 5 "$Cc" 'k["Readiness"]["Output"]' "Get \"http://127.0.0.1:$PORT/loop\": stopped after 10 redirects"
check "a 500 over HTTPS fails" until_kube 5 "$Cc" 'k["Liveness"]["Output"]' "HTTP probe failed with statuscode: 500"
log=$(cat "$T_DIR/requests.log")
like "the kubelet's User-Agent and Accept" "$log" '^http /404 UA=kube-probe/1\.36 HOST=127\.0\.0\.1:[0-9]+ ACCEPT=\*/\* X=None$'
like "httpHeaders are sent; a Host header replaces the host" "$log" '^http /redirect UA=kube-probe/1\.36 HOST=probe\.example ACCEPT=\*/\* X=yes$'
like "the redirect is followed with the same headers" "$log" '^http /ok\?from=redirect UA=kube-probe/1\.36 HOST=probe\.example ACCEPT=\*/\* X=yes$'
like "HTTPS requests" "$log" '^https /ok UA=kube-probe/1\.36 HOST=127\.0\.0\.1:[0-9]+ ACCEPT=\*/\* X=None$'
like "an empty Accept header leaves it out" "$log" '^https /500 UA=kube-probe/1\.36 HOST=127\.0\.0\.1:[0-9]+ ACCEPT=None X=None$'
unlike "another host's redirect is not followed" "$log" 'elsewhere'
is "failing liveness under failureThreshold kills nothing" "$(kube "$B" 'i["RestartCount"]')" 0

# ---- preStop through pod removal (probe_handler_run) ----
cat >"$T_DIR/bye.json" <<EOF
{"spec": {"namespace": "default", "name": "bye", "uid": "uid-bye", "network": "$NET", "terminationGracePeriodSeconds": 5,
  "containers": [
    {"name": "x", "image": "bb", "command": ["sleep", "1000"], "mounts": [{"source": "$T_DIR/out", "target": "/out"}],
     "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "echo bye >/out/prestop"]}}}},
    {"name": "y", "image": "bb", "command": ["sleep", "1000"],
     "lifecycle": {"preStop": {"httpGet": {"host": "127.0.0.1", "port": $PORT, "path": "/500"}}}}]}, "meta": {}}
EOF
check "a pod with preStop hooks" b debug pod create "$T_DIR/bye.json"
check "... started" b debug pod sync default bye
check "... running" until_kube 5 "$(cid bye y)" 'i["State"]["Status"]' running
check "removing the pod" b debug pod rm default bye
is "the exec preStop ran in the container" "$(cat "$T_DIR/out/prestop" 2>&1)" bye
like "the httpGet preStop was sent (any status will do for a hook)" "$(cat "$T_DIR/requests.log")" '^http /500 UA=kube-lifecycle/1\.36 '

# ---- bad probes are refused when the pod is made ----
bad() { # NAME PATTERN CONTAINER-JSON
	cat >"$T_DIR/bad-$1.json" <<EOF
{"spec": {"namespace": "default", "name": "bad-$1", "network": "$NET", "containers": [$3]}, "meta": {}}
EOF
	fails "refused: $1" "$2" b debug pod create "$T_DIR/bad-$1.json"
	is "... and nothing made" "$(b debug pod ls default | grep -c "bad-$1")" 0
}
bad port0 'livenessProbe.httpGet.port: 0 is not a valid port' '{"name": "x", "image": "bb", "livenessProbe": {"httpGet": {"port": 0}}}'
bad named 'readinessProbe.tcpSocket.port: "http" is not a number' '{"name": "x", "image": "bb", "readinessProbe": {"tcpSocket": {"port": "http"}}}'
bad two 'startupProbe: may not specify more than 1 handler type' '{"name": "x", "image": "bb", "startupProbe": {"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}}'
bad none 'livenessProbe: must specify a handler type' '{"name": "x", "image": "bb", "livenessProbe": {"periodSeconds": 3}}'
bad emptycmd 'livenessProbe.exec.command: must be a non-empty list' '{"name": "x", "image": "bb", "livenessProbe": {"exec": {"command": []}}}'
bad period 'readinessProbe.periodSeconds: must be an integer of at least 1' '{"name": "x", "image": "bb", "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 0}}'
bad grpc 'gRPC probes are not supported' '{"name": "x", "image": "bb", "livenessProbe": {"grpc": {"port": 9000}}}'
bad scheme 'httpGet.scheme: "FTP" is not HTTP or HTTPS' '{"name": "x", "image": "bb", "livenessProbe": {"httpGet": {"port": 80, "scheme": "FTP"}}}'
bad header 'httpHeaders\[0\].value: may not contain a line break' '{"name": "x", "image": "bb", "livenessProbe": {"httpGet": {"port": 80, "httpHeaders": [{"name": "X", "value": "a\r\nB: c"}]}}}'
bad hook 'lifecycle.postStart.sleep.seconds: must be a non-negative integer' '{"name": "x", "image": "bb", "lifecycle": {"postStart": {"sleep": {"seconds": -1}}}}'

# ---- nothing is left running ----
kill "$SRV_PID" && wait "$SRV_PID"
SRV_PID=
pods_cleanup
is "every pod removed" "$(b ps -aq | wc -l)" 0
check "the network has no endpoints left" b network rm "$NET"
is "no monitor, probe or hook process is left" "$(pgrep -f "$ROOT" | wc -l)" 0

t_done
