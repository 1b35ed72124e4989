/* berth kube convert --push: the images of the project's build: services,
 * built exactly as `berth compose build` builds them (compose/images.c:
 * compose_build_service), tagged with the name the manifests give them and
 * pushed there with the registry client, the way `berth push` pushes.
 *
 * Three passes, so that a failure costs as little as possible: every
 * target name is worked out and checked against the manifests first
 * (nothing built yet), then every image is built (nothing tagged for the
 * registry or pushed yet: a bad Dockerfile, the likeliest failure, leaves
 * the registry untouched), then each is tagged and pushed. */
#include "cli/kube-push.h"
#include "cli/ctr.h"
#include "builder/build.h"
#include "compose/engine.h"
#include "compose/images.h"
#include "image/reference.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Docker's rule (distribution/reference splitDockerDomain): the first
 * component names a registry only when it has a '.' or a ':' or is
 * localhost; "team/app" would be docker.io/team/app. */
static bool is_registry_host(const char *reg)
{
	size_t n = strcspn(reg, "/");
	if (n == 9 && !strncmp(reg, "localhost", 9))
		return true;
	return memchr(reg, '.', n) || memchr(reg, ':', n);
}

int kube_push_target(const struct compose_project *p, const char *service, json_t *svc, const char *registry,
		     char **ret, struct berr **err)
{
	*ret = NULL;
	const char *img = jsonx_str(svc, "image");
	_cleanup_free_ char *name = NULL;
	/* the rule of kube convert (src/kube/convert.c): a service's own image:
	 * is what its manifests name, else REGISTRY/PROJECT-SERVICE */
	if (img && *img) {
		name = strdup(img);
	} else {
		if (!registry || !*registry)
			return berr_setc(err, BERR_INVALID, "service \"%s\": --push needs --image-registry", service);
		if (!is_registry_host(registry))
			return berr_setc(err, BERR_INVALID,
					 "--image-registry %s: \"%.*s\" is not a registry host (it needs a '.' or a ':PORT', or is localhost; for Docker Hub write docker.io/%s)",
					 registry, (int)strcspn(registry, "/"), registry, registry);
		if (asprintf(&name, "%s/%s-%s", registry, p->name, service) < 0)
			name = NULL;
	}
	if (!name)
		return berr_set(err, ENOMEM, "service \"%s\"", service);
	struct image_ref r;
	if (image_ref_parse(name, true, &r, err) < 0) {
		if (img && *img)
			return berr_wrap(err, "service \"%s\": image %s", service, name);
		return berr_wrap(err, "service \"%s\": --image-registry %s gives the image name %s", service, registry,
				 name);
	}
	bool digest = r.digest != NULL;
	char *full = image_ref_string(&r);
	image_ref_release(&r);
	if (!full)
		return berr_set(err, ENOMEM, "service \"%s\"", service);
	if (digest) {
		free(full);
		return berr_setc(err, BERR_INVALID, "service \"%s\": image %s is a digest: a build cannot be pushed to it",
				 service, name);
	}
	*ret = full;
	return 0;
}

/* Every containers[].image / initContainers[].image in the objects,
 * normalized, as keys of names. */
static void collect_images(json_t *v, json_t *names)
{
	const char *k;
	json_t *x;
	size_t i;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) collect_images(x, names);
		return;
	}
	if (!json_is_object(v))
		return;
	json_object_foreach(v, k, x) {
		if (json_is_array(x) && (!strcmp(k, "containers") || !strcmp(k, "initContainers"))) {
			json_t *c;
			json_array_foreach(x, i, c) {
				const char *img = jsonx_str(c, "image");
				struct image_ref r;
				struct berr *e = NULL;
				if (!img || image_ref_parse(img, true, &r, &e) < 0) {
					berr_free(e);
					continue;
				}
				char *full = image_ref_string(&r);
				image_ref_release(&r);
				if (full)
					json_object_set_new(names, full, json_true());
				free(full);
			}
		} else {
			collect_images(x, names);
		}
	}
}

static void on_interrupt(int sig)
{
	(void)sig;
	build_interrupted = 1;
}

static void ev_progress(void *ud, const char *kind, const char *name, const char *status)
{
	(void)ud;
	fprintf(stderr, "%s %s  %s\n", kind, name, status);
}

static void ev_warn(void *ud, const char *msg)
{
	(void)ud;
	fprintf(stderr, "WARN %s\n", msg);
}

