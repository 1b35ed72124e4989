#!/usr/bin/env bash
# debian-base.sh - make a Debian 12 (bookworm) base image from debootstrap and
# import it as debian:bookworm and debian:12.
#
#   scripts/debian-base.sh [--root DIR] [--cache FILE] [--rebuild]
#                          [--docker] [--podman] [--no-berth] [--no-host-ca]
#                          [--cached]
#
# The rootfs is made once with `debootstrap --variant=minbase` from the apt
# mirror this machine is configured with, and kept as a plain tarball outside
# the repository (default /var/cache/berth/debian-bookworm.tar). Later runs
# reuse the tarball (made again only when it is missing, or when the recipe,
# the mirror or the host's local CA certificates changed: FILE.stamp) and
# import it only when the store has no debian:bookworm made from that very
# tarball (LABEL org.berth.base.tar-sha256), so a second run takes well under
# a second.
#
# Inside the image apt uses the same mirror and suites as the host
# (/etc/apt/sources.list.d/debian.sources), so `apt-get update && apt-get
# install ...` works in a container that can reach the mirror. Like Docker's
# debian images it ships no apt lists: run `apt-get update` first.
#
# CA certificates the host trusts locally (/usr/local/share/ca-certificates,
# e.g. a company's TLS-inspecting proxy) are copied to the same place in the
# image: whenever a Dockerfile installs ca-certificates (curl, npm, pip... pull
# it in), its postinst adds them, so HTTPS from a container works where it
# works on the host. --no-host-ca leaves them out.
#
# Options:
#   --root DIR     berth store (default: $BERTH_ROOT, else berth's default)
#   --cache FILE   the cached rootfs tarball
#                  (default: $BERTH_DEBIAN_CACHE or /var/cache/berth/debian-bookworm.tar)
#   --rebuild      run debootstrap again even when the tarball exists
#   --docker       also `docker import` it (uses $DOCKER_HOST; see scripts/peers.sh)
#   --podman       also `podman import` it
#   --no-berth     do not import into berth (only make the tarball / peers)
#   --no-host-ca   do not copy the host's local CA certificates into the image
#   --cached       never run debootstrap: use the tarball as it is, fail when
#                  there is none (for tests)
#   --mirror URL   Debian mirror (default: the one in /etc/apt/sources.list*)
#
# Environment: BERTH (the berth binary; default build/berth of this tree);
# berth itself reads BERTH_ROOT and BERTH_RUNROOT.
# Progress goes to stderr; stdout stays empty. Exit 0 on success, 1 on error
# (with the reason), 2 on usage errors. Needs root (debootstrap, chroot).
set -euo pipefail

PROG=${0##*/}
top=$(cd "$(dirname "$0")/.." && pwd)
SUITE=bookworm
CACHE=${BERTH_DEBIAN_CACHE:-/var/cache/berth/debian-$SUITE.tar}
BERTH=${BERTH:-$top/build/berth}
ROOT=${BERTH_ROOT:-}
REBUILD=0 TO_BERTH=1 TO_DOCKER=0 TO_PODMAN=0 MIRROR='' HOST_CA=1
HOST_CA_DIR=/usr/local/share/ca-certificates
# bump when the rootfs recipe below changes, so cached tarballs are remade
RECIPE=1
# bump when the image config given to import changes (images are re-imported)
IMPORT_RECIPE=2
CACHED_ONLY=0
LABEL_KEY=org.berth.base.tar-sha256

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--root) [ $# -ge 2 ] || usage; ROOT=$2; shift 2 ;;
	--root=*) ROOT=${1#*=}; shift ;;
	--cache) [ $# -ge 2 ] || usage; CACHE=$2; shift 2 ;;
	--cache=*) CACHE=${1#*=}; shift ;;
	--mirror) [ $# -ge 2 ] || usage; MIRROR=$2; shift 2 ;;
	--mirror=*) MIRROR=${1#*=}; shift ;;
	--rebuild) REBUILD=1; shift ;;
	--docker) TO_DOCKER=1; shift ;;
	--podman) TO_PODMAN=1; shift ;;
	--no-berth) TO_BERTH=0; shift ;;
	--no-host-ca) HOST_CA=0; shift ;;
	--cached) CACHED_ONLY=1; shift ;;
	-h | --help) usage ;;
	*) log "unknown argument: $1"; usage ;;
	esac
