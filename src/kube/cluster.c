/* berth kube cluster (cluster.h): up, down, status, kubeconfig. */
#include "kube/cluster.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "compose/yaml.h"
#include "kube/cluster-int.h"
#include "kube/cluster-join.h"
#include "kube/pki.h"
#include "util/cleanup.h"
#include "util/curl-lazy.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/jsonx.h"
#include "util/proc.h"
#include "util/strbuf.h"

#define CLUSTERS_DIR "kube-clusters"
/* Host-wide, beside NET_HOST_LOCK: one file per cluster of any store
 * that is up or coming up, with its ports and service range, so that
 * clusters of other stores (tests, a user's own) pick others; written
 * under HOST_DIR/.lock, removed by down and a failed up, ignored once
 * neither its supervisor nor the up that wrote it lives (/run goes at a
 * reboot anyway). */
#define HOST_DIR "/run/berth-kube-clusters"
#define HOST_MAX 64 /* entries read */
#define GRACE_MS 5000
#define POLL_MS 20
#define SERVICE_POOL "10.96.0.0/12" /* /16s from it; berth's own pools are 10.80.0.0/14 and 10.84.0.0/14 */
/* The pods' addresses of the whole cluster (the controller-manager's
 * --cluster-cidr, a /24 per node from it): a /16 of this pool, next to
 * the service ranges and clear of berth's own pools, so that pods of
 * several nodes (hosts) have addresses no node's berth networks use */
#define POD_POOL "10.112.0.0/12"
#define MAX_IPS 64
#define MAX_SANS 16 /* --apiserver-cert-extra-sans */

static const char *const bin_names[] = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- names and binaries ---- */

int kube_cluster_name_check(const char *name, struct berr **err)
{
	size_t n = name ? strlen(name) : 0;
	bool ok = n >= 1 && n <= 63 && isalnum((unsigned char)name[0]) && isalnum((unsigned char)name[n - 1]);
	for (size_t i = 0; ok && i < n; i++)
		ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '-';
	if (!ok)
		return berr_setc(err, BERR_INVALID,
				 "invalid cluster name \"%s\": a DNS label is 1-63 lowercase letters, digits or '-', "
				 "starting and ending with a letter or digit",
				 name ? name : "");
	return 0;
}

/* The names of the binaries dir lacks ("" when it has all). */
static void missing_bins(const char *dir, char *buf, size_t n)
{
	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(bin_names); i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/%s", dir, bin_names[i]);
		struct stat st;
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || access(p, X_OK) < 0) {
			size_t l = strlen(buf);
			snprintf(buf + l, n - l, "%s%s", l ? ", " : "", bin_names[i]);
		}
	}
}

int kube_cluster_bin_dir(const char *opt, char *buf, size_t n, struct berr **err)
{
	const char *env = getenv("BERTH_K8S_BIN");
	const char *dir = opt && *opt ? opt : env && *env ? env : NULL;
	const char *what = opt && *opt ? "--k8s-bin" : "BERTH_K8S_BIN";
	char miss[256];
	if (dir) {
		char real[PATH_MAX];
		if (!realpath(dir, real))
			return berr_set(err, errno, "%s %s", what, dir);
		missing_bins(real, miss, sizeof(miss));
		if (*miss)
			return berr_setc(err, BERR_NOT_FOUND, "%s %s: no %s there (or not executable)", what, dir,
					 miss);
		snprintf(buf, n, "%s", real);
		return 0;
	}
	missing_bins(KUBE_CLUSTER_BIN_CACHE, miss, sizeof(miss));
	if (*miss)
		return berr_setc(err, BERR_NOT_FOUND,
				 "the Kubernetes binaries are missing (no %s in " KUBE_CLUSTER_BIN_CACHE
				 "): build them with scripts/k8s-binaries.sh, or give --k8s-bin DIR (or BERTH_K8S_BIN) "
				 "holding etcd, kube-apiserver, kube-controller-manager and kube-scheduler",
				 miss);
	snprintf(buf, n, "%s", KUBE_CLUSTER_BIN_CACHE);
	return 0;
}

/* ---- the cluster's description ---- */

enum { P_API, P_ETCD, P_PEER, P_CM, P_SCHED, P_KUBELET, P_N };
static const char *const port_keys[P_N] = {"apiserver", "etcdClient", "etcdPeer", "controllerManager", "scheduler",
					   "kubelet"};

struct kc {
	char name[64];
	char ctx[80];                     /* berth-NAME: the kubeconfig entries' name */
	char root[PATH_MAX], runroot[PATH_MAX];
	char dir[PATH_MAX];               /* $ROOT/kube-clusters/NAME */
	char rundir[PATH_MAX];            /* $RUNROOT/kube-clusters/NAME */
	char bin[PATH_MAX];
	char self[PATH_MAX];
	char node[254];
	char node_ip[INET6_ADDRSTRLEN];
	char svc_cidr[32], svc_ip[INET_ADDRSTRLEN];
	char pod_cidr[32];                /* the controller-manager's --cluster-cidr */
	int ports[P_N];
	char *ips[MAX_IPS + 1];           /* the host's addresses, for the serving certs */
	const char *const *sans;          /* --apiserver-cert-extra-sans (the caller's) */
	int node_grace_s;                 /* --node-monitor-grace-period (0: the default) */
	bool node_avail;
	bool existed;                     /* cluster.json was there: a restart */
	json_t *doc;                      /* cluster.json */
};

static void kc_release(struct kc *k)
{
	for (int i = 0; k->ips[i]; i++)
		free(k->ips[i]);
	k->ips[0] = NULL;
	json_decref(k->doc);
	k->doc = NULL;
}

/* snprintf for paths: a path too long for PATH_MAX is cut (and then not
 * found), which kc_init rules out for the cluster's own dirs */
static void pathf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pathf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

static const char *kp(const struct kc *k, const char *rel, char *buf, size_t n)
{
	pathf(buf, n, "%s/%s", k->dir, rel);
	return buf;
}

/* A path under the cluster dir, malloc'd (argv building). */
static char *P(const struct kc *k, const char *rel)
{
	char b[PATH_MAX];
	kp(k, rel, b, sizeof(b));
	return strdup(b);
}

static int kc_init(struct kc *k, const struct kube_cluster_opts *o, bool create, struct berr **err)
{
	memset(k, 0, sizeof(*k));
	const char *name = o->name && *o->name ? o->name : KUBE_CLUSTER_DEFAULT_NAME;
	if (kube_cluster_name_check(name, err) < 0)
		return -1;
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->ctx, sizeof(k->ctx), "berth-%s", name);
	/* absolute: the supervisor and the components outlive the CLI's cwd */
	if (create && (fs_mkdir_p(o->root, 0700, err) < 0 || fs_mkdir_p(o->runroot, 0700, err) < 0))
		return -1;
	if (!realpath(o->root, k->root)) {
		if (errno == ENOENT)
			return berr_setc(err, BERR_NOT_FOUND, "no cluster \"%s\" (no store %s)", name, o->root);
		return berr_set(err, errno, "resolving %s", o->root);
	}
	if (!realpath(o->runroot, k->runroot)) {
		if (errno != ENOENT)
			return berr_set(err, errno, "resolving %s", o->runroot);
		/* no run root yet: nothing runs */
		snprintf(k->runroot, sizeof(k->runroot), "%s", o->runroot);
	}
	if (strlen(k->root) > PATH_MAX - 512 || strlen(k->runroot) > PATH_MAX - 512)
		return berr_setc(err, BERR_INVALID, "--root or --runroot: the path is too long");
	pathf(k->dir, sizeof(k->dir), "%s/" CLUSTERS_DIR "/%s", k->root, name);
	pathf(k->rundir, sizeof(k->rundir), "%s/" CLUSTERS_DIR "/%s", k->runroot, name);
	/* berth's own path (ps shows it), else the link to it */
	ssize_t n = o->self_exe ? -1 : readlink("/proc/self/exe", k->self, sizeof(k->self) - 1);
	if (n > 0)
		k->self[n] = 0;
	if (n <= 0 || strstr(k->self, " (deleted)"))
		snprintf(k->self, sizeof(k->self), "%s", o->self_exe ? o->self_exe : "/proc/self/exe");
	return 0;
}

static json_t *load_doc(const struct kc *k, struct berr **err)
{
	_cleanup_close_ int dfd = open(k->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		berr_setc(err, BERR_NOT_FOUND, "no cluster \"%s\" (see 'berth kube cluster up --name %s')", k->name,
			  k->name);
		return NULL;
	}
	struct stat st;
	if (fstatat(dfd, "cluster.json", &st, 0) < 0) {
		berr_setc(err, BERR_NOT_FOUND, "no cluster \"%s\" (%s has no cluster.json)", k->name, k->dir);
		return NULL;
	}
	return jsonx_load_at(dfd, "cluster.json", 1 << 20, err);
}

static int save_doc(const struct kc *k, struct berr **err)
{
	_cleanup_close_ int dfd = open(k->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "opening %s", k->dir);
	char *s = json_dumps(k->doc, JSON_INDENT(2));
	struct sbuf b = SBUF_INIT;
	sbuf_adds(&b, s);
	sbuf_addc(&b, '\n');
	free(s);
	int r = fs_write_atomic_at(dfd, "cluster.json", b.s, b.len, 0644, false, err);
	sbuf_release(&b);
	return r;
}

/* Read ports, node and range back from cluster.json. */
static void kc_from_doc(struct kc *k)
{
	json_t *d = k->doc;
	json_t *ports = json_object_get(d, "ports");
	for (int i = 0; i < P_N; i++)
		k->ports[i] = (int)json_integer_value(json_object_get(ports, port_keys[i]));
	const char *s;
	if ((s = jsonx_str(d, "node")))
		snprintf(k->node, sizeof(k->node), "%s", s);
	if ((s = jsonx_str(d, "nodeIP")))
		snprintf(k->node_ip, sizeof(k->node_ip), "%s", s);
	if ((s = jsonx_str(d, "serviceCIDR")))
		snprintf(k->svc_cidr, sizeof(k->svc_cidr), "%s", s);
	if ((s = jsonx_str(d, "clusterCIDR")))
		snprintf(k->pod_cidr, sizeof(k->pod_cidr), "%s", s);
	if ((s = jsonx_str(d, "binDir")))
		snprintf(k->bin, sizeof(k->bin), "%s", s);
	k->node_avail = json_is_true(json_object_get(d, "nodeAgent"));
}

