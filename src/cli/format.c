/* A small subset of Go's text/template, enough for the --format strings
 * people pass to docker: literal text, {{.A.B}}, {{json .X}}, {{upper .X}},
 * {{lower .X}}, "table" prefix, and \t / \n escapes. */
#include "cli/cli.h"
#include "util/cleanup.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum seg_kind { SEG_TEXT, SEG_FIELD };
enum seg_func { FN_NONE, FN_JSON, FN_UPPER, FN_LOWER };

struct seg {
	enum seg_kind kind;
	enum seg_func fn;
	char *text; /* literal, or the dotted path without the leading '.' ("" = the row) */
};

struct tmpl {
	bool table;
	struct seg *segs;
	size_t n;
};

static void add_seg(struct tmpl *t, enum seg_kind k, enum seg_func fn, char *text)
{
	t->segs = realloc(t->segs, (t->n + 1) * sizeof(*t->segs));
	t->segs[t->n++] = (struct seg){k, fn, text};
}

static char *unescape(const char *s, size_t n)
{
	char *o = malloc(n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 't' || s[i + 1] == 'n')) {
			o[j++] = s[i + 1] == 't' ? '\t' : '\n';
			i++;
		} else {
			o[j++] = s[i];
		}
	}
	o[j] = 0;
	return o;
}

int tmpl_parse(const char *src, struct tmpl **ret, struct berr **err)
{
	struct tmpl *t = calloc(1, sizeof(*t));
	const char *p = src;
	if (!strncmp(p, "table", 5) && (p[5] == 0 || isspace((unsigned char)p[5]))) {
		t->table = true;
		p += 5;
		while (*p == ' ')
			p++;
	}
	while (*p) {
		const char *open = strstr(p, "{{");
		if (!open) {
			add_seg(t, SEG_TEXT, FN_NONE, unescape(p, strlen(p)));
			break;
		}
		if (open > p)
			add_seg(t, SEG_TEXT, FN_NONE, unescape(p, (size_t)(open - p)));
		const char *close = strstr(open + 2, "}}");
		if (!close) {
			tmpl_free(t);
			return berr_setc(err, BERR_INVALID, "template parsing error: unclosed action in \"%s\"", src);
		}
		_cleanup_free_ char *act = strndup(open + 2, (size_t)(close - open - 2));
		char *a = act;
		if (*a == '-')
			a++;
		size_t al = strlen(a);
		if (al && a[al - 1] == '-')
			a[--al] = 0;
		while (isspace((unsigned char)*a))
			a++;
		for (al = strlen(a); al && isspace((unsigned char)a[al - 1]); al--)
			a[al - 1] = 0;
		enum seg_func fn = FN_NONE;
		static const struct { const char *name; enum seg_func fn; } fns[] = {
			{"json ", FN_JSON}, {"upper ", FN_UPPER}, {"lower ", FN_LOWER}};
		for (size_t i = 0; i < ARRAY_SIZE(fns); i++) {
			size_t n = strlen(fns[i].name);
			if (!strncmp(a, fns[i].name, n)) {
				fn = fns[i].fn;
				a += n;
				while (isspace((unsigned char)*a))
					a++;
			}
		}
		bool ok = a[0] == '.';
		for (char *q = a + 1; ok && *q; q++)
			ok = isalnum((unsigned char)*q) || *q == '_' || *q == '.';
		if (!ok) {
			tmpl_free(t);
			return berr_setc(err, BERR_INVALID,
					 "template: unsupported action \"{{%s}}\" (berth supports {{.Field}}, {{json .Field}}, {{upper .Field}}, {{lower .Field}})",
					 act);
		}
		add_seg(t, SEG_FIELD, fn, strdup(a + 1));
		p = close + 2;
	}
	*ret = t;
	return 0;
}

void tmpl_free(struct tmpl *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->segs[i].text);
	free(t->segs);
	free(t);
}

bool tmpl_is_table(const struct tmpl *t) { return t->table; }

