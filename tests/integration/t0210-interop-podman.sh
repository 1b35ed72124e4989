#!/usr/bin/env bash
# Interop with podman: images podman made (podman import, and a 3-layer
# image made with podman run + podman commit, with whiteouts and an
# opaque directory) saved as docker-archive (podman's layout: layers at
# the top, <id>/layer.tar symlinks) and as oci-archive (gzip layers, or
# --uncompressed) load into berth with the same ID, diff_ids and names;
# berth's archives in both formats (of those images, of a berth import,
# several images in one docker-archive) load into podman with the same
# IDs and names and run there.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-peers.sh"
need_fixtures
peer_podman
tar=$(busybox_tar)

# podman puts names without a registry under localhost/
bb=localhost/$(peer_ref podman bb)      # podman import of the fixture
l2=localhost/$(peer_ref podman l2)      # + a layer (podman commit)
ml=localhost/$(peer_ref podman ml)      # + a layer with deletions: 3 layers
ml2=example.com/$(peer_ref podman ml | cut -d: -f1):two   # ml's second name
imp=$(peer_ref podman imp)              # berth import of the fixture (short name)
ctr=berth-it-$T_NAME-$$-ctr

pm_id() { local id; id=$(pm image inspect -f '{{.Id}}' "$1" 2>&1) && echo "sha256:$id" || echo "$id"; }
pm_layers() { pm image inspect -f '{{json .RootFS.Layers}}' "$1" 2>&1; }
pm_digest() { pm image inspect -f '{{.Digest}}' "$1" 2>&1; }
# tags as a sorted, space separated list
tags_sorted() { tr -d '[]"' | tr ',' '\n' | sed '/^$/d' | sort | paste -sd' '; }
pm_tags() { pm image inspect -f '{{json .RepoTags}}' "$1" 2>&1 | tags_sorted; }
pm_gone() { ! pm image exists "$@" >/dev/null 2>&1; }
pm_names() { pm images --format '{{.Repository}}:{{.Tag}}' 2>&1 | grep -v '<none>' | sort | paste -sd' '; }
bi_id() { "$BERTH" --root "${2:-$ROOT}" image inspect -f '{{.Id}}' "$1" 2>&1; }
bi_layers() { "$BERTH" --root "${2:-$ROOT}" image inspect -f '{{json .RootFS.Layers}}' "$1" 2>&1; }
bi_tags() { "$BERTH" --root "${2:-$ROOT}" image inspect -f '{{json .RepoTags}}' "$1" 2>&1 | tags_sorted; }
# the digest of the first manifest an OCI archive's index.json names
oci_manifest() { tar -xOf "$1" index.json | python3 -c 'import json, sys; print(json.load(sys.stdin)["manifests"][0]["digest"])'; }
sorted() { printf '%s\n' "$@" | sort | paste -sd' '; }
PROBE='cat /hello.txt; ls /data; test -e /bin/vi && echo has-vi || echo no-vi; stat -c "%a %h" /keep/a; readlink /keep/sl'

# ---- images made by podman ----
check "podman import of the fixture" pm import -q -c 'CMD ["sh"]' "$tar" "$bb"
id_bb=$(pm_id "$bb")
check "podman run (layer 2)" pm run --network none --name "$ctr" "$bb" sh -c \
	'mkdir -p /keep /data/sub && echo a >/keep/a && ln /keep/a /keep/hl && ln -s a /keep/sl && chmod 4755 /keep/a && echo b >/data/sub/b && echo l2 >/hello.txt'
check "podman commit (layer 2)" pm commit -q "$ctr" "$l2"
pm rm -f "$ctr" >/dev/null 2>&1
check "podman run (layer 3: deletions)" pm run --network none --name "$ctr" "$l2" sh -c \
	'rm /bin/vi && rm -rf /data && mkdir /data && echo c >/data/c'
check "podman commit (layer 3)" pm commit -q -c 'CMD ["cat","/hello.txt"]' "$ctr" "$ml"
pm rm -f "$ctr" >/dev/null 2>&1
check "podman tag a second name" pm tag "$ml" "$ml2"
id_ml=$(pm_id "$ml")
id_l2=$(pm_id "$l2")
layers_bb=$(pm_layers "$bb")
layers_ml=$(pm_layers "$ml")
tags_ml=$(pm_tags "$ml")
like "podman made a 3-layer image" "$layers_ml" '^\["sha256:[0-9a-f]{64}"(,"sha256:[0-9a-f]{64}"){2}\]$'
is "it has both names" "$tags_ml" "$(sorted "$ml" "$ml2")"
check "podman runs it" pm_run "$ml" sh -c "$PROBE"
probe_ml=$OUT
like "the probe sees the deletions" "$probe_ml" $'^l2\nc\nno-vi\n4755 2\na$'

