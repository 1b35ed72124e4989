#include "runtime/container.h"
#include "runtime/attach.h"
#include "util/cleanup.h"
#include "util/proc.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int open_dir(int at, const char *name, struct berr **err)
{
	if (mkdirat(at, name, 0700) < 0 && errno != EEXIST)
		return berr_set(err, errno, "creating %s", name);
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set(err, errno, "opening %s", name);
	return fd;
}

int ctr_store_open(const char *root, const char *runroot, struct ctr_store **ret, struct berr **err)
{
	if (fs_mkdir_p(root, 0700, err) < 0)
		return -1;
	struct ctr_store *s = calloc(1, sizeof(*s));
	s->rootfd = s->ctrsfd = s->namesfd = -1;
	s->root = strdup(root);
	s->runroot = strdup(runroot);
	s->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0) {
		berr_set(err, errno, "opening %s", root);
		goto fail;
	}
	if ((s->ctrsfd = open_dir(s->rootfd, "containers", err)) < 0 ||
	    (s->namesfd = open_dir(s->ctrsfd, ".names", err)) < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	ctr_store_free(s);
	return -1;
}

void ctr_store_free(struct ctr_store *s)
{
	if (!s)
		return;
	if (s->rootfd >= 0)
		close(s->rootfd);
	if (s->ctrsfd >= 0)
		close(s->ctrsfd);
	if (s->namesfd >= 0)
		close(s->namesfd);
	free(s->root);
	free(s->runroot);
	free(s);
}

void ctr_new_id(char id[65])
{
	unsigned char r[32];
	if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		srand((unsigned)(ts.tv_nsec ^ getpid()));
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)rand();
	}
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		id[2 * i] = hx[r[i] >> 4];
		id[2 * i + 1] = hx[r[i] & 15];
	}
	id[64] = 0;
}

void ctr_random_name(char *buf, size_t n)
{
	static const char *const adj[] = {
		"admiring", "amazing", "bold", "brave", "busy", "calm", "clever", "cool", "eager", "elegant",
		"epic", "festive", "focused", "friendly", "gallant", "gifted", "happy", "jolly", "keen", "kind",
		"loving", "lucid", "modest", "nice", "optimistic", "peaceful", "quirky", "relaxed", "serene",
		"sharp", "stoic", "sweet", "tender", "upbeat", "vibrant", "wizardly", "youthful", "zen"};
	static const char *const who[] = {
		"babbage", "bardeen", "bell", "bohr", "cerf", "curie", "darwin", "dijkstra", "einstein",
		"euclid", "faraday", "fermat", "feynman", "galileo", "gauss", "hamilton", "hopper", "hypatia",
		"kepler", "knuth", "lamport", "liskov", "lovelace", "maxwell", "meitner", "newton", "noether",
		"pascal", "ritchie", "shannon", "thompson", "torvalds", "turing", "wing", "wozniak"};
	unsigned r[2];
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		r[0] = (unsigned)time(NULL), r[1] = (unsigned)getpid();
	snprintf(buf, n, "%s_%s", adj[r[0] % (sizeof(adj) / sizeof(adj[0]))],
		 who[r[1] % (sizeof(who) / sizeof(who[0]))]);
}

bool ctr_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > 253 || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

