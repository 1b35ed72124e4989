/* berth kube convert --chart: a Helm chart from the converted objects.
 *
 * Each object becomes one template: a copy of the object in which the
 * fields that values.yaml holds are replaced by placeholder strings, written
 * with compose's YAML emitter (so every other scalar is quoted exactly as
 * `kube convert` writes it), and then rewritten line by line: a placeholder
 * becomes its `{{ .Values... }}` expression, and every literal "{{" (an
 * HTML template in a ConfigMap, a `--format '{{.State}}'` in a command)
 * becomes {{ "{{" }} so Helm prints it instead of running it. The
 * emitter's own quoting never touches the expressions: they are put in
 * after it ran. Block values (ports, resources) are written with
 * `toYaml | nindent N`, N taken from the column of their key in the
 * emitted line, so they land where the emitter would have put them.
 *
 * What the chart reads is chosen from the objects' kinds and fields, not
 * from a list of what `kube convert` writes today: metadata.namespace (when
 * --namespace gave it), a Service's spec.ports, any spec.replicas, and the
 * image and resources of every container of a pod template (spec for a
 * Pod, spec.template.spec, spec.jobTemplate.spec.template.spec). */
#include "kube/chart.h"
#include "compose/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHART_VERSION "0.1.0"

static bool is_lower(int c) { return c >= 'a' && c <= 'z'; }
static bool is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alnum(int c) { return is_lower(c) || is_upper(c) || is_digit(c); }
static bool is_hex_lower(int c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

/* ---- image references ---- */

/* A tag as the distribution spec has it: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool tag_valid(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128 || !(is_alnum(t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

/* ALGORITHM:ENCODED as OCI has it; sha256 and sha512 with their lengths */
static bool digest_valid(const char *d)
{
	const char *colon = strchr(d, ':');
	if (!colon || colon == d || !colon[1])
		return false;
	for (const char *p = d; p < colon; p++) {
		bool sep = *p == '+' || *p == '.' || *p == '_' || *p == '-';
		if (!(is_lower(*p) || is_digit(*p) || sep))
			return false;
		if (sep && (p == d || p + 1 == colon || p[1] == '+' || p[1] == '.' || p[1] == '_' || p[1] == '-'))
			return false;
	}
	size_t alen = (size_t)(colon - d), elen = strlen(colon + 1);
	bool sha256 = alen == 6 && !strncmp(d, "sha256", 6), sha512 = alen == 6 && !strncmp(d, "sha512", 6);
	for (const char *p = colon + 1; *p; p++) {
		if ((sha256 || sha512) ? !is_hex_lower(*p) : !(is_alnum(*p) || *p == '=' || *p == '_' || *p == '-'))
			return false;
	}
	if (sha256 && elen != 64)
		return false;
	if (sha512 && elen != 128)
		return false;
	return true;
}

int kube_image_split(const char *image, struct kube_image_ref *ret, struct berr **err)
{
	if (!image || !*image)
		return berr_setc(err, BERR_INVALID, "image \"\": empty reference");
	for (const unsigned char *p = (const unsigned char *)image; *p; p++) {
		/* the template puts the parts inside a double-quoted scalar */
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			return berr_setc(err, BERR_INVALID, "image \"%s\": not an image reference (a space, quote, backslash or non-ASCII character)", image);
	}
	_cleanup_free_ char *name = NULL, *tag = NULL, *digest = NULL;
	const char *at = strchr(image, '@');
	if (at) {
		name = strndup(image, (size_t)(at - image));
		digest = strdup(at + 1);
		if (!digest_valid(digest))
			return berr_setc(err, BERR_INVALID, "image \"%s\": invalid digest \"%s\"", image, digest);
	} else {
		name = strdup(image);
	}
	/* a ':' after the last '/' starts the tag; before it, it is a registry port */
	char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');
	if (colon && (!slash || colon > slash)) {
		tag = strdup(colon + 1);
		*colon = 0;
		if (!tag_valid(tag))
			return berr_setc(err, BERR_INVALID, "image \"%s\": invalid tag \"%s\"", image, tag);
	}
	size_t n = strlen(name);
	bool bad = n == 0 || name[0] == '/' || name[n - 1] == '/' || strstr(name, "//") || name[0] == ':';
	/* a ':' left in the name is a registry port: digits, in the first part */
	char *port = strchr(name, ':'), *first = strchr(name, '/');
	if (port && !bad) {
		bad = !first || port > first || port + 1 == first;
		for (char *q = port + 1; !bad && q < first; q++)
			bad = !is_digit(*q);
	}
	if (bad)
		return berr_setc(err, BERR_INVALID, "image \"%s\": invalid repository name \"%s\"", image, name);
	if (!tag && !digest)
		tag = strdup("latest");
	ret->repository = steal_pointer(&name);
	ret->tag = steal_pointer(&tag);
	ret->digest = steal_pointer(&digest);
	return 0;
}

void kube_image_ref_release(struct kube_image_ref *r)
{
	free(r->repository);
	free(r->tag);
	free(r->digest);
	r->repository = r->tag = r->digest = NULL;
}

/* ---- values keys ---- */

char *kube_chart_value_key(const char *name)
{
	struct sbuf b = SBUF_INIT;
	bool up = false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (!is_alnum(*p)) {
			up = true;
			continue;
		}
		/* `.Values.1st` lexes as a number in Go templates */
		if (b.len == 0 && is_digit(*p))
			sbuf_addc(&b, '_');
		sbuf_addc(&b, (char)(up && b.len && is_lower(*p) ? *p - 32 : *p));
		up = false;
	}
	if (!b.len)
		sbuf_addc(&b, '_');
	return sbuf_detach(&b);
}

