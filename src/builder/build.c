/* The build driver: stages, ARG/ENV scoping, variable expansion where
 * Docker expands, the step cache and the final commit.
 *
 * Every step extends a cache key chain: key = sha256(previous key,
 * instruction after expansion, what else the step depends on). Metadata
 * steps (ENV, LABEL, ...) only change the config in memory; steps that make
 * a layer (RUN, COPY, ADD) and the end of a stage commit an image (marked
 * "build_cache" in the index) and record key -> image ID. A rebuild with
 * nothing changed therefore only re-derives keys, checks the context and
 * finds every image in the cache. */
#include "builder/bint.h"
#include "builder/btar.h"
#include "builder/ignore.h"
#include "builder/shlex.h"
#include "image/image.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/jsonx.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

volatile int build_interrupted;

#define MAX_DOCKERFILE (4u << 20)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct stage {
	size_t first, end;  /* node range: FROM .. end (exclusive) */
	char *name;         /* AS name (lower-cased) or NULL */
	char *base;         /* FROM argument after expansion */
	bool needed, done;
	json_t *img;        /* image config (full) */
	char id[72];        /* last committed image, "" when none */
	char key[65];       /* cache key chain */
	bool dirty;         /* config changed since id was committed */
	json_t *args;       /* ARG name -> value (string) or null */
	json_t *layers;     /* diff_ids (borrowed from img) */
	int nsteps, step;
	char label[64];
	bool started;       /* FROM done; nodes before next are done too */
	size_t next;        /* next node to run */
};

struct bctx {
	struct image_store *is;
	struct ctr_store *cs;
	const struct build_opts *o;
	struct dockerfile *df;
	const char *dfname;
	int ctxfd;
	char *ctxdir;
	json_t *buildargs;   /* --build-arg */
	json_t *used_args;
	json_t *meta;        /* ARGs before the first FROM */
	struct stage *st;
	size_t nst;
	int64_t epoch;
	struct bprog prog;
	char *layers_dir;
	char *statdir;
	struct dockerignore *ignore;
	struct layer_stage ctxstage; /* a context tar from stdin, unpacked in tmp/ */
	bool have_ctxstage;
};

struct stdin_src {
	const unsigned char *head;
	size_t hl, off;
};

