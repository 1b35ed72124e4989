/* Image references, parsed and normalized exactly as Docker does:
 * "busybox" -> docker.io/library/busybox:latest. */
#ifndef BERTH_IMAGE_REFERENCE_H
#define BERTH_IMAGE_REFERENCE_H

#include <stdbool.h>

#include "util/err.h"

struct image_ref {
	char *domain;  /* "docker.io", "localhost:5000" */
	char *path;    /* "library/busybox" */
	char *tag;     /* NULL when not given (and a digest is) */
	char *digest;  /* "sha256:..." or NULL */
};

/* Parse and normalize s. When no tag and no digest is given, tag is set to
 * "latest" if default_tag is true. Fills *ret only on success. */
int image_ref_parse(const char *s, bool default_tag, struct image_ref *ret, struct berr **err);
void image_ref_release(struct image_ref *r);

/* "docker.io/library/busybox" (caller frees). */
char *image_ref_repo(const struct image_ref *r);
/* "docker.io/library/busybox:latest" or "...@sha256:..." (tag wins if both;
 * with both, "name:tag@digest"). Caller frees. */
char *image_ref_string(const struct image_ref *r);
/* The short form users type: "busybox", "localhost:5000/a/b" (caller frees). */
char *image_ref_familiar_repo(const struct image_ref *r);
/* Familiar form of a full "repo:tag" / "repo@digest" string (caller frees). */
char *image_ref_familiarize(const char *full);

#endif