/* namespace is the chart's own value; Helm passes global to subcharts */
static bool key_reserved(const char *k) { return !strcmp(k, "namespace") || !strcmp(k, "global"); }

/* ---- rendering ---- */

enum slot_kind {
	SLOT_SCALAR, /* the placeholder becomes expr */
	SLOT_BLOCK,  /* "key: PH" becomes "key:" + toYaml expr | nindent */
	SLOT_WITH,   /* the same inside {{- with expr }}: no key when the value is empty */
};
struct slot {
	enum slot_kind kind;
	char *expr;
};

struct chart_ctx {
	const struct kube_chart_opts *o;
	json_t *values; /* key -> {image, replicas, ports, resources} */
	json_t *owners; /* key -> the Kubernetes name it stands for */
	json_t *uses;   /* key -> ["Deployment web", ...] for the comment above it */
	json_t *tags;   /* image tag -> true (appVersion) */
	bool digests;
	struct slot *slots;
	size_t nslots, cap;
	char prefix[64]; /* of placeholders; occurs nowhere in the objects */
};

static void slots_clear(struct chart_ctx *c)
{
	for (size_t i = 0; i < c->nslots; i++)
		free(c->slots[i].expr);
	c->nslots = 0;
}

/* A new slot; returns its placeholder string (a new json string). */
static json_t *slot_add(struct chart_ctx *c, enum slot_kind kind, char *expr)
{
	if (c->nslots == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->slots = realloc(c->slots, c->cap * sizeof(*c->slots));
	}
	c->slots[c->nslots] = (struct slot){kind, expr};
	char ph[96];
	snprintf(ph, sizeof(ph), "%s%zu", c->prefix, c->nslots++);
	return json_string(ph);
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static bool fields_taken(json_t *v, const char *const *fields)
{
	for (size_t i = 0; v && fields[i]; i++)
		if (json_object_get(v, fields[i]))
			return true;
	return false;
}

/* The values key for fields of one of the names in cands (tried in order):
 * a key belongs to the first name that took it; a second name with the same
 * key, or the same fields again (two containers named alike), gets the next
 * candidate or a number (web2, web3 ...). use ("Deployment web") goes into
 * the comment above the key in values.yaml. Returns a new string. */
static char *claim(struct chart_ctx *c, const char *const *cands, size_t ncand, const char *const *fields, const char *use)
{
	for (size_t ci = 0; ci < ncand; ci++) {
		_cleanup_free_ char *base = kube_chart_value_key(cands[ci]);
		for (unsigned n = 1;; n++) {
			_cleanup_free_ char *k = n == 1 ? strdup(base) : xasprintf("%s%u", base, n);
			if (key_reserved(k))
				continue;
			const char *owner = jsonx_str(c->owners, k);
			if (owner && strcmp(owner, cands[ci]))
				continue;
			json_t *v = json_object_get(c->values, k);
			if (owner && fields_taken(v, fields)) {
				if (ci + 1 < ncand)
					break;
				continue;
			}
			if (!owner) {
				json_object_set_new(c->owners, k, json_string(cands[ci]));
				json_object_set_new(c->values, k, json_object());
				json_object_set_new(c->uses, k, json_array());
			}
			json_t *u = json_object_get(c->uses, k);
			bool seen = false;
			for (size_t i = 0; i < json_array_size(u); i++)
				seen = seen || !strcmp(json_string_value(json_array_get(u, i)), use);
			if (!seen)
				json_array_append_new(u, json_string(use));
			return steal_pointer(&k);
		}
	}
	return NULL; /* not reached: the last candidate always finds a number */
}

static json_t *pod_spec(json_t *obj, const char *kind)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return NULL;
	if (!strcmp(kind, "Pod"))
		return spec;
	json_t *jt = json_object_get(spec, "jobTemplate");
	if (json_is_object(jt))
		spec = json_object_get(jt, "spec");
	json_t *tpl = json_is_object(spec) ? json_object_get(spec, "template") : NULL;
	json_t *ps = json_is_object(tpl) ? json_object_get(tpl, "spec") : NULL;
	return json_is_object(ps) ? ps : NULL;
}

