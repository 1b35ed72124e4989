#include "net/dns.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_HOPS 64 /* compression pointers followed for one name */

static inline uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

int dns_get_header(const uint8_t *msg, size_t len, struct dns_header *h)
{
	if (len < DNS_HEADER_LEN)
		return -1;
	h->id = dns_rd16(msg);
	h->flags = dns_rd16(msg + 2);
	h->qdcount = dns_rd16(msg + 4);
	h->ancount = dns_rd16(msg + 6);
	h->nscount = dns_rd16(msg + 8);
	h->arcount = dns_rd16(msg + 10);
	return 0;
}

void dns_set_header(uint8_t *msg, const struct dns_header *h)
{
	dns_wr16(msg, h->id);
	dns_wr16(msg + 2, h->flags);
	dns_wr16(msg + 4, h->qdcount);
	dns_wr16(msg + 6, h->ancount);
	dns_wr16(msg + 8, h->nscount);
	dns_wr16(msg + 10, h->arcount);
}

/* Appends one label in text form at out[*o]; false when it does not fit
 * (one byte is always kept for the NUL). */
static bool label_text(char *out, size_t outsz, size_t *o, const uint8_t *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = l[i];
		if (c == '.' || c == '\\') {
			if (*o + 2 >= outsz)
				return false;
			out[(*o)++] = '\\';
			out[(*o)++] = (char)c;
		} else if (c < 0x21 || c > 0x7e) {
			if (*o + 4 >= outsz)
				return false;
			snprintf(out + *o, 5, "\\%03u", c);
			*o += 4;
		} else {
			if (*o + 1 >= outsz)
				return false;
			out[(*o)++] = (char)c;
		}
	}
	return true;
}

int dns_read_name(const uint8_t *msg, size_t len, size_t off, char *out, size_t outsz, size_t *end)
{
	size_t pos = off, o = 0, wire = 1; /* the root label */
	int hops = 0;
	bool jumped = false;

	if (out && outsz < 2)
		return -1;
	for (;;) {
		if (pos >= len)
			return -1;
		uint8_t c = msg[pos];
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return -1;
			size_t ptr = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			/* strictly backwards: pointer chains cannot loop; the hop
			 * and length limits bound label-pointer-label cycles */
			if (ptr >= pos || ++hops > MAX_HOPS)
				return -1;
			if (!jumped && end)
				*end = pos + 2;
			jumped = true;
			pos = ptr;
			continue;
		}
		if (c & 0xc0) /* 0x40 extended and 0x80 reserved label types */
			return -1;
		if (c == 0) {
			if (!jumped && end)
				*end = pos + 1;
			break;
		}
		if (c > len - pos - 1)
			return -1;
		wire += 1 + (size_t)c;
		if (wire > DNS_NAME_WIRE_MAX)
			return -1;
		if (out) {
			if (o) {
				if (o + 1 >= outsz)
					return -1;
				out[o++] = '.';
			}
			if (!label_text(out, outsz, &o, msg + pos + 1, c))
				return -1;
		}
		pos += 1 + (size_t)c;
	}
	if (out) {
		if (o == 0)
			out[o++] = '.';
		out[o] = 0;
	}
	return (int)wire;
}

int dns_name_to_wire(const char *s, uint8_t *out, size_t cap)
{
	size_t o = 0;
	if (!s)
		return -1;
	if (s[0] == 0 || (s[0] == '.' && s[1] == 0)) {
		if (cap < 1)
			return -1;
		out[0] = 0;
		return 1;
	}
	while (*s) {
		size_t lp = o++;
		size_t n = 0;
		while (*s && *s != '.') {
			unsigned c;
			if (*s == '\\') {
				s++;
				if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9') {
					c = (unsigned)(s[0] - '0') * 100 + (unsigned)(s[1] - '0') * 10 + (unsigned)(s[2] - '0');
					if (c > 255)
						return -1;
					s += 3;
				} else if (*s) {
					c = (unsigned char)*s++;
				} else {
					return -1;
				}
			} else {
				c = (unsigned char)*s++;
			}
			if (++n > DNS_LABEL_MAX || o >= cap || o + 1 >= DNS_NAME_WIRE_MAX)
				return -1;
			out[o++] = (uint8_t)c;
		}
		if (n == 0 || lp >= cap)
			return -1;
		out[lp] = (uint8_t)n;
		if (*s == '.')
			s++;
	}
	if (o >= cap || o + 1 > DNS_NAME_WIRE_MAX)
		return -1;
	out[o++] = 0;
	return (int)o;
}

