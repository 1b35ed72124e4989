/* Containers on disk.
 *
 * $ROOT/containers/<id>/config.json   what to run (fixed at create)
 * $ROOT/containers/<id>/state.json    status, pids, exit code, health (atomic replace)
 * $ROOT/containers/<id>/<id>-json.log the log, Docker's json-file shape
 * $ROOT/containers/<id>/{upper,work,rootfs}/  overlay dirs (rootfs is only
 *                                     mounted inside the container's own mount namespace)
 * $ROOT/containers/<id>/{hosts,hostname,resolv.conf}
 * $ROOT/containers/<id>/stop-requested  a user stopped it: no restart
 * $ROOT/containers/.names/<name> -> <id>  symlink; symlinkat makes names unique
 * $RUNROOT/<id>/attach.sock           the monitor's socket for berth attach, while
 *                                     it runs (runtime/attach.h)
 *
 * The monitor owns state.json while it runs; other writers take
 * containers/<id>/lock first. */
#ifndef BERTH_RUNTIME_CONTAINER_H
#define BERTH_RUNTIME_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/err.h"
#include "util/proc.h"

struct ctr_store {
	char *root;    /* $ROOT */
	char *runroot; /* $RUNROOT */
	int rootfd;
	int ctrsfd;  /* $ROOT/containers */
	int namesfd; /* $ROOT/containers/.names */
};

int ctr_store_open(const char *root, const char *runroot, struct ctr_store **ret, struct berr **err);
void ctr_store_free(struct ctr_store *s);

/* A new random 64-hex ID and a Docker-style random name ("brave_turing"). */
void ctr_new_id(char id[65]);
void ctr_random_name(char *buf, size_t n);
/* Names must match [a-zA-Z0-9][a-zA-Z0-9_.-]+ as in Docker. */
bool ctr_name_valid(const char *name);

/* Create the container's directory and config, and reserve its name (a
 * random ID unless want_id). On failure nothing is left. config gets "Id",
 * "Name", "Created". */
int ctr_create(struct ctr_store *s, json_t *config, const char *name, const char *want_id, char ret_id[65],
	       struct berr **err);

/* Find a container by full ID, name (with or without a leading '/') or a
 * unique ID prefix. BERR_NOT_FOUND: "No such container: NAME". */
int ctr_resolve(struct ctr_store *s, const char *ref, char ret_id[65], struct berr **err);

/* All container IDs (array of strings). */
json_t *ctr_list(struct ctr_store *s);

json_t *ctr_config(struct ctr_store *s, const char *id, struct berr **err);
/* The state, corrected for processes that are gone: a container whose
 * monitor died is reported (and recorded) as exited. */
json_t *ctr_state(struct ctr_store *s, const char *id, struct berr **err);
int ctr_state_write(struct ctr_store *s, const char *id, json_t *state, struct berr **err);
/* Lock the container for a read-modify-write of its state (fd to close). */
int ctr_lock(struct ctr_store *s, const char *id, struct berr **err);

/* Remove the container's files and name. The caller made sure nothing runs. */
int ctr_remove_files(struct ctr_store *s, const char *id, struct berr **err);

/* A directory fd for the container's dir. */
int ctr_dirfd(struct ctr_store *s, const char *id);

/* proc_start_time() and proc_alive() live in util/proc.h. */

#endif
