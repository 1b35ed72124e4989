/* Dockerfile parser: heredocs, flags, directives, continuations, spans,
 * errors with file and line. The upstream dump cases run in t0500. */
#include "builder/dockerfile.h"
#include "unit.h"

#include <stdlib.h>

static struct dockerfile *parse(const char *src)
{
	struct dockerfile *df = NULL;
	struct berr *err = NULL;
	if (dockerfile_parse(src, strlen(src), "Dockerfile", &df, &err) < 0) {
		printf("# parse error: %s\n", err->msg);
		berr_free(err);
		return NULL;
	}
	return df;
}

static void dump_is(const char *src, const char *want, const char *what)
{
	struct dockerfile *df = parse(src);
	char *got = df ? dockerfile_dump(df) : NULL;
	CHECK_STR(got, want, "dump: %s", what);
	free(got);
	dockerfile_free(df);
}

/* Parsing must fail with a message starting with `prefix`. */
static void fails(const char *src, const char *prefix, const char *what)
{
	struct dockerfile *df = NULL;
	struct berr *err = NULL;
	int rc = dockerfile_parse(src, strlen(src), "Dockerfile", &df, &err);
	CHECK(rc < 0 && err && !strncmp(err->msg, prefix, strlen(prefix)), "fails: %s", what);
	if (rc == 0 || !err || strncmp(err->msg, prefix, strlen(prefix)))
		printf("#   got: %s\n#   want prefix: %s\n", err ? err->msg : "(success)", prefix);
	berr_free(err);
	dockerfile_free(df);
}

static void heredocs(void)
{
	struct dockerfile *df = parse("FROM busybox\n"
				      "RUN <<EOF\n"
				      "echo hello\n"
				      "  echo $HOME\n"
				      "EOF\n"
				      "RUN echo after\n");
	CHECK(df && df->n == 3, "heredoc: three instructions");
	if (!df)
		return;
	struct df_node *r = &df->nodes[1];
	CHECK(r->nheredocs == 1, "RUN <<EOF has one heredoc");
	CHECK_STR(r->heredocs[0].name, "EOF", "heredoc name");
	CHECK_STR(r->heredocs[0].content, "echo hello\n  echo $HOME\n", "heredoc body");
	CHECK(r->heredocs[0].expand && !r->heredocs[0].chomp, "unquoted: expands, no chomp");
	CHECK(r->nargs == 1 && !strcmp(r->args[0], "<<EOF"), "RUN arg is the marker line");
	CHECK(r->start_line == 2 && r->end_line == 5, "heredoc span 2-5 (got %d-%d)", r->start_line, r->end_line);
	CHECK(df->nodes[2].start_line == 6, "next instruction after the terminator");
	CHECK(df->end_line == 6, "tree ends at 6");
	dockerfile_free(df);

	df = parse("FROM a\nRUN <<-EOT bash\n\techo one\n\t\techo two\n\tEOT\n");
	CHECK(df && df->nodes[1].nheredocs == 1 && df->nodes[1].heredocs[0].chomp, "<<- is chomp");
	if (df)
		CHECK_STR(df->nodes[1].heredocs[0].content, "echo one\necho two\n", "<<- strips leading tabs");
	dockerfile_free(df);

	df = parse("FROM a\nRUN <<'EOF'\n$X\nEOF\nRUN <<\"E2\"\n$Y\nE2\n");
	CHECK(df && !df->nodes[1].heredocs[0].expand && !df->nodes[2].heredocs[0].expand,
	      "quoted delimiters do not expand");
	if (df)
		CHECK_STR(df->nodes[2].heredocs[0].name, "E2", "quotes removed from the name");
	dockerfile_free(df);

	df = parse("FROM a\nCOPY <<one.txt <<two.txt /dest/\nfirst\none.txt\nsecond\ntwo.txt\n");
	CHECK(df && df->nodes[1].nheredocs == 2, "two heredocs on one line");
	if (df && df->nodes[1].nheredocs == 2) {
		CHECK_STR(df->nodes[1].heredocs[0].content, "first\n", "first body");
		CHECK_STR(df->nodes[1].heredocs[1].content, "second\n", "second body");
		CHECK(df->nodes[1].nargs == 3 && !strcmp(df->nodes[1].args[2], "/dest/"), "COPY args kept");
		CHECK(df->nodes[1].end_line == 6, "span covers both bodies");
	}
	dockerfile_free(df);

	df = parse("FROM a\nCOPY <<EOF /file\nline\nEOF\n");
	CHECK(df && df->nodes[1].nheredocs == 1 && df->nodes[1].nargs == 2, "COPY <<EOF /file");
	dockerfile_free(df);

	df = parse("FROM a\nRUN [\"sh\", \"<<EOF\"]\nEOF\n");
	CHECK(df && df->n == 3 && df->nodes[1].nheredocs == 0, "exec form has no heredocs");
	dockerfile_free(df);

	df = parse("FROM a\nRUN echo \"<<EOF\" '<<X'\nRUN cat 2>/dev/null\n");
	CHECK(df && df->nodes[1].nheredocs == 0, "quoted << is no heredoc");
	dockerfile_free(df);

	df = parse("FROM a\nONBUILD RUN <<EOF\necho x\nEOF\n");
	CHECK(df && df->n == 2 && df->nodes[1].inner && df->nodes[1].inner->nheredocs == 1,
	      "ONBUILD RUN <<EOF: heredoc on the inner node");
	dockerfile_free(df);

	df = parse("FROM a\nRUN <<EOF\r\nhi\r\nEOF\r\n");
	CHECK(df && df->n == 2 && df->nodes[1].nheredocs == 1, "CRLF terminator recognised");
	dockerfile_free(df);

	fails("FROM a\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc", "unterminated heredoc");
	fails("FROM a\nRUN 3<<EOF\nx\nEOF\n", "Dockerfile:2: heredoc", "fd other than stdin");
}

