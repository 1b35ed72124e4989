#include "image/store.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/jsonx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_sub(int rootfd, const char *name, struct berr **err)
{
	if (mkdirat(rootfd, name, 0700) < 0 && errno != EEXIST)
		return berr_set(err, errno, "creating %s", name);
	int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set(err, errno, "opening %s", name);
	return fd;
}

int image_store_open(const char *root, struct image_store **ret, struct berr **err)
{
	if (fs_mkdir_p(root, 0700, err) < 0)
		return berr_wrap(err, "opening store %s", root);
	struct image_store *s = calloc(1, sizeof(*s));
	if (!s)
		return berr_set(err, ENOMEM, "opening store");
	s->rootfd = s->blobsfd = s->layersfd = s->blobmapfd = s->tmpfd = s->gc_lock = -1;
	s->root = strdup(root);
	s->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0) {
		berr_set(err, errno, "opening store %s", root);
		goto fail;
	}
	int bfd = open_sub(s->rootfd, "blobs", err);
	if (bfd < 0)
		goto fail;
	s->blobsfd = open_sub(bfd, "sha256", err);
	close(bfd);
	if (s->blobsfd < 0 || (s->layersfd = open_sub(s->rootfd, "layers", err)) < 0 ||
	    (s->blobmapfd = open_sub(s->rootfd, "blobmap", err)) < 0 ||
	    (s->tmpfd = open_sub(s->rootfd, "tmp", err)) < 0) {
		berr_wrap(err, "opening store %s", root);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	image_store_free(s);
	return -1;
}

void image_store_free(struct image_store *s)
{
	if (!s)
		return;
	int fds[] = {s->rootfd, s->blobsfd, s->layersfd, s->blobmapfd, s->tmpfd, s->gc_lock};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(s->root);
	free(s);
}

int image_store_gc_lock(struct image_store *s, bool exclusive, struct berr **err)
{
	if (s->gc_lock >= 0)
		return 0;
	int fd = fs_lock_at(s->rootfd, "gc.lock", exclusive ? LOCK_EX : LOCK_SH, err);
	if (fd < 0)
		return -1;
	s->gc_lock = fd;
	return 0;
}

json_t *image_store_index_read(struct image_store *s, struct berr **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct berr *e = NULL;
	if (fs_read_file_at(s->rootfd, "index.json", 256u << 20, &buf, &len, &e) < 0) {
		if (e->errnum == ENOENT) {
			berr_free(e);
			return json_pack("{s:{}, s:{}}", "images", "refs");
		}
		*err = e;
		return NULL;
	}
	json_t *idx = jsonx_parse(buf, len, "index.json", err);
	if (!idx)
		return NULL;
	if (!json_is_object(json_object_get(idx, "images")) || !json_is_object(json_object_get(idx, "refs"))) {
		json_decref(idx);
		berr_set(err, 0, "%s/index.json: missing \"images\" or \"refs\"", s->root);
		return NULL;
	}
	return idx;
}

int image_store_index_lock(struct image_store *s, struct berr **err)
{
	return fs_lock_at(s->rootfd, "index.lock", LOCK_EX, err);
}

int image_store_index_write(struct image_store *s, json_t *idx, struct berr **err)
{
	_cleanup_free_ char *data = json_dumps(idx, JSON_COMPACT);
	if (!data)
		return berr_set(err, ENOMEM, "serializing index");
	return fs_write_atomic_at(s->rootfd, "index.json", data, strlen(data), 0600, true, err);
}

