/* Containers on bridge networks: the endpoint records in the network's
 * run dir, the DNS records made from them, attaching (lease, veth pair,
 * eth<N> with its address and default route, published ports, /etc/hosts
 * and resolv.conf, the DNS server), network connect / disconnect and the
 * container's NetworkSettings, detaching, and the crash sweep of what
 * killed processes left. */
#include "net/dnsproc.h"
#include "net/ipam.h"
#include "net/nat.h"
#include "net/netlink.h"
#include "net/network-int.h"
#include "net/ports.h"
#include "net/svc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- endpoints ---- */

json_t *net_load_eps(const char *runroot, const char *id)
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

bool net_ep_alive(json_t *ep)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(ep, "Pid"));
	unsigned long long st = (unsigned long long)json_integer_value(json_object_get(ep, "PidStart"));
	return pid > 0 && st && proc_start_time(pid) == st;
}

/* How many endpoints of the network have a live container. */
size_t net_live_eps(const char *runroot, const char *id)
{
	_cleanup_json_ json_t *eps = net_load_eps(runroot, id);
	size_t i, n = 0;
	json_t *ep;
	json_array_foreach(eps, i, ep)
		n += net_ep_alive(ep);
	return n;
}

/* Rebuild the records file from ep/ (run lock held), with the Services'
 * records (NET_SVC_RECORDS, src/net/svc.h) after the containers'. */
void net_write_records(const char *runroot, const char *id)
{
	_cleanup_json_ json_t *eps = net_load_eps(runroot, id);
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
	char d[4200];
	net_run_dir(runroot, id, d, sizeof(d));
	int dfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *svc = NULL;
	size_t svclen = 0;
	if (dfd >= 0 && fs_read_file_at(dfd, NET_SVC_RECORDS, 16u << 20, &svc, &svclen, NULL) == 0)
		fwrite(svc, 1, svclen, m);
	fclose(m);
	if (dfd >= 0) {
		fs_replace_at(dfd, "records", b.p, b.n, 0644, NULL);
		close(dfd);
	}
	free(b.p);
}

