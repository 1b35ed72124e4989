#!/usr/bin/env bash
# berth run: exit codes, what a container sees (pid 1, hostname, /etc
# files, capabilities, seccomp, masked and read-only kernel paths, /dev),
# the run flags (env, workdir, user, entrypoint, read-only, volumes and
# mounts, ulimits, sysctls, shm, init, names, labels, network), cgroup
# limits and OOM; then the same shapes compared with docker where a peer
# dockerd is available.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-peers.sh"
need_fixtures
tar=$(busybox_tar)
CG_PARENT=${BERTH_CGROUP_PARENT:-berth}
IDS=()

# Whatever a failed check left running goes before the store is removed.
t0300_cleanup() {
	local c
	for c in $(b ps -a -q --no-trunc 2>/dev/null); do b rm -f "$c" >/dev/null 2>&1; done
	peer_cleanup
	t_cleanup
}
trap t0300_cleanup EXIT

# inside DESC ARGS...: b run --rm ARGS..., must succeed; output in $OUT
inside() { local d=$1; shift; check "$d" b run --rm "$@"; }
# track NAME|ID: remember the full ID, to check its cgroups are gone at the end
track() { local id; id=$(b inspect -f '{{.Id}}' "$1" 2>/dev/null) && IDS+=("$id"); }

# No trace of a container: not listed, no mount, no cgroup, no state.
gone() { # DESC ID-PREFIX
	local desc=$1 id=$2
	is "$desc: not listed" "$(b ps -a -q --no-trunc | grep "^$id")" ""
	is "$desc: no mount" "$(grep -c "$id" /proc/self/mountinfo)" 0
	is "$desc: no cgroup" "$(find /sys/fs/cgroup -maxdepth 3 -name "$id*" 2>/dev/null)" ""
	is "$desc: no state dir" "$(ls -A "$ROOT/containers" "$RUNROOT" 2>/dev/null | grep "^$id")" ""
}

check "import busybox with CMD sh" b import -c 'CMD ["sh"]' "$tar" busybox
check "import an image with ENTRYPOINT and CMD" b import -c 'ENTRYPOINT ["echo","ep"]' -c 'CMD ["default"]' "$tar" epimg

# ---- exit codes ----
exits "exit 0" 0 b run --rm busybox true
exits "exit 3 from sh" 3 b run --rm busybox sh -c 'exit 3'
exits "exit code of the helper" 42 b run --rm busybox berth-test-helper exit 42
exits "command not found -> 127" 127 b run --rm busybox nope-not-here
like "not found message" "$OUT" 'exec: "nope-not-here": executable file not found in \$PATH'
exits "missing absolute path -> 127" 127 b run --rm busybox /no/such
like "missing path message" "$OUT" 'stat /no/such: no such file or directory'
exits "not executable -> 126" 126 b run --rm busybox /etc/passwd
like "not executable message" "$OUT" 'exec: "/etc/passwd": [Pp]ermission denied'
mkdir -p "$T_DIR/scripts"
printf '#!/no/interpreter\n' >"$T_DIR/scripts/s"
chmod +x "$T_DIR/scripts/s"
exits "missing interpreter -> 127" 127 b run --rm -v "$T_DIR/scripts:/s:ro" busybox /s/s
like "missing interpreter message (runc's)" "$OUT" 'exec /s/s: no such file or directory'
exits "unknown image -> 125" 125 b run --rm no-such-image
like "unknown image message" "$OUT" 'No such image: no-such-image'
exits "bad flag -> 125" 125 b run --bogus-flag busybox true
like "bad flag message" "$OUT" 'unknown flag'
exits "no command -> 125" 125 b run --rm --entrypoint '' epimg
like "no command message" "$OUT" '[Nn]o command specified'
exits "pid 1 ignores signals it has no handler for" 0 b run --rm busybox sh -c 'kill -9 $$'
exits "killed by a signal -> 128+n (with --init, the command is not pid 1)" 137 b run --rm --init busybox sh -c 'kill -9 $$'
is "failed --rm runs leave no container" "$(b ps -a -q)" ""

