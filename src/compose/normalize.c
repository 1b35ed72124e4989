/* Normalization: every short syntax of a compose document turned into the
 * long one, the way `docker compose config --format json` prints it
 * (ports, volumes, environment, labels, command/entrypoint strings,
 * depends_on lists, networks lists, build strings, healthcheck tests,
 * secrets/configs), relative paths made absolute against the project
 * directory, and the implicit default network and resource names filled
 * in. Runs on the merged document, after schema validation. */
#include "compose/internal.h"
#include "util/cleanup.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *compose_abs_path(const char *base, const char *p)
{
	char *r = NULL;
	if (p[0] == '~' && (p[1] == '/' || !p[1])) {
		const char *home = getenv("HOME");
		if (asprintf(&r, "%s%s", home && *home ? home : "/root", p + 1) < 0)
			return NULL;
	} else if (p[0] == '/') {
		r = strdup(p);
	} else {
		if (asprintf(&r, "%s/%s", base, p) < 0)
			return NULL;
	}
	/* clean: drop "." components and fold "..", like filepath.Clean */
	char *out = malloc(strlen(r) + 2);
	size_t o = 0;
	const char *s = r;
	while (*s) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		size_t n = (size_t)(e - s);
		if (n == 0)
			break;
		if (n == 1 && s[0] == '.') {
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, s, n);
			o += n;
		}
		s = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	free(r);
	return out;
}

static const char *ostr(const json_t *o, const char *k, const char *def)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : def;
}

static bool is_url_context(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "git://", 6) ||
	       !strncmp(s, "git@", 4) || !strncmp(s, "github.com/", 11) || !strncmp(s, "ssh://", 6);
}

static int nfail(struct cnorm *n, const json_t *node, struct berr **err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int nfail(struct cnorm *n, const json_t *node, struct berr **err, const char *path, const char *fmt, ...)
{
	char *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	_cleanup_free_ char *where = cmarks_where(n->m, node, NULL);
	berr_setc(err, BERR_INVALID, "%s%s: %s", where, path, m ? m : "invalid");
	free(m);
	return -1;
}

/* ---- shell-like splitting of command strings (no expansion) ---- */
int compose_split_words(const char *s, json_t *out)
{
	struct sbuf w = SBUF_INIT;
	bool in = false;
	for (const char *p = s; *p;) {
		if (isspace((unsigned char)*p)) {
			if (in) {
				json_array_append_new(out, json_string(sbuf_str(&w)));
				sbuf_reset(&w);
				in = false;
			}
			p++;
			continue;
		}
		in = true;
		if (*p == '\'') {
			const char *e = strchr(p + 1, '\'');
			if (!e) {
				sbuf_release(&w);
				return -1;
			}
			sbuf_add(&w, p + 1, (size_t)(e - p - 1));
			p = e + 1;
		} else if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1]))
					p++;
				sbuf_addc(&w, *p++);
			}
			if (*p != '"') {
				sbuf_release(&w);
				return -1;
			}
			p++;
		} else if (*p == '\\' && p[1]) {
			sbuf_addc(&w, p[1]);
			p += 2;
		} else {
			sbuf_addc(&w, *p++);
		}
	}
	if (in)
		json_array_append_new(out, json_string(sbuf_str(&w)));
	sbuf_release(&w);
	return 0;
}

static char *scalar_str(const json_t *v)
{
	char *s = NULL;
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		if (asprintf(&s, "%lld", (long long)json_integer_value(v)) < 0)
			return NULL;
		return s;
	}
	if (json_is_real(v)) {
		if (asprintf(&s, "%g", json_real_value(v)) < 0)
			return NULL;
		return s;
	}
	if (json_is_true(v))
		return strdup("true");
	if (json_is_false(v))
		return strdup("false");
	return NULL;
}

/* list-or-dict -> dict of strings (null kept for "KEY" without value) */
static json_t *to_str_map(const json_t *v, bool keep_null)
{
	json_t *o = json_object();
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			_cleanup_free_ char *s = scalar_str(e);
			if (!s)
				continue;
			char *eq = strchr(s, '=');
			if (eq) {
				*eq = 0;
				json_object_set_new(o, s, json_string(eq + 1));
			} else {
				json_object_set_new(o, s, keep_null ? json_null() : json_string(""));
			}
		}
	} else if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			_cleanup_free_ char *s = scalar_str(x);
			json_object_set_new(o, k, s ? json_string(s) : keep_null ? json_null() : json_string(""));
		}
	}
	return o;
}

