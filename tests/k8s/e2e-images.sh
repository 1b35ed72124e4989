#!/usr/bin/env bash
# e2e-images.sh - the container images upstream's e2e.test runs, made here
# from sources this machine can reach (registry.k8s.io and Docker Hub are
# not), kept in a berth store under /var/cache/berth/e2e-images, and pushed
# on request to a registry that the cluster's node pulls from.
#
# Usage: tests/k8s/e2e-images.sh [--registry HOST:PORT] [--repo-list FILE]
#                                [--rebuild] [--list] [--cached-only]
#
#   --registry R   push every image to R, under the paths e2e.test asks for
#                  (R/e2e-test-images/agnhost:2.63.0, R/pause:3.10.2, ...)
#   --repo-list F  write the registry list for e2e.test (KUBE_TEST_REPO_LIST
#                  or --kube-test-repo-list) that points it at R to F
#   --rebuild      build the images again even when the cache is current
#   --cached-only  build nothing: fail (exit 3) unless the cache is current
#   --list         print the images and what each is made from, then stop
#
# The images (names and tags as k8s.io/kubernetes v1.36.3's
# test/utils/image/manifest.go gives them):
#   e2e-test-images/busybox:1.37.0-1   Debian's busybox-static (1.35.0) and
#                                      its applet links
#   pause:3.10.2                       tests/k8s/pause.c, static
#   e2e-test-images/glibc-dns-testing:2.0.0
#                                      the Debian base (scripts/debian-base.sh)
#                                      and dnsutils, as upstream's image
#   e2e-test-images/agnhost:2.63.0     glibc-dns-testing, plus curl,
#                                      netcat-openbsd, iproute2 and agnhost
#                                      built from k8s.io/kubernetes v1.36.3's
#                                      test/images/agnhost by
#                                      scripts/k8s-binaries.sh --with agnhost;
#                                      its serving certificate, /uploads, the
#                                      user and group defined in upstream's
#                                      image, ENTRYPOINT /agnhost, CMD pause
# Upstream's agnhost is Alpine (musl) based; these are glibc, which e2e.test
# does not mind. Images the focused tests do not use (nginx, httpd, nonroot,
# sample-apiserver, ...) are not made: a test that needs one fails to pull.
#
# The build runs once: a stamp (this script, pause.c, the agnhost binary,
# busybox, the Debian base tarball) says when the cached store is current,
# and a current cache makes a run take seconds (the push). One run at a time
# per cache (flock). The store's RUN steps need the Debian mirror.
#
# Environment: BERTH (the berth binary; default build/berth of this tree),
# BERTH_CACHE (default /var/cache/berth).
# Progress goes to stderr. Exit 0 on success, 1 on error, 2 on usage errors,
# 3 when an input cannot be had (no Go/agnhost, no busybox-static, no Debian
# base): callers may skip then.
set -euo pipefail

PROG=${0##*/}
top=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${BERTH_CACHE:-/var/cache/berth}
BERTH=${BERTH:-$top/build/berth}
ICACHE=$CACHE/e2e-images
STORE=$ICACHE/root
RUNROOT=/run/berth-e2e-images
# bump when the recipes below change, so the images are made again
RECIPE=1

REG="" REPO_LIST="" REBUILD=0 LIST=0 CACHED_ONLY=0

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
unavailable() { printf '%s: cannot make the images: %s\n' "$PROG" "$*" >&2; exit 3; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
bad_usage() { printf '%s: %s (see --help)\n' "$PROG" "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--registry) [ $# -ge 2 ] || bad_usage "--registry needs a value"; REG=$2; shift 2 ;;
	--registry=*) REG=${1#*=}; shift ;;
	--repo-list) [ $# -ge 2 ] || bad_usage "--repo-list needs a value"; REPO_LIST=$2; shift 2 ;;
	--repo-list=*) REPO_LIST=${1#*=}; shift ;;
	--rebuild) REBUILD=1; shift ;;
	--cached-only) CACHED_ONLY=1; shift ;;
	--list) LIST=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) bad_usage "unknown argument: $1" ;;
	esac
