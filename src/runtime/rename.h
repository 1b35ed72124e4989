/* Renaming a container: the new name is reserved first (symlinkat makes
 * it unique), config.json's "Name" is replaced under the container lock,
 * then the old name goes; a failure in between leaves the old name. */
#ifndef BERTH_RUNTIME_RENAME_H
#define BERTH_RUNTIME_RENAME_H

#include "runtime/container.h"
#include "util/err.h"

/* newname may have Docker's leading '/'. Errors as Docker's: invalid name
 * (BERR_INVALID), same name, name in use (BERR_CONFLICT). */
int ctr_rename(struct ctr_store *s, const char *id, const char *newname, struct berr **err);

#endif
