#include "net/netlink.h"
#include "util/cleanup.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif
#ifndef RTEXT_FILTER_SKIP_STATS
#define RTEXT_FILTER_SKIP_STATS (1 << 3)
#endif

#define REQ_MAX 512             /* every request built here fits */
#define RECV_CHUNK 32768        /* the kernel sizes dump chunks to our buffer, up to 32 KiB */
#define RECV_MAX (1 << 20)      /* refuse single replies beyond this */
#define RECV_TIMEOUT_S 30       /* rtnl_lock can be busy, but not forever */
#define EXTACK_MAX 200
#define WHAT_MAX 160
#define LINKS_MAX 65536
#define DUMP_TRIES 5

/* One request, built in place. full is set when an attribute did not fit;
 * talk() then refuses to send it. */
struct req {
	union {
		struct nlmsghdr h;
		char buf[REQ_MAX];
	} u;
	bool full;
};

static void req_init(struct req *r, uint16_t type, uint16_t flags, const void *hdr, size_t hdrlen)
{
	memset(r->u.buf, 0, NLMSG_SPACE(hdrlen));
	r->full = false;
	r->u.h.nlmsg_len = NLMSG_LENGTH(hdrlen);
	r->u.h.nlmsg_type = type;
	r->u.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	memcpy(NLMSG_DATA(&r->u.h), hdr, hdrlen);
}

/* Append len bytes (zero-padded to the alignment) at the message's end. */
static void *req_put_raw(struct req *r, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->u.h.nlmsg_len);
	if (r->full || off + RTA_ALIGN(len) > sizeof(r->u.buf)) {
		r->full = true;
		return NULL;
	}
	char *p = r->u.buf + off;
	if (len)
		memcpy(p, data, len);
	memset(p + len, 0, RTA_ALIGN(len) - len);
	r->u.h.nlmsg_len = off + RTA_ALIGN(len);
	return p;
}

static struct rtattr *req_put(struct req *r, uint16_t type, const void *data, size_t len)
{
	struct rtattr a = {.rta_len = RTA_LENGTH(len), .rta_type = type};
	if (RTA_LENGTH(len) > UINT16_MAX) {
		r->full = true;
		return NULL;
	}
	struct rtattr *p = req_put_raw(r, &a, sizeof(a));
	if (!p)
		return NULL;
	if (!req_put_raw(r, data, len))
		return NULL;
	return p;
}

static void req_put_str(struct req *r, uint16_t type, const char *s)
{
	req_put(r, type, s, strlen(s) + 1);
}

static void req_put_u32(struct req *r, uint16_t type, uint32_t v)
{
	req_put(r, type, &v, sizeof(v));
}

static struct rtattr *req_nest(struct req *r, uint16_t type)
{
	return req_put(r, type, NULL, 0);
}

static void req_nest_end(struct req *r, struct rtattr *nest)
{
	if (nest && !r->full)
		nest->rta_len = (uint16_t)(r->u.buf + r->u.h.nlmsg_len - (char *)nest);
}

/* Copy the kernel's extended-ack message (NLMSGERR_ATTR_MSG) of an
 * NLMSG_ERROR, if any, bounded to EXTACK_MAX. */
