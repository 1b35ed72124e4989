/* Unit tests for the compose loader's pieces: YAML (typing, anchors,
 * merge keys, tags, alias bombs, nesting), interpolation, .env files
 * (including the compose-go fixtures and EXPECTED.json from
 * ../shared/conformance when present), the schema validator and the merge
 * rules. */
#include "compose/internal.h"
#include "compose/schema.h"
#include "util/cleanup.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fails;
#define CHECK(cond, ...)                                                                                                  \
	do {                                                                                                               \
		if (!(cond)) {                                                                                             \
			fails++;                                                                                           \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                             \
			fprintf(stderr, __VA_ARGS__);                                                                      \
			fputc('\n', stderr);                                                                               \
		}                                                                                                          \
	} while (0)

static json_t *y(struct cmarks *m, const char *text, struct berr **err)
{
	json_t *v = NULL;
	if (compose_yaml_parse(text, strlen(text), "t.yaml", m, &v, err) < 0)
		return NULL;
	return v;
}

static void test_yaml(void)
{
	struct cmarks *m = cmarks_new();
	struct berr *e = NULL;
	json_t *v = y(m, "a: yes\nb: on\nc: true\nd: 012\ne: 0x1f\nf: 1.5\ng: ~\nh: null\ni: '1'\nj: 1e3\nk: False\n80: x\n", &e);
	CHECK(v, "parse: %s", e ? e->msg : "");
	CHECK(json_is_string(json_object_get(v, "a")), "yes is a string");
	CHECK(json_is_string(json_object_get(v, "b")), "on is a string");
	CHECK(json_is_true(json_object_get(v, "c")), "true is a boolean");
	CHECK(json_integer_value(json_object_get(v, "d")) == 10, "012 is octal, as compose-go reads it");
	CHECK(json_integer_value(json_object_get(v, "e")) == 31, "0x1f");
	CHECK(json_is_real(json_object_get(v, "f")), "1.5 float");
	CHECK(json_is_null(json_object_get(v, "g")) && json_is_null(json_object_get(v, "h")), "nulls");
	CHECK(json_is_string(json_object_get(v, "i")), "quoted stays a string");
	CHECK(json_is_real(json_object_get(v, "j")), "1e3 float");
	CHECK(json_is_false(json_object_get(v, "k")), "False");
	CHECK(json_object_get(v, "80") != NULL, "numeric key is its text");
	int line = 0;
	cmarks_get(m, json_object_get(v, "f"), NULL, &line, NULL);
	CHECK(line == 6, "line of f is 6, got %d", line);
	json_decref(v);

	/* anchors, aliases, merge keys (single and list; explicit keys win, earlier merges win) */
	v = y(m, "x: &a {p: 1, q: 2}\ny: &b {q: 3, r: 4}\nz:\n  <<: [*a, *b]\n  p: 9\nw:\n  <<: *b\n", &e);
	CHECK(v, "merge parse");
	json_t *z = json_object_get(v, "z");
	CHECK(json_integer_value(json_object_get(z, "p")) == 9, "explicit key wins");
	CHECK(json_integer_value(json_object_get(z, "q")) == 2, "first merge source wins");
	CHECK(json_integer_value(json_object_get(z, "r")) == 4, "second source fills");
	CHECK(json_integer_value(json_object_get(json_object_get(v, "w"), "r")) == 4, "single merge");
	json_decref(v);

	/* tags */
	v = y(m, "a: !reset []\nb: !override {x: 1}\n", &e);
	unsigned fl = 0;
	cmarks_get(m, json_object_get(v, "a"), NULL, NULL, &fl);
	CHECK(fl & CM_RESET, "!reset flag");
	cmarks_get(m, json_object_get(v, "b"), NULL, NULL, &fl);
	CHECK(fl & CM_OVERRIDE, "!override flag");
	json_decref(v);

	/* errors: duplicate keys, unknown anchors, syntax with a line */
	v = y(m, "a: 1\na: 2\n", &e);
	CHECK(!v && e && strstr(e->msg, "t.yaml:2:") && strstr(e->msg, "already defined"), "duplicate key: %s",
	      e ? e->msg : "");
	berr_freep(&e);
	v = y(m, "a: *nope\n", &e);
	CHECK(!v && e && strstr(e->msg, "unknown anchor"), "unknown anchor");
	berr_freep(&e);
	v = y(m, "a:\n  b: [1,\n", &e);
	CHECK(!v && e && strstr(e->msg, "t.yaml:"), "syntax error has file:line: %s", e ? e->msg : "");
	berr_freep(&e);

	/* billion laughs stops */
	const char *bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
			   "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
			   "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
			   "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n";
	v = y(m, bomb, &e);
	CHECK(!v && e && strstr(e->msg, "too large"), "alias bomb refused");
	berr_freep(&e);
	/* deep nesting stops */
	struct sbuf deep = SBUF_INIT;
	for (int i = 0; i < 500; i++)
		sbuf_addc(&deep, '[');
	for (int i = 0; i < 500; i++)
		sbuf_addc(&deep, ']');
	v = y(m, sbuf_str(&deep), &e);
	CHECK(!v && e && strstr(e->msg, "nesting"), "deep nesting refused: %s", e ? e->msg : "");
	berr_freep(&e);
	sbuf_release(&deep);
	cmarks_free(m);
}

