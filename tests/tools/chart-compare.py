#!/usr/bin/env python3
"""chart-compare.py - do two sets of Kubernetes manifests hold the same objects?

Usage: chart-compare.py [--set KIND/NAME:PATH=VALUE]... EXPECTED RENDERED
       chart-compare.py --self-test

EXPECTED is what `berth kube convert` wrote, RENDERED what `helm template`
rendered from the `--chart` of the same project (multi-document YAML,
or a JSON List). The objects are paired by apiVersion, kind, namespace and
name and compared by meaning: mapping key order is ignored, list order is
not (a chart keeps it), and so are comments, document order and empty
documents. One normalization: an image reference with neither tag nor
digest gets ":latest" on both sides, because the chart's values.yaml holds
tag "latest" for it and every runtime reads "x" as "x:latest".

--set changes the expected objects before comparing, for a render with
`helm template --set`: PATH is dotted keys with [N] list indexes or
[name=X] list items picked by their name (spec.template.spec.containers[name=web].image),
VALUE is JSON (3, "x", {...}), or a plain string when it is not JSON.

Prints each difference with its path; exit 0 when the objects are the
same, 1 when they differ, 2 on usage or input errors.
"""
import json
import re
import sys

import yaml


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise SystemExit(f"chart-compare: {path}: {e.strerror}") from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise SystemExit(f"chart-compare: {path}: not YAML: {e}") from None
    objs = []
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == "List" and isinstance(d.get("items"), list):
            objs.extend(d["items"])
        else:
            objs.append(d)
    out = {}
    for o in objs:
        if not isinstance(o, dict) or not isinstance(o.get("metadata"), dict):
            raise SystemExit(f"chart-compare: {path}: a document that is not a Kubernetes object: {str(o)[:80]}")
        md = o["metadata"]
        key = (o.get("apiVersion"), o.get("kind"), md.get("namespace"), md.get("name"))
        if key in out:
            raise SystemExit(f"chart-compare: {path}: {fmt_key(key)} twice")
        out[key] = o
    return out


def fmt_key(k):
    api, kind, ns, name = k
    return f"{kind}/{name}" + (f" (namespace {ns})" if ns else "") + f" [{api}]"


def has_tag_or_digest(ref):
    if "@" in ref:
        return True
    last = ref.rsplit("/", 1)[-1]
    return ":" in last


