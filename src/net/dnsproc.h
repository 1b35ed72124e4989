/* The per-network DNS server process: a double-forked, setsid'd child of
 * whoever attaches the network's first container, serving dnsd (dnsd.h) on
 * the gateway address, port 53, with the network's records file and the
 * host's /etc/resolv.conf as upstreams. Its pid file dir/dns.pid holds
 * "PID STARTTIME"; it is alive when both still match (pid reuse safe).
 *
 * It leaves on its own once the records file has named no address for
 * DNSPROC_LINGER_MS (checked under dir/lock, which callers hold around
 * record changes and dnsproc_ensure), so a network's containers coming and
 * going in quick succession (run --rm, compose up/down) share one server
 * instead of starting one each. It also leaves once its listen address has
 * been gone from the host for DNSPROC_LINGER_MS (the bridge was removed
 * by someone who did not know this run dir). */
#define DNSPROC_LINGER_MS 5000
#ifndef BERTH_NET_DNSPROC_H
#define BERTH_NET_DNSPROC_H

#include <stdbool.h>

#include "util/err.h"

/* Start it unless alive already; returns once it listens (or failed). */
int dnsproc_ensure(const char *dir, const char *listen_addr, const char *records_path, struct berr **err);
bool dnsproc_alive(const char *dir);
/* Kill it (if alive) and remove the pid file. */
void dnsproc_stop(const char *dir);

#endif
