/* kube/kubelet-api's pure parts: request heads, query strings and path
 * segments, the kubelet's authorization attributes, PodLogOptions as the
 * kubelet decodes and validates them, the error stream's Status, the
 * resize stream's sizes, timestamps and Go's header dump. */
#include "kube/kubelet-api-int.h"
#include "unit.h"

#include <stdlib.h>

static void test_request(void)
{
	const char head[] = "POST /exec/default/web-1/c%41?command=sh&command=-c&command=echo+a%20b&output=1 HTTP/1.1\r\n"
			    "Host: 10.0.0.1:10250\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
			    "X-Stream-Protocol-Version: v3.channel.k8s.io, v2.channel.k8s.io\r\n"
			    "Connection:   Upgrade  \r\nUpgrade: SPDY/3.1\r\nContent-Length: 0\r\n\r\n";
	struct kreq r;
	struct berr *e = NULL;
	CHECK(kreq_parse(head, sizeof(head) - 1, &r, &e) == 0, "an upgrade request parses");
	CHECK_STR(r.method, "POST", "its method");
	CHECK_STR(r.path, "/exec/default/web-1/cA", "its path, decoded");
	CHECK(r.minor == 1 && r.keep_alive && r.content_length == 0 && !r.chunked, "HTTP/1.1, kept alive, no body");
	CHECK_STR(kreq_header(&r, "connection"), "Upgrade", "headers by any case, value trimmed");
	json_t *l = kreq_header_list(&r, "X-Stream-Protocol-Version");
	CHECK(json_array_size(l) == 3 && !strcmp(json_string_value(json_array_get(l, 2)), "v2.channel.k8s.io"),
	      "the protocol list: every header, commas split");
	json_decref(l);
	json_t *cmd = kapi_query_values(r.query, "command");
	CHECK(json_array_size(cmd) == 3 && !strcmp(json_string_value(json_array_get(cmd, 2)), "echo a b"),
	      "repeated query values in order, '+' and %%20 as spaces");
	json_decref(cmd);
	json_t *segs = kapi_path_segments(r.path);
	CHECK(json_array_size(segs) == 3 && !strcmp(json_string_value(json_array_get(segs, 0)), "default"),
	      "path segments after the endpoint");
	json_decref(segs);
	struct sbuf g = SBUF_INIT;
	kapi_go_header_repr(&r, &g);
	CHECK_STR(sbuf_str(&g),
		  "http.Header{\"Connection\":[]string{\"Upgrade\"}, \"Content-Length\":[]string{\"0\"}, "
		  "\"Upgrade\":[]string{\"SPDY/3.1\"}, \"X-Stream-Protocol-Version\":[]string{\"v4.channel.k8s.io\", "
		  "\"v3.channel.k8s.io, v2.channel.k8s.io\"}}",
		  "Go's %%#v of the headers (sorted, no Host)");
	sbuf_release(&g);
	kreq_release(&r);

	const char h10[] = "GET /pods HTTP/1.0\nConnection: keep-alive\n\n";
	CHECK(kreq_parse(h10, sizeof(h10) - 1, &r, &e) == 0 && r.minor == 0 && r.keep_alive,
	      "HTTP/1.0 with bare newlines and keep-alive");
	kreq_release(&r);
	const char hc[] = "GET /pods HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
	CHECK(kreq_parse(hc, sizeof(hc) - 1, &r, &e) == 0 && !r.keep_alive && r.chunked, "Connection: close, chunked");
	kreq_release(&r);
	const char ha[] = "GET https://node:10250/healthz?x=1 HTTP/1.1\r\n\r\n";
	CHECK(kreq_parse(ha, sizeof(ha) - 1, &r, &e) == 0 && !strcmp(r.path, "/healthz") && !strcmp(r.query, "x=1"),
	      "an absolute-form target keeps its path and query");
	kreq_release(&r);
	static const char *const bad[] = {
		"GET /pods\r\n\r\n",                                /* no version */
		"GET /pods HTTP/2.0\r\n\r\n",                       /* not HTTP/1 */
		"G(T /pods HTTP/1.1\r\n\r\n",                       /* a bad method */
		"GET pods HTTP/1.1\r\n\r\n",                        /* not a path */
		"GET /a%zz HTTP/1.1\r\n\r\n",                       /* a bad escape */
		"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",          /* a space in a name */
		"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",        /* obs-fold */
		"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",     /* a bad length */
		"GET / HTTP/1.1\r\nnocolon\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		berr_freep(&e);
		int rc = kreq_parse(bad[i], strlen(bad[i]), &r, &e);
		CHECK(rc < 0 && e && e->code == BERR_INVALID, "refused: %.*s", (int)strcspn(bad[i], "\r\n"), bad[i]);
		if (rc == 0)
			kreq_release(&r);
	}
	berr_freep(&e);

	/* Go's ParseQuery drops pairs with ';' or a bad escape */
	json_t *v = kapi_query_values("a=1;b=2&a=%zz&a=3&a&b=x", "a");
	CHECK(json_array_size(v) == 2 && !strcmp(json_string_value(json_array_get(v, 0)), "3") &&
		      !strcmp(json_string_value(json_array_get(v, 1)), ""),
	      "query pairs with ';' or a bad escape are dropped; a bare key is empty");
	json_decref(v);
	char *u = NULL;
	CHECK(kapi_unescape("a%2", 3, false, &u) < 0, "a cut escape is refused");
	free(u);
}

