#!/usr/bin/env bash
# berth attach and detaching: both streams apart and in order, input,
# exit codes, several clients at once, clients that die or fall behind,
# signals, the detach keys with a tty (run -it, start -ai, attach) and
# reattaching, refusals.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
command -v python3 >/dev/null || skip_all "python3 is needed to drive a pty"
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }

# pty CMD...: run a berth command on a new pty (tests/integration/pty-drive.py)
# (background clients run "${BB[@]}", not b: $! must be berth itself)
pty() { python3 "$TESTS_DIR/integration/pty-drive.py" "$@"; }
BB=("$BERTH" --root "$ROOT" --runroot "$RUNROOT")
id_of() { b inspect -f '{{.Id}}' "$1"; }
lines() { wc -l <"$1"; }
# consecutive FILE WORD: every line is "WORD N", N counting up by one
consecutive() {
	awk -v w="$2" '$1 != w || NF != 2 || (NR > 1 && $2 != n + 1) { bad = 1 } { n = $2 } END { exit bad || NR < 3 }' "$1"
}

# ---- refusals ----
fails "attach to an unknown container" '^Error: No such container: nope$' b attach nope
fails "container attach (alias)" '^Error: No such container: nope$' b container attach nope
fails "one container exactly" 'requires exactly 1 argument' b attach a b
b create --name cr busybox true >/dev/null
fails "attach to a created container" '^Error: You cannot attach to a stopped container, start it first$' b attach cr
fails "bad detach keys" 'Invalid detach keys \(ctrl-xx\) provided' b attach --detach-keys=ctrl-xx cr
run_d --name pz busybox sleep 300 >/dev/null
b pause pz >/dev/null
fails "attach to a paused container" 'You cannot attach to a paused container, unpause it first' b attach pz
b rm -f pz cr >/dev/null

# ---- both streams, stdin, the exit code ----
run_d -i --name io busybox sh -c 'read x; for i in 1 2 3; do echo "o$i $x"; echo "e$i" >&2; done; exit 3' >/dev/null
io=$(id_of io)
[ -S "$RUNROOT/$io/attach.sock" ] && ok "the monitor listens on RUNROOT/ID/attach.sock" || notok "no attach.sock"
is "the socket's directory is 0700" "$(stat -c %a "$RUNROOT/$io")" 700
echo hello | b attach io >"$T_DIR/io.out" 2>"$T_DIR/io.err"
is "attach ends with the container's exit code" "$?" 3
is "stdout on stdout, in order (input reached the container)" "$(cat "$T_DIR/io.out")" "o1 hello
o2 hello
o3 hello"
is "stderr on stderr, in order" "$(cat "$T_DIR/io.err")" "e1
e2
e3"
is "state after the exit" "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}}' io)" "exited 3"
if [ -e "$RUNROOT/$io" ]; then notok "the socket is left: $(ls -A "$RUNROOT/$io")"; else ok "the socket went with the monitor"; fi
fails "attach to an exited container" '^Error: You cannot attach to a stopped container, start it first$' b attach io

# ---- a cat: input from a client that stays, then from a second one ----
run_d -i --name cat busybox cat >/dev/null
mkfifo "$T_DIR/cat.in"
exec 8<>"$T_DIR/cat.in"
"${BB[@]}" attach cat <"$T_DIR/cat.in" >"$T_DIR/cat.out" 2>&1 &
cpid=$!
echo "line one" >&8
if wait_until 10 grep -q "line one" "$T_DIR/cat.out"; then ok "-i: input goes in, its echo comes back"; else notok "-i: no echo: $(cat "$T_DIR/cat.out")"; fi
printf 'p\x10\x11q\n' >&8
wait_until 5 grep -q "^p" "$T_DIR/cat.out"
is "without a tty the detach keys are data (as with Docker)" "$(grep '^p' "$T_DIR/cat.out" | od -An -c | tr -s ' ')" \
	" p 020 021 q \n"
