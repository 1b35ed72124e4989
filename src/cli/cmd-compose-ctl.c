/* berth compose start / stop / restart / kill / rm / pause / unpause: the
 * same container operation over the selected services' containers (one
 * file for the family: they differ only in the operation). */
#include "cli/compose.h"
#include "runtime/lifecycle.h"
#include "runtime/pause.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum op { OP_START, OP_STOP, OP_RESTART, OP_KILL, OP_RM, OP_PAUSE, OP_UNPAUSE };

/* Containers in dependency order (dependencies first); one-off ones too
 * with oneoff. */
static int ordered(struct compose_cli *cc, json_t *sel, bool oneoff, struct compose_ctrs *cs, size_t **ret_order)
{
	if (compose_cli_ctrs(cc, sel, oneoff, cs) < 0)
		return -1;
	size_t *order = calloc(cs->n + 1, sizeof(size_t)), n = 0;
	_cleanup_json_ json_t *waves = NULL;
	struct berr *e = NULL;
	if (compose_graph_waves(json_object_get(cc->p->doc, "services"), &waves, &e) < 0) {
		berr_free(e);
		for (size_t i = 0; i < cs->n; i++)
			order[n++] = i;
	} else {
		size_t w, j;
		json_t *wave, *s;
		json_array_foreach(waves, w, wave) json_array_foreach(wave, j, s) for (size_t i = 0; i < cs->n; i++)
			if (!strcmp(cs->v[i].service, json_string_value(s)))
				order[n++] = i;
		/* containers of services no longer in the file */
		for (size_t i = 0; i < cs->n; i++)
			if (!json_object_get(json_object_get(cc->p->doc, "services"), cs->v[i].service))
				order[n++] = i;
	}
	*ret_order = order;
	return 0;
}

/* docker compose's confirmation: on a terminal a question, else the
 * message alone and a line read from stdin (EOF is a no). */
static bool confirm(const char *msg)
{
	bool term = isatty(0);
	if (term)
		printf("? %s (y/N) ", msg);
	else
		printf("%s", msg);
	fflush(stdout);
	char line[256];
	bool yes = fgets(line, sizeof(line), stdin) && compose_answer_yes(line);
	if (!term)
		putchar('\n');
	return yes;
}

