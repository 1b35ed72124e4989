/* rtnetlink tests against the kernel: needs root. The process moves to a
 * network namespace of its own ("A", standing in for the host) and makes
 * more ("B", the container's, and one per timing round) held only by fds,
 * so nothing can be left in the real host namespace or under /run/netns.
 * Results are checked through `ip` and through UDP traffic. */
#include "net/netlink.h"
#include "unit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool have_ip;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *newns_thread(void *p)
{
	int *fd = p;
	if (unshare(CLONE_NEWNET) == 0)
		*fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return NULL;
}

/* A fresh netns that only the returned fd keeps alive. */
static int netns_new(void)
{
	int fd = -1;
	pthread_t t;
	if (pthread_create(&t, NULL, newns_thread, &fd))
		return -1;
	pthread_join(t, NULL);
	return fd;
}

struct sock_in {
	int nsfd, domain, type, fd;
};

static void *sock_in_thread(void *p)
{
	struct sock_in *s = p;
	if (setns(s->nsfd, CLONE_NEWNET) == 0)
		s->fd = socket(s->domain, s->type | SOCK_CLOEXEC, 0);
	return NULL;
}

/* A socket in netns nsfd (-1: the current one). */
static int socket_in(int nsfd, int domain, int type)
{
	if (nsfd < 0)
		return socket(domain, type | SOCK_CLOEXEC, 0);
	struct sock_in s = {nsfd, domain, type, -1};
	pthread_t t;
	if (pthread_create(&t, NULL, sock_in_thread, &s))
		return -1;
	pthread_join(t, NULL);
	return s.fd;
}

static ino_t thread_netns_ino(void)
{
	struct stat st;
	return stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
}

/* stdout of `sh -c cmd` run in netns nsfd (-1: the current one). */
static const char *run(int nsfd, const char *cmd)
{
	static char out[16384];
	out[0] = 0;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return out;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		dup2(p[1], 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (pid > 0 && n < sizeof(out) - 1 && (r = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return out;
}

/* The word after the first " key " in s, or "". */
static const char *word_after(const char *s, const char *key)
{
	static char w[128];
	w[0] = 0;
	size_t kl = strlen(key);
	for (const char *p = s; (p = strstr(p, key)); p += kl) {
		if ((p != s && p[-1] != ' ' && p[-1] != '\t') || (p[kl] != ' ' && p[kl] != '\t'))
			continue;
		p += kl;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, " \t\n\\");
		if (n >= sizeof(w))
			n = sizeof(w) - 1;
		memcpy(w, p, n);
		w[n] = 0;
		break;
	}
	return w;
}

static bool has_name(char **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

static void names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static size_t count_prefix(char **v, size_t n, const char *prefix)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += !strncmp(v[i], prefix, strlen(prefix));
	return c;
}

static void sa_make(int family, const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		inet_pton(AF_INET, ip, &s->sin_addr);
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &s->sin6_addr);
		*len = sizeof(*s);
	}
}

/* UDP from a (current netns) to b_ip in netns nsb and back; the first
 * packets may be lost while the links' carrier settles. */
static bool udp_roundtrip(int nsb, int family, const char *a_ip, const char *b_ip)
{
	bool ok = false;
	int sa = socket_in(-1, family, SOCK_DGRAM), sb = socket_in(nsb, family, SOCK_DGRAM);
	struct sockaddr_storage ab, bb;
	socklen_t al, bl;
	sa_make(family, a_ip, 0, &ab, &al);
	sa_make(family, b_ip, 40000 + getpid() % 20000, &bb, &bl);
	if (sa < 0 || sb < 0 || bind(sa, (struct sockaddr *)&ab, al) < 0 || bind(sb, (struct sockaddr *)&bb, bl) < 0)
		goto out;
	char buf[64];
	bool got = false;
	for (int i = 0; i < 100 && !got; i++) {
		sendto(sa, "ping", 4, 0, (struct sockaddr *)&bb, bl);
		struct pollfd pf = {sb, POLLIN, 0};
		if (poll(&pf, 1, 50) == 1) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(sb, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n == 4 && !memcmp(buf, "ping", 4)) {
				got = true;
				sendto(sb, "pong", 4, 0, (struct sockaddr *)&from, fl);
			}
		}
	}
	struct pollfd pf = {sa, POLLIN, 0};
	ok = got && poll(&pf, 1, 2000) == 1 && recv(sa, buf, sizeof(buf), 0) == 4 && !memcmp(buf, "pong", 4);
