/* .dockerignore matching. Each pattern is compiled into a short token list
 * and run as a small NFA over the path's code points, so '*' and '**' cost
 * O(pattern x path) whatever the input (no backtracking blow-up). The same
 * NFA, stopped after a directory prefix "dir/", tells whether an exception
 * pattern could still match something below that directory. */
#include "builder/ignore.h"
#include "builder/utf8.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IGNORE_MAX_PATTERNS 100000
#define IGNORE_MAX_PATTERN_LEN 4096

enum tok_kind {
	T_LIT,       /* one code point */
	T_ANY,       /* '?': one code point, not '/' */
	T_STAR,      /* '*': any run without '/' */
	T_DSTAR_DIR, /* '**' (and its slash) before more pattern: any dirs, or none */
	T_DSTAR_ALL, /* '**' at the end: anything */
	T_CLASS,     /* '[...]' */
};

struct range {
	int32_t lo, hi;
};

struct tok {
	enum tok_kind kind;
	int32_t cp;
	bool neg;            /* T_CLASS */
	struct range *ranges; /* T_CLASS */
	size_t nranges;
};

struct pattern {
	char *text; /* cleaned, with "!" for exceptions */
	bool exception;
	const char *suffix; /* "**" + literal text: matched as a plain suffix (into text) */
	struct tok *t;
	size_t nt;
};

struct dockerignore {
	struct pattern *p;
	size_t n;
	bool exceptions;
};

/* Code point at s (advancing *i); a byte that is not valid UTF-8 becomes a
 * value above U+10FFFF so that it only ever matches itself. */
static int32_t next_cp(const char *s, size_t n, size_t *i)
{
	int32_t cp;
	size_t w = utf8_decode(s + *i, n - *i, &cp);
	if (cp < 0)
		cp = 0x110000 + (unsigned char)s[*i];
	*i += w;
	return cp;
}

char *dockerignore_clean_path(const char *path)
{
	size_t n = strlen(path);
	if (!n)
		return strdup(".");
	bool rooted = path[0] == '/';
	struct sbuf b = SBUF_INIT;
	size_t dotdot = 0; /* length of the leading "../.." part that cannot be removed */
	if (rooted)
		sbuf_addc(&b, '/'), dotdot = 1;
	size_t i = 0;
	while (i < n) {
		if (path[i] == '/') {
			i++;
		} else if (path[i] == '.' && (i + 1 == n || path[i + 1] == '/')) {
			i++;
		} else if (path[i] == '.' && path[i + 1] == '.' && (i + 2 == n || path[i + 2] == '/')) {
			i += 2;
			if (b.len > dotdot) {
				size_t k = b.len;
				while (k > dotdot && b.s[k - 1] != '/')
					k--;
				if (k > dotdot)
					k--; /* the separator before the removed element */
				b.len = k;
				b.s[k] = 0;
			} else if (!rooted) {
				if (b.len)
					sbuf_addc(&b, '/');
				sbuf_adds(&b, "..");
				dotdot = b.len;
			}
		} else {
			if ((rooted && b.len != 1) || (!rooted && b.len))
				sbuf_addc(&b, '/');
			while (i < n && path[i] != '/')
				sbuf_addc(&b, path[i++]);
		}
	}
	if (!b.len)
		sbuf_addc(&b, '.');
	return sbuf_detach(&b);
}

static void pattern_release(struct pattern *p)
{
	for (size_t i = 0; i < p->nt; i++)
		free(p->t[i].ranges);
	free(p->t);
	free(p->text);
}

void dockerignore_free(struct dockerignore *di)
{
	if (!di)
		return;
	for (size_t i = 0; i < di->n; i++)
		pattern_release(&di->p[i]);
	free(di->p);
	free(di);
}

static struct tok *add_tok(struct pattern *p, enum tok_kind k)
{
	struct tok *t = realloc(p->t, (p->nt + 1) * sizeof(*t));
	if (!t)
		abort();
	p->t = t;
	t = &p->t[p->nt++];
	memset(t, 0, sizeof(*t));
	t->kind = k;
	return t;
}

