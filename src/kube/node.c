/* The node agent: registration, heartbeat, the pod watch and the main
 * loop (see node.h). The per-pod work is node-pod.c. */
#include "kube/node-int.h"
#include "kube/podspec.h"
#include "net/hostgw.h"
#include "net/network.h"
#include "net/svc.h"
#include "runtime/container.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;
static volatile int stop_int;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
	stop_int = 1;
}

static void say(const struct node *nd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct node *nd, const char *fmt, ...)
{
	if (nd->o->quiet)
		return;
	char ts[40];
	node_now(ts, sizeof(ts), false);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s node %s: ", ts, nd->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int open_client(const struct node *nd, struct kube_client **ret, struct berr **err)
{
	/* SIGTERM ends a request in flight: cut off from the API server, the
	 * agent stops within seconds, not after its requests' 30 s each */
	struct kube_client_opts co = {.kubeconfig = nd->o->kubeconfig, .context = nd->o->context, .stop = &stop_int};
	return kube_client_open(&co, ret, err);
}

/* ---- registration ---- */

static json_t *node_object(const struct node *nd)
{
	json_t *labels = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kubernetes.io/hostname", nd->name, "kubernetes.io/os",
				   "linux", "kubernetes.io/arch", "amd64", "beta.kubernetes.io/os", "linux",
				   "beta.kubernetes.io/arch", "amd64");
	json_t *ann = json_pack("{s:s}", "node.alpha.kubernetes.io/ttl", "0");
	json_t *n = json_pack("{s:s,s:s,s:{s:s,s:o,s:o}}", "apiVersion", "v1", "kind", "Node", "metadata", "name",
			      nd->name, "labels", labels, "annotations", ann);
	/* no subnet yet: the controller-manager allocates one */
	if (*nd->subnet)
		json_object_set_new(n, "spec", json_pack("{s:s,s:[s]}", "podCIDR", nd->subnet, "podCIDRs", nd->subnet));
	return n;
}

#define CIDR_WAIT_MS 10000

/* The podCIDR the controller-manager's node IPAM (--allocate-node-cidrs)
 * gives the Node, as the kubelet waits for it: within CIDR_WAIT_MS, else
 * "" (a cluster that does not allocate: the node picks one itself). */