/* ---- ports ---- */
static int parse_range(const char *s, long *lo, long *hi)
{
	char *end;
	errno = 0;
	*lo = strtol(s, &end, 10);
	if (end == s || errno || *lo < 0 || *lo > 65535)
		return -1;
	if (*end == '-') {
		const char *s2 = end + 1;
		*hi = strtol(s2, &end, 10);
		if (end == s2 || errno || *hi < *lo || *hi > 65535)
			return -1;
	} else {
		*hi = *lo;
	}
	return *end ? -1 : 0;
}

int compose_parse_port(const char *spec, json_t *out, char **why)
{
	_cleanup_free_ char *s = strdup(spec);
	const char *proto = "tcp";
	char *slash = strrchr(s, '/');
	if (slash) {
		*slash = 0;
		proto = slash + 1;
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")) {
			*why = strdup("invalid protocol");
			return -1;
		}
	}
	char *ip = NULL, *pub = NULL, *tgt = s;
	char *last = strrchr(s, ':');
	if (last) {
		*last = 0;
		tgt = last + 1;
		char *prev;
		if (s[0] == '[') { /* [v6]:pub */
			char *rb = strchr(s, ']');
			if (!rb) {
				*why = strdup("invalid IPv6 address");
				return -1;
			}
			*rb = 0;
			ip = s + 1;
			pub = rb[1] == ':' ? rb + 2 : rb + 1;
		} else if ((prev = strrchr(s, ':'))) {
			*prev = 0;
			ip = s;
			pub = prev + 1;
		} else {
			pub = s;
		}
	}
	long tlo, thi, plo = 0, phi = 0;
	if (parse_range(tgt, &tlo, &thi) < 0 || tlo == 0) {
		*why = strdup("invalid containerPort");
		return -1;
	}
	bool has_pub = pub && *pub;
	if (has_pub && parse_range(pub, &plo, &phi) < 0) {
		*why = strdup("invalid hostPort");
		return -1;
	}
	long n = thi - tlo + 1;
	if (has_pub && n > 1 && phi - plo + 1 != n) {
		*why = strdup("invalid ranges specified for container and host ports");
		return -1;
	}
	for (long i = 0; i < n; i++) {
		json_t *p = json_object();
		json_object_set_new(p, "mode", json_string("ingress"));
		if (ip && *ip)
			json_object_set_new(p, "host_ip", json_string(ip));
		json_object_set_new(p, "target", json_integer(tlo + i));
		if (has_pub) {
			char b[32];
			if (n > 1 || plo == phi)
				snprintf(b, sizeof(b), "%ld", plo + (n > 1 ? i : 0));
			else
				snprintf(b, sizeof(b), "%ld-%ld", plo, phi);
			json_object_set_new(p, "published", json_string(b));
		}
		json_object_set_new(p, "protocol", json_string(proto));
		json_array_append_new(out, p);
	}
	return 0;
}

static int norm_ports(struct cnorm *n, const char *svc, json_t *ports, json_t **ret, struct berr **err)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(ports, i, e)
	{
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "services.%s.ports[%zu]", svc, i) < 0)
			path = NULL;
		if (json_is_object(e)) {
			json_t *p = json_object();
			json_object_set_new(p, "mode", json_string(ostr(e, "mode", "ingress")));
			const char *hip = json_string_value(json_object_get(e, "host_ip"));
			if (hip)
				json_object_set_new(p, "host_ip", json_string(hip));
			json_t *t = json_object_get(e, "target");
			_cleanup_free_ char *ts = scalar_str(t);
			long tl, th;
			if (!ts || parse_range(ts, &tl, &th) < 0 || tl != th || tl == 0) {
				json_decref(p);
				json_decref(out);
				return nfail(n, e, err, path, "invalid target port %s", ts ? ts : "(missing)");
			}
			json_object_set_new(p, "target", json_integer(tl));
			json_t *pb = json_object_get(e, "published");
			_cleanup_free_ char *ps = pb ? scalar_str(pb) : NULL;
			if (ps && *ps) {
				long pl, ph;
				if (parse_range(ps, &pl, &ph) < 0) {
					json_decref(p);
					json_decref(out);
					return nfail(n, e, err, path, "invalid published port \"%s\"", ps);
				}
				json_object_set_new(p, "published", json_string(ps));
			}
			json_object_set_new(p, "protocol", json_string(ostr(e, "protocol", "tcp")));
			const char *k;
			json_t *x;
			json_object_foreach(e, k, x) if (!json_object_get(p, k)) json_object_set(p, k, x);
			json_array_append_new(out, p);
			continue;
		}
		_cleanup_free_ char *s = scalar_str(e);
		char *why = NULL;
		if (!s || compose_parse_port(s, out, &why) < 0) {
			nfail(n, e, err, path, "invalid port \"%s\": %s", s ? s : "?", why ? why : "not a port");
			free(why);
			json_decref(out);
			return -1;
		}
	}
	/* duplicates (the same mapping from two files) collapse */
	for (size_t a = 0; a < json_array_size(out); a++)
		for (size_t b = a + 1; b < json_array_size(out);)
			if (json_equal(json_array_get(out, a), json_array_get(out, b)))
				json_array_remove(out, b);
			else
				b++;
	*ret = out;
	return 0;
}

