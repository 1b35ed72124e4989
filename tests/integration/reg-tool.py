#!/usr/bin/env python3
"""Test helper for the registry tests: builds images from tar files and
pushes them straight through the Registry HTTP API v2 (plain HTTP, no
auth), so tests can put content in a registry that berth itself would
refuse to make (a layer with path traversal, a multi-arch index, zstd).

  reg-tool.py image HOSTPORT REPO TAG [--os linux] [--arch amd64] LAYER...
      LAYER is FILE.tar[:gzip|zstd|plain] (default gzip); prints the
      manifest digest
  reg-tool.py index HOSTPORT REPO TAG DIGEST=OS/ARCH[/VARIANT]...
      an OCI index of manifests already in REPO; prints its digest
"""
import gzip, hashlib, json, subprocess, sys, urllib.request

def req(method, url, data=None, headers=None):
    r = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(r) as resp:
        return resp.status, resp.headers, resp.read()

def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()

def put_blob(base, repo, data):
    d = digest(data)
    try:
        req("HEAD", f"{base}/v2/{repo}/blobs/{d}")
        return d
    except urllib.error.HTTPError:
        pass
    _, h, _ = req("POST", f"{base}/v2/{repo}/blobs/uploads/", b"")
    loc = h["Location"]
    if loc.startswith("/"):
        loc = base + loc
    sep = "&" if "?" in loc else "?"
    req("PUT", f"{loc}{sep}digest={d}", data,
        {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))})
    return d

def put_manifest(base, repo, tag, mt, body):
    req("PUT", f"{base}/v2/{repo}/manifests/{tag}", body, {"Content-Type": mt})
    return digest(body)

def main():
    cmd, hostport, repo, tag = sys.argv[1:5]
    base = "http://" + hostport
    args = sys.argv[5:]
    if cmd == "image":
        os_, arch = "linux", "amd64"
        layers = []
        i = 0
        while i < len(args):
            if args[i] == "--os":
                os_ = args[i + 1]; i += 2; continue
            if args[i] == "--arch":
                arch = args[i + 1]; i += 2; continue
            layers.append(args[i]); i += 1
        descs, diff_ids = [], []
        for l in layers:
            path, _, comp = l.partition(":")
            comp = comp or "gzip"
            raw = open(path, "rb").read()
            diff_ids.append(digest(raw))
            if comp == "gzip":
                blob, mt = gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
            elif comp == "zstd":
                blob = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
                mt = "application/vnd.oci.image.layer.v1.tar+zstd"
            else:
                blob, mt = raw, "application/vnd.oci.image.layer.v1.tar"
            descs.append({"mediaType": mt, "digest": put_blob(base, repo, blob), "size": len(blob)})
        cfg = json.dumps({"architecture": arch, "os": os_, "created": "2024-01-01T00:00:00Z",
                          "config": {"Cmd": ["/bin/sh"]},
                          "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
        cd = put_blob(base, repo, cfg)
        man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                     "digest": cd, "size": len(cfg)},
                          "layers": descs}).encode()
        print(put_manifest(base, repo, tag, "application/vnd.oci.image.manifest.v1+json", man))
    elif cmd == "index":
        ms = []
        for a in args:
            d, _, plat = a.partition("=")
            parts = plat.split("/")
            _, _, body = req("GET", f"{base}/v2/{repo}/manifests/{d}", None,
                             {"Accept": "application/vnd.oci.image.manifest.v1+json"})
            p = {"os": parts[0], "architecture": parts[1]}
            if len(parts) > 2:
                p["variant"] = parts[2]
            ms.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d,
                       "size": len(body), "platform": p})
        idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": ms}).encode()
        print(put_manifest(base, repo, tag, "application/vnd.oci.image.index.v1+json", idx))
    else:
        sys.exit("unknown command " + cmd)

if __name__ == "__main__":
    main()
