/* A tar writer (POSIX pax/ustar) for archives and layers berth produces.
 * Names, link targets and numbers that do not fit ustar fields go into a
 * pax extended header, so any path, size, id or xattr round-trips. */
#ifndef BERTH_IMAGE_TARW_H
#define BERTH_IMAGE_TARW_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "util/err.h"

struct tarw {
	int fd;
	char *buf;
	size_t len, cap;
	uint64_t pending; /* data bytes the current entry still expects */
	uint64_t entry_size;
};

struct tarw_xattr {
	const char *name;
	const void *value;
	size_t size;
};

struct tarw_entry {
	const char *name;
	const char *linkname; /* symlink target or hard link target */
	char type;            /* '0' file, '1' hard link, '2' symlink, '3' chr, '4' blk, '5' dir, '6' fifo */
	mode_t mode;          /* permission bits (07777) */
	uint64_t uid, gid;
	uint64_t size;
	struct timespec mtime;
	unsigned devmajor, devminor;
	const struct tarw_xattr *xattrs;
	size_t nxattrs;
};

int tarw_init(struct tarw *w, int fd);
/* Start an entry; for type '0' exactly e->size bytes of data must follow. */
int tarw_header(struct tarw *w, const struct tarw_entry *e, struct berr **err);
int tarw_data(struct tarw *w, const void *data, size_t n, struct berr **err);
/* End-of-archive blocks and flush. */
int tarw_finish(struct tarw *w, struct berr **err);
void tarw_release(struct tarw *w);

#endif
