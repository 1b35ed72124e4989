/* compose_load: files -> one normalized project.
 *
 * Order, as docker compose does it: find the files (-f, COMPOSE_FILE, or
 * discovery upwards from the working directory plus the override file),
 * build the interpolation environment (process environment first, then
 * the env files), and for each file: parse, check against the schema (on
 * the raw text, so `${PORT}` may stand where a number belongs), interpolate,
 * pull in `include`s and resolve `extends`; then merge the files in order,
 * drop services disabled by profiles, normalize, and check the references
 * between services (depends_on, networks, volumes, secrets, configs). */
#include "compose/internal.h"
#include "compose/project.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

struct lctx {
	const struct compose_opts *o;
	struct cmarks *m;
	json_t *env;      /* interpolation environment */
	json_t *warned;
	json_t *warnings;
	json_t *files;    /* absolute paths loaded */
	json_t *stack;    /* include chain */
	char *workdir;
};

static const char *env_lookup(const char *name, void *ctx)
{
	return json_string_value(json_object_get((json_t *)ctx, name));
}

static void warn_cb(const char *msg, void *ctx)
{
	json_array_append_new((json_t *)ctx, json_string(msg));
}

static char *dir_of(const char *path)
{
	const char *sl = strrchr(path, '/');
	if (!sl)
		return strdup(".");
	if (sl == path)
		return strdup("/");
	return strndup(path, (size_t)(sl - path));
}

static char *abs_from_cwd(const char *p)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");
	return compose_abs_path(cwd, p);
}

static int read_input(const char *path, char **buf, size_t *len, struct berr **err)
{
	if (!strcmp(path, "-")) {
		struct sbuf b = SBUF_INIT;
		char tmp[65536];
		ssize_t n;
		while ((n = read(0, tmp, sizeof(tmp))) > 0) {
			sbuf_add(&b, tmp, (size_t)n);
			if (b.len > CY_MAX_BYTES) {
				sbuf_release(&b);
				return berr_setc(err, BERR_INVALID, "stdin: compose file too large");
			}
		}
		if (n < 0) {
			sbuf_release(&b);
			return berr_set(err, errno, "reading stdin");
		}
		*len = b.len;
		*buf = sbuf_detach(&b);
		return 0;
	}
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return berr_setc(err, BERR_INVALID, "%s is a directory, not a compose file", path);
	if (fs_read_file_at(AT_FDCWD, path, CY_MAX_BYTES, buf, len, err) < 0)
		return berr_wrap(err, "reading %s", path);
	return 0;
}

/* Parse one file into a mapping (not interpolated, not validated). */
static int parse_file(struct lctx *c, const char *path, const char *label, json_t **ret, struct berr **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (read_input(path, &buf, &len, err) < 0)
		return -1;
	json_t *doc = NULL;
	if (compose_yaml_parse(buf, len, label, c->m, &doc, err) < 0)
		return -1;
	if (json_is_array(doc)) {
		/* several documents in one file merge in order */
		json_t *acc = json_object();
		size_t i;
		json_t *d;
		json_array_foreach(doc, i, d)
		{
			if (!json_is_object(d)) {
				json_decref(acc);
				json_decref(doc);
				return berr_setc(err, BERR_INVALID, "%s: document %zu is not a mapping", label, i + 1);
			}
			json_t *n = compose_merge(c->m, acc, d);
			json_decref(acc);
			acc = n;
		}
		json_decref(doc);
		doc = acc;
	}
	if (!doc || (json_is_object(doc) && json_object_size(doc) == 0)) {
		json_decref(doc);
		return berr_setc(err, BERR_INVALID, "%s: empty compose file", label);
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		return berr_setc(err, BERR_INVALID, "%s: top-level object must be a mapping", label);
	}
	*ret = doc;
	return 0;
}

static int validate(struct lctx *c, json_t *doc, const char *label, struct berr **err)
{
	_cleanup_json_ json_t *copy = cm_dup(c->m, doc);
	compose_drop_resets(c->m, copy);
	/* `extends` and `include` entries are checked where they are used */
	return compose_schema_validate(compose_schema(), copy, c->m, label, err);
}

