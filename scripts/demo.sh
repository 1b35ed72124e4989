#!/usr/bin/env bash
# berth's main job, end to end, for now: the image store. Builds berth,
# makes a busybox image from Debian's busybox-static, imports it, lists and
# inspects it, saves it as a docker-archive and loads it into a second store.
# (The runtime and compose come with the next issues; this script grows with them.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" --test
berth=$top/build/berth
demo=${BERTH_DEMO_DIR:-/var/tmp/berth-demo}
rm -rf "$demo"
mkdir -p "$demo"
tar=$("$top/tests/fixtures/make.sh" "$demo/fixtures")
run() { echo "+ $*"; "$@"; }
run "$berth" --root "$demo/store" import -c 'CMD ["sh"]' "$tar" busybox:latest
run "$berth" --root "$demo/store" images
run "$berth" --root "$demo/store" image inspect --format '{{.Id}} {{.Os}}/{{.Architecture}} {{json .Config.Cmd}}' busybox
run "$berth" --root "$demo/store" save -o "$demo/busybox.tar" busybox
run "$berth" --root "$demo/store2" load -i "$demo/busybox.tar"
run "$berth" --root "$demo/store2" images
run "$berth" --root "$demo/store2" system df
echo "demo: stores under $demo (remove with: rm -rf $demo)"
