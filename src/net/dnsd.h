/* berth's embedded DNS server for a user-defined network: answers the
 * names of the network's containers (names, aliases, compose services)
 * with their addresses on it, and forwards everything else to the host's
 * resolvers. One server per network, single-threaded, non-blocking.
 *
 * Records file (one per network, re-read within milliseconds of a change
 * through inotify on its directory; replace it atomically by rename, an
 * in-place rewrite is picked up on close):
 *
 *     # comment
 *     name [name...] addr [addr...]
 *
 * Leading tokens that are not IPv4/IPv6 addresses are names, the rest
 * must be addresses. Names are case-insensitive, a trailing dot is
 * ignored; a name on several lines collects all their addresses (in file
 * order, duplicates dropped). A line "@zone NAME..." makes NAME a local
 * zone (Kubernetes' cluster.local): a name under it that the file does not
 * list gets NXDOMAIN here instead of being forwarded, and its ancestors
 * inside the zone an empty NOERROR. A query for a name with several addresses
 * gets all of them, rotated by one on every query (separately for A and
 * AAAA). PTR queries for a listed address answer the first name of the
 * first line that lists it. A missing file means no names. Bad lines
 * are skipped (counted in dnsd_stats.bad_lines).
 *
 * Upstreams are the nameserver lines of the resolv.conf given (at most 4;
 * re-read on change too). Besides plain addresses, "a.b.c.d:port" and
 * "[v6]:port" are accepted (for tests and unusual setups).
 *
 * Local answers: A, AAAA, ANY (both), PTR; any other type of a known name
 * gets an empty NOERROR. TTL 60 s, AA set. UDP answers respect 512 bytes
 * or the client's EDNS size (capped at 1232) and set TC when cut short.
 * Forwarded queries are relayed byte for byte with a fresh random ID,
 * replies are accepted only from the upstream they were sent to (each
 * upstream has its own connected socket), with the matching ID and
 * question; clients on TCP are forwarded over TCP. No reply within the
 * timeout (2 s; the query is re-sent to the next upstream, or again to
 * the only one, half-way) gives SERVFAIL. */
#ifndef BERTH_NET_DNSD_H
#define BERTH_NET_DNSD_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct dnsd;

struct dnsd_opts {
	/* Ignore loopback nameservers (127.0.0.0/8, ::1: systemd-resolved's
	 * 127.0.0.53, dnsmasq's 127.0.1.1), for a server that does not run
	 * in the host's network namespace. */
	bool skip_loopback;
	int timeout_ms;   /* forwarded query budget; 0: 2000 */
	uint32_t ttl;     /* of local answers; 0: 60 */
};

struct dnsd_stats {
	uint64_t queries;   /* messages received from clients */
	uint64_t local;     /* answered from the records */
	uint64_t forwarded; /* sent upstream */
	uint64_t servfail;  /* SERVFAIL we made up (timeout, no upstream, table full) */
	uint64_t formerr;   /* malformed queries answered FORMERR/NOTIMP */
	uint64_t dropped;   /* malformed or unanswerable messages ignored */
	uint64_t spoofed;   /* upstream replies with no matching query, or the wrong question */
	uint64_t reloads;   /* records file (re)loads */
	uint64_t tcp_accepted;
	unsigned bad_lines; /* in the current records file */
	unsigned names;     /* in the current records file */
	unsigned upstreams;
	unsigned inflight;
	unsigned tcp_conns;
};

/* Listen on listen_addr (an IPv4 or IPv6 literal) port `port` (0: any
 * free port, same for UDP and TCP; see dnsd_port), UDP and TCP.
 * records_path and resolv_conf may be NULL (no local names / no
 * upstreams: SERVFAIL for everything else). */
int dnsd_new(const char *listen_addr, int port, const char *records_path, const char *resolv_conf,
	     struct dnsd **ret, struct berr **err);
int dnsd_new_opts(const char *listen_addr, int port, const char *records_path, const char *resolv_conf,
		  const struct dnsd_opts *opts, struct dnsd **ret, struct berr **err);
int dnsd_port(struct dnsd *d);

/* For an outer poll loop: the descriptors to wait on for reading (there
 * is one, an epoll fd that also carries the server's timers); returns
 * how many were stored. Call dnsd_dispatch(d, 0, ...) when one is ready. */
int dnsd_fds(struct dnsd *d, int *fds, int max);
/* Wait up to timeout_ms (0: don't wait, -1: forever) and handle what is
 * ready. Returns the number of events handled (0 on timeout or EINTR). */
int dnsd_dispatch(struct dnsd *d, int timeout_ms, struct berr **err);
/* Serve until *stop is non-zero (checked at least every 100 ms, and after
 * any signal). */
int dnsd_run(struct dnsd *d, volatile int *stop, struct berr **err);
void dnsd_get_stats(struct dnsd *d, struct dnsd_stats *st);
void dnsd_free(struct dnsd *d);

#endif
