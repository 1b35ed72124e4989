/* runtime/attach: Docker's detach-keys format, the escape scanner, the
 * frame header. */
#include "runtime/attach.h"
#include "unit.h"

#include <stdlib.h>

static void keys(const char *spec, const char *want)
{
	unsigned char k[ATT_MAX_KEYS];
	size_t n = 0;
	struct berr *e = NULL;
	int r = att_parse_keys(spec, k, &n, &e);
	if (!want) {
		char msg[128];
		snprintf(msg, sizeof(msg), "Invalid detach keys (%s) provided", spec);
		CHECK(r < 0 && e && !strcmp(e->msg, msg), "detach keys %s: refused (%s)", spec, e ? e->msg : "accepted");
		berr_free(e);
		return;
	}
	CHECK(r == 0 && n == strlen(want) && !memcmp(k, want, n), "detach keys %s", spec);
	berr_free(e);
}

/* Feed in pieces of `chunk` bytes; what goes through, and whether (and
 * after how much input) it detached. */
static void scan(const char *spec, const char *in, size_t chunk, const char *want, bool want_detach)
{
	struct att_escape e = {0};
	att_parse_keys(spec, e.keys, &e.n, NULL);
	char out[256] = "";
	size_t o = 0, len = strlen(in);
	bool det = false;
	for (size_t i = 0; i < len && !det; i += chunk) {
		size_t k = len - i < chunk ? len - i : chunk;
		o += att_escape_filter(&e, in + i, k, out + o, &det);
	}
	out[o] = 0;
	CHECK(!strcmp(out, want) && det == want_detach, "scan %s in %zu-byte reads, keys %s", in, chunk, spec);
	if (strcmp(out, want) || det != want_detach)
		printf("#   got %s (%s)\n", out, det ? "detached" : "not detached");
}

int main(void)
{
	keys("ctrl-p,ctrl-q", "\x10\x11");
	keys("ctrl-P,ctrl-Q", "\x10\x11");
	keys("a", "a");
	keys("ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,ctrl-a,ctrl-z", "\x1b\x1c\x1d\x1e\x1f\x01\x1a");
	unsigned char k[ATT_MAX_KEYS];
	size_t n;
	CHECK(att_parse_keys("ctrl-@,x", k, &n, NULL) == 0 && n == 2 && k[0] == 0 && k[1] == 'x', "ctrl-@ is NUL");
	keys("ctrl-xx", NULL);
	keys("ab", NULL);
	keys("", NULL);
	keys("ctrl-1", NULL);
	keys("a,,b", NULL);

	for (size_t c = 1; c <= 8; c++) {
		scan("ctrl-p,ctrl-q", "ls\r\x10\x11rest", c, "ls\r", true);
		scan("ctrl-p,ctrl-q", "a\x10" "b\x10\x10\x11", c, "a\x10" "b\x10", true);
		scan("ctrl-p,ctrl-q", "x\x10", c, "x", false); /* held back: maybe the sequence */
		scan("ctrl-p,ctrl-q", "\x11\x10y", c, "\x11\x10y", false);
		scan("a", "xyaz", c, "xy", true);
	}
	unsigned char h[ATT_HDR];
	att_hdr(h, ATT_STDERR, 0x01020304);
	CHECK(!memcmp(h, "\x02\x00\x00\x00\x01\x02\x03\x04", 8), "frame header: stream, 3 zeros, big-endian size");
	UNIT_END();
}
