#include "runtime/logs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

int logw_open(struct ctr_store *s, const char *id, int64_t max_size, int max_file, struct logw *w,
	      struct berr **err)
{
	memset(w, 0, sizeof(*w));
	w->dirfd = ctr_dirfd(s, id);
	if (w->dirfd < 0)
		return berr_set(err, errno, "container %.12s", id);
	snprintf(w->name, sizeof(w->name), "%s-json.log", id);
	w->fd = openat(w->dirfd, w->name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (w->fd < 0) {
		close(w->dirfd);
		return berr_set(err, errno, "opening the log");
	}
	struct stat st;
	if (fstat(w->fd, &st) == 0)
		w->size = st.st_size;
	w->max_size = max_size;
	w->max_file = max_file > 0 ? max_file : 1;
	return 0;
}

static void rotate(struct logw *w)
{
	/* name.1 is the newest old file, as in Docker */
	char from[128], to[128];
	for (int i = w->max_file - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", w->name);
		else
			snprintf(from, sizeof(from), "%s.%d", w->name, i - 1);
		snprintf(to, sizeof(to), "%s.%d", w->name, i);
		renameat(w->dirfd, from, w->dirfd, to);
	}
	if (w->max_file == 1)
		ftruncate(w->fd, 0);
	close(w->fd);
	w->fd = openat(w->dirfd, w->name, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
	w->size = 0;
}

static void json_escape(struct sbuf *b, const char *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': sbuf_adds(b, "\\\""); break;
		case '\\': sbuf_adds(b, "\\\\"); break;
		case '\n': sbuf_adds(b, "\\n"); break;
		case '\r': sbuf_adds(b, "\\r"); break;
		case '\t': sbuf_adds(b, "\\t"); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				char e[7] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15], 0};
				sbuf_adds(b, e);
			} else if (c >= 0x80) {
				/* keep valid UTF-8, replace invalid bytes with U+FFFD */
				size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
				bool ok = len && i + len <= n;
				for (size_t k = 1; ok && k < len; k++)
					ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
				if (ok) {
					sbuf_add(b, s + i, len);
					i += len - 1;
				} else {
					sbuf_adds(b, "\xef\xbf\xbd");
				}
			} else {
				sbuf_addc(b, (char)c);
			}
		}
	}
}

static void emit(struct logw *w, int stream, const char *line, size_t n, struct sbuf *out)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char ts[48];
	time_rfc3339(&now, ts, sizeof(ts));
	sbuf_adds(out, "{\"log\":\"");
	json_escape(out, line, n);
	/* Docker's order: log, stream, attrs, time */
	sbuf_addf(out, "\",\"stream\":\"%s\"%s,\"time\":\"%s\"}\n", stream ? "stderr" : "stdout",
		  w->attrs ? w->attrs : "", ts);
}

static void put(struct logw *w, struct sbuf *out)
{
	if (!out->len || w->fd < 0)
		return;
	if (w->max_size > 0 && w->size + (int64_t)out->len > w->max_size && w->size > 0)
		rotate(w);
	if (w->fd >= 0 && fs_write_full(w->fd, out->s, out->len) == 0)
		w->size += (int64_t)out->len;
	sbuf_reset(out);
}

void logw_write(struct logw *w, int stream, const char *data, size_t n)
{
	struct sbuf out = SBUF_INIT;
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) + 1 : n;
		if (w->partlen[stream] + take > LOG_LINE_MAX && !nl)
			take = LOG_LINE_MAX - w->partlen[stream] > 0 ? LOG_LINE_MAX - w->partlen[stream] : take;
		if (w->partlen[stream] == 0 && nl) {
			emit(w, stream, data, take, &out);
		} else {
			w->part[stream] = realloc(w->part[stream], w->partlen[stream] + take);
			memcpy(w->part[stream] + w->partlen[stream], data, take);
			w->partlen[stream] += take;
			if (nl || w->partlen[stream] >= LOG_LINE_MAX) {
				emit(w, stream, w->part[stream], w->partlen[stream], &out);
				w->partlen[stream] = 0;
			}
		}
		data += take;
		n -= take;
		/* rotation is checked per line: one read can bring many */
		if (w->max_size > 0)
			put(w, &out);
	}
	put(w, &out);
	sbuf_release(&out);
}

