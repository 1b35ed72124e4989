/* Shared by the kube commands (kube-common.h). */
#include "cli/kube-common.h"

#include <stdio.h>

#include "kube/manifest.h"

void kube_ref_string(const char *kind, const char *name, char *buf, size_t n)
{
	char lk[64];
	size_t i = 0;
	for (; kind && kind[i] && i < sizeof(lk) - 1; i++)
		lk[i] = (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] + 32 : kind[i]);
	lk[i] = 0;
	const char *group = kind ? kube_kind_group(kind) : NULL;
	snprintf(buf, n, "%s%s%s/%s", lk, group && *group ? "." : "", group ? group : "", name ? name : "");
}