static void flags_and_forms(void)
{
	dump_is("from Alpine AS build\nRun echo hi\nHealthCheck NONE\n",
		"(from \"Alpine\" \"AS\" \"build\")\n(run \"echo hi\")\n(healthcheck \"NONE\")\n",
		"keywords are case-insensitive, args keep their case");
	dump_is("COPY --from=build --chown=1:2 --chmod=755 --link a b /c/\n",
		"(copy [\"--from=build\" \"--chown=1:2\" \"--chmod=755\" \"--link\"] \"a\" \"b\" \"/c/\")\n", "COPY flags");
	dump_is("RUN --mount=type=cache,target=/root/.cache --network=none pip install x\n",
		"(run [\"--mount=type=cache,target=/root/.cache\" \"--network=none\"] \"pip install x\")\n", "RUN flags");
	dump_is("RUN --mount=\"type=secret,id=a b\" echo\n", "(run [\"--mount=type=secret,id=a b\"] \"echo\")\n",
		"quotes removed inside a flag");
	dump_is("ENTRYPOINT [\"a\", \"b c\"]\nCMD ['a']\nSHELL [\"/bin/sh\", \"-c\"]\n",
		"(entrypoint \"a\" \"b c\")\n(cmd \"['a']\")\n(shell \"/bin/sh\" \"-c\")\n", "exec vs shell form");
	dump_is("VOLUME /a /b\nEXPOSE 80/tcp 53/udp\nUSER a b\nWORKDIR /x y\n",
		"(volume \"/a\" \"/b\")\n(expose \"80/tcp\" \"53/udp\")\n(user \"a b\")\n(workdir \"/x y\")\n",
		"whitespace split vs one string");
	dump_is("LABEL a=1 \"b c\"=\"d e\"\nARG X=1 Y\n",
		"(label \"a\" \"1\" \"=\" \"\\\"b c\\\"\" \"\\\"d e\\\"\" \"=\")\n(arg \"X=1\" \"Y\")\n", "LABEL and ARG");
	dump_is("ONBUILD COPY --chown=a . /x\n", "(onbuild (copy [\"--chown=a\"] \".\" \"/x\"))\n", "ONBUILD nesting");
	dump_is("FROBNICATE the thing\n", "(frobnicate \"\")\n", "unknown instruction is kept for the builder");
	dump_is("CMD [\"a\\u0000b\", \"\\u00e9\\u00a0\"]\n", "(cmd \"a\\x00b\" \"é\\u00a0\")\n",
		"NUL and non-printable code points quoted like Go");

	struct dockerfile *df = parse("ONBUILD COPY --from=a x /y\n");
	char *one = df ? dockerfile_dump_node(&df->nodes[0]) : NULL;
	CHECK_STR(one, "onbuild (copy [\"--from=a\"] \"x\" \"/y\")", "dump of one node");
	free(one);
	dockerfile_free(df);

	df = parse("CMD [\"a\\u0000b\"]\n");
	CHECK(df && df->nodes[0].json && df->nodes[0].arg_lens[0] == 3, "arg_lens counts the NUL");
	dockerfile_free(df);
}

