/* The embedded DNS server (see dnsd.h): the listeners, local answers from
 * the record table (dnsd-records.c), TCP clients, watching the records file
 * and resolv.conf, and the event loop. Forwarding to the upstreams is in
 * dnsd-forward.c. */
#include "net/dnsd-int.h"
#include "net/dns.h"
#include "util/cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TTL 60
#define DEFAULT_TIMEOUT_MS 2000
#define TCP_PENDING_MAX 16     /* forwarded queries per TCP client before we stop reading it */
#define TCP_IDLE_MS 10000
#define TCP_OUT_MAX (256 * 1024)
#define UDP_ROUNDS 8           /* batches per wakeup, so that the other sockets get their turn */
#define UDP_RBUF 4096
#define HOUSEKEEP_MS 1000
#define STAT_POLL_MS 20        /* records/resolv.conf check when inotify cannot watch them */

enum { Q_DROP, Q_ANSWER, Q_FORWARD };

/* ---- answers ---- */

/* An error reply to m: header, the question when the query has a valid
 * one, OPT when it had one. 0 when m does not deserve an answer. */
size_t dnsd_build_error(const uint8_t *m, size_t len, int rcode, uint8_t *out, size_t cap)
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
		*outlen = dnsd_build_error(m, len, rc > 0 ? rc : DNS_R_BADVERS, out, cap);
		return *outlen ? Q_ANSWER : Q_DROP;
	}
	if (q.qclass != DNS_C_IN && q.qclass != DNS_C_ANY)
		return Q_FORWARD;

	char key[256];
	int kl = dnsd_canon_name(q.name, key, sizeof(key));
	if (kl < 0)
		return Q_FORWARD;
	struct rname *rn = dnsd_records_name(d->rec, key, (size_t)kl);
	const char *ptr = NULL;
	if (!rn) {
		uint8_t addr[16];
		int af;
		if (q.qtype != DNS_T_PTR || (af = dns_ptr_to_addr(key, addr)) < 0 ||
		    !(ptr = dnsd_records_rev(d->rec, af, addr))) {
			if (!dnsd_records_in_zone(d->rec, key, (size_t)kl))
				return Q_FORWARD;
			/* a local zone (cluster.local): unknown names end here */
			*outlen = dnsd_build_error(m, len, DNS_R_NXDOMAIN, out, cap < DNS_UDP_MAX ? cap : DNS_UDP_MAX);
			if (!*outlen) {
				d->st.dropped++;
				return Q_DROP;
			}
			out[2] |= DNS_F_AA >> 8;
			d->st.local++;
			return Q_ANSWER;
		}
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
void dnsd_conn_send(struct dnsd *d, int i, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
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


static void conn_query(struct dnsd *d, int i, const uint8_t *m, size_t len, int64_t now)
{
	uint8_t *out = d->big + 2;
	size_t outlen = 0;
	int act = handle_query(d, m, len, true, out, DNS_MSG_MAX, &outlen);
	if (act == Q_FORWARD) {
		if (dnsd_fwd_start(d, m, len, NULL, 0, i, now) == 0)
			return;
		d->st.servfail++;
		outlen = dnsd_build_error(m, len, DNS_R_SERVFAIL, out, DNS_MSG_MAX);
		act = outlen ? Q_ANSWER : Q_DROP;
	}
	if (act == Q_ANSWER) {
		dns_wr16(d->big, (uint16_t)outlen);
		dnsd_conn_send(d, i, d->big, outlen + 2, NULL, 0, now);
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

/* ---- the records file and resolv.conf ---- */

void dnsd_filesig_get(const char *path, struct filesig *s)
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

static void reload_records(struct dnsd *d)
{
	struct records *r;
	dnsd_filesig_get(d->rec_path, &d->rec_sig);
	if (dnsd_records_load(d->rec_path, &r) < 0)
		return; /* keep serving the previous set */
	dnsd_records_free(d->rec);
	d->rec = r;
	d->st.reloads++;
}

static void check_files(struct dnsd *d, bool rec, bool res, int64_t now)
{
	struct filesig s;
	if (rec && d->rec_path) {
		dnsd_filesig_get(d->rec_path, &s);
		if (!filesig_eq(&s, &d->rec_sig))
			reload_records(d);
	}
	if (res && d->res_path) {
		dnsd_filesig_get(d->res_path, &s);
		if (!filesig_eq(&s, &d->res_sig))
			dnsd_reload_resolv(d, now);
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
		dnsd_reload_resolv(d, now);
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
				if (dnsd_fwd_start(d, m, len, &d->raddr[i], d->rmsg[i].msg_hdr.msg_namelen, -1, now) == 0)
					continue;
				d->st.servfail++;
				outlen = dnsd_build_error(m, len, DNS_R_SERVFAIL, out, UDP_PAYLOAD);
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
				dnsd_up_udp_readable(d, (int)idx, now);
			break;
		case EV_CONN:
			if (idx < MAX_TCP && d->conns[idx].fd >= 0 && gen == (d->conns[idx].gen & 0xffffff))
				conn_event(d, (int)idx, evs[k].events, now);
			break;
		case EV_UP_TCP:
			if (idx < MAX_INFLIGHT && gen == (d->fwd[idx].gen & 0xffffff))
				dnsd_up_tcp_event(d, (int)idx, evs[k].events, now);
			break;
		}
	}
	while (d->kick) {
		d->kick = false;
		for (int i = 0; i < MAX_TCP; i++)
			if (d->conns[i].fd >= 0 && d->conns[i].kick)
				conn_process(d, i, now);
	}
	dnsd_run_timers(d, now);
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

	dnsd_filesig_get(d->rec_path, &d->rec_sig);
	if (dnsd_records_load(d->rec_path, &d->rec) < 0) {
		berr_set(err, errno, "dns: reading %s", d->rec_path);
		dnsd_free(d);
		return -1;
	}
	d->st.reloads++;
	int64_t now = mono_ms();
	dnsd_reload_resolv(d, now);
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
	dnsd_close_upstreams(d);
	int fds[] = {d->udp_fd, d->tcp_fd, d->ino_fd, d->timer_fd, d->ep};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	dnsd_records_free(d->rec);
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
