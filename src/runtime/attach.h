/* Attaching to a running container: the monitor's end (a hub of clients
 * on a unix socket) and what a client needs.
 *
 * While the container runs, its monitor listens on
 * $RUNROOT/<id>/attach.sock (the directory is 0700: only root gets in).
 * Both directions carry frames, the shape of Docker's multiplexed attach
 * stream: an 8-byte header [type, 0, 0, 0, size as big-endian u32], then
 * size bytes.
 *   monitor -> client: ATT_STDOUT and ATT_STDERR (with a tty, all output is
 *     ATT_STDOUT); ATT_EXIT (4 bytes: the exit code, big-endian) last, when
 *     the container exits; ATT_ERROR (a message) when the client is refused.
 *   client -> monitor: ATT_STDIN (for the container's stdin; dropped unless
 *     it has OpenStdin), ATT_RESIZE (rows, cols: big-endian u16, the tty's
 *     size). shutdown(SHUT_WR) ends the client's input; the container's
 *     stdin stays open, as with Docker's attach.
 * Output reaches every client without ever waiting for one: a client
 * whose socket buffer is full is dropped (it sees the stream end without
 * an ATT_EXIT frame). Detach keys are the client's business, as with the
 * docker CLI; the monitor scans only the stdin of a CLI it was forked
 * from (run -it, start -ai). */
#ifndef BERTH_RUNTIME_ATTACH_H
#define BERTH_RUNTIME_ATTACH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum {
	ATT_STDIN = 0,
	ATT_STDOUT = 1,
	ATT_STDERR = 2,
	ATT_EXIT = 3,
	ATT_ERROR = 4,
	ATT_RESIZE = 5,
};

#define ATT_MAX_CLIENTS 16
#define ATT_HDR 8
/* The pollfds a hub may add: the listening socket, the container's stdin,
 * the clients. */
#define ATT_HUB_MAXFDS (2 + ATT_MAX_CLIENTS)
#define ATT_DEFAULT_KEYS "ctrl-p,ctrl-q"
#define ATT_MAX_KEYS 16

void att_hdr(unsigned char hdr[ATT_HDR], int type, uint32_t size);

/* ---- detach keys ---- */

/* Docker's --detach-keys format: comma-separated, each a single character
 * or ctrl-X with X one of a-z @ [ \ ] ^ _. Error: "Invalid detach keys
 * (SPEC) provided". */
int att_parse_keys(const char *spec, unsigned char keys[ATT_MAX_KEYS], size_t *ret_n, struct berr **err);

/* Scans input for the detach sequence (across reads of any size): bytes
 * that may start the sequence are held back and let through when the
 * sequence does not complete. */
struct att_escape {
	unsigned char keys[ATT_MAX_KEYS];
	size_t n, matched;
};
/* Copies to out (room for n + ATT_MAX_KEYS bytes) what is to be forwarded;
 * *detached when the sequence completed (what followed it is dropped). */
size_t att_escape_filter(struct att_escape *e, const void *in, size_t n, void *out, bool *detached);

/* ---- the client ---- */

/* Connect to the container's attach socket. BERR_NOT_FOUND when nothing
 * listens there. */
int att_connect(const char *runroot, const char *id, int *ret_fd, struct berr **err);
/* Remove what a monitor left in the runroot (the socket, its directory if
 * empty): `rm` of a container whose monitor was killed. */
void att_remove(const char *runroot, const char *id);

/* ---- the monitor's hub ---- */

struct att_hub;

/* Always returns a hub; when the socket cannot be made, *err says why and
 * the hub only buffers the container's stdin. */
struct att_hub *att_hub_new(const char *runroot, const char *id, bool tty, struct berr **err);
/* Remove the socket and disconnect everyone (no ATT_EXIT: the monitor is
 * going away; att_hub_exit first when the container exited). */
void att_hub_free(struct att_hub *h);

/* The container's stdin for this run (-1: none): the hub writes to a
 * non-blocking duplicate, buffering what the container does not read yet.
 * pty_fd: the pty master for ATT_RESIZE (-1 without a tty). */
void att_hub_set_stdin(struct att_hub *h, int in_fd, int pty_fd);
/* Input from the CLI the monitor was forked from. Only call when
 * att_hub_input_busy() is false (at most 64 KiB then). */
void att_hub_input(struct att_hub *h, const void *buf, size_t n);
bool att_hub_input_busy(const struct att_hub *h);
/* Close the container's stdin once what is buffered went in. */
void att_hub_input_eof(struct att_hub *h);

/* Fill up to ATT_HUB_MAXFDS pollfds; returns how many. Then pass the same
 * pointer to att_hub_events after poll(). */
int att_hub_pollfds(struct att_hub *h, struct pollfd *pfd);
void att_hub_events(struct att_hub *h, const struct pollfd *pfd);

/* A chunk of the container's output (stream 1 or 2) to every client. */
void att_hub_output(struct att_hub *h, int stream, const void *buf, size_t n);
/* The container exited: accept who is still waiting, send each client
 * ATT_EXIT and disconnect; stdin is dropped. The socket stays (restart). */
void att_hub_exit(struct att_hub *h, int code);
int att_hub_clients(const struct att_hub *h);

#endif
