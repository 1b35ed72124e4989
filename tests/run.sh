#!/usr/bin/env bash
# Runs every berth test: C unit tests (plain and ASan+UBSan builds), then
# the shell integration tests in parallel, each against its own --root.
# Prints "N passed, N failed, N skipped" last; exits 1 on any failure.
#   tests/run.sh                 everything
#   tests/run.sh PATTERN         only integration tests whose name matches
#   BERTH_NO_ASAN=1 tests/run.sh skip the sanitizer build
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pattern=${1:-}
jobs=${BERTH_TEST_JOBS:-$(nproc)}
logdir=$(mktemp -d /tmp/berth-testlogs.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

werror=false
[ "${CI:-}" = true ] && werror=true
if [ ! -f build/build.ninja ]; then
	meson setup build -Dwerror=$werror >"$logdir/meson.log" 2>&1 || { tail -n 30 "$logdir/meson.log"; echo "meson setup failed (above)"; echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C build >"$logdir/build.log" 2>&1 || { cat "$logdir/build.log"; echo "0 passed, 1 failed"; exit 1; }
tests/fixtures/make.sh >/dev/null || { echo "fixtures failed"; echo "0 passed, 1 failed"; exit 1; }

run_units() { # DIR LABEL
	for t in "$1"/tests/unit/test-*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		"$t" 2>&1 | sed -E "s#^(not ok|ok) - #\1 - $2$(basename "$t"): #"
	done
}

{
	if [ -z "$pattern" ]; then
		run_units build ""
		if [ -z "${BERTH_NO_ASAN:-}" ]; then
			if [ ! -f build-asan/build.ninja ]; then
				meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=$werror >"$logdir/asan.log" 2>&1
			fi
			if ninja -C build-asan >>"$logdir/asan.log" 2>&1; then
				ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_units build-asan "asan/"
			else
				cat "$logdir/asan.log"
				echo "not ok - asan build failed"
			fi
		fi
	fi
} >"$logdir/unit.out" 2>&1
cat "$logdir/unit.out" | grep -v '^ok' || true

# A test with the line "# run: alone" loads the machine on its own (the
# upstream conformance run: 8 ginkgo processes) and runs after the others,
# with nothing beside it, so that neither it nor its neighbours time out.
tests=() shared=() alone=()
for f in tests/integration/t[0-9]*.sh; do
	[ -n "$pattern" ] && [[ "$f" != *$pattern* ]] && continue
	tests+=("$f")
	if grep -q '^# run: alone$' "$f"; then alone+=("$f"); else shared+=("$f"); fi
done
export BERTH="$top/build/berth" BERTH_FIXTURES="$top/build/fixtures"
run_tests() { # JOBS FILE...
	local j=$1
	shift
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" | xargs -P "$j" -I{} bash -c \
		'f={}; n=$(basename "$f" .sh); start=$(date +%s); timeout 600 bash "$f" >"'"$logdir"'/$n.out" 2>&1; rc=$?; \
		 if [ $rc -ne 0 ] && ! grep -q "^not ok" "'"$logdir"'/$n.out"; then echo "not ok - $n: exited $rc" >>"'"$logdir"'/$n.out"; fi; \
		 echo "# $n: $(( $(date +%s) - start ))s" >>"'"$logdir"'/$n.out"'
}
run_tests "$jobs" "${shared[@]}"
run_tests 1 "${alone[@]}"

for f in "${tests[@]}"; do
	n=$(basename "$f" .sh)
	grep -v '^ok' "$logdir/$n.out" | grep -v '^# t[0-9]' || true
done
all=$(cat "$logdir"/*.out)
passed=$(grep -c '^ok' <<<"$all")
failed=$(grep -c '^not ok' <<<"$all")
skipped=$(grep -c '^skip' <<<"$all")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
