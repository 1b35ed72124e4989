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
	UNIT_END();
}
