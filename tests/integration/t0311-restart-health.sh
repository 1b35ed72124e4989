#!/usr/bin/env bash
# Restart policies, healthchecks, fault tolerance (killed monitors and
# CLIs), and a comparison with docker's ps STATUS and wait output.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-peers.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

# ---- restart policies ----
run_d --name of --restart on-failure:3 busybox sh -c 'echo run; exit 1' >/dev/null
run_d --name al --restart always busybox sh -c 'echo run; exit 0' >/dev/null
run_d --name no1 busybox sh -c 'echo run; exit 1' >/dev/null
# back-off 100, 200, 400 ms
if wait_until 10 state_is of "exited 3"; then ok "on-failure:3: RestartCount 3, then exited"; else notok "on-failure:3: $(b inspect -f '{{.State.Status}} {{.RestartCount}}' of)"; fi
is "on-failure:3: ran 4 times" "$(b logs of | grep -c run)" 4
is "on-failure:3: the last exit code" "$(b inspect -f '{{.State.ExitCode}} {{.State.Error}}' of)" "1 "
like "ps shows it exited" "$(b ps -a --filter name=^of$ --format '{{.Status}}')" '^Exited \(1\) '
is "no policy: the default" "$(b inspect -f '{{.HostConfig.RestartPolicy.Name}}' no1)" no
is "no policy: not restarted" "$(b inspect -f '{{.State.Status}} {{.RestartCount}}' no1)" "exited 0"
is "no policy: ran once" "$(b logs no1 | grep -c run)" 1
if wait_until 10 eval '[ "$(b inspect -f "{{.RestartCount}}" al)" -ge 3 ]'; then ok "always: keeps restarting after exit 0"; else notok "always: $(b inspect -f '{{.State.Status}} {{.RestartCount}}' al)"; fi
like "always: ps shows Up or Restarting" "$(b ps --filter name=^al$ --format '{{.Status}}')" '^(Up |Restarting \(0\) )'
t0=$(now_ms); check "stop of an always container" b stop -t 1 al; t=$(( $(now_ms) - t0 ))
if [ "$t" -lt 3000 ]; then ok "stop does not wait out the back-off (${t} ms)"; else notok "stop took ${t} ms"; fi
after=$(b inspect -f '{{.State.Status}} {{.RestartCount}}' al)
like "always: exited after stop" "$after" '^exited [0-9]+$'
runs=$(b logs al | grep -c run)
sleep 1.5
is "always: not restarted after stop" "$(b inspect -f '{{.State.Status}} {{.RestartCount}}' al)" "$after"
is "always: no new run after stop" "$(b logs al | grep -c run)" "$runs"
# a long back-off: stop and rm -f must not wait for it
run_d --name bo --restart always busybox sh -c 'exit 2' >/dev/null
wait_until 10 eval '[ "$(b inspect -f "{{.RestartCount}}" bo)" -ge 5 ]'   # next delay >= 1.6 s
wait_until 5 eval '[ "$(b inspect -f "{{.State.Status}}" bo)" = restarting ]'
t0=$(now_ms); check "rm -f of a restarting container" b rm -f bo; t=$(( $(now_ms) - t0 ))
if [ "$t" -lt 1500 ]; then ok "rm -f cuts the back-off short (${t} ms)"; else notok "rm -f took ${t} ms"; fi
# start again after a stop: the policy applies again
check "start of a stopped always container" b start al
if wait_until 10 eval '[ "$(b logs al | grep -c run)" -ge $((runs + 2)) ]'; then ok "always: restarts again after start"; else notok "always after start: $(b logs al | grep -c run) runs"; fi
check "stop it again" b stop -t 1 al
fails "--restart bogus" 'invalid restart policy: bogus' b run -d --restart bogus busybox true
fails "--restart on-failure:x" 'invalid restart policy' b run -d --restart on-failure:x busybox true
fails "--restart always:3" 'invalid restart policy' b run -d --restart always:3 busybox true
fails "--rm with --restart always" 'conflicting options: cannot specify both --restart and --rm' b run --rm --restart always busybox true
is "refused runs leave no container" "$(b ps -a --format '{{.Names}}' | sort | tr '\n' ' ')" "al no1 of "

