/* GET /containerLogs/NS/POD/CONTAINER (kube/kubelet-api.h): the log of a
 * pod's container as the kubelet answers it, plain text in chunks, each
 * write flushed (kubectl logs -f sees lines as they come).
 *
 * Which run: the kubelet reads the log of one container instance (the
 * running one, the last one that ended, or with previous=true the one
 * before, from lastState); a berth container restarts in place and keeps
 * one log, so a run is the part written since it started: the current
 * run is the log from state.json's StartedAt on, the previous one what was
 * written before it. state.json keeps only the last run's start, so for a
 * running container "previous" is every earlier run, not just the last
 * one (a start time per run in state.json would narrow it); in a back-off
 * (CrashLoopBackOff) the last run is both the current and the previous
 * one, as with the kubelet. A follow ends when the run does (the container
 * exited or started again), as the kubelet's ends with its container. */
#include "kube/kubelet-api-int.h"
#include "runtime/logs.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLUSH_AT 32768

struct lw {
	struct kconn *c;
	struct kapi *a;
	struct sbuf pend;
	bool chunked;
	bool timestamps;
	int stream;          /* 0 both, 1 stdout, 2 stderr */
	long long remain;    /* limitBytes left, -1: no limit */
	bool failed;
	/* while following: the run being followed */
	bool follow;
	char id[65];
	char started[64];
	bool ending;
	/* previous with tailLines: the last lines of the window */
	long long tail_after;
	json_t *ring;
};

static int flush(struct lw *w)
{
	if (w->failed)
		return -1;
	if (!w->pend.len)
		return 0;
	struct sbuf b = SBUF_INIT;
	if (w->chunked)
		sbuf_addf(&b, "%zx\r\n", w->pend.len);
	sbuf_add(&b, w->pend.s, w->pend.len);
	if (w->chunked)
		sbuf_adds(&b, "\r\n");
	int rc = kconn_write(w->c, b.s, b.len);
	sbuf_release(&b);
	sbuf_reset(&w->pend);
	if (rc < 0)
		w->failed = true;
	return rc;
}

/* One line out, cut at limitBytes. 1: stop. */
static int emit(struct lw *w, const char *s, size_t n)
{
	if (w->remain >= 0 && (long long)n > w->remain)
		n = (size_t)w->remain;
	sbuf_add(&w->pend, s, n);
	if (w->remain >= 0) {
		w->remain -= (long long)n;
		if (w->remain <= 0) {
			flush(w);
			return 1;
		}
	}
	if (w->pend.len >= FLUSH_AT && flush(w) < 0)
		return 1;
	return 0;
}

static int on_line(void *ud, int stream, const struct timespec *ts, const char *text, size_t n)
{
	struct lw *w = ud;
	if ((w->stream == 1 && stream != 0) || (w->stream == 2 && stream != 1))
		return 0;
	struct sbuf l = SBUF_INIT;
	if (w->timestamps) {
		char t[64];
		kapi_time_fixed(ts, t, sizeof(t));
		sbuf_addf(&l, "%s ", t);
	}
	sbuf_add(&l, text, n);
	int rc = 0;
	if (w->ring) {
		json_array_append_new(w->ring, json_stringn(l.s ? l.s : "", l.len));
		if ((long long)json_array_size(w->ring) > w->tail_after)
			json_array_remove(w->ring, 0);
	} else {
		rc = emit(w, l.s ? l.s : "", l.len);
	}
	sbuf_release(&l);
	return rc;
}

/* Has the client gone? (A request pipelined behind this one is kept.) */
static bool client_gone(struct kconn *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL))
		return true;
	char buf[4096];
	ssize_t n = kconn_read_nb(c, buf, sizeof(buf));
	if (n < 0)
		return true;
	if (n > 0)
		sbuf_add(&c->rbuf, buf, (size_t)n);
	return false;
}

static int on_idle(void *ud)
{
	struct lw *w = ud;
	if (flush(w) < 0 || w->a->quit || client_gone(w->c))
		return 1;
	if (!w->follow)
		return 0;
	/* the run ended (exited, or started again): one more read, then stop */
	_cleanup_json_ json_t *st = ctr_state(w->a->cs, w->id, NULL);
	const char *status = jsonx_str(st, "Status"), *started = jsonx_str(st, "StartedAt");
	bool over = !status || strcmp(status, "running") || !started || strcmp(started, w->started);
	if (over && w->ending)
		return 1;
	if (over)
		w->ending = true;
	return 0;
}

static const json_t *find_named(const json_t *list, const char *name)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
	{
		const char *n = jsonx_str(x, "name");
		if (n && !strcmp(n, name))
			return x;
	}
	return NULL;
}

__attribute__((format(printf, 4, 5))) static void bad(struct kconn *c, const struct kreq *r, int status,
							const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kconn_text(c, r, status, msg);
}

static bool later(const struct timespec *x, const struct timespec *y)
{
	return x->tv_sec > y->tv_sec || (x->tv_sec == y->tv_sec && x->tv_nsec > y->tv_nsec);
}

