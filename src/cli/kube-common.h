/* What the kube commands share: object references as kubectl prints
 * them, and the namespaces a command acts on. */
#pragma once
#include <stddef.h>

/* "deployment.apps/web", "service/web" (kubectl's apply/delete lines). */
void kube_ref_string(const char *kind, const char *name, char *buf, size_t n);
