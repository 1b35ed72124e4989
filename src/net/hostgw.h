/* host-gw pod networking (issue 15): the subnets of a network's peers on
 * other hosts (their Kubernetes nodes' podCIDRs), routed through those
 * hosts, as flannel's host-gw backend does it: no encapsulation, so the
 * hosts must reach each other directly (one link, or a gateway that is
 * one of them).
 *
 * Per peer CIDR, for bridge BR with subnet LOCAL:
 *   route   CIDR via NEXTHOP, main table, protocol NET_HOSTGW_PROTO and a
 *           metric of BR's own (how this network's routes are told from
 *           another's on the same host). NEXTHOP is the peer's address
 *           when it is on a link of this host, else the gateway this host
 *           reaches the peer's address through (that host then forwards).
 *   nat     BERTH-POSTROUTING (first): -s LOCAL -d CIDR -j RETURN: no
 *           masquerade between pods of the cluster (they see each other's
 *           real addresses)
 *   filter  BERTH-FORWARD (first): -s CIDR -o BR -j ACCEPT: the peers' pods
 *           may open connections to this network's pods (the network's own
 *           rules only let answers in)
 * Every rule is commented "berth:BR:hostgw". */
#ifndef BERTH_NET_HOSTGW_H
#define BERTH_NET_HOSTGW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define NET_HOSTGW_PROTO 98 /* rtm_protocol of the routes (unassigned in iproute2's rt_protos) */
#define NET_HOSTGW_MAX 1024 /* peers */

struct net_hostgw_peer {
	const char *name; /* for messages (a node's name) */
	const char *cidr; /* its subnet "10.112.1.0/24" */
	const char *ip;   /* its address "10.201.0.2" */
};

/* Make bridge's routes and rules exactly peers' (IPv4): routes added,
 * replaced or removed as needed (netlink, cheap: every call checks them);
 * the rules rewritten when rules is set (the peers' CIDRs changed, or now
 * and then in case someone flushed them). A peer that cannot be routed (a
 * CIDR that overlaps local, an address of this host, a kernel refusal) is
 * skipped; the error names every such peer and the rest still applies. */
int net_hostgw_sync(const char *bridge, const char *local, const struct net_hostgw_peer *peers, size_t n, bool rules,
		    struct berr **err);
/* Remove every route and rule net_hostgw_sync made for bridge. */
void net_hostgw_remove(const char *bridge);

#endif
