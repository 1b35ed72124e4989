/* iptables rules of berth's bridge networks, applied in batches (one
 * iptables-save + one iptables-restore --noflush per change, under the
 * host-wide lock /run/berth-iptables.lock). Every rule carries the comment
 * "berth:BRIDGE" (network), "berth:BRIDGE:lo" or "berth:BRIDGE:CIP"
 * (published ports of the container at CIP), which is how removal finds it.
 *
 * nat:    POSTROUTING -> BERTH-POSTROUTING: -s SUBNET ! -o BRIDGE -j MASQUERADE
 *         (not for internal networks)
 * filter: FORWARD (first) -> BERTH-FORWARD, per network:
 *           -i BR -o BR -j ACCEPT              same network
 *           -i BR -o br-+ -j DROP              isolation from other berth networks
 *           -i BR -o berth+ -j DROP            (and from the default ones of every store)
 *           internal:  -i BR -j DROP, -o BR -j DROP
 *           otherwise: -i BR -j ACCEPT, -o BR -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
 * Adding replaces the owner's rules (idempotent) and also sets
 * net.ipv4.ip_forward=1 for non-internal networks; removal ignores missing rules. */
#ifndef BERTH_NET_NAT_H
#define BERTH_NET_NAT_H

#include <stdbool.h>

#include "util/err.h"

/* Published ports (src/net/ports.h), for the container at cip on bridge:
 * nat:    PREROUTING, OUTPUT -m addrtype --dst-type LOCAL -> BERTH-DNAT:
 *           [-d HOSTIP] -p PROTO --dport HOSTPORT -j DNAT --to-destination CIP:PORT
 *         BERTH-POSTROUTING -s 127.0.0.0/8 -o BRIDGE -j MASQUERADE (host loopback clients;
 *         with net.ipv4.conf.BRIDGE.route_localnet=1)
 * filter: BERTH-FORWARD (first) -d CIP -o BRIDGE -p PROTO --dport PORT -j ACCEPT
 * ports: the actual bindings {"80/tcp": [{"HostIp", "HostPort"}]}. Idempotent;
 * a failed add adds nothing (iptables-restore commits a table atomically). */
#include <jansson.h>
int nat_ports_add(const char *bridge, const char *cip, json_t *ports, struct berr **err);
/* BERR_CONFLICT "Bind for IP:PORT failed: port is already allocated" when a
 * berth container (of any store) already publishes one of these host ports
 * (also checked by nat_ports_add, under the lock). */
int nat_ports_check(json_t *ports, struct berr **err);
void nat_ports_remove(const char *bridge, const char *cip, json_t *ports);

int nat_network_add(const char *bridge, const char *subnet, bool internal, struct berr **err);
void nat_network_remove(const char *bridge, const char *subnet, bool internal);

/* Crash recovery: remove every rule of bridge (its network rules, berth:BRIDGE:lo,
 * its Services' berth:BRIDGE:svc and every container's published ports),
 * whatever process added them. */
void nat_bridge_purge(const char *bridge);
/* Remove the published-port rules of bridge's containers whose address is
 * not in keep_cips[] (the live ones); with none kept, berth:BRIDGE:lo too.
 * The Services' rules (berth:BRIDGE:svc) stay: they do not belong to a container.
 * One iptables-save, and a restore only when something goes. */
#include <stddef.h>
int nat_ports_sweep(const char *bridge, const char *const *keep_cips, size_t nkeep, struct berr **err);

/* For modules with rules of their own (src/net/svc.c), in the same scheme:
 * fn gets a fresh iptables-save text under the host-wide lock and writes
 * iptables-restore lines (no "*table" / COMMIT) for the nat and filter
 * tables; they are applied in one iptables-restore --noflush, atomically
 * per table (nothing written: no process; fn failing: nothing applied). */
#include <stdio.h>
typedef int (*nat_batch_fn)(const char *save, FILE *nat, FILE *filter, void *arg, struct berr **err);
int nat_batch(nat_batch_fn fn, void *arg, struct berr **err);
/* Helpers over an iptables-save text; table is "nat" or "filter". */
bool nat_save_section(const char *save, const char *table, const char **ret_start, const char **ret_end);
/* A line starting with prefix (and containing needle, unless NULL). */
bool nat_save_has_line(const char *save, const char *table, const char *prefix, const char *needle);
/* "-D ..." lines into out for every rule whose comment is exactly owner. */
void nat_save_del_owned(const char *save, const char *table, const char *owner, FILE *out);
/* iptables-save (malloc'd), outside the lock: for checks before a change. */
char *nat_save_text(struct berr **err);

#endif