bool dns_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 1 && a[la - 1] == '.' && a[la - 2] != '\\')
		la--;
	if (lb > 1 && b[lb - 1] == '.' && b[lb - 2] != '\\')
		lb--;
	if (la != lb)
		return false;
	for (size_t i = 0; i < la; i++)
		if (lower((uint8_t)a[i]) != lower((uint8_t)b[i]))
			return false;
	return true;
}

/* Case-insensitive "does name end with .suffix", returning the prefix length. */
static bool strip_suffix(const char *name, size_t len, const char *suffix, size_t *plen)
{
	size_t sl = strlen(suffix);
	if (len <= sl + 1 || name[len - sl - 1] != '.')
		return false;
	for (size_t i = 0; i < sl; i++)
		if (lower((uint8_t)name[len - sl + i]) != (uint8_t)suffix[i])
			return false;
	*plen = len - sl - 1;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)lower((uint8_t)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int dns_ptr_to_addr(const char *name, uint8_t addr[16])
{
	size_t len = strlen(name), plen;
	if (len && name[len - 1] == '.')
		len--;
	if (strip_suffix(name, len, "in-addr.arpa", &plen)) {
		/* d.c.b.a: four decimal labels, no leading zeros */
		const char *p = name, *e = name + plen;
		for (int i = 3; i >= 0; i--) {
			unsigned v = 0;
			int digits = 0;
			while (p < e && *p >= '0' && *p <= '9') {
				v = v * 10 + (unsigned)(*p - '0');
				if (++digits > 3)
					return -1;
				p++;
			}
			if (!digits || v > 255 || (digits > 1 && p[-digits] == '0'))
				return -1;
			addr[i] = (uint8_t)v;
			if (i > 0) {
				if (p >= e || *p != '.')
					return -1;
				p++;
			}
		}
		return p == e ? AF_INET : -1;
	}
	if (strip_suffix(name, len, "ip6.arpa", &plen)) {
		if (plen != 63)
			return -1;
		memset(addr, 0, 16);
		for (int i = 0; i < 32; i++) {
			int v = hexval(name[2 * i]);
			if (v < 0 || (i < 31 && name[2 * i + 1] != '.'))
				return -1;
			int nib = 31 - i; /* the first label is the lowest nibble */
			addr[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
		}
		return AF_INET6;
	}
	return -1;
}

int dns_addr_to_ptr(int family, const uint8_t *a, char *out, size_t outsz)
{
	if (family == AF_INET) {
		int n = snprintf(out, outsz, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return n < 0 || (size_t)n >= outsz ? -1 : 0;
	}
	if (family != AF_INET6 || outsz < 64 + 9)
		return -1;
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 15; i >= 0; i--) {
		out[o++] = hex[a[i] & 0xf];
		out[o++] = '.';
		out[o++] = hex[a[i] >> 4];
		out[o++] = '.';
	}
	memcpy(out + o, "ip6.arpa", 9);
	return 0;
}

/* ---- reading ---- */

int dns_reader_init(struct dns_reader *r, const uint8_t *msg, size_t len)
{
	r->msg = msg;
	r->len = len;
	r->off = DNS_HEADER_LEN;
	return dns_get_header(msg, len, &r->h);
}

int dns_read_question(struct dns_reader *r, struct dns_question *q)
{
	size_t end;
	if (dns_read_name(r->msg, r->len, r->off, q->name, sizeof(q->name), &end) < 0)
		return -1;
	if (end > r->len || r->len - end < 4)
		return -1;
	q->type = dns_rd16(r->msg + end);
	q->class = dns_rd16(r->msg + end + 2);
	r->off = end + 4;
	return 0;
}

/* Validates one record at r->off and advances; name may be NULL. */
static int skip_rr(struct dns_reader *r, char *name, size_t namesz, struct dns_rr *rr)
{
	size_t end;
	if (dns_read_name(r->msg, r->len, r->off, name, namesz, &end) < 0)
		return -1;
	if (end > r->len || r->len - end < 10)
		return -1;
	const uint8_t *p = r->msg + end;
	uint16_t rdlen = dns_rd16(p + 8);
	if (r->len - end - 10 < rdlen)
		return -1;
	rr->type = dns_rd16(p);
	rr->class = dns_rd16(p + 2);
	rr->ttl = dns_rd32(p + 4);
	rr->rdlen = rdlen;
	rr->rdata = end + 10;
	r->off = end + 10 + rdlen;
	return 0;
}

int dns_read_rr(struct dns_reader *r, struct dns_rr *rr)
{
	return skip_rr(r, rr->name, sizeof(rr->name), rr);
}

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q)
{
	struct dns_reader r;
	if (dns_reader_init(&r, msg, len) < 0 || (r.h.flags & DNS_F_QR))
		return -1;
	q->h = r.h;
	q->edns = false;
	q->edns_version = 0;
	q->edns_udp = DNS_UDP_MAX;
	q->edns_do = false;
	if (DNS_OPCODE(r.h.flags) != 0)
		return DNS_R_NOTIMP;
	if (r.h.qdcount != 1)
		return DNS_R_FORMERR;

	size_t end;
	if (dns_read_name(msg, len, r.off, q->name, sizeof(q->name), &end) < 0 || len - end < 4)
		return DNS_R_FORMERR;
	q->qtype = dns_rd16(msg + end);
	q->qclass = dns_rd16(msg + end + 2);
	q->qend = r.off = end + 4;

	/* each record takes at least 11 bytes, so the loops end with the message */
	unsigned n = (unsigned)r.h.ancount + r.h.nscount, total = n + r.h.arcount;
	for (unsigned i = 0; i < total; i++) {
		struct dns_rr rr;
		size_t start = r.off;
		if (skip_rr(&r, NULL, 0, &rr) < 0)
			return DNS_R_FORMERR;
		if (rr.type != DNS_T_OPT)
			continue;
		/* one OPT, in the additional section, owned by the root */
		if (i < n || q->edns || msg[start] != 0)
			return DNS_R_FORMERR;
		q->edns = true;
		q->edns_udp = rr.class < DNS_UDP_MAX ? DNS_UDP_MAX : rr.class;
		q->edns_version = (uint8_t)(rr.ttl >> 16);
		q->edns_do = (rr.ttl & DNS_EDNS_DO) != 0;
	}
	return 0;
}

/* ---- building ---- */

void dns_builder_init(struct dns_builder *b, uint8_t *buf, size_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->overflow = false;
	b->ncomp = 0;
}

static bool room(struct dns_builder *b, size_t n)
{
	if (b->len > b->cap || b->cap - b->len < n) {
		b->overflow = true;
		return false;
	}
	return true;
}

static void count(struct dns_builder *b, enum dns_section s)
{
	uint8_t *p = b->buf + 4 + 2 * (int)s;
	dns_wr16(p, (uint16_t)(dns_rd16(p) + 1));
}

int dns_put_header(struct dns_builder *b, const struct dns_header *h)
{
	if (b->len != 0 || !room(b, DNS_HEADER_LEN))
		return -1;
	dns_set_header(b->buf, h);
	b->len = DNS_HEADER_LEN;
	return 0;
}

void dns_builder_flags(struct dns_builder *b, uint16_t set, uint16_t clear)
{
	if (b->len < DNS_HEADER_LEN)
		return;
	uint16_t f = dns_rd16(b->buf + 2);
	dns_wr16(b->buf + 2, (uint16_t)((f & ~clear) | set));
}

int dns_put_raw(struct dns_builder *b, const void *data, size_t n)
{
	if (!room(b, n))
		return -1;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return 0;
}

void dns_builder_note_name(struct dns_builder *b, size_t off)
{
	if (b->ncomp < DNS_COMP_MAX && off < 0x4000 && off < b->len)
		b->comp[b->ncomp++] = (uint16_t)off;
}

/* Does the (possibly compressed) name at buf[off] equal the uncompressed
 * wire name w (case-insensitively)? */
static bool name_at_eq(const uint8_t *buf, size_t len, size_t off, const uint8_t *w)
{
	int hops = 0;
	for (;;) {
		if (off >= len)
			return false;
		uint8_t c = buf[off];
		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= len || ++hops > MAX_HOPS)
				return false;
			off = (size_t)(c & 0x3f) << 8 | buf[off + 1];
			continue;
		}
		if (c != *w)
			return false;
		if (c == 0)
			return true;
		if (c > len - off - 1)
			return false;
		for (size_t i = 1; i <= c; i++)
			if (lower(buf[off + i]) != lower(w[i]))
				return false;
		off += 1 + (size_t)c;
		w += 1 + (size_t)c;
	}
}

