#include "net/dnsd.h"
#include "net/dns.h"
#include "util/cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TTL 60
#define DEFAULT_TIMEOUT_MS 2000
#define MAX_UPSTREAMS 4
#define MAX_INFLIGHT 1024      /* forwarded queries waiting for an upstream */
#define MAX_TCP 64             /* client TCP connections */
#define TCP_PENDING_MAX 16     /* forwarded queries per TCP client before we stop reading it */
#define TCP_QMAX 4096          /* largest query accepted over TCP */
#define TCP_IDLE_MS 10000
#define TCP_OUT_MAX (256 * 1024)
#define UDP_BATCH 32
#define UDP_ROUNDS 8           /* batches per wakeup, so that the other sockets get their turn */
#define UDP_RBUF 4096
#define UDP_PAYLOAD 1232       /* our EDNS UDP size (DNS flag day 2020) */
#define FWD_QMAX 1232          /* largest query we forward */
#define RECORDS_MAX_SIZE (16 << 20)
#define LINE_MAX_NAMES 64
#define LINE_MAX_ADDRS 256
#define ADDRS_PER_NAME_MAX 1024
#define HOUSEKEEP_MS 1000
#define STAT_POLL_MS 20        /* records/resolv.conf check when inotify cannot watch them */
#define ERRBUF 600             /* header + question + OPT */

enum { EV_UDP = 1, EV_TCP_LISTEN, EV_INOTIFY, EV_TIMER, EV_UP_UDP, EV_CONN, EV_UP_TCP };
enum { Q_DROP, Q_ANSWER, Q_FORWARD };

static inline uint64_t ev_data(unsigned kind, uint32_t gen, uint32_t idx)
{
	return (uint64_t)kind << 56 | (uint64_t)(gen & 0xffffff) << 32 | idx;
}

/* ---- records ---- */

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
};

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
static int canon_name(const char *in, char *out, size_t outsz)
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

static void records_free(struct records *r)
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
			int kl = canon_name(names[i], key, sizeof(key));
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
	if (records_finish(r, pairs, np) < 0)
		goto oom;
	free(pairs);
	return r;
oom:
	free(pairs);
	records_free(r);
	return NULL;
}

/* -1 with errno; a missing file is an empty set of records. */
static int records_load(const char *path, struct records **ret)
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
static const char *records_rev(struct records *r, int af, const uint8_t *addr)
{
	struct rrev key = {.fam = af == AF_INET ? 4 : 6};
	memcpy(key.addr, addr, af == AF_INET ? 4 : 16);
	if (!r || !r->nrev)
		return NULL;
	const struct rrev *v = bsearch(&key, r->rev, r->nrev, sizeof(*r->rev), rev_find_cmp);
	return v ? r->str + r->names[v->name].off : NULL;
}

/* ---- server state ---- */

struct upstream {
	struct sockaddr_storage sa;
	socklen_t salen;
	int fd; /* connected UDP socket: the kernel drops datagrams from anyone else */
	bool connected; /* no route yet: retried on use */
};

struct fwd {
	int prev, next;       /* timer list ordered by `when`; next also links the free list */
	bool used, linked, tcp_client, tcp_up;
	uint8_t tstate;       /* upstream TCP: 0 connecting, 1 writing, 2 reading */
	uint32_t gen;         /* bumped on release and reconnect: stale epoll events */
	uint16_t id, client_id;
	uint32_t sent;        /* upstreams tried, one bit each */
	int up, tries, max_tries;
	int64_t when, deadline;
	struct sockaddr_storage client;
	socklen_t clientlen;
	int conn;             /* TCP client: conns index and generation */
	uint32_t conn_gen;
	int tfd;              /* upstream TCP connection */
	size_t toff;          /* bytes of prefix+query written, or of prefix+reply read */
	uint8_t *tbuf;
	uint16_t qlen;
	uint8_t q[FWD_QMAX];  /* the query with our ID */
};

struct conn {
	int fd;
	uint32_t gen;
	int pending;          /* forwarded queries not answered yet */
	bool eof, kick;
	uint32_t events;
	int64_t last;
	size_t inlen;
	uint8_t *out;
	size_t outoff, outlen, outcap;
	uint8_t in[2 + TCP_QMAX];
};

struct filesig {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

struct dnsd {
	int ep, udp_fd, tcp_fd, ino_fd, timer_fd;
	int port;
	struct sockaddr_storage listen_sa;
	uint32_t ttl;
	int timeout_ms;
	bool skip_lo;

	char *rec_path, *res_path;
	const char *rec_base, *res_base;
	int rec_wd, res_wd;
	struct filesig rec_sig, res_sig;
	struct records *rec;

	struct upstream ups[MAX_UPSTREAMS];
	int nups;
	uint32_t ups_gen;

	struct fwd *fwd;
	int fwd_free, tl_head, tl_tail;
	unsigned ninflight;
	uint16_t *id_slot; /* our query ID -> fwd index + 1 */

	struct conn *conns;
	unsigned nconns;
	bool kick;

	int64_t next_housekeep, next_poll, armed;

	struct mmsghdr rmsg[UDP_BATCH], smsg[UDP_BATCH];
	struct iovec riov[UDP_BATCH], siov[UDP_BATCH];
	struct sockaddr_storage raddr[UDP_BATCH];
	uint8_t *rbuf; /* UDP_BATCH * UDP_RBUF */
	uint8_t *sbuf; /* UDP_BATCH * UDP_PAYLOAD */
	uint8_t *big;  /* 2 + DNS_MSG_MAX: TCP answers, upstream replies */

