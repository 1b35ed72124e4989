/* The embedded DNS server's record table: parsing and loading the records
 * file, the name hash table and the reverse (PTR) table. See
 * dnsd-records.h; the file format is in dnsd.h. */
#include "net/dnsd-records.h"
#include "net/dns.h"
#include "util/cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORDS_MAX_SIZE (16 << 20)
#define LINE_MAX_NAMES 64
#define LINE_MAX_ADDRS 256
#define ADDRS_PER_NAME_MAX 1024

static inline uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

static uint32_t fnv(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

/* Lowercase, drop one trailing dot and check it is a plausible host name
 * (printable, no backslash, labels of 1..63, at most 253). Returns the
 * length or -1. */
int dnsd_canon_name(const char *in, char *out, size_t outsz)
{
	size_t n = strlen(in), lab = 0;
	if (n && in[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || n >= outsz)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)in[i];
		if (c == '.') {
			if (lab == 0)
				return -1;
			lab = 0;
		} else if (c <= 0x20 || c >= 0x7f || c == '\\' || ++lab > DNS_LABEL_MAX) {
			return -1;
		}
		out[i] = (char)lower(c);
	}
	if (lab == 0)
		return -1;
	out[n] = 0;
	return (int)n;
}

static struct rname *records_find(struct records *r, const char *key, size_t len, uint32_t h)
{
	if (!r || !r->tab)
		return NULL;
	for (uint32_t i = h & r->tabmask;; i = (i + 1) & r->tabmask) {
		uint32_t v = r->tab[i];
		if (!v)
			return NULL;
		struct rname *n = &r->names[v - 1];
		if (n->hash == h && n->len == len && !memcmp(r->str + n->off, key, len))
			return n;
	}
}

struct rname *dnsd_records_name(struct records *r, const char *key, size_t len)
{
	return records_find(r, key, len, fnv(key, len));
}

void dnsd_records_free(struct records *r)
{
	if (!r)
		return;
	free(r->str);
	free(r->names);
	free(r->tab);
	free(r->v4);
	free(r->v6);
	free(r->rev);
	free(r);
}

static int records_add_name(struct records *r, const char *key, size_t len, uint32_t *idx)
{
	uint32_t h = fnv(key, len);
	struct rname *n = records_find(r, key, len, h);
	if (n) {
		*idx = (uint32_t)(n - r->names);
		return 0;
	}
	size_t tabsize = r->tab ? (size_t)r->tabmask + 1 : 0;
	if ((size_t)(r->nnames + 1) * 2 > tabsize) {
		size_t ns = tabsize ? tabsize * 2 : 64;
		uint32_t *t = calloc(ns, sizeof(*t));
		if (!t)
			return -1;
		for (uint32_t i = 0; i < r->nnames; i++) {
			uint32_t j = r->names[i].hash & (uint32_t)(ns - 1);
			while (t[j])
				j = (j + 1) & (uint32_t)(ns - 1);
			t[j] = i + 1;
		}
		free(r->tab);
		r->tab = t;
		r->tabmask = (uint32_t)(ns - 1);
	}
	if (r->nnames == r->ncap) {
		uint32_t nc = r->ncap ? r->ncap * 2 : 64;
		struct rname *nn = realloc(r->names, nc * sizeof(*nn));
		if (!nn)
			return -1;
		r->names = nn;
		r->ncap = nc;
	}
	if (r->slen + len + 1 > r->scap) {
		size_t nc = r->scap ? r->scap * 2 : 1024;
		while (nc < r->slen + len + 1)
			nc *= 2;
		char *s = realloc(r->str, nc);
		if (!s)
			return -1;
		r->str = s;
		r->scap = nc;
	}
	n = &r->names[r->nnames];
	memset(n, 0, sizeof(*n));
	n->hash = h;
	n->off = (uint32_t)r->slen;
	n->len = (uint32_t)len;
	memcpy(r->str + r->slen, key, len);
	r->str[r->slen + len] = 0;
	r->slen += len + 1;
	uint32_t j = h & r->tabmask;
	while (r->tab[j])
		j = (j + 1) & r->tabmask;
	r->tab[j] = r->nnames + 1;
	*idx = r->nnames++;
	return 0;
}

struct pair {
	uint32_t name;
	uint8_t fam;
	uint8_t addr[16];
};