# --rm leaves nothing behind, also when the command fails
check "--rm run" b run --rm busybox cat /etc/hostname
short=$OUT
like "hostname is a short ID" "$short" '^[0-9a-f]{12}$'
gone "--rm" "$short"
check "run -d --rm" b run -d --rm busybox true
id=$OUT
for _ in $(seq 50); do [ -z "$(b ps -a -q --no-trunc | grep "^$id")" ] && break; sleep 0.1; done
gone "-d --rm" "$id"
exits "--rm run of a missing command" 127 b run --rm --name rmfail busybox nope-not-here
fails "--rm removed the failed container" 'No such (object|container)' b inspect rmfail

# ---- inside ----
inside "pid 1" busybox sh -c 'echo $$'
is "the command is pid 1" "$OUT" 1
check "run --name" b run --name hn busybox sh -c 'hostname; cat /etc/hostname; echo "$HOSTNAME"; cat /etc/hosts'
track hn
id=$(b inspect -f '{{.Id}}' hn)
is "hostname, /etc/hostname and \$HOSTNAME are the short ID" "$(head -3 <<<"$OUT" | sort -u)" "${id:0:12}"
is "/etc/hosts" "$(tail -n +4 <<<"$OUT" | head -6)" "$(printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters')"
like "/etc/hosts: the default network's address and the hostname, as Docker's" "$(tail -n +10 <<<"$OUT")" "^10\.8[0-3]\.[0-9]+\.[0-9]+	${id:0:12}$"
is "inspect Config.Hostname" "$(b inspect -f '{{.Config.Hostname}}' hn)" "${id:0:12}"
check "rm" b rm hn
inside "-h" -h web-1 busybox sh -c 'hostname; cat /etc/hostname; echo "$HOSTNAME"'
is "-h sets hostname, /etc/hostname, \$HOSTNAME" "$(sort -u <<<"$OUT")" "web-1"
hostbnd=$(awk '/^CapBnd/ {print $2}' /proc/$$/status)

status() { grep -E "^($1):" <<<"$OUT" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//'; }
inside "default caps" busybox berth-test-helper caps
is "default CapEff is Docker's" "$(status CapEff)" 00000000a80425fb
is "default CapBnd is Docker's" "$(status CapBnd)" 00000000a80425fb
is "no inheritable or ambient" "$(status 'CapInh|CapAmb')" "0000000000000000 0000000000000000"
is "seccomp filter on" "$(status Seccomp)" 2
is "NoNewPrivs 0 by default" "$(status NoNewPrivs)" 0
inside "no-new-privileges" --security-opt no-new-privileges busybox berth-test-helper caps
is "NoNewPrivs 1" "$(status NoNewPrivs)" 1
inside "--cap-add NET_ADMIN" --cap-add NET_ADMIN busybox berth-test-helper caps
is "NET_ADMIN added" "$(status CapEff)" 00000000a80435fb
inside "--cap-drop CHOWN" --cap-drop chown busybox berth-test-helper caps
is "CHOWN dropped" "$(status CapEff)" 00000000a80425fa
inside "--cap-drop ALL --cap-add CHOWN" --cap-drop ALL --cap-add CAP_CHOWN busybox berth-test-helper caps
is "only CHOWN" "$(status CapEff)" 0000000000000001
inside "--cap-add ALL --cap-drop CHOWN" --cap-add ALL --cap-drop CHOWN busybox berth-test-helper caps
is "all but CHOWN" "$(status CapEff)" "$(printf '%016x' $((0x$hostbnd & ~1)))"
inside "--privileged" --privileged busybox berth-test-helper caps
is "privileged: every cap berth holds" "$(status CapEff)" "$hostbnd"
is "privileged: no seccomp" "$(status Seccomp)" 0
inside "seccomp=unconfined" --security-opt seccomp=unconfined busybox berth-test-helper caps
is "unconfined: no seccomp" "$(status Seccomp)" 0
is "unconfined keeps the default caps" "$(status CapEff)" 00000000a80425fb
fails "unknown capability" 'unknown capability: "NOPE"' b run --rm --cap-add NOPE busybox true
fails "bad --security-opt" 'invalid --security-opt' b run --rm --security-opt bogus busybox true
# a capability the host took from berth's bounding set cannot be added
names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
	NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT
	SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
	AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
	PERFMON BPF CHECKPOINT_RESTORE)