static void wait_pod_cidr(struct node *nd, const char *path, char *buf, size_t n)
{
	buf[0] = 0;
	long long deadline = node_ms() + CIDR_WAIT_MS;
	while (!stop_flag) {
		json_t *cur = NULL;
		struct berr *e = NULL;
		if (kube_get(nd->kc, path, &cur, &e) == 0) {
			const char *cidr = jsonx_str(json_object_get(cur, "spec"), "podCIDR");
			if (cidr && *cidr)
				snprintf(buf, n, "%s", cidr);
			json_decref(cur);
		}
		berr_free(e);
		if (*buf || node_ms() >= deadline)
			break;
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (!*buf)
		say(nd, "no podCIDR from the cluster within %d s: picking one of berth's pools (pods of other "
			"nodes may not reach this node's)", CIDR_WAIT_MS / 1000);
}

/* The pods' network: kube-node-NAME with subnet cidr (NULL: any). */
static int ensure_network(struct node *nd, const char *cidr, struct berr **err)
{
	struct net n = {0};
	struct berr *le = NULL;
	if (net_load(nd->o->root, nd->network, &n, &le) < 0) {
		berr_free(le);
		json_t *labels = json_pack("{s:s}", "io.berth.kube.node", nd->name);
		struct net_create_opts co = {.name = nd->network, .subnet = cidr, .labels = labels};
		int r = net_create(nd->o->root, nd->o->runroot, &co, &n, err);
		json_decref(labels);
		if (r < 0)
			return berr_wrap(err, "node %s: the pods' network %s", nd->name, nd->network);
	}
	if (cidr && strcmp(cidr, n.subnet)) {
		berr_setc(err, BERR_CONFLICT,
			  "node %s: the Node's podCIDR is %s but network %s has subnet %s (remove it: berth kube node "
			  "--cleanup --name %s)",
			  nd->name, cidr, nd->network, n.subnet, nd->name);
		net_release(&n);
		return -1;
	}
	snprintf(nd->subnet, sizeof(nd->subnet), "%s", n.subnet);
	snprintf(nd->gateway, sizeof(nd->gateway), "%s", n.gateway);
	net_release(&n);
	return 0;
}

static int register_node(struct node *nd, struct berr **err)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/api/v1/nodes/%s", nd->name) < 0)
		return berr_set(err, ENOMEM, "out of memory");
	json_t *cur = NULL;
	struct berr *ge = NULL;
	if (kube_get(nd->kc, path, &cur, &ge) < 0) {
		if (!ge || ge->code != BERR_NOT_FOUND) {
			*err = ge;
			return berr_wrap(err, "node %s: reading its Node", nd->name);
		}
		berr_free(ge);
		if (nd->o->pod_cidr && ensure_network(nd, nd->o->pod_cidr, err) < 0)
			return -1;
		_cleanup_json_ json_t *obj = node_object(nd);
		if (kube_post(nd->kc, "/api/v1/nodes", obj, NULL, err) < 0)
			return berr_wrap(err, "node %s: registering", nd->name);
		if (!nd->o->pod_cidr) {
			char cidr[64];
			wait_pod_cidr(nd, path, cidr, sizeof(cidr));
			if (ensure_network(nd, *cidr ? cidr : NULL, err) < 0)
				return -1;
			if (!*cidr) {
				_cleanup_json_ json_t *p = json_pack("{s:{s:s,s:[s]}}", "spec", "podCIDR", nd->subnet,
								     "podCIDRs", nd->subnet);
				if (kube_patch(nd->kc, path, "application/strategic-merge-patch+json", p, NULL, err) < 0)
					return berr_wrap(err, "node %s: setting its podCIDR", nd->name);
			}
		}
		say(nd, "registered (podCIDR %s, address %s)", nd->subnet, nd->ip);
	} else {
		const char *cidr = jsonx_str(json_object_get(cur, "spec"), "podCIDR");
		char got[64] = "";
		if ((!cidr || !*cidr) && !nd->o->pod_cidr) {
			wait_pod_cidr(nd, path, got, sizeof(got));
			cidr = got;
		}
		int r = ensure_network(nd, cidr && *cidr ? cidr : nd->o->pod_cidr, err);
		if (r == 0 && (!cidr || !*cidr)) {
			_cleanup_json_ json_t *p = json_pack("{s:{s:s,s:[s]}}", "spec", "podCIDR", nd->subnet, "podCIDRs",
							     nd->subnet);
			r = kube_patch(nd->kc, path, "application/strategic-merge-patch+json", p, NULL, err);
		}
		json_decref(cur);
		if (r < 0)
			return -1;
		say(nd, "found registered (podCIDR %s, address %s)", nd->subnet, nd->ip);
	}
	return 0;
}

/* The cluster's Service range: --service-cidr, else the IPv4 CIDR of the
 * API's ServiceCIDR "kubernetes" (networking.k8s.io/v1, Kubernetes 1.33+),
 * which the apiserver makes from its --service-cluster-ip-range. */
