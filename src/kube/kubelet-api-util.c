/* The kubelet API's pure helpers (kube/kubelet-api-int.h): HTTP request
 * heads, query strings, the kubelet's authorization attributes and log
 * options, the error stream's Status and the resize stream's sizes. */
#include "kube/kubelet-api-int.h"
#include "util/cleanup.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- request heads ---- */

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c);
}

void kreq_release(struct kreq *r)
{
	for (size_t i = 0; i < r->nhdr; i++) {
		free(r->hdr[i].name);
		free(r->hdr[i].value);
	}
	free(r->hdr);
	free(r->target);
	free(r->path);
	free(r->query);
	memset(r, 0, sizeof(*r));
}

const char *kreq_header(const struct kreq *r, const char *name)
{
	for (size_t i = 0; i < r->nhdr; i++)
		if (!strcasecmp(r->hdr[i].name, name))
			return r->hdr[i].value;
	return NULL;
}

json_t *kreq_header_list(const struct kreq *r, const char *name)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->nhdr; i++) {
		if (strcasecmp(r->hdr[i].name, name))
			continue;
		const char *p = r->hdr[i].value;
		while (*p) {
			const char *c = strchr(p, ',');
			size_t n = c ? (size_t)(c - p) : strlen(p);
			const char *s = p, *e = p + n;
			while (s < e && *s == ' ')
				s++;
			while (e > s && e[-1] == ' ')
				e--;
			if (e > s)
				json_array_append_new(a, json_stringn(s, (size_t)(e - s)));
			p += n + (c ? 1 : 0);
		}
	}
	return a;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int kapi_unescape(const char *s, size_t n, bool form, char **ret)
{
	char *o = malloc(n + 1);
	if (!o)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n) {
				free(o);
				return -1;
			}
			int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0) {
				free(o);
				return -1;
			}
			o[k++] = (char)(h << 4 | l);
			i += 2;
		} else if (form && s[i] == '+') {
			o[k++] = ' ';
		} else {
			o[k++] = s[i];
		}
	}
	o[k] = 0;
	*ret = o;
	return 0;
}

int kreq_parse(const char *head, size_t n, struct kreq *ret, struct berr **err)
{
	memset(ret, 0, sizeof(*ret));
	ret->content_length = -1;
	const char *end = head + n, *p = head;
	/* the request line */
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		return berr_setc(err, BERR_INVALID, "malformed HTTP request: no request line");
	size_t ll = (size_t)(eol - p);
	if (ll && p[ll - 1] == '\r')
		ll--;
	const char *sp1 = memchr(p, ' ', ll);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - p)) : NULL;
	if (!sp1 || !sp2 || sp1 == p || (size_t)(sp1 - p) >= sizeof(ret->method) || sp2 == sp1 + 1)
		return berr_setc(err, BERR_INVALID, "malformed HTTP request line");
	for (const char *q = p; q < sp1; q++)
		if (!is_tchar((unsigned char)*q))
			return berr_setc(err, BERR_INVALID, "malformed HTTP request: bad method");
	memcpy(ret->method, p, (size_t)(sp1 - p));
	const char *ver = sp2 + 1;
	size_t vl = ll - (size_t)(ver - p);
	if (vl != 8 || strncmp(ver, "HTTP/1.", 7) || (ver[7] != '0' && ver[7] != '1'))
		return berr_setc(err, BERR_INVALID, "malformed HTTP version");
	ret->minor = ver[7] - '0';
	ret->target = strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	if (!ret->target)
		abort();
	/* absolute-form: keep the path */
	const char *t = ret->target;
	if (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8)) {
		const char *sl = strchr(strstr(t, "//") + 2, '/');
		t = sl ? sl : "/";
	}
	if (*t != '/') {
		kreq_release(ret);
		return berr_setc(err, BERR_INVALID, "malformed HTTP request target");
	}
	const char *qm = strchr(t, '?');
	size_t pl = qm ? (size_t)(qm - t) : strlen(t);
	if (kapi_unescape(t, pl, false, &ret->path) < 0) {
		kreq_release(ret);
		return berr_setc(err, BERR_INVALID, "malformed HTTP request: a bad escape in the path");
	}
	ret->query = strdup(qm ? qm + 1 : "");
	if (!ret->query)
		abort();
	/* headers */
	p = eol + 1;
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		ll = (size_t)(eol - p);
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (!ll)
			break;
		if (*p == ' ' || *p == '\t') {
			kreq_release(ret);
			return berr_setc(err, BERR_INVALID, "malformed HTTP request: a folded header line");
		}
		const char *colon = memchr(p, ':', ll);
		if (!colon || colon == p) {
			kreq_release(ret);
			return berr_setc(err, BERR_INVALID, "malformed HTTP header line");
		}
		for (const char *q = p; q < colon; q++) {
			if (!is_tchar((unsigned char)*q)) {
				kreq_release(ret);
				return berr_setc(err, BERR_INVALID, "malformed HTTP header name");
			}
		}
		const char *v = colon + 1, *ve = p + ll;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		struct kreq_hdr *nh = realloc(ret->hdr, (ret->nhdr + 1) * sizeof(*nh));
		if (!nh)
			abort();
		ret->hdr = nh;
		ret->hdr[ret->nhdr].name = strndup(p, (size_t)(colon - p));
		ret->hdr[ret->nhdr].value = strndup(v, (size_t)(ve - v));
		if (!ret->hdr[ret->nhdr].name || !ret->hdr[ret->nhdr].value)
			abort();
		ret->nhdr++;
		p = eol + 1;
	}
	const char *cl = kreq_header(ret, "Content-Length");
	if (cl) {
		char *e2;
		errno = 0;
		long long v = strtoll(cl, &e2, 10);
		if (!*cl || *e2 || errno || v < 0) {
			kreq_release(ret);
			return berr_setc(err, BERR_INVALID, "malformed HTTP request: bad Content-Length");
		}
		ret->content_length = v;
	}
	const char *te = kreq_header(ret, "Transfer-Encoding");
	ret->chunked = te && strcasestr(te, "chunked");
	const char *conn = kreq_header(ret, "Connection");
	if (ret->minor >= 1)
		ret->keep_alive = !(conn && strcasestr(conn, "close"));
	else
		ret->keep_alive = conn && strcasestr(conn, "keep-alive");
	return 0;
}

