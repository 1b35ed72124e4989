/* The host side of bridge networks: the host's routes and the subnet
 * choice that avoids them (with berth's address pools), the host-wide
 * lock, the bridge with its gateway address and iptables rules
 * (src/net/nat.h), and the host-wide registry of the bridges berth set up,
 * which finds and removes those whose network no longer exists. */
#include "net/ipam.h"
#include "net/nat.h"
#include "net/netlink.h"
#include "net/network-int.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

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
int net_host_lock(struct berr **err)
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
void net_link_delete_quiet(const char *ifname)
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
	net_link_delete_quiet(bridge);
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
	_cleanup_json_ json_t *all = net_load_all(dfd);
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		struct net o;
		if (net_from_json(j, &o) < 0)
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
int net_sweep_stale_bridges(void)
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
int net_pools_for(bool dflt, struct ipam_pool *ret, struct berr **err)
{
	struct ipam_pool all[IPAM_POOL_COUNT];
	if (ipam_default_pools(all, err) < 0)
		return -1;
	*ret = all[dflt ? IPAM_POOL_DEFAULT : IPAM_POOL_USER];
	return 0;
}

/* The default network moves to a free subnet of its pool (its bridge is
 * down and none of its containers runs, so nothing holds its addresses;
 * ipfd: the network's run dir, holding its leases). */
static int default_repick(struct net *n, int dfd, int ipfd, struct berr **err)
{
	_cleanup_json_ json_t *all = net_load_all(dfd);
	struct ipam_cidr used[512];
	size_t nused = net_used_subnets(all, n->name, n->bridge, used, 512);
	struct ipam_cidr sub;
	struct ipam_pool pool;
	if (net_pools_for(true, &pool, err) < 0 || ipam_pool_pick(&pool, 1, AF_INET, used, nused, &sub, err) < 0)
		return -1;
	struct ipam_addr gw = ipam_cidr_gateway(&sub);
	char s[IPAM_STRLEN], g[IPAM_STRLEN];
	ipam_cidr_str(&sub, s);
	ipam_addr_str(&gw, g);
	json_t *c0 = json_array_get(json_object_get(json_object_get(n->json, "IPAM"), "Config"), 0);
	json_object_set_new(c0, "Subnet", json_string(s));
	json_object_set_new(c0, "Gateway", json_string(g));
	if (net_write_record(dfd, n->json, err) < 0)
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
int net_host_setup(const char *root, struct net *n, int dfd, int ipfd, struct berr **err)
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
			return net_host_setup(root, n, -1, -1, err);
		}
		char rs[IPAM_STRLEN];
		return berr_setc(err, BERR_CONFLICT, "subnet %s overlaps the route %s of interface %s on this host",
				 n->subnet, ipam_cidr_str(&routes[i], rs), ifs[i]);
	}
	net_sweep_stale_bridges();
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
void net_host_teardown(struct net *n)
{
	bridge_purge(n->bridge);
}

bool net_bridge_exists(const char *br)
{
	char p[128];
	snprintf(p, sizeof(p), "/sys/class/net/%s", br);
	return access(p, F_OK) == 0;
}

/* Subnets in use: berth's networks (except skip_name) and the host's routes. */
size_t net_used_subnets(json_t *all, const char *skip_name, const char *skip_if, struct ipam_cidr *used,
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
		/* the network's Services' range (src/net/svc.h), even while its bridge is down */
		const char *sr = jsonx_str(j, "ServiceRange");
		if (n < max && sr && ipam_cidr_parse_network(sr, &used[n], NULL) == 0)
			n++;
	}
	return n;
}
