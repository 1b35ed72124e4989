/* berth's bridge networks.
 *
 * $ROOT/networks/<name>.json        the network: {"Name", "Id", "Driver": "bridge", "Created",
 *                                   "Bridge", "Subnet", "Gateway", "Internal", "Labels"}
 * $ROOT/networks/.lock              serializes create / rm / prune
 * $RUNROOT/networks/<id>/ipam-<id>.json  address leases (src/net/ipam.h), owner = container ID
 * $RUNROOT/networks/<id>/lock       serializes the network's endpoints, host setup and DNS
 * $RUNROOT/networks/<id>/ep/<ctr>   one JSON per attached container (what to undo)
 * $RUNROOT/networks/<id>/records    the DNS records (src/net/dnsd.h), rebuilt from ep/
 * $RUNROOT/networks/<id>/dns.pid    the network's DNS server (src/net/dnsproc.h)
 *
 * The default network "bridge" exists implicitly: it is recorded on first
 * use and cannot be removed; it has no name resolution. Its bridge (berth0
 * for the default store, berth<8 hex> for others) is created when its first
 * container starts and stays (as docker0 does) until `network prune` or
 * `system prune` finds it idle. User networks get bridge br-<12 hex of the
 * ID> and an iptables setup (src/net/nat.h) at create, and a DNS server on
 * their gateway from their first container on (it leaves on its own a
 * little after the last one, src/net/dnsproc.h).
 * Leases live on the run root: they only describe running containers.
 *
 * Host objects (bridge, address, iptables rules) are set up at create and
 * again on every attach that finds the bridge missing (after a reboot). */
#ifndef BERTH_NET_NETWORK_H
#define BERTH_NET_NETWORK_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "net/ipam.h"
#include "util/err.h"

#define NET_DEFAULT_NAME "bridge"
/* The default store's default bridge; other stores get berth<8 hex>. */
#define NET_DEFAULT_BRIDGE "berth0"
#define NET_DEFAULT_ROOT "/var/lib/berth"
/* Address plan: ipam_default_pools (src/net/ipam.h), skipping every
 * subnet that overlaps a route of the host. */
/* Host-wide: serializes subnet choice + bridge creation across stores. */
#define NET_HOST_LOCK "/run/berth-net.lock"
/* Host-wide registry of the bridges berth set up, one file per bridge
 * naming its store and network: how crash recovery finds what a killed
 * process or a deleted store left (see network.c). */
#define NET_BRIDGES_DIR "/run/berth-bridges"

struct net {
	char name[128];
	char id[65];
	char bridge[16];
	char subnet[IPAM_STRLEN];
	char gateway[IPAM_STRLEN];
	bool internal;
	bool is_default;
	json_t *json; /* the whole record */
};
void net_release(struct net *n);

struct net_create_opts {
	const char *name;
	const char *subnet;  /* NULL: pick from the pools */
	const char *gateway; /* NULL: first usable address */
	bool internal;
	json_t *labels;      /* object, borrowed; may be NULL */
};

/* "none", "host", "container:..." are not bridge networks. */
bool net_mode_is_network(const char *mode);

int net_create(const char *root, const char *runroot, const struct net_create_opts *o, struct net *ret,
	       struct berr **err);
/* By name, full ID or unique ID prefix. BERR_NOT_FOUND "network NAME not found". */
int net_load(const char *root, const char *ref, struct net *ret, struct berr **err);
/* Array of network records (default bridge included). */
json_t *net_list(const char *root);
/* Docker-like inspect object, with "Containers" from the endpoints. */
json_t *net_inspect(const char *root, const char *runroot, struct net *n);
/* BERR_CONFLICT when a running container is attached. */
int net_remove(const char *root, const char *runroot, const char *ref, struct berr **err);
/* Remove every user network without running containers or Services
 * (src/net/svc.h); names appended to removed. An idle default network
 * gives back its bridge and rules. */
int net_prune(const char *root, const char *runroot, json_t *removed, struct berr **err);

/* Attach container ctr_id (its config cfg, pid 1 `pid` in a new netns) to
 * the network of HostConfig.NetworkMode: address, veth, eth0, default route,
 * /etc/hosts and resolv.conf in ctr_dir (rewritten in place), DNS. */
int net_attach(const char *root, const char *runroot, json_t *cfg, const char *ctr_id, const char *ctr_dir,
	       pid_t pid, struct berr **err);
/* The networks a container joins at start: HostConfig.NetworkMode's, or
 * what `network connect`/`disconnect` made of it, kept in
 * ctr_dir/networks.json. The first one gets eth0, the published ports and
 * (when not internal) the default route; the others eth1, eth2...
 *
 * Join network netref: now when the container runs (pid > 0), and at every
 * later start. BERR_NOT_FOUND for an unknown network, BERR_CONFLICT when
 * already connected or the container has no network namespace of its own. */
int net_connect(const char *root, const char *runroot, json_t *cfg, const char *ctr_id, const char *ctr_dir,
		pid_t pid, const char *netref, json_t *aliases, const char *ip, struct berr **err);
/* Leave network netref (now, and at later starts). BERR_NOT_FOUND "container
 * X is not connected to network N" unless force. */
int net_disconnect(const char *root, const char *runroot, json_t *cfg, const char *ctr_id, const char *ctr_dir,
		   const char *netref, bool force, struct berr **err);
/* Docker's NetworkSettings.Networks of the container: {"NAME": {"IPAddress",
 * "Gateway", "MacAddress", "Aliases", "NetworkID", "EndpointID",
 * "IPPrefixLen", ...}}, addresses filled in while it runs. */
json_t *net_ctr_settings(const char *root, const char *runroot, json_t *cfg, const char *ctr_id,
			 const char *ctr_dir, bool running);

/* Undo every attachment of ctr_id (any network): endpoint, lease, port
 * rules, DNS records, and the veth while the container still runs (a dead
 * one's goes with its netns). The DNS server leaves on its own a little
 * after the last container (dnsproc.h). Harmless when there is nothing to undo. */
void net_detach_all(const char *root, const char *runroot, const char *ctr_id);
/* Crash recovery (system prune): endpoints, veths, leases, DNS records
 * and port rules that killed berth processes of this store left, and the
 * bridges (with their rules) of every store's networks that no longer
 * exist (the registry NET_BRIDGES_DIR). Returns how many things went. */
int net_sweep(const char *root, const char *runroot, struct berr **err);
/* The actual published ports of a running container ({"80/tcp": [{"HostIp",
 * "HostPort"}]}, src/net/ports.h); an empty object when there are none. */
json_t *net_ctr_ports(const char *root, const char *runroot, const char *ctr_id);

#endif
