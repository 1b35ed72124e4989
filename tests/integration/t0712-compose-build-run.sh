#!/bin/bash
# berth compose: build: services (up builds a missing image as
# PROJECT-SERVICE with args/target/labels, --build, --no-build, compose
# build), a failing build names the service and the Dockerfile line and
# creates nothing; compose run (--rm, -d, -e, -w, -u, --entrypoint, -T,
# --name, -v, exit code, dependencies started, oneoff label) and compose
# images; a service on two networks reachable on both; extra_hosts and
# berth run --add-host.
. "$(dirname "$0")/../lib.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

P=t0712p$$
D=$T_DIR/proj
mkdir -p "$D/app" "$D/data"
cat >"$D/app/Dockerfile" <<'EOT'
FROM busybox AS base
ARG GREETING=hello
RUN echo "$GREETING from build" > /greeting
FROM base AS final
RUN echo final > /stage
FROM base AS dev
RUN echo dev > /stage
EOT
printf 'FROM busybox\nRUN true\nRUN echo going wrong; exit 4\n' >"$D/app/Dockerfile.bad"
echo data-file >"$D/data/f"
cat >"$D/compose.yaml" <<EOT
services:
  web:
    build:
      context: app
      args: {GREETING: howdy}
      target: dev
      labels: {org.example.built-by: t0712}
    command: ["sleep", "300"]
    init: true
    extra_hosts: ["myhost:10.1.2.3", "other=10.1.2.4"]
    networks:
      front: {aliases: [www]}
      back:
    depends_on: [db]
  db:
    image: busybox
    command: ["sleep", "300"]
    init: true
    networks: [back]
  edge:
    image: busybox
    command: ["sleep", "300"]
    init: true
    networks: [front]
    profiles: [edge]
networks: {front: {}, back: {}}
EOT
cat >"$D/bad.yaml" <<EOT
services:
  broken:
    build: {context: app, dockerfile: Dockerfile.bad}
EOT
bc() { b compose -p "$P" -f "$D/compose.yaml" "$@"; }
trap 'bc --profile edge down -t 0 >/dev/null 2>&1; t_cleanup' EXIT

# ---- build ----
check "up -d builds the missing image" bc up -d
like "build progress for the service" "$OUT" "Service web  Built"
is "image named PROJECT-SERVICE" "$(b images --format '{{.Repository}}:{{.Tag}}' | grep "^$P-web")" "$P-web:latest"
is "build args and target applied" "$(b exec "$P-web-1" cat /greeting /stage)" "howdy from build
dev"
like "build labels on the image" "$(b image inspect -f '{{json .Config.Labels}}' "$P-web")" '"org.example.built-by":"t0712"'
check "up -d again" bc up -d
if grep -q "Building" <<<"$OUT"; then notok "no rebuild when the image exists"; else ok "no rebuild when the image exists"; fi
check "up -d --build rebuilds (cached) and keeps the container" bc up -d --build
like "--build builds" "$OUT" "Service web  Built"
like "same image: container kept" "$OUT" "Container $P-web-1  Running"
check "compose build" bc build --no-cache web
like "compose build output" "$OUT" "Service web  Built"
fails "--build with --no-build" "incompatible" bc up -d --build --no-build
b rmi -f "$P-web" >/dev/null 2>&1
fails "--no-build without the image" "service \"web\": image $P-web has not been built yet, and --no-build was given" bc up -d --no-build web
check "compose build again" bc build -q

