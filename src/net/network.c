/* Bridge networks on disk (layout in network.h): the records under
 * $ROOT/networks with their locks and run dirs, the default network's
 * record, and the network lifecycle: create, load, list, inspect, remove,
 * prune. The host side is in network-host.c, containers' endpoints in
 * network-attach.c. */
#include "net/network.h"
#include "net/dnsproc.h"
#include "net/ipam.h"
#include "net/network-int.h"
#include "net/svc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
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


void net_rand_hex(char *out, size_t nhex)
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

int net_store_dirfd(const char *root, struct berr **err)
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

void net_run_dir(const char *runroot, const char *id, char *buf, size_t n)
{
	snprintf(buf, n, "%s/networks/%s", runroot, id);
}

/* mkdir -p the network's run dir and take its lock. */
int net_run_lock(const char *runroot, const char *id, struct berr **err)
{
	char d[4200];
	net_run_dir(runroot, id, d, sizeof(d));
	char ep[4300];
	snprintf(ep, sizeof(ep), "%s/ep", d);
	if (fs_mkdir_p(ep, 0700, err) < 0)
		return -1;
	_cleanup_close_ int dfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_set(err, errno, "opening %s", d);
	return fs_lock_at(dfd, "lock", LOCK_EX, err);
}

int net_from_json(json_t *j, struct net *n)
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
json_t *net_load_all(int dfd)
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

int net_write_record(int dfd, json_t *j, struct berr **err)
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

/* The default network's bridge: berth0 for the default store, a name of
 * its own for every other store, so stores never share a bridge. */
static void default_bridge_name(const char *root, char out[16])
{
	if (!strcmp(root, NET_DEFAULT_ROOT)) {
		snprintf(out, 16, "%s", NET_DEFAULT_BRIDGE);
		return;
	}
	char hx[9];
	net_rand_hex(hx, 8);
	snprintf(out, 16, "berth%s", hx);
}

/* The default network's record, created when missing (dfd: networks dir,
 * global lock held). Its subnet is settled for real in host_setup, under
 * the host lock, when its bridge is created. */
static int ensure_default(const char *root, int dfd, struct berr **err)
{
	if (faccessat(dfd, NET_DEFAULT_NAME ".json", F_OK, 0) == 0)
		return 0;
	_cleanup_json_ json_t *all = net_load_all(dfd);
	struct ipam_cidr used[512];
	size_t nused = net_used_subnets(all, NULL, NULL, used, 512);
	struct ipam_cidr sub;
	struct ipam_pool pool;
	if (net_pools_for(true, &pool, err) < 0 || ipam_pool_pick(&pool, 1, AF_INET, used, nused, &sub, err) < 0)
		return -1;
	char s[IPAM_STRLEN], g[IPAM_STRLEN], id[65], br[16];
	struct ipam_addr gw = ipam_cidr_gateway(&sub);
	ipam_cidr_str(&sub, s);
	ipam_addr_str(&gw, g);
	net_rand_hex(id, 64);
	default_bridge_name(root, br);
	_cleanup_json_ json_t *rec = make_record(NET_DEFAULT_NAME, id, br, s, g, false, NULL);
	return net_write_record(dfd, rec, err);
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
			int r = net_from_json(j, ret);
			json_decref(j);
			if (r == 0)
				return 0;
			return berr_set(err, 0, "network %s: corrupt record", ref);
		}
	}
	/* ID or unique ID prefix */
	_cleanup_json_ json_t *all = net_load_all(dfd);
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
	if (hits == 1 && net_from_json(hit, ret) == 0)
		return 0;
	if (hits > 1)
		return berr_setc(err, BERR_INVALID, "network %s is ambiguous (%zu matches found based on ID prefix)", ref,
				 hits);
	return berr_setc(err, BERR_NOT_FOUND, "network %s not found", ref);
}

