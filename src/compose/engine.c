/* The compose engine: finds the project's objects by their labels and
 * converges them on the project model.
 *
 * Why worker processes: independent services are created and started in
 * parallel. The runtime forks a monitor per container and is written for a
 * single-threaded caller, so the parallel unit is a forked worker process
 * per service (the parent stays single-threaded); the parent schedules
 * workers in dependency order and checks the depends_on conditions
 * (started, healthy, completed) from the containers' state files. */
#include "compose/engine.h"
#include "net/network.h"
#include "runtime/lifecycle.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *label(json_t *cfg, const char *k)
{
	return jsonx_str(json_object_get(json_object_get(cfg, "Config"), "Labels"), k);
}

static int ctr_cmp(const void *a, const void *b)
{
	const struct compose_ctr *x = a, *y = b;
	int c = strcmp(x->service, y->service);
	if (c)
		return c;
	if (x->oneoff != y->oneoff)
		return x->oneoff ? 1 : -1; /* one-off containers after the service's own */
	return x->number != y->number ? x->number - y->number : strcmp(x->name, y->name);
}

int compose_list_containers(struct ctr_store *cs, const char *project, bool oneoff, struct compose_ctrs *ret,
			    struct berr **err)
{
	_cleanup_json_ json_t *ids = ctr_list(cs);
	struct compose_ctrs r = {0};
	r.v = calloc(json_array_size(ids) + 1, sizeof(*r.v));
	if (!r.v)
		return berr_set(err, ENOMEM, "listing containers");
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		json_t *cfg = ctr_config(cs, id, NULL);
		const char *pr = label(cfg, CL_PROJECT);
		if (!pr || strcmp(pr, project)) {
			json_decref(cfg);
			continue;
		}
		const char *oo = label(cfg, CL_ONEOFF);
		bool is_oneoff = oo && !strcmp(oo, "True");
		if (is_oneoff && !oneoff) {
			json_decref(cfg);
			continue;
		}
		json_t *st = ctr_state(cs, id, NULL);
		if (!st) {
			/* removed meanwhile */
			json_decref(cfg);
			continue;
		}
		struct compose_ctr *c = &r.v[r.n++];
		snprintf(c->id, sizeof(c->id), "%s", id);
		const char *nm = jsonx_str(cfg, "Name");
		c->name = strdup(nm ? (nm[0] == '/' ? nm + 1 : nm) : id);
		c->service = strdup(label(cfg, CL_SERVICE) ? label(cfg, CL_SERVICE) : "");
		c->number = label(cfg, CL_NUMBER) ? atoi(label(cfg, CL_NUMBER)) : 0;
		c->oneoff = is_oneoff;
		c->config = cfg;
		c->state = st;
	}
	qsort(r.v, r.n, sizeof(*r.v), ctr_cmp);
	*ret = r;
	return 0;
}

void compose_ctrs_release(struct compose_ctrs *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].service);
		json_decref(c->v[i].config);
		json_decref(c->v[i].state);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

json_t *compose_list_projects(struct ctr_store *cs)
{
	_cleanup_json_ json_t *ids = ctr_list(cs);
	json_t *out = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		_cleanup_json_ json_t *cfg = ctr_config(cs, json_string_value(v), NULL);
		const char *pr = label(cfg, CL_PROJECT);
		if (!pr)
			continue;
		json_t *e = json_object_get(out, pr);
		if (!e) {
			const char *files = label(cfg, CL_FILES);
			json_object_set_new(out, pr, e = json_pack("{s:i, s:i, s:s}", "running", 0, "total", 0, "files",
								    files ? files : ""));
		}
		_cleanup_json_ json_t *st = ctr_state(cs, json_string_value(v), NULL);
		json_object_set_new(e, "total", json_integer(json_integer_value(json_object_get(e, "total")) + 1));
		if (ctr_is_running(st))
			json_object_set_new(e, "running", json_integer(json_integer_value(json_object_get(e, "running")) + 1));
	}
	return out;
}

int compose_select_ctrs(struct compose_engine *e, json_t *services, bool oneoff, struct compose_ctrs *ret,
			struct berr **err)
{
	struct compose_ctrs all;
	if (compose_list_containers(e->cs, e->p->name, oneoff, &all, err) < 0)
		return -1;
	if (!services) {
		*ret = all;
		return 0;
	}
	struct compose_ctrs r = {.v = calloc(all.n + 1, sizeof(*r.v))};
	if (!r.v) {
		compose_ctrs_release(&all);
		return berr_set(err, ENOMEM, "listing containers");
	}
	for (size_t i = 0; i < all.n; i++) {
		bool want = false;
		size_t j;
		json_t *s;
		json_array_foreach(services, j, s) want = want || !strcmp(json_string_value(s), all.v[i].service);
		if (want) {
			r.v[r.n++] = all.v[i];
		} else {
			free(all.v[i].name);
			free(all.v[i].service);
			json_decref(all.v[i].config);
			json_decref(all.v[i].state);
		}
	}
	free(all.v);
	*ret = r;
	return 0;
}

static void progress(struct compose_engine *e, const char *kind, const char *name, const char *status)
{
	if (e->ev.progress)
		e->ev.progress(e->ev.ud, kind, name, status);
}

static void warn(struct compose_engine *e, const char *msg)
{
	if (e->ev.warn)
		e->ev.warn(e->ev.ud, msg);
}

