/* Kubernetes probes, lifecycle hooks and the kubelet's restart back-off
 * (probe.h). Three parts:
 *  - handlers run synchronously with a deadline (exec in the container,
 *    httpGet over a plain socket or libcurl for HTTPS, tcpSocket, sleep):
 *    probe_handler_run, and the children the monitor forks;
 *  - the monitor's side (struct probes): one job per probe or hook, a
 *    child process whose output comes through a pipe, so nothing blocks
 *    the monitor's loop; the kubelet's worker state machine over the
 *    results; killing the container when liveness, startup or postStart
 *    fail;
 *  - the pure helpers the unit tests drive. */
#include "runtime/probe.h"
#include "net/network.h"
#include "runtime/exec.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"
#include "util/curl-lazy.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define MS 1000000LL
#define OUT_MAX 1024       /* output kept of one result */
#define HEAD_MAX 16384     /* most of a response head read */
#define MAX_REDIRECTS 10   /* Go's http.Client */
#define BODY_MAX 10240     /* the kubelet reads at most this much of a body */
#define DEFAULT_GRACE 30   /* the pod's terminationGracePeriodSeconds default */
#define MIN_GRACE_AFTER_HOOK 2 /* the kubelet's minimumGracePeriodInSeconds */

static int64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	time_rfc3339(&ts, buf, n);
}

/* Milliseconds left before deadline (0: none -> -1, poll's "forever"). */
static int ms_left(int64_t deadline)
{
	if (!deadline)
		return -1;
	int64_t left = deadline - mono_now();
	if (left <= 0)
		return 0;
	return (int)((left + MS - 1) / MS);
}

/* Output bytes as a JSON-safe string: invalid UTF-8 becomes '?', NULs go. */
static json_t *json_output(const char *s, size_t n)
{
	struct sbuf b = SBUF_INIT;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = len > 0 && i + len <= n && !(len == 1 && c == 0);
		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (ok && len > 1 && !json_stringn(s + i, len))
			ok = false; /* overlong or surrogate: jansson's own check */
		if (ok) {
			sbuf_add(&b, s + i, len);
			i += len;
		} else {
			if (c)
				sbuf_addc(&b, '?');
			i++;
		}
	}
	json_t *j = json_stringn(sbuf_str(&b), b.len);
	sbuf_release(&b);
	return j ? j : json_string("");
}

/* ================= handlers: parsing ================= */

enum hkind { H_NONE, H_EXEC, H_HTTP, H_TCP, H_SLEEP };

struct handler {
	enum hkind kind;
	const json_t *obj;  /* the exec/httpGet/tcpSocket/sleep object (borrowed) */
	int port;
	bool https;
	char invalid[512];  /* why it cannot run; "" when it can */
};

struct probe_spec {
	struct handler h;
	int initial_delay, period, timeout, success_th, failure_th;
	int grace; /* terminationGracePeriodSeconds, -1 when unset */
};

static int port_of(const json_t *obj, const char *what, int *ret, struct berr **err)
{
	json_t *p = json_object_get(obj, "port");
	long v;
	if (!p)
		return berr_setc(err, BERR_INVALID, "%s.port: missing", what);
	if (json_is_integer(p)) {
		json_int_t i = json_integer_value(p);
		v = i < -1000000 || i > 1000000 ? -1 : (long)i;
	} else if (json_is_string(p)) {
		const char *s = json_string_value(p);
		char *end;
		if (!isdigit((unsigned char)*s))
			return berr_setc(err, BERR_INVALID,
					 "%s.port: \"%s\" is not a number (named ports are resolved by the pod spec)", what, s);
		errno = 0;
		v = strtol(s, &end, 10);
		if (*end || errno)
			return berr_setc(err, BERR_INVALID, "%s.port: \"%s\" is not a port number", what, s);
	} else {
		return berr_setc(err, BERR_INVALID, "%s.port: not a number", what);
	}
	if (v < 1 || v > 65535)
		return berr_setc(err, BERR_INVALID, "%s.port: %ld is not a valid port (1-65535)", what, v);
	*ret = (int)v;
	return 0;
}

static int opt_string(const json_t *obj, const char *key, const char *what, struct berr **err)
{
	json_t *v = json_object_get(obj, key);
	if (v && !json_is_string(v) && !json_is_null(v))
		return berr_setc(err, BERR_INVALID, "%s.%s: not a string", what, key);
	return 0;
}

/* A header name is an RFC 7230 token; a value has no CR, LF or NUL. */
static bool header_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

static int handler_parse(const json_t *h, const char *what, bool hook, struct handler *ret, struct berr **err)
{
	*ret = (struct handler){0};
	if (!json_is_object(h))
		return berr_setc(err, BERR_INVALID, "%s: not an object", what);
	static const char *const kinds[] = {"exec", "httpGet", "tcpSocket", "grpc", "sleep"};
	const char *found = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		json_t *v = json_object_get(h, kinds[i]);
		if (!v || json_is_null(v))
			continue;
		if (found)
			return berr_setc(err, BERR_INVALID, "%s: may not specify more than 1 handler type (%s, %s)", what,
					 found, kinds[i]);
		found = kinds[i];
	}
	if (!found)
		return berr_setc(err, BERR_INVALID, "%s: must specify a handler type (exec, httpGet, tcpSocket%s)", what,
				 hook ? ", sleep" : ", grpc");
	const json_t *o = json_object_get(h, found);
	char sub[256];
	snprintf(sub, sizeof(sub), "%s.%s", what, found);
	if (!json_is_object(o))
		return berr_setc(err, BERR_INVALID, "%s: not an object", sub);
	ret->obj = o;
	if (!strcmp(found, "exec")) {
		json_t *cmd = json_object_get(o, "command");
		if (!json_is_array(cmd) || json_array_size(cmd) == 0)
			return berr_setc(err, BERR_INVALID, "%s.command: must be a non-empty list of strings", sub);
		size_t i;
		json_t *a;
		json_array_foreach(cmd, i, a) if (!json_is_string(a)) return berr_setc(
			err, BERR_INVALID, "%s.command[%zu]: not a string", sub, i);
		ret->kind = H_EXEC;
	} else if (!strcmp(found, "httpGet") || !strcmp(found, "tcpSocket")) {
		if (port_of(o, sub, &ret->port, err) < 0 || opt_string(o, "host", sub, err) < 0)
			return -1;
		ret->kind = found[0] == 'h' ? H_HTTP : H_TCP;
		if (ret->kind == H_HTTP) {
			if (opt_string(o, "path", sub, err) < 0 || opt_string(o, "scheme", sub, err) < 0)
				return -1;
			const char *sch = jsonx_str(o, "scheme");
			if (sch && *sch && strcasecmp(sch, "HTTP") && strcasecmp(sch, "HTTPS"))
				return berr_setc(err, BERR_INVALID, "%s.scheme: \"%s\" is not HTTP or HTTPS", sub, sch);
			ret->https = sch && !strcasecmp(sch, "HTTPS");
			json_t *hh = json_object_get(o, "httpHeaders");
			if (hh && !json_is_null(hh) && !json_is_array(hh))
				return berr_setc(err, BERR_INVALID, "%s.httpHeaders: not a list", sub);
			size_t i;
			json_t *e;
			json_array_foreach(hh, i, e) {
				const char *n = jsonx_str(e, "name"), *v = jsonx_str(e, "value");
				if (!n || !header_name_ok(n))
					return berr_setc(err, BERR_INVALID, "%s.httpHeaders[%zu].name: not a valid header name",
							 sub, i);
				json_t *vj = json_object_get(e, "value");
				if (vj && !json_is_string(vj))
					return berr_setc(err, BERR_INVALID, "%s.httpHeaders[%zu].value: not a string", sub, i);
				if (v && strpbrk(v, "\r\n"))
					return berr_setc(err, BERR_INVALID,
							 "%s.httpHeaders[%zu].value: may not contain a line break", sub, i);
			}
			const char *path = jsonx_str(o, "path");
			if (path && strpbrk(path, "\r\n"))
				return berr_setc(err, BERR_INVALID, "%s.path: may not contain a line break", sub);
		}
		if (ret->kind == H_TCP && hook)
			/* the API keeps the field but the kubelet cannot run it */
			snprintf(ret->invalid, sizeof(ret->invalid),
				 "invalid handler: %s: TCPSocket is not supported as a lifecycle handler", what);
	} else if (!strcmp(found, "sleep")) {
		json_t *s = json_object_get(o, "seconds");
		if (!hook)
			return berr_setc(err, BERR_INVALID, "%s: sleep is a lifecycle handler, not a probe", sub);
		if (!json_is_integer(s) || json_integer_value(s) < 0 || json_integer_value(s) > 86400 * 365)
			return berr_setc(err, BERR_INVALID, "%s.seconds: must be a non-negative integer", sub);
		ret->kind = H_SLEEP;
	} else {
		if (hook)
			return berr_setc(err, BERR_INVALID, "%s: grpc is a probe, not a lifecycle handler", sub);
		snprintf(ret->invalid, sizeof(ret->invalid), "%s: gRPC probes are not supported by berth", what);
		ret->kind = H_NONE;
	}
	return 0;
}