static const char *obj_lookup(const char *name, void *ctx)
{
	return json_string_value(json_object_get((json_t *)ctx, name));
}

static void test_interp(void)
{
	json_t *env = json_pack("{ssssss}", "A", "a", "E", "", "N", "5");
	json_t *warned = json_object();
	json_t *warns = json_array();
	struct cinterp ci = {.lookup = obj_lookup, .ctx = env, .warned = warned};
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"$A", "a"}, {"${A}", "a"}, {"x${A}y", "xay"}, {"$$A", "$A"}, {"${U:-d}", "d"}, {"${E:-d}", "d"},
		{"${E-d}", ""}, {"${U-d}", "d"}, {"${A:+r}", "r"}, {"${E:+r}", ""}, {"${E+r}", "r"}, {"${U+r}", ""},
		{"${U:-${A}}", "a"}, {"${U:-${V:-deep}}", "deep"}, {"$U", ""}, {"${A}_${N}", "a_5"}, {"no vars", "no vars"},
		{"${A:?must}", "a"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *r = NULL;
		struct berr *e = NULL;
		int rc = compose_interp_str(&ci, cases[i].in, &r, &e);
		CHECK(rc == 0 && r && !strcmp(r, cases[i].out), "interp %s -> %s (got %s)", cases[i].in, cases[i].out,
		      r ? r : e ? e->msg : "?");
		free(r);
		berr_free(e);
	}
	char *r = NULL;
	struct berr *e = NULL;
	CHECK(compose_interp_str(&ci, "${U:?it is needed}", &r, &e) < 0 && strstr(e->msg, "U") &&
		      strstr(e->msg, "it is needed"),
	      "${U:?err}");
	berr_freep(&e);
	CHECK(compose_interp_str(&ci, "${E?x}", &r, &e) == 0 && !strcmp(r, ""), "${E?x} set but empty is fine");
	free(r);
	CHECK(compose_interp_str(&ci, "${E:?x}", &r, &e) < 0, "${E:?x} empty fails");
	berr_freep(&e);
	/* compose-go's pattern: only a malformed ${...} is invalid; a '$' that
	 * starts nothing stays */
	CHECK(compose_interp_str(&ci, "a $ b $(cmd) 5$", &r, &e) == 0 && !strcmp(r, "a $ b $(cmd) 5$"), "lone $ stays");
	free(r);
	r = NULL;
	CHECK(compose_interp_str(&ci, "${A", &r, &e) < 0, "unclosed brace");
	berr_freep(&e);
	/* nesting from a hostile file: bounded, an error and not a stack overflow */
	{
		struct sbuf deep = SBUF_INIT;
		for (int i = 0; i < 100000; i++)
			sbuf_adds(&deep, "${U:-");
		sbuf_addc(&deep, 'x');
		for (int i = 0; i < 100000; i++)
			sbuf_addc(&deep, '}');
		CHECK(compose_interp_str(&ci, sbuf_str(&deep), &r, &e) < 0 && strstr(e->msg, "nested deeper than"),
		      "100000 levels of nesting fail cleanly");
		berr_freep(&e);
		sbuf_release(&deep);
		for (int i = 0; i < 100; i++)
			sbuf_adds(&deep, "${U:-");
		sbuf_addc(&deep, 'x');
		for (int i = 0; i < 100; i++)
			sbuf_addc(&deep, '}');
		CHECK(compose_interp_str(&ci, sbuf_str(&deep), &r, &e) == 0 && r && !strcmp(r, "x"), "100 levels are fine");
		free(r);
		sbuf_release(&deep);
	}
	json_decref(env);
	json_decref(warned);
	json_decref(warns);
}