/* docker compose's warning about containers of services no longer in the
 * project (names: space-separated); releases names. */
static void warn_orphans(struct compose_engine *e, struct sbuf *names)
{
	char *m = NULL;
	if (names->len &&
	    asprintf(&m, "Found orphan containers ([%s]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
		     sbuf_str(names)) >= 0)
		warn(e, m);
	free(m);
	sbuf_release(names);
}

/* ---- networks and volumes ---- */

static const char *net_real_name(struct compose_engine *e, const char *key, char *buf, size_t n)
{
	const char *nm = jsonx_str(json_object_get(json_object_get(e->p->doc, "networks"), key), "name");
	if (nm)
		return nm;
	snprintf(buf, n, "%s_%s", e->p->name, key);
	return buf;
}

static bool is_external(json_t *def)
{
	json_t *x = json_object_get(def, "external");
	return json_is_true(x) || json_is_object(x);
}

/* The network keys the selected services use. */
static json_t *used_networks(struct compose_engine *e, json_t *services)
{
	json_t *used = json_object();
	json_t *svcs = json_object_get(e->p->doc, "services");
	size_t i;
	json_t *s;
	json_array_foreach(services, i, s) {
		json_t *svc = json_object_get(svcs, json_string_value(s));
		if (jsonx_str(svc, "network_mode"))
			continue;
		json_t *nets = json_object_get(svc, "networks");
		if (!json_object_size(nets)) {
			json_object_set_new(used, "default", json_true());
			continue;
		}
		const char *k;
		json_t *v;
		json_object_foreach(nets, k, v) json_object_set_new(used, k, json_true());
	}
	return used;
}

static int ensure_networks(struct compose_engine *e, json_t *services, struct berr **err)
{
	_cleanup_json_ json_t *used = used_networks(e, services);
	const char *k;
	json_t *v;
	json_object_foreach(used, k, v) {
		json_t *def = json_object_get(json_object_get(e->p->doc, "networks"), k);
		char buf[300];
		const char *real = net_real_name(e, k, buf, sizeof(buf));
		struct net nw;
		struct berr *le = NULL;
		if (net_load(e->root, real, &nw, &le) == 0) {
			net_release(&nw);
			continue;
		}
		bool notfound = le && le->code == BERR_NOT_FOUND;
		if (!notfound) {
			*err = le;
			return berr_wrap(err, "network %s", real);
		}
		berr_free(le);
		if (is_external(def))
			return berr_setc(err, BERR_NOT_FOUND,
					 "network %s declared as external, but could not be found", real);
		const char *drv = jsonx_str(def, "driver");
		if (drv && strcmp(drv, "bridge"))
			return berr_setc(err, BERR_INVALID, "network %s: driver %s is not supported (bridge is)", real, drv);
		_cleanup_json_ json_t *labels = json_object();
		json_object_update(labels, json_object_get(def, "labels"));
		json_object_set_new(labels, CL_PROJECT, json_string(e->p->name));
		json_object_set_new(labels, CL_NETWORK, json_string(k));
		json_object_set_new(labels, CL_VERSION, json_string(COMPOSE_VERSION));
		json_t *ipcfg = json_array_get(json_object_get(json_object_get(def, "ipam"), "config"), 0);
		struct net_create_opts o = {.name = real, .subnet = jsonx_str(ipcfg, "subnet"),
					    .gateway = jsonx_str(ipcfg, "gateway"),
					    .internal = json_is_true(json_object_get(def, "internal")), .labels = labels};
		progress(e, "Network", real, "Creating");
		if (net_create(e->root, e->runroot, &o, &nw, err) < 0) {
			/* a concurrent up may have made it */
			struct net again;
			struct berr *ae = NULL;
			if (net_load(e->root, real, &again, &ae) == 0) {
				net_release(&again);
				berr_freep(err);
				progress(e, "Network", real, "Created");
				continue;
			}
			berr_free(ae);
			progress(e, "Network", real, "Error");
			return berr_wrap(err, "network %s", real);
		}
		net_release(&nw);
		progress(e, "Network", real, "Created");
	}
	return 0;
}

static int ensure_volumes(struct compose_engine *e, json_t *services, struct berr **err)
{
	/* the named volumes the selected services mount */
	json_t *svcs = json_object_get(e->p->doc, "services");
	_cleanup_json_ json_t *used = json_object();
	size_t i, j;
	json_t *s, *v;
	json_array_foreach(services, i, s) {
		json_array_foreach(json_object_get(json_object_get(svcs, json_string_value(s)), "volumes"), j, v) {
			const char *t = jsonx_str(v, "type"), *src = jsonx_str(v, "source");
			if ((!t || !strcmp(t, "volume")) && src && *src)
				json_object_set_new(used, src, json_true());
		}
	}
	const char *k;
	json_object_foreach(used, k, v) {
		json_t *def = json_object_get(json_object_get(e->p->doc, "volumes"), k);
		const char *real = jsonx_str(def, "name");
		char buf[300];
		if (!real) {
			snprintf(buf, sizeof(buf), "%s_%s", e->p->name, k);
			real = buf;
		}
		struct berr *ie = NULL;
		json_t *have = volume_inspect(e->root, real, &ie);
		berr_free(ie);
		if (have) {
			json_decref(have);
			continue;
		}
		if (is_external(def))
			return berr_setc(err, BERR_NOT_FOUND, "external volume \"%s\" not found", real);
		const char *drv = jsonx_str(def, "driver");
		if (drv && strcmp(drv, "local"))
			return berr_setc(err, BERR_INVALID, "volume %s: driver %s is not supported (local is)", real, drv);
		_cleanup_json_ json_t *labels = json_object();
		json_object_update(labels, json_object_get(def, "labels"));
		json_object_set_new(labels, CL_PROJECT, json_string(e->p->name));
		json_object_set_new(labels, CL_VOLUME, json_string(k));
		json_object_set_new(labels, CL_VERSION, json_string(COMPOSE_VERSION));
		char got[256];
		progress(e, "Volume", real, "Creating");
		if (volume_create(e->root, real, labels, json_object_get(def, "driver_opts"), got, err) < 0) {
			progress(e, "Volume", real, "Error");
			return berr_wrap(err, "volume %s", real);
		}
		progress(e, "Volume", real, "Created");
	}
	return 0;
}

