/* .env files as docker compose reads them: KEY=VALUE or KEY: VALUE lines,
 * optional `export `, comments, 'single' quotes (only \' is special),
 * "double" quotes (escapes, ${VAR} substitution, may span lines), unquoted
 * values (substitution, ` #` starts a comment, trailing blanks trimmed), a
 * bare KEY taking its value from the environment. Substitution looks at the
 * caller's environment first, then at the file's own earlier values. */
#include "compose/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct denv {
	cenv_lookup lookup;
	void *ctx;
	json_t *obj;
};

static const char *denv_lookup(const char *name, void *ctx)
{
	struct denv *d = ctx;
	const char *v = d->lookup ? d->lookup(name, d->ctx) : NULL;
	if (v)
		return v;
	return json_string_value(json_object_get(d->obj, name));
}

static int subst(struct denv *d, const char *s, size_t n, char **ret, struct berr **err)
{
	struct cinterp ci = {.lookup = denv_lookup, .ctx = d, .lenient = true};
	_cleanup_free_ char *tmp = strndup(s, n);
	return compose_interp_str(&ci, tmp, ret, err);
}

static bool is_blank(int c) { return c == ' ' || c == '\t' || c == '\r'; }

int compose_dotenv_parse(const char *buf, size_t len, const char *file, cenv_lookup lookup, void *ctx,
			 json_t *obj, struct berr **err)
{
	struct denv d = {lookup, ctx, obj};
	const char *p = buf, *end = buf + len;
	int line = 1;
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end) {
		/* one logical entry */
		while (p < end && (is_blank(*p) || *p == '\n')) {
			if (*p == '\n')
				line++;
			p++;
		}
		if (p >= end)
			break;
		if (*p == '#') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		int kline = line;
		if ((size_t)(end - p) > 7 && !strncmp(p, "export", 6) && is_blank(p[6])) {
			p += 6;
			while (p < end && is_blank(*p))
				p++;
		}
		const char *ks = p;
		while (p < end && *p != '=' && *p != ':' && *p != '\n' && *p != '#')
			p++;
		const char *ke = p;
		while (ke > ks && is_blank(ke[-1]))
			ke--;
		_cleanup_free_ char *key = strndup(ks, (size_t)(ke - ks));
		for (const char *q = key; *q; q++)
			if (is_blank(*q))
				return berr_setc(err, BERR_INVALID, "%s: line %d: key cannot contain a space", file,
						 kline);
		for (const unsigned char *q = (const unsigned char *)key; *q; q++)
			if (!(isalnum(*q) || *q == '_' || *q == '.' || *q == '-' || *q == '[' || *q == ']' ||
			      *q >= 0x80))
				return berr_setc(err, BERR_INVALID,
						 "%s: line %d: unexpected character \"%c\" in variable name \"%s\"",
						 file, kline, *q, key);
		if (p >= end || *p == '\n' || *p == '#') {
			/* bare KEY: inherited from the environment, or left out */
			while (p < end && *p != '\n')
				p++;
			if (!*key)
				continue;
			const char *v = lookup ? lookup(key, ctx) : NULL;
			if (v)
				json_object_set_new(obj, key, json_string(v));
			continue;
		}
		p++; /* '=' or ':' */
		while (p < end && is_blank(*p))
			p++;
		char *val = NULL;
		if (p < end && (*p == '\'' || *p == '"')) {
			char q = *p++;
			struct sbuf raw = SBUF_INIT;
			bool closed = false;
			while (p < end) {
				if (*p == '\\' && p + 1 < end && (p[1] == q || (q == '"' && p[1] == '\\'))) {
					if (q == '\'') {
						sbuf_addc(&raw, p[1]);
					} else {
						sbuf_add(&raw, p, 2); /* unescaped below */
					}
					p += 2;
					continue;
				}
				if (*p == q) {
					closed = true;
					p++;
					break;
				}
				if (*p == '\n')
					line++;
				sbuf_addc(&raw, *p++);
			}
			if (!closed) {
				sbuf_release(&raw);
				return berr_setc(err, BERR_INVALID, "%s: line %d: unterminated quoted value", file,
						 kline);
			}
			if (q == '\'') {
				val = sbuf_detach(&raw);
			} else {
				/* escapes first, then substitution */
				struct sbuf u = SBUF_INIT;
				const char *r = sbuf_str(&raw);
				for (; *r; r++) {
					if (*r == '\\' && r[1]) {
						r++;
						switch (*r) {
						case 'n': sbuf_addc(&u, '\n'); break;
						case 't': sbuf_addc(&u, '\t'); break;
						case 'r': sbuf_addc(&u, '\r'); break;
						case '"': sbuf_addc(&u, '"'); break;
						case '\\': sbuf_addc(&u, '\\'); break;
						case '$': sbuf_adds(&u, "$$"); break;
						default:
							sbuf_addc(&u, '\\');
							sbuf_addc(&u, *r);
						}
					} else {
						sbuf_addc(&u, *r);
					}
				}
				sbuf_release(&raw);
				int rc = subst(&d, sbuf_str(&u), u.len, &val, err);
				sbuf_release(&u);
				if (rc < 0)
					return berr_wrap(err, "%s: line %d", file, kline);
			}
			/* the rest of the line may only be a comment */
			while (p < end && *p != '\n')
				p++;
		} else {
			const char *vs = p;
			while (p < end && *p != '\n') {
				if (*p == '#' && p > vs && is_blank(p[-1]))
					break;
				p++;
			}
			const char *ve = p;
			while (ve > vs && is_blank(ve[-1]))
				ve--;
			while (p < end && *p != '\n')
				p++;
			if (subst(&d, vs, (size_t)(ve - vs), &val, err) < 0)
				return berr_wrap(err, "%s: line %d", file, kline);
		}
		if (!*key) {
			free(val);
			return berr_setc(err, BERR_INVALID, "%s: line %d: missing variable name", file, kline);
		}
		if (isdigit((unsigned char)key[0])) {
			free(val); /* not a variable name: compose leaves it out */
			continue;
		}
		json_object_set_new(obj, key, json_string(val));
		free(val);
	}
	return 0;
}

int compose_dotenv_load(const char *path, cenv_lookup lookup, void *ctx, json_t *obj, struct berr **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, path, 4u << 20, &buf, &len, err) < 0)
		return berr_wrap(err, "reading env file %s", path);
	return compose_dotenv_parse(buf, len, path, lookup, ctx, obj, err);
}
