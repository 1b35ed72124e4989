#!/usr/bin/env bash
# Container tools: pause/unpause, top, stats, rename, cp. cp is tested for
# running and stopped containers in both directions, with Docker's path
# rules, tar streams on stdin/stdout, and symlinks in the container that
# try to make berth read or write host files (they must resolve inside
# the container). Nothing may be left mounted after a cp.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-ctr.sh"
need_fixtures
b import -c 'CMD ["sh"]' "$(busybox_tar)" busybox >/dev/null || { notok "import busybox"; t_done; }
W=$T_DIR/w
mkdir -p "$W"
cd "$W" || exit 1
TAG=t0320-$$
host_passwd=$(sha256sum /etc/passwd)

# ---- pause / unpause ----
COUNTER='trap "exit 0" TERM; i=0; while :; do i=$((i+1)); echo $i >/tmp/n; sleep 0.05; done'
check "run a counter" run_d --name pz busybox sh -c "$COUNTER"
pz=$OUT
wait_until 5 b exec pz test -s /tmp/n
check "pause" b pause pz
is "pause prints the name" "$OUT" pz
like "ps: Up ... (Paused)" "$(b ps --format '{{.Names}} {{.Status}}')" '^pz Up .* \(Paused\)$'
is "inspect: paused" "$(b inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' pz)" "paused true true"
fz=$(ls -d /sys/fs/cgroup/freezer/*/"$pz"/freezer.state /sys/fs/cgroup/freezer/*/*/"$pz"/freezer.state 2>/dev/null | head -1)
if [ -n "$fz" ]; then is "the freezer cgroup is FROZEN" "$(cat "$fz")" FROZEN; else skip "no v1 freezer"; fi
# the counter file, read through cp (retried: the loop rewrites it)
counter() {
	local v k
	for k in 1 2 3 4 5 6 7 8 9 10; do
		v=$(b cp pz:/tmp/n - | tar -xO)
		[ -n "$v" ] && { echo "$v"; return; }
		sleep 0.05
	done
}
n1=$(counter); sleep 0.3; n2=$(counter)
is "a paused container does not run (cp works while paused)" "$n1" "$n2"
fails "pause twice" "Container $pz is already paused" b pause pz
check "unpause" b unpause pz
is "unpause prints the name" "$OUT" pz
is "inspect: running again" "$(b inspect -f '{{.State.Status}} {{.State.Paused}}' pz)" "running false"
sleep 0.3
n3=$(counter)
[ "${n3:-0}" -gt "${n2:-0}" ] && ok "it runs again ($n2 -> $n3)" || notok "it runs again ($n2 -> $n3)"
fails "unpause a running container" "Container $pz is not paused" b unpause pz
check "container pause (alias)" b container pause pz
check "container unpause (alias)" b container unpause pz
OUT=$(b pause pz nosuch 2>&1); rc=$?
is "pause several: exit code" "$rc" 1
like "pause several: the good one" "$OUT" '^pz$'
like "pause several: the bad one" "$OUT" 'Error: No such container: nosuch'
b unpause pz >/dev/null
b create --name made busybox >/dev/null && b inspect -f '{{.Id}}' made >>"$T_DIR/ids"
fails "pause a created container" "Container [0-9a-f]{64} is not running" b pause made
fails "unpause a created container" "Container [0-9a-f]{64} is not paused" b unpause made
fails "pause: no argument" "requires at least 1 argument" b pause
# stop and rm -f of paused containers
check "pause for stop" b pause pz
t0=$(now_ms)
check "stop a paused container" b stop -t 5 pz
is "it stopped by its signal, not the timeout" "$(( ($(now_ms) - t0) < 4000 ))" 1
like "stopped" "$(b inspect -f '{{.State.Status}} {{.State.Paused}}' pz)" '^exited false$'
check "start again" b start pz
check "pause again" b pause pz
check "rm -f a paused container" b rm -f pz
fails "it is gone" "No such (container|object): pz" b inspect pz

