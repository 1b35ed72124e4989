#include "util/proc.h"
#include "net/network.h"
#include "net/dnsproc.h"
#include "util/fs.h"
#include "net/ipam.h"
#include "net/nat.h"
#include "net/ports.h"
#include "net/netlink.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
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

/* ---- small helpers ---- */

void net_release(struct net *n)
{
	if (n->json)
		json_decref(n->json);
	n->json = NULL;
}

bool net_mode_is_network(const char *mode)
{
	return mode && *mode && strcmp(mode, "none") && strcmp(mode, "host") && strncmp(mode, "container:", 10);
}


static void rand_hex(char *out, size_t nhex)
{
	unsigned char b[64];
	size_t nb = (nhex + 1) / 2;
	if (getrandom(b, nb, 0) != (ssize_t)nb) {
		for (size_t i = 0; i < nb; i++)
			b[i] = (unsigned char)(rand() ^ getpid() ^ time(NULL));
	}
	for (size_t i = 0; i < nhex; i++)
		out[i] = "0123456789abcdef"[(b[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
	out[nhex] = 0;
}

static bool name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > 100 || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

static int nets_dirfd(const char *root, struct berr **err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/networks", root);
	if (fs_mkdir_p(path, 0700, err) < 0)
		return -1;
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set(err, errno, "opening %s", path);
	return fd;
}

static void run_dir(const char *runroot, const char *id, char *buf, size_t n)
{
	snprintf(buf, n, "%s/networks/%s", runroot, id);
}

/* mkdir -p the network's run dir and take its lock. */
static int run_lock(const char *runroot, const char *id, struct berr **err)
{
	char d[4200];
	run_dir(runroot, id, d, sizeof(d));
	char ep[4300];
	snprintf(ep, sizeof(ep), "%s/ep", d);
	if (fs_mkdir_p(ep, 0700, err) < 0)
		return -1;
	_cleanup_close_ int dfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "opening %s", d);
	return fs_lock_at(dfd, "lock", LOCK_EX, err);
}

static int from_json(json_t *j, struct net *n)
{
	memset(n, 0, sizeof(*n));
	const char *name = jsonx_str(j, "Name"), *id = jsonx_str(j, "Id");
	json_t *cfg0 = json_array_get(json_object_get(json_object_get(j, "IPAM"), "Config"), 0);
	const char *subnet = jsonx_str(cfg0, "Subnet"), *gw = jsonx_str(cfg0, "Gateway");
	const char *br = jsonx_str(json_object_get(j, "Options"), "com.docker.network.bridge.name");
	if (!name || !id || !subnet || !gw || !br)
		return -1;
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->id, sizeof(n->id), "%s", id);
	snprintf(n->subnet, sizeof(n->subnet), "%s", subnet);
	snprintf(n->gateway, sizeof(n->gateway), "%s", gw);
	snprintf(n->bridge, sizeof(n->bridge), "%s", br);
	n->internal = json_is_true(json_object_get(j, "Internal"));
	n->is_default = !strcmp(name, NET_DEFAULT_NAME);
	n->json = json_incref(j);
	return 0;
}

static json_t *load_file(int dfd, const char *fname)
{
	return jsonx_load_at(dfd, fname, 1 << 20, NULL);
}

/* All records (arrays of json), sorted by name. */
static json_t *load_all(int dfd)
{
	json_t *arr = json_array();
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return arr;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") || !strncmp(de->d_name, "ipam-", 5))
			continue;
		json_t *j = load_file(dfd, de->d_name);
		if (j)
			json_array_append_new(arr, j);
	}
	closedir(d);
	/* insertion sort by name */
	size_t n = json_array_size(arr);
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0; k--) {
			json_t *a = json_array_get(arr, k - 1), *b = json_array_get(arr, k);
			if (strcmp(jsonx_str(a, "Name") ?: "", jsonx_str(b, "Name") ?: "") <= 0)
				break;
			json_incref(a);
			json_incref(b);
			json_array_set_new(arr, k - 1, b);
			json_array_set_new(arr, k, a);
		}
	return arr;
}

/* Host IPv4 routes (/proc/net/route) of every interface but `skip_if`
 * (NULL: none); ifnames[i] (when given) gets each route's interface. */
static size_t host_routes(const char *skip_if, struct ipam_cidr *out, char (*ifnames)[16], size_t max)
{
	FILE *f = fopen("/proc/net/route", "re");
	if (!f)
		return 0;
	char line[512];
	size_t n = 0;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return 0;
	}
	while (n < max && fgets(line, sizeof(line), f)) {
		char ifn[64];
		unsigned dst, gw, flags, mask;
		if (sscanf(line, "%63s %x %x %x %*s %*s %*s %x", ifn, &dst, &gw, &flags, &mask) != 5)
			continue;
		if ((skip_if && !strcmp(ifn, skip_if)) || mask == 0)
			continue;
		struct ipam_cidr c = {.addr = {.family = AF_INET}};
		memcpy(c.addr.b, &dst, 4); /* already network order in memory */
		c.prefix = __builtin_popcount(mask);
		if (ifnames)
			snprintf(ifnames[n], sizeof(ifnames[n]), "%.15s", ifn);
		out[n++] = c;
	}
	fclose(f);
	return n;
}

/* Host-wide lock around "pick a subnet + create the bridge with its
 * address": several stores (--root) share the host's address space, and a
 * bridge's connected route is what the next picker sees. */
static int host_lock(struct berr **err)
{
	return fs_lock_at(AT_FDCWD, NET_HOST_LOCK, LOCK_EX, err);
}

/* ---- the host-wide bridge registry ----
 *
 * NET_BRIDGES_DIR/<bridge>: {"Root", "Network", "Subnet", "MountNS"} of every bridge
 * berth set up, written (host lock held) before the bridge exists and
 * removed after it is gone. A bridge whose store no longer has that
 * network (a killed `network create`, a store deleted with rm -rf) is
 * stale: sweep_stale_bridges removes it, its rules and its entry. Only
 * entries made in the sweeper's own mount namespace are judged. */

static bool bridge_name_ok(const char *b)
{
	size_t l = strlen(b);
	if (l < 1 || l > 15)
		return false;
	for (size_t i = 0; i < l; i++)
		if (!isalnum((unsigned char)b[i]) && b[i] != '-')
			return false;
	return true;
}

/* "mnt:[INODE]" of the calling process: a store path only means something
 * in the mount namespace it was seen in (a store mounted in a private
 * namespace is invisible from the host's, not gone). */
static void mntns_id(char out[64])
{
	ssize_t k = readlink("/proc/self/ns/mnt", out, 63);
	out[k > 0 ? k : 0] = 0;
}

static int reg_add(const char *root, struct net *n, struct berr **err)
{
	if (fs_mkdir_p(NET_BRIDGES_DIR, 0700, err) < 0)
		return -1;
	_cleanup_close_ int dfd = open(NET_BRIDGES_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "opening %s", NET_BRIDGES_DIR);
	char rp[PATH_MAX];
	if (!realpath(root, rp))
		snprintf(rp, sizeof(rp), "%s", root);
	char mns[64];
	mntns_id(mns);
	_cleanup_json_ json_t *j =
		json_pack("{s:s, s:s, s:s, s:s}", "Root", rp, "Network", n->id, "Subnet", n->subnet, "MountNS", mns);
	_cleanup_free_ char *txt = jsonx_dumps(j, 0);
	if (!txt)
		return berr_set(err, ENOMEM, "registering bridge %s", n->bridge);
	return fs_write_atomic_at(dfd, n->bridge, txt, strlen(txt), 0600, false, err);
}

static void reg_del(const char *bridge)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", NET_BRIDGES_DIR, bridge);
	unlink(p);
}

