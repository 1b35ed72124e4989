/* Healthchecks, run by the monitor: the image's HEALTHCHECK or --health-*
 * options, Docker's state machine (starting -> healthy / unhealthy after
 * `retries` consecutive failures; failures in the start period do not
 * count), the last five results kept for inspect. */
#ifndef BERTH_RUNTIME_HEALTH_H
#define BERTH_RUNTIME_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "runtime/plan.h"

struct health;

/* NULL when there is no check (none configured, or Test ["NONE"]). */
struct health *health_new(json_t *healthcheck);
/* The container (re)started: status "starting", timers armed. */
void health_reset(struct health *h);
/* A timerfd to poll; readable when health_tick has work. */
int health_fd(struct health *h);
/* Start a due check or time out a running one. True when the state changed. */
bool health_tick(struct health *h, pid_t ctr_pid, const struct plan *p);
/* A child of the monitor exited: if it is the running check, record it.
 * True when the state changed. */
/* Forget the probe PID's result (it ran while the container died). */
bool health_child_discard(struct health *h, pid_t pid);
bool health_child_exited(struct health *h, pid_t pid, int status);
/* The container exited: stop checking (kill a running check). */
void health_stop(struct health *h);
/* {"Status", "FailingStreak", "Log": [...]} as in docker inspect. */
json_t *health_state_json(struct health *h);

#endif
