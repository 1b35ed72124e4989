#!/usr/bin/env python3
"""A tiny Docker-registry token server for the tests (the registry's
`auth: token` mode). Issues RS256 JWTs signed with openssl, with the
signing certificate in the x5c header, as the distribution registry
verifies them against its rootcertbundle.

  reg-token.py PORT KEY.pem CERT.pem USER PASSWORD LOG
Anonymous requests get a token with no access; USER/PASSWORD gets pull
and push on every repository asked for; a wrong password gets 401.
Each request is appended to LOG (scope and user, never the password).
"""
import base64, http.server, json, os, socketserver, subprocess, sys, time, urllib.parse

PORT, KEY, CERT, USER, PASS, LOG = sys.argv[1:7]
PORT = int(PORT)

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def cert_der():
    return subprocess.run(["openssl", "x509", "-in", CERT, "-outform", "DER"],
                          stdout=subprocess.PIPE, check=True).stdout

DER = cert_der()

def sign(payload):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(DER).decode()]}
    si = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(payload).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", KEY], input=si,
                         stdout=subprocess.PIPE, check=True).stdout
    return si.decode() + "." + b64u(sig)

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            up = base64.b64decode(auth[6:]).decode()
            name, _, pw = up.partition(":")
            if name != USER or pw != PASS:
                with open(LOG, "a") as f:
                    f.write("denied %s\n" % name)
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"details":"incorrect username or password"}')
                return
            user = name
        access = []
        for s in q.get("scope", []):
            parts = s.split(":")
            if len(parts) == 3 and parts[0] == "repository" and user:
                access.append({"type": "repository", "name": parts[1], "actions": ["pull", "push"]})
        with open(LOG, "a") as f:
            f.write("token user=%s service=%s scope=%s\n" % (user, q.get("service", [""])[0], " ".join(q.get("scope", []))))
        now = int(time.time())
        tok = sign({"iss": "berth-test-issuer", "sub": user or "", "aud": q.get("service", [""])[0],
                    "exp": now + 300, "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(),
                    "access": access})
        body = json.dumps({"token": tok, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

S(("127.0.0.1", PORT), H).serve_forever()
