/* berth compose's flag values as docker compose v2 reads them
 * (src/cli/cmd-compose-flags.c) and the services `compose restart`
 * restarts with the named ones (compose_select_dependents). */
#include "cli/compose.h"
#include "util/jsonx.h"
#include "unit.h"

#include <stdlib.h>

static json_t *J(const char *s)
{
	json_error_t je;
	json_t *v = json_loads(s, JSON_DECODE_ANY, &je);
	if (!v)
		fprintf(stderr, "bad json in test: %s\n", je.text);
	return v;
}

/* compact JSON of v, for comparisons; frees v */
static char *D(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	return s;
}

static void test_bool(void)
{
	bool b = false;
	CHECK(compose_parse_bool("true", &b) == 0 && b, "ParseBool true");
	CHECK(compose_parse_bool("T", &b) == 0 && b, "ParseBool T");
	CHECK(compose_parse_bool("1", &b) == 0 && b, "ParseBool 1");
	CHECK(compose_parse_bool("False", &b) == 0 && !b, "ParseBool False");
	CHECK(compose_parse_bool("0", &b) == 0 && !b, "ParseBool 0");
	CHECK(compose_parse_bool("yes", &b) < 0, "ParseBool refuses yes (as Go's)");
	CHECK(compose_parse_bool("", &b) < 0, "ParseBool refuses the empty string");
	CHECK(compose_parse_bool("tRuE", &b) < 0, "ParseBool refuses mixed case");

	CHECK(compose_answer_yes("y\n"), "prompt: y");
	CHECK(compose_answer_yes("  YES \n"), "prompt: YES, spaces around");
	CHECK(compose_answer_yes("true"), "prompt: true");
	CHECK(!compose_answer_yes("\n"), "prompt: an empty line is a no");
	CHECK(!compose_answer_yes("n"), "prompt: n");
	CHECK(!compose_answer_yes("yess"), "prompt: yess is a no");
}

static void test_ui(void)
{
	struct compose_ui ui;
	struct berr *e = NULL;
	CHECK(compose_ui_resolve(NULL, NULL, false, true, true, &ui, &e) == 0 && ui.progress == COMPOSE_UI_TTY &&
		      ui.color && ui.progress_color,
	      "auto on terminals: tty progress, colours");
	CHECK(compose_ui_resolve(NULL, NULL, false, false, false, &ui, &e) == 0 && ui.progress == COMPOSE_UI_PLAIN &&
		      !ui.color && !ui.not_console,
	      "auto without terminals: plain, no colours");
	CHECK(compose_ui_resolve("never", NULL, false, true, true, &ui, &e) == 0 && ui.progress == COMPOSE_UI_PLAIN &&
		      !ui.color,
	      "--ansi never on terminals: plain, no colours");
	CHECK(compose_ui_resolve("always", NULL, false, false, false, &ui, &e) == 0 && ui.color &&
		      ui.progress == COMPOSE_UI_PLAIN && ui.not_console,
	      "--ansi always when piped: colours; tty progress falls back to plain (not a console)");
	CHECK(compose_ui_resolve("always", NULL, false, true, false, &ui, &e) == 0 && ui.progress == COMPOSE_UI_TTY &&
		      ui.color,
	      "--ansi always, stderr a terminal: tty progress");
	CHECK(compose_ui_resolve("always", NULL, true, true, true, &ui, &e) == 0 && !ui.color && !ui.progress_color,
	      "NO_COLOR wins over --ansi always");
	CHECK(compose_ui_resolve(NULL, "quiet", false, true, true, &ui, &e) == 0 && ui.progress == COMPOSE_UI_QUIET,
	      "--progress quiet");
	CHECK(compose_ui_resolve(NULL, "none", false, true, true, &ui, &e) == 0 && ui.progress == COMPOSE_UI_QUIET,
	      "--progress none is quiet");
	CHECK(compose_ui_resolve(NULL, "json", false, true, true, &ui, &e) == 0 && ui.progress == COMPOSE_UI_JSON,
	      "--progress json");
	CHECK(compose_ui_resolve(NULL, "plain", false, true, true, &ui, &e) == 0 && ui.progress == COMPOSE_UI_PLAIN &&
		      ui.color,
	      "--progress plain on terminals: plain lines, colours in logs still");
	CHECK(compose_ui_resolve(NULL, "tty", false, false, false, &ui, &e) == 0 && ui.progress == COMPOSE_UI_PLAIN &&
		      ui.not_console,
	      "--progress tty without a terminal: plain, not a console");

	CHECK(compose_ui_resolve("sometimes", NULL, false, true, true, &ui, &e) < 0 && e &&
		      strstr(e->msg, "invalid --ansi value \"sometimes\""),
	      "a bad --ansi: %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(compose_ui_resolve(NULL, "fancy", false, true, true, &ui, &e) < 0 && e &&
		      !strcmp(e->msg, "unsupported --progress value \"fancy\""),
	      "a bad --progress: %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(compose_ui_resolve("never", "tty", false, true, true, &ui, &e) < 0 && e &&
		      !strcmp(e->msg, "can't use --progress tty while ANSI support is disabled"),
	      "--progress tty with --ansi never: %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(compose_ui_resolve("always", "plain", false, true, true, &ui, &e) < 0 && e &&
		      !strcmp(e->msg, "can't use --progress plain while ANSI support is forced"),
	      "--progress plain with --ansi always: %s", e ? e->msg : "");
	berr_freep(&e);
}

