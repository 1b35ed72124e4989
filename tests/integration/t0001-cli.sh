#!/usr/bin/env bash
# Global options, help, version, unknown and not-yet-available commands.
. "$(dirname "$0")/../lib.sh"

check "--version" b --version
like "--version output" "$OUT" '^berth version [0-9]+\.[0-9]+\.[0-9]+'
check "version command" b version
check "--help" b --help
like "--help lists commands" "$OUT" 'images +List images'
for cmd in images import load save tag rmi inspect "image inspect" "image ls" "image rm" "image prune" "system df" version; do
	# shellcheck disable=SC2086
	check "$cmd --help" b $cmd --help
	like "$cmd --help shows usage" "$OUT" 'Usage: +berth '
done
check "image group help" b image --help
like "image group lists subcommands" "$OUT" 'inspect'
fails "unknown command" "'frobnicate' is not a berth command" b frobnicate
fails "unknown image subcommand" "'image frob' is not a berth command" b image frob
fails "planned command says so" "'diff' is not available in this version of berth yet" b diff x
fails "unknown global flag" "unknown flag: --bogus" b --bogus images
fails "--root needs a value" "flag needs an argument: --root" "$BERTH" --root
fails "unknown command flag" 'got an unknown flag' b images --bogus
fails "too many arguments" 'requires at most 1 argument' b images a b
fails "tag needs two arguments" 'requires exactly 2 arguments' b tag one

# BERTH_ROOT and --root select separate stores
check "import into --root" b import "$(busybox_tar 2>/dev/null || true)" one:1
other=$T_DIR/other
check "--root keeps stores apart" "$BERTH" --root "$other" images -q
is "other store is empty" "$OUT" ""
check "BERTH_ROOT is honoured" env BERTH_ROOT="$ROOT" "$BERTH" images -q
like "BERTH_ROOT store has the image" "$OUT" '^[0-9a-f]{12}$'
t_done
