/* Label selectors (selector.h). */
#include "kube/selector.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonx.h"

bool kube_map_match(const json_t *map, const json_t *labels)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)map, k, v) {
		const char *have = jsonx_str(labels, k);
		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return false;
	}
	return true;
}

static bool in_values(const json_t *values, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(values, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), s)) return true;
	return false;
}

bool kube_selector_match(const json_t *sel, const json_t *labels)
{
	if (!kube_map_match(json_object_get(sel, "matchLabels"), labels))
		return false;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *key = jsonx_str(e, "key"), *op = jsonx_str(e, "operator");
		if (!key || !op)
			return false;
		const char *have = jsonx_str(labels, key);
		const json_t *vals = json_object_get(e, "values");
		if (!strcmp(op, "In")) {
			if (!have || !in_values(vals, have))
				return false;
		} else if (!strcmp(op, "NotIn")) {
			if (have && in_values(vals, have))
				return false;
		} else if (!strcmp(op, "Exists")) {
			if (!have)
				return false;
		} else if (!strcmp(op, "DoesNotExist")) {
			if (have)
				return false;
		} else
			return false;
	}
	return true;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* One requirement of a -l string. -1 malformed, 0 no match, 1 match. */
static int requirement(char *r, const json_t *labels)
{
	r = trim(r);
	if (!*r)
		return -1;
	if (*r == '!') {
		char *k = trim(r + 1);
		return *k ? !jsonx_str(labels, k) : -1;
	}
	char *p;
	if ((p = strstr(r, " notin ")) || (p = strstr(r, " in "))) {
		bool notin = !strncmp(p, " notin ", 7);
		*p = 0;
		char *key = trim(r), *rest = trim(p + (notin ? 7 : 4));
		size_t n = strlen(rest);
		if (!*key || n < 2 || rest[0] != '(' || rest[n - 1] != ')')
			return -1;
		rest[n - 1] = 0;
		const char *have = jsonx_str(labels, key);
		bool found = false;
		char *save, *t = strtok_r(rest + 1, ",", &save);
		for (; t; t = strtok_r(NULL, ",", &save))
			if (have && !strcmp(trim(t), have))
				found = true;
		return notin ? !found : found;
	}
	if ((p = strstr(r, "!="))) {
		*p = 0;
		const char *have = jsonx_str(labels, trim(r));
		return !have || strcmp(have, trim(p + 2));
	}
	if ((p = strstr(r, "=="))) {
		*p = 0;
		const char *have = jsonx_str(labels, trim(r));
		return have && !strcmp(have, trim(p + 2));
	}
	if ((p = strchr(r, '='))) {
		*p = 0;
		const char *have = jsonx_str(labels, trim(r));
		return have && !strcmp(have, trim(p + 1));
	}
	return jsonx_str(labels, r) != NULL;
}

bool kube_selector_string_match(const char *s, const json_t *labels, const char **ret_err)
{
	*ret_err = NULL;
	char *copy = strdup(s);
	bool ok = true;
	/* split on commas outside parentheses */
	char *start = copy;
	int depth = 0;
	for (char *p = copy;; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		if ((*p == ',' && depth == 0) || !*p) {
			bool end = !*p;
			*p = 0;
			int m = requirement(start, labels);
			if (m < 0) {
				*ret_err = "unable to parse requirement";
				ok = false;
				break;
			}
			if (!m)
				ok = false;
			if (end)
				break;
			start = p + 1;
		}
	}
	free(copy);
	return ok;
}

bool kube_condition_true(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		const char *t = jsonx_str(c, "type"), *s = jsonx_str(c, "status");
		if (t && s && !strcmp(t, type))
			return !strcmp(s, "True");
	}
	return false;
}