out:
	if (sa >= 0)
		close(sa);
	if (sb >= 0)
		close(sb);
	return ok;
}

/* A UDP connect() from netns ns to an off-link address: only works through
 * the default route; returns the source address chosen, "" on failure. */
static const char *route_src(int ns, int family, const char *dst)
{
	static char s[INET6_ADDRSTRLEN];
	s[0] = 0;
	int fd = socket_in(ns, family, SOCK_DGRAM);
	struct sockaddr_storage d, me;
	socklen_t dl, ml = sizeof(me);
	sa_make(family, dst, 53, &d, &dl);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&d, dl) == 0 && getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
		inet_ntop(family,
			  family == AF_INET ? (void *)&((struct sockaddr_in *)&me)->sin_addr
					    : (void *)&((struct sockaddr_in6 *)&me)->sin6_addr,
			  s, sizeof(s));
	if (fd >= 0)
		close(fd);
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#define OK(call, ...)                                                              \
	do {                                                                       \
		struct berr *e_ = NULL;                                            \
		int r_ = (call);                                                   \
		CHECK(r_ == 0, __VA_ARGS__);                                       \
		if (r_ != 0)                                                       \
			printf("#   %s\n", e_ ? e_->msg : "(no error)");          \
		berr_free(e_);                                                     \
	} while (0)
/* (call) must use &e_ as its error argument */
#define E (&e_)

/* A failing call: its error's message and code. */
struct fail {
	int ret, code, errnum;
	char msg[512];
};

static struct fail failed(int ret, struct berr *e)
{
	struct fail f = {ret, -1, 0, ""};
	if (e) {
		f.code = e->code;
		f.errnum = e->errnum;
		snprintf(f.msg, sizeof(f.msg), "%s", e->msg ? e->msg : "");
	}
	berr_free(e);
	return f;
}
#define FAIL(call) ({ struct berr *e_ = NULL; int r_ = (call); failed(r_, e_); })

