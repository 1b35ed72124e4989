/* Images of a compose project: what to build or pull before containers
 * are created, and building a service's image with berth's builder. */
#include "compose/images.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *compose_pull_policy(json_t *svc)
{
	const char *p = jsonx_str(svc, "pull_policy");
	if (!p || !*p || !strcmp(p, "if_not_present") || !strcmp(p, "daily") || !strcmp(p, "weekly") ||
	    !strncmp(p, "every_", 6))
		return "missing";
	return p;
}

int compose_images_plan(struct compose_engine *e, json_t *services, enum compose_build_mode build, const char *pull,
			json_t **ret, struct berr **err)
{
	json_t *svcs = json_object_get(e->p->doc, "services");
	_cleanup_json_ json_t *idx = image_store_index_read(e->is, err);
	if (!idx)
		return -1;
	_cleanup_json_ json_t *out = json_object();
	size_t i;
	json_t *s;
	json_array_foreach(services, i, s) {
		const char *name = json_string_value(s);
		json_t *svc = json_object_get(svcs, name);
		if (!svc)
			return berr_setc(err, BERR_INVALID, "no such service: %s", name);
		const char *policy = pull ? pull : compose_pull_policy(svc);
		if (strcmp(policy, "missing") && strcmp(policy, "always") && strcmp(policy, "never") &&
		    strcmp(policy, "build"))
			return berr_setc(err, BERR_INVALID, "service \"%s\": invalid pull_policy \"%s\"", name, policy);
		_cleanup_free_ char *img = compose_service_image(e->p, name, svc);
		_cleanup_free_ char *id = NULL;
		struct berr *le = NULL;
		bool present = image_store_resolve(idx, img, &id, NULL, &le) == 0;
		berr_free(le);
		const char *act = NULL;
		if (json_object_get(svc, "build")) {
			if (build == COMPOSE_BUILD_ALWAYS || (build != COMPOSE_BUILD_NEVER && !strcmp(policy, "build")))
				act = "build";
			else if (present)
				act = NULL;
			else if (build == COMPOSE_BUILD_NEVER)
				return berr_setc(err, BERR_NOT_FOUND,
						 "service \"%s\": image %s has not been built yet, and --no-build was given", name, img);
			else
				act = "build";
		} else if (!jsonx_str(svc, "image")) {
			return berr_setc(err, BERR_INVALID, "service \"%s\" has neither an image nor a build context specified",
					 name);
		} else if (!strcmp(policy, "always")) {
			act = "pull";
		} else if (present) {
			act = NULL;
		} else if (!strcmp(policy, "never")) {
			return berr_setc(err, BERR_NOT_FOUND, "service \"%s\": image %s not found locally and pull_policy is never",
					 name, img);
		} else if (!strcmp(policy, "build")) {
			return berr_setc(err, BERR_INVALID, "service \"%s\": pull_policy build needs a build: section", name);
		} else {
			act = "pull";
		}
		if (act)
			json_object_set_new(out, name, json_string(act));
	}
	*ret = steal_pointer(&out);
	return 0;
}

static void warn(struct compose_engine *e, const char *service, const char *what)
{
	if (!e->ev.warn)
		return;
	char *m = NULL;
	if (asprintf(&m, "service \"%s\": build.%s is not supported by berth's builder and is ignored", service, what) >= 0)
		e->ev.warn(e->ev.ud, m);
	free(m);
}

/* A tag as the builder wants it: the normalized full reference. */
static int full_ref(const char *name, const char *service, char **ret, struct berr **err)
{
	struct image_ref r;
	if (image_ref_parse(name, true, &r, err) < 0)
		return berr_wrap(err, "service \"%s\": invalid image name \"%s\"", service, name);
	bool digest = r.digest != NULL;
	*ret = image_ref_string(&r);
	image_ref_release(&r);
	if (digest) {
		free(*ret);
		*ret = NULL;
		return berr_setc(err, BERR_INVALID, "service \"%s\": cannot build an image named by a digest (%s)", service,
				 name);
	}
	return 0;
}

static char *path_join(const char *base, const char *p)
{
	char *s = NULL;
	if (asprintf(&s, "%s/%s", base && *base ? base : ".", p) < 0)
		return NULL;
	return s;
}

static const char *const build_keys[] = {"context", "dockerfile", "dockerfile_inline", "args", "target", "labels",
					 "network", "tags", "no_cache", "pull", "platforms", NULL};

