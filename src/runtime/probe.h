/* Kubernetes probes, lifecycle hooks and restart back-off, with the
 * kubelet's semantics (pkg/kubelet/prober, pkg/kubelet/lifecycle), run by
 * the per-container monitor for containers of a pod (runtime/pod.h).
 *
 * The monitor reads these keys at the top of config.json:
 *   "KubeProbes": {"liveness": P, "readiness": P, "startup": P}
 *       P: a Kubernetes Probe, defaults filled, the port a number:
 *       {"exec": {"command": [..]}} | {"httpGet": {"host", "port", "path",
 *       "scheme": "HTTP|HTTPS", "httpHeaders": [{name, value}]}} |
 *       {"tcpSocket": {"host", "port"}}, plus initialDelaySeconds,
 *       periodSeconds (10), timeoutSeconds (1), successThreshold (1),
 *       failureThreshold (3), terminationGracePeriodSeconds (optional)
 *   "KubeLifecycle": {"postStart": H, "preStop": H}
 *       H: {"exec": ..} | {"httpGet": ..} | {"sleep": {"seconds": N}}
 *       (tcpSocket is accepted and fails when run, as in the kubelet)
 *   "KubePodIP": "10.84.x.y"  host of httpGet/tcpSocket when theirs is
 *       empty (the monitor is in the host's network namespace and reaches
 *       the pod over the bridge); absent: the container's own address
 *   "KubeBackoff": true  the kubelet's restart back-off instead of Docker's
 *
 * and records in state.json
 *   "Kube": {"Started": bool, "Ready": bool,
 *            "Liveness"|"Readiness"|"Startup"|"PostStart":
 *                {"Result": "success|failure", "Output", "Time", "ConsecutiveFailures"},
 *            "LastKill": {"Reason": "LivenessProbe|StartupProbe|FailedPostStartHook",
 *                         "Message", "Time"},
 *            "BackOff": {"Reason": "CrashLoopBackOff", "Message", "Seconds", "Until"}}
 * (BackOff only while the container waits to be restarted), rewritten only
 * when one of those values changes: Result is the last probe's,
 * ConsecutiveFailures counts up to the probe's failureThreshold and stays
 * there, so a probe that keeps failing (or succeeding) writes nothing. */
#ifndef BERTH_RUNTIME_PROBE_H
#define BERTH_RUNTIME_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/container.h"
#include "runtime/plan.h"
#include "util/err.h"

#define PROBE_USER_AGENT "kube-probe/1.36"
#define PROBE_HOOK_USER_AGENT "kube-lifecycle/1.36"

/* Run a lifecycle handler (preStop, postStart) once, synchronously, as the
 * kubelet does: {"exec": {"command"}} in the container ctr_id (which must
 * be running), {"httpGet": {...}} to pod_ip (or the handler's host; NULL or
 * "": the container's address) where any HTTP response counts as done,
 * {"sleep": {"seconds": N}}. timeout_s > 0 bounds the run (the exec'd
 * command is killed then); <= 0: no bound. 0 when the handler succeeded;
 * -1 with *err saying why (the command's exit status and output, the
 * connection error, "timed out after Ns"); BERR_INVALID for a malformed
 * handler. */
int probe_handler_run(const json_t *handler, const char *pod_ip, struct ctr_store *cs, const char *ctr_id,
		      int timeout_s, struct berr **err);

/* Check a Probe (what: "livenessProbe", for the message) or a lifecycle
 * handler the way the monitor will read it: one handler of a known kind,
 * ports 1..65535, the numeric fields' ranges. BERR_INVALID naming the
 * field ("livenessProbe.httpGet.port: 0 is not a valid port"). */
int probe_check(const json_t *probe, const char *what, bool hook, struct berr **err);

/* ---- the monitor's side ---- */

struct probes;

#define PROBES_CHANGED 1 /* the "Kube" state changed: write state.json */

/* The Kube* keys of config.json; NULL when there are none (a plain
 * container). Invalid probes do not fail here: they run as failing probes
 * whose output says what is wrong (the kubelet's behaviour for a probe it
 * cannot run). */
struct probes *probes_new(const json_t *cfg);
void probes_free(struct probes *p);
/* "KubeBackoff": true. */
bool probes_kube_backoff(const struct probes *p);
/* The container id (re)started: pid 1 is ctr_pid, plan its plan (exec
 * handlers run with plan->proc, which must outlive p's use of it); its
 * address is looked up when the config has no KubePodIP. Runs postStart
 * (if any), then the startup probe, then liveness and readiness. */
void probes_start(struct probes *p, pid_t ctr_pid, const struct plan *plan, struct ctr_store *cs, const char *id);
/* An fd to poll for input (an epoll set of the timer and the running
 * probes' output); then call probes_tick. */
int probes_fd(struct probes *p);
/* Run due probes, read output, time out and kill late ones, kill the
 * container (stop signal, SIGKILL after the grace period) when liveness,
 * startup or postStart failed. PROBES_CHANGED or 0. */
int probes_tick(struct probes *p);
/* A child of the monitor exited: if it is one of ours, record it (true in
 * *ret_ours) and return PROBES_CHANGED when the state changed. */
int probes_child_exited(struct probes *p, pid_t pid, int status, bool *ret_ours);
/* The same for a child that ran while the container died: forgotten, not
 * recorded. True when it was ours. */
bool probes_child_discard(struct probes *p, pid_t pid);
/* The container exited: kill running probes and hooks, stop the timers;
 * Started and Ready become false. */
void probes_stop(struct probes *p);
/* The container waits delay_ms before its restart (0: none). */
void probes_set_backoff(struct probes *p, long delay_ms);
/* The "Kube" object for state.json. */
json_t *probes_state_json(const struct probes *p);

/* ---- pure helpers (exported for tests/unit/test-probe.c) ---- */

enum probe_result { PROBE_UNKNOWN = 0, PROBE_SUCCESS, PROBE_FAILURE };

/* The kubelet's worker: a result is reported once successThreshold
 * successes or failureThreshold failures came in a row; until then the
 * previous one stays. */
struct probe_thresh {
	int success_threshold, failure_threshold;
	enum probe_result result; /* reported */
	enum probe_result last;   /* last raw result */
	int run;                  /* how many of `last` in a row */
};
void probe_thresh_init(struct probe_thresh *t, int success_threshold, int failure_threshold,
		       enum probe_result initial);
/* Feed one raw result. True when the reported result changed. */
bool probe_thresh_feed(struct probe_thresh *t, enum probe_result raw);
/* Consecutive failures now (0 after a success). */
int probe_thresh_failures(const struct probe_thresh *t);

/* The kubelet's restart back-off: restart n (1-based, counted since the
 * last reset) waits 0 (n = 1), then 10 s doubling, at most 300 s. */
long probe_kube_backoff_ms(int n);
/* Seconds a container must run for its back-off to start over (600). */
#define PROBE_BACKOFF_RESET_S 600

/* An HTTP/1.x status line ("HTTP/1.1 404 Not Found\r\n"): the code, or -1
 * when it is not one. */
int probe_http_status(const char *line, size_t len);
/* Whether a response head (status line and headers, up to the blank line)
 * is complete in buf: its length including the blank line, else 0. */
size_t probe_http_head_len(const char *buf, size_t len);
/* A header's value from a response head (case-insensitive name), copied
 * into out (trimmed). False when absent. */
bool probe_http_header(const char *head, size_t len, const char *name, char *out, size_t outlen);

#endif