/* Point ref at image id in the store (what `berth tag ID REF` does). */
static int tag_image(struct image_store *is, const char *id, const char *ref, struct berr **err)
{
	_cleanup_close_ int lk = image_store_index_lock(is, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *idx = image_store_index_read(is, err);
	if (!idx)
		return -1;
	_cleanup_free_ char *old = NULL;
	if (image_store_set_ref(idx, ref, id, &old, err) < 0 || image_store_index_write(is, idx, err) < 0)
		return -1;
	return 0;
}

struct target {
	const char *service;
	char *ref;   /* normalized full reference to push */
	char id[72]; /* the image built */
};

int kube_push_project(struct cli *c, struct compose_project *p, const char *registry, json_t *objects)
{
	struct berr *e = NULL;
	json_t *svcs = json_object_get(p->doc, "services");
	size_t n = 0, i;
	struct target *t = calloc(json_object_size(svcs) + 1, sizeof(*t));
	_cleanup_json_ json_t *named = json_object();
	if (!t || !named) {
		free(t);
		berr_set(&e, ENOMEM, "--push");
		cli_fail(e);
		return -1;
	}
	collect_images(objects, named);
	int rc = -1;
	const char *name;
	json_t *svc;
	/* one after the other in the project's order, as compose build */
	json_object_foreach(svcs, name, svc) {
		if (!json_object_get(svc, "build"))
			continue;
		t[n].service = name;
		if (kube_push_target(p, name, svc, registry, &t[n].ref, &e) < 0)
			goto fail;
		n++;
		/* what is pushed must be what the manifests run */
		if (!json_object_get(named, t[n - 1].ref)) {
			_cleanup_free_ char *fam = image_ref_familiarize(t[n - 1].ref);
			berr_setc(&e, BERR_INVALID, "service \"%s\": the manifests do not name %s, the image --push would push",
				  name, fam ? fam : t[n - 1].ref);
			goto fail;
		}
		if (jsonx_str(svc, "image"))
			fprintf(stderr, "Service %s: its image: %s is what the manifests name, so it is pushed there, not under --image-registry\n",
				name, jsonx_str(svc, "image"));
	}
	if (!n) {
		fprintf(stderr, "WARN --push: no service has build:, nothing to push\n");
		rc = 0;
		goto out;
	}

	struct image_store *is = cli_store(c);
	struct ctr_store *cs = is ? cli_ctr_store(c) : NULL;
	if (!is || !cs)
		goto out; /* printed */
	struct compose_engine eng = {.p = p, .is = is, .cs = cs, .root = c->root, .runroot = c->runroot,
				     .ev = {.progress = ev_progress, .warn = ev_warn}};
	struct compose_build_opts bo = {.progress = isatty(2) ? BUILD_PROGRESS_TTY : BUILD_PROGRESS_PLAIN, .out = stderr};
	for (i = 0; i < n; i++) {
		/* as compose build: ^C stops the builder, which cleans up */
		struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		ev_progress(NULL, "Service", t[i].service, "Building");
		int r = compose_build_service(&eng, t[i].service, &bo, t[i].id, &e);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		if (r < 0) {
			ev_progress(NULL, "Service", t[i].service, "Error");
			goto fail;
		}
		ev_progress(NULL, "Service", t[i].service, "Built");
	}
	for (i = 0; i < n; i++) {
		_cleanup_free_ char *fam = image_ref_familiarize(t[i].ref);
		const char *show = fam ? fam : t[i].ref;
		if (tag_image(is, t[i].id, t[i].ref, &e) < 0) {
			berr_wrap(&e, "service \"%s\": tagging %s", t[i].service, show);
			goto fail;
		}
		fprintf(stderr, "Service %s  Pushing %s\n", t[i].service, show);
		_cleanup_free_ struct cli_progress *v = cli_progress_new(stderr, true, false);
		struct reg_opts ro = {0};
		if (v)
			cli_progress_opts(v, &ro);
		char digest[72];
		uint64_t size = 0;
		if (reg_push(is, t[i].ref, &ro, digest, &size, &e) < 0) {
			ev_progress(NULL, "Service", t[i].service, "Error");
			berr_wrap(&e, "service \"%s\"", t[i].service); /* the client names the image */
			goto fail;
		}
		fprintf(stderr, "Service %s  Pushed %s@%s\n", t[i].service, show, digest);
	}
	rc = 0;
	goto out;
fail:
	cli_fail(e);
out:
	for (i = 0; i < n; i++)
		free(t[i].ref);
	free(t);
	return rc;
}
