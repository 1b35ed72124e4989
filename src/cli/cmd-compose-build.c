/* berth compose build / pull / push, and what up and run do before they
 * create containers: build or pull the images the selected services lack
 * (build:, pull_policy, --build, --no-build, --pull). Builds go through
 * the builder (src/builder) one service after the other; pulls and pushes
 * through the registry client (src/registry). */
#include "cli/compose.h"
#include "compose/images.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_interrupt(int sig)
{
	(void)sig;
	build_interrupted = 1;
}

static int build_one(struct compose_cli *cc, const char *service, const struct compose_build_opts *bo)
{
	struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	compose_cli_progress(cc, "Service", service, "Building");
	char id[72];
	struct berr *e = NULL;
	int r = compose_build_service(&cc->e, service, bo, id, &e);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (r < 0) {
		compose_cli_progress(cc, "Service", service, "Error");
		cli_fail(e);
		return -1;
	}
	compose_cli_progress(cc, "Service", service, "Built");
	return 0;
}

/* Layer lines of a pull or push without a terminal's redraw: for
 * --progress plain or json (and --ansi never), one line an event, as
 * docker compose's plain and json writers. */
struct layer_view {
	struct compose_cli *cc;
	const char *service;
	bool push;
};

static void layer_line(void *ctx, const struct reg_progress *p)
{
	struct layer_view *v = ctx;
	const char *st = NULL;
	char m[160];
	switch (p->ev) {
	case REG_EV_PULLING: snprintf(m, sizeof(m), "Pulling from %s", p->text ? p->text : ""); st = m; break;
	case REG_EV_LAYER_QUEUED: st = v->push ? "Preparing" : "Pulling fs layer"; break;
	case REG_EV_LAYER_EXISTS: st = v->push ? "Layer already exists" : "Already exists"; break;
	case REG_EV_LAYER_VERIFY: st = "Verifying Checksum"; break;
	case REG_EV_LAYER_FETCHED: st = "Download complete"; break;
	case REG_EV_LAYER_DONE: st = v->push ? "Pushed" : "Pull complete"; break;
	case REG_EV_LAYER_MOUNTED: snprintf(m, sizeof(m), "Mounted from %s", p->text ? p->text : ""); st = m; break;
	default: return; /* byte counts: a line each would flood a log */
	}
	char line[512];
	int n;
	if (v->cc->ui.progress == COMPOSE_UI_JSON) {
		char parent[300];
		snprintf(parent, sizeof(parent), "Service %s", v->service);
		_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s}", "id", p->id ? p->id : "", "parent_id", parent,
						     "text", st);
		char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		n = snprintf(line, sizeof(line), "%s\n", txt ? txt : "{}");
		free(txt);
	} else {
		n = snprintf(line, sizeof(line), "%s: %s\n", p->id ? p->id : "", st);
	}
	if (n > 0)
		fs_write_full(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Progress for a pull or push of service's image into o (free *ret). */
static void layer_progress(struct compose_cli *cc, const char *service, bool push, bool quiet, struct reg_opts *o,
			   void **ret)
{
	*ret = NULL;
	if (quiet || cc->ui.progress == COMPOSE_UI_QUIET)
		return;
	if (cc->ui.progress == COMPOSE_UI_TTY) {
		struct cli_progress *v = cli_progress_new(stderr, push, false);
		if (v)
			cli_progress_opts(v, o);
		*ret = v;
		return;
	}
	struct layer_view *v = calloc(1, sizeof(*v));
	if (!v)
		return;
	*v = (struct layer_view){.cc = cc, .service = service, .push = push};
	o->progress = layer_line;
	o->progress_ctx = v;
	*ret = v;
}

static int pull_one(struct compose_cli *cc, const char *service, const char *image, bool quiet, struct berr **err)
{
	compose_cli_progress(cc, "Service", service, "Pulling");
	struct reg_opts o = {0};
	_cleanup_free_ void *view = NULL;
	layer_progress(cc, service, false, quiet || cc->quiet_pull, &o, &view);
	struct reg_pull_result res;
	if (reg_pull(cc->e.is, image, &o, &res, err) < 0) {
		compose_cli_progress(cc, "Service", service, "Error");
		return berr_wrap(err, "service \"%s\": pulling %s", service, image);
	}
	reg_pull_result_release(&res);
	compose_cli_progress(cc, "Service", service, "Pulled");
	return 0;
}

/* The builder's progress: compose build's --progress, else the global one
 * (--progress, --ansi). */
static enum build_progress progress_mode(struct compose_cli *cc, const char *p)
{
	if (p && (!strcmp(p, "quiet")))
		return BUILD_PROGRESS_QUIET;
	if (p && !strcmp(p, "plain"))
		return BUILD_PROGRESS_PLAIN;
	if (p)
		return isatty(2) ? BUILD_PROGRESS_TTY : BUILD_PROGRESS_PLAIN;
	switch (cc->ui.progress) {
	case COMPOSE_UI_TTY: return BUILD_PROGRESS_TTY;
	case COMPOSE_UI_QUIET: return BUILD_PROGRESS_QUIET;
	default: return BUILD_PROGRESS_PLAIN;
	}
}

int compose_cli_images(struct compose_cli *cc, json_t *services, int mode, const char *pull)
{
	_cleanup_json_ json_t *plan = NULL;
	struct berr *e = NULL;
	if (compose_images_plan(&cc->e, services, (enum compose_build_mode)mode, pull, &plan, &e) < 0) {
		cli_fail(e);
		return -1;
	}
	struct compose_build_opts bo = {.progress = progress_mode(cc, NULL), .out = stderr};
	json_t *svcs = json_object_get(cc->p->doc, "services");
	const char *k;
	json_t *v;
	/* pulls first (a build may start FROM a pulled image), as docker compose */
	json_object_foreach(plan, k, v) {
		if (strcmp(json_string_value(v), "pull"))
			continue;
		_cleanup_free_ char *img = compose_service_image(cc->p, k, json_object_get(svcs, k));
		if (pull_one(cc, k, img, false, &e) < 0) {
			cli_fail(e);
			return -1;
		}
	}
	json_object_foreach(plan, k, v) if (!strcmp(json_string_value(v), "build") && build_one(cc, k, &bo) < 0) return -1;
	return 0;
}

COMPOSE_CMD(build)
{
	enum { O_NOCACHE = 1000, O_PULL, O_ARG, O_PROGRESS, O_DEPS, O_MEM, O_SSH, O_PUSH, O_PAR };
	static const struct option opts[] = {
		{"no-cache", no_argument, 0, O_NOCACHE}, {"pull", no_argument, 0, O_PULL},
		{"quiet", no_argument, 0, 'q'},         {"build-arg", required_argument, 0, O_ARG},
		{"progress", required_argument, 0, O_PROGRESS}, {"with-dependencies", no_argument, 0, O_DEPS},
		{"memory", required_argument, 0, 'm'},  {"ssh", required_argument, 0, O_SSH},
		{"push", no_argument, 0, O_PUSH},       {"parallel", optional_argument, 0, O_PAR},
		{0},
	};
	struct compose_build_opts bo = {.out = stderr};
	const char *progress = NULL;
	const char **args = calloc((size_t)argc + 1, sizeof(char *));
	bool quiet = false, deps = false, push = false;
	int o, rc = 1;
	optind = 0;
	while ((o = getopt_long(argc, argv, "qm:", opts, NULL)) != -1) {
		switch (o) {
		case O_NOCACHE: bo.no_cache = true; break;
		case O_PULL: cli_flag_noop(cc->c, "--pull", "berth's builder uses the base images in the store"); break;
		case 'q': quiet = true; break;
		case O_ARG: args[bo.nbuild_args++] = optarg; break;
		case O_PROGRESS:
			if (strcmp(optarg, "auto") && strcmp(optarg, "tty") && strcmp(optarg, "plain") && strcmp(optarg, "quiet")) {
				fprintf(stderr, "Error: invalid --progress \"%s\": want auto, tty, plain or quiet\n", optarg);
				goto out;
			}
			/* as docker compose says of it */
			fprintf(stderr, "--progress is a global compose flag, better use `berth compose --progress xx build ...\n");
			progress = optarg;
			break;
		case O_DEPS: deps = true; break;
		case 'm': cli_flag_noop(cc->c, "-m, --memory", "berth's builder sets no memory limit on its steps"); break;
		case O_SSH: cli_flag_noop(cc->c, "--ssh", "berth's builder forwards no SSH agent"); break;
		case O_PAR: {
			bool b;
			if (compose_cli_bool_flag("--parallel", optarg, &b) < 0)
				goto out;
			cli_flag_noop(cc->c, "--parallel", "deprecated in docker compose, which ignores it; berth builds one service after another");
			break;
		}
		case O_PUSH: push = true; break;
		default: rc = cli_usage_error(cc->c, "got an unknown flag."); goto out;
		}
	}
	bo.build_args = args;
	bo.progress = quiet ? BUILD_PROGRESS_QUIET : progress_mode(cc, progress);
	_cleanup_json_ json_t *sel = NULL;
	struct berr *e = NULL;
	if (compose_select(json_object_get(cc->p->doc, "services"), argv + optind, (size_t)(argc - optind), !deps, &sel,
			   &e) < 0) {
		rc = cli_fail(e);
		goto out;
	}
	json_t *svcs = json_object_get(cc->p->doc, "services");
	size_t i;
	json_t *s;
	rc = 0;
	json_array_foreach(sel, i, s) {
		const char *name = json_string_value(s);
		if (!json_object_get(json_object_get(svcs, name), "build"))
			continue;
		if (build_one(cc, name, &bo) < 0) {
			rc = 1;
			break;
		}
		if (push) {
			_cleanup_free_ char *img = compose_service_image(cc->p, name, json_object_get(svcs, name));
			char digest[72];
			uint64_t size;
			struct reg_opts ro = {0};
			if (reg_push(cc->e.is, img, &ro, digest, &size, &e) < 0) {
				berr_wrap(&e, "service \"%s\": pushing %s", name, img);
				rc = cli_fail(e);
				break;
			}
			compose_cli_progress(cc, "Service", name, "Pushed");
		}
	}
out:
	free(args);
	return rc;
}

COMPOSE_CMD(pull)
{
	enum { O_IGNFAIL = 1000, O_IGNBUILD, O_DEPS, O_POLICY, O_NOPAR, O_PAR };
	static const struct option opts[] = {
		{"quiet", no_argument, 0, 'q'}, {"ignore-pull-failures", no_argument, 0, O_IGNFAIL},
		{"ignore-buildable", no_argument, 0, O_IGNBUILD}, {"include-deps", no_argument, 0, O_DEPS},
		{"policy", required_argument, 0, O_POLICY}, {"no-parallel", no_argument, 0, O_NOPAR},
		{"parallel", optional_argument, 0, O_PAR}, {0},
	};
	bool quiet = false, ignfail = false, ignbuild = false, deps = false;
	const char *policy = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (o) {
		case 'q': quiet = true; break;
		case O_IGNFAIL: ignfail = true; break;
		case O_IGNBUILD: ignbuild = true; break;
		case O_DEPS: deps = true; break;
		case O_POLICY:
			if (strcmp(optarg, "missing") && strcmp(optarg, "always")) {
				fprintf(stderr, "Error: invalid --policy \"%s\": want missing or always\n", optarg);
				return 1;
			}
			policy = optarg;
			break;
		case O_NOPAR:
		case O_PAR: {
			bool b;
			if (o == O_PAR && compose_cli_bool_flag("--parallel", optarg, &b) < 0)
				return 1;
			/* deprecated in docker compose too, which ignores both */
			cli_flag_noop(cc->c, o == O_PAR ? "--parallel" : "--no-parallel",
				      "deprecated in docker compose, which ignores it; berth pulls one service after another");
			break;
		}
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	_cleanup_json_ json_t *sel = NULL;
	struct berr *e = NULL;
	if (compose_select(json_object_get(cc->p->doc, "services"), argv + optind, (size_t)(argc - optind), !deps, &sel,
			   &e) < 0)
		return cli_fail(e);
	json_t *svcs = json_object_get(cc->p->doc, "services");
	_cleanup_json_ json_t *idx = policy && !strcmp(policy, "missing") ? image_store_index_read(cc->e.is, NULL) : NULL;
	int rc = 0;
	size_t i;
	json_t *s;
	json_array_foreach(sel, i, s) {
		const char *name = json_string_value(s);
		json_t *svc = json_object_get(svcs, name);
		const char *img = jsonx_str(svc, "image");
		bool buildable = json_object_get(svc, "build") != NULL;
		if (!img || (buildable && ignbuild)) {
			compose_cli_progress(cc, "Service", name, "Skipped");
			continue;
		}
		if (idx) {
			_cleanup_free_ char *id = NULL;
			struct berr *le = NULL;
			if (image_store_resolve(idx, img, &id, NULL, &le) == 0) {
				compose_cli_progress(cc, "Service", name, "Skipped");
				continue;
			}
			berr_free(le);
		}
		if (pull_one(cc, name, img, quiet, &e) < 0) {
			if (buildable || ignfail) {
				/* docker compose: a buildable service can still be built */
				compose_cli_warn(cc, e->msg);
				berr_freep(&e);
				continue;
			}
			cli_fail(e);
			rc = 1;
		}
	}
	return rc;
}

COMPOSE_CMD(push)
{
	enum { O_IGNFAIL = 1000, O_DEPS };
	static const struct option opts[] = {
		{"quiet", no_argument, 0, 'q'}, {"ignore-push-failures", no_argument, 0, O_IGNFAIL},
		{"include-deps", no_argument, 0, O_DEPS}, {0},
	};
	bool quiet = false, ignfail = false, deps = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (o) {
		case 'q': quiet = true; break;
		case O_IGNFAIL: ignfail = true; break;
		case O_DEPS: deps = true; break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	_cleanup_json_ json_t *sel = NULL;
	struct berr *e = NULL;
	if (compose_select(json_object_get(cc->p->doc, "services"), argv + optind, (size_t)(argc - optind), !deps, &sel,
			   &e) < 0)
		return cli_fail(e);
	json_t *svcs = json_object_get(cc->p->doc, "services");
	int rc = 0;
	size_t i;
	json_t *s;
	json_array_foreach(sel, i, s) {
		const char *name = json_string_value(s);
		json_t *svc = json_object_get(svcs, name);
		const char *img = jsonx_str(svc, "image");
		/* as docker compose: only images the project builds and names */
		if (!img || !json_object_get(svc, "build")) {
			compose_cli_progress(cc, "Service", name, "Skipped");
			continue;
		}
		compose_cli_progress(cc, "Service", name, "Pushing");
		struct reg_opts ro = {0};
		_cleanup_free_ void *view = NULL;
		layer_progress(cc, name, true, quiet, &ro, &view);
		char digest[72];
		uint64_t size;
		if (reg_push(cc->e.is, img, &ro, digest, &size, &e) < 0) {
			compose_cli_progress(cc, "Service", name, "Error");
			berr_wrap(&e, "service \"%s\": pushing %s", name, img);
			if (ignfail) {
				compose_cli_warn(cc, e->msg);
				berr_freep(&e);
				continue;
			}
			cli_fail(e);
			rc = 1;
			continue;
		}
		compose_cli_progress(cc, "Service", name, "Pushed");
	}
	return rc;
}
