/* Published ports (run -p / -P), as Docker with its userland proxy off:
 * kernel DNAT only (src/net/nat.h), nothing listens on the host port.
 *
 * HostConfig.PortBindings  {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
 *                          (HostPort "" = a random free port at start)
 * HostConfig.PublishAllPorts  every Config.ExposedPorts port, random host port
 * The actual bindings (random ports resolved) live in the endpoint record
 * while the container runs: net_ctr_ports() (src/net/network.h). */
#ifndef BERTH_NET_PORTS_H
#define BERTH_NET_PORTS_H

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"

/* Parse one -p spec ([IP:][HOSTPORT:]CONTAINERPORT[/PROTO], ranges allowed)
 * into bindings; the container ports are added to exposed. BERR_INVALID. */
int ports_parse(const char *spec, json_t *bindings, json_t *exposed, struct berr **err);
/* bind() every fixed host port of bindings (TCP or UDP, on its IP):
 * BERR_CONFLICT "Bind for IP:PORT failed: port is already allocated". */
int ports_check_free(json_t *bindings, struct berr **err);
/* The actual bindings at start: PortBindings plus, with PublishAllPorts,
 * the exposed ports of config; random host ports allocated, HostIp "0.0.0.0"
 * when empty. An empty object when nothing is published. */
json_t *ports_resolve(json_t *hc, json_t *config, struct berr **err);
/* Docker's ps column: "0.0.0.0:8080->80/tcp, 0.0.0.0:5353->53/udp". */
void ports_format_ps(json_t *actual, char *buf, size_t n);

#endif
