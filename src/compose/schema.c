/* A JSON Schema validator for the keywords the compose schema uses (draft-07
 * and 2020-12 alike): type, properties, patternProperties,
 * additionalProperties, required, enum, const, oneOf/anyOf/allOf/not,
 * $ref (#/definitions/.. and #/$defs/..), items, uniqueItems, min/max
 * (items, length, properties, value), pattern, propertyNames. `format` is
 * not checked (the compose schema uses none that matter before
 * normalization, which checks ports, durations and sizes itself).
 *
 * It validates against a compiled schema (schema.h). The schema berth
 * checks against is compose-schema.json next to this file, compiled at
 * build time by gen-schema.py: parsing its 20 KB of JSON into jansson
 * values cost every compose command 1.6 M instructions and 4,000 mallocs
 * before the first key was checked (docs/design.md).
 * compose_schema_compile() compiles any other schema document the same
 * way at run time. */
#include "compose/internal.h"
#include "compose/schema.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cschema *compose_schema(void)
{
	return &compose_schema_embedded;
}

/* ---- compiling a schema document at run time ----
 * The rules are those listed at struct cs_node; gen-schema.py follows the
 * same ones for the embedded schema. */
struct csb {
	const json_t *root;
	struct cs_node *nodes;
	struct cs_prop *props;
	uint32_t *lists;
	size_t nnodes, cnodes, nprops, cprops, nlists, clists;
	struct sbuf strs;
	struct {
		const json_t *j;
		uint32_t node;
	} *refs;
	size_t nrefs, crefs;
	uint32_t true_node, false_node;
	bool oom;
};

static void *grow(void *p, size_t *cap, size_t need, size_t size, bool *oom)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *q = reallocarray(p, n, size);
	if (!q) {
		*oom = true;
		return NULL;
	}
	*cap = n;
	return q;
}

static uint32_t b_str(struct csb *b, const char *str)
{
	if (b->strs.len > UINT32_MAX - 1 - strlen(str)) {
		b->oom = true;
		return CS_NONE;
	}
	uint32_t off = (uint32_t)b->strs.len;
	sbuf_add(&b->strs, str, strlen(str) + 1);
	return off;
}

static uint32_t b_node(struct csb *b, uint8_t kind)
{
	struct cs_node *n = grow(b->nodes, &b->cnodes, b->nnodes + 1, sizeof(*n), &b->oom);
	if (!n || b->nnodes >= CS_NONE)
		return b->oom = true, CS_NONE;
	b->nodes = n;
	n[b->nnodes] = (struct cs_node){.kind = kind,
					.type_want = CS_NONE,
					.enum_json = CS_NONE,
					.const_json = CS_NONE,
					.pattern = CS_NONE,
					.ref = CS_NONE,
					.addl = CS_NONE,
					.prop_names = CS_NONE,
					.not_ = CS_NONE,
					.items = CS_NONE,
					.props = CS_NONE,
					.pprops = CS_NONE,
					.required = CS_NONE,
					.all_of = CS_NONE,
					.any_of = CS_NONE,
					.one_of = CS_NONE};
	return (uint32_t)b->nnodes++;
}

static uint32_t b_compile(struct csb *b, const json_t *s);
static uint32_t b_compile_into(struct csb *b, uint32_t idx, const json_t *s);

static const json_t *resolve_ref(const json_t *root, const char *ref)
{
	if (strncmp(ref, "#/", 2))
		return NULL;
	const json_t *cur = root;
	_cleanup_free_ char *copy = strdup(ref + 2);
	if (!copy)
		return NULL;
	char *save = NULL;
	for (char *tok = strtok_r(copy, "/", &save); tok && cur; tok = strtok_r(NULL, "/", &save))
		cur = json_object_get(cur, tok);
	return cur;
}