int compose_ensure_resources(struct compose_engine *e, json_t *services, struct berr **err)
{
	if (ensure_networks(e, services, err) < 0 || ensure_volumes(e, services, err) < 0)
		return -1;
	return 0;
}

int compose_resolve_host_gateway(struct compose_engine *e, json_t *req, struct berr **err)
{
	json_t *hc = json_object_get(req, "HostConfig");
	json_t *eh = json_object_get(hc, "ExtraHosts");
	size_t i;
	json_t *v;
	json_array_foreach(eh, i, v) {
		const char *s = json_string_value(v);
		const char *colon = s ? strchr(s, ':') : NULL;
		if (!colon || strcmp(colon + 1, "host-gateway"))
			continue;
		const char *mode = jsonx_str(hc, "NetworkMode");
		struct net nw;
		if (!net_mode_is_network(mode))
			return berr_setc(err, BERR_INVALID, "extra_hosts %s: host-gateway needs a bridge network", s);
		if (net_load(e->root, !strcmp(mode, "default") ? NET_DEFAULT_NAME : mode, &nw, err) < 0)
			return -1;
		json_array_set_new(eh, i, json_sprintf("%.*s:%s", (int)(colon - s), s, nw.gateway));
		net_release(&nw);
	}
	return 0;
}

int compose_connect_networks(struct compose_engine *e, const char *service, const char *id, bool aliases,
			     struct berr **err)
{
	json_t *svc = json_object_get(json_object_get(e->p->doc, "services"), service);
	json_t *nets = json_object_get(svc, "networks");
	if (json_object_size(nets) < 2 || jsonx_str(svc, "network_mode"))
		return 0;
	const char *primary = compose_primary_network(svc);
	/* the order docker compose connects them in: priority, then name */
	_cleanup_json_ json_t *todo = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(nets, k, v) if (strcmp(k, primary)) json_array_append_new(todo, json_string(k));
	size_t n = json_array_size(todo);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			const char *a = json_string_value(json_array_get(todo, i)), *b = json_string_value(json_array_get(todo, j));
			json_t *pa = json_object_get(json_object_get(nets, a), "priority"),
			       *pb = json_object_get(json_object_get(nets, b), "priority");
			json_int_t xa = json_integer_value(pa), xb = json_integer_value(pb);
			if (xb > xa || (xb == xa && strcmp(b, a) < 0)) {
				json_t *ta = json_incref(json_array_get(todo, i));
				json_array_set(todo, i, json_array_get(todo, j));
				json_array_set_new(todo, j, ta);
			}
		}
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/containers/%s", e->root, id);
	int lk = ctr_lock(e->cs, id, err);
	if (lk < 0)
		return -1;
	int rc = 0;
	size_t i;
	json_array_foreach(todo, i, v) {
		const char *key = json_string_value(v);
		json_t *ncfg = json_object_get(nets, key);
		char buf[300];
		const char *real = net_real_name(e, key, buf, sizeof(buf));
		_cleanup_json_ json_t *al = json_array();
		if (aliases) {
			json_array_append_new(al, json_string(service));
			size_t j;
			json_t *a;
			json_array_foreach(json_object_get(ncfg, "aliases"), j, a) if (json_is_string(a)) json_array_append(al, a);
		}
		_cleanup_json_ json_t *cfg = ctr_config(e->cs, id, err);
		if (!cfg || net_connect(e->root, e->runroot, cfg, id, dir, 0, real, al, jsonx_str(ncfg, "ipv4_address"), err) < 0) {
			rc = berr_wrap(err, "connecting to network %s", real);
			break;
		}
	}
	close(lk);
	return rc;
}

/* ---- the plan ---- */

enum act { A_KEEP, A_START, A_CREATE, A_RECREATE, A_REMOVE };

struct action {
	enum act a;
	int number;
	char id[65];  /* existing container */
	char *name;   /* existing name */
};

struct svcplan {
	const char *name;
	json_t *svc;
	char hash[65];
	char *image_id;
	struct action *acts;
	size_t nacts;
	int state; /* 0 pending, 1 working, 2 done, 3 failed, 4 skipped */
	pid_t pid;
	int errfd;
	struct sbuf errmsg;
};

