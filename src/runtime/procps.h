/* Process tables for `berth top`, in the shape of Docker's ContainerTop:
 * column titles and one row (array of strings) per process. */
#ifndef BERTH_RUNTIME_PROCPS_H
#define BERTH_RUNTIME_PROCPS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* `ps -ef` from /proc, without procps: UID PID PPID C STIME TTY TIME CMD
 * for the given pids that still exist, ordered by pid. */
int procps_ef(const pid_t *pids, size_t n, json_t **ret_titles, json_t **ret_rows, struct berr **err);

/* What Docker does with `docker top CTR ARGS...`: run the host's ps with
 * args (and -q PIDS, retried without when ps refuses the combination),
 * keep the rows whose PID column is one of pids ("-" rows, threads,
 * follow their process). The last title takes the rest of a line. */
int procps_run(char *const *args, size_t nargs, const pid_t *pids, size_t n, json_t **ret_titles,
	       json_t **ret_rows, struct berr **err);

#endif