/* a $ref target: compiled once, so cycles and shared definitions end */
static uint32_t b_ref(struct csb *b, const json_t *t)
{
	if (!json_is_object(t))
		return b_compile(b, t);
	for (size_t i = 0; i < b->nrefs; i++)
		if (b->refs[i].j == t)
			return b->refs[i].node;
	void *r = grow(b->refs, &b->crefs, b->nrefs + 1, sizeof(*b->refs), &b->oom);
	if (!r)
		return CS_NONE;
	b->refs = r;
	uint32_t idx = b_node(b, CS_OBJECT);
	if (idx == CS_NONE)
		return CS_NONE;
	b->refs[b->nrefs].j = t;
	b->refs[b->nrefs].node = idx;
	b->nrefs++;
	return b_compile_into(b, idx, t);
}

static int cmp_prop_name(const void *a, const void *b, void *strs)
{
	const struct cs_prop *x = a, *y = b;
	return strcmp((const char *)strs + x->name, (const char *)strs + y->name);
}

/* an object's entries as cs_props (compiled values), sorted by name or in order */
static uint32_t b_props(struct csb *b, const json_t *obj, bool sort, uint16_t *ret_n)
{
	size_t n = json_object_size(obj);
	*ret_n = 0;
	if (n > UINT16_MAX)
		return b->oom = true, CS_NONE;
	_cleanup_free_ struct cs_prop *tmp = calloc(n ? n : 1, sizeof(*tmp));
	if (!tmp)
		return b->oom = true, CS_NONE;
	const char *k;
	json_t *val;
	size_t i = 0;
	json_object_foreach((json_t *)obj, k, val)
	{
		tmp[i].name = b_str(b, k);
		tmp[i].node = b_compile(b, val);
		i++;
	}
	if (b->oom)
		return CS_NONE;
	if (sort)
		qsort_r(tmp, n, sizeof(*tmp), cmp_prop_name, b->strs.s);
	if (!n)
		return (uint32_t)b->nprops;
	struct cs_prop *p = grow(b->props, &b->cprops, b->nprops + n, sizeof(*p), &b->oom);
	if (!p)
		return CS_NONE;
	b->props = p;
	memcpy(p + b->nprops, tmp, n * sizeof(*tmp));
	uint32_t first = (uint32_t)b->nprops;
	b->nprops += n;
	*ret_n = (uint16_t)n;
	return first;
}

/* an array of schemas (compiled) or of strings (offsets) as a list */
static uint32_t b_list(struct csb *b, const json_t *arr, bool strings, uint16_t *ret_n)
{
	size_t n = json_array_size(arr), k = 0;
	*ret_n = 0;
	if (n > UINT16_MAX)
		return b->oom = true, CS_NONE;
	_cleanup_free_ uint32_t *tmp = calloc(n ? n : 1, sizeof(*tmp));
	if (!tmp)
		return b->oom = true, CS_NONE;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(arr, i);
		if (strings) {
			if (json_is_string(e))
				tmp[k++] = b_str(b, json_string_value(e));
		} else {
			tmp[k++] = b_compile(b, e);
		}
	}
	if (b->oom)
		return CS_NONE;
	if (!k)
		return (uint32_t)b->nlists;
	uint32_t *l = grow(b->lists, &b->clists, b->nlists + k, sizeof(*l), &b->oom);
	if (!l)
		return CS_NONE;
	b->lists = l;
	memcpy(l + b->nlists, tmp, k * sizeof(*tmp));
	uint32_t first = (uint32_t)b->nlists;
	b->nlists += k;
	*ret_n = (uint16_t)k;
	return first;
}

static uint8_t type_bit(const char *t)
{
	static const char *const names[] = {"object", "array", "string", "integer", "number", "boolean", "null"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(t, names[i]))
			return (uint8_t)(1u << i);
	return 0;
}

static uint32_t b_dump(struct csb *b, const json_t *x)
{
	_cleanup_free_ char *d = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!d)
		return b->oom = true, CS_NONE;
	return b_str(b, d);
}

static uint32_t b_compile(struct csb *b, const json_t *s)
{
	if (b->oom)
		return CS_NONE;
	if (json_is_false(s)) {
		if (b->false_node == CS_NONE)
			b->false_node = b_node(b, CS_FALSE);
		return b->false_node;
	}
	if (!json_is_object(s)) {
		if (b->true_node == CS_NONE)
			b->true_node = b_node(b, CS_TRUE);
		return b->true_node;
	}
	uint32_t idx = b_node(b, CS_OBJECT);
	if (idx == CS_NONE)
		return CS_NONE;
	return b_compile_into(b, idx, s);
}