static int image_id_of(struct compose_engine *e, json_t *idx, const char *service, json_t *svc, char **ret,
		       struct berr **err)
{
	_cleanup_free_ char *img = compose_service_image(e->p, service, svc);
	struct berr *le = NULL;
	if (image_store_resolve(idx, img, ret, NULL, &le) == 0)
		return 0;
	berr_free(le);
	if (json_object_get(svc, "build"))
		return berr_setc(err, BERR_NOT_FOUND,
				 "service \"%s\": image %s has not been built (berth compose build %s)", service, img, service);
	return berr_setc(err, BERR_NOT_FOUND, "service \"%s\": image %s not found locally (berth compose pull %s)",
			 service, img, service);
}

static void plan_release(struct svcplan *sp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sp[i].nacts; j++)
			free(sp[i].acts[j].name);
		free(sp[i].acts);
		free(sp[i].image_id);
		sbuf_release(&sp[i].errmsg);
		if (sp[i].errfd >= 0)
			close(sp[i].errfd);
	}
	free(sp);
}

static void add_act(struct svcplan *sp, enum act a, int number, const struct compose_ctr *c)
{
	struct action *x = &sp->acts[sp->nacts++];
	x->a = a;
	x->number = number;
	if (c) {
		snprintf(x->id, sizeof(x->id), "%s", c->id);
		x->name = strdup(c->name);
	}
}

/* Stop one container (its own stop timeout when timeout < 0), then remove
 * it with its anonymous volumes. With say, the progress lines docker
 * compose prints for a removal: Stopping, Stopped, Removing, Removed. */
static int stop_remove(struct compose_engine *e, const char *id, const char *name, int timeout, bool say,
		       struct berr **err)
{
	_cleanup_json_ json_t *st = ctr_state(e->cs, id, NULL);
	if (st && ctr_is_running(st)) {
		char ids[1][65];
		snprintf(ids[0], sizeof(ids[0]), "%s", id);
		_cleanup_json_ json_t *errs = json_array();
		if (say)
			progress(e, "Container", name, "Stopping");
		ctr_stop_many(e->cs, ids, 1, timeout, errs);
		if (say)
			progress(e, "Container", name, "Stopped");
	}
	if (say)
		progress(e, "Container", name, "Removing");
	_cleanup_json_ json_t *cfg = ctr_config(e->cs, id, NULL);
	if (ctr_rm(e->cs, id, true, err) < 0) {
		if (say)
			progress(e, "Container", name, "Error");
		return berr_wrap(err, "removing container %s", name);
	}
	if (cfg)
		volume_remove_anonymous(e->root, cfg);
	if (say)
		progress(e, "Container", name, "Removed");
	return 0;
}

/* Fork a worker process that runs fn(e, ctx, &err) and exits 0, or 1
 * after writing the error message to the pipe whose read end is
 * *ret_fd (EOF when the worker is gone). Fork, not exec: the worker
 * shares the loaded project. Returns the pid or -1 with err. */
static pid_t fork_worker(struct compose_engine *e, int (*fn)(struct compose_engine *e, void *ctx, struct berr **err),
			 void *ctx, int *ret_fd, struct berr **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return berr_set(err, errno, "pipe");
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return berr_set(err, errno, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		struct berr *we = NULL;
		int r = fn(e, ctx, &we);
		if (r < 0 && we)
			fs_write_full(p[1], we->msg, strlen(we->msg));
		_exit(r < 0 ? 1 : 0);
	}
	close(p[1]);
	*ret_fd = p[0];
	return pid;
}

/* At most this many workers of fork_each at once (each holds a pipe). */
#define FORK_EACH_MAX 64

struct forked {
	pid_t pid;
	int fd;
};

/* Reap one worker of fork_each: its error message (if it failed) becomes
 * *err unless an earlier one is there. Returns 0 or -1. */
static int reap(struct forked *w, struct berr **err)
{
	char msg[1024];
	ssize_t got = fs_read_full(w->fd, msg, sizeof(msg) - 1);
	close(w->fd);
	int status = 0;
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	msg[got > 0 ? got : 0] = 0;
	if (!*err)
		berr_setc(err, BERR_GENERIC, "%s", got > 0 ? msg : "worker failed");
	return -1;
}

/* Run fn(e, i, arg) for every i < n, each in a forked worker (independent
 * jobs in parallel; the runtime wants a single-threaded caller, so the
 * unit of parallelism is a process). Fork, not exec: the workers share
 * the loaded project. Returns 0, or -1 with the first failure in err. */
struct each_call {
	int (*fn)(struct compose_engine *e, size_t i, void *arg, struct berr **err);
	size_t i;
	void *arg;
};

static int each_call(struct compose_engine *e, void *ctx, struct berr **err)
{
	struct each_call *c = ctx;
	return c->fn(e, c->i, c->arg, err);
}

static int fork_each(struct compose_engine *e, size_t n,
		     int (*fn)(struct compose_engine *e, size_t i, void *arg, struct berr **err), void *arg,
		     struct berr **err)
{
	struct forked w[FORK_EACH_MAX];
	size_t nw = 0, head = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (nw - head == FORK_EACH_MAX && reap(&w[head++ % FORK_EACH_MAX], err) < 0)
			rc = -1;
		struct each_call c = {.fn = fn, .i = i, .arg = arg};
		struct berr *fe = NULL;
		int fd;
		pid_t pid = fork_worker(e, each_call, &c, &fd, &fe);
		if (pid < 0) {
			rc = -1;
			if (!*err)
				*err = fe;
			else
				berr_free(fe);
			break;
		}
		w[nw++ % FORK_EACH_MAX] = (struct forked){.pid = pid, .fd = fd};
	}
	while (head < nw)
		if (reap(&w[head++ % FORK_EACH_MAX], err) < 0)
			rc = -1;
	return rc;
}

