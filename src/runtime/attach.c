#include "runtime/attach.h"
#include "util/fs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define SOCK_NAME "attach.sock"
#define INBUF_SIZE (64 * 1024)
/* A client may fall this far behind before it is dropped. */
#define CLIENT_SNDBUF (1 << 20)

void att_hdr(unsigned char hdr[ATT_HDR], int type, uint32_t size)
{
	hdr[0] = (unsigned char)type;
	hdr[1] = hdr[2] = hdr[3] = 0;
	hdr[4] = (unsigned char)(size >> 24);
	hdr[5] = (unsigned char)(size >> 16);
	hdr[6] = (unsigned char)(size >> 8);
	hdr[7] = (unsigned char)size;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- detach keys ---- */

int att_parse_keys(const char *spec, unsigned char keys[ATT_MAX_KEYS], size_t *ret_n, struct berr **err)
{
	size_t n = 0;
	const char *p = spec;
	if (!*spec)
		goto bad;
	for (;;) {
		size_t len = strcspn(p, ",");
		if (n == ATT_MAX_KEYS)
			goto bad;
		if (len == 1) {
			keys[n++] = (unsigned char)*p;
		} else if (len == 6 && !strncasecmp(p, "ctrl-", 5)) {
			char k = (char)tolower((unsigned char)p[5]);
			if (k >= 'a' && k <= 'z')
				keys[n++] = (unsigned char)(k - 'a' + 1);
			else if (k == '@')
				keys[n++] = 0;
			else if (k == '[')
				keys[n++] = 27;
			else if (k == '\\')
				keys[n++] = 28;
			else if (k == ']')
				keys[n++] = 29;
			else if (k == '^')
				keys[n++] = 30;
			else if (k == '_')
				keys[n++] = 31;
			else
				goto bad;
		} else {
			goto bad;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	*ret_n = n;
	return 0;
bad:
	return berr_setc(err, BERR_INVALID, "Invalid detach keys (%s) provided", spec);
}

size_t att_escape_filter(struct att_escape *e, const void *in, size_t n, void *out, bool *detached)
{
	const unsigned char *s = in;
	unsigned char *d = out;
	size_t o = 0;
	*detached = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (e->n == 0) {
			d[o++] = c;
			continue;
		}
		if (c == e->keys[e->matched]) {
			if (++e->matched == e->n) {
				e->matched = 0;
				*detached = true;
				return o;
			}
			continue;
		}
		/* not the sequence after all: what was held back goes through */
		memcpy(d + o, e->keys, e->matched);
		o += e->matched;
		e->matched = 0;
		if (c == e->keys[0])
			e->matched = 1; /* (a sequence of one key matched above) */
		else
			d[o++] = c;
	}
	return o;
}

/* ---- the socket's address ---- */

/* A path longer than sun_path (deep runroots, as in the tests) is reached
 * through the directory's descriptor: /proc/self/fd/N/attach.sock. */
static socklen_t sock_addr(struct sockaddr_un *sa, const char *dir, int dfd)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/" SOCK_NAME, dir);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/" SOCK_NAME, dfd);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
}

int att_connect(const char *runroot, const char *id, int *ret_fd, struct berr **err)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/%s", runroot, id);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_setc(err, BERR_NOT_FOUND, "no attach socket for container %.12s", id);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		close(dfd);
		return berr_set(err, errno, "creating a socket");
	}
	struct sockaddr_un sa;
	socklen_t len = sock_addr(&sa, dir, dfd);
	int r;
	do
		r = connect(fd, (struct sockaddr *)&sa, len);
	while (r < 0 && errno == EINTR);
	int e = errno;
	close(dfd);
	if (r < 0) {
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return berr_setc(err, BERR_NOT_FOUND, "no attach socket for container %.12s", id);
		return berr_set(err, e, "connecting to the container's monitor");
	}
	*ret_fd = fd;
	return 0;
}

