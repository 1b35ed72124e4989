#!/usr/bin/env bash
# berth compose against a real registry on 127.0.0.1: build then push
# (only services with build: and image:), pull into an empty store
# (pull_policy, --ignore-buildable, skipped build-only services), up
# pulling a missing image, up --pull always|never, and a pull that fails
# naming the service with nothing created.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-registry.sh"
need_fixtures
need_registry
reg_start plain

ROOT2=$T_DIR/root2
b2() { "$BERTH" --root "$ROOT2" --runroot "$RUNROOT" "$@"; }
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }
check "seed the registry with a base image" b tag busybox "$REG/base:1"
b push "$REG/base:1" >/dev/null 2>&1

P=t0713p$$
D=$T_DIR/proj
mkdir -p "$D/app"
printf 'FROM busybox\nRUN echo built > /built\nCMD ["sleep", "300"]\n' >"$D/app/Dockerfile"
cat >"$D/compose.yaml" <<EOT
services:
  app:
    build: app
    image: $REG/app:1
    init: true
  base:
    image: $REG/base:1
    command: ["sleep", "300"]
    init: true
  local:
    build: app
    init: true
EOT
cat >"$D/never.yaml" <<EOT
services:
  nope:
    image: $REG/missing:1
    pull_policy: never
EOT
cat >"$D/missing.yaml" <<EOT
services:
  gone:
    image: $REG/missing:1
EOT
bc() { b compose -p "$P" -f "$D/compose.yaml" "$@"; }
bc2() { b2 compose -p "$P" -f "$D/compose.yaml" "$@"; }
trap 'bc down -t 0 >/dev/null 2>&1; bc2 down -t 0 >/dev/null 2>&1; reg_cleanup; t_cleanup' EXIT

check "compose build" bc build
check "compose push" bc push
like "app pushed" "$OUT" "Service app  Pushed"
like "services without build: are skipped" "$OUT" "Service base  Skipped"
like "build-only services are skipped" "$OUT" "Service local  Skipped"

check "compose pull --ignore-buildable into an empty store" bc2 pull --ignore-buildable
like "base pulled" "$OUT" "Service base  Pulled"
is "app skipped (buildable)" "$(b2 images -q "$REG/app:1" | wc -l)" 0
check "compose pull" bc2 pull app
is "app pulled" "$(b2 images -q --no-trunc "$REG/app:1")" "$(b images -q --no-trunc "$REG/app:1")"
b2 rmi -f "$REG/base:1" >/dev/null 2>&1
b2 import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null
check "up -d pulls the missing image and builds the build-only one" bc2 up -d
like "base pulled by up" "$OUT" "Service base  Pulled"
like "local built by up" "$OUT" "Service local  Built"
is "the pulled app image runs" "$(b2 exec "$P-app-1" cat /built)" "built"
check "up -d --pull always" bc2 up -d --pull always base
like "pulled again" "$OUT" "Service base  Pulled"
like "same image: container kept" "$OUT" "Container $P-base-1  Running"
check "down" bc2 down -t 0

fails "pull_policy never and no image" 'service "nope": image .*missing:1 not found locally and pull_policy is never' \
	b compose -p "${P}n" -f "$D/never.yaml" up -d
fails "a pull that fails names the service" 'service "gone": pulling .*missing:1' \
	b compose -p "${P}m" -f "$D/missing.yaml" up -d
is "nothing created" "$(b ps -a --format '{{.Names}}' | grep -c "^${P}[nm]-"; b network ls | grep -c "${P}[nm]_")" "0
0"
t_done