json_t *kapi_query_values(const char *query, const char *name)
{
	json_t *a = json_array();
	const char *p = query;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		/* Go's ParseQuery: a pair with ';' is dropped, a bad escape too */
		if (n && !memchr(p, ';', n)) {
			const char *eq = memchr(p, '=', n);
			size_t kl = eq ? (size_t)(eq - p) : n;
			char *k = NULL, *v = NULL;
			if (kapi_unescape(p, kl, true, &k) == 0 &&
			    kapi_unescape(eq ? eq + 1 : "", eq ? n - kl - 1 : 0, true, &v) == 0 && !strcmp(k, name))
				json_array_append_new(a, json_string(v));
			free(k);
			free(v);
		}
		p = amp ? amp + 1 : NULL;
	}
	return a;
}

json_t *kapi_path_segments(const char *path)
{
	json_t *a = json_array();
	const char *p = path;
	if (*p == '/')
		p++;
	const char *s = strchr(p, '/');
	if (!s)
		return a;
	p = s + 1;
	for (;;) {
		s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);
		json_array_append_new(a, json_stringn(p, n));
		if (!s)
			break;
		p = s + 1;
	}
	return a;
}

/* ---- authorization attributes ---- */

const char *kapi_verb(const char *method)
{
	static const char *const m[][2] = {
		{"POST", "create"}, {"GET", "get"}, {"PUT", "update"}, {"PATCH", "patch"}, {"DELETE", "delete"}};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (!strcmp(method, m[i][0]))
			return m[i][1];
	return "";
}

/* pkg/kubelet/server/auth.go's isSubpath */
static bool subpath(const char *path, const char *p)
{
	size_t n = strlen(p);
	if (n && p[n - 1] == '/')
		n--;
	return (strlen(path) == n && !strncmp(path, p, n)) || (!strncmp(path, p, n) && path[n] == '/');
}

int kapi_subresources(const char *path, const char *subs[2])
{
	int n = 0;
	/* KubeletFineGrainedAuthz (GA in 1.36) first, then the proxy fallback */
	if (subpath(path, "/pods"))
		subs[n++] = "pods";
	else if (subpath(path, "/healthz"))
		subs[n++] = "healthz";
	else if (subpath(path, "/configz"))
		subs[n++] = "configz";
	else if (subpath(path, "/runningpods/"))
		subs[n++] = "pods";
	if (subpath(path, "/stats/"))
		subs[n++] = "stats";
	else if (subpath(path, "/metrics"))
		subs[n++] = "metrics";
	else if (subpath(path, "/logs/"))
		subs[n++] = "log";
	else if (subpath(path, "/checkpoint/"))
		subs[n++] = "checkpoint";
	else if (subpath(path, "/statusz"))
		subs[n++] = "statusz";
	else if (subpath(path, "/flagz"))
		subs[n++] = "configz";
	else
		subs[n++] = "proxy";
	return n;
}