	uint8_t rnd[256];
	size_t rnd_pos;
	uint64_t rnd_state;
	struct dnsd_stats st;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t rand16(struct dnsd *d)
{
	if (d->rnd_pos + 2 > sizeof(d->rnd)) {
		if (getrandom(d->rnd, sizeof(d->rnd), GRND_NONBLOCK) != (ssize_t)sizeof(d->rnd)) {
			/* no entropy yet: splitmix64 seeded from the clock */
			for (size_t i = 0; i < sizeof(d->rnd); i += 8) {
				uint64_t z = (d->rnd_state += 0x9e3779b97f4a7c15ull + (uint64_t)mono_ms());
				z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
				z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
				z ^= z >> 31;
				memcpy(d->rnd + i, &z, 8);
			}
		}
		d->rnd_pos = 0;
	}
	uint16_t v;
	memcpy(&v, d->rnd + d->rnd_pos, 2);
	d->rnd_pos += 2;
	return v;
}

/* ---- answers ---- */

/* An error reply to m: header, the question when the query has a valid
 * one, OPT when it had one. 0 when m does not deserve an answer. */
static size_t build_error(const uint8_t *m, size_t len, int rcode, uint8_t *out, size_t cap)
{
	struct dns_query q;
	int rc = dns_parse_query(m, len, &q);
	if (rc < 0)
		return 0;
	struct dns_builder b;
	dns_builder_init(&b, out, cap);
	struct dns_header h = {
		.id = q.h.id,
		.flags = (uint16_t)(DNS_F_QR | DNS_F_RA | (q.h.flags & (DNS_F_OPCODE_MASK | DNS_F_RD | DNS_F_CD)) |
				    (rcode & 0xf)),
	};
	bool question = rc == 0 && q.qend + 11 <= cap;
	h.qdcount = question;
	if (dns_put_header(&b, &h) < 0)
		return 0;
	if (question) {
		dns_put_raw(&b, m + DNS_HEADER_LEN, q.qend - DNS_HEADER_LEN);
		if (q.edns)
			dns_put_opt(&b, UDP_PAYLOAD, rcode, 0, 0);
	}
	return b.len;
}

/* Appends the addresses of one family, rotated; false when cut short. */
static bool put_addrs(struct dnsd *d, struct dns_builder *b, const uint8_t *base, uint32_t n, uint32_t *cursor,
		      uint16_t type, size_t alen)
{
	if (n == 0)
		return true;
	uint32_t start = (*cursor)++ % n;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t idx = start + k < n ? start + k : start + k - n;
		if (dns_put_rr_at(b, DNS_S_AN, DNS_HEADER_LEN, type, DNS_C_IN, d->ttl, base + (size_t)idx * alen,
				  (uint16_t)alen) < 0)
			return false;
	}
	return true;
}

/* Decide what to do with a client's message: answer it into out (set
 * *outlen), drop it, or forward it. The local path does not allocate. */
static int handle_query(struct dnsd *d, const uint8_t *m, size_t len, bool tcp, uint8_t *out, size_t cap,
			size_t *outlen)
{
	struct dns_query q;
	d->st.queries++;
	int rc = dns_parse_query(m, len, &q);
	if (rc < 0) {
		d->st.dropped++;
		return Q_DROP;
	}
	if (rc > 0 || (q.edns && q.edns_version != 0)) {
		d->st.formerr++;
		*outlen = build_error(m, len, rc > 0 ? rc : DNS_R_BADVERS, out, cap);
		return *outlen ? Q_ANSWER : Q_DROP;
	}
	if (q.qclass != DNS_C_IN && q.qclass != DNS_C_ANY)
		return Q_FORWARD;

	char key[256];
	int kl = canon_name(q.name, key, sizeof(key));
	if (kl < 0)
		return Q_FORWARD;
	struct rname *rn = records_find(d->rec, key, (size_t)kl, fnv(key, (size_t)kl));
	const char *ptr = NULL;
	if (!rn) {
		uint8_t addr[16];
		int af;
		if (q.qtype != DNS_T_PTR || (af = dns_ptr_to_addr(key, addr)) < 0 ||
		    !(ptr = records_rev(d->rec, af, addr)))
			return Q_FORWARD;
	}

	size_t limit = cap;
	if (!tcp) {
		limit = q.edns ? q.edns_udp : DNS_UDP_MAX;
		if (limit > cap)
			limit = cap;
	}
	struct dns_builder b;
	dns_builder_init(&b, out, limit - (q.edns ? 11 : 0));
	struct dns_header h = {
		.id = q.h.id,
		.flags = (uint16_t)(DNS_F_QR | DNS_F_AA | DNS_F_RA | (q.h.flags & (DNS_F_RD | DNS_F_CD))),
		.qdcount = 1,
	};
	if (dns_put_header(&b, &h) < 0 || dns_put_raw(&b, m + DNS_HEADER_LEN, q.qend - DNS_HEADER_LEN) < 0) {
		d->st.dropped++;
		return Q_DROP;
	}
	dns_builder_note_name(&b, DNS_HEADER_LEN);
	bool full = true;
	if (rn) {
		if (q.qtype == DNS_T_A || q.qtype == DNS_T_ANY)
			full = put_addrs(d, &b, d->rec->v4 + (size_t)rn->a4 * 4, rn->n4, &rn->rr4, DNS_T_A, 4);
		if (full && (q.qtype == DNS_T_AAAA || q.qtype == DNS_T_ANY))
			full = put_addrs(d, &b, d->rec->v6 + (size_t)rn->a6 * 16, rn->n6, &rn->rr6, DNS_T_AAAA, 16);
	} else {
		char target[256];
		snprintf(target, sizeof(target), "%s.", ptr);
		full = dns_put_rr_name(&b, DNS_S_AN, q.name, DNS_T_PTR, DNS_C_IN, d->ttl, target) == 0;
	}
	if (!full)
		dns_builder_flags(&b, DNS_F_TC, 0);
	if (q.edns) {
		b.cap = limit;
		dns_put_opt(&b, UDP_PAYLOAD, 0, 0, q.edns_do ? DNS_EDNS_DO : 0);
	}
	d->st.local++;
	*outlen = b.len;
	return Q_ANSWER;
}

/* ---- TCP clients ---- */

static void conn_close(struct dnsd *d, int i)
{
	struct conn *c = &d->conns[i];
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	c->gen++;
	free(c->out);
	c->out = NULL;
	c->outoff = c->outlen = c->outcap = 0;
	c->inlen = 0;
	c->pending = 0;
	c->eof = c->kick = false;
	c->events = 0;
	d->nconns--;
}

static void conn_update(struct dnsd *d, int i)
{
	struct conn *c = &d->conns[i];
	if (c->fd < 0)
		return;
	if (c->eof && c->pending == 0 && c->outoff == c->outlen) {
		conn_close(d, i);
		return;
	}
	uint32_t want = 0;
	if (!c->eof && c->pending < TCP_PENDING_MAX && c->inlen < sizeof(c->in))
		want |= EPOLLIN;
	if (c->outoff < c->outlen)
		want |= EPOLLOUT;
	if (want != c->events) {
		struct epoll_event ev = {.events = want, .data.u64 = ev_data(EV_CONN, c->gen, (uint32_t)i)};
		if (epoll_ctl(d->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
			conn_close(d, i);
			return;
		}
		c->events = want;
	}
}

/* Send a then b (a DNS message with its length prefix), queueing what
 * the socket does not take now. */
static void conn_send(struct dnsd *d, int i, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		      int64_t now)
{
	struct conn *c = &d->conns[i];
	size_t total = alen + blen, done = 0;
	if (c->fd < 0)
		return;
	if (c->outoff == c->outlen) {
		struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = blen ? 2 : 1};
		ssize_t w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(d, i);
			return;
		}
		if (w > 0) {
			done = (size_t)w;
			c->last = now;
		}
	}
	if (done == total)
		return;
	size_t rest = total - done;
	if (c->outlen - c->outoff + rest > TCP_OUT_MAX) {
		conn_close(d, i);
		return;
	}
	if (c->outoff) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outlen + rest > c->outcap) {
		size_t nc = c->outcap ? c->outcap : 4096;
		while (nc < c->outlen + rest)
			nc *= 2;
		uint8_t *no = realloc(c->out, nc);
		if (!no) {
			conn_close(d, i);
			return;
		}
		c->out = no;
		c->outcap = nc;
	}
	if (done < alen) {
		memcpy(c->out + c->outlen, a + done, alen - done);
		c->outlen += alen - done;
		done = alen;
	}
	memcpy(c->out + c->outlen, b + (done - alen), blen - (done - alen));
	c->outlen += blen - (done - alen);
	conn_update(d, i);
}