missing=
for ((i = 0; i <= $(cat /proc/sys/kernel/cap_last_cap) && i < ${#names[@]}; i++)); do
	if (((0x$hostbnd >> i & 1) == 0)); then missing=${names[i]}; break; fi
done
if [ -n "$missing" ]; then
	fails "--cap-add of a cap outside the bounding set" "--cap-add $missing: the capability is not in berth's bounding set" \
		b run --rm --cap-add "$missing" busybox true
else
	skip "--cap-add outside the bounding set: the host's bounding set is full"
fi

inside "masked paths" busybox sh -c 'for f in /proc/kcore /proc/keys /proc/timer_list; do [ -e $f ] && wc -c < $f || echo 0; done; ls -A /sys/firmware | wc -l'
is "/proc/kcore, /proc/keys, /proc/timer_list read empty; /sys/firmware is empty" "$(echo $OUT)" "0 0 0 0"
[ -s /proc/keys ] && is "(the host's /proc/keys is not empty)" yes yes
inside "/proc/sys read-only" busybox sh -c 'echo 1 > /proc/sys/kernel/shmmax 2>&1; echo rc=$?'
like "write to /proc/sys fails" "$OUT" 'Read-only file system'
inside "/sys read-only" busybox sh -c 'touch /sys/x 2>&1; echo rc=$?'
like "write to /sys fails" "$OUT" 'Read-only file system'
inside "mount in a container" busybox sh -c 'mount -t tmpfs none /mnt 2>&1; echo rc=$?'
like "mount is refused" "$OUT" '[Pp]ermission denied'
like "mount fails" "$OUT" '^rc=1$'
inside "reboot in a container" busybox sh -c 'reboot -f 2>&1; echo rc=$?'
like "reboot is refused" "$OUT" 'Operation not permitted'
like "reboot fails" "$OUT" 'rc=1$'
devs="fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero"
[ -e /proc/kcore ] && devs="core $devs"
inside "/dev" busybox sh -c 'ls -A /dev | tr "\n" " "'
is "/dev has exactly Docker's nodes" "$(echo $OUT)" "$devs"
inside "/dev nodes" busybox sh -c 'echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c; ls -ln /dev/null /dev/zero /dev/full /dev/tty | awk "{print \$1, \$5, \$6}"'
is "device nodes work" "$(echo $OUT)" "4 4 crw-rw-rw- 1, 7 crw-rw-rw- 1, 3 crw-rw-rw- 5, 0 crw-rw-rw- 1, 5"
inside "/dev mounts" busybox sh -c 'grep -E " /dev(/shm|/pts|/mqueue)? " /proc/self/mounts | cut -d" " -f2,3'
is "/dev, pts, shm, mqueue" "$(echo $OUT)" "/dev tmpfs /dev/pts devpts /dev/shm tmpfs /dev/mqueue mqueue"
# ps writes to a file first: in "ps | wc" ps may look before wc exists
inside "private namespaces" --network none busybox sh -c 'cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d " "; ps -o pid > /tmp/ps.out; wc -l < /tmp/ps.out'
is "network none: only lo; only our processes (sh, ps)" "$(echo $OUT)" "lo 3"

# ---- env ----
printf 'A=1\n# comment\n\nB=two words\r\nFROM_HOST\nNOT_SET_ANYWHERE\nX=file\n' >"$T_DIR/env"
export FROM_HOST=hostval
unset NOT_SET_ANYWHERE
inside "-e and --env-file" -e X=cli --env-file "$T_DIR/env" -e ALSO=1 busybox berth-test-helper env
is "env: Docker's order, -e wins over the file, host values taken" "$(grep -v ^HOSTNAME= <<<"$OUT")" \
	"$(printf 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nA=1\nB=two words\nFROM_HOST=hostval\nX=cli\nALSO=1\nHOME=/root')"
inside "-e overrides PATH and HOME" -e PATH=/bin -e HOME=/h busybox berth-test-helper env
like "PATH replaced in place" "$(head -1 <<<"$OUT")" '^PATH=/bin$'
like "HOME kept" "$OUT" 'HOME=/h'
printf 'OK=1\nBAD LINE=x\n' >"$T_DIR/env.bad"
exits "bad env file line" 125 b run --rm --env-file "$T_DIR/env.bad" busybox true
like "bad env file line message" "$OUT" 'env.bad:2: variable "BAD LINE=x" contains whitespaces'
exits "missing env file" 125 b run --rm --env-file "$T_DIR/nope.env" busybox true
like "missing env file message" "$OUT" "nope.env: No such file"

# ---- workdir, user ----
inside "-w creates a missing dir" -w /a/b/c busybox pwd
is "-w" "$OUT" /a/b/c
inside "-w as another user" -u 1000 -w /newdir busybox sh -c 'stat -c "%u %a" /newdir; touch /newdir/x 2>&1; true'
like "the created dir is root's (as in Docker)" "$OUT" '^0 755'
inside "-w with --read-only" --read-only -w /made/here busybox pwd
is "-w made before the root goes read-only" "$OUT" /made/here
fails "-w relative" 'needs to be an absolute path' b run --rm -w rel busybox true
inside "-u 65534" -u 65534 busybox sh -c 'berth-test-helper ids; grep -E "^(Groups|CapEff)" /proc/self/status; echo "$HOME"'
like "uid 65534" "$OUT" '^uid=65534 gid=65534 euid=65534 '
like "groups: the primary one" "$OUT" 'Groups:	65534 ?$'
like "a user has no caps" "$OUT" 'CapEff:	0000000000000000'
like "HOME from passwd" "$OUT" '/nonexistent$'
inside "-u nobody" -u nobody busybox berth-test-helper ids
like "nobody is 65534" "$OUT" '^uid=65534 gid=65534 euid=65534 '
inside "-u 1000:1000" -u 1000:1000 busybox sh -c 'berth-test-helper ids; id -G; echo "$HOME"'
is "1000:1000" "$OUT" "$(printf 'uid=1000 gid=1000 euid=1000 pid=2 ppid=1\n1000\n/')"
inside "-u 1000 (not in passwd)" -u 1000 busybox id
is "uid without passwd entry gets gid 0" "$OUT" "uid=1000 gid=0(root) groups=0(root)"
inside "-u root" -u root busybox id
is "root" "$OUT" "uid=0(root) gid=0(root) groups=0(root)"
inside "--group-add" --group-add 123 -u nobody busybox id -G
is "--group-add adds a group" "$OUT" "65534 123"
exits "unknown user" 125 b run --rm -u nosuchuser busybox true
like "unknown user message" "$OUT" 'unable to find user nosuchuser: no matching entries in passwd file'
fails "unknown group" 'unable to find group nogroup2' b run --rm -u nobody:nogroup2 busybox true

# ---- entrypoint and cmd ----
inside "image CMD" busybox </dev/null
is "CMD sh with no stdin exits 0" "$OUT" ""
inside "image ENTRYPOINT + CMD" epimg
is "entrypoint + image cmd" "$OUT" "ep default"
inside "args replace CMD" epimg x y
is "entrypoint + args" "$OUT" "ep x y"
inside "--entrypoint drops the image CMD" --entrypoint echo epimg
is "--entrypoint alone" "$OUT" ""
inside "--entrypoint with args" --entrypoint echo epimg only
is "--entrypoint + args" "$OUT" "only"
inside "--entrypoint ''" --entrypoint '' epimg echo blank
is "empty entrypoint: the args alone" "$OUT" "blank"
check "create for inspect" b create --name cmdc epimg a b
track cmdc
is "Path and Args" "$(b inspect -f '{{.Path}} {{json .Args}}' cmdc)" 'echo ["ep","a","b"]'
is "Config.Entrypoint and Cmd" "$(b inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' cmdc)" '["echo","ep"] ["a","b"]'
check "rm created" b rm cmdc

# ---- read-only, tmpfs, volumes, mounts ----
exits "--read-only" 1 b run --rm --read-only busybox touch /x
like "--read-only root" "$OUT" 'Read-only file system'
inside "--read-only with --tmpfs /tmp" --read-only --tmpfs /tmp busybox sh -c 'touch /tmp/x /dev/shm/y && grep " /tmp " /proc/mounts | cut -d" " -f3,4'
is "tmpfs /tmp is writable (nosuid,nodev,noexec like Docker)" "$OUT" "tmpfs rw,nosuid,nodev,noexec,relatime"
inside "--tmpfs /t:exec,size=1m" --tmpfs /t:exec,size=1m busybox sh -c 'printf "#!/bin/sh\necho ran\n" >/t/s && chmod +x /t/s && /t/s && grep " /t " /proc/mounts | cut -d" " -f3,4'
is "--tmpfs options: exec lifts noexec, size is tmpfs's" "$(echo $OUT)" "ran tmpfs rw,nosuid,nodev,relatime,size=1024k"
inside "--tmpfs /t:ro" --tmpfs /t:ro,mode=700 busybox sh -c 'grep " /t " /proc/mounts | cut -d" " -f4; stat -c %a /t'
is "--tmpfs ro and mode" "$(echo $OUT)" "ro,nosuid,nodev,noexec,relatime,mode=700 700"
exits "--tmpfs with an unknown option" 125 b run --rm --tmpfs /t:size=1m,bogus busybox true
like "the unknown tmpfs option is named" "$OUT" 'tmpfs /t: invalid tmpfs option "bogus"'
is "no container left by the refused --tmpfs" "$(b ps -a -q)" ""
mkdir -p "$T_DIR/hd"
echo hostfile >"$T_DIR/hd/f"
inside "-v DIR:/data" -v "$T_DIR/hd:/data" busybox sh -c 'cat /data/f; echo new > /data/g'
is "-v reads the host dir" "$OUT" hostfile
is "-v writes to the host dir" "$(cat "$T_DIR/hd/g")" new
exits "-v DIR:/data:ro" 1 b run --rm -v "$T_DIR/hd:/data:ro" busybox sh -c 'cat /data/f && echo x > /data/h'
like "ro bind message" "$OUT" 'Read-only file system'
is "nothing written on the host" "$(ls "$T_DIR/hd")" "$(printf 'f\ng')"
inside "-v FILE:/etc/x:ro" -v "$T_DIR/hd/f:/etc/x:ro" busybox sh -c 'cat /etc/x; echo >> /etc/x 2>&1; grep " /etc/x " /proc/mounts | cut -d" " -f4 | cut -d, -f1'
# stdout and stderr travel through separate pipes: check each part, not their order
like "file bind, read-only: content" "$OUT" '^hostfile$'
like "file bind, read-only: write refused" "$OUT" "can't create /etc/x: Read-only file system"
like "file bind, read-only: mount option" "$OUT" '^ro$'

exits "-v missing source" 125 b run --rm -v "$T_DIR/missing/sub:/data" busybox true
like "missing source named" "$OUT" "bind source path does not exist: $T_DIR/missing/sub"
is "missing source not created" "$(ls -d "$T_DIR/missing" 2>/dev/null)" ""
is "no container for a refused -v" "$(b ps -a -q)" ""
fails "-v with a bad volume name" 'includes invalid characters for a local volume name' b run --rm -v _vol:/data busybox true
fails "-v relative target" 'mount path must be absolute' b run --rm -v "$T_DIR/hd:data" busybox true
inside "--mount type=bind,readonly" --mount "type=bind,src=$T_DIR/hd,dst=/m,readonly" busybox sh -c 'cat /m/f; touch /m/z 2>&1; true'
like "--mount bind read-only" "$(echo $OUT)" '^hostfile touch: /m/z: Read-only file system$'
inside "--mount type=tmpfs" --mount type=tmpfs,dst=/t,tmpfs-size=1m busybox sh -c 'grep " /t " /proc/mounts | cut -d" " -f3,4'
is "--mount tmpfs with size" "$OUT" "tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k"
fails "--mount bind missing source" 'bind source path does not exist' b run --rm --mount "type=bind,src=$T_DIR/nope,dst=/m" busybox true
fails "--mount with an unknown type" 'type=nfs is not supported yet' b run --rm --mount type=nfs,dst=/x busybox true

# ---- ulimit, sysctl, shm ----
inside "--ulimit nofile=100:200" --ulimit nofile=100:200 busybox sh -c 'ulimit -n; ulimit -Hn'
is "nofile soft and hard" "$(echo $OUT)" "100 200"
fails "--ulimit soft > hard" 'soft limit must be less than or equal to hard limit' b run --rm --ulimit nofile=300:200 busybox true
fails "--ulimit unknown type" 'invalid ulimit type: bogus' b run --rm --ulimit bogus=1 busybox true
fails "--ulimit not a number" 'invalid ulimit argument' b run --rm --ulimit nofile=abc busybox true
inside "--sysctl net.ipv4.ip_forward=1" --sysctl net.ipv4.ip_forward=1 busybox cat /proc/sys/net/ipv4/ip_forward
is "sysctl set" "$OUT" 1
host_somax=$(cat /proc/sys/net/core/somaxconn)
inside "--sysctl net.core.somaxconn=1234" --sysctl net.core.somaxconn=1234 busybox cat /proc/sys/net/core/somaxconn
is "sysctl in the container's netns" "$OUT" 1234
is "the host's value is untouched" "$(cat /proc/sys/net/core/somaxconn)" "$host_somax"
exits "--sysctl kernel.pid_max" 125 b run --rm --sysctl kernel.pid_max=5000 busybox true
like "non-namespaced sysctl refused" "$OUT" "sysctl 'kernel.pid_max' is not allowed"
fails "--sysctl net.* with --network host" 'not allowed in host network namespace' \
	b run --rm --network host --sysctl net.core.somaxconn=1234 busybox true
is "host untouched" "$(cat /proc/sys/net/core/somaxconn)" "$host_somax"
inside "--shm-size 1m" --shm-size 1m busybox df -k /dev/shm
like "/dev/shm is 1 MiB" "$(tail -1 <<<"$OUT")" '^shm +1024 '
inside "default shm" busybox df -k /dev/shm
like "/dev/shm is 64 MiB by default" "$(tail -1 <<<"$OUT")" '^shm +65536 '
fails "--shm-size bad" 'invalid size' b run --rm --shm-size abc busybox true

# ---- --init ----
inside "--init" --init busybox ps -o pid,comm
like "pid 1 is the init" "$OUT" '^ +1 +[^ ]+$'
like "the command is not pid 1" "$(grep ' ps$' <<<"$OUT")" '^ +([2-9]|[1-9][0-9]+) ps$'
inside "--init reaps zombies" --init busybox sh -c 'sh -c "sleep 0.1 &"; sleep 0.6; ps -o stat,comm | grep -c "^Z" || true'
is "no zombie left" "$OUT" 0
exits "--init passes the exit code" 7 b run --rm --init busybox sh -c 'exit 7'
inside "--init: the init holds nothing of the host" --init --cap-add SYS_PTRACE busybox sh -c 'ls /proc/1/fd | tr "\n" " "; grep CapEff /proc/1/status'
is "init: only stdio, the container's caps (+KILL)" "$(echo $OUT)" "0 1 2 CapEff: 00000000a80c25fb"
check "run -d --init" b run -d --init --name initstop busybox sleep 30
track initstop
start=$(date +%s)
check "stop forwards SIGTERM through the init" b stop -t 8 initstop
is "stopped by SIGTERM, not the timeout" "$(( $(date +%s) - start < 5 )):$(b inspect -f '{{.State.ExitCode}}' initstop)" "1:143"
check "rm" b rm initstop

# ---- names, labels ----
check "named run" b run --name dup busybox true
track dup
exits "same name again" 125 b run --name dup busybox true
like "name conflict" "$OUT" 'The container name "/dup" is already in use by container'
is "one container" "$(b ps -a -q | wc -l)" 1
check "rm" b rm dup
fails "invalid name" 'Invalid container name \(bad name!\)' b run --rm --name 'bad name!' busybox true
check "create with labels" b create --name lab -l a=b -l c -l com.x.y=z busybox
track lab
is "labels in inspect" "$(b inspect -f '{{json .Config.Labels}}' lab)" '{"a":"b","c":"","com.x.y":"z"}'
check "rm" b rm lab

# ---- network ----
# (bridges and veths of tests running alongside come and go: not compared)
inside "--network host" --network host busybox sh -c 'hostname; cat /etc/hostname; echo "$HOSTNAME"; cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d " " | grep -vE "^(veth|br-|berth)" | sort'
is "host network: the host's hostname and interfaces" "$OUT" \
	"$(printf '%s\n%s\n%s\n' "$(hostname)" "$(hostname)" "$(hostname)"; cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' ' | grep -vE '^(veth|br-|berth)' | sort)"
# bridge networks: t0400
fails "--network NAME (unknown)" 'network mynet not found' b run --rm --network mynet busybox true
fails "--network container: of a missing container" "No such container: x" b run --rm --network container:x busybox true
fails "-p without a bridge network" 'port publishing needs a bridge network: add --network bridge' b run --rm --network none -p 8080:80 busybox true
is "refused runs made no container" "$(b ps -a -q)" ""

# ---- cgroup limits ----
check "run -d with limits" b run -d -m 64m --cpus 0.5 --pids-limit 20 busybox sleep 30
id=$OUT
IDS+=("$id")
cg=/sys/fs/cgroup
if [ -d "$cg/memory/$CG_PARENT/$id" ]; then
	is "memory.limit_in_bytes" "$(cat "$cg/memory/$CG_PARENT/$id/memory.limit_in_bytes")" 67108864
	[ -f "$cg/memory/$CG_PARENT/$id/memory.memsw.limit_in_bytes" ] &&
		is "memory+swap is twice the memory" "$(cat "$cg/memory/$CG_PARENT/$id/memory.memsw.limit_in_bytes")" 134217728
	is "cpu.cfs_quota_us" "$(cat "$cg/cpu/$CG_PARENT/$id/cpu.cfs_quota_us" "$cg/cpu/$CG_PARENT/$id/cpu.cfs_period_us" | tr '\n' ' ')" "50000 100000 "
	is "pids.max" "$(cat "$cg/pids/$CG_PARENT/$id/pids.max")" 20
	like "the container's process is in it" "$(cat "$cg/memory/$CG_PARENT/$id/cgroup.procs")" '^[0-9]+$'
elif [ -f "$cg/unified/$CG_PARENT/$id/memory.max" ] || [ -f "$cg/$CG_PARENT/$id/memory.max" ]; then
	d=$cg/$CG_PARENT/$id
	[ -d "$d" ] || d=$cg/unified/$CG_PARENT/$id
	is "memory.max" "$(cat "$d/memory.max")" 67108864
	is "cpu.max" "$(cat "$d/cpu.max")" "50000 100000"
	is "pids.max" "$(cat "$d/pids.max")" 20
else
	notok "no cgroup for the container: $(find $cg -maxdepth 3 -name "$id" | head -3)"
fi
check "rm -f" b rm -f "$id"
gone "rm -f" "$id"
inside "--pids-limit is enforced" --pids-limit 5 busybox sh -c 'sh -c "for i in 1 2 3 4 5 6 7 8; do sleep 0.2 & done; wait" 2>&1; wait; echo done'
like "fork fails past the limit" "$OUT" "can't fork"
exits "OOM" 137 b run --name oom -m 8m busybox tail /dev/zero
track oom
is "OOMKilled" "$(b inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom)" "true 137"
check "rm oom" b rm oom
exits "no OOM under the limit" 0 b run --name fine -m 16m busybox sh -c 'head -c 1000000 /dev/zero | wc -c'
track fine
is "not OOMKilled" "$(b inspect -f '{{.State.OOMKilled}}' fine)" false
check "rm" b rm fine
fails "-m 1k" 'Minimum memory limit allowed is 6MB' b run --rm -m 1k busybox true
fails "-m bad" 'invalid size' b run --rm -m lots busybox true
fails "--cpus abc" "invalid value 'abc' for --cpus" b run --rm --cpus abc busybox true
fails "--cpus too many" 'Range of CPUs is from 0.01 to' b run --rm --cpus 100000 busybox true
fails "--pids-limit bad" 'invalid argument "x" for "--pids-limit" flag' b run --rm --pids-limit x busybox true

# ---- nothing left ----
is "no container left" "$(b ps -a -q)" ""
is "no mount left under the store" "$(grep -c " $T_DIR/" /proc/self/mountinfo)" 0
left=
for id in "${IDS[@]}"; do left+=$(find /sys/fs/cgroup -maxdepth 3 -name "$id" 2>/dev/null); done
is "no cgroup left" "$left" ""
is "no state left" "$(ls -A "$ROOT/containers" | grep -v '^\.names$')" ""

# ---- compared with docker ----
if why=$(peer_docker 2>&1) && [ -z "$why" ]; then
	peer_docker
	img=$(peer_ref docker bb)
	docker_track "$img"
	check "tag for docker" b tag busybox "$img"
	if ! OUT=$(b save "$img" | docker load 2>&1); then
		notok "docker load of berth's save"
		printf '#   %s\n' "$OUT"
	else
		ok "docker load of berth's save"
		both() { # DESC ARGS...: same output (stdout and stderr) and exit code from docker run and berth run
			local desc=$1 dout brc bout drc
			shift
			dout=$(dk_run "$@" 2>&1)
			drc=$?
			bout=$(b run --rm --network none "$@" 2>&1)
			brc=$?
			is "docker vs berth: $desc" "$bout (exit $brc)" "$dout (exit $drc)"
		}
		both_rc() { # DESC ARGS...: same exit code; both name the runtime's reason the same way
			local desc=$1 dout brc bout drc
			shift
			dout=$(dk_run "$@" 2>&1)
			drc=$?
			bout=$(b run --rm --network none "$@" 2>&1)
			brc=$?
			is "docker vs berth: $desc: exit code" "$brc" "$drc"
			like "docker vs berth: $desc: berth's message is docker's" "$dout" "$(sed 's/^berth: //; s/[][\\.*^$()+?{}|]/\\&/g' <<<"$bout")"
		}
		both "exit 3" "$img" sh -c 'exit 3'
		both_rc "not found" "$img" nope-not-here
		both_rc "no such file" "$img" /no/such
		both_rc "not executable" "$img" /etc/passwd
		both "CapEff, Seccomp, NoNewPrivs" "$img" berth-test-helper caps
		both "--cap-add/--cap-drop" --cap-add NET_ADMIN --cap-drop CHOWN "$img" sh -c 'grep CapEff /proc/self/status'
		both "/dev listing" "$img" sh -c 'ls -A /dev; ls -ln /dev | grep "^c" | awk "{print \$1, \$5, \$6, \$NF}"'
		both "hostname length, /etc/hosts" "$img" sh -c 'hostname | tr -d "\n" | wc -c; cat /etc/hosts'
		both "-h, /etc/hostname" -h myname "$img" sh -c 'hostname; cat /etc/hostname'
		both "env" -e A=1 "$img" sh -c 'berth-test-helper env | grep -v ^HOSTNAME='
		both "id as root" "$img" id
		for u in nobody 1000:1000 1000; do
			both "-u $u" -u "$u" "$img" sh -c 'id; echo $HOME'
		done
		both "-w as a user" -u 1000 -w /newdir "$img" sh -c 'exec 2>&1; stat -c "%u %a" /newdir; pwd'
		both "masked paths" "$img" sh -c 'exec 2>&1; cat /proc/keys /proc/timer_list | wc -c; ls -A /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/shmmax; touch /sys/x'
		both "mount refused" "$img" mount -t tmpfs none /mnt
		both "ulimits" --ulimit nofile=100:200 "$img" sh -c 'ulimit -n; ulimit -Hn'
		both "read-only + tmpfs" --read-only --tmpfs /tmp "$img" sh -c 'exec 2>&1; grep " /tmp " /proc/mounts | cut -d" " -f3,4; touch /x'
		both "--init pid 1 and exit code" --init "$img" sh -c 'ps -o pid | sed -n 2p; exit 5'
	fi
else
	echo "$why" | grep -m1 '^skip' || skip "docker comparisons: no docker peer"
fi

t_done
