#!/usr/bin/env bash
# Registry authentication: htpasswd (Basic) and token (Bearer) registries;
# login/logout keep Docker-compatible credentials (mode 0600, never printed);
# wrong passwords and missing credentials fail clearly.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-registry.sh"
need_fixtures
need_registry
command -v htpasswd >/dev/null || skip_all "htpasswd is not installed (apache2-utils)"
command -v openssl >/dev/null || skip_all "openssl is not installed"
export DOCKER_CONFIG=$T_DIR/docker-config
check "import busybox" b import "$(busybox_tar)" bb:v1

# ---- Basic (htpasswd, bcrypt) ----
htpasswd -Bbn alice s3cret-pw >"$T_DIR/htpasswd" 2>/dev/null
reg_start basic "$(reg_htpasswd_yaml "$T_DIR/htpasswd")"
B=$REG
check "tag for the basic registry" b tag bb:v1 "$B/bb:v1"
fails "push without login" 'unauthorized: authentication required' b push "$B/bb:v1"
fails "login with a wrong password" 'unauthorized: incorrect username or password' \
	b login -u alice -p wrong "$B"
[ ! -e "$DOCKER_CONFIG/config.json" ] && ok "failed login stores nothing" || notok "failed login stores nothing"
check "login --password-stdin" sh -c "echo s3cret-pw | \"$BERTH\" --root \"$ROOT\" login -u alice --password-stdin $B"
like "login output" "$OUT" '^Login Succeeded$'
is "config.json mode" "$(stat -c %a "$DOCKER_CONFIG/config.json")" 600
is "auth entry" "$(python3 -c 'import json,sys,base64; print(base64.b64decode(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"]).decode())' "$DOCKER_CONFIG/config.json" "$B")" "alice:s3cret-pw"
check "push with credentials" b push "$B/bb:v1"
if grep -q s3cret "$T_DIR"/reg-basic/log 2>/dev/null || grep -q s3cret <<<"$OUT"; then notok "password not printed"; else ok "password not printed"; fi
check "pull with credentials" b pull "$B/bb:v1"
check "logout" b logout "$B"
is "logout output" "$OUT" "Removing login credentials for $B"
check "logout again" b logout "$B"
is "logout when logged out" "$OUT" "Not logged in to $B"
fails "pull after logout" 'unauthorized' b pull "$B/bb:v1"
fails "interactive login without a tty" 'non TTY' b login "$B" </dev/null

# ---- Bearer tokens from a token server ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_DIR/tok.key" -out "$T_DIR/tok.crt" \
	-days 2 -subj /CN=berth-token >/dev/null 2>&1
TPORT=$(free_port)
python3 "$TESTS_DIR/integration/reg-token.py" "$TPORT" "$T_DIR/tok.key" "$T_DIR/tok.crt" bob t0ken-pw "$T_DIR/token.log" &
reg_track $!
wait_port "$TPORT" || notok "token server did not start"
reg_start token "$(printf 'auth:\n  token: {realm: "http://127.0.0.1:%s/token", service: berth-registry, issuer: berth-test-issuer, rootcertbundle: %s}\n' "$TPORT" "$T_DIR/tok.crt")"
T=$REG
like "registry sends a Bearer challenge" "$(curl -si "http://$T/v2/" | tr -d '\r' | grep -i '^www-authenticate')" 'Bearer realm="http://127.0.0.1:'"$TPORT"'/token",service="berth-registry"'
check "tag for the token registry" b tag bb:v1 "$T/team/bb:v1"
fails "push without login (anonymous token)" 'unauthorized|denied|insufficient' b push "$T/team/bb:v1"
fails "login with a wrong password" 'incorrect username or password' b login -u bob -p nope "$T"
check "login" b login -u bob -p t0ken-pw "$T"
like "login warns about -p" "$OUT" 'WARNING! Using --password via the CLI is insecure'
check "push with a token" b push "$T/team/bb:v1"
digest=$(sed -n 's/^v1: digest: \(sha256:[0-9a-f]*\) size: [0-9]*$/\1/p' <<<"$OUT")
like "token fetched for the push scope" "$(cat "$T_DIR/token.log")" 'user=bob service=berth-registry scope=repository:team/bb:pull,push'
check "pull with a token into another store" "$BERTH" --root "$T_DIR/root2" --runroot "$RUNROOT" pull "$T/team/bb:v1"
like "token pull digest" "$OUT" "Digest: $digest"
# a registry that does not trust the token server's key: tokens are invalid
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_DIR/other.key" -out "$T_DIR/other.crt" \
	-days 2 -subj /CN=other >/dev/null 2>&1
reg_start badtoken "$(printf 'auth:\n  token: {realm: "http://127.0.0.1:%s/token", service: berth-registry, issuer: berth-test-issuer, rootcertbundle: %s}\n' "$TPORT" "$T_DIR/other.crt")"
check "login to the second token registry" b login -u bob -p t0ken-pw "$REG"
fails "an invalid token is refused" "$REG/team/bb:v1: unauthorized" "$BERTH" --root "$T_DIR/root4" --runroot "$RUNROOT" pull "$REG/team/bb:v1"
check "logout" b logout "$T"
fails "pull after logout" 'unauthorized|denied|insufficient' "$BERTH" --root "$T_DIR/root3" --runroot "$RUNROOT" pull "$T/team/bb:v1"
store_clean "auth"
t_done
