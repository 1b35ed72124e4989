#!/usr/bin/env bash
# k8s-binaries.sh - build upstream Kubernetes' programs and etcd from their Go
# modules at one pinned release, for berth's tests and comparisons only
# (`berth kube cluster up` runs them). Nothing it builds belongs in the repo,
# and no Go code goes into berth.
#
# Usage: scripts/k8s-binaries.sh [--version V] [--etcd-version V]
#                                [--with NAME[,NAME]] [--print-dir] [--list]
#
#   --version V       build Kubernetes release V instead of the pinned one
#   --etcd-version V  build etcd release V instead of the one V is tested with
#   --with NAMES      also build these (kubelet, kube-proxy, e2e.test, and for
#                     running e2e.test: agnhost, its test image's program, and
#                     ginkgo, the test runner that runs e2e.test in parallel)
#   --print-dir       print the binaries' directory on stdout (nothing else)
#   --list            print the programs the run would build, then stop
#
# The programs land in /var/cache/berth/k8s/VERSION/ (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, and etcd) and are reused
# when present: a cached run only asks each for its version. agnhost is
# stamped with the version of its image (test/images/agnhost/VERSION of that
# tag), ginkgo is the release k8s.io/kubernetes requires (its go.mod).
#
# How: `go install module@version` refuses modules with replace directives,
# and k8s.io/kubernetes replaces every staging module (k8s.io/api,
# k8s.io/apimachinery, ...) with a directory of its own tree. So the build
# runs in a throw-away wrapper module under /var/cache/berth/k8s/build/ that
# requires k8s.io/kubernetes at V and replaces each staging module with its
# published twin at v0.MINOR.PATCH (read from that tag's go.mod); other
# replace directives are copied as they are. etcd (go.etcd.io/etcd/server/v3,
# whose go.mod replaces its sibling modules by ../ paths) is built the same
# way. CGO_ENABLED=0, as upstream builds these programs, and the version is
# stamped with -ldflags -X k8s.io/component-base/version.gitVersion=V (the
# apiserver checks its own version against the API's emulation version, so
# an unstamped build does not start).
# GOPATH, GOMODCACHE and GOCACHE live under /var/cache/berth/go so the module
# and build caches persist between runs. Needs Go (PATH or /usr/local/go/bin)
# and the Go module proxy.
#
# Progress and errors go to stderr; on failure the go tool's last 30 lines
# are shown (the whole log is kept in /var/cache/berth/k8s/build/) and the
# exit status is 1; 2 on usage errors.
set -euo pipefail

PINNED=v1.36.3
# The etcd release each Kubernetes minor is tested with (build/dependencies.yaml
# of that tag).
etcd_for() {
    case $1 in
        v1.36.*) echo v3.6.8 ;;
        v1.37.*) echo v3.6.8 ;;
        *) echo "" ;;
    esac
}
CACHE=${BERTH_CACHE:-/var/cache/berth}
KDIR=$CACHE/k8s

version=$PINNED etcd_version="" print_dir=0 list_only=0 extra=""
while [ $# -gt 0 ]; do
    case $1 in
        --version) [ $# -ge 2 ] || { echo "k8s-binaries.sh: --version needs a value" >&2; exit 2; }
                   version=$2; shift 2 ;;
        --version=*) version=${1#*=}; shift ;;
        --etcd-version) [ $# -ge 2 ] || { echo "k8s-binaries.sh: --etcd-version needs a value" >&2; exit 2; }
                   etcd_version=$2; shift 2 ;;
        --etcd-version=*) etcd_version=${1#*=}; shift ;;
        --with) [ $# -ge 2 ] || { echo "k8s-binaries.sh: --with needs a value" >&2; exit 2; }
                extra=$2; shift 2 ;;
        --with=*) extra=${1#*=}; shift ;;
        --print-dir) print_dir=1; shift ;;
        --list) list_only=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "k8s-binaries.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $version in v*) ;; *) version=v$version ;; esac
case $version in
    v1.[0-9]*.[0-9]*) ;;
    *) echo "k8s-binaries.sh: not a Kubernetes release version: $version" >&2; exit 2 ;;
esac
[ -n "$etcd_version" ] || etcd_version=$(etcd_for "$version")
[ -n "$etcd_version" ] || { echo "k8s-binaries.sh: no etcd release known for $version; give --etcd-version" >&2; exit 2; }
case $etcd_version in v*) ;; *) etcd_version=v$etcd_version ;; esac
case $etcd_version in
    v3.[0-9]*.[0-9]*) ;;
    *) echo "k8s-binaries.sh: not an etcd 3 release version: $etcd_version" >&2; exit 2 ;;
esac

