/* berth load: docker-archive (manifest.json) and OCI image layout
 * (index.json) tars, read in one streaming pass. Layers are recognized by
 * their first bytes and staged (extracted into tmp/) as they stream by;
 * JSON files are kept in memory. At the end the manifests decide which
 * staged layers become images; everything is checked before anything is
 * committed, so a bad archive leaves the store as it was. */
#include "image/image.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/hash.h"
#include "util/jsonx.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SMALL_FILE (1u << 20)
#define MAX_MEM_TOTAL (256u << 20)

struct mem_file {
	char *name;
	char *data;
	size_t len;
};

struct staged {
	char *name;
	struct layer_stage st;
};

struct link {
	char *name, *target;
};

struct load_ctx {
	struct image_store *s;
	const char *what;
	struct mem_file *files;
	size_t nfiles;
	struct staged *layers;
	size_t nlayers;
	struct link *links;
	size_t nlinks;
	size_t mem_total;
};

static void load_ctx_release(struct load_ctx *c)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		free(c->files[i].name);
		free(c->files[i].data);
	}
	free(c->files);
	for (size_t i = 0; i < c->nlayers; i++) {
		layer_stage_release(c->s, &c->layers[i].st);
		free(c->layers[i].name);
	}
	free(c->layers);
	for (size_t i = 0; i < c->nlinks; i++) {
		free(c->links[i].name);
		free(c->links[i].target);
	}
	free(c->links);
}

/* Collapse "a/./b/../c" (used for legacy symlinked layer.tar entries). */
static char *clean_path(const char *base_dir, const char *rel)
{
	char buf[PATH_MAX];
	if (rel[0] == '/')
		snprintf(buf, sizeof(buf), "%s", rel + 1);
	else if (base_dir && *base_dir)
		snprintf(buf, sizeof(buf), "%s/%s", base_dir, rel);
	else
		snprintf(buf, sizeof(buf), "%s", rel);
	char *parts[256];
	int np = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			if (np > 0)
				np--;
			continue;
		}
		if (np < 256)
			parts[np++] = t;
	}
	char out[PATH_MAX];
	size_t o = 0;
	out[0] = 0;
	for (int i = 0; i < np; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? "/" : "", parts[i]);
	return strdup(out);
}

static const char *resolve_name(struct load_ctx *c, const char *name)
{
	for (int hop = 0; hop < 8; hop++) {
		size_t i;
		for (i = 0; i < c->nlinks; i++)
			if (!strcmp(c->links[i].name, name))
				break;
		if (i == c->nlinks)
			return name;
		name = c->links[i].target;
	}
	return name;
}

static struct mem_file *find_file(struct load_ctx *c, const char *name)
{
	name = resolve_name(c, name);
	for (size_t i = 0; i < c->nfiles; i++)
		if (!strcmp(c->files[i].name, name))
			return &c->files[i];
	return NULL;
}

static struct staged *find_layer(struct load_ctx *c, const char *name)
{
	name = resolve_name(c, name);
	for (size_t i = 0; i < c->nlayers; i++)
		if (!strcmp(c->layers[i].name, name))
			return &c->layers[i];
	return NULL;
}

struct entry_src {
	struct archive *a;
	const char *pre;
	size_t prelen, prepos;
	char errmsg[256];
};

static ssize_t entry_read(void *opaque, void *buf, size_t n)
{
	struct entry_src *e = opaque;
	if (e->prepos < e->prelen) {
		size_t k = e->prelen - e->prepos;
		if (k > n)
			k = n;
		memcpy(buf, e->pre + e->prepos, k);
		e->prepos += k;
		return (ssize_t)k;
	}
	la_ssize_t r = archive_read_data(e->a, buf, n);
	if (r < 0) {
		snprintf(e->errmsg, sizeof(e->errmsg), "%s",
			 archive_error_string(e->a) ? archive_error_string(e->a) : "read error");
		errno = archive_errno(e->a) > 0 ? archive_errno(e->a) : EIO;
		return -1;
	}
	return r;
}

static bool looks_like_layer(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return true; /* gzip */
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return true; /* zstd */
	if (n >= 262 && !memcmp(p + 257, "ustar", 5))
		return true;
	if (n == 512) {
		for (size_t i = 0; i < n; i++)
			if (p[i])
				return false;
		return true; /* an empty tar: end-of-archive blocks only */
	}
	return false;
}

