/* berth's YAML reader and writer (yaml.c), for the layers beside compose
 * (kube/). YAML 1.2 core schema into jansson values: only true/false are
 * booleans, `0644` and `0o644` are octal integers, mapping keys keep their
 * text, anchors and aliases expand by copy, `<<` merge keys resolve,
 * duplicate keys are refused. Input is bounded (CY_MAX_BYTES, CY_MAX_NODES
 * after alias expansion, CY_MAX_DEPTH); errors read "FILE:LINE: yaml: ...".
 *
 * Marks: a side table node pointer -> (file, line, tag flags) filled by the
 * parser. It holds a reference on every node it knows, so a pointer is
 * never reused for another node while the table lives. null, true and
 * false are jansson singletons and carry no mark. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "util/err.h"
#include "util/strbuf.h"

enum { CM_RESET = 1, CM_OVERRIDE = 2 }; /* compose's !reset / !override tags */

struct cmarks;
struct cmarks *cmarks_new(void);
void cmarks_free(struct cmarks *m);
/* Register a file name; returns its index. */
int cmarks_file(struct cmarks *m, const char *file);
void cmarks_set(struct cmarks *m, json_t *node, int file, int line, unsigned flags);
/* Copy the mark of src to dst (if src has one and dst has none). */
void cmarks_copy(struct cmarks *m, json_t *dst, const json_t *src);
/* File name and line of a node (file NULL, line 0 when unknown). */
bool cmarks_get(const struct cmarks *m, const json_t *node, const char **file, int *line, unsigned *flags);
void cmarks_clear_flags(struct cmarks *m, const json_t *node);
/* "FILE:LINE: " for node, or "FILE: " / "" (caller frees). */
char *cmarks_where(const struct cmarks *m, const json_t *node, const char *fallback_file);
/* Deep copy keeping marks (limits are the caller's). */
json_t *cm_dup(struct cmarks *m, json_t *v);

#define CY_MAX_NODES (1u << 18) /* per stream, after alias expansion: billion laughs stop here */
#define CY_MAX_DEPTH 128
#define CY_MAX_BYTES (8u << 20)

/* Every document of a YAML stream (`---` separated): *ret_docs is an
 * array with one value per document, in order; an empty document is null.
 * Anchors do not cross documents. */
int compose_yaml_parse_docs(const char *buf, size_t len, const char *file, struct cmarks *m, json_t **ret_docs,
			    struct berr **err);
/* Compose's reading: the one document, an array of the documents when
 * there are several (the loader merges them), or NULL (empty input). */
int compose_yaml_parse(const char *buf, size_t len, const char *file, struct cmarks *m, json_t **ret,
		       struct berr **err);
/* Serialize a value as block YAML (docker compose config style). */
void compose_yaml_emit(const json_t *v, struct sbuf *out);
