/* `--change` lines for import: the Dockerfile instructions that only touch
 * the image config (what `docker import -c` accepts). */
#include "image/image.h"
#include "util/timefmt.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Split on unquoted whitespace; quotes group, backslash escapes. */
static json_t *split_words(const char *s, struct berr **err, const char *line)
{
	json_t *out = json_array();
	struct sbuf w = SBUF_INIT;
	bool inword = false;
	char q = 0;
	for (const char *p = s;; p++) {
		char c = *p;
		if (!c) {
			if (q) {
				sbuf_release(&w);
				json_decref(out);
				berr_setc(err, BERR_INVALID, "--change \"%s\": unterminated quote", line);
				return NULL;
			}
			if (inword)
				json_array_append_new(out, json_string(sbuf_str(&w)));
			break;
		}
		if (q) {
			if (c == q)
				q = 0;
			else if (c == '\\' && q == '"' && p[1])
				sbuf_addc(&w, *++p);
			else
				sbuf_addc(&w, c);
			continue;
		}
		if (isspace((unsigned char)c)) {
			if (inword) {
				json_array_append_new(out, json_string(sbuf_str(&w)));
				sbuf_reset(&w);
				inword = false;
			}
			continue;
		}
		inword = true;
		if (c == '"' || c == '\'')
			q = c;
		else if (c == '\\' && p[1])
			sbuf_addc(&w, *++p);
		else
			sbuf_addc(&w, c);
	}
	sbuf_release(&w);
	return out;
}

/* JSON (exec) form when the argument is a JSON array of strings, otherwise
 * shell form wrapped in /bin/sh -c. */
static json_t *cmd_form(const char *args, bool shell_wrap)
{
	if (args[0] == '[') {
		json_t *j = json_loads(args, JSON_DECODE_ANY, NULL);
		if (json_is_array(j)) {
			bool ok = true;
			size_t i;
			json_t *v;
			json_array_foreach(j, i, v) ok &= json_is_string(v);
			if (ok)
				return j;
		}
		json_decref(j);
	}
	if (!shell_wrap)
		return NULL;
	return json_pack("[s, s, s]", "/bin/sh", "-c", args);
}

/* "KEY=V KEY2=V2" or the legacy "KEY value with spaces". */
static int key_values(const char *args, const char *line, bool legacy_ok, json_t **ret_pairs,
		      struct berr **err)
{
	json_t *pairs = json_array();
	const char *sp = args + strcspn(args, " \t");
	const char *eq = strchr(args, '=');
	if (legacy_ok && (!eq || eq > sp) && *sp) {
		/* legacy form: first word is the key, the rest the value */
		_cleanup_free_ char *key = strndup(args, (size_t)(sp - args));
		while (isspace((unsigned char)*sp))
			sp++;
		json_array_append_new(pairs, json_pack("[s, s]", key, sp));
		*ret_pairs = pairs;
		return 0;
	}
	_cleanup_json_ json_t *words = split_words(args, err, line);
	if (!words) {
		json_decref(pairs);
		return -1;
	}
	size_t i;
	json_t *w;
	json_array_foreach(words, i, w) {
		const char *s = json_string_value(w);
		const char *e = strchr(s, '=');
		if (!e || e == s) {
			json_decref(pairs);
			return berr_setc(err, BERR_INVALID, "--change \"%s\": \"%s\" is not KEY=VALUE", line, s);
		}
		_cleanup_free_ char *key = strndup(s, (size_t)(e - s));
		json_array_append_new(pairs, json_pack("[s, s]", key, e + 1));
	}
	if (json_array_size(pairs) == 0) {
		json_decref(pairs);
		return berr_setc(err, BERR_INVALID, "--change \"%s\": missing KEY=VALUE", line);
	}
	*ret_pairs = pairs;
	return 0;
}

static int parse_duration_ns(const char *s, json_int_t *ret)
{
	int64_t ns;
	if (time_parse_duration(s, false, &ns) < 0)
		return -1;
	*ret = (json_int_t)ns;
	return 0;
}

