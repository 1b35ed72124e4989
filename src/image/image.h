/* Image-level operations on the store: committing a new image (config +
 * staged layers + tags), loading and saving archives, importing a rootfs. */
#ifndef BERTH_IMAGE_IMAGE_H
#define BERTH_IMAGE_IMAGE_H

#include <jansson.h>
#include <stdio.h>

#include "image/layer.h"
#include "image/store.h"
#include "util/err.h"

struct image_new {
	const char *config; /* raw config JSON bytes, stored as is */
	size_t config_len;
	struct layer_stage **layers; /* may repeat: commits are idempotent */
	size_t nlayers;
	json_t *tags;          /* array of normalized full refs */
	const char *manifest;  /* the original manifest, or NULL to generate one */
	size_t manifest_len;
};

/* Check the config against the layers (diff_ids, JSON) without writing. */
int image_new_check(struct image_new *in, struct berr **err);
/* Verify the configs against the layers, store configs + manifests, commit
 * the layers and record all n images and their tags in one index write:
 * all or nothing. ret_ids[k] gets image k's ID. notes (may be NULL) gets
 * lines such as Docker's "renaming the old one". */
int image_commit(struct image_store *s, struct image_new *ins, size_t n, char (*ret_ids)[72],
		 json_t *notes, struct berr **err);

/* Load a docker-archive or OCI image-layout tar (optionally compressed)
 * from fd. ret_loaded gets an array of {"ref": ..} / {"id": ..}. */
int image_load(struct image_store *s, int fd, const char *what, json_t **ret_loaded, json_t *notes,
	       struct berr **err);

enum image_save_format { SAVE_DOCKER_ARCHIVE, SAVE_OCI_ARCHIVE };
/* Write the named images (already resolved: ids[i] with an optional full
 * ref tags[i] or NULL) as an archive to fd. */
int image_save(struct image_store *s, json_t *idx, const char **ids, const char **tags, size_t n,
	       enum image_save_format fmt, int fd, struct berr **err);

/* Import a rootfs tar (plain, gzip, zstd) as a one-layer image. config_over
 * is the "config" object from --change (may be NULL); message goes into the
 * history comment. */
int image_import(struct image_store *s, int fd, const char *what, json_t *config_over,
		 const char *message, const char *tag, char ret_id[72], json_t *notes,
		 struct berr **err);

/* Apply one `--change` line (Dockerfile syntax, a subset of instructions)
 * to the image config object `cfg` (the "config" member). */
int image_change_apply(json_t *cfg, const char *line, struct berr **err);

/* The host's platform in OCI terms ("amd64", "arm64", ...). */
const char *image_host_arch(void);

#endif