alive $cpid && ok "and the client stays" || notok "the client left"
exec 8>&-   # EOF on the first client's stdin: its output goes on, the container's stdin stays open
echo "line two" | "${BB[@]}" attach --sig-proxy=false cat >"$T_DIR/cat2.out" 2>&1 &
c2pid=$!
if wait_until 10 grep -q "line two" "$T_DIR/cat.out"; then ok "after one client's EOF: input from another, output to both"; else notok "after EOF: $(cat "$T_DIR/cat.out")"; fi
wait_until 5 grep -q "line two" "$T_DIR/cat2.out"
is "the second client got it too" "$(cat "$T_DIR/cat2.out")" "line two"
b kill cat >/dev/null
wait $cpid
is "kill: the first client exits 137" "$?" 137
wait $c2pid
is "kill: the second client exits 137" "$?" 137

# ---- a container printing lines: two clients, one killed -9 ----
run_d --name tick busybox sh -c 'trap "exit 7" TERM; i=0; while :; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); sleep 0.05; done' >/dev/null
"${BB[@]}" attach --sig-proxy=false tick >"$T_DIR/a.out" 2>"$T_DIR/a.err" &
apid=$!
"${BB[@]}" attach --no-stdin tick >"$T_DIR/b.out" 2>"$T_DIR/b.err" &
bpid=$!
if wait_until 10 eval '[ "$(lines "$T_DIR/a.out")" -ge 5 ] && [ "$(lines "$T_DIR/b.out")" -ge 5 ]'; then
	ok "two clients at once both get the output"
else
	notok "two clients: $(lines "$T_DIR/a.out") and $(lines "$T_DIR/b.out") lines"
fi
consecutive "$T_DIR/a.out" out && ok "client 1: stdout in order" || notok "client 1 stdout: $(head -5 "$T_DIR/a.out")"
consecutive "$T_DIR/a.err" err && ok "client 1: stderr in order" || notok "client 1 stderr: $(head -5 "$T_DIR/a.err")"
mon=$(monitor_pid tick)
kill -9 "$apid"
wait "$apid" 2>/dev/null
n=$(lines "$T_DIR/b.out")
if wait_until 5 eval '[ "$(lines "$T_DIR/b.out")" -ge $((n + 10)) ]'; then ok "client 1 killed -9: client 2 still gets output"; else notok "client 2 stalled at $n lines"; fi
is "and the container runs on" "$(b inspect -f '{{.State.Status}}' tick)" running
alive "$mon" && ok "its monitor too" || notok "the monitor died"
b stop tick >/dev/null
wait "$bpid"
is "stop: the attached client exits with the container's code" "$?" 7
consecutive "$T_DIR/b.out" out && ok "client 2: stdout complete and in order" || notok "client 2 stdout: $(head -5 "$T_DIR/b.out")"
consecutive "$T_DIR/b.err" err && ok "client 2: stderr complete and in order" || notok "client 2 stderr: $(head -5 "$T_DIR/b.err")"

# ---- --sig-proxy (the default, without a tty) ----
run_d --name sg busybox sh -c 'trap "echo got INT; exit 9" INT; while :; do echo tick; sleep 0.1; done' >/dev/null
"${BB[@]}" attach sg >"$T_DIR/sg.out" 2>&1 &
spid=$!
if wait_until 10 grep -q tick "$T_DIR/sg.out"; then
	kill -INT "$spid"
	wait_until 5 eval '! alive '"$spid" || kill -9 "$spid"
	wait "$spid"
	is "SIGINT to attach reaches the container" "$?" 9
	like "its trap ran" "$(cat "$T_DIR/sg.out")" 'got INT'
else
	notok "attach to sg printed nothing"; kill -9 "$spid"
fi

