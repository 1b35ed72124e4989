#!/usr/bin/env bash
# Container lifecycle: run -d, ps, logs, attached run, stop/kill/restart/
# start/wait, exec, rm, container prune. (Restart policies, healthchecks
# and fault tolerance: t0311.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

# a sh loop that says "up" once its traps are set
LOOP='while :; do sleep 0.1; done'

# ---- run -d, ps, name and ID resolution ----
check "run -d" run_d --name web -l team=a busybox sleep 300
id=$OUT
like "run -d prints the 64-hex ID" "$id" '^[0-9a-f]{64}$'
short=${id:0:12}
b run --name done -l team=b busybox sh -c 'exit 3'
is "attached run exits with the command's code" "$?" 3
done_id=$(b inspect -f '{{.Id}}' done)
echo "$done_id" >>"$T_DIR/ids"
check "ps" b ps
like "ps header" "$(head -n1 <<<"$OUT")" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$'
like "ps row" "$OUT" "^$short +busybox +\"sleep 300\" +(Less than a second|[0-9]+ seconds?) ago +Up (Less than a second|[0-9]+ seconds?) +web$"
is "ps lists running containers only" "$(wc -l <<<"$OUT")" 2
is "ps -q" "$(b ps -q)" "$short"
is "ps -a -q: all, newest first" "$(b ps -a -q | tr '\n' ' ')" "${done_id:0:12} $short "
check "ps --no-trunc" b ps --no-trunc
like "--no-trunc shows the full ID" "$OUT" "^$id +busybox +\"sleep 300\""
is "ps --format" "$(b ps -a --format '{{.Names}} {{.Status}}' | sed -E 's/[0-9]+ seconds?|Less than a second/T/g')" \
	"done Exited (3) T ago
web Up T"
check "ps --format json" b ps --format json
like "json row" "$OUT" '^\{.*"ID":"'"$short"'".*"Image":"busybox".*"Names":"web".*"State":"running","Status":"Up [^"]*"'
is "--filter status=exited (implies -a)" "$(b ps --filter status=exited --format '{{.Names}}')" done
is "--filter status=running" "$(b ps -a --filter status=running --format '{{.Names}}')" web
is "--filter name= (substring)" "$(b ps -a --filter name=on --format '{{.Names}}')" done
is "--filter name= (regex, as Docker)" "$(b ps -a --filter 'name=^w.b$' --format '{{.Names}}')" web
is "--filter label=K=V" "$(b ps -a --filter label=team=b --format '{{.Names}}')" done
is "--filter label=K" "$(b ps -a --filter label=team --format '{{.Names}}' | sort | tr '\n' ' ')" "done web "
is "--filter exited=3" "$(b ps -a --filter exited=3 --format '{{.Names}}')" done
fails "bad filter" "invalid filter 'bogus=1'" b ps --filter bogus=1
fails "bad status filter" "invalid filter 'status=nope'" b ps --filter status=nope
is "name resolves" "$(b inspect -f '{{.Id}}' web)" "$id"
is "/name resolves" "$(b inspect -f '{{.Id}}' /web)" "$id"
is "short ID prefix resolves" "$(b inspect -f '{{.Name}}' "${id:0:5}")" "/web"
check "exec by ID prefix" b exec "${id:0:7}" true
check "logs by ID prefix" b logs "${id:0:7}"
for cmd in logs stop start restart kill rm wait; do
	fails "$cmd of an unknown container" '^Error: No such container: nope$' b "$cmd" nope
done
fails "exec in an unknown container" 'No such container: nope' b exec nope true
fails "inspect of an unknown container" 'No such object: nope' b inspect nope
check "rm -f of an unknown container is no error" b rm -f nope
fails "run -d with a name in use" 'Conflict. The container name "/web" is already in use' b run -d --name web busybox true

