#include "runtime/plan.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static char **strv_from_json(json_t *arr)
{
	size_t n = json_array_size(arr);
	char **v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = strdup(json_string_value(json_array_get(arr, i)) ? json_string_value(json_array_get(arr, i)) : "");
	return v;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static size_t strv_len(char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* Set KEY=VALUE in env (replacing KEY). */
static char **env_set(char **env, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	size_t n = strv_len(env);
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(env[i], kv, klen) && env[i][klen] == '=') {
			free(env[i]);
			env[i] = strdup(kv);
			return env;
		}
	}
	env = realloc(env, (n + 2) * sizeof(*env));
	env[n] = strdup(kv);
	env[n + 1] = NULL;
	return env;
}

static bool env_has(char **env, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], key, klen) && env[i][klen] == '=')
			return true;
	return false;
}

static int compute_caps(json_t *hc, uint64_t *ret, struct berr **err)
{
	if (json_is_true(json_object_get(hc, "Privileged"))) {
		*ret = caps_all();
		return 0;
	}
	uint64_t caps = CAPS_DOCKER_DEFAULT, add = 0, drop = 0;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(hc, "CapAdd"), i, v) {
		uint64_t m;
		if (caps_parse(json_string_value(v), &m, err) < 0)
			return berr_wrap(err, "--cap-add");
		add |= m;
	}
	json_array_foreach(json_object_get(hc, "CapDrop"), i, v) {
		uint64_t m;
		if (caps_parse(json_string_value(v), &m, err) < 0)
			return berr_wrap(err, "--cap-drop");
		drop |= m;
	}
	uint64_t all = caps_all();
	if (add & ~all) {
		int n = __builtin_ctzll(add & ~all);
		return berr_setc(err, BERR_INVALID,
				 "--cap-add %s: the capability is not in berth's bounding set (the host dropped it), so a container cannot get it",
				 caps_name(n) ? caps_name(n) : "?");
	}
	/* Docker: --cap-add ALL then --cap-drop; otherwise an added cap wins */
	if ((add & all) == all)
		caps = all & ~drop;
	else
		caps = (caps & ~drop) | add;
	*ret = caps & all;
	return 0;
}

/* seccomp and no-new-privileges from --security-opt. */
static int security(json_t *hc, const char *root, uint64_t caps, struct plan_proc *p, struct berr **err)
{
	bool unconfined = json_is_true(json_object_get(hc, "Privileged"));
	_cleanup_free_ char *profile = NULL;
	size_t plen = 0;
	const char *pname = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
		const char *o = json_string_value(v);
		if (!o)
			continue;
		if (!strcmp(o, "no-new-privileges") || !strcmp(o, "no-new-privileges:true") ||
		    !strcmp(o, "no-new-privileges=true")) {
			p->no_new_privs = true;
		} else if (!strcmp(o, "no-new-privileges:false") || !strcmp(o, "no-new-privileges=false")) {
			p->no_new_privs = false;
		} else if (!strncmp(o, "seccomp=", 8) || !strncmp(o, "seccomp:", 8)) {
			const char *val = o + 8;
			if (!strcmp(val, "unconfined")) {
				unconfined = true;
			} else {
				free(profile);
				profile = NULL;
				if (fs_read_file_at(-100 /* AT_FDCWD */, val, 4 << 20, &profile, &plen, err) < 0)
					return berr_wrap(err, "--security-opt seccomp");
				pname = val;
				unconfined = false;
			}
		} else if (!strncmp(o, "label", 5) || !strncmp(o, "apparmor", 8)) {
			/* no LSM here: accepted like Docker on a host without one */
		} else {
			return berr_setc(err, BERR_INVALID, "invalid --security-opt: \"%s\"", o);
		}
	}
	struct seccomp_opts so = {.unconfined = unconfined, .profile = profile, .profile_len = plen,
				  .profile_name = pname, .caps = caps};
	char cache[4096];
	snprintf(cache, sizeof(cache), "%s/cache/seccomp", root);
	if (seccomp_compile_cached(cache, &so, &p->seccomp, err) < 0)
		return -1;
	return 0;
}

static int proc_common(json_t *cfg, const char *root, struct plan_proc *p, struct berr **err)
{
	json_t *hc = json_object_get(cfg, "HostConfig");
	if (compute_caps(hc, &p->caps, err) < 0)
		return -1;
	return security(hc, root, p->caps, p, err);
}

