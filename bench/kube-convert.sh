#!/usr/bin/env bash
# bench/kube-convert.sh - `berth kube convert` against Kompose (issue 12):
# every awesome-compose sample converted one after another, and one typical
# sample alone. Target: berth at least 10x faster on all the samples.
#
# usage: bench/kube-convert.sh [--runs N] [--single-runs N] [--warmup N]
#                              [--sample NAME] [--samples DIR]
#                              [--loop-shell SH] [--no-kompose] [--no-callgrind]
# env: BERTH=path/to/berth (default build/berth)
#      KOMPOSE=path/to/kompose (default: the pinned v1.38.0 of
#      scripts/kompose.sh, built on first use, a few minutes)
#      BERTH_SHARED=dir holding conformance/ (default /work/shared)
#
# The samples are the folders of DIR (default
# $BERTH_SHARED/conformance/awesome-compose) with a compose.yaml or
# compose.yml: 39 of them. Both tools get the same input, run inside the
# sample's folder (so the sample's .env is read), stdout to /dev/null:
#     berth kube convert -f FILE
#     kompose convert -f FILE --stdout
#
#  1. Check: each tool converts each sample once; its exit status and
#     stderr are kept (OUT/TOOL/SAMPLE.err) and every failure is printed
#     with its last stderr line, with the count of failures and warnings.
#  2. All samples: hyperfine (-N, --warmup N, --runs N, default 1 and 10)
#     over one shell script that cds into each sample folder in turn and
#     runs the tool there (one fork+exec a conversion, no subshells), run
#     by --loop-shell (default /bin/sh, dash on Debian: on the project's
#     VMs a fork of bash costs twice a fork of dash, which would be charged
#     to both tools alike and hide the difference between them). The
#     tool's stderr goes to OUT/TOOL-loop.err; a conversion that exits
#     non-zero writes "exit N: SAMPLE" there, and those lines are counted.
#     The same loop with /bin/true in place of the tool is the floor: what
#     the loop costs when converting costs nothing. The most any tool can be
#     faster than kompose is kompose's loop time / the floor.
#  3. One sample (--sample, default nginx-flask-mysql: a proxy, a backend
#     with a build, a database with a healthcheck, secrets and a volume):
#     hyperfine -N with --single-runs N (default 50) of each tool.
#  4. callgrind (valgrind, installed with apt-get when missing): the
#     instruction count of one berth conversion of that sample, with the
#     share of the dynamic loader, the compose loader (and its schema), the
#     conversion and the YAML writer.
#
# Medians in ms; ratio = kompose median / berth median. Results (hyperfine
# JSON, logs, callgrind output, summary.txt) go to OUT =
# /var/tmp/berth-bench/kube-convert (BERTH_BENCH_WORK changes the parent).
# Exit status: 0 when the figures were made, 1 on a setup error or when a
# timed command failed, 2 on usage errors.
set -u
PROG=kube-convert
. "$(dirname "$0")/lib.sh"

SHARED=${BERTH_SHARED:-/work/shared}
SAMPLES=$SHARED/conformance/awesome-compose
SAMPLE=nginx-flask-mysql
RUNS=10
SINGLE_RUNS=50
WARMUP=1
DO_KOMPOSE=1
DO_CALLGRIND=1
LOOP_SH=/bin/sh
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --single-runs) SINGLE_RUNS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --sample) SAMPLE=$2; shift 2 ;;
    --samples) SAMPLES=$2; shift 2 ;;
    --no-kompose) DO_KOMPOSE=0; shift ;;
    --no-callgrind) DO_CALLGRIND=0; shift ;;
    --loop-shell) LOOP_SH=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "$PROG: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for n in "$RUNS" "$SINGLE_RUNS"; do
    case $n in ''|*[!0-9]*|0) echo "$PROG: --runs/--single-runs $n: not a positive number" >&2; exit 2 ;; esac
done
case $WARMUP in ''|*[!0-9]*) echo "$PROG: --warmup $WARMUP: not a number" >&2; exit 2 ;; esac

[ -d "$SAMPLES" ] || die "no samples at $SAMPLES (set BERTH_SHARED, or --samples DIR)"
need_hyperfine
berth_available || die "no berth to benchmark"
PY=/usr/bin/python3
[ -x "$PY" ] || die "no $PY (apt-get install python3)"
command -v "$LOOP_SH" >/dev/null 2>&1 || die "--loop-shell $LOOP_SH: not found"

