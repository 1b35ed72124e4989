/* berth save: docker-archive (manifest.json + OCI layout, the layout
 * `docker save` writes since Docker 25, with uncompressed layers so every
 * loader accepts it) or OCI archive (the stored manifests and blobs as
 * they are). */
#include "image/image.h"
#include "image/reference.h"
#include "image/tarw.h"
#include "util/cleanup.h"
#include "util/hash.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct saver {
	struct tarw tw;
	struct image_store *s;
	json_t *written; /* entry names already in the archive */
	char *buf;
};

static int put_header(struct saver *w, const char *name, int64_t size, bool dir, struct berr **err)
{
	struct tarw_entry e = {.name = name, .type = dir ? '5' : '0', .mode = dir ? 0755 : 0644,
			       .size = dir ? 0 : (uint64_t)size};
	return tarw_header(&w->tw, &e, err);
}

static int put_data(struct saver *w, const void *data, size_t len, struct berr **err)
{
	return tarw_data(&w->tw, data, len, err);
}

static int put_mem(struct saver *w, const char *name, const void *data, size_t len, struct berr **err)
{
	if (json_object_get(w->written, name))
		return 0;
	json_object_set_new(w->written, name, json_true());
	if (put_header(w, name, (int64_t)len, false, err) < 0)
		return -1;
	return put_data(w, data, len, err);
}

static int put_json(struct saver *w, const char *name, json_t *j, struct berr **err)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		return berr_set(err, ENOMEM, "saving");
	return put_mem(w, name, s, strlen(s), err);
}

static int put_blob_file(struct saver *w, const char *digest, struct berr **err)
{
	char name[100];
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	if (json_object_get(w->written, name))
		return 0;
	_cleanup_close_ int fd = openat(w->s->blobsfd, digest + 7, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return berr_set(err, errno, "blob %s", digest);
	json_object_set_new(w->written, name, json_true());
	if (put_header(w, name, st.st_size, false, err) < 0)
		return -1;
	int64_t left = st.st_size;
	while (left > 0) {
		ssize_t n = read(fd, w->buf, 1 << 20);
		if (n <= 0)
			return berr_set(err, n < 0 ? errno : 0, "reading blob %s (truncated?)", digest);
		if (n > left)
			n = (ssize_t)left;
		if (put_data(w, w->buf, (size_t)n, err) < 0)
			return -1;
		left -= n;
	}
	return 0;
}

/* The layer as an uncompressed tar, named by its diff_id. */
static int put_layer_tar(struct saver *w, const char *diff_id, uint64_t *ret_size, struct berr **err)
{
	char name[100];
	snprintf(name, sizeof(name), "blobs/sha256/%s", diff_id + 7);
	struct layer_tar *t = NULL;
	uint64_t size;
	if (layer_tar_open(w->s, diff_id, &t, &size, err) < 0)
		return -1;
	*ret_size = size;
	if (json_object_get(w->written, name)) {
		layer_tar_close(t);
		return 0;
	}
	json_object_set_new(w->written, name, json_true());
	int rc = -1;
	if (put_header(w, name, (int64_t)size, false, err) < 0)
		goto out;
	uint64_t left = size;
	while (left > 0) {
		ssize_t n = layer_tar_read(t, w->buf, 1 << 20);
		if (n <= 0) {
			berr_set(err, n < 0 ? errno : 0, "layer %s is shorter than recorded (store corrupt?)", diff_id);
			goto out;
		}
		if ((uint64_t)n > left)
			n = (ssize_t)left;
		if (put_data(w, w->buf, (size_t)n, err) < 0)
			goto out;
		left -= (uint64_t)n;
	}
	rc = 0;
out:
	layer_tar_close(t);
	return rc;
}

static json_t *index_entry(const char *mdigest, size_t mlen, const char *tag)
{
	json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", MEDIA_OCI_MANIFEST, "digest", mdigest, "size",
			      (json_int_t)mlen);
	if (tag) {
		const char *colon = strrchr(tag, ':');
		json_object_set_new(d, "annotations",
				    json_pack("{s:s, s:s}", "io.containerd.image.name", tag,
					      "org.opencontainers.image.ref.name", colon ? colon + 1 : tag));
	}
	return d;
}

static int save_image(struct saver *w, json_t *idx, const char *id, json_t *tags_for_id,
		      enum image_save_format fmt, json_t *index_manifests, json_t *docker_manifest,
		      struct berr **err)
{
	json_t *rec = json_object_get(json_object_get(idx, "images"), id);
	if (!rec)
		return berr_setc(err, BERR_NOT_FOUND, "No such image: %s", id);
	_cleanup_free_ char *cfg = NULL;
	size_t cfglen;
	if (image_store_get_blob(w->s, id, &cfg, &cfglen, err) < 0)
		return -1;
	char mdigest[72];
	_cleanup_free_ char *mbytes = NULL;
	size_t mlen = 0;

