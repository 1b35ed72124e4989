/* Pure parts of the registry client: WWW-Authenticate challenges, login
 * server keys, manifest parsing and platform selection from an index. */
#include "registry/internal.h"
#include "unit.h"
#include "util/cleanup.h"

#include <stdlib.h>

static void challenge(void)
{
	struct reg_challenge ch;
	CHECK(reg_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
				  "scope=\"repository:library/busybox:pull\"", &ch) == 0, "parse bearer");
	CHECK_STR(ch.scheme, "Bearer", "scheme");
	CHECK_STR(ch.realm, "https://auth.docker.io/token", "realm");
	CHECK_STR(ch.service, "registry.docker.io", "service");
	CHECK_STR(ch.scope, "repository:library/busybox:pull", "scope");
	reg_challenge_release(&ch);
	CHECK(reg_challenge_parse("Basic realm=\"Registry Realm\"", &ch) == 0, "parse basic");
	CHECK_STR(ch.scheme, "Basic", "basic scheme");
	CHECK_STR(ch.realm, "Registry Realm", "basic realm with a space");
	reg_challenge_release(&ch);
	CHECK(reg_challenge_parse("Bearer realm=tok, service = \"a\\\"b\"", &ch) == 0, "tokens and escapes");
	CHECK_STR(ch.realm, "tok", "token value");
	CHECK_STR(ch.service, "a\"b", "escaped quote");
	reg_challenge_release(&ch);
	CHECK(reg_challenge_parse("", &ch) < 0, "empty challenge refused");
}

static void keys(void)
{
	const char *cases[][2] = {
		{"docker.io", "https://index.docker.io/v1/"},
		{"index.docker.io", "https://index.docker.io/v1/"},
		{"https://index.docker.io/v1/", "https://index.docker.io/v1/"},
		{"localhost:5000", "localhost:5000"},
		{"https://reg.example.com:5443/v2/", "reg.example.com:5443"},
		{"http://127.0.0.1:5000", "127.0.0.1:5000"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *k = reg_server_key(cases[i][0]);
		CHECK_STR(k, cases[i][1], "server key of %s", cases[i][0]);
		free(k);
	}
}

static void manifests(void)
{
	const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	json_t *idx = json_loads(
		"{\"schemaVersion\": 2, \"manifests\": ["
		"{\"digest\": \"sha256:2222222222222222222222222222222222222222222222222222222222222222\", \"size\": 10,"
		" \"platform\": {\"os\": \"linux\", \"architecture\": \"arm\"}},"
		"{\"digest\": \"sha256:3333333333333333333333333333333333333333333333333333333333333333\", \"size\": 10,"
		" \"platform\": {\"os\": \"linux\", \"architecture\": \"arm64\", \"variant\": \"v8\"}},"
		"{\"digest\": \"sha256:1111111111111111111111111111111111111111111111111111111111111111\", \"size\": 10,"
		" \"platform\": {\"os\": \"linux\", \"architecture\": \"amd64\"}}]}",
		0, NULL);
	CHECK(reg_is_index(NULL, idx), "an index is recognized by content");
	struct reg_desc d = {0};
	struct berr *e = NULL;
	CHECK(reg_index_select(idx, "linux/amd64", &d, &e) == 0 && !strcmp(d.digest, d1), "select amd64");
	reg_desc_release(&d);
	CHECK(reg_index_select(idx, "linux/arm64", &d, &e) == 0 && d.digest[7] == '3', "select arm64 (v8)");
	reg_desc_release(&d);
	CHECK(reg_index_select(idx, "linux/s390x", &d, &e) < 0 && strstr(e->msg, "no matching manifest for linux/s390x"),
	      "no match named");
	berr_freep(&e);
	CHECK(reg_index_select(idx, "amd64", &d, &e) < 0 && strstr(e->msg, "invalid platform"), "bad platform");
	berr_freep(&e);
	json_decref(idx);

	json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:i}, s:[{s:s, s:s, s:i}]}", "schemaVersion", 2,
			      "mediaType", MEDIA_DOCKER_MANIFEST, "config", "mediaType", MEDIA_DOCKER_CONFIG,
			      "digest", d1, "size", 5, "layers", "mediaType", MEDIA_DOCKER_LAYER_GZIP, "digest",
			      d1, "size", 7);
	struct reg_manifest rm;
	CHECK(reg_manifest_parse(m, NULL, &rm, &e) == 0 && rm.nlayers == 1 && rm.layers[0].size == 7,
	      "schema2 manifest parsed");
	reg_manifest_release(&rm);
	json_object_set_new(json_array_get(json_object_get(m, "layers"), 0), "digest", json_string("sha256:zz"));
	CHECK(reg_manifest_parse(m, NULL, &rm, &e) < 0 && strstr(e->msg, "layer 1 has no valid sha256"),
	      "bad layer digest refused");
	berr_freep(&e);
	json_object_set_new(m, "schemaVersion", json_integer(1));
	CHECK(reg_manifest_parse(m, NULL, &rm, &e) < 0 && strstr(e->msg, "schema 1"), "schema1 refused");
	berr_freep(&e);
	json_decref(m);
}

int main(void)
{
	challenge();
	keys();
	manifests();
	UNIT_END();
}
