/* The steps that make a layer: RUN (in a container, run.c), COPY and ADD
 * (context, heredoc, --from stage or image, URL sources; copy.c and
 * fetch.c write the layer) and WORKDIR's directory. Each derives its cache
 * key from what it depends on, takes a cache hit or makes its layer and
 * commits the stage. */
#include "builder/btar.h"
#include "builder/build-int.h"
#include "builder/ignore.h"
#include "builder/shlex.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *argv_text(json_t *a)
{
	struct sbuf sb = SBUF_INIT;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (i)
			sbuf_addc(&sb, ' ');
		sbuf_adds(&sb, json_string_value(v));
	}
	return sbuf_detach(&sb);
}

const char *const binstr_proxy_args[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
					 "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
					 "ALL_PROXY",  "all_proxy",  NULL};

int binstr_run(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err)
{
	static const char *const allowed[] = {"network", "mount", "security", NULL};
	if (bstep_check_flags(b, n, allowed, err) < 0)
		return -1;
	if (bstep_flag_val(n, "mount"))
		return bstep_line_err(b, n, err, "RUN --mount is not supported by berth yet");
	const char *net = bstep_flag_val(n, "network");
	if (!net)
		net = b->o->network ? b->o->network : "default";
	if (strcmp(net, "default") && strcmp(net, "none") && strcmp(net, "host"))
		return bstep_line_err(b, n, err, "RUN --network=%s: want default, none or host", net);
	if (n->nargs == 0 && n->nheredocs == 0)
		return bstep_line_err(b, n, err, "RUN requires at least one argument");
	json_t *argv;
	if (n->nheredocs && !n->json) {
		/* RUN <<EOF: the body is the script */
		argv = bstep_shell_of(s);
		struct sbuf sb = SBUF_INIT;
		for (size_t i = 0; i < n->nheredocs; i++)
			sbuf_adds(&sb, n->heredocs[i].content);
		json_array_append_new(argv, json_string(sbuf_str(&sb)));
		sbuf_release(&sb);
	} else {
		argv = bstep_cmd_argv(s, n);
	}
	/* the environment: ENV, then the build args in scope (not kept in the image) */
	json_t *env = json_deep_copy(json_object_get(bstep_cfg_of(s), "Env"));
	if (!json_is_array(env)) {
		json_decref(env);
		env = json_array();
	}
	const char *k;
	json_t *v;
	struct sbuf argenv = SBUF_INIT;
	json_object_foreach(s->args, k, v) {
		if (!json_is_string(v) || bstep_env_get(json_object_get(bstep_cfg_of(s), "Env"), k))
			continue;
		bstep_env_set(env, k, json_string_value(v));
		sbuf_addf(&argenv, "%s=%s\n", k, json_string_value(v));
	}
	for (size_t i = 0; binstr_proxy_args[i]; i++) {
		json_t *pv = json_object_get(b->buildargs, binstr_proxy_args[i]);
		if (json_is_string(pv) && !json_object_get(s->args, binstr_proxy_args[i]))
			bstep_env_set(env, binstr_proxy_args[i], json_string_value(pv));
	}
	_cleanup_free_ char *text = argv_text(argv);
	_cleanup_free_ char *keytext = NULL;
	_cleanup_free_ char *cfgtext = jsonx_dumps(bstep_cfg_of(s), 1);
	_cleanup_free_ char *argvj = jsonx_dumps(argv, 0);
	if (asprintf(&keytext, "RUN %s\n%s\nnetwork=%s\n%s", argvj ? argvj : text, sbuf_str(&argenv), net,
		     cfgtext ? cfgtext : "") < 0)
		keytext = NULL;
	bstep_key_step(s->key, keytext ? keytext : text, NULL);
	sbuf_release(&argenv);
	int rc = -1;
	_cleanup_free_ char *title = NULL;
	{
		_cleanup_free_ char *j = n->json ? jsonx_dumps(argv, 0) : bstep_join_args(n);
		if (asprintf(&title, "RUN %s", j ? j : "") < 0)
			title = NULL;
	}
	s->step++;
	bprog_start(&b->prog, "[%s%s%d/%d] %s", s->label, *s->label ? " " : "", s->step, s->nsteps, title ? title : "RUN");
	if (bstep_cache_hit(b, s, err)) {
		bprog_cached(&b->prog);
		rc = 0;
		goto out;
	}
	/* the container needs an image: commit what the stage has so far */
	if ((s->dirty || !*s->id)) {
		char save[65];
		memcpy(save, s->key, 65);
		/* a pre-RUN snapshot has its own key */
		bstep_key_step(s->key, "snapshot", NULL);
		int r = bstep_commit_stage(b, s, NULL, err);
		memcpy(s->key, save, 65);
		if (r < 0)
			goto out;
	}
	const char *user = jsonx_str(bstep_cfg_of(s), "User");
	const char *wd = jsonx_str(bstep_cfg_of(s), "WorkingDir");
	struct brun r = {.image_id = s->id, .argv = argv, .env = env, .user = user, .workdir = wd, .network = net,
			 .epoch = b->epoch};
	struct layer_stage ls = {0};
	int code = -1;
	if (brun_exec(b->is, b->cs, &b->prog, &r, &ls, &code, err) < 0) {
		if (code >= 0) {
			_cleanup_free_ char *tail = bprog_tail(&b->prog);
			_cleanup_free_ char *ex = dockerfile_excerpt(b->df, n->start_line, n->end_line);
			berr_setc(err, BERR_INVALID, "%s:%d: %s: process \"%s\" did not complete successfully: exit code: %d%s%s%s",
				  b->dfname, n->start_line, title ? title : "RUN", text, code, ex ? ex : "",
				  tail && *tail ? "\nlast lines of its output:\n" : "", tail ? tail : "");
		} else {
			bstep_line_err(b, n, err, "RUN");
		}
		bprog_error(&b->prog, (*err)->msg);
		goto out;
	}
	{
		_cleanup_free_ char *hist = NULL;
		if (asprintf(&hist, "RUN %s # buildkit", text) < 0)
			hist = NULL;
		bstep_add_history(b, s, hist ? hist : "RUN", false);
	}
	if (bstep_commit_stage(b, s, &ls, err) < 0) {
		layer_stage_release(b->is, &ls);
		json_array_remove(json_object_get(s->img, "history"), json_array_size(json_object_get(s->img, "history")) - 1);
		goto out;
	}
	layer_stage_release(b->is, &ls);
	bprog_done(&b->prog);
	rc = 0;
out:
	json_decref(argv);
	json_decref(env);
	return rc;
}

