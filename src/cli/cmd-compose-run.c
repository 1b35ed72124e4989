/* berth compose run SERVICE [COMMAND...]: a one-off container of a
 * service (PROJECT-SERVICE-run-<hex>), its dependencies brought up first
 * (unless --no-deps), then attached like `docker compose run` (a tty
 * when both ends are terminals, unless -T) or detached with -d. */
#include "cli/compose.h"
#include "compose/images.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char run_usage[] =
	"\nUsage:  berth compose run [OPTIONS] SERVICE [COMMAND] [ARGS...]\n\nRun a one-off command on a service\n\n"
	"Options:\n"
	"      --build                Build image before starting container\n"
	"  -d, --detach               Run container in background and print container name\n"
	"      --entrypoint string    Override the entrypoint of the image\n"
	"  -e, --env stringArray      Set environment variables\n"
	"  -i, --interactive          Keep STDIN open even if not attached (default true)\n"
	"  -l, --label stringArray    Add or override a label\n"
	"      --name string          Assign a name to the container\n"
	"  -T, --no-TTY               Disable pseudo-TTY allocation\n"
	"      --no-deps              Don't start linked services\n"
	"  -p, --publish stringArray  Publish a container's port(s) to the host\n"
	"      --pull string          Pull image before running (\"always\"|\"missing\"|\"never\")\n"
	"      --remove-orphans       Remove containers for services not defined in the Compose file\n"
	"      --rm                   Automatically remove the container when it exits\n"
	"      --service-ports        Run command with all service's ports enabled and mapped to the host\n"
	"      --use-aliases          Use the service's network aliases in the network(s) the container connects to\n"
	"  -u, --user string          Run as specified username or uid\n"
	"  -v, --volume stringArray   Bind mount a volume\n"
	"  -w, --workdir string       Working directory inside the container\n";

