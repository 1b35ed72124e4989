/* berth compose: the subcommands (one file each, cmd-compose-*.c) and what
 * they share (cmd-compose.c): the global flags, loading the project,
 * progress lines in docker compose's style. */
#ifndef BERTH_CLI_COMPOSE_H
#define BERTH_CLI_COMPOSE_H

#include "cli/cli.h"
#include "compose/engine.h"
#include "compose/project.h"

#include <time.h>

struct compose_cli {
	struct cli *c;
	struct compose_opts o;
	struct compose_project *p;
	struct compose_engine e;
	bool tty; /* stderr is a terminal: " ✔ Container x  Started" */
	bool quiet_pull; /* --quiet-pull: no per-layer lines */
};

/* Load the project and open the stores; prints the error (exit code 1). */
int compose_cli_load(struct compose_cli *cc);
void compose_cli_release(struct compose_cli *cc);
/* Service names of argv[from..argc) checked against the project (NULL and
 * no error when there are none: all services). Prints the error. */
int compose_cli_services(struct compose_cli *cc, int argc, char **argv, int from, bool with_deps, json_t **ret);
/* An integer flag value (-t 10, --index 2) as docker compose parses it:
 * anything but a whole number in int range is "invalid argument" naming the
 * flag (printed). Returns 0 or -1. */
int compose_cli_int_flag(const char *flag, const char *v, int *ret);
/* Progress and warning printers for struct compose_events. */
void compose_cli_progress(void *ud, const char *kind, const char *name, const char *status);
void compose_cli_warn(void *ud, const char *msg);
/* Containers of the selected services, sorted; prints the error. */
int compose_cli_ctrs(struct compose_cli *cc, json_t *services, bool oneoff, struct compose_ctrs *ret);
/* Follow (or print) the logs of containers with "service-N  | " prefixes;
 * follow: keep going, picking up new containers, until every container
 * stopped (stop_when_all_exit) or a signal. */
struct compose_logs_opts {
	bool follow, timestamps, no_color, no_prefix;
	long tail;
	const char *since;
	struct timespec since_ts; /* used when since is NULL and this is set */
	json_t *services;      /* NULL: all */
	bool stop_when_all_exit;
	bool abort_on_exit;    /* up --abort-on-container-exit */
	const char *exit_code_from;
	int *ret_exit_code;
};
int compose_cli_logs(struct compose_cli *cc, const struct compose_logs_opts *o);
/* Build or pull what the selected services lack before containers are
 * created (cmd-compose-build.c); prints the error. mode is enum
 * compose_build_mode (compose/images.h), pull the --pull value or NULL. */
int compose_cli_images(struct compose_cli *cc, json_t *services, int mode, const char *pull);

#define COMPOSE_CMD(name) int cmd_compose_##name(struct compose_cli *cc, int argc, char **argv)
COMPOSE_CMD(up);
COMPOSE_CMD(create);
COMPOSE_CMD(down);
COMPOSE_CMD(ps);
COMPOSE_CMD(start);
COMPOSE_CMD(stop);
COMPOSE_CMD(restart);
COMPOSE_CMD(kill);
COMPOSE_CMD(rm);
COMPOSE_CMD(pause);
COMPOSE_CMD(unpause);
COMPOSE_CMD(logs);
COMPOSE_CMD(exec);
COMPOSE_CMD(ls);
COMPOSE_CMD(top);
COMPOSE_CMD(port);
COMPOSE_CMD(version);
COMPOSE_CMD(config);
COMPOSE_CMD(build);
COMPOSE_CMD(pull);
COMPOSE_CMD(push);
COMPOSE_CMD(run);
COMPOSE_CMD(images);

#endif