static int interpolate(struct lctx *c, json_t *env, json_t *doc, const char *label, struct berr **err)
{
	if (c->o->no_interpolate)
		return 0;
	struct cinterp ci = {.lookup = env_lookup, .ctx = env, .warned = c->warned, .warn = warn_cb,
			     .warn_ctx = c->warnings};
	return compose_interp_doc(&ci, c->m, doc, label, err);
}

/* ---- paths of a service defined in another directory ---- */
static void rebase_str(json_t *obj, const char *key, const char *dir, bool url_ok)
{
	const char *v = json_string_value(json_object_get(obj, key));
	if (!v || v[0] == '/' || (url_ok && (strstr(v, "://") || !strncmp(v, "git@", 4) ||
					     !strncmp(v, "github.com/", 11))))
		return;
	_cleanup_free_ char *a = compose_abs_path(dir, v);
	json_object_set_new(obj, key, json_string(a));
}

static void rebase_service(json_t *s, const char *dir)
{
	json_t *b = json_object_get(s, "build");
	if (json_is_string(b)) {
		json_t *o = json_pack("{sO}", "context", b);
		json_object_set_new(s, "build", o);
		b = o;
	}
	if (json_is_object(b)) {
		if (!json_object_get(b, "context"))
			json_object_set_new(b, "context", json_string("."));
		rebase_str(b, "context", dir, true);
	}
	json_t *ef = json_object_get(s, "env_file");
	if (json_is_string(ef)) {
		json_t *a = json_pack("[O]", ef);
		json_object_set_new(s, "env_file", a);
		ef = a;
	}
	if (json_is_array(ef)) {
		for (size_t i = 0; i < json_array_size(ef); i++) {
			json_t *e = json_array_get(ef, i);
			if (json_is_string(e)) {
				const char *v = json_string_value(e);
				if (v[0] != '/') {
					_cleanup_free_ char *a = compose_abs_path(dir, v);
					json_array_set_new(ef, i, json_string(a));
				}
			} else if (json_is_object(e)) {
				rebase_str(e, "path", dir, false);
			}
		}
	}
	json_t *vols = json_object_get(s, "volumes");
	for (size_t i = 0; json_is_array(vols) && i < json_array_size(vols); i++) {
		json_t *e = json_array_get(vols, i);
		if (json_is_string(e)) {
			const char *v = json_string_value(e);
			if ((v[0] == '.' || v[0] == '~') && strchr(v, ':')) {
				const char *colon = strchr(v, ':');
				_cleanup_free_ char *src = strndup(v, (size_t)(colon - v));
				_cleanup_free_ char *a = compose_abs_path(dir, src);
				_cleanup_free_ char *n = NULL;
				if (asprintf(&n, "%s%s", a, colon) >= 0)
					json_array_set_new(vols, i, json_string(n));
			}
		} else if (json_is_object(e) && !strcmp(json_string_value(json_object_get(e, "type")) ?: "", "bind")) {
			rebase_str(e, "source", dir, false);
		}
	}
}

static void rebase_doc(json_t *doc, const char *dir)
{
	const char *k;
	json_t *s;
	json_object_foreach(json_object_get(doc, "services"), k, s) if (json_is_object(s)) rebase_service(s, dir);
	static const char *const fk[] = {"secrets", "configs"};
	for (size_t i = 0; i < ARRAY_SIZE(fk); i++)
		json_object_foreach(json_object_get(doc, fk[i]), k, s) if (json_is_object(s)) rebase_str(s, "file", dir, false);
}

/* ---- extends ---- */
struct xfile {
	char *path;
	json_t *doc;
};

static int load_doc(struct lctx *c, json_t *env, const char *path, json_t **ret, struct berr **err);

