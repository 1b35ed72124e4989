#!/usr/bin/env bash
# One command for every test on a fresh Debian 12 machine (as root):
# installs what is missing, builds, runs unit + integration tests.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" --test
exec "$top/tests/run.sh" "$@"
