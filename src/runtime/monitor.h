/* The per-container monitor: a process forked from the CLI (never
 * re-exec'd) that creates the container's pid 1 and then supervises it:
 * it collects stdout/stderr into the json-file log (and, when the CLI is
 * attached, forwards it), records exit status and OOM kills in state.json,
 * applies the restart policy with Docker's back-off, runs healthchecks, and
 * cleans up (--rm). The CLI may exit or die at any moment: the monitor runs
 * in its own session and needs nothing from it.
 *
 * It reports to the CLI over a pipe, one line per event:
 *   "started PID\n", "error CODE MESSAGE\n", "exited CODE\n", and
 *   "detached\n" when the user typed the detach keys in an attached CLI
 *   with a tty (the monitor then forwards nothing more to it).
 * While the container runs, `berth attach` clients connect to the monitor
 * (runtime/attach.h). */
#ifndef BERTH_RUNTIME_MONITOR_H
#define BERTH_RUNTIME_MONITOR_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/container.h"
#include "util/err.h"

struct monitor_attach {
	bool attach;   /* forward output to out/err, input from in */
	int in, out, err;
	const char *detach_keys; /* Docker's format; NULL: ctrl-p,ctrl-q (only with a tty and in) */
};

/* Fork the monitor for container id. Returns (in the CLI) the read end of
 * the status pipe in *ret_status_fd. */
int monitor_spawn(struct ctr_store *s, const char *id, const struct monitor_attach *a, int *ret_status_fd,
		  pid_t *ret_pid, struct berr **err);

#endif
