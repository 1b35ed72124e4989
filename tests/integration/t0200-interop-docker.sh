#!/usr/bin/env bash
# Interop with docker: images docker made (docker import, and a 3-layer
# image made with docker run + docker commit, with whiteouts, an opaque
# directory, a hard link, a symlink and a setuid file) load into berth
# with the same ID, diff_ids and tags, from a file, a pipe and a gzip
# stream; berth's archives (of those images, of a berth import, several
# images in one archive, an untagged image) load into docker with the
# same IDs and run there. A truncated docker save fails to load with a
# clear message and leaves the store alone.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-peers.sh"
need_fixtures
peer_docker
tar=$(busybox_tar)

bb=$(peer_ref docker bb)        # docker import of the fixture
l2=$(peer_ref docker l2)        # + a layer (docker commit)
ml=$(peer_ref docker ml)        # + a layer with deletions: 3 layers
ml2=example.com/$(peer_ref docker ml | cut -d: -f1):two   # ml's second name
imp=$(peer_ref docker imp)      # berth import of the fixture
ctr=berth-it-$T_NAME-$$-ctr
docker_track "$bb" "$l2" "$ml" "$ml2" "$imp"
DK_IDS=()                       # every image ID this test made in docker

dk_cleanup() {
	docker rm -f "$ctr" >/dev/null 2>&1 || true
	peer_cleanup
	[ "${#DK_IDS[@]}" -eq 0 ] || docker rmi -f "${DK_IDS[@]}" >/dev/null 2>&1 || true
}
trap 'dk_cleanup; t_cleanup' EXIT