/* ---- log options ---- */

static bool go_bool(const char *v)
{
	return strcmp(v, "0") && strcasecmp(v, "false");
}

static int int64_param(const char *v, long long *ret)
{
	char *e;
	errno = 0;
	long long x = strtoll(v, &e, 10);
	if (!*v || *e || errno || isspace((unsigned char)*v))
		return -1;
	*ret = x;
	return 0;
}

int klog_opts_parse(const char *query, struct klog_opts *ret, int *status, char *msg, size_t msgn)
{
	memset(ret, 0, sizeof(*ret));
	static const char bad_query[] = "{\"message\": \"Unable to decode query.\"}";
	static const char invalid[] = "{\"message\": \"Invalid request.\"}";
	_cleanup_json_ json_t *fo = kapi_query_values(query, "follow"), *pr = kapi_query_values(query, "previous"),
			      *ts = kapi_query_values(query, "timestamps"), *tl = kapi_query_values(query, "tailLines"),
			      *tail = kapi_query_values(query, "tail"), *lb = kapi_query_values(query, "limitBytes"),
			      *ss = kapi_query_values(query, "sinceSeconds"), *st = kapi_query_values(query, "sinceTime"),
			      *sm = kapi_query_values(query, "stream");
	ret->follow = json_array_size(fo) && go_bool(json_string_value(json_array_get(fo, 0)));
	ret->previous = json_array_size(pr) && go_bool(json_string_value(json_array_get(pr, 0)));
	ret->timestamps = json_array_size(ts) && go_bool(json_string_value(json_array_get(ts, 0)));
	/* the legacy "tail" wins over tailLines; "all" is no tail */
	const char *tv = json_array_size(tail) && *json_string_value(json_array_get(tail, 0))
				 ? json_string_value(json_array_get(tail, 0))
				 : NULL;
	if (tv && strcmp(tv, "all")) {
		ret->has_tail = true;
		if (int64_param(tv, &ret->tail) < 0)
			goto decode;
	} else if (!tv && json_array_size(tl)) {
		ret->has_tail = true;
		if (int64_param(json_string_value(json_array_get(tl, 0)), &ret->tail) < 0)
			goto decode;
	}
	if (json_array_size(lb)) {
		ret->has_limit = true;
		if (int64_param(json_string_value(json_array_get(lb, 0)), &ret->limit) < 0)
			goto decode;
	}
	if (json_array_size(ss)) {
		ret->has_since_seconds = true;
		if (int64_param(json_string_value(json_array_get(ss, 0)), &ret->since_seconds) < 0)
			goto decode;
	}
	if (json_array_size(st)) {
		const char *v = json_string_value(json_array_get(st, 0));
		ret->has_since_time = true;
		if (*v && strcmp(v, "null") && time_parse_rfc3339(v, &ret->since_time) < 0)
			goto decode;
	}
	if (json_array_size(sm)) {
		const char *v = json_string_value(json_array_get(sm, 0));
		ret->has_stream = true;
		if (!strcmp(v, "All"))
			ret->stream = 0;
		else if (!strcmp(v, "Stdout"))
			ret->stream = 1;
		else if (!strcmp(v, "Stderr"))
			ret->stream = 2;
		else
			goto invalid;
	}
	/* ValidatePodLogOptions */
	if ((ret->has_tail && ret->tail < 0) || (ret->has_limit && ret->limit < 1) ||
	    (ret->has_since_seconds && ret->has_since_time) || (ret->has_since_seconds && ret->since_seconds < 1) ||
	    (ret->stream && ret->has_tail))
		goto invalid;
	return 0;
decode:
	*status = 400;
	snprintf(msg, msgn, "%s", bad_query);
	return -1;
invalid:
	*status = 422;
	snprintf(msg, msgn, "%s", invalid);
	return -1;
}

/* ---- the error and resize streams ---- */