/* Best effort, for cleanups: the link may be gone already. */
static void link_delete_quiet(const char *ifname)
{
	struct nl nl;
	struct berr *e = NULL;
	if (nl_open(&nl, &e) == 0) {
		nl_link_delete(&nl, ifname, &e);
		nl_close(&nl);
	}
	berr_free(e);
}

static void bridge_purge(const char *bridge)
{
	nat_bridge_purge(bridge);
	link_delete_quiet(bridge);
	reg_del(bridge);
}

/* Whether store root still has network net_id on bridge. Creates nothing. */
static bool reg_owner_alive(const char *root, const char *net_id, const char *bridge)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/networks", root);
	_cleanup_close_ int dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno != ENOENT; /* unreadable: not ours to judge */
	_cleanup_json_ json_t *all = load_all(dfd);
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		struct net o;
		if (from_json(j, &o) < 0)
			continue;
		bool hit = !strcmp(o.id, net_id) && !strcmp(o.bridge, bridge);
		net_release(&o);
		if (hit)
			return true;
	}
	return false;
}

/* Host lock held. Cheap when nothing is stale: one readdir and a look at
 * each owner's networks dir. Returns how many bridges went. */
static int sweep_stale_bridges(void)
{
	DIR *d = opendir(NET_BRIDGES_DIR);
	if (!d)
		return 0;
	int gone = 0;
	char mns[64];
	mntns_id(mns);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !bridge_name_ok(de->d_name))
			continue;
		_cleanup_json_ json_t *j = jsonx_load_at(dirfd(d), de->d_name, 1 << 16, NULL);
		const char *root = jsonx_str(j, "Root"), *nid = jsonx_str(j, "Network");
		const char *ens = jsonx_str(j, "MountNS");
		if (j && (!root || !nid)) {
			reg_del(de->d_name); /* corrupt entry: forget it, touch nothing */
			continue;
		}
		if (!j || (ens && strcmp(ens, mns)) || reg_owner_alive(root, nid, de->d_name))
			continue;
		bridge_purge(de->d_name);
		gone++;
	}
	closedir(d);
	return gone;
}

/* berth's address pools (docs/design.md, "Address plan"): clear of
 * Docker's 172.17-31/16 + 192.168/16 and Podman's 10.88/16 + 10.89-10.255. */
static int pools_for(bool dflt, struct ipam_pool *ret, struct berr **err)
{
	struct ipam_pool all[IPAM_POOL_COUNT];
	if (ipam_default_pools(all, err) < 0)
		return -1;
	*ret = all[dflt ? IPAM_POOL_DEFAULT : IPAM_POOL_USER];
	return 0;
}

static int write_record(int dfd, json_t *j, struct berr **err)
{
	_cleanup_free_ char *s = jsonx_dumps(j, 1);
	char fname[200];
	snprintf(fname, sizeof(fname), "%s.json", jsonx_str(j, "Name"));
	return fs_write_atomic_at(dfd, fname, s, strlen(s), 0644, true, err);
}

static json_t *make_record(const char *name, const char *id, const char *bridge, const char *subnet,
			   const char *gw, bool internal, json_t *labels)
{
	char ts[48];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	time_rfc3339(&now, ts, sizeof(ts));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:{}, s:[{s:s, s:s}]}, s:b, s:b, s:b, s:{s:s}, s:b, s:{s:s}, s:O}",
			 "Name", name, "Id", id, "Created", ts, "Scope", "local", "Driver", "bridge",
			 "EnableIPv6", 0, "IPAM", "Driver", "default", "Options", "Config", "Subnet", subnet,
			 "Gateway", gw, "Internal", internal, "Attachable", 0, "Ingress", 0, "ConfigFrom",
			 "Network", "", "ConfigOnly", 0, "Options", "com.docker.network.bridge.name", bridge,
			 "Labels", labels ? labels : json_object());
}

static size_t used_subnets(json_t *all, const char *skip_name, const char *skip_if, struct ipam_cidr *used,
			   size_t max);

/* The default network moves to a free subnet of its pool (its bridge is
 * down and none of its containers runs, so nothing holds its addresses;
 * ipfd: the network's run dir, holding its leases). */
static int default_repick(struct net *n, int dfd, int ipfd, struct berr **err)
{
	_cleanup_json_ json_t *all = load_all(dfd);
	struct ipam_cidr used[512];
	size_t nused = used_subnets(all, n->name, n->bridge, used, 512);
	struct ipam_cidr sub;
	struct ipam_pool pool;
	if (pools_for(true, &pool, err) < 0 || ipam_pool_pick(&pool, 1, AF_INET, used, nused, &sub, err) < 0)
		return -1;
	struct ipam_addr gw = ipam_cidr_gateway(&sub);
	char s[IPAM_STRLEN], g[IPAM_STRLEN];
	ipam_cidr_str(&sub, s);
	ipam_addr_str(&gw, g);
	json_t *c0 = json_array_get(json_object_get(json_object_get(n->json, "IPAM"), "Config"), 0);
	json_object_set_new(c0, "Subnet", json_string(s));
	json_object_set_new(c0, "Gateway", json_string(g));
	if (write_record(dfd, n->json, err) < 0)
		return -1;
	if (ipfd >= 0)
		ipam_remove(ipfd, n->id, NULL);
	snprintf(n->subnet, sizeof(n->subnet), "%s", s);
	snprintf(n->gateway, sizeof(n->gateway), "%s", g);
	return 0;
}

/* Bridge, gateway address, up, iptables. The caller holds the host lock.
 * The subnet must not overlap a route of another interface of the host
 * (another store's network, a VPN, the LAN): the default network then
 * moves (dfd >= 0: its networks dir, ipfd its run dir), a user network is
 * an error. The bridge is registered (reg_add) before it is created, so a
 * process killed half-way leaves something the sweep can find. */
static int host_setup(const char *root, struct net *n, int dfd, int ipfd, struct berr **err)
{
	struct ipam_cidr sub;
	struct ipam_addr gw;
	if (ipam_cidr_parse(n->subnet, &sub, err) < 0 || ipam_addr_parse(n->gateway, &gw, err) < 0)
		return -1;
	struct ipam_cidr routes[512];
	char ifs[512][16];
	size_t nr = host_routes(n->bridge, routes, ifs, 512);
	for (size_t i = 0; i < nr; i++) {
		if (!ipam_cidr_overlap(&sub, &routes[i]))
			continue;
		if (n->is_default && dfd >= 0) {
			if (default_repick(n, dfd, ipfd, err) < 0)
				return -1;
			return host_setup(root, n, -1, -1, err);
		}
		char rs[IPAM_STRLEN];
		return berr_setc(err, BERR_CONFLICT, "subnet %s overlaps the route %s of interface %s on this host",
				 n->subnet, ipam_cidr_str(&routes[i], rs), ifs[i]);
	}
	sweep_stale_bridges();
	if (reg_add(root, n, err) < 0)
		return -1;
	struct nl nl;
	if (nl_open(&nl, err) < 0)
		return -1;
	int r = -1;
	/* a fixed MAC: a bridge otherwise takes the lowest MAC of its ports,
	 * which changes as veths join and leaves stale ARP entries for the
	 * gateway in the containers */
	uint8_t mac[6] = {0x02, 0x42};
	for (int i = 0; i < 4; i++) {
		unsigned v = 0;
		sscanf(n->id + 2 * i, "%2x", &v);
		mac[2 + i] = (uint8_t)v;
	}
	if (nl_bridge_create(&nl, n->bridge, 0, err) < 0 || nl_link_set_mac(&nl, n->bridge, mac, err) < 0 ||
	    nl_addr_add(&nl, n->bridge, AF_INET, gw.b, sub.prefix, err) < 0 ||
	    nl_link_set_up(&nl, n->bridge, true, err) < 0)
		goto out;
	if (nat_network_add(n->bridge, n->subnet, n->internal, err) < 0)
		goto out;
	r = 0;
out:
	nl_close(&nl);
	return r;
}

