/* YAML 1.2 into jansson values, built from libyaml's event stream.
 *
 * libyaml only tokenizes and parses; everything with meaning is here:
 * scalar typing by the YAML 1.2 core schema (so `yes`/`on` stay strings,
 * as with compose-go), anchors and aliases (expanded by copy, counted so an
 * alias bomb stops at CY_MAX_NODES), `<<` merge keys (one mapping or a list,
 * earlier ones winning, explicit keys winning over merged ones), duplicate
 * keys refused, and the compose tags !reset / !override recorded as mark
 * flags. Every node gets a mark (file, line) for error messages. */
#include "compose/internal.h"
#include "util/cleanup.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- marks ---- */

struct cmark {
	const json_t *node;
	int file, line;
	unsigned flags;
};

struct cmarks {
	struct cmark *tab;
	size_t cap, n;
	char **files;
	size_t nfiles;
};

struct cmarks *cmarks_new(void)
{
	struct cmarks *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cap = 1024;
	m->tab = calloc(m->cap, sizeof(*m->tab));
	if (!m->tab) {
		free(m);
		return NULL;
	}
	return m;
}

void cmarks_free(struct cmarks *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		if (m->tab[i].node)
			json_decref((json_t *)m->tab[i].node);
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i]);
	free(m->files);
	free(m->tab);
	free(m);
}

int cmarks_file(struct cmarks *m, const char *file)
{
	for (size_t i = 0; i < m->nfiles; i++)
		if (!strcmp(m->files[i], file))
			return (int)i;
	char **nf = realloc(m->files, (m->nfiles + 1) * sizeof(*nf));
	if (!nf)
		return 0;
	m->files = nf;
	m->files[m->nfiles] = strdup(file);
	return (int)m->nfiles++;
}

static size_t ptr_hash(const void *p)
{
	uintptr_t x = (uintptr_t)p;
	x ^= x >> 17;
	x *= 0xed5ad4bbu;
	x ^= x >> 11;
	return (size_t)x;
}

static struct cmark *cm_slot(const struct cmarks *m, const json_t *node)
{
	size_t i = ptr_hash(node) & (m->cap - 1);
	while (m->tab[i].node && m->tab[i].node != node)
		i = (i + 1) & (m->cap - 1);
	return &m->tab[i];
}

static void cm_grow(struct cmarks *m)
{
	struct cmark *old = m->tab;
	size_t oldcap = m->cap;
	struct cmark *nt = calloc(oldcap * 2, sizeof(*nt));
	if (!nt)
		return;
	m->tab = nt;
	m->cap = oldcap * 2;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].node)
			*cm_slot(m, old[i].node) = old[i];
	free(old);
}

void cmarks_set(struct cmarks *m, json_t *node, int file, int line, unsigned flags)
{
	if (!m || !node)
		return;
	if ((m->n + 1) * 2 > m->cap)
		cm_grow(m);
	struct cmark *s = cm_slot(m, node);
	if (!s->node) {
		s->node = json_incref(node);
		m->n++;
	}
	s->file = file;
	s->line = line;
	s->flags = flags;
}

bool cmarks_get(const struct cmarks *m, const json_t *node, const char **file, int *line, unsigned *flags)
{
	if (file)
		*file = NULL;
	if (line)
		*line = 0;
	if (flags)
		*flags = 0;
	if (!m || !node)
		return false;
	struct cmark *s = cm_slot(m, node);
	if (!s->node)
		return false;
	if (file)
		*file = (size_t)s->file < m->nfiles ? m->files[s->file] : NULL;
	if (line)
		*line = s->line;
	if (flags)
		*flags = s->flags;
	return true;
}

void cmarks_copy(struct cmarks *m, json_t *dst, const json_t *src)
{
	if (!m || !dst || !src || dst == src)
		return;
	struct cmark *s = cm_slot(m, src);
	if (!s->node)
		return;
	struct cmark c = *s;
	if (cm_slot(m, dst)->node)
		return;
	cmarks_set(m, dst, c.file, c.line, c.flags);
}

void cmarks_clear_flags(struct cmarks *m, const json_t *node)
{
	if (!m || !node)
		return;
	struct cmark *s = cm_slot(m, node);
	if (s->node)
		s->flags = 0;
}

