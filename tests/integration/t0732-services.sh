#!/usr/bin/env bash
# Kubernetes Services on a berth network (src/net/svc.h), driven through the
# hidden `berth debug svc-sync/svc-check/svc-rm`: busybox httpd containers
# as endpoints, balancing, the ClusterIP from the host, readiness, refusal
# without endpoints, ClientIP affinity, hairpin, LoadBalancer and NodePort
# host ports (127.0.0.1 and the host's address), host-port conflicts, DNS
# (four forms, headless, StatefulSet hostnames, NXDOMAIN under
# cluster.local), the cheap unchanged sync, the sweep, and cleanup.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v iptables-save >/dev/null || skip_all "iptables missing"
command -v curl >/dev/null || skip_all "curl missing"
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

k=$(( $$ % 250 ))
SN=10.203.$k.0/24 GW=10.203.$k.1
N=tsvc$$
LBP=$(( 20000 + ($$ % 4000) * 2 )) LBP2=$((LBP + 1))
PYPORT=$(( 24000 + $$ % 4000 ))
pypid=
trap '[ -n "$pypid" ] && kill "$pypid" 2>/dev/null; ctr_cleanup; b debug svc-rm "$N" >/dev/null 2>&1; b network rm "$N" >/dev/null 2>&1; t_cleanup' EXIT

check "network create" b network create --subnet "$SN" "$N"
NID=$(b network inspect -f '{{.Id}}' "$N")
BR=br-${NID:0:12}
RD=$RUNROOT/networks/$NID
svc_rules() { iptables-save | grep -c -- "--comment \"berth:$BR:svc\""; }

# ---- bad input: errors name what is wrong, nothing changes ----
echo '[{"name":"web",' >"$T_DIR/broken.json"
fails "broken JSON names the file" "broken.json" b debug svc-sync "$N" "$T_DIR/broken.json"
fails "not an array" 'services: not a JSON array' sh -c "echo '{}' | $BERTH --root $ROOT --runroot $RUNROOT debug svc-sync $N -"
fails "bad Service name" 'name "Web_1": a Service name must be a DNS-1035 label' \
	sh -c "echo '[{\"name\":\"Web_1\",\"ports\":[{\"port\":80}]}]' | $BERTH --root $ROOT --runroot $RUNROOT debug svc-sync $N -"
fails "endpoint off the network" "endpoints\[0\].ip 10.9.9.9 is not on the network \(subnet $SN\)" \
	sh -c "echo '[{\"name\":\"web\",\"ports\":[{\"port\":80}],\"endpoints\":[{\"ip\":\"10.9.9.9\"}]}]' | $BERTH --root $ROOT --runroot $RUNROOT debug svc-sync $N -"
fails "unknown network" "network nosuch$$ not found" sh -c "echo '[]' | $BERTH --root $ROOT --runroot $RUNROOT debug svc-sync nosuch$$ -"
fails "the default network has no Services" 'Services need a user-defined network' \
	sh -c "echo '[]' | $BERTH --root $ROOT --runroot $RUNROOT debug svc-sync bridge -"
fails "svc-rm of an unknown network" "network nosuch$$ not found" b debug svc-rm nosuch$$
is "bad input added no rule" "$(svc_rules)" 0
[ -e "$RD/svc.json" ] && notok "bad input wrote svc.json" || ok "bad input wrote no svc.json"

# ---- endpoints ----
WEB='mkdir -p /www && echo $0 >/www/index.html && exec httpd -f -p 8080 -h /www'
for i in 1 2 3; do
	run_d --name ep$i-$$ --network "$N" busybox sh -c "$WEB" ep$i >/dev/null || notok "run ep$i"
done
run_d --name cl-$$ --network "$N" busybox sleep 600 >/dev/null || notok "run client"
for i in 1 2 3; do
	eval "IP$i=\$(b exec ep$i-$$ sh -c \"ip -o -4 addr show eth0 | awk '{print \\\$4}' | cut -d/ -f1\")"
done
like "endpoints have addresses" "$IP1 $IP2 $IP3" "^10\.203\.$k\.[0-9]+ 10\.203\.$k\.[0-9]+ 10\.203\.$k\.[0-9]+$"
in_cl() { b exec cl-$$ "$@"; }
# busybox wget -T crashes in these static builds: timeout(1) instead
fetch_n() { # COUNT URL [CTR]: the bodies, one a line ("FAIL" for a failed fetch)
	b exec "${3:-cl-$$}" sh -c "i=0; while [ \$i -lt $1 ]; do timeout 3 wget -q -O - $2 || echo FAIL; i=\$((i+1)); done"
}
distinct() { sort -u | tr '\n' ' ' | sed 's/ $//'; }

