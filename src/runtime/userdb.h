/* Resolve `-u` / image USER against the container's own /etc/passwd and
 * /etc/group, as Docker does: "name", "uid", "name:group", "uid:gid". */
#ifndef BERTH_RUNTIME_USERDB_H
#define BERTH_RUNTIME_USERDB_H

#include <sys/types.h>

#include "util/err.h"

#define USERDB_MAX_GROUPS 64

struct userdb_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[USERDB_MAX_GROUPS]; /* supplementary groups */
	int ngroups;
	char home[256];
};

/* rootfd is the container's root directory. Files are read with
 * openat2(RESOLVE_IN_ROOT) so image symlinks cannot point outside. A
 * numeric uid missing from passwd is fine (gid 0, home "/"); a name that is
 * not there is an error, as in Docker. extra_groups (may be NULL) are names
 * or numbers from --group-add. */
int userdb_resolve(int rootfd, const char *spec, const char *const *extra_groups,
		   struct userdb_user *ret, struct berr **err);

#endif
