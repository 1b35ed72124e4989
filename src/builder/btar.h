/* Writing trees into layer tars (diff.c), shared by RUN (upper dirs) and
 * COPY/ADD (context files). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/layer.h"
#include "image/store.h"
#include "image/tarw.h"
#include "util/err.h"

struct btar_opts {
	bool upper;      /* overlay upper dir: whiteouts and opaque dirs */
	int64_t epoch;   /* clamp times to this when >= 0 */
	bool chown;      /* --chown: every entry gets uid/gid */
	bool chown_parents;
	uint64_t uid, gid;
	int chmod;       /* --chmod: mode of every entry, or -1 */
	bool chmod_dirs;
	/* return true to leave out dir/name (.dockerignore); dir is the arcname */
	bool (*skip)(void *ctx, const char *arcdir, const char *name);
	void *skip_ctx;
};

struct btar {
	struct tarw *w;
	struct btar_opts o;
	struct {
		dev_t dev;
		ino_t ino;
		char *name;
	} *links;
	size_t nlinks, caplinks;
	char *parents[256];
	size_t nparents;
};

void btar_init(struct btar *b, struct tarw *w, const struct btar_opts *o);
void btar_release(struct btar *b);
/* Add dirfd/name (recursively for a directory) as arcname ("" = the root:
 * only the contents). */
int btar_add(struct btar *b, int dirfd, const char *name, const char *arcname, struct berr **err);
/* A regular file open on fd (already stat'ed) as arcname. */
struct stat;
int btar_add_file_fd(struct btar *b, int fd, const struct stat *st, const char *arcname, struct berr **err);
/* Directory entries for the parents of path (not path itself). */
int btar_add_parents(struct btar *b, const char *path, struct berr **err);
void btar_parents_release(struct btar *b);
/* An unnamed temp file in the store's tmp/. */
int btar_open_tmp(struct image_store *is, int *ret_fd, struct berr **err);
/* Import the tar in fd (rewound) as a staged layer. */
int btar_stage(struct image_store *is, int fd, const char *what, struct layer_stage *ret, struct berr **err);