static char **base_env(json_t *cfg)
{
	/* Docker's order: PATH, HOSTNAME, TERM, then the container's Env
	 * replacing or appending */
	json_t *c = json_object_get(cfg, "Config");
	char **env = NULL;
	env = env_set(env, DEFAULT_PATH);
	const char *hn = jsonx_str(c, "Hostname");
	if (hn) {
		char kv[300];
		snprintf(kv, sizeof(kv), "HOSTNAME=%s", hn);
		env = env_set(env, kv);
	}
	if (json_is_true(json_object_get(c, "Tty")))
		env = env_set(env, "TERM=xterm");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c, "Env"), i, v)
		if (json_string_value(v) && strchr(json_string_value(v), '='))
			env = env_set(env, json_string_value(v));
	return env;
}

int plan_tmpfs_options(const char *opts, unsigned long *ret_flags, char **ret_data, struct berr **err)
{
	/* word, flags it sets, flags it clears */
	static const struct { const char *w; unsigned long set, clear; } fl[] = {
		{"ro", MS_RDONLY, 0},         {"rw", 0, MS_RDONLY},
		{"exec", 0, MS_NOEXEC},       {"noexec", MS_NOEXEC, 0},
		{"suid", 0, MS_NOSUID},       {"nosuid", MS_NOSUID, 0},
		{"dev", 0, MS_NODEV},         {"nodev", MS_NODEV, 0},
		{"sync", MS_SYNCHRONOUS, 0},  {"async", 0, MS_SYNCHRONOUS},
		{"atime", 0, MS_NOATIME},     {"noatime", MS_NOATIME, 0},
		{"diratime", 0, MS_NODIRATIME}, {"nodiratime", MS_NODIRATIME, 0},
		{"relatime", MS_RELATIME, 0}, {"norelatime", 0, MS_RELATIME},
		{"strictatime", MS_STRICTATIME, 0}, {"nostrictatime", 0, MS_STRICTATIME},
		{"dirsync", MS_DIRSYNC, 0},   {"mand", MS_MANDLOCK, 0}, {"nomand", 0, MS_MANDLOCK},
		{"private", 0, 0}, {"rprivate", 0, 0}, {"shared", 0, 0}, {"rshared", 0, 0},
		{"slave", 0, 0}, {"rslave", 0, 0}, {"bind", 0, 0}, {"rbind", 0, 0}, {"tmpcopyup", 0, 0},
		{"notmpcopyup", 0, 0},
	};
	/* tmpfs(5)'s options, passed to the kernel as they are */
	static const char *const data_keys[] = {"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "huge", "mpol",
						"inode32", "inode64", "noswap", "quota", "usrquota", "grpquota",
						"usrquota_block_hardlimit", "usrquota_inode_hardlimit",
						"grpquota_block_hardlimit", "grpquota_inode_hardlimit"};
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct sbuf data = SBUF_INIT;
	_cleanup_free_ char *copy = strdup(opts ? opts : "");
	char *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(fl) && !known; i++)
			if (!strcmp(fl[i].w, w)) {
				flags = (flags | fl[i].set) & ~fl[i].clear;
				known = true;
			}
		size_t klen = strcspn(w, "=");
		for (size_t i = 0; i < ARRAY_SIZE(data_keys) && !known; i++)
			if (strlen(data_keys[i]) == klen && !strncmp(data_keys[i], w, klen)) {
				if (data.len)
					sbuf_addc(&data, ',');
				sbuf_adds(&data, w);
				known = true;
			}
		if (!known) {
			sbuf_release(&data);
			return berr_setc(err, BERR_INVALID, "invalid tmpfs option \"%s\"", w);
		}
	}
	*ret_flags = flags;
	*ret_data = sbuf_detach(&data);
	return 0;
}