done
case "$CACHE" in
/*) ;;
*) CACHE=$PWD/$CACHE ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and chroot)"

# host_sources: print "URI SUITES COMPONENTS" for each Debian source the host
# uses (deb822 .sources and one-line .list files; disabled files ignored).
host_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [opts] URI SUITE COMP...
		awk '$1 == "deb" {
			i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			uri = $i; suite = $(i + 1); comps = ""
			for (j = i + 2; j <= NF; j++) comps = comps (comps ? " " : "") $j
			print uri "\t" suite "\t" comps }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'function flush() {
				if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "")
					print uris "\t" suites "\t" comps
				types = uris = suites = comps = ""; enabled = "" }
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{ k = tolower($1); sub(/:$/, "", k); $1 = ""; sub(/^ +/, "")
			  if (k == "types") types = $0; else if (k == "uris") uris = $0
			  else if (k == "suites") suites = $0; else if (k == "components") comps = $0
			  else if (k == "enabled") enabled = tolower($0) }
			END { flush() }' "$f"
	done
}

# Only the Debian archive itself matters: third-party repositories the host
# may have (and their keys) do not belong in the image. A Debian mirror's URI
# ends in /debian (a snapshot's in /debian/TIMESTAMP), its security archive's
# in /debian-security.
pick_uri() { # SUITE-REGEX URI-TAIL-REGEX
	host_sources | awk -F'\t' -v s="$1" -v t="$2" '
		$3 ~ /(^| )main( |$)/ && $2 ~ ("(^| )" s "( |$)") {
			n = split($1, u, " ")
			for (i = 1; i <= n; i++) if (u[i] ~ ("/" t "(/[0-9]+T[0-9]+Z)?/?$")) { sub(/\/$/, "", u[i]); print u[i]; exit }
		}'
}
[ -n "$MIRROR" ] || MIRROR=$(pick_uri "$SUITE" debian)
[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
SECURITY=$(pick_uri "$SUITE-security" debian-security)
if [ -z "$SECURITY" ]; then
	case "$MIRROR" in
	*/debian) SECURITY=${MIRROR%/debian}/debian-security ;;
	esac
fi