mk() { # READY1 READY2 READY3 AFFINITY: the web Service (LoadBalancer) + a headless one + a NodePort one
	cat <<EOF
[{"name":"web","namespace":"shop","type":"LoadBalancer","sessionAffinity":"$4",
  "ports":[{"name":"http","port":$LBP}],
  "endpoints":[{"ip":"$IP1","ready":$1,"ports":[8080]},{"ip":"$IP2","ready":$2,"ports":[8080]},
               {"ip":"$IP3","ready":$3,"ports":[8080]}]},
 {"name":"db","namespace":"shop","clusterIP":"None","ports":[{"port":5432}],
  "endpoints":[{"ip":"$IP1","hostname":"db-0"},{"ip":"$IP2","hostname":"db-1"},{"ip":"$IP3","hostname":"db-2","ready":false}]},
 {"name":"np","namespace":"shop","type":"NodePort","ports":[{"port":81,"nodePort":0}],
  "endpoints":[{"ip":"$IP2","ports":[8080]}]}]
EOF
}
mk true true true None >"$T_DIR/all.json"
t0=$(now_ms)
check "svc-sync" b debug svc-sync "$N" "$T_DIR/all.json"
t1=$(now_ms)
echo "# first sync (range, rules, records, DNS server): $((t1 - t0)) ms"
OUTJ=$OUT
CIP=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d[0]["clusterIP"])' "$OUTJ")
NP=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d[2]["ports"][0]["nodePort"])' "$OUTJ")
NPWEB=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d[0]["ports"][0]["nodePort"])' "$OUTJ")
HL=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d[1]["clusterIP"])' "$OUTJ")
like "a ClusterIP from berth's user pool" "$CIP" '^10\.8[4-7]\.[0-9]+\.[0-9]+$'
is "headless stays None" "$HL" None
like "a nodePort in 30000-32767" "$NP" '^3[0-2][0-9]{3}$'
[ "$NPWEB" -ge 30000 ] 2>/dev/null && [ "$NPWEB" -le 32767 ] && ok "a LoadBalancer gets a nodePort too" || notok "LoadBalancer nodePort ($NPWEB)"
RANGE=$(b network inspect -f '{{.ServiceRange}}' "$N")
like "the range is recorded in the network" "$RANGE" '^10\.8[4-7]\.[0-9]+\.0/24$'
like "the range is routed out of lo with the gateway as source" "$(ip route show dev lo)" "^${RANGE%/*}/24 .*src $GW"
like "the route is what other choosers see" "$(cat /proc/net/route)" "lo"
check "svc-sync again keeps the addresses" b debug svc-sync "$N" "$T_DIR/all.json"
is "  same ClusterIP" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0]["clusterIP"])' "$OUT")" "$CIP"
is "  same nodePort" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[2]["ports"][0]["nodePort"])' "$OUT")" "$NP"

# ---- balancing, from a container and from the host ----
is "30 fetches from a container reach all three endpoints" "$(fetch_n 30 "http://$CIP:$LBP/" | distinct)" "ep1 ep2 ep3"
seen=$(for i in $(seq 1 24); do curl -fsS --max-time 3 "http://$CIP:$LBP/" 2>&1; done | distinct)
is "the ClusterIP from the host balances too" "$seen" "ep1 ep2 ep3"
is "LoadBalancer port on 127.0.0.1" "$(for i in $(seq 1 24); do curl -fsS --max-time 3 "http://127.0.0.1:$LBP/" 2>&1; done | distinct)" "ep1 ep2 ep3"
HOSTIP=$(ip -o -4 addr show scope global | awk '$2 !~ /^(br-|berth|docker|veth|cni|podman)/ {print $4}' | cut -d/ -f1 | head -1)
if [ -n "$HOSTIP" ]; then
	is "LoadBalancer port on the host's address $HOSTIP" "$(curl -fsS --max-time 3 "http://$HOSTIP:$LBP/" 2>&1 | grep -c '^ep[123]$')" 1
	is "NodePort on the host's address" "$(curl -fsS --max-time 3 "http://$HOSTIP:$NP/" 2>&1)" ep2
