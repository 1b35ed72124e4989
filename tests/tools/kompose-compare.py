#!/usr/bin/env python3
"""Compare `berth kube convert` with Kompose's expected output, row by row.

Usage:
  kompose-compare.py [--berth PATH] [--root DIR] [--kompose DIR]
                     [--differences FILE] [--only GLOB] [--tap NAME | --json]
  kompose-compare.py --self-test

The rows are those of <kompose>/MANIFEST.tsv (default
$BERTH_SHARED/conformance/kompose, else <repo>/../shared/conformance/kompose;
see the "kompose/" section of that folder's README.md):

  * match / match+warn, provider kubernetes: Kompose's flags are translated
    to berth's (below), `berth kube convert -f IN [-f IN2]` runs in the first
    input's directory, and both multi-document YAML streams are compared BY
    MEANING: objects are matched by (kind, metadata.name); maps key by key;
    lists ignoring order (elements matched by a natural key: name,
    mountPath, containerPort[/protocol], port, key, ip, host, path, or their
    canonical form), except command and args, whose order is their meaning;
    scalars as Kubernetes reads them (port "80" is 80, 1Gi is 1024Mi, 0.5
    cpu is 500m); fields the API server defaults (Service type ClusterIP,
    protocol TCP, restartPolicy Always, replicas 1, probe periods, ...) are
    the same whether written or not, and so are empty maps and lists,
    `status` and `creationTimestamp: null` (but `emptyDir: {}` is a volume).
    Warnings are recorded (match rows: Kompose prints none, match+warn:
    some) but never make a row differ.
  * files (the -o behaviour): run in a temp dir, the files Kompose writes
    must be the files berth writes, and they must parse.
  * warning: berth must succeed and print at least one warning; its text is
    berth's own and is shown.
  * provider openshift, and rows that need a container runtime (--build
    local): skipped with the reason.

Flags: --stdout -> nothing; --with-kompose-annotation=false ->
--with-annotations=false; -n NS -> --namespace NS; --controller X;
--volumes X / --emptyvols -> --volumes pvc|emptydir|hostpath|configmap;
--pvc-request-size S; --generate-network-policies -> --network-policies;
--no-interpolate, --service-group-mode, --service-group-name -> the same
names if berth has them; -j -> --format json; -o X -> -o X. A flag that
`berth kube convert --help` does not list makes the row "flag not
supported".

Each difference is one line:
  missing object KIND/NAME            (Kompose writes it, berth does not)
  extra object KIND/NAME              (berth writes it, Kompose does not)
  KIND/NAME PATH: missing             (e.g. ...containers[web].readinessProbe)
  KIND/NAME PATH: extra
  KIND/NAME PATH: value: kompose X, berth Y
The differences file (TSV: row glob, difference glob, reason; `*` matches
any text, `?` one character, nothing else is special) lists what berth does
differently ON PURPOSE. A row is "same" without differences, "on purpose"
when every difference is covered, else "differs".

Output: a report per row (default), TAP lines (--tap NAME: "ok - NAME: ROW",
"# on purpose: ...", "not ok - NAME: ROW" with the uncovered differences,
"skip - NAME: ROW: reason", then "# kompose conformance: N rows same, M rows
differ only on purpose, K rows differ"), or one JSON object per row
(--json). Exit 0 when no row differs, 1 when one does, 2 on a usage error
or input that cannot be read (the message names it).

Standard library plus PyYAML (Debian: python3-yaml) only.
"""
import argparse
import fnmatch
import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction

try:
    import yaml
except ImportError:  # pragma: no cover - reported to the user
    sys.stderr.write("kompose-compare: PyYAML is missing (Debian: apt-get install python3-yaml)\n")
    sys.exit(2)

PROG = "kompose-compare"
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


class UsageError(Exception):
    """Bad input to the tool itself: exit 2 with the message."""


# ---------------------------------------------------------------- YAML

def _loader():
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # pylint: disable=too-many-ancestors
        pass

    # sigs.k8s.io/yaml (go-yaml v2 -> JSON) leaves timestamps strings
    Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in base.yaml_implicit_resolvers.items()
    }
    return Loader


LOADER = _loader()


def load_objects(text, where):
    """The objects of a multi-document YAML (or JSON) stream; a List is its items."""
    try:
        docs = list(yaml.load_all(text, Loader=LOADER))
    except yaml.YAMLError as e:
        raise UsageError("%s: not YAML: %s" % (where, str(e).replace("\n", " ")))
    out = []
    for i, d in enumerate(docs):
        if d is None:
            continue
        if not isinstance(d, dict):
            raise UsageError("%s: document %d is not a mapping" % (where, i + 1))
        if d.get("kind") == "List" and isinstance(d.get("items"), list):
            out.extend(x for x in d["items"] if isinstance(x, dict))
        else:
            out.append(d)
    return out


def obj_id(o):
    md = o.get("metadata") if isinstance(o.get("metadata"), dict) else {}
    return "%s/%s" % (o.get("kind", "?"), md.get("name", "?"))


# ---------------------------------------------------------------- meaning

# boolean fields whose default is false: false and absent are the same
FALSE_DEFAULTS = {
    "tty", "stdin", "stdinOnce", "readOnly", "privileged", "readOnlyRootFilesystem", "hostNetwork",
    "hostPID", "hostIPC", "suspend", "immutable", "optional", "publishNotReadyAddresses",
}
# keys whose empty value still means something
PRESENCE_MATTERS = {"emptyDir", "podSelector", "namespaceSelector", "exec", "tcpSocket", "httpGet", "grpc"}
# lists whose order is their meaning
ORDERED_LISTS = {"command", "args"}
# maps whose values are Kubernetes quantities
QUANTITY_MAPS = {"limits", "requests", "hard", "capacity"}
QUANTITY_KEYS = {"sizeLimit", "storage"}


def _image_pull_default(image):
    if not isinstance(image, str):
        return None
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _probe(p):
    if not isinstance(p, dict):
        return
    for k, v in (("periodSeconds", 10), ("timeoutSeconds", 1), ("successThreshold", 1),
                 ("failureThreshold", 3), ("initialDelaySeconds", 0)):
        p.setdefault(k, v)
    if isinstance(p.get("httpGet"), dict):
        p["httpGet"].setdefault("scheme", "HTTP")
        p["httpGet"].setdefault("path", "/")


def _container(c):
    if not isinstance(c, dict):
        return
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
    ipp = _image_pull_default(c.get("image"))
    if ipp:
        c.setdefault("imagePullPolicy", ipp)
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    for k in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(k))
    for e in c.get("env") or []:
        if isinstance(e, dict) and e.get("value") == "":
            del e["value"]


