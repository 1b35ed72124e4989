/* Seccomp filters for containers: Docker's default profile (as berth's own
 * table) or a Docker-format JSON profile, compiled to classic BPF in the
 * parent so the container's init only has to hand it to the kernel. */
#ifndef BERTH_RUNTIME_SECCOMP_H
#define BERTH_RUNTIME_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct seccomp_opts {
	bool unconfined;          /* --security-opt seccomp=unconfined */
	const char *profile;      /* contents of a Docker-format profile JSON (--security-opt seccomp=FILE), or NULL for the default */
	size_t profile_len;
	const char *profile_name; /* file name for error messages */
	uint64_t caps;            /* the container's capability set (bit N = capability N) */
};

/* Compile the filter to a BPF program in the parent (so the container's init
 * only has to load it). ret->filter is malloc'd; unconfined gives len 0. */
int seccomp_compile(const struct seccomp_opts *o, struct sock_fprog *ret, struct berr **err);

/* Same, cached: compiled programs are kept under cache_dir (one file per
 * (profile digest, caps) key, written atomically), so repeated runs skip
 * libseccomp entirely. A damaged cache file is ignored and rewritten. */
int seccomp_compile_cached(const char *cache_dir, const struct seccomp_opts *o, struct sock_fprog *ret,
			   struct berr **err);

/* For tests: seccomp_compile with the built-in default compiled by
 * libseccomp instead of berth's own generator. The two programs must agree. */
int seccomp_compile_libseccomp(const struct seccomp_opts *o, struct sock_fprog *ret, struct berr **err);

/* In the container's init, right before execve: install prog (needs
 * CAP_SYS_ADMIN or no_new_privs). Async-signal-safe: no malloc. len 0 is a
 * no-op. Returns 0 or -errno. */
int seccomp_install(const struct sock_fprog *prog);

/* Free ret->filter and zero *p; safe on a zeroed or already freed program. */
void seccomp_prog_free(struct sock_fprog *p);

#endif
