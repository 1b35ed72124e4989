#!/usr/bin/env python3
"""Check Kubernetes manifests against the Kubernetes OpenAPI (Swagger 2.0) spec.

Usage: k8s-validate.py [--swagger FILE] FILE|DIR|- ...

Reads multi-document YAML or JSON: a file, every *.yaml/*.yml/*.json under
a directory (recursively), or stdin ("-"). A `kind: List` document has each
of its items checked as an object of its own.

The spec is by default <repo>/../shared/conformance/kubernetes/swagger.json
(the Kubernetes 1.36 API), or $BERTH_SHARED/conformance/kubernetes/swagger.json
when BERTH_SHARED is set. The rules follow the "How a test uses it" part of
that folder's README (section "kubernetes/"):

  * (apiVersion, kind) -> definition through x-kubernetes-group-version-kind
    (DeleteOptions and WatchEvent, which list every group, are skipped); a
    pair that is not there is an API the server does not serve: an error;
  * schema walk: $ref, type, format int32/int64/byte/date-time, required,
    unknown fields (a definition with properties lists all of its fields),
    maps (additionalProperties) value by value, arrays item by item;
    IntOrString takes an integer or a string, Quantity a string or a number;
    null is accepted for optional fields; `status` of a top-level kind is not
    checked; duplicate keys are errors (as with kubectl --validate=strict);
  * what the spec cannot say, checked by hand as the API server does:
    apiVersion, kind, metadata.name (or generateName) present; name syntax
    per kind; label and annotation keys, label values; a few closed value
    sets (Service type, protocol, restartPolicy, imagePullPolicy, pathType,
    ...); port numbers 1-65535 and port names; workload selectors matching
    their pod template's labels; container and volume names in a pod.

Output: one line per problem, "FILE:DOC#N: KIND/NAME: path.to.field: message",
then "N objects, N errors". Exit 0 without errors, 1 with errors, 2 on a
usage error or input that cannot be read or parsed (the message names it).

Standard library plus PyYAML (Debian: python3-yaml) only.
"""
import argparse
import base64
import binascii
import json
import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover - reported to the user
    sys.stderr.write("k8s-validate: PyYAML is missing (Debian: apt-get install python3-yaml)\n")
    sys.exit(2)

K8S_RELEASE = "Kubernetes 1.36"  # what the shared swagger.json is (see its README)
PROG = "k8s-validate"

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
SKIPPED_GVK_DEFS = (
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
)
INT_RANGE = {
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}


# ---------------------------------------------------------------- loading

class DupDict(dict):
    """A mapping that remembers keys given more than once in the source."""
    __slots__ = ("dups",)


def _yaml_loader():
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # pylint: disable=too-many-ancestors
        pass

    # Kubernetes reads YAML with sigs.k8s.io/yaml (go-yaml v2 -> JSON), which
    # leaves an unquoted 2024-01-01T00:00:00Z a string: do the same instead
    # of making datetime objects.
    Loader.yaml_implicit_resolvers = {
        ch: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:timestamp"]
        for ch, rs in base.yaml_implicit_resolvers.items()
    }

    def construct_map(loader, node):
        data = DupDict()
        yield data
        seen, dups = set(), []
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            k = key_node.value
            if k in seen and k not in dups:
                dups.append(k)
            seen.add(k)
        data.update(loader.construct_mapping(node))
        if dups:
            data.dups = dups

    Loader.add_constructor("tag:yaml.org,2002:map", construct_map)
    return Loader


LOADER = _yaml_loader()


def _json_pairs(pairs):
    d = DupDict()
    dups = []
    for k, v in pairs:
        if k in d and k not in dups:
            dups.append(k)
        d[k] = v
    if dups:
        d.dups = dups
    return d


def load_documents(name, text):
    """List of documents (None for an empty one). Raises ValueError."""
    if name.endswith(".json"):
        try:
            return [json.loads(text, object_pairs_hook=_json_pairs)]
        except json.JSONDecodeError as e:
            raise ValueError("not valid JSON: %s" % e) from None
    try:
        return list(yaml.load_all(text, Loader=LOADER))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        what = " ".join(x for x in (getattr(e, "context", None), getattr(e, "problem", None)) if x)
        if mark is not None:
            raise ValueError("not valid YAML: line %d, column %d: %s"
                             % (mark.line + 1, mark.column + 1, what or e)) from None
        raise ValueError("not valid YAML: %s" % str(e).replace("\n", " ")) from None


