#include "cli/cli.h"
#include "util/cleanup.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct image_store *cli_store(struct cli *c)
{
	if (c->store)
		return c->store;
	struct berr *e = NULL;
	if (image_store_open(c->root, &c->store, &e) < 0) {
		cli_fail(e);
		return NULL;
	}
	return c->store;
}

int cli_fail(struct berr *e)
{
	fprintf(stderr, "Error: %s\n", e && e->msg ? e->msg : "unknown error");
	berr_free(e);
	return 1;
}

int cli_usage_error(struct cli *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "\"berth %s\" ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nSee 'berth %s --help'.\n", c->cmd);
	return 1;
}

void cli_flag_noop(struct cli *c, const char *flag, const char *why)
{
	fprintf(stderr, "berth %s: %s has no effect in berth: %s\n", c->cmd, flag, why);
}

int cli_print_rows(json_t *rows, const char *format, const char *default_tmpl, json_t *headers,
		   bool quiet_field_only)
{
	(void)quiet_field_only;
	const char *f = format && *format ? format : default_tmpl;
	size_t i;
	json_t *row;
	if (!strcmp(f, "json")) {
		json_array_foreach(rows, i, row) {
			char *s = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
			printf("%s\n", s);
			free(s);
		}
		return 0;
	}
	if (!strcmp(f, "table"))
		f = default_tmpl;
	struct tmpl *t = NULL;
	struct berr *e = NULL;
	if (tmpl_parse(f, &t, &e) < 0)
		return cli_fail(e);
	struct table tab = {0};
	struct sbuf line = SBUF_INIT;
	int rc = 0;
	if (tmpl_is_table(t)) {
		tmpl_header(t, headers, &line);
		table_add(&tab, sbuf_str(&line));
	}
	json_array_foreach(rows, i, row) {
		sbuf_reset(&line);
		if (tmpl_render(t, row, &line, &e) < 0) {
			rc = cli_fail(e);
			break;
		}
		if (tmpl_is_table(t))
			table_add(&tab, sbuf_str(&line));
		else
			printf("%s\n", sbuf_str(&line));
	}
	if (rc == 0)
		table_print(&tab, stdout);
	table_release(&tab);
	sbuf_release(&line);
	tmpl_free(t);
	return rc;
}

int cli_print_inspect(json_t *objs, const char *format)
{
	if (!format) {
		char *s = json_dumps(objs, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "[]");
		free(s);
		return 0;
	}
	struct tmpl *t = NULL;
	struct berr *e = NULL;
	if (tmpl_parse(format, &t, &e) < 0)
		return cli_fail(e);
	size_t i;
	json_t *o;
	struct sbuf line = SBUF_INIT;
	int rc = 0;
	json_array_foreach(objs, i, o) {
		sbuf_reset(&line);
		if (tmpl_render(t, o, &line, &e) < 0) {
			rc = cli_fail(e);
			break;
		}
		printf("%s\n", sbuf_str(&line));
	}
	sbuf_release(&line);
	tmpl_free(t);
	return rc;
}