static char *shared_dir(void)
{
	const char *s = getenv("BERTH_SHARED");
	if (s)
		return strdup(s);
	char buf[PATH_MAX];
	/* __FILE__ is relative to the build dir or absolute */
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s/../../../shared", __FILE__) < 0)
		return NULL;
	if (realpath(p, buf))
		return strdup(buf);
	static const char *const rel[] = {"../shared", "../../shared"};
	for (size_t i = 0; i < ARRAY_SIZE(rel); i++)
		if (realpath(rel[i], buf))
			return strdup(buf);
	return NULL;
}

static void test_dotenv(void)
{
	json_t *o = json_object();
	struct berr *e = NULL;
	const char *txt = "# c\nexport A=1\nB = 'x y' # c\nC=\"multi\nline\\n\"\nD=${A}-$A\nE=v # comment\nF=a#b\nG:yaml\n";
	CHECK(compose_dotenv_parse(txt, strlen(txt), "t.env", NULL, NULL, o, &e) == 0, "dotenv parse: %s",
	      e ? e->msg : "");
	CHECK(!strcmp(json_string_value(json_object_get(o, "A")) ?: "", "1"), "export");
	CHECK(!strcmp(json_string_value(json_object_get(o, "B")) ?: "", "x y"), "single quotes");
	CHECK(!strcmp(json_string_value(json_object_get(o, "C")) ?: "", "multi\nline\n"), "multi-line double");
	CHECK(!strcmp(json_string_value(json_object_get(o, "D")) ?: "", "1-1"), "earlier values");
	CHECK(!strcmp(json_string_value(json_object_get(o, "E")) ?: "", "v"), "comment");
	CHECK(!strcmp(json_string_value(json_object_get(o, "F")) ?: "", "a#b"), "# inside a value");
	CHECK(!strcmp(json_string_value(json_object_get(o, "G")) ?: "", "yaml"), "yaml style");
	json_decref(o);

	_cleanup_free_ char *sh = shared_dir();
	_cleanup_free_ char *dir = NULL, *exp = NULL;
	if (!sh || asprintf(&dir, "%s/conformance/compose/compose-go/dotenv", sh) < 0 ||
	    asprintf(&exp, "%s/EXPECTED.json", dir) < 0 || access(exp, R_OK) != 0) {
		printf("# skip: dotenv conformance data not found\n");
		return;
	}
	json_error_t je;
	_cleanup_json_ json_t *expd = json_load_file(exp, 0, &je);
	json_t *cases = json_object_get(expd, "cases");
	size_t i, passed = 0;
	json_t *c;
	json_array_foreach(cases, i, c)
	{
		_cleanup_free_ char *f = NULL;
		if (asprintf(&f, "%s/fixtures/%s", dir, json_string_value(json_object_get(c, "file"))) < 0)
			continue;
		json_t *res = json_object();
		struct berr *e2 = NULL;
		int rc = compose_dotenv_load(f, obj_lookup, json_object_get(c, "lookup_env"), res, &e2);
		const char *want_err = json_string_value(json_object_get(c, "error_contains"));
		bool ok;
		if (want_err) {
			ok = rc < 0 && strstr(e2->msg, want_err);
		} else {
			ok = rc == 0;
			json_t *expv = json_object_get(c, "expected");
			const char *k;
			json_t *v;
			json_object_foreach(expv, k, v) if (!json_equal(v, json_object_get(res, k))) ok = false;
			if (!strcmp(json_string_value(json_object_get(c, "match")) ?: "", "exact") &&
			    json_object_size(res) != json_object_size(expv))
				ok = false;
			size_t j;
			json_t *a;
			json_array_foreach(json_object_get(c, "absent"), j, a) if (json_object_get(res, json_string_value(a)))
				ok = false;
		}
		if (ok)
			passed++;
		else {
			char *got = json_dumps(res, JSON_COMPACT);
			CHECK(ok, "dotenv case %zu (%s): got %s %s", i, json_string_value(json_object_get(c, "file")), got,
			      e2 ? e2->msg : "");
			free(got);
		}
		berr_free(e2);
		json_decref(res);
	}
	printf("# dotenv conformance: %zu/%zu cases\n", passed, json_array_size(cases));
}

