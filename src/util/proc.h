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

#endif
