# Shared by the integration tests: each test file sources this, gets its
# own store (--root) and runroot under a fresh temp dir, and reports
# TAP-style lines ("ok - ...", "not ok - ...", "skip - ...") that
# tests/run.sh counts. Everything it made is removed on exit.
set -u
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$TESTS_DIR/.." && pwd)
BERTH=${BERTH:-$TOP/build/berth}
FIXTURES=${BERTH_FIXTURES:-$TOP/build/fixtures}
SHARED=${BERTH_SHARED:-$TOP/../shared}
T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/berth-$T_NAME.XXXXXX")
ROOT=$T_DIR/root
RUNROOT=$T_DIR/run
T_FAILS=0
export BERTH_ROOT=$ROOT

t_cleanup() {
	# unmount anything a test left below its dir (deepest first), then remove
	if [ -d "$T_DIR" ]; then
		# the store's default bridge and its rules outlive its containers
		# (as docker0 does): an idle one goes with network prune
		[ -f "$ROOT/networks/bridge.json" ] && "$BERTH" --root "$ROOT" --runroot "$RUNROOT" network prune -f >/dev/null 2>&1
		# kube clusters (their processes, the node's pods) and node agents' pods
		for d in "$ROOT"/kube-clusters/*/; do
			[ -d "$d" ] && "$BERTH" --root "$ROOT" --runroot "$RUNROOT" kube cluster down --name "$(basename "$d")" >/dev/null 2>&1
		done
		for d in "$ROOT"/kube-node/*/; do
			[ -d "$d" ] && "$BERTH" --root "$ROOT" --runroot "$RUNROOT" kube node --cleanup --name "$(basename "$d")" >/dev/null 2>&1
		done
		# kube play's namespaces (their supervisors, pods and Services), and
		# networks that prune keeps because they have Services
		for d in "$ROOT"/kube/*/; do
			[ -d "$d" ] && "$BERTH" --root "$ROOT" --runroot "$RUNROOT" kube down -q --all --volumes -n "$(basename "$d")" >/dev/null 2>&1
		done
		for p in "$RUNROOT"/kube/*/supervisor.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
		for f in "$ROOT"/networks/*.json; do
			[ -f "$f" ] || continue
			n=$(basename "$f" .json)
			[ "$n" = bridge ] && continue
			"$BERTH" --root "$ROOT" --runroot "$RUNROOT" debug svc-rm "$n" >/dev/null 2>&1
			"$BERTH" --root "$ROOT" --runroot "$RUNROOT" network rm "$n" >/dev/null 2>&1
		done
		awk -v d="$T_DIR" '$2 ~ "^"d {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
		chattr -R -i "$T_DIR" 2>/dev/null || true
		rm -rf "$T_DIR"
	fi
}
trap t_cleanup EXIT

b() { "$BERTH" --root "$ROOT" --runroot "$RUNROOT" "$@"; }

ok() { echo "ok - $T_NAME: $*"; }
notok() { echo "not ok - $T_NAME: $*"; T_FAILS=$((T_FAILS + 1)); }
skip() { echo "skip - $T_NAME: $*"; }
skip_all() { skip "$*"; exit 0; }

# check DESC CMD...: passes when CMD exits 0. Output is kept in $OUT.
check() {
	local desc=$1; shift
	if OUT=$("$@" 2>&1); then ok "$desc"; else notok "$desc"; printf '#   %s\n' "$OUT" | head -20; fi
}

# fails DESC PATTERN CMD...: passes when CMD exits non-zero and its
# output matches the extended regex PATTERN.
fails() {
	local desc=$1 pat=$2; shift 2
	if OUT=$("$@" 2>&1); then
		notok "$desc (succeeded)"; printf '#   %s\n' "$OUT" | head -10
	elif ! grep -Eq -- "$pat" <<<"$OUT"; then
		notok "$desc (wrong message)"; printf '#   want /%s/\n#   got: %s\n' "$pat" "$OUT" | head -10
	else
		ok "$desc"
	fi
}

# exits DESC CODE CMD...: passes when CMD exits with CODE. Output in $OUT.
exits() {
	local desc=$1 want=$2 got
	shift 2
	OUT=$("$@" 2>&1)
	got=$?
	if [ "$got" = "$want" ]; then ok "$desc"; else notok "$desc (exit $got, want $want)"; printf '#   %s\n' "$OUT" | head -10; fi
}

# is DESC GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else notok "$1"; printf '#   got:  %s\n#   want: %s\n' "$2" "$3"; fi
}

# like DESC TEXT REGEX
like() {
	if grep -Eq -- "$3" <<<"$2"; then ok "$1"; else notok "$1"; printf '#   /%s/ not in:\n%s\n' "$3" "$2" | head -20; fi
}

# unlike DESC TEXT REGEX: TEXT does not match
unlike() {
	if grep -Eq -- "$3" <<<"$2"; then notok "$1"; printf '#   /%s/ in:\n%s\n' "$3" "$2" | head -10; else ok "$1"; fi
}

# The store holds nothing half-done: no temp entries left.
store_clean() {
	local left
	left=$(ls -A "$ROOT/tmp" 2>/dev/null)
	if [ -z "$left" ]; then ok "$1: nothing left in tmp/"; else notok "$1: tmp/ has $left"; fi
}

# A fingerprint of the store's visible state, to compare before/after.
store_state() {
	(cd "$ROOT" 2>/dev/null && find blobs layers blobmap index.json -maxdepth 2 2>/dev/null | sort; cat index.json 2>/dev/null) | sha256sum | cut -c1-16
}

# wait_for SECONDS CMD...: run CMD until it succeeds or SECONDS have passed;
# its output (stdout and stderr) of the last try is in $OUT
wait_for() {
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while :; do
		OUT=$("$@" 2>&1) && return 0
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
		sleep 0.2
	done
}

busybox_tar() { echo "$FIXTURES/busybox.tar"; }

need_fixtures() {
	[ -f "$FIXTURES/busybox.tar" ] || skip_all "fixtures missing: run tests/fixtures/make.sh"
}

t_done() { [ "$T_FAILS" -eq 0 ]; exit $?; }
