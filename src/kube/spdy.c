/* SPDY/3.1 framing and sessions (kube/spdy.h). */
#include "kube/spdy.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- the dictionary ---- */

/* SPDY/3's zlib dictionary: these words, each after its length as a
 * big-endian u32, then the text below as it is. */
static const char *const dict_words[] = {
	"options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
	"accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
	"content-base", "content-encoding", "content-language", "content-length", "content-location", "content-md5",
	"content-range", "content-type", "date", "etag", "expect", "expires", "from", "host", "if-match",
	"if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
	"max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after",
	"server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
	"www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public",
	"set-cookie", "keep-alive", "origin",
};
static const char dict_tail[] =
	"100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
	"203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
	"403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
	"Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
	"chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
	"text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

static unsigned char dict[1536];
static size_t dict_len;
static pthread_once_t dict_once = PTHREAD_ONCE_INIT;

static void dict_build(void)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(dict_words) / sizeof(dict_words[0]); i++) {
		size_t l = strlen(dict_words[i]);
		dict[n++] = (unsigned char)(l >> 24);
		dict[n++] = (unsigned char)(l >> 16);
		dict[n++] = (unsigned char)(l >> 8);
		dict[n++] = (unsigned char)l;
		memcpy(dict + n, dict_words[i], l);
		n += l;
	}
	memcpy(dict + n, dict_tail, sizeof(dict_tail) - 1);
	dict_len = n + sizeof(dict_tail) - 1;
}

const unsigned char *spdy_dictionary(size_t *ret_len)
{
	pthread_once(&dict_once, dict_build);
	*ret_len = dict_len;
	return dict;
}

/* ---- big-endian helpers ---- */

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(struct sbuf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
			      (unsigned char)v};
	sbuf_add(b, x, 4);
}

