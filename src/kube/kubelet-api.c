/* The kubelet API server (kube/kubelet-api.h): a listening socket, one
 * thread per connection (TLS handshake, the client's certificate, HTTP/1.1
 * requests kept alive), the kubelet's authorization of each request, and
 * the endpoints: /healthz, /pods and /runningpods/ here, /containerLogs in
 * kubelet-api-logs.c, the SPDY upgrades in kubelet-api-stream.c.
 *
 * Why threads: a follow of a log, an exec session and a port-forward each
 * wait on their own things for as long as the client stays, and TLS state
 * is per connection; a thread per connection keeps each of them a plain
 * loop that owns its SSL object (OpenSSL's objects are not to be shared
 * between threads). Sockets are non-blocking, every wait is a poll of at
 * most 250 ms that also looks at the stop flag, so a stop ends them all
 * quickly. SIGPIPE is blocked in these threads (a peer that went away is
 * an EPIPE, not a signal) rather than ignored, which processes exec'd from
 * here would inherit. */
#include "kube/kubelet-api-int.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HANDSHAKE_MS 10000
#define BODY_MAX (1u << 20)
#define AUTHZ_ALLOWED_TTL 300   /* the kubelet's webhook cache: 5 min allowed, */
#define AUTHZ_DENIED_TTL 30     /* 30 s denied */
#define AUTHZ_CACHE 512

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- connection I/O ---- */

int kconn_wait(struct kconn *c, short events, int ms)
{
	long long end = now_ms() + ms;
	for (;;) {
		if (c->api->quit)
			return -1;
		long long left = end - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = c->fd, .events = events};
		int r = poll(&p, 1, left > 250 ? 250 : (int)left);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0)
			return (p.revents & (POLLERR | POLLNVAL)) && !(p.revents & events) ? -1 : 1;
	}
}

int kconn_write(struct kconn *c, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0 && !c->closed) {
		ERR_clear_error();
		int w = SSL_write(c->ssl, p, n > (1u << 30) ? 1 << 30 : (int)n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		int e = SSL_get_error(c->ssl, w);
		int r = e == SSL_ERROR_WANT_WRITE ? kconn_wait(c, POLLOUT, KAPI_IO_MS)
			: e == SSL_ERROR_WANT_READ ? kconn_wait(c, POLLIN, KAPI_IO_MS)
						   : -1;
		if (r <= 0)
			c->closed = true;
	}
	return c->closed ? -1 : 0;
}

ssize_t kconn_read_nb(struct kconn *c, void *buf, size_t n)
{
	if (c->closed)
		return -1;
	ERR_clear_error();
	int r = SSL_read(c->ssl, buf, n > (1u << 30) ? 1 << 30 : (int)n);
	if (r > 0)
		return r;
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	c->closed = true;
	return -1;
}

