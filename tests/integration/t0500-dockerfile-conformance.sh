#!/usr/bin/env bash
# Dockerfile parser and shell-word processor against the upstream
# conformance data in $SHARED/conformance/dockerfile-parser (see FORMAT.md
# there): every case's dump byte for byte, the negative cases fail, the
# line-info spans, and the shell envVarTest / wordsTest tables.
. "$(dirname "$0")/../lib.sh"

C=$SHARED/conformance/dockerfile-parser
[ -d "$C/cases" ] || skip_all "conformance data not found at $C"

# --- cases: the dump must equal `result` byte for byte
total=0 good=0
for d in "$C"/cases/*/; do
	n=$(basename "$d")
	total=$((total + 1))
	if b debug dockerfile-dump "$d/Dockerfile" >"$T_DIR/out" 2>"$T_DIR/err" && cmp -s "$T_DIR/out" "$d/result"; then
		good=$((good + 1))
	else
		notok "case $n"
		diff "$T_DIR/out" "$d/result" | head -10 | sed 's/^/#   /'
		sed 's/^/#   /' "$T_DIR/err" | head -5
	fi
done
is "dockerfile cases: $good of $total match" "$good" "$total"
[ "$total" -ge 33 ] || notok "expected at least 33 cases in $C/cases, found $total"

# --- negative cases must fail, with NAME:LINE or NAME: and a message
neg=0 negok=0
for d in "$C"/negative/*/; do
	n=$(basename "$d")
	neg=$((neg + 1))
	if out=$(b debug dockerfile-dump "$d/Dockerfile" 2>&1); then
		notok "negative $n parsed"
	elif grep -q "Dockerfile:[0-9]*: \|Dockerfile: " <<<"$out"; then
		negok=$((negok + 1))
	else
		notok "negative $n: message without location: $out"
	fi
done
is "negative cases: $negok of $neg fail" "$negok" "$neg"
[ "$neg" -ge 4 ] || notok "expected 4 negative cases, found $neg"

# --- line-info spans
want=$(grep -v '^#' "$C/line-info/expected-lines.txt" | grep -v '^$')
got=$(b debug dockerfile-lines "$C/line-info/Dockerfile" 2>&1)
is "line-info spans" "$got" "$want"

# --- shell/envVarTest: PLATFORM | input | expected, env PWD SHELL KOREAN NULL
# (all inputs go through one process: one result line each, "=VALUE" or "!ERROR")
inputs=() wants=()
while IFS= read -r line || [ -n "$line" ]; do
	case "$line" in '#'* | '') continue ;; esac
	IFS='|' read -r plat input expected <<<"$line"
	plat=${plat//[[:space:]]/}
	[ "$plat" = W ] && continue
	input=${input#"${input%%[![:space:]]*}"}
	input=${input%"${input##*[![:space:]]}"}
	expected=${expected#"${expected%%[![:space:]]*}"}
	expected=${expected%"${expected##*[![:space:]]}"}
	inputs+=("$input")
	wants+=("$expected")
done <"$C/shell/envVarTest"
mapfile -t results < <(printf '%s\n' "${inputs[@]}" |
	b debug shell-expand -e PWD=/home -e SHELL=bash -e KOREAN=한국어 -e NULL= --batch)
total=${#inputs[@]} good=0
for i in "${!inputs[@]}"; do
	r=${results[$i]-}
	if [ "${wants[$i]}" = error ]; then
		[ "${r:0:1}" = "!" ] && { good=$((good + 1)); continue; }
	elif [ "$r" = "=${wants[$i]}" ]; then
		good=$((good + 1))
		continue
	fi
	notok "envVarTest: [${inputs[$i]}] gave [$r], want [${wants[$i]}]"
done
is "shell envVarTest: $good of $total" "$good" "$total"

# --- shell/wordsTest: input | word,word,... ; ENV lines add variables
wenv=()
total=0 good=0
while IFS= read -r line || [ -n "$line" ]; do
	case "$line" in '#'* | '') continue ;; esac
	if [[ "$line" == "ENV "* ]]; then
		kv=${line#ENV }
		wenv+=(-e "$kv")
		continue
	fi
	input=${line%%|*}
	expected=${line#*|}
	input=${input#"${input%%[![:space:]]*}"}
	input=${input%"${input##*[![:space:]]}"}
	expected=${expected#"${expected%%[! ]*}"}
	total=$((total + 1))
	if out=$(b debug shell-words "${wenv[@]}" -- "$input" 2>/dev/null); then
		got=$(printf '%s' "$out" | paste -sd, -)
	else
		got=error
	fi
	if [ "$got" = "$expected" ]; then good=$((good + 1)); else notok "wordsTest: [$input] gave [$got], want [$expected]"; fi
done <"$C/shell/wordsTest"
is "shell wordsTest: $good of $total" "$good" "$total"

# --- errors name the file and line and show the line
printf 'FROM scratch\n\nCMD ["a", 1]\n' >"$T_DIR/Dockerfile"
fails "bad JSON element: file:line" "Dockerfile:3: when using JSON array syntax" b debug dockerfile-dump "$T_DIR/Dockerfile"
like "offending line shown" "$OUT" '3 \| CMD \["a", 1\]'
printf 'FROM scratch\nRUN <<EOF\necho hi\n' >"$T_DIR/Dockerfile"
fails "unterminated heredoc" 'Dockerfile:2: unterminated heredoc' b debug dockerfile-dump "$T_DIR/Dockerfile"
printf '# escape=x\nFROM scratch\n' >"$T_DIR/Dockerfile"
fails "bad escape directive" "Dockerfile:1: invalid escape token 'x'" b debug dockerfile-dump "$T_DIR/Dockerfile"
printf 'FROM scratch\nRUN a \\\n\n  b\n' >"$T_DIR/Dockerfile"
check "empty continuation line parses" b debug dockerfile-dump "$T_DIR/Dockerfile"
like "empty continuation line warns" "$OUT" 'Empty continuation line found in: RUN a'
# --- .dockerignore through the debug command
printf '# build output\n/build\n**/*.log\n!keep.log\n' >"$T_DIR/ignore"
check "dockerignore debug" b debug dockerignore "$T_DIR/ignore" build build/x.o a/b.log keep.log src
is "dockerignore verdicts" "$(cut -f2 <<<"$OUT" | tr '\n' ' ')" "excluded skip-dir excluded skip-dir excluded skip-dir included included "
printf 'ok\n!\n' >"$T_DIR/ignore"
fails "dockerignore error names file and line" "ignore:2: illegal exclusion pattern" b debug dockerignore "$T_DIR/ignore" x

fails "missing file" "opening .*nope: No such file" b debug dockerfile-dump "$T_DIR/nope"

t_done
