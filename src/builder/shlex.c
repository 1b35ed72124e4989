/* The builder's shell-word processor: Docker's rules for quote removal,
 * escapes, $VAR / ${VAR...} expansion and word splitting of Dockerfile
 * instruction arguments. This is not a shell: no command substitution, no
 * globbing, no arithmetic; unset variables expand to nothing.
 *
 * The walk mirrors the shape of Docker's: a scanner that stops on a set of
 * characters (to end a ${...} word), with single quotes, double quotes and $
 * handled by their own functions. While it builds the joined result it also
 * collects words: text that came from a variable is split on whitespace,
 * text that came from quotes is not, and an escaped character is always
 * part of a word. */
#include "builder/shlex.h"
#include "builder/utf8.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SHLEX_MAX_DEPTH 64

struct words {
	struct sbuf word;
	char **v;
	size_t n, cap;
	bool inword;
};

struct lx {
	const char *s;
	size_t n, pos;
	char esc;
	bool raw_quotes, raw_escapes;
	bool collect; /* shlex_vars: record names, never fail on ${V?} */
	const char *const *env;
	char ***names;
	size_t *nnames;
	int depth;
	struct berr **err;
};

static void words_push(struct words *w)
{
	if (w->n + 2 > w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->v = realloc(w->v, w->cap * sizeof(*w->v));
		if (!w->v)
			abort();
	}
	w->v[w->n++] = sbuf_detach(&w->word);
	w->v[w->n] = NULL;
	w->inword = false;
}

static void words_raw(struct words *w, const char *s, size_t len)
{
	if (!w)
		return;
	sbuf_add(&w->word, s, len);
	w->inword = true;
}

/* A character outside quotes: whitespace ends the current word. */
static void words_char(struct words *w, const char *s, size_t len, int32_t cp)
{
	if (!w)
		return;
	if (utf8_is_space(cp)) {
		if (w->inword && w->word.len)
			words_push(w);
	} else {
		words_raw(w, s, len);
	}
}

static void words_string(struct words *w, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		int32_t cp;
		size_t k = utf8_decode(s + i, len - i, &cp);
		words_char(w, s + i, k, cp);
		i += k;
	}
}

static void words_release(struct words *w)
{
	sbuf_release(&w->word);
	shlex_words_free(w->v);
	w->v = NULL;
	w->n = w->cap = 0;
}

void shlex_words_free(char **words)
{
	if (!words)
		return;
	for (char **p = words; *p; p++)
		free(*p);
	free(words);
}

__attribute__((format(printf, 2, 3))) static int lx_fail(struct lx *l, const char *fmt, ...)
{
	char *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	berr_setc(l->err, BERR_INVALID, "%s", m ? m : "out of memory");
	free(m);
	return -1;
}

static const char *env_get(struct lx *l, const char *name, size_t nlen)
{
	if (l->names) {
		bool seen = false;
		for (size_t i = 0; i < *l->nnames; i++)
			if (strlen((*l->names)[i]) == nlen && !memcmp((*l->names)[i], name, nlen))
				seen = true;
		if (!seen) {
			char **v = realloc(*l->names, (*l->nnames + 2) * sizeof(char *));
			if (!v)
				abort();
			v[*l->nnames] = strndup(name, nlen);
			v[++*l->nnames] = NULL;
			*l->names = v;
		}
	}
	const char *found = NULL;
	for (const char *const *e = l->env; e && *e; e++)
		if (!strncmp(*e, name, nlen) && (*e)[nlen] == '=')
			found = *e + nlen + 1; /* later entries win */
	return found;
}

/* Go's unicode.IsLetter, approximated for code points above ASCII: letters
 * of every script count, the common punctuation/symbol blocks do not. */
static bool name_char(int32_t cp)
{
	if (cp < 0x80)
		return isalnum(cp) || cp == '_';
	if (cp < 0xc0 || cp == 0xd7 || cp == 0xf7 || utf8_is_space(cp))
		return false;
	if ((cp >= 0x2000 && cp <= 0x2bff) || (cp >= 0x3000 && cp <= 0x303f) || (cp >= 0xe000 && cp <= 0xf8ff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff20) || (cp >= 0x1f000 && cp <= 0x1faff))
		return false;
	return true;
}

static bool special_param(char c)
{
	return c && strchr("@*#?-$!0", c);
}

/* Reads a variable name at the cursor into [*start, *start + *len). */
static void lx_name(struct lx *l, const char **start, size_t *len)
{
	size_t b = l->pos;
	*start = l->s + b;
	if (l->pos < l->n && isdigit((unsigned char)l->s[l->pos])) {
		while (l->pos < l->n && isdigit((unsigned char)l->s[l->pos]))
			l->pos++;
	} else if (l->pos < l->n && special_param(l->s[l->pos])) {
		l->pos++;
	} else {
		while (l->pos < l->n) {
			int32_t cp;
			size_t k = utf8_decode(l->s + l->pos, l->n - l->pos, &cp);
			if (!name_char(cp))
				break;
			l->pos += k;
		}
	}
	*len = l->pos - b;
}

