/* Dockerfile parser: physical lines -> instructions -> arguments, following
 * Docker's rules (see shared/conformance/dockerfile-parser/FORMAT.md for the
 * observable behaviour this reproduces byte for byte):
 *
 *   1. Parser directives (# syntax=, # escape=, # check=) only at the very
 *      top; the first line that is not one ends them.
 *   2. Comment lines are dropped, also inside a continued instruction; blank
 *      lines inside a continuation are skipped with a warning.
 *   3. A line ending in the escape character (plus blanks) continues; the
 *      first line of an instruction is left-trimmed, continuation lines keep
 *      their indentation.
 *   4. The joined line is split into keyword, builder flags (--x=y words at
 *      the start) and the rest, which each instruction splits its own way
 *      (JSON array, one string, whitespace, words, key/value triples).
 *   5. RUN/COPY/ADD lines with <<WORD markers take the following physical
 *      lines as heredoc bodies.
 *
 * Nothing is expanded here: variables are the builder's business. */
#include "builder/dockerfile.h"
#include "builder/shlex.h"
#include "builder/utf8.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ONBUILD_MAX_DEPTH 16

struct line {
	const char *p;
	size_t len; /* without the '\n' */
};

struct ps {
	const char *name;
	struct line *lines;
	size_t nlines;
	char esc;
	bool dir_done;
	bool seen_escape, seen_syntax, seen_check;
	struct dockerfile *df;
	struct berr **err;
};

/* ---------- small string helpers ---------- */

static bool ws_sep(char c) /* Docker's [\t\v\f\r ] */
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static bool re_space(char c) /* RE2's \s */
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static size_t trim_newline(const char *p, size_t n)
{
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	return n;
}

static char *xstrndup(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

/* ---------- nodes ---------- */

static void node_release(struct df_node *n)
{
	if (!n)
		return;
	free(n->cmd);
	free(n->original);
	for (size_t i = 0; i < n->nflags; i++)
		free(n->flags[i]);
	free(n->flags);
	for (size_t i = 0; i < n->nargs; i++)
		free(n->args[i]);
	free(n->args);
	free(n->arg_lens);
	for (size_t i = 0; i < n->nheredocs; i++) {
		free(n->heredocs[i].name);
		free(n->heredocs[i].content);
	}
	free(n->heredocs);
	if (n->inner) {
		node_release(n->inner);
		free(n->inner);
	}
	memset(n, 0, sizeof(*n));
}

void dockerfile_free(struct dockerfile *df)
{
	if (!df)
		return;
	for (size_t i = 0; i < df->n; i++)
		node_release(&df->nodes[i]);
	free(df->nodes);
	free(df->syntax);
	free(df->source);
	for (size_t i = 0; i < df->nwarnings; i++)
		free(df->warnings[i]);
	free(df->warnings);
	free(df);
}

static void node_arg(struct df_node *n, const char *p, size_t len)
{
	n->args = xrealloc(n->args, (n->nargs + 2) * sizeof(char *));
	n->arg_lens = xrealloc(n->arg_lens, (n->nargs + 1) * sizeof(size_t));
	n->args[n->nargs] = xstrndup(p, len);
	n->arg_lens[n->nargs] = len;
	n->args[++n->nargs] = NULL;
}

static void node_flag(struct df_node *n, const char *p, size_t len)
{
	n->flags = xrealloc(n->flags, (n->nflags + 2) * sizeof(char *));
	n->flags[n->nflags] = xstrndup(p, len);
	n->flags[++n->nflags] = NULL;
}

/* ---------- argument splitters ---------- */

/* Leading builder flags ("--name=value" words). Returns the offset where
 * the rest of the text starts. */
static size_t split_flags(struct ps *ps, const char *s, size_t n, struct df_node *node)
{
	enum { SPACES, WORD, QUOTE } phase = SPACES;
	struct sbuf word = SBUF_INIT;
	bool blank_ok = false;
	char quote = 0;
	size_t pos = 0;
	for (; pos <= n; pos++) {
		char ch = pos < n ? s[pos] : 0;
		if (phase == SPACES) {
			if (pos == n)
				break;
			if (ws_sep(ch) || ch == '\n')
				continue;
			if (ch != '-' || pos + 1 == n || s[pos + 1] != '-')
				goto rest;
			phase = WORD;
		}
		if (pos == n) {
			if (!(word.len == 2 && !memcmp(word.s, "--", 2)) && (blank_ok || word.len))
				node_flag(node, sbuf_str(&word), word.len);
			break;
		}
		if (phase == WORD) {
			if (ws_sep(ch) || ch == '\n') {
				phase = SPACES;
				if (word.len == 2 && !memcmp(word.s, "--", 2))
					goto rest; /* "--" ends the flags and is dropped */
				if (blank_ok || word.len)
					node_flag(node, sbuf_str(&word), word.len);
				sbuf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = QUOTE;
				continue;
			}
			if (ch == ps->esc) {
				if (pos + 1 == n)
					continue;
				ch = s[++pos];
			}
			sbuf_addc(&word, ch);
			continue;
		}
		/* QUOTE */
		if (ch == quote) {
			phase = WORD;
			continue;
		}
		if (ch == ps->esc) {
			if (pos + 1 == n) {
				phase = WORD;
				continue;
			}
			ch = s[++pos];
		}
		sbuf_addc(&word, ch);
	}
	pos = n;
rest:
	sbuf_release(&word);
	return pos;
}

static void split_whitespace(struct df_node *node, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t b = i;
		while (i < n && !ws_sep(s[i]))
			i++;
		node_arg(node, s + b, i - b);
		while (i < n && ws_sep(s[i]))
			i++;
	}
}

