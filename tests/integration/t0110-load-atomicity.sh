#!/usr/bin/env bash
# Load atomicity: a broken image archive (truncated, corrupt digests, bad
# or lying manifests and configs, missing pieces, a hostile layer) fails
# with a clear message and leaves the store exactly as it was; concurrent
# loads of the same image share one copy; a full disk fails cleanly at
# every point of a load, commit included.
# Fixtures come from tests/fixtures/mkevil.py.
. "$(dirname "$0")/../lib.sh"
need_fixtures
# the system python when there is one: shims (pyenv) cost a lot per call
PY=$(command -v /usr/bin/python3 || command -v python3) || skip_all "python3 is not installed"
MKEVIL=$TESTS_DIR/fixtures/mkevil.py
CANARY=$T_DIR/canary
A=$T_DIR/archives
mkdir -p "$CANARY"
echo victim >"$CANARY/victim"
"$PY" "$MKEVIL" archives "$A" "$(busybox_tar)" "$CANARY" >"$T_DIR/cases" || { notok "mkevil.py archives"; t_done; }

# Every blob is still named by its content.
blobs_intact() {
	local f bad=""
	for f in "$ROOT"/blobs/sha256/*; do
		[ -e "$f" ] || continue
		[ "$(sha256sum <"$f" | cut -c1-64)" = "${f##*/}" ] || bad+=" ${f##*/}"
	done
	echo "$bad"
}
imgs() { b images -q --no-trunc | sort | tr '\n' ' '; }

# A store with something in it (not the busybox layer the archives carry).
mkdir -p "$T_DIR/small/d"
head -c 5000 /dev/urandom >"$T_DIR/small/d/a"
head -c 9000 /dev/urandom >"$T_DIR/small/d/b"
ln -s d/a "$T_DIR/small/s"
tar -C "$T_DIR/small" -cf "$T_DIR/small.tar" .
check "import a base image" b import "$T_DIR/small.tar" base:1
images0=$(imgs)

H='[0-9a-f]{64}'
declare -A want=(
	[truncated-gzip]="layer $H/layer\\.tar: truncated gzip input"
	[truncated-layer-gzip]="layer $H/layer\\.tar: .*truncated gzip input"
	[truncated-tar]="layer $H/layer\\.tar: [Tt]runcated tar archive"
	[oci-blob-mismatch]="layer blobs/sha256/$H: digest mismatch: expected sha256:$H, got sha256:$H"
	[oci-config-mismatch]="blob sha256:$H: digest mismatch \\(content is sha256:$H\\)"
	[manifest-not-json]='manifest\.json: invalid JSON'
	[manifest-not-array]='manifest\.json: expected a non-empty array'
	[diffid-mismatch]="layer 1: content has diff_id sha256:$H but the image config says sha256:$H"
	[diffid-count]='image config lists 2 layers but 1 were given'
	[diffid-order]="layer 1: content has diff_id sha256:$H but the image config says sha256:$H"
	[missing-layer]="layer $H/layer\\.tar listed in manifest\\.json is not in the archive"
	[missing-config]="config $H\\.json is not in the archive"
	[no-manifest]='no manifest\.json \(docker-archive\) or index\.json \(OCI layout\) found'
	[not-a-tar]='not a valid image archive'
	[empty]='not a valid image archive'
	[second-layer-hostile]='entry "\.\./pwned-x" has a "\.\." component'
	[second-image-bad]="image $H\\.json: layer 1: content has diff_id"
	[outer-symlink-config]='config cfg\.json is not in the archive'
	[outer-layer-dotdot]='layer (\.\./)+etc/passwd listed in manifest\.json is not in the archive'
)

while read -r c <&3; do
	if [ -z "${want[$c]:-}" ]; then
		notok "$c: no expected message in this test"
		continue
	fi
	before=$(store_state)
	fails "load $c fails" "${want[$c]}" b load -i "$A/$c.tar"
	is "load $c: store unchanged" "$(store_state)" "$before"
	is "load $c: images unchanged" "$(imgs)" "$images0"
	store_clean "load $c"
