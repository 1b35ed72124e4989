/* The per-network DNS server process: a double-forked, setsid'd child of
 * whoever attaches the network's first container, serving dnsd (dnsd.h) on
 * the gateway address, port 53, with the network's records file and the
 * host's /etc/resolv.conf as upstreams. Its pid file dir/dns.pid holds
 * "PID STARTTIME"; it is alive when both still match (pid reuse safe). */
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
