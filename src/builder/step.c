/* What every build step shares: errors that point at the Dockerfile line,
 * the cache key chain, the stage's config (ENV, SHELL) and variable
 * expansion with its ARGs and ENV, instruction flags, history entries, and
 * the stage's image: loading a config, committing a step as a cache image
 * and finding a step in the cache. */
#include "builder/build-int.h"
#include "builder/shlex.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/hash.h"
#include "util/jsonx.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bstep_line_err(struct bctx *b, const struct df_node *n, struct berr **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	/* the offending lines, as the parser shows them, when n is from this file */
	_cleanup_free_ char *ex = NULL;
	if (n && b->df && n >= b->df->nodes && n < b->df->nodes + b->df->n)
		ex = dockerfile_excerpt(b->df, n->start_line, n->end_line);
	if (*err) {
		_cleanup_free_ char *old = strdup((*err)->msg);
		return berr_setc(err, BERR_INVALID, "%s:%d: %s: %s%s", b->dfname, n ? n->start_line : 0, m ? m : "",
				 old ? old : "", ex ? ex : "");
	}
	return berr_setc(err, BERR_INVALID, "%s:%d: %s%s", b->dfname, n ? n->start_line : 0, m ? m : "", ex ? ex : "");
}

void bstep_key_step(char key[65], const char *text, const char *extra)
{
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, key, strlen(key));
	sha256_update(&h, "\n", 1);
	sha256_update(&h, text, strlen(text));
	sha256_update(&h, "\n", 1);
	if (extra)
		sha256_update(&h, extra, strlen(extra));
	sha256_final_hex(&h, key);
}

json_t *bstep_cfg_of(struct stage *s)
{
	json_t *c = json_object_get(s->img, "config");
	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(s->img, "config", c);
	}
	return c;
}

const char *bstep_env_get(json_t *env, const char *k)
{
	size_t kl = strlen(k), i;
	json_t *v;
	const char *found = NULL;
	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);
		if (s && !strncmp(s, k, kl) && s[kl] == '=')
			found = s + kl + 1;
	}
	return found;
}

void bstep_env_set(json_t *env, const char *k, const char *val)
{
	size_t kl = strlen(k), i;
	json_t *v;
	json_t *nv = json_sprintf("%s=%s", k, val);
	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);
		if (s && !strncmp(s, k, kl) && s[kl] == '=') {
			json_array_set_new(env, i, nv);
			return;
		}
	}
	json_array_append_new(env, nv);
}

/* "KEY=VALUE" array for expansion: ARGs in scope, then ENV (ENV wins). */
char **bstep_expand_env(struct bctx *b, struct stage *s)
{
	json_t *env = json_object_get(bstep_cfg_of(s), "Env");
	size_t n = json_array_size(env) + json_object_size(s->args) + 1, k = 0;
	char **out = calloc(n, sizeof(char *));
	if (!out)
		return NULL;
	const char *name;
	json_t *v;
	json_object_foreach(s->args, name, v) {
		if (json_is_string(v) && asprintf(&out[k], "%s=%s", name, json_string_value(v)) >= 0)
			k++;
	}
	size_t i;
	json_array_foreach(env, i, v) {
		if (json_is_string(v) && (out[k] = strdup(json_string_value(v))))
			k++;
	}
	(void)b;
	return out;
}

void bstep_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int bstep_expand(struct bctx *b, struct stage *s, const struct df_node *n, const char *word, char **out,
		 struct berr **err)
{
	char **env = bstep_expand_env(b, s);
	int r = shlex_expand(word, b->df->escape, (const char *const *)env, out, err);
	bstep_strv_free(env);
	if (r < 0)
		return bstep_line_err(b, n, err, "%s", n->cmd);
	return 0;
}

int bstep_expand_words(struct bctx *b, struct stage *s, const struct df_node *n, const char *text, char ***out,
		       size_t *nout, struct berr **err)
{
	char **env = bstep_expand_env(b, s);
	int r = shlex_expand_words(text, b->df->escape, (const char *const *)env, out, nout, err);
	bstep_strv_free(env);
	if (r < 0)
		return bstep_line_err(b, n, err, "%s", n->cmd);
	return 0;
}

const char *bstep_flag_val(const struct df_node *n, const char *name)
{
	size_t l = strlen(name);
	const char *v = NULL;
	for (size_t i = 0; i < n->nflags; i++)
		if (!strncmp(n->flags[i], "--", 2) && !strncmp(n->flags[i] + 2, name, l) && n->flags[i][2 + l] == '=')
			v = n->flags[i] + 3 + l;
	return v;
}