static bool looks_like_json(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
			continue;
		return p[i] == '{' || p[i] == '[';
	}
	return false;
}

static int read_entry(struct load_ctx *c, struct archive *a, struct archive_entry *e,
		      struct berr **err)
{
	const char *raw = archive_entry_pathname(e);
	if (!raw)
		return 0;
	_cleanup_free_ char *name = clean_path(NULL, raw);
	mode_t type = archive_entry_filetype(e);
	if (type == AE_IFLNK || (archive_entry_hardlink(e) && type != AE_IFDIR)) {
		const char *t = archive_entry_symlink(e);
		char *target;
		if (t) {
			_cleanup_free_ char *dir = strdup(name);
			char *sl = strrchr(dir, '/');
			if (sl)
				*sl = 0;
			else
				dir[0] = 0;
			target = clean_path(dir, t);
		} else {
			target = clean_path(NULL, archive_entry_hardlink(e));
		}
		struct link *nl = realloc(c->links, (c->nlinks + 1) * sizeof(*nl));
		if (!nl) {
			free(target);
			return berr_set(err, ENOMEM, "loading");
		}
		c->links = nl;
		c->links[c->nlinks].name = steal_pointer(&name);
		c->links[c->nlinks++].target = target;
		return 0;
	}
	if (type != AE_IFREG)
		return 0;

	char pre[512];
	size_t prelen = 0;
	while (prelen < sizeof(pre)) {
		la_ssize_t r = archive_read_data(a, pre + prelen, sizeof(pre) - prelen);
		if (r < 0)
			return berr_setc(err, BERR_INVALID, "%s: reading %s: %s", c->what, name,
					 archive_error_string(a));
		if (r == 0)
			break;
		prelen += (size_t)r;
	}

	if (looks_like_layer((unsigned char *)pre, prelen)) {
		const char *expect = NULL;
		char digest[72];
		if (!strncmp(name, "blobs/sha256/", 13) && hex64_is_valid(name + 13)) {
			snprintf(digest, sizeof(digest), "sha256:%s", name + 13);
			expect = digest;
		}
		struct staged *nl = realloc(c->layers, (c->nlayers + 1) * sizeof(*nl));
		if (!nl)
			return berr_set(err, ENOMEM, "loading");
		c->layers = nl;
		struct entry_src src = {.a = a, .pre = pre, .prelen = prelen};
		_cleanup_free_ char *what = NULL;
		if (asprintf(&what, "%s: layer %s", c->what, name) < 0)
			return berr_set(err, ENOMEM, "loading");
		struct layer_stage st;
		if (layer_stage_stream(c->s, entry_read, &src, what, expect, &st, err) < 0) {
			/* The archive itself is damaged: that is the cause, whatever
			 * the layer was doing when its data ran out. */
			if (src.errmsg[0])
				berr_setc(err, BERR_INVALID, "%s: %s", what, src.errmsg);
			return -1;
		}
		c->layers[c->nlayers].name = steal_pointer(&name);
		c->layers[c->nlayers++].st = st;
		return 0;
	}

	bool json = looks_like_json(pre, prelen);
	size_t limit = json ? STORE_MAX_JSON : MAX_SMALL_FILE;
	int64_t size = archive_entry_size(e);
	if (size > (int64_t)limit || c->mem_total + (size_t)(size > 0 ? size : 0) > MAX_MEM_TOTAL) {
		if (json)
			return berr_setc(err, BERR_INVALID, "%s: %s is too large for image metadata (%lld bytes)",
					 c->what, name, (long long)size);
		return 0; /* unknown large file: not ours, skip (libarchive drains it) */
	}
	char *data = malloc((size_t)(size > 0 ? size : 0) + prelen + 1);
	if (!data)
		return berr_set(err, ENOMEM, "loading");
	memcpy(data, pre, prelen);
	size_t len = prelen;
	for (;;) {
		la_ssize_t r = archive_read_data(a, data + len, (size_t)size + prelen - len);
		if (r < 0) {
			free(data);
			return berr_setc(err, BERR_INVALID, "%s: reading %s: %s", c->what, name,
					 archive_error_string(a));
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len >= (size_t)size + prelen)
			break;
	}
	data[len] = 0;
	struct mem_file *nf = realloc(c->files, (c->nfiles + 1) * sizeof(*nf));
	if (!nf) {
		free(data);
		return berr_set(err, ENOMEM, "loading");
	}
	c->files = nf;
	c->files[c->nfiles].name = steal_pointer(&name);
	c->files[c->nfiles].data = data;
	c->files[c->nfiles++].len = len;
	c->mem_total += len;
	return 0;
}