/* ---- the host: name, addresses, free ports, a free service range ---- */

/* Whether another cluster of this store has a node of that name. */
static bool node_taken(const struct kc *k, const char *node)
{
	char d[PATH_MAX];
	pathf(d, sizeof(d), "%s/" CLUSTERS_DIR, k->root);
	_cleanup_closedir_ DIR *dir = opendir(d);
	if (!dir)
		return false;
	struct dirent *de;
	bool hit = false;
	while (!hit && (de = readdir(dir))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, k->name))
			continue;
		char f[PATH_MAX + 300];
		snprintf(f, sizeof(f), "%s/%s/cluster.json", d, de->d_name);
		json_t *j = json_load_file(f, 0, NULL);
		hit = jsonx_str(j, "node") && !strcmp(jsonx_str(j, "node"), node);
		json_decref(j);
	}
	return hit;
}

/* The node's name: the hostname lowercased (as the kubelet does), made a
 * DNS-1123 subdomain; HOST-CLUSTER when another cluster of this store has
 * that node already (a node agent's state and lock are per store and
 * node name). */
static void node_name(const struct kc *k, char *buf, size_t n)
{
	char hn[256] = "";
	if (gethostname(hn, sizeof(hn) - 1) < 0)
		hn[0] = 0;
	size_t o = 0;
	for (size_t i = 0; hn[i] && o + 1 < n && o < 253; i++) {
		char c = (char)tolower((unsigned char)hn[i]);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			c = '-';
		buf[o++] = c;
	}
	buf[o] = 0;
	/* starts and ends with an alphanumeric */
	while (o > 0 && !isalnum((unsigned char)buf[o - 1]))
		buf[--o] = 0;
	size_t s = 0;
	while (buf[s] && !isalnum((unsigned char)buf[s]))
		s++;
	memmove(buf, buf + s, o - s + 1);
	if (!*buf)
		snprintf(buf, n, "berth-node");
	if (node_taken(k, buf)) {
		size_t l = strlen(buf);
		if (l > 253 - 1 - strlen(k->name))
			l = 253 - 1 - strlen(k->name);
		snprintf(buf + l, n - l, "-%s", k->name);
	}
}

/* The source address of the default route, else the first global IPv4
 * address, else 127.0.0.1. */
static void host_ip(char *buf, size_t n)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(53)};
	inet_pton(AF_INET, "192.0.2.53", &to.sin_addr); /* no packet is sent: connect only picks a route */
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&me, &ml) == 0 && me.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
		inet_ntop(AF_INET, &me.sin_addr, buf, (socklen_t)n);
		close(fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	snprintf(buf, n, "127.0.0.1");
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
		if ((ntohl(a->sin_addr.s_addr) >> 24) == 127)
			continue;
		inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)n);
		break;
	}
	freeifaddrs(ifa);
}

static void add_ip(char **ips, const char *ip)
{
	int n = 0;
	for (; ips[n]; n++)
		if (!strcmp(ips[n], ip))
			return;
	if (n < MAX_IPS) {
		ips[n] = strdup(ip);
		ips[n + 1] = NULL;
	}
}

/* Every address of the host (link-local IPv6 aside). */
static void host_ips(char **ips)
{
	add_ip(ips, "127.0.0.1");
	add_ip(ips, "::1");
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		char b[INET6_ADDRSTRLEN];
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, b, sizeof(b));
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(a))
				continue;
			inet_ntop(AF_INET6, a, b, sizeof(b));
		} else {
			continue;
		}
		add_ip(ips, b);
	}
	freeifaddrs(ifa);
}

/* --advertise-address: one of the host's addresses (the node's InternalIP
 * and the apiserver's advertised address, which the join command names);
 * --apiserver-cert-extra-sans: names and addresses for the certificate. */
static int advertise_check(struct kc *k, const struct kube_cluster_opts *o, struct berr **err)
{
	if (o->advertise) {
		unsigned char tmp[16];
		bool mine = false;
		for (int i = 0; k->ips[i]; i++)
			mine |= !strcmp(k->ips[i], o->advertise);
		if (inet_pton(AF_INET, o->advertise, tmp) != 1)
			return berr_setc(err, BERR_INVALID, "invalid --advertise-address \"%s\": an IPv4 address",
					 o->advertise);
		if (!mine)
			return berr_setc(err, BERR_INVALID,
					 "--advertise-address %s: not an address of this host (its addresses are in "
					 "'ip -brief address')",
					 o->advertise);
		snprintf(k->node_ip, sizeof(k->node_ip), "%s", o->advertise);
	}
	for (size_t i = 0; o->extra_sans && o->extra_sans[i]; i++) {
		const char *n = o->extra_sans[i];
		bool ok = *n && strlen(n) <= 253;
		for (const char *p = n; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == ':' || *p == '*';
		if (!ok)
			return berr_setc(err, BERR_INVALID,
					 "invalid --apiserver-cert-extra-sans entry \"%s\": a DNS name or an IP address", n);
	}
	return 0;
}

/* Whether a server could listen on port (the apiserver binds the
 * dual-stack wildcard, the others 127.0.0.1, which that covers). */
static bool port_free(int port)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;
	bool ok;
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
					 .sin6_addr = in6addr_any};
		ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (!ok || port == 0)
			return ok;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	ok = bind(fd, (struct sockaddr *)&a4, sizeof(a4)) == 0;
	close(fd);
	return ok;
}

struct host_taken;
static bool taken_port(const struct host_taken *t, int port);

/* A port the kernel hands out as free (bind to 0), not one of taken nor
 * another cluster's. */
static int any_free_port(const int *taken, int ntaken, const struct host_taken *t)
{
	for (int tries = 0; tries < 50; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		struct sockaddr_in a = {.sin_family = AF_INET};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t al = sizeof(a);
		int port = -1;
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &al) == 0)
			port = ntohs(a.sin_port);
		close(fd);
		if (port <= 0)
			return -1;
		bool dup = false;
		for (int i = 0; i < ntaken; i++)
			dup |= taken[i] == port;
		if (!dup && !taken_port(t, port) && port_free(port))
			return port;
	}
	return -1;
}

/* ---- the host's registry of clusters (HOST_DIR) ---- */

struct host_taken {
	int ports[HOST_MAX * P_N];
	int nports;
	uint32_t nets[HOST_MAX * 2]; /* service ranges and cluster CIDRs (/16s) */
	int nnets;
};

static void host_entry(const struct kc *k, char *buf, size_t n)
{
	struct sha256 h;
	char hex[65];
	sha256_init(&h);
	sha256_update(&h, k->root, strlen(k->root) + 1);
	sha256_update(&h, k->name, strlen(k->name));
	sha256_final_hex(&h, hex);
	sha256_free(&h);
	snprintf(buf, n, "%.16s.json", hex);
}

/* HOST_DIR, locked (flock on the directory itself, so that the last
 * cluster's down can remove it: a lock taken on a directory removed
 * meanwhile is let go and taken again on the new one). */
static int host_dir_lock(struct berr **err)
{
	for (int tries = 0; tries < 100; tries++) {
		if (fs_mkdir_p(HOST_DIR, 0700, err) < 0)
			return -1;
		int fd = open(HOST_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return berr_set(err, errno, "opening " HOST_DIR);
		}
		if (flock(fd, LOCK_EX) < 0) {
			close(fd);
			return berr_set(err, errno, "locking " HOST_DIR);
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(HOST_DIR, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
	return berr_set(err, 0, "locking " HOST_DIR ": it keeps going away");
}

static bool entry_alive(json_t *j)
{
	pid_t sup = (pid_t)json_integer_value(json_object_get(j, "supervisor"));
	pid_t up = (pid_t)json_integer_value(json_object_get(j, "upPid"));
	unsigned long long sup_t = (unsigned long long)json_integer_value(json_object_get(j, "supervisorStart"));
	unsigned long long up_t = (unsigned long long)json_integer_value(json_object_get(j, "upStart"));
	return (sup > 0 && proc_alive(sup, sup_t)) || (up > 0 && proc_alive(up, up_t));
}

/* The ports and ranges of the other live clusters; stale entries go. */
static void host_scan(const struct kc *k, int dfd, struct host_taken *t)
{
	memset(t, 0, sizeof(*t));
	char mine[64];
	host_entry(k, mine, sizeof(mine));
	int d2 = dup(dfd);
	DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
	if (!d) {
		if (d2 >= 0)
			close(d2);
		return;
	}
	struct dirent *de;
	int seen = 0;
	while ((de = readdir(d)) && seen < HOST_MAX) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") || !strcmp(de->d_name, mine))
			continue;
		struct berr *e = NULL;
		json_t *j = jsonx_load_at(dfd, de->d_name, 1 << 16, &e);
		berr_free(e);
		if (!j || !entry_alive(j)) {
			unlinkat(dfd, de->d_name, 0);
			json_decref(j);
			continue;
		}
		seen++;
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(j, "ports"), i, p) if (t->nports < (int)ARRAY_SIZE(t->ports))
			t->ports[t->nports++] = (int)json_integer_value(p);
		struct in_addr a;
		char b[32];
		for (int w = 0; w < 2; w++) {
			const char *c = jsonx_str(j, w ? "clusterCIDR" : "serviceCIDR");
			if (c && sscanf(c, "%31[0-9.]", b) == 1 && inet_pton(AF_INET, b, &a) == 1 && t->nnets < HOST_MAX * 2)
				t->nets[t->nnets++] = ntohl(a.s_addr);
		}
		json_decref(j);
	}
	closedir(d);
}

/* Our entry: ports and range, the up running now, the supervisor once
 * there is one. */
static int host_register(const struct kc *k, int dfd, pid_t sup, struct berr **err)
{
	char name[64];
	host_entry(k, name, sizeof(name));
	json_t *ports = json_array();
	for (int i = 0; i < P_N; i++)
		json_array_append_new(ports, json_integer(k->ports[i]));
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:o,s:i,s:I,s:i,s:I}", "root", k->root, "name", k->name, "serviceCIDR",
			      k->svc_cidr, "clusterCIDR", k->pod_cidr, "ports", ports, "upPid", (int)getpid(), "upStart",
			      (json_int_t)proc_start_time(getpid()), "supervisor", (int)sup, "supervisorStart",
			      (json_int_t)(sup > 0 ? proc_start_time(sup) : 0));
	char *txt = jsonx_dumps(j, 0);
	json_decref(j);
	int r = fs_write_atomic_at(dfd, name, txt, strlen(txt), 0600, false, err);
	free(txt);
	return r < 0 ? berr_wrap(err, "registering cluster %s in " HOST_DIR, k->name) : 0;
}

