/* Pausing a container: freeze every process of its cgroup (freezer) and
 * record "paused" in state.json, both under the container lock; unpause
 * thaws and records "running" again. The monitor's later state writes
 * (health) keep the status; its exit write replaces it, as it should. */
#ifndef BERTH_RUNTIME_PAUSE_H
#define BERTH_RUNTIME_PAUSE_H

#include <stdbool.h>

#include "runtime/container.h"
#include "util/err.h"

/* Docker's errors: BERR_CONFLICT "Container ID is not running",
 * "Container ID is already paused", "Container ID is not paused",
 * "Container ID is restarting, wait until the container is running". */
int ctr_pause(struct ctr_store *s, const char *id, struct berr **err);
int ctr_unpause(struct ctr_store *s, const char *id, struct berr **err);

#endif
