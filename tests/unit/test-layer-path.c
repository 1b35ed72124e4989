#include "image/layer.h"
#include "unit.h"

static void ok(const char *in, const char *want)
{
	char out[4096];
	struct berr *e = NULL;
	int rc = layer_path_normalize(in, out, sizeof(out), &e);
	CHECK(rc == 0, "normalize \"%s\"", in);
	if (rc == 0)
		CHECK_STR(out, want, "normalize \"%s\" result", in);
	berr_free(e);
}

static void bad(const char *in, const char *part)
{
	char out[4096];
	struct berr *e = NULL;
	int rc = layer_path_normalize(in, out, sizeof(out), &e);
	CHECK(rc < 0 && strstr(e->msg, part), "reject \"%s\": %s", in, e ? e->msg : "accepted");
	berr_free(e);
}

int main(void)
{
	ok("./etc/passwd", "etc/passwd");
	ok("etc//x/./y/", "etc/x/y");
	ok("./", "");
	ok(".", "");
	ok("a/..b/c..", "a/..b/c..");
	ok("...", "...");
	bad("/etc/passwd", "absolute");
	bad("../x", "\"..\"");
	bad("a/../../x", "\"..\"");
	bad("a/..", "\"..\"");
	UNIT_END();
}
