/* DNS protocol (parse/build, compression, malformed and fuzzed input) and
 * the embedded server (local names, round-robin, reload, forwarding to a
 * fake upstream on 127.0.0.2:5353, TCP, timeouts), plus a local-name
 * throughput measurement.
 *   test-dns                                   run the tests
 *   test-dns --serve ADDR PORT RECORDS RESOLV  just serve (for dnsperf) */
#include "net/dns.h"
#include "net/dnsd.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

static char tmpdir[64], rec_path[128], resolv_path[128];
static int port; /* the server under test, on 127.0.0.1 */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

/* Replace atomically, as berth does. */
static void replace_file(const char *path, const char *text)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	write_file(tmp, text);
	rename(tmp, path);
}

static size_t mkquery(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t type, int edns)
{
	struct dns_builder b;
	struct dns_header h = {.id = id, .flags = DNS_F_RD};
	dns_builder_init(&b, buf, cap);
	if (dns_put_header(&b, &h) < 0 || dns_put_question(&b, name, type, DNS_C_IN) < 0)
		return 0;
	if (edns && dns_put_opt(&b, (uint16_t)edns, 0, 0, 0) < 0)
		return 0;
	return b.len;
}

struct ans {
	size_t len;
	uint16_t id, flags;
	int rcode; /* with the extended bits from OPT */
	int qd, an, ns, ar;
	char qname[DNS_NAME_TEXT_MAX + 1];
	int n; /* A/AAAA in the answer section, in order */
	char addr[300][INET6_ADDRSTRLEN];
	char ptr[DNS_NAME_TEXT_MAX + 1];
	bool opt;
};

static int parse_ans(const uint8_t *m, size_t len, struct ans *a)
{
	struct dns_reader r;
	memset(a, 0, offsetof(struct ans, addr));
	a->ptr[0] = 0;
	a->len = len;
	if (dns_reader_init(&r, m, len) < 0)
		return -1;
	a->id = r.h.id;
	a->flags = r.h.flags;
	a->rcode = DNS_RCODE(r.h.flags);
	a->qd = r.h.qdcount;
	a->an = r.h.ancount;
	a->ns = r.h.nscount;
	a->ar = r.h.arcount;
	for (int i = 0; i < a->qd; i++) {
		struct dns_question q;
		if (dns_read_question(&r, &q) < 0)
			return -1;
		if (i == 0)
			strcpy(a->qname, q.name);
	}
	for (int i = 0; i < a->an + a->ns + a->ar; i++) {
		static struct dns_rr rr;
		if (dns_read_rr(&r, &rr) < 0)
			return -1;
		if (rr.type == DNS_T_OPT) {
			a->opt = true;
			a->rcode |= (int)(rr.ttl >> 24) << 4;
		} else if (i < a->an && (rr.type == DNS_T_A || rr.type == DNS_T_AAAA) && a->n < 300) {
			inet_ntop(rr.type == DNS_T_A ? AF_INET : AF_INET6, m + rr.rdata, a->addr[a->n++], INET6_ADDRSTRLEN);
		} else if (i < a->an && rr.type == DNS_T_PTR) {
			if (dns_read_name(m, len, rr.rdata, a->ptr, sizeof(a->ptr), NULL) < 0)
				return -1;
		}
	}
	return 0;
}

static int udp_sock(int to_port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)to_port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	return fd;
}

/* Wait for a datagram with the given ID; its length, or -1 on timeout. */
static ssize_t recv_id(int fd, uint16_t id, uint8_t *buf, size_t cap, int timeout_ms)
{
	double end = now_ms() + timeout_ms;
	for (;;) {
		int left = (int)(end - now_ms());
		if (left < 0)
			return -1;
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, left) <= 0)
			return -1;
		ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
		if (n >= 2 && dns_rd16(buf) == id)
			return n;
	}
}

/* Same, spinning instead of sleeping: the client's own wake-up latency
 * (large on idle VMs) stays out of latency measurements of the server. */
static ssize_t recv_id_spin(int fd, uint16_t id, uint8_t *buf, size_t cap, int timeout_ms)
{
	double end = now_ms() + timeout_ms;
	while (now_ms() < end) {
		ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
		if (n >= 2 && dns_rd16(buf) == id)
			return n;
	}
	return -1;
}

static int qsock = -1;
static uint16_t next_id = 1000;

static int ask_raw(const uint8_t *q, size_t qlen, struct ans *a, int timeout_ms)
{
	static uint8_t buf[65536];
	if (send(qsock, q, qlen, 0) < 0)
		return -1;
	ssize_t n = recv_id(qsock, dns_rd16(q), buf, sizeof(buf), timeout_ms);
	return n < 0 ? -1 : parse_ans(buf, (size_t)n, a);
}

static int ask_edns(const char *name, uint16_t type, int edns, struct ans *a)
{
	uint8_t q[512];
	size_t ql = mkquery(q, sizeof(q), next_id++, name, type, edns);
	return ql ? ask_raw(q, ql, a, 3000) : -1;
}

static int ask(const char *name, uint16_t type, struct ans *a) { return ask_edns(name, type, 0, a); }

static bool has(const struct ans *a, const char *addr)
{
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->addr[i], addr))
			return true;
	return false;
}

