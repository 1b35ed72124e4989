#!/usr/bin/env bash
# TLS registries (a self-signed CA trusted through certs.d, or the registry
# listed as insecure), and a multi-arch OCI index built and pushed here:
# the local platform is pulled, --platform picks another.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-registry.sh"
need_fixtures
need_registry
command -v openssl >/dev/null || skip_all "openssl is not installed"
export BERTH_CONFIG_DIR=$T_DIR/etc-berth
mkdir -p "$BERTH_CONFIG_DIR"

# a CA and a server certificate for 127.0.0.1
pki=$T_DIR/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 2 \
	-subj /CN=berth-test-ca >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout "$pki/srv.key" -out "$pki/srv.csr" -subj /CN=127.0.0.1 >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$pki/ext"
openssl x509 -req -in "$pki/srv.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
	-out "$pki/srv.crt" -days 2 -extfile "$pki/ext" >/dev/null 2>&1
reg_start tls "" "$(reg_tls_yaml "$pki/srv.crt" "$pki/srv.key")"
S=$REG

check "import busybox" b import "$(busybox_tar)" "$S/bb:v1"
fails "untrusted certificate is refused" 'TLS certificate not trusted.*certs.d' b push "$S/bb:v1"
mkdir -p "$BERTH_CONFIG_DIR/certs.d/$S"
cp "$pki/ca.crt" "$BERTH_CONFIG_DIR/certs.d/$S/ca.crt"
check "push over TLS with the CA in certs.d" b push "$S/bb:v1"
digest=$(sed -n 's/^v1: digest: \(sha256:[0-9a-f]*\) size: [0-9]*$/\1/p' <<<"$OUT")
check "pull over TLS" "$BERTH" --root "$T_DIR/root2" --runroot "$RUNROOT" pull "$S/bb:v1"
like "TLS pull digest" "$OUT" "Digest: $digest"
rm -rf "$BERTH_CONFIG_DIR/certs.d"
printf '{"insecure-registries": ["%s"]}\n' "$S" >"$BERTH_CONFIG_DIR/registries.json"
check "insecure-registries skips verification" "$BERTH" --root "$T_DIR/root3" --runroot "$RUNROOT" pull "$S/bb:v1"
rm -f "$BERTH_CONFIG_DIR/registries.json"

# ---- multi-arch index ----
reg_start plain
P=$REG
host=$(uname -m)
case "$host" in x86_64) here=amd64 other=arm64 ;; aarch64) here=arm64 other=amd64 ;; *) skip_all "no multi-arch check on $host" ;; esac
for a in amd64 arm64; do
	mkdir -p "$T_DIR/ma-$a/etc"
	echo "$a" >"$T_DIR/ma-$a/etc/arch"
	tar -C "$T_DIR/ma-$a" -cf "$T_DIR/ma-$a.tar" .
done
d_here=$(python3 "$REG_TOOL" image "$P" multi "only-$here" --arch "$here" "$(busybox_tar):gzip" "$T_DIR/ma-$here.tar:gzip")
d_other=$(python3 "$REG_TOOL" image "$P" multi "only-$other" --arch "$other" "$(busybox_tar):gzip" "$T_DIR/ma-$other.tar:gzip")
idx=$(python3 "$REG_TOOL" index "$P" multi v1 "$d_other=linux/$other" "$d_here=linux/$here")
like "index pushed" "$idx" '^sha256:[0-9a-f]{64}$'
check "pull the index" b pull "$P/multi:v1"
like "index digest reported" "$OUT" "Digest: $idx"
is "local platform pulled" "$(b inspect -f '{{.Architecture}}' "$P/multi:v1")" "$here"
is "RepoDigests has the index digest" "$(b inspect -f '{{json .RepoDigests}}' "$P/multi:v1")" "[\"$P/multi@$idx\"]"
is "its content" "$(b run --rm "$P/multi:v1" cat /etc/arch)" "$here"
check "--platform picks the other" b pull --platform "linux/$other" "$P/multi:v1"
is "other platform pulled" "$(b inspect -f '{{.Architecture}}' "$P/multi:v1")" "$other"
fails "a platform not in the index" 'no matching manifest for linux/s390x' b pull --platform linux/s390x "$P/multi:v1"
fails "a bad platform" 'invalid platform' b pull --platform s390x "$P/multi:v1"
# docker.io through a mirror (registries.json): "mirrored" is library/mirrored there
python3 "$REG_TOOL" image "$P" library/mirrored v1 "$(busybox_tar):gzip" >/dev/null
printf '{"registry-mirrors": ["http://%s"]}\n' "$P" >"$BERTH_CONFIG_DIR/registries.json"
check "docker.io image from the mirror" b pull mirrored:v1
like "mirror pull names the docker.io repository" "$OUT" 'v1: Pulling from library/mirrored'
is "tagged as docker.io" "$(b images --format '{{.Repository}}:{{.Tag}}' mirrored)" "mirrored:v1"
rm -f "$BERTH_CONFIG_DIR/registries.json"
store_clean "tls and multi-arch"
t_done
