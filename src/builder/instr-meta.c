/* The instructions that only change the image config: ENV, LABEL,
 * MAINTAINER, EXPOSE, USER, WORKDIR (the path; instr-layer.c makes the
 * directory), STOPSIGNAL, VOLUME, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and
 * ONBUILD, and ARG (the stage's variables). Each writes the history's
 * created_by text; stages.c records it and extends the cache key. */
#include "builder/build-int.h"
#include "util/cleanup.h"
#include "util/jsonx.h"
#include "util/strbuf.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int do_healthcheck(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err)
{
	static const char *const allowed[] = {"interval", "timeout", "start-period", "start-interval", "retries", NULL};
	if (bstep_check_flags(b, n, allowed, err) < 0)
		return -1;
	if (n->nargs == 0)
		return bstep_line_err(b, n, err, "HEALTHCHECK requires an argument");
	json_t *hc = json_object();
	if (!strcasecmp(n->args[0], "none")) {
		if (n->nargs > 1 || n->nflags) {
			json_decref(hc);
			return bstep_line_err(b, n, err, "HEALTHCHECK NONE takes no arguments");
		}
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
	} else if (!strcasecmp(n->args[0], "cmd")) {
		if (n->nargs < 2) {
			json_decref(hc);
			return bstep_line_err(b, n, err, "HEALTHCHECK CMD requires a command");
		}
		json_t *t = json_array();
		if (n->json) {
			json_array_append_new(t, json_string("CMD"));
			for (size_t i = 1; i < n->nargs; i++)
				json_array_append_new(t, json_string(n->args[i]));
		} else {
			json_array_append_new(t, json_string("CMD-SHELL"));
			struct sbuf sb = SBUF_INIT;
			for (size_t i = 1; i < n->nargs; i++) {
				if (i > 1)
					sbuf_addc(&sb, ' ');
				sbuf_adds(&sb, n->args[i]);
			}
			json_array_append_new(t, json_string(sbuf_str(&sb)));
			sbuf_release(&sb);
		}
		json_object_set_new(hc, "Test", t);
		static const char *const durs[][2] = {{"interval", "Interval"}, {"timeout", "Timeout"},
						      {"start-period", "StartPeriod"}, {"start-interval", "StartInterval"}};
		for (size_t i = 0; i < ARRAY_SIZE(durs); i++) {
			const char *v = bstep_flag_val(n, durs[i][0]);
			int64_t ns;
			if (!v)
				continue;
			if (time_parse_duration(v, false, &ns) < 0 || ns < 0) {
				json_decref(hc);
				return bstep_line_err(b, n, err, "invalid --%s value \"%s\"", durs[i][0], v);
			}
			json_object_set_new(hc, durs[i][1], json_integer(ns));
		}
		const char *r = bstep_flag_val(n, "retries");
		if (r) {
			char *end;
			long rv = strtol(r, &end, 10);
			if (*end || rv < 0) {
				json_decref(hc);
				return bstep_line_err(b, n, err, "invalid --retries value \"%s\"", r);
			}
			json_object_set_new(hc, "Retries", json_integer(rv));
		}
	} else {
		json_decref(hc);
		return bstep_line_err(b, n, err, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", n->args[0]);
	}
	json_object_set_new(bstep_cfg_of(s), "Healthcheck", hc);
	return 0;
}

/* Metadata instruction: change the config; created_by for the history. */
int binstr_meta(struct bctx *b, struct stage *s, const struct df_node *n, struct sbuf *hist, struct berr **err)
{
	json_t *c = bstep_cfg_of(s);
	const char *cmd = n->cmd;
	if (strcmp(cmd, "healthcheck") && strcmp(cmd, "cmd") && strcmp(cmd, "entrypoint") && bstep_check_flags(b, n, NULL, err) < 0)
		return -1;
	if (!strcmp(cmd, "env") || !strcmp(cmd, "label")) {
		bool env = !strcmp(cmd, "env");
		if (n->nargs == 0 || n->nargs % 3)
			return bstep_line_err(b, n, err, "%s requires at least one argument", env ? "ENV" : "LABEL");
		sbuf_adds(hist, env ? "ENV" : "LABEL");
		/* every value sees the environment from before the instruction:
		 * `ENV abc=bye def=$abc` gives def the old abc, as in Docker */
		size_t np = n->nargs / 3;
		char **ks = calloc(np, sizeof(char *)), **vs = calloc(np, sizeof(char *));
		int rc = 0;
		if (!ks || !vs)
			rc = berr_set(err, ENOMEM, "%s", n->cmd);
		for (size_t q = 0; q < np && rc == 0; q++) {
			if (bstep_expand(b, s, n, n->args[3 * q], &ks[q], err) < 0 || bstep_expand(b, s, n, n->args[3 * q + 1], &vs[q], err) < 0)
				rc = -1;
			else if (!*ks[q])
				rc = bstep_line_err(b, n, err, "%s names can not be blank", env ? "ENV" : "LABEL");
		}
		for (size_t q = 0; q < np && rc == 0; q++) {
			const char *k = ks[q], *v = vs[q];
			sbuf_addf(hist, " %s=%s", k, v);
			if (env) {
				json_t *e = json_object_get(c, "Env");
				if (!json_is_array(e))
					json_object_set_new(c, "Env", e = json_array());
				bstep_env_set(e, k, v);
			} else {
				json_t *l = json_object_get(c, "Labels");
				if (!json_is_object(l))
					json_object_set_new(c, "Labels", l = json_object());
				json_object_set_new(l, k, json_string(v));
			}
		}
		for (size_t q = 0; q < np; q++) {
			free(ks ? ks[q] : NULL);
			free(vs ? vs[q] : NULL);
		}
		free(ks);
		free(vs);
		return rc;
	}
	if (!strcmp(cmd, "maintainer")) {
		_cleanup_free_ char *j = bstep_join_args(n);
		json_object_set_new(s->img, "author", json_string(j));
		sbuf_addf(hist, "MAINTAINER %s", j);
		return 0;
	}
	if (!strcmp(cmd, "expose")) {
		json_t *p = json_object_get(c, "ExposedPorts");
		if (!json_is_object(p))
			json_object_set_new(c, "ExposedPorts", p = json_object());
		sbuf_adds(hist, "EXPOSE map[");
		for (size_t i = 0; i < n->nargs; i++) {
			_cleanup_free_ char *v = NULL;
			if (bstep_expand(b, s, n, n->args[i], &v, err) < 0)
				return -1;
			char *slash = strchr(v, '/');
			const char *proto = slash ? slash + 1 : "tcp";
			if (slash)
				*slash = 0;
			char *end;
			long port = strtol(v, &end, 10);
			long hi = port;
			if (*end == '-')
				hi = strtol(end + 1, &end, 10);
			if (*end || port < 1 || hi > 65535 || hi < port ||
			    (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp")))
				return bstep_line_err(b, n, err, "invalid containerPort: %s", n->args[i]);
			for (long q = port; q <= hi; q++) {
				char key[40];
				snprintf(key, sizeof(key), "%ld/%s", q, proto);
				for (char *x = key; *x; x++)
					*x = (char)tolower((unsigned char)*x);
				json_object_set_new(p, key, json_object());
				sbuf_addf(hist, "%s%s:{}", i || q > port ? " " : "", key);
			}
		}
		sbuf_addc(hist, ']');
		return 0;
	}
	if (!strcmp(cmd, "user") || !strcmp(cmd, "workdir") || !strcmp(cmd, "stopsignal")) {
		if (n->nargs != 1)
			return bstep_line_err(b, n, err, "%s requires exactly one argument", !strcmp(cmd, "user") ? "USER" : !strcmp(cmd, "workdir") ? "WORKDIR" : "STOPSIGNAL");
		_cleanup_free_ char *v = NULL;
		if (bstep_expand(b, s, n, n->args[0], &v, err) < 0)
			return -1;
		if (!strcmp(cmd, "user")) {
			json_object_set_new(c, "User", json_string(v));
			sbuf_addf(hist, "USER %s", v);
		} else if (!strcmp(cmd, "stopsignal")) {
			json_object_set_new(c, "StopSignal", json_string(v));
			sbuf_addf(hist, "STOPSIGNAL %s", v);
		} else {
			const char *cur = jsonx_str(c, "WorkingDir");
			char joined[PATH_MAX], clean[PATH_MAX];
			if (v[0] == '/')
				snprintf(joined, sizeof(joined), "%s", v);
			else
				snprintf(joined, sizeof(joined), "%s/%s", cur && *cur ? cur : "/", v);
			if (bpath_clean(joined + 1, clean, sizeof(clean)) < 0)
				snprintf(clean, sizeof(clean), ".");
			char final[PATH_MAX + 1];
			snprintf(final, sizeof(final), "/%s", strcmp(clean, ".") ? clean : "");
			json_object_set_new(c, "WorkingDir", json_string(final));
			sbuf_addf(hist, "WORKDIR %s", final);
		}
		return 0;
	}
	if (!strcmp(cmd, "volume")) {
		json_t *vo = json_object_get(c, "Volumes");
		if (!json_is_object(vo))
			json_object_set_new(c, "Volumes", vo = json_object());
		sbuf_adds(hist, "VOLUME [");
		for (size_t i = 0; i < n->nargs; i++) {
			char **words = NULL;
			size_t nw = 0;
			if (n->json) {
				char *v = NULL;
				if (bstep_expand(b, s, n, n->args[i], &v, err) < 0)
					return -1;
				words = calloc(2, sizeof(char *));
				if (words)
					words[0] = v;
				nw = words ? 1 : 0;
			} else if (bstep_expand_words(b, s, n, n->args[i], &words, &nw, err) < 0) {
				return -1;
			}
			for (size_t k = 0; k < nw; k++) {
				if (!*words[k]) {
					bstep_strv_free(words);
					return bstep_line_err(b, n, err, "VOLUME specified can not be an empty string");
				}
				json_object_set_new(vo, words[k], json_object());
				sbuf_addf(hist, "%s%s", i || k ? " " : "", words[k]);
			}
			bstep_strv_free(words);
		}
		sbuf_addc(hist, ']');
		if (n->nargs == 0)
			return bstep_line_err(b, n, err, "VOLUME requires at least one argument");
		return 0;
	}
	if (!strcmp(cmd, "cmd") || !strcmp(cmd, "entrypoint") || !strcmp(cmd, "shell")) {
		if (bstep_check_flags(b, n, NULL, err) < 0)
			return -1;
		if (!strcmp(cmd, "shell")) {
			if (!n->json || n->nargs == 0)
				return bstep_line_err(b, n, err, "SHELL requires the arguments to be in JSON form");
			json_object_set_new(c, "Shell", bstep_strs_json(n->args, n->nargs));
			_cleanup_free_ char *t = jsonx_dumps(json_object_get(c, "Shell"), 0);
			sbuf_addf(hist, "SHELL %s", t);
			return 0;
		}
		json_t *a = bstep_cmd_argv(s, n);
		_cleanup_free_ char *t = jsonx_dumps(a, 0);
		sbuf_addf(hist, "%s %s", !strcmp(cmd, "cmd") ? "CMD" : "ENTRYPOINT", t);
		if (!strcmp(cmd, "cmd")) {
			json_object_set_new(c, "Cmd", a);
		} else {
			json_object_set_new(c, "Entrypoint", a);
			/* Docker: ENTRYPOINT resets the CMD set before it */
			json_object_set_new(c, "Cmd", json_null());
		}
		return 0;
	}
	if (!strcmp(cmd, "healthcheck")) {
		if (do_healthcheck(b, s, n, err) < 0)
			return -1;
		_cleanup_free_ char *t = jsonx_dumps(json_object_get(c, "Healthcheck"), 0);
		sbuf_addf(hist, "HEALTHCHECK %s", t);
		return 0;
	}
	if (!strcmp(cmd, "onbuild")) {
		if (!n->inner)
			return bstep_line_err(b, n, err, "ONBUILD requires at least one argument");
		const char *ic = n->inner->cmd;
		if (!strcmp(ic, "onbuild") || !strcmp(ic, "from") || !strcmp(ic, "maintainer"))
			return bstep_line_err(b, n, err, "%s isn't allowed as an ONBUILD trigger", ic);
		json_t *ob = json_object_get(c, "OnBuild");
		if (!json_is_array(ob))
			json_object_set_new(c, "OnBuild", ob = json_array());
		/* the trigger as written, after "ONBUILD " */
		const char *orig = n->original;
		const char *p = orig;
		while (*p && !isspace((unsigned char)*p))
			p++;
		while (*p && isspace((unsigned char)*p))
			p++;
		json_array_append_new(ob, json_string(p));
		sbuf_addf(hist, "ONBUILD %s", p);
		return 0;
	}
	return bstep_line_err(b, n, err, "unknown instruction: %s", cmd);
}

int binstr_arg(struct bctx *b, struct stage *s, const struct df_node *n, struct sbuf *hist, struct berr **err)
{
	if (n->nargs == 0)
		return bstep_line_err(b, n, err, "ARG requires at least one argument");
	sbuf_adds(hist, "ARG");
	for (size_t i = 0; i < n->nargs; i++) {
		_cleanup_free_ char *name = strdup(n->args[i]);
		if (!name)
			return berr_set(err, ENOMEM, "ARG");
		char *eq = strchr(name, '=');
		_cleanup_free_ char *def = NULL;
		if (eq) {
			*eq = 0;
			if (bstep_expand(b, s, n, eq + 1, &def, err) < 0)
				return -1;
		}
		if (!*name)
			return bstep_line_err(b, n, err, "ARG names can not be blank");
		json_t *given = json_object_get(b->buildargs, name);
		json_t *val;
		if (given)
			val = json_incref(given);
		else if (def)
			val = json_string(def);
		else
			val = json_null();
		/* an ARG inside a stage with no default takes the global one */
		if (!given && !def && json_is_string(json_object_get(b->meta, name)) && s->args != b->meta) {
			json_decref(val);
			val = json_incref(json_object_get(b->meta, name));
		}
		json_object_set_new(s->args, name, val);
		json_object_set_new(b->used_args, name, json_true());
		if (json_is_string(val))
			sbuf_addf(hist, " %s=%s", name, json_string_value(val));
		else
			sbuf_addf(hist, " %s", name);
	}
	return 0;
}
