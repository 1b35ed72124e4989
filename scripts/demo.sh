#!/usr/bin/env bash
# berth's main job, end to end: install what is needed, build berth, make a
# Debian base image (debootstrap, cached), then bring up the compose app in
# examples/visits (Flask web + worker, PostgreSQL, Redis; images built from
# Debian packages by berth's builder), check that it answers, and show how to
# take it down. Uses berth's default store (/var/lib/berth) so that the
# commands it prints work as they are.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
berth=$top/build/berth
if [ "$(readlink -f /usr/local/bin/berth 2>/dev/null)" != "$berth" ]; then
	ln -sf "$berth" /usr/local/bin/berth
	echo "demo: /usr/local/bin/berth -> $berth"
fi
"$top/scripts/debian-base.sh"
cd "$top/examples/visits"
run() { echo "+ $*"; "$@"; }
run berth compose up -d --wait --wait-timeout 300
run berth compose ps
for i in 1 2 3; do
	# quiet while web starts (the retries), but the last error is shown
	page=$(curl -fsS --retry 30 --retry-delay 1 --retry-connrefused http://127.0.0.1:8080/ 2>"$top/build/demo-curl.err") ||
		{ cat "$top/build/demo-curl.err" >&2; echo "demo: http://127.0.0.1:8080/ does not answer; see: cd $top/examples/visits && berth compose logs web" >&2; exit 1; }
	echo "GET http://127.0.0.1:8080/ -> $(sed -n 's/<[^>]*>//g; s/^ *//; /seen .* times/p; /has stored/p' <<<"$page" | tr '\n' ' ')"
done
sleep 2
run berth compose logs --tail 5 worker
cat <<MSG

demo: the visits app is up at http://localhost:8080/ (project "visits").
  see it:        cd $top/examples/visits && berth compose ps && berth compose logs -f
  take it down:  cd $top/examples/visits && berth compose down   (add -v --rmi local to drop images too)
  the runtime tour without compose: bash scripts/tour.sh
MSG