/* The fields of an object schema; children are compiled first, the node is
 * written last (b->nodes moves as it grows). */
static uint32_t b_compile_into(struct csb *b, uint32_t idx, const json_t *s)
{
	struct cs_node n = b->nodes[idx];
	const json_t *v;
	if (json_is_string(v = json_object_get(s, "$ref"))) {
		const json_t *t = resolve_ref(b->root, json_string_value(v));
		if (t)
			n.ref = b_ref(b, t);
	}
	if ((v = json_object_get(s, "type"))) {
		n.has |= CS_HAS_TYPE;
		if (json_is_string(v)) {
			n.types = type_bit(json_string_value(v));
			n.type_want = b_str(b, json_string_value(v));
		} else {
			struct sbuf w = SBUF_INIT;
			size_t i;
			json_t *t;
			json_array_foreach(v, i, t)
			{
				if (json_is_string(t))
					n.types |= type_bit(json_string_value(t));
				if (i)
					sbuf_adds(&w, i + 1 == json_array_size(v) ? " or " : ", ");
				sbuf_adds(&w, json_string_value(t) ? json_string_value(t) : "?");
			}
			n.type_want = b_str(b, sbuf_str(&w));
			sbuf_release(&w);
		}
	}
	if (json_is_array(v = json_object_get(s, "enum")))
		n.enum_json = b_dump(b, v);
	if ((v = json_object_get(s, "const")))
		n.const_json = b_dump(b, v);
	if (json_is_object(v = json_object_get(s, "properties")))
		n.props = b_props(b, v, true, &n.nprops);
	if (json_is_object(v = json_object_get(s, "patternProperties")))
		n.pprops = b_props(b, v, false, &n.npprops);
	if ((v = json_object_get(s, "additionalProperties")) && (json_is_false(v) || json_is_object(v)))
		n.addl = b_compile(b, v);
	if (json_is_array(v = json_object_get(s, "required")))
		n.required = b_list(b, v, true, &n.nrequired);
	if ((v = json_object_get(s, "propertyNames")))
		n.prop_names = b_compile(b, v);
	if (json_is_integer(v = json_object_get(s, "minProperties")))
		n.has |= CS_HAS_MINPROPS, n.min_props = json_integer_value(v);
	if (json_is_object(v = json_object_get(s, "items")))
		n.items = b_compile(b, v);
	if (json_is_true(json_object_get(s, "uniqueItems")))
		n.has |= CS_UNIQUE;
	if (json_is_integer(v = json_object_get(s, "minItems")))
		n.has |= CS_HAS_MINITEMS, n.min_items = json_integer_value(v);
	if (json_is_integer(v = json_object_get(s, "maxItems")))
		n.has |= CS_HAS_MAXITEMS, n.max_items = json_integer_value(v);
	if (json_is_string(v = json_object_get(s, "pattern")))
		n.pattern = b_str(b, json_string_value(v));
	if (json_is_integer(v = json_object_get(s, "minLength")))
		n.has |= CS_HAS_MINLEN, n.min_length = json_integer_value(v);
	if (json_is_number(v = json_object_get(s, "minimum")))
		n.has |= CS_HAS_MINIMUM, n.minimum = json_number_value(v);
	if (json_is_number(v = json_object_get(s, "maximum")))
		n.has |= CS_HAS_MAXIMUM, n.maximum = json_number_value(v);
	if (json_is_array(v = json_object_get(s, "allOf")))
		n.all_of = b_list(b, v, false, &n.nall_of);
	if (json_is_array(v = json_object_get(s, "anyOf")))
		n.any_of = b_list(b, v, false, &n.nany_of);
	if (json_is_array(v = json_object_get(s, "oneOf")))
		n.one_of = b_list(b, v, false, &n.none_of);
	if ((v = json_object_get(s, "not")))
		n.not_ = b_compile(b, v);
	if (b->oom)
		return CS_NONE;
	b->nodes[idx] = n;
	return idx;
}