static int chart_containers(struct chart_ctx *c, json_t *ps, const char *kind, const char *name, struct berr **err)
{
	json_t *ctrs = json_object_get(ps, "containers"), *ctr;
	size_t i;
	json_array_foreach(ctrs, i, ctr) {
		const char *cname = jsonx_str(ctr, "name"), *image = jsonx_str(ctr, "image");
		if (!json_is_object(ctr) || !cname || !*cname || !image)
			continue;
		struct kube_image_ref r = {0};
		if (kube_image_split(image, &r, err) < 0)
			return berr_wrap(err, "%s %s: container %s", kind, name, cname);
		_cleanup_free_ char *alt = xasprintf("%s-%s", name, cname), *use = xasprintf("%s %s", kind, name);
		const char *cands[] = {cname, alt};
		static const char *const fields[] = {"image", "resources", NULL};
		_cleanup_free_ char *k = claim(c, cands, 2, fields, use);
		json_t *v = json_object_get(c->values, k), *img = json_object();
		json_object_set_new(img, "repository", json_string(r.repository));
		if (r.tag)
			json_object_set_new(img, "tag", json_string(r.tag));
		if (r.digest)
			json_object_set_new(img, "digest", json_string(r.digest));
		json_object_set_new(v, "image", img);
		if (r.tag && !r.digest)
			json_object_set_new(c->tags, r.tag, json_true());
		char *expr;
		if (r.digest) {
			c->digests = true;
			expr = xasprintf("\"{{ .Values.%s.image.repository }}{{ with .Values.%s.image.tag }}:{{ . }}{{ end }}@{{ .Values.%s.image.digest }}\"", k, k, k);
		} else {
			expr = xasprintf("\"{{ .Values.%s.image.repository }}:{{ .Values.%s.image.tag }}\"", k, k);
		}
		json_object_set_new(ctr, "image", slot_add(c, SLOT_SCALAR, expr));
		/* an absent resources stays absent unless values give some */
		json_t *res = json_object_get(ctr, "resources");
		if (!res || json_is_object(res)) {
			json_object_set_new(v, "resources", res ? json_deep_copy(res) : json_object());
			json_object_set_new(ctr, "resources", slot_add(c, res ? SLOT_BLOCK : SLOT_WITH,
									  xasprintf(".Values.%s.resources", k)));
		}
		kube_image_ref_release(&r);
	}
	return 0;
}

