/* kube/spdy: the SPDY/3 dictionary, header blocks (round trips over one
 * zlib stream, a block deflated the way Go's framer does it), every frame
 * type byte for byte, and two sessions talking: streams, data, FIN, RST,
 * PING, GOAWAY, flow control with and without a peer that keeps windows,
 * and malformed input. */
#include "kube/spdy.h"
#include "unit.h"

#include <stdlib.h>
#include <zlib.h>

static void test_dictionary(void)
{
	size_t n;
	const unsigned char *d = spdy_dictionary(&n);
	CHECK(n == 1423, "the dictionary is 1423 bytes (%zu)", n);
	uLong a = adler32(adler32(0, NULL, 0), d, (uInt)n);
	CHECK(a == 0xe3c6a7c2, "its Adler-32 is zlib's dictionary id e3c6a7c2 (%08lx)", a);
	CHECK(!memcmp(d, "\0\0\0\7options\0\0\0\4head", 19), "it starts with the length-prefixed words");
	CHECK(!memcmp(d + n - 7, ",enq=0.", 7), "it ends with the text");
}

static void test_headers(void)
{
	struct spdy_zlib enc, dec;
	struct berr *e = NULL;
	CHECK(spdy_zlib_init(&enc, &e) == 0 && spdy_zlib_init(&dec, &e) == 0, "zlib contexts");
	for (int round = 0; round < 3; round++) {
		struct spdy_headers h = {0}, got = {0};
		spdy_headers_add(&h, "StreamType", round == 1 ? "stdout" : "error");
		spdy_headers_add(&h, "port", "8080");
		spdy_headers_add(&h, "x-multi", "a");
		spdy_headers_add(&h, "X-Multi", "bb");
		struct sbuf blk = SBUF_INIT;
		CHECK(spdy_headers_encode(&enc, &h, &blk, &e) == 0, "encode block %d", round);
		int r = spdy_headers_decode(&dec, blk.s, blk.len, &got, &e);
		CHECK(r == 0 && got.n == 3, "decode block %d: 3 names (%s)", round, e ? e->msg : "");
		CHECK_STR(spdy_headers_get(&got, "STREAMTYPE"), round == 1 ? "stdout" : "error", "names are lowercased, looked up in any case");
		CHECK(got.n == 3 && !strcmp(got.v[0].name, "streamtype"), "the name went out lowercase");
		const char *mv = spdy_headers_get(&got, "x-multi");
		CHECK(mv && !strcmp(mv, "a") && got.v[2].vlen == 4 && !memcmp(got.v[2].value, "a\0bb", 4),
		      "two values of one name are joined by NUL");
		if (round == 2)
			CHECK(blk.len < 40, "the shared zlib stream makes a repeated block small (%zu bytes)", blk.len);
		sbuf_release(&blk);
		spdy_headers_release(&h);
		spdy_headers_release(&got);
	}
	spdy_zlib_release(&enc);
	spdy_zlib_release(&dec);

	/* a block deflated by another compressor, as Go's framer does it
	 * (best compression, the dictionary, a sync flush per block) */
	unsigned char raw[] = "\0\0\0\1\0\0\0\12streamtype\0\0\0\5stdin";
	size_t rawn = sizeof(raw) - 1;
	z_stream zs = {0};
	size_t dl;
	const unsigned char *d = spdy_dictionary(&dl);
	deflateInit(&zs, Z_BEST_COMPRESSION);
	deflateSetDictionary(&zs, d, (uInt)dl);
	unsigned char out[256];
	zs.next_in = raw;
	zs.avail_in = (uInt)rawn;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	deflate(&zs, Z_SYNC_FLUSH);
	size_t outn = sizeof(out) - zs.avail_out;
	deflateEnd(&zs);
	spdy_zlib_init(&dec, &e);
	struct spdy_headers got = {0};
	CHECK(spdy_headers_decode(&dec, out, outn, &got, &e) == 0 && got.n == 1, "a foreign block decodes");
	CHECK_STR(spdy_headers_get(&got, "streamtype"), "stdin", "... with its value");
	spdy_headers_release(&got);
	spdy_zlib_release(&dec);

	/* bad blocks */
	struct {
		const char *what;
		const char *raw;
		size_t n;
		const char *want;
	} bad[] = {
		{"a name past the end", "\0\0\0\1\0\0\0\50ab", 10, "runs past"},
		{"an empty name", "\0\0\0\1\0\0\0\0\0\0\0\1x", 13, "empty"},
		{"a name twice", "\0\0\0\2\0\0\0\1a\0\0\0\1x\0\0\0\1A\0\0\0\1y", 24, "twice"},
		{"too many pairs", "\0\1\0\0", 4, "pairs"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spdy_zlib_init(&enc, &e);
		spdy_zlib_init(&dec, &e);
		/* deflate the raw bytes with our context by hand */
		unsigned char cb[256];
		enc.out.next_in = (Bytef *)bad[i].raw;
		enc.out.avail_in = (uInt)bad[i].n;
		enc.out.next_out = cb;
		enc.out.avail_out = sizeof(cb);
		deflate(&enc.out, Z_SYNC_FLUSH);
		struct spdy_headers h = {0};
		berr_freep(&e);
		int r = spdy_headers_decode(&dec, cb, sizeof(cb) - enc.out.avail_out, &h, &e);
		CHECK(r < 0 && e && strstr(e->msg, bad[i].want), "refused: %s (%s)", bad[i].what, e ? e->msg : "accepted");
		spdy_headers_release(&h);
		spdy_zlib_release(&enc);
		spdy_zlib_release(&dec);
	}
	berr_freep(&e);
	/* a bomb: zeros inflate past the limit */
	spdy_zlib_init(&enc, &e);
	spdy_zlib_init(&dec, &e);
	size_t bn = SPDY_HEADERS_MAX + 4096;
	unsigned char *zeros = calloc(1, bn), cb[8192];
	enc.out.next_in = zeros;
	enc.out.avail_in = (uInt)bn;
	enc.out.next_out = cb;
	enc.out.avail_out = sizeof(cb);
	deflate(&enc.out, Z_SYNC_FLUSH);
	struct spdy_headers h = {0};
	int r = spdy_headers_decode(&dec, cb, sizeof(cb) - enc.out.avail_out, &h, &e);
	CHECK(r < 0 && e && strstr(e->msg, "larger than"), "a block inflating past 256 KiB is refused (%s)", e ? e->msg : "accepted");
	free(zeros);
	berr_freep(&e);
	spdy_zlib_release(&enc);
	spdy_zlib_release(&dec);
}

static void hexcmp(const struct sbuf *b, const char *want, size_t n, const char *what)
{
	CHECK(b->len == n && !memcmp(b->s, want, n), "%s: the bytes on the wire", what);
}

static void test_frames(void)
{
	struct sbuf b = SBUF_INIT;
	spdy_put_data(&b, 5, SPDY_FLAG_FIN, "hi", 2);
	hexcmp(&b, "\0\0\0\5\1\0\0\2hi", 10, "DATA");
	sbuf_reset(&b);
	spdy_put_rst_stream(&b, 3, SPDY_CANCEL);
	hexcmp(&b, "\x80\3\0\3\0\0\0\x08\0\0\0\3\0\0\0\5", 16, "RST_STREAM");
	sbuf_reset(&b);
	spdy_put_ping(&b, 7);
	hexcmp(&b, "\x80\3\0\6\0\0\0\4\0\0\0\7", 12, "PING");
	sbuf_reset(&b);
	spdy_put_goaway(&b, 9, SPDY_GOAWAY_OK);
	hexcmp(&b, "\x80\3\0\7\0\0\0\x08\0\0\0\x09\0\0\0\0", 16, "GOAWAY");
	sbuf_reset(&b);
	spdy_put_window_update(&b, 0, 0x10000);
	hexcmp(&b, "\x80\3\0\x09\0\0\0\x08\0\0\0\0\0\1\0\0", 16, "WINDOW_UPDATE");
	sbuf_reset(&b);
	struct spdy_settings_entry se = {0, SPDY_SETTINGS_INITIAL_WINDOW_SIZE, 1024};
	spdy_put_settings(&b, 0, &se, 1);
	hexcmp(&b, "\x80\3\0\4\0\0\0\x0c\0\0\0\1\0\0\0\7\0\0\4\0", 20, "SETTINGS");

	/* every frame type parses back */
	struct spdy_zlib z, zr;
	struct berr *e = NULL;
	spdy_zlib_init(&z, &e);
	spdy_zlib_init(&zr, &e);
	sbuf_reset(&b);
	struct spdy_headers h = {0};
	spdy_headers_add(&h, "streamtype", "error");
	spdy_put_syn_stream(&z, &b, 1, 0, 3, 0, &h, &e);
	spdy_put_syn_reply(&z, &b, 1, SPDY_FLAG_FIN, NULL, &e);
	spdy_put_data(&b, 1, 0, "abc", 3);
	spdy_put_rst_stream(&b, 1, SPDY_REFUSED_STREAM);
	spdy_put_settings(&b, SPDY_SETTINGS_CLEAR, &se, 1);
	spdy_put_ping(&b, 42);
	spdy_put_goaway(&b, 1, SPDY_GOAWAY_INTERNAL_ERROR);
	spdy_put_window_update(&b, 1, 100);
	/* an unknown control type (CREDENTIAL) is skipped */
	sbuf_add(&b, "\x80\3\0\x0a\0\0\0\2xx", 10);
	spdy_headers_release(&h);
	int want[] = {SPDY_SYN_STREAM, SPDY_SYN_REPLY, SPDY_DATA, SPDY_RST_STREAM, SPDY_SETTINGS, SPDY_PING, SPDY_GOAWAY,
		      SPDY_WINDOW_UPDATE, 10};
	size_t off = 0, i = 0;
	bool all = true;
	while (off < b.len && i < 9) {
		struct spdy_frame f;
		size_t used;
		/* byte by byte first: a partial frame needs more */
		if (i == 0)
			CHECK(spdy_frame_parse(&zr, b.s, 7, &f, &used, &e) == 0 && used == 0, "7 bytes: not a frame yet");
		int r = spdy_frame_parse(&zr, b.s + off, b.len - off, &f, &used, &e);
		if (r != 1 || f.type != want[i]) {
			all = false;
			break;
		}
		switch (f.type) {
		case SPDY_SYN_STREAM:
			all &= f.stream_id == 1 && f.priority == 3 && !strcmp(spdy_headers_get(&f.headers, "streamtype") ?: "", "error");
			break;
		case SPDY_SYN_REPLY: all &= f.stream_id == 1 && f.flags == SPDY_FLAG_FIN && f.headers.n == 0; break;
		case SPDY_DATA: all &= f.stream_id == 1 && f.len == 3 && !memcmp(f.data, "abc", 3); break;
		case SPDY_RST_STREAM: all &= f.status == SPDY_REFUSED_STREAM; break;
		case SPDY_SETTINGS:
			all &= f.flags == SPDY_SETTINGS_CLEAR && f.nsettings == 1 && f.settings[0].id == 7 && f.settings[0].value == 1024;
			break;
		case SPDY_PING: all &= f.ping_id == 42; break;
		case SPDY_GOAWAY: all &= f.last_good_id == 1 && f.status == SPDY_GOAWAY_INTERNAL_ERROR; break;
		case SPDY_WINDOW_UPDATE: all &= f.stream_id == 1 && f.delta == 100; break;
		default: all &= f.unknown;
		}
		spdy_frame_release(&f);
		off += used;
		i++;
	}
	CHECK(all && i == 9 && off == b.len, "every frame type parses back with its fields (%zu of 9)", i);

	/* malformed */
	struct {
		const char *what, *bytes;
		size_t n;
	} bad[] = {
		{"SPDY/2", "\x80\2\0\6\0\0\0\4\0\0\0\1", 12},
		{"a short PING", "\x80\3\0\6\0\0\0\2\0\1", 10},
		{"a short RST_STREAM", "\x80\3\0\3\0\0\0\4\0\0\0\1", 12},
		{"SETTINGS with a wrong count", "\x80\3\0\4\0\0\0\x0c\0\0\0\2\0\0\0\7\0\0\4\0", 20},
		{"a SYN_STREAM with no room for its fields", "\x80\3\0\1\0\0\0\4\0\0\0\1", 12},
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct spdy_frame f;
		size_t used;
		berr_freep(&e);
		int r = spdy_frame_parse(&zr, bad[k].bytes, bad[k].n, &f, &used, &e);
		CHECK(r < 0 && e, "refused: %s (%s)", bad[k].what, e ? e->msg : "accepted");
		spdy_frame_release(&f);
	}
	berr_freep(&e);
	spdy_zlib_release(&z);
	spdy_zlib_release(&zr);
	sbuf_release(&b);
}

/* Move everything one side has to write to the other. */
static int pump(struct spdy_session *from, struct spdy_session *to)
{
	size_t n;
	const char *p = spdy_session_out(from, &n);
	struct berr *e = NULL;
	int r = spdy_session_feed(to, p, n, &e);
	spdy_session_sent(from, n);
	berr_free(e);
	return r;
}

static struct spdy_stream *fresh_one(struct spdy_session *s)
{
	for (size_t i = 0; i < s->nstreams; i++)
		if (s->streams[i]->fresh)
			return s->streams[i];
	return NULL;
}

static void test_sessions(void)
{
	struct spdy_session cli, srv;
	struct berr *e = NULL;
	spdy_session_init(&cli, false, &e);
	spdy_session_init(&srv, true, &e);
	struct spdy_headers h = {0};
	spdy_headers_add(&h, "streamType", "error");
	struct spdy_stream *ce, *cin;
	CHECK(spdy_stream_open(&cli, &h, false, &ce, &e) == 0 && ce->id == 1, "the client opens stream 1");
	spdy_headers_release(&h);
	spdy_headers_add(&h, "streamType", "stdin");
	spdy_stream_open(&cli, &h, false, &cin, &e);
	spdy_headers_release(&h);
	CHECK(cin->id == 3, "... then 3");
	pump(&cli, &srv);
	struct spdy_stream *se = fresh_one(&srv);
	CHECK(se && se->id == 1 && !strcmp(spdy_headers_get(&se->headers, "streamtype") ?: "", "error"),
	      "the server sees a fresh stream 1 with its headers");
	spdy_stream_accept(&srv, se, &e);
	struct spdy_stream *sin = fresh_one(&srv);
	CHECK(sin && sin->id == 3, "... and a fresh stream 3");
	spdy_stream_reject(&srv, sin, &e);
	pump(&srv, &cli);
	CHECK(ce->replied && !ce->remote_fin, "the client got the reply of 1");
	CHECK(cin->replied && cin->remote_fin, "... and 3's, with FIN (rejected)");

	/* data both ways, FIN */
	CHECK(spdy_stream_write(&cli, ce, "ping", 4, true) == 4 && ce->local_fin, "the client writes and ends its side");
	pump(&cli, &srv);
	char buf[64];
	size_t n = spdy_stream_read(&srv, se, buf, sizeof(buf));
	CHECK(n == 4 && !memcmp(buf, "ping", 4) && se->remote_fin, "the server reads it and sees FIN");
	CHECK(spdy_stream_write(&srv, se, "{\"status\":\"Success\"}", 20, false) == 20, "the server answers");
	spdy_stream_close(&srv, se);
	spdy_stream_close(&srv, se); /* once */
	size_t pend = spdy_session_pending(&srv);
	CHECK(pend == 8 + 20 + 8, "one DATA frame and one empty FIN (%zu bytes)", pend);
	pump(&srv, &cli);
	n = spdy_stream_read(&cli, ce, buf, sizeof(buf));
	CHECK(n == 20 && ce->remote_fin && spdy_stream_over(ce), "the client has it all; the stream is over");
	spdy_stream_release(&srv, se);
	spdy_session_gc(&srv);
	CHECK(srv.nstreams == 1, "over and released streams go; the rejected one waits for the client's FIN (%zu left)",
	      srv.nstreams);
	spdy_stream_close(&cli, cin);
	pump(&cli, &srv);
	spdy_session_gc(&srv);
	CHECK(srv.nstreams == 0, "... which ends it (%zu left)", srv.nstreams);

	/* a PING from the client comes back; data for a stream that is gone
	 * after it, a stream id going backwards */
	spdy_put_ping(&cli.out, 1);
	pump(&cli, &srv);
	pump(&srv, &cli);
	CHECK(cli.pings_answered == 1, "the server answers the client's PING");
	spdy_put_ping(&srv.out, 2);
	pump(&srv, &cli);
	pump(&cli, &srv);
	CHECK(srv.pings_answered == 1, "and the client the server's");
	spdy_put_data(&cli.out, 99, 0, "x", 1);
	pump(&cli, &srv);
	struct spdy_frame f;
	size_t used;
	size_t on;
	const char *o = spdy_session_out(&srv, &on);
	struct spdy_zlib zz;
	spdy_zlib_init(&zz, &e);
	CHECK(spdy_frame_parse(&zz, o, on, &f, &used, &e) == 1 && f.type == SPDY_RST_STREAM && f.stream_id == 99 &&
		      f.status == SPDY_INVALID_STREAM,
	      "DATA on a stream never opened: RST_STREAM INVALID_STREAM");
	spdy_zlib_release(&zz);
	spdy_session_sent(&srv, on);

	/* flow control: spdystream keeps no windows, so nothing holds a
	 * big write back... */
	spdy_headers_add(&h, "streamtype", "stdout");
	struct spdy_stream *cout;
	spdy_stream_open(&cli, &h, true, &cout, &e);
	spdy_headers_release(&h);
	pump(&cli, &srv);
	struct spdy_stream *sout = fresh_one(&srv);
	spdy_stream_accept(&srv, sout, &e);
	size_t big = 200000;
	char *blob = malloc(big);
	for (size_t k = 0; k < big; k++)
		blob[k] = (char)('a' + k % 26);
	CHECK(spdy_stream_room(&srv, sout, 1 << 20) >= big, "a peer without flow control: room for 200000 bytes");
	CHECK(spdy_stream_write(&srv, sout, blob, big, false) == big, "all of it is taken");
	CHECK(spdy_stream_room(&srv, sout, 100000) == 0, "the output limit still holds a writer back");
	pump(&srv, &cli);
	size_t got = 0;
	bool same = true;
	while (spdy_stream_readable(cout)) {
		char chunk[7000];
		size_t k = spdy_stream_read(&cli, cout, chunk, sizeof(chunk));
		same &= !memcmp(chunk, blob + got, k);
		got += k;
	}
	CHECK(got == big && same, "the client reads the 200000 bytes in order");
	/* ... the client gave windows back as it read (WINDOW_UPDATE) */
	pump(&cli, &srv);
	CHECK(srv.peer_flow_control, "its WINDOW_UPDATEs tell the server it keeps windows");
	int64_t w = sout->send_window;
	CHECK(w == SPDY_DEFAULT_WINDOW - (int64_t)big + (int64_t)(big - cout->recv_unacked),
	      "the stream's window is counted exactly (%lld)", (long long)w);
	/* from now on the window binds: a fresh stream has 64 KiB */
	spdy_headers_add(&h, "streamtype", "stderr");
	struct spdy_stream *cerr;
	spdy_stream_open(&cli, &h, true, &cerr, &e);
	spdy_headers_release(&h);
	pump(&cli, &srv);
	struct spdy_stream *serr = fresh_one(&srv);
	spdy_stream_accept(&srv, serr, &e);
	srv.send_window = SPDY_DEFAULT_WINDOW; /* the session's window, reopened for the check */
	CHECK(spdy_stream_room(&srv, serr, 1 << 20) == SPDY_DEFAULT_WINDOW, "room is the 64 KiB window");
	CHECK(spdy_stream_write(&srv, serr, blob, big, true) == SPDY_DEFAULT_WINDOW && !serr->local_fin,
	      "a write takes 64 KiB and holds FIN back");
	CHECK(spdy_stream_room(&srv, serr, 1 << 20) == 0, "then no room");
	pump(&srv, &cli);
	got = 0;
	while (spdy_stream_readable(cerr)) {
		char chunk[4096];
		got += spdy_stream_read(&cli, cerr, chunk, sizeof(chunk));
	}
	pump(&cli, &srv);
	CHECK(got == SPDY_DEFAULT_WINDOW && serr->send_window == SPDY_DEFAULT_WINDOW,
	      "once read, the client's WINDOW_UPDATEs reopen it");
	/* SETTINGS_INITIAL_WINDOW_SIZE moves every stream's window */
	struct spdy_settings_entry se2 = {0, SPDY_SETTINGS_INITIAL_WINDOW_SIZE, 1000};
	spdy_put_settings(&cli.out, 0, &se2, 1);
	pump(&cli, &srv);
	CHECK(serr->send_window == SPDY_DEFAULT_WINDOW - 65536 + 1000 && srv.peer_initial_window == 1000,
	      "SETTINGS initial window 1000: the stream's window moves by the difference (%lld)", (long long)serr->send_window);
	/* a peer that keeps windows and overruns ours is refused */
	cli.peer_flow_control = true;
	srv.peer_flow_control = true;
	spdy_headers_add(&h, "streamtype", "stdin");
	struct spdy_stream *cin2;
	spdy_stream_open(&cli, &h, false, &cin2, &e);
	spdy_headers_release(&h);
	pump(&cli, &srv);
	struct spdy_stream *sin2 = fresh_one(&srv);
	spdy_stream_accept(&srv, sin2, &e);
	for (int k = 0; k < 5; k++)
		spdy_put_data(&cli.out, cin2->id, 0, blob, 16384);
	pump(&cli, &srv);
	CHECK(sin2->reset, "a peer keeping windows that sends 80 KiB into 64 KiB: RST_STREAM FLOW_CONTROL_ERROR");
	free(blob);

	/* GOAWAY; a session error */
	spdy_session_goaway(&srv, SPDY_GOAWAY_OK);
	spdy_session_goaway(&srv, SPDY_GOAWAY_OK);
	pump(&srv, &cli);
	CHECK(cli.goaway_received, "GOAWAY reaches the client (once)");
	spdy_put_syn_stream(&cli.z, &cli.out, 2, 0, 0, 0, NULL, &e);
	CHECK(pump(&cli, &srv) < 0 && srv.failed, "a SYN_STREAM with an even id from a client fails the session");
	spdy_session_release(&cli);
	spdy_session_release(&srv);

	spdy_session_init(&srv, true, &e);
	CHECK(spdy_session_feed(&srv, "\x80\2\0\1\0\0\0\0", 8, &e) < 0 && srv.goaway_sent,
	      "SPDY/2 fails the session with GOAWAY (%s)", e ? e->msg : "");
	berr_freep(&e);
	spdy_session_release(&srv);
	/* stream ids must grow; too many streams are refused */
	spdy_session_init(&cli, false, &e);
	spdy_session_init(&srv, true, &e);
	srv.max_streams = 2;
	for (int k = 0; k < 3; k++) {
		struct spdy_stream *x;
		spdy_headers_add(&h, "streamtype", "data");
		spdy_stream_open(&cli, &h, false, &x, &e);
		spdy_headers_release(&h);
	}
	pump(&cli, &srv);
	CHECK(srv.nstreams == 2, "the third stream over max_streams=2 is refused (%zu kept)", srv.nstreams);
	o = spdy_session_out(&srv, &on);
	spdy_zlib_init(&zz, &e);
	CHECK(spdy_frame_parse(&zz, o, on, &f, &used, &e) == 1 && f.type == SPDY_RST_STREAM && f.stream_id == 5 &&
		      f.status == SPDY_REFUSED_STREAM,
	      "... with RST_STREAM REFUSED_STREAM");
	spdy_zlib_release(&zz);
	spdy_session_sent(&srv, on);
	spdy_put_syn_stream(&cli.z, &cli.out, 9, 0, 0, 0, NULL, &e);
	pump(&cli, &srv);
	spdy_put_syn_stream(&cli.z, &cli.out, 7, 0, 0, 0, NULL, &e);
	CHECK(pump(&cli, &srv) < 0, "a stream id that goes back fails the session");
	spdy_session_release(&cli);
	spdy_session_release(&srv);
}

int main(void)
{
	test_dictionary();
	test_headers();
	test_frames();
	test_sessions();
	UNIT_END();
}
