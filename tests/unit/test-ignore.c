/* .dockerignore parsing and matching with Docker's rules. */
#include "builder/ignore.h"
#include "unit.h"

#include <stdlib.h>
#include <time.h>

/* Patterns joined with '|' for test names (one line each). */
static const char *oneline(const char *s)
{
	static char b[4][256];
	static int k;
	char *o = b[k++ % 4];
	size_t i = 0;
	for (; *s && i < sizeof(b[0]) - 1; s++)
		o[i++] = *s == '\n' ? '|' : *s == '\r' ? ' ' : *s;
	o[i] = 0;
	return o;
}

static struct dockerignore *load(const char *text)
{
	struct dockerignore *di = NULL;
	struct berr *err = NULL;
	if (dockerignore_parse(text, strlen(text), ".dockerignore", &di, &err) < 0) {
		printf("# parse error: %s\n", err->msg);
		berr_free(err);
		return NULL;
	}
	return di;
}

static void ex(const char *patterns, const char *path, bool want)
{
	struct dockerignore *di = load(patterns);
	bool got = dockerignore_excluded(di, path);
	CHECK(di && got == want, "[%s] %s %s", oneline(patterns), path, want ? "excluded" : "included");
	dockerignore_free(di);
}

static void skipdir(const char *patterns, const char *dir, bool want)
{
	struct dockerignore *di = load(patterns);
	bool got = dockerignore_can_skip_dir(di, dir);
	CHECK(di && got == want, "[%s] dir %s %s", oneline(patterns), dir, want ? "skipped" : "walked");
	dockerignore_free(di);
}

static void bad(const char *patterns, const char *want)
{
	struct dockerignore *di = NULL;
	struct berr *err = NULL;
	int rc = dockerignore_parse(patterns, strlen(patterns), ".dockerignore", &di, &err);
	CHECK(rc < 0 && err && strstr(err->msg, want), "bad [%s] -> %s", oneline(patterns), want);
	if (err)
		printf("#   %s\n", err->msg);
	berr_free(err);
	dockerignore_free(di);
}

static void clean(const char *in, const char *want)
{
	char *got = dockerignore_clean_path(in);
	CHECK_STR(got, want, "clean %s", in);
	free(got);
}

