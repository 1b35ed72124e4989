#!/bin/bash
# berth compose: flags that used to be parsed and ignored, each now doing
# what docker compose v2's does, saying it has no effect, or refused:
# --ansi/--progress (and COMPOSE_ANSI, NO_COLOR), ps --filter/--orphans/
# --services, ls --filter, logs --index/--since/--until, attached up
# (named services only, --attach-dependencies, --attach, --no-attach),
# config --no-path-resolution/--no-consistency, build/pull --parallel,
# run -i/-t/--remove-orphans, rm's confirmation, restart's dependents and
# --no-deps, kill --remove-orphans, exec --interactive, version --format,
# --progress for builds and (with docker-registry) pulls; bad values are
# clear errors that create nothing.
. "$(dirname "$0")/../lib.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

P=t0715p$$
D=$T_DIR/proj
mkdir -p "$D"
# db runs; web says two lines and exits; web depends on db (restart: true)
cat >"$D/compose.yaml" <<EOT
{"services": {
  "db": {"image": "busybox", "command": ["sh", "-c", "echo db says hi; exec sleep 300"], "init": true},
  "web": {"image": "busybox", "command": ["sh", "-c", "sleep 0.5; echo web one; sleep 0.3; echo web two"],
          "init": true,
          "depends_on": {"db": {"condition": "service_started", "required": true, "restart": true}}}}}
EOT
# two short services, for an attached up that ends by itself
cat >"$D/short.yaml" <<EOT
{"services": {
  "a": {"image": "busybox", "command": ["sh", "-c", "echo from a; sleep 0.3"]},
  "b": {"image": "busybox", "command": ["sh", "-c", "echo from b; sleep 0.3"]}}}