static void attrs(const char *method, const char *path, const char *verb, const char *s0, const char *s1)
{
	const char *subs[2] = {0};
	int n = kapi_subresources(path, subs);
	bool ok = !strcmp(kapi_verb(method), verb) && !strcmp(subs[0], s0) && (s1 ? n == 2 && !strcmp(subs[1], s1) : n == 1);
	CHECK(ok, "%s %s -> %s nodes/%s%s%s", method, path, verb, s0, s1 ? "," : "", s1 ? s1 : "");
}

static void test_authz(void)
{
	attrs("GET", "/pods", "get", "pods", "proxy");
	attrs("GET", "/pods/", "get", "pods", "proxy");
	attrs("GET", "/podsx", "get", "proxy", NULL);
	attrs("GET", "/healthz", "get", "healthz", "proxy");
	attrs("GET", "/healthz/ping", "get", "healthz", "proxy");
	attrs("GET", "/runningpods/", "get", "pods", "proxy");
	attrs("GET", "/configz", "get", "configz", "proxy");
	attrs("GET", "/stats/summary", "get", "stats", NULL);
	attrs("GET", "/metrics/cadvisor", "get", "metrics", NULL);
	attrs("GET", "/logs/messages", "get", "log", NULL);
	attrs("POST", "/checkpoint/ns/p/c", "create", "checkpoint", NULL);
	attrs("GET", "/containerLogs/ns/p/c", "get", "proxy", NULL);
	attrs("POST", "/exec/ns/p/c", "create", "proxy", NULL);
	attrs("GET", "/portForward/ns/p", "get", "proxy", NULL);
	attrs("PUT", "/x", "update", "proxy", NULL);
	attrs("PATCH", "/x", "patch", "proxy", NULL);
	attrs("DELETE", "/x", "delete", "proxy", NULL);
	attrs("OPTIONS", "/x", "", "proxy", NULL);
}

static void logopts(const char *q, int want_status, const char *what)
{
	struct klog_opts o;
	int st = 0;
	char msg[256] = "";
	int r = klog_opts_parse(q, &o, &st, msg, sizeof(msg));
	if (!want_status)
		CHECK(r == 0, "log options %s: accepted (%s)", q, what);
	else
		CHECK(r < 0 && st == want_status &&
			      !strcmp(msg, st == 400 ? "{\"message\": \"Unable to decode query.\"}" : "{\"message\": \"Invalid request.\"}"),
		      "log options %s: %d (%s)", q, want_status, what);
}

