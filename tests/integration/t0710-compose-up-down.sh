#!/bin/bash
# berth compose: up/down of a multi-service project on its own network,
# DNS by service name, published ports, named volumes across down/up (and
# down -v), depends_on with service_healthy, convergence (a second up -d
# changes nothing; an env change recreates only that service), scale and
# orphans, ps/logs/exec shapes, bad input (unknown service, cycle, a
# dependency that exits before it is healthy) and cleanup.
. "$(dirname "$0")/../lib.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

P=t0710p$$
PORT=$((20000 + $$ % 20000))
D=$T_DIR/proj
mkdir -p "$D"
# long syntax in JSON form (valid YAML): the loader normalizes short syntax anyway
write() { # ENVVAL SCALE EXTRA_SERVICE
	cat >"$D/compose.yaml" <<EOT
{"name": "$P",
 "services": {
  "db": {"image": "busybox", "command": ["sleep", "300"], "init": true,
         "healthcheck": {"test": ["CMD", "true"], "interval": "200ms", "retries": 3},
         "volumes": [{"type": "volume", "source": "data", "target": "/data"}]},
  "web": {"image": "busybox", "command": ["sh", "-c", "echo web says hi; exec sleep 300"], "init": true,
          "environment": {"MODE": "$1"},
          "depends_on": {"db": {"condition": "service_healthy", "required": true}},
          "ports": [{"target": 80, "published": "$PORT", "protocol": "tcp", "mode": "ingress"}]},
  "worker": {"image": "busybox", "command": ["sleep", "300"], "init": true, "scale": $2}
  $3
 },
 "networks": {"default": {"name": "${P}_default"}},
 "volumes": {"data": {"name": "${P}_data"}}}
EOT
}
bc() { b compose -p "$P" -f "$D/compose.yaml" "$@"; }
cleanup_host() {
	bc down -v --remove-orphans -t 0 >/dev/null 2>&1
}
trap 'cleanup_host; t_cleanup' EXIT

write one 1 ""
out=$(bc config -q 2>&1; bc ps 2>&1)
if grep -q "loader is not available" <<<"$out"; then skip_all "the compose loader is not in this build yet"; fi

check "up -d" bc up -d
like "up prints docker compose progress lines" "$OUT" "Container $P-web-1  Started"
like "network created" "$(b network ls)" "${P}_default"
st=$(b inspect -f '{{.State.Health.Status}}' "$P-db-1" 2>/dev/null || b ps --format '{{.Names}} {{.Status}}' | grep "$P-db-1")
like "web started after db was healthy" "$st" "healthy"
names=$(b ps --format '{{.Names}}' | grep "^$P-" | sort | tr '\n' ' ')
is "containers PROJECT-SERVICE-N" "$names" "$P-db-1 $P-web-1 $P-worker-1 "
like "labels as docker compose sets them" \
	"$(b inspect -f '{{json .Config.Labels}}' "$P-web-1" 2>/dev/null || cat "$ROOT"/containers/*/config.json)" \
	"com.docker.compose.project\":\"$P\".*|com.docker.compose.config-hash"
check "DNS: web resolves db by service name" b exec "$P-web-1" ping -c1 -W2 db
like "ps shows the published port" "$(bc ps)" "0.0.0.0:$PORT->80/tcp"
like "ps columns" "$(bc ps | head -1)" "^NAME +IMAGE +COMMAND +SERVICE +CREATED +STATUS +PORTS"
like "ps --format json" "$(bc ps --format json | head -1)" '"Service":"(db|web|worker)"'
is "ps -q lists three IDs" "$(bc ps -q | wc -l)" 3
is "ps --services" "$(bc ps --services | sort | tr '\n' ' ')" "db web worker "
like "logs with the service prefix" "$(bc logs web)" "^web-1 +\| web says hi"
is "exec -T in the service container" "$(bc exec -T web echo inside)" "inside"
is "port" "$(bc port web 80)" "0.0.0.0:$PORT"
like "top names the container" "$(bc top db | head -1)" "^$P-db-1$"
like "top shows the sleep" "$(bc top db)" "sleep 300"
b exec "$P-db-1" sh -c 'echo kept > /data/f'