static int resolve_extends(struct lctx *c, json_t *env, json_t *doc, const char *path, const char *svc,
			   json_t *stack, json_t **ret, struct berr **err)
{
	json_t *s = json_object_get(json_object_get(doc, "services"), svc);
	if (!json_is_object(s))
		return berr_setc(err, BERR_INVALID, "%s: cannot extend service \"%s\": no such service", path, svc);
	json_t *ext = json_object_get(s, "extends");
	if (!ext) {
		*ret = cm_dup(c->m, s);
		return 0;
	}
	const char *bname = json_is_string(ext) ? json_string_value(ext) : json_string_value(json_object_get(ext, "service"));
	const char *bfile = json_is_object(ext) ? json_string_value(json_object_get(ext, "file")) : NULL;
	if (!bname)
		return berr_setc(err, BERR_INVALID, "%s: services.%s.extends: service is required", path, svc);
	_cleanup_free_ char *dir = dir_of(path);
	_cleanup_free_ char *bpath = bfile ? compose_abs_path(dir, bfile) : strdup(path);
	_cleanup_free_ char *key = NULL;
	if (asprintf(&key, "%s#%s", bpath, bname) < 0)
		return berr_set(err, ENOMEM, "extends");
	size_t i;
	json_t *e;
	json_array_foreach(stack, i, e) if (!strcmp(json_string_value(e), key))
	{
		return berr_setc(err, BERR_INVALID, "%s: services.%s.extends: circular reference with extends (%s)", path,
				 svc, bname);
	}
	if (json_array_size(stack) > 32)
		return berr_setc(err, BERR_INVALID, "%s: services.%s.extends: chain too long", path, svc);
	_cleanup_json_ json_t *bdoc = NULL;
	if (bfile) {
		if (load_doc(c, env, bpath, &bdoc, err) < 0)
			return berr_wrap(err, "services.%s.extends", svc);
	} else {
		bdoc = json_incref(doc);
	}
	json_array_append_new(stack, json_string(key));
	json_t *base = NULL;
	int r = resolve_extends(c, env, bdoc, bpath, bname, stack, &base, err);
	json_array_remove(stack, json_array_size(stack) - 1);
	if (r < 0)
		return -1;
	if (bfile) {
		_cleanup_free_ char *bdir = dir_of(bpath);
		if (strcmp(bdir, dir))
			rebase_service(base, bdir);
	}
	_cleanup_json_ json_t *own = cm_dup(c->m, s);
	json_object_del(own, "extends");
	*ret = compose_merge_service(c->m, base, own);
	json_decref(base);
	return 0;
}

/* parse + validate + interpolate one file (for extends targets and includes) */
static int load_doc(struct lctx *c, json_t *env, const char *path, json_t **ret, struct berr **err)
{
	json_t *doc = NULL;
	if (parse_file(c, path, path, &doc, err) < 0)
		return -1;
	if (validate(c, doc, path, err) < 0 || interpolate(c, env, doc, path, err) < 0) {
		json_decref(doc);
		return -1;
	}
	*ret = doc;
	return 0;
}

static int load_env_file(json_t *env, const char *path, struct berr **err)
{
	/* the process environment wins; earlier files' values can be used */
	_cleanup_json_ json_t *vals = json_object();
	if (compose_dotenv_load(path, env_lookup, env, vals, err) < 0)
		return -1;
	const char *k;
	json_t *v;
	json_object_foreach(vals, k, v) if (!json_object_get(env, k)) json_object_set(env, k, v);
	return 0;
}

static json_t *os_env(void)
{
	json_t *e = json_object();
	for (char **p = environ; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		if (!eq)
			continue;
		_cleanup_free_ char *k = strndup(*p, (size_t)(eq - *p));
		json_object_set_new(e, k, json_string(eq + 1));
	}
	return e;
}

static int process_file(struct lctx *c, json_t *env, const char *path, const char *label, json_t **ret,
			struct berr **err);

