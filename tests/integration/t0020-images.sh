#!/usr/bin/env bash
# images, tag, rmi, image inspect, image prune, system df.
. "$(dirname "$0")/../lib.sh"
need_fixtures
tar=$(busybox_tar)

check "empty images" b images
is "empty table is just the header" "$OUT" "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE"
id=$(b import "$tar" busybox)
short=${id#sha256:}; short=${short:0:12}
check "images" b images
like "table header" "$OUT" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$'
like "busybox row" "$OUT" "^busybox +latest +$short +(Less than a second|[0-9]+ seconds) ago +[0-9.]+MB$"
check "images -q" b images -q
is "images -q prints the short ID" "$OUT" "$short"
check "images --no-trunc -q" b images --no-trunc -q
is "full ID" "$OUT" "$id"
check "images --format json" b images --format json
like "json row" "$OUT" '^\{"Containers":"N/A","CreatedAt":"[0-9-]+ [0-9:]+ \+0000 UTC","CreatedSince":".*","Digest":"<none>","ID":"'"$short"'","Repository":"busybox".*"Tag":"latest"'
check "images --format template" b images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
is "template output" "$OUT" "busybox:latest $short"
check "images --format table template" b images --format 'table {{.Repository}}\t{{.Size}}'
like "custom table header" "$OUT" '^REPOSITORY +SIZE'
check "images --digests" b images --digests
like "digest column" "$OUT" '^REPOSITORY +TAG +DIGEST +IMAGE ID'

check "tag" b tag busybox localhost:5000/team/bb:v1
check "tag by short ID" b tag "$short" other:2
check "images REPOSITORY filter" b images localhost:5000/team/bb
like "filtered row" "$OUT" 'localhost:5000/team/bb +v1'
is "filter shows one row" "$(b images -q localhost:5000/team/bb | wc -l)" 1
is "three rows for three tags" "$(b images -q | wc -l)" 3
check "inspect" b image inspect busybox
like "inspect Id" "$OUT" "\"Id\": \"$id\""
like "inspect RepoTags sorted by full name" "$(tr -d ' \n' <<<"$OUT")" '"RepoTags":\["busybox:latest","other:2","localhost:5000/team/bb:v1"\]'
like "inspect RootFS" "$OUT" '"Type": "layers"'
check "top-level inspect" b inspect --format '{{.Os}}/{{.Architecture}}' busybox
is "inspect format" "$OUT" "linux/amd64"
fails "inspect missing" 'No such image: nope' b image inspect nope
fails "inspect bad template" 'unsupported action' b image inspect --format '{{range .X}}' busybox
fails "tag missing source" 'No such image: nope' b tag nope x
fails "tag bad target" 'invalid reference format' b tag busybox 'bad/Case'
fails "tag digest target" 'refusing to create a tag with a digest' b tag busybox "x@sha256:$(printf '%064d' 0)"

fails "rmi by ID with several tags needs -f" 'must be forced\) - image is referenced in multiple repositories' b rmi "$short"
check "rmi one tag only untags" b rmi other:2
is "untag message" "$OUT" "Untagged: other:2"
check "image still there" b image inspect -f '{{.Id}}' busybox
fails "rmi missing" 'No such image: nope' b rmi nope
check "system df" b system df
like "df images row" "$OUT" '^Images +1 +0 +[0-9.]+MB +[0-9.]+MB \(100%\)'
check "rmi -f by ID removes all tags" b rmi -f "$short"
like "rmi prints Untagged and Deleted" "$OUT" "Untagged: busybox:latest"
like "rmi prints Deleted" "$OUT" "Deleted: $id"
is "no images left" "$(b images -q)" ""
is "no layers left" "$(ls "$ROOT/layers")" ""
is "no blobs left" "$(ls "$ROOT/blobs/sha256")" ""

# prune: dangling images only, unless -a
b import "$tar" keep:1 >/dev/null
b import -c 'CMD ["x"]' "$tar" dangle:1 >/dev/null
b import -c 'CMD ["x"]' -c 'ENV X=1' "$tar" dangle:1 >/dev/null 2>&1   # moves the tag: the first becomes dangling
is "dangling image listed" "$(b images --filter dangling=true --format '{{.Repository}}:{{.Tag}}')" "<none>:<none>"
check "prune without -f and no answer does nothing" sh -c "echo n | '$BERTH' --root '$ROOT' image prune"
is "still three images" "$(b images -q | wc -l)" 3
check "image prune -f" b image prune -f
like "prune reports" "$OUT" '^Deleted Images:'
like "prune reclaimed" "$OUT" 'Total reclaimed space: '
is "two images after prune" "$(b images -q | wc -l)" 2
check "image prune -a -f" b image prune -a -f
is "nothing after prune -a" "$(b images -q)" ""
is "layers reclaimed" "$(ls "$ROOT/layers")" ""
store_clean "after prune"
t_done