# ---- several networks, extra_hosts ----
ips=$(b exec "$P-web-1" ip -4 -o addr show | grep -c 'eth[01]')
is "web has an interface on each of its two networks" "$ips" 2
check "db (back only) reaches web by service name" b exec "$P-db-1" ping -c1 -W2 web
check "edge (front only) reaches web by its front alias" bc --profile edge up -d edge
check "...www" b exec "$P-edge-1" ping -c1 -W2 www
check "...and by service name" b exec "$P-edge-1" ping -c1 -W2 web
like "extra_hosts in /etc/hosts" "$(b exec "$P-web-1" cat /etc/hosts)" "10.1.2.3	myhost"
like "extra_hosts HOST=IP form" "$(b exec "$P-web-1" cat /etc/hosts)" "10.1.2.4	other"
is "run --add-host" "$(b run --rm --network none --add-host a.example:192.0.2.7 busybox grep a.example /etc/hosts)" "192.0.2.7	a.example"
fails "run --add-host without an IP" "invalid argument \"nohost\" for \"--add-host\"" b run --rm --add-host nohost busybox true

# ---- run ----
is "run --rm prints the output" "$(bc run --rm -T web cat /greeting </dev/null 2>/dev/null)" "howdy from build"
out=$(bc run --rm -T -e X=5 -w /tmp -u 1:1 web sh -c 'echo $X $(pwd) $(id -u)' </dev/null 2>/dev/null)
is "run -e -w -u" "$out" "5 /tmp 1"
bc run --rm -T web sh -c 'exit 7' </dev/null >/dev/null 2>&1
is "run returns the command's exit code" "$?" 7
is "run --entrypoint" "$(bc run --rm -T --entrypoint 'echo via entry' web </dev/null 2>/dev/null)" "via entry"
is "run -v bind relative to the project" "$(bc run --rm -T -v ./data:/d:ro web cat /d/f </dev/null 2>/dev/null)" "data-file"
is "run --rm leaves no container" "$(b ps -a --format '{{.Names}}' | grep -c "$P-web-run-")" 0
name=$(bc run -d web 2>/dev/null)
like "run -d prints PROJECT-SERVICE-run-<hex>" "$name" "^$P-web-run-[0-9a-f]{12}$"
like "oneoff label" "$(b inspect -f '{{json .Config.Labels}}' "$name")" '"com.docker.compose.oneoff":"True"' 
like "compose ps lists the one-off container" "$(bc ps)" "$name"
check "run --name" bc run -d --name "$P-custom" db
like "...named" "$(b ps --format '{{.Names}}')" "$P-custom"
fails "run of an unknown service" "no such service: nosuch" bc run --rm nosuch true
like "images lists the containers' images" "$(bc images)" "$P-web-run-[0-9a-f]+ +$P-web +latest +[0-9a-f]{12} +[0-9.]+[kM]?B"
like "images: an image no longer tagged shows <none>" "$(bc images)" "$P-web-1 +<none> +<none>"
is "images -q: each image once" "$(bc images -q | wc -l)" "$(bc images -q | sort -u | wc -l)"

# run starts the dependencies
check "down" bc --profile edge down -t 0
is "down removes the one-off containers" "$(b ps -a --format '{{.Names}}' | grep -c "^$P-")" 0
is "run starts db first" "$(bc run --rm -T web echo ran </dev/null 2>/dev/null)" "ran"
like "db is running" "$(bc ps --format '{{.Name}}')" "$P-db-1"
check "down" bc down -t 0

# ---- a failing build: service and Dockerfile line named, nothing created ----
fails "a failing build names the service, the Dockerfile and the line" \
	'service "broken" failed to build \(.*Dockerfile.bad\): Dockerfile:3: RUN echo going wrong; exit 4' \
	b compose -p "${P}b" -f "$D/bad.yaml" up -d
is "nothing created for the failed build" "$(b ps -a --format '{{.Names}}' | grep -c "^${P}b-"; b network ls | grep -c "${P}b_")" "0
0"
fails "compose build fails the same way" "Dockerfile:3" b compose -p "${P}b" -f "$D/bad.yaml" build
is "no image tagged" "$(b images --format '{{.Repository}}' | grep -c "^${P}b-")" 0

is "cleanup: no containers" "$(b ps -a -q | wc -l)" 0
is "cleanup: no project networks" "$(b network ls --format '{{.Name}}' | grep -c "^$P")" 0
t_done
