/* The launch plan's pure parsers: --tmpfs option lists. */
#include "runtime/plan.h"
#include "unit.h"

#include <stdlib.h>
#include <sys/mount.h>

static void tmpfs(const char *opts, unsigned long want_flags, const char *want_data)
{
	unsigned long flags = 0;
	char *data = NULL;
	struct berr *e = NULL;
	int r = plan_tmpfs_options(opts, &flags, &data, &e);
	CHECK(r == 0, "tmpfs \"%s\" parses", opts ? opts : "(null)");
	CHECK(flags == want_flags, "tmpfs \"%s\" flags %#lx (want %#lx)", opts ? opts : "(null)", flags, want_flags);
	CHECK_STR(data, want_data, "tmpfs \"%s\" data", opts ? opts : "(null)");
	free(data);
	berr_free(e);
}

static void tmpfs_bad(const char *opts, const char *want)
{
	unsigned long flags = 0;
	char *data = NULL;
	struct berr *e = NULL;
	CHECK(plan_tmpfs_options(opts, &flags, &data, &e) < 0, "tmpfs \"%s\" is refused", opts);
	CHECK(e && strstr(e->msg, want), "tmpfs \"%s\" error names %s: %s", opts, want, e ? e->msg : "(none)");
	CHECK(data == NULL, "tmpfs \"%s\": nothing returned", opts);
	berr_free(e);
}

int main(void)
{
	const unsigned long def = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	tmpfs(NULL, def, "");
	tmpfs("", def, "");
	tmpfs("size=64m", def, "size=64m");
	tmpfs("rw,exec", MS_NOSUID | MS_NODEV, "");
	tmpfs("rw,noexec,nosuid,size=65536k", def, "size=65536k");
	tmpfs("ro,mode=1777,size=1g,uid=1000,gid=1000", def | MS_RDONLY, "mode=1777,size=1g,uid=1000,gid=1000");
	tmpfs("exec,suid,dev", 0, "");
	tmpfs("noatime,sync", def | MS_NOATIME | MS_SYNCHRONOUS, "");
	tmpfs("ro,rw", def, "");
	tmpfs("nr_inodes=100,huge=always", def, "nr_inodes=100,huge=always");
	tmpfs_bad("size=1m,bogus", "\"bogus\"");
	tmpfs_bad("sizes=1m", "\"sizes=1m\"");
	UNIT_END();
}
