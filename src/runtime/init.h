/* The container side: code that runs in the child after clone() (and
 * after setns() for exec), turning a plan into a running command. These
 * functions do not return on success; on failure they write
 * "CODE message" to errfd and _exit(CODE), with Docker's codes: 125 setup
 * failed, 126 command not executable, 127 command not found. errfd is
 * close-on-exec, so the parent sees EOF when execve succeeded. */
#ifndef BERTH_RUNTIME_INIT_H
#define BERTH_RUNTIME_INIT_H

#include "runtime/plan.h"

/* Set up the root filesystem and start the command. syncfd: wait for one
 * byte (the parent has put us in the cgroup) before unsharing the cgroup
 * namespace. */
__attribute__((noreturn)) void init_container(const struct plan *p, int syncfd, int errfd);

/* The process part only (user, caps, seccomp, cwd, exec), for exec and
 * healthchecks once the caller joined the container's namespaces. */
__attribute__((noreturn)) void init_exec_proc(const struct plan_proc *p, int errfd);

/* Mini init for --init: pid 1 that forwards signals to child and reaps
 * every zombie; exits with child's status. */
__attribute__((noreturn)) void init_reaper(pid_t child);

#endif
