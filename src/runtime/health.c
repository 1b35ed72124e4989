#include "runtime/health.h"
#include "runtime/exec.h"
#include "util/timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define OUTPUT_MAX 4096

struct health {
	json_t *test;
	int64_t interval, timeout, start_period, start_interval;
	int retries;
	int tfd;
	const char *status;
	int failing_streak;
	json_t *log;
	int64_t started;   /* monotonic ns of the container start */
	int64_t next_due;
	pid_t check;       /* running check, 0 if none */
	int check_out;
	int64_t deadline;
	bool timed_out;
	char check_start[48];
};

static int64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t dur(json_t *hc, const char *key, int64_t def)
{
	json_int_t v = json_integer_value(json_object_get(hc, key));
	return v > 0 ? (int64_t)v : def;
}

struct health *health_new(json_t *hc)
{
	json_t *test = json_object_get(hc, "Test");
	if (!json_is_array(test) || json_array_size(test) == 0)
		return NULL;
	const char *kind = json_string_value(json_array_get(test, 0));
	if (!kind || !strcmp(kind, "NONE"))
		return NULL;
	struct health *h = calloc(1, sizeof(*h));
	h->test = json_incref(test);
	h->interval = dur(hc, "Interval", 30 * NS);
	h->timeout = dur(hc, "Timeout", 30 * NS);
	h->start_period = dur(hc, "StartPeriod", 0);
	h->start_interval = dur(hc, "StartInterval", 5 * NS);
	json_int_t r = json_integer_value(json_object_get(hc, "Retries"));
	h->retries = r > 0 ? (int)r : 3;
	h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	h->log = json_array();
	h->status = "starting";
	h->check_out = -1;
	return h;
}

static void arm(struct health *h, int64_t at)
{
	struct itimerspec its = {0};
	its.it_value.tv_sec = at / NS;
	its.it_value.tv_nsec = at % NS;
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(h->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int64_t period(struct health *h, int64_t now)
{
	/* Docker 25+: checks run every start_interval during the start period */
	if (h->start_period > 0 && now - h->started < h->start_period && !strcmp(h->status, "starting"))
		return h->start_interval < h->interval ? h->start_interval : h->interval;
	return h->interval;
}

void health_reset(struct health *h)
{
	h->status = "starting";
	h->failing_streak = 0;
	h->started = mono_now();
	h->next_due = h->started + period(h, h->started);
	h->check = 0;
	arm(h, h->next_due);
}

int health_fd(struct health *h) { return h->tfd; }

static void start_check(struct health *h, pid_t ctr, const struct plan *p)
{
	size_t n = json_array_size(h->test);
	const char *kind = json_string_value(json_array_get(h->test, 0));
	char **argv = calloc(n + 3, sizeof(char *));
	if (kind && !strcmp(kind, "CMD-SHELL")) {
		argv[0] = "/bin/sh";
		argv[1] = "-c";
		argv[2] = (char *)(json_string_value(json_array_get(h->test, 1)) ? json_string_value(json_array_get(h->test, 1)) : "");
	} else {
		for (size_t i = 1; i < n; i++)
			argv[i - 1] = (char *)json_string_value(json_array_get(h->test, i));
	}
	struct plan_proc proc = p->proc;
	proc.argv = argv;
	proc.tty = false;
	int op[2];
	if (pipe2(op, O_CLOEXEC) < 0) {
		free(argv);
		return;
	}
	struct berr *e = NULL;
	pid_t pid;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	time_rfc3339(&now, h->check_start, sizeof(h->check_start));
	/* the monitor ignores SIGPIPE; the check gets the default */
	signal(SIGPIPE, SIG_DFL);
	int r = exec_spawn(ctr, p->cgroup_name, &proc, -1, op[1], op[1], &pid, NULL, &e);
	signal(SIGPIPE, SIG_IGN);
	if (r < 0) {
		berr_free(e);
		close(op[0]);
		close(op[1]);
		free(argv);
		return;
	}
	close(op[1]);
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	free(argv);
	h->check = pid;
	h->check_out = op[0];
	h->timed_out = false;
	h->deadline = mono_now() + h->timeout;
	arm(h, h->deadline);
}

bool health_tick(struct health *h, pid_t ctr, const struct plan *p)
{
	uint64_t x;
	ssize_t r = read(h->tfd, &x, sizeof(x));
	(void)r;
	int64_t now = mono_now();
	if (h->check) {
		if (now >= h->deadline && !h->timed_out) {
			h->timed_out = true;
			kill(-h->check, SIGKILL);
			kill(h->check, SIGKILL);
		}
		return false;
	}
	if (now >= h->next_due)
		start_check(h, ctr, p);
	else
		arm(h, h->next_due);
	return false;
}

bool health_child_discard(struct health *h, pid_t pid)
{
	if (!h || pid != h->check)
		return false;
	if (h->check_out >= 0)
		close(h->check_out);
	h->check_out = -1;
	h->check = 0;
	return true;
}

bool health_child_exited(struct health *h, pid_t pid, int status)
{
	if (!h || pid != h->check)
		return false;
	char out[OUTPUT_MAX + 1];
	ssize_t n = h->check_out >= 0 ? read(h->check_out, out, OUTPUT_MAX) : 0;
	if (n < 0)
		n = 0;
	out[n] = 0;
	if (h->check_out >= 0)
		close(h->check_out);
	h->check_out = -1;
	h->check = 0;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (h->timed_out) {
		code = -1;
		snprintf(out, sizeof(out), "Health check exceeded timeout (%llds)", (long long)(h->timeout / NS));
	}
	int64_t now = mono_now();
	if (code == 0) {
		h->status = "healthy";
		h->failing_streak = 0;
	} else if (!(h->start_period > 0 && now - h->started < h->start_period)) {
		h->failing_streak++;
		if (h->failing_streak >= h->retries)
			h->status = "unhealthy";
	}
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	char end[48];
	time_rfc3339(&rt, end, sizeof(end));
	json_array_append_new(h->log, json_pack("{s:s, s:s, s:i, s:s}", "Start", h->check_start, "End", end,
						"ExitCode", code, "Output", out));
	while (json_array_size(h->log) > 5)
		json_array_remove(h->log, 0);
	h->next_due = now + period(h, now);
	arm(h, h->next_due);
	return true;
}

void health_stop(struct health *h)
{
	if (h->check) {
		kill(-h->check, SIGKILL);
		kill(h->check, SIGKILL);
		waitpid(h->check, NULL, 0);
		h->check = 0;
	}
	if (h->check_out >= 0)
		close(h->check_out);
	h->check_out = -1;
	struct itimerspec off = {0};
	timerfd_settime(h->tfd, 0, &off, NULL);
}

json_t *health_state_json(struct health *h)
{
	return json_pack("{s:s, s:i, s:O}", "Status", h->status, "FailingStreak", h->failing_streak, "Log", h->log);
}