static int put_wire_name(struct dns_builder *b, const uint8_t *w, size_t wl)
{
	size_t start = b->len, i, cut = wl - 1; /* default: no pointer, cut at the root */
	int ptr = -1;
	for (i = 0; w[i] && ptr < 0; i += (size_t)w[i] + 1) {
		for (unsigned k = 0; k < b->ncomp; k++) {
			if (name_at_eq(b->buf, b->len, b->comp[k], w + i)) {
				ptr = b->comp[k];
				cut = i;
				break;
			}
		}
	}
	size_t need = ptr >= 0 ? cut + 2 : wl;
	if (!room(b, need))
		return -1;
	memcpy(b->buf + b->len, w, cut);
	b->len += cut;
	if (ptr >= 0) {
		dns_wr16(b->buf + b->len, (uint16_t)(0xc000 | ptr));
		b->len += 2;
	} else {
		b->buf[b->len++] = 0;
	}
	for (i = 0; i < cut; i += (size_t)w[i] + 1)
		dns_builder_note_name(b, start + i);
	return 0;
}

int dns_put_name(struct dns_builder *b, const char *name)
{
	uint8_t w[DNS_NAME_WIRE_MAX];
	int wl = dns_name_to_wire(name, w, sizeof(w));
	if (wl < 0)
		return -1;
	return put_wire_name(b, w, (size_t)wl);
}