static int service_range(struct node *nd, struct berr **err)
{
	struct ipam_cidr c;
	if (nd->o->service_cidr) {
		if (ipam_cidr_parse_network(nd->o->service_cidr, &c, NULL) < 0 || c.addr.family != AF_INET ||
		    c.prefix < 8 || c.prefix > 29)
			return berr_setc(err, BERR_INVALID, "invalid --service-cidr \"%s\": an IPv4 CIDR from /8 to /29",
					 nd->o->service_cidr);
		ipam_cidr_str(&c, nd->svc_range);
		return 0;
	}
	json_t *sc = NULL;
	struct berr *e = NULL;
	if (kube_get(nd->kc, "/apis/networking.k8s.io/v1/servicecidrs/kubernetes", &sc, &e) < 0) {
		say(nd, "the cluster's Service range is unknown (%s): Services get node-local addresses; pass "
			"--service-cidr", e ? e->msg : "error");
		berr_free(e);
		return 0;
	}
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(json_object_get(sc, "spec"), "cidrs"), i, v) {
		const char *t = json_string_value(v);
		if (t && ipam_cidr_parse_network(t, &c, NULL) == 0 && c.addr.family == AF_INET && c.prefix >= 8 &&
		    c.prefix <= 29 && !*nd->svc_range)
			ipam_cidr_str(&c, nd->svc_range);
	}
	json_decref(sc);
	if (!*nd->svc_range)
		say(nd, "the API's ServiceCIDR has no IPv4 range: Services get node-local addresses");
	return 0;
}

static int post_node_status(struct node *nd, bool ready, struct berr **err)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/api/v1/nodes/%s/status", nd->name) < 0)
		return berr_set(err, ENOMEM, "out of memory");
	_cleanup_json_ json_t *st = node_status_json(nd, ready);
	return kube_patch(nd->kc, path, "application/strategic-merge-patch+json", st, NULL, err);
}

/* Create or renew the Lease kube-node-lease/NAME. */
static int renew_lease(struct node *nd, struct berr **err)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s", nd->name) < 0)
		return berr_set(err, ENOMEM, "out of memory");
	char now[48];
	node_now(now, sizeof(now), true);
	for (int attempt = 0; attempt < 3; attempt++) {
		json_t *cur = NULL;
		struct berr *ge = NULL;
		if (kube_get(nd->kc, path, &cur, &ge) < 0) {
			if (!ge || ge->code != BERR_NOT_FOUND) {
				*err = ge;
				return -1;
			}
			berr_free(ge);
			_cleanup_json_ json_t *node = NULL;
			_cleanup_free_ char *npath = NULL;
			if (asprintf(&npath, "/api/v1/nodes/%s", nd->name) < 0 || kube_get(nd->kc, npath, &node, err) < 0)
				return -1;
			const char *uid = jsonx_str(json_object_get(node, "metadata"), "uid");
			_cleanup_json_ json_t *l = json_pack(
				"{s:s,s:s,s:{s:s,s:s,s:[{s:s,s:s,s:s,s:s}]},s:{s:s,s:i,s:s}}", "apiVersion",
				"coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", nd->name, "namespace",
				"kube-node-lease", "ownerReferences", "apiVersion", "v1", "kind", "Node", "name", nd->name,
				"uid", uid ? uid : "", "spec", "holderIdentity", nd->name, "leaseDurationSeconds", 40,
				"renewTime", now);
			struct berr *pe = NULL;
			if (kube_post(nd->kc, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", l, NULL,
				      &pe) == 0)
				return 0;
			if (pe && pe->code == BERR_CONFLICT) {
				berr_free(pe);
				continue;
			}
			*err = pe;
			return -1;
		}
		json_t *spec = json_object_get(cur, "spec");
		if (!json_is_object(spec)) {
			spec = json_object();
			json_object_set_new(cur, "spec", spec);
		}
		json_object_set_new(spec, "holderIdentity", json_string(nd->name));
		json_object_set_new(spec, "leaseDurationSeconds", json_integer(40));
		json_object_set_new(spec, "renewTime", json_string(now));
		struct berr *pe = NULL;
		int r = kube_put(nd->kc, path, cur, NULL, &pe);
		json_decref(cur);
		if (r == 0)
			return 0;
		if (pe && pe->code == BERR_CONFLICT) {
			berr_free(pe);
			continue;
		}
		*err = pe;
		return -1;
	}
	return berr_setc(err, BERR_CONFLICT, "lease kube-node-lease/%s: renewed by someone else three times", nd->name);
}

/* ---- children ---- */