int image_store_put_blob(struct image_store *s, const void *data, size_t len, char ret_digest[72],
			 struct berr **err)
{
	sha256_digest_of(data, len, ret_digest);
	const char *hex = ret_digest + 7;
	if (faccessat(s->blobsfd, hex, F_OK, 0) == 0)
		return 0;
	_cleanup_free_ char *tmp = fs_tmp_name("put-");
	_cleanup_close_ int fd = openat(s->tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return berr_set(err, errno, "writing blob %s", ret_digest);
	if (fs_write_full(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		unlinkat(s->tmpfd, tmp, 0);
		return berr_set(err, e, "writing blob %s", ret_digest);
	}
	if (renameat(s->tmpfd, tmp, s->blobsfd, hex) < 0) {
		int e = errno;
		unlinkat(s->tmpfd, tmp, 0);
		return berr_set(err, e, "storing blob %s", ret_digest);
	}
	return 0;
}

int image_store_get_blob(struct image_store *s, const char *digest, char **ret, size_t *ret_len,
			 struct berr **err)
{
	if (!digest_is_valid(digest))
		return berr_setc(err, BERR_INVALID, "invalid digest \"%s\"", digest);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (fs_read_file_at(s->blobsfd, digest + 7, STORE_MAX_JSON, &buf, &len, err) < 0)
		return berr_wrap(err, "reading blob %s", digest);
	char d[72];
	sha256_digest_of(buf, len, d);
	if (strcmp(d, digest))
		return berr_set(err, 0, "blob %s is corrupt (content hashes to %s)", digest, d);
	*ret = steal_pointer(&buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

bool image_store_has_blob(struct image_store *s, const char *digest)
{
	return digest_is_valid(digest) && faccessat(s->blobsfd, digest + 7, F_OK, 0) == 0;
}

json_t *image_store_layer_meta(struct image_store *s, const char *diff_id)
{
	if (!digest_is_valid(diff_id))
		return NULL;
	char path[100];
	snprintf(path, sizeof(path), "%s/meta.json", diff_id + 7);
	return jsonx_load_at(s->layersfd, path, 1 << 16, NULL);
}

char *image_store_blob_layer(struct image_store *s, const char *blob_digest)
{
	if (!digest_is_valid(blob_digest))
		return NULL;
	const char *hex = blob_digest + 7;
	char path[100];
	snprintf(path, sizeof(path), "%s/meta.json", hex);
	if (faccessat(s->layersfd, path, F_OK, 0) == 0)
		return strdup(blob_digest); /* uncompressed: blob digest == diff_id */
	char target[80];
	ssize_t n = readlinkat(s->blobmapfd, hex, target, sizeof(target) - 1);
	if (n != 64)
		return NULL;
	target[n] = 0;
	if (!hex64_is_valid(target))
		return NULL;
	snprintf(path, sizeof(path), "%s/meta.json", target);
	if (faccessat(s->layersfd, path, F_OK, 0) != 0)
		return NULL;
	char *r = NULL;
	if (asprintf(&r, "sha256:%s", target) < 0)
		return NULL;
	return r;
}

static bool is_hex_prefix(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int image_store_resolve(json_t *idx, const char *name, char **ret_id, char **ret_ref,
			struct berr **err)
{
	json_t *images = json_object_get(idx, "images");
	json_t *refs = json_object_get(idx, "refs");
	if (ret_ref)
		*ret_ref = NULL;
	if (!strncmp(name, "sha256:", 7)) {
		const char *hex = name + 7;
		if (!is_hex_prefix(hex))
			return berr_setc(err, BERR_INVALID, "invalid image ID \"%s\"", name);
		name = hex;
		goto by_id;
	}
	struct image_ref r;
	struct berr *perr = NULL;
	if (image_ref_parse(name, true, &r, &perr) == 0) {
		if (r.digest) {
			_cleanup_free_ char *repo = image_ref_repo(&r);
			_cleanup_free_ char *want = NULL;
			if (asprintf(&want, "%s@%s", repo, r.digest) < 0)
				want = NULL;
			const char *id;
			json_t *rec;
			json_object_foreach(images, id, rec) {
				size_t i;
				json_t *d;
				json_array_foreach(json_object_get(rec, "repo_digests"), i, d) {
					if (want && !strcmp(json_string_value(d), want)) {
						*ret_id = strdup(id);
						image_ref_release(&r);
						return 0;
					}
				}
				/* name@<manifest digest> also finds a local image */
				const char *m = jsonx_str(rec, "manifest");
				if (m && !strcmp(m, r.digest)) {
					*ret_id = strdup(id);
					image_ref_release(&r);
					return 0;
				}
			}
		} else {
			_cleanup_free_ char *key = image_ref_string(&r);
			const char *id = jsonx_str(refs, key);
			if (id) {
				*ret_id = strdup(id);
				if (ret_ref)
					*ret_ref = steal_pointer(&key);
				image_ref_release(&r);
				return 0;
			}
		}
		image_ref_release(&r);
	}
	if (!is_hex_prefix(name)) {
		if (perr) {
			*err = perr;
			return -1;
		}
		return berr_setc(err, BERR_NOT_FOUND, "No such image: %s", name);
	}
	berr_free(perr);
by_id:;
	size_t n = strlen(name);
	const char *found = NULL, *id;
	json_t *rec;
	json_object_foreach(images, id, rec) {
		if (!strncmp(id + 7, name, n)) {
			if (found)
				return berr_setc(err, BERR_INVALID, "image ID prefix \"%s\" is ambiguous", name);
			found = id;
		}
	}
	if (!found)
		return berr_setc(err, BERR_NOT_FOUND, "No such image: %s", name);
	*ret_id = strdup(found);
	return 0;
}

static bool image_has_refs(json_t *idx, const char *id)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(idx, "refs"), k, v) {
		if (!strcmp(json_string_value(v), id))
			return true;
	}
	return false;
}

int image_store_set_ref(json_t *idx, const char *ref, const char *id, char **ret_old,
			struct berr **err)
{
	json_t *refs = json_object_get(idx, "refs");
	if (ret_old)
		*ret_old = NULL;
	const char *prev = jsonx_str(refs, ref);
	_cleanup_free_ char *old = prev ? strdup(prev) : NULL;
	if (json_object_set_new(refs, ref, json_string(id)) < 0)
		return berr_set(err, ENOMEM, "tagging %s", ref);
	if (old && strcmp(old, id) && !image_has_refs(idx, old) && ret_old)
		*ret_old = steal_pointer(&old);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

json_t *image_store_refs_of(json_t *idx, const char *id)
{
	json_t *arr = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(idx, "refs"), k, v) {
		if (!strcmp(json_string_value(v), id))
			json_array_append_new(arr, json_string(k));
	}
	size_t n = json_array_size(arr);
	if (n > 1) {
		json_t **items = malloc(n * sizeof(*items));
		for (size_t i = 0; i < n; i++)
			items[i] = json_incref(json_array_get(arr, i));
		qsort(items, n, sizeof(*items), cmp_str);
		json_array_clear(arr);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, items[i]);
		free(items);
	}
	return arr;
}

/* Mark everything one image needs: manifest, config, layer blobs, layers. */
static void mark_image(struct image_store *s, const char *id, json_t *rec, json_t *blobs, json_t *layers)
{
	json_object_set_new(blobs, id + 7, json_true());
	const char *m = jsonx_str(rec, "manifest");
	if (m && digest_is_valid(m)) {
		json_object_set_new(blobs, m + 7, json_true());
		_cleanup_free_ char *buf = NULL;
		size_t len;
		if (image_store_get_blob(s, m, &buf, &len, NULL) == 0) {
			_cleanup_json_ json_t *man = jsonx_parse(buf, len, "manifest", NULL);
			size_t i;
			json_t *l;
			json_array_foreach(json_object_get(man, "layers"), i, l) {
				const char *d = jsonx_str(l, "digest");
				if (d && digest_is_valid(d))
					json_object_set_new(blobs, d + 7, json_true());
			}
		}
	}
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(rec, "layers"), i, l) {
		const char *d = json_string_value(l);
		if (!d || !digest_is_valid(d))
			continue;
		json_object_set_new(layers, d + 7, json_true());
		/* keep the blob the layer was extracted from: save reads it */
		_cleanup_json_ json_t *meta = image_store_layer_meta(s, d);
		const char *b = jsonx_str(meta, "blob");
		if (b && digest_is_valid(b))
			json_object_set_new(blobs, b + 7, json_true());
	}
}

static uint64_t entry_size(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		unsigned long long n = 0;
		char sub[300];
		snprintf(sub, sizeof(sub), "%s/diff", name);
		fs_tree_size_at(dirfd, sub, &n);
		return n;
	}
	return (uint64_t)st.st_size;
}