def _podspec(ps, restart):
    if not isinstance(ps, dict):
        return
    if restart:
        ps.setdefault("restartPolicy", restart)
    ps.setdefault("dnsPolicy", "ClusterFirst")
    ps.setdefault("schedulerName", "default-scheduler")
    ps.setdefault("terminationGracePeriodSeconds", 30)
    for k in ("containers", "initContainers"):
        for c in ps.get(k) or []:
            _container(c)
    for v in ps.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        if set(v) == {"name"}:
            # a volume without a source is an emptyDir (the API's default)
            v["emptyDir"] = {}
        for src in ("configMap", "secret"):
            if isinstance(v.get(src), dict):
                v[src].setdefault("defaultMode", 420)
        if isinstance(v.get("hostPath"), dict):
            v["hostPath"].setdefault("type", "")


def _template(spec, restart="Always"):
    t = spec.get("template") if isinstance(spec, dict) else None
    if isinstance(t, dict):
        _podspec(t.get("spec"), restart)


def _job(spec):
    if not isinstance(spec, dict):
        return
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completions", 1)
    spec.setdefault("parallelism", 1)
    _template(spec, None)


def apply_defaults(o):
    """o with what the API server would default filled in (a copy)."""
    o = copy.deepcopy(o)
    o.pop("status", None)
    md = o.get("metadata")
    if isinstance(md, dict) and md.get("creationTimestamp") is None:
        md.pop("creationTimestamp", None)
    kind = o.get("kind")
    spec = o.get("spec")
    if not isinstance(spec, dict):
        return o
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        spec.setdefault("revisionHistoryLimit", 10)
        _template(spec)
    if kind == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault("progressDeadlineSeconds", 600)
        st = spec.setdefault("strategy", {})
        if isinstance(st, dict):
            # the type is filled in, the rolling parameters are dropped when
            # they are the defaults: Recreate against the default is one
            # difference
            st.setdefault("type", "RollingUpdate")
            if st.get("rollingUpdate") == {"maxSurge": "25%", "maxUnavailable": "25%"}:
                del st["rollingUpdate"]
    elif kind == "StatefulSet":
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        us = spec.setdefault("updateStrategy", {})
        if isinstance(us, dict):
            us.setdefault("type", "RollingUpdate")
    elif kind == "DaemonSet":
        us = spec.setdefault("updateStrategy", {})
        if isinstance(us, dict):
            us.setdefault("type", "RollingUpdate")
            if us["type"] == "RollingUpdate":
                ru = us.setdefault("rollingUpdate", {})
                if isinstance(ru, dict):
                    ru.setdefault("maxUnavailable", 1)
                    ru.setdefault("maxSurge", 0)
    elif kind == "Job":
        _job(spec)
    elif kind == "CronJob":
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        jt = spec.get("jobTemplate")
        if isinstance(jt, dict):
            _job(jt.get("spec"))
    elif kind == "Pod":
        _podspec(spec, "Always")
    elif kind == "Service":
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        # a default that depends on the type: absent rather than filled in,
        # so that a different type is one difference, not two
        if spec.get("externalTrafficPolicy") == "Cluster":
            del spec["externalTrafficPolicy"]
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if "port" in p:
                    p.setdefault("targetPort", p["port"])
    elif kind == "PersistentVolumeClaim":
        spec.setdefault("volumeMode", "Filesystem")
    elif kind == "HorizontalPodAutoscaler":
        spec.setdefault("minReplicas", 1)
    elif kind == "NetworkPolicy":
        spec.setdefault("policyTypes", ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"])
    return o


def prune(v, key=None):
    """Empty maps and lists, nulls and default-false booleans are absent."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            x = prune(x, k)
            if x is None or (x is False and k in FALSE_DEFAULTS):
                continue
            if x in ({}, []) and k not in PRESENCE_MATTERS:
                continue
            out[k] = x
        return out
    if isinstance(v, list):
        return [prune(x, key) for x in v]
    return v


def meaning(o):
    return prune(apply_defaults(o))


_QSUF = {
    "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
    "n": Fraction(1, 10 ** 9), "u": Fraction(1, 10 ** 6), "m": Fraction(1, 1000), "": 1,
    "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
}
_QRX = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$")


def quantity(v):
    """A Kubernetes quantity's value as a Fraction, or None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return Fraction(v)
    if isinstance(v, float):
        return Fraction(v).limit_denominator(10 ** 9)
    if not isinstance(v, str):
        return None
    m = _QRX.match(v.strip())
    if not m:
        return None
    num = Fraction(m.group(1))
    if m.group(2):
        return num * Fraction(10) ** int(m.group(2)[1:])
    return num * _QSUF[m.group(3) or ""]


def scalar_same(a, b, path_keys):
    if type(a) is type(b) and a == b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    last = path_keys[-1] if path_keys else None
    parent = path_keys[-2] if len(path_keys) > 1 else None
    if last in QUANTITY_KEYS or parent in QUANTITY_MAPS:
        qa, qb = quantity(a), quantity(b)
        if qa is not None and qa == qb:
            return True
    # numbers and their decimal text ("80" and 80, 1.0 and 1)
    def num(x):
        if isinstance(x, (int, float)):
            return Fraction(x)
        if isinstance(x, str) and re.fullmatch(r"[+-]?\d+(\.\d+)?", x):
            return Fraction(x)
        return None
    na, nb = num(a), num(b)
    return na is not None and na == nb


def short(v, n=160):
    s = json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return s if len(s) <= n else s[:n - 3] + "..."


def _keyseg(k):
    k = str(k)
    return '"%s"' % k if re.search(r"[.\[\]\s\"]", k) or not k else k


def _join(path, k):
    seg = _keyseg(k)
    return seg if not path else path + "." + seg


# natural keys of list elements, most specific first; a tuple is a composite
NATURAL_KEYS = ("name", "mountPath", ("containerPort", "protocol"), "containerPort", ("port", "protocol"), "port",
                "key", "ip", "host", "path", "secretName", "topologyKey", "type")
# lists whose one unpaired element on each side is the same thing renamed
# (a pod's one container named after container_name)
PAIR_SINGLE = {"containers"}


# where another key is the natural one: a volume may be mounted twice
LIST_KEYS = {"volumeMounts": ("mountPath",)}


def _natural_key(a, b, listname=None):
    items = a + b
    if not items or not all(isinstance(x, dict) for x in items):
        return None
    for nk in LIST_KEYS.get(listname, ()) + NATURAL_KEYS:
        fields = nk if isinstance(nk, tuple) else (nk,)
        if not all(all(f in x for f in fields) for x in items):
            continue
        ok = True
        for side in (a, b):
            vals = [tuple(json.dumps(x[f], sort_keys=True) for f in fields) for x in side]
            if len(set(vals)) != len(vals):
                ok = False
        if ok:
            return fields
    return None


def _label(x, fields):
    return "/".join(str(x[f]) for f in fields)


def _elem_label(x):
    """A list element without a natural key, named: a scalar is itself, a
    reference such as {configMapRef: {name: e}} is configMapRef=e, anything
    else its canonical JSON after '='."""
    if not isinstance(x, (dict, list)):
        return str(x)
    md = x.get("metadata") if isinstance(x, dict) else None
    if isinstance(md, dict) and isinstance(md.get("name"), str):
        return md["name"]
    if isinstance(x, dict) and len(x) == 1:
        (k, v), = x.items()
        if isinstance(v, dict) and isinstance(v.get("name"), str):
            return "%s=%s" % (k, v["name"])
    return "=" + short(x, 60)


def _canon(x):
    return json.dumps(x, sort_keys=True, separators=(",", ":"))


def compare(k, b, path="", keys=(), out=None):
    """Differences between Kompose's k and berth's b, as (path, kind, detail)."""
    if out is None:
        out = []
    keys = tuple(keys)
    if isinstance(k, dict) and isinstance(b, dict):
        for key in sorted(set(k) | set(b), key=str):
            p = _join(path, key)
            one = k[key] if key not in b else b[key] if key not in k else None
            if one is not None and isinstance(one, list) and key not in ORDERED_LISTS:
                # a list one side lacks: element by element, so that each
                # element is named (env[FOO], initContainers[wait-for-db])
                compare(k.get(key, []), b.get(key, []), p, keys + (key,), out)
            elif key not in b:
                out.append((p, "missing", k[key]))
            elif key not in k:
                out.append((p, "extra", b[key]))
            else:
                compare(k[key], b[key], p, keys + (key,), out)
        return out
    if isinstance(k, list) and isinstance(b, list):
        last = keys[-1] if keys else None
        if last in ORDERED_LISTS:
            same = len(k) == len(b) and all(
                not isinstance(x, (dict, list)) and not isinstance(y, (dict, list)) and scalar_same(x, y, keys)
                or _canon(x) == _canon(y) for x, y in zip(k, b))
            if not same:
                out.append((path, "value", (k, b)))
            return out
        fields = _natural_key(k, b, last)
        if fields:
            bk = {_label(x, fields): x for x in b}
            kk = {_label(x, fields): x for x in k}
            only_k, only_b = sorted(set(kk) - set(bk)), sorted(set(bk) - set(kk))
            if last in PAIR_SINGLE and len(only_k) == 1 and len(only_b) == 1:
                compare(kk[only_k[0]], bk[only_b[0]], "%s[%s]" % (path, only_k[0]), keys + ("[]",), out)
                del kk[only_k[0]], bk[only_b[0]]
            for lab in sorted(set(kk) | set(bk)):
                p = "%s[%s]" % (path, lab)
                if lab not in bk:
                    out.append((p, "missing", kk[lab]))
                elif lab not in kk:
                    out.append((p, "extra", bk[lab]))
                else:
                    compare(kk[lab], bk[lab], p, keys + ("[]",), out)
            return out
        # canonical form: pair equal elements (scalars as Kubernetes reads them)
        left = list(b)
        unk = []
        for x in k:
            for i, y in enumerate(left):
                if (isinstance(x, (dict, list)) or isinstance(y, (dict, list))) and _canon(x) == _canon(y) or \
                        not isinstance(x, (dict, list)) and not isinstance(y, (dict, list)) and scalar_same(x, y, keys):
                    del left[i]
                    break
            else:
                unk.append(x)
        if len(unk) == 1 and len(left) == 1 and isinstance(unk[0], dict) and isinstance(left[0], dict):
            compare(unk[0], left[0], path + "[*]", keys + ("[]",), out)
            return out
        for x in unk:
            out.append(("%s[%s]" % (path, _elem_label(x)), "missing", x))
        for y in left:
            out.append(("%s[%s]" % (path, _elem_label(y)), "extra", y))
        return out
    if isinstance(k, (dict, list)) or isinstance(b, (dict, list)):
        out.append((path, "value", (k, b)))
        return out
    if not scalar_same(k, b, keys):
        out.append((path, "value", (k, b)))
    return out


WORKLOADS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")


def pod_template(o):
    """A workload's pod as {metadata, spec} (a Pod is its own)."""
    spec = o.get("spec") if isinstance(o.get("spec"), dict) else {}
    if o.get("kind") == "Pod":
        md = o.get("metadata") if isinstance(o.get("metadata"), dict) else {}
        return {"metadata": {k: v for k, v in md.items() if k in ("labels", "annotations")}, "spec": spec}
    if o.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    t = spec.get("template")
    return t if isinstance(t, dict) else {}


def _qualifier(o):
    """What an unpaired object is, in a word (a Service's type)."""
    if o.get("kind") != "Service":
        return ""
    spec = o.get("spec") if isinstance(o.get("spec"), dict) else {}
    if spec.get("clusterIP") == "None":
        return " (headless)"
    return " (%s)" % spec.get("type", "ClusterIP")


def _renamed(kname, bname):
    """Kompose's name for what berth calls bname: '_' and '.' written '-',
    or a Service split by protocol (NAME-tcp, NAME-udp)."""
    if re.sub(r"[_.]", "-", kname) == bname:
        return True
    return kname in (bname + "-tcp", bname + "-udp")


def _pair(km, bm):
    """Pair objects: same (kind, name) first, then a workload of another
    kind with the same name, then a renamed object of the same kind."""
    pairs, ks, bs = [], [], []
    for oid in sorted(set(km) | set(bm)):
        a, b = km.get(oid, []), bm.get(oid, [])
        pairs += list(zip(a, b))
        ks += a[len(b):]
        bs += b[len(a):]
    def wl(k, b):
        return k["kind"] in WORKLOADS and b["kind"] in WORKLOADS

    for pred in (lambda k, b: wl(k, b) and k["name"] == b["name"],
                 lambda k, b: k["kind"] == b["kind"] and _renamed(k["name"], b["name"]),
                 lambda k, b: wl(k, b) and _renamed(k["name"], b["name"])):
        for ko in list(ks):
            for bo in bs:
                if pred({"kind": ko.get("kind"), "name": obj_id(ko).split("/", 1)[1]},
                        {"kind": bo.get("kind"), "name": obj_id(bo).split("/", 1)[1]}):
                    pairs.append((ko, bo))
                    ks.remove(ko)
                    bs.remove(bo)
                    break
    return pairs, ks, bs


def diff_objects(kompose, berth):
    """Difference lines (text, detail) between two lists of objects."""
    km, bm = {}, {}
    for objs, m in ((kompose, km), (berth, bm)):
        for o in objs:
            m.setdefault(obj_id(o), []).append(meaning(o))
    pairs, ks, bs = _pair(km, bm)
    res = []

    def add(oid, found):
        for path, kind, detail in found:
            if kind == "value":
                kv, bv = detail
                res.append(("%s %s: value: kompose %s, berth %s" % (oid, path, short(kv, 120), short(bv, 120)), ""))
            else:
                res.append(("%s %s: %s" % (oid, path, kind), short(detail)))

    for o in ks:
        res.append(("missing object %s%s" % (obj_id(o), _qualifier(o)), short(o)))
    for o in bs:
        res.append(("extra object %s%s" % (obj_id(o), _qualifier(o)), short(o)))
    for ko, bo in pairs:
        oid = obj_id(ko)
        if ko.get("kind") != bo.get("kind"):
            # another workload kind: its metadata and its pod are comparable
            res.append(("%s kind: value: kompose %s, berth %s" % (oid, short(ko.get("kind")), short(bo.get("kind"))),
                        short(bo)))
            found = compare({k: v for k, v in ko.items() if k == "metadata"},
                            {k: v for k, v in bo.items() if k == "metadata"})
            compare(pod_template(ko), pod_template(bo), "template", ("template",), found)
            add(oid, found)
        else:
            add(oid, compare(ko, bo))
    res.sort(key=lambda x: (x[0].split(" ")[0] in ("missing", "extra") and x[0].split(" ")[2] or x[0].split(" ")[0], x[0]))
    return res


# ---------------------------------------------------------------- the table

class Row:
    def __init__(self, lineno, cols):
        self.lineno = lineno
        self.check, self.provider, inputs, self.flags, self.expected, self.note = (cols + [""] * 6)[:6]
        self.inputs = inputs.split()
        self.id = self.expected if self.expected not in ("", "-") else "%s:%s" % (
            self.check, " ".join(self.inputs + ([self.flags] if self.flags else [])))


def read_manifest(path):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise UsageError("%s: %s" % (path, e.strerror))
    rows = []
    header = False
    for i, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if not header:
            if cols[:3] != ["check", "provider", "inputs"]:
                raise UsageError("%s:%d: expected the header line 'check provider inputs flags expected note'" % (path, i))
            header = True
            continue
        if len(cols) < 5:
            raise UsageError("%s:%d: %d columns, want 6 (check provider inputs flags expected note)" % (path, i, len(cols)))
        rows.append(Row(i, cols))
    if not header:
        raise UsageError("%s: no header line" % path)
    return rows


def read_differences(path):
    """(row glob, difference glob, reason, line number) from the TSV."""
    out = []
    if not path:
        return out
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise UsageError("%s: %s" % (path, e.strerror))
    for i, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if cols[:2] == ["row", "difference"]:
            continue
        if len(cols) != 3 or not all(c.strip() for c in cols):
            raise UsageError("%s:%d: want 3 tab-separated columns (row glob, difference glob, reason), got %d" % (
                path, i, len(cols)))
        out.append((cols[0], cols[1], cols[2], i))
    return out


def glob_rx(g):
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in g) + r"\Z", re.S)