# ---- top ----
check "run for top" run_d --name tp busybox sh -c 'sleep 300 & exec sleep 301'
tp=$OUT
pid=$(b inspect -f '{{.State.Pid}}' tp)
wait_until 5 sh -c "[ \$(cat /proc/$pid/task/*/children | wc -w) -ge 1 ]"
check "top" b top tp
like "top header: ps -ef's columns" "$(head -n1 <<<"$OUT")" '^UID +PID +PPID +C +STIME +TTY +TIME +CMD$'
like "top: pid 1 of the container (host pid)" "$OUT" "^root +$pid +[0-9]+ +[0-9]+ +[0-9:A-Za-z]+ +\\? +[0-9:-]+ +sleep 301$"
like "top: its child" "$OUT" "^root +[0-9]+ +$pid +.* sleep 300$"
is "top: one line per process" "$(($(wc -l <<<"$OUT") - 1))" 2
like "top: Docker's column layout (20 wide, padding 3)" "$(head -n1 <<<"$OUT")" '^UID {17}PID {17}PPID {16}C {19}STIME {15}TTY {17}TIME {16}CMD$'
if command -v ps >/dev/null; then
	pids=$(awk 'NR > 1 {print $2}' <<<"$OUT" | paste -sd,)
	# (C, STIME and TIME change with the moment each looks)
	is "top agrees with ps -f" "$(tail -n +2 <<<"$OUT" | awk '{$4 = $5 = $7 = ""; print}')" \
		"$(ps -f -p "$pids" | tail -n +2 | awk '{$4 = $5 = $7 = ""; print}')"
	check "top with ps options" b top tp -o pid,comm
	is "ps options: header" "$(head -n1 <<<"$OUT" | tr -s ' ')" "PID COMMAND"
	is "ps options: the container's processes only" "$(tail -n +2 <<<"$OUT" | awk '{print $2}' | sort | tr '\n' ' ')" "sleep sleep "
	fails "ps output without PID column" "Couldn't find PID field in ps output" b top tp -o comm
	fails "PID renamed" 'specifying "comm=PID" is not allowed' b top tp -o comm=PID
else
	skip "no ps on the host"
fi
check "container top (alias)" b container top tp
check "top of a paused container" sh -c "$BERTH --root $ROOT --runroot $RUNROOT pause tp && $BERTH --root $ROOT --runroot $RUNROOT top tp | grep -q 'sleep 301'"
b unpause tp >/dev/null
fails "top: not running" "container [0-9a-f]{64} is not running" b top made
fails "top: no such container" "No such container: nosuch" b top nosuch
fails "top: no argument" "requires at least 1 argument" b top