else
	skip "the host has no global IPv4 address"
fi
is "NodePort on 127.0.0.1" "$(curl -fsS --max-time 3 "http://127.0.0.1:$NP/" 2>&1)" ep2
is "the LoadBalancer's nodePort answers too" "$(curl -fsS --max-time 3 "http://127.0.0.1:$NPWEB/" 2>&1 | grep -c '^ep[123]$')" 1
is "a container reaches a NodePort on the host's gateway address" "$(fetch_n 1 "http://$GW:$NP/")" ep2

# ---- hairpin: an endpoint reaching its own Service ----
out=$(fetch_n 24 "http://$CIP:$LBP/" ep1-$$)
unlike "hairpin: no failed fetch" "$out" FAIL
like "hairpin: ep1 reaches itself through the ClusterIP" "$out" '^ep1$'

# ---- DNS ----
for name in web web.shop web.shop.svc web.shop.svc.cluster.local; do
	check "nslookup $name" in_cl nslookup "$name" "$GW"
	like "  $name -> the ClusterIP" "$OUT" "Address: $CIP"
done
is "fetch by name through the search path" "$(fetch_n 1 "http://web.shop.svc.cluster.local:$LBP/" | grep -c '^ep[123]$')" 1
check "headless: nslookup db.shop" in_cl nslookup db.shop "$GW"
like "  ready endpoint 1" "$OUT" "Address: $IP1"
like "  ready endpoint 2" "$OUT" "Address: $IP2"
unlike "  not the unready one" "$OUT" "Address: $IP3$"
check "StatefulSet hostname db-1.db.shop.svc.cluster.local" in_cl nslookup db-1.db.shop.svc.cluster.local "$GW"
like "  -> its pod" "$OUT" "Address: $IP2"
fails "an unknown name under cluster.local: NXDOMAIN" "NXDOMAIN" in_cl nslookup nosuch.shop.svc.cluster.local "$GW"
fails "a stopped hostname: NXDOMAIN" "NXDOMAIN" in_cl nslookup db-2.db.shop.svc.cluster.local "$GW"
check "the containers' own names still resolve" in_cl nslookup ep1-$$ "$GW"
like "  ep1's address" "$OUT" "Address: $IP1"
check "PTR of the ClusterIP" in_cl nslookup "$CIP" "$GW"
like "  names the Service" "$OUT" "web.shop.svc.cluster.local"

# ---- the unchanged sync runs no iptables ----
mkdir -p "$T_DIR/bin"
for t in iptables-save iptables-restore; do
	printf '#!/bin/sh\necho "$0" >>%s\nexec /usr/sbin/%s "$@"\n' "$T_DIR/ipt.log" "$t" >"$T_DIR/bin/$t"
	chmod +x "$T_DIR/bin/$t"
done
: >"$T_DIR/ipt.log"
t0=$(now_ms)
for i in 1 2 3 4 5 6 7 8 9 10; do PATH=$T_DIR/bin:$PATH b debug svc-sync "$N" "$T_DIR/all.json" >/dev/null || notok "unchanged sync $i"; done
t1=$(now_ms)
echo "# unchanged sync, through the CLI: $(( (t1 - t0) / 10 )) ms each"
is "10 unchanged syncs ran no iptables process" "$(wc -l <"$T_DIR/ipt.log")" 0
mk true true false None >"$T_DIR/notready.json"
PATH=$T_DIR/bin:$PATH b debug svc-sync "$N" "$T_DIR/notready.json" >/dev/null || notok "sync (ep3 not ready)"
is "a changed sync: one iptables-save, one iptables-restore" "$(sort "$T_DIR/ipt.log" | uniq -c | awk '{print $1}' | tr '\n' ' ')" "1 1 "

# ---- readiness ----
is "ep3 not ready: no traffic to it" "$(fetch_n 30 "http://$CIP:$LBP/" | distinct)" "ep1 ep2"
mk false false false None >"$T_DIR/none.json"
check "sync: no endpoint ready" b debug svc-sync "$N" "$T_DIR/none.json"
check "no endpoint: connection refused at once (well before a SYN retransmission)" \
	in_cl sh -c "timeout 1 nc $CIP $LBP </dev/null 2>&1; true"
