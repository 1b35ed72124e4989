/* A JSON Schema validator for the keywords the compose schema uses (draft-07
 * and 2020-12 alike): type, properties, patternProperties,
 * additionalProperties, required, enum, const, oneOf/anyOf/allOf/not,
 * $ref (#/definitions/.. and #/$defs/..), items, uniqueItems, min/max
 * (items, length, properties, value), pattern, propertyNames. `format` is
 * not checked (the compose schema uses none that matter before
 * normalization, which checks ports, durations and sizes itself).
 *
 * The schema berth checks against is compose-schema.json next to this
 * file, embedded at build time (see meson.build and docs/design.md). */
#include "compose/internal.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char compose_schema_text[];
extern const size_t compose_schema_len;

json_t *compose_schema(struct berr **err)
{
	static json_t *schema;
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	if (!schema) {
		schema = jsonx_parse(compose_schema_text, compose_schema_len, "embedded compose schema", err);
	}
	pthread_mutex_unlock(&mu);
	return schema;
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

static bool rx_match(const char *pattern, const char *s)
{
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
	const json_t *root;
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

static bool type_is(const json_t *x, const char *t)
{
	if (!strcmp(t, "object"))
		return json_is_object(x);
	if (!strcmp(t, "array"))
		return json_is_array(x);
	if (!strcmp(t, "string"))
		return json_is_string(x);
	if (!strcmp(t, "integer"))
		return json_is_integer(x) || (json_is_real(x) && json_real_value(x) == floor(json_real_value(x)));
	if (!strcmp(t, "number"))
		return json_is_number(x);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(x);
	if (!strcmp(t, "null"))
		return json_is_null(x);
	return false;
}

static const json_t *resolve_ref(const json_t *root, const char *ref)
{
	if (strncmp(ref, "#/", 2))
		return NULL;
	const json_t *cur = root;
	_cleanup_free_ char *copy = strdup(ref + 2);
	char *save = NULL;
	for (char *tok = strtok_r(copy, "/", &save); tok && cur; tok = strtok_r(NULL, "/", &save))
		cur = json_object_get(cur, tok);
	return cur;
}

static char *short_json(const json_t *x)
{
	char *s = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT);
	if (s && strlen(s) > 60)
		strcpy(s + 57, "...");
	return s ? s : strdup("?");
}

static bool validate(struct vctx *v, const json_t *s, const json_t *x, struct sbuf *path, size_t depth);

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

static bool validate_object(struct vctx *v, const json_t *s, const json_t *x, struct sbuf *path, size_t depth)
{
	bool ok = true;
	const json_t *props = json_object_get(s, "properties");
	const json_t *pprops = json_object_get(s, "patternProperties");
	const json_t *addl = json_object_get(s, "additionalProperties");
	const json_t *req = json_object_get(s, "required");
	const json_t *pn = json_object_get(s, "propertyNames");
	size_t keep = path->len;
	const char *k;
	json_t *val;
	if (json_is_array(req)) {
		size_t i;
		json_t *r;
		json_array_foreach(req, i, r) if (json_is_string(r) && !json_object_get(x, json_string_value(r)))
		{
			fail(v, x, path, depth, "%s is required", json_string_value(r));
			ok = false;
		}
	}
	json_object_foreach((json_t *)x, k, val)
	{
		bool matched = false;
		path_key(path, k);
		if (pn) {
			json_t *ks = json_string(k);
			if (!validate(v, pn, ks, path, depth + 1))
				ok = false;
			json_decref(ks);
		}
		const json_t *ps = props ? json_object_get(props, k) : NULL;
		if (ps) {
			matched = true;
			if (!validate(v, ps, val, path, depth + 1))
				ok = false;
		}
		if (json_is_object(pprops)) {
			const char *pat;
			json_t *psub;
			json_object_foreach((json_t *)pprops, pat, psub)
			{
				if (rx_match(pat, k)) {
					matched = true;
					if (!validate(v, psub, val, path, depth + 1))
						ok = false;
				}
			}
		}
		if (!matched && addl) {
			if (json_is_false(addl)) {
				path_cut(path, keep);
				fail(v, val, path, depth + 1, "additional property \"%s\" is not allowed", k);
				ok = false;
			} else if (json_is_object(addl) && !validate(v, addl, val, path, depth + 1)) {
				ok = false;
			}
		}
		path_cut(path, keep);
	}
	const json_t *mn = json_object_get(s, "minProperties");
	if (json_is_integer(mn) && (json_int_t)json_object_size(x) < json_integer_value(mn)) {
		fail(v, x, path, depth, "must have at least %lld properties", (long long)json_integer_value(mn));
		ok = false;
	}
	return ok;
}

static bool validate_array(struct vctx *v, const json_t *s, const json_t *x, struct sbuf *path, size_t depth)
{
	bool ok = true;
	size_t keep = path->len;
	const json_t *items = json_object_get(s, "items");
	size_t i;
	json_t *e;
	if (json_is_object(items)) {
		json_array_foreach(x, i, e)
		{
			sbuf_addf(path, "[%zu]", i);
			if (!validate(v, items, e, path, depth + 1))
				ok = false;
			path_cut(path, keep);
		}
	}
	if (json_is_true(json_object_get(s, "uniqueItems"))) {
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
	const json_t *mn = json_object_get(s, "minItems"), *mx = json_object_get(s, "maxItems");
	if (json_is_integer(mn) && (json_int_t)json_array_size(x) < json_integer_value(mn)) {
		fail(v, x, path, depth, "must have at least %lld items", (long long)json_integer_value(mn));
		ok = false;
	}
	if (json_is_integer(mx) && (json_int_t)json_array_size(x) > json_integer_value(mx)) {
		fail(v, x, path, depth, "must have at most %lld items", (long long)json_integer_value(mx));
		ok = false;
	}
	return ok;
}

static bool validate(struct vctx *v, const json_t *s, const json_t *x, struct sbuf *path, size_t depth)
{
	if (json_is_true(s))
		return true;
	if (json_is_false(s)) {
		fail(v, x, path, depth, "not allowed");
		return false;
	}
	if (!json_is_object(s))
		return true;
	if (++v->depth > 64) {
		v->depth--;
		fail(v, x, path, depth, "schema nesting too deep");
		return false;
	}
	bool ok = true;
	const json_t *saved_marked = v->marked;
	if (cmarks_get(v->m, x, NULL, NULL, NULL))
		v->marked = x;
	const json_t *ref = json_object_get(s, "$ref");
	if (json_is_string(ref)) {
		const json_t *t = resolve_ref(v->root, json_string_value(ref));
		if (t && !validate(v, t, x, path, depth))
			ok = false;
	}
	const json_t *type = json_object_get(s, "type");
	if (type) {
		bool tm = false;
		if (json_is_string(type)) {
			tm = type_is(x, json_string_value(type));
		} else if (json_is_array(type)) {
			size_t i;
			json_t *t;
			json_array_foreach(type, i, t) if (json_is_string(t) && type_is(x, json_string_value(t))) tm = true;
		}
		if (!tm) {
			_cleanup_free_ char *want = json_is_string(type)
							    ? strdup(json_string_value(type))
							    : NULL;
			if (!want) {
				struct sbuf w = SBUF_INIT;
				size_t i;
				json_t *t;
				json_array_foreach(type, i, t)
				{
					if (i)
						sbuf_adds(&w, i + 1 == json_array_size(type) ? " or " : ", ");
					sbuf_adds(&w, json_string_value(t) ? json_string_value(t) : "?");
				}
				want = sbuf_detach(&w);
			}
			fail(v, x, path, depth, "must be %s %s, not %s %s", strchr("aeiou", want[0]) ? "an" : "a",
			     want, strchr("aeiou", type_name(x)[0]) ? "an" : "a", type_name(x));
			v->depth--;
			v->marked = saved_marked;
			return false;
		}
	}
	const json_t *en = json_object_get(s, "enum");
	if (json_is_array(en)) {
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
	const json_t *cn = json_object_get(s, "const");
	if (cn && !json_equal((json_t *)cn, (json_t *)x)) {
		_cleanup_free_ char *want = short_json(cn);
		fail(v, x, path, depth, "must be %s", want);
		ok = false;
	}
	if (json_is_object(x))
		ok = validate_object(v, s, x, path, depth) && ok;
	else if (json_is_array(x))
		ok = validate_array(v, s, x, path, depth) && ok;
	else if (json_is_string(x)) {
		const json_t *pat = json_object_get(s, "pattern");
		if (json_is_string(pat) && !rx_match(json_string_value(pat), json_string_value(x))) {
			fail(v, x, path, depth, "\"%s\" does not match the pattern %s", json_string_value(x),
			     json_string_value(pat));
			ok = false;
		}
		const json_t *ml = json_object_get(s, "minLength");
		if (json_is_integer(ml) && (json_int_t)strlen(json_string_value(x)) < json_integer_value(ml)) {
			fail(v, x, path, depth, "must be at least %lld characters long",
			     (long long)json_integer_value(ml));
			ok = false;
		}
	} else if (json_is_number(x)) {
		double d = json_number_value(x);
		const json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
		if (json_is_number(mn) && d < json_number_value(mn)) {
			fail(v, x, path, depth, "must be at least %g", json_number_value(mn));
			ok = false;
		}
		if (json_is_number(mx) && d > json_number_value(mx)) {
			fail(v, x, path, depth, "must be at most %g", json_number_value(mx));
			ok = false;
		}
	}
	const json_t *all = json_object_get(s, "allOf");
	if (json_is_array(all)) {
		size_t i;
		json_t *sub;
		json_array_foreach(all, i, sub) if (!validate(v, sub, x, path, depth)) ok = false;
	}
	const json_t *any = json_object_get(s, "anyOf");
	if (json_is_array(any)) {
		bool one = false;
		size_t i;
		json_t *sub;
		struct vsave sv;
		vsave(v, &sv);
		json_array_foreach(any, i, sub) if (validate(v, sub, x, path, depth)) { one = true; break; }
		if (one)
			vrestore(v, &sv);
		else
			vsave_drop(&sv);
		if (!one) {
			fail(v, x, path, depth, "does not match any of the allowed forms");
			ok = false;
		}
	}
	const json_t *one = json_object_get(s, "oneOf");
	if (json_is_array(one)) {
		size_t n = 0, i;
		json_t *sub;
		struct vsave sv;
		vsave(v, &sv);
		json_array_foreach(one, i, sub) if (validate(v, sub, x, path, depth)) n++;
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
	const json_t *not = json_object_get(s, "not");
	if (not) {
		/* errors inside `not` are not this node's errors */
		char *m = v->msg, *p = v->msg_path;
		size_t md = v->msg_depth;
		const json_t *mnode = v->msg_node;
		v->msg = v->msg_path = NULL;
		bool r = validate(v, not, x, path, depth);
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
int compose_schema_validate(const json_t *schema, const json_t *doc, const struct cmarks *m, const char *file,
			    struct berr **err)
{
	struct vctx v = {.root = schema, .m = m, .file = file};
	struct sbuf path = SBUF_INIT;
	sbuf_grow(&path, 64);
	path.s[0] = 0;
	bool ok = validate(&v, schema, doc, &path, 0);
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