static int do_includes(struct lctx *c, json_t *doc, const char *path, struct berr **err)
{
	json_t *inc = json_object_get(doc, "include");
	if (!inc)
		return 0;
	_cleanup_free_ char *dir = dir_of(path);
	size_t i;
	json_t *e;
	json_array_foreach(inc, i, e)
	{
		json_t *paths = json_is_string(e) ? e : json_object_get(e, "path");
		_cleanup_json_ json_t *plist = json_is_array(paths) ? json_incref(paths) : json_pack("[O]", paths);
		const char *pdir = json_is_object(e) ? json_string_value(json_object_get(e, "project_directory")) : NULL;
		_cleanup_json_ json_t *ienv = os_env();
		_cleanup_free_ char *first = compose_abs_path(dir, json_string_value(json_array_get(plist, 0)) ?: "");
		_cleanup_free_ char *idir = pdir ? compose_abs_path(dir, pdir) : dir_of(first);
		json_t *ef = json_is_object(e) ? json_object_get(e, "env_file") : NULL;
		if (ef) {
			_cleanup_json_ json_t *el = json_is_array(ef) ? json_incref(ef) : json_pack("[O]", ef);
			size_t j;
			json_t *f;
			json_array_foreach(el, j, f)
			{
				_cleanup_free_ char *a = compose_abs_path(dir, json_string_value(f) ?: "");
				if (load_env_file(ienv, a, err) < 0)
					return -1;
			}
		} else {
			_cleanup_free_ char *dotenv = NULL;
			if (asprintf(&dotenv, "%s/.env", idir) >= 0 && access(dotenv, R_OK) == 0 &&
			    load_env_file(ienv, dotenv, err) < 0)
				return -1;
		}
		_cleanup_json_ json_t *acc = NULL;
		size_t j;
		json_t *p;
		json_array_foreach(plist, j, p)
		{
			if (!json_is_string(p))
				return berr_setc(err, BERR_INVALID, "%s: include[%zu]: path must be a string", path, i);
			_cleanup_free_ char *a = compose_abs_path(dir, json_string_value(p));
			json_t *sub = NULL;
			if (process_file(c, ienv, a, a, &sub, err) < 0)
				return -1;
			/* relative paths of an included file are relative to its own directory */
			rebase_doc(sub, j == 0 ? idir : dir_of(a));
			json_t *n = acc ? compose_merge(c->m, acc, sub) : json_incref(sub);
			json_decref(sub);
			json_decref(acc);
			acc = n;
		}
		/* import: a name defined twice (differently) is an error */
		static const char *const kinds[] = {"services", "networks", "volumes", "secrets", "configs"};
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			json_t *from = json_object_get(acc, kinds[k]);
			if (!json_is_object(from))
				continue;
			json_t *to = json_object_get(doc, kinds[k]);
			if (!json_is_object(to)) {
				to = json_object();
				json_object_set_new(doc, kinds[k], to);
			}
			const char *name;
			json_t *v;
			json_object_foreach(from, name, v)
			{
				json_t *have = json_object_get(to, name);
				if (have && !json_equal(have, v))
					return berr_setc(err, BERR_INVALID,
							 "%s: imported compose file %s defines conflicting %s \"%s\"", path,
							 json_string_value(json_array_get(plist, 0)), kinds[k], name);
				if (!have)
					json_object_set(to, name, v);
			}
		}
	}
	json_object_del(doc, "include");
	return 0;
}

/* One file with everything it pulls in: parse, validate, interpolate,
 * includes, extends. */
static int process_file(struct lctx *c, json_t *env, const char *path, const char *label, json_t **ret,
			struct berr **err)
{
	size_t i;
	json_t *e;
	json_array_foreach(c->stack, i, e) if (!strcmp(json_string_value(e), path))
	{
		struct sbuf chain = SBUF_INIT;
		size_t j;
		json_t *x;
		json_array_foreach(c->stack, j, x) if (j >= i) sbuf_addf(&chain, "%s -> ", json_string_value(x));
		sbuf_adds(&chain, path);
		berr_setc(err, BERR_INVALID, "include cycle detected: %s", sbuf_str(&chain));
		sbuf_release(&chain);
		return -1;
	}
	json_t *doc = NULL;
	if (parse_file(c, path, label, &doc, err) < 0)
		return -1;
	if (json_object_get(doc, "version"))
		json_array_append_new(c->warnings, json_sprintf("%s: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion", label));
	if (validate(c, doc, label, err) < 0 || interpolate(c, env, doc, label, err) < 0)
		goto fail;
	if (strcmp(path, "-")) {
		bool seen = false;
		json_array_foreach(c->files, i, e) seen = seen || !strcmp(json_string_value(e), path);
		if (!seen)
			json_array_append_new(c->files, json_string(path));
	}
	json_array_append_new(c->stack, json_string(path));
	int r = do_includes(c, doc, strcmp(path, "-") ? path : "./-", err);
	json_array_remove(c->stack, json_array_size(c->stack) - 1);
	if (r < 0)
		goto fail;
	/* extends */
	json_t *svcs = json_object_get(doc, "services");
	if (json_is_object(svcs)) {
		_cleanup_json_ json_t *resolved = json_object();
		const char *name;
		json_t *s;
		json_object_foreach(svcs, name, s)
		{
			if (!json_object_get(s, "extends"))
				continue;
			_cleanup_json_ json_t *stack = json_array();
			_cleanup_free_ char *key = NULL;
			if (asprintf(&key, "%s#%s", path, name) >= 0)
				json_array_append_new(stack, json_string(key));
			json_t *rs = NULL;
			if (resolve_extends(c, env, doc, strcmp(path, "-") ? path : "./-", name, stack, &rs, err) < 0)
				goto fail;
			json_object_set_new(resolved, name, rs);
		}
		json_object_foreach(resolved, name, s) json_object_set(svcs, name, s);
	}
	*ret = doc;
	return 0;
fail:
	json_decref(doc);
	return -1;
}