# ---- podman save (docker-archive) -> berth load ----
check "podman save (3 layers, two names)" pm save -q -o "$T_DIR/p-ml.tar" "$ml" "$ml2"
check "layers are symlinks or top-level files, as podman writes them" sh -c "tar -tvf '$T_DIR/p-ml.tar' | grep -E '^l.* -> \\.\\./[0-9a-f]{64}\\.tar\$|^-.* [0-9a-f]{64}\\.tar\$'"
check "berth loads it" b load -i "$T_DIR/p-ml.tar"
like "load names it" "$OUT" "Loaded image: $ml"
like "load names it (registry name)" "$OUT" "Loaded image: $ml2"
is "same image ID" "$(bi_id "$ml")" "$id_ml"
is "same diff_ids (3 layers)" "$(bi_layers "$ml")" "$layers_ml"
is "same names" "$(bi_tags "$ml")" "$tags_ml"

check "podman save | berth load" sh -c "podman --root '$PEER_PODMAN_DIR/root' --runroot '$PEER_PODMAN_DIR/run' --storage-driver overlay save '$bb' | '$BERTH' --root '$ROOT' load"
is "pipe load names it" "$OUT" "Loaded image: $bb"
is "pipe: same image ID" "$(bi_id "$bb")" "$id_bb"
is "pipe: same diff_ids" "$(bi_layers "$bb")" "$layers_bb"
is "pipe: same names" "$(bi_tags "$bb")" "$(pm_tags "$bb")"

check "podman save -m (two images)" pm save -q -m -o "$T_DIR/p-multi.tar" "$bb" "$l2"
check "berth loads it" "$BERTH" --root "$T_DIR/r-multi" load -i "$T_DIR/p-multi.tar"
is "both loaded" "$(grep -c '^Loaded image: ' <<<"$OUT")" 2
is "same IDs" "$(bi_id "$bb" "$T_DIR/r-multi") $(bi_id "$l2" "$T_DIR/r-multi")" "$id_bb $id_l2"
is "shared base layer stored once" "$(ls "$T_DIR/r-multi/layers" | wc -l)" 2

# ---- podman save --format oci-archive -> berth load ----
check "podman save --format oci-archive" pm save -q --format oci-archive -o "$T_DIR/p-ml.oci" "$ml"
check "its layers are gzip blobs" sh -c "tar -xOf '$T_DIR/p-ml.oci' blobs/sha256/$(oci_manifest "$T_DIR/p-ml.oci" | cut -c8-) | grep -q tar+gzip"
check "berth loads it" "$BERTH" --root "$T_DIR/r-oci" load -i "$T_DIR/p-ml.oci"
is "oci load names it" "$OUT" "Loaded image: $ml"
is "oci: same image ID" "$(bi_id "$ml" "$T_DIR/r-oci")" "$id_ml"
is "oci: same diff_ids" "$(bi_layers "$ml" "$T_DIR/r-oci")" "$layers_ml"
is "oci: same name" "$(bi_tags "$ml" "$T_DIR/r-oci")" "$ml"
check "berth saves it as oci-archive again" "$BERTH" --root "$T_DIR/r-oci" save --format oci-archive -o "$T_DIR/b-ml-gz.oci" "$ml"
is "podman's manifest kept byte for byte" "$(oci_manifest "$T_DIR/b-ml-gz.oci")" "$(oci_manifest "$T_DIR/p-ml.oci")"

check "podman save --format oci-archive --uncompressed" pm save -q --format oci-archive --uncompressed -o "$T_DIR/p-bb.oci" "$bb"
check "berth loads it" "$BERTH" --root "$T_DIR/r-oci" load -i "$T_DIR/p-bb.oci"
is "oci (uncompressed): same image ID" "$(bi_id "$bb" "$T_DIR/r-oci")" "$id_bb"
is "oci (uncompressed): same diff_ids" "$(bi_layers "$bb" "$T_DIR/r-oci")" "$layers_bb"
store_clean "after the podman loads"

