/* IP address management for bridge networks.
 *
 * Two layers:
 *  - pure address arithmetic (no I/O): parse/print IPv4 and IPv6
 *    addresses and CIDRs, normalize, contains, overlap, gateway, broadcast,
 *    the next free address of a subnet and the first free subnet of an
 *    address pool (Docker's default-address-pools);
 *  - the persistent allocator: one JSON file per network,
 *
 *      <dir>/ipam-<net_id>.json   {"subnet": "10.89.0.0/24", "gateway": "10.89.0.1",
 *                                  "last": "10.89.0.7",
 *                                  "allocated": {"10.89.0.2": "<container id>", ...}}
 *      <dir>/ipam-<net_id>.lock   flock(2) serializing every read-modify-write
 *
 *    replaced atomically (temp file + name swap, fs_replace_at() of
 *    src/util/fs.h; not fsync'd: callers keep it on a run root such as
 *    /run, whose leases die with the host), so readers never see a torn
 *    file and concurrent allocators in different processes never hand out
 *    the same address.
 *
 * Which addresses of a subnet are usable:
 *  - IPv4 with 2+ host bits: not the network (first) nor the broadcast
 *    (last) address; /31 (RFC 3021): both; /32: the single address;
 *  - IPv6 with 2+ host bits: not the subnet-router anycast (first)
 *    address, the last one is usable (there is no broadcast); /127
 *    (RFC 6164): both; /128: the single address.
 * The default gateway is the first usable address; the gateway (default or
 * not) is never given to a container. Automatic allocation is serial and
 * wraps around, starting after the last address handed out, so a released
 * address is not reused immediately (like Docker). */
#ifndef BERTH_NET_IPAM_H
#define BERTH_NET_IPAM_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* Enough for any printed address or CIDR ("ffff:...:ffff/128" is 43 + NUL). */
#define IPAM_STRLEN 64

struct ipam_addr {
	int family;          /* AF_INET or AF_INET6 */
	unsigned char b[16]; /* network byte order; IPv4 uses b[0..3], the rest is 0 */
};

struct ipam_cidr {
	struct ipam_addr addr; /* as written; normalized CIDRs have no host bits */
	int prefix;            /* 0..32 or 0..128 */
};

/* ---- parsing and printing ---------------------------------------------- */

/* "10.89.0.2" or "fd00::2" (strict: no leading zeros in IPv4, no zone, no
 * prefix, no spaces). BERR_INVALID: `invalid IP address "x"`. */
int ipam_addr_parse(const char *s, struct ipam_addr *ret, struct berr **err);
/* "10.89.3.7/16" or "fd00:dead::/64", host bits kept. BERR_INVALID:
 * `invalid CIDR "10.0.0.0/33"`. */
int ipam_cidr_parse(const char *s, struct ipam_cidr *ret, struct berr **err);
/* Parse and clear the host bits: "10.89.3.7/16" -> 10.89.0.0/16. */
int ipam_cidr_parse_network(const char *s, struct ipam_cidr *ret, struct berr **err);
/* Canonical text (IPv6 compressed, RFC 5952); returns buf. */
const char *ipam_addr_str(const struct ipam_addr *a, char buf[IPAM_STRLEN]);
const char *ipam_cidr_str(const struct ipam_cidr *c, char buf[IPAM_STRLEN]);

/* ---- arithmetic (all pure) ----------------------------------------------- */

/* 32 or 128. */
int ipam_family_bits(int family);
bool ipam_addr_equal(const struct ipam_addr *a, const struct ipam_addr *b);
/* Numeric order; IPv4 sorts before IPv6. */
int ipam_addr_cmp(const struct ipam_addr *a, const struct ipam_addr *b);
/* The network of c (host bits cleared). */
struct ipam_cidr ipam_cidr_network(const struct ipam_cidr *c);
/* The last address of c (host bits set). */
struct ipam_addr ipam_cidr_last(const struct ipam_cidr *c);
bool ipam_cidr_contains(const struct ipam_cidr *c, const struct ipam_addr *a);
/* Whether the two ranges share at least one address (same family only). */
bool ipam_cidr_overlap(const struct ipam_cidr *a, const struct ipam_cidr *b);
/* The IPv4 broadcast address; false for IPv6, /31 and /32, which have none. */
bool ipam_cidr_broadcast(const struct ipam_cidr *c, struct ipam_addr *ret);
/* First and last address a host may use (see the rules above). */
void ipam_cidr_usable(const struct ipam_cidr *c, struct ipam_addr *first, struct ipam_addr *last);
/* The default gateway: the first usable address. */
struct ipam_addr ipam_cidr_gateway(const struct ipam_cidr *c);