static void conn_flush(struct dnsd *d, int i, int64_t now)
{
	struct conn *c = &d->conns[i];
	if (c->outoff == c->outlen)
		return;
	ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(d, i);
		return;
	}
	c->last = now;
	c->outoff += (size_t)w;
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
}

static int fwd_start(struct dnsd *d, const uint8_t *m, size_t len, const struct sockaddr_storage *client,
		     socklen_t clientlen, int conn, int64_t now);

static void conn_query(struct dnsd *d, int i, const uint8_t *m, size_t len, int64_t now)
{
	uint8_t *out = d->big + 2;
	size_t outlen = 0;
	int act = handle_query(d, m, len, true, out, DNS_MSG_MAX, &outlen);
	if (act == Q_FORWARD) {
		if (fwd_start(d, m, len, NULL, 0, i, now) == 0)
			return;
		d->st.servfail++;
		outlen = build_error(m, len, DNS_R_SERVFAIL, out, DNS_MSG_MAX);
		act = outlen ? Q_ANSWER : Q_DROP;
	}
	if (act == Q_ANSWER) {
		dns_wr16(d->big, (uint16_t)outlen);
		conn_send(d, i, d->big, outlen + 2, NULL, 0, now);
	}
}

/* Handle the complete queries buffered on connection i. */
static void conn_process(struct dnsd *d, int i, int64_t now)
{
	struct conn *c = &d->conns[i];
	c->kick = false;
	while (c->fd >= 0 && c->inlen >= 2 && c->pending < TCP_PENDING_MAX) {
		size_t ml = dns_rd16(c->in);
		if (ml > TCP_QMAX || ml < DNS_HEADER_LEN) {
			d->st.dropped++;
			conn_close(d, i);
			return;
		}
		if (c->inlen < 2 + ml)
			break;
		conn_query(d, i, c->in + 2, ml, now);
		if (c->fd < 0)
			return;
		memmove(c->in, c->in + 2 + ml, c->inlen - 2 - ml);
		c->inlen -= 2 + ml;
	}
	conn_update(d, i);
}

static void conn_event(struct dnsd *d, int i, uint32_t events, int64_t now)
{
	struct conn *c = &d->conns[i];
	if (events & (EPOLLERR | EPOLLHUP)) {
		conn_close(d, i);
		return;
	}
	if (events & EPOLLOUT) {
		conn_flush(d, i, now);
		if (c->fd < 0)
			return;
	}
	if ((events & EPOLLIN) && !c->eof && c->inlen < sizeof(c->in)) {
		ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
		if (n == 0) {
			c->eof = true;
		} else if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				conn_close(d, i);
				return;
			}
		} else {
			c->inlen += (size_t)n;
			c->last = now;
		}
	}
	conn_process(d, i, now);
}

static void tcp_accept(struct dnsd *d, int64_t now)
{
	for (int k = 0; k < 16; k++) {
		int fd = accept4(d->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int slot = -1, idle = -1;
		for (int i = 0; i < MAX_TCP; i++) {
			struct conn *c = &d->conns[i];
			if (c->fd < 0) {
				slot = i;
				break;
			}
			if (c->pending == 0 && c->outoff == c->outlen && (idle < 0 || c->last < d->conns[idle].last))
				idle = i;
		}
		if (slot < 0 && idle >= 0) { /* full: the longest idle one makes room (RFC 7766 6.2.3) */
			conn_close(d, idle);
			slot = idle;
		}
		if (slot < 0) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = &d->conns[slot];
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_data(EV_CONN, c->gen, (uint32_t)slot)};
		if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->events = EPOLLIN;
		c->last = now;
		c->inlen = 0;
		c->pending = 0;
		c->eof = c->kick = false;
		d->nconns++;
		d->st.tcp_accepted++;
	}
}

/* ---- forwarding ---- */

static void tl_unlink(struct dnsd *d, int i)
{
	struct fwd *f = &d->fwd[i];
	if (!f->linked)
		return;
	if (f->prev >= 0)
		d->fwd[f->prev].next = f->next;
	else
		d->tl_head = f->next;
	if (f->next >= 0)
		d->fwd[f->next].prev = f->prev;
	else
		d->tl_tail = f->prev;
	f->prev = f->next = -1;
	f->linked = false;
}

/* Insert by `when`, searching from the tail: deadlines mostly arrive in order. */
static void tl_insert(struct dnsd *d, int i)
{
	struct fwd *f = &d->fwd[i];
	int after = d->tl_tail;
	while (after >= 0 && d->fwd[after].when > f->when)
		after = d->fwd[after].prev;
	f->prev = after;
	f->next = after >= 0 ? d->fwd[after].next : d->tl_head;
	if (f->prev >= 0)
		d->fwd[f->prev].next = i;
	else
		d->tl_head = i;
	if (f->next >= 0)
		d->fwd[f->next].prev = i;
	else
		d->tl_tail = i;
	f->linked = true;
}

