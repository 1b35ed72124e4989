#!/usr/bin/env bash
# bench/kompose-kinds.sh - what Kompose makes of the awesome-compose samples,
# as the reference for `berth kube convert`.
#
# usage: bench/kompose-kinds.sh [--samples DIR] [--out DIR] [--tsv]
#                               [--time] [--runs N]
# env: KOMPOSE=path/to/kompose (default: the pinned build of
#      scripts/kompose.sh, built on first use, a minute or so)
#
# For every DIR/*/compose.y*ml (default DIR: the 39 samples in
# /work/shared/conformance/awesome-compose) it runs, inside the sample's
# folder (so its .env is read),
#     kompose convert --stdout --with-kompose-annotation=false -f FILE
# keeps stdout and stderr in OUT/kompose/SAMPLE.{yaml,err} (default OUT:
# /var/tmp/berth-bench/kompose-kinds), and prints one row per sample:
#     sample  exit  objects  kinds  warnings
# kinds is KIND:N by falling count (e.g. "Deployment:3 Service:2"), objects
# is the number of YAML documents (items of a List counted one by one),
# warnings the WARN lines on stderr. Then a summary: samples converted, total
# objects by kind, and each failing sample with the last line of its stderr.
# --tsv prints the rows tab-separated with a header and no summary.
# --time also times, with hyperfine (N runs, default 5; installed with
# apt-get when missing), one loop converting all the samples (stdout to
# /dev/null, stderr to OUT/kompose-time.log) and prints the median.
#
# The YAML is parsed by Debian's python3 with python3-yaml (installed with
# apt-get when missing). Exit status: 0 when the table was made (whatever
# kompose's exit codes were), 1 on a setup error, 2 on usage errors.
set -u
PROG=kompose-kinds
. "$(dirname "$0")/lib.sh"

SAMPLES=/work/shared/conformance/awesome-compose
OUT=$WORK/kompose-kinds
TSV=0
TIME=0
RUNS=5
while [ $# -gt 0 ]; do
    case $1 in
    --samples) SAMPLES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --tsv) TSV=1; shift ;;
    --time) TIME=1; shift ;;
    --runs) RUNS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "$PROG: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

PY=/usr/bin/python3
[ -x "$PY" ] || die "no $PY (apt-get install python3)"
if ! "$PY" -c 'import yaml' 2>/dev/null; then
    log "python3-yaml is missing; installing it with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3-yaml >&2 \
        || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-yaml >&2; } \
        || die "python3-yaml is needed (apt-get install python3-yaml)"
    "$PY" -c 'import yaml' || die "python3 still cannot import yaml"
fi

if [ -z "${KOMPOSE:-}" ]; then
    KOMPOSE=$("$REPO_DIR/scripts/kompose.sh" --print-path) || die "could not build kompose (scripts/kompose.sh)"
fi
[ -x "$KOMPOSE" ] || die "kompose: no executable at $KOMPOSE"
KOMPOSE=$(readlink -f "$KOMPOSE")