/* Everything of the bridge on the host: its rules (the network's and any
 * published ports a killed process left), the bridge, its registration. */
static void host_teardown(struct net *n)
{
	bridge_purge(n->bridge);
}

static bool bridge_exists(const char *br)
{
	char p[128];
	snprintf(p, sizeof(p), "/sys/class/net/%s", br);
	return access(p, F_OK) == 0;
}

/* Subnets in use: berth's networks (except skip_name) and the host's routes. */
static size_t used_subnets(json_t *all, const char *skip_name, const char *skip_if, struct ipam_cidr *used,
			   size_t max)
{
	size_t n = host_routes(skip_if, used, NULL, max);
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		if (n >= max)
			break;
		if (skip_name && !strcmp(jsonx_str(j, "Name") ?: "", skip_name))
			continue;
		json_t *c0 = json_array_get(json_object_get(json_object_get(j, "IPAM"), "Config"), 0);
		const char *s = jsonx_str(c0, "Subnet");
		if (s && ipam_cidr_parse_network(s, &used[n], NULL) == 0)
			n++;
	}
	return n;
}

/* The default network's bridge: berth0 for the default store, a name of
 * its own for every other store, so stores never share a bridge. */
static void default_bridge_name(const char *root, char out[16])
{
	if (!strcmp(root, NET_DEFAULT_ROOT)) {
		snprintf(out, 16, "%s", NET_DEFAULT_BRIDGE);
		return;
	}
	char hx[9];
	rand_hex(hx, 8);
	snprintf(out, 16, "berth%s", hx);
}

/* The default network's record, created when missing (dfd: networks dir,
 * global lock held). Its subnet is settled for real in host_setup, under
 * the host lock, when its bridge is created. */
static int ensure_default(const char *root, int dfd, struct berr **err)
{
	if (faccessat(dfd, NET_DEFAULT_NAME ".json", F_OK, 0) == 0)
		return 0;
	_cleanup_json_ json_t *all = load_all(dfd);
	struct ipam_cidr used[512];
	size_t nused = used_subnets(all, NULL, NULL, used, 512);
	struct ipam_cidr sub;
	struct ipam_pool pool;
	if (pools_for(true, &pool, err) < 0 || ipam_pool_pick(&pool, 1, AF_INET, used, nused, &sub, err) < 0)
		return -1;
	char s[IPAM_STRLEN], g[IPAM_STRLEN], id[65], br[16];
	struct ipam_addr gw = ipam_cidr_gateway(&sub);
	ipam_cidr_str(&sub, s);
	ipam_addr_str(&gw, g);
	rand_hex(id, 64);
	default_bridge_name(root, br);
	_cleanup_json_ json_t *rec = make_record(NET_DEFAULT_NAME, id, br, s, g, false, NULL);
	return write_record(dfd, rec, err);
}

static int global_lock(int dfd, struct berr **err)
{
	return fs_lock_at(dfd, ".lock", LOCK_EX, err);
}

static int load_in(int dfd, const char *ref, struct net *ret, struct berr **err)
{
	if (name_valid(ref)) {
		char fname[200];
		snprintf(fname, sizeof(fname), "%s.json", ref);
		json_t *j = load_file(dfd, fname);
		if (j) {
			int r = from_json(j, ret);
			json_decref(j);
			if (r == 0)
				return 0;
			return berr_set(err, 0, "network %s: corrupt record", ref);
		}
	}
	/* ID or unique ID prefix */
	_cleanup_json_ json_t *all = load_all(dfd);
	size_t i, hits = 0;
	json_t *j, *hit = NULL;
	size_t rl = strlen(ref);
	json_array_foreach(all, i, j) {
		const char *id = jsonx_str(j, "Id");
		if (id && rl > 0 && !strncmp(id, ref, rl)) {
			hits++;
			hit = j;
		}
	}
	if (hits == 1 && from_json(hit, ret) == 0)
		return 0;
	if (hits > 1)
		return berr_setc(err, BERR_INVALID, "network %s is ambiguous (%zu matches found based on ID prefix)", ref,
				 hits);
	return berr_setc(err, BERR_NOT_FOUND, "network %s not found", ref);
}

int net_load(const char *root, const char *ref, struct net *ret, struct berr **err)
{
	_cleanup_close_ int dfd = nets_dirfd(root, err);
	if (dfd < 0)
		return -1;
	if (!strcmp(ref, NET_DEFAULT_NAME) && faccessat(dfd, NET_DEFAULT_NAME ".json", F_OK, 0) != 0) {
		_cleanup_close_ int lk = global_lock(dfd, err);
		if (lk < 0 || ensure_default(root, dfd, err) < 0)
			return -1;
	}
	return load_in(dfd, ref, ret, err);
}

json_t *net_list(const char *root)
{
	struct berr *e = NULL;
	_cleanup_close_ int dfd = nets_dirfd(root, &e);
	berr_free(e);
	if (dfd < 0)
		return json_array();
	if (faccessat(dfd, NET_DEFAULT_NAME ".json", F_OK, 0) != 0) {
		_cleanup_close_ int lk = global_lock(dfd, NULL);
		ensure_default(root, dfd, NULL);
	}
	return load_all(dfd);
}

