/* /exec, /attach and /portForward (kube/kubelet-api.h): the request is
 * checked as the kubelet checks it, upgraded to SPDY/3.1 (kube/spdy.h) as
 * the CRI streaming server upgrades it, and the session runs in this
 * connection's thread: one poll loop over the TLS socket and the session's
 * own descriptors (the exec'd process's pipes or pty, the container
 * monitor's attach socket, the pod's forwarded TCP connections).
 *
 * exec: the streams the options call for (error first, then stdin,
 * stdout, stderr, resize with a tty in v3+) must all arrive within 30 s;
 * then the process starts the way `berth exec` starts one (runtime/exec.h,
 * plan_exec_proc). Its output goes out as it comes (no more than the
 * peer's window when it keeps windows, and reading stops while 1 MiB waits
 * to be written), input is written as the process takes it, a stdin FIN
 * closes its stdin (without a tty), resize sizes go to the pty. When it
 * exits and its output is drained (or 1 s later if something it left
 * behind holds the pipes), the exit status goes on the error stream (v4+:
 * a metav1.Status; older: the failure's text), every stream is closed,
 * GOAWAY, and the connection ends. A client that goes away ends the
 * session at once: the process keeps running without its stdio (as with
 * the CRI runtimes) and is reaped by a thread of its own.
 *
 * attach: the same streams over the container's monitor socket
 * (runtime/attach.h); the session ends when the container exits.
 *
 * portForward: pairs of streams (data and error) with the same requestID
 * (or, from old clients, stream ids 2 apart), each a TCP connection to
 * localhost:PORT in the pod's network namespace, made by a short-lived
 * thread that joins the sandbox's namespace (setns is per thread). A
 * connection that fails is reported on the pair's error stream in the
 * kubelet's and containerd's words. */
#include "kube/kubelet-api-int.h"
#include "kube/spdy.h"
#include "runtime/attach.h"
#include "runtime/exec.h"
#include "runtime/plan.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define SESS_OUT_LIMIT (1u << 20)  /* queued for the peer before sources pause */
#define STREAM_IN_LIMIT (1u << 20) /* buffered from the peer before the socket pauses */
#define CREATE_MS 30000            /* the kubelet's stream creation timeout */
#define DRAIN_MS 1000
#define FINISH_MS 5000
#define MAX_PAIRS 128
#define CHUNK 32768

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- the session's socket ---- */

struct sess {
	struct kconn *c;
	struct spdy_session sp;
	bool gone; /* the peer went away (or the server stops) */
};

/* Write what the session has queued, without blocking. */
static void sess_flush(struct sess *s)
{
	while (!s->gone) {
		size_t n;
		const char *p = spdy_session_out(&s->sp, &n);
		if (!n)
			return;
		ERR_clear_error();
		int w = SSL_write(s->c->ssl, p, n > (1u << 20) ? 1 << 20 : (int)n);
		if (w > 0) {
			spdy_session_sent(&s->sp, (size_t)w);
			continue;
		}
		int e = SSL_get_error(s->c->ssl, w);
		if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
			s->gone = s->c->closed = true;
		return;
	}
}

/* Read what is there and feed it to the session. */
static void sess_read(struct sess *s)
{
	char buf[65536];
	for (int i = 0; i < 8 && !s->gone; i++) {
		ssize_t n = kconn_read_nb(s->c, buf, sizeof(buf));
		if (n < 0) {
			s->gone = true;
			return;
		}
		if (n == 0)
			return;
		struct berr *e = NULL;
		if (spdy_session_feed(&s->sp, buf, (size_t)n, &e) < 0) {
			berr_free(e);
			sess_flush(s); /* the GOAWAY */
			s->gone = true;
			return;
		}
	}
}

/* Whether the socket may be read: nothing the peer sent piles up. */
static bool sess_input_ok(const struct sess *s)
{
	for (size_t i = 0; i < s->sp.nstreams; i++)
		if (spdy_stream_readable(s->sp.streams[i]) > STREAM_IN_LIMIT)
			return false;
	return true;
}

/* Poll the socket and the caller's fds (pfd[1..n]); socket events handled. */
static void sess_poll(struct sess *s, struct pollfd *pfd, size_t n, int ms)
{
	bool in_ok = sess_input_ok(s);
	pfd[0] = (struct pollfd){.fd = s->c->fd,
				 .events = (short)((in_ok ? POLLIN : 0) | (spdy_session_pending(&s->sp) ? POLLOUT : 0))};
	if (in_ok && SSL_pending(s->c->ssl) > 0)
		ms = 0;
	int r = poll(pfd, n + 1, ms);
	if (r < 0) {
		for (size_t i = 0; i <= n; i++)
			pfd[i].revents = 0;
		return;
	}
	if (s->c->api->quit)
		s->gone = true;
	if (in_ok && ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) || SSL_pending(s->c->ssl) > 0))
		sess_read(s);
	if (pfd[0].revents & (POLLOUT | POLLERR))
		sess_flush(s);
}

/* Write out the end (FINs, GOAWAY) for at most FINISH_MS, then close. */
static void sess_finish(struct sess *s)
{
	spdy_session_goaway(&s->sp, SPDY_GOAWAY_OK);
	long long end = now_ms() + FINISH_MS;
	while (!s->gone && spdy_session_pending(&s->sp) && now_ms() < end) {
		sess_flush(s);
		if (spdy_session_pending(&s->sp) && kconn_wait(s->c, POLLOUT, 250) < 0)
			break;
	}
}

/* Answer the upgrade: 101 with the protocol, then the session. */
static int upgrade(struct sess *s, const char *proto)
{
	char head[512];
	time_t t = time(NULL);
	struct tm tm;
	char date[64];
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nDate: %s\r\nUpgrade: SPDY/3.1\r\n"
		 "X-Stream-Protocol-Version: %s\r\n\r\n",
		 date, proto);
	if (kconn_write(s->c, head, strlen(head)) < 0)
		return -1;
	struct berr *e = NULL;
	if (spdy_session_init(&s->sp, true, &e) < 0) {
		berr_free(e);
		return -1;
	}
	/* frames the client sent right behind its request */
	struct kconn *c = s->c;
	if (c->rbuf.len > c->roff) {
		if (spdy_session_feed(&s->sp, c->rbuf.s + c->roff, c->rbuf.len - c->roff, &e) < 0) {
			berr_free(e);
			s->gone = true;
		}
		c->roff = c->rbuf.len;
	}
	return 0;
}

