/* Kubernetes Services on berth's bridge networks, as kube-proxy's iptables
 * mode does them on a node: a virtual ClusterIP per Service, DNAT to its
 * ready endpoints, host ports for NodePort and LoadBalancer, and DNS names.
 *
 * Service range. A network's ClusterIPs come from a /24 of berth's user
 * pool (10.84.0.0/14) chosen under NET_HOST_LOCK like a network's subnet
 * (clear of every host route and of the store's networks) and held by a
 * route out of lo with the bridge's gateway as preferred source and a
 * metric of the network's own: that route is what every other chooser (any
 * store) sees, it gives the host's own connections to ClusterIPs a source
 * the endpoints reach, and the kernel removes it with the bridge's address.
 * Pods need no route of their own: they reach the range through their
 * default gateway (the bridge), where the DNAT happens. Not on-link on the
 * bridge: see ensure_range in svc.c. The range is recorded in the
 * network's JSON ("ServiceRange") and kept for the network's life.
 *
 * $RUNROOT/networks/<id>/svc.json      what the last sync applied: {"bridge", "subnet", "range",
 *                                      "services": [normalized, sorted, with clusterIP/nodePorts]}
 *                                      (replaced atomically under the network's run lock); an
 *                                      unchanged sync compares with it and runs no iptables
 * $RUNROOT/networks/<id>/svc-records   the Services' DNS records (src/net/dnsd.h format, with
 *                                      "@zone cluster.local"), appended to the network's records
 *                                      file whenever that is rebuilt (network-attach.c); while it
 *                                      exists the network's DNS server stays (src/net/dnsproc.h)
 *
 * iptables (one iptables-save + one iptables-restore per change, through
 * src/net/nat.h; every rule commented "berth:BRIDGE:svc", so removal and
 * the crash sweep find them; host-port rules also carry "service NS/NAME"):
 *   nat BERTH-SERVICES (PREROUTING, OUTPUT):
 *       -d CIP/32 -p P --dport PORT [-m recent --update ... ] -j DNAT   ClientIP affinity, per endpoint
 *       -d CIP/32 -p P --dport PORT -m statistic --mode random --probability 1/(n-i)
 *                                     [-m recent --set] -j DNAT --to-destination EP:TARGET
 *   nat BERTH-DNAT (nat.h: PREROUTING, OUTPUT for local addresses): the same for each
 *       nodePort and LoadBalancer port (-p P --dport HOSTPORT), or a RETURN placeholder
 *       holding the port while no endpoint is ready (containers' publish checks see it)
 *   nat BERTH-POSTROUTING: -s SUBNET -o BR -m conntrack --ctstate DNAT -j MASQUERADE
 *       (hairpin: a pod reaching itself or a neighbour through a Service) and
 *       -s 127.0.0.0/8 -o BR -j MASQUERADE (host ports on 127.0.0.1, route_localnet=1)
 *   filter BERTH-SERVICES (INPUT, OUTPUT, BERTH-FORWARD first; ctstate NEW): REJECT
 *       (TCP: tcp-reset, UDP: icmp-port-unreachable: "connection refused" at once) for
 *       ClusterIP ports and host ports without a ready endpoint
 *   filter BERTH-FORWARD (first): ! -i BR -o BR, DNAT'd from HOSTPORT and not from the
 *       range -> ACCEPT (host ports reached from outside the bridge)
 *
 * DNS: NAME.NS.svc.cluster.local, NAME.NS.svc, NAME.NS, NAME -> the ClusterIP
 * (headless: the ready endpoints' IPs); for a headless Service's ready
 * endpoints with a hostname (StatefulSet pods) HOSTNAME.NAME.NS.svc.cluster.local
 * and its shorter forms down to HOSTNAME.NAME. Unknown names under
 * cluster.local get NXDOMAIN from the network's DNS server. */
#ifndef BERTH_NET_SVC_H
#define BERTH_NET_SVC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "net/ipam.h"
#include "util/err.h"

#define NET_SVC_RECORDS "svc-records"
#define NET_SVC_STATE "svc.json"
#define NET_SVC_ZONE "cluster.local"
#define NET_SVC_NODEPORT_MIN 30000
#define NET_SVC_NODEPORT_MAX 32767
#define NET_SVC_MAX 1024        /* Services per network */
#define NET_SVC_PORTS_MAX 100   /* ports per Service */
#define NET_SVC_EPS_MAX 1000    /* endpoints per Service */
#define NET_SVC_AFFINITY_DEFAULT 10800