/* Docker's "parseWords": split on whitespace outside quotes, keeping quotes
 * and escapes in the words. Words are appended to the sbuf array. */
struct wordlist {
	char **v;
	size_t n;
};

static void wl_add(struct wordlist *wl, struct sbuf *w)
{
	wl->v = xrealloc(wl->v, (wl->n + 1) * sizeof(char *));
	wl->v[wl->n++] = sbuf_detach(w);
}

static void wl_free(struct wordlist *wl)
{
	for (size_t i = 0; i < wl->n; i++)
		free(wl->v[i]);
	free(wl->v);
}

static void parse_words(struct ps *ps, const char *s, size_t n, struct wordlist *wl)
{
	enum { SPACES, WORD, QUOTE } phase = SPACES;
	struct sbuf word = SBUF_INIT;
	bool blank_ok = false;
	char quote = 0;
	size_t pos = 0, w = 1;
	for (; pos <= n; pos += w) {
		int32_t cp = 0;
		w = 1;
		if (pos < n)
			w = utf8_decode(s + pos, n - pos, &cp);
		if (phase == SPACES) {
			if (pos == n)
				break;
			if (utf8_is_space(cp))
				continue;
			phase = WORD;
		}
		if (pos == n) {
			if (blank_ok || word.len)
				wl_add(wl, &word);
			break;
		}
		if (phase == WORD) {
			if (utf8_is_space(cp)) {
				phase = SPACES;
				if (blank_ok || word.len)
					wl_add(wl, &word);
				sbuf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (cp == '\'' || cp == '"') {
				quote = (char)cp;
				blank_ok = true;
				phase = QUOTE;
			}
			if (cp == ps->esc) {
				if (pos + w == n)
					continue; /* an escape at the end of the line is dropped */
				sbuf_addc(&word, ps->esc);
				pos += w;
				w = utf8_decode(s + pos, n - pos, &cp);
			}
			sbuf_add(&word, s + pos, w);
			continue;
		}
		/* QUOTE */
		if (cp == quote)
			phase = WORD;
		if (cp == ps->esc && quote != '\'') {
			if (pos + w == n) {
				phase = WORD;
				continue;
			}
			sbuf_addc(&word, ps->esc);
			pos += w;
			w = utf8_decode(s + pos, n - pos, &cp);
		}
		sbuf_add(&word, s + pos, w);
	}
	sbuf_release(&word);
}

#define NOT_STRING_ARRAY "when using JSON array syntax, arrays must be comprised of strings only"

/* 1: parsed as JSON; 0: not JSON (fall back); -1: a JSON array with a
 * non-string element (an error, no fallback). */
static int parse_json(struct df_node *node, const char *s, size_t n, struct berr **err)
{
	size_t sp = utf8_space_prefix(s, n);
	s += sp, n -= sp;
	if (!n || s[0] != '[')
		return 0;
	json_error_t jerr;
	json_t *a = json_loadb(s, n, JSON_ALLOW_NUL, &jerr);
	if (!a)
		return 0;
	if (!json_is_array(a)) {
		json_decref(a);
		return 0;
	}
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			json_decref(a);
			for (size_t k = 0; k < node->nargs; k++)
				free(node->args[k]);
			node->nargs = 0;
			return berr_setc(err, BERR_INVALID, NOT_STRING_ARRAY);
		}
		node_arg(node, json_string_value(v), json_string_length(v));
	}
	json_decref(a);
	node->json = true;
	return 1;
}