int bstep_check_flags(struct bctx *b, const struct df_node *n, const char *const *allowed, struct berr **err)
{
	for (size_t i = 0; i < n->nflags; i++) {
		const char *f = n->flags[i];
		bool ok = false;
		for (size_t k = 0; allowed && allowed[k]; k++) {
			size_t l = strlen(allowed[k]);
			if (!strncmp(f, "--", 2) && !strncmp(f + 2, allowed[k], l) && (f[2 + l] == '=' || !f[2 + l]))
				ok = true;
		}
		if (!ok) {
			char name[64];
			snprintf(name, sizeof(name), "%s", f);
			char *eq = strchr(name, '=');
			if (eq)
				*eq = 0;
			return bstep_line_err(b, n, err, "unknown flag: %s", name + (name[0] == '-' && name[1] == '-' ? 2 : 0));
		}
	}
	return 0;
}

static void now_rfc3339(struct bctx *b, char *buf, size_t n)
{
	struct timespec t;
	if (b->epoch >= 0) {
		t.tv_sec = b->epoch;
		t.tv_nsec = 0;
	} else {
		clock_gettime(CLOCK_REALTIME, &t);
	}
	time_rfc3339(&t, buf, n);
}

void bstep_add_history(struct bctx *b, struct stage *s, const char *created_by, bool empty)
{
	json_t *h = json_object_get(s->img, "history");
	if (!json_is_array(h)) {
		h = json_array();
		json_object_set_new(s->img, "history", h);
	}
	char t[48];
	now_rfc3339(b, t, sizeof(t));
	json_t *e = json_pack("{s:s, s:s, s:s}", "created", t, "created_by", created_by, "comment",
			      "buildkit.dockerfile.v0");
	if (empty)
		json_object_set_new(e, "empty_layer", json_true());
	json_array_append_new(h, e);
	json_object_set_new(s->img, "created", json_string(t));
}

char *bstep_join_args(const struct df_node *n)
{
	struct sbuf sb = SBUF_INIT;
	for (size_t i = 0; i < n->nargs; i++) {
		if (i)
			sbuf_addc(&sb, ' ');
		sbuf_adds(&sb, n->args[i]);
	}
	return sbuf_detach(&sb);
}

