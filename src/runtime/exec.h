/* Running a process inside a running container (berth exec, healthchecks):
 * join its namespaces and cgroup, fork into its pid namespace, then the
 * process part of the plan (user, caps, seccomp, cwd, execve). */
#ifndef BERTH_RUNTIME_EXEC_H
#define BERTH_RUNTIME_EXEC_H

#include <sys/types.h>

#include "runtime/plan.h"
#include "util/err.h"

/* Fork a process that joins container init `pid` and runs proc with stdio
 * fds in/out/err (-1: /dev/null). It is its own process group leader. The
 * returned pid exits with the command's status (125/126/127 when it could
 * not be started; errfd_out, if not NULL, gets a pipe that carries the
 * reason). */
int exec_spawn(pid_t pid, const char *cgroup_name, const struct plan_proc *proc, int in, int out, int errfd,
	       pid_t *ret, int *errfd_out, struct berr **err);

#endif