void att_remove(const char *runroot, const char *id)
{
	int rfd = open(runroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return;
	char p[128];
	snprintf(p, sizeof(p), "%s/" SOCK_NAME, id);
	unlinkat(rfd, p, 0);
	unlinkat(rfd, id, AT_REMOVEDIR); /* only when nothing else is in there */
	close(rfd);
}

/* ---- the hub ---- */

struct client {
	int fd;
	bool rd_eof;       /* the client sent all its input */
	unsigned char hdr[ATT_HDR];
	size_t hlen;
	uint32_t left;     /* payload bytes left of the current frame */
	unsigned char ctl[4];
	size_t ctllen;
	size_t limit;      /* queued output beyond this: the client fell behind */
};

struct att_hub {
	int lfd, rfd, dfd;
	char id[65];
	bool tty;
	struct client c[ATT_MAX_CLIENTS];
	int nc;
	int in_fd, pty_fd; /* our duplicates */
	bool in_close;
	unsigned char *inbuf;
	size_t inoff, inlen;
	/* where the last att_hub_pollfds put things */
	int p_listen, p_in, p_c[ATT_MAX_CLIENTS], p_nc;
};

struct att_hub *att_hub_new(const char *runroot, const char *id, bool tty, struct berr **err)
{
	struct att_hub *h = calloc(1, sizeof(*h));
	h->lfd = h->rfd = h->dfd = h->in_fd = h->pty_fd = -1;
	h->tty = tty;
	h->inbuf = malloc(INBUF_SIZE);
	snprintf(h->id, sizeof(h->id), "%s", id);
	if (fs_mkdir_p(runroot, 0700, err) < 0)
		return h;
	h->rfd = open(runroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->rfd < 0) {
		berr_set(err, errno, "opening %s", runroot);
		return h;
	}
	if (mkdirat(h->rfd, id, 0700) < 0 && errno != EEXIST) {
		berr_set(err, errno, "creating %s/%s", runroot, id);
		return h;
	}
	h->dfd = openat(h->rfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (h->dfd < 0) {
		berr_set(err, errno, "opening %s/%s", runroot, id);
		return h;
	}
	fchmod(h->dfd, 0700);
	unlinkat(h->dfd, SOCK_NAME, 0); /* a killed monitor's */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		berr_set(err, errno, "creating the attach socket");
		return h;
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/%s", runroot, id);
	struct sockaddr_un sa;
	socklen_t len = sock_addr(&sa, dir, h->dfd);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, ATT_MAX_CLIENTS) < 0) {
		berr_set(err, errno, "listening on %s/" SOCK_NAME, dir);
		close(fd);
		return h;
	}
	h->lfd = fd;
	return h;
}

static void drop(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void compact(struct att_hub *h)
{
	int k = 0;
	for (int i = 0; i < h->nc; i++)
		if (h->c[i].fd >= 0)
			h->c[k++] = h->c[i];
	h->nc = k;
}

void att_hub_free(struct att_hub *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->nc; i++)
		drop(&h->c[i]);
	h->nc = 0;
	att_hub_set_stdin(h, -1, -1);
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->dfd >= 0) {
		if (h->lfd >= 0)
			unlinkat(h->dfd, SOCK_NAME, 0);
		close(h->dfd);
	}
	if (h->rfd >= 0) {
		unlinkat(h->rfd, h->id, AT_REMOVEDIR);
		close(h->rfd);
	}
	free(h->inbuf);
	free(h);
}

void att_hub_set_stdin(struct att_hub *h, int in_fd, int pty_fd)
{
	if (!h)
		return;
	if (h->in_fd >= 0)
		close(h->in_fd);
	if (h->pty_fd >= 0)
		close(h->pty_fd);
	h->in_fd = in_fd >= 0 ? fcntl(in_fd, F_DUPFD_CLOEXEC, 3) : -1;
	h->pty_fd = pty_fd >= 0 ? fcntl(pty_fd, F_DUPFD_CLOEXEC, 3) : -1;
	/* (shares the open file description: the monitor's copy is
	 * non-blocking too, which its reads of a pty master expect) */
	if (h->in_fd >= 0)
		fcntl(h->in_fd, F_SETFL, fcntl(h->in_fd, F_GETFL) | O_NONBLOCK);
	h->in_close = false;
	h->inoff = h->inlen = 0;
}

