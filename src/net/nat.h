/* iptables rules of berth's bridge networks (the iptables command, with -w).
 *
 * nat:    POSTROUTING -> BERTH-POSTROUTING: -s SUBNET ! -o BRIDGE -j MASQUERADE
 *         (not for internal networks)
 * filter: FORWARD (first) -> BERTH-FORWARD, per network:
 *           -i BR -o BR -j ACCEPT              same network
 *           -i BR -o br-+ -j DROP              isolation from other berth networks
 *           -i BR -o berth0 -j DROP            (and from the default one)
 *           internal:  -i BR -j DROP, -o BR -j DROP
 *           otherwise: -i BR -j ACCEPT, -o BR -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
 * Adding is idempotent (-C before -A) and also sets net.ipv4.ip_forward=1
 * for non-internal networks; removal ignores missing rules. */
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
 * a failed add removes what it added. */
#include <jansson.h>
int nat_ports_add(const char *bridge, const char *cip, json_t *ports, struct berr **err);
void nat_ports_remove(const char *bridge, const char *cip, json_t *ports);

int nat_network_add(const char *bridge, const char *subnet, bool internal, struct berr **err);
void nat_network_remove(const char *bridge, const char *subnet, bool internal);

#endif