# ---- berth save -> podman load ----
check "podman removes its images" pm rmi -f "$bb" "$l2" "$ml" "$ml2"
check "podman no longer has them" pm_gone "${id_ml#sha256:}"
check "berth save (3 layers, two names)" b save -o "$T_DIR/b-ml.tar" "$ml" "$ml2"
# two names: podman's OCI reader refuses it, its docker-archive one takes it
check "podman loads it" pm load -q -i "$T_DIR/b-ml.tar"
like "podman names it" "$OUT" "Loaded image.*$ml"
is "podman: same image ID" "$(pm_id "$ml")" "$id_ml"
is "podman: same diff_ids" "$(pm_layers "$ml")" "$layers_ml"
is "podman: same names" "$(pm_tags "$ml")" "$tags_ml"
check "podman runs it" pm_run "$ml" sh -c "$PROBE"
is "same files, deletions, links and modes as the original" "$OUT" "$probe_ml"
check "podman runs its CMD" pm_run "$ml2"
is "CMD output" "$OUT" l2

check "berth save | podman load" sh -c "'$BERTH' --root '$ROOT' save '$bb' | podman --root '$PEER_PODMAN_DIR/root' --runroot '$PEER_PODMAN_DIR/run' --storage-driver overlay load -q"
is "podman: same image ID" "$(pm_id "$bb")" "$id_bb"
is "podman: same name" "$(pm_tags "$bb")" "$bb"
check "podman run echo hello" pm_run "$bb" echo hello
is "it prints hello" "$OUT" hello

check "podman removes them again" pm rmi -f "$bb" "$ml" "$ml2"
check "berth save --format oci-archive (generated manifest, plain layers)" b save --format oci-archive -o "$T_DIR/b-ml.oci" "$ml2"
check "podman loads it" pm load -q -i "$T_DIR/b-ml.oci"
like "podman names it" "$OUT" "Loaded image.*$ml2"
is "podman (oci): same image ID" "$(pm_id "$ml2")" "$id_ml"
is "podman (oci): same diff_ids" "$(pm_layers "$ml2")" "$layers_ml"
is "podman (oci): same names" "$(pm_tags "$ml2")" "$ml2"
is "podman (oci): manifest digest kept" "$(pm_digest "$ml2")" "$(oci_manifest "$T_DIR/b-ml.oci")"
check "podman runs it (oci)" pm_run "$ml2" sh -c "$PROBE"
is "same files as the original (oci)" "$OUT" "$probe_ml"

# the image berth got from podman's gzip oci-archive, back to podman
check "podman removes it" pm rmi -f "$ml2"
check "berth save of the gzip-layer image (docker-archive)" "$BERTH" --root "$T_DIR/r-oci" save -o "$T_DIR/b-ml-gz.tar" "$ml"
check "podman loads it" pm load -q -i "$T_DIR/b-ml-gz.tar"
is "podman: same image ID" "$(pm_id "$ml")" "$id_ml"
check "podman runs it" pm_run "$ml"
is "CMD output" "$OUT" l2
check "podman removes it" pm rmi -f "$ml"
check "podman pull docker-archive: of it" pm pull -q "docker-archive:$T_DIR/b-ml-gz.tar"
is "podman (docker-archive): same image ID" "$(pm_id "$ml")" "$id_ml"
is "podman (docker-archive): same diff_ids" "$(pm_layers "$ml")" "$layers_ml"
check "podman removes it" pm rmi -f "$ml"
check "podman loads berth's oci-archive with gzip layers" pm load -q -i "$T_DIR/b-ml-gz.oci"
is "podman (gzip oci): same image ID" "$(pm_id "$ml")" "$id_ml"
is "podman (gzip oci): manifest digest kept" "$(pm_digest "$ml")" "$(oci_manifest "$T_DIR/p-ml.oci")"
check "podman runs it (gzip oci)" pm_run "$ml" sh -c "$PROBE"
is "same files as the original (gzip oci)" "$OUT" "$probe_ml"