char *cmarks_where(const struct cmarks *m, const json_t *node, const char *fallback_file)
{
	const char *file = NULL;
	int line = 0;
	char *s = NULL;
	cmarks_get(m, node, &file, &line, NULL);
	if (!file)
		file = fallback_file;
	if (file && line) {
		if (asprintf(&s, "%s:%d: ", file, line) < 0)
			s = NULL;
	} else if (file) {
		if (asprintf(&s, "%s: ", file) < 0)
			s = NULL;
	}
	return s ? s : strdup("");
}

json_t *cm_dup(struct cmarks *m, json_t *v)
{
	json_t *r = NULL;
	if (json_is_object(v)) {
		r = json_object();
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x) json_object_set_new(r, k, cm_dup(m, x));
	} else if (json_is_array(v)) {
		r = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) json_array_append_new(r, cm_dup(m, x));
	} else {
		/* scalars are immutable in our use: share, but give the copy its
		 * own identity so marks can differ */
		r = json_copy(v);
	}
	cmarks_copy(m, r, v);
	return r;
}

/* ---- parser ---- */

struct yp {
	yaml_parser_t p;
	yaml_event_t ev;
	bool have;
	const char *file;
	int fileno;
	struct cmarks *m;
	json_t *anchors; /* name -> node */
	size_t nodes;
	struct berr **err;
};

static int yp_next(struct yp *y)
{
	if (y->have)
		yaml_event_delete(&y->ev);
	y->have = false;
	if (!yaml_parser_parse(&y->p, &y->ev)) {
		const char *prob = y->p.problem ? y->p.problem : "syntax error";
		size_t line = y->p.problem_mark.line + 1;
		if (y->p.context)
			return berr_setc(y->err, BERR_INVALID, "%s:%zu: yaml: %s %s", y->file, line, prob,
					 y->p.context);
		return berr_setc(y->err, BERR_INVALID, "%s:%zu: yaml: %s", y->file, line, prob);
	}
	y->have = true;
	return 0;
}

static int line_of(const yaml_event_t *e) { return (int)e->start_mark.line + 1; }

static bool all_digits(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/* What a plain scalar means in the YAML 1.2 core schema (the rules of
 * compose-go's YAML reader): the kind and, for numbers, the value. Kept
 * apart from plain_scalar so that the emitter can ask whether a string
 * would read back as something else without allocating a value. */
enum plain_kind { PK_STRING, PK_NULL, PK_TRUE, PK_FALSE, PK_INT, PK_REAL };

static enum plain_kind plain_kind(const char *s, long long *ret_int, double *ret_real)
{
	if (!*s)
		return PK_NULL;
	/* the emitter asks for every string it writes: the words only when
	 * the first letter can start one */
	if (strchr("~nNtTfF", s[0])) {
		if (!strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
			return PK_NULL;
		if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
			return PK_TRUE;
		if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
			return PK_FALSE;
	}
	const char *d = s;
	if (*d == '-' || *d == '+')
		d++;
	if (all_digits(d, "0123456789") || (!strncmp(s, "0o", 2) && all_digits(s + 2, "01234567")) ||
	    (!strncmp(s, "0x", 2) && all_digits(s + 2, "0123456789abcdefABCDEF"))) {
		errno = 0;
		long long v;
		if (!strncmp(s, "0o", 2))
			v = strtoll(s + 2, NULL, 8);
		else if (!strncmp(s, "0x", 2))
			v = strtoll(s + 2, NULL, 16);
		else if (d[0] == '0' && d[1] && all_digits(d, "01234567"))
			v = strtoll(s, NULL, 8); /* 0440: octal, as compose-go's YAML reads it */
		else
			v = strtoll(s, NULL, 10);
		if (errno == 0) {
			*ret_int = v;
			return PK_INT;
		}
		return PK_STRING;
	}
	/* floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	{
		const char *q = d;
		size_t intd = 0, fracd = 0;
		while (*q >= '0' && *q <= '9')
			q++, intd++;
		if (*q == '.') {
			q++;
			while (*q >= '0' && *q <= '9')
				q++, fracd++;
		}
		bool okf = (intd || fracd) && (intd || d[0] == '.');
		if (okf && (*q == 'e' || *q == 'E')) {
			q++;
			if (*q == '-' || *q == '+')
				q++;
			size_t ed = 0;
			while (*q >= '0' && *q <= '9')
				q++, ed++;
			okf = ed > 0;
		}
		if (okf && !*q && strpbrk(s, ".eE")) {
			*ret_real = strtod(s, NULL);
			return PK_REAL;
		}
	}
	/* .inf and .nan stay text: JSON has neither */
	return PK_STRING;
}

static json_t *plain_scalar(const char *s)
{
	long long i = 0;
	double d = 0;
	switch (plain_kind(s, &i, &d)) {
	case PK_NULL: return json_null();
	case PK_TRUE: return json_true();
	case PK_FALSE: return json_false();
	case PK_INT: return json_integer(i);
	case PK_REAL: return json_real(d); /* NULL for an infinity, as before */
	case PK_STRING: break;
	}
	return json_string(s);
}

static int parse_node(struct yp *y, int depth, json_t **ret);

static int count_node(struct yp *y, size_t n)
{
	y->nodes += n;
	if (y->nodes > CY_MAX_NODES)
		return berr_setc(y->err, BERR_INVALID,
				 "%s:%d: yaml: document too large after expanding aliases (more than %u nodes)",
				 y->file, line_of(&y->ev), CY_MAX_NODES);
	return 0;
}

static size_t node_count(const json_t *v)
{
	size_t n = 1;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x) n += node_count(x);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) n += node_count(x);
	}
	return n;
}