/* services: the COMPLETE list for the network (every call replaces what
 * the previous one set):
 *   [{"name", "namespace", "clusterIP": "" (allocate, or keep the one
 *     allocated before) | "A.B.C.D" (from the network's range) | "None" (headless),
 *     "type": "ClusterIP|NodePort|LoadBalancer", "sessionAffinity": "None|ClientIP",
 *     "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": N}} (optional),
 *     "publishNotReadyAddresses": bool (optional, DNS only),
 *     "ports": [{"name", "protocol": "TCP|UDP", "port", "nodePort": 0 | N, "lbPort": bool}],
 *     "endpoints": [{"ip", "ready", "hostname": "web-0" | null,
 *                    "ports": [target per service port, index-aligned; 0: not served]}]}]
 * ("ports" of an endpoint absent: the service ports themselves; "lbPort"
 * absent: true for LoadBalancer). On success the objects get "clusterIP"
 * and (NodePort, LoadBalancer) "nodePort" filled in, stable across calls.
 * Bad input is BERR_INVALID naming the service and field; a host port
 * taken is BERR_CONFLICT (see net_svc_check); either way nothing changes.
 * Cheap when nothing changed: no iptables process, no file written.
 * The default network "bridge" has no Services (BERR_INVALID). */
int net_svc_sync(const char *root, const char *runroot, const char *netname, json_t *services, struct berr **err);
/* A cluster's Services on a node's network (kube/node-svc.c): the
 * addresses are the API's, not the network's own. */
struct net_svc_opts {
	/* The Services' range, given (the cluster's service CIDR, /8 to /29)
	 * instead of a /24 chosen for the network: routed out of lo as a
	 * chosen one is, and every service's "clusterIP" must be set ("None"
	 * or an address in it; nothing is allocated, nodePorts included). */
	const char *range;
	/* Endpoints may be anywhere (other nodes' pods, the API server on the
	 * host), not only on the network's subnet. */
	bool remote_endpoints;
};
int net_svc_sync_opts(const char *root, const char *runroot, const char *netname, json_t *services,
		      const struct net_svc_opts *o, struct berr **err);
/* What sync would refuse, before any change: bad input, and BERR_CONFLICT
 * "Bind for 0.0.0.0:80 failed: port is already allocated (service default/web: ...)"
 * when a host port (LoadBalancer port, nodePort) is held by a socket on the
 * host, a berth container, another berth Service of any store, or another
 * Service of the list. Changes nothing. */
int net_svc_check(const char *root, const char *runroot, const char *netname, json_t *services, struct berr **err);
/* Remove every Service of the network: rules, records, svc.json. */
void net_svc_remove_all(const char *root, const char *runroot, const char *netname);
/* Whether network net_id has Services (its DNS server must stay). */
bool net_svc_active(const char *runroot, const char *net_id);

/* ---- the pure parts (tests/unit/test-svc.c) ---- */

/* Validate services and return a normalized copy: defaults filled, sorted
 * by namespace/name, endpoints by address. subnet (NULL: not checked): the
 * network's, which every endpoint address must be in. */
int svc_normalize(json_t *services, const struct ipam_cidr *subnet, json_t **ret, struct berr **err);

/* Host ports in use, per protocol (0 TCP, 1 UDP). */
struct svc_ports {
	unsigned char bits[2][65536 / 8];
};
void svc_ports_set(struct svc_ports *p, int proto, unsigned port);
bool svc_ports_get(const struct svc_ports *p, int proto, unsigned port);

/* Fill "clusterIP" and "nodePort" of the normalized services norm: a
 * requested address (in range, not the bridge's), else the one prev (the
 * last applied normalized list, may be NULL) had, else the first free one
 * from a hash of NS/NAME; nodePorts likewise, avoiding taken. taken NULL:
 * fresh nodePorts are not allocated (left 0) and *ret_fresh is set. */
int svc_allocate(json_t *norm, const struct ipam_cidr *range, json_t *prev, const struct svc_ports *taken,
		 bool *ret_fresh, struct berr **err);
/* For a given range (net_svc_opts.range): every service of norm has its
 * clusterIP, "None" or an address in range other than its network and
 * broadcast addresses, no two the same; nodePorts are left as given. */
int svc_check_given(json_t *norm, const struct ipam_cidr *range, struct berr **err);
/* BERR_CONFLICT when two ports of norm want one host port. */
int svc_hostports_dups(json_t *norm, struct berr **err);

struct svc_net {
	const char *bridge, *subnet, *range; /* CIDRs as text */
	const char *owner;                   /* "berth:BRIDGE:svc" */
};
/* The rules of norm (allocated) as iptables-restore lines; nothing for an
 * empty list. */
void svc_rules(const struct svc_net *sn, json_t *norm, FILE *nat, FILE *filter);
/* The DNS records text of norm (malloc'd; "" for an empty list). */
char *svc_records(json_t *norm);

#endif