dk_id() { docker image inspect -f '{{.Id}}' "$1" 2>&1; }
dk_layers() { docker image inspect -f '{{json .RootFS.Layers}}' "$1" 2>&1; }
# tags as a sorted, space separated list
tags_sorted() { tr -d '[]"' | tr ',' '\n' | sed '/^$/d' | sort | paste -sd' '; }
dk_tags() { docker image inspect -f '{{json .RepoTags}}' "$1" 2>&1 | tags_sorted; }
bi_id() { "$BERTH" --root "${2:-$ROOT}" image inspect -f '{{.Id}}' "$1" 2>&1; }
bi_layers() { "$BERTH" --root "${2:-$ROOT}" image inspect -f '{{json .RootFS.Layers}}' "$1" 2>&1; }
bi_tags() { "$BERTH" --root "${2:-$ROOT}" image inspect -f '{{json .RepoTags}}' "$1" 2>&1 | tags_sorted; }
dk_gone() { ! docker image inspect "$@" >/dev/null 2>&1; }
# the offset of the middle of entry NAME's data in tar FILE
mid_of() { python3 -c 'import sys, tarfile
m = tarfile.open(sys.argv[1]).getmember(sys.argv[2]); print(m.offset_data + m.size // 2)' "$1" "$2"; }
# what the 3-layer image looks like from inside
PROBE='cat /hello.txt; ls /data; test -e /bin/vi && echo has-vi || echo no-vi; stat -c "%a %h" /keep/a; readlink /keep/sl; cat /keep/hl'

# ---- images made by docker ----
check "docker import of the fixture" docker import -c 'CMD ["sh"]' "$tar" "$bb"
id_bb=$(dk_id "$bb")
check "docker run (layer 2)" docker run --network none --name "$ctr" "$bb" sh -c \
	'mkdir -p /keep /data/sub && echo a >/keep/a && ln /keep/a /keep/hl && ln -s a /keep/sl && chmod 4755 /keep/a && echo b >/data/sub/b && echo l2 >/hello.txt'
check "docker commit (layer 2)" docker commit "$ctr" "$l2"
docker rm -f "$ctr" >/dev/null 2>&1
id_l2=$(dk_id "$l2")
check "docker run (layer 3: deletions)" docker run --network none --name "$ctr" "$l2" sh -c \
	'rm /bin/vi && rm -rf /data && mkdir /data && echo c >/data/c'
check "docker commit (layer 3)" docker commit -c 'CMD ["cat","/hello.txt"]' "$ctr" "$ml"
docker rm -f "$ctr" >/dev/null 2>&1
check "docker tag a second name" docker tag "$ml" "$ml2"
id_ml=$(dk_id "$ml")
DK_IDS+=("$id_bb" "$id_l2" "$id_ml")
layers_bb=$(dk_layers "$bb")
layers_ml=$(dk_layers "$ml")
tags_ml=$(dk_tags "$ml")
like "docker made a 3-layer image" "$layers_ml" '^\["sha256:[0-9a-f]{64}"(,"sha256:[0-9a-f]{64}"){2}\]$'
is "it has both names" "$tags_ml" "$(printf '%s\n' "$ml" "$ml2" | sort | paste -sd' ')"
check "docker runs it" docker run --rm --network none --pull never "$ml" sh -c "$PROBE"
probe_ml=$OUT
like "the probe sees the deletions" "$probe_ml" $'^l2\nc\nno-vi\n4755 2\na\na$'

# ---- docker save -> berth load ----
check "docker save (imported image)" docker save -o "$T_DIR/d-bb.tar" "$bb"
check "berth loads it" b load -i "$T_DIR/d-bb.tar"
is "load names it" "$OUT" "Loaded image: $bb"
is "same image ID" "$(bi_id "$bb")" "$id_bb"
is "same diff_ids" "$(bi_layers "$bb")" "$layers_bb"
is "same RepoTags" "$(bi_tags "$bb")" "$(dk_tags "$bb")"

check "docker save (3 layers, two names)" docker save -o "$T_DIR/d-ml.tar" "$ml" "$ml2"
check "berth loads it" b load -i "$T_DIR/d-ml.tar"
like "load names both" "$OUT" "Loaded image: $ml"
like "load names both (registry name)" "$OUT" "Loaded image: $ml2"
is "same image ID" "$(bi_id "$ml")" "$id_ml"
is "same ID by the registry name" "$(bi_id "$ml2")" "$id_ml"
is "same diff_ids (3 layers)" "$(bi_layers "$ml")" "$layers_ml"
is "same RepoTags" "$(bi_tags "$ml")" "$tags_ml"
is "three layers in the store" "$(ls "$ROOT/layers" | wc -l)" 3

check "docker save | berth load" sh -c "docker save '$bb' '$ml' | '$BERTH' --root '$T_DIR/r-pipe' load"
like "pipe load names the images" "$OUT" "Loaded image: $bb"
is "pipe: same ID (bb)" "$(bi_id "$bb" "$T_DIR/r-pipe")" "$id_bb"
is "pipe: same ID (ml)" "$(bi_id "$ml" "$T_DIR/r-pipe")" "$id_ml"
is "pipe: same diff_ids" "$(bi_layers "$ml" "$T_DIR/r-pipe")" "$layers_ml"

check "docker save | gzip" sh -c "docker save '$ml' | gzip >'$T_DIR/d-ml.tar.gz'"
check "berth loads the gzip archive" "$BERTH" --root "$T_DIR/r-gz" load -i "$T_DIR/d-ml.tar.gz"
is "gzip: same ID" "$(bi_id "$ml" "$T_DIR/r-gz")" "$id_ml"
is "gzip: same diff_ids" "$(bi_layers "$ml" "$T_DIR/r-gz")" "$layers_ml"
check "docker save | gzip | berth load" sh -c "docker save '$bb' | gzip | '$BERTH' --root '$T_DIR/r-gz' load"
is "gzip pipe: same ID" "$(bi_id "$bb" "$T_DIR/r-gz")" "$id_bb"

check "docker save by ID (no tags)" docker save -o "$T_DIR/d-l2.tar" "$id_l2"
check "berth loads it" b load -i "$T_DIR/d-l2.tar"
is "untagged load prints the ID" "$OUT" "Loaded image ID: $id_l2"
is "same diff_ids" "$(bi_layers "$id_l2")" "$(dk_layers "$id_l2")"
store_clean "after the docker loads"

# ---- a truncated docker save ----
before=$(store_state)
images0=$(b images -q --no-trunc | sort | paste -sd' ')
H='[0-9a-f]{64}'
first_layer=$(tar -xOf "$T_DIR/d-ml.tar" manifest.json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Layers"][0])')
cut=$(mid_of "$T_DIR/d-ml.tar" "$first_layer")
head -c "$cut" "$T_DIR/d-ml.tar" >"$T_DIR/trunc-layer.tar"
fails "docker save cut in a layer fails" "trunc-layer\\.tar: layer $H/layer\\.tar: Truncated tar archive" \
	b load -i "$T_DIR/trunc-layer.tar"
is "store unchanged" "$(store_state)" "$before"
store_clean "cut in a layer"
fails "the same through a pipe fails" "stdin: layer $H/layer\\.tar: Truncated tar archive" \
	sh -c "'$BERTH' --root '$ROOT' load <'$T_DIR/trunc-layer.tar'"
is "store unchanged" "$(store_state)" "$before"
store_clean "cut in a layer, pipe"
cut=$(mid_of "$T_DIR/d-ml.tar" manifest.json)
head -c "$cut" "$T_DIR/d-ml.tar" >"$T_DIR/trunc-manifest.tar"
fails "docker save cut in manifest.json fails" 'reading manifest\.json: Truncated tar archive' \
	b load -i "$T_DIR/trunc-manifest.tar"
is "store unchanged" "$(store_state)" "$before"
head -c $(($(stat -c %s "$T_DIR/d-ml.tar.gz") / 2)) "$T_DIR/d-ml.tar.gz" >"$T_DIR/trunc.tar.gz"
fails "gzip'd docker save cut in half fails" "layer $H/layer\\.tar: truncated gzip input" \
	b load -i "$T_DIR/trunc.tar.gz"
is "store unchanged" "$(store_state)" "$before"
is "images unchanged" "$(b images -q --no-trunc | sort | paste -sd' ')" "$images0"
store_clean "after the truncated loads"

# ---- berth save -> docker load ----
docker rmi -f "$bb" "$l2" "$ml" "$ml2" >/dev/null 2>&1
check "docker no longer has them" dk_gone "$id_bb" "$id_l2" "$id_ml"
check "berth save (3 layers, two names)" b save -o "$T_DIR/b-ml.tar" "$ml" "$ml2"
check "docker loads it" docker load -i "$T_DIR/b-ml.tar"
like "docker names it" "$OUT" "Loaded image: $ml"
like "docker names it (registry name)" "$OUT" "Loaded image: $ml2"
is "docker: same image ID" "$(dk_id "$ml")" "$id_ml"
is "docker: same diff_ids" "$(dk_layers "$ml")" "$layers_ml"
is "docker: same RepoTags" "$(dk_tags "$ml")" "$tags_ml"
check "docker runs it" docker run --rm --network none --pull never "$ml" sh -c "$PROBE"
is "same files, deletions, links and modes as the original" "$OUT" "$probe_ml"
check "docker runs its CMD" dk_run --pull never "$ml2"
is "CMD output" "$OUT" "l2"

check "berth save | docker load" sh -c "'$BERTH' --root '$ROOT' save '$bb' | docker load"
is "docker names it" "$OUT" "Loaded image: $bb"
is "docker: same image ID" "$(dk_id "$bb")" "$id_bb"
check "docker run echo hello" dk_run --pull never "$bb" echo hello
is "it prints hello" "$OUT" hello

check "berth save by ID | docker load" sh -c "'$BERTH' --root '$ROOT' save '${id_l2:7:12}' | docker load"
is "docker loads it untagged" "$OUT" "Loaded image ID: $id_l2"
is "docker: same diff_ids" "$(dk_layers "$id_l2")" "$(bi_layers "$id_l2")"

# a berth import
check "berth import of the fixture" b import -c 'CMD ["sh"]' "$tar" "$imp"
id_imp=$OUT
DK_IDS+=("$id_imp")
check "berth save" b save -o "$T_DIR/b-imp.tar" "$imp"
check "docker loads it" docker load -i "$T_DIR/b-imp.tar"
is "docker names it" "$OUT" "Loaded image: $imp"
is "docker: same image ID" "$(dk_id "$imp")" "$id_imp"
is "docker: same diff_ids" "$(dk_layers "$imp")" "$(bi_layers "$imp")"
is "docker: same RepoTags" "$(dk_tags "$imp")" "$(bi_tags "$imp")"
check "docker run echo hello" dk_run --pull never "$imp" echo hello
is "it prints hello" "$OUT" hello
check "docker runs its CMD (sh -c via Cmd)" docker run --rm --network none --pull never -i "$imp" <<<'echo from-cmd'
is "CMD sh reads stdin" "$OUT" from-cmd

# several images in one archive, both ways
docker rmi -f "$bb" "$ml" "$ml2" "$imp" "$id_l2" >/dev/null 2>&1
check "docker no longer has them" dk_gone "$id_bb" "$id_ml" "$id_imp" "$id_l2"
check "berth save of three images" b save -o "$T_DIR/b-multi.tar" "$bb" "$ml" "$imp"
check "docker loads the multi-image archive" docker load -i "$T_DIR/b-multi.tar"
is "docker names all three" "$(grep -c '^Loaded image: ' <<<"$OUT")" 3
is "docker: same IDs" "$(dk_id "$bb") $(dk_id "$ml") $(dk_id "$imp")" "$id_bb $id_ml $id_imp"
is "docker: same diff_ids" "$(dk_layers "$ml")" "$layers_ml"
check "docker runs one of them" dk_run --pull never "$ml"
is "CMD output" "$OUT" "l2"
check "docker saves the three again" docker save -o "$T_DIR/d-multi.tar" "$bb" "$ml" "$imp"
check "docker's archive shares a layer through a layer.tar symlink" sh -c "tar -tvf '$T_DIR/d-multi.tar' | grep -E '^l.*/layer\.tar -> \.\./[0-9a-f]{64}/layer\.tar\$'"
check "berth loads docker's multi-image archive" "$BERTH" --root "$T_DIR/r-multi" load -i "$T_DIR/d-multi.tar"
is "three images loaded" "$(grep -c '^Loaded image: ' <<<"$OUT")" 3
is "same IDs after the round trip" \
	"$(bi_id "$bb" "$T_DIR/r-multi") $(bi_id "$ml" "$T_DIR/r-multi") $(bi_id "$imp" "$T_DIR/r-multi")" \
	"$id_bb $id_ml $id_imp"
is "shared base layer stored once" "$(ls "$T_DIR/r-multi/layers" | wc -l)" 3
check "berth saves them again" "$BERTH" --root "$T_DIR/r-multi" save -o "$T_DIR/b-multi2.tar" "$bb" "$ml" "$imp"
is "same manifest.json as the first berth save" \
	"$(tar -xOf "$T_DIR/b-multi2.tar" manifest.json | sha256sum)" "$(tar -xOf "$T_DIR/b-multi.tar" manifest.json | sha256sum)"

# OCI archives: docker loads them from 25.0 on (containerd image store
# or not); older daemons only read docker-archive.
docker rmi -f "$imp" >/dev/null 2>&1
check "berth save --format oci-archive" b save --format oci-archive -o "$T_DIR/b-imp.oci" "$imp"
dver=$(docker version -f '{{.Server.Version}}' 2>/dev/null)
if out=$(docker load -i "$T_DIR/b-imp.oci" 2>&1); then
	ok "docker $dver loads berth's OCI archive"
	is "docker: same image ID (oci)" "$(dk_id "$imp")" "$id_imp"
	check "docker run echo hello (oci)" dk_run --pull never "$imp" echo hello
	is "it prints hello (oci)" "$OUT" hello
else
	skip "docker $dver cannot load OCI archives ($(tr '\n' ' ' <<<"$out" | cut -c1-160))"
fi

# ---- nothing left behind in docker ----
dk_cleanup
check "docker has none of this test's images left" dk_gone "${DK_IDS[@]}"
is "no container left" "$(docker ps -aq --filter "name=^$ctr\$")" ""
is "no tag left" "$(docker images --format '{{.Repository}}' | grep -c "berth-it-$T_NAME-$$-")" 0
t_done