static unsigned tag_flags(const yaml_char_t *tag)
{
	if (!tag)
		return 0;
	if (!strcmp((const char *)tag, "!reset"))
		return CM_RESET;
	if (!strcmp((const char *)tag, "!override"))
		return CM_OVERRIDE;
	return 0;
}

static void set_anchor(struct yp *y, const yaml_char_t *anchor, json_t *v)
{
	if (anchor)
		json_object_set(y->anchors, (const char *)anchor, v);
}

static int key_string(struct yp *y, json_t *k, char **ret)
{
	if (json_is_string(k))
		*ret = strdup(json_string_value(k));
	else if (json_is_integer(k)) {
		if (asprintf(ret, "%lld", (long long)json_integer_value(k)) < 0)
			*ret = NULL;
	} else if (json_is_real(k)) {
		if (asprintf(ret, "%g", json_real_value(k)) < 0)
			*ret = NULL;
	}
	else if (json_is_true(k))
		*ret = strdup("true");
	else if (json_is_false(k))
		*ret = strdup("false");
	else if (json_is_null(k))
		*ret = strdup("null");
	else
		return -1;
	return 0;
}

static int merge_into(struct yp *y, json_t *obj, json_t *src, json_t *explicit_keys, int line)
{
	if (!json_is_object(src))
		return berr_setc(y->err, BERR_INVALID, "%s:%d: yaml: map merge requires map or sequence of maps as the value",
				 y->file, line);
	const char *k;
	json_t *x;
	json_object_foreach(src, k, x)
	{
		if (json_object_get(explicit_keys, k) || json_object_get(obj, k))
			continue;
		json_t *c = cm_dup(y->m, x);
		if (count_node(y, node_count(c)) < 0) {
			json_decref(c);
			return -1;
		}
		json_object_set_new(obj, k, c);
	}
	return 0;
}