void kapi_container_logs(struct kconn *c, const struct kreq *r, const char *ns, const char *pod, const char *ctr)
{
	struct kapi *a = c->api;
	if (!*pod) {
		kconn_text(c, r, 400, "{\"message\": \"Missing podID.\"}");
		return;
	}
	if (!*ctr) {
		kconn_text(c, r, 400, "{\"message\": \"Missing container name.\"}");
		return;
	}
	if (!*ns) {
		kconn_text(c, r, 400, "{\"message\": \"Missing podNamespace.\"}");
		return;
	}
	struct klog_opts lo;
	int status;
	char msg[256];
	if (klog_opts_parse(r->query, &lo, &status, msg, sizeof(msg)) < 0) {
		kconn_text(c, r, status, msg);
		return;
	}
	_cleanup_json_ json_t *meta = kapi_pod_meta(a, ns, pod);
	if (!meta) {
		bad(c, r, 404, "pod \"%s\" does not exist", pod);
		return;
	}
	if (!kapi_pod_has_container(a, ns, pod, meta, ctr)) {
		bad(c, r, 404, "container \"%s\" not found in pod \"%s\"", ctr, pod);
		return;
	}
	/* the kubelet's validateContainerLogStatus */
	_cleanup_json_ json_t *ps = pod_status(a->cs, ns, pod);
	const json_t *cst = find_named(json_object_get(ps, "containerStatuses"), ctr);
	if (!cst)
		cst = find_named(json_object_get(ps, "initContainerStatuses"), ctr);
	if (!cst) {
		bad(c, r, 400, "container \"%s\" in pod \"%s\" is not available", ctr, pod);
		return;
	}
	const json_t *state = json_object_get(cst, "state");
	const json_t *last = json_object_get(json_object_get(cst, "lastState"), "terminated");
	const json_t *waiting = json_object_get(state, "waiting");
	bool running = json_is_object(json_object_get(state, "running"));
	bool terminated = json_is_object(json_object_get(state, "terminated"));
	if (lo.previous && !json_is_object(last)) {
		bad(c, r, 400, "previous terminated container \"%s\" in pod \"%s\" not found", ctr, pod);
		return;
	}
	if (!lo.previous && !running && !terminated && !json_is_object(last)) {
		const char *why = jsonx_str(waiting, "reason");
		if (!json_is_object(waiting))
			bad(c, r, 400, "container \"%s\" in pod \"%s\" is waiting to start - no logs yet", ctr, pod);
		else if (why && !strcmp(why, "ErrImagePull"))
			bad(c, r, 400, "container \"%s\" in pod \"%s\" is waiting to start: image can't be pulled", ctr, pod);
		else if (why && !strcmp(why, "ImagePullBackOff"))
			bad(c, r, 400, "container \"%s\" in pod \"%s\" is waiting to start: trying and failing to pull image",
			    ctr, pod);
		else {
			char m2[1024];
			snprintf(m2, sizeof(m2), "container \"%s\" in pod \"%s\" is waiting to start: %s", ctr, pod,
				 why ? why : "");
			kconn_text(c, r, 400, m2);
		}
		return;
	}
	char id[65];
	struct berr *e = NULL;
	if (pod_container_id(a->cs, ns, pod, ctr, id, &e) < 0) {
		berr_free(e);
		bad(c, r, 400, "container \"%s\" in pod \"%s\" is waiting to start - no logs yet", ctr, pod);
		return;
	}
	_cleanup_json_ json_t *cs = ctr_state(a->cs, id, NULL);
	const char *started = jsonx_str(cs, "StartedAt");
	struct timespec start = {0};
	if (started)
		time_parse_rfc3339(started, &start);
	/* the window of the run asked for */
	struct logs_opts o = {.tail = lo.has_tail ? lo.tail : -1, .out = -1, .err = -1};
	struct lw w = {.c = c, .a = a, .timestamps = lo.timestamps, .stream = lo.stream,
		       .remain = lo.has_limit ? lo.limit : -1, .tail_after = -1};
	struct timespec from = start, until = {0};
	if (lo.previous && running) {
		/* everything before the current run */
		from = (struct timespec){0};
		const char *ls = jsonx_str(last, "startedAt");
		if (ls)
			time_parse_rfc3339(ls, &from);
		until = start;
		if (until.tv_nsec > 0) {
			until.tv_nsec--;
		} else {
			until.tv_sec--;
			until.tv_nsec = 999999999;
		}
	}
	bool current_running = running && !lo.previous;
	struct timespec since = {0};
	if (lo.has_since_seconds) {
		clock_gettime(CLOCK_REALTIME, &since);
		since.tv_sec -= (time_t)lo.since_seconds;
	} else if (lo.has_since_time) {
		since = lo.since_time;
	}
	o.since = later(&since, &from) ? since : from;
	o.until = until;
	o.follow = lo.follow && current_running;
	w.follow = o.follow;
	snprintf(w.id, sizeof(w.id), "%s", id);
	snprintf(w.started, sizeof(w.started), "%s", started ? started : "");
	/* a tail of the previous run: the log's tail is the current run's */
	if (lo.previous && lo.has_tail) {
		o.tail = -1;
		w.tail_after = lo.tail;
		w.ring = json_array();
	}
	o.line = on_line;
	o.idle = on_idle;
	o.ud = &w;
	/* the answer starts now; an error after this can only cut it short */
	w.chunked = r->minor >= 1;
	char head[512];
	time_t now = time(NULL);
	struct tm tm;
	char date[64];
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: %s\r\n%s\r\n", date,
		 w.chunked ? "Transfer-Encoding: chunked\r\n" : "Connection: close\r\n");
	if (kconn_write(c, head, strlen(head)) < 0) {
		json_decref(w.ring);
		return;
	}
	/* a read error can only cut the answer short */
	if (logs_print(a->cs, id, &o, &e) < 0)
		berr_free(e);
	if (w.ring) {
		size_t i;
		json_t *l;
		json_array_foreach(w.ring, i, l) if (emit(&w, json_string_value(l), json_string_length(l))) break;
		json_decref(w.ring);
	}
	flush(&w);
	sbuf_release(&w.pend);
	if (w.chunked && !w.failed)
		kconn_write(c, "0\r\n\r\n", 5);
	if (!w.chunked)
		c->closed = true;
}