def glob_match(g, s):
    return bool(glob_rx(g).match(s))


# ---------------------------------------------------------------- berth

VOLUME_MODES = {"persistentvolumeclaim": "pvc", "pvc": "pvc", "emptydir": "emptydir", "hostpath": "hostpath",
                "configmap": "configmap"}


def translate_flags(flags, tmp=None):
    """Kompose's convert flags as berth kube convert's: (args, notes); raises
    KeyError(flag) for a flag with no berth counterpart."""
    words = shlex.split(flags.replace("<tmp>", tmp or "<tmp>"))
    args, notes = [], []
    i = 0

    def value(name):
        nonlocal i
        w = words[i]
        if "=" in w and w.startswith("--"):
            return w.split("=", 1)[1]
        i += 1
        if i >= len(words):
            raise UsageError("flag %s needs a value" % name)
        return words[i]

    while i < len(words):
        w = words[i]
        name = w.split("=", 1)[0] if w.startswith("--") else w
        if name == "--stdout":
            pass
        elif name == "--with-kompose-annotation":
            v = value(name) if "=" in w else "true"
            if v == "false":
                args.append("--with-annotations=false")
            else:
                notes.append("%s: berth writes no tool annotations" % w)
        elif name in ("-n", "--namespace"):
            args += ["--namespace", value(name)]
        elif name == "--controller":
            args += ["--controller", value(name)]
        elif name == "--volumes":
            v = value(name)
            args += ["--volumes", VOLUME_MODES.get(v.lower(), v)]
        elif name == "--emptyvols":
            args += ["--volumes", "emptydir"]
        elif name == "--pvc-request-size":
            args += ["--pvc-request-size", value(name)]
        elif name == "--generate-network-policies":
            args.append("--network-policies")
        elif name in ("--no-interpolate",):
            args.append(name)
        elif name in ("--service-group-mode", "--service-group-name"):
            args += [name, value(name)]
        elif name in ("-j", "--json"):
            args += ["--format", "json"]
        elif name in ("-o", "--out"):
            args += ["-o", value(name)]
        else:
            raise KeyError(w)
        i += 1
    return args, notes


