/* Dockerfile parser: splits a Dockerfile into instructions and arguments
 * (the "low-level" parse: no variable expansion, no stage semantics).
 * Contract shared by the parser (dockerfile.c) and the builder (build*.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

struct df_heredoc {
	char *name;    /* delimiter word, e.g. "EOF" */
	char *content; /* body, each line ending with '\n' (after <<- tab stripping) */
	bool expand;   /* false when the delimiter was quoted ('EOF' / "EOF") */
	bool chomp;    /* <<- form: leading tabs stripped */
};

struct df_node {
	char *cmd;        /* keyword lower-cased: "from", "run", "copy", ... */
	char *original;   /* the instruction's source text, continuation lines joined */
	int start_line;   /* 1-based, inclusive */
	int end_line;
	char **flags;     /* builder flags as written, e.g. "--from=build" */
	size_t nflags;
	char **args;      /* arguments, split by the instruction's own rules (as in the dump) */
	size_t nargs;
	size_t *arg_lens; /* byte length of each arg: a JSON "\u0000" puts a NUL inside one */
	bool json;        /* exec (JSON array) form */
	struct df_heredoc *heredocs;
	size_t nheredocs;
	struct df_node *inner; /* ONBUILD: the nested instruction; else NULL. Heredocs of
	                        * "ONBUILD RUN <<EOF" are on the inner node. */
};

struct dockerfile {
	struct df_node *nodes;
	size_t n;
	char escape;      /* '\\' or '`' from the escape directive */
	char *syntax;     /* "# syntax=" directive value or NULL */
	int start_line, end_line; /* span of the whole tree */
	char **warnings;  /* e.g. empty continuation lines; "Dockerfile:LINE: text" */
	size_t nwarnings;
	char *source;     /* a copy of the parsed text, for dockerfile_excerpt() */
	size_t source_len;
};

/* Parse a Dockerfile held in memory. NAME is used in messages
 * ("NAME:LINE: message" and the offending line). */
int dockerfile_parse(const char *buf, size_t len, const char *name, struct dockerfile **out, struct berr **err);
void dockerfile_free(struct dockerfile *df);

/* The upstream-compatible S-expression dump of the tree (conformance): one
 * "(keyword ...)" line per instruction, each ending in '\n'. Caller frees. */
char *dockerfile_dump(const struct dockerfile *df);
/* The dump of one instruction, e.g. `copy ["--from=a"] "x" "/y"` (no parentheses). */
char *dockerfile_dump_node(const struct df_node *n);

/* The source lines START..END (1-based, at most the last 10) as the parser
 * shows them under its own errors: "\n    5 | RUN foo" per line, so a
 * builder error can read "Dockerfile:5: message" + excerpt. Caller frees. */
char *dockerfile_excerpt(const struct dockerfile *df, int start, int end);

/* Largest Dockerfile the parser accepts. */
#define DOCKERFILE_MAX_SIZE (16u << 20)
