/* berth's bridge networks.
 *
 * $ROOT/networks/<name>.json        the network: {"Name", "Id", "Driver": "bridge", "Created",
 *                                   "Bridge", "Subnet", "Gateway", "Internal", "Labels"}
 * $ROOT/networks/ipam-<id>.json     address allocations (src/net/ipam.h), owner = container ID
 * $ROOT/networks/.lock              serializes create / rm / prune
 * $RUNROOT/networks/<id>/lock       serializes the network's endpoints, host setup and DNS
 * $RUNROOT/networks/<id>/ep/<ctr>   one JSON per attached container (what to undo)
 * $RUNROOT/networks/<id>/records    the DNS records (src/net/dnsd.h), rebuilt from ep/
 * $RUNROOT/networks/<id>/dns.pid    the network's DNS server (src/net/dnsproc.h)
 *
 * The default network "bridge" (Linux bridge berth0) exists implicitly:
 * it is recorded on first use and cannot be removed; it has no name
 * resolution. User networks get bridge br-<12 hex of the ID>, an iptables
 * setup (src/net/nat.h) and a DNS server on their gateway while at least
 * one container is attached.
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
#define NET_DEFAULT_BRIDGE "berth0"
#define NET_DEFAULT_SUBNET "10.88.0.0/16"

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
/* Remove every user network without running containers; names appended to removed. */
int net_prune(const char *root, const char *runroot, json_t *removed, struct berr **err);

/* Attach container ctr_id (its config cfg, pid 1 `pid` in a new netns) to
 * the network of HostConfig.NetworkMode: address, veth, eth0, default route,
 * /etc/hosts and resolv.conf in ctr_dir (rewritten in place), DNS. */
int net_attach(const char *root, const char *runroot, json_t *cfg, const char *ctr_id, const char *ctr_dir,
	       pid_t pid, struct berr **err);
/* Undo every attachment of ctr_id (any network): endpoint, address, veth,
 * DNS records; stops a network's DNS server when its last container left.
 * Harmless when there is nothing to undo. */
void net_detach_all(const char *root, const char *runroot, const char *ctr_id);
/* The actual published ports of a running container ({"80/tcp": [{"HostIp",
 * "HostPort"}]}, src/net/ports.h); an empty object when there are none. */
json_t *net_ctr_ports(const char *root, const char *runroot, const char *ctr_id);

#endif