static void test_errors(struct nl *a, struct nl *b)
{
	struct in_addr v4;
	inet_pton(AF_INET, "10.250.0.9", &v4);

	struct fail f = FAIL(nl_veth_create(a, "bnt-0123456789ab", "bnt-x", -1, 0, E));
	CHECK(f.ret == -1 && f.code == BERR_INVALID, "veth with a 16-byte name: BERR_INVALID");
	CHECK_STR(f.msg, "creating veth bnt-0123456789ab (peer bnt-x): interface name 'bnt-0123456789ab' is longer than 15 bytes",
		  "veth with a 16-byte name: message");
	f = FAIL(nl_veth_create(a, "bnt-x", "bad/name", -1, 0, E));
	CHECK(f.ret == -1 && f.code == BERR_INVALID && strstr(f.msg, "'bad/name'"), "veth peer named bad/name: %s",
	      f.msg);

	f = FAIL(nl_veth_create(a, "bnt-h0", "bnt-x", -1, 0, E));
	CHECK(f.ret == -1 && f.code == BERR_CONFLICT && f.errnum == EEXIST, "veth over an existing link: EEXIST");
	CHECK_STR(f.msg, "creating veth bnt-h0 (peer bnt-x): File exists", "veth over an existing link: message");

	f = FAIL(nl_bridge_create(a, "bnt-h0", 0, E));
	CHECK(f.ret == -1 && f.code == BERR_CONFLICT, "bridge over a veth: BERR_CONFLICT");
	CHECK_STR(f.msg, "creating bridge bnt-h0: a link of that name exists and is not a bridge (veth)",
		  "bridge over a veth: message");
	OK(nl_bridge_create(a, "bnt-br0", 1500, E), "bridge that exists: fine");

	f = FAIL(nl_bridge_create(a, "bnt-br9", 70000, E));
	CHECK(f.ret == -1 && f.errnum == EINVAL && !strncmp(f.msg, "creating bridge bnt-br9: Invalid argument (", 43),
	      "bridge with mtu 70000: kernel's reason: %s", f.msg);

	OK(nl_link_delete(a, "bnt-nope", E), "deleting a missing link: fine");

	f = FAIL(nl_addr_add(a, "bnt-nope", AF_INET, &v4, 24, E));
	CHECK(f.ret == -1 && f.code == BERR_NOT_FOUND && f.errnum == ENODEV, "address on a missing link: BERR_NOT_FOUND");
	CHECK_STR(f.msg, "adding address 10.250.0.9/24 to bnt-nope: No such device", "address on a missing link: message");

	int idx = 0;
	f = FAIL(nl_link_index(a, "bnt-nope", &idx, E));
	CHECK(f.ret == -1 && f.code == BERR_NOT_FOUND, "index of a missing link: BERR_NOT_FOUND (%s)", f.msg);
	f = FAIL(nl_link_set_up(a, "bnt-nope", true, E));
	CHECK(f.code == BERR_NOT_FOUND && !strcmp(f.msg, "setting bnt-nope up: No such device"), "up on a missing link: %s",
	      f.msg);
	f = FAIL(nl_link_set_master(a, "bnt-h0", "bnt-nobr", E));
	CHECK(f.code == BERR_NOT_FOUND && !strcmp(f.msg, "attaching bnt-h0 to bridge bnt-nobr: No such device"),
	      "missing master: %s", f.msg);
	/* kernels before 6.x refuse to rename an up link; newer ones allow it */
	f = FAIL(nl_link_rename(b, "eth0", "eth1", E));
	if (f.ret == 0) {
		printf("# this kernel renames up links\n");
		OK(nl_link_rename(b, "eth1", "eth0", E), "renaming an up link (allowed here) and back");
	} else {
		CHECK(f.errnum == EBUSY && !strcmp(f.msg, "renaming eth0 to eth1: Device or resource busy"),
		      "renaming an up link: %s", f.msg);
	}
	f = FAIL(nl_addr_add(a, "bnt-br0", AF_INET, &v4, 33, E));
	CHECK(f.code == BERR_INVALID, "prefix /33: %s", f.msg);
	f = FAIL(nl_addr_add(a, "bnt-br0", AF_UNIX, &v4, 8, E));
	CHECK(f.code == BERR_INVALID, "family AF_UNIX: %s", f.msg);

	struct in_addr gw;
	inet_pton(AF_INET, "10.250.0.1", &gw);
	f = FAIL(nl_route_add_default(b, AF_INET, &gw, "eth0", E));
	CHECK(f.errnum == EEXIST && !strcmp(f.msg, "adding default route via 10.250.0.1 dev eth0: File exists"),
	      "second default route: %s", f.msg);
	inet_pton(AF_INET, "10.250.0.1", &v4);
	OK(nl_addr_add(a, "bnt-br0", AF_INET, &v4, 24, E), "address that exists: fine");

	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct nl bad;
	f = FAIL(nl_open_in_netns(&bad, devnull, E));
	CHECK(f.ret == -1 && bad.fd == -1 && f.errnum == EINVAL, "netns fd that is not a netns: %s", f.msg);
	close(devnull);
	nl_close(&bad);
}

/* One container's worth of setup, as `berth run` will do it: veth with the
 * peer made in the container's netns, attached and up; then in there
 * renamed to eth0, MAC, address, up, default route. us[]: create,
 * attach+up, open netns socket, configure inside, total. */
static bool veth_setup(struct nl *a, int ns, int i, double us[5])
{
	struct berr *e = NULL;
	char host[16], peer[16];
	snprintf(host, sizeof(host), "bnt-v%d", i);
	snprintf(peer, sizeof(peer), "bnt-p%d", i);
	uint8_t mac[6] = {0x02, 0x42, 10, 250, 1, (uint8_t)(10 + i)};
	struct in_addr ip, gw;
	inet_pton(AF_INET, "10.250.0.1", &gw);
	inet_pton(AF_INET, "10.250.1.0", &ip);
	ip.s_addr = htonl(ntohl(ip.s_addr) + 10 + i);
	struct nl b = {.fd = -1};

	double t0 = now_us();
	int r = nl_veth_create(a, host, peer, ns, 1500, &e);
	double t1 = now_us();
	r = r ?: nl_link_set_master(a, host, "bnt-br0", &e);
	r = r ?: nl_link_set_up(a, host, true, &e);
	double t2 = now_us();
	r = r ?: nl_open_in_netns(&b, ns, &e);
	double t3 = now_us();
	r = r ?: nl_link_rename(&b, peer, "eth0", &e);
	r = r ?: nl_link_set_mac(&b, "eth0", mac, &e);
	r = r ?: nl_addr_add(&b, "eth0", AF_INET, &ip, 16, &e);
	r = r ?: nl_link_set_up(&b, "eth0", true, &e);
	r = r ?: nl_route_add_default(&b, AF_INET, &gw, "eth0", &e);
	double t4 = now_us();
	nl_close(&b);
	us[0] = t1 - t0;
	us[1] = t2 - t1;
	us[2] = t3 - t2;
	us[3] = t4 - t3;
	us[4] = t4 - t0;
	if (r)
		printf("# round %d: %s\n", i, e ? e->msg : "?");
	berr_free(e);
	return r == 0;
}

