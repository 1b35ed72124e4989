/* The content-addressed image store.
 *
 * $ROOT/blobs/sha256/<hex>      immutable blobs: manifests, configs, layer blobs as received
 * $ROOT/layers/<diffhex>/diff/  each layer extracted once (overlay lowerdir)
 * $ROOT/layers/<diffhex>/meta.json  {diff_id, blob, media_type, blob_size, tar_size, size}
 * $ROOT/blobmap/<blobhex>       symlink -> <diffhex> for compressed blobs
 * $ROOT/index.json              {"images": {ID: record}, "refs": {ref: ID}}
 * $ROOT/tmp/                    work in progress; never referenced
 *
 * Writers take gc.lock shared for their whole run and index.lock exclusive
 * for the read-modify-write of index.json; garbage collection takes gc.lock
 * exclusive, so it never removes what a running load has not committed yet.
 * Image IDs are config digests, as in Docker. */
#ifndef BERTH_IMAGE_STORE_H
#define BERTH_IMAGE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct image_store {
	char *root;
	int rootfd;
	int blobsfd;   /* blobs/sha256 */
	int layersfd;  /* layers */
	int blobmapfd; /* blobmap */
	int tmpfd;     /* tmp */
	int gc_lock;   /* fd holding gc.lock, or -1 */
};

#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MEDIA_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MEDIA_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define MEDIA_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Limits on untrusted metadata. */
#define STORE_MAX_JSON (16u << 20)

/* Open (creating if needed) the store under root. */
int image_store_open(const char *root, struct image_store **ret, struct berr **err);
void image_store_free(struct image_store *s);

/* Hold gc.lock shared (writers) or exclusive (garbage collection). */
int image_store_gc_lock(struct image_store *s, bool exclusive, struct berr **err);

/* Read index.json; an absent index is an empty one. */
json_t *image_store_index_read(struct image_store *s, struct berr **err);
/* Lock index.lock exclusively, returning the fd to close to unlock. */
int image_store_index_lock(struct image_store *s, struct berr **err);
int image_store_index_write(struct image_store *s, json_t *idx, struct berr **err);

/* Write a blob whose bytes are in memory; idempotent. ret_digest gets
 * "sha256:<hex>" (72 bytes). */
int image_store_put_blob(struct image_store *s, const void *data, size_t len, char ret_digest[72],
			 struct berr **err);
/* Read a small blob (manifest/config) by digest; verified on read. */
int image_store_get_blob(struct image_store *s, const char *digest, char **ret, size_t *ret_len,
			 struct berr **err);
bool image_store_has_blob(struct image_store *s, const char *digest);

/* Layer metadata for a diff_id ("sha256:..."), NULL if the layer is absent. */
json_t *image_store_layer_meta(struct image_store *s, const char *diff_id);
/* diff_id of a stored layer blob, looked up by blob digest, or NULL. */
char *image_store_blob_layer(struct image_store *s, const char *blob_digest);

/* Resolve what a user typed (name[:tag], name@digest, ID, ID prefix) to an
 * image ID in idx. ret_ref gets the normalized ref key when name was a tag
 * reference (NULL otherwise). BERR_NOT_FOUND when nothing matches. */
int image_store_resolve(json_t *idx, const char *name, char **ret_id, char **ret_ref,
			struct berr **err);

/* Make ref point at id (in idx, caller writes). If the ref pointed at
 * another image that is now untagged, ret_old gets its ID. */
int image_store_set_ref(json_t *idx, const char *ref, const char *id, char **ret_old,
			struct berr **err);

/* Tags (full refs) of an image, in sorted order; json array (new ref). */
json_t *image_store_refs_of(json_t *idx, const char *id);

/* Drop image id and every ref to it from idx; the refs removed are
 * appended to untagged (may be NULL). */
void image_store_forget(json_t *idx, const char *id, json_t *untagged);

/* Remove blobs and layers that no image in idx references. Requires the
 * exclusive gc lock. Adds the bytes freed to *freed when not NULL. */
int image_store_gc(struct image_store *s, json_t *idx, uint64_t *freed, struct berr **err);

/* Remove stale entries in tmp/ left by processes that died. */
void image_store_clean_tmp(struct image_store *s);

/* True when a container uses image id (checked against $ROOT/containers). */
bool image_store_image_in_use(struct image_store *s, const char *id, char **ret_container);

#endif