static void test_log_options(void)
{
	struct klog_opts o;
	int st;
	char msg[256];
	CHECK(klog_opts_parse("follow=true&previous=1&timestamps=&tailLines=10&limitBytes=500&sinceTime=2026-01-02T03:04:05Z",
			      &o, &st, msg, sizeof(msg)) == 0 &&
		      o.follow && o.previous && o.timestamps && o.has_tail && o.tail == 10 && o.has_limit && o.limit == 500 &&
		      o.has_since_time && o.since_time.tv_sec == 1767323045 && !o.has_since_seconds,
	      "every option decodes (an empty bool is true, as Go's conversion)");
	CHECK(klog_opts_parse("follow=0&previous=FALSE&timestamps=false", &o, &st, msg, sizeof(msg)) == 0 && !o.follow &&
		      !o.previous && !o.timestamps,
	      "0 and false (any case) are false");
	CHECK(klog_opts_parse("tail=all&tailLines=5", &o, &st, msg, sizeof(msg)) == 0 && !o.has_tail,
	      "legacy tail=all means no tail, over tailLines");
	CHECK(klog_opts_parse("tail=7&tailLines=5", &o, &st, msg, sizeof(msg)) == 0 && o.has_tail && o.tail == 7,
	      "legacy tail wins over tailLines");
	CHECK(klog_opts_parse("stream=Stderr&sinceSeconds=60", &o, &st, msg, sizeof(msg)) == 0 && o.stream == 2 &&
		      o.has_since_seconds && o.since_seconds == 60,
	      "stream=Stderr, sinceSeconds");
	logopts("tailLines=x", 400, "not a number");
	logopts("limitBytes=1.5", 400, "not an integer");
	logopts("sinceSeconds=", 400, "empty integer");
	logopts("sinceTime=yesterday", 400, "not RFC 3339");
	logopts("tailLines=-1", 422, "negative tail");
	logopts("limitBytes=0", 422, "limitBytes < 1");
	logopts("sinceSeconds=0", 422, "sinceSeconds < 1");
	logopts("sinceSeconds=5&sinceTime=2026-01-02T03:04:05Z", 422, "both since options");
	logopts("stream=Both", 422, "an unknown stream");
	logopts("stream=Stdout&tailLines=3", 422, "a stream with tailLines");
	logopts("stream=All&tailLines=3", 0, "All with tailLines");
	logopts("sinceTime=&container=x&insecureSkipTLSVerifyBackend=true", 0, "an empty sinceTime, other fields");
}

static void test_status(void)
{
	char *s = kapi_status_json(0, "[true]", NULL);
	CHECK_STR(s, "{\"metadata\":{},\"status\":\"Success\"}", "Success");
	free(s);
	s = kapi_status_json(3, "[sh -c exit 3]", NULL);
	CHECK_STR(s,
		  "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: error "
		  "executing command [sh -c exit 3], exit code 3\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":"
		  "[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}",
		  "NonZeroExitCode with its ExitCode cause");
	free(s);
	s = kapi_status_json(0, "[x]", "error executing command in container: nope");
	CHECK_STR(s,
		  "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error occurred: error executing command in "
		  "container: nope\",\"reason\":\"InternalError\",\"details\":{\"causes\":[{\"message\":\"error executing "
		  "command in container: nope\"}]},\"code\":500}",
		  "InternalError");
	free(s);
}

static void test_resize(void)
{
	struct sbuf b = SBUF_INIT;
	unsigned w = 0, h = 0;
	sbuf_adds(&b, "{\"Width\":80,\"Height\":24}\n{\"Width\":1");
	CHECK(kapi_resize_take(&b, &w, &h) == 1 && w == 80 && h == 24 && !strcmp(sbuf_str(&b), "{\"Width\":1"),
	      "a whole size taken, the partial one kept");
	sbuf_adds(&b, "20,\"Height\":40}\n{\"Height\":50,\"Width\":200}");
	CHECK(kapi_resize_take(&b, &w, &h) == 2 && w == 200 && h == 50 && b.len == 0, "two more: the last one wins");
	sbuf_adds(&b, "{\"Width\":99999,\"Height\":1}");
	CHECK(kapi_resize_take(&b, &w, &h) == 0 && w == 200, "a width past 16 bits is ignored");
	sbuf_adds(&b, "garbage{");
	CHECK(kapi_resize_take(&b, &w, &h) < 0 && b.len == 0, "garbage is dropped");
	sbuf_release(&b);
}

static void test_misc(void)
{
	char t[64];
	struct timespec ts = {1767323045, 5};
	kapi_time_fixed(&ts, t, sizeof(t));
	CHECK_STR(t, "2026-01-02T03:04:05.000000005Z", "timestamps with nine digits, as the kubelet's RFC3339NanoFixed");
	CHECK_STR(kapi_reason(422), "Unprocessable Entity", "reason phrases");
	CHECK_STR(kapi_reason(101), "Switching Protocols", "... 101");
}

int main(void)
{
	test_request();
	test_authz();
	test_log_options();
	test_status();
	test_resize();
	test_misc();
	UNIT_END();
}
