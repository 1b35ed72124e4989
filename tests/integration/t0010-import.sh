#!/usr/bin/env bash
# berth import: plain, gzip and zstd rootfs tars, --change, -m, stdin.
. "$(dirname "$0")/../lib.sh"
need_fixtures
tar=$(busybox_tar)

check "import plain tar" b import "$tar" bb:plain
id_plain=$OUT
like "import prints the image ID" "$id_plain" '^sha256:[0-9a-f]{64}$'
gzip -c "$tar" >"$T_DIR/bb.tar.gz"
zstd -q -c "$tar" >"$T_DIR/bb.tar.zst"
check "import gzip tar" b import "$T_DIR/bb.tar.gz" bb:gz
check "import zstd tar" b import "$T_DIR/bb.tar.zst" bb:zst
check "import from stdin" sh -c "'$BERTH' --root '$ROOT' import - bb:stdin <'$tar'"
check "image inspect layers" b image inspect --format '{{json .RootFS.Layers}}' bb:plain bb:gz bb:zst bb:stdin
n=$(sort -u <<<"$OUT" | wc -l)
is "same content gives the same diff_id whatever the compression" "$n" 1
layers=$(ls "$ROOT/layers" | wc -l)
is "one extracted layer for the four imports" "$layers" 1
check "extracted busybox is there" test -x "$ROOT/layers/$(ls "$ROOT/layers")/diff/bin/busybox"
check "applet symlink kept" test -L "$ROOT/layers/$(ls "$ROOT/layers")/diff/bin/sh"

check "import with changes" b import -c 'CMD ["sh","-c","echo hi"]' -c 'ENV A=1 B="two words"' \
	-c 'WORKDIR /srv' -c 'EXPOSE 8080 53/udp' -c 'LABEL org.example=yes' -c 'USER nobody' \
	-c 'ENTRYPOINT ["/bin/env"]' -c 'VOLUME /data' -c 'STOPSIGNAL SIGINT' -m 'my message' "$tar" bb:changed
check "inspect changed config" b image inspect --format '{{json .Config}}|{{.Comment}}' bb:changed
like "Cmd" "$OUT" '"Cmd":\["sh","-c","echo hi"\]'
like "Env" "$OUT" '"Env":\["A=1","B=two words"\]'
like "WorkingDir" "$OUT" '"WorkingDir":"/srv"'
like "ExposedPorts" "$OUT" '"ExposedPorts":\{"8080/tcp":\{\},"53/udp":\{\}\}'
like "Labels" "$OUT" '"Labels":\{"org.example":"yes"\}'
like "User" "$OUT" '"User":"nobody"'
like "Entrypoint" "$OUT" '"Entrypoint":\["/bin/env"\]'
like "Volumes" "$OUT" '"Volumes":\{"/data":\{\}\}'
like "StopSignal" "$OUT" '"StopSignal":"SIGINT"'
like "message becomes the comment" "$OUT" '\|my message$'
check "untagged import" b import "$tar"
like "untagged import prints an ID" "$OUT" '^sha256:'

# bad input: clear error, nothing stored
before=$(store_state)
fails "missing file" 'open /nonexistent/x.tar: No such file' b import /nonexistent/x.tar
fails "bad reference" 'invalid reference format: repository name \(library/Bad\) must be lowercase' b import "$tar" Bad
fails "digest as target" 'cannot contain a digest' b import "$tar" "a@sha256:$(printf '%064d' 0)"
fails "bad --change instruction" 'RUN is not allowed here' b import -c 'RUN echo' "$tar" x
fails "bad EXPOSE" 'invalid port "70000"' b import -c 'EXPOSE 70000' "$tar" x
fails "bad platform" 'only the local platform' b import --platform linux/s390x "$tar" x
fails "URL not supported" 'from a URL .* is not supported yet' b import http://example.invalid/x.tar x
echo "this is not a tar" >"$T_DIR/junk"
fails "not a tar" 'not a tar stream|bad tar stream' b import "$T_DIR/junk" x
head -c 100000 "$T_DIR/bb.tar.gz" >"$T_DIR/trunc.tar.gz"
fails "truncated gzip" 'truncated|bad tar stream|Truncated' b import "$T_DIR/trunc.tar.gz" x
bzip2 -c "$tar" >"$T_DIR/bb.tar.bz2"
fails "unsupported compression" 'unsupported layer compression bzip2' b import "$T_DIR/bb.tar.bz2" x
is "store unchanged after bad imports" "$(store_state)" "$before"
store_clean "bad imports"
t_done