/* The handshake before an upgrade (k8s.io/streaming's httpstream.Handshake
 * and the SPDY upgrader's header check). Returns the protocol chosen, or
 * NULL after answering the request. */
static const char *negotiate(struct kconn *c, const struct kreq *r, const char *const *server, size_t ns)
{
	_cleanup_json_ json_t *cl = kreq_header_list(r, "X-Stream-Protocol-Version");
	if (!kreq_header(r, "X-Stream-Protocol-Version")) {
		char msg[256];
		snprintf(msg, sizeof(msg),
			 "unable to upgrade: header X-Stream-Protocol-Version does not exist in request with %zu headers",
			 r->nhdr - (kreq_header(r, "Host") ? 1 : 0));
		kconn_http_error(c, r, 400, msg, NULL);
		return NULL;
	}
	if (!json_array_size(cl)) {
		kconn_http_error(c, r, 400, "unable to upgrade: header X-Stream-Protocol-Version is empty", NULL);
		return NULL;
	}
	const char *chosen = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(cl, i, v)
	{
		for (size_t k = 0; k < ns && !chosen; k++)
			if (!strcmp(json_string_value(v), server[k]))
				chosen = server[k];
		if (chosen)
			break;
	}
	if (!chosen) {
		struct sbuf m = SBUF_INIT, h = SBUF_INIT;
		sbuf_adds(&m, "unable to upgrade: unable to negotiate protocol: client supports [");
		json_array_foreach(cl, i, v) sbuf_addf(&m, "%s%s", i ? " " : "", json_string_value(v));
		sbuf_adds(&m, "], server accepts [");
		for (size_t k = 0; k < ns; k++) {
			sbuf_addf(&m, "%s%s", k ? " " : "", server[k]);
			sbuf_addf(&h, "X-Accepted-Stream-Protocol-Versions: %s\r\n", server[k]);
		}
		sbuf_adds(&m, "]");
		kconn_http_error(c, r, 403, sbuf_str(&m), h.s);
		sbuf_release(&m);
		sbuf_release(&h);
		return NULL;
	}
	const char *conn = kreq_header(r, "Connection"), *up = kreq_header(r, "Upgrade");
	if (!conn || !up || !strcasestr(conn, "upgrade") || !strcasestr(up, "spdy/3.1")) {
		struct sbuf m = SBUF_INIT;
		sbuf_adds(&m, "unable to upgrade: missing upgrade headers in request: ");
		kapi_go_header_repr(r, &m);
		kconn_http_error(c, r, 400, sbuf_str(&m), NULL);
		sbuf_release(&m);
		return NULL;
	}
	return chosen;
}

/* A pod's UID: the API object's, else the one the node recorded. */
static const char *pod_uid(json_t *meta)
{
	const char *u = jsonx_str(json_object_get(json_object_get(meta, "object"), "metadata"), "uid");
	if (!u)
		u = jsonx_str(json_object_get(meta, "metadata"), "uid"); /* kube play's */
	return u ? u : jsonx_str(meta, "uid");
}

static bool opt(const struct kreq *r, const char *name)
{
	_cleanup_json_ json_t *v = kapi_query_values(r->query, name);
	const char *s = json_string_value(json_array_get(v, 0));
	return s && (!strcmp(s, "1") || !strcmp(s, "true"));
}

/* ---- exec and attach ---- */

struct xs {
	struct sess s;
	int kind;
	int proto; /* 5..2; 1 for channel.k8s.io */
	bool want_in, want_out, want_err, tty;
	int expected, got;
	bool bad_stream;
	struct spdy_stream *st_err, *st_in, *st_out, *st_eout, *st_rz;
	long long t0;
	bool started;
	char id[65];
	pid_t ctr_pid;
	json_t *cfg;
	json_t *argv;
	/* exec */
	pid_t child;
	int pidfd, efd, fd_in, fd_out, fd_err, pty;
	bool exited;
	int wstatus;
	long long exit_at;
	long long out_at; /* the last time output came, or waited for the peer's window */
	/* both */
	struct sbuf inb;
	size_t inoff;
	bool in_done;
	struct sbuf rz;
	unsigned rz_w, rz_h;
	bool rz_set;
	char *fail;     /* an internal error for the error stream */
	/* attach */
	int us;
	struct sbuf ub;
	struct sbuf uout;
	size_t uoff;
	bool us_eof, us_shut;
	struct sbuf pend_out, pend_err; /* monitor output waiting for the peer's window */
};

static void *reap(void *p)
{
	pid_t pid = (pid_t)(intptr_t)p;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return NULL;
}

/* The process outlives the session: reap it when it ends. */
static void reap_later(pid_t pid)
{
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 64 << 10);
	if (pthread_create(&t, &at, reap, (void *)(intptr_t)pid) != 0)
		waitpid(pid, NULL, WNOHANG);
	pthread_attr_destroy(&at);
}

/* Take the session's fresh streams as the v2-v5 handlers do. */
static void take_streams(struct xs *x)
{
	struct berr *e = NULL;
	for (size_t i = 0; i < x->s.sp.nstreams; i++) {
		struct spdy_stream *st = x->s.sp.streams[i];
		if (!st->fresh)
			continue;
		const char *t = spdy_headers_get(&st->headers, "streamtype");
		struct spdy_stream **slot = NULL;
		if (t && !strcmp(t, "error"))
			slot = &x->st_err;
		else if (t && !strcmp(t, "stdin"))
			slot = &x->st_in;
		else if (t && !strcmp(t, "stdout"))
			slot = &x->st_out;
		else if (t && !strcmp(t, "stderr"))
			slot = &x->st_eout;
		else if (t && !strcmp(t, "resize") && x->proto >= 3)
			slot = &x->st_rz;
		if (!slot || *slot || x->started) {
			/* before the start, an "unexpected stream type" ends the
			 * session, as the kubelet's handlers do; one more of a kind,
			 * or any stream once it runs, is only refused */
			spdy_stream_reject(&x->s.sp, st, &e);
			if (!slot && !x->started)
				x->bad_stream = true;
			continue;
		}
		spdy_stream_accept(&x->s.sp, st, &e);
		*slot = st;
		x->got++;
	}
	berr_free(e);
}

