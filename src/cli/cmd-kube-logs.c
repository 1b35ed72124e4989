/* berth kube logs: a pod container's log as kubectl shows it, read from the
 * berth container's json-file log (runtime/logs.h). A Kubernetes container
 * that restarts is a new container with its own log; a berth container
 * keeps one log across its restarts, so the runs are told apart by time:
 * the current run is what was written since the container last started,
 * --previous what was written between the start of the run before
 * (lastState.terminated.startedAt, when the pod runtime knows it) and that
 * start. Both streams go to stdout, as kubectl's do. */
#include "cli/ctr.h"
#include "cli/kube-view.h"
#include "runtime/logs.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct stream {
	char id[65];
	char prefix[600]; /* "[pod/NAME/CTR] " or "" */
	struct logs_opts o;
	long tail_after;  /* keep only the last N lines (after the time window), -1: all */
	/* while following */
	pid_t pid;
	int fd;
	struct sbuf part;
	bool done;
};

static const json_t *find_ctr(const json_t *list, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *n = jsonx_str(c, "name");
		if (n && !strcmp(n, name))
			return c;
	}
	return NULL;
}

static const json_t *ctr_status(const json_t *pod, const char *name)
{
	const json_t *st = json_object_get(pod, "status");
	const json_t *c = find_ctr(json_object_get(st, "containerStatuses"), name);
	return c ? c : find_ctr(json_object_get(st, "initContainerStatuses"), name);
}

/* kubectl's AllContainerNames: "a, b, i (init)" */
static void all_names(const json_t *pod, struct sbuf *out)
{
	const json_t *spec = json_object_get(pod, "spec");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "containers"), i, c)
		sbuf_addf(out, "%s%s", out->len ? ", " : "", jsonx_str(c, "name") ? jsonx_str(c, "name") : "");
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
		sbuf_addf(out, "%s%s (init)", out->len ? ", " : "", jsonx_str(c, "name") ? jsonx_str(c, "name") : "");
}

static void ts_minus_1ns(struct timespec *t)
{
	if (t->tv_nsec > 0) {
		t->tv_nsec--;
	} else {
		t->tv_sec--;
		t->tv_nsec = 999999999;
	}
}

