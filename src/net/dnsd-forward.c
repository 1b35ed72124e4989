/* The embedded DNS server's forwarding: the upstreams (the nameserver
 * lines of resolv.conf, each with its own connected UDP socket), the table
 * of queries in flight with their timer list, relaying a query over UDP or
 * TCP with a fresh random ID, checking replies (upstream, ID, question) and
 * relaying them back, re-sending and SERVFAIL on timeout. */
#include "net/dnsd-int.h"
#include "net/dns.h"
#include "util/cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define ERRBUF 600             /* header + question + OPT */

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
			dnsd_conn_send(d, f->conn, pfx, 2, msg, len, now);
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
	size_t n = dnsd_build_error(f->q, f->qlen, DNS_R_SERVFAIL, out, sizeof(out));
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

int dnsd_fwd_start(struct dnsd *d, const uint8_t *m, size_t len, const struct sockaddr_storage *client,
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

void dnsd_up_udp_readable(struct dnsd *d, int u, int64_t now)
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

void dnsd_up_tcp_event(struct dnsd *d, int i, uint32_t events, int64_t now)
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

void dnsd_run_timers(struct dnsd *d, int64_t now)
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

void dnsd_close_upstreams(struct dnsd *d)
{
	for (int u = 0; u < d->nups; u++)
		if (d->ups[u].fd >= 0)
			close(d->ups[u].fd);
	d->nups = 0;
}

void dnsd_reload_resolv(struct dnsd *d, int64_t now)
{
	struct upstream ups[MAX_UPSTREAMS];
	dnsd_filesig_get(d->res_path, &d->res_sig);
	int n = read_resolv(d->res_path, d->skip_lo, &d->listen_sa, ups);
	bool same = n == d->nups;
	for (int u = 0; same && u < n; u++)
		same = ups[u].salen == d->ups[u].salen && !memcmp(&ups[u].sa, &d->ups[u].sa, ups[u].salen);
	if (same)
		return;
	dnsd_close_upstreams(d);
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
