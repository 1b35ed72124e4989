#include "util/proc.h"
#include "net/network.h"
#include "net/dnsproc.h"
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

/* Host IPv4 routes that are not berth's own bridges (/proc/net/route). */
static size_t host_routes(struct ipam_cidr *out, size_t max)
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
		if (!strcmp(ifn, NET_DEFAULT_BRIDGE) || mask == 0)
			continue;
		struct ipam_cidr c = {.addr = {.family = AF_INET}};
		memcpy(c.addr.b, &dst, 4); /* already network order in memory */
		c.prefix = __builtin_popcount(mask);
		out[n++] = c;
	}
	fclose(f);
	return n;
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

/* Bridge, gateway address, up, iptables. */
static int host_setup(struct net *n, struct berr **err)
{
	struct nl nl;
	if (nl_open(&nl, err) < 0)
		return -1;
	struct ipam_cidr sub;
	struct ipam_addr gw;
	int r = -1;
	if (ipam_cidr_parse(n->subnet, &sub, err) < 0 || ipam_addr_parse(n->gateway, &gw, err) < 0)
		goto out;
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

static void host_teardown(struct net *n)
{
	nat_network_remove(n->bridge, n->subnet, n->internal);
	struct nl nl;
	struct berr *e = NULL;
	if (nl_open(&nl, &e) == 0) {
		nl_link_delete(&nl, n->bridge, &e);
		nl_close(&nl);
	}
	berr_free(e);
}

static bool bridge_exists(const char *br)
{
	char p[128];
	snprintf(p, sizeof(p), "/sys/class/net/%s", br);
	return access(p, F_OK) == 0;
}

/* Subnets in use: berth's networks (except skip_name) and the host's routes. */
static size_t used_subnets(json_t *all, const char *skip_name, struct ipam_cidr *used, size_t max)
{
	size_t n = host_routes(used, max);
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

/* The default network's record, created when missing (dfd: networks dir,
 * global lock held). */
static int ensure_default(int dfd, struct berr **err)
{
	if (faccessat(dfd, NET_DEFAULT_NAME ".json", F_OK, 0) == 0)
		return 0;
	_cleanup_json_ json_t *all = load_all(dfd);
	struct ipam_cidr used[512];
	size_t nused = used_subnets(all, NULL, used, 512);
	struct ipam_cidr sub;
	ipam_cidr_parse_network(NET_DEFAULT_SUBNET, &sub, NULL);
	bool clash = false;
	for (size_t i = 0; i < nused; i++)
		clash |= used[i].prefix > 0 && ipam_cidr_overlap(&sub, &used[i]);
	if (clash) {
		struct ipam_pool pools[16];
		if (ipam_default_pools(pools, err) < 0 ||
		    ipam_pool_pick(pools, ipam_default_pool_count, AF_INET, used, nused, &sub, err) < 0)
			return -1;
	}
	char s[IPAM_STRLEN], g[IPAM_STRLEN], id[65];
	struct ipam_addr gw = ipam_cidr_gateway(&sub);
	ipam_cidr_str(&sub, s);
	ipam_addr_str(&gw, g);
	rand_hex(id, 64);
	_cleanup_json_ json_t *rec = make_record(NET_DEFAULT_NAME, id, NET_DEFAULT_BRIDGE, s, g, false, NULL);
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
		if (lk < 0 || ensure_default(dfd, err) < 0)
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
		ensure_default(dfd, NULL);
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
	if (lk < 0 || ensure_default(dfd, err) < 0)
		return -1;
	char fname[200];
	snprintf(fname, sizeof(fname), "%s.json", o->name);
	if (faccessat(dfd, fname, F_OK, 0) == 0)
		return berr_setc(err, BERR_CONFLICT, "network with name %s already exists", o->name);
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
		size_t nused = used_subnets(all, NULL, used, 512);
		struct ipam_pool pools[16];
		if (ipam_default_pools(pools, err) < 0 ||
		    ipam_pool_pick(pools, ipam_default_pool_count, AF_INET, used, nused, &sub, err) < 0)
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
	if (host_setup(&n, err) < 0) {
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
		fs_write_atomic_at(dfd, "records", b.p, b.n, 0644, false, NULL);
		close(dfd);
	}
	free(b.p);
}

/* Undo one endpoint (run lock held). */
static void ep_undo(struct net *n, const char *runroot, json_t *ep)
{
	const char *veth = jsonx_str(ep, "Veth"), *cid = jsonx_str(ep, "Container");
	struct berr *e = NULL;
	json_t *ports = json_object_get(ep, "Ports");
	if (json_object_size(ports) && jsonx_str(ep, "IPv4Address")) {
		char cip[IPAM_STRLEN];
		snprintf(cip, sizeof(cip), "%s", jsonx_str(ep, "IPv4Address"));
		char *sl = strchr(cip, '/');
		if (sl)
			*sl = 0;
		nat_ports_remove(n->bridge, cip, ports);
	}
	if (veth) {
		struct nl nl;
		if (nl_open(&nl, &e) == 0) {
			nl_link_delete(&nl, veth, &e);
			nl_close(&nl);
		}
		berr_freep(&e);
	}
	if (cid) {
		char d[4300];
		snprintf(d, sizeof(d), "%s/networks/%s/ep/%s", runroot, n->id, cid);
		unlink(d);
	}
}

static int ipam_dirfd(const char *root)
{
	return nets_dirfd(root, NULL);
}

void net_detach_all(const char *root, const char *runroot, const char *ctr_id)
{
	_cleanup_json_ json_t *all = net_list(root);
	_cleanup_close_ int ifd = ipam_dirfd(root);
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		struct net n;
		if (from_json(j, &n) < 0)
			continue;
		char p[4400];
		snprintf(p, sizeof(p), "%s/networks/%s/ep/%s", runroot, n.id, ctr_id);
		bool has_ep = access(p, F_OK) == 0;
		if (has_ep) {
			struct berr *e = NULL;
			int lk = run_lock(runroot, n.id, &e);
			berr_free(e);
			json_t *ep = jsonx_load_at(AT_FDCWD, p, 1 << 16, NULL);
			if (ep) {
				ep_undo(&n, runroot, ep);
				json_decref(ep);
			}
			unlink(p);
			write_records(runroot, n.id);
			_cleanup_json_ json_t *left = load_eps(runroot, n.id);
			if (json_array_size(left) == 0) {
				char d[4200];
				run_dir(runroot, n.id, d, sizeof(d));
				dnsproc_stop(d);
			}
			if (lk >= 0)
				close(lk);
		}
		if (ifd >= 0)
			ipam_release_owner(ifd, n.id, ctr_id, NULL);
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

static void write_etc(const char *ctr_dir, struct net *n, const char *ip, const char *hostname, const char *name,
		      json_t *dns)
{
	/* hosts: keep the lines that do not name our address */
	char p[4400];
	snprintf(p, sizeof(p), "%s/hosts", ctr_dir);
	_cleanup_free_ char *old = NULL;
	size_t len = 0;
	char *buf = NULL;
	size_t blen = 0;
	FILE *m = open_memstream(&buf, &blen);
	if (!m)
		return;
	if (fs_read_file_at(AT_FDCWD, p, 1 << 20, &old, &len, NULL) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(old, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (strstr(line, "# berth-network"))
				continue;
			fprintf(m, "%s\n", line);
		}
	}
	fprintf(m, "%s\t%s", ip, hostname);
	if (name && *name && strcmp(name, hostname))
		fprintf(m, " %s", name);
	fprintf(m, "\t# berth-network\n");
	fclose(m);
	put_inplace(ctr_dir, "hosts", buf, blen);
	free(buf);
	buf = NULL;
	blen = 0;
	/* resolv.conf: the network's DNS server on user networks, --dns */
	if (n->is_default && !json_array_size(dns))
		return;
	m = open_memstream(&buf, &blen);
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

int net_attach(const char *root, const char *runroot, json_t *cfg, const char *ctr_id, const char *ctr_dir,
	       pid_t pid, struct berr **err)
{
	json_t *hc = json_object_get(cfg, "HostConfig");
	const char *mode = jsonx_str(hc, "NetworkMode");
	if (!net_mode_is_network(mode))
		return 0;
	if (!strcmp(mode, "default"))
		mode = NET_DEFAULT_NAME;
	struct net n;
	if (net_load(root, mode, &n, err) < 0)
		return -1;
	int r = -1;
	char ip[IPAM_STRLEN] = "", veth[16] = "";
	bool allocated = false;
	int nsfd = -1;
	json_t *ep = NULL, *ports = NULL;
	bool ports_added = false;
	struct nl nl = {.fd = -1}, cnl = {.fd = -1};
	_cleanup_close_ int ifd = -1;
	char rdir[4200];
	run_dir(runroot, n.id, rdir, sizeof(rdir));
	int lk = run_lock(runroot, n.id, err);
	if (lk < 0)
		goto out;
	if (!bridge_exists(n.bridge) && host_setup(&n, err) < 0)
		goto out;
	ifd = nets_dirfd(root, err);
	if (ifd < 0)
		goto out;
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
	const char *want = jsonx_str(hc, "IPv4Address");
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
	char nsp[64];
	snprintf(nsp, sizeof(nsp), "/proc/%d/ns/net", (int)pid);
	nsfd = open(nsp, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		berr_set(err, errno, "opening the container's network namespace");
		goto out;
	}
	if (nl_open(&nl, err) < 0)
		goto out;
	for (int tries = 0;; tries++) {
		char hx[9];
		rand_hex(hx, 8);
		snprintf(veth, sizeof(veth), "veth%s", hx);
		if (nl_veth_create(&nl, veth, "eth0", nsfd, 0, err) == 0)
			break;
		if (tries > 3 || !(*err) || (*err)->errnum != EEXIST) {
			veth[0] = 0;
			goto out;
		}
		berr_freep(err);
	}
	if (nl_link_set_master(&nl, veth, n.bridge, err) < 0 || nl_link_set_up(&nl, veth, true, err) < 0)
		goto out;
	if (nl_open_in_netns(&cnl, nsfd, err) < 0)
		goto out;
	if (nl_link_set_up(&cnl, "lo", true, err) < 0 ||
	    nl_addr_add(&cnl, "eth0", AF_INET, a.b, sub.prefix, err) < 0 ||
	    nl_link_set_up(&cnl, "eth0", true, err) < 0)
		goto out;
	if (!n.internal && nl_route_add_default(&cnl, AF_INET, gw.b, "eth0", err) < 0)
		goto out;
	/* published ports: kernel DNAT to ip */
	ports = ports_resolve(hc, json_object_get(cfg, "Config"), err);
	if (!ports)
		goto out;
	if (nat_ports_add(n.bridge, ip, ports, err) < 0)
		goto out;
	ports_added = true;
	/* the endpoint record */
	const char *name = jsonx_str(cfg, "Name");
	if (name && *name == '/')
		name++;
	char ipp[IPAM_STRLEN + 8];
	snprintf(ipp, sizeof(ipp), "%s/%d", ip, sub.prefix);
	json_t *aliases = json_object_get(hc, "NetworkAliases");
	ep = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:s}", "Container", ctr_id, "Name",
					      name ? name : "", "IPv4Address", ipp, "Veth", veth, "Aliases",
					      json_is_array(aliases) ? json_incref(aliases) : json_array(), "Pid", (json_int_t)pid,
					      "PidStart", (json_int_t)proc_start_time(pid), "EndpointID", ctr_id);
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
			char epf[4400];
			snprintf(epf, sizeof(epf), "%s/ep/%s", rdir, ctr_id);
			unlink(epf);
			write_records(runroot, n.id);
			goto out;
		}
	}
	write_etc(ctr_dir, &n, ip, jsonx_str(json_object_get(cfg, "Config"), "Hostname") ?: "", name,
		  json_object_get(hc, "Dns"));
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
		if (*err)
			berr_wrap(err, "attaching to network %s", n.name);
	}
	json_decref(ep);
	json_decref(ports);
	nl_close(&cnl);
	nl_close(&nl);
	if (nsfd >= 0)
		close(nsfd);
	if (lk >= 0)
		close(lk);
	net_release(&n);
	return r;
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
		}
		net_release(&n);
	}
	return 0;
}
