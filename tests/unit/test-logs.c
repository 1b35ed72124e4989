/* The json-file log's pure parts: the attrs --log-opt asks for, and the
 * --details prefix Docker prints. */
#include "runtime/logs.h"
#include "unit.h"

#include <stdlib.h>

static void prefix(const char *attrs_json, const char *want)
{
	json_t *a = attrs_json ? json_loads(attrs_json, 0, NULL) : NULL;
	struct sbuf b = SBUF_INIT;
	logs_details_prefix(a, &b);
	CHECK_STR(sbuf_str(&b), want, "details prefix of %s", attrs_json ? attrs_json : "(none)");
	sbuf_release(&b);
	json_decref(a);
}

static void attrs(const char *cfg_json, const char *want)
{
	json_t *cfg = json_loads(cfg_json, 0, NULL);
	json_t *a = logs_attrs(cfg);
	char *got = a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	CHECK_STR(got, want, "attrs of %s", cfg_json);
	free(got);
	json_decref(a);
	json_decref(cfg);
}

/* logs_config_check on a LogConfig.Config; want: NULL (accepted) or how
 * the error starts */
static void check(const char *lc_json, const char *want)
{
	json_t *lc = json_loads(lc_json, 0, NULL);
	struct berr *e = NULL;
	int r = logs_config_check(lc, &e);
	if (!want)
		CHECK(r == 0 && !e, "logs_config_check accepts %s%s%s", lc_json, e ? ": " : "", e ? e->msg : "");
	else
		CHECK(r < 0 && e && !strncmp(e->msg, want, strlen(want)), "logs_config_check refuses %s (%s)", lc_json,
		      e ? e->msg : "no error");
	berr_free(e);
	json_decref(lc);
}

int main(void)
{
	prefix(NULL, " ");
	prefix("{}", " ");
	prefix("{\"b\":\"2\",\"a\":\"1\"}", "a=1,b=2 ");
	prefix("{\"k\":\"a b/c=d,é\"}", "k=a+b%2Fc%3Dd%2C%C3%A9 ");
	attrs("{\"Config\":{}}", NULL);
	attrs("{\"HostConfig\":{\"LogConfig\":{\"Config\":{\"labels\":\"a,missing\"}}},\"Config\":{\"Labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
	      "{\"a\":\"1\"}");
	attrs("{\"HostConfig\":{\"LogConfig\":{\"Config\":{\"env\":\"X\",\"env-regex\":\"^Y\"}}},\"Config\":{\"Env\":[\"X=1\",\"XX=2\",\"Y1=3\",\"Z=4\"]}}",
	      "{\"X\":\"1\",\"Y1\":\"3\"}");
	attrs("{\"Id\":\"0123456789abcdef\",\"Name\":\"web\",\"HostConfig\":{\"LogConfig\":{\"Config\":{\"tag\":\"{{.Name}}-{{.ID}}-{{.Other}}\"}}},\"Config\":{}}",
	      "{\"tag\":\"web-0123456789ab-{{.Other}}\"}");
	/* Go's spacing inside the braces; ImageName and DaemonName */
	attrs("{\"Name\":\"/web\",\"HostConfig\":{\"LogConfig\":{\"Config\":{\"tag\":\"{{ .Name }}@{{.ImageName}}/{{.DaemonName}}\"}}},\"Config\":{\"Image\":\"busybox\"}}",
	      "{\"tag\":\"web@busybox/berth\"}");
	check("{}", NULL);
	check("{\"tag\":\"{{.Name}}/{{ .ID }} {{.ImageFullID}}\",\"labels-regex\":\"^x\\\\.\",\"env-regex\":\"^APP_\"}", NULL);
	check("{\"tag\":\"plain text\"}", NULL);
	check("{\"tag\":\"{{.Other}}\"}", "--log-opt tag={{.Other}}: berth fills in");
	check("{\"tag\":\"{{.Name}}{{upper .Name}}\"}", "--log-opt tag={{.Name}}{{upper .Name}}: berth fills in");
	check("{\"tag\":\"{{.Name\"}", "--log-opt tag={{.Name: berth fills in");
	check("{\"labels-regex\":\"(\"}", "--log-opt labels-regex=(: not a valid regular expression");
	check("{\"env-regex\":\"[a\"}", "--log-opt env-regex=[a: not a valid regular expression");
	UNIT_END();
}