struct cschema *compose_schema_compile(const json_t *schema, struct berr **err)
{
	struct csb b = {.root = schema, .true_node = CS_NONE, .false_node = CS_NONE};
	struct cschema *cs = calloc(1, sizeof(*cs));
	if (!cs)
		b.oom = true;
	uint32_t root = b_node(&b, CS_TRUE); /* node 0, filled below */
	if (root != CS_NONE && json_is_object(schema)) {
		b.nodes[root].kind = CS_OBJECT;
		b_compile_into(&b, root, schema);
	} else if (root != CS_NONE && json_is_false(schema)) {
		b.nodes[root].kind = CS_FALSE;
	}
	free(b.refs);
	if (b.oom) {
		free(b.nodes);
		free(b.props);
		free(b.lists);
		sbuf_release(&b.strs);
		free(cs);
		berr_set(err, ENOMEM, "compiling a JSON schema");
		return NULL;
	}
	cs->nodes = b.nodes;
	cs->props = b.props;
	cs->lists = b.lists;
	cs->nnodes = (uint32_t)b.nnodes;
	cs->nprops = (uint32_t)b.nprops;
	cs->nlists = (uint32_t)b.nlists;
	cs->nstrs = (uint32_t)b.strs.len;
	cs->strs = sbuf_detach(&b.strs);
	return cs;
}

void compose_schema_free(struct cschema *cs)
{
	if (!cs || cs == &compose_schema_embedded)
		return;
	free((void *)cs->nodes);
	free((void *)cs->props);
	free((void *)cs->lists);
	free((void *)cs->strs);
	free(cs);
}

/* ---- compiled patterns, cached for the process ---- */
struct rx {
	char *src;
	regex_t re;
	bool ok;
};
static struct rx *rxs;
static size_t nrx;
static pthread_mutex_t rx_mu = PTHREAD_MUTEX_INITIALIZER;

/* "^" and then no ERE metacharacter: a prefix test gives regexec's answer
 * without compiling (45 of the compose schema's 63 patterns are "^x-") */
static bool rx_literal_prefix(const char *pattern)
{
	if (pattern[0] != '^')
		return false;
	for (const char *p = pattern + 1; *p; p++)
		if (strchr(".[]()*+?{}|\\^$", *p))
			return false;
	return true;
}

static bool rx_match(const char *pattern, const char *s)
{
	if (rx_literal_prefix(pattern))
		return !strncmp(s, pattern + 1, strlen(pattern + 1));
	pthread_mutex_lock(&rx_mu);
	struct rx *r = NULL;
	for (size_t i = 0; i < nrx; i++)
		if (!strcmp(rxs[i].src, pattern))
			r = &rxs[i];
	if (!r) {
		struct rx *n = realloc(rxs, (nrx + 1) * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&rx_mu);
			return true;
		}
		rxs = n;
		r = &rxs[nrx++];
		r->src = strdup(pattern);
		r->ok = regcomp(&r->re, pattern, REG_EXTENDED | REG_NOSUB) == 0;
	}
	bool m = !r->ok || regexec(&r->re, s, 0, NULL, 0) == 0;
	pthread_mutex_unlock(&rx_mu);
	return m;
}

/* ---- validation ---- */

struct vctx {
	const struct cschema *cs;
	const struct cmarks *m;
	const char *file;
	int depth;
	/* the error of the deepest failure seen, for oneOf/anyOf reporting */
	char *msg;
	size_t msg_depth;
	const json_t *msg_node;
	char *msg_path;
	const json_t *marked; /* nearest node with a mark on the way down */
};

struct vsave {
	char *msg, *path;
	size_t depth;
	const json_t *node;
};

static void vsave(struct vctx *v, struct vsave *s)
{
	s->msg = v->msg ? strdup(v->msg) : NULL;
	s->path = v->msg_path ? strdup(v->msg_path) : NULL;
	s->depth = v->msg_depth;
	s->node = v->msg_node;
}

static void vrestore(struct vctx *v, struct vsave *s)
{
	free(v->msg);
	free(v->msg_path);
	v->msg = s->msg, v->msg_path = s->path, v->msg_depth = s->depth, v->msg_node = s->node;
}

static void vsave_drop(struct vsave *s)
{
	free(s->msg);
	free(s->path);
}

