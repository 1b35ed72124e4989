#include "image/image.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/hash.h"
#include "util/jsonx.h"
#include "util/timefmt.h"

#include <errno.h>
#include <sys/file.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

const char *image_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "386";
#elif defined(__arm__)
	return "arm";
#elif defined(__powerpc64__)
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv)
	return "riscv64";
#else
	return "unknown";
#endif
}

static json_t *make_manifest(const char *config_digest, size_t config_len, struct layer_stage **layers,
			     size_t n)
{
	json_t *ls = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ls, json_pack("{s:s, s:s, s:I}", "mediaType", layers[i]->media_type,
						    "digest", layers[i]->blob, "size",
						    (json_int_t)layers[i]->blob_size));
	return json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
			 MEDIA_OCI_MANIFEST, "config", "mediaType", MEDIA_OCI_CONFIG, "digest",
			 config_digest, "size", (json_int_t)config_len, "layers", ls);
}

int image_new_check(struct image_new *in, struct berr **err)
{
	_cleanup_json_ json_t *cfg = jsonx_parse(in->config, in->config_len, "image config", err);
	if (!cfg)
		return -1;
	if (!json_is_object(cfg))
		return berr_setc(err, BERR_INVALID, "image config is not a JSON object");
	json_t *diff_ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (!json_is_array(diff_ids))
		return berr_setc(err, BERR_INVALID, "image config has no rootfs.diff_ids");
	if (json_array_size(diff_ids) != in->nlayers)
		return berr_setc(err, BERR_INVALID, "image config lists %zu layers but %zu were given",
				 json_array_size(diff_ids), in->nlayers);
	for (size_t i = 0; i < in->nlayers; i++) {
		const char *d = json_string_value(json_array_get(diff_ids, i));
		if (!d || strcmp(d, in->layers[i]->diff_id))
			return berr_setc(err, BERR_INVALID,
					 "layer %zu: content has diff_id %s but the image config says %s", i + 1,
					 in->layers[i]->diff_id, d ? d : "(none)");
	}
	return 0;
}

/* A commit that failed part way (a full disk, say) can leave blobs and
 * layers that no image refers to. Collect them now when no other writer is
 * running (the gc lock turns exclusive without waiting); otherwise they
 * stay for `image prune`. */
static void drop_garbage(struct image_store *s)
{
	if (s->gc_lock < 0)
		return;
	if (flock(s->gc_lock, LOCK_EX | LOCK_NB) < 0) {
		/* The conversion may have dropped the shared lock: take it back. */
		while (flock(s->gc_lock, LOCK_SH) < 0 && errno == EINTR)
			;
		return;
	}
	struct berr *e = NULL;
	json_t *idx = image_store_index_read(s, &e);
	if (idx)
		image_store_gc(s, idx, NULL, &e);
	json_decref(idx);
	berr_free(e);
	flock(s->gc_lock, LOCK_SH);
}

/* Store one image's config, manifest and layers; fill its index record. */
static int commit_content(struct image_store *s, struct image_new *in, char id[72], json_t **ret_rec,
			  struct berr **err)
{
	_cleanup_json_ json_t *cfg = jsonx_parse(in->config, in->config_len, "image config", err);
	if (!cfg)
		return -1;
	uint64_t size = 0;
	for (size_t i = 0; i < in->nlayers; i++)
		size += in->layers[i]->size;
	char mdigest[72];
	if (image_store_put_blob(s, in->config, in->config_len, id, err) < 0)
		return -1;
	if (in->manifest) {
		if (image_store_put_blob(s, in->manifest, in->manifest_len, mdigest, err) < 0)
			return -1;
	} else {
		_cleanup_json_ json_t *m = make_manifest(id, in->config_len, in->layers, in->nlayers);
		_cleanup_free_ char *mj = json_dumps(m, JSON_COMPACT);
		if (!mj || image_store_put_blob(s, mj, strlen(mj), mdigest, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < in->nlayers; i++)
		if (layer_stage_commit(s, in->layers[i], err) < 0)
			return -1;
	json_t *layers = json_array();
	for (size_t i = 0; i < in->nlayers; i++)
		json_array_append_new(layers, json_string(in->layers[i]->diff_id));
	const char *created = jsonx_str(cfg, "created");
	*ret_rec = json_pack("{s:s, s:s*, s:I, s:o, s:[]}", "manifest", mdigest, "created", created,
			     "size", (json_int_t)size, "layers", layers, "repo_digests");
	return 0;
}

static int commit_all(struct image_store *s, struct image_new *ins, size_t n, char (*ids)[72],
		      json_t *notes, struct berr **err)
{
	for (size_t k = 0; k < n; k++)
		if (image_new_check(&ins[k], err) < 0)
			return -1;
	_cleanup_json_ json_t *recs = json_array();
	for (size_t k = 0; k < n; k++) {
		json_t *rec;
		if (commit_content(s, &ins[k], ids[k], &rec, err) < 0)
			return -1;
		json_array_append_new(recs, rec);
	}

	/* Every image of one load becomes visible in one index write. */
	_cleanup_close_ int lk = image_store_index_lock(s, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *idx = image_store_index_read(s, err);
	if (!idx)
		return -1;
	json_t *images = json_object_get(idx, "images");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char nowbuf[48];
	time_rfc3339(&now, nowbuf, sizeof(nowbuf));
	for (size_t k = 0; k < n; k++) {
		json_t *rec = json_object_get(images, ids[k]);
		if (!rec) {
			rec = json_array_get(recs, k);
			if (!json_object_get(rec, "created"))
				json_object_set_new(rec, "created", json_string(nowbuf));
			json_object_set_new(rec, "added", json_string(nowbuf));
			json_object_set(images, ids[k], rec);
		}
		size_t i;
		json_t *t;
		json_array_foreach(ins[k].tags, i, t) {
			_cleanup_free_ char *old = NULL;
			if (image_store_set_ref(idx, json_string_value(t), ids[k], &old, err) < 0)
				return -1;
			if (old && notes) {
				_cleanup_free_ char *fam = image_ref_familiarize(json_string_value(t));
				json_array_append_new(notes,
						      json_sprintf("The image %s already exists, renaming the old one with ID %s to empty string",
								   fam, old));
			}
		}
		if (json_array_size(ins[k].tags))
			json_object_set_new(rec, "tagged", json_string(nowbuf));
	}
	return image_store_index_write(s, idx, err);
}

int image_commit(struct image_store *s, struct image_new *ins, size_t n, char (*ret_ids)[72],
		 json_t *notes, struct berr **err)
{
	if (commit_all(s, ins, n, ret_ids, notes, err) < 0) {
		drop_garbage(s);
		return -1;
	}
	return 0;
}
