/* berth push: layers (gzip-compressed once and kept, for images that came
 * from load/import/build with uncompressed layers), then the config, then
 * the manifest last. A blob the registry has is skipped (HEAD); one it has
 * under another repository is mounted; others are uploaded in one PUT or,
 * above the chunk size, in PATCH chunks. */
#include "registry/internal.h"
#include "image/layer.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static uint64_t chunk_size(void)
{
	const char *e = getenv("BERTH_PUSH_CHUNK_SIZE");
	unsigned long long v = e ? strtoull(e, NULL, 10) : 0;
	return v >= 4096 ? v : (64ull << 20);
}

/* gzip a stored layer into blobs/ (kept, so the next push is identical). */
static int compress_layer(struct image_store *s, const char *diff_id, char ret_digest[72],
			  uint64_t *ret_size, struct berr **err)
{
	struct layer_tar *t = NULL;
	uint64_t tsize;
	if (layer_tar_open(s, diff_id, &t, &tsize, err) < 0)
		return -1;
	_cleanup_free_ char *tmp = fs_tmp_name("push-");
	_cleanup_close_ int fd = openat(s->tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		layer_tar_close(t);
		return berr_set(err, errno, "compressing layer %s", diff_id);
	}
	z_stream z = {0};
	struct sha256 h;
	sha256_init(&h);
	deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	size_t bs = 256u << 10;
	unsigned char *in = malloc(bs), *out = malloc(bs);
	uint64_t total = 0;
	int rc = -1;
	if (!in || !out) {
		berr_set(err, ENOMEM, "compressing");
		goto out;
	}
	for (;;) {
		ssize_t n = layer_tar_read(t, in, bs);
		if (n < 0) {
			berr_set(err, errno, "reading layer %s", diff_id);
			goto out;
		}
		z.next_in = in;
		z.avail_in = (uInt)n;
		int flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
		int zr;
		do {
			z.next_out = out;
			z.avail_out = (uInt)bs;
			zr = deflate(&z, flush);
			size_t got = bs - z.avail_out;
			if (got) {
				if (fs_write_full(fd, out, got) < 0) {
					berr_set(err, errno, "writing compressed layer");
					goto out;
				}
				sha256_update(&h, out, got);
				total += got;
			}
		} while (z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
		if (n == 0)
			break;
	}
	memcpy(ret_digest, "sha256:", 7);
	sha256_final_hex(&h, ret_digest + 7);
	*ret_size = total;
	if (fsync(fd) < 0 || renameat(s->tmpfd, tmp, s->blobsfd, ret_digest + 7) < 0) {
		berr_set(err, errno, "storing compressed layer");
		goto out;
	}
	if (symlinkat(diff_id + 7, s->blobmapfd, ret_digest + 7) < 0 && errno != EEXIST) {
		berr_set(err, errno, "recording compressed layer");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		unlinkat(s->tmpfd, tmp, 0);
		sha256_free(&h);
	}
	deflateEnd(&z);
	free(in);
	free(out);
	layer_tar_close(t);
	return rc;
}

struct blob_job {
	char digest[72];
	uint64_t size;
	const void *mem; /* config: in memory */
	char short_id[13];
};

struct push_ctx {
	struct image_store *s;
	struct reg_client *c;
	const char *repo;
	const char *scope;
	const char *mount_from; /* another repository of the same registry, or NULL */
	struct blob_job *jobs;
};

static char *with_digest(const char *loc, const char *digest)
{
	char *u = NULL;
	if (asprintf(&u, "%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', digest) < 0)
		return NULL;
	return u;
}

static int http_fail(const struct reg_req *r, const char *what, struct berr **err)
{
	_cleanup_free_ char *t = reg_error_text(r);
	return berr_setc(err, r->status == 401 || r->status == 403 ? BERR_INVALID : BERR_GENERIC,
			 "%s: %s", what, t ? t : "");
}

static int upload(struct push_ctx *p, struct blob_job *j, struct berr **err)
{
	char path[1024], what[120];
	snprintf(what, sizeof(what), "blob %s", j->digest);
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", p->repo, j->digest);
	struct reg_req r = {.method = "HEAD", .path = path, .scope = p->scope, .body_fd = -1};
	int rc = -1;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *loc = NULL, *base = NULL, *url = NULL;
	if (reg_do(p->c, &r, err) < 0)
		goto out;
	if (r.status == 200) {
		reg_report(p->c, REG_EV_LAYER_EXISTS, j->short_id, NULL, 0, 0);
		rc = 0;
		goto out;
	}
	reg_report(p->c, REG_EV_LAYER_QUEUED, j->short_id, NULL, 0, j->size);
	if (p->mount_from) {
		char mpath[1200], mscope[1300];
		snprintf(mpath, sizeof(mpath), "/v2/%s/blobs/uploads/?mount=%s&from=%s", p->repo, j->digest,
			 p->mount_from);
		snprintf(mscope, sizeof(mscope), "%s repository:%s:pull", p->scope, p->mount_from);
		struct reg_req m = {.method = "POST", .path = mpath, .scope = mscope, .body_fd = -1};
		if (reg_do(p->c, &m, err) < 0) {
			reg_req_release(&m);
			goto out;
		}
		if (m.status == 201) {
			reg_req_release(&m);
			reg_report(p->c, REG_EV_LAYER_MOUNTED, j->short_id, p->mount_from, 0, 0);
			rc = 0;
			goto out;
		}
		if (m.status == 202 && m.location)
			loc = steal_pointer(&m.location);
		reg_req_release(&m);
	}
	if (!loc) {
		char upath[1100];
		snprintf(upath, sizeof(upath), "/v2/%s/blobs/uploads/", p->repo);
		struct reg_req u = {.method = "POST", .path = upath, .scope = p->scope, .body_fd = -1};
		if (reg_do(p->c, &u, err) < 0) {
			reg_req_release(&u);
			goto out;
		}
		if (u.status != 202 || !u.location) {
			http_fail(&u, what, err);
			reg_req_release(&u);
			goto out;
		}
		loc = steal_pointer(&u.location);
		reg_req_release(&u);
	}
	if (!j->mem) {
		fd = openat(p->s->blobsfd, j->digest + 7, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			berr_set(err, errno, "%s: not in the local store", what);
			goto out;
		}
	}
	uint64_t chunk = chunk_size();
	uint64_t off = 0;
	if (j->size > chunk) {
		/* chunked: PATCH each piece with its range, then PUT to close */
		while (off < j->size) {
			uint64_t n = j->size - off < chunk ? j->size - off : chunk;
			char range[100];
			snprintf(range, sizeof(range), "Content-Range: %llu-%llu", (unsigned long long)off,
				 (unsigned long long)(off + n - 1));
			_cleanup_free_ char *purl = reg_url(p->c, loc);
			struct reg_req pr = {.method = "PATCH", .path = purl, .scope = p->scope,
					     .content_type = "application/octet-stream", .body_fd = fd,
					     .body_off = (off_t)off, .body_len = n, .data = j->mem ? (const char *)j->mem + off : NULL,
					     .extra_header = range};
			if (j->mem)
				pr.body_fd = -1;
			if (reg_do(p->c, &pr, err) < 0) {
				reg_req_release(&pr);
				goto out;
			}
			if (pr.status != 202 || !pr.location) {
				http_fail(&pr, what, err);
				reg_req_release(&pr);
				goto out;
			}
			free(loc);
			loc = steal_pointer(&pr.location);
			reg_req_release(&pr);
			off += n;
			reg_report(p->c, REG_EV_LAYER_BYTES, j->short_id, NULL, off, j->size);
		}
	}
	base = reg_url(p->c, loc);
	url = base ? with_digest(base, j->digest) : NULL;
	struct reg_req put = {.method = "PUT", .path = url, .scope = p->scope,
			      .content_type = "application/octet-stream", .body_fd = -1};
	if (off < j->size) {
		put.body_len = j->size;
		if (j->mem)
			put.data = j->mem;
		else
			put.body_fd = fd;
	}
	if (reg_do(p->c, &put, err) < 0) {
		reg_req_release(&put);
		goto out;
	}
	if (put.status != 201) {
		http_fail(&put, what, err);
		reg_req_release(&put);
		goto out;
	}
	reg_req_release(&put);
	reg_report(p->c, REG_EV_LAYER_BYTES, j->short_id, NULL, j->size, j->size);
	reg_report(p->c, REG_EV_LAYER_DONE, j->short_id, NULL, 0, 0);
	rc = 0;
out:
	reg_req_release(&r);
	return rc;
}

static int push_job(void *ctx, size_t i, struct berr **err)
{
	struct push_ctx *p = ctx;
	return upload(p, &p->jobs[i], err);
}

static bool uncompressed(const char *mt)
{
	return mt && (!strcmp(mt, MEDIA_OCI_LAYER) || !strcmp(mt, MEDIA_DOCKER_LAYER));
}

/* Give an image whose manifest has uncompressed layers a gzip manifest,
 * stored and recorded as the image's manifest. */
static int gzip_manifest(struct image_store *s, const char *id, json_t *rec, json_t *man,
			 char mdigest[72], struct berr **err)
{
	json_t *layers = json_object_get(man, "layers");
	bool docker = !strcmp(jsonx_str(man, "mediaType") ? jsonx_str(man, "mediaType") : "",
			      MEDIA_DOCKER_MANIFEST);
	json_t *diff_ids = json_object_get(rec, "layers");
	bool changed = false;
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) {
		if (!uncompressed(jsonx_str(l, "mediaType")))
			continue;
		const char *diff = json_string_value(json_array_get(diff_ids, i));
		if (!diff)
			return berr_setc(err, BERR_INVALID, "image %s: layer %zu has no diff_id", id, i + 1);
		char gz[72];
		uint64_t gsz = 0;
		if (compress_layer(s, diff, gz, &gsz, err) < 0)
			return -1;
		json_object_set_new(l, "mediaType",
				    json_string(docker ? MEDIA_DOCKER_LAYER_GZIP : MEDIA_OCI_LAYER_GZIP));
		json_object_set_new(l, "digest", json_string(gz));
		json_object_set_new(l, "size", json_integer((json_int_t)gsz));
		changed = true;
	}
	if (!changed)
		return 0;
	_cleanup_free_ char *mj = json_dumps(man, JSON_COMPACT);
	if (!mj || image_store_put_blob(s, mj, strlen(mj), mdigest, err) < 0)
		return -1;
	_cleanup_close_ int lk = image_store_index_lock(s, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *idx = image_store_index_read(s, err);
	if (!idx)
		return -1;
	json_t *r = json_object_get(json_object_get(idx, "images"), id);
	if (r)
		json_object_set_new(r, "manifest", json_string(mdigest));
	return image_store_index_write(s, idx, err);
}

static int push(struct image_store *s, struct image_ref *ref, const char *shown,
		const struct reg_opts *o, char ret_digest[72], uint64_t *ret_size, struct berr **err)
{
	_cleanup_free_ char *full = image_ref_string(ref);
	_cleanup_json_ json_t *idx = image_store_index_read(s, err);
	if (!idx)
		return -1;
	_cleanup_free_ char *id = NULL;
	if (image_store_resolve(idx, full, &id, NULL, err) < 0) {
		berr_freep(err);
		return berr_setc(err, BERR_NOT_FOUND, "An image does not exist locally with the tag: %s",
				 shown);
	}
	json_t *rec = json_object_get(json_object_get(idx, "images"), id);
	const char *md = jsonx_str(rec, "manifest");
	_cleanup_free_ char *mbuf = NULL, *cfg = NULL;
	size_t mlen = 0, cfglen = 0;
	if (!md || image_store_get_blob(s, md, &mbuf, &mlen, err) < 0)
		return berr_wrap(err, "%s: reading the local manifest", shown);
	_cleanup_json_ json_t *man = jsonx_parse(mbuf, mlen, "manifest", err);
	if (!man)
		return -1;
	char mdigest[72];
	snprintf(mdigest, sizeof(mdigest), "%s", md);
	if (gzip_manifest(s, id, rec, man, mdigest, err) < 0)
		return berr_wrap(err, "%s", shown);
	if (strcmp(mdigest, md)) {
		free(mbuf);
		mbuf = NULL;
		if (image_store_get_blob(s, mdigest, &mbuf, &mlen, err) < 0)
			return -1;
	}
	if (image_store_get_blob(s, id, &cfg, &cfglen, err) < 0)
		return berr_wrap(err, "%s: reading the image config", shown);
	struct reg_manifest m = {0};
	if (reg_manifest_parse(man, NULL, &m, err) < 0)
		return berr_wrap(err, "%s", shown);

	struct reg_client *c = NULL;
	if (reg_client_new(ref->domain, &c, err) < 0) {
		reg_manifest_release(&m);
		return berr_wrap(err, "pushing %s", shown);
	}
	c->progress = o ? o->progress : NULL;
	c->progress_ctx = o ? o->progress_ctx : NULL;
	reg_report(c, REG_EV_PULLING, ref->tag, ref->path, 0, 0);
	char scope[700];
	snprintf(scope, sizeof(scope), "repository:%s:pull,push", ref->path);
	/* a repository of the same registry this image came from: mount */
	_cleanup_free_ char *from = NULL;
	{
		size_t i;
		json_t *d;
		size_t dl = strlen(ref->domain);
		json_array_foreach(json_object_get(rec, "repo_digests"), i, d) {
			const char *v = json_string_value(d);
			if (v && !strncmp(v, ref->domain, dl) && v[dl] == '/') {
				size_t pl = strcspn(v + dl + 1, "@");
				if (pl != strlen(ref->path) || strncmp(v + dl + 1, ref->path, pl)) {
					from = strndup(v + dl + 1, pl);
					break;
				}
			}
		}
	}
	struct blob_job *jobs = calloc(m.nlayers + 1, sizeof(*jobs));
	_cleanup_free_ char *repo = NULL, *rd = NULL;
	int rc = -1;
	if (!jobs) {
		berr_set(err, ENOMEM, "push");
		goto out;
	}
	for (size_t i = 0; i < m.nlayers; i++) {
		memcpy(jobs[i].digest, m.layers[i].digest, 72);
		jobs[i].size = m.layers[i].size;
		snprintf(jobs[i].short_id, 13, "%.12s", m.layers[i].digest + 7);
	}
	struct push_ctx p = {.s = s, .c = c, .repo = ref->path, .scope = scope, .mount_from = from,
			     .jobs = jobs};
	struct berr *perr = NULL;
	if (reg_run_parallel(m.nlayers, o && o->max_uploads > 0 ? o->max_uploads : 5, push_job, &p, &perr) == 0) {
		/* the config after the layers, the manifest last */
		struct blob_job cj = {.size = cfglen, .mem = cfg};
		memcpy(cj.digest, id, 72);
		snprintf(cj.short_id, 13, "%.12s", id + 7);
		reg_progress_fn pf = c->progress;
		c->progress = NULL; /* Docker does not show the config */
		upload(&p, &cj, &perr);
		c->progress = pf;
	}
	if (perr) {
		*err = perr;
		berr_wrap(err, "pushing %s", shown);
		goto out;
	}
	char path[1024];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", ref->path, ref->tag);
	const char *mt = jsonx_str(man, "mediaType");
	struct reg_req put = {.method = "PUT", .path = path, .scope = scope,
			      .content_type = mt ? mt : MEDIA_OCI_MANIFEST, .data = mbuf, .body_len = mlen,
			      .body_fd = -1};
	if (reg_do(c, &put, err) < 0) {
		reg_req_release(&put);
		berr_wrap(err, "pushing %s", shown);
		goto out;
	}
	if (put.status != 201) {
		http_fail(&put, "pushing the manifest", err);
		berr_wrap(err, "%s", shown);
		reg_req_release(&put);
		goto out;
	}
	reg_req_release(&put);
	sha256_digest_of(mbuf, mlen, ret_digest);
	*ret_size = mlen;
	repo = image_ref_repo(ref);
	if (asprintf(&rd, "%s@%s", repo, ret_digest) >= 0)
		reg_record_repo_digest(s, id, rd, NULL);
	rc = 0;
out:
	free(jobs);
	reg_manifest_release(&m);
	reg_client_free(c);
	return rc;
}

int reg_push(struct image_store *s, const char *name, const struct reg_opts *o,
	     char ret_digest[72], uint64_t *ret_size, struct berr **err)
{
	struct image_ref ref;
	if (image_ref_parse(name, true, &ref, err) < 0)
		return -1;
	int r = -1;
	_cleanup_free_ char *full = image_ref_string(&ref);
	_cleanup_free_ char *shown = image_ref_familiarize(full);
	if (ref.digest && !ref.tag)
		r = berr_setc(err, BERR_INVALID, "cannot push a digest reference (%s): give a tag", name);
	else if (image_store_gc_lock(s, false, err) == 0)
		r = push(s, &ref, shown ? shown : name, o, ret_digest, ret_size, err);
	image_ref_release(&ref);
	return r;
}