static char *cmd_repr(json_t *argv)
{
	struct sbuf b = SBUF_INIT;
	sbuf_addc(&b, '[');
	size_t i;
	json_t *v;
	json_array_foreach(argv, i, v) sbuf_addf(&b, "%s%s", i ? " " : "", json_string_value(v));
	sbuf_addc(&b, ']');
	return sbuf_detach(&b);
}

__attribute__((format(printf, 2, 3))) static void set_fail(struct xs *x, const char *fmt, ...)
{
	free(x->fail);
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&x->fail, fmt, ap) < 0)
		x->fail = NULL;
	va_end(ap);
}

static int open_pty(int *master, int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -1;
	char name[128];
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
		close(m);
		return -1;
	}
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		close(m);
		return -1;
	}
	*master = m;
	*slave = s;
	return 0;
}

static void apply_size(struct xs *x)
{
	if (!x->rz_set)
		return;
	if (x->kind == KX_EXEC && x->pty >= 0) {
		struct winsize ws = {.ws_row = (unsigned short)x->rz_h, .ws_col = (unsigned short)x->rz_w};
		ioctl(x->pty, TIOCSWINSZ, &ws);
	} else if (x->kind == KX_ATTACH && x->us >= 0) {
		unsigned char h[ATT_HDR], p[4] = {(unsigned char)(x->rz_h >> 8), (unsigned char)x->rz_h,
						  (unsigned char)(x->rz_w >> 8), (unsigned char)x->rz_w};
		att_hdr(h, ATT_RESIZE, 4);
		sbuf_add(&x->uout, h, ATT_HDR);
		sbuf_add(&x->uout, p, 4);
	}
	x->rz_set = false;
}

/* exec_spawn from a clean process: its helper (which waits for the
 * command and never execs) would otherwise keep a copy of every
 * descriptor this server has open at the fork, our end of the command's
 * stdin among them (the command would never see EOF) and other clients'
 * sockets (which would not close). So a child first keeps only the
 * command's stdio (at 0, 1, 2) and a pipe for the helper's message (3),
 * then spawns, waits and passes the message and the exit status on. */
static int spawn_clean(struct xs *x, const struct plan_proc *proc, int in, int out, int er, struct berr **err)
{
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0)
		return berr_set(err, errno, "exec: pipe");
	pid_t h = fork();
	if (h < 0) {
		close(ep[0]);
		close(ep[1]);
		return berr_set(err, errno, "exec: fork");
	}
	if (h == 0) {
		int keep[4] = {in, out, er, ep[1]};
		int null = open("/dev/null", O_RDWR);
		for (int i = 0; i < 4; i++)
			keep[i] = fcntl(keep[i] >= 0 ? keep[i] : null, F_DUPFD, 100);
		for (int i = 0; i < 4; i++)
			dup2(keep[i], i);
		if (close_range(4, ~0U, 0) < 0)
			for (int fd = 4; fd < 65536; fd++)
				close(fd);
		pid_t a;
		int efd = -1;
		struct berr *e = NULL;
		if (exec_spawn(x->ctr_pid, x->id, proc, 0, 1, 2, &a, &efd, &e) < 0) {
			char m[1024];
			int n = snprintf(m, sizeof(m), "125 %s", e ? e->msg : "exec failed");
			ssize_t w = write(3, m, (size_t)(n < (int)sizeof(m) ? n : (int)sizeof(m) - 1));
			(void)w;
			_exit(125);
		}
		/* only the command (and its helper) hold its stdio now */
		int dn = open("/dev/null", O_RDWR);
		dup2(dn, 0);
		dup2(dn, 1);
		dup2(dn, 2);
		int st = 0;
		while (waitpid(a, &st, 0) < 0 && errno == EINTR)
			;
		char m[1024];
		ssize_t n = read(efd, m, sizeof(m));
		if (n > 0) {
			ssize_t w = write(3, m, (size_t)n);
			(void)w;
		}
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	close(ep[1]);
	x->child = h;
	x->efd = ep[0];
	return 0;
}

static void start_exec(struct xs *x)
{
	struct kapi *a = x->s.c->api;
	size_t n = json_array_size(x->argv);
	char **argv = calloc(n + 1, sizeof(char *));
	char *noenv[1] = {NULL};
	for (size_t i = 0; i < n; i++)
		argv[i] = (char *)json_string_value(json_array_get(x->argv, i));
	struct plan_proc proc;
	struct berr *e = NULL;
	if (plan_exec_proc(x->cfg, a->root, argv, noenv, NULL, NULL, false, x->tty, &proc, &e) < 0) {
		free(argv);
		set_fail(x, "error executing command in container: %s", e ? e->msg : "no process");
		berr_free(e);
		return;
	}
	free(argv);
	int in = -1, out = -1, er = -1, p[2];
	if (x->tty) {
		int slave;
		if (open_pty(&x->pty, &slave) < 0) {
			plan_proc_release(&proc);
			set_fail(x, "error executing command in container: allocating a pty: %s", strerror(errno));
			return;
		}
		struct winsize ws = {.ws_row = 24, .ws_col = 80};
		ioctl(x->pty, TIOCSWINSZ, &ws);
		apply_size(x); /* the size the client sent already */
		in = out = er = slave;
		set_nonblock(x->pty);
	} else {
		if (x->want_in && pipe2(p, O_CLOEXEC) == 0) {
			in = p[0];
			x->fd_in = p[1];
			set_nonblock(x->fd_in);
		}
		if (x->want_out && pipe2(p, O_CLOEXEC) == 0) {
			x->fd_out = p[0];
			out = p[1];
			set_nonblock(x->fd_out);
		}
		if (x->want_err && pipe2(p, O_CLOEXEC) == 0) {
			x->fd_err = p[0];
			er = p[1];
			set_nonblock(x->fd_err);
		}
	}
	int rc = spawn_clean(x, &proc, in, out, er, &e);
	plan_proc_release(&proc);
	if (in >= 0)
		close(in);
	if (out >= 0 && out != in)
		close(out);
	if (er >= 0 && er != in && er != out)
		close(er);
	if (rc < 0) {
		set_fail(x, "error executing command in container: %s", e ? e->msg : "exec failed");
		berr_free(e);
		x->child = 0;
		return;
	}
	set_nonblock(x->efd);
	x->pidfd = (int)syscall(SYS_pidfd_open, x->child, 0);
}

