/* Progress display for pull and push (a line per layer with a bar on a
 * terminal, plain status lines otherwise, like docker), and the automatic
 * pull of run/create (--pull always|missing|never). */
#include "cli/cli.h"
#include "image/reference.h"
#include "registry/registry.h"
#include "util/cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VIEW_MAX_ROWS 256

struct view_row {
	char id[13];
	char status[96];
	uint64_t cur, total;
	bool bar;
};

struct cli_progress {
	FILE *out;
	bool tty, push, quiet;
	size_t n, drawn;
	struct view_row rows[VIEW_MAX_ROWS];
};

static void human(uint64_t v, char *buf, size_t n)
{
	static const char *const u[] = {"B", "kB", "MB", "GB", "TB"};
	double d = (double)v;
	size_t i = 0;
	while (d >= 1000 && i < 4) {
		d /= 1000;
		i++;
	}
	snprintf(buf, n, "%.4g%s", d, u[i]);
}

static void row_line(const struct view_row *r, char *buf, size_t n)
{
	if (!r->bar) {
		snprintf(buf, n, "%s: %s", r->id, r->status);
		return;
	}
	char bar[56];
	int w = 50, fill = r->total ? (int)((double)r->cur * w / (double)r->total) : 0;
	if (fill > w)
		fill = w;
	bar[0] = '[';
	for (int i = 0; i < w; i++)
		bar[1 + i] = i < fill - 1 ? '=' : (i == fill - 1 ? '>' : ' ');
	bar[w + 1] = ']';
	bar[w + 2] = 0;
	char a[32], b[32];
	human(r->cur, a, sizeof(a));
	human(r->total, b, sizeof(b));
	snprintf(buf, n, "%s: %-12s %s  %s/%s", r->id, r->status, bar, a, b);
}

static void redraw(struct cli_progress *v)
{
	if (v->drawn)
		fprintf(v->out, "\x1b[%zuA", v->drawn);
	char line[256];
	for (size_t i = 0; i < v->n; i++) {
		row_line(&v->rows[i], line, sizeof(line));
		fprintf(v->out, "\r\x1b[2K%s\n", line);
	}
	v->drawn = v->n;
	fflush(v->out);
}

static void on_progress(void *ctx, const struct reg_progress *p)
{
	struct cli_progress *v = ctx;
	if (v->quiet)
		return;
	if (p->ev == REG_EV_PULLING) {
		if (!v->push)
			fprintf(v->out, "%s: Pulling from %s\n", p->id, p->text);
		fflush(v->out);
		return;
	}
	struct view_row *r = NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->rows[i].id, p->id))
			r = &v->rows[i];
	if (!r) {
		if (v->n == VIEW_MAX_ROWS)
			return;
		r = &v->rows[v->n++];
		memset(r, 0, sizeof(*r));
		snprintf(r->id, sizeof(r->id), "%s", p->id);
	}
	const char *st = NULL;
	r->bar = false;
	switch (p->ev) {
	case REG_EV_LAYER_QUEUED: st = v->push ? "Preparing" : "Pulling fs layer"; break;
	case REG_EV_LAYER_EXISTS: st = v->push ? "Layer already exists" : "Already exists"; break;
	case REG_EV_LAYER_BYTES:
		r->cur = p->cur;
		r->total = p->total;
		r->bar = p->total > 0;
		st = v->push ? "Pushing" : "Downloading";
		break;
	case REG_EV_LAYER_VERIFY: st = "Verifying Checksum"; break;
	case REG_EV_LAYER_FETCHED: st = "Download complete"; break;
	case REG_EV_LAYER_DONE: st = v->push ? "Pushed" : "Pull complete"; break;
	case REG_EV_LAYER_MOUNTED: {
		char m[96];
		snprintf(m, sizeof(m), "Mounted from %s", p->text ? p->text : "");
		snprintf(r->status, sizeof(r->status), "%s", m);
		st = r->status;
		break;
	}
	case REG_EV_LAYER_FAILED: st = "Failed"; break;
	default: return;
	}
	if (st != r->status)
		snprintf(r->status, sizeof(r->status), "%s", st);
	if (v->tty) {
		redraw(v);
	} else if (p->ev != REG_EV_LAYER_BYTES && p->ev != REG_EV_LAYER_FAILED) {
		fprintf(v->out, "%s: %s\n", r->id, r->status);
		fflush(v->out);
	}
}

