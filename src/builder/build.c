/* The build driver: the options (build args, SOURCE_DATE_EPOCH), the
 * context (a directory or a tar on standard input) and its .dockerignore,
 * reading the Dockerfile, then planning and building the stages
 * (stages.c), the final commit with --label and the tags.
 *
 * Every step extends a cache key chain: key = sha256(previous key,
 * instruction after expansion, what else the step depends on). Metadata
 * steps (ENV, LABEL, ...: instr-meta.c) only change the config in memory;
 * steps that make a layer (RUN, COPY, ADD: instr-layer.c) and the end of a
 * stage commit an image (marked "build_cache" in the index) and record key
 * -> image ID (step.c). A rebuild with nothing changed therefore only
 * re-derives keys, checks the context and finds every image in the cache. */
#include "builder/build-int.h"
#include "builder/ignore.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile int build_interrupted;

#define MAX_DOCKERFILE (4u << 20)

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

	size_t target;
	if (bstage_plan(&b, &target, err) < 0)
		goto out;
	if (bstage_build(&b, target, err) < 0)
		goto out;
	struct stage *t = &b.st[target];
	if (o->labels && json_object_size(o->labels)) {
		json_t *c = bstep_cfg_of(t);
		json_t *l = json_object_get(c, "Labels");
		if (!json_is_object(l))
			json_object_set_new(c, "Labels", l = json_object());
		json_object_update(l, o->labels);
		_cleanup_free_ char *lt = jsonx_dumps(o->labels, 1);
		bstep_key_step(t->key, "--label", lt);
		t->dirty = true;
	}
	if (t->dirty || !*t->id) {
		if (!bstep_cache_hit(&b, t, err) && bstep_commit_stage(&b, t, NULL, err) < 0)
			goto out;
	}
	/* unused --build-arg: Docker warns */
	{
		const char *k;
		json_t *v;
		json_object_foreach(b.buildargs, k, v) {
			bool proxy = false;
			for (size_t i = 0; binstr_proxy_args[i]; i++)
				if (!strcmp(binstr_proxy_args[i], k))
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