static int lx_stop_on(struct lx *l, const char *stops, bool raw_esc, struct sbuf *res, struct words *w,
		      char *ret_stop);

static int lx_single(struct lx *l, struct sbuf *out)
{
	l->pos++;
	if (l->raw_quotes)
		sbuf_addc(out, '\'');
	for (;;) {
		if (l->pos >= l->n)
			return lx_fail(l, "unexpected end of statement while looking for matching %s", "single-quote");
		char c = l->s[l->pos++];
		if (c == '\'') {
			if (l->raw_quotes)
				sbuf_addc(out, c);
			return 0;
		}
		sbuf_addc(out, c);
	}
}

static int lx_dollar(struct lx *l, struct sbuf *out);

static int lx_double(struct lx *l, struct sbuf *out)
{
	l->pos++;
	if (l->raw_quotes)
		sbuf_addc(out, '"');
	for (;;) {
		if (l->pos >= l->n)
			return lx_fail(l, "unexpected end of statement while looking for matching %s", "double-quote");
		char c = l->s[l->pos];
		if (c == '"') {
			l->pos++;
			if (l->raw_quotes)
				sbuf_addc(out, c);
			return 0;
		}
		if (c == '$') {
			if (lx_dollar(l, out) < 0)
				return -1;
			continue;
		}
		l->pos++;
		if (c == l->esc) {
			if (l->raw_escapes)
				sbuf_addc(out, c);
			if (l->pos >= l->n)
				continue; /* the loop reports the missing quote */
			char nc = l->s[l->pos];
			/* only these can be escaped inside double quotes; any
			 * other escape character stays as it is */
			if (nc == '"' || nc == '$' || nc == l->esc) {
				c = nc;
				l->pos++;
			}
		}
		sbuf_addc(out, c);
	}
}

/* Shell pattern (as in ${V#pat}) against s[0..n), whole string: '*' any
 * run, '?' any one character, '\' quotes * ? \. */
static bool pat_match(const char *p, size_t pn, const char *s, size_t sn)
{
	while (pn) {
		if (*p == '*') {
			while (pn && *p == '*')
				p++, pn--;
			if (!pn)
				return true;
			for (size_t i = 0; i <= sn; i++)
				if (pat_match(p, pn, s + i, sn - i))
					return true;
			return false;
		}
		if (!sn)
			return false;
		if (*p == '?') {
			int32_t cp;
			size_t k = utf8_decode(s, sn, &cp);
			p++, pn--;
			s += k, sn -= k;
			continue;
		}
		if (*p == '\\' && pn > 1)
			p++, pn--;
		if (*p != *s)
			return false;
		p++, pn--, s++, sn--;
	}
	return sn == 0;
}

static int pat_check(struct lx *l, struct sbuf *pat)
{
	/* Docker accepts only \* \? \\ and \} in these patterns; \} is a
	 * literal brace whose escape is not part of the pattern. */
	struct sbuf clean = SBUF_INIT;
	for (size_t i = 0; i < pat->len; i++) {
		char c = pat->s[i];
		if (c == '\\') {
			if (i + 1 < pat->len && pat->s[i + 1] == '}')
				continue;
			if (i + 1 >= pat->len || !strchr("*?\\", pat->s[i + 1])) {
				sbuf_release(&clean);
				char bad[3] = {'\\', i + 1 < pat->len ? pat->s[i + 1] : 0, 0};
				return lx_fail(l, "invalid escape '%s' in pattern", bad);
			}
			sbuf_addc(&clean, c);
			c = pat->s[++i];
		}
		sbuf_addc(&clean, c);
	}
	sbuf_release(pat);
	*pat = clean;
	return 0;
}