# The samples: NAME<TAB>FILE, one per folder that has a compose file.
list_samples() {
    local d f
    for d in "$SAMPLES"/*/; do
        d=${d%/}
        for f in compose.yaml compose.yml; do
            if [ -f "$d/$f" ]; then printf '%s\t%s\n' "${d##*/}" "$f"; break; fi
        done
    done
}
mapfile -t samples < <(list_samples)
[ ${#samples[@]} -gt 0 ] || die "no */compose.y*ml under $SAMPLES"

# convert TOOL CMD...: run "CMD FILE" in every sample folder; outputs in
# OUT/TOOL/, exit codes in OUT/TOOL/exit.tsv. (berth's `kube convert` will
# be a second TOOL.)
convert() {
    local tool=$1; shift
    local dir=$OUT/$tool s name file rc
    rm -rf "$dir"; mkdir -p "$dir"
    : >"$dir/exit.tsv"
    for s in "${samples[@]}"; do
        name=${s%%$'\t'*}; file=${s#*$'\t'}
        ( cd "$SAMPLES/$name" && "$@" "$file" ) >"$dir/$name.yaml" 2>"$dir/$name.err"
        rc=$?
        printf '%s\t%s\t%s\n' "$name" "$file" "$rc" >>"$dir/exit.tsv"
    done
}

convert kompose "$KOMPOSE" convert --stdout --with-kompose-annotation=false -f

"$PY" - "$OUT/kompose" "$TSV" <<'EOF'
import collections, os, re, sys
import yaml

d, tsv = sys.argv[1], sys.argv[2] == "1"
ansi = re.compile(r"\x1b\[[0-9;]*m")
rows, total, failed = [], collections.Counter(), []
for line in open(os.path.join(d, "exit.tsv")):
    name, _file, rc = line.rstrip("\n").split("\t")
    rc = int(rc)
    err = [ansi.sub("", l).rstrip() for l in open(os.path.join(d, name + ".err"), errors="replace")]
    warns = sum(1 for l in err if l.startswith("WARN"))
    kinds, note = collections.Counter(), ""
    try:
        with open(os.path.join(d, name + ".yaml")) as f:
            for doc in yaml.safe_load_all(f):
                if doc is None:
                    continue
                items = doc.get("items", []) if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
                for it in items:
                    kinds[it.get("kind", "?") if isinstance(it, dict) else "?"] += 1
    except yaml.YAMLError as e:
        note = "unparsable YAML: " + str(e).splitlines()[0]
    n = sum(kinds.values())
    total.update(kinds)
    ks = " ".join(f"{k}:{v}" for k, v in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"
    if rc != 0 or note:
        last = next((l for l in reversed(err) if l.strip()), "(no stderr)")
        failed.append((name, rc, note or last))
    rows.append((name, rc, n, ks, warns))

if tsv:
    print("sample\texit\tobjects\tkinds\twarnings")
    for r in rows:
        print("\t".join(map(str, r)))
    sys.exit(0)
w = max(len("sample"), *(len(r[0]) for r in rows))
kw = max(len("kinds"), *(len(r[3]) for r in rows))
print(f"{'sample':<{w}}  exit  objects  {'kinds':<{kw}}  warnings")
for name, rc, n, ks, warns in rows:
    print(f"{name:<{w}}  {rc:>4}  {n:>7}  {ks:<{kw}}  {warns:>8}")
ok = len(rows) - len(failed)
print()
print(f"converted: {ok}/{len(rows)} samples; objects: {sum(total.values())}; "
      f"warnings: {sum(r[4] for r in rows)}")
print("by kind: " + " ".join(f"{k}:{v}" for k, v in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))))
for name, rc, why in failed:
    print(f"failed: {name} (exit {rc}): {why}")
EOF
[ $? -eq 0 ] || die "could not tabulate $OUT/kompose"

if [ "$TIME" = 1 ]; then
    need_hyperfine
    # One shell loop over every sample, the same command as above, written
    # out as a script so hyperfine runs it without a shell of its own.
    {
        echo 'exec 2>>'"$(q "$OUT/kompose-time.log")"
        for s in "${samples[@]}"; do
            echo "(cd $(q "$SAMPLES/${s%%$'\t'*}") && $(q "$KOMPOSE") convert --stdout --with-kompose-annotation=false -f $(q "${s#*$'\t'}")) >/dev/null"
        done
    } >"$OUT/kompose-loop.sh"
    cmd="bash $(q "$OUT/kompose-loop.sh")"
    : >"$OUT/kompose-time.log"
    hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$OUT/kompose-time.json" "$cmd" >&2 \
        || die "hyperfine failed (stderr of kompose in $OUT/kompose-time.log)"
    "$PY" - "$OUT/kompose-time.json" "${#samples[@]}" "$RUNS" <<'EOF'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"][0]
med = r.get("median", statistics.median(r["times"]))
n = int(sys.argv[2])
print(f"\ntime: kompose convert of all {n} samples: median {med*1000:.0f} ms "
      f"over {sys.argv[3]} runs (min {r['min']*1000:.0f}, max {r['max']*1000:.0f}), "
      f"{med*1000/n:.1f} ms a sample")
EOF
fi
