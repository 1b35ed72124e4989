/* Hidden debugging commands that expose the builder's parsers to tests:
 *   berth debug dockerfile-dump [FILE|-]    the S-expression dump of the parse
 *   berth debug dockerfile-lines FILE|-     "root S E" / "child I S E" spans
 *   berth debug shell-expand [-e K=V]... [--escape C] WORD|--batch
 *       (--batch: one word a line from stdin; prints "=RESULT" or "!ERROR" a line)
 *   berth debug shell-words  [-e K=V]... [--escape C] TEXT   (one word a line)
 *   berth debug dockerignore FILE PATH...   "excluded"/"included"/"skip-dir" per path
 * They are not in the main help list. */
#include "builder/dockerfile.h"
#include "builder/ignore.h"
#include "builder/shlex.h"
#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define DEBUG_USAGE                                                                                    \
	"Usage: berth debug dockerfile-dump [FILE|-]\n"                                                \
	"       berth debug dockerfile-lines [FILE|-]\n"                                               \
	"       berth debug shell-expand [-e KEY=VALUE]... [--escape CHAR] WORD|--batch\n"             \
	"       berth debug shell-words [-e KEY=VALUE]... [--escape CHAR] TEXT\n"                      \
	"       berth debug dockerignore FILE PATH...\n"

static int read_input(const char *path, size_t max, char **ret, size_t *ret_len, struct berr **err)
{
	if (!path || !strcmp(path, "-")) {
		struct sbuf b = SBUF_INIT;
		char tmp[65536];
		ssize_t n;
		while ((n = fs_read_full(0, tmp, sizeof(tmp))) > 0) {
			if (b.len + (size_t)n > max) {
				sbuf_release(&b);
				return berr_set(err, 0, "standard input is larger than %zu bytes", max);
			}
			sbuf_add(&b, tmp, (size_t)n);
		}
		if (n < 0) {
			sbuf_release(&b);
			return berr_set(err, errno, "reading standard input");
		}
		*ret_len = b.len;
		*ret = sbuf_detach(&b);
		return 0;
	}
	return fs_read_file_at(AT_FDCWD, path, max, ret, ret_len, err);
}

static int parse_file(const char *path, struct dockerfile **df)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct berr *err = NULL;
	if (read_input(path, DOCKERFILE_MAX_SIZE, &buf, &len, &err) < 0)
		return cli_fail(err);
	const char *name = (!path || !strcmp(path, "-")) ? "Dockerfile" : path;
	if (dockerfile_parse(buf, len, name, df, &err) < 0)
		return cli_fail(err);
	return 0;
}

static int debug_dump(int argc, char **argv)
{
	if (argc > 2) {
		fputs(DEBUG_USAGE, stderr);
		return 1;
	}
	struct dockerfile *df = NULL;
	int rc = parse_file(argc > 1 ? argv[1] : NULL, &df);
	if (rc)
		return rc;
	for (size_t i = 0; i < df->nwarnings; i++)
		fprintf(stderr, "[WARNING]: %s\n", df->warnings[i]);
	char *s = dockerfile_dump(df);
	fputs(s, stdout);
	free(s);
	dockerfile_free(df);
	return 0;
}

static int debug_lines(int argc, char **argv)
{
	if (argc > 2) {
		fputs(DEBUG_USAGE, stderr);
		return 1;
	}
	struct dockerfile *df = NULL;
	int rc = parse_file(argc > 1 ? argv[1] : NULL, &df);
	if (rc)
		return rc;
	printf("root %d %d\n", df->start_line, df->end_line);
	for (size_t i = 0; i < df->n; i++)
		printf("child %zu %d %d\n", i, df->nodes[i].start_line, df->nodes[i].end_line);
	dockerfile_free(df);
	return 0;
}

static int debug_shell(int argc, char **argv, bool words)
{
	const char **env = calloc((size_t)argc + 1, sizeof(char *));
	size_t nenv = 0;
	char esc = '\\';
	const char *text = NULL;
	bool batch = false;
	int rc = 1;
	if (!env)
		return 1;
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-e") || !strcmp(argv[i], "--env")) && i + 1 < argc) {
			if (!strchr(argv[i + 1], '=')) {
				fprintf(stderr, "Error: invalid environment entry %s: want KEY=VALUE\n", argv[i + 1]);
				goto out;
			}
			env[nenv++] = argv[++i];
		} else if (!strcmp(argv[i], "--escape") && i + 1 < argc) {
			esc = argv[++i][0];
			if ((esc != '\\' && esc != '`') || argv[i][1]) {
				fprintf(stderr, "Error: invalid escape character %s: want \\ or `\n", argv[i]);
				goto out;
			}
		} else if (!words && !text && !strcmp(argv[i], "--batch")) {
			batch = true;
		} else if (!text && !batch && (!strcmp(argv[i], "--") ? ++i < argc : true)) {
			text = argv[i];
		} else {
			fputs(DEBUG_USAGE, stderr);
			goto out;
		}
	}
	struct berr *err = NULL;
	if (batch) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, stdin)) >= 0) {
			if (n && line[n - 1] == '\n')
				line[--n] = 0;
			char *s = NULL;
			if (shlex_expand(line, esc, env, &s, &err) < 0) {
				printf("!%s\n", err->msg);
				berr_freep(&err);
			} else {
				printf("=%s\n", s);
				free(s);
			}
		}
		free(line);
		rc = 0;
		goto out;
	}
	if (!text) {
		fputs(DEBUG_USAGE, stderr);
		goto out;
	}
	if (words) {
		char **w = NULL;
		size_t n = 0;
		if (shlex_expand_words(text, esc, env, &w, &n, &err) < 0) {
			rc = cli_fail(err);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			printf("%s\n", w[i]);
		shlex_words_free(w);
	} else {
		char *s = NULL;
		if (shlex_expand(text, esc, env, &s, &err) < 0) {
			rc = cli_fail(err);
			goto out;
		}
		printf("%s\n", s);
		free(s);
	}
	rc = 0;
out:
	free(env);
	return rc;
}

static int debug_ignore(int argc, char **argv)
{
	if (argc < 3) {
		fputs(DEBUG_USAGE, stderr);
		return 1;
	}
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct berr *err = NULL;
	struct dockerignore *di = NULL;
	if (read_input(argv[1], 4u << 20, &buf, &len, &err) < 0)
		return cli_fail(err);
	if (dockerignore_parse(buf, len, argv[1], &di, &err) < 0)
		return cli_fail(err);
	for (int i = 2; i < argc; i++)
		printf("%s\t%s%s\n", argv[i], dockerignore_excluded(di, argv[i]) ? "excluded" : "included",
		       dockerignore_can_skip_dir(di, argv[i]) ? " skip-dir" : "");
	dockerignore_free(di);
	return 0;
}

CMD(debug)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(DEBUG_USAGE, argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "dockerfile-dump"))
		return debug_dump(argc - 1, argv + 1);
	if (!strcmp(sub, "dockerfile-lines"))
		return debug_lines(argc - 1, argv + 1);
	if (!strcmp(sub, "shell-expand"))
		return debug_shell(argc - 1, argv + 1, false);
	if (!strcmp(sub, "shell-words"))
		return debug_shell(argc - 1, argv + 1, true);
	if (!strcmp(sub, "dockerignore"))
		return debug_ignore(argc - 1, argv + 1);
	fprintf(stderr, "berth: unknown debug command '%s'\n%s", sub, DEBUG_USAGE);
	return 1;
}
