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

#endif
