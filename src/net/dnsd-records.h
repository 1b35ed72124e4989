/* The embedded DNS server's record table (dnsd-records.c): the records
 * file (format in dnsd.h) parsed into a hash table of names, each with its
 * IPv4 and IPv6 addresses and round-robin cursors, and a sorted reverse
 * table for PTR. Built once per (re)load, then read-only but for the
 * cursors. */
#ifndef BERTH_NET_DNSD_RECORDS_H
#define BERTH_NET_DNSD_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rname {
	uint32_t hash, off, len; /* the name in records.str */
	uint32_t a4, n4, a6, n6; /* its addresses in records.v4 / v6 */
	uint32_t rr4, rr6;       /* round-robin cursors */
};

struct rrev {
	uint8_t fam; /* 4 or 6 */
	uint8_t addr[16];
	uint32_t name, seq;
};

#define RECORDS_MAX_ZONES 8

struct records {
	char *str;
	size_t slen, scap;
	struct rname *names;
	uint32_t nnames, ncap;
	uint32_t *tab;    /* open addressing, name index + 1, 0 = empty; load <= 1/2 */
	uint32_t tabmask;
	uint8_t *v4, *v6; /* 4 / 16 bytes each */
	struct rrev *rev; /* sorted by address */
	uint32_t nrev;
	unsigned bad;
	/* "@zone" lines: names under these are answered here (NXDOMAIN when
	 * unknown), never forwarded; their ancestors inside the zone (the
	 * zone itself, "svc.cluster.local" ...) are names without addresses */
	char zones[RECORDS_MAX_ZONES][256];
	unsigned nzones;
};

/* A name in the table's key form (lowercase, no trailing dot, checked); its length or -1. */
int dnsd_canon_name(const char *in, char *out, size_t outsz);
/* Load the records file at path (NULL or missing: no names). -1 with errno. */
int dnsd_records_load(const char *path, struct records **ret);
void dnsd_records_free(struct records *r);
/* The entry for key (dnsd_canon_name form, len bytes), or NULL; r may be NULL. */
struct rname *dnsd_records_name(struct records *r, const char *key, size_t len);
/* Whether key (dnsd_canon_name form) is a local zone or under one. */
bool dnsd_records_in_zone(const struct records *r, const char *key, size_t len);
/* The name owning addr (af: AF_INET / AF_INET6) for a PTR answer, or NULL. */
const char *dnsd_records_rev(struct records *r, int af, const uint8_t *addr);

#endif