# ---- stats ----
check "run a busy container" run_d --name busy -m 64m busybox sh -c 'while :; do :; done'
check "stats --no-stream" b stats --no-stream
like "stats header" "$(head -n1 <<<"$OUT")" '^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$'
like "stats row" "$OUT" "^${tp:0:12} +tp +[0-9]+\\.[0-9]{2}% +[0-9.]+[KMG]?i?B / [0-9.]+[KMGT]iB +[0-9]+\\.[0-9]{2}% +[0-9.]+[kMG]?B / [0-9.]+[kMG]?B +[0-9.]+[kMG]?B / [0-9.]+[kMG]?B +2$"
is "stats lists running containers only" "$(b stats --no-stream --format '{{.Name}}' | sort | tr '\n' ' ')" "busy tp "
cpu=$(b stats --no-stream --format '{{.CPUPerc}}' busy | cut -d. -f1)
[ "${cpu:-0}" -ge 5 ] && ok "a busy loop uses CPU ($cpu%)" || notok "a busy loop uses CPU ($cpu%)"
like "the memory limit" "$(b stats --no-stream --format '{{.MemUsage}}' busy)" ' / 64MiB$'
check "stats --format json" b stats --no-stream --format json tp
like "json row" "$OUT" '^\{"BlockIO":"[^"]*","CPUPerc":"[0-9.]+%","Container":"tp","ID":"'"${tp:0:12}"'","MemPerc":"[0-9.]+%","MemUsage":"[^"]*","Name":"tp","NetIO":"[^"]*","PIDs":"2"\}$'
is "--no-trunc" "$(b stats --no-stream --no-trunc --format '{{.ID}}' tp)" "$tp"
is "a stopped container named: zeros" "$(b stats --no-stream --format '{{.CPUPerc}} {{.MemUsage}} {{.PIDs}}' made)" "0.00% 0B / 0B 0"
like "-a shows stopped ones" "$(b stats --no-stream -a --format '{{.Name}}')" '^made$'
fails "stats: no such container" "No such container: nosuch" b stats --no-stream nosuch
fails "stats: bad template" "template" b stats --no-stream --format '{{.Nope}}' tp
OUT=$(timeout 2.6 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" stats tp)
n=$(grep -o $'\033\\[2J' <<<"$OUT" | wc -l)
[ "$n" -ge 2 ] && ok "streaming: redraws every second ($n)" || notok "streaming: redraws every second ($n)"
check "container stats (alias)" b container stats --no-stream tp
b rm -f busy >/dev/null

# ---- rename ----
check "rename" b rename tp top2
is "rename prints nothing" "$OUT" ""
is "the new name resolves" "$(b inspect -f '{{.Id}} {{.Name}}' top2)" "$tp /top2"
fails "the old one does not" "No such (container|object): tp" b inspect tp
is "ps shows the new name" "$(b ps --filter id="$tp" --format '{{.Names}}')" top2
is "the name link moved" "$(ls "$ROOT/containers/.names" | grep -c '^tp$')" 0
check "the container still works" b exec top2 true
fails "rename onto a used name" 'Conflict\. The container name "/made" is already in use by container "[0-9a-f]{64}"' b rename top2 made
fails "rename to a bad name" 'Invalid container name \(bad name\)' b rename top2 'bad name'
fails "rename to the same name" "Renaming a container with the same name as its current name" b rename top2 top2
fails "rename: empty name" "Neither old nor new names may be empty" b rename top2 ''
fails "rename: no such container" "No such container: nosuch" b rename nosuch x1
fails "rename: one argument" "requires exactly 2 arguments" b rename top2
check "rename with Docker's leading slash" b container rename top2 /top3
is "renamed" "$(b inspect -f '{{.Name}}' "$tp")" /top3
is "a failed rename leaves the name" "$(b inspect -f '{{.Name}}' made)" /made

# ---- cp ----
# A container with hostile symlinks: /evil -> /etc, /up -> ../../../.., and
# an absolute link to the host-looking /etc/passwd.
PREP="ln -s /etc /evil; ln -s ../../../../.. /up; ln -s /etc/passwd /plink; echo $TAG-ctr >/etc/marker
mkdir -p /d/sub; echo a >/d/a; echo b >/d/sub/b; ln /d/a /d/hard; ln -s ../a /d/sub/rel; chmod 0751 /d/sub
mkdir /own; echo o >/own/f; chown -R 33:44 /own; touch -d '2020-01-02 03:04:05' /own/f"
check "run cpr" run_d --name cpr busybox sh -c "$PREP; exec sleep 300"
cpr=$OUT
wait_until 5 b exec cpr test -f /own/f
check "run cps" run_d --name cps busybox sh -c "$PREP; exec sleep 300"
cps=$OUT
wait_until 5 b exec cps test -f /own/f
check "stop cps" b stop -t 0 cps
is "cps is stopped" "$(b inspect -f '{{.State.Status}}' cps)" exited

echo "hostfile $TAG" >hostfile
for c in cpr cps; do
	id=$(b inspect -f '{{.Id}}' $c)
	rm -rf out && mkdir out
	# container -> host through the symlink: the container's files
	check "$c: cp c:/evil/passwd" b cp $c:/evil/passwd out/pw
	is "$c: it is the container's /etc/passwd" "$(head -n1 out/pw)" "root:x:0:0:root:/root:/bin/sh"
	check "$c: cp c:/up/etc/marker (.. stops at the root)" b cp $c:/up/etc/marker out/m
	is "$c: the container's file" "$(cat out/m)" "$TAG-ctr"
	check "$c: cp -L c:/plink" b cp -L $c:/plink out/pl
	is "$c: -L copies the target (the container's)" "$(head -n1 out/pl)" "root:x:0:0:root:/root:/bin/sh"
	check "$c: cp c:/plink (no -L)" b cp $c:/plink out/pl2
	is "$c: the link itself" "$(readlink out/pl2)" /etc/passwd
	check "$c: cp c:/evil (a symlink to a dir)" b cp $c:/evil out/ev
	is "$c: copied as a link" "$(readlink out/ev)" /etc
	check "$c: cp c:/evil/ (trailing slash follows)" b cp $c:/evil/ out/evd
	is "$c: the container's /etc" "$(cat out/evd/marker)" "$TAG-ctr"
	# host -> container through the symlink: lands in the container's /etc
	check "$c: cp file c:/evil/" b cp hostfile $c:/evil/$TAG
	check "$c: cp file c:/up/etc/" b cp hostfile $c:/up/etc/$TAG-up
	is "$c: written inside the container" "$(b cp $c:/etc/$TAG - | tar -xO) $(b cp $c:/etc/$TAG-up - | tar -xO)" \
		"hostfile $TAG hostfile $TAG"
	is "$c: not on the host" "$(ls /etc/$TAG /etc/$TAG-up 2>&1 | grep -c 'No such file')" 2
	# Docker's rules
	check "$c: dir -> new path" b cp $c:/d out/new
	is "$c: created with the contents" "$(cd out/new && find . | sort | tr '\n' ' ')" ". ./a ./hard ./sub ./sub/b ./sub/rel "
	is "$c: hard links kept" "$(stat -c %i out/new/a)" "$(stat -c %i out/new/hard)"
	is "$c: modes kept" "$(stat -c %a out/new/sub)" 751
	check "$c: dir -> existing dir" b cp $c:/d out/new
	is "$c: copied into it" "$(ls out/new/d | tr '\n' ' ')" "a hard sub "
	mkdir out/dot && check "$c: dir/. -> existing dir" b cp $c:/d/. out/dot
	is "$c: the contents only" "$(ls out/dot | tr '\n' ' ')" "a hard sub "
	check "$c: file -> existing dir" b cp $c:/d/a out/dot/sub
	is "$c: under its own name" "$(cat out/dot/sub/a)" a
	echo old >out/f && check "$c: file -> existing file" b cp $c:/d/sub/b out/f
	is "$c: overwritten" "$(cat out/f)" b
	check "$c: cp -a keeps owners" b cp -a $c:/own out/own
	is "$c: uid/gid and mtime" "$(stat -c '%u:%g %y' out/own/f | cut -c1-25)" "33:44 2020-01-02 03:04:05"
	check "$c: cp without -a" b cp $c:/own out/own2
	is "$c: owned by the caller" "$(stat -c '%u:%g' out/own2/f)" "$(id -u):$(id -g)"
	check "$c: host dir -> container" b cp out/new $c:/tmp/
	check "$c: host dir/. -> new container dir" b cp out/new/. $c:/tmp/n2
	is "$c: both there" "$(b cp $c:/tmp - | tar -t | grep -E '^tmp/(new/a|n2/sub/b)$' | tr '\n' ' ')" "tmp/n2/sub/b tmp/new/a "
	check "$c: -a into the container" b cp -a out/own $c:/tmp/own
	check "$c: without -a into the container" b cp out/own $c:/tmp/own0
	is "$c: owners in the container" "$(b cp $c:/tmp - | tar -tv | awk '$6 ~ /^tmp\/own0?\/f$/ {print $6, $2}' | sort | tr '\n' ' ')" \
		"tmp/own/f 33/44 tmp/own0/f 0/0 "
	# tar streams
	is "$c: cp c:/d - (tar out)" "$(b cp $c:/d - | tar -t | tr '\n' ' ')" "d/ d/a d/hard d/sub/ d/sub/b d/sub/rel "
	is "$c: cp c:/d/. - (contents)" "$(b cp $c:/d/. - | tar -t | tr '\n' ' ')" "./ ./a ./hard ./sub/ ./sub/b ./sub/rel "
	tar -C out/new -c . | b cp - $c:/tmp/
	is "$c: cp - c:/tmp/ (tar in)" "$(b cp $c:/tmp/sub/b - | tar -xO)" b
	# a tar that plants a symlink and writes through it: stays in the container
	rm -rf tl && mkdir -p tl/1 tl/2/lnk && ln -s /etc tl/1/lnk && echo via >tl/2/lnk/$TAG-via
	tar -C tl/1 -cf tl.tar lnk && tar -C tl/2 -rf tl.tar lnk/$TAG-via
	check "$c: tar through its own symlink" b cp - $c:/tmp <tl.tar
	is "$c: written to the container's /etc" "$(b cp $c:/etc/$TAG-via - | tar -xO)" via
	is "$c: not the host's" "$(ls /etc/$TAG-via 2>&1 | grep -c 'No such file')" 1
	printf x >dd && tar -cf dd.tar --transform 's,^dd,../../dd,' dd 2>/dev/null
	fails "$c: tar entry outside the destination" '"\.\./\.\./dd" is outside of the destination' b cp - $c:/tmp <dd.tar
	# bad input
	fails "$c: missing source" "Could not find the file /nope in container $c" b cp $c:/nope out/x
	fails "$c: missing parent in the container" "Could not find the file /no/such in container $c" b cp hostfile $c:/no/such/x
	fails "$c: file to a dir that does not exist" "no such directory" b cp hostfile $c:/newdir/
	fails "$c: dir onto a file" "cannot copy directory" b cp out/new $c:/etc/passwd
	fails "$c: file path with a trailing slash" "not a directory" b cp $c:/etc/passwd/ out/x
	fails "$c: missing host parent" "stat $W/out/no: No such file or directory" b cp $c:/etc/passwd "$W/out/no/x"
	fails "$c: missing host source" "lstat .*nofile: no such file or directory" b cp ./nofile $c:/tmp/
	fails "$c: tar into a file" "destination \"$c:/etc/passwd\" must be a directory" b cp - $c:/etc/passwd </dev/null
	mkdir -p clash/f clash2/a/x && echo f >clash/f/d
	fails "$c: a file onto a directory" 'cannot overwrite directory "/d" with non-directory "d"' b cp clash/f/. $c:/
	fails "$c: a directory onto a file" 'cannot overwrite non-directory "/tmp/new/a" with directory "a"' b cp clash2/. $c:/tmp/new/
	is "$c: no mount of the container left" "$(grep -c "$id" /proc/self/mountinfo)" 0
done
is "cps: no overlay left mounted anywhere" "$(grep -c "$cps" /proc/*/mountinfo 2>/dev/null | grep -vc ':0$')" 0
# the stopped container starts (its overlay's volatile marker is handled)
# and runs with what was copied in
check "start cps again" b start cps
for c in cpr cps; do
	check "$c: the container sees the copied files" b exec $c cat /etc/$TAG /tmp/sub/b /etc/$TAG-via
	is "$c: their contents" "$OUT" "hostfile $TAG
b
via"
done
# paused containers can be copied from and to
b pause cpr >/dev/null
check "cp from a paused container" b cp cpr:/etc/marker out/pm
check "cp into a paused container" b cp hostfile cpr:/tmp/paused
b unpause cpr >/dev/null
# argument errors
fails "cp: both local" "must specify at least one container source" b cp a b
fails "cp: two containers" "copying between containers is not supported" b cp cpr:/a cps:/b
fails "cp: no such container" "No such container: nosuch" b cp nosuch:/a out/
fails "cp: empty source" "source can not be empty" b cp '' cpr:/tmp
fails "cp: one argument" "requires exactly 2 arguments" b cp cpr:/a
check "cp: ./local:with:colons is a host path" sh -c "echo c >'./x:y' && $BERTH --root $ROOT --runroot $RUNROOT cp ./x:y cpr:/tmp/ && $BERTH --root $ROOT --runroot $RUNROOT cp 'cpr:/tmp/x:y' - | tar -t | grep -qx 'x:y'"
check "container cp (alias)" b container cp cpr:/etc/marker out/alias
check "run a read-only container" run_d --name ro --read-only busybox sleep 300
fails "cp into a read-only rootfs" "container rootfs is marked read-only" b cp hostfile ro:/tmp/
check "cp from a read-only rootfs" b cp ro:/etc/passwd out/ropw
is "host /etc/passwd untouched" "$(sha256sum /etc/passwd)" "$host_passwd"
is "no planned-command stub left" "$(b pause 2>&1 | grep -c 'not available')" 0

cd "$TESTS_DIR" || exit 1
check_clean "container tools"
t_done
