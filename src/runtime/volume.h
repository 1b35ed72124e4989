/* Named and anonymous volumes ("local" driver only).
 *
 * $ROOT/volumes/<name>/_data      the volume's content (bind-mounted)
 * $ROOT/volumes/<name>/meta.json  {Name, CreatedAt, Labels, Options}
 * $ROOT/volumes/<name>/copied-up  present once the first mount populated
 *                                 the volume (or decided not to)
 *
 * A volume appears by rename(2) of a complete temporary directory, so a
 * concurrent create of the same name yields one volume and both succeed.
 * Containers record their volumes in config.json "MountPoints" (Docker's
 * inspect shape plus "NoCopy"). */
#ifndef BERTH_RUNTIME_VOLUME_H
#define BERTH_RUNTIME_VOLUME_H

#include <jansson.h>
#include <stdbool.h>

#include "util/err.h"

#define VOLUME_ANON_LABEL "com.docker.volume.anonymous"

bool volume_name_valid(const char *name);
/* Create (or find) a volume. name NULL: a random 64-hex name. labels and
 * opts may be NULL. ret_name gets the name. An existing volume is success. */
int volume_create(const char *root, const char *name, json_t *labels, json_t *opts, char ret_name[256],
		  struct berr **err);
/* Docker's `volume inspect` object; BERR_NOT_FOUND "no such volume". */
json_t *volume_inspect(const char *root, const char *name, struct berr **err);
/* All volume names, sorted. */
json_t *volume_list(const char *root);
/* IDs of containers (running or not) whose config uses the volume. */
json_t *volume_users(const char *root, const char *name);
/* Remove an unused volume: BERR_CONFLICT "volume is in use - [id...]". */
int volume_remove(const char *root, const char *name, struct berr **err);
/* For a container config being created: resolve HostConfig.Binds entries
 * naming a volume, HostConfig.Mounts of Type volume, and the anonymous
 * volumes of extra_vols (request Config.Volumes) and image_vols (the
 * image's Volumes, skipped where a mount covers the path). Creates the
 * volumes and sets cfg "MountPoints". On failure the anonymous volumes
 * made are removed again. */
int volume_setup_container(const char *root, json_t *cfg, json_t *extra_vols, json_t *image_vols, struct berr **err);
/* Remove the anonymous volumes of a (removed) container config. */
void volume_remove_anonymous(const char *root, json_t *cfg);
/* Copy-up into an empty volume dir: copy the tree at `path` inside rootfd
 * (resolved in the root) into dst_dir, keeping modes, owners and times;
 * never follows symlinks. 0 or -errno. */
int volume_copy_up(int rootfd, const char *path, const char *dst_dir);

#endif
