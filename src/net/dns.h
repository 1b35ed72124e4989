/* DNS wire protocol (RFC 1035, 3596, 6891) for berth's embedded DNS server:
 * header, names with compression, questions and resource records, parse
 * and build. Pure functions on caller-owned buffers: no allocation, no
 * I/O, no global state, so every parser here is safe to feed arbitrary
 * bytes (all offsets are bounds-checked, compression pointers must point
 * strictly backwards and are hop-limited, names are capped at 255 wire
 * bytes and labels at 63).
 *
 * Names in text ("presentation") form have no trailing dot except the
 * root, which is "."; a label byte that is '.', '\\' or not printable
 * ASCII is written \. \\ or \DDD, and dns_name_to_wire() reads the same
 * escapes back. */
#ifndef BERTH_NET_DNS_H
#define BERTH_NET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_NAME_WIRE_MAX 255  /* including the root label */
#define DNS_LABEL_MAX 63
#define DNS_NAME_TEXT_MAX 1024 /* text form of any wire name fits in this + NUL */
#define DNS_UDP_MAX 512        /* UDP payload without EDNS */
#define DNS_MSG_MAX 65535
#define DNS_COMP_MAX 32        /* names a builder remembers for compression */

enum {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
	DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33, DNS_T_OPT = 41,
	DNS_T_ANY = 255,
};
enum { DNS_C_IN = 1, DNS_C_ANY = 255 };
enum {
	DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2, DNS_R_NXDOMAIN = 3,
	DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5,
	DNS_R_BADVERS = 16, /* extended RCODE, only expressible with an OPT record */
};
/* Header flag bits (the 16-bit word after the ID). */
#define DNS_F_QR 0x8000
#define DNS_F_OPCODE_MASK 0x7800
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010
#define DNS_F_RCODE_MASK 0x000f
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags) ((flags) & DNS_F_RCODE_MASK)
#define DNS_EDNS_DO 0x8000 /* DNSSEC OK, in the OPT record's flags */

struct dns_header {
	uint16_t id, flags, qdcount, ancount, nscount, arcount;
};

static inline uint16_t dns_rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t dns_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void dns_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void dns_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* -1 when len < 12. */
int dns_get_header(const uint8_t *msg, size_t len, struct dns_header *h);
/* Writes the 12 header bytes at msg. */
void dns_set_header(uint8_t *msg, const struct dns_header *h);

/* Decode the (possibly compressed) name at msg[off] into text form
 * (out may be NULL to only validate/skip). *end, if not NULL, is set to
 * the offset just past the name's bytes at off (past the first pointer,
 * when there is one). Returns the name's uncompressed wire length, or -1
 * when it is malformed, runs out of the message, loops, exceeds 255
 * bytes, or does not fit in outsz. */
int dns_read_name(const uint8_t *msg, size_t len, size_t off, char *out, size_t outsz, size_t *end);
/* Text -> uncompressed wire form. Accepts an optional trailing dot and
 * "" or "." for the root; rejects empty labels, labels over 63 bytes and
 * names over 255. Returns the wire length or -1. */
int dns_name_to_wire(const char *text, uint8_t *out, size_t cap);
/* Case-insensitive (ASCII) equality of two text names, ignoring one
 * trailing dot on either. */
bool dns_name_eq(const char *a, const char *b);

/* Reverse-lookup names: "4.3.2.1.in-addr.arpa" -> AF_INET 1.2.3.4 and the
 * 32-nibble ip6.arpa form -> AF_INET6 (case-insensitive, optional trailing
 * dot). Returns the family (AF_INET/AF_INET6) with addr filled, or -1 when
 * the name is not the reverse name of one whole address. */
int dns_ptr_to_addr(const char *name, uint8_t addr[16]);
/* The reverse name of an address (no trailing dot); -1 if outsz is too small. */
int dns_addr_to_ptr(int family, const uint8_t *addr, char *out, size_t outsz);

/* ---- reading whole messages ---- */

struct dns_question {
	char name[DNS_NAME_TEXT_MAX + 1];
	uint16_t type, class;
};