static int parse_maybe_json(struct df_node *node, const char *s, size_t n, bool to_list, struct berr **err)
{
	if (!n && !to_list)
		return 0;
	int r = parse_json(node, s, n, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		if (to_list)
			split_whitespace(node, s, n);
		else
			node_arg(node, s, n);
	}
	return 0;
}

static int parse_name_val(struct ps *ps, struct df_node *node, const char *s, size_t n, const char *key,
			  struct berr **err)
{
	struct wordlist wl = {0};
	parse_words(ps, s, n, &wl);
	int rc = 0;
	if (!wl.n)
		goto out;
	if (!strchr(wl.v[0], '=')) {
		/* legacy "KEY name value": the value is the rest as written */
		size_t i = 0;
		while (i < n && !ws_sep(s[i]))
			i++;
		size_t j = i;
		while (j < n && ws_sep(s[j]))
			j++;
		if (i == n) {
			rc = berr_setc(err, BERR_INVALID, "%s must have two arguments", key);
			goto out;
		}
		node_arg(node, s, i);
		node_arg(node, s + j, n - j);
		node_arg(node, "", 0);
		goto out;
	}
	for (size_t k = 0; k < wl.n; k++) {
		char *eq = strchr(wl.v[k], '=');
		if (!eq) {
			rc = berr_setc(err, BERR_INVALID,
				       "Syntax error - can't find = in \"%s\". Must be of the form: name=value", wl.v[k]);
			goto out;
		}
		node_arg(node, wl.v[k], (size_t)(eq - wl.v[k]));
		node_arg(node, eq + 1, strlen(eq + 1));
		node_arg(node, "=", 1);
	}
out:
	wl_free(&wl);
	return rc;
}

static int node_from_line(struct ps *ps, const char *line, size_t len, struct df_node *node, int depth,
			  struct berr **err);

static int dispatch(struct ps *ps, struct df_node *node, const char *s, size_t n, int depth, struct berr **err)
{
	const char *c = node->cmd;
	if (!strcmp(c, "add") || !strcmp(c, "copy") || !strcmp(c, "volume"))
		return parse_maybe_json(node, s, n, true, err);
	if (!strcmp(c, "run") || !strcmp(c, "cmd") || !strcmp(c, "entrypoint") || !strcmp(c, "shell"))
		return parse_maybe_json(node, s, n, false, err);
	if (!strcmp(c, "from") || !strcmp(c, "expose")) {
		split_whitespace(node, s, n);
		return 0;
	}
	if (!strcmp(c, "maintainer") || !strcmp(c, "user") || !strcmp(c, "workdir") || !strcmp(c, "stopsignal")) {
		if (n)
			node_arg(node, s, n);
		return 0;
	}
	if (!strcmp(c, "arg")) {
		struct wordlist wl = {0};
		parse_words(ps, s, n, &wl);
		for (size_t i = 0; i < wl.n; i++)
			node_arg(node, wl.v[i], strlen(wl.v[i]));
		wl_free(&wl);
		return 0;
	}
	if (!strcmp(c, "env"))
		return parse_name_val(ps, node, s, n, "ENV", err);
	if (!strcmp(c, "label"))
		return parse_name_val(ps, node, s, n, "LABEL", err);
	if (!strcmp(c, "healthcheck")) {
		size_t sep = 0;
		while (sep < n && !isspace((unsigned char)s[sep]))
			sep++;
		if (!sep)
			return 0;
		size_t next = sep;
		while (next < n && isspace((unsigned char)s[next]))
			next++;
		node_arg(node, s, sep);
		return parse_maybe_json(node, s + next, n - next, false, err);
	}
	if (!strcmp(c, "onbuild")) {
		if (!n)
			return 0;
		if (depth >= ONBUILD_MAX_DEPTH)
			return berr_setc(err, BERR_INVALID, "ONBUILD nested too deeply");
		struct df_node *inner = calloc(1, sizeof(*inner));
		if (!inner)
			abort();
		node->inner = inner;
		inner->start_line = node->start_line;
		inner->end_line = node->end_line;
		return node_from_line(ps, s, n, inner, depth + 1, err);
	}
	/* Unknown keywords are the builder's to reject; the parse keeps them
	 * with one empty argument, as Docker's does. */
	node_arg(node, "", 0);
	return 0;
}

