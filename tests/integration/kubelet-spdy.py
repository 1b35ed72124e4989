#!/usr/bin/env python3
"""A small SPDY/3.1 client of the kubelet API for the tests, speaking as the
apiserver does (client-go's remotecommand and portforward over spdystream):

  kubelet-spdy.py exec URL --cert C --key K [--stdin] [--tty] [--proto P]
                  [--input TEXT] [--size WxH] [--window-updates] -- CMD...
  kubelet-spdy.py attach URL ...  (no command)
  kubelet-spdy.py portforward URL --cert C --key K --port N [--send TEXT]
                  [--pairs N] [--no-request-id]
  kubelet-spdy.py raw URL --cert C --key K [--header 'Name: v']...

exec/attach: the output goes to stdout/stderr, the error stream's content
to fd 3 when open (else to stderr after "status: "); the exit code is
the command's (from a v4 Status), 1 for another failure, 2 when the
upgrade was refused (the answer then printed). portforward: each pair
sends TEXT, closes its side, prints what came back, then the error
stream's text (if any) after "error: ".  Like spdystream it keeps no flow
control windows, unless --window-updates."""
import os, socket, ssl, struct, sys, time, zlib, urllib.parse, select

WORDS = ["options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
         "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
         "content-base", "content-encoding", "content-language", "content-length", "content-location", "content-md5",
         "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host", "if-match",
         "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
         "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after",
         "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
         "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public",
         "set-cookie", "keep-alive", "origin"]
TAIL = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
        "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
        "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
DICT = b"".join(struct.pack(">I", len(w)) + w.encode() for w in WORDS) + TAIL.encode()
assert len(DICT) == 1423 and zlib.adler32(DICT) == 0xe3c6a7c2


class Spdy:
    def __init__(self, sock, window_updates=False):
        self.s = sock
        self.z_out = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICT)
        self.z_in = zlib.decompressobj(zdict=DICT)
        self.buf = b""
        self.next_id = 1
        self.window_updates = window_updates
        self.unacked = {}

    def send(self, b):
        try:
            self.s.sendall(b)
        except (ssl.SSLError, OSError):
            pass  # the server ended the session: what it sent is still read

    def headers(self, h):
        raw = struct.pack(">I", len(h))
        for k, v in h.items():
            raw += struct.pack(">I", len(k)) + k.lower().encode() + struct.pack(">I", len(v)) + v.encode()
        return self.z_out.compress(raw) + self.z_out.flush(zlib.Z_SYNC_FLUSH)

    def control(self, typ, flags, payload):
        self.send(struct.pack(">HHI", 0x8003, typ, (flags << 24) | len(payload)) + payload)

    def open(self, h, fin=False):
        sid = self.next_id
        self.next_id += 2
        self.control(1, 1 if fin else 0, struct.pack(">IIBB", sid, 0, 0, 0) + self.headers(h))
        return sid

    def data(self, sid, b, fin=False):
        for i in range(0, max(len(b), 1), 16384):
            chunk = b[i:i + 16384]
            last = i + 16384 >= len(b)
            self.send(struct.pack(">II", sid, ((1 if fin and last else 0) << 24) | len(chunk)) + chunk)

    def rst(self, sid, status=5):
        self.control(3, 0, struct.pack(">II", sid, status))

    def frames(self, timeout):
        """Yield frames as (kind, stream_id, flags, payload) until timeout or EOF."""
        end = time.time() + timeout
        while True:
            while len(self.buf) >= 8:
                w1, w2 = struct.unpack(">II", self.buf[:8])
                ln = w2 & 0xffffff
                if len(self.buf) < 8 + ln:
                    break
                flags, payload, self.buf = w2 >> 24, self.buf[8:8 + ln], self.buf[8 + ln:]
                if w1 & 0x80000000:
                    typ = w1 & 0xffff
                    if typ == 6:  # PING: answer the server's
                        self.control(6, 0, payload)
                        continue
                    sid = struct.unpack(">I", payload[:4])[0] & 0x7fffffff if len(payload) >= 4 else 0
                    if typ in (1, 2, 8):
                        off = 10 if typ == 1 else 4
                        self.z_in.decompress(payload[off:])
                    yield ("ctl", typ, sid, flags, payload)
                else:
                    if self.window_updates and ln:
                        u = self.unacked.get(w1, 0) + ln
                        if u >= 32768:
                            wu = lambda i: struct.pack(">HHIII", 0x8003, 9, 8, i, u)
                            self.send(wu(w1) + wu(0))
                            u = 0
                        self.unacked[w1] = u
                    yield ("data", w1, flags, payload)
            left = end - time.time()
            if left <= 0:
                yield ("timeout",)
                return
            r, _, _ = select.select([self.s], [], [], min(left, 0.2))
            if not r and not (isinstance(self.s, ssl.SSLSocket) and self.s.pending()):
                yield ("idle",)
                continue
            try:
                b = self.s.recv(65536)
            except (ssl.SSLError, OSError):
                b = b""
            if not b:
                yield ("eof",)
                return
            self.buf += b


