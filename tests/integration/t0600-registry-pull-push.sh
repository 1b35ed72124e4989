#!/usr/bin/env bash
# Registry client against a real registry over plain HTTP on 127.0.0.1:
# push/pull round trips keep IDs and digests, layers already present are
# skipped, chunked uploads, cross-repository mounts, run/create pulling a
# missing image (--pull), multi-layer images with gzip/zstd/plain layers.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-registry.sh"
need_fixtures
need_registry
reg_start plain

ROOT2=$T_DIR/root2
b2() { "$BERTH" --root "$ROOT2" --runroot "$RUNROOT" "$@"; }

check "import busybox" b import "$(busybox_tar)" "$REG/bb:v1"
id=$(b images -q --no-trunc "$REG/bb:v1")
check "push" b push "$REG/bb:v1"
like "push output" "$OUT" '^The push refers to repository \['"$REG"'/bb\]'
like "push pushed the layer" "$OUT" ': Pushed$'
digest=$(sed -n 's/^v1: digest: \(sha256:[0-9a-f]*\) size: [0-9]*$/\1/p' <<<"$OUT")
like "push prints the digest" "$digest" '^sha256:[0-9a-f]{64}$'
check "second push" b push "$REG/bb:v1"
like "second push skips the layer" "$OUT" 'Layer already exists'
like "second push has the same digest" "$OUT" "v1: digest: $digest "

check "pull into an empty store" b2 pull "$REG/bb:v1"
like "pull output" "$OUT" 'v1: Pulling from bb'
like "pull complete" "$OUT" ': Pull complete'
like "pull digest line" "$OUT" "Digest: $digest"
like "pull status" "$OUT" "Status: Downloaded newer image for $REG/bb:v1"
is "same image ID" "$(b2 images -q --no-trunc "$REG/bb:v1")" "$id"
is "same diff_ids" "$(b2 inspect -f '{{json .RootFS}}' "$REG/bb:v1")" "$(b inspect -f '{{json .RootFS}}' "$REG/bb:v1")"
is "RepoDigests recorded" "$(b2 inspect -f '{{json .RepoDigests}}' "$REG/bb:v1")" "[\"$REG/bb@$digest\"]"
like "images --digests" "$(b2 images --digests)" "$REG/bb +v1 +$digest"
check "pull again" b2 pull "$REG/bb:v1"
like "up to date" "$OUT" "Status: Image is up to date for $REG/bb:v1"
like "layer already there" "$OUT" ': Already exists'
check "pull by digest" b2 pull "$REG/bb@$digest"
check "pulled image runs" b2 run --rm "$REG/bb:v1" echo pulled-ok
like "pulled image output" "$OUT" pulled-ok
store_clean "after pulls"

# a pulled image pushed again (another repo): cross-repository mount, same digest
check "tag to another repo" b2 tag "$REG/bb:v1" "$REG/other/bb:v2"
check "push to another repo" b2 push "$REG/other/bb:v2"
like "layer mounted from the first repo" "$OUT" 'Mounted from bb'
like "same manifest digest" "$OUT" "v2: digest: $digest "

# chunked upload (PATCH pieces), pulled back identical
check "import a second image" b import "$(busybox_tar)" "$REG/chunked:v1"
check "chunked push" env BERTH_PUSH_CHUNK_SIZE=65536 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" push "$REG/chunked:v1"
cdigest=$(sed -n 's/^v1: digest: \(sha256:[0-9a-f]*\) size: [0-9]*$/\1/p' <<<"$OUT")
check "pull the chunked upload" b2 pull -q "$REG/chunked:v1"
is "pull -q prints the reference" "$OUT" "$REG/chunked:v1"
is "chunked: same ID" "$(b2 images -q --no-trunc "$REG/chunked:v1")" "$(b images -q --no-trunc "$REG/chunked:v1")"
is "chunked: same digest" "$(b2 inspect -f '{{json .RepoDigests}}' "$REG/chunked:v1")" "[\"$REG/chunked@$cdigest\"]"

# run/create pull what is missing; --pull never does not
ROOT3=$T_DIR/root3
b3() { "$BERTH" --root "$ROOT3" --runroot "$RUNROOT" "$@"; }
check "run pulls a missing image" b3 run --rm "$REG/bb:v1" echo auto-ok
like "run says it pulls" "$OUT" "Unable to find image '$REG/bb:v1' locally"
like "run output" "$OUT" auto-ok
check "create --pull always" b3 create --pull always "$REG/bb:v1" true
like "pull always checks the registry" "$OUT" 'Image is up to date'
b3 rm -f "$(tail -n1 <<<"$OUT")" >/dev/null 2>&1
fails "--pull never with a missing image" 'No such image' b3 run --rm --pull never "$REG/bb:nope" true
fails "--pull bad value" 'invalid pull option' b3 run --rm --pull sometimes "$REG/bb:v1" true

# multi-layer image: gzip, zstd and plain layers, parallel download
mkdir -p "$T_DIR/l1/a" "$T_DIR/l2/b" "$T_DIR/l3/c"
head -c 300000 /dev/urandom >"$T_DIR/l1/a/r1"
echo two >"$T_DIR/l2/b/f2"
echo three >"$T_DIR/l3/c/f3"
for i in 1 2 3; do tar -C "$T_DIR/l$i" -cf "$T_DIR/l$i.tar" .; done
if command -v zstd >/dev/null; then z=zstd; else z=gzip; fi
check "push a 3-layer image (tool)" python3 "$REG_TOOL" image "$REG" multi v1 \
	"$T_DIR/l1.tar:gzip" "$T_DIR/l2.tar:$z" "$T_DIR/l3.tar:plain"
check "pull the 3-layer image" b2 pull --max-concurrent-downloads 2 "$REG/multi:v1"
is "three layers" "$(b2 inspect -f '{{json .RootFS.Layers}}' "$REG/multi:v1" | grep -o sha256: | wc -l)" "3"
check "save the pulled image" b2 save -o "$T_DIR/multi.tar" "$REG/multi:v1"
check "push it back (compressing the plain layer)" b2 push "$REG/multi:v1"
fails "--max-concurrent-downloads 0" 'max-concurrent-downloads' b2 pull --max-concurrent-downloads 0 "$REG/multi:v1"
fails "push of a missing image" 'does not exist locally' b2 push "$REG/none:v1"
store_clean "at the end"
t_done
