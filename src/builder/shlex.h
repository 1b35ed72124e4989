/* The builder's shell-word processor: Docker's variable expansion and word
 * splitting for Dockerfile instruction arguments (not a real shell). */
#pragma once
#include <stdbool.h>
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

/* The general form behind the three calls above. raw_quotes keeps quote
 * characters in the output and raw_escapes keeps escape characters (both are
 * used to find heredoc markers the way Docker does). Either of ret_word /
 * ret_words may be NULL. text need not be NUL-terminated. */
struct shlex_opts {
	char escape;      /* '\\' or '`' */
	bool raw_quotes;
	bool raw_escapes;
};
int shlex_process(const char *text, size_t len, const struct shlex_opts *o, const char *const *env,
		  char **ret_word, char ***ret_words, size_t *ret_n, struct berr **err);
/* Free a NULL-terminated word array as returned above (NULL is fine). */
void shlex_words_free(char **words);