	if (fmt == SAVE_OCI_ARCHIVE) {
		const char *m = jsonx_str(rec, "manifest");
		if (!m || image_store_get_blob(w->s, m, &mbytes, &mlen, err) < 0)
			return berr_wrap(err, "image %s", id);
		_cleanup_json_ json_t *man = jsonx_parse(mbytes, mlen, "manifest", err);
		if (!man)
			return -1;
		size_t i;
		json_t *l;
		json_array_foreach(json_object_get(man, "layers"), i, l) {
			const char *d = jsonx_str(l, "digest");
			if (!d || !digest_is_valid(d) || put_blob_file(w, d, err) < 0)
				return berr_wrap(err, "image %s", id);
		}
		snprintf(mdigest, sizeof(mdigest), "%s", m);
	} else {
		json_t *layers = json_array();
		json_t *paths = json_array();
		size_t i;
		json_t *l;
		json_array_foreach(json_object_get(rec, "layers"), i, l) {
			const char *d = json_string_value(l);
			uint64_t size = 0;
			if (!d || put_layer_tar(w, d, &size, err) < 0) {
				json_decref(layers);
				json_decref(paths);
				return berr_wrap(err, "image %s", id);
			}
			json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", MEDIA_OCI_LAYER,
								"digest", d, "size", (json_int_t)size));
			json_array_append_new(paths, json_sprintf("blobs/sha256/%s", d + 7));
		}
		_cleanup_json_ json_t *man = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2,
						      "mediaType", MEDIA_OCI_MANIFEST, "config", "mediaType",
						      MEDIA_OCI_CONFIG, "digest", id, "size", (json_int_t)cfglen,
						      "layers", layers);
		mbytes = json_dumps(man, JSON_COMPACT);
		mlen = strlen(mbytes);
		sha256_digest_of(mbytes, mlen, mdigest);
		json_t *repotags = json_array();
		size_t k;
		json_t *t;
		json_array_foreach(tags_for_id, k, t) {
			char *fam = image_ref_familiarize(json_string_value(t));
			json_array_append_new(repotags, json_string(fam));
			free(fam);
		}
		json_array_append_new(docker_manifest,
				      json_pack("{s:o, s:o, s:o}", "Config",
						json_sprintf("blobs/sha256/%s", id + 7), "RepoTags", repotags,
						"Layers", paths));
	}
	char cfgname[100], mname[100];
	snprintf(cfgname, sizeof(cfgname), "blobs/sha256/%s", id + 7);
	snprintf(mname, sizeof(mname), "blobs/sha256/%s", mdigest + 7);
	if (put_mem(w, cfgname, cfg, cfglen, err) < 0 || put_mem(w, mname, mbytes, mlen, err) < 0)
		return -1;
	if (json_array_size(tags_for_id) == 0) {
		json_array_append_new(index_manifests, index_entry(mdigest, mlen, NULL));
	} else {
		size_t k;
		json_t *t;
		json_array_foreach(tags_for_id, k, t)
			json_array_append_new(index_manifests, index_entry(mdigest, mlen, json_string_value(t)));
	}
	return 0;
}

int image_save(struct image_store *s, json_t *idx, const char **ids, const char **tags, size_t n,
	       enum image_save_format fmt, int fd, struct berr **err)
{
	struct saver w = {.s = s};
	int rc = -1;
	w.written = json_object();
	w.buf = malloc(1 << 20);
	_cleanup_json_ json_t *order = json_array();     /* unique ids in order */
	_cleanup_json_ json_t *tagmap = json_object();   /* id -> [tags] */
	_cleanup_json_ json_t *index_manifests = json_array();
	_cleanup_json_ json_t *docker_manifest = json_array();
	_cleanup_json_ json_t *index = NULL;
	_cleanup_json_ json_t *layout = NULL;
	if (!w.buf || tarw_init(&w.tw, fd) < 0) {
		berr_set(err, ENOMEM, "saving");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *tl = json_object_get(tagmap, ids[i]);
		if (!tl) {
			tl = json_array();
			json_object_set_new(tagmap, ids[i], tl);
			json_array_append_new(order, json_string(ids[i]));
		}
		if (tags[i]) {
			bool dup = false;
			size_t k;
			json_t *t;
			json_array_foreach(tl, k, t) dup |= !strcmp(json_string_value(t), tags[i]);
			if (!dup)
				json_array_append_new(tl, json_string(tags[i]));
		}
	}
	if (put_header(&w, "blobs", 0, true, err) < 0 || put_header(&w, "blobs/sha256", 0, true, err) < 0)
		goto out;
	size_t i;
	json_t *idv;
	json_array_foreach(order, i, idv) {
		const char *id = json_string_value(idv);
		if (save_image(&w, idx, id, json_object_get(tagmap, id), fmt, index_manifests, docker_manifest,
			       err) < 0)
			goto out;
	}
	index = json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType",
						 MEDIA_OCI_INDEX, "manifests", index_manifests);
	layout = json_pack("{s:s}", "imageLayoutVersion", "1.0.0");
	if (put_json(&w, "index.json", index, err) < 0 || put_json(&w, "oci-layout", layout, err) < 0)
		goto out;
	if (fmt == SAVE_DOCKER_ARCHIVE && put_json(&w, "manifest.json", docker_manifest, err) < 0)
		goto out;
	if (tarw_finish(&w.tw, err) < 0)
		goto out;
	rc = 0;
out:
	tarw_release(&w.tw);
	json_decref(w.written);
	free(w.buf);
	return rc;
}