/* One image to commit after every check passed. */
struct pending {
	struct image_new in;
	struct layer_stage **layers;
	json_t *tags;
};

static void pending_release(struct pending *p)
{
	free(p->layers);
	json_decref(p->tags);
}

static int add_tag(json_t *tags, const char *t, const char *what, struct berr **err)
{
	struct image_ref r;
	if (image_ref_parse(t, true, &r, err) < 0)
		return berr_wrap(err, "%s: tag \"%s\"", what, t);
	_cleanup_free_ char *full = image_ref_string(&r);
	bool has_digest = r.digest != NULL;
	image_ref_release(&r);
	if (has_digest)
		return berr_setc(err, BERR_INVALID, "%s: tag \"%s\" must not contain a digest", what, t);
	json_array_append_new(tags, json_string(full));
	return 0;
}

static int plan_docker(struct load_ctx *c, struct mem_file *mf, struct pending **ret, size_t *ret_n,
		       struct berr **err)
{
	_cleanup_json_ json_t *man = jsonx_parse(mf->data, mf->len, "manifest.json", err);
	if (!man)
		return berr_wrap(err, "%s", c->what);
	if (!json_is_array(man) || json_array_size(man) == 0)
		return berr_setc(err, BERR_INVALID, "%s: manifest.json: expected a non-empty array", c->what);
	size_t n = json_array_size(man);
	struct pending *p = calloc(n, sizeof(*p));
	if (!p)
		return berr_set(err, ENOMEM, "loading");
	*ret = p;
	*ret_n = n;
	for (size_t i = 0; i < n; i++) {
		json_t *item = json_array_get(man, i);
		const char *cfgname = jsonx_str(item, "Config");
		json_t *layers = json_object_get(item, "Layers");
		if (!cfgname || !json_is_array(layers))
			return berr_setc(err, BERR_INVALID, "%s: manifest.json[%zu]: missing Config or Layers",
					 c->what, i);
		struct mem_file *cf = find_file(c, cfgname);
		if (!cf)
			return berr_setc(err, BERR_INVALID, "%s: manifest.json[%zu]: config %s is not in the archive",
					 c->what, i, cfgname);
		if (!strncmp(cf->name, "blobs/sha256/", 13)) {
			char d[72];
			sha256_digest_of(cf->data, cf->len, d);
			if (strcmp(d + 7, cf->name + 13))
				return berr_setc(err, BERR_INVALID, "%s: config %s: digest mismatch (content is %s)",
						 c->what, cfgname, d);
		}
		p[i].in.config = cf->data;
		p[i].in.config_len = cf->len;
		size_t nl = json_array_size(layers);
		p[i].layers = calloc(nl + 1, sizeof(*p[i].layers));
		for (size_t j = 0; j < nl; j++) {
			const char *ln = json_string_value(json_array_get(layers, j));
			struct staged *sl = ln ? find_layer(c, ln) : NULL;
			if (!sl)
				return berr_setc(err, BERR_INVALID,
						 "%s: layer %s listed in manifest.json is not in the archive (or is not a tar)",
						 c->what, ln ? ln : "(not a string)");
			p[i].layers[j] = &sl->st;
		}
		p[i].in.layers = p[i].layers;
		p[i].in.nlayers = nl;
		p[i].tags = json_array();
		size_t k;
		json_t *t;
		json_array_foreach(json_object_get(item, "RepoTags"), k, t) {
			if (!json_is_string(t))
				return berr_setc(err, BERR_INVALID, "%s: manifest.json[%zu]: RepoTags must be strings",
						 c->what, i);
			if (add_tag(p[i].tags, json_string_value(t), c->what, err) < 0)
				return -1;
		}
		p[i].in.tags = p[i].tags;
		if (image_new_check(&p[i].in, err) < 0)
			return berr_wrap(err, "%s: image %s", c->what, cfgname);
	}
	return 0;
}