static void test_time(void)
{
	struct timespec t, now;
	clock_gettime(CLOCK_REALTIME, &now);
	CHECK(compose_parse_time("10m", &t) == 0 && now.tv_sec - t.tv_sec >= 599 && now.tv_sec - t.tv_sec <= 601,
	      "10m: ten minutes ago");
	CHECK(compose_parse_time("1h30m", &t) == 0 && now.tv_sec - t.tv_sec >= 5399 && now.tv_sec - t.tv_sec <= 5401,
	      "1h30m");
	CHECK(compose_parse_time("2021-03-04T05:06:07Z", &t) == 0 && t.tv_sec == 1614834367, "RFC 3339");
	CHECK(compose_parse_time("1614834367.5", &t) == 0 && t.tv_sec == 1614834367 && t.tv_nsec == 500000000,
	      "Unix seconds with a fraction");
	CHECK(compose_parse_time("yesterday", &t) < 0, "a word is no time");
	CHECK(compose_parse_time("", &t) < 0, "nor is nothing");
	CHECK(compose_parse_time("10x", &t) < 0, "nor an unknown unit");
}

static void test_ps_filter(void)
{
	json_t *st = json_array();
	struct berr *e = NULL;
	CHECK(compose_ps_filter("status=exited", st, &e) == 0 && json_array_size(st) == 1, "status=exited");
	CHECK(compose_ps_filter("status=running", st, &e) == 0 && json_array_size(st) == 2, "a second one adds up");
	CHECK(compose_ps_filter("status=sleepy", st, &e) < 0 && !strcmp(e->msg, "invalid filter 'status=sleepy'"),
	      "a state that does not exist");
	berr_freep(&e);
	CHECK(compose_ps_filter("name=web", st, &e) < 0 && !strcmp(e->msg, "unknown filter name"),
	      "docker compose ps knows no name filter: %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(compose_ps_filter("status", st, &e) < 0 && !strcmp(e->msg, "arguments to --filter should be in form KEY=VAL"),
	      "no '='");
	berr_freep(&e);
	CHECK(compose_ps_filter("source=image", st, &e) < 0 && strstr(e->msg, "not implemented"),
	      "source: not implemented, as in docker compose");
	berr_freep(&e);
	CHECK(json_array_size(st) == 2, "errors add nothing");
	json_decref(st);
	CHECK(compose_ps_status_valid("paused") && !compose_ps_status_valid("up"), "--status values");
}

static void test_ls_filter(void)
{
	json_t *names = json_array();
	struct berr *e = NULL;
	CHECK(compose_ls_filter_match(names, "anything"), "no filter: every project");
	CHECK(compose_ls_filter_add(names, " NAME = web ", &e) == 0, "key trimmed and lower-cased, value trimmed");
	CHECK_STR(json_string_value(json_array_get(names, 0)), "web", "the value kept");
	CHECK(compose_ls_filter_match(names, "web"), "exact");
	CHECK(compose_ls_filter_match(names, "mywebapp"), "a regular expression found anywhere");
	CHECK(!compose_ls_filter_match(names, "db"), "no match");
	CHECK(compose_ls_filter_add(names, "name=^db$", &e) == 0 && compose_ls_filter_match(names, "db") &&
		      !compose_ls_filter_match(names, "dbx"),
	      "values are alternatives; anchors work");
	json_t *bad = json_array();
	CHECK(compose_ls_filter_add(bad, "name=a(b", &e) == 0 && compose_ls_filter_match(bad, "a(b") &&
		      !compose_ls_filter_match(bad, "ab"),
	      "a value that is no regular expression matches exactly");
	json_decref(bad);
	CHECK(compose_ls_filter_add(names, "status=running", &e) < 0 && !strcmp(e->msg, "invalid filter 'status'"),
	      "only name: %s", e ? e->msg : "");
	berr_freep(&e);
	CHECK(compose_ls_filter_add(names, "web", &e) < 0 && strstr(e->msg, "bad format of filter (expected name=value)"),
	      "no '='");
	berr_freep(&e);
	CHECK(compose_ls_filter_add(names, "", &e) == 0 && json_array_size(names) == 2, "an empty value is ignored");
	json_decref(names);
}

