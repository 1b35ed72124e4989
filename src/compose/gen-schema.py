#!/usr/bin/env python3
"""Two jobs, both about src/compose/compose-schema.json:

  gen-schema.py derive UPSTREAM.json OUT.json
      write berth's compact copy of the compose-spec schema: validation
      keywords only (descriptions, titles and ids dropped), keys sorted.
  gen-schema.py embed IN.json OUT.c
      compile it into the tables of src/compose/schema.h for the berth
      binary (run by meson), so berth neither parses nor relocates it at
      run time. The rules are those of compose_schema_compile() in
      schema.c (listed at struct cs_node); the unit test checks that both
      compile compose-schema.json alike.
"""
import json
import sys

DROP = {"description", "title", "$id", "$schema", "deprecated", "default", "$comment", "examples"}


def strip(x, in_props=False):
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if not in_props and k in DROP:
                continue
            sub_props = (not in_props) and k in ("properties", "patternProperties", "$defs", "definitions")
            out[k] = strip(v, sub_props)
        return out
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x

NONE = "CS_NONE"
TYPE_BITS = {"object": 1, "array": 2, "string": 4, "integer": 8, "number": 16, "boolean": 32, "null": 64}
HAS = {"type": 1, "minProperties": 2, "minItems": 4, "maxItems": 8, "minLength": 16,
       "minimum": 32, "maximum": 64, "uniqueItems": 128}
NODE_FIELDS = ["kind", "has", "types", "type_want", "enum_json", "const_json", "pattern", "ref", "addl",
               "prop_names", "not_", "items", "props", "pprops", "required", "all_of", "any_of", "one_of",
               "nprops", "npprops", "nrequired", "nall_of", "nany_of", "none_of", "min_props", "min_items",
               "max_items", "min_length", "minimum", "maximum"]


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def c_string(b):
    out = []
    for c in b:
        if c in (0x22, 0x5C):
            out.append("\\" + chr(c))
        elif 0x20 <= c < 0x7F and c != 0x3F:  # '?' escaped: no trigraphs
            out.append(chr(c))
        else:
            out.append("\\%03o" % c)
    return '"' + "".join(out) + '"'


