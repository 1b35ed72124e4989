/* SPDY/3.1, as Kubernetes speaks it to kubelets: the apiserver (and kubectl
 * through it) upgrades /exec, /attach and /portForward requests with
 * "Upgrade: SPDY/3.1" and opens one stream per channel (stdin, stdout,
 * stderr, error, resize; data and error per forwarded connection).
 *
 * Frames (draft-mbelshe-httpbis-spdy-00 and its 3.1 revision), all
 * big-endian, an 8-byte header first:
 *   control: 1 bit 1, 15 bits version (3), 16 bits type, 8 bits flags,
 *            24 bits length, then the type's fields
 *   data:    1 bit 0, 31 bits stream id, 8 bits flags (FIN), 24 bits
 *            length, the payload
 *   SYN_STREAM(1)  stream id, associated-to id, 3 bits priority, 5 unused,
 *                  8 bits slot, header block
 *   SYN_REPLY(2)   stream id, header block
 *   RST_STREAM(3)  stream id, status
 *   SETTINGS(4)    count, then (8 bits flags, 24 bits id, 32 bits value)
 *   PING(6)        id
 *   GOAWAY(7)      last good stream id, status
 *   HEADERS(8)     stream id, header block
 *   WINDOW_UPDATE(9) stream id (0: the session), 31 bits delta
 * A header block is a count and length-prefixed (32 bits) names and
 * values (several values of one name joined by NUL), compressed with one
 * zlib stream per direction for the whole session, each block ending with
 * a sync flush, primed with the protocol's dictionary.
 *
 * Flow control (3.1): every stream and the session start with a 64 KiB
 * send window the peer widens with WINDOW_UPDATE. Kubernetes' SPDY code
 * (moby/spdystream) does no flow control at all: it never sends a
 * WINDOW_UPDATE or SETTINGS and ignores ours. A sender that waited for the
 * window to open would stall after 64 KiB, so the peer's windows are
 * enforced only once it shows it keeps them (a WINDOW_UPDATE or SETTINGS
 * from it); our receive windows are advertised as data is consumed either
 * way, and a peer that overruns them is refused only if it keeps windows.
 *
 * The session below is a plain state machine without I/O: bytes read from
 * the peer go in with spdy_session_feed, what to write comes out of
 * spdy_session_out; streams are polled for new arrivals, data and ends.
 * Not thread-safe: one session, one thread. */
#ifndef BERTH_KUBE_SPDY_H
#define BERTH_KUBE_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "util/err.h"
#include "util/strbuf.h"

#define SPDY_VERSION 3

enum spdy_type {
	SPDY_DATA = 0, /* not a control type: the frame is a data frame */
	SPDY_SYN_STREAM = 1,
	SPDY_SYN_REPLY = 2,
	SPDY_RST_STREAM = 3,
	SPDY_SETTINGS = 4,
	SPDY_PING = 6,
	SPDY_GOAWAY = 7,
	SPDY_HEADERS = 8,
	SPDY_WINDOW_UPDATE = 9,
};

#define SPDY_FLAG_FIN 0x01
#define SPDY_FLAG_UNIDIRECTIONAL 0x02
#define SPDY_SETTINGS_CLEAR 0x01

/* RST_STREAM status codes */
enum {
	SPDY_PROTOCOL_ERROR = 1,
	SPDY_INVALID_STREAM = 2,
	SPDY_REFUSED_STREAM = 3,
	SPDY_UNSUPPORTED_VERSION = 4,
	SPDY_CANCEL = 5,
	SPDY_INTERNAL_ERROR = 6,
	SPDY_FLOW_CONTROL_ERROR = 7,
	SPDY_STREAM_IN_USE = 8,
	SPDY_STREAM_ALREADY_CLOSED = 9,
	SPDY_FRAME_TOO_LARGE = 11,
};
/* GOAWAY status codes */
enum { SPDY_GOAWAY_OK = 0, SPDY_GOAWAY_PROTOCOL_ERROR = 1, SPDY_GOAWAY_INTERNAL_ERROR = 2 };

#define SPDY_SETTINGS_MAX_CONCURRENT_STREAMS 4
#define SPDY_SETTINGS_INITIAL_WINDOW_SIZE 7
#define SPDY_DEFAULT_WINDOW 65536
#define SPDY_MAX_WINDOW 0x7fffffff
#define SPDY_MAX_LENGTH 0xffffff      /* 24 bits */
#define SPDY_HEADERS_MAX (256u << 10) /* a header block's size once inflated */
#define SPDY_HEADERS_MAX_PAIRS 1024
#define SPDY_DATA_CHUNK 16384         /* the payload of the DATA frames we write */

/* The dictionary zlib is primed with (1423 bytes). */
const unsigned char *spdy_dictionary(size_t *ret_len);