static int int_field(const json_t *o, const char *key, const char *what, int def, int min, int *ret,
		     struct berr **err)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		*ret = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > 86400 * 365)
		return berr_setc(err, BERR_INVALID, "%s.%s: must be an integer of at least %d", what, key, min);
	*ret = (int)json_integer_value(v);
	return 0;
}

static int spec_parse(const json_t *probe, const char *what, struct probe_spec *s, struct berr **err)
{
	*s = (struct probe_spec){.period = 10, .timeout = 1, .success_th = 1, .failure_th = 3, .grace = -1};
	if (handler_parse(probe, what, false, &s->h, err) < 0)
		return -1;
	if (int_field(probe, "initialDelaySeconds", what, 0, 0, &s->initial_delay, err) < 0 ||
	    int_field(probe, "periodSeconds", what, 10, 1, &s->period, err) < 0 ||
	    int_field(probe, "timeoutSeconds", what, 1, 1, &s->timeout, err) < 0 ||
	    int_field(probe, "successThreshold", what, 1, 1, &s->success_th, err) < 0 ||
	    int_field(probe, "failureThreshold", what, 3, 1, &s->failure_th, err) < 0 ||
	    int_field(probe, "terminationGracePeriodSeconds", what, -1, 0, &s->grace, err) < 0)
		return -1;
	return 0;
}

int probe_check(const json_t *probe, const char *what, bool hook, struct berr **err)
{
	if (hook) {
		struct handler h;
		return handler_parse(probe, what, true, &h, err);
	}
	struct probe_spec s;
	if (spec_parse(probe, what, &s, err) < 0)
		return -1;
	if (s.h.invalid[0])
		return berr_setc(err, BERR_INVALID, "%s", s.h.invalid);
	return 0;
}

/* ================= handlers: the network ================= */

static void join_host_port(const char *host, int port, char *out, size_t n)
{
	if (strchr(host, ':'))
		snprintf(out, n, "[%s]:%d", host, port);
	else
		snprintf(out, n, "%s:%d", host, port);
}

/* Connect to host:port before deadline (0: none), as Go's net.Dial: the
 * messages are the kubelet's ("dial tcp 10.84.0.5:80: connect: connection
 * refused"). The fd, or -1 with msg. */
static int dial(const char *host, int port, int64_t deadline, char *msg, size_t n)
{
	char hp[300], ports[8];
	join_host_port(host, port, hp, sizeof(hp));
	snprintf(ports, sizeof(ports), "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
	int g = getaddrinfo(host, ports, &hints, &res);
	if (g) {
		snprintf(msg, n, "dial tcp: lookup %s: %s", host, g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
		return -1;
	}
	int err = ECONNREFUSED;
	bool timed_out = false;
	for (struct addrinfo *a = res; a && !timed_out; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			freeaddrinfo(res);
			return fd;
		}
		if (errno != EINPROGRESS) {
			err = errno;
			close(fd);
			continue;
		}
		for (;;) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			int r = poll(&pf, 1, ms_left(deadline));
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0) {
				timed_out = true;
				break;
			}
			int so = 0;
			socklen_t sl = sizeof(so);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
			if (so == 0) {
				freeaddrinfo(res);
				return fd;
			}
			err = so;
			break;
		}
		close(fd);
	}
	freeaddrinfo(res);
	if (timed_out)
		snprintf(msg, n, "dial tcp %s: i/o timeout", hp);
	else
		snprintf(msg, n, "dial tcp %s: connect: %s", hp, strerror(err));
	/* Go's wording for the usual one */
	if (!timed_out && err == ECONNREFUSED)
		snprintf(msg, n, "dial tcp %s: connect: connection refused", hp);
	return -1;
}