done
if [ -n "$REG" ]; then
	case $REG in
	*/* | *://* | "") bad_usage "--registry wants HOST:PORT (no scheme, no path): $REG" ;;
	*:*) ;;
	*) bad_usage "--registry wants HOST:PORT: $REG" ;;
	esac
fi
[ -z "$REPO_LIST" ] || [ -n "$REG" ] || bad_usage "--repo-list needs --registry"

# upstream name (under registry.k8s.io) -> how it is made
IMAGES=(
	"e2e-test-images/busybox:1.37.0-1|Debian's busybox-static and its applet links"
	"pause:3.10.2|tests/k8s/pause.c, static"
	"e2e-test-images/glibc-dns-testing:2.0.0|the Debian base and dnsutils"
	"e2e-test-images/agnhost:2.63.0|glibc-dns-testing, curl, netcat-openbsd, iproute2, agnhost v2.63.0 from k8s.io/kubernetes v1.36.3"
)
if [ "$LIST" = 1 ]; then
	for i in "${IMAGES[@]}"; do printf 'registry.k8s.io/%s\t%s\n' "${i%%|*}" "${i#*|}"; done
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "needs root (berth builds and imports images)"
[ -x "$BERTH" ] || die "berth binary $BERTH not found (build it: ninja -C build, or set BERTH)"

# ---- inputs ----
bb=$(command -v busybox || true)
if [ -z "$bb" ] || ! file -L "$bb" | grep -q 'statically linked'; then
	bb=/bin/busybox
fi
[ -e "$bb" ] && file -L "$bb" | grep -q 'statically linked' ||
	unavailable "no static busybox (apt-get install busybox-static)"
command -v cc >/dev/null || unavailable "no C compiler for tests/k8s/pause.c"
log "agnhost: scripts/k8s-binaries.sh --with agnhost"
kbin=$("$top/scripts/k8s-binaries.sh" --with agnhost --print-dir) ||
	unavailable "scripts/k8s-binaries.sh --with agnhost failed (above)"
AGNHOST=$kbin/agnhost
[ -x "$AGNHOST" ] || unavailable "scripts/k8s-binaries.sh made no $AGNHOST"
kmod=$CACHE/go/pkg/mod/k8s.io/kubernetes@v1.36.3
for f in localhost.crt localhost.key; do
	[ -f "$kmod/test/images/agnhost/porter/$f" ] ||
		unavailable "no $kmod/test/images/agnhost/porter/$f (agnhost's serving certificate, in the module cache after scripts/k8s-binaries.sh)"
done
DEB_TAR=${BERTH_DEBIAN_CACHE:-$CACHE/debian-bookworm.tar}

mkdir -p "$ICACHE" "$RUNROOT"
exec 9>"$ICACHE/.lock"
flock 9

b() { "$BERTH" --root "$STORE" --runroot "$RUNROOT" "$@"; }
have_image() { b image inspect --format '{{.Id}}' "$1" >/dev/null 2>&1; }

# the Debian base: made (debootstrap, minutes) when there is none
if [ "$CACHED_ONLY" = 0 ]; then
	BERTH=$BERTH BERTH_RUNROOT=$RUNROOT "$top/scripts/debian-base.sh" --root "$STORE" ||
		unavailable "scripts/debian-base.sh failed (above): no Debian base for agnhost and glibc-dns-testing"
fi
[ -s "$DEB_TAR" ] || unavailable "no Debian base tarball $DEB_TAR (scripts/debian-base.sh makes it)"

sum() { sha256sum "$1" | cut -c1-16; }
stamp="recipe=$RECIPE script=$(sum "$0") pause=$(sum "$top/tests/k8s/pause.c") agnhost=$(sum "$AGNHOST")"
if [ -f "$DEB_TAR.sha256" ]; then debsum=$(cut -c1-16 "$DEB_TAR.sha256"); else debsum=$(sum "$DEB_TAR"); fi
stamp="$stamp busybox=$(sum "$bb") debian=$debsum"

current() {
	local i
	[ -f "$ICACHE/stamp" ] && [ "$(cat "$ICACHE/stamp")" = "$stamp" ] || return 1
	for i in "${IMAGES[@]}"; do have_image "registry.k8s.io/${i%%|*}" || return 1; done
}

build_all() {
	local w t0
	t0=$(date +%s)
	w=$(mktemp -d "$ICACHE/.work.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$w'; b network prune -f >/dev/null || true" EXIT
	rm -f "$ICACHE/stamp"

	log "busybox: a rootfs of $bb ($("$bb" 2>&1 | head -n 1 | cut -d' ' -f2))"
	local r=$w/busybox a
	mkdir -p "$r"/{bin,etc,tmp,root,proc,sys,dev,var/log,var/spool/mail,home}
	chmod 1777 "$r/tmp"
	cp "$bb" "$r/bin/busybox"
	for a in $("$bb" --list); do
		[ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
	done
	# the accounts of Docker Hub's busybox image, upstream's base
	cat >"$r/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/usr/sbin:/bin/false
		bin:x:2:2:bin:/bin:/bin/false
		sys:x:3:3:sys:/dev:/bin/false
		sync:x:4:100:sync:/bin:/bin/sync
		mail:x:8:8:mail:/var/spool/mail:/bin/false
		www-data:x:33:33:www-data:/var/www:/bin/false
		operator:x:37:37:Operator:/var:/bin/false
		nobody:x:65534:65534:nobody:/home:/bin/false
	EOF
	cat >"$r/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		bin:x:2:
		sys:x:3:
		adm:x:4:
		tty:x:5:
		disk:x:6:
		lp:x:7:
		mail:x:8:
		kmem:x:9:
		wheel:x:10:root
		cdrom:x:11:
		dialout:x:18:
		floppy:x:19:
		video:x:28:
		audio:x:29:
		tape:x:32:
		www-data:x:33:
		operator:x:37:
		utmp:x:43:
		plugdev:x:46:
		staff:x:50:
		lock:x:54:
		netdev:x:82:
		users:x:100:
		nogroup:x:65534:
	EOF
	tar --sort=name --mtime=2024-01-01 --owner=0 --group=0 --numeric-owner -C "$r" -cf "$w/busybox.tar" . ||
		die "tar of the busybox rootfs failed"
	b import -c 'CMD ["sh"]' -m "busybox-static" "$w/busybox.tar" registry.k8s.io/e2e-test-images/busybox:1.37.0-1 >/dev/null ||
		die "berth import of busybox failed"

	log "pause: tests/k8s/pause.c"
	mkdir -p "$w/pause"
	cc -O2 -static -Wall -Wextra -Werror -o "$w/pause/pause" "$top/tests/k8s/pause.c" || die "cc of tests/k8s/pause.c failed"
	strip "$w/pause/pause" || log "warning: strip of pause failed (above); the image keeps the symbols"
	tar --mtime=2024-01-01 --owner=0 --group=0 --numeric-owner -C "$w/pause" -cf "$w/pause.tar" pause ||
		die "tar of pause failed"
	b import -c 'ENTRYPOINT ["/pause"]' -c 'USER 65535:65535' -m "tests/k8s/pause.c" "$w/pause.tar" \
		registry.k8s.io/pause:3.10.2 >/dev/null || die "berth import of pause failed"

	log "glibc-dns-testing: debian:bookworm + dnsutils (apt-get from the mirror)"
	mkdir -p "$w/dns"
	cat >"$w/dns/Dockerfile" <<-'EOF'
		FROM debian:bookworm
		RUN apt-get update && \
		    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dnsutils && \
		    apt-get clean && rm -rf /var/lib/apt/lists/*
	EOF
	b build --progress plain -t registry.k8s.io/e2e-test-images/glibc-dns-testing:2.0.0 "$w/dns" >"$w/dns.log" 2>&1 ||
		{ tail -n 30 "$w/dns.log" >&2; die "berth build of glibc-dns-testing failed (above)"; }

	log "agnhost: glibc-dns-testing + curl, netcat-openbsd, iproute2, $("$AGNHOST" --version 2>&1)"
	mkdir -p "$w/agnhost"
	cp "$AGNHOST" "$w/agnhost/agnhost"
	cp "$kmod/test/images/agnhost/porter/localhost.crt" "$kmod/test/images/agnhost/porter/localhost.key" "$w/agnhost/"
	chmod 0644 "$w/agnhost/localhost.crt" "$w/agnhost/localhost.key"
	cat >"$w/agnhost/Dockerfile" <<-'EOF'
		FROM registry.k8s.io/e2e-test-images/glibc-dns-testing:2.0.0
		RUN apt-get update && \
		    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		        curl ca-certificates netcat-openbsd iproute2 procps && \
		    apt-get clean && rm -rf /var/lib/apt/lists/*
		EXPOSE 80 8080 8081 9376 5000
		RUN mkdir /uploads
		COPY localhost.crt localhost.key /
		COPY agnhost /agnhost
		RUN ln -s agnhost /agnhost-2 && \
		    useradd -u 1000 -M -s /bin/sh user-defined-in-image && \
		    groupadd -g 50000 group-defined-in-image && \
		    usermod -a -G group-defined-in-image user-defined-in-image
		ENTRYPOINT ["/agnhost"]
		CMD ["pause"]
	EOF
	b build --progress plain -t registry.k8s.io/e2e-test-images/agnhost:2.63.0 "$w/agnhost" >"$w/agnhost.log" 2>&1 ||
		{ tail -n 30 "$w/agnhost.log" >&2; die "berth build of agnhost failed (above)"; }

	printf '%s\n' "$stamp" >"$ICACHE/stamp.tmp"
	mv -f "$ICACHE/stamp.tmp" "$ICACHE/stamp"
	rm -rf "$w"
	b network prune -f >/dev/null || log "warning: berth network prune of $STORE failed"
	trap - EXIT
	log "built the images in $(($(date +%s) - t0)) s"
}

if [ "$REBUILD" = 0 ] && current; then
	log "the images in $STORE are current"
elif [ "$CACHED_ONLY" = 1 ]; then
	unavailable "the images in $STORE are not there or not current (run tests/k8s/e2e-images.sh without --cached-only)"
else
	build_all
fi

if [ -n "$REG" ]; then
	t0=$(date +%s)
	for i in "${IMAGES[@]}"; do
		n=${i%%|*}
		dst=$REG/$n
		b tag "registry.k8s.io/$n" "$dst" || die "berth tag $n $dst failed"
		if ! out=$(b push -q "$dst" 2>&1); then
			b rmi "$dst" >/dev/null || true
			die "berth push $dst failed: $out"
		fi
		b rmi "$dst" >/dev/null || log "warning: could not untag $dst in $STORE"
	done
	log "pushed ${#IMAGES[@]} images to $REG in $(($(date +%s) - t0)) s"
fi

if [ -n "$REPO_LIST" ]; then
	# the keys of test/utils/image/manifest.go's RegistryList; the invalid
	# and the authenticated private registries stay what they are
	cat >"$REPO_LIST.tmp" <<-EOF
		promoterE2eRegistry: $REG/e2e-test-images
		buildImageRegistry: $REG/build-image
		gcEtcdRegistry: $REG
		gcRegistry: $REG
		sigStorageRegistry: $REG/sig-storage
		dockerLibraryRegistry: $REG/library
		cloudProviderGcpRegistry: $REG/cloud-provider-gcp
	EOF
	mv -f "$REPO_LIST.tmp" "$REPO_LIST"
fi
exit 0
