/* Stages: planning (the split into stages at each FROM, the global ARGs,
 * the target and the stages it needs, early checks of COPY --from), running
 * one (FROM: a stage, scratch or a stored image, with its ONBUILD triggers,
 * then each instruction in turn) and the scheduler that builds independent
 * stages side by side in forked builders. */
#include "builder/build-int.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- planning ---- */

struct stage *bstage_find(struct bctx *b, const char *name, size_t before)
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
		return bstep_line_err(b, n, err, "FROM requires either one or three arguments");
	static const char *const allowed[] = {"platform", NULL};
	if (bstep_check_flags(b, n, allowed, err) < 0)
		return -1;
	struct stage tmp = {.args = b->meta, .img = json_pack("{s:{}}", "config")};
	int r = bstep_expand(b, &tmp, n, n->args[0], &s->base, err);
	json_decref(tmp.img);
	if (r < 0)
		return -1;
	if (!*s->base)
		return bstep_line_err(b, n, err, "base name (%s) should not be blank", n->args[0]);
	if (n->nargs == 3) {
		s->name = strdup(n->args[2]);
		for (char *p = s->name; p && *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (const char *p = s->name; p && *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
				return bstep_line_err(b, n, err, "invalid name for build stage: \"%s\", name can't start with a number or contain symbols", n->args[2]);
	}
	const char *plat = bstep_flag_val(n, "platform");
	if (plat) {
		_cleanup_free_ char *pv = NULL;
		struct stage t2 = {.args = b->meta, .img = json_pack("{s:{}}", "config")};
		r = bstep_expand(b, &t2, n, plat, &pv, err);
		json_decref(t2.img);
		if (r < 0)
			return -1;
		char want[64];
		snprintf(want, sizeof(want), "linux/%s", image_host_arch());
		if (strcmp(pv, want) && strncmp(pv, want, strlen(want)))
			return bstep_line_err(b, n, err, "--platform=%s: only the local platform (%s) can be built", pv, want);
	}
	return 0;
}

static void mark_needed(struct bctx *b, size_t k)
{
	struct stage *s = &b->st[k];
	if (s->needed)
		return;
	s->needed = true;
	struct stage *dep = bstage_find(b, s->base, k);
	if (dep)
		mark_needed(b, (size_t)(dep - b->st));
	for (size_t i = s->first + 1; i < s->end; i++) {
		const struct df_node *n = &b->df->nodes[i];
		if (strcmp(n->cmd, "copy") && strcmp(n->cmd, "add"))
			continue;
		const char *f = bstep_flag_val(n, "from");
		if (f && (dep = bstage_find(b, f, k)))
			mark_needed(b, (size_t)(dep - b->st));
	}
}

int bstage_plan(struct bctx *b, size_t *ret_target, struct berr **err)
{
	/* split into stages; ARGs before the first FROM are global */
	size_t nfrom = 0;
	for (size_t i = 0; i < b->df->n; i++)
		if (!strcmp(b->df->nodes[i].cmd, "from"))
			nfrom++;
	if (!nfrom) {
		berr_setc(err, BERR_INVALID, "%s:%d: no FROM instruction: a Dockerfile must start with FROM (after ARGs)", b->dfname,
			  b->df->n ? b->df->nodes[0].start_line : 1);
		return -1;
	}
	static const char *const known[] = {"from", "run", "copy", "add", "workdir", "env", "arg", "label", "maintainer",
					    "expose", "user", "volume", "cmd", "entrypoint", "healthcheck", "stopsignal",
					    "shell", "onbuild", NULL};
	for (size_t i = 0; i < b->df->n; i++) {
		const struct df_node *n = &b->df->nodes[i];
		bool ok = false;
		for (size_t k = 0; known[k]; k++)
			if (!strcmp(n->cmd, known[k]))
				ok = true;
		if (!ok) {
			bstep_line_err(b, n, err, "unknown instruction: %s", n->cmd);
			return -1;
		}
	}
	b->st = calloc(nfrom, sizeof(*b->st));
	if (!b->st) {
		berr_set(err, ENOMEM, "build");
		return -1;
	}
	{
		struct stage metas = {.args = b->meta, .img = json_pack("{s:{}}", "config")};
		size_t i = 0;
		for (; i < b->df->n && strcmp(b->df->nodes[i].cmd, "from"); i++) {
			const struct df_node *n = &b->df->nodes[i];
			if (strcmp(n->cmd, "arg")) {
				json_decref(metas.img);
				bstep_line_err(b, n, err, "no FROM instruction before %s", n->cmd);
				return -1;
			}
			struct sbuf h = SBUF_INIT;
			int r = binstr_arg(b, &metas, n, &h, err);
			sbuf_release(&h);
			if (r < 0) {
				json_decref(metas.img);
				return -1;
			}
		}
		json_decref(metas.img);
		for (; i < b->df->n; i++) {
			if (strcmp(b->df->nodes[i].cmd, "from"))
				continue;
			struct stage *s = &b->st[b->nst];
			s->first = i;
			if (b->nst)
				b->st[b->nst - 1].end = i;
			b->nst++;
			if (parse_from(b, s, &b->df->nodes[i], err) < 0)
				return -1;
		}
		b->st[b->nst - 1].end = b->df->n;
	}
	size_t target = b->nst - 1;
	if (b->o->target) {
		struct stage *t = NULL;
		for (size_t i = 0; i < b->nst; i++)
			if (b->st[i].name && !strcasecmp(b->st[i].name, b->o->target))
				t = &b->st[i];
		if (!t) {
			berr_setc(err, BERR_INVALID, "failed to reach build target %s in Dockerfile", b->o->target);
			return -1;
		}
		target = (size_t)(t - b->st);
	}
	mark_needed(b, target);
	/* COPY --from naming neither a stage nor a stored image fails early */
	for (size_t k = 0; k <= target; k++) {
		if (!b->st[k].needed)
			continue;
		for (size_t i = b->st[k].first + 1; i < b->st[k].end; i++) {
			const struct df_node *n = &b->df->nodes[i];
			const char *f = (!strcmp(n->cmd, "copy") || !strcmp(n->cmd, "add")) ? bstep_flag_val(n, "from") : NULL;
			if (!f || bstage_find(b, f, k))
				continue;
			bool self = false;
			for (size_t q = k; q < b->nst; q++)
				if (b->st[q].name && !strcasecmp(b->st[q].name, f))
					self = true;
			_cleanup_json_ json_t *idx = image_store_index_read(b->is, err);
			_cleanup_free_ char *id = NULL;
			struct berr *e2 = NULL;
			if (self || !idx || image_store_resolve(idx, f, &id, NULL, &e2) < 0) {
				berr_free(e2);
				bstep_line_err(b, n, err, "COPY --from=%s: %s", f,
					       self ? "a stage can only copy from stages before it" : "no build stage or stored image by that name");
				return -1;
			}
		}
	}
	*ret_target = target;
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
	struct stage *dep = bstage_find(b, s->base, k);
	if (dep) {
		if (!dep->done)
			return bstep_line_err(b, n, err, "stage %s was not built", s->base);
		bstep_stage_set_img(s, json_deep_copy(dep->img));
		memcpy(s->id, dep->id, 72);
		snprintf(s->key, sizeof(s->key), "%s", dep->key);
		s->dirty = dep->dirty;
	} else if (!strcasecmp(s->base, "scratch")) {
		json_t *img = json_pack("{s:s, s:s, s:{s:[s]}, s:{s:s, s:[]}, s:[]}", "architecture", image_host_arch(), "os",
					"linux", "config", "Env", "PATH=" DEFAULT_PATH,
					"rootfs", "type", "layers", "diff_ids", "history");
		bstep_stage_set_img(s, img);
		s->id[0] = 0;
		bstep_key_step(s->key, "FROM scratch", NULL);
		s->dirty = true;
	} else {
		_cleanup_json_ json_t *idx = image_store_index_read(b->is, err);
		if (!idx)
			return -1;
		_cleanup_free_ char *id = NULL;
		if (image_store_resolve(idx, s->base, &id, NULL, err) < 0) {
			berr_freep(err);
			return bstep_line_err(b, n, err, "FROM %s: no such image in the store (berth does not pull images yet; load or import it first)", s->base);
		}
		json_t *img;
		if (bstep_load_image(b, id, &img, err) < 0)
			return bstep_line_err(b, n, err, "FROM %s", s->base);
		bstep_stage_set_img(s, img);
		snprintf(s->id, sizeof(s->id), "%s", id);
		bstep_key_step(s->key, "FROM", id);
		s->dirty = false;
		/* Docker's builders give a base without PATH the default one, for
		 * expansion (ENV PATH=/x:$PATH), RUN and the image they write */
		json_t *benv = json_object_get(bstep_cfg_of(s), "Env");
		if (!json_is_array(benv))
			json_object_set_new(bstep_cfg_of(s), "Env", benv = json_array());
		if (!bstep_env_get(benv, "PATH")) {
			bstep_env_set(benv, "PATH", DEFAULT_PATH);
			s->dirty = true;
		}
		/* the base's ONBUILD triggers run now, then are not inherited */
		json_t *ob = json_incref(json_object_get(bstep_cfg_of(s), "OnBuild"));
		json_object_set_new(bstep_cfg_of(s), "OnBuild", json_null());
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
				return bstep_line_err(b, n, err, "FROM %s: ONBUILD trigger", s->base);
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

static int exec_node(struct bctx *b, struct stage *s, const struct df_node *n, bool trigger, struct berr **err)
{
	if (build_interrupted)
		return berr_setc(err, BERR_INVALID, "interrupted");
	const char *c = n->cmd;
	if (!strcmp(c, "run"))
		return binstr_run(b, s, n, err);
	if (!strcmp(c, "copy") || !strcmp(c, "add"))
		return binstr_copy(b, s, n, err);
	if (!strcmp(c, "from"))
		return bstep_line_err(b, n, err, "FROM is not allowed here");
	struct sbuf hist = SBUF_INIT;
	int r;
	if (!strcmp(c, "arg"))
		r = binstr_arg(b, s, n, &hist, err);
	else
		r = binstr_meta(b, s, n, &hist, err);
	if (r == 0 && !strcmp(c, "workdir")) {
		r = binstr_workdir(b, s, sbuf_str(&hist), err);
		if (r < 0)
			bstep_line_err(b, n, err, "WORKDIR");
		sbuf_release(&hist);
		return r;
	}
	if (r == 0) {
		if (strcmp(c, "arg"))
			bstep_add_history(b, s, sbuf_str(&hist), true);
		/* the ARG's value is part of the key (it changes RUN's env) */
		bstep_key_step(s->key, sbuf_str(&hist), NULL);
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
	struct stage *dep = bstage_find(b, s->base, k);
	if (dep && !dep->done)
		return 0;
	for (size_t i = s->started ? s->next : s->first + 1; i < s->end; i++) {
		const struct df_node *n = &b->df->nodes[i];
		if (strcmp(n->cmd, "copy") && strcmp(n->cmd, "add"))
			continue;
		const char *f = bstep_flag_val(n, "from");
		if (f && (dep = bstage_find(b, f, k)) && !dep->done)
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
		bstep_stage_set_img(s, json_incref(img));
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

int bstage_build(struct bctx *b, size_t target, struct berr **err)
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