struct dns_rr {
	char name[DNS_NAME_TEXT_MAX + 1];
	uint16_t type, class;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata; /* offset of the RDATA in the message (names in it may be compressed) */
};

struct dns_reader {
	const uint8_t *msg;
	size_t len, off;
	struct dns_header h;
};

/* Reads the header; -1 if the message is shorter than one. The caller
 * then reads h.qdcount questions and h.ancount + h.nscount + h.arcount
 * records in order. */
int dns_reader_init(struct dns_reader *r, const uint8_t *msg, size_t len);
int dns_read_question(struct dns_reader *r, struct dns_question *q);
int dns_read_rr(struct dns_reader *r, struct dns_rr *rr);

/* A query as a server sees it: exactly one question, EDNS from the OPT
 * record if any. */
struct dns_query {
	struct dns_header h;
	char name[DNS_NAME_TEXT_MAX + 1]; /* case preserved */
	uint16_t qtype, qclass;
	size_t qend;          /* offset just past the question */
	bool edns;            /* an OPT record was present */
	uint8_t edns_version;
	uint16_t edns_udp;    /* requester's UDP payload size, at least 512 */
	bool edns_do;
};

/* 0: a well-formed query. -1: not worth an answer (shorter than a header,
 * or a response). Otherwise the RCODE to answer with (FORMERR for a bad
 * question count or unparsable sections, NOTIMP for an opcode other than
 * QUERY); q->h is valid in that case, the rest is not. */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q);

/* ---- building messages ---- */

enum dns_section { DNS_S_QD = 0, DNS_S_AN = 1, DNS_S_NS = 2, DNS_S_AR = 3 };

/* Builds into a caller-owned buffer. Every dns_put_* either appends
 * completely (and bumps the section's count in the header) or leaves the
 * message unchanged and returns -1; `overflow` tells that it was for lack
 * of room (the caller may set TC), as opposed to an invalid name. */
struct dns_builder {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
	unsigned ncomp;
	uint16_t comp[DNS_COMP_MAX]; /* offsets of names (and their suffixes) already written */
};

void dns_builder_init(struct dns_builder *b, uint8_t *buf, size_t cap);
/* Must come first; the counts in h are written as given. */
int dns_put_header(struct dns_builder *b, const struct dns_header *h);
/* Raw bytes, e.g. a question copied from the query; counts untouched. */
int dns_put_raw(struct dns_builder *b, const void *data, size_t n);
/* Tell the builder that an (uncompressed) name starts at off, so that
 * later names compress against it (e.g. a question copied raw). */
void dns_builder_note_name(struct dns_builder *b, size_t off);
/* A name, compressed against earlier ones. */
int dns_put_name(struct dns_builder *b, const char *name);
int dns_put_question(struct dns_builder *b, const char *name, uint16_t type, uint16_t class);
int dns_put_rr(struct dns_builder *b, enum dns_section s, const char *name, uint16_t type, uint16_t class,
	       uint32_t ttl, const void *rdata, uint16_t rdlen);
/* Same, with the owner name given as a pointer to offset name_off (e.g.
 * 12, the question's name): the fast path for answers. */
int dns_put_rr_at(struct dns_builder *b, enum dns_section s, uint16_t name_off, uint16_t type, uint16_t class,
		  uint32_t ttl, const void *rdata, uint16_t rdlen);
/* A record whose RDATA is one domain name (PTR, CNAME, NS), compressed. */
int dns_put_rr_name(struct dns_builder *b, enum dns_section s, const char *name, uint16_t type, uint16_t class,
		    uint32_t ttl, const char *target);
/* The EDNS OPT pseudo-record (additional section, root owner). rcode is
 * the full (extended) RCODE: its upper 8 bits go here, the caller puts
 * the low 4 bits in the header. */
int dns_put_opt(struct dns_builder *b, uint16_t udp_size, int rcode, uint8_t version, uint16_t flags);
/* Set/clear header flag bits of the message being built. */
void dns_builder_flags(struct dns_builder *b, uint16_t set, uint16_t clear);

#endif