/* Our entry goes, and the directory with the last one. */
static void host_unregister(const struct kc *k)
{
	char name[64];
	host_entry(k, name, sizeof(name));
	struct stat st;
	if (stat(HOST_DIR, &st) < 0)
		return;
	struct berr *e = NULL;
	int dfd = host_dir_lock(&e);
	berr_free(e);
	if (dfd < 0)
		return;
	unlinkat(dfd, name, 0);
	rmdir(HOST_DIR); /* fails while other entries are there */
	close(dfd);
}

static bool taken_port(const struct host_taken *t, int port)
{
	for (int i = 0; t && i < t->nports; i++)
		if (t->ports[i] == port)
			return true;
	return false;
}

static int pick_ports(struct kc *k, int api_port, const struct host_taken *t, struct berr **err)
{
	/* preferred: an explicit --api-port, the ones recorded by an earlier
	 * run of this cluster, then the usual 6443 and 10250 */
	int want[P_N];
	memcpy(want, k->ports, sizeof(want));
	if (!want[P_API])
		want[P_API] = 6443;
	if (!want[P_KUBELET])
		want[P_KUBELET] = 10250;
	if (api_port) {
		if (!port_free(api_port) || taken_port(t, api_port))
			return berr_setc(err, BERR_CONFLICT, "--api-port %d: the port is in use", api_port);
		want[P_API] = api_port;
	}
	int got[P_N] = {0};
	for (int i = 0; i < P_N; i++) {
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= got[j] == want[i];
		if (want[i] > 0 && !dup && !taken_port(t, want[i]) && port_free(want[i]))
			got[i] = want[i];
		else if ((got[i] = any_free_port(got, i, t)) < 0)
			return berr_set(err, errno, "no free port for %s", port_keys[i]);
	}
	memcpy(k->ports, got, sizeof(got));
	return 0;
}

static bool cidr_overlap(uint32_t a, int al, uint32_t b, int bl)
{
	int l = al < bl ? al : bl;
	uint32_t m = l == 0 ? 0 : 0xffffffffu << (32 - l);
	return (a & m) == (b & m);
}

/* The other clusters' service ranges (key "serviceCIDR") or cluster
 * CIDRs ("clusterCIDR") on this store. */
static bool range_taken_by_clusters(const struct kc *k, const char *key, uint32_t net)
{
	char d[PATH_MAX];
	pathf(d, sizeof(d), "%s/" CLUSTERS_DIR, k->root);
	_cleanup_closedir_ DIR *dir = opendir(d);
	if (!dir)
		return false;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, k->name))
			continue;
		char f[PATH_MAX + 300];
		snprintf(f, sizeof(f), "%s/%s/cluster.json", d, de->d_name);
		json_t *j = json_load_file(f, 0, NULL);
		const char *c = jsonx_str(j, key);
		struct in_addr a;
		char b[32];
		bool hit = false;
		if (c && sscanf(c, "%31[0-9.]", b) == 1 && inet_pton(AF_INET, b, &a) == 1)
			hit = ntohl(a.s_addr) == net;
		json_decref(j);
		if (hit)
			return true;
	}
	return false;
}

/* Whether a route of the host (the default route aside) overlaps net/16. */
static bool route_overlaps(uint32_t net)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/net/route", "re");
	char line[256];
	if (!f || !fgets(line, sizeof(line), f))
		return false;
	while (fgets(line, sizeof(line), f)) {
		char ifn[64];
		unsigned dst, gw, flags, refc, use, metric, mask;
		if (sscanf(line, "%63s %x %x %x %u %u %u %x", ifn, &dst, &gw, &flags, &refc, &use, &metric, &mask) != 8)
			continue;
		int ml = __builtin_popcount(mask);
		if (ml > 0 && cidr_overlap(net, 16, ntohl(dst), ml))
			return true;
	}
	return false;
}

/* A /16 of SERVICE_POOL that no host route and no other cluster (of this
 * store, or up on this host) uses. */