_HELP = {}


def berth_flags(berth):
    """The long flags `berth kube convert --help` lists."""
    if berth not in _HELP:
        try:
            p = subprocess.run([berth, "kube", "convert", "--help"], capture_output=True, text=True, timeout=60)
        except OSError as e:
            raise UsageError("%s: %s" % (berth, e.strerror))
        _HELP[berth] = set(re.findall(r"(--[a-z][a-z0-9-]*)", p.stdout + p.stderr))
    return _HELP[berth]


def missing_flags(args, berth):
    have = berth_flags(berth)
    return [a.split("=", 1)[0] for a in args if a.startswith("--") and a.split("=", 1)[0] not in have]


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env.update(extra or {})
    return env


def run_berth(opts, args, cwd, env):
    cmd = [opts.berth] + (["--root", opts.root] if opts.root else []) + ["kube", "convert"] + args
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    except OSError as e:
        raise UsageError("%s: %s" % (opts.berth, e.strerror))
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after 120 s", cmd
    return p.returncode, p.stdout, p.stderr, cmd


def _show(cmd, env=None):
    """The command as the report shows it: berth kube convert ... (no --root)."""
    words = list(cmd[1:])
    if words[:1] == ["--root"]:
        words = words[2:]
    pre = "COMPOSE_FILE=%s " % shlex.quote(env["COMPOSE_FILE"]) if env and "COMPOSE_FILE" in env else ""
    return pre + "berth " + " ".join(shlex.quote(w) for w in words)