static void extack_get(const struct nlmsghdr *m, char ext[EXTACK_MAX])
{
	if (!(m->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	const struct nlmsgerr *e = NLMSG_DATA(m);
	size_t total = m->nlmsg_len - NLMSG_HDRLEN;
	size_t off = sizeof(*e);
	if (!(m->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return;
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	}
	off = NLMSG_ALIGN(off);
	if (off >= total)
		return;
	int left = (int)(total - off);
	for (const struct rtattr *a = (const void *)((const char *)e + off); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if ((a->rta_type & NLA_TYPE_MASK) != NLMSGERR_ATTR_MSG)
			continue;
		size_t n = strnlen(RTA_DATA(a), RTA_PAYLOAD(a));
		if (n >= EXTACK_MAX)
			n = EXTACK_MAX - 1;
		memcpy(ext, RTA_DATA(a), n);
		ext[n] = 0;
		/* the kernel's messages have no trailing newline, but be sure */
		while (n && isspace((unsigned char)ext[n - 1]))
			ext[--n] = 0;
		return;
	}
}

typedef int (*msg_cb)(const struct nlmsghdr *m, void *data);

/* Read the replies to request seq up to its ack (or a dump's NLMSG_DONE),
 * handing the data messages to cb (which returns 0 or -errno). Returns 0,
 * a positive errno from the kernel (ext filled when it explains) or from
 * cb (EINTR: a dump was interrupted by a change, retry), or -1 with *err
 * set for failures of the socket itself. */
static int recv_replies(struct nl *nl, uint32_t seq, msg_cb cb, void *data, char ext[EXTACK_MAX],
			struct berr **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0;
	int cb_err = 0;
	bool intr = false;

	for (;;) {
		ssize_t len = recv(nl->fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return berr_set(err, ETIMEDOUT, "waiting for the kernel's netlink reply");
			return berr_set(err, errno, "receiving netlink reply");
		}
		if (len > RECV_MAX)
			return berr_set(err, EMSGSIZE, "netlink reply of %zd bytes", len);
		if (!buf || (size_t)len > cap) {
			size_t want = (size_t)len > RECV_CHUNK ? (size_t)len : RECV_CHUNK;
			char *nb = realloc(buf, want);
			if (!nb)
				return berr_set(err, ENOMEM, "receiving netlink reply");
			buf = nb;
			cap = want;
		}
		struct sockaddr_nl sa = {0};
		struct iovec iov = {.iov_base = buf, .iov_len = cap};
		struct msghdr mh = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(nl->fd, &mh, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return berr_set(err, ETIMEDOUT, "waiting for the kernel's netlink reply");
			return berr_set(err, errno, "receiving netlink reply");
		}
		if (mh.msg_flags & MSG_TRUNC)
			return berr_set(err, EMSGSIZE, "netlink reply truncated");
		if (sa.nl_pid != 0)
			continue; /* not from the kernel */

		int left = (int)n;
		struct nlmsghdr *m;
		for (m = (struct nlmsghdr *)buf; NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
			if (m->nlmsg_seq != seq)
				continue; /* late reply to an earlier request that timed out */
			if (m->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (m->nlmsg_type == NLMSG_ERROR) {
				if (m->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
					return berr_set(err, EBADMSG, "short netlink error message");
				const struct nlmsgerr *e = NLMSG_DATA(m);
				if (e->error == 0)
					return cb_err ? cb_err : 0;
				extack_get(m, ext);
				return e->error < 0 && e->error > -4096 ? -e->error : EPROTO;
			}
			if (m->nlmsg_type == NLMSG_DONE) {
				int e = 0;
				if (m->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					memcpy(&e, NLMSG_DATA(m), sizeof(e));
				if (e < 0)
					return e > -4096 ? -e : EPROTO;
				return cb_err ? cb_err : intr ? EINTR : 0;
			}
			if (m->nlmsg_type == NLMSG_OVERRUN)
				return berr_set(err, ENOBUFS, "netlink overrun");
			if (m->nlmsg_type == NLMSG_NOOP)
				continue;
			if (cb && !cb_err) {
				int r = cb(m, data);
				if (r < 0)
					cb_err = -r;
			}
		}
		if (left != 0)
			return berr_set(err, EBADMSG, "malformed netlink reply");
	}
}

/* Send r and wait for its ack; see recv_replies() for the result. */
static int talk(struct nl *nl, struct req *r, msg_cb cb, void *data, char ext[EXTACK_MAX], struct berr **err)
{
	ext[0] = 0;
	if (nl->fd < 0)
		return berr_set(err, EBADF, "netlink socket");
	if (r->full)
		return berr_set(err, EMSGSIZE, "netlink request");
	r->u.h.nlmsg_seq = ++nl->seq;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	for (;;) {
		ssize_t n = sendto(nl->fd, r->u.buf, r->u.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa));
		if (n >= 0)
			break;
		if (errno != EINTR)
			return berr_set(err, errno, "sending netlink request");
	}
	return recv_replies(nl, r->u.h.nlmsg_seq, cb, data, ext, err);
}

__attribute__((format(printf, 4, 5)))
static int kfail(struct berr **err, int e, const char *ext, const char *fmt, ...)
{
	char what[WHAT_MAX * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	int code = e == ENODEV ? BERR_NOT_FOUND : e == EEXIST ? BERR_CONFLICT : BERR_GENERIC;
	if (ext && *ext)
		berr_setc(err, code, "%s: %s (%s)", what, strerror(e), ext);
	else
		berr_setc(err, code, "%s: %s", what, strerror(e));
	if (err && *err)
		(*err)->errnum = e;
	return -1;
}

/* talk() for requests without data replies; an error names `what`. The
 * errno ok_errno (0: none) counts as success. */
static int request(struct nl *nl, struct req *r, int ok_errno, const char *what, struct berr **err)
{
	char ext[EXTACK_MAX];
	int e = talk(nl, r, NULL, NULL, ext, err);
	if (e < 0)
		return berr_wrap(err, "%s", what);
	if (e == 0 || e == ok_errno)
		return 0;
	return kfail(err, e, ext, "%s", what);
}

/* Names the kernel's dev_valid_name() accepts. */
static int name_check(const char *name, const char *what, struct berr **err)
{
	if (!name || !*name)
		return berr_setc(err, BERR_INVALID, "%s: empty interface name", what);
	if (strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
		return berr_setc(err, BERR_INVALID, "%s: interface name '%.64s' is longer than %d bytes", what, name,
				 IFNAMSIZ - 1);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return berr_setc(err, BERR_INVALID, "%s: invalid interface name '%s'", what, name);
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			return berr_setc(err, BERR_INVALID, "%s: invalid interface name '%s' (no '/', ':' or spaces)",
					 what, name);
	return 0;
}

struct link_info {
	bool found;
	int index;
	char kind[32]; /* IFLA_INFO_KIND, "" if none */
};

static int link_info_cb(const struct nlmsghdr *m, void *data)
{
	struct link_info *li = data;
	if (m->nlmsg_type != RTM_NEWLINK || m->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return 0;
	const struct ifinfomsg *ifi = NLMSG_DATA(m);
	li->found = true;
	li->index = ifi->ifi_index;
	int len = (int)IFLA_PAYLOAD(m);
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if ((a->rta_type & NLA_TYPE_MASK) != IFLA_LINKINFO)
			continue;
		int nlen = (int)RTA_PAYLOAD(a);
		for (const struct rtattr *b = RTA_DATA(a); RTA_OK(b, nlen); b = RTA_NEXT(b, nlen)) {
			if ((b->rta_type & NLA_TYPE_MASK) != IFLA_INFO_KIND)
				continue;
			size_t n = strnlen(RTA_DATA(b), RTA_PAYLOAD(b));
			if (n >= sizeof(li->kind))
				n = sizeof(li->kind) - 1;
			memcpy(li->kind, RTA_DATA(b), n);
			li->kind[n] = 0;
		}
	}
	return 0;
}

/* RTM_GETLINK by name; an error names `what` (ENODEV: BERR_NOT_FOUND). */
static int link_get(struct nl *nl, const char *name, struct link_info *li, const char *what, struct berr **err)
{
	if (name_check(name, what, err) < 0)
		return -1;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct req r;
	req_init(&r, RTM_GETLINK, 0, &ifi, sizeof(ifi));
	req_put_str(&r, IFLA_IFNAME, name);
	req_put_u32(&r, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	*li = (struct link_info){0};
	char ext[EXTACK_MAX];
	int e = talk(nl, &r, link_info_cb, li, ext, err);
	if (e < 0)
		return berr_wrap(err, "%s", what);
	if (e == 0 && !li->found)
		e = ENODEV;
	if (e)
		return kfail(err, e, e == ENODEV ? NULL : ext, "%s", what);
	return 0;
}

static int sock_setup(struct nl *nl, int fd, struct berr **err)
{
	int one = 1;
	/* the kernel's reason along with the errno; and errors without a
	 * copy of our request. Both best effort (older kernels) */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		int e = errno;
		close(fd);
		return berr_set(err, e, "netlink socket timeout");
	}
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return berr_set(err, e, "binding netlink socket");
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	nl->fd = fd;
	nl->seq = (uint32_t)(ts.tv_sec ^ ts.tv_nsec);
	return 0;
}

int nl_open(struct nl *nl, struct berr **err)
{
	nl->fd = -1;
	nl->seq = 0;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return berr_set(err, errno, "opening netlink socket");
	return sock_setup(nl, fd, err);
}

/* The socket keeps the netns it was made in. The calling thread enters
 * the target netns just for socket() and goes back at once: setns() of a
 * netns only changes the calling thread, and is cheaper than starting a
 * helper thread to do it (a thread start and join on the container start
 * path, several ms on a busy machine). */
int nl_open_in_netns(struct nl *nl, int netns_fd, struct berr **err)
{
	nl->fd = -1;
	nl->seq = 0;
	if (netns_fd < 0)
		return berr_set(err, EBADF, "opening netlink socket in another network namespace");
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return berr_set(err, errno, "opening the current network namespace");
	/* no signal handler may run while we are in the other netns */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (setns(netns_fd, CLONE_NEWNET) < 0) {
		int e = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return berr_set(err, e, "entering network namespace (fd %d)", netns_fd);
	}
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int se = errno;
	int back = -1;
	/* back home: this cannot fail for want of rights (we came from there
	 * with them); retry anything transient */
	for (int i = 0; i < 100 && (back = setns(self, CLONE_NEWNET)) < 0; i++)
		usleep(1000);
	int be = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (back < 0) {
		if (fd >= 0)
			close(fd);
		return berr_set(err, be, "returning to the original network namespace");
	}
	if (fd < 0)
		return berr_set(err, se, "opening netlink socket in network namespace (fd %d)", netns_fd);
	return sock_setup(nl, fd, err);
}

void nl_close(struct nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

int nl_link_index(struct nl *nl, const char *ifname, int *ret, struct berr **err)
{
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "looking up link %.64s", ifname ? ifname : "");
	struct link_info li;
	if (link_get(nl, ifname, &li, what, err) < 0)
		return -1;
	*ret = li.index;
	return 0;
}

int nl_bridge_create(struct nl *nl, const char *name, int mtu, struct berr **err)
{
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "creating bridge %.64s", name ? name : "");
	if (name_check(name, what, err) < 0)
		return -1;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct req r;
	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	req_put_str(&r, IFLA_IFNAME, name);
	if (mtu > 0)
		req_put_u32(&r, IFLA_MTU, (uint32_t)mtu);
	struct rtattr *info = req_nest(&r, IFLA_LINKINFO);
	req_put_str(&r, IFLA_INFO_KIND, "bridge");
	req_nest_end(&r, info);

	char ext[EXTACK_MAX];
	int e = talk(nl, &r, NULL, NULL, ext, err);
	if (e < 0)
		return berr_wrap(err, "%s", what);
	if (e == EEXIST) {
		struct link_info li;
		if (link_get(nl, name, &li, what, err) < 0)
			return -1;
		if (strcmp(li.kind, "bridge") != 0) {
			berr_setc(err, BERR_CONFLICT, "%s: a link of that name exists and is not a bridge (%s)", what,
				  li.kind[0] ? li.kind : "no kind");
			if (err && *err)
				(*err)->errnum = EEXIST;
			return -1;
		}
		return 0;
	}
	if (e)
		return kfail(err, e, ext, "%s", what);
	return 0;
}

int nl_veth_create(struct nl *nl, const char *host_if, const char *peer_if, int peer_netns_fd, int mtu,
		   struct berr **err)
{
	struct nl_veth_opts o = {.peer_netns_fd = peer_netns_fd, .mtu = mtu};
	return nl_veth_create_opts(nl, host_if, peer_if, &o, err);
}

int nl_veth_create_opts(struct nl *nl, const char *host_if, const char *peer_if, const struct nl_veth_opts *o,
			struct berr **err)
{
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "creating veth %.64s (peer %.64s)", host_if ? host_if : "", peer_if ? peer_if : "");
	if (name_check(host_if, what, err) < 0 || name_check(peer_if, what, err) < 0)
		return -1;
	struct link_info li = {0};
	if (o->master) {
		char w2[WHAT_MAX];
		snprintf(w2, sizeof(w2), "attaching %.64s to bridge %.64s", host_if, o->master);
		if (link_get(nl, o->master, &li, w2, err) < 0)
			return -1;
	}
	int mtu = o->mtu;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = o->up ? IFF_UP : 0, .ifi_change = o->up ? IFF_UP : 0};
	struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC, .ifi_flags = o->peer_up ? IFF_UP : 0,
				 .ifi_change = o->peer_up ? IFF_UP : 0};
	struct req r;
	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	req_put_str(&r, IFLA_IFNAME, host_if);
	if (mtu > 0)
		req_put_u32(&r, IFLA_MTU, (uint32_t)mtu);
	if (o->master)
		req_put_u32(&r, IFLA_MASTER, (uint32_t)li.index);
	struct rtattr *info = req_nest(&r, IFLA_LINKINFO);
	req_put_str(&r, IFLA_INFO_KIND, "veth");
	struct rtattr *idata = req_nest(&r, IFLA_INFO_DATA);
	struct rtattr *peer = req_nest(&r, VETH_INFO_PEER);
	req_put_raw(&r, &pifi, sizeof(pifi));
	req_put_str(&r, IFLA_IFNAME, peer_if);
	if (mtu > 0)
		req_put_u32(&r, IFLA_MTU, (uint32_t)mtu);
	if (o->peer_mac)
		req_put(&r, IFLA_ADDRESS, o->peer_mac, 6);
	if (o->peer_netns_fd >= 0)
		req_put_u32(&r, IFLA_NET_NS_FD, (uint32_t)o->peer_netns_fd);
	req_nest_end(&r, peer);
	req_nest_end(&r, idata);
	req_nest_end(&r, info);
	return request(nl, &r, 0, what, err);
}

int nl_link_set_master(struct nl *nl, const char *ifname, const char *master, struct berr **err)
{
	char what[WHAT_MAX];
	if (master)
		snprintf(what, sizeof(what), "attaching %.64s to bridge %.64s", ifname ? ifname : "", master);
	else
		snprintf(what, sizeof(what), "releasing %.64s from its master", ifname ? ifname : "");
	if (name_check(ifname, what, err) < 0)
		return -1;
	struct link_info li = {0};
	if (master && link_get(nl, master, &li, what, err) < 0)
		return -1;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct req r;
	req_init(&r, RTM_SETLINK, 0, &ifi, sizeof(ifi));
	req_put_str(&r, IFLA_IFNAME, ifname); /* with ifi_index 0: the lookup key, not a rename */
	req_put_u32(&r, IFLA_MASTER, (uint32_t)li.index);
	return request(nl, &r, 0, what, err);
}

int nl_link_set_up(struct nl *nl, const char *ifname, bool up, struct berr **err)
{
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "setting %.64s %s", ifname ? ifname : "", up ? "up" : "down");
	if (name_check(ifname, what, err) < 0)
		return -1;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = up ? IFF_UP : 0, .ifi_change = IFF_UP};
	struct req r;
	req_init(&r, RTM_SETLINK, 0, &ifi, sizeof(ifi));
	req_put_str(&r, IFLA_IFNAME, ifname);
	return request(nl, &r, 0, what, err);
}

int nl_link_rename(struct nl *nl, const char *ifname, const char *newname, struct berr **err)
{
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "renaming %.64s to %.64s", ifname ? ifname : "", newname ? newname : "");
	if (name_check(newname, what, err) < 0)
		return -1;
	struct link_info li;
	if (link_get(nl, ifname, &li, what, err) < 0)
		return -1;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = li.index};
	struct req r;
	req_init(&r, RTM_SETLINK, 0, &ifi, sizeof(ifi));
	req_put_str(&r, IFLA_IFNAME, newname);
	return request(nl, &r, 0, what, err);
}