static int parse_mapping(struct yp *y, int depth, json_t **ret)
{
	int line = line_of(&y->ev);
	unsigned fl = tag_flags(y->ev.data.mapping_start.tag);
	_cleanup_free_ char *anchor = y->ev.data.mapping_start.anchor
					      ? strdup((const char *)y->ev.data.mapping_start.anchor)
					      : NULL;
	json_t *obj = json_object();
	json_t *explicit_keys = json_object();
	json_t *merges = json_array();
	cmarks_set(y->m, obj, y->fileno, line, fl);
	for (;;) {
		if (yp_next(y) < 0)
			goto fail;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			break;
		int kline = line_of(&y->ev);
		bool merge_key = y->ev.type == YAML_SCALAR_EVENT && y->ev.data.scalar.plain_implicit &&
				 !strcmp((const char *)y->ev.data.scalar.value, "<<");
		_cleanup_free_ char *ks = NULL;
		if (y->ev.type == YAML_SCALAR_EVENT) {
			/* keys keep their text: `80:` is the key "80", not 80 */
			ks = strndup((const char *)y->ev.data.scalar.value, y->ev.data.scalar.length);
			if (y->ev.data.scalar.anchor) {
				json_t *kv = json_string(ks);
				set_anchor(y, y->ev.data.scalar.anchor, kv);
				json_decref(kv);
			}
		} else {
			json_t *k = NULL;
			if (parse_node(y, depth + 1, &k) < 0)
				goto fail;
			if (json_is_object(k) || json_is_array(k)) {
				json_decref(k);
				berr_setc(y->err, BERR_INVALID, "%s:%d: yaml: mapping keys must be scalars", y->file,
					  kline);
				goto fail;
			}
			key_string(y, k, &ks);
			json_decref(k);
		}
		if (!ks) {
			berr_setc(y->err, BERR_INVALID, "%s:%d: yaml: invalid key", y->file, kline);
			goto fail;
		}
		if (yp_next(y) < 0)
			goto fail;
		json_t *v = NULL;
		if (parse_node(y, depth + 1, &v) < 0)
			goto fail;
		if (merge_key) {
			json_array_append_new(merges, v);
			continue;
		}
		if (json_object_get(explicit_keys, ks)) {
			json_decref(v);
			berr_setc(y->err, BERR_INVALID, "%s:%d: yaml: mapping key \"%s\" already defined", y->file,
				  kline, ks);
			goto fail;
		}
		json_object_set_new(explicit_keys, ks, json_true());
		json_object_set_new(obj, ks, v);
	}
	/* merge keys: later << entries and list elements lose to earlier ones */
	size_t i;
	json_t *mv;
	json_array_foreach(merges, i, mv)
	{
		if (json_is_array(mv)) {
			size_t j;
			json_t *e;
			json_array_foreach(mv, j, e) if (merge_into(y, obj, e, explicit_keys, line) < 0) goto fail;
		} else if (merge_into(y, obj, mv, explicit_keys, line) < 0) {
			goto fail;
		}
	}
	json_decref(explicit_keys);
	json_decref(merges);
	set_anchor(y, (const yaml_char_t *)anchor, obj);
	*ret = obj;
	return 0;
fail:
	json_decref(explicit_keys);
	json_decref(merges);
	json_decref(obj);
	return -1;
}