def normalize(v):
    """Images without tag or digest read as :latest, wherever they are."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "image" and isinstance(x, str) and x and not has_tag_or_digest(x):
                x = x + ":latest"
            out[k] = normalize(x)
        return out
    if isinstance(v, list):
        return [normalize(x) for x in v]
    return v


def diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in b:
                out.append(f"{p}: only in expected ({json.dumps(a[k])[:80]})")
            elif k not in a:
                out.append(f"{p}: only in rendered ({json.dumps(b[k])[:80]})")
            else:
                diff(a[k], b[k], p, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items expected, {len(b)} rendered")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
    elif type(a) is not type(b) or a != b:
        # 1 and 1.0 are the same number; True is not 1
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
                not isinstance(a, bool) and not isinstance(b, bool) and a == b:
            return
        out.append(f"{path}: expected {json.dumps(a)}, rendered {json.dumps(b)}")


SEG = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\[name=([^\]]+)\]|(\.)")


def parse_path(p):
    segs, pos = [], 0
    while pos < len(p):
        m = SEG.match(p, pos)
        if not m or m.end() == pos:
            raise SystemExit(f"chart-compare: --set path {p!r}: cannot read it at {p[pos:]!r}")
        key, idx, name, _ = m.groups()
        if key is not None:
            segs.append(key)
        elif idx is not None:
            segs.append(int(idx))
        elif name is not None:
            segs.append(("name", name))
        pos = m.end()
    if not segs:
        raise SystemExit(f"chart-compare: --set path {p!r} is empty")
    return segs


def apply_set(objs, spec):
    m = re.match(r"([A-Za-z]+)/([^:]+):", spec)
    # PATH ends at the first '=' outside [name=X]
    depth, eq = 0, -1
    for i in range(m.end() if m else 0, len(spec)):
        c = spec[i]
        depth += (c == "[") - (c == "]")
        if c == "=" and depth == 0:
            eq = i
            break
    if not m or eq <= m.end():
        raise SystemExit(f"chart-compare: --set {spec!r}: use KIND/NAME:PATH=VALUE")
    kind, name = m.groups()
    path, raw = spec[m.end():eq], spec[eq + 1:]
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    hits = [o for (api, k, ns, n), o in objs.items() if k == kind and n == name]
    if len(hits) != 1:
        raise SystemExit(f"chart-compare: --set {spec!r}: {len(hits)} objects {kind}/{name} in the expected file")
    cur, segs = hits[0], parse_path(path)
    for i, s in enumerate(segs[:-1]):
        cur = step(cur, s, spec, create=isinstance(segs[i + 1], str))
    last = segs[-1]
    if isinstance(last, str):
        if not isinstance(cur, dict):
            raise SystemExit(f"chart-compare: --set {spec!r}: {last} is not under a mapping")
        cur[last] = value
    else:
        idx = find_index(cur, last, spec)
        cur[idx] = value


def find_index(lst, s, spec):
    if not isinstance(lst, list):
        raise SystemExit(f"chart-compare: --set {spec!r}: not a list where an index stands")
    if isinstance(s, int):
        if s >= len(lst):
            raise SystemExit(f"chart-compare: --set {spec!r}: index {s} past the list's {len(lst)} items")
        return s
    for i, x in enumerate(lst):
        if isinstance(x, dict) and x.get("name") == s[1]:
            return i
    raise SystemExit(f"chart-compare: --set {spec!r}: no item named {s[1]}")


def step(cur, s, spec, create):
    if isinstance(s, str):
        if not isinstance(cur, dict):
            raise SystemExit(f"chart-compare: --set {spec!r}: {s} is not under a mapping")
        if s not in cur:
            if not create:
                raise SystemExit(f"chart-compare: --set {spec!r}: no {s}")
            cur[s] = {}
        return cur[s]
    return cur[find_index(cur, s, spec)]


def compare(expected, rendered, sets=()):
    for s in sets:
        apply_set(expected, s)
    out = []
    for k in sorted(set(expected) | set(rendered), key=lambda k: tuple(str(x) for x in k)):
        if k not in rendered:
            out.append(f"{fmt_key(k)}: only in expected")
        elif k not in expected:
            out.append(f"{fmt_key(k)}: only in rendered")
        else:
            d = []
            diff(normalize(expected[k]), normalize(rendered[k]), "", d)
            out.extend(f"{fmt_key(k)}: {x}" for x in d)
    return out


def self_test():
    import os
    import tempfile
    base = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - {name: web, image: nginx, ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80, name: "80"}]}
"""
    same = """# Source: x/templates/web-service.yaml
apiVersion: v1
kind: Service
spec: {ports: [{name: "80", port: 80.0}]}
metadata: {name: web}
---
kind: Deployment
apiVersion: apps/v1
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - {image: "nginx:latest", name: web, ports: [{containerPort: 80}]}
  replicas: 1
"""
    cases = [
        ("same objects, other order, :latest", base, same, [], 0),
        ("a changed replica count", base, same.replace("replicas: 1", "replicas: 3"), [], 1),
        ("--set predicts it", base, same.replace("replicas: 1", "replicas: 3"),
         ["Deployment/web:spec.replicas=3"], 0),
        ("--set by container name", base, same.replace("nginx:latest", "nginx:1.27"),
         ["Deployment/web:spec.template.spec.containers[name=web].image=nginx:1.27"], 0),
        ("a missing object", base, same.split("---")[1], [], 1),
        ("a port name 80 vs \"80\"", base, same.replace('name: "80"', "name: 80"), [], 1),
        ("a list in another order", base.replace("[{port: 80, name: \"80\"}]", "[{port: 80}, {port: 81}]"),
         same.replace('[{name: "80", port: 80.0}]', "[{port: 81}, {port: 80}]"), [], 2),
    ]
    fails = 0
    with tempfile.TemporaryDirectory() as d:
        for name, a, b, sets, ndiff in cases:
            pa, pb = os.path.join(d, "a.yaml"), os.path.join(d, "b.yaml")
            with open(pa, "w") as f:
                f.write(a)
            with open(pb, "w") as f:
                f.write(b)
            got = compare(load(pa), load(pb), sets)
            good = len(got) == ndiff
            fails += not good
            print(f"{'ok' if good else 'not ok'} - {name}: {len(got)} difference(s)" +
                  ("" if good else f", expected {ndiff}: {got}"))
    print(f"{len(cases) - fails} passed, {fails} failed")
    return 1 if fails else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    sets, files = [], []
    it = iter(argv[1:])
    for a in it:
        if a == "--set":
            v = next(it, None)
            if v is None:
                print("chart-compare: --set needs KIND/NAME:PATH=VALUE", file=sys.stderr)
                return 2
            sets.append(v)
        elif a.startswith("--set="):
            sets.append(a[len("--set="):])
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        elif a.startswith("-") and a != "-":
            print(f"chart-compare: unknown option {a}", file=sys.stderr)
            return 2
        else:
            files.append(a)
    if len(files) != 2:
        print("usage: chart-compare.py [--set KIND/NAME:PATH=VALUE]... EXPECTED RENDERED", file=sys.stderr)
        return 2
    try:
        expected, rendered = load(files[0]), load(files[1])
        out = compare(expected, rendered, sets)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    for line in out:
        print(line)
    if out:
        print(f"chart-compare: {len(out)} difference(s) between {files[0]} and {files[1]}")
        return 1
    print(f"chart-compare: {len(expected)} objects, the same")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