# ---- a client that falls behind is dropped; the others and the container go on ----
run_d -i --name flood busybox sh -c 'read x; head -c 4000000 /dev/zero; echo; echo done; exec sleep 300' >/dev/null
mkfifo "$T_DIR/slow"
exec 7<>"$T_DIR/slow"   # nobody reads it: the client blocks writing, stops reading
"${BB[@]}" attach --no-stdin flood >&7 2>"$T_DIR/slow.err" &
slow=$!
wait_until 5 eval 'ls -l /proc/'"$slow"'/fd | grep -q socket'
sleep 0.3
t0=$(now_ms)
echo go | "${BB[@]}" attach --sig-proxy=false flood >"$T_DIR/fast.out" 2>&1 &
fast=$!
if wait_until 20 grep -q done "$T_DIR/fast.out"; then
	ok "4 MB to a client while another one reads nothing ($(( $(now_ms) - t0 )) ms)"
else
	notok "the output stalled behind a slow client"
fi
is "the reading client got all of it" "$(wc -c <"$T_DIR/fast.out")" $((4000000 + 6))
timeout 5 cat <&7 >/dev/null   # let the slow one read on: it learns it was dropped
wait "$slow"
is "the slow client: status 1" "$?" 1
like "and why" "$(cat "$T_DIR/slow.err")" "fell behind the container's output"
exec 7>&-
is "flood still runs" "$(b inspect -f '{{.State.Status}}' flood)" running
kill -9 "$fast"
wait "$fast" 2>/dev/null
b rm -f flood >/dev/null

# ---- a tty: run -it, detach, reattach, custom keys, exit ----
out=$(pty 'expect=# ' 'send=echo rdy$((2+3))\r' 'expect=rdy5' 'send=\x10\x11' log="$T_DIR/tt1" -- "${BB[@]}" run -it --name tt busybox sh)
is "run -it: ctrl-p ctrl-q ends the CLI with 0, the terminal put back" "$out" "exit 0
tty cooked"
if grep -q "escape" "$T_DIR/tt1"; then notok "run -it printed: $(cat -v "$T_DIR/tt1")"; else ok "run -it: detaching prints nothing"; fi
is "the container runs on" "$(b inspect -f '{{.State.Status}}' tt)" running
out=$(pty size=33x101 'send=\r' 'expect=# ' 'send=echo ag$((1+1))\r' 'expect=ag2' 'send=stty size\r' 'expect=33 101' \
	'send=\x10\x11' log="$T_DIR/tt2" -- "${BB[@]}" attach tt)
is "attach: reattached (the tty takes the client's size), then ctrl-p ctrl-q: status 1 (as docker attach)" "$out" "exit 1
tty cooked"
like "read escape sequence" "$(cat "$T_DIR/tt2")" 'read escape sequence'
is "still running" "$(b inspect -f '{{.State.Status}}' tt)" running
out=$(pty 'send=\r' 'expect=# ' 'send=echo ck$((4+4))\r' 'expect=ck8' 'send=\x01' -- "${BB[@]}" attach --detach-keys=ctrl-a tt)
is "--detach-keys=ctrl-a" "$out" "exit 1
tty cooked"
out=$(pty 'send=\r' 'expect=# ' 'send=exit 5\r' -- "${BB[@]}" attach tt)
is "the shell's exit ends attach with its code" "$out" "exit 5
tty cooked"
is "state" "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}}' tt)" "exited 5"

# ---- start -ai ----
b create -it --name sa busybox sh >/dev/null
out=$(pty 'expect=# ' 'send=echo st$((3+4))\r' 'expect=st7' 'send=\x10\x11' -- "${BB[@]}" start -ai sa)
is "start -ai: detach with 0" "$out" "exit 0
tty cooked"
is "it runs on" "$(b inspect -f '{{.State.Status}}' sa)" running
out=$(pty 'send=\r' 'expect=# ' 'send=exit 6\r' -- "${BB[@]}" start -ai sa)
is "start -ai of a running container attaches to it" "$out" "exit 6
tty cooked"

check_clean "t0330"
t_done
