#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a local registry (tests only).

  reg-proxy.py LISTEN_PORT UPSTREAM_PORT MODE [ARG]
    MODE cut DIGEST     GET of that blob: headers and half the body, then
                        the connection is closed
    MODE cutonce DIGEST the same, for the first GET of that blob only
    MODE badmanifest    GET of any manifest answers 200 with a body that
                        is not JSON
    MODE redirect       GET of any blob answers 307 to the registry itself
                        (as registries backed by object storage do)
    MODE zerosize       GET of a manifest by tag answers it with every
                        layer's size set to 0
Prints "ready" when it listens; serves until killed.
"""
import http.client, http.server, socketserver, sys

LISTEN, UP, MODE = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ARG = sys.argv[4] if len(sys.argv) > 4 else ""
CUT_DONE = False

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def relay(self):
        if MODE == "badmanifest" and self.command == "GET" and "/manifests/" in self.path:
            body = b"this is not json {"
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if MODE == "redirect" and self.command == "GET" and "/blobs/sha256:" in self.path:
            with open(ARG, "a") as f:
                f.write("redirected %s\n" % self.path)
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:%d%s" % (UP, self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        c = http.client.HTTPConnection("127.0.0.1", UP)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request(self.command, self.path, body, hdrs)
        r = c.getresponse()
        data = r.read()
        if MODE == "zerosize" and self.command == "GET" and "/manifests/" in self.path and r.status == 200:
            import json
            m = json.loads(data)
            for l in m.get("layers", []):
                l["size"] = 0
            data = json.dumps(m).encode()
        global CUT_DONE
        cut = MODE in ("cut", "cutonce") and self.command == "GET" and self.path.endswith("/blobs/" + ARG)
        if cut and MODE == "cutonce":
            cut, CUT_DONE = not CUT_DONE, True
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if self.command != "HEAD":
            self.wfile.write(data)
    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = relay

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

s = S(("127.0.0.1", LISTEN), H)
print("ready", flush=True)
s.serve_forever()