def _failure(rc, lines):
    errs = [l for l in lines if not l.startswith("WARN")] or lines
    return "berth exited %d: %s" % (rc, " / ".join(errs[-3:]) or "(no message)")


def _inputs(row, base):
    paths = [os.path.join(base, x) for x in row.inputs]
    for p in paths:
        if not os.path.isfile(p):
            raise UsageError("MANIFEST.tsv line %d: input %s does not exist" % (row.lineno, p))
    cwd = os.path.dirname(paths[0])
    return [os.path.relpath(p, cwd) for p in paths], cwd


def skip_reason(row):
    if row.provider == "openshift":
        return "provider openshift (DeploymentConfig, ImageStream, Route): berth writes plain Kubernetes only"
    if "--build" in row.flags:
        return "kompose --build local builds images with docker/podman (upstream runs it only when one is there); berth's counterpart is kube convert --push, a different command"
    if row.check not in ("match", "match+warn", "files", "warning"):
        return "unknown check kind %r" % row.check
    return None


def run_match(opts, row, base):
    res = {"row": row.id, "line": row.lineno, "check": row.check, "diffs": [], "notes": []}
    rel, cwd = _inputs(row, base)
    try:
        args, notes = translate_flags(row.flags)
    except KeyError as e:
        res.update(status="error", error="flag not supported: %s (no berth counterpart)" % e.args[0])
        return res
    res["notes"] += notes
    miss = missing_flags(args, opts.berth)
    if miss:
        res.update(status="error", error="flag not supported: berth kube convert has no %s (kompose: %s)" % (
            ", ".join(miss), row.flags))
        return res
    env = clean_env()
    if "COMPOSE_FILE" in row.note:
        env["COMPOSE_FILE"] = ":".join(rel)
        res["notes"].append("inputs through COMPOSE_FILE=%s" % env["COMPOSE_FILE"])
    else:
        args = [a for f in rel for a in ("-f", f)] + args
    rc, out, err, cmd = run_berth(opts, args, cwd, env)
    res["cmd"] = "cd %s && %s" % (shlex.quote(os.path.relpath(cwd, base)), _show(cmd, env))
    warns = [l for l in err.splitlines() if l.strip()]
    res["warnings"] = warns
    if rc != 0:
        res.update(status="error", error=_failure(rc, warns))
        return res
    exp_path = os.path.join(base, row.expected)
    try:
        with open(exp_path, encoding="utf-8") as f:
            kompose = load_objects(f.read(), exp_path)
    except OSError as e:
        raise UsageError("%s: %s" % (exp_path, e.strerror))
    try:
        berth = load_objects(out, "berth's output")
    except UsageError as e:
        res.update(status="error", error=str(e))
        return res
    res["diffs"] = [{"text": t, "detail": d} for t, d in diff_objects(kompose, berth)]
    if row.check == "match" and warns:
        res["notes"].append("Kompose prints no warning here; berth printed %d" % len(warns))
    elif row.check == "match+warn" and not warns:
        res["notes"].append("Kompose warns here; berth printed no warning")
    res["status"] = "compared"
    return res


def _listing(d):
    out = []
    for dp, _dn, fn in os.walk(d):
        for f in fn:
            out.append(os.path.relpath(os.path.join(dp, f), d))
    return sorted(out)


def run_files(opts, row, base):
    res = {"row": row.id, "line": row.lineno, "check": row.check, "diffs": [], "notes": []}
    rel, _cwd = _inputs(row, base)
    m = re.search(r"files that must be written: ([^;]*)", row.note)
    if not m:
        raise UsageError("MANIFEST.tsv line %d: files row without 'files that must be written:'" % row.lineno)
    want = m.group(1).split()
    work = tempfile.mkdtemp(prefix="kompose-files.")
    try:
        tmp = os.path.join(work, "tmp")
        os.mkdir(tmp)
        run_dir = os.path.join(work, "cwd")
        os.mkdir(run_dir)
        try:
            args, notes = translate_flags(row.flags, tmp)
        except KeyError as e:
            res.update(status="error", error="flag not supported: %s (no berth counterpart)" % e.args[0])
            return res
        res["notes"] += notes
        if "-o" not in args:
            # Kompose's default is one file per object in the current
            # directory; berth's is stdout (issue 12), and -o DIR/ is that
            args += ["-o", "./"]
            res["notes"].append("no -o: Kompose writes one file per object into the current directory, berth "
                                "writes stdout; checked as berth -o ./")
        miss = missing_flags(args, opts.berth)
        if miss:
            res.update(status="error", error="flag not supported: berth kube convert has no %s" % ", ".join(miss))
            return res
        files = [a for f in rel for a in ("-f", os.path.join(base, os.path.dirname(row.inputs[0]), f))]
        rc, _out, err, cmd = run_berth(opts, files + args, run_dir, clean_env())
        res["cmd"] = _show(cmd).replace(work + "/", "").replace(base + "/", "")
        res["warnings"] = [l for l in err.splitlines() if l.strip()]
        if rc != 0:
            res.update(status="error", error=_failure(rc, res["warnings"]))
            return res
        got = ["<tmp>/" + f for f in _listing(tmp)] + _listing(run_dir)
        want_n = sorted(w if w.startswith("<tmp>") else w for w in want)
        for w in want_n:
            if w not in got:
                res["diffs"].append({"text": "file %s: missing" % w, "detail": "berth wrote: " + " ".join(got)})
        for g in got:
            if g not in want_n:
                res["diffs"].append({"text": "file %s: extra" % g, "detail": ""})
        for g in got:
            p = os.path.join(tmp, g[6:]) if g.startswith("<tmp>/") else os.path.join(run_dir, g)
            try:
                with open(p, encoding="utf-8") as f:
                    if not load_objects(f.read(), g):
                        res["diffs"].append({"text": "file %s: no object in it" % g, "detail": ""})
            except (OSError, UsageError) as e:
                res["diffs"].append({"text": "file %s: unreadable: %s" % (g, e), "detail": ""})
        res["status"] = "compared"
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_warning(opts, row, base):
    res = {"row": row.id, "line": row.lineno, "check": row.check, "diffs": [], "notes": []}
    rel, cwd = _inputs(row, base)
    m = re.search(r"expected stderr text: (.*?)(;|$)", row.note)
    want = m.group(1).strip() if m else ""
    args = [a for f in rel for a in ("-f", f)]
    rc, _out, err, cmd = run_berth(opts, args, cwd, clean_env())
    res["cmd"] = "cd %s && %s" % (shlex.quote(os.path.relpath(cwd, base)), _show(cmd))
    warns = [l for l in err.splitlines() if l.strip()]
    res["warnings"] = warns
    if rc != 0:
        res.update(status="error", error=_failure(rc, warns))
        return res
    if not warns:
        res["diffs"].append({"text": "stderr: no warning (Kompose: %s)" % want, "detail": ""})
    elif want.lower() not in err.lower():
        res["notes"].append("Kompose's text: %s; berth's: %s" % (want, " / ".join(warns)))
    res["status"] = "compared"
    return res


