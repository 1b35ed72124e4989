/* Build progress in BuildKit's plain shape:
 *   #3 [2/4] RUN make
 *   #3 0.412 compiling...
 *   #3 DONE 1.2s
 *   #4 [3/4] COPY . /src
 *   #4 CACHED
 * On a terminal the step lines are the same but RUN output is shown as a
 * live tail (the last lines, redrawn in place) instead of scrolling. The
 * last lines of RUN output are kept for the error message of a failed RUN. */
#include "builder/bint.h"
#include "util/strbuf.h"

#include <stdarg.h>
#include <string.h>

static double since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void bprog_init(struct bprog *p, FILE *f, enum build_progress mode)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->mode = mode;
	p->next = 1;
}

static bool on(struct bprog *p) { return p->f && p->mode != BUILD_PROGRESS_QUIET; }

/* One line ("#N " + text + "\n") in one write: parallel stages print from
 * several processes to the same (often unbuffered) stream. */
static void vput_line(struct bprog *p, const char *fmt, va_list ap)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "#%d ", p->cur);
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	fwrite(buf, 1, len, p->f);
	fflush(p->f);
}

static void put_line(struct bprog *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_line(struct bprog *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vput_line(p, fmt, ap);
	va_end(ap);
}

int bprog_start(struct bprog *p, const char *fmt, ...)
{
	p->cur = p->next++;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	p->ntail = p->tailpos = 0;
	p->npartial = 0;
	if (!on(p))
		return p->cur;
	va_list ap;
	va_start(ap, fmt);
	vput_line(p, fmt, ap);
	va_end(ap);
	return p->cur;
}

void bprog_line(struct bprog *p, const char *fmt, ...)
{
	if (!on(p))
		return;
	va_list ap;
	va_start(ap, fmt);
	vput_line(p, fmt, ap);
	va_end(ap);
}

void bprog_cached(struct bprog *p)
{
	if (!on(p))
		return;
	put_line(p, "CACHED\n");
}

static void tty_clear_tail(struct bprog *p)
{
	if (p->mode != BUILD_PROGRESS_TTY || !p->ntail)
		return;
	int shown = p->ntail < 6 ? p->ntail : 6;
	for (int i = 0; i < shown; i++)
		fputs("\033[1A\033[2K", p->f);
}

void bprog_done(struct bprog *p)
{
	if (!on(p))
		return;
	tty_clear_tail(p);
	put_line(p, "DONE %.1fs\n", since(&p->t0));
}

void bprog_error(struct bprog *p, const char *msg)
{
	if (!on(p))
		return;
	const char *nl = strchr(msg, '\n');
	put_line(p, "ERROR: %.*s", nl ? (int)(nl - msg) : (int)strlen(msg), msg);
}

static void keep_line(struct bprog *p, const char *s, size_t n)
{
	if (n >= sizeof(p->tail[0]))
		n = sizeof(p->tail[0]) - 1;
	memcpy(p->tail[p->tailpos], s, n);
	p->tail[p->tailpos][n] = 0;
	p->tailpos = (p->tailpos + 1) % 8;
	p->ntail++;
}

static void emit_line(struct bprog *p, const char *s, size_t n)
{
	keep_line(p, s, n);
	if (!on(p))
		return;
	if (p->mode == BUILD_PROGRESS_TTY) {
		/* redraw the last lines in place */
		int shown = p->ntail - 1 < 6 ? p->ntail - 1 : 6;
		for (int i = 0; i < shown; i++)
			fputs("\033[1A\033[2K", p->f);
		int k = p->ntail < 6 ? p->ntail : 6;
		for (int i = k; i > 0; i--) {
			int idx = ((p->tailpos - i) % 8 + 8) % 8;
			fprintf(p->f, "#%d   %.100s\n", p->cur, p->tail[idx]);
		}
	} else {
		put_line(p, "%.3f %.*s", since(&p->t0), (int)n, s);
	}
	fflush(p->f);
}

void bprog_output(struct bprog *p, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || p->npartial == sizeof(p->partial) - 1) {
			emit_line(p, p->partial, p->npartial);
			p->npartial = 0;
			if (buf[i] == '\n')
				continue;
		}
		if (buf[i] != '\r')
			p->partial[p->npartial++] = buf[i];
	}
}

void bprog_output_flush(struct bprog *p)
{
	if (p->npartial) {
		emit_line(p, p->partial, p->npartial);
		p->npartial = 0;
	}
}

char *bprog_tail(struct bprog *p)
{
	struct sbuf sb = SBUF_INIT;
	int k = p->ntail < 8 ? p->ntail : 8;
	for (int i = k; i > 0; i--) {
		int idx = ((p->tailpos - i) % 8 + 8) % 8;
		sbuf_addf(&sb, "  > %s\n", p->tail[idx]);
	}
	if (sb.len)
		sb.s[--sb.len] = 0;
	return sbuf_detach(&sb);
}