static int run_op(struct compose_cli *cc, int argc, char **argv, enum op op)
{
	/* each command takes docker compose v2's flags for it and no others */
	static const struct option stop_opts[] = {{"timeout", required_argument, 0, 't'}, {0}};
	static const struct option restart_opts[] = {
		{"timeout", required_argument, 0, 't'}, {"no-deps", no_argument, 0, 'N'}, {0},
	};
	static const struct option kill_opts[] = {
		{"signal", required_argument, 0, 's'}, {"remove-orphans", no_argument, 0, 'O'}, {0},
	};
	static const struct option rm_opts[] = {
		{"force", no_argument, 0, 'f'}, {"stop", no_argument, 0, 's'},
		{"volumes", no_argument, 0, 'v'}, {"all", no_argument, 0, 'a'}, {0},
	};
	static const struct option no_opts[] = {{0}};
	const struct option *opts = no_opts;
	const char *shorts = "";
	switch (op) {
	case OP_STOP: opts = stop_opts; shorts = "t:"; break;
	case OP_RESTART: opts = restart_opts; shorts = "t:"; break;
	case OP_KILL: opts = kill_opts; shorts = "s:"; break;
	case OP_RM: opts = rm_opts; shorts = "fsva"; break;
	default: break;
	}
	int timeout = -1, sig = SIGKILL, o;
	bool stop_first = false, vols = false, force = false, no_deps = false;
	/* kill --remove-orphans defaults to COMPOSE_REMOVE_ORPHANS, as docker compose */
	const char *ro = getenv("COMPOSE_REMOVE_ORPHANS");
	bool orphans = op == OP_KILL && ro && compose_answer_yes(ro);
	optind = 0;
	while ((o = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		struct berr *e = NULL;
		switch (o) {
		case 't':
			if (compose_cli_int_flag("-t, --timeout", optarg, &timeout) < 0)
				return 1;
			break;
		case 's':
			if (op == OP_RM) {
				stop_first = true;
				break;
			}
			if (signal_parse(optarg, &sig, &e) < 0)
				return cli_fail(e);
			break;
		case 'f': force = true; break;
		case 'N': no_deps = true; break;
		case 'O': orphans = true; break;
		case 'v': vols = true; break;
		case 'a': cli_flag_noop(cc->c, "-a, --all", "deprecated in docker compose, where it does nothing either"); break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	_cleanup_json_ json_t *sel = NULL;
	if (compose_cli_services(cc, argc, argv, optind, false, &sel) < 0)
		return 1;
	json_t *svcs = json_object_get(cc->p->doc, "services");
	if (op == OP_RESTART && sel && !no_deps) {
		/* as docker compose: the services that depend on these with
		 * restart: true are restarted too, unless --no-deps */
		json_t *more = compose_select_dependents(svcs, sel);
		json_decref(sel);
		sel = more;
	}
	struct compose_ctrs cs;
	_cleanup_free_ size_t *order = NULL;
	/* kill: one-off containers too, as docker compose */
	if (ordered(cc, sel, op == OP_KILL, &cs, &order) < 0)
		return 1;
	size_t nord = cs.n;
	if (op == OP_KILL) {
		/* orphans only with --remove-orphans (killed, not removed: docker
		 * compose's name for it) */
		size_t n = 0, running = 0;
		for (size_t k = 0; k < nord; k++)
			if (orphans || json_object_get(svcs, cs.v[order[k]].service)) {
				order[n++] = order[k];
				running += ctr_is_running(cs.v[order[k]].state);
			}
		nord = n;
		if (running == 0)
			fprintf(stderr, "no container to kill\n");
	}
	int rc = 0;
	if (op == OP_STOP || op == OP_RESTART || (op == OP_RM && stop_first)) {
		char(*ids)[65] = calloc(cs.n + 1, 65);
		size_t n = 0;
		for (size_t i = 0; i < cs.n; i++)
			if (ctr_is_running(cs.v[i].state)) {
				snprintf(ids[n++], 65, "%s", cs.v[i].id);
				compose_cli_progress(cc, "Container", cs.v[i].name, "Stopping");
			}
		_cleanup_json_ json_t *errs = json_array();
		ctr_stop_many(cc->e.cs, ids, n, timeout, errs);
		for (size_t i = 0; i < cs.n; i++)
			if (ctr_is_running(cs.v[i].state))
				compose_cli_progress(cc, "Container", cs.v[i].name, "Stopped");
		free(ids);
	}
	if (op == OP_RM) {
		/* docker compose rm: the stopped containers, named first and,
		 * without -f, only after a yes */
		struct sbuf names = SBUF_INIT;
		size_t n = 0;
		for (size_t k = 0; k < nord; k++) {
			_cleanup_json_ json_t *st = ctr_state(cc->e.cs, cs.v[order[k]].id, NULL);
			if (st && !ctr_is_running(st)) {
				sbuf_addf(&names, "%s%s", n ? ", " : "", cs.v[order[k]].name);
				order[n++] = order[k];
			}
		}
		nord = n;
		bool go = n > 0;
		if (!n) {
			fprintf(stderr, "No stopped containers\n");
		} else {
			_cleanup_free_ char *msg = NULL;
			if (asprintf(&msg, "Going to remove %s", sbuf_str(&names)) < 0)
				msg = NULL;
			if (force)
				printf("%s\n", msg ? msg : "");
			else
				go = confirm(msg ? msg : "");
			fflush(stdout);
		}
		sbuf_release(&names);
		if (!go) {
			compose_ctrs_release(&cs);
			return 0;
		}
	}
	for (size_t k = 0; k < nord; k++) {
		struct compose_ctr *c = &cs.v[order[k]];
		struct berr *e = NULL;
		int r = 0;
		switch (op) {
		case OP_START:
		case OP_RESTART: {
			if (op == OP_START && ctr_is_running(c->state))
				continue;
			struct monitor_attach ma = {.attach = false, .in = -1, .out = -1, .err = -1};
			int code;
			compose_cli_progress(cc, "Container", c->name, op == OP_START ? "Starting" : "Restarting");
			r = ctr_start(cc->e.cs, c->id, &ma, NULL, &code, &e);
			if (r >= 0)
				compose_cli_progress(cc, "Container", c->name, op == OP_START ? "Started" : "Started");
			break;
		}
		case OP_KILL:
			if (!ctr_is_running(c->state))
				continue;
			compose_cli_progress(cc, "Container", c->name, "Killing");
			r = ctr_kill(cc->e.cs, c->id, sig, &e);
			if (r >= 0 && sig == SIGKILL) {
				/* as dockerd does for SIGKILL: return once it is gone */
				int code;
				ctr_wait_exit(cc->e.cs, c->id, &code, NULL);
			}
			if (r >= 0)
				compose_cli_progress(cc, "Container", c->name, "Killed");
			break;
		case OP_PAUSE:
			compose_cli_progress(cc, "Container", c->name, "Pausing");
			r = ctr_pause(cc->e.cs, c->id, &e);
			if (r >= 0)
				compose_cli_progress(cc, "Container", c->name, "Paused");
			break;
		case OP_UNPAUSE:
			compose_cli_progress(cc, "Container", c->name, "Unpausing");
			r = ctr_unpause(cc->e.cs, c->id, &e);
			if (r >= 0)
				compose_cli_progress(cc, "Container", c->name, "Unpaused");
			break;
		case OP_RM: {
			_cleanup_json_ json_t *st = ctr_state(cc->e.cs, c->id, NULL);
			if (ctr_is_running(st))
				continue; /* docker compose rm leaves running containers alone */
			compose_cli_progress(cc, "Container", c->name, "Removing");
			r = ctr_rm(cc->e.cs, c->id, false, &e);
			if (r >= 0) {
				if (vols)
					volume_remove_anonymous(cc->c->root, c->config);
				compose_cli_progress(cc, "Container", c->name, "Removed");
			}
			break;
		}
		case OP_STOP:
			continue;
		}
		if (r < 0) {
			compose_cli_progress(cc, "Container", c->name, "Error");
			cli_fail(e);
			rc = 1;
		}
	}
	compose_ctrs_release(&cs);
	return rc;
}

COMPOSE_CMD(start) { return run_op(cc, argc, argv, OP_START); }
COMPOSE_CMD(stop) { return run_op(cc, argc, argv, OP_STOP); }
COMPOSE_CMD(restart) { return run_op(cc, argc, argv, OP_RESTART); }
COMPOSE_CMD(kill) { return run_op(cc, argc, argv, OP_KILL); }
COMPOSE_CMD(rm) { return run_op(cc, argc, argv, OP_RM); }
COMPOSE_CMD(pause) { return run_op(cc, argc, argv, OP_PAUSE); }
COMPOSE_CMD(unpause) { return run_op(cc, argc, argv, OP_UNPAUSE); }