static int node_from_line(struct ps *ps, const char *line, size_t len, struct df_node *node, int depth,
			  struct berr **err)
{
	node->original = xstrndup(line, len);
	size_t b = utf8_space_prefix(line, len);
	size_t e = utf8_trim_right_len(line, len);
	const char *s = line + b;
	size_t n = e > b ? e - b : 0;
	size_t k = 0;
	while (k < n && !ws_sep(s[k]))
		k++;
	node->cmd = xstrndup(s, k);
	for (char *p = node->cmd; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	while (k < n && ws_sep(s[k]))
		k++;
	const char *rest = s + k;
	size_t rn = n - k;
	if (rn) {
		size_t off = split_flags(ps, rest, rn, node);
		rest += off;
		rn -= off;
		size_t sp = utf8_space_prefix(rest, rn);
		rest += sp;
		rn -= sp;
		rn = utf8_trim_right_len(rest, rn);
	}
	return dispatch(ps, node, rest, rn, depth, err);
}

/* ---------- directives ---------- */

/* `#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` on a line already stripped
 * of its newline (and, for a first line, of leading whitespace). */
static int directive(struct ps *ps, const char *s, size_t n, struct berr **err)
{
	if (ps->dir_done)
		return 0;
	size_t i = 0;
	if (!n || s[0] != '#')
		goto done;
	i = 1;
	while (i < n && re_space(s[i]))
		i++;
	size_t kb = i;
	if (i >= n || !isalpha((unsigned char)s[i]))
		goto done;
	while (i < n && isalnum((unsigned char)s[i]))
		i++;
	size_t ke = i;
	while (i < n && re_space(s[i]))
		i++;
	if (i >= n || s[i] != '=')
		goto done;
	i++;
	size_t after_eq = i;
	while (i < n && re_space(s[i]))
		i++;
	size_t ve = n;
	while (ve > i && re_space(s[ve - 1]))
		ve--;
	if (ve == i) {
		/* only blanks after '=': the lazy (.+?) still takes the last one */
		if (after_eq == n)
			goto done;
		i = n - 1;
		ve = n;
	}
	char key[16];
	size_t kl = ke - kb;
	if (kl >= sizeof(key))
		goto done;
	for (size_t k = 0; k < kl; k++)
		key[k] = (char)tolower((unsigned char)s[kb + k]);
	key[kl] = 0;
	bool *seen;
	if (!strcmp(key, "escape"))
		seen = &ps->seen_escape;
	else if (!strcmp(key, "syntax"))
		seen = &ps->seen_syntax;
	else if (!strcmp(key, "check"))
		seen = &ps->seen_check;
	else
		goto done;
	if (*seen)
		return berr_setc(err, BERR_INVALID, "only one %s parser directive can be used", key);
	*seen = true;
	if (!strcmp(key, "escape")) {
		if (ve - i != 1 || (s[i] != '\\' && s[i] != '`'))
			return berr_setc(err, BERR_INVALID, "invalid escape token '%.*s' does not match ` or \\",
					 (int)(ve - i), s + i);
		ps->esc = s[i];
		ps->df->escape = s[i];
	} else if (!strcmp(key, "syntax")) {
		ps->df->syntax = xstrndup(s + i, ve - i);
	}
	return 0;
done:
	ps->dir_done = true;
	return 0;
}

/* ---------- errors and warnings ---------- */

static void excerpt(struct sbuf *b, const char *buf, size_t len, int start, int end)
{
	if (end < start)
		end = start;
	if (end - start > 9)
		start = end - 9;
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		buf += 3, len -= 3;
	int l = 1;
	for (size_t i = 0; i < len && l <= end; l++) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - buf) : len;
		if (l >= start) {
			/* untrusted text going to a terminal: no control characters,
			 * and no endless lines */
			size_t n = trim_newline(buf + i, e - i), shown = n > 300 ? 300 : n;
			sbuf_addf(b, "\n %4d | ", l);
			for (size_t k = 0; k < shown; k++) {
				unsigned char c = (unsigned char)buf[i + k];
				sbuf_addc(b, (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c);
			}
			if (shown < n)
				sbuf_adds(b, "...");
		}
		i = e + 1;
	}
}