static struct mem_file *oci_blob(struct load_ctx *c, const char *digest, struct berr **err)
{
	if (!digest || !digest_is_valid(digest)) {
		berr_setc(err, BERR_INVALID, "%s: invalid digest \"%s\"", c->what, digest ? digest : "");
		return NULL;
	}
	char name[100];
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	struct mem_file *f = find_file(c, name);
	if (!f) {
		berr_setc(err, BERR_INVALID, "%s: blob %s is not in the archive", c->what, digest);
		return NULL;
	}
	char d[72];
	sha256_digest_of(f->data, f->len, d);
	if (strcmp(d, digest)) {
		berr_setc(err, BERR_INVALID, "%s: blob %s: digest mismatch (content is %s)", c->what, digest, d);
		return NULL;
	}
	return f;
}

static bool is_index_type(const char *mt)
{
	return mt && (!strcmp(mt, MEDIA_OCI_INDEX) || !strcmp(mt, MEDIA_DOCKER_LIST));
}

/* Follow an index descriptor down to the manifest for this platform (new ref). */
static json_t *oci_pick(struct load_ctx *c, json_t *desc, int depth, struct berr **err)
{
	if (depth > 4) {
		berr_setc(err, BERR_INVALID, "%s: indexes nested too deeply", c->what);
		return NULL;
	}
	if (!is_index_type(jsonx_str(desc, "mediaType")))
		return json_incref(desc);
	struct mem_file *f = oci_blob(c, jsonx_str(desc, "digest"), err);
	if (!f)
		return NULL;
	_cleanup_json_ json_t *ix = jsonx_parse(f->data, f->len, "image index", err);
	if (!ix)
		return NULL;
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(ix, "manifests"), i, d) {
		json_t *plat = json_object_get(d, "platform");
		const char *os = jsonx_str(plat, "os"), *arch = jsonx_str(plat, "architecture");
		if ((!plat || (os && !strcmp(os, "linux") && arch && !strcmp(arch, image_host_arch())))) {
			return oci_pick(c, d, depth + 1, err);
		}
	}
	berr_setc(err, BERR_INVALID, "%s: index %s has no image for linux/%s", c->what,
		  jsonx_str(desc, "digest"), image_host_arch());
	return NULL;
}

static int plan_oci(struct load_ctx *c, struct mem_file *mf, struct pending **ret, size_t *ret_n,
		    struct berr **err)
{
	_cleanup_json_ json_t *ix = jsonx_parse(mf->data, mf->len, "index.json", err);
	if (!ix)
		return berr_wrap(err, "%s", c->what);
	json_t *mans = json_object_get(ix, "manifests");
	if (!json_is_array(mans) || json_array_size(mans) == 0)
		return berr_setc(err, BERR_INVALID, "%s: index.json: no manifests", c->what);
	size_t n = json_array_size(mans);
	struct pending *p = calloc(n, sizeof(*p));
	if (!p)
		return berr_set(err, ENOMEM, "loading");
	*ret = p;
	*ret_n = n;
	for (size_t i = 0; i < n; i++) {
		json_t *top = json_array_get(mans, i);
		_cleanup_json_ json_t *desc = oci_pick(c, top, 0, err);
		if (!desc)
			return -1;
		struct mem_file *mb = oci_blob(c, jsonx_str(desc, "digest"), err);
		if (!mb)
			return -1;
		_cleanup_json_ json_t *m = jsonx_parse(mb->data, mb->len, "image manifest", err);
		if (!m)
			return berr_wrap(err, "%s", c->what);
		json_t *cfgd = json_object_get(m, "config");
		struct mem_file *cf = oci_blob(c, jsonx_str(cfgd, "digest"), err);
		if (!cf)
			return -1;
		json_t *layers = json_object_get(m, "layers");
		if (!json_is_array(layers))
			return berr_setc(err, BERR_INVALID, "%s: manifest %s has no layers", c->what,
					 jsonx_str(desc, "digest"));
		size_t nl = json_array_size(layers);
		p[i].layers = calloc(nl + 1, sizeof(*p[i].layers));
		for (size_t j = 0; j < nl; j++) {
			const char *d = jsonx_str(json_array_get(layers, j), "digest");
			if (!d || !digest_is_valid(d))
				return berr_setc(err, BERR_INVALID, "%s: manifest layer %zu has an invalid digest",
						 c->what, j);
			char name[100];
			snprintf(name, sizeof(name), "blobs/sha256/%s", d + 7);
			struct staged *sl = find_layer(c, name);
			if (!sl)
				return berr_setc(err, BERR_INVALID, "%s: layer %s is not in the archive (or is not a tar)",
						 c->what, d);
			p[i].layers[j] = &sl->st;
		}
		p[i].in.layers = p[i].layers;
		p[i].in.nlayers = nl;
		p[i].in.config = cf->data;
		p[i].in.config_len = cf->len;
		p[i].in.manifest = mb->data;
		p[i].in.manifest_len = mb->len;
		p[i].tags = json_array();
		json_t *ann = json_object_get(top, "annotations");
		const char *name = jsonx_str(ann, "io.containerd.image.name");
		if (!name) {
			name = jsonx_str(ann, "org.opencontainers.image.ref.name");
			if (name && !strpbrk(name, ":/"))
				name = NULL; /* a bare tag: no repository to put it in */
		}
		if (name && add_tag(p[i].tags, name, c->what, err) < 0)
			return -1;
		p[i].in.tags = p[i].tags;
		if (image_new_check(&p[i].in, err) < 0)
			return berr_wrap(err, "%s: image %s", c->what, jsonx_str(desc, "digest"));
	}
	return 0;
}

