#!/usr/bin/env bash
# helm.sh - build Helm (to check the charts of `berth kube convert --chart`)
# from its Go module at one pinned release, for tests only. Nothing it
# builds belongs in the repo.
#
# Usage: scripts/helm.sh [--version V] [--print-path]
#
#   --version V    build release V instead of the pinned one (v4.3.2 or 4.3.2;
#                  a v3 release builds helm.sh/helm/v3)
#   --print-path   print the binary's path on stdout (nothing else goes there)
#
# The binary lands in /var/cache/berth/helm/VERSION/helm and is reused when
# present (a cached run only checks `helm version`). The build runs with
# CGO_ENABLED=0 in a throw-away wrapper module under
# /var/cache/berth/helm/build/ that requires helm at V, copies the replace
# directives of that version's go.mod (v4.3.2 has none, so `go install`
# would do, but a release that adds one would then fail) and its go.sum,
# and runs `go build` of cmd/helm with the -X flags of helm's Makefile, so
# `helm version` reports V (without them it says "v4.3"). GOPATH,
# GOMODCACHE and GOCACHE live under /var/cache/berth/go so the module and
# build caches persist between runs. Needs Go (PATH or /usr/local/go/bin)
# and the Go module proxy.
#
# Measured here (2 cores shared with other builds, go1.26.8): cold (module
# and build caches empty: this script with CACHE pointed at a new dir) 622 s
# (6m38 user, 2m09 sys); with the module cache already holding Kompose's
# Kubernetes modules (scripts/kompose.sh had run) 403 s; module and build
# caches warm, binary removed 5 s; cached (the binary there) 0.1 s. The
# caches take 1.7 GB under /var/cache/berth/go.
#
# Progress and errors go to stderr; on failure the go tool's last 30 lines
# are shown (the whole log is kept in /var/cache/berth/helm/build/) and the
# exit status is 1; 2 on usage errors.
set -euo pipefail

PINNED=v4.3.2
CACHE=/var/cache/berth
HDIR=$CACHE/helm

version=$PINNED
print_path=0
while [ $# -gt 0 ]; do
    case $1 in
        --version) [ $# -ge 2 ] || { echo "helm.sh: --version needs a value" >&2; exit 2; }
                   version=$2; shift 2 ;;
        --version=*) version=${1#*=}; shift ;;
        --print-path) print_path=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "helm.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $version in v*) ;; *) version=v$version ;; esac
case $version in
    v[34].[0-9]*.[0-9]*) ;;
    v[0-9]*.[0-9]*.[0-9]*) echo "helm.sh: only Helm v3 and v4 releases are built: $version" >&2; exit 2 ;;
    *) echo "helm.sh: not a release version: $version" >&2; exit 2 ;;
esac
major=${version%%.*}
MODULE=helm.sh/helm/$major

log() { echo "helm.sh: $*" >&2; }
die() { log "$*"; exit 1; }

bin=$HDIR/$version/helm

# `helm version --template` prints exactly what -X set (e.g. "v4.3.2").
check_version() {
    local out
    out=$("$1" version --template '{{.Version}}' 2>&1) || { log "'$1 version' failed:"; printf '%s\n' "$out" | tail -n 30 >&2; return 1; }
    [ "$out" = "$version" ] && return 0
    log "'$1 version' printed '$out', expected $version"
    return 1
}

done_ok() {
    [ "$print_path" = 1 ] && printf '%s\n' "$bin"
    exit 0
}

if [ -x "$bin" ] && check_version "$bin"; then
    done_ok
fi

GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || die "no go tool in PATH or /usr/local/go/bin"

export GOPATH=$CACHE/go
export GOMODCACHE=$CACHE/go/pkg/mod
export GOCACHE=$CACHE/go/cache
export CGO_ENABLED=0
export GOFLAGS=-mod=mod
export GOTOOLCHAIN=local
export GOWORK=off
unset GOOS GOARCH GOBIN

mkdir -p "$HDIR/build" "$GOCACHE" "$GOMODCACHE"

# One build at a time: a second caller waits, then finds the binary.
exec 9>"$HDIR/build/.lock"
flock 9
if [ -x "$bin" ] && check_version "$bin"; then
    done_ok
fi

work=$(mktemp -d "$HDIR/build/$version.XXXXXX")
gl=$HDIR/build/$version.log
: >"$gl"
trap 'rm -rf "$work"' EXIT

# run STEP CMD...: run a go command in the wrapper dir, output to the log.
run() {
    local step=$1; shift
    printf '\n$ %s\n' "$*" >>"$gl"
    if ! (cd "$work" && "$@") >>"$gl" 2>&1; then
        log "$step failed; last 30 lines of the go tool (whole log: $gl):"
        tail -n 30 "$gl" >&2
        exit 1
    fi
}

start=$(date +%s)
log "building helm $version with $("$GO" version | cut -d' ' -f3) (CGO_ENABLED=0) in $work"

printf 'module berth.local/helm-build\n\ngo 1.21\n' >"$work/go.mod"

log "fetching $MODULE@$version"
run "go mod download" "$GO" mod download -json "$MODULE@$version"
modfile=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' "$gl" | tail -n 1)
srcdir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$gl" | tail -n 1)
[ -f "$modfile" ] || die "go mod download gave no go.mod for $MODULE@$version (log: $gl)"

# The go directive of helm (the wrapper must not ask for less) and its
# replace directives, single-line or in a block.
gover=$(sed -n 's/^go[[:space:]]\{1,\}\([0-9][0-9.]*\).*/\1/p' "$modfile" | head -n 1)
replaces=$(awk '
    /^replace[[:space:]]*\(/ { inblock = 1; next }
    inblock && /^\)/         { inblock = 0; next }
    inblock && /=>/          { sub(/^[[:space:]]+/, ""); print "replace " $0; next }
    /^replace[[:space:]]/ && /=>/ { print }
' "$modfile")
{
    printf 'module berth.local/helm-build\n\ngo %s\n\nrequire %s %s\n' "${gover:-1.21}" "$MODULE" "$version"
    if [ -n "$replaces" ]; then printf '\n%s\n' "$replaces"; fi
} >"$work/go.mod"
n=0; [ -n "$replaces" ] && n=$(printf '%s\n' "$replaces" | wc -l)
log "wrapper module: requires $MODULE $version, $n replace directive(s) copied from its go.mod"
if [ -f "$srcdir/go.sum" ]; then cp "$srcdir/go.sum" "$work/go.sum"; fi
log "compiling (go build; this takes a few minutes on 2 cores the first time)"
# -mod=mod (GOFLAGS) lets go build record helm's requirements in the
# wrapper's go.mod; go.sum already has their sums. The -X flags are those
# of helm's Makefile for a tagged release (metadata empty, tree clean).
vpkg=$MODULE/internal/version
ldflags="-s -w -X $vpkg.version=$version -X $vpkg.metadata= -X $vpkg.gitTreeState=clean"
run "go build" "$GO" build -trimpath -ldflags "$ldflags" -o "$work/helm" "$MODULE/cmd/helm"

check_version "$work/helm" || die "the built binary does not report version $version"
mkdir -p "$HDIR/$version"
mv -f "$work/helm" "$bin.tmp.$$"
mv -f "$bin.tmp.$$" "$bin"
log "built $bin in $(( $(date +%s) - start )) s"
done_ok
