#!/usr/bin/env bash
# berth build on the busybox fixture, offline: RUN in a container (env,
# build args, WORKDIR, USER, SHELL), COPY rules (files, directories, globs,
# trailing slashes, --chown/--chmod), ADD of a local tar, .dockerignore,
# multi-stage with --from and --target (unneeded stages skipped), the step
# cache (a rebuild is all CACHED and makes the same image; touching one
# file re-runs from the first step that reads it; --no-cache), whiteouts
# (a RUN rm really removes the file), the config and history Docker writes,
# SOURCE_DATE_EPOCH reproducibility, builder prune, and that nothing is
# left behind (no container, mount or temp file).
. "$(dirname "$0")/../lib.sh"
need_fixtures
check "import busybox" b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox

C=$T_DIR/ctx
mkdir -p "$C/dir/sub" "$C/skip" "$C/logs"
echo hello >"$C/a.txt"
echo b >"$C/b.txt"
echo inner >"$C/dir/sub/in.txt"
echo top >"$C/dir/top.txt"
echo secret >"$C/skip/secret"
echo log >"$C/logs/x.log"
echo keep >"$C/logs/keep.log"
ln -s a.txt "$C/link"
(mkdir -p "$T_DIR/tarsrc/pkg" && echo from-tar >"$T_DIR/tarsrc/pkg/f" && tar -C "$T_DIR/tarsrc" -czf "$C/pkg.tar.gz" pkg)
printf 'skip\nlogs/*.log\n!logs/keep.log\n' >"$C/.dockerignore"
cat >"$C/Dockerfile" <<'EOF'
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS build
ARG GREETING=hi
ENV OUT=/out
WORKDIR /work
COPY a.txt b.txt ./
RUN echo "building in $(pwd)"; echo "$GREETING from $(pwd)" > msg && cat a.txt >> msg && mkdir -p $OUT && cp msg $OUT/

FROM busybox AS unused
RUN echo this stage must not run && exit 9

FROM busybox
LABEL org.example.name="berth test" version=1
COPY --from=build /out/msg /srv/msg
COPY dir /srv/dir
COPY dir/sub/ /srv/flat/
COPY *.txt /srv/glob/
COPY link /srv/link-target
COPY --chown=1234:5678 --chmod=640 a.txt /srv/owned
COPY skip* logs /srv/logs/
ADD pkg.tar.gz /opt/
RUN rm /bin/vi && rm -rf /etc/network
USER nobody
EXPOSE 8080/tcp 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /srv/msg"]
EOF
check "build" b build --network none --build-arg GREETING=hey -t built:1 -t built:2 "$C"
build1=$OUT
like "plain progress with step numbers" "$build1" '#[0-9]+ \[build 4/4\] RUN echo'
like "the RUN's output is shown" "$build1" '#[0-9]+ [0-9.]+ building in /work'
if grep -q 'this stage must not run' <<<"$build1"; then notok "unneeded stage was built"; else ok "unneeded stage skipped"; fi
like "names the image" "$build1" 'naming to docker.io/library/built:1 done'
id1=$(b image inspect -f '{{.Id}}' built:1 2>&1)
is "both tags" "$(b image inspect -f '{{.Id}}' built:2 2>&1)" "$id1"

check "run the built image" b run --rm --network none -u 0 built:1
is "multi-stage output, build arg, WORKDIR" "$OUT" $'hey from /work\nhello'
probe='cd /srv; ls dir dir/sub flat glob logs | tr "\n" " "; echo; cat link-target; stat -c "%u:%g %a" owned; cat /opt/pkg/f; test -e /bin/vi && echo vi || echo no-vi; test -e /etc/network && echo net || echo no-net; ls -A logs'
check "probe the image" b run --rm --network none -u 0 --entrypoint sh built:1 -c "$probe"
like "directory copies its contents" "$OUT" 'dir: sub top.txt'
like "dir/sub/ copies into flat/" "$OUT" 'flat: in.txt'
like "glob" "$OUT" 'glob: a.txt b.txt'
like "symlink source copies the target" "$OUT" $'\nhello\n'
like "--chown and --chmod" "$OUT" '1234:5678 640'
like "ADD extracts a local tar" "$OUT" 'from-tar'
like "RUN rm: whiteouts" "$OUT" 'no-vi'
like "RUN rm -rf of a directory" "$OUT" 'no-net'
is ".dockerignore (with an exception)" "$(tail -n1 <<<"$OUT")" "keep.log"