static void fail(struct vctx *v, const json_t *node, const struct sbuf *path, size_t depth, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void fail(struct vctx *v, const json_t *node, const struct sbuf *path, size_t depth, const char *fmt, ...)
{
	if (v->msg && depth <= v->msg_depth)
		return; /* the first failure at the deepest level is the telling one */
	char *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (!m)
		return;
	free(v->msg);
	free(v->msg_path);
	v->msg = m;
	v->msg_depth = depth;
	v->msg_node = cmarks_get(v->m, node, NULL, NULL, NULL) ? node : v->marked;
	v->msg_path = strdup(sbuf_str(path));
}

static const char *type_name(const json_t *x)
{
	switch (json_typeof(x)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

static char *short_json(const json_t *x)
{
	char *s = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT);
	if (s && strlen(s) > 60)
		strcpy(s + 57, "...");
	return s ? s : strdup("?");
}

static void path_key(struct sbuf *path, const char *k)
{
	if (path->len)
		sbuf_addc(path, '.');
	sbuf_adds(path, k);
}

static void path_cut(struct sbuf *path, size_t n)
{
	path->len = n;
	if (path->s)
		path->s[n] = 0;
}

static bool type_match(uint8_t types, const json_t *x)
{
	if ((types & CS_T_OBJECT) && json_is_object(x))
		return true;
	if ((types & CS_T_ARRAY) && json_is_array(x))
		return true;
	if ((types & CS_T_STRING) && json_is_string(x))
		return true;
	if ((types & CS_T_INTEGER) &&
	    (json_is_integer(x) || (json_is_real(x) && json_real_value(x) == floor(json_real_value(x)))))
		return true;
	if ((types & CS_T_NUMBER) && json_is_number(x))
		return true;
	if ((types & CS_T_BOOLEAN) && json_is_boolean(x))
		return true;
	if ((types & CS_T_NULL) && json_is_null(x))
		return true;
	return false;
}

#define STR(v, off) ((v)->cs->strs + (off))
#define NODE(v, i) (&(v)->cs->nodes[i])

/* enum and const values are kept as JSON text: parsed when a value is
 * checked against them (a few hundred instructions; few keys have them) */
static json_t *value_of(struct vctx *v, uint32_t off)
{
	return jsonx_parse(STR(v, off), strlen(STR(v, off)), "schema value", NULL);
}

static uint32_t find_prop(struct vctx *v, const struct cs_node *s, const char *k)
{
	size_t lo = 0, hi = s->nprops;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct cs_prop *p = &v->cs->props[s->props + mid];
		int c = strcmp(k, STR(v, p->name));
		if (!c)
			return p->node;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return CS_NONE;
}

static bool validate(struct vctx *v, uint32_t si, const json_t *x, struct sbuf *path, size_t depth);

static bool validate_object(struct vctx *v, const struct cs_node *s, const json_t *x, struct sbuf *path, size_t depth)
{
	bool ok = true;
	size_t keep = path->len;
	const char *k;
	json_t *val;
	for (size_t i = 0; i < s->nrequired; i++) {
		const char *r = STR(v, v->cs->lists[s->required + i]);
		if (!json_object_get(x, r)) {
			fail(v, x, path, depth, "%s is required", r);
			ok = false;
		}
	}
	json_object_foreach((json_t *)x, k, val)
	{
		bool matched = false;
		path_key(path, k);
		if (s->prop_names != CS_NONE) {
			json_t *ks = json_string(k);
			if (!validate(v, s->prop_names, ks, path, depth + 1))
				ok = false;
			json_decref(ks);
		}
		uint32_t ps = s->nprops ? find_prop(v, s, k) : CS_NONE;
		if (ps != CS_NONE) {
			matched = true;
			if (!validate(v, ps, val, path, depth + 1))
				ok = false;
		}
		for (size_t i = 0; i < s->npprops; i++) {
			const struct cs_prop *pp = &v->cs->props[s->pprops + i];
			if (rx_match(STR(v, pp->name), k)) {
				matched = true;
				if (!validate(v, pp->node, val, path, depth + 1))
					ok = false;
			}
		}
		if (!matched && s->addl != CS_NONE) {
			if (NODE(v, s->addl)->kind == CS_FALSE) {
				path_cut(path, keep);
				fail(v, val, path, depth + 1, "additional property \"%s\" is not allowed", k);
				ok = false;
			} else if (!validate(v, s->addl, val, path, depth + 1)) {
				ok = false;
			}
		}
		path_cut(path, keep);
	}
	if ((s->has & CS_HAS_MINPROPS) && (json_int_t)json_object_size(x) < s->min_props) {
		fail(v, x, path, depth, "must have at least %lld properties", (long long)s->min_props);
		ok = false;
	}
	return ok;
}

static bool validate_array(struct vctx *v, const struct cs_node *s, const json_t *x, struct sbuf *path, size_t depth)
{
	bool ok = true;
	size_t keep = path->len;
	size_t i;
	json_t *e;
	if (s->items != CS_NONE) {
		json_array_foreach(x, i, e)
		{
			sbuf_addf(path, "[%zu]", i);
			if (!validate(v, s->items, e, path, depth + 1))
				ok = false;
			path_cut(path, keep);
		}
	}
	if (s->has & CS_UNIQUE) {
		for (size_t a = 0; a < json_array_size(x); a++)
			for (size_t b = a + 1; b < json_array_size(x); b++)
				if (json_equal(json_array_get(x, a), json_array_get(x, b))) {
					_cleanup_free_ char *d = short_json(json_array_get(x, b));
					fail(v, json_array_get(x, b), path, depth,
					     "array items must be unique (%s appears twice)", d);
					ok = false;
					a = b = json_array_size(x);
				}
	}
	if ((s->has & CS_HAS_MINITEMS) && (json_int_t)json_array_size(x) < s->min_items) {
		fail(v, x, path, depth, "must have at least %lld items", (long long)s->min_items);
		ok = false;
	}
	if ((s->has & CS_HAS_MAXITEMS) && (json_int_t)json_array_size(x) > s->max_items) {
		fail(v, x, path, depth, "must have at most %lld items", (long long)s->max_items);
		ok = false;
	}
	return ok;
}

static bool validate(struct vctx *v, uint32_t si, const json_t *x, struct sbuf *path, size_t depth)
{
	const struct cs_node *s = NODE(v, si);
	if (s->kind == CS_TRUE)
		return true;
	if (s->kind == CS_FALSE) {
		fail(v, x, path, depth, "not allowed");
		return false;
	}
	if (++v->depth > 64) {
		v->depth--;
		fail(v, x, path, depth, "schema nesting too deep");
		return false;
	}
	bool ok = true;
	const json_t *saved_marked = v->marked;
	if (cmarks_get(v->m, x, NULL, NULL, NULL))
		v->marked = x;
	if (s->ref != CS_NONE && !validate(v, s->ref, x, path, depth))
		ok = false;
	if ((s->has & CS_HAS_TYPE) && !type_match(s->types, x)) {
		const char *want = STR(v, s->type_want);
		fail(v, x, path, depth, "must be %s %s, not %s %s", strchr("aeiou", want[0]) ? "an" : "a", want,
		     strchr("aeiou", type_name(x)[0]) ? "an" : "a", type_name(x));
		v->depth--;
		v->marked = saved_marked;
		return false;
	}
	if (s->enum_json != CS_NONE) {
		_cleanup_json_ json_t *en = value_of(v, s->enum_json);
		bool found = false;
		size_t i;
		json_t *e;
		json_array_foreach(en, i, e) if (json_equal(e, (json_t *)x)) found = true;
		if (!found) {
			_cleanup_free_ char *got = short_json(x);
			_cleanup_free_ char *want = short_json(en);
			fail(v, x, path, depth, "%s is not one of %s", got, want);
			ok = false;
		}
	}
	if (s->const_json != CS_NONE) {
		_cleanup_json_ json_t *cn = value_of(v, s->const_json);
		if (!json_equal(cn, (json_t *)x)) {
			_cleanup_free_ char *want = short_json(cn);
			fail(v, x, path, depth, "must be %s", want);
			ok = false;
		}
	}
	if (json_is_object(x))
		ok = validate_object(v, s, x, path, depth) && ok;
	else if (json_is_array(x))
		ok = validate_array(v, s, x, path, depth) && ok;
	else if (json_is_string(x)) {
		if (s->pattern != CS_NONE && !rx_match(STR(v, s->pattern), json_string_value(x))) {
			fail(v, x, path, depth, "\"%s\" does not match the pattern %s", json_string_value(x),
			     STR(v, s->pattern));
			ok = false;
		}
		if ((s->has & CS_HAS_MINLEN) && (json_int_t)strlen(json_string_value(x)) < s->min_length) {
			fail(v, x, path, depth, "must be at least %lld characters long", (long long)s->min_length);
			ok = false;
		}
	} else if (json_is_number(x)) {
		double d = json_number_value(x);
		if ((s->has & CS_HAS_MINIMUM) && d < s->minimum) {
			fail(v, x, path, depth, "must be at least %g", s->minimum);
			ok = false;
		}
		if ((s->has & CS_HAS_MAXIMUM) && d > s->maximum) {
			fail(v, x, path, depth, "must be at most %g", s->maximum);
			ok = false;
		}
	}
	for (size_t i = 0; i < s->nall_of; i++)
		if (!validate(v, v->cs->lists[s->all_of + i], x, path, depth))
			ok = false;
	if (s->any_of != CS_NONE) {
		bool one = false;
		struct vsave sv;
		vsave(v, &sv);
		for (size_t i = 0; i < s->nany_of; i++)
			if (validate(v, v->cs->lists[s->any_of + i], x, path, depth)) {
				one = true;
				break;
			}
		if (one)
			vrestore(v, &sv);
		else
			vsave_drop(&sv);
		if (!one) {
			fail(v, x, path, depth, "does not match any of the allowed forms");
			ok = false;
		}
	}
	if (s->one_of != CS_NONE) {
		size_t n = 0;
		struct vsave sv;
		vsave(v, &sv);
		for (size_t i = 0; i < s->none_of; i++)
			if (validate(v, v->cs->lists[s->one_of + i], x, path, depth))
				n++;
		if (n == 1)
			vrestore(v, &sv);
		else
			vsave_drop(&sv);
		if (n != 1) {
			if (n == 0)
				fail(v, x, path, depth, "does not match any of the allowed forms");
			else
				fail(v, x, path, depth, "matches more than one of the allowed forms");
			ok = false;
		}
	}
	if (s->not_ != CS_NONE) {
		/* errors inside `not` are not this node's errors */
		char *m = v->msg, *p = v->msg_path;
		size_t md = v->msg_depth;
		const json_t *mnode = v->msg_node;
		v->msg = v->msg_path = NULL;
		bool r = validate(v, s->not_, x, path, depth);
		free(v->msg);
		free(v->msg_path);
		v->msg = m, v->msg_path = p, v->msg_depth = md, v->msg_node = mnode;
		if (r) {
			fail(v, x, path, depth, "is not allowed here");
			ok = false;
		}
	}
	v->depth--;
	v->marked = saved_marked;
	return ok;
}

/* Failures inside branches of oneOf that end up passing must not be
 * reported: validate() only records messages, and the caller reads them
 * only when the whole document failed. The deepest failure is the most
 * useful one: a wrong port deep in a service says more than "does not
 * match any of the allowed forms" at the service. */
int compose_schema_validate(const struct cschema *schema, const json_t *doc, const struct cmarks *m, const char *file,
			    struct berr **err)
{
	struct vctx v = {.cs = schema, .m = m, .file = file};
	struct sbuf path = SBUF_INIT;
	sbuf_grow(&path, 64);
	path.s[0] = 0;
	bool ok = schema->nnodes == 0 || validate(&v, 0, doc, &path, 0);
	sbuf_release(&path);
	if (ok) {
		free(v.msg);
		free(v.msg_path);
		return 0;
	}
	_cleanup_free_ char *where = cmarks_where(m, v.msg_node, file);
	berr_setc(err, BERR_INVALID, "%s%s%s%s", where, v.msg_path && *v.msg_path ? v.msg_path : "",
		  v.msg_path && *v.msg_path ? ": " : "", v.msg ? v.msg : "invalid");
	free(v.msg);
	free(v.msg_path);
	return -1;
}