int dns_put_question(struct dns_builder *b, const char *name, uint16_t type, uint16_t class)
{
	size_t save = b->len;
	unsigned ncomp = b->ncomp;
	if (b->len < DNS_HEADER_LEN || dns_put_name(b, name) < 0 || !room(b, 4)) {
		b->len = save;
		b->ncomp = ncomp;
		return -1;
	}
	dns_wr16(b->buf + b->len, type);
	dns_wr16(b->buf + b->len + 2, class);
	b->len += 4;
	count(b, DNS_S_QD);
	return 0;
}

static void put_fixed(struct dns_builder *b, uint16_t type, uint16_t class, uint32_t ttl, uint16_t rdlen)
{
	uint8_t *p = b->buf + b->len;
	dns_wr16(p, type);
	dns_wr16(p + 2, class);
	dns_wr32(p + 4, ttl);
	dns_wr16(p + 8, rdlen);
	b->len += 10;
}

int dns_put_rr(struct dns_builder *b, enum dns_section s, const char *name, uint16_t type, uint16_t class,
	       uint32_t ttl, const void *rdata, uint16_t rdlen)
{
	size_t save = b->len;
	unsigned ncomp = b->ncomp;
	if (b->len < DNS_HEADER_LEN || dns_put_name(b, name) < 0 || !room(b, 10 + (size_t)rdlen)) {
		b->len = save;
		b->ncomp = ncomp;
		return -1;
	}
	put_fixed(b, type, class, ttl, rdlen);
	if (rdlen)
		memcpy(b->buf + b->len, rdata, rdlen);
	b->len += rdlen;
	count(b, s);
	return 0;
}

int dns_put_rr_at(struct dns_builder *b, enum dns_section s, uint16_t name_off, uint16_t type, uint16_t class,
		  uint32_t ttl, const void *rdata, uint16_t rdlen)
{
	if (b->len < DNS_HEADER_LEN || name_off >= 0x4000 || name_off >= b->len || !room(b, 12 + (size_t)rdlen))
		return -1;
	dns_wr16(b->buf + b->len, (uint16_t)(0xc000 | name_off));
	b->len += 2;
	put_fixed(b, type, class, ttl, rdlen);
	if (rdlen)
		memcpy(b->buf + b->len, rdata, rdlen);
	b->len += rdlen;
	count(b, s);
	return 0;
}

int dns_put_rr_name(struct dns_builder *b, enum dns_section s, const char *name, uint16_t type, uint16_t class,
		    uint32_t ttl, const char *target)
{
	size_t save = b->len;
	unsigned ncomp = b->ncomp;
	if (b->len < DNS_HEADER_LEN || dns_put_name(b, name) < 0 || !room(b, 10))
		goto fail;
	size_t fixed = b->len;
	put_fixed(b, type, class, ttl, 0);
	if (dns_put_name(b, target) < 0)
		goto fail;
	dns_wr16(b->buf + fixed + 8, (uint16_t)(b->len - fixed - 10));
	count(b, s);
	return 0;
fail:
	b->len = save;
	b->ncomp = ncomp;
	return -1;
}

int dns_put_opt(struct dns_builder *b, uint16_t udp_size, int rcode, uint8_t version, uint16_t flags)
{
	if (b->len < DNS_HEADER_LEN || !room(b, 11))
		return -1;
	b->buf[b->len++] = 0;
	uint32_t ttl = (uint32_t)((rcode >> 4) & 0xff) << 24 | (uint32_t)version << 16 | flags;
	put_fixed(b, DNS_T_OPT, udp_size, ttl, 0);
	count(b, DNS_S_AR);
	return 0;
}