/* ---- the compiled schema: gen-schema.py's tables and compose_schema_compile's ---- */
struct cs_pairs {
	uint32_t (*p)[2];
	size_t n, cap;
};

static bool cs_str_same(const struct cschema *x, uint32_t a, const struct cschema *y, uint32_t b)
{
	if (a == CS_NONE || b == CS_NONE)
		return a == b;
	return !strcmp(x->strs + a, y->strs + b);
}

static bool cs_value_same(const struct cschema *x, uint32_t a, const struct cschema *y, uint32_t b)
{
	if (a == CS_NONE || b == CS_NONE)
		return a == b;
	_cleanup_json_ json_t *va = json_loads(x->strs + a, JSON_DECODE_ANY, NULL);
	_cleanup_json_ json_t *vb = json_loads(y->strs + b, JSON_DECODE_ANY, NULL);
	return va && vb && json_equal(va, vb);
}

/* Do node a of x and node b of y mean the same schema? Pairs under
 * comparison count as equal, so cycles through $ref end. */
static bool cs_same(const struct cschema *x, uint32_t a, const struct cschema *y, uint32_t b, struct cs_pairs *seen)
{
	if (a == CS_NONE || b == CS_NONE)
		return a == b;
	if (a >= x->nnodes || b >= y->nnodes)
		return false;
	for (size_t i = 0; i < seen->n; i++)
		if (seen->p[i][0] == a && seen->p[i][1] == b)
			return true;
	if (seen->n == seen->cap) {
		seen->cap = seen->cap ? seen->cap * 2 : 256;
		seen->p = realloc(seen->p, seen->cap * sizeof(*seen->p));
	}
	seen->p[seen->n][0] = a;
	seen->p[seen->n][1] = b;
	seen->n++;
	const struct cs_node *p = &x->nodes[a], *q = &y->nodes[b];
	if (p->kind != q->kind || p->has != q->has || p->types != q->types || p->min_props != q->min_props ||
	    p->min_items != q->min_items || p->max_items != q->max_items || p->min_length != q->min_length ||
	    p->minimum != q->minimum || p->maximum != q->maximum || p->nprops != q->nprops ||
	    p->npprops != q->npprops || p->nrequired != q->nrequired || p->nall_of != q->nall_of ||
	    p->nany_of != q->nany_of || p->none_of != q->none_of ||
	    (p->props == CS_NONE) != (q->props == CS_NONE) || (p->pprops == CS_NONE) != (q->pprops == CS_NONE) ||
	    (p->required == CS_NONE) != (q->required == CS_NONE) ||
	    (p->all_of == CS_NONE) != (q->all_of == CS_NONE) || (p->any_of == CS_NONE) != (q->any_of == CS_NONE) ||
	    (p->one_of == CS_NONE) != (q->one_of == CS_NONE))
		return false;
	if (!cs_str_same(x, p->type_want, y, q->type_want) || !cs_str_same(x, p->pattern, y, q->pattern) ||
	    !cs_value_same(x, p->enum_json, y, q->enum_json) || !cs_value_same(x, p->const_json, y, q->const_json))
		return false;
	if (!cs_same(x, p->ref, y, q->ref, seen) || !cs_same(x, p->addl, y, q->addl, seen) ||
	    !cs_same(x, p->prop_names, y, q->prop_names, seen) || !cs_same(x, p->not_, y, q->not_, seen) ||
	    !cs_same(x, p->items, y, q->items, seen))
		return false;
	for (size_t i = 0; i < p->nprops; i++)
		if (!cs_str_same(x, x->props[p->props + i].name, y, y->props[q->props + i].name) ||
		    !cs_same(x, x->props[p->props + i].node, y, y->props[q->props + i].node, seen))
			return false;
	for (size_t i = 0; i < p->npprops; i++)
		if (!cs_str_same(x, x->props[p->pprops + i].name, y, y->props[q->pprops + i].name) ||
		    !cs_same(x, x->props[p->pprops + i].node, y, y->props[q->pprops + i].node, seen))
			return false;
	for (size_t i = 0; i < p->nrequired; i++)
		if (!cs_str_same(x, x->lists[p->required + i], y, y->lists[q->required + i]))
			return false;
	for (size_t i = 0; i < p->nall_of; i++)
		if (!cs_same(x, x->lists[p->all_of + i], y, y->lists[q->all_of + i], seen))
			return false;
	for (size_t i = 0; i < p->nany_of; i++)
		if (!cs_same(x, x->lists[p->any_of + i], y, y->lists[q->any_of + i], seen))
			return false;
	for (size_t i = 0; i < p->none_of; i++)
		if (!cs_same(x, x->lists[p->one_of + i], y, y->lists[q->one_of + i], seen))
			return false;
	return true;
}