EOT
# the same project without db: db's container becomes an orphan
cat >"$D/nodb.yaml" <<EOT
{"services": {"web": {"image": "busybox", "command": ["sh", "-c", "echo web; sleep 0.2"], "init": true}}}
EOT
bc() { b compose -p "$P" -f "$D/compose.yaml" "$@"; }
bs() { b compose -p "${P}s" -f "$D/short.yaml" "$@"; }
bn() { b compose -p "$P" -f "$D/nodb.yaml" "$@"; }
# attached runs: a time limit, stderr apart
bt() { timeout 60 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" compose "$@"; }
trap 'bc down -t 0 --remove-orphans >/dev/null 2>&1; bs down -t 0 >/dev/null 2>&1; t_cleanup' EXIT
out=$(bc config -q 2>&1)
if grep -q "loader is not available" <<<"$out"; then skip_all "the compose loader is not in this build yet"; fi
nothing() { is "$1: nothing created" "$(b ps -a -q | wc -l) $(b network ls --format '{{.Name}}' | grep -c "^$P")" "0 0"; }

# ---- --ansi, --progress ----
fails "--ansi sometimes is refused" 'invalid --ansi value "sometimes"' bc --ansi sometimes up -d
nothing "a bad --ansi"
fails "--progress fancy is refused" 'unsupported --progress value "fancy"' bc --progress fancy up -d
nothing "a bad --progress"
fails "--progress tty with --ansi never" "can't use --progress tty while ANSI support is disabled" \
	bc --ansi never --progress tty up -d
fails "--progress plain with --ansi always" "can't use --progress plain while ANSI support is forced" \
	bc --ansi always --progress plain up -d
fails "COMPOSE_ANSI is checked too" 'invalid --ansi value "bogus"' env COMPOSE_ANSI=bogus "$BERTH" --root "$ROOT" \
	--runroot "$RUNROOT" compose -p "$P" -f "$D/compose.yaml" up -d
nothing "bad --ansi/--progress combinations"

err=$(bc --progress quiet up -d db 2>&1 >/dev/null)
is "--progress quiet: up -d prints no progress" "$err" ""
is "... and did bring db up" "$(bc ps --format '{{.Name}}')" "$P-db-1"
err=$(bc --progress json up -d db 2>&1 >/dev/null)
is "--progress json: one JSON object per event" "$err" "{\"id\":\"Container $P-db-1\",\"text\":\"Running\"}"
like "--progress plain: docker compose's plain lines" "$(bc --progress plain up -d db 2>&1)" "^ Container $P-db-1  Running$"
like "--progress tty without a terminal: plain, with docker compose's warning" \
	"$(bc --progress tty up -d db 2>&1)" "Terminal is not a POSIX console"
like "COMPOSE_PROGRESS=quiet works as --progress quiet" \
	"$(COMPOSE_PROGRESS=quiet "$BERTH" --root "$ROOT" --runroot "$RUNROOT" compose -p "$P" -f "$D/compose.yaml" up -d db 2>&1)X" "^X$"
sleep 0.5
like "--ansi always: coloured log prefixes even in a pipe" "$(bc --ansi always logs db | od -c)" '033   \['
if bc logs db | grep -q $'\033'; then notok "logs in a pipe: no colours"; else ok "logs in a pipe: no colours"; fi
if NO_COLOR=1 bc --ansi always logs db | grep -q $'\033'; then notok "NO_COLOR wins over --ansi always"; else
	ok "NO_COLOR wins over --ansi always"; fi
if bc --ansi never logs db | grep -q $'\033'; then notok "--ansi never: no colours"; else ok "--ansi never: no colours"; fi

# ---- ps --filter, --status, --services, --orphans ----
check "up -d (web exits by itself)" bc up -d
for _ in $(seq 50); do [ "$(bc ps -a --status exited -q | wc -l)" = 1 ] && break; sleep 0.2; done
is "ps --filter status=running" "$(bc ps --filter status=running --format '{{.Name}}')" "$P-db-1"
is "ps --filter status=exited (no -a needed)" "$(bc ps --filter status=exited --format '{{.Name}}')" "$P-web-1"
is "ps --filter status=exited --services: the services listed" "$(bc ps --filter status=exited --services)" "web"
is "ps --services: services of the running containers" "$(bc ps --services)" "db"
is "ps -a --services" "$(bc ps -a --services | sort | tr '\n' ' ')" "db web "
fails "ps --filter with an unknown key" '^Error: unknown filter name$' bc ps --filter name=web
fails "ps --filter source: not implemented (nor in docker compose)" 'not implemented' bc ps --filter source=image
fails "ps --filter without =" 'arguments to --filter should be in form KEY=VAL' bc ps --filter status
fails "ps --filter status=sleepy" "invalid filter 'status=sleepy'" bc ps --filter status=sleepy
is "ps of the smaller file lists db's container (an orphan there)" "$(bn ps -a --format '{{.Name}}' | sort | tr '\n' ' ')" \
	"$P-db-1 $P-web-1 "
is "ps --orphans=false hides it" "$(bn ps -a --orphans=false --format '{{.Name}}')" "$P-web-1"
is "ps --orphans (true) shows it" "$(bn ps -a --orphans --format '{{.Name}}' | wc -l)" 2
fails "ps --orphans=maybe" 'invalid argument "maybe" for "--orphans" flag' bn ps --orphans=maybe

# ---- ls --filter ----
like "ls --filter name=PROJECT" "$(b compose ls --filter name="$P")" "^$P +running\(1\)"
is "ls --filter name=REGEX (found anywhere)" "$(b compose ls -q --filter "name=^t0715p.*$")" "$P"
is "ls --filter name=nomatch" "$(b compose ls -q --filter name=nomatch)" ""
fails "ls --filter status=running: only name is a filter" "invalid filter 'status'" b compose ls --filter status=running
fails "ls --filter without =" 'bad format of filter \(expected name=value\)' b compose ls --filter "$P"

# ---- logs --index, --since, --until ----
check "scale db to 2" bc up -d --scale db=2 db
for _ in $(seq 50); do bc logs db 2>/dev/null | grep -q '^db-2 ' && break; sleep 0.2; done
is "logs --index 2 db: only replica 2" "$(bc logs --index 2 db)" "db-2  | db says hi"
fails "logs --index without one service" '^Error: --index requires one service to be selected$' bc logs --index 2
fails "logs --index 9 db" 'service "db" is not running container #9' bc logs --index 9 db
is "logs --until 1h: nothing that old" "$(bc logs --until 1h db)" ""
is "logs --since 1h: both replicas" "$(bc logs --since 1h db | wc -l)" 2
is "logs --until an RFC 3339 time in the future" "$(bc logs --until 2999-01-01T00:00:00Z db | wc -l)" 2
fails "logs --since bogus" 'invalid value for "since": "bogus"' bc logs --since bogus db
fails "logs --until bogus" 'invalid value for "until": "bogus"' bc logs --until bogus db
check "down" bc down -t 0

# ---- attached up: what is shown, what is waited for ----
out=$(bt -p "$P" -f "$D/compose.yaml" up web 2>/dev/null)
is "up web: exits by itself when web did" "$?" 0
like "up web: web's output" "$out" "^web-1 +\| web one"
if grep -q 'db says hi' <<<"$out"; then notok "up web: not db's output"; else ok "up web: not db's output"; fi
like "up web: web's exit" "$out" "web-1 exited with code 0"
is "up web: the dependency keeps running (docker compose stops what was named)" "$(bc ps --format '{{.Name}}')" "$P-db-1"
check "down" bc down -t 0
out=$(bt -p "$P" -f "$D/compose.yaml" up --attach-dependencies web 2>/dev/null)
is "up --attach-dependencies web: exits when web did" "$?" 0
like "... with db's output" "$out" "^db-1 +\| db says hi"
like "... and web's" "$out" "^web-1 +\| web two"
check "down" bc down -t 0
out=$(bt -p "$P" -f "$D/compose.yaml" up --attach db web 2>/dev/null)
is "up --attach db web: exits when web did" "$?" 0
like "... db's output" "$out" "^db-1 +\| db says hi"
if grep -q '| web' <<<"$out"; then notok "... not web's output"; else ok "... not web's output"; fi
like "... but web's exit" "$out" "web-1 exited with code 0"
check "down" bc down -t 0
out=$(bt -p "${P}s" -f "$D/short.yaml" up --no-attach b 2>/dev/null)
is "up --no-attach b: exits when a did" "$?" 0
like "... a's output" "$out" "^a-1 +\| from a"
if grep -q 'b-1' <<<"$out"; then notok "... nothing of b"; else ok "... nothing of b"; fi
out=$(bt -p "${P}s" -f "$D/short.yaml" up 2>/dev/null)
like "plain up still shows every service" "$out" "b-1 +\| from b"
check "down" bs down -t 0
fails "up -d --attach-dependencies" '^Error: --detach cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies$' \
	bc up -d --attach-dependencies web
fails "up --wait --attach db" '^Error: --wait cannot be combined with' bc up --wait --attach db
fails "up --attach nosuch" 'cannot attach to services not included in up: nosuch' bc up --attach nosuch
fails "up --no-deps --attach db web" 'cannot attach to services not included in up: db' bc up --no-deps --attach db web
fails "up --attach with --attach-dependencies" 'cannot combine --attach and --attach-dependencies' \
	bc up --attach db --attach-dependencies web
fails "create takes none of up's attach flags" 'unknown flag' bc create --attach-dependencies
fails "create -d is not a create flag either" 'unknown flag' bc create -d
nothing "refused up and create flags"

# ---- config --no-path-resolution, --no-consistency ----
cat >"$D/paths.yaml" <<EOT
services:
  app:
    build: ./ctx
    volumes: ["./data:/data"]
    networks: [elsewhere]
EOT
fails "config: an undefined network is an error" 'undefined network "elsewhere"' b compose -f "$D/paths.yaml" config
out=$(b compose -f "$D/paths.yaml" config --no-consistency 2>&1)
like "config --no-consistency prints it anyway" "$out" "elsewhere"
like "... with absolute paths" "$out" "context: $D/ctx"
out=$(b compose -f "$D/paths.yaml" config --no-consistency --no-path-resolution 2>&1)
like "config --no-path-resolution: the context as written" "$out" "context: ./ctx$"
like "... and the bind source" "$out" "source: ./data$"

# ---- build and pull: no-op flags ----
cat >"$D/built.yaml" <<EOT
{"services": {"app": {"build": {"context": "$D"}}}}
EOT
like "pull --parallel: no effect in berth (deprecated in docker compose)" \
	"$(b compose -p "${P}b" -f "$D/built.yaml" pull --parallel 2>&1)" "^berth compose pull: --parallel has no effect in berth: deprecated"
like "pull --no-parallel: likewise" \
	"$(b compose -p "${P}b" -f "$D/built.yaml" pull --no-parallel 2>&1)" "^berth compose pull: --no-parallel has no effect in berth"
fails "pull --parallel=sometimes" 'invalid argument "sometimes" for "--parallel" flag' \
	b compose -p "${P}b" -f "$D/built.yaml" pull --parallel=sometimes
like "build --parallel: no effect in berth" \
	"$(bc build --parallel 2>&1)" "^berth compose build: --parallel has no effect in berth: deprecated in docker compose"
like "build --memory: no effect in berth" "$(bc build -m 1g 2>&1)" "^berth compose build: -m, --memory has no effect in berth"
like "build --progress: docker compose's hint" "$(bc build --progress plain 2>&1)" "--progress is a global compose flag"

# ---- run -i, -t, --remove-orphans ----
fails "run -t -T" "^Error: --tty and --no-TTY can't be used together$" bn run --rm -t -T web true
fails "run --tty=maybe" 'invalid argument "maybe" for "-t, --tty" flag' bn run --rm --tty=maybe web true
is "run -t: a tty although stdin is none" "$(bn run --rm -t web sh -c '[ -t 1 ] && echo tty || echo none' </dev/null 2>/dev/null | tr -d '\r')" "tty"
is "run without -t, stdin no terminal: no tty" "$(bn run --rm web sh -c '[ -t 1 ] && echo tty || echo none' </dev/null 2>/dev/null)" "none"
is "run: stdin is passed by default" "$(echo piped | bn run --rm web cat 2>/dev/null)" "piped"
is "run -i: the same" "$(echo piped | bn run --rm -i web cat 2>/dev/null)" "piped"
is "run --interactive=false: stdin stays closed" "$(echo piped | bn run --rm --interactive=false web cat 2>/dev/null)" ""
check "up -d db (the full file)" bc up -d db
like "run of the smaller file warns about db's orphan" "$(bn run --rm web true 2>&1)" "Found orphan containers \(\[$P-db-1\]\)"
is "... and leaves it" "$(bc ps --format '{{.Name}}')" "$P-db-1"
out=$(bn run --rm --remove-orphans web true 2>&1)
like "run --remove-orphans removes it" "$out" "Container $P-db-1  Removed"
is "... it is gone" "$(b ps -a --format '{{.Names}}' | grep -c "^$P-db-1$")" 0

# ---- rm: docker compose's confirmation ----
check "up -d" bc up -d
check "stop web" bc stop -t 0 web
out=$(echo n | bc rm 2>&1)
like "rm: names what it would remove" "$out" "^Going to remove $P-web-1"
is "rm answered n: nothing removed" "$(bc ps -a -q | wc -l)" 2
echo -n | bc rm >/dev/null 2>&1
is "rm with nothing on stdin: nothing removed" "$(bc ps -a -q | wc -l)" 2
echo y | bc rm >/dev/null 2>&1
is "rm answered y: web removed" "$(bc ps -a --format '{{.Name}}')" "$P-db-1"
like "rm with nothing stopped" "$(bc rm -f 2>&1)" "No stopped containers"
out=$(bc rm -f -s -a 2>&1 </dev/null)
like "rm -f: the list on stdout, no question" "$out" "Going to remove $P-db-1"
like "rm -a: no effect (deprecated in docker compose)" "$out" "berth compose rm: -a, --all has no effect in berth"
is "rm -f -s: db stopped and removed" "$(bc ps -a -q | wc -l)" 0

# ---- restart's dependents, --no-deps; per-command flags ----
check "up -d" bc up -d
sleep 1
out=$(bc restart -t 0 db 2>&1)
like "restart db: restarts db" "$out" "Container $P-db-1  Restarting"
like "... and web (depends on db with restart: true)" "$out" "Container $P-web-1  Restarting"
out=$(bc restart -t 0 --no-deps db 2>&1)
like "restart --no-deps db: db" "$out" "Container $P-db-1  Restarting"
if grep -q "$P-web-1" <<<"$out"; then notok "... not web"; else ok "... not web"; fi
fails "stop --no-deps: not a stop flag (as docker compose)" 'unknown flag' bc stop --no-deps
fails "start -t: not a start flag" 'unknown flag' bc start -t 1
fails "kill -v: not a kill flag" 'unknown flag' bc kill -v

# ---- kill --remove-orphans ----
check "up -d db" bc up -d db
for _ in $(seq 50); do [ "$(bc ps -q web | wc -l)" = 0 ] && break; sleep 0.2; done
out=$(bn kill 2>&1)
like "kill of the smaller file: its services only" "$out" "no container to kill"
is "... db (an orphan there) still runs" "$(bc ps --format '{{.Name}}')" "$P-db-1"
out=$(bn kill --remove-orphans 2>&1)
like "kill --remove-orphans kills the orphan" "$out" "Container $P-db-1  Killed"
is "... it is stopped (not removed: docker compose's name)" "$(bc ps -a db --format '{{.Name}} {{.State}}')" "$P-db-1 exited"

# ---- exec -i, -t; version --format ----
check "up -d db" bc up -d db
is "exec: stdin passed by default" "$(echo piped | bc exec -T db cat)" "piped"
is "exec --interactive=false: stdin closed" "$(echo piped | timeout 20 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" \
	compose -p "$P" -f "$D/compose.yaml" exec -T --interactive=false db cat)" ""