int nl_link_set_mac(struct nl *nl, const char *ifname, const uint8_t mac[6], struct berr **err)
{
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "setting the address of %.64s to %02x:%02x:%02x:%02x:%02x:%02x",
		 ifname ? ifname : "", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	if (name_check(ifname, what, err) < 0)
		return -1;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct req r;
	req_init(&r, RTM_SETLINK, 0, &ifi, sizeof(ifi));
	req_put_str(&r, IFLA_IFNAME, ifname);
	req_put(&r, IFLA_ADDRESS, mac, 6);
	return request(nl, &r, 0, what, err);
}

int nl_link_delete(struct nl *nl, const char *ifname, struct berr **err)
{
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "deleting link %.64s", ifname ? ifname : "");
	if (name_check(ifname, what, err) < 0)
		return -1;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct req r;
	req_init(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
	req_put_str(&r, IFLA_IFNAME, ifname);
	return request(nl, &r, ENODEV, what, err);
}

static int addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int nl_addr_add(struct nl *nl, const char *ifname, int family, const void *addr, int prefixlen,
		struct berr **err)
{
	int alen = addr_len(family);
	if (!alen)
		return berr_setc(err, BERR_INVALID, "adding address to %.64s: unsupported address family %d",
				 ifname ? ifname : "", family);
	char astr[INET6_ADDRSTRLEN];
	if (!addr || !inet_ntop(family, addr, astr, sizeof(astr)))
		return berr_setc(err, BERR_INVALID, "adding address to %.64s: no address", ifname ? ifname : "");
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "adding address %s/%d to %.64s", astr, prefixlen, ifname ? ifname : "");
	if (prefixlen < 0 || prefixlen > alen * 8)
		return berr_setc(err, BERR_INVALID, "%s: invalid prefix length", what);
	struct link_info li;
	if (link_get(nl, ifname, &li, what, err) < 0)
		return -1;

	struct ifaddrmsg ifa = {
		.ifa_family = (uint8_t)family,
		.ifa_prefixlen = (uint8_t)prefixlen,
		.ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0,
		.ifa_scope = RT_SCOPE_UNIVERSE,
		.ifa_index = (uint32_t)li.index,
	};
	struct req r;
	req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	req_put(&r, IFA_LOCAL, addr, (size_t)alen);
	req_put(&r, IFA_ADDRESS, addr, (size_t)alen);
	if (family == AF_INET && prefixlen <= 30) {
		uint32_t a;
		memcpy(&a, addr, 4);
		uint32_t host = prefixlen ? 0xffffffffu >> prefixlen : 0xffffffffu;
		uint32_t brd = a | htonl(host);
		req_put(&r, IFA_BROADCAST, &brd, 4);
	}
	return request(nl, &r, EEXIST, what, err);
}