static void test_timing(struct nl *a)
{
	enum { ROUNDS = 20 };
	double t[5][ROUNDS];
	int done = 0, ns[ROUNDS];
	bool ok = true;
	for (int i = 0; i < ROUNDS && ok; i++) {
		double us[5] = {0};
		ns[i] = netns_new();
		ok = ns[i] >= 0 && veth_setup(a, ns[i], i, us);
		for (int k = 0; k < 5; k++)
			t[k][i] = us[k];
		done += ok;
		if (!ok && ns[i] >= 0)
			close(ns[i]);
	}
	CHECK(ok && done == ROUNDS, "%d veth setups into fresh netns", done);
	double del[ROUNDS];
	for (int i = 0; i < done; i++) {
		char host[16];
		snprintf(host, sizeof(host), "bnt-v%d", i);
		struct berr *e = NULL;
		double t0 = now_us();
		int r = nl_link_delete(a, host, &e);
		del[i] = now_us() - t0;
		if (r)
			printf("# %s\n", e->msg);
		berr_free(e);
		ok &= r == 0;
		/* the peer went with it: the netns has only lo now */
		struct nl b;
		char **names = NULL;
		size_t n = 0;
		if (nl_open_in_netns(&b, ns[i], &e) == 0 && nl_link_list(&b, &names, &n, &e) == 0)
			ok &= n == 1;
		else
			ok = false;
		berr_free(e);
		names_free(names, n);
		nl_close(&b);
		close(ns[i]);
	}
	CHECK(ok, "deleting the %d veths (peers gone too)", done);
	if (!done)
		return;
	static const char *what[] = {"veth create (peer into netns)", "attach + up", "nl_open_in_netns",
				     "rename+mac+addr+up+route inside", "total"};
	for (int k = 0; k < 5; k++) {
		qsort(t[k], (size_t)done, sizeof(double), cmp_double);
		printf("# timing: %-32s min %6.0f us  median %6.0f us  max %6.0f us\n", what[k], t[k][0], t[k][done / 2],
		       t[k][done - 1]);
	}
	qsort(del, (size_t)done, sizeof(double), cmp_double);
	printf("# timing: %-32s min %6.0f us  median %6.0f us  max %6.0f us\n", "veth delete", del[0], del[done / 2],
	       del[done - 1]);
}