static void test_schema_compile(void)
{
	struct berr *e = NULL;
	json_error_t je;
	json_t *j = json_load_file(BERTH_SRCDIR "/src/compose/compose-schema.json", 0, &je);
	CHECK(j, "read %s: %s", BERTH_SRCDIR "/src/compose/compose-schema.json", je.text);
	if (!j)
		return;
	struct cschema *rt = compose_schema_compile(j, &e);
	CHECK(rt, "compose_schema_compile: %s", e ? e->msg : "");
	struct cs_pairs seen = {0};
	CHECK(rt && cs_same(compose_schema(), 0, rt, 0, &seen),
	      "gen-schema.py embed and compose_schema_compile compile compose-schema.json alike");
	CHECK(compose_schema()->nnodes > 100 && seen.n > 100, "the embedded schema has its nodes (%u, %zu compared)",
	      compose_schema()->nnodes, seen.n);
	free(seen.p);
	compose_schema_free(rt);
	json_decref(j);

	/* what the compiler keeps and drops, and a $ref cycle */
	static const struct {
		const char *schema, *doc, *err; /* err NULL: valid */
	} cases[] = {
		{"{\"$defs\": {\"n\": {\"type\": \"object\", \"properties\": {\"c\": {\"$ref\": \"#/$defs/n\"}},"
		 " \"additionalProperties\": false}}, \"$ref\": \"#/$defs/n\"}",
		 "c:\n  c:\n    c: {}\n", NULL},
		{"{\"$defs\": {\"n\": {\"type\": \"object\", \"properties\": {\"c\": {\"$ref\": \"#/$defs/n\"}},"
		 " \"additionalProperties\": false}}, \"$ref\": \"#/$defs/n\"}",
		 "c:\n  c:\n    d: 1\n", "c.c: additional property \"d\" is not allowed"},
		{"{\"type\": [\"string\", 5, \"null\"]}", "[1]\n", "must be a string, ? or null, not an array"},
		{"{\"enum\": [\"a\", 1, null]}", "2\n", "2 is not one of [\"a\",1,null]"},
		{"{\"const\": {\"k\": [true]}}", "k: [true]\n", NULL},
		{"{\"const\": {\"k\": [true]}}", "k: [false]\n", "must be {\"k\":[true]}"},
		{"{\"items\": true, \"additionalProperties\": true, \"maxItems\": 1.5}", "[1, 2]\n", NULL},
		{"{\"$ref\": \"#/nowhere\", \"minimum\": 2.5}", "2\n", "must be at least 2.5"},
		{"{\"not\": {\"required\": [\"x\", 3]}}", "x: 1\n", "is not allowed here"},
		{"{\"anyOf\": []}", "1\n", "does not match any"},
		{"{\"patternProperties\": {\"^x-\": {\"type\": \"string\"}, \"^y.$\": {\"type\": \"string\"}},"
		 " \"additionalProperties\": false}", "x-a: s\nyb: s\n", NULL},
		{"{\"patternProperties\": {\"^x-\": {\"type\": \"string\"}}, \"additionalProperties\": false}",
		 "ax-: s\n", "additional property \"ax-\" is not allowed"},
		{"{\"patternProperties\": {\"^x-\": {\"type\": \"string\"}}}", "x-: 1\n", "x-: must be a string"},
		{"{\"patternProperties\": {\"^y.$\": {\"type\": \"string\"}}, \"additionalProperties\": false}",
		 "ybc: s\n", "additional property \"ybc\" is not allowed"},
		{"false", "1\n", "not allowed"},
		{"7", "1\n", NULL},
	};
	struct cmarks *m = cmarks_new();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *sj = json_loads(cases[i].schema, JSON_DECODE_ANY, &je);
		CHECK(sj, "compile case %zu: schema parses: %s", i, je.text);
		struct cschema *cs = sj ? compose_schema_compile(sj, &e) : NULL;
		json_t *d = y(m, cases[i].doc, &e);
		CHECK(cs && d, "compile case %zu compiles and parses", i);
		if (cs && d) {
			int rc = compose_schema_validate(cs, d, m, "t.yaml", &e);
			if (!cases[i].err)
				CHECK(rc == 0, "compile case %zu valid: %s", i, e ? e->msg : "");
			else
				CHECK(rc < 0 && e && strstr(e->msg, cases[i].err), "compile case %zu: want %s got %s", i,
				      cases[i].err, e ? e->msg : "(valid)");
		}
		berr_freep(&e);
		compose_schema_free(cs);
		json_decref(sj);
		json_decref(d);
	}
	cmarks_free(m);
}