static void child_common(void)
{
	/* A child stops at the agent's SIGTERM once its request is done; one
	 * that outlives the agent (killed, or gone after its 5 s wait) is
	 * killed: cut off from the API server, a request may take its 30 s
	 * while the child keeps the node's lock, and `kube node --cleanup` or
	 * the next agent is refused. What the children keep (routes, the
	 * Lease) needs no step at the end. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, on_stop);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
}

/* Whether the API's Node says Ready=True (what the controller-manager
 * sets to Unknown once the lease went unrenewed; the kubelet posts its
 * status again when the API's differs from its own). An unreadable Node
 * counts as ready: nothing to repair that a post would. */
static bool node_ready_in_api(struct node *nd)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/api/v1/nodes/%s", nd->name) < 0)
		return true;
	json_t *cur = NULL;
	struct berr *e = NULL;
	if (kube_get(nd->kc, path, &cur, &e) < 0) {
		berr_free(e);
		return true;
	}
	bool ok = false;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(cur, "status"), "conditions"), i, c)
		if (!strcmp(jsonx_str(c, "type") ?: "", "Ready"))
			ok = !strcmp(jsonx_str(c, "status") ?: "", "True");
	json_decref(cur);
	return ok;
}

static void heartbeat_main(struct node *nd)
{
	child_common();
	struct berr *e = NULL;
	if (open_client(nd, &nd->kc, &e) < 0) {
		say(nd, "heartbeat: %s", e->msg);
		_exit(1);
	}
	long long last_status = 0, last_lease = 0;
	bool lease_failing = false;
	while (!stop_flag) {
		long long now = node_ms();
		if (!last_lease || now - last_lease >= 10000) {
			if (renew_lease(nd, &e) < 0) {
				if (!lease_failing)
					say(nd, "lease: %s", e ? e->msg : "error");
				lease_failing = true;
				berr_freep(&e);
				last_lease = now - 8000; /* again in 2 s */
			} else {
				if (lease_failing) {
					say(nd, "lease renewed again");
					last_status = 0; /* the controller-manager may have marked the node NotReady */
				} else if (!node_ready_in_api(nd)) {
					last_status = 0;
				}
				lease_failing = false;
				last_lease = now;
			}
		}
		if (now - last_status >= 60000) {
			if (post_node_status(nd, true, &e) < 0) {
				say(nd, "status: %s", e ? e->msg : "error");
				berr_freep(&e);
				last_status = now - 50000;
			} else
				last_status = now;
		}
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
	}
	_exit(0);
}

struct watch_ctx {
	struct node *nd;
	int fd;
	char rv[64];
	bool gone;
};

static int emit(int fd, json_t *j)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		return -1;
	size_t l = strlen(s);
	s[l] = 0;
	if (fs_write_full(fd, s, l) < 0 || fs_write_full(fd, "\n", 1) < 0)
		return -1;
	return 0;
}

static int watch_cb(void *ud, const char *type, json_t *obj, struct berr **err)
{
	struct watch_ctx *w = ud;
	if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		if (code == 410) {
			w->gone = true;
			return 1;
		}
		berr_setc(err, BERR_GENERIC, "watch error: %s", jsonx_str(obj, "message") ? jsonx_str(obj, "message") : "?");
		return -1;
	}
	const char *rv = jsonx_str(json_object_get(obj, "metadata"), "resourceVersion");
	if (rv)
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
	if (!strcmp(type, "BOOKMARK"))
		return 0;
	json_t *ev = json_pack("{s:s,s:O}", "type", type, "object", obj);
	int r = emit(w->fd, ev);
	json_decref(ev);
	if (r < 0) {
		berr_set(err, errno, "writing to the node agent");
		return -1;
	}
	return 0;
}