static int lx_dollar(struct lx *l, struct sbuf *out)
{
	const char *name;
	size_t nlen;
	l->pos++;
	if (l->pos >= l->n || l->s[l->pos] != '{') {
		lx_name(l, &name, &nlen);
		if (!nlen) {
			sbuf_addc(out, '$');
			return 0;
		}
		const char *v = env_get(l, name, nlen);
		if (v)
			sbuf_adds(out, v);
		return 0;
	}
	l->pos++;
	if (l->pos >= l->n)
		return lx_fail(l, "syntax error: missing '%s'", "}");
	char c = l->s[l->pos];
	if (c == '{' || c == '}' || c == ':')
		return lx_fail(l, "syntax error: %s", "bad substitution");
	lx_name(l, &name, &nlen);
	if (l->pos >= l->n)
		return lx_fail(l, "syntax error: missing '%s'", "}");
	char ch = l->s[l->pos++];
	if (ch == '}') {
		const char *v = env_get(l, name, nlen);
		if (v)
			sbuf_adds(out, v);
		return 0;
	}
	bool null_unset = false;
	char mod[3] = {ch, 0, 0};
	if (ch == ':') {
		if (l->pos >= l->n)
			return lx_fail(l, "syntax error: missing '%s'", "}");
		null_unset = true;
		ch = l->s[l->pos++];
		mod[1] = ch;
		if (!strchr("+-?", ch))
			return lx_fail(l, "unsupported modifier (%s) in substitution", mod);
	}
	if (ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%') {
		struct sbuf word = SBUF_INIT;
		if (lx_stop_on(l, "}", ch == '#' || ch == '%', &word, NULL, NULL) < 0) {
			sbuf_release(&word);
			if (l->pos >= l->n)
				return lx_fail(l, "syntax error: missing '%s'", "}");
			return -1;
		}
		const char *v = env_get(l, name, nlen);
		bool empty = !v || (null_unset && !*v);
		int rc = 0;
		switch (ch) {
		case '-':
			sbuf_adds(out, empty ? sbuf_str(&word) : v);
			break;
		case '+':
			if (!empty)
				sbuf_adds(out, sbuf_str(&word));
			break;
		case '?':
			if (l->collect) {
				break;
			} else if (!v) {
				rc = berr_setc(l->err, BERR_INVALID, "%.*s: %s", (int)nlen, name,
					       word.len ? word.s : "is not allowed to be unset");
			} else if (empty) {
				rc = berr_setc(l->err, BERR_INVALID, "%.*s: %s", (int)nlen, name,
					       word.len ? word.s : "is not allowed to be empty");
			} else {
				sbuf_adds(out, v);
			}
			break;
		default: { /* # ## % %%: remove the shortest/longest matching prefix/suffix */
			bool greedy = word.len && word.s[0] == ch;
			if (greedy) {
				memmove(word.s, word.s + 1, word.len);
				word.len--;
			}
			if (pat_check(l, &word) < 0) {
				rc = -1;
				break;
			}
			const char *val = v ? v : "";
			size_t vn = strlen(val), keep_from = 0, keep_to = vn;
			const char *p = sbuf_str(&word);
			if (ch == '#') {
				for (size_t k = 0; k <= vn; k++) {
					size_t i = greedy ? vn - k : k;
					if (pat_match(p, word.len, val, i)) {
						keep_from = i;
						break;
					}
				}
			} else {
				for (size_t k = 0; k <= vn; k++) {
					size_t j = greedy ? k : vn - k;
					if (pat_match(p, word.len, val + j, vn - j)) {
						keep_to = j;
						break;
					}
				}
			}
			sbuf_add(out, val + keep_from, keep_to - keep_from);
			break;
		}
		}
		sbuf_release(&word);
		return rc;
	}
	if (ch == '/') {
		bool all = l->pos < l->n && l->s[l->pos] == '/';
		if (all)
			l->pos++;
		struct sbuf pat = SBUF_INIT, repl = SBUF_INIT;
		char stop = 0;
		int rc = lx_stop_on(l, "/}", true, &pat, NULL, &stop);
		if (rc == 0 && stop == '/')
			rc = lx_stop_on(l, "}", true, &repl, NULL, NULL);
		if (rc < 0 && l->pos >= l->n)
			rc = lx_fail(l, "syntax error: missing '%s'", "}");
		if (rc == 0)
			rc = pat_check(l, &pat);
		if (rc == 0) {
			const char *val = env_get(l, name, nlen);
			val = val ? val : "";
			size_t vn = strlen(val), i = 0;
			bool done = false;
			while (i <= vn) {
				size_t end = SIZE_MAX;
				if (!done)
					for (size_t j = vn + 1; j-- > i;)
						if (pat_match(sbuf_str(&pat), pat.len, val + i, j - i)) {
							end = j;
							break;
						}
				if (end == SIZE_MAX) {
					if (i < vn)
						sbuf_addc(out, val[i]);
					i++;
					continue;
				}
				sbuf_adds(out, sbuf_str(&repl));
				if (!all)
					done = true;
				if (end == i) {
					if (i < vn)
						sbuf_addc(out, val[i]);
					i++;
				} else {
					i = end;
				}
			}
		}
		sbuf_release(&pat);
		sbuf_release(&repl);
		return rc;
	}
	return lx_fail(l, "unsupported modifier (%s) in substitution", mod);
}

/* Scan until one of `stops` (consumed, reported in *ret_stop) or, when
 * stops is NULL, the end of the text. */