# name -> package in k8s.io/kubernetes
pkg_of() {
    case $1 in
        kube-apiserver) echo k8s.io/kubernetes/cmd/kube-apiserver ;;
        kube-controller-manager) echo k8s.io/kubernetes/cmd/kube-controller-manager ;;
        kube-scheduler) echo k8s.io/kubernetes/cmd/kube-scheduler ;;
        kubectl) echo k8s.io/kubernetes/cmd/kubectl ;;
        kubelet) echo k8s.io/kubernetes/cmd/kubelet ;;
        kube-proxy) echo k8s.io/kubernetes/cmd/kube-proxy ;;
        e2e.test) echo k8s.io/kubernetes/test/e2e ;;
        agnhost) echo k8s.io/kubernetes/test/images/agnhost ;;
        ginkgo) echo github.com/onsi/ginkgo/v2/ginkgo ;;
        *) echo "" ;;
    esac
}
names=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
IFS=, read -r -a extras <<<"$extra"
for e in "${extras[@]}"; do
    [ -n "$e" ] || continue
    [ -n "$(pkg_of "$e")" ] || { echo "k8s-binaries.sh: --with: unknown program '$e' (kubelet, kube-proxy, e2e.test, agnhost, ginkgo)" >&2; exit 2; }
    case " ${names[*]} " in *" $e "*) ;; *) names+=("$e") ;; esac
done
if [ "$list_only" = 1 ]; then
    printf '%s\n' "${names[@]}" etcd
    exit 0
fi

log() { echo "k8s-binaries.sh: $*" >&2; }
die() { log "$*"; exit 1; }

dir=$KDIR/$version
# k8s.io/kubernetes at $version in the module cache (there after a first build)
kmod=$CACHE/go/pkg/mod/k8s.io/kubernetes@$version
kgomod=$CACHE/go/pkg/mod/cache/download/k8s.io/kubernetes/@v/$version.mod
agnhost_version() { cat "$kmod/test/images/agnhost/VERSION" 2>/dev/null || true; }
ginkgo_version() { sed -n 's|^[[:space:]]*github.com/onsi/ginkgo/v2 v\([0-9.]*\).*|\1|p' "$kgomod" 2>/dev/null | head -n 1; }

# have NAME: the program is there and reports the expected version.
have() {
    local b=$dir/$1 out want
    [ -x "$b" ] || return 1
    case $1 in
        etcd) out=$("$b" --version 2>&1) || return 1
              want="etcd Version: ${etcd_version#v}" ;;
        kubectl) out=$("$b" version --client 2>&1) || return 1
              want="Client Version: $version" ;;
        e2e.test) out=$("$b" --version 2>&1) || return 1
              want="$version" ;;
        agnhost) out=$("$b" --version 2>&1) || return 1
              want="version $(agnhost_version)" ;;
        ginkgo) out=$("$b" version 2>&1) || return 1
              want="Ginkgo Version $(ginkgo_version)" ;;
        *) out=$("$b" --version 2>&1) || return 1
              want="Kubernetes $version" ;;
    esac
    case $out in *"$want"*) return 0 ;; esac
    log "'$b' reports '$(printf '%s' "$out" | head -n 1)', expected '$want'"
    return 1
}
missing() {
    local n m=()
    for n in "${names[@]}" etcd; do have "$n" || m+=("$n"); done
    printf '%s\n' "${m[@]}"
}
done_ok() {
    [ "$print_dir" = 1 ] && printf '%s\n' "$dir"
    exit 0
}

todo=$(missing)
[ -n "$todo" ] || done_ok

GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || die "no go tool in PATH or /usr/local/go/bin"
export GOPATH=$CACHE/go GOMODCACHE=$CACHE/go/pkg/mod GOCACHE=$CACHE/go/cache
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off
unset GOOS GOARCH GOBIN
mkdir -p "$KDIR/build" "$GOCACHE" "$GOMODCACHE" "$dir"

# One build at a time: a second caller waits, then finds the binaries.
exec 9>"$KDIR/build/.lock"
flock 9
todo=$(missing)
[ -n "$todo" ] || done_ok

gl=$KDIR/build/$version.log
: >"$gl"
work=""
trap '[ -z "$work" ] || rm -rf "$work"' EXIT

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