static void watcher_main(struct node *nd, int fd)
{
	child_common();
	struct berr *e = NULL;
	if (open_client(nd, &nd->kc, &e) < 0) {
		say(nd, "watch: %s", e->msg);
		_exit(1);
	}
	char sel[400];
	snprintf(sel, sizeof(sel), "fieldSelector=spec.nodeName%%3D%s", nd->name);
	bool failing = false;
	while (!stop_flag) {
		_cleanup_free_ char *lpath = NULL;
		if (asprintf(&lpath, "/api/v1/pods?%s", sel) < 0)
			_exit(1);
		json_t *list = NULL;
		if (kube_get(nd->kc, lpath, &list, &e) < 0) {
			if (!failing)
				say(nd, "listing pods: %s", e ? e->msg : "error");
			failing = true;
			berr_freep(&e);
			sleep(1);
			continue;
		}
		if (failing)
			say(nd, "listing pods works again");
		failing = false;
		struct watch_ctx w = {.nd = nd, .fd = fd};
		const char *rv = jsonx_str(json_object_get(list, "metadata"), "resourceVersion");
		snprintf(w.rv, sizeof(w.rv), "%s", rv ? rv : "0");
		json_t *ev = json_pack("{s:s,s:O}", "type", "SYNC", "items", json_object_get(list, "items"));
		int r = emit(fd, ev);
		json_decref(ev);
		json_decref(list);
		if (r < 0)
			_exit(1);
		while (!stop_flag) {
			_cleanup_free_ char *wpath = NULL;
			if (asprintf(&wpath, "/api/v1/pods?%s&watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=300",
				     sel, w.rv) < 0)
				_exit(1);
			r = kube_watch(nd->kc, wpath, watch_cb, &w, &stop_int, &e);
			if (r < 0 || w.gone) {
				if (r < 0) {
					say(nd, "watching pods: %s", e ? e->msg : "error");
					berr_freep(&e);
					sleep(1);
				}
				break; /* list again */
			}
		}
	}
	_exit(0);
}

static pid_t spawn(struct node *nd, const char *what, int fd, void (*fn)(struct node *, int))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		say(nd, "%s: fork: %s", what, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		fn(nd, fd);
		_exit(0);
	}
	return pid;
}

static void hb_entry(struct node *nd, int fd)
{
	(void)fd;
	heartbeat_main(nd);
}

static void routes_entry(struct node *nd, int fd)
{
	(void)fd;
	child_common();
	node_routes_main(nd, &stop_int);
}

static void kapi_entry(struct node *nd, int fd)
{
	(void)fd;
	child_common();
	node_kubelet_api_main(nd);
	_exit(1);
}

/* ---- main loop ---- */

static void apply_event(struct node *nd, json_t *ev);

/* Read what fd has and handle each whole line; true at its end (EOF). */
static bool read_lines(struct node *nd, int fd, struct sbuf *b, bool events)
{
	char buf[65536];
	ssize_t n;
	bool eof = false;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sbuf_add(b, buf, (size_t)n);
	if (n == 0)
		eof = true;
	size_t used = 0;
	for (char *nl; b->s && (nl = memchr(b->s + used, '\n', b->len - used));) {
		*nl = 0;
		if (events) {
			json_t *ev = json_loads(b->s + used, 0, NULL);
			if (ev)
				apply_event(nd, ev);
			json_decref(ev);
		} else
			node_result_line(nd, b->s + used);
		used = (size_t)(nl - b->s) + 1;
	}
	if (used) {
		memmove(b->s, b->s + used, b->len - used);
		b->len -= used;
		b->s[b->len] = 0;
	}
	return eof;
}

static void node_results_drain(struct node *nd, struct sbuf *b)
{
	read_lines(nd, nd->res_rd, b, false);
}

static void watcher_entry(struct node *nd, int fd)
{
	watcher_main(nd, fd);
}


static void apply_event(struct node *nd, json_t *ev)
{
	const char *type = jsonx_str(ev, "type");
	if (!type)
		return;
	if (!strcmp(type, "SYNC")) {
		json_object_clear(nd->desired);
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(ev, "items"), i, p) {
			const char *uid = jsonx_str(json_object_get(p, "metadata"), "uid");
			if (uid)
				json_object_set(nd->desired, uid, p);
		}
		if (!nd->synced)
			say(nd, "%zu pod(s) bound to this node", json_object_size(nd->desired));
		nd->synced = true;
		return;
	}
	json_t *obj = json_object_get(ev, "object");
	const char *uid = jsonx_str(json_object_get(obj, "metadata"), "uid");
	if (!uid)
		return;
	if (!strcmp(type, "DELETED"))
		json_object_del(nd->desired, uid);
	else
		json_object_set(nd->desired, uid, obj);
}