int net_load(const char *root, const char *ref, struct net *ret, struct berr **err)
{
	_cleanup_close_ int dfd = net_store_dirfd(root, err);
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
	_cleanup_close_ int dfd = net_store_dirfd(root, &e);
	berr_free(e);
	if (dfd < 0)
		return json_array();
	if (faccessat(dfd, NET_DEFAULT_NAME ".json", F_OK, 0) != 0) {
		_cleanup_close_ int lk = global_lock(dfd, NULL);
		ensure_default(root, dfd, NULL);
	}
	return net_load_all(dfd);
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
	_cleanup_close_ int dfd = net_store_dirfd(root, err);
	if (dfd < 0)
		return -1;
	_cleanup_close_ int lk = global_lock(dfd, err);
	if (lk < 0 || ensure_default(root, dfd, err) < 0)
		return -1;
	char fname[200];
	snprintf(fname, sizeof(fname), "%s.json", o->name);
	if (faccessat(dfd, fname, F_OK, 0) == 0)
		return berr_setc(err, BERR_CONFLICT, "network with name %s already exists", o->name);
	_cleanup_close_ int hlk = net_host_lock(err);
	if (hlk < 0)
		return -1;
	_cleanup_json_ json_t *all = net_load_all(dfd);
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
		size_t nused = net_used_subnets(all, NULL, NULL, used, 512);
		struct ipam_pool pool;
		if (net_pools_for(false, &pool, err) < 0 || ipam_pool_pick(&pool, 1, AF_INET, used, nused, &sub, err) < 0)
			return -1;
	}
	if (!o->gateway)
		gw = ipam_cidr_gateway(&sub);
	char s[IPAM_STRLEN], g[IPAM_STRLEN], id[65], br[16];
	ipam_cidr_str(&sub, s);
	ipam_addr_str(&gw, g);
	net_rand_hex(id, 64);
	snprintf(br, sizeof(br), "br-%.12s", id);
	_cleanup_json_ json_t *rec = make_record(o->name, id, br, s, g, o->internal, o->labels);
	struct net n;
	if (net_from_json(rec, &n) < 0)
		return berr_set(err, 0, "internal error building the network record");
	if (net_host_setup(root, &n, -1, -1, err) < 0) {
		net_host_teardown(&n);
		net_release(&n);
		return berr_wrap(err, "creating network %s", o->name);
	}
	if (net_write_record(dfd, rec, err) < 0) {
		net_host_teardown(&n);
		net_release(&n);
		return -1;
	}
	if (ret)
		*ret = n;
	else
		net_release(&n);
	return 0;
}

/* ---- inspect / remove / prune ---- */

json_t *net_inspect(const char *root, const char *runroot, struct net *n)
{
	json_t *o = json_deep_copy(n->json);
	json_t *ctrs = json_object();
	_cleanup_json_ json_t *eps = net_load_eps(runroot, n->id);
	size_t i;
	json_t *ep;
	json_array_foreach(eps, i, ep) {
		if (!net_ep_alive(ep))
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
	int lk = net_run_lock(runroot, n->id, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *eps = net_load_eps(runroot, n->id);
	size_t i;
	json_t *ep;
	json_array_foreach(eps, i, ep)
		if (net_ep_alive(ep)) {
			close(lk);
			return berr_setc(err, BERR_CONFLICT,
					 "error while removing network: network %s id %s has active endpoints", n->name,
					 n->id);
		}
	json_array_foreach(eps, i, ep)
		net_ep_undo(n, runroot, ep);
	char rd[4200];
	net_run_dir(runroot, n->id, rd, sizeof(rd));
	dnsproc_stop(rd);
	net_host_teardown(n);
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
	_cleanup_close_ int dfd = net_store_dirfd(root, err);
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
	_cleanup_close_ int dfd = net_store_dirfd(root, err);
	if (dfd < 0)
		return -1;
	_cleanup_close_ int lk = global_lock(dfd, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *all = net_load_all(dfd);
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		struct net n;
		if (net_from_json(j, &n) < 0)
			continue;
		if (!n.is_default && net_svc_active(runroot, n.id)) {
			/* its Services (a kube play namespace) use it, pods or not */
		} else if (!n.is_default) {
			struct berr *e = NULL;
			if (remove_locked(dfd, root, runroot, &n, &e) == 0)
				json_array_append_new(removed, json_string(n.name));
			berr_free(e);
		} else {
			/* the default network stays, but an idle one gives its
			 * bridge and rules back (set up again on the next run) */
			int rlk = net_run_lock(runroot, n.id, NULL);
			if (rlk >= 0 && !net_live_eps(runroot, n.id) && net_bridge_exists(n.bridge)) {
				_cleanup_close_ int hlk = net_host_lock(NULL);
				net_host_teardown(&n);
			}
			if (rlk >= 0)
				close(rlk);
		}
		net_release(&n);
	}
	return 0;
}
