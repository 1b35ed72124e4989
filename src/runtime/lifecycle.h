/* Container lifecycle operations used by the CLI (and later compose):
 * create from an image, start, stop, kill, remove, wait. */
#ifndef BERTH_RUNTIME_LIFECYCLE_H
#define BERTH_RUNTIME_LIFECYCLE_H

#include <jansson.h>
#include <stdbool.h>

#include "image/store.h"
#include "runtime/container.h"
#include "runtime/monitor.h"
#include "util/err.h"

/* Create a container. req is Docker's create request shape: {"Image",
 * "Cmd", "Entrypoint", "Env", "User", "WorkingDir", "Hostname",
 * "Domainname", "Labels", "Tty", "OpenStdin", "StopSignal", "StopTimeout",
 * "Healthcheck", "ExposedPorts", "HostConfig": {...}}; the image's config
 * fills what the request leaves out. name may be NULL. */
int ctr_create_from(struct ctr_store *cs, struct image_store *is, json_t *req, const char *name,
		    char ret_id[65], struct berr **err);

/* Start a created or exited container. With attach, output goes to the
 * given fds and *ret_status_fd stays open for the "exited CODE" line. The
 * error (command not found...) carries Docker's exit code in *ret_code. */
int ctr_start(struct ctr_store *s, const char *id, const struct monitor_attach *a, int *ret_status_fd,
	      int *ret_code, struct berr **err);
/* Read the monitor's "exited CODE" line (attached runs). -1 if the monitor
 * went away without saying, CTR_DETACHED when the user typed the detach
 * keys (the container runs on). */
#define CTR_DETACHED (-2)
int ctr_wait_status(int status_fd);

bool ctr_is_running(json_t *state);
/* Stop: the stop signal, then SIGKILL after timeout seconds (timeout < 0:
 * the container's StopTimeout or 10). All ids at once: the total time is
 * that of the slowest container. errs gets one message per failure. */
int ctr_stop_many(struct ctr_store *s, char (*ids)[65], size_t n, int timeout, json_t *errs);
/* The same with sig instead of each container's stop signal (0: theirs),
 * as `docker stop --signal`. */
int ctr_stop_many_sig(struct ctr_store *s, char (*ids)[65], size_t n, int timeout, int sig, json_t *errs);
int ctr_kill(struct ctr_store *s, const char *id, int sig, struct berr **err);
/* Remove; a running container needs force (SIGKILL first). */
int ctr_rm(struct ctr_store *s, const char *id, bool force, struct berr **err);
/* Wait until the container is not running; its exit code. */
int ctr_wait_exit(struct ctr_store *s, const char *id, int *ret_code, struct berr **err);

/* Signal names and numbers: "SIGTERM", "TERM", "15". */
int signal_parse(const char *s, int *ret, struct berr **err);

#endif