done 3<"$T_DIR/cases"
is "every expected case was generated" "$(sort "$T_DIR/cases" | tr '\n' ' ')" "$(printf '%s\n' "${!want[@]}" | sort | tr '\n' ' ')"

# the same through a pipe
for c in truncated-gzip oci-blob-mismatch diffid-mismatch second-image-bad; do
	before=$(store_state)
	fails "load $c from stdin fails" "${want[$c]}" sh -c "'$BERTH' --root '$ROOT' --runroot '$RUNROOT' load <'$A/$c.tar'"
	is "load $c from stdin: store unchanged" "$(store_state)" "$before"
	store_clean "load $c from stdin"
done
is "blobs intact after the bad loads" "$(blobs_intact)" ""
is "base image still there" "$(b image inspect -f '{{.Id}}' base:1 2>&1 | grep -Ec "^sha256:$H$")" 1

# Names inside an archive are never used as host paths.
check "load with junk entries named to escape" b load -i "$A/outer-escape.tar"
like "it loaded" "$OUT" 'Loaded image: evil/outer:latest'
is "nothing written outside" "$(find "$T_DIR" / /tmp -xdev -maxdepth 1 -name 'pwned-*'; find "$T_DIR" -name 'pwned-*')" ""
is "canary untouched" "$(ls -A "$CANARY") $(cat "$CANARY/victim")" "victim victim"

# The good archives load, and to the same image.
check "load the good docker-archive" b load -i "$A/good.tar"
id=$(b image inspect -f '{{.Id}}' evil/test:latest)
check "load the good OCI layout" b load -i "$A/good-oci.tar"
is "same image from both" "$(b image inspect -f '{{.Id}}' evil/test:latest)" "$id"
# A layer the store already has is not taken again from an archive, so a
# corrupt copy of it cannot replace the stored one.
check "corrupt copy of a layer the store has" b load -i "$A/oci-blob-mismatch.tar"
is "blobs intact" "$(blobs_intact)" ""
store_clean "after the good loads"

# ---- concurrent loads ----
main_root=$ROOT
for round in 1 2 3; do
	ROOT=$T_DIR/conc$round
	b load -q -i "$A/good.tar" >"$T_DIR/c1" 2>&1 &
	p1=$!
	b load -q -i "$A/good.tar" >"$T_DIR/c2" 2>&1 &
	p2=$!
	b load -q -i "$A/good-oci.tar" >"$T_DIR/c3" 2>&1 &
	p3=$!
	rcs=""
	for p in $p1 $p2 $p3; do wait "$p"; rcs+="$? "; done
	is "round $round: three concurrent loads succeed" "$rcs" "0 0 0 "
	[ "$rcs" = "0 0 0 " ] || cat "$T_DIR"/c[123] | sed 's/^/#   /'
	is "round $round: one layer directory" "$(ls "$ROOT/layers" | wc -l)" 1
	is "round $round: one image" "$(b images -q --no-trunc)" "$id"
	is "round $round: layer complete" "$(stat -c %s "$ROOT"/layers/*/diff/bin/busybox)" "$(tar -xOf "$(busybox_tar)" ./bin/busybox | wc -c)"
	is "round $round: blobs intact" "$(blobs_intact)" ""
	store_clean "round $round"
done

# A failing load next to a good one of the same layer: only the good one lands.
ROOT=$T_DIR/conc-bad
b load -q -i "$A/diffid-mismatch.tar" >"$T_DIR/c1" 2>&1 &
p1=$!
b load -q -i "$A/good.tar" >"$T_DIR/c2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "bad and good load side by side: bad fails, good succeeds" "$r1 $r2" "1 0"
is "one image" "$(b images -q --no-trunc)" "$id"
is "one layer directory" "$(ls "$ROOT/layers" | wc -l)" 1
store_clean "bad and good side by side"