def classify(res, differences):
    """Split res's diffs into covered (with reason) and uncovered; set the verdict."""
    covered, uncovered = [], []
    for d in res["diffs"]:
        for rg, dg, reason, ln in differences:
            if glob_match(rg, res["row"]) and glob_match(dg, d["text"]):
                covered.append((d, reason, ln))
                break
        else:
            uncovered.append(d)
    res["covered"] = [{"text": d["text"], "reason": r, "line": ln} for d, r, ln in covered]
    res["uncovered"] = uncovered
    if res.get("status") == "error":
        res["verdict"] = "differs"
    elif uncovered:
        res["verdict"] = "differs"
    elif covered:
        res["verdict"] = "on purpose"
    else:
        res["verdict"] = "same"
    return res


def run_all(opts):
    base = os.path.join(opts.kompose, "fixtures")
    rows = read_manifest(os.path.join(opts.kompose, "MANIFEST.tsv"))
    differences = read_differences(opts.differences)
    results = []
    for row in rows:
        if opts.only and not glob_match(opts.only, row.id):
            continue
        why = skip_reason(row)
        if why:
            results.append({"row": row.id, "line": row.lineno, "check": row.check, "verdict": "skip", "reason": why})
            continue
        if row.check in ("match", "match+warn"):
            res = run_match(opts, row, base)
        elif row.check == "files":
            res = run_files(opts, row, base)
        else:
            res = run_warning(opts, row, base)
        results.append(classify(res, differences))
    used = {c["line"] for r in results for c in r.get("covered", [])}
    # a line that covers nothing is stale, but only a run over every row can tell
    unused = [] if opts.only else [(ln, rg, dg) for rg, dg, _r, ln in differences if ln not in used]
    return results, unused


def print_report(results, unused, out):
    for r in results:
        head = "%s (%s, MANIFEST.tsv line %d)" % (r["row"], r["check"], r["line"])
        if r["verdict"] == "skip":
            out.write("%s: SKIP: %s\n" % (head, r["reason"]))
            continue
        if r["verdict"] == "same":
            out.write("%s: SAME\n" % head)
        else:
            out.write("%s: %s\n" % (head, "DIFFERS ON PURPOSE ONLY" if r["verdict"] == "on purpose" else "DIFFERS"))
        if r.get("cmd"):
            out.write("  $ %s\n" % r["cmd"])
        if r.get("error"):
            out.write("  error: %s\n" % r["error"])
        for d in r.get("uncovered", []):
            out.write("  - %s%s\n" % (d["text"], ("  = " + d["detail"]) if d["detail"] else ""))
        for c in r.get("covered", []):
            out.write("  ~ %s  (on purpose: %s)\n" % (c["text"], c["reason"]))
        for n in r.get("notes", []):
            out.write("  note: %s\n" % n)
        for w in r.get("warnings", []):
            out.write("  berth: %s\n" % w)
    out.write(summary(results) + "\n")
    for ln, rg, dg in unused:
        out.write("# differences line %d (%s / %s) covered nothing\n" % (ln, rg, dg))


def apply_gaps(results, path):
    """Rows that still differ and are listed in the gaps file (row glob,
    reason) become "gap": berth lacks that mapping yet, and says so."""
    if not os.path.isfile(path):
        return
    gaps = []
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#") or line.startswith("row\t"):
                continue
            cols = line.split("\t")
            if len(cols) != 2:
                raise UsageError("%s:%d: want 2 tab-separated columns (row, reason)" % (path, ln))
            gaps.append(cols)
    for r in results:
        if r["verdict"] != "differs":
            continue
        for rg, reason in gaps:
            if fnmatch.fnmatchcase(r["row"], rg):
                r["verdict"] = "gap"
                r["gap"] = reason
                break


def summary(results):
    def counts(rs):
        return tuple(sum(r["verdict"] == v for r in rs) for v in ("same", "on purpose", "differs", "gap", "skip"))

    line = ("# kompose conformance: %d rows same, %d rows differ only on purpose, %d rows differ, "
            "%d rows are known gaps (%d skipped)") % counts(results)
    m = [r for r in results if r["check"] in ("match", "match+warn")]
    o = [r for r in results if r["check"] not in ("match", "match+warn")]
    return line + "\n# of these, match/match+warn: %d same, %d on purpose, %d differ, %d gaps, %d skipped" % counts(m) + \
        "; files/warning: %d same, %d on purpose, %d differ, %d gaps, %d skipped" % counts(o)


def print_tap(results, unused, name, out):
    for r in results:
        desc = "%s [%s]" % (r["row"], r["check"])
        v = r["verdict"]
        if v == "skip":
            out.write("skip - %s: %s: %s\n" % (name, desc, r["reason"]))
            continue
        if v == "gap":
            out.write("skip - %s: %s: known gap in berth: %s\n" % (name, desc, r["gap"]))
            if r.get("error"):
                out.write("#   %s\n" % r["error"])
            for d in r.get("uncovered", []):
                out.write("#   %s\n" % d["text"])
            continue
        if v == "differs":
            n = len(r.get("uncovered", []))
            why = r.get("error") or "%d difference%s not on purpose" % (n, "" if n == 1 else "s")
            out.write("not ok - %s: %s: %s\n" % (name, desc, why))
            if r.get("cmd"):
                out.write("#   $ %s\n" % r["cmd"])
            for d in r.get("uncovered", []):
                out.write("#   %s%s\n" % (d["text"], ("  = " + d["detail"]) if d["detail"] else ""))
        else:
            same = " (the files Kompose writes)" if r["check"] == "files" else " (the same objects)"
            out.write("ok - %s: %s%s\n" % (name, desc, same if v == "same" else " (differs only on purpose)"))
        for c in r.get("covered", []):
            out.write("# on purpose: %s: %s (%s)\n" % (r["row"], c["text"], c["reason"]))
        for n_ in r.get("notes", []):
            out.write("#   note: %s\n" % n_)
    out.write(summary(results) + "\n")
    for ln, rg, dg in unused:
        out.write("# differences line %d (%s / %s) covered nothing in these rows\n" % (ln, rg, dg))