int net_create(const char *root, const char *runroot, const struct net_create_opts *o, struct net *ret,
	       struct berr **err)
{
	if (!name_valid(o->name))
		return berr_setc(err, BERR_INVALID,
				 "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o->name);
	if (!strcmp(o->name, "none") || !strcmp(o->name, "host") || !strcmp(o->name, NET_DEFAULT_NAME) ||
	    !strcmp(o->name, "default"))
		return berr_setc(err, BERR_CONFLICT, "network with name %s already exists", o->name);
	struct ipam_cidr sub;
	if (o->subnet) {
		if (ipam_cidr_parse(o->subnet, &sub, err) < 0)
			return -1;
		if (sub.addr.family != AF_INET)
			return berr_setc(err, BERR_INVALID, "IPv6 subnets are not supported yet: %s", o->subnet);
		struct ipam_cidr norm = ipam_cidr_network(&sub);
		if (!ipam_addr_equal(&norm.addr, &sub.addr)) {
			char a[IPAM_STRLEN];
			return berr_setc(err, BERR_INVALID, "invalid subnet %s: it should be %s", o->subnet,
					 ipam_cidr_str(&norm, a));
		}
		if (sub.prefix > 30)
			return berr_setc(err, BERR_INVALID, "subnet %s is too small (at most /30)", o->subnet);
	} else if (o->gateway) {
		return berr_setc(err, BERR_INVALID, "--gateway needs --subnet");
	}
	struct ipam_addr gw;
	if (o->gateway) {
		if (ipam_addr_parse(o->gateway, &gw, err) < 0)
			return -1;
		struct ipam_addr first, last;
		ipam_cidr_usable(&sub, &first, &last);
		if (!ipam_cidr_contains(&sub, &gw) || ipam_addr_cmp(&gw, &first) < 0 || ipam_addr_cmp(&gw, &last) > 0)
			return berr_setc(err, BERR_INVALID, "gateway %s is not a usable address of subnet %s", o->gateway,
					 o->subnet);
	}
	_cleanup_close_ int dfd = nets_dirfd(root, err);
	if (dfd < 0)
		return -1;
	_cleanup_close_ int lk = global_lock(dfd, err);
	if (lk < 0 || ensure_default(root, dfd, err) < 0)
		return -1;
	char fname[200];
	snprintf(fname, sizeof(fname), "%s.json", o->name);
	if (faccessat(dfd, fname, F_OK, 0) == 0)
		return berr_setc(err, BERR_CONFLICT, "network with name %s already exists", o->name);
	_cleanup_close_ int hlk = host_lock(err);
	if (hlk < 0)
		return -1;
	_cleanup_json_ json_t *all = load_all(dfd);
	struct ipam_cidr used[512];
	if (o->subnet) {
		size_t i;
		json_t *j;
		json_array_foreach(all, i, j) {
			json_t *c0 = json_array_get(json_object_get(json_object_get(j, "IPAM"), "Config"), 0);
			struct ipam_cidr other;
			const char *s = jsonx_str(c0, "Subnet");
			if (s && ipam_cidr_parse_network(s, &other, NULL) == 0 && ipam_cidr_overlap(&sub, &other))
				return berr_setc(err, BERR_CONFLICT,
						 "invalid pool request: Pool overlaps with other one on this address space (%s of network %s)",
						 s, jsonx_str(j, "Name"));
		}
	} else {
		size_t nused = used_subnets(all, NULL, NULL, used, 512);
		struct ipam_pool pool;
		if (pools_for(false, &pool, err) < 0 || ipam_pool_pick(&pool, 1, AF_INET, used, nused, &sub, err) < 0)
			return -1;
	}
	if (!o->gateway)
		gw = ipam_cidr_gateway(&sub);
	char s[IPAM_STRLEN], g[IPAM_STRLEN], id[65], br[16];
	ipam_cidr_str(&sub, s);
	ipam_addr_str(&gw, g);
	rand_hex(id, 64);
	snprintf(br, sizeof(br), "br-%.12s", id);
	_cleanup_json_ json_t *rec = make_record(o->name, id, br, s, g, o->internal, o->labels);
	struct net n;
	if (from_json(rec, &n) < 0)
		return berr_set(err, 0, "internal error building the network record");
	if (host_setup(root, &n, -1, -1, err) < 0) {
		host_teardown(&n);
		net_release(&n);
		return berr_wrap(err, "creating network %s", o->name);
	}
	if (write_record(dfd, rec, err) < 0) {
		host_teardown(&n);
		net_release(&n);
		return -1;
	}
	if (ret)
		*ret = n;
	else
		net_release(&n);
	return 0;
}

/* ---- endpoints ---- */

static json_t *load_eps(const char *runroot, const char *id)
{
	json_t *arr = json_array();
	char d[4300];
	snprintf(d, sizeof(d), "%s/networks/%s/ep", runroot, id);
	_cleanup_close_ int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return arr;
	DIR *dir = fdopendir(dup(dfd));
	if (!dir)
		return arr;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		json_t *j = jsonx_load_at(dfd, de->d_name, 1 << 16, NULL);
		if (j)
			json_array_append_new(arr, j);
	}
	closedir(dir);
	return arr;
}

static bool ep_alive(json_t *ep)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(ep, "Pid"));
	unsigned long long st = (unsigned long long)json_integer_value(json_object_get(ep, "PidStart"));
	return pid > 0 && st && proc_start_time(pid) == st;
}

/* How many endpoints of the network have a live container. */
static size_t live_eps(const char *runroot, const char *id)
{
	_cleanup_json_ json_t *eps = load_eps(runroot, id);
	size_t i, n = 0;
	json_t *ep;
	json_array_foreach(eps, i, ep)
		n += ep_alive(ep);
	return n;
}

/* Rebuild the records file from ep/ (run lock held). */
static void write_records(const char *runroot, const char *id)
{
	_cleanup_json_ json_t *eps = load_eps(runroot, id);
	struct sbuf_lite {
		char *p;
		size_t n, cap;
	} b = {0};
	FILE *m = open_memstream(&b.p, &b.n);
	if (!m)
		return;
	fputs("# berth network records\n", m);
	size_t i;
	json_t *ep;
	json_array_foreach(eps, i, ep) {
		const char *name = jsonx_str(ep, "Name"), *ip = jsonx_str(ep, "IPv4Address");
		const char *cid = jsonx_str(ep, "Container");
		if (!ip)
			continue;
		char addr[IPAM_STRLEN];
		snprintf(addr, sizeof(addr), "%s", ip);
		char *slash = strchr(addr, '/');
		if (slash)
			*slash = 0;
		if (name && *name)
			fprintf(m, "%s ", name);
		if (cid)
			fprintf(m, "%.12s ", cid);
		size_t k;
		json_t *a;
		json_array_foreach(json_object_get(ep, "Aliases"), k, a)
			if (json_is_string(a))
				fprintf(m, "%s ", json_string_value(a));
		fprintf(m, "%s\n", addr);
	}
	fclose(m);
	char d[4200];
	run_dir(runroot, id, d, sizeof(d));
	int dfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fs_replace_at(dfd, "records", b.p, b.n, 0644, NULL);
		close(dfd);
	}
	free(b.p);
}

/* Undo one endpoint (run lock held). */
static void ep_undo(struct net *n, const char *runroot, json_t *ep)
{
	const char *veth = jsonx_str(ep, "Veth"), *cid = jsonx_str(ep, "Container");
	json_t *ports = json_object_get(ep, "Ports");
	if (json_object_size(ports) && jsonx_str(ep, "IPv4Address")) {
		char cip[IPAM_STRLEN];
		snprintf(cip, sizeof(cip), "%s", jsonx_str(ep, "IPv4Address"));
		char *sl = strchr(cip, '/');
		if (sl)
			*sl = 0;
		nat_ports_remove(n->bridge, cip, ports);
	}
	/* A dead container's veth goes with its network namespace: deleting it
	 * here would wait for an RCU grace period (11-40 ms) for nothing. */
	if (veth && ep_alive(ep))
		link_delete_quiet(veth);
	if (cid) {
		char d[4300];
		snprintf(d, sizeof(d), "%s/networks/%s/ep/%s", runroot, n->id, cid);
		unlink(d);
	}
}

/* The network's leases live in its run dir (src/net/ipam.h): they only
 * describe running containers. -1 when the dir is missing. */
static int ipam_dirfd(const char *runroot, const char *id)
{
	char d[4200];
	run_dir(runroot, id, d, sizeof(d));
	return open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Undo the container's endpoint on n, if any (takes the run lock):
 * port rules, veth (of a live container only), lease, DNS records. The
 * bridge and the DNS server stay (see below). */
static void detach_one(struct net *n, const char *runroot, const char *ctr_id)
{
	char p[4400];
	snprintf(p, sizeof(p), "%s/networks/%s/ep/%s", runroot, n->id, ctr_id);
	if (access(p, F_OK) == 0) {
		struct berr *e = NULL;
		int lk = run_lock(runroot, n->id, &e);
		berr_free(e);
		json_t *ep = jsonx_load_at(AT_FDCWD, p, 1 << 16, NULL);
		if (ep) {
			ep_undo(n, runroot, ep);
			json_decref(ep);
		}
		unlink(p);
		/* The records change (the DNS server reloads them); the server
		 * itself stays a little (dnsproc.h) and the bridge with its
		 * rules stays until the network goes or `network prune` /
		 * `system prune` finds it idle, as docker0 does: setting them
		 * up again costs an iptables round trip per container. */
		if (!n->is_default)
			write_records(runroot, n->id);
		_cleanup_close_ int ifd = ipam_dirfd(runroot, n->id);
		if (ifd >= 0)
			ipam_release_owner(ifd, n->id, ctr_id, NULL);
		if (lk >= 0)
			close(lk);
	}
}

void net_detach_all(const char *root, const char *runroot, const char *ctr_id)
{
	_cleanup_json_ json_t *all = net_list(root);
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		struct net n;
		if (from_json(j, &n) < 0)
			continue;
		detach_one(&n, runroot, ctr_id);
		net_release(&n);
	}
}