/* Undo one endpoint (run lock held). */
void net_ep_undo(struct net *n, const char *runroot, json_t *ep)
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
	if (veth && net_ep_alive(ep))
		net_link_delete_quiet(veth);
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
	net_run_dir(runroot, id, d, sizeof(d));
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
		int lk = net_run_lock(runroot, n->id, &e);
		berr_free(e);
		json_t *ep = jsonx_load_at(AT_FDCWD, p, 1 << 16, NULL);
		if (ep) {
			net_ep_undo(n, runroot, ep);
			json_decref(ep);
		}
		unlink(p);
		/* The records change (the DNS server reloads them); the server
		 * itself stays a little (dnsproc.h) and the bridge with its
		 * rules stays until the network goes or `network prune` /
		 * `system prune` finds it idle, as docker0 does: setting them
		 * up again costs an iptables round trip per container. */
		if (!n->is_default)
			net_write_records(runroot, n->id);
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
		if (net_from_json(j, &n) < 0)
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
		if (ep && net_ep_alive(ep))
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
	net_run_dir(runroot, n.id, rdir, sizeof(rdir));
	snprintf(epf, sizeof(epf), "%s/ep/%s", rdir, ctr_id);
	int lk = net_run_lock(runroot, n.id, err);
	if (lk < 0)
		goto out;
	ifd = ipam_dirfd(runroot, n.id);
	if (ifd < 0) {
		berr_set(err, errno, "opening %s", rdir);
		goto out;
	}
	{
		/* endpoints of containers that died without a detach (killed monitor) */
		_cleanup_json_ json_t *eps = net_load_eps(runroot, n.id);
		size_t i;
		json_t *old_ep;
		bool pruned = false;
		json_array_foreach(eps, i, old_ep) {
			const char *cid = jsonx_str(old_ep, "Container");
			if (net_ep_alive(old_ep) || !cid)
				continue;
			net_ep_undo(&n, runroot, old_ep);
			ipam_release_owner(ifd, n.id, cid, NULL);
			pruned = true;
		}
		if (pruned && !n.is_default)
			net_write_records(runroot, n.id);
	}
	if (access(epf, F_OK) == 0) {
		const char *name = jsonx_str(cfg, "Name");
		berr_setc(err, BERR_CONFLICT, "endpoint with name %s already exists in network %s",
			  name && *name == '/' ? name + 1 : name ? name : ctr_id, n.name);
		goto out;
	}
	if (!net_bridge_exists(n.bridge)) {
		_cleanup_close_ int hlk = net_host_lock(err);
		_cleanup_close_ int ndfd = hlk < 0 ? -1 : net_store_dirfd(root, err);
		if (ndfd < 0)
			goto out;
		if (net_host_setup(root, &n, ndfd, ifd, err) < 0) {
			net_host_teardown(&n);
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
		net_rand_hex(hx, 8);
		snprintf(veth, sizeof(veth), "veth%s", hx);
		if (nl_veth_create_opts(&nl, veth, ifname, &vo, err) == 0)
			break;
		if (tries > 3 || !(*err) || (*err)->errnum != EEXIST) {
			veth[0] = 0;
			goto out;
		}
		berr_freep(err);
	}
	/* Hairpin on the bridge port, as Docker without its userland proxy and
	 * the kubelet do: a container reaching itself through a DNAT (its own
	 * published port on a host address, a Service whose endpoint it is)
	 * gets its packets back out of the port they came in on, which the
	 * bridge refuses otherwise once br_netfilter NATs bridged traffic. */
	{
		char hp[96];
		snprintf(hp, sizeof(hp), "/sys/class/net/%s/brport/hairpin_mode", veth);
		int hfd = open(hp, O_WRONLY | O_CLOEXEC);
		if (hfd >= 0) {
			if (write(hfd, "1", 1) < 0) {
				/* a read-only sysfs: only hairpin traffic is affected */
			}
			close(hfd);
		}
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
	net_rand_hex(epid, 64);
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
		net_write_records(runroot, n.id);
		char rec[4300];
		snprintf(rec, sizeof(rec), "%s/records", rdir);
		if (dnsproc_ensure(rdir, n.gateway, rec, err) < 0) {
			unlink(epf);
			net_write_records(runroot, n.id);
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
		if (created && !net_live_eps(runroot, n.id))
			net_host_teardown(&n);
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
		if (ep && !net_ep_alive(ep)) {
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

/* One network of the store (its run lock held): endpoints of dead
 * containers, leases nobody live holds, port rules of gone addresses. */
static int sweep_network(struct net *n, const char *runroot)
{
	int gone = 0;
	_cleanup_json_ json_t *eps = net_load_eps(runroot, n->id);
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
		if (net_ep_alive(ep)) {
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
			net_link_delete_quiet(veth);
		net_ep_undo(n, runroot, ep);
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
		net_write_records(runroot, n->id);
	if (!nkeep && !net_svc_active(runroot, n->id)) {
		char d[4200];
		net_run_dir(runroot, n->id, d, sizeof(d));
		dnsproc_stop(d);
	}
	if (net_bridge_exists(n->bridge))
		nat_ports_sweep(n->bridge, keep, nkeep, NULL);
	free(keep);
	free(ips);
	return gone;
}

int net_sweep(const char *root, const char *runroot, struct berr **err)
{
	_cleanup_close_ int dfd = net_store_dirfd(root, err);
	if (dfd < 0)
		return -1;
	int gone = 0;
	{
		_cleanup_close_ int hlk = net_host_lock(err);
		if (hlk < 0)
			return -1;
		gone += net_sweep_stale_bridges();
	}
	_cleanup_json_ json_t *all = net_load_all(dfd);
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		struct net n;
		if (net_from_json(j, &n) < 0)
			continue;
		int lk = net_run_lock(runroot, n.id, NULL);
		if (lk >= 0) {
			gone += sweep_network(&n, runroot);
			close(lk);
		}
		net_release(&n);
	}
	return gone;
}