ids1=$(b ps -q --no-trunc | sort)
check "second up -d" bc up -d
ids2=$(b ps -q --no-trunc | sort)
is "second up -d changes nothing" "$ids2" "$ids1"
like "and says the containers are running" "$OUT" "Container $P-db-1  Running"

webid=$(b ps -q --no-trunc -f name="$P-web-1" 2>/dev/null | head -1)
dbid=$(b ps -q --no-trunc -f name="$P-db-1" 2>/dev/null | head -1)
write two 1 ""
check "up -d after an env change" bc up -d
like "only web is recreated" "$OUT" "Container $P-web-1  Recreate"
if grep -q "Container $P-db-1  Recreate" <<<"$OUT"; then notok "db was recreated"; else ok "db left running"; fi
is "web sees the new env" "$(b exec "$P-web-1" sh -c 'echo $MODE')" "two"

write two 3 ""
check "scale worker to 3" bc up -d
is "three workers" "$(bc ps worker -q | wc -l)" 3
check "--scale worker=1" bc up -d --scale worker=1
is "one worker left" "$(bc ps worker -q | wc -l)" 1

write two 1 ', "extra": {"image": "busybox", "command": ["sleep", "300"], "init": true}'
check "up with an extra service" bc up -d
write two 1 ""
check "up without it warns about the orphan" bc up -d
like "orphan warning" "$OUT" "Found orphan containers \(\[$P-extra-1\]\)"
check "up --remove-orphans" bc up -d --remove-orphans
if b ps -a --format '{{.Names}}' | grep -q "$P-extra-1"; then notok "orphan removed"; else ok "orphan removed"; fi

check "down" bc down -t 1
is "no containers left" "$(b ps -a --format '{{.Names}}' | grep -c "^$P-")" 0
if b network ls | grep -q "${P}_default"; then notok "network removed"; else ok "network removed"; fi
like "the named volume survives down" "$(b volume ls)" "${P}_data"
check "up again" bc up -d
is "the volume kept its data" "$(b exec "$P-db-1" cat /data/f)" "kept"
check "down -v" bc down -v -t 1
if b volume ls | grep -q "${P}_data"; then notok "down -v removes the volume"; else ok "down -v removes the volume"; fi

# bad input: nothing is created
fails "unknown service on the command line" "no such service: nosuch" bc up -d nosuch
cat >"$D/cycle.yaml" <<EOT
{"services": {"a": {"image": "busybox", "depends_on": {"b": {"condition": "service_started", "required": true}}},
              "b": {"image": "busybox", "depends_on": {"a": {"condition": "service_started", "required": true}}}}}
EOT
fails "a dependency cycle" "cycle" b compose -p "${P}c" -f "$D/cycle.yaml" up -d
is "nothing created for the cycle" "$(b ps -a --format '{{.Names}}' | grep -c "^${P}c-"; b network ls | grep -c "${P}c_")" "0
0"
cat >"$D/unhealthy.yaml" <<EOT
{"services": {"db": {"image": "busybox", "command": ["sh", "-c", "exit 3"],
                     "healthcheck": {"test": ["CMD", "true"], "interval": "1s"}},
              "web": {"image": "busybox", "command": ["sleep", "9"],
                      "depends_on": {"db": {"condition": "service_healthy", "required": true}}}}}
EOT
fails "a dependency that exits before it is healthy" 'web.*dependency failed to start: container '"${P}u"'-db-1 exited \(3\)' \
	b compose -p "${P}u" -f "$D/unhealthy.yaml" up -d
b compose -p "${P}u" -f "$D/unhealthy.yaml" down >/dev/null 2>&1

is "cleanup: no containers" "$(b ps -a -q | wc -l)" 0
is "cleanup: no project networks" "$(b network ls --format '{{.Name}}' | grep -c "^$P")" 0
t_done