static void add_matching(json_t *attrs, const char *names, const char *regex, json_t *pairs, bool env)
{
	/* pairs: labels (object) or env (array of "K=V") */
	_cleanup_free_ char *copy = names ? strdup(names) : NULL;
	char *save = NULL;
	for (char *k = copy ? strtok_r(copy, ",", &save) : NULL; k; k = strtok_r(NULL, ",", &save)) {
		if (!env) {
			const char *v = json_string_value(json_object_get(pairs, k));
			if (v)
				json_object_set_new(attrs, k, json_string(v));
			continue;
		}
		size_t i, kl = strlen(k);
		json_t *e;
		json_array_foreach(pairs, i, e) {
			const char *s = json_string_value(e);
			if (s && !strncmp(s, k, kl) && s[kl] == '=')
				json_object_set_new(attrs, k, json_string(s + kl + 1));
		}
	}
	regex_t re;
	if (!regex || regcomp(&re, regex, REG_EXTENDED | REG_NOSUB) != 0)
		return;
	if (!env) {
		const char *k;
		json_t *v;
		json_object_foreach(pairs, k, v) if (!regexec(&re, k, 0, NULL, 0) && json_is_string(v))
			json_object_set_new(attrs, k, json_string(json_string_value(v)));
	} else {
		size_t i;
		json_t *e;
		json_array_foreach(pairs, i, e) {
			const char *s = json_string_value(e), *eq = s ? strchr(s, '=') : NULL;
			if (!eq)
				continue;
			_cleanup_free_ char *k = strndup(s, (size_t)(eq - s));
			if (!regexec(&re, k, 0, NULL, 0))
				json_object_set_new(attrs, k, json_string(eq + 1));
		}
	}
	regfree(&re);
}

/* The fields of Docker's logger.Info a --log-opt tag template may name,
 * in the order render_tag takes their values. */
static const char *const tag_fields[] = {"Name", "ID", "FullID", "ImageName", "ImageID", "ImageFullID", "DaemonName"};
#define TAG_NFIELDS (sizeof(tag_fields) / sizeof(tag_fields[0]))

/* The {{.Field}} at p (Go's spacing inside the braces allowed): its index
 * in tag_fields, the length of the action in *len; -1 when p holds
 * something else. */
static int tag_action(const char *p, size_t *len)
{
	if (strncmp(p, "{{", 2))
		return -1;
	const char *end = strstr(p + 2, "}}");
	if (!end)
		return -1;
	const char *a = p + 2, *b = end;
	while (a < b && *a == ' ')
		a++;
	while (b > a && b[-1] == ' ')
		b--;
	if (a >= b || *a != '.')
		return -1;
	a++;
	for (size_t i = 0; i < TAG_NFIELDS; i++) {
		if (strlen(tag_fields[i]) == (size_t)(b - a) && !strncmp(a, tag_fields[i], (size_t)(b - a))) {
			*len = (size_t)(end + 2 - p);
			return (int)i;
		}
	}
	return -1;
}

/* Fill in the known actions; anything else is copied as it is. */
static void render_tag(const char *tag, const char *const vals[TAG_NFIELDS], struct sbuf *out)
{
	for (const char *p = tag; *p;) {
		size_t len;
		int f = tag_action(p, &len);
		if (f >= 0) {
			sbuf_adds(out, vals[f]);
			p += len;
		} else {
			sbuf_addc(out, *p++);
		}
	}
}

