#!/bin/bash
# berth compose down: every container stopped and removed by its own worker
# (progress lines in docker compose's order per container, a stopped one
# only removed), anonymous volumes and the network gone; integer flags
# checked before anything is touched (-t abc must not kill at once);
# hostile compose input: interpolation nested without end is an error, not
# a crash; run --entrypoint with an open quote is refused.
. "$(dirname "$0")/../lib.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

P=t0714p$$
D=$T_DIR/proj
mkdir -p "$D"
cat >"$D/compose.yaml" <<EOT
{"services": {
  "a": {"image": "busybox", "command": ["sleep", "300"], "init": true, "volumes": ["/scratch"]},
  "b": {"image": "busybox", "command": ["sleep", "300"], "init": true},
  "c": {"image": "busybox", "command": ["sleep", "300"], "init": true}}}
EOT
bc() { b compose -p "$P" -f "$D/compose.yaml" "$@"; }
trap 'bc down -t 0 >/dev/null 2>&1; t_cleanup' EXIT

check "up -d" bc up -d
is "three running" "$(bc ps -q | wc -l)" 3
like "an anonymous volume for a" "$(b volume ls -q)" "^[0-9a-f]{64}$"

fails "down -t abc is refused" 'invalid argument "abc" for "-t, --timeout" flag' bc down -t abc
is "... and stops nothing" "$(bc ps -q | wc -l)" 3
fails "stop -t 1x is refused" 'invalid argument "1x" for "-t, --timeout" flag' bc stop -t 1x
fails "up --wait-timeout x is refused" 'invalid argument "x" for "--wait-timeout" flag' bc up -d --wait-timeout x
fails "exec --index two is refused" 'invalid argument "two" for "--index" flag' bc exec -T --index two a true
fails "port --index 99999999999 is refused" 'value out of range' bc port --index 99999999999 a 80
is "still three running" "$(bc ps -q | wc -l)" 3

check "stop c" bc stop -t 1 c
out=$(bc down -t 5 2>&1)
is "down exits 0" "$?" 0
for s in a b; do
	seq=$(grep -E "Container $P-$s-1 " <<<"$out" | awk '{print $NF}' | tr '\n' ' ')
	is "down: $s stopped then removed" "$seq" "Stopping Stopped Removing Removed "
done
seq=$(grep -E "Container $P-c-1 " <<<"$out" | awk '{print $NF}' | tr '\n' ' ')
is "down: the stopped c only removed" "$seq" "Removing Removed "
is "down: the network last" "$(tail -2 <<<"$out" | awk '{print $2, $NF}' | tr '\n' ' ')" \
	"${P}_default Removing ${P}_default Removed "
is "no containers left" "$(b ps -a -q | wc -l)" 0
is "no network left" "$(b network ls -q --filter name="${P}_default" | wc -l)" 0
is "the anonymous volume went with its container" "$(b volume ls -q | wc -l)" 0

# interpolation nested 200 deep: a clear error naming file and line
python3 -c "n = 200; print('services:\n  a:\n    image: \"' + '\${X:-' * n + 'busybox' + '}' * n + '\"')" >"$D/deep.yaml"
out=$(b compose -p "$P" -f "$D/deep.yaml" config -q 2>&1)
is "deep interpolation: exit 1, not a crash" "$?" 1
like "deep interpolation: file, line and why" "$out" "deep.yaml:3: services.a.image: .*nested deeper than 128 levels"
printf 'X=${A:-${B:-ok}}\n' >"$D/.env"
printf 'services:\n  a:\n    image: "${X}"\n' >"$D/nest.yaml"
like "nesting within the limit still works (.env)" "$(b compose -p "$P" --project-directory "$D" -f "$D/nest.yaml" config 2>&1)" "image: ok"

printf 'services:\n  a:\n    image: busybox\n    deploy:\n      replicas: 2000000000\n' >"$D/many.yaml"
fails "2000000000 replicas: an error, not a crash" 'service "a": 2000000000 replicas: the number must be 0 to 10000' \
	b compose -p "$P" -f "$D/many.yaml" up -d
check "up -d b" bc up -d b
fails "a bad replica count with --remove-orphans" 'the number must be 0 to 10000' \
	b compose -p "$P" -f "$D/many.yaml" up -d --remove-orphans
is "... leaves the orphan alone (nothing half-done)" "$(b ps -q | wc -l)" 1
check "down" bc down -t 0
fails "--scale a=-1 is refused" 'invalid --scale value "a=-1"' bc up -d --scale a=-1
fails "--scale a= is refused" 'invalid --scale value "a="' bc up -d --scale a=
is "... and nothing was created" "$(b ps -a -q | wc -l)" 0
fails "run --entrypoint with an open quote" 'invalid --entrypoint .*unterminated quote' \
	bc run --rm -T --entrypoint "echo 'oops" a
is "... created nothing" "$(b ps -a -q | wc -l)" 0
like "run --entrypoint splits like a shell" "$(bc run --rm -T --entrypoint "echo 'x  y' \"q\\\"z\"" a 2>/dev/null)" '^x  y q"z$'
bc down -t 0 >/dev/null 2>&1
t_done