int probe_http_status(const char *line, size_t len)
{
	/* "HTTP/1.1 200 OK": HTTP/<digit>.<digit> SP 3DIGIT (SP reason)? */
	if (len < 12 || memcmp(line, "HTTP/", 5) || !isdigit((unsigned char)line[5]) || line[6] != '.' ||
	    !isdigit((unsigned char)line[7]) || line[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (!isdigit((unsigned char)line[i]))
			return -1;
	if (len > 12 && line[12] != ' ' && line[12] != '\r' && line[12] != '\n')
		return -1;
	int code = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	return code < 100 ? -1 : code;
}

size_t probe_http_head_len(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

bool probe_http_header(const char *head, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = memchr(head, '\n', len); /* past the status line */
	const char *end = head + len;
	while (p && p < end) {
		p++;
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t n = (size_t)(ve - v);
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = 0;
			return true;
		}
		p = eol < end ? eol : NULL;
	}
	return false;
}

struct url {
	bool https;
	char host[256]; /* without brackets */
	int port;
	char path[2048]; /* request target: path and query */
};

static void url_string(const struct url *u, char *out, size_t n)
{
	char hp[300];
	join_host_port(u->host, u->port, hp, sizeof(hp));
	snprintf(out, n, "%s://%s%s", u->https ? "https" : "http", hp, u->path);
}

/* The request target of a probe's path: a leading '/', no fragment, bytes
 * that may not appear in a request line percent-encoded. */
static void path_target(const char *path, char *out, size_t n)
{
	struct sbuf b = SBUF_INIT;
	if (!path || path[0] != '/')
		sbuf_addc(&b, '/');
	for (const char *s = path ? path : ""; *s && *s != '#'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' ||
		    c == '{' || c == '|' || c == '}')
			sbuf_addf(&b, "%%%02X", c);
		else
			sbuf_addc(&b, (char)c);
	}
	snprintf(out, n, "%s", sbuf_str(&b));
	sbuf_release(&b);
}

/* Resolve a Location header against the URL it came from (RFC 3986 for the
 * forms servers send: absolute, scheme-relative, absolute path, relative
 * path, query). False when it is not a URL berth can follow. */
static bool url_resolve(const struct url *base, const char *loc, struct url *ret)
{
	*ret = *base;
	const char *rest = loc;
	if (!strncasecmp(loc, "http://", 7) || !strncasecmp(loc, "https://", 8) || !strncmp(loc, "//", 2)) {
		if (loc[0] != '/') {
			ret->https = tolower((unsigned char)loc[4]) == 's';
			rest = loc + (ret->https ? 8 : 7);
		} else {
			rest = loc + 2;
		}
		size_t alen = strcspn(rest, "/?#");
		char auth[256];
		if (alen == 0 || alen >= sizeof(auth))
			return false;
		memcpy(auth, rest, alen);
		auth[alen] = 0;
		rest += alen;
		char *hostp = strrchr(auth, '@');
		hostp = hostp ? hostp + 1 : auth;
		char *portp = NULL;
		if (*hostp == '[') {
			char *rb = strchr(hostp, ']');
			if (!rb)
				return false;
			*rb = 0;
			hostp++;
			portp = rb[1] == ':' ? rb + 2 : NULL;
		} else {
			char *c = strchr(hostp, ':');
			if (c) {
				*c = 0;
				portp = c + 1;
			}
		}
		if (!*hostp)
			return false;
		snprintf(ret->host, sizeof(ret->host), "%s", hostp);
		ret->port = ret->https ? 443 : 80;
		if (portp && *portp) {
			char *end;
			long p = strtol(portp, &end, 10);
			if (*end || p < 1 || p > 65535)
				return false;
			ret->port = (int)p;
		}
		path_target(*rest ? rest : "/", ret->path, sizeof(ret->path));
		return true;
	}
	if (rest[0] == '/') {
		path_target(rest, ret->path, sizeof(ret->path));
		return true;
	}
	/* relative: against the base path's directory (or its path for "?q") */
	char dir[2048];
	snprintf(dir, sizeof(dir), "%s", base->path);
	dir[strcspn(dir, "?")] = 0;
	if (rest[0] != '?') {
		char *slash = strrchr(dir, '/');
		if (slash)
			slash[1] = 0;
	}
	char joined[4096];
	snprintf(joined, sizeof(joined), "%s%s", dir, rest);
	path_target(joined, ret->path, sizeof(ret->path));
	return true;
}

struct http_req {
	const char *host_header; /* NULL: host:port */
	const json_t *headers;   /* httpHeaders */
	const char *user_agent;
};

/* Whether the probe's httpHeaders name this header (and its value). */
static const json_t *custom_header(const json_t *headers, const char *name)
{
	size_t i;
	json_t *h;
	json_array_foreach(headers, i, h) if (jsonx_str(h, "name") && !strcasecmp(jsonx_str(h, "name"), name)) return h;
	return NULL;
}

static void build_request(const struct url *u, const struct http_req *rq, struct sbuf *b)
{
	char hp[300];
	join_host_port(u->host, u->port, hp, sizeof(hp));
	sbuf_addf(b, "GET %s HTTP/1.1\r\nHost: %s\r\n", u->path, rq->host_header ? rq->host_header : hp);
	if (!custom_header(rq->headers, "User-Agent"))
		sbuf_addf(b, "User-Agent: %s\r\n", rq->user_agent);
	/* the kubelet sends "Accept" for any type unless the probe gives one; given empty: none */
	if (!custom_header(rq->headers, "Accept"))
		sbuf_adds(b, "Accept: */*\r\n");
	size_t i;
	json_t *h;
	json_array_foreach(rq->headers, i, h) {
		const char *n = jsonx_str(h, "name"), *v = jsonx_str(h, "value");
		if (!strcasecmp(n, "Host") || (!strcasecmp(n, "Accept") && (!v || !*v)))
			continue;
		sbuf_addf(b, "%s: %s\r\n", n, v ? v : "");
	}
	sbuf_adds(b, "Connection: close\r\n\r\n");
}

struct http_resp {
	int status;
	char location[2048];
};

/* One plain HTTP/1.1 exchange: the status and Location of the response. -1
 * with msg on a transport error. */
static int http_plain(const struct url *u, const struct http_req *rq, int64_t deadline, struct http_resp *r,
		      char *msg, size_t n)
{
	_cleanup_close_ int fd = dial(u->host, u->port, deadline, msg, n);
	if (fd < 0)
		return -1;
	struct sbuf req = SBUF_INIT;
	build_request(u, rq, &req);
	size_t off = 0;
	while (off < req.len) {
		ssize_t w = send(fd, req.s + off, req.len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			if (poll(&pf, 1, ms_left(deadline)) == 0)
				break;
			continue;
		}
		snprintf(msg, n, "write: %s", strerror(errno));
		sbuf_release(&req);
		return -1;
	}
	bool sent = off == req.len;
	sbuf_release(&req);
	if (!sent) {
		snprintf(msg, n, "context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
		return -1;
	}
	char buf[HEAD_MAX];
	size_t got = 0, head = 0;
	while (!head && got < sizeof(buf)) {
		ssize_t rd = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (rd > 0) {
			got += (size_t)rd;
			head = probe_http_head_len(buf, got);
			continue;
		}
		if (rd == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			struct pollfd pf = {.fd = fd, .events = POLLIN};
			int pr = poll(&pf, 1, ms_left(deadline));
			if (pr == 0) {
				snprintf(msg, n,
					 "context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
				return -1;
			}
			continue;
		}
		snprintf(msg, n, "read: %s", strerror(errno));
		return -1;
	}
	size_t eol = 0;
	while (eol < got && buf[eol] != '\n')
		eol++;
	if (got == 0) {
		snprintf(msg, n, "EOF");
		return -1;
	}
	int code = probe_http_status(buf, eol);
	if (code < 0 || (!head && got < sizeof(buf) && eol == got)) {
		size_t show = eol > 64 ? 64 : eol;
		while (show && (buf[show - 1] == '\r' || buf[show - 1] == '\n'))
			show--;
		snprintf(msg, n, "net/http: HTTP/1.x transport connection broken: malformed HTTP response \"%.*s\"",
			 (int)show, buf);
		for (char *c = msg; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = '?';
		return -1;
	}
	r->status = code;
	r->location[0] = 0;
	probe_http_header(buf, head ? head : got, "Location", r->location, sizeof(r->location));
	return 0;
}

static size_t curl_discard(char *p, size_t s, size_t nm, void *u)
{
	size_t *got = u;
	*got += s * nm;
	return *got > BODY_MAX ? 0 : s * nm; /* enough of a body: stop reading */
}

/* One HTTPS exchange through libcurl (loaded at first use), without
 * certificate verification, as the kubelet's prober. */
static int http_tls(const struct url *u, const struct http_req *rq, int64_t deadline, struct http_resp *r,
		    char *msg, size_t n)
{
	struct berr *e = NULL;
	if (curl_lazy_load(&e) < 0) {
		snprintf(msg, n, "HTTPS probes need libcurl: %s", e->msg);
		berr_free(e);
		return -1;
	}
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(msg, n, "curl_easy_init failed");
		return -1;
	}
	char url[2400];
	url_string(u, url, sizeof(url));
	struct curl_slist *hl = NULL;
	char line[4200];
	if (rq->host_header) {
		snprintf(line, sizeof(line), "Host: %s", rq->host_header);
		hl = curl_slist_append(hl, line);
	}
	if (!custom_header(rq->headers, "User-Agent")) {
		snprintf(line, sizeof(line), "User-Agent: %s", rq->user_agent);
		hl = curl_slist_append(hl, line);
	}
	size_t i;
	json_t *h;
	json_array_foreach(rq->headers, i, h) {
		const char *hn = jsonx_str(h, "name"), *hv = jsonx_str(h, "value");
		if (!strcasecmp(hn, "Host"))
			continue;
		/* "Name:" with nothing after it removes curl's own header */
		snprintf(line, sizeof(line), "%s:%s%s", hn, hv && *hv ? " " : "", hv ? hv : "");
		hl = curl_slist_append(hl, line);
	}
	size_t got = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	if (deadline) {
		long left = ms_left(deadline);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left > 0 ? left : 1L);
	}
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	int ret = 0;
	if (code >= 100 && (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)) {
		r->status = (int)code;
		r->location[0] = 0;
		char *loc = NULL;
		if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
			snprintf(r->location, sizeof(r->location), "%s", loc);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(msg, n, "context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
		ret = -1;
	} else {
		snprintf(msg, n, "%s", curl_easy_strerror(rc));
		ret = -1;
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return ret;
}

/* The host a handler talks to: its own, else the pod's. */
static bool handler_host(const json_t *obj, const char *pod_ip, char *out, size_t n, char *msg, size_t mn)
{
	const char *h = jsonx_str(obj, "host");
	if (h && *h) {
		snprintf(out, n, "%s", h);
		return true;
	}
	if (pod_ip && *pod_ip) {
		snprintf(out, n, "%s", pod_ip);
		return true;
	}
	snprintf(msg, mn, "no host: the probe names none and the container has no address");
	return false;
}

/* httpGet: the kubelet's prober (hook: its lifecycle handler runner, for
 * which any response is done). */
static enum probe_result run_http(const struct handler *hd, const char *pod_ip, int64_t deadline, bool hook,
				  char *out, size_t n)
{
	struct url u = {.https = hd->https, .port = hd->port};
	if (!handler_host(hd->obj, pod_ip, u.host, sizeof(u.host), out, n))
		return PROBE_FAILURE;
	path_target(jsonx_str(hd->obj, "path"), u.path, sizeof(u.path));
	const json_t *headers = json_object_get(hd->obj, "httpHeaders");
	const json_t *hosth = custom_header(headers, "Host");
	char hosthdr[512] = "";
	if (hosth && jsonx_str(hosth, "value") && *jsonx_str(hosth, "value"))
		snprintf(hosthdr, sizeof(hosthdr), "%s", jsonx_str(hosth, "value"));
	struct http_req rq = {.host_header = hosthdr[0] ? hosthdr : NULL,
			      .headers = json_is_array(headers) ? headers : NULL,
			      .user_agent = hook ? PROBE_HOOK_USER_AGENT : PROBE_USER_AGENT};
	for (int hop = 0;; hop++) {
		char url[2400], msg[700];
		url_string(&u, url, sizeof(url));
		struct http_resp r = {0};
		int rc = u.https ? http_tls(&u, &rq, deadline, &r, msg, sizeof(msg))
				 : http_plain(&u, &rq, deadline, &r, msg, sizeof(msg));
		if (rc < 0) {
			snprintf(out, n, "Get \"%.512s\": %s", url, msg);
			return PROBE_FAILURE;
		}
		bool redirect = (r.status == 301 || r.status == 302 || r.status == 303 || r.status == 307 ||
				 r.status == 308) && r.location[0];
		struct url next;
		if (redirect && url_resolve(&u, r.location, &next)) {
			if (strcasecmp(next.host, u.host)) {
				/* a redirect to another host is not followed: the kubelet
				 * reports success with a warning */
				snprintf(out, n, "Probe terminated redirects, Response body: ");
				return PROBE_SUCCESS;
			}
			if (hop + 1 >= MAX_REDIRECTS) {
				url_string(&next, url, sizeof(url));
				snprintf(out, n, "Get \"%.512s\": stopped after %d redirects", url, MAX_REDIRECTS);
				return PROBE_FAILURE;
			}
			/* an absolute Location names its own host */
			if (!strncasecmp(r.location, "http", 4) || !strncmp(r.location, "//", 2))
				rq.host_header = NULL;
			u = next;
			continue;
		}
		if (hook || (r.status >= 200 && r.status < 400)) {
			out[0] = 0;
			return PROBE_SUCCESS;
		}
		snprintf(out, n, "HTTP probe failed with statuscode: %d", r.status);
		return PROBE_FAILURE;
	}
}

static enum probe_result run_tcp(const struct handler *hd, const char *pod_ip, int64_t deadline, char *out,
				 size_t n)
{
	char host[256];
	if (!handler_host(hd->obj, pod_ip, host, sizeof(host), out, n))
		return PROBE_FAILURE;
	int fd = dial(host, hd->port, deadline, out, n);
	if (fd < 0)
		return PROBE_FAILURE;
	close(fd);
	out[0] = 0;
	return PROBE_SUCCESS;
}

/* sleep: the whole time, or until the deadline (a failure then, as the
 * kubelet's "container terminated before sleep hook finished"). */
static enum probe_result run_sleep(const struct handler *hd, int64_t deadline, char *out, size_t n)
{
	int64_t end = mono_now() + (int64_t)json_integer_value(json_object_get(hd->obj, "seconds")) * NS;
	bool cut = deadline && deadline < end;
	if (cut)
		end = deadline;
	for (;;) {
		int64_t left = end - mono_now();
		if (left <= 0)
			break;
		struct timespec ts = {.tv_sec = left / NS, .tv_nsec = left % NS};
		nanosleep(&ts, NULL);
	}
	if (cut) {
		snprintf(out, n, "sleep hook (%llds) cut short by the timeout",
			 (long long)json_integer_value(json_object_get(hd->obj, "seconds")));
		return PROBE_FAILURE;
	}
	out[0] = 0;
	return PROBE_SUCCESS;
}

/* The handlers that need no container process: run here, synchronously. */
static enum probe_result run_net(const struct handler *hd, const char *pod_ip, int64_t deadline, bool hook,
				 char *out, size_t n)
{
	if (hd->invalid[0]) {
		snprintf(out, n, "%s", hd->invalid);
		return PROBE_FAILURE;
	}
	switch (hd->kind) {
	case H_HTTP: return run_http(hd, pod_ip, deadline, hook, out, n);
	case H_TCP: return run_tcp(hd, pod_ip, deadline, out, n);
	case H_SLEEP: return run_sleep(hd, deadline, out, n);
	default: snprintf(out, n, "invalid handler"); return PROBE_FAILURE;
	}
}

/* ================= exec ================= */

static char *command_string(const json_t *cmd)
{
	struct sbuf b = SBUF_INIT;
	size_t i;
	json_t *a;
	json_array_foreach(cmd, i, a) {
		if (i)
			sbuf_addc(&b, ' ');
		sbuf_adds(&b, json_string_value(a));
	}
	return sbuf_detach(&b);
}

static char **command_argv(const json_t *cmd)
{
	size_t n = json_array_size(cmd);
	char **argv = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; argv && i < n; i++)
		argv[i] = (char *)json_string_value(json_array_get(cmd, i));
	return argv;
}

/* Start the exec handler's command in the container whose pid 1 is
 * ctr_pid: output (stdout and stderr) on *ret_out, the reason it could not
 * start on *ret_efd. */
static int exec_start(pid_t ctr_pid, const char *cgroup_name, const struct plan_proc *base, const json_t *cmd,
		      pid_t *ret_pid, int *ret_out, int *ret_efd, struct berr **err)
{
	int op[2];
	if (pipe2(op, O_CLOEXEC) < 0)
		return berr_set(err, errno, "creating a pipe");
	_cleanup_free_ char **argv = command_argv(cmd);
	struct plan_proc proc = *base;
	proc.argv = argv;
	proc.tty = false;
	/* the monitor ignores SIGPIPE; the command gets the default */
	struct sigaction sa = {.sa_handler = SIG_DFL}, old;
	sigaction(SIGPIPE, &sa, &old);
	int r = exec_spawn(ctr_pid, cgroup_name, &proc, -1, op[1], op[1], ret_pid, ret_efd, err);
	sigaction(SIGPIPE, &old, NULL);
	close(op[1]);
	if (r < 0) {
		close(op[0]);
		return -1;
	}
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	*ret_out = op[0];
	return 0;
}

/* Read what is there (non-blocking fd) into buf (at most max, the rest
 * read and dropped). False at EOF or error. */
static bool drain(int fd, char *buf, size_t *len, size_t max)
{
	char tmp[4096];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r > 0) {
			size_t k = (size_t)r;
			if (*len + k > max)
				k = max - *len;
			memcpy(buf + *len, tmp, k);
			*len += k;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 && errno == EAGAIN;
	}
}

/* The outcome of an exec handler from its exit status, output and the
 * reason pipe's message (kubelet wording). */
static enum probe_result exec_outcome(const json_t *cmd, int status, bool timed_out, const char *reason,
				      const char *output, size_t outlen, bool hook, char *out, size_t n)
{
	_cleanup_free_ char *cs = command_string(cmd);
	if (timed_out) {
		snprintf(out, n, "command \"%s\" timed out", cs);
		return PROBE_FAILURE;
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (code == 0) {
		snprintf(out, n, "%.*s", (int)outlen, output);
		return PROBE_SUCCESS;
	}
	if (reason && *reason) {
		const char *sp = strchr(reason, ' '); /* "CODE message" */
		snprintf(out, n, "%s", sp ? sp + 1 : reason);
	} else if (hook) {
		snprintf(out, n, "command '%s' exited with %d: %.*s", cs, code, (int)outlen, output);
	} else {
		snprintf(out, n, "%.*s", (int)outlen, output);
	}
	return PROBE_FAILURE;
}

static void kill_group(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

/* Run an exec handler in container id synchronously (probe_handler_run). */
static int exec_sync(struct ctr_store *cs, const char *id, const json_t *cmd, int64_t deadline, char *out,
		     size_t n, struct berr **err)
{
	_cleanup_json_ json_t *st = ctr_state(cs, id, err);
	if (!st)
		return -1;
	const char *status = jsonx_str(st, "Status");
	if (!status || strcmp(status, "running"))
		return berr_set(err, 0, "container %.12s is not running", id);
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	_cleanup_json_ json_t *cfg = ctr_config(cs, id, err);
	if (!cfg)
		return -1;
	char *noargv[] = {"true", NULL}, *noenv[] = {NULL};
	struct plan_proc proc;
	if (plan_exec_proc(cfg, cs->root, noargv, noenv, NULL, NULL, false, false, &proc, err) < 0)
		return -1;
	pid_t child;
	int ofd = -1, efd = -1;
	int r = exec_start(pid, id, &proc, cmd, &child, &ofd, &efd, err);
	plan_proc_release(&proc);
	if (r < 0)
		return -1;
	char buf[OUT_MAX + 1];
	size_t len = 0;
	bool open_out = true, timed_out = false;
	int wst = 0;
	for (;;) {
		pid_t w = waitpid(child, &wst, WNOHANG);
		if (w == child)
			break;
		if (w < 0 && errno != EINTR) {
			wst = 0;
			break;
		}
		if (deadline && mono_now() >= deadline) {
			timed_out = true;
			kill_group(child);
			while (waitpid(child, &wst, 0) < 0 && errno == EINTR)
				;
			break;
		}
		/* wake up for output, the exit (checked each 20 ms) or the deadline */
		struct pollfd pf = {.fd = open_out ? ofd : -1, .events = POLLIN};
		int left = ms_left(deadline);
		poll(&pf, 1, left < 0 || left > 20 ? 20 : left);
		if (open_out && pf.revents)
			open_out = drain(ofd, buf, &len, OUT_MAX);
	}
	drain(ofd, buf, &len, OUT_MAX);
	close(ofd);
	char reason[512] = "";
	ssize_t rn = fs_read_full(efd, reason, sizeof(reason) - 1);
	reason[rn > 0 ? rn : 0] = 0;
	close(efd);
	buf[len] = 0;
	if (exec_outcome(cmd, wst, timed_out, reason, buf, len, true, out, n) == PROBE_SUCCESS)
		return 0;
	return -1;
}

/* The container's address on its (first) network, for handlers without a
 * host when no pod IP was given. */
static void container_ip(struct ctr_store *cs, const char *id, const json_t *cfg, char *out, size_t n)
{
	out[0] = 0;
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/containers/%s", cs->root, id);
	_cleanup_json_ json_t *nets = net_ctr_settings(cs->root, cs->runroot, (json_t *)cfg, id, dir, true);
	const char *k;
	json_t *v;
	json_object_foreach(nets, k, v) {
		const char *ip = jsonx_str(v, "IPAddress");
		if (ip && *ip) {
			snprintf(out, n, "%s", ip);
			return;
		}
	}
}

int probe_handler_run(const json_t *handler, const char *pod_ip, struct ctr_store *cs, const char *ctr_id,
		      int timeout_s, struct berr **err)
{
	struct handler hd;
	if (handler_parse(handler, "handler", true, &hd, err) < 0)
		return -1;
	int64_t deadline = timeout_s > 0 ? mono_now() + (int64_t)timeout_s * NS : 0;
	char out[OUT_MAX + 256];
	if (hd.kind == H_EXEC) {
		if (exec_sync(cs, ctr_id, json_object_get(hd.obj, "command"), deadline, out, sizeof(out), err) == 0)
			return 0;
		if (*err)
			return -1;
		return berr_set(err, 0, "%s", out);
	}
	char ip[64] = "";
	if (pod_ip && *pod_ip) {
		snprintf(ip, sizeof(ip), "%s", pod_ip);
	} else if (hd.kind == H_HTTP || hd.kind == H_TCP) {
		_cleanup_json_ json_t *cfg = ctr_config(cs, ctr_id, err);
		if (!cfg)
			return -1;
		const char *kip = jsonx_str(cfg, "KubePodIP");
		if (kip && *kip)
			snprintf(ip, sizeof(ip), "%s", kip);
		else
			container_ip(cs, ctr_id, cfg, ip, sizeof(ip));
	}
	if (run_net(&hd, ip, deadline, true, out, sizeof(out)) == PROBE_SUCCESS)
		return 0;
	return berr_set(err, 0, "%s", out);
}

/* ================= the state machine, back-off ================= */

void probe_thresh_init(struct probe_thresh *t, int success_threshold, int failure_threshold,
		       enum probe_result initial)
{
	*t = (struct probe_thresh){.success_threshold = success_threshold > 0 ? success_threshold : 1,
				   .failure_threshold = failure_threshold > 0 ? failure_threshold : 1,
				   .result = initial};
}

bool probe_thresh_feed(struct probe_thresh *t, enum probe_result raw)
{
	if (raw == t->last) {
		if (t->run < 1 << 30)
			t->run++;
	} else {
		t->last = raw;
		t->run = 1;
	}
	if ((raw == PROBE_FAILURE && t->run < t->failure_threshold) ||
	    (raw == PROBE_SUCCESS && t->run < t->success_threshold) || raw == PROBE_UNKNOWN)
		return false;
	bool changed = t->result != raw;
	t->result = raw;
	return changed;
}

int probe_thresh_failures(const struct probe_thresh *t)
{
	return t->last == PROBE_FAILURE ? t->run : 0;
}

long probe_kube_backoff_ms(int n)
{
	if (n <= 1)
		return 0;
	long d = 10000;
	for (int i = 2; i < n && d < 300000; i++)
		d *= 2;
	return d > 300000 ? 300000 : d;
}

/* ================= the monitor's side ================= */

enum { K_LIVENESS, K_READINESS, K_STARTUP, K_NPROBES };
enum { J_POSTSTART = K_NPROBES, J_PRESTOP, J_COUNT };
static const char *const kind_key[K_NPROBES] = {"liveness", "readiness", "startup"};
static const char *const kind_name[J_COUNT] = {"Liveness", "Readiness", "Startup", "PostStart", "PreStop"};

/* A handler running as a child of the monitor. */
struct job {
	pid_t pid;         /* 0: none */
	int out, efd;      /* output pipe, exec_spawn's reason pipe (-1: none) */
	bool exec;
	int64_t kill_at;   /* kill it then (0: never) */
	bool timed_out;
	char buf[OUT_MAX + 1];
	size_t len;
};

/* What state.json shows of a probe or hook. */
struct record {
	bool set;
	enum probe_result result;
	int failures;
	char output[OUT_MAX + 1];
	char time[48];
};

struct kprobe {
	bool present;
	struct probe_spec spec;
	struct probe_thresh th;
	bool active;      /* may run: the container started (startup: postStart done) */
	bool on_hold;     /* failed: the container is being killed */
	int64_t next_due;
	struct record rec;
};

struct probes {
	struct kprobe pr[K_NPROBES];
	bool has_post, has_pre;
	struct handler post, pre;
	json_t *cfg;
	bool backoff;
	int stop_signal, grace;
	char pod_ip[64];
	bool fixed_ip; /* KubePodIP given */
	int epfd, tfd;
	struct job jobs[J_COUNT];
	/* the running container */
	pid_t ctr_pid;
	char cgroup_name[80];
	const struct plan_proc *proc; /* the container's process (exec handlers) */
	int64_t start_mono;
	bool running, post_done, started, ready;
	/* killing: 1 preStop runs, 2 the stop signal went, 3 SIGKILL went */
	int kill_phase;
	int kill_grace;
	int64_t kill_deadline;
	struct record post_rec;
	bool has_kill;
	char kill_reason[32], kill_msg[OUT_MAX + 64], kill_time[48];
	long backoff_ms;
	char backoff_until[48];
};

static void job_init(struct job *j)
{
	*j = (struct job){.out = -1, .efd = -1};
}

static void job_close(struct probes *p, struct job *j)
{
	if (j->out >= 0) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, j->out, NULL);
		close(j->out);
	}
	if (j->efd >= 0)
		close(j->efd);
	j->out = j->efd = -1;
}

/* Kill a running job and reap it (it is our child: quick after SIGKILL). */
static void job_abort(struct probes *p, struct job *j)
{
	if (j->pid > 0) {
		kill_group(j->pid);
		while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	job_close(p, j);
	j->pid = 0;
}

static void job_watch(struct probes *p, int slot)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)slot + 1};
	epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->jobs[slot].out, &ev);
}

