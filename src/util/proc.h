/* Process identity that survives pid reuse. */
#ifndef BERTH_UTIL_PROC_H
#define BERTH_UTIL_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* The start time from /proc/PID/stat (field 22, clock ticks since boot);
 * 0 when the process is gone or a zombie. */
unsigned long long proc_start_time(pid_t pid);
/* True when pid is alive and still has start time `start`. */
bool proc_alive(pid_t pid, unsigned long long start);
/* True when pid is on its way out: a zombie, gone, or still in the kernel's
 * exit path (PF_EXITING in /proc/PID/stat's flags, field 9). A pid
 * namespace's init stays in that path, not yet a zombie, while the kernel
 * kills and reaps the rest of its namespace. */
bool proc_exiting(pid_t pid);

#endif