static void test_schema(void)
{
	struct berr *e = NULL;
	const struct cschema *schema = compose_schema();
	struct cmarks *m = cmarks_new();
	static const struct {
		const char *doc;
		const char *err; /* NULL: valid */
	} cases[] = {
		{"services:\n  web:\n    image: x\n    ports: [\"80:80\", 90]\n", NULL},
		{"services:\n  web:\n    image: x\n    bogus: 1\n", "t.yaml:4: services.web: additional property \"bogus\""},
		{"services:\n  web:\n    image: x\n    restart: ${R}\n    scale: ${N}\n", NULL},
		{"services:\n  web:\n    image: 5\n", "services.web.image: must be a string"},
		{"services:\n  web:\n    image: x\n    depends_on: [a, a]\n", "unique"},
		{"x-any:\n  whatever: [1]\nservices:\n  w:\n    image: x\n    x-ext: {a: 1}\n", NULL},
		{"services:\n  w:\n    image: x\n    ports:\n      - target: 80\n        published: {a: 1}\n", "services.w.ports[0]"},
		{"services:\n  w:\n    image: x\n    healthcheck:\n      retries: {a: 1}\n", "services.w.healthcheck.retries"},
		{"nope: 1\n", "additional property \"nope\""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *d = y(m, cases[i].doc, &e);
		CHECK(d, "schema case %zu parses", i);
		int rc = compose_schema_validate(schema, d, m, "t.yaml", &e);
		if (!cases[i].err)
			CHECK(rc == 0, "schema case %zu valid: %s", i, e ? e->msg : "");
		else
			CHECK(rc < 0 && e && strstr(e->msg, cases[i].err), "schema case %zu: want %s got %s", i,
			      cases[i].err, e ? e->msg : "(valid)");
		berr_freep(&e);
		json_decref(d);
	}
	/* the upstream schema (draft 2020-12 and draft-07) agree with ours on these */
	_cleanup_free_ char *sh = shared_dir();
	static const char *const ups[] = {"conformance/compose/compose-go/schema/compose-spec.json",
					  "conformance/compose/compose-spec/schema/compose-spec.json"};
	for (size_t u = 0; sh && u < ARRAY_SIZE(ups); u++) {
		_cleanup_free_ char *p = NULL;
		if (asprintf(&p, "%s/%s", sh, ups[u]) < 0 || access(p, R_OK) != 0)
			continue;
		json_error_t je;
		json_t *upj = json_load_file(p, 0, &je);
		CHECK(upj, "%s: %s", p, je.text);
		struct cschema *up = upj ? compose_schema_compile(upj, &e) : NULL;
		CHECK(up, "%s compiles: %s", p, e ? e->msg : "");
		berr_freep(&e);
		for (size_t i = 0; up && i < ARRAY_SIZE(cases); i++) {
			json_t *d = y(m, cases[i].doc, &e);
			int a = compose_schema_validate(schema, d, m, "t.yaml", &e);
			berr_freep(&e);
			int b = compose_schema_validate(up, d, m, "t.yaml", &e);
			berr_freep(&e);
			CHECK(a == b, "upstream schema %s disagrees on case %zu", ups[u], i);
			json_decref(d);
		}
		compose_schema_free(up);
		json_decref(upj);
	}
	cmarks_free(m);
}

static void test_merge(void)
{
	struct cmarks *m = cmarks_new();
	struct berr *e = NULL;
	json_t *a = y(m, "services:\n  web:\n    image: a\n    command: [x, y]\n    environment: [A=1, B=2]\n"
			 "    ports: [\"80:80\"]\n    volumes: [\"./a:/data\", \"v:/v\"]\n    cap_add: [NET_ADMIN]\n"
			 "    labels: {l: 1}\n    dns: 1.1.1.1\n",
		      &e);
	json_t *b = y(m, "services:\n  web:\n    image: b\n    command: z\n    environment: {B: 3, C: 4}\n"
			 "    ports: [\"80:80\", \"81:81\"]\n    volumes: [\"./b:/data\"]\n    cap_add: [SYS_ADMIN]\n"
			 "    labels: !reset {}\n    dns: 8.8.8.8\n",
		      &e);
	json_t *r = compose_merge(m, a, b);
	json_t *w = json_object_get(json_object_get(r, "services"), "web");
	CHECK(!strcmp(json_string_value(json_object_get(w, "image")), "b"), "scalar replaced");
	CHECK(json_is_string(json_object_get(w, "command")), "command replaced whole");
	json_t *env = json_object_get(w, "environment");
	CHECK(json_is_object(env) && json_object_size(env) == 3 && json_integer_value(json_object_get(env, "B")) == 3,
	      "environment merged as a mapping");
	CHECK(json_array_size(json_object_get(w, "ports")) == 2, "ports de-duplicated");
	json_t *vols = json_object_get(w, "volumes");
	CHECK(json_array_size(vols) == 2 && !strcmp(json_string_value(json_array_get(vols, 0)), "./b:/data"),
	      "volumes by target, later wins in place");
	CHECK(json_array_size(json_object_get(w, "cap_add")) == 2, "sequences appended");
	CHECK(!json_object_get(w, "labels"), "!reset removes");
	CHECK(json_array_size(json_object_get(w, "dns")) == 2, "string-or-list appended");
	json_decref(r);
	json_decref(a);
	json_decref(b);
	a = y(m, "services:\n  w:\n    image: a\n    ports: [\"1:1\"]\n", &e);
	b = y(m, "services:\n  w:\n    ports: !override [\"2:2\"]\n", &e);
	r = compose_merge(m, a, b);
	w = json_object_get(json_object_get(r, "services"), "w");
	CHECK(json_array_size(json_object_get(w, "ports")) == 1, "!override replaces");
	json_decref(r);
	json_decref(a);
	json_decref(b);
	cmarks_free(m);
}

static void test_ports_volumes(void)
{
	json_t *out = json_array();
	char *why = NULL;
	CHECK(compose_parse_port("127.0.0.1:8000-8001:80-81/udp", out, &why) == 0 && json_array_size(out) == 2,
	      "port range");
	json_t *p1 = json_array_get(out, 1);
	CHECK(json_integer_value(json_object_get(p1, "target")) == 81 &&
		      !strcmp(json_string_value(json_object_get(p1, "published")), "8001"),
	      "pairwise range");
	CHECK(compose_parse_port("80:x", out, &why) < 0, "bad port");
	free(why);
	why = NULL;
	CHECK(compose_parse_port("1-3:80-81", out, &why) < 0, "mismatched ranges");
	free(why);
	why = NULL;
	json_decref(out);
	json_t *v = compose_parse_volume("./x:/y:ro", "/p", true, &why);
	CHECK(v && !strcmp(json_string_value(json_object_get(v, "source")), "/p/x") &&
		      json_is_true(json_object_get(v, "read_only")),
	      "bind volume");
	json_decref(v);
	v = compose_parse_volume("data:/y:bogus", "/p", true, &why);
	CHECK(!v && why && strstr(why, "bogus"), "unknown volume option");
	free(why);
	why = NULL;
	v = compose_parse_volume("a:relative", "/p", true, &why);
	CHECK(!v, "relative target refused");
	free(why);
	char *a = compose_abs_path("/p/q", "../r/./s/");
	CHECK(a && !strcmp(a, "/p/r/s"), "path cleaned: %s", a);
	free(a);
}

static void test_split_words(void)
{
	static const struct {
		const char *in, *out; /* words joined with | */
	} cases[] = {
		{"a b  c", "a|b|c"},
		{"echo 'x  y'", "echo|x  y"},
		{"sh -c \"echo \\\"hi\\\" \\$HOME\"", "sh|-c|echo \"hi\" $HOME"},
		{"a\\ b", "a b"},
		{"''", ""},
		{"  ", ""},
		{"'it''s'", "its"},
		{"\"a\\nb\"", "a\\nb"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *a = json_array();
		int rc = compose_split_words(cases[i].in, a);
		struct sbuf j = SBUF_INIT;
		size_t k;
		json_t *w;
		json_array_foreach(a, k, w) sbuf_addf(&j, "%s%s", k ? "|" : "", json_string_value(w));
		CHECK(rc == 0 && !strcmp(sbuf_str(&j), cases[i].out), "split [%s] -> [%s] (got [%s])", cases[i].in,
		      cases[i].out, sbuf_str(&j));
		sbuf_release(&j);
		json_decref(a);
	}
	static const char *const bad[] = {"echo 'oops", "a \"b", "\"a\\\""};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *a = json_array();
		CHECK(compose_split_words(bad[i], a) < 0, "split [%s] fails (unterminated quote)", bad[i]);
		json_decref(a);
	}
}

int main(void)
{
	test_split_words();
	test_yaml();
	test_interp();
	test_dotenv();
	test_schema();
	test_schema_compile();
	test_merge();
	test_ports_volumes();
	if (fails) {
		fprintf(stderr, "%d failures\n", fails);
		return 1;
	}
	printf("ok\n");
	return 0;
}