/* In a worker: carry out one service's actions. Returns 0 or -1 with err. */
static int run_service(struct compose_engine *e, struct svcplan *sp, const struct compose_up_opts *o,
		       struct berr **err)
{
	_cleanup_json_ json_t *warns = json_array();
	for (size_t i = 0; i < sp->nacts; i++) {
		struct action *a = &sp->acts[i];
		_cleanup_free_ char *name = compose_container_name(e->p, sp->name, sp->svc, a->number);
		char id[65];
		snprintf(id, sizeof(id), "%s", a->id);
		if (a->a == A_REMOVE) {
			if (stop_remove(e, a->id, a->name, o->timeout, true, err) < 0)
				return -1;
			continue;
		}
		if (a->a == A_RECREATE) {
			progress(e, "Container", a->name, "Recreate");
			if (stop_remove(e, a->id, a->name, o->timeout, false, err) < 0)
				return -1;
		}
		if (a->a == A_CREATE || a->a == A_RECREATE) {
			_cleanup_json_ json_t *req = NULL;
			if (compose_service_request(e->p, sp->name, a->number, sp->hash, warns, &req, err) < 0)
				return -1;
			json_object_set_new(json_object_get(req, "Labels"), CL_IMAGE, json_string(sp->image_id));
			if (compose_resolve_host_gateway(e, req, err) < 0)
				return berr_wrap(err, "service \"%s\"", sp->name);
			if (a->a == A_CREATE)
				progress(e, "Container", name, "Creating");
			if (ctr_create_from(e->cs, e->is, req, name, id, err) < 0) {
				progress(e, "Container", name, "Error");
				return berr_wrap(err, "creating container %s", name);
			}
			if (compose_connect_networks(e, sp->name, id, true, err) < 0) {
				progress(e, "Container", name, "Error");
				ctr_rm(e->cs, id, true, NULL);
				return berr_wrap(err, "creating container %s", name);
			}
			progress(e, "Container", name, a->a == A_CREATE ? "Created" : "Recreated");
		}
		if (o->no_start || a->a == A_KEEP)
			continue;
		progress(e, "Container", name, "Starting");
		struct monitor_attach ma = {.attach = false, .in = -1, .out = -1, .err = -1};
		int code;
		if (ctr_start(e->cs, id, &ma, NULL, &code, err) < 0) {
			progress(e, "Container", name, "Error");
			return berr_wrap(err, "starting container %s", name);
		}
		progress(e, "Container", name, "Started");
	}
	return 0;
}

struct service_call {
	struct svcplan *sp;
	const struct compose_up_opts *o;
};

static int service_call(struct compose_engine *e, void *ctx, struct berr **err)
{
	struct service_call *c = ctx;
	return run_service(e, c->sp, c->o, err);
}

static int spawn_worker(struct compose_engine *e, struct svcplan *sp, const struct compose_up_opts *o,
			struct berr **err)
{
	struct service_call c = {.sp = sp, .o = o};
	int fd;
	pid_t pid = fork_worker(e, service_call, &c, &fd, err);
	if (pid < 0)
		return -1;
	sp->pid = pid;
	sp->errfd = fd;
	sp->state = 1;
	return 0;
}

/* The depends_on condition of dep for its dependent: 1 met, 0 not yet,
 * -1 never (err says why). */
static int condition_met(struct compose_engine *e, struct svcplan *dep, const char *cond, struct berr **err)
{
	if (dep->state == 3)
		return berr_setc(err, BERR_GENERIC, "dependency failed to start: service \"%s\"", dep->name);
	if (dep->state != 2)
		return 0;
	if (!cond || !strcmp(cond, "service_started"))
		return 1;
	struct compose_ctrs cs;
	_cleanup_json_ json_t *one = json_pack("[s]", dep->name);
	if (compose_select_ctrs(e, one, false, &cs, err) < 0)
		return -1;
	int r = 1;
	for (size_t i = 0; i < cs.n && r == 1; i++) {
		json_t *st = cs.v[i].state;
		const char *status = jsonx_str(st, "Status");
		int code = (int)json_integer_value(json_object_get(st, "ExitCode"));
		if (!strcmp(cond, "service_healthy")) {
			const char *h = jsonx_str(json_object_get(st, "Health"), "Status");
			if (!h) {
				r = berr_setc(err, BERR_INVALID, "dependency failed to start: container %s has no healthcheck configured",
					      cs.v[i].name);
			} else if (status && (!strcmp(status, "exited") || !strcmp(status, "dead"))) {
				r = berr_setc(err, BERR_GENERIC, "dependency failed to start: container %s exited (%d)", cs.v[i].name,
					      code);
			} else if (!strcmp(h, "healthy")) {
				;
			} else if (!strcmp(h, "unhealthy")) {
				r = berr_setc(err, BERR_GENERIC, "dependency failed to start: container %s is unhealthy", cs.v[i].name);
			} else {
				r = 0;
			}
		} else if (!strcmp(cond, "service_completed_successfully")) {
			if (status && (!strcmp(status, "exited") || !strcmp(status, "dead"))) {
				if (code != 0)
					r = berr_setc(err, BERR_GENERIC, "service \"%s\" didn't complete successfully: exit %d",
						      dep->name, code);
			} else {
				r = 0;
			}
		}
	}
	compose_ctrs_release(&cs);
	return r;
}