static bool later(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* Set up the stream of one container: its berth container and the time
 * window of the run asked for. -1 after printing kubectl's error. */
static int stream_for(struct ctr_store *cs, const char *ns, const json_t *pod, const char *ctr, bool previous,
		      const struct logs_opts *base, bool prefix, long tail, struct stream *s)
{
	const char *pname = jsonx_str(json_object_get(pod, "metadata"), "name");
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->o = *base;
	s->tail_after = -1;
	if (prefix)
		snprintf(s->prefix, sizeof(s->prefix), "[pod/%s/%s] ", pname, ctr);
	const json_t *cst = ctr_status(pod, ctr);
	const json_t *waiting = json_object_get(json_object_get(cst, "state"), "waiting");
	const json_t *last = json_object_get(json_object_get(cst, "lastState"), "terminated");
	struct berr *e = NULL;
	if (pod_container_id(cs, ns, pname, ctr, s->id, &e) < 0) {
		berr_free(e);
		const char *why = waiting && jsonx_str(waiting, "reason") ? jsonx_str(waiting, "reason") : "ContainerCreating";
		if (previous)
			fprintf(stderr, "Error from server (BadRequest): previous terminated container \"%s\" in pod \"%s\" not found\n",
				ctr, pname);
		else
			fprintf(stderr, "Error from server (BadRequest): container \"%s\" in pod \"%s\" is waiting to start: %s\n",
				ctr, pname, why);
		return -1;
	}
	_cleanup_json_ json_t *state = ctr_state(cs, s->id, &e);
	berr_free(e);
	e = NULL;
	const char *status = jsonx_str(state, "Status"), *started = jsonx_str(state, "StartedAt");
	struct timespec start = {0};
	bool ran = started && time_parse_rfc3339(started, &start) == 0 && start.tv_sec > 0;
	if (!ran && !previous) {
		const char *why = waiting && jsonx_str(waiting, "reason") ? jsonx_str(waiting, "reason") : "ContainerCreating";
		fprintf(stderr, "Error from server (BadRequest): container \"%s\" in pod \"%s\" is waiting to start: %s\n", ctr,
			pname, why);
		return -1;
	}
	if (previous) {
		if (!last || !ran) {
			fprintf(stderr, "Error from server (BadRequest): previous terminated container \"%s\" in pod \"%s\" not found\n",
				ctr, pname);
			return -1;
		}
		bool running = status && !strcmp(status, "running");
		struct timespec from = {0}, to = start;
		const char *ls = jsonx_str(last, "startedAt"), *lf = jsonx_str(last, "finishedAt");
		if (ls)
			time_parse_rfc3339(ls, &from);
		if (!running) {
			/* waiting to restart: the last run is both current and previous */
			struct timespec fin = {0};
			if (lf && time_parse_rfc3339(lf, &fin) == 0 && later(&fin, &start))
				from = start;
			to.tv_sec = 0;
		}
		if (!s->o.since.tv_sec || later(&from, &s->o.since))
			s->o.since = from;
		if (to.tv_sec) {
			ts_minus_1ns(&to);
			if (!s->o.until.tv_sec || later(&s->o.until, &to))
				s->o.until = to;
		}
		s->o.follow = false;
	} else if (!s->o.since.tv_sec || later(&start, &s->o.since)) {
		s->o.since = start;
	}
	/* the log holds every run: --tail counts the window's lines, so the
	 * previous run's tail is taken after the window (the current run is
	 * the end of the file: a tail of the file is a tail of the run) */
	if (previous && tail >= 0) {
		s->o.tail = -1;
		s->tail_after = tail;
	}
	return 0;
}

static volatile sig_atomic_t stop_logs;
static void on_stop(int sig)
{
	(void)sig;
	stop_logs = 1;
}

/* The stream's lines, prefixed, from a child running logs_print into a
 * pipe. */
static int spawn(struct ctr_store *cs, struct stream *s)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		signal(SIGPIPE, SIG_DFL);
		struct logs_opts o = s->o;
		o.out = o.err = p[1];
		struct berr *e = NULL;
		int rc = logs_print(cs, s->id, &o, &e);
		if (rc < 0)
			fprintf(stderr, "error: %s\n", e ? e->msg : "reading the log");
		_exit(rc < 0 ? 1 : 0);
	}
	close(p[1]);
	s->pid = pid;
	s->fd = p[0];
	return 0;
}

static void emit(struct stream *s, const char *line, size_t n)
{
	struct sbuf b = SBUF_INIT;
	sbuf_adds(&b, s->prefix);
	sbuf_add(&b, line, n);
	fs_write_full(1, b.s, b.len);
	sbuf_release(&b);
}

/* Read what the child wrote; complete lines go out (or to ring). 0 at EOF. */
static int pump(struct stream *s, json_t *ring)
{
	char buf[65536];
	ssize_t r = read(s->fd, buf, sizeof(buf));
	if (r < 0 && errno == EINTR)
		return 1;
	if (r <= 0) {
		if (s->part.len) {
			if (ring)
				json_array_append_new(ring, json_stringn(s->part.s, s->part.len));
			else
				emit(s, s->part.s, s->part.len);
		}
		sbuf_release(&s->part);
		return 0;
	}
	sbuf_add(&s->part, buf, (size_t)r);
	char *nl;
	while ((nl = memchr(s->part.s, '\n', s->part.len))) {
		size_t ln = (size_t)(nl - s->part.s) + 1;
		if (ring) {
			json_array_append_new(ring, json_stringn(s->part.s, ln));
			if (s->tail_after >= 0 && (long)json_array_size(ring) > s->tail_after)
				json_array_remove(ring, 0);
		} else {
			emit(s, s->part.s, ln);
		}
		memmove(s->part.s, s->part.s + ln, s->part.len - ln);
		s->part.len -= ln;
	}
	return 1;
}

static int finish(struct stream *s)
{
	int st = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->pid > 0)
		while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
			;
	s->pid = 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* One stream to the end: straight to stdout when nothing needs rewriting. */
static int run_one(struct ctr_store *cs, struct stream *s)
{
	if (!*s->prefix && s->tail_after < 0) {
		struct berr *e = NULL;
		s->o.out = s->o.err = 1;
		if (logs_print(cs, s->id, &s->o, &e) < 0) {
			fprintf(stderr, "error: %s\n", e ? e->msg : "reading the log");
			berr_free(e);
			return -1;
		}
		return 0;
	}
	if (spawn(cs, s) < 0) {
		fprintf(stderr, "error: %s\n", strerror(errno));
		return -1;
	}
	json_t *ring = s->tail_after >= 0 ? json_array() : NULL;
	while (pump(s, ring))
		;
	if (ring) {
		size_t i;
		json_t *l;
		json_array_foreach(ring, i, l) emit(s, json_string_value(l), json_string_length(l));
		json_decref(ring);
	}
	return finish(s);
}

