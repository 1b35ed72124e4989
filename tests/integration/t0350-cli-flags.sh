#!/usr/bin/env bash
# Docker flags that used to parse and do nothing: stop/restart --signal,
# ps --size, run -a, logs --details (with --log-opt labels/env/tag), exec
# --env-file, rm --link, pull/push --disable-content-trust, and their bad
# input. Each one works as Docker's does or is refused; none is ignored.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }


# a container that tells which signal ended it
TRAPS='trap "echo got USR1; exit 7" USR1; trap "echo got TERM; exit 3" TERM; echo up; while :; do sleep 0.1; done'

# ---- stop / restart --signal ----
check "run the signal reporter" run_d --name sig busybox sh -c "$TRAPS"
wait_until 5 has_log sig up
exits "stop --signal with a bad name" 1 b stop --signal NOPE sig
like "the bad signal is named" "$OUT" 'invalid signal: NOPE'
is "a refused stop leaves the container running" "$(b inspect -f '{{.State.Status}}' sig)" running
exits "restart --signal with a bad name" 1 b restart --signal SIGNOPE sig
like "restart names the bad signal" "$OUT" 'invalid signal: SIGNOPE'
exits "stop -s RTMIN+100 (past the real-time range)" 1 b stop -s RTMIN+100 sig
like "the out-of-range signal is named" "$OUT" 'invalid signal: RTMIN\+100'
is "still running after the refused stop and restart" "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}}' sig)" "running 0"
check "stop --signal SIGUSR1" b stop --signal SIGUSR1 sig
is "stop prints the name" "$OUT" sig
is "the container got SIGUSR1, not its stop signal" "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}}' sig)" "exited 7"
like "its log says so" "$(b logs sig)" 'got USR1'
check "start it again" b start sig
wait_until 5 state_is sig "running 0"
check "restart -s usr1 (lower case, no SIG)" b restart -s usr1 sig
is "restart: running again" "$(b inspect -f '{{.State.Status}}' sig)" running
is "restart sent SIGUSR1 (two USR1 lines in the log)" "$(b logs sig | grep -c 'got USR1')" 2
check "stop with a number: -s 15" b stop -s 15 sig
is "stop -s 15 is SIGTERM" "$(b inspect -f '{{.State.ExitCode}}' sig)" 3
check "without --signal the stop signal stays SIGTERM" b run -d --name sig2 busybox sh -c "$TRAPS"
wait_until 5 has_log sig2 up
b stop sig2 >/dev/null
is "plain stop: SIGTERM" "$(b inspect -f '{{.State.ExitCode}}' sig2)" 3

# ---- ps --size ----
check "a container that writes 100 kB" b run --name big busybox sh -c 'dd if=/dev/zero of=/f bs=1000 count=100 2>/dev/null'
check "ps -a -s" b ps -a -s
like "ps --size adds the SIZE column" "$(head -1 <<<"$OUT")" 'NAMES +SIZE$'
like "SIZE is writable (virtual writable+image)" "$(grep ' big ' <<<"$OUT")" ' 10[0-9]kB \(virtual [0-9.]+MB\)$'
like "--format {{.Size}}" "$(b ps -a --size --filter name=big --format '{{.Size}}')" '^10[0-9]kB \(virtual [0-9.]+MB\)$'
like "without --size no SIZE column" "$(b ps -a | head -1)" 'NAMES$'
check "a created container (empty writable layer)" b create --name fresh busybox true
like "ps -s of a fresh container: 0B (virtual image size)" "$(b ps -a -s --filter name=fresh --format '{{.Size}}')" '^0B \(virtual [0-9.]+MB\)$'
# Docker asks for the sizes when the template reads .Size, unless --size=false
like "--format {{.Size}} alone computes the size, as Docker" "$(b ps -a --filter name=big --format '{{.Names}} {{.Size}}')" '^big 10[0-9]kB \(virtual [0-9.]+MB\)$'
like "--format {{json .}} too" "$(b ps -a --filter name=big --format '{{json .}}')" '"Size":"10[0-9]kB \(virtual [0-9.]+MB\)"'
is "--size=false keeps it off" "$(b ps -a --size=false --filter name=big --format '{{.Size}}')" 0B
like "--format json (not a template) does not ask for it, as Docker" "$(b ps -a --filter name=big --format json)" '"Size":"0B"'
exits "ps --size=maybe" 1 b ps --size=maybe
like "the bad bool is named" "$OUT" 'invalid argument "maybe" for "-s, --size" flag'