static struct svcplan *find_plan(struct svcplan *sp, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(sp[i].name, name))
			return &sp[i];
	return NULL;
}

static int schedule(struct compose_engine *e, struct svcplan *sp, size_t n, const struct compose_up_opts *o,
		    struct berr **err)
{
	size_t finished = 0;
	int rc = 0;
	struct berr *first = NULL;
	for (size_t i = 0; i < n; i++)
		if (sp[i].nacts == 0) {
			sp[i].state = 2;
			finished++;
		}
	while (finished < n) {
		int active = 0;
		for (size_t i = 0; i < n; i++) {
			if (sp[i].state == 1)
				active++;
			if (sp[i].state != 0)
				continue;
			int ready = 1;
			const char *d;
			json_t *dv;
			json_object_foreach(json_object_get(sp[i].svc, "depends_on"), d, dv) {
				struct svcplan *dep = find_plan(sp, n, d);
				if (!dep)
					continue; /* not selected (--no-deps) or optional and absent */
				struct berr *ce = NULL;
				int m = o->no_start ? (dep->state == 2 ? 1 : dep->state == 3 ? -1 : 0)
						    : condition_met(e, dep, jsonx_str(dv, "condition"), &ce);
				json_t *req = json_object_get(dv, "required");
				if (m < 0 && req && !json_is_true(req)) {
					berr_free(ce);
					continue;
				}
				if (m < 0) {
					if (!ce)
						berr_setc(&ce, BERR_GENERIC, "dependency %s failed", d);
					berr_wrap(&ce, "service \"%s\"", sp[i].name);
					if (!first)
						first = ce;
					else
						berr_free(ce);
					sp[i].state = 3;
					finished++;
					ready = -1;
					break;
				}
				if (m == 0)
					ready = 0;
			}
			if (ready != 1)
				continue;
			struct berr *se = NULL;
			if (spawn_worker(e, &sp[i], o, &se) < 0) {
				if (!first)
					first = se;
				else
					berr_free(se);
				sp[i].state = 3;
				finished++;
				continue;
			}
			active++;
		}
		if (finished >= n)
			break;
		/* wait for a worker or poll conditions */
		struct pollfd pf[n + 1];
		size_t np = 0;
		for (size_t i = 0; i < n; i++)
			if (sp[i].state == 1)
				pf[np++] = (struct pollfd){.fd = sp[i].errfd, .events = POLLIN};
		if (np == 0 && active == 0) {
			/* only conditions pending */
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		int r = poll(pf, np, 50);
		if (r < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < n; i++) {
			if (sp[i].state != 1)
				continue;
			char buf[1024];
			ssize_t got;
			struct pollfd one = {.fd = sp[i].errfd, .events = POLLIN};
			if (poll(&one, 1, 0) <= 0)
				continue;
			got = read(sp[i].errfd, buf, sizeof(buf));
			if (got > 0) {
				sbuf_add(&sp[i].errmsg, buf, (size_t)got);
				continue;
			}
			if (got < 0 && errno == EINTR)
				continue;
			int status = 0;
			while (waitpid(sp[i].pid, &status, 0) < 0 && errno == EINTR)
				;
			close(sp[i].errfd);
			sp[i].errfd = -1;
			finished++;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				sp[i].state = 2;
			} else {
				sp[i].state = 3;
				if (!first)
					berr_setc(&first, BERR_GENERIC, "%s",
						  sp[i].errmsg.len ? sbuf_str(&sp[i].errmsg) : "service failed");
			}
		}
	}
	if (first) {
		*err = first;
		rc = -1;
	}
	return rc;
}

int compose_wait_deps(struct compose_engine *e, const char *service, int timeout, struct berr **err)
{
	json_t *svcs = json_object_get(e->p->doc, "services");
	json_t *deps = json_object_get(json_object_get(svcs, service), "depends_on");
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		bool all = true;
		const char *d;
		json_t *dv;
		json_object_foreach(deps, d, dv) {
			if (!json_object_get(svcs, d))
				continue;
			struct svcplan dep = {.name = d, .state = 2, .errfd = -1};
			struct berr *ce = NULL;
			int m = condition_met(e, &dep, jsonx_str(dv, "condition"), &ce);
			json_t *req = json_object_get(dv, "required");
			if (m < 0 && req && !json_is_true(req)) {
				berr_free(ce);
				continue;
			}
			if (m < 0) {
				*err = ce;
				return berr_wrap(err, "service \"%s\"", service);
			}
			all = all && m == 1;
		}
		if (all)
			return 0;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout > 0 && now.tv_sec - t0.tv_sec >= timeout)
			return berr_setc(err, BERR_GENERIC, "service \"%s\": timeout waiting for its dependencies", service);
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int wait_ready(struct compose_engine *e, json_t *services, int timeout, struct berr **err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct compose_ctrs cs;
		if (compose_select_ctrs(e, services, false, &cs, err) < 0)
			return -1;
		bool all = true;
		int r = 0;
		for (size_t i = 0; i < cs.n; i++) {
			json_t *st = cs.v[i].state;
			const char *status = jsonx_str(st, "Status");
			const char *h = jsonx_str(json_object_get(st, "Health"), "Status");
			if (status && !strcmp(status, "exited")) {
				int code = (int)json_integer_value(json_object_get(st, "ExitCode"));
				if (code) {
					r = berr_setc(err, BERR_GENERIC, "container %s exited (%d)", cs.v[i].name, code);
					break;
				}
				continue;
			}
			if (h && !strcmp(h, "unhealthy")) {
				r = berr_setc(err, BERR_GENERIC, "container %s is unhealthy", cs.v[i].name);
				break;
			}
			if (!ctr_is_running(st) || (h && strcmp(h, "healthy")))
				all = false;
		}
		compose_ctrs_release(&cs);
		if (r < 0)
			return -1;
		if (all)
			return 0;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout > 0 && now.tv_sec - t0.tv_sec >= timeout)
			return berr_setc(err, BERR_GENERIC, "timeout waiting for the project to be running and healthy");
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* The actions that converge one service's containers (have: the
 * project's) on its model: keep, start, create, recreate, remove. */
