#include "runtime/lifecycle.h"
#include "runtime/volume.h"
#include "net/network.h"
#include "image/reference.h"
#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const struct { const char *name; int sig; } sigs[] = {
	{"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
	{"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},
	{"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
	{"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
	{"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU},
	{"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
	{"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS}};

int signal_parse(const char *s, int *ret, struct berr **err)
{
	const char *n = s;
	if (!strncasecmp(n, "SIG", 3))
		n += 3;
	if (isdigit((unsigned char)*n)) {
		char *end;
		long v = strtol(n, &end, 10);
		if (*end || v < 1 || v > 64)
			return berr_setc(err, BERR_INVALID, "invalid signal: %s", s);
		*ret = (int)v;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		if (!strcasecmp(n, sigs[i].name)) {
			*ret = sigs[i].sig;
			return 0;
		}
	}
	/* RTMIN, RTMIN+N, RTMAX-N (Docker's names), within the real-time range:
	 * a number past it would make kill() fail and a stop wait its timeout */
	if (!strncasecmp(n, "RTMIN", 5) || !strncasecmp(n, "RTMAX", 5)) {
		int base = !strncasecmp(n, "RTMIN", 5) ? SIGRTMIN : SIGRTMAX;
		long off = 0;
		if (n[5]) {
			char *end;
			if ((n[5] != '+' && n[5] != '-') || !isdigit((unsigned char)n[6]))
				return berr_setc(err, BERR_INVALID, "invalid signal: %s", s);
			off = strtol(n + 5, &end, 10);
			if (*end)
				return berr_setc(err, BERR_INVALID, "invalid signal: %s", s);
		}
		if (base + off < SIGRTMIN || base + off > SIGRTMAX)
			return berr_setc(err, BERR_INVALID, "invalid signal: %s", s);
		*ret = (int)(base + off);
		return 0;
	}
	return berr_setc(err, BERR_INVALID, "invalid signal: %s", s);
}

/* ---- create ---- */

static json_t *merge_env(json_t *base, json_t *over)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(base, i, v) json_array_append(out, v);
	json_array_foreach(over, i, v) {
		const char *kv = json_string_value(v);
		if (!kv)
			continue;
		size_t k = strcspn(kv, "=");
		bool replaced = false;
		size_t j;
		json_t *e;
		json_array_foreach(out, j, e) {
			const char *es = json_string_value(e);
			if (es && !strncmp(es, kv, k) && (es[k] == '=' || es[k] == 0)) {
				json_array_set(out, j, v);
				replaced = true;
				break;
			}
		}
		if (!replaced)
			json_array_append(out, v);
	}
	return out;
}

/* The container's directory is new: plain writes, no rename dance. */
static void put_file(int dfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	fs_write_full(fd, data, len);
	close(fd);
}

static void write_etc_files(struct ctr_store *s, const char *id, json_t *cfg)
{
	_cleanup_close_ int dfd = ctr_dirfd(s, id);
	json_t *c = json_object_get(cfg, "Config");
	const char *hn = jsonx_str(c, "Hostname");
	const char *nm = jsonx_str(json_object_get(cfg, "HostConfig"), "NetworkMode");
	bool host = nm && !strcmp(nm, "host");
	char buf[8192];
	int n;
	if (nm && !strncmp(nm, "container:", 10)) {
		/* a shared network namespace shares the name files too */
		_cleanup_close_ int tfd = ctr_dirfd(s, nm + 10);
		static const char *const files[] = {"hosts", "resolv.conf", "hostname"};
		for (size_t i = 0; tfd >= 0 && i < sizeof(files) / sizeof(files[0]); i++) {
			_cleanup_free_ char *data = NULL;
			size_t len = 0;
			if (fs_read_file_at(tfd, files[i], 1 << 20, &data, &len, NULL) == 0)
				put_file(dfd, files[i], data, len);
		}
		return;
	}
	/* --add-host entries ("HOST:IP") follow the base lines, as in Docker */
	struct sbuf extra = SBUF_INIT;
	size_t ei;
	json_t *ev;
	json_array_foreach(json_object_get(json_object_get(cfg, "HostConfig"), "ExtraHosts"), ei, ev) {
		const char *hv = json_string_value(ev);
		const char *colon = hv ? strchr(hv, ':') : NULL;
		if (colon)
			sbuf_addf(&extra, "%s\t%.*s\n", colon + 1, (int)(colon - hv), hv);
	}
	if (host) {
		_cleanup_free_ char *h = NULL;
		size_t len = 0;
		if (fs_read_file_at(AT_FDCWD, "/etc/hosts", 1 << 20, &h, &len, NULL) == 0) {
			struct sbuf all = SBUF_INIT;
			sbuf_add(&all, h, len);
			if (len && h[len - 1] != '\n')
				sbuf_addc(&all, '\n');
			sbuf_add(&all, extra.s, extra.len);
			put_file(dfd, "hosts", all.s, all.len);
			sbuf_release(&all);
		}
		char host_name[256] = "";
		gethostname(host_name, sizeof(host_name) - 1);
		n = snprintf(buf, sizeof(buf), "%s\n", host_name);
		put_file(dfd, "hostname", buf, (size_t)n);
	} else {
		n = snprintf(buf, sizeof(buf),
			     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
			     "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n%s",
			     extra.len ? sbuf_str(&extra) : "");
		put_file(dfd, "hosts", buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
		n = snprintf(buf, sizeof(buf), "%s\n", hn ? hn : "");
		put_file(dfd, "hostname", buf, (size_t)n);
	}
	sbuf_release(&extra);
	/* resolv.conf: the host's, without loopback resolvers the container
	 * cannot reach (Docker falls back to public DNS when none is left) */
	_cleanup_free_ char *rc = NULL;
	size_t len = 0;
	struct sbuf out = SBUF_INIT;
	bool have_ns = false;
	if (fs_read_file_at(AT_FDCWD, "/etc/resolv.conf", 1 << 20, &rc, &len, NULL) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(rc, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(line, "nameserver", 10)) {
				const char *a = line + 10;
				while (*a == ' ' || *a == '\t')
					a++;
				if (!host && (!strncmp(a, "127.", 4) || !strcmp(a, "::1")))
					continue;
				have_ns = true;
			}
			sbuf_adds(&out, line);
			sbuf_addc(&out, '\n');
		}
	}
	if (!have_ns)
		sbuf_adds(&out, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	put_file(dfd, "resolv.conf", sbuf_str(&out), out.len);
	sbuf_release(&out);
}

int ctr_create_from(struct ctr_store *cs, struct image_store *is, json_t *req, const char *name,
		    char ret_id[65], struct berr **err)
{
	const char *image = jsonx_str(req, "Image");
	if (!image)
		return berr_setc(err, BERR_INVALID, "no image given");
	_cleanup_json_ json_t *idx = image_store_index_read(is, err);
	if (!idx)
		return -1;
	_cleanup_free_ char *image_id = NULL;
	if (image_store_resolve(idx, image, &image_id, NULL, err) < 0)
		return -1;
	json_t *rec = json_object_get(json_object_get(idx, "images"), image_id);
	_cleanup_free_ char *raw = NULL;
	size_t rawlen;
	if (image_store_get_blob(is, image_id, &raw, &rawlen, err) < 0)
		return -1;
	_cleanup_json_ json_t *icfg_all = jsonx_parse(raw, rawlen, "image config", err);
	if (!icfg_all)
		return -1;
	json_t *icfg = json_object_get(icfg_all, "config");

	/* command: Docker's rules for Entrypoint and Cmd */
	json_t *ep = json_object_get(req, "Entrypoint");
	json_t *cmd = json_object_get(req, "Cmd");
	json_t *use_ep = ep ? ep : json_object_get(icfg, "Entrypoint");
	json_t *use_cmd = cmd && json_array_size(cmd) ? cmd : (ep ? NULL : json_object_get(icfg, "Cmd"));
	json_t *argv = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(use_ep, i, v) json_array_append(argv, v);
	json_array_foreach(use_cmd, i, v) json_array_append(argv, v);
	if (json_array_size(argv) == 0) {
		json_decref(argv);
		return berr_setc(err, BERR_INVALID, "no command specified");
	}
	json_t *path = json_incref(json_array_get(argv, 0));
	json_array_remove(argv, 0);

	char id_hint[65];
	ctr_new_id(id_hint);
	json_t *c = json_object();
	const char *hn = jsonx_str(req, "Hostname");
	json_object_set_new(c, "Hostname", json_string(hn && *hn ? hn : ""));
	json_object_set_new(c, "Domainname", json_string(jsonx_str(req, "Domainname") ? jsonx_str(req, "Domainname") : ""));
	const char *user = jsonx_str(req, "User");
	json_object_set_new(c, "User", json_string(user ? user : (jsonx_str(icfg, "User") ? jsonx_str(icfg, "User") : "")));
	json_object_set_new(c, "AttachStdin", json_boolean(json_is_true(json_object_get(req, "AttachStdin"))));
	json_object_set_new(c, "AttachStdout", json_boolean(json_is_true(json_object_get(req, "AttachStdout"))));
	json_object_set_new(c, "AttachStderr", json_boolean(json_is_true(json_object_get(req, "AttachStderr"))));
	json_t *ports = json_deep_copy(json_object_get(icfg, "ExposedPorts"));
	if (!json_is_object(ports)) {
		json_decref(ports);
		ports = json_object();
	}
	json_object_update(ports, json_object_get(req, "ExposedPorts"));
	if (json_object_size(ports))
		json_object_set_new(c, "ExposedPorts", ports);
	else
		json_decref(ports);
	json_object_set_new(c, "Tty", json_boolean(json_is_true(json_object_get(req, "Tty"))));
	json_object_set_new(c, "OpenStdin", json_boolean(json_is_true(json_object_get(req, "OpenStdin"))));
	json_object_set_new(c, "StdinOnce", json_boolean(json_is_true(json_object_get(req, "StdinOnce"))));
	json_object_set_new(c, "Env", merge_env(json_object_get(icfg, "Env"), json_object_get(req, "Env")));
	json_object_set(c, "Cmd", use_cmd ? use_cmd : json_null());
	/* Healthcheck: the request's fields override the image's */
	json_t *hc_img = json_object_get(icfg, "Healthcheck");
	json_t *hc_req = json_object_get(req, "Healthcheck");
	if (hc_img || hc_req) {
		json_t *h = json_is_object(hc_img) ? json_deep_copy(hc_img) : json_object();
		if (json_is_object(hc_req))
			json_object_update(h, hc_req);
		json_object_set_new(c, "Healthcheck", h);
	}
	json_object_set_new(c, "Image", json_string(image));
	/* a pod's sandbox runs nothing of the image: no anonymous volumes for it */
	json_t *vols = json_is_true(json_object_get(req, "PodInfra")) ? NULL : json_object_get(icfg, "Volumes");
	json_t *req_vols = json_object_get(req, "Volumes");
	if (json_object_size(req_vols)) {
		json_t *all = json_is_object(vols) ? json_deep_copy(vols) : json_object();
		json_object_update(all, req_vols);
		json_object_set_new(c, "Volumes", all);
	} else {
		json_object_set(c, "Volumes", vols ? vols : json_null());
	}
	const char *wd = jsonx_str(req, "WorkingDir");
	json_object_set_new(c, "WorkingDir",
			    json_string(wd && *wd ? wd : (jsonx_str(icfg, "WorkingDir") ? jsonx_str(icfg, "WorkingDir") : "")));
	json_object_set(c, "Entrypoint", use_ep ? use_ep : json_null());
	json_object_set(c, "OnBuild", json_null());
	json_t *labels = json_is_object(json_object_get(icfg, "Labels")) ? json_deep_copy(json_object_get(icfg, "Labels"))
									 : json_object();
	json_object_update(labels, json_object_get(req, "Labels"));
	json_object_set_new(c, "Labels", labels);
	const char *ss = jsonx_str(req, "StopSignal");
	if (!ss)
		ss = jsonx_str(icfg, "StopSignal");
	if (ss)
		json_object_set_new(c, "StopSignal", json_string(ss));
	json_t *st = json_object_get(req, "StopTimeout");
	if (json_is_integer(st))
		json_object_set(c, "StopTimeout", st);

	json_t *hostcfg = json_deep_copy(json_object_get(req, "HostConfig"));
	if (!json_is_object(hostcfg)) {
		json_decref(hostcfg);
		hostcfg = json_object();
	}
	if (!jsonx_str(hostcfg, "NetworkMode"))
		json_object_set_new(hostcfg, "NetworkMode", json_string("default"));
	const char *nmode = jsonx_str(hostcfg, "NetworkMode");
	if (!strncmp(nmode, "container:", 10)) {
		/* store the owner by ID, as Docker does */
		char nid[65];
		if (ctr_resolve(cs, nmode + 10, nid, err) < 0) {
			json_decref(hostcfg);
			return -1;
		}
		json_object_set_new(hostcfg, "NetworkMode", json_sprintf("container:%s", nid));
		/* and its hostname, as Docker does */
		_cleanup_json_ json_t *ocfg = ctr_config(cs, nid, NULL);
		const char *ohn = jsonx_str(json_object_get(ocfg, "Config"), "Hostname");
		if (ohn)
			json_object_set_new(c, "Hostname", json_string(ohn));
	}
	if (!json_object_get(hostcfg, "RestartPolicy"))
		json_object_set_new(hostcfg, "RestartPolicy", json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0));
	if (!json_object_get(hostcfg, "LogConfig"))
		json_object_set_new(hostcfg, "LogConfig", json_pack("{s:s, s:{}}", "Type", "json-file", "Config"));

	json_t *cfg = json_pack("{s:o, s:o, s:s, s:s, s:O, s:o, s:o}", "Path", path, "Args", argv, "Image", image_id,
				"ImageID", image_id, "Layers", json_object_get(rec, "layers"), "Config", c,
				"HostConfig", hostcfg);
	/* The pod runtime's keys (runtime/pod.h): "PodInfra" (the init pauses
	 * instead of exec'ing) and the "Kube*" keys the monitor reads
	 * (KubeProbes, KubeLifecycle, KubePodIP, KubeBackoff...), kept at the
	 * top of config.json as the request gave them. */
	{
		const char *k;
		json_t *kv;
		json_object_foreach(req, k, kv)
			if (!strcmp(k, "PodInfra") || !strncmp(k, "Kube", 4))
				json_object_set(cfg, k, kv);
	}
	/* the hostname defaults to the short ID */
	if (!*jsonx_str(c, "Hostname")) {
		char shortid[13];
		snprintf(shortid, sizeof(shortid), "%.12s", id_hint);
		json_object_set_new(c, "Hostname", json_string(shortid));
	}
	if (volume_setup_container(cs->root, cfg, req_vols, vols, err) < 0) {
		json_decref(cfg);
		return -1;
	}
	int r = ctr_create(cs, cfg, name, id_hint, ret_id, err);
	if (r == 0)
		write_etc_files(cs, ret_id, cfg);
	else
		volume_remove_anonymous(cs->root, cfg);
	json_decref(cfg);
	return r;
}

/* ---- start / stop ---- */

bool ctr_is_running(json_t *state)
{
	const char *s = jsonx_str(state, "Status");
	return s && (!strcmp(s, "running") || !strcmp(s, "restarting") || !strcmp(s, "paused"));
}

static int read_line(int fd, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n - 1) {
		ssize_t r = read(fd, buf + got, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = 0;
	return (int)got;
}

int ctr_start(struct ctr_store *s, const char *id, const struct monitor_attach *a, int *ret_status_fd,
	      int *ret_code, struct berr **err)
{
	*ret_code = 125;
	_cleanup_close_ int lk = ctr_lock(s, id, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *st = ctr_state(s, id, err);
	if (!st)
		return -1;
	pid_t mpid = (pid_t)json_integer_value(json_object_get(st, "MonitorPid"));
	unsigned long long mstart = (unsigned long long)json_integer_value(json_object_get(st, "MonitorStart"));
	if (ctr_is_running(st) || (mpid > 0 && proc_alive(mpid, mstart))) {
		*ret_code = 0;
		return 1; /* already running, or being started: nothing to do */
	}
	_cleanup_close_ int dfd = ctr_dirfd(s, id);
	if (dfd >= 0)
		unlinkat(dfd, "stop-requested", 0);
	int sfd;
	if (monitor_spawn(s, id, a, &sfd, &mpid, err) < 0)
		return -1;
	/* until the monitor records "running", its pid tells a concurrent
	 * start that this one is under way (we still hold the lock) */
	json_object_set_new(st, "MonitorPid", json_integer(mpid));
	json_object_set_new(st, "MonitorStart", json_integer((json_int_t)proc_start_time(mpid)));
	ctr_state_write(s, id, st, NULL);
	close(lk);
	lk = -1;
	char line[2048];
	if (read_line(sfd, line, sizeof(line)) <= 0) {
		close(sfd);
		return berr_set(err, 0, "the container's monitor exited before starting it");
	}
	if (!strncmp(line, "error ", 6)) {
		char *sp = strchr(line + 6, ' ');
		*ret_code = atoi(line + 6);
		close(sfd);
		return berr_setc(err, BERR_INVALID, "%s", sp ? sp + 1 : line + 6);
	}
	*ret_code = 0;
	if (ret_status_fd)
		*ret_status_fd = sfd;
	else
		close(sfd);
	return 0;
}

int ctr_wait_status(int status_fd)
{
	char line[256];
	while (read_line(status_fd, line, sizeof(line)) > 0) {
		if (!strncmp(line, "exited ", 7))
			return atoi(line + 7);
		if (!strcmp(line, "detached"))
			return CTR_DETACHED;
	}
	return -1;
}

static int pidfd_open_(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

struct stopper {
	char id[65];
	pid_t pid, mpid;
	unsigned long long pstart, mstart;
	int pfd, mfd;
	bool done;
};

static int stop_signal_of(json_t *cfg)
{
	const char *ss = jsonx_str(json_object_get(cfg, "Config"), "StopSignal");
	int sig = SIGTERM;
	if (ss)
		signal_parse(ss, &sig, NULL);
	return sig;
}

static void mark_stop(struct ctr_store *s, const char *id)
{
	_cleanup_close_ int dfd = ctr_dirfd(s, id);
	if (dfd >= 0) {
		int fd = openat(dfd, "stop-requested", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
}

static void kill_all(const char *id, pid_t pid, unsigned long long pstart)
{
	struct cgroup *cg = NULL;
	struct berr *e = NULL;
	if (cgroup_open(id, &cg, &e) == 0) {
		cgroup_kill(cg, SIGKILL, &e);
		cgroup_freeze(cg, false, NULL); /* frozen tasks die only once thawed */
		cgroup_free(cg);
	}
	berr_free(e);
	if (pid > 0 && proc_alive(pid, pstart))
		kill(pid, SIGKILL);
}

int ctr_stop_many(struct ctr_store *s, char (*ids)[65], size_t n, int timeout, json_t *errs)
{
	return ctr_stop_many_sig(s, ids, n, timeout, 0, errs);
}

int ctr_stop_many_sig(struct ctr_store *s, char (*ids)[65], size_t n, int timeout, int sig, json_t *errs)
{
	struct stopper *st = calloc(n ? n : 1, sizeof(*st));
	int maxt = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(st[i].id, ids[i], 65);
		st[i].pfd = st[i].mfd = -1;
		struct berr *e = NULL;
		_cleanup_json_ json_t *state = ctr_state(s, ids[i], &e);
		_cleanup_json_ json_t *cfg = ctr_config(s, ids[i], NULL);
		if (!state) {
			json_array_append_new(errs, json_string(e->msg));
			berr_free(e);
			st[i].done = true;
			continue;
		}
		mark_stop(s, ids[i]);
		if (!ctr_is_running(state)) {
			st[i].done = true;
			continue;
		}
		st[i].pid = (pid_t)json_integer_value(json_object_get(state, "Pid"));
		st[i].pstart = (unsigned long long)json_integer_value(json_object_get(state, "PidStart"));
		st[i].mpid = (pid_t)json_integer_value(json_object_get(state, "MonitorPid"));
		st[i].mstart = (unsigned long long)json_integer_value(json_object_get(state, "MonitorStart"));
		int t = timeout;
		if (t < 0) {
			json_t *ct = json_object_get(json_object_get(cfg, "Config"), "StopTimeout");
			t = json_is_integer(ct) ? (int)json_integer_value(ct) : 10;
		}
		if (t > maxt)
			maxt = t;
		if (st[i].mpid > 0 && proc_alive(st[i].mpid, st[i].mstart))
			st[i].mfd = pidfd_open_(st[i].mpid);
		if (!(st[i].pid > 0 && proc_alive(st[i].pid, st[i].pstart)) && st[i].mfd >= 0) {
			/* restarting: wake the monitor from its back-off, it sees
			 * stop-requested and records the exit */
			kill(st[i].mpid, SIGTERM);
		} else if (st[i].pid > 0 && proc_alive(st[i].pid, st[i].pstart)) {
			st[i].pfd = pidfd_open_(st[i].pid);
			/* a paused container cannot handle its stop signal; only a
			 * paused one is thawed here (opening every controller costs
			 * more than the rest of a stop), a frozen one the state
			 * missed is thawed by kill_all at the timeout */
			const char *status = jsonx_str(state, "Status");
			struct cgroup *cg = NULL;
			struct berr *e2 = NULL;
			if (status && !strcmp(status, "paused") && cgroup_open(ids[i], &cg, &e2) == 0) {
				cgroup_freeze(cg, false, NULL);
				cgroup_free(cg);
			}
			berr_free(e2);
			kill(st[i].pid, t == 0 ? SIGKILL : sig > 0 ? sig : stop_signal_of(cfg));
			if (t == 0)
				kill_all(ids[i], st[i].pid, st[i].pstart);
		}
	}
	/* wait for every container's pid 1, then for its monitor (state final) */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool killed = false;
	for (;;) {
		struct pollfd *pf = calloc(2 * n + 1, sizeof(*pf));
		size_t *who = calloc(2 * n + 1, sizeof(*who));
		int np = 0;
		for (size_t i = 0; i < n; i++) {
			if (st[i].done)
				continue;
			int fd = st[i].pfd >= 0 ? st[i].pfd : st[i].mfd;
			if (fd < 0) {
				st[i].done = true;
				continue;
			}
			pf[np] = (struct pollfd){.fd = fd, .events = POLLIN};
			who[np++] = i;
		}
		if (np == 0) {
			free(pf);
			free(who);
			break;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		long left = killed ? 5000 : (long)maxt * 1000 - elapsed;
		if (left < 0)
			left = 0;
		int r = poll(pf, (nfds_t)np, (int)left);
		if (r == 0 && !killed) {
			/* also those whose monitor was restarting them (it may have
			 * started a new pid 1 meanwhile): the whole cgroup */
			for (size_t i = 0; i < n; i++)
				if (!st[i].done)
					kill_all(st[i].id, st[i].pid, st[i].pstart);
			killed = true;
		} else if (r == 0) {
			free(pf);
			free(who);
			break;
		}
		for (int k = 0; k < np && r > 0; k++) {
			if (!pf[k].revents)
				continue;
			struct stopper *x = &st[who[k]];
			if (pf[k].fd == x->pfd) {
				close(x->pfd);
				x->pfd = -1;
			} else {
				close(x->mfd);
				x->mfd = -1;
				x->done = true;
			}
		}
		free(pf);
		free(who);
	}
	for (size_t i = 0; i < n; i++) {
		if (st[i].pfd >= 0)
			close(st[i].pfd);
		if (st[i].mfd >= 0)
			close(st[i].mfd);
	}
	free(st);
	return json_array_size(errs) ? -1 : 0;
}

int ctr_kill(struct ctr_store *s, const char *id, int sig, struct berr **err)
{
	_cleanup_json_ json_t *state = ctr_state(s, id, err);
	if (!state)
		return -1;
	_cleanup_json_ json_t *cfg = ctr_config(s, id, NULL);
	const char *name = jsonx_str(cfg, "Name");
	pid_t pid = (pid_t)json_integer_value(json_object_get(state, "Pid"));
	unsigned long long ps = (unsigned long long)json_integer_value(json_object_get(state, "PidStart"));
	if (!ctr_is_running(state) || pid <= 0 || !proc_alive(pid, ps))
		return berr_setc(err, BERR_CONFLICT, "cannot kill container: %s: container %.12s is not running",
				 name ? name : id, id);
	if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
		mark_stop(s, id);
	if (kill(pid, sig) < 0)
		return berr_set(err, errno, "killing container %s", name ? name : id);
	/* A frozen container cannot die: thaw it after SIGKILL, as Docker does. */
	const char *status = jsonx_str(state, "Status");
	if (sig == SIGKILL && status && !strcmp(status, "paused")) {
		struct cgroup *cg = NULL;
		struct berr *e = NULL;
		if (cgroup_open(id, &cg, &e) == 0) {
			cgroup_freeze(cg, false, NULL);
			cgroup_free(cg);
		}
		berr_free(e);
	}
	return 0;
}

int ctr_rm(struct ctr_store *s, const char *id, bool force, struct berr **err)
{
	_cleanup_json_ json_t *state = ctr_state(s, id, err);
	if (!state)
		return -1;
	_cleanup_json_ json_t *cfg = ctr_config(s, id, NULL);
	const char *name = jsonx_str(cfg, "Name");
	if (ctr_is_running(state)) {
		if (!force)
			return berr_setc(err, BERR_CONFLICT,
					 "cannot remove container \"/%s\": container is running: stop the container before removing or force remove",
					 name ? name : id);
		char one[1][65];
		memcpy(one[0], id, 65);
		_cleanup_json_ json_t *errs = json_array();
		ctr_stop_many(s, one, 1, 0, errs);
	}
	/* whatever a killed monitor left: cgroup, processes */
	struct cgroup *cg = NULL;
	struct berr *e = NULL;
	if (cgroup_open(id, &cg, &e) == 0) {
		cgroup_kill(cg, SIGKILL, NULL);
		cgroup_destroy(cg, NULL);
		cgroup_free(cg);
	}
	berr_free(e);
	/* whatever a killed monitor left on the networks: address, veth, DNS records */
	net_detach_all(s->root, s->runroot, id);
	return ctr_remove_files(s, id, err);
}

int ctr_wait_exit(struct ctr_store *s, const char *id, int *ret_code, struct berr **err)
{
	for (;;) {
		_cleanup_json_ json_t *state = ctr_state(s, id, err);
		if (!state)
			return -1;
		if (!ctr_is_running(state) || !strcmp(jsonx_str(state, "Status"), "restarting")) {
			const char *status = jsonx_str(state, "Status");
			if (strcmp(status, "restarting") && strcmp(status, "created")) {
				*ret_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
				return 0;
			}
		}
		pid_t mpid = (pid_t)json_integer_value(json_object_get(state, "MonitorPid"));
		int fd = mpid > 0 ? pidfd_open_(mpid) : -1;
		pid_t pid = (pid_t)json_integer_value(json_object_get(state, "Pid"));
		int pfd = pid > 0 ? pidfd_open_(pid) : -1;
		struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
		poll(pf, 2, fd < 0 && pfd < 0 ? 100 : 1000);
		if (fd >= 0)
			close(fd);
		if (pfd >= 0)
			close(pfd);
	}
}
