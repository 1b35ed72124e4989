/* Internal to the embedded DNS server: its state, shared by dnsd.c (the
 * listeners, local answers, TCP clients, file watching and the event loop)
 * and dnsd-forward.c (the upstreams from resolv.conf and forwarding to
 * them), and the functions they call across. */
#ifndef BERTH_NET_DNSD_INT_H
#define BERTH_NET_DNSD_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "net/dnsd-records.h"
#include "net/dnsd.h"

#define MAX_UPSTREAMS 4
#define MAX_INFLIGHT 1024      /* forwarded queries waiting for an upstream */
#define MAX_TCP 64             /* client TCP connections */
#define TCP_QMAX 4096          /* largest query accepted over TCP */
#define UDP_BATCH 32
#define UDP_PAYLOAD 1232       /* our EDNS UDP size (DNS flag day 2020) */
#define FWD_QMAX 1232          /* largest query we forward */

enum { EV_UDP = 1, EV_TCP_LISTEN, EV_INOTIFY, EV_TIMER, EV_UP_UDP, EV_CONN, EV_UP_TCP };

static inline uint64_t ev_data(unsigned kind, uint32_t gen, uint32_t idx)
{
	return (uint64_t)kind << 56 | (uint64_t)(gen & 0xffffff) << 32 | idx;
}

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

static inline int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- dnsd.c ---- */

/* An error reply to m with rcode into out; its length, 0 for none. */
size_t dnsd_build_error(const uint8_t *m, size_t len, int rcode, uint8_t *out, size_t cap);
/* Send a then b to TCP client i, queueing what the socket does not take. */
void dnsd_conn_send(struct dnsd *d, int i, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		    int64_t now);
/* The stat signature of path (exists = false when it is not there). */
void dnsd_filesig_get(const char *path, struct filesig *s);

/* ---- dnsd-forward.c ---- */

/* Forward client query m (from UDP client, or TCP client conn >= 0); -1
 * when it cannot be (no upstream, too large, table full). */
int dnsd_fwd_start(struct dnsd *d, const uint8_t *m, size_t len, const struct sockaddr_storage *client,
		   socklen_t clientlen, int conn, int64_t now);
/* Replies on upstream u's UDP socket. */
void dnsd_up_udp_readable(struct dnsd *d, int u, int64_t now);
/* Events on query i's upstream TCP connection. */
void dnsd_up_tcp_event(struct dnsd *d, int i, uint32_t events, int64_t now);
/* Re-send or fail the queries whose time has come. */
void dnsd_run_timers(struct dnsd *d, int64_t now);
/* Re-read resolv.conf; when the upstreams changed, open them and restart
 * the queries in flight on UDP. */
void dnsd_reload_resolv(struct dnsd *d, int64_t now);
void dnsd_close_upstreams(struct dnsd *d);

#endif