static int write_node_json(struct node *nd, struct berr **err)
{
	_cleanup_json_ json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "name", nd->name, "network", nd->network, "podCIDR",
					     nd->subnet, "address", nd->ip);
	_cleanup_free_ char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	_cleanup_close_ int dfd = open(nd->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "%s", nd->dir);
	return fs_write_atomic_at(dfd, "node.json", s, strlen(s), 0644, false, err);
}

static int node_setup(struct node *nd, const struct kube_node_opts *o, struct berr **err)
{
	memset(nd, 0, sizeof(*nd));
	nd->o = o;
	nd->res_rd = nd->res_wr = -1;
	if (o->name) {
		snprintf(nd->name, sizeof(nd->name), "%s", o->name);
	} else {
		char hn[256] = "";
		gethostname(hn, sizeof(hn) - 1);
		kube_node_default_name(hn, nd->name, sizeof(nd->name));
	}
	if (!kube_node_name_valid(nd->name))
		return berr_setc(err, BERR_INVALID,
				 "invalid node name \"%s\": a lowercase RFC 1123 subdomain must consist of lower case "
				 "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
				 nd->name);
	snprintf(nd->ip, sizeof(nd->ip), "%s", o->node_ip ? o->node_ip : "");
	if (!*nd->ip)
		node_ip_default(nd->ip, sizeof(nd->ip));
	snprintf(nd->network, sizeof(nd->network), "kube-node-%s", nd->name);
	if (snprintf(nd->dir, sizeof(nd->dir), "%s/kube-node/%s", o->root, nd->name) >= (int)sizeof(nd->dir) ||
	    snprintf(nd->poddir, sizeof(nd->poddir), "%s/pods", nd->dir) >= (int)sizeof(nd->poddir))
		return berr_setc(err, BERR_INVALID, "the store's path is too long: %s", o->root);
	nd->desired = json_object();
	nd->work = json_object();
	nd->busy = json_object();
	nd->posted = json_object();
	nd->retry = json_object();
	nd->deleted = json_object();
	return 0;
}

static void node_release(struct node *nd)
{
	json_decref(nd->desired);
	json_decref(nd->work);
	json_decref(nd->busy);
	json_decref(nd->posted);
	json_decref(nd->retry);
	json_decref(nd->deleted);
	kube_client_free(nd->kc);
	free(nd->svc_text);
	if (nd->res_rd >= 0)
		close(nd->res_rd);
	if (nd->res_wr >= 0)
		close(nd->res_wr);
}

/* flock $RUNROOT/kube-node/NAME/lock: one agent per node and store. */
static int take_lock(const char *runroot, const char *name, struct berr **err)
{
	_cleanup_free_ char *dir = NULL;
	if (asprintf(&dir, "%s/kube-node/%s", runroot, name) < 0)
		return berr_set(err, ENOMEM, "out of memory");
	if (fs_mkdir_p(dir, 0700, err) < 0)
		return -1;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "%s", dir);
	int fd = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_set(err, errno, "%s/lock", dir);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		if (n > 0)
			pid[strcspn(pid, "\n")] = 0;
		close(fd);
		return berr_setc(err, BERR_CONFLICT, "node agent %s already runs on this store%s%s%s", name,
				 *pid ? " (pid " : "", pid, *pid ? ")" : "");
	}
	char buf[32];
	int l = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)l, 0) < 0) {
		/* the pid is only for messages */
	}
	return fd;
}

bool kube_node_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!an && c != '-' && c != '.')
			return false;
		if ((i == 0 || i == n - 1) && !an)
			return false;
	}
	return true;
}