/* Start handler hd as job slot: exec in the container, the others in a
 * forked child that runs them synchronously. timeout_ns 0: none. -1 with
 * msg when it could not start. */
static int job_start(struct probes *p, int slot, const struct handler *hd, int64_t timeout_ns, bool hook, char *msg,
		     size_t n)
{
	struct job *j = &p->jobs[slot];
	job_init(j);
	int64_t now = mono_now();
	int64_t deadline = timeout_ns ? now + timeout_ns : 0;
	if (hd->kind == H_EXEC && !hd->invalid[0]) {
		struct berr *e = NULL;
		if (!p->proc) {
			snprintf(msg, n, "cannot run the command: the container's process settings are unknown");
			return -1;
		}
		if (exec_start(p->ctr_pid, p->cgroup_name, p->proc, json_object_get(hd->obj, "command"), &j->pid,
			       &j->out, &j->efd, &e) < 0) {
			snprintf(msg, n, "%s", e->msg);
			berr_free(e);
			return -1;
		}
		j->exec = true;
		j->kill_at = deadline;
		job_watch(p, slot);
		return 0;
	}
	int op[2];
	if (pipe2(op, O_CLOEXEC) < 0) {
		snprintf(msg, n, "creating a pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg, n, "fork: %s", strerror(errno));
		close(op[0]);
		close(op[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		char out[OUT_MAX + 256];
		enum probe_result r = run_net(hd, p->pod_ip, deadline, hook, out, sizeof(out));
		fs_write_full(op[1], out, strlen(out));
		_exit(r == PROBE_SUCCESS ? 0 : 1);
	}
	setpgid(pid, pid);
	close(op[1]);
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	j->pid = pid;
	j->out = op[0];
	/* the child keeps its own deadline; this is the safety net */
	j->kill_at = deadline ? deadline + NS : 0;
	job_watch(p, slot);
	return 0;
}

static void record_set(struct record *r, enum probe_result res, int failures, const char *out)
{
	r->set = true;
	r->result = res;
	r->failures = failures;
	snprintf(r->output, sizeof(r->output), "%s", out ? out : "");
	now_rfc3339(r->time, sizeof(r->time));
}

static void arm(struct probes *p);

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static bool compute_ready(const struct probes *p)
{
	if (!p->running || !p->started || p->kill_phase)
		return false;
	if (!p->pr[K_READINESS].present)
		return true;
	return p->pr[K_READINESS].th.result == PROBE_SUCCESS;
}

static int update_ready(struct probes *p)
{
	bool r = compute_ready(p);
	if (r == p->ready)
		return 0;
	p->ready = r;
	return PROBES_CHANGED;
}

/* The container counts as started: liveness and readiness begin (after
 * their initial delay, counted from the container's start). */
static int set_started(struct probes *p)
{
	p->started = true;
	int64_t now = mono_now();
	for (int k = K_LIVENESS; k <= K_READINESS; k++) {
		struct kprobe *pr = &p->pr[k];
		if (!pr->present)
			continue;
		pr->active = true;
		pr->next_due = max64(now, p->start_mono + (int64_t)pr->spec.initial_delay * NS);
	}
	update_ready(p);
	return PROBES_CHANGED;
}

/* postStart is done (or there is none): the startup probe, else started. */
static int after_post(struct probes *p)
{
	p->post_done = true;
	struct kprobe *st = &p->pr[K_STARTUP];
	if (st->present) {
		st->active = true;
		st->next_due = max64(mono_now(), p->start_mono + (int64_t)st->spec.initial_delay * NS);
		return 0;
	}
	return set_started(p);
}

static void send_stop(struct probes *p, int64_t kill_at)
{
	p->kill_phase = 2;
	p->kill_deadline = kill_at;
	if (p->kill_grace == 0 && kill_at <= mono_now()) {
		kill(p->ctr_pid, SIGKILL);
		p->kill_phase = 3;
		return;
	}
	kill(p->ctr_pid, p->stop_signal);
}

/* Kill the container, as the kubelet's killContainer: preStop (if any)
 * within the grace period, the stop signal, SIGKILL when the period is
 * over (at least 2 s after a preStop hook). */
static int kill_start(struct probes *p, const char *reason, const char *msg, int grace)
{
	if (p->kill_phase || !p->running)
		return 0;
	for (int k = 0; k < K_NPROBES; k++) {
		job_abort(p, &p->jobs[k]);
		p->pr[k].active = false;
	}
	p->has_kill = true;
	snprintf(p->kill_reason, sizeof(p->kill_reason), "%s", reason);
	snprintf(p->kill_msg, sizeof(p->kill_msg), "%s", msg);
	now_rfc3339(p->kill_time, sizeof(p->kill_time));
	int64_t now = mono_now();
	int64_t end = now + (int64_t)grace * NS;
	p->kill_grace = grace;
	char err[OUT_MAX];
	if (p->has_pre && grace > 0 && job_start(p, J_PRESTOP, &p->pre, (int64_t)grace * NS, true, err, sizeof(err)) == 0) {
		p->kill_phase = 1;
		p->kill_deadline = end;
	} else {
		send_stop(p, end);
	}
	update_ready(p);
	return PROBES_CHANGED;
}

static int probe_grace(const struct probes *p, int k)
{
	int g = p->pr[k].spec.grace;
	return g >= 0 ? g : p->grace;
}

/* One raw result of probe k. */
static int probe_result_in(struct probes *p, int k, enum probe_result raw, const char *out)
{
	struct kprobe *pr = &p->pr[k];
	if (!p->running || p->kill_phase || !pr->active)
		return 0;
	int changed = 0;
	enum probe_result before = pr->th.result;
	probe_thresh_feed(&pr->th, raw);
	/* shown up to the threshold: a probe that keeps failing past it
	 * (a pod waiting for its database) rewrites nothing */
	int fails = probe_thresh_failures(&pr->th);
	if (fails > pr->spec.failure_th)
		fails = pr->spec.failure_th;
	if (!pr->rec.set || pr->rec.result != raw || pr->rec.failures != fails) {
		record_set(&pr->rec, raw, fails, out);
		changed = PROBES_CHANGED;
	}
	if (pr->th.result == before)
		return changed | update_ready(p);
	switch (k) {
	case K_STARTUP:
		if (pr->th.result == PROBE_SUCCESS) {
			pr->active = false; /* the kubelet stops probing once started */
			changed |= set_started(p);
		} else if (pr->th.result == PROBE_FAILURE) {
			char m[OUT_MAX + 64];
			snprintf(m, sizeof(m), "Startup probe failed: %s", out);
			pr->on_hold = true;
			changed |= kill_start(p, "StartupProbe", m, probe_grace(p, k));
		}
		break;
	case K_LIVENESS:
		if (pr->th.result == PROBE_FAILURE) {
			char m[OUT_MAX + 64];
			snprintf(m, sizeof(m), "Liveness probe failed: %s", out);
			pr->on_hold = true;
			changed |= kill_start(p, "LivenessProbe", m, probe_grace(p, k));
		}
		break;
	default: break;
	}
	return changed | update_ready(p);
}

static int post_result_in(struct probes *p, enum probe_result raw, const char *out)
{
	record_set(&p->post_rec, raw, raw == PROBE_FAILURE ? 1 : 0, out);
	if (!p->running || p->kill_phase)
		return PROBES_CHANGED;
	if (raw == PROBE_SUCCESS)
		return PROBES_CHANGED | after_post(p);
	char m[OUT_MAX + 64];
	snprintf(m, sizeof(m), "PostStartHook failed: %s", out);
	return PROBES_CHANGED | kill_start(p, "FailedPostStartHook", m, p->grace);
}

struct probes *probes_new(const json_t *cfg)
{
	const json_t *kp = json_object_get(cfg, "KubeProbes"), *kl = json_object_get(cfg, "KubeLifecycle");
	bool backoff = json_is_true(json_object_get(cfg, "KubeBackoff"));
	if (!json_object_size(kp) && !json_object_size(kl) && !backoff && !jsonx_str(cfg, "KubePodIP"))
		return NULL;
	struct probes *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = json_incref((json_t *)cfg);
	p->backoff = backoff;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
	epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->tfd, &ev);
	for (int j = 0; j < J_COUNT; j++)
		job_init(&p->jobs[j]);
	for (int k = 0; k < K_NPROBES; k++) {
		const json_t *pj = json_object_get(kp, kind_key[k]);
		if (!pj || json_is_null(pj))
			continue;
		struct kprobe *pr = &p->pr[k];
		pr->present = true;
		char what[64];
		snprintf(what, sizeof(what), "KubeProbes.%s", kind_key[k]);
		struct berr *e = NULL;
		if (spec_parse(pj, what, &pr->spec, &e) < 0) {
			/* runs as a probe that fails and says why */
			pr->spec.h.kind = H_NONE;
			snprintf(pr->spec.h.invalid, sizeof(pr->spec.h.invalid), "invalid probe: %s", e->msg);
			berr_free(e);
		}
		if (k != K_READINESS)
			pr->spec.success_th = 1; /* the API requires it for liveness and startup */
	}
	struct berr *e = NULL;
	const json_t *ps = json_object_get(kl, "postStart"), *pre = json_object_get(kl, "preStop");
	if (ps && !json_is_null(ps)) {
		p->has_post = true;
		if (handler_parse(ps, "KubeLifecycle.postStart", true, &p->post, &e) < 0) {
			p->post.kind = H_NONE;
			snprintf(p->post.invalid, sizeof(p->post.invalid), "invalid handler: %s", e->msg);
			berr_freep(&e);
		}
	}
	if (pre && !json_is_null(pre)) {
		p->has_pre = true;
		if (handler_parse(pre, "KubeLifecycle.preStop", true, &p->pre, &e) < 0) {
			p->pre.kind = H_NONE;
			snprintf(p->pre.invalid, sizeof(p->pre.invalid), "invalid handler: %s", e->msg);
			berr_freep(&e);
		}
	}
	const json_t *c = json_object_get(cfg, "Config");
	p->stop_signal = SIGTERM;
	const char *ss = jsonx_str(c, "StopSignal");
	if (ss && *ss && signal_parse(ss, &p->stop_signal, &e) < 0) {
		berr_freep(&e);
		p->stop_signal = SIGTERM;
	}
	json_t *to = json_object_get(c, "StopTimeout");
	p->grace = json_is_integer(to) && json_integer_value(to) >= 0 && json_integer_value(to) < 86400 * 365
			   ? (int)json_integer_value(to)
			   : DEFAULT_GRACE;
	const char *ip = jsonx_str(cfg, "KubePodIP");
	if (ip && *ip) {
		snprintf(p->pod_ip, sizeof(p->pod_ip), "%s", ip);
		p->fixed_ip = true;
	}
	return p;
}

void probes_free(struct probes *p)
{
	if (!p)
		return;
	probes_stop(p);
	close(p->epfd);
	close(p->tfd);
	json_decref(p->cfg);
	free(p);
}

bool probes_kube_backoff(const struct probes *p)
{
	return p && p->backoff;
}

int probes_fd(struct probes *p)
{
	return p->epfd;
}

void probes_start(struct probes *p, pid_t ctr_pid, const struct plan *plan, struct ctr_store *cs, const char *id)
{
	probes_stop(p);
	p->ctr_pid = ctr_pid;
	p->start_mono = mono_now();
	p->running = true;
	p->post_done = p->started = p->ready = false;
	p->kill_phase = 0;
	p->backoff_ms = 0;
	snprintf(p->cgroup_name, sizeof(p->cgroup_name), "%s", plan && plan->cgroup_name ? plan->cgroup_name : id);
	/* exec handlers run as health checks do: the container's process
	 * settings (env, user, caps, seccomp) with their own argv */
	p->proc = plan ? &plan->proc : NULL;
	if (!p->fixed_ip)
		container_ip(cs, id, p->cfg, p->pod_ip, sizeof(p->pod_ip));
	/* a new container: the kubelet's initial results (liveness success,
	 * readiness failure, startup unknown) and nothing shown yet */
	static const enum probe_result initial[K_NPROBES] = {PROBE_SUCCESS, PROBE_FAILURE, PROBE_UNKNOWN};
	for (int k = 0; k < K_NPROBES; k++) {
		struct kprobe *pr = &p->pr[k];
		probe_thresh_init(&pr->th, pr->spec.success_th, pr->spec.failure_th, initial[k]);
		pr->active = pr->on_hold = false;
		pr->rec.set = false;
	}
	p->post_rec.set = false;
	if (p->has_post) {
		char msg[OUT_MAX];
		if (job_start(p, J_POSTSTART, &p->post, 0, true, msg, sizeof(msg)) < 0)
			post_result_in(p, PROBE_FAILURE, msg);
	} else {
		after_post(p);
	}
	arm(p);
}

/* The timer: the earliest of the probes due, the jobs' kill times and the
 * kill sequence's SIGKILL. */
static void arm(struct probes *p)
{
	int64_t at = 0;
#define EARLIER(t)                          \
	do {                                \
		int64_t t_ = (t);           \
		if (t_ && (!at || t_ < at)) \
			at = t_;            \
	} while (0)
	for (int k = 0; k < K_NPROBES; k++)
		if (p->pr[k].active && !p->pr[k].on_hold && !p->jobs[k].pid && !p->kill_phase)
			EARLIER(p->pr[k].next_due);
	for (int j = 0; j < J_COUNT; j++)
		if (p->jobs[j].pid && !p->jobs[j].timed_out)
			EARLIER(p->jobs[j].kill_at);
	if (p->kill_phase == 1 || p->kill_phase == 2)
		EARLIER(p->kill_deadline);
#undef EARLIER
	struct itimerspec its = {0};
	if (at) {
		its.it_value.tv_sec = at / NS;
		its.it_value.tv_nsec = at % NS;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(p->tfd, at ? TFD_TIMER_ABSTIME : 0, &its, NULL);
}

int probes_tick(struct probes *p)
{
	struct epoll_event ev[J_COUNT + 1];
	int n = epoll_wait(p->epfd, ev, J_COUNT + 1, 0);
	for (int i = 0; i < n; i++) {
		uint32_t slot = ev[i].data.u32;
		if (slot == 0) {
			uint64_t x;
			ssize_t r = read(p->tfd, &x, sizeof(x));
			(void)r;
			continue;
		}
		struct job *j = &p->jobs[slot - 1];
		if (j->out >= 0 && !drain(j->out, j->buf, &j->len, OUT_MAX)) {
			/* EOF: the rest comes with the exit */
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, j->out, NULL);
			close(j->out);
			j->out = -1;
		}
	}
	int changed = 0;
	int64_t now = mono_now();
	for (int s = 0; s < J_COUNT; s++) {
		struct job *j = &p->jobs[s];
		if (j->pid && j->kill_at && !j->timed_out && now >= j->kill_at) {
			j->timed_out = true; /* recorded when it is reaped */
			kill_group(j->pid);
		}
	}
	if (p->kill_phase == 1 && now >= p->kill_deadline) {
		/* preStop used up the grace period: the kubelet still gives 2 s */
		job_abort(p, &p->jobs[J_PRESTOP]);
		send_stop(p, now + (int64_t)MIN_GRACE_AFTER_HOOK * NS);
	}
	if (p->kill_phase == 2 && now >= p->kill_deadline) {
		kill(p->ctr_pid, SIGKILL);
		p->kill_phase = 3;
	}
	if (p->running && !p->kill_phase) {
		for (int k = 0; k < K_NPROBES; k++) {
			struct kprobe *pr = &p->pr[k];
			if (!pr->active || pr->on_hold || p->jobs[k].pid || now < pr->next_due)
				continue;
			/* the kubelet's ticker: every period, whatever a probe took */
			pr->next_due = now + (int64_t)pr->spec.period * NS;
			char msg[OUT_MAX];
			if (job_start(p, k, &pr->spec.h, (int64_t)pr->spec.timeout * NS, false, msg, sizeof(msg)) < 0)
				changed |= probe_result_in(p, k, PROBE_FAILURE, msg);
			if (p->kill_phase)
				break;
		}
	}
	arm(p);
	return changed;
}

int probes_child_exited(struct probes *p, pid_t pid, int status, bool *ret_ours)
{
	*ret_ours = false;
	if (!p || pid <= 0)
		return 0;
	int slot = -1;
	for (int s = 0; s < J_COUNT; s++)
		if (p->jobs[s].pid == pid)
			slot = s;
	if (slot < 0)
		return 0;
	*ret_ours = true;
	struct job *j = &p->jobs[slot];
	if (j->out >= 0)
		drain(j->out, j->buf, &j->len, OUT_MAX);
	j->buf[j->len] = 0;
	char reason[512] = "";
	if (j->efd >= 0) {
		fcntl(j->efd, F_SETFL, O_NONBLOCK);
		ssize_t rn = read(j->efd, reason, sizeof(reason) - 1);
		reason[rn > 0 ? rn : 0] = 0;
	}
	job_close(p, j);
	j->pid = 0;
	const struct handler *hd = slot < K_NPROBES ? &p->pr[slot].spec.h : slot == J_POSTSTART ? &p->post : &p->pre;
	bool hook = slot >= K_NPROBES;
	char out[OUT_MAX + 256];
	enum probe_result r;
	if (j->exec) {
		r = exec_outcome(json_object_get(hd->obj, "command"), status, j->timed_out, reason, j->buf, j->len,
				 hook, out, sizeof(out));
	} else if (j->timed_out) {
		r = PROBE_FAILURE;
		snprintf(out, sizeof(out), "%s timed out", kind_name[slot]);
	} else {
		r = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? PROBE_SUCCESS : PROBE_FAILURE;
		snprintf(out, sizeof(out), "%s", j->buf);
	}
	int changed = 0;
	if (slot < K_NPROBES) {
		changed = probe_result_in(p, slot, r, out);
	} else if (slot == J_POSTSTART) {
		changed = post_result_in(p, r, out);
	} else if (p->kill_phase == 1) {
		/* preStop done (its failure is only reported, as the kubelet's
		 * FailedPreStopHook event): now the stop signal */
		int64_t now = mono_now();
		send_stop(p, max64(p->kill_deadline, now + (int64_t)MIN_GRACE_AFTER_HOOK * NS));
	}
	arm(p);
	return changed;
}

bool probes_child_discard(struct probes *p, pid_t pid)
{
	if (!p || pid <= 0)
		return false;
	for (int s = 0; s < J_COUNT; s++) {
		struct job *j = &p->jobs[s];
		if (j->pid != pid)
			continue;
		job_close(p, j);
		j->pid = 0;
		if (s == J_PRESTOP && p->kill_phase == 1)
			p->kill_phase = 2;
		return true;
	}
	return false;
}

void probes_stop(struct probes *p)
{
	if (!p)
		return;
	for (int j = 0; j < J_COUNT; j++)
		job_abort(p, &p->jobs[j]);
	for (int k = 0; k < K_NPROBES; k++)
		p->pr[k].active = false;
	p->running = p->started = p->ready = false;
	p->kill_phase = 0;
	struct itimerspec off = {0};
	timerfd_settime(p->tfd, 0, &off, NULL);
}

void probes_set_backoff(struct probes *p, long delay_ms)
{
	if (!p)
		return;
	p->backoff_ms = delay_ms;
	p->backoff_until[0] = 0;
	if (delay_ms > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += delay_ms / 1000;
		ts.tv_nsec += (delay_ms % 1000) * MS;
		if (ts.tv_nsec >= NS) {
			ts.tv_sec++;
			ts.tv_nsec -= NS;
		}
		time_rfc3339(&ts, p->backoff_until, sizeof(p->backoff_until));
	}
}

static json_t *record_json(const struct record *r)
{
	return json_pack("{s:s, s:o, s:s, s:i}", "Result", r->result == PROBE_SUCCESS ? "success" : "failure",
			 "Output", json_output(r->output, strlen(r->output)), "Time", r->time, "ConsecutiveFailures",
			 r->failures);
}

json_t *probes_state_json(const struct probes *p)
{
	json_t *j = json_pack("{s:b, s:b}", "Started", p->running && p->started, "Ready", p->running && p->ready);
	for (int k = 0; k < K_NPROBES; k++)
		if (p->pr[k].rec.set)
			json_object_set_new(j, kind_name[k], record_json(&p->pr[k].rec));
	if (p->post_rec.set)
		json_object_set_new(j, "PostStart", record_json(&p->post_rec));
	if (p->has_kill)
		json_object_set_new(j, "LastKill",
				    json_pack("{s:s, s:o, s:s}", "Reason", p->kill_reason, "Message",
					      json_output(p->kill_msg, strlen(p->kill_msg)), "Time", p->kill_time));
	if (p->backoff_ms > 0) {
		char m[128];
		snprintf(m, sizeof(m), "back-off %lds restarting failed container", p->backoff_ms / 1000);
		json_object_set_new(j, "BackOff",
				    json_pack("{s:s, s:s, s:I, s:s}", "Reason", "CrashLoopBackOff", "Message", m,
					      "Seconds", (json_int_t)(p->backoff_ms / 1000), "Until", p->backoff_until));
	}
	return j;
}