static void input_flush(struct att_hub *h)
{
	while (h->inlen > 0 && h->in_fd >= 0) {
		ssize_t w = write(h->in_fd, h->inbuf + h->inoff, h->inlen);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			/* the container closed its stdin: what it never read is lost */
			h->inlen = 0;
			break;
		}
		h->inoff += (size_t)w;
		h->inlen -= (size_t)w;
	}
	if (h->in_fd < 0)
		h->inlen = 0;
	if (h->inlen == 0) {
		h->inoff = 0;
		if (h->in_close && h->in_fd >= 0) {
			close(h->in_fd);
			h->in_fd = -1;
		}
	}
}

/* Append (the caller checked the room) without flushing. */
static void input_add(struct att_hub *h, const void *buf, size_t n)
{
	if (h->in_fd < 0 || h->in_close || n == 0)
		return;
	if (h->inoff + h->inlen + n > INBUF_SIZE) {
		memmove(h->inbuf, h->inbuf + h->inoff, h->inlen);
		h->inoff = 0;
	}
	if (h->inlen + n > INBUF_SIZE)
		n = INBUF_SIZE - h->inlen;
	memcpy(h->inbuf + h->inoff + h->inlen, buf, n);
	h->inlen += n;
}

void att_hub_input(struct att_hub *h, const void *buf, size_t n)
{
	if (!h)
		return;
	input_add(h, buf, n);
	input_flush(h);
}

bool att_hub_input_busy(const struct att_hub *h) { return h && h->inlen > 0; }

void att_hub_input_eof(struct att_hub *h)
{
	if (!h)
		return;
	h->in_close = true;
	input_flush(h);
}

int att_hub_clients(const struct att_hub *h) { return h ? h->nc : 0; }

static void send_frame(int fd, int type, const void *buf, size_t n)
{
	unsigned char hdr[ATT_HDR];
	att_hdr(hdr, type, (uint32_t)n);
	struct iovec iov[2] = {{hdr, ATT_HDR}, {(void *)buf, n}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t w = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)w;
}

static void accept_all(struct att_hub *h)
{
	for (;;) {
		int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			return;
		if (h->nc >= ATT_MAX_CLIENTS) {
			char msg[96];
			int n = snprintf(msg, sizeof(msg), "too many clients attached to this container (at most %d)",
					 ATT_MAX_CLIENTS);
			send_frame(fd, ATT_ERROR, msg, (size_t)n);
			close(fd);
			continue;
		}
		int sz = CLIENT_SNDBUF;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		socklen_t sl = sizeof(sz);
		if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, &sl) < 0 || sz < 65536)
			sz = 65536;
		/* half for the output queued, the rest keeps room for a frame
		 * and the notice that the client is dropped */
		h->c[h->nc++] = (struct client){.fd = fd, .limit = (size_t)sz / 2};
	}
}

static void apply_resize(struct att_hub *h, const unsigned char *p)
{
	struct winsize ws = {.ws_row = (unsigned short)(p[0] << 8 | p[1]), .ws_col = (unsigned short)(p[2] << 8 | p[3])};
	if (h->pty_fd >= 0 && ws.ws_row && ws.ws_col)
		ioctl(h->pty_fd, TIOCSWINSZ, &ws);
}