int kube_node_run(const struct kube_node_opts *o, struct berr **err)
{
	struct node nd;
	if (node_setup(&nd, o, err) < 0) {
		node_release(&nd);
		return -1;
	}
	int lockfd = take_lock(o->runroot, nd.name, err);
	if (lockfd < 0) {
		node_release(&nd);
		return -1;
	}
	long long t0 = node_ms();
	int rc = -1;
	pid_t hb = -1, wt = -1, ka = -1, rt = -1;
	int ev_rd = -1;
	if (open_client(&nd, &nd.kc, err) < 0)
		goto out;
	/* nothing is made on this store before the API server answered */
	if (service_range(&nd, err) < 0 || register_node(&nd, err) < 0 || fs_mkdir_p(nd.poddir, 0700, err) < 0 || write_node_json(&nd, err) < 0)
		goto out;
	if (post_node_status(&nd, true, err) < 0) {
		berr_wrap(err, "node %s: posting its status", nd.name);
		goto out;
	}
	struct berr *le = NULL;
	if (renew_lease(&nd, &le) < 0) {
		say(&nd, "lease: %s", le ? le->msg : "error");
		berr_free(le);
	}
	say(&nd, "Ready in %lld ms", node_ms() - t0);

	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int evp[2], resp[2];
	if (pipe2(evp, O_CLOEXEC) < 0 || pipe2(resp, O_CLOEXEC) < 0) {
		berr_set(err, errno, "pipe");
		goto out;
	}
	ev_rd = evp[0];
	nd.res_rd = resp[0];
	nd.res_wr = resp[1];
	fcntl(nd.res_rd, F_SETFL, O_NONBLOCK);
	hb = spawn(&nd, "heartbeat", -1, hb_entry);
	rt = spawn(&nd, "routes", -1, routes_entry);
	wt = spawn(&nd, "watch", evp[1], watcher_entry);
	if (o->kubelet_port >= 0)
		ka = spawn(&nd, "kubelet API", -1, kapi_entry);
	close(evp[1]);
	fcntl(ev_rd, F_SETFL, O_NONBLOCK);

	struct sbuf evbuf = {0}, resbuf = {0};
	long long last_pass = 0;
	bool busy = true;
	while (!stop_flag) {
		struct pollfd pf[2] = {{.fd = ev_rd, .events = POLLIN}, {.fd = nd.res_rd, .events = POLLIN}};
		long long now = node_ms();
		int timeout = busy ? 50 : 1000;
		long long wait = last_pass + timeout - now;
		bool events = false;
		if (wait > 0 && poll(pf, 2, (int)wait) > 0)
			events = true;
		/* read events and results (lines) */
		if (events && (pf[0].revents & (POLLIN | POLLHUP)) && read_lines(&nd, ev_rd, &evbuf, true)) {
			/* the watcher died: start another */
			close(ev_rd);
			ev_rd = -1;
			int np[2];
			if (pipe2(np, O_CLOEXEC) == 0) {
				ev_rd = np[0];
				fcntl(ev_rd, F_SETFL, O_NONBLOCK);
				wt = spawn(&nd, "watch", np[1], watcher_entry);
				close(np[1]);
			}
		}
		if (events && (pf[1].revents & POLLIN))
			node_results_drain(&nd, &resbuf);
		/* reap; a worker's result line is in the pipe before it exits, so
		 * read the pipe once more before forgetting the worker */
		int status;
		pid_t p;
		bool drained = false;
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (!drained && p != hb && p != ka && p != wt) {
				node_results_drain(&nd, &resbuf);
				drained = true;
			}
			if (p == hb) {
				if (!stop_flag)
					hb = spawn(&nd, "heartbeat", -1, hb_entry);
			} else if (p == rt) {
				rt = -1;
				if (!stop_flag) {
					sleep(1);
					rt = spawn(&nd, "routes", -1, routes_entry);
				}
			} else if (p == ka) {
				ka = -1;
				/* exit 0: it has nothing to serve; otherwise it failed */
				if (!stop_flag && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
					say(&nd, "kubelet API ended (status %d); starting it again in 1 s", status);
					sleep(1);
					ka = spawn(&nd, "kubelet API", -1, kapi_entry);
				}
			} else if (p == wt) {
				/* noticed through the pipe's end */
			} else
				node_worker_done(&nd, p, status);
		}
		now = node_ms();
		if (events || now - last_pass >= timeout) {
			if (nd.synced) {
				nd.pods_changed = false;
				node_pods_pass(&nd, &busy);
				node_services_sync(&nd, nd.pods_changed);
			}
			last_pass = now;
		}
	}
	say(&nd, "stopping (pods keep running)");
	rc = 0;
	sbuf_release(&evbuf);
	sbuf_release(&resbuf);