static int rev_cmp(const void *a, const void *b)
{
	const struct rrev *x = a, *y = b;
	if (x->fam != y->fam)
		return x->fam < y->fam ? -1 : 1;
	int c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Fills the address arrays and the reverse table from the (name, address)
 * pairs in file order. */
static int records_finish(struct records *r, const struct pair *pairs, size_t np)
{
	size_t t4 = 0, t6 = 0;
	for (size_t i = 0; i < np; i++) {
		struct rname *n = &r->names[pairs[i].name];
		if (pairs[i].fam == 4)
			n->n4++;
		else
			n->n6++;
	}
	for (uint32_t i = 0; i < r->nnames; i++) {
		struct rname *n = &r->names[i];
		if (n->n4 > ADDRS_PER_NAME_MAX)
			n->n4 = ADDRS_PER_NAME_MAX;
		if (n->n6 > ADDRS_PER_NAME_MAX)
			n->n6 = ADDRS_PER_NAME_MAX;
		n->a4 = (uint32_t)t4;
		n->a6 = (uint32_t)t6;
		t4 += n->n4;
		t6 += n->n6;
		n->n4 = n->n6 = 0;
	}
	r->v4 = malloc(t4 * 4 + 1);
	r->v6 = malloc(t6 * 16 + 1);
	r->rev = malloc(np * sizeof(*r->rev) + 1);
	if (!r->v4 || !r->v6 || !r->rev)
		return -1;
	for (size_t i = 0; i < np; i++) {
		const struct pair *p = &pairs[i];
		struct rname *n = &r->names[p->name];
		size_t alen = p->fam == 4 ? 4 : 16;
		uint8_t *base = p->fam == 4 ? r->v4 + (size_t)n->a4 * 4 : r->v6 + (size_t)n->a6 * 16;
		uint32_t *cnt = p->fam == 4 ? &n->n4 : &n->n6;
		bool dup = false;
		for (uint32_t k = 0; k < *cnt && !dup; k++)
			dup = !memcmp(base + k * alen, p->addr, alen);
		if (!dup && *cnt < ADDRS_PER_NAME_MAX)
			memcpy(base + (*cnt)++ * alen, p->addr, alen);

		struct rrev *v = &r->rev[i];
		v->fam = p->fam;
		memcpy(v->addr, p->addr, 16);
		v->name = p->name;
		v->seq = (uint32_t)i;
	}
	qsort(r->rev, np, sizeof(*r->rev), rev_cmp);
	size_t o = 0;
	for (size_t i = 0; i < np; i++)
		if (o == 0 || r->rev[o - 1].fam != r->rev[i].fam || memcmp(r->rev[o - 1].addr, r->rev[i].addr, 16))
			r->rev[o++] = r->rev[i];
	r->nrev = (uint32_t)o;
	return 0;
}

bool dnsd_records_in_zone(const struct records *r, const char *key, size_t len)
{
	if (!r)
		return false;
	for (unsigned z = 0; z < r->nzones; z++) {
		size_t zl = strlen(r->zones[z]);
		if (len == zl ? !memcmp(key, r->zones[z], zl)
			      : len > zl && key[len - zl - 1] == '.' && !memcmp(key + len - zl, r->zones[z], zl))
			return true;
	}
	return false;
}

/* The zones and every ancestor of a name inside them become names (with
 * no address): a query for them is NOERROR without answers, not NXDOMAIN,
 * as for any empty non-terminal. */
static int records_add_zone_names(struct records *r)
{
	uint32_t n0 = r->nnames, idx;
	for (unsigned z = 0; z < r->nzones; z++)
		if (records_add_name(r, r->zones[z], strlen(r->zones[z]), &idx) < 0)
			return -1;
	for (uint32_t i = 0; i < n0; i++) {
		char name[256];
		memcpy(name, r->str + r->names[i].off, r->names[i].len);
		size_t len = r->names[i].len;
		name[len] = 0;
		if (!dnsd_records_in_zone(r, name, len))
			continue;
		for (char *dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
			size_t sl = len - (size_t)(dot + 1 - name);
			if (!dnsd_records_in_zone(r, dot + 1, sl))
				break;
			if (records_add_name(r, dot + 1, sl, &idx) < 0)
				return -1;
		}
	}
	return 0;
}

/* Parses the records text (modified in place). NULL only without memory. */
static struct records *records_parse(char *text, size_t len)
{
	struct records *r = calloc(1, sizeof(*r));
	struct pair *pairs = NULL;
	size_t np = 0, pcap = 0;
	char *p = text, *end = text + len;
	if (!r)
		return NULL;
	while (p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		*eol = 0;
		char *hash = strchr(p, '#');
		if (hash)
			*hash = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!strncmp(p, "@zone", 5) && (p[5] == ' ' || p[5] == '\t')) {
			char *save = NULL;
			for (char *t = strtok_r(p + 6, " \t\r\v\f", &save); t; t = strtok_r(NULL, " \t\r\v\f", &save)) {
				char key[256];
				if (r->nzones >= RECORDS_MAX_ZONES || dnsd_canon_name(t, key, sizeof(key)) < 0) {
					r->bad++;
					continue;
				}
				memcpy(r->zones[r->nzones++], key, strlen(key) + 1);
			}
			p = eol + 1;
			continue;
		}

		const char *names[LINE_MAX_NAMES];
		struct { uint8_t fam, a[16]; } addrs[LINE_MAX_ADDRS];
		int nn = 0, na = 0;
		bool bad = false, any = false;
		char *save = NULL;
		for (char *t = strtok_r(p, " \t\r\v\f", &save); t; t = strtok_r(NULL, " \t\r\v\f", &save)) {
			uint8_t a[16] = {0};
			any = true;
			int fam = inet_pton(AF_INET, t, a) == 1 ? 4 : inet_pton(AF_INET6, t, a) == 1 ? 6 : 0;
			if (fam) {
				if (na < LINE_MAX_ADDRS) {
					addrs[na].fam = (uint8_t)fam;
					memcpy(addrs[na].a, a, 16);
					na++;
				} else {
					bad = true;
				}
			} else if (na == 0 && nn < LINE_MAX_NAMES) {
				names[nn++] = t;
			} else {
				bad = true;
			}
		}
		p = eol + 1;
		if (!any)
			continue;
		if (bad || nn == 0 || na == 0) {
			r->bad++;
			continue;
		}
		for (int i = 0; i < nn; i++) {
			char key[256];
			uint32_t idx;
			int kl = dnsd_canon_name(names[i], key, sizeof(key));
			if (kl < 0) {
				r->bad++;
				continue;
			}
			if (records_add_name(r, key, (size_t)kl, &idx) < 0)
				goto oom;
			if (np + (size_t)na > pcap) {
				size_t nc = pcap ? pcap * 2 : 256;
				while (nc < np + (size_t)na)
					nc *= 2;
				struct pair *pp = realloc(pairs, nc * sizeof(*pp));
				if (!pp)
					goto oom;
				pairs = pp;
				pcap = nc;
			}
			for (int k = 0; k < na; k++) {
				pairs[np].name = idx;
				pairs[np].fam = addrs[k].fam;
				memcpy(pairs[np].addr, addrs[k].a, 16);
				np++;
			}
		}
	}
	if (records_add_zone_names(r) < 0 || records_finish(r, pairs, np) < 0)
		goto oom;
	free(pairs);
	return r;
oom:
	free(pairs);
	dnsd_records_free(r);
	return NULL;
}