static int sweep(int dirfd, json_t *keep, uint64_t *freed, struct berr **err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set(err, errno, "garbage collection");
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return berr_set(err, errno, "garbage collection");
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || json_object_get(keep, de->d_name))
			continue;
		if (freed)
			*freed += entry_size(dirfd, de->d_name);
		int r = fs_rm_rf_at(dirfd, de->d_name);
		if (r < 0)
			return berr_set(err, -r, "removing %s", de->d_name);
	}
	return 0;
}

int image_store_gc(struct image_store *s, json_t *idx, uint64_t *freed, struct berr **err)
{
	_cleanup_json_ json_t *blobs = json_object();
	_cleanup_json_ json_t *layers = json_object();
	const char *id;
	json_t *rec;
	json_object_foreach(json_object_get(idx, "images"), id, rec) {
		if (digest_is_valid(id))
			mark_image(s, id, rec, blobs, layers);
	}
	if (sweep(s->layersfd, layers, freed, err) < 0 || sweep(s->blobsfd, blobs, freed, err) < 0)
		return -1;
	/* blob map entries whose blob is gone */
	_cleanup_json_ json_t *keepmap = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(blobs, k, v) json_object_set_new(keepmap, k, json_true());
	return sweep(s->blobmapfd, keepmap, NULL, err);
}

void image_store_clean_tmp(struct image_store *s)
{
	int fd = openat(s->tmpfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		/* names are PREFIX<pid>-...: remove those whose process is gone */
		const char *dash = strchr(de->d_name, '-');
		if (!dash || de->d_name[0] == '.')
			continue;
		int pid = atoi(dash + 1);
		if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
			fs_rm_rf_at(dirfd(d), de->d_name);
	}
}

bool image_store_image_in_use(struct image_store *s, const char *id, char **ret_container)
{
	int fd = openat(s->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[400];
		snprintf(path, sizeof(path), "%s/config.json", de->d_name);
		_cleanup_json_ json_t *c = jsonx_load_at(dirfd(d), path, 1 << 20, NULL);
		const char *img = jsonx_str(c, "ImageID");
		if (img && !strcmp(img, id)) {
			if (ret_container)
				*ret_container = strdup(de->d_name);
			return true;
		}
	}
	return false;
}

void image_store_forget(json_t *idx, const char *id, json_t *untagged)
{
	json_t *refs = json_object_get(idx, "refs");
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(refs, tmp, k, v) {
		if (!strcmp(json_string_value(v), id)) {
			if (untagged)
				json_array_append_new(untagged, json_string(k));
			json_object_del(refs, k);
		}
	}
	json_object_del(json_object_get(idx, "images"), id);
}
