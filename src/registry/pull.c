/* berth pull: manifest (through an index if needed), config, then the
 * layers in parallel, each downloaded, decompressed, hashed and extracted
 * in one streaming pass by its own worker thread. A layer becomes visible
 * only after both its blob digest and its diff_id (against the config)
 * matched; the image and its tag only after every layer did. */
#include "registry/internal.h"
#include "image/image.h"
#include "image/layer.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/hash.h"
#include "util/jsonx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void reg_pull_result_release(struct reg_pull_result *r)
{
	free(r->ref);
	r->ref = NULL;
}

/* GET a manifest by tag or digest; verifies a digest reference. */
static int fetch_manifest(struct reg_client *c, const char *repo, const char *refname,
			  const char *shown, char **ret_body, size_t *ret_len, char **ret_mt,
			  char ret_digest[72], struct berr **err)
{
	char path[1024], scope[600];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", repo, refname);
	snprintf(scope, sizeof(scope), "repository:%s:pull", repo);
	struct reg_req r = {.method = "GET", .path = path, .scope = scope, .accept = reg_manifest_accept,
			    .body_fd = -1, .max_body = REG_MAX_MANIFEST};
	if (reg_do(c, &r, err) < 0) {
		reg_req_release(&r);
		return -1;
	}
	int ret = -1;
	if (r.status != 200) {
		_cleanup_free_ char *t = reg_error_text(&r);
		if (r.status == 404)
			berr_setc(err, BERR_NOT_FOUND, "manifest for %s not found: %s", shown, t);
		else
			berr_setc(err, r.status == 401 || r.status == 403 ? BERR_INVALID : BERR_GENERIC,
				  "%s: %s", shown, t);
		goto out;
	}
	sha256_digest_of(r.body.s ? r.body.s : "", r.body.len, ret_digest);
	if (!strncmp(refname, "sha256:", 7) && strcmp(refname, ret_digest)) {
		berr_setc(err, BERR_INVALID, "%s: manifest digest mismatch: got %s", shown, ret_digest);
		goto out;
	}
	*ret_len = r.body.len;
	*ret_body = sbuf_detach(&r.body);
	*ret_mt = r.content_type_got ? strndup(r.content_type_got, strcspn(r.content_type_got, ";"))
				     : NULL;
	ret = 0;
out:
	reg_req_release(&r);
	return ret;
}

/* GET a small blob (the config) into memory and verify it. */
static int fetch_small_blob(struct reg_client *c, const char *repo, const struct reg_desc *d,
			    char **ret, size_t *ret_len, struct berr **err)
{
	char path[1024], scope[600];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", repo, d->digest);
	snprintf(scope, sizeof(scope), "repository:%s:pull", repo);
	struct reg_req r = {.method = "GET", .path = path, .scope = scope, .body_fd = -1,
			    .max_body = REG_MAX_CONFIG};
	if (reg_do(c, &r, err) < 0) {
		reg_req_release(&r);
		return -1;
	}
	int rc = -1;
	char got[72];
	if (r.status != 200) {
		_cleanup_free_ char *t = reg_error_text(&r);
		berr_set(err, 0, "blob %s: %s", d->digest, t);
	} else if (sha256_digest_of(r.body.s ? r.body.s : "", r.body.len, got),
		   strcmp(got, d->digest) != 0) {
		berr_setc(err, BERR_INVALID, "blob %s: digest mismatch: got %s", d->digest, got);
	} else {
		*ret_len = r.body.len;
		*ret = sbuf_detach(&r.body);
		rc = 0;
	}
	reg_req_release(&r);
	return rc;
}

struct job {
	const struct reg_desc *d;
	const char *diff_id; /* from the config */
	char short_id[13];
	struct layer_stage st;
	bool staged;
};

struct pull_ctx {
	struct image_store *s;
	struct reg_client *c;
	const char *repo;
	struct job *jobs;
};

static ssize_t empty_read(void *opaque, void *buf, size_t n)
{
	return 0;
}

static int pull_layer(struct pull_ctx *p, struct job *j, struct berr **err)
{
	struct reg_blob *b = NULL;
	reg_report(p->c, REG_EV_LAYER_QUEUED, j->short_id, NULL, 0, j->d->size);
	if (reg_blob_open(p->c, p->repo, j->d->digest, j->d->size, j->short_id, &b, err) < 0)
		return -1;
	char what[100];
	snprintf(what, sizeof(what), "layer %s", j->d->digest);
	int r = layer_stage_stream(p->s, reg_blob_read, b, what, j->d->digest, &j->st, err);
	if (r < 0 && reg_blob_error(b)) {
		berr_freep(err);
		berr_set(err, 0, "%s", reg_blob_error(b));
	}
	reg_blob_close(b);
	if (r < 0)
		return -1;
	j->staged = true;
	reg_report(p->c, REG_EV_LAYER_VERIFY, j->short_id, NULL, 0, 0);
	if (strcmp(j->st.diff_id, j->diff_id))
		return berr_setc(err, BERR_INVALID,
				 "%s: content has diff_id %s but the image config says %s", what,
				 j->st.diff_id, j->diff_id);
	reg_report(p->c, REG_EV_LAYER_FETCHED, j->short_id, NULL, 0, 0);
	/* Verified: make it visible now so a failed pull's rerun skips it. */
	if (layer_stage_commit(p->s, &j->st, err) < 0)
		return -1;
	reg_report(p->c, REG_EV_LAYER_DONE, j->short_id, NULL, 0, 0);
	return 0;
}