static void http_date(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int kconn_respond(struct kconn *c, const struct kreq *r, int status, const char *ctype, const char *extra,
		  const char *body, size_t len)
{
	char date[64];
	http_date(date, sizeof(date));
	struct sbuf b = SBUF_INIT;
	sbuf_addf(&b, "HTTP/1.1 %d %s\r\n", status, kapi_reason(status));
	if (ctype)
		sbuf_addf(&b, "Content-Type: %s\r\n", ctype);
	if (extra)
		sbuf_adds(&b, extra);
	sbuf_addf(&b, "Date: %s\r\nContent-Length: %zu\r\n", date, len);
	if (r && !r->keep_alive)
		sbuf_adds(&b, "Connection: close\r\n");
	sbuf_adds(&b, "\r\n");
	if (!r || strcmp(r->method, "HEAD"))
		sbuf_add(&b, body, len);
	int rc = kconn_write(c, b.s, b.len);
	sbuf_release(&b);
	return rc;
}

int kconn_http_error(struct kconn *c, const struct kreq *r, int status, const char *msg, const char *extra)
{
	struct sbuf b = SBUF_INIT;
	sbuf_addf(&b, "%s\n", msg);
	struct sbuf h = SBUF_INIT;
	sbuf_adds(&h, "X-Content-Type-Options: nosniff\r\n");
	if (extra)
		sbuf_adds(&h, extra);
	int rc = kconn_respond(c, r, status, "text/plain; charset=utf-8", h.s, b.s, b.len);
	sbuf_release(&b);
	sbuf_release(&h);
	return rc;
}

int kconn_text(struct kconn *c, const struct kreq *r, int status, const char *msg)
{
	return kconn_respond(c, r, status, "text/plain; charset=utf-8", NULL, msg, strlen(msg));
}

static int respond_json(struct kconn *c, const struct kreq *r, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		return kconn_text(c, r, 500, "encoding the answer failed");
	size_t n = strlen(s);
	s = realloc(s, n + 2);
	s[n++] = '\n';
	s[n] = 0;
	int rc = kconn_respond(c, r, 200, "application/json", NULL, s, n);
	free(s);
	return rc;
}

/* ---- pods ---- */

static bool ours(struct kapi *a, json_t *meta)
{
	if (a->conf.all_pods)
		return true;
	const char *node = jsonx_str(meta, "node");
	return node && !strcmp(node, a->node_name);
}

json_t *kapi_pod_meta(struct kapi *a, const char *ns, const char *name)
{
	_cleanup_json_ json_t *l = pod_list(a->cs, ns);
	size_t i;
	json_t *p;
	json_array_foreach(l, i, p)
	{
		const char *n = jsonx_str(p, "name");
		json_t *meta = json_object_get(p, "meta");
		if (n && !strcmp(n, name) && ours(a, meta))
			return json_is_object(meta) ? json_incref(meta) : json_object();
	}
	return NULL;
}

static bool named_in(const json_t *list, const char *name)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
	{
		const char *n = jsonx_str(x, "name");
		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

/* The API's Pod the node agent keeps (meta.object); kube play keeps the
 * Pod's metadata and spec at the top of its meta. */
static json_t *meta_object(json_t *meta)
{
	json_t *o = json_object_get(meta, "object");
	if (json_is_object(o))
		return o;
	return json_is_object(json_object_get(meta, "metadata")) && json_is_object(json_object_get(meta, "spec")) ? meta
													     : NULL;
}

bool kapi_pod_has_container(struct kapi *a, const char *ns, const char *name, json_t *meta, const char *ctr)
{
	json_t *spec = json_object_get(meta_object(meta), "spec");
	if (json_is_object(spec))
		return named_in(json_object_get(spec, "containers"), ctr) ||
		       named_in(json_object_get(spec, "initContainers"), ctr) ||
		       named_in(json_object_get(spec, "ephemeralContainers"), ctr);
	/* a pod without the API's object (kube play's): the runtime's names */
	_cleanup_json_ json_t *st = pod_status(a->cs, ns, name);
	return named_in(json_object_get(st, "containerStatuses"), ctr) ||
	       named_in(json_object_get(st, "initContainerStatuses"), ctr);
}

/* The API's Pod of a store pod: meta.object (or a skeleton) with the
 * runtime's status. */
static json_t *api_pod(struct kapi *a, const char *ns, const char *name, json_t *meta)
{
	json_t *obj = meta_object(meta);
	json_t *pod = NULL;
	if (obj == meta)
		pod = json_pack("{s:O, s:O}", "metadata", json_object_get(meta, "metadata"), "spec",
				json_object_get(meta, "spec"));
	else if (obj)
		pod = json_deep_copy(obj);
	if (!pod) {
		pod = json_pack("{s:{s:s, s:s}}", "metadata", "name", name, "namespace", ns);
		if (jsonx_str(meta, "uid"))
			json_object_set_new(json_object_get(pod, "metadata"), "uid", json_string(jsonx_str(meta, "uid")));
	}
	/* list items carry no kind or apiVersion */
	json_object_del(pod, "kind");
	json_object_del(pod, "apiVersion");
	json_t *st = pod_status(a->cs, ns, name);
	if (st) {
		json_object_del(st, "berth");
		json_object_set_new(pod, "status", st);
	}
	return pod;
}

static void serve_pods(struct kconn *c, const struct kreq *r, bool running_only)
{
	struct kapi *a = c->api;
	_cleanup_json_ json_t *l = pod_list(a->cs, NULL);
	json_t *items = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(l, i, p)
	{
		const char *ns = jsonx_str(p, "namespace"), *name = jsonx_str(p, "name");
		json_t *meta = json_object_get(p, "meta");
		if (!ns || !name || !ours(a, meta))
			continue;
		if (!running_only) {
			json_array_append_new(items, api_pod(a, ns, name, meta));
			continue;
		}
		/* the runtime's view (kubecontainer.Pod.ToAPIPod): running containers only */
		_cleanup_json_ json_t *st = pod_status(a->cs, ns, name);
		json_t *ctrs = json_array();
		size_t k;
		json_t *cs;
		json_array_foreach(json_object_get(st, "containerStatuses"), k, cs)
		{
			if (!json_is_object(json_object_get(json_object_get(cs, "state"), "running")))
				continue;
			json_array_append_new(ctrs, json_pack("{s:s, s:s, s:{}}", "name", jsonx_str(cs, "name") ?: "", "image",
							      jsonx_str(cs, "image") ?: "", "resources"));
		}
		if (!json_array_size(ctrs)) {
			json_decref(ctrs);
			continue;
		}
		json_t *uid = json_object_get(json_object_get(meta_object(meta), "metadata"), "uid");
		if (!json_is_string(uid))
			uid = json_object_get(meta, "uid");
		json_t *md = json_pack("{s:s, s:s}", "name", name, "namespace", ns);
		if (json_is_string(uid))
			json_object_set(md, "uid", uid);
		json_object_set_new(md, "creationTimestamp", json_null());
		json_array_append_new(items, json_pack("{s:o, s:{s:o}, s:{}}", "metadata", md, "spec", "containers", ctrs,
						       "status"));
	}
	/* Go encodes an empty item list as null */
	json_t *list = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "PodList", "apiVersion", "v1", "metadata", "items",
				 json_array_size(items) ? items : json_null());
	if (!json_array_size(items))
		json_decref(items);
	respond_json(c, r, list);
	json_decref(list);
}

/* /metrics in Prometheus' text format, from the store as it is now: the
 * kubelet's gauges of what runs on the node (kubelet_running_pods,
 * kubelet_running_containers by container_state), kubelet_node_name and the
 * process' start time. Upstream's e2e framework reads it after a failure. */
static void serve_metrics(struct kconn *c, const struct kreq *r)
{
	struct kapi *a = c->api;
	_cleanup_json_ json_t *l = pod_list(a->cs, NULL);
	long pods = 0, running = 0, exited = 0, created = 0;
	size_t i;
	json_t *p;
	json_array_foreach(l, i, p)
	{
		const char *ns = jsonx_str(p, "namespace"), *name = jsonx_str(p, "name");
		if (!ns || !name || !ours(a, json_object_get(p, "meta")))
			continue;
		_cleanup_json_ json_t *st = pod_status(a->cs, ns, name);
		bool any = false;
		static const char *const lists[] = {"initContainerStatuses", "containerStatuses"};
		for (size_t k = 0; k < 2; k++) {
			size_t j;
			json_t *cs;
			json_array_foreach(json_object_get(st, lists[k]), j, cs)
			{
				json_t *state = json_object_get(cs, "state");
				if (json_object_get(state, "running")) {
					running++;
					any = true;
				} else if (json_object_get(state, "terminated")) {
					exited++;
				} else if (jsonx_str(json_object_get(state, "waiting"), "reason") &&
					   json_object_get(cs, "containerID")) {
					created++;
				}
			}
		}
		if (any)
			pods++;
	}
	_cleanup_free_ char *body = NULL;
	int n = asprintf(&body,
			 "# HELP kubelet_node_name [ALPHA] The node's name. The count is always 1.\n"
			 "# TYPE kubelet_node_name gauge\n"
			 "kubelet_node_name{node=\"%s\"} 1\n"
			 "# HELP kubelet_running_containers [ALPHA] Number of containers currently running\n"
			 "# TYPE kubelet_running_containers gauge\n"
			 "kubelet_running_containers{container_state=\"created\"} %ld\n"
			 "kubelet_running_containers{container_state=\"exited\"} %ld\n"
			 "kubelet_running_containers{container_state=\"running\"} %ld\n"
			 "# HELP kubelet_running_pods [ALPHA] Number of pods that have a running pod sandbox\n"
			 "# TYPE kubelet_running_pods gauge\n"
			 "kubelet_running_pods %ld\n"
			 "# HELP process_start_time_seconds [ALPHA] Start time of the process since unix epoch in seconds.\n"
			 "# TYPE process_start_time_seconds gauge\n"
			 "process_start_time_seconds %lld\n",
			 a->node_name ? a->node_name : "", created, exited, running, pods, (long long)a->started);
	if (n < 0) {
		kconn_http_error(c, r, 500, "out of memory", NULL);
		return;
	}
	kconn_respond(c, r, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, body, (size_t)n);
}

static void serve_healthz(struct kconn *c, const struct kreq *r)
{
	static const char *const checks[] = {"ping", "log", "syncloop"};
	const char *sub = r->path + strlen("/healthz");
	if (*sub == '/' && sub[1]) {
		for (size_t i = 0; i < 3; i++)
			if (!strcmp(sub + 1, checks[i]))
				goto ok;
		kconn_http_error(c, r, 404, "404 page not found", NULL);
		return;
	}
ok:;
	_cleanup_json_ json_t *v = kapi_query_values(r->query, "verbose");
	if (json_array_size(v) && !(*sub == '/' && sub[1])) {
		struct sbuf b = SBUF_INIT;
		for (size_t i = 0; i < 3; i++)
			sbuf_addf(&b, "[+]%s ok\n", checks[i]);
		sbuf_adds(&b, "healthz check passed\n");
		kconn_respond(c, r, 200, "text/plain; charset=utf-8", "X-Content-Type-Options: nosniff\r\n", b.s, b.len);
		sbuf_release(&b);
		return;
	}
	kconn_respond(c, r, 200, "text/plain; charset=utf-8", "X-Content-Type-Options: nosniff\r\n", "ok", 2);
}

/* ---- authorization ---- */

struct kapi_authz {
	pthread_mutex_t mu;
	struct {
		char *key;
		bool allowed;
		time_t until;
	} e[AUTHZ_CACHE];
	size_t n, next;
};

static int cache_get(struct kapi_authz *z, const char *key, bool *allowed)
{
	int rc = -1;
	time_t now = time(NULL);
	pthread_mutex_lock(&z->mu);
	for (size_t i = 0; i < z->n; i++) {
		if (z->e[i].key && !strcmp(z->e[i].key, key) && z->e[i].until > now) {
			*allowed = z->e[i].allowed;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&z->mu);
	return rc;
}

static void cache_put(struct kapi_authz *z, const char *key, bool allowed)
{
	pthread_mutex_lock(&z->mu);
	size_t i = z->n < AUTHZ_CACHE ? z->n++ : (z->next++ % AUTHZ_CACHE);
	free(z->e[i].key);
	z->e[i].key = strdup(key);
	z->e[i].allowed = allowed;
	z->e[i].until = time(NULL) + (allowed ? AUTHZ_ALLOWED_TTL : AUTHZ_DENIED_TTL);
	pthread_mutex_unlock(&z->mu);
}

/* A SubjectAccessReview of one attribute set. -1: none could be made. */
static int review(struct kconn *c, const char *verb, const char *sub, bool *allowed)
{
	struct kapi *a = c->api;
	struct sbuf key = SBUF_INIT;
	sbuf_addf(&key, "%s\n%s\n%s\n", c->user, verb, sub);
	size_t i;
	json_t *g;
	json_array_foreach(c->groups, i, g) sbuf_addf(&key, "%s,", json_string_value(g));
	if (cache_get(a->authz, sbuf_str(&key), allowed) == 0) {
		sbuf_release(&key);
		return 0;
	}
	json_t *body = json_pack("{s:s, s:s, s:{s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:O}}", "apiVersion",
				 "authorization.k8s.io/v1", "kind", "SubjectAccessReview", "spec", "resourceAttributes", "verb",
				 verb, "version", "v1", "resource", "nodes", "subresource", sub, "name", a->node_name, "user",
				 c->user, "groups", c->groups);
	json_t *ans = NULL;
	struct berr *e = NULL;
	int rc = kube_post(a->conf.client, "/apis/authorization.k8s.io/v1/subjectaccessreviews", body, &ans, &e);
	json_decref(body);
	berr_free(e);
	if (rc == 0) {
		*allowed = json_is_true(json_object_get(json_object_get(ans, "status"), "allowed"));
		cache_put(a->authz, sbuf_str(&key), *allowed);
	}
	json_decref(ans);
	sbuf_release(&key);
	return rc;
}

/* 0 when the request may go on; otherwise the answer was sent. */
static int authorize(struct kconn *c, const struct kreq *r)
{
	if (!c->authed) {
		kconn_text(c, r, 401, "Unauthorized");
		return -1;
	}
	if (!c->api->conf.client)
		return 0;
	const char *subs[2];
	int n = kapi_subresources(r->path, subs);
	const char *verb = kapi_verb(r->method);
	for (int i = 0; i < n; i++) {
		bool ok = false;
		if (review(c, verb, subs[i], &ok) < 0) {
			char msg[1024];
			snprintf(msg, sizeof(msg), "Authorization error (user=%s, verb=%s, resource=nodes, subresource=%s)",
				 c->user, verb, subs[i]);
			kconn_text(c, r, 500, msg);
			return -1;
		}
		if (ok)
			return 0;
	}
	char msg[1024];
	snprintf(msg, sizeof(msg), "Forbidden (user=%s, verb=%s, resource=nodes, subresource(s)=[%s%s%s])\n", c->user,
		 verb, subs[0], n > 1 ? " " : "", n > 1 ? subs[1] : "");
	kconn_text(c, r, 403, msg);
	return -1;
}

/* ---- requests ---- */

static bool is_path(const char *path, const char *p)
{
	size_t n = strlen(p);
	return !strncmp(path, p, n) && (!path[n] || (path[n] == '/' && !path[n + 1]));
}

/* Serve one request. false: the connection is done (or was taken over by
 * a stream session). */
static bool dispatch(struct kconn *c, struct kreq *r)
{
	if (authorize(c, r) < 0)
		return r->keep_alive && !c->closed;
	bool get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
	bool getpost = get || !strcmp(r->method, "POST");
	_cleanup_json_ json_t *segs = kapi_path_segments(r->path);
	size_t ns = json_array_size(segs);
#define SEG(i) json_string_value(json_array_get(segs, (i)))
	const char *first = r->path + 1;
	size_t fl = strcspn(first, "/");
	if (!strncmp(r->path, "/healthz", 8) && (!r->path[8] || r->path[8] == '/')) {
		if (!get)
			goto not_allowed;
		serve_healthz(c, r);
	} else if (is_path(r->path, "/pods")) {
		if (!get)
			goto not_allowed;
		serve_pods(c, r, false);
	} else if (!strcmp(r->path, "/metrics")) {
		if (!get)
			goto not_allowed;
		serve_metrics(c, r);
	} else if (is_path(r->path, "/runningpods")) {
		if (!get)
			goto not_allowed;
		serve_pods(c, r, true);
	} else if (fl == 13 && !strncmp(first, "containerLogs", 13) && ns == 3) {
		if (!get)
			goto not_allowed;
		kapi_container_logs(c, r, SEG(0), SEG(1), SEG(2));
	} else if (((fl == 4 && !strncmp(first, "exec", 4)) || (fl == 6 && !strncmp(first, "attach", 6))) &&
		   (ns == 3 || ns == 4)) {
		if (!getpost)
			goto not_allowed;
		kapi_exec(c, r, fl == 4 ? KX_EXEC : KX_ATTACH, SEG(0), SEG(1), ns == 4 ? SEG(2) : NULL, SEG(ns - 1));
		return false;
	} else if (fl == 11 && !strncmp(first, "portForward", 11) && (ns == 2 || ns == 3)) {
		if (!getpost)
			goto not_allowed;
		kapi_port_forward(c, r, SEG(0), SEG(1), ns == 3 ? SEG(2) : NULL);
		return false;
	} else {
		kconn_http_error(c, r, 404, "404 page not found", NULL);
	}
#undef SEG
	return r->keep_alive && !c->closed;
not_allowed:
	kconn_text(c, r, 405, "405: Method Not Allowed");
	return r->keep_alive && !c->closed;
}

/* The next request head in c->rbuf: 1 with its length, 0 when the client
 * is gone or idle too long, -1 when it is malformed or too large (*status). */
static int read_head(struct kconn *c, size_t *ret_len, int *status)
{
	long long idle_end = now_ms() + KAPI_IDLE_MS, end = 0;
	size_t scan = c->roff;
	for (;;) {
		const char *base = c->rbuf.s ? c->rbuf.s : "";
		for (size_t i = scan; i < c->rbuf.len; i++) {
			if (base[i] != '\n')
				continue;
			bool blank = (i >= 1 && base[i - 1] == '\n') || (i >= 2 && base[i - 1] == '\r' && base[i - 2] == '\n');
			if (blank && i + 1 - c->roff > 2) {
				*ret_len = i + 1 - c->roff;
				return 1;
			}
			if (blank) {
				/* a stray empty line before a request: skip it */
				c->roff = i + 1;
			}
		}
		scan = c->rbuf.len > 3 ? c->rbuf.len - 3 : 0;
		if (scan < c->roff)
			scan = c->roff;
		if (c->rbuf.len - c->roff > KAPI_HEADER_MAX) {
			*status = 431;
			return -1;
		}
		char buf[16384];
		ssize_t n = kconn_read_nb(c, buf, sizeof(buf));
		if (n < 0)
			return 0;
		if (n > 0) {
			if (!end)
				end = now_ms() + KAPI_IO_MS;
			sbuf_add(&c->rbuf, buf, (size_t)n);
			continue;
		}
		long long dl = c->rbuf.len > c->roff ? (end ? end : now_ms() + KAPI_IO_MS) : idle_end;
		long long left = dl - now_ms();
		if (left <= 0 || kconn_wait(c, POLLIN, (int)left) <= 0)
			return 0;
	}
}

/* Read and drop a request body of n bytes. */
static int skip_body(struct kconn *c, long long n)
{
	while (n > 0) {
		size_t have = c->rbuf.len - c->roff;
		if (have) {
			size_t k = (long long)have > n ? (size_t)n : have;
			c->roff += k;
			n -= (long long)k;
			continue;
		}
		char buf[16384];
		ssize_t r = kconn_read_nb(c, buf, sizeof(buf));
		if (r < 0)
			return -1;
		if (r == 0 && kconn_wait(c, POLLIN, KAPI_IO_MS) <= 0)
			return -1;
		if (r > 0)
			sbuf_add(&c->rbuf, buf, (size_t)r);
	}
	return 0;
}

static int handshake(struct kconn *c)
{
	long long end = now_ms() + HANDSHAKE_MS;
	for (;;) {
		ERR_clear_error();
		int r = SSL_accept(c->ssl);
		if (r == 1)
			return 0;
		int e = SSL_get_error(c->ssl, r);
		long long left = end - now_ms();
		if (left <= 0)
			return -1;
		if (e == SSL_ERROR_WANT_READ) {
			if (kconn_wait(c, POLLIN, (int)left) <= 0)
				return -1;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			if (kconn_wait(c, POLLOUT, (int)left) <= 0)
				return -1;
		} else {
			return -1;
		}
	}
}

static void conn_close(struct kconn *c)
{
	if (c->ssl) {
		if (!c->closed) {
			ERR_clear_error();
			SSL_shutdown(c->ssl);
		}
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	json_decref(c->groups);
	sbuf_release(&c->rbuf);
	ERR_clear_error();
}

static void *conn_thread(void *arg)
{
	struct kconn *c = arg;
	struct kapi *a = c->api;
	c->groups = json_array();
	c->ssl = SSL_new(a->ctx);
	if (c->ssl && SSL_set_fd(c->ssl, c->fd) == 1 && handshake(c) == 0) {
		c->authed = kapi_tls_peer(c->ssl, c->user, sizeof(c->user), c->groups);
		if (c->authed && !named_in(c->groups, "system:authenticated"))
			json_array_append_new(c->groups, json_string("system:authenticated"));
		for (;;) {
			size_t hl;
			int status = 400;
			int h = read_head(c, &hl, &status);
			if (h == 0)
				break;
			if (h < 0) {
				kconn_text(c, NULL, status, status == 431 ? "431 Request Header Fields Too Large"
									  : "400 Bad Request");
				break;
			}
			struct kreq r;
			struct berr *e = NULL;
			int pr = kreq_parse(c->rbuf.s + c->roff, hl, &r, &e);
			c->roff += hl;
			if (pr < 0) {
				berr_free(e);
				kconn_respond(c, NULL, 400, "text/plain; charset=utf-8", "Connection: close\r\n",
					      "400 Bad Request", 15);
				break;
			}
			bool go_on = true;
			if (r.chunked) {
				kconn_respond(c, NULL, 411, "text/plain; charset=utf-8", "Connection: close\r\n",
					      "411 Length Required", 19);
				go_on = false;
			} else if (r.content_length > BODY_MAX) {
				kconn_respond(c, NULL, 413, "text/plain; charset=utf-8", "Connection: close\r\n",
					      "413 Request Entity Too Large", 28);
				go_on = false;
			} else if (r.content_length > 0 && skip_body(c, r.content_length) < 0) {
				go_on = false;
			}
			if (go_on)
				go_on = dispatch(c, &r);
			kreq_release(&r);
			if (c->roff == c->rbuf.len) {
				sbuf_reset(&c->rbuf);
				c->roff = 0;
			}
			if (!go_on || c->closed || a->quit)
				break;
		}
	}
	conn_close(c);
	free(c);
	pthread_mutex_lock(&a->lock);
	a->nconns--;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* ---- listening ---- */

static int listen_on(const char *addr, int *ret_fd, char *bound, size_t bn, struct berr **err)
{
	char host[256] = "", port[32] = "";
	const char *colon;
	if (*addr == '[') {
		const char *rb = strchr(addr, ']');
		if (!rb || rb[1] != ':')
			return berr_setc(err, BERR_INVALID, "kubelet API: listen address \"%s\": want HOST:PORT", addr);
		snprintf(host, sizeof(host), "%.*s", (int)(rb - addr - 1), addr + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return berr_setc(err, BERR_INVALID, "kubelet API: listen address \"%s\": want HOST:PORT", addr);
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	}
	snprintf(port, sizeof(port), "%s", colon + 1);
	char *pe;
	long pn = strtol(port, &pe, 10);
	if (!*port || *pe || pn < 0 || pn > 65535)
		return berr_setc(err, BERR_INVALID, "kubelet API: listen address \"%s\": bad port", addr);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	/* no host: every address, IPv6 and IPv4 on one socket */
	if (!*host)
		snprintf(host, sizeof(host), "::");
	int g = getaddrinfo(host, port, &hints, &res);
	if (g)
		return berr_setc(err, BERR_INVALID, "kubelet API: listen address \"%s\": %s", addr, gai_strerror(g));
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		return berr_set(err, errno, "kubelet API: socket");
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 512) < 0) {
		int e = errno;
		freeaddrinfo(res);
		close(fd);
		return berr_set(err, e, "kubelet API: listening on %s", addr);
	}
	freeaddrinfo(res);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[INET6_ADDRSTRLEN] = "?";
	int p = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, h, sizeof(h));
			p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			snprintf(bound, bn, "%s:%d", h, p);
		} else {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, h, sizeof(h));
			p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			snprintf(bound, bn, "[%s]:%d", h, p);
		}
	}
	*ret_fd = fd;
	return 0;
}