def connect(url, cert, key):
    u = urllib.parse.urlsplit(url)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection((u.hostname, u.port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = ctx.wrap_socket(raw, server_hostname=u.hostname)
    return s, u


def upgrade(s, u, method, protos, extra=()):
    path = u.path + ("?" + u.query if u.query else "")
    req = "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kubelet-spdy.py\r\n" % (method, path, u.netloc)
    req += "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
    for p in protos:
        req += "X-Stream-Protocol-Version: %s\r\n" % p
    for h in extra:
        req += h + "\r\n"
    s.sendall((req + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(4096)
        if not b:
            break
        head += b
    hd, _, rest = head.partition(b"\r\n\r\n")
    lines = hd.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    return status, lines, rest


def main():
    a = sys.argv[1:]
    mode, url = a[0], a[1]
    opts = {"cert": None, "key": None, "proto": None, "input": None, "input-file": None, "size": None, "port": None, "send": "",
            "pairs": "1", "header": []}
    flags = set()
    cmd = []
    i = 2
    while i < len(a):
        x = a[i]
        if x == "--":
            cmd = a[i + 1:]
            break
        if x in ("--stdin", "--tty", "--window-updates", "--no-request-id", "--close-early"):
            flags.add(x[2:])
        elif x[2:] in opts:
            if x == "--header":
                opts["header"].append(a[i + 1])
            else:
                opts[x[2:]] = a[i + 1]
            i += 1
        else:
            sys.exit("kubelet-spdy.py: unknown flag " + x)
        i += 1
    if mode in ("exec", "attach"):
        q = [("command", c) for c in cmd] + [("output", "1")]
        if "tty" not in flags:
            q.append(("error", "1"))
        if "stdin" in flags:
            q.append(("input", "1"))
        if "tty" in flags:
            q.append(("tty", "1"))
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(q)
        protos = [opts["proto"]] if opts["proto"] else ["v4.channel.k8s.io", "v3.channel.k8s.io",
                                                         "v2.channel.k8s.io", "channel.k8s.io"]
    elif mode == "portforward":
        protos = ["portforward.k8s.io"]
    else:
        protos = [opts["proto"]] if opts["proto"] else []
    s, u = connect(url, opts["cert"], opts["key"])
    status, lines, rest = upgrade(s, u, "POST", protos, opts["header"])
    if status != 101:
        body = rest
        try:
            s.settimeout(2)
            while True:
                b = s.recv(4096)
                if not b:
                    break
                body += b
                if len(body) > 65536:
                    break
        except Exception:
            pass
        sys.stdout.write("HTTP %d\n%s\n" % (status, body.decode(errors="replace")))
        sys.exit(2)
    sp = Spdy(s, "window-updates" in flags)
    sp.buf = rest
    proto = [l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("x-stream-protocol-version:")]
    if mode == "raw":
        print("upgraded:", proto)
        return
    if mode == "portforward":
        return portforward(sp, opts, flags)
    streams = {}
    streams[sp.open({"streamType": "error"})] = "error"
    sin = None
    if "stdin" in flags:
        sin = sp.open({"streamType": "stdin"})
        streams[sin] = "stdin"
    streams[sp.open({"streamType": "stdout"})] = "stdout"
    if "tty" not in flags:
        streams[sp.open({"streamType": "stderr"})] = "stderr"
    rz = None
    if "tty" in flags and (not proto or proto[0] not in ("v2.channel.k8s.io", "channel.k8s.io")):
        rz = sp.open({"streamType": "resize"})
        streams[rz] = "resize"
        if opts["size"]:
            w, h = opts["size"].split("x")
            sp.data(rz, ('{"Width":%s,"Height":%s}\n' % (w, h)).encode())
    if sin is not None and opts["input-file"] is not None:
        sp.data(sin, open(opts["input-file"], "rb").read(), fin="tty" not in flags)
    elif sin is not None and opts["input"] is not None:
        sp.data(sin, opts["input"].encode().decode("unicode_escape").encode("latin-1"), fin="tty" not in flags)
    errtext = b""
    fins = set()
    goaway = False
    for f in sp.frames(60):
        if f[0] in ("eof", "timeout"):
            break
        if f[0] == "idle":
            continue
        if f[0] == "ctl":
            if f[1] == 7:
                goaway = True
            if f[1] == 3:
                fins.add(f[2])
            continue
        _, sid, fl, payload = f
        kind = streams.get(sid)
        if kind == "stdout":
            os.write(1, payload)
        elif kind == "stderr":
            os.write(2, payload)
        elif kind == "error":
            errtext += payload
        if fl & 1:
            fins.add(sid)
        if "close-early" in flags and kind == "stdout" and payload:
            s.close()
            sys.exit(0)
    try:
        os.write(3, errtext + b"\n")
    except OSError:
        if errtext:
            sys.stderr.write("status: %s\n" % errtext.decode(errors="replace"))
    if not goaway:
        sys.stderr.write("kubelet-spdy.py: no GOAWAY\n")
    code = 0
    if errtext:
        import json
        try:
            st = json.loads(errtext)
        except ValueError:
            sys.exit(1)
        if st.get("status") != "Success":
            code = 1
            for c in st.get("details", {}).get("causes", []):
                if c.get("reason") == "ExitCode":
                    code = int(c["message"])
    sys.exit(code)


def portforward(sp, opts, flags):
    pairs = int(opts["pairs"])
    ids = []
    for n in range(pairs):
        h = {"streamType": "error", "port": opts["port"]}
        if "no-request-id" not in flags:
            h["requestID"] = str(n)
        e = sp.open(h)
        sp.data(e, b"", fin=True)  # as kubectl: the error stream is read-only
        h["streamType"] = "data"
        d = sp.open(h)
        ids.append((e, d))
    for e, d in ids:
        sp.data(d, opts["send"].encode().decode("unicode_escape").encode("latin-1"), fin=True)
    got = {d: b"" for _, d in ids}
    errs = {e: b"" for e, _ in ids}
    done = set()
    for f in sp.frames(30):
        if f[0] in ("eof", "timeout"):
            break
        if f[0] != "data":
            continue
        _, sid, fl, payload = f
        if sid in got:
            got[sid] += payload
        if sid in errs:
            errs[sid] += payload
        if fl & 1:
            done.add(sid)
        if all(e in done and d in done for e, d in ids):
            break
    for e, d in ids:
        sys.stdout.write(got[d].decode(errors="replace"))
        if errs[e]:
            sys.stdout.write("error: " + errs[e].decode(errors="replace") + "\n")
    sp.control(7, 0, struct.pack(">II", 0, 0))


if __name__ == "__main__":
    main()