# ---- logs ----
run_d --name lg busybox sh -c 'echo o1; echo e1 >&2; echo o2; echo e2 >&2; echo o3; sleep 300' >/dev/null
wait_until 5 has_log lg o3
is "logs: stdout lines on stdout only" "$(b logs lg 2>/dev/null)" "o1
o2
o3"
is "logs: stderr lines on stderr" "$(b logs lg 2>&1 >/dev/null)" "e1
e2"
# (the two streams are separate pipes: their relative order is not kept)
run_d --name tl busybox sh -c 'for i in 1 2 3 4 5; do echo t$i; done' >/dev/null
b wait tl >/dev/null
is "logs --tail 2" "$(b logs --tail 2 tl 2>&1)" "t4
t5"
is "logs --tail 0" "$(b logs --tail 0 tl 2>&1)" ""
is "logs --tail 9 of 5" "$(b logs --tail 9 tl 2>&1 | wc -l)" 5
is "logs --tail all" "$(b logs --tail all tl 2>&1 | wc -l)" 5
check "logs -t" b logs -t lg
like "-t: RFC 3339 with nanoseconds" "$(head -n1 <<<"$OUT")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z o1$'
ts2=$(b logs -t lg 2>/dev/null | sed -n 2p | cut -d' ' -f1)
is "logs --since the 2nd line's time" "$(b logs --since "$ts2" lg 2>/dev/null)" "o2
o3"
is "logs --since now: nothing" "$(b logs --since "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" lg 2>&1)" ""
is "logs --since UNIX seconds" "$(b logs --since "$(( $(date +%s) - 3600 ))" lg 2>/dev/null | wc -l)" 3
fails "logs --since garbage" 'is not a timestamp or a duration' b logs --since yesterday lg

# -f follows a running container and ends when it stops
run_d --name fl busybox sh -c "trap 'exit 0' TERM; echo first; $LOOP" >/dev/null
wait_until 5 has_log fl first
b logs -f fl >"$T_DIR/follow.out" 2>&1 &
fpid=$!
wait_until 5 grep -q first "$T_DIR/follow.out"
check "new line written" b exec fl sh -c 'echo marker-1 >/proc/1/fd/1; echo marker-2 >/proc/1/fd/2'
if wait_until 5 grep -q marker-2 "$T_DIR/follow.out"; then ok "logs -f shows new lines"; else notok "logs -f shows new lines"; cat "$T_DIR/follow.out"; fi
if alive "$fpid"; then ok "logs -f still following"; else notok "logs -f ended early"; fi
b stop fl >/dev/null
if wait_until 5 eval '! alive '"$fpid"; then ok "logs -f ends when the container stops"; else notok "logs -f still running after stop"; kill "$fpid"; fi
wait "$fpid"
is "logs -f exit status" "$?" 0
is "logs -f saw everything" "$(cat "$T_DIR/follow.out")" "first
marker-1
marker-2"
check "restart" b restart -t 1 fl
is "restart prints the name" "$OUT" fl
wait_until 5 eval '[ "$(b logs fl 2>/dev/null | grep -c first)" = 2 ]'
is "logs survive a restart" "$(b logs fl 2>&1)" "first
marker-1
marker-2
first"

# rotation
rid=$(run_d --name rot --log-opt max-size=1k --log-opt max-file=2 busybox \
	sh -c 'i=0; while [ $i -lt 300 ]; do echo "line $i padding padding padding"; i=$((i+1)); done; sleep 300')
wait_until 10 has_log rot 'line 299 '
check "rotated file <id>-json.log.1 exists" test -f "$ROOT/containers/$rid/$rid-json.log.1"
is "max-file=2: two files" "$(cd "$ROOT/containers/$rid" && ls | grep -c -- '-json\.log')" 2
big=$(find "$ROOT/containers/$rid" -name '*-json.log*' -size +1024c)
is "no log file above max-size" "$big" ""
total=$(cat "$ROOT/containers/$rid/$rid"-json.log* | wc -c)
if [ "$total" -le 2048 ]; then ok "log total stays bounded ($total bytes)"; else notok "log total $total bytes"; fi
lines=$(cat "$ROOT/containers/$rid/$rid"-json.log* | wc -l)
check "logs of a rotated log" b logs rot
is "logs reads the rotated file too (as Docker)" "$(wc -l <<<"$OUT")" "$lines"
first=$((300 - lines))
is "rotated lines come first, in order" "$(head -n1 <<<"$OUT")" "line $first padding padding padding"
is "last line" "$(tail -n1 <<<"$OUT")" "line 299 padding padding padding"
n=$((lines - 2))
is "--tail across the rotated file" "$(b logs --tail "$n" rot | head -n1)" "line $((300 - n)) padding padding padding"
fails "unknown log option" "unknown log opt 'max-foo'" b run -d --log-opt max-foo=1 busybox true