# ---- healthchecks ----
run_d --name h1 --health-cmd 'test -f /tmp/ok' --health-interval 500ms --health-retries 2 busybox sleep 300 >/dev/null
like "ps: (health: starting)" "$(b ps --filter name=^h1$ --format '{{.Status}}')" '^Up .* \(health: starting\)$'
if wait_until 5 status_like h1 'Up .* \(unhealthy\)$'; then ok "ps: (unhealthy) after 2 failures"; else notok "not unhealthy: $(b ps --format '{{.Names}} {{.Status}}')"; fi
check "inspect .State.Health" b inspect -f '{{json .State.Health}}' h1
like "Health.Status unhealthy" "$OUT" '"Status":"unhealthy"'
like "Health.FailingStreak" "$OUT" '"FailingStreak":[2-9]'
like "Health.Log entries" "$OUT" '"Log":\[\{"Start":"[^"]+","End":"[^"]+","ExitCode":1,"Output":""\}'
is "--filter health=unhealthy" "$(b ps --filter health=unhealthy --format '{{.Names}}')" h1
check "exec touch /tmp/ok" b exec h1 touch /tmp/ok
if wait_until 5 status_like h1 'Up .* \(healthy\)$'; then ok "ps: (healthy) after the check passes"; else notok "not healthy: $(b ps --format '{{.Names}} {{.Status}}')"; fi
like "FailingStreak reset" "$(b inspect -f '{{json .State.Health}}' h1)" '"Status":"healthy","FailingStreak":0,'
is "inspect .State.Health.Status" "$(b inspect -f '{{.State.Health.Status}}' h1)" healthy
run_d --name h2 --health-cmd 'echo checked; exit 3' --health-interval 200ms busybox sleep 300 >/dev/null
wait_until 5 eval 'b inspect -f "{{json .State.Health}}" h2 | grep -q ExitCode'
like "check output and exit code in the Log" "$(b inspect -f '{{json .State.Health.Log}}' h2)" '"ExitCode":3,"Output":"checked\\n"'
b import -c 'CMD ["sh"]' -c 'HEALTHCHECK --interval=1s CMD true' "$(busybox_tar)" hc:1 >/dev/null
run_d --name h3 hc:1 sleep 300 >/dev/null
if wait_until 5 status_like h3 'Up .* \(healthy\)$'; then ok "the image's HEALTHCHECK runs"; else notok "image healthcheck: $(b ps --format '{{.Names}} {{.Status}}')"; fi
run_d --name h4 --no-healthcheck hc:1 sleep 300 >/dev/null
sleep 1.3
like "--no-healthcheck: no health in ps" "$(b ps --filter name=^h4$ --format '{{.Status}}')" '^Up [^(]*$'
is "--no-healthcheck: no .State.Health" "$(b inspect -f '{{json .State.Health}}' h4)" null
is "--no-healthcheck: Test NONE" "$(b inspect -f '{{json .Config.Healthcheck.Test}}' h4)" '["NONE"]'
run_d --name h5 --health-cmd false --health-interval 200ms --health-retries 1 --health-start-period 2s busybox sleep 300 >/dev/null
checks() { b inspect -f '{{json .State.Health.Log}}' "$1" | grep -o '"ExitCode":1' | wc -l; }
wait_until 5 eval '[ "$(checks h5)" -ge 2 ]'
check "inspect during the start period" b inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' h5
is "start period: failures do not count" "$OUT" "starting 0"
like "start period: the failures are logged" "$(checks h5)" '^[2-9]$'
if wait_until 5 status_like h5 'Up .* \(unhealthy\)$'; then ok "unhealthy once the start period is over"; else notok "h5: $(b inspect -f '{{json .State.Health}}' h5)"; fi
before=$(b inspect -f '{{json .State.Health}}' h1)
check "stop a container with a healthcheck" b stop -t 0 h1
after=$(b inspect -f '{{.State.Status}} {{.State.Health.Status}} {{.State.Health.FailingStreak}}' h1)
is "stopped: unhealthy, as Docker" "$after" "exited unhealthy 0"
[ "$after" = "exited unhealthy 0" ] || echo "#   health before the stop: $before"
like "ps of an exited container shows no health" "$(b ps -a --filter name=^h1$ --format '{{.Status}}')" '^Exited \(137\) [^(]*$'
b rm -f h1 h2 h3 h4 h5 >/dev/null

# ---- fault tolerance ----
# monitor and pid 1 killed: the container is exited, rm cleans up
fid=$(run_d --name ft1 busybox sleep 300)
mp=$(monitor_pid ft1); pp=$(b inspect -f '{{.State.Pid}}' ft1)
if [ -n "$mp" ] && alive "$mp" && alive "$pp"; then ok "state.json has a live MonitorPid"; else notok "monitor $mp pid $pp"; fi
kill -9 "$mp" "$pp"
wait_until 5 eval '! alive '"$pp"
like "ps -a: exited, not Up" "$(b ps -a --filter name=^ft1$ --format '{{.Status}}')" '^Exited \(255\) '
like "inspect says why" "$(b inspect -f '{{.State.Status}} {{.State.Error}}' ft1)" "^exited the container's monitor process is gone$"
check "rm without -f" b rm ft1
is "no cgroup left" "$(cgroup_dirs "$fid")" ""
is "no files left" "$(ls "$ROOT/containers" | grep -c "$fid")" 0
# monitor killed, the container keeps running: rm -f still kills it
fid=$(run_d --name ft2 busybox sleep 300)
mp=$(monitor_pid ft2); pp=$(b inspect -f '{{.State.Pid}}' ft2)
kill -9 "$mp"
wait_until 5 eval '! alive '"$mp"
sleep 0.2
if alive "$pp"; then ok "the container outlives its monitor"; else notok "the container died with its monitor"; fi
like "ps: still Up (its pid 1 runs)" "$(b ps --filter name=^ft2$ --format '{{.Status}}')" '^Up '
check "exec still works" b exec ft2 true
check "rm -f without a monitor" b rm -f ft2
if alive "$pp"; then notok "pid 1 survived rm -f"; else ok "rm -f killed the orphaned container"; fi
is "no cgroup left" "$(cgroup_dirs "$fid")" ""
is "no process in its cgroup" "$(procs_in "$fid")" ""
# stop of an orphaned container
run_d --name ft3 busybox sh -c "trap 'exit 0' TERM; while :; do sleep 0.1; done" >/dev/null
mp=$(monitor_pid ft3); pp=$(b inspect -f '{{.State.Pid}}' ft3)
kill -9 "$mp"; wait_until 5 eval '! alive '"$mp"
check "stop of an orphaned container" b stop -t 1 ft3
if alive "$pp"; then notok "stop left it running"; else ok "stop stopped it"; fi
like "and it is recorded as exited" "$(b inspect -f '{{.State.Status}}' ft3)" '^exited$'
b rm -f ft3 >/dev/null