static ssize_t stdin_read(void *opaque, void *buf, size_t n)
{
	struct stdin_src *s = opaque;
	if (s->off < s->hl) {
		size_t k = s->hl - s->off < n ? s->hl - s->off : n;
		memcpy(buf, s->head + s->off, k);
		s->off += k;
		return (ssize_t)k;
	}
	for (;;) {
		ssize_t r = read(0, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

/* ---- small helpers ---- */

static int line_err(struct bctx *b, const struct df_node *n, struct berr **err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int line_err(struct bctx *b, const struct df_node *n, struct berr **err, const char *fmt, ...)
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

static void key_step(char key[65], const char *text, const char *extra)
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

static json_t *cfg_of(struct stage *s)
{
	json_t *c = json_object_get(s->img, "config");
	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(s->img, "config", c);
	}
	return c;
}

static const char *env_get(json_t *env, const char *k)
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

static void env_set(json_t *env, const char *k, const char *val)
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
static char **expand_env(struct bctx *b, struct stage *s)
{
	json_t *env = json_object_get(cfg_of(s), "Env");
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

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int expand(struct bctx *b, struct stage *s, const struct df_node *n, const char *word, char **out,
		  struct berr **err)
{
	char **env = expand_env(b, s);
	int r = shlex_expand(word, b->df->escape, (const char *const *)env, out, err);
	strv_free(env);
	if (r < 0)
		return line_err(b, n, err, "%s", n->cmd);
	return 0;
}

static int expand_words(struct bctx *b, struct stage *s, const struct df_node *n, const char *text, char ***out,
			size_t *nout, struct berr **err)
{
	char **env = expand_env(b, s);
	int r = shlex_expand_words(text, b->df->escape, (const char *const *)env, out, nout, err);
	strv_free(env);
	if (r < 0)
		return line_err(b, n, err, "%s", n->cmd);
	return 0;
}

static const char *flag_val(const struct df_node *n, const char *name)
{
	size_t l = strlen(name);
	const char *v = NULL;
	for (size_t i = 0; i < n->nflags; i++)
		if (!strncmp(n->flags[i], "--", 2) && !strncmp(n->flags[i] + 2, name, l) && n->flags[i][2 + l] == '=')
			v = n->flags[i] + 3 + l;
	return v;
}

static int check_flags(struct bctx *b, const struct df_node *n, const char *const *allowed, struct berr **err)
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
			return line_err(b, n, err, "unknown flag: %s", name + (name[0] == '-' && name[1] == '-' ? 2 : 0));
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

static void add_history(struct bctx *b, struct stage *s, const char *created_by, bool empty)
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

static char *join_args(const struct df_node *n)
{
	struct sbuf sb = SBUF_INIT;
	for (size_t i = 0; i < n->nargs; i++) {
		if (i)
			sbuf_addc(&sb, ' ');
		sbuf_adds(&sb, n->args[i]);
	}
	return sbuf_detach(&sb);
}

static json_t *strs_json(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* ---- images ---- */

static int load_image(struct bctx *b, const char *id, json_t **ret, struct berr **err)
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

static void stage_set_img(struct stage *s, json_t *img)
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
static int commit_stage(struct bctx *b, struct stage *s, struct layer_stage *nl, struct berr **err)
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
static bool cache_hit(struct bctx *b, struct stage *s, struct berr **err)
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
	if (!idx || !json_object_get(json_object_get(idx, "images"), id) || load_image(b, id, &img, &e) < 0) {
		berr_free(e);
		return false;
	}
	(void)err;
	stage_set_img(s, img);
	memcpy(s->id, id, 72);
	s->dirty = false;
	return true;
}

static char *lowerdir_of(struct bctx *b, json_t *layers)
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

/* ---- stages ---- */

static struct stage *find_stage(struct bctx *b, const char *name, size_t before)
{
	for (size_t i = 0; i < before && i < b->nst; i++)
		if (b->st[i].name && !strcasecmp(b->st[i].name, name))
			return &b->st[i];
	char *end;
	long k = strtol(name, &end, 10);
	if (*name && !*end && k >= 0 && (size_t)k < before)
		return &b->st[k];
	return NULL;
}

/* "ubuntu AS build": the base and the name; expanded with the meta ARGs. */
static int parse_from(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err)
{
	if (n->nargs != 1 && !(n->nargs == 3 && !strcasecmp(n->args[1], "as")))
		return line_err(b, n, err, "FROM requires either one or three arguments");
	static const char *const allowed[] = {"platform", NULL};
	if (check_flags(b, n, allowed, err) < 0)
		return -1;
	struct stage tmp = {.args = b->meta, .img = json_pack("{s:{}}", "config")};
	int r = expand(b, &tmp, n, n->args[0], &s->base, err);
	json_decref(tmp.img);
	if (r < 0)
		return -1;
	if (!*s->base)
		return line_err(b, n, err, "base name (%s) should not be blank", n->args[0]);
	if (n->nargs == 3) {
		s->name = strdup(n->args[2]);
		for (char *p = s->name; p && *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (const char *p = s->name; p && *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
				return line_err(b, n, err, "invalid name for build stage: \"%s\", name can't start with a number or contain symbols", n->args[2]);
	}
	const char *plat = flag_val(n, "platform");
	if (plat) {
		_cleanup_free_ char *pv = NULL;
		struct stage t2 = {.args = b->meta, .img = json_pack("{s:{}}", "config")};
		r = expand(b, &t2, n, plat, &pv, err);
		json_decref(t2.img);
		if (r < 0)
			return -1;
		char want[64];
		snprintf(want, sizeof(want), "linux/%s", image_host_arch());
		if (strcmp(pv, want) && strncmp(pv, want, strlen(want)))
			return line_err(b, n, err, "--platform=%s: only the local platform (%s) can be built", pv, want);
	}
	return 0;
}

static void mark_needed(struct bctx *b, size_t k)
{
	struct stage *s = &b->st[k];
	if (s->needed)
		return;
	s->needed = true;
	struct stage *dep = find_stage(b, s->base, k);
	if (dep)
		mark_needed(b, (size_t)(dep - b->st));
	for (size_t i = s->first + 1; i < s->end; i++) {
		const struct df_node *n = &b->df->nodes[i];
		if (strcmp(n->cmd, "copy") && strcmp(n->cmd, "add"))
			continue;
		const char *f = flag_val(n, "from");
		if (f && (dep = find_stage(b, f, k)))
			mark_needed(b, (size_t)(dep - b->st));
	}
}

/* ---- instructions ---- */

static int do_run(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err);
static int do_copy(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err);

static json_t *shell_of(struct stage *s)
{
	json_t *sh = json_object_get(cfg_of(s), "Shell");
	if (json_array_size(sh))
		return json_deep_copy(sh);
	return json_pack("[s, s]", "/bin/sh", "-c");
}

/* CMD / ENTRYPOINT / RUN argv: exec form as is, shell form through SHELL. */
static json_t *cmd_argv(struct stage *s, const struct df_node *n)
{
	if (n->json)
		return strs_json(n->args, n->nargs);
	json_t *a = shell_of(s);
	_cleanup_free_ char *j = join_args(n);
	json_array_append_new(a, json_string(j ? j : ""));
	return a;
}

static char *argv_text(json_t *a)
{
	struct sbuf sb = SBUF_INIT;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (i)
			sbuf_addc(&sb, ' ');
		sbuf_adds(&sb, json_string_value(v));
	}
	return sbuf_detach(&sb);
}


static int do_healthcheck(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err)
{
	static const char *const allowed[] = {"interval", "timeout", "start-period", "start-interval", "retries", NULL};
	if (check_flags(b, n, allowed, err) < 0)
		return -1;
	if (n->nargs == 0)
		return line_err(b, n, err, "HEALTHCHECK requires an argument");
	json_t *hc = json_object();
	if (!strcasecmp(n->args[0], "none")) {
		if (n->nargs > 1 || n->nflags) {
			json_decref(hc);
			return line_err(b, n, err, "HEALTHCHECK NONE takes no arguments");
		}
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
	} else if (!strcasecmp(n->args[0], "cmd")) {
		if (n->nargs < 2) {
			json_decref(hc);
			return line_err(b, n, err, "HEALTHCHECK CMD requires a command");
		}
		json_t *t = json_array();
		if (n->json) {
			json_array_append_new(t, json_string("CMD"));
			for (size_t i = 1; i < n->nargs; i++)
				json_array_append_new(t, json_string(n->args[i]));
		} else {
			json_array_append_new(t, json_string("CMD-SHELL"));
			struct sbuf sb = SBUF_INIT;
			for (size_t i = 1; i < n->nargs; i++) {
				if (i > 1)
					sbuf_addc(&sb, ' ');
				sbuf_adds(&sb, n->args[i]);
			}
			json_array_append_new(t, json_string(sbuf_str(&sb)));
			sbuf_release(&sb);
		}
		json_object_set_new(hc, "Test", t);
		static const char *const durs[][2] = {{"interval", "Interval"}, {"timeout", "Timeout"},
						      {"start-period", "StartPeriod"}, {"start-interval", "StartInterval"}};
		for (size_t i = 0; i < ARRAY_SIZE(durs); i++) {
			const char *v = flag_val(n, durs[i][0]);
			int64_t ns;
			if (!v)
				continue;
			if (time_parse_duration(v, false, &ns) < 0 || ns < 0) {
				json_decref(hc);
				return line_err(b, n, err, "invalid --%s value \"%s\"", durs[i][0], v);
			}
			json_object_set_new(hc, durs[i][1], json_integer(ns));
		}
		const char *r = flag_val(n, "retries");
		if (r) {
			char *end;
			long rv = strtol(r, &end, 10);
			if (*end || rv < 0) {
				json_decref(hc);
				return line_err(b, n, err, "invalid --retries value \"%s\"", r);
			}
			json_object_set_new(hc, "Retries", json_integer(rv));
		}
	} else {
		json_decref(hc);
		return line_err(b, n, err, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", n->args[0]);
	}
	json_object_set_new(cfg_of(s), "Healthcheck", hc);
	return 0;
}

/* Metadata instruction: change the config; created_by for the history. */
static int do_meta(struct bctx *b, struct stage *s, const struct df_node *n, struct sbuf *hist, struct berr **err)
{
	json_t *c = cfg_of(s);
	const char *cmd = n->cmd;
	if (strcmp(cmd, "healthcheck") && strcmp(cmd, "cmd") && strcmp(cmd, "entrypoint") && check_flags(b, n, NULL, err) < 0)
		return -1;
	if (!strcmp(cmd, "env") || !strcmp(cmd, "label")) {
		bool env = !strcmp(cmd, "env");
		if (n->nargs == 0 || n->nargs % 3)
			return line_err(b, n, err, "%s requires at least one argument", env ? "ENV" : "LABEL");
		sbuf_adds(hist, env ? "ENV" : "LABEL");
		/* every value sees the environment from before the instruction:
		 * `ENV abc=bye def=$abc` gives def the old abc, as in Docker */
		size_t np = n->nargs / 3;
		char **ks = calloc(np, sizeof(char *)), **vs = calloc(np, sizeof(char *));
		int rc = 0;
		if (!ks || !vs)
			rc = berr_set(err, ENOMEM, "%s", n->cmd);
		for (size_t q = 0; q < np && rc == 0; q++) {
			if (expand(b, s, n, n->args[3 * q], &ks[q], err) < 0 || expand(b, s, n, n->args[3 * q + 1], &vs[q], err) < 0)
				rc = -1;
			else if (!*ks[q])
				rc = line_err(b, n, err, "%s names can not be blank", env ? "ENV" : "LABEL");
		}
		for (size_t q = 0; q < np && rc == 0; q++) {
			const char *k = ks[q], *v = vs[q];
			sbuf_addf(hist, " %s=%s", k, v);
			if (env) {
				json_t *e = json_object_get(c, "Env");
				if (!json_is_array(e))
					json_object_set_new(c, "Env", e = json_array());
				env_set(e, k, v);
			} else {
				json_t *l = json_object_get(c, "Labels");
				if (!json_is_object(l))
					json_object_set_new(c, "Labels", l = json_object());
				json_object_set_new(l, k, json_string(v));
			}
		}
		for (size_t q = 0; q < np; q++) {
			free(ks ? ks[q] : NULL);
			free(vs ? vs[q] : NULL);
		}
		free(ks);
		free(vs);
		return rc;
	}
	if (!strcmp(cmd, "maintainer")) {
		_cleanup_free_ char *j = join_args(n);
		json_object_set_new(s->img, "author", json_string(j));
		sbuf_addf(hist, "MAINTAINER %s", j);
		return 0;
	}
	if (!strcmp(cmd, "expose")) {
		json_t *p = json_object_get(c, "ExposedPorts");
		if (!json_is_object(p))
			json_object_set_new(c, "ExposedPorts", p = json_object());
		sbuf_adds(hist, "EXPOSE map[");
		for (size_t i = 0; i < n->nargs; i++) {
			_cleanup_free_ char *v = NULL;
			if (expand(b, s, n, n->args[i], &v, err) < 0)
				return -1;
			char *slash = strchr(v, '/');
			const char *proto = slash ? slash + 1 : "tcp";
			if (slash)
				*slash = 0;
			char *end;
			long port = strtol(v, &end, 10);
			long hi = port;
			if (*end == '-')
				hi = strtol(end + 1, &end, 10);
			if (*end || port < 1 || hi > 65535 || hi < port ||
			    (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp")))
				return line_err(b, n, err, "invalid containerPort: %s", n->args[i]);
			for (long q = port; q <= hi; q++) {
				char key[40];
				snprintf(key, sizeof(key), "%ld/%s", q, proto);
				for (char *x = key; *x; x++)
					*x = (char)tolower((unsigned char)*x);
				json_object_set_new(p, key, json_object());
				sbuf_addf(hist, "%s%s:{}", i || q > port ? " " : "", key);
			}
		}
		sbuf_addc(hist, ']');
		return 0;
	}
	if (!strcmp(cmd, "user") || !strcmp(cmd, "workdir") || !strcmp(cmd, "stopsignal")) {
		if (n->nargs != 1)
			return line_err(b, n, err, "%s requires exactly one argument", !strcmp(cmd, "user") ? "USER" : !strcmp(cmd, "workdir") ? "WORKDIR" : "STOPSIGNAL");
		_cleanup_free_ char *v = NULL;
		if (expand(b, s, n, n->args[0], &v, err) < 0)
			return -1;
		if (!strcmp(cmd, "user")) {
			json_object_set_new(c, "User", json_string(v));
			sbuf_addf(hist, "USER %s", v);
		} else if (!strcmp(cmd, "stopsignal")) {
			json_object_set_new(c, "StopSignal", json_string(v));
			sbuf_addf(hist, "STOPSIGNAL %s", v);
		} else {
			const char *cur = jsonx_str(c, "WorkingDir");
			char joined[PATH_MAX], clean[PATH_MAX];
			if (v[0] == '/')
				snprintf(joined, sizeof(joined), "%s", v);
			else
				snprintf(joined, sizeof(joined), "%s/%s", cur && *cur ? cur : "/", v);
			if (bpath_clean(joined + 1, clean, sizeof(clean)) < 0)
				snprintf(clean, sizeof(clean), ".");
			char final[PATH_MAX + 1];
			snprintf(final, sizeof(final), "/%s", strcmp(clean, ".") ? clean : "");
			json_object_set_new(c, "WorkingDir", json_string(final));
			sbuf_addf(hist, "WORKDIR %s", final);
		}
		return 0;
	}
	if (!strcmp(cmd, "volume")) {
		json_t *vo = json_object_get(c, "Volumes");
		if (!json_is_object(vo))
			json_object_set_new(c, "Volumes", vo = json_object());
		sbuf_adds(hist, "VOLUME [");
		for (size_t i = 0; i < n->nargs; i++) {
			char **words = NULL;
			size_t nw = 0;
			if (n->json) {
				char *v = NULL;
				if (expand(b, s, n, n->args[i], &v, err) < 0)
					return -1;
				words = calloc(2, sizeof(char *));
				if (words)
					words[0] = v;
				nw = words ? 1 : 0;
			} else if (expand_words(b, s, n, n->args[i], &words, &nw, err) < 0) {
				return -1;
			}
			for (size_t k = 0; k < nw; k++) {
				if (!*words[k]) {
					strv_free(words);
					return line_err(b, n, err, "VOLUME specified can not be an empty string");
				}
				json_object_set_new(vo, words[k], json_object());
				sbuf_addf(hist, "%s%s", i || k ? " " : "", words[k]);
			}
			strv_free(words);
		}
		sbuf_addc(hist, ']');
		if (n->nargs == 0)
			return line_err(b, n, err, "VOLUME requires at least one argument");
		return 0;
	}
	if (!strcmp(cmd, "cmd") || !strcmp(cmd, "entrypoint") || !strcmp(cmd, "shell")) {
		if (check_flags(b, n, NULL, err) < 0)
			return -1;
		if (!strcmp(cmd, "shell")) {
			if (!n->json || n->nargs == 0)
				return line_err(b, n, err, "SHELL requires the arguments to be in JSON form");
			json_object_set_new(c, "Shell", strs_json(n->args, n->nargs));
			_cleanup_free_ char *t = jsonx_dumps(json_object_get(c, "Shell"), 0);
			sbuf_addf(hist, "SHELL %s", t);
			return 0;
		}
		json_t *a = cmd_argv(s, n);
		_cleanup_free_ char *t = jsonx_dumps(a, 0);
		sbuf_addf(hist, "%s %s", !strcmp(cmd, "cmd") ? "CMD" : "ENTRYPOINT", t);
		if (!strcmp(cmd, "cmd")) {
			json_object_set_new(c, "Cmd", a);
		} else {
			json_object_set_new(c, "Entrypoint", a);
			/* Docker: ENTRYPOINT resets the CMD set before it */
			json_object_set_new(c, "Cmd", json_null());
		}
		return 0;
	}
	if (!strcmp(cmd, "healthcheck")) {
		if (do_healthcheck(b, s, n, err) < 0)
			return -1;
		_cleanup_free_ char *t = jsonx_dumps(json_object_get(c, "Healthcheck"), 0);
		sbuf_addf(hist, "HEALTHCHECK %s", t);
		return 0;
	}
	if (!strcmp(cmd, "onbuild")) {
		if (!n->inner)
			return line_err(b, n, err, "ONBUILD requires at least one argument");
		const char *ic = n->inner->cmd;
		if (!strcmp(ic, "onbuild") || !strcmp(ic, "from") || !strcmp(ic, "maintainer"))
			return line_err(b, n, err, "%s isn't allowed as an ONBUILD trigger", ic);
		json_t *ob = json_object_get(c, "OnBuild");
		if (!json_is_array(ob))
			json_object_set_new(c, "OnBuild", ob = json_array());
		/* the trigger as written, after "ONBUILD " */
		const char *orig = n->original;
		const char *p = orig;
		while (*p && !isspace((unsigned char)*p))
			p++;
		while (*p && isspace((unsigned char)*p))
			p++;
		json_array_append_new(ob, json_string(p));
		sbuf_addf(hist, "ONBUILD %s", p);
		return 0;
	}
	return line_err(b, n, err, "unknown instruction: %s", cmd);
}

static int do_arg(struct bctx *b, struct stage *s, const struct df_node *n, struct sbuf *hist, struct berr **err)
{
	if (n->nargs == 0)
		return line_err(b, n, err, "ARG requires at least one argument");
	sbuf_adds(hist, "ARG");
	for (size_t i = 0; i < n->nargs; i++) {
		_cleanup_free_ char *name = strdup(n->args[i]);
		if (!name)
			return berr_set(err, ENOMEM, "ARG");
		char *eq = strchr(name, '=');
		_cleanup_free_ char *def = NULL;
		if (eq) {
			*eq = 0;
			if (expand(b, s, n, eq + 1, &def, err) < 0)
				return -1;
		}
		if (!*name)
			return line_err(b, n, err, "ARG names can not be blank");
		json_t *given = json_object_get(b->buildargs, name);
		json_t *val;
		if (given)
			val = json_incref(given);
		else if (def)
			val = json_string(def);
		else
			val = json_null();
		/* an ARG inside a stage with no default takes the global one */
		if (!given && !def && json_is_string(json_object_get(b->meta, name)) && s->args != b->meta) {
			json_decref(val);
			val = json_incref(json_object_get(b->meta, name));
		}
		json_object_set_new(s->args, name, val);
		json_object_set_new(b->used_args, name, json_true());
		if (json_is_string(val))
			sbuf_addf(hist, " %s=%s", name, json_string_value(val));
		else
			sbuf_addf(hist, " %s", name);
	}
	return 0;
}

static const char *const proxy_args[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
					 "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
					 "ALL_PROXY",  "all_proxy",  NULL};

static int do_run(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err)
{
	static const char *const allowed[] = {"network", "mount", "security", NULL};
	if (check_flags(b, n, allowed, err) < 0)
		return -1;
	if (flag_val(n, "mount"))
		return line_err(b, n, err, "RUN --mount is not supported by berth yet");
	const char *net = flag_val(n, "network");
	if (!net)
		net = b->o->network ? b->o->network : "default";
	if (strcmp(net, "default") && strcmp(net, "none") && strcmp(net, "host"))
		return line_err(b, n, err, "RUN --network=%s: want default, none or host", net);
	if (n->nargs == 0 && n->nheredocs == 0)
		return line_err(b, n, err, "RUN requires at least one argument");
	json_t *argv;
	if (n->nheredocs && !n->json) {
		/* RUN <<EOF: the body is the script */
		argv = shell_of(s);
		struct sbuf sb = SBUF_INIT;
		for (size_t i = 0; i < n->nheredocs; i++)
			sbuf_adds(&sb, n->heredocs[i].content);
		json_array_append_new(argv, json_string(sbuf_str(&sb)));
		sbuf_release(&sb);
	} else {
		argv = cmd_argv(s, n);
	}
	/* the environment: ENV, then the build args in scope (not kept in the image) */
	json_t *env = json_deep_copy(json_object_get(cfg_of(s), "Env"));
	if (!json_is_array(env)) {
		json_decref(env);
		env = json_array();
	}
	const char *k;
	json_t *v;
	struct sbuf argenv = SBUF_INIT;
	json_object_foreach(s->args, k, v) {
		if (!json_is_string(v) || env_get(json_object_get(cfg_of(s), "Env"), k))
			continue;
		env_set(env, k, json_string_value(v));
		sbuf_addf(&argenv, "%s=%s\n", k, json_string_value(v));
	}
	for (size_t i = 0; proxy_args[i]; i++) {
		json_t *pv = json_object_get(b->buildargs, proxy_args[i]);
		if (json_is_string(pv) && !json_object_get(s->args, proxy_args[i]))
			env_set(env, proxy_args[i], json_string_value(pv));
	}
	_cleanup_free_ char *text = argv_text(argv);
	_cleanup_free_ char *keytext = NULL;
	_cleanup_free_ char *cfgtext = jsonx_dumps(cfg_of(s), 1);
	_cleanup_free_ char *argvj = jsonx_dumps(argv, 0);
	if (asprintf(&keytext, "RUN %s\n%s\nnetwork=%s\n%s", argvj ? argvj : text, sbuf_str(&argenv), net,
		     cfgtext ? cfgtext : "") < 0)
		keytext = NULL;
	key_step(s->key, keytext ? keytext : text, NULL);
	sbuf_release(&argenv);
	int rc = -1;
	_cleanup_free_ char *title = NULL;
	{
		_cleanup_free_ char *j = n->json ? jsonx_dumps(argv, 0) : join_args(n);
		if (asprintf(&title, "RUN %s", j ? j : "") < 0)
			title = NULL;
	}
	s->step++;
	bprog_start(&b->prog, "[%s%s%d/%d] %s", s->label, *s->label ? " " : "", s->step, s->nsteps, title ? title : "RUN");
	if (cache_hit(b, s, err)) {
		bprog_cached(&b->prog);
		rc = 0;
		goto out;
	}
	/* the container needs an image: commit what the stage has so far */
	if ((s->dirty || !*s->id)) {
		char save[65];
		memcpy(save, s->key, 65);
		/* a pre-RUN snapshot has its own key */
		key_step(s->key, "snapshot", NULL);
		int r = commit_stage(b, s, NULL, err);
		memcpy(s->key, save, 65);
		if (r < 0)
			goto out;
	}
	const char *user = jsonx_str(cfg_of(s), "User");
	const char *wd = jsonx_str(cfg_of(s), "WorkingDir");
	struct brun r = {.image_id = s->id, .argv = argv, .env = env, .user = user, .workdir = wd, .network = net,
			 .epoch = b->epoch};
	struct layer_stage ls = {0};
	int code = -1;
	if (brun_exec(b->is, b->cs, &b->prog, &r, &ls, &code, err) < 0) {
		if (code >= 0) {
			_cleanup_free_ char *tail = bprog_tail(&b->prog);
			_cleanup_free_ char *ex = dockerfile_excerpt(b->df, n->start_line, n->end_line);
			berr_setc(err, BERR_INVALID, "%s:%d: %s: process \"%s\" did not complete successfully: exit code: %d%s%s%s",
				  b->dfname, n->start_line, title ? title : "RUN", text, code, ex ? ex : "",
				  tail && *tail ? "\nlast lines of its output:\n" : "", tail ? tail : "");
		} else {
			line_err(b, n, err, "RUN");
		}
		bprog_error(&b->prog, (*err)->msg);
		goto out;
	}
	{
		_cleanup_free_ char *hist = NULL;
		if (asprintf(&hist, "RUN %s # buildkit", text) < 0)
			hist = NULL;
		add_history(b, s, hist ? hist : "RUN", false);
	}
	if (commit_stage(b, s, &ls, err) < 0) {
		layer_stage_release(b->is, &ls);
		json_array_remove(json_object_get(s->img, "history"), json_array_size(json_object_get(s->img, "history")) - 1);
		goto out;
	}
	layer_stage_release(b->is, &ls);
	bprog_done(&b->prog);
	rc = 0;
out:
	json_decref(argv);
	json_decref(env);
	return rc;
}

static int parse_chmod(const char *v, int *ret)
{
	char *end;
	long m = strtol(v, &end, 8);
	if (!*v || *end || m < 0 || m > 07777)
		return -1;
	*ret = (int)m;
	return 0;
}

static bool ctx_ignored(void *ctx, const char *relpath, bool is_dir);

/* "<<EOF", "<<-EOF", "<<'EOF'", "<<\"EOF\"": the delimiter; else NULL. Points
 * into a static buffer. */
static const char *heredoc_source_name(const char *arg)
{
	static char name[256];
	if (strncmp(arg, "<<", 2))
		return NULL;
	const char *p = arg + 2;
	if (*p == '-')
		p++;
	size_t l = strlen(p);
	if (l >= 2 && (p[0] == '\'' || p[0] == '"') && p[l - 1] == p[0]) {
		p++;
		l -= 2;
	}
	if (!l || l >= sizeof(name))
		return NULL;
	memcpy(name, p, l);
	name[l] = 0;
	return name;
}

/* The heredoc bodies as files in a fresh directory under the store's tmp/
 * (the COPY then reads it as its context): names[i] is the i-th heredoc's
 * delimiter, its body expanded unless the delimiter was quoted. */
static int heredoc_dir(struct bctx *b, struct stage *s, const struct df_node *n, char **names, size_t nnames,
		       int *ret_fd, char **ret_name, struct berr **err)
{
	if (nnames != n->nheredocs)
		return line_err(b, n, err, "%zu heredoc sources but %zu heredoc bodies", nnames, n->nheredocs);
	char *dname = fs_tmp_name("heredoc-");
	if (!dname)
		return berr_set(err, ENOMEM, "COPY");
	if (mkdirat(b->is->tmpfd, dname, 0700) < 0) {
		free(dname);
		return berr_set(err, errno, "creating a directory in %s/tmp", b->is->root);
	}
	int dfd = openat(b->is->tmpfd, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	int rc = dfd < 0 ? berr_set(err, errno, "opening %s/tmp/%s", b->is->root, dname) : 0;
	for (size_t i = 0; i < nnames && rc == 0; i++) {
		const struct df_heredoc *h = &n->heredocs[i];
		if (strcmp(names[i], h->name) || strchr(h->name, '/') || !strcmp(h->name, ".") || !strcmp(h->name, "..")) {
			rc = line_err(b, n, err, "heredoc <<%s: not usable as a file name", h->name);
			break;
		}
		_cleanup_free_ char *body = NULL;
		if (h->expand) {
			/* variables only: quotes and backslashes stay as written */
			char **env = expand_env(b, s);
			struct shlex_opts so = {.escape = b->df->escape, .raw_quotes = true, .raw_escapes = true};
			rc = shlex_process(h->content, strlen(h->content), &so, (const char *const *)env, &body, NULL, NULL, err);
			strv_free(env);
			if (rc < 0) {
				rc = line_err(b, n, err, "heredoc <<%s", h->name);
				break;
			}
		}
		const char *data = body ? body : h->content;
		int fd = openat(dfd, h->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			rc = errno == EEXIST ? line_err(b, n, err, "heredoc <<%s given twice", h->name)
					     : berr_set(err, errno, "writing heredoc <<%s", h->name);
			break;
		}
		if (fchmod(fd, 0644) < 0 || fs_write_full(fd, data, strlen(data)) < 0)
			rc = berr_set(err, errno, "writing heredoc <<%s", h->name);
		close(fd);
	}
	if (rc < 0) {
		if (dfd >= 0)
			close(dfd);
		fs_rm_rf_at(b->is->tmpfd, dname);
		free(dname);
		return -1;
	}
	*ret_fd = dfd;
	*ret_name = dname;
	return 0;
}

static int do_copy(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err)
{
	bool add = !strcmp(n->cmd, "add");
	static const char *const callowed[] = {"from", "chown", "chmod", "link", "parents", "exclude", NULL};
	static const char *const aallowed[] = {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", NULL};
	if (check_flags(b, n, add ? aallowed : callowed, err) < 0)
		return -1;
	if (n->nargs < 2 && !(n->nheredocs && n->nargs >= 1))
		return line_err(b, n, err, "%s requires at least two arguments, but only one was provided. Destination could not be determined", add ? "ADD" : "COPY");
	if (n->nheredocs && flag_val(n, "from"))
		return line_err(b, n, err, "%s --from cannot take a heredoc source", add ? "ADD" : "COPY");
	if (flag_val(n, "exclude") || flag_val(n, "parents"))
		return line_err(b, n, err, "--exclude and --parents are not supported by berth yet");
	struct bcopy c = {.add = add, .ctxfd = b->ctxfd, .ignored = ctx_ignored, .ignore_ctx = b, .layers_dir = b->layers_dir,
			  .chmod = -1, .epoch = b->epoch, .statcache_dir = b->statdir};
	int rc = -1;
	char **srcs = NULL;
	size_t nsrcs = 0;
	_cleanup_free_ char *dest = NULL, *from_id_text = NULL;
	_cleanup_free_ char *chown = NULL, *rawdest = NULL;
	struct sbuf keyt = SBUF_INIT;
	_cleanup_free_ char *title = NULL;
	int hdfd = -1;
	_cleanup_free_ char *hdname = NULL;
	const char *fromv = flag_val(n, "from");
	const char *chmodv = flag_val(n, "chmod");
	const char *chownv = flag_val(n, "chown");
	if (chmodv && parse_chmod(chmodv, &c.chmod) < 0) {
		line_err(b, n, err, "invalid chmod parameter: %s (want an octal mode)", chmodv);
		goto out;
	}
	if (chownv) {
		if (expand(b, s, n, chownv, &chown, err) < 0)
			goto out;
		c.chown = chown;
	}
	/* sources and dest: each word expanded (a word stays one path) */
	srcs = calloc(n->nargs, sizeof(char *));
	if (!srcs) {
		berr_set(err, ENOMEM, "COPY");
		goto out;
	}
	for (size_t i = 0; i + 1 < n->nargs; i++) {
		if (n->nheredocs) {
			/* COPY <<EOF /dest: the sources are the heredocs, each a file
			 * named after its delimiter */
			const char *hn = heredoc_source_name(n->args[i]);
			if (!hn) {
				line_err(b, n, err, "%s: mixing heredocs with context files (%s) is not supported by berth yet",
					 add ? "ADD" : "COPY", n->args[i]);
				goto out;
			}
			if (!(srcs[nsrcs] = strdup(hn))) {
				berr_set(err, ENOMEM, "COPY");
				goto out;
			}
			nsrcs++;
			continue;
		}
		if (expand(b, s, n, n->args[i], &srcs[nsrcs], err) < 0)
			goto out;
		nsrcs++;
	}
	if (n->nheredocs) {
		if (heredoc_dir(b, s, n, srcs, nsrcs, &hdfd, &hdname, err) < 0)
			goto out;
		c.ctxfd = hdfd;
		c.ignored = NULL;
		c.statcache_dir = NULL; /* a new temp dir each time: nothing to remember */
	}
	if (expand(b, s, n, n->args[n->nargs - 1], &rawdest, err) < 0)
		goto out;
	{
		const char *wd = jsonx_str(cfg_of(s), "WorkingDir");
		size_t l = strlen(rawdest);
		c.dest_dir = nsrcs > 1 || (l && rawdest[l - 1] == '/') || (l && rawdest[l - 1] == '.' && (l == 1 || rawdest[l - 2] == '/'));
		char joined[PATH_MAX], clean[PATH_MAX];
		if (rawdest[0] == '/')
			snprintf(joined, sizeof(joined), "%s", rawdest + 1);
		else
			snprintf(joined, sizeof(joined), "%s/%s", wd && *wd ? wd + 1 : "", rawdest);
		if (bpath_clean(joined, clean, sizeof(clean)) < 0)
			snprintf(clean, sizeof(clean), ".");
		if (asprintf(&dest, "/%s", strcmp(clean, ".") ? clean : "") < 0) {
			berr_set(err, ENOMEM, "COPY");
			goto out;
		}
		if (!strcmp(dest, "/"))
			c.dest_dir = true;
	}
	c.srcs = srcs;
	c.nsrcs = nsrcs;
	c.dest = dest;
	c.dst_lower = lowerdir_of(b, s->layers);
	for (size_t i = 0; i < nsrcs; i++) {
		if (!add && (!strncmp(srcs[i], "http://", 7) || !strncmp(srcs[i], "https://", 8))) {
			line_err(b, n, err, "source can't be a URL for COPY");
			goto out;
		}
		if (add && (!strncmp(srcs[i], "http://", 7) || !strncmp(srcs[i], "https://", 8)) && nsrcs > 1) {
			line_err(b, n, err, "ADD of a URL takes one source (%s)", srcs[i]);
			goto out;
		}
		if (add && !strncmp(srcs[i], "git@", 4)) {
			line_err(b, n, err, "ADD from a git repository is not supported by berth yet");
			goto out;
		}
	}
	sbuf_addf(&keyt, "%s", add ? "ADD" : "COPY");
	for (size_t i = 0; i < n->nflags; i++)
		sbuf_addf(&keyt, " %s", n->flags[i]);
	for (size_t i = 0; i < nsrcs; i++)
		sbuf_addf(&keyt, " %s", srcs[i]);
	sbuf_addf(&keyt, " %s%s", dest, c.dest_dir ? "/" : "");
	{
		_cleanup_free_ char *j = join_args(n);
		struct sbuf t = SBUF_INIT;
		sbuf_adds(&t, add ? "ADD" : "COPY");
		for (size_t i = 0; i < n->nflags; i++)
			sbuf_addf(&t, " %s", n->flags[i]);
		sbuf_addf(&t, " %s", j);
		title = sbuf_detach(&t);
	}
	s->step++;
	bprog_start(&b->prog, "[%s%s%d/%d] %s", s->label, *s->label ? " " : "", s->step, s->nsteps, title);
	if (fromv) {
		size_t self = (size_t)(s - b->st);
		struct stage *src = find_stage(b, fromv, self);
		json_t *layers = NULL;
		_cleanup_json_ json_t *img = NULL;
		if (src) {
			if (!src->done) {
				line_err(b, n, err, "--from=%s: the stage was not built", fromv);
				goto out;
			}
			layers = src->layers;
			if (asprintf(&from_id_text, "from=%s", *src->id ? src->id : "scratch") < 0)
				from_id_text = NULL;
		} else {
			_cleanup_json_ json_t *idx = image_store_index_read(b->is, err);
			_cleanup_free_ char *id = NULL;
			struct berr *e2 = NULL;
			if (!idx || image_store_resolve(idx, fromv, &id, NULL, &e2) < 0 || load_image(b, id, &img, err) < 0) {
				berr_free(e2);
				berr_freep(err);
				line_err(b, n, err, "COPY --from=%s: no build stage or image by that name (images are not pulled)", fromv);
				goto out;
			}
			layers = json_object_get(json_object_get(img, "rootfs"), "diff_ids");
			if (asprintf(&from_id_text, "from=%s", id) < 0)
				from_id_text = NULL;
		}
		c.from = true;
		c.ctxfd = -1;
		c.src_lower = lowerdir_of(b, layers);
		sbuf_addf(&keyt, "\n%s", from_id_text ? from_id_text : "");
	} else if (add && nsrcs == 1 && (!strncmp(srcs[0], "http://", 7) || !strncmp(srcs[0], "https://", 8))) {
		/* hashed after the download */
	} else {
		char hex[65];
		if (bcopy_hash(&c, hex, err) < 0) {
			line_err(b, n, err, "%s failed", add ? "ADD" : "COPY");
			bprog_error(&b->prog, (*err)->msg);
			goto out;
		}
		sbuf_addf(&keyt, "\ncontent=%s", hex);
	}
	struct layer_stage ls = {0};
	if (add && nsrcs == 1 && (!strncmp(srcs[0], "http://", 7) || !strncmp(srcs[0], "https://", 8))) {
		/* downloaded every build; the cache key is the content */
		int ufd = -1;
		char hex[65];
		int64_t mtime = 0;
		if (bfetch_url(b->is, srcs[0], flag_val(n, "checksum"), &ufd, hex, &mtime, err) < 0) {
			line_err(b, n, err, "ADD failed");
			bprog_error(&b->prog, (*err)->msg);
			goto out;
		}
		sbuf_addf(&keyt, "\nurl-content=%s mtime=%lld", hex, (long long)mtime);
		key_step(s->key, sbuf_str(&keyt), NULL);
		if (cache_hit(b, s, err)) {
			close(ufd);
			bprog_cached(&b->prog);
			rc = 0;
			goto out;
		}
		struct btar_opts bo = {.epoch = b->epoch, .chmod = c.chmod, .chmod_dirs = true};
		if (chown) {
			char *end;
			unsigned long u = strtoul(chown, &end, 10), g = u;
			if (*end == ':')
				g = strtoul(end + 1, &end, 10);
			if (*end || !*chown) {
				close(ufd);
				line_err(b, n, err, "ADD --chown=%s of a URL: give numeric ids", chown);
				goto out;
			}
			bo.chown = true;
			bo.uid = u;
			bo.gid = g;
		}
		int r = bfetch_layer(b->is, ufd, srcs[0], dest, c.dest_dir, mtime, &bo, &ls, err);
		close(ufd);
		if (r < 0) {
			line_err(b, n, err, "ADD failed");
			bprog_error(&b->prog, (*err)->msg);
			goto out;
		}
		goto commit;
	}
	key_step(s->key, sbuf_str(&keyt), NULL);
	if (cache_hit(b, s, err)) {
		bprog_cached(&b->prog);
		rc = 0;
		goto out;
	}
	if (bcopy_layer(b->is, &c, &ls, err) < 0) {
		line_err(b, n, err, "%s failed", add ? "ADD" : "COPY");
		bprog_error(&b->prog, (*err)->msg);
		goto out;
	}
commit:
	{
		_cleanup_free_ char *hist = NULL;
		if (asprintf(&hist, "%s # buildkit", title) < 0)
			hist = NULL;
		add_history(b, s, hist ? hist : "COPY", false);
	}
	if (commit_stage(b, s, &ls, err) < 0) {
		layer_stage_release(b->is, &ls);
		goto out;
	}
	layer_stage_release(b->is, &ls);
	bprog_done(&b->prog);
	rc = 0;
out:
	if (hdfd >= 0) {
		close(hdfd);
		fs_rm_rf_at(b->is->tmpfd, hdname);
	}
	sbuf_release(&keyt);
	for (size_t i = 0; i < nsrcs; i++)
		free(srcs[i]);
	free(srcs);
	free(c.dst_lower);
	free(c.src_lower);
	return rc;
}

/* ---- the context ---- */

static bool ctx_ignored(void *ctx, const char *relpath, bool is_dir)
{
	struct bctx *b = ctx;
	(void)is_dir;
	if (!b->ignore)
		return false;
	/* an excluded directory that an exception may re-enter is still walked */
	return dockerignore_excluded(b->ignore, relpath) && dockerignore_can_skip_dir(b->ignore, relpath);
}

static int load_ignore(struct bctx *b, struct berr **err)
{
	if (b->ctxfd < 0)
		return 0;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct berr *e = NULL;
	if (fs_read_file_at(b->ctxfd, ".dockerignore", 1u << 20, &buf, &len, &e) < 0) {
		bool missing = e && e->errnum == ENOENT;
		if (missing) {
			berr_free(e);
			return 0;
		}
		*err = e;
		return berr_wrap(err, ".dockerignore");
	}
	struct dockerignore *ig;
	if (dockerignore_parse(buf, len, ".dockerignore", &ig, err) < 0)
		return -1;
	b->ignore = ig;
	return 0;
}

/* ---- a stage ---- */

static int count_steps(struct bctx *b, struct stage *s)
{
	int k = 1;
	for (size_t i = s->first + 1; i < s->end; i++) {
		const char *c = b->df->nodes[i].cmd;
		if (!strcmp(c, "run") || !strcmp(c, "copy") || !strcmp(c, "add") || !strcmp(c, "workdir"))
			k++;
	}
	return k;
}

static int exec_node(struct bctx *b, struct stage *s, const struct df_node *n, bool trigger, struct berr **err);

static int start_stage(struct bctx *b, struct stage *s, size_t k, struct berr **err)
{
	const struct df_node *n = &b->df->nodes[s->first];
	s->args = json_object();
	s->nsteps = count_steps(b, s);
	if (b->nst > 1 || s->name)
		snprintf(s->label, sizeof(s->label), "%s", s->name ? s->name : "");
	if (!s->name && b->nst > 1)
		snprintf(s->label, sizeof(s->label), "stage-%zu", k);
	s->step = 1;
	bprog_start(&b->prog, "[%s%s%d/%d] FROM %s", s->label, *s->label ? " " : "", s->step, s->nsteps, s->base);
	struct stage *dep = find_stage(b, s->base, k);
	if (dep) {
		if (!dep->done)
			return line_err(b, n, err, "stage %s was not built", s->base);
		stage_set_img(s, json_deep_copy(dep->img));
		memcpy(s->id, dep->id, 72);
		snprintf(s->key, sizeof(s->key), "%s", dep->key);
		s->dirty = dep->dirty;
	} else if (!strcasecmp(s->base, "scratch")) {
		json_t *img = json_pack("{s:s, s:s, s:{s:[s]}, s:{s:s, s:[]}, s:[]}", "architecture", image_host_arch(), "os",
					"linux", "config", "Env", "PATH=" DEFAULT_PATH,
					"rootfs", "type", "layers", "diff_ids", "history");
		stage_set_img(s, img);
		s->id[0] = 0;
		key_step(s->key, "FROM scratch", NULL);
		s->dirty = true;
	} else {
		_cleanup_json_ json_t *idx = image_store_index_read(b->is, err);
		if (!idx)
			return -1;
		_cleanup_free_ char *id = NULL;
		if (image_store_resolve(idx, s->base, &id, NULL, err) < 0) {
			berr_freep(err);
			return line_err(b, n, err, "FROM %s: no such image in the store (berth does not pull images yet; load or import it first)", s->base);
		}
		json_t *img;
		if (load_image(b, id, &img, err) < 0)
			return line_err(b, n, err, "FROM %s", s->base);
		stage_set_img(s, img);
		snprintf(s->id, sizeof(s->id), "%s", id);
		key_step(s->key, "FROM", id);
		s->dirty = false;
		/* Docker's builders give a base without PATH the default one, for
		 * expansion (ENV PATH=/x:$PATH), RUN and the image they write */
		json_t *benv = json_object_get(cfg_of(s), "Env");
		if (!json_is_array(benv))
			json_object_set_new(cfg_of(s), "Env", benv = json_array());
		if (!env_get(benv, "PATH")) {
			env_set(benv, "PATH", DEFAULT_PATH);
			s->dirty = true;
		}
		/* the base's ONBUILD triggers run now, then are not inherited */
		json_t *ob = json_incref(json_object_get(cfg_of(s), "OnBuild"));
		json_object_set_new(cfg_of(s), "OnBuild", json_null());
		if (json_array_size(ob))
			s->dirty = true;
		bprog_done(&b->prog);
		size_t i;
		json_t *t;
		json_array_foreach(ob, i, t) {
			const char *text = json_string_value(t);
			struct dockerfile *tdf = NULL;
			if (!text || dockerfile_parse(text, strlen(text), "ONBUILD trigger", &tdf, err) < 0) {
				json_decref(ob);
				return line_err(b, n, err, "FROM %s: ONBUILD trigger", s->base);
			}
			int r = 0;
			for (size_t q = 0; q < tdf->n && r == 0; q++)
				r = exec_node(b, s, &tdf->nodes[q], true, err);
			dockerfile_free(tdf);
			if (r < 0) {
				json_decref(ob);
				return -1;
			}
		}
		json_decref(ob);
		return 0;
	}
	bprog_done(&b->prog);
	return 0;
}

/* WORKDIR after its config change (hist: "WORKDIR /abs"): the directory is
 * made in the image as Docker's builders do, a layer when it was missing
 * (owned by USER), an empty-layer history entry when it was there. The
 * check mounts the image, so it is a cached step like COPY. */
static int do_workdir(struct bctx *b, struct stage *s, const char *hist, struct berr **err)
{
	const char *wd = jsonx_str(cfg_of(s), "WorkingDir");
	const char *user = jsonx_str(cfg_of(s), "User");
	s->step++;
	bprog_start(&b->prog, "[%s%s%d/%d] %s", s->label, *s->label ? " " : "", s->step, s->nsteps, hist);
	_cleanup_free_ char *keyt = NULL;
	if (asprintf(&keyt, "%s\nuser=%s", hist, user ? user : "") < 0)
		return berr_set(err, ENOMEM, "WORKDIR");
	key_step(s->key, keyt, NULL);
	if (!wd || !strcmp(wd, "/")) {
		add_history(b, s, hist, true);
		s->dirty = true;
		bprog_done(&b->prog);
		return 0;
	}
	if (cache_hit(b, s, err)) {
		bprog_cached(&b->prog);
		return 0;
	}
	struct bcopy c = {.ctxfd = -1, .layers_dir = b->layers_dir, .chmod = -1, .epoch = b->epoch, .dest = wd,
			  .chown = user && *user ? user : NULL};
	c.dst_lower = lowerdir_of(b, s->layers);
	struct layer_stage ls = {0};
	bool made = false;
	int r = bcopy_workdir_layer(b->is, &c, &ls, &made, err);
	free(c.dst_lower);
	if (r < 0) {
		bprog_error(&b->prog, (*err)->msg);
		return -1;
	}
	add_history(b, s, hist, !made);
	if (commit_stage(b, s, made ? &ls : NULL, err) < 0) {
		if (made)
			layer_stage_release(b->is, &ls);
		json_array_remove(json_object_get(s->img, "history"), json_array_size(json_object_get(s->img, "history")) - 1);
		bprog_error(&b->prog, (*err)->msg);
		return -1;
	}
	if (made)
		layer_stage_release(b->is, &ls);
	bprog_done(&b->prog);
	return 0;
}

static int exec_node(struct bctx *b, struct stage *s, const struct df_node *n, bool trigger, struct berr **err)
{
	if (build_interrupted)
		return berr_setc(err, BERR_INVALID, "interrupted");
	const char *c = n->cmd;
	if (!strcmp(c, "run"))
		return do_run(b, s, n, err);
	if (!strcmp(c, "copy") || !strcmp(c, "add"))
		return do_copy(b, s, n, err);
	if (!strcmp(c, "from"))
		return line_err(b, n, err, "FROM is not allowed here");
	struct sbuf hist = SBUF_INIT;
	int r;
	if (!strcmp(c, "arg"))
		r = do_arg(b, s, n, &hist, err);
	else
		r = do_meta(b, s, n, &hist, err);
	if (r == 0 && !strcmp(c, "workdir")) {
		r = do_workdir(b, s, sbuf_str(&hist), err);
		if (r < 0)
			line_err(b, n, err, "WORKDIR");
		sbuf_release(&hist);
		return r;
	}
	if (r == 0) {
		if (strcmp(c, "arg"))
			add_history(b, s, sbuf_str(&hist), true);
		/* the ARG's value is part of the key (it changes RUN's env) */
		key_step(s->key, sbuf_str(&hist), NULL);
		if (strcmp(c, "arg"))
			s->dirty = true;
	}
	(void)trigger;
	sbuf_release(&hist);
	return r;
}

/* Run stage k's nodes up to (not including) upto, starting it first when
 * it has not started; the stage is done when upto is its end. */
static int build_stage_part(struct bctx *b, size_t k, size_t upto, struct berr **err)
{
	struct stage *s = &b->st[k];
	if (!s->started) {
		if (start_stage(b, s, k, err) < 0)
			return -1;
		s->started = true;
		s->next = s->first + 1;
	}
	for (; s->next < upto; s->next++)
		if (exec_node(b, s, &b->df->nodes[s->next], false, err) < 0)
			return -1;
	if (upto == s->end)
		s->done = true;
	return 0;
}

/* ---- independent stages in parallel ----
 *
 * A stage can run once its base stage is built, up to its first COPY
 * --from of a stage not built yet (so a runtime stage's apt-get runs while
 * the build stage compiles). When several stages can run, all but the
 * first run their part in forked children while the first runs here (the
 * store's index and cache writes are locked and atomic, so processes can
 * commit side by side). A child sends its stage's state (image config,
 * last image, cache key, ARGs, step count, the build args it used) back as
 * one JSON document on a pipe. Progress lines come from every process at
 * once, each step keeping its own #number; on a terminal the children print
 * plain lines, since a live view cannot be redrawn from several processes.
 * When one stage fails, the others are interrupted like a Ctrl-C (their
 * containers and temp files go) and the first failure, in Dockerfile order,
 * is the build's error. */
#define MAX_PARALLEL_STAGES 4

struct stage_child {
	pid_t pid;
	int fd;
	size_t k;
};

struct stage_part {
	size_t k, upto;
};

/* How far stage k can run now: 0 when its base stage is not built, else
 * the first node that copies from a stage not built yet (or its end). */
static size_t stage_runnable_upto(struct bctx *b, size_t k)
{
	struct stage *s = &b->st[k];
	struct stage *dep = find_stage(b, s->base, k);
	if (dep && !dep->done)
		return 0;
	for (size_t i = s->started ? s->next : s->first + 1; i < s->end; i++) {
		const struct df_node *n = &b->df->nodes[i];
		if (strcmp(n->cmd, "copy") && strcmp(n->cmd, "add"))
			continue;
		const char *f = flag_val(n, "from");
		if (f && (dep = find_stage(b, f, k)) && !dep->done)
			return i;
	}
	return s->end;
}

/* Progress entries a part of a stage makes (its FROM when not started). */
static int part_steps(struct bctx *b, struct stage *s, size_t upto)
{
	int k = s->started ? 0 : 1;
	for (size_t i = s->started ? s->next : s->first + 1; i < upto; i++) {
		const char *c = b->df->nodes[i].cmd;
		if (!strcmp(c, "run") || !strcmp(c, "copy") || !strcmp(c, "add") || !strcmp(c, "workdir"))
			k++;
	}
	return k;
}

static void __attribute__((noreturn)) stage_child_main(struct bctx *b, struct stage_part pt, int wfd)
{
	struct stage *s = &b->st[pt.k];
	struct berr *e = NULL;
	int r = build_stage_part(b, pt.k, pt.upto, &e);
	json_t *msg = r < 0 ? json_pack("{s:s}", "error", e && e->msg ? e->msg : "the stage failed")
			    : json_pack("{s:s, s:s, s:b, s:O, s:O, s:O, s:i, s:i, s:s}", "id", s->id, "key", s->key,
					"dirty", s->dirty, "img", s->img, "used_args", b->used_args, "args", s->args,
					"step", s->step, "nsteps", s->nsteps, "label", s->label);
	char *txt = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	if (txt)
		(void)fs_write_full(wfd, txt, strlen(txt));
	if (b->o->out)
		fflush(b->o->out);
	_exit(r < 0 || !txt ? 1 : 0);
}

/* Wait for a child and take its stage's result (or its error). */
static int stage_child_finish(struct bctx *b, struct stage_child *c, size_t upto, struct berr **err)
{
	struct sbuf sb = SBUF_INIT;
	char buf[16384];
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		sbuf_add(&sb, buf, (size_t)n);
	}
	close(c->fd);
	c->fd = -1;
	int status = 0;
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	struct stage *s = &b->st[c->k];
	struct berr *e = NULL;
	json_t *msg = sb.len ? jsonx_parse(sbuf_str(&sb), sb.len, "stage result", &e) : NULL;
	berr_free(e);
	sbuf_release(&sb);
	int rc = 0;
	const char *emsg = jsonx_str(msg, "error");
	json_t *img = json_object_get(msg, "img");
	const char *id = jsonx_str(msg, "id"), *key = jsonx_str(msg, "key");
	if (emsg) {
		rc = berr_setc(err, BERR_INVALID, "%s", emsg);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) || !json_is_object(img) || !id || !key ||
		   strlen(id) >= sizeof(s->id) || strlen(key) >= sizeof(s->key)) {
		rc = berr_set(err, 0, "building stage %s: the builder process failed (status %d)",
			      s->name ? s->name : s->base, status);
	} else {
		stage_set_img(s, json_incref(img));
		snprintf(s->id, sizeof(s->id), "%s", id);
		snprintf(s->key, sizeof(s->key), "%s", key);
		s->dirty = json_is_true(json_object_get(msg, "dirty"));
		json_object_update(b->used_args, json_object_get(msg, "used_args"));
		json_t *args = json_object_get(msg, "args");
		if (json_is_object(args)) {
			json_decref(s->args);
			s->args = json_deep_copy(args);
		}
		s->step = (int)json_integer_value(json_object_get(msg, "step"));
		s->nsteps = (int)json_integer_value(json_object_get(msg, "nsteps"));
		snprintf(s->label, sizeof(s->label), "%s", jsonx_str(msg, "label") ? jsonx_str(msg, "label") : "");
		if (!s->started) {
			s->started = true;
			s->next = s->first + 1;
		}
		s->next = upto;
		s->done = upto == s->end;
	}
	json_decref(msg);
	return rc;
}

static int build_stages(struct bctx *b, size_t target, struct berr **err)
{
	for (;;) {
		struct stage_part ready[MAX_PARALLEL_STAGES];
		size_t nready = 0;
		bool left = false;
		for (size_t k = 0; k <= target; k++) {
			struct stage *s = &b->st[k];
			if (!s->needed || s->done)
				continue;
			left = true;
			size_t upto = stage_runnable_upto(b, k);
			/* runnable: something to do before the next wait */
			if (nready < MAX_PARALLEL_STAGES && upto && (!s->started || upto > s->next || upto == s->end))
				ready[nready++] = (struct stage_part){.k = k, .upto = upto};
		}
		if (!left)
			return 0;
		if (!nready) /* cannot happen: a stage only names stages before it */
			return berr_set(err, 0, "no build stage can go on");
		if (nready == 1 || getenv("BERTH_BUILD_SEQUENTIAL")) {
			if (build_stage_part(b, ready[0].k, ready[0].upto, err) < 0)
				return -1;
			continue;
		}
		/* step numbers: each part its own range, as many as it has steps */
		int base = b->prog.next;
		int next = base + part_steps(b, &b->st[ready[0].k], ready[0].upto);
		struct stage_child ch[MAX_PARALLEL_STAGES];
		size_t chupto[MAX_PARALLEL_STAGES];
		size_t nch = 0;
		/* a live view redrawn in place would erase the other processes' lines */
		const enum build_progress mode0 = b->prog.mode;
		if (mode0 == BUILD_PROGRESS_TTY)
			b->prog.mode = BUILD_PROGRESS_PLAIN;
		int rc = 0;
		for (size_t i = 1; i < nready && rc == 0; i++) {
			int pfd[2];
			if (pipe2(pfd, O_CLOEXEC) < 0) {
				rc = berr_set(err, errno, "pipe");
				break;
			}
			b->prog.next = next;
			next += part_steps(b, &b->st[ready[i].k], ready[i].upto);
			if (b->o->out)
				fflush(b->o->out);
			fflush(NULL);
			pid_t pid = fork();
			if (pid < 0) {
				close(pfd[0]);
				close(pfd[1]);
				rc = berr_set(err, errno, "fork");
				break;
			}
			if (pid == 0) {
				close(pfd[0]);
				stage_child_main(b, ready[i], pfd[1]);
			}
			close(pfd[1]);
			chupto[nch] = ready[i].upto;
			ch[nch++] = (struct stage_child){.pid = pid, .fd = pfd[0], .k = ready[i].k};
		}
		b->prog.next = base;
		if (rc == 0)
			rc = build_stage_part(b, ready[0].k, ready[0].upto, err);
		b->prog.mode = mode0;
		if (rc < 0) {
			for (size_t i = 0; i < nch; i++)
				kill(ch[i].pid, SIGINT);
		}
		for (size_t i = 0; i < nch; i++) {
			struct berr *e = NULL;
			if (stage_child_finish(b, &ch[i], chupto[i], &e) < 0 && rc == 0) {
				*err = e;
				e = NULL;
				rc = -1;
			}
			berr_free(e);
		}
		if (b->prog.next < next)
			b->prog.next = next;
		if (rc < 0)
			return -1;
	}
}

/* ---- the whole build ---- */

static int read_all_fd(int fd, char **ret, size_t *ret_len, struct berr **err)
{
	struct sbuf sb = SBUF_INIT;
	char buf[65536];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			sbuf_release(&sb);
			return berr_set(err, errno, "reading standard input");
		}
		if (r == 0)
			break;
		sbuf_add(&sb, buf, (size_t)r);
		if (sb.len > MAX_DOCKERFILE) {
			sbuf_release(&sb);
			return berr_setc(err, BERR_INVALID, "the Dockerfile is larger than %u bytes", MAX_DOCKERFILE);
		}
	}
	*ret_len = sb.len;
	*ret = sbuf_detach(&sb);
	return 0;
}

static void bctx_release(struct bctx *b)
{
	for (size_t i = 0; i < b->nst; i++) {
		free(b->st[i].name);
		free(b->st[i].base);
		json_decref(b->st[i].img);
		json_decref(b->st[i].args);
	}
	free(b->st);
	if (b->df)
		dockerfile_free(b->df);
	json_decref(b->buildargs);
	json_decref(b->used_args);
	json_decref(b->meta);
	if (b->ctxfd >= 0)
		close(b->ctxfd);
	free(b->ctxdir);
	free(b->layers_dir);
	free(b->statdir);
	if (b->ignore)
		dockerignore_free(b->ignore);
	if (b->have_ctxstage)
		layer_stage_release(b->is, &b->ctxstage);
}

static int tag_final(struct bctx *b, const char *id, struct berr **err)
{
	if (!b->o->ntags)
		return 0;
	_cleanup_close_ int lk = image_store_index_lock(b->is, err);
	if (lk < 0)
		return -1;
	_cleanup_json_ json_t *idx = image_store_index_read(b->is, err);
	if (!idx)
		return -1;
	bool changed = false;
	for (size_t i = 0; i < b->o->ntags; i++) {
		const char *cur = jsonx_str(json_object_get(idx, "refs"), b->o->tags[i]);
		if (cur && !strcmp(cur, id))
			continue;
		_cleanup_free_ char *old = NULL;
		if (image_store_set_ref(idx, b->o->tags[i], id, &old, err) < 0)
			return -1;
		changed = true;
	}
	if (!changed)
		return 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char nowbuf[48];
	time_rfc3339(&now, nowbuf, sizeof(nowbuf));
	json_t *rec = json_object_get(json_object_get(idx, "images"), id);
	if (rec)
		json_object_set_new(rec, "tagged", json_string(nowbuf));
	return image_store_index_write(b->is, idx, err);
}

int build_run(struct image_store *is, struct ctr_store *cs, const struct build_opts *o, char ret_id[72],
	      struct berr **err)
{
	struct bctx b = {.is = is, .cs = cs, .o = o, .ctxfd = -1, .epoch = -1};
	int rc = -1;
	_cleanup_free_ char *dfbuf = NULL;
	size_t dflen = 0;
	bprog_init(&b.prog, o->out, o->progress);
	b.buildargs = json_object();
	b.used_args = json_object();
	b.meta = json_object();
	if (asprintf(&b.layers_dir, "%s/layers", is->root) < 0 || asprintf(&b.statdir, "%s/builder/stat", is->root) < 0) {
		berr_set(err, ENOMEM, "build");
		goto out;
	}
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		char *end;
		long long v = strtoll(sde, &end, 10);
		if (*end || v < 0) {
			berr_setc(err, BERR_INVALID, "invalid SOURCE_DATE_EPOCH \"%s\"", sde);
			goto out;
		}
		b.epoch = v;
	}
	for (size_t i = 0; i < o->nbuild_args; i++) {
		const char *a = o->build_args[i];
		const char *eq = strchr(a, '=');
		if (eq) {
			_cleanup_free_ char *k = strndup(a, (size_t)(eq - a));
			json_object_set_new(b.buildargs, k, json_string(eq + 1));
		} else if (getenv(a)) {
			json_object_set_new(b.buildargs, a, json_string(getenv(a)));
		}
	}
	if (image_store_gc_lock(is, false, err) < 0)
		goto out;

	/* the context and the Dockerfile */
	bool stdin_used = false;
	if (!strcmp(o->context, "-")) {
		if (o->dockerfile && !strcmp(o->dockerfile, "-")) {
			berr_setc(err, BERR_INVALID, "the context and the Dockerfile cannot both come from standard input");
			goto out;
		}
		/* a tar (plain or compressed) is the context; anything else is a
		 * Dockerfile with no context */
		unsigned char head[512];
		size_t hl = 0;
		while (hl < sizeof(head)) {
			ssize_t r = read(0, head + hl, sizeof(head) - hl);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				berr_set(err, errno, "reading standard input");
				goto out;
			}
			if (r == 0)
				break;
			hl += (size_t)r;
		}
		bool is_tar = (hl > 262 && !memcmp(head + 257, "ustar", 5)) || (hl > 2 && head[0] == 0x1f && head[1] == 0x8b) ||
			      (hl > 4 && !memcmp(head, "\x28\xb5\x2f\xfd", 4)) || (hl > 5 && !memcmp(head, "\xfd" "7zXZ", 5)) ||
			      (hl > 3 && !memcmp(head, "BZh", 3));
		if (is_tar) {
			struct stdin_src src = {.head = head, .hl = hl};
			if (layer_stage_stream(is, stdin_read, &src, "the context on standard input", NULL, &b.ctxstage, err) < 0)
				goto out;
			b.have_ctxstage = true;
			if (!b.ctxstage.tmp_dir) {
				berr_setc(err, BERR_INVALID, "the context on standard input could not be unpacked");
				goto out;
			}
			char p[PATH_MAX];
			snprintf(p, sizeof(p), "%s/tmp/%s/diff", is->root, b.ctxstage.tmp_dir);
			b.ctxfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (b.ctxfd < 0) {
				berr_set(err, errno, "opening the unpacked context");
				goto out;
			}
			b.ctxdir = strdup(p);
			struct berr *e = NULL;
			const char *dn = o->dockerfile ? o->dockerfile : "Dockerfile";
			_cleanup_free_ char *dnc = NULL;
			char clean[PATH_MAX];
			if (bpath_clean(dn[0] == '/' ? dn + 1 : dn, clean, sizeof(clean)) < 0 ||
			    fs_read_file_at(b.ctxfd, clean, MAX_DOCKERFILE, &dfbuf, &dflen, &e) < 0) {
				berr_setc(err, BERR_INVALID, "failed to read dockerfile: %s is not in the context on standard input", dn);
				berr_free(e);
				goto out;
			}
			(void)dnc;
		} else {
			struct sbuf sb = SBUF_INIT;
			sbuf_add(&sb, head, hl);
			_cleanup_free_ char *rest = NULL;
			size_t rl = 0;
			if (read_all_fd(0, &rest, &rl, err) < 0 || sb.len + rl > MAX_DOCKERFILE) {
				sbuf_release(&sb);
				if (!*err)
					berr_setc(err, BERR_INVALID, "the Dockerfile is larger than %u bytes", MAX_DOCKERFILE);
				goto out;
			}
			sbuf_add(&sb, rest, rl);
			dflen = sb.len;
			dfbuf = sbuf_detach(&sb);
		}
		stdin_used = true;
		b.dfname = "Dockerfile";
	} else {
		b.ctxfd = open(o->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (b.ctxfd < 0) {
			berr_setc(err, BERR_INVALID, "unable to prepare context: path \"%s\" not found", o->context);
			goto out;
		}
		b.ctxdir = realpath(o->context, NULL);
	}
	b.prog.next = 1;
	const char *dfpath = o->dockerfile;
	if (!stdin_used) {
		if (dfpath && !strcmp(dfpath, "-")) {
			if (read_all_fd(0, &dfbuf, &dflen, err) < 0)
				goto out;
			b.dfname = "Dockerfile";
		} else {
			_cleanup_free_ char *p = NULL;
			if (!dfpath) {
				if (asprintf(&p, "%s/Dockerfile", o->context) < 0)
					p = NULL;
				dfpath = p;
			}
			struct berr *e = NULL;
			if (!dfpath || fs_read_file_at(AT_FDCWD, dfpath, MAX_DOCKERFILE, &dfbuf, &dflen, &e) < 0) {
				berr_setc(err, BERR_INVALID, "failed to read dockerfile: open %s: %s", dfpath ? dfpath : "Dockerfile",
					  e && e->errnum ? strerror(e->errnum) : (e ? e->msg : "out of memory"));
				berr_free(e);
				goto out;
			}
			const char *base = strrchr(dfpath, '/');
			b.dfname = base ? base + 1 : dfpath;
			b.dfname = strcmp(b.dfname, "Dockerfile") ? b.dfname : "Dockerfile";
		}
	}
	bprog_start(&b.prog, "[internal] load build definition from %s", b.dfname);
	bprog_done(&b.prog);
	if (dockerfile_parse(dfbuf, dflen, b.dfname, &b.df, err) < 0) {
		bprog_error(&b.prog, (*err)->msg);
		goto out;
	}
	b.dfname = "Dockerfile";
	if (b.ctxfd >= 0) {
		bprog_start(&b.prog, "[internal] load .dockerignore");
		if (load_ignore(&b, err) < 0)
			goto out;
		bprog_done(&b.prog);
	}

	/* split into stages; ARGs before the first FROM are global */
	size_t nfrom = 0;
	for (size_t i = 0; i < b.df->n; i++)
		if (!strcmp(b.df->nodes[i].cmd, "from"))
			nfrom++;
	if (!nfrom) {
		berr_setc(err, BERR_INVALID, "%s:%d: no FROM instruction: a Dockerfile must start with FROM (after ARGs)", b.dfname,
			  b.df->n ? b.df->nodes[0].start_line : 1);
		goto out;
	}
	static const char *const known[] = {"from", "run", "copy", "add", "workdir", "env", "arg", "label", "maintainer",
					    "expose", "user", "volume", "cmd", "entrypoint", "healthcheck", "stopsignal",
					    "shell", "onbuild", NULL};
	for (size_t i = 0; i < b.df->n; i++) {
		const struct df_node *n = &b.df->nodes[i];
		bool ok = false;
		for (size_t k = 0; known[k]; k++)
			if (!strcmp(n->cmd, known[k]))
				ok = true;
		if (!ok) {
			line_err(&b, n, err, "unknown instruction: %s", n->cmd);
			goto out;
		}
	}
	b.st = calloc(nfrom, sizeof(*b.st));
	if (!b.st) {
		berr_set(err, ENOMEM, "build");
		goto out;
	}
	{
		struct stage metas = {.args = b.meta, .img = json_pack("{s:{}}", "config")};
		size_t i = 0;
		for (; i < b.df->n && strcmp(b.df->nodes[i].cmd, "from"); i++) {
			const struct df_node *n = &b.df->nodes[i];
			if (strcmp(n->cmd, "arg")) {
				json_decref(metas.img);
				line_err(&b, n, err, "no FROM instruction before %s", n->cmd);
				goto out;
			}
			struct sbuf h = SBUF_INIT;
			int r = do_arg(&b, &metas, n, &h, err);
			sbuf_release(&h);
			if (r < 0) {
				json_decref(metas.img);
				goto out;
			}
		}
		json_decref(metas.img);
		for (; i < b.df->n; i++) {
			if (strcmp(b.df->nodes[i].cmd, "from"))
				continue;
			struct stage *s = &b.st[b.nst];
			s->first = i;
			if (b.nst)
				b.st[b.nst - 1].end = i;
			b.nst++;
			if (parse_from(&b, s, &b.df->nodes[i], err) < 0)
				goto out;
		}
		b.st[b.nst - 1].end = b.df->n;
	}
	size_t target = b.nst - 1;
	if (o->target) {
		struct stage *t = NULL;
		for (size_t i = 0; i < b.nst; i++)
			if (b.st[i].name && !strcasecmp(b.st[i].name, o->target))
				t = &b.st[i];
		if (!t) {
			berr_setc(err, BERR_INVALID, "failed to reach build target %s in Dockerfile", o->target);
			goto out;
		}
		target = (size_t)(t - b.st);
	}
	mark_needed(&b, target);
	/* COPY --from naming neither a stage nor a stored image fails early */
	for (size_t k = 0; k <= target; k++) {
		if (!b.st[k].needed)
			continue;
		for (size_t i = b.st[k].first + 1; i < b.st[k].end; i++) {
			const struct df_node *n = &b.df->nodes[i];
			const char *f = (!strcmp(n->cmd, "copy") || !strcmp(n->cmd, "add")) ? flag_val(n, "from") : NULL;
			if (!f || find_stage(&b, f, k))
				continue;
			bool self = false;
			for (size_t q = k; q < b.nst; q++)
				if (b.st[q].name && !strcasecmp(b.st[q].name, f))
					self = true;
			_cleanup_json_ json_t *idx = image_store_index_read(is, err);
			_cleanup_free_ char *id = NULL;
			struct berr *e2 = NULL;
			if (self || !idx || image_store_resolve(idx, f, &id, NULL, &e2) < 0) {
				berr_free(e2);
				line_err(&b, n, err, "COPY --from=%s: %s", f,
					 self ? "a stage can only copy from stages before it" : "no build stage or stored image by that name");
				goto out;
			}
		}
	}
	if (build_stages(&b, target, err) < 0)
		goto out;
	struct stage *t = &b.st[target];
	if (o->labels && json_object_size(o->labels)) {
		json_t *c = cfg_of(t);
		json_t *l = json_object_get(c, "Labels");
		if (!json_is_object(l))
			json_object_set_new(c, "Labels", l = json_object());
		json_object_update(l, o->labels);
		_cleanup_free_ char *lt = jsonx_dumps(o->labels, 1);
		key_step(t->key, "--label", lt);
		t->dirty = true;
	}
	if (t->dirty || !*t->id) {
		if (!cache_hit(&b, t, err) && commit_stage(&b, t, NULL, err) < 0)
			goto out;
	}
	/* unused --build-arg: Docker warns */
	{
		const char *k;
		json_t *v;
		json_object_foreach(b.buildargs, k, v) {
			bool proxy = false;
			for (size_t i = 0; proxy_args[i]; i++)
				if (!strcmp(proxy_args[i], k))
					proxy = true;
			if (!proxy && !json_object_get(b.used_args, k) && o->progress != BUILD_PROGRESS_QUIET && o->out)
				fprintf(o->out, "[Warning] One or more build-args [%s] were not consumed\n", k);
		}
	}
	bprog_start(&b.prog, "exporting to image");
	if (tag_final(&b, t->id, err) < 0)
		goto out;
	bprog_line(&b.prog, "writing image %s done", t->id);
	for (size_t i = 0; i < o->ntags; i++)
		bprog_line(&b.prog, "naming to %s done", o->tags[i]);
	bprog_done(&b.prog);
	memcpy(ret_id, t->id, 72);
	rc = 0;
out:
	if (rc < 0 && build_interrupted) {
		berr_freep(err);
		berr_setc(err, BERR_INVALID, "interrupted: the build was cancelled (nothing was tagged)");
	}
	bctx_release(&b);
	return rc;
}