static int tcp_connect(int to_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)to_port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	struct timeval tv = {3, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* One length-prefixed reply; its length or -1. */
static ssize_t tcp_read_msg(int fd, uint8_t *buf)
{
	uint8_t pfx[2];
	if (!read_full(fd, pfx, 2) || !read_full(fd, buf, dns_rd16(pfx)))
		return -1;
	return dns_rd16(pfx);
}

static int ask_tcp(const char *name, uint16_t type, struct ans *a)
{
	static uint8_t buf[65536];
	uint8_t q[514];
	size_t ql = mkquery(q + 2, sizeof(q) - 2, next_id++, name, type, 0);
	int fd = tcp_connect(port);
	if (fd < 0)
		return -1;
	dns_wr16(q, (uint16_t)ql);
	ssize_t n = -1;
	if (write(fd, q, ql + 2) == (ssize_t)ql + 2)
		n = tcp_read_msg(fd, buf);
	close(fd);
	return n < 0 ? -1 : parse_ans(buf, (size_t)n, a);
}

/* ---- the fake upstream ---- */

static struct {
	int udp, tcp, spoof;
	int port;
	pthread_t th;
	volatile int stop;
	volatile int queries, silent, saw_same_id, tcp_queries;
} up;

/* The upstream's answer to q; 0 for no answer. */
static size_t up_answer(const uint8_t *q, size_t n, bool tcp, uint8_t *out, size_t cap, const char *force_name,
			const char *force_addr)
{
	struct dns_query qq;
	if (dns_parse_query(q, n, &qq) != 0)
		return 0;
	up.queries++;
	struct dns_builder b;
	struct dns_header h = {.id = qq.h.id, .flags = DNS_F_QR | DNS_F_RA | (qq.h.flags & DNS_F_RD)};
	const char *name = force_name ? force_name : qq.name;
	uint8_t a[4];
	dns_builder_init(&b, out, cap);
	if (dns_name_eq(qq.name, "silent.example")) {
		up.silent++;
		return 0;
	}
	if (dns_name_eq(qq.name, "nx.example") || dns_name_eq(qq.name, "newc") || dns_name_eq(qq.name, "gone.local"))
		h.flags |= DNS_R_NXDOMAIN;
	if (dns_name_eq(qq.name, "refused.example"))
		h.flags |= DNS_R_REFUSED;
	bool big = dns_name_eq(qq.name, "big.example");
	if (big && !tcp)
		h.flags |= DNS_F_TC;
	dns_put_header(&b, &h);
	dns_put_question(&b, name, qq.qtype, qq.qclass);
	if (DNS_RCODE(h.flags) || (big && !tcp))
		return b.len;
	if (big) {
		for (int i = 0; i < 200; i++) {
			uint8_t x[4] = {10, 1, (uint8_t)(i / 250), (uint8_t)(i % 250 + 1)};
			dns_put_rr(&b, DNS_S_AN, qq.name, DNS_T_A, DNS_C_IN, 30, x, 4);
		}
		return b.len;
	}
	inet_pton(AF_INET, force_addr ? force_addr : dns_name_eq(qq.name, "spoof.example") ? "192.0.2.7" : "192.0.2.1",
		  a);
	if (qq.qtype == DNS_T_A)
		dns_put_rr(&b, DNS_S_AN, qq.name, DNS_T_A, DNS_C_IN, 30, a, 4);
	return b.len;
}

static void *up_main(void *arg)
{
	static uint8_t q[65536], out[65536];
	(void)arg;
	while (!up.stop) {
		struct pollfd p[2] = {{up.udp, POLLIN, 0}, {up.tcp, POLLIN, 0}};
		if (poll(p, 2, 50) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(up.udp, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
			if (n < DNS_HEADER_LEN)
				continue;
			if (dns_rd16(q) == next_id - 1)
				up.saw_same_id++;
			struct dns_query qq;
			if (dns_parse_query(q, (size_t)n, &qq) == 0 && dns_name_eq(qq.name, "spoof.example")) {
				/* right ID from the wrong port, then the wrong question from the right one */
				size_t m = up_answer(q, (size_t)n, false, out, sizeof(out), NULL, "6.6.6.6");
				sendto(up.spoof, out, m, 0, (struct sockaddr *)&from, fl);
				m = up_answer(q, (size_t)n, false, out, sizeof(out), "other.example", "6.6.6.6");
				sendto(up.udp, out, m, 0, (struct sockaddr *)&from, fl);
				up.queries -= 2;
				msleep(5);
			}
			size_t m = up_answer(q, (size_t)n, false, out, sizeof(out), NULL, NULL);
			if (m)
				sendto(up.udp, out, m, 0, (struct sockaddr *)&from, fl);
		}
		if (p[1].revents & POLLIN) {
			int c = accept4(up.tcp, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			struct timeval tv = {1, 0};
			setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			ssize_t n = tcp_read_msg(c, q);
			if (n > 0) {
				up.tcp_queries++;
				size_t m = up_answer(q, (size_t)n, true, out + 2, sizeof(out) - 2, NULL, NULL);
				dns_wr16(out, (uint16_t)m);
				if (m && write(c, out, m + 2) < 0)
					up.queries += 0;
			}
			close(c);
		}
	}
	return NULL;
}

static int up_start(void)
{
	int one = 1;
	for (int p = 5353; p < 5353 + 100 * 64; p += 64) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
		inet_pton(AF_INET, "127.0.0.2", &sa.sin_addr);
		up.udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		up.tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(up.tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(up.udp, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    bind(up.tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(up.tcp, 16) == 0) {
			up.port = p;
			break;
		}
		close(up.udp);
		close(up.tcp);
	}
	if (!up.port)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.2", &sa.sin_addr);
	up.spoof = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bind(up.spoof, (struct sockaddr *)&sa, sizeof(sa));
	return pthread_create(&up.th, NULL, up_main, NULL);
}

static void up_stop(void)
{
	up.stop = 1;
	pthread_join(up.th, NULL);
	close(up.udp);
	close(up.tcp);
	close(up.spoof);
}

/* ---- the server under test, in a thread ---- */

static struct {
	struct dnsd *d;
	pthread_t th;
	volatile int stop;
} srv;

static void *srv_main(void *arg)
{
	struct berr *e = NULL;
	(void)arg;
	if (dnsd_run(srv.d, &srv.stop, &e) < 0)
		fprintf(stderr, "dnsd_run: %s\n", e->msg);
	berr_free(e);
	return NULL;
}

static struct dnsd_stats stats(void)
{
	struct dnsd_stats st;
	dnsd_get_stats(srv.d, &st); /* racy reads of counters, good enough here */
	return st;
}

/* ================= protocol ================= */

static void test_names(void)
{
	static const char *ok[] = {"www.example.com", "a\\.b.c", "x\\032y.z", "\\\\", "a-b_c.D", "xn--bcher-kva.ch"};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		uint8_t w[300];
		char back[DNS_NAME_TEXT_MAX + 1] = "";
		int wl = dns_name_to_wire(ok[i], w, sizeof(w));
		int rl = wl > 0 ? dns_read_name(w, (size_t)wl, 0, back, sizeof(back), NULL) : -1;
		CHECK(wl > 0 && rl == wl, "name %s: wire %d, read %d", ok[i], wl, rl);
		CHECK(!strcmp(back, ok[i]), "name %s round trip: %s", ok[i], back);
	}
	uint8_t w[300];
	char t[DNS_NAME_TEXT_MAX + 1];
	CHECK(dns_name_to_wire(".", w, sizeof(w)) == 1 && w[0] == 0, "root name");
	CHECK(dns_read_name(w, 1, 0, t, sizeof(t), NULL) == 1 && !strcmp(t, "."), "root reads back as \".\"");
	CHECK(dns_name_to_wire("a.b.", w, sizeof(w)) == 5, "trailing dot accepted");
	CHECK(dns_name_to_wire("a..b", w, sizeof(w)) < 0, "empty label rejected");
	CHECK(dns_name_to_wire(".a", w, sizeof(w)) < 0, "leading dot rejected");
	CHECK(dns_name_to_wire("a\\", w, sizeof(w)) < 0, "dangling escape rejected");
	CHECK(dns_name_to_wire("a\\300", w, sizeof(w)) < 0, "escape over 255 rejected");

	char lab[80];
	memset(lab, 'x', 63);
	lab[63] = 0;
	CHECK(dns_name_to_wire(lab, w, sizeof(w)) == 65, "63-byte label ok");
	strcat(lab, "y");
	CHECK(dns_name_to_wire(lab, w, sizeof(w)) < 0, "64-byte label rejected");
	/* 4 labels: 63+63+63+61 + 3 dots = 253 text chars = 255 wire bytes */
	char big[300];
	snprintf(big, sizeof(big), "%.63s.%.63s.%.63s.%.61s", lab, lab, lab, lab);
	CHECK(dns_name_to_wire(big, w, sizeof(w)) == 255, "255-byte name ok");
	strcat(big, "z");
	CHECK(dns_name_to_wire(big, w, sizeof(w)) < 0, "256-byte name rejected");
	CHECK(dns_name_to_wire("abc", w, 3) < 0, "small buffer rejected");

	CHECK(dns_name_eq("WWW.Example.COM.", "www.example.com"), "name_eq: case and trailing dot");
	CHECK(!dns_name_eq("www.example.co", "www.example.com"), "name_eq: different");
}

static void test_ptr_names(void)
{
	uint8_t a[16], b[16];
	char name[128];
	inet_pton(AF_INET, "10.89.0.6", a);
	CHECK(dns_addr_to_ptr(AF_INET, a, name, sizeof(name)) == 0 && !strcmp(name, "6.0.89.10.in-addr.arpa"),
	      "v4 reverse name: %s", name);
	CHECK(dns_ptr_to_addr("6.0.89.10.IN-ADDR.ARPA.", b) == AF_INET && !memcmp(a, b, 4), "v4 reverse parse");
	inet_pton(AF_INET6, "fd00::5", a);
	CHECK(dns_addr_to_ptr(AF_INET6, a, name, sizeof(name)) == 0, "v6 reverse name");
	CHECK(dns_ptr_to_addr(name, b) == AF_INET6 && !memcmp(a, b, 16), "v6 reverse parse: %s", name);
	static const char *bad[] = {"0.89.10.in-addr.arpa", "06.0.89.10.in-addr.arpa", "256.0.89.10.in-addr.arpa",
				    "1.2.3.4.5.in-addr.arpa", "a.0.89.10.in-addr.arpa", "in-addr.arpa",
				    "5.0.0.ip6.arpa", "example.com"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(dns_ptr_to_addr(bad[i], b) < 0, "not a whole address: %s", bad[i]);
}

static void test_build_parse(void)
{
	uint8_t buf[1024];
	struct dns_builder b;
	struct dns_header h = {.id = 0xbeef, .flags = DNS_F_QR | DNS_F_AA};
	uint8_t a4[4] = {10, 0, 0, 1};
	dns_builder_init(&b, buf, sizeof(buf));
	CHECK(dns_put_header(&b, &h) == 0, "header");
	CHECK(dns_put_question(&b, "www.Example.com", DNS_T_A, DNS_C_IN) == 0, "question");
	size_t before = b.len;
	CHECK(dns_put_rr(&b, DNS_S_AN, "www.example.com", DNS_T_A, DNS_C_IN, 300, a4, 4) == 0, "rr 1");
	CHECK(b.len - before == 2 + 10 + 4, "owner compressed to one pointer (%zu bytes)", b.len - before);
	before = b.len;
	CHECK(dns_put_rr(&b, DNS_S_AN, "mail.example.com", DNS_T_A, DNS_C_IN, 300, a4, 4) == 0, "rr 2");
	CHECK(b.len - before == 5 + 2 + 10 + 4, "suffix compressed (%zu bytes)", b.len - before);
	CHECK(dns_put_rr_name(&b, DNS_S_AN, "1.0.0.10.in-addr.arpa", DNS_T_PTR, DNS_C_IN, 60, "mail.example.com") == 0,
	      "ptr rr");
	CHECK(dns_put_rr_at(&b, DNS_S_AN, 12, DNS_T_AAAA, DNS_C_IN, 5, "0123456789abcdef", 16) == 0, "rr at");
	CHECK(dns_put_opt(&b, 1232, DNS_R_BADVERS, 0, DNS_EDNS_DO) == 0, "opt");
	CHECK(dns_put_rr(&b, DNS_S_AN, "bad..name", DNS_T_A, DNS_C_IN, 1, a4, 4) < 0 && !b.overflow,
	      "invalid name refused without overflow");

	struct dns_reader r;
	struct dns_question q;
	static struct dns_rr rr;
	CHECK(dns_reader_init(&r, buf, b.len) == 0 && r.h.id == 0xbeef && r.h.qdcount == 1 && r.h.ancount == 4 &&
		      r.h.arcount == 1,
	      "counts: qd %d an %d ar %d", r.h.qdcount, r.h.ancount, r.h.arcount);
	CHECK(dns_read_question(&r, &q) == 0 && !strcmp(q.name, "www.Example.com") && q.type == DNS_T_A,
	      "question back: %s", q.name);
	CHECK(dns_read_rr(&r, &rr) == 0 && dns_name_eq(rr.name, "www.example.com") && rr.ttl == 300 &&
		      rr.rdlen == 4 && !memcmp(buf + rr.rdata, a4, 4),
	      "rr 1 back: %s", rr.name);
	CHECK(dns_read_rr(&r, &rr) == 0 && dns_name_eq(rr.name, "mail.example.com"), "rr 2 back: %s", rr.name);
	char t[DNS_NAME_TEXT_MAX + 1];
	CHECK(dns_read_rr(&r, &rr) == 0 && rr.type == DNS_T_PTR &&
		      dns_read_name(buf, b.len, rr.rdata, t, sizeof(t), NULL) > 0 && dns_name_eq(t, "mail.example.com") &&
		      rr.rdlen == 2,
	      "ptr target fully compressed: %s (%u bytes)", t, rr.rdlen);
	CHECK(dns_read_rr(&r, &rr) == 0 && rr.type == DNS_T_AAAA && dns_name_eq(rr.name, "www.example.com"),
	      "rr at back");
	CHECK(dns_read_rr(&r, &rr) == 0 && rr.type == DNS_T_OPT && rr.class == 1232 && (rr.ttl >> 24) == 1 &&
		      (rr.ttl & DNS_EDNS_DO),
	      "opt back");
	CHECK(r.off == b.len, "read to the end");

	/* overflow leaves the message intact */
	dns_builder_init(&b, buf, 40);
	dns_put_header(&b, &h);
	dns_put_question(&b, "a.example", DNS_T_A, DNS_C_IN);
	size_t l = b.len;
	int added = 0;
	while (dns_put_rr_at(&b, DNS_S_AN, 12, DNS_T_A, DNS_C_IN, 1, a4, 4) == 0)
		added++;
	CHECK(b.overflow && b.len == l + (size_t)added * 16 && b.len <= 40 && dns_rd16(buf + 6) == added,
	      "overflow: %d records fit, count consistent", added);

	/* queries */
	uint8_t qb[512];
	struct dns_query pq;
	size_t ql = mkquery(qb, sizeof(qb), 7, "Host.Example", DNS_T_AAAA, 4096);
	CHECK(dns_parse_query(qb, ql, &pq) == 0 && pq.h.id == 7 && !strcmp(pq.name, "Host.Example") &&
		      pq.qtype == DNS_T_AAAA && pq.edns && pq.edns_udp == 4096 && pq.qend == ql - 11,
	      "query parse with EDNS");
	ql = mkquery(qb, sizeof(qb), 7, "x", DNS_T_A, 0);
	CHECK(dns_parse_query(qb, ql, &pq) == 0 && !pq.edns && pq.edns_udp == 512, "query parse without EDNS");
	CHECK(dns_parse_query(qb, 11, &pq) == -1, "short message dropped");
	CHECK(dns_parse_query(qb, ql - 1, &pq) == DNS_R_FORMERR, "truncated question: FORMERR");
	qb[2] |= 0x80;
	CHECK(dns_parse_query(qb, ql, &pq) == -1, "response dropped");
	qb[2] = (uint8_t)(2 << 3);
	CHECK(dns_parse_query(qb, ql, &pq) == DNS_R_NOTIMP, "opcode STATUS: NOTIMP");
	qb[2] = 0;
	qb[5] = 2;
	CHECK(dns_parse_query(qb, ql, &pq) == DNS_R_FORMERR, "two questions: FORMERR");
	qb[5] = 0;
	CHECK(dns_parse_query(qb, ql, &pq) == DNS_R_FORMERR, "no question: FORMERR");
	qb[5] = 1;
	qb[11] = 1; /* an OPT-less additional count with nothing there */
	CHECK(dns_parse_query(qb, ql, &pq) == DNS_R_FORMERR, "missing additional record: FORMERR");
	/* two OPT records */
	ql = mkquery(qb, sizeof(qb), 7, "x", DNS_T_A, 1232);
	memcpy(qb + ql, qb + ql - 11, 11);
	dns_wr16(qb + 10, 2);
	CHECK(dns_parse_query(qb, ql + 11, &pq) == DNS_R_FORMERR, "two OPT records: FORMERR");
}

/* Handcrafted malicious names. */
static void test_compression_attacks(void)
{
	uint8_t m[600];
	char t[DNS_NAME_TEXT_MAX + 1];
	size_t end;
	struct dns_query q;
	memset(m, 0, sizeof(m));
	m[5] = 1; /* qdcount */

	m[12] = 0xc0, m[13] = 12;
	CHECK(dns_read_name(m, 18, 12, t, sizeof(t), &end) < 0, "pointer to itself");
	CHECK(dns_parse_query(m, 18, &q) == DNS_R_FORMERR, "pointer to itself: FORMERR");
	m[12] = 0xc0, m[13] = 14, m[14] = 0;
	CHECK(dns_read_name(m, 18, 12, t, sizeof(t), &end) < 0, "forward pointer");
	m[12] = 0xc0, m[13] = 0xff;
	CHECK(dns_read_name(m, 18, 12, t, sizeof(t), &end) < 0, "pointer past the end");
	m[12] = 0xc0;
	CHECK(dns_read_name(m, 13, 12, t, sizeof(t), &end) < 0, "truncated pointer");
	m[12] = 1, m[13] = 'a', m[14] = 0xc0, m[15] = 12;
	CHECK(dns_read_name(m, 20, 14, t, sizeof(t), &end) < 0, "label/pointer loop");
	CHECK(dns_read_name(m, 20, 12, t, sizeof(t), &end) < 0, "label/pointer loop from the label");
	m[12] = 63, m[13] = 'a';
	CHECK(dns_read_name(m, 30, 12, t, sizeof(t), &end) < 0, "label longer than the message");
	m[12] = 0x40;
	CHECK(dns_read_name(m, 30, 12, t, sizeof(t), &end) < 0, "extended label type");
	m[12] = 0x80;
	CHECK(dns_read_name(m, 30, 12, t, sizeof(t), &end) < 0, "reserved label type");

	/* 5 x 63-byte labels: too long even though it is all in the message */
	memset(m + 12, 'a', 5 * 64 + 1);
	for (int i = 0; i < 5; i++)
		m[12 + 64 * i] = 63;
	m[12 + 5 * 64] = 0;
	CHECK(dns_read_name(m, 12 + 5 * 64 + 1, 12, t, sizeof(t), &end) < 0, "name over 255 bytes");
	/* the same length reached through pointers */
	size_t o = 12;
	m[o++] = 0;
	for (int i = 0; i < 5; i++) {
		size_t prev = i == 0 ? 12 : o - 66;
		m[o++] = 63;
		memset(m + o, 'b', 63);
		o += 63;
		m[o++] = 0xc0;
		m[o++] = (uint8_t)prev;
		if (prev > 255)
			m[o - 2] = (uint8_t)(0xc0 | (prev >> 8)), m[o - 1] = (uint8_t)prev;
	}
	CHECK(dns_read_name(m, o, o - 66, t, sizeof(t), &end) < 0, "name over 255 bytes via pointers");
	CHECK(dns_read_name(m, o, o - 66 * 3, t, sizeof(t), &end) == 64 * 3 + 1, "three of them are fine");

	/* pointer chains: each pointer points at the previous one */
	o = 12;
	m[o++] = 0;
	for (int i = 0; i < 100; i++) {
		size_t prev = i == 0 ? 12 : o - 2;
		m[o] = (uint8_t)(0xc0 | (prev >> 8));
		m[o + 1] = (uint8_t)prev;
		o += 2;
	}
	CHECK(dns_read_name(m, o, 13 + 2 * 9, t, sizeof(t), &end) == 1 && end == 13 + 2 * 10, "10 hops ok");
	CHECK(dns_read_name(m, o, o - 2, t, sizeof(t), &end) < 0, "100 hops refused");

	/* the text form can be 4x the wire form */
	memset(m + 12, 0x01, 64);
	m[12] = 63;
	m[12 + 64] = 0;
	CHECK(dns_read_name(m, 12 + 65, 12, t, sizeof(t), &end) == 65 && strlen(t) == 63 * 4, "escaped label");
	CHECK(dns_read_name(m, 12 + 65, 12, t, 100, &end) < 0, "small output buffer refused");
}

/* Random and mutated messages through every parser. */
static void fuzz_one(const uint8_t *m, size_t len)
{
	struct dns_query q;
	int rc = dns_parse_query(m, len, &q);
	if (rc == 0 && (q.qend > len || strlen(q.name) > DNS_NAME_TEXT_MAX))
		CHECK(0, "parse_query invariant broken");
	struct dns_reader r;
	if (dns_reader_init(&r, m, len) == 0) {
		struct dns_question dq;
		static struct dns_rr rr;
		int nq = r.h.qdcount, nr = r.h.ancount + r.h.nscount + r.h.arcount;
		bool ok = true;
		for (int i = 0; i < nq && ok; i++)
			ok = dns_read_question(&r, &dq) == 0 && r.off <= len;
		for (int i = 0; i < nr && ok; i++) {
			ok = dns_read_rr(&r, &rr) == 0 && r.off <= len && rr.rdata + rr.rdlen <= len;
			if (ok && (rr.type == DNS_T_PTR || rr.type == DNS_T_CNAME || rr.type == DNS_T_NS)) {
				char t[DNS_NAME_TEXT_MAX + 1];
				dns_read_name(m, len, rr.rdata, t, sizeof(t), NULL);
			}
		}
	}
	char t[DNS_NAME_TEXT_MAX + 1];
	size_t end = 0;
	for (int i = 0; i < 4 && len; i++) {
		size_t off = rnd() % len;
		if (dns_read_name(m, len, off, rnd() % 2 ? t : NULL, sizeof(t), &end) >= 0 && end > len)
			CHECK(0, "read_name end past the message");
	}
}

static size_t sample_response(uint8_t *buf, size_t cap)
{
	struct dns_builder b;
	struct dns_header h = {.id = 1, .flags = DNS_F_QR};
	uint8_t a4[4] = {1, 2, 3, 4};
	dns_builder_init(&b, buf, cap);
	dns_put_header(&b, &h);
	dns_put_question(&b, "www.example.com", DNS_T_A, DNS_C_IN);
	dns_put_rr_name(&b, DNS_S_AN, "www.example.com", DNS_T_CNAME, DNS_C_IN, 5, "web.example.com");
	dns_put_rr(&b, DNS_S_AN, "web.example.com", DNS_T_A, DNS_C_IN, 5, a4, 4);
	dns_put_rr_name(&b, DNS_S_NS, "example.com", DNS_T_NS, DNS_C_IN, 5, "ns1.example.com");
	dns_put_opt(&b, 1232, 0, 0, 0);
	return b.len;
}

static void test_fuzz(void)
{
	uint8_t seed[2][600], m[700];
	size_t sl[2];
	sl[0] = mkquery(seed[0], sizeof(seed[0]), 1, "www.example.com", DNS_T_A, 1232);
	sl[1] = sample_response(seed[1], sizeof(seed[1]));
	int fails0 = unit_fails;
	double t0 = now_ms();
	int n = 0;
	for (; n < 300000; n++) {
		size_t len;
		if (n % 3 == 0) { /* random bytes, with compression-ish bytes common */
			len = rnd() % 600;
			for (size_t i = 0; i < len; i++) {
				uint32_t v = rnd();
				m[i] = (uint8_t)(v % 4 == 0 ? 0xc0 | (v >> 8) % 4 : v % 4 == 1 ? (v >> 8) % 64 : v >> 8);
			}
			if (len >= 12 && rnd() % 2)
				m[4] = 0, m[5] = 1, m[2] &= 0x7f;
		} else { /* mutated valid messages */
			const uint8_t *s = seed[n % 2 == 0];
			len = sl[n % 2 == 0];
			memcpy(m, s, len);
			int k = 1 + (int)(rnd() % 4);
			for (int i = 0; i < k; i++) {
				size_t at = rnd() % len;
				switch (rnd() % 4) {
				case 0: m[at] ^= (uint8_t)(1 << (rnd() % 8)); break;
				case 1: m[at] = (uint8_t)rnd(); break;
				case 2: m[at] = (uint8_t)(0xc0 | rnd() % 2), m[(at + 1) % len] = (uint8_t)rnd(); break;
				default: m[at] = (uint8_t)(rnd() % 70); break;
				}
			}
			if (rnd() % 4 == 0)
				len = rnd() % (len + 1);
		}
		fuzz_one(m, len);
	}
	CHECK(unit_fails == fails0, "%d fuzzed messages through the parsers in %.0f ms", n, now_ms() - t0);
}

/* ================= server ================= */

static const char *records_v1 =
	"# test network\n"
	"web 10.89.0.2 10.89.0.3 10.89.0.4\n"
	"db 10.89.0.5 fd00::5\n"
	"  c1   alias1\tsvc.Local. 10.89.0.6   # a container with aliases\n"
	"v6only fd00::7\n"
	"web 10.89.0.3\n" /* duplicate: merged */
	"broken\n"
	"bad..name 10.89.0.99\n"
	"1.2.3.4 notaname\n";

static char many_records[8192];

static void test_local(void)
{
	struct ans a;
	CHECK(ask("web", DNS_T_A, &a) == 0 && a.rcode == 0 && a.n == 3 && (a.flags & DNS_F_AA) &&
		      (a.flags & DNS_F_QR) && (a.flags & DNS_F_RD) && a.qd == 1 && !strcmp(a.qname, "web"),
	      "web A: %d addresses, rcode %d", a.n, a.rcode);
	CHECK(has(&a, "10.89.0.2") && has(&a, "10.89.0.3") && has(&a, "10.89.0.4"), "web A: the three addresses");

	/* round-robin: the first address changes on every query, all three come first */
	char first[3][INET6_ADDRSTRLEN];
	bool ok = true;
	for (int i = 0; i < 3; i++) {
		ok = ok && ask("web", DNS_T_A, &a) == 0 && a.n == 3;
		strcpy(first[i], a.addr[0]);
	}
	CHECK(ok && strcmp(first[0], first[1]) && strcmp(first[1], first[2]) && strcmp(first[0], first[2]),
	      "round-robin: %s, %s, %s first", first[0], first[1], first[2]);
	ask("web", DNS_T_A, &a);
	char order[2][160];
	snprintf(order[0], sizeof(order[0]), "%s %s %s", a.addr[0], a.addr[1], a.addr[2]);
	ask("web", DNS_T_A, &a);
	ask("web", DNS_T_A, &a);
	ask("web", DNS_T_A, &a);
	snprintf(order[1], sizeof(order[1]), "%s %s %s", a.addr[0], a.addr[1], a.addr[2]);
	CHECK(!strcmp(order[1], order[0]), "round-robin: rotation, period 3 (%s)", order[0]);

	CHECK(ask("WEB", DNS_T_A, &a) == 0 && a.n == 3 && !strcmp(a.qname, "WEB"), "case-insensitive, case echoed");
	CHECK(ask("wEb.", DNS_T_A, &a) == 0 && a.n == 3, "trailing dot");
	CHECK(ask("db", DNS_T_AAAA, &a) == 0 && a.rcode == 0 && a.n == 1 && !strcmp(a.addr[0], "fd00::5"), "db AAAA");
	CHECK(ask("db", DNS_T_A, &a) == 0 && a.n == 1 && !strcmp(a.addr[0], "10.89.0.5"), "db A");
	CHECK(ask("db", DNS_T_ANY, &a) == 0 && a.n == 2, "db ANY: both");
	CHECK(ask("v6only", DNS_T_A, &a) == 0 && a.rcode == 0 && a.an == 0 && (a.flags & DNS_F_AA),
	      "v6only A: empty NOERROR");
	CHECK(ask("web", DNS_T_MX, &a) == 0 && a.rcode == 0 && a.an == 0, "web MX: empty NOERROR");
	CHECK(ask("web", DNS_T_TXT, &a) == 0 && a.rcode == 0 && a.an == 0, "web TXT: empty NOERROR");
	CHECK(ask("alias1", DNS_T_A, &a) == 0 && a.n == 1 && !strcmp(a.addr[0], "10.89.0.6"), "alias");
	CHECK(ask("svc.local", DNS_T_A, &a) == 0 && a.n == 1 && !strcmp(a.addr[0], "10.89.0.6"), "dotted alias");
	CHECK(ask("c1", DNS_T_A, &a) == 0 && a.n == 1, "container name");
	CHECK(ask("6.0.89.10.in-addr.arpa", DNS_T_PTR, &a) == 0 && a.rcode == 0 && !strcmp(a.ptr, "c1"),
	      "PTR v4 -> %s", a.ptr);
	CHECK(ask("5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", DNS_T_PTR, &a) == 0 &&
		      !strcmp(a.ptr, "db"),
	      "PTR v6 -> %s", a.ptr);
	CHECK(ask("3.0.89.10.in-addr.arpa", DNS_T_PTR, &a) == 0 && !strcmp(a.ptr, "web"), "PTR of a shared name");
	struct dnsd_stats st = stats();
	CHECK(st.bad_lines == 3 && st.names == 7, "records: %u names, %u bad lines", st.names, st.bad_lines);

	/* EDNS and truncation */
	CHECK(ask_edns("web", DNS_T_A, 1232, &a) == 0 && a.opt && a.n == 3, "EDNS query: OPT in the answer");
	CHECK(ask("many", DNS_T_A, &a) == 0 && (a.flags & DNS_F_TC) && a.n > 0 && a.n < 100 && a.len <= 512,
	      "100 addresses over UDP: TC, %d fit in %zu bytes", a.n, a.len);
	CHECK(ask_edns("many", DNS_T_A, 4096, &a) == 0 && (a.flags & DNS_F_TC) && a.len <= 1232 && a.n > 60 && a.opt,
	      "with EDNS: %d in %zu bytes", a.n, a.len);
	CHECK(ask_tcp("many", DNS_T_A, &a) == 0 && !(a.flags & DNS_F_TC) && a.n == 100, "over TCP: all %d", a.n);
}

static int wait_for(const char *name, const char *addr, int max_ms)
{
	double t0 = now_ms();
	while (now_ms() - t0 < max_ms) {
		struct ans a;
		if (ask(name, DNS_T_A, &a) == 0 && (addr ? has(&a, addr) : a.rcode == DNS_R_NXDOMAIN))
			return (int)(now_ms() - t0);
		msleep(1);
	}
	return -1;
}

static void test_reload(void)
{
	char text[16384];
	snprintf(text, sizeof(text), "%s%snewc 10.89.0.9\n", records_v1, many_records);
	replace_file(rec_path, text);
	int ms = wait_for("newc", "10.89.0.9", 1000);
	CHECK(ms >= 0 && ms < 100, "new name (atomic replace) answered after %d ms", ms);

	snprintf(text, sizeof(text), "%s%snewc 10.89.0.9\nnewc2 10.89.0.10\n", records_v1, many_records);
	write_file(rec_path, text); /* in place */
	ms = wait_for("newc2", "10.89.0.10", 1000);
	CHECK(ms >= 0 && ms < 100, "new name (in-place rewrite) answered after %d ms", ms);

	snprintf(text, sizeof(text), "%s%s", records_v1, many_records);
	replace_file(rec_path, text);
	ms = wait_for("newc", NULL, 1000);
	CHECK(ms >= 0 && ms < 100, "removed name forwarded (upstream NXDOMAIN) after %d ms", ms);
	struct ans a;
	CHECK(ask("web", DNS_T_A, &a) == 0 && a.n == 3, "old names still there");
}

static void test_forward(void)
{
	struct ans a;
	int q0 = up.queries;
	up.saw_same_id = 0;
	bool ok = true;
	for (int i = 0; i < 5; i++)
		ok = ok && ask("fwd.example", DNS_T_A, &a) == 0 && a.rcode == 0 && a.n == 1 &&
		     !strcmp(a.addr[0], "192.0.2.1") && a.id == next_id - 1 && !(a.flags & DNS_F_AA);
	CHECK(ok && up.queries - q0 == 5, "forwarded: answer relayed with the client's ID");
	CHECK(up.saw_same_id < 5, "upstream saw rewritten IDs");

	double t0 = now_ms();
	CHECK(ask("nx.example", DNS_T_A, &a) == 0 && a.rcode == DNS_R_NXDOMAIN && now_ms() - t0 < 200,
	      "NXDOMAIN relayed in %.1f ms", now_ms() - t0);
	CHECK(ask("NX.Example.", DNS_T_AAAA, &a) == 0 && a.rcode == DNS_R_NXDOMAIN && !strcmp(a.qname, "NX.Example"),
	      "NXDOMAIN with the client's case");

	int s0 = up.silent;
	t0 = now_ms();
	int rc = ask("silent.example", DNS_T_A, &a);
	double el = now_ms() - t0;
	CHECK(rc == 0 && a.rcode == DNS_R_SERVFAIL && el > 1800 && el < 2600 && a.qd == 1,
	      "no upstream answer: SERVFAIL after %.0f ms", el);
	CHECK(up.silent - s0 == 2, "query re-sent once to the lone upstream (%d sends)", up.silent - s0);

	uint64_t sp = stats().spoofed;
	CHECK(ask("spoof.example", DNS_T_A, &a) == 0 && a.n == 1 && !strcmp(a.addr[0], "192.0.2.7"),
	      "spoofed replies ignored: got %s", a.n ? a.addr[0] : "nothing");
	CHECK(stats().spoofed > sp, "wrong-question reply counted as spoofed");

	CHECK(ask("big.example", DNS_T_A, &a) == 0 && (a.flags & DNS_F_TC), "truncated upstream reply relayed");
	int tq = up.tcp_queries;
	CHECK(ask_tcp("big.example", DNS_T_A, &a) == 0 && a.n == 200 && a.rcode == 0 && up.tcp_queries == tq + 1,
	      "TCP client forwarded over TCP: %d answers", a.n);
	CHECK(ask_tcp("fwd.example", DNS_T_A, &a) == 0 && a.n == 1 && !strcmp(a.addr[0], "192.0.2.1"), "TCP forward");
	CHECK(ask("refused.example", DNS_T_A, &a) == 0 && a.rcode == DNS_R_REFUSED, "REFUSED from the only upstream");
	msleep(20); /* the reply reaches us before the server thread frees the slot */
	CHECK(stats().inflight == 0, "nothing left in flight");
}

static void test_tcp(void)
{
	struct ans a;
	uint8_t buf[65536];
	CHECK(ask_tcp("web", DNS_T_A, &a) == 0 && a.n == 3, "TCP local query");

	/* two pipelined queries in one write, one local and one forwarded */
	uint8_t q[1024];
	size_t l1 = mkquery(q + 2, 500, 0x1111, "db", DNS_T_AAAA, 0);
	dns_wr16(q, (uint16_t)l1);
	size_t l2 = mkquery(q + 4 + l1, 500, 0x2222, "fwd.example", DNS_T_A, 0);
	dns_wr16(q + 2 + l1, (uint16_t)l2);
	int fd = tcp_connect(port);
	bool got1 = false, got2 = false;
	if (fd >= 0 && write(fd, q, l1 + l2 + 4) == (ssize_t)(l1 + l2 + 4)) {
		for (int i = 0; i < 2; i++) {
			ssize_t n = tcp_read_msg(fd, buf);
			if (n < 0 || parse_ans(buf, (size_t)n, &a) < 0)
				break;
			got1 |= a.id == 0x1111 && a.n == 1 && !strcmp(a.addr[0], "fd00::5");
			got2 |= a.id == 0x2222 && a.n == 1 && !strcmp(a.addr[0], "192.0.2.1");
		}
	}
	CHECK(got1 && got2, "pipelined TCP queries both answered");

	/* the same connection again, one byte at a time */
	size_t l = mkquery(q + 2, 500, 0x3333, "web", DNS_T_A, 0);
	dns_wr16(q, (uint16_t)l);
	bool ok = fd >= 0;
	for (size_t i = 0; ok && i < l + 2; i++)
		ok = write(fd, q + i, 1) == 1;
	ssize_t n = ok ? tcp_read_msg(fd, buf) : -1;
	CHECK(n > 0 && parse_ans(buf, (size_t)n, &a) == 0 && a.id == 0x3333 && a.n == 3, "byte-by-byte TCP query");
	if (fd >= 0)
		close(fd);

	/* half-close after the query: still answered */
	fd = tcp_connect(port);
	n = -1;
	if (fd >= 0 && write(fd, q, l + 2) == (ssize_t)l + 2) {
		shutdown(fd, SHUT_WR);
		n = tcp_read_msg(fd, buf);
	}
	CHECK(n > 0, "query then half-close answered");
	if (fd >= 0)
		close(fd);

	/* a too-short message closes the connection */
	fd = tcp_connect(port);
	uint8_t junk[5] = {0, 3, 1, 2, 3};
	n = 1;
	if (fd >= 0 && write(fd, junk, 5) == 5)
		n = read(fd, buf, sizeof(buf));
	CHECK(n == 0, "malformed TCP length: connection closed");
	if (fd >= 0)
		close(fd);

	/* the connection limit: 80 idle connections, then a query still works */
	int fds[80];
	for (int i = 0; i < 80; i++)
		fds[i] = tcp_connect(port);
	msleep(50);
	CHECK(ask_tcp("web", DNS_T_A, &a) == 0 && a.n == 3, "query with 80 idle connections open");
	CHECK(stats().tcp_conns <= 64, "connections bounded (%u)", stats().tcp_conns);
	for (int i = 0; i < 80; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void test_malformed(void)
{
	struct ans a;
	uint8_t m[700], seed[512];
	size_t sl = mkquery(seed, sizeof(seed), 0x4242, "web", DNS_T_A, 1232);
	int fd = udp_sock(port);
	uint64_t q0 = stats().queries;
	for (int i = 0; i < 5000; i++) {
		size_t len;
		if (i % 2) {
			len = rnd() % 600;
			for (size_t k = 0; k < len; k++)
				m[k] = (uint8_t)rnd();
		} else {
			memcpy(m, seed, sl);
			len = sl;
			for (int k = 0; k < 3; k++)
				m[rnd() % sl] = (uint8_t)rnd();
			if (rnd() % 3 == 0)
				len = rnd() % (sl + 1);
		}
		m[2] &= 0x7f; /* queries, mostly */
		if (send(fd, m, len, 0) < 0)
			break;
		if (i % 64 == 63) {
			while (recv(fd, m, sizeof(m), MSG_DONTWAIT) > 0)
				;
			msleep(1);
		}
	}
	msleep(100);
	while (recv(fd, m, sizeof(m), MSG_DONTWAIT) > 0)
		;
	close(fd);
	CHECK(ask("web", DNS_T_A, &a) == 0 && a.n == 3, "server fine after 5000 junk datagrams (%llu seen)",
	      (unsigned long long)(stats().queries - q0));

	/* an oversized datagram */
	static uint8_t huge[8192];
	memcpy(huge, seed, sl);
	fd = udp_sock(port);
	CHECK(send(fd, huge, sizeof(huge), 0) == (ssize_t)sizeof(huge) && recv_id(fd, 0x4242, m, sizeof(m), 200) < 0,
	      "oversized datagram dropped");
	close(fd);

	size_t l = mkquery(m, sizeof(m), next_id++, "web", DNS_T_A, 0);
	m[2] |= 0x80;
	CHECK(ask_raw(m, l, &a, 200) < 0, "response sent to the server: ignored");
	m[2] = (uint8_t)(5 << 3); /* UPDATE */
	CHECK(ask_raw(m, l, &a, 1000) == 0 && a.rcode == DNS_R_NOTIMP, "UPDATE: NOTIMP");
	m[2] = DNS_F_RD >> 8;
	m[5] = 2;
	CHECK(ask_raw(m, l, &a, 1000) == 0 && a.rcode == DNS_R_FORMERR && a.qd == 0, "two questions: FORMERR");
	l = mkquery(m, sizeof(m), next_id++, "web", DNS_T_A, 1232);
	m[l - 11 + 6] = 1; /* EDNS version 1 */
	CHECK(ask_raw(m, l, &a, 1000) == 0 && a.rcode == DNS_R_BADVERS && a.opt, "EDNS version 1: BADVERS");
	l = mkquery(m, sizeof(m), next_id++, "web", DNS_T_A, 0);
	m[12] = 0xc0, m[13] = 12;
	CHECK(ask_raw(m, l, &a, 1000) == 0 && a.rcode == DNS_R_FORMERR, "compression loop in the question: FORMERR");
}

static void test_outer_loop(void)
{
	/* no upstreams: forwarded names SERVFAIL at once; driven by poll() */
	struct dnsd *d = NULL;
	struct berr *e = NULL;
	int rc = dnsd_new("127.0.0.1", 0, rec_path, NULL, &d, &e);
	CHECK(rc == 0, "second server: %s", e ? e->msg : "ok");
	if (rc < 0) {
		berr_free(e);
		return;
	}
	int pfd[4], n = dnsd_fds(d, pfd, 4);
	int fd = udp_sock(dnsd_port(d));
	uint8_t q[512], r[2048];
	const char *names[] = {"web", "elsewhere.example"};
	for (int i = 0; i < 2; i++) {
		size_t l = mkquery(q, sizeof(q), (uint16_t)(77 + i), names[i], DNS_T_A, 0);
		send(fd, q, l, 0);
		ssize_t got = -1;
		for (int k = 0; k < 20 && got < 0; k++) {
			struct pollfd p = {pfd[0], POLLIN, 0};
			if (n == 1 && poll(&p, 1, 50) > 0)
				dnsd_dispatch(d, 0, &e);
			got = recv(fd, r, sizeof(r), MSG_DONTWAIT);
		}
		struct ans a;
		CHECK(got > 0 && parse_ans(r, (size_t)got, &a) == 0 &&
			      (i == 0 ? a.n == 3 : a.rcode == DNS_R_SERVFAIL),
		      "outer poll loop: %s", names[i]);
	}
	close(fd);
	dnsd_free(d);

	/* a resolv.conf naming the server itself */
	char path[160];
	snprintf(path, sizeof(path), "%s/resolv-stub.conf", tmpdir);
	write_file(path, "nameserver 127.0.0.1:15399\nnameserver 127.0.0.2:15399\n");
	d = NULL;
	if (dnsd_new("127.0.0.1", 15399, NULL, path, &d, &e) == 0) {
		struct dnsd_stats st;
		dnsd_get_stats(d, &st);
		CHECK(st.upstreams == 1, "our own address is not an upstream (%u)", st.upstreams);
		dnsd_free(d);
	}
	berr_free(e);
	e = NULL;

	/* loopback nameservers skipped only when asked */
	write_file(path, "# systemd-resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\n"
			 "search example.org\nnameserver ::1\nnameserver 192.0.2.53\nnameserver bogus\n");
	struct dnsd_opts o = {.skip_loopback = true};
	struct dnsd_stats st;
	d = NULL;
	if (dnsd_new_opts("127.0.0.1", 0, NULL, path, &o, &d, &e) == 0) {
		dnsd_get_stats(d, &st);
		CHECK(st.upstreams == 1, "skip_loopback: %u upstream", st.upstreams);
		dnsd_free(d);
	}
	d = NULL;
	if (dnsd_new("::1", 0, NULL, path, &d, &e) == 0) {
		dnsd_get_stats(d, &st);
		CHECK(st.upstreams == 3, "default keeps loopback nameservers: %u", st.upstreams);
		dnsd_free(d);
	} else {
		CHECK(1, "# no IPv6 loopback: %s", e->msg);
	}
	berr_free(e);
	e = NULL;
	CHECK(dnsd_new("10.0.0.300", 0, NULL, NULL, &d, &e) < 0 && e && e->code == BERR_INVALID,
	      "bad listen address: %s", e ? e->msg : "");
	berr_free(e);
}

static double loadavg(void)
{
	double l = 0;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = 0;
		fclose(f);
	}
	return l;
}

/* Other work competing for the CPUs makes timing checks meaningless. */
static bool loaded(void) { return loadavg() >= (double)sysconf(_SC_NPROCESSORS_ONLN); }

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void test_perf(void)
{
	int fd = udp_sock(port);
	int rcvbuf = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	uint8_t q[512], r[2048];
	size_t l = mkquery(q, sizeof(q), 0, "web", DNS_T_A, 0);

	/* latency: one query at a time, the client spinning; best of three
	 * runs, the machine may be shared */
	enum { NSEQ = 10000 };
	static double lat[NSEQ];
	double best = 1e9;
	for (int run = 0; run < 3 && best >= 1000; run++) {
		int got = 0;
		double t0 = now_ms();
		for (int i = 0; i < NSEQ; i++) {
			dns_wr16(q, (uint16_t)i);
			double s = now_ms();
			send(fd, q, l, 0);
			if (recv_id_spin(fd, (uint16_t)i, r, sizeof(r), 1000) > 0)
				lat[got++] = (now_ms() - s) * 1000;
		}
		double seq_ms = now_ms() - t0;
		qsort(lat, (size_t)got, sizeof(double), cmp_double);
		double p99 = got ? lat[got * 99 / 100] : 1e9;
		printf("# sequential: %d/%d answered, %.0f qps, latency p50 %.1f us, p99 %.1f us, max %.1f us\n", got,
		       NSEQ, got / seq_ms * 1000, got ? lat[got / 2] : 0, p99, got ? lat[got - 1] : 0);
		if (got == NSEQ && p99 < best)
			best = p99;
	}
	if (best >= 1000 && loaded())
		printf("skip - local names: p99 %.1f us, not judged with load %.1f on %ld CPUs\n", best, loadavg(),
		       sysconf(_SC_NPROCESSORS_ONLN));
	else
		CHECK(best < 1000, "local names: p99 %.1f us (one outstanding)", best);

	/* throughput: up to 64 outstanding */
	enum { NWIN = 200000, WIN = 64 };
	static double sent_at[65536];
	static double wl[NWIN];
	int sent = 0, recvd = 0, inflight = 0, lost = 0, nwl = 0;
	double t0 = now_ms();
	while (recvd + lost < NWIN) {
		while (inflight < WIN && sent < NWIN) {
			dns_wr16(q, (uint16_t)sent);
			sent_at[sent & 0xffff] = now_ms();
			if (send(fd, q, l, 0) < 0)
				break;
			sent++;
			inflight++;
		}
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 500) <= 0) { /* lost ones */
			lost += inflight;
			inflight = 0;
			continue;
		}
		ssize_t n;
		while ((n = recv(fd, r, sizeof(r), MSG_DONTWAIT)) > 0) {
			recvd++;
			if (inflight > 0)
				inflight--;
			wl[nwl++] = (now_ms() - sent_at[dns_rd16(r)]) * 1000;
		}
	}
	double win_ms = now_ms() - t0;
	qsort(wl, (size_t)nwl, sizeof(double), cmp_double);
	double qps = recvd / win_ms * 1000;
	printf("# windowed (%d outstanding): %d answered, %d lost, %.0f qps, latency p50 %.1f us, p99 %.1f us\n", WIN,
	       recvd, lost, qps, nwl ? wl[nwl / 2] : 0, nwl ? wl[nwl * 99 / 100] : 0);
	if (qps <= 20000 && loaded())
		printf("skip - local names: %.0f qps, not judged with load %.1f\n", qps, loadavg());
	else
		CHECK(qps > 20000, "local names: %.0f qps", qps);
	close(fd);
}

/* ---- main ---- */

static volatile int serve_stop;
static void on_signal(int sig) { (void)sig; serve_stop = 1; }

static int serve(char **argv)
{
	struct dnsd *d = NULL;
	struct berr *e = NULL;
	if (dnsd_new(argv[2], atoi(argv[3]), argv[4], argv[5], &d, &e) < 0) {
		fprintf(stderr, "dnsd: %s\n", e->msg);
		berr_free(e);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	int rc = dnsd_run(d, &serve_stop, &e);
	struct dnsd_stats st;
	dnsd_get_stats(d, &st);
	fprintf(stderr, "queries %llu local %llu forwarded %llu servfail %llu dropped %llu\n",
		(unsigned long long)st.queries, (unsigned long long)st.local, (unsigned long long)st.forwarded,
		(unsigned long long)st.servfail, (unsigned long long)st.dropped);
	dnsd_free(d);
	berr_free(e);
	return rc < 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 6 && !strcmp(argv[1], "--serve"))
		return serve(argv);
	signal(SIGPIPE, SIG_IGN);
	rng ^= (uint64_t)time(NULL);
	printf("# random seed %llu\n", (unsigned long long)rng); /* for replaying a fuzz failure */

	test_names();
	test_ptr_names();
	test_build_parse();
	test_compression_attacks();
	test_fuzz();

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-dns.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		CHECK(0, "mkdtemp");
		UNIT_END();
	}
	snprintf(rec_path, sizeof(rec_path), "%s/hosts", tmpdir);
	snprintf(resolv_path, sizeof(resolv_path), "%s/resolv.conf", tmpdir);
	size_t o = (size_t)snprintf(many_records, sizeof(many_records), "many");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(many_records + o, sizeof(many_records) - o, " 10.90.0.%d", i + 1);
	snprintf(many_records + o, sizeof(many_records) - o, "\n");
	char text[16384];
	snprintf(text, sizeof(text), "%s%s", records_v1, many_records);
	write_file(rec_path, text);

	if (up_start() < 0) {
		CHECK(0, "fake upstream on 127.0.0.2");
	} else {
		char rc[128];
		snprintf(rc, sizeof(rc), "search example.org\nnameserver 127.0.0.2:%d\n", up.port);
		write_file(resolv_path, rc);
		struct berr *e = NULL;
		int r = dnsd_new("127.0.0.1", 0, rec_path, resolv_path, &srv.d, &e);
		CHECK(r == 0, "server on 127.0.0.1: %s", e ? e->msg : "ok");
		berr_free(e);
		if (r == 0) {
			port = dnsd_port(srv.d);
			CHECK(port > 1024, "listening on port %d, upstream 127.0.0.2:%d", port, up.port);
			qsock = udp_sock(port);
			pthread_create(&srv.th, NULL, srv_main, NULL);
			test_local();
			test_reload();
			test_forward();
			test_tcp();
			test_malformed();
			test_perf();
			srv.stop = 1;
			pthread_join(srv.th, NULL);
			struct dnsd_stats st;
			dnsd_get_stats(srv.d, &st);
			printf("# server: %llu queries, %llu local, %llu forwarded, %llu servfail, %llu formerr, %llu "
			       "dropped, %llu spoofed, %llu reloads\n",
			       (unsigned long long)st.queries, (unsigned long long)st.local,
			       (unsigned long long)st.forwarded, (unsigned long long)st.servfail,
			       (unsigned long long)st.formerr, (unsigned long long)st.dropped,
			       (unsigned long long)st.spoofed, (unsigned long long)st.reloads);
			close(qsock);
			dnsd_free(srv.d);
		}
		test_outer_loop();
		up_stop();
	}

	char p[200];
	const char *files[] = {"hosts", "hosts.tmp", "resolv.conf", "resolv-stub.conf"};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", tmpdir, files[i]);
		unlink(p);
	}
	rmdir(tmpdir);
	UNIT_END();
}