/* The 8-byte header of a control frame. */
static void put_control(struct sbuf *b, int type, uint8_t flags, size_t len)
{
	unsigned char h[8] = {0x80, SPDY_VERSION, (unsigned char)(type >> 8), (unsigned char)type, flags,
			      (unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len};
	sbuf_add(b, h, 8);
}

/* ---- header blocks ---- */

void spdy_headers_add(struct spdy_headers *h, const char *name, const char *value)
{
	size_t vl = strlen(value);
	for (size_t i = 0; i < h->n; i++) {
		if (strcasecmp(h->v[i].name, name))
			continue;
		char *nv = realloc(h->v[i].value, h->v[i].vlen + 1 + vl + 1);
		if (!nv)
			abort();
		nv[h->v[i].vlen] = 0;
		memcpy(nv + h->v[i].vlen + 1, value, vl + 1);
		h->v[i].value = nv;
		h->v[i].vlen += 1 + vl;
		return;
	}
	struct spdy_header *nv = realloc(h->v, (h->n + 1) * sizeof(*nv));
	if (!nv)
		abort();
	h->v = nv;
	char *lname = strdup(name);
	char *val = strdup(value);
	if (!lname || !val)
		abort();
	for (char *p = lname; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	h->v[h->n++] = (struct spdy_header){lname, val, vl};
}

const char *spdy_headers_get(const struct spdy_headers *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcasecmp(h->v[i].name, name))
			return h->v[i].value;
	return NULL;
}

void spdy_headers_release(struct spdy_headers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

int spdy_zlib_init(struct spdy_zlib *z, struct berr **err)
{
	memset(z, 0, sizeof(*z));
	size_t dl;
	const unsigned char *d = spdy_dictionary(&dl);
	if (inflateInit(&z->in) != Z_OK)
		return berr_set(err, 0, "SPDY: zlib inflateInit failed");
	z->in_ok = true;
	if (deflateInit(&z->out, Z_DEFAULT_COMPRESSION) != Z_OK ||
	    deflateSetDictionary(&z->out, d, (uInt)dl) != Z_OK) {
		spdy_zlib_release(z);
		return berr_set(err, 0, "SPDY: zlib deflateInit failed");
	}
	z->out_ok = true;
	return 0;
}

void spdy_zlib_release(struct spdy_zlib *z)
{
	if (z->in_ok)
		inflateEnd(&z->in);
	if (z->out_ok)
		deflateEnd(&z->out);
	z->in_ok = z->out_ok = false;
}

int spdy_headers_encode(struct spdy_zlib *z, const struct spdy_headers *h, struct sbuf *out, struct berr **err)
{
	struct sbuf raw = SBUF_INIT;
	put32(&raw, (uint32_t)h->n);
	for (size_t i = 0; i < h->n; i++) {
		size_t nl = strlen(h->v[i].name);
		put32(&raw, (uint32_t)nl);
		sbuf_add(&raw, h->v[i].name, nl);
		put32(&raw, (uint32_t)h->v[i].vlen);
		sbuf_add(&raw, h->v[i].value, h->v[i].vlen);
	}
	z->out.next_in = (Bytef *)raw.s;
	z->out.avail_in = (uInt)raw.len;
	int rc;
	do {
		sbuf_grow(out, 256 + raw.len);
		z->out.next_out = (Bytef *)out->s + out->len;
		z->out.avail_out = (uInt)(out->cap - out->len - 1);
		size_t before = z->out.avail_out;
		rc = deflate(&z->out, Z_SYNC_FLUSH);
		out->len += before - z->out.avail_out;
		out->s[out->len] = 0;
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			sbuf_release(&raw);
			return berr_set(err, 0, "SPDY: compressing a header block failed (zlib %d)", rc);
		}
	} while (z->out.avail_out == 0 || z->out.avail_in > 0);
	sbuf_release(&raw);
	return 0;
}

int spdy_headers_decode(struct spdy_zlib *z, const void *blk, size_t n, struct spdy_headers *ret, struct berr **err)
{
	memset(ret, 0, sizeof(*ret));
	struct sbuf raw = SBUF_INIT;
	z->in.next_in = (Bytef *)blk;
	z->in.avail_in = (uInt)n;
	while (z->in.avail_in > 0) {
		if (raw.len >= SPDY_HEADERS_MAX) {
			sbuf_release(&raw);
			return berr_set(err, 0, "SPDY: a header block larger than %u bytes", SPDY_HEADERS_MAX);
		}
		sbuf_grow(&raw, 4096);
		z->in.next_out = (Bytef *)raw.s + raw.len;
		z->in.avail_out = (uInt)(raw.cap - raw.len - 1);
		size_t before = z->in.avail_out;
		int rc = inflate(&z->in, Z_SYNC_FLUSH);
		if (rc == Z_NEED_DICT) {
			size_t dl;
			const unsigned char *d = spdy_dictionary(&dl);
			if (inflateSetDictionary(&z->in, d, (uInt)dl) != Z_OK) {
				sbuf_release(&raw);
				return berr_set(err, 0, "SPDY: a header block with an unknown dictionary");
			}
			continue;
		}
		raw.len += before - z->in.avail_out;
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			sbuf_release(&raw);
			return berr_set(err, 0, "SPDY: a header block does not inflate (zlib %d)", rc);
		}
		if (rc == Z_BUF_ERROR && before == z->in.avail_out)
			break;
	}
	/* what inflate may still hold back once the input is consumed */
	for (;;) {
		sbuf_grow(&raw, 4096);
		z->in.next_out = (Bytef *)raw.s + raw.len;
		z->in.avail_out = (uInt)(raw.cap - raw.len - 1);
		size_t before = z->in.avail_out;
		int rc = inflate(&z->in, Z_SYNC_FLUSH);
		raw.len += before - z->in.avail_out;
		if ((rc != Z_OK && rc != Z_BUF_ERROR) || before == z->in.avail_out || raw.len >= SPDY_HEADERS_MAX)
			break;
	}
	const unsigned char *p = (const unsigned char *)raw.s, *end = p + raw.len;
	int rc = -1;
	if (raw.len > SPDY_HEADERS_MAX) {
		berr_set(err, 0, "SPDY: a header block larger than %u bytes", SPDY_HEADERS_MAX);
		goto out;
	}
	if (end - p < 4) {
		berr_set(err, 0, "SPDY: a header block without its count");
		goto out;
	}
	uint32_t count = get32(p);
	p += 4;
	if (count > SPDY_HEADERS_MAX_PAIRS) {
		berr_set(err, 0, "SPDY: a header block of %u pairs (at most %u)", count, SPDY_HEADERS_MAX_PAIRS);
		goto out;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint32_t nl, vl;
		if (end - p < 4 || (nl = get32(p)) > (size_t)(end - p - 4)) {
			berr_set(err, 0, "SPDY: header %u: its name runs past the block", i);
			goto out;
		}
		const char *name = (const char *)p + 4;
		p += 4 + nl;
		if (end - p < 4 || (vl = get32(p)) > (size_t)(end - p - 4)) {
			berr_set(err, 0, "SPDY: header %u: its value runs past the block", i);
			goto out;
		}
		const char *val = (const char *)p + 4;
		p += 4 + vl;
		if (!nl || memchr(name, 0, nl)) {
			berr_set(err, 0, "SPDY: header %u: an empty or malformed name", i);
			goto out;
		}
		struct spdy_header *nv = realloc(ret->v, (ret->n + 1) * sizeof(*nv));
		if (!nv)
			abort();
		ret->v = nv;
		char *nm = strndup(name, nl), *vv = malloc(vl + 1);
		if (!nm || !vv)
			abort();
		for (char *q = nm; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		memcpy(vv, val, vl);
		vv[vl] = 0;
		for (size_t k = 0; k < ret->n; k++) {
			if (!strcmp(ret->v[k].name, nm)) {
				free(nm);
				free(vv);
				berr_set(err, 0, "SPDY: header \"%.*s\" twice in one block", (int)nl, name);
				goto out;
			}
		}
		ret->v[ret->n++] = (struct spdy_header){nm, vv, vl};
	}
	rc = 0;
out:
	if (rc < 0)
		spdy_headers_release(ret);
	sbuf_release(&raw);
	return rc;
}

/* ---- frames ---- */

void spdy_frame_release(struct spdy_frame *f)
{
	spdy_headers_release(&f->headers);
	free(f->settings);
	f->settings = NULL;
	f->nsettings = 0;
}

int spdy_frame_parse(struct spdy_zlib *z, const void *buf, size_t n, struct spdy_frame *f, size_t *used,
		     struct berr **err)
{
	const unsigned char *p = buf;
	memset(f, 0, sizeof(*f));
	*used = 0;
	if (n < 8)
		return 0;
	size_t len = (size_t)p[5] << 16 | (size_t)p[6] << 8 | p[7];
	if (n - 8 < len)
		return 0;
	f->flags = p[4];
	const unsigned char *d = p + 8;
	if (!(p[0] & 0x80)) {
		f->type = SPDY_DATA;
		f->stream_id = get32(p) & 0x7fffffff;
		f->data = d;
		f->len = len;
		*used = 8 + len;
		return 1;
	}
	unsigned version = (unsigned)(p[0] & 0x7f) << 8 | p[1];
	f->type = (int)((unsigned)p[2] << 8 | p[3]);
	if (version != SPDY_VERSION)
		return berr_set(err, 0, "SPDY: a control frame of version %u (this is SPDY/3)", version);
	switch (f->type) {
	case SPDY_SYN_STREAM:
		if (len < 10)
			return berr_set(err, 0, "SPDY: SYN_STREAM of %zu bytes", len);
		f->stream_id = get32(d) & 0x7fffffff;
		f->assoc_id = get32(d + 4) & 0x7fffffff;
		f->priority = d[8] >> 5;
		if (spdy_headers_decode(z, d + 10, len - 10, &f->headers, err) < 0)
			return berr_wrap(err, "SYN_STREAM %u", f->stream_id);
		break;
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		if (len < 4)
			return berr_set(err, 0, "SPDY: %s of %zu bytes", f->type == SPDY_HEADERS ? "HEADERS" : "SYN_REPLY", len);
		f->stream_id = get32(d) & 0x7fffffff;
		if (spdy_headers_decode(z, d + 4, len - 4, &f->headers, err) < 0)
			return berr_wrap(err, "%s %u", f->type == SPDY_HEADERS ? "HEADERS" : "SYN_REPLY", f->stream_id);
		break;
	case SPDY_RST_STREAM:
		if (len != 8)
			return berr_set(err, 0, "SPDY: RST_STREAM of %zu bytes", len);
		f->stream_id = get32(d) & 0x7fffffff;
		f->status = get32(d + 4);
		break;
	case SPDY_SETTINGS: {
		if (len < 4)
			return berr_set(err, 0, "SPDY: SETTINGS of %zu bytes", len);
		uint32_t cnt = get32(d);
		if ((size_t)cnt * 8 != len - 4)
			return berr_set(err, 0, "SPDY: SETTINGS of %u entries in %zu bytes", cnt, len);
		f->settings = cnt ? calloc(cnt, sizeof(*f->settings)) : NULL;
		if (cnt && !f->settings)
			abort();
		for (uint32_t i = 0; i < cnt; i++) {
			uint32_t fi = get32(d + 4 + 8 * i);
			f->settings[i] = (struct spdy_settings_entry){(uint8_t)(fi >> 24), fi & 0xffffff, get32(d + 8 + 8 * i)};
		}
		f->nsettings = cnt;
		break;
	}
	case SPDY_PING:
		if (len != 4)
			return berr_set(err, 0, "SPDY: PING of %zu bytes", len);
		f->ping_id = get32(d);
		break;
	case SPDY_GOAWAY:
		if (len != 8)
			return berr_set(err, 0, "SPDY: GOAWAY of %zu bytes", len);
		f->last_good_id = get32(d) & 0x7fffffff;
		f->status = get32(d + 4);
		break;
	case SPDY_WINDOW_UPDATE:
		if (len != 8)
			return berr_set(err, 0, "SPDY: WINDOW_UPDATE of %zu bytes", len);
		f->stream_id = get32(d) & 0x7fffffff;
		f->delta = get32(d + 4) & 0x7fffffff;
		break;
	default:
		/* CREDENTIAL and types yet to come: ignored, as the spec says */
		f->unknown = true;
	}
	*used = 8 + len;
	return 1;
}

void spdy_put_data(struct sbuf *out, uint32_t id, uint8_t flags, const void *data, size_t n)
{
	unsigned char h[8] = {(unsigned char)(id >> 24 & 0x7f), (unsigned char)(id >> 16), (unsigned char)(id >> 8),
			      (unsigned char)id, flags, (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
	sbuf_add(out, h, 8);
	if (n)
		sbuf_add(out, data, n);
}

static int put_with_headers(struct spdy_zlib *z, struct sbuf *out, int type, uint8_t flags, const unsigned char *fixed,
			    size_t nfixed, const struct spdy_headers *h, struct berr **err)
{
	struct sbuf blk = SBUF_INIT;
	struct spdy_headers none = {0};
	if (spdy_headers_encode(z, h ? h : &none, &blk, err) < 0) {
		sbuf_release(&blk);
		return -1;
	}
	if (nfixed + blk.len > SPDY_MAX_LENGTH) {
		sbuf_release(&blk);
		return berr_set(err, 0, "SPDY: a header block of %zu bytes does not fit a frame", blk.len);
	}
	put_control(out, type, flags, nfixed + blk.len);
	sbuf_add(out, fixed, nfixed);
	sbuf_add(out, blk.s, blk.len);
	sbuf_release(&blk);
	return 0;
}

int spdy_put_syn_stream(struct spdy_zlib *z, struct sbuf *out, uint32_t id, uint32_t assoc, uint8_t priority,
			uint8_t flags, const struct spdy_headers *h, struct berr **err)
{
	unsigned char fx[10] = {(unsigned char)(id >> 24 & 0x7f), (unsigned char)(id >> 16), (unsigned char)(id >> 8),
				(unsigned char)id, (unsigned char)(assoc >> 24 & 0x7f), (unsigned char)(assoc >> 16),
				(unsigned char)(assoc >> 8), (unsigned char)assoc, (unsigned char)((priority & 7) << 5), 0};
	return put_with_headers(z, out, SPDY_SYN_STREAM, flags, fx, sizeof(fx), h, err);
}

int spdy_put_syn_reply(struct spdy_zlib *z, struct sbuf *out, uint32_t id, uint8_t flags, const struct spdy_headers *h,
		       struct berr **err)
{
	unsigned char fx[4] = {(unsigned char)(id >> 24 & 0x7f), (unsigned char)(id >> 16), (unsigned char)(id >> 8),
			       (unsigned char)id};
	return put_with_headers(z, out, SPDY_SYN_REPLY, flags, fx, sizeof(fx), h, err);
}

void spdy_put_rst_stream(struct sbuf *out, uint32_t id, uint32_t status)
{
	put_control(out, SPDY_RST_STREAM, 0, 8);
	put32(out, id & 0x7fffffff);
	put32(out, status);
}

void spdy_put_settings(struct sbuf *out, uint8_t flags, const struct spdy_settings_entry *e, size_t n)
{
	put_control(out, SPDY_SETTINGS, flags, 4 + 8 * n);
	put32(out, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		put32(out, (uint32_t)e[i].flags << 24 | (e[i].id & 0xffffff));
		put32(out, e[i].value);
	}
}

void spdy_put_ping(struct sbuf *out, uint32_t id)
{
	put_control(out, SPDY_PING, 0, 4);
	put32(out, id);
}

void spdy_put_goaway(struct sbuf *out, uint32_t last_good, uint32_t status)
{
	put_control(out, SPDY_GOAWAY, 0, 8);
	put32(out, last_good & 0x7fffffff);
	put32(out, status);
}

void spdy_put_window_update(struct sbuf *out, uint32_t id, uint32_t delta)
{
	put_control(out, SPDY_WINDOW_UPDATE, 0, 8);
	put32(out, id & 0x7fffffff);
	put32(out, delta & 0x7fffffff);
}

/* ---- the session ---- */

int spdy_session_init(struct spdy_session *s, bool server, struct berr **err)
{
	memset(s, 0, sizeof(*s));
	if (spdy_zlib_init(&s->z, err) < 0)
		return -1;
	s->server = server;
	s->next_id = server ? 2 : 1;
	s->next_ping = server ? 2 : 1;
	s->max_streams = 100;
	s->send_window = s->recv_window = SPDY_DEFAULT_WINDOW;
	s->peer_initial_window = SPDY_DEFAULT_WINDOW;
	return 0;
}

static void stream_free(struct spdy_stream *st)
{
	spdy_headers_release(&st->headers);
	sbuf_release(&st->in);
	free(st);
}

void spdy_session_release(struct spdy_session *s)
{
	for (size_t i = 0; i < s->nstreams; i++)
		stream_free(s->streams[i]);
	free(s->streams);
	sbuf_release(&s->out);
	sbuf_release(&s->rbuf);
	spdy_zlib_release(&s->z);
	memset(s, 0, sizeof(*s));
}

struct spdy_stream *spdy_session_stream(const struct spdy_session *s, uint32_t id)
{
	for (size_t i = 0; i < s->nstreams; i++)
		if (s->streams[i]->id == id)
			return s->streams[i];
	return NULL;
}

static struct spdy_stream *stream_new(struct spdy_session *s, uint32_t id)
{
	struct spdy_stream *st = calloc(1, sizeof(*st));
	if (!st)
		abort();
	st->id = id;
	st->send_window = s->peer_initial_window;
	st->recv_window = SPDY_DEFAULT_WINDOW;
	if (s->nstreams == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		struct spdy_stream **nv = realloc(s->streams, s->cap * sizeof(*nv));
		if (!nv)
			abort();
		s->streams = nv;
	}
	s->streams[s->nstreams++] = st;
	return st;
}

void spdy_session_sent(struct spdy_session *s, size_t n)
{
	s->out_off += n;
	if (s->out_off >= s->out.len) {
		sbuf_reset(&s->out);
		s->out_off = 0;
	} else if (s->out_off > (1u << 20) && s->out_off > s->out.len / 2) {
		memmove(s->out.s, s->out.s + s->out_off, s->out.len - s->out_off);
		s->out.len -= s->out_off;
		s->out.s[s->out.len] = 0;
		s->out_off = 0;
	}
}

void spdy_session_goaway(struct spdy_session *s, uint32_t status)
{
	if (s->goaway_sent)
		return;
	spdy_put_goaway(&s->out, s->last_peer_id, status);
	s->goaway_sent = true;
}

void spdy_session_gc(struct spdy_session *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->nstreams; i++) {
		struct spdy_stream *st = s->streams[i];
		if (st->released && (st->reset || (st->local_fin && st->remote_fin)))
			stream_free(st);
		else
			s->streams[k++] = st;
	}
	s->nstreams = k;
}

static size_t open_peer_streams(const struct spdy_session *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nstreams; i++) {
		const struct spdy_stream *st = s->streams[i];
		if ((st->id & 1) == (s->server ? 1u : 0u) && !st->reset && !(st->local_fin && st->remote_fin))
			n++;
	}
	return n;
}

static int session_error(struct spdy_session *s, uint32_t status, struct berr **err)
{
	spdy_session_goaway(s, status);
	s->failed = true;
	return -1;
}

/* Give back window to the peer once half of it was consumed. */
static void give_back(struct spdy_session *s, struct spdy_stream *st, size_t n)
{
	s->recv_unacked += (uint32_t)n;
	if (s->recv_unacked >= SPDY_DEFAULT_WINDOW / 2) {
		spdy_put_window_update(&s->out, 0, s->recv_unacked);
		s->recv_window += s->recv_unacked;
		s->recv_unacked = 0;
	}
	if (!st)
		return;
	st->recv_unacked += (uint32_t)n;
	if (st->recv_unacked >= SPDY_DEFAULT_WINDOW / 2 && !st->remote_fin && !st->reset) {
		spdy_put_window_update(&s->out, st->id, st->recv_unacked);
		st->recv_window += st->recv_unacked;
		st->recv_unacked = 0;
	}
}

static int handle(struct spdy_session *s, struct spdy_frame *f, struct berr **err)
{
	struct spdy_stream *st = f->stream_id ? spdy_session_stream(s, f->stream_id) : NULL;
	bool peers = (f->stream_id & 1) == (s->server ? 1u : 0u);
	switch (f->type) {
	case SPDY_SYN_STREAM:
		if (!f->stream_id || !peers) {
			berr_set(err, 0, "SPDY: SYN_STREAM with stream id %u from the %s", f->stream_id,
				 s->server ? "client" : "server");
			return session_error(s, SPDY_GOAWAY_PROTOCOL_ERROR, err);
		}
		if (st) {
			spdy_put_rst_stream(&s->out, f->stream_id, SPDY_STREAM_IN_USE);
			return 0;
		}
		if (f->stream_id <= s->last_peer_id) {
			berr_set(err, 0, "SPDY: SYN_STREAM %u after stream %u", f->stream_id, s->last_peer_id);
			return session_error(s, SPDY_GOAWAY_PROTOCOL_ERROR, err);
		}
		s->last_peer_id = f->stream_id;
		if (s->goaway_sent)
			return 0; /* new streams after our GOAWAY are ignored */
		if (open_peer_streams(s) >= s->max_streams) {
			spdy_put_rst_stream(&s->out, f->stream_id, SPDY_REFUSED_STREAM);
			return 0;
		}
		st = stream_new(s, f->stream_id);
		st->headers = f->headers;
		f->headers = (struct spdy_headers){0};
		st->fresh = true;
		st->remote_fin = f->flags & SPDY_FLAG_FIN;
		st->local_fin = f->flags & SPDY_FLAG_UNIDIRECTIONAL;
		return 0;
	case SPDY_SYN_REPLY:
		if (!st || peers) {
			spdy_put_rst_stream(&s->out, f->stream_id, SPDY_INVALID_STREAM);
			return 0;
		}
		if (st->replied) {
			spdy_put_rst_stream(&s->out, f->stream_id, SPDY_STREAM_IN_USE);
			st->reset = true;
			return 0;
		}
		st->replied = true;
		if (f->flags & SPDY_FLAG_FIN)
			st->remote_fin = true;
		return 0;
	case SPDY_HEADERS:
		if (!st) {
			spdy_put_rst_stream(&s->out, f->stream_id, SPDY_INVALID_STREAM);
			return 0;
		}
		if (f->flags & SPDY_FLAG_FIN)
			st->remote_fin = true;
		return 0;
	case SPDY_RST_STREAM:
		if (st) {
			st->reset = true;
			st->reset_status = f->status;
		}
		return 0;
	case SPDY_SETTINGS:
		s->peer_flow_control = true;
		for (size_t i = 0; i < f->nsettings; i++) {
			if (f->settings[i].id != SPDY_SETTINGS_INITIAL_WINDOW_SIZE || f->settings[i].value > SPDY_MAX_WINDOW)
				continue;
			int64_t delta = (int64_t)f->settings[i].value - s->peer_initial_window;
			s->peer_initial_window = f->settings[i].value;
			for (size_t k = 0; k < s->nstreams; k++)
				s->streams[k]->send_window += delta;
		}
		return 0;
	case SPDY_PING:
		/* the peer's pings have its parity; ours come back */
		if ((f->ping_id & 1) == (s->server ? 1u : 0u))
			spdy_put_ping(&s->out, f->ping_id);
		else
			s->pings_answered++;
		return 0;
	case SPDY_GOAWAY:
		s->goaway_received = true;
		return 0;
	case SPDY_WINDOW_UPDATE:
		s->peer_flow_control = true;
		if (!f->delta)
			return 0;
		if (!f->stream_id) {
			if (s->send_window + f->delta > SPDY_MAX_WINDOW) {
				berr_set(err, 0, "SPDY: the session's window past 2^31-1");
				return session_error(s, SPDY_GOAWAY_PROTOCOL_ERROR, err);
			}
			s->send_window += f->delta;
			return 0;
		}
		if (!st)
			return 0; /* a stream already gone: updates may cross its end */
		if (st->send_window + f->delta > SPDY_MAX_WINDOW) {
			spdy_put_rst_stream(&s->out, st->id, SPDY_FLOW_CONTROL_ERROR);
			st->reset = true;
			return 0;
		}
		st->send_window += f->delta;
		return 0;
	case SPDY_DATA:
		s->recv_window -= (int64_t)f->len;
		if (!st) {
			give_back(s, NULL, f->len);
			if (f->stream_id && f->stream_id <= (peers ? s->last_peer_id : s->next_id))
				return 0; /* a stream that is over and gone */
			spdy_put_rst_stream(&s->out, f->stream_id, SPDY_INVALID_STREAM);
			return 0;
		}
		if (st->reset) {
			give_back(s, NULL, f->len);
			return 0;
		}
		if (st->remote_fin) {
			give_back(s, NULL, f->len);
			spdy_put_rst_stream(&s->out, st->id, SPDY_STREAM_ALREADY_CLOSED);
			st->reset = true;
			return 0;
		}
		st->recv_window -= (int64_t)f->len;
		if (s->peer_flow_control && (st->recv_window < 0 || s->recv_window < 0)) {
			give_back(s, NULL, f->len);
			spdy_put_rst_stream(&s->out, st->id, SPDY_FLOW_CONTROL_ERROR);
			st->reset = true;
			return 0;
		}
		if (st->released)
			give_back(s, st, f->len);
		else if (f->len)
			sbuf_add(&st->in, f->data, f->len);
		if (f->flags & SPDY_FLAG_FIN)
			st->remote_fin = true;
		return 0;
	}
	return 0;
}

int spdy_session_feed(struct spdy_session *s, const void *buf, size_t n, struct berr **err)
{
	if (s->failed)
		return 0;
	sbuf_add(&s->rbuf, buf, n);
	size_t off = 0;
	int rc = 0;
	while (off < s->rbuf.len) {
		struct spdy_frame f;
		size_t used;
		int r = spdy_frame_parse(&s->z, s->rbuf.s + off, s->rbuf.len - off, &f, &used, err);
		if (r < 0) {
			session_error(s, SPDY_GOAWAY_PROTOCOL_ERROR, err);
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		off += used;
		r = handle(s, &f, err);
		spdy_frame_release(&f);
		if (r < 0) {
			rc = -1;
			break;
		}
	}
	if (rc < 0) {
		sbuf_reset(&s->rbuf);
		return -1;
	}
	if (off) {
		memmove(s->rbuf.s, s->rbuf.s + off, s->rbuf.len - off);
		s->rbuf.len -= off;
		s->rbuf.s[s->rbuf.len] = 0;
	}
	return 0;
}

int spdy_stream_accept(struct spdy_session *s, struct spdy_stream *st, struct berr **err)
{
	if (!st->fresh)
		return 0;
	st->fresh = false;
	if (spdy_put_syn_reply(&s->z, &s->out, st->id, 0, NULL, err) < 0)
		return -1;
	st->replied = true;
	return 0;
}

int spdy_stream_reject(struct spdy_session *s, struct spdy_stream *st, struct berr **err)
{
	st->fresh = false;
	spdy_stream_release(s, st);
	if (spdy_put_syn_reply(&s->z, &s->out, st->id, SPDY_FLAG_FIN, NULL, err) < 0)
		return -1;
	st->replied = true;
	st->local_fin = true;
	return 0;
}

int spdy_stream_open(struct spdy_session *s, const struct spdy_headers *h, bool fin, struct spdy_stream **ret,
		     struct berr **err)
{
	if (s->next_id > SPDY_MAX_WINDOW)
		return berr_set(err, 0, "SPDY: out of stream ids");
	uint32_t id = s->next_id;
	if (spdy_put_syn_stream(&s->z, &s->out, id, 0, 0, fin ? SPDY_FLAG_FIN : 0, h, err) < 0)
		return -1;
	s->next_id += 2;
	struct spdy_stream *st = stream_new(s, id);
	for (size_t i = 0; i < h->n; i++)
		spdy_headers_add(&st->headers, h->v[i].name, h->v[i].value);
	st->local_fin = fin;
	*ret = st;
	return 0;
}

size_t spdy_stream_read(struct spdy_session *s, struct spdy_stream *st, void *buf, size_t n)
{
	size_t have = spdy_stream_readable(st);
	if (n > have)
		n = have;
	if (!n)
		return 0;
	memcpy(buf, st->in.s + st->in_off, n);
	st->in_off += n;
	if (st->in_off == st->in.len) {
		sbuf_reset(&st->in);
		st->in_off = 0;
	}
	give_back(s, st, n);
	return n;
}

size_t spdy_stream_room(const struct spdy_session *s, const struct spdy_stream *st, size_t limit)
{
	if (st->reset || st->local_fin)
		return 0;
	size_t pending = spdy_session_pending(s);
	size_t room = limit > pending ? limit - pending : 0;
	if (s->peer_flow_control) {
		int64_t w = st->send_window < s->send_window ? st->send_window : s->send_window;
		if (w <= 0)
			return 0;
		if ((uint64_t)w < room)
			room = (size_t)w;
	}
	return room;
}

size_t spdy_stream_write(struct spdy_session *s, struct spdy_stream *st, const void *data, size_t n, bool fin)
{
	if (st->reset || st->local_fin)
		return 0;
	size_t take = n;
	if (s->peer_flow_control) {
		int64_t w = st->send_window < s->send_window ? st->send_window : s->send_window;
		if (w < 0)
			w = 0;
		if ((uint64_t)w < take)
			take = (size_t)w;
	}
	const char *p = data;
	size_t left = take;
	while (left > 0) {
		size_t k = left > SPDY_DATA_CHUNK ? SPDY_DATA_CHUNK : left;
		left -= k;
		bool last_fin = fin && !left && take == n;
		spdy_put_data(&s->out, st->id, last_fin ? SPDY_FLAG_FIN : 0, p, k);
		p += k;
		if (last_fin)
			st->local_fin = true;
	}
	/* the windows are counted whatever the peer does, so they are right
	 * if it starts keeping them */
	st->send_window -= (int64_t)take;
	s->send_window -= (int64_t)take;
	if (fin && take == n && !st->local_fin) {
		spdy_put_data(&s->out, st->id, SPDY_FLAG_FIN, NULL, 0);
		st->local_fin = true;
	}
	return take;
}

void spdy_stream_close(struct spdy_session *s, struct spdy_stream *st)
{
	if (st->local_fin || st->reset)
		return;
	spdy_put_data(&s->out, st->id, SPDY_FLAG_FIN, NULL, 0);
	st->local_fin = true;
}

void spdy_stream_reset(struct spdy_session *s, struct spdy_stream *st, uint32_t status)
{
	if (st->reset)
		return;
	spdy_put_rst_stream(&s->out, st->id, status);
	st->reset = true;
	st->reset_status = status;
}

void spdy_stream_release(struct spdy_session *s, struct spdy_stream *st)
{
	if (st->released)
		return;
	st->released = true;
	/* what is dropped unread is consumed as far as the peer is concerned */
	size_t left = spdy_stream_readable(st);
	sbuf_release(&st->in);
	st->in_off = 0;
	if (left)
		give_back(s, st, left);
}