/* -1 with errno; a missing file is an empty set of records. */
int dnsd_records_load(const char *path, struct records **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	if (path) {
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 && errno != ENOENT)
			return -1;
		if (fd >= 0) {
			if (fstat(fd, &st) < 0)
				return -1;
			if (st.st_size > RECORDS_MAX_SIZE) {
				errno = EFBIG;
				return -1;
			}
			cap = (size_t)st.st_size + 4096;
			if (!(buf = malloc(cap + 1)))
				return -1;
			for (;;) {
				if (len == cap) {
					if (cap >= RECORDS_MAX_SIZE) {
						errno = EFBIG;
						return -1;
					}
					char *nb = realloc(buf, cap * 2 + 1);
					if (!nb)
						return -1;
					buf = nb;
					cap *= 2;
				}
				ssize_t n = read(fd, buf + len, cap - len);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0)
					return -1;
				if (n == 0)
					break;
				len += (size_t)n;
			}
		}
	}
	if (!buf && !(buf = malloc(1)))
		return -1;
	buf[len] = 0;
	struct records *r = records_parse(buf, len);
	if (!r) {
		errno = ENOMEM;
		return -1;
	}
	*ret = r;
	return 0;
}

static int rev_find_cmp(const void *key, const void *elem)
{
	const struct rrev *x = key, *y = elem;
	if (x->fam != y->fam)
		return x->fam < y->fam ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

/* The name owning addr for a PTR answer, or NULL. */
const char *dnsd_records_rev(struct records *r, int af, const uint8_t *addr)
{
	struct rrev key = {.fam = af == AF_INET ? 4 : 6};
	memcpy(key.addr, addr, af == AF_INET ? 4 : 16);
	if (!r || !r->nrev)
		return NULL;
	const struct rrev *v = bsearch(&key, r->rev, r->nrev, sizeof(*r->rev), rev_find_cmp);
	return v ? r->str + r->names[v->name].off : NULL;
}