json_t *net_ctr_ports(const char *root, const char *runroot, const char *ctr_id)
{
	json_t *ret = json_object();
	_cleanup_json_ json_t *all = net_list(root);
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		const char *id = jsonx_str(j, "Id");
		if (!id)
			continue;
		char p[4400];
		snprintf(p, sizeof(p), "%s/networks/%s/ep/%s", runroot, id, ctr_id);
		_cleanup_json_ json_t *ep = jsonx_load_at(AT_FDCWD, p, 1 << 16, NULL);
		if (ep && ep_alive(ep))
			json_object_update(ret, json_object_get(ep, "Ports"));
	}
	return ret;
}

/* Rewrite a file in place (it may be bind-mounted into the container). */
static void put_inplace(const char *dir, const char *name, const char *data, size_t len)
{
	char p[4400];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	fs_write_full(fd, data, len);
	close(fd);
}

/* /etc/hosts: drop the lines of address drop_ip, then add "ip names"
 * (ip NULL: only drop). Docker's shape: "IP<TAB>HOSTNAME", and on user
 * networks the container's name as well. */
static void hosts_set(const char *ctr_dir, const char *drop_ip, const char *ip, const char *hostname,
		      const char *name)
{
	char p[4400];
	snprintf(p, sizeof(p), "%s/hosts", ctr_dir);
	_cleanup_free_ char *old = NULL;
	size_t len = 0, dl = strlen(drop_ip);
	char *buf = NULL;
	size_t blen = 0;
	FILE *m = open_memstream(&buf, &blen);
	if (!m)
		return;
	if (fs_read_file_at(AT_FDCWD, p, 1 << 20, &old, &len, NULL) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(old, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(line, drop_ip, dl) && (line[dl] == '\t' || line[dl] == ' '))
				continue;
			fprintf(m, "%s\n", line);
		}
	}
	if (ip) {
		fprintf(m, "%s\t%s", ip, hostname);
		if (name && *name && strcmp(name, hostname))
			fprintf(m, " %s", name);
		fprintf(m, "\n");
	}
	fclose(m);
	put_inplace(ctr_dir, "hosts", buf, blen);
	free(buf);
}

/* resolv.conf: the network's DNS server on user networks, else --dns
 * (nothing to write: the host's copy stays). */