cfg=$(b image inspect -f '{{json .Config.User}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.Labels}} {{.Config.StopSignal}} {{.Config.WorkingDir}}' built:1 2>&1)
is "config" "$cfg" '"nobody" {"53/udp":{},"8080/tcp":{}} {"/data":{}} ["/bin/sh","-c"] ["cat /srv/msg"] {"org.example.name":"berth test","version":"1"} SIGTERM '
hist=$(b image inspect -f '{{json .RootFS.Layers}}' built:1 2>&1 | tr ',' '\n' | wc -l)
is "layers: base + 8 COPY/ADD + 1 RUN" "$hist" 10

# ---- the cache ----
check "rebuild" b build --network none --build-arg GREETING=hey -t built:1 "$C"
like "every step CACHED" "$OUT" 'CACHED'
if grep -Eq '^#[0-9]+ [0-9.]+ ' <<<"$OUT"; then notok "a RUN ran again"; else ok "no RUN ran again"; fi
is "same image" "$(b image inspect -f '{{.Id}}' built:1 2>&1)" "$id1"
layers_before=$(ls "$ROOT/layers" | wc -l)
echo hello2 >"$C/a.txt"
check "rebuild after touching a.txt" b build --network none --build-arg GREETING=hey -t built:1 "$C"
like "the build stage's RUN re-ran" "$OUT" 'RUN echo'
check "changed content" b run --rm --network none -u 0 built:1
is "new content" "$OUT" $'hey from /work\nhello2'
echo top2 >"$C/dir/top.txt"
check "rebuild after touching dir/top.txt" b build --network none --build-arg GREETING=hey -t built:1 "$C"
after=$(grep -A1 -E '^#[0-9]+ \[' <<<"$OUT" | grep -v '^--$' | paste -sd' ')
like "steps before the first reader of it stay CACHED" "$after" 'COPY --from=build /out/msg /srv/msg #[0-9]+ CACHED'
like "the first reader re-runs" "$after" 'COPY dir /srv/dir #[0-9]+ DONE'
like "later steps re-run" "$after" 'RUN rm /bin/vi && rm -rf /etc/network #[0-9]+ [0-9.]+ |RUN rm /bin/vi && rm -rf /etc/network #[0-9]+ DONE'
echo changed >"$C/skip/secret"
check "rebuild after touching an ignored file" b build --network none --build-arg GREETING=hey -q "$C"
id_ign=$OUT
is "ignored file changes nothing" "$id_ign" "$(b image inspect -f '{{.Id}}' built:1 2>&1)"
check "--no-cache" b build --network none --no-cache --build-arg GREETING=hey "$C"
if grep -q CACHED <<<"$OUT"; then notok "--no-cache used the cache"; else ok "--no-cache ran every step"; fi

# ---- --target, -f, stdin, iidfile, quiet ----
check "--target build -q --iidfile" b build --network none --target build -q --iidfile "$T_DIR/iid" "$C"
is "-q prints only the ID" "$(wc -l <<<"$OUT")" 1
is "--iidfile" "$(cat "$T_DIR/iid")" "$OUT"
check "Dockerfile from stdin" sh -c "printf 'FROM busybox\nRUN echo stdin > /f\n' | '$BERTH' --root '$ROOT' --runroot '$RUNROOT' build --network none -t fromstdin -f - '$C'"
check "it runs" b run --rm --network none fromstdin cat /f
is "stdin Dockerfile content" "$OUT" stdin

mkdir -p "$T_DIR/tarctx" && echo in-tar >"$T_DIR/tarctx/f" && printf 'FROM busybox\nCOPY f /f\n' >"$T_DIR/tarctx/Dockerfile"
check "context as a tar on stdin" sh -c "tar -C '$T_DIR/tarctx' -cz . | '$BERTH' --root '$ROOT' --runroot '$RUNROOT' build --network none -t fromtar -"
check "it runs" b run --rm --network none fromtar cat /f
is "stdin tar content" "$OUT" in-tar