COMPOSE_CMD(run)
{
	enum { O_BUILD = 1000, O_ENTRY, O_NAME, O_NODEPS, O_PULL, O_RM, O_SPORTS, O_ALIASES, O_ORPHANS, O_QPULL,
	       O_HELP, O_CAPADD, O_CAPDROP };
	static const struct option opts[] = {
		{"build", no_argument, 0, O_BUILD},     {"detach", no_argument, 0, 'd'},
		{"entrypoint", required_argument, 0, O_ENTRY}, {"env", required_argument, 0, 'e'},
		{"label", required_argument, 0, 'l'},  {"name", required_argument, 0, O_NAME},
		{"no-TTY", no_argument, 0, 'T'},       {"no-deps", no_argument, 0, O_NODEPS},
		{"publish", required_argument, 0, 'p'}, {"pull", required_argument, 0, O_PULL},
		{"rm", no_argument, 0, O_RM},          {"service-ports", no_argument, 0, O_SPORTS},
		{"use-aliases", no_argument, 0, O_ALIASES}, {"user", required_argument, 0, 'u'},
		{"volume", required_argument, 0, 'v'}, {"workdir", required_argument, 0, 'w'},
		{"interactive", optional_argument, 0, 'i'}, {"tty", optional_argument, 0, 't'},
		{"remove-orphans", no_argument, 0, O_ORPHANS}, {"quiet-pull", no_argument, 0, O_QPULL},
		{"cap-add", required_argument, 0, O_CAPADD}, {"cap-drop", required_argument, 0, O_CAPDROP},
		{"help", no_argument, 0, O_HELP},      {0},
	};
	_cleanup_json_ json_t *env = json_array();
	_cleanup_json_ json_t *labels = json_array();
	_cleanup_json_ json_t *vols = json_array();
	_cleanup_json_ json_t *ports = json_array();
	_cleanup_json_ json_t *cmd = json_array();
	struct compose_run_opts ro = {.env = env, .labels = labels, .volumes = vols, .ports = ports, .command = cmd,
				      .interactive = true};
	bool detach = false, no_tty = false, no_deps = false, orphans = false;
	/* -i and -t are on by default in docker compose run: -i (alone) changes
	 * nothing, --interactive=false keeps stdin closed; -t forces a tty even
	 * when stdin or stdout is no terminal */
	bool interactive = true, tty = true, tty_set = false;
	int build = COMPOSE_BUILD_AUTO;
	const char *pull = NULL;
	int o;
	optind = 0;
	/* "+": options stop at the service; what follows is the command */
	while ((o = getopt_long(argc, argv, "+de:l:Tp:u:v:w:it", opts, NULL)) != -1) {
		switch (o) {
		case O_BUILD: build = COMPOSE_BUILD_ALWAYS; break;
		case 'd': detach = true; break;
		case O_ENTRY: ro.entrypoint = optarg; break;
		case 'e': json_array_append_new(env, json_string(optarg)); break;
		case 'l': json_array_append_new(labels, json_string(optarg)); break;
		case O_NAME: ro.name = optarg; break;
		case 'T': no_tty = true; break;
		case O_NODEPS: no_deps = true; break;
		case 'p': json_array_append_new(ports, json_string(optarg)); break;
		case O_PULL:
			if (strcmp(optarg, "always") && strcmp(optarg, "missing") && strcmp(optarg, "never")) {
				fprintf(stderr, "Error: invalid --pull option \"%s\"\n", optarg);
				return 1;
			}
			pull = optarg;
			break;
		case O_RM: ro.rm = true; break;
		case O_SPORTS: ro.service_ports = true; break;
		case O_ALIASES: ro.use_aliases = true; break;
		case 'u': ro.user = optarg; break;
		case 'v': json_array_append_new(vols, json_string(optarg)); break;
		case 'w': ro.workdir = optarg; break;
		case 'i':
			if (compose_cli_bool_flag("-i, --interactive", optarg, &interactive) < 0)
				return 1;
			break;
		case 't':
			if (compose_cli_bool_flag("-t, --tty", optarg, &tty) < 0)
				return 1;
			tty_set = true;
			break;
		case O_ORPHANS: orphans = true; break;
		case O_QPULL: cc->quiet_pull = true; break;
		case O_CAPADD: case O_CAPDROP:
			fprintf(stderr, "Error: --cap-add/--cap-drop on compose run are not supported by berth; set cap_add/cap_drop on the service\n");
			return 1;
		case O_HELP: fputs(run_usage, stdout); return 0;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	if (optind >= argc)
		return cli_usage_error(cc->c, "requires at least 1 argument.");
	ro.service = argv[optind];
	json_t *svcs = json_object_get(cc->p->doc, "services");
	if (!json_object_get(svcs, ro.service)) {
		fprintf(stderr, "Error: no such service: %s\n", ro.service);
		return 1;
	}
	for (int i = optind + 1; i < argc; i++)
		json_array_append_new(cmd, json_string(argv[i]));
	if (tty_set && no_tty) {
		fprintf(stderr, "Error: --tty and --no-TTY can't be used together\n");
		return 1;
	}
	ro.tty = tty_set ? tty : !no_tty && !detach && isatty(0) && isatty(1);
	ro.interactive = !detach && interactive;

	struct berr *e = NULL;
	_cleanup_json_ json_t *sel = NULL;
	char *one = (char *)ro.service;
	if (compose_select(svcs, &one, 1, no_deps, &sel, &e) < 0)
		return cli_fail(e);
	_cleanup_json_ json_t *waves = NULL;
	if (compose_graph_waves(svcs, &waves, &e) < 0)
		return cli_fail(e);
	if (compose_cli_images(cc, sel, build, pull) < 0)
		return 1;
	/* the dependencies: up -d, then their conditions */
	_cleanup_json_ json_t *deps = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(sel, i, s) if (strcmp(json_string_value(s), ro.service)) json_array_append(deps, s);
	/* orphans: removed with --remove-orphans, else warned about, by up
	 * with the dependencies or on their own, as docker compose run */
	if (json_array_size(deps)) {
		struct compose_up_opts uo = {.services = deps, .timeout = -1, .remove_orphans = orphans};
		if (compose_up(&cc->e, &uo, &e) < 0 || compose_wait_deps(&cc->e, ro.service, 0, &e) < 0)
			return cli_fail(e);
	} else if (compose_orphans(&cc->e, orphans, -1, &e) < 0) {
		return cli_fail(e);
	}
	char id[65];
	_cleanup_free_ char *name = NULL;
	if (compose_run_create(&cc->e, &ro, id, &name, &e) < 0)
		return cli_fail(e);
	if (detach) {
		struct monitor_attach ma = {.attach = false, .in = -1, .out = -1, .err = -1};
		int code;
		if (ctr_start(cc->e.cs, id, &ma, NULL, &code, &e) < 0) {
			cli_fail(e);
			if (!ro.rm)
				return code ? code : 1;
			ctr_rm(cc->e.cs, id, true, NULL);
			return code ? code : 1;
		}
		printf("%s\n", name);
		return 0;
	}
	/* attached: berth start -a(i), which proxies signals, sizes the tty
	 * and returns the container's exit code (--rm: after removal) */
	char *sargv[] = {"start", "-a", ro.interactive ? "-i" : "-a", name, NULL};
	cc->c->cmd = "start";
	return cmd_start(cc->c, 4, sargv);
}