/* ---- volumes ---- */
static bool is_path_source(const char *s)
{
	return s[0] == '.' || s[0] == '/' || s[0] == '~';
}

json_t *compose_parse_volume(const char *spec, const char *workdir, bool resolve, char **why)
{
	if (!*spec) {
		*why = strdup("invalid empty volume spec");
		return NULL;
	}
	_cleanup_free_ char *s = strdup(spec);
	char *parts[4] = {0};
	int np = 0;
	for (char *p = s; np < 4;) {
		parts[np++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = 0;
		p = c + 1;
	}
	if (np > 3 || (np == 4)) {
		*why = strdup("too many colons");
		return NULL;
	}
	const char *src = NULL, *dst, *mode = NULL;
	if (np == 1) {
		dst = parts[0];
	} else {
		src = parts[0];
		dst = parts[1];
		mode = np == 3 ? parts[2] : NULL;
	}
	if (!*dst || (src && !*src)) {
		*why = strdup("empty section");
		return NULL;
	}
	if (dst[0] != '/') {
		if (asprintf(why, "the container path \"%s\" must be absolute", dst) < 0)
			*why = NULL;
		return NULL;
	}
	json_t *v = json_object();
	bool bind = src && is_path_source(src);
	json_object_set_new(v, "type", json_string(bind ? "bind" : "volume"));
	if (src) {
		if (bind && resolve) {
			_cleanup_free_ char *a = compose_abs_path(workdir, src);
			json_object_set_new(v, "source", json_string(a));
		} else {
			json_object_set_new(v, "source", json_string(src));
		}
	}
	json_object_set_new(v, "target", json_string(dst));
	json_t *bindo = json_object(), *volo = json_object();
	if (mode) {
		_cleanup_free_ char *mc = strdup(mode);
		char *save = NULL;
		for (char *o = strtok_r(mc, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (!strcmp(o, "ro"))
				json_object_set_new(v, "read_only", json_true());
			else if (!strcmp(o, "rw"))
				;
			else if (!strcmp(o, "z") || !strcmp(o, "Z"))
				json_object_set_new(bindo, "selinux", json_string(o));
			else if (!strcmp(o, "nocopy"))
				json_object_set_new(volo, "nocopy", json_true());
			else if (!strcmp(o, "consistent") || !strcmp(o, "cached") || !strcmp(o, "delegated"))
				json_object_set_new(v, "consistency", json_string(o));
			else if (!strcmp(o, "shared") || !strcmp(o, "rshared") || !strcmp(o, "slave") ||
				 !strcmp(o, "rslave") || !strcmp(o, "private") || !strcmp(o, "rprivate"))
				json_object_set_new(bindo, "propagation", json_string(o));
			else {
				if (asprintf(why, "unknown option \"%s\"", o) < 0)
					*why = NULL;
				json_decref(v);
				json_decref(bindo);
				json_decref(volo);
				return NULL;
			}
		}
	}
	if (bind) {
		json_object_set_new(bindo, "create_host_path", json_true());
		json_object_set_new(v, "bind", bindo);
		json_decref(volo);
	} else {
		json_object_set_new(v, "volume", volo);
		json_decref(bindo);
	}
	return v;
}

static int norm_volumes(struct cnorm *n, const char *svc, json_t *vols, json_t **ret, struct berr **err)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(vols, i, e)
	{
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "services.%s.volumes[%zu]", svc, i) < 0)
			path = NULL;
		if (json_is_string(e)) {
			char *why = NULL;
			json_t *v = compose_parse_volume(json_string_value(e), n->workdir, n->resolve_paths, &why);
			if (!v) {
				nfail(n, e, err, path, "invalid volume \"%s\": %s", json_string_value(e),
				      why ? why : "invalid");
				free(why);
				json_decref(out);
				return -1;
			}
			json_array_append_new(out, v);
			continue;
		}
		json_t *v = json_deep_copy(e);
		const char *type = ostr(v, "type", "");
		const char *src = json_string_value(json_object_get(v, "source"));
		if (!strcmp(type, "bind") && src && n->resolve_paths) {
			_cleanup_free_ char *a = compose_abs_path(n->workdir, src);
			json_object_set_new(v, "source", json_string(a));
		}
		if (!strcmp(type, "bind") && !json_object_get(v, "bind"))
			json_object_set_new(v, "bind", json_pack("{sb}", "create_host_path", 1));
		if (!strcmp(type, "volume") && !json_object_get(v, "volume"))
			json_object_set_new(v, "volume", json_object());
		json_array_append_new(out, v);
	}
	/* one mount per target: the last definition wins, at the first place */
	for (size_t a = 0; a < json_array_size(out); a++)
		for (size_t b = a + 1; b < json_array_size(out);) {
			const char *ta = ostr(json_array_get(out, a), "target", "");
			const char *tb = ostr(json_array_get(out, b), "target", "");
			if (*ta && !strcmp(ta, tb)) {
				json_array_set(out, a, json_array_get(out, b));
				json_array_remove(out, b);
			} else {
				b++;
			}
		}
	*ret = out;
	return 0;
}