# chaos: kill the CLI or the monitors at random moments
# (RANDOM: each run differs; the seed is printed to reproduce)
seed=${CHAOS_SEED:-$$}; RANDOM=$seed
echo "# chaos seed $seed"
bad=0
for i in $(seq 1 16); do
	delay=$(printf '0.%03d' $((RANDOM % 250)))
	case $((RANDOM % 4)) in
	0)	# the CLI during run -d
		b run -d --name "x$i" busybox sleep 300 >/dev/null 2>&1 &
		p=$!; sleep "$delay"; kill -9 $p 2>/dev/null; wait $p 2>/dev/null ;;
	1)	# the monitor (and the CLI) during run -d
		b run -d --name "x$i" busybox sleep 300 >/dev/null 2>&1 &
		p=$!; sleep "$delay"
		for q in $(pgrep -f -- "--root $ROOT .* --name x$i "); do kill -9 "$q" 2>/dev/null; done
		wait $p 2>/dev/null ;;
	2)	# the CLI during stop
		b run -d --name "x$i" busybox sleep 300 >/dev/null 2>&1
		b stop -t 1 "x$i" >/dev/null 2>&1 &
		p=$!; sleep "$delay"; kill -9 $p 2>/dev/null; wait $p 2>/dev/null ;;
	3)	# the CLI during rm -f
		b run -d --name "x$i" busybox sleep 300 >/dev/null 2>&1
		b rm -f "x$i" >/dev/null 2>&1 &
		p=$!; sleep "$delay"; kill -9 $p 2>/dev/null; wait $p 2>/dev/null ;;
	esac
	if ! out=$(b ps -a 2>&1); then bad=$((bad + 1)); echo "# ps -a failed: $out"; fi
done
is "chaos: ps -a stayed readable" "$bad" 0
for id in $(ls "$ROOT/containers"); do [[ $id =~ ^[0-9a-f]{64}$ ]] && echo "$id" >>"$T_DIR/ids"; done
check "chaos: ps -a" b ps -a
# a container whose pid 1 died a moment ago is Up until its monitor has
# recorded the exit: give the monitor (on a loaded machine) 5 s to do so
up_dead=
for c in $(b ps -q); do
	p=$(b inspect -f '{{.State.Pid}}' "$c")
	for _ in $(seq 1 50); do
		alive "$p" && break
		[ "$(b inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || break
		sleep 0.1
	done
	[ "$(b inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] && ! alive "$(b inspect -f '{{.State.Pid}}' "$c")" &&
		up_dead="$up_dead $c"
done
is "chaos: every Up container has a live pid 1" "$up_dead" ""
check_clean "after chaos"

# ---- docker: the same STATUS text and wait output ----
peer_docker
img=$(peer_ref docker bb)
docker import -c 'CMD ["sh"]' "$(busybox_tar)" "$img" >/dev/null
docker_track "$img"
dn="berth-it-$T_NAME-$$"
docker run -d --network none --name "$dn" "$img" sh -c 'sleep 0.3; exit 3' >/dev/null
run_d --name cmp busybox sh -c 'sleep 0.3; exit 3' >/dev/null
dw=$(docker wait "$dn"); bw=$(b wait cmp)
is "wait output as docker's" "$bw" "$dw"
norm() { sed -E 's/[0-9]+ seconds?|Less than a second|About a minute/T/'; }
is "exited STATUS as docker's" "$(b ps -a --filter name=^cmp$ --format '{{.Status}}' | norm)" \
	"$(docker ps -a --filter "name=^$dn\$" --format '{{.Status}}' | norm)"
docker rm -f "$dn" >/dev/null
docker run -d --network none --name "$dn" "$img" sleep 300 >/dev/null
run_d --name cmp2 busybox sleep 300 >/dev/null
is "running STATUS as docker's" "$(b ps --filter name=^cmp2$ --format '{{.Status}}' | norm)" \
	"$(docker ps --filter "name=^$dn\$" --format '{{.Status}}' | norm)"
docker rm -f "$dn" >/dev/null
b rm -f cmp cmp2 >/dev/null
check_clean "end"
t_done