make_tarball() {
	local dir t0 t1
	command -v debootstrap >/dev/null 2>&1 || {
		log "installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2 \
			|| { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2; } \
			|| die "cannot install debootstrap"
	}
	mkdir -p "$(dirname "$CACHE")"
	dir=$(mktemp -d "$(dirname "$CACHE")/.debootstrap.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$dir' '$CACHE.tmp'" EXIT
	log "debootstrap --variant=minbase $SUITE from $MIRROR (takes a few minutes)"
	t0=$(date +%s.%N)
	if ! debootstrap --variant=minbase --arch="$(dpkg --print-architecture)" \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		"$SUITE" "$dir/rootfs" "$MIRROR" >"$dir/log" 2>&1; then
		tail -n 20 "$dir/log" >&2
		[ -f "$dir/rootfs/debootstrap/debootstrap.log" ] && tail -n 20 "$dir/rootfs/debootstrap/debootstrap.log" >&2
		die "debootstrap failed (see above)"
	fi
	t1=$(date +%s.%N)
	log "debootstrap took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

	local r=$dir/rootfs
	# apt sources: the same archive and suites as the host, deb822 like
	# Docker's debian:bookworm.
	rm -f "$r/etc/apt/sources.list"
	if [ "$HOST_CA" = 1 ]; then
		host_cas | while IFS= read -r f; do
			install -D -m 0644 "$HOST_CA_DIR/$f" "$r/usr/local/share/ca-certificates/$f"
		done
	fi
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$MIRROR" "$SUITE" "$SUITE"
		if [ -n "$SECURITY" ]; then
			printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
				"$SECURITY" "$SUITE"
		fi
	} >"$r/etc/apt/sources.list.d/debian.sources"
	# The host's apt settings that make its mirror usable (e.g. a snapshot
	# mirror whose Release files are past Valid-Until) must hold inside too.
	apt-config dump 2>/dev/null | grep -E '^Acquire::Check-(Valid-Until|Date) "false";$' \
		>"$r/etc/apt/apt.conf.d/99berth-mirror" || rm -f "$r/etc/apt/apt.conf.d/99berth-mirror"
	# What Docker's debian images do: no apt caches kept in layers, no
	# services started by package scripts in a container.
	printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nAPT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' \
		>"$r/etc/apt/apt.conf.d/docker-clean"
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod 0755 "$r/usr/sbin/policy-rc.d"
	# The engine provides these per container.
	: >"$r/etc/resolv.conf"
	: >"$r/etc/hostname"
	printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
	rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
		"$r"/var/log/*.log "$r"/var/log/apt/* "$r"/tmp/* "$r"/root/.bash_history
	mkdir -p "$r/var/lib/apt/lists/partial"
	rm -rf "$r/debootstrap"
	# mounts a debootstrap may have left (it mounts /proc and /sys)
	awk -v d="$r" 'index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done

	tar --numeric-owner --xattrs --acls -C "$r" -cf "$CACHE.tmp" . || die "tar of the rootfs failed"
	sha256sum "$CACHE.tmp" | awk '{ print $1 }' >"$CACHE.sha256.tmp"
	mv -f "$CACHE.tmp" "$CACHE"
	mv -f "$CACHE.sha256.tmp" "$CACHE.sha256"
	printf '%s\n' "$stamp" >"$CACHE.stamp"
	rm -rf "$dir"
	trap - EXIT
	log "wrote $CACHE ($(du -h "$CACHE" | cut -f1))"
}

# host_cas: the host's local CA certificate files, relative to HOST_CA_DIR
host_cas() {
	[ -d "$HOST_CA_DIR" ] || return 0
	(cd "$HOST_CA_DIR" && find . -name '*.crt' -type f | sed 's|^\./||' | LC_ALL=C sort)
}
cas=none
if [ "$HOST_CA" = 1 ] && [ -n "$(host_cas)" ]; then
	cas=$(cd "$HOST_CA_DIR" && host_cas | xargs -d '\n' sha256sum | sha256sum | cut -c1-16)
fi
stamp="recipe=$RECIPE suite=$SUITE mirror=$MIRROR security=$SECURITY host-ca=$cas"

if [ "$CACHED_ONLY" = 1 ]; then
	[ -s "$CACHE" ] || die "no cached rootfs at $CACHE (run scripts/debian-base.sh without --cached)"
elif [ "$REBUILD" = 1 ] || [ ! -s "$CACHE" ]; then
	make_tarball
elif [ "$(cat "$CACHE.stamp" 2>/dev/null)" != "$stamp" ]; then
	log "$CACHE was made with other settings ($(cat "$CACHE.stamp" 2>/dev/null || echo unknown)); making it again"
	make_tarball
fi
# the checksum file goes with the tarball; rebuild it if someone dropped it
if [ ! -s "$CACHE.sha256" ] || [ "$CACHE.sha256" -ot "$CACHE" ]; then
	sha256sum "$CACHE" | awk '{ print $1 }' >"$CACHE.sha256.tmp" && mv -f "$CACHE.sha256.tmp" "$CACHE.sha256"
fi
sum=$(cat "$CACHE.sha256")

# Docker's debian images carry PATH: Dockerfiles say ENV PATH=/x:$PATH
changes=(-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["bash"]'
	-c "LABEL $LABEL_KEY=$sum org.berth.base.recipe=$IMPORT_RECIPE")

# made_from_cache ENGINE...: debian:SUITE in that engine's store was imported
# from the current tarball (berth's --format has no `index`, so match JSON)
made_from_cache() {
	local labels
	labels=$("$@" image inspect --format '{{json .Config.Labels}}' debian:$SUITE 2>/dev/null) &&
		grep -q "\"$LABEL_KEY\":\"$sum\"" <<<"$labels" &&
		grep -q "\"org.berth.base.recipe\":\"$IMPORT_RECIPE\"" <<<"$labels"
}

if [ "$TO_BERTH" = 1 ]; then
	[ -x "$BERTH" ] || die "berth binary $BERTH not found (build it: ninja -C build, or set BERTH)"
	b=("$BERTH")
	[ -z "$ROOT" ] || b+=(--root "$ROOT")
	if made_from_cache "${b[@]}"; then
		log "debian:$SUITE is up to date in ${ROOT:-the default store}"
	else
		log "importing $CACHE as debian:$SUITE"
		old=$("${b[@]}" image inspect --format '{{.Id}}' debian:$SUITE 2>/dev/null || true)
		"${b[@]}" import "${changes[@]}" -m "debootstrap --variant=minbase $SUITE" "$CACHE" debian:$SUITE >/dev/null \
			|| die "berth import of $CACHE failed"
		# the image it replaces, unless still tagged or used by a container
		[ -z "$old" ] || "${b[@]}" rmi "$old" >/dev/null 2>&1 || true
	fi
	[ "$("${b[@]}" image inspect --format '{{.Id}}' debian:12 2>/dev/null || true)" = \
		"$("${b[@]}" image inspect --format '{{.Id}}' debian:$SUITE)" ] \
		|| "${b[@]}" tag debian:$SUITE debian:12 || die "berth tag debian:12 failed"
fi

# peers: same tarball, same config, so benchmarks compare like with like
peer_import() {
	local name=$1
	shift
	command -v "$1" >/dev/null 2>&1 || die "$name is not installed"
	if made_from_cache "$@"; then
		log "debian:$SUITE is up to date in $name"
	else
		log "importing $CACHE into $name as debian:$SUITE"
		"$@" import "${changes[@]}" "$CACHE" debian:$SUITE >/dev/null || die "$name import failed"
	fi
	"$@" tag debian:$SUITE debian:12 || die "$name tag debian:12 failed"
}
[ "$TO_DOCKER" = 0 ] || peer_import docker docker
[ "$TO_PODMAN" = 0 ] || peer_import podman podman
exit 0