static int parse_chmod(const char *v, int *ret)
{
	char *end;
	long m = strtol(v, &end, 8);
	if (!*v || *end || m < 0 || m > 07777)
		return -1;
	*ret = (int)m;
	return 0;
}

/* The .dockerignore filter for context sources. */
static bool ctx_ignored(void *ctx, const char *relpath, bool is_dir)
{
	struct bctx *b = ctx;
	(void)is_dir;
	if (!b->ignore)
		return false;
	/* an excluded directory that an exception may re-enter is still walked */
	return dockerignore_excluded(b->ignore, relpath) && dockerignore_can_skip_dir(b->ignore, relpath);
}

/* "<<EOF", "<<-EOF", "<<'EOF'", "<<\"EOF\"": the delimiter; else NULL. Points
 * into a static buffer. */
static const char *heredoc_source_name(const char *arg)
{
	static char name[256];
	if (strncmp(arg, "<<", 2))
		return NULL;
	const char *p = arg + 2;
	if (*p == '-')
		p++;
	size_t l = strlen(p);
	if (l >= 2 && (p[0] == '\'' || p[0] == '"') && p[l - 1] == p[0]) {
		p++;
		l -= 2;
	}
	if (!l || l >= sizeof(name))
		return NULL;
	memcpy(name, p, l);
	name[l] = 0;
	return name;
}

/* The heredoc bodies as files in a fresh directory under the store's tmp/
 * (the COPY then reads it as its context): names[i] is the i-th heredoc's
 * delimiter, its body expanded unless the delimiter was quoted. */