static int pull_job(void *ctx, size_t i, struct berr **err)
{
	struct pull_ctx *p = ctx;
	struct job *j = &p->jobs[i];
	if (j->staged)
		return 0;
	if (pull_layer(p, j, err) < 0) {
		reg_report(p->c, REG_EV_LAYER_FAILED, j->short_id, NULL, 0, 0);
		return -1;
	}
	return 0;
}

/* Record repo@digest on the image (one per repository, the newest). */
int reg_record_repo_digest(struct image_store *s, const char *id, const char *repo_digest,
			   struct berr **err)
{
	_cleanup_close_ int lk = image_store_index_lock(s, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *idx = image_store_index_read(s, err);
	if (!idx)
		return -1;
	json_t *rec = json_object_get(json_object_get(idx, "images"), id);
	if (!rec)
		return 0;
	json_t *rd = json_object_get(rec, "repo_digests");
	if (!json_is_array(rd)) {
		rd = json_array();
		json_object_set_new(rec, "repo_digests", rd);
	}
	size_t at = strcspn(repo_digest, "@");
	for (size_t i = json_array_size(rd); i-- > 0;) {
		const char *v = json_string_value(json_array_get(rd, i));
		if (v && !strncmp(v, repo_digest, at + 1))
			json_array_remove(rd, i);
	}
	json_array_append_new(rd, json_string(repo_digest));
	return image_store_index_write(s, idx, err);
}

static int pull(struct image_store *s, struct image_ref *ref, const char *shown,
		const struct reg_opts *o, struct reg_pull_result *ret, struct berr **err)
{
	struct reg_client *c = NULL;
	if (reg_client_new(ref->domain, &c, err) < 0)
		return berr_wrap(err, "pulling %s", shown);
	c->progress = o ? o->progress : NULL;
	c->progress_ctx = o ? o->progress_ctx : NULL;
	const char *refname = ref->digest ? ref->digest : ref->tag;
	reg_report(c, REG_EV_PULLING, refname, ref->path, 0, 0);

	int rc = -1;
	_cleanup_free_ char *body = NULL, *mt = NULL, *body2 = NULL, *mt2 = NULL, *cfg = NULL;
	size_t len = 0, len2 = 0, cfglen = 0;
	char top_digest[72], mdigest[72];
	struct reg_manifest m = {0};
	struct reg_desc sel = {0};
	struct job *jobs = NULL;
	struct layer_stage **stages = NULL;
	_cleanup_json_ json_t *j = NULL, *cj = NULL, *tags = json_array();
	_cleanup_free_ char *fullref = NULL, *repo = NULL, *rd = NULL;

	if (fetch_manifest(c, ref->path, refname, shown, &body, &len, &mt, top_digest, err) < 0)
		goto out;
	j = jsonx_parse(body, len, "manifest", err);
	if (!j) {
		berr_wrap(err, "%s: the registry's manifest is not valid JSON", shown);
		goto out;
	}
	const char *mbody = body;
	size_t mlen = len;
	memcpy(mdigest, top_digest, sizeof(mdigest));
	if (reg_is_index(mt, j)) {
		if (reg_index_select(j, o ? o->platform : NULL, &sel, err) < 0) {
			berr_wrap(err, "%s", shown);
			goto out;
		}
		if (fetch_manifest(c, ref->path, sel.digest, shown, &body2, &len2, &mt2, mdigest, err) < 0)
			goto out;
		json_decref(j);
		j = jsonx_parse(body2, len2, "manifest", err);
		if (!j) {
			berr_wrap(err, "%s: the registry's manifest is not valid JSON", shown);
			goto out;
		}
		if (reg_is_index(mt2, j)) {
			berr_setc(err, BERR_INVALID, "%s: manifest list entry %s is itself a list", shown,
				  sel.digest);
			goto out;
		}
		mbody = body2;
		mlen = len2;
	} else if (o && o->platform) {
		/* a single-platform image: checked against the config below */
	}
	if (reg_manifest_parse(j, mt2 ? mt2 : mt, &m, err) < 0) {
		berr_wrap(err, "%s", shown);
		goto out;
	}
	if (fetch_small_blob(c, ref->path, &m.config, &cfg, &cfglen, err) < 0) {
		berr_wrap(err, "%s: image config", shown);
		goto out;
	}
	cj = jsonx_parse(cfg, cfglen, "image config", err);
	if (!cj) {
		berr_wrap(err, "%s", shown);
		goto out;
	}
	json_t *diff_ids = json_object_get(json_object_get(cj, "rootfs"), "diff_ids");
	if (!json_is_array(diff_ids) || json_array_size(diff_ids) != m.nlayers) {
		berr_setc(err, BERR_INVALID, "%s: the image config lists %zu layers, the manifest %zu", shown,
			  json_array_size(diff_ids), m.nlayers);
		goto out;
	}
	if (o && o->platform) {
		const char *os = jsonx_str(cj, "os"), *arch = jsonx_str(cj, "architecture");
		char want[96];
		snprintf(want, sizeof(want), "%s/%s", os ? os : "", arch ? arch : "");
		if (strncmp(o->platform, want, strlen(want))) {
			berr_setc(err, BERR_INVALID, "%s: image is for platform %s, %s was requested", shown,
				  want, o->platform);
			goto out;
		}
	}

	jobs = calloc(m.nlayers + 1, sizeof(*jobs));
	stages = calloc(m.nlayers + 1, sizeof(*stages));
	if (!jobs || !stages) {
		berr_set(err, ENOMEM, "pull");
		goto out;
	}
	for (size_t i = 0; i < m.nlayers; i++) {
		struct job *jb = &jobs[i];
		jb->d = &m.layers[i];
		jb->diff_id = json_string_value(json_array_get(diff_ids, i));
		if (!jb->diff_id || !digest_is_valid(jb->diff_id)) {
			berr_setc(err, BERR_INVALID, "%s: the image config's diff_id %zu is not valid", shown, i + 1);
			goto out;
		}
		snprintf(jb->short_id, sizeof(jb->short_id), "%.12s", jb->d->digest + 7);
		stages[i] = &jb->st;
		/* already in the store (from this or another image): no download */
		_cleanup_free_ char *known = image_store_blob_layer(s, jb->d->digest);
		if (known && !strcmp(known, jb->diff_id) && image_store_has_blob(s, jb->d->digest) &&
		    layer_stage_stream(s, empty_read, NULL, "layer", jb->d->digest, &jb->st, NULL) == 0) {
			jb->staged = true;
			reg_report(c, REG_EV_LAYER_EXISTS, jb->short_id, NULL, 0, 0);
		}
	}

	struct pull_ctx p = {.s = s, .c = c, .repo = ref->path, .jobs = jobs};
	if (reg_run_parallel(m.nlayers, o && o->max_downloads > 0 ? o->max_downloads : 3, pull_job, &p, err) < 0) {
		berr_wrap(err, "%s", shown);
		goto out;
	}

	/* Was the ref already pointing at this image? */
	fullref = image_ref_string(ref);
	repo = image_ref_repo(ref);
	ret->up_to_date = false;
	{
		struct berr *e = NULL;
		_cleanup_json_ json_t *idx = image_store_index_read(s, &e);
		berr_free(e);
		const char *cur = ref->tag ? jsonx_str(json_object_get(idx, "refs"), fullref) : NULL;
		if (cur && !strcmp(cur, m.config.digest))
			ret->up_to_date = true;
		if (!ref->tag && json_object_get(json_object_get(idx, "images"), m.config.digest))
			ret->up_to_date = true;
	}
	if (ref->tag)
		json_array_append_new(tags, json_string(fullref));
	struct image_new in = {.config = cfg, .config_len = cfglen, .layers = stages,
			       .nlayers = m.nlayers, .tags = tags, .manifest = mbody, .manifest_len = mlen};
	char ids[1][72];
	if (image_commit(s, &in, 1, ids, NULL, err) < 0) {
		berr_wrap(err, "%s", shown);
		goto out;
	}
	if (asprintf(&rd, "%s@%s", repo, top_digest) < 0 ||
	    reg_record_repo_digest(s, ids[0], rd, err) < 0) {
		berr_wrap(err, "%s: recording the digest", shown);
		goto out;
	}
	memcpy(ret->id, ids[0], sizeof(ret->id));
	memcpy(ret->digest, top_digest, sizeof(ret->digest));
	ret->ref = steal_pointer(&fullref);
	rc = 0;
out:
	if (jobs) {
		for (size_t i = 0; i < m.nlayers; i++)
			layer_stage_release(s, &jobs[i].st);
		free(jobs);
	}
	free(stages);
	reg_desc_release(&sel);
	reg_manifest_release(&m);
	reg_client_free(c);
	return rc;
}

int reg_pull(struct image_store *s, const char *name, const struct reg_opts *o,
	     struct reg_pull_result *ret, struct berr **err)
{
	memset(ret, 0, sizeof(*ret));
	struct image_ref ref;
	if (image_ref_parse(name, true, &ref, err) < 0)
		return -1;
	_cleanup_free_ char *full = image_ref_string(&ref);
	_cleanup_free_ char *shown = image_ref_familiarize(full);
	int r = image_store_gc_lock(s, false, err);
	if (r == 0)
		r = pull(s, &ref, shown ? shown : name, o, ret, err);
	image_ref_release(&ref);
	return r;
}