static int healthcheck(json_t *cfg, const char *args, const char *line, struct berr **err)
{
	if (!strcasecmp(args, "NONE")) {
		json_object_set_new(cfg, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
		return 0;
	}
	json_t *hc = json_object();
	const char *p = args;
	while (!strncmp(p, "--", 2)) {
		const char *end = p + strcspn(p, " \t");
		_cleanup_free_ char *flag = strndup(p + 2, (size_t)(end - p - 2));
		char *eq = strchr(flag, '=');
		json_int_t v;
		static const struct { const char *flag, *key; } durs[] = {
			{"interval", "Interval"}, {"timeout", "Timeout"},
			{"start-period", "StartPeriod"}, {"start-interval", "StartInterval"}};
		bool done = false;
		if (eq) {
			*eq = 0;
			for (size_t i = 0; i < ARRAY_SIZE(durs); i++) {
				if (strcmp(flag, durs[i].flag))
					continue;
				if (parse_duration_ns(eq + 1, &v) < 0) {
					json_decref(hc);
					return berr_setc(err, BERR_INVALID, "--change \"%s\": bad duration \"%s\"", line, eq + 1);
				}
				json_object_set_new(hc, durs[i].key, json_integer(v));
				done = true;
			}
			if (!strcmp(flag, "retries")) {
				char *e2;
				long r = strtol(eq + 1, &e2, 10);
				if (*e2 || r < 0) {
					json_decref(hc);
					return berr_setc(err, BERR_INVALID, "--change \"%s\": bad retries \"%s\"", line, eq + 1);
				}
				json_object_set_new(hc, "Retries", json_integer(r));
				done = true;
			}
		}
		if (!done) {
			json_decref(hc);
			return berr_setc(err, BERR_INVALID, "--change \"%s\": unknown HEALTHCHECK flag \"--%s\"", line,
					 flag);
		}
		p = end;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (strncasecmp(p, "CMD", 3) || (p[3] && !isspace((unsigned char)p[3]))) {
		json_decref(hc);
		return berr_setc(err, BERR_INVALID, "--change \"%s\": HEALTHCHECK needs NONE or CMD", line);
	}
	p += 3;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p) {
		json_decref(hc);
		return berr_setc(err, BERR_INVALID, "--change \"%s\": HEALTHCHECK CMD needs a command", line);
	}
	json_t *exec = cmd_form(p, false);
	json_t *test;
	if (exec) {
		test = json_pack("[s]", "CMD");
		json_array_extend(test, exec);
		json_decref(exec);
	} else {
		test = json_pack("[s, s]", "CMD-SHELL", p);
	}
	json_object_set_new(hc, "Test", test);
	json_object_set_new(cfg, "Healthcheck", hc);
	return 0;
}

static int expose(json_t *cfg, const char *args, const char *line, struct berr **err)
{
	_cleanup_json_ json_t *words = split_words(args, err, line);
	if (!words)
		return -1;
	json_t *ports = json_object_get(cfg, "ExposedPorts");
	if (!json_is_object(ports)) {
		ports = json_object();
		json_object_set_new(cfg, "ExposedPorts", ports);
	}
	size_t i;
	json_t *w;
	json_array_foreach(words, i, w) {
		const char *s = json_string_value(w);
		char *end;
		long port = strtol(s, &end, 10);
		const char *proto = "tcp";
		if (*end == '/') {
			proto = end + 1;
		} else if (*end) {
			return berr_setc(err, BERR_INVALID, "--change \"%s\": invalid port \"%s\"", line, s);
		}
		if (end == s || port < 1 || port > 65535 ||
		    (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp")))
			return berr_setc(err, BERR_INVALID, "--change \"%s\": invalid port \"%s\"", line, s);
		char key[32];
		snprintf(key, sizeof(key), "%ld/%s", port, proto);
		for (char *k = key; *k; k++)
			*k = (char)tolower((unsigned char)*k);
		json_object_set_new(ports, key, json_object());
	}
	return 0;
}

int image_change_apply(json_t *cfg, const char *line, struct berr **err)
{
	const char *p = line;
	while (isspace((unsigned char)*p))
		p++;
	const char *kend = p;
	while (*kend && !isspace((unsigned char)*kend))
		kend++;
	_cleanup_free_ char *kw = strndup(p, (size_t)(kend - p));
	const char *args = kend;
	while (isspace((unsigned char)*args))
		args++;
	_cleanup_free_ char *a = strdup(args);
	for (size_t n = strlen(a); n > 0 && isspace((unsigned char)a[n - 1]); n--)
		a[n - 1] = 0;
	if (!*kw)
		return berr_setc(err, BERR_INVALID, "--change: empty instruction");
	if (!*a)
		return berr_setc(err, BERR_INVALID, "--change \"%s\": %s requires an argument", line, kw);

	if (!strcasecmp(kw, "CMD") || !strcasecmp(kw, "ENTRYPOINT")) {
		json_object_set_new(cfg, !strcasecmp(kw, "CMD") ? "Cmd" : "Entrypoint", cmd_form(a, true));
	} else if (!strcasecmp(kw, "ENV") || !strcasecmp(kw, "LABEL")) {
		bool env = !strcasecmp(kw, "ENV");
		json_t *pairs;
		if (key_values(a, line, env, &pairs, err) < 0)
			return -1;
		size_t i;
		json_t *kv;
		json_array_foreach(pairs, i, kv) {
			const char *k = json_string_value(json_array_get(kv, 0));
			const char *v = json_string_value(json_array_get(kv, 1));
			if (env) {
				json_t *envs = json_object_get(cfg, "Env");
				if (!json_is_array(envs)) {
					envs = json_array();
					json_object_set_new(cfg, "Env", envs);
				}
				json_t *item = json_sprintf("%s=%s", k, v);
				size_t j, klen = strlen(k);
				json_t *e;
				bool replaced = false;
				json_array_foreach(envs, j, e) {
					const char *es = json_string_value(e);
					if (es && !strncmp(es, k, klen) && es[klen] == '=') {
						json_array_set(envs, j, item);
						replaced = true;
						break;
					}
				}
				if (!replaced)
					json_array_append(envs, item);
				json_decref(item);
			} else {
				json_t *labels = json_object_get(cfg, "Labels");
				if (!json_is_object(labels)) {
					labels = json_object();
					json_object_set_new(cfg, "Labels", labels);
				}
				json_object_set_new(labels, k, json_string(v));
			}
		}
		json_decref(pairs);
	} else if (!strcasecmp(kw, "EXPOSE")) {
		return expose(cfg, a, line, err);
	} else if (!strcasecmp(kw, "WORKDIR")) {
		const char *prev = jsonx_str(cfg, "WorkingDir");
		if (a[0] != '/' && prev && *prev) {
			json_object_set_new(cfg, "WorkingDir", json_sprintf("%s%s%s", prev,
									    prev[strlen(prev) - 1] == '/' ? "" : "/", a));
		} else {
			json_object_set_new(cfg, "WorkingDir", json_string(a));
		}
	} else if (!strcasecmp(kw, "USER")) {
		json_object_set_new(cfg, "User", json_string(a));
	} else if (!strcasecmp(kw, "STOPSIGNAL")) {
		json_object_set_new(cfg, "StopSignal", json_string(a));
	} else if (!strcasecmp(kw, "VOLUME")) {
		json_t *list = cmd_form(a, false);
		if (!list)
			list = split_words(a, err, line);
		if (!list)
			return -1;
		json_t *vols = json_object_get(cfg, "Volumes");
		if (!json_is_object(vols)) {
			vols = json_object();
			json_object_set_new(cfg, "Volumes", vols);
		}
		size_t i;
		json_t *v;
		json_array_foreach(list, i, v) json_object_set_new(vols, json_string_value(v), json_object());
		json_decref(list);
	} else if (!strcasecmp(kw, "ONBUILD")) {
		json_t *ob = json_object_get(cfg, "OnBuild");
		if (!json_is_array(ob)) {
			ob = json_array();
			json_object_set_new(cfg, "OnBuild", ob);
		}
		json_array_append_new(ob, json_string(a));
	} else if (!strcasecmp(kw, "HEALTHCHECK")) {
		return healthcheck(cfg, a, line, err);
	} else {
		return berr_setc(err, BERR_INVALID,
				 "--change \"%s\": %s is not allowed here (allowed: CMD, ENTRYPOINT, ENV, EXPOSE, "
				 "HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)",
				 line, kw);
	}
	return 0;
}