static void start_attach(struct xs *x)
{
	struct berr *e = NULL;
	if (att_connect(x->s.c->api->runroot, x->id, &x->us, &e) < 0) {
		set_fail(x, "error attaching to container: %s", e ? e->msg : "no monitor");
		berr_free(e);
		x->us = -1;
		return;
	}
	set_nonblock(x->us);
	apply_size(x);
}

/* Data from the peer's stdin and resize streams. */
static void take_input(struct xs *x)
{
	struct spdy_session *sp = &x->s.sp;
	if (x->st_rz && spdy_stream_readable(x->st_rz)) {
		char buf[4096];
		size_t n;
		while ((n = spdy_stream_read(sp, x->st_rz, buf, sizeof(buf))) > 0)
			sbuf_add(&x->rz, buf, n);
		if (x->rz.len > 65536)
			sbuf_reset(&x->rz);
		if (kapi_resize_take(&x->rz, &x->rz_w, &x->rz_h) > 0) {
			x->rz_set = true;
			if (x->started)
				apply_size(x);
		}
	}
	if (!x->st_in || !x->started)
		return;
	if (x->inoff >= x->inb.len && x->uout.len - x->uoff < SESS_OUT_LIMIT && spdy_stream_readable(x->st_in)) {
		sbuf_reset(&x->inb);
		x->inoff = 0;
		char buf[CHUNK];
		size_t n = spdy_stream_read(sp, x->st_in, buf, sizeof(buf));
		if (x->kind == KX_EXEC) {
			sbuf_add(&x->inb, buf, n);
		} else {
			unsigned char h[ATT_HDR];
			att_hdr(h, ATT_STDIN, (uint32_t)n);
			sbuf_add(&x->uout, h, ATT_HDR);
			sbuf_add(&x->uout, buf, n);
		}
	}
	bool fin = (x->st_in->remote_fin || x->st_in->reset) && !spdy_stream_readable(x->st_in);
	if (fin && x->inoff >= x->inb.len && !x->in_done) {
		x->in_done = true;
		if (x->kind == KX_EXEC && !x->tty)
			closefd(&x->fd_in);
	}
}

/* Write buffered stdin to the process. */
static void put_input(struct xs *x, int fd)
{
	while (x->inoff < x->inb.len) {
		ssize_t w = write(fd, x->inb.s + x->inoff, x->inb.len - x->inoff);
		if (w > 0) {
			x->inoff += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EAGAIN)
			return;
		/* the process closed its stdin: what it does not take is dropped */
		x->inoff = x->inb.len;
		if (fd == x->fd_in)
			closefd(&x->fd_in);
		return;
	}
}

