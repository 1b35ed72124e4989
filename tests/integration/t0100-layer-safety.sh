#!/usr/bin/env bash
# Layer extraction safety. Hostile layer tars (absolute paths, "..",
# symlink and hard-link escapes, whiteouts aimed outside) are refused whole,
# by import and by load, with a message naming the entry; nothing lands
# outside the layer and nothing is left in the store. A legitimate but
# tricky layer (whiteouts, devices, ownership, xattrs, long paths,
# replacements within one tar) is extracted exactly.
# Fixtures come from tests/fixtures/mkevil.py; escapes aim at $CANARY.
. "$(dirname "$0")/../lib.sh"
need_fixtures
# the system python when there is one: shims (pyenv) cost a lot per call
PY=$(command -v /usr/bin/python3 || command -v python3) || skip_all "python3 is not installed"
MKEVIL=$TESTS_DIR/fixtures/mkevil.py
CANARY=$T_DIR/canary
L=$T_DIR/layers
mkdir -p "$CANARY"
echo victim >"$CANARY/victim"
chmod 0750 "$CANARY"
"$PY" "$MKEVIL" layers "$L" "$CANARY" >"$T_DIR/cases" || { notok "mkevil.py layers"; t_done; }

# ERE-quote a literal string.
q() { sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"; }
C=$(q "$CANARY")
CR=$(q "${CANARY#/}")
UP='(\.\./)+'
LEAVES='goes through a symlink that leaves the layer directory'

# Expected error per hostile case: the entry's name and the reason.
declare -A want=(
	[abs-path]="entry \"$C/pwned-abs-path\" has an absolute path"
	[abs-etc]='entry "/etc/pwned-abs-etc" has an absolute path'
	[dotdot]='entry "\.\./pwned-dotdot" has a "\.\." component'
	[dotdot-deep]="entry \"$UP$CR/pwned-dotdot-deep\" has a \"\\.\\.\" component"
	[dotdot-mid]='entry "a/\.\./\.\./pwned-dotdot-mid" has a "\.\." component'
	[dotdot-dir]='entry "\.\./pwned-dotdot-dir/" has a "\.\." component'
	[symlink-root]="entry \"esc/$CR/pwned-symlink-root\": path \"esc/$CR\" $LEAVES"
	[symlink-up]="entry \"esc/pwned-symlink-up\": path \"esc\" $LEAVES"
	[symlink-up-deep]="entry \"esc/$CR/pwned-symlink-up-deep\": path \"esc/$CR\" $LEAVES"
	[symlink-canary]="entry \"esc/pwned-symlink-canary\": path \"esc\" $LEAVES"
	[symlink-canary-dir]="entry \"esc/pwned-symlink-canary-dir/\": path \"esc\" $LEAVES"
	[symlink-chain]="entry \"a/$CR/pwned-symlink-chain\": path \"a/$CR\" $LEAVES"
	[symlink-nested]="entry \"sub/deeper/up/pwned-symlink-nested\": path \"sub/deeper/up\" $LEAVES"
	[dir-then-symlink]="entry \"d/pwned-dir-then-symlink\": path \"d\" $LEAVES"
	[hardlink-dotdot]='hard link "pwned-hardlink-dotdot": entry "\.\./\.\./etc/passwd" has a "\.\." component'
	[hardlink-abs]="hard link \"pwned-hardlink-abs\": entry \"$C/victim\" has an absolute path"
	[hardlink-deep]="hard link \"pwned-hardlink-deep\": entry \"$UP$CR/victim\" has a \"\\.\\.\" component"
	[hardlink-symlink]="hard link \"pwned-hardlink-symlink\": path \"esc/victim\" $LEAVES"
	[hardlink-etc]='hard link "pwned-hardlink-etc": entry "/etc/passwd" has an absolute path'
	[whiteout-symlink]="entry \"esc/\\.wh\\.victim\": path \"esc\" $LEAVES"
	[opaque-symlink]="entry \"esc/\\.wh\\.\\.wh\\.\\.opq\": path \"esc\" $LEAVES"
	[whiteout-dotdot]='entry "\.wh\.\.\." has an invalid whiteout name "\.\."'
	[whiteout-dot]='entry "sub/\.wh\.\." has an invalid whiteout name "\."'
	[whiteout-abs]="entry \"$C/\\.wh\\.victim\" has an absolute path"
	[symlink-loop]='entry "a/pwned-symlink-loop": path "a" goes through a symlink loop'
	[path-too-long]='entry "p{64}\.\.\." path is too long'
	[hardlink-missing]='hard link "pwned-hardlink-missing": resolving "no/such/file": No such file or directory'
)

passwd_links=$(stat -c %h /etc/passwd)
canary_state() {
	(cd "$CANARY" && ls -lAn --time-style=+%s . && cat victim && stat -c '%a %h %i' . victim) 2>&1
	"$PY" -c 'import os,sys; print(sorted(os.listxattr(sys.argv[1])))' "$CANARY"
}
canary0=$(canary_state)

# Everything an escape could have touched; prints what it finds.
escapes() {
	find "$T_DIR" / /tmp /etc -xdev -maxdepth 1 -name 'pwned-*' 2>/dev/null
	find "$T_DIR" -name 'pwned-*' 2>/dev/null
	[ "$(canary_state)" = "$canary0" ] || echo "canary changed: $(canary_state)"
	[ "$(stat -c %h /etc/passwd)" = "$passwd_links" ] || echo "/etc/passwd link count changed"
}
# untouched DESC STATE: the store is as it was, with no image, and no escape.
untouched() {
	local problems=""
	[ "$(store_state)" = "$2" ] || problems+=" store changed:$(cd "$ROOT" && find layers blobs blobmap -mindepth 1 -maxdepth 2 | head -5 | tr '\n' ' ');"
	[ -z "$(b images -q)" ] || problems+=" an image appeared;"
	local esc
	esc=$(escapes | sort -u | tr '\n' ' ')
	[ -z "$esc" ] || problems+=" ESCAPE: $esc"
	if [ -z "$problems" ]; then ok "$1: store unchanged, nothing outside"; else notok "$1:$problems"; fi
}

# The detector must see an escape when there is one.
touch "$CANARY/pwned-selftest"
like "escape detector works" "$(escapes)" 'pwned-selftest'
rm -f "$CANARY/pwned-selftest"
is "no escape to begin with" "$(escapes)" ""

b images >/dev/null
empty=$(store_state)
while read -r c <&3; do
	if [ -z "${want[$c]:-}" ]; then
		notok "$c: no expected message in this test"
		continue
	fi
	fails "import $c is refused" "${want[$c]}" b import "$L/$c.tar" "evil/$c:1"
	untouched "import $c" "$empty"
	store_clean "import $c"
	# the same layer inside an image archive
	if "$PY" "$MKEVIL" wrap "$T_DIR/wrapped.tar" --tag "evil/$c:1" "$L/$c.tar"; then
		fails "load $c is refused" "layer [0-9a-f]{64}/layer\\.tar: .*${want[$c]}" b load -i "$T_DIR/wrapped.tar"
		untouched "load $c" "$empty"
		store_clean "load $c"
	else
		notok "mkevil.py wrap $c"
	fi
done 3<"$T_DIR/cases"
is "every expected case was generated" "$(sort "$T_DIR/cases" | tr '\n' ' ')" "$(printf '%s\n' "${!want[@]}" | sort | tr '\n' ' ')"

# A few through the other paths: gzip layers in an OCI layout, and stdin.
for c in symlink-root whiteout-dotdot hardlink-symlink; do
	"$PY" "$MKEVIL" wrap "$T_DIR/wrapped.tar" --oci --gzip "$L/$c.tar"
	fails "load $c (OCI, gzip layer) is refused" "layer blobs/sha256/[0-9a-f]{64}: .*${want[$c]}" b load -i "$T_DIR/wrapped.tar"
	untouched "load $c (OCI, gzip layer)" "$empty"
	fails "import $c from stdin is refused" "${want[$c]}" sh -c "gzip -c '$L/$c.tar' | '$BERTH' --root '$ROOT' --runroot '$RUNROOT' import -"
	untouched "import $c from stdin" "$empty"
done
store_clean "after all hostile layers"

# ---- the legitimate tricky layer ----
check "import the tricky layer" b import "$L/ok-tricky.tar" tricky:1
D=$(b image inspect -f '{{.GraphDriver.Data.LowerDir}}' tricky:1 2>&1)
[ -d "$D" ] || { notok "tricky layer directory: $D"; t_done; }
is "no escape from the tricky layer" "$(escapes)" ""
st() { stat -c "$1" "$D/$2" 2>&1; }
xattr() {
	"$PY" - "$D/$1" "$2" <<-'EOF'
	import errno, os, sys
	try:
	    print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())
	except OSError as e:
	    print("<none>" if e.errno == errno.ENODATA else "<%s>" % e)
	EOF
}
is "layer root mode from ./" "$(st %a .)" 755
is "whiteout .wh.gone is a 0,0 char device" "$(st '%F %t,%T' gone)" "character special file 0,0"
is "whiteout entry itself not extracted" "$(test -e "$D/.wh.gone" -o -L "$D/.wh.gone" && echo present || echo absent)" absent
is "opaque dir has trusted.overlay.opaque=y" "$(xattr opq trusted.overlay.opaque)" y
is "opaque dir keeps its own entries" "$(ls -A "$D/opq")" kept
is "aufs .wh..wh. metadata skipped" "$(ls -A "$D/aufs")" ""
is "layer root is not opaque" "$(xattr . trusted.overlay.opaque)" "<none>"
is "char device" "$(st '%F %t,%T %a' dev/null)" "character special file 1,3 666"
is "block device" "$(st '%F %t,%T %a' dev/loop0)" "block special file 7,0 660"
is "fifo" "$(st '%F %a' fifo)" "fifo 600"
is "setuid bit" "$(st %a suid)" 4755
is "setgid bit" "$(st %a sgid)" 2711
is "file owner 1234:5678" "$(st '%u:%g %a' owned)" "1234:5678 640"
is "dir owner 1234" "$(st '%u:%g %a' owned-dir)" "1234:1234 750"
is "read-only dir mode applied last" "$(st %a ro-dir) $(st %a ro-dir/inside)" "555 444"
is "user.foo xattr on a file" "$(xattr xattr user.foo)" bar
is "user xattr on a dir" "$(xattr xattr-dir user.dirattr)" d
is "trusted.overlay.opaque from the image is dropped" "$(xattr fake-opaque trusted.overlay.opaque)" "<none>"
is "trusted.overlay.redirect from the image is dropped" "$(xattr fake-redirect trusted.overlay.redirect)" "<none>"
longdir=$(cat "$L/longdir")
is "long path (pax) extracted" "$(cat "$D/$longdir/long-file" 2>&1)" long
like "long path is really long" "${#longdir}" '^[5-9][0-9]{2}$'
is "long symlink target" "$(readlink "$D/long-link")" "$longdir/long-file"
is "hard link shares the inode" "$(st %i hard) $(st %h hard)" "$(st %i etc/hostname) 2"
is "mtime from the tar" "$(st %Y etc/hostname) $(st %Y etc)" "1704067200 1704067200"
is "file replaced by a dir" "$(st %F f2d) $(cat "$D/f2d/inner")" "directory now a dir"
is "dir replaced by a file" "$(st %F d2f) $(cat "$D/d2f")" "regular file now a file"
is "dir -> file -> dir keeps only the second dir's entries" "$(ls -A "$D/d2d")" b
is "absolute symlink kept as a symlink" "$(readlink "$D/abs-link")" /etc/passwd
is "file replacing a symlink replaces the link" "$(st %F over-link) $(cat "$D/over-link")" "regular file replaced the link"
is "dir replacing a symlink replaces the link" "$(st '%F %a' over-dirlink) $(ls -A "$D/over-dirlink")" "directory 700 inside"
is "dir replaced by a symlink out stays a symlink" "$(readlink "$D/dir-then-link")" "$CANARY"
is "its mode is not applied through the link" "$(stat -c %a "$CANARY")" 750
is "dir replaced by a symlink inside: target keeps its mode" "$(readlink "$D/mode-a") $(st %a mode-b)" "mode-b 750"
is "entries through an inner symlink" "$(cat "$D/usr/lib/via-link")" ok
is "canary untouched by the tricky layer" "$(canary_state)" "$canary0"

# The same layer loaded from an OCI layout with a gzip layer: same diff_id,
# so the same layer directory, extracted once.
"$PY" "$MKEVIL" wrap "$T_DIR/tricky-oci.tar" --oci --gzip --tag tricky:oci "$L/ok-tricky.tar"
check "load the tricky layer (OCI, gzip)" b load -i "$T_DIR/tricky-oci.tar"
is "one layer directory for both" "$(ls "$ROOT/layers" | wc -l)" 1
is "loaded image uses it" "$(b image inspect -f '{{.GraphDriver.Data.LowerDir}}' tricky:oci)" "$D"
store_clean "after the tricky layer"
t_done
