#!/usr/bin/env bash
# Published ports (run -p / -P): kernel DNAT from the host (loopback and
# its own addresses), random host ports, UDP, berth port / ps PORTS,
# validation before anything is created, no rule left after rm -f.
# Subnet derived from the pid within 10.202.0.0/16, host ports within 30000-39999.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
command -v iptables >/dev/null || skip_all "iptables missing"
command -v curl >/dev/null || skip_all "curl missing on the host"
[ "$(id -u)" = 0 ] || skip_all "needs root"
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

NP=tnp$$
k=$(( $$ % 250 ))
SP=10.202.$k.0/24 GP=10.202.$k.1
HP=$(( 30000 + ($$ % 3000) * 3 ))
UP=$((HP + 1)) BUSY=$((HP + 2))
trap 'ctr_cleanup; b network rm "$NP" >/dev/null 2>&1; t_cleanup' EXIT
check "network create" b network create --subnet "$SP" "$NP"

# (the host busybox wget may crash: curl)
get() { curl -fs --max-time 3 "$1" 2>/dev/null; }
WEB='mkdir -p /www && echo hello-$0 >/www/index.html && exec httpd -f -p 80 -h /www'

# ---- validation: errors before anything is created ----
n0=$(b ps -aq | wc -l)
fails "-p 99999:80" 'invalid hostPort: 99999' b run -d --network "$NP" -p 99999:80 busybox true
fails "-p abc" 'invalid containerPort: abc' b run -d --network "$NP" -p abc busybox true
fails "-p 80/sctp" 'invalid proto' b run -d --network "$NP" -p 80/sctp busybox true
fails "range length mismatch" 'same length' b run -d --network "$NP" -p 8000-8002:80-81 busybox true
fails "-p without a bridge network" 'port publishing needs a bridge network' b run -d --network none -p "$HP:80" busybox true
fails "-P without a bridge network" 'port publishing needs a bridge network' b create --network none -P --expose 80 busybox true
python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(); print("ready", flush=True); time.sleep(30)' "$BUSY" >"$T_DIR/py.out" &
pypid=$!
wait_until 5 grep -q ready "$T_DIR/py.out"
fails "host port in use" "Bind for 0.0.0.0:$BUSY failed: port is already allocated" \
	b run -d --network "$NP" -p "$BUSY:80" busybox true
kill "$pypid" 2>/dev/null; wait "$pypid" 2>/dev/null
is "nothing created by the failures" "$(b ps -aq | wc -l)" "$n0"
OUT=$(b run --rm --network host -p "$HP:80" busybox true 2>&1)
like "--network host: ports discarded with a warning" "$OUT" 'WARNING: Published ports are discarded'

# ---- TCP, fixed host port ----
id=$(run_d --network "$NP" --name web$$ -p "$HP:80" busybox sh -c "$WEB" a) || notok "run web"
cip=$(b inspect -f '{{.NetworkSettings.IPAddress}}' "$id" 2>/dev/null)
case $cip in 10.*) ;; *) cip=$(iptables -t nat -S BERTH-DNAT | grep -- "--dport $HP " | sed -E 's/.*--to-destination ([0-9.]+):.*/\1/') ;; esac
if wait_until 5 get "http://127.0.0.1:$HP/"; then ok "reachable on 127.0.0.1:$HP"; else notok "reachable on 127.0.0.1:$HP"; fi
is "content via loopback" "$(get "http://127.0.0.1:$HP/")" hello-a
is "content via the host's address $GP" "$(get "http://$GP:$HP/")" hello-a
hostip=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | grep -v '^10\.202\.' | head -1)
if [ -n "$hostip" ]; then
	is "content via the host's address $hostip" "$(get "http://$hostip:$HP/")" hello-a
fi
is "berth port" "$(b port "$id")" "80/tcp -> 0.0.0.0:$HP"
is "berth port 80" "$(b port "$id" 80)" "0.0.0.0:$HP"
fails "berth port 81" "No public port '81/tcp'" b port "$id" 81
is "ps PORTS" "$(b ps --filter "id=$id" --format '{{.Ports}}' 2>/dev/null || b ps --format '{{.Names}} {{.Ports}}' | grep "web$$")" "0.0.0.0:$HP->80/tcp"
like "DNAT rule" "$(iptables -t nat -S BERTH-DNAT)" "--dport $HP .*-j DNAT --to-destination $cip:80"
# a DNAT'd port has no listening socket: berth asks its rules (any store's)
n1=$(b ps -aq | wc -l)
fails "host port published by another berth container" "Bind for 0.0.0.0:$HP failed: port is already allocated" \
	b run -d --network "$NP" -p "$HP:81" busybox true
is "... and nothing was created" "$(b ps -aq | wc -l)" "$n1"

# ---- random host port: -p 80 and -P ----
id2=$(run_d --network "$NP" -p 80 busybox sh -c "$WEB" b) || notok "run -p 80"
rp=$(b port "$id2" 80 | sed 's/.*://')
like "-p 80: random host port" "$rp" '^[0-9]+$'
if wait_until 5 get "http://127.0.0.1:$rp/"; then ok "random port reachable"; else notok "random port reachable ($rp)"; fi
is "random port content" "$(get "http://127.0.0.1:$rp/")" hello-b
id3=$(run_d --network "$NP" -P --expose 80 busybox sh -c "$WEB" c) || notok "run -P"
like "-P publishes the exposed port" "$(b port "$id3")" '^80/tcp -> 0\.0\.0\.0:[0-9]+$'

# ---- UDP ----
# (the fixture's busybox nc has no -u: the rule is checked, not a datagram)
id4=$(run_d --network "$NP" -p "$UP:5000/udp" busybox sleep 60) || notok "run udp"
like "UDP DNAT rule" "$(iptables -t nat -S BERTH-DNAT)" "-p udp -m udp --dport $UP .*-j DNAT --to-destination 10\.202\.$k\.[0-9]+:5000"
is "berth port udp" "$(b port "$id4" 5000/udp)" "0.0.0.0:$UP"

# ---- rm -f: no rule left ----
check "rm -f" b rm -f "$id" "$id2" "$id3" "$id4"
is "no DNAT rule left" "$(iptables -t nat -S | grep -c -- "--to-destination 10\.202\.$k\.")" 0
is "no FORWARD rule left" "$(iptables -S BERTH-FORWARD | grep -c -- "-d 10\.202\.$k\.")" 0
pid_net=$(b network inspect -f '{{.Id}}' "$NP" 2>/dev/null)
check "network rm" b network rm "$NP"
is "no loopback MASQUERADE left" "$(iptables -t nat -S | grep -c "127.0.0.0/8.*br-${pid_net:0:12}")" 0
t_done
