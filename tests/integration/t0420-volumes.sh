#!/usr/bin/env bash
# berth volume create/ls/inspect/rm/prune; named, anonymous and image
# VOLUME volumes in run/create; copy-up of the image's content on first
# use; read-only volumes; in-use refusal; rm -v and run --rm.
. "$(dirname "$0")/../lib.sh"
need_fixtures
tar=$(busybox_tar)

t0420_cleanup() {
	local c
	for c in $(b ps -a -q --no-trunc 2>/dev/null); do b rm -f "$c" >/dev/null 2>&1; done
	t_cleanup
}
trap t0420_cleanup EXIT

# an image with content at /data (owner, mode, a symlink out) and VOLUME /data
mkdir -p "$T_DIR/rfs" && tar -xf "$tar" -C "$T_DIR/rfs"
mkdir -p "$T_DIR/rfs/data/sub"
echo from-image >"$T_DIR/rfs/data/hello"
echo deep >"$T_DIR/rfs/data/sub/deep"
chown 1234:5678 "$T_DIR/rfs/data/hello" && chmod 0640 "$T_DIR/rfs/data/hello"
chmod 0750 "$T_DIR/rfs/data/sub"
ln -s /etc/passwd "$T_DIR/rfs/data/link"
tar -C "$T_DIR/rfs" -cf "$T_DIR/img.tar" .
check "import the image with VOLUME /data" b import -c 'VOLUME /data' "$T_DIR/img.tar" vimg
check "import busybox" b import "$tar" bb

# ---- volume commands ----
is "create a named volume" "$(b volume create --label a=b v1 2>&1)" v1
is "create again is fine" "$(b volume create v1 2>&1)" v1
anon=$(b volume create)
like "create without a name: 64 hex" "$anon" '^[0-9a-f]{64}$'
fails "a name with a slash" 'includes invalid characters.*absolute path' b volume create a/b
fails "a bad name" 'includes invalid characters' b volume create _bad
fails "a one-character name" 'invalid characters' b volume create x
is "inspect Name" "$(b volume inspect -f '{{.Name}} {{.Driver}} {{.Scope}}' v1)" "v1 local local"
is "inspect Mountpoint" "$(b volume inspect -f '{{.Mountpoint}}' v1)" "$ROOT/volumes/v1/_data"
is "inspect Labels" "$(b volume inspect -f '{{json .Labels}}' v1)" '{"a":"b"}'
like "inspect JSON shape" "$(b volume inspect -f '{{json .}}' v1)" '^\{"CreatedAt":"[0-9]{4}-[^"]*Z","Driver":"local","Labels":\{"a":"b"\},"Mountpoint":"[^"]*","Name":"v1","Options":null,"Scope":"local"\}$'
fails "inspect a missing volume" 'no such volume' b volume inspect nope
like "ls lists both" "$(b volume ls)" "DRIVER +VOLUME NAME"
is "ls -q" "$(b volume ls -q | sort | tr '\n' ' ')" "$(printf '%s\n' v1 "$anon" | sort | tr '\n' ' ')"
is "ls --format" "$(b volume ls --format '{{.Name}}:{{.Labels}}' --filter name=v1)" "v1:a=b"
# concurrent creates of one name: both succeed, one volume
for k in 1 2 3 4; do b volume create race >/dev/null 2>&1 & done; wait
is "concurrent creates: one volume" "$(b volume ls -q | grep -c '^race$')" 1
ls -A "$ROOT/volumes" | grep -q '^\.' && notok "temp dirs left in volumes/" || ok "no temp dirs left in volumes/"
check "rm" b volume rm race "$anon"
fails "rm a missing volume" 'no such volume' b volume rm nope
check "rm -f a missing volume" b volume rm -f nope

# ---- data across containers ----
check "write into a named volume (created on demand)" b run --rm -v data1:/v bb sh -c 'echo hi >/v/f'
is "the next container reads it" "$(b run --rm -v data1:/v bb cat /v/f)" hi
cid=$(b create -v data1:/v:ro bb cat /v/f)
fails "read-only volume refuses writes" 'Read-only' b run --rm -v data1:/v:ro bb sh -c 'echo x >/v/g'
fails "in-use volume (stopped container) is refused" "volume is in use - \[$cid\]" b volume rm data1
is "inspect Mounts of type volume" "$(b inspect -f '{{json .Mounts}}' "$cid")" \
	"[{\"Type\":\"volume\",\"Name\":\"data1\",\"Source\":\"$ROOT/volumes/data1/_data\",\"Destination\":\"/v\",\"Driver\":\"local\",\"Mode\":\"ro\",\"RW\":false,\"Propagation\":\"\"}]"
