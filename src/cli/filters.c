/* --filter helpers shared by the list commands. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

bool cli_label_match(json_t *labels, const char *want)
{
	const char *eq = strchr(want, '=');
	char k[256];
	snprintf(k, sizeof(k), "%.*s", eq ? (int)(eq - want) : (int)strlen(want), want);
	json_t *v = json_object_get(labels, k);
	if (!v)
		return false;
	return !eq || !strcmp(json_string_value(v) ?: "", eq + 1);
}
