/* Shared by the container commands. */
#ifndef BERTH_CLI_CTR_H
#define BERTH_CLI_CTR_H

#include <sys/types.h>

#include "cli/cli.h"
#include "runtime/container.h"

/* The container store (opened once); prints the error and returns NULL. */
struct ctr_store *cli_ctr_store(struct cli *c);
/* Docker's STATUS column: "Up 5 seconds (healthy)", "Exited (0) 2 minutes ago". */
void ctr_status_text(json_t *state, char *buf, size_t n);
/* Docker inspect shape for a container (new ref). */
json_t *ctr_inspect_json(struct ctr_store *s, const char *id, struct berr **err);

/* Attach to a running container (berth attach, start -a of a running one):
 * relays until the container exits (its exit code) or the detach keys. */
struct cli_attach_opts {
	bool no_stdin, sig_proxy;
	const char *detach_keys; /* NULL: ctrl-p,ctrl-q */
	bool quiet_detach;       /* detach: exit 0 silently (start), not "read escape sequence" and 1 */
};
int cli_attach(struct ctr_store *s, const char *id, const struct cli_attach_opts *o);

/* Run argv in running container id (pid: its init) as `berth exec` does
 * (cmd-exec.c): with tty a pty relayed to our terminal (raw when
 * interactive), else our stdio (stdin only when interactive). Returns the
 * process's exit status (128+signal), or -1 with *err when it could not be
 * set up; start_msg gets why the command could not start (with 126/127),
 * else "". */
struct cli_exec {
	char **argv, **env;
	const char *user, *workdir;
	bool privileged, interactive, tty, detach;
};
int cli_exec_run(struct cli *c, const char *id, pid_t pid, json_t *cfg, const struct cli_exec *x, char *start_msg,
		 size_t msgn, struct berr **err);

/* Docker's --env-file: KEY=VALUE lines (KEY alone: the value from our
 * environment, left out when unset), '#' comments; appended to env.
 * Errors name the file and line. */
int cli_env_file(json_t *env, const char *path, struct berr **err);

#endif