# A load next to image prune: the gc lock keeps the load's work.
ROOT=$T_DIR/conc-prune
b load -q -i "$A/good.tar" >"$T_DIR/c1" 2>&1 &
p1=$!
b image prune -f >"$T_DIR/c2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "load and prune side by side both succeed" "$r1 $r2" "0 0"
is "the image survives" "$(b images -q --no-trunc)" "$id"
is "its layer is there" "$(ls "$ROOT/layers" | wc -l)" 1
is "blobs intact" "$(blobs_intact)" ""
store_clean "load beside prune"
ROOT=$main_root

# ---- a full disk ----
TINY=$T_DIR/tiny
mkdir -p "$TINY"
if ! mount -t tmpfs -o size=512k tmpfs "$TINY" 2>"$T_DIR/mount.err"; then
	skip "full disk: cannot mount a tmpfs ($(cat "$T_DIR/mount.err"))"
	t_done
fi
ROOT=$TINY/root
check "tiny store: base image" b import "$T_DIR/small.tar" base:1
before=$(store_state)
images0=$(imgs)
fails "load into a full store fails" 'layer.tar: .*No space left on device' b load -i "$A/good.tar"
is "store unchanged" "$(store_state)" "$before"
is "images unchanged" "$(imgs)" "$images0"
store_clean "full store load"
fails "gzip load into a full store fails" 'No space left on device' b load -i "$A/truncated-gzip.tar"
fails "import into a full store fails" 'No space left on device' b import "$(busybox_tar)" big:1
is "store unchanged after import" "$(store_state)" "$before"
store_clean "full store import"

# Walk the free space up one page at a time, so the disk fills at every
# step of a load of a small image: staging the blob, extracting, meta.json,
# config and manifest blobs, the index. Each failure must leave the store
# as it was; then the load fits.
rm -rf "$T_DIR/small2"
mkdir -p "$T_DIR/small2/d"
head -c 5000 /dev/urandom >"$T_DIR/small2/d/a"
head -c 9000 /dev/urandom >"$T_DIR/small2/d/b"
tar -C "$T_DIR/small2" -cf "$T_DIR/small2.tar" .
"$PY" "$MKEVIL" wrap "$T_DIR/sweep.tar" --tag sweep:1 "$T_DIR/small2.tar"
page=$(getconf PAGESIZE)
bad="" msgs="" fits=""
for n in $(seq 0 64); do
	avail=$(df -B1 --output=avail "$TINY" | tail -1)
	fill=$((avail - n * page))
	[ "$fill" -gt 0 ] && head -c "$fill" /dev/zero >"$TINY/filler" 2>/dev/null
	out=$(b load -q -i "$T_DIR/sweep.tar" 2>&1)
	rc=$?
	rm -f "$TINY/filler"
	if [ $rc -eq 0 ]; then
		fits=$n
		break
	fi
	msgs+="$out"$'\n'
	grep -q 'No space left on device' <<<"$out" || bad+=" [$n pages: $out]"
	[ "$(store_state)" = "$before" ] || bad+=" [$n pages: store changed]"
	[ -z "$(ls -A "$ROOT/tmp")" ] || bad+=" [$n pages: tmp/ not empty]"
done
is "every out-of-space failure left the store as it was" "$bad" ""
like "the load fits at last (after $n failures)" "$fits" '^[0-9]+$'
like "the disk filled while staging the layer" "$msgs" 'layer\.tar: (writing|creating)'
like "the disk filled while storing blobs" "$msgs" 'writing blob sha256:'
like "the disk filled while writing the index" "$msgs" 'index\.json'
is "then the image is there" "$(b images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')" "base:1 sweep:1 "
is "blobs intact" "$(blobs_intact)" ""
store_clean "after the sweep"
umount "$TINY"
ROOT=$main_root
t_done
