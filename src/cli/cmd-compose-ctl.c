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

enum op { OP_START, OP_STOP, OP_RESTART, OP_KILL, OP_RM, OP_PAUSE, OP_UNPAUSE };

/* Containers in dependency order (dependencies first). */
static int ordered(struct compose_cli *cc, json_t *sel, struct compose_ctrs *cs, size_t **ret_order)
{
	if (compose_cli_ctrs(cc, sel, false, cs) < 0)
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

static int run_op(struct compose_cli *cc, int argc, char **argv, enum op op)
{
	static const struct option opts[] = {
		{"timeout", required_argument, 0, 't'}, {"signal", required_argument, 0, 's'},
		{"force", no_argument, 0, 'f'},         {"stop", no_argument, 0, 'S'},
		{"volumes", no_argument, 0, 'v'},       {"no-deps", no_argument, 0, 'N'},
		{"remove-orphans", no_argument, 0, 'O'}, {0},
	};
	int timeout = -1, sig = SIGKILL, o;
	bool stop_first = false, vols = false;
	optind = 0;
	while ((o = getopt_long(argc, argv, op == OP_RM ? "fsv" : "t:s:", opts, NULL)) != -1) {
		struct berr *e = NULL;
		switch (o) {
		case 't':
			if (compose_cli_int_flag("-t, --timeout", optarg, &timeout) < 0)
				return 1;
			break;
		case 's':
			if (op == OP_RM || !optarg) {
				stop_first = true;
				break;
			}
			if (signal_parse(optarg, &sig, &e) < 0)
				return cli_fail(e);
			break;
		case 'S': stop_first = true; break;
		case 'f': case 'N': case 'O': break;
		case 'v': vols = true; break;
		default: return cli_usage_error(cc->c, "got an unknown flag.");
		}
	}
	_cleanup_json_ json_t *sel = NULL;
	if (compose_cli_services(cc, argc, argv, optind, false, &sel) < 0)
		return 1;
	struct compose_ctrs cs;
	_cleanup_free_ size_t *order = NULL;
	if (ordered(cc, sel, &cs, &order) < 0)
		return 1;
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
	for (size_t k = 0; k < cs.n; k++) {
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
	if (op == OP_RM && cs.n == 0)
		fprintf(stderr, "No stopped containers\n");
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
