#include "util/jsonx.h"
#include "unit.h"

#include <stdlib.h>

static void same(const char *doc)
{
	struct berr *e = NULL;
	json_t *a = jsonx_parse(doc, strlen(doc), "doc", &e);
	json_t *b = json_loads(doc, JSON_DECODE_ANY, NULL);
	CHECK(a && b && json_equal(a, b), "parse like jansson: %s%s", doc, e ? e->msg : "");
	json_decref(a);
	json_decref(b);
	berr_free(e);
}

static void bad(const char *doc, size_t len, const char *part)
{
	struct berr *e = NULL;
	json_t *a = jsonx_parse(doc, len, "doc", &e);
	CHECK(!a && e && strstr(e->msg, part), "reject %.*s: %s", (int)strcspn(doc, "\n"), doc, e ? e->msg : "accepted");
	json_decref(a);
	berr_free(e);
}

int main(void)
{
	same("{}");
	same("[]");
	same(" {\"a\" : [1, -2, 3.5, 1e3, -0.25E-2, true, false, null, \"x\"]}\n");
	same("{\"k\":\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"}");
	same("{\"utf8\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}");
	same("{\"nested\":{\"a\":{\"b\":[[],[{}]]}}}");
	same("{\"big\":9223372036854775807,\"neg\":-9223372036854775807}");
	same("\"just a string\"");
	same("42");
	bad("", 0, "unexpected end");
	bad("{", 1, "expected a string key");
	bad("{\"a\":1,}", 8, "expected a string key");
	bad("[1,]", 4, "invalid number");
	bad("{\"a\":1 \"b\":2}", 13, "expected ',' or '}'");
	bad("{\"a\":1,\"a\":2}", 13, "duplicate object key");
	bad("[01]", 4, "expected ',' or ']'");
	bad("[1.]", 4, "invalid number");
	bad("[.5]", 4, "invalid number");
	bad("[tru]", 5, "invalid literal");
	bad("\"unterminated", 13, "unterminated string");
	bad("\"ctl\x01\"", 6, "control character");
	bad("\"bad \\x\"", 8, "invalid escape");
	bad("\"\\ud800\"", 8, "invalid surrogate");
	bad("\"\\udc00\"", 8, "lone low surrogate");
	bad("\"\\u0000\"", 8, "\\u0000");
	bad("\"\xc3\x28\"", 4, "invalid UTF-8");
	bad("\"\xed\xa0\x80\"", 5, "invalid UTF-8");
	bad("\"\xc0\xaf\"", 4, "invalid UTF-8");
	bad("{} x", 4, "trailing garbage");
	bad("[99999999999999999999]", 22, "out of range");
	bad("{\"a\":1}\n\n  {", 12, "line 3 column 3");
	{
		char deep[2001];
		memset(deep, '[', sizeof(deep) - 1);
		deep[sizeof(deep) - 1] = 0; /* bad() prints it as a string */
		bad(deep, sizeof(deep) - 1, "nesting too deep");
	}
	{
		const char doc[] = "{\"a\\u0000b\":1}";
		bad(doc, sizeof(doc) - 1, "\\u0000");
	}
	UNIT_END();
}