static int lx_stop_on(struct lx *l, const char *stops, bool raw_esc, struct sbuf *res, struct words *w,
		      char *ret_stop)
{
	bool old_raw = l->raw_escapes;
	int rc = -1;
	if (raw_esc)
		l->raw_escapes = true;
	if (++l->depth > SHLEX_MAX_DEPTH) {
		lx_fail(l, "%s", "variable substitutions nested too deeply");
		goto out;
	}
	while (l->pos < l->n) {
		char ch = l->s[l->pos];
		if (stops && ch && strchr(stops, ch)) {
			l->pos++;
			if (ret_stop)
				*ret_stop = ch;
			rc = 0;
			goto out;
		}
		if (ch == '\'' || ch == '"' || ch == '$') {
			struct sbuf tmp = SBUF_INIT;
			int r = ch == '\'' ? lx_single(l, &tmp) : ch == '"' ? lx_double(l, &tmp) : lx_dollar(l, &tmp);
			if (r < 0) {
				sbuf_release(&tmp);
				goto out;
			}
			sbuf_add(res, sbuf_str(&tmp), tmp.len);
			if (ch == '$')
				words_string(w, sbuf_str(&tmp), tmp.len);
			else
				words_raw(w, sbuf_str(&tmp), tmp.len);
			sbuf_release(&tmp);
			continue;
		}
		int32_t cp;
		size_t k = utf8_decode(l->s + l->pos, l->n - l->pos, &cp);
		if (ch == l->esc) {
			if (l->raw_escapes) {
				words_raw(w, &ch, 1);
				sbuf_addc(res, ch);
			}
			l->pos++;
			if (l->pos >= l->n)
				break; /* an escape at the very end is dropped */
			k = utf8_decode(l->s + l->pos, l->n - l->pos, &cp);
			words_raw(w, l->s + l->pos, k);
		} else {
			words_char(w, l->s + l->pos, k, cp);
		}
		sbuf_add(res, l->s + l->pos, k);
		l->pos += k;
	}
	if (stops) {
		char s[2] = {stops[0], 0};
		lx_fail(l, "unexpected end of statement while looking for matching %s", s);
	} else {
		rc = 0;
	}
out:
	l->depth--;
	l->raw_escapes = old_raw;
	return rc;
}

static int lx_run(const char *text, size_t len, const struct shlex_opts *o, const char *const *env,
		  bool collect, char ***names, size_t *nnames, char **ret_word, char ***ret_words, size_t *ret_n,
		  struct berr **err)
{
	struct lx l = {
		.s = text, .n = len, .esc = o->escape ? o->escape : '\\', .raw_quotes = o->raw_quotes,
		.raw_escapes = o->raw_escapes, .collect = collect, .env = env, .names = names,
		.nnames = nnames, .err = err,
	};
	struct sbuf res = SBUF_INIT;
	struct words w = {0};
	if (lx_stop_on(&l, NULL, false, &res, ret_words ? &w : NULL, NULL) < 0) {
		sbuf_release(&res);
		words_release(&w);
		return berr_wrap(err, "failed to process \"%.*s\"", (int)(len > 200 ? 200 : len), text);
	}
	if (ret_words) {
		if (w.word.len)
			words_push(&w);
		if (!w.v) {
			w.v = calloc(1, sizeof(char *));
			if (!w.v)
				abort();
		}
		sbuf_release(&w.word);
		*ret_words = w.v;
		if (ret_n)
			*ret_n = w.n;
	}
	if (ret_word)
		*ret_word = sbuf_detach(&res);
	sbuf_release(&res);
	return 0;
}

int shlex_process(const char *text, size_t len, const struct shlex_opts *o, const char *const *env,
		  char **ret_word, char ***ret_words, size_t *ret_n, struct berr **err)
{
	return lx_run(text, len, o, env, false, NULL, NULL, ret_word, ret_words, ret_n, err);
}

int shlex_expand(const char *word, char escape, const char *const *env, char **out, struct berr **err)
{
	struct shlex_opts o = {.escape = escape};
	return lx_run(word, strlen(word), &o, env, false, NULL, NULL, out, NULL, NULL, err);
}

int shlex_expand_words(const char *text, char escape, const char *const *env, char ***out, size_t *n,
		       struct berr **err)
{
	struct shlex_opts o = {.escape = escape};
	return lx_run(text, strlen(text), &o, env, false, NULL, NULL, NULL, out, n, err);
}

int shlex_vars(const char *word, char escape, char ***out, size_t *n, struct berr **err)
{
	struct shlex_opts o = {.escape = escape};
	char **names = calloc(1, sizeof(char *));
	size_t nn = 0;
	if (!names)
		abort();
	if (lx_run(word, strlen(word), &o, NULL, true, &names, &nn, NULL, NULL, NULL, err) < 0) {
		shlex_words_free(names);
		return -1;
	}
	*out = names;
	if (n)
		*n = nn;
	return 0;
}
