#!/usr/bin/env python3
"""Two jobs, both about src/compose/compose-schema.json:

  gen-schema.py derive UPSTREAM.json OUT.json
      write berth's compact copy of the compose-spec schema: validation
      keywords only (descriptions, titles and ids dropped), keys sorted.
  gen-schema.py embed IN.json OUT.c
      turn it into a C string for the berth binary (run by meson).
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
            raw = json.dumps(json.loads(f.read()), separators=(",", ":")).encode()
        with open(dst, "w") as f:
            f.write("/* generated from compose-schema.json by gen-schema.py */\n#include <stddef.h>\n")
            f.write("const char compose_schema_text[] =\n")
            for i in range(0, len(raw), 100):
                chunk = raw[i:i + 100].decode()
                f.write('"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"\n')
            f.write(";\nconst size_t compose_schema_len = sizeof(compose_schema_text) - 1;\n")
    else:
        sys.exit("usage: gen-schema.py derive|embed IN OUT")


main()
