/* berth compose up / create: converge the project, then (up without -d)
 * follow the output of the services attached to (those named, with
 * --attach-dependencies their dependencies, or --attach ones) until the
 * containers stop or Ctrl-C. */
#include "cli/compose.h"
#include "compose/images.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The flags up and create share (docker compose v2's create takes these),
 * then those of up alone. */
#define SHARED_OPTS                                                                                     \
	{"build", no_argument, 0, O_BUILD}, {"no-build", no_argument, 0, O_NOBUILD},                     \
	{"pull", required_argument, 0, O_PULL}, {"force-recreate", no_argument, 0, O_FORCE},             \
	{"no-recreate", no_argument, 0, O_NORECREATE}, {"remove-orphans", no_argument, 0, O_ORPHANS},   \
	{"scale", required_argument, 0, O_SCALE}, {"quiet-pull", no_argument, 0, O_QUIETPULL},          \
	{"timeout", required_argument, 0, 't'}, {"no-deps", no_argument, 0, O_NODEPS}

static int up_or_create(struct compose_cli *cc, int argc, char **argv, bool is_up)
{
	enum { O_BUILD = 1000, O_NOBUILD, O_PULL, O_FORCE, O_NORECREATE, O_ORPHANS, O_SCALE, O_WAIT, O_WAITTO,
	       O_ABORT, O_EXITFROM, O_NODEPS, O_NOSTART, O_NOCOLOR, O_NOPREFIX, O_QUIETPULL, O_TS, O_ATTACHDEPS,
	       O_ATTACH, O_NOATTACH };
	static const struct option up_opts[] = {
		SHARED_OPTS,
		{"detach", no_argument, 0, 'd'},           {"wait", no_argument, 0, O_WAIT},
		{"wait-timeout", required_argument, 0, O_WAITTO},
		{"abort-on-container-exit", no_argument, 0, O_ABORT}, {"exit-code-from", required_argument, 0, O_EXITFROM},
		{"no-start", no_argument, 0, O_NOSTART},   {"no-color", no_argument, 0, O_NOCOLOR},
		{"no-log-prefix", no_argument, 0, O_NOPREFIX}, {"timestamps", no_argument, 0, O_TS},
		{"attach-dependencies", no_argument, 0, O_ATTACHDEPS}, {"attach", required_argument, 0, O_ATTACH},
		{"no-attach", required_argument, 0, O_NOATTACH},
		{0},
	};
	/* create never starts nor attaches: up's other flags are unknown to it */
	static const struct option create_opts[] = {SHARED_OPTS, {0}};
	struct compose_up_opts uo = {.timeout = -1};
	struct compose_logs_opts lo = {.follow = true, .tail = -1, .stop_when_all_exit = true};
	_cleanup_json_ json_t *scale = json_object();
	_cleanup_json_ json_t *attach = json_array();
	_cleanup_json_ json_t *no_attach = json_array();
	uo.scale = scale;
	bool detach = !is_up, no_deps = false, attach_deps = false, wait = false;
	int build = COMPOSE_BUILD_AUTO;
	const char *pull = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, is_up ? "dt:" : "t:", is_up ? up_opts : create_opts, NULL)) != -1) {
		switch (o) {
		case 'd': detach = true; break;
		case O_BUILD:
			if (build == COMPOSE_BUILD_NEVER)
				goto build_conflict;
			build = COMPOSE_BUILD_ALWAYS;
			break;
		case O_NOBUILD:
			if (build == COMPOSE_BUILD_ALWAYS)
				goto build_conflict;
			build = COMPOSE_BUILD_NEVER;
			break;
		case O_QUIETPULL: cc->quiet_pull = true; break;
		case O_ATTACHDEPS: attach_deps = true; break;
		case O_ATTACH: json_array_append_new(attach, json_string(optarg)); break;
		case O_NOATTACH: json_array_append_new(no_attach, json_string(optarg)); break;
		case O_PULL:
			if (strcmp(optarg, "missing") && strcmp(optarg, "never") && strcmp(optarg, "always") &&
			    strcmp(optarg, "build")) {
				fprintf(stderr, "Error: invalid --pull option \"%s\"\n", optarg);
				return 1;
			}
			pull = optarg;
			break;
		case O_FORCE: uo.force_recreate = true; break;
		case O_NORECREATE: uo.no_recreate = true; break;
		case O_ORPHANS: uo.remove_orphans = true; break;
		case O_SCALE: {
			const char *eq = strchr(optarg, '=');
			char *end;
			long n = eq ? strtol(eq + 1, &end, 10) : -1;
			if (!eq || *end || eq[1] == 0 || n < 0 || n > COMPOSE_MAX_REPLICAS) {
				fprintf(stderr, "Error: invalid --scale value \"%s\" (SERVICE=NUM)\n", optarg);
				return 1;
			}
			_cleanup_free_ char *s = strndup(optarg, (size_t)(eq - optarg));
			if (!json_object_get(json_object_get(cc->p->doc, "services"), s)) {
				fprintf(stderr, "Error: no such service: %s\n", s);
				return 1;
			}
			json_object_set_new(scale, s, json_integer(n));
			break;
		}
		case O_WAIT: uo.wait = wait = true; break;
		case O_WAITTO:
			if (compose_cli_int_flag("--wait-timeout", optarg, &uo.wait_timeout) < 0)
				return 1;
			break;
		case O_ABORT: lo.abort_on_exit = true; break;
		case O_EXITFROM: lo.exit_code_from = optarg; lo.abort_on_exit = true; break;
		case 't':
			if (compose_cli_int_flag("-t, --timeout", optarg, &uo.timeout) < 0)
				return 1;
			break;
		case O_NODEPS: no_deps = true; break;
		case O_NOSTART: uo.no_start = true; break;
		case O_NOCOLOR: lo.no_color = true; break;
		case O_NOPREFIX: lo.no_prefix = true; break;
		case O_TS: lo.timestamps = true; break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	/* docker compose's checks, in its order */
	bool attaching = attach_deps || lo.abort_on_exit || json_array_size(attach);
	if (wait && attaching) {
		fprintf(stderr, "Error: --wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies\n");
		return 1;
	}
	detach = detach || wait;
	if (detach && attaching) {
		fprintf(stderr, "Error: --detach cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies\n");
		return 1;
	}
	if (uo.force_recreate && uo.no_recreate) {
		fprintf(stderr, "Error: --force-recreate and --no-recreate are incompatible\n");
		return 1;
	}
	if (json_array_size(attach) && attach_deps) {
		fprintf(stderr, "Error: cannot combine --attach and --attach-dependencies\n");
		return 1;
	}
	if (lo.exit_code_from && !json_object_get(json_object_get(cc->p->doc, "services"), lo.exit_code_from)) {
		fprintf(stderr, "Error: no such service: %s\n", lo.exit_code_from);
		return 1;
	}
	if (!is_up)
		uo.no_start = true;
	_cleanup_json_ json_t *sel = NULL;
	struct berr *e = NULL;
	if (compose_select(json_object_get(cc->p->doc, "services"), argv + optind, (size_t)(argc - optind), no_deps, &sel,
			   &e) < 0)
		return cli_fail(e);
	uo.services = sel;
	/* attached: what is shown and what is waited for, checked before
	 * anything is created */
	_cleanup_json_ json_t *shown = NULL, *required = NULL;
	if (!detach && !uo.no_start &&
	    compose_up_attach(json_object_get(cc->p->doc, "services"), sel, argv + optind, (size_t)(argc - optind),
			      attach_deps, attach, no_attach, &shown, &required, &e) < 0)
		return cli_fail(e);
	/* images first (after the graph is known good): nothing is created
	 * when a build or a pull fails */
	_cleanup_json_ json_t *waves = NULL;
	if (compose_graph_waves(json_object_get(cc->p->doc, "services"), &waves, &e) < 0)
		return cli_fail(e);
	if (compose_cli_images(cc, sel, build, pull) < 0)
		return 1;
	/* attached: only what the containers print from now on */
	clock_gettime(CLOCK_REALTIME, &lo.since);
	if (compose_up(&cc->e, &uo, &e) < 0)
		return cli_fail(e);
	if (detach || uo.no_start)
		return 0;
	/* attached: stream the output of the services attached to until the
	 * required ones stopped (nothing to wait for: done, as docker compose);
	 * Ctrl-C stops gracefully, a second kills */
	int code = 0;
	lo.ret_exit_code = &code;
	lo.services = shown;
	lo.required = required;
	if (!json_array_size(shown) && !json_array_size(required))
		return 0;
	compose_cli_logs(cc, &lo);
	/* what is stopped then: the services named on the command line (all
	 * without names), as docker compose; their dependencies keep running */
	_cleanup_json_ json_t *named = NULL;
	if (compose_cli_services(cc, argc, argv, optind, false, &named) < 0)
		return 1;
	struct compose_ctrs cs;
	if (compose_cli_ctrs(cc, named, false, &cs) < 0)
		return 1;
	char(*ids)[65] = calloc(cs.n + 1, 65);
	size_t n = 0;
	for (size_t i = 0; i < cs.n; i++)
		if (ctr_is_running(cs.v[i].state))
			snprintf(ids[n++], 65, "%s", cs.v[i].id);
	if (n) {
		fprintf(stderr, "Gracefully stopping... (press Ctrl+C again to force)\n");
		for (size_t i = 0; i < cs.n; i++)
			if (ctr_is_running(cs.v[i].state))
				compose_cli_progress(cc, "Container", cs.v[i].name, "Stopping");
		/* a second Ctrl-C: SIGKILL them all */
		pid_t killer = fork();
		if (killer == 0) {
			sigset_t ss;
			sigemptyset(&ss);
			sigaddset(&ss, SIGINT);
			sigprocmask(SIG_BLOCK, &ss, NULL);
			int sig;
			sigwait(&ss, &sig);
			for (size_t i = 0; i < n; i++)
				ctr_kill(cc->e.cs, ids[i], SIGKILL, NULL);
			_exit(0);
		}
		signal(SIGINT, SIG_IGN);
		_cleanup_json_ json_t *errs = json_array();
		ctr_stop_many(cc->e.cs, ids, n, uo.timeout, errs);
		if (killer > 0)
			kill(killer, SIGTERM);
		for (size_t i = 0; i < cs.n; i++)
			if (ctr_is_running(cs.v[i].state))
				compose_cli_progress(cc, "Container", cs.v[i].name, "Stopped");
	}
	free(ids);
	compose_ctrs_release(&cs);
	return code;
build_conflict:
	fprintf(stderr, "Error: --build and --no-build are incompatible\n");
	return 1;
}

COMPOSE_CMD(up) { return up_or_create(cc, argc, argv, true); }
COMPOSE_CMD(create) { return up_or_create(cc, argc, argv, false); }
