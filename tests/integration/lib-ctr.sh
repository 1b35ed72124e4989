# tests/integration/lib-ctr.sh - helpers for the container tests. Source it
# after tests/lib.sh (and lib-peers.sh, when used): it sets the EXIT trap
# that removes every container of the test before the store goes.
# shellcheck shell=bash

# run_d ARGS...: b run -d ARGS, remembering the container for the final
# leftover check; prints the ID.
run_d() {
	local id
	id=$(b run -d "$@") || return
	echo "$id" >>"$T_DIR/ids"
	echo "$id"
}

# alive PID: the process exists and is not a zombie (whoever reaps here
# may be slow: a zombie is dead for our purposes)
alive() {
	local st
	st=$(sed -E 's/.*\) (.) .*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; false
# when it did not within SECONDS.
wait_until() {
	local n=$(( $1 * 10 )); shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	"$@" >/dev/null 2>&1
}

# has_log CTR TEXT: the container's log (both streams) has TEXT
has_log() { b logs "$1" 2>&1 | grep -q -- "$2"; }
# state_is CTR TEMPLATE-OUTPUT: inspect -f '{{.State.Status}} {{.RestartCount}}'
state_is() { [ "$(b inspect -f '{{.State.Status}} {{.RestartCount}}' "$1" 2>&1)" = "$2" ]; }
# status_like CTR REGEX: the ps STATUS column of CTR matches
status_like() { b ps -a --format '{{.Names}} {{.Status}}' | grep -Eq -- "^$1 $2"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# monitor_pid CTR: the MonitorPid recorded in state.json
monitor_pid() {
	local id
	id=$(b inspect -f '{{.Id}}' "$1") || return 1
	grep -o '"MonitorPid":[0-9]*' "$ROOT/containers/$id/state.json" | cut -d: -f2
}

# cgroup_dirs ID: the container's cgroup directories (v1 and v2)
cgroup_dirs() {
	ls -d /sys/fs/cgroup/*/berth/"$1" /sys/fs/cgroup/berth/"$1" 2>/dev/null
}

# procs_in ID: processes whose cgroup path names the container
procs_in() {
	grep -l -- "/berth/$1" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 | while read -r p; do
		alive "$p" && echo "$p"
	done
}

# all_ids: every container this test made (removed or not)
all_ids() {
	{ cat "$T_DIR/ids" 2>/dev/null; ls "$ROOT/containers" 2>/dev/null; } | grep -E '^[0-9a-f]{64}$' | sort -u
}

# leftovers: what is left of this test's containers, one line each
leftovers() {
	local id
	for id in $(all_ids); do
		cgroup_dirs "$id" | sed 's/^/cgroup /'
		procs_in "$id" | sed "s/^/process in ${id:0:12}: /"
	done
	# monitors are forks of the CLI: they carry its command line
	pgrep -f -- "--root $ROOT " | sed 's/^/berth process /'
	awk -v d="$T_DIR" 'index($2, d) == 1 {print "mount " $2}' /proc/mounts
}

# check_clean DESC: remove all containers, then nothing may be left
check_clean() {
	local ids left
	all_ids >"$T_DIR/ids.all"
	ids=$(b ps -aq --no-trunc 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || b rm -f $ids >/dev/null 2>&1
	is "$1: no containers left" "$(b ps -aq 2>&1)" ""
	cp "$T_DIR/ids.all" "$T_DIR/ids"
	left=$(leftovers)
	is "$1: no process, cgroup or mount left" "$left" ""
}

ctr_cleanup() {
	local ids
	[ -x "$BERTH" ] && [ -d "$ROOT/containers" ] || return 0
	ids=$(b ps -aq --no-trunc 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || b rm -f $ids >/dev/null 2>&1
	# containers whose config never got written are not listed: their cgroups
	local id cg
	for id in $(all_ids); do
		for cg in $(cgroup_dirs "$id"); do
			for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			rmdir "$cg" 2>/dev/null
		done
	done
	for p in $(pgrep -f -- "--root $ROOT "); do kill -9 "$p" 2>/dev/null; done
	return 0
}
if declare -F peer_cleanup >/dev/null; then
	trap 'ctr_cleanup; peer_cleanup; t_cleanup' EXIT
else
	trap 'ctr_cleanup; t_cleanup' EXIT
fi