# a berth import, short name. berth's default archive is a docker-archive
# and an OCI layout at once (as docker >= 25 writes them). podman load
# tries OCI first: a one-name archive comes in through index.json (named
# docker.io/library/NAME:TAG, from io.containerd.image.name), one with
# several names or images through manifest.json (RepoTags "NAME:TAG",
# which podman makes localhost/NAME:TAG). pull docker-archive:FILE picks
# the docker-archive reader.
check "berth import of the fixture" b import -c 'CMD ["sh"]' "$tar" "$imp"
id_imp=$OUT
check "berth save" b save -o "$T_DIR/b-imp.tar" "$imp"
check "podman loads it" pm load -q -i "$T_DIR/b-imp.tar"
is "podman names it docker.io/library/$imp (read as OCI)" "$(pm images --format '{{.Repository}}:{{.Tag}}' --filter "id=${id_imp:7}")" "docker.io/library/$imp"
is "podman: same image ID" "$(pm_id "$imp")" "$id_imp"
is "podman: same diff_ids" "$(pm_layers "$imp")" "$(bi_layers "$imp")"
check "podman run echo hello" pm_run "$imp" echo hello
is "it prints hello" "$OUT" hello
check "podman removes it" pm rmi -f "${id_imp:7}"
check "podman pull docker-archive: reads manifest.json" pm pull -q "docker-archive:$T_DIR/b-imp.tar"
is "podman names it localhost/$imp (read as docker-archive)" "$(pm images --format '{{.Repository}}:{{.Tag}}' --filter "id=${id_imp:7}")" "localhost/$imp"
is "podman (docker-archive): same image ID" "$(pm_id "$imp")" "$id_imp"
check "podman run echo hello (docker-archive)" pm_run "$imp" echo hello
is "it prints hello (docker-archive)" "$OUT" hello
check "podman removes it" pm rmi -f "${id_imp:7}"
check "berth save --format oci-archive" b save --format oci-archive -o "$T_DIR/b-imp.oci" "$imp"
check "podman loads it" pm load -q -i "$T_DIR/b-imp.oci"
is "podman names it docker.io/library/$imp" "$(pm images --format '{{.Repository}}:{{.Tag}}' --filter "id=${id_imp:7}")" "docker.io/library/$imp"
is "podman (oci): same image ID" "$(pm_id "$imp")" "$id_imp"
check "podman run echo hello (oci)" pm_run "$imp" echo hello
is "it prints hello (oci)" "$OUT" hello
check "podman runs its CMD (sh reads stdin)" pm run --rm --network none -i "$imp" <<<'echo from-cmd'
is "CMD output" "$OUT" from-cmd

# several images in one docker-archive, both ways
check "podman removes them" pm rmi -af
is "podman has no images" "$(pm images -q)" ""
check "berth save of three images" b save -o "$T_DIR/b-multi.tar" "$bb" "$ml" "$imp"
# (through manifest.json: podman's OCI reader takes one image only)
check "podman loads the multi-image archive" pm load -q -i "$T_DIR/b-multi.tar"
imp_pm=localhost/$imp
is "podman has all three, by name" "$(pm_names)" "$(sorted "$bb" "$ml" "$imp_pm")"
is "podman: same IDs" "$(pm_id "$bb") $(pm_id "$ml") $(pm_id "$imp")" "$id_bb $id_ml $id_imp"
check "podman saves the three (-m)" pm save -q -m -o "$T_DIR/p-multi3.tar" "$bb" "$ml" "$imp"
check "berth loads podman's multi-image archive" "$BERTH" --root "$T_DIR/r-multi3" load -i "$T_DIR/p-multi3.tar"
is "three images loaded" "$(grep -c '^Loaded image: ' <<<"$OUT")" 3
is "same IDs after the round trip" \
	"$(bi_id "$bb" "$T_DIR/r-multi3") $(bi_id "$ml" "$T_DIR/r-multi3") $(bi_id "$imp_pm" "$T_DIR/r-multi3")" \
	"$id_bb $id_ml $id_imp"
is "shared base layer stored once" "$(ls "$T_DIR/r-multi3/layers" | wc -l)" 3

# An OCI archive with more than one manifest (two images, or one image
# with two names) is valid OCI; podman's oci-archive transport only
# takes one, unless told which.
check "berth save --format oci-archive of two images" b save --format oci-archive -o "$T_DIR/b-two.oci" "$bb" "$ml"
pver=$(podman version -f '{{.Client.Version}}' 2>/dev/null)
if out=$(pm load -q -i "$T_DIR/b-two.oci" 2>&1); then
	ok "podman $pver loads a two-image OCI archive"
else
	skip "podman $pver cannot load an OCI archive holding two images ($(grep -o 'more than one image[^*]*' <<<"$out" | head -1))"
fi

check "no container left" test -z "$(pm ps -aq)"
store_clean "at the end"
t_done
