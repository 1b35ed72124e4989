/* Variable interpolation in compose files: $V, ${V}, ${V:-d}, ${V-d},
 * ${V:?e}, ${V?e}, ${V:+r}, ${V+r}, with the default/replacement texts
 * themselves interpolated (nesting), and $$ for a literal dollar. An unset
 * variable without a default warns once and becomes the empty string. */
#include "compose/internal.h"
#include "util/cleanup.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_start(int c) { return c == '_' || isalpha(c); }
static bool name_char(int c) { return c == '_' || isalnum(c); }

static const char *lookup(struct cinterp *ci, const char *name)
{
	return ci->lookup ? ci->lookup(name, ci->ctx) : NULL;
}

static void warn_unset(struct cinterp *ci, const char *name)
{
	if (!ci->warned || !ci->warn || json_object_get(ci->warned, name))
		return;
	json_object_set_new(ci->warned, name, json_true());
	char *msg = NULL;
	if (asprintf(&msg, "The \"%s\" variable is not set. Defaulting to a blank string.", name) >= 0) {
		ci->warn(msg, ci->warn_ctx);
		free(msg);
	}
}

static int expand(struct cinterp *ci, const char *s, size_t n, struct sbuf *out, const char *whole, int depth,
		  struct berr **err);

/* The end of a ${...} body starting at s (just after "${"): the matching
 * '}' accounting for nested ${...}. */
static const char *brace_end(const char *s, const char *end)
{
	int depth = 1;
	for (const char *p = s; p < end; p++) {
		if (*p == '$' && p + 1 < end && p[1] == '$') {
			p++;
			continue;
		}
		if (*p == '$' && p + 1 < end && p[1] == '{') {
			depth++;
			p++;
		} else if (*p == '}') {
			if (--depth == 0)
				return p;
		}
	}
	return NULL;
}

static int invalid(struct berr **err, const char *whole)
{
	return berr_setc(err, BERR_INVALID,
			 "invalid interpolation format for \"%s\": you may need to escape any $ with another $", whole);
}

static int braced(struct cinterp *ci, const char *body, size_t n, struct sbuf *out, const char *whole, int depth,
		  struct berr **err)
{
	size_t i = 0;
	if (!n || !name_start((unsigned char)body[0]))
		return invalid(err, whole);
	while (i < n && name_char((unsigned char)body[i]))
		i++;
	_cleanup_free_ char *name = strndup(body, i);
	const char *val = lookup(ci, name);
	if (i == n) {
		if (!val) {
			warn_unset(ci, name);
			return 0;
		}
		sbuf_adds(out, val);
		return 0;
	}
	bool colon = body[i] == ':';
	size_t op = colon ? i + 1 : i;
	if (op >= n)
		return invalid(err, whole);
	char kind = body[op];
	const char *arg = body + op + 1;
	size_t argn = n - op - 1;
	bool unset = !val, empty = !val || !*val;
	bool missing = colon ? empty : unset;
	switch (kind) {
	case '-':
		if (missing)
			return expand(ci, arg, argn, out, whole, depth + 1, err);
		sbuf_adds(out, val);
		return 0;
	case '+':
		if (!missing)
			return expand(ci, arg, argn, out, whole, depth + 1, err);
		return 0;
	case '?':
		if (missing) {
			struct sbuf m = SBUF_INIT;
			if (expand(ci, arg, argn, &m, whole, depth + 1, err) < 0) {
				sbuf_release(&m);
				return -1;
			}
			berr_setc(err, BERR_INVALID, "required variable %s is missing a value%s%s", name,
				  m.len ? ": " : "", sbuf_str(&m));
			sbuf_release(&m);
			return -1;
		}
		sbuf_adds(out, val);
		return 0;
	default:
		return invalid(err, whole);
	}
}

static int expand(struct cinterp *ci, const char *s, size_t n, struct sbuf *out, const char *whole, int depth,
		  struct berr **err)
{
	/* the text comes from the compose file: bounded recursion */
	if (depth > CY_MAX_DEPTH)
		return berr_setc(err, BERR_INVALID, "invalid interpolation format for \"%.80s...\": nested deeper than %d levels",
				 whole, CY_MAX_DEPTH);
	const char *end = s + n;
	for (const char *p = s; p < end;) {
		if (*p != '$') {
			sbuf_addc(out, *p++);
			continue;
		}
		if (p + 1 >= end) {
			/* a '$' that starts no substitution stays as it is, as
			 * compose-go's pattern leaves it ("$(cmd)", "costs 5$") */
			sbuf_addc(out, '$');
			p++;
			continue;
		}
		if (p[1] == '$') {
			sbuf_addc(out, '$');
			p += 2;
			continue;
		}
		if (p[1] == '{') {
			const char *e = brace_end(p + 2, end);
			if (!e) {
				if (ci->lenient) {
					sbuf_addc(out, *p++);
					continue;
				}
				return invalid(err, whole);
			}
			if (braced(ci, p + 2, (size_t)(e - p - 2), out, whole, depth, err) < 0)
				return -1;
			p = e + 1;
			continue;
		}
		if (name_start((unsigned char)p[1])) {
			const char *q = p + 1;
			while (q < end && name_char((unsigned char)*q))
				q++;
			_cleanup_free_ char *name = strndup(p + 1, (size_t)(q - p - 1));
			const char *val = lookup(ci, name);
			if (val)
				sbuf_adds(out, val);
			else
				warn_unset(ci, name);
			p = q;
			continue;
		}
		sbuf_addc(out, *p++);
	}
	return 0;
}

int compose_interp_str(struct cinterp *ci, const char *in, char **ret, struct berr **err)
{
	struct sbuf out = SBUF_INIT;
	*ret = NULL;
	if (!strchr(in, '$')) {
		*ret = strdup(in);
		return 0;
	}
	if (expand(ci, in, strlen(in), &out, in, 0, err) < 0) {
		sbuf_release(&out);
		return -1;
	}
	*ret = sbuf_detach(&out);
	return 0;
}

static int walk(struct cinterp *ci, struct cmarks *m, json_t *v, struct sbuf *path, const char *file,
		struct berr **err)
{
	size_t keep = path->len;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x)
		{
			if (keep)
				sbuf_addc(path, '.');
			sbuf_adds(path, k);
			int r = walk(ci, m, x, path, file, err);
			path->len = keep;
			path->s[keep] = 0;
			if (r < 0)
				return -1;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			sbuf_addf(path, "[%zu]", i);
			int r = walk(ci, m, x, path, file, err);
			path->len = keep;
			path->s[keep] = 0;
			if (r < 0)
				return -1;
		}
	} else if (json_is_string(v) && strchr(json_string_value(v), '$')) {
		char *r = NULL;
		if (compose_interp_str(ci, json_string_value(v), &r, err) < 0) {
			_cleanup_free_ char *where = cmarks_where(m, v, file);
			return berr_wrap(err, "%s%s", where, sbuf_str(path));
		}
		/* in place: the node keeps its identity, so its mark stays */
		json_string_set(v, r);
		free(r);
	}
	return 0;
}

int compose_interp_doc(struct cinterp *ci, struct cmarks *m, json_t *doc, const char *file, struct berr **err)
{
	struct sbuf path = SBUF_INIT;
	sbuf_grow(&path, 64);
	path.s[0] = 0;
	int r = walk(ci, m, doc, &path, file, err);
	sbuf_release(&path);
	return r;
}