int nl_route_add_default(struct nl *nl, int family, const void *gateway, const char *ifname, struct berr **err)
{
	int alen = addr_len(family);
	if (!alen)
		return berr_setc(err, BERR_INVALID, "adding default route: unsupported address family %d", family);
	char gstr[INET6_ADDRSTRLEN];
	if (!gateway || !inet_ntop(family, gateway, gstr, sizeof(gstr)))
		return berr_setc(err, BERR_INVALID, "adding default route: no gateway");
	char what[WHAT_MAX];
	if (ifname)
		snprintf(what, sizeof(what), "adding default route via %s dev %.64s", gstr, ifname);
	else
		snprintf(what, sizeof(what), "adding default route via %s", gstr);
	struct link_info li = {0};
	if (ifname && link_get(nl, ifname, &li, what, err) < 0)
		return -1;

	struct rtmsg rtm = {
		.rtm_family = (uint8_t)family,
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_BOOT,
		.rtm_scope = RT_SCOPE_UNIVERSE,
		.rtm_type = RTN_UNICAST,
	};
	struct req r;
	req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof(rtm));
	req_put(&r, RTA_GATEWAY, gateway, (size_t)alen);
	if (ifname)
		req_put_u32(&r, RTA_OIF, (uint32_t)li.index);
	return request(nl, &r, 0, what, err);
}