/* Output of fd to stream st; -1 at EOF. */
static int pump_out(struct xs *x, int fd, struct spdy_stream *st)
{
	size_t room = st ? spdy_stream_room(&x->s.sp, st, SESS_OUT_LIMIT) : CHUNK;
	if (!room)
		return 0;
	char buf[CHUNK];
	ssize_t n = read(fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n > 0) {
		if (st)
			spdy_stream_write(&x->s.sp, st, buf, (size_t)n, false);
		x->out_at = now_ms();
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1; /* EOF, or EIO from a pty nobody holds any more */
}

/* Monitor frames to the streams. */
static void att_frames(struct xs *x)
{
	size_t off = 0;
	while (x->ub.len - off >= ATT_HDR) {
		const unsigned char *h = (const unsigned char *)x->ub.s + off;
		uint32_t size = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
		if (x->ub.len - off - ATT_HDR < size)
			break;
		const char *d = x->ub.s + off + ATT_HDR;
		switch (h[0]) {
		case ATT_STDOUT:
			if (x->st_out)
				sbuf_add(&x->pend_out, d, size);
			break;
		case ATT_STDERR:
			if (x->st_eout)
				sbuf_add(&x->pend_err, d, size);
			else if (x->tty && x->st_out)
				sbuf_add(&x->pend_out, d, size);
			break;
		case ATT_EXIT:
			x->us_eof = true;
			break;
		case ATT_ERROR: {
			char m[1024];
			snprintf(m, sizeof(m), "%.*s", (int)(size < 1000 ? size : 1000), d);
			set_fail(x, "error attaching to container: %s", m);
			x->us_eof = true;
			break;
		}
		}
		off += ATT_HDR + size;
	}
	memmove(x->ub.s, x->ub.s + off, x->ub.len - off);
	x->ub.len -= off;
}

static void pend_write(struct xs *x, struct sbuf *p, struct spdy_stream *st)
{
	if (!p->len || !st)
		return;
	size_t n = spdy_stream_write(&x->s.sp, st, p->s, p->len, false);
	memmove(p->s, p->s + n, p->len - n);
	p->len -= n;
}

static bool out_done(struct xs *x)
{
	if (x->kind == KX_ATTACH)
		return x->us < 0 && !x->pend_out.len && !x->pend_err.len;
	return x->fd_out < 0 && x->fd_err < 0 && x->pty < 0;
}

/* The end: the status on the error stream, every stream closed. */
static void end_streams(struct xs *x)
{
	struct spdy_session *sp = &x->s.sp;
	int code = 0;
	if (!x->fail && x->kind == KX_EXEC && x->exited)
		code = WIFEXITED(x->wstatus) ? WEXITSTATUS(x->wstatus) : 128 + WTERMSIG(x->wstatus);
	if (x->st_err) {
		_cleanup_free_ char *cmd = cmd_repr(x->argv);
		if (x->proto >= 4) {
			_cleanup_free_ char *j = kapi_status_json(code, cmd, x->fail);
			spdy_stream_write(sp, x->st_err, j, strlen(j), true);
		} else if (x->fail || code) {
			/* v1-v3: the failure's text only */
			char m[2048];
			if (x->fail)
				snprintf(m, sizeof(m), "Internal error occurred: %s", x->fail);
			else
				snprintf(m, sizeof(m),
					 "command terminated with non-zero exit code: error executing command %s, exit code %d",
					 cmd, code);
			spdy_stream_write(sp, x->st_err, m, strlen(m), true);
		}
		spdy_stream_close(sp, x->st_err);
	}
	struct spdy_stream *all[] = {x->st_out, x->st_eout, x->st_in, x->st_rz};
	for (size_t i = 0; i < 4; i++)
		if (all[i])
			spdy_stream_close(sp, all[i]);
}

/* The exec helper's message when the command could not be started. */
static void start_error(struct xs *x)
{
	if (x->efd < 0)
		return;
	char m[1024];
	ssize_t n = read(x->efd, m, sizeof(m) - 1);
	closefd(&x->efd);
	if (n <= 0)
		return;
	m[n] = 0;
	const char *sp = strchr(m, ' ');
	set_fail(x, "error executing command in container: %s", sp ? sp + 1 : m);
}

static void xs_loop(struct xs *x)
{
	struct sess *s = &x->s;
	bool done = false;
	while (!s->gone && !done) {
		take_streams(x);
		if (x->bad_stream) {
			sess_flush(s);
			return;
		}
		if (!x->started && x->got >= x->expected) {
			x->started = true;
			if (x->kind == KX_EXEC)
				start_exec(x);
			else
				start_attach(x);
		}
		if (!x->started && now_ms() - x->t0 > CREATE_MS)
			return; /* timed out waiting for streams */
		take_input(x);
		if (x->started) {
			if (x->kind == KX_ATTACH) {
				pend_write(x, &x->pend_out, x->st_out);
				pend_write(x, &x->pend_err, x->st_eout);
				if (x->in_done && !x->us_shut && x->uoff >= x->uout.len && x->us >= 0) {
					shutdown(x->us, SHUT_WR);
					x->us_shut = true;
				}
				if (x->us_eof && x->us >= 0)
					closefd(&x->us);
			}
			bool ended = x->fail || (x->kind == KX_EXEC ? x->exited || x->child == 0 : x->us < 0);
			/* after the exit, output that stops coming for DRAIN_MS (not
			 * held back by the peer's window) is from something the
			 * command left behind holding its pipes */
			long long quiet = now_ms() - (x->out_at > x->exit_at ? x->out_at : x->exit_at);
			if (ended && (x->fail || out_done(x) || (x->kind == KX_EXEC && quiet > DRAIN_MS))) {
				if (x->kind == KX_EXEC && !x->fail && x->exited)
					start_error(x);
				end_streams(x);
				done = true;
				break;
			}
		}
		struct pollfd pfd[8];
		struct {
			int fd;
			int what;
		} map[7];
		size_t n = 0;
		bool room_out = x->st_out && spdy_stream_room(&s->sp, x->st_out, SESS_OUT_LIMIT);
		bool room_err = x->st_eout && spdy_stream_room(&s->sp, x->st_eout, SESS_OUT_LIMIT);
		if ((x->st_out && !room_out && (x->fd_out >= 0 || x->pty >= 0)) || (x->st_eout && !room_err && x->fd_err >= 0))
			x->out_at = now_ms(); /* waiting for the peer, not for output */
#define ADD(f, ev, w)                                                              \
	do {                                                                       \
		pfd[n + 1] = (struct pollfd){.fd = (f), .events = (short)(ev)};    \
		map[n].fd = (f);                                                   \
		map[n].what = (w);                                                 \
		n++;                                                               \
	} while (0)
		if (x->started && x->kind == KX_EXEC) {
			/* a pty nobody holds polls HUP at once: only with room to read it */
			if (x->pty >= 0 && (room_out || x->inoff < x->inb.len))
				ADD(x->pty, (room_out ? POLLIN : 0) | (x->inoff < x->inb.len ? POLLOUT : 0), 1);
			if (x->fd_out >= 0 && (room_out || !x->st_out))
				ADD(x->fd_out, POLLIN, 2);
			if (x->fd_err >= 0 && (room_err || !x->st_eout))
				ADD(x->fd_err, POLLIN, 3);
			if (x->fd_in >= 0 && x->inoff < x->inb.len)
				ADD(x->fd_in, POLLOUT, 4);
			if (x->pidfd >= 0 && !x->exited)
				ADD(x->pidfd, POLLIN, 5);
		}
		if (x->started && x->kind == KX_ATTACH && x->us >= 0) {
			bool room = !x->pend_out.len && !x->pend_err.len && spdy_session_pending(&s->sp) < SESS_OUT_LIMIT;
			ADD(x->us, (room ? POLLIN : 0) | (x->uoff < x->uout.len ? POLLOUT : 0), 6);
		}
#undef ADD
		int wait = 250;
		if (x->kind == KX_EXEC && x->started && x->child && !x->exited && x->pidfd < 0)
			wait = 50; /* no pidfd: waitpid below */
		sess_poll(s, pfd, n, wait);
		for (size_t i = 0; i < n; i++) {
			short rv = pfd[i + 1].revents;
			if (!rv)
				continue;
			switch (map[i].what) {
			case 1:
				if ((rv & (POLLIN | POLLHUP | POLLERR)) && room_out && pump_out(x, x->pty, x->st_out) < 0)
					closefd(&x->pty);
				if (x->pty >= 0 && (rv & POLLOUT))
					put_input(x, x->pty);
				break;
			case 2:
				if (pump_out(x, x->fd_out, x->st_out) < 0)
					closefd(&x->fd_out);
				break;
			case 3:
				if (pump_out(x, x->fd_err, x->st_eout) < 0)
					closefd(&x->fd_err);
				break;
			case 4: put_input(x, x->fd_in); break;
			case 5: break;
			case 6:
				if (rv & (POLLIN | POLLHUP | POLLERR)) {
					char buf[CHUNK];
					ssize_t k = read(x->us, buf, sizeof(buf));
					if (k > 0) {
						sbuf_add(&x->ub, buf, (size_t)k);
						att_frames(x);
					} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
						x->us_eof = true;
					}
				}
				if (x->us >= 0 && (rv & POLLOUT) && x->uoff < x->uout.len) {
					ssize_t w = write(x->us, x->uout.s + x->uoff, x->uout.len - x->uoff);
					if (w > 0)
						x->uoff += (size_t)w;
					else if (w < 0 && errno != EAGAIN)
						x->uoff = x->uout.len;
					if (x->uoff >= x->uout.len) {
						sbuf_reset(&x->uout);
						x->uoff = 0;
					}
				}
				break;
			}
		}
		if (x->kind == KX_EXEC && x->child && !x->exited) {
			int st;
			pid_t w = waitpid(x->child, &st, WNOHANG);
			if (w == x->child) {
				x->exited = true;
				x->wstatus = st;
				x->exit_at = now_ms();
				closefd(&x->pidfd);
			}
		}
		/* no stdin stream wanted, or one that ended: a pty's input is just idle */
		sess_flush(s);
		spdy_session_gc(&s->sp);
	}
	if (done)
		sess_finish(s);
}