static json_t *norm_command(const json_t *v, bool *bad)
{
	*bad = false;
	if (json_is_string(v)) {
		json_t *a = json_array();
		if (compose_split_words(json_string_value(v), a) < 0)
			*bad = true;
		return a;
	}
	return json_deep_copy(v);
}

static const char *const str_or_list[] = {"dns", "dns_search", "tmpfs", "env_file", "label_file", "dns_opt"};

static int norm_service(struct cnorm *n, const char *name, json_t *s, struct berr **err)
{
	_cleanup_free_ char *base = NULL;
	if (asprintf(&base, "services.%s", name) < 0)
		return berr_set(err, ENOMEM, "normalize");
	json_t *v;
	/* build */
	if ((v = json_object_get(s, "build"))) {
		json_t *b = json_is_string(v) ? json_pack("{sO}", "context", v) : json_deep_copy(v);
		const char *ctx = ostr(b, "context", ".");
		if (!json_object_get(b, "context"))
			json_object_set_new(b, "context", json_string("."));
		if (n->resolve_paths && !is_url_context(ctx)) {
			_cleanup_free_ char *a = compose_abs_path(n->workdir, ctx);
			json_object_set_new(b, "context", json_string(a));
		}
		if (!json_object_get(b, "dockerfile") && !json_object_get(b, "dockerfile_inline"))
			json_object_set_new(b, "dockerfile", json_string("Dockerfile"));
		json_t *args = json_object_get(b, "args");
		if (args)
			json_object_set_new(b, "args", to_str_map(args, true));
		json_t *labels = json_object_get(b, "labels");
		if (labels)
			json_object_set_new(b, "labels", to_str_map(labels, false));
		json_object_set_new(s, "build", b);
	}
	if (!json_object_get(s, "image") && !json_object_get(s, "build"))
		return nfail(n, s, err, base, "service \"%s\" has neither an image nor a build context specified",
			     name);
	/* command / entrypoint */
	static const char *const cmds[] = {"command", "entrypoint"};
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if ((v = json_object_get(s, cmds[i])) && !json_is_null(v)) {
			bool bad;
			json_t *c = norm_command(v, &bad);
			if (bad) {
				json_decref(c);
				return nfail(n, v, err, base, "%s: unterminated quote in \"%s\"", cmds[i],
					     json_string_value(v));
			}
			json_object_set_new(s, cmds[i], c);
		}
	/* environment (+ env_file) */
	json_t *env = json_object_get(s, "environment");
	json_t *envn = env ? to_str_map(env, true) : json_object();
	if ((v = json_object_get(s, "env_file"))) {
		json_t *files = json_array();
		json_t *list = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
		json_t *fromfiles = json_object();
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e)
		{
			const char *p = json_is_string(e) ? json_string_value(e) : ostr(e, "path", "");
			json_t *req = json_is_object(e) ? json_object_get(e, "required") : NULL;
			bool required = !req || json_is_true(req) || (json_is_string(req) && !strcmp(json_string_value(req), "true"));
			_cleanup_free_ char *a = compose_abs_path(n->workdir, p);
			json_array_append_new(files, json_pack("{sssb}", "path", n->resolve_paths ? a : p, "required",
							       required));
			if (access(a, F_OK) != 0) {
				if (!required)
					continue;
				json_decref(list);
				json_decref(files);
				json_decref(fromfiles);
				json_decref(envn);
				return nfail(n, e, err, base, "env file %s not found: %s", a, strerror(errno));
			}
			struct berr *e2 = NULL;
			if (compose_dotenv_load(a, NULL, NULL, fromfiles, &e2) < 0) {
				_cleanup_free_ char *where = cmarks_where(n->m, e, NULL);
				berr_setc(err, BERR_INVALID, "%s%s.env_file: %s", where, base, e2->msg);
				berr_free(e2);
				json_decref(list);
				json_decref(files);
				json_decref(fromfiles);
				json_decref(envn);
				return -1;
			}
		}
		json_decref(list);
		/* environment: wins over env_file values */
		const char *k;
		json_t *x;
		json_object_foreach(envn, k, x) json_object_set(fromfiles, k, x);
		json_decref(envn);
		envn = fromfiles;
		json_object_set_new(s, "env_file", files);
	}
	/* KEY without a value takes the value from the environment when set */
	{
		const char *k;
		json_t *x;
		json_object_foreach(envn, k, x) if (json_is_null(x))
		{
			const char *val = json_string_value(json_object_get(n->env, k));
			if (val)
				json_object_set_new(envn, k, json_string(val));
		}
	}
	if (env || json_object_size(envn))
		json_object_set_new(s, "environment", envn);
	else
		json_decref(envn);
	static const char *const maps[] = {"labels", "annotations", "sysctls"};
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
		if ((v = json_object_get(s, maps[i])))
			json_object_set_new(s, maps[i], to_str_map(v, false));
	for (size_t i = 0; i < ARRAY_SIZE(str_or_list); i++)
		if ((v = json_object_get(s, str_or_list[i])) && json_is_string(v) && strcmp(str_or_list[i], "env_file"))
			json_object_set_new(s, str_or_list[i], json_pack("[O]", v));
	if ((v = json_object_get(s, "expose")) && json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			_cleanup_free_ char *x = scalar_str(e);
			json_array_append_new(a, json_string(x ? x : ""));
		}
		json_object_set_new(s, "expose", a);
	}
	/* ports / volumes */
	if ((v = json_object_get(s, "ports"))) {
		json_t *p = NULL;
		if (norm_ports(n, name, v, &p, err) < 0)
			return -1;
		json_object_set_new(s, "ports", p);
	}
	if ((v = json_object_get(s, "volumes"))) {
		json_t *p = NULL;
		if (norm_volumes(n, name, v, &p, err) < 0)
			return -1;
		json_object_set_new(s, "volumes", p);
	}
	/* networks */
	v = json_object_get(s, "networks");
	if (json_is_array(v)) {
		json_t *o = json_object();
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) if (json_is_string(e)) json_object_set_new(o, json_string_value(e), json_null());
		json_object_set_new(s, "networks", o);
	} else if (!v && !json_object_get(s, "network_mode")) {
		json_object_set_new(s, "networks", json_pack("{sn}", "default"));
	}
	/* depends_on */
	v = json_object_get(s, "depends_on");
	if (v) {
		json_t *o = json_object();
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) if (json_is_string(e)) json_object_set_new(
				o, json_string_value(e), json_pack("{sssb}", "condition", "service_started", "required", 1));
		} else {
			const char *k;
			json_t *x;
			json_object_foreach(v, k, x)
			{
				json_t *d = json_is_object(x) ? json_deep_copy(x) : json_object();
				if (!json_object_get(d, "condition"))
					json_object_set_new(d, "condition", json_string("service_started"));
				if (!json_object_get(d, "required"))
					json_object_set_new(d, "required", json_true());
				json_object_set_new(o, k, d);
			}
		}
		json_object_set_new(s, "depends_on", o);
	}
	/* healthcheck */
	json_t *hc = json_object_get(s, "healthcheck");
	if (json_is_object(hc) && (v = json_object_get(hc, "test")) && json_is_string(v))
		json_object_set_new(hc, "test", json_pack("[ss]", "CMD-SHELL", json_string_value(v)));
	/* secrets / configs short syntax */
	static const char *const sc[] = {"secrets", "configs"};
	for (size_t i = 0; i < ARRAY_SIZE(sc); i++)
		if ((v = json_object_get(s, sc[i])) && json_is_array(v)) {
			json_t *a = json_array();
			size_t j;
			json_t *e;
			json_array_foreach(v, j, e) json_array_append_new(
				a, json_is_string(e) ? json_pack("{sO}", "source", e) : json_deep_copy(e));
			json_object_set_new(s, sc[i], a);
		}
	/* numbers that may arrive as strings after interpolation */
	static const char *const ints[] = {"scale", "cpu_shares", "pids_limit", "oom_score_adj", "cpu_count"};
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
		if ((v = json_object_get(s, ints[i])) && json_is_string(v)) {
			char *end;
			long long x = strtoll(json_string_value(v), &end, 10);
			if (*end || end == json_string_value(v))
				return nfail(n, v, err, base, "%s: \"%s\" is not a number", ints[i], json_string_value(v));
			json_object_set_new(s, ints[i], json_integer(x));
		}
	if ((v = json_object_get(s, "working_dir")) && json_is_string(v) && json_string_value(v)[0] &&
	    json_string_value(v)[0] != '/')
		return nfail(n, v, err, base, "working_dir \"%s\" must be an absolute path", json_string_value(v));
	return 0;
}

