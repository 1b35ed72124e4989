#!/usr/bin/env bash
# berth build with bad input: each fails with a clear "Dockerfile:LINE:"
# error (or names the file), exit 1, nothing tagged, and no container,
# mount or temp file left: unknown instruction, bad flag, COPY source
# outside the context or missing, --from an unknown stage, a failing RUN
# (exit code and the last lines of its output), an unreadable context
# file, a missing base image, a bad --target, and Ctrl-C during a RUN.
. "$(dirname "$0")/../lib.sh"
need_fixtures
check "import busybox" b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox

C=$T_DIR/ctx
mkdir -p "$C"
echo a >"$C/a.txt"
echo outside >"$T_DIR/outside.txt"
df() { printf "$1" >"$C/Dockerfile"; }
bf() { b build --network none -t bad:1 "$C"; }

df 'FROM busybox\nFROBNICATE x\n'
fails "unknown instruction" '^ERROR: Dockerfile:2: unknown instruction: frobnicate' bf
df 'FROM busybox\nCOPY --frm=x a.txt /a\n'
fails "bad flag" 'Dockerfile:2: unknown flag: frm' bf
df 'FROM busybox\nCOPY ../outside.txt /o\n'
fails "COPY source outside the context" 'Dockerfile:2: COPY failed: forbidden path outside the build context: \.\./outside\.txt' bf
df 'FROM busybox\nCOPY nothere.txt /o\n'
fails "COPY source missing" 'Dockerfile:2: COPY failed: file not found in build context.*nothere\.txt' bf
df 'FROM busybox\n\nCOPY --from=nostage /x /x\n'
fails "--from unknown stage" 'Dockerfile:3: COPY --from=nostage: no build stage or stored image' bf
df 'FROM busybox\nRUN echo first line; echo last words >&2; exit 7\n'
fails "RUN that fails: exit code" 'Dockerfile:2: RUN echo first line.*exit code: 7' bf
like "RUN that fails: last output lines" "$OUT" '> last words'
df 'FROM nosuchimage\n'
fails "missing base image" 'Dockerfile:1: FROM nosuchimage: no such image' bf
df 'FROM busybox\n'
fails "bad --target" 'failed to reach build target nope' b build --target nope "$C"
fails "missing context" 'unable to prepare context: path ".*/nope" not found' b build "$T_DIR/nope"
fails "missing Dockerfile" 'failed to read dockerfile' b build -f "$T_DIR/none" "$C"
# root reads a mode-000 file anyway; a fifo is a context file berth cannot read as a source
mkfifo "$C/fifo"
df 'FROM busybox\nCOPY fifo /f\n'
fails "unreadable context file (a fifo)" "Dockerfile:2: COPY failed: fifo: not a regular file" timeout 10 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" build --network none -t bad:1 "$C"
rm -f "$C/fifo"

# Ctrl-C during a RUN: the container goes, nothing is tagged
df 'FROM busybox\nRUN echo started; sleep 30\n'
"$BERTH" --root "$ROOT" --runroot "$RUNROOT" build --network none -t bad:1 "$C" >"$T_DIR/int.out" 2>&1 &
bpid=$!
for _ in $(seq 50); do grep -q started "$T_DIR/int.out" && break; sleep 0.1; done
kill -INT "$bpid"
wait "$bpid"
rc=$?
is "Ctrl-C: exit 1" "$rc" 1
like "Ctrl-C: says so" "$(cat "$T_DIR/int.out")" 'interrupted'

is "nothing tagged" "$(b images -q bad 2>&1)" ""
is "no containers" "$(b ps -a -q 2>&1)" ""
is "no mounts under the test dir" "$(grep -c "$T_DIR" /proc/mounts)" 0
store_clean "after the failures"
t_done