is "ls dangling=true excludes it" "$(b volume ls -q --filter dangling=true | grep -c data1)" 0
check "rm the container" b rm "$cid"
is "the data survives rm" "$(cat "$ROOT/volumes/data1/_data/f")" hi
is "ls dangling=true lists it" "$(b volume ls -q --filter dangling=true | grep -c data1)" 1
check "--mount type=volume" b run --rm --mount type=volume,source=data1,target=/m,readonly bb cat /m/f
fails "--mount readonly" 'Read-only' b run --rm --mount type=volume,src=data1,dst=/m,readonly bb touch /m/x

# ---- copy-up ----
is "image VOLUME: copy-up into an anonymous volume" "$(b run --rm vimg cat /data/hello)" from-image
is "named volume on an image path: copy-up" "$(b run --rm -v cu:/data vimg cat /data/hello /data/sub/deep)" "from-image
deep"
is "copy-up keeps owner and mode" "$(stat -c '%u:%g %a' "$ROOT/volumes/cu/_data/hello")" "1234:5678 640"
is "copy-up keeps dir mode" "$(stat -c '%a' "$ROOT/volumes/cu/_data/sub")" "750"
is "copy-up keeps a symlink as a symlink" "$(readlink "$ROOT/volumes/cu/_data/link")" /etc/passwd
check "change the volume" b run --rm -v cu:/data vimg sh -c 'rm -rf /data/* && echo mine >/data/own'
is "copy-up happens on first use only" "$(b run --rm -v cu:/data vimg ls /data)" own
is "nocopy: no copy-up" "$(b run --rm --mount type=volume,src=nc,dst=/data,volume-nocopy vimg ls /data | wc -l)" 0
is "a non-empty volume gets no copy-up" "$(b run --rm -v data1:/data vimg ls /data)" f
# a symlinked mount path in the image cannot make the copy leave the root
mkdir -p "$T_DIR/rfs2" && tar -xf "$tar" -C "$T_DIR/rfs2" && ln -s /../../../../../../tmp "$T_DIR/rfs2/esc"
tar -C "$T_DIR/rfs2" -cf "$T_DIR/img2.tar" .
b import "$T_DIR/img2.tar" escimg >/dev/null
check "copy-up through an image symlink stays in the root" b run --rm -v esc:/esc escimg true
[ -e "$ROOT/volumes/esc/_data/$(basename "$T_DIR")" ] && notok "host /tmp copied" || ok "host /tmp not copied"

# ---- anonymous volumes: rm -v, --rm, prune ----
before=$(b volume ls -q | sort)
cid=$(b create -v /anon -v keep1:/k bb true)
mounts=$(b inspect -f '{{json .Mounts}}' "$cid")
like "create: named + anonymous" "$mounts" '"Name":"keep1".*"Destination":"/k".*"Destination":"/anon"'
a1=$(grep -Eo '"Name":"[0-9a-f]{64}"' <<<"$mounts" | cut -d'"' -f4)
like "anonymous volume name" "$a1" '^[0-9a-f]{64}$'
is "anonymous label" "$(b volume inspect -f '{{json .Labels}}' "$a1")" '{"com.docker.volume.anonymous":""}'
check "rm -v" b rm -v "$cid"
fails "rm -v removed the anonymous volume" 'no such volume' b volume inspect "$a1"
check "rm -v kept the named volume" b volume inspect keep1
check "run --rm with an image VOLUME" b run --rm vimg true
check "run -d --rm with -v /x" b run -d --rm -v /x bb true
sleep 1
is "--rm removed the anonymous volumes" "$(b volume ls -q | sort)" "$(printf '%s\n' $before keep1 | sort)"
cid=$(b create vimg true)
check "rm without -v" b rm "$cid"
n=$(b volume ls -q | wc -l)
like "prune (anonymous only)" "$(b volume prune -f)" 'Deleted Volumes:'
is "prune left the named ones" "$(b volume ls -q | wc -l)" $((n - 1))
check "prune -a" b volume prune -f -a
is "nothing left" "$(b volume ls -q)" ""
is "volumes/ is empty" "$(ls -A "$ROOT/volumes")" ""
t_done
