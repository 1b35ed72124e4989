/* `berth cp`: copying files between a container's file system and the
 * host (or a tar stream), with Docker's rules for what lands where.
 *
 * The container's file system is the overlay of its image layers and its
 * upper dir. A running (or paused) container has it mounted only in its own
 * mount namespace: a child process enters that namespace and hands back a
 * descriptor of its root. For a stopped container, a child mounts the
 * overlay in a private mount namespace of its own (never in the host's),
 * hands back the root, and exits; the mount lives only as long as that
 * descriptor, and the container lock is held meanwhile so that a start
 * cannot mount the same upper dir at the same time.
 *
 * Every path inside the container is resolved with openat2(RESOLVE_IN_ROOT
 * | RESOLVE_NO_MAGICLINKS) from that root, and every change is made with
 * *at() calls that do not follow the last component, so no symlink in the
 * container can make berth read or write host files. */
#ifndef BERTH_RUNTIME_COPY_H
#define BERTH_RUNTIME_COPY_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/container.h"
#include "util/err.h"

struct ctr_fs;

/* Open the container's root file system (running, paused, created or
 * exited; a restarting one is refused). */
int ctr_fs_open(struct ctr_store *s, const char *id, struct ctr_fs **ret, struct berr **err);
/* Release it: for a stopped container this unmounts and unlocks. */
void ctr_fs_close(struct ctr_fs *f);

struct cp_opts {
	bool archive;    /* -a: keep the source's uid/gid (else root in the
			  * container, the caller's on the host) */
	bool follow;     /* -L: follow a symlink named as the source */
	const char *ref; /* the container as the user named it, for messages */
	int in_fd;       /* the tar stream for source "-" */
	int out_fd;      /* the tar stream for destination "-" */
};

/* CONTAINER:src -> dst (a host path, or "-" for a tar stream on out_fd).
 * *ret_bytes: about the size of the tar stream Docker would have sent. */
int cp_from_container(struct ctr_fs *f, const char *src, const char *dst, const struct cp_opts *o,
		      uint64_t *ret_bytes, struct berr **err);
/* src (a host path, or "-" for a tar stream on in_fd) -> CONTAINER:dst. */
int cp_to_container(struct ctr_fs *f, const char *src, const char *dst, const struct cp_opts *o,
		    uint64_t *ret_bytes, struct berr **err);

#endif