char *kapi_status_json(int code, const char *cmd, const char *internal)
{
	json_t *s;
	if (internal) {
		char *m = NULL;
		if (asprintf(&m, "Internal error occurred: %s", internal) < 0)
			abort();
		s = json_pack("{s:{}, s:s, s:s, s:s, s:{s:[{s:s}]}, s:i}", "metadata", "status", "Failure", "message", m,
			      "reason", "InternalError", "details", "causes", "message", internal, "code", 500);
		free(m);
	} else if (code < 0 || code == 0) {
		s = json_pack("{s:{}, s:s}", "metadata", "status", "Success");
	} else {
		char *m = NULL, n[16];
		/* the CRI runtime's CodeExitError, as containerd words it */
		if (asprintf(&m, "command terminated with non-zero exit code: error executing command %s, exit code %d",
			     cmd ? cmd : "[]", code) < 0)
			abort();
		snprintf(n, sizeof(n), "%d", code);
		s = json_pack("{s:{}, s:s, s:s, s:s, s:{s:[{s:s, s:s}]}}", "metadata", "status", "Failure", "message", m,
			      "reason", "NonZeroExitCode", "details", "causes", "reason", "ExitCode", "message", n);
		free(m);
	}
	char *out = json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(s);
	return out;
}

int kapi_resize_take(struct sbuf *buf, unsigned *w, unsigned *h)
{
	int found = 0;
	size_t off = 0;
	while (off < buf->len) {
		while (off < buf->len && isspace((unsigned char)buf->s[off]))
			off++;
		if (off >= buf->len)
			break;
		json_error_t je;
		json_t *j = json_loadb(buf->s + off, buf->len - off, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &je);
		if (!j) {
			if (json_error_code(&je) == json_error_premature_end_of_input)
				break; /* the rest comes later */
			sbuf_reset(buf);
			return -1;
		}
		json_t *jw = json_object_get(j, "Width"), *jh = json_object_get(j, "Height");
		if (json_is_integer(jw) && json_is_integer(jh) && json_integer_value(jw) >= 0 &&
		    json_integer_value(jw) <= 65535 && json_integer_value(jh) >= 0 && json_integer_value(jh) <= 65535) {
			*w = (unsigned)json_integer_value(jw);
			*h = (unsigned)json_integer_value(jh);
			found++;
		}
		json_decref(j);
		off += (size_t)je.position;
	}
	memmove(buf->s, buf->s + off, buf->len - off);
	buf->len -= off;
	if (buf->s)
		buf->s[buf->len] = 0;
	return found;
}

void kapi_time_fixed(const struct timespec *ts, char *buf, size_t n)
{
	struct tm tm;
	char base[32];
	gmtime_r(&ts->tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%09ldZ", base, ts->tv_nsec);
}

const char *kapi_reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Request Entity Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	}
	return "Unknown";
}

/* Go's textproto.CanonicalMIMEHeaderKey */
static void canonical(const char *s, struct sbuf *out)
{
	bool up = true;
	for (; *s; s++) {
		char c = *s;
		sbuf_addc(out, up ? (char)toupper((unsigned char)c) : (char)tolower((unsigned char)c));
		up = c == '-';
	}
}

static void go_quote(const char *s, struct sbuf *out)
{
	sbuf_addc(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			sbuf_addf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			sbuf_addf(out, "\\x%02x", *p);
		else
			sbuf_addc(out, (char)*p);
	}
	sbuf_addc(out, '"');
}

void kapi_go_header_repr(const struct kreq *r, struct sbuf *out)
{
	/* keys sorted, as fmt prints maps; Host is not among Go's headers */
	size_t n = r->nhdr, k = 0;
	char **keys = calloc(n + 1, sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		if (!strcasecmp(r->hdr[i].name, "Host"))
			continue;
		struct sbuf c = SBUF_INIT;
		canonical(r->hdr[i].name, &c);
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup |= !strcmp(keys[j], sbuf_str(&c));
		if (dup) {
			sbuf_release(&c);
			continue;
		}
		keys[k++] = sbuf_detach(&c);
	}
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	sbuf_adds(out, "http.Header{");
	for (size_t i = 0; i < k; i++) {
		if (i)
			sbuf_adds(out, ", ");
		go_quote(keys[i], out);
		sbuf_adds(out, ":[]string{");
		bool first = true;
		for (size_t j = 0; j < n; j++) {
			if (strcasecmp(r->hdr[j].name, keys[i]))
				continue;
			if (!first)
				sbuf_adds(out, ", ");
			go_quote(r->hdr[j].value, out);
			first = false;
		}
		sbuf_addc(out, '}');
		free(keys[i]);
	}
	sbuf_addc(out, '}');
	free(keys);
}