char *dockerfile_excerpt(const struct dockerfile *df, int start, int end)
{
	struct sbuf b = SBUF_INIT;
	if (df && df->source)
		excerpt(&b, df->source, df->source_len, start, end);
	return sbuf_detach(&b);
}

static int loc_error(struct ps *ps, int start, int end, struct berr **err)
{
	struct sbuf b = SBUF_INIT;
	sbuf_addf(&b, "%s:%d: %s", ps->name, start, (*err && (*err)->msg) ? (*err)->msg : "syntax error");
	if (ps->nlines)
		excerpt(&b, ps->lines[0].p, (size_t)(ps->lines[ps->nlines - 1].p + ps->lines[ps->nlines - 1].len -
						    ps->lines[0].p), start, end);
	int code = *err ? (*err)->code : BERR_INVALID;
	berr_setc(err, code, "%s", sbuf_str(&b));
	sbuf_release(&b);
	return -1;
}

static void warn(struct ps *ps, int line, const char *text, size_t len)
{
	struct dockerfile *df = ps->df;
	df->warnings = xrealloc(df->warnings, (df->nwarnings + 2) * sizeof(char *));
	struct sbuf b = SBUF_INIT;
	/* the whole instruction, cut short: a warning is not a dump */
	sbuf_addf(&b, "%s:%d: Empty continuation line found in: %.*s%s", ps->name, line, (int)(len > 200 ? 200 : len),
		  text, len > 200 ? "..." : "");
	df->warnings[df->nwarnings++] = sbuf_detach(&b);
	df->warnings[df->nwarnings] = NULL;
}

/* ---------- heredocs ---------- */

static bool is_heredoc_cmd(const struct df_node *n)
{
	return !n->json && (!strcmp(n->cmd, "run") || !strcmp(n->cmd, "copy") || !strcmp(n->cmd, "add"));
}

/* One word of the line: `^(\d*)<<(-?)([^<]*)$`. Returns 1 with *h filled,
 * 0 when it is no heredoc marker, -1 on error. */
static int heredoc_word(const char *w, struct df_heredoc *h, struct berr **err)
{
	const char *p = w;
	unsigned long long fd = 0;
	bool overflow = false;
	while (isdigit((unsigned char)*p)) {
		if (fd > (ULLONG_MAX - 9) / 10)
			overflow = true;
		fd = fd * 10 + (unsigned)(*p - '0');
		p++;
	}
	if (p[0] != '<' || p[1] != '<')
		return 0;
	p += 2;
	bool chomp = *p == '-';
	if (chomp)
		p++;
	if (strchr(p, '<'))
		return 0;
	if (fd && !overflow)
		return berr_setc(err, BERR_INVALID, "heredoc: redirecting file descriptor %llu is not supported", fd);
	if (!*p)
		return 0;
	struct shlex_opts o = {.escape = '\\'};
	char **words = NULL, **raw = NULL;
	size_t n = 0, nraw = 0;
	int rc = 0;
	if (shlex_process(p, strlen(p), &o, NULL, NULL, &words, &n, err) < 0) {
		rc = -1;
		goto out;
	}
	if (n != 1)
		goto out;
	o.raw_quotes = true;
	if (shlex_process(p, strlen(p), &o, NULL, NULL, &raw, &nraw, err) < 0) {
		rc = -1;
		goto out;
	}
	if (nraw != 1) {
		rc = berr_setc(err, BERR_INVALID, "internal lexing of heredoc produced inconsistent results: %s", p);
		goto out;
	}
	size_t q1 = 0, q2 = 0;
	for (const char *c = words[0]; *c; c++)
		q1 += *c == '\'' || *c == '"';
	for (const char *c = raw[0]; *c; c++)
		q2 += *c == '\'' || *c == '"';
	h->name = words[0];
	words[0] = NULL;
	free(words);
	words = NULL;
	h->expand = q1 == q2;
	h->chomp = chomp;
	rc = 1;
out:
	shlex_words_free(words);
	shlex_words_free(raw);
	return rc;
}

