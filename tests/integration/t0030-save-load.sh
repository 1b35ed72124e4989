#!/usr/bin/env bash
# save and load round trips in both formats, through files and pipes.
. "$(dirname "$0")/../lib.sh"
need_fixtures
tar=$(busybox_tar)

id=$(b import -c 'CMD ["sh"]' "$tar" busybox:1)
b tag busybox:1 busybox:latest
b tag busybox:1 example.com/x/y:z
check "save docker-archive" b save -o "$T_DIR/bb.tar" busybox:1 busybox:latest
check "archive has manifest.json" tar -xOf "$T_DIR/bb.tar" manifest.json
like "manifest.json lists both tags" "$OUT" '"RepoTags":\["busybox:1","busybox:latest"\]'
check "archive is also an OCI layout" tar -xOf "$T_DIR/bb.tar" oci-layout
layer=$(tar -xOf "$T_DIR/bb.tar" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][0])')
sum=$(tar -xOf "$T_DIR/bb.tar" "$layer" | sha256sum | cut -d' ' -f1)
is "layer entry is the uncompressed tar named by its diff_id" "blobs/sha256/$sum" "$layer"

other=$T_DIR/r2
check "load into a fresh store" "$BERTH" --root "$other" load -i "$T_DIR/bb.tar"
like "load reports tags" "$OUT" 'Loaded image: busybox:1'
check "same image ID after round trip" "$BERTH" --root "$other" image inspect -f '{{.Id}}' busybox:latest
is "image ID preserved" "$OUT" "$id"
check "load again is idempotent" "$BERTH" --root "$other" load -q -i "$T_DIR/bb.tar"
is "load -q is quiet" "$OUT" ""
is "still one layer" "$(ls "$other/layers" | wc -l)" 1

check "save to stdout | load from stdin" sh -c "'$BERTH' --root '$ROOT' save example.com/x/y:z | '$BERTH' --root '$T_DIR/r3' load"
like "pipe load" "$OUT" 'Loaded image: example.com/x/y:z'
check "save by ID has no tags" sh -c "'$BERTH' --root '$ROOT' save '${id:7:12}' | '$BERTH' --root '$T_DIR/r4' load"
is "untagged load prints ID" "$OUT" "Loaded image ID: $id"

check "save oci-archive" b save --format oci-archive -o "$T_DIR/bb.oci" busybox:1
check "oci archive has no manifest.json" sh -c "! tar -tf '$T_DIR/bb.oci' | grep -qx manifest.json"
check "oci index names the image" tar -xOf "$T_DIR/bb.oci" index.json
like "io.containerd.image.name" "$OUT" '"io.containerd.image.name":"docker.io/library/busybox:1"'
check "load oci-archive" "$BERTH" --root "$T_DIR/r5" load -i "$T_DIR/bb.oci"
like "oci load names the image" "$OUT" 'Loaded image: busybox:1'
check "oci round trip keeps the ID" "$BERTH" --root "$T_DIR/r5" image inspect -f '{{.Id}}' busybox:1
is "oci ID preserved" "$OUT" "$id"

# compressed archives and compressed layers
gzip -c "$T_DIR/bb.tar" >"$T_DIR/bb.tar.gz"
check "load gzip-compressed archive" "$BERTH" --root "$T_DIR/r6" load -i "$T_DIR/bb.tar.gz"
gzip -c "$tar" >"$T_DIR/layer.tar.gz"
b import "$T_DIR/layer.tar.gz" gzlayer:1 >/dev/null
check "save oci keeps the gzip layer blob" b save --format oci-archive -o "$T_DIR/gz.oci" gzlayer:1
like "gzip media type in manifest" "$(tar -xOf "$T_DIR/gz.oci" --wildcards 'blobs/sha256/*' 2>/dev/null | tr -c '[:print:]' '\n' | grep -a mediaType | head -5)" 'tar\+gzip'
check "load oci with gzip layer" "$BERTH" --root "$T_DIR/r7" load -i "$T_DIR/gz.oci"
check "docker-archive of a gzip layer is uncompressed" b save -o "$T_DIR/gz.tar" gzlayer:1
check "that archive loads" "$BERTH" --root "$T_DIR/r8" load -i "$T_DIR/gz.tar"
is "same ID" "$("$BERTH" --root "$T_DIR/r8" images -q --no-trunc)" "$(b image inspect -f '{{.Id}}' gzlayer:1)"

# bad input
fails "save missing image" 'No such image: nope' b save -o "$T_DIR/x.tar" nope
check "failed save leaves no file" test ! -e "$T_DIR/x.tar"
is "no temp file left beside it" "$(ls -A "$T_DIR" | grep -c '\.tmp-' || true)" 0
fails "save bad format" '--format "zip": use docker-archive or oci-archive' b save --format zip -o "$T_DIR/x.tar" busybox:1
fails "save into a missing dir" 'failed to save image: open /nonexistent/dir/x.tar' b save -o /nonexistent/dir/x.tar busybox:1
fails "load missing file" 'open /nonexistent.tar: No such file' b load -i /nonexistent.tar
fails "load needs no args" 'accepts no arguments' b load extra
printf 'hello' >"$T_DIR/notar"
fails "load a non-archive" 'not a valid image archive|not an image archive' b load -i "$T_DIR/notar"
tar -C "$T_DIR" -cf "$T_DIR/empty.tar" notar
fails "load a tar without manifest" 'no manifest.json \(docker-archive\) or index.json \(OCI layout\)' b load -i "$T_DIR/empty.tar"
store_clean "after bad loads"
t_done
