/* Internal to the Dockerfile driver: the state of a build and of each of
 * its stages, and the functions build.c (the driver), stages.c (stage
 * planning and the scheduler), step.c (what every step shares),
 * instr-meta.c (config instructions) and instr-layer.c (RUN, COPY/ADD,
 * WORKDIR) call across. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/bint.h"
#include "util/strbuf.h"

struct dockerignore;

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

/* ---- step.c: what every step shares ---- */

/* Fail with "Dockerfile:LINE: MSG: <the error so far>" and the lines of n
 * (when n is from b's Dockerfile); returns -1. */
int bstep_line_err(struct bctx *b, const struct df_node *n, struct berr **err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Extend a cache key chain: key = sha256(key, text, extra). */
void bstep_key_step(char key[65], const char *text, const char *extra);
/* The stage's "config" object (created when missing). */
json_t *bstep_cfg_of(struct stage *s);
/* Value of k in a "KEY=VALUE" array (the last one), or NULL. */
const char *bstep_env_get(json_t *env, const char *k);
/* Set k in a "KEY=VALUE" array, in place when it is there. */
void bstep_env_set(json_t *env, const char *k, const char *val);
/* The stage's ARGs in scope then its ENV, as a NULL-ended "KEY=VALUE"
 * array for shlex (free with bstep_strv_free). */
char **bstep_expand_env(struct bctx *b, struct stage *s);
void bstep_strv_free(char **v);
/* Expand word as one word (*out, caller frees) / text into words, with the
 * stage's variables; errors point at n. */
int bstep_expand(struct bctx *b, struct stage *s, const struct df_node *n, const char *word, char **out,
		 struct berr **err);
int bstep_expand_words(struct bctx *b, struct stage *s, const struct df_node *n, const char *text, char ***out,
		       size_t *nout, struct berr **err);
/* The value of --name=VALUE on n (the last one), or NULL. */
const char *bstep_flag_val(const struct df_node *n, const char *name);
/* Fail on a flag of n not in allowed (NULL-ended, or NULL: none). */
int bstep_check_flags(struct bctx *b, const struct df_node *n, const char *const *allowed, struct berr **err);
/* Append a history entry (and set "created"), at SOURCE_DATE_EPOCH when set. */
void bstep_add_history(struct bctx *b, struct stage *s, const char *created_by, bool empty);
/* n's arguments joined with spaces (caller frees). */
char *bstep_join_args(const struct df_node *n);
json_t *bstep_strs_json(char **v, size_t n);
/* The image config blob id from the store, parsed. */
int bstep_load_image(struct bctx *b, const char *id, json_t **ret, struct berr **err);
/* The stage takes img (owned) as its config; s->layers points into it. */
void bstep_stage_set_img(struct stage *s, json_t *img);
/* Commit the stage's config (+ the new layer nl, or NULL) as a cache image
 * under s->key; s->id gets it. */
int bstep_commit_stage(struct bctx *b, struct stage *s, struct layer_stage *nl, struct berr **err);
/* True when s->key is in the cache (and --no-cache is off): the stage
 * then has that image. */
bool bstep_cache_hit(struct bctx *b, struct stage *s, struct berr **err);
/* The overlay lowerdir list of a diff_ids array (caller frees). */
char *bstep_lowerdir_of(struct bctx *b, json_t *layers);
/* The stage's SHELL (default /bin/sh -c), a new array. */
json_t *bstep_shell_of(struct stage *s);
/* CMD / ENTRYPOINT / RUN argv: exec form as is, shell form through SHELL. */
json_t *bstep_cmd_argv(struct stage *s, const struct df_node *n);

/* ---- stages.c: stage planning and the scheduler ---- */

/* Split b->df into stages (ARGs before the first FROM into b->meta), find
 * the target and mark the stages it needs; *ret_target gets its index. */
int bstage_plan(struct bctx *b, size_t *ret_target, struct berr **err);
/* The stage called name (or numbered) among the first `before` ones, or NULL. */
struct stage *bstage_find(struct bctx *b, const char *name, size_t before);
/* Build every needed stage up to target, independent ones in parallel. */
int bstage_build(struct bctx *b, size_t target, struct berr **err);

/* ---- instr-meta.c: instructions that only change the config ---- */

/* ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME, CMD, ... : change s's config;
 * hist gets the history's created_by. */
int binstr_meta(struct bctx *b, struct stage *s, const struct df_node *n, struct sbuf *hist, struct berr **err);
/* ARG: into s->args (b->meta before the first FROM), marked used. */
int binstr_arg(struct bctx *b, struct stage *s, const struct df_node *n, struct sbuf *hist, struct berr **err);

/* ---- instr-layer.c: the steps that make a layer ---- */

/* The proxy build args RUN gets without an ARG (NULL-ended). */
extern const char *const binstr_proxy_args[];
int binstr_run(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err);
int binstr_copy(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err);
/* WORKDIR after binstr_meta set it (hist: "WORKDIR /abs"): makes the
 * directory in the image. */
int binstr_workdir(struct bctx *b, struct stage *s, const char *hist, struct berr **err);