OUT=$WORK/kube-convert
rm -rf "$OUT"
mkdir -p "$OUT/bin" || die "cannot create $OUT"
# a private copy: a rebuild during the run must not change (or break) it
BERTH_SRC=$(readlink -f "$BERTH")
cp "$BERTH_SRC" "$OUT/bin/berth" || die "cannot copy $BERTH_SRC"
BERTH=$OUT/bin/berth

TOOLS=(berth)
if [ "$DO_KOMPOSE" = 1 ]; then
    if [ -z "${KOMPOSE:-}" ]; then
        KOMPOSE=$("$REPO_DIR/scripts/kompose.sh" --print-path) || die "could not build kompose (scripts/kompose.sh)"
    fi
    [ -x "$KOMPOSE" ] || die "kompose: no executable at $KOMPOSE"
    KOMPOSE=$(readlink -f "$KOMPOSE")
    TOOLS+=(kompose)
fi

# sq ARGS...: quoted for any POSIX shell (the loops may run in dash, which
# has no $'...'; hyperfine -N splits single quotes as a shell does)
sq() {
    local out="" a
    for a in "$@"; do out+="'${a//\'/\'\\\'\'}' "; done
    printf '%s' "${out% }"
}

# tool_cmd TOOL FILE: the command line of one conversion, shell-quoted
tool_cmd() {
    case $1 in
    berth) sq "$BERTH" kube convert -f "$2" ;;
    kompose) sq "$KOMPOSE" convert -f "$2" --stdout ;;
    true) sq /bin/true -f "$2" ;;
    esac
}

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
NS=${#samples[@]}
[ "$NS" -gt 0 ] || die "no */compose.y*ml under $SAMPLES"
[ "$NS" = 39 ] || log "note: $NS samples under $SAMPLES (issue 12 counts 39)"
SFILE=
for s in "${samples[@]}"; do [ "${s%%$'\t'*}" = "$SAMPLE" ] && SFILE=${s#*$'\t'}; done
[ -n "$SFILE" ] || die "--sample $SAMPLE: no such sample under $SAMPLES"

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "berth: $BERTH_SRC (sha256 $(sha256sum <"$BERTH_SRC" | cut -c1-16)); the repo is at $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?') (not necessarily what the binary was built from)"
    [ "$DO_KOMPOSE" = 1 ] && echo "kompose: $KOMPOSE ($("$KOMPOSE" version 2>&1 | head -1))"
    echo "machine: kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "samples: $NS under $SAMPLES; one sample: $SAMPLE/$SFILE; loop shell: $LOOP_SH ($(readlink -f "$(command -v "$LOOP_SH")"))"
} >"$OUT/env.txt"
cat "$OUT/env.txt" >&2

# ---------------------------------------------------------------- 1. check
# check TOOL: convert every sample once; a row per sample in OUT/TOOL.tsv
check() {
    local tool=$1 s name file rc
    mkdir -p "$OUT/$tool"
    : >"$OUT/$tool.tsv"
    for s in "${samples[@]}"; do
        name=${s%%$'\t'*}; file=${s#*$'\t'}
        ( cd "$SAMPLES/$name" && eval "exec $(tool_cmd "$tool" "$file")" ) >"$OUT/$tool/$name.out" 2>"$OUT/$tool/$name.err"
        rc=$?
        printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$(wc -c <"$OUT/$tool/$name.out")" \
            "$(sed 's/\x1b\[[0-9;]*m//g' "$OUT/$tool/$name.err" | grep -c '^WARN')" >>"$OUT/$tool.tsv"
    done
    local bad warns bytes
    bad=$(awk -F'\t' '$2 != 0' "$OUT/$tool.tsv" | wc -l)
    warns=$(awk -F'\t' '{n += $4} END {print n + 0}' "$OUT/$tool.tsv")
    bytes=$(awk -F'\t' '{n += $3} END {print n + 0}' "$OUT/$tool.tsv")
    log "check $tool: $((NS - bad))/$NS samples converted, $bad failed, $warns WARN lines, $bytes bytes of manifests"
    awk -F'\t' '$2 != 0 {print $1 "\t" $2}' "$OUT/$tool.tsv" | while IFS=$'\t' read -r name rc; do
        log "  $tool failed on $name (exit $rc): $(grep . "$OUT/$tool/$name.err" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g')"
    done
    printf '%s\t%s\t%s\n' "$tool" "$bad" "$warns" >>"$OUT/check.tsv"
}
: >"$OUT/check.tsv"
for t in "${TOOLS[@]}"; do check "$t"; done

# ---------------------------------------------------------------- 2. all samples
# loop_script TOOL: one conversion after another in one bash process
loop_script() {
    local tool=$1 s name file
    {
        echo "exec 2>>$(sq "$OUT/$tool-loop.err")"
        for s in "${samples[@]}"; do
            name=${s%%$'\t'*}; file=${s#*$'\t'}
            echo "cd $(sq "$SAMPLES/$name") && { $(tool_cmd "$tool" "$file") >/dev/null || echo \"exit \$?: \"$(sq "$name") >&2; }"
        done
        echo "exit 0"
    } >"$OUT/$tool-loop.sh"
    : >"$OUT/$tool-loop.err"
}
FAILED=0
HF=(hyperfine -N --style basic)
loop_cmds=()
for t in "${TOOLS[@]}" true; do
    loop_script "$t"
    name=$t; [ "$t" = true ] && name="floor (/bin/true)"
    loop_cmds+=(-n "$name" "$(sq "$LOOP_SH" "$OUT/$t-loop.sh")")
done
log "all $NS samples, one after another: hyperfine --warmup $WARMUP --runs $RUNS"
"${HF[@]}" --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/all.json" "${loop_cmds[@]}" >&2 \
    || { log "hyperfine failed on the loops"; FAILED=1; }
: >"$OUT/loop-errors.tsv"
for t in "${TOOLS[@]}"; do
    loops=$((WARMUP + RUNS))
    ex=$(grep -c '^exit [0-9]*: ' "$OUT/$t-loop.err")
    er=$(sed 's/\x1b\[[0-9;]*m//g' "$OUT/$t-loop.err" | grep -ciE '^(error|fata|erro)')
    printf '%s\t%s\t%s\t%s\n' "$t" "$loops" "$ex" "$er" >>"$OUT/loop-errors.tsv"
    if [ "$ex" != 0 ] || [ "$er" != 0 ]; then
        log "$t in the timed loops: $ex failed conversions, $er error lines over $loops loops; the first ones:"
        grep -iE '^exit [0-9]*: |^(error|fata|erro)' "$OUT/$t-loop.err" | sort | uniq -c | sort -rn | head -n 10 >&2
    fi
done

# ---------------------------------------------------------------- 3. one sample
single_cmds=()
for t in "${TOOLS[@]}"; do single_cmds+=(-n "$t" "$(tool_cmd "$t" "$SFILE")"); done
log "one sample ($SAMPLE): hyperfine --warmup 3 --runs $SINGLE_RUNS"
( cd "$SAMPLES/$SAMPLE" && "${HF[@]}" --warmup 3 --runs "$SINGLE_RUNS" --export-json "$OUT/one.json" "${single_cmds[@]}" >&2 ) \
    || { log "hyperfine failed on $SAMPLE"; FAILED=1; }

# ---------------------------------------------------------------- 4. callgrind
if [ "$DO_CALLGRIND" = 1 ]; then
    if ! command -v valgrind >/dev/null 2>&1; then
        log "valgrind not found; installing it with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind >&2 \
            || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind >&2; } \
            || log "valgrind could not be installed: no instruction count"
    fi
    if command -v valgrind >/dev/null 2>&1; then
        if ( cd "$SAMPLES/$SAMPLE" && valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
                "$BERTH" kube convert -f "$SFILE" >/dev/null 2>"$OUT/callgrind.log" ); then
            callgrind_annotate --inclusive=yes "$OUT/callgrind.out" >"$OUT/callgrind.txt" 2>"$OUT/callgrind-annotate.err" \
                || { log "callgrind_annotate failed:"; cat "$OUT/callgrind-annotate.err" >&2; }
        else
            log "berth under callgrind failed:"; tail -n 20 "$OUT/callgrind.log" >&2
            rm -f "$OUT/callgrind.out"
        fi
    fi
fi

# ---------------------------------------------------------------- summary
"$PY" - "$OUT" "$NS" "$SAMPLE" "$RUNS" "$WARMUP" "$SINGLE_RUNS" <<'EOF' | tee "$OUT/summary.txt"
import json, os, re, sys
out, ns, sample, runs, warmup, sruns = sys.argv[1], int(sys.argv[2]), sys.argv[3], *sys.argv[4:7]
print()
print(open(os.path.join(out, "env.txt")).read().rstrip())
check = {}
for line in open(os.path.join(out, "check.tsv")):
    t, bad, warns = line.split("\t")
    check[t] = (int(bad), int(warns))
loop_err = {}
for line in open(os.path.join(out, "loop-errors.tsv")):
    t, loops, ex, er = line.split("\t")
    loop_err[t] = (int(loops), int(ex), int(er))

def load(name):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return {}
    return {r["command"]: r for r in json.load(open(p))["results"]}

def cpu(r):
    return r.get("user", 0) + r.get("system", 0)

def table(title, rows, per=None):
    print()
    print(title)
    print("%-18s %10s %9s %9s %9s %12s %9s%s" % ("tool", "median ms", "min ms", "max ms", "vs berth",
                                                 "cpu ms", "vs berth", "  ms/sample" if per else ""))
    b = rows.get("berth", {}).get("median")
    bc = cpu(rows["berth"]) if "berth" in rows else None
    for n, r in rows.items():
        ratio = "%.2fx" % (r["median"] / b) if b else "-"
        cratio = "%.2fx" % (cpu(r) / bc) if bc else "-"
        print("%-18s %10.1f %9.1f %9.1f %9s %12.1f %9s%s" % (
            n, r["median"] * 1e3, r["min"] * 1e3, r["max"] * 1e3, ratio, cpu(r) * 1e3, cratio,
            "  %9.2f" % (r["median"] * 1e3 / per) if per else ""))
    print("(cpu ms: mean user + system time of a run, which other load on the machine changes less than wall time)")

print()
for t, (bad, warns) in check.items():
    le = loop_err.get(t)
    extra = "; timed loops: %d failed conversions, %d error lines over %d loops" % (le[1], le[2], le[0]) if le else ""
    print("check %-8s %d/%d samples converted, %d failed, %d WARN lines%s" % (t, ns - bad, ns, bad, warns, extra))

allr = load("all.json")
if allr:
    table("all %d samples, one after another (hyperfine -N, warmup %s, %s runs):" % (ns, warmup, runs), allr, ns)
one = load("one.json")
if one:
    table("one sample, %s (hyperfine -N, warmup 3, %s runs):" % (sample, sruns), one)

b, k = allr.get("berth"), allr.get("kompose")
fl = allr.get("floor (/bin/true)")
if b and k:
    r = k["median"] / b["median"]
    print()
    print("target: kompose/berth >= 10x on all %d samples: %s (%.1fx wall, median; %.1fx cpu time)"
          % (ns, "MET" if r >= 10 else "MISSED", r, cpu(k) / cpu(b) if cpu(b) else 0))
    if fl:
        print("bound: with a conversion that costs nothing the ratio is at most %.1fx (kompose loop / floor loop)"
              % (k["median"] / fl["median"]))
        print("       berth above the floor: %.2f ms a sample; kompose above the floor: %.2f ms a sample (%.1fx)"
              % ((b["median"] - fl["median"]) * 1e3 / ns, (k["median"] - fl["median"]) * 1e3 / ns,
                 (k["median"] - fl["median"]) / max(b["median"] - fl["median"], 1e-9)))
if one.get("berth") and one.get("kompose"):
    print("one sample: kompose/berth %.1fx" % (one["kompose"]["median"] / one["berth"]["median"]))

cg = os.path.join(out, "callgrind.txt")
if os.path.exists(cg):
    txt = open(cg).read()
    m = re.search(r"^\s*([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", txt, re.M)
    total = int(m.group(1).replace(",", "")) if m else 0
    print()
    print("callgrind, one berth conversion of %s: %s instructions" % (sample, "{:,}".format(total)))
    parts = [("dynamic loader at start-up", r"rtld\.c:_dl_start "),
             ("main (all of berth's own work)", r":main \[.*/berth\]"),
             ("  compose_load", r":compose_load \["),
             ("    compose_schema (embedded schema)", r":compose_schema \["),
             ("    compose_schema_validate", r":compose_schema_validate \["),
             ("  kube_convert", r":kube_convert \["),
             ("  compose_yaml_emit", r":compose_yaml_emit \[")]
    for label, pat in parts:
        mm = re.search(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*" + pat, txt, re.M)
        if mm:
            n = int(mm.group(1).replace(",", ""))
            print("  %-38s %12s  %5.1f%%" % (label, "{:,}".format(n), 100.0 * n / total if total else 0))
        else:
            print("  %-38s %12s" % (label, "-"))
print()
print("results: " + out)
EOF
[ "${PIPESTATUS[0]}" = 0 ] || die "could not summarize $OUT"
exit "$FAILED"