static int norm_resources(struct cnorm *n, json_t *doc, const char *kind, bool file_based)
{
	json_t *o = json_object_get(doc, kind);
	if (!json_is_object(o))
		return 0;
	const char *k;
	json_t *x;
	void *tmp;
	json_object_foreach_safe(o, tmp, k, x)
	{
		json_t *d = json_is_object(x) ? json_deep_copy(x) : json_object();
		json_t *ext = json_object_get(d, "external");
		const char *ename = json_is_object(ext) ? json_string_value(json_object_get(ext, "name")) : NULL;
		if (ename) {
			json_object_set_new(d, "name", json_string(ename));
			json_object_set_new(d, "external", json_true());
		}
		bool external = json_is_true(json_object_get(d, "external"));
		if (!json_object_get(d, "name")) {
			if (external) {
				json_object_set_new(d, "name", json_string(k));
			} else {
				_cleanup_free_ char *nm = NULL;
				if (asprintf(&nm, "%s_%s", n->name, k) >= 0)
					json_object_set_new(d, "name", json_string(nm));
			}
		}
		const char *f = json_string_value(json_object_get(d, "file"));
		if (file_based && f && n->resolve_paths) {
			_cleanup_free_ char *a = compose_abs_path(n->workdir, f);
			json_object_set_new(d, "file", json_string(a));
		}
		json_t *labels = json_object_get(d, "labels");
		if (labels)
			json_object_set_new(d, "labels", to_str_map(labels, false));
		json_object_set_new(o, k, d);
	}
	return 0;
}

int compose_normalize(struct cnorm *n, json_t *doc, struct berr **err)
{
	json_object_del(doc, "version");
	json_t *svcs = json_object_get(doc, "services");
	if (!svcs) {
		svcs = json_object();
		json_object_set_new(doc, "services", svcs);
	}
	const char *name;
	json_t *s;
	bool uses_default = false;
	json_object_foreach(svcs, name, s)
	{
		if (!json_is_object(s))
			return berr_setc(err, BERR_INVALID, "services.%s must be a mapping", name);
		if (norm_service(n, name, s, err) < 0)
			return -1;
		if (json_object_get(json_object_get(s, "networks"), "default"))
			uses_default = true;
	}
	if (uses_default) {
		json_t *nets = json_object_get(doc, "networks");
		if (!nets) {
			nets = json_object();
			json_object_set_new(doc, "networks", nets);
		}
		if (!json_object_get(nets, "default"))
			json_object_set_new(nets, "default", json_object());
	}
	norm_resources(n, doc, "networks", false);
	norm_resources(n, doc, "volumes", false);
	norm_resources(n, doc, "secrets", true);
	norm_resources(n, doc, "configs", true);
	return 0;
}
