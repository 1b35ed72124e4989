#!/usr/bin/env bash
# The Dockerfiles of examples/ built on the Debian base and run, as a user
# would: flask-hello (apt's python3-flask, WORKDIR, COPY, EXPOSE, CMD)
# answering over a published port, node-app (COPY package*.json, npm
# install from the npm registry, COPY . ., CMD ["npm","start"]) and
# java-two-stage (javac in one stage, the JRE in the other), then a rebuild
# of flask-hello that is all CACHED.
#
# Needs the cached debootstrap tarball (scripts/debian-base.sh makes it;
# scripts/test.sh runs it before the tests) and the apt mirror (the RUN
# steps install packages); skipped with the reason when either is missing.
# The whole test takes ~2-3 min, nearly all of it apt and npm inside RUN
# (java's JDK and JRE stages build side by side); BERTH_TEST_JAVA=0 leaves
# java-two-stage out.
. "$(dirname "$0")/../lib.sh"

CACHE=${BERTH_DEBIAN_CACHE:-/var/cache/berth/debian-bookworm.tar}
[ -s "$CACHE" ] || skip_all "no cached Debian rootfs at $CACHE (make it: scripts/debian-base.sh)"
mirror=$(awk '/^URIs:/ { print $2; exit }' <(tar -xOf "$CACHE" ./etc/apt/sources.list.d/debian.sources 2>/dev/null))
host=${mirror#*://}
host=${host%%/*}
[ -n "$host" ] || skip_all "no apt mirror named in $CACHE"
timeout 5 bash -c "exec 3<>/dev/tcp/$host/80" 2>/dev/null \
	|| skip_all "the apt mirror $host is unreachable (the RUN steps install packages)"
export BERTH BERTH_RUNROOT=$RUNROOT
EX=$TOP/examples
CTRS=()

cleanup_t0513() {
	local c
	for c in "${CTRS[@]}"; do b rm -f "$c" >/dev/null 2>&1; done
	t_cleanup
}
trap cleanup_t0513 EXIT


# a free port on 127.0.0.1 (tests run in parallel)
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	echo $((20000 + RANDOM % 30000))
}

check "import the Debian base" bash "$TOP/scripts/debian-base.sh" --cached --root "$ROOT"

# ---- flask-hello: answers over a published port ----
check "build flask-hello" b build -t t0513-flask "$EX/flask-hello"
like "it ran apt in a RUN step" "$OUT" 'Setting up python3-flask'
port=$(free_port)
name=t0513-flask-$$
CTRS+=("$name")
check "run flask-hello -p $port:8000" b run -d --name "$name" -p "127.0.0.1:$port:8000" t0513-flask
if wait_for 30 curl -fsS "http://127.0.0.1:$port/"; then
	is "flask answers through the published port" "$OUT" "Hello World!"
else
	notok "flask did not answer on port $port: $OUT"
	b logs "$name" 2>&1 | tail -5 | sed 's/^/#   /'
fi
check "stop flask" b rm -f "$name"

# ---- node-app: npm install from the registry, npm start ----
check "build node-app" b build -t t0513-node "$EX/node-app"
like "npm installed the dependency" "$OUT" 'added [0-9]+ package'
port=$(free_port)
name=t0513-node-$$
CTRS+=("$name")
check "run node-app" b run -d --name "$name" -p "127.0.0.1:$port:3000" t0513-node
if wait_for 30 curl -fsS "http://127.0.0.1:$port/"; then
	like "node answers (with the npm dependency)" "$OUT" '^Hello from Node v[0-9.]+, up for [0-9]+ (ms|milliseconds|second|seconds)$'
else
	notok "node did not answer on port $port: $OUT"
fi
wait_for 5 sh -c "'$BERTH' --root '$ROOT' --runroot '$RUNROOT' logs '$name' 2>&1 | grep 'listening on port 3000'"
like "npm start's output" "$OUT" 'listening on port 3000'
check "stop node" b rm -f "$name"

# ---- java-two-stage: javac in one stage, the JRE in the other ----
if [ "${BERTH_TEST_JAVA:-1}" = 0 ]; then
	skip "java-two-stage (BERTH_TEST_JAVA=0)"
else
	check "build java-two-stage" b build -t t0513-java "$EX/java-two-stage"
	check "run java-two-stage" b run --rm --network none t0513-java
	like "java's output" "$OUT" '^Hello, World! \(Java 17[0-9.]*\)$'
	check "arguments after the ENTRYPOINT" b run --rm --network none t0513-java berth build
	like "java's output with arguments" "$OUT" '^Hello, berth build! '
	if b run --rm --network none --entrypoint sh t0513-java -c 'command -v javac' >/dev/null 2>&1; then
		notok "the runtime image has javac (the JDK stage leaked)"
	else
		ok "the runtime image has no JDK"
	fi
fi

# ---- rebuild: nothing changed, every step CACHED ----
t0=$(date +%s%N)
check "rebuild flask-hello" b build -t t0513-flask "$EX/flask-hello"
ms=$((($(date +%s%N) - t0) / 1000000))
is "RUN, WORKDIR and COPY all CACHED" "$(grep -c ' CACHED$' <<<"$OUT")" 3
if grep -Eq '^#[0-9]+ [0-9.]+ ' <<<"$OUT"; then notok "a RUN ran again"; else ok "no RUN ran again (${ms} ms)"; fi

is "no containers left" "$(b ps -a -q 2>&1)" ""
store_clean "after the builds"
t_done