static void render_value(json_t *v, struct sbuf *out)
{
	size_t i;
	const char *k;
	json_t *x;
	switch (json_typeof(v)) {
	case JSON_STRING:
		sbuf_add(out, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		sbuf_addf(out, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		sbuf_addf(out, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		sbuf_adds(out, "true");
		break;
	case JSON_FALSE:
		sbuf_adds(out, "false");
		break;
	case JSON_NULL:
		sbuf_adds(out, "<no value>");
		break;
	case JSON_ARRAY:
		sbuf_addc(out, '[');
		json_array_foreach(v, i, x) {
			if (i)
				sbuf_addc(out, ' ');
			render_value(x, out);
		}
		sbuf_addc(out, ']');
		break;
	case JSON_OBJECT:
		sbuf_adds(out, "map[");
		i = 0;
		json_object_foreach(v, k, x) {
			if (i++)
				sbuf_addc(out, ' ');
			sbuf_addf(out, "%s:", k);
			render_value(x, out);
		}
		sbuf_addc(out, ']');
		break;
	}
}

int tmpl_render(const struct tmpl *t, json_t *obj, struct sbuf *out, struct berr **err)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct seg *s = &t->segs[i];
		if (s->kind == SEG_TEXT) {
			sbuf_adds(out, s->text);
			continue;
		}
		json_t *v = obj;
		_cleanup_free_ char *path = strdup(s->text);
		char *save = NULL;
		for (char *c = strtok_r(path, ".", &save); c; c = strtok_r(NULL, ".", &save)) {
			json_t *nv = json_is_object(v) ? json_object_get(v, c) : NULL;
			if (!nv) {
				if (json_is_object(v) && v != obj) {
					v = json_null(); /* a map without that key: Go prints <no value> */
					json_decref(v);
					break;
				}
				return berr_setc(err, BERR_INVALID,
						 "template: executing \"\" at <.%s>: can't evaluate field %s", s->text, c);
			}
			v = nv;
		}
		if (s->fn == FN_JSON) {
			char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			sbuf_adds(out, j ? j : "null");
			free(j);
		} else {
			size_t start = out->len;
			render_value(v, out);
			if (s->fn == FN_UPPER || s->fn == FN_LOWER)
				for (size_t k = start; k < out->len; k++)
					out->s[k] = (char)(s->fn == FN_UPPER ? toupper((unsigned char)out->s[k])
									     : tolower((unsigned char)out->s[k]));
		}
	}
	return 0;
}

void tmpl_header(const struct tmpl *t, json_t *headers, struct sbuf *out)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct seg *s = &t->segs[i];
		if (s->kind == SEG_TEXT) {
			sbuf_adds(out, s->text);
			continue;
		}
		const char *h = json_string_value(json_object_get(headers, s->text));
		if (h) {
			sbuf_adds(out, h);
		} else {
			for (const char *q = s->text; *q; q++)
				sbuf_addc(out, *q == '.' ? ' ' : (char)toupper((unsigned char)*q));
		}
	}
}

void table_add(struct table *t, const char *line)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->lines = realloc(t->lines, t->cap * sizeof(*t->lines));
	}
	t->lines[t->n++] = strdup(line);
}

void table_print(struct table *t, FILE *out)
{
	size_t widths[64] = {0};
	for (size_t r = 0; r < t->n; r++) {
		size_t col = 0, w = 0;
		for (const char *p = t->lines[r];; p++) {
			if (*p == '\t' || !*p) {
				if (*p == '\t' && col < 64 && w + 3 > widths[col])
					widths[col] = w + 3 < 10 ? 10 : w + 3;
				if (!*p)
					break;
				col++;
				w = 0;
			} else if (((unsigned char)*p & 0xc0) != 0x80) {
				w++;
			}
		}
	}
	for (size_t r = 0; r < t->n; r++) {
		size_t col = 0, w = 0;
		for (const char *p = t->lines[r]; *p; p++) {
			if (*p == '\t') {
				size_t target = col < 64 ? widths[col] : w + 3;
				for (; w < target; w++)
					fputc(' ', out);
				col++;
				w = 0;
			} else {
				fputc(*p, out);
				if (((unsigned char)*p & 0xc0) != 0x80)
					w++;
			}
		}
		fputc('\n', out);
	}
}

void table_release(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->lines[i]);
	free(t->lines);
	t->lines = NULL;
	t->n = t->cap = 0;
}
