#!/usr/bin/env bash
# Interop through a registry with a private dockerd: docker push -> berth
# pull -> berth run, and berth push -> docker pull -> docker run; the same
# image IDs and repo digests on both sides.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-peers.sh"
. "$(dirname "$0")/lib-registry.sh"
need_fixtures
need_registry
peer_docker
reg_start plain
R=$REG
tag=$(peer_ref docker bb | tr ':' '-')

docker_track "$R/$tag-d:v1" "$R/$tag-b:v1"
check "docker import" docker import "$(busybox_tar)" "$R/$tag-d:v1"
check "docker push" docker push "$R/$tag-d:v1"
ddigest=$(docker inspect -f '{{index .RepoDigests 0}}' "$R/$tag-d:v1")
check "berth pull of docker's push" b pull "$R/$tag-d:v1"
is "same image ID" "$(b images -q --no-trunc "$R/$tag-d:v1")" "$(docker inspect -f '{{.Id}}' "$R/$tag-d:v1")"
is "same repo digest" "$(b inspect -f '{{json .RepoDigests}}' "$R/$tag-d:v1")" "[\"$ddigest\"]"
check "berth runs it" b run --rm "$R/$tag-d:v1" echo from-docker
like "berth run output" "$OUT" from-docker

check "berth import" b import "$(busybox_tar)" "$R/$tag-b:v1"
check "berth push" b push "$R/$tag-b:v1"
bdigest=$(sed -n 's/^v1: digest: \(sha256:[0-9a-f]*\) size: [0-9]*$/\1/p' <<<"$OUT")
check "docker pull of berth's push" docker pull "$R/$tag-b:v1"
like "docker saw berth's digest" "$OUT" "Digest: $bdigest"
is "same image ID (docker)" "$(docker inspect -f '{{.Id}}' "$R/$tag-b:v1")" "$(b images -q --no-trunc "$R/$tag-b:v1")"
check "docker runs it" dk_run "$R/$tag-b:v1" echo from-berth
like "docker run output" "$OUT" from-berth
store_clean "docker interop"
t_done