static void xs_release(struct xs *x)
{
	if (x->kind == KX_EXEC && x->child && !x->exited)
		reap_later(x->child);
	closefd(&x->fd_in);
	closefd(&x->fd_out);
	closefd(&x->fd_err);
	closefd(&x->pty);
	closefd(&x->efd);
	closefd(&x->pidfd);
	closefd(&x->us);
	sbuf_release(&x->inb);
	sbuf_release(&x->rz);
	sbuf_release(&x->ub);
	sbuf_release(&x->uout);
	sbuf_release(&x->pend_out);
	sbuf_release(&x->pend_err);
	free(x->fail);
	json_decref(x->cfg);
	json_decref(x->argv);
	spdy_session_release(&x->s.sp);
}

void kapi_exec(struct kconn *c, const struct kreq *r, int kind, const char *ns, const char *pod, const char *uid,
	       const char *ctr)
{
	struct kapi *a = c->api;
	struct xs x = {.s = {.c = c}, .kind = kind, .pidfd = -1, .efd = -1, .fd_in = -1, .fd_out = -1, .fd_err = -1,
		       .pty = -1, .us = -1};
	/* remotecommand.NewOptions */
	/* the parameters' names are k8s.io/api's ExecStdinParam and friends */
	x.want_in = opt(r, "input");
	x.want_out = opt(r, "output");
	x.want_err = opt(r, "error");
	x.tty = opt(r, "tty");
	if (x.tty && x.want_err)
		x.want_err = false; /* a tty has no separate stderr */
	if (!x.want_in && !x.want_out && !x.want_err) {
		kconn_text(c, r, 400, "you must specify at least 1 of stdin, stdout, stderr");
		return;
	}
	_cleanup_json_ json_t *meta = kapi_pod_meta(a, ns, pod);
	if (!meta) {
		kconn_text(c, r, 404, "pod does not exist");
		return;
	}
	/* the container must be running (and the pod the one asked for) */
	char full[600];
	snprintf(full, sizeof(full), "%s_%s", pod, ns);
	bool found = !uid || !*uid || (pod_uid(meta) && !strcmp(pod_uid(meta), uid));
	struct berr *e = NULL;
	_cleanup_json_ json_t *st = NULL;
	if (found && pod_container_id(a->cs, ns, pod, ctr, x.id, &e) < 0) {
		berr_free(e);
		found = false;
	}
	if (found) {
		st = ctr_state(a->cs, x.id, NULL);
		const char *status = jsonx_str(st, "Status");
		found = status && !strcmp(status, "running");
	}
	if (found) {
		x.cfg = ctr_config(a->cs, x.id, NULL);
		found = x.cfg != NULL;
	}
	if (!found) {
		char msg[1024];
		if (kind == KX_EXEC)
			snprintf(msg, sizeof(msg), "container not found (\"%s\")", ctr);
		else
			snprintf(msg, sizeof(msg), "container %s not found in pod %s", ctr, full);
		kconn_text(c, r, 500, msg);
		json_decref(x.cfg);
		return;
	}
	x.ctr_pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	x.argv = kapi_query_values(r->query, "command");
	if (kind == KX_EXEC && !json_array_size(x.argv)) {
		kconn_text(c, r, 400, "command is required");
		xs_release(&x);
		return;
	}
	static const char *const protos[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io",
					     "v2.channel.k8s.io", "channel.k8s.io"};
	const char *proto = negotiate(c, r, protos, 5);
	if (!proto) {
		xs_release(&x);
		return;
	}
	x.proto = proto[0] == 'v' ? proto[1] - '0' : 1;
	x.expected = 1 + x.want_in + x.want_out + x.want_err + (x.tty && x.proto >= 3);
	x.t0 = now_ms();
	if (upgrade(&x.s, proto) == 0)
		xs_loop(&x);
	xs_release(&x);
}

/* ---- port forwarding ---- */

struct pair {
	char rid[64];
	int port;
	struct spdy_stream *data, *err;
	long long created;
	int fd;
	bool started;
	struct sbuf in;
	size_t inoff;
	bool wr_shut;   /* the peer's FIN passed on with shutdown(SHUT_WR) */
	bool rd_eof;    /* the pod's side ended: FIN sent on data */
	bool over;
};

struct pfs {
	struct sess s;
	struct kapi *a;
	char ns[256], pod[256];
	struct pair *p[MAX_PAIRS];
	size_t np;
};