static void lines_and_directives(void)
{
	struct dockerfile *df = parse("# syntax=docker/dockerfile:1\n"
				      "# escape=`\n"
				      "\n"
				      "FROM a\n"
				      "RUN echo a `\n"
				      "  # a comment inside\n"
				      "  b `\n"
				      "\n"
				      "  c\n");
	CHECK(df != NULL, "backtick escape parses");
	if (!df)
		return;
	CHECK(df->escape == '`', "escape directive seen");
	CHECK_STR(df->syntax, "docker/dockerfile:1", "syntax directive");
	CHECK_STR(df->nodes[1].args[0], "echo a   b   c", "continuation keeps indentation");
	CHECK(df->nodes[1].start_line == 5 && df->nodes[1].end_line == 9, "span 5-9 incl. comment and blank");
	CHECK(df->nwarnings == 1 && strstr(df->warnings[0], "Dockerfile:5: Empty continuation line"),
	      "empty continuation warning with location");
	CHECK(df->start_line == 4 && df->end_line == 9, "tree span 4-9");
	dockerfile_free(df);

	df = parse("\xef\xbb\xbf" "FROM a\nRUN b \\\n  c\r\nUSER x\n");
	char *ex = df ? dockerfile_excerpt(df, df->nodes[1].start_line, df->nodes[1].end_line) : NULL;
	CHECK_STR(ex, "\n    2 | RUN b \\\n    3 |   c", "excerpt of a continued instruction");
	free(ex);
	dockerfile_free(df);

	dump_is("\xef\xbb\xbf" "FROM a\r\nRUN b \\\r\n c\r\n", "(from \"a\")\n(run \"b  c\")\n", "BOM and CRLF");
	dump_is("FROM a\n# escape=`\nRUN a \\\nb\n", "(from \"a\")\n(run \"a b\")\n",
		"directive after an instruction is a comment");
	dump_is("FROM a\nENV A=b\\\\\nENV B c\n", "(from \"a\")\n(env \"A\" \"b\\\\\\\\\" \"=\")\n(env \"B\" \"c\" \"\")\n",
		"escaped escape does not continue");
}

static void errors(void)
{
	fails("", "Dockerfile: file with no instructions", "empty file");
	fails("# just a comment\n\n   \n", "Dockerfile: file with no instructions", "only comments");
	fails("FROM a\n\nENV PATH\n", "Dockerfile:3: ENV must have two arguments\n    3 | ENV PATH", "ENV without value");
	fails("FROM a\nLABEL a=b c\n", "Dockerfile:2: Syntax error - can't find = in \"c\"", "LABEL word without =");
	fails("FROM a\nCMD [\"a\", \\\n  [\"b\"]]\n", "Dockerfile:2: when using JSON array syntax",
	      "nested JSON array over two lines");
	fails("# escape=\\\n# escape=`\nFROM a\n", "Dockerfile:2: only one escape parser directive", "duplicate directive");
	fails("# escape=ab\nFROM a\n", "Dockerfile:1: invalid escape token 'ab'", "bad escape value");
	{
		struct dockerfile *df = NULL;
		struct berr *err = NULL;
		static const char src[] = "FROM a\nRUN x\0y\n";
		int rc = dockerfile_parse(src, sizeof(src) - 1, "Dockerfile", &df, &err);
		CHECK(rc < 0 && err && strstr(err->msg, ":2: NUL byte"), "embedded NUL reported with line");
		berr_free(err);
	}
	/* ONBUILD chains are bounded */
	char deep[2048] = "";
	for (int i = 0; i < 40; i++)
		strcat(deep, "ONBUILD ");
	strcat(deep, "RUN x\n");
	fails(deep, "Dockerfile:1: ONBUILD nested too deeply", "ONBUILD depth limit");
	dump_is("ONBUILD ONBUILD RUN x\n", "(onbuild (onbuild (run \"x\")))\n", "ONBUILD ONBUILD parses (builder rejects)");
}

/* Deterministic mutation smoke test: random edits of small Dockerfiles
 * must parse or fail cleanly (the ASan run catches memory errors). */
static void mutations(void)
{
	static const char *const seeds[] = {
		"# escape=`\nFROM a AS b\nRUN echo `\n  x\nCOPY --from=b [\"a\", \"b\"] /c\n",
		"FROM a\nRUN <<EOF bash\necho $X\nEOF\nCOPY <<-'A' <<B /x/\n\tone\n\tA\ntwo\nB\n",
		"FROM a\nENV A=1 B=\"2 3\" C\\ D=4\nLABEL x y\nHEALTHCHECK --interval=1s CMD [\"a\"]\nONBUILD ADD . /\n",
	};
	unsigned seed = 12345;
	size_t ok = 0, failed = 0;
	for (int iter = 0; iter < 1500; iter++) {
		const char *src = seeds[iter % 3];
		size_t n = strlen(src);
		char *b = malloc(n + 1);
		memcpy(b, src, n + 1);
		for (int k = 0; k < 1 + iter % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % n;
			seed = seed * 1103515245u + 12345u;
			b[at] = "\\`\"'$<{}[]\n#-= \tEOFA"[(seed >> 8) % 20];
		}
		struct dockerfile *df = NULL;
		struct berr *err = NULL;
		if (dockerfile_parse(b, n, "Dockerfile", &df, &err) == 0) {
			char *d = dockerfile_dump(df);
			ok += d != NULL;
			free(d);
			dockerfile_free(df);
		} else {
			failed += err && !strncmp(err->msg, "Dockerfile", 10);
		}
		berr_free(err);
		free(b);
	}
	CHECK(ok + failed == 1500, "1500 mutated files parse or fail with a located error (%zu ok, %zu errors)", ok,
	      failed);
}

int main(void)
{
	mutations();
	heredocs();
	flags_and_forms();
	lines_and_directives();
	errors();
	UNIT_END();
}