class Compiler:
    """The schema as struct cs_node tables (see src/compose/schema.h)."""

    def __init__(self, root):
        self.root = root
        self.nodes, self.props, self.lists = [], [], []
        self.strs, self.str_off, self.str_len = [], {}, 0
        self.refs = {}
        self.true_node = self.false_node = None
        r = self.new_node(0)
        if isinstance(root, dict):
            self.nodes[r]["kind"] = 2
            self.fill(r, root)
        elif root is False:
            self.nodes[r]["kind"] = 1

    def s(self, text):
        if text not in self.str_off:
            self.str_off[text] = self.str_len
            b = text.encode() + b"\0"
            self.strs.append(b)
            self.str_len += len(b)
        return self.str_off[text]

    def new_node(self, kind):
        n = {f: NONE for f in NODE_FIELDS}
        n.update(kind=kind, has=0, types=0, nprops=0, npprops=0, nrequired=0, nall_of=0, nany_of=0,
                 none_of=0, min_props=0, min_items=0, max_items=0, min_length=0, minimum=0.0, maximum=0.0)
        self.nodes.append(n)
        return len(self.nodes) - 1

    def compile(self, v):
        if v is False:
            if self.false_node is None:
                self.false_node = self.new_node(1)
            return self.false_node
        if not isinstance(v, dict):
            if self.true_node is None:
                self.true_node = self.new_node(0)
            return self.true_node
        i = self.new_node(2)
        self.fill(i, v)
        return i

    def resolve(self, ref):
        if not ref.startswith("#/"):
            return None
        cur = self.root
        for tok in ref[2:].split("/"):
            if not tok:
                continue  # strtok_r skips empty fields
            cur = cur.get(tok) if isinstance(cur, dict) else None
            if cur is None:
                return None
        return cur

    def ref(self, t):
        if not isinstance(t, dict):
            return self.compile(t)
        if id(t) in self.refs:
            return self.refs[id(t)]
        i = self.new_node(2)
        self.refs[id(t)] = i
        self.fill(i, t)
        return i

    def prop_block(self, obj, sort):
        ents = [(k, self.compile(v)) for k, v in obj.items()]
        if sort:
            ents.sort(key=lambda e: e[0].encode())
        first = len(self.props)
        self.props += [(self.s(k), n) for k, n in ents]
        return first, len(ents)

    def list_block(self, items):
        first = len(self.lists)
        self.lists += items
        return first, len(items)

    def fill(self, i, s):
        n = self.nodes[i]
        ref = s.get("$ref")
        if isinstance(ref, str):
            t = self.resolve(ref)
            if t is not None:
                n["ref"] = self.ref(t)
        if "type" in s:
            t = s["type"]
            n["has"] |= HAS["type"]
            if isinstance(t, str):
                n["types"] = TYPE_BITS.get(t, 0)
                n["type_want"] = self.s(t)
            else:
                want = ""
                if isinstance(t, list):
                    for j, e in enumerate(t):
                        if isinstance(e, str):
                            n["types"] |= TYPE_BITS.get(e, 0)
                        if j:
                            want += " or " if j + 1 == len(t) else ", "
                        want += e if isinstance(e, str) else "?"
                n["type_want"] = self.s(want)
        if isinstance(s.get("enum"), list):
            n["enum_json"] = self.s(compact(s["enum"]))
        if "const" in s:
            n["const_json"] = self.s(compact(s["const"]))
        if isinstance(s.get("properties"), dict):
            n["props"], n["nprops"] = self.prop_block(s["properties"], True)
        if isinstance(s.get("patternProperties"), dict):
            n["pprops"], n["npprops"] = self.prop_block(s["patternProperties"], False)
        a = s.get("additionalProperties")
        if a is False or isinstance(a, dict):
            n["addl"] = self.compile(a)
        if isinstance(s.get("required"), list):
            n["required"], n["nrequired"] = self.list_block([self.s(r) for r in s["required"] if isinstance(r, str)])
        if "propertyNames" in s:
            n["prop_names"] = self.compile(s["propertyNames"])
        for key, field in (("minProperties", "min_props"), ("minItems", "min_items"),
                           ("maxItems", "max_items"), ("minLength", "min_length")):
            if is_int(s.get(key)):
                n["has"] |= HAS[key]
                n[field] = s[key]
        if isinstance(s.get("items"), dict):
            n["items"] = self.compile(s["items"])
        if s.get("uniqueItems") is True:
            n["has"] |= HAS["uniqueItems"]
        if isinstance(s.get("pattern"), str):
            n["pattern"] = self.s(s["pattern"])
        for key in ("minimum", "maximum"):
            if is_num(s.get(key)):
                n["has"] |= HAS[key]
                n[key] = float(s[key])
        for key, field, count in (("allOf", "all_of", "nall_of"), ("anyOf", "any_of", "nany_of"),
                                  ("oneOf", "one_of", "none_of")):
            if isinstance(s.get(key), list):
                n[field], n[count] = self.list_block([self.compile(e) for e in s[key]])
        if "not" in s:
            n["not_"] = self.compile(s["not"])

    def c_source(self):
        out = ["/* generated from compose-schema.json by gen-schema.py embed: see schema.h */",
               '#include "compose/schema.h"', "",
               "static const struct cs_node nodes[%d] = {" % len(self.nodes)]
        for n in self.nodes:
            vals = []
            for f in NODE_FIELDS:
                v = n[f]
                if v == 0 and f != "kind":
                    continue  # zero-initialized
                if isinstance(v, float):
                    v = repr(v) if v == v and v not in (float("inf"), float("-inf")) else "0.0"
                elif is_int(v) and f.startswith(("min_", "max_")):
                    v = "INT64_C(%d)" % v
                vals.append(".%s = %s" % (f, v))
            out.append("\t{" + ", ".join(vals) + "},")
        out.append("};")
        out.append("static const struct cs_prop props[%d] = {" % max(len(self.props), 1))
        out += ["\t{%d, %d}," % p for p in self.props] or ["\t{0, 0},"]
        out.append("};")
        out.append("static const uint32_t lists[%d] = {" % max(len(self.lists), 1))
        for j in range(0, len(self.lists), 16):
            out.append("\t" + ", ".join(str(x) for x in self.lists[j:j + 16]) + ",")
        if not self.lists:
            out.append("\t0,")
        out.append("};")
        out.append("static const char strs[] =")
        for b in self.strs:
            out.append("\t" + c_string(b[:-1]) + ' "\\000"')
        out.append("\t;")
        out.append("const struct cschema compose_schema_embedded = {nodes, props, lists, strs, %d, %d, %d, %d};"
                   % (len(self.nodes), len(self.props), len(self.lists), self.str_len))
        return "\n".join(out) + "\n"


def main():
    mode, src, dst = sys.argv[1:4]
    if mode == "derive":
        with open(src) as f:
            data = strip(json.load(f))
        with open(dst, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
    elif mode == "embed":
        with open(src, "rb") as f:
            schema = json.loads(f.read())
        with open(dst, "w") as f:
            f.write(Compiler(schema).c_source())
    else:
        sys.exit("usage: gen-schema.py derive|embed IN OUT")


main()