# ---------------------------------------------------------------- self-test

def self_test(out):
    fails = 0
    n = 0

    def t(desc, cond, got=None):
        nonlocal fails, n
        n += 1
        if cond:
            out.write("ok - %s self-test: %s\n" % (PROG, desc))
        else:
            fails += 1
            out.write("not ok - %s self-test: %s\n" % (PROG, desc))
            if got is not None:
                out.write("#   got: %r\n" % (got,))

    def d(a, b):
        return [x[0] for x in diff_objects(load_objects(a, "kompose"), load_objects(b, "berth"))]

    dep_k = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {io.kompose.service: web}}
spec:
  replicas: 1
  selector: {matchLabels: {io.kompose.service: web}}
  template:
    metadata: {labels: {io.kompose.service: web}}
    spec:
      containers:
        - name: side
          image: busybox:1.36
        - name: web
          image: nginx:1.25
          args: [nginx, -g, daemon off;]
          ports: [{containerPort: 80, protocol: TCP}, {containerPort: 53, protocol: UDP}]
          env: [{name: A, value: "1"}, {name: B, value: x}]
          resources: {limits: {memory: 1Gi, cpu: "0.5"}}
          volumeMounts: [{name: v1, mountPath: /a}, {name: v2, mountPath: /b}]
      restartPolicy: Always
      volumes: [{name: v1, emptyDir: {}}, {name: v2, persistentVolumeClaim: {claimName: d}}]
status: {}
"""
    dep_b = """
kind: Deployment
apiVersion: apps/v1
metadata: {labels: {io.kompose.service: web}, name: web, creationTimestamp: null}
spec:
  selector: {matchLabels: {io.kompose.service: web}}
  strategy: {}
  template:
    metadata: {labels: {io.kompose.service: web}}
    spec:
      volumes: [{persistentVolumeClaim: {claimName: d}, name: v2}, {emptyDir: {}, name: v1}]
      containers:
        - image: nginx:1.25
          name: web
          imagePullPolicy: IfNotPresent
          env: [{name: B, value: x}, {name: A, value: 1}]
          ports: [{containerPort: 53, protocol: UDP}, {containerPort: 80}]
          resources: {limits: {cpu: 500m, memory: 1024Mi}, requests: {}}
          volumeMounts: [{mountPath: /b, name: v2}, {mountPath: /a, name: v1, readOnly: false}]
          args: [nginx, -g, daemon off;]
          securityContext: {}
        - {name: side, image: "busybox:1.36", tty: false}