/* ---- files and names ---- */
static const char *const default_names[] = {"compose.yaml", "compose.yml", "docker-compose.yml",
					    "docker-compose.yaml"};
static const char *const override_names[] = {"compose.override.yaml", "compose.override.yml",
					     "docker-compose.override.yml", "docker-compose.override.yaml"};

static int discover(struct lctx *c, const char *start, json_t *files, struct berr **err)
{
	_cleanup_free_ char *dir = strdup(start);
	for (;;) {
		for (size_t i = 0; i < ARRAY_SIZE(default_names); i++) {
			_cleanup_free_ char *p = NULL;
			if (asprintf(&p, "%s/%s", strcmp(dir, "/") ? dir : "", default_names[i]) < 0)
				return berr_set(err, ENOMEM, "discover");
			if (access(p, F_OK) != 0)
				continue;
			for (size_t j = i + 1; j < ARRAY_SIZE(default_names); j++) {
				_cleanup_free_ char *q = NULL;
				if (asprintf(&q, "%s/%s", dir, default_names[j]) >= 0 && access(q, F_OK) == 0)
					json_array_append_new(c->warnings,
							      json_sprintf("Found multiple config files with supported names: %s, %s\nUsing %s", p, q, p));
			}
			json_array_append_new(files, json_string(p));
			for (size_t j = 0; j < ARRAY_SIZE(override_names); j++) {
				_cleanup_free_ char *q = NULL;
				if (asprintf(&q, "%s/%s", strcmp(dir, "/") ? dir : "", override_names[j]) >= 0 &&
				    access(q, F_OK) == 0) {
					json_array_append_new(files, json_string(q));
					break;
				}
			}
			return 0;
		}
		if (!strcmp(dir, "/"))
			break;
		char *up = dir_of(dir);
		free(dir);
		dir = up;
	}
	return berr_setc(err, BERR_NOT_FOUND, "no configuration file provided: not found");
}

static char *normalize_name(const char *in)
{
	char *s = malloc(strlen(in) + 1);
	size_t o = 0;
	for (const char *p = in; *p; p++) {
		char ch = (char)tolower((unsigned char)*p);
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-')
			s[o++] = ch;
	}
	s[o] = 0;
	/* must start with a letter or digit */
	size_t skip = 0;
	while (s[skip] == '_' || s[skip] == '-')
		skip++;
	memmove(s, s + skip, o - skip + 1);
	return s;
}