static int pick_service_range(struct kc *k, const struct host_taken *t, struct berr **err)
{
	for (uint32_t i = 0; i < 16 && !*k->svc_cidr; i++) {
		uint32_t net = (10u << 24) | ((96u + i) << 16);
		bool other = false;
		for (int j = 0; j < t->nnets; j++)
			other |= t->nets[j] == net;
		if (!other && !range_taken_by_clusters(k, "serviceCIDR", net) && !route_overlaps(net))
			snprintf(k->svc_cidr, sizeof(k->svc_cidr), "10.%u.0.0/16", 96u + i);
	}
	if (!*k->svc_cidr)
		return berr_setc(err, BERR_CONFLICT, "no free service range in " SERVICE_POOL
						     " (host routes or other clusters use every /16)");
	unsigned a, b, c, d;
	if (sscanf(k->svc_cidr, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
		return berr_setc(err, BERR_INVALID, "cluster.json: serviceCIDR %s", k->svc_cidr);
	snprintf(k->svc_ip, sizeof(k->svc_ip), "%u.%u.%u.%u", a, b, c, d + 1);
	return 0;
}

/* A /16 of POD_POOL for the cluster's pods, chosen as the service range
 * (kept across restarts: the Nodes' podCIDRs come from it). */
static int pick_pod_range(struct kc *k, const struct host_taken *t, struct berr **err)
{
	for (uint32_t i = 0; i < 16 && !*k->pod_cidr; i++) {
		uint32_t net = (10u << 24) | ((112u + i) << 16);
		bool other = false;
		for (int j = 0; j < t->nnets; j++)
			other |= t->nets[j] == net;
		if (!other && !range_taken_by_clusters(k, "clusterCIDR", net) && !route_overlaps(net))
			snprintf(k->pod_cidr, sizeof(k->pod_cidr), "10.%u.0.0/16", 112u + i);
	}
	if (!*k->pod_cidr)
		return berr_setc(err, BERR_CONFLICT, "no free pod range in " POD_POOL
						     " (host routes or other clusters use every /16)");
	return 0;
}

/* ---- child processes run to completion (the node agent's probe and cleanup) ---- */

/* argv with output captured (at most 64 KiB); *ret_status: the wait status. */
static int run_capture(char *const *argv, char **ret_out, int *ret_status, struct berr **err)
{
	int pp[2];
	if (pipe2(pp, O_CLOEXEC) < 0)
		return berr_set(err, errno, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pp[0]);
		close(pp[1]);
		return berr_set(err, errno, "fork");
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		dup2(nul, 0);
		dup2(pp[1], 1);
		dup2(pp[1], 2);
		execv(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pp[1]);
	struct sbuf out = SBUF_INIT;
	char buf[4096];
	ssize_t n;
	while ((n = read(pp[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && out.len < 65536)
			sbuf_add(&out, buf, (size_t)n);
	close(pp[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*ret_status = st;
	*ret_out = sbuf_detach(&out);
	return 0;
}

/* Whether this berth has the node agent (`kube node --help` succeeds; a
 * berth without it says "not available"). */
static bool node_agent_available(const struct kc *k)
{
	char *argv[] = {(char *)k->self, "kube", "node", "--help", NULL};
	char *out = NULL;
	int st = 0;
	struct berr *e = NULL;
	if (run_capture(argv, &out, &st, &e) < 0) {
		berr_free(e);
		return false;
	}
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && !strstr(out, "not available");
	free(out);
	return ok;
}

/* `berth kube node --cleanup --name NODE`: the node's pods and network. */
static int node_cleanup(const struct kc *k, struct berr **err)
{
	if (!k->node_avail || !*k->node)
		return 0;
	char *argv[] = {(char *)k->self, "--root", (char *)k->root, "--runroot", (char *)k->runroot, "kube", "node",
			"--cleanup", "--name", (char *)k->node, NULL};
	char *out = NULL;
	int st = 0;
	if (run_capture(argv, &out, &st, err) < 0)
		return berr_wrap(err, "removing the pods of node %s", k->node);
	int r = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		size_t l = strlen(out);
		while (l && out[l - 1] == '\n')
			out[--l] = 0;
		r = berr_set(err, 0, "removing the pods of node %s (berth kube node --cleanup --name %s): %s", k->node,
			     k->node, *out ? out : "failed");
	}
	free(out);
	return r;
}

/* ---- certificates and kubeconfigs ---- */

static int make_pki(struct kc *k, struct berr **err)
{
	char pki[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	kp(k, "pki", pki, sizeof(pki));
	if (fs_mkdir_p(pki, 0700, err) < 0)
		return -1;
	struct pki_ca *ca = NULL;
	kp(k, "pki/ca.crt", a, sizeof(a));
	kp(k, "pki/ca.key", b, sizeof(b));
	if (k->existed && access(a, F_OK) == 0) {
		if (pki_ca_load(a, b, &ca, err) < 0)
			return -1;
	} else {
		char cn[128];
		snprintf(cn, sizeof(cn), "berth-%s-ca", k->name);
		if (pki_ca_new(cn, 3650, &ca, err) < 0 || pki_ca_save(ca, a, b, err) < 0) {
			pki_ca_free(ca);
			return -1;
		}
	}
	int r = -1;
	kp(k, "pki/sa.key", a, sizeof(a));
	kp(k, "pki/sa.pub", b, sizeof(b));
	/* the token signer stays across restarts: tokens already handed out stay valid */
	if (!(k->existed && access(a, F_OK) == 0 && access(b, F_OK) == 0) && pki_keypair(a, b, err) < 0)
		goto out;
	const char *localhost_dns[] = {"localhost", NULL};
	const char *loop_ips[] = {"127.0.0.1", "::1", NULL};
	const char *api_dns[6 + 1 + MAX_SANS + 1] = {"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
						    "kubernetes.default.svc.cluster.local", k->node};
	const char *api_ips[MAX_IPS + 3 + MAX_SANS];
	int ni = 0, nd = 6;
	api_ips[ni++] = k->svc_ip;
	for (int i = 0; k->ips[i] && ni < MAX_IPS + 1; i++)
		api_ips[ni++] = k->ips[i];
	api_ips[ni] = NULL;
	/* the addresses and names other machines reach it by */
	for (int i = 0; k->sans && k->sans[i] && i < MAX_SANS; i++) {
		unsigned char tmp[16];
		if (inet_pton(AF_INET, k->sans[i], tmp) == 1 || inet_pton(AF_INET6, k->sans[i], tmp) == 1)
			api_ips[ni++] = k->sans[i];
		else
			api_dns[nd++] = k->sans[i];
	}
	api_ips[ni] = NULL;
	api_dns[nd] = NULL;
	const char *node_dns[] = {k->node, "localhost", NULL};
	char node_cn[300];
	snprintf(node_cn, sizeof(node_cn), "system:node:%s", k->node);
	const char *masters[] = {"system:masters", NULL};
	const char *nodes[] = {"system:nodes", NULL};
	struct {
		const char *file;
		struct pki_spec s;
	} certs[] = {
		{"etcd-server",
		 {.cn = "etcd-server", .dns = localhost_dns, .ips = loop_ips, .usage = PKI_SERVER | PKI_CLIENT}},
		{"apiserver-etcd-client", {.cn = "kube-apiserver-etcd-client", .usage = PKI_CLIENT}},
		{"apiserver", {.cn = "kube-apiserver", .dns = api_dns, .ips = api_ips, .usage = PKI_SERVER}},
		{"apiserver-kubelet-client",
		 {.cn = "kube-apiserver-kubelet-client", .orgs = masters, .usage = PKI_CLIENT}},
		{"admin", {.cn = "kubernetes-admin", .orgs = masters, .usage = PKI_CLIENT}},
		{"controller-manager", {.cn = "system:kube-controller-manager", .usage = PKI_CLIENT}},
		{"scheduler", {.cn = "system:kube-scheduler", .usage = PKI_CLIENT}},
		{"node", {.cn = node_cn, .orgs = nodes, .usage = PKI_CLIENT}},
		{"node-serving",
		 {.cn = node_cn, .orgs = nodes, .dns = node_dns, .ips = api_ips + 1, .usage = PKI_SERVER}},
	};
	for (size_t i = 0; i < ARRAY_SIZE(certs); i++) {
		char crel[128], krel[128];
		snprintf(crel, sizeof(crel), "pki/%s.crt", certs[i].file);
		snprintf(krel, sizeof(krel), "pki/%s.key", certs[i].file);
		certs[i].s.days = 365;
		if (pki_issue(ca, &certs[i].s, kp(k, crel, a, sizeof(a)), kp(k, krel, b, sizeof(b)), err) < 0)
			goto out;
	}
	r = 0;
out:
	pki_ca_free(ca);
	return r;
}

static char *file_b64(const char *path, struct berr **err)
{
	char *buf = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, err) < 0)
		return NULL;
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, (unsigned char *)buf, (int)len);
	free(buf);
	return out;
}

/* A kubeconfig with the certificates inline: cluster, user and context
 * all named ctx. */
static json_t *kubeconfig_doc(const struct kc *k, const char *who, const char *ctx, struct berr **err)
{
	char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], rel[128];
	kp(k, "pki/ca.crt", ca, sizeof(ca));
	snprintf(rel, sizeof(rel), "pki/%s.crt", who);
	kp(k, rel, crt, sizeof(crt));
	snprintf(rel, sizeof(rel), "pki/%s.key", who);
	kp(k, rel, key, sizeof(key));
	_cleanup_free_ char *cad = file_b64(ca, err);
	_cleanup_free_ char *crtd = cad ? file_b64(crt, err) : NULL;
	_cleanup_free_ char *keyd = crtd ? file_b64(key, err) : NULL;
	if (!keyd)
		return NULL;
	char server[64];
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", k->ports[P_API]);
	return json_pack("{s:s,s:s,s:[{s:s,s:{s:s,s:s}}],s:[{s:s,s:{s:s,s:s}}],s:[{s:s,s:{s:s,s:s}}],s:s,s:{}}",
			 "apiVersion", "v1", "kind", "Config", "clusters", "name", ctx, "cluster",
			 "certificate-authority-data", cad, "server", server, "users", "name", ctx, "user",
			 "client-certificate-data", crtd, "client-key-data", keyd, "contexts", "name", ctx, "context",
			 "cluster", ctx, "user", ctx, "current-context", ctx, "preferences");
}

static int write_kubeconfigs(const struct kc *k, struct berr **err)
{
	static const char *const who[] = {"admin", "controller-manager", "scheduler", "node"};
	_cleanup_close_ int dfd = open(k->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "opening %s", k->dir);
	for (size_t i = 0; i < ARRAY_SIZE(who); i++) {
		json_t *doc = kubeconfig_doc(k, who[i], k->ctx, err);
		if (!doc)
			return -1;
		struct sbuf b = SBUF_INIT;
		compose_yaml_emit(doc, &b);
		json_decref(doc);
		char name[64];
		snprintf(name, sizeof(name), "%s.kubeconfig", who[i]);
		int r = fs_write_atomic_at(dfd, name, b.s, b.len, 0600, false, err);
		sbuf_release(&b);
		if (r < 0)
			return berr_wrap(err, "writing %s/%s", k->dir, name);
	}
	return 0;
}

/* ---- the components' command lines ---- */

struct argv {
	char **v;
	int n, cap;
};

static void av_add(struct argv *a, char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = realloc(a->v, (size_t)a->cap * sizeof(char *));
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void av_addf(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void av_addf(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = strdup("");
	va_end(ap);
	av_add(a, s);
}

static void av_free(char **v)
{
	for (int i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static char **etcd_argv(const struct kc *k)
{
	struct argv a = {0};
	_cleanup_free_ char *crt = P(k, "pki/etcd-server.crt"), *key = P(k, "pki/etcd-server.key"),
			    *ca = P(k, "pki/ca.crt"), *data = P(k, "etcd");
	av_addf(&a, "%s/etcd", k->bin);
	av_addf(&a, "--name=%s", k->node);
	av_addf(&a, "--data-dir=%s", data);
	av_addf(&a, "--listen-client-urls=https://127.0.0.1:%d", k->ports[P_ETCD]);
	av_addf(&a, "--advertise-client-urls=https://127.0.0.1:%d", k->ports[P_ETCD]);
	av_addf(&a, "--listen-peer-urls=https://127.0.0.1:%d", k->ports[P_PEER]);
	av_addf(&a, "--initial-advertise-peer-urls=https://127.0.0.1:%d", k->ports[P_PEER]);
	av_addf(&a, "--initial-cluster=%s=https://127.0.0.1:%d", k->node, k->ports[P_PEER]);
	av_addf(&a, "--initial-cluster-state=new");
	av_addf(&a, "--initial-cluster-token=berth-%s", k->name);
	av_addf(&a, "--cert-file=%s", crt);
	av_addf(&a, "--key-file=%s", key);
	av_addf(&a, "--trusted-ca-file=%s", ca);
	av_addf(&a, "--client-cert-auth=true");
	av_addf(&a, "--peer-cert-file=%s", crt);
	av_addf(&a, "--peer-key-file=%s", key);
	av_addf(&a, "--peer-trusted-ca-file=%s", ca);
	av_addf(&a, "--peer-client-cert-auth=true");
	av_addf(&a, "--snapshot-count=10000");
	/* one member: the election after start waits a random 1-10 ticks once
	 * etcd fast-forwards its clock (100-1000 ms at the default 100 ms
	 * tick, measured ~600 ms); 25 ms ticks make it 25-250 ms, within the
	 * ~450 ms the apiserver takes to its first etcd request. (10 ms ticks:
	 * 10-100 ms, but 1.5% of a core idle against 1% at 25 ms and 0.4% at
	 * 100 ms.) No peer to miss heartbeats. */
	av_addf(&a, "--heartbeat-interval=25");
	av_addf(&a, "--election-timeout=250");
	return a.v;
}

static char **apiserver_argv(const struct kc *k)
{
	struct argv a = {0};
	av_addf(&a, "%s/kube-apiserver", k->bin);
	av_addf(&a, "--advertise-address=%s", k->node_ip);
	av_addf(&a, "--bind-address=0.0.0.0");
	av_addf(&a, "--secure-port=%d", k->ports[P_API]);
	av_addf(&a, "--allow-privileged=true");
	av_addf(&a, "--authorization-mode=Node,RBAC");
	av_addf(&a, "--enable-admission-plugins=NodeRestriction");
	av_addf(&a, "--client-ca-file=%s/pki/ca.crt", k->dir);
	av_addf(&a, "--tls-cert-file=%s/pki/apiserver.crt", k->dir);
	av_addf(&a, "--tls-private-key-file=%s/pki/apiserver.key", k->dir);
	av_addf(&a, "--etcd-servers=https://127.0.0.1:%d", k->ports[P_ETCD]);
	av_addf(&a, "--etcd-cafile=%s/pki/ca.crt", k->dir);
	av_addf(&a, "--etcd-certfile=%s/pki/apiserver-etcd-client.crt", k->dir);
	av_addf(&a, "--etcd-keyfile=%s/pki/apiserver-etcd-client.key", k->dir);
	av_addf(&a, "--kubelet-client-certificate=%s/pki/apiserver-kubelet-client.crt", k->dir);
	av_addf(&a, "--kubelet-client-key=%s/pki/apiserver-kubelet-client.key", k->dir);
	av_addf(&a, "--kubelet-certificate-authority=%s/pki/ca.crt", k->dir);
	av_addf(&a, "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname");
	av_addf(&a, "--service-account-issuer=https://kubernetes.default.svc.cluster.local");
	av_addf(&a, "--service-account-key-file=%s/pki/sa.pub", k->dir);
	av_addf(&a, "--service-account-signing-key-file=%s/pki/sa.key", k->dir);
	av_addf(&a, "--service-cluster-ip-range=%s", k->svc_cidr);
	/* joining nodes authenticate with bootstrap tokens (cluster-join.h) */
	av_addf(&a, "--enable-bootstrap-token-auth=true");
	av_addf(&a, "--profiling=false");
	return a.v;
}

/* What the controller-manager and the scheduler share: their kubeconfig
 * for the API, authentication and authorization, and their health
 * endpoint on 127.0.0.1:port. Client certs are checked against our CA
 * without reading the extension-apiserver-authentication ConfigMap, which
 * RBAC lets them read only once the apiserver's bootstrap roles exist
 * (they would exit when started right as the apiserver listens). */
static void control_argv(struct argv *a, const struct kc *k, const char *prog, const char *kubeconfig, int port)
{
	av_addf(a, "%s/%s", k->bin, prog);
	av_addf(a, "--kubeconfig=%s/%s", k->dir, kubeconfig);
	av_addf(a, "--authentication-kubeconfig=%s/%s", k->dir, kubeconfig);
	av_addf(a, "--authorization-kubeconfig=%s/%s", k->dir, kubeconfig);
	av_addf(a, "--client-ca-file=%s/pki/ca.crt", k->dir);
	av_addf(a, "--authentication-skip-lookup=true");
	av_addf(a, "--bind-address=127.0.0.1");
	av_addf(a, "--secure-port=%d", port);
	av_addf(a, "--leader-elect=false");
	av_addf(a, "--profiling=false");
}

static char **cm_argv(const struct kc *k)
{
	struct argv a = {0};
	control_argv(&a, k, "kube-controller-manager", "controller-manager.kubeconfig", k->ports[P_CM]);
	av_addf(&a, "--use-service-account-credentials=true");
	av_addf(&a, "--root-ca-file=%s/pki/ca.crt", k->dir);
	av_addf(&a, "--service-account-private-key-file=%s/pki/sa.key", k->dir);
	av_addf(&a, "--cluster-signing-cert-file=%s/pki/ca.crt", k->dir);
	av_addf(&a, "--cluster-signing-key-file=%s/pki/ca.key", k->dir);
	/* bootstrapsigner signs cluster-info per token, tokencleaner removes
	 * expired tokens (both off by default; kubeadm turns them on) */
	av_addf(&a, "--controllers=*,bootstrapsigner,tokencleaner");
	/* each Node's podCIDR: a /24 of the cluster's range */
	av_addf(&a, "--allocate-node-cidrs=true");
	av_addf(&a, "--cluster-cidr=%s", k->pod_cidr);
	av_addf(&a, "--node-cidr-mask-size=24");
	if (k->node_grace_s > 0)
		av_addf(&a, "--node-monitor-grace-period=%ds", k->node_grace_s);
	av_addf(&a, "--service-cluster-ip-range=%s", k->svc_cidr);
	av_addf(&a, "--cluster-name=%s", k->name);
	/* client-side rate limit: with --use-service-account-credentials it
	 * makes a ServiceAccount and a token for each of its ~40 controllers at
	 * start, which the default (20/s, burst 30) spreads over ~5 s */
	av_addf(&a, "--kube-api-qps=200");
	av_addf(&a, "--kube-api-burst=400");
	return a.v;
}

static char **sched_argv(const struct kc *k)
{
	struct argv a = {0};
	control_argv(&a, k, "kube-scheduler", "scheduler.kubeconfig", k->ports[P_SCHED]);
	return a.v;
}

/* berth itself, on the cluster's store: `berth --root R --runroot RR kube SUB` */
static void berth_argv(struct argv *a, const struct kc *k, const char *sub)
{
	av_addf(a, "%s", k->self);
	av_addf(a, "--root=%s", k->root);
	av_addf(a, "--runroot=%s", k->runroot);
	av_addf(a, "kube");
	av_addf(a, "%s", sub);
}

static char **node_argv(const struct kc *k)
{
	struct argv a = {0};
	berth_argv(&a, k, "node");
	av_addf(&a, "--kubeconfig=%s/node.kubeconfig", k->dir);
	av_addf(&a, "--name=%s", k->node);
	av_addf(&a, "--node-ip=%s", k->node_ip);
	av_addf(&a, "--service-cidr=%s", k->svc_cidr);
	av_addf(&a, "--kubelet-port=%d", k->ports[P_KUBELET]);
	av_addf(&a, "--tls-cert-file=%s/pki/node-serving.crt", k->dir);
	av_addf(&a, "--tls-private-key-file=%s/pki/node-serving.key", k->dir);
	av_addf(&a, "--client-ca-file=%s/pki/ca.crt", k->dir);
	return a.v;
}

/* The storage provisioner: `berth kube provisioner` with the admin
 * credentials (it makes StorageClasses and PersistentVolumes). */
static char **prov_argv(const struct kc *k)
{
	struct argv a = {0};
	berth_argv(&a, k, "provisioner");
	av_addf(&a, "--kubeconfig=%s/admin.kubeconfig", k->dir);
	return a.v;
}

/* ---- health checks over HTTPS (libcurl; one handle per server, so the
 * connection and its TLS session are reused between polls) ---- */

struct hc {
	CURL *h;
	struct sbuf body;
	long status;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t hc_write(char *p, size_t sz, size_t n, void *ud)
{
	struct sbuf *b = ud;
	if (b->len < (1u << 20))
		sbuf_add(b, p, sz * n);
	return sz * n;
}

/* GET url, or POST body (JSON) when body is not NULL; ca NULL: no
 * verification (the controller-manager's and scheduler's self-signed
 * serving certs). 0 when an answer came. */
static int hc_req(struct hc *c, const char *url, const char *body, const char *ca, const char *cert, const char *key,
		  int timeout_ms)
{
	if (!c->h && !(c->h = curl_easy_init()))
		return -1;
	sbuf_reset(&c->body);
	c->status = 0;
	c->errbuf[0] = 0;
	CURL *h = c->h;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, hc_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (ca) {
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	} else {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cert) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, key);
	}
	struct curl_slist *hdr = NULL;
	if (body) {
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	}
	CURLcode rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		if (!c->errbuf[0])
			snprintf(c->errbuf, sizeof(c->errbuf), "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
	return 0;
}

static int hc_get(struct hc *c, const char *url, const char *ca, const char *cert, const char *key, int timeout_ms)
{
	return hc_req(c, url, NULL, ca, cert, key, timeout_ms);
}

static void hc_release(struct hc *c)
{
	if (c->h)
		curl_easy_cleanup(c->h);
	c->h = NULL;
	sbuf_release(&c->body);
}

/* The checks of each part; why (when not NULL) gets the reason it is not healthy. */
struct checks {
	const struct kc *k;
	struct hc etcd, api, cm, sched;
	char ca[PATH_MAX], ecrt[PATH_MAX], ekey[PATH_MAX], acrt[PATH_MAX], akey[PATH_MAX];
};

static void checks_init(struct checks *c, const struct kc *k)
{
	memset(c, 0, sizeof(*c));
	c->k = k;
	kp(k, "pki/ca.crt", c->ca, sizeof(c->ca));
	kp(k, "pki/apiserver-etcd-client.crt", c->ecrt, sizeof(c->ecrt));
	kp(k, "pki/apiserver-etcd-client.key", c->ekey, sizeof(c->ekey));
	kp(k, "pki/admin.crt", c->acrt, sizeof(c->acrt));
	kp(k, "pki/admin.key", c->akey, sizeof(c->akey));
}

static void checks_release(struct checks *c)
{
	hc_release(&c->etcd);
	hc_release(&c->api);
	hc_release(&c->cm);
	hc_release(&c->sched);
}

static void why_set(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t n, const char *fmt, ...)
{
	if (!why)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
}

static bool etcd_healthy(struct checks *c, int tmo, char *why, size_t wn)
{
	char url[128];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/health", c->k->ports[P_ETCD]);
	if (hc_get(&c->etcd, url, c->ca, c->ecrt, c->ekey, tmo) < 0) {
		why_set(why, wn, "%s", c->etcd.errbuf);
		return false;
	}
	json_t *j = json_loads(sbuf_str(&c->etcd.body), 0, NULL);
	bool ok = c->etcd.status == 200 && !strcmp(jsonx_str(j, "health") ? jsonx_str(j, "health") : "", "true");
	if (!ok)
		why_set(why, wn, "/health: %ld %s", c->etcd.status, sbuf_str(&c->etcd.body));
	json_decref(j);
	return ok;
}

/* GET path from the apiserver as the admin; 0 with the status. */
static int api_get(struct checks *c, const char *path, int tmo, char *why, size_t wn)
{
	char url[512];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", c->k->ports[P_API], path);
	if (hc_get(&c->api, url, c->ca, c->acrt, c->akey, tmo) < 0) {
		why_set(why, wn, "%s", c->api.errbuf);
		return -1;
	}
	return 0;
}

static bool api_ready(struct checks *c, int tmo, char *why, size_t wn)
{
	if (api_get(c, "/readyz", tmo, why, wn) < 0)
		return false;
	if (c->api.status != 200) {
		/* the checks that fail, from the verbose answer */
		if (why && api_get(c, "/readyz?verbose", tmo, why, wn) == 0) {
			struct sbuf f = SBUF_INIT;
			const char *s = sbuf_str(&c->api.body);
			for (const char *l = s; *l;) {
				const char *e = strchr(l, '\n');
				size_t n = e ? (size_t)(e - l) : strlen(l);
				if (!strncmp(l, "[-]", 3)) {
					const char *sp = memchr(l, ' ', n);
					int w = (int)((sp ? sp : l + n) - l - 3);
					sbuf_addf(&f, "%s%.*s", f.len ? ", " : "", w, l + 3);
				}
				l += n + (e ? 1 : 0);
			}
			why_set(why, wn, "/readyz: %s", f.len ? f.s : "not ready");
			sbuf_release(&f);
		}
		return false;
	}
	return true;
}

static bool https_healthz(struct hc *h, int port, int tmo, char *why, size_t wn)
{
	char url[128];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/healthz", port);
	if (hc_get(h, url, NULL, NULL, NULL, tmo) < 0) {
		why_set(why, wn, "%s", h->errbuf);
		return false;
	}
	if (h->status != 200 || strcmp(sbuf_str(&h->body), "ok")) {
		why_set(why, wn, "/healthz: %ld %.200s", h->status, sbuf_str(&h->body));
		return false;
	}
	return true;
}

static bool node_ready(struct checks *c, int tmo, char *why, size_t wn)
{
	char path[400];
	snprintf(path, sizeof(path), "/api/v1/nodes/%s", c->k->node);
	if (api_get(c, path, tmo, why, wn) < 0)
		return false;
	if (c->api.status == 404) {
		why_set(why, wn, "not registered");
		return false;
	}
	json_t *j = json_loads(sbuf_str(&c->api.body), 0, NULL);
	bool ok = false;
	const char *msg = NULL;
	size_t i;
	json_t *cond;
	json_array_foreach(json_object_get(json_object_get(j, "status"), "conditions"), i, cond) {
		if (!strcmp(jsonx_str(cond, "type") ? jsonx_str(cond, "type") : "", "Ready")) {
			ok = !strcmp(jsonx_str(cond, "status") ? jsonx_str(cond, "status") : "", "True");
			msg = jsonx_str(cond, "message");
		}
	}
	if (!ok)
		why_set(why, wn, "%s", c->api.status != 200 ? "no answer" : msg ? msg : "no Ready condition");
	json_decref(j);
	return ok;
}

/* The ServiceAccount "default" of namespace default: without it pods are
 * refused. The controller-manager's serviceaccount controller makes it
 * once its ~40 controllers have started, ~1 s after the apiserver is
 * ready; up makes the same object right away (the controller only makes
 * the ones that are missing), so `kubectl run` works the moment up
 * returns. */
static bool default_sa(struct checks *c, int tmo)
{
	if (api_get(c, "/api/v1/namespaces/default/serviceaccounts/default", tmo, NULL, 0) == 0 && c->api.status == 200)
		return true;
	char url[128];
	static const char sa[] =
		"{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"default\"}}";
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/namespaces/default/serviceaccounts",
		 c->k->ports[P_API]);
	return hc_req(&c->api, url, sa, c->ca, c->acrt, c->akey, tmo) == 0 &&
	       (c->api.status == 201 || c->api.status == 409);
}

/* What nodes read beyond the kubelet's own (the Node authorizer has no
 * opinion on these, RBAC decides): the EndpointSlices behind the Services
 * berth's node programs, as kube-proxy's system:node-proxier role allows,
 * and the ServiceCIDRs. One ClusterRole "berth:node" bound to the group
 * system:nodes. */
static bool node_rbac(struct checks *c, int tmo)
{
	if (api_get(c, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/berth:node", tmo, NULL, 0) == 0 &&
	    c->api.status == 200)
		return true;
	static const char role[] =
		"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"berth:node\"},"
		"\"rules\":[{\"apiGroups\":[\"discovery.k8s.io\"],\"resources\":[\"endpointslices\"],\"verbs\":[\"get\",\"list\",\"watch\"]},"
		"{\"apiGroups\":[\"networking.k8s.io\"],\"resources\":[\"servicecidrs\"],\"verbs\":[\"get\",\"list\",\"watch\"]}]}";
	static const char binding[] =
		"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"berth:node\"},"
		"\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"berth:node\"},"
		"\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:nodes\"}]}";
	char url[160];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/apis/rbac.authorization.k8s.io/v1/clusterroles", c->k->ports[P_API]);
	if (hc_req(&c->api, url, role, c->ca, c->acrt, c->akey, tmo) < 0 || (c->api.status != 201 && c->api.status != 409))
		return false;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
		 c->k->ports[P_API]);
	return hc_req(&c->api, url, binding, c->ca, c->acrt, c->akey, tmo) == 0 &&
	       (c->api.status == 201 || c->api.status == 409);
}

/* What nodes of other machines need to join (cluster-join.h). */
static bool join_prepare(const struct kc *k, char *why, size_t wn)
{
	char admin[PATH_MAX], ca[PATH_MAX], server[128];
	kp(k, "admin.kubeconfig", admin, sizeof(admin));
	kp(k, "pki/ca.crt", ca, sizeof(ca));
	snprintf(server, sizeof(server), "https://%s:%d", k->node_ip, k->ports[P_API]);
	struct berr *e = NULL;
	if (kc_join_prepare(admin, server, ca, &e) < 0) {
		why_set(why, wn, "%s", e ? e->msg : "error");
		berr_free(e);
		return false;
	}
	return true;
}

/* The default StorageClass "standard" of the provisioner: up makes it
 * itself, as the ServiceAccount, so that a claim made the moment up
 * returns gets the class (the DefaultStorageClass admission plugin sets
 * it only at the claim's creation). */
static bool default_sc(struct checks *c, int tmo)
{
	if (api_get(c, "/apis/storage.k8s.io/v1/storageclasses/standard", tmo, NULL, 0) == 0 && c->api.status == 200)
		return true;
	char url[128];
	static const char sc[] =
		"{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"standard\","
		"\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":\"true\"}},\"provisioner\":\"berth.io/local\","
		"\"reclaimPolicy\":\"Delete\",\"volumeBindingMode\":\"WaitForFirstConsumer\"}";
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/apis/storage.k8s.io/v1/storageclasses", c->k->ports[P_API]);
	return hc_req(&c->api, url, sc, c->ca, c->acrt, c->akey, tmo) == 0 &&
	       (c->api.status == 201 || c->api.status == 409);
}

/* ---- logs ---- */

/* The last lines of a component's log, indented. */
static char *log_tail(const struct kc *k, const char *comp, int lines)
{
	char path[PATH_MAX];
	pathf(path, sizeof(path), "%s/logs/%s.log", k->dir, comp);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strdup("");
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > 6000 ? end - 6000 : 0;
	char buf[6001];
	ssize_t n = pread(fd, buf, (size_t)(end - from), from);
	close(fd);
	if (n <= 0)
		return strdup("");
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	char *start = buf;
	int seen = 0;
	for (char *p = buf + n; p > buf; p--)
		if (p[-1] == '\n' && ++seen == lines) {
			start = p;
			break;
		}
	struct sbuf b = SBUF_INIT;
	sbuf_addf(&b, "\n  last lines of %s:", path);
	for (char *l = start; l && *l;) {
		char *e = strchr(l, '\n');
		if (e)
			*e = 0;
		sbuf_addf(&b, "\n    %.400s", l);
		l = e ? e + 1 : NULL;
	}
	return sbuf_detach(&b);
}

/* ---- state of the running supervisor ---- */

static json_t *run_state(const struct kc *k)
{
	_cleanup_close_ int dfd = open(k->rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	struct berr *e = NULL;
	json_t *j = jsonx_load_at(dfd, "state.json", 1 << 20, &e);
	berr_free(e);
	return j;
}

static json_t *comp_state(json_t *st, int i)
{
	return json_object_get(json_object_get(st, "components"), kc_comp_names[i]);
}

static int op_lock(const struct kc *k, struct berr **err)
{
	if (fs_mkdir_p(k->rundir, 0700, err) < 0)
		return -1;
	_cleanup_close_ int dfd = open(k->rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "opening %s", k->rundir);
	return fs_lock_at(dfd, "op.lock", LOCK_EX, err);
}

/* Remove a directory tree by path. */
static void rm_tree(const char *path)
{
	_cleanup_free_ char *d = strdup(path);
	char *slash = strrchr(d, '/');
	if (!slash)
		return;
	*slash = 0;
	int fd = open(*d ? d : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	fs_rm_rf_at(fd, slash + 1);
	close(fd);
}

static void progress(const struct kube_cluster_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct kube_cluster_opts *o, const char *fmt, ...)
{
	if (!o->progress)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->progress(o->ud, line);
}

/* Merge the admin kubeconfig into the user's and record where. */
static int merge_user_kubeconfig(struct kc *k, const struct kube_cluster_opts *o, char *where, size_t wn,
				 struct berr **err)
{
	char target[PATH_MAX];
	if (o->kubeconfig)
		snprintf(target, sizeof(target), "%s", o->kubeconfig);
	else if (kube_kubeconfig_target(target, sizeof(target), err) < 0)
		return -1;
	json_t *admin = kubeconfig_doc(k, "admin", k->ctx, err);
	if (!admin)
		return -1;
	int r = kube_kubeconfig_merge_file(target, admin, k->ctx, err);
	json_decref(admin);
	if (r < 0)
		return -1;
	char real[PATH_MAX];
	const char *rec = realpath(target, real) ? real : target;
	json_t *l = json_object_get(k->doc, "kubeconfigs");
	if (!json_is_array(l)) {
		l = json_array();
		json_object_set_new(k->doc, "kubeconfigs", l);
	}
	size_t i;
	json_t *x;
	bool have = false;
	json_array_foreach(l, i, x) have |= !strcmp(json_string_value(x) ? json_string_value(x) : "", rec);
	if (!have)
		json_array_append_new(l, json_string(rec));
	snprintf(where, wn, "%s", rec);
	return save_doc(k, err);
}

static void unmerge_kubeconfigs(const struct kc *k, struct sbuf *errs)
{
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(k->doc, "kubeconfigs"), i, x) {
		struct berr *e = NULL;
		if (json_string_value(x) && kube_kubeconfig_unmerge_file(json_string_value(x), k->ctx, &e) < 0) {
			sbuf_addf(errs, "%sremoving context %s (the cluster dir stays until it is gone): %s",
				  errs->len ? "; " : "", k->ctx, e->msg);
			berr_free(e);
		}
	}
}

/* Add text to the end of *err's message. */
static void err_append(struct berr **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void err_append(struct berr **err, const char *fmt, ...)
{
	if (!err || !*err)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *more = NULL;
	if (vasprintf(&more, fmt, ap) >= 0) {
		char *m = NULL;
		if (asprintf(&m, "%s%s", (*err)->msg ? (*err)->msg : "", more) >= 0) {
			free((*err)->msg);
			(*err)->msg = m;
		}
		free(more);
	}
	va_end(ap);
}

static double secs(long long ms)
{
	return (double)ms / 1000.0;
}

/* Stop and remove what a failed up or a down leaves: processes, the
 * node's pods, (with all) the cluster dir; always the run dir. */
static void teardown(struct kc *k, bool all, struct sbuf *errs)
{
	char match[PATH_MAX + 1];
	pathf(match, sizeof(match), "%s/", k->dir);
	kc_sup_stop(k->rundir, match, true, GRACE_MS * 2 + 2000);
	struct berr *e = NULL;
	if (node_cleanup(k, &e) < 0) {
		sbuf_addf(errs, "%s%s", errs->len ? "; " : "", e->msg);
		berr_free(e);
	}
	if (all) {
		rm_tree(k->dir);
		char parent[PATH_MAX];
		pathf(parent, sizeof(parent), "%s/" CLUSTERS_DIR, k->root);
		rmdir(parent);
	}
	host_unregister(k);
	/* op.lock stays held by the caller through its fd: removing the name is fine */
	rm_tree(k->rundir);
	char parent[PATH_MAX];
	pathf(parent, sizeof(parent), "%s/" CLUSTERS_DIR, k->runroot);
	rmdir(parent);
}

static int up_wait(struct kc *k, const struct kube_cluster_opts *o, long long t0, struct berr **err)
{
	int wait_ms = o->wait_ms > 0 ? o->wait_ms : 120000;
	long long deadline = t0 + wait_ms;
	struct checks c;
	checks_init(&c, k);
	bool etcd_ok = false, api_ok = false, cm_ok = false, sched_ok = false, sa_ok = false, sc_ok = false, rbac_ok = false;
	bool node_ok = !k->node_avail, join_ok = false;
	/* why each part is not there yet: etcd, apiserver, cm, scheduler, node */
	char why[KC_NCOMP][512] = {""};
	int r = -1;
	for (;;) {
		long long it = now_ms();
		if (o->interrupted && *o->interrupted) {
			berr_set(err, 0, "interrupted: stopping what was started");
			goto out;
		}
		if (kc_sup_pid(k->rundir) == 0) {
			_cleanup_free_ char *tail = log_tail(k, "supervisor", 12);
			berr_set(err, 0, "the supervisor of cluster %s exited%s", k->name, tail);
			goto out;
		}
		json_t *st = run_state(k);
		for (int i = 0; i < KC_NCOMP; i++) {
			json_t *cs = comp_state(st, i);
			if (json_integer_value(json_object_get(cs, "exits")) > 0) {
				_cleanup_free_ char *tail = log_tail(k, kc_comp_names[i], 12);
				const char *how = jsonx_str(cs, "lastExit");
				const char *hint = strstr(tail, "address already in use") ? " (a port conflict)" : "";
				berr_set(err, 0, "%s failed to start: it exited (%s)%s%s", kc_comp_names[i],
					 how ? how : "?", hint, tail);
				json_decref(st);
				goto out;
			}
		}
		json_decref(st);
		if (!etcd_ok && (etcd_ok = etcd_healthy(&c, 1000, why[KC_ETCD], sizeof(why[0]))))
			progress(o, "etcd healthy on 127.0.0.1:%d (%.2f s)", k->ports[P_ETCD], secs(now_ms() - t0));
		/* (the failing checks of /readyz?verbose only for the timeout's message) */
		if (etcd_ok && !api_ok && (api_ok = api_ready(&c, 1000, NULL, 0)))
			progress(o, "kube-apiserver ready at https://127.0.0.1:%d (%.2f s)", k->ports[P_API],
				 secs(now_ms() - t0));
		if (api_ok) {
			if (!cm_ok && (cm_ok = https_healthz(&c.cm, k->ports[P_CM], 1000, why[KC_CM], sizeof(why[0]))))
				progress(o, "kube-controller-manager healthy (%.2f s)", secs(now_ms() - t0));
			if (!sched_ok && (sched_ok = https_healthz(&c.sched, k->ports[P_SCHED], 1000, why[KC_SCHED],
								   sizeof(why[0]))))
				progress(o, "kube-scheduler healthy (%.2f s)", secs(now_ms() - t0));
			if (!sa_ok && (sa_ok = default_sa(&c, 1000)))
				progress(o, "default ServiceAccount made (%.2f s)", secs(now_ms() - t0));
			if (!rbac_ok && (rbac_ok = node_rbac(&c, 1000)))
				progress(o, "ClusterRole berth:node bound to system:nodes (%.2f s)", secs(now_ms() - t0));
			if (!join_ok && (join_ok = join_prepare(k, why[KC_APISERVER], sizeof(why[0]))))
				progress(o, "cluster-info and the bootstrap tokens' RBAC for joining nodes (%.2f s)",
					 secs(now_ms() - t0));
			if (!sc_ok && k->node_avail && (sc_ok = default_sc(&c, 1000)))
				progress(o, "default StorageClass standard made (%.2f s)", secs(now_ms() - t0));
			if (!node_ok && (node_ok = node_ready(&c, 1000, why[KC_NODE], sizeof(why[0]))))
				progress(o, "node %s Ready (%.2f s)", k->node, secs(now_ms() - t0));
		}
		if (etcd_ok && api_ok && cm_ok && sched_ok && sa_ok && rbac_ok && join_ok && node_ok && (sc_ok || !k->node_avail))
			break;
		long long t = now_ms();
		if (t >= deadline) {
			if (etcd_ok && !api_ok)
				api_ready(&c, 1000, why[KC_APISERVER], sizeof(why[0]));
			int ci = !etcd_ok ? KC_ETCD : !api_ok ? KC_APISERVER : !cm_ok ? KC_CM : !sched_ok ? KC_SCHED
			       : !sa_ok ? KC_CM : !rbac_ok ? KC_APISERVER : !join_ok ? KC_APISERVER : !node_ok ? KC_NODE : KC_PROV;
			const char *what = ci == KC_NODE ? k->node : !sa_ok && cm_ok ? "the default ServiceAccount"
					   : !rbac_ok && sa_ok && ci == KC_APISERVER ? "the ClusterRole berth:node"
								   : ci == KC_PROV ? "the default StorageClass"
										 : kc_comp_names[ci];
			const char *w = why[ci];
			_cleanup_free_ char *tail = log_tail(k, kc_comp_names[ci], 12);
			berr_set(err, 0, "timed out after %.1f s waiting for %s%s%s%s%s", secs(wait_ms), what,
				 *w ? " (" : "", w, *w ? ")" : "", tail);
			goto out;
		}
		long long spent = now_ms() - it;
		if (spent < POLL_MS)
			sleep_ms((int)(POLL_MS - spent));
	}
	/* versions, from the servers themselves */
	json_t *ver = json_object();
	if (api_get(&c, "/version", 1000, NULL, 0) == 0 && c.api.status == 200) {
		json_t *j = json_loads(sbuf_str(&c.api.body), 0, NULL);
		if (jsonx_str(j, "gitVersion"))
			json_object_set_new(ver, "kubernetes", json_string(jsonx_str(j, "gitVersion")));
		json_decref(j);
	}
	char url[128];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/version", k->ports[P_ETCD]);
	if (hc_get(&c.etcd, url, c.ca, c.ecrt, c.ekey, 1000) == 0 && c.etcd.status == 200) {
		json_t *j = json_loads(sbuf_str(&c.etcd.body), 0, NULL);
		if (jsonx_str(j, "etcdserver"))
			json_object_set_new(ver, "etcd", json_string(jsonx_str(j, "etcdserver")));
		json_decref(j);
	}
	json_object_set_new(k->doc, "versions", ver);
	r = 0;
out:
	checks_release(&c);
	return r;
}

static void record_pids(struct kc *k)
{
	json_t *st = run_state(k);
	json_t *pids = json_object();
	json_object_set_new(pids, "supervisor", json_integer(json_integer_value(json_object_get(st, "supervisor"))));
	for (int i = 0; i < KC_NCOMP; i++)
		json_object_set_new(pids, kc_comp_names[i],
				    json_integer(json_integer_value(json_object_get(comp_state(st, i), "pid"))));
	json_object_set_new(k->doc, "pids", pids);
	json_decref(st);
}

int kube_cluster_up(const struct kube_cluster_opts *o, bool *ret_running, struct berr **err)
{
	*ret_running = false;
	long long t0 = now_ms();
	struct kc k;
	if (kc_init(&k, o, true, err) < 0)
		return -1;
	char bin[PATH_MAX];
	if (kube_cluster_bin_dir(o->bin_dir, bin, sizeof(bin), err) < 0)
		return -1;
	if (curl_lazy_load(err) < 0)
		return -1;
	/* the kubeconfig is merged last: a bad one fails before anything runs */
	{
		char target[PATH_MAX];
		if (o->kubeconfig)
			snprintf(target, sizeof(target), "%s", o->kubeconfig);
		else if (kube_kubeconfig_target(target, sizeof(target), err) < 0)
			return -1;
		if (kube_kubeconfig_check_file(target, err) < 0)
			return -1;
	}
	_cleanup_close_ int olock = op_lock(&k, err);
	if (olock < 0)
		return -1;
	struct berr *le = NULL;
	k.doc = load_doc(&k, &le);
	if (!k.doc && le && le->code != BERR_NOT_FOUND) {
		if (err)
			*err = le;
		else
			berr_free(le);
		return -1;
	}
	berr_free(le);
	if (kc_sup_pid(k.rundir) != 0) {
		if (!k.doc) {
			kc_release(&k);
			return berr_setc(err, BERR_CONFLICT,
					 "cluster %s: a supervisor runs but %s/cluster.json is gone", k.name, k.dir);
		}
		kc_from_doc(&k);
		*ret_running = true;
		char where[PATH_MAX];
		int r = merge_user_kubeconfig(&k, o, where, sizeof(where), err);
		if (r == 0)
			progress(o, "kubeconfig: context %s in %s (current)", k.ctx, where);
		kc_release(&k);
		return r;
	}
	/* what a supervisor killed with -9 may have left */
	{
		char match[PATH_MAX + 1];
		pathf(match, sizeof(match), "%s/", k.dir);
		kc_sup_stop(k.rundir, match, true, 0);
	}
	k.existed = k.doc != NULL;
	if (k.existed) {
		kc_from_doc(&k);
		/* the binaries may have moved: this run's */
	} else {
		k.doc = json_object();
	}
	snprintf(k.bin, sizeof(k.bin), "%s", bin);
	if (!*k.node)
		node_name(&k, k.node, sizeof(k.node));
	host_ip(k.node_ip, sizeof(k.node_ip));
	host_ips(k.ips);
	k.sans = o->extra_sans;
	k.node_grace_s = o->node_grace_s;
	if (advertise_check(&k, o, err) < 0) {
		kc_release(&k);
		return -1;
	}
	k.node_avail = node_agent_available(&k);
	int r = -1;
	struct sbuf errs = SBUF_INIT;
	/* the choice of ports and range, and our entry, under the host's lock */
	_cleanup_close_ int hdir = host_dir_lock(err);
	struct host_taken taken;
	if (hdir < 0)
		goto fail;
	host_scan(&k, hdir, &taken);
	if (pick_service_range(&k, &taken, err) < 0 || pick_pod_range(&k, &taken, err) < 0)
		goto fail;
	{
		char logs[PATH_MAX];
		kp(&k, "logs", logs, sizeof(logs));
		if (fs_mkdir_p(logs, 0700, err) < 0)
			goto fail;
		kp(&k, "etcd", logs, sizeof(logs));
		if (fs_mkdir_p(logs, 0700, err) < 0)
			goto fail;
	}
	if (pick_ports(&k, o->api_port, &taken, err) < 0 || host_register(&k, hdir, 0, err) < 0)
		goto fail;
	flock(hdir, LOCK_UN);
	long long t_pki = now_ms();
	if (make_pki(&k, err) < 0 || write_kubeconfigs(&k, err) < 0)
		goto fail;
	t_pki = now_ms() - t_pki;
	/* cluster.json before anything runs: down finds what to stop and remove */
	json_t *ports = json_object();
	for (int i = 0; i < P_N; i++)
		json_object_set_new(ports, port_keys[i], json_integer(k.ports[i]));
	json_object_set_new(k.doc, "name", json_string(k.name));
	json_object_set_new(k.doc, "context", json_string(k.ctx));
	json_object_set_new(k.doc, "server", json_sprintf("https://127.0.0.1:%d", k.ports[P_API]));
	json_object_set_new(k.doc, "node", json_string(k.node));
	json_object_set_new(k.doc, "nodeIP", json_string(k.node_ip));
	json_object_set_new(k.doc, "nodeAgent", json_boolean(k.node_avail));
	json_object_set_new(k.doc, "serviceCIDR", json_string(k.svc_cidr));
	json_object_set_new(k.doc, "clusterCIDR", json_string(k.pod_cidr));
	json_object_set_new(k.doc, "binDir", json_string(k.bin));
	json_object_set_new(k.doc, "ports", ports);
	if (!json_object_get(k.doc, "created")) {
		char ts[32];
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(k.doc, "created", json_string(ts));
	}
	if (save_doc(&k, err) < 0)
		goto fail;
	progress(o, "%s cluster \"%s\": node %s (%s), API https://127.0.0.1:%d, services %s; certificates in %lld ms",
		 k.existed ? "Starting" : "Creating", k.name, k.node, k.node_ip, k.ports[P_API], k.svc_cidr, t_pki);

	char sup_log[PATH_MAX], logp[KC_NCOMP][PATH_MAX];
	kp(&k, "logs/supervisor.log", sup_log, sizeof(sup_log));
	struct kc_sup s = {.name = k.name, .rundir = k.rundir, .sup_log = sup_log, .grace_ms = GRACE_MS};
	for (int i = 0; i < KC_NCOMP; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "logs/%s.log", kc_comp_names[i]);
		kp(&k, rel, logp[i], sizeof(logp[i]));
		/* each run's log starts empty: its tail is this run's */
		if (truncate(logp[i], 0) < 0 && errno != ENOENT) {
			berr_set(err, errno, "truncating %s", logp[i]);
			goto fail;
		}
		s.procs[i].log = logp[i];
	}
	s.procs[KC_ETCD].argv = etcd_argv(&k);
	s.procs[KC_ETCD].port = k.ports[P_ETCD];
	s.procs[KC_APISERVER].argv = apiserver_argv(&k);
	s.procs[KC_APISERVER].port = k.ports[P_API];
	s.procs[KC_CM].argv = cm_argv(&k);
	s.procs[KC_SCHED].argv = sched_argv(&k);
	s.procs[KC_NODE].argv = k.node_avail ? node_argv(&k) : NULL;
	s.procs[KC_PROV].argv = k.node_avail ? prov_argv(&k) : NULL;
	pid_t sup = 0;
	int sr = kc_sup_start(&s, &sup, err);
	for (int i = 0; i < KC_NCOMP; i++)
		av_free(s.procs[i].argv);
	/* (our own entry: no lock needed to replace it) */
	if (sr < 0 || host_register(&k, hdir, sup, err) < 0)
		goto fail;
	close(hdir);
	hdir = -1;
	if (!k.node_avail)
		progress(o, "warning: this berth has no node agent ('berth kube node' is not available): "
			    "the control plane runs without a node");
	if (up_wait(&k, o, t0, err) < 0)
		goto fail;
	record_pids(&k);
	char where[PATH_MAX];
	if (merge_user_kubeconfig(&k, o, where, sizeof(where), err) < 0)
		goto fail;
	progress(o, "kubeconfig: context %s in %s (current)", k.ctx, where);
	progress(o, "Cluster \"%s\" is up in %.2f s (Kubernetes %s, etcd %s)%s", k.name, secs(now_ms() - t0),
		 jsonx_str(json_object_get(k.doc, "versions"), "kubernetes") ?: "?",
		 jsonx_str(json_object_get(k.doc, "versions"), "etcd") ?: "?", k.node_avail ? "" : ", no node");
	progress(o, "Other machines join it as nodes with the command that 'berth kube cluster token create "
		    "--print-join-command%s%s' prints", strcmp(k.name, KUBE_CLUSTER_DEFAULT_NAME) ? " --name " : "",
		 strcmp(k.name, KUBE_CLUSTER_DEFAULT_NAME) ? k.name : "");
	r = 0;
	goto done;
fail:
	if (hdir >= 0) {
		/* (its lock: teardown takes it again) */
		close(hdir);
		hdir = -1;
	}
	teardown(&k, !k.existed, &errs);
	if (errs.len)
		err_append(err, "\n  cleaning up: %s", errs.s);
done:
	sbuf_release(&errs);
	kc_release(&k);
	return r;
}

int kube_cluster_down(const struct kube_cluster_opts *o, struct berr **err)
{
	struct kc k;
	if (kc_init(&k, o, false, err) < 0)
		return -1;
	struct stat st;
	if (stat(k.dir, &st) < 0 && kc_sup_pid(k.rundir) == 0)
		return berr_setc(err, BERR_NOT_FOUND, "no cluster \"%s\"", k.name);
	_cleanup_close_ int olock = op_lock(&k, err);
	if (olock < 0)
		return -1;
	struct berr *le = NULL;
	k.doc = load_doc(&k, &le);
	berr_free(le);
	if (k.doc)
		kc_from_doc(&k);
	else
		k.doc = json_object();
	struct sbuf errs = SBUF_INIT;
	teardown(&k, false, &errs);
	unmerge_kubeconfigs(&k, &errs);
	int r = 0;
	if (errs.len) {
		/* the cluster dir stays for another try: its cluster.json knows the node */
		r = berr_set(err, 0, "cluster %s: %s", k.name, errs.s);
	} else {
		rm_tree(k.dir);
		/* an empty kube-clusters/ goes too */
		char parent[PATH_MAX];
		pathf(parent, sizeof(parent), "%s/" CLUSTERS_DIR, k.root);
		rmdir(parent);
	}
	sbuf_release(&errs);
	kc_release(&k);
	return r;
}

int kube_cluster_kubeconfig(const struct kube_cluster_opts *o, char **ret, struct berr **err)
{
	struct kc k;
	if (kc_init(&k, o, false, err) < 0)
		return -1;
	k.doc = load_doc(&k, err);
	if (!k.doc)
		return -1;
	kc_release(&k);
	char path[PATH_MAX];
	size_t len;
	kp(&k, "admin.kubeconfig", path, sizeof(path));
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, ret, &len, err) < 0)
		return berr_wrap(err, "cluster %s", k.name);
	return 0;
}

int kube_cluster_status(const struct kube_cluster_opts *o, json_t **ret, struct berr **err)
{
	struct kc k;
	if (kc_init(&k, o, false, err) < 0)
		return -1;
	k.doc = load_doc(&k, err);
	if (!k.doc)
		return -1;
	kc_from_doc(&k);
	if (curl_lazy_load(err) < 0) {
		kc_release(&k);
		return -1;
	}
	pid_t sup = kc_sup_pid(k.rundir);
	json_t *st = sup > 0 ? run_state(&k) : NULL;
	struct checks c;
	checks_init(&c, &k);
	json_t *comps = json_array();
	bool all = sup > 0;
	json_array_append_new(comps, json_pack("{s:s,s:i,s:b,s:s}", "name", "supervisor", "pid", sup > 0 ? (int)sup : 0,
					       "healthy", sup > 0, "status", sup > 0 ? "running" : "not running"));
	for (int i = 0; i < KC_NCOMP; i++) {
		json_t *cs = comp_state(st, i);
		int pid = (int)json_integer_value(json_object_get(cs, "pid"));
		unsigned long long t = (unsigned long long)json_integer_value(json_object_get(cs, "startTime"));
		bool alive = pid > 0 && proc_alive(pid, t);
		char why[512] = "";
		bool ok = false;
		const char *state = jsonx_str(cs, "state");
		if ((i == KC_NODE || i == KC_PROV) && !k.node_avail) {
			snprintf(why, sizeof(why), "not available in this berth");
		} else if (!alive) {
			bool waiting = sup && state && !strcmp(state, "waiting");
			snprintf(why, sizeof(why), "%s", waiting ? "exited, restarting" : "not running");
			if (jsonx_str(cs, "lastExit") && *jsonx_str(cs, "lastExit"))
				snprintf(why + strlen(why), sizeof(why) - strlen(why), " (last: %s)",
					 jsonx_str(cs, "lastExit"));
		} else {
			switch (i) {
			case KC_ETCD: ok = etcd_healthy(&c, 2000, why, sizeof(why)); break;
			case KC_APISERVER: ok = api_ready(&c, 2000, why, sizeof(why)); break;
			case KC_CM: ok = https_healthz(&c.cm, k.ports[P_CM], 2000, why, sizeof(why)); break;
			case KC_SCHED: ok = https_healthz(&c.sched, k.ports[P_SCHED], 2000, why, sizeof(why)); break;
			case KC_NODE: ok = node_ready(&c, 2000, why, sizeof(why)); break;
			case KC_PROV: ok = true; break; /* no health endpoint: running is healthy */
			}
		}
		const char *status = ok ? (i == KC_NODE ? "Ready" : "healthy") : why;
		char name[300];
		if (i == KC_NODE)
			snprintf(name, sizeof(name), "node %s", k.node);
		else
			snprintf(name, sizeof(name), "%s", kc_comp_names[i]);
		all &= ok;
		json_array_append_new(comps, json_pack("{s:s,s:i,s:b,s:s}", "name", name, "pid", alive ? pid : 0,
						       "healthy", ok, "status", status));
	}
	checks_release(&c);
	json_decref(st);
	*ret = json_pack("{s:s,s:b,s:b,s:O?,s:s,s:o}", "name", k.name, "running", sup > 0, "healthy", all, "server",
			 json_object_get(k.doc, "server"), "node", k.node, "components", comps);
	kc_release(&k);
	return 0;
}