"""
    got = d(dep_k, dep_b)
    t("key order, list order, defaults, \"1\" vs 1, 1Gi vs 1024Mi, 0.5 vs 500m: the same", got == [], got)
    got = d(dep_k, dep_b.replace("args: [nginx, -g, daemon off;]", "args: [-g, nginx, daemon off;]"))
    t("args order is meaning", got == ["Deployment/web spec.template.spec.containers[web].args: value: "
                                       "kompose [\"nginx\",\"-g\",\"daemon off;\"], berth [\"-g\",\"nginx\",\"daemon off;\"]"], got)
    b2 = dep_b.replace("          securityContext: {}\n",
                       "          readinessProbe: {exec: {command: [true]}}\n")
    got = d(dep_k, b2)
    t("an extra probe is named by its container", got == ["Deployment/web spec.template.spec.containers[web].readinessProbe: extra"], got)
    b3 = dep_b.replace("{mountPath: /b, name: v2}, ", "").replace("memory: 1024Mi", "memory: 1000Mi")
    got = d(dep_k, b3)
    t("a missing mount (by mountPath), a different quantity",
      got == ["Deployment/web spec.template.spec.containers[web].resources.limits.memory: value: kompose \"1Gi\", berth \"1000Mi\"",
              "Deployment/web spec.template.spec.containers[web].volumeMounts[/b]: missing"], got)
    got = d(dep_k, dep_b.replace("{containerPort: 80}", "{containerPort: 80, protocol: UDP}"))
    t("ports matched by containerPort/protocol",
      got == ["Deployment/web spec.template.spec.containers[web].ports[80/TCP]: missing",
              "Deployment/web spec.template.spec.containers[web].ports[80/UDP]: extra"], got)
    svc_k = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{name: '80', port: 80, targetPort: 80}]\n  selector: {app: web}\n"
    svc_b = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: ClusterIP\n  ports: [{name: \"80\", port: \"80\", protocol: TCP}]\n  selector: {app: web}\n"
    got = d(svc_k, svc_b)
    t("Service: default type, protocol and targetPort; port \"80\" is 80", got == [], got)
    got = d(svc_k, svc_b.replace("ClusterIP", "LoadBalancer") + "---\napiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {clusterIP: None, selector: {app: db}}\n")
    t("type and extra object", got == ["extra object Service/db (headless)",
                                       "Service/web spec.type: value: kompose \"ClusterIP\", berth \"LoadBalancer\""], got)
    got = d(svc_k + "---\n" + svc_k.replace("web", "db"), svc_b)
    t("missing object", got == ["missing object Service/db (ClusterIP)"], got)
    pod_k = "kind: Pod\napiVersion: v1\nmetadata: {name: job_1, labels: {a: b}}\nspec: {restartPolicy: Never, containers: [{name: a, image: x, envFrom: [{configMapRef: {name: e}}]}]}\n"
    job_b = "kind: Job\napiVersion: batch/v1\nmetadata: {name: job-1, labels: {a: b}}\nspec: {template: {metadata: {labels: {a: b}}, spec: {restartPolicy: Never, containers: [{name: a, image: x}]}}}\n"
    got = d(pod_k, job_b)
    t("a renamed workload of another kind: kind, name and its pod compared",
      got == ["Pod/job_1 kind: value: kompose \"Pod\", berth \"Job\"",
              "Pod/job_1 metadata.name: value: kompose \"job_1\", berth \"job-1\"",
              "Pod/job_1 template.spec.containers[a].envFrom[configMapRef=e]: missing"], got)
    got = d(pod_k.replace("name: a,", "name: renamed,"), pod_k)
    t("a pod's one container under another name is compared as itself",
      got == ["Pod/job_1 spec.containers[renamed].name: value: kompose \"renamed\", berth \"a\""], got)
    got = d(svc_k.replace("name: web", "name: web-tcp"), svc_b)
    t("a Service Kompose split by protocol is paired with berth's",
      got == ["Service/web-tcp metadata.name: value: kompose \"web-tcp\", berth \"web\""], got)
    got = d("kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\ndata: {a.b: x}\n",
            "kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\ndata: {a.b: y}\n")
    t("a key with dots is quoted", got == ["ConfigMap/c data.\"a.b\": value: kompose \"x\", berth \"y\""], got)
    got = d("kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {containers: [{name: a, image: x}], volumes: [{name: v, emptyDir: {}}]}\n",
            "kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {containers: [{name: a, image: x}], volumes: [{name: v, configMap: {name: c}}]}\n")
    t("emptyDir: {} is not nothing", got == ["Pod/p spec.volumes[v].configMap: extra", "Pod/p spec.volumes[v].emptyDir: missing"], got)
    got = d("kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {containers: [{name: a, image: x}], volumes: [{name: v}]}\n",
            "kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {containers: [{name: a, image: x}], volumes: [{name: v, emptyDir: {}}]}\n")
    t("a volume without a source is an emptyDir", got == [], got)
    got = d("kind: List\napiVersion: v1\nitems: [{kind: Pod, apiVersion: v1, metadata: {name: p}, spec: {containers: [{name: a, image: x}]}}]\n",
            "kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {containers: [{name: a, image: 'x'}], restartPolicy: Always}\n")
    t("a List is its items; restartPolicy Always is the default", got == [], got)
    got = d("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: n}\nspec: {podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {a: b}}}, {podSelector: {matchLabels: {c: d}}}]}]}\n",
            "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: n}\nspec: {policyTypes: [Ingress], podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {c: d}}}, {podSelector: {matchLabels: {a: b}}}]}]}\n")
    t("lists without a natural key compare by canonical form", got == [], got)
    got = d("kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {containers: [{name: a, image: x, securityContext: {capabilities: {add: [A, B]}}}]}\n",
            "kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {containers: [{name: a, image: x, securityContext: {capabilities: {add: [B, C]}}}]}\n")
    t("scalar lists as sets", got == ["Pod/p spec.containers[a].securityContext.capabilities.add[A]: missing",
                                      "Pod/p spec.containers[a].securityContext.capabilities.add[C]: extra"], got)
    t("quantities", quantity("1Gi") == quantity("1024Mi") and quantity("0.5") == quantity("500m")
      and quantity("1e3") == quantity("1k") and quantity("1x") is None)
    t("image pull defaults", _image_pull_default("nginx") == "Always" and _image_pull_default("a:5000/x") == "Always"
      and _image_pull_default("nginx:1") == "IfNotPresent" and _image_pull_default("x@sha256:ab") == "IfNotPresent")
    t("globs: only * and ? are special", glob_match("*.initContainers[wait-for-*]: extra",
                                                      "Deployment/web spec.template.spec.initContainers[wait-for-db]: extra")
      and not glob_match("a[b]", "ab") and glob_match("a?c", "abc") and not glob_match("a*", "ba"))
    try:
        a, _ = translate_flags("--stdout --with-kompose-annotation=false -n web --volumes=configMap --emptyvols "
                               "--pvc-request-size=300Mi --generate-network-policies -j -o <tmp>/x", "/T")
        ok = a == ["--with-annotations=false", "--namespace", "web", "--volumes", "configmap", "--volumes", "emptydir",
                   "--pvc-request-size", "300Mi", "--network-policies", "--format", "json", "-o", "/T/x"]
    except KeyError:
        ok, a = False, None
    t("flag translation", ok, a)
    try:
        translate_flags("--provider openshift")
        ok = False
    except KeyError:
        ok = True
    t("a Kompose flag without counterpart is refused", ok)
    res = classify({"row": "x/out.yaml", "diffs": [{"text": "extra object Service/db", "detail": ""},
                                                   {"text": "Service/web spec.type: value: kompose \"ClusterIP\", berth \"LoadBalancer\"", "detail": ""}]},
                   [("*", "extra object Service/*", "every service", 3)])
    t("classification: one covered, one not", res["verdict"] == "differs" and len(res["covered"]) == 1
      and res["uncovered"][0]["text"].startswith("Service/web"), res)
    res = classify({"row": "x/out.yaml", "diffs": []}, [])
    t("no difference is same", res["verdict"] == "same")
    out.write("# %s self-test: %d checks, %d failed\n" % (PROG, n, fails))
    return 1 if fails else 0


# ---------------------------------------------------------------- main

def default_kompose():
    shared = os.environ.get("BERTH_SHARED") or os.path.join(TOP, "..", "shared")
    return os.path.join(shared, "conformance", "kompose")


def main(argv):
    ap = argparse.ArgumentParser(prog=PROG, description="Compare berth kube convert with Kompose's expectations.")
    ap.add_argument("--berth", default=os.environ.get("BERTH") or os.path.join(TOP, "build", "berth"),
                    help="the berth binary (default $BERTH or <repo>/build/berth)")
    ap.add_argument("--root", help="berth --root for the runs")
    ap.add_argument("--kompose", default=None, help="the kompose conformance folder (MANIFEST.tsv, fixtures/)")
    ap.add_argument("--differences", default=None, help="TSV of the differences berth makes on purpose")
    ap.add_argument("--gaps", default=None, help="TSV of the rows berth does not meet yet (known gaps, reported as such)")
    ap.add_argument("--only", help="only rows whose id (the expected file) matches this glob")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--tap", metavar="NAME", help="TAP-style lines named NAME")
    g.add_argument("--json", action="store_true", help="one JSON object per row")
    ap.add_argument("--self-test", action="store_true", help="check the comparison itself on small inputs")
    opts = ap.parse_args(argv)
    if opts.self_test:
        return self_test(sys.stdout)
    opts.kompose = opts.kompose or default_kompose()
    # the runs happen in the fixtures' directories
    opts.berth = os.path.abspath(opts.berth)
    if opts.root:
        opts.root = os.path.abspath(opts.root)
    try:
        if not os.path.isfile(os.path.join(opts.kompose, "MANIFEST.tsv")):
            raise UsageError("%s: no MANIFEST.tsv (set BERTH_SHARED or --kompose)" % opts.kompose)
        if not os.access(opts.berth, os.X_OK):
            raise UsageError("--berth %s: not an executable" % opts.berth)
        results, unused = run_all(opts)
        apply_gaps(results, opts.gaps or os.path.join(TOP, "tests", "kube", "kompose-gaps.tsv"))
    except UsageError as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        return 2
    if opts.json:
        for r in results:
            print(json.dumps(r, sort_keys=True))
    elif opts.tap:
        print_tap(results, unused, opts.tap, sys.stdout)
    else:
        print_report(results, unused, sys.stdout)
    return 1 if any(r["verdict"] == "differs" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
