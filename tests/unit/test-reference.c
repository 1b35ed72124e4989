#include "image/reference.h"
#include "unit.h"

#include <stdlib.h>

static void norm(const char *in, const char *want)
{
	struct image_ref r;
	struct berr *e = NULL;
	if (image_ref_parse(in, true, &r, &e) < 0) {
		CHECK(0, "parse %s: %s", in, e->msg);
		berr_free(e);
		return;
	}
	char *s = image_ref_string(&r);
	CHECK_STR(s, want, "normalize %s", in);
	free(s);
	image_ref_release(&r);
}

static void bad(const char *in, const char *msgpart)
{
	struct image_ref r;
	struct berr *e = NULL;
	int rc = image_ref_parse(in, true, &r, &e);
	CHECK(rc < 0 && e && strstr(e->msg, msgpart), "reject \"%s\" (%s)", in, e ? e->msg : "accepted");
	if (rc == 0)
		image_ref_release(&r);
	berr_free(e);
}

static void fam(const char *in, const char *want)
{
	char *s = image_ref_familiarize(in);
	CHECK_STR(s, want, "familiar %s", in);
	free(s);
}

int main(void)
{
	norm("busybox", "docker.io/library/busybox:latest");
	norm("busybox:1.36", "docker.io/library/busybox:1.36");
	norm("library/busybox", "docker.io/library/busybox:latest");
	norm("docker.io/busybox", "docker.io/library/busybox:latest");
	norm("index.docker.io/library/busybox", "docker.io/library/busybox:latest");
	norm("user/app:v1", "docker.io/user/app:v1");
	norm("localhost:5000/a/b:tag", "localhost:5000/a/b:tag");
	norm("localhost/a", "localhost/a:latest");
	norm("localhost:5000", "docker.io/library/localhost:5000");
	norm("quay.io/org/x", "quay.io/org/x:latest");
	norm("Registry.Example.com/x", "Registry.Example.com/x:latest");
	norm("[::1]:5000/x:t", "[::1]:5000/x:t");
	norm("a__b/c-d--e.f_g:T_9.x-",
	     "docker.io/a__b/c-d--e.f_g:T_9.x-");
	norm("busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	     "docker.io/library/busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	norm("busybox:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	     "docker.io/library/busybox:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");

	bad("", "empty");
	bad("Busybox", "must be lowercase");
	bad("user/App", "must be lowercase");
	bad("busybox:", "bad tag");
	bad("busybox:-x", "bad tag");
	bad("busybox@sha256:abc", "bad digest");
	bad("a//b", "invalid reference format");
	bad("a/b/", "invalid reference format");
	bad("-a", "invalid reference format");
	bad("a_", "invalid reference format");
	bad("a___b", "invalid reference format");
	bad("foo!", "invalid reference format");
	bad("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "64-byte hexadecimal");
	bad("-x.com/a", "bad registry host");
	{
		char longname[300];
		memset(longname, 'a', 299);
		longname[299] = 0;
		bad(longname, "255");
	}
	bad("busybox:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bad tag");

	fam("docker.io/library/busybox:latest", "busybox:latest");
	fam("docker.io/user/app:v1", "user/app:v1");
	fam("docker.io/library/a/b:1", "library/a/b:1");
	fam("localhost:5000/x:1", "localhost:5000/x:1");
	UNIT_END();
}