/* Fill the slots of t (a copy of the object) and the values they read. */
static int chart_slots(struct chart_ctx *c, json_t *t, const char *kind, const char *name, struct berr **err)
{
	json_t *md = json_object_get(t, "metadata");
	const char *ns = jsonx_str(md, "namespace");
	if (c->o->namespace_ && ns && !strcmp(ns, c->o->namespace_))
		json_object_set_new(md, "namespace", slot_add(c, SLOT_SCALAR, strdup("{{ .Values.namespace | quote }}")));
	/* the Namespace object --namespace adds is named by the value too */
	if (c->o->namespace_ && !strcmp(kind, "Namespace") && !strcmp(name, c->o->namespace_))
		json_object_set_new(md, "name", slot_add(c, SLOT_SCALAR, strdup("{{ .Values.namespace | quote }}")));
	json_t *spec = json_object_get(t, "spec");
	if (!json_is_object(spec))
		return 0;
	_cleanup_free_ char *use = xasprintf("%s %s", kind, name);
	json_t *ports = json_object_get(spec, "ports");
	if (!strcmp(kind, "Service") && json_is_array(ports) && json_array_size(ports)) {
		static const char *const fields[] = {"ports", NULL};
		_cleanup_free_ char *k = claim(c, &name, 1, fields, use);
		json_object_set(json_object_get(c->values, k), "ports", ports);
		json_object_set_new(spec, "ports", slot_add(c, SLOT_BLOCK, xasprintf(".Values.%s.ports", k)));
	}
	json_t *rep = json_object_get(spec, "replicas");
	if (json_is_integer(rep)) {
		static const char *const fields[] = {"replicas", NULL};
		_cleanup_free_ char *k = claim(c, &name, 1, fields, use);
		json_object_set(json_object_get(c->values, k), "replicas", rep);
		/* values.yaml numbers reach the template as float64, which prints
		 * 1000000 as 1e+06: int prints it whole (the schema refuses 1.5) */
		json_object_set_new(spec, "replicas", slot_add(c, SLOT_SCALAR, xasprintf("{{ .Values.%s.replicas | int }}", k)));
	}
	json_t *ps = pod_spec(t, kind);
	if (ps && chart_containers(c, ps, kind, name, err) < 0)
		return -1;
	return 0;
}

/* Literal text: "{{" is printed by {{ "{{" }}. */
static void add_literal(struct sbuf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '{' && i + 1 < n && s[i + 1] == '{') {
			sbuf_adds(out, "{{ \"{{\" }}");
			i++;
		} else {
			sbuf_addc(out, s[i]);
		}
	}
}

static void add_spaces(struct sbuf *out, size_t n)
{
	while (n--)
		sbuf_addc(out, ' ');
}

/* Rewrite the emitted YAML of a template copy: placeholders become their
 * expressions, literal "{{" is escaped. */
static int chart_rewrite(struct chart_ctx *c, const char *y, struct sbuf *out, struct berr **err)
{
	size_t plen = strlen(c->prefix);
	while (*y) {
		const char *eol = strchr(y, '\n');
		size_t n = eol ? (size_t)(eol - y) : strlen(y);
		const char *ph = memmem(y, n, c->prefix, plen);
		if (!ph) {
			add_literal(out, y, n);
		} else {
			const char *p = ph + plen, *end = y + n;
			size_t idx = 0;
			while (p < end && is_digit(*p))
				idx = idx * 10 + (size_t)(*p++ - '0');
			if (idx >= c->nslots || p == ph + plen)
				return berr_setc(err, BERR_GENERIC, "chart template: stray placeholder");
			struct slot *s = &c->slots[idx];
			/* the key's column: past the indent and any "- " of list items */
			size_t col = 0;
			while (y + col < ph && y[col] == ' ')
				col++;
			bool dash = false;
			while (y + col + 1 < ph && y[col] == '-' && y[col + 1] == ' ') {
				dash = true;
				col += 2;
				while (y + col < ph && y[col] == ' ')
					col++;
			}
			size_t before = (size_t)(ph - y);
			if (s->kind != SLOT_SCALAR && (before < 2 || ph[-1] != ' ' || ph[-2] != ':' || p != end))
				return berr_setc(err, BERR_GENERIC, "chart template: a block placeholder is not a mapping value");
			switch (s->kind) {
			case SLOT_SCALAR:
				add_literal(out, y, before);
				sbuf_adds(out, s->expr);
				add_literal(out, p, (size_t)(end - p));
				break;
			case SLOT_WITH:
				/* {{- with }} eats the line break before it: on a "- key:"
				 * line that would take the list item's dash with it */
				if (!dash) {
					sbuf_addf(out, "{{- with %s }}\n", s->expr);
					add_literal(out, y, before - 1);
					sbuf_addc(out, '\n');
					add_spaces(out, col + 2);
					sbuf_addf(out, "{{- toYaml . | nindent %zu }}\n{{- end }}", col + 2);
					break;
				}
				/* fall through */
			case SLOT_BLOCK:
				add_literal(out, y, before - 1);
				sbuf_addc(out, '\n');
				add_spaces(out, col + 2);
				sbuf_addf(out, "{{- toYaml %s | nindent %zu }}", s->expr, col + 2);
				break;
			}
		}
		if (eol)
			sbuf_addc(out, '\n');
		y += eol ? n + 1 : n;
	}
	return 0;
}