/* The sandbox's pid and id, while it runs. */
static pid_t sandbox_pid(struct kapi *a, const char *ns, const char *pod, char sid[65])
{
	_cleanup_json_ json_t *ps = pod_status(a->cs, ns, pod);
	const char *id = jsonx_str(json_object_get(ps, "berth"), "sandbox");
	if (!id)
		return 0;
	snprintf(sid, 65, "%s", id);
	_cleanup_json_ json_t *st = ctr_state(a->cs, id, NULL);
	const char *status = jsonx_str(st, "Status");
	if (!status || strcmp(status, "running"))
		return 0;
	return (pid_t)json_integer_value(json_object_get(st, "Pid"));
}

struct nsc {
	pid_t pid;
	int port;
	int fd;
	char err[600];
	char sid[65];
};

static void go_errno(int e, char *buf, size_t n)
{
	snprintf(buf, n, "%s", strerror(e));
	if (*buf)
		*buf = (char)tolower((unsigned char)*buf);
}

/* In a thread of its own: join the pod's network namespace (this thread
 * only) and connect to localhost:port, IPv4 then IPv6, as containerd does. */
static void *nsc_thread(void *arg)
{
	struct nsc *n = arg;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)n->pid);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		snprintf(n->err, sizeof(n->err), "failed to join the network namespace of \"%s\": %s", n->sid,
			 strerror(errno));
		if (nsfd >= 0)
			close(nsfd);
		return NULL;
	}
	close(nsfd);
	int e4 = 0, e6 = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)n->port)};
	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&s4, sizeof(s4)) == 0) {
		n->fd = fd;
		return NULL;
	}
	e4 = errno;
	if (fd >= 0)
		close(fd);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)n->port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	if (fd >= 0 && connect(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0) {
		n->fd = fd;
		return NULL;
	}
	e6 = errno;
	if (fd >= 0)
		close(fd);
	char m4[128], m6[128];
	go_errno(e4, m4, sizeof(m4));
	go_errno(e6, m6, sizeof(m6));
	snprintf(n->err, sizeof(n->err),
		 "failed to connect to localhost:%d inside namespace \"%s\", IPv4: dial tcp4 127.0.0.1:%d: connect: %s "
		 "IPv6 dial tcp6 [::1]:%d: connect: %s ",
		 n->port, n->sid, n->port, m4, n->port, m6);
	return NULL;
}

static void pair_error(struct pfs *f, struct pair *p, const char *msg)
{
	if (p->err) {
		spdy_stream_write(&f->s.sp, p->err, msg, strlen(msg), false);
		spdy_stream_close(&f->s.sp, p->err);
	}
	p->over = true;
}

static void pair_start(struct pfs *f, struct pair *p)
{
	p->started = true;
	struct nsc n = {.port = p->port, .fd = -1};
	n.pid = sandbox_pid(f->a, f->ns, f->pod, n.sid);
	if (!n.pid) {
		char m[600];
		snprintf(m, sizeof(m), "error forwarding port %d to pod %s, uid : the pod's sandbox is not running", p->port,
			 f->pod);
		pair_error(f, p, m);
		return;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, nsc_thread, &n) != 0) {
		pair_error(f, p, "error forwarding port: no thread to join the pod's network namespace");
		return;
	}
	pthread_join(t, NULL);
	if (n.fd < 0) {
		char m[1024];
		snprintf(m, sizeof(m), "error forwarding port %d to pod %s, uid : %s", p->port, n.sid, n.err);
		pair_error(f, p, m);
		return;
	}
	p->fd = n.fd;
	set_nonblock(p->fd);
}

static void pair_free(struct pfs *f, struct pair *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->data) {
		spdy_stream_close(&f->s.sp, p->data);
		spdy_stream_release(&f->s.sp, p->data);
	}
	if (p->err) {
		spdy_stream_close(&f->s.sp, p->err);
		spdy_stream_release(&f->s.sp, p->err);
	}
	sbuf_release(&p->in);
	free(p);
}

/* The pf handler's check of a new stream's headers (httpStreamReceived). */
static bool pf_stream_ok(struct spdy_stream *st, int *port, bool *is_data)
{
	const char *ps = spdy_headers_get(&st->headers, "port");
	const char *t = spdy_headers_get(&st->headers, "streamtype");
	if (!ps || !*ps || !t || !*t)
		return false;
	char *e;
	errno = 0;
	unsigned long v = strtoul(ps, &e, 10);
	if (*e || errno || v < 1 || v > 65535 || *ps == '-' || *ps == '+')
		return false;
	if (strcmp(t, "error") && strcmp(t, "data"))
		return false;
	*port = (int)v;
	*is_data = !strcmp(t, "data");
	return true;
}

static void pf_streams(struct pfs *f)
{
	struct berr *e = NULL;
	for (size_t i = 0; i < f->s.sp.nstreams; i++) {
		struct spdy_stream *st = f->s.sp.streams[i];
		if (!st->fresh)
			continue;
		int port;
		bool is_data;
		if (!pf_stream_ok(st, &port, &is_data)) {
			spdy_stream_reject(&f->s.sp, st, &e);
			continue;
		}
		const char *rid = spdy_headers_get(&st->headers, "requestid");
		char rbuf[32];
		if (!rid || !*rid) {
			/* an old client: the stream ids tell the pairs */
			snprintf(rbuf, sizeof(rbuf), "%u", is_data ? st->id - 2 : st->id);
			rid = rbuf;
		}
		struct pair *p = NULL;
		for (size_t k = 0; k < f->np && !p; k++)
			if (!strcmp(f->p[k]->rid, rid))
				p = f->p[k];
		if (!p) {
			if (f->np >= MAX_PAIRS) {
				spdy_stream_reject(&f->s.sp, st, &e);
				continue;
			}
			p = calloc(1, sizeof(*p));
			if (!p)
				abort();
			snprintf(p->rid, sizeof(p->rid), "%s", rid);
			p->fd = -1;
			p->port = port;
			p->created = now_ms();
			f->p[f->np++] = p;
		}
		spdy_stream_accept(&f->s.sp, st, &e);
		struct spdy_stream **slot = is_data ? &p->data : &p->err;
		if (*slot) {
			char m[256];
			snprintf(m, sizeof(m), "error processing stream for request %s: %s stream already assigned", rid,
				 is_data ? "data" : "error");
			spdy_stream_reset(&f->s.sp, st, SPDY_PROTOCOL_ERROR);
			spdy_stream_release(&f->s.sp, st);
			if (p->err) {
				spdy_stream_write(&f->s.sp, p->err, m, strlen(m), false);
			}
			continue;
		}
		*slot = st;
		if (is_data)
			p->port = port;
	}
	berr_free(e);
}