int plan_build(json_t *cfg, const char *root, struct plan **ret, struct berr **err)
{
	struct plan *p = calloc(1, sizeof(*p));
	json_t *c = json_object_get(cfg, "Config");
	json_t *hc = json_object_get(cfg, "HostConfig");
	const char *id = jsonx_str(cfg, "Id");
	if (!id || !json_is_object(c) || !json_is_object(hc)) {
		free(p);
		return berr_set(err, 0, "container config is incomplete");
	}
	p->id = strdup(id);
	if (asprintf(&p->layers_dir, "%s/layers", root) < 0 || asprintf(&p->ctr_dir, "%s/containers/%s", root, id) < 0)
		goto oom;
	struct sbuf lower = SBUF_INIT;
	json_t *layers = json_object_get(cfg, "Layers");
	for (size_t i = json_array_size(layers); i-- > 0;) {
		const char *d = json_string_value(json_array_get(layers, i));
		if (!d || !digest_is_valid(d)) {
			sbuf_release(&lower);
			plan_free(p);
			return berr_set(err, 0, "container config has a bad layer id");
		}
		if (lower.len)
			sbuf_addc(&lower, ':');
		sbuf_addf(&lower, "%s/diff", d + 7);
	}
	p->lowerdir = sbuf_detach(&lower);
	p->readonly_root = json_is_true(json_object_get(hc, "ReadonlyRootfs"));
	p->privileged = json_is_true(json_object_get(hc, "Privileged"));
	const char *hn = jsonx_str(c, "Hostname");
	p->hostname = strdup(hn ? hn : "");
	const char *nm = jsonx_str(hc, "NetworkMode");
	p->new_net = !(nm && (!strcmp(nm, "host") || !strncmp(nm, "container:", 10)));
	p->new_uts = !(nm && !strcmp(nm, "host"));
	if (nm && !strncmp(nm, "container:", 10))
		p->net_container = strdup(nm + 10);
	p->shm_size = json_integer_value(json_object_get(hc, "ShmSize"));
	if (p->shm_size <= 0)
		p->shm_size = 64 << 20;
	p->init = json_is_true(json_object_get(hc, "Init"));
	p->pod_infra = json_is_true(json_object_get(cfg, "PodInfra"));
	p->cgroup_name = strdup(id);

	/* binds: "src:dst[:opts]" already validated at create */
	json_t *binds = json_object_get(hc, "Binds");
	json_t *tmpfs = json_object_get(hc, "Tmpfs");
	json_t *mps = json_object_get(cfg, "MountPoints");
	p->mounts = calloc(json_array_size(binds) + json_array_size(mps) + json_object_size(tmpfs) + 1, sizeof(*p->mounts));
	size_t i;
	json_t *v;
	json_array_foreach(binds, i, v) {
		_cleanup_free_ char *b = strdup(json_string_value(v));
		char *dst = strchr(b, ':');
		if (!dst || b[0] != '/')
			continue; /* named volumes come from MountPoints */
		*dst++ = 0;
		char *opts = strchr(dst, ':');
		if (opts)
			*opts++ = 0;
		struct pmount *m = &p->mounts[p->nmounts++];
		m->kind = PM_BIND;
		m->source = strdup(b);
		m->target = strdup(dst);
		m->ro = opts && (strstr(opts, "ro") == opts || strstr(opts, ",ro"));
		struct stat st;
		m->source_is_dir = stat(b, &st) == 0 && S_ISDIR(st.st_mode);
	}
	json_array_foreach(mps, i, v) {
		const char *src = jsonx_str(v, "Source"), *dst = jsonx_str(v, "Destination");
		if (!src || !dst)
			continue;
		struct pmount *m = &p->mounts[p->nmounts++];
		m->kind = PM_BIND;
		m->source = strdup(src);
		m->target = strdup(dst);
		m->ro = !json_is_true(json_object_get(v, "RW"));
		m->source_is_dir = true;
		if (!json_is_true(json_object_get(v, "NoCopy"))) {
			m->copy_up = strdup(src);
			char *slash = strrchr(m->copy_up, '/');
			if (slash)
				*slash = 0;
		}
	}
	const char *k;
	json_object_foreach(tmpfs, k, v) {
		struct pmount *m = &p->mounts[p->nmounts++];
		m->kind = PM_TMPFS;
		m->target = strdup(k);
		if (plan_tmpfs_options(json_string_value(v), &m->flags, &m->data, err) < 0) {
			berr_wrap(err, "--tmpfs %s", k);
			plan_free(p);
			return -1;
		}
	}
	json_array_foreach(json_object_get(hc, "Ulimits"), i, v) {
		static const struct { const char *name; int res; } rl[] = {
			{"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU}, {"data", RLIMIT_DATA}, {"fsize", RLIMIT_FSIZE},
			{"locks", RLIMIT_LOCKS}, {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
			{"nice", RLIMIT_NICE}, {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC}, {"rss", RLIMIT_RSS},
			{"rtprio", RLIMIT_RTPRIO}, {"rttime", RLIMIT_RTTIME}, {"sigpending", RLIMIT_SIGPENDING},
			{"stack", RLIMIT_STACK}};
		const char *name = jsonx_str(v, "Name");
		for (size_t r = 0; name && r < ARRAY_SIZE(rl) && p->nrlimits < 16; r++) {
			if (strcmp(rl[r].name, name))
				continue;
			struct prlimit_op *op = &p->rlimits[p->nrlimits++];
			op->resource = rl[r].res;
			op->lim.rlim_cur = (rlim_t)json_integer_value(json_object_get(v, "Soft"));
			op->lim.rlim_max = (rlim_t)json_integer_value(json_object_get(v, "Hard"));
		}
	}
	json_t *sysctls = json_object_get(hc, "Sysctls");
	p->sysctls = calloc(json_object_size(sysctls) + 1, sizeof(char *));
	size_t ns = 0;
	json_object_foreach(sysctls, k, v) {
		if (asprintf(&p->sysctls[ns], "%s=%s", k, json_string_value(v) ? json_string_value(v) : "") >= 0)
			ns++;
	}

	p->proc.argv = calloc(json_array_size(json_object_get(cfg, "Args")) + 2, sizeof(char *));
	const char *path = jsonx_str(cfg, "Path");
	if (!path || !*path) {
		plan_free(p);
		return berr_setc(err, BERR_INVALID, "no command specified");
	}
	p->proc.argv[0] = strdup(path);
	json_array_foreach(json_object_get(cfg, "Args"), i, v)
		p->proc.argv[i + 1] = strdup(json_string_value(v) ? json_string_value(v) : "");
	p->proc.env = base_env(cfg);
	const char *wd = jsonx_str(c, "WorkingDir");
	p->proc.cwd = strdup(wd && *wd ? wd : "/");
	const char *user = jsonx_str(c, "User");
	p->proc.user = strdup(user ? user : "");
	p->proc.group_add = strv_from_json(json_object_get(hc, "GroupAdd"));
	p->proc.tty = json_is_true(json_object_get(c, "Tty"));
	if (proc_common(cfg, root, &p->proc, err) < 0) {
		plan_free(p);
		return -1;
	}
	*ret = p;
	return 0;
oom:
	plan_free(p);
	return berr_set(err, ENOMEM, "building the container plan");
}

int plan_exec_proc(json_t *cfg, const char *root, char **argv, char **env, const char *user,
		   const char *cwd, bool privileged, bool tty, struct plan_proc *ret, struct berr **err)
{
	struct plan_proc p = {0};
	json_t *c = json_object_get(cfg, "Config");
	p.argv = calloc(strv_len(argv) + 1, sizeof(char *));
	for (size_t i = 0; argv[i]; i++)
		p.argv[i] = strdup(argv[i]);
	p.env = base_env(cfg);
	for (size_t i = 0; env && env[i]; i++)
		p.env = env_set(p.env, env[i]);
	if (tty && !env_has(p.env, "TERM"))
		p.env = env_set(p.env, "TERM=xterm");
	const char *wd = cwd ? cwd : jsonx_str(c, "WorkingDir");
	p.cwd = strdup(wd && *wd ? wd : "/");
	const char *u = user ? user : jsonx_str(c, "User");
	p.user = strdup(u ? u : "");
	p.group_add = strv_from_json(json_object_get(json_object_get(cfg, "HostConfig"), "GroupAdd"));
	p.tty = tty;
	if (proc_common(cfg, root, &p, err) < 0) {
		plan_proc_release(&p);
		return -1;
	}
	if (privileged) {
		p.caps = caps_all();
		seccomp_prog_free(&p.seccomp);
	}
	*ret = p;
	return 0;
}

void plan_proc_release(struct plan_proc *p)
{
	strv_free(p->argv);
	strv_free(p->env);
	strv_free(p->group_add);
	free(p->cwd);
	free(p->user);
	seccomp_prog_free(&p->seccomp);
	memset(p, 0, sizeof(*p));
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->layers_dir);
	free(p->lowerdir);
	free(p->ctr_dir);
	free(p->hostname);
	free(p->net_container);
	for (size_t i = 0; i < p->nmounts; i++) {
		free(p->mounts[i].source);
		free(p->mounts[i].target);
		free(p->mounts[i].data);
		free(p->mounts[i].copy_up);
	}
	free(p->mounts);
	strv_free(p->sysctls);
	free(p->cgroup_name);
	plan_proc_release(&p->proc);
	free(p);
}

int plan_parse_ulimit(const char *s, json_t **ret, struct berr **err)
{
	const char *eq = strchr(s, '=');
	if (!eq || eq == s)
		return berr_setc(err, BERR_INVALID, "invalid ulimit argument: \"%s\" (want NAME=SOFT[:HARD])", s);
	_cleanup_free_ char *name = strndup(s, (size_t)(eq - s));
	static const char *const ok[] = {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
					 "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"};
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		known |= !strcmp(ok[i], name);
	if (!known)
		return berr_setc(err, BERR_INVALID, "invalid ulimit type: %s", name);
	char *end;
	long long soft = strtoll(eq + 1, &end, 10), hard = soft;
	if (end == eq + 1 || (*end && *end != ':'))
		return berr_setc(err, BERR_INVALID, "invalid ulimit argument: \"%s\"", s);
	if (*end == ':') {
		const char *h = end + 1;
		hard = strtoll(h, &end, 10);
		if (end == h || *end)
			return berr_setc(err, BERR_INVALID, "invalid ulimit argument: \"%s\"", s);
	}
	if (soft > hard)
		return berr_setc(err, BERR_INVALID, "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
				 soft, hard);
	*ret = json_pack("{s:s, s:I, s:I}", "Name", name, "Hard", (json_int_t)hard, "Soft", (json_int_t)soft);
	return 0;
}
