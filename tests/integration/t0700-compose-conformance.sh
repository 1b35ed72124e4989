#!/usr/bin/env bash
# compose loader conformance: the awesome-compose samples, compose-go's
# loader/cli testdata and full-example.yml (../shared/conformance), plus
# bad input (file:line and path in the message) and config's output modes.
. "$(dirname "$0")/../lib.sh"

CONF=$SHARED/conformance
cfg() { b compose "$@"; }
cfgq() { b compose "$@" 2>/dev/null; }

# ---- awesome-compose: every sample loads and `config` succeeds ----
if [ -d "$CONF/awesome-compose" ]; then
	n=0 bad=""
	for f in "$CONF"/awesome-compose/*/compose.y*ml; do
		n=$((n + 1))
		cfg -f "$f" config >/dev/null 2>"$T_DIR/err" || bad="$bad $(basename "$(dirname "$f")"): $(head -1 "$T_DIR/err")"
	done
	is "awesome-compose: all $n samples load" "${bad:-none}" none
	is "awesome-compose: 39 samples" "$n" 39
else
	skip "awesome-compose not in $CONF"
fi

# ---- compose-go loader testdata ----
LD=$CONF/compose/compose-go/loader
if [ -d "$LD" ]; then
	TD=$LD/testdata
	fails "cycle" 'dependency cycle detected: service1 -> service2 -> service3 -> service1' cfg -f "$TD/compose-depends-on-cycle.yaml" config -q
	fails "self cycle" 'dependency cycle detected: service1 -> service1' cfg -f "$TD/compose-depends-on-self.yaml" config -q
	fails "include cycle" 'include cycle detected' cfg -f "$TD/compose-include-cycle.yaml" config -q
	fails "empty file" 'empty compose file' cfg -f "$TD/empty.yaml" config -q
	check "compose-test-with-version loads" cfg -f "$TD/compose-test-with-version.yaml" config -q
	like "version is obsolete warning" "$OUT" 'version.*obsolete'
	(cd "$TD" && b compose -f compose-test-extends.yaml config --format json) >"$T_DIR/ext.json" 2>&1
	like "extends from another file" "$(python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))["services"]["importer"]
print(d["image"], d["container_name"], d["environment"]["SOURCE"], d["env_file"][0]["path"].endswith("subdir/extra.env"), d["env_file"][0]["required"], d["volumes"][0]["source"], d["volumes"][0]["target"])' "$T_DIR/ext.json" 2>&1)" '^nginx imported extends True True /opt/data /var/lib/mysql$'
	cfg -f "$TD/compose-test-extends-with-context-url.yaml" config --format json >"$T_DIR/url.json" 2>&1
	like "build context URL stays a URL" "$(python3 -c '
import json,sys
for s in json.load(open(sys.argv[1]))["services"].values():
    b=s.get("build")
    if b: print(b["context"], b["dockerfile"])' "$T_DIR/url.json" 2>&1)" '^https://github.com/docker/compose.git Dockerfile$'
	n=0 bad=""
	for f in "$TD"/compose-include.yaml "$TD"/extends/{depends_on,interpolated,nested,ports,reset,sibling}.yaml \
		"$TD"/include/{compose,included,project-directory}.yaml "$TD"/combined/compose.yaml "$TD"/extends/withdir/compose.yaml; do
		n=$((n + 1))
		cfg -f "$f" config -q 2>"$T_DIR/err" || bad="$bad $f: $(head -1 "$T_DIR/err")"
	done
	is "loader testdata: $n extends/include cases load" "${bad:-none}" none
	# reset.yaml: `command: !reset` drops the inherited command
	like "!reset in extends" "$(cfg -f "$TD/extends/reset.yaml" config --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["services"]["base"].get("command"))')" '^None$'
	# full-example.yml depends on db/redis it does not define (upstream's test skips that check)
	fails "full-example: undefined depends_on named" 'service "foo" depends on undefined service "db"' cfg -f "$LD/full-example.yml" config -q
	printf 'services:\n  db: {image: db}\n  redis: {image: redis}\nnetworks:\n  other-other-network: {}\nvolumes:\n  datavolume: {}\n' >"$T_DIR/dbredis.yaml"
	check "full-example.yml loads (with db, redis, a network and a volume it uses defined)" cfgq -f "$LD/full-example.yml" -f "$T_DIR/dbredis.yaml" config --format json
	like "full-example: ports normalized" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin)["services"]["foo"]; print(len(d["ports"]), d["ports"][0], d["secrets"][1]["mode"] if "mode" in d["secrets"][1] else "")' 2>&1)" '^[0-9]+ \{.*target'
else
	skip "compose-go loader testdata not in $CONF"
fi

# ---- compose-go cli testdata: env files and project names ----
CD=$CONF/compose/compose-go/cli/testdata
if [ -d "$CD" ]; then
	check "cli/simple loads" cfg -f "$CD/simple/compose.yaml" config -q
	check "UNNORMALIZED PATH loads" cfg -f "$CD/UNNORMALIZED PATH/compose.yaml" config -q
	check "env-file testdata loads" cfg -f "$CD/env-file/compose-with-env-file.yaml" config -q
else
	skip "compose-go cli testdata not in $CONF"
fi

# ---- our own cases ----
P=$T_DIR/My_Proj.X
mkdir -p "$P/sub"
cat >"$P/compose.yaml" <<'Y'
x-base: &base
  restart: always
services:
  web:
    <<: *base
    build: .
    command: echo "a b" c
    ports: ["8080:80", "9000-9001:9000-9001/udp"]
    volumes: ["./data:/data:ro", "named:/v"]
    environment:
      - FROM_DOTENV=${FROM_DOTENV}
      - DEFAULTED=${NOPE_UNSET:-dflt}
      - UNSET=$T0700_UNSET
    depends_on: [db]
    healthcheck:
      test: curl -f http://localhost
      interval: 30s
  db:
    image: postgres
    profiles: [dbp]
  tool:
    image: busybox
    profiles: [debug]
volumes:
  named: {}
Y
printf 'FROM_DOTENV=dotenv\nOTHER=${FROM_DOTENV}-x\n' >"$P/.env"
printf 'services:\n  web:\n    command: [override]\n    ports: ["8080:80"]\n' >"$P/compose.override.yaml"
(cd "$P/sub" && b compose --profile dbp config --format json >"$T_DIR/c.json" 2>"$T_DIR/c.err")
rcj=$?
is "discovery from a subdirectory + override" "$rcj" 0
like "project name from the directory, lower-cased" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$T_DIR/c.json")" '^my_projx$'
like "normalized service" "$(python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); w=d["services"]["web"]
print(w["command"], len(w["ports"]), w["ports"][0]["published"], w["volumes"][0]["type"], w["volumes"][0]["read_only"], w["environment"]["FROM_DOTENV"], w["environment"]["DEFAULTED"], repr(w["environment"]["UNSET"]), w["healthcheck"]["test"][0], w["depends_on"]["db"]["condition"], w["restart"], d["networks"]["default"]["name"], d["volumes"]["named"]["name"], sorted(d["services"]))' "$T_DIR/c.json" 2>&1)" \
	"^\['override'\] 3 8080 bind True dotenv dflt '' CMD-SHELL service_started always my_projx_default my_projx_named \['db', 'web'\]$"
like "unset variable warns once" "$(cat "$T_DIR/c.err")" 'The "T0700_UNSET" variable is not set'
export T0700_UNSET=
fails "disabled dependency" 'depends on service "db" which is disabled' b compose -f "$P/compose.yaml" config -q
is "--services" "$(b compose -f "$P/compose.yaml" --profile '*' config --services | tr '\n' ' ')" "web db tool "
is "--profiles" "$(b compose -f "$P/compose.yaml" config --profiles | tr '\n' ' ')" "dbp debug "
is "--images" "$(b compose -f "$P/compose.yaml" --profile dbp config --images | tr '\n' ' ')" "my_projx-web postgres "
is "--volumes" "$(b compose -f "$P/compose.yaml" --profile dbp config --volumes)" "named"
like "--hash" "$(b compose -f "$P/compose.yaml" --profile dbp config --hash web)" '^web [0-9a-f]{64}$'
is "-p wins" "$(b compose -f "$P/compose.yaml" -p other --profile dbp config --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')" other
is "COMPOSE_PROJECT_NAME" "$(COMPOSE_PROJECT_NAME=envname b compose -f "$P/compose.yaml" --profile dbp config --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')" envname
is "shell env beats .env" "$(FROM_DOTENV=shell b compose -f "$P/compose.yaml" --profile dbp config --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["services"]["web"]["environment"]["FROM_DOTENV"])')" shell
is "COMPOSE_PROFILES" "$(COMPOSE_PROFILES=dbp,debug b compose -f "$P/compose.yaml" config --services | wc -l)" 3
check "-f - reads stdin" sh -c "printf 'services:\n  s: {image: x}\n' | '$BERTH' compose -f - -p stdin config -q"
check "-o FILE" b compose -f "$P/compose.yaml" --profile dbp config -o "$T_DIR/out.yaml"
like "-o wrote YAML" "$(head -1 "$T_DIR/out.yaml")" '^name: my_projx$'
like "--no-interpolate keeps \${...}" "$(b compose -f "$P/compose.yaml" --profile dbp config --no-interpolate 2>&1)" 'NOPE_UNSET:-dflt'
fails "invalid project name" 'invalid project name' b compose -f "$P/compose.yaml" -p 'Bad Name' config -q

# ---- bad input: file, line and path in the message ----
B=$T_DIR/bad
mkdir -p "$B"
printf 'services:\n  web:\n    image: x\n    ports:\n      - "80:abc"\n' >"$B/port.yaml"
fails "invalid port" 'port.yaml:5: services.web.ports\[0\]: invalid port "80:abc"' b compose -f "$B/port.yaml" config -q
printf 'services:\n  web:\n    image: x\n    volumes: ["a:/b:nope"]\n' >"$B/vol.yaml"
fails "invalid volume" 'vol.yaml:4: services.web.volumes\[0\]: invalid volume' b compose -f "$B/vol.yaml" config -q
printf 'services:\n  web:\n    image: x\n    colour: red\n' >"$B/key.yaml"
fails "unknown key" 'key.yaml:4: services.web: additional property "colour" is not allowed' b compose -f "$B/key.yaml" config -q
printf 'services:\n  web:\n    image: x\n    env_file: missing.env\n' >"$B/envf.yaml"
fails "missing env_file" 'envf.yaml:4: services.web: env file .*missing.env not found' b compose -f "$B/envf.yaml" config -q
printf 'services:\n  web:\n    image: x\n    ports: [a\n' >"$B/syn.yaml"
fails "YAML syntax error" 'syn.yaml:[0-9]+: yaml: ' b compose -f "$B/syn.yaml" config -q
printf 'services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n' >"$B/cyc.yaml"
fails "dependency cycle" 'dependency cycle detected: a -> b -> a' b compose -f "$B/cyc.yaml" config -q
printf 'services:\n  web:\n    image: x\n    depends_on: [ghost]\n' >"$B/ghost.yaml"
fails "unknown service in depends_on" 'ghost.yaml:3: service "web" depends on undefined service "ghost"' b compose -f "$B/ghost.yaml" config -q
printf 'services:\n  web:\n    image: ${NEED:?set NEED}\n' >"$B/req.yaml"
fails "required variable" 'req.yaml:3: services.web.image: required variable NEED is missing a value: set NEED' b compose -f "$B/req.yaml" config -q
fails "no compose file" 'no configuration file provided' sh -c "cd '$B' && '$BERTH' compose config -q"

exit $((T_FAILS > 0))
