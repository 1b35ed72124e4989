/* Merging compose documents (several -f files, override files, extends):
 * mappings merge key by key, sequences are appended, scalars are replaced.
 * Exceptions, as docker compose does it: command, entrypoint and
 * healthcheck.test are replaced whole; list-or-mapping fields
 * (environment, labels, ...) are merged as mappings; ports, volumes,
 * secrets and configs are de-duplicated (volumes/secrets/configs by their
 * target, the later one winning in place); `!reset` in the later file
 * removes the attribute, `!override` replaces it without merging.
 *
 * Both inputs are left untouched; results are new values whose nodes keep
 * the marks (file:line) of the nodes they came from. */
#include "compose/internal.h"
#include "util/cleanup.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static unsigned flags_of(struct cmarks *m, const json_t *v)
{
	unsigned f = 0;
	cmarks_get(m, v, NULL, NULL, &f);
	return f;
}

/* path patterns use '/' between levels so '*' stays within one level */
static bool pm(const char *path, const char *pat) { return fnmatch(pat, path, FNM_PATHNAME) == 0; }

static const char *const seq_as_map[] = {
	"services/*/environment", "services/*/labels", "services/*/annotations", "services/*/build/args",
	"services/*/build/labels", "services/*/build/additional_contexts", "services/*/sysctls",
	"services/*/deploy/labels", "networks/*/labels", "volumes/*/labels", "secrets/*/labels",
	"configs/*/labels", "services/*/volumes/*/volume/labels", "networks/*/driver_opts",
	"volumes/*/driver_opts", "services/*/logging/options",
};

static const char *const replaced[] = {
	"services/*/command", "services/*/entrypoint", "services/*/healthcheck/test",
};

/* "K=V" / "K" list -> mapping; a mapping is returned as a copy. Values
 * stay as written (normalize turns them into strings). */
static json_t *list_to_map(struct cmarks *m, json_t *v)
{
	if (!json_is_array(v))
		return cm_dup(m, v);
	json_t *o = json_object();
	cmarks_copy(m, o, v);
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			continue;
		const char *s = json_string_value(e);
		const char *eq = strchr(s, '=');
		if (eq) {
			_cleanup_free_ char *k = strndup(s, (size_t)(eq - s));
			json_t *val = json_string(eq + 1);
			cmarks_copy(m, val, e);
			json_object_set_new(o, k, val);
		} else {
			json_object_set_new(o, s, json_null());
		}
	}
	return o;
}

/* The target a volume/secret/config entry is identified by. */
static char *entry_key(const json_t *e, bool volume)
{
	if (json_is_object(e)) {
		const char *t = json_string_value(json_object_get(e, "target"));
		if (t)
			return strdup(t);
		const char *s = json_string_value(json_object_get(e, "source"));
		return s ? strdup(s) : NULL;
	}
	if (!json_is_string(e))
		return NULL;
	const char *s = json_string_value(e);
	if (!volume)
		return strdup(s);
	/* SRC:DST[:MODE] or DST */
	const char *c1 = strchr(s, ':');
	if (!c1)
		return strdup(s);
	const char *c2 = strchr(c1 + 1, ':');
	return c2 ? strndup(c1 + 1, (size_t)(c2 - c1 - 1)) : strdup(c1 + 1);
}

static json_t *merge_by_key(struct cmarks *m, json_t *base, json_t *over, bool volume)
{
	json_t *r = cm_dup(m, base);
	size_t i;
	json_t *e;
	json_array_foreach(over, i, e)
	{
		_cleanup_free_ char *k = entry_key(e, volume);
		bool done = false;
		for (size_t j = 0; k && j < json_array_size(r); j++) {
			_cleanup_free_ char *k2 = entry_key(json_array_get(r, j), volume);
			if (k2 && !strcmp(k, k2)) {
				json_array_set_new(r, j, cm_dup(m, e));
				done = true;
				break;
			}
		}
		if (!done)
			json_array_append_new(r, cm_dup(m, e));
	}
	return r;
}

static json_t *append_unique(struct cmarks *m, json_t *base, json_t *over)
{
	json_t *r = cm_dup(m, base);
	size_t i;
	json_t *e;
	json_array_foreach(over, i, e)
	{
		bool dup = false;
		for (size_t j = 0; j < json_array_size(r) && !dup; j++)
			dup = json_equal(json_array_get(r, j), e);
		if (!dup)
			json_array_append_new(r, cm_dup(m, e));
	}
	return r;
}

static json_t *as_list(struct cmarks *m, json_t *v)
{
	if (json_is_array(v))
		return cm_dup(m, v);
	json_t *a = json_array();
	cmarks_copy(m, a, v);
	json_array_append_new(a, cm_dup(m, v));
	return a;
}

/* service-level networks and depends_on: a list of names is a mapping of
 * names to null */
static json_t *names_to_map(struct cmarks *m, json_t *v)
{
	if (!json_is_array(v))
		return cm_dup(m, v);
	json_t *o = json_object();
	cmarks_copy(m, o, v);
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) if (json_is_string(e)) json_object_set_new(o, json_string_value(e), json_null());
	return o;
}

static json_t *without_resets(struct cmarks *m, json_t *v)
{
	json_t *c = cm_dup(m, v);
	compose_drop_resets(m, c);
	return c;
}

