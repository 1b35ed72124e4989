/* The step cache. $ROOT/builder/cache/<key> holds the ID of the image a
 * step produced; the image is an index record marked "build_cache", which
 * keeps its layers from garbage collection after `rmi` of the tag. Keys are
 * sha256 hex of (parent, instruction after expansion, args, content hash). */
#include "builder/build.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int cache_dirfd(struct image_store *is, bool create)
{
	if (create) {
		mkdirat(is->rootfd, "builder", 0700);
		mkdirat(is->rootfd, "builder/cache", 0700);
	}
	return openat(is->rootfd, "builder/cache", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int bcache_get(struct image_store *is, const char *key, char ret_id[72])
{
	_cleanup_close_ int dfd = cache_dirfd(is, false);
	if (dfd < 0)
		return -1;
	char buf[80];
	_cleanup_close_ int fd = openat(dfd, key, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = fs_read_full(fd, buf, sizeof(buf) - 1);
	if (n != 71)
		return -1;
	buf[71] = 0;
	if (!digest_is_valid(buf))
		return -1;
	memcpy(ret_id, buf, 72);
	return 0;
}

int bcache_put(struct image_store *is, const char *key, const char *id, struct berr **err)
{
	_cleanup_close_ int dfd = cache_dirfd(is, true);
	if (dfd < 0)
		return berr_set(err, errno, "opening %s/builder/cache", is->root);
	return fs_write_atomic_at(dfd, key, id, strlen(id), 0600, false, err);
}

int build_cache_prune(struct image_store *is, bool all, size_t *ret_count, uint64_t *ret_freed,
		      struct berr **err)
{
	*ret_count = 0;
	*ret_freed = 0;
	if (image_store_gc_lock(is, true, err) < 0)
		return -1;
	_cleanup_close_ int lk = image_store_index_lock(is, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *idx = image_store_index_read(is, err);
	if (!idx)
		return -1;
	json_t *images = json_object_get(idx, "images");
	/* images some tag points at */
	_cleanup_json_ json_t *tagged = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(idx, "refs"), k, v) {
		if (json_is_string(v))
			json_object_set_new(tagged, json_string_value(v), json_true());
	}
	_cleanup_json_ json_t *kept = json_object();
	_cleanup_close_ int dfd = cache_dirfd(is, false);
	if (dfd >= 0) {
		int fd2 = dup(dfd);
		DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
		if (!d && fd2 >= 0)
			close(fd2);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char id[72];
			bool have = bcache_get(is, de->d_name, id) == 0 && json_object_get(images, id);
			if (have && !all && json_object_get(tagged, id)) {
				json_object_set_new(kept, id, json_true());
				continue;
			}
			if (have && image_store_image_in_use(is, id, NULL)) {
				json_object_set_new(kept, id, json_true());
				continue;
			}
			if (unlinkat(dfd, de->d_name, 0) == 0)
				(*ret_count)++;
		}
		if (d)
			closedir(d);
	}
	/* the cache's own images that nothing needs any more */
	json_t *rec;
	void *tmp;
	json_object_foreach_safe(images, tmp, k, rec) {
		if (!json_is_true(json_object_get(rec, "build_cache")) || json_object_get(tagged, k) ||
		    json_object_get(kept, k) || image_store_image_in_use(is, k, NULL))
			continue;
		image_store_forget(idx, k, NULL);
	}
	if (image_store_index_write(is, idx, err) < 0)
		return -1;
	return image_store_gc(is, idx, ret_freed, err);
}