/* Compile a cleaned pattern (without '!'). Returns -1 for a malformed one
 * (what filepath.Match calls ErrBadPattern). */
static int compile(struct pattern *p, const char *s)
{
	size_t n = strlen(s), i = 0;
	while (i < n) {
		char c = s[i];
		if (c == '*') {
			i++;
			if (i < n && s[i] == '*') {
				i++;
				if (i < n && s[i] == '/')
					i++;
				add_tok(p, i == n ? T_DSTAR_ALL : T_DSTAR_DIR);
			} else {
				add_tok(p, T_STAR);
			}
		} else if (c == '?') {
			i++;
			add_tok(p, T_ANY);
		} else if (c == '\\') {
			i++;
			if (i == n)
				return -1;
			add_tok(p, T_LIT)->cp = next_cp(s, n, &i);
		} else if (c == '[') {
			i++;
			struct tok *t = add_tok(p, T_CLASS);
			if (i < n && s[i] == '^')
				t->neg = true, i++;
			for (bool first = true;; first = false) {
				if (i >= n)
					return -1;
				if (s[i] == ']' && !first) {
					i++;
					break;
				}
				int32_t lo, hi;
				if (s[i] == '-' || s[i] == ']')
					return -1;
				if (s[i] == '\\' && ++i >= n)
					return -1;
				lo = hi = next_cp(s, n, &i);
				if (i < n && s[i] == '-') {
					i++;
					if (i >= n || s[i] == ']' || s[i] == '-')
						return -1;
					if (s[i] == '\\' && ++i >= n)
						return -1;
					hi = next_cp(s, n, &i);
					if (hi < lo)
						return -1;
				}
				struct range *r = realloc(t->ranges, (t->nranges + 1) * sizeof(*r));
				if (!r)
					abort();
				t->ranges = r;
				r[t->nranges++] = (struct range){lo, hi};
			}
		} else {
			add_tok(p, T_LIT)->cp = next_cp(s, n, &i);
		}
	}
	return 0;
}

/* ---------- the NFA ---------- */

struct nfa {
	const struct pattern *p;
	bool *cur, *inner, *nxt, *ninner;
	bool stack[256];
};

static void nfa_closure(const struct pattern *p, bool *cur, bool *inner)
{
	for (size_t i = 0; i < p->nt; i++) {
		if (!cur[i])
			continue;
		switch (p->t[i].kind) {
		case T_STAR:
		case T_DSTAR_ALL:
			cur[i + 1] = true;
			break;
		case T_DSTAR_DIR:
			cur[i + 1] = true;
			inner[i] = true;
			break;
		default:
			break;
		}
	}
}

static bool class_has(const struct tok *t, int32_t c)
{
	bool in = false;
	for (size_t k = 0; k < t->nranges && !in; k++)
		in = c >= t->ranges[k].lo && c <= t->ranges[k].hi;
	return in != t->neg;
}

static void nfa_init(struct nfa *m, const struct pattern *p)
{
	size_t need = p->nt + 1;
	m->p = p;
	if (need * 4 <= sizeof(m->stack)) {
		m->cur = m->stack;
	} else {
		m->cur = calloc(need, 4);
		if (!m->cur)
			abort();
	}
	memset(m->cur, 0, need * 4);
	m->inner = m->cur + need;
	m->nxt = m->inner + need;
	m->ninner = m->nxt + need;
	m->cur[0] = true;
	nfa_closure(p, m->cur, m->inner);
}

static void nfa_release(struct nfa *m)
{
	if (m->cur != m->stack)
		free(m->cur);
}