static void fwd_release(struct dnsd *d, int i)
{
	struct fwd *f = &d->fwd[i];
	tl_unlink(d, i);
	d->id_slot[f->id] = 0;
	if (f->tfd >= 0)
		close(f->tfd);
	f->tfd = -1;
	free(f->tbuf);
	f->tbuf = NULL;
	f->gen++;
	f->used = false;
	if (f->tcp_client) {
		struct conn *c = &d->conns[f->conn];
		if (c->fd >= 0 && c->gen == f->conn_gen) {
			c->pending--;
			c->kick = d->kick = true; /* may read on; processed after this round of events */
		}
	}
	f->next = d->fwd_free;
	d->fwd_free = i;
	d->ninflight--;
}

/* Send msg (the client's ID already in place) to the query's client. */
static void fwd_reply(struct dnsd *d, struct fwd *f, const uint8_t *msg, size_t len, int64_t now)
{
	if (f->tcp_client) {
		struct conn *c = &d->conns[f->conn];
		if (c->fd >= 0 && c->gen == f->conn_gen) {
			uint8_t pfx[2];
			dns_wr16(pfx, (uint16_t)len);
			conn_send(d, f->conn, pfx, 2, msg, len, now);
		}
	} else {
		sendto(d->udp_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)&f->client,
		       f->clientlen);
	}
}

static void fwd_fail(struct dnsd *d, int i, int64_t now)
{
	struct fwd *f = &d->fwd[i];
	uint8_t out[ERRBUF];
	dns_wr16(f->q, f->client_id);
	size_t n = build_error(f->q, f->qlen, DNS_R_SERVFAIL, out, sizeof(out));
	if (n)
		fwd_reply(d, f, out, n, now);
	d->st.servfail++;
	fwd_release(d, i);
}

/* Send the query to upstream f->up over the query's transport; -1 on an
 * immediate failure. */
static int fwd_send(struct dnsd *d, int i)
{
	struct fwd *f = &d->fwd[i];
	struct upstream *u = &d->ups[f->up];
	f->sent |= 1u << f->up;
	if (!f->tcp_up) {
		if (!u->connected) {
			if (connect(u->fd, (const struct sockaddr *)&u->sa, u->salen) < 0)
				return -1;
			u->connected = true;
		}
		if (send(u->fd, f->q, f->qlen, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != ENOBUFS && errno != EINTR)
			return -1;
		return 0;
	}
	if (f->tfd >= 0)
		close(f->tfd);
	f->tfd = -1;
	f->gen++;
	int fd = socket(u->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&u->sa, u->salen) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = ev_data(EV_UP_TCP, f->gen, (uint32_t)i)};
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -1;
	}
	f->tfd = fd;
	f->tstate = 0;
	f->toff = 0;
	return 0;
}

/* (Re)send the query: to the next upstream after a timeout (hard =
 * false), to one not tried yet after a failure. SERVFAIL when out of
 * tries, upstreams or time. */
static void fwd_try(struct dnsd *d, int i, int64_t now, bool hard)
{
	struct fwd *f = &d->fwd[i];
	uint32_t all = (1u << d->nups) - 1;
	for (;;) {
		if (d->nups == 0 || f->tries >= f->max_tries || now >= f->deadline ||
		    (hard && (f->sent & all) == all)) {
			fwd_fail(d, i, now);
			return;
		}
		int next = f->tries == 0 ? 0 : (f->up + 1) % d->nups;
		if (hard)
			while (f->sent & (1u << next))
				next = (next + 1) % d->nups;
		f->up = next;
		f->tries++;
		if (fwd_send(d, i) == 0)
			break;
		hard = true;
	}
	f->when = now + d->timeout_ms / f->max_tries;
	if (f->when > f->deadline || f->tries >= f->max_tries)
		f->when = f->deadline;
	tl_unlink(d, i);
	tl_insert(d, i);
}

static int fwd_start(struct dnsd *d, const uint8_t *m, size_t len, const struct sockaddr_storage *client,
		     socklen_t clientlen, int conn, int64_t now)
{
	if (d->nups == 0 || len > FWD_QMAX || d->fwd_free < 0)
		return -1;
	uint16_t id = rand16(d);
	for (int k = 0; d->id_slot[id] && k < 64; k++)
		id = rand16(d);
	if (d->id_slot[id])
		return -1;
	int i = d->fwd_free;
	struct fwd *f = &d->fwd[i];
	d->fwd_free = f->next;
	f->prev = f->next = -1;
	f->used = true;
	f->linked = false;
	f->id = id;
	d->id_slot[id] = (uint16_t)(i + 1);
	f->client_id = dns_rd16(m);
	memcpy(f->q, m, len);
	f->qlen = (uint16_t)len;
	dns_wr16(f->q, id);
	f->tcp_client = f->tcp_up = conn >= 0;
	if (client) {
		memcpy(&f->client, client, clientlen);
		f->clientlen = clientlen;
	}
	f->conn = conn;
	f->conn_gen = conn >= 0 ? d->conns[conn].gen : 0;
	if (conn >= 0)
		d->conns[conn].pending++;
	f->sent = 0;
	f->tries = 0;
	f->up = 0;
	f->max_tries = d->nups > 2 ? d->nups : 2; /* a lone upstream gets the query twice */
	f->deadline = now + d->timeout_ms;
	f->tfd = -1;
	f->toff = 0;
	f->tstate = 0;
	d->ninflight++;
	d->st.forwarded++;
	fwd_try(d, i, now, false);
	return 0;
}

static bool same_question(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen)
{
	char a[DNS_NAME_TEXT_MAX + 1], b[DNS_NAME_TEXT_MAX + 1];
	size_t ea, eb;
	uint16_t rcode = DNS_RCODE(dns_rd16(r + 2));
	if (dns_rd16(r + 4) == 0) /* allowed for errors only */
		return rcode != DNS_R_NOERROR && rcode != DNS_R_NXDOMAIN;
	if (dns_rd16(r + 4) != 1)
		return false;
	if (dns_read_name(q, qlen, DNS_HEADER_LEN, a, sizeof(a), &ea) < 0 ||
	    dns_read_name(r, rlen, DNS_HEADER_LEN, b, sizeof(b), &eb) < 0 || qlen - ea < 4 || rlen - eb < 4)
		return false;
	return !memcmp(q + ea, r + eb, 4) && dns_name_eq(a, b);
}

