/* Layers: a tar stream (plain, gzip or zstd) is stored as a blob and
 * extracted once into a directory ready to be an overlay lowerdir, in a
 * single streaming pass that also computes both digests.
 *
 * Extraction is safe against hostile tars: absolute paths and ".." are
 * refused, every parent directory is resolved with openat2(RESOLVE_BENEATH)
 * so no symlink can lead outside, and whiteouts become overlay whiteouts
 * (0/0 char devices, trusted.overlay.opaque). */
#ifndef BERTH_IMAGE_LAYER_H
#define BERTH_IMAGE_LAYER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/store.h"
#include "util/err.h"

/* A source of bytes: returns bytes read, 0 at end, -1 with errno set. */
typedef ssize_t (*layer_read_fn)(void *opaque, void *buf, size_t n);

/* A layer extracted into tmp/ but not yet visible in the store. */
struct layer_stage {
	char diff_id[72];
	char blob[72];
	const char *media_type;
	uint64_t blob_size, tar_size, size;
	char *tmp_dir;  /* under tmp/, NULL when the layer already existed */
	char *tmp_blob; /* under tmp/, NULL when the blob already existed */
};

/* Read a layer from fn until its end. If expect_blob is given and the
 * store already has that layer, the source is drained and nothing is
 * written. `what` names the layer in errors. */
int layer_stage_stream(struct image_store *s, layer_read_fn fn, void *opaque, const char *what,
		       const char *expect_blob, struct layer_stage *ret, struct berr **err);
/* Make a staged layer visible (blob, extracted dir, blob map). Idempotent
 * against concurrent commits of the same layer. */
int layer_stage_commit(struct image_store *s, struct layer_stage *st, struct berr **err);
/* Drop a staged layer's temporary files and free it. */
void layer_stage_release(struct image_store *s, struct layer_stage *st);

/* Read a stored layer back as its uncompressed tar stream. */
struct layer_tar;
int layer_tar_open(struct image_store *s, const char *diff_id, struct layer_tar **ret,
		   uint64_t *ret_size, struct berr **err);
ssize_t layer_tar_read(struct layer_tar *t, void *buf, size_t n);
void layer_tar_close(struct layer_tar *t);

/* Exposed for unit tests: normalize a tar entry path into out ("" is the
 * root). -1 with err for absolute paths and "..". */
int layer_path_normalize(const char *in, char *out, size_t outsz, struct berr **err);

#endif
