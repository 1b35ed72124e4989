#include "image/tarw.h"
#include "util/fs.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512
#define WBUF (1u << 20)

int tarw_init(struct tarw *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->cap = WBUF;
	w->buf = malloc(w->cap);
	return w->buf ? 0 : -1;
}

void tarw_release(struct tarw *w)
{
	free(w->buf);
	w->buf = NULL;
}

static int flush(struct tarw *w, struct berr **err)
{
	if (w->len && fs_write_full(w->fd, w->buf, w->len) < 0)
		return berr_set(err, errno, "writing archive");
	w->len = 0;
	return 0;
}

static int put(struct tarw *w, const void *data, size_t n, struct berr **err)
{
	if (n >= w->cap) {
		/* big data goes straight through */
		if (flush(w, err) < 0)
			return -1;
		if (fs_write_full(w->fd, data, n) < 0)
			return berr_set(err, errno, "writing archive");
		return 0;
	}
	if (w->len + n > w->cap && flush(w, err) < 0)
		return -1;
	memcpy(w->buf + w->len, data, n);
	w->len += n;
	return 0;
}

static int put_zeros(struct tarw *w, size_t n, struct berr **err)
{
	static const char zeros[BLOCK * 2];
	while (n > 0) {
		size_t k = n > sizeof(zeros) ? sizeof(zeros) : n;
		if (put(w, zeros, k, err) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* Octal into a ustar numeric field; false when it does not fit. */
static bool octal(char *field, size_t width, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, (unsigned long long)v);
	if (n < 0 || (size_t)n > width - 1)
		return false;
	memcpy(field, tmp, width - 1);
	field[width - 1] = 0;
	return true;
}

/* One pax record: "LEN key=value\n" where LEN counts the whole record. */
static void pax_record(struct sbuf *b, const char *key, const char *val, size_t vlen)
{
	size_t base = strlen(key) + vlen + 3; /* ' ' '=' '\n' */
	size_t len = base + 1;
	for (;;) {
		char digits[32];
		size_t d = (size_t)snprintf(digits, sizeof(digits), "%zu", len);
		if (base + d == len)
			break;
		len = base + d;
	}
	sbuf_addf(b, "%zu %s=", len, key);
	sbuf_add(b, val, vlen);
	sbuf_addc(b, '\n');
}

static void checksum(char *h)
{
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static int raw_header(struct tarw *w, const char *name, const char *linkname, char type, mode_t mode,
		      uint64_t uid, uint64_t gid, uint64_t size, time_t mtime, unsigned maj, unsigned min,
		      struct berr **err)
{
	char h[BLOCK];
	memset(h, 0, sizeof(h));
	snprintf(h, 100, "%s", name);
	octal(h + 100, 8, mode & 07777);
	octal(h + 108, 8, uid);
	octal(h + 116, 8, gid);
	octal(h + 124, 12, size);
	octal(h + 136, 12, (uint64_t)(mtime < 0 ? 0 : mtime));
	h[156] = type;
	if (linkname)
		memcpy(h + 157, linkname, strnlen(linkname, 100));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	octal(h + 329, 8, maj);
	octal(h + 337, 8, min);
	checksum(h);
	return put(w, h, sizeof(h), err);
}

int tarw_header(struct tarw *w, const struct tarw_entry *e, struct berr **err)
{
	if (w->pending)
		return berr_set(err, 0, "tar writer: previous entry is short by %llu bytes",
				(unsigned long long)w->pending);
	uint64_t size = e->type == '0' ? e->size : 0;
	struct sbuf pax = SBUF_INIT;
	char num[32], scratch[12];
	if (strlen(e->name) > 99)
		pax_record(&pax, "path", e->name, strlen(e->name));
	if (e->linkname && strlen(e->linkname) > 99)
		pax_record(&pax, "linkpath", e->linkname, strlen(e->linkname));
	if (!octal(scratch, 12, size)) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
		pax_record(&pax, "size", num, strlen(num));
	}
	if (!octal(scratch, 8, e->uid)) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)e->uid);
		pax_record(&pax, "uid", num, strlen(num));
	}
	if (!octal(scratch, 8, e->gid)) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)e->gid);
		pax_record(&pax, "gid", num, strlen(num));
	}
	if (e->mtime.tv_nsec) {
		snprintf(num, sizeof(num), "%lld.%09ld", (long long)e->mtime.tv_sec, e->mtime.tv_nsec);
		pax_record(&pax, "mtime", num, strlen(num));
	}
	for (size_t i = 0; i < e->nxattrs; i++) {
		char key[300];
		snprintf(key, sizeof(key), "SCHILY.xattr.%s", e->xattrs[i].name);
		pax_record(&pax, key, e->xattrs[i].value, e->xattrs[i].size);
	}
	int r = 0;
	if (pax.len) {
		char pname[100];
		const char *base = strrchr(e->name, '/');
		snprintf(pname, sizeof(pname), "PaxHeaders/%.80s", base ? base + 1 : e->name);
		r = raw_header(w, pname, NULL, 'x', 0644, 0, 0, pax.len, e->mtime.tv_sec, 0, 0, err);
		if (r == 0)
			r = put(w, pax.s, pax.len, err);
		if (r == 0 && pax.len % BLOCK)
			r = put_zeros(w, BLOCK - pax.len % BLOCK, err);
	}
	sbuf_release(&pax);
	if (r < 0)
		return -1;
	if (raw_header(w, e->name, e->linkname, e->type, e->mode, e->uid, e->gid, size, e->mtime.tv_sec,
		       e->devmajor, e->devminor, err) < 0)
		return -1;
	w->pending = size;
	w->entry_size = size;
	return 0;
}

int tarw_data(struct tarw *w, const void *data, size_t n, struct berr **err)
{
	if (n > w->pending)
		return berr_set(err, 0, "tar writer: %zu bytes more than the entry's size", n);
	if (put(w, data, n, err) < 0)
		return -1;
	w->pending -= n;
	if (w->pending == 0 && w->entry_size % BLOCK)
		return put_zeros(w, BLOCK - w->entry_size % BLOCK, err);
	return 0;
}

int tarw_finish(struct tarw *w, struct berr **err)
{
	if (w->pending)
		return berr_set(err, 0, "tar writer: last entry is short by %llu bytes",
				(unsigned long long)w->pending);
	if (put_zeros(w, 2 * BLOCK, err) < 0)
		return -1;
	return flush(w, err);
}