/* Finds the heredoc markers of a joined line and reads their bodies from
 * the lines after *next (advanced past each terminator). */
static int read_heredocs(struct ps *ps, const char *line, size_t len, struct df_node *target, size_t *next,
			 struct berr **err)
{
	if (!memmem(line, len, "<<", 2))
		return 0;
	struct shlex_opts o = {.escape = '\\', .raw_quotes = true, .raw_escapes = true};
	char **words = NULL;
	struct berr *ignored = NULL;
	if (shlex_process(line, len, &o, NULL, NULL, &words, NULL, &ignored) < 0) {
		berr_free(ignored); /* as Docker: a line the lexer rejects has no heredocs */
		return 0;
	}
	int rc = 0;
	for (char **w = words; *w; w++) {
		struct df_heredoc h = {0};
		int r = heredoc_word(*w, &h, err);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (!r)
			continue;
		struct sbuf body = SBUF_INIT;
		bool terminated = false;
		while (*next < ps->nlines) {
			const struct line *ln = &ps->lines[(*next)++];
			const char *t = ln->p;
			size_t tn = trim_newline(ln->p, ln->len);
			if (h.chomp)
				while (tn && *t == '\t')
					t++, tn--;
			if (tn == strlen(h.name) && !memcmp(t, h.name, tn)) {
				terminated = true;
				break;
			}
			if (h.chomp)
				sbuf_add(&body, t, ln->len - (size_t)(t - ln->p));
			else
				sbuf_add(&body, ln->p, ln->len);
			sbuf_addc(&body, '\n');
		}
		if (!terminated) {
			sbuf_release(&body);
			rc = berr_setc(err, BERR_INVALID, "unterminated heredoc: no line \"%s\" before the end of the file",
				       h.name);
			free(h.name);
			break;
		}
		h.content = sbuf_detach(&body);
		target->heredocs = xrealloc(target->heredocs, (target->nheredocs + 1) * sizeof(*target->heredocs));
		target->heredocs[target->nheredocs++] = h;
	}
	shlex_words_free(words);
	return rc;
}

/* ---------- the main loop ---------- */

/* If the line continues (ends with the escape character plus blanks, not
 * doubled), cut the escape off and return false. */
