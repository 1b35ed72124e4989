/* `berth kube convert --chart DIR`: a Helm chart from the converted
 * objects (the array kube_convert returns). The chart's templates render,
 * with its default values, to those objects; values.yaml holds per
 * Kubernetes name the image (repository, tag, digest), the replicas, the
 * Service's ports and the resources, plus the namespace when one was given.
 * kube_chart_render is pure; the writers put the files in a temp dir
 * beside DIR and rename it into place, so DIR is whole or absent. */
#pragma once
#include <stdbool.h>
#include <jansson.h>
#include "util/err.h"

struct kube_chart_opts {
	const char *name;        /* chart name: the compose project's name */
	const char *namespace_;  /* --namespace, or NULL */
};

/* An image reference split for values.yaml: "reg:5000/a/b:1.2@sha256:..."
 * is repository "reg:5000/a/b", tag "1.2", digest "sha256:...". No tag and
 * no digest gives tag "latest"; a digest without a tag gives tag NULL. */
struct kube_image_ref {
	char *repository, *tag, *digest;
};
/* Split image; a reference with an empty name, a bad tag or digest, or
 * characters that cannot stand in a quoted YAML scalar (quotes,
 * backslashes, spaces, control characters) is an error naming it. */
int kube_image_split(const char *image, struct kube_image_ref *ret, struct berr **err);
void kube_image_ref_release(struct kube_image_ref *r);

/* The values.yaml key of a Kubernetes name, usable as `.Values.KEY` in a
 * template: camelCase over '-', '.' and '_' ("my-app" -> "myApp"), '_' in
 * front of a leading digit ("1st" -> "_1st"). Caller frees. The chart adds
 * 2, 3 ... to a key that two names share or that is reserved (namespace,
 * global). */
char *kube_chart_value_key(const char *name);

/* The chart's files, as an object path -> text in writing order:
 * Chart.yaml, values.yaml, values.schema.json, .helmignore,
 * templates/NOTES.txt, templates/NAME-KIND.yaml per object. */
int kube_chart_render(json_t *objects, const struct kube_chart_opts *o, json_t **ret_files, struct berr **err);

/* DIR may be written: it does not exist (its parent does) or it is an empty
 * directory. Errors say "exists and is not empty" and the like: the caller
 * names DIR (and its flag). So do those of stage and commit. */
int kube_chart_check_target(const char *dir, struct berr **err);
/* Write files into a new temp dir beside dir (*ret_tmp, caller frees). */
int kube_chart_stage(const char *dir, json_t *files, char **ret_tmp, struct berr **err);
/* Rename the staged tmp to dir (an empty dir there is replaced); on
 * failure tmp is removed. */
int kube_chart_commit(const char *tmp, const char *dir, struct berr **err);
/* Remove a staged dir that will not be committed. */
void kube_chart_discard(const char *tmp);
/* render + stage + commit. */
int kube_chart_write(const char *dir, json_t *objects, const struct kube_chart_opts *o, struct berr **err);
