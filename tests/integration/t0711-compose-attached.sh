#!/bin/bash
# berth compose: attached up (prefixed output, "exited with code",
# --exit-code-from, --abort-on-container-exit), logs -f picking up a new
# replica, stop/start/restart/kill/rm, ls and version.
. "$(dirname "$0")/../lib.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

P=t0711p$$
D=$T_DIR/proj
mkdir -p "$D"
cat >"$D/compose.yaml" <<EOT
{"services": {
  "a": {"image": "busybox", "command": ["sh", "-c", "echo one; sleep 0.3; echo two"]},
  "b": {"image": "busybox", "command": ["sh", "-c", "echo bee; exit 4"]}}}
EOT
cat >"$D/long.yaml" <<EOT
{"services": {
  "s": {"image": "busybox", "command": ["sh", "-c", "echo up \$\$HOSTNAME; exec sleep 300"], "init": true}}}
EOT
bc() { b compose -p "$P" -f "$D/compose.yaml" "$@"; }
bl() { b compose -p "${P}l" -f "$D/long.yaml" "$@"; }
trap 'bc down -t 0 >/dev/null 2>&1; bl down -t 0 >/dev/null 2>&1; t_cleanup' EXIT
out=$(bc ps 2>&1)
if grep -q "loader is not available" <<<"$out"; then skip_all "the compose loader is not in this build yet"; fi

out=$(timeout 30 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" compose -p "$P" -f "$D/compose.yaml" up 2>/dev/null)
rc=$?
is "attached up ends when all containers exited (0)" "$rc" 0
like "output with service prefixes" "$out" "^a-1 +\| one"
like "both services" "$out" "^b-1 +\| bee"
like "exit lines" "$out" "b-1 exited with code 4"
if grep -q $'\033' <<<"$out"; then notok "no colors when not a terminal"; else ok "no colors when not a terminal"; fi
timeout 30 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" compose -p "$P" -f "$D/compose.yaml" up --exit-code-from b >/dev/null 2>&1
is "--exit-code-from b" "$?" 4
out=$(timeout 30 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" compose -p "$P" -f "$D/compose.yaml" up 2>/dev/null)
is "a second attached up shows only new output" "$(grep -c 'a-1  | one' <<<"$out")" 1
check "rm the stopped containers" bc rm -f
is "rm left nothing" "$(bc ps -a -q | wc -l)" 0

check "up -d long-running" bl up -d
timeout 20 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" compose -p "${P}l" -f "$D/long.yaml" logs -f >"$T_DIR/follow" 2>&1 &
fpid=$!
sleep 1
check "scale up while following" bl up -d --scale s=2
for _ in $(seq 50); do grep -Eq '^s-2 +\| up ' "$T_DIR/follow" && break; sleep 0.2; done
like "logs -f picks up the new replica" "$(cat "$T_DIR/follow")" "^s-2 +\| up "
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
check "stop" bl stop -t 1
is "stopped: nothing running" "$(bl ps -q | wc -l)" 0
check "start" bl start
is "started again" "$(bl ps -q | wc -l)" 2
check "restart" bl restart -t 1
check "kill" bl kill
is "killed: nothing running" "$(bl ps -q | wc -l)" 0
like "ps -a shows them exited" "$(bl ps -a)" "Exited \(137\)"
check "up -d brings it back (scale from the file: 1)" bl up -d
like "compose ls lists the project" "$(b compose ls)" "^${P}l +running\(1\)"
like "version" "$(b compose version)" "version v2"
check "down" bl down -t 1
is "cleanup: no containers" "$(b ps -a -q | wc -l)" 0
t_done
