/* The Dockerfile builder: turns a parsed Dockerfile and a context into an
 * image in the store. Each step's result is an untagged image record marked
 * "build_cache" in the index (so garbage collection keeps its layers and a
 * RUN can start a container on it); $ROOT/builder/cache/<key> maps a step's
 * cache key to that image. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "image/store.h"
#include "runtime/container.h"
#include "util/err.h"

enum build_progress { BUILD_PROGRESS_PLAIN, BUILD_PROGRESS_TTY, BUILD_PROGRESS_QUIET };

struct build_opts {
	const char *context;    /* directory, or "-" (a tar or a Dockerfile on stdin) */
	const char *dockerfile; /* path, "-" for stdin, or NULL: CONTEXT/Dockerfile */
	const char *const *tags; /* normalized full refs */
	size_t ntags;
	const char *const *build_args; /* "K=V" or "K" (value from the environment) */
	size_t nbuild_args;
	const char *target;  /* stage name or NULL: the last stage */
	bool no_cache;
	json_t *labels;      /* object or NULL */
	const char *network; /* "default", "none", "host" */
	enum build_progress progress;
	FILE *out;           /* progress lines */
};

/* Build; ret_id gets the image ID. Failures carry "Dockerfile:LINE: ..." when
 * a line is to blame. Nothing is tagged on failure and no container, mount
 * or temp file stays. */
int build_run(struct image_store *is, struct ctr_store *cs, const struct build_opts *o, char ret_id[72],
	      struct berr **err);

/* Set by a signal handler: the build stops at the next check, cleans up
 * and fails with "interrupted". */
extern volatile int build_interrupted;

/* builder prune: drop cache entries (all of them with all, else those whose
 * image no tag uses), then collect what no image needs. */
int build_cache_prune(struct image_store *is, bool all, size_t *ret_count, uint64_t *ret_freed,
		      struct berr **err);

/* ---- internal, shared between the builder's files ---- */

/* Cache: key -> image id. */
int bcache_get(struct image_store *is, const char *key, char ret_id[72]);
int bcache_put(struct image_store *is, const char *key, const char *id, struct berr **err);

/* A layer from a directory tree written in the upper-dir convention (char
 * device 0/0 = whiteout, trusted.overlay.opaque=y = opaque dir): an OCI
 * layer tar, stored. Times are clamped to epoch when epoch >= 0. */
struct layer_stage;
int bdiff_layer_from_dir(struct image_store *is, int dirfd, int64_t epoch, struct layer_stage *ret,
			 struct berr **err);