static int heredoc_dir(struct bctx *b, struct stage *s, const struct df_node *n, char **names, size_t nnames,
		       int *ret_fd, char **ret_name, struct berr **err)
{
	if (nnames != n->nheredocs)
		return bstep_line_err(b, n, err, "%zu heredoc sources but %zu heredoc bodies", nnames, n->nheredocs);
	char *dname = fs_tmp_name("heredoc-");
	if (!dname)
		return berr_set(err, ENOMEM, "COPY");
	if (mkdirat(b->is->tmpfd, dname, 0700) < 0) {
		free(dname);
		return berr_set(err, errno, "creating a directory in %s/tmp", b->is->root);
	}
	int dfd = openat(b->is->tmpfd, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	int rc = dfd < 0 ? berr_set(err, errno, "opening %s/tmp/%s", b->is->root, dname) : 0;
	for (size_t i = 0; i < nnames && rc == 0; i++) {
		const struct df_heredoc *h = &n->heredocs[i];
		if (strcmp(names[i], h->name) || strchr(h->name, '/') || !strcmp(h->name, ".") || !strcmp(h->name, "..")) {
			rc = bstep_line_err(b, n, err, "heredoc <<%s: not usable as a file name", h->name);
			break;
		}
		_cleanup_free_ char *body = NULL;
		if (h->expand) {
			/* variables only: quotes and backslashes stay as written */
			char **env = bstep_expand_env(b, s);
			struct shlex_opts so = {.escape = b->df->escape, .raw_quotes = true, .raw_escapes = true};
			rc = shlex_process(h->content, strlen(h->content), &so, (const char *const *)env, &body, NULL, NULL, err);
			bstep_strv_free(env);
			if (rc < 0) {
				rc = bstep_line_err(b, n, err, "heredoc <<%s", h->name);
				break;
			}
		}
		const char *data = body ? body : h->content;
		int fd = openat(dfd, h->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			rc = errno == EEXIST ? bstep_line_err(b, n, err, "heredoc <<%s given twice", h->name)
					     : berr_set(err, errno, "writing heredoc <<%s", h->name);
			break;
		}
		if (fchmod(fd, 0644) < 0 || fs_write_full(fd, data, strlen(data)) < 0)
			rc = berr_set(err, errno, "writing heredoc <<%s", h->name);
		close(fd);
	}
	if (rc < 0) {
		if (dfd >= 0)
			close(dfd);
		fs_rm_rf_at(b->is->tmpfd, dname);
		free(dname);
		return -1;
	}
	*ret_fd = dfd;
	*ret_name = dname;
	return 0;
}

int binstr_copy(struct bctx *b, struct stage *s, const struct df_node *n, struct berr **err)
{
	bool add = !strcmp(n->cmd, "add");
	static const char *const callowed[] = {"from", "chown", "chmod", "link", "parents", "exclude", NULL};
	static const char *const aallowed[] = {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", NULL};
	if (bstep_check_flags(b, n, add ? aallowed : callowed, err) < 0)
		return -1;
	if (n->nargs < 2 && !(n->nheredocs && n->nargs >= 1))
		return bstep_line_err(b, n, err, "%s requires at least two arguments, but only one was provided. Destination could not be determined", add ? "ADD" : "COPY");
	if (n->nheredocs && bstep_flag_val(n, "from"))
		return bstep_line_err(b, n, err, "%s --from cannot take a heredoc source", add ? "ADD" : "COPY");
	if (bstep_flag_val(n, "exclude") || bstep_flag_val(n, "parents"))
		return bstep_line_err(b, n, err, "--exclude and --parents are not supported by berth yet");
	struct bcopy c = {.add = add, .ctxfd = b->ctxfd, .ignored = ctx_ignored, .ignore_ctx = b, .layers_dir = b->layers_dir,
			  .chmod = -1, .epoch = b->epoch, .statcache_dir = b->statdir};
	int rc = -1;
	char **srcs = NULL;
	size_t nsrcs = 0;
	_cleanup_free_ char *dest = NULL, *from_id_text = NULL;
	_cleanup_free_ char *chown = NULL, *rawdest = NULL;
	struct sbuf keyt = SBUF_INIT;
	_cleanup_free_ char *title = NULL;
	int hdfd = -1;
	_cleanup_free_ char *hdname = NULL;
	const char *fromv = bstep_flag_val(n, "from");
	const char *chmodv = bstep_flag_val(n, "chmod");
	const char *chownv = bstep_flag_val(n, "chown");
	if (chmodv && parse_chmod(chmodv, &c.chmod) < 0) {
		bstep_line_err(b, n, err, "invalid chmod parameter: %s (want an octal mode)", chmodv);
		goto out;
	}
	if (chownv) {
		if (bstep_expand(b, s, n, chownv, &chown, err) < 0)
			goto out;
		c.chown = chown;
	}
	/* sources and dest: each word expanded (a word stays one path) */
	srcs = calloc(n->nargs, sizeof(char *));
	if (!srcs) {
		berr_set(err, ENOMEM, "COPY");
		goto out;
	}
	for (size_t i = 0; i + 1 < n->nargs; i++) {
		if (n->nheredocs) {
			/* COPY <<EOF /dest: the sources are the heredocs, each a file
			 * named after its delimiter */
			const char *hn = heredoc_source_name(n->args[i]);
			if (!hn) {
				bstep_line_err(b, n, err, "%s: mixing heredocs with context files (%s) is not supported by berth yet",
					       add ? "ADD" : "COPY", n->args[i]);
				goto out;
			}
			if (!(srcs[nsrcs] = strdup(hn))) {
				berr_set(err, ENOMEM, "COPY");
				goto out;
			}
			nsrcs++;
			continue;
		}
		if (bstep_expand(b, s, n, n->args[i], &srcs[nsrcs], err) < 0)
			goto out;
		nsrcs++;
	}
	if (n->nheredocs) {
		if (heredoc_dir(b, s, n, srcs, nsrcs, &hdfd, &hdname, err) < 0)
			goto out;
		c.ctxfd = hdfd;
		c.ignored = NULL;
		c.statcache_dir = NULL; /* a new temp dir each time: nothing to remember */
	}
	if (bstep_expand(b, s, n, n->args[n->nargs - 1], &rawdest, err) < 0)
		goto out;
	{
		const char *wd = jsonx_str(bstep_cfg_of(s), "WorkingDir");
		size_t l = strlen(rawdest);
		c.dest_dir = nsrcs > 1 || (l && rawdest[l - 1] == '/') || (l && rawdest[l - 1] == '.' && (l == 1 || rawdest[l - 2] == '/'));
		char joined[PATH_MAX], clean[PATH_MAX];
		if (rawdest[0] == '/')
			snprintf(joined, sizeof(joined), "%s", rawdest + 1);
		else
			snprintf(joined, sizeof(joined), "%s/%s", wd && *wd ? wd + 1 : "", rawdest);
		if (bpath_clean(joined, clean, sizeof(clean)) < 0)
			snprintf(clean, sizeof(clean), ".");
		if (asprintf(&dest, "/%s", strcmp(clean, ".") ? clean : "") < 0) {
			berr_set(err, ENOMEM, "COPY");
			goto out;
		}
		if (!strcmp(dest, "/"))
			c.dest_dir = true;
	}
	c.srcs = srcs;
	c.nsrcs = nsrcs;
	c.dest = dest;
	c.dst_lower = bstep_lowerdir_of(b, s->layers);
	for (size_t i = 0; i < nsrcs; i++) {
		if (!add && (!strncmp(srcs[i], "http://", 7) || !strncmp(srcs[i], "https://", 8))) {
			bstep_line_err(b, n, err, "source can't be a URL for COPY");
			goto out;
		}
		if (add && (!strncmp(srcs[i], "http://", 7) || !strncmp(srcs[i], "https://", 8)) && nsrcs > 1) {
			bstep_line_err(b, n, err, "ADD of a URL takes one source (%s)", srcs[i]);
			goto out;
		}
		if (add && !strncmp(srcs[i], "git@", 4)) {
			bstep_line_err(b, n, err, "ADD from a git repository is not supported by berth yet");
			goto out;
		}
	}
	sbuf_addf(&keyt, "%s", add ? "ADD" : "COPY");
	for (size_t i = 0; i < n->nflags; i++)
		sbuf_addf(&keyt, " %s", n->flags[i]);
	for (size_t i = 0; i < nsrcs; i++)
		sbuf_addf(&keyt, " %s", srcs[i]);
	sbuf_addf(&keyt, " %s%s", dest, c.dest_dir ? "/" : "");
	{
		_cleanup_free_ char *j = bstep_join_args(n);
		struct sbuf t = SBUF_INIT;
		sbuf_adds(&t, add ? "ADD" : "COPY");
		for (size_t i = 0; i < n->nflags; i++)
			sbuf_addf(&t, " %s", n->flags[i]);
		sbuf_addf(&t, " %s", j);
		title = sbuf_detach(&t);
	}
	s->step++;
	bprog_start(&b->prog, "[%s%s%d/%d] %s", s->label, *s->label ? " " : "", s->step, s->nsteps, title);
	if (fromv) {
		size_t self = (size_t)(s - b->st);
		struct stage *src = bstage_find(b, fromv, self);
		json_t *layers = NULL;
		_cleanup_json_ json_t *img = NULL;
		if (src) {
			if (!src->done) {
				bstep_line_err(b, n, err, "--from=%s: the stage was not built", fromv);
				goto out;
			}
			layers = src->layers;
			if (asprintf(&from_id_text, "from=%s", *src->id ? src->id : "scratch") < 0)
				from_id_text = NULL;
		} else {
			_cleanup_json_ json_t *idx = image_store_index_read(b->is, err);
			_cleanup_free_ char *id = NULL;
			struct berr *e2 = NULL;
			if (!idx || image_store_resolve(idx, fromv, &id, NULL, &e2) < 0 || bstep_load_image(b, id, &img, err) < 0) {
				berr_free(e2);
				berr_freep(err);
				bstep_line_err(b, n, err, "COPY --from=%s: no build stage or image by that name (images are not pulled)", fromv);
				goto out;
			}
			layers = json_object_get(json_object_get(img, "rootfs"), "diff_ids");
			if (asprintf(&from_id_text, "from=%s", id) < 0)
				from_id_text = NULL;
		}
		c.from = true;
		c.ctxfd = -1;
		c.src_lower = bstep_lowerdir_of(b, layers);
		sbuf_addf(&keyt, "\n%s", from_id_text ? from_id_text : "");
	} else if (add && nsrcs == 1 && (!strncmp(srcs[0], "http://", 7) || !strncmp(srcs[0], "https://", 8))) {
		/* hashed after the download */
	} else {
		char hex[65];
		if (bcopy_hash(&c, hex, err) < 0) {
			bstep_line_err(b, n, err, "%s failed", add ? "ADD" : "COPY");
			bprog_error(&b->prog, (*err)->msg);
			goto out;
		}
		sbuf_addf(&keyt, "\ncontent=%s", hex);
	}
	struct layer_stage ls = {0};
	if (add && nsrcs == 1 && (!strncmp(srcs[0], "http://", 7) || !strncmp(srcs[0], "https://", 8))) {
		/* downloaded every build; the cache key is the content */
		int ufd = -1;
		char hex[65];
		int64_t mtime = 0;
		if (bfetch_url(b->is, srcs[0], bstep_flag_val(n, "checksum"), &ufd, hex, &mtime, err) < 0) {
			bstep_line_err(b, n, err, "ADD failed");
			bprog_error(&b->prog, (*err)->msg);
			goto out;
		}
		sbuf_addf(&keyt, "\nurl-content=%s mtime=%lld", hex, (long long)mtime);
		bstep_key_step(s->key, sbuf_str(&keyt), NULL);
		if (bstep_cache_hit(b, s, err)) {
			close(ufd);
			bprog_cached(&b->prog);
			rc = 0;
			goto out;
		}
		struct btar_opts bo = {.epoch = b->epoch, .chmod = c.chmod, .chmod_dirs = true};
		if (chown) {
			char *end;
			unsigned long u = strtoul(chown, &end, 10), g = u;
			if (*end == ':')
				g = strtoul(end + 1, &end, 10);
			if (*end || !*chown) {
				close(ufd);
				bstep_line_err(b, n, err, "ADD --chown=%s of a URL: give numeric ids", chown);
				goto out;
			}
			bo.chown = true;
			bo.uid = u;
			bo.gid = g;
		}
		int r = bfetch_layer(b->is, ufd, srcs[0], dest, c.dest_dir, mtime, &bo, &ls, err);
		close(ufd);
		if (r < 0) {
			bstep_line_err(b, n, err, "ADD failed");
			bprog_error(&b->prog, (*err)->msg);
			goto out;
		}
		goto commit;
	}
	bstep_key_step(s->key, sbuf_str(&keyt), NULL);
	if (bstep_cache_hit(b, s, err)) {
		bprog_cached(&b->prog);
		rc = 0;
		goto out;
	}
	if (bcopy_layer(b->is, &c, &ls, err) < 0) {
		bstep_line_err(b, n, err, "%s failed", add ? "ADD" : "COPY");
		bprog_error(&b->prog, (*err)->msg);
		goto out;
	}
commit:
	{
		_cleanup_free_ char *hist = NULL;
		if (asprintf(&hist, "%s # buildkit", title) < 0)
			hist = NULL;
		bstep_add_history(b, s, hist ? hist : "COPY", false);
	}
	if (bstep_commit_stage(b, s, &ls, err) < 0) {
		layer_stage_release(b->is, &ls);
		goto out;
	}
	layer_stage_release(b->is, &ls);
	bprog_done(&b->prog);
	rc = 0;
out:
	if (hdfd >= 0) {
		close(hdfd);
		fs_rm_rf_at(b->is->tmpfd, hdname);
	}
	sbuf_release(&keyt);
	for (size_t i = 0; i < nsrcs; i++)
		free(srcs[i]);
	free(srcs);
	free(c.dst_lower);
	free(c.src_lower);
	return rc;
}

/* WORKDIR after its config change (hist: "WORKDIR /abs"): the directory is
 * made in the image as Docker's builders do, a layer when it was missing
 * (owned by USER), an empty-layer history entry when it was there. The
 * check mounts the image, so it is a cached step like COPY. */
int binstr_workdir(struct bctx *b, struct stage *s, const char *hist, struct berr **err)
{
	const char *wd = jsonx_str(bstep_cfg_of(s), "WorkingDir");
	const char *user = jsonx_str(bstep_cfg_of(s), "User");
	s->step++;
	bprog_start(&b->prog, "[%s%s%d/%d] %s", s->label, *s->label ? " " : "", s->step, s->nsteps, hist);
	_cleanup_free_ char *keyt = NULL;
	if (asprintf(&keyt, "%s\nuser=%s", hist, user ? user : "") < 0)
		return berr_set(err, ENOMEM, "WORKDIR");
	bstep_key_step(s->key, keyt, NULL);
	if (!wd || !strcmp(wd, "/")) {
		bstep_add_history(b, s, hist, true);
		s->dirty = true;
		bprog_done(&b->prog);
		return 0;
	}
	if (bstep_cache_hit(b, s, err)) {
		bprog_cached(&b->prog);
		return 0;
	}
	struct bcopy c = {.ctxfd = -1, .layers_dir = b->layers_dir, .chmod = -1, .epoch = b->epoch, .dest = wd,
			  .chown = user && *user ? user : NULL};
	c.dst_lower = bstep_lowerdir_of(b, s->layers);
	struct layer_stage ls = {0};
	bool made = false;
	int r = bcopy_workdir_layer(b->is, &c, &ls, &made, err);
	free(c.dst_lower);
	if (r < 0) {
		bprog_error(&b->prog, (*err)->msg);
		return -1;
	}
	bstep_add_history(b, s, hist, !made);
	if (bstep_commit_stage(b, s, made ? &ls : NULL, err) < 0) {
		if (made)
			layer_stage_release(b->is, &ls);
		json_array_remove(json_object_get(s->img, "history"), json_array_size(json_object_get(s->img, "history")) - 1);
		bprog_error(&b->prog, (*err)->msg);
		return -1;
	}
	if (made)
		layer_stage_release(b->is, &ls);
	bprog_done(&b->prog);
	return 0;
}
