/* berth compose: flag values as docker compose v2 reads them (--ansi and
 * --progress, --filter of ps and ls, --flag=BOOL, --since/--until, which
 * services an attached up shows). Kept apart from the commands and free of
 * printing so that tests/unit/test-compose-flags.c can call them. */
#include "cli/compose.h"
#include "util/cleanup.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

int compose_parse_bool(const char *v, bool *ret) { return str_parse_gobool(v, ret); }

bool compose_answer_yes(const char *answer)
{
	char buf[16];
	size_t n = 0;
	while (isspace((unsigned char)*answer))
		answer++;
	for (; *answer && n + 1 < sizeof(buf); answer++)
		buf[n++] = (char)tolower((unsigned char)*answer);
	while (n && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = 0;
	bool b = false;
	return !strcmp(buf, "y") || !strcmp(buf, "yes") || (compose_parse_bool(buf, &b) == 0 && b);
}

int compose_ui_resolve(const char *ansi, const char *progress, bool no_color, bool err_tty, bool out_tty,
		       struct compose_ui *ret, struct berr **err)
{
	if (!ansi || !*ansi)
		ansi = "auto";
	if (!progress || !*progress)
		progress = "auto";
	bool never = !strcmp(ansi, "never"), always = !strcmp(ansi, "always");
	/* docker compose takes any --ansi word and treats an unknown one as
	 * "never" for colours; a typo is better told than half applied */
	if (!never && !always && strcmp(ansi, "auto"))
		return berr_setc(err, BERR_INVALID, "invalid --ansi value \"%s\": want \"never\", \"always\" or \"auto\"",
				 ansi);
	bool want_tty;
	*ret = (struct compose_ui){0};
	if (!strcmp(progress, "auto")) {
		want_tty = always || (!never && err_tty);
	} else if (!strcmp(progress, "tty")) {
		if (never)
			return berr_setc(err, BERR_INVALID, "can't use --progress tty while ANSI support is disabled");
		want_tty = true;
	} else if (!strcmp(progress, "plain")) {
		if (always)
			return berr_setc(err, BERR_INVALID, "can't use --progress plain while ANSI support is forced");
		want_tty = false;
	} else if (!strcmp(progress, "quiet") || !strcmp(progress, "none")) {
		ret->progress = COMPOSE_UI_QUIET;
		want_tty = false;
	} else if (!strcmp(progress, "json")) {
		ret->progress = COMPOSE_UI_JSON;
		want_tty = false;
	} else {
		return berr_setc(err, BERR_INVALID, "unsupported --progress value \"%s\"", progress);
	}
	if (ret->progress != COMPOSE_UI_QUIET && ret->progress != COMPOSE_UI_JSON) {
		/* as docker compose: a tty writer needs a terminal, else plain lines */
		ret->progress = want_tty && err_tty ? COMPOSE_UI_TTY : COMPOSE_UI_PLAIN;
		ret->not_console = want_tty && !err_tty;
	}
	ret->color = !no_color && (always || (!never && out_tty));
	ret->progress_color = !no_color;
	return 0;
}

int compose_parse_time(const char *v, struct timespec *ret)
{
	int64_t ns;
	if (*v && time_parse_duration(v, false, &ns) == 0) {
		clock_gettime(CLOCK_REALTIME, ret);
		int64_t t = (int64_t)ret->tv_sec * 1000000000 + ret->tv_nsec - ns;
		ret->tv_sec = (time_t)(t / 1000000000);
		ret->tv_nsec = (long)(t % 1000000000);
		return 0;
	}
	if (time_parse_rfc3339(v, ret) == 0)
		return 0;
	char *end;
	double x = strtod(v, &end);
	if (end != v && !*end && x >= 0) {
		ret->tv_sec = (time_t)x;
		ret->tv_nsec = (long)((x - (double)ret->tv_sec) * 1e9);
		return 0;
	}
	return -1;
}

bool compose_ps_status_valid(const char *s)
{
	static const char *const ok[] = {"paused", "restarting", "removing", "running", "dead", "created", "exited"};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!strcmp(ok[i], s))
			return true;
	return false;
}