int logs_config_check(json_t *log_config, struct berr **err)
{
	static const char *const res[] = {"labels-regex", "env-regex"};
	for (size_t i = 0; i < 2; i++) {
		const char *v = jsonx_str(log_config, res[i]);
		regex_t re;
		if (!v || !*v)
			continue;
		if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0)
			return berr_setc(err, BERR_INVALID, "--log-opt %s=%s: not a valid regular expression", res[i], v);
		regfree(&re);
	}
	/* Docker takes a whole Go template; berth fills in the fields alone,
	 * so anything else would be written out literally: refuse it */
	const char *tag = jsonx_str(log_config, "tag");
	for (const char *p = tag ? strstr(tag, "{{") : NULL; p; p = strstr(p, "{{")) {
		size_t len;
		if (tag_action(p, &len) < 0)
			return berr_setc(err, BERR_INVALID,
					 "--log-opt tag=%s: berth fills in {{.Name}}, {{.ID}}, {{.FullID}}, {{.ImageName}}, {{.ImageID}}, {{.ImageFullID}} and {{.DaemonName}}, nothing else",
					 tag);
		p += len;
	}
	return 0;
}

json_t *logs_attrs(json_t *cfg)
{
	json_t *lc = json_object_get(json_object_get(json_object_get(cfg, "HostConfig"), "LogConfig"), "Config");
	json_t *c = json_object_get(cfg, "Config");
	json_t *attrs = json_object();
	add_matching(attrs, jsonx_str(lc, "labels"), jsonx_str(lc, "labels-regex"), json_object_get(c, "Labels"), false);
	add_matching(attrs, jsonx_str(lc, "env"), jsonx_str(lc, "env-regex"), json_object_get(c, "Env"), true);
	const char *tag = jsonx_str(lc, "tag");
	if (tag && *tag) {
		const char *id = jsonx_str(cfg, "Id") ? jsonx_str(cfg, "Id") : "";
		const char *name = jsonx_str(cfg, "Name") ? jsonx_str(cfg, "Name") : "";
		const char *iid = jsonx_str(cfg, "ImageID") ? jsonx_str(cfg, "ImageID") : "";
		if (!strncmp(iid, "sha256:", 7))
			iid += 7;
		char sid[13], siid[13];
		snprintf(sid, sizeof(sid), "%.12s", id);
		snprintf(siid, sizeof(siid), "%.12s", iid);
		const char *vals[TAG_NFIELDS] = {*name == '/' ? name + 1 : name, sid, id,
						 jsonx_str(c, "Image") ? jsonx_str(c, "Image") : "", siid, iid, "berth"};
		struct sbuf t = SBUF_INIT;
		render_tag(tag, vals, &t);
		json_object_set_new(attrs, "tag", json_string(sbuf_str(&t)));
		sbuf_release(&t);
	}
	if (!json_object_size(attrs)) {
		json_decref(attrs);
		return NULL;
	}
	return attrs;
}

void logw_set_attrs(struct logw *w, json_t *attrs)
{
	free(w->attrs);
	w->attrs = NULL;
	if (!attrs || !json_object_size(attrs))
		return;
	_cleanup_free_ char *j = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
	if (j && asprintf(&w->attrs, ",\"attrs\":%s", j) < 0)
		w->attrs = NULL;
}

/* Go's url.QueryEscape */
static void query_escape(const char *s, struct sbuf *out)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
			sbuf_addc(out, (char)*p);
		else if (*p == ' ')
			sbuf_addc(out, '+');
		else
			sbuf_addf(out, "%%%02X", *p);
	}
}

void logs_details_prefix(json_t *attrs, struct sbuf *out)
{
	size_t n = json_object_size(attrs), k = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	const char *key;
	json_t *v;
	json_object_foreach(attrs, key, v) keys[k++] = key;
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < k; i++) {
		if (i)
			sbuf_addc(out, ',');
		query_escape(keys[i], out);
		sbuf_addc(out, '=');
		query_escape(json_string_value(json_object_get(attrs, keys[i])) ? json_string_value(json_object_get(attrs, keys[i])) : "", out);
	}
	sbuf_addc(out, ' ');
	free(keys);
}

void logw_flush(struct logw *w)
{
	struct sbuf out = SBUF_INIT;
	for (int s = 0; s < 2; s++) {
		if (w->partlen[s]) {
			emit(w, s, w->part[s], w->partlen[s], &out);
			w->partlen[s] = 0;
		}
	}
	put(w, &out);
	sbuf_release(&out);
}