# ------------------------------------------------------------ value syntax

RX_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
RX_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
RX_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?\Z")
RX_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
RX_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z")
RX_IANA_SVC_NAME = re.compile(r"[-a-z0-9]+\Z")
RX_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+\Z")
RX_QUANTITY = re.compile(
    r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?\Z")
RX_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})\Z")


def dns1123_label(s):
    if len(s) > 63:
        return "must be no more than 63 characters"
    if not RX_DNS1123_LABEL.match(s):
        return ("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                "characters or '-', and must start and end with an alphanumeric character")
    return None


def dns1123_subdomain(s):
    if len(s) > 253:
        return "must be no more than 253 characters"
    if not RX_DNS1123_SUBDOMAIN.match(s):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character")
    return None


def dns1035_label(s):
    if len(s) > 63:
        return "must be no more than 63 characters"
    if not RX_DNS1035_LABEL.match(s):
        return ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character")
    return None


def path_segment_name(s):
    if s in (".", ".."):
        return "may not be '.' or '..'"
    for c in "/%":
        if c in s:
            return "may not contain '%s'" % c
    return None


def iana_svc_name(s):
    if len(s) > 15:
        return "must be no more than 15 characters (IANA_SVC_NAME)"
    if not RX_IANA_SVC_NAME.match(s):
        return "must contain only lower case alphanumeric characters or '-' (IANA_SVC_NAME)"
    if not re.search("[a-z]", s):
        return "must contain at least one letter (IANA_SVC_NAME)"
    if "--" in s:
        return "must not contain consecutive hyphens (IANA_SVC_NAME)"
    if s.startswith("-") or s.endswith("-"):
        return "must not begin or end with a hyphen (IANA_SVC_NAME)"
    return None


def qualified_name(s):
    """A label or annotation key: [prefix/]name."""
    prefix, sep, name = s.rpartition("/")
    if sep:
        if not prefix:
            return "prefix part must be non-empty"
        err = dns1123_subdomain(prefix)
        if err:
            return "prefix part " + err
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not RX_QUALIFIED_NAME.match(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character")
    return None


def label_value(s):
    if len(s) > 63:
        return "must be no more than 63 characters"
    if not RX_LABEL_VALUE.match(s):
        return ("a valid label value must be an empty string or consist of alphanumeric "
                "characters, '-', '_' or '.', and must start and end with an alphanumeric character")
    return None


def config_key(s):
    if len(s) > 253:
        return "must be no more than 253 characters"
    if not RX_CONFIG_KEY.match(s) or s in (".", ".."):
        return "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
    return None


def describe(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean %s" % ("true" if v else "false")
    if isinstance(v, int):
        return "integer %d" % v
    if isinstance(v, float):
        return "number %r" % v
    if isinstance(v, str):
        return "string %s" % json.dumps(v if len(v) <= 40 else v[:40] + "...")
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return type(v).__name__


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_str(v):
    return isinstance(v, str)


def key_str(k):
    """Map keys as sigs.k8s.io/yaml turns them into JSON keys."""
    if isinstance(k, str):
        return k
    if isinstance(k, bool):
        return "true" if k else "false"
    if k is None:
        return "null"
    return str(k)


def join(path, field):
    return field if not path else path + "." + field


# -------------------------------------------------------------- the checker

class Spec:
    def __init__(self, path, label):
        with open(path, "rb") as f:
            doc = json.load(f)
        self.defs = doc.get("definitions")
        if not isinstance(self.defs, dict) or not self.defs:
            raise ValueError("no definitions")
        self.label = label
        self.gvk = {}
        self.kinds = {}  # kind (lower case) -> [(apiVersion, kind)]
        for name, d in self.defs.items():
            if name in SKIPPED_GVK_DEFS:
                continue
            for g in d.get("x-kubernetes-group-version-kind") or ():
                av = g["version"] if not g.get("group") else "%s/%s" % (g["group"], g["version"])
                self.gvk[(av, g["kind"])] = name
                self.kinds.setdefault(g["kind"].lower(), []).append((av, g["kind"]))


class Ctx:
    """Where errors of one object go."""

    def __init__(self, out, where, prefix=""):
        self.out = out
        self.where = where
        self.prefix = prefix
        self.label = "?/?"
        self.errors = 0
        self.claims = ()  # StatefulSet volumeClaimTemplates: volumes the pods get

    def err(self, path, msg):
        if self.prefix:
            path = self.prefix + path if not path or path.startswith("[") else self.prefix + "." + path
        self.out.append("%s: %s: %s: %s" % (self.where, self.label, path or "(document)", msg))
        self.errors += 1


def check(spec, v, s, path, ctx, name=None, required=False):
    """Walk value v against schema s (a property schema or a definition)."""
    ref = s.get("$ref")
    if ref is not None:
        name = ref.rsplit("/", 1)[-1]
        s = spec.defs.get(name)
        if s is None:
            ctx.err(path, "the spec has no definition %s" % name)
            return
    if v is None:
        if required:
            ctx.err(path, "required field is null")
        return
    if name == INT_OR_STRING:
        if not (is_int(v) or is_str(v)):
            ctx.err(path, "expected integer or string, got %s" % describe(v))
        elif is_int(v) and not INT_RANGE["int32"][0] <= v <= INT_RANGE["int32"][1]:
            ctx.err(path, "integer %d is out of the int32 range" % v)
        return
    if name == QUANTITY:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            ctx.err(path, "expected a quantity (string or number), got %s" % describe(v))
        elif is_str(v) and not RX_QUANTITY.match(v):
            ctx.err(path, "%s is not a valid quantity (a number with an optional suffix: "
                    "n u m k M G T P E, Ki Mi Gi Ti Pi Ei, or e<exponent>)" % json.dumps(v))
        return
    t = s.get("type")
    if t == "object":
        if not isinstance(v, dict):
            ctx.err(path, "expected object, got %s" % describe(v))
            return
        props = s.get("properties")
        dups = getattr(v, "dups", None)
        if dups:
            for k in dups:
                ctx.err(join(path, k) if props is not None else "%s[%s]" % (path, k),
                        "duplicate key %s" % json.dumps(k))
        if props is not None:
            req = s.get("required") or ()
            for r in req:
                if r not in v:
                    ctx.err(join(path, r), "required field is missing")
            top = "x-kubernetes-group-version-kind" in s
            for k, x in v.items():
                k = key_str(k)
                if top and k == "status":
                    continue  # status is the server's, and its types have required fields
                ps = props.get(k)
                if ps is None:
                    ctx.err(join(path, k), "unknown field %s" % json.dumps(k))
                    continue
                check(spec, x, ps, join(path, k), ctx, None, k in req)
        else:
            ap = s.get("additionalProperties")
            if isinstance(ap, dict):
                for k, x in v.items():
                    check(spec, x, ap, "%s[%s]" % (path, key_str(k)), ctx)
            # else: free-form object (RawExtension, FieldsV1, ...)
        hook = HOOKS.get(name)
        if hook is not None:
            hook(spec, v, path, ctx)
    elif t == "array":
        if not isinstance(v, list):
            ctx.err(path, "expected array, got %s" % describe(v))
            return
        items = s.get("items")
        for i, x in enumerate(v):
            p = "%s[%d]" % (path, i)
            if x is None:
                ctx.err(p, "null item in array")
            elif items is not None:
                check(spec, x, items, p, ctx)
    elif t == "string":
        if not is_str(v):
            ctx.err(path, "expected string, got %s" % describe(v))
            return
        fmt = s.get("format")
        if fmt == "byte":
            try:
                base64.b64decode(v.replace("\n", "").replace("\r", ""), validate=True)
            except (binascii.Error, ValueError):
                ctx.err(path, "not valid base64 (format: byte)")
        elif fmt == "date-time" and not RX_DATE_TIME.match(v):
            ctx.err(path, "%s is not an RFC 3339 date-time" % json.dumps(v))
    elif t == "integer":
        if not is_int(v):
            ctx.err(path, "expected integer, got %s" % describe(v))
            return
        rng = INT_RANGE.get(s.get("format"))
        if rng and not rng[0] <= v <= rng[1]:
            ctx.err(path, "integer %d is out of the %s range" % (v, s.get("format")))
    elif t == "number":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            ctx.err(path, "expected number, got %s" % describe(v))
    elif t == "boolean":
        if not isinstance(v, bool):
            ctx.err(path, "expected boolean, got %s" % describe(v))
    # no type (apiextensions JSON and friends): anything goes


# ------------------------------------------------ checks the spec cannot do

def enum(v, field, allowed, path, ctx, empty_ok=True):
    """A closed value set. The server's defaulting fills in most such fields
    when they are "" as when they are absent, so "" passes unless empty_ok is
    false (fields without a default)."""
    x = v.get(field)
    if is_str(x) and x not in allowed and not (empty_ok and x == ""):
        ctx.err(join(path, field), "unsupported value %s: supported values: %s"
                % (json.dumps(x), ", ".join(json.dumps(a) for a in allowed)))


def port_number(v, field, path, ctx, zero_ok=False):
    x = v.get(field)
    if is_int(x) and not (1 <= x <= 65535 or (zero_ok and x == 0)):
        ctx.err(join(path, field), "port %d is not in 1-65535" % x)


def int_or_name_port(v, field, path, ctx, zero_ok=False):
    """An IntOrString port: a number 1-65535 or an IANA_SVC_NAME."""
    x = v.get(field)
    if is_int(x):
        port_number(v, field, path, ctx, zero_ok)
    elif is_str(x) and not (zero_ok and x == ""):
        e = iana_svc_name(x)
        if e:
            ctx.err(join(path, field), "port name %s: %s" % (json.dumps(x), e))


def name_syntax(v, field, fn, path, ctx, what="name"):
    x = v.get(field)
    if is_str(x):
        e = fn(x)
        if e:
            ctx.err(join(path, field), "invalid %s %s: %s" % (what, json.dumps(x), e))


PROTOCOLS = ("TCP", "UDP", "SCTP")


def hook_container(spec, v, path, ctx):
    name_syntax(v, "name", dns1123_label, path, ctx, "container name")
    enum(v, "imagePullPolicy", ("Always", "IfNotPresent", "Never"), path, ctx)
    enum(v, "terminationMessagePolicy", ("File", "FallbackToLogsOnError"), path, ctx)


def hook_container_port(spec, v, path, ctx):
    port_number(v, "containerPort", path, ctx)
    port_number(v, "hostPort", path, ctx, zero_ok=True)
    name_syntax(v, "name", iana_svc_name, path, ctx, "port name")
    enum(v, "protocol", PROTOCOLS, path, ctx)


def hook_service_port(spec, v, path, ctx):
    port_number(v, "port", path, ctx)
    port_number(v, "nodePort", path, ctx, zero_ok=True)
    int_or_name_port(v, "targetPort", path, ctx, zero_ok=True)
    name_syntax(v, "name", dns1123_label, path, ctx, "port name")
    enum(v, "protocol", PROTOCOLS, path, ctx)


def hook_service_spec(spec, v, path, ctx):
    types = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
    enum(v, "type", types, path, ctx)
    enum(v, "externalTrafficPolicy", ("Cluster", "Local"), path, ctx)
    enum(v, "internalTrafficPolicy", ("Cluster", "Local"), path, ctx)
    enum(v, "sessionAffinity", ("ClientIP", "None"), path, ctx)
    enum(v, "ipFamilyPolicy", ("SingleStack", "PreferDualStack", "RequireDualStack"), path, ctx)
    typ = v.get("type")
    ports = v.get("ports")
    if typ == "ExternalName":
        if not v.get("externalName"):
            ctx.err(join(path, "externalName"), "required for type ExternalName")
    elif not ports and v.get("clusterIP") != "None":
        ctx.err(join(path, "ports"), "required (at least one port) unless the Service is headless or ExternalName")
    if isinstance(ports, list) and len(ports) > 1:
        seen = set()
        for i, p in enumerate(ports):
            if not isinstance(p, dict):
                continue
            n = p.get("name")
            if n is None or n == "":
                ctx.err("%s.ports[%d].name" % (path, i), "required when the Service has more than one port")
            elif n in seen:
                ctx.err("%s.ports[%d].name" % (path, i), "duplicate port name %s" % json.dumps(n))
            seen.add(n)


def hook_pod_spec(spec, v, path, ctx):
    enum(v, "restartPolicy", ("Always", "OnFailure", "Never"), path, ctx)
    enum(v, "dnsPolicy", ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"), path, ctx)
    volumes = set()
    vols = v.get("volumes")
    if isinstance(vols, list):
        for i, vol in enumerate(vols):
            if isinstance(vol, dict) and is_str(vol.get("name")):
                if vol["name"] in volumes:
                    ctx.err("%s.volumes[%d].name" % (path, i), "duplicate volume name %s" % json.dumps(vol["name"]))
                volumes.add(vol["name"])
    names = set()
    for field in ("initContainers", "containers", "ephemeralContainers"):
        cs = v.get(field)
        if not isinstance(cs, list):
            continue
        for i, c in enumerate(cs):
            if not isinstance(c, dict):
                continue
            cp = "%s.%s[%d]" % (path, field, i)
            n = c.get("name")
            if is_str(n):
                if n in names:
                    ctx.err(cp + ".name", "duplicate container name %s" % json.dumps(n))
                names.add(n)
            mounts = c.get("volumeMounts")
            if isinstance(mounts, list):
                for j, m in enumerate(mounts):
                    if (isinstance(m, dict) and is_str(m.get("name")) and m["name"] not in volumes
                            and m["name"] not in ctx.claims):
                        ctx.err("%s.volumeMounts[%d].name" % (cp, j),
                                "no volume named %s in the pod" % json.dumps(m["name"]))


def hook_volume(spec, v, path, ctx):
    name_syntax(v, "name", dns1123_label, path, ctx, "volume name")


def hook_probe_port(spec, v, path, ctx):
    int_or_name_port(v, "port", path, ctx)


def hook_grpc_action(spec, v, path, ctx):
    port_number(v, "port", path, ctx)


def hook_http_ingress_path(spec, v, path, ctx):
    enum(v, "pathType", ("Exact", "Prefix", "ImplementationSpecific"), path, ctx, empty_ok=False)


def hook_service_backend_port(spec, v, path, ctx):
    port_number(v, "number", path, ctx)


def hook_network_policy_port(spec, v, path, ctx):
    enum(v, "protocol", PROTOCOLS, path, ctx)
    int_or_name_port(v, "port", path, ctx)
    port_number(v, "endPort", path, ctx)


def hook_object_meta(spec, v, path, ctx):
    name_syntax(v, "namespace", dns1123_label, path, ctx, "namespace")
    labels = v.get("labels")
    if isinstance(labels, dict):
        check_labels(labels, join(path, "labels"), ctx)
    ann = v.get("annotations")
    if isinstance(ann, dict):
        for k in ann:
            e = qualified_name(key_str(k))
            if e:
                ctx.err("%s.annotations[%s]" % (path, key_str(k)), "invalid annotation key: " + e)


def check_labels(labels, path, ctx):
    for k, x in labels.items():
        k = key_str(k)
        e = qualified_name(k)
        if e:
            ctx.err("%s[%s]" % (path, k), "invalid label key: " + e)
        if is_str(x):
            e = label_value(x)
            if e:
                ctx.err("%s[%s]" % (path, k), "invalid label value %s: %s" % (json.dumps(x), e))


def hook_label_selector(spec, v, path, ctx):
    ml = v.get("matchLabels")
    if isinstance(ml, dict):
        check_labels(ml, join(path, "matchLabels"), ctx)
    me = v.get("matchExpressions")
    if isinstance(me, list):
        for i, r in enumerate(me):
            if not isinstance(r, dict):
                continue
            rp = "%s.matchExpressions[%d]" % (path, i)
            op = r.get("operator")
            enum(r, "operator", ("In", "NotIn", "Exists", "DoesNotExist"), rp, ctx, empty_ok=False)
            vals = r.get("values")
            if op in ("In", "NotIn") and not vals:
                ctx.err(rp + ".values", "must be specified when operator is %s" % op)
            if op in ("Exists", "DoesNotExist") and vals:
                ctx.err(rp + ".values", "may not be specified when operator is %s" % op)


def selector_mismatch(sel, labels):
    """Why LabelSelector sel does not select labels, or None."""
    ml = sel.get("matchLabels")
    if isinstance(ml, dict):
        for k, x in ml.items():
            k = key_str(k)
            if labels.get(k) != x:
                return "matchLabels %s=%s is not among the template labels" % (k, x)
    me = sel.get("matchExpressions")
    if isinstance(me, list):
        for r in me:
            if not isinstance(r, dict):
                continue
            k, op, vals = r.get("key"), r.get("operator"), r.get("values") or []
            if not isinstance(vals, list):
                continue
            has = k in labels
            ok = {"In": has and labels.get(k) in vals,
                  "NotIn": not has or labels.get(k) not in vals,
                  "Exists": has,
                  "DoesNotExist": not has}.get(op, True)
            if not ok:
                return "matchExpressions %s %s %s does not select the template labels" % (k, op, json.dumps(vals))
    return None


def template_labels(v):
    t = v.get("template")
    if not isinstance(t, dict):
        return None
    m = t.get("metadata")
    labels = m.get("labels") if isinstance(m, dict) else None
    return labels if isinstance(labels, dict) else {}


def template_restart_policy(v, allowed, path, ctx, missing_ok):
    t = v.get("template")
    ps = t.get("spec") if isinstance(t, dict) else None
    if not isinstance(ps, dict):
        return
    rp = ps.get("restartPolicy")
    p = join(path, "template.spec.restartPolicy")
    if rp is None or rp == "":
        if not missing_ok:
            ctx.err(p, "required: supported values: %s (the default, Always, is not allowed here)"
                    % ", ".join(json.dumps(a) for a in allowed))
    elif is_str(rp) and rp not in allowed and rp in ("Always", "OnFailure", "Never"):
        ctx.err(p, "unsupported value %s here: supported values: %s"
                % (json.dumps(rp), ", ".join(json.dumps(a) for a in allowed)))


def make_workload_hook(empty_selector_ok, restart_allowed, restart_missing_ok, strategy=None):
    def hook(spec, v, path, ctx):
        sel = v.get("selector")
        labels = template_labels(v)
        if isinstance(sel, dict):
            if not empty_selector_ok and not sel.get("matchLabels") and not sel.get("matchExpressions"):
                ctx.err(join(path, "selector"), "empty selector is invalid")
            elif labels is not None:
                why = selector_mismatch(sel, labels)
                if why:
                    ctx.err(join(path, "template.metadata.labels"),
                            "selector does not match template labels (%s)" % why)
        template_restart_policy(v, restart_allowed, path, ctx, restart_missing_ok)
        if strategy:
            field, values = strategy
            s = v.get(field)
            if isinstance(s, dict):
                enum(s, "type", values, join(path, field), ctx)
    return hook


def hook_rc_spec(spec, v, path, ctx):
    sel = v.get("selector")
    labels = template_labels(v)
    if isinstance(sel, dict) and sel and labels is not None:
        why = selector_mismatch({"matchLabels": sel}, labels)
        if why:
            ctx.err(join(path, "template.metadata.labels"),
                    "selector does not match template labels (%s)" % why.replace("matchLabels ", ""))
    template_restart_policy(v, ("Always",), path, ctx, True)


def hook_statefulset_spec(spec, v, path, ctx):
    STATEFULSET_WORKLOAD(spec, v, path, ctx)
    enum(v, "podManagementPolicy", ("OrderedReady", "Parallel"), path, ctx)


def hook_cronjob_spec(spec, v, path, ctx):
    enum(v, "concurrencyPolicy", ("Allow", "Forbid", "Replace"), path, ctx)


def hook_pvc_spec(spec, v, path, ctx):
    modes = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
    am = v.get("accessModes")
    if isinstance(am, list):
        for i, m in enumerate(am):
            if is_str(m) and m not in modes:
                ctx.err("%s.accessModes[%d]" % (path, i), "unsupported value %s: supported values: %s"
                        % (json.dumps(m), ", ".join(json.dumps(a) for a in modes)))
    enum(v, "volumeMode", ("Filesystem", "Block"), path, ctx, empty_ok=False)


def make_config_hook(fields):
    def hook(spec, v, path, ctx):
        seen = {}
        for f in fields:
            d = v.get(f)
            if not isinstance(d, dict):
                continue
            for k in d:
                k = key_str(k)
                e = config_key(k)
                if e:
                    ctx.err("%s[%s]" % (join(path, f), k), "invalid key: " + e)
                if k in seen and f != "stringData":
                    ctx.err("%s[%s]" % (join(path, f), k), "duplicate of key %s in %s" % (json.dumps(k), seen[k]))
                seen.setdefault(k, f)
    return hook


CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
STATEFULSET_WORKLOAD = make_workload_hook(False, ("Always",), True, ("updateStrategy", ("RollingUpdate", "OnDelete")))
HOOKS = {
    CORE + "Container": hook_container,
    CORE + "EphemeralContainer": hook_container,
    CORE + "ContainerPort": hook_container_port,
    CORE + "ServicePort": hook_service_port,
    CORE + "ServiceSpec": hook_service_spec,
    CORE + "PodSpec": hook_pod_spec,
    CORE + "Volume": hook_volume,
    CORE + "HTTPGetAction": hook_probe_port,
    CORE + "TCPSocketAction": hook_probe_port,
    CORE + "GRPCAction": hook_grpc_action,
    CORE + "PersistentVolumeClaimSpec": hook_pvc_spec,
    CORE + "ReplicationControllerSpec": hook_rc_spec,
    CORE + "ConfigMap": make_config_hook(("data", "binaryData")),
    CORE + "Secret": make_config_hook(("data", "stringData")),
    "io.k8s.api.networking.v1.HTTPIngressPath": hook_http_ingress_path,
    "io.k8s.api.networking.v1.ServiceBackendPort": hook_service_backend_port,
    "io.k8s.api.networking.v1.NetworkPolicyPort": hook_network_policy_port,
    META + "ObjectMeta": hook_object_meta,
    META + "LabelSelector": hook_label_selector,
    APPS + "DeploymentSpec": make_workload_hook(False, ("Always",), True, ("strategy", ("Recreate", "RollingUpdate"))),
    APPS + "ReplicaSetSpec": make_workload_hook(False, ("Always",), True),
    APPS + "DaemonSetSpec": make_workload_hook(False, ("Always",), True, ("updateStrategy", ("RollingUpdate", "OnDelete"))),
    APPS + "StatefulSetSpec": hook_statefulset_spec,
    "io.k8s.api.batch.v1.JobSpec": make_workload_hook(True, ("OnFailure", "Never"), False),
    "io.k8s.api.batch.v1.CronJobSpec": hook_cronjob_spec,
}

RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")


def name_rule(kind, api_version):
    if kind == "Service" and api_version == "v1":
        return dns1035_label, 63
    if kind == "Namespace" and api_version == "v1":
        return dns1123_label, 63
    if kind in RBAC_KINDS and api_version.startswith("rbac.authorization.k8s.io/"):
        return path_segment_name, None
    if kind == "CronJob":
        return dns1123_subdomain, 52
    return dns1123_subdomain, 253


# ------------------------------------------------------------- one object

def statefulset_claims(obj):
    sp = obj.get("spec")
    vct = sp.get("volumeClaimTemplates") if isinstance(sp, dict) else None
    names = set()
    if isinstance(vct, list):
        for t in vct:
            m = t.get("metadata") if isinstance(t, dict) else None
            if isinstance(m, dict) and is_str(m.get("name")):
                names.add(m["name"])
    return names


def validate_object(spec, obj, ctx):
    if not isinstance(obj, dict):
        ctx.err("", "a manifest must be an object, got %s" % describe(obj))
        return
    av, kind = obj.get("apiVersion"), obj.get("kind")
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    gen = meta.get("generateName") if isinstance(meta, dict) else None
    ctx.label = "%s/%s" % (kind if is_str(kind) and kind else "?",
                           name if is_str(name) and name else (gen + "*" if is_str(gen) and gen else "?"))
    bad = False
    for f, x in (("apiVersion", av), ("kind", kind)):
        if x is None or x == "":
            ctx.err(f, "required field is missing")
            bad = True
        elif not is_str(x):
            ctx.err(f, "expected string, got %s" % describe(x))
            bad = True
    if bad:
        return
    defname = spec.gvk.get((av, kind))
    if defname is None:
        msg = "apiVersion %s kind %s is not served by %s" % (av, kind, spec.label)
        alts = spec.kinds.get(kind.lower())
        if alts:
            msg += " (served: %s)" % ", ".join("%s %s" % a for a in sorted(alts))
        ctx.err("apiVersion", msg)
        return
    if defname == APPS + "StatefulSet":
        ctx.claims = statefulset_claims(obj)
    check(spec, obj, spec.defs[defname], "", ctx, defname)
    if meta is None:
        ctx.err("metadata", "required field is missing")
        return
    if not isinstance(meta, dict):
        return  # reported by the walk
    fn, maxlen = name_rule(kind, av)
    if is_str(name) and name:
        e = fn(name)
        if not e and maxlen and len(name) > maxlen:
            e = "must be no more than %d characters" % maxlen
        if e:
            ctx.err("metadata.name", "invalid name %s: %s" % (json.dumps(name), e))
    elif is_str(gen) and gen:
        e = fn(gen[:-1] + "a" if gen.endswith("-") else gen)  # a prefix may end in '-'
        if e:
            ctx.err("metadata.generateName", "invalid name prefix %s: %s" % (json.dumps(gen), e))
    elif name is None and gen is None:
        ctx.err("metadata.name", "required field is missing (or metadata.generateName)")
    elif not is_str(name) and name is not None:
        pass  # type error reported by the walk
    else:
        ctx.err("metadata.name", "must not be empty")


def validate_document(spec, doc, where, out):
    """Returns (objects, errors)."""
    if doc is None:
        return 0, 0
    if isinstance(doc, dict) and doc.get("kind") == "List" and doc.get("apiVersion") == "v1":
        ctx = Ctx(out, where)
        ctx.label = "List/-"
        for k in doc:
            if key_str(k) not in ("apiVersion", "kind", "metadata", "items"):
                ctx.err(key_str(k), "unknown field %s" % json.dumps(key_str(k)))
        if getattr(doc, "dups", None):
            for k in doc.dups:
                ctx.err(k, "duplicate key %s" % json.dumps(k))
        items = doc.get("items")
        if items is None:
            items = []
        if not isinstance(items, list):
            ctx.err("items", "expected array, got %s" % describe(items))
            return 0, ctx.errors
        objs, errs = 0, ctx.errors
        for i, item in enumerate(items):
            ictx = Ctx(out, where, "items[%d]" % i)
            validate_object(spec, item, ictx)
            objs += 1
            errs += ictx.errors
        return objs, errs
    ctx = Ctx(out, where)
    validate_object(spec, doc, ctx)
    return 1, ctx.errors


# ------------------------------------------------------------------- main

def default_swagger():
    shared = os.environ.get("BERTH_SHARED")
    if not shared:
        top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        shared = os.path.join(os.path.dirname(top), "shared")
    return os.path.join(shared, "conformance", "kubernetes", "swagger.json")


def collect(arg, problems):
    """(display name, path or None for stdin) for one command-line argument."""
    if arg == "-":
        return [("-", None)]
    if os.path.isdir(arg):
        found = []
        for root, dirs, files in os.walk(arg):
            dirs.sort()
            for f in sorted(files):
                if f.endswith((".yaml", ".yml", ".json")):
                    p = os.path.join(root, f)
                    found.append((p, p))
        return found
    if not os.path.exists(arg):
        problems.append("%s: no such file or directory" % arg)
        return []
    return [(arg, arg)]


def main(argv):
    ap = argparse.ArgumentParser(
        prog="k8s-validate.py",
        description="Validate Kubernetes manifests against the Kubernetes OpenAPI (swagger) spec.")
    ap.add_argument("--swagger", metavar="FILE",
                    help="the swagger.json to use (default: %s)" % default_swagger())
    ap.add_argument("inputs", nargs="+", metavar="FILE|DIR|-")
    args = ap.parse_args(argv)

    path = args.swagger or default_swagger()
    label = K8S_RELEASE if not args.swagger else "the API in %s" % args.swagger
    try:
        spec = Spec(path, label)
    except (OSError, ValueError) as e:
        sys.stderr.write("%s: cannot load the Kubernetes API spec %s: %s\n" % (PROG, path, e))
        return 2

    problems = []
    sources = []
    for a in args.inputs:
        sources.extend(collect(a, problems))
    out = []
    objects = errors = 0
    stdin_used = False
    for disp, p in sources:
        try:
            if p is None:
                if stdin_used:
                    continue
                stdin_used = True
                text = sys.stdin.read()
            else:
                with open(p, "r", encoding="utf-8") as f:
                    text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            problems.append("%s: cannot read: %s" % (disp, getattr(e, "strerror", None) or e))
            continue
        try:
            docs = load_documents(disp if p is not None else "-", text)
        except ValueError as e:
            problems.append("%s: %s" % (disp, e))
            continue
        for n, doc in enumerate(docs, 1):
            o, e = validate_document(spec, doc, "%s:DOC#%d" % (disp, n), out)
            objects += o
            errors += e
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    for pr in problems:
        sys.stderr.write("%s: %s\n" % (PROG, pr))
    sys.stdout.write("%d objects, %d errors\n" % (objects, errors))
    if problems:
        return 2
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
