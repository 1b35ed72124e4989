#!/usr/bin/env bash
# Registry client limits and start-up: libcurl is loaded only by the
# commands that talk HTTP (and its absence is a clear error there), a
# registry that sends more than the manifest lists is cut off (a layer
# listed as 0 bytes is not an unbounded download), login keeps Docker's
# warning about the unencrypted config.json and mode 0600.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-registry.sh"
need_fixtures
need_registry

# libcurl stays off the start-up path
if ldd "$BERTH" 2>/dev/null | grep -q libcurl; then notok "berth is not linked against libcurl"; else ok "berth is not linked against libcurl"; fi
check "images without libcurl" env BERTH_LIBCURL=/nonexistent/libcurl.so.4 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" images
fails "pull without libcurl" 'pulling 127.0.0.1:1/x:v1: libcurl is needed .* cannot be loaded \(/nonexistent/libcurl.so.4: .*install the libcurl4 package' \
	env BERTH_LIBCURL=/nonexistent/libcurl.so.4 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" pull 127.0.0.1:1/x:v1
fails "login without libcurl" 'libcurl is needed' \
	env BERTH_LIBCURL=/nonexistent/libcurl.so.4 DOCKER_CONFIG="$T_DIR/dc0" "$BERTH" --root "$ROOT" login -u u -p p 127.0.0.1:1
[ ! -e "$T_DIR/dc0/config.json" ] && ok "failed login stores nothing" || notok "failed login stores nothing"

reg_start plain
R=$REG
mkdir -p "$T_DIR/l/d"
head -c 300000 /dev/urandom >"$T_DIR/l/d/r"
tar -C "$T_DIR/l" -cf "$T_DIR/l.tar" .
python3 "$REG_TOOL" image "$R" app v1 "$T_DIR/l.tar" >/dev/null

# a manifest that lists a layer as 0 bytes: the first byte past it stops the download
PROXY=$(free_port)
python3 "$REG_PROXY" "$PROXY" "$REG_PORT" zerosize >/dev/null 2>&1 &
reg_track $!
wait_port "$PROXY" || notok "proxy did not start"
fails "layer larger than its manifest size" "127.0.0.1:$PROXY/app:v1: blob sha256:[0-9a-f]+: the registry sent more than the 0 bytes the manifest lists" \
	b pull "127.0.0.1:$PROXY/app:v1"
if b images -q "127.0.0.1:$PROXY/app:v1" 2>/dev/null | grep -q .; then notok "oversized layer: no image"; else ok "oversized layer: no image"; fi
store_clean "oversized layer"
check "the same image straight from the registry" b pull -q "$R/app:v1"

# login: Docker's warning on stderr, the file private
export DOCKER_CONFIG=$T_DIR/dc
OUT=$(b login -u alice -p pw "$R" 2>"$T_DIR/login.err")
is "login stdout" "$OUT" "Login Succeeded"
like "login warns about the unencrypted file" "$(cat "$T_DIR/login.err")" "WARNING! Your credentials are stored unencrypted in '$DOCKER_CONFIG/config.json'"
if grep -q pw "$T_DIR/login.err"; then notok "login prints no password"; else ok "login prints no password"; fi
is "config.json mode" "$(stat -c %a "$DOCKER_CONFIG/config.json")" 600
t_done
