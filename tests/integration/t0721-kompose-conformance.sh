#!/usr/bin/env bash
# berth kube convert against Kompose's own expectations
# ($SHARED/conformance/kompose/MANIFEST.tsv): tests/tools/kompose-compare.py
# runs berth on every row and compares the objects by meaning (key and list
# order ignored, Kubernetes' defaults and value forms). One line per row:
# ok when berth gives the same objects or every difference is one berth
# makes on purpose (tests/kube/kompose-differences.tsv, printed as
# "# on purpose: ..."), not ok listing the others; `files` rows check -o's
# files; openshift rows and --build rows are skips with their reason. Ends
# with the counts. First the tool's own comparison is checked (--self-test).
. "$(dirname "$0")/../lib.sh"

KOMPOSE=$SHARED/conformance/kompose
[ -f "$KOMPOSE/MANIFEST.tsv" ] ||
	skip_all "no kompose conformance table at $KOMPOSE/MANIFEST.tsv (set BERTH_SHARED to the shared dir)"
PY=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || skip_all "python3 with PyYAML is missing (Debian: apt-get install python3-yaml)"
TOOL=$TOP/tests/tools/kompose-compare.py
DIFFS=$TOP/tests/kube/kompose-differences.tsv

# the comparison itself, on small inputs
out=$("$PY" "$TOOL" --self-test 2>&1)
rc=$?
printf '%s\n' "$out"
grep -q '^not ok' <<<"$out" && T_FAILS=$((T_FAILS + 1))
[ $rc -eq 0 ] || grep -q '^not ok' <<<"$out" || notok "kompose-compare.py --self-test exited $rc"

# bad input to the tool: a clear message, exit 2
printf 'row\tdifference\n*\tonly two columns\n' >"$T_DIR/bad.tsv"
exits "a differences file with a bad line is refused" 2 "$PY" "$TOOL" --berth "$BERTH" --root "$ROOT" \
	--kompose "$KOMPOSE" --differences "$T_DIR/bad.tsv"
like "the message names the file and line" "$OUT" "bad.tsv:2: want 3 tab-separated columns"
exits "a missing berth is refused" 2 "$PY" "$TOOL" --berth "$T_DIR/no-berth" --kompose "$KOMPOSE"
like "the message names it" "$OUT" "no-berth: not an executable"
exits "a folder without MANIFEST.tsv is refused" 2 "$PY" "$TOOL" --berth "$BERTH" --kompose "$T_DIR"
like "the message names it" "$OUT" "no MANIFEST.tsv"

# every row
out=$("$PY" "$TOOL" --berth "$BERTH" --root "$ROOT" --kompose "$KOMPOSE" --differences "$DIFFS" \
	--tap "$T_NAME" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ $rc -eq 2 ] || ! grep -q '^# kompose conformance: ' <<<"$out"; then
	notok "kompose-compare.py did not run over the table (exit $rc)"
fi
n=$(grep -c '^not ok' <<<"$out")
T_FAILS=$((T_FAILS + n))
t_done
