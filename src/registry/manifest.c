/* Image manifests from a registry: Docker schema2 and OCI manifests,
 * Docker manifest lists and OCI indexes (with platform selection). All of
 * it is untrusted: digests are checked for form, counts are bounded. */
#include "registry/internal.h"
#include "image/image.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/hash.h"
#include "util/jsonx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char reg_manifest_accept[] = MEDIA_DOCKER_MANIFEST ", " MEDIA_DOCKER_LIST ", " MEDIA_OCI_MANIFEST
				   ", " MEDIA_OCI_INDEX;

const char *reg_host_platform(void)
{
	static char buf[64];
	if (!buf[0]) {
		const char *a = image_host_arch();
		if (!strcmp(a, "arm64"))
			snprintf(buf, sizeof(buf), "linux/arm64/v8");
		else
			snprintf(buf, sizeof(buf), "linux/%s", a);
	}
	return buf;
}

bool reg_is_index(const char *mt, json_t *j)
{
	if (mt && (!strcmp(mt, MEDIA_DOCKER_LIST) || !strcmp(mt, MEDIA_OCI_INDEX)))
		return true;
	const char *inner = jsonx_str(j, "mediaType");
	if (inner && (!strcmp(inner, MEDIA_DOCKER_LIST) || !strcmp(inner, MEDIA_OCI_INDEX)))
		return true;
	return json_is_array(json_object_get(j, "manifests")) && !json_object_get(j, "layers");
}

void reg_desc_release(struct reg_desc *d)
{
	free(d->media_type);
	d->media_type = NULL;
}

static int desc_parse(json_t *j, const char *what, struct reg_desc *ret, struct berr **err)
{
	const char *d = jsonx_str(j, "digest");
	json_t *sz = json_object_get(j, "size");
	if (!d || !digest_is_valid(d))
		return berr_setc(err, BERR_INVALID, "%s has no valid sha256 digest", what);
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return berr_setc(err, BERR_INVALID, "%s has no valid size", what);
	const char *mt = jsonx_str(j, "mediaType");
	ret->media_type = mt ? strdup(mt) : NULL;
	snprintf(ret->digest, sizeof(ret->digest), "%s", d);
	ret->size = (uint64_t)json_integer_value(sz);
	return 0;
}

int reg_index_select(json_t *index, const char *platform, struct reg_desc *ret, struct berr **err)
{
	const char *want = platform ? platform : reg_host_platform();
	char os[32] = "", arch[32] = "", variant[32] = "";
	if (sscanf(want, "%31[^/]/%31[^/]/%31s", os, arch, variant) < 2)
		return berr_setc(err, BERR_INVALID, "invalid platform \"%s\" (want os/arch[/variant])", want);
	json_t *ms = json_object_get(index, "manifests");
	if (!json_is_array(ms))
		return berr_setc(err, BERR_INVALID, "manifest list has no \"manifests\" array");
	size_t i;
	json_t *m;
	json_t *best = NULL;
	json_array_foreach(ms, i, m) {
		json_t *p = json_object_get(m, "platform");
		const char *mos = jsonx_str(p, "os"), *march = jsonx_str(p, "architecture");
		const char *mvar = jsonx_str(p, "variant");
		if (!mos || !march || strcmp(mos, os) || strcmp(march, arch))
			continue;
		if (variant[0] && mvar && strcmp(mvar, variant))
			continue;
		/* arm64 images without a variant are v8; an explicit variant wins */
		if (variant[0] && !mvar && strcmp(variant, "v8"))
			continue;
		if (!best || (mvar && variant[0]))
			best = m;
	}
	if (!best)
		return berr_setc(err, BERR_NOT_FOUND,
				 "no matching manifest for %s%s%s%s%s in the manifest list entries", os,
				 "/", arch, variant[0] ? "/" : "", variant);
	return desc_parse(best, "manifest list entry", ret, err);
}

static bool layer_type_ok(const char *mt)
{
	static const char *const ok[] = {MEDIA_DOCKER_LAYER_GZIP, MEDIA_DOCKER_LAYER, MEDIA_OCI_LAYER,
					 MEDIA_OCI_LAYER_GZIP, MEDIA_OCI_LAYER_ZSTD};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!strcmp(mt, ok[i]))
			return true;
	return false;
}

int reg_manifest_parse(json_t *j, const char *media_type, struct reg_manifest *ret, struct berr **err)
{
	struct reg_manifest m = {0};
	if (!json_is_object(j))
		return berr_setc(err, BERR_INVALID, "manifest is not a JSON object");
	json_int_t sv = json_integer_value(json_object_get(j, "schemaVersion"));
	if (sv == 1)
		return berr_setc(err, BERR_INVALID,
				 "manifest is Docker schema 1, which is deprecated and not supported");
	if (sv != 2)
		return berr_setc(err, BERR_INVALID, "manifest has schemaVersion %lld, want 2", (long long)sv);
	const char *inner = jsonx_str(j, "mediaType");
	const char *mt = inner ? inner : media_type;
	if (!mt || (strcmp(mt, MEDIA_DOCKER_MANIFEST) && strcmp(mt, MEDIA_OCI_MANIFEST)))
		mt = MEDIA_OCI_MANIFEST; /* OCI manifests may omit mediaType */
	json_t *cfg = json_object_get(j, "config");
	json_t *layers = json_object_get(j, "layers");
	if (!json_is_object(cfg) || !json_is_array(layers))
		return berr_setc(err, BERR_INVALID, "manifest has no config or no layers");
	if (desc_parse(cfg, "manifest config", &m.config, err) < 0)
		return -1;
	if (m.config.media_type && strcmp(m.config.media_type, MEDIA_DOCKER_CONFIG) &&
	    strcmp(m.config.media_type, MEDIA_OCI_CONFIG)) {
		berr_setc(err, BERR_INVALID, "not a container image (config media type %s)",
			  m.config.media_type);
		goto fail;
	}
	if (m.config.size > REG_MAX_CONFIG) {
		berr_setc(err, BERR_INVALID, "image config is too large (%llu bytes)",
			  (unsigned long long)m.config.size);
		goto fail;
	}
	m.nlayers = json_array_size(layers);
	if (m.nlayers > REG_MAX_LAYERS) {
		berr_setc(err, BERR_INVALID, "manifest lists %zu layers (limit %d)", m.nlayers, REG_MAX_LAYERS);
		goto fail;
	}
	m.layers = calloc(m.nlayers ? m.nlayers : 1, sizeof(*m.layers));
	if (!m.layers) {
		berr_set(err, ENOMEM, "manifest");
		goto fail;
	}
	for (size_t i = 0; i < m.nlayers; i++) {
		char what[32];
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if (desc_parse(json_array_get(layers, i), what, &m.layers[i], err) < 0)
			goto fail;
		const char *lt = m.layers[i].media_type;
		if (!lt || !layer_type_ok(lt)) {
			berr_setc(err, BERR_INVALID, "layer %zu has unsupported media type %s", i + 1,
				  lt ? lt : "(none)");
			goto fail;
		}
	}
	m.media_type = strdup(mt);
	*ret = m;
	return 0;
fail:
	reg_manifest_release(&m);
	return -1;
}

void reg_manifest_release(struct reg_manifest *m)
{
	free(m->media_type);
	reg_desc_release(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		reg_desc_release(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}