# ---- attached run ----
is "run -i passes stdin" "$(echo hi | b run -i --rm busybox cat)" hi
b run --rm --name gone busybox sh -c 'echo out; exit 4' >"$T_DIR/att.out" 2>&1
is "attached run: exit code" "$?" 4
is "attached run: output" "$(cat "$T_DIR/att.out")" out
fails "--rm removed it" 'No such object: gone' b inspect gone
b run --rm busybox nosuchcmd >"$T_DIR/att.out" 2>&1
is "missing command: 127" "$?" 127
like "missing command: message" "$(cat "$T_DIR/att.out")" 'executable file not found'
is "--rm after a failed start leaves nothing" "$(b ps -a --format '{{.Command}}' | grep -c nosuchcmd)" 0
# Ctrl-C: the CLI proxies SIGINT to the container
"$BERTH" --root "$ROOT" --runroot "$RUNROOT" run --name sig busybox \
	sh -c 'trap "echo got INT; exit 7" INT; echo ready; while :; do sleep 0.1; done' >"$T_DIR/sig.out" 2>&1 &
cpid=$!
if wait_until 10 grep -q ready "$T_DIR/sig.out"; then
	# the output is forwarded by the monitor: give the CLI a moment to
	# reach its signal handlers (before them, a background job ignores INT)
	sleep 0.5
	kill -INT "$cpid"
	wait_until 5 eval '! alive '"$cpid" || kill -9 "$cpid"
	wait "$cpid"
	is "SIGINT to the attached CLI reaches the container" "$?" 7
	like "the container's INT trap ran" "$(cat "$T_DIR/sig.out")" 'got INT'
	is "container exited 7" "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}}' sig)" "exited 7"
else
	notok "attached run did not start"; cat "$T_DIR/sig.out"; kill -9 "$cpid"
fi
b rm -f sig >/dev/null

# ---- stop, kill, restart, start, wait ----
run_d --name t5 busybox sh -c "trap 'exit 5' TERM; echo up; $LOOP" >/dev/null
run_d --name ti busybox sh -c "trap '' TERM; echo up; $LOOP" >/dev/null
run_d --name u1 --stop-signal SIGUSR1 busybox sh -c "trap 'exit 9' USR1; trap '' TERM; echo up; $LOOP" >/dev/null
run_d --name k1 busybox sh -c "trap 'echo got USR1' USR1; echo up; $LOOP" >/dev/null
for c in t5 ti u1 k1; do wait_until 5 has_log $c up; done
t5id=$(b inspect -f '{{.Id}}' t5)
t0=$(now_ms); check "stop (SIGTERM), by ID prefix" b stop "${t5id:0:9}"; t=$(( $(now_ms) - t0 ))
is "stop prints what it was given" "$OUT" "${t5id:0:9}"
if [ "$t" -lt 2000 ]; then ok "SIGTERM trap: stopped fast (${t} ms)"; else notok "stop took ${t} ms"; fi
is "exit code of the TERM trap" "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}}' t5)" "exited 5"
t0=$(now_ms); check "stop -t 1 of one ignoring TERM" b stop -t 1 ti; t=$(( $(now_ms) - t0 ))
if [ "$t" -ge 900 ] && [ "$t" -lt 4000 ]; then ok "killed after ~1 s (${t} ms)"; else notok "stop -t 1 took ${t} ms"; fi
is "killed: 137" "$(b inspect -f '{{.State.ExitCode}}' ti)" 137
t0=$(now_ms); check "stop with --stop-signal SIGUSR1" b stop u1; t=$(( $(now_ms) - t0 ))
is "stop signal honoured" "$(b inspect -f '{{.State.ExitCode}}' u1)" 9
if [ "$t" -lt 2000 ]; then ok "stop signal: fast (${t} ms)"; else notok "stop signal: ${t} ms"; fi
check "stop of a stopped container" b stop t5
is "it still prints the name" "$OUT" t5
is "and changes nothing" "$(b inspect -f '{{.State.ExitCode}}' t5)" 5
check "kill -s USR1" b kill -s USR1 k1
is "kill prints the name" "$OUT" k1
if wait_until 5 has_log k1 'got USR1'; then ok "USR1 delivered"; else notok "USR1 not delivered"; fi
is "still running after USR1" "$(b inspect -f '{{.State.Status}}' k1)" running
fails "kill -s bogus" 'invalid signal: BOGUS' b kill -s BOGUS k1
check "kill (SIGKILL)" b kill k1
wait_until 5 eval '[ "$(b inspect -f "{{.State.Status}}" k1)" = exited ]'
is "killed container: exited 137" "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}}' k1)" "exited 137"
fails "kill of a stopped container" 'is not running' b kill k1
check "wait on an exited container" b wait t5
is "wait prints the exit code" "$OUT" 5
wid=$(run_d --name w1 busybox sh -c 'sleep 0.5; exit 4')
check "wait, by ID prefix" b wait "${wid:0:8}"
is "wait blocks until the exit and prints the code" "$OUT" 4
check "wait on several" b wait t5 ti
is "one code per container" "$(tr '\n' ' ' <<<"$OUT")" "5 137 "
# start of an exited container: runs again, logs appended, RestartCount unchanged
run_d --name st busybox sh -c 'echo hello' >/dev/null
b wait st >/dev/null
check "start of an exited container" b start st
is "start prints the name" "$OUT" st
b wait st >/dev/null
is "logs appended" "$(b logs st)" "hello
hello"
is "RestartCount unchanged" "$(b inspect -f '{{.RestartCount}} {{.State.Status}}' st)" "0 exited"
old=$(b inspect -f '{{.State.Pid}}' web)
check "start of a running container is a no-op" b start web
is "same pid 1 as before" "$(b inspect -f '{{.State.Pid}}' web)" "$old"
# restart of a running container: a new pid 1
check "restart -t 0 of a running container, by ID prefix" b restart -t 0 "${id:0:6}"
is "restart prints what it was given" "$OUT" "${id:0:6}"
new=$(b inspect -f '{{.State.Pid}} {{.State.Status}}' web)
if [ "${new% *}" != "$old" ] && [ "${new#* }" = running ] && ! alive "$old"; then ok "restarted with a new pid 1"; else notok "restart: $old -> $new"; fi
# stopping 10 at once: the time of one
names=()
for i in $(seq 1 10); do
	run_d --name "c$i" busybox sh -c "trap '' TERM; echo up; $LOOP" >/dev/null
	names+=("c$i")
