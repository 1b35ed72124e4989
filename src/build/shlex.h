/* The builder's shell-word processor: Docker's variable expansion and word
 * splitting for Dockerfile instruction arguments (not a real shell). */
#pragma once
#include <stddef.h>
#include "util/err.h"

/* ENV is a NULL-terminated "KEY=VALUE" array (later entries win). */

/* Expand one word: quotes removed, escapes processed, $V ${V} ${V:-x}
 * ${V-x} ${V:+x} ${V+x} ${V:?msg} ${V?msg} (and the # % pattern forms upstream
 * supports). Returns 0 and a malloc'd string, or -1 with err set. */
int shlex_expand(const char *word, char escape, const char *const *env, char **out, struct berr **err);

/* Expand and split into words (as for COPY/ADD sources, EXPOSE, ...).
 * Returns 0 with a malloc'd NULL-terminated array of malloc'd strings. */
int shlex_expand_words(const char *text, char escape, const char *const *env, char ***out, size_t *n,
		       struct berr **err);

/* Names of the variables a word refers to (for cache keys and ARG use checks). */
int shlex_vars(const char *word, char escape, char ***out, size_t *n, struct berr **err);