/* ---- header blocks ---- */

struct spdy_header {
	char *name;  /* lowercase */
	char *value; /* NUL-separated when the name has several values */
	size_t vlen;
};
struct spdy_headers {
	struct spdy_header *v;
	size_t n;
};
/* Append name (lowercased) with value, or add value to the name's list. */
void spdy_headers_add(struct spdy_headers *h, const char *name, const char *value);
/* The name's first value (names compare case-insensitively), NULL if absent. */
const char *spdy_headers_get(const struct spdy_headers *h, const char *name);
void spdy_headers_release(struct spdy_headers *h);

/* One zlib context per direction, for a whole session. */
struct spdy_zlib {
	z_stream in, out;
	bool in_ok, out_ok;
};
int spdy_zlib_init(struct spdy_zlib *z, struct berr **err);
void spdy_zlib_release(struct spdy_zlib *z);
/* Append h's compressed block to out. */
int spdy_headers_encode(struct spdy_zlib *z, const struct spdy_headers *h, struct sbuf *out, struct berr **err);
/* Inflate and check one block (names lowercase and unique, no empty name,
 * sizes within SPDY_HEADERS_MAX / SPDY_HEADERS_MAX_PAIRS). Blocks must be
 * decoded in the order they came: the zlib stream spans the session. */
int spdy_headers_decode(struct spdy_zlib *z, const void *blk, size_t n, struct spdy_headers *ret, struct berr **err);

/* ---- frames ---- */

struct spdy_settings_entry {
	uint8_t flags;
	uint32_t id;
	uint32_t value;
};

struct spdy_frame {
	int type;      /* enum spdy_type; SPDY_DATA for data frames */
	uint8_t flags;
	uint32_t stream_id;            /* DATA, SYN_*, RST, HEADERS, WINDOW_UPDATE */
	const unsigned char *data;     /* DATA: the payload (points into the input) */
	size_t len;                    /* DATA: its length */
	uint32_t assoc_id;             /* SYN_STREAM */
	uint8_t priority;              /* SYN_STREAM: 0 (highest) .. 7 */
	uint32_t status;               /* RST_STREAM, GOAWAY */
	uint32_t ping_id;              /* PING */
	uint32_t last_good_id;         /* GOAWAY */
	uint32_t delta;                /* WINDOW_UPDATE */
	struct spdy_headers headers;   /* SYN_STREAM, SYN_REPLY, HEADERS */
	struct spdy_settings_entry *settings; /* SETTINGS */
	size_t nsettings;
	bool unknown;                  /* a control type SPDY/3 does not define (to be ignored) */
};

/* Parse one frame from buf. Returns 1 with *used set when a whole frame was
 * there, 0 when more bytes are needed, -1 on a malformed frame (a session
 * error) with err set. SYN_STREAM, SYN_REPLY and HEADERS blocks are inflated
 * here (in order, see spdy_headers_decode). */
int spdy_frame_parse(struct spdy_zlib *z, const void *buf, size_t n, struct spdy_frame *f, size_t *used,
		     struct berr **err);
void spdy_frame_release(struct spdy_frame *f);

/* Append one frame to out. */
void spdy_put_data(struct sbuf *out, uint32_t id, uint8_t flags, const void *data, size_t n);
int spdy_put_syn_stream(struct spdy_zlib *z, struct sbuf *out, uint32_t id, uint32_t assoc, uint8_t priority,
			uint8_t flags, const struct spdy_headers *h, struct berr **err);
int spdy_put_syn_reply(struct spdy_zlib *z, struct sbuf *out, uint32_t id, uint8_t flags, const struct spdy_headers *h,
		       struct berr **err);
void spdy_put_rst_stream(struct sbuf *out, uint32_t id, uint32_t status);
void spdy_put_settings(struct sbuf *out, uint8_t flags, const struct spdy_settings_entry *e, size_t n);
void spdy_put_ping(struct sbuf *out, uint32_t id);
void spdy_put_goaway(struct sbuf *out, uint32_t last_good, uint32_t status);
void spdy_put_window_update(struct sbuf *out, uint32_t id, uint32_t delta);

/* ---- the session ---- */

struct spdy_stream {
	uint32_t id;
	struct spdy_headers headers; /* SYN_STREAM's (the peer's, or ours for streams we opened) */
	bool fresh;        /* the peer opened it and it was neither accepted nor rejected yet */
	bool replied;      /* SYN_REPLY sent (peer's streams) or received (ours) */
	bool local_fin;    /* we sent FIN */
	bool remote_fin;   /* the peer sent FIN */
	bool reset;        /* RST_STREAM either way: nothing more in either direction */
	uint32_t reset_status;
	bool released;     /* the caller is done with it (spdy_stream_release) */
	int64_t send_window;
	int64_t recv_window;   /* what we still let the peer send */
	uint32_t recv_unacked; /* consumed, not yet given back with WINDOW_UPDATE */
	struct sbuf in;        /* received, not yet read */
	size_t in_off;
	void *ud;              /* the caller's */
};