done
for c in "${names[@]}"; do wait_until 5 has_log "$c" up; done
t0=$(now_ms); check "stop -t 2 of 10 containers" b stop -t 2 "${names[@]}"; t=$(( $(now_ms) - t0 ))
if [ "$t" -ge 1900 ] && [ "$t" -lt 6000 ]; then ok "10 containers stopped in parallel (${t} ms)"; else notok "stopping 10 took ${t} ms"; fi
is "all 10 killed" "$(b ps -a --filter name=^c[0-9]+$ --filter exited=137 -q | wc -l)" 10
is "stop prints every name" "$(wc -l <<<"$OUT")" 10

# ---- exec ----
run_d --name ex busybox sleep 300 >/dev/null
b exec ex sh -c 'exit 42'
is "exec: exit code passes through" "$?" 42
is "exec -e" "$(b exec -e K=V -e X=1 ex sh -c 'echo $K$X')" V1
like "exec -u 65534" "$(b exec -u 65534 ex berth-test-helper ids)" '^uid=65534 gid=65534 '
is "exec -u name:group" "$(b exec -u nobody:nogroup ex id -u)" 65534
is "exec -w /tmp" "$(b exec -w /tmp ex pwd)" /tmp
b exec ex nosuchcmd >"$T_DIR/ex.out" 2>&1
is "exec of a missing command: 127" "$?" 127
like "exec of a missing command: message" "$(cat "$T_DIR/ex.out")" 'exec: "nosuchcmd": executable file not found in \$PATH'
is "exec gets stdin with -i" "$(echo piped | b exec -i ex cat)" piped
fails "exec into a stopped container" 'is not running' b exec t5 true

# ---- rm, prune ----
fails "rm of a running container" 'container is running: stop the container before removing or force remove' b rm ex
pid=$(b inspect -f '{{.State.Pid}}' ex)
exid=$(b inspect -f '{{.Id}}' ex)
check "rm -f of a running container" b rm -f ex
is "rm -f prints the name" "$OUT" ex
if alive "$pid"; then notok "its pid 1 is still alive"; else ok "rm -f killed the process"; fi
is "rm -f: no cgroup left" "$(cgroup_dirs "$exid")" ""
is "rm -f: no directory left" "$(ls "$ROOT/containers" | grep -c "$exid")" 0
fails "it is gone" 'No such container: ex' b logs ex
check "rm of an exited container" b rm t5
check "run after rm reuses the name" b run --rm --name t5 busybox true
nrun=$(b ps -q | wc -l)
check "container prune -f" b container prune -f
like "prune lists what it deleted" "$OUT" "^Deleted Containers:"
like "prune deleted the exited ones" "$OUT" "$done_id"
is "prune leaves running containers" "$(b ps -q | wc -l)" "$nrun"
is "nothing exited left" "$(b ps -a --filter status=exited -q)" ""

check_clean "end"
t_done