static char *dup_or_null(const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

static void api_free(struct kapi *a)
{
	if (!a)
		return;
	if (a->ctx)
		SSL_CTX_free(a->ctx);
	if (a->cs)
		ctr_store_free(a->cs);
	if (a->authz) {
		for (size_t i = 0; i < a->authz->n; i++)
			free(a->authz->e[i].key);
		pthread_mutex_destroy(&a->authz->mu);
		free(a->authz);
	}
	free((char *)a->conf.cert_file);
	free((char *)a->conf.key_file);
	free((char *)a->conf.client_ca_file);
	free((char *)a->conf.listen);
	free(a->root);
	free(a->runroot);
	free(a->node_name);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}

int kubelet_api_serve(const struct kubelet_api_conf *conf, volatile int *stop, struct berr **err)
{
	if (!conf->node_name || !*conf->node_name)
		return berr_setc(err, BERR_INVALID, "kubelet API: the node's name is needed");
	if (!conf->root)
		return berr_setc(err, BERR_INVALID, "kubelet API: the store's root is needed");
	struct kapi *a = calloc(1, sizeof(*a));
	if (!a)
		abort();
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->conf = *conf;
	a->conf.cert_file = dup_or_null(conf->cert_file);
	a->conf.key_file = dup_or_null(conf->key_file);
	a->conf.client_ca_file = dup_or_null(conf->client_ca_file);
	a->conf.listen = dup_or_null(conf->listen ? conf->listen : "0.0.0.0:10250");
	a->root = dup_or_null(conf->root);
	a->runroot = dup_or_null(conf->runroot ? conf->runroot : "/run/berth");
	a->started = time(NULL);
	a->node_name = dup_or_null(conf->node_name);
	a->conf.root = a->root;
	a->conf.runroot = a->runroot;
	a->conf.node_name = a->node_name;
	a->stop = stop;
	a->authz = calloc(1, sizeof(*a->authz));
	if (!a->authz)
		abort();
	pthread_mutex_init(&a->authz->mu, NULL);
	int lfd = -1;
	char bound[128] = "";
	if (ctr_store_open(a->root, a->runroot, &a->cs, err) < 0 || kapi_tls_ctx(a, err) < 0 ||
	    listen_on(a->conf.listen, &lfd, bound, sizeof(bound), err) < 0) {
		api_free(a);
		return -1;
	}
	a->conf.addresses = NULL; /* the caller's; used for the certificate only */
	sigset_t pipe_set, old_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	if (conf->ready)
		conf->ready(conf->ready_ud, bound);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!*stop) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int r = poll(&p, 1, 200);
		if (r <= 0)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&a->lock);
		bool full = a->nconns >= KAPI_MAX_CONNS;
		if (!full)
			a->nconns++;
		pthread_mutex_unlock(&a->lock);
		if (full) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct kconn *c = calloc(1, sizeof(*c));
		if (!c)
			abort();
		c->api = a;
		c->fd = fd;
		pthread_t t;
		if (pthread_create(&t, &attr, conn_thread, c) != 0) {
			close(fd);
			free(c);
			pthread_mutex_lock(&a->lock);
			a->nconns--;
			pthread_mutex_unlock(&a->lock);
		}
	}
	pthread_attr_destroy(&attr);
	close(lfd);
	/* end the sessions: each notices within 250 ms */
	a->quit = 1;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&a->lock);
	while (a->nconns > 0 && pthread_cond_timedwait(&a->cond, &a->lock, &until) == 0)
		;
	int left = a->nconns;
	pthread_mutex_unlock(&a->lock);
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	/* a thread still inside a long call keeps the server's state: it is
	 * left to it rather than freed under it */
	if (!left)
		api_free(a);
	return 0;
}
