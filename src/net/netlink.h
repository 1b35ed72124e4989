/* Raw rtnetlink (NETLINK_ROUTE) for berth's bridge networking: links
 * (bridge, veth), addresses and routes, in the calling netns or in another
 * one. Every request asks for an ack; kernel errors come back as berr
 * messages naming the object ("creating bridge berth0: File exists"), with
 * the kernel's extended-ack text in parentheses when it gives one. Errors
 * caused by a missing interface have code BERR_NOT_FOUND and errnum ENODEV;
 * names that the kernel would refuse (empty, 16+ bytes, '/', ':', spaces,
 * "." and "..") are BERR_INVALID before anything is sent. A struct nl is one
 * socket: not for concurrent use from two threads. */
#ifndef BERTH_NET_NETLINK_H
#define BERTH_NET_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct nl {
	int fd;        /* -1 when closed */
	uint32_t seq;  /* of the last request */
};

/* A NETLINK_ROUTE socket in the calling thread's current netns. nl->fd is
 * -1 on failure. */
int nl_open(struct nl *nl, struct berr **err);
/* A socket living in the netns netns_fd (an open /proc/PID/ns/net or
 * /run/netns/NAME): the calling thread setns()es there for socket() and
 * back (signals blocked meanwhile); on return it is in its own netns. */
int nl_open_in_netns(struct nl *nl, int netns_fd, struct berr **err);
/* Close the socket; a no-op if already closed (fd -1). */
void nl_close(struct nl *nl);

/* The ifindex of ifname in the socket's netns; BERR_NOT_FOUND if absent. */
int nl_link_index(struct nl *nl, const char *ifname, int *ret, struct berr **err);

/* Create a bridge (mtu <= 0: kernel default). An existing bridge of that
 * name is fine (left as it is, mtu included); any other existing link of
 * that name is a BERR_CONFLICT error. */
int nl_bridge_create(struct nl *nl, const char *name, int mtu, struct berr **err);

/* Create a veth pair host_if <-> peer_if, both down; the peer is created
 * directly in peer_netns_fd (-1: the socket's netns). mtu <= 0: kernel
 * default. Either name existing is an error (EEXIST). */
int nl_veth_create(struct nl *nl, const char *host_if, const char *peer_if, int peer_netns_fd, int mtu,
		   struct berr **err);

/* The same in one request, with more of the setup: the host side
 * enslaved to master (NULL: none) and up, the peer up and with its MAC
 * (NULL: random). Saves the round trips (and their waits) of separate
 * set-master / set-up / set-mac requests on the container start path. */
struct nl_veth_opts {
	int peer_netns_fd; /* -1: the socket's netns */
	int mtu;           /* <= 0: kernel default */
	const char *master;
	bool up, peer_up;
	const uint8_t *peer_mac;
};
int nl_veth_create_opts(struct nl *nl, const char *host_if, const char *peer_if, const struct nl_veth_opts *o,
			struct berr **err);

/* Enslave ifname to the bridge master (NULL: release it from its master). */
int nl_link_set_master(struct nl *nl, const char *ifname, const char *master, struct berr **err);

/* Set or clear IFF_UP. */
int nl_link_set_up(struct nl *nl, const char *ifname, bool up, struct berr **err);

/* Rename ifname. Kernels without live renaming refuse it (EBUSY) while
 * the link is up: rename first. */
int nl_link_rename(struct nl *nl, const char *ifname, const char *newname, struct berr **err);

/* Set the link's Ethernet address. */
int nl_link_set_mac(struct nl *nl, const char *ifname, const uint8_t mac[6], struct berr **err);

/* Delete ifname (a veth takes its peer along); a missing link is fine. */
int nl_link_delete(struct nl *nl, const char *ifname, struct berr **err);

/* Add addr/prefixlen (addr: struct in_addr for AF_INET, struct in6_addr for
 * AF_INET6) to ifname. IPv4 gets the subnet broadcast (prefix <= 30), IPv6
 * is added without duplicate address detection (usable at once). An
 * existing identical address is fine. */
int nl_addr_add(struct nl *nl, const char *ifname, int family, const void *addr, int prefixlen,
		struct berr **err);

/* Add the default route via gateway (struct in_addr / in6_addr per family)
 * in the main table, out of ifname (NULL: let the kernel pick the link).
 * An existing default route is an error (EEXIST). */
int nl_route_add_default(struct nl *nl, int family, const void *gateway, const char *ifname,
			 struct berr **err);

/* Add the route dst/prefixlen out of ifname (scope link, main table), with
 * the preferred source prefsrc (NULL: none; the kernel removes the route
 * with that address) and metric (0: none). The same route existing is fine. */
int nl_route_add(struct nl *nl, int family, const void *dst, int prefixlen, const char *ifname, const void *prefsrc,
		 uint32_t metric, struct berr **err);

/* A container's side of a veth in one round trip after the lookup of
 * ifname: lo up (when lo_up), addr/prefixlen on ifname (as nl_addr_add),
 * ifname up, and the default route via gateway out of it (NULL: none).
 * The requests go in one send and the kernel runs them in order; the
 * first failure is reported, naming its step. */
int nl_iface_setup(struct nl *nl, const char *ifname, bool lo_up, int family, const void *addr, int prefixlen,
		   const void *gateway, struct berr **err);

/* The names of all links in the socket's netns, as a malloc'd,
 * NULL-terminated array of *n malloc'd strings (the caller frees each and
 * the array). At most 65536 links. */
int nl_link_list(struct nl *nl, char ***ret_names, size_t *n, struct berr **err);

/* ---- routes of another host's subnet (host-gw, src/net/hostgw.h) ---- */
/* Add or replace dst/prefixlen via gateway (on-link: the kernel picks the
 * link) in the main table, with protocol proto and metric (which, with
 * proto, tell one owner's routes from another's). */
int nl_route_replace_via(struct nl *nl, int family, const void *dst, int prefixlen, const void *gateway, uint8_t proto,
			 uint32_t metric, struct berr **err);
/* Delete that route (a missing one is fine). */
int nl_route_del(struct nl *nl, int family, const void *dst, int prefixlen, uint8_t proto, uint32_t metric,
		 struct berr **err);
struct nl_route {
	int family;
	unsigned char dst[16], gateway[16]; /* gateway all zero: none */
	int prefixlen;
	bool has_gateway;
};
/* The main table's routes of protocol proto and metric (*ret malloc'd). */
int nl_route_list(struct nl *nl, int family, uint8_t proto, uint32_t metric, struct nl_route **ret, size_t *n,
		  struct berr **err);
/* How addr is reached: *ret_local when it is this host's, else
 * *ret_has_gw and ret_gw (family-sized) when through a gateway. */
int nl_route_get(struct nl *nl, int family, const void *addr, bool *ret_local, bool *ret_has_gw, void *ret_gw,
		 struct berr **err);

#endif
