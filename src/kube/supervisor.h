/* The namespace supervisor of `kube play`: a process berth forks (no
 * exec), detached from the terminal, one per namespace and store, that
 * runs the controllers (reconcile.h) in a loop: every 100 ms while
 * something is moving (a pod starting, a rollout, a removal), every
 * second when all is steady, and at once when play or scale replace
 * objects.json (inotify). It keeps Deployments at their replica count
 * when a pod goes, moves rollouts on as pods turn Ready, keeps Service
 * endpoints to the Ready pods, and leaves on its own once its namespace
 * has no objects and no pods.
 *
 * $RUNROOT/kube/<ns>/supervisor.lock  flock held for the supervisor's life
 * $RUNROOT/kube/<ns>/supervisor.pid   its pid
 * $RUNROOT/kube/<ns>/supervisor.log   its stderr (events also go to status.json) */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "util/err.h"

/* Start the namespace's supervisor unless one runs; *ret_started says
 * whether this call started it. publish_all: --publish-all for its pods. */
int kube_supervisor_ensure(const char *root, const char *runroot, const char *ns, bool publish_all,
			   bool *ret_started, struct berr **err);
/* Its pid, or 0 when none runs. */
pid_t kube_supervisor_pid(const char *runroot, const char *ns);
/* Stop it (SIGTERM) and wait until it is gone (at most timeout_ms). */
int kube_supervisor_stop(const char *runroot, const char *ns, int timeout_ms);
/* Remove $RUNROOT/kube/<ns> (lock, pid file, log) once it is stopped. */
void kube_supervisor_forget(const char *runroot, const char *ns);