/* -f over several containers: every stream at once, line by line. */
static int run_all(struct ctr_store *cs, struct stream *v, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		if (spawn(cs, &v[i]) < 0)
			v[i].done = true;
	struct sigaction sa = {.sa_handler = on_stop}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	for (;;) {
		struct pollfd pf[64];
		size_t live = 0;
		for (size_t i = 0; i < n && i < 64; i++) {
			pf[i] = (struct pollfd){.fd = v[i].done ? -1 : v[i].fd, .events = POLLIN};
			live += !v[i].done;
		}
		if (!live || stop_logs)
			break;
		if (poll(pf, n < 64 ? n : 64, -1) < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < n && i < 64; i++)
			if (!v[i].done && pf[i].revents && !pump(&v[i], NULL))
				v[i].done = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].pid > 0 && stop_logs)
			kill(v[i].pid, SIGTERM);
		if (v[i].pid > 0 && finish(&v[i]) < 0 && !stop_logs)
			rc = -1;
	}
	sigaction(SIGINT, &old, NULL);
	return rc;
}

static int parse_since(const char *s, struct timespec *ret)
{
	int64_t ns;
	if (time_parse_duration(s, false, &ns) < 0 || ns < 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, ret);
	int64_t t = (int64_t)ret->tv_sec * 1000000000 + ret->tv_nsec - ns;
	ret->tv_sec = (time_t)(t / 1000000000);
	ret->tv_nsec = (long)(t % 1000000000);
	return 0;
}