static int plan_service(struct compose_engine *e, struct svcplan *sp, const struct compose_ctrs *have,
			const struct compose_up_opts *o, struct berr **err)
{
	int want = compose_service_replicas(sp->svc);
	json_t *sc = json_object_get(o->scale, sp->name);
	if (json_is_integer(sc))
		want = (int)json_integer_value(sc);
	if (want < 0 || want > COMPOSE_MAX_REPLICAS)
		return berr_setc(err, BERR_INVALID, "service \"%s\": %d replicas: the number must be 0 to %d", sp->name,
				 want, COMPOSE_MAX_REPLICAS);
	if (want > 1 && jsonx_str(sp->svc, "container_name"))
		return berr_setc(err, BERR_INVALID, "service \"%s\": container_name is set, so it cannot have %d replicas",
				 sp->name, want);
	size_t cnt = 0;
	for (size_t j = 0; j < have->n; j++)
		cnt += !strcmp(have->v[j].service, sp->name);
	sp->acts = calloc(cnt + (size_t)want + 1, sizeof(*sp->acts));
	_cleanup_free_ bool *taken = calloc((size_t)want + 2, 1);
	if (!sp->acts || !taken)
		return berr_set(err, ENOMEM, "service \"%s\"", sp->name);
	int kept = 0;
	for (size_t j = 0; j < have->n; j++) {
		const struct compose_ctr *c = &have->v[j];
		if (strcmp(c->service, sp->name))
			continue;
		if (c->number < 1 || c->number > want || taken[c->number] || kept >= want) {
			add_act(sp, A_REMOVE, c->number, c);
			continue;
		}
		taken[c->number] = true;
		kept++;
		const char *h = label(c->config, CL_HASH);
		const char *img = jsonx_str(c->config, "Image");
		bool same = h && !strcmp(h, sp->hash) && img && !strcmp(img, sp->image_id);
		if (o->force_recreate || (!same && !o->no_recreate))
			add_act(sp, A_RECREATE, c->number, c);
		else if (!ctr_is_running(c->state) && !o->no_start)
			add_act(sp, A_START, c->number, c);
		else
			progress(e, "Container", c->name, "Running");
	}
	for (int num = 1; kept < want && num <= want + (int)cnt; num++) {
		if (num <= want && taken[num])
			continue;
		add_act(sp, A_CREATE, num, NULL);
		kept++;
	}
	return 0;
}

/* Containers of services no longer in the project: removed with
 * --remove-orphans, else named in docker compose's warning. */
static void handle_orphans(struct compose_engine *e, const struct compose_ctrs *have, const struct compose_up_opts *o)
{
	json_t *svcs = json_object_get(e->p->doc, "services");
	struct sbuf orph = SBUF_INIT;
	for (size_t i = 0; i < have->n; i++) {
		if (json_object_get(svcs, have->v[i].service))
			continue;
		if (o->remove_orphans) {
			struct berr *oe = NULL;
			if (stop_remove(e, have->v[i].id, have->v[i].name, o->timeout, true, &oe) < 0)
				warn(e, oe->msg);
			berr_free(oe);
		} else {
			sbuf_addf(&orph, "%s%s", orph.len ? " " : "", have->v[i].name);
		}
	}
	warn_orphans(e, &orph);
}

int compose_orphans(struct compose_engine *e, bool remove, int timeout, struct berr **err)
{
	struct compose_ctrs have;
	if (compose_list_containers(e->cs, e->p->name, false, &have, err) < 0)
		return -1;
	struct compose_up_opts o = {.remove_orphans = remove, .timeout = timeout};
	handle_orphans(e, &have, &o);
	compose_ctrs_release(&have);
	return 0;
}