json_t *bstep_strs_json(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

int bstep_load_image(struct bctx *b, const char *id, json_t **ret, struct berr **err)
{
	_cleanup_free_ char *raw = NULL;
	size_t len;
	if (image_store_get_blob(b->is, id, &raw, &len, err) < 0)
		return -1;
	json_t *j = jsonx_parse(raw, len, "image config", err);
	if (!j)
		return -1;
	*ret = j;
	return 0;
}

void bstep_stage_set_img(struct stage *s, json_t *img)
{
	json_decref(s->img);
	s->img = img;
	json_t *rf = json_object_get(img, "rootfs");
	if (!json_is_object(rf)) {
		rf = json_pack("{s:s, s:[]}", "type", "layers", "diff_ids");
		json_object_set_new(img, "rootfs", rf);
	}
	s->layers = json_object_get(rf, "diff_ids");
	if (!json_is_array(s->layers)) {
		s->layers = json_array();
		json_object_set_new(rf, "diff_ids", s->layers);
	}
}

static int mark_cache_record(struct bctx *b, const char *id, struct berr **err)
{
	_cleanup_close_ int lk = image_store_index_lock(b->is, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *idx = image_store_index_read(b->is, err);
	if (!idx)
		return -1;
	json_t *rec = json_object_get(json_object_get(idx, "images"), id);
	if (!rec)
		return berr_set(err, 0, "image %s vanished from the index", id);
	if (json_is_true(json_object_get(rec, "build_cache")))
		return 0;
	json_object_set_new(rec, "build_cache", json_true());
	return image_store_index_write(b->is, idx, err);
}

/* Commit the stage's config (+ an optional new layer) as a cache image. */
int bstep_commit_stage(struct bctx *b, struct stage *s, struct layer_stage *nl, struct berr **err)
{
	if (nl)
		json_array_append_new(s->layers, json_string(nl->diff_id));
	size_t nlayers = json_array_size(s->layers);
	_cleanup_free_ char *cj = NULL;
	_cleanup_json_ json_t *tags = json_array();
	struct layer_stage *sts = calloc(nlayers ? nlayers : 1, sizeof(*sts));
	struct layer_stage **ptrs = calloc(nlayers ? nlayers : 1, sizeof(*ptrs));
	int rc = -1;
	if (!sts || !ptrs) {
		berr_set(err, ENOMEM, "commit");
		goto out;
	}
	for (size_t i = 0; i < nlayers; i++) {
		const char *d = json_string_value(json_array_get(s->layers, i));
		ptrs[i] = &sts[i];
		if (nl && i == nlayers - 1) {
			ptrs[i] = nl;
			continue;
		}
		_cleanup_json_ json_t *m = d ? image_store_layer_meta(b->is, d) : NULL;
		if (!m) {
			berr_set(err, 0, "layer %s is missing from the store", d ? d : "?");
			goto out;
		}
		snprintf(sts[i].diff_id, sizeof(sts[i].diff_id), "%s", d);
		const char *bl = jsonx_str(m, "blob");
		snprintf(sts[i].blob, sizeof(sts[i].blob), "%s", bl ? bl : d);
		const char *mt = jsonx_str(m, "media_type");
		sts[i].media_type = mt && !strcmp(mt, MEDIA_OCI_LAYER_GZIP)   ? MEDIA_OCI_LAYER_GZIP
				    : mt && !strcmp(mt, MEDIA_OCI_LAYER_ZSTD) ? MEDIA_OCI_LAYER_ZSTD
									      : MEDIA_OCI_LAYER;
		sts[i].blob_size = (uint64_t)json_integer_value(json_object_get(m, "blob_size"));
		sts[i].tar_size = (uint64_t)json_integer_value(json_object_get(m, "tar_size"));
		sts[i].size = (uint64_t)json_integer_value(json_object_get(m, "size"));
	}
	if (!json_object_get(s->img, "created")) {
		char t[48];
		now_rfc3339(b, t, sizeof(t));
		json_object_set_new(s->img, "created", json_string(t));
	}
	cj = jsonx_dumps(s->img, 1); /* sorted, as Go writes maps: canonical */
	struct image_new in = {.config = cj, .config_len = cj ? strlen(cj) : 0, .layers = ptrs, .nlayers = nlayers,
			       .tags = tags};
	char ids[1][72];
	if (!cj || image_commit(b->is, &in, 1, ids, NULL, err) < 0)
		goto out;
	if (mark_cache_record(b, ids[0], err) < 0)
		goto out;
	memcpy(s->id, ids[0], 72);
	s->dirty = false;
	if (bcache_put(b->is, s->key, s->id, err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && nl)
		json_array_remove(s->layers, nlayers - 1);
	free(sts);
	free(ptrs);
	return rc;
}

/* A cache hit: the stage takes the cached image. */
bool bstep_cache_hit(struct bctx *b, struct stage *s, struct berr **err)
{
	if (b->o->no_cache)
		return false;
	char id[72];
	if (bcache_get(b->is, s->key, id) < 0)
		return false;
	json_t *img;
	struct berr *e = NULL;
	/* the record must still be there (its layers are then kept) */
	_cleanup_json_ json_t *idx = image_store_index_read(b->is, &e);
	if (!idx || !json_object_get(json_object_get(idx, "images"), id) || bstep_load_image(b, id, &img, &e) < 0) {
		berr_free(e);
		return false;
	}
	(void)err;
	bstep_stage_set_img(s, img);
	memcpy(s->id, id, 72);
	s->dirty = false;
	return true;
}

char *bstep_lowerdir_of(struct bctx *b, json_t *layers)
{
	struct sbuf sb = SBUF_INIT;
	for (size_t i = json_array_size(layers); i-- > 0;) {
		const char *d = json_string_value(json_array_get(layers, i));
		if (!d || strlen(d) < 8)
			continue;
		if (sb.len)
			sbuf_addc(&sb, ':');
		sbuf_addf(&sb, "%s/%s/diff", b->layers_dir, d + 7);
	}
	return sbuf_detach(&sb);
}

json_t *bstep_shell_of(struct stage *s)
{
	json_t *sh = json_object_get(bstep_cfg_of(s), "Shell");
	if (json_array_size(sh))
		return json_deep_copy(sh);
	return json_pack("[s, s]", "/bin/sh", "-c");
}

/* CMD / ENTRYPOINT / RUN argv: exec form as is, shell form through SHELL. */
json_t *bstep_cmd_argv(struct stage *s, const struct df_node *n)
{
	if (n->json)
		return bstep_strs_json(n->args, n->nargs);
	json_t *a = bstep_shell_of(s);
	_cleanup_free_ char *j = bstep_join_args(n);
	json_array_append_new(a, json_string(j ? j : ""));
	return a;
}