struct spdy_session {
	bool server;
	struct spdy_zlib z;
	struct sbuf out;    /* to write to the peer */
	size_t out_off;
	struct sbuf rbuf;   /* received, not yet parsed */
	struct spdy_stream **streams;
	size_t nstreams, cap;
	size_t max_streams;      /* open streams the peer may have (more are refused) */
	uint32_t last_peer_id;   /* the highest stream id the peer opened */
	uint32_t next_id;        /* ours: odd for a client, even for a server */
	uint32_t next_ping;
	int64_t send_window;     /* the session's (3.1) */
	int64_t recv_window;
	uint32_t recv_unacked;
	int64_t peer_initial_window; /* SETTINGS_INITIAL_WINDOW_SIZE, for streams to come */
	bool peer_flow_control;  /* the peer sent WINDOW_UPDATE or SETTINGS: its windows bind us */
	bool goaway_sent, goaway_received;
	bool failed;             /* a session error: GOAWAY sent, nothing more is parsed */
	uint32_t pings_answered;
};

int spdy_session_init(struct spdy_session *s, bool server, struct berr **err);
void spdy_session_release(struct spdy_session *s);

/* Bytes read from the peer: frames parsed and handled (PING answered,
 * SETTINGS and WINDOW_UPDATE applied, SYN_STREAM makes a fresh stream,
 * DATA appended to its stream, RST and GOAWAY recorded; frames for
 * unknown or closed streams answered with RST_STREAM). -1 on a session
 * error (a GOAWAY is queued; the caller writes it out and closes). */
int spdy_session_feed(struct spdy_session *s, const void *buf, size_t n, struct berr **err);
/* What to write to the peer; spdy_session_sent after writing n of them. */
static inline const char *spdy_session_out(const struct spdy_session *s, size_t *ret_len)
{
	*ret_len = s->out.len - s->out_off;
	return s->out.s ? s->out.s + s->out_off : "";
}
void spdy_session_sent(struct spdy_session *s, size_t n);
static inline size_t spdy_session_pending(const struct spdy_session *s) { return s->out.len - s->out_off; }
/* Queue GOAWAY (once). */
void spdy_session_goaway(struct spdy_session *s, uint32_t status);
/* Drop streams that are released and over (both FINs or a reset). */
void spdy_session_gc(struct spdy_session *s);
struct spdy_stream *spdy_session_stream(const struct spdy_session *s, uint32_t id);

/* Answer a fresh stream: SYN_REPLY (with FIN when rejected, as
 * Kubernetes refuses a stream it does not want; a rejected stream is
 * released at once). */
int spdy_stream_accept(struct spdy_session *s, struct spdy_stream *st, struct berr **err);
int spdy_stream_reject(struct spdy_session *s, struct spdy_stream *st, struct berr **err);
/* Open a stream (the client side; tests and tools). */
int spdy_stream_open(struct spdy_session *s, const struct spdy_headers *h, bool fin, struct spdy_stream **ret,
		     struct berr **err);
/* Received data waiting to be read. */
static inline size_t spdy_stream_readable(const struct spdy_stream *st) { return st->in.len - st->in_off; }
/* Take up to n bytes of it (windows given back as they are taken). */
size_t spdy_stream_read(struct spdy_session *s, struct spdy_stream *st, void *buf, size_t n);
/* How much spdy_stream_write would take now: the peer's windows when it
 * keeps them, and at most `limit` bytes queued in the session's output. */
size_t spdy_stream_room(const struct spdy_session *s, const struct spdy_stream *st, size_t limit);
/* Queue data (in SPDY_DATA_CHUNK frames); fin ends our side after it.
 * Returns what was taken (all of it unless the peer's window is smaller);
 * nothing is sent on a stream that is reset or already FIN'd. */
size_t spdy_stream_write(struct spdy_session *s, struct spdy_stream *st, const void *data, size_t n, bool fin);
/* End our side (an empty DATA frame with FIN), once. */
void spdy_stream_close(struct spdy_session *s, struct spdy_stream *st);
/* RST_STREAM (once); the stream is over both ways. */
void spdy_stream_reset(struct spdy_session *s, struct spdy_stream *st, uint32_t status);
/* The caller is done with it (it goes once it is over). */
void spdy_stream_release(struct spdy_session *s, struct spdy_stream *st);
/* Both ends closed or reset, nothing left to read. */
static inline bool spdy_stream_over(const struct spdy_stream *st)
{
	return st->reset || (st->local_fin && st->remote_fin && !spdy_stream_readable(st));
}

#endif