int image_load(struct image_store *s, int fd, const char *what, json_t **ret_loaded, json_t *notes,
	       struct berr **err)
{
	struct load_ctx c = {.s = s, .what = what};
	struct pending *plan = NULL;
	size_t nplan = 0;
	int rc = -1;
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);

	if (image_store_gc_lock(s, false, err) < 0)
		goto out;
	if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK) {
		berr_setc(err, BERR_INVALID, "%s: not a valid image archive: %s", what, archive_error_string(a));
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			berr_setc(err, BERR_INVALID, "%s: not a valid image archive: %s", what,
				  archive_error_string(a));
			goto out;
		}
		if (read_entry(&c, a, e, err) < 0)
			goto out;
	}
	struct mem_file *mf = find_file(&c, "manifest.json");
	if (mf) {
		if (plan_docker(&c, mf, &plan, &nplan, err) < 0)
			goto out;
	} else if ((mf = find_file(&c, "index.json"))) {
		if (plan_oci(&c, mf, &plan, &nplan, err) < 0)
			goto out;
	} else {
		berr_setc(err, BERR_INVALID,
			  "%s: not an image archive: no manifest.json (docker-archive) or index.json (OCI layout) found",
			  what);
		goto out;
	}
	struct image_new *ins = calloc(nplan, sizeof(*ins));
	char (*ids)[72] = calloc(nplan, sizeof(*ids));
	if (!ins || !ids) {
		free(ins);
		free(ids);
		berr_set(err, ENOMEM, "loading");
		goto out;
	}
	for (size_t i = 0; i < nplan; i++)
		ins[i] = plan[i].in;
	int cr = image_commit(s, ins, nplan, ids, notes, err);
	free(ins);
	if (cr < 0) {
		free(ids);
		goto out;
	}
	json_t *loaded = json_array();
	for (size_t i = 0; i < nplan; i++) {
		const char *id = ids[i];
		if (json_array_size(plan[i].tags) == 0) {
			json_array_append_new(loaded, json_pack("{s:s}", "id", id));
		} else {
			size_t k;
			json_t *t;
			json_array_foreach(plan[i].tags, k, t)
				json_array_append_new(loaded, json_pack("{s:s, s:s}", "ref", json_string_value(t), "id", id));
		}
	}
	free(ids);
	*ret_loaded = loaded;
	rc = 0;
out:
	for (size_t i = 0; i < nplan; i++)
		pending_release(&plan[i]);
	free(plan);
	archive_read_free(a);
	load_ctx_release(&c);
	return rc;
}