like "  refused" "$OUT" "Connection refused"
code=$(curl -s -o /dev/null --max-time 3 -w '%{exitcode}' "http://$CIP:$LBP/")
is "no endpoint: refused from the host (curl exit 7)" "$code" 7
code=$(curl -s -o /dev/null --max-time 3 -w '%{exitcode}' "http://127.0.0.1:$LBP/")
is "no endpoint: the LoadBalancer port refuses" "$code" 7
fails "no endpoint: a container publishing that port is refused (the port stays held)" "held by a berth Service" \
	b run -d --network "$N" -p "$LBP:80" busybox true
is "  and the Service's name resolves still" "$(in_cl nslookup web.shop "$GW" | grep -c "Address: $CIP")" 1

# ---- ClientIP affinity ----
mk true true true ClientIP >"$T_DIR/aff.json"
check "sync: ClientIP affinity" b debug svc-sync "$N" "$T_DIR/aff.json"
got=$(fetch_n 20 "http://$CIP:$LBP/" | distinct)
like "ClientIP: 20 fetches from one client reach one endpoint" "$got" '^ep[123]$'
got2=$(for i in $(seq 1 10); do curl -fsS --max-time 3 "http://127.0.0.1:$LBP/" 2>&1; done | distinct)
like "ClientIP: the host sticks to one too" "$got2" '^ep[123]$'

# ---- host-port conflicts: error naming both, nothing changed ----
before_rules=$(iptables-save | grep -- "berth:$BR:svc" | sort)
before_state=$(cat "$RD/svc.json")
cat >"$T_DIR/dup.json" <<EOF
[{"name":"a","namespace":"shop","type":"LoadBalancer","ports":[{"port":$LBP2}],"endpoints":[{"ip":"$IP1","ports":[8080]}]},
 {"name":"b","namespace":"shop","type":"LoadBalancer","ports":[{"port":$LBP2}],"endpoints":[{"ip":"$IP2","ports":[8080]}]}]
EOF
fails "two Services on one host port" "Bind for 0.0.0.0:$LBP2 failed: port is already allocated \(service shop/a and service shop/b both want $LBP2/TCP\)" \
	b debug svc-sync "$N" "$T_DIR/dup.json"
fails "  svc-check says the same" "service shop/a and service shop/b" b debug svc-check "$N" "$T_DIR/dup.json"
is "  no rule changed" "$(iptables-save | grep -- "berth:$BR:svc" | sort)" "$before_rules"
is "  svc.json unchanged" "$(cat "$RD/svc.json")" "$before_state"
python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print("ready", flush=True); time.sleep(60)' "$PYPORT" >"$T_DIR/py.out" &
pypid=$!
wait_until 5 grep -q ready "$T_DIR/py.out"
cat >"$T_DIR/sock.json" <<EOF
[{"name":"s","namespace":"shop","type":"LoadBalancer","ports":[{"port":$PYPORT}]}]
EOF
fails "a host port a socket listens on" "Bind for 0.0.0.0:$PYPORT failed: port is already allocated \(service shop/s: a socket of the host is bound to 127.0.0.1:$PYPORT\)" \
	b debug svc-check "$N" "$T_DIR/sock.json"
kill "$pypid" 2>/dev/null; pypid=
run_d --name pub-$$ --network "$N" -p "$LBP2:80" busybox sleep 600 >/dev/null || notok "run a container publishing $LBP2"
cat >"$T_DIR/pub.json" <<EOF
[{"name":"p","namespace":"shop","type":"LoadBalancer","ports":[{"port":$LBP2}]}]
EOF
fails "a host port a berth container publishes" "port is already allocated \(service shop/p: published by a berth container" \
	b debug svc-sync "$N" "$T_DIR/pub.json"
is "  nothing changed" "$(iptables-save | grep -- "berth:$BR:svc" | sort)" "$before_rules"
# another network (here of the same store; rules are host-wide, as for other stores)
check "a second network" b network create "${N}b"
cat >"$T_DIR/other.json" <<EOF
[{"name":"other","namespace":"team2","type":"LoadBalancer","ports":[{"port":$LBP}]}]
EOF
fails "a host port a Service of another network holds" "port is already allocated \(service team2/other: held by service shop/web on bridge $BR\)" \
	b debug svc-sync "${N}b" "$T_DIR/other.json"