int nl_route_add(struct nl *nl, int family, const void *dst, int prefixlen, const char *ifname, const void *prefsrc,
		 uint32_t metric, struct berr **err)
{
	int alen = addr_len(family);
	char dstr[INET6_ADDRSTRLEN], sstr[INET6_ADDRSTRLEN] = "";
	if (!alen || !dst || !inet_ntop(family, dst, dstr, sizeof(dstr)) ||
	    (prefsrc && !inet_ntop(family, prefsrc, sstr, sizeof(sstr))))
		return berr_setc(err, BERR_INVALID, "adding a route: no destination, or an unsupported family %d", family);
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "adding route %s/%d dev %.64s%s%s", dstr, prefixlen, ifname ? ifname : "",
		 prefsrc ? " src " : "", sstr);
	if (prefixlen < 0 || prefixlen > alen * 8)
		return berr_setc(err, BERR_INVALID, "%s: invalid prefix length", what);
	struct link_info li;
	if (link_get(nl, ifname, &li, what, err) < 0)
		return -1;
	struct rtmsg rtm = {
		.rtm_family = (uint8_t)family,
		.rtm_dst_len = (uint8_t)prefixlen,
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_BOOT,
		.rtm_scope = RT_SCOPE_LINK,
		.rtm_type = RTN_UNICAST,
	};
	struct req r;
	req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof(rtm));
	req_put(&r, RTA_DST, dst, (size_t)alen);
	req_put_u32(&r, RTA_OIF, (uint32_t)li.index);
	if (prefsrc)
		req_put(&r, RTA_PREFSRC, prefsrc, (size_t)alen);
	if (metric)
		req_put_u32(&r, RTA_PRIORITY, metric);
	return request(nl, &r, EEXIST, what, err);
}