static void client_read(struct att_hub *h, struct client *c)
{
	unsigned char buf[4096];
	ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (r < 0) {
		if (errno != EAGAIN && errno != EINTR)
			drop(c);
		return;
	}
	if (r == 0) {
		c->rd_eof = true;
		return;
	}
	size_t i = 0, n = (size_t)r;
	while (i < n) {
		if (c->hlen < ATT_HDR) {
			c->hdr[c->hlen++] = buf[i++];
			if (c->hlen == ATT_HDR) {
				c->left = be32(c->hdr + 4);
				c->ctllen = 0;
				if (c->left == 0)
					c->hlen = 0;
			}
			continue;
		}
		size_t k = n - i < c->left ? n - i : c->left;
		if (c->hdr[0] == ATT_STDIN) {
			input_add(h, buf + i, k);
		} else if (c->hdr[0] == ATT_RESIZE) {
			for (size_t j = 0; j < k && c->ctllen < sizeof(c->ctl); j++)
				c->ctl[c->ctllen++] = buf[i + j];
		}
		i += k;
		c->left -= (uint32_t)k;
		if (c->left == 0) {
			if (c->hdr[0] == ATT_RESIZE && c->ctllen == sizeof(c->ctl))
				apply_resize(h, c->ctl);
			c->hlen = 0;
		}
	}
}

int att_hub_pollfds(struct att_hub *h, struct pollfd *pfd)
{
	if (!h)
		return 0;
	int n = 0;
	h->p_listen = h->p_in = -1;
	if (h->lfd >= 0) {
		pfd[n] = (struct pollfd){.fd = h->lfd, .events = POLLIN};
		h->p_listen = n++;
	}
	if (h->inlen > 0 && h->in_fd >= 0) {
		pfd[n] = (struct pollfd){.fd = h->in_fd, .events = POLLOUT};
		h->p_in = n++;
	}
	/* a client's input waits while the container has not read what came
	 * before: its socket buffer fills, then the client waits */
	for (int i = 0; i < h->nc; i++) {
		pfd[n] = (struct pollfd){.fd = h->c[i].fd, .events = !h->c[i].rd_eof && h->inlen == 0 ? POLLIN : 0};
		h->p_c[i] = n++;
	}
	h->p_nc = h->nc;
	return n;
}

void att_hub_events(struct att_hub *h, const struct pollfd *pfd)
{
	if (!h)
		return;
	for (int i = 0; i < h->p_nc && i < h->nc; i++) {
		short re = pfd[h->p_c[i]].revents;
		struct client *c = &h->c[i];
		if (re & POLLIN)
			client_read(h, c);
		else if (re & (POLLHUP | POLLERR | POLLNVAL))
			drop(c);
	}
	compact(h);
	if (h->inlen > 0 || h->in_close)
		input_flush(h);
	if (h->p_listen >= 0 && pfd[h->p_listen].revents)
		accept_all(h);
}

void att_hub_output(struct att_hub *h, int stream, const void *buf, size_t n)
{
	if (!h || h->nc == 0 || n == 0)
		return;
	unsigned char hdr[ATT_HDR];
	att_hdr(hdr, h->tty ? ATT_STDOUT : stream, (uint32_t)n);
	for (int i = 0; i < h->nc; i++) {
		int queued = 0;
		if (ioctl(h->c[i].fd, SIOCOUTQ, &queued) == 0 && (size_t)queued + ATT_HDR + n > h->c[i].limit) {
			static const char msg[] = "this client fell behind the container's output and was disconnected";
			send_frame(h->c[i].fd, ATT_ERROR, msg, sizeof(msg) - 1);
			drop(&h->c[i]);
			continue;
		}
		struct iovec iov[2] = {{hdr, ATT_HDR}, {(void *)buf, n}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
		ssize_t w;
		do
			w = sendmsg(h->c[i].fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		/* all or nothing: a client that cannot take a whole frame now
		 * (full buffer, gone) is dropped, never waited for */
		if (w != (ssize_t)(ATT_HDR + n))
			drop(&h->c[i]);
	}
	compact(h);
}

void att_hub_exit(struct att_hub *h, int code)
{
	if (!h)
		return;
	if (h->lfd >= 0)
		accept_all(h);
	unsigned char be[4] = {(unsigned char)(code >> 24), (unsigned char)(code >> 16), (unsigned char)(code >> 8),
			       (unsigned char)code};
	for (int i = 0; i < h->nc; i++) {
		send_frame(h->c[i].fd, ATT_EXIT, be, sizeof(be));
		drop(&h->c[i]);
	}
	h->nc = 0;
	att_hub_set_stdin(h, -1, -1);
}