out:
	if (hb > 0)
		kill(hb, SIGTERM);
	if (rt > 0)
		kill(rt, SIGTERM);
	if (wt > 0)
		kill(wt, SIGTERM);
	if (ka > 0)
		kill(ka, SIGTERM);
	if (ev_rd >= 0)
		close(ev_rd);
	/* wait for the children and the workers */
	for (int i = 0; i < 50; i++) {
		pid_t p;
		int st;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			;
		if (p < 0 && errno == ECHILD)
			break;
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	/* a run that made nothing leaves nothing, not even its lock */
	struct stat sb;
	bool made = stat(nd.dir, &sb) == 0;
	close(lockfd);
	if (rc < 0 && !made) {
		char d[PATH_MAX];
		if (snprintf(d, sizeof(d), "%s/kube-node", o->runroot) < (int)sizeof(d)) {
			int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fs_rm_rf_at(dfd, nd.name);
				close(dfd);
			}
		}
	}
	node_release(&nd);
	return rc;
}

int kube_node_cleanup(const char *root, const char *runroot, struct ctr_store *cs, const char *name,
		      struct berr **err)
{
	if (!kube_node_name_valid(name))
		return berr_setc(err, BERR_INVALID, "invalid node name \"%s\"", name);
	int lockfd = take_lock(runroot, name, err);
	if (lockfd < 0)
		return -1;
	int rc = 0;
	_cleanup_json_ json_t *pods = pod_list_node(cs, name);
	size_t i;
	json_t *p;
	char poddir[PATH_MAX];
	snprintf(poddir, sizeof(poddir), "%s/kube-node/%s/pods", root, name);
	json_array_foreach(pods, i, p) {
		const char *ns = jsonx_str(p, "namespace"), *pn = jsonx_str(p, "name");
		struct berr *e = NULL;
		if (pod_remove(cs, ns, pn, 0, &e) < 0 && (!e || e->code != BERR_NOT_FOUND)) {
			if (rc == 0) {
				*err = e;
				berr_wrap(err, "pod %s/%s", ns, pn);
				e = NULL;
			}
			rc = -1;
		}
		berr_free(e);
		char pd[PATH_MAX + 300];
		snprintf(pd, sizeof(pd), "%s/%s", poddir, ns);
		kube_podspec_cleanup_dir(pd, pn);
	}
	if (rc == 0) {
		char net[300];
		snprintf(net, sizeof(net), "kube-node-%s", name);
		struct berr *e = NULL;
		net_svc_remove_all(root, runroot, net);
		struct net n = {0};
		if (net_load(root, net, &n, NULL) == 0) {
			net_hostgw_remove(n.bridge);
			net_release(&n);
		}
		if (net_remove(root, runroot, net, &e) < 0 && e && e->code != BERR_NOT_FOUND) {
			*err = e;
			rc = berr_wrap(err, "node %s: network %s", name, net);
			e = NULL;
		}
		berr_free(e);
	}
	if (rc == 0) {
		char d[PATH_MAX];
		snprintf(d, sizeof(d), "%s/kube-node", root);
		int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fs_rm_rf_at(dfd, name);
			close(dfd);
		}
		snprintf(d, sizeof(d), "%s/kube-node", runroot);
		dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fs_rm_rf_at(dfd, name);
			close(dfd);
		}
	}
	close(lockfd);
	return rc;
}
