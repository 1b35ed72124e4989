/* The shell-word processor: expansion forms, quoting, both escape
 * characters, word splitting, variable discovery. The upstream tables run
 * in t0500. */
#include "builder/shlex.h"
#include "unit.h"

#include <stdlib.h>

static const char *const env[] = {"A=apple", "E=", "P=/usr/local/bin", "F=file.tar.gz", "S=a  b", "A=avocado", NULL};

static void ex(const char *in, const char *want)
{
	char *got = NULL;
	struct berr *err = NULL;
	if (shlex_expand(in, '\\', env, &got, &err) < 0) {
		CHECK(want == NULL, "expand [%s] fails", in);
		if (want)
			printf("#   error: %s\n", err->msg);
		berr_free(err);
		return;
	}
	CHECK_STR(got, want, "expand [%s]", in);
	free(got);
}

static void ex_bt(const char *in, const char *want)
{
	char *got = NULL;
	struct berr *err = NULL;
	int rc = shlex_expand(in, '`', env, &got, &err);
	CHECK_STR(rc < 0 ? NULL : got, want, "expand with ` [%s]", in);
	free(got);
	berr_free(err);
}

static void words(const char *in, const char *want_joined)
{
	char **w = NULL;
	size_t n = 0;
	struct berr *err = NULL;
	if (shlex_expand_words(in, '\\', env, &w, &n, &err) < 0) {
		CHECK(want_joined == NULL, "words [%s] fails", in);
		berr_free(err);
		return;
	}
	char buf[512] = "";
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(buf, "|");
		strcat(buf, w[i]);
	}
	CHECK(w[n] == NULL, "words [%s] NULL-terminated", in);
	CHECK_STR(buf, want_joined, "words [%s]", in);
	shlex_words_free(w);
}

static void err_msg(const char *in, const char *want)
{
	char *got = NULL;
	struct berr *err = NULL;
	int rc = shlex_expand(in, '\\', env, &got, &err);
	CHECK(rc < 0 && err && strstr(err->msg, want), "error for [%s] mentions [%s]", in, want);
	if (err)
		printf("#   %s\n", err->msg);
	berr_free(err);
	free(got);
}

int main(void)
{
	/* plain forms; later env entries win */
	ex("$A", "avocado");
	ex("${A}s", "avocados");
	ex("x${NOPE}y", "xy");
	ex("${NOPE:-def}", "def");
	ex("${E:-def}", "def");
	ex("${E-def}", "");
	ex("${NOPE-def}", "def");
	ex("${A:+set}", "set");
	ex("${E:+set}", "");
	ex("${E+set}", "set");
	ex("${NOPE+set}", "");
	ex("${A:?msg}", "avocado");
	ex("${E?msg}", "");
	ex("${NOPE?}", NULL);
	ex("${E:?}", NULL);
	ex("${NOPE:-${A}}", "avocado");
	/* pattern forms */
	ex("${F#*.}", "tar.gz");
	ex("${F##*.}", "gz");
	ex("${F%.*}", "file.tar");
	ex("${F%%.*}", "file");
	ex("${P#/usr}", "/local/bin");
	ex("${P##*/}", "bin");
	ex("${P%/*}", "/usr/local");
	ex("${F#nomatch}", "file.tar.gz");
	ex("${NOPE#x}", "");
	ex("${F/tar/zip}", "file.zip.gz");
	ex("${P//l/L}", "/usr/LocaL/bin");
	ex("${P//\\//:}", NULL); /* as Docker: a pattern escapes only * ? backslash and } */
	ex("${F/.*/}", "file");
	/* quoting and escapes */
	ex("'$A'", "$A");
	ex("\"$A\"", "avocado");
	ex("\\$A", "$A");
	ex("a\\ b", "a b");
	ex("\"a\\\"b\"", "a\"b");
	ex("\"a\\nb\"", "a\\nb");
	ex("'unterminated", NULL);
	ex("\"unterminated", NULL);
	ex("${unterminated", NULL);
	ex("${A:=x}", NULL);
	ex("${}", NULL);
	ex("$", "$");
	ex("a$", "a$");
	ex_bt("`$A", "$A");
	ex_bt("a` b", "a b");
	ex_bt("\\$A", "\\avocado");
	ex_bt("\"x`\"y\"", "x\"y");
	/* words */
	words("a b  c", "a|b|c");
	words("$S", "a|b");
	words("\"$S\"", "a  b");
	words("x\\ y z", "x y|z");
	words("'' a", "a");
	words("  ", "");
	words("\"unterminated", NULL);
	/* error messages name the variable */
	err_msg("${NOPE:?must be set}", "NOPE: must be set");
	err_msg("${NOPE?}", "NOPE: is not allowed to be unset");
	err_msg("${E:?}", "E: is not allowed to be empty");
	err_msg("${A:x}", "unsupported modifier (:x)");
	err_msg("'open", "single-quote");

	/* names referenced, nested ones too, each once */
	char **names = NULL;
	size_t n = 0;
	struct berr *err = NULL;
	CHECK(shlex_vars("$A ${B:-$C} '$D' \"$A\" ${Q?}", '\\', &names, &n, &err) == 0, "shlex_vars ok");
	char joined[64] = "";
	for (size_t i = 0; i < n; i++)
		strcat(joined, names[i]);
	CHECK(n == 4 && !names[4], "vars: four names (got %zu)", n);
	CHECK_STR(joined, "ACBQ", "vars: in the order they are looked up");
	shlex_words_free(names);

	/* raw modes keep quotes and escapes (used to find heredoc markers) */
	struct shlex_opts o = {.escape = '\\', .raw_quotes = true, .raw_escapes = true};
	char **w = NULL;
	CHECK(shlex_process("RUN <<'EOF' \\x \"a b\"", 20, &o, NULL, NULL, &w, &n, &err) == 0 && n == 4 &&
		      !strcmp(w[1], "<<'EOF'") && !strcmp(w[2], "\\x") && !strcmp(w[3], "\"a b\""),
	      "raw quotes and escapes kept");
	shlex_words_free(w);

	/* deep nesting is refused, not a stack overflow */
	char deep[4096] = "";
	for (int i = 0; i < 200; i++)
		strcat(deep, "${X:-");
	for (int i = 0; i < 200; i++)
		strcat(deep, "}");
	ex(deep, NULL);
	UNIT_END();
}