static json_t *merge_at(struct cmarks *m, const char *path, json_t *base, json_t *over);

static json_t *merge_objects(struct cmarks *m, const char *path, json_t *base, json_t *over)
{
	json_t *r = cm_dup(m, base);
	const char *k;
	json_t *x;
	json_object_foreach(over, k, x)
	{
		_cleanup_free_ char *sub = NULL;
		if (asprintf(&sub, "%s%s%s", path, *path ? "/" : "", k) < 0)
			continue;
		if (flags_of(m, x) & CM_RESET) {
			json_object_del(r, k);
			continue;
		}
		json_t *b = json_object_get(r, k);
		json_t *n = b ? merge_at(m, sub, b, x) : without_resets(m, x);
		if (n)
			json_object_set_new(r, k, n);
		else
			json_object_del(r, k);
	}
	return r;
}

static json_t *merge_at(struct cmarks *m, const char *path, json_t *base, json_t *over)
{
	unsigned f = flags_of(m, over);
	if (f & CM_RESET)
		return NULL;
	if (f & CM_OVERRIDE) {
		json_t *c = without_resets(m, over);
		cmarks_clear_flags(m, c);
		return c;
	}
	for (size_t i = 0; i < ARRAY_SIZE(replaced); i++)
		if (pm(path, replaced[i]))
			return without_resets(m, over);
	for (size_t i = 0; i < ARRAY_SIZE(seq_as_map); i++)
		if (pm(path, seq_as_map[i])) {
			_cleanup_json_ json_t *b = list_to_map(m, base);
			_cleanup_json_ json_t *o = list_to_map(m, over);
			return merge_objects(m, path, b, o);
		}
	if (pm(path, "services/*/networks") || pm(path, "services/*/depends_on")) {
		_cleanup_json_ json_t *b = names_to_map(m, base);
		_cleanup_json_ json_t *o = names_to_map(m, over);
		return merge_objects(m, path, b, o);
	}
	if (pm(path, "services/*/build") && (json_is_string(base) || json_is_string(over))) {
		_cleanup_json_ json_t *b = json_is_string(base) ? json_pack("{sO}", "context", base) : json_incref(base);
		_cleanup_json_ json_t *o = json_is_string(over) ? json_pack("{sO}", "context", over) : json_incref(over);
		return merge_objects(m, path, b, o);
	}
	if (pm(path, "services/*/logging") && json_is_object(base) && json_is_object(over)) {
		json_t *bd = json_object_get(base, "driver"), *od = json_object_get(over, "driver");
		if (bd && od && !json_equal(bd, od))
			return without_resets(m, over);
	}
	if (pm(path, "services/*/ulimits/*") && !(json_is_object(base) && json_is_object(over)))
		return without_resets(m, over);
	if (pm(path, "services/*/volumes") && json_is_array(base) && json_is_array(over))
		return merge_by_key(m, base, over, true);
	if ((pm(path, "services/*/secrets") || pm(path, "services/*/configs")) && json_is_array(base) &&
	    json_is_array(over))
		return merge_by_key(m, base, over, false);
	if (pm(path, "services/*/dns") || pm(path, "services/*/dns_search") || pm(path, "services/*/dns_opt") ||
	    pm(path, "services/*/env_file") || pm(path, "services/*/tmpfs") || pm(path, "services/*/label_file")) {
		_cleanup_json_ json_t *b = as_list(m, base);
		_cleanup_json_ json_t *o = as_list(m, over);
		return append_unique(m, b, o);
	}
	if (json_is_object(base) && json_is_object(over))
		return merge_objects(m, path, base, over);
	if (json_is_array(base) && json_is_array(over))
		return append_unique(m, base, over);
	return without_resets(m, over);
}

json_t *compose_merge(struct cmarks *m, json_t *base, json_t *over)
{
	if (!json_is_object(base))
		return without_resets(m, over);
	if (!json_is_object(over))
		return cm_dup(m, base);
	return merge_objects(m, "", base, over);
}

json_t *compose_merge_service(struct cmarks *m, json_t *base, json_t *over)
{
	_cleanup_json_ json_t *b = json_pack("{s{sO}}", "services", "x", base);
	_cleanup_json_ json_t *o = json_pack("{s{sO}}", "services", "x", over);
	_cleanup_json_ json_t *r = merge_objects(m, "", b, o);
	json_t *s = json_object_get(json_object_get(r, "services"), "x");
	return json_incref(s);
}

void compose_drop_resets(struct cmarks *m, json_t *doc)
{
	if (json_is_object(doc)) {
		const char *k;
		json_t *x;
		void *tmp;
		json_object_foreach_safe(doc, tmp, k, x)
		{
			unsigned f = flags_of(m, x);
			if (f & CM_RESET)
				json_object_del(doc, k);
			else
				compose_drop_resets(m, x);
		}
	} else if (json_is_array(doc)) {
		for (size_t i = 0; i < json_array_size(doc);) {
			json_t *x = json_array_get(doc, i);
			if (flags_of(m, x) & CM_RESET) {
				json_array_remove(doc, i);
				continue;
			}
			compose_drop_resets(m, x);
			i++;
		}
	}
}
