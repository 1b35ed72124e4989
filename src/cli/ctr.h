/* Shared by the container commands. */
#ifndef BERTH_CLI_CTR_H
#define BERTH_CLI_CTR_H

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

/* Docker's --env-file: KEY=VALUE lines (KEY alone: the value from our
 * environment, left out when unset), '#' comments; appended to env.
 * Errors name the file and line. */
int cli_env_file(json_t *env, const char *path, struct berr **err);

#endif
