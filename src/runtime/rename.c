#include "runtime/rename.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* The container a name link points to, "" if none. */
static void name_owner(struct ctr_store *s, const char *name, char out[80])
{
	ssize_t n = readlinkat(s->namesfd, name, out, 79);
	out[n > 0 ? n : 0] = 0;
}

int ctr_rename(struct ctr_store *s, const char *id, const char *newname, struct berr **err)
{
	const char *nn = newname[0] == '/' ? newname + 1 : newname;
	if (!*nn)
		return berr_setc(err, BERR_INVALID, "Neither old nor new names may be empty");
	if (!ctr_name_valid(nn))
		return berr_setc(err, BERR_INVALID,
				 "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", nn);
	_cleanup_close_ int lk = ctr_lock(s, id, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *cfg = ctr_config(s, id, err);
	if (!cfg)
		return -1;
	const char *old = jsonx_str(cfg, "Name");
	_cleanup_free_ char *oldname = strdup(old ? old : "");
	if (!strcmp(oldname, nn))
		return berr_setc(err, BERR_INVALID, "Renaming a container with the same name as its current name");
	if (symlinkat(id, s->namesfd, nn) < 0) {
		if (errno == EEXIST) {
			char other[80];
			name_owner(s, nn, other);
			return berr_setc(err, BERR_CONFLICT,
					 "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
					 nn, other);
		}
		return berr_set(err, errno, "reserving name %s", nn);
	}
	json_object_set_new(cfg, "Name", json_string(nn));
	_cleanup_free_ char *data = json_dumps(cfg, JSON_COMPACT);
	_cleanup_close_ int dfd = ctr_dirfd(s, id);
	if (!data || dfd < 0 ||
	    fs_write_atomic_at(dfd, "config.json", data, strlen(data), 0600, false, err) < 0) {
		if (!data || dfd < 0)
			berr_set(err, data ? errno : ENOMEM, "renaming container %.12s", id);
		unlinkat(s->namesfd, nn, 0);
		return -1;
	}
	/* the old link goes only if it is still ours */
	if (*oldname && ctr_name_valid(oldname)) {
		char owner[80];
		name_owner(s, oldname, owner);
		if (!strcmp(owner, id))
			unlinkat(s->namesfd, oldname, 0);
	}
	return 0;
}
