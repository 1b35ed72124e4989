#!/usr/bin/env python3
"""Build layer tars and docker-archive image files without docker.

The archive written by `archive` has the layout `docker save` (docker <= 24)
writes:

    <config-sha256>.json          image config (rootfs.diff_ids, history, ...)
    <v1-id>/layer.tar             uncompressed layer, one directory per layer
    <v1-id>/json                  legacy v1 layer metadata
    <v1-id>/VERSION               "1.0"
    manifest.json                 [{"Config", "RepoTags", "Layers"}]
    repositories                  {"repo": {"tag": "<top v1-id>"}}

Entries are written in lexical order, as docker does, so manifest.json comes
after the layers: a loader reading from a pipe has to cope with that.

Subcommands:

  layer OUT.tar SRC_DIR [--prefix P] [--exclude GLOB]... [--mtime N]
      tar up SRC_DIR (relative names, sorted, numeric owners, PAX only where
      needed, hard links kept, sockets skipped). --prefix puts everything
      under directory P (parent entries are emitted). --exclude takes fnmatch
      globs on the path relative to SRC_DIR; an excluded directory is pruned.
  randlayer OUT.tar --size BYTES [--files N] [--seed S] [--dir D]
      a layer of N files of incompressible pseudo-random data (deterministic
      for a given seed) under directory D.
  archive OUT.tar --tag REPO:TAG [--tag ...] [--created-by TEXT]... LAYER.tar...
      assemble a docker-archive from layer tars (bottom layer first).
  check ARCHIVE
      verify an archive: every layer in manifest.json is present and its
      sha256 matches the config's rootfs.diff_ids. Prints a summary.
"""
import argparse
import fnmatch
import hashlib
import io
import json
import os
import random
import stat
import sys
import tarfile

FIXED_EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "1704067200"))  # 2024-01-01
CHUNK = 1 << 20


def rfc3339(ts):
    import datetime
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def new_tar(path):
    return tarfile.open(path, "w", format=tarfile.PAX_FORMAT)


def clean_info(ti, mtime=None):
    """Normalise a TarInfo the way docker's layer tars look."""
    ti.uname = ""
    ti.gname = ""
    # an int mtime avoids a PAX header for every file (float mtime -> PAX)
    ti.mtime = int(ti.mtime if mtime is None else mtime)
    return ti


def dir_entry(name, mtime, mode=0o755):
    ti = tarfile.TarInfo(name.rstrip("/") + "/")
    ti.type = tarfile.DIRTYPE
    ti.mode = mode
    ti.mtime = int(mtime)
    return ti


def cmd_layer(a):
    src = os.path.abspath(a.src)
    prefix = a.prefix.strip("/") if a.prefix else ""
    nfiles = 0
    with new_tar(a.out + ".tmp") as tf:
        if prefix:
            parts = prefix.split("/")
            for i in range(1, len(parts) + 1):
                tf.addfile(dir_entry("/".join(parts[:i]), a.mtime or FIXED_EPOCH))

        def excluded(rel):
            return any(fnmatch.fnmatchcase(rel, g) for g in a.exclude)

        def add(full, rel):
            nonlocal nfiles
            arc = "/".join(p for p in (prefix, rel) if p)
            ti = tf.gettarinfo(full, arcname=arc)
            if ti is None:  # socket: not representable, docker skips them too
                return
            clean_info(ti, a.mtime)
            if ti.isreg():
                with open(full, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)
            nfiles += 1

        def walk(d, rel):
            for name in sorted(os.listdir(d)):
                r = f"{rel}/{name}" if rel else name
                if excluded(r):
                    continue
                full = os.path.join(d, name)
                add(full, r)
                st = os.lstat(full)
                if stat.S_ISDIR(st.st_mode):
                    walk(full, r)

        walk(src, "")
    os.replace(a.out + ".tmp", a.out)
    print(f"{a.out}: {nfiles} entries, {os.path.getsize(a.out)} bytes", file=sys.stderr)


