/* Internal to bridge networks: what network.c (the networks on disk:
 * records, locks, create/load/list/inspect/remove/prune), network-host.c
 * (the host side: bridge, address, iptables, subnet choice, the bridge
 * registry) and network-attach.c (containers' endpoints) call across. */
#ifndef BERTH_NET_NETWORK_INT_H
#define BERTH_NET_NETWORK_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/ipam.h"
#include "net/network.h"
#include "util/err.h"

/* ---- network.c: the networks on disk ---- */

/* nhex random hex digits and a NUL into out (nhex <= 128). */
void net_rand_hex(char *out, size_t nhex);
/* $ROOT/networks (created when missing), an O_PATH fd. */
int net_store_dirfd(const char *root, struct berr **err);
/* $RUNROOT/networks/<id> into buf. */
void net_run_dir(const char *runroot, const char *id, char *buf, size_t n);
/* mkdir -p the network's run dir and take its lock (an fd to close). */
int net_run_lock(const char *runroot, const char *id, struct berr **err);
/* A network record into *n (n->json holds a reference); -1 when incomplete. */
int net_from_json(json_t *j, struct net *n);
/* Every network record of the networks dir dfd, sorted by name. */
json_t *net_load_all(int dfd);
/* Write record j as <Name>.json in dfd, atomically. */
int net_write_record(int dfd, json_t *j, struct berr **err);

/* ---- network-host.c: the host side ---- */

/* The host-wide lock NET_HOST_LOCK around subnet choice and bridge setup. */
int net_host_lock(struct berr **err);
/* Bridge, gateway address, up, iptables, registered first (host lock held);
 * the default network (dfd >= 0) moves off a subnet the host routes. */
int net_host_setup(const char *root, struct net *n, int dfd, int ipfd, struct berr **err);
/* The bridge with its rules and its registry entry. */
void net_host_teardown(struct net *n);
bool net_bridge_exists(const char *br);
/* Delete a link, ignoring failures (it may be gone already). */
void net_link_delete_quiet(const char *ifname);
/* Bridges of networks that no longer exist, removed (host lock held); how many. */
int net_sweep_stale_bridges(void);
/* The address pool of the default network (dflt) or of user networks. */
int net_pools_for(bool dflt, struct ipam_pool *ret, struct berr **err);
/* Subnets in use: the networks of all (but skip_name) and the host's routes
 * (but skip_if's); how many were stored in used. */
size_t net_used_subnets(json_t *all, const char *skip_name, const char *skip_if, struct ipam_cidr *used,
			size_t max);

/* ---- network-attach.c: containers' endpoints ---- */

/* The endpoint records of network id (an array, empty when none). */
json_t *net_load_eps(const char *runroot, const char *id);
/* Rebuild $RUNROOT/networks/<id>/records from ep/ and the Services'
 * records (src/net/svc.h); the run lock is held. */
void net_write_records(const char *runroot, const char *id);
/* Whether the endpoint's container (pid and its start time) still runs. */
bool net_ep_alive(json_t *ep);
/* How many endpoints of the network have a live container. */
size_t net_live_eps(const char *runroot, const char *id);
/* Undo one endpoint: port rules, veth of a live container, its record (run lock held). */
void net_ep_undo(struct net *n, const char *runroot, json_t *ep);

#endif
