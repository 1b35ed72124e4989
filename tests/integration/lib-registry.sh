# tests/integration/lib-registry.sh - a private registry (Debian's
# docker-registry, the CNCF distribution registry) per test, on 127.0.0.1
# and a free port, storage under $T_DIR. Source after tests/lib.sh (and
# after lib-peers.sh when both are used):
#
#     reg_start plain              # REG_PORT, REG_DIR, REG=127.0.0.1:$REG_PORT
#     reg_start auth "$(reg_htpasswd_yaml FILE)"
#     reg_start tls "" "$(reg_tls_yaml CERT KEY)"
#
# Every process started here (registries, proxies, token servers) is
# recorded with reg_track PID and killed when the test exits.
# shellcheck shell=bash

REG_TRACKED=()
reg_track() { REG_TRACKED+=("$1"); }
reg_cleanup() {
	local p
	for p in "${REG_TRACKED[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${REG_TRACKED[@]}"; do wait "$p" 2>/dev/null; done
	return 0
}
trap 'reg_cleanup; if [ "$(type -t peer_cleanup)" = function ]; then peer_cleanup; fi; t_cleanup' EXIT

need_registry() {
	command -v docker-registry >/dev/null 2>&1 ||
		skip_all "docker-registry is not installed (scripts/setup.sh --test installs it)"
	command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (5 s)
wait_port() {
	local i
	for i in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# reg_start NAME [AUTH_YAML] [TLS_YAML]: start a registry; sets REG_PORT,
# REG_DIR (config, data/, log) and REG (127.0.0.1:PORT).
reg_start() {
	local name=$1 auth=${2:-} tls=${3:-}
	REG_DIR=$T_DIR/reg-$name
	mkdir -p "$REG_DIR/data"
	REG_PORT=$(free_port)
	REG=127.0.0.1:$REG_PORT
	{
		echo "version: 0.1"
		echo "log: {level: error, accesslog: {disabled: true}}"
		echo "storage:"
		echo "  filesystem: {rootdirectory: $REG_DIR/data}"
		echo "  delete: {enabled: true}"
		[ -n "$auth" ] && printf '%s\n' "$auth"
		echo "http:"
		echo "  addr: $REG"
		echo "  secret: berth-test-$name"
		[ -n "$tls" ] && printf '%s\n' "$tls"
	} >"$REG_DIR/config.yml"
	docker-registry serve "$REG_DIR/config.yml" >"$REG_DIR/log" 2>&1 &
	reg_track $!
	wait_port "$REG_PORT" || { cat "$REG_DIR/log"; notok "registry $name did not start"; exit 1; }
}

reg_htpasswd_yaml() { printf 'auth:\n  htpasswd: {realm: berth-test, path: %s}\n' "$1"; }
reg_tls_yaml() { printf '  tls: {certificate: %s, key: %s}\n' "$1" "$2"; }

# reg_blob_path DIGEST: the blob's data file in the registry's storage
reg_blob_path() {
	local h=${1#sha256:}
	echo "$REG_DIR/data/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data"
}

REG_TOOL=$TESTS_DIR/integration/reg-tool.py
REG_PROXY=$TESTS_DIR/integration/reg-proxy.py
