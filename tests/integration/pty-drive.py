#!/usr/bin/env python3
"""Run a command on a new pseudo-terminal and drive it, for the tests.

    pty-drive.py STEP... -- CMD [ARG...]

Steps, in order:
    expect=REGEX   wait (10 s at most) for REGEX in the output not yet matched
    send=TEXT      type TEXT (Python escapes: \\r, \\x10 for ctrl-p ...)
    sleep=SECONDS
    log=PATH       write everything the command printed to PATH at the end
    size=ROWSxCOLS the terminal's size (set before the command starts)
Then it waits for the command (10 s at most) and prints "exit CODE" and
"tty cooked" or "tty raw": the terminal's mode after the command, which
must have put back what it changed. Exits 2 when a step times out.
"""
import codecs
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

sep = sys.argv.index("--")
steps, cmd = sys.argv[1:sep], sys.argv[sep + 1:]
master, slave = os.openpty()
for step in steps:
    if step.startswith("size="):
        rows, cols = map(int, step[5:].split("x"))
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
out = b""
pos = 0
log = None


def pump(timeout):
    global out
    r, _, _ = select.select([master], [], [], timeout)
    if r:
        try:
            out += os.read(master, 65536)
        except OSError:
            pass


def finish(code):
    if log:
        with open(log, "wb") as f:
            f.write(out)
    sys.exit(code)


for step in steps:
    kind, _, arg = step.partition("=")
    if kind == "size":
        pass
    elif kind == "log":
        log = arg
    elif kind == "sleep":
        end = time.time() + float(arg)
        while time.time() < end:
            pump(end - time.time())
    elif kind == "send":
        os.write(master, codecs.decode(arg, "unicode_escape").encode("latin-1"))
    elif kind == "expect":
        rx = re.compile(arg.encode())
        end = time.time() + 10
        while True:
            m = rx.search(out, pos)
            if m:
                pos = m.end()
                break
            if time.time() > end or proc.poll() is not None and not select.select([master], [], [], 0.2)[0]:
                print("timeout waiting for %r; output: %r" % (arg, out[pos:]))
                proc.kill()
                finish(2)
            pump(0.1)
end = time.time() + 10
while proc.poll() is None and time.time() < end:
    pump(0.1)
if proc.poll() is None:
    print("still running; output: %r" % out[pos:])
    proc.kill()
    finish(2)
pump(0.1)
lflag = termios.tcgetattr(slave)[3]
print("exit %d" % proc.returncode)
print("tty " + ("cooked" if lflag & termios.ECHO and lflag & termios.ICANON else "raw"))
finish(0)
