#include "image/tarw.h"
#include "unit.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	FILE *f = tmpfile();
	struct tarw w;
	struct berr *e = NULL;
	tarw_init(&w, fileno(f));
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	memcpy(longname, "deep/", 5);
	struct tarw_xattr xa = {"user.foo", "bar", 3};
	struct tarw_entry ents[] = {
		{.name = "dir", .type = '5', .mode = 0755},
		{.name = "dir/file", .type = '0', .mode = 04755, .uid = 1000, .gid = 1000, .size = 5,
		 .mtime = {1700000000, 5}, .xattrs = &xa, .nxattrs = 1},
		{.name = longname, .type = '0', .mode = 0644, .size = 0},
		{.name = "link", .type = '2', .linkname = longname, .mode = 0777},
		{.name = "big-ids", .type = '0', .mode = 0600, .uid = 5000000, .gid = 3000000, .size = 1000},
	};
	int rc = 0;
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]) && rc == 0; i++) {
		rc = tarw_header(&w, &ents[i], &e);
		if (rc == 0 && ents[i].size == 5)
			rc = tarw_data(&w, "hello", 5, &e);
		if (rc == 0 && ents[i].size == 1000) {
			char buf[1000];
			memset(buf, 'x', sizeof(buf));
			rc = tarw_data(&w, buf, 600, &e);
			if (rc == 0)
				rc = tarw_data(&w, buf, 400, &e);
		}
	}
	CHECK(rc == 0, "write entries");
	struct tarw_entry shortent = {.name = "short", .type = '0', .size = 10};
	tarw_header(&w, &shortent, &e);
	tarw_data(&w, "abc", 3, &e);
	CHECK(tarw_finish(&w, &e) < 0 && strstr(e->msg, "short by 7"), "finish refuses a short entry");
	berr_free(e);
	e = NULL;
	/* complete it so the archive can be read back */
	tarw_data(&w, "defghij", 7, &e);
	CHECK(tarw_finish(&w, &e) == 0, "finish");
	tarw_release(&w);
	fflush(f);
	CHECK(ftell(f) % 512 == 0, "archive is whole blocks");
	rewind(f);

	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_open_FILE(a, f);
	struct archive_entry *ae;
	int n = 0;
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		if (n == 1) {
			char data[16] = {0};
			archive_read_data(a, data, sizeof(data));
			CHECK_STR(data, "hello", "file content");
			CHECK(archive_entry_perm(ae) == 04755, "setuid mode");
			CHECK(archive_entry_uid(ae) == 1000, "uid");
			CHECK(archive_entry_mtime_nsec(ae) == 5, "mtime nanoseconds via pax");
			const char *xn;
			const void *xv;
			size_t xs;
			CHECK(archive_entry_xattr_reset(ae) == 1 && archive_entry_xattr_next(ae, &xn, &xv, &xs) == 0 &&
				      !strcmp(xn, "user.foo") && xs == 3 && !memcmp(xv, "bar", 3),
			      "xattr via pax");
		}
		if (n == 2)
			CHECK_STR(name, longname, "long name via pax");
		if (n == 3)
			CHECK_STR(archive_entry_symlink(ae), longname, "long link target via pax");
		if (n == 4)
			CHECK(archive_entry_uid(ae) == 5000000 && archive_entry_gid(ae) == 3000000 &&
				      archive_entry_size(ae) == 1000,
			      "ids beyond ustar via pax");
		n++;
	}
	CHECK(n == 6, "all entries read back (%d)", n);
	archive_read_free(a);
	fclose(f);
	UNIT_END();
}
