/* .dockerignore: which context paths a build leaves out, with Docker's
 * rules. One pattern a line; '#' at the very start of a line is a comment;
 * blanks around a pattern are trimmed; '!' makes an exception; patterns are
 * cleaned like paths (leading "/" and "./" dropped, "a//b/../c" -> "a/c").
 * Pattern syntax is Go's filepath.Match ('*' and '?' never match '/',
 * '[a-z]' / '[^a-z]' classes, '\' quotes the next character) plus '**',
 * which matches any number of directories (also none). A path is excluded
 * when it or one of its parent directories matches; the last matching
 * pattern wins. (A walker still creates an excluded directory when a path
 * below it is included again, as that path's parent: "docs" + "!docs/a"
 * sends docs/ holding only a.) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

struct dockerignore;

/* Parse the text of a .dockerignore file. NAME is used in messages
 * ("NAME:LINE: bad pattern ..."). */
int dockerignore_parse(const char *buf, size_t len, const char *name, struct dockerignore **out,
		       struct berr **err);
/* Build a matcher from patterns as already read (each may start with '!'). */
int dockerignore_new(const char *const *patterns, size_t n, struct dockerignore **out, struct berr **err);
void dockerignore_free(struct dockerignore *di);

/* The cleaned patterns, in order ("!" prefix kept), e.g. for cache keys. */
size_t dockerignore_count(const struct dockerignore *di);
const char *dockerignore_pattern(const struct dockerignore *di, size_t i);
bool dockerignore_has_exceptions(const struct dockerignore *di);

/* Is PATH (relative to the context root, '/'-separated; it is cleaned
 * first) left out of the context? A NULL matcher excludes nothing. */
bool dockerignore_excluded(const struct dockerignore *di, const char *path);

/* May the walk skip directory DIR (relative path) without looking inside?
 * True only when DIR is excluded and no exception pattern could re-include
 * DIR itself or anything below it. */
bool dockerignore_can_skip_dir(const struct dockerignore *di, const char *dir);

/* Go's filepath.Clean for '/'-separated paths (caller frees). */
char *dockerignore_clean_path(const char *path);