is "  the failed sync chose no range for the other network" "$(b network inspect "${N}b" | grep -c ServiceRange)" 0
echo '[{"name":"other","namespace":"team2","ports":[{"port":80}]}]' >"$T_DIR/other2.json"
check "the other network's own Service" b debug svc-sync "${N}b" "$T_DIR/other2.json"
R2=$(b network inspect -f '{{.ServiceRange}}' "${N}b")
[ -n "$R2" ] && [ "$R2" != "$RANGE" ] && ok "  gets a range of its own ($R2, not $RANGE)" || notok "  a range of its own ($R2 vs $RANGE)"
check "network rm of the other network" b network rm "${N}b"
unlike "  its range route went with its bridge" "$(ip route show dev lo)" "^${R2%/*}/"

# ---- the crash sweep keeps live Services' rules; the DNS server stays ----
nrules=$(svc_rules)
check "system prune" b system prune -f
is "  Service rules stay" "$(svc_rules)" "$nrules"
b rm -f ep1-$$ ep2-$$ ep3-$$ cl-$$ pub-$$ >/dev/null 2>&1
sleep 6.5 # longer than the DNS server's linger after the last container (dnsproc.h)
dpid=$(cut -d' ' -f1 "$RD/dns.pid" 2>/dev/null)
[ -n "$dpid" ] && alive "$dpid" && ok "the DNS server stays while the network has Services" || notok "DNS server gone (pid '$dpid')"
check "  and answers them" b run --rm --network "$N" busybox nslookup web.shop.svc.cluster.local "$GW"
like "  with the ClusterIP" "$OUT" "Address: $CIP"
check "system prune with no container left" b system prune -f
is "  Service rules still stay" "$(svc_rules)" "$nrules"

# ---- a store deleted with rm -rf: the sweep takes its Services along ----
ROOT2=$T_DIR/root2 RUN2=$T_DIR/run2
b2() { "$BERTH" --root "$ROOT2" --runroot "$RUN2" "$@"; }
check "another store's network" b2 network create "${N}x"
BR2=br-$(b2 network inspect -f '{{.Id}}' "${N}x" | cut -c1-12)
echo '[{"name":"gone","namespace":"x","type":"NodePort","ports":[{"port":80}]}]' >"$T_DIR/gone.json"
check "  with a Service" b2 debug svc-sync "${N}x" "$T_DIR/gone.json"
RX=$(b2 network inspect -f '{{.ServiceRange}}' "${N}x")
[ "$(iptables-save | grep -c -- "berth:$BR2:svc")" -gt 0 ] && ok "  its rules are there" || notok "  its rules are there"
rm -rf "$ROOT2"
check "system prune here sweeps the deleted store's bridge" b system prune -f
is "  no rule of its bridge is left (its Services' included)" "$(iptables-save | grep -c -- "$BR2")" 0
unlike "  nor its range route" "$(ip route show dev lo)" "^${RX%/*}/"
is "  our Services' rules stay" "$(svc_rules)" "$nrules"
dpid2=$(cat "$RUN2"/networks/*/dns.pid 2>/dev/null | cut -d' ' -f1)
if [ -n "$dpid2" ]; then
	for _ in $(seq 1 80); do alive "$dpid2" || break; sleep 0.1; done
	alive "$dpid2" && notok "  its DNS server left with its bridge (pid $dpid2 still there)" || ok "  its DNS server left with its bridge"
else
	notok "  its DNS server had a pid file"
fi
rm -rf "$RUN2"

# ---- svc-rm and network rm leave nothing ----
check "svc-rm" b debug svc-rm "$N"
is "svc-rm: no rule of the bridge's Services" "$(svc_rules)" 0
is "svc-rm: no Service record" "$(grep -c 'cluster.local' "$RD/records" 2>/dev/null)" 0
[ -e "$RD/svc.json" ] || [ -e "$RD/svc-records" ] && notok "svc-rm left state files" || ok "svc-rm: no state files"
check "svc-rm twice is harmless" b debug svc-rm "$N"
check "sync again before network rm" b debug svc-sync "$N" "$T_DIR/all.json"
check "network rm" b network rm "$N"
is "network rm: no iptables rule of the bridge" "$(iptables-save | grep -c -- "$BR")" 0
unlike "network rm: no range route" "$(ip route show dev lo)" "^${RANGE%/*}/"
[ -d "$RD" ] && notok "network rm left the run dir" || ok "network rm: no records, no run dir"
t_done
