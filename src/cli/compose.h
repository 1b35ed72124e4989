/* berth compose: the subcommands (one file each, cmd-compose-*.c) and what
 * they share (cmd-compose.c): the global flags, loading the project,
 * progress lines in docker compose's style. */
#ifndef BERTH_CLI_COMPOSE_H
#define BERTH_CLI_COMPOSE_H

#include "cli/cli.h"
#include "compose/engine.h"
#include "compose/project.h"

#include <time.h>

/* --progress (and --ansi): how progress lines are written on stderr. */
enum compose_progress_mode {
	COMPOSE_UI_TTY,   /* " ✔ Container x  Started", outcomes only */
	COMPOSE_UI_PLAIN, /* " Container x  Starting", every step */
	COMPOSE_UI_QUIET, /* none */
	COMPOSE_UI_JSON,  /* {"id":"Container x","text":"Started"} */
};
struct compose_ui {
	enum compose_progress_mode progress;
	bool color;          /* log prefixes in colour (stdout) */
	bool progress_color; /* the tty marks in colour (not with NO_COLOR) */
	bool not_console;    /* tty progress was asked for but stderr is no terminal: plain */
};
/* The global --ansi and --progress values (NULL: auto) as docker compose v2
 * resolves them, with NO_COLOR set or not and which of stderr/stdout are
 * terminals. A bad value, or tty with --ansi never, plain with --ansi
 * always, is an error. (cmd-compose-flags.c, like the helpers below: no
 * printing, for the unit tests.) */
int compose_ui_resolve(const char *ansi, const char *progress, bool no_color, bool err_tty, bool out_tty,
		       struct compose_ui *ret, struct berr **err);
/* Go's strconv.ParseBool, for --flag=BOOL. */
int compose_parse_bool(const char *v, bool *ret);
/* A yes to docker compose's prompts ("y", "yes" or ParseBool's true). */
bool compose_answer_yes(const char *answer);
/* --since/--until: RFC 3339, Unix seconds, or a Go duration before now. */
int compose_parse_time(const char *v, struct timespec *ret);
/* ps --status values (the container states). */
bool compose_ps_status_valid(const char *s);
/* ps --filter KEY=VALUE: status=STATE adds to statuses; source is not
 * implemented (as in docker compose); any other key is an error. */
int compose_ps_filter(const char *arg, json_t *statuses, struct berr **err);
/* ls --filter name=VALUE (the only key docker compose ls accepts): the
 * values go to names; a project matches any of them, exactly or as a
 * regular expression found in its name. */
int compose_ls_filter_add(json_t *names, const char *arg, struct berr **err);
bool compose_ls_filter_match(json_t *names, const char *project);
/* Attached up: the services whose output is shown (ret_attach) and those
 * whose containers' exit ends it (ret_required), as docker compose v2: the
 * services named on the command line (all without names), with
 * --attach-dependencies their dependencies too, or exactly the --attach
 * ones; then minus attach: false in the file and --no-attach. sel is what
 * up brings up. */
int compose_up_attach(json_t *svcs, json_t *sel, char **named, size_t nnamed, bool attach_deps, json_t *attach,
		      json_t *no_attach, json_t **ret_attach, json_t **ret_required, struct berr **err);

struct compose_cli {
	struct cli *c;
	struct compose_opts o;
	struct compose_project *p;
	struct compose_engine e;
	struct compose_ui ui; /* --ansi, --progress */
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
/* A boolean flag value (--orphans=false), likewise; NULL (the flag alone)
 * is true. */
int compose_cli_bool_flag(const char *flag, const char *v, bool *ret);
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
	struct timespec since, until; /* zero: unset */
	int index;             /* > 0: only the replica with this number */
	json_t *services;      /* whose output is shown; NULL: all */
	json_t *required;      /* up: followed too (their output only when in
				* services); stop_when_all_exit waits for these
				* alone. NULL: those of services */
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
