/* File-system helpers: whole-file I/O, atomic replace, recursive removal,
 * locks. All fds are O_CLOEXEC. */
#ifndef BERTH_UTIL_FS_H
#define BERTH_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* Write/read exactly n bytes (retrying on EINTR / short I/O). -1 + errno on error;
 * fs_read_full returns the number of bytes read (< n only at EOF). */
ssize_t fs_read_full(int fd, void *buf, size_t n);
int fs_write_full(int fd, const void *buf, size_t n);

/* mkdir -p. */
int fs_mkdir_p(const char *path, mode_t mode, struct berr **err);

/* Read a whole file of at most max bytes, NUL-terminated. */
int fs_read_file_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
		    struct berr **err);

/* Write data to dirfd/name through a temporary file and rename(2), so
 * readers see the old or the new content, never a mix. fsync when sync. */
int fs_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		       bool sync, struct berr **err);

/* Replace dirfd/name (or create it) through a temporary file that swaps
 * names with it (renameat2 RENAME_EXCHANGE; plain rename when there is
 * nothing to swap with): readers see the old or the new content, never a
 * mix or no file. No fsync, and unlike a rename over the old file ext4
 * starts no writeback either: after a power loss the file may be empty.
 * For run state read back with that in mind (container state, leases),
 * on the container start path. */
int fs_replace_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode, struct berr **err);

/* rm -rf dirfd/name; does not follow symlinks; makes read-only dirs
 * writable as needed. Returns 0 or -errno. Missing is not an error. */
int fs_rm_rf_at(int dirfd, const char *name);

/* Take a flock on dirfd/name (created if missing). op is LOCK_SH or LOCK_EX.
 * Returns the fd that holds the lock. */
int fs_lock_at(int dirfd, const char *name, int op, struct berr **err);

/* A unique temporary name "PREFIX<pid>-<n>-<rand>" (caller frees). */
char *fs_tmp_name(const char *prefix);

/* Apparent size of a tree (sum of st_size of regular files and symlinks),
 * used for image sizes. */
int fs_tree_size_at(int dirfd, const char *name, unsigned long long *ret);

#endif