struct cli_progress *cli_progress_new(FILE *out, bool push, bool quiet)
{
	struct cli_progress *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->out = out;
	v->tty = isatty(fileno(out)) && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
	v->push = push;
	v->quiet = quiet;
	return v;
}

void cli_progress_opts(struct cli_progress *v, struct reg_opts *o)
{
	o->progress = on_progress;
	o->progress_ctx = v;
}

static int pull_do(struct cli *c, const char *name, const char *platform, int max_dl, bool quiet,
		   FILE *out, struct berr **err)
{
	struct image_store *s = cli_store(c);
	if (!s)
		return berr_set(err, 0, "cannot open the image store");
	_cleanup_free_ struct cli_progress *v = cli_progress_new(out, false, quiet);
	struct reg_opts o = {.platform = platform, .max_downloads = max_dl};
	if (v)
		cli_progress_opts(v, &o);
	struct reg_pull_result res;
	if (reg_pull(s, name, &o, &res, err) < 0)
		return -1;
	_cleanup_free_ char *fam = image_ref_familiarize(res.ref);
	if (!quiet) {
		fprintf(out, "Digest: %s\n", res.digest);
		fprintf(out, "Status: %s for %s\n", res.up_to_date ? "Image is up to date" : "Downloaded newer image",
			fam ? fam : res.ref);
	}
	if (out == stdout)
		printf("%s\n", res.ref);
	fflush(out);
	reg_pull_result_release(&res);
	return 0;
}

int cli_pull(struct cli *c, const char *name, const char *platform, int max_dl, bool quiet, FILE *out)
{
	struct berr *e = NULL;
	if (pull_do(c, name, platform, max_dl, quiet, out, &e) < 0)
		return cli_fail(e);
	return 0;
}

int cli_pull_for_run(struct cli *c, const char *image, const char *policy, const char *platform)
{
	if (!image)
		return 0;
	if (!policy)
		policy = "missing";
	if (!strcmp(policy, "never"))
		return 0;
	if (strcmp(policy, "missing") && strcmp(policy, "always")) {
		fprintf(stderr, "berth: invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"\n",
			policy);
		return -1;
	}
	struct image_store *s = cli_store(c);
	if (!s)
		return -1;
	if (!strcmp(policy, "missing")) {
		struct berr *e = NULL;
		_cleanup_json_ json_t *idx = image_store_index_read(s, &e);
		_cleanup_free_ char *id = NULL;
		if (idx && image_store_resolve(idx, image, &id, NULL, &e) == 0)
			return 0;
		berr_free(e);
		/* only names can be pulled: a missing ID stays a "No such image" */
		struct image_ref r;
		e = NULL;
		if (image_ref_parse(image, true, &r, &e) < 0) {
			berr_free(e);
			return 0;
		}
		_cleanup_free_ char *full = image_ref_string(&r);
		_cleanup_free_ char *fam = image_ref_familiarize(full);
		image_ref_release(&r);
		fprintf(stderr, "Unable to find image '%s' locally\n", fam ? fam : image);
	}
	struct berr *e = NULL;
	if (pull_do(c, image, platform, 0, false, stderr, &e) == 0)
		return 0;
	if (!strcmp(policy, "missing"))
		fprintf(stderr, "berth: No such image: %s (%s)\n", image, e && e->msg ? e->msg : "pull failed");
	else
		fprintf(stderr, "berth: %s\n", e && e->msg ? e->msg : "pull failed");
	berr_free(e);
	return -1;
}

int cli_content_trust_flag(const char *v)
{
	/* Docker's default too (true): no Notary verification unless asked
	 * for; =false asks for it, which berth cannot do */
	bool disable = true;
	if (v && str_parse_gobool(v, &disable) < 0) {
		fprintf(stderr, "invalid argument \"%s\" for \"--disable-content-trust\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax\n", v, v);
		return 125;
	}
	if (!disable) {
		fprintf(stderr, "Error: --disable-content-trust=false: content trust (Notary signature verification) is not supported by berth\n");
		return 1;
	}
	return 0;
}
