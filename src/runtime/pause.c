#include "runtime/pause.h"
#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <errno.h>
#include <string.h>

static int set_paused(struct ctr_store *s, const char *id, bool pause, struct berr **err)
{
	/* ctr_state first, unlocked: it records a container whose monitor
	 * died as exited (and takes the lock itself to do so) */
	_cleanup_json_ json_t *st0 = ctr_state(s, id, err);
	if (!st0)
		return -1;
	_cleanup_close_ int lk = ctr_lock(s, id, err);
	if (lk < 0)
		return -1;
	char path[128];
	snprintf(path, sizeof(path), "%s/state.json", id);
	struct berr *e = NULL;
	_cleanup_json_ json_t *st = jsonx_load_at(s->ctrsfd, path, 1 << 20, &e);
	if (!st) {
		if (!(e && e->errnum == ENOENT)) {
			*err = e;
			return -1;
		}
		/* no state.json: never started */
		berr_free(e);
		st = json_pack("{s:s}", "Status", "created");
	}
	const char *status = jsonx_str(st, "Status");
	if (!status)
		status = "created";
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	unsigned long long pstart = (unsigned long long)json_integer_value(json_object_get(st, "PidStart"));
	bool alive = pid > 0 && proc_alive(pid, pstart);
	if (pause) {
		if (!strcmp(status, "paused") && alive)
			return berr_setc(err, BERR_CONFLICT, "Container %s is already paused", id);
		if (!strcmp(status, "restarting"))
			return berr_setc(err, BERR_CONFLICT,
					 "Container %s is restarting, wait until the container is running", id);
		if (strcmp(status, "running") || !alive)
			return berr_setc(err, BERR_CONFLICT, "Container %s is not running", id);
	} else {
		if (strcmp(status, "paused"))
			return berr_setc(err, BERR_CONFLICT, "Container %s is not paused", id);
		if (!alive)
			return berr_setc(err, BERR_CONFLICT, "Container %s is not running", id);
	}
	struct cgroup *cg = NULL;
	if (cgroup_open(id, &cg, err) < 0)
		return berr_wrap(err, "cannot %s container %s", pause ? "pause" : "unpause", id);
	int r = cgroup_freeze(cg, pause, err);
	cgroup_free(cg);
	if (r < 0)
		return berr_wrap(err, "cannot %s container %s", pause ? "pause" : "unpause", id);
	json_object_set_new(st, "Status", json_string(pause ? "paused" : "running"));
	if (ctr_state_write(s, id, st, err) < 0) {
		/* keep what the file says true: undo the freeze */
		if (cgroup_open(id, &cg, NULL) == 0) {
			cgroup_freeze(cg, !pause, NULL);
			cgroup_free(cg);
		}
		return -1;
	}
	return 0;
}

int ctr_pause(struct ctr_store *s, const char *id, struct berr **err)
{
	return set_paused(s, id, true, err);
}

int ctr_unpause(struct ctr_store *s, const char *id, struct berr **err)
{
	return set_paused(s, id, false, err);
}