/* One pair's progress outside of poll events. */
static void pair_step(struct pfs *f, struct pair *p)
{
	struct spdy_session *sp = &f->s.sp;
	if (!p->started) {
		if (p->data && p->err)
			pair_start(f, p);
		else if (now_ms() - p->created > CREATE_MS) {
			char m[256];
			snprintf(m, sizeof(m), "(conn=%p, request=%s) timed out waiting for streams", (void *)f, p->rid);
			pair_error(f, p, m);
		}
		return;
	}
	if (p->over || p->fd < 0) {
		p->over = true;
		return;
	}
	/* the error stream carries nothing from the client */
	if (p->err && spdy_stream_readable(p->err)) {
		char junk[4096];
		while (spdy_stream_read(sp, p->err, junk, sizeof(junk)))
			;
	}
	if (p->data->reset) {
		p->over = true;
		return;
	}
	if (p->inoff >= p->in.len && spdy_stream_readable(p->data)) {
		sbuf_reset(&p->in);
		p->inoff = 0;
		char buf[CHUNK];
		size_t n = spdy_stream_read(sp, p->data, buf, sizeof(buf));
		sbuf_add(&p->in, buf, n);
	}
	if (p->data->remote_fin && !spdy_stream_readable(p->data) && p->inoff >= p->in.len && !p->wr_shut) {
		shutdown(p->fd, SHUT_WR);
		p->wr_shut = true;
	}
	if (p->rd_eof && p->wr_shut)
		p->over = true;
}

static void pf_loop(struct pfs *f)
{
	struct sess *s = &f->s;
	while (!s->gone && !s->sp.goaway_received) {
		pf_streams(f);
		for (size_t i = 0; i < f->np; i++)
			pair_step(f, f->p[i]);
		/* pairs that are over go */
		size_t k = 0;
		for (size_t i = 0; i < f->np; i++) {
			if (f->p[i]->over)
				pair_free(f, f->p[i]);
			else
				f->p[k++] = f->p[i];
		}
		f->np = k;
		spdy_session_gc(&s->sp);
		struct pollfd pfd[MAX_PAIRS + 1];
		struct pair *map[MAX_PAIRS];
		size_t n = 0;
		for (size_t i = 0; i < f->np; i++) {
			struct pair *p = f->p[i];
			if (p->fd < 0)
				continue;
			short ev = 0;
			if (!p->rd_eof && spdy_stream_room(&s->sp, p->data, SESS_OUT_LIMIT))
				ev |= POLLIN;
			if (p->inoff < p->in.len)
				ev |= POLLOUT;
			pfd[n + 1] = (struct pollfd){.fd = p->fd, .events = ev};
			map[n++] = p;
		}
		sess_poll(s, pfd, n, 250);
		for (size_t i = 0; i < n; i++) {
			struct pair *p = map[i];
			short rv = pfd[i + 1].revents;
			if (rv & (POLLIN | POLLHUP | POLLERR)) {
				size_t room = spdy_stream_room(&s->sp, p->data, SESS_OUT_LIMIT);
				char buf[CHUNK];
				ssize_t r = room ? read(p->fd, buf, room < sizeof(buf) ? room : sizeof(buf)) : 0;
				if (r > 0) {
					spdy_stream_write(&s->sp, p->data, buf, (size_t)r, false);
				} else if (room && (r == 0 || (errno != EAGAIN && errno != EINTR))) {
					p->rd_eof = true;
					spdy_stream_close(&s->sp, p->data);
					if (r < 0) {
						/* a reset connection: the peer's input goes nowhere now */
						p->wr_shut = true;
					}
				}
			}
			if ((rv & POLLOUT) && p->inoff < p->in.len) {
				ssize_t w = write(p->fd, p->in.s + p->inoff, p->in.len - p->inoff);
				if (w > 0)
					p->inoff += (size_t)w;
				else if (w < 0 && errno != EAGAIN && errno != EINTR) {
					p->inoff = p->in.len;
					p->wr_shut = true;
				}
			}
		}
		sess_flush(s);
	}
	for (size_t i = 0; i < f->np; i++)
		pair_free(f, f->p[i]);
	f->np = 0;
	sess_finish(s);
}

void kapi_port_forward(struct kconn *c, const struct kreq *r, const char *ns, const char *pod, const char *uid)
{
	struct kapi *a = c->api;
	_cleanup_json_ json_t *meta = kapi_pod_meta(a, ns, pod);
	if (!meta) {
		kconn_text(c, r, 404, "pod does not exist");
		return;
	}
	if (uid && *uid && (!pod_uid(meta) || strcmp(pod_uid(meta), uid))) {
		kconn_text(c, r, 404, "pod not found");
		return;
	}
	char sid[65];
	if (!sandbox_pid(a, ns, pod, sid)) {
		char msg[600];
		snprintf(msg, sizeof(msg), "pod not found (\"%s_%s\")", pod, ns);
		kconn_text(c, r, 500, msg);
		return;
	}
	static const char *const protos[] = {"portforward.k8s.io"};
	const char *proto = negotiate(c, r, protos, 1);
	if (!proto)
		return;
	struct pfs *f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->s.c = c;
	f->a = a;
	snprintf(f->ns, sizeof(f->ns), "%s", ns);
	snprintf(f->pod, sizeof(f->pod), "%s", pod);
	if (upgrade(&f->s, proto) == 0)
		pf_loop(f);
	spdy_session_release(&f->s.sp);
	free(f);
}