static bool trim_continuation(struct ps *ps, const char *s, size_t *n)
{
	size_t e = *n;
	while (e && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	if (!e || s[e - 1] != ps->esc)
		return true;
	if (e == 1) {
		*n = 0;
		return false;
	}
	if (s[e - 2] == ps->esc)
		return true;
	*n = e - 1;
	return false;
}

static bool is_comment(const char *p, size_t n)
{
	n = trim_newline(p, n);
	size_t sp = utf8_space_prefix(p, n);
	return sp < n && p[sp] == '#';
}

int dockerfile_parse(const char *buf, size_t len, const char *name, struct dockerfile **out, struct berr **err)
{
	struct ps ps = {.name = name ? name : "Dockerfile", .esc = '\\', .err = err};
	struct dockerfile *df = calloc(1, sizeof(*df));
	struct sbuf joined = SBUF_INIT;
	int rc = -1;
	if (!df)
		abort();
	df->escape = '\\';
	df->start_line = df->end_line = -1;
	ps.df = df;
	if (len > DOCKERFILE_MAX_SIZE) {
		berr_setc(err, BERR_INVALID, "%s: file is larger than %u MiB", ps.name, DOCKERFILE_MAX_SIZE >> 20);
		goto fail;
	}
	if (memchr(buf, 0, len)) {
		size_t off = (size_t)((const char *)memchr(buf, 0, len) - buf), line = 1;
		for (size_t i = 0; i < off; i++)
			line += buf[i] == '\n';
		berr_setc(err, BERR_INVALID, "%s:%zu: NUL byte in Dockerfile (is this a text file?)", ps.name, line);
		goto fail;
	}
	/* split into physical lines */
	size_t cap = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - buf) : len;
		if (ps.nlines == cap) {
			cap = cap ? cap * 2 : 64;
			ps.lines = xrealloc(ps.lines, cap * sizeof(*ps.lines));
		}
		ps.lines[ps.nlines++] = (struct line){buf + i, e - i};
		i = e + 1;
	}
	if (ps.nlines && ps.lines[0].len >= 3 && !memcmp(ps.lines[0].p, "\xef\xbb\xbf", 3)) {
		ps.lines[0].p += 3;
		ps.lines[0].len -= 3;
	}

	size_t i = 0;
	int cur = 0;
	while (i < ps.nlines) {
		const struct line *ln = &ps.lines[i++];
		size_t n = trim_newline(ln->p, ln->len);
		size_t sp = utf8_space_prefix(ln->p, n);
		const char *t = ln->p + sp;
		n -= sp;
		cur++;
		if (directive(&ps, t, n, err) < 0) {
			loc_error(&ps, cur, cur, err);
			goto fail;
		}
		if (n && t[0] == '#')
			n = 0;
		int start = cur;
		bool eol = trim_continuation(&ps, t, &n);
		if (eol && !n)
			continue;
		sbuf_reset(&joined);
		sbuf_add(&joined, t, n);
		bool empty_cont = false;
		while (!eol && i < ps.nlines) {
			const struct line *cl = &ps.lines[i++];
			size_t cn = trim_newline(cl->p, cl->len);
			cur++;
			if (directive(&ps, cl->p, cn, err) < 0) {
				loc_error(&ps, cur, cur, err);
				goto fail;
			}
			if (is_comment(cl->p, cl->len))
				continue;
			if (utf8_space_prefix(cl->p, cn) == cn) {
				empty_cont = true;
				continue;
			}
			eol = trim_continuation(&ps, cl->p, &cn);
			sbuf_add(&joined, cl->p, cn);
		}
		if (empty_cont)
			warn(&ps, start, sbuf_str(&joined), joined.len);

		df->nodes = xrealloc(df->nodes, (df->n + 1) * sizeof(*df->nodes));
		struct df_node *node = &df->nodes[df->n++];
		memset(node, 0, sizeof(*node));
		node->start_line = start;
		node->end_line = cur;
		if (node_from_line(&ps, sbuf_str(&joined), joined.len, node, 0, err) < 0) {
			loc_error(&ps, start, cur, err);
			goto fail;
		}
		struct df_node *target = (!strcmp(node->cmd, "onbuild") && node->inner) ? node->inner : node;
		if (is_heredoc_cmd(target)) {
			if (read_heredocs(&ps, sbuf_str(&joined), joined.len, target, &i, err) < 0) {
				loc_error(&ps, start, (int)i, err);
				goto fail;
			}
			cur = (int)i;
			node->end_line = cur;
			if (node->inner)
				node->inner->end_line = cur;
		}
		if (df->start_line < 0)
			df->start_line = start;
		df->end_line = cur;
	}
	if (!df->n) {
		berr_setc(err, BERR_INVALID, "%s: file with no instructions", ps.name);
		goto fail;
	}
	df->source = xstrndup(buf, len);
	df->source_len = len;
	*out = df;
	df = NULL;
	rc = 0;
fail:
	sbuf_release(&joined);
	free(ps.lines);
	dockerfile_free(df);
	return rc;
}

/* ---------- the dump ---------- */

/* Go's unicode.IsPrint for code points above ASCII, for the classes that
 * matter in practice: C1 controls, non-ASCII spaces, format characters,
 * private use and noncharacters are not printable. (Unassigned code points
 * are treated as printable.) */