static void lower(const char *s, struct sbuf *out)
{
	for (; *s; s++)
		sbuf_addc(out, (char)(is_upper(*s) ? *s + 32 : *s));
}

/* A name that can be part of a file name in templates/. */
static bool file_name_ok(const char *s)
{
	if (!*s || *s == '.' || *s == '_' || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if (!(is_alnum(*s) || *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

static int chart_object(struct chart_ctx *c, json_t *obj, size_t idx, json_t *files, struct berr **err)
{
	const char *kind = jsonx_str(obj, "kind");
	const char *name = jsonx_str(json_object_get(obj, "metadata"), "name");
	if (!kind || !name)
		return berr_setc(err, BERR_INVALID, "object %zu: no kind or metadata.name", idx);
	if (!file_name_ok(kind) || !file_name_ok(name))
		return berr_setc(err, BERR_INVALID, "%s %s: the kind and name must be letters, digits, '-', '.' or '_'", kind, name);
	_cleanup_json_ json_t *t = json_deep_copy(obj);
	slots_clear(c);
	if (chart_slots(c, t, kind, name, err) < 0)
		return -1;
	struct sbuf y = SBUF_INIT, out = SBUF_INIT, fn = SBUF_INIT;
	compose_yaml_emit(t, &y);
	int r = chart_rewrite(c, sbuf_str(&y), &out, err);
	sbuf_release(&y);
	if (r < 0) {
		sbuf_release(&out);
		return berr_wrap(err, "%s %s", kind, name);
	}
	sbuf_addf(&fn, "templates/%s-", name);
	lower(kind, &fn);
	size_t base = fn.len;
	for (unsigned n = 2; json_object_get(files, sbuf_str(&fn)); n++) {
		fn.len = base;
		fn.s[base] = 0;
		sbuf_addf(&fn, "-%u", n);
	}
	sbuf_adds(&fn, ".yaml");
	json_object_set_new(files, sbuf_str(&fn), json_stringn(out.s ? out.s : "", out.len));
	sbuf_release(&fn);
	sbuf_release(&out);
	return 0;
}

/* values.yaml: fields in one order whatever order the objects gave them */
static json_t *values_ordered(json_t *v)
{
	static const char *const order[] = {"image", "replicas", "ports", "resources"};
	json_t *o = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (json_object_get(v, order[i]))
			json_object_set(o, order[i], json_object_get(v, order[i]));
	return o;
}

static json_t *schema_for(json_t *v)
{
	json_t *props = json_object(), *req = json_array(), *x;
	if ((x = json_object_get(v, "image"))) {
		json_t *ip = json_pack("{s:{s:s, s:i}, s:{s:[s,s]}}", "repository", "type", "string", "minLength", 1,
				       "tag", "type", "string", "number");
		json_t *ireq = json_pack("[s]", "repository");
		if (json_object_get(x, "digest")) {
			json_object_set_new(ip, "digest", json_pack("{s:s, s:s}", "type", "string", "pattern",
								    "^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"));
			json_array_append_new(ireq, json_string("digest"));
		} else {
			json_array_append_new(ireq, json_string("tag"));
		}
		json_object_set_new(props, "image", json_pack("{s:s, s:o, s:o}", "type", "object", "required", ireq, "properties", ip));
		json_array_append_new(req, json_string("image"));
	}
	if (json_object_get(v, "replicas")) {
		json_object_set_new(props, "replicas", json_pack("{s:s, s:i}", "type", "integer", "minimum", 0));
		json_array_append_new(req, json_string("replicas"));
	}
	if (json_object_get(v, "ports")) {
		json_object_set_new(props, "ports",
				    json_pack("{s:s, s:i, s:{s:s, s:[s], s:{s:{s:s, s:i, s:i}}}}", "type", "array", "minItems", 1,
					      "items", "type", "object", "required", "port", "properties", "port", "type",
					      "integer", "minimum", 1, "maximum", 65535));
		json_array_append_new(req, json_string("ports"));
	}
	if (json_object_get(v, "resources")) {
		/* not required: null (helm's way to unset) renders no resources */
		json_object_set_new(props, "resources", json_pack("{s:[s,s]}", "type", "object", "null"));
	}
	return json_pack("{s:s, s:o, s:o}", "type", "object", "required", req, "properties", props);
}

static void chart_ctx_release(struct chart_ctx *c)
{
	slots_clear(c);
	free(c->slots);
	json_decref(c->values);
	json_decref(c->owners);
	json_decref(c->uses);
	json_decref(c->tags);
}

static bool name_ok(const char *s)
{
	if (!s || !*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 0x21 || *s == '"' || *s == '\\' || *s == '{' || *s == '}')
			return false;
	return true;
}

int kube_chart_render(json_t *objects, const struct kube_chart_opts *o, json_t **ret_files, struct berr **err)
{
	if (!name_ok(o->name))
		return berr_setc(err, BERR_INVALID, "chart name \"%s\": not a file name", o->name ? o->name : "");
	if (o->namespace_ && !name_ok(o->namespace_))
		return berr_setc(err, BERR_INVALID, "namespace \"%s\": not a name", o->namespace_);
	struct chart_ctx c = {.o = o, .values = json_object(), .owners = json_object(), .uses = json_object(), .tags = json_object()};
	_cleanup_json_ json_t *files = json_object();
	/* a placeholder prefix that no object contains */
	_cleanup_free_ char *all = json_dumps(objects, JSON_COMPACT);
	snprintf(c.prefix, sizeof(c.prefix), "BerthChartSlot");
	for (unsigned n = 2; all && strstr(all, c.prefix) && n < 1000; n++)
		snprintf(c.prefix, sizeof(c.prefix), "BerthChartSlot%uX", n);
	if (all && strstr(all, c.prefix)) {
		chart_ctx_release(&c);
		return berr_setc(err, BERR_INVALID, "the objects hold every placeholder name berth tried");
	}
	json_object_set_new(files, "Chart.yaml", json_null());
	json_object_set_new(files, "values.yaml", json_null());
	json_object_set_new(files, "values.schema.json", json_null());
	json_object_set_new(files, ".helmignore", json_null());
	json_object_set_new(files, "templates/NOTES.txt", json_null());
	size_t i;
	json_t *obj;
	json_array_foreach(objects, i, obj) {
		if (!json_is_object(obj)) {
			chart_ctx_release(&c);
			return berr_setc(err, BERR_INVALID, "object %zu: not an object", i);
		}
		if (chart_object(&c, obj, i, files, err) < 0) {
			chart_ctx_release(&c);
			return -1;
		}
	}

	/* Chart.yaml: appVersion is the tag every image has, when they share one */
	const char *app = CHART_VERSION, *tk;
	json_t *tv;
	if (json_object_size(c.tags) == 1 && !c.digests)
		json_object_foreach(c.tags, tk, tv) app = tk;
	_cleanup_free_ char *desc = xasprintf("The compose project %s, converted by berth kube convert", o->name);
	_cleanup_json_ json_t *cy = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "apiVersion", "v2", "name", o->name,
					      "description", desc, "type", "application", "version", CHART_VERSION,
					      "appVersion", app);
	struct sbuf b = SBUF_INIT;
	compose_yaml_emit(cy, &b);
	json_object_set_new(files, "Chart.yaml", json_string(sbuf_str(&b)));
	sbuf_reset(&b);

	/* values.yaml, a comment above each key naming what reads it */
	sbuf_addf(&b, "# Values of the %s chart, written by berth kube convert.\n"
		      "# One key per Kubernetes name (camelCase: my-app is myApp): the image of its\n"
		      "# container, its replicas, its Service's ports and its resources. With these\n"
		      "# values the templates render the objects `berth kube convert` writes.\n",
		  o->name);
	_cleanup_json_ json_t *schema = json_pack("{s:s, s:[], s:{}}", "type", "object", "required", "properties");
	json_t *sreq = json_object_get(schema, "required"), *sprops = json_object_get(schema, "properties");
	if (o->namespace_) {
		_cleanup_json_ json_t *nv = json_pack("{s:s}", "namespace", o->namespace_);
		sbuf_adds(&b, "\n# metadata.namespace of every object\n");
		compose_yaml_emit(nv, &b);
		json_object_set_new(sprops, "namespace", json_pack("{s:s, s:i, s:i, s:s}", "type", "string", "minLength", 1,
								   "maxLength", 63, "pattern", "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"));
		json_array_append_new(sreq, json_string("namespace"));
	}
	const char *k;
	json_t *v;
	json_object_foreach(c.values, k, v) {
		json_t *u = json_object_get(c.uses, k);
		sbuf_addf(&b, "\n# %s:", jsonx_str(c.owners, k));
		for (size_t j = 0; j < json_array_size(u); j++)
			sbuf_addf(&b, "%s %s", j ? "," : "", json_string_value(json_array_get(u, j)));
		sbuf_addc(&b, '\n');
		_cleanup_json_ json_t *one = json_object();
		json_object_set_new(one, k, values_ordered(v));
		compose_yaml_emit(one, &b);
		json_object_set_new(sprops, k, schema_for(v));
		json_array_append_new(sreq, json_string(k));
	}
	json_object_set_new(files, "values.yaml", json_string(sbuf_str(&b)));
	sbuf_reset(&b);
	char *sj = json_dumps(schema, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	sbuf_adds(&b, sj ? sj : "{}");
	sbuf_addc(&b, '\n');
	free(sj);
	json_object_set_new(files, "values.schema.json", json_string(sbuf_str(&b)));
	sbuf_reset(&b);

	json_object_set_new(files, ".helmignore",
			    json_string("# Patterns to ignore when building packages (helm package).\n"
					".DS_Store\n.git/\n.gitignore\n.bzr/\n.bzrignore\n.hg/\n.hgignore\n.svn/\n"
					"*.swp\n*.bak\n*.tmp\n*.orig\n*~\n.project\n.idea/\n*.tmproj\n.vscode/\n"));

	/* NOTES.txt (helm install prints it): the Services and how to reach them */
	sbuf_addf(&b, "{{ .Release.Name }}: the compose project %s%s%s.\n", o->name,
		  o->namespace_ ? " in namespace " : "", o->namespace_ ? "{{ .Values.namespace }}" : "");
	json_array_foreach(objects, i, obj) {
		if (strcmp(jsonx_str(obj, "kind"), "Service"))
			continue;
		json_t *spec = json_object_get(obj, "spec");
		const char *type = jsonx_str(spec, "type");
		sbuf_addf(&b, "  Service %s (%s)", jsonx_str(json_object_get(obj, "metadata"), "name"),
			  type ? type : (json_is_string(json_object_get(spec, "clusterIP")) &&
						 !strcmp(jsonx_str(spec, "clusterIP"), "None")
					 ? "headless"
					 : "ClusterIP"));
		json_t *ports = json_object_get(spec, "ports"), *pt;
		size_t j;
		json_array_foreach(ports, j, pt) {
			json_t *port = json_object_get(pt, "port");
			if (json_is_integer(port))
				sbuf_addf(&b, "%s%lld", j ? ", " : ": port ", (long long)json_integer_value(port));
		}
		sbuf_addc(&b, '\n');
	}
	json_object_set_new(files, "templates/NOTES.txt", json_string(sbuf_str(&b)));
	sbuf_release(&b);
	chart_ctx_release(&c);
	*ret_files = steal_pointer(&files);
	return 0;
}

/* ---- writing ---- */

/* dir without trailing slashes, its parent and its last component */
static int split_dir(const char *dir, char **ret_dir, char **ret_parent, char **ret_base, struct berr **err)
{
	if (!dir || !*dir)
		return berr_setc(err, BERR_INVALID, "no directory given");
	_cleanup_free_ char *d = strdup(dir);
	size_t n = strlen(d);
	while (n > 1 && d[n - 1] == '/')
		d[--n] = 0;
	char *slash = strrchr(d, '/');
	const char *base = slash ? slash + 1 : d;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return berr_setc(err, BERR_INVALID, "name a new directory");
	char *parent;
	if (!slash)
		parent = strdup(".");
	else if (slash == d)
		parent = strdup("/");
	else
		parent = strndup(d, (size_t)(slash - d));
	*ret_base = strdup(base);
	*ret_parent = parent;
	*ret_dir = steal_pointer(&d);
	return 0;
}

int kube_chart_check_target(const char *dir, struct berr **err)
{
	_cleanup_free_ char *d = NULL, *parent = NULL, *base = NULL;
	if (split_dir(dir, &d, &parent, &base, err) < 0)
		return -1;
	struct stat st;
	if (lstat(d, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return berr_setc(err, BERR_INVALID, "exists and is not a directory");
		_cleanup_closedir_ DIR *dp = opendir(d);
		if (!dp)
			return berr_set(err, errno, "reading it");
		struct dirent *de;
		while ((de = readdir(dp)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				return berr_setc(err, BERR_INVALID, "exists and is not empty");
		return 0;
	}
	if (errno == ENOTDIR)
		return berr_setc(err, BERR_INVALID, "a part of its path is not a directory");
	if (errno != ENOENT)
		return berr_set(err, errno, "looking at it");
	if (stat(parent, &st) < 0)
		return berr_set(err, errno, "parent directory %s", parent);
	if (!S_ISDIR(st.st_mode))
		return berr_setc(err, BERR_INVALID, "%s is not a directory", parent);
	return 0;
}

static int write_file_at(int dfd, const char *path, const char *data, size_t len, struct berr **err)
{
	const char *slash = strrchr(path, '/');
	if (slash) {
		_cleanup_free_ char *sub = strndup(path, (size_t)(slash - path));
		if (mkdirat(dfd, sub, 0777) < 0 && errno != EEXIST)
			return berr_set(err, errno, "%s", sub);
	}
	_cleanup_close_ int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0 || fs_write_full(fd, data, len) < 0)
		return berr_set(err, errno, "%s", path);
	int r = close(steal_fd(&fd));
	if (r < 0)
		return berr_set(err, errno, "%s", path);
	return 0;
}

int kube_chart_stage(const char *dir, json_t *files, char **ret_tmp, struct berr **err)
{
	_cleanup_free_ char *d = NULL, *parent = NULL, *base = NULL;
	if (split_dir(dir, &d, &parent, &base, err) < 0 || kube_chart_check_target(dir, err) < 0)
		return -1;
	_cleanup_free_ char *tmp = NULL;
	for (int tries = 0;; tries++) {
		_cleanup_free_ char *pfx = xasprintf(".%s.chart-", base), *nm = fs_tmp_name(pfx);
		free(tmp);
		tmp = xasprintf("%s/%s", parent, nm);
		if (mkdir(tmp, 0777) == 0)
			break;
		if (errno != EEXIST || tries > 10)
			return berr_set(err, errno, "making a temp dir in %s", parent);
	}
	_cleanup_close_ int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		berr_set(err, errno, "%s", tmp);
		fs_rm_rf_at(AT_FDCWD, tmp);
		return -1;
	}
	const char *path;
	json_t *text;
	json_object_foreach(files, path, text) {
		if (write_file_at(dfd, path, json_string_value(text), json_string_length(text), err) < 0) {
			berr_wrap(err, "writing %s", tmp);
			fs_rm_rf_at(AT_FDCWD, tmp);
			return -1;
		}
	}
	*ret_tmp = steal_pointer(&tmp);
	return 0;
}

int kube_chart_commit(const char *tmp, const char *dir, struct berr **err)
{
	_cleanup_free_ char *d = NULL, *parent = NULL, *base = NULL;
	if (split_dir(dir, &d, &parent, &base, err) < 0) {
		kube_chart_discard(tmp);
		return -1;
	}
	/* rename replaces an empty directory and refuses a non-empty one, so a
	 * directory filled since the check is never mixed into */
	if (rename(tmp, d) < 0) {
		int e = errno;
		kube_chart_discard(tmp);
		if (e == ENOTEMPTY || e == EEXIST)
			return berr_setc(err, BERR_INVALID, "exists and is not empty");
		if (e == ENOTDIR)
			return berr_setc(err, BERR_INVALID, "exists and is not a directory");
		return berr_set(err, e, "renaming %s into place", tmp);
	}
	return 0;
}

void kube_chart_discard(const char *tmp)
{
	if (tmp)
		fs_rm_rf_at(AT_FDCWD, tmp);
}

int kube_chart_write(const char *dir, json_t *objects, const struct kube_chart_opts *o, struct berr **err)
{
	_cleanup_json_ json_t *files = NULL;
	_cleanup_free_ char *tmp = NULL;
	if (kube_chart_render(objects, o, &files, err) < 0 || kube_chart_stage(dir, files, &tmp, err) < 0)
		return -1;
	return kube_chart_commit(tmp, dir, err);
}
