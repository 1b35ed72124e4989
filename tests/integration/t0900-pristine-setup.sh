#!/usr/bin/env bash
# The README's setup on a pristine Debian 12: a berth container from the
# bare debootstrap minbase rootfs (the cached tarball scripts/debian-base.sh
# makes), on berth's default bridge so that apt reaches the mirror through
# berth's own NAT. Nothing is in it but what scripts/setup.sh installs:
#   1. scripts/setup.sh          -> build, berth --version, every unit test
#   2. scripts/setup.sh --test   -> the test fixtures and integration tests
#                                   (t0001, t0010) start and pass
# A package missing from setup.sh's lists fails here, not on a user's
# machine. Skips (saying why) only when there is no cached rootfs or the
# host cannot reach the Debian mirror. Takes a few minutes: apt downloads
# the compiler and the libraries each time (nothing is cached between runs,
# so the container really starts from nothing).
. "$(dirname "$0")/../lib.sh"

CACHE=${BERTH_DEBIAN_CACHE:-/var/cache/berth/debian-bookworm.tar}
[ -s "$CACHE" ] || skip_all "no cached Debian rootfs at $CACHE (make it: scripts/debian-base.sh)"
mirror=$(awk '/^URIs:/ { print $2; exit }' <(tar -xOf "$CACHE" ./etc/apt/sources.list.d/debian.sources))
host=${mirror#*://}
host=${host%%/*}
timeout 5 bash -c "exec 3<>/dev/tcp/$host/80" 2>/dev/null ||
	skip_all "the host cannot reach the Debian mirror $host: the pristine setup needs apt"
export BERTH BERTH_RUNROOT=$RUNROOT
CTR=t0900-$$

cleanup_t0900() {
	b rm -f "$CTR" >/dev/null 2>&1
	t_cleanup
}
trap cleanup_t0900 EXIT

check "import the pristine rootfs" bash "$TOP/scripts/debian-base.sh" --cached --root "$ROOT"
[ "$T_FAILS" -eq 0 ] || t_done

# what the rootfs has before setup: minbase, none of setup.sh's packages
# shellcheck disable=SC2016  # expanded in the container
check "pristine: no compiler, meson or -dev package" b run --rm --network none debian:bookworm sh -c '
	for p in gcc libc6-dev meson pkgconf libjansson-dev libseccomp-dev busybox-static; do
		dpkg-query -W -f="\${Status}" $p 2>/dev/null | grep -q "ok installed" && { echo "$p is installed"; exit 1; }
	done; command -v cc && exit 1; echo pristine'

# The source tree as a fresh clone has it: the checked-out files, no build
# output (what .gitignore leaves out), no .git (the container has no git,
# and setup.sh needs none).
src=$T_DIR/src
mkdir -p "$src"
tar -C "$TOP" --exclude=./.git --exclude=./build --exclude='./build-*' --exclude=./tmp -cf - . | tar -C "$src" -xf -
check "start the pristine container on the default bridge" \
	b run -d --name "$CTR" --network bridge -v "$src:/src:ro" debian:bookworm sleep 3600
[ "$T_FAILS" -eq 0 ] || t_done

# step DESC SCRIPT: runs SCRIPT in the container (its output in $OUT, the
# last 30 lines shown on failure) and says how long it took
step() {
	local desc=$1 t0 rc
	t0=$(date +%s)
	OUT=$(b exec "$CTR" bash -c "$2" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$desc ($(($(date +%s) - t0)) s)"
	else
		notok "$desc (exit $rc after $(($(date +%s) - t0)) s)"
		printf '%s\n' "$OUT" | tail -n 30 | sed 's/^/#   /'
	fi
	return $rc
}

step "copy the tree to /w" 'mkdir /w && cp -a /src/. /w/' || t_done
if step "scripts/setup.sh on the pristine root" 'cd /w && bash scripts/setup.sh'; then
	step "berth --version" '/w/build/berth --version' && like "--version output" "$OUT" '^berth version '
	# shellcheck disable=SC2016  # expanded in the container
	if step "unit tests" 'cd /w && n=0; for t in build/tests/unit/test-*; do [ -f "$t" ] && [ -x "$t" ] || continue; n=$((n+1)); "$t" >/tmp/u.out 2>&1 || { cat /tmp/u.out; exit 1; }; grep -c "^ok" /tmp/u.out; done | awk "{ s += \$1 } END { print s \" unit checks passed\" }"'; then
		like "unit tests ran" "$OUT" '^[1-9][0-9]* unit checks passed'
	fi
fi
if step "scripts/setup.sh --test on the same root" 'cd /w && bash scripts/setup.sh --test'; then
	step "test fixtures" 'cd /w && tests/fixtures/make.sh'
	for t in t0001-cli t0010-import; do
		# shellcheck disable=SC2016  # expanded in the container
		if step "integration test $t runs in the pristine root" "cd /w && bash tests/integration/$t.sh >/tmp/$t.out 2>&1; rc=\$?; grep -c '^ok' /tmp/$t.out; grep '^not ok' /tmp/$t.out; exit \$rc"; then
			like "$t passed checks" "$OUT" '^[1-9][0-9]*$'
		fi
	done
fi
check "remove the container" b rm -f "$CTR"
t_done
