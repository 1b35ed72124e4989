/* berth attach: connect to the running container's monitor (see
 * runtime/attach.h for the protocol) and relay, as docker attach does:
 * output (both streams apart without a tty), input when the container has
 * OpenStdin, the tty's size, signals (--sig-proxy, without a tty), the
 * detach keys (with a tty, scanned here as the docker CLI does). Ends with
 * the container's exit code. */
#include "cli/ctr.h"
#include "runtime/attach.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

enum { O_NOSTDIN = 1000, O_SIGPROXY, O_KEYS, O_HELP };

static int sig_w = -1;

static void on_signal(int sig)
{
	char b = (char)sig;
	ssize_t w = write(sig_w, &b, 1);
	(void)w;
}

/* Docker's refusals, by the container's state. */
static int attachable(struct ctr_store *s, const char *id, struct berr **err)
{
	_cleanup_json_ json_t *st = ctr_state(s, id, err);
	if (!st)
		return -1;
	const char *status = jsonx_str(st, "Status");
	if (status && !strcmp(status, "running"))
		return 0;
	if (status && !strcmp(status, "paused"))
		return berr_setc(err, BERR_CONFLICT, "You cannot attach to a paused container, unpause it first");
	if (status && !strcmp(status, "restarting"))
		return berr_setc(err, BERR_CONFLICT, "You cannot attach to a restarting container, wait until it is running");
	return berr_setc(err, BERR_CONFLICT, "You cannot attach to a stopped container, start it first");
}

/* Forward a signal to the container's pid 1 (re-read: it may have been
 * restarted since). */
static void proxy_signal(struct ctr_store *s, const char *id, int sig)
{
	_cleanup_json_ json_t *st = ctr_state(s, id, NULL);
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	unsigned long long start = (unsigned long long)json_integer_value(json_object_get(st, "PidStart"));
	if (pid > 0 && proc_alive(pid, start))
		kill(pid, sig);
}

struct outq {
	unsigned char buf[2 * (ATT_HDR + 4096 + ATT_MAX_KEYS)];
	size_t off, len;
};

static void outq_frame(struct outq *q, int type, const void *data, size_t n)
{
	if (q->off + q->len + ATT_HDR + n > sizeof(q->buf)) {
		memmove(q->buf, q->buf + q->off, q->len);
		q->off = 0;
	}
	att_hdr(q->buf + q->off + q->len, type, (uint32_t)n);
	memcpy(q->buf + q->off + q->len + ATT_HDR, data, n);
	q->len += ATT_HDR + n;
}

/* false when the connection is gone */
static bool outq_flush(struct outq *q, int sock)
{
	while (q->len) {
		ssize_t w = send(sock, q->buf + q->off, q->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return true;
		if (w <= 0) {
			q->len = 0;
			return false;
		}
		q->off += (size_t)w;
		q->len -= (size_t)w;
	}
	q->off = 0;
	return true;
}

static void queue_resize(struct outq *q, int fd, int extra)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
		return;
	unsigned rows = ws.ws_row + (unsigned)extra, cols = ws.ws_col + (unsigned)extra;
	unsigned char p[4] = {(unsigned char)(rows >> 8), (unsigned char)rows, (unsigned char)(cols >> 8),
			      (unsigned char)cols};
	outq_frame(q, ATT_RESIZE, p, sizeof(p));
}

CMD(attach)
{
	static const struct option lo[] = {{"no-stdin", no_argument, 0, O_NOSTDIN},
					   {"sig-proxy", optional_argument, 0, O_SIGPROXY},
					   {"detach-keys", required_argument, 0, O_KEYS},
					   {"help", no_argument, 0, O_HELP},
					   {0}};
	bool no_stdin = false, proxy = true;
	const char *keys_spec = NULL;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case O_NOSTDIN: no_stdin = true; break;
		case O_SIGPROXY:
			if (optarg && str_parse_gobool(optarg, &proxy) < 0)
				return cli_usage_error(c,
						       "invalid argument \"%s\" for \"--sig-proxy\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
						       optarg, optarg);
			if (!optarg)
				proxy = true;
			break;
		case O_KEYS: keys_spec = optarg; break;
		case O_HELP: return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(c, "requires exactly 1 argument.");
	struct ctr_store *s = cli_ctr_store(c);
	if (!s)
		return 1;
	struct berr *e = NULL;
	unsigned char kb[ATT_MAX_KEYS];
	size_t nk;
	if (keys_spec && att_parse_keys(keys_spec, kb, &nk, &e) < 0)
		return cli_fail(e);
	char id[65];
	if (ctr_resolve(s, argv[optind], id, &e) < 0)
		return cli_fail(e);
	struct cli_attach_opts ao = {.no_stdin = no_stdin, .sig_proxy = proxy, .detach_keys = keys_spec};
	return cli_attach(s, id, &ao);
}

