/* Internals of the compose loader, shared by its files (yaml.c, interp.c,
 * dotenv.c, schema.c, merge.c, normalize.c, loader.c). Not for the engine:
 * it uses project.h and hash.h only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "util/err.h"
#include "util/strbuf.h"

/* ---- marks and yaml.c: the public part is compose/yaml.h ---- */
#include "compose/yaml.h"

/* ---- dotenv.c ---- */
typedef const char *(*cenv_lookup)(const char *name, void *ctx);
/* Parse .env text into obj (keys in order). lookup resolves ${VAR} and bare
 * KEY lines (after the file's own earlier values when lookup misses). */
int compose_dotenv_parse(const char *buf, size_t len, const char *file, cenv_lookup lookup, void *ctx,
			 json_t *obj, struct berr **err);
int compose_dotenv_load(const char *path, cenv_lookup lookup, void *ctx, json_t *obj, struct berr **err);

/* ---- interp.c ---- */
struct cinterp {
	cenv_lookup lookup;  /* NULL when unset */
	void *ctx;
	json_t *warned;      /* object: names already warned about (may be NULL: no warnings) */
	void (*warn)(const char *msg, void *ctx);
	void *warn_ctx;
	bool lenient;        /* .env values: a lone '$' stays literal */
};
/* Substitute one string; *ret is a new string. err names the variable. */
int compose_interp_str(struct cinterp *ci, const char *in, char **ret, struct berr **err);
/* Interpolate every string value of a document in place (keys are left
 * alone); errors are "FILE:LINE: path: ...". */
int compose_interp_doc(struct cinterp *ci, struct cmarks *m, json_t *doc, const char *file, struct berr **err);

/* ---- schema.c ---- */
/* A JSON Schema compiled for validation (schema.h). */
struct cschema;
/* The compose schema berth embeds (compiled at build time, borrowed). */
const struct cschema *compose_schema(void);
/* Compile a JSON Schema document ($refs resolved against it); free with
 * compose_schema_free. Fails only when out of memory. */
struct cschema *compose_schema_compile(const json_t *schema, struct berr **err);
void compose_schema_free(struct cschema *cs);
/* Validate doc against a compiled schema. On the first error: -1 with
 * "FILE:LINE: path: message". */
int compose_schema_validate(const struct cschema *schema, const json_t *doc, const struct cmarks *m, const char *file,
			    struct berr **err);

/* ---- merge.c ---- */
/* Merge the override file's top-level document into base (both raw
 * documents, before normalization), following compose's rules. Returns a
 * new value. */
json_t *compose_merge(struct cmarks *m, json_t *base, json_t *over);
/* Merge one service definition onto another (used by extends too). */
json_t *compose_merge_service(struct cmarks *m, json_t *base, json_t *over);
/* Drop !reset nodes left in a single document. */
void compose_drop_resets(struct cmarks *m, json_t *doc);

/* ---- normalize.c ---- */
struct cnorm {
	struct cmarks *m;
	const char *workdir;  /* project dir */
	const char *name;     /* project name */
	json_t *env;          /* resolved env (for env_file lookups) */
	bool resolve_paths;
};
/* Turn every short syntax into the long one, in place (doc is owned). */
int compose_normalize(struct cnorm *n, json_t *doc, struct berr **err);
/* Short port syntax -> array of long-form objects. */
int compose_parse_port(const char *spec, json_t *out, char **why);
/* Short volume syntax -> long-form object. */
json_t *compose_parse_volume(const char *spec, const char *workdir, bool resolve, char **why);
/* Path helpers */
char *compose_abs_path(const char *base, const char *p);
/* Split a command string into words as a POSIX shell would, without any
 * expansion: quotes, backslash escapes. Appends strings to out; -1 on an
 * unterminated quote. */
int compose_split_words(const char *s, json_t *out);