# ---- ADD of a URL (a local HTTP server), with --checksum ----
mkdir -p "$T_DIR/www" && echo served >"$T_DIR/www/data.txt"
port=$((20000 + RANDOM % 20000))
(cd "$T_DIR/www" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
www_pid=$!
trap 'kill $www_pid 2>/dev/null; t_cleanup' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
sum=$(sha256sum "$T_DIR/www/data.txt" | cut -d' ' -f1)
printf 'FROM busybox\nADD --checksum=sha256:%s http://127.0.0.1:%s/data.txt /srv/\n' "$sum" "$port" >"$T_DIR/Dockerfile.url"
check "ADD URL with --checksum" env -u http_proxy -u HTTP_PROXY "$BERTH" --root "$ROOT" --runroot "$RUNROOT" build --network none -t fromurl -f "$T_DIR/Dockerfile.url" "$C"
check "the downloaded file" b run --rm --network none fromurl sh -c 'stat -c %a /srv/data.txt; cat /srv/data.txt'
is "mode 600 and content" "$OUT" $'600\nserved'
printf 'FROM busybox\nADD --checksum=sha256:%064d http://127.0.0.1:%s/data.txt /srv/\n' 0 "$port" >"$T_DIR/Dockerfile.url"
fails "ADD URL with a wrong checksum" 'Dockerfile:2: ADD failed: .*checksum mismatch' env -u http_proxy -u HTTP_PROXY "$BERTH" --root "$ROOT" --runroot "$RUNROOT" build --network none -f "$T_DIR/Dockerfile.url" "$C"
kill "$www_pid" 2>/dev/null

# ---- reproducible with SOURCE_DATE_EPOCH ----
cat >"$T_DIR/Dockerfile.repro" <<'EOF'
FROM busybox
COPY a.txt /a
RUN echo x > /x
EOF
r1=$(SOURCE_DATE_EPOCH=1700000000 b build --network none --no-cache -q -f "$T_DIR/Dockerfile.repro" "$C" 2>&1)
r2=$(SOURCE_DATE_EPOCH=1700000000 b build --network none --no-cache -q -f "$T_DIR/Dockerfile.repro" "$C" 2>&1)
like "SOURCE_DATE_EPOCH build" "$r1" '^sha256:'
is "same inputs, same image ID" "$r2" "$r1"

# ---- ONBUILD ----
printf 'FROM busybox\nONBUILD RUN echo triggered > /onbuild\n' >"$T_DIR/Dockerfile.ob"
check "image with ONBUILD" b build --network none -t obbase -f "$T_DIR/Dockerfile.ob" "$C"
printf 'FROM obbase\n' >"$T_DIR/Dockerfile.obchild"
check "build on it" b build --network none -t obchild -f "$T_DIR/Dockerfile.obchild" "$C"
check "the trigger ran" b run --rm --network none obchild cat /onbuild
is "ONBUILD trigger output" "$OUT" triggered

# ---- a base without PATH gets Docker's default; WORKDIR makes its directory ----
cat >"$T_DIR/Dockerfile.wd" <<'EOF'
FROM busybox
ENV PATH=/x:$PATH
RUN echo "run:$PATH"
WORKDIR /newdir/sub
WORKDIR /tmp
USER nobody
WORKDIR rel/deeper
RUN ls -ld /newdir/sub /tmp /tmp/rel/deeper | awk '{ print $1, $3, $NF }'
EOF
check "build with ENV PATH and WORKDIR" b build --network none -t wdimg -f "$T_DIR/Dockerfile.wd" "$C"
like "RUN sees the default PATH" "$OUT" 'run:/x:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
like "WORKDIR made the directory" "$OUT" 'drwxr-xr-x root /newdir/sub'
like "an existing WORKDIR keeps its mode" "$OUT" 'drwxrwxrwt root /tmp'
like "a new WORKDIR is owned by USER" "$OUT" 'drwxr-xr-x nobody /tmp/rel/deeper'
is "the image's PATH" "$(b image inspect -f '{{json .Config.Env}}' wdimg 2>&1)" '["PATH=/x:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
is "layers: base + 2 RUN + 2 new WORKDIRs (none for /tmp)" "$(b image inspect -f '{{json .RootFS.Layers}}' wdimg 2>&1 | tr ',' '\n' | wc -l)" 5
check "rebuild" b build --network none -t wdimg -f "$T_DIR/Dockerfile.wd" "$C"
is "all 5 steps CACHED" "$(grep -c CACHED <<<"$OUT")" 5

# ---- COPY with heredoc sources ----
cat >"$T_DIR/Dockerfile.hd" <<'EOF'
FROM busybox
ARG WHO=world
COPY <<GREET /greet
hello $WHO "quoted" \n
GREET
COPY --chmod=755 <<A <<'B' /dir/
echo a $WHO
A
b $WHO
B
EOF
check "COPY <<EOF" b build --network none -t hdimg -f "$T_DIR/Dockerfile.hd" "$C"
check "run it" b run --rm --network none hdimg sh -c 'cat /greet /dir/B; sh /dir/A; stat -c %a /dir/A'
is "heredoc files: expanded unless quoted, --chmod" "$OUT" $'hello world "quoted" \\n\nb $WHO\na world\n755'
check "rebuild" b build --network none -t hdimg -f "$T_DIR/Dockerfile.hd" "$C"
is "heredoc COPYs CACHED" "$(grep -c CACHED <<<"$OUT")" 2
printf 'FROM busybox\nCOPY <<EOF a.txt /x/\nhi\nEOF\n' >"$T_DIR/Dockerfile.hdmix"
fails "heredoc mixed with context files" 'Dockerfile:2: .*mixing heredocs' b build --network none -f "$T_DIR/Dockerfile.hdmix" "$C"

# ---- independent stages build at the same time ----
cat >"$T_DIR/Dockerfile.par" <<'EOF'
FROM busybox AS one
RUN sleep 1; echo one > /one
FROM busybox AS two
ARG N=2
RUN echo two$N > /two
FROM busybox
COPY --from=one /one /one
COPY --from=two /two /two
EOF
check "two independent stages" b build --network none --build-arg N=3 -t parimg -f "$T_DIR/Dockerfile.par" "$C"
run_one=$(grep -E '^#[0-9]+ \[one 2/2\]' <<<"$OUT" | cut -d' ' -f1)
two_at=$(grep -n '\[two 1/2\]' <<<"$OUT" | cut -d: -f1)
one_done_at=$(grep -n "^$run_one DONE" <<<"$OUT" | cut -d: -f1)
if [ -n "$two_at" ] && [ -n "$one_done_at" ] && [ "$two_at" -lt "$one_done_at" ]; then
	ok "stage two started while stage one ran"
else
	notok "stage two started while stage one ran"; printf '#   %s\n' "$OUT" | head -20
fi
if grep -q 'not consumed' <<<"$OUT"; then notok "a build arg used in a parallel stage was reported unused"; else ok "build args used in a parallel stage count"; fi
check "both results" b run --rm --network none parimg cat /one /two
is "parallel stages' files" "$OUT" $'one\ntwo3'
sed -i 's/echo two$N > \/two/exit 5/' "$T_DIR/Dockerfile.par"
fails "a failing parallel stage fails the build" 'Dockerfile:5: .*exit code: 5' b build --network none -t parfail -f "$T_DIR/Dockerfile.par" "$C"
is "no container left by the failed stages" "$(b ps -a -q 2>&1)" ""
check "builder with no subcommand" b builder
like "shows its commands" "$OUT" 'prune +Remove build cache'

# ---- cache survives rmi; builder prune reclaims it ----
check "rmi the tags" b rmi built:1 built:2
like "rmi says Deleted" "$OUT" 'Deleted: sha256:'
is "images hides the cache" "$(b images -q --filter reference=built 2>&1)" ""
check "rebuild after rmi" b build --network none --build-arg GREETING=hey -t built:1 "$C"
if grep -Eq '^#[0-9]+ [0-9.]+ ' <<<"$OUT"; then notok "rmi dropped the cache"; else ok "cache survived rmi"; fi
b rmi built:1 fromstdin fromtar fromurl obbase obchild wdimg hdimg parimg >/dev/null 2>&1
check "builder prune -a -f" b builder prune -a -f
like "reports the space" "$OUT" '^Total:'
left=$(ls "$ROOT/layers" | wc -l)
is "only the base layer stays" "$left" 1
is "no cache entries" "$(ls -A "$ROOT/builder/cache" 2>/dev/null | wc -l)" 0

# ---- nothing left behind ----
is "no containers" "$(b ps -a -q 2>&1)" ""
is "no mounts under the test dir" "$(grep -c "$T_DIR" /proc/mounts)" 0
store_clean "after the builds"
t_done