static void resolv_set(const char *ctr_dir, struct net *n, json_t *dns)
{
	if (n->is_default && !json_array_size(dns))
		return;
	char *buf = NULL;
	size_t blen = 0, len = 0;
	FILE *m = open_memstream(&buf, &blen);
	if (!m)
		return;
	if (!n->is_default) {
		fprintf(m, "nameserver %s\n", n->gateway);
	} else {
		size_t i;
		json_t *d;
		json_array_foreach(dns, i, d)
			if (json_is_string(d))
				fprintf(m, "nameserver %s\n", json_string_value(d));
	}
	_cleanup_free_ char *rc = NULL;
	if (fs_read_file_at(AT_FDCWD, "/etc/resolv.conf", 1 << 20, &rc, &len, NULL) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(rc, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (!strncmp(line, "search", 6) || !strncmp(line, "options", 7))
				fprintf(m, "%s\n", line);
	}
	fclose(m);
	put_inplace(ctr_dir, "resolv.conf", buf, blen);
	free(buf);
}

/* ---- the container's endpoints ---- */

#define CTR_NETS_FILE "networks.json"
#define CTR_NETS_MAX 64

/* The networks the container is configured to join, in order:
 * ctr_dir/networks.json once connect/disconnect changed them, else the one
 * of HostConfig.NetworkMode (with --network-alias, --ip). Array of
 * {"Network": name, "NetworkID", "Aliases": [...], "IPv4Address"}; the
 * NetworkID is filled in later for the HostConfig entry. */
static json_t *eps_conf(json_t *cfg, const char *ctr_dir)
{
	json_t *hc = json_object_get(cfg, "HostConfig");
	const char *mode = jsonx_str(hc, "NetworkMode");
	if (!net_mode_is_network(mode))
		return json_array();
	if (ctr_dir) {
		char p[4400];
		snprintf(p, sizeof(p), "%s/%s", ctr_dir, CTR_NETS_FILE);
		json_t *j = jsonx_load_at(AT_FDCWD, p, 1 << 20, NULL);
		if (json_is_array(j) && json_array_size(j) <= CTR_NETS_MAX) {
			size_t i;
			json_t *e;
			bool ok = true;
			json_array_foreach(j, i, e)
				ok &= json_is_object(e) && jsonx_str(e, "NetworkID") != NULL;
			if (ok)
				return j;
		}
		json_decref(j);
	}
	json_t *aliases = json_object_get(hc, "NetworkAliases");
	const char *ip = jsonx_str(hc, "IPv4Address");
	return json_pack("[{s:s, s:O, s:s}]", "Network", !strcmp(mode, "default") ? NET_DEFAULT_NAME : mode,
			 "Aliases", json_is_array(aliases) ? aliases : json_array(), "IPv4Address", ip ? ip : "");
}

static int eps_conf_write(const char *ctr_dir, json_t *eps, struct berr **err)
{
	_cleanup_close_ int dfd = open(ctr_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "opening %s", ctr_dir);
	_cleanup_free_ char *s = jsonx_dumps(eps, 1);
	return fs_write_atomic_at(dfd, CTR_NETS_FILE, s, strlen(s), 0644, true, err);
}

/* Fill in "NetworkID" (and the current "Network" name) of every entry;
 * entries whose network is gone are dropped. */
static void eps_resolve(const char *root, json_t *eps)
{
	for (size_t i = 0; i < json_array_size(eps);) {
		json_t *e = json_array_get(eps, i);
		const char *ref = jsonx_str(e, "NetworkID") ?: jsonx_str(e, "Network");
		struct net n;
		if (!ref || net_load(root, ref, &n, NULL) < 0) {
			json_array_remove(eps, i);
			continue;
		}
		json_object_set_new(e, "NetworkID", json_string(n.id));
		json_object_set_new(e, "Network", json_string(n.name));
		net_release(&n);
		i++;
	}
}

static json_t *eps_find(json_t *eps, const char *net_id, size_t *ret_idx)
{
	size_t i;
	json_t *e;
	json_array_foreach(eps, i, e)
		if (!strcmp(jsonx_str(e, "NetworkID") ?: "", net_id)) {
			if (ret_idx)
				*ret_idx = i;
			return e;
		}
	return NULL;
}

/* Attach the container (pid 1 `pid`, its netns nsfd) to one network per
 * epc. primary: the first endpoint (eth0 first, published ports). The
 * default route goes out of the first non-internal network (*route_set).
 * fresh_if >= 0: the netns is the one the container was just born with,
 * holding only the fresh_if endpoints attached before this one, so the
 * interface is eth<fresh_if> without asking; -1: find the first free ethN. */
static int attach_one(const char *root, const char *runroot, json_t *cfg, const char *ctr_id, const char *ctr_dir,
		      pid_t pid, int nsfd, json_t *epc, bool primary, int fresh_if, bool *route_set,
		      bool *resolv_set_done, struct berr **err)
{
	json_t *hc = json_object_get(cfg, "HostConfig");
	struct net n;
	if (net_load(root, jsonx_str(epc, "NetworkID") ?: jsonx_str(epc, "Network") ?: "", &n, err) < 0)
		return -1;
	int r = -1;
	char ip[IPAM_STRLEN] = "", veth[16] = "", ifname[16] = "";
	bool allocated = false;
	json_t *ep = NULL, *ports = NULL;
	bool ports_added = false, created = false;
	struct nl nl = {.fd = -1}, cnl = {.fd = -1};
	_cleanup_close_ int ifd = -1;
	char rdir[4200], epf[4400];
	run_dir(runroot, n.id, rdir, sizeof(rdir));
	snprintf(epf, sizeof(epf), "%s/ep/%s", rdir, ctr_id);
	int lk = run_lock(runroot, n.id, err);
	if (lk < 0)
		goto out;
	ifd = ipam_dirfd(runroot, n.id);
	if (ifd < 0) {
		berr_set(err, errno, "opening %s", rdir);
		goto out;
	}
	{
		/* endpoints of containers that died without a detach (killed monitor) */
		_cleanup_json_ json_t *eps = load_eps(runroot, n.id);
		size_t i;
		json_t *old_ep;
		bool pruned = false;
		json_array_foreach(eps, i, old_ep) {
			const char *cid = jsonx_str(old_ep, "Container");
			if (ep_alive(old_ep) || !cid)
				continue;
			ep_undo(&n, runroot, old_ep);
			ipam_release_owner(ifd, n.id, cid, NULL);
			pruned = true;
		}
		if (pruned && !n.is_default)
			write_records(runroot, n.id);
	}
	if (access(epf, F_OK) == 0) {
		const char *name = jsonx_str(cfg, "Name");
		berr_setc(err, BERR_CONFLICT, "endpoint with name %s already exists in network %s",
			  name && *name == '/' ? name + 1 : name ? name : ctr_id, n.name);
		goto out;
	}
	if (!bridge_exists(n.bridge)) {
		_cleanup_close_ int hlk = host_lock(err);
		_cleanup_close_ int ndfd = hlk < 0 ? -1 : nets_dirfd(root, err);
		if (ndfd < 0)
			goto out;
		if (host_setup(root, &n, ndfd, ifd, err) < 0) {
			host_teardown(&n);
			goto out;
		}
		created = true;
	}
	const char *want = jsonx_str(epc, "IPv4Address");
	if (want && !*want)
		want = NULL;
	if (ipam_alloc(ifd, n.id, n.subnet, n.gateway, ctr_id, want, ip, err) < 0)
		goto out;
	allocated = true;
	struct ipam_cidr sub;
	struct ipam_addr a, gw;
	ipam_cidr_parse(n.subnet, &sub, NULL);
	ipam_addr_parse(ip, &a, NULL);
	ipam_addr_parse(n.gateway, &gw, NULL);
	if (nl_open(&nl, err) < 0 || nl_open_in_netns(&cnl, nsfd, err) < 0)
		goto out;
	/* the first free ethN in the container */
	if (fresh_if >= 0)
		snprintf(ifname, sizeof(ifname), "eth%d", fresh_if);
	for (int k = 0; k < 64 && !*ifname; k++) {
		char cand[16];
		int idx;
		snprintf(cand, sizeof(cand), "eth%d", k);
		if (nl_link_index(&cnl, cand, &idx, NULL) < 0)
			snprintf(ifname, sizeof(ifname), "%s", cand);
	}
	if (!*ifname) {
		berr_setc(err, BERR_CONFLICT, "no free interface name in the container");
		goto out;
	}
	/* Docker's MAC: 02:42 and the IPv4 address */
	uint8_t mac[6] = {0x02, 0x42, a.b[0], a.b[1], a.b[2], a.b[3]};
	char macs[24];
	snprintf(macs, sizeof(macs), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	/* one request: the pair, the host side on the bridge and up, the
	 * container side in its netns with its MAC (the kernel refuses to
	 * bring a peer up in another netns at creation: ENOTCONN) */
	struct nl_veth_opts vo = {.peer_netns_fd = nsfd, .master = n.bridge, .up = true, .peer_mac = mac};
	for (int tries = 0;; tries++) {
		char hx[9];
		rand_hex(hx, 8);
		snprintf(veth, sizeof(veth), "veth%s", hx);
		if (nl_veth_create_opts(&nl, veth, ifname, &vo, err) == 0)
			break;
		if (tries > 3 || !(*err) || (*err)->errnum != EEXIST) {
			veth[0] = 0;
			goto out;
		}
		berr_freep(err);
	}
	/* the container side: lo, address, up, default route in one batch */
	bool route = !n.internal && !*route_set;
	if (nl_iface_setup(&cnl, ifname, primary, AF_INET, a.b, sub.prefix, route ? gw.b : NULL, err) < 0)
		goto out;
	if (route)
		*route_set = true;
	/* published ports (first network only): kernel DNAT to ip */
	if (primary) {
		ports = ports_resolve(hc, json_object_get(cfg, "Config"), err);
		if (!ports)
			goto out;
		if (nat_ports_add(n.bridge, ip, ports, err) < 0)
			goto out;
		ports_added = true;
	} else {
		ports = json_object();
	}
	/* the endpoint record */
	const char *name = jsonx_str(cfg, "Name");
	if (name && *name == '/')
		name++;
	char ipp[IPAM_STRLEN + 8], epid[65];
	snprintf(ipp, sizeof(ipp), "%s/%d", ip, sub.prefix);
	rand_hex(epid, 64);
	json_t *aliases = json_object_get(epc, "Aliases");
	ep = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:s}", "Container", ctr_id, "Name",
		       name ? name : "", "IPv4Address", ipp, "Veth", veth, "IfName", ifname, "MacAddress", macs,
		       "Aliases", json_is_array(aliases) ? json_incref(aliases) : json_array(), "Pid", (json_int_t)pid,
		       "PidStart", (json_int_t)proc_start_time(pid), "EndpointID", epid);
	json_object_set(ep, "Ports", ports);
	{
		char epd[4300];
		snprintf(epd, sizeof(epd), "%s/ep", rdir);
		_cleanup_close_ int efd = open(epd, O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_free_ char *s = jsonx_dumps(ep, 1);
		if (efd < 0 || fs_write_atomic_at(efd, ctr_id, s, strlen(s), 0644, false, err) < 0) {
			if (efd < 0)
				berr_set(err, errno, "opening %s", epd);
			goto out;
		}
	}
	if (!n.is_default) {
		write_records(runroot, n.id);
		char rec[4300];
		snprintf(rec, sizeof(rec), "%s/records", rdir);
		if (dnsproc_ensure(rdir, n.gateway, rec, err) < 0) {
			unlink(epf);
			write_records(runroot, n.id);
			goto out;
		}
	}
	hosts_set(ctr_dir, ip, ip, jsonx_str(json_object_get(cfg, "Config"), "Hostname") ?: "",
		  n.is_default ? NULL : name);
	if (!*resolv_set_done && (!n.is_default || primary)) {
		resolv_set(ctr_dir, &n, json_object_get(hc, "Dns"));
		*resolv_set_done = !n.is_default;
	}
	r = 0;
out:
	if (r < 0) {
		if (ports_added)
			nat_ports_remove(n.bridge, ip, ports);
		if (*veth && nl.fd >= 0) {
			struct berr *e2 = NULL;
			nl_link_delete(&nl, veth, &e2);
			berr_free(e2);
		}
		if (allocated)
			ipam_release(ifd, n.id, ip, NULL);
		if (created && !live_eps(runroot, n.id))
			host_teardown(&n);
		if (*err)
			berr_wrap(err, "attaching to network %s", n.name);
	}
	json_decref(ep);
	json_decref(ports);
	nl_close(&cnl);
	nl_close(&nl);
	if (lk >= 0)
		close(lk);
	net_release(&n);
	return r;
}

static int open_netns(pid_t pid, struct berr **err)
{
	char nsp[64];
	snprintf(nsp, sizeof(nsp), "/proc/%d/ns/net", (int)pid);
	int fd = open(nsp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_set(err, errno, "opening the container's network namespace");
	return fd;
}

int net_attach(const char *root, const char *runroot, json_t *cfg, const char *ctr_id, const char *ctr_dir,
	       pid_t pid, struct berr **err)
{
	_cleanup_json_ json_t *eps = eps_conf(cfg, ctr_dir);
	if (!json_array_size(eps))
		return 0;
	_cleanup_close_ int nsfd = open_netns(pid, err);
	if (nsfd < 0)
		return -1;
	bool route = false, resolv = false;
	size_t i;
	json_t *epc;
	json_array_foreach(eps, i, epc) {
		if (attach_one(root, runroot, cfg, ctr_id, ctr_dir, pid, nsfd, epc, i == 0, (int)i, &route, &resolv,
			       err) < 0) {
			net_detach_all(root, runroot, ctr_id);
			return -1;
		}
	}
	return 0;
}

int net_connect(const char *root, const char *runroot, json_t *cfg, const char *ctr_id, const char *ctr_dir,
		pid_t pid, const char *netref, json_t *aliases, const char *ip, struct berr **err)
{
	json_t *hc = json_object_get(cfg, "HostConfig");
	const char *mode = jsonx_str(hc, "NetworkMode") ?: "";
	if (!net_mode_is_network(mode))
		return berr_setc(err, BERR_CONFLICT, "container sharing network namespace with another container or host cannot be connected to any other network (network mode %s)", mode);
	struct net n;
	if (net_load(root, netref, &n, err) < 0)
		return -1;
	int r = -1;
	_cleanup_json_ json_t *eps = eps_conf(cfg, ctr_dir);
	eps_resolve(root, eps);
	const char *name = jsonx_str(cfg, "Name");
	if (name && *name == '/')
		name++;
	if (n.is_default && json_array_size(aliases)) {
		berr_setc(err, BERR_INVALID, "network-scoped alias is supported only for containers in user defined networks");
		goto out;
	}
	if (ip && *ip) {
		struct ipam_cidr sub;
		struct ipam_addr a;
		if (ipam_addr_parse(ip, &a, err) < 0)
			goto out;
		ipam_cidr_parse(n.subnet, &sub, NULL);
		if (!ipam_cidr_contains(&sub, &a)) {
			berr_setc(err, BERR_INVALID, "invalid IPv4 address %s: it is not in the subnet %s of network %s", ip,
				  n.subnet, n.name);
			goto out;
		}
	}
	if (eps_find(eps, n.id, NULL)) {
		berr_setc(err, BERR_CONFLICT, "endpoint with name %s already exists in network %s", name ? name : ctr_id,
			  n.name);
		goto out;
	}
	json_t *epc = json_pack("{s:s, s:s, s:O, s:s}", "Network", n.name, "NetworkID", n.id, "Aliases",
				json_is_array(aliases) ? aliases : json_array(), "IPv4Address", ip ? ip : "");
	json_array_append_new(eps, epc);
	if (pid > 0) {
		/* the container runs: attach now; routes/resolv.conf as if it
		 * had joined in this order */
		_cleanup_close_ int nsfd = open_netns(pid, err);
		if (nsfd < 0)
			goto out;
		bool route = false, resolv = false;
		size_t i;
		json_t *e;
		for (i = 0; i + 1 < json_array_size(eps); i++) {
			struct net o;
			e = json_array_get(eps, i);
			char p[4400];
			snprintf(p, sizeof(p), "%s/networks/%s/ep/%s", runroot, jsonx_str(e, "NetworkID"), ctr_id);
			if (access(p, F_OK) == 0 && net_load(root, jsonx_str(e, "NetworkID"), &o, NULL) == 0) {
				route |= !o.internal;
				resolv |= !o.is_default;
				net_release(&o);
			}
		}
		if (attach_one(root, runroot, cfg, ctr_id, ctr_dir, pid, nsfd, epc, json_array_size(eps) == 1, -1,
			       &route, &resolv, err) < 0)
			goto out;
	}
	if (eps_conf_write(ctr_dir, eps, err) < 0) {
		if (pid > 0)
			detach_one(&n, runroot, ctr_id);
		goto out;
	}
	r = 0;
out:
	net_release(&n);
	return r;
}

int net_disconnect(const char *root, const char *runroot, json_t *cfg, const char *ctr_id, const char *ctr_dir,
		   const char *netref, bool force, struct berr **err)
{
	struct net n;
	if (net_load(root, netref, &n, err) < 0)
		return -1;
	int r = -1;
	_cleanup_json_ json_t *eps = eps_conf(cfg, ctr_dir);
	eps_resolve(root, eps);
	size_t idx = 0;
	json_t *epc = eps_find(eps, n.id, &idx);
	char p[4400];
	snprintf(p, sizeof(p), "%s/networks/%s/ep/%s", runroot, n.id, ctr_id);
	bool has_ep = access(p, F_OK) == 0;
	if (!epc && !has_ep && !force) {
		const char *name = jsonx_str(cfg, "Name");
		berr_setc(err, BERR_NOT_FOUND, "container %s is not connected to network %s",
			  name ? (*name == '/' ? name + 1 : name) : ctr_id, n.name);
		goto out;
	}
	if (has_ep) {
		_cleanup_json_ json_t *ep = jsonx_load_at(AT_FDCWD, p, 1 << 16, NULL);
		char ipb[IPAM_STRLEN] = "";
		snprintf(ipb, sizeof(ipb), "%s", jsonx_str(ep, "IPv4Address") ?: "");
		ipb[strcspn(ipb, "/")] = 0;
		if (*ipb)
			hosts_set(ctr_dir, ipb, NULL, NULL, NULL);
	}
	detach_one(&n, runroot, ctr_id);
	if (epc) {
		json_array_remove(eps, idx);
		if (eps_conf_write(ctr_dir, eps, err) < 0)
			goto out;
	}
	r = 0;
out:
	net_release(&n);
	return r;
}

json_t *net_ctr_settings(const char *root, const char *runroot, json_t *cfg, const char *ctr_id,
			 const char *ctr_dir, bool running)
{
	json_t *nets = json_object();
	_cleanup_json_ json_t *eps = eps_conf(cfg, ctr_dir);
	eps_resolve(root, eps);
	size_t i;
	json_t *epc;
	json_array_foreach(eps, i, epc) {
		const char *nid = jsonx_str(epc, "NetworkID");
		struct net n;
		if (net_load(root, nid, &n, NULL) < 0)
			continue;
		char p[4400];
		snprintf(p, sizeof(p), "%s/networks/%s/ep/%s", runroot, n.id, ctr_id);
		_cleanup_json_ json_t *ep = running ? jsonx_load_at(AT_FDCWD, p, 1 << 16, NULL) : NULL;
		if (ep && !ep_alive(ep)) {
			json_decref(ep);
			ep = NULL;
		}
		char ipb[IPAM_STRLEN] = "";
		int plen = 0;
		const char *ipp = jsonx_str(ep, "IPv4Address");
		if (ipp) {
			snprintf(ipb, sizeof(ipb), "%s", ipp);
			char *sl = strchr(ipb, '/');
			if (sl) {
				*sl = 0;
				plen = atoi(sl + 1);
			}
		}
		json_t *aliases = json_deep_copy(json_object_get(epc, "Aliases"));
		if (!json_is_array(aliases)) {
			json_decref(aliases);
			aliases = json_array();
		}
		if (!n.is_default)
			json_array_append_new(aliases, json_stringn(ctr_id, 12));
		const char *want = jsonx_str(epc, "IPv4Address");
		json_t *ipam = want && *want ? json_pack("{s:s}", "IPv4Address", want) : json_null();
		json_object_set_new(
			nets, n.name,
			json_pack("{s:o, s:n, s:o, s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:n}", "IPAMConfig", ipam,
				  "Links", "Aliases", n.is_default ? (json_decref(aliases), json_null()) : aliases,
				  "NetworkID", n.id, "EndpointID", ep ? (jsonx_str(ep, "EndpointID") ?: "") : "",
				  "Gateway", ep ? n.gateway : "", "IPAddress", ipb, "IPPrefixLen", plen, "IPv6Gateway", "",
				  "GlobalIPv6PrefixLen", 0, "GlobalIPv6Address", "", "MacAddress",
				  ep ? (jsonx_str(ep, "MacAddress") ?: "") : "", "DriverOpts"));
		net_release(&n);
	}
	return nets;
}

/* ---- inspect / remove / prune ---- */

json_t *net_inspect(const char *root, const char *runroot, struct net *n)
{
	json_t *o = json_deep_copy(n->json);
	json_t *ctrs = json_object();
	_cleanup_json_ json_t *eps = load_eps(runroot, n->id);
	size_t i;
	json_t *ep;
	json_array_foreach(eps, i, ep) {
		if (!ep_alive(ep))
			continue;
		json_object_set_new(ctrs, jsonx_str(ep, "Container") ?: "",
				    json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", jsonx_str(ep, "Name") ?: "",
					      "EndpointID", jsonx_str(ep, "EndpointID") ?: "", "MacAddress", "",
					      "IPv4Address", jsonx_str(ep, "IPv4Address") ?: "", "IPv6Address", ""));
	}
	json_object_set_new(o, "Containers", ctrs);
	(void)root;
	return o;
}

/* Remove a network whose global lock is held; refuse with live endpoints. */
static int remove_locked(int dfd, const char *root, const char *runroot, struct net *n, struct berr **err)
{
	if (n->is_default)
		return berr_setc(err, BERR_CONFLICT, "%s is a pre-defined network and cannot be removed", n->name);
	int lk = run_lock(runroot, n->id, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *eps = load_eps(runroot, n->id);
	size_t i;
	json_t *ep;
	json_array_foreach(eps, i, ep)
		if (ep_alive(ep)) {
			close(lk);
			return berr_setc(err, BERR_CONFLICT,
					 "error while removing network: network %s id %s has active endpoints", n->name,
					 n->id);
		}
	json_array_foreach(eps, i, ep)
		ep_undo(n, runroot, ep);
	char rd[4200];
	run_dir(runroot, n->id, rd, sizeof(rd));
	dnsproc_stop(rd);
	host_teardown(n);
	ipam_remove(dfd, n->id, NULL);
	char fname[200];
	snprintf(fname, sizeof(fname), "%s.json", n->name);
	unlinkat(dfd, fname, 0);
	fs_rm_rf_at(AT_FDCWD, rd);
	close(lk);
	(void)root;
	return 0;
}

int net_remove(const char *root, const char *runroot, const char *ref, struct berr **err)
{
	_cleanup_close_ int dfd = nets_dirfd(root, err);
	if (dfd < 0)
		return -1;
	if (!strcmp(ref, NET_DEFAULT_NAME))
		return berr_setc(err, BERR_CONFLICT, "%s is a pre-defined network and cannot be removed", ref);
	_cleanup_close_ int lk = global_lock(dfd, err);
	if (lk < 0)
		return -1;
	struct net n;
	if (load_in(dfd, ref, &n, err) < 0)
		return -1;
	int r = remove_locked(dfd, root, runroot, &n, err);
	net_release(&n);
	return r;
}

int net_prune(const char *root, const char *runroot, json_t *removed, struct berr **err)
{
	_cleanup_close_ int dfd = nets_dirfd(root, err);
	if (dfd < 0)
		return -1;
	_cleanup_close_ int lk = global_lock(dfd, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *all = load_all(dfd);
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		struct net n;
		if (from_json(j, &n) < 0)
			continue;
		if (!n.is_default) {
			struct berr *e = NULL;
			if (remove_locked(dfd, root, runroot, &n, &e) == 0)
				json_array_append_new(removed, json_string(n.name));
			berr_free(e);
		} else {
			/* the default network stays, but an idle one gives its
			 * bridge and rules back (set up again on the next run) */
			int rlk = run_lock(runroot, n.id, NULL);
			if (rlk >= 0 && !live_eps(runroot, n.id) && bridge_exists(n.bridge)) {
				_cleanup_close_ int hlk = host_lock(NULL);
				host_teardown(&n);
			}
			if (rlk >= 0)
				close(rlk);
		}
		net_release(&n);
	}
	return 0;
}

/* One network of the store (its run lock held): endpoints of dead
 * containers, leases nobody live holds, port rules of gone addresses. */
static int sweep_network(struct net *n, const char *runroot)
{
	int gone = 0;
	_cleanup_json_ json_t *eps = load_eps(runroot, n->id);
	_cleanup_close_ int ifd = ipam_dirfd(runroot, n->id);
	_cleanup_json_ json_t *live = json_object(); /* container -> ip */
	size_t cap = json_array_size(eps) + 1, nkeep = 0;
	const char **keep = calloc(cap, sizeof(*keep));
	char(*ips)[IPAM_STRLEN] = calloc(cap, IPAM_STRLEN);
	if (!keep || !ips) {
		free(keep);
		free(ips);
		return 0;
	}
	size_t i;
	json_t *ep;
	json_array_foreach(eps, i, ep) {
		const char *cid = jsonx_str(ep, "Container");
		if (ep_alive(ep)) {
			if (cid) {
				snprintf(ips[nkeep], IPAM_STRLEN, "%s", jsonx_str(ep, "IPv4Address") ?: "");
				ips[nkeep][strcspn(ips[nkeep], "/")] = 0;
				keep[nkeep] = ips[nkeep];
				nkeep++;
				json_object_set_new(live, cid, json_true());
			}
			continue;
		}
		/* its netns is gone or going; a veth still there (something
		 * held the netns) goes now */
		const char *veth = jsonx_str(ep, "Veth");
		if (veth)
			link_delete_quiet(veth);
		ep_undo(n, runroot, ep);
		if (cid && ifd >= 0)
			ipam_release_owner(ifd, n->id, cid, NULL);
		gone++;
	}
	if (ifd >= 0) {
		struct ipam_list l;
		if (ipam_list(ifd, n->id, &l, NULL) == 0) {
			for (size_t k = 0; k < l.n; k++)
				if (!json_object_get(live, l.leases[k].owner)) {
					ipam_release(ifd, n->id, l.leases[k].ip, NULL);
					gone++;
				}
			ipam_list_free(&l);
		}
	}
	if (gone && !n->is_default)
		write_records(runroot, n->id);
	if (!nkeep) {
		char d[4200];
		run_dir(runroot, n->id, d, sizeof(d));
		dnsproc_stop(d);
	}
	if (bridge_exists(n->bridge))
		nat_ports_sweep(n->bridge, keep, nkeep, NULL);
	free(keep);
	free(ips);
	return gone;
}

int net_sweep(const char *root, const char *runroot, struct berr **err)
{
	_cleanup_close_ int dfd = nets_dirfd(root, err);
	if (dfd < 0)
		return -1;
	int gone = 0;
	{
		_cleanup_close_ int hlk = host_lock(err);
		if (hlk < 0)
			return -1;
		gone += sweep_stale_bridges();
	}
	_cleanup_json_ json_t *all = load_all(dfd);
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		struct net n;
		if (from_json(j, &n) < 0)
			continue;
		int lk = run_lock(runroot, n.id, NULL);
		if (lk >= 0) {
			gone += sweep_network(&n, runroot);
			close(lk);
		}
		net_release(&n);
	}
	return gone;
}