static bool valid_name(const char *s)
{
	if (!*s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* ---- checks on the merged project ---- */
static int cycle_dfs(json_t *svcs, const char *name, json_t *path, json_t *done, struct berr **err)
{
	if (json_object_get(done, name))
		return 0;
	size_t i;
	json_t *e;
	json_array_foreach(path, i, e) if (!strcmp(json_string_value(e), name))
	{
		struct sbuf b = SBUF_INIT;
		for (size_t j = i; j < json_array_size(path); j++)
			sbuf_addf(&b, "%s -> ", json_string_value(json_array_get(path, j)));
		sbuf_adds(&b, name);
		berr_setc(err, BERR_INVALID, "dependency cycle detected: %s", sbuf_str(&b));
		sbuf_release(&b);
		return -1;
	}
	json_array_append_new(path, json_string(name));
	const char *dep;
	json_t *d;
	json_object_foreach(json_object_get(json_object_get(svcs, name), "depends_on"), dep, d)
	{
		if (json_object_get(svcs, dep) && cycle_dfs(svcs, dep, path, done, err) < 0)
			return -1;
	}
	json_array_remove(path, json_array_size(path) - 1);
	json_object_set_new(done, name, json_true());
	return 0;
}

/* References between services, networks, volumes, secrets and configs
 * (errors only with check: config --no-consistency prints the model
 * anyway), and what they imply: optional dependencies on missing services
 * dropped, network_mode service:X a dependency on X. */
static int check_refs(struct lctx *c, json_t *doc, json_t *disabled, bool check, struct berr **err)
{
	json_t *svcs = json_object_get(doc, "services");
	const char *name;
	json_t *s;
	json_object_foreach(svcs, name, s)
	{
		_cleanup_free_ char *where = cmarks_where(c->m, s, NULL);
		const char *dep;
		json_t *d;
		void *tmp;
		json_object_foreach_safe(json_object_get(s, "depends_on"), tmp, dep, d)
		{
			if (json_object_get(svcs, dep))
				continue;
			bool required = !json_is_false(json_object_get(d, "required"));
			if (!required) {
				json_object_del(json_object_get(s, "depends_on"), dep);
				continue;
			}
			if (!check)
				continue;
			if (json_object_get(disabled, dep))
				return berr_setc(err, BERR_INVALID,
						 "%sservice \"%s\" depends on service \"%s\" which is disabled by its profiles",
						 where, name, dep);
			return berr_setc(err, BERR_INVALID, "%sservice \"%s\" depends on undefined service \"%s\"", where,
					 name, dep);
		}
		json_object_foreach(json_object_get(s, "networks"), dep, d)
		{
			if (check && !json_object_get(json_object_get(doc, "networks"), dep))
				return berr_setc(err, BERR_INVALID, "%sservice \"%s\" refers to undefined network \"%s\"",
						 where, name, dep);
		}
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(s, "volumes"), i, v)
		{
			const char *type = json_string_value(json_object_get(v, "type"));
			const char *src = json_string_value(json_object_get(v, "source"));
			if (check && type && !strcmp(type, "volume") && src && *src &&
			    !json_object_get(json_object_get(doc, "volumes"), src))
				return berr_setc(err, BERR_INVALID, "%sservice \"%s\" refers to undefined volume \"%s\"",
						 where, name, src);
		}
		static const char *const sc[] = {"secrets", "configs"};
		for (size_t k = 0; k < ARRAY_SIZE(sc); k++)
			json_array_foreach(json_object_get(s, sc[k]), i, v)
			{
				const char *src = json_string_value(json_object_get(v, "source"));
				if (check && src && !json_object_get(json_object_get(doc, sc[k]), src))
					return berr_setc(err, BERR_INVALID, "%sservice \"%s\" refers to undefined %.6s \"%s\"",
							 where, name, sc[k], src);
			}
		const char *nm = json_string_value(json_object_get(s, "network_mode"));
		if (check && nm && !strncmp(nm, "service:", 8) && !json_object_get(svcs, nm + 8))
			return berr_setc(err, BERR_INVALID, "%sservice \"%s\" uses network_mode of undefined service \"%s\"",
					 where, name, nm + 8);
		if (nm && !strncmp(nm, "service:", 8)) {
			/* sharing a service's network implies starting it first */
			json_t *deps = json_object_get(s, "depends_on");
			if (!json_is_object(deps))
				json_object_set_new(s, "depends_on", deps = json_object());
			if (!json_object_get(deps, nm + 8))
				json_object_set_new(deps, nm + 8,
						    json_pack("{s:s, s:b, s:b}", "condition", "service_started", "required", 1,
							      "restart", 0));
		}
	}
	_cleanup_json_ json_t *done = json_object();
	json_object_foreach(svcs, name, s)
	{
		_cleanup_json_ json_t *path = json_array();
		if (cycle_dfs(svcs, name, path, done, err) < 0)
			return -1;
	}
	return 0;
}

static bool profile_active(json_t *active, json_t *profiles)
{
	if (!json_is_array(profiles) || json_array_size(profiles) == 0)
		return true;
	size_t i, j;
	json_t *p, *a;
	json_array_foreach(active, j, a) if (!strcmp(json_string_value(a), "*")) return true;
	json_array_foreach(profiles, i, p) json_array_foreach(active, j, a) if (json_equal(p, a)) return true;
	return false;
}

void compose_project_free(struct compose_project *p)
{
	if (!p)
		return;
	json_decref(p->doc);
	free(p->name);
	free(p->working_dir);
	for (size_t i = 0; i < p->nconfig_files; i++)
		free(p->config_files[i]);
	free(p->config_files);
	json_decref(p->env);
	json_decref(p->warnings);
	free(p);
}

int compose_load(const struct compose_opts *o, struct compose_project **out, struct berr **err)
{
	*out = NULL;
	struct lctx c = {.o = o};
	int rc = -1;
	json_t *merged = NULL;
	_cleanup_json_ json_t *files = json_array();
	_cleanup_json_ json_t *disabled = json_object();
	c.m = cmarks_new();
	c.env = os_env();
	c.warned = json_object();
	c.warnings = json_array();
	c.files = json_array();
	c.stack = json_array();
	_cleanup_free_ char *name = NULL;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");

	/* COMPOSE_* may come from the .env of the project (or current) directory */
	_cleanup_json_ json_t *pre = json_object();
	{
		_cleanup_free_ char *pd = o->project_dir ? abs_from_cwd(o->project_dir) : strdup(cwd);
		_cleanup_free_ char *dotenv = NULL;
		if (!o->nenv_files && asprintf(&dotenv, "%s/.env", pd) >= 0 && access(dotenv, R_OK) == 0) {
			struct berr *ignore = NULL;
			if (compose_dotenv_load(dotenv, env_lookup, c.env, pre, &ignore) < 0)
				berr_free(ignore);
		}
	}
#define ENVV(k) (json_string_value(json_object_get(c.env, k)) ?: json_string_value(json_object_get(pre, k)))

	/* files */
	if (o->nfiles) {
		for (size_t i = 0; i < o->nfiles; i++) {
			if (!strcmp(o->files[i], "-")) {
				json_array_append_new(files, json_string("-"));
				continue;
			}
			_cleanup_free_ char *a = abs_from_cwd(o->files[i]);
			if (access(a, F_OK) != 0) {
				berr_setc(err, BERR_NOT_FOUND, "open %s: no such file or directory", a);
				goto out;
			}
			json_array_append_new(files, json_string(a));
		}
	} else if (ENVV("COMPOSE_FILE") && *ENVV("COMPOSE_FILE")) {
		const char *sep = ENVV("COMPOSE_PATH_SEPARATOR") ?: ":";
		_cleanup_free_ char *list = strdup(ENVV("COMPOSE_FILE"));
		char *save = NULL;
		for (char *t = strtok_r(list, sep, &save); t; t = strtok_r(NULL, sep, &save)) {
			_cleanup_free_ char *a = o->project_dir ? compose_abs_path(o->project_dir[0] == '/' ? o->project_dir : cwd, t) : abs_from_cwd(t);
			if (access(a, F_OK) != 0) {
				berr_setc(err, BERR_NOT_FOUND, "COMPOSE_FILE: open %s: no such file or directory", a);
				goto out;
			}
			json_array_append_new(files, json_string(a));
		}
	} else {
		_cleanup_free_ char *start = o->project_dir ? abs_from_cwd(o->project_dir) : strdup(cwd);
		if (discover(&c, start, files, err) < 0)
			goto out;
	}

	/* project directory and the environment */
	const char *first = json_string_value(json_array_get(files, 0));
	if (o->project_dir)
		c.workdir = abs_from_cwd(o->project_dir);
	else if (!strcmp(first, "-"))
		c.workdir = strdup(cwd);
	else
		c.workdir = dir_of(first);
	if (o->nenv_files) {
		for (size_t i = 0; i < o->nenv_files; i++) {
			_cleanup_free_ char *a = abs_from_cwd(o->env_files[i]);
			if (load_env_file(c.env, a, err) < 0)
				goto out;
		}
	} else {
		_cleanup_free_ char *dotenv = NULL;
		if (asprintf(&dotenv, "%s/.env", c.workdir) >= 0 && access(dotenv, F_OK) == 0) {
			struct stat st;
			if (stat(dotenv, &st) == 0 && S_ISDIR(st.st_mode)) {
				/* a directory named .env is not an env file (compose ignores it too) */
			} else if (load_env_file(c.env, dotenv, err) < 0) {
				goto out;
			}
		}
	}

	/* every file, then merge */
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		const char *p = json_string_value(f);
		json_t *doc = NULL;
		size_t cl = strlen(cwd);
		const char *label = p;
		if (!strncmp(p, cwd, cl) && p[cl] == '/' && cl > 1)
			label = p + cl + 1;
		if (process_file(&c, c.env, p, label, &doc, err) < 0)
			goto out;
		if (!merged) {
			merged = doc;
		} else {
			json_t *n = compose_merge(c.m, merged, doc);
			json_decref(merged);
			json_decref(doc);
			merged = n;
		}
	}
	compose_drop_resets(c.m, merged);

	/* project name */
	if (o->project_name) {
		if (!valid_name(o->project_name)) {
			berr_setc(err, BERR_INVALID,
				  "invalid project name \"%s\": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number",
				  o->project_name);
			goto out;
		}
		name = strdup(o->project_name);
	} else if (ENVV("COMPOSE_PROJECT_NAME") && *ENVV("COMPOSE_PROJECT_NAME")) {
		name = normalize_name(ENVV("COMPOSE_PROJECT_NAME"));
	} else if (json_is_string(json_object_get(merged, "name")) && *json_string_value(json_object_get(merged, "name"))) {
		const char *n = json_string_value(json_object_get(merged, "name"));
		if (!valid_name(n)) {
			_cleanup_free_ char *where = cmarks_where(c.m, json_object_get(merged, "name"), NULL);
			berr_setc(err, BERR_INVALID,
				  "%sname: invalid project name \"%s\": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number",
				  where, n);
			goto out;
		}
		name = strdup(n);
	} else {
		const char *base = strrchr(c.workdir, '/');
		name = normalize_name(base ? base + 1 : c.workdir);
	}
	if (!*name) {
		berr_setc(err, BERR_INVALID, "project name must not be empty (name the project with -p or `name:`)");
		goto out;
	}

	/* profiles */
	{
		_cleanup_json_ json_t *active = json_array();
		for (size_t k = 0; k < o->nprofiles; k++)
			json_array_append_new(active, json_string(o->profiles[k]));
		const char *cp = ENVV("COMPOSE_PROFILES");
		if (cp && !o->nprofiles) {
			_cleanup_free_ char *l = strdup(cp);
			char *save = NULL;
			for (char *t = strtok_r(l, ",", &save); t; t = strtok_r(NULL, ",", &save))
				json_array_append_new(active, json_string(t));
		}
		json_t *svcs = json_object_get(merged, "services");
		const char *sname;
		json_t *s;
		void *tmp;
		json_object_foreach_safe(svcs, tmp, sname, s) if (!profile_active(active, json_object_get(s, "profiles")))
		{
			json_object_set_new(disabled, sname, json_true());
			json_object_del(svcs, sname);
		}
	}

	if (!o->no_normalize) {
		struct cnorm n = {.m = c.m, .workdir = c.workdir, .name = name, .env = c.env,
				  .resolve_paths = !o->no_path_resolution};
		if (compose_normalize(&n, merged, err) < 0)
			goto out;
		if (check_refs(&c, merged, disabled, !o->no_consistency, err) < 0)
			goto out;
	}

	/* name first, like docker compose config */
	{
		json_t *doc = json_object();
		json_object_set_new(doc, "name", json_string(name));
		json_object_update(doc, merged);
		json_object_set_new(doc, "name", json_string(name));
		json_decref(merged);
		merged = doc;
	}

	struct compose_project *p = calloc(1, sizeof(*p));
	p->doc = merged;
	merged = NULL;
	p->name = steal_pointer(&name);
	p->working_dir = steal_pointer(&c.workdir);
	p->nconfig_files = json_array_size(c.files);
	p->config_files = calloc(p->nconfig_files + 1, sizeof(char *));
	json_array_foreach(c.files, i, f) p->config_files[i] = strdup(json_string_value(f));
	p->env = json_incref(c.env);
	p->warnings = json_incref(c.warnings);
	*out = p;
	rc = 0;
out:
	json_decref(merged);
	json_decref(c.env);
	json_decref(c.warned);
	json_decref(c.warnings);
	json_decref(c.files);
	json_decref(c.stack);
	free(c.workdir);
	cmarks_free(c.m);
	return rc;
}