# wrapper MODULE VERSION LOCALVER: make a wrapper module in $work requiring
# MODULE at VERSION; each replace of that version's go.mod that points at a
# local directory (./staging/..., ../api) becomes a replace by the same
# module at LOCALVER, other replaces are copied. Sets $srcdir.
wrapper() {
    local mod=$1 ver=$2 localver=$3 modfile gover replaces n
    work=$(mktemp -d "$KDIR/build/wrap.XXXXXX")
    printf 'module berth.local/k8s-build\n\ngo 1.21\n' >"$work/go.mod"
    log "fetching $mod@$ver"
    run "go mod download $mod@$ver" "$GO" mod download -json "$mod@$ver"
    modfile=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' "$gl" | tail -n 1)
    srcdir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$gl" | tail -n 1)
    [ -f "$modfile" ] || die "go mod download gave no go.mod for $mod@$ver (log: $gl)"
    gover=$(sed -n 's/^go[[:space:]]\{1,\}\([0-9][0-9.]*\).*/\1/p' "$modfile" | head -n 1)
    # A local replace becomes the published twin at LOCALVER, when that
    # version can be one of the module (a /vN path takes vN.x.y, others v0
    # or v1): etcd's guards "go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY" name
    # modules nothing requires, and are left out.
    replaces=$(awk -v lv="$localver" '
        function emit(line,   l, r, lm, maj, want) {
            split(line, p, /[[:space:]]*=>[[:space:]]*/)
            l = p[1]; r = p[2]; sub(/^[[:space:]]+/, "", l); sub(/[[:space:]]+$/, "", r)
            sub(/[[:space:]]*\/\/.*$/, "", r)
            if (r ~ /^\.\.?\//) {
                split(l, lm, /[[:space:]]+/)
                maj = lv; sub(/^v/, "", maj); sub(/\..*$/, "", maj)
                if (match(lm[1], /\/v[0-9]+$/)) want = substr(lm[1], RSTART + 2)
                else want = (maj == "0" || maj == "1") ? maj : "none"
                if (want != maj) return
                print "replace " lm[1] " => " lm[1] " " lv
            }
            else print "replace " l " => " r
        }
        /^replace[[:space:]]*\(/ { inblock = 1; next }
        inblock && /^\)/         { inblock = 0; next }
        inblock && /=>/          { emit($0); next }
        /^replace[[:space:]]/ && /=>/ { sub(/^replace[[:space:]]+/, ""); emit($0) }
    ' "$modfile")
    {
        printf 'module berth.local/k8s-build\n\ngo %s\n\nrequire %s %s\n' "${gover:-1.21}" "$mod" "$ver"
        [ -z "$replaces" ] || printf '\n%s\n' "$replaces"
    } >"$work/go.mod"
    n=0; [ -z "$replaces" ] || n=$(printf '%s\n' "$replaces" | wc -l)
    log "wrapper module: requires $mod $ver, $n replace directive(s) (local ones at $localver)"
    [ ! -f "$srcdir/go.sum" ] || cp "$srcdir/go.sum" "$work/go.sum"
}

# install NAME...: move built programs from $work/out into $dir.
install_out() {
    local n
    for n in "$@"; do
        [ -x "$work/out/$n" ] || die "go build made no $n"
        mv -f "$work/out/$n" "$dir/.$n.tmp.$$"
        mv -f "$dir/.$n.tmp.$$" "$dir/$n"
        have "$n" || die "the built $n does not report its version"
    done
}

start=$(date +%s)
log "building into $dir with $("$GO" version | cut -d' ' -f3) (CGO_ENABLED=0): $(printf '%s ' $todo)"

kube=() want_etcd=0
for n in $todo; do
    if [ "$n" = etcd ]; then want_etcd=1; else kube+=("$n"); fi
done

if [ ${#kube[@]} -gt 0 ]; then
    minor=${version#v1.}; minor=${minor%%.*}
    patch=${version##*.}
    wrapper k8s.io/kubernetes "$version" "v0.$minor.$patch"
    date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ld="$ld -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
        ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=$date"
    done
    # agnhost's own version (main.Version, as its Makefile stamps it); the
    # other main packages have no such variable and ignore it
    av=$(cat "$srcdir/test/images/agnhost/VERSION" 2>/dev/null || true)
    [ -z "$av" ] || ld="$ld -X main.Version=$av"
    pkgs=() tests=()
    for n in "${kube[@]}"; do
        if [ "$n" = e2e.test ]; then tests+=("$n"); else pkgs+=("$(pkg_of "$n")"); fi
    done
    mkdir -p "$work/out"
    if [ ${#pkgs[@]} -gt 0 ]; then
        log "compiling ${#pkgs[@]} program(s) (go build; about 15-25 minutes on 2 cores from cold caches)"
        run "go build" "$GO" build -trimpath -ldflags "$ld" -o "$work/out/" "${pkgs[@]}"
    fi
    if [ ${#tests[@]} -gt 0 ]; then
        log "compiling e2e.test (go test -c)"
        run "go test -c" "$GO" test -c -trimpath -ldflags "$ld" -o "$work/out/e2e.test" k8s.io/kubernetes/test/e2e
    fi
    install_out "${kube[@]}"
    rm -rf "$work"; work=""
fi

if [ "$want_etcd" = 1 ]; then
    wrapper go.etcd.io/etcd/server/v3 "$etcd_version" "$etcd_version"
    mkdir -p "$work/out"
    log "compiling etcd $etcd_version"
    run "go build etcd" "$GO" build -trimpath -ldflags "-s -w" -o "$work/out/etcd" go.etcd.io/etcd/server/v3
    install_out etcd
    rm -rf "$work"; work=""
fi

log "built $(printf '%s ' $todo)in $dir in $(( $(date +%s) - start )) s"
done_ok