static bool go_printable(int32_t c)
{
	if (c < 0xa0)
		return false;
	if (c == 0xa0 || c == 0xad || c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
	    (c >= 0x205f && c <= 0x2064) || (c >= 0x2066 && c <= 0x206f) || c == 0x3000 || c == 0xfeff ||
	    (c >= 0xfff9 && c <= 0xfffb) || (c >= 0x600 && c <= 0x605) || c == 0x61c || c == 0x6dd || c == 0x70f ||
	    c == 0x8e2 || c == 0x180e || c == 0x110bd || c == 0x110cd || (c >= 0x13430 && c <= 0x1343f) ||
	    (c >= 0x1bca0 && c <= 0x1bca3) || (c >= 0x1d173 && c <= 0x1d17a) || c == 0xe0001 ||
	    (c >= 0xe0020 && c <= 0xe007f))
		return false;
	if ((c >= 0xe000 && c <= 0xf8ff) || c >= 0xf0000)
		return false;
	if ((c & 0xfffe) == 0xfffe || (c >= 0xfdd0 && c <= 0xfdef))
		return false;
	return true;
}

/* strconv.Quote */
static void go_quote(struct sbuf *b, const char *s, size_t n)
{
	sbuf_addc(b, '"');
	for (size_t i = 0; i < n;) {
		int32_t cp;
		size_t w = utf8_decode(s + i, n - i, &cp);
		unsigned char c = (unsigned char)s[i];
		if (cp < 0) {
			sbuf_addf(b, "\\x%02x", c);
		} else if (cp == '"' || cp == '\\') {
			sbuf_addc(b, '\\');
			sbuf_addc(b, (char)cp);
		} else if (cp >= 0x20 && cp < 0x7f) {
			sbuf_addc(b, (char)cp);
		} else if (cp < 0x80 || (cp < 0xa0)) {
			switch (cp) {
			case '\a': sbuf_adds(b, "\\a"); break;
			case '\b': sbuf_adds(b, "\\b"); break;
			case '\f': sbuf_adds(b, "\\f"); break;
			case '\n': sbuf_adds(b, "\\n"); break;
			case '\r': sbuf_adds(b, "\\r"); break;
			case '\t': sbuf_adds(b, "\\t"); break;
			case '\v': sbuf_adds(b, "\\v"); break;
			default:
				if (cp < 0x80)
					sbuf_addf(b, "\\x%02x", (unsigned)cp);
				else
					sbuf_addf(b, "\\u%04x", (unsigned)cp);
			}
		} else if (go_printable(cp)) {
			sbuf_add(b, s + i, w);
		} else if (cp < 0x10000) {
			sbuf_addf(b, "\\u%04x", (unsigned)cp);
		} else {
			sbuf_addf(b, "\\U%08x", (unsigned)cp);
		}
		i += w;
	}
	sbuf_addc(b, '"');
}

static void dump_node(struct sbuf *b, const struct df_node *n)
{
	sbuf_adds(b, n->cmd);
	if (n->nflags) {
		sbuf_adds(b, " [");
		for (size_t i = 0; i < n->nflags; i++) {
			if (i)
				sbuf_addc(b, ' ');
			go_quote(b, n->flags[i], strlen(n->flags[i]));
		}
		sbuf_addc(b, ']');
	}
	if (n->inner) {
		sbuf_adds(b, " (");
		dump_node(b, n->inner);
		sbuf_addc(b, ')');
	}
	for (size_t i = 0; i < n->nargs; i++) {
		sbuf_addc(b, ' ');
		go_quote(b, n->args[i], n->arg_lens ? n->arg_lens[i] : strlen(n->args[i]));
	}
}

char *dockerfile_dump_node(const struct df_node *n)
{
	struct sbuf b = SBUF_INIT;
	dump_node(&b, n);
	return sbuf_detach(&b);
}

char *dockerfile_dump(const struct dockerfile *df)
{
	struct sbuf b = SBUF_INIT;
	for (size_t i = 0; i < df->n; i++) {
		sbuf_addc(&b, '(');
		dump_node(&b, &df->nodes[i]);
		sbuf_adds(&b, ")\n");
	}
	return sbuf_detach(&b);
}