int main(void)
{
	clean("", ".");
	clean("a//b/./c/", "a/b/c");
	clean("a/../../b", "../b");
	clean("/../a", "/a");
	clean("./a/b/..", "a");
	clean("..", "..");
	clean("/", "/");

	/* '*' and '?' stay inside one path element */
	ex("*.go", "main.go", true);
	ex("*.go", "cmd/main.go", false);
	ex("?.txt", "a.txt", true);
	ex("?.txt", "ab.txt", false);
	ex("a?b", "a/b", false);
	ex("caf?", "café", true);
	/* '**' crosses directories, also none */
	ex("**/*.go", "main.go", true);
	ex("**/*.go", "a/b/c/main.go", true);
	ex("a/**/b", "a/b", true);
	ex("a/**/b", "a/x/y/b", true);
	ex("a/**/b", "a/x/yb", false);
	ex("**", "anything/at/all", true);
	ex("foo/**", "foo/x/y", true);
	ex("foo/**", "foo", false);
	ex("**/node_modules", "web/app/node_modules/x/y.js", true);
	/* a directory pattern excludes everything below it */
	ex("build", "build", true);
	ex("build", "build/obj/x.o", true);
	ex("build", "builder", false);
	ex("docs/*", "docs/a/b", true);
	ex("docs/*", "docs", false);
	/* cleaning: leading / and ./, trailing /, .. */
	ex("/secret", "secret", true);
	ex("./secret", "secret/key", true);
	ex("secret/", "secret/key", true);
	ex("a/../b", "b", true);
	ex("tmp", "./tmp/x", true);
	ex("tmp", "/tmp", true);
	/* exceptions, last match wins */
	ex("*.md\n!README.md", "README.md", false);
	ex("*.md\n!README.md", "CHANGES.md", true);
	ex("docs\n!docs/keep", "docs/keep/x", false);
	ex("docs\n!docs/keep", "docs/other", true);
	ex("a\n!a\na", "a/b", true);
	ex("!a\n*", "a", true);
	ex("  spaced  \n", "spaced", true);
	ex("! kept\n*", "kept", true);
	/* comments: only '#' in the first column */
	ex("# *.go\n", "main.go", false);
	ex(" # x\n", "# x", true);
	ex("\xef\xbb\xbf*.log\r\n", "a.log", true);
	/* classes and escapes */
	ex("[a-c].txt", "b.txt", true);
	ex("[a-c].txt", "d.txt", false);
	ex("[^a].txt", "a.txt", false);
	ex("[^a].txt", "b.txt", true);
	ex("[!a].txt", "a.txt", true); /* '!' is no negation (Docker compiles classes as regexps) */
	ex("[!a].txt", "b.txt", false);
	ex("a[^x]b", "a/b", true);
	/* "**" + plain text is a suffix at any depth */
	ex("**.log", "x/y/app.log", true);
	ex("**.log", "app.log", true);
	ex("**.log", "app.txt", false);
	ex("**/foo", "foo", true);
	ex("**/foo", "a/foo", true);
	ex("**/foo", "afoo", false);
	ex("\\*.txt", "*.txt", true);
	ex("\\*.txt", "a.txt", false);
	ex("[*]", "a", false);
	ex("*", "", false);
	ex("*", ".", false);

	bad("ok\n!\n", ".dockerignore:2: illegal exclusion pattern");
	bad("a\nb\n[abc\n", ".dockerignore:3: syntax error in pattern");
	bad("x\\", ".dockerignore:1: syntax error in pattern");
	bad("[z-a]", ".dockerignore:1: syntax error");

	/* skipping whole directories */
	skipdir("node_modules", "node_modules", true);
	skipdir("node_modules\n!node_modules/keep.js", "node_modules", false);
	skipdir("node_modules\n!other/x", "node_modules", true);
	skipdir("node_modules\n!**/*.md", "node_modules", false);
	skipdir("build\n!build", "build", false);
	skipdir("*/tmp\n!a/tmp/keep", "a/tmp", false);
	skipdir("*/tmp\n!a/tmp/keep", "b/tmp", true);
	skipdir("a\n!a/b/c", "a/b", false);
	skipdir("a\n!a/b/c", "a/x", true);
	skipdir("src", "lib", false);
	skipdir("*.o", "dir", false);
	skipdir("x/**\n!x/y*", "x/z", true);
	skipdir("x/**\n!x/y*", "x/yes", false);

	struct dockerignore *di = load("/a\n!./b/\n\n# c\n");
	CHECK(di && dockerignore_count(di) == 2 && !strcmp(dockerignore_pattern(di, 0), "a") &&
		      !strcmp(dockerignore_pattern(di, 1), "!b") && dockerignore_has_exceptions(di),
	      "cleaned patterns listed");
	dockerignore_free(di);
	CHECK(!dockerignore_excluded(NULL, "a") && !dockerignore_can_skip_dir(NULL, "a"), "NULL matcher excludes nothing");

	const char *pats[] = {"*.tmp", "!keep.tmp"};
	CHECK(dockerignore_new(pats, 2, &di, NULL) == 0 && dockerignore_excluded(di, "x.tmp") &&
		      !dockerignore_excluded(di, "keep.tmp"),
	      "dockerignore_new");
	dockerignore_free(di);

	/* many stars against a long name: linear, not exponential */
	di = load("*a*a*a*a*a*a*a*a*a*a*a*a*b\n**/**/**/**/**/**/**/c");
	char longname[4096];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	clock_t t0 = clock();
	bool r = dockerignore_excluded(di, longname);
	for (size_t i = 1; i < 200; i += 2)
		longname[i] = '/';
	r = r || dockerignore_excluded(di, longname);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK(!r && secs < 1.0, "pathological patterns stay fast (%.3fs)", secs);
	dockerignore_free(di);
	UNIT_END();
}
