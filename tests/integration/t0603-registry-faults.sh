#!/usr/bin/env bash
# Registry faults: registry down, unknown repository or tag, a connection
# cut mid-blob, a blob whose bytes do not match its digest, a manifest that
# is not JSON, a layer with path traversal. Each fails naming the image and
# the reason, leaves no image and nothing in tmp/, and a rerun resumes from
# the layers that were complete.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-registry.sh"
need_fixtures
need_registry
reg_start plain
R=$REG

# layer_digest REPO TAG N: digest of layer N (0-based) of a manifest
layer_digest() {
	curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/$1/manifests/$2" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][int(sys.argv[1])]["digest"])' "$3"
}
no_image() { # DESC REF
	if b images -q "$2" 2>/dev/null | grep -q .; then notok "$1: no image"; else ok "$1: no image"; fi
	store_clean "$1"
}
start_proxy() { # MODE [ARG] -> PROXY port
	PROXY=$(free_port)
	python3 "$REG_PROXY" "$PROXY" "$REG_PORT" "$@" >/dev/null 2>&1 &
	reg_track $!
	wait_port "$PROXY" || notok "proxy did not start"
}

dead=$(free_port)
fails "registry down" "pulling 127.0.0.1:$dead/bb:v1: cannot reach registry 127.0.0.1:$dead" b pull "127.0.0.1:$dead/bb:v1"
no_image "registry down" "127.0.0.1:$dead/bb:v1"

mkdir -p "$T_DIR/small/s" "$T_DIR/big/b"
echo small >"$T_DIR/small/s/f"
head -c 2000000 /dev/urandom >"$T_DIR/big/b/r"
tar -C "$T_DIR/small" -cf "$T_DIR/small.tar" .
tar -C "$T_DIR/big" -cf "$T_DIR/big.tar" .
python3 "$REG_TOOL" image "$R" app v1 "$T_DIR/small.tar" "$T_DIR/big.tar" >/dev/null
fails "unknown tag" "manifest for $R/app:nope not found" b pull "$R/app:nope"
fails "unknown repository" "$R/nosuch/repo:v1 not found" b pull "$R/nosuch/repo:v1"
no_image "unknown tag" "$R/app:nope"

# connection cut in the middle of the big layer
big=$(layer_digest app v1 1)
start_proxy cut "$big"
fails "connection cut mid-blob" "127.0.0.1:$PROXY/app:v1: blob $big: connection failed after [0-9]+ of [0-9]+ bytes" \
	b pull "127.0.0.1:$PROXY/app:v1"
no_image "connection cut" "127.0.0.1:$PROXY/app:v1"
# cut once: the download resumes where it stopped (Range) and verifies
start_proxy cutonce "$big"
check "one cut mid-blob is resumed" "$BERTH" --root "$T_DIR/root-resume" --runroot "$RUNROOT" pull "127.0.0.1:$PROXY/app:v1"
is "resumed image is complete" "$("$BERTH" --root "$T_DIR/root-resume" images -q --no-trunc "127.0.0.1:$PROXY/app:v1")" \
	"$(python3 -c 'import json,sys,urllib.request as u; r=u.Request(sys.argv[1], headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}); print(json.load(u.urlopen(r))["config"]["digest"])' "http://$R/v2/app/manifests/v1")"
check "rerun from the registry itself" b pull "$R/app:v1"
like "rerun resumes: the small layer is not fetched again" "$OUT" ': Already exists'
like "rerun fetches the big layer" "$OUT" "${big:7:12}: Pull complete"

# a blob whose bytes do not match its digest (corrupted in the registry's storage)
mkdir -p "$T_DIR/c/c"
head -c 100000 /dev/urandom >"$T_DIR/c/c/x"
tar -C "$T_DIR/c" -cf "$T_DIR/c.tar" .
python3 "$REG_TOOL" image "$R" corrupt v1 "$T_DIR/c.tar:plain" >/dev/null
cd_=$(layer_digest corrupt v1 0)
f=$(reg_blob_path "$cd_")
# same size, still a valid tar: only the digest can tell
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(50000); b=f.read(16); f.seek(50000); f.write(bytes(x ^ 0xff for x in b))' "$f"
fails "corrupt blob" "$R/corrupt:v1: .*digest mismatch: expected $cd_" b pull "$R/corrupt:v1"
no_image "corrupt blob" "$R/corrupt:v1"

# redirects (blob storage elsewhere) are followed
start_proxy redirect "$T_DIR/redirects.log"
check "pull through redirects" "$BERTH" --root "$T_DIR/root-redirect" --runroot "$RUNROOT" pull "127.0.0.1:$PROXY/app:v1"
like "blobs were redirected" "$(cat "$T_DIR/redirects.log" 2>/dev/null)" "redirected /v2/app/blobs/$big"

# a manifest that is not JSON
start_proxy badmanifest
fails "manifest not JSON" "127.0.0.1:$PROXY/app:v1: the registry's manifest is not valid JSON" b pull "127.0.0.1:$PROXY/app:v1"

# a layer that writes outside its root
python3 - "$T_DIR/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("ok/file"); d = b"fine\n"; i.size = len(d); t.addfile(i, io.BytesIO(d))
    i = tarfile.TarInfo("../../../../../tmp/berth-evil-escape"); d = b"evil\n"; i.size = len(d); t.addfile(i, io.BytesIO(d))
PY
python3 "$REG_TOOL" image "$R" evil v1 "$T_DIR/evil.tar" >/dev/null
fails "path traversal layer" "$R/evil:v1: layer sha256:[0-9a-f]+: .*\"\.\.\" component" b pull "$R/evil:v1"
no_image "path traversal" "$R/evil:v1"
[ -e /tmp/berth-evil-escape ] && notok "nothing written outside" || ok "nothing written outside"
t_done