is "exec -t: a no-op (as in docker compose)" "$(bc exec -T -t db echo fine)" "fine"
is "version --format json" "$(b compose version --format json)" '{"version":"v2.24.0"}'
fails "version --format yaml" 'invalid --format "yaml"' b compose version --format yaml

check "down" bc down -t 0 --remove-orphans

# ---- --progress for builds, and for pulls from a registry ----
mkdir -p "$D/ctx"
printf 'FROM busybox\nRUN echo built > /built\n' >"$D/ctx/Dockerfile"
cat >"$D/build.yaml" <<EOT
{"services": {"app": {"build": {"context": "$D/ctx"}}}}
EOT
err=$(b compose -p "${P}b" -f "$D/build.yaml" --progress quiet build 2>&1)
is "--progress quiet build: nothing printed" "$err" ""
is "... and built" "$(b images -q "${P}b-app" | wc -l)" 1
like "--progress plain build: the builder's plain steps" \
	"$(b compose -p "${P}b" -f "$D/build.yaml" --progress plain build --no-cache 2>&1)" "RUN echo built"
if command -v docker-registry >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
	. "$(dirname "$0")/lib-registry.sh"
	trap 'bc down -t 0 --remove-orphans >/dev/null 2>&1; bs down -t 0 >/dev/null 2>&1; reg_cleanup; t_cleanup' EXIT
	reg_start plain
	b tag busybox "$REG/bb:1" && b push "$REG/bb:1" >/dev/null 2>&1
	printf '{"services": {"s": {"image": "%s/bb:1"}}}\n' "$REG" >"$D/reg.yaml"
	ROOT2=$T_DIR/root2
	b2c() { "$BERTH" --root "$ROOT2" --runroot "$RUNROOT" compose -p "${P}r" -f "$D/reg.yaml" "$@"; }
	out=$(b2c --progress plain pull 2>&1)
	like "--progress plain pull: a line per layer event" "$out" "^[0-9a-f]{12}: Pull complete$"
	if grep -q $'\033' <<<"$out"; then notok "... no terminal codes"; else ok "... no terminal codes"; fi
	"$BERTH" --root "$ROOT2" --runroot "$RUNROOT" rmi "$REG/bb:1" >/dev/null 2>&1
	out=$(b2c --progress json pull 2>&1)
	like "--progress json pull: layer events as JSON under their service" "$out" \
		'^\{"id":"[0-9a-f]{12}","parent_id":"Service s","text":"Pull complete"\}$'
	like "... and the service's" "$out" '^\{"id":"Service s","text":"Pulled"\}$'
	"$BERTH" --root "$ROOT2" --runroot "$RUNROOT" rmi "$REG/bb:1" >/dev/null 2>&1
	is "--progress quiet pull: nothing printed" "$(b2c --progress quiet pull 2>&1)" ""
	is "... and pulled" "$("$BERTH" --root "$ROOT2" --runroot "$RUNROOT" images -q "$REG/bb:1" | wc -l)" 1
else
	skip "pull progress modes: docker-registry is not installed"
fi
is "cleanup: no containers" "$(b ps -a -q | wc -l)" 0
t_done
