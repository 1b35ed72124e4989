#!/usr/bin/env bash
# A tour of the runtime pieces under compose: build berth, make a busybox
# image from Debian's busybox-static, import it, run containers from it
# (foreground, detached with a healthcheck, exec, logs, stop, rm), two
# containers finding each other by name on a user network, and save/load.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" --test
berth=$top/build/berth
demo=${BERTH_DEMO_DIR:-/var/tmp/berth-demo}
if [ -d "$demo/store" ]; then
	"$berth" --root "$demo/store" rm -f demo-web demo-db >/dev/null 2>&1 || true
	"$berth" --root "$demo/store" network rm demo-net >/dev/null 2>&1 || true
fi
rm -rf "$demo"
mkdir -p "$demo"
tar=$("$top/tests/fixtures/make.sh" "$demo/fixtures")
b() { echo "+ berth $*"; "$berth" --root "$demo/store" "$@"; }
b import -c 'CMD ["sh"]' "$tar" busybox:latest
b images
b run --rm busybox sh -c 'echo "hello from $(hostname), pid $$"; grep -E "^(CapEff|Seccomp)" /proc/self/status'
b run -d --name demo-web --health-cmd 'test -f /tmp/ready' --health-interval 500ms \
	busybox sh -c 'trap "echo bye; exit 0" TERM; echo started; touch /tmp/ready; while :; do sleep 0.2; done'
sleep 1.5
b ps
b exec demo-web sh -c 'echo "exec in $(hostname): $(ls /tmp)"'
b logs demo-web
b stop demo-web
b ps -a
b inspect -f '{{.State.Status}} exit={{.State.ExitCode}} health={{.State.Health.Status}}' demo-web
b rm demo-web
# two containers on a user-defined network find each other by name
"$berth" --root "$demo/store" rm -f demo-db >/dev/null 2>&1 || true
"$berth" --root "$demo/store" network rm demo-net >/dev/null 2>&1 || true
b network create demo-net
b run -d --name demo-db --network demo-net --network-alias db busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.2; done'
b run --rm --network demo-net busybox sh -c 'nslookup db 2>/dev/null | grep -E "^(Name|Address)" | tail -n 2; ping -c 1 -W 2 demo-db | head -n 2'
b network ls
b rm -f demo-db
b network rm demo-net
b save -o "$demo/busybox.tar" busybox
echo "+ berth --root $demo/store2 load -i $demo/busybox.tar"
"$berth" --root "$demo/store2" load -i "$demo/busybox.tar"
b system df
echo "demo: stores under $demo (remove with: rm -rf $demo)"