# ---- run -a ----
# shellcheck disable=SC2016
both='echo to-out; echo to-err >&2'
out=$(b run --rm -a stdout busybox sh -c "$both" 2>"$T_DIR/err")
is "run -a stdout: stdout shown" "$out" to-out
is "run -a stdout: stderr not shown" "$(cat "$T_DIR/err")" ""
out=$(b run --rm -a STDERR busybox sh -c "$both" 2>"$T_DIR/err")
is "run -a STDERR: stdout not shown" "$out" ""
is "run -a STDERR: stderr shown" "$(cat "$T_DIR/err")" to-err
out=$(b run --rm -a stdout -a stderr busybox sh -c "$both" 2>&1)
is "run -a stdout -a stderr: both" "$(sort <<<"$out" | tr '\n' ' ')" "to-err to-out "
check "run -a stdout keeps the other stream in the log" b run --name alog -a stdout busybox sh -c "$both"
is "both streams in the log" "$(b logs alog 2>&1 | sort | tr '\n' ' ')" "to-err to-out "
is "inspect: AttachStdout only" "$(b inspect -f '{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}}' alog)" "false true false"
out=$(echo hi | b run --rm -i -a stdin -a stdout busybox cat)
is "run -i -a stdin -a stdout: input reaches the container" "$out" hi
n0=$(b ps -a -q | wc -l)
exits "run -a with a bad stream" 125 b run --rm -a stdlog busybox true
like "the bad stream is named" "$OUT" 'invalid argument "stdlog" for "-a, --attach" flag'
exits "run -d -a" 125 b run -d -a stdout busybox true
like "-a with -d is a conflict" "$OUT" 'Conflicting options: -a and -d'
is "no container made by the refused runs" "$(b ps -a -q | wc -l)" "$n0"

# ---- logs --details ----
check "run with log attrs" b run --name det -l app=web -l tier='front end' -e FOO=bar -e SECRET=x \
	--log-opt labels=app,tier --log-opt env=FOO --log-opt tag='{{.Name}}/t' busybox echo hello
check "logs --details" b logs --details det
is "attrs sorted and query-escaped before the line" "$OUT" 'FOO=bar,app=web,tag=det%2Ft,tier=front+end hello'
is "plain logs have no attrs" "$(b logs det)" hello
id=$(b inspect -f '{{.Id}}' det)
like "the json-file entry holds the attrs" "$(cat "$ROOT/containers/$id/$id-json.log")" '"attrs":\{"FOO":"bar","app":"web","tag":"det/t","tier":"front end"\}'
b run --name nodet busybox echo plain >/dev/null
is "logs --details without attrs: a leading space, as Docker" "$(b logs --details nodet)" ' plain'
check "--log-opt env-regex / labels-regex" b run --name det2 -l x.a=1 -l y=2 -e APP_ONE=1 -e OTHER=2 \
	--log-opt labels-regex='^x\.' --log-opt env-regex='^APP_' busybox echo r
is "regex attrs" "$(b logs --details det2)" 'APP_ONE=1,x.a=1 r'
exits "an unknown log opt" 125 b run --rm --log-opt colour=red busybox true
like "the unknown log opt is named" "$OUT" "unknown log opt 'colour'"
check "tag with Go's spacing: {{ .Name }}" b run --name det3 --log-opt tag='{{ .Name }}@{{.ImageName}}' busybox echo sp
is "tag filled in" "$(b logs --details det3)" 'tag=det3%40busybox sp'
id3=$(b inspect -f '{{.Id}}' det3)
like "json-file keys in Docker's order: log, stream, attrs, time" "$(cat "$ROOT/containers/$id3/$id3-json.log")" '^\{"log":"sp\\n","stream":"stdout","attrs":\{"tag":"det3@busybox"\},"time":"[^"]+"\}$'
n0=$(b ps -a -q | wc -l)
exits "a tag template berth cannot fill in" 125 b run --name badtag --log-opt tag='{{.Hostname}}' busybox true
like "the template is named" "$OUT" 'tag=\{\{.Hostname\}\}: berth fills in'
exits "a labels-regex that does not compile" 125 b create --log-opt labels-regex='(' busybox true
like "the regex is named" "$OUT" 'labels-regex=\(: not a valid regular expression'
check "--log-opt compress=true" b run --rm --log-opt max-size=1m --log-opt max-file=2 --log-opt compress=true busybox true
like "compress says it has no effect" "$OUT" 'berth run: --log-opt compress=true has no effect in berth: rotated log files are kept uncompressed'
exits "--log-opt compress=maybe" 125 b run --rm --log-opt compress=maybe busybox true
like "the bad compress value is named" "$OUT" 'compress: "maybe"'
is "no container made by the refused log options" "$(b ps -a -q | wc -l)" "$n0"
check "--log-driver local" b run --name ldl --log-driver local busybox echo via-local
like "local says it is kept as json-file" "$OUT" 'berth run: --log-driver local has no effect in berth: the log is kept in the json-file format'
is "and logs reads it" "$(b logs ldl)" via-local
n0=$(b ps -a -q | wc -l)