int compose_build_service(struct compose_engine *e, const char *service, const struct compose_build_opts *o,
			  char ret_id[72], struct berr **err)
{
	json_t *svc = json_object_get(json_object_get(e->p->doc, "services"), service);
	json_t *b = json_object_get(svc, "build");
	if (!json_is_object(b))
		return berr_setc(err, BERR_INVALID, "service \"%s\" has no build section", service);
	const char *ctx = jsonx_str(b, "context");
	if (!ctx || !*ctx)
		ctx = ".";
	if (strstr(ctx, "://") || !strncmp(ctx, "git@", 4) || !strncmp(ctx, "github.com/", 11))
		return berr_setc(err, BERR_INVALID, "service \"%s\": build context %s: remote contexts are not supported by berth",
				 service, ctx);
	_cleanup_free_ char *ctxabs = ctx[0] == '/' ? strdup(ctx) : path_join(e->p->working_dir, ctx);
	struct stat st;
	if (!ctxabs || stat(ctxabs, &st) < 0 || !S_ISDIR(st.st_mode))
		return berr_setc(err, BERR_NOT_FOUND, "service \"%s\": build context %s is not a directory", service,
				 ctxabs ? ctxabs : ctx);
	const char *k;
	json_t *v;
	json_object_foreach(b, k, v) {
		bool known = !strncmp(k, "x-", 2);
		for (size_t i = 0; build_keys[i] && !known; i++)
			known = !strcmp(k, build_keys[i]);
		if (!known)
			warn(e, service, k);
	}
	const char *plat = json_string_value(json_array_get(json_object_get(b, "platforms"), 0));
	if (json_array_size(json_object_get(b, "platforms")) > 1 || (plat && strncmp(plat, "linux/", 6)))
		warn(e, service, "platforms (only the local platform is built)");

	/* the Dockerfile: a path relative to the context, or written out from dockerfile_inline */
	_cleanup_free_ char *dockerfile = NULL;
	char inline_path[64] = "";
	const char *inl = jsonx_str(b, "dockerfile_inline");
	if (inl) {
		snprintf(inline_path, sizeof(inline_path), "/tmp/berth-dockerfile-XXXXXX");
		int fd = mkstemp(inline_path);
		if (fd < 0)
			return berr_set(err, errno, "service \"%s\": writing dockerfile_inline", service);
		int w = fs_write_full(fd, inl, strlen(inl));
		close(fd);
		if (w < 0) {
			unlink(inline_path);
			return berr_set(err, errno, "service \"%s\": writing dockerfile_inline", service);
		}
		dockerfile = strdup(inline_path);
	} else {
		const char *df = jsonx_str(b, "dockerfile");
		if (!df || !*df)
			df = "Dockerfile";
		dockerfile = df[0] == '/' ? strdup(df) : path_join(ctxabs, df);
	}

	/* tags: the service's image name, then build.tags */
	_cleanup_free_ char *img = compose_service_image(e->p, service, svc);
	size_t ntags = 1 + json_array_size(json_object_get(b, "tags"));
	char **tags = calloc(ntags + 1, sizeof(char *));
	size_t nt = 0;
	int rc = -1;
	json_t *args = json_array();
	const char **argv = NULL;
	if (!tags || full_ref(img, service, &tags[nt++], err) < 0)
		goto out;
	size_t i;
	json_array_foreach(json_object_get(b, "tags"), i, v) {
		if (!json_is_string(v))
			continue;
		if (full_ref(json_string_value(v), service, &tags[nt], err) < 0)
			goto out;
		nt++;
	}
	/* build args: build.args (a null value comes from the project's
	 * environment, then the shell's), then the command line's */
	json_object_foreach(json_object_get(b, "args"), k, v) {
		if (json_is_string(v)) {
			json_array_append_new(args, json_sprintf("%s=%s", k, json_string_value(v)));
		} else if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
			_cleanup_free_ char *s = json_dumps(v, JSON_ENCODE_ANY);
			json_array_append_new(args, json_sprintf("%s=%s", k, s ? s : ""));
		} else {
			const char *ev = jsonx_str(e->p->env, k);
			if (ev)
				json_array_append_new(args, json_sprintf("%s=%s", k, ev));
			else if (getenv(k))
				json_array_append_new(args, json_string(k));
		}
	}
	for (size_t a = 0; a < o->nbuild_args; a++)
		json_array_append_new(args, json_string(o->build_args[a]));
	argv = calloc(json_array_size(args) + 1, sizeof(char *));
	if (!argv) {
		berr_set(err, ENOMEM, "build args");
		goto out;
	}
	json_array_foreach(args, i, v) argv[i] = json_string_value(v);
	const char *net = jsonx_str(b, "network");
	if (net && !strcmp(net, "bridge"))
		net = "default";
	if (net && strcmp(net, "default") && strcmp(net, "none") && strcmp(net, "host")) {
		berr_setc(err, BERR_INVALID, "service \"%s\": build.network \"%s\": berth builds with default, none or host",
			  service, net);
		goto out;
	}
	struct build_opts bo = {
		.context = ctxabs,
		.dockerfile = dockerfile,
		.tags = (const char *const *)tags,
		.ntags = nt,
		.build_args = argv,
		.nbuild_args = json_array_size(args),
		.target = jsonx_str(b, "target"),
		.no_cache = o->no_cache || json_is_true(json_object_get(b, "no_cache")),
		.labels = json_is_object(json_object_get(b, "labels")) ? json_object_get(b, "labels") : NULL,
		.network = net ? net : "default",
		.progress = o->progress,
		.out = o->out ? o->out : stderr,
	};
	if (build_run(e->is, e->cs, &bo, ret_id, err) < 0) {
		berr_wrap(err, "service \"%s\" failed to build (%s)", service, inl ? "dockerfile_inline" : dockerfile);
		goto out;
	}
	rc = 0;
out:
	if (*inline_path)
		unlink(inline_path);
	for (size_t t = 0; tags && t < ntags; t++)
		free(tags[t]);
	free(tags);
	free(argv);
	json_decref(args);
	return rc;
}
