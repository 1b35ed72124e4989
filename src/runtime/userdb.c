#include "runtime/userdb.h"
#include "util/cleanup.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static FILE *open_in_root(int rootfd, const char *path)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

static bool parse_id(const char *s, unsigned long *ret)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	errno = 0;
	unsigned long v = strtoul(s, NULL, 10);
	if (errno || v > 0xfffffffeUL)
		return false;
	*ret = v;
	return true;
}

/* Split a passwd/group line into fields (in place). */
static int fields(char *line, char **f, int max)
{
	int n = 0;
	line[strcspn(line, "\n")] = 0;
	f[n++] = line;
	for (char *p = line; *p && n < max; p++) {
		if (*p == ':') {
			*p = 0;
			f[n++] = p + 1;
		}
	}
	return n;
}

static int lookup_group(int rootfd, const char *name, gid_t *ret)
{
	unsigned long v;
	if (parse_id(name, &v)) {
		*ret = (gid_t)v;
		return 0;
	}
	_cleanup_fclose_ FILE *f = open_in_root(rootfd, "/etc/group");
	char line[4096];
	while (f && fgets(line, sizeof(line), f)) {
		char *fl[4];
		if (fields(line, fl, 4) >= 3 && !strcmp(fl[0], name) && parse_id(fl[2], &v)) {
			*ret = (gid_t)v;
			return 0;
		}
	}
	return -1;
}

int userdb_resolve(int rootfd, const char *spec, const char *const *extra_groups,
		   struct userdb_user *ret, struct berr **err)
{
	struct userdb_user u = {.uid = 0, .gid = 0};
	snprintf(u.home, sizeof(u.home), "/");
	char user[256], group[256] = "";
	snprintf(user, sizeof(user), "%s", spec && *spec ? spec : "0");
	char *colon = strchr(user, ':');
	if (colon) {
		*colon = 0;
		snprintf(group, sizeof(group), "%s", colon + 1);
	}
	unsigned long v;
	bool numeric = parse_id(user, &v);
	bool found = false;
	char name[256] = "";
	_cleanup_fclose_ FILE *pw = open_in_root(rootfd, "/etc/passwd");
	char line[4096];
	while (pw && fgets(line, sizeof(line), pw)) {
		char *f[7];
		if (fields(line, f, 7) < 7)
			continue;
		unsigned long uid, gid;
		if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
			continue;
		if ((numeric && uid == v) || (!numeric && !strcmp(f[0], user))) {
			u.uid = (uid_t)uid;
			u.gid = (gid_t)gid;
			snprintf(u.home, sizeof(u.home), "%s", *f[5] ? f[5] : "/");
			snprintf(name, sizeof(name), "%s", f[0]);
			found = true;
			break;
		}
	}
	if (!found) {
		if (!numeric)
			return berr_setc(err, BERR_INVALID, "unable to find user %s: no matching entries in passwd file", user);
		u.uid = (uid_t)v;
	}
	if (*group) {
		if (lookup_group(rootfd, group, &u.gid) < 0)
			return berr_setc(err, BERR_INVALID, "unable to find group %s: no matching entries in group file", group);
	}
	/* Supplementary groups: the primary group (Docker always sets it),
	 * then, unless the group was given, every group that lists the user
	 * by name (runc's rule). */
	u.groups[u.ngroups++] = u.gid;
	if (*name && !*group) {
		_cleanup_fclose_ FILE *gr = open_in_root(rootfd, "/etc/group");
		while (gr && fgets(line, sizeof(line), gr)) {
			char *f[4];
			unsigned long gid;
			if (fields(line, f, 4) < 4 || !parse_id(f[2], &gid))
				continue;
			char *save = NULL;
			for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
				if (!strcmp(m, name) && u.ngroups < USERDB_MAX_GROUPS && (gid_t)gid != u.gid)
					u.groups[u.ngroups++] = (gid_t)gid;
			}
		}
	}
	for (size_t i = 0; extra_groups && extra_groups[i]; i++) {
		gid_t g;
		if (lookup_group(rootfd, extra_groups[i], &g) < 0)
			return berr_setc(err, BERR_INVALID, "unable to find group %s: no matching entries in group file",
					 extra_groups[i]);
		if (u.ngroups < USERDB_MAX_GROUPS)
			u.groups[u.ngroups++] = g;
	}
	*ret = u;
	return 0;
}