/* A reply from upstream u (UDP) or on query tslot's TCP connection.
 * -1 when it is not a reply to a query of ours. */
static int upstream_reply(struct dnsd *d, int u, int tslot, uint8_t *msg, size_t len, int64_t now)
{
	struct dns_header h;
	if (dns_get_header(msg, len, &h) < 0 || !(h.flags & DNS_F_QR)) {
		d->st.dropped++;
		return -1;
	}
	int i = (int)d->id_slot[h.id] - 1;
	struct fwd *f = i >= 0 ? &d->fwd[i] : NULL;
	if (!f || (tslot >= 0 ? i != tslot : (f->tcp_up || !(f->sent & (1u << u)))) ||
	    !same_question(f->q, f->qlen, msg, len)) {
		d->st.spoofed++;
		return -1;
	}
	if (DNS_RCODE(h.flags) == DNS_R_REFUSED && __builtin_popcount(f->sent) < d->nups) {
		fwd_try(d, i, now, true);
		return 0;
	}
	dns_wr16(msg, f->client_id);
	fwd_reply(d, f, msg, len, now);
	fwd_release(d, i);
	return 0;
}

/* Upstream u refused (ICMP): move its queries on at once. */
static void upstream_failed(struct dnsd *d, int u, int64_t now)
{
	for (int i = 0; i < MAX_INFLIGHT; i++) {
		struct fwd *f = &d->fwd[i];
		if (f->used && !f->tcp_up && f->up == u)
			fwd_try(d, i, now, true);
	}
}

static void up_udp_readable(struct dnsd *d, int u, int64_t now)
{
	for (int k = 0; k < 64; k++) {
		ssize_t n = recv(d->ups[u].fd, d->big, DNS_MSG_MAX, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno != EINTR)
				upstream_failed(d, u, now);
			continue;
		}
		upstream_reply(d, u, -1, d->big, (size_t)n, now);
	}
}

static void up_tcp_event(struct dnsd *d, int i, uint32_t events, int64_t now)
{
	struct fwd *f = &d->fwd[i];
	if (!f->used || f->tfd < 0)
		return;
	if (f->tstate == 0) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(f->tfd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (e) {
			fwd_try(d, i, now, true);
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		f->tstate = 1;
	}
	if (f->tstate == 1) {
		uint8_t pfx[2];
		struct iovec iov[2];
		int n = 0;
		dns_wr16(pfx, f->qlen);
		if (f->toff < 2) {
			iov[n++] = (struct iovec){pfx + f->toff, 2 - f->toff};
			iov[n++] = (struct iovec){f->q, f->qlen};
		} else {
			iov[n++] = (struct iovec){f->q + (f->toff - 2), f->qlen - (f->toff - 2)};
		}
		ssize_t w = writev(f->tfd, iov, n);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				fwd_try(d, i, now, true);
			return;
		}
		f->toff += (size_t)w;
		if (f->toff < 2 + (size_t)f->qlen)
			return;
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_data(EV_UP_TCP, f->gen, (uint32_t)i)};
		if (epoll_ctl(d->ep, EPOLL_CTL_MOD, f->tfd, &ev) < 0) {
			fwd_try(d, i, now, true);
			return;
		}
		f->tstate = 2;
		f->toff = 0;
		return;
	}
	if (!f->tbuf && !(f->tbuf = malloc(2 + DNS_MSG_MAX))) {
		fwd_try(d, i, now, true);
		return;
	}
	for (;;) {
		size_t need = f->toff < 2 ? 2 : 2 + (size_t)dns_rd16(f->tbuf);
		if (f->toff >= 2 && need < 2 + DNS_HEADER_LEN) {
			fwd_try(d, i, now, true);
			return;
		}
		if (f->toff == need) {
			if (upstream_reply(d, f->up, i, f->tbuf + 2, need - 2, now) < 0)
				fwd_try(d, i, now, true);
			return;
		}
		ssize_t r = recv(f->tfd, f->tbuf + f->toff, need - f->toff, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			fwd_try(d, i, now, true);
			return;
		}
		f->toff += (size_t)r;
	}
}

static void run_timers(struct dnsd *d, int64_t now)
{
	while (d->tl_head >= 0 && d->fwd[d->tl_head].when <= now)
		fwd_try(d, d->tl_head, now, false);
}

/* ---- upstreams (resolv.conf) ---- */

static int parse_port(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	return errno || *end || end == s || v < 1 || v > 65535 ? -1 : (int)v;
}