/* The container side in one batch (nl_iface_setup), as `run` does it. */
static void test_iface_setup(struct nl *a)
{
	int ns_c = netns_new();
	struct nl c = {.fd = -1};
	struct in_addr ip, gw, far;
	inet_pton(AF_INET, "10.250.0.3", &ip);
	inet_pton(AF_INET, "10.250.0.1", &gw);
	inet_pton(AF_INET, "10.99.9.9", &far);
	struct nl_veth_opts vo = {.peer_netns_fd = ns_c, .master = "bnt-br0", .up = true};
	OK(nl_veth_create_opts(a, "bnt-h2", "eth0", &vo, E), "veth bnt-h2 / eth0 into C, on the bridge");
	OK(nl_open_in_netns(&c, ns_c, E), "socket in C");
	OK(nl_iface_setup(&c, "eth0", true, AF_INET, &ip, 24, &gw, E), "lo, address, up and route in one batch");
	if (have_ip) {
		CHECK(strstr(run(ns_c, "ip -o link show dev lo"), ",UP") != NULL, "ip link in C: lo UP");
		const char *o = run(ns_c, "ip -o -4 addr show dev eth0");
		CHECK_STR(word_after(o, "inet"), "10.250.0.3/24", "ip addr in C: eth0 address");
		CHECK_STR(word_after(o, "brd"), "10.250.0.255", "ip addr in C: eth0 broadcast");
		CHECK(strstr(run(ns_c, "ip -o link show dev eth0"), ",UP") != NULL, "ip link in C: eth0 UP");
		o = run(ns_c, "ip route show default");
		CHECK_STR(word_after(o, "via"), "10.250.0.1", "ip route in C: default via");
		CHECK_STR(word_after(o, "dev"), "eth0", "ip route in C: default dev");
	}
	CHECK(udp_roundtrip(ns_c, AF_INET, "10.250.0.1", "10.250.0.3"), "UDP over the batch-configured eth0");
	/* the same again: the address exists (fine), the route exists (not) */
	struct fail f = FAIL(nl_iface_setup(&c, "eth0", false, AF_INET, &ip, 24, &gw, E));
	CHECK(f.code == BERR_CONFLICT && strstr(f.msg, "adding default route via 10.250.0.1 dev eth0"),
	      "existing default route: the error names its step: %s", f.msg);
	OK(nl_iface_setup(&c, "eth0", false, AF_INET, &ip, 24, NULL, E), "again without a route: nothing to refuse");
	f = FAIL(nl_iface_setup(&c, "eth9", false, AF_INET, &ip, 24, NULL, E));
	CHECK(f.code == BERR_NOT_FOUND && strstr(f.msg, "eth9"), "missing interface: %s", f.msg);
	f = FAIL(nl_iface_setup(&c, "eth0", false, AF_INET, &ip, 33, NULL, E));
	CHECK(f.code == BERR_INVALID, "prefix 33: %s", f.msg);
	nl_close(&c);
	/* a gateway off the subnet: the route fails, the steps before it stand */
	int ns_d = netns_new();
	struct nl d = {.fd = -1};
	OK(nl_veth_create_opts(a, "bnt-h3", "eth0", &(struct nl_veth_opts){.peer_netns_fd = ns_d}, E), "veth into D");
	OK(nl_open_in_netns(&d, ns_d, E), "socket in D");
	f = FAIL(nl_iface_setup(&d, "eth0", true, AF_INET, &ip, 24, &far, E));
	CHECK(strstr(f.msg, "adding default route via 10.99.9.9") != NULL, "unreachable gateway: %s", f.msg);
	if (have_ip)
		CHECK_STR(word_after(run(ns_d, "ip -o -4 addr show dev eth0"), "inet"), "10.250.0.3/24",
			  "the address before the failed route is there");
	nl_close(&d);
	OK(nl_link_delete(a, "bnt-h2", E), "delete bnt-h2");
	OK(nl_link_delete(a, "bnt-h3", E), "delete bnt-h3");
	close(ns_c);
	close(ns_d);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skip - netlink tests need root\n");
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	have_ip = system("command -v ip >/dev/null 2>&1") == 0;
	bool have_v6 = access("/proc/sys/net/ipv6", F_OK) == 0;

	/* the real host's links, to compare at the end */
	struct nl h;
	char **host_before = NULL;
	size_t n_before = 0;
	OK(nl_open(&h, E), "socket in the host netns");
	OK(nl_link_list(&h, &host_before, &n_before, E), "host links: %zu", n_before);
	CHECK(has_name(host_before, n_before, "lo"), "host links include lo");
	nl_close(&h);
	nl_close(&h);
	CHECK(h.fd == -1, "nl_close twice");
	int host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (unshare(CLONE_NEWNET) < 0) {
		printf("skip - netlink tests: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		names_free(host_before, n_before);
		return 0;
	}
	int ns_b = netns_new();
	CHECK(ns_b >= 0, "second netns");

	struct nl a, b;
	OK(nl_open(&a, E), "nl_open in netns A");
	ino_t ino = thread_netns_ino();
	OK(nl_open_in_netns(&b, ns_b, E), "nl_open_in_netns B");
	CHECK(ino && thread_netns_ino() == ino, "calling thread's netns unchanged");

	/* the bridge, as the first container on a network sets it up */
	struct in_addr br4, peer4, gw4;
	struct in6_addr br6, peer6;
	inet_pton(AF_INET, "10.250.0.1", &br4);
	inet_pton(AF_INET, "10.250.0.2", &peer4);
	inet_pton(AF_INET, "10.250.0.1", &gw4);
	inet_pton(AF_INET6, "fd00:250::1", &br6);
	inet_pton(AF_INET6, "fd00:250::2", &peer6);
	double t0 = now_us();
	OK(nl_bridge_create(&a, "bnt-br0", 1500, E), "bridge bnt-br0");
	OK(nl_addr_add(&a, "bnt-br0", AF_INET, &br4, 24, E), "10.250.0.1/24 on the bridge");
	OK(nl_link_set_up(&a, "bnt-br0", true, E), "bridge up");
	double t_bridge = now_us() - t0;
	if (have_v6)
		OK(nl_addr_add(&a, "bnt-br0", AF_INET6, &br6, 64, E), "fd00:250::1/64 on the bridge");

	/* one veth pair into B */
	uint8_t mac[6] = {0x02, 0x42, 0x0a, 0xfa, 0x00, 0x02};
	t0 = now_us();
	OK(nl_veth_create(&a, "bnt-h0", "bnt-p0", ns_b, 1500, E), "veth bnt-h0 / bnt-p0 in B");
	OK(nl_link_set_master(&a, "bnt-h0", "bnt-br0", E), "bnt-h0 on the bridge");
	OK(nl_link_set_up(&a, "bnt-h0", true, E), "bnt-h0 up");
	OK(nl_link_rename(&b, "bnt-p0", "eth0", E), "rename bnt-p0 to eth0 in B");
	OK(nl_link_set_mac(&b, "eth0", mac, E), "eth0 MAC");
	OK(nl_addr_add(&b, "eth0", AF_INET, &peer4, 24, E), "10.250.0.2/24 on eth0");
	OK(nl_link_set_up(&b, "eth0", true, E), "eth0 up");
	OK(nl_route_add_default(&b, AF_INET, &gw4, "eth0", E), "default route in B");
	double t_veth = now_us() - t0;
	if (have_v6) {
		OK(nl_addr_add(&b, "eth0", AF_INET6, &peer6, 64, E), "fd00:250::2/64 on eth0");
		OK(nl_route_add_default(&b, AF_INET6, &br6, "eth0", E), "IPv6 default route in B");
	}
	printf("# timing: bridge create + address + up: %.0f us\n", t_bridge);
	printf("# timing: veth + attach + up + (in B) rename, mac, address, up, route: %.0f us\n", t_veth);

	int idx_b = 0, idx = 0;
	struct fail f = FAIL(nl_link_index(&a, "bnt-p0", &idx, E));
	CHECK(f.code == BERR_NOT_FOUND, "peer is not in A");
	OK(nl_link_index(&b, "eth0", &idx_b, E), "eth0 in B");
	CHECK(idx_b > 0, "eth0 index %d", idx_b);
	char **names = NULL;
	size_t n = 0;
	OK(nl_link_list(&a, &names, &n, E), "links in A");
	CHECK(n == 3 && has_name(names, n, "lo") && has_name(names, n, "bnt-br0") && has_name(names, n, "bnt-h0") &&
		      names[n] == NULL,
	      "A has lo, bnt-br0, bnt-h0 (%zu links)", n);
	names_free(names, n);
	OK(nl_link_list(&b, &names, &n, E), "links in B");
	CHECK(n == 2 && has_name(names, n, "lo") && has_name(names, n, "eth0"), "B has lo, eth0 (%zu links)", n);
	names_free(names, n);

	if (have_ip) {
		const char *o = run(-1, "ip -o link show dev bnt-h0");
		CHECK_STR(word_after(o, "master"), "bnt-br0", "ip link: bnt-h0's master");
		CHECK_STR(word_after(o, "mtu"), "1500", "ip link: bnt-h0's mtu");
		CHECK(strstr(o, ",UP") != NULL, "ip link: bnt-h0 is UP");
		o = run(-1, "ip -o -4 addr show dev bnt-br0");
		CHECK_STR(word_after(o, "inet"), "10.250.0.1/24", "ip addr: bridge address");
		CHECK_STR(word_after(o, "brd"), "10.250.0.255", "ip addr: bridge broadcast");
		o = run(-1, "ip -o link show dev bnt-br0");
		CHECK(strstr(o, "<BROADCAST,MULTICAST,UP") != NULL, "ip link: bridge UP");
		o = run(ns_b, "ip -o -4 addr show dev eth0");
		CHECK_STR(word_after(o, "inet"), "10.250.0.2/24", "ip addr in B: eth0 address");
		CHECK_STR(word_after(o, "brd"), "10.250.0.255", "ip addr in B: eth0 broadcast");
		o = run(ns_b, "ip -o link show dev eth0");
		CHECK_STR(word_after(o, "link/ether"), "02:42:0a:fa:00:02", "ip link in B: eth0 MAC");
		CHECK(strstr(o, ",UP") != NULL, "ip link in B: eth0 UP");
		o = run(ns_b, "ip route show default");
		CHECK_STR(word_after(o, "via"), "10.250.0.1", "ip route in B: default via");
		CHECK_STR(word_after(o, "dev"), "eth0", "ip route in B: default dev");
		if (have_v6) {
			o = run(ns_b, "ip -o -6 addr show dev eth0 scope global");
			CHECK_STR(word_after(o, "inet6"), "fd00:250::2/64", "ip addr in B: eth0 IPv6 address");
			CHECK(strstr(o, "tentative") == NULL, "ip addr in B: IPv6 address usable at once (no DAD)");
			o = run(ns_b, "ip -6 route show default");
			CHECK_STR(word_after(o, "via"), "fd00:250::1", "ip -6 route in B: default via");
		}
		o = run(-1, "ls /run/netns 2>/dev/null");
		CHECK(strstr(o, "berth") == NULL, "no netns files");
	} else {
		printf("skip - no ip(8): output checks\n");
	}

	CHECK(udp_roundtrip(ns_b, AF_INET, "10.250.0.1", "10.250.0.2"), "UDP A -> B -> A over the bridge");
	CHECK_STR(route_src(ns_b, AF_INET, "10.99.0.1"), "10.250.0.2", "B reaches off-link 10.99.0.1 by the default route");
	if (have_v6) {
		CHECK(udp_roundtrip(ns_b, AF_INET6, "fd00:250::1", "fd00:250::2"), "UDP over IPv6 A -> B -> A");
		CHECK_STR(route_src(ns_b, AF_INET6, "fd00:99::1"), "fd00:250::2", "B reaches fd00:99::1 by the IPv6 default route");
	}

	test_iface_setup(&a);
	test_errors(&a, &b);
	test_timing(&a);

	/* rename (down first) and delete */
	OK(nl_link_set_up(&b, "eth0", false, E), "eth0 down");
	OK(nl_link_rename(&b, "eth0", "eth1", E), "rename eth0 to eth1");
	idx = 0;
	OK(nl_link_index(&b, "eth1", &idx, E), "eth1 in B");
	CHECK(idx == idx_b, "rename keeps the index");
	f = FAIL(nl_link_index(&b, "eth0", &idx, E));
	CHECK(f.code == BERR_NOT_FOUND, "eth0 is gone");
	OK(nl_link_set_master(&a, "bnt-h0", NULL, E), "release bnt-h0 from the bridge");
	if (have_ip)
		CHECK(strstr(run(-1, "ip -o link show dev bnt-h0"), "master") == NULL, "bnt-h0 has no master");
	OK(nl_link_delete(&b, "eth1", E), "delete eth1 in B");
	f = FAIL(nl_link_index(&a, "bnt-h0", &idx, E));
	CHECK(f.code == BERR_NOT_FOUND, "its peer bnt-h0 went with it");
	OK(nl_link_delete(&a, "bnt-br0", E), "delete the bridge");
	OK(nl_link_list(&a, &names, &n, E), "links in A");
	CHECK(n == 1 && !strcmp(names[0], "lo"), "only lo left in A (%zu links)", n);
	names_free(names, n);
	nl_close(&a);
	nl_close(&b);
	close(ns_b);

	/* and nothing in the host */
	OK(nl_open_in_netns(&h, host_ns, E), "socket in the host netns again");
	OK(nl_link_list(&h, &names, &n, E), "host links");
	/* (not the total: containers of tests running in parallel add and
	 * remove veths on the host meanwhile) */
	CHECK(count_prefix(names, n, "bnt-") == 0 &&
		      count_prefix(names, n, "eth1") == count_prefix(host_before, n_before, "eth1"),
	      "none of this test's links in the host (%zu links)", n);
	names_free(names, n);
	names_free(host_before, n_before);
	nl_close(&h);
	close(host_ns);
	UNIT_END();
}