/* Feed one code point; false when no state is left. */
static bool nfa_step(struct nfa *m, int32_t c)
{
	const struct pattern *p = m->p;
	size_t need = p->nt + 1;
	memset(m->nxt, 0, need * 2);
	bool alive = false;
	for (size_t i = 0; i < p->nt; i++) {
		if (m->inner[i]) {
			m->ninner[i] = true;
			if (c == '/')
				m->nxt[i + 1] = true;
		}
		if (!m->cur[i])
			continue;
		const struct tok *t = &p->t[i];
		switch (t->kind) {
		case T_LIT:
			if (t->cp == c)
				m->nxt[i + 1] = true;
			break;
		case T_ANY:
			if (c != '/')
				m->nxt[i + 1] = true;
			break;
		case T_STAR:
			if (c != '/')
				m->nxt[i] = true;
			break;
		case T_DSTAR_ALL:
			m->nxt[i] = true;
			break;
		case T_CLASS: /* a regexp class in Docker, so it may match '/' */
			if (class_has(t, c))
				m->nxt[i + 1] = true;
			break;
		case T_DSTAR_DIR:
			break;
		}
	}
	nfa_closure(p, m->nxt, m->ninner);
	memcpy(m->cur, m->nxt, need * 2); /* cur+inner <- nxt+ninner */
	for (size_t i = 0; i < need * 2 && !alive; i++)
		alive = m->cur[i];
	return alive;
}

static bool nfa_feed(struct nfa *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n;)
		if (!nfa_step(m, next_cp(s, n, &i)))
			return false;
	return true;
}

static bool pattern_match(const struct pattern *p, const char *s, size_t n)
{
	if (p->suffix) {
		size_t k = strlen(p->suffix);
		if (n >= k && !memcmp(s + n - k, p->suffix, k))
			return true;
		return p->suffix[0] == '/' && n == k - 1 && !memcmp(s, p->suffix + 1, n);
	}
	struct nfa m;
	nfa_init(&m, p);
	bool ok = nfa_feed(&m, s, n) && m.cur[p->nt];
	nfa_release(&m);
	return ok;
}

/* Could the pattern match PREFIX followed by more text? */
static bool pattern_may_continue(const struct pattern *p, const char *prefix, size_t n)
{
	struct nfa m;
	nfa_init(&m, p);
	bool alive = nfa_feed(&m, prefix, n);
	if (alive) {
		/* only the accepting state left means nothing longer can match */
		alive = false;
		for (size_t i = 0; i < p->nt; i++)
			alive = alive || m.cur[i] || m.inner[i];
	}
	nfa_release(&m);
	return alive;
}

/* The pattern matches the path itself or one of its parent directories. */
static bool pattern_match_or_parent(const struct pattern *p, const char *path, size_t n)
{
	if (pattern_match(p, path, n))
		return true;
	for (size_t i = 0; i < n; i++)
		if (path[i] == '/' && pattern_match(p, path, i))
			return true;
	return false;
}

/* ---------- building ---------- */

static size_t trim(const char **s, size_t n)
{
	size_t sp = utf8_space_prefix(*s, n);
	*s += sp;
	return utf8_trim_right_len(*s, n - sp);
}

/* Adds one pattern as written in a line (after the comment check). Returns
 * 0, 1 when the line holds no pattern, -1 with *why set. */
static int add_pattern(struct dockerignore *di, const char *s, size_t n, const char **why)
{
	n = trim(&s, n);
	if (!n)
		return 1;
	bool exc = s[0] == '!';
	if (exc) {
		s++, n--;
		n = trim(&s, n);
		if (!n) {
			*why = "illegal exclusion pattern";
			return -1;
		}
	}
	if (n > IGNORE_MAX_PATTERN_LEN) {
		*why = "pattern too long";
		return -1;
	}
	if (di->n >= IGNORE_MAX_PATTERNS) {
		*why = "too many patterns";
		return -1;
	}
	char *raw = strndup(s, n);
	if (!raw)
		abort();
	char *clean = dockerignore_clean_path(raw);
	free(raw);
	const char *body = clean;
	if (body[0] == '/' && body[1])
		body++;
	struct pattern p = {.exception = exc};
	if (compile(&p, body) < 0) {
		pattern_release(&p);
		free(clean);
		*why = "syntax error in pattern";
		return -1;
	}
	struct sbuf t = SBUF_INIT;
	if (exc)
		sbuf_addc(&t, '!');
	sbuf_adds(&t, body);
	free(clean);
	p.text = sbuf_detach(&t);
	/* Docker matches "**" followed by plain text as a suffix of the whole
	 * path, so "**.log" is every .log file at any depth. */
	const char *after = p.text + exc + 2;
	if (!strncmp(p.text + exc, "**", 2) && *after && !strpbrk(after, "*?[]\\"))
		p.suffix = after;
	struct pattern *v = realloc(di->p, (di->n + 1) * sizeof(*v));
	if (!v)
		abort();
	di->p = v;
	di->p[di->n++] = p;
	if (exc)
		di->exceptions = true;
	return 0;
}

