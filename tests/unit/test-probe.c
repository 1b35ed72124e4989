/* runtime/probe.c's pure parts: the kubelet's threshold machine, its
 * restart back-off, HTTP response heads, and the checks of probes and
 * lifecycle handlers. */
#include "runtime/probe.h"
#include "unit.h"

#include <jansson.h>
#include <stdlib.h>

static enum probe_result feed_all(struct probe_thresh *t, const char *seq, int *ret_changes)
{
	*ret_changes = 0;
	for (const char *c = seq; *c; c++)
		*ret_changes += probe_thresh_feed(t, *c == 's' ? PROBE_SUCCESS : PROBE_FAILURE);
	return t->result;
}

static void test_thresholds(void)
{
	struct probe_thresh t;
	int ch;
	/* liveness: starts as success, fails after failureThreshold in a row */
	probe_thresh_init(&t, 1, 3, PROBE_SUCCESS);
	CHECK(feed_all(&t, "ff", &ch) == PROBE_SUCCESS && ch == 0, "2 failures of 3: still success");
	CHECK(probe_thresh_failures(&t) == 2, "2 consecutive failures counted");
	CHECK(feed_all(&t, "s", &ch) == PROBE_SUCCESS && probe_thresh_failures(&t) == 0, "a success resets the count");
	CHECK(feed_all(&t, "fff", &ch) == PROBE_FAILURE && ch == 1, "3 in a row: failure, one change");
	CHECK(feed_all(&t, "ff", &ch) == PROBE_FAILURE && ch == 0, "more failures change nothing");
	CHECK(probe_thresh_failures(&t) == 5, "failures keep counting");
	CHECK(feed_all(&t, "s", &ch) == PROBE_SUCCESS && ch == 1, "one success (threshold 1) recovers");

	/* readiness: starts as failure, successThreshold 2 */
	probe_thresh_init(&t, 2, 2, PROBE_FAILURE);
	CHECK(feed_all(&t, "s", &ch) == PROBE_FAILURE, "1 success of 2: not ready");
	CHECK(feed_all(&t, "fs", &ch) == PROBE_FAILURE, "an interrupted run starts over");
	CHECK(feed_all(&t, "s", &ch) == PROBE_SUCCESS && ch == 1, "2 in a row: ready");
	CHECK(feed_all(&t, "fsf", &ch) == PROBE_SUCCESS && ch == 0, "single failures between successes: still ready");
	CHECK(feed_all(&t, "f", &ch) == PROBE_FAILURE && ch == 1, "2 failures in a row: not ready");

	/* startup: unknown until a result is reported */
	probe_thresh_init(&t, 1, 3, PROBE_UNKNOWN);
	CHECK(feed_all(&t, "ff", &ch) == PROBE_UNKNOWN, "startup: unknown under the threshold");
	CHECK(feed_all(&t, "s", &ch) == PROBE_SUCCESS && ch == 1, "startup: success at once");
	probe_thresh_init(&t, 1, 1, PROBE_UNKNOWN);
	CHECK(feed_all(&t, "f", &ch) == PROBE_FAILURE && ch == 1, "failureThreshold 1: the first failure counts");

	/* zero or negative thresholds act as 1 */
	probe_thresh_init(&t, 0, -4, PROBE_SUCCESS);
	CHECK(feed_all(&t, "f", &ch) == PROBE_FAILURE, "thresholds below 1 are 1");
}