/* The next address to hand out in subnet: the first usable address after
 * `last` (NULL: from the start), wrapping around, that is neither the
 * gateway (NULL: the default one) nor in taken[] (any order; entries outside
 * the subnet are ignored). BERR_CONFLICT when none is left:
 * `no available IP addresses in network 10.89.0.0/30`. */
int ipam_next_free(const struct ipam_cidr *subnet, const struct ipam_addr *gateway,
		   const struct ipam_addr *taken, size_t ntaken, const struct ipam_addr *last,
		   struct ipam_addr *ret, struct berr **err);

/* ---- automatic subnets ------------------------------------------------- */

/* A pool `base` split into subnets of prefix length `size`
 * (Docker's {"base": "10.89.0.0/16", "size": 24}). */
struct ipam_pool {
	struct ipam_cidr base; /* normalized */
	int size;
};

/* Validate: base is a CIDR (normalized here), base prefix <= size <= 32/128. */
int ipam_pool_parse(const char *base, int size, struct ipam_pool *ret, struct berr **err);

/* berth's address plan (docs/design.md, "Address plan"), clear of Docker's
 * 172.17-31/16 + 192.168/16 and Podman's 10.88/16 + 10.89-10.255: each
 * store's default network gets a /20 of 10.80.0.0/14, user networks a /24
 * of 10.84.0.0/14. */
#define IPAM_POOL_DEFAULT_BASE "10.80.0.0/14"
#define IPAM_POOL_DEFAULT_SIZE 20
#define IPAM_POOL_USER_BASE "10.84.0.0/14"
#define IPAM_POOL_USER_SIZE 24
enum { IPAM_POOL_DEFAULT, IPAM_POOL_USER, IPAM_POOL_COUNT };
/* Fill pools[IPAM_POOL_COUNT], indexed as above (fails only if the plan is wrong). */
int ipam_default_pools(struct ipam_pool pools[IPAM_POOL_COUNT], struct berr **err);

/* The first subnet, in pool order then address order, that overlaps none of
 * used[] (berth's networks and the host's addresses and routes; any host
 * bits are ignored, as are /0 entries such as the default route). Only pools
 * of `family` are considered (0: any). BERR_CONFLICT when every subnet is
 * taken: `no available non-overlapping IPv4 subnet in the address pools`. */
int ipam_pool_pick(const struct ipam_pool *pools, size_t npools, int family,
		   const struct ipam_cidr *used, size_t nused, struct ipam_cidr *ret, struct berr **err);

/* ---- persistent allocation --------------------------------------------- */

/* net_id: [A-Za-z0-9_.-], not starting with '.', at most 128 bytes. */
bool ipam_net_id_valid(const char *net_id);

/* Allocate an address of subnet for owner (a container ID) in
 * dirfd/ipam-<net_id>.json, creating it on first use. The file records the
 * subnet and gateway; a later call with a different subnet or gateway is
 * refused (BERR_CONFLICT). gateway NULL: the recorded one, or the default
 * gateway on first use; a given gateway must be a usable address of subnet. want_ip NULL: the next free address; else
 * exactly that one: BERR_INVALID when it is outside the subnet or reserved
 * (network or broadcast address), BERR_CONFLICT "Address already in use"
 * when it is the gateway or allocated. ret_ip gets the address (no prefix).
 * The file is bounded (IPAM_FILE_MAX) and a corrupt one is an error naming it. */
#define IPAM_FILE_MAX (16u << 20)
int ipam_alloc(int dirfd, const char *net_id, const char *subnet, const char *gateway, const char *owner,
	       const char *want_ip, char ret_ip[IPAM_STRLEN], struct berr **err);

/* Free one address. Returns 1 if it was allocated, 0 if not (or the network
 * has no file): releasing twice is harmless. */
int ipam_release(int dirfd, const char *net_id, const char *ip, struct berr **err);
/* Free every address owner holds (container removal, crash recovery).
 * Returns how many were freed. */
int ipam_release_owner(int dirfd, const char *net_id, const char *owner, struct berr **err);

/* The allocations of a network, in address order, for inspect. A network
 * without a file has none and empty subnet/gateway. */
struct ipam_lease {
	char ip[IPAM_STRLEN];
	char *owner;
};
struct ipam_list {
	char subnet[IPAM_STRLEN];  /* "" when nothing was ever allocated */
	char gateway[IPAM_STRLEN];
	char last[IPAM_STRLEN];    /* "" when none */
	size_t n;
	struct ipam_lease *leases;
};
int ipam_list(int dirfd, const char *net_id, struct ipam_list *ret, struct berr **err);
void ipam_list_free(struct ipam_list *l);

/* Delete the network's state (network removal). Missing is not an error. */
int ipam_remove(int dirfd, const char *net_id, struct berr **err);

#endif