int dockerignore_parse(const char *buf, size_t len, const char *name, struct dockerignore **out,
		       struct berr **err)
{
	struct dockerignore *di = calloc(1, sizeof(*di));
	if (!di)
		abort();
	if (!name)
		name = ".dockerignore";
	size_t i = 0;
	int line = 0;
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - buf) : len;
		const char *s = buf + i;
		size_t n = e - i;
		i = e + 1;
		line++;
		while (n && s[n - 1] == '\r')
			n--;
		if (n && s[0] == '#')
			continue;
		if (memchr(s, 0, n)) {
			dockerignore_free(di);
			return berr_setc(err, BERR_INVALID, "%s:%d: NUL byte in pattern", name, line);
		}
		const char *why = NULL;
		if (add_pattern(di, s, n, &why) < 0) {
			dockerignore_free(di);
			return berr_setc(err, BERR_INVALID, "%s:%d: %s: %.*s", name, line, why, (int)n, s);
		}
	}
	*out = di;
	return 0;
}

int dockerignore_new(const char *const *patterns, size_t n, struct dockerignore **out, struct berr **err)
{
	struct dockerignore *di = calloc(1, sizeof(*di));
	if (!di)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;
		if (add_pattern(di, patterns[i], strlen(patterns[i]), &why) < 0) {
			dockerignore_free(di);
			return berr_setc(err, BERR_INVALID, "%s: %s", why, patterns[i]);
		}
	}
	*out = di;
	return 0;
}

size_t dockerignore_count(const struct dockerignore *di)
{
	return di ? di->n : 0;
}

const char *dockerignore_pattern(const struct dockerignore *di, size_t i)
{
	return di && i < di->n ? di->p[i].text : NULL;
}

bool dockerignore_has_exceptions(const struct dockerignore *di)
{
	return di && di->exceptions;
}

/* Cleaned relative form of a path; NULL for the context root itself. */
static char *rel_clean(const char *path)
{
	char *c = dockerignore_clean_path(path);
	if (!c)
		abort();
	size_t skip = 0;
	while (c[skip] == '/')
		skip++;
	if (skip)
		memmove(c, c + skip, strlen(c + skip) + 1);
	if (!*c || !strcmp(c, ".")) {
		free(c);
		return NULL;
	}
	return c;
}

static bool excluded_clean(const struct dockerignore *di, const char *c)
{
	size_t n = strlen(c);
	bool matched = false;
	for (size_t k = 0; k < di->n; k++) {
		const struct pattern *p = &di->p[k];
		/* an inclusion cannot change an excluded path, nor an exception
		 * an included one */
		if (p->exception != matched)
			continue;
		if (pattern_match_or_parent(p, c, n))
			matched = !p->exception;
	}
	return matched;
}

bool dockerignore_excluded(const struct dockerignore *di, const char *path)
{
	if (!di || !di->n)
		return false;
	char *c = rel_clean(path);
	if (!c)
		return false;
	bool r = excluded_clean(di, c);
	free(c);
	return r;
}

bool dockerignore_can_skip_dir(const struct dockerignore *di, const char *dir)
{
	if (!di || !di->n)
		return false;
	char *c = rel_clean(dir);
	if (!c)
		return false;
	bool skip = excluded_clean(di, c);
	if (skip && di->exceptions) {
		size_t n = strlen(c);
		struct sbuf pre = SBUF_INIT;
		sbuf_add(&pre, c, n);
		sbuf_addc(&pre, '/');
		for (size_t k = 0; k < di->n && skip; k++) {
			const struct pattern *p = &di->p[k];
			if (!p->exception)
				continue;
			if (pattern_match_or_parent(p, c, n) || pattern_may_continue(p, pre.s, pre.len))
				skip = false;
		}
		sbuf_release(&pre);
	}
	free(c);
	return skip;
}