static void test_backoff(void)
{
	static const struct { int n; long ms; } cases[] = {
		{0, 0}, {1, 0}, {2, 10000}, {3, 20000}, {4, 40000}, {5, 80000},
		{6, 160000}, {7, 300000}, {8, 300000}, {50, 300000}, {1 << 30, 300000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(probe_kube_backoff_ms(cases[i].n) == cases[i].ms, "back-off of restart %d: %ld ms (got %ld)",
		      cases[i].n, cases[i].ms, probe_kube_backoff_ms(cases[i].n));
	CHECK(PROBE_BACKOFF_RESET_S == 600, "the back-off starts over after 10 minutes");
}

static void test_http(void)
{
	static const struct { const char *line; int code; } st[] = {
		{"HTTP/1.1 200 OK\r\n", 200},
		{"HTTP/1.0 404 Not Found\r\n", 404},
		{"HTTP/1.1 302\r\n", 302},
		{"HTTP/1.1 503 \r\n", 503},
		{"HTTP/1.1 200", 200},
		{"HTTP/2.0 204 No Content\n", 204},
		{"HTTP/1.1 099 Low\r\n", -1},
		{"HTTP/1.1 20 OK\r\n", -1},
		{"HTTP/1.1 2000 OK\r\n", -1},
		{"HTTP/1.1  200 OK\r\n", -1},
		{"HTTP/11 200 OK\r\n", -1},
		{"http/1.1 200 OK\r\n", -1},
		{"SSH-2.0-OpenSSH_9.2\r\n", -1},
		{"", -1},
	};
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		CHECK(probe_http_status(st[i].line, strlen(st[i].line)) == st[i].code, "status of \"%.12s\": %d",
		      st[i].line, st[i].code);

	const char *h = "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nlocation:  /next?a=1 \r\nX: y\r\n\r\nbody";
	CHECK(probe_http_head_len(h, strlen(h)) == strlen(h) - 4, "the head ends at the blank line");
	CHECK(probe_http_head_len(h, 30) == 0, "a head cut short is not complete");
	const char *lf = "HTTP/1.0 200 OK\nA: b\n\n";
	CHECK(probe_http_head_len(lf, strlen(lf)) == strlen(lf), "bare LF line ends");
	char v[64];
	CHECK(probe_http_header(h, strlen(h) - 4, "Location", v, sizeof(v)) && !strcmp(v, "/next?a=1"),
	      "a header, case-insensitive, trimmed: %s", v);
	CHECK(!probe_http_header(h, strlen(h) - 4, "Locatio", v, sizeof(v)), "a prefix of a name is not the name");
	CHECK(!probe_http_header(h, strlen(h) - 4, "HTTP/1.1 302 Found", v, sizeof(v)), "the status line is no header");
	char small[4];
	CHECK(probe_http_header(h, strlen(h) - 4, "location", small, sizeof(small)) && !strcmp(small, "/ne"),
	      "a long value is cut to the buffer");
}

static void check_probe(const char *json, bool hook, const char *want)
{
	json_error_t je;
	json_t *p = json_loads(json, 0, &je);
	if (!p) {
		CHECK(0, "bad test JSON %s: %s", json, je.text);
		return;
	}
	struct berr *e = NULL;
	int r = probe_check(p, "livenessProbe", hook, &e);
	if (!want)
		CHECK(r == 0, "valid: %s%s%s", json, e ? " -> " : "", e ? e->msg : "");
	else
		CHECK(r < 0 && e && e->code == BERR_INVALID && strstr(e->msg, want), "invalid: %s -> %s (want %s)", json,
		      e ? e->msg : "(none)", want);
	berr_free(e);
	json_decref(p);
}

static void test_check(void)
{
	check_probe("{\"exec\": {\"command\": [\"cat\", \"/tmp/x\"]}}", false, NULL);
	check_probe("{\"httpGet\": {\"port\": 8080, \"path\": \"/healthz\", \"scheme\": \"HTTPS\", "
		    "\"httpHeaders\": [{\"name\": \"X-A\", \"value\": \"b\"}]}, \"periodSeconds\": 3, "
		    "\"timeoutSeconds\": 2, \"failureThreshold\": 5, \"terminationGracePeriodSeconds\": 7}",
		    false, NULL);
	check_probe("{\"tcpSocket\": {\"port\": \"5432\"}, \"initialDelaySeconds\": 0}", false, NULL);
	check_probe("{\"httpGet\": {\"port\": 65536}}", false, "livenessProbe.httpGet.port: 65536 is not a valid port");
	check_probe("{\"httpGet\": {\"port\": \"http\"}}", false, "\"http\" is not a number");
	check_probe("{\"httpGet\": {}}", false, "livenessProbe.httpGet.port: missing");
	check_probe("{\"httpGet\": {\"port\": 80, \"scheme\": \"ftp\"}}", false, "is not HTTP or HTTPS");
	check_probe("{\"httpGet\": {\"port\": 80, \"path\": \"/a\\r\\nX: y\"}}", false, "path: may not contain a line break");
	check_probe("{\"httpGet\": {\"port\": 80, \"httpHeaders\": [{\"name\": \"bad name\", \"value\": \"v\"}]}}", false,
		    "httpHeaders[0].name: not a valid header name");
	check_probe("{\"exec\": {\"command\": []}}", false, "exec.command: must be a non-empty list");
	check_probe("{\"exec\": {\"command\": [\"a\", 1]}}", false, "exec.command[1]: not a string");
	check_probe("{\"exec\": {\"command\": [\"a\"]}, \"tcpSocket\": {\"port\": 1}}", false,
		    "may not specify more than 1 handler type");
	check_probe("{\"periodSeconds\": 1}", false, "must specify a handler type");
	check_probe("{\"exec\": {\"command\": [\"a\"]}, \"timeoutSeconds\": 0}", false,
		    "livenessProbe.timeoutSeconds: must be an integer of at least 1");
	check_probe("{\"exec\": {\"command\": [\"a\"]}, \"failureThreshold\": \"3\"}", false,
		    "livenessProbe.failureThreshold: must be an integer");
	check_probe("{\"grpc\": {\"port\": 9000}}", false, "gRPC probes are not supported");
	check_probe("{\"sleep\": {\"seconds\": 1}}", false, "sleep is a lifecycle handler, not a probe");
	check_probe("[]", false, "livenessProbe: not an object");
	/* lifecycle handlers */
	check_probe("{\"sleep\": {\"seconds\": 5}}", true, NULL);
	check_probe("{\"exec\": {\"command\": [\"nginx\", \"-s\", \"quit\"]}}", true, NULL);
	check_probe("{\"httpGet\": {\"port\": 80, \"path\": \"/shutdown\"}}", true, NULL);
	/* as the API: accepted, fails when run */
	check_probe("{\"tcpSocket\": {\"port\": 80}}", true, NULL);
	check_probe("{\"sleep\": {\"seconds\": -1}}", true, "sleep.seconds: must be a non-negative integer");
	check_probe("{\"grpc\": {\"port\": 1}}", true, "grpc is a probe, not a lifecycle handler");
}

int main(void)
{
	test_thresholds();
	test_backoff();
	test_http();
	test_check();
	UNIT_END();
}
