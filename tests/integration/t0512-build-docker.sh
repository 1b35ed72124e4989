#!/usr/bin/env bash
# A berth-built image (multi-stage, COPY, RUN with a deletion) saved with
# `berth save` loads into docker with the same ID and layers, and runs
# there with the deletion applied and the config berth wrote.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-peers.sh"
need_fixtures
peer_docker
img=$(peer_ref docker built)
docker_track "$img"
trap 'peer_cleanup; t_cleanup' EXIT

check "import busybox" b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox
C=$T_DIR/ctx
mkdir -p "$C"
echo hello >"$C/a.txt"
cat >"$C/Dockerfile" <<'EOF'
FROM busybox AS build
RUN echo built > /artifact
FROM busybox
COPY --from=build /artifact /srv/artifact
COPY a.txt /srv/
RUN rm /bin/vi && echo ran > /srv/ran
ENV GREETING=hi
CMD ["sh", "-c", "cat /srv/artifact /srv/a.txt /srv/ran; echo $GREETING; test -e /bin/vi && echo vi || echo no-vi"]
EOF
check "build" b build --network none -t "$img" "$C"
id=$(b image inspect -f '{{.Id}}' "$img" 2>&1)
layers=$(b image inspect -f '{{json .RootFS.Layers}}' "$img" 2>&1)
check "berth save" b save -o "$T_DIR/b.tar" "$img"
check "docker load" docker load -i "$T_DIR/b.tar"
is "same ID in docker" "$(docker image inspect -f '{{.Id}}' "$img" 2>&1)" "$id"
is "same layers in docker" "$(docker image inspect -f '{{json .RootFS.Layers}}' "$img" 2>&1)" "$layers"
check "docker runs it" docker run --rm --network none "$img"
is "output in docker" "$OUT" $'built\nhello\nran\nhi\nno-vi'
docker rmi -f "$id" >/dev/null 2>&1
t_done
