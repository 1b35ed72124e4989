#!/usr/bin/env bash
# One command for every test on a fresh Debian 12 machine (as root):
# installs what is missing, builds, runs unit + integration tests.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" --test
# The Debian base tarball for the tests that build and run the examples
# (t0513) and check egress (t0800): debootstrap runs once (~35 s), later runs
# reuse /var/cache/berth. When it cannot be made (no mirror), those tests
# skip and say why. BERTH_NO_DEBIAN_BASE=1 leaves it out.
if [ -z "${BERTH_NO_DEBIAN_BASE:-}" ]; then
	"$top/scripts/debian-base.sh" --no-berth \
		|| echo "test.sh: scripts/debian-base.sh failed (above); the tests that need the Debian base will skip" >&2
fi
exec "$top/tests/run.sh" "$@"