CMD(kube_logs)
{
	static const struct option lo[] = {{"container", required_argument, 0, 'c'},
					   {"follow", no_argument, 0, 'f'},
					   {"previous", no_argument, 0, 'p'},
					   {"namespace", required_argument, 0, 'n'},
					   {"tail", required_argument, 0, 'T'},
					   {"timestamps", no_argument, 0, 'S'},
					   {"since", required_argument, 0, 's'},
					   {"since-time", required_argument, 0, 't'},
					   {"all-containers", no_argument, 0, 'a'},
					   {"prefix", no_argument, 0, 'P'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *ns = "default", *ctr = NULL;
	bool previous = false, all = false, prefix = false;
	long tail = -1;
	struct logs_opts base = {.tail = -1, .out = 1, .err = 1};
	bool since_set = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "c:fpn:h", lo, NULL)) != -1) {
		switch (o) {
		case 'c': ctr = optarg; break;
		case 'f': base.follow = true; break;
		case 'p': previous = true; break;
		case 'n': ns = optarg; break;
		case 'T': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno) {
				fprintf(stderr, "error: invalid argument \"%s\" for \"--tail\" flag: strconv.ParseInt: parsing \"%s\": "
						"invalid syntax\n", optarg, optarg);
				return 1;
			}
			tail = v < 0 ? -1 : v;
			break;
		}
		case 'S': base.timestamps = true; break;
		case 's':
			if (since_set) {
				fprintf(stderr, "error: at most one of `sinceTime` or `sinceSeconds` may be specified\n");
				return 1;
			}
			if (parse_since(optarg, &base.since) < 0) {
				fprintf(stderr, "error: invalid argument \"%s\" for \"--since\" flag: time: invalid duration \"%s\"\n",
					optarg, optarg);
				return 1;
			}
			since_set = true;
			break;
		case 't':
			if (since_set) {
				fprintf(stderr, "error: at most one of `sinceTime` or `sinceSeconds` may be specified\n");
				return 1;
			}
			if (time_parse_rfc3339(optarg, &base.since) < 0) {
				fprintf(stderr, "error: --since-time must be a valid RFC3339 timestamp: \"%s\"\n", optarg);
				return 1;
			}
			since_set = true;
			break;
		case 'a': all = true; break;
		case 'P': prefix = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	base.tail = tail;
	int nargs = argc - optind;
	if (nargs < 1) {
		fprintf(stderr, "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
				"POD or TYPE/NAME is a required argument for the logs command\n"
				"See 'berth kube logs --help' for help and examples\n");
		return 1;
	}
	if (nargs > 2) {
		fprintf(stderr, "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
				"POD or TYPE/NAME is a required argument for the logs command\n"
				"See 'berth kube logs --help' for help and examples\n");
		return 1;
	}
	if (nargs == 2) {
		if (ctr) {
			fprintf(stderr, "error: only one of -c or an inline [CONTAINER] arg is allowed\n");
			return 1;
		}
		ctr = argv[optind + 1];
	}
	if (all && ctr) {
		fprintf(stderr, "error: --all-containers=true should not be specified with container name %s\n", ctr);
		return 1;
	}
	if (!kview_name_ok(ns, true)) {
		fprintf(stderr, "error: invalid namespace \"%s\" (-n): a lowercase RFC 1123 label must consist of lower "
				"case alphanumeric characters or '-', and must start and end with an alphanumeric character\n",
			ns);
		return 1;
	}
	struct ctr_store *cs = cli_ctr_store(c);
	if (!cs)
		return 1;
	struct kview v;
	kview_init(&v, c, cs);
	char msg[1024];
	const char *ref = argv[optind];
	_cleanup_json_ json_t *pods = kview_pods_for(&v, ns, ref, msg, sizeof(msg));
	kview_release(&v);
	if (!pods) {
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	const json_t *pod = json_array_get(pods, 0);
	const char *pname = jsonx_str(json_object_get(pod, "metadata"), "name");
	if (strchr(ref, '/') && strncmp(ref, "pod/", 4) && strncmp(ref, "pods/", 5) && strncmp(ref, "po/", 3) &&
	    json_array_size(pods) > 1)
		fprintf(stderr, "Found %zu pods, using pod/%s\n", json_array_size(pods), pname);
	const json_t *spec = json_object_get(pod, "spec");
	const json_t *ctrs = json_object_get(spec, "containers"), *inits = json_object_get(spec, "initContainers");
	if (!json_array_size(ctrs)) {
		fprintf(stderr, "error: pod %s/%s does not have any containers\n", ns, pname);
		return 1;
	}
	/* the containers: -c, all of them, or the default one */
	const char *names[256];
	size_t nn = 0;
	if (all) {
		size_t i;
		json_t *x;
		json_array_foreach(inits, i, x) if (nn < 256 && jsonx_str(x, "name")) names[nn++] = jsonx_str(x, "name");
		json_array_foreach(ctrs, i, x) if (nn < 256 && jsonx_str(x, "name")) names[nn++] = jsonx_str(x, "name");
	} else if (ctr) {
		if (!find_ctr(ctrs, ctr) && !find_ctr(inits, ctr)) {
			fprintf(stderr, "error: container %s is not valid for pod %s\n", ctr, pname);
			return 1;
		}
		names[nn++] = ctr;
	} else {
		const char *dflt = jsonx_str(json_object_get(json_object_get(pod, "metadata"), "annotations"),
					     "kubectl.kubernetes.io/default-container");
		if (dflt && !find_ctr(ctrs, dflt) && !find_ctr(inits, dflt)) {
			fprintf(stderr, "Default container name \"%s\" not found in pod %s\n", dflt, pname);
			dflt = NULL;
		}
		if (!dflt) {
			dflt = jsonx_str(json_array_get(ctrs, 0), "name");
			if (json_array_size(ctrs) > 1 || json_array_size(inits) > 0) {
				struct sbuf b = SBUF_INIT;
				all_names(pod, &b);
				fprintf(stderr, "Defaulted container \"%s\" out of: %s\n", dflt, sbuf_str(&b));
				sbuf_release(&b);
			}
		}
		names[nn++] = dflt;
	}
	struct stream *s = calloc(nn, sizeof(*s));
	for (size_t i = 0; i < nn; i++) {
		if (stream_for(cs, ns, pod, names[i], previous, &base, prefix, tail, &s[i]) < 0) {
			free(s);
			return 1;
		}
	}
	int rc = 0;
	if (base.follow && nn > 1) {
		rc = run_all(cs, s, nn);
	} else {
		for (size_t i = 0; i < nn && rc == 0; i++)
			rc = run_one(cs, &s[i]);
	}
	for (size_t i = 0; i < nn; i++)
		sbuf_release(&s[i].part);
	free(s);
	return rc < 0 ? 1 : 0;
}