void logw_close(struct logw *w)
{
	logw_flush(w);
	free(w->part[0]);
	free(w->part[1]);
	free(w->attrs);
	w->attrs = NULL;
	if (w->fd >= 0)
		close(w->fd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	w->fd = w->dirfd = -1;
}

/* ---- reading ---- */

static bool ts_set(const struct timespec *t) { return t->tv_sec || t->tv_nsec; }

static int ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	return a->tv_nsec < b->tv_nsec ? -1 : a->tv_nsec > b->tv_nsec;
}

/* Print one json-file line; returns 1 when past --until. */
static int print_line(const char *line, size_t n, const struct logs_opts *o)
{
	json_t *j = jsonx_parse(line, n, "log", NULL);
	if (!j)
		return 0;
	const char *log = jsonx_str(j, "log"), *stream = jsonx_str(j, "stream"), *time = jsonx_str(j, "time");
	struct timespec ts = {0};
	if (time)
		time_parse_rfc3339(time, &ts);
	int rc = 0;
	if (ts_set(&o->since) && ts_cmp(&ts, &o->since) < 0) {
		json_decref(j);
		return 0;
	}
	if (ts_set(&o->until) && ts_cmp(&ts, &o->until) > 0) {
		json_decref(j);
		return 1;
	}
	if (o->line) {
		rc = o->line(o->ud, stream && !strcmp(stream, "stderr"), &ts, log ? log : "",
			     log ? json_string_length(json_object_get(j, "log")) : 0) ? 1 : 0;
		json_decref(j);
		return rc;
	}
	int fd = stream && !strcmp(stream, "stderr") ? o->err : o->out;
	struct sbuf b = SBUF_INIT;
	if (o->timestamps && time) {
		/* Docker's RFC3339NanoFixed: always nine digits */
		struct tm tm;
		char base[32];
		gmtime_r(&ts.tv_sec, &tm);
		strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
		sbuf_addf(&b, "%s.%09ldZ ", base, ts.tv_nsec);
	}
	if (o->details)
		logs_details_prefix(json_object_get(j, "attrs"), &b);
	if (log)
		sbuf_add(&b, log, json_string_length(json_object_get(j, "log")));
	fs_write_full(fd, b.s ? b.s : "", b.len);
	sbuf_release(&b);
	json_decref(j);
	return rc;
}

static bool still_running(struct ctr_store *s, const char *id)
{
	json_t *st = ctr_state(s, id, NULL);
	const char *status = jsonx_str(st, "Status");
	bool r = status && (!strcmp(status, "running") || !strcmp(status, "restarting") || !strcmp(status, "paused"));
	json_decref(st);
	return r;
}

/* Print the complete lines of fd from its offset to EOF (a partial line
 * stays in pending). 1: past --until; -errno on a read error. */
static int feed(int fd, struct sbuf *pending, char *buf, size_t bufsz, const struct logs_opts *o)
{
	for (;;) {
		ssize_t n = read(fd, buf, bufsz);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		sbuf_add(pending, buf, (size_t)n);
		size_t start = 0;
		for (size_t i = 0; i < pending->len; i++) {
			if (pending->s[i] != '\n')
				continue;
			if (print_line(pending->s + start, i - start, o))
				return 1;
			start = i + 1;
		}
		memmove(pending->s, pending->s + start, pending->len - start);
		pending->len -= start;
	}
}

/* Lines (newlines) in fd. */
static long count_lines(int fd, char *buf, size_t bufsz)
{
	long lines = 0;
	off_t pos = 0;
	ssize_t n;
	while ((n = pread(fd, buf, bufsz, pos)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
		pos += n;
	}
	return lines;
}

/* Position fd after its first `skip` lines. */
static void skip_lines(int fd, long skip, char *buf, size_t bufsz)
{
	off_t pos = 0;
	ssize_t n;
	while (skip > 0 && (n = pread(fd, buf, bufsz, pos)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && --skip == 0) {
				pos += i + 1;
				break;
			}
		}
		if (skip > 0)
			pos += n;
	}
	lseek(fd, pos, SEEK_SET);
}

#define ROTATED_MAX 100