static void test_attach(void)
{
	json_t *svcs = J("{\"db\":{},\"cache\":{\"attach\":false},\"web\":{\"depends_on\":{\"db\":{},\"cache\":{}}},"
			 "\"tool\":{}}");
	json_t *all = J("[\"db\",\"cache\",\"web\",\"tool\"]");
	json_t *withdeps = J("[\"db\",\"cache\",\"web\"]");
	json_t *none = json_array();
	json_t *a = NULL, *r = NULL;
	struct berr *e = NULL;
	char *web[] = {"web"};

	CHECK(compose_up_attach(svcs, all, NULL, 0, false, none, none, &a, &r, &e) == 0, "no services named");
	char *sa = D(a), *sr = D(r);
	CHECK_STR(sa, "[\"db\",\"web\",\"tool\"]", "all but attach: false are shown");
	CHECK_STR(sr, "[\"db\",\"web\",\"tool\"]", "and waited for");
	free(sa);
	free(sr);

	CHECK(compose_up_attach(svcs, withdeps, web, 1, false, none, none, &a, &r, &e) == 0, "up web");
	sa = D(a), sr = D(r);
	CHECK_STR(sa, "[\"web\"]", "only the named service is shown");
	CHECK_STR(sr, "[\"web\"]", "its exit ends up");
	free(sa);
	free(sr);

	CHECK(compose_up_attach(svcs, withdeps, web, 1, true, none, none, &a, &r, &e) == 0, "up --attach-dependencies web");
	sa = D(a), sr = D(r);
	CHECK_STR(sa, "[\"db\",\"web\"]", "its dependencies are shown too (not cache: attach: false)");
	CHECK_STR(sr, "[\"web\"]", "but up still ends with web");
	free(sa);
	free(sr);

	json_t *att = J("[\"cache\"]"), *noatt = J("[\"web\"]");
	CHECK(compose_up_attach(svcs, withdeps, web, 1, false, att, none, &a, &r, &e) == 0, "up --attach cache web");
	sa = D(a), sr = D(r);
	CHECK_STR(sa, "[\"cache\"]", "--attach is taken as it is, attach: false or not");
	CHECK_STR(sr, "[\"web\"]", "web is waited for without its output");
	free(sa);
	free(sr);

	CHECK(compose_up_attach(svcs, all, NULL, 0, false, none, noatt, &a, &r, &e) == 0, "up --no-attach web");
	sa = D(a), sr = D(r);
	CHECK_STR(sa, "[\"db\",\"tool\"]", "--no-attach takes web out");
	CHECK_STR(sr, "[\"db\",\"tool\"]", "and up does not wait for it");
	free(sa);
	free(sr);

	json_t *bad = J("[\"tool\",\"nope\"]");
	CHECK(compose_up_attach(svcs, withdeps, web, 1, false, bad, none, &a, &r, &e) < 0 && e &&
		      !strcmp(e->msg, "cannot attach to services not included in up: tool, nope"),
	      "--attach of services up does not bring up: %s", e ? e->msg : "");
	berr_freep(&e);
	json_decref(bad);
	json_decref(att);
	json_decref(noatt);
	json_decref(none);
	json_decref(withdeps);
	json_decref(all);
	json_decref(svcs);
}

static void test_dependents(void)
{
	json_t *svcs = J("{\"db\":{},"
			 "\"api\":{\"depends_on\":{\"db\":{\"restart\":true}}},"
			 "\"web\":{\"depends_on\":{\"api\":{\"restart\":true}}},"
			 "\"batch\":{\"depends_on\":{\"db\":{\"restart\":false}}},"
			 "\"other\":{}}");
	json_t *sel = J("[\"db\"]");
	char *s = D(compose_select_dependents(svcs, sel));
	CHECK_STR(s, "[\"db\",\"api\",\"web\"]", "restart db: api and, through it, web (restart: true), not batch");
	free(s);
	json_decref(sel);
	sel = J("[\"web\"]");
	s = D(compose_select_dependents(svcs, sel));
	CHECK_STR(s, "[\"web\"]", "nothing depends on web");
	free(s);
	json_decref(sel);
	json_decref(svcs);
}

int main(void)
{
	test_bool();
	test_ui();
	test_time();
	test_ps_filter();
	test_ls_filter();
	test_attach();
	test_dependents();
	UNIT_END();
}