int ctr_dirfd(struct ctr_store *s, const char *id)
{
	return openat(s->ctrsfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int write_json(int dirfd, const char *name, json_t *j, struct berr **err)
{
	_cleanup_free_ char *data = json_dumps(j, JSON_COMPACT);
	if (!data)
		return berr_set(err, ENOMEM, "serializing %s", name);
	return fs_write_atomic_at(dirfd, name, data, strlen(data), 0600, false, err);
}

/* Container state is replaced several times per run (start, running,
 * exited), so it is swapped into place rather than renamed over (no ext4
 * writeback per write) and not fsync'd: a crash can leave it empty, which
 * ctr_state() reads as exited, and `ps` re-derives liveness from the
 * processes anyway. */
static int write_state(int dirfd, json_t *j, struct berr **err)
{
	_cleanup_free_ char *data = json_dumps(j, JSON_COMPACT);
	if (!data)
		return berr_set(err, ENOMEM, "serializing state.json");
	return fs_replace_at(dirfd, "state.json", data, strlen(data), 0600, err);
}

int ctr_create(struct ctr_store *s, json_t *config, const char *name, const char *want_id, char ret_id[65],
	       struct berr **err)
{
	char id[65];
	if (want_id)
		snprintf(id, sizeof(id), "%s", want_id);
	else
		ctr_new_id(id);
	char autoname[64];
	if (!name) {
		/* Random names can collide; try a few. */
		for (int i = 0; i < 10; i++) {
			ctr_random_name(autoname, sizeof(autoname));
			if (faccessat(s->namesfd, autoname, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
				break;
		}
		name = autoname;
	} else if (!ctr_name_valid(name)) {
		return berr_setc(err, BERR_INVALID, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
				 name);
	}
	if (symlinkat(id, s->namesfd, name) < 0) {
		if (errno == EEXIST) {
			char other[80] = "";
			ssize_t n = readlinkat(s->namesfd, name, other, sizeof(other) - 1);
			if (n > 0)
				other[n] = 0;
			return berr_setc(err, BERR_CONFLICT,
					 "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
					 name, other);
		}
		return berr_set(err, errno, "reserving name %s", name);
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char created[48];
	time_rfc3339(&now, created, sizeof(created));
	json_object_set_new(config, "Id", json_string(id));
	json_object_set_new(config, "Name", json_string(name));
	json_object_set_new(config, "Created", json_string(created));
	if (mkdirat(s->ctrsfd, id, 0700) < 0) {
		berr_set(err, errno, "creating container directory");
		unlinkat(s->namesfd, name, 0);
		return -1;
	}
	_cleanup_close_ int dfd = ctr_dirfd(s, id);
	if (dfd < 0 || mkdirat(dfd, "upper", 0755) < 0 || mkdirat(dfd, "work", 0700) < 0 ||
	    mkdirat(dfd, "rootfs", 0755) < 0) {
		berr_set(err, errno, "creating container directory");
		goto fail;
	}
	/* No state.json yet: a container without one is "created". */
	if (write_json(dfd, "config.json", config, err) < 0)
		goto fail;
	memcpy(ret_id, id, 65);
	return 0;
fail:
	fs_rm_rf_at(s->ctrsfd, id);
	unlinkat(s->namesfd, name, 0);
	return -1;
}

int ctr_resolve(struct ctr_store *s, const char *ref, char ret_id[65], struct berr **err)
{
	const char *name = ref[0] == '/' ? ref + 1 : ref;
	if (!*name)
		return berr_setc(err, BERR_NOT_FOUND, "No such container: %s", ref);
	/* exact ID */
	if (strlen(name) == 64 && !strchr(name, '/') && faccessat(s->ctrsfd, name, F_OK, 0) == 0) {
		memcpy(ret_id, name, 65);
		return 0;
	}
	/* name */
	if (!strchr(name, '/') && name[0] != '.') {
		char target[80];
		ssize_t n = readlinkat(s->namesfd, name, target, sizeof(target) - 1);
		if (n == 64) {
			target[n] = 0;
			if (faccessat(s->ctrsfd, target, F_OK, 0) == 0) {
				memcpy(ret_id, target, 65);
				return 0;
			}
		}
	}
	/* unique ID prefix */
	size_t len = strlen(name);
	bool hex = len > 0 && len <= 64;
	for (size_t i = 0; hex && i < len; i++)
		hex = isxdigit((unsigned char)name[i]) && !isupper((unsigned char)name[i]);
	if (hex) {
		int fd = openat(s->ctrsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;
		char found[65] = "";
		int matches = 0;
		while (d && (de = readdir(d))) {
			if (strlen(de->d_name) == 64 && !strncmp(de->d_name, name, len)) {
				matches++;
				memcpy(found, de->d_name, 65);
			}
		}
		if (matches == 1) {
			memcpy(ret_id, found, 65);
			return 0;
		}
		if (matches > 1)
			return berr_setc(err, BERR_INVALID, "multiple containers found with provided prefix: %s", name);
	}
	return berr_setc(err, BERR_NOT_FOUND, "No such container: %s", ref);
}

json_t *ctr_list(struct ctr_store *s)
{
	json_t *out = json_array();
	int fd = openat(s->ctrsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strlen(de->d_name) == 64)
			json_array_append_new(out, json_string(de->d_name));
	return out;
}

json_t *ctr_config(struct ctr_store *s, const char *id, struct berr **err)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/config.json", id);
	return jsonx_load_at(s->ctrsfd, path, 1 << 22, err);
}

int ctr_state_write(struct ctr_store *s, const char *id, json_t *state, struct berr **err)
{
	_cleanup_close_ int dfd = ctr_dirfd(s, id);
	if (dfd < 0)
		return berr_set(err, errno, "container %.12s", id);
	return write_state(dfd, state, err);
}

int ctr_lock(struct ctr_store *s, const char *id, struct berr **err)
{
	_cleanup_close_ int dfd = ctr_dirfd(s, id);
	if (dfd < 0)
		return berr_set(err, errno, "container %.12s", id);
	return fs_lock_at(dfd, "lock", LOCK_EX, err);
}

json_t *ctr_state(struct ctr_store *s, const char *id, struct berr **err)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/state.json", id);
	struct berr *e = NULL;
	json_t *st = jsonx_load_at(s->ctrsfd, path, 1 << 20, &e);
	struct stat sst;
	if (!st && e && e->errnum != ENOENT && fstatat(s->ctrsfd, path, &sst, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sst.st_mode) && sst.st_size == 0) {
		/* emptied by a crash (see write_state): its last run is over */
		berr_freep(&e);
		st = json_pack("{s:s, s:i, s:i, s:s}", "Status", "exited", "Pid", 0, "ExitCode", 255, "Error",
			       "the container's state was lost in a crash");
		return st;
	}
	if (!st) {
		if (e && e->errnum == ENOENT) {
			berr_free(e);
			char dir[80];
			snprintf(dir, sizeof(dir), "%s", id);
			if (faccessat(s->ctrsfd, dir, F_OK, 0) == 0)
				return json_pack("{s:s, s:i, s:i}", "Status", "created", "Pid", 0, "ExitCode", 0);
			return berr_setc(err, BERR_NOT_FOUND, "No such container: %s", id), NULL;
		}
		if (err)
			*err = e;
		else
			berr_free(e);
		return NULL;
	}
	const char *status = jsonx_str(st, "Status");
	bool active = status && (!strcmp(status, "running") || !strcmp(status, "restarting") ||
				 !strcmp(status, "paused"));
	if (!active)
		return st;
	pid_t mpid = (pid_t)json_integer_value(json_object_get(st, "MonitorPid"));
	unsigned long long mstart = (unsigned long long)json_integer_value(json_object_get(st, "MonitorStart"));
	if (mpid > 0 && proc_alive(mpid, mstart))
		return st;
	/* The monitor is gone (killed, or the machine rebooted): whatever the
	 * file says, nobody supervises this container any more. Re-check
	 * under the lock and record it as exited. */
	int lk = ctr_lock(s, id, &e);
	berr_free(e);
	json_t *fresh = jsonx_load_at(s->ctrsfd, path, 1 << 20, NULL);
	if (fresh) {
		json_decref(st);
		st = fresh;
	}
	status = jsonx_str(st, "Status");
	mpid = (pid_t)json_integer_value(json_object_get(st, "MonitorPid"));
	mstart = (unsigned long long)json_integer_value(json_object_get(st, "MonitorStart"));
	if (status && strcmp(status, "exited") && strcmp(status, "created") && !(mpid > 0 && proc_alive(mpid, mstart))) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
		unsigned long long pstart = (unsigned long long)json_integer_value(json_object_get(st, "PidStart"));
		if (!(pid > 0 && proc_alive(pid, pstart))) {
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			char ts[48];
			time_rfc3339(&now, ts, sizeof(ts));
			json_object_set_new(st, "Status", json_string("exited"));
			json_object_set_new(st, "ExitCode", json_integer(255));
			json_object_set_new(st, "Pid", json_integer(0));
			json_object_set_new(st, "FinishedAt", json_string(ts));
			json_object_set_new(st, "Error", json_string("the container's monitor process is gone"));
			ctr_state_write(s, id, st, NULL);
		}
	}
	if (lk >= 0)
		close(lk);
	return st;
}

int ctr_remove_files(struct ctr_store *s, const char *id, struct berr **err)
{
	_cleanup_json_ json_t *cfg = ctr_config(s, id, NULL);
	const char *name = jsonx_str(cfg, "Name");
	int r = fs_rm_rf_at(s->ctrsfd, id);
	if (r < 0)
		return berr_set(err, -r, "removing container %.12s", id);
	/* a killed monitor's attach socket */
	att_remove(s->runroot, id);
	if (name) {
		char target[80];
		ssize_t n = readlinkat(s->namesfd, name, target, sizeof(target) - 1);
		if (n == 64 && !strncmp(target, id, 64))
			unlinkat(s->namesfd, name, 0);
	}
	return 0;
}