# ---- run --sig-proxy ----
exits "run --sig-proxy=maybe" 125 b run --rm --sig-proxy=maybe busybox true
like "the bad bool is named" "$OUT" 'invalid argument "maybe" for "--sig-proxy" flag'
check "run --sig-proxy=false" b run --rm --sig-proxy=false busybox echo np
is "run --sig-proxy=false runs" "$OUT" np
check "run --sig-proxy IMAGE: the flag takes no separate value" b run --rm --sig-proxy busybox echo sp2
is "--sig-proxy alone is true and the image stays the image" "$OUT" sp2
is "no container made by the refused --sig-proxy" "$(b ps -a -q | wc -l)" "$n0"

# ---- exec --env-file and -e KEY ----
check "a running container for exec" run_d --name ex busybox sleep 300
printf '# comment\nA=1\n\nB=two words\nFROMHOST\n' >"$T_DIR/env"
check "exec --env-file" env FROMHOST=h "$BERTH" --root "$ROOT" --runroot "$RUNROOT" exec --env-file "$T_DIR/env" -e A=override ex sh -c 'echo "$A|$B|$FROMHOST"'
is "env-file values, -e wins, KEY alone from the caller" "$OUT" "override|two words|h"
check "exec -e KEY takes the caller's value" env ONLYKEY=v "$BERTH" --root "$ROOT" --runroot "$RUNROOT" exec -e ONLYKEY ex sh -c 'echo "$ONLYKEY"'
is "exec -e KEY" "$OUT" v
printf 'GOOD=1\nBAD KEY=2\n' >"$T_DIR/badenv"
exits "exec --env-file with a bad line" 1 b exec --env-file "$T_DIR/badenv" ex true
like "the file and line are named" "$OUT" "badenv:2: variable \"BAD KEY=2\" contains whitespaces"
exits "exec --env-file missing" 1 b exec --env-file "$T_DIR/none" ex true
like "the missing file is named" "$OUT" 'none'
exits "exec -E is not a flag (Docker has none)" 1 b exec -E x ex true

# ---- rm --link ----
check "a stopped container" b create --name lk busybox true
exits "rm --link" 1 b rm --link lk
like "rm --link says there are no links" "$OUT" 'no legacy container links'
is "rm --link did not remove the container" "$(b ps -a --filter name=lk -q | wc -l)" 1

# ---- pull/push --disable-content-trust ----
exits "pull --disable-content-trust=false" 1 b pull --disable-content-trust=false localhost:1/x
like "content trust is refused, not skipped" "$OUT" 'content trust .* not supported by berth'
exits "push --disable-content-trust=false" 1 b push --disable-content-trust=false busybox
like "push: content trust refused" "$OUT" 'content trust .* not supported by berth'
exits "pull --disable-content-trust=maybe" 125 b pull --disable-content-trust=maybe localhost:1/x
like "a bad bool is named" "$OUT" 'invalid argument "maybe"'
exits "pull --disable-content-trust (Docker's default) goes on to pull" 1 b pull --disable-content-trust 127.0.0.1:1/x
unlike "the default is accepted quietly" "$OUT" 'content trust'

# ---- build --rm / --force-rm (Docker's BuildKit ignores both) ----
mkdir -p "$T_DIR/ctx"
printf 'FROM busybox\nRUN echo built >/b\n' >"$T_DIR/ctx/Dockerfile"
n0=$(b ps -a -q | wc -l)
check "build --force-rm" b build --network none --force-rm -q -t frm:1 "$T_DIR/ctx"
check "build --rm=false --force-rm=true" b build --network none --rm=false --force-rm=true -q -t frm:2 "$T_DIR/ctx"
is "no build container left behind" "$(b ps -a -q | wc -l)" "$n0"
is "the image was built" "$(b run --rm frm:2 cat /b)" built
exits "build --rm=maybe" 1 b build --network none --rm=maybe "$T_DIR/ctx"
like "the bad bool is named" "$OUT" 'invalid argument "maybe" for "--rm" flag'

# ---- rmi --no-prune (no parent chain: the same result as Docker) ----
check "a second name for busybox" b tag busybox nop:1
check "rmi --no-prune" b rmi --no-prune nop:1
is "only the name went" "$OUT" "Untagged: nop:1"
like "busybox is still there" "$(b images --format '{{.Repository}}')" '^busybox$'

# ---- volume create --opt ----
exits "volume create -o type=tmpfs" 1 b volume create -o type=tmpfs -o device=tmpfs tv
like "driver options are refused, not ignored" "$OUT" 'driver options .* are not supported'
is "no volume made" "$(b volume ls -q)" ""

for n in sig sig2 big fresh alog det nodet det2 det3 ldl ex lk; do b rm -f "$n" >/dev/null 2>&1; done
check_clean "after the flag tests"
t_done
