#!/usr/bin/env bash
# The Debian base image (scripts/debian-base.sh) and egress through berth's
# NAT: import of the cached debootstrap tarball as debian:bookworm and
# debian:12, a second run that changes nothing, the image's apt setup, and
# fetches from the mirror in a container on the default bridge and `apt-get
# update` / `apt-get install` on a user network. Needs the cached tarball (made once by
# scripts/debian-base.sh, ~35 s of debootstrap; skipped when it is absent:
# the suite does not run debootstrap) and, for the egress part, the Debian
# mirror (skipped when the host cannot reach it).
. "$(dirname "$0")/../lib.sh"

CACHE=${BERTH_DEBIAN_CACHE:-/var/cache/berth/debian-bookworm.tar}
[ -s "$CACHE" ] || skip_all "no cached Debian rootfs at $CACHE (make it: scripts/debian-base.sh)"
export BERTH BERTH_RUNROOT=$RUNROOT
NET=t0800-$$

cleanup_t0800() {
	b network rm "$NET" >/dev/null 2>&1
	t_cleanup
}
trap cleanup_t0800 EXIT

DB() { bash "$TOP/scripts/debian-base.sh" --cached --root "$ROOT" "$@"; }

check "debian-base.sh imports the cached rootfs" DB
id1=$(b image inspect --format '{{.Id}}' debian:bookworm 2>/dev/null)
id12=$(b image inspect --format '{{.Id}}' debian:12 2>/dev/null)
like "debian:bookworm exists" "$id1" '^sha256:[0-9a-f]{64}$'
is "debian:12 is the same image" "$id12" "$id1"
is "CMD is bash" "$(b image inspect --format '{{json .Config.Cmd}}' debian:bookworm)" '["bash"]'
is "PATH as in Docker's debian images" "$(b image inspect --format '{{json .Config.Env}}' debian:bookworm)" \
	'["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
like "labelled with the tarball's sha256" "$(b image inspect --format '{{json .Config.Labels}}' debian:bookworm)" \
	"\"org.berth.base.tar-sha256\":\"$(cat "$CACHE.sha256")\""

t0=$(date +%s%N)
check "second run" DB
ms=$((($(date +%s%N) - t0) / 1000000))
like "second run says up to date" "$OUT" 'up to date'
is "second run keeps the image" "$(b image inspect --format '{{.Id}}' debian:bookworm)" "$id1"
is "no other image appeared" "$(b images -q | sort -u | wc -l)" 1
if [ "$ms" -lt 3000 ]; then ok "second run is fast (${ms} ms)"; else notok "second run took ${ms} ms"; fi

fails "--cached with no tarball" 'no cached rootfs' \
	bash "$TOP/scripts/debian-base.sh" --cached --root "$ROOT" --cache "$T_DIR/none.tar"
fails "unknown option" 'unknown argument' bash "$TOP/scripts/debian-base.sh" --bogus

# what is inside, with no network
# shellcheck disable=SC2016  # expanded in the container
check "run bash in debian:bookworm" b run --rm --network none debian:bookworm bash -c '
	. /etc/os-release && [ "$VERSION_CODENAME" = bookworm ] &&
	grep -q "^Suites: bookworm bookworm-updates" /etc/apt/sources.list.d/debian.sources &&
	[ ! -e /etc/apt/sources.list ] &&
	[ -z "$(ls /var/lib/apt/lists | grep -v -e partial -e lock)" ] &&
	[ -x /usr/sbin/policy-rc.d ] && apt-get --version >/dev/null && echo fine'
is "os-release, apt sources, no lists, policy-rc.d" "$OUT" fine

# egress: only when the host itself reaches the mirror
mirror=$(awk '/^URIs:/ { print $2; exit }' <(tar -xOf "$CACHE" ./etc/apt/sources.list.d/debian.sources))
host=${mirror#*://}
host=${host%%/*}
if ! timeout 5 bash -c "exec 3<>/dev/tcp/$host/80" 2>/dev/null; then
	skip "egress: the host cannot reach $host"
	t_done
fi

# shellcheck disable=SC2016  # expanded in the container
upd='apt-get update -q >/tmp/u 2>&1 || { tail -5 /tmp/u; exit 1; }; grep -c "^Get:" /tmp/u'
# the default bridge: DNS, NAT and HTTP to the mirror, with apt's own fetcher
check "egress on the default bridge: apt fetches the mirror's InRelease" \
	b run --rm --network bridge debian:bookworm /usr/lib/apt/apt-helper download-file \
	"${mirror%/}/dists/bookworm/InRelease" /tmp/InRelease
check "create a user network" b network create "$NET"
# a tiny package: the point is the download, not the size
check "egress on a user network: apt-get update && apt-get install" \
	b run --rm --network "$NET" debian:bookworm sh -c "$upd"' && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends hello >/tmp/i 2>&1 || { tail -5 /tmp/i; exit 1; }; hello'
like "the installed program runs" "$OUT" 'Hello, world!'
check "remove the user network" b network rm "$NET"
t_done