static int parse_node(struct yp *y, int depth, json_t **ret)
{
	if (depth > CY_MAX_DEPTH)
		return berr_setc(y->err, BERR_INVALID, "%s:%d: yaml: nesting deeper than %d levels", y->file,
				 line_of(&y->ev), CY_MAX_DEPTH);
	if (count_node(y, 1) < 0)
		return -1;
	int line = line_of(&y->ev);
	switch (y->ev.type) {
	case YAML_SCALAR_EVENT: {
		const char *s = (const char *)y->ev.data.scalar.value;
		const char *tag = (const char *)y->ev.data.scalar.tag;
		unsigned fl = tag_flags(y->ev.data.scalar.tag);
		json_t *v;
		if (tag && !strcmp(tag, YAML_STR_TAG))
			v = json_stringn(s, y->ev.data.scalar.length);
		else if (tag && (!strcmp(tag, YAML_INT_TAG) || !strcmp(tag, YAML_FLOAT_TAG) ||
				 !strcmp(tag, YAML_BOOL_TAG) || !strcmp(tag, YAML_NULL_TAG)))
			v = plain_scalar(s);
		else if (y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !fl)
			v = plain_scalar(s);
		else if (fl && y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			v = plain_scalar(s);
		else
			v = json_stringn(s, y->ev.data.scalar.length);
		if (!v) /* invalid UTF-8 */
			return berr_setc(y->err, BERR_INVALID, "%s:%d: yaml: invalid UTF-8 in a scalar", y->file,
					 line);
		if (fl & CM_RESET) {
			/* the value of a !reset node is never used, but it needs an
			 * identity of its own (null/true/false are singletons) */
			json_decref(v);
			v = json_string("");
		}
		/* null/true/false are jansson singletons: no marks on them */
		if (!json_is_null(v) && !json_is_boolean(v))
			cmarks_set(y->m, v, y->fileno, line, fl);
		set_anchor(y, y->ev.data.scalar.anchor, v);
		*ret = v;
		return 0;
	}
	case YAML_ALIAS_EVENT: {
		json_t *a = json_object_get(y->anchors, (const char *)y->ev.data.alias.anchor);
		if (!a)
			return berr_setc(y->err, BERR_INVALID, "%s:%d: yaml: unknown anchor '%s' referenced",
					 y->file, line, (const char *)y->ev.data.alias.anchor);
		if (count_node(y, node_count(a)) < 0)
			return -1;
		*ret = cm_dup(y->m, a);
		return 0;
	}
	case YAML_SEQUENCE_START_EVENT: {
		unsigned fl = tag_flags(y->ev.data.sequence_start.tag);
		_cleanup_free_ char *anchor = y->ev.data.sequence_start.anchor
						      ? strdup((const char *)y->ev.data.sequence_start.anchor)
						      : NULL;
		json_t *arr = json_array();
		cmarks_set(y->m, arr, y->fileno, line, fl);
		for (;;) {
			if (yp_next(y) < 0) {
				json_decref(arr);
				return -1;
			}
			if (y->ev.type == YAML_SEQUENCE_END_EVENT)
				break;
			json_t *v;
			if (parse_node(y, depth + 1, &v) < 0) {
				json_decref(arr);
				return -1;
			}
			json_array_append_new(arr, v);
		}
		set_anchor(y, (const yaml_char_t *)anchor, arr);
		*ret = arr;
		return 0;
	}
	case YAML_MAPPING_START_EVENT:
		return parse_mapping(y, depth, ret);
	default:
		return berr_setc(y->err, BERR_INVALID, "%s:%d: yaml: unexpected event", y->file, line);
	}
}

int compose_yaml_parse_docs(const char *buf, size_t len, const char *file, struct cmarks *m, json_t **ret_docs,
			    struct berr **err)
{
	*ret_docs = NULL;
	if (len > CY_MAX_BYTES)
		return berr_setc(err, BERR_INVALID, "%s: file too large (%zu bytes, at most %u)", file, len,
				 CY_MAX_BYTES);
	struct yp y = {.file = file, .m = m, .err = err};
	y.fileno = cmarks_file(m, file);
	y.anchors = json_object();
	if (!yaml_parser_initialize(&y.p)) {
		json_decref(y.anchors);
		return berr_set(err, ENOMEM, "yaml parser");
	}
	yaml_parser_set_input_string(&y.p, (const unsigned char *)buf, len);
	json_t *docs = json_array();
	int rc = -1;
	if (yp_next(&y) < 0) /* stream start */
		goto out;
	for (;;) {
		if (yp_next(&y) < 0)
			goto out;
		if (y.ev.type == YAML_STREAM_END_EVENT)
			break;
		if (y.ev.type != YAML_DOCUMENT_START_EVENT)
			continue;
		if (yp_next(&y) < 0)
			goto out;
		if (y.ev.type == YAML_DOCUMENT_END_EVENT)
			continue; /* libyaml gives an empty document a null scalar: not seen in practice */
		json_t *v;
		if (parse_node(&y, 0, &v) < 0)
			goto out;
		json_array_append_new(docs, v);
		json_object_clear(y.anchors);
		if (yp_next(&y) < 0) /* document end */
			goto out;
	}
	rc = 0;
	*ret_docs = json_incref(docs);
out:
	if (y.have)
		yaml_event_delete(&y.ev);
	yaml_parser_delete(&y.p);
	json_decref(y.anchors);
	json_decref(docs);
	return rc;
}

int compose_yaml_parse(const char *buf, size_t len, const char *file, struct cmarks *m, json_t **ret,
		       struct berr **err)
{
	*ret = NULL;
	json_t *docs = NULL;
	if (compose_yaml_parse_docs(buf, len, file, m, &docs, err) < 0)
		return -1;
	if (json_array_size(docs) == 1)
		*ret = json_incref(json_array_get(docs, 0));
	else if (json_array_size(docs) > 1)
		*ret = json_incref(docs);
	json_decref(docs);
	return 0;
}

/* ---- emitter (block style, like docker compose config) ---- */

static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	long long iv;
	double dv;
	if (plain_kind(s, &iv, &dv) != PK_STRING)
		return true; /* it would read back as a null, a bool or a number */
	if (strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]))
		return true;
	/* one pass: ": ", " #", a control character (newline and tab too) */
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
		if (*p < 0x20)
			return true;
		if ((p[0] == ':' && p[1] == ' ') || (p[0] == ' ' && p[1] == '#'))
			return true;
	}
	if (s[n - 1] == ' ' || s[n - 1] == ':')
		return true;
	/* YAML 1.1 booleans, which other readers still take for booleans */
	static const char *const words[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
					    "on", "On", "ON", "off", "Off", "OFF"};
	if (n <= 3 && strchr("yYnNoO", s[0]))
		for (size_t i = 0; i < ARRAY_SIZE(words); i++)
			if (!strcmp(s, words[i]))
				return true;
	return false;
}