int logs_print(struct ctr_store *s, const char *id, const struct logs_opts *o, struct berr **err)
{
	_cleanup_close_ int dfd = ctr_dirfd(s, id);
	if (dfd < 0)
		return berr_set(err, errno, "container %.12s", id);
	char name[100];
	snprintf(name, sizeof(name), "%s-json.log", id);
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return berr_set(err, errno, "opening the log");
	/* the rotated files, as Docker's json-file reader: name.1 is the
	 * newest, they are printed oldest first, before the current one */
	int rot[ROTATED_MAX];
	int nrot = 0;
	for (int i = 1; i <= ROTATED_MAX; i++) {
		char rn[128];
		snprintf(rn, sizeof(rn), "%s.%d", name, i);
		int rfd = openat(dfd, rn, O_RDONLY | O_CLOEXEC);
		if (rfd < 0)
			break;
		rot[nrot++] = rfd;
	}
	struct sbuf pending = SBUF_INIT;
	char buf[65536];
	/* --tail: start after the N-th newline from the end (the final
	 * newline ends the last line and does not count) */
	if (o->tail >= 0) {
		long need = o->tail;
		if (fd >= 0) {
			off_t end = lseek(fd, 0, SEEK_END), pos = end, start = 0;
			long seen = 0;
			bool found = o->tail == 0;
			if (found)
				start = end;
			while (!found && pos > 0) {
				size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
				pos -= (off_t)chunk;
				if (pread(fd, buf, chunk, pos) != (ssize_t)chunk)
					break;
				for (size_t i = chunk; i-- > 0;) {
					off_t at = pos + (off_t)i;
					if (buf[i] == '\n' && at != end - 1 && ++seen == o->tail) {
						start = at + 1;
						found = true;
						break;
					}
				}
			}
			lseek(fd, found ? start : 0, SEEK_SET);
			need = found ? 0 : o->tail - (end > 0 ? seen + 1 : 0);
		}
		/* what the current file lacks comes from the newest rotated ones */
		int keep = 0;
		while (need > 0 && keep < nrot) {
			long lines = count_lines(rot[keep], buf, sizeof(buf));
			if (lines >= need)
				skip_lines(rot[keep], lines - need, buf, sizeof(buf));
			need -= lines;
			keep++;
		}
		for (int k = keep; k < nrot; k++)
			close(rot[k]);
		nrot = keep;
	}
	int r = 0;
	for (int k = nrot - 1; k >= 0; k--) {
		if (r == 0)
			r = feed(rot[k], &pending, buf, sizeof(buf), o);
		close(rot[k]);
	}
	int ino = -1;
	while (r == 0) {
		if (fd >= 0 && (r = feed(fd, &pending, buf, sizeof(buf), o)) != 0)
			break;
		if (!o->follow)
			break;
		if (!still_running(s, id)) {
			/* what the monitor wrote before it recorded the exit */
			if (fd >= 0)
				r = feed(fd, &pending, buf, sizeof(buf), o);
			break;
		}
		if (o->idle && o->idle(o->ud))
			break;
		/* wait for more: inotify on the log (rotation re-opens it) */
		if (ino < 0) {
			ino = inotify_init1(IN_CLOEXEC);
			char path[4200];
			snprintf(path, sizeof(path), "%s/containers/%s", s->root, id);
			inotify_add_watch(ino, path, IN_MODIFY | IN_CREATE | IN_MOVED_TO);
		}
		struct pollfd pfd = {.fd = ino, .events = POLLIN};
		if (poll(&pfd, 1, 500) > 0) {
			char ev[4096];
			ssize_t rr = read(ino, ev, sizeof(ev));
			(void)rr;
		}
		/* a rotated log: finish the old file, continue in the new one */
		struct stat a, b;
		if (fd < 0 || (fstat(fd, &a) == 0 && fstatat(dfd, name, &b, 0) == 0 && a.st_ino != b.st_ino)) {
			int nfd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
			if (nfd >= 0) {
				if (fd >= 0) {
					r = feed(fd, &pending, buf, sizeof(buf), o);
					close(fd);
				}
				fd = nfd;
			}
		}
	}
	if (ino >= 0)
		close(ino);
	sbuf_release(&pending);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return berr_set(err, -r, "reading the log");
	return 0;
}