/* 1: parsed, 0: skipped (loopback), -1: invalid. */
static int parse_nameserver(const char *s, bool skip_lo, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	int port = 53;
	const char *colon = strchr(s, ':');
	size_t hl;
	if (*s == '[') {
		const char *e = strchr(s, ']');
		if (!e || (hl = (size_t)(e - s - 1)) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = 0;
		if (e[1] == ':')
			port = parse_port(e + 2);
		else if (e[1])
			return -1;
	} else if (colon && !strchr(colon + 1, ':')) { /* a.b.c.d:port */
		if ((hl = (size_t)(colon - s)) >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = 0;
		port = parse_port(colon + 1);
	} else {
		if (strlen(s) >= sizeof(host))
			return -1;
		strcpy(host, s);
	}
	if (port < 0)
		return -1;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sl = sizeof(*sin);
		return skip_lo && (ntohl(sin->sin_addr.s_addr) >> 24) == 127 ? 0 : 1;
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char *pct = strchr(host, '%');
	if (pct) {
		*pct++ = 0;
		sin6->sin6_scope_id = if_nametoindex(pct);
		if (!sin6->sin6_scope_id && parse_port(pct) < 0) /* numeric scope */
			return -1;
		if (!sin6->sin6_scope_id)
			sin6->sin6_scope_id = (uint32_t)atoi(pct);
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return -1;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	*sl = sizeof(*sin6);
	if (skip_lo && (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
			(IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && sin6->sin6_addr.s6_addr[12] == 127)))
		return 0;
	return 1;
}

static bool same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

static int read_resolv(const char *path, bool skip_lo, const struct sockaddr_storage *self, struct upstream *ups)
{
	_cleanup_fclose_ FILE *f = path ? fopen(path, "re") : NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int n = 0;
	if (!f)
		return 0;
	while (n < MAX_UPSTREAMS && getline(&line, &cap, f) > 0) {
		char *save = NULL;
		char *kw = strtok_r(line, " \t\r\n", &save);
		if (!kw || strcmp(kw, "nameserver"))
			continue;
		char *v = strtok_r(NULL, " \t\r\n", &save);
		/* never ourselves: queries would go round in circles */
		if (v && parse_nameserver(v, skip_lo, &ups[n].sa, &ups[n].salen) == 1 && !same_endpoint(&ups[n].sa, self))
			n++;
	}
	return n;
}

static void close_upstreams(struct dnsd *d)
{
	for (int u = 0; u < d->nups; u++)
		if (d->ups[u].fd >= 0)
			close(d->ups[u].fd);
	d->nups = 0;
}

static void reload_resolv(struct dnsd *d, int64_t now);

static void filesig_get(const char *path, struct filesig *s)
{
	struct stat st;
	memset(s, 0, sizeof(*s));
	if (!path || stat(path, &st) < 0)
		return;
	s->exists = true;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtim = st.st_mtim;
	s->ctim = st.st_ctim;
}

static bool filesig_eq(const struct filesig *a, const struct filesig *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec &&
	       a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec;
}

static void reload_resolv(struct dnsd *d, int64_t now)
{
	struct upstream ups[MAX_UPSTREAMS];
	filesig_get(d->res_path, &d->res_sig);
	int n = read_resolv(d->res_path, d->skip_lo, &d->listen_sa, ups);
	bool same = n == d->nups;
	for (int u = 0; same && u < n; u++)
		same = ups[u].salen == d->ups[u].salen && !memcmp(&ups[u].sa, &d->ups[u].sa, ups[u].salen);
	if (same)
		return;
	close_upstreams(d);
	d->ups_gen++;
	for (int u = 0; u < n; u++) {
		struct upstream *up = &d->ups[d->nups];
		*up = ups[u];
		up->fd = socket(up->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (up->fd < 0)
			continue;
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_data(EV_UP_UDP, d->ups_gen, (uint32_t)d->nups)};
		up->connected = connect(up->fd, (const struct sockaddr *)&up->sa, up->salen) == 0;
		if (epoll_ctl(d->ep, EPOLL_CTL_ADD, up->fd, &ev) < 0) {
			close(up->fd);
			continue;
		}
		d->nups++;
	}
	/* queries in flight on UDP start over with the new servers */
	for (int i = 0; i < MAX_INFLIGHT; i++) {
		struct fwd *f = &d->fwd[i];
		if (!f->used)
			continue;
		if (f->up >= d->nups)
			f->up = 0;
		if (f->tcp_up)
			continue;
		f->sent = 0;
		f->tries = 0;
		f->max_tries = d->nups > 2 ? d->nups : 2;
		fwd_try(d, i, now, false);
	}
}

static void reload_records(struct dnsd *d)
{
	struct records *r;
	filesig_get(d->rec_path, &d->rec_sig);
	if (records_load(d->rec_path, &r) < 0)
		return; /* keep serving the previous set */
	records_free(d->rec);
	d->rec = r;
	d->st.reloads++;
}

static void check_files(struct dnsd *d, bool rec, bool res, int64_t now)
{
	struct filesig s;
	if (rec && d->rec_path) {
		filesig_get(d->rec_path, &s);
		if (!filesig_eq(&s, &d->rec_sig))
			reload_records(d);
	}
	if (res && d->res_path) {
		filesig_get(d->res_path, &s);
		if (!filesig_eq(&s, &d->res_sig))
			reload_resolv(d, now);
	}
}

static void inotify_readable(struct dnsd *d, int64_t now)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool rec = false, res = false;
	for (;;) {
		ssize_t n = read(d->ino_fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p + sizeof(struct inotify_event) <= buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			if (e->mask & IN_Q_OVERFLOW)
				rec = res = true;
			if (e->mask & IN_IGNORED) { /* the directory went away: poll */
				if (e->wd == d->rec_wd) {
					d->rec_wd = -1;
					rec = true;
				}
				if (e->wd == d->res_wd) {
					d->res_wd = -1;
					res = true;
				}
			}
			if (e->len) {
				if (e->wd == d->rec_wd && !strcmp(e->name, d->rec_base))
					rec = true;
				if (e->wd == d->res_wd && !strcmp(e->name, d->res_base))
					res = true;
			}
			p += sizeof(*e) + e->len;
		}
	}
	/* unconditionally: an in-place rewrite within the mtime granularity
	 * leaves the stat signature unchanged */
	if (rec)
		reload_records(d);
	if (res)
		reload_resolv(d, now);
}

static int watch_dir(struct dnsd *d, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (d->ino_fd < 0)
		return -1;
	char dir[PATH_MAX];
	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return -1;
	return inotify_add_watch(d->ino_fd, dir,
				 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ONLYDIR);
}

/* ---- the loop ---- */

static void udp_readable(struct dnsd *d, int64_t now)
{
	for (int round = 0; round < UDP_ROUNDS; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			d->rmsg[i].msg_hdr.msg_namelen = sizeof(d->raddr[i]);
			d->rmsg[i].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(d->udp_fd, d->rmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		int ns = 0;
		for (int i = 0; i < n; i++) {
			const uint8_t *m = d->rbuf + (size_t)i * UDP_RBUF;
			size_t len = d->rmsg[i].msg_len;
			uint8_t *out = d->sbuf + (size_t)ns * UDP_PAYLOAD;
			size_t outlen = 0;
			if (d->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				d->st.queries++;
				d->st.dropped++;
				continue;
			}
			int act = handle_query(d, m, len, false, out, UDP_PAYLOAD, &outlen);
			if (act == Q_FORWARD) {
				if (fwd_start(d, m, len, &d->raddr[i], d->rmsg[i].msg_hdr.msg_namelen, -1, now) == 0)
					continue;
				d->st.servfail++;
				outlen = build_error(m, len, DNS_R_SERVFAIL, out, UDP_PAYLOAD);
				act = outlen ? Q_ANSWER : Q_DROP;
			}
			if (act != Q_ANSWER)
				continue;
			struct mmsghdr *sm = &d->smsg[ns];
			sm->msg_hdr.msg_name = &d->raddr[i];
			sm->msg_hdr.msg_namelen = d->rmsg[i].msg_hdr.msg_namelen;
			d->siov[ns].iov_base = out;
			d->siov[ns].iov_len = outlen;
			ns++;
		}
		for (int off = 0; off < ns;) {
			int r = sendmmsg(d->udp_fd, d->smsg + off, (unsigned)(ns - off), MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break; /* socket buffer full: the clients will retry */
			off += r > 0 ? r : 1; /* skip a datagram the kernel refuses */
		}
		if (n < UDP_BATCH)
			return;
	}
}

static bool polling(struct dnsd *d)
{
	return (d->rec_path && d->rec_wd < 0) || (d->res_path && d->res_wd < 0);
}

static void arm_timer(struct dnsd *d)
{
	int64_t t = d->next_housekeep;
	if (d->tl_head >= 0 && d->fwd[d->tl_head].when < t)
		t = d->fwd[d->tl_head].when;
	if (polling(d) && d->next_poll < t)
		t = d->next_poll;
	if (t == d->armed)
		return;
	struct itimerspec its = {0};
	its.it_value.tv_sec = t / 1000;
	its.it_value.tv_nsec = (t % 1000) * 1000000;
	if (t <= 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	d->armed = t;
}

static void housekeep(struct dnsd *d, int64_t now)
{
	for (int i = 0; i < MAX_TCP; i++) {
		struct conn *c = &d->conns[i];
		if (c->fd >= 0 && c->pending == 0 && now - c->last > TCP_IDLE_MS)
			conn_close(d, i);
	}
	/* also catches what inotify cannot see, like a changed symlink target */
	check_files(d, true, true, now);
	d->next_housekeep = now + HOUSEKEEP_MS;
}

int dnsd_dispatch(struct dnsd *d, int timeout_ms, struct berr **err)
{
	struct epoll_event evs[64];
	int n = epoll_wait(d->ep, evs, (int)ARRAY_SIZE(evs), timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return berr_set(err, errno, "dns: epoll_wait");
	}
	int64_t now = mono_ms();
	for (int k = 0; k < n; k++) {
		uint64_t data = evs[k].data.u64;
		unsigned kind = (unsigned)(data >> 56);
		uint32_t gen = (uint32_t)(data >> 32) & 0xffffff, idx = (uint32_t)data;
		switch (kind) {
		case EV_UDP:
			udp_readable(d, now);
			break;
		case EV_TCP_LISTEN:
			tcp_accept(d, now);
			break;
		case EV_INOTIFY:
			inotify_readable(d, now);
			break;
		case EV_TIMER: {
			uint64_t x;
			ssize_t r = read(d->timer_fd, &x, sizeof(x));
			(void)r;
			d->armed = -1;
			break;
		}
		case EV_UP_UDP:
			if (gen == (d->ups_gen & 0xffffff) && idx < (uint32_t)d->nups)
				up_udp_readable(d, (int)idx, now);
			break;
		case EV_CONN:
			if (idx < MAX_TCP && d->conns[idx].fd >= 0 && gen == (d->conns[idx].gen & 0xffffff))
				conn_event(d, (int)idx, evs[k].events, now);
			break;
		case EV_UP_TCP:
			if (idx < MAX_INFLIGHT && gen == (d->fwd[idx].gen & 0xffffff))
				up_tcp_event(d, (int)idx, evs[k].events, now);
			break;
		}
	}
	while (d->kick) {
		d->kick = false;
		for (int i = 0; i < MAX_TCP; i++)
			if (d->conns[i].fd >= 0 && d->conns[i].kick)
				conn_process(d, i, now);
	}
	run_timers(d, now);
	if (now >= d->next_housekeep) {
		housekeep(d, now);
	} else if (polling(d) && now >= d->next_poll) {
		check_files(d, d->rec_wd < 0, d->res_wd < 0, now);
		d->next_poll = now + STAT_POLL_MS;
	}
	arm_timer(d);
	return n;
}

int dnsd_run(struct dnsd *d, volatile int *stop, struct berr **err)
{
	while (!*stop)
		if (dnsd_dispatch(d, 100, err) < 0)
			return -1;
	return 0;
}

int dnsd_fds(struct dnsd *d, int *fds, int max)
{
	if (max < 1)
		return 0;
	fds[0] = d->ep;
	return 1;
}

int dnsd_port(struct dnsd *d) { return d->port; }

void dnsd_get_stats(struct dnsd *d, struct dnsd_stats *st)
{
	*st = d->st;
	st->bad_lines = d->rec ? d->rec->bad : 0;
	st->names = d->rec ? d->rec->nnames : 0;
	st->upstreams = (unsigned)d->nups;
	st->inflight = d->ninflight;
	st->tcp_conns = d->nconns;
}

/* ---- setup ---- */

static int add_fd(struct dnsd *d, int fd, unsigned kind)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_data(kind, 0, 0)};
	return epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int open_listeners(struct dnsd *d, const char *addr, int port, struct berr **err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (port < 0 || port > 65535)
		return berr_setc(err, BERR_INVALID, "dns: invalid port %d", port);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sl = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sl = sizeof(*sin6);
	} else {
		return berr_setc(err, BERR_INVALID, "dns: invalid listen address \"%s\"", addr);
	}
	int one = 1, rcvbuf = 1 << 20;
	for (int attempt = 0;; attempt++) {
		_cleanup_close_ int u = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		_cleanup_close_ int t = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (u < 0 || t < 0)
			return berr_set(err, errno, "dns: socket");
		for (int k = 0; k < 2; k++) {
			int fd = k ? t : u;
			if (ss.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			/* the bridge address may not be configured yet */
			setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		}
		setsockopt(u, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ss.ss_family == AF_INET)
			sin->sin_port = htons((uint16_t)port);
		else
			sin6->sin6_port = htons((uint16_t)port);
		if (bind(u, (struct sockaddr *)&ss, sl) < 0)
			return berr_set(err, errno, "dns: bind udp %s port %d", addr, port);
		struct sockaddr_storage got;
		socklen_t gl = sizeof(got);
		if (getsockname(u, (struct sockaddr *)&got, &gl) < 0)
			return berr_set(err, errno, "dns: getsockname");
		int p = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
						       : ((struct sockaddr_in6 *)&got)->sin6_port);
		if (ss.ss_family == AF_INET)
			sin->sin_port = htons((uint16_t)p);
		else
			sin6->sin6_port = htons((uint16_t)p);
		if (bind(t, (struct sockaddr *)&ss, sl) < 0) {
			if (errno == EADDRINUSE && port == 0 && attempt < 16)
				continue; /* the UDP port's TCP twin is taken: pick another */
			return berr_set(err, errno, "dns: bind tcp %s port %d", addr, p);
		}
		if (listen(t, 128) < 0)
			return berr_set(err, errno, "dns: listen");
		memcpy(&d->listen_sa, &ss, sizeof(ss));
		d->udp_fd = steal_fd(&u);
		d->tcp_fd = steal_fd(&t);
		d->port = p;
		return 0;
	}
}

int dnsd_new_opts(const char *listen_addr, int port, const char *records_path, const char *resolv_conf,
		  const struct dnsd_opts *opts, struct dnsd **ret, struct berr **err)
{
	struct dnsd *d = calloc(1, sizeof(*d));
	if (!d)
		return berr_set(err, ENOMEM, "dns");
	d->ep = d->udp_fd = d->tcp_fd = d->ino_fd = d->timer_fd = -1;
	d->rec_wd = d->res_wd = -1;
	d->tl_head = d->tl_tail = -1;
	d->armed = -1;
	d->rnd_pos = sizeof(d->rnd);
	d->ttl = opts && opts->ttl ? opts->ttl : DEFAULT_TTL;
	d->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	d->skip_lo = opts && opts->skip_loopback;

	d->fwd = calloc(MAX_INFLIGHT, sizeof(*d->fwd));
	d->id_slot = calloc(65536, sizeof(*d->id_slot));
	d->conns = calloc(MAX_TCP, sizeof(*d->conns));
	d->rbuf = malloc((size_t)UDP_BATCH * UDP_RBUF);
	d->sbuf = malloc((size_t)UDP_BATCH * UDP_PAYLOAD);
	d->big = malloc(2 + DNS_MSG_MAX);
	if ((records_path && !(d->rec_path = strdup(records_path))) ||
	    (resolv_conf && !(d->res_path = strdup(resolv_conf))) || !d->fwd || !d->id_slot || !d->conns ||
	    !d->rbuf || !d->sbuf || !d->big) {
		dnsd_free(d);
		return berr_set(err, ENOMEM, "dns");
	}
	for (int i = 0; i < MAX_INFLIGHT; i++) {
		d->fwd[i].tfd = -1;
		d->fwd[i].prev = -1;
		d->fwd[i].next = i + 1 < MAX_INFLIGHT ? i + 1 : -1;
	}
	d->fwd_free = 0;
	for (int i = 0; i < MAX_TCP; i++)
		d->conns[i].fd = -1;
	for (int i = 0; i < UDP_BATCH; i++) {
		d->riov[i] = (struct iovec){d->rbuf + (size_t)i * UDP_RBUF, UDP_RBUF};
		d->rmsg[i].msg_hdr.msg_name = &d->raddr[i];
		d->rmsg[i].msg_hdr.msg_iov = &d->riov[i];
		d->rmsg[i].msg_hdr.msg_iovlen = 1;
		d->smsg[i].msg_hdr.msg_iov = &d->siov[i];
		d->smsg[i].msg_hdr.msg_iovlen = 1;
	}

	if ((d->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    add_fd(d, d->timer_fd, EV_TIMER) < 0) {
		berr_set(err, errno, "dns: epoll");
		dnsd_free(d);
		return -1;
	}
	if (open_listeners(d, listen_addr, port, err) < 0 || add_fd(d, d->udp_fd, EV_UDP) < 0 ||
	    add_fd(d, d->tcp_fd, EV_TCP_LISTEN) < 0) {
		if (!err || !*err)
			berr_set(err, errno, "dns: epoll");
		dnsd_free(d);
		return -1;
	}

	d->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ino_fd >= 0 && add_fd(d, d->ino_fd, EV_INOTIFY) < 0) {
		close(d->ino_fd);
		d->ino_fd = -1;
	}
	if (d->rec_path)
		d->rec_wd = watch_dir(d, d->rec_path, &d->rec_base);
	if (d->res_path)
		d->res_wd = watch_dir(d, d->res_path, &d->res_base);

	filesig_get(d->rec_path, &d->rec_sig);
	if (records_load(d->rec_path, &d->rec) < 0) {
		berr_set(err, errno, "dns: reading %s", d->rec_path);
		dnsd_free(d);
		return -1;
	}
	d->st.reloads++;
	int64_t now = mono_ms();
	reload_resolv(d, now);
	d->next_housekeep = now + HOUSEKEEP_MS;
	d->next_poll = now + STAT_POLL_MS;
	arm_timer(d);
	*ret = d;
	return 0;
}

int dnsd_new(const char *listen_addr, int port, const char *records_path, const char *resolv_conf,
	     struct dnsd **ret, struct berr **err)
{
	return dnsd_new_opts(listen_addr, port, records_path, resolv_conf, NULL, ret, err);
}

void dnsd_free(struct dnsd *d)
{
	if (!d)
		return;
	if (d->fwd) {
		for (int i = 0; i < MAX_INFLIGHT; i++) {
			if (d->fwd[i].tfd >= 0)
				close(d->fwd[i].tfd);
			free(d->fwd[i].tbuf);
		}
	}
	if (d->conns) {
		for (int i = 0; i < MAX_TCP; i++) {
			if (d->conns[i].fd >= 0)
				close(d->conns[i].fd);
			free(d->conns[i].out);
		}
	}
	close_upstreams(d);
	int fds[] = {d->udp_fd, d->tcp_fd, d->ino_fd, d->timer_fd, d->ep};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	records_free(d->rec);
	free(d->fwd);
	free(d->id_slot);
	free(d->conns);
	free(d->rbuf);
	free(d->sbuf);
	free(d->big);
	free(d->rec_path);
	free(d->res_path);
	free(d);
}