int compose_up(struct compose_engine *e, const struct compose_up_opts *o, struct berr **err)
{
	json_t *svcs = json_object_get(e->p->doc, "services");
	/* the whole graph first: a cycle anywhere is an error before anything exists */
	_cleanup_json_ json_t *waves = NULL;
	if (compose_graph_waves(svcs, &waves, err) < 0)
		return -1;
	size_t n = json_array_size(o->services);
	struct svcplan *sp = calloc(n + 1, sizeof(*sp));
	if (!sp)
		return berr_set(err, ENOMEM, "up");
	for (size_t i = 0; i < n; i++)
		sp[i].errfd = -1;
	struct compose_ctrs have = {0};
	int rc = -1;
	_cleanup_json_ json_t *warns = json_array();
	_cleanup_json_ json_t *idx = image_store_index_read(e->is, err);
	if (!idx)
		goto out;
	/* everything checked before anything is changed: requests, images,
	 * replica counts */
	for (size_t i = 0; i < n; i++) {
		sp[i].name = json_string_value(json_array_get(o->services, i));
		sp[i].svc = json_object_get(svcs, sp[i].name);
		compose_service_hash(sp[i].svc, sp[i].hash);
		json_t *req = NULL;
		if (compose_service_request(e->p, sp[i].name, 1, sp[i].hash, warns, &req, err) < 0)
			goto out;
		json_decref(req);
		if (image_id_of(e, idx, sp[i].name, sp[i].svc, &sp[i].image_id, err) < 0)
			goto out;
	}
	{
		size_t i;
		json_t *w;
		json_array_foreach(warns, i, w) warn(e, json_string_value(w));
	}
	if (compose_list_containers(e->cs, e->p->name, false, &have, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (plan_service(e, &sp[i], &have, o, err) < 0)
			goto out;
	handle_orphans(e, &have, o);
	if (compose_ensure_resources(e, o->services, err) < 0)
		goto out;
	fflush(stdout);
	if (schedule(e, sp, n, o, err) < 0)
		goto out;
	if (o->wait && !o->no_start && wait_ready(e, o->services, o->wait_timeout, err) < 0)
		goto out;
	rc = 0;
out:
	compose_ctrs_release(&have);
	plan_release(sp, n);
	return rc;
}

struct down_job {
	struct compose_ctr **v;
	int timeout;
};

static int down_one(struct compose_engine *e, size_t i, void *arg, struct berr **err)
{
	struct down_job *j = arg;
	return stop_remove(e, j->v[i]->id, j->v[i]->name, j->timeout, true, err);
}

int compose_down(struct compose_engine *e, const struct compose_down_opts *o, struct berr **err)
{
	json_t *svcs = json_object_get(e->p->doc, "services");
	struct compose_ctrs have;
	if (compose_list_containers(e->cs, e->p->name, true, &have, err) < 0)
		return -1;
	struct down_job job = {.v = calloc(have.n + 1, sizeof(*job.v)), .timeout = o->timeout};
	if (!job.v) {
		compose_ctrs_release(&have);
		return berr_set(err, ENOMEM, "down");
	}
	size_t n = 0;
	struct sbuf orph = SBUF_INIT;
	for (size_t i = 0; i < have.n; i++) {
		if (!json_object_get(svcs, have.v[i].service) && !o->remove_orphans && !have.v[i].oneoff)
			sbuf_addf(&orph, "%s%s", orph.len ? " " : "", have.v[i].name);
		else
			job.v[n++] = &have.v[i];
	}
	warn_orphans(e, &orph);
	/* each container is stopped and removed by its own worker: no
	 * container waits for the slowest one to stop before its removal */
	int rc = fork_each(e, n, down_one, &job, err);
	free(job.v);
	compose_ctrs_release(&have);
	/* networks: those of the project that are not external */
	const char *k;
	json_t *def;
	_cleanup_json_ json_t *nets = json_object();
	json_object_foreach(json_object_get(e->p->doc, "networks"), k, def) if (!is_external(def))
		json_object_set_new(nets, k, json_true());
	json_object_set_new(nets, "default", json_true());
	json_object_foreach(nets, k, def) {
		char buf[300];
		const char *real = net_real_name(e, k, buf, sizeof(buf));
		struct net nw;
		struct berr *le = NULL;
		if (net_load(e->root, real, &nw, &le) < 0) {
			berr_free(le);
			continue;
		}
		const char *pr = jsonx_str(json_object_get(nw.json, "Labels"), CL_PROJECT);
		bool ours = pr && !strcmp(pr, e->p->name);
		net_release(&nw);
		if (!ours)
			continue;
		progress(e, "Network", real, "Removing");
		if (net_remove(e->root, e->runroot, real, &le) < 0) {
			progress(e, "Network", real, "Error");
			if (rc == 0)
				*err = le;
			else
				berr_free(le);
			rc = -1;
			continue;
		}
		progress(e, "Network", real, "Removed");
	}
	if (o->volumes) {
		json_object_foreach(json_object_get(e->p->doc, "volumes"), k, def) {
			if (is_external(def))
				continue;
			const char *real = jsonx_str(def, "name");
			char buf[300];
			if (!real) {
				snprintf(buf, sizeof(buf), "%s_%s", e->p->name, k);
				real = buf;
			}
			struct berr *ve = NULL;
			_cleanup_json_ json_t *vi = volume_inspect(e->root, real, &ve);
			berr_free(ve);
			ve = NULL;
			if (!vi)
				continue;
			const char *pr = jsonx_str(json_object_get(vi, "Labels"), CL_PROJECT);
			if (!pr || strcmp(pr, e->p->name))
				continue;
			progress(e, "Volume", real, "Removing");
			if (volume_remove(e->root, real, &ve) < 0) {
				progress(e, "Volume", real, "Error");
				if (rc == 0)
					*err = ve;
				else
					berr_free(ve);
				rc = -1;
				continue;
			}
			progress(e, "Volume", real, "Removed");
		}
	}
	return rc;
}