/* Build the RTM_NEWADDR of nl_addr_add() for ifindex into r. */
static void addr_req(struct req *r, int index, int family, const void *addr, int prefixlen)
{
	int alen = addr_len(family);
	struct ifaddrmsg ifa = {
		.ifa_family = (uint8_t)family,
		.ifa_prefixlen = (uint8_t)prefixlen,
		.ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0,
		.ifa_scope = RT_SCOPE_UNIVERSE,
		.ifa_index = (uint32_t)index,
	};
	req_init(r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	req_put(r, IFA_LOCAL, addr, (size_t)alen);
	req_put(r, IFA_ADDRESS, addr, (size_t)alen);
	if (family == AF_INET && prefixlen <= 30) {
		uint32_t a;
		memcpy(&a, addr, 4);
		uint32_t host = prefixlen ? 0xffffffffu >> prefixlen : 0xffffffffu;
		uint32_t brd = a | htonl(host);
		req_put(r, IFA_BROADCAST, &brd, 4);
	}
}

int nl_iface_setup(struct nl *nl, const char *ifname, bool lo_up, int family, const void *addr, int prefixlen,
		   const void *gateway, struct berr **err)
{
	int alen = addr_len(family);
	char astr[INET6_ADDRSTRLEN] = "", gstr[INET6_ADDRSTRLEN] = "";
	if (!alen || !addr || !inet_ntop(family, addr, astr, sizeof(astr)) ||
	    (gateway && !inet_ntop(family, gateway, gstr, sizeof(gstr))))
		return berr_setc(err, BERR_INVALID, "setting up %.64s: no address, or an unsupported family %d",
				 ifname ? ifname : "", family);
	char what[4][WHAT_MAX];
	snprintf(what[0], WHAT_MAX, "setting lo up");
	snprintf(what[1], WHAT_MAX, "adding address %s/%d to %.64s", astr, prefixlen, ifname ? ifname : "");
	snprintf(what[2], WHAT_MAX, "setting %.64s up", ifname ? ifname : "");
	snprintf(what[3], WHAT_MAX, "adding default route via %s dev %.64s", gstr, ifname ? ifname : "");
	if (prefixlen < 0 || prefixlen > alen * 8)
		return berr_setc(err, BERR_INVALID, "%s: invalid prefix length", what[1]);
	if (nl->fd < 0)
		return berr_set(err, EBADF, "netlink socket");
	struct link_info li;
	if (link_get(nl, ifname, &li, what[1], err) < 0)
		return -1;

	struct req r[4];
	bool used[4] = {lo_up, true, true, gateway != NULL};
	int ok_errno[4] = {0, EEXIST, 0, 0};
	struct ifinfomsg lo = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	req_init(&r[0], RTM_SETLINK, 0, &lo, sizeof(lo));
	req_put_str(&r[0], IFLA_IFNAME, "lo");
	addr_req(&r[1], li.index, family, addr, prefixlen);
	struct ifinfomsg up = {.ifi_family = AF_UNSPEC, .ifi_index = li.index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	req_init(&r[2], RTM_SETLINK, 0, &up, sizeof(up));
	struct rtmsg rtm = {
		.rtm_family = (uint8_t)family,
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_BOOT,
		.rtm_scope = RT_SCOPE_UNIVERSE,
		.rtm_type = RTN_UNICAST,
	};
	req_init(&r[3], RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof(rtm));
	if (gateway)
		req_put(&r[3], RTA_GATEWAY, gateway, (size_t)alen);
	req_put_u32(&r[3], RTA_OIF, (uint32_t)li.index);

	char buf[sizeof(r)];
	size_t len = 0;
	uint32_t seqs[4] = {0};
	for (int i = 0; i < 4; i++) {
		if (!used[i])
			continue;
		if (r[i].full)
			return berr_set(err, EMSGSIZE, "%s: netlink request", what[i]);
		r[i].u.h.nlmsg_seq = seqs[i] = ++nl->seq;
		memcpy(buf + len, r[i].u.buf, r[i].u.h.nlmsg_len);
		len += NLMSG_ALIGN(r[i].u.h.nlmsg_len);
	}
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	while (sendto(nl->fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		if (errno != EINTR)
			return berr_set(err, errno, "sending netlink requests");
	/* every request gets its own ack, in order, even after a failure */
	int ret = 0;
	for (int i = 0; i < 4; i++) {
		if (!used[i])
			continue;
		char ext[EXTACK_MAX] = "";
		struct berr *e2 = NULL;
		int e = recv_replies(nl, seqs[i], NULL, NULL, ext, &e2);
		if (e < 0) {
			if (ret == 0) {
				berr_wrap(&e2, "%s", what[i]);
				if (err)
					*err = e2;
				else
					berr_free(e2);
				return -1;
			}
			berr_free(e2);
			break;
		}
		if (e && e != ok_errno[i] && ret == 0)
			ret = kfail(err, e, ext, "%s", what[i]);
	}
	return ret;
}

struct name_list {
	char **v;
	size_t n, cap;
};

static void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct name_list){0};
}

static int name_list_cb(const struct nlmsghdr *m, void *data)
{
	struct name_list *l = data;
	if (m->nlmsg_type != RTM_NEWLINK || m->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return 0;
	const struct ifinfomsg *ifi = NLMSG_DATA(m);
	int len = (int)IFLA_PAYLOAD(m);
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if ((a->rta_type & NLA_TYPE_MASK) != IFLA_IFNAME)
			continue;
		size_t n = strnlen(RTA_DATA(a), RTA_PAYLOAD(a));
		if (n == 0 || n >= IFNAMSIZ)
			return 0;
		if (l->n >= LINKS_MAX)
			return -E2BIG;
		if (l->n + 1 >= l->cap) { /* + 1: the terminating NULL */
			size_t cap = l->cap ? l->cap * 2 : 16;
			char **v = realloc(l->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			l->v = v;
			l->cap = cap;
		}
		char *s = strndup(RTA_DATA(a), n);
		if (!s)
			return -ENOMEM;
		l->v[l->n++] = s;
		return 0;
	}
	return 0;
}

int nl_link_list(struct nl *nl, char ***ret_names, size_t *n, struct berr **err)
{
	*ret_names = NULL;
	*n = 0;
	for (int tries = 0;; tries++) {
		struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
		struct req r;
		req_init(&r, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
		req_put_u32(&r, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
		struct name_list l = {0};
		char ext[EXTACK_MAX];
		int e = talk(nl, &r, name_list_cb, &l, ext, err);
		if (e == 0) {
			if (!l.v && !(l.v = calloc(1, sizeof(*l.v))))
				return berr_set(err, ENOMEM, "listing links");
			l.v[l.n] = NULL;
			*ret_names = l.v;
			*n = l.n;
			return 0;
		}
		name_list_free(&l);
		if (e < 0)
			return berr_wrap(err, "listing links");
		if (e == EINTR && tries + 1 < DUMP_TRIES)
			continue; /* links changed during the dump */
		if (e == E2BIG)
			return berr_set(err, e, "listing links: more than %d", LINKS_MAX);
		return kfail(err, e, ext, "listing links");
	}
}

/* ---- host-gw routes ---- */

static void route_msg(struct req *r, uint16_t type, uint16_t flags, int family, const void *dst, int prefixlen,
		      const void *gateway, uint8_t proto, uint32_t metric)
{
	int alen = addr_len(family);
	struct rtmsg rtm = {
		.rtm_family = (uint8_t)family,
		.rtm_dst_len = (uint8_t)prefixlen,
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = proto,
		.rtm_scope = type == RTM_DELROUTE ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE,
		.rtm_type = RTN_UNICAST,
	};
	req_init(r, type, flags, &rtm, sizeof(rtm));
	req_put(r, RTA_DST, dst, (size_t)alen);
	if (gateway)
		req_put(r, RTA_GATEWAY, gateway, (size_t)alen);
	if (metric)
		req_put_u32(r, RTA_PRIORITY, metric);
}

int nl_route_replace_via(struct nl *nl, int family, const void *dst, int prefixlen, const void *gateway, uint8_t proto,
			 uint32_t metric, struct berr **err)
{
	int alen = addr_len(family);
	char d[INET6_ADDRSTRLEN] = "", g[INET6_ADDRSTRLEN] = "";
	if (!alen || !dst || !gateway || !inet_ntop(family, dst, d, sizeof(d)) || !inet_ntop(family, gateway, g, sizeof(g)))
		return berr_setc(err, BERR_INVALID, "adding a route: no destination or gateway, or family %d", family);
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "adding route %s/%d via %s", d, prefixlen, g);
	if (prefixlen < 0 || prefixlen > alen * 8)
		return berr_setc(err, BERR_INVALID, "%s: invalid prefix length", what);
	struct req r;
	route_msg(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, family, dst, prefixlen, gateway, proto, metric);
	return request(nl, &r, 0, what, err);
}

int nl_route_del(struct nl *nl, int family, const void *dst, int prefixlen, uint8_t proto, uint32_t metric,
		 struct berr **err)
{
	int alen = addr_len(family);
	char d[INET6_ADDRSTRLEN] = "";
	if (!alen || !dst || !inet_ntop(family, dst, d, sizeof(d)))
		return berr_setc(err, BERR_INVALID, "removing a route: no destination, or family %d", family);
	char what[WHAT_MAX];
	snprintf(what, sizeof(what), "removing route %s/%d", d, prefixlen);
	struct req r;
	route_msg(&r, RTM_DELROUTE, 0, family, dst, prefixlen, NULL, proto, metric);
	return request(nl, &r, ESRCH, what, err);
}

struct route_list {
	int family;
	uint8_t proto;
	uint32_t metric;
	struct nl_route *v;
	size_t n, cap;
};

static int route_list_cb(const struct nlmsghdr *m, void *data)
{
	struct route_list *l = data;
	if (m->nlmsg_type != RTM_NEWROUTE || m->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return 0;
	const struct rtmsg *rtm = NLMSG_DATA(m);
	if (rtm->rtm_family != l->family || rtm->rtm_protocol != l->proto || rtm->rtm_table != RT_TABLE_MAIN)
		return 0;
	struct nl_route rt = {.family = l->family, .prefixlen = rtm->rtm_dst_len};
	uint32_t metric = 0;
	int alen = addr_len(l->family);
	int len = (int)RTM_PAYLOAD(m);
	for (const struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == (size_t)alen)
			memcpy(rt.dst, RTA_DATA(a), (size_t)alen);
		else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == (size_t)alen) {
			memcpy(rt.gateway, RTA_DATA(a), (size_t)alen);
			rt.has_gateway = true;
		} else if (a->rta_type == RTA_PRIORITY && RTA_PAYLOAD(a) == 4)
			memcpy(&metric, RTA_DATA(a), 4);
	}
	if (metric != l->metric)
		return 0;
	if (l->n >= 65536)
		return -E2BIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct nl_route *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = rt;
	return 0;
}

int nl_route_list(struct nl *nl, int family, uint8_t proto, uint32_t metric, struct nl_route **ret, size_t *n,
		  struct berr **err)
{
	*ret = NULL;
	*n = 0;
	for (int tries = 0;; tries++) {
		struct rtmsg rtm = {.rtm_family = (uint8_t)family, .rtm_table = RT_TABLE_MAIN};
		struct req r;
		req_init(&r, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
		struct route_list l = {.family = family, .proto = proto, .metric = metric};
		char ext[EXTACK_MAX];
		int e = talk(nl, &r, route_list_cb, &l, ext, err);
		if (e == 0) {
			*ret = l.v;
			*n = l.n;
			return 0;
		}
		free(l.v);
		if (e < 0)
			return berr_wrap(err, "listing routes");
		if (e == EINTR && tries + 1 < DUMP_TRIES)
			continue;
		return kfail(err, e, ext, "listing routes");
	}
}

struct route_get {
	int family;
	bool local, has_gw;
	unsigned char gw[16];
};

static int route_get_cb(const struct nlmsghdr *m, void *data)
{
	struct route_get *g = data;
	if (m->nlmsg_type != RTM_NEWROUTE || m->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return 0;
	const struct rtmsg *rtm = NLMSG_DATA(m);
	g->local = rtm->rtm_type == RTN_LOCAL;
	int alen = addr_len(g->family);
	int len = (int)RTM_PAYLOAD(m);
	for (const struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == (size_t)alen) {
			memcpy(g->gw, RTA_DATA(a), (size_t)alen);
			g->has_gw = true;
		}
	return 0;
}

int nl_route_get(struct nl *nl, int family, const void *addr, bool *ret_local, bool *ret_has_gw, void *ret_gw,
		 struct berr **err)
{
	int alen = addr_len(family);
	char d[INET6_ADDRSTRLEN] = "";
	if (!alen || !addr || !inet_ntop(family, addr, d, sizeof(d)))
		return berr_setc(err, BERR_INVALID, "looking up a route: no address, or family %d", family);
	struct rtmsg rtm = {.rtm_family = (uint8_t)family, .rtm_dst_len = (uint8_t)(alen * 8)};
	struct req r;
	req_init(&r, RTM_GETROUTE, 0, &rtm, sizeof(rtm));
	req_put(&r, RTA_DST, addr, (size_t)alen);
	struct route_get g = {.family = family};
	char ext[EXTACK_MAX];
	int e = talk(nl, &r, route_get_cb, &g, ext, err);
	if (e < 0)
		return berr_wrap(err, "looking up the route to %s", d);
	if (e)
		return kfail(err, e, ext, "looking up the route to %s", d);
	*ret_local = g.local;
	*ret_has_gw = g.has_gw;
	if (g.has_gw)
		memcpy(ret_gw, g.gw, (size_t)alen);
	return 0;
}
