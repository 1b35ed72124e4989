/* Internal to the builder: the pieces build.c, copy.c, run.c and progress.c
 * share. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "builder/build.h"
#include "builder/dockerfile.h"
#include "image/layer.h"

/* ---- progress (progress.c) ---- */
struct bprog {
	FILE *f;
	enum build_progress mode;
	int next;              /* next step number */
	struct timespec t0;    /* start of the current step */
	int cur;
	char tail[8][256];     /* last lines of RUN output, for errors */
	int ntail, tailpos;
	char partial[256];
	size_t npartial;
};
void bprog_init(struct bprog *p, FILE *f, enum build_progress mode);
int bprog_start(struct bprog *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bprog_line(struct bprog *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bprog_cached(struct bprog *p);
void bprog_done(struct bprog *p);
void bprog_error(struct bprog *p, const char *msg);
/* RUN output: printed with the step's number and time, the tail kept. */
void bprog_output(struct bprog *p, const char *buf, size_t n);
void bprog_output_flush(struct bprog *p);
/* The kept tail as "LINE\n" lines (caller frees). */
char *bprog_tail(struct bprog *p);

/* ---- COPY / ADD (copy.c) ---- */
struct bcopy {
	bool add;            /* ADD: local tars are extracted */
	int ctxfd;           /* the context root (sources without --from), or -1 */
	bool (*ignored)(void *ctx, const char *relpath, bool is_dir);
	void *ignore_ctx;
	const char *layers_dir;    /* $ROOT/layers */
	char *src_lower;     /* --from: overlay lowerdir list of the source image, or NULL (empty) */
	bool from;           /* sources come from src_lower, not the context */
	char *dst_lower;     /* the image so far ("" or NULL: empty) */
	char **srcs;         /* expanded source words */
	size_t nsrcs;
	const char *dest;    /* expanded, absolute (WORKDIR applied) */
	bool dest_dir;       /* ends with '/' or several sources */
	const char *chown;   /* --chown value or NULL */
	int chmod;           /* --chmod or -1 */
	int64_t epoch;
	const char *statcache_dir; /* $ROOT/builder/stat */
};
/* Content hash of the context sources (sha256 hex) for the cache key. */
int bcopy_hash(struct bcopy *c, char ret_hex[65], struct berr **err);
/* Write the step's layer (in a child with its own mount namespace). */
int bcopy_layer(struct image_store *is, struct bcopy *c, struct layer_stage *ret, struct berr **err);
/* WORKDIR: a layer with c->dest (absolute) and its missing parents, owned
 * by c->chown (the USER) when set; *ret_made is false (and no layer) when
 * the directory exists in c->dst_lower already. */
int bcopy_workdir_layer(struct image_store *is, struct bcopy *c, struct layer_stage *ret, bool *ret_made,
			struct berr **err);
/* Lexical clean of a path inside a root: "a/./b/../c" -> "a/c"; -1 when it
 * climbs above the root. */
int bpath_clean(const char *in, char *out, size_t outsz);

/* ---- RUN (run.c) ---- */
struct brun {
	const char *image_id;
	json_t *argv;        /* full argv */
	json_t *env;         /* KEY=VALUE */
	const char *user, *workdir;
	const char *network; /* default | none | host */
	int64_t epoch;
};
/* Run it in a berth container; on success ret gets the layer of its
 * changes. *ret_code gets the exit code on failure (-1: not run). */
int brun_exec(struct image_store *is, struct ctr_store *cs, struct bprog *p, const struct brun *r,
	      struct layer_stage *ret, int *ret_code, struct berr **err);

/* ---- ADD URL (fetch.c) ---- */
struct btar_opts;
/* Download url into an unnamed temp file (*ret_fd), checked against
 * checksum ("sha256:HEX") when given; ret_hex gets its sha256. */
int bfetch_url(struct image_store *is, const char *url, const char *checksum, int *ret_fd, char ret_hex[65],
	       int64_t *ret_mtime, struct berr **err);
/* The one-file layer for it (dest: absolute; dest_dir: ends in '/'). */
int bfetch_layer(struct image_store *is, int fd, const char *url, const char *dest, bool dest_dir, int64_t mtime,
		 const struct btar_opts *o, struct layer_stage *ret, struct berr **err);