def cmd_randlayer(a):
    rng = random.Random(a.seed)
    d = a.dir.strip("/")
    per = max(1, a.size // a.files)
    with new_tar(a.out + ".tmp") as tf:
        parts = d.split("/")
        for i in range(1, len(parts) + 1):
            tf.addfile(dir_entry("/".join(parts[:i]), FIXED_EPOCH))
        for i in range(a.files):
            ti = tarfile.TarInfo(f"{d}/blob-{i:03d}.bin")
            ti.size = per
            ti.mode = 0o644
            ti.mtime = FIXED_EPOCH
            tf.addfile(ti, io.BytesIO(rng.randbytes(per)))
    os.replace(a.out + ".tmp", a.out)
    print(f"{a.out}: {a.files} files, {os.path.getsize(a.out)} bytes", file=sys.stderr)


def cmd_archive(a):
    layers = a.layers
    created_by = list(a.created_by or [])
    created_by += [f"layer {i + 1}" for i in range(len(created_by), len(layers))]
    diff_ids, v1ids = [], []
    parent = ""
    for i, path in enumerate(layers):
        d = "sha256:" + sha256_file(path)
        diff_ids.append(d)
        v1 = hashlib.sha256(f"{parent} {d}".encode()).hexdigest()
        v1ids.append(v1)
        parent = v1
    created = rfc3339(FIXED_EPOCH)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["bash"],
            "WorkingDir": "/",
            "Labels": {"org.berth.bench": "load"},
        },
        "history": [{"created": created, "created_by": cb} for cb in created_by],
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()

    repos = {}
    for t in a.tag:
        repo, _, tag = t.rpartition(":")
        if not repo or "/" in tag:
            sys.exit(f"mkarchive: --tag must be REPO:TAG, got {t!r}")
        repos.setdefault(repo, {})[tag] = v1ids[-1]
    manifest = [{
        "Config": f"{config_hex}.json",
        "RepoTags": list(a.tag),
        "Layers": [f"{v}/layer.tar" for v in v1ids],
    }]

    # name -> (kind, payload) ; written in lexical order like docker save
    entries = {f"{config_hex}.json": ("bytes", config_bytes),
               "manifest.json": ("bytes", json.dumps(manifest, separators=(",", ":")).encode()),
               "repositories": ("bytes", (json.dumps(repos, separators=(",", ":")) + "\n").encode())}
    for i, v1 in enumerate(v1ids):
        meta = {"id": v1, "created": created, "os": "linux",
                "container_config": {"Cmd": [created_by[i]]}}
        if i:
            meta["parent"] = v1ids[i - 1]
        entries[f"{v1}/"] = ("dir", None)
        entries[f"{v1}/VERSION"] = ("bytes", b"1.0")
        entries[f"{v1}/json"] = ("bytes", json.dumps(meta, separators=(",", ":")).encode())
        entries[f"{v1}/layer.tar"] = ("file", layers[i])

    with tarfile.open(a.out + ".tmp", "w", format=tarfile.USTAR_FORMAT) as tf:
        for name in sorted(entries):
            kind, payload = entries[name]
            if kind == "dir":
                tf.addfile(dir_entry(name, FIXED_EPOCH))
                continue
            ti = tarfile.TarInfo(name)
            ti.mode = 0o644
            ti.mtime = FIXED_EPOCH
            if kind == "bytes":
                ti.size = len(payload)
                tf.addfile(ti, io.BytesIO(payload))
            else:
                ti.size = os.path.getsize(payload)
                with open(payload, "rb") as f:
                    tf.addfile(ti, f)
    os.replace(a.out + ".tmp", a.out)
    print(f"{a.out}: {len(layers)} layers, {os.path.getsize(a.out)} bytes, "
          f"config sha256:{config_hex}", file=sys.stderr)


def cmd_check(a):
    with tarfile.open(a.archive, "r:") as tf:
        names = {m.name.rstrip("/"): m for m in tf.getmembers()}

        def read(name):
            m = names.get(name)
            if m is None or not m.isfile():
                sys.exit(f"check: {a.archive}: missing {name}")
            return tf.extractfile(m).read()

        manifest = json.loads(read("manifest.json"))
        for img in manifest:
            cfg_bytes = read(img["Config"])
            cfg = json.loads(cfg_bytes)
            want = cfg["rootfs"]["diff_ids"]
            if len(want) != len(img["Layers"]):
                sys.exit(f"check: {len(img['Layers'])} layers but {len(want)} diff_ids")
            total = 0
            for path, d in zip(img["Layers"], want):
                m = names.get(path)
                if m is None:
                    sys.exit(f"check: missing layer {path}")
                h = hashlib.sha256()
                f = tf.extractfile(m)
                while True:
                    b = f.read(CHUNK)
                    if not b:
                        break
                    h.update(b)
                if "sha256:" + h.hexdigest() != d:
                    sys.exit(f"check: layer {path} has sha256:{h.hexdigest()}, config says {d}")
                total += m.size
            print(f"{a.archive}: ok: {','.join(img.get('RepoTags') or ['<untagged>'])} "
                  f"{len(want)} layers, {total} layer bytes, config {img['Config']}")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("layer")
    s.add_argument("out")
    s.add_argument("src")
    s.add_argument("--prefix", default="")
    s.add_argument("--exclude", action="append", default=[])
    s.add_argument("--mtime", type=int, default=None)
    s.set_defaults(fn=cmd_layer)

    s = sub.add_parser("randlayer")
    s.add_argument("out")
    s.add_argument("--size", type=int, required=True)
    s.add_argument("--files", type=int, default=8)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--dir", default="opt/blobs")
    s.set_defaults(fn=cmd_randlayer)

    s = sub.add_parser("archive")
    s.add_argument("out")
    s.add_argument("--tag", action="append", required=True)
    s.add_argument("--created-by", action="append")
    s.add_argument("layers", nargs="+")
    s.set_defaults(fn=cmd_archive)

    s = sub.add_parser("check")
    s.add_argument("archive")
    s.set_defaults(fn=cmd_check)

    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