int compose_ps_filter(const char *arg, json_t *statuses, struct berr **err)
{
	const char *eq = strchr(arg, '=');
	if (!eq)
		return berr_setc(err, BERR_INVALID, "arguments to --filter should be in form KEY=VAL");
	size_t kl = (size_t)(eq - arg);
	if (kl == 6 && !strncmp(arg, "status", 6)) {
		if (!compose_ps_status_valid(eq + 1))
			return berr_setc(err, BERR_INVALID, "invalid filter 'status=%s'", eq + 1);
		json_array_append_new(statuses, json_string(eq + 1));
		return 0;
	}
	if (kl == 6 && !strncmp(arg, "source", 6))
		return berr_setc(err, BERR_INVALID, "--filter source: not implemented (nor in docker compose)");
	return berr_setc(err, BERR_INVALID, "unknown filter %.*s", (int)kl, arg);
}

int compose_ls_filter_add(json_t *names, const char *arg, struct berr **err)
{
	if (!*arg)
		return 0; /* docker's FilterOpt ignores an empty value */
	const char *eq = strchr(arg, '=');
	if (!eq)
		return berr_setc(err, BERR_INVALID,
				 "invalid argument \"%s\" for \"--filter\" flag: bad format of filter (expected name=value)",
				 arg);
	/* the key is trimmed and lower-cased, the value trimmed, as docker's */
	const char *k = arg, *ke = eq;
	while (k < ke && isspace((unsigned char)*k))
		k++;
	while (ke > k && isspace((unsigned char)ke[-1]))
		ke--;
	char key[64];
	size_t n = 0;
	for (; k < ke && n + 1 < sizeof(key); k++)
		key[n++] = (char)tolower((unsigned char)*k);
	key[n] = 0;
	if (strcmp(key, "name"))
		return berr_setc(err, BERR_INVALID, "invalid filter '%s'", key);
	const char *v = eq + 1, *ve = v + strlen(v);
	while (v < ve && isspace((unsigned char)*v))
		v++;
	while (ve > v && isspace((unsigned char)ve[-1]))
		ve--;
	json_array_append_new(names, json_stringn(v, (size_t)(ve - v)));
	return 0;
}

bool compose_ls_filter_match(json_t *names, const char *project)
{
	if (!json_array_size(names))
		return true;
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v) {
		const char *want = json_string_value(v);
		if (!strcmp(want, project))
			return true;
		/* docker's filters.Args.Match: a value that is no regular
		 * expression only matches exactly */
		regex_t re;
		if (regcomp(&re, want, REG_EXTENDED | REG_NOSUB) != 0)
			continue;
		bool hit = regexec(&re, project, 0, NULL, 0) == 0;
		regfree(&re);
		if (hit)
			return true;
	}
	return false;
}

static bool has(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), s)) return true;
	return false;
}

/* attach: false (or "false" as interpolation leaves it) in the file */
static bool attach_off(json_t *svc)
{
	json_t *a = json_object_get(svc, "attach");
	bool b = true;
	return json_is_false(a) || (json_is_string(a) && compose_parse_bool(json_string_value(a), &b) == 0 && !b);
}

int compose_up_attach(json_t *svcs, json_t *sel, char **named, size_t nnamed, bool attach_deps, json_t *attach,
		      json_t *no_attach, json_t **ret_attach, json_t **ret_required, struct berr **err)
{
	_cleanup_json_ json_t *out = json_array();
	size_t i;
	json_t *v;
	if (json_array_size(attach)) {
		struct sbuf bad = SBUF_INIT;
		json_array_foreach(attach, i, v) {
			if (!has(sel, json_string_value(v)))
				sbuf_addf(&bad, "%s%s", bad.len ? ", " : "", json_string_value(v));
			else if (!has(out, json_string_value(v)))
				json_array_append(out, v);
		}
		if (bad.len) {
			berr_setc(err, BERR_INVALID, "cannot attach to services not included in up: %s", sbuf_str(&bad));
			sbuf_release(&bad);
			return -1;
		}
	} else if (nnamed && !attach_deps) {
		for (size_t k = 0; k < nnamed; k++)
			if (!attach_off(json_object_get(svcs, named[k])) && !has(out, named[k]))
				json_array_append_new(out, json_string(named[k]));
	} else {
		json_array_foreach(sel, i, v) if (!attach_off(json_object_get(svcs, json_string_value(v))))
			json_array_append(out, v);
	}
	json_t *shown = json_array();
	json_array_foreach(out, i, v) if (!has(no_attach, json_string_value(v))) json_array_append(shown, v);
	json_t *req = json_array();
	if (nnamed) {
		for (size_t k = 0; k < nnamed; k++)
			if (!has(req, named[k]))
				json_array_append_new(req, json_string(named[k]));
	} else {
		json_array_extend(req, shown);
	}
	*ret_attach = shown;
	*ret_required = req;
	return 0;
}