int cli_attach(struct ctr_store *s, const char *id, const struct cli_attach_opts *ao)
{
	struct berr *e = NULL;
	bool no_stdin = ao->no_stdin, proxy = ao->sig_proxy;
	struct att_escape esc = {0};
	if (att_parse_keys(ao->detach_keys ? ao->detach_keys : ATT_DEFAULT_KEYS, esc.keys, &esc.n, &e) < 0)
		return cli_fail(e);
	if (attachable(s, id, &e) < 0)
		return cli_fail(e);
	_cleanup_json_ json_t *cfg = ctr_config(s, id, &e);
	if (!cfg)
		return cli_fail(e);
	json_t *cc = json_object_get(cfg, "Config");
	bool tty = json_is_true(json_object_get(cc, "Tty"));
	bool use_stdin = !no_stdin && json_is_true(json_object_get(cc, "OpenStdin"));
	if (!tty || !use_stdin)
		esc.n = 0; /* Docker: the detach keys need a tty and stdin */
	_cleanup_close_ int sock = -1;
	if (att_connect(s->runroot, id, &sock, &e) < 0) {
		/* it may have just stopped */
		struct berr *e2 = NULL;
		if (attachable(s, id, &e2) < 0) {
			berr_free(e);
			return cli_fail(e2);
		}
		return cli_fail(e);
	}
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);

	int sp[2];
	if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0) {
		berr_set(&e, errno, "creating a pipe");
		return cli_fail(e);
	}
	sig_w = sp[1];
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	struct termios saved;
	bool raw = false;
	if (tty && use_stdin && isatty(0) && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
	}
	if (proxy && !tty) {
		int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
		for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
			sigaction(sigs[i], &sa, NULL);
	} else if (raw) {
		/* killed while the terminal is raw: put it back first */
		int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
		for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
			sigaction(sigs[i], &sa, NULL);
	}
	struct outq *q = calloc(1, sizeof(*q));
	bool resize = tty && isatty(1);
	if (resize) {
		sigaction(SIGWINCH, &sa, NULL);
		/* one size off, then the real one: the container's programs
		 * redraw even when the size did not change (as docker attach) */
		queue_resize(q, 1, 1);
		queue_resize(q, 1, 0);
	}

	bool in_open = use_stdin, shut = false, gone = false;
	int code = -1, fatal_sig = 0;
	char errmsg[1024] = "";
	unsigned char hdr[ATT_HDR], small[1024];
	size_t hlen = 0, slen = 0;
	uint32_t left = 0;
	bool detached = false;
	while (!gone) {
		if (!in_open && !shut && q->len == 0) {
			shutdown(sock, SHUT_WR); /* our input ended; output goes on */
			shut = true;
		}
		struct pollfd pf[3] = {{.fd = sock, .events = POLLIN | (q->len ? POLLOUT : 0)},
				       {.fd = in_open && q->len == 0 ? 0 : -1, .events = POLLIN},
				       {.fd = sp[0], .events = POLLIN}};
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[2].revents) {
			char b;
			while (read(sp[0], &b, 1) == 1) {
				int sig = (unsigned char)b;
				if (sig == SIGWINCH && resize)
					queue_resize(q, 1, 0);
				else if (proxy && !tty)
					proxy_signal(s, id, sig);
				else
					fatal_sig = sig;
			}
			if (fatal_sig)
				break;
		}
		if (pf[1].revents) {
			char buf[4096], fwd[4096 + ATT_MAX_KEYS];
			ssize_t k = read(0, buf, sizeof(buf));
			if (k < 0 && (errno == EINTR || errno == EAGAIN)) {
			} else if (k <= 0) {
				in_open = false;
			} else {
				size_t n = att_escape_filter(&esc, buf, (size_t)k, fwd, &detached);
				if (n)
					outq_frame(q, ATT_STDIN, fwd, n);
				if (detached) {
					outq_flush(q, sock);
					break;
				}
			}
		}
		if (q->len && !outq_flush(q, sock))
			in_open = false; /* the monitor is gone: its EOF follows */
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		unsigned char buf[65536];
		ssize_t r = recv(sock, buf, sizeof(buf), 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break; /* EOF, or ECONNRESET after our unread input */
		for (size_t i = 0; i < (size_t)r;) {
			if (hlen < ATT_HDR) {
				hdr[hlen++] = buf[i++];
				if (hlen == ATT_HDR) {
					left = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 | hdr[7];
					slen = 0;
				}
			} else {
				size_t k = (size_t)r - i < left ? (size_t)r - i : left;
				if (hdr[0] == ATT_STDOUT || hdr[0] == ATT_STDERR) {
					fs_write_full(hdr[0] == ATT_STDOUT ? 1 : 2, buf + i, k);
				} else {
					size_t take = k < sizeof(small) - 1 - slen ? k : sizeof(small) - 1 - slen;
					memcpy(small + slen, buf + i, take);
					slen += take;
				}
				i += k;
				left -= (uint32_t)k;
			}
			if (hlen == ATT_HDR && left == 0) {
				if (hdr[0] == ATT_EXIT && slen >= 4) {
					code = (int)((uint32_t)small[0] << 24 | (uint32_t)small[1] << 16 | (uint32_t)small[2] << 8 |
						     small[3]);
					gone = true;
				} else if (hdr[0] == ATT_ERROR) {
					small[slen] = 0;
					snprintf(errmsg, sizeof(errmsg), "%s", (char *)small);
					gone = true;
				}
				hlen = 0;
			}
		}
	}
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	free(q);
	if (fatal_sig) {
		signal(fatal_sig, SIG_DFL);
		raise(fatal_sig);
		return 128 + fatal_sig;
	}
	if (detached) {
		if (ao->quiet_detach)
			return 0;
		/* as the docker CLI: the message, and status 1 */
		fprintf(stderr, "read escape sequence\n");
		return 1;
	}
	if (*errmsg) {
		fprintf(stderr, "Error: %s\n", errmsg);
		return 1;
	}
	if (code >= 0)
		return code;
	/* the stream ended without the exit code: the monitor died (the state
	 * says how the container ended), or it dropped us for falling behind */
	_cleanup_json_ json_t *st = ctr_state(s, id, &e);
	if (!st)
		return cli_fail(e);
	if (!ctr_is_running(st))
		return (int)json_integer_value(json_object_get(st, "ExitCode"));
	fprintf(stderr, "Error: the container's monitor closed the attach connection\n");
	return 1;
}