static void emit_string(const char *s, struct sbuf *out)
{
	if (!needs_quotes(s)) {
		sbuf_adds(out, s);
		return;
	}
	sbuf_addc(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': sbuf_adds(out, "\\\""); break;
		case '\\': sbuf_adds(out, "\\\\"); break;
		case '\n': sbuf_adds(out, "\\n"); break;
		case '\t': sbuf_adds(out, "\\t"); break;
		case '\r': sbuf_adds(out, "\\r"); break;
		default:
			if (*p < 0x20)
				sbuf_addf(out, "\\x%02x", *p);
			else
				sbuf_addc(out, (char)*p);
		}
	}
	sbuf_addc(out, '"');
}

static void emit_scalar(const json_t *v, struct sbuf *out)
{
	if (json_is_string(v))
		emit_string(json_string_value(v), out);
	else if (json_is_integer(v))
		sbuf_addf(out, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d == floor(d) && fabs(d) < 1e15)
			sbuf_addf(out, "%.0f", d);
		else
			sbuf_addf(out, "%.17g", d);
	} else if (json_is_true(v))
		sbuf_adds(out, "true");
	else if (json_is_false(v))
		sbuf_adds(out, "false");
	else
		sbuf_adds(out, "null");
}

static void indent(struct sbuf *out, int n)
{
	for (int i = 0; i < n; i++)
		sbuf_addc(out, ' ');
}

static bool is_empty_coll(const json_t *v)
{
	return (json_is_object(v) && json_object_size(v) == 0) || (json_is_array(v) && json_array_size(v) == 0);
}

static void emit_node(const json_t *v, int ind, struct sbuf *out);

static void emit_value_after_key(const json_t *v, int ind, struct sbuf *out)
{
	if (is_empty_coll(v)) {
		sbuf_adds(out, json_is_object(v) ? " {}\n" : " []\n");
	} else if (json_is_object(v)) {
		sbuf_addc(out, '\n');
		emit_node(v, ind + 2, out);
	} else if (json_is_array(v)) {
		sbuf_addc(out, '\n');
		emit_node(v, ind + 2, out);
	} else {
		sbuf_addc(out, ' ');
		emit_scalar(v, out);
		sbuf_addc(out, '\n');
	}
}

static void emit_node(const json_t *v, int ind, struct sbuf *out)
{
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			indent(out, ind);
			emit_string(k, out);
			sbuf_addc(out, ':');
			emit_value_after_key(x, ind, out);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			indent(out, ind);
			sbuf_adds(out, "- ");
			if (json_is_object(x) && json_object_size(x)) {
				/* first key on the dash line, the rest aligned under it */
				struct sbuf sub = SBUF_INIT;
				emit_node(x, ind + 2, &sub);
				sbuf_adds(out, sbuf_str(&sub) + ind + 2);
				sbuf_release(&sub);
			} else if (json_is_array(x) && json_array_size(x)) {
				struct sbuf sub = SBUF_INIT;
				emit_node(x, ind + 2, &sub);
				sbuf_adds(out, sbuf_str(&sub) + ind + 2);
				sbuf_release(&sub);
			} else if (is_empty_coll(x)) {
				sbuf_adds(out, json_is_object(x) ? "{}\n" : "[]\n");
			} else {
				emit_scalar(x, out);
				sbuf_addc(out, '\n');
			}
		}
	} else {
		indent(out, ind);
		emit_scalar(v, out);
		sbuf_addc(out, '\n');
	}
}

void compose_yaml_emit(const json_t *v, struct sbuf *out)
{
	if (is_empty_coll(v)) {
		sbuf_adds(out, json_is_object(v) ? "{}\n" : "[]\n");
		return;
	}
	emit_node(v, 0, out);
}
